/*
 * fuzz_common.h - shared pieces of the fuzz targets.
 *
 * Every fuzz_*.c defines the libFuzzer entry point LLVMFuzzerTestOneInput and
 * gwlz_fuzz_seeds(), which hands valid inputs for that target to a sink.
 * replay_main.c (the plain-program driver used by ctest) feeds those seeds and
 * many mutations of them to the entry point; under libFuzzer the seeds come
 * from the corpus directory instead (see README.md).
 */
#ifndef GWLZ_FUZZ_COMMON_H
#define GWLZ_FUZZ_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/checksum.h"
#include "common.h"
#include "gwlz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef void (*gwlz_fuzz_sink)(void *user, const uint8_t *data, size_t size);
/* Produce this target's valid seed inputs. */
void gwlz_fuzz_seeds(gwlz_fuzz_sink sink, void *user);

/* When data looks like a gwlz stream (magic, sane header size, END! section
 * at the end), return a malloc'd copy with both checksums recomputed, so that
 * mutated streams reach the section decoders; NULL otherwise or when the
 * checksums were already right. */
static inline uint8_t *gwlz_fuzz_fix_checksums(const uint8_t *data, size_t size) {
  if (size < 16 + 16 || memcmp(data, "GWLZ", 4) != 0) return NULL;
  size_t hs = (size_t)data[6] | ((size_t)data[7] << 8);
  if (hs < 8 || hs > size - 16) return NULL;
  if (gwlz_load_u32(data + size - 16) != gwlz_load_u32((const uint8_t *)"END!") ||
      gwlz_load_u64(data + size - 12) != 4)
    return NULL;
  uint8_t *cp = (uint8_t *)malloc(size);
  if (!cp) return NULL;
  memcpy(cp, data, size);
  gwlz_store_u32(cp + hs - 4, gwlz_crc32c(0, cp, hs - 4));
  gwlz_store_u32(cp + size - 4, gwlz_crc32c(0, cp, size - 16));
  if (memcmp(cp, data, size) == 0) {
    free(cp);
    return NULL;
  }
  return cp;
}

/* Valid streams from the public API: 1-D/2-D/3-D, float/double, NaN/Inf and
 * fill cells, several bound modes, enhancers off and on. */
