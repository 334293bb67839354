/* bench_enhance.c - the group-wise enhancer through the public API, laid out
 * like the GWLZ paper's Tables 2 and 3, plus the time budgets:
 *   Table 2: per field and relative bound: base PSNR, enhanced PSNR at the
 *            largest group count, improvement (dB and %), size overhead
 *            (enhanced stream / base-only stream - 1), base compress and
 *            decompress times, enhanced compress and decompress times, and
 *            their ratios (enhanced / base);
 *   Table 3: enhanced PSNR for every requested group count.
 * Times are wall seconds of gwlz_compress / gwlz_decompress, best of --reps
 * runs, with --threads threads (default 2); --cpu: process CPU seconds
 * instead (steadier on a shared machine; with one thread). Every enhanced stream is decoded
 * and checked against the bound the stream reports (strict policy).
 *
 *   bench_enhance [--data DIR] [--cosmo DIR] [--no-shared] [--no-cosmo]
 *                 [--fields SUBSTR[,SUBSTR...]] [--rel 5e-3,1e-3,...]
 *                 [--groups 1,5,10,20] [--kind linear|cnn|both]
 *                 [--threads N] [--reps N] [--quick]
 *
 * --quick: 256^3 temperature and dark matter density only, REL 5e-3 and
 * 1e-3, groups 1,5,20, one run each (unless --reps). A median of the improvements over all
 * rows is printed per kind. Exit status 1 if a bound is broken or a call
 * fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwlz.h"

#ifndef GWLZ_BENCH_DATA_DEFAULT
#define GWLZ_BENCH_DATA_DEFAULT "../shared/data"
#endif
#define MAXG 16
#define MAXR 16
#define MAXF 128

typedef struct {
  char name[256];
  char path[1024];
  gwlz_type type;
  int ndims;
  size_t dims[4]; /* C order */
  int has_fill;
  double fill;
} bfield;

static int nfields = 0;
static bfield fields[MAXF];
static double rels[MAXR] = {5e-3, 1e-3};
static int nrels = 2;
static int groups[MAXG] = {1, 5, 10, 20};
static int ngroups = 4;
static const char *filters[32];
static int nfilters = 0;
static int threads = 2, reps = 3, failures = 0;

static int use_cpu = 0; /* --cpu: process CPU time instead of wall time */

