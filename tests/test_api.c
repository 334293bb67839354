/*
 * test_api.c - the public API contract: parameter checks, error codes, buffer
 * sizes, edge-case data, every error-bound mode, damaged streams.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gwlz.h"
#include "testutil.h"

/* Deterministic pseudo-random numbers (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

/* A smooth 3-D-ish test signal at flat index i of a field with fastest extent nx. */
static double smooth(size_t i, size_t nx, size_t ny) {
  double x = (double)(i % nx), y = (double)((i / nx) % ny), z = (double)(i / (nx * ny));
  return sin(0.21 * x) * cos(0.13 * y) + 0.5 * sin(0.07 * z + 0.3 * x) + 0.02 * rnd();
}

typedef struct {
  gwlz_type type;
  int ndims;
  size_t dims[GWLZ_MAX_DIMS];
  gwlz_eb_mode mode;
  double abs, rel, psnr;
  int has_fill;
  double fill;
  int groups;               /* -1: library default                           */
  gwlz_bound_policy policy;
} rt_case;

static size_t count_of(const rt_case *c) {
  size_t n = 1;
  for (int k = 0; k < c->ndims; k++) n *= c->dims[k];
  return n;
}

static gwlz_ctx *make_ctx(const rt_case *c) {
  gwlz_ctx *ctx = gwlz_create();
  if (!ctx) return NULL;
  gwlz_error e = gwlz_set_type(ctx, c->type);
  if (!e) e = gwlz_set_dims(ctx, c->ndims, c->dims);
  if (!e) e = gwlz_set_error_bound(ctx, c->mode, c->abs, c->rel, c->psnr);
  if (!e && c->has_fill) e = gwlz_set_fill_value(ctx, c->fill);
  if (!e && c->groups >= 0) e = gwlz_set_groups(ctx, c->groups);
  if (!e) e = gwlz_set_bound_policy(ctx, c->policy);
  if (e) {
    gwlz_free(ctx);
    return NULL;
  }
  return ctx;
}

/* Compresses and decompresses data; checks the bound, the special cells and the
 * stream's header. Returns the metrics (and the applied bound) for more checks. */
static void roundtrip(const char *name, const rt_case *c, const void *data, tu_metrics *m,
                      double *applied) {
  size_t n = count_of(c);
  memset(m, 0, sizeof *m);
  *applied = NAN;
  gwlz_ctx *ctx = make_ctx(c);
  CHECK(ctx != NULL, "%s: settings rejected", name);
  if (!ctx) return;
  void *stream = NULL, *out = NULL;
  size_t size = 0;
  gwlz_error e = tu_compress(ctx, data, &stream, &size);
  CHECK(e == GWLZ_OK, "%s: compress: %s", name, gwlz_error_string(e));
  gwlz_stats st;
  if (!e) {
    CHECK(size <= gwlz_compress_bound(ctx), "%s: stream larger than compress_bound", name);
    CHECK(gwlz_get_stats(ctx, &st) == GWLZ_OK, "%s: get_stats", name);
    CHECK(st.total_bytes == size, "%s: stats total_bytes %zu != %zu", name, st.total_bytes, size);
    CHECK(st.num_values == n, "%s: stats num_values", name);
  }
  gwlz_info info;
  if (!e) {
    e = tu_decompress(stream, size, &out, &info);
    CHECK(e == GWLZ_OK, "%s: decompress: %s", name, gwlz_error_string(e));
  }
  if (!e) {
    CHECK(info.type == c->type && info.ndims == c->ndims && info.num_values == n &&
              info.decompressed_bytes == n * tu_type_size(c->type),
          "%s: info type/dims/size", name);
    for (int k = 0; k < c->ndims; k++)
      CHECK(info.dims[k] == c->dims[k], "%s: info dims[%d]", name, k);
    CHECK(info.eb_mode == c->mode, "%s: info eb_mode", name);
    CHECK(info.has_fill == c->has_fill, "%s: info has_fill", name);
    CHECK(info.abs_bound == st.abs_bound, "%s: info abs_bound %g != stats %g", name,
          info.abs_bound, st.abs_bound);
    double allowed = info.abs_bound * (c->policy == GWLZ_BOUND_RELAXED ? 2 : 1);
    tu_compare(data, out, n, c->type, c->has_fill, c->fill, allowed, m);
    *applied = info.abs_bound;
    CHECK(m->over_bound == 0, "%s: %zu values over the bound %g (max err %g)", name, m->over_bound,
          allowed, m->max_err);
    CHECK(m->special_bad == 0, "%s: %zu of %zu NaN/Inf/fill cells changed", name, m->special_bad,
          m->special);
  }
  free(stream);
  free(out);
  gwlz_free(ctx);
}

