/* bench_enhance.c - the group-wise enhancer on top of the base compressor, laid
 * out like the GWLZ paper's Tables 2 and 3: for each field and relative bound,
 * the base PSNR, the enhanced PSNR for several group counts, the size overhead
 * ((model + exception bytes) / base payload bytes), the exception count, and
 * the training and decoding (enhancer only) times.
 *
 * It drives the internal modules directly (base.h, special.h, enhancer.h) so
 * that the enhancer kind, architecture and group count can be chosen freely
 * and the base runs once per bound. Every enhanced result is decoded again
 * with gwlz_enh_decompress and compared byte for byte; the bound is checked
 * (strict: |x - y| <= eb; relaxed: <= 2 eb).
 *
 *   bench_enhance [--data DIR] [--cosmo DIR] [--no-shared] [--no-cosmo]
 *                 [--fields SUBSTR[,SUBSTR...]] [--rel 5e-3,1e-3,...]
 *                 [--groups 1,5,10,20] [--kind linear|cnn|both]
 *                 [--arch N] [--threads N] [--relaxed] [--quick]
 *
 * --quick: 256^3 temperature and dark matter density only, REL 5e-3 and 1e-3.
 * Exit status 1 if a bound is broken or a decode differs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "enh_model.h"
#include "enhancer.h"
#include "special.h"

#ifndef GWLZ_BENCH_DATA_DEFAULT
#define GWLZ_BENCH_DATA_DEFAULT "../shared/data"
#endif
#define MAXG 16
#define MAXR 16

typedef struct {
  char name[256];
  char path[1024];
  gwlz_type type;
  int ndims;
  size_t dims[4];
  int has_fill;
  double fill;
} bfield;

static int nfields = 0;
static bfield fields[128];
static double rels[MAXR] = {5e-3, 1e-3, 5e-4, 1e-4, 1e-5};
static int nrels = 5;
static int groups[MAXG] = {1, 5, 10, 20};
static int ngroups = 4;
static const char *filters[32];
static int nfilters = 0;
static int threads = 2, arch = 0, relaxed = 0, failures = 0;

static double ld(gwlz_type t, const void *p, size_t i) {
  return t == GWLZ_TYPE_DOUBLE ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

static int wanted(const char *name) {
  if (nfilters == 0) return 1;
  for (int k = 0; k < nfilters; k++)
    if (strstr(name, filters[k])) return 1;
  return 0;
}

static void add_field(const char *name, const char *path, gwlz_type t, int nd, const size_t *dims,
                      int has_fill, double fill) {
  if (nfields >= 128 || !wanted(name)) return;
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
      if (*d == 'x') d++;
      else break;
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
    s = *e == ',' ? e + 1 : e;
    if (e == s && *s) break;
  }
  return n;
}

static int parse_list_i(const char *s, int *out, int max) {
  int n = 0;
  while (*s && n < max) {
    char *e;
    out[n++] = (int)strtol(s, &e, 10);
    s = *e == ',' ? e + 1 : e;
    if (e == s && *s) break;
  }
  return n;
}

static double psnr_of(gwlz_type t, const void *x, const void *y, const uint8_t *mask, size_t n,
                      double range, double eb, double *maxe_eb) {
  double s = 0, m = 0;
  size_t cnt = 0;
  for (size_t i = 0; i < n; i++) {
    if (mask && mask[i]) continue;
    double d = ld(t, x, i) - ld(t, y, i);
    s += d * d;
    if (fabs(d) > m) m = fabs(d);
    cnt++;
  }
  *maxe_eb = m / eb;
  if (s == 0 || cnt == 0) return INFINITY;
  return 20 * log10(range) - 10 * log10(s / (double)cnt);
}

static void bench_field(const bfield *f, int kind) {
  size_t n = 1, es = f->type == GWLZ_TYPE_DOUBLE ? 8 : 4;
  for (int a = 0; a < f->ndims; a++) n *= f->dims[a];
  void *x = malloc(n * es), *work = malloc(n * es), *xr = malloc(n * es), *y = malloc(n * es),
       *z = malloc(n * es);
  uint8_t *mask = (uint8_t *)calloc(n, 1);
  FILE *fp = fopen(f->path, "rb");
  if (!x || !work || !xr || !y || !z || !mask || !fp || fread(x, es, n, fp) != n) {
    fprintf(stderr, "cannot read %s\n", f->path);
    if (fp) fclose(fp);
    free(x), free(work), free(xr), free(y), free(z), free(mask);
    return;
  }
  fclose(fp);
  gwlz_special_scan sc;
  gwlz_special_scan_data(f->type, x, n, f->has_fill, f->fill, &sc);
  const void *src = x;
  const uint8_t *m = NULL;
  if (sc.count) {
    gwlz_wbuf sp;
    gwlz_wbuf_init(&sp);
    if (gwlz_special_encode(f->type, x, n, f->has_fill, f->fill, work, mask, &sp) != GWLZ_OK) {
      fprintf(stderr, "special encode failed for %s\n", f->name);
      gwlz_wbuf_free(&sp);
      goto out;
    }
    gwlz_wbuf_free(&sp);
    src = work;
    m = mask;
  }
  double range = sc.max - sc.min;
  printf("\n%s (%s, %zu values%s) enhancer %s\n", f->name, f->type == GWLZ_TYPE_DOUBLE ? "f64" : "f32",
         n, sc.count ? ", with special cells" : "", kind == GWLZ_ENH_CNN ? "cnn" : "linear");
  printf("%-7s %7s", "REB", "base");
  for (int k = 0; k < ngroups; k++) printf("  G%-3d  ", groups[k]);
  printf(" %7s %8s %9s %8s %7s %7s %7s\n", "gain", "ovh", "base B", "enh B", "exc", "train", "dec");
  for (int ri = 0; ri < nrels; ri++) {
    double eb = rels[ri] * range;
    if (!(eb > 0)) continue;
    gwlz_base_params bp;
    memset(&bp, 0, sizeof bp);
    bp.type = f->type;
    bp.ndims = f->ndims;
    memcpy(bp.dims, f->dims, sizeof bp.dims);
    bp.n = n;
    bp.abs_eb = eb;
    gwlz_wbuf bw;
    gwlz_wbuf_init(&bw);
    gwlz_base_info bi;
    if (gwlz_base_compress(&bp, src, xr, &bw, &bi) != GWLZ_OK) {
      fprintf(stderr, "base failed on %s\n", f->name);
      gwlz_wbuf_free(&bw);
      continue;
    }
    size_t base_bytes = bw.size;
    gwlz_wbuf_free(&bw);
    double me;
    double p0 = psnr_of(f->type, src, xr, m, n, range, eb, &me);
    printf("%-7.0e %7.2f", rels[ri], p0);
    double last_p = p0, last_ovh = 0, last_train = 0, last_dec = 0;
    size_t last_exc = 0, last_bytes = 0;
    for (int gi = 0; gi < ngroups; gi++) {
      gwlz_enh_params p;
      memset(&p, 0, sizeof p);
      p.type = f->type;
      p.ndims = f->ndims;
      memcpy(p.dims, f->dims, sizeof p.dims);
      p.n = n;
      p.abs_eb = eb;
      p.groups = groups[gi];
      p.kind = (gwlz_enhancer)kind;
      p.arch = (gwlz_arch)arch;
      p.threads = threads;
      p.seed = 1;
      p.policy = relaxed ? GWLZ_BOUND_RELAXED : GWLZ_BOUND_STRICT;
      p.mask = m;
      gwlz_wbuf mb, xb;
      gwlz_wbuf_init(&mb);
      gwlz_wbuf_init(&xb);
      gwlz_enh_stats st;
      gwlz_error e = gwlz_enh_compress(&p, src, xr, y, &mb, &xb, &st);
      if (e != GWLZ_OK) {
        printf("  err%-3d ", (int)e);
        gwlz_wbuf_free(&mb);
        gwlz_wbuf_free(&xb);
        continue;
      }
      memcpy(z, xr, n * es);
      double t0 = gwlz_now();
      gwlz_error de = gwlz_enh_decompress(&p, mb.data, mb.size, xb.data, xb.size, z);
      double td = gwlz_now() - t0;
      double p1 = psnr_of(f->type, src, y, m, n, range, eb, &me);
      int bad = de != GWLZ_OK || memcmp(z, y, n * es) != 0 || me > (relaxed ? 2.0 : 1.0);
      if (bad) failures++;
      printf(" %7.2f%s", p1, bad ? "!" : " ");
      last_p = p1;
      last_bytes = mb.size + xb.size;
      last_ovh = base_bytes ? (double)last_bytes / (double)base_bytes : 0;
      last_exc = st.exceptions;
      last_train = st.train_seconds + st.enhance_seconds;
      last_dec = td;
      gwlz_wbuf_free(&mb);
      gwlz_wbuf_free(&xb);
      fflush(stdout);
    }
    printf(" %+7.2f %8.4f %9zu %8zu %7zu %7.2f %7.2f\n", last_p - p0, last_ovh, base_bytes,
           last_bytes, last_exc, last_train, last_dec);
  }
out:
  free(x), free(work), free(xr), free(y), free(z), free(mask);
}

int main(int argc, char **argv) {
  const char *data = GWLZ_BENCH_DATA_DEFAULT, *cosmo = NULL;
  int shared = 1, use_cosmo = 1, quick = 0, kinds = 1; /* 1 linear, 2 cnn, 3 both */
  char cosmo_default[1024];
  const char *home = getenv("GWLZ_CACHE");
  if (home)
    snprintf(cosmo_default, sizeof cosmo_default, "%s/cosmo256", home);
  else
    snprintf(cosmo_default, sizeof cosmo_default, "/work/cache/cosmo256");
  cosmo = cosmo_default;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "--data")) data = v, i++;
    else if (!strcmp(a, "--cosmo")) cosmo = v, i++;
    else if (!strcmp(a, "--no-shared")) shared = 0;
    else if (!strcmp(a, "--no-cosmo")) use_cosmo = 0;
    else if (!strcmp(a, "--quick")) quick = 1;
    else if (!strcmp(a, "--relaxed")) relaxed = 1;
    else if (!strcmp(a, "--threads")) threads = atoi(v), i++;
    else if (!strcmp(a, "--arch")) arch = atoi(v), i++;
    else if (!strcmp(a, "--rel")) nrels = parse_list_d(v, rels, MAXR), i++;
    else if (!strcmp(a, "--groups")) ngroups = parse_list_i(v, groups, MAXG), i++;
    else if (!strcmp(a, "--kind")) {
      kinds = !strcmp(v, "cnn") ? 2 : (!strcmp(v, "both") ? 3 : 1);
      i++;
    } else if (!strcmp(a, "--fields")) {
      static char buf[4096];
      snprintf(buf, sizeof buf, "%s", v);
      for (char *s = strtok(buf, ","); s && nfilters < 32; s = strtok(NULL, ",")) filters[nfilters++] = s;
      i++;
    } else {
      fprintf(stderr, "usage: %s [--data DIR] [--cosmo DIR] [--no-shared] [--no-cosmo] [--fields S,..]\n"
                      "  [--rel R,..] [--groups G,..] [--kind linear|cnn|both] [--arch N] [--threads N]\n"
                      "  [--relaxed] [--quick]\n", argv[0]);
      return 2;
    }
  }
  if (threads < 1) threads = 1;
  if (quick) {
    shared = 0;
    nrels = 2;
    rels[0] = 5e-3;
    rels[1] = 1e-3;
    if (nfilters == 0) {
      filters[nfilters++] = "temperature_256";
      filters[nfilters++] = "dark_matter_density_256";
    }
  }
  if (shared) read_manifest(data);
  if (use_cosmo) {
    static const char *cf[3] = {"temperature", "dark_matter_density", "velocity_x"};
    for (int k = 0; k < 3; k++) {
      char name[128], path[2048];
      size_t dims[3] = {256, 256, 256};
      snprintf(name, sizeof name, "%s_256x256x256.f32", cf[k]);
      snprintf(path, sizeof path, "%s/%s", cosmo, name);
      FILE *fp = fopen(path, "rb");
      if (!fp) continue;
      fclose(fp);
      add_field(name, path, GWLZ_TYPE_FLOAT, 3, dims, 0, 0.0);
    }
  }
  printf("bench_enhance: %s bound, threads %d, arch %d; PSNR in dB; gain/ovh/bytes/exc/times for G=%d;\n"
         "ovh = (model + exception bytes) / base payload bytes; train = training + inference + exception "
         "search (s); dec = enhancer decoding (s)\n",
         relaxed ? "relaxed" : "strict", threads, arch, groups[ngroups - 1]);
  for (int k = 0; k < nfields; k++) {
    if (kinds & 1) bench_field(&fields[k], GWLZ_ENH_LINEAR);
    if (kinds & 2) bench_field(&fields[k], GWLZ_ENH_CNN);
  }
  if (failures) printf("\n%d run(s) broke the bound or decoded differently\n", failures);
  return failures ? 1 : 0;
}
