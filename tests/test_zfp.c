/*
 * test_zfp.c - the ZFP base (BASE mode 4): through the public API, every
 * value within the bound (ZFP's own tolerance is not strict; the correction
 * list makes it so) on every shared field at REL 1e-2..1e-5 and on synthetic
 * float32/float64 fields of 1-4 dimensions (squeezed extents, partial blocks,
 * values ZFP cannot reach at the bound), NaN/fill cells exact; the base's
 * reconstruction equals its decoder's output bit for bit (aux too); damaged
 * payloads give an error, never a crash; the enhancer on top keeps the bound.
 * Skipped (passes) when the library is built without libzfp.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
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

static size_t count_of(int ndims, const size_t *dims) {
  size_t n = 1;
  for (int k = 0; k < ndims; k++) n *= dims[k];
  return n;
}

/* Public API round trip with the ZFP base at REL rel; returns the stats'
 * number of corrected values (or (size_t)-1 on failure). */
static size_t api_roundtrip(const field *f, double rel, int groups, double *ratio) {
  const size_t n = count_of(f->ndims, f->dims);
  gwlz_ctx *ctx = gwlz_create();
  void *stream = NULL, *out = NULL;
  size_t size = 0, corrected = (size_t)-1;
  gwlz_error e = ctx ? GWLZ_OK : GWLZ_ERR_MEMORY;
  if (!e) e = gwlz_set_type(ctx, f->type);
  if (!e) e = gwlz_set_dims(ctx, f->ndims, f->dims);
  if (!e) e = gwlz_set_error_bound(ctx, GWLZ_EB_REL, 0, rel, 0);
  if (!e && f->has_fill) e = gwlz_set_fill_value(ctx, f->fill);
  if (!e) e = gwlz_set_base(ctx, GWLZ_BASE_ZFP);
  if (!e) e = gwlz_set_groups(ctx, groups);
  if (!e) e = tu_compress(ctx, f->data, &stream, &size);
  CHECK(e == GWLZ_OK, "%s REL %g: compress: %s", f->name, rel, gwlz_error_string(e));
  gwlz_info info;
  if (!e) e = tu_decompress(stream, size, &out, &info);
  CHECK(e == GWLZ_OK, "%s REL %g: decompress: %s", f->name, rel, gwlz_error_string(e));
  gwlz_stats st;
  if (!e && gwlz_get_stats(ctx, &st) == GWLZ_OK) {
    tu_metrics m;
    tu_compare(f->data, out, n, f->type, f->has_fill, f->fill, info.abs_bound, &m);
    CHECK(m.over_bound == 0, "%s REL %g: %zu values over the bound (max err / bound %.6f)",
          f->name, rel, m.over_bound, m.max_err / info.abs_bound);
    CHECK(m.special_bad == 0, "%s REL %g: %zu special cells changed", f->name, rel,
          m.special_bad);
    /* ZFP, or the raw mode when that is smaller */
    CHECK(info.base == GWLZ_BASE_ZFP || info.base == GWLZ_BASE_AUTO, "%s: base %s", f->name,
          gwlz_base_name(info.base));
    corrected = info.base == GWLZ_BASE_ZFP ? st.num_unpredictable : 0;
    if (ratio) *ratio = (double)(n * tu_type_size(f->type)) / (double)size;
    if (groups > 0)
      CHECK(st.enhanced_psnr >= st.base_psnr, "%s: enhanced %.2f < base %.2f dB", f->name,
            st.enhanced_psnr, st.base_psnr);
  }
  free(stream);
  free(out);
  gwlz_free(ctx);
  return corrected;
}

/* Every shared field at REL 1e-2 .. 1e-5, base only. */
static void shared_fields(void) {
  static const double rels[] = {1e-2, 1e-3, 1e-4, 1e-5};
  tu_field *fs = NULL;
  int nf = tu_load_manifest(&fs);
  CHECK(nf > 0, "manifest in %s", tu_data_dir());
  size_t corrected = 0;
  for (int i = 0; i < nf; i++) {
    size_t size = 0;
    void *data = tu_read_file(fs[i].path, &size);
    CHECK(data && size == fs[i].num_values * tu_type_size(fs[i].type), "%s: read", fs[i].file);
    if (data && size == fs[i].num_values * tu_type_size(fs[i].type)) {
      field f = {fs[i].file, fs[i].type, fs[i].ndims, {0}, fs[i].has_fill, fs[i].fill, data};
      memcpy(f.dims, fs[i].dims, sizeof(f.dims));
      printf("%-44s", f.name);
      for (size_t r = 0; r < sizeof rels / sizeof rels[0]; r++) {
        double ratio = 0;
        size_t c = api_roundtrip(&f, rels[r], 0, &ratio);
        if (c != (size_t)-1) corrected += c;
        printf("  %8.2f", ratio);
      }
      printf("\n");
    }
    free(data);
  }
  printf("shared fields: %zu values corrected in all\n", corrected);
  free(fs);
}

static uint64_t rs = 0x2545F4914F6CDD1Dull;
static double unif(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (double)(rs >> 11) * (1.0 / 9007199254740992.0);
}

