/* fuzz_chunks.c - chunked streams on arbitrary bytes: gwlz_decompress, the
 * streaming decoder and region decoding (a whole box, a corner, a middle
 * box). A mutated chunked stream is also tried with every checksum repaired
 * (record CRCs, index CRC, header and stream CRC), so that mutations reach
 * the grid, index, record and chunk payload parsers. */
#include "format/chunks.h"
#include "fuzz_common.h"

#define FUZZ_MAX_BYTES ((size_t)64 << 20)

typedef struct {
  const uint8_t *p;
  size_t size;
} fz_src;

static int fz_read(void *user, uint64_t off, void *buf, size_t size) {
  fz_src *s = (fz_src *)user;
  if (off > s->size || size > s->size - off) return -1;
  memcpy(buf, s->p + off, size);
  return 0;
}

static int fz_write(void *user, const void *buf, size_t size) {
  size_t *left = (size_t *)user;
  (void)buf;
  if (size > *left) abort(); /* more output than the header announced */
  *left -= size;
  return 0;
}

static void try_stream(const uint8_t *data, size_t size) {
  gwlz_info info;
  if (gwlz_get_info(data, size, &info) != GWLZ_OK) return;
  if (info.decompressed_bytes == 0 || info.decompressed_bytes > FUZZ_MAX_BYTES) return;
  uint8_t *dst = (uint8_t *)malloc(info.decompressed_bytes);
  gwlz_ctx *ctx = gwlz_create();
  if (dst && ctx) {
    gwlz_set_threads(ctx, 2);
    (void)gwlz_decompress(ctx, data, size, dst, info.decompressed_bytes);
    fz_src src = {data, size};
    size_t left = info.decompressed_bytes;
    if (gwlz_decompress_stream(ctx, fz_read, &src, size, fz_write, &left) == GWLZ_OK && left)
      abort(); /* success must deliver every byte */
    size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS];
    for (int box = 0; box < 3; box++) {
      for (int i = 0; i < info.ndims; i++) {
        size_t d = info.dims[i];
        lo[i] = box == 2 ? d / 3 : 0;
        hi[i] = box == 0 ? d : (box == 1 ? (d + 1) / 2 : d - d / 4);
        if (hi[i] < lo[i]) hi[i] = lo[i];
      }
      (void)gwlz_decompress_region(ctx, data, size, lo, hi, dst, info.decompressed_bytes);
    }
  }
  gwlz_free(ctx);
  free(dst);
}

/* Recompute the record CRCs, the index CRC and then the header and stream
 * CRCs of a stream whose BASE payload is chunked; NULL when that is not the
 * shape of data. */
static uint8_t *fix_chunked(const uint8_t *data, size_t size) {
  if (size < 100 || memcmp(data, "GWLZ", 4) != 0) return NULL;
  size_t hs = (size_t)data[6] | ((size_t)data[7] << 8);
  if (hs < 56 || hs + 12 > size) return NULL;
  int nd = data[9];
  if (nd < 1 || nd > GWLZ_MAX_DIMS || 12 + 8 * (size_t)nd > hs) return NULL;
  size_t dims[GWLZ_MAX_DIMS];
  for (int i = 0; i < nd; i++) {
    uint64_t d = gwlz_load_u64(data + 12 + 8 * i);
    if (d == 0 || d > ((uint64_t)1 << 24)) return NULL;
    dims[i] = (size_t)d;
  }
  if (gwlz_load_u32(data + hs) != gwlz_load_u32((const uint8_t *)"BASE")) return NULL;
  uint64_t len = gwlz_load_u64(data + hs + 4);
  size_t p = hs + 12;
  if (len > size - p) return NULL;
  gwlz_grid g;
  if (gwlz_chunked_read_grid(data + p, (size_t)len, len, nd, dims, &g) != GWLZ_OK) return NULL;
  size_t head = gwlz_chunked_head_size(nd, g.count);
  if (head == 0 || head > len) return NULL;
  uint8_t *cp = (uint8_t *)malloc(size);
  if (!cp) return NULL;
  memcpy(cp, data, size);
  size_t at = p + head, idx = p + gwlz_chunked_grid_size(nd);
  for (size_t k = 0; k < g.count; k++, idx += 12) {
    uint64_t rs = gwlz_load_u64(cp + idx);
    if (rs > p + len - at) break;
    gwlz_store_u32(cp + idx + 8, gwlz_crc32c(0, cp + at, (size_t)rs));
    at += (size_t)rs;
  }
  gwlz_store_u32(cp + p + head - 4, gwlz_crc32c(0, cp + p, head - 4));
  gwlz_store_u32(cp + hs - 4, gwlz_crc32c(0, cp, hs - 4));
  if (size >= 16 && gwlz_load_u32(cp + size - 16) == gwlz_load_u32((const uint8_t *)"END!"))
    gwlz_store_u32(cp + size - 4, gwlz_crc32c(0, cp, size - 16));
  if (memcmp(cp, data, size) == 0) {
    free(cp);
    return NULL;
  }
  return cp;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try_stream(data, size);
  uint8_t *fixed = fix_chunked(data, size);
  if (fixed) {
    try_stream(fixed, size);
    free(fixed);
  }
  return 0;
}

