/* test_enhancer.c - the group-wise enhancer framework and the linear kind,
 * through the internal interface (enhancer.h):
 *  - strict policy: |x - y| <= eb on every value, several real fields and bounds
 *  - PSNR never below the base reconstruction
 *  - relaxed policy: |x - y| <= 2 eb
 *  - the decoder reproduces the compressor's output byte for byte
 *  - identical payloads and output with 1 and 2 threads
 *  - truncated / corrupted payloads are rejected without crashing
 *  - never worse: on pure noise every model is dropped
 * X' comes from a small error-bounded quantizer in this file (prediction by the
 * previous reconstructed value along the fastest axis, bins of 2 eb), so the
 * test does not depend on the state of the base compressor.
 * Standalone: main returns 0 when every check passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enhance/model.h"
#include "enhance/enhancer.h"

#ifndef GWLZ_SHARED_DATA
#define GWLZ_SHARED_DATA "../shared/data"
#endif

static int failures = 0;
#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      failures++;                                          \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fprintf(stderr, "\n");                               \
    }                                                      \
  } while (0)

typedef struct {
  const char *file;
  gwlz_type type;
  int ndims;
  size_t dims[4];
} field;

static void *load(const field *f, size_t *n_out) {
  char path[1024];
  size_t n = 1, es = f->type == GWLZ_TYPE_DOUBLE ? 8 : 4;
  for (int a = 0; a < f->ndims; a++) n *= f->dims[a];
  snprintf(path, sizeof path, "%s/%s", GWLZ_SHARED_DATA, f->file);
  FILE *fp = fopen(path, "rb");
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

static double ld(gwlz_type t, const void *p, size_t i) {
  return t == GWLZ_TYPE_DOUBLE ? ((const double *)p)[i] : (double)((const float *)p)[i];
}
static void st(gwlz_type t, void *p, size_t i, double v) {
  if (t == GWLZ_TYPE_DOUBLE)
    ((double *)p)[i] = v;
  else
    ((float *)p)[i] = (float)v;
}

/* previous-value predictor along the fastest axis, bins of 2 eb */
static void quantize(gwlz_type t, const void *x, void *xr, size_t n, size_t nx, double eb) {
  for (size_t i = 0; i < n; i++) {
    double pred = (i % nx) ? ld(t, xr, i - 1) : 0.0;
    double v = ld(t, x, i);
    double q = floor((v - pred) / (2 * eb) + 0.5);
    st(t, xr, i, pred + 2 * eb * q);
    if (!(fabs(v - ld(t, xr, i)) <= eb)) st(t, xr, i, v);
  }
}

static void range_of(gwlz_type t, const void *x, size_t n, double *mn, double *mx) {
  *mn = *mx = ld(t, x, 0);
  for (size_t i = 1; i < n; i++) {
    double v = ld(t, x, i);
    if (v < *mn) *mn = v;
    if (v > *mx) *mx = v;
  }
}

static double sse(gwlz_type t, const void *a, const void *b, size_t n, double *maxerr) {
  double s = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = ld(t, a, i) - ld(t, b, i);
    s += d * d;
    if (fabs(d) > m) m = fabs(d);
  }
  *maxerr = m;
  return s;
}

static void set_params(gwlz_enh_params *p, const field *f, size_t n, double eb, int groups,
                       int threads, gwlz_bound_policy pol) {
  memset(p, 0, sizeof(*p));
  p->type = f->type;
  p->ndims = f->ndims;
  memcpy(p->dims, f->dims, sizeof(f->dims));
  p->n = n;
  p->abs_eb = eb;
  p->groups = groups;
  p->kind = GWLZ_ENH_LINEAR;
  p->arch = GWLZ_ARCH_DEFAULT;
  p->threads = threads;
  p->seed = 1;
  p->policy = pol;
}

typedef struct {
  gwlz_wbuf m, e;
  void *y;
  gwlz_enh_stats s;
} run_out;

static gwlz_error run(const gwlz_enh_params *p, const void *x, const void *xr, run_out *o) {
  gwlz_wbuf_init(&o->m);
  gwlz_wbuf_init(&o->e);
  o->y = malloc(p->n * (p->type == GWLZ_TYPE_DOUBLE ? 8 : 4));
  return gwlz_enh_compress(p, x, xr, o->y, &o->m, &o->e, &o->s);
}
static void run_free(run_out *o) {
  gwlz_wbuf_free(&o->m);
  gwlz_wbuf_free(&o->e);
  free(o->y);
}