static rt_case base_case(gwlz_type t, int ndims, size_t d0, size_t d1, size_t d2, size_t d3) {
  rt_case c;
  memset(&c, 0, sizeof c);
  c.type = t;
  c.ndims = ndims;
  size_t d[4] = {d0, d1, d2, d3};
  for (int k = 0; k < ndims; k++) c.dims[k] = d[k];
  c.mode = GWLZ_EB_REL;
  c.rel = 1e-3;
  c.groups = 0;
  c.policy = GWLZ_BOUND_STRICT;
  return c;
}

/* Fills a new buffer of the case's type from a generator over doubles. */
static void *fill_values(const rt_case *c, double (*gen)(size_t i, const rt_case *c)) {
  size_t n = count_of(c);
  void *buf = malloc(n * tu_type_size(c->type));
  for (size_t i = 0; buf && i < n; i++) {
    double v = gen(i, c);
    if (c->type == GWLZ_TYPE_DOUBLE) ((double *)buf)[i] = v;
    else ((float *)buf)[i] = (float)v;
  }
  return buf;
}

static double gen_smooth(size_t i, const rt_case *c) {
  size_t nx = c->dims[c->ndims - 1], ny = c->ndims > 1 ? c->dims[c->ndims - 2] : 1;
  return smooth(i, nx, ny);
}
static double gen_const(size_t i, const rt_case *c) { (void)i; (void)c; return 3.25; }
static double gen_ramp(size_t i, const rt_case *c) { (void)c; return -5.0 + 0.001 * (double)i; }
static double gen_noise(size_t i, const rt_case *c) { (void)i; (void)c; return rnd() * 2 - 1; }
static double gen_denormal(size_t i, const rt_case *c) {
  double tiny = c->type == GWLZ_TYPE_DOUBLE ? 4.9e-324 : 1.4e-45;
  return tiny * (double)(i % 97) * (1 + 0.5 * sin(0.1 * (double)i));
}
static double gen_huge(size_t i, const rt_case *c) {
  double big = c->type == GWLZ_TYPE_DOUBLE ? 1e300 : 1e37;
  return big * gen_smooth(i, c);
}

static void run_generated(const char *name, rt_case *c, double (*gen)(size_t, const rt_case *),
                          tu_metrics *m, double *applied) {
  void *data = fill_values(c, gen);
  CHECK(data != NULL, "%s: alloc", name);
  if (data) roundtrip(name, c, data, m, applied);
  free(data);
}

/* ------------------------------------------------------------------------ */

static void test_basics(void) {
  gwlz_free(NULL);
  CHECK(gwlz_version_string() != NULL && gwlz_version_string()[0] != '\0', "version string");
  CHECK(gwlz_format_version() >= 1, "format version");
  const char *msgs[GWLZ_ERR_INTERNAL + 1];
  for (int k = 0; k <= GWLZ_ERR_INTERNAL; k++) {
    msgs[k] = gwlz_error_string((gwlz_error)k);
    CHECK(msgs[k] != NULL && msgs[k][0] != '\0', "error string %d", k);
  }
  for (int a = 0; a <= GWLZ_ERR_INTERNAL; a++)
    for (int b = a + 1; b <= GWLZ_ERR_INTERNAL; b++)
      if (msgs[a] && msgs[b]) CHECK(strcmp(msgs[a], msgs[b]) != 0, "error strings %d and %d equal", a, b);
  CHECK(gwlz_error_string((gwlz_error)999) != NULL, "unknown error code string");
  CHECK(gwlz_error_string((gwlz_error)-1) != NULL, "negative error code string");
}

