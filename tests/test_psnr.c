/*
 * test_psnr.c - GWLZ_EB_PSNR: the decoded output (after enhancement) reaches
 * the target PSNR, every value stays within the bound the header records,
 * NaN/fill cells come back exactly, the header says PSNR mode with the
 * target, and the stream is never larger than the base-only (groups = 0)
 * answer at the same target. Synthetic fields (constant, alternating sign,
 * ramp, noise, a single value, float64, 4-D) and a subset of the shared
 * fields (with the NaN and the fill-value field).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format/container.h"
#include "gwlz.h"
#include "testutil.h"

typedef struct {
  const char *name;
  gwlz_type type;
  int ndims;
  size_t dims[GWLZ_MAX_DIMS];
  int has_fill;
  double fill;
  const void *data;
} field;

static size_t count_of(const field *f) {
  size_t n = 1;
  for (int k = 0; k < f->ndims; k++) n *= f->dims[k];
  return n;
}

/* Compress f at target with groups (-1: default), decompress, check; returns
 * the stream size (0 on failure). */
static size_t run(const field *f, double target, int groups) {
  const size_t n = count_of(f);
  gwlz_ctx *ctx = gwlz_create();
  void *stream = NULL, *out = NULL;
  size_t size = 0;
  gwlz_error e = ctx ? GWLZ_OK : GWLZ_ERR_MEMORY;
  if (!e) e = gwlz_set_type(ctx, f->type);
  if (!e) e = gwlz_set_dims(ctx, f->ndims, f->dims);
  if (!e) e = gwlz_set_error_bound(ctx, GWLZ_EB_PSNR, 0, 0, target);
  if (!e && f->has_fill) e = gwlz_set_fill_value(ctx, f->fill);
  if (!e && groups >= 0) e = gwlz_set_groups(ctx, groups);
  if (!e) e = tu_compress(ctx, f->data, &stream, &size);
  CHECK(e == GWLZ_OK, "%s PSNR %g G%d: compress: %s", f->name, target, groups,
        gwlz_error_string(e));
  gwlz_info info;
  if (!e) e = tu_decompress(stream, size, &out, &info);
  CHECK(e == GWLZ_OK, "%s PSNR %g G%d: decompress: %s", f->name, target, groups,
        gwlz_error_string(e));
  if (!e) {
    tu_metrics m;
    tu_compare(f->data, out, n, f->type, f->has_fill, f->fill, info.abs_bound, &m);
    CHECK(m.psnr >= target, "%s PSNR %g G%d: achieved %.4f dB", f->name, target, groups, m.psnr);
    CHECK(m.over_bound == 0, "%s PSNR %g G%d: %zu values over the bound %g", f->name, target,
          groups, m.over_bound, info.abs_bound);
    CHECK(m.special_bad == 0, "%s PSNR %g G%d: %zu special cells changed", f->name, target,
          groups, m.special_bad);
    CHECK(info.eb_mode == GWLZ_EB_PSNR, "%s: header mode %d", f->name, (int)info.eb_mode);
    gwlz_header h;
    size_t hs;
    CHECK(gwlz_container_read_header(stream, size, &h, &hs) == GWLZ_OK && h.eb_psnr == target &&
              h.abs_bound == info.abs_bound,
          "%s: header eb_psnr %g (target %g)", f->name, h.eb_psnr, target);
    gwlz_stats st;
    if (gwlz_get_stats(ctx, &st) == GWLZ_OK && m.vmax > m.vmin)
      CHECK(st.psnr_base_runs >= 1 && st.psnr_base_runs <= 9 && st.psnr_enh_runs <= 3,
            "%s: %d base + %d enhanced runs", f->name, st.psnr_base_runs, st.psnr_enh_runs);
  }
  free(stream);
  free(out);
  gwlz_free(ctx);
  return e ? 0 : size;
}

/* Both the default and the base-only answer reach the target; the default
 * is not larger. */
static void check_field(const field *f, double target) {
  size_t with = run(f, target, -1);
  size_t without = run(f, target, 0);
  CHECK(with <= without, "%s PSNR %g: %zu bytes with the enhancer > %zu base-only", f->name,
        target, with, without);
}

static float *make_f32(size_t n, float (*gen)(size_t i)) {
  float *a = (float *)malloc(n * sizeof(float));
  for (size_t i = 0; a && i < n; i++) a[i] = gen(i);
  return a;
}

