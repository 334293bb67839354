/* test_base.c - the base compressor: the bound on every value for generated
 * edge cases and shared fields, decoder == compressor reconstruction bit for
 * bit, and damaged payloads rejected without crashing. (Mode 6 schedules
 * one by one: test_interp2.c.) */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static int failures = 0;
static int seen_pred[GWLZ_BASE_NMODES];

#define CHECK(cond, ...)                   \
  do {                                     \
    if (!(cond)) {                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);        \
      fprintf(stderr, "\n");               \
      failures++;                          \
    }                                      \
  } while (0)

static double getv(const void *a, size_t i, gwlz_type t) {
  return t == GWLZ_TYPE_DOUBLE ? ((const double *)a)[i] : (double)((const float *)a)[i];
}

static uint64_t rng_state = 12345;
static double urand(void) { return gwlz_rng_uniform(&rng_state); }

/* Compress, check the bound and the decoder; optionally damage the payload.
 * Returns the payload size (0 on failure). */
static size_t roundtrip(const char *name, gwlz_type type, int ndims, const size_t *dims,
                        const void *data, double eb, int damage) {
  gwlz_base_params p;
  memset(&p, 0, sizeof p);
  p.type = type;
  p.ndims = ndims;
  p.n = 1;
  for (int i = 0; i < ndims; i++) {
    p.dims[i] = dims[i];
    p.n *= dims[i];
  }
  p.abs_eb = eb;
  size_t ts = gwlz_type_size(type), bytes = p.n * ts;
  void *rec = malloc(bytes), *dec = malloc(bytes);
  uint8_t *aux = (uint8_t *)malloc(p.n), *aux2 = (uint8_t *)malloc(p.n);
  memset(aux, 0x11, p.n);
  memset(aux2, 0x22, p.n);
  /* NaN patterns: a value the predictors never visit cannot pass the checks */
  memset(rec, 0xff, bytes);
  memset(dec, 0xff, bytes);
  gwlz_wbuf out;
  gwlz_base_info info;
  gwlz_wbuf_init(&out);
  size_t sz = 0;
  gwlz_error e = gwlz_base_compress(&p, GWLZ_BASE_INTERP, data, rec, aux, &out, &info);
  CHECK(e == GWLZ_OK, "%s: compress error %d", name, (int)e);
  if (e != GWLZ_OK) goto done;
  size_t bad = 0;
  for (size_t i = 0; i < p.n; i++) {
    double x = getv(data, i, type), r = getv(rec, i, type);
    if (!(fabs(x - r) <= eb)) bad++;
  }
  if (info.mode >= 0 && info.mode < GWLZ_BASE_NMODES) seen_pred[info.mode]++;
  CHECK(bad == 0, "%s: bound broken at %zu of %zu values (eb %g)", name, bad, p.n, eb);
  e = gwlz_base_decompress(&p, out.data, out.size, dec, aux2);
  CHECK(e == GWLZ_OK, "%s: decompress error %d", name, (int)e);
  CHECK(e != GWLZ_OK || memcmp(rec, dec, bytes) == 0, "%s: decoder differs from compressor", name);
  CHECK(e != GWLZ_OK || memcmp(aux, aux2, p.n) == 0, "%s: decoder side information differs", name);
  sz = e == GWLZ_OK ? out.size : 0;
  if (damage) {
    uint8_t *cp = (uint8_t *)malloc(out.size);
    /* truncations: every length for short payloads, a spread otherwise */
    size_t step = out.size > 600 ? out.size / 300 : 1;
    for (size_t len = 0; len < out.size; len += step) {
      memcpy(cp, out.data, len);
      e = gwlz_base_decompress(&p, cp, len, dec, NULL);
      CHECK(e != GWLZ_OK, "%s: truncated payload (%zu of %zu) accepted", name, len, out.size);
    }
    /* bit flips: must not crash (an error or some output are both fine) */
    for (int k = 0; k < 1500; k++) {
      memcpy(cp, out.data, out.size);
      size_t pos = (size_t)(urand() * (double)out.size);
      if (pos >= out.size) pos = out.size - 1;
      cp[pos] ^= (uint8_t)(1u << (int)(urand() * 8));
      if (k & 1) cp[(size_t)(urand() * (double)(out.size < 40 ? out.size : 40)) % out.size] ^= 0xff;
      (void)gwlz_base_decompress(&p, cp, out.size, dec, aux2);
    }
    /* trailing garbage */
    uint8_t *big = (uint8_t *)malloc(out.size + 3);
    memcpy(big, out.data, out.size);
    memset(big + out.size, 0xAB, 3);
    e = gwlz_base_decompress(&p, big, out.size + 3, dec, NULL);
    CHECK(e != GWLZ_OK, "%s: trailing bytes accepted", name);
    free(big);
    free(cp);
  }
done:
  gwlz_wbuf_free(&out);
  free(rec);
  free(dec);
  free(aux);
  free(aux2);
  return sz;
}

