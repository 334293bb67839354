/* test_special.c - NaN/Inf/fill detection, exact restoration, replacement
 * values, corrupt payloads. Run with "bench" to time the scan. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format/special.h"
#include "testutil.h"


static float f32_from(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static double f64_from(uint64_t u) {
  double d;
  memcpy(&d, &u, 8);
  return d;
}

static int is_special_ref(gwlz_type t, const void *data, size_t i, int has_fill, double fill) {
  if (t == GWLZ_TYPE_FLOAT) {
    float v = ((const float *)data)[i];
    if (!isfinite(v)) return 1;
    if (!has_fill || isnan(fill)) return 0;
    float ff = (float)fill;
    return memcmp(&v, &ff, 4) == 0;
  }
  double v = ((const double *)data)[i];
  if (!isfinite(v)) return 1;
  if (!has_fill || isnan(fill)) return 0;
  return memcmp(&v, &fill, 8) == 0;
}

/* Full check of scan + encode + decode against a reference. */
static void check_case(gwlz_type t, const void *data, size_t n, int has_fill, double fill) {
  size_t ts = gwlz_type_size(t);
  gwlz_special_scan sc;
  gwlz_special_scan_data(t, data, n, has_fill, fill, &sc);
  size_t count = 0;
  double mn = 0, mx = 0;
  int first = 1;
  for (size_t i = 0; i < n; i++) {
    if (is_special_ref(t, data, i, has_fill, fill)) {
      count++;
      continue;
    }
    double v = t == GWLZ_TYPE_FLOAT ? (double)((const float *)data)[i] : ((const double *)data)[i];
    if (first || v < mn) mn = v;
    if (first || v > mx) mx = v;
    first = 0;
  }
  EXPECT(sc.count == count);
  EXPECT(sc.finite == n - count);
  EXPECT(sc.min == mn && sc.max == mx);
  uint8_t *work = (uint8_t *)malloc(n * ts + 1), *mask = (uint8_t *)malloc(n + 1);
  uint8_t *back = (uint8_t *)malloc(n * ts + 1), *mask2 = (uint8_t *)calloc(n + 1, 1);
  gwlz_wbuf w;
  gwlz_wbuf_init(&w);
  EXPECT(gwlz_special_encode(t, data, n, has_fill, fill, work, mask, &w) == GWLZ_OK);
  /* replacement values and mask */
  int seen = 0;
  uint64_t last = 0, firstreg = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_special_ref(t, data, i, has_fill, fill)) {
      memcpy(&firstreg, (const uint8_t *)data + i * ts, ts);
      break;
    }
  }
  for (size_t i = 0; i < n; i++) {
    int s = is_special_ref(t, data, i, has_fill, fill);
    EXPECT(mask[i] == s);
    uint64_t wv = 0, dv = 0;
    memcpy(&wv, work + i * ts, ts);
    memcpy(&dv, (const uint8_t *)data + i * ts, ts);
    if (!s) {
      EXPECT(wv == dv);
      last = dv;
      seen = 1;
    } else {
      EXPECT(wv == (seen ? last : firstreg));
    }
  }
  /* decode onto the working copy: the original bits come back */
  memcpy(back, work, n * ts);
  EXPECT(gwlz_special_decode(t, w.data, w.size, back, n, mask2) == GWLZ_OK);
  EXPECT(n == 0 || memcmp(back, data, n * ts) == 0);
  EXPECT(n == 0 || memcmp(mask, mask2, n) == 0);
  /* truncations and damage never crash; truncations always fail when count>0 */
  for (size_t len = 0; len < w.size; len++) {
    memcpy(back, work, n * ts);
    gwlz_error e = gwlz_special_decode(t, w.data, len, back, n, NULL);
    EXPECT(e != GWLZ_OK);
  }
  uint64_t st = 99;
  uint8_t *cp = (uint8_t *)malloc(w.size);
  for (int k = 0; k < 200 && w.size > 0; k++) {
    memcpy(cp, w.data, w.size);
    cp[gwlz_rng_next(&st) % w.size] ^= (uint8_t)(1u << (gwlz_rng_next(&st) & 7));
    memset(mask2, 0, n + 1);
    (void)gwlz_special_decode(t, cp, w.size, back, n, mask2);
  }
  /* fewer cells than positions recorded */
  if (count > 0) {
    EXPECT(gwlz_special_decode(t, w.data, w.size, back, count - 1, NULL) != GWLZ_OK);
  }
  free(cp);
  gwlz_wbuf_free(&w);
  free(work);
  free(mask);
  free(back);
  free(mask2);
}