/* decoder on the payloads: must equal y exactly */
static int decode_equal(const gwlz_enh_params *p, const void *xr, const run_out *o) {
  size_t bytes = p->n * (p->type == GWLZ_TYPE_DOUBLE ? 8 : 4);
  void *z = malloc(bytes);
  memcpy(z, xr, bytes);
  gwlz_error e = gwlz_enh_decompress(p, o->m.data, o->m.size, o->e.data, o->e.size, z);
  int ok = e == GWLZ_OK && memcmp(z, o->y, bytes) == 0;
  free(z);
  return ok;
}

/* Every truncation and a set of byte corruptions of each payload: never a
 * crash; truncations must be rejected. */
static void abuse(const gwlz_enh_params *p, const void *xr, const run_out *o) {
  size_t bytes = p->n * (p->type == GWLZ_TYPE_DOUBLE ? 8 : 4);
  if (o->m.size == 0) return;
  void *z = malloc(bytes);
  uint64_t rng = 12345;
  size_t step = o->m.size > 80 ? o->m.size / 40 : 1;
  for (size_t len = 1; len < o->m.size; len += step) {
    memcpy(z, xr, bytes);
    gwlz_error e = gwlz_enh_decompress(p, o->m.data, len, o->e.data, o->e.size, z);
    CHECK(e != GWLZ_OK, "models truncated to %zu of %zu accepted", len, o->m.size);
  }
  step = o->e.size > 40 ? o->e.size / 20 : 1;
  for (size_t len = 1; len < o->e.size; len += step) {
    memcpy(z, xr, bytes);
    gwlz_error e = gwlz_enh_decompress(p, o->m.data, o->m.size, o->e.data, len, z);
    CHECK(e != GWLZ_OK, "exceptions truncated to %zu of %zu accepted", len, o->e.size);
  }
  uint8_t *mc = (uint8_t *)malloc(o->m.size + 1), *ec = (uint8_t *)malloc(o->e.size + 1);
  for (int trial = 0; trial < 60; trial++) {
    memcpy(mc, o->m.data, o->m.size);
    if (o->e.size) memcpy(ec, o->e.data, o->e.size);
    int which = (int)(gwlz_rng_next(&rng) % 2);
    uint8_t *buf = which && o->e.size ? ec : mc;
    size_t sz = which && o->e.size ? o->e.size : o->m.size;
    /* corrupt mostly the header region where structure lives */
    size_t at = (size_t)(gwlz_rng_next(&rng) % (trial < 40 && sz > 64 ? 64 : sz));
    buf[at] ^= (uint8_t)(1u << (gwlz_rng_next(&rng) % 8));
    memcpy(z, xr, bytes);
    gwlz_error e = gwlz_enh_decompress(p, mc, o->m.size, o->e.size ? ec : NULL, o->e.size, z);
    (void)e; /* any result but a crash is fine */
  }
  /* exceptions with no models, and relaxed policy with an exception list */
  memcpy(z, xr, bytes);
  if (o->e.size) {
    CHECK(gwlz_enh_decompress(p, NULL, 0, o->e.data, o->e.size, z) != GWLZ_OK,
          "exceptions without models accepted");
    gwlz_enh_params q = *p;
    q.policy = GWLZ_BOUND_RELAXED;
    CHECK(gwlz_enh_decompress(&q, o->m.data, o->m.size, o->e.data, o->e.size, z) != GWLZ_OK,
          "relaxed stream with exceptions accepted");
  }
  /* trailing garbage */
  if (o->m.size) {
    uint8_t *big = (uint8_t *)malloc(o->m.size + 1);
    memcpy(big, o->m.data, o->m.size);
    big[o->m.size] = 0;
    CHECK(gwlz_enh_decompress(p, big, o->m.size + 1, o->e.data, o->e.size, z) != GWLZ_OK,
          "trailing byte accepted");
    free(big);
  }
  free(mc);
  free(ec);
  free(z);
}

