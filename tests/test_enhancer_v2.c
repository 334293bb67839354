/*
 * test_enhancer_v2.c - the version 2 enhancer (enhance/v2.h) on real fields
 * with X' and the side information aux from the interp base:
 *  - strict bound; the decoder reproduces the compressor's output bit for bit
 *    with 1, 2 and 3 threads and with the scalar, AVX2 and AVX-512 kernels;
 *  - compressing with 1 and 2 threads gives identical payloads;
 *  - inference on boxes: the bytes of the whole-field decoder, with X'
 *    poisoned (NaN) outside the box grown by the halo E2_HALO;
 *  - the encoder in steps over windows of rows (as the chunked streaming
 *    compressor runs it; each window copied out, so that nothing outside it
 *    can be read): the payloads and statistics of the whole-field encoder,
 *    for windows of 1, 2 and 5 planes, with and without a mask, 2-D to 4-D;
 *  - relaxed policy: error <= 2 eb, no EXCP;
 *  - without side information (aux NULL) it still works and never loses;
 *  - damaged payloads never crash; truncations are rejected; an EXCP that
 *    lists a cell that is not corrected is rejected;
 *  - pure noise: nothing is kept.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "enhance/enhancer.h"
#include "enhance/v2.h"
#include "testutil.h"

typedef struct {
  gwlz_enh_params p;
  void *x, *xr;
  uint8_t *aux;
  size_t bytes;
} fixture;

static int fixture_make(fixture *F, const tu_field *f, const void *data, double rel, int threads) {
  memset(F, 0, sizeof(*F));
  const size_t n = f->num_values, ts = tu_type_size(f->type);
  F->bytes = n * ts;
  F->x = malloc(F->bytes);
  F->xr = malloc(F->bytes);
  F->aux = (uint8_t *)malloc(n);
  if (!F->x || !F->xr || !F->aux) return 0;
  memcpy(F->x, data, F->bytes);
  gwlz_base_params bp;
  memset(&bp, 0, sizeof(bp));
  bp.type = f->type;
  bp.ndims = f->ndims;
  memcpy(bp.dims, f->dims, sizeof(bp.dims));
  bp.n = n;
  bp.abs_eb = rel * (f->max - f->min);
  bp.threads = 1;
  gwlz_wbuf w;
  gwlz_wbuf_init(&w);
  gwlz_base_info info;
  gwlz_error e = gwlz_base_compress(&bp, GWLZ_BASE_INTERP, F->x, F->xr, F->aux, &w, &info);
  gwlz_enh_params *p = &F->p;
  p->type = f->type;
  p->ndims = f->ndims;
  memcpy(p->dims, f->dims, sizeof(p->dims));
  p->n = n;
  p->abs_eb = bp.abs_eb;
  p->groups = GWLZ_DEFAULT_GROUPS;
  p->kind = GWLZ_ENH_AUTO;
  p->arch = GWLZ_ARCH_DEFAULT;
  p->threads = threads;
  p->policy = GWLZ_BOUND_STRICT;
  p->aux = F->aux;
  p->base_bytes = w.size + 100;
  p->rd_slope = gwlz_enh_rd_slope(n, p->base_bytes);
  gwlz_wbuf_free(&w);
  return e == GWLZ_OK;
}

static void fixture_free(fixture *F) {
  free(F->x);
  free(F->xr);
  free(F->aux);
}

typedef struct {
  gwlz_wbuf m, e;
  void *y;
  gwlz_enh_stats s;
} result;

static gwlz_error enhance(const fixture *F, const gwlz_enh_params *p, result *r) {
  gwlz_wbuf_init(&r->m);
  gwlz_wbuf_init(&r->e);
  r->y = malloc(F->bytes);
  if (!r->y) return GWLZ_ERR_MEMORY;
  return gwlz_enh_compress(p, F->x, F->xr, r->y, &r->m, &r->e, &r->s);
}

static void result_free(result *r) {
  gwlz_wbuf_free(&r->m);
  gwlz_wbuf_free(&r->e);
  free(r->y);
}

/* decoded bytes equal y; threads and vector paths as given */
static int decodes_to(const fixture *F, const gwlz_enh_params *p, const result *r, int threads, int isa) {
  void *z = malloc(F->bytes);
  if (!z) return 0;
  memcpy(z, F->xr, F->bytes);
  gwlz_enh_params q = *p;
  q.threads = threads;
  const int keep = gwlz_e2_isa;
  gwlz_e2_isa = isa;
  gwlz_error e = gwlz_enh_decompress(&q, r->m.data, r->m.size, r->e.data, r->e.size, z);
  gwlz_e2_isa = keep;
  int ok = e == GWLZ_OK && memcmp(z, r->y, F->bytes) == 0;
  free(z);
  return ok;
}

