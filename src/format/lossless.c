/*
 * lossless.c - the lossless stage: a zstd frame inside a sized block.
 *
 * Block layout (docs/format.md "Lossless block"):
 *   u64 raw_size     size of the data before compression
 *   u64 packed_size  size of the zstd frame that follows
 *   packed_size bytes: one zstd frame (RFC 8878) whose content is raw_size
 *                    bytes, or, when packed_size == raw_size, the raw bytes
 *                    themselves (written when zstd would not make them smaller)
 * raw_size == 0 is written with packed_size == 0 and no frame.
 */
#include "format/lossless.h"

#include <stdlib.h>
#include <zstd.h>

gwlz_error gwlz_lossless_pack(const void *src, size_t n, gwlz_wbuf *out, int level) {
  if (!out || (n && !src)) return GWLZ_ERR_PARAM;
  if (out->err != GWLZ_OK) return out->err;
  if (n == 0) {
    gwlz_wbuf_u64(out, 0);
    gwlz_wbuf_u64(out, 0);
    return out->err;
  }
  size_t cap = ZSTD_compressBound(n);
  if (ZSTD_isError(cap) || cap == 0) return GWLZ_ERR_TOO_LARGE;
  size_t head = out->size;
  if (!gwlz_wbuf_reserve(out, 16)) return out->err;
  gwlz_wbuf_u64(out, (uint64_t)n);
  gwlz_wbuf_u64(out, 0); /* patched below */
  uint8_t *dst = gwlz_wbuf_reserve(out, cap);
  if (!dst) return out->err;
  if (level < ZSTD_minCLevel()) level = ZSTD_minCLevel();
  if (level > ZSTD_maxCLevel()) level = ZSTD_maxCLevel();
  size_t z = ZSTD_compress(dst, cap, src, n, level);
  if (ZSTD_isError(z)) {
    out->size = head;
    return GWLZ_ERR_LOSSLESS;
  }
  if (z >= n) {
    /* stored: zstd would not shrink it (small or incompressible blocks) */
    memcpy(dst, src, n);
    z = n;
  }
  gwlz_store_u64(out->data + head + 8, (uint64_t)z);
  out->size += z;
  return GWLZ_OK;
}

gwlz_error gwlz_lossless_unpack(gwlz_rbuf *in, size_t max_raw, uint8_t **dst, size_t *n) {
  if (!in || !dst || !n) return GWLZ_ERR_PARAM;
  *dst = NULL;
  *n = 0;
  gwlz_rbuf r = *in;
  uint64_t raw, packed;
  gwlz_error e;
  if ((e = gwlz_rbuf_u64(&r, &raw)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u64(&r, &packed)) != GWLZ_OK) return e;
  if (packed > (uint64_t)gwlz_rbuf_left(&r)) return GWLZ_ERR_TRUNCATED;
  if (raw > (uint64_t)max_raw || raw > (uint64_t)SIZE_MAX) return GWLZ_ERR_CORRUPT;
  const uint8_t *p;
  if ((e = gwlz_rbuf_bytes(&r, (size_t)packed, &p)) != GWLZ_OK) return e;
  if (raw == 0) {
    if (packed != 0) return GWLZ_ERR_CORRUPT;
    *in = r;
    return GWLZ_OK;
  }
  if (packed == raw) { /* stored */
    uint8_t *cp = (uint8_t *)malloc((size_t)raw);
    if (!cp) return GWLZ_ERR_MEMORY;
    memcpy(cp, p, (size_t)raw);
    *dst = cp;
    *n = (size_t)raw;
    *in = r;
    return GWLZ_OK;
  }
  if (packed > raw) return GWLZ_ERR_CORRUPT; /* writers store instead */
  /* The frame header, when it records the content size, must agree. */
  unsigned long long fcs = ZSTD_getFrameContentSize(p, (size_t)packed);
  if (fcs == ZSTD_CONTENTSIZE_ERROR) return GWLZ_ERR_CORRUPT;
  if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != (unsigned long long)raw) return GWLZ_ERR_CORRUPT;
  /* The frame must occupy the block exactly. */
  size_t fsz = ZSTD_findFrameCompressedSize(p, (size_t)packed);
  if (ZSTD_isError(fsz) || fsz != (size_t)packed) return GWLZ_ERR_CORRUPT;
  uint8_t *buf = (uint8_t *)malloc((size_t)raw);
  if (!buf) return GWLZ_ERR_MEMORY;
  size_t got = ZSTD_decompress(buf, (size_t)raw, p, (size_t)packed);
  if (ZSTD_isError(got) || got != (size_t)raw) {
    free(buf);
    return GWLZ_ERR_CORRUPT;
  }
  *dst = buf;
  *n = (size_t)raw;
  *in = r;
  return GWLZ_OK;
}