static void test_params(void) {
  gwlz_ctx *ctx = gwlz_create();
  CHECK(ctx != NULL, "create");
  if (!ctx) return;
  size_t d4[5] = {4, 5, 6, 7, 8};
  size_t d0[3] = {4, 0, 6};
  CHECK(gwlz_set_dims(ctx, 0, d4) == GWLZ_ERR_PARAM, "ndims 0");
  CHECK(gwlz_set_dims(ctx, 5, d4) == GWLZ_ERR_PARAM, "ndims 5");
  CHECK(gwlz_set_dims(ctx, -1, d4) == GWLZ_ERR_PARAM, "ndims -1");
  CHECK(gwlz_set_dims(ctx, 3, d0) == GWLZ_ERR_PARAM, "dim 0");
  CHECK(gwlz_set_dims(ctx, 3, NULL) == GWLZ_ERR_PARAM, "dims NULL");
  size_t huge[4] = {SIZE_MAX / 2, SIZE_MAX / 2, 3, 3};
  gwlz_error e = gwlz_set_dims(ctx, 4, huge);
  CHECK(e == GWLZ_ERR_TOO_LARGE || e == GWLZ_ERR_PARAM, "overflowing dims: %s", gwlz_error_string(e));
  CHECK(gwlz_set_type(ctx, (gwlz_type)7) == GWLZ_ERR_PARAM, "bad type");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_ABS, -1e-3, 0, 0) == GWLZ_ERR_PARAM, "negative abs");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_REL, 0, -1e-3, 0) == GWLZ_ERR_PARAM, "negative rel");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_ABS, NAN, 0, 0) == GWLZ_ERR_PARAM, "NaN abs");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_REL, 0, NAN, 0) == GWLZ_ERR_PARAM, "NaN rel");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_ABS, INFINITY, 0, 0) == GWLZ_ERR_PARAM, "Inf abs");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_ABS_AND_REL, 1e-3, NAN, 0) == GWLZ_ERR_PARAM,
        "ABS_AND_REL with NaN rel");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_ABS_OR_REL, -1, 1e-3, 0) == GWLZ_ERR_PARAM,
        "ABS_OR_REL with negative abs");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_PSNR, 0, 0, 0) == GWLZ_ERR_PARAM, "PSNR 0");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_PSNR, 0, 0, -20) == GWLZ_ERR_PARAM, "PSNR < 0");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_PSNR, 0, 0, NAN) == GWLZ_ERR_PARAM, "PSNR NaN");
  CHECK(gwlz_set_error_bound(ctx, (gwlz_eb_mode)9, 1, 1, 1) == GWLZ_ERR_PARAM, "bad mode");
  CHECK(gwlz_set_error_bound(ctx, GWLZ_EB_ABS, 0, 0, 0) == GWLZ_OK, "ABS 0 (lossless) accepted");
  CHECK(gwlz_set_groups(ctx, -1) == GWLZ_ERR_PARAM, "groups -1");
  CHECK(gwlz_set_groups(ctx, GWLZ_MAX_GROUPS + 1) == GWLZ_ERR_PARAM, "groups too many");
  CHECK(gwlz_set_groups(ctx, 0) == GWLZ_OK, "groups 0");
  CHECK(gwlz_set_threads(ctx, -1) == GWLZ_ERR_PARAM, "threads -1");
  CHECK(gwlz_set_enhancer(ctx, (gwlz_enhancer)17) == GWLZ_ERR_PARAM, "bad enhancer");
  CHECK(gwlz_set_arch(ctx, (gwlz_arch)17) == GWLZ_ERR_PARAM, "bad arch");
  CHECK(gwlz_set_bound_policy(ctx, (gwlz_bound_policy)17) == GWLZ_ERR_PARAM, "bad policy");
  CHECK(gwlz_set_speed(ctx, (gwlz_speed)2) == GWLZ_ERR_PARAM, "bad speed");
  CHECK(gwlz_set_speed(NULL, GWLZ_SPEED_FAST) == GWLZ_ERR_PARAM, "speed on NULL");
  CHECK(gwlz_set_speed(ctx, GWLZ_SPEED_FAST) == GWLZ_OK &&
            gwlz_set_speed(ctx, GWLZ_SPEED_DEFAULT) == GWLZ_OK,
        "speed");
  CHECK(gwlz_set_epochs(ctx, -1) == GWLZ_ERR_PARAM, "epochs -1");
  CHECK(gwlz_set_train_seconds(ctx, NAN) == GWLZ_ERR_PARAM, "train seconds NaN");
  CHECK(gwlz_set_type(NULL, GWLZ_TYPE_FLOAT) == GWLZ_ERR_PARAM, "NULL ctx");
  CHECK(gwlz_compress_bound(NULL) == 0, "compress_bound(NULL)");

  /* No dims set: compress must refuse. */
  float src[8] = {0};
  unsigned char dst[4096];
  size_t size = 0;
  CHECK(gwlz_compress_bound(ctx) == 0, "compress_bound without dims");
  CHECK(gwlz_compress(ctx, src, dst, sizeof dst, &size) == GWLZ_ERR_PARAM, "compress without dims");
  size_t d1[1] = {8};
  CHECK(gwlz_set_dims(ctx, 1, d1) == GWLZ_OK, "dims 8");
  CHECK(gwlz_compress(ctx, NULL, dst, sizeof dst, &size) == GWLZ_ERR_PARAM, "compress NULL src");
  CHECK(gwlz_compress(ctx, src, NULL, sizeof dst, &size) == GWLZ_ERR_PARAM ||
            gwlz_compress(ctx, src, NULL, sizeof dst, &size) == GWLZ_ERR_DST_TOO_SMALL,
        "compress NULL dst");
  CHECK(gwlz_compress(ctx, src, dst, sizeof dst, NULL) == GWLZ_ERR_PARAM, "compress NULL size");

  gwlz_info info;
  CHECK(gwlz_get_info(NULL, 0, &info) != GWLZ_OK, "get_info NULL");
  CHECK(gwlz_get_info("abc", 3, &info) != GWLZ_OK, "get_info short");
  static const char junk[64] = "this is certainly not a gwlz stream, it is just some text";
  e = gwlz_get_info(junk, sizeof junk, &info);
  CHECK(e == GWLZ_ERR_BAD_MAGIC, "get_info junk: %s", gwlz_error_string(e));
  e = gwlz_decompress(ctx, junk, sizeof junk, dst, sizeof dst);
  CHECK(e == GWLZ_ERR_BAD_MAGIC, "decompress junk: %s", gwlz_error_string(e));

  /* reset brings the defaults back: dims gone. */
  gwlz_reset(ctx);
  CHECK(gwlz_compress_bound(ctx) == 0, "reset clears dims");
  gwlz_free(ctx);
}

