/* cnn_dev.c - development benchmark of the enhancer kinds on one raw float32
 * field: X' from the interpolation predictor (cubic, as the base compressor),
 * quantile groups of X', then the linear kind (plain and parity) and the CNN
 * kind (default and paper arch) trained and evaluated on the same groups.
 * Prints PSNR of X', of X' + eb * r_hat (raw and clamped to the bound) and the
 * train / predict wall times.
 *
 * usage: cnn_dev FILE NZ NY NX REL G THREADS [EPOCHS] [kinds: l,p,c,2] [ALPHA BETA]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

#include "enhance/model.h"
#include "base/base.h"
#include "base/interp_predict.h"

static int cmpf(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

static double psnr(const float *x, const float *y, size_t n, double range) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    double e = (double)x[i] - y[i];
    s += e * e;
  }
  return 20.0 * log10(range) - 10.0 * log10(s / (double)n);
}

static void prog(void *u, const char *st, double f) {
  (void)u;
  (void)st;
  (void)f;
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: %s FILE NZ NY NX REL G THREADS [EPOCHS] [KINDS]\n", argv[0]);
    return 2;
  }
  size_t dims[3] = {(size_t)atol(argv[2]), (size_t)atol(argv[3]), (size_t)atol(argv[4])};
  double rel = atof(argv[5]);
  int G = atoi(argv[6]), threads = atoi(argv[7]);
  int epochs = argc > 8 ? atoi(argv[8]) : 0;
  const char *kinds = argc > 9 ? argv[9] : "lpc2";
  int nd = 3;
  while (nd > 1 && dims[0] == 1) { /* drop leading extents of 1 */
    dims[0] = dims[1];
    dims[1] = dims[2];
    nd--;
  }
  size_t n = dims[0] * (nd > 1 ? dims[1] : 1) * (nd > 2 ? dims[2] : 1);
  float *x = malloc(n * 4), *xr = malloc(n * 4), *y = malloc(n * 4), *tgt = malloc(n * 4);
  float *r = malloc(n * 4);
  FILE *fp = fopen(argv[1], "rb");
  if (!fp || fread(x, 4, n, fp) != n) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  fclose(fp);
  float mn = x[0], mx = x[0];
  for (size_t i = 0; i < n; i++) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
  }
  double range = (double)mx - mn, eb = rel * range;
  /* X' */
  gwlz_interp_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.nd = nd;
  for (int j = 0; j < nd; j++) cfg.n[j] = dims[j], cfg.order[j] = j;
  cfg.cubic = 1;
  cfg.eb = eb;
  cfg.alpha = argc > 10 ? atof(argv[10]) : 1.75;
  cfg.beta = argc > 11 ? atof(argv[11]) : 4.0;
  uint32_t *codes = malloc(n * 4);
  gwlz_wbuf unp;
  gwlz_wbuf_init(&unp);
  double t0 = gwlz_now();
  size_t nun = 0;
  if (argc > 10 && strcmp(argv[10], "base") == 0) { /* the real base compressor */
    gwlz_base_params bp;
    memset(&bp, 0, sizeof bp);
    bp.type = GWLZ_TYPE_FLOAT;
    bp.ndims = nd;
    for (int j = 0; j < nd; j++) bp.dims[j] = dims[j];
    bp.n = n;
    bp.abs_eb = eb;
    gwlz_base_info bi;
    if (gwlz_base_compress(&bp, GWLZ_BASE_INTERP, x, xr, NULL, &unp, &bi) != GWLZ_OK) return 1;
    nun = bi.unpredictable;
  } else {
    nun = gwlz_interp_compress(&cfg, 0, x, xr, NULL, codes, &unp);
  }
  double tb = gwlz_now() - t0;
  free(codes);
  gwlz_wbuf_free(&unp);
  double p0 = psnr(x, xr, n, range);
  printf("field %s dims %zux%zux%zu rel %g eb %g G %d threads %d\n", argv[1], dims[0], dims[1],
         dims[2], rel, eb, G, threads);
  printf("base: psnr %.3f unpred %zu interp %.2fs\n", p0, nun, tb);
  for (size_t i = 0; i < n; i++) tgt[i] = (float)(((double)x[i] - xr[i]) / eb);
  /* quantile groups */
  size_t ns = n / 64 + 1;
  float *smp = malloc(ns * 4);
  for (size_t k = 0; k < ns; k++) smp[k] = xr[(k * 64) % n];
  qsort(smp, ns, 4, cmpf);
  double bounds[256];
  for (int g = 1; g < G; g++) bounds[g - 1] = smp[(size_t)((double)g * ns / G)];
  uint8_t *gid = malloc(n);
  size_t *start = calloc(G + 1, sizeof(size_t)), *idx = malloc(n * sizeof(size_t));
  double lo[256], hi[256];
  for (int g = 0; g < G; g++) lo[g] = INFINITY, hi[g] = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    int g = 0;
    while (g < G - 1 && xr[i] >= bounds[g]) g++;
    gid[i] = (uint8_t)g;
    start[g + 1]++;
    if (xr[i] < lo[g]) lo[g] = xr[i];
    if (xr[i] > hi[g]) hi[g] = xr[i];
  }
  for (int g = 0; g < G; g++) {
    start[g + 1] += start[g];
    if (lo[g] > hi[g]) lo[g] = hi[g] = 0;
  }
  size_t *fill = calloc(G, sizeof(size_t));
  for (size_t i = 0; i < n; i++) idx[start[gid[i]] + fill[gid[i]]++] = i;
  gwlz_enh_data d;
  memset(&d, 0, sizeof d);
  d.type = GWLZ_TYPE_FLOAT;
  d.ndims = nd;
  for (int j = 0; j < nd; j++) d.dims[j] = dims[j];
  d.strides[nd - 1] = 1;
  for (int j = nd - 2; j >= 0; j--) d.strides[j] = d.strides[j + 1] * dims[j + 1];
  d.n = n;
  d.eb = eb;
  d.xr = xr;
  d.target = tgt;
  d.gid = gid;
  d.groups = G;
  d.lo = lo;
  d.hi = hi;
  d.group_start = start;
  d.group_idx = idx;
  d.threads = threads;
  d.seed = 12345;
  d.epochs = epochs;
  d.progress = prog;
  for (const char *k = kinds; *k; k++) {
    const gwlz_enh_kind *kind = (*k == 'l' || *k == 'p') ? &gwlz_enh_linear_kind : &gwlz_enh_cnn_kind;
    int arch = *k == 'l' ? GWLZ_LIN_ARCH_PLAIN
             : *k == 'p' ? GWLZ_LIN_ARCH_BEST
             : *k == 'c' ? GWLZ_ARCH_DEFAULT : GWLZ_ARCH_PAPER2D;
    const char *name = *k == 'l' ? "linear-plain" : *k == 'p' ? "linear-best"
                     : *k == 'c' ? "cnn-default" : "cnn-paper2d";
    size_t np = kind->nparams(&d, arch);
    float *par = calloc((size_t)G * np, sizeof(float));
    int er = 0;
    t0 = gwlz_now();
    char key[64];
    snprintf(key, sizeof key, "CNN_DEV_LOAD_%c", *k);
    const char *ld = getenv(key);
    gwlz_error e = GWLZ_OK;
    if (ld) { /* params from a file (to compare predict across builds) */
      FILE *pf = fopen(ld, "rb");
      if (!pf || fread(par, sizeof(float), (size_t)G * np, pf) != (size_t)G * np) return 1;
      fclose(pf);
    } else {
      e = kind->train(&d, arch, par, &er);
    }
    double tt = gwlz_now() - t0;
    snprintf(key, sizeof key, "CNN_DEV_SAVE_%c", *k);
    if (getenv(key)) {
      FILE *pf = fopen(getenv(key), "wb");
      fwrite(par, sizeof(float), (size_t)G * np, pf);
      fclose(pf);
    }
    if (e != GWLZ_OK) {
      printf("%s: train error %d\n", name, e);
      continue;
    }
    d.target = NULL;
    if (getenv("CNN_DEV_F16")) /* what the framework's binary16 storage would give */
      for (size_t j = 0; j < (size_t)G * np; j++) par[j] = (float)(_Float16)par[j];
    double tp = 1e30, tpc = 1e30;
    int reps = getenv("CNN_DEV_REPS") ? atoi(getenv("CNN_DEV_REPS")) : 3;
    for (int rep = 0; rep < reps; rep++) {
      t0 = gwlz_now();
      double c0 = cpu_now();
      for (int g = 0; g < G; g++) kind->predict(&d, arch, g, par, r);
      t0 = gwlz_now() - t0;
      c0 = cpu_now() - c0;
      if (t0 < tp) tp = t0;
      if (c0 < tpc) tpc = c0;
    }
    d.target = tgt;
    snprintf(key, sizeof key, "CNN_DEV_OUT_%c", *k);
    if (getenv(key)) {
      FILE *pf = fopen(getenv(key), "wb");
      fwrite(r, sizeof(float), n, pf);
      fclose(pf);
    }
    size_t nneg = 0;
    for (size_t i = 0; i < n; i++) y[i] = (float)((double)xr[i] + eb * r[i]);
    double p1 = psnr(x, y, n, range);
    /* per group never-worse (as the framework would) */
    double *se0 = calloc(G, sizeof(double)), *se1 = calloc(G, sizeof(double));
    for (size_t i = 0; i < n; i++) {
      double e0 = (double)x[i] - xr[i], e1 = (double)x[i] - y[i];
      se0[gid[i]] += e0 * e0;
      se1[gid[i]] += e1 * e1;
    }
    double senw = 0.0;
    for (int g = 0; g < G; g++) {
      nneg += se1[g] > se0[g];
      senw += se1[g] < se0[g] ? se1[g] : se0[g];
    }
    double pnw = 20.0 * log10(range) - 10.0 * log10(senw / (double)n);
    for (size_t i = 0; i < n; i++) {
      float rc = r[i] > 1.0f ? 1.0f : r[i] < -1.0f ? -1.0f : r[i];
      y[i] = (float)((double)xr[i] + eb * rc);
    }
    double p2 = psnr(x, y, n, range);
    printf("%-14s np %4zu  psnr %.3f (%+.3f dB)  clamped %.3f (%+.3f)  never-worse %.3f (%+.3f)  worse-groups %zu  "
           "train %.2fs (epochs %d)  predict %.3fs (cpu %.3fs)\n",
           name, np, p1, p1 - p0, p2, p2 - p0, pnw, pnw - p0, nneg, tt, er, tp, tpc);
    fflush(stdout);
    free(se0);
    free(se1);
    free(par);
  }
  return 0;
}
