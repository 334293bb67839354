/*
 * wv_headroom - the wavelet base's coefficients, for measuring how much a
 * decoder could still learn in the wavelet domain (bench/wv_headroom.py).
 *
 *   wv_headroom dump IN f32|f64 ABS_BOUND PREFIX d0 [d1 [d2 [d3]]]
 *   wv_headroom synth IN f32|f64 ABS_BOUND COEFS d0 [d1 [d2 [d3]]]
 *
 * dump: runs the wavelet base's analysis with the compressor's own steps
 * (src/base/wavelet.h: mean removed, CDF 9/7 over the levels it chooses,
 * step q = q_ratio * bound, quantization, pruning of isolated coefficients,
 * fitted reconstruction offsets; docs/format.md §9.9) and writes
 *   PREFIX.c      the coefficients (f64, C order, dims slowest first)
 *   PREFIX.k      their quantization integers (i32)
 *   PREFIX.bands  one line per subband: level orient off[4] ext[4] parent
 *                 sibling pshift[4]
 * and prints "q STEP mean MEAN off O0,O1,..." (the offsets in 1/256, two per
 * detail level, finest first). Fields whose coefficients do not fit at that
 * step (the compressor then coarsens it) are refused.
 *
 * synth: reads dequantized coefficients (f64) from COEFS, synthesizes them
 * (inverse transform plus the mean, in double, before rounding to the type
 * and before the base's point-wise corrections) and prints the PSNR against
 * IN, the MSE in units of bound^2 and how many values lie beyond the bound.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wavelet.h"
#include "base/wavelet_code.h"
#include "base/wavelet_xform.h"
/* File reading and writing are shared with the tests. */
#include "../tests/testutil.c"

typedef struct {
  int isd;
  double eb;
  size_t n;
  gwlz_wv_geom g;
  double *x; /* the input, as doubles */
  double mean;
} field;

static int load(field *f, int argc, char **argv) {
  memset(f, 0, sizeof *f);
  f->isd = !strcmp(argv[3], "f64");
  f->eb = atof(argv[4]);
  f->g.nd = argc - 6;
  f->n = 1;
  for (int e = 0; e < 4; e++) {
    f->g.n[e] = e < f->g.nd ? (size_t)strtoull(argv[6 + e], NULL, 10) : 1;
    f->g.lev[e] = e < f->g.nd ? gwlz_wv_choose_levels(f->g.n[e], &gwlz_wv_tune) : 0;
    if (f->g.lev[e] > f->g.L) f->g.L = f->g.lev[e];
    f->n *= f->g.n[e];
  }
  size_t got = 0, ts = f->isd ? 8 : 4;
  void *raw = tu_read_file(argv[2], &got);
  f->x = (double *)malloc(f->n * sizeof(double));
  if (!raw || got < f->n * ts || !f->x || !(f->eb > 0)) {
    fprintf(stderr, "wv_headroom: cannot read %zu values from %s\n", f->n, argv[2]);
    return 0;
  }
  for (size_t i = 0; i < f->n; i++)
    f->x[i] = f->isd ? ((double *)raw)[i] : (double)((float *)raw)[i];
  f->mean = gwlz_wv_data_mean(raw, f->n, f->isd);
  if (!f->isd) f->mean = (double)(float)f->mean;
  free(raw);
  return 1;
}

static int dump(const field *f, const char *prefix) {
  double *c = (double *)malloc(f->n * sizeof(double));
  double *scratch = (double *)malloc(gwlz_wv_scratch_size(&f->g) * sizeof(double));
  int32_t *k = (int32_t *)malloc(f->n * sizeof(int32_t));
  gwlz_wv_bands b;
  memset(&b, 0, sizeof b);
  if (!c || !scratch || !k || gwlz_wv_bands_init(&b, &f->g) != GWLZ_OK) return 0;
  for (size_t i = 0; i < f->n; i++) c[i] = f->x[i] - f->mean;
  gwlz_wv_forward(c, &f->g, scratch);
  const double q = gwlz_wv_tune.q_ratio * f->eb;
  uint8_t off[2 * GWLZ_WV_MAX_LEVELS] = {0};
  if (!gwlz_wv_quantize(&b, c, k, q, gwlz_wv_tune.zero_thr)) {
    fprintf(stderr, "wv_headroom: coefficients too large for the step\n");
    return 0;
  }
  if (gwlz_wv_tune.iso_thr > 0) gwlz_wv_prune_isolated(&b, c, k, q, gwlz_wv_tune.iso_thr);
  if (gwlz_wv_tune.fit_offsets) gwlz_wv_fit_offsets(&b, c, k, q, f->g.L, off);
  char path[4096];
  snprintf(path, sizeof path, "%s.c", prefix);
  int ok = tu_write_file(path, c, f->n * sizeof(double));
  snprintf(path, sizeof path, "%s.k", prefix);
  ok = ok && tu_write_file(path, k, f->n * sizeof(int32_t));
  snprintf(path, sizeof path, "%s.bands", prefix);
  FILE *fb = fopen(path, "w");
  ok = ok && fb;
  for (int i = 0; ok && i < b.nbands; i++) {
    const gwlz_wv_band *d = &b.band[i];
    fprintf(fb, "%d %d %zu %zu %zu %zu %zu %zu %zu %zu %d %d %d %d %d %d\n", d->level, d->orient,
            d->off[0], d->off[1], d->off[2], d->off[3], d->ext[0], d->ext[1], d->ext[2], d->ext[3],
            d->parent, d->sibling, d->pshift[0], d->pshift[1], d->pshift[2], d->pshift[3]);
  }
  if (fb) fclose(fb);
  printf("q %.17g mean %.17g off ", q, f->mean);
  for (int l = 0; l < 2 * f->g.L; l++) printf("%s%d", l ? "," : "", off[l]);
  printf("\n");
  gwlz_wv_bands_free(&b);
  free(c);
  free(k);
  free(scratch);
  return ok;
}

static int synth(const field *f, const char *coefs) {
  size_t got = 0;
  double *c = (double *)tu_read_file(coefs, &got);
  double *scratch = (double *)malloc(gwlz_wv_scratch_size(&f->g) * sizeof(double));
  if (!c || got < f->n * sizeof(double) || !scratch) return 0;
  gwlz_wv_inverse(c, &f->g, scratch);
  double sse = 0, lo = f->x[0], hi = f->x[0];
  size_t over = 0;
  for (size_t i = 0; i < f->n; i++) {
    double d = f->x[i] - (c[i] + f->mean);
    sse += d * d;
    over += fabs(d) > f->eb;
    lo = f->x[i] < lo ? f->x[i] : lo;
    hi = f->x[i] > hi ? f->x[i] : hi;
  }
  double mse = sse / (double)f->n;
  printf("psnr %.6f mse_eb2 %.6g over %zu\n", 20 * log10(hi - lo) - 10 * log10(mse),
         mse / (f->eb * f->eb), over);
  free(c);
  free(scratch);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 7 || argc > 10 || (strcmp(argv[1], "dump") && strcmp(argv[1], "synth"))) {
    fprintf(stderr, "usage: wv_headroom dump|synth IN f32|f64 ABS_BOUND PREFIX|COEFS d0 [d1 [d2 [d3]]]\n");
    return 2;
  }
  field f;
  if (!load(&f, argc, argv)) return 1;
  int ok = !strcmp(argv[1], "dump") ? dump(&f, argv[5]) : synth(&f, argv[5]);
  free(f.x);
  if (!ok) fprintf(stderr, "wv_headroom: failed\n");
  return ok ? 0 : 1;
}