static double sse_of(gwlz_type t, const void *a, const void *b, size_t n, double *maxerr) {
  double s = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = t == GWLZ_TYPE_DOUBLE ? ((const double *)a)[i] - ((const double *)b)[i]
                                     : (double)((const float *)a)[i] - (double)((const float *)b)[i];
    s += d * d;
    m = fabs(d) > m ? fabs(d) : m;
  }
  *maxerr = m;
  return s;
}

/* Boxes: the whole-field output inside them, from X' poisoned outside the
 * box grown by the halo. */
static void check_boxes(const fixture *F, const result *r, const char *name) {
  e2_geom g;
  e2_model *M = (e2_model *)malloc(sizeof(e2_model));
  size_t *exc = NULL, nexc = 0;
  if (!M || gwlz_e2_geom(&F->p, &g) != GWLZ_OK) {
    free(M);
    return;
  }
  CHECK(gwlz_e2_parse_models(r->m.data, r->m.size, &g, M) == GWLZ_OK, "%s: parse", name);
  if (r->e.size) CHECK(gwlz_e2_parse_exceptions(r->e.data, r->e.size, g.n, &exc, &nexc) == GWLZ_OK, "%s: exc", name);
  const size_t ts = gwlz_type_size(g.type);
  uint8_t *poison = (uint8_t *)malloc(F->bytes), *out = (uint8_t *)malloc(F->bytes);
  uint64_t rng = 99;
  for (int trial = 0; trial < 6 && poison && out; trial++) {
    size_t lo[4], hi[4], st[4], cnt = 1;
    for (int a = 0; a < g.nd; a++) {
      size_t e1 = (size_t)(gwlz_rng_next(&rng) % g.N[a]), e2 = (size_t)(gwlz_rng_next(&rng) % g.N[a]);
      if (trial == 0) { /* a box at the origin corner */
        e1 = 0;
        e2 = g.N[a] / 3;
      }
      lo[a] = e1 < e2 ? e1 : e2;
      hi[a] = (e1 < e2 ? e2 : e1) + 1;
      cnt *= hi[a] - lo[a];
    }
    st[g.nd - 1] = 1;
    for (int a = g.nd - 2; a >= 0; a--) st[a] = st[a + 1] * g.N[a + 1];
    for (size_t i = 0; i < g.n; i++) { /* NaN outside the grown box */
      size_t rem = i;
      int inside = 1;
      for (int a = g.nd - 1; a >= 0; a--) {
        const size_t c = rem % g.N[a];
        rem /= g.N[a];
        const int used = a >= g.nd - g.k;
        const size_t h = used ? E2_HALO : 0;
        if (c + h < lo[a] || c >= hi[a] + h) inside = 0;
      }
      if (inside)
        memcpy(poison + i * ts, (const uint8_t *)F->xr + i * ts, ts);
      else if (g.type == GWLZ_TYPE_DOUBLE)
        ((double *)poison)[i] = NAN;
      else
        ((float *)poison)[i] = NAN;
    }
    gwlz_error e = gwlz_e2_apply_box(M, &g, poison, F->aux, NULL, exc, nexc, lo, hi, out);
    CHECK(e == GWLZ_OK, "%s: box %d: %s", name, trial, gwlz_error_string(e));
    size_t bad = 0;
    for (size_t k = 0; k < cnt && e == GWLZ_OK; k++) {
      size_t rem = k, i = 0, mul = 1;
      for (int a = g.nd - 1; a >= 0; a--) {
        const size_t ext = hi[a] - lo[a];
        i += (lo[a] + rem % ext) * st[a];
        rem /= ext;
        (void)mul;
      }
      if (memcmp(out + k * ts, (const uint8_t *)r->y + i * ts, ts)) bad++;
    }
    CHECK(bad == 0, "%s: box %d: %zu of %zu cells differ from the whole field", name, trial, bad, cnt);
  }
  free(poison);
  free(out);
  free(exc);
  free(M);
}

