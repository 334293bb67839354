/*
 * bench_base.c - the base compressor (no enhancer, one thread) on every shared
 * field at six relative bounds, beside SZ3's anchor figures.
 *
 *   bench_base [--data DIR] [--anchors DIR] [--cosmo DIR] [--quick] [--reps N] [--fast]
 *
 * DIR defaults: ../shared/data and ../shared/anchors (from the project root).
 * --cosmo DIR adds the 256^3 cosmology fields found in DIR (see run_bench.sh)
 * against anchors/cosmo256_baselines.tsv. Times are the best of --reps runs
 * (default 3) of the library calls alone; SZ3's anchor times are whole
 * commands (process start and file I/O included). --fast: GWLZ_SPEED_FAST.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gwlz.h"
/* The manifest reader and metrics are shared with the tests. */
#include "../tests/testutil.c"

#define NB 6
static const double rel_bounds[NB] = {1e-2, 5e-3, 1e-3, 5e-4, 1e-4, 1e-5};

typedef struct {
  char file[160];
  double rel, cr, psnr, comp_s, decomp_s;
} anchor;

static int g_fast = 0; /* --fast: GWLZ_SPEED_FAST */
static anchor *anchors = NULL;
static int nanchors = 0;

static double num_or_nan(const char *s) {
  char *end;
  double v = strtod(s, &end);
  return end == s ? NAN : v;
}

static int anchor_row(char **c, int nc, void *user) {
  (void)user;
  if (nc < 13 || strcmp(c[3], "sz3") != 0 || strlen(c[0]) >= sizeof anchors->file) return 1;
  anchor *na = realloc(anchors, (size_t)(nanchors + 1) * sizeof *anchors);
  if (!na) return 0;
  anchors = na;
  anchor *a = &anchors[nanchors++];
  snprintf(a->file, sizeof a->file, "%s", c[0]);
  a->rel = num_or_nan(c[4]);
  a->cr = num_or_nan(c[6]);
  a->psnr = num_or_nan(c[8]);
  a->comp_s = num_or_nan(c[11]);
  a->decomp_s = num_or_nan(c[12]);
  return 1;
}

/* Loads the SZ3 rows of an anchors table (appends to anchors). */
static void load_anchors(const char *path) {
  if (!tu_tsv_foreach(path, anchor_row, NULL))
    fprintf(stderr, "bench: SZ3 columns left empty\n");
}

static const anchor *find_anchor(const char *file, double rel) {
  for (int k = 0; k < nanchors; k++)
    if (strcmp(anchors[k].file, file) == 0 && fabs(anchors[k].rel - rel) <= 1e-9 * rel)
      return &anchors[k];
  return NULL;
}

typedef struct {
  double ratio, sz3_ratio, psnr, sz3_psnr;
  int bound_index, counted; /* counted: enters the medians */
} row;

static row *rows = NULL;
static int nrows = 0;

static void print_header(void) {
  printf("%-40s %7s %9s %9s %6s %8s %8s %7s %8s %8s %8s %8s\n", "field", "bound", "ratio",
         "SZ3", "r/SZ3", "PSNR", "SZ3PSNR", "err/eb", "comp", "decomp", "SZ3comp", "SZ3dec");
  printf("%-40s %7s %9s %9s %6s %8s %8s %7s %8s %8s %8s %8s\n", "", "", "", "ratio", "", "dB",
         "dB", "", "MB/s", "MB/s", "MB/s", "MB/s");
}

static void fmt_num(char *buf, size_t cap, const char *fmt, double v) {
  if (isnan(v)) snprintf(buf, cap, "-");
  else if (isinf(v)) snprintf(buf, cap, "inf");
  else snprintf(buf, cap, fmt, v);
}