static void test_buffers(void) {
  rt_case c = base_case(GWLZ_TYPE_FLOAT, 3, 9, 17, 23, 0);
  float *data = fill_values(&c, gen_smooth);
  gwlz_ctx *ctx = make_ctx(&c);
  CHECK(data && ctx, "setup");
  if (!data || !ctx) {
    free(data);
    gwlz_free(ctx);
    return;
  }
  void *stream;
  size_t size;
  gwlz_error e = tu_compress(ctx, data, &stream, &size);
  CHECK(e == GWLZ_OK, "compress: %s", gwlz_error_string(e));
  if (!e) {
    unsigned char *small = malloc(size);
    size_t got = 0;
    e = gwlz_compress(ctx, data, small, size - 1, &got);
    CHECK(e == GWLZ_ERR_DST_TOO_SMALL, "dst one byte short: %s", gwlz_error_string(e));
    e = gwlz_compress(ctx, data, small, 16, &got);
    CHECK(e == GWLZ_ERR_DST_TOO_SMALL, "dst 16 bytes: %s", gwlz_error_string(e));
    e = gwlz_compress(ctx, data, small, size, &got);
    CHECK(e == GWLZ_OK && got == size && memcmp(small, stream, size) == 0,
          "exact capacity gives the same stream");
    free(small);

    /* Deterministic output: the same input gives the same bytes. */
    void *again;
    size_t size2;
    e = tu_compress(ctx, data, &again, &size2);
    CHECK(e == GWLZ_OK && size2 == size && memcmp(again, stream, size) == 0, "deterministic");
    free(again);

    gwlz_info info;
    CHECK(gwlz_get_info(stream, size, &info) == GWLZ_OK, "info");
    float *out = malloc(info.decompressed_bytes);
    gwlz_ctx *dctx = gwlz_create();
    e = gwlz_decompress(dctx, stream, size, out, info.decompressed_bytes - 1);
    CHECK(e == GWLZ_ERR_DST_TOO_SMALL, "decompress dst short: %s", gwlz_error_string(e));
    e = gwlz_decompress(dctx, stream, size, NULL, info.decompressed_bytes);
    CHECK(e == GWLZ_ERR_PARAM, "decompress NULL dst: %s", gwlz_error_string(e));
    gwlz_free(dctx);
    free(out);
  }
  free(stream);
  gwlz_free(ctx);
  free(data);

  /* compress_bound suffices for incompressible data, lossless, both types, with NaN. */
  for (int t = 0; t < 2; t++) {
    rt_case n = base_case((gwlz_type)t, 2, 61, 67, 0, 0);
    n.mode = GWLZ_EB_ABS;
    n.abs = 0;
    void *noise = fill_values(&n, gen_noise);
    for (size_t i = 0; i < count_of(&n); i += 7) {
      if (t) ((double *)noise)[i] = NAN;
      else ((float *)noise)[i] = NAN;
    }
    gwlz_ctx *nc = make_ctx(&n);
    size_t cap = gwlz_compress_bound(nc);
    CHECK(cap >= count_of(&n) * tu_type_size(n.type), "bound below raw size");
    void *buf = malloc(cap);
    size_t got = 0;
    e = gwlz_compress(nc, noise, buf, cap, &got);
    CHECK(e == GWLZ_OK && got <= cap, "noise within compress_bound (%s, %zu/%zu)",
          gwlz_error_string(e), got, cap);
    free(buf);
    gwlz_free(nc);
    tu_metrics m;
    double eb;
    roundtrip(t ? "lossless noise f64" : "lossless noise f32", &n, noise, &m, &eb);
    CHECK(m.max_err == 0, "lossless noise exact (max err %g)", m.max_err);
    free(noise);
  }
}