/* Damaged payloads: no crash; truncations rejected. */
static void abuse(const fixture *F, const result *r, const char *name) {
  void *z = malloc(F->bytes);
  uint8_t *mc = (uint8_t *)malloc(r->m.size + 1), *ec = (uint8_t *)malloc(r->e.size + 1);
  if (!z || !mc || !ec) goto out;
  const size_t step = r->m.size > 100 ? r->m.size / 50 : 1;
  for (size_t len = 1; len < r->m.size; len += step) {
    memcpy(z, F->xr, F->bytes);
    CHECK(gwlz_enh_decompress(&F->p, r->m.data, len, r->e.data, r->e.size, z) != GWLZ_OK,
          "%s: models cut to %zu of %zu accepted", name, len, r->m.size);
  }
  const size_t estep = r->e.size > 60 ? r->e.size / 30 : 1;
  for (size_t len = 1; len < r->e.size; len += estep) {
    memcpy(z, F->xr, F->bytes);
    CHECK(gwlz_enh_decompress(&F->p, r->m.data, r->m.size, r->e.data, len, z) != GWLZ_OK,
          "%s: exceptions cut to %zu of %zu accepted", name, len, r->e.size);
  }
  uint64_t rng = 7;
  for (int trial = 0; trial < 200; trial++) {
    memcpy(mc, r->m.data, r->m.size);
    if (r->e.size) memcpy(ec, r->e.data, r->e.size);
    const int which = r->e.size && (trial & 1);
    uint8_t *buf = which ? ec : mc;
    const size_t sz = which ? r->e.size : r->m.size;
    buf[gwlz_rng_next(&rng) % sz] ^= (uint8_t)(1u << (gwlz_rng_next(&rng) % 8));
    memcpy(z, F->xr, F->bytes);
    (void)gwlz_enh_decompress(&F->p, mc, r->m.size, r->e.size ? ec : NULL, r->e.size, z);
  }
  /* an exception at a cell that is not corrected: the first exact cell */
  size_t bad_at = F->p.n;
  for (size_t i = 0; i < F->p.n && bad_at == F->p.n; i++)
    if (F->aux[i] & GWLZ_AUX_EXACT) bad_at = i;
  if (bad_at < F->p.n) {
    gwlz_wbuf w;
    gwlz_wbuf_init(&w);
    gwlz_e2_write_exceptions(&bad_at, 1, &w);
    memcpy(z, F->xr, F->bytes);
    CHECK(gwlz_enh_decompress(&F->p, r->m.data, r->m.size, w.data, w.size, z) == GWLZ_ERR_CORRUPT,
          "%s: exception at an uncorrected cell accepted", name);
    gwlz_wbuf_free(&w);
  }
out:
  free(z);
  free(mc);
  free(ec);
}

/* The encoder in steps (gwlz_e2_enc_*) over windows of `planes` planes of
 * the first squeezed axis with E2_HALO planes of halo, each window and slice
 * of originals copied to buffers of their own. */