static void bench(void) {
  size_t n = (size_t)256 * 256 * 256;
  float *f = (float *)malloc(n * 4);
  double *d = (double *)malloc(n * 8);
  for (size_t i = 0; i < n; i++) {
    f[i] = (float)sin((double)i * 1e-3);
    d[i] = sin((double)i * 1e-3);
  }
  gwlz_special_scan sc;
  double best = 1e9, bestd = 1e9, bestfill = 1e9;
  for (int r = 0; r < 5; r++) {
    double t0 = tu_cpu_now();
    gwlz_special_scan_data(GWLZ_TYPE_FLOAT, f, n, 0, 0, &sc);
    double t1 = tu_cpu_now();
    gwlz_special_scan_data(GWLZ_TYPE_DOUBLE, d, n, 0, 0, &sc);
    double t2 = tu_cpu_now();
    gwlz_special_scan_data(GWLZ_TYPE_FLOAT, f, n, 1, -9999.0, &sc);
    double t3 = tu_cpu_now();
    if (t1 - t0 < best) best = t1 - t0;
    if (t2 - t1 < bestd) bestd = t2 - t1;
    if (t3 - t2 < bestfill) bestfill = t3 - t2;
  }
  printf("scan float32: %.2f GB/s, with fill: %.2f GB/s, float64: %.2f GB/s\n",
         (double)n * 4 / best / 1e9, (double)n * 4 / bestfill / 1e9, (double)n * 8 / bestd / 1e9);
  /* encode with 1% NaN */
  for (size_t i = 0; i < n; i += 100) f[i] = NAN;
  uint8_t *mask = (uint8_t *)malloc(n);
  float *work = (float *)malloc(n * 4);
  gwlz_wbuf w;
  gwlz_wbuf_init(&w);
  gwlz_special_encode(GWLZ_TYPE_FLOAT, f, n, 0, 0, work, mask, &w); /* touch pages */
  w.size = 0;
  double t0 = tu_cpu_now();
  gwlz_special_encode(GWLZ_TYPE_FLOAT, f, n, 0, 0, work, mask, &w);
  double t1 = tu_cpu_now();
  memset(mask, 0, n);
  gwlz_special_decode(GWLZ_TYPE_FLOAT, w.data, w.size, work, n, mask);
  double t2 = tu_cpu_now();
  printf("encode 1%% NaN: %.1f ms -> %zu bytes; decode %.1f ms\n", (t1 - t0) * 1e3, w.size,
         (t2 - t1) * 1e3);
  gwlz_wbuf_free(&w);
  free(mask);
  free(work);
  free(f);
  free(d);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "bench") == 0) {
    bench();
    return 0;
  }
  /* no specials, empty */
  {
    float f[5] = {1, -2, 3.5f, 0, -0.0f};
    check_case(GWLZ_TYPE_FLOAT, f, 5, 0, 0);
    check_case(GWLZ_TYPE_FLOAT, f, 0, 0, 0);
    gwlz_special_scan sc;
    gwlz_special_scan_data(GWLZ_TYPE_FLOAT, f, 5, 0, 0, &sc);
    EXPECT(sc.count == 0 && sc.min == -2 && sc.max == 3.5);
  }
  /* NaN payloads, infinities, signed zero, denormals */
  {
    float f[12];
    f[0] = f32_from(0x7FC00001u);  /* quiet NaN with payload */
    f[1] = 5.0f;
    f[2] = f32_from(0xFF800000u);  /* -Inf */
    f[3] = f32_from(0x7F800001u);  /* signalling NaN */
    f[4] = f32_from(0x7F800000u);  /* +Inf */
    f[5] = -0.0f;
    f[6] = f32_from(0x80000001u);  /* smallest negative denormal */
    f[7] = FLT_MAX;
    f[8] = -FLT_MAX;
    f[9] = f32_from(0xFFFFFFFFu);
    f[10] = 7.0f;
    f[11] = f32_from(0xFFC00000u);
    check_case(GWLZ_TYPE_FLOAT, f, 12, 0, 0);
    check_case(GWLZ_TYPE_FLOAT, f, 12, 1, 7.0);
    check_case(GWLZ_TYPE_FLOAT, f, 12, 1, NAN);
    check_case(GWLZ_TYPE_FLOAT, f, 12, 1, -0.0); /* -0.0 fill: +0.0 does not match */
    check_case(GWLZ_TYPE_FLOAT, f, 12, 1, 1e300); /* converts to +Inf */
    gwlz_special_scan sc;
    gwlz_special_scan_data(GWLZ_TYPE_FLOAT, f, 12, 1, 7.0, &sc);
    EXPECT(sc.count == 7 && sc.min == -FLT_MAX && sc.max == FLT_MAX);
  }
  {
    double d[8];
    d[0] = f64_from(0x7FF8000000000123ull);
    d[1] = f64_from(0xFFF0000000000000ull);
    d[2] = -9999.0;
    d[3] = 1.25;
    d[4] = -9999.0;
    d[5] = f64_from(0x7FF0000000000001ull);
    d[6] = -3.0;
    d[7] = -9999.0;
    check_case(GWLZ_TYPE_DOUBLE, d, 8, 0, 0);
    check_case(GWLZ_TYPE_DOUBLE, d, 8, 1, -9999.0);
    gwlz_special_scan sc;
    gwlz_special_scan_data(GWLZ_TYPE_DOUBLE, d, 8, 1, -9999.0, &sc);
    EXPECT(sc.count == 6 && sc.min == -3.0 && sc.max == 1.25);
  }
  /* all special */
  {
    float f[6] = {NAN, NAN, INFINITY, NAN, -INFINITY, NAN};
    check_case(GWLZ_TYPE_FLOAT, f, 6, 0, 0);
    gwlz_special_scan sc;
    gwlz_special_scan_data(GWLZ_TYPE_FLOAT, f, 6, 0, 0, &sc);
    EXPECT(sc.count == 6 && sc.finite == 0 && sc.min == 0 && sc.max == 0);
  }
  /* larger random mixes: runs, palette, >256 distinct NaN payloads (raw mode) */
  {
    size_t n = 50000;
    float *f = (float *)malloc(n * 4);
    double *d = (double *)malloc(n * 8);
    uint64_t st = 1;
    for (int variant = 0; variant < 4; variant++) {
      for (size_t i = 0; i < n; i++) {
        double u = gwlz_rng_uniform(&st);
        f[i] = (float)(gwlz_rng_uniform(&st) * 100 - 50);
        d[i] = gwlz_rng_uniform(&st) * 100 - 50;
        if (variant == 0 && u < 0.01) {
          f[i] = NAN;
          d[i] = NAN;
        }
        if (variant == 1 && (i / 1000) % 3 == 1) { /* land mask runs */
          f[i] = -9999.0f;
          d[i] = -9999.0;
        }
        if (variant == 2 && u < 0.3) {
          uint32_t pay = (uint32_t)(gwlz_rng_next(&st) & 0x3FFFFF);
          f[i] = f32_from(0x7FC00000u | pay);
          d[i] = f64_from(0x7FF8000000000000ull | pay);
        }
        if (variant == 3 && u < 0.2) {
          f[i] = u < 0.1 ? INFINITY : -9999.0f;
          d[i] = u < 0.1 ? -INFINITY : -9999.0;
        }
      }
      if (variant == 1) f[0] = f[1] = NAN;
      check_case(GWLZ_TYPE_FLOAT, f, n, variant != 0, -9999.0);
      check_case(GWLZ_TYPE_DOUBLE, d, n, variant != 0, -9999.0);
    }
    free(f);
    free(d);
  }
  /* hand-made corrupt payloads */
  {
    float f[4] = {1, 2, 3, 4};
    uint8_t bad1[] = {5};        /* count > n */
    EXPECT(gwlz_special_decode(GWLZ_TYPE_FLOAT, bad1, 1, f, 4, NULL) == GWLZ_ERR_CORRUPT);
    uint8_t ok0[] = {0};
    EXPECT(gwlz_special_decode(GWLZ_TYPE_FLOAT, ok0, 1, f, 4, NULL) == GWLZ_OK);
    uint8_t bad2[] = {0, 0};     /* trailing bytes */
    EXPECT(gwlz_special_decode(GWLZ_TYPE_FLOAT, bad2, 2, f, 4, NULL) == GWLZ_ERR_CORRUPT);
    EXPECT(gwlz_special_decode(GWLZ_TYPE_FLOAT, bad2, 0, f, 4, NULL) == GWLZ_ERR_TRUNCATED);
  }
  return tu_finish();
}