static void test_edge_cases(void) {
  tu_metrics m;
  double eb;
  rt_case c;

  c = base_case(GWLZ_TYPE_FLOAT, 3, 20, 30, 40, 0);
  run_generated("constant", &c, gen_const, &m, &eb);
  CHECK(m.max_err == 0, "constant field exact (max err %g)", m.max_err);

  c = base_case(GWLZ_TYPE_FLOAT, 2, 33, 47, 0, 0);
  run_generated("ramp", &c, gen_ramp, &m, &eb);

  c = base_case(GWLZ_TYPE_FLOAT, 3, 1, 1, 1, 0);
  run_generated("1x1x1", &c, gen_smooth, &m, &eb);
  c = base_case(GWLZ_TYPE_DOUBLE, 1, 1, 0, 0, 0);
  run_generated("1 value f64", &c, gen_ramp, &m, &eb);
  c = base_case(GWLZ_TYPE_FLOAT, 1, 2, 0, 0, 0);
  run_generated("2 values", &c, gen_ramp, &m, &eb);

  c = base_case(GWLZ_TYPE_FLOAT, 3, 7, 11, 13, 0);
  run_generated("prime 7x11x13", &c, gen_smooth, &m, &eb);
  c = base_case(GWLZ_TYPE_FLOAT, 1, 1009, 0, 0, 0);
  run_generated("prime 1D 1009", &c, gen_smooth, &m, &eb);
  c = base_case(GWLZ_TYPE_FLOAT, 2, 1, 257, 0, 0);
  run_generated("2D 1x257", &c, gen_smooth, &m, &eb);
  c = base_case(GWLZ_TYPE_FLOAT, 3, 31, 1, 29, 0);
  run_generated("3D 31x1x29", &c, gen_smooth, &m, &eb);

  c = base_case(GWLZ_TYPE_FLOAT, 4, 5, 6, 7, 8);
  run_generated("4D f32", &c, gen_smooth, &m, &eb);
  c = base_case(GWLZ_TYPE_DOUBLE, 4, 3, 9, 10, 11);
  run_generated("4D f64", &c, gen_smooth, &m, &eb);
  c = base_case(GWLZ_TYPE_DOUBLE, 3, 16, 24, 32, 0);
  c.rel = 1e-7;
  run_generated("f64 rel 1e-7", &c, gen_smooth, &m, &eb);

  for (int t = 0; t < 2; t++) {
    c = base_case((gwlz_type)t, 2, 40, 50, 0, 0);
    run_generated(t ? "denormals f64" : "denormals f32", &c, gen_denormal, &m, &eb);
    c = base_case((gwlz_type)t, 2, 40, 50, 0, 0);
    run_generated(t ? "huge f64" : "huge f32", &c, gen_huge, &m, &eb);
    c = base_case((gwlz_type)t, 2, 40, 50, 0, 0);
    c.mode = GWLZ_EB_ABS;
    c.abs = 0;
    run_generated(t ? "lossless f64" : "lossless f32", &c, gen_smooth, &m, &eb);
    CHECK(m.max_err == 0, "ABS 0 must be lossless (max err %g)", m.max_err);
  }

  /* Extremes of float: +-FLT_MAX in one field (range overflows float). */
  c = base_case(GWLZ_TYPE_FLOAT, 1, 100, 0, 0, 0);
  {
    float v[100];
    for (int i = 0; i < 100; i++) v[i] = (i % 2 ? 1 : -1) * FLT_MAX * (float)(i % 5) / 4;
    roundtrip("+-FLT_MAX", &c, v, &m, &eb);
  }

  /* NaN and +-Inf mixed in, both types; and all-special fields. */
  for (int t = 0; t < 2; t++) {
    c = base_case((gwlz_type)t, 3, 12, 13, 14, 0);
    void *d = fill_values(&c, gen_smooth);
    size_t n = count_of(&c);
    for (size_t i = 0; i < n; i++) {
      double s = (i % 11 == 0) ? NAN : (i % 37 == 0) ? INFINITY : (i % 41 == 0) ? -INFINITY : 0;
      if (s == 0) continue;
      if (t) ((double *)d)[i] = s;
      else ((float *)d)[i] = (float)s;
    }
    if (t) { /* a NaN with a payload must also come back bit-exact */
      uint64_t bits = 0x7ff8000000012345ull;
      memcpy((double *)d + 1, &bits, 8);
    } else {
      uint32_t bits = 0xffc01234u;
      memcpy((float *)d + 1, &bits, 4);
    }
    roundtrip(t ? "NaN/Inf f64" : "NaN/Inf f32", &c, d, &m, &eb);
    CHECK(m.special > 0, "NaN/Inf counted");
    for (size_t i = 0; i < n; i++) {
      if (t) ((double *)d)[i] = NAN;
      else ((float *)d)[i] = NAN;
    }
    roundtrip(t ? "all NaN f64" : "all NaN f32", &c, d, &m, &eb);
    free(d);
  }

  /* Fill value: fill cells exact, left out of the REL range. */
  c = base_case(GWLZ_TYPE_FLOAT, 2, 50, 60, 0, 0);
  c.has_fill = 1;
  c.fill = -1e10;
  {
    float *d = fill_values(&c, gen_smooth);
    for (size_t i = 0; i < count_of(&c); i += 3) d[i] = -1e10f;
    roundtrip("fill -1e10", &c, d, &m, &eb);
    CHECK(eb < 1e-2, "fill left out of the REL range (bound %g)", eb);
    free(d);
  }
  c.fill = NAN;
  {
    float *d = fill_values(&c, gen_smooth);
    for (size_t i = 0; i < count_of(&c); i += 5) d[i] = NAN;
    roundtrip("fill NaN", &c, d, &m, &eb);
    free(d);
  }
}