static gwlz_error windowed(const fixture *F, const gwlz_enh_params *p, size_t planes, gwlz_wbuf *m,
                           gwlz_wbuf *e, gwlz_enh_stats *st) {
  e2_geom g;
  gwlz_error err = gwlz_e2_geom(p, &g);
  if (err != GWLZ_OK) return err;
  if (g.nd < 2) return GWLZ_ERR_PARAM;
  const size_t ts = gwlz_type_size(p->type), N0 = g.N[0], rp = g.n / N0 / g.nx, H = E2_HALO;
  gwlz_e2_enc *E = NULL;
  int active = 0;
  err = gwlz_e2_enc_open(p, NULL, NULL, &E);
  for (int pass = 0; pass < 2 && err == GWLZ_OK; pass++) {
    if (pass == 1 && !active) break;
    for (size_t a0 = 0; a0 < N0 && err == GWLZ_OK; a0 += planes) {
      const size_t a1 = a0 + planes < N0 ? a0 + planes : N0;
      const size_t wa = a0 >= H ? a0 - H : 0, wb = a1 + H < N0 ? a1 + H : N0;
      const size_t wn = (wb - wa) * rp * g.nx, xn = (a1 - a0) * rp * g.nx;
      e2_geom gw = g;
      gw.N[0] = wb - wa;
      gw.n = wn;
      gw.nrows = wn / g.nx;
      if (g.nd == 3) gw.nz = wb - wa;
      if (g.nd == 2) gw.ny = wb - wa;
      uint8_t *xr = (uint8_t *)malloc(wn * ts), *x = (uint8_t *)malloc(xn * ts);
      uint8_t *aux = p->aux ? (uint8_t *)malloc(wn) : NULL, *mask = p->mask ? (uint8_t *)malloc(wn) : NULL;
      if (!xr || !x || (p->aux && !aux) || (p->mask && !mask)) {
        err = GWLZ_ERR_MEMORY;
      } else {
        memcpy(xr, (const uint8_t *)F->xr + wa * rp * g.nx * ts, wn * ts);
        memcpy(x, (const uint8_t *)F->x + a0 * rp * g.nx * ts, xn * ts);
        if (aux) memcpy(aux, p->aux + wa * rp * g.nx, wn);
        if (mask) memcpy(mask, p->mask + wa * rp * g.nx, wn);
        gwlz_e2_window w = {&gw, wa * rp, xr, aux, mask, x, a0 * rp};
        err = pass == 0 ? gwlz_e2_enc_sample(E, &w, a0 * rp, a1 * rp)
                        : gwlz_e2_enc_infer(E, &w, a0 * rp, a1 * rp, NULL);
      }
      free(xr);
      free(x);
      free(aux);
      free(mask);
    }
    if (pass == 0 && err == GWLZ_OK) err = gwlz_e2_enc_train(E, &active);
  }
  if (err == GWLZ_OK) err = gwlz_e2_enc_finish(E, NULL, m, e, st);
  gwlz_e2_enc_close(E);
  return err;
}

/* Windowed payloads and statistics equal those of the whole field. */
static void check_windows(const fixture *F, const gwlz_enh_params *p0, const char *name) {
  gwlz_enh_params p = *p0;
  p.err_scale = 0.5;
  gwlz_wbuf m0, e0;
  gwlz_enh_stats s0;
  gwlz_wbuf_init(&m0);
  gwlz_wbuf_init(&e0);
  CHECK(gwlz_enh_compress(&p, F->x, F->xr, NULL, &m0, &e0, &s0) == GWLZ_OK, "%s: whole", name);
  static const size_t planes[3] = {1, 2, 5};
  for (int k = 0; k < 3; k++) {
    gwlz_wbuf m1, e1;
    gwlz_enh_stats s1;
    gwlz_wbuf_init(&m1);
    gwlz_wbuf_init(&e1);
    memset(&s1, 0, sizeof s1);
    CHECK(windowed(F, &p, planes[k], &m1, &e1, &s1) == GWLZ_OK, "%s: windows of %zu", name, planes[k]);
    CHECK(m0.size == m1.size && !memcmp(m0.data, m1.data, m0.size) && e0.size == e1.size &&
              (e0.size == 0 || !memcmp(e0.data, e1.data, e0.size)),
          "%s: windows of %zu planes: payloads differ (%zu/%zu, %zu/%zu B)", name, planes[k],
          m0.size, m1.size, e0.size, e1.size);
    CHECK(s0.out_sse == s1.out_sse && s0.out_maxerr == s1.out_maxerr &&
              s0.out_count == s1.out_count && s0.exceptions == s1.exceptions,
          "%s: windows of %zu planes: statistics differ", name, planes[k]);
    gwlz_wbuf_free(&m1);
    gwlz_wbuf_free(&e1);
  }
  gwlz_wbuf_free(&m0);
  gwlz_wbuf_free(&e0);
}