static void test_field(const field *f, int full) {
  size_t n;
  void *x = load(f, &n);
  if (!x) {
    fprintf(stderr, "skip %s (not found under %s)\n", f->file, GWLZ_SHARED_DATA);
    return;
  }
  size_t es = f->type == GWLZ_TYPE_DOUBLE ? 8 : 4;
  void *xr = malloc(n * es);
  double mn, mx;
  range_of(f->type, x, n, &mn, &mx);
  const double rels[3] = {5e-3, 1e-3, 1e-4};
  for (int ri = 0; ri < 3; ri++) {
    double eb = rels[ri] * (mx - mn);
    quantize(f->type, x, xr, n, f->dims[f->ndims - 1], eb);
    double me0, me1;
    double s0 = sse(f->type, x, xr, n, &me0);
    gwlz_enh_params p;
    run_out a, b;
    set_params(&p, f, n, eb, 20, 2, GWLZ_BOUND_STRICT);
    CHECK(run(&p, x, xr, &a) == GWLZ_OK, "%s compress", f->file);
    double s1 = sse(f->type, x, a.y, n, &me1);
    CHECK(me1 <= eb, "%s rel %g: strict bound broken: %g > %g", f->file, rels[ri], me1, eb);
    CHECK(s1 <= s0, "%s rel %g: worse than base (%g > %g)", f->file, rels[ri], s1, s0);
    CHECK(decode_equal(&p, xr, &a), "%s rel %g: decoder differs", f->file, rels[ri]);
    CHECK((a.m.size == 0) == (a.s.groups_kept == 0), "%s: kept groups vs payload", f->file);
    CHECK(a.e.size == 0 || a.m.size > 0, "%s: exceptions without models", f->file);
    if (a.m.size) {
      gwlz_enhancer k;
      int gk;
      CHECK(gwlz_enh_peek(a.m.data, a.m.size, &k, &gk) == GWLZ_OK && k == GWLZ_ENH_LINEAR &&
                gk == a.s.groups_kept,
            "%s: peek", f->file);
    }
    printf("%-40s rel %-6g psnr gain %+6.2f dB  kept %2d  model %6zu B  exc %7zu (%zu B)\n", f->file,
           rels[ri], 10 * log10(s0 / (s1 > 0 ? s1 : 1e-300)), a.s.groups_kept, a.s.model_bytes,
           a.s.exceptions, a.s.exception_bytes);
    if (full && ri == 1) {
      /* thread independence */
      set_params(&p, f, n, eb, 20, 1, GWLZ_BOUND_STRICT);
      CHECK(run(&p, x, xr, &b) == GWLZ_OK, "%s compress 1 thread", f->file);
      CHECK(a.m.size == b.m.size && (a.m.size == 0 || !memcmp(a.m.data, b.m.data, a.m.size)),
            "%s: models differ between 1 and 2 threads", f->file);
      CHECK(a.e.size == b.e.size && (a.e.size == 0 || !memcmp(a.e.data, b.e.data, a.e.size)),
            "%s: exceptions differ between 1 and 2 threads", f->file);
      CHECK(!memcmp(a.y, b.y, n * es), "%s: output differs between 1 and 2 threads", f->file);
      CHECK(decode_equal(&p, xr, &a), "%s: 1-thread decoder differs", f->file);
      run_free(&b);
      /* relaxed policy */
      set_params(&p, f, n, eb, 20, 2, GWLZ_BOUND_RELAXED);
      CHECK(run(&p, x, xr, &b) == GWLZ_OK, "%s compress relaxed", f->file);
      double s2 = sse(f->type, x, b.y, n, &me1);
      CHECK(me1 <= 2 * eb, "%s relaxed: %g > 2 eb", f->file, me1);
      CHECK(s2 <= s0, "%s relaxed: worse than base", f->file);
      CHECK(b.e.size == 0, "%s relaxed: exception list", f->file);
      CHECK(decode_equal(&p, xr, &b), "%s relaxed: decoder differs", f->file);
      run_free(&b);
      /* plain reference architecture and fp-exact decode */
      set_params(&p, f, n, eb, 5, 2, GWLZ_BOUND_STRICT);
      p.arch = (gwlz_arch)GWLZ_LIN_ARCH_PLAIN;
      CHECK(run(&p, x, xr, &b) == GWLZ_OK, "%s compress plain", f->file);
      CHECK(decode_equal(&p, xr, &b), "%s plain: decoder differs", f->file);
      run_free(&b);
      /* damaged payloads */
      set_params(&p, f, n, eb, 20, 2, GWLZ_BOUND_STRICT);
      abuse(&p, xr, &a);
    }
    run_free(&a);
  }
  free(x);
  free(xr);
}