static void test_modes(void) {
  tu_metrics m;
  double eb;
  rt_case c = base_case(GWLZ_TYPE_FLOAT, 3, 24, 32, 40, 0);
  float *d = fill_values(&c, gen_smooth);
  size_t n = count_of(&c);
  float lo = d[0], hi = d[0];
  for (size_t i = 1; i < n; i++) {
    if (d[i] < lo) lo = d[i];
    if (d[i] > hi) hi = d[i];
  }
  double range = (double)hi - (double)lo;

  c.mode = GWLZ_EB_ABS;
  c.abs = 1e-3;
  roundtrip("ABS 1e-3", &c, d, &m, &eb);
  CHECK(eb == 1e-3, "ABS applied bound %g", eb);

  c.mode = GWLZ_EB_REL;
  c.rel = 1e-4;
  roundtrip("REL 1e-4", &c, d, &m, &eb);
  CHECK(fabs(eb - 1e-4 * range) <= 1e-9 * range, "REL applied bound %g vs %g", eb, 1e-4 * range);

  c.mode = GWLZ_EB_ABS_AND_REL;
  c.abs = 1e-3;
  c.rel = 1e-5;
  roundtrip("ABS_AND_REL", &c, d, &m, &eb);
  CHECK(fabs(eb - fmin(1e-3, 1e-5 * range)) <= 1e-9 * range, "ABS_AND_REL bound %g", eb);
  c.rel = 1e-2;
  roundtrip("ABS_AND_REL abs smaller", &c, d, &m, &eb);
  CHECK(eb == 1e-3, "ABS_AND_REL picks abs: %g", eb);

  c.mode = GWLZ_EB_ABS_OR_REL;
  c.abs = 1e-3;
  c.rel = 1e-5;
  roundtrip("ABS_OR_REL", &c, d, &m, &eb);
  CHECK(fabs(eb - fmax(1e-3, 1e-5 * range)) <= 1e-9 * range, "ABS_OR_REL bound %g", eb);

  static const double targets[] = {40, 60, 80, 100};
  for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
    c.mode = GWLZ_EB_PSNR;
    c.psnr = targets[k];
    char name[64];
    snprintf(name, sizeof name, "PSNR %g", targets[k]);
    roundtrip(name, &c, d, &m, &eb);
    CHECK(m.psnr >= targets[k], "%s: achieved %.4f dB", name, m.psnr);
  }
  free(d);

  /* The enhancer (library defaults) keeps the strict bound; relaxed stays within 2x. */
  c = base_case(GWLZ_TYPE_FLOAT, 3, 16, 32, 32, 0);
  c.groups = -1;
  c.rel = 1e-3;
  run_generated("default enhancer strict", &c, gen_smooth, &m, &eb);
  c.policy = GWLZ_BOUND_RELAXED;
  c.groups = 4;
  run_generated("enhancer relaxed", &c, gen_smooth, &m, &eb);
}