static inline void gwlz_fuzz_api_streams(gwlz_fuzz_sink sink, void *user) {
  static const struct {
    int ndims;
    size_t dims[3];
    gwlz_type type;
    gwlz_eb_mode mode;
    double abs, rel, psnr;
    int special;          /* 0 none, 1 NaN/Inf, 2 fill -9999, 3 both, 4 all NaN */
    int groups;           /* 0 = base only */
    gwlz_enhancer enh;
    gwlz_bound_policy policy;
  } cfg[] = {
      {1, {200, 0, 0}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 0, 0, GWLZ_ENH_NONE, 0},
      {1, {1, 0, 0}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 0, 0, GWLZ_ENH_NONE, 0},
      {1, {37, 0, 0}, GWLZ_TYPE_DOUBLE, GWLZ_EB_ABS, 0, 0, 0, 0, 0, GWLZ_ENH_NONE, 0},
      {2, {16, 20, 0}, GWLZ_TYPE_FLOAT, GWLZ_EB_REL, 0, 1e-3, 0, 1, 0, GWLZ_ENH_NONE, 0},
      {2, {12, 9, 0}, GWLZ_TYPE_DOUBLE, GWLZ_EB_PSNR, 0, 0, 60, 2, 0, GWLZ_ENH_NONE, 0},
      {3, {8, 8, 12}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS_AND_REL, 1e-2, 1e-3, 0, 3, 0, GWLZ_ENH_NONE, 0},
      {3, {6, 7, 5}, GWLZ_TYPE_DOUBLE, GWLZ_EB_ABS_OR_REL, 1e-3, 1e-2, 0, 0, 0, GWLZ_ENH_NONE, 0},
      {2, {10, 10, 0}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 4, 0, GWLZ_ENH_NONE, 0},
      {2, {24, 24, 0}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 0, 3, GWLZ_ENH_LINEAR, 0},
      {3, {8, 8, 16}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 5e-3, 0, 0, 2, 2, GWLZ_ENH_LINEAR, 1},
      {2, {20, 20, 0}, GWLZ_TYPE_DOUBLE, GWLZ_EB_REL, 0, 1e-2, 0, 1, 2, GWLZ_ENH_CNN, 0},
      {3, {8, 8, 8}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 0, 2, GWLZ_ENH_CNN, 1},
      {3, {6, 10, 10}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 3, 4, GWLZ_ENH_AUTO, 0},
  };
  /* then again with the wavelet base (BASE mode 3) for these rows */
  static const size_t wavelet_rows[] = {0, 3, 4, 5, 6, 9};
  const size_t ncfg = sizeof cfg / sizeof *cfg;
  for (size_t it = 0; it < ncfg + sizeof wavelet_rows / sizeof *wavelet_rows; it++) {
    const size_t c = it < ncfg ? it : wavelet_rows[it - ncfg];
    const gwlz_base base = it < ncfg ? GWLZ_BASE_AUTO : GWLZ_BASE_WAVELET;
    size_t n = 1;
    for (int i = 0; i < cfg[c].ndims; i++) n *= cfg[c].dims[i];
    size_t ts = cfg[c].type == GWLZ_TYPE_DOUBLE ? 8 : 4;
    uint8_t *src = (uint8_t *)malloc(n * ts);
    if (!src) continue;
    uint64_t st = 1234 + it;
    for (size_t i = 0; i < n; i++) {
      double x = (double)i;
      double v = sin(x * 0.05) * 10 + cos(x * 0.31) * 2 + gwlz_rng_uniform(&st) * 0.1;
      double u = gwlz_rng_uniform(&st);
      int sp = cfg[c].special;
      if ((sp == 1 || sp == 3) && u < 0.03) v = u < 0.01 ? INFINITY : NAN;
      if ((sp == 2 || sp == 3) && (i / 7) % 5 == 2) v = -9999.0;
      if (sp == 4) v = NAN;
      if (ts == 4) {
        float f = (float)v;
        memcpy(src + 4 * i, &f, 4);
      } else {
        memcpy(src + 8 * i, &v, 8);
      }
    }
    gwlz_ctx *ctx = gwlz_create();
    if (!ctx) {
      free(src);
      continue;
    }
    int ok = gwlz_set_type(ctx, cfg[c].type) == GWLZ_OK &&
             gwlz_set_dims(ctx, cfg[c].ndims, cfg[c].dims) == GWLZ_OK &&
             gwlz_set_error_bound(ctx, cfg[c].mode, cfg[c].abs, cfg[c].rel,
                                  cfg[c].psnr > 0 ? cfg[c].psnr : 60) == GWLZ_OK &&
             gwlz_set_groups(ctx, cfg[c].groups) == GWLZ_OK &&
             gwlz_set_enhancer(ctx, cfg[c].groups ? cfg[c].enh : GWLZ_ENH_NONE) == GWLZ_OK &&
             gwlz_set_bound_policy(ctx, cfg[c].policy) == GWLZ_OK &&
             gwlz_set_epochs(ctx, 2) == GWLZ_OK && gwlz_set_base(ctx, base) == GWLZ_OK;
    if (ok && (cfg[c].special == 2 || cfg[c].special == 3))
      ok = gwlz_set_fill_value(ctx, -9999.0) == GWLZ_OK;
    size_t cap = ok ? gwlz_compress_bound(ctx) : 0;
    uint8_t *dst = cap ? (uint8_t *)malloc(cap) : NULL;
    size_t size = 0;
    if (dst && gwlz_compress(ctx, src, dst, cap, &size) == GWLZ_OK) sink(user, dst, size);
    free(dst);
    gwlz_free(ctx);
    free(src);
  }
}

#endif