static double range_of(const void *a, size_t n, gwlz_type t) {
  double mn = INFINITY, mx = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    double v = getv(a, i, t);
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  return mx - mn;
}

typedef double (*genf)(size_t i, const size_t *c);

static void *make(gwlz_type t, int nd, const size_t *dims, genf g, size_t *n_out) {
  size_t n = 1;
  for (int i = 0; i < nd; i++) n *= dims[i];
  void *a = malloc(n * gwlz_type_size(t));
  size_t c[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    size_t r = i;
    for (int d = nd - 1; d >= 0; d--) {
      c[d] = r % dims[d];
      r /= dims[d];
    }
    double v = g(i, c);
    if (t == GWLZ_TYPE_DOUBLE)
      ((double *)a)[i] = v;
    else
      ((float *)a)[i] = (float)v;
  }
  *n_out = n;
  return a;
}

static double g_const(size_t i, const size_t *c) { (void)i; (void)c; return 3.25; }
static double g_ramp(size_t i, const size_t *c) { (void)c; return 0.5 * (double)i - 7.0; }
static double g_smooth(size_t i, const size_t *c) {
  (void)i;
  return sin(0.3 * (double)c[0]) + cos(0.2 * (double)c[1]) * sin(0.17 * (double)c[2] + 0.1 * (double)c[3]) + 0.01 * urand();
}
static double g_noise(size_t i, const size_t *c) { (void)i; (void)c; return urand() * 2.0 - 1.0; }
static double g_denorm(size_t i, const size_t *c) { return g_smooth(i, c) * 1e-39; }
static double g_huge(size_t i, const size_t *c) { return g_smooth(i, c) * 1e30; }
static double g_vhuge(size_t i, const size_t *c) { return g_smooth(i, c) * 1e300; }
static double g_mixed(size_t i, const size_t *c) {
  double v = g_smooth(i, c);
  if (i % 97 == 5) v = 1e30;
  if (i % 101 == 7) v = -3e29;
  return v;
}

typedef struct {
  const char *name;
  gwlz_type t;
  int nd;
  size_t dims[4];
  genf g;
  double rel;  /* bound relative to the range; < 0: absolute -rel */
  int damage;
} gcase;