static double now(void) {
  struct timespec ts;
  clock_gettime(use_cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int wanted(const char *name) {
  if (nfilters == 0) return 1;
  for (int k = 0; k < nfilters; k++)
    if (strstr(name, filters[k])) return 1;
  return 0;
}

static void add_field(const char *name, const char *path, gwlz_type t, int nd, const size_t *dims,
                      int has_fill, double fill) {
  if (nfields >= MAXF || !wanted(name)) return;
  FILE *fp = fopen(path, "rb");
  if (!fp) return;
  fclose(fp);
  bfield *f = &fields[nfields++];
  snprintf(f->name, sizeof f->name, "%s", name);
  snprintf(f->path, sizeof f->path, "%s", path);
  f->type = t;
  f->ndims = nd;
  memcpy(f->dims, dims, sizeof(size_t) * (size_t)nd);
  f->has_fill = has_fill;
  f->fill = fill;
}

static void read_manifest(const char *dir) {
  char path[8192], line[4096];
  snprintf(path, sizeof path, "%s/MANIFEST.tsv", dir);
  FILE *fp = fopen(path, "r");
  if (!fp) {
    fprintf(stderr, "no manifest at %s\n", path);
    return;
  }
  int first = 1;
  while (fgets(line, sizeof line, fp)) {
    if (first) {
      first = 0;
      continue;
    }
    char *col[12] = {0};
    int nc = 0;
    char *s = line;
    while (nc < 12) {
      col[nc++] = s;
      char *tab = strchr(s, '\t');
      if (!tab) break;
      *tab = 0;
      s = tab + 1;
    }
    if (nc < 6) continue;
    size_t dims[4];
    int nd = 0;
    for (char *d = col[1]; *d && nd < 4;) {
      dims[nd++] = strtoul(d, &d, 10);
      if (*d == 'x')
        d++;
      else
        break;
    }
    gwlz_type t = strcmp(col[2], "f64") == 0 ? GWLZ_TYPE_DOUBLE : GWLZ_TYPE_FLOAT;
    int has_fill = col[5][0] != 0 && col[5][0] != '\n';
    double fill = has_fill ? strtod(col[5], NULL) : 0.0;
    snprintf(path, sizeof path, "%s/%s", dir, col[0]);
    add_field(col[0], path, t, nd, dims, has_fill, fill);
  }
  fclose(fp);
}

static int parse_list_d(const char *s, double *out, int max) {
  int n = 0;
  while (*s && n < max) {
    char *e;
    out[n++] = strtod(s, &e);
    if (e == s) return n - 1;
    s = *e == ',' ? e + 1 : e;
  }
  return n;
}

static int parse_list_i(const char *s, int *out, int max) {
  int n = 0;
  while (*s && n < max) {
    char *e;
    out[n++] = (int)strtol(s, &e, 10);
    if (e == s) return n - 1;
    s = *e == ',' ? e + 1 : e;
  }
  return n;
}

static void *load(const bfield *f, size_t *n_out) {
  size_t n = 1, es = f->type == GWLZ_TYPE_DOUBLE ? 8 : 4;
  for (int a = 0; a < f->ndims; a++) n *= f->dims[a];
  FILE *fp = fopen(f->path, "rb");
  if (!fp) return NULL;
  void *buf = malloc(n * es);
  if (buf && fread(buf, es, n, fp) != n) {
    free(buf);
    buf = NULL;
  }
  fclose(fp);
  *n_out = n;
  return buf;
}

typedef struct {
  int ok;
  size_t bytes;
  double psnr, base_psnr, ctime, dtime, abs_bound;
} result;

/* Compress (best of reps), decompress (best of reps) and check the bound. */
static result run_one(const bfield *f, const void *x, size_t n, double rel, int G, gwlz_enhancer kind) {
  result r;
  memset(&r, 0, sizeof(r));
  size_t es = f->type == GWLZ_TYPE_DOUBLE ? 8 : 4;
  gwlz_ctx *ctx = gwlz_create();
  if (!ctx) return r;
  gwlz_set_type(ctx, f->type);
  gwlz_set_dims(ctx, f->ndims, f->dims);
  gwlz_set_error_bound(ctx, GWLZ_EB_REL, 0.0, rel, 0.0);
  if (f->has_fill) gwlz_set_fill_value(ctx, f->fill);
  gwlz_set_threads(ctx, threads);
  gwlz_set_groups(ctx, G);
  if (G > 0) gwlz_set_enhancer(ctx, kind);
  size_t cap = gwlz_compress_bound(ctx), sz = 0;
  uint8_t *buf = (uint8_t *)malloc(cap ? cap : 1);
  void *y = malloc(n * es);
  gwlz_stats st;
  r.ctime = r.dtime = INFINITY;
  for (int k = 0; k < reps && buf && y; k++) {
    double t0 = now();
    gwlz_error e = gwlz_compress(ctx, x, buf, cap, &sz);
    double t1 = now() - t0;
    if (e != GWLZ_OK) {
      fprintf(stderr, "%s rel %g G %d: compress: %s\n", f->name, rel, G, gwlz_error_string(e));
      failures++;
      goto out;
    }
    if (t1 < r.ctime) r.ctime = t1;
  }
  if (!buf || !y || gwlz_get_stats(ctx, &st) != GWLZ_OK) goto out;
  r.bytes = sz;
  r.psnr = st.enhanced_psnr;
  r.base_psnr = st.base_psnr;
  r.abs_bound = st.abs_bound;
  for (int k = 0; k < reps; k++) {
    double t0 = now();
    gwlz_error e = gwlz_decompress(ctx, buf, sz, y, n * es);
    double t1 = now() - t0;
    if (e != GWLZ_OK) {
      fprintf(stderr, "%s rel %g G %d: decompress: %s\n", f->name, rel, G, gwlz_error_string(e));
      failures++;
      goto out;
    }
    if (t1 < r.dtime) r.dtime = t1;
  }
  /* strict bound on every regular value */
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    double a = f->type == GWLZ_TYPE_DOUBLE ? ((const double *)x)[i] : (double)((const float *)x)[i];
    double b = f->type == GWLZ_TYPE_DOUBLE ? ((const double *)y)[i] : (double)((const float *)y)[i];
    if (!isfinite(a) || (f->has_fill && a == f->fill)) continue;
    if (!(fabs(a - b) <= r.abs_bound)) bad++;
  }
  if (bad) {
    fprintf(stderr, "%s rel %g G %d: %zu values break the bound\n", f->name, rel, G, bad);
    failures++;
    goto out;
  }
  r.ok = 1;
out:
  free(buf);
  free(y);
  gwlz_free(ctx);
  return r;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : (x > y ? 1 : 0);
}

int main(int argc, char **argv) {
  const char *data = GWLZ_BENCH_DATA_DEFAULT, *cosmo = "/work/cache/cosmo256";
  int use_shared = 1, use_cosmo = 1, quick = 0, reps_given = 0;
  int kinds[2] = {GWLZ_ENH_LINEAR, 0}, nkinds = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--data") && v) {
      data = v;
      i++;
    } else if (!strcmp(a, "--cosmo") && v) {
      cosmo = v;
      i++;
    } else if (!strcmp(a, "--no-shared")) {
      use_shared = 0;
    } else if (!strcmp(a, "--no-cosmo")) {
      use_cosmo = 0;
    } else if (!strcmp(a, "--fields") && v) {
      char *s = strdup(v);
      for (char *t = strtok(s, ","); t && nfilters < 32; t = strtok(NULL, ",")) filters[nfilters++] = t;
      i++;
    } else if (!strcmp(a, "--rel") && v) {
      nrels = parse_list_d(v, rels, MAXR);
      i++;
    } else if (!strcmp(a, "--groups") && v) {
      ngroups = parse_list_i(v, groups, MAXG);
      i++;
    } else if (!strcmp(a, "--kind") && v) {
      if (!strcmp(v, "linear")) {
        kinds[0] = GWLZ_ENH_LINEAR;
        nkinds = 1;
      } else if (!strcmp(v, "cnn")) {
        kinds[0] = GWLZ_ENH_CNN;
        nkinds = 1;
      } else if (!strcmp(v, "both")) {
        kinds[0] = GWLZ_ENH_LINEAR;
        kinds[1] = GWLZ_ENH_CNN;
        nkinds = 2;
      } else {
        fprintf(stderr, "unknown kind %s\n", v);
        return 2;
      }
      i++;
    } else if (!strcmp(a, "--threads") && v) {
      threads = atoi(v);
      i++;
    } else if (!strcmp(a, "--reps") && v) {
      reps = atoi(v) > 0 ? atoi(v) : 1;
      reps_given = 1;
      i++;
    } else if (!strcmp(a, "--quick")) {
      quick = 1;
    } else if (!strcmp(a, "--cpu")) {
      use_cpu = 1;
    } else {
      fprintf(stderr,
              "usage: %s [--data DIR] [--cosmo DIR] [--no-shared] [--no-cosmo] [--fields S,...]\n"
              "          [--rel R,...] [--groups G,...] [--kind linear|cnn|both] [--threads N]\n"
              "          [--reps N] [--quick] [--cpu]\n",
              argv[0]);
      return 2;
    }
  }
  if (quick) {
    use_shared = 0;
    nfilters = 0;
    filters[nfilters++] = "temperature_256";
    filters[nfilters++] = "dark_matter_density_256";
    rels[0] = 5e-3;
    rels[1] = 1e-3;
    nrels = 2;
    groups[0] = 1;
    groups[1] = 5;
    groups[2] = 20;
    ngroups = 3;
    if (!reps_given) reps = 1;
  }
  if (use_cosmo) {
    static const char *cf[] = {"temperature", "dark_matter_density", "baryon_density",
                               "velocity_x"};
    for (size_t k = 0; k < sizeof(cf) / sizeof(cf[0]); k++) {
      char name[256], path[1024];
      size_t dims[3] = {256, 256, 256};
      snprintf(name, sizeof name, "%s_256x256x256.f32", cf[k]);
      snprintf(path, sizeof path, "%s/%s", cosmo, name);
      add_field(name, path, GWLZ_TYPE_FLOAT, 3, dims, 0, 0.0);
    }
  }
  if (use_shared) read_manifest(data);
  if (nfields == 0) {
    fprintf(stderr, "no fields\n");
    return 2;
  }
  int gmax = 0, gmaxi = 0;
  for (int k = 0; k < ngroups; k++)
    if (groups[k] > gmax) {
      gmax = groups[k];
      gmaxi = k;
    }
  printf("threads %d, best of %d runs; times in seconds (%s, gwlz_compress / gwlz_decompress)\n",
         threads, reps, use_cpu ? "CPU" : "wall");
  for (int ki = 0; ki < nkinds; ki++) {
    const gwlz_enhancer kind = (gwlz_enhancer)kinds[ki];
    const char *kname = kind == GWLZ_ENH_CNN ? "cnn" : "linear";
    double *gains = (double *)malloc((size_t)nfields * nrels * sizeof(double));
    int ngains = 0;
    char t3[MAXF * MAXR][512];
    int nt3 = 0;
    printf("\nTable 2 (%s, G = %d)\n", kname, gmax);
    printf("%-44s %7s %9s %9s %7s %7s %7s %7s %7s %7s %7s %6s %6s\n", "field", "REL", "base dB",
           "enh dB", "gain", "gain%", "size+%", "base c", "base d", "enh c", "enh d", "c x", "d x");
    for (int fi = 0; fi < nfields; fi++) {
      const bfield *f = &fields[fi];
      size_t n;
      void *x = load(f, &n);
      if (!x) continue;
      for (int ri = 0; ri < nrels; ri++) {
        const double rel = rels[ri];
        result b = run_one(f, x, n, rel, 0, GWLZ_ENH_NONE);
        result rg[MAXG];
        for (int gi = 0; gi < ngroups; gi++) rg[gi] = run_one(f, x, n, rel, groups[gi], kind);
        const result *e = &rg[gmaxi];
        if (!b.ok || !e->ok) continue;
        double gain = e->psnr - b.psnr;
        gains[ngains++] = gain;
        printf("%-44s %7.0e %9.3f %9.3f %+7.3f %+6.2f%% %+6.2f%% %7.3f %7.3f %7.3f %7.3f %6.2f %6.2f\n",
               f->name, rel, b.psnr, e->psnr, gain, 100.0 * gain / b.psnr,
               100.0 * ((double)e->bytes / (double)b.bytes - 1.0), b.ctime, b.dtime, e->ctime,
               e->dtime, e->ctime / b.ctime, e->dtime / b.dtime);
        int w = snprintf(t3[nt3], sizeof t3[nt3], "%-44s %7.0e %9.3f", f->name, rel, b.psnr);
        for (int gi = 0; gi < ngroups && w < 480; gi++)
          w += snprintf(t3[nt3] + w, sizeof t3[nt3] - (size_t)w, " %9.3f", rg[gi].ok ? rg[gi].psnr : NAN);
        nt3++;
        fflush(stdout);
      }
      free(x);
    }
    printf("\nTable 3 (%s): PSNR (dB) by group count\n%-44s %7s %9s", kname, "field", "REL", "base");
    for (int gi = 0; gi < ngroups; gi++) printf("      G=%-2d", groups[gi]);
    printf("\n");
    for (int k = 0; k < nt3; k++) printf("%s\n", t3[k]);
    if (ngains) {
      qsort(gains, (size_t)ngains, sizeof(double), cmp_d);
      double med = ngains & 1 ? gains[ngains / 2] : 0.5 * (gains[ngains / 2 - 1] + gains[ngains / 2]);
      printf("median gain (%s, G = %d) over %d rows: %+.3f dB\n", kname, gmax, ngains, med);
    }
    free(gains);
  }
  return failures ? 1 : 0;
}