/* A field of the given shape: smooth + noise, offset, with NaN and fill
 * cells when special is set. */
static void *make(gwlz_type t, int ndims, const size_t *dims, double offset, double noise,
                  int special) {
  size_t n = count_of(ndims, dims);
  size_t ts = tu_type_size(t);
  unsigned char *a = (unsigned char *)malloc(n * ts);
  for (size_t i = 0; a && i < n; i++) {
    double v = offset + sin(0.05 * (double)i) + cos(0.3 * (double)(i % 17)) + noise * unif();
    if (special && i % 97 == 5) v = NAN;
    if (special && i % 89 == 7) v = -9999.0;
    if (t == GWLZ_TYPE_DOUBLE) {
      memcpy(a + 8 * i, &v, 8);
    } else {
      float f = (float)v;
      memcpy(a + 4 * i, &f, 4);
    }
  }
  return a;
}

static void synthetic(void) {
  static const struct {
    const char *name;
    int ndims;
    size_t dims[GWLZ_MAX_DIMS];
  } shapes[] = {
      {"1-D 1001", 1, {1001}},
      {"2-D 37x22", 2, {37, 22}},
      {"3-D 9x13x30", 3, {9, 13, 30}},
      {"4-D 5x6x7x9", 4, {5, 6, 7, 9}},
      {"squeezed 1x37x1x5", 4, {1, 37, 1, 5}},
      {"single value", 3, {1, 1, 1}},
      {"3 values", 1, {3}},
  };
  static const double rels[] = {1e-2, 1e-4, 1e-6};
  size_t corrected = 0;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int t = 0; t < 2; t++)
      for (int special = 0; special < 2; special++) {
        gwlz_type ty = t ? GWLZ_TYPE_DOUBLE : GWLZ_TYPE_FLOAT;
        void *d = make(ty, shapes[s].ndims, shapes[s].dims, special ? 0 : 1e4, 0.3, special);
        field f = {shapes[s].name, ty, shapes[s].ndims, {0}, special, -9999.0, d};
        memcpy(f.dims, shapes[s].dims, sizeof(f.dims));
        for (size_t r = 0; d && r < sizeof rels / sizeof rels[0]; r++) {
          size_t c = api_roundtrip(&f, rels[r], 0, NULL);
          if (c != (size_t)-1) corrected += c;
        }
        free(d);
      }
  /* float32 values 1e4 +- 1 at REL 1e-6: below the float32 spacing near 1e4
   * ZFP's float path cannot reach the bound, so the corrections must. */
  CHECK(corrected > 0, "no synthetic case needed a correction");
  printf("synthetic: %zu values corrected in all\n", corrected);

  /* the enhancer on top of ZFP keeps the bound and does not lower the PSNR */
  size_t dims[3] = {24, 32, 32};
  void *d = make(GWLZ_TYPE_FLOAT, 3, dims, 0, 0.05, 0);
  field f = {"enhanced 24x32x32", GWLZ_TYPE_FLOAT, 3, {24, 32, 32}, 0, 0, d};
  if (d) api_roundtrip(&f, 1e-3, 8, NULL);
  free(d);
}

/* The base's own contract: the reconstruction (and aux) it returns is what
 * its decoder produces; damaged payloads are refused without a crash. */