/* Benchmarks one field at every bound; returns 0 when an error or a broken bound occurred. */
static int bench_field(const tu_field *f, int reps, int quick, int counted) {
  size_t size = 0;
  void *data = tu_read_file(f->path, &size);
  size_t raw = f->num_values * tu_type_size(f->type);
  if (!data || size != raw) {
    fprintf(stderr, "bench: %s: cannot read or wrong size\n", f->path);
    free(data);
    return 0;
  }
  int ok = 1;
  gwlz_ctx *ctx = gwlz_create();
  void *out = malloc(raw);
  for (int b = 0; b < NB && ctx && out; b++) {
    if (quick && b % 2 == 1) continue;
    gwlz_error e = gwlz_set_type(ctx, f->type);
    if (!e) e = gwlz_set_dims(ctx, f->ndims, f->dims);
    if (!e) e = gwlz_set_error_bound(ctx, GWLZ_EB_REL, 0, rel_bounds[b], 0);
    if (!e) e = f->has_fill ? gwlz_set_fill_value(ctx, f->fill) : gwlz_clear_fill_value(ctx);
    if (!e) e = gwlz_set_groups(ctx, 0);
    if (!e) e = gwlz_set_threads(ctx, 1);
    if (!e) e = gwlz_set_speed(ctx, g_fast ? GWLZ_SPEED_FAST : GWLZ_SPEED_DEFAULT);
    size_t cap = gwlz_compress_bound(ctx), ssize = 0;
    void *stream = cap ? malloc(cap) : NULL;
    if (!e && !stream) e = GWLZ_ERR_MEMORY;
    double best_c = INFINITY, best_d = INFINITY;
    for (int r = 0; r < reps && !e; r++) {
      double t0 = tu_now();
      e = gwlz_compress(ctx, data, stream, cap, &ssize);
      double t1 = tu_now();
      if (t1 - t0 < best_c) best_c = t1 - t0;
    }
    for (int r = 0; r < reps && !e; r++) {
      double t0 = tu_now();
      e = gwlz_decompress(ctx, stream, ssize, out, raw);
      double t1 = tu_now();
      if (t1 - t0 < best_d) best_d = t1 - t0;
    }
    gwlz_info info;
    if (!e) e = gwlz_get_info(stream, ssize, &info);
    free(stream);
    if (e) {
      printf("%-40s %7g  ERROR %s\n", f->file, rel_bounds[b], gwlz_error_string(e));
      ok = 0;
      continue;
    }
    tu_metrics m;
    tu_compare(data, out, f->num_values, f->type, f->has_fill, f->fill, info.abs_bound, &m);
    if (m.over_bound || m.special_bad) ok = 0;
    const anchor *a = find_anchor(f->file, rel_bounds[b]);
    double ratio = (double)raw / (double)ssize;
    double mb = (double)raw / 1e6;
    row rw = {ratio, a ? a->cr : NAN, m.psnr, a ? a->psnr : NAN, b, counted};
    row *nr = realloc(rows, (size_t)(nrows + 1) * sizeof *rows);
    if (nr) {
      rows = nr;
      rows[nrows++] = rw;
    }
    char s_sz3[32], s_rel[32], s_psnr[32], s_sz3p[32], s_c[32], s_d[32];
    fmt_num(s_sz3, sizeof s_sz3, "%.2f", rw.sz3_ratio);
    fmt_num(s_rel, sizeof s_rel, "%.3f", ratio / rw.sz3_ratio);
    fmt_num(s_psnr, sizeof s_psnr, "%.2f", m.psnr);
    fmt_num(s_sz3p, sizeof s_sz3p, "%.2f", rw.sz3_psnr);
    fmt_num(s_c, sizeof s_c, "%.1f", a ? mb / a->comp_s : NAN);
    fmt_num(s_d, sizeof s_d, "%.1f", a ? mb / a->decomp_s : NAN);
    printf("%-40s %7g %9.2f %9s %6s %8s %8s %7.4f %8.1f %8.1f %8s %8s%s\n", f->file,
           rel_bounds[b], ratio, s_sz3, s_rel, s_psnr, s_sz3p, m.max_err / info.abs_bound,
           mb / best_c, mb / best_d, s_c, s_d,
           m.over_bound || m.special_bad ? "  BOUND BROKEN" : "");
    fflush(stdout);
  }
  free(out);
  gwlz_free(ctx);
  free(data);
  return ok;
}

static void print_medians(const char *label) {
  static const int idx[] = {2, 4}; /* 1e-3 and 1e-4 */
  for (int k = 0; k < 2; k++) {
    double *r = malloc((size_t)(nrows + 1) * sizeof *r), *p = malloc((size_t)(nrows + 1) * sizeof *p);
    int nr = 0, np = 0;
    for (int i = 0; r && p && i < nrows; i++) {
      if (!rows[i].counted || rows[i].bound_index != idx[k]) continue;
      if (isfinite(rows[i].sz3_ratio)) r[nr++] = rows[i].ratio / rows[i].sz3_ratio;
      if (isfinite(rows[i].sz3_psnr) && isfinite(rows[i].psnr))
        p[np++] = rows[i].psnr - rows[i].sz3_psnr;
    }
    printf("%s median at %g: ratio/SZ3 %.3f (%d fields), PSNR - SZ3 %+.2f dB (%d fields)\n", label,
           rel_bounds[idx[k]], tu_median(r, nr), nr, tu_median(p, np), np);
    free(r);
    free(p);
  }
  free(rows);
  rows = NULL;
  nrows = 0;
}