static void test_damage(void) {
  rt_case c = base_case(GWLZ_TYPE_FLOAT, 2, 20, 24, 0, 0);
  float *d = fill_values(&c, gen_smooth);
  for (size_t i = 0; i < count_of(&c); i += 9) d[i] = NAN; /* a special section too */
  gwlz_ctx *ctx = make_ctx(&c);
  void *stream = NULL;
  size_t size = 0;
  gwlz_error e = ctx ? tu_compress(ctx, d, &stream, &size) : GWLZ_ERR_MEMORY;
  CHECK(e == GWLZ_OK, "compress: %s", gwlz_error_string(e));
  gwlz_info info;
  if (!e && gwlz_get_info(stream, size, &info) == GWLZ_OK) {
    size_t out_bytes = info.decompressed_bytes;
    float *out = malloc(out_bytes);
    unsigned char *copy = malloc(size);
    gwlz_ctx *dctx = gwlz_create();
    size_t truncated_ok = 0, flips_ok = 0, flips = 0;
    for (size_t len = 0; len < size; len++) {
      memcpy(copy, stream, len);
      gwlz_error r = gwlz_decompress(dctx, copy, len, out, out_bytes);
      if (r == GWLZ_OK) truncated_ok++;
    }
    CHECK(truncated_ok == 0, "%zu truncated streams decoded without error", truncated_ok);
    for (size_t byte = 0; byte < size; byte++) {
      for (int bit = 0; bit < 8; bit++) {
        memcpy(copy, stream, size);
        copy[byte] ^= (unsigned char)(1u << bit);
        gwlz_error r = gwlz_decompress(dctx, copy, size, out, out_bytes);
        gwlz_info di;
        (void)gwlz_get_info(copy, size, &di); /* must not crash either */
        flips++;
        if (r == GWLZ_OK) flips_ok++;
      }
    }
    CHECK(flips_ok == 0, "%zu of %zu bit-flipped streams decoded without error", flips_ok, flips);
    /* Trailing garbage after a complete stream is damage too. */
    unsigned char *longer = malloc(size + 5);
    memcpy(longer, stream, size);
    memset(longer + size, 0xab, 5);
    e = gwlz_decompress(dctx, longer, size + 5, out, out_bytes);
    CHECK(e != GWLZ_OK, "trailing bytes accepted");
    free(longer);
    /* Still decodes correctly after all that. */
    CHECK(gwlz_decompress(dctx, stream, size, out, out_bytes) == GWLZ_OK, "context reusable");
    gwlz_free(dctx);
    free(copy);
    free(out);
  }
  free(stream);
  gwlz_free(ctx);
  free(d);
}

int main(void) {
  double t0 = tu_now();
  test_basics();
  test_params();
  test_buffers();
  test_edge_cases();
  test_modes();
  test_damage();
  printf("test_api: %.2f s\n", tu_now() - t0);
  return tu_finish();
}