static void run_field(const tu_field *f, const void *data, double rel, int full) {
  fixture F;
  result a, b;
  char name[256];
  snprintf(name, sizeof name, "%s rel %g", f->file, rel);
  if (!fixture_make(&F, f, data, rel, 2)) {
    CHECK(0, "%s: base", name);
    fixture_free(&F);
    return;
  }
  double m0, m1;
  const double s0 = sse_of(f->type, F.x, F.xr, f->num_values, &m0);
  CHECK(enhance(&F, &F.p, &a) == GWLZ_OK, "%s: compress", name);
  const double s1 = sse_of(f->type, F.x, a.y, f->num_values, &m1);
  CHECK(m1 <= F.p.abs_eb, "%s: bound broken (%g > %g)", name, m1, F.p.abs_eb);
  CHECK(s1 <= s0, "%s: worse than X'", name);
  CHECK(a.m.size == 0 || a.m.data[0] == 2, "%s: payload version", name);
  for (int th = 1; th <= 3; th++)
    for (int isa = 0; isa <= 2; isa++)
      if (th == 2 || isa == 2) CHECK(decodes_to(&F, &F.p, &a, th, isa), "%s: decode (%d threads, isa %d)", name, th, isa);
  printf("%-44s rel %-6g gain %+6.2f dB  groups %3d  model %5zu B  exc %6zu (%zu B)\n", f->file, rel,
         10 * log10(s0 / (s1 > 0 ? s1 : 1e-300)), a.s.groups_kept, a.m.size, a.s.exceptions, a.e.size);
  if (full && a.m.size) {
    gwlz_enh_params p1 = F.p;
    p1.threads = 1;
    CHECK(enhance(&F, &p1, &b) == GWLZ_OK, "%s: compress 1 thread", name);
    CHECK(a.m.size == b.m.size && !memcmp(a.m.data, b.m.data, a.m.size) && a.e.size == b.e.size &&
              (a.e.size == 0 || !memcmp(a.e.data, b.e.data, a.e.size)),
          "%s: payloads differ between 1 and 2 threads", name);
    result_free(&b);
    /* without the output: the same payloads, and its error statistics */
    {
      gwlz_enh_params pq = F.p;
      pq.err_scale = 0.5;
      gwlz_enh_stats sq;
      gwlz_wbuf_init(&b.m);
      gwlz_wbuf_init(&b.e);
      b.y = NULL;
      CHECK(gwlz_enh_compress(&pq, F.x, F.xr, NULL, &b.m, &b.e, &sq) == GWLZ_OK,
            "%s: compress without output", name);
      CHECK(a.m.size == b.m.size && !memcmp(a.m.data, b.m.data, a.m.size) && a.e.size == b.e.size &&
                (a.e.size == 0 || !memcmp(a.e.data, b.e.data, a.e.size)),
            "%s: payloads differ without output", name);
      double mq;
      const double sy = sse_of(f->type, F.x, a.y, f->num_values, &mq) / (0.5 * 0.5);
      CHECK(sq.out_count == f->num_values && sq.out_maxerr == mq &&
                fabs(sq.out_sse - sy) <= 1e-9 * (sy > 0 ? sy : 1),
            "%s: output statistics %g / %g / %zu, expected %g / %g / %zu", name, sq.out_sse,
            sq.out_maxerr, sq.out_count, sy, mq, f->num_values);
      result_free(&b);
    }
    check_boxes(&F, &a, name);
    if (F.p.ndims >= 2) {
      check_windows(&F, &F.p, name);
      /* with special cells masked */
      uint8_t *mask = (uint8_t *)calloc(f->num_values, 1);
      if (mask) {
        for (size_t i = 0; i < f->num_values; i += 97) mask[i] = 1;
        gwlz_enh_params pm = F.p;
        pm.mask = mask;
        check_windows(&F, &pm, name);
        free(mask);
      }
    }
    abuse(&F, &a, name);
    /* relaxed policy */
    gwlz_enh_params pr = F.p;
    pr.policy = GWLZ_BOUND_RELAXED;
    CHECK(enhance(&F, &pr, &b) == GWLZ_OK, "%s: relaxed", name);
    sse_of(f->type, F.x, b.y, f->num_values, &m1);
    CHECK(m1 <= 2 * F.p.abs_eb && b.e.size == 0, "%s: relaxed: max err %g, EXCP %zu B", name, m1, b.e.size);
    CHECK(decodes_to(&F, &pr, &b, 2, 2), "%s: relaxed decode", name);
    result_free(&b);
    /* no side information */
    gwlz_enh_params pn = F.p;
    pn.aux = NULL;
    CHECK(enhance(&F, &pn, &b) == GWLZ_OK, "%s: no aux", name);
    const double s2 = sse_of(f->type, F.x, b.y, f->num_values, &m1);
    CHECK(m1 <= F.p.abs_eb && s2 <= s0, "%s: no aux: bound or worse", name);
    CHECK(decodes_to(&F, &pn, &b, 2, 2), "%s: no aux decode", name);
    result_free(&b);
  }
  result_free(&a);
  fixture_free(&F);
}

