/*
 * test_range_overflow.c - float64 fields whose value range max - min exceeds
 * DBL_MAX (e.g. a ramp from -1.5e308 to 1.5e308) compress in every mode that
 * uses the range (REL, ABS_AND_REL, ABS_OR_REL, PSNR), with and without the
 * enhancer, and every value comes back within the bound the stream records;
 * the bounds near DBL_MAX also with each base chosen explicitly.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gwlz.h"
#include "testutil.h"

static gwlz_base g_base = GWLZ_BASE_AUTO; /* the base of the next round trips */

static void roundtrip(const char *what, const double *x, int ndims, const size_t *dims,
                      gwlz_eb_mode mode, double abs, double rel, double psnr, int groups) {
  size_t n = 1;
  for (int i = 0; i < ndims; i++) n *= dims[i];
  gwlz_ctx *ctx = gwlz_create();
  EXPECT(gwlz_set_type(ctx, GWLZ_TYPE_DOUBLE) == GWLZ_OK);
  EXPECT(gwlz_set_dims(ctx, ndims, dims) == GWLZ_OK);
  EXPECT(gwlz_set_error_bound(ctx, mode, abs, rel, psnr) == GWLZ_OK);
  EXPECT(gwlz_set_groups(ctx, groups) == GWLZ_OK);
  EXPECT(gwlz_set_epochs(ctx, 1) == GWLZ_OK);
  if (gwlz_set_base(ctx, g_base) != GWLZ_OK) { /* not built in */
    gwlz_free(ctx);
    return;
  }
  size_t cap = gwlz_compress_bound(ctx), size = 0;
  uint8_t *s = malloc(cap);
  double *y = malloc(n * sizeof *y);
  gwlz_error e = gwlz_compress(ctx, x, s, cap, &size);
  CHECK(e == GWLZ_OK, "%s: compress: %s", what, gwlz_error_string(e));
  gwlz_info info;
  if (e == GWLZ_OK) {
    EXPECT(gwlz_get_info(s, size, &info) == GWLZ_OK);
    CHECK(info.abs_bound > 0 && isfinite(info.abs_bound), "%s: bound %g", what, info.abs_bound);
    e = gwlz_decompress(ctx, s, size, y, n * sizeof *y);
    CHECK(e == GWLZ_OK, "%s: decompress: %s", what, gwlz_error_string(e));
    size_t over = 0;
    double worst = 0;
    for (size_t i = 0; e == GWLZ_OK && i < n; i++) {
      double d = fabs(x[i] - y[i]);
      if (!(d <= info.abs_bound)) over++;
      if (d > worst) worst = d;
    }
    CHECK(over == 0, "%s: %zu values over the bound %g (worst %g)", what, over, info.abs_bound,
          worst);
    gwlz_stats st;
    EXPECT(gwlz_get_stats(ctx, &st) == GWLZ_OK);
    CHECK(st.base_psnr > 0 && !isnan(st.base_psnr), "%s: base PSNR %g", what, st.base_psnr);
    printf("  %-40s bound %-12g ratio %8.2f  PSNR %.2f\n", what, info.abs_bound,
           (double)(n * 8) / (double)size, st.enhanced_psnr);
  }
  free(s);
  free(y);
  gwlz_free(ctx);
}

int main(void) {
  const size_t n = 4096;
  double *ramp = malloc(n * sizeof *ramp), *wave = malloc(n * sizeof *wave);
  for (size_t i = 0; i < n; i++) {
    double t = (double)i / (double)(n - 1);
    ramp[i] = (-1.5 + 3.0 * t) * 1e308;
    wave[i] = 1.7e308 * sin(0.05 * (double)i) * cos(0.013 * (double)i);
  }
  size_t d1 = n, d2[2] = {64, 64};
  for (int g = 0; g <= 4; g += 4) {
    char w[96];
    snprintf(w, sizeof w, "ramp REL 1e-3 G%d", g);
    roundtrip(w, ramp, 1, &d1, GWLZ_EB_REL, 0, 1e-3, 0, g);
    snprintf(w, sizeof w, "ramp ABS_OR_REL 1, 1e-2 G%d", g);
    roundtrip(w, ramp, 1, &d1, GWLZ_EB_ABS_OR_REL, 1, 1e-2, 0, g);
    snprintf(w, sizeof w, "ramp ABS_AND_REL 1e300, 1e-3 G%d", g);
    roundtrip(w, ramp, 1, &d1, GWLZ_EB_ABS_AND_REL, 1e300, 1e-3, 0, g);
    snprintf(w, sizeof w, "ramp PSNR 60 G%d", g);
    roundtrip(w, ramp, 1, &d1, GWLZ_EB_PSNR, 0, 0, 60, g);
    snprintf(w, sizeof w, "wave 64x64 REL 1e-4 G%d", g);
    roundtrip(w, wave, 2, d2, GWLZ_EB_REL, 0, 1e-4, 0, g);
  }
  /* rel * range above DBL_MAX: the bound is clamped to DBL_MAX and holds */
  roundtrip("ramp REL 2 (bound clamped)", ramp, 1, &d1, GWLZ_EB_REL, 0, 2, 0, 0);
  roundtrip("wave PSNR 1 (bound clamped)", wave, 2, d2, GWLZ_EB_PSNR, 0, 0, 1, 0);
  for (int b = GWLZ_BASE_INTERP; b < GWLZ_BASE_COUNT; b++) {
    char w[96];
    g_base = (gwlz_base)b;
    snprintf(w, sizeof w, "ramp ABS_OR_REL 1, 1e-2 %s", gwlz_base_name(g_base));
    roundtrip(w, ramp, 1, &d1, GWLZ_EB_ABS_OR_REL, 1, 1e-2, 0, 0);
    snprintf(w, sizeof w, "ramp REL 2 %s", gwlz_base_name(g_base));
    roundtrip(w, ramp, 1, &d1, GWLZ_EB_REL, 0, 2, 0, 0);
    snprintf(w, sizeof w, "wave PSNR 1 %s", gwlz_base_name(g_base));
    roundtrip(w, wave, 2, d2, GWLZ_EB_PSNR, 0, 0, 1, 0);
  }
  free(ramp);
  free(wave);
  return tu_finish();
}