/* Chunked streams: 1-D to 4-D, both types, special cells, lossless chunks,
 * a small enhanced one. */
void gwlz_fuzz_seeds(gwlz_fuzz_sink sink, void *user) {
  static const struct {
    int nd;
    size_t dims[4];
    gwlz_type type;
    double abs;
    size_t chunk;
    int special, groups;
  } cfg[] = {
      {1, {300}, GWLZ_TYPE_FLOAT, 1e-2, 70, 1, 0},
      {2, {20, 30}, GWLZ_TYPE_DOUBLE, 1e-3, 100, 0, 0},
      {3, {6, 10, 12}, GWLZ_TYPE_FLOAT, 1e-2, 150, 2, 0},
      {4, {3, 4, 5, 6}, GWLZ_TYPE_FLOAT, 0, 100, 0, 0},
      {3, {4, 8, 16}, GWLZ_TYPE_FLOAT, 1e-2, 200, 1, 1},
  };
  for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++) {
    size_t n = 1, ts = cfg[c].type == GWLZ_TYPE_DOUBLE ? 8 : 4;
    for (int i = 0; i < cfg[c].nd; i++) n *= cfg[c].dims[i];
    uint8_t *src = (uint8_t *)malloc(n * ts);
    if (!src) continue;
    uint64_t st = 99 + c;
    for (size_t i = 0; i < n; i++) {
      double v = sin((double)i * 0.07) * 5 + gwlz_rng_uniform(&st) * 0.1;
      if (cfg[c].special == 1 && i % 17 == 3) v = NAN;
      if (cfg[c].special == 2 && i % 13 == 1) v = -9999.0;
      if (ts == 4) {
        float f = (float)v;
        memcpy(src + 4 * i, &f, 4);
      } else {
        memcpy(src + 8 * i, &v, 8);
      }
    }
    gwlz_ctx *ctx = gwlz_create();
    int ok = ctx && gwlz_set_type(ctx, cfg[c].type) == GWLZ_OK &&
             gwlz_set_dims(ctx, cfg[c].nd, cfg[c].dims) == GWLZ_OK &&
             gwlz_set_error_bound(ctx, GWLZ_EB_ABS, cfg[c].abs, 0, 0) == GWLZ_OK &&
             gwlz_set_chunk_size(ctx, cfg[c].chunk) == GWLZ_OK &&
             gwlz_set_groups(ctx, cfg[c].groups) == GWLZ_OK && gwlz_set_epochs(ctx, 2) == GWLZ_OK;
    if (ok && cfg[c].special == 2) ok = gwlz_set_fill_value(ctx, -9999.0) == GWLZ_OK;
    size_t cap = ok ? gwlz_compress_bound(ctx) : 0, size = 0;
    uint8_t *dst = cap ? (uint8_t *)malloc(cap) : NULL;
    if (dst && gwlz_compress(ctx, src, dst, cap, &size) == GWLZ_OK) sink(user, dst, size);
    free(dst);
    gwlz_free(ctx);
    free(src);
  }
}