/* Cosmology fields: the files named in the cosmology anchors, found in dir. */
static int bench_cosmo(const char *dir, int reps, int quick) {
  int ok = 1, found = 0;
  for (int k = 0; k < nanchors; k++) {
    if (strstr(anchors[k].file, "256x256x256") == NULL) continue;
    int seen = 0;
    for (int j = 0; j < k; j++) seen |= strcmp(anchors[j].file, anchors[k].file) == 0;
    if (seen) continue;
    tu_field f;
    memset(&f, 0, sizeof f);
    snprintf(f.file, sizeof f.file, "%s", anchors[k].file);
    int w = snprintf(f.path, sizeof f.path, "%s/%s", dir, anchors[k].file);
    if (w < 0 || (size_t)w >= sizeof f.path) continue;
    f.type = GWLZ_TYPE_FLOAT;
    f.ndims = 3;
    f.dims[0] = f.dims[1] = f.dims[2] = 256;
    f.num_values = (size_t)256 * 256 * 256;
    found++;
    ok &= bench_field(&f, reps, quick, 1);
  }
  if (!found) fprintf(stderr, "bench: no cosmology anchors loaded\n");
  return ok && found;
}

static void usage(void) {
  printf("usage: bench_base [--data DIR] [--anchors DIR] [--cosmo DIR] [--quick] [--reps N] "
         "[--fast]\n");
}

int main(int argc, char **argv) {
  const char *data = "../shared/data", *anchor_dir = NULL, *cosmo = NULL;
  int quick = 0, reps = 3;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
    else if (!strcmp(argv[i], "--anchors") && i + 1 < argc) anchor_dir = argv[++i];
    else if (!strcmp(argv[i], "--cosmo") && i + 1 < argc) cosmo = argv[++i];
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--fast")) g_fast = 1;
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage();
      return 0;
    } else {
      fprintf(stderr, "bench_base: unknown or incomplete option '%s'\n", argv[i]);
      usage();
      return 2;
    }
  }
  if (reps < 1) reps = 1;
  char adir[1024], apath[1100];
  if (!anchor_dir) {
    snprintf(adir, sizeof adir, "%s/../anchors", data);
    anchor_dir = adir;
  }
  tu_set_data_dir(data);
  snprintf(apath, sizeof apath, "%s/baselines.tsv", anchor_dir);
  load_anchors(apath);

  tu_field *fields = NULL;
  int n = tu_load_manifest(&fields);
  if (n == 0) return 1;
  printf("gwlz %s base compressor%s, 1 thread, best of %d; SZ3 times are whole commands\n",
         gwlz_version_string(), g_fast ? " (--fast)" : "", reps);
  print_header();
  int ok = 1;
  static const char *const quick_set[] = {
      "nyx_plane_temperature_64x512.f32", "sperr_wmag91_float_91x91x91.f32",
      "ferret_navywinds_u_132x73x144.f32", "nyxlya50_tau_real_50x50x50.f64",
      "astro_gc_bolocam_638x640.f32"};
  for (int k = 0; k < n; k++) {
    int take = !quick;
    for (size_t q = 0; !take && q < sizeof quick_set / sizeof quick_set[0]; q++)
      take = strcmp(fields[k].file, quick_set[q]) == 0;
    if (take) ok &= bench_field(&fields[k], reps, quick, fields[k].n_nonfinite == 0 && !fields[k].has_fill);
  }
  print_medians("shared fields without NaN/fill:");
  free(fields);

  if (cosmo) {
    snprintf(apath, sizeof apath, "%s/cosmo256_baselines.tsv", anchor_dir);
    load_anchors(apath);
    printf("\ncosmology 256^3 (%s)\n", cosmo);
    print_header();
    ok &= bench_cosmo(cosmo, reps, quick);
    print_medians("cosmology 256^3:");
  }
  free(anchors);
  if (!ok) printf("SOME RUNS FAILED OR BROKE THE BOUND\n");
  return ok ? 0 : 1;
}