/* pure noise within the bound: nothing to learn */
static void run_noise(void) {
  tu_field f;
  memset(&f, 0, sizeof(f));
  snprintf(f.file, sizeof f.file, "noise");
  f.type = GWLZ_TYPE_FLOAT;
  f.ndims = 3;
  f.dims[0] = f.dims[1] = f.dims[2] = 40;
  f.num_values = 64000;
  float *x = (float *)malloc(f.num_values * 4);
  uint64_t rng = 5;
  for (size_t i = 0; i < f.num_values; i++) x[i] = (float)gwlz_rng_uniform(&rng);
  f.min = 0;
  f.max = 1;
  fixture F;
  result a;
  if (x && fixture_make(&F, &f, x, 1e-2, 2)) {
    CHECK(enhance(&F, &F.p, &a) == GWLZ_OK, "noise: compress");
    CHECK(a.m.size == 0 && a.e.size == 0, "noise: %zu + %zu bytes kept", a.m.size, a.e.size);
    result_free(&a);
  }
  fixture_free(&F);
  free(x);
}

int main(void) {
  tu_field *fields = NULL;
  int nf = tu_load_manifest(&fields);
  CHECK(nf > 0, "manifest not found under %s", tu_data_dir());
  static const char *pick[] = {"nyx_plane_dark_matter_density_64x512.f32", "vtk_chi_s3d_50x50x50.f32",
                               "nyxlya50_nhi_50x50x50.f64", "vasp_fe3o4_chgcar_72x72x72.f32",
                               "sz3_testfloat_8x8x128.f32"};
  for (int i = 0; i < nf; i++) {
    int want = -1;
    for (int k = 0; k < (int)(sizeof(pick) / sizeof(pick[0])); k++)
      if (!strcmp(fields[i].file, pick[k])) want = k;
    if (want < 0) continue;
    size_t size = 0;
    void *data = tu_read_file(fields[i].path, &size);
    CHECK(data && size == fields[i].num_values * tu_type_size(fields[i].type), "%s: read", fields[i].file);
    if (data) {
      run_field(&fields[i], data, 5e-3, want < 4);
      run_field(&fields[i], data, 1e-4, 0);
      if (want == 3) { /* the same values as a 4-D array: 8 x 9 x 72 x 72 */
        tu_field f4 = fields[i];
        f4.ndims = 4;
        f4.dims[0] = 8;
        f4.dims[1] = 9;
        f4.dims[2] = f4.dims[3] = 72;
        snprintf(f4.file, sizeof f4.file, "vasp_fe3o4_chgcar as 8x9x72x72");
        run_field(&f4, data, 5e-3, 1);
      }
    }
    free(data);
  }
  free(fields);
  run_noise();
  return tu_finish();
}
