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

/* ---- reading --------------------------------------------------------------
 * Before anything is allocated, the zstd frame's structure is walked (RFC 8878
 * §3.1.1): its header, then every block header up to the last block. The sum
 * of what each block can produce (raw and RLE blocks: their size; compressed
 * blocks: at most the block maximum, min(window, 128 KiB)) is an upper bound
 * of the content that no valid frame exceeds. raw_size above that bound, or a
 * recorded Frame_Content_Size other than raw_size, is CORRUPT, so a block can
 * make the reader allocate at most about 43 690 times its own packed size
 * (128 KiB per 3-byte block), and never more than its context's max_raw. */

#define ZSTD_MAGIC_LE 0xFD2FB528u
#define ZSTD_BLOCK_MAX ((uint64_t)128 << 10)

/* Walks one zstd frame of exactly size bytes; *bound receives the most content
 * it can produce, *fcs its recorded content size (UINT64_MAX when absent). */
static gwlz_error frame_walk(const uint8_t *p, size_t size, uint64_t *bound, uint64_t *fcs) {
  size_t pos = 0;
  if (size < 6 || gwlz_load_u32(p) != ZSTD_MAGIC_LE) return GWLZ_ERR_CORRUPT;
  pos = 4;
  const uint8_t fhd = p[pos++];
  const unsigned fcs_flag = fhd >> 6, single = (fhd >> 5) & 1u, checksum = (fhd >> 2) & 1u;
  const unsigned did_flag = fhd & 3u;
  if (fhd & 0x08u) return GWLZ_ERR_CORRUPT;   /* reserved bit */
  if (did_flag != 0) return GWLZ_ERR_CORRUPT; /* gwlz never uses dictionaries */
  uint64_t window = 0;
  if (!single) {
    const uint8_t wd = p[pos++];
    const unsigned exponent = wd >> 3, mantissa = wd & 7u;
    if (exponent > 31) return GWLZ_ERR_CORRUPT; /* beyond any zstd decoder's limit */
    const uint64_t base = (uint64_t)1 << (10 + exponent);
    window = base + (base / 8) * mantissa;
  }
  static const unsigned fcs_bytes[4] = {0, 2, 4, 8};
  unsigned nb = fcs_bytes[fcs_flag];
  if (fcs_flag == 0 && single) nb = 1;
  if (size - pos < nb) return GWLZ_ERR_CORRUPT;
  *fcs = UINT64_MAX;
  if (nb) {
    uint64_t v = 0;
    for (unsigned k = 0; k < nb; k++) v |= (uint64_t)p[pos + k] << (8 * k);
    if (nb == 2) v += 256;
    *fcs = v;
    pos += nb;
  }
  if (single) {
    if (*fcs == UINT64_MAX) return GWLZ_ERR_CORRUPT;
    window = *fcs;
  }
  const uint64_t block_max = window < ZSTD_BLOCK_MAX ? window : ZSTD_BLOCK_MAX;
  uint64_t total = 0;
  for (;;) {
    if (size - pos < 3) return GWLZ_ERR_CORRUPT;
    const uint32_t bh =
        (uint32_t)p[pos] | ((uint32_t)p[pos + 1] << 8) | ((uint32_t)p[pos + 2] << 16);
    pos += 3;
    const unsigned last = bh & 1u, type = (bh >> 1) & 3u;
    const uint64_t bsize = bh >> 3;
    uint64_t produced, packed;
    switch (type) {
      case 0: produced = bsize; packed = bsize; break;     /* raw */
      case 1: produced = bsize; packed = 1; break;         /* RLE */
      case 2: produced = block_max; packed = bsize; break; /* compressed */
      default: return GWLZ_ERR_CORRUPT;
    }
    if (produced > block_max || bsize > ZSTD_BLOCK_MAX) return GWLZ_ERR_CORRUPT;
    if (packed > (uint64_t)(size - pos)) return GWLZ_ERR_CORRUPT;
    pos += (size_t)packed;
    total += produced;
    if (last) break;
  }
  if (checksum) {
    if (size - pos < 4) return GWLZ_ERR_CORRUPT;
    pos += 4;
  }
  if (pos != size) return GWLZ_ERR_CORRUPT; /* the frame must fill the block */
  *bound = total;
  return GWLZ_OK;
}

/* Reads and checks the block header at r; on success r is past the block,
 * *raw is the content size, *p and *packed the stored bytes. */
static gwlz_error block_check(gwlz_rbuf *r, size_t max_raw, uint64_t *raw, const uint8_t **p,
                              uint64_t *packed) {
  gwlz_error e;
  if ((e = gwlz_rbuf_u64(r, raw)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u64(r, packed)) != GWLZ_OK) return e;
  if (*packed > (uint64_t)gwlz_rbuf_left(r)) return GWLZ_ERR_TRUNCATED;
  if (*raw > (uint64_t)max_raw || *raw > (uint64_t)SIZE_MAX) return GWLZ_ERR_CORRUPT;
  if ((e = gwlz_rbuf_bytes(r, (size_t)*packed, p)) != GWLZ_OK) return e;
  if (*raw == 0) return *packed == 0 ? GWLZ_OK : GWLZ_ERR_CORRUPT;
  if (*packed == *raw) return GWLZ_OK; /* stored */
  if (*packed > *raw) return GWLZ_ERR_CORRUPT; /* writers store instead */
  uint64_t bound, fcs;
  if ((e = frame_walk(*p, (size_t)*packed, &bound, &fcs)) != GWLZ_OK) return e;
  if (fcs != UINT64_MAX && fcs != *raw) return GWLZ_ERR_CORRUPT;
  if (*raw > bound) return GWLZ_ERR_CORRUPT;
  return GWLZ_OK;
}

gwlz_error gwlz_lossless_check(gwlz_rbuf *in, size_t max_raw, size_t *n) {
  if (!in) return GWLZ_ERR_PARAM;
  gwlz_rbuf r = *in;
  uint64_t raw, packed;
  const uint8_t *p;
  gwlz_error e = block_check(&r, max_raw, &raw, &p, &packed);
  if (e != GWLZ_OK) return e;
  if (n) *n = (size_t)raw;
  *in = r;
  return GWLZ_OK;
}

gwlz_error gwlz_lossless_unpack(gwlz_rbuf *in, size_t max_raw, uint8_t **dst, size_t *n) {
  if (!in || !dst || !n) return GWLZ_ERR_PARAM;
  *dst = NULL;
  *n = 0;
  gwlz_rbuf r = *in;
  uint64_t raw, packed;
  const uint8_t *p;
  gwlz_error e = block_check(&r, max_raw, &raw, &p, &packed);
  if (e != GWLZ_OK) return e;
  if (raw == 0) {
    *in = r;
    return GWLZ_OK;
  }
  uint8_t *buf = (uint8_t *)malloc((size_t)raw);
  if (!buf) return GWLZ_ERR_MEMORY;
  if (packed == raw) {
    memcpy(buf, p, (size_t)raw);
  } else {
    size_t got = ZSTD_decompress(buf, (size_t)raw, p, (size_t)packed);
    if (ZSTD_isError(got) || got != (size_t)raw) {
      free(buf);
      return GWLZ_ERR_CORRUPT;
    }
  }
  *dst = buf;
  *n = (size_t)raw;
  *in = r;
  return GWLZ_OK;
}