/* special cells are never changed and never listed */
static void test_mask(void) {
  const size_t nz = 20, ny = 30, nx = 40, n = nz * ny * nx;
  float *x = (float *)malloc(n * 4), *xr = (float *)malloc(n * 4);
  uint8_t *mask = (uint8_t *)calloc(n, 1);
  for (size_t i = 0; i < n; i++) {
    size_t a = i / (ny * nx), b = (i / nx) % ny, c = i % nx;
    x[i] = (float)(sin(0.3 * (double)a) + cos(0.2 * (double)b) * sin(0.15 * (double)c));
    if (i % 97 == 0) mask[i] = 1;
  }
  field f = {"synthetic", GWLZ_TYPE_FLOAT, 3, {nz, ny, nx, 0}};
  double eb = 1e-2;
  quantize(GWLZ_TYPE_FLOAT, x, xr, n, nx, eb);
  gwlz_enh_params p;
  run_out a;
  set_params(&p, &f, n, eb, 2, 2, GWLZ_BOUND_STRICT);
  p.arch = (gwlz_arch)GWLZ_LIN_ARCH_PLAIN;
  p.mask = mask;
  CHECK(run(&p, x, xr, &a) == GWLZ_OK, "mask compress");
  int changed = 0;
  for (size_t i = 0; i < n; i++)
    if (mask[i] && memcmp(&((float *)a.y)[i], &xr[i], 4)) changed++;
  CHECK(changed == 0, "special cells changed: %d", changed);
  CHECK(a.s.groups_kept > 0, "smooth synthetic field: no model kept");
  CHECK(decode_equal(&p, xr, &a), "mask: decoder differs");
  /* a singleton dimension and 4-D geometry decode consistently */
  field f4 = {"synthetic4", GWLZ_TYPE_FLOAT, 4, {2, 10, 1, 1200}};
  gwlz_enh_params p4;
  run_out b;
  set_params(&p4, &f4, n, eb, 3, 2, GWLZ_BOUND_STRICT);
  CHECK(run(&p4, x, xr, &b) == GWLZ_OK, "4d compress");
  CHECK(decode_equal(&p4, xr, &b), "4d: decoder differs");
  run_free(&b);
  run_free(&a);
  free(x);
  free(xr);
  free(mask);
}

/* pure noise: nothing to learn, every model is dropped */
static void test_noise(void) {
  const size_t nz = 40, ny = 40, nx = 40, n = nz * ny * nx;
  float *x = (float *)malloc(n * 4), *xr = (float *)malloc(n * 4);
  uint64_t rng = 7;
  for (size_t i = 0; i < n; i++) x[i] = (float)gwlz_rng_uniform(&rng);
  field f = {"noise", GWLZ_TYPE_FLOAT, 3, {nz, ny, nx, 0}};
  double eb = 1e-2, me;
  /* X' = X plus independent uniform noise within the bound */
  for (size_t i = 0; i < n; i++) {
    xr[i] = (float)((double)x[i] + eb * (2.0 * gwlz_rng_uniform(&rng) - 1.0) * 0.999);
  }
  gwlz_enh_params p;
  run_out a;
  set_params(&p, &f, n, eb, 20, 2, GWLZ_BOUND_STRICT);
  CHECK(run(&p, x, xr, &a) == GWLZ_OK, "noise compress");
  CHECK(a.s.groups_kept == 0 && a.m.size == 0 && a.e.size == 0,
        "noise: %d groups kept, %zu + %zu bytes", a.s.groups_kept, a.m.size, a.e.size);
  CHECK(sse(GWLZ_TYPE_FLOAT, x, a.y, n, &me) <= sse(GWLZ_TYPE_FLOAT, x, xr, n, &me),
        "noise: worse than base");
  CHECK(decode_equal(&p, xr, &a), "noise: decoder differs");
  run_free(&a);
  /* bad parameters */
  set_params(&p, &f, n, 0.0, 20, 2, GWLZ_BOUND_STRICT);
  CHECK(run(&p, x, xr, &a) != GWLZ_OK, "eb 0 accepted");
  run_free(&a);
  set_params(&p, &f, n, eb, 0, 2, GWLZ_BOUND_STRICT);
  CHECK(run(&p, x, xr, &a) != GWLZ_OK, "0 groups accepted");
  run_free(&a);
  free(x);
  free(xr);
}

int main(void) {
  static const field fields[] = {
      {"vtk_chi_s3d_50x50x50.f32", GWLZ_TYPE_FLOAT, 3, {50, 50, 50, 0}},
      {"nyx_plane_temperature_64x512.f32", GWLZ_TYPE_FLOAT, 2, {64, 512, 0, 0}},
      {"nyxlya50_tau_real_50x50x50.f64", GWLZ_TYPE_DOUBLE, 3, {50, 50, 50, 0}},
      {"vtk_combq_density_25x33x57.f32", GWLZ_TYPE_FLOAT, 3, {25, 33, 57, 0}},
      {"sz3_testfloat_8x8x128.f32", GWLZ_TYPE_FLOAT, 3, {8, 8, 128, 0}},
  };
  for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) test_field(&fields[k], k < 3);
  test_mask();
  test_noise();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("test_enhancer: all checks passed\n");
  return 0;
}
