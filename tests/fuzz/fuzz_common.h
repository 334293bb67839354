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

/* What the generated seeds cover; gwlz_fuzz_api_streams fills it in. */
typedef struct {
  int enhm[3];   /* ENHM section by kind (1 linear, 2 cnn)       */
  int cnn_arch[2]; /* cnn streams by architecture (0 default, 1 paper) */
  int excp;      /* EXCP section                                  */
  int spec_nan;  /* SPEC with NaN/Inf cells                       */
  int spec_fill; /* SPEC with fill cells                          */
  int mode[7];   /* BASE payload modes (0 raw, 1 interp, 2 Lorenzo, 6 interp2) */
  int type[2];   /* float32, float64                              */
  int ndims[5];  /* 1..4                                          */
  int relaxed;   /* relaxed bound policy with a model             */
} gwlz_fuzz_cov;

/* The first missing item of cov, or NULL when the seeds cover everything
 * the decoder can be given. */
static inline const char *gwlz_fuzz_cov_missing(const gwlz_fuzz_cov *c) {
  if (!c->enhm[1]) return "ENHM linear";
  if (!c->enhm[2]) return "ENHM cnn";
  if (!c->cnn_arch[0]) return "ENHM cnn default architecture";
  if (!c->cnn_arch[1]) return "ENHM cnn paper architecture";
  if (!c->excp) return "EXCP";
  if (!c->spec_nan) return "SPEC with NaN/Inf";
  if (!c->spec_fill) return "SPEC with fill";
  for (int m = 0; m < 3; m++)
    if (!c->mode[m]) return m == 0 ? "BASE raw" : m == 1 ? "BASE interp" : "BASE Lorenzo";
  if (!c->mode[6]) return "BASE scheduled interpolation (mode 6)";
  if (!c->type[0] || !c->type[1]) return "float32 and float64";
  for (int d = 1; d <= 4; d++)
    if (!c->ndims[d]) return "1-, 2-, 3- and 4-D";
  if (!c->relaxed) return "relaxed policy with a model";
  return NULL;
}

/* A high-frequency texture on which the enhancers keep models. */
static inline double gwlz_fuzz_texture(size_t i, const size_t *dims, int ndims) {
  size_t x = i % dims[ndims - 1];
  size_t y = ndims > 1 ? (i / dims[ndims - 1]) % dims[ndims - 2] : i / 64;
  size_t z = ndims > 2 ? i / (dims[ndims - 1] * dims[ndims - 2]) : 0;
  return sin(0.9 * (double)x) * sin(0.7 * (double)y) * cos(0.5 * (double)z) +
         0.3 * sin(0.05 * (double)x * (double)y / 16.0);
}

/* Valid streams from the public API: 1-D to 4-D, float/double, NaN/Inf and
 * fill cells, every bound mode, lossless, and fields large and structured
 * enough for the enhancers to keep models (both kinds and both CNN
 * architectures, with exceptions), so that every section type is a seed.
 * cov (may be NULL) receives what they cover. */