static void base_contract(void) {
  static const struct {
    gwlz_type t;
    int nd;
    size_t dims[GWLZ_MAX_DIMS];
    double eb;
  } cases[] = {
      {GWLZ_TYPE_FLOAT, 3, {12, 10, 9}, 1e-3},
      {GWLZ_TYPE_FLOAT, 2, {30, 41}, 1e-7}, /* many corrections */
      {GWLZ_TYPE_DOUBLE, 4, {4, 5, 6, 7}, 1e-5},
      {GWLZ_TYPE_DOUBLE, 1, {333}, 1e-12},
  };
  const gwlz_base_impl *im = gwlz_base_impls[GWLZ_BASE_ZFP];
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    gwlz_base_params p;
    memset(&p, 0, sizeof p);
    p.type = cases[c].t;
    p.ndims = cases[c].nd;
    memcpy(p.dims, cases[c].dims, sizeof p.dims);
    p.n = count_of(p.ndims, p.dims);
    p.abs_eb = cases[c].eb;
    p.threads = 1;
    size_t ts = tu_type_size(p.type), bytes = p.n * ts;
    void *d = make(p.type, p.ndims, p.dims, 1.0, 0.5, 0);
    void *rec = malloc(bytes), *dec = malloc(bytes);
    uint8_t *aux = (uint8_t *)malloc(p.n), *aux2 = (uint8_t *)malloc(p.n);
    gwlz_wbuf out;
    gwlz_wbuf_init(&out);
    gwlz_base_info bi;
    memset(&bi, 0, sizeof bi);
    gwlz_error e = d && rec && dec && aux && aux2 ? im->compress(&p, d, rec, aux, &out, &bi)
                                                  : GWLZ_ERR_MEMORY;
    CHECK(e == GWLZ_OK && out.err == GWLZ_OK, "case %zu: compress: %s", c, gwlz_error_string(e));
    if (!e) {
      e = gwlz_base_decompress(&p, out.data, out.size, dec, aux2);
      CHECK(e == GWLZ_OK, "case %zu: decompress: %s", c, gwlz_error_string(e));
      CHECK(!e && memcmp(rec, dec, bytes) == 0 && memcmp(aux, aux2, p.n) == 0,
            "case %zu: reconstruction differs from the decoder's output", c);
      size_t exact = 0, over = 0;
      for (size_t i = 0; i < p.n; i++) {
        double a = ts == 8 ? ((double *)d)[i] : ((float *)d)[i];
        double b = ts == 8 ? ((double *)dec)[i] : ((float *)dec)[i];
        if (!(fabs(a - b) <= p.abs_eb)) over++;
        if (aux2[i] == GWLZ_AUX_EXACT) exact++;
      }
      CHECK(over == 0, "case %zu: %zu values over the bound", c, over);
      CHECK(exact == bi.unpredictable, "case %zu: %zu exact in aux, %zu corrected", c, exact,
            bi.unpredictable);
      if (c == 1) CHECK(bi.unpredictable > 0, "case 1 needs corrections");
      /* truncations and byte damage: any error, no crash (ASan checks reads) */
      uint8_t *m = (uint8_t *)malloc(out.size);
      for (size_t len = 0; m && len < out.size; len += 1 + len / 16) {
        memcpy(m, out.data, len);
        CHECK(gwlz_base_decompress(&p, m, len, dec, aux2) != GWLZ_OK, "case %zu: truncated to %zu accepted",
              c, len);
      }
      uint64_t r = 77 + c;
      for (int k = 0; m && k < 400; k++) {
        memcpy(m, out.data, out.size);
        for (int j = 0; j < 1 + k % 4; j++) {
          uint64_t v = gwlz_rng_next(&r);
          m[v % out.size] ^= (uint8_t)(1u + (v >> 32) % 255);
        }
        (void)gwlz_base_decompress(&p, m, out.size, dec, aux2);
      }
      free(m);
    }
    gwlz_wbuf_free(&out);
    free(d);
    free(rec);
    free(dec);
    free(aux);
    free(aux2);
  }
}

/* The sampled estimate against the real payload on fields with more blocks
 * than the sample: bits per value and MSE of the same order. */
static void estimate(void) {
  static const char *files[] = {"hst_acs_j8bt06nyq_sci_1024x1024.f32",
                                "ferret_navywinds_u_132x73x144.f32"};
  tu_field *fs = NULL;
  int nf = tu_load_manifest(&fs);
  const gwlz_base_impl *im = gwlz_base_impls[GWLZ_BASE_ZFP];
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++)
    for (int i = 0; i < nf; i++) {
      if (strcmp(fs[i].file, files[k]) != 0) continue;
      size_t size = 0, ts = tu_type_size(fs[i].type);
      void *d = tu_read_file(fs[i].path, &size);
      void *rec = malloc(fs[i].num_values * ts);
      gwlz_base_params p;
      memset(&p, 0, sizeof p);
      p.type = fs[i].type;
      p.ndims = fs[i].ndims;
      memcpy(p.dims, fs[i].dims, sizeof p.dims);
      p.n = fs[i].num_values;
      p.abs_eb = 1e-3 * (fs[i].max - fs[i].min);
      p.threads = 1;
      double bits = 0, mse = 0;
      gwlz_wbuf out;
      gwlz_wbuf_init(&out);
      gwlz_error e = d && rec && size == p.n * ts ? im->estimate(&p, d, &bits, &mse) : GWLZ_ERR_MEMORY;
      if (!e) e = im->compress(&p, d, rec, NULL, &out, NULL);
      CHECK(e == GWLZ_OK, "%s: estimate/compress: %s", files[k], gwlz_error_string(e));
      if (!e) {
        double real_bits = 8.0 * (double)out.size / (double)p.n, real_mse = 0;
        for (size_t j = 0; j < p.n; j++) {
          double a = ts == 8 ? ((double *)d)[j] : ((float *)d)[j];
          double b = ts == 8 ? ((double *)rec)[j] : ((float *)rec)[j];
          real_mse += (a - b) * (a - b);
        }
        real_mse /= (double)p.n;
        printf("%s: estimate %.3f bits/value, MSE %.4g; payload %.3f bits/value, MSE %.4g\n",
               files[k], bits, mse, real_bits, real_mse);
        CHECK(bits > 0.5 * real_bits && bits < 2 * real_bits && mse > 0.25 * real_mse &&
                  mse < 4 * real_mse,
              "%s: estimate far from the payload", files[k]);
      }
      gwlz_wbuf_free(&out);
      free(d);
      free(rec);
    }
  free(fs);
}

int main(void) {
  if (!gwlz_base_available(GWLZ_BASE_ZFP)) {
    printf("test_zfp: built without libzfp, skipped\n");
    return 0;
  }
  double t0 = tu_now();
  base_contract();
  estimate();
  synthetic();
  shared_fields();
  printf("test_zfp: %.2f s\n", tu_now() - t0);
  return tu_finish();
}