static uint64_t rs = 0x1234567ull;
static double unif(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (double)(rs >> 11) * (1.0 / 9007199254740992.0);
}
static float gen_const(size_t i) { (void)i; return 3.5f; }
static float gen_alt(size_t i) { return ((i / 64 + i % 64) & 1) ? -1.0f : 1.0f; }
static float gen_altramp(size_t i) {
  float s = ((i / 64 + i % 64) & 1) ? -1.0f : 1.0f;
  return s * (1.0f + 0.1f * (float)(i % 64));
}
static float gen_ramp(size_t i) { return (float)(i % 32) + 2.0f * (float)(i / 32 % 32) + 3.0f * (float)(i / 1024); }
static float gen_noise(size_t i) { (void)i; return (float)(unif() - 0.5); }

static void synthetic(void) {
  static const double targets[] = {40, 60, 80};
  float *c = make_f32(64 * 64, gen_const), *a = make_f32(64 * 64, gen_alt);
  float *ar = make_f32(64 * 64, gen_altramp), *r = make_f32(32 * 32 * 32, gen_ramp);
  float *nz = make_f32(20000, gen_noise), one = 1.25f;
  size_t nd = 24 * 24 * 24, n4 = 6 * 7 * 8 * 9;
  double *d = (double *)malloc(nd * sizeof(double)), *d4 = (double *)malloc(n4 * sizeof(double));
  if (!c || !a || !ar || !r || !nz || !d || !d4) {
    CHECK(0, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < nd; i++)
    d[i] = sin(0.3 * (double)(i % 24)) * cos(0.2 * (double)(i / 24 % 24)) +
           0.1 * (double)(i / 576) + 1e-3 * unif();
  for (size_t i = 0; i < n4; i++) d4[i] = 1e5 + unif();
  const field fs[] = {
      {"constant 64x64", GWLZ_TYPE_FLOAT, 2, {64, 64}, 0, 0, c},
      {"alternating 64x64", GWLZ_TYPE_FLOAT, 2, {64, 64}, 0, 0, a},
      {"alternating ramp 64x64", GWLZ_TYPE_FLOAT, 2, {64, 64}, 0, 0, ar},
      {"ramp 32^3", GWLZ_TYPE_FLOAT, 3, {32, 32, 32}, 0, 0, r},
      {"noise 20000", GWLZ_TYPE_FLOAT, 1, {20000}, 0, 0, nz},
      {"single value 1x1", GWLZ_TYPE_FLOAT, 2, {1, 1}, 0, 0, &one},
      {"smooth f64 24^3", GWLZ_TYPE_DOUBLE, 3, {24, 24, 24}, 0, 0, d},
      {"offset noise f64 4-D", GWLZ_TYPE_DOUBLE, 4, {6, 7, 8, 9}, 0, 0, d4},
  };
  for (size_t k = 0; k < sizeof fs / sizeof fs[0]; k++)
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) check_field(&fs[k], targets[t]);
out:
  free(c);
  free(a);
  free(ar);
  free(r);
  free(nz);
  free(d);
  free(d4);
}

/* A representative subset of the shared fields: 2-D, 3-D, float64, NaN
 * cells, a fill value. (All 21 fields at 40, 60 and 80 dB are a benchmark,
 * not a test: see bench/README.md.) */
static void shared(void) {
  static const struct {
    const char *file;
    double target;
  } cases[] = {
      {"nyx_plane_temperature_64x512.f32", 40},
      {"nyx_plane_temperature_64x512.f32", 80},
      {"vtk_combq_density_25x33x57.f32", 60},
      {"nyxlya50_tau_real_50x50x50.f64", 60},
      {"sz3_testfloat_8x8x128.f32", 80},
      {"astro_gc_bolocam_638x640.f32", 40},
      {"ferret_levitus_temp_20x180x360.f32", 80},
  };
  tu_field *fs = NULL;
  int nf = tu_load_manifest(&fs);
  CHECK(nf > 0, "manifest in %s", tu_data_dir());
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const tu_field *tf = NULL;
    for (int i = 0; i < nf; i++)
      if (strcmp(fs[i].file, cases[k].file) == 0) tf = &fs[i];
    CHECK(tf != NULL, "%s in the manifest", cases[k].file);
    if (!tf) continue;
    size_t size = 0;
    void *data = tu_read_file(tf->path, &size);
    CHECK(data && size == tf->num_values * tu_type_size(tf->type), "%s: read", tf->file);
    if (data && size == tf->num_values * tu_type_size(tf->type)) {
      field f = {tf->file, tf->type, tf->ndims, {0}, tf->has_fill, tf->fill, data};
      memcpy(f.dims, tf->dims, sizeof(f.dims));
      check_field(&f, cases[k].target);
    }
    free(data);
  }
  free(fs);
}

int main(void) {
  synthetic();
  shared();
  return tu_finish();
}