static inline void gwlz_fuzz_api_streams_cov(gwlz_fuzz_sink sink, void *user, gwlz_fuzz_cov *cov) {
  static const struct {
    int ndims;
    size_t dims[4];
    gwlz_type type;
    gwlz_eb_mode mode;
    double abs, rel, psnr;
    int special;          /* 0 none, 1 NaN/Inf, 2 fill -9999, 3 both, 4 all NaN */
    int groups;           /* 0 = base only */
    gwlz_enhancer enh;
    gwlz_bound_policy policy;
    int texture;          /* 1: gwlz_fuzz_texture instead of waves + noise */
    gwlz_arch arch;
  } cfg[] = {
      {1, {200}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 0, 0, GWLZ_ENH_NONE, 0, 0, 0},
      {1, {1}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 0, 0, GWLZ_ENH_NONE, 0, 0, 0},
      {1, {37}, GWLZ_TYPE_DOUBLE, GWLZ_EB_ABS, 0, 0, 0, 0, 0, GWLZ_ENH_NONE, 0, 0, 0},
      {2, {16, 20}, GWLZ_TYPE_FLOAT, GWLZ_EB_REL, 0, 1e-3, 0, 1, 0, GWLZ_ENH_NONE, 0, 0, 0},
      {2, {12, 9}, GWLZ_TYPE_DOUBLE, GWLZ_EB_PSNR, 0, 0, 60, 2, 0, GWLZ_ENH_NONE, 0, 0, 0},
      {3, {8, 8, 12}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS_AND_REL, 1e-2, 1e-3, 0, 3, 0, GWLZ_ENH_NONE, 0, 0, 0},
      {3, {6, 7, 5}, GWLZ_TYPE_DOUBLE, GWLZ_EB_ABS_OR_REL, 1e-3, 1e-2, 0, 0, 0, GWLZ_ENH_NONE, 0, 0, 0},
      {2, {10, 10}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 4, 0, GWLZ_ENH_NONE, 0, 0, 0},
      {2, {24, 24}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 0, 3, GWLZ_ENH_LINEAR, 0, 0, 0},
      {3, {8, 8, 16}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 5e-3, 0, 0, 2, 2, GWLZ_ENH_LINEAR, 1, 0, 0},
      {2, {20, 20}, GWLZ_TYPE_DOUBLE, GWLZ_EB_REL, 0, 1e-2, 0, 1, 2, GWLZ_ENH_CNN, 0, 0, 0},
      {3, {8, 8, 8}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 0, 2, GWLZ_ENH_CNN, 1, 0, 0},
      {3, {6, 10, 10}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 1e-2, 0, 0, 3, 4, GWLZ_ENH_AUTO, 0, 0, 0},
      /* 4-D, and fields on which models are kept */
      {4, {2, 3, 8, 10}, GWLZ_TYPE_FLOAT, GWLZ_EB_REL, 0, 1e-3, 0, 1, 0, GWLZ_ENH_NONE, 0, 0, 0},
      {4, {2, 4, 32, 32}, GWLZ_TYPE_DOUBLE, GWLZ_EB_ABS, 0.02, 0, 0, 0, 2, GWLZ_ENH_LINEAR, 0, 1, 0},
      {3, {16, 64, 64}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 0.026, 0, 0, 0, 1, GWLZ_ENH_CNN, 0, 1, 0},
      {3, {16, 64, 64}, GWLZ_TYPE_DOUBLE, GWLZ_EB_ABS, 0.026, 0, 0, 1, 4, GWLZ_ENH_LINEAR, 0, 1, 0},
      {3, {16, 64, 64}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 0.026, 0, 0, 2, 1, GWLZ_ENH_CNN, 0, 1, 0},
      {3, {16, 64, 64}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 0.026, 0, 0, 0, 1, GWLZ_ENH_CNN, 0, 1,
       GWLZ_ARCH_PAPER2D},
      {2, {128, 128}, GWLZ_TYPE_FLOAT, GWLZ_EB_ABS, 0.02, 0, 0, 0, 2, GWLZ_ENH_LINEAR, 1, 1, 0},
      {1, {8192}, GWLZ_TYPE_DOUBLE, GWLZ_EB_ABS, 0.02, 0, 0, 2, 2, GWLZ_ENH_LINEAR, 0, 1, 0},
  };
  /* every row with the interp base (BASE modes 0 and 6), then these rows
   * again with the interp base's mode 1 / 2 writer (GWLZ_SPEED_FAST; base -1
   * here), the wavelet base (mode 3) and, when built in, the ZFP
   * base (mode 4) */
  static const struct {
    size_t row;
    int base;
  } more[] = {{0, -1},  {3, -1},  {4, -1},  {5, -1},  {6, -1},  {8, -1},  {9, -1},
              {10, -1}, {11, -1}, {13, -1}, {14, -1}, {15, -1}, {16, -1}, {17, -1},
              {18, -1}, {19, -1}, {20, -1},
              {0, GWLZ_BASE_WAVELET},  {3, GWLZ_BASE_WAVELET},  {4, GWLZ_BASE_WAVELET},
              {5, GWLZ_BASE_WAVELET},  {6, GWLZ_BASE_WAVELET},  {9, GWLZ_BASE_WAVELET},
              {16, GWLZ_BASE_WAVELET}, {19, GWLZ_BASE_WAVELET}, {0, GWLZ_BASE_ZFP},
              {3, GWLZ_BASE_ZFP},      {5, GWLZ_BASE_ZFP},      {16, GWLZ_BASE_ZFP}};
  const size_t ncfg = sizeof cfg / sizeof *cfg;
  for (size_t it = 0; it < ncfg + sizeof more / sizeof *more; it++) {
    const size_t c = it < ncfg ? it : more[it - ncfg].row;
    const int v1 = it >= ncfg && more[it - ncfg].base < 0;
    const gwlz_base base =
        it < ncfg || v1 ? GWLZ_BASE_INTERP : (gwlz_base)more[it - ncfg].base;
    if (!gwlz_base_available(base)) continue;
    size_t n = 1;
    for (int i = 0; i < cfg[c].ndims; i++) n *= cfg[c].dims[i];
    size_t ts = cfg[c].type == GWLZ_TYPE_DOUBLE ? 8 : 4;
    uint8_t *src = (uint8_t *)malloc(n * ts);
    if (!src) continue;
    uint64_t st = 1234 + it;
    for (size_t i = 0; i < n; i++) {
      double x = (double)i;
      double v = cfg[c].texture
                     ? gwlz_fuzz_texture(i, cfg[c].dims, cfg[c].ndims)
                     : sin(x * 0.05) * 10 + cos(x * 0.31) * 2 + gwlz_rng_uniform(&st) * 0.1;
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
             gwlz_set_arch(ctx, cfg[c].arch) == GWLZ_OK &&
             gwlz_set_bound_policy(ctx, cfg[c].policy) == GWLZ_OK &&
             gwlz_set_epochs(ctx, cfg[c].texture ? 1 : 2) == GWLZ_OK &&
             gwlz_set_base(ctx, base) == GWLZ_OK &&
             gwlz_set_speed(ctx, v1 ? GWLZ_SPEED_FAST : GWLZ_SPEED_DEFAULT) == GWLZ_OK;
    if (ok && (cfg[c].special == 2 || cfg[c].special == 3))
      ok = gwlz_set_fill_value(ctx, -9999.0) == GWLZ_OK;
    size_t cap = ok ? gwlz_compress_bound(ctx) : 0;
    uint8_t *dst = cap ? (uint8_t *)malloc(cap) : NULL;
    size_t size = 0;
    const gwlz_error ce = dst ? gwlz_compress(ctx, src, dst, cap, &size) : GWLZ_ERR_MEMORY;
    if (ce == GWLZ_OK) {
      sink(user, dst, size);
      gwlz_info info;
      gwlz_section_info secs[16];
      int ns = 0;
      if (cov && gwlz_get_info(dst, size, &info) == GWLZ_OK &&
          gwlz_get_sections(dst, size, secs, 16, &ns) == GWLZ_OK) {
        cov->type[info.type == GWLZ_TYPE_DOUBLE] = 1;
        cov->ndims[info.ndims] = 1;
        for (int k = 0; k < ns && k < 16; k++) {
          if (!strcmp(secs[k].tag, "BASE") && secs[k].size >= 2 && dst[secs[k].offset + 1] < 7)
            cov->mode[dst[secs[k].offset + 1]] = 1;
          if (!strcmp(secs[k].tag, "ENHM") && secs[k].size >= 3) {
            int kind = dst[secs[k].offset + 1];
            if (kind == 1 || kind == 2) cov->enhm[kind] = 1;
            if (kind == 2 && dst[secs[k].offset + 2] < 2) cov->cnn_arch[dst[secs[k].offset + 2]] = 1;
            if (info.bound_policy == GWLZ_BOUND_RELAXED) cov->relaxed = 1;
          }
          if (!strcmp(secs[k].tag, "EXCP")) cov->excp = 1;
          if (!strcmp(secs[k].tag, "SPEC")) {
            if (cfg[c].special == 1 || cfg[c].special == 3 || cfg[c].special == 4)
              cov->spec_nan = 1;
            if (cfg[c].special == 2 || cfg[c].special == 3) cov->spec_fill = 1;
          }
        }
      }
    }
    free(dst);
    gwlz_free(ctx);
    free(src);
  }
}

static inline void gwlz_fuzz_api_streams(gwlz_fuzz_sink sink, void *user) {
  gwlz_fuzz_api_streams_cov(sink, user, NULL);
}

#endif