int main(void) {
  double t0 = gwlz_now();
  const gcase cases[] = {
      {"const f32", GWLZ_TYPE_FLOAT, 3, {9, 10, 11}, g_const, -1e-3, 1},
      {"const f64", GWLZ_TYPE_DOUBLE, 2, {33, 17}, g_const, -1e-6, 0},
      {"ramp f32", GWLZ_TYPE_FLOAT, 1, {1000}, g_ramp, 1e-4, 1},
      {"ramp f64 2d", GWLZ_TYPE_DOUBLE, 2, {31, 37}, g_ramp, 1e-6, 0},
      {"1x1x1", GWLZ_TYPE_FLOAT, 3, {1, 1, 1}, g_smooth, -0.1, 1},
      {"1 value f64", GWLZ_TYPE_DOUBLE, 1, {1}, g_smooth, -0.1, 1},
      {"2 values", GWLZ_TYPE_FLOAT, 1, {2}, g_smooth, -1e-3, 1},
      {"prime 7x11x13", GWLZ_TYPE_FLOAT, 3, {7, 11, 13}, g_smooth, 1e-3, 1},
      {"prime 7x11x13 f64", GWLZ_TYPE_DOUBLE, 3, {7, 11, 13}, g_smooth, 1e-4, 1},
      {"4d 5x6x7x8", GWLZ_TYPE_FLOAT, 4, {5, 6, 7, 8}, g_smooth, 1e-3, 1},
      {"4d f64 3x9x4x17", GWLZ_TYPE_DOUBLE, 4, {3, 9, 4, 17}, g_smooth, 1e-5, 0},
      {"extents of 1", GWLZ_TYPE_FLOAT, 4, {1, 50, 1, 31}, g_smooth, 1e-3, 1},
      {"extents of 1 b", GWLZ_TYPE_FLOAT, 3, {17, 1, 1}, g_smooth, 1e-3, 0},
      {"denormals", GWLZ_TYPE_FLOAT, 2, {40, 41}, g_denorm, 1e-2, 1},
      {"denormals tiny eb", GWLZ_TYPE_FLOAT, 2, {40, 41}, g_denorm, -1e-45, 0},
      {"huge 1e30", GWLZ_TYPE_FLOAT, 3, {20, 21, 22}, g_huge, 1e-4, 1},
      {"huge 1e300 f64", GWLZ_TYPE_DOUBLE, 3, {20, 21, 22}, g_vhuge, 1e-4, 0},
      {"mixed spikes", GWLZ_TYPE_FLOAT, 2, {64, 80}, g_mixed, -1e-3, 1},
      {"noise", GWLZ_TYPE_FLOAT, 2, {100, 100}, g_noise, 1e-6, 1},
      {"noise f64", GWLZ_TYPE_DOUBLE, 3, {20, 20, 20}, g_noise, 1e-9, 0},
      {"lossless", GWLZ_TYPE_FLOAT, 2, {30, 30}, g_smooth, 0.0, 1},
      {"lossless f64", GWLZ_TYPE_DOUBLE, 1, {500}, g_smooth, 0.0, 0},
      {"eb huge", GWLZ_TYPE_FLOAT, 2, {30, 30}, g_smooth, -1e30, 0},
      {"eb tiny", GWLZ_TYPE_FLOAT, 2, {30, 30}, g_smooth, -1e-30, 0},
      {"1d prime 100003", GWLZ_TYPE_FLOAT, 1, {100003}, g_smooth, 1e-3, 0},
      {"3d 130x67x33 (sampled)", GWLZ_TYPE_FLOAT, 3, {130, 67, 33}, g_smooth, 1e-3, 1},
      {"2d 600x301 f64 (sampled)", GWLZ_TYPE_DOUBLE, 2, {600, 301}, g_smooth, 1e-4, 0},
      {"4d 20x19x18x21 (sampled)", GWLZ_TYPE_FLOAT, 4, {20, 19, 18, 21}, g_smooth, 1e-3, 0},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const gcase *c = &cases[k];
    size_t n;
    void *a = make(c->t, c->nd, c->dims, c->g, &n);
    double eb = c->rel < 0 ? -c->rel : c->rel * range_of(a, n, c->t);
    if (c->rel > 0 && eb == 0) eb = 1e-3;
    roundtrip(c->name, c->t, c->nd, c->dims, a, eb, c->damage);
    free(a);
  }

  /* random shapes: every value visited, bound held, decoder identical */
  for (int k = 0; k < 150; k++) {
    size_t dims[4], n = 1;
    int nd = 1 + (int)(urand() * 4);
    for (int d = 0; d < nd; d++) {
      dims[d] = 1 + (size_t)(urand() * (nd == 1 ? 3000 : nd == 2 ? 150 : nd == 3 ? 40 : 14));
      n *= dims[d];
    }
    gwlz_type t = urand() < 0.5 ? GWLZ_TYPE_FLOAT : GWLZ_TYPE_DOUBLE;
    size_t nn;
    void *a = make(t, nd, dims, urand() < 0.8 ? g_smooth : g_noise, &nn);
    double range = range_of(a, nn, t);
    double eb = range * pow(10.0, -1.0 - 5.0 * urand());
    if (eb == 0) eb = 1e-3;
    char name[96];
    snprintf(name, sizeof name, "random %d (nd %d, n %zu)", k, nd, n);
    roundtrip(name, t, nd, dims, a, eb, k % 25 == 0);
    free(a);
  }

  /* invalid parameters */
  {
    gwlz_base_params p;
    float x[4] = {1, 2, 3, 4}, r[4];
    gwlz_wbuf out;
    gwlz_wbuf_init(&out);
    memset(&p, 0, sizeof p);
    p.type = GWLZ_TYPE_FLOAT;
    p.ndims = 1;
    p.dims[0] = 4;
    p.n = 5;
    p.abs_eb = 0.1;
    CHECK(gwlz_base_compress(&p, GWLZ_BASE_INTERP, x, r, NULL, &out, NULL) != GWLZ_OK, "n mismatch accepted");
    p.n = 4;
    p.abs_eb = -1;
    CHECK(gwlz_base_compress(&p, GWLZ_BASE_INTERP, x, r, NULL, &out, NULL) != GWLZ_OK, "negative bound accepted");
    p.abs_eb = NAN;
    CHECK(gwlz_base_compress(&p, GWLZ_BASE_INTERP, x, r, NULL, &out, NULL) != GWLZ_OK, "NaN bound accepted");
    CHECK(gwlz_base_decompress(&p, NULL, 0, r, NULL) != GWLZ_OK, "empty payload accepted");
    gwlz_wbuf_free(&out);
  }

  /* shared fields */
#ifdef GWLZ_SHARED_DATA
  static const struct {
    const char *file;
    gwlz_type t;
    int nd;
    size_t dims[3];
  } fields[] = {
      {"nyx_plane_temperature_64x512.f32", GWLZ_TYPE_FLOAT, 2, {64, 512, 0}},
      {"nyxlya50_tau_real_50x50x50.f64", GWLZ_TYPE_DOUBLE, 3, {50, 50, 50}},
      {"vtk_combq_density_25x33x57.f32", GWLZ_TYPE_FLOAT, 3, {25, 33, 57}},
      {"sperr_vorticity_128_128_41_41x128x128.f32", GWLZ_TYPE_FLOAT, 3, {41, 128, 128}},
      {"sz3_testfloat_8x8x128.f32", GWLZ_TYPE_FLOAT, 3, {8, 8, 128}},
  };
  for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", GWLZ_SHARED_DATA, fields[k].file);
    size_t n = 1;
    for (int d = 0; d < fields[k].nd; d++) n *= fields[k].dims[d];
    size_t bytes = n * gwlz_type_size(fields[k].t);
    FILE *f = fopen(path, "rb");
    if (!f) {
      printf("skip %s (not found)\n", path);
      continue;
    }
    void *a = malloc(bytes);
    size_t got = fread(a, 1, bytes, f);
    fclose(f);
    CHECK(got == bytes, "%s: short read", path);
    if (got == bytes) {
      double range = range_of(a, n, fields[k].t);
      const double rels[3] = {1e-2, 1e-3, 1e-4};
      for (int j = 0; j < 3; j++) {
        char name[256];
        snprintf(name, sizeof name, "%s rel %g", fields[k].file, rels[j]);
        size_t sz = roundtrip(name, fields[k].t, fields[k].nd, fields[k].dims, a, rels[j] * range,
                              j == 1 && (k < 2 || k == 4));
        if (sz) printf("%-50s ratio %8.2f\n", name, (double)bytes / (double)sz);
      }
    }
    free(a);
  }
#endif
  /* modes 1 and 2 are written for small arrays only where they do better */
  CHECK(seen_pred[0] && seen_pred[GWLZ_BASE_MODE_INTERP2] && (seen_pred[1] || seen_pred[2]),
        "not every mode exercised (raw %d, interpolation %d, Lorenzo %d, mode 6 %d)", seen_pred[0],
        seen_pred[1], seen_pred[2], seen_pred[GWLZ_BASE_MODE_INTERP2]);
  printf("test_base: %d failure(s), %.1f s\n", failures, gwlz_now() - t0);
  return failures ? 1 : 0;
}
