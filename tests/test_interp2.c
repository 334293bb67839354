/* test_interp2.c - BASE mode 6 (scheduled interpolation / Lorenzo with
 * context-modelled range coding, docs/format.md §9.12):
 *  - every schedule option (kinds, orders, MD with weights, frozen
 *    dimensions, level factors, Lorenzo, small radius, every kdiv) on f32
 *    and f64 fields of 1 to 4 dimensions: the bound holds at every value,
 *    the decoder rebuilds the compressor's reconstruction bit for bit and
 *    the side information is equal at both ends;
 *  - the coder's own bit coding agrees with format/rangecoder.h both ways;
 *  - damaged payloads (every truncation, bit flips, trailing bytes, bad
 *    header fields) give an error or some output, never a crash;
 *  - payloads of the mode 1/2 writer of earlier versions still decode. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/interp2.h"
#include "testutil.h"


static uint64_t rng = 777;
static double urand(void) { return gwlz_rng_uniform(&rng); }

static double getv(const void *a, size_t i, int isd) {
  return isd ? ((const double *)a)[i] : (double)((const float *)a)[i];
}

/* A smooth field with some noise and a few spikes. */
static void *make_field(int isd, int nd, const size_t *dims, double noise, size_t *n_out) {
  size_t n = 1;
  for (int e = 0; e < nd; e++) n *= dims[e];
  void *a = malloc(n * (isd ? 8 : 4));
  for (size_t i = 0; i < n; i++) {
    size_t r = i, c[4] = {0, 0, 0, 0};
    for (int e = nd - 1; e >= 0; e--) {
      c[e] = r % dims[e];
      r /= dims[e];
    }
    double v = sin(0.21 * (double)c[0]) * cos(0.13 * (double)c[1]) + 0.3 * sin(0.4 * (double)c[2]) +
               0.1 * (double)c[3] + noise * (urand() - 0.5);
    if (i % 211 == 17) v += 50.0;
    if (isd)
      ((double *)a)[i] = v;
    else
      ((float *)a)[i] = (float)v;
  }
  *n_out = n;
  return a;
}

static void params(gwlz_base_params *p, int isd, int nd, const size_t *dims, double eb) {
  memset(p, 0, sizeof *p);
  p->type = isd ? GWLZ_TYPE_DOUBLE : GWLZ_TYPE_FLOAT;
  p->ndims = nd;
  p->n = 1;
  for (int e = 0; e < nd; e++) {
    p->dims[e] = dims[e];
    p->n *= dims[e];
  }
  p->abs_eb = eb;
}

/* Damage a payload: truncations, bit flips, trailing bytes. */
static void damage(const char *name, const gwlz_base_params *p, const uint8_t *pay, size_t size) {
  size_t bytes = p->n * gwlz_type_size(p->type);
  void *dec = malloc(bytes);
  uint8_t *aux = (uint8_t *)malloc(p->n);
  uint8_t *cp = (uint8_t *)malloc(size + 8);
  size_t step = size > 400 ? size / 200 : 1;
  for (size_t len = 0; len < size; len += step) {
    memcpy(cp, pay, len);
    CHECK(gwlz_base_decompress(p, cp, len, dec, aux) != GWLZ_OK, "%s: truncated (%zu of %zu) accepted",
          name, len, size);
  }
  for (int k = 0; k < 600; k++) {
    memcpy(cp, pay, size);
    size_t pos = (size_t)(urand() * (double)size) % size;
    cp[pos] ^= (uint8_t)(1u << (int)(urand() * 8));
    if (k & 1) cp[(size_t)(urand() * 40.0) % size] ^= 0xff;
    (void)gwlz_base_decompress(p, cp, size, dec, aux);
  }
  memcpy(cp, pay, size);
  memset(cp + size, 0x5A, 3);
  CHECK(gwlz_base_decompress(p, cp, size + 3, dec, NULL) != GWLZ_OK, "%s: trailing bytes accepted",
        name);
  free(dec);
  free(aux);
  free(cp);
}

/* Code data with schedule c; check bound, decoder, side information. */
static size_t check_cfg(const char *name, const gwlz_i2_cfg *c, int isd, const void *data,
                        const gwlz_base_params *p, int dmg) {
  size_t bytes = p->n * gwlz_type_size(p->type);
  void *rec = malloc(bytes), *dec = malloc(bytes);
  uint8_t *aux = (uint8_t *)malloc(p->n), *aux2 = (uint8_t *)malloc(p->n);
  memset(rec, 0xff, bytes);
  memset(dec, 0xee, bytes);
  memset(aux2, 0x33, p->n);
  gwlz_wbuf out;
  gwlz_wbuf_init(&out);
  size_t nunp = 0;
  gwlz_error e = gwlz_i2_payload(p, c, data, rec, aux, &out, &nunp);
  CHECK(e == GWLZ_OK, "%s: compress error %d", name, (int)e);
  size_t bad = 0, size = 0;
  for (size_t i = 0; e == GWLZ_OK && i < p->n; i++)
    if (!(fabs(getv(data, i, isd) - getv(rec, i, isd)) <= p->abs_eb)) bad++;
  CHECK(bad == 0, "%s: bound broken at %zu values", name, bad);
  if (e == GWLZ_OK) {
    e = gwlz_base_decompress(p, out.data, out.size, dec, aux2);
    CHECK(e == GWLZ_OK, "%s: decompress error %d", name, (int)e);
    CHECK(e != GWLZ_OK || memcmp(rec, dec, bytes) == 0, "%s: decoder differs", name);
    CHECK(e != GWLZ_OK || memcmp(aux, aux2, p->n) == 0, "%s: side information differs", name);
    size_t exact = 0;
    for (size_t i = 0; i < p->n; i++) exact += (aux[i] & GWLZ_AUX_EXACT) != 0;
    CHECK(exact == nunp, "%s: %zu exact in aux, %zu unpredictable", name, exact, nunp);
    size = out.size;
    if (dmg) damage(name, p, out.data, out.size);
  }
  gwlz_wbuf_free(&out);
  free(rec);
  free(dec);
  free(aux);
  free(aux2);
  return size;
}

static void base_cfg(gwlz_i2_cfg *c, const gwlz_base_params *p) {
  gwlz_shape s;
  gwlz_base_squeeze(p, &s);
  memset(c, 0, sizeof *c);
  c->nd = s.nd;
  for (int e = 0; e < s.nd; e++) c->n[e] = s.n[e];
  c->L = gwlz_i2_levels(c->nd, c->n);
  c->eb = p->abs_eb;
  c->radius = 1u << 20;
  c->kdiv = 4;
  for (int l = 1; l <= c->L; l++) {
    c->kind[l] = 1;
    for (int e = 0; e < c->nd; e++) c->w[l][e] = 1;
  }
}

static int fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }

static void test_schedules(void) {
  static const struct {
    int nd;
    size_t dims[4];
  } shapes[] = {{1, {1000}}, {1, {2}},         {2, {37, 45}},       {2, {64, 3}},
                {3, {17, 9, 23}}, {3, {8, 8, 8}}, {3, {2, 30, 5}}, {4, {5, 6, 7, 9}},
                {4, {3, 2, 9, 4}}, {3, {1, 40, 33}}};
  int ncase = 0;
  for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
    for (int isd = 0; isd < 2; isd++) {
      size_t n;
      void *a = make_field(isd, shapes[sh].nd, shapes[sh].dims, sh % 3 == 2 ? 0.5 : 0.01, &n);
      double mn = INFINITY, mx = -INFINITY;
      for (size_t i = 0; i < n; i++) {
        double v = getv(a, i, isd);
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
      }
      for (int variant = 0; variant < 12; variant++) {
        gwlz_base_params p;
        double rel = variant % 3 == 0 ? 1e-2 : (variant % 3 == 1 ? 1e-4 : 1e-6);
        params(&p, isd, shapes[sh].nd, shapes[sh].dims, rel * (mx - mn));
        gwlz_i2_cfg c;
        base_cfg(&c, &p);
        int nf = fact(c.nd);
        for (int l = 1; l <= c.L; l++) {
          c.kind[l] = (uint8_t)((l + variant) % 3);
          c.md[l] = (uint8_t)((variant >> 1) & 1 ? (l & 1) : (variant & 1));
          c.perm[l] = (uint8_t)((l * 7 + variant) % nf);
          c.fq[l] = (uint8_t)(variant == 5 ? 255 : (l * 5 * variant) % 60);
          for (int e = 0; e < c.nd; e++) c.w[l][e] = (uint8_t)(1 + (e * 91 + l * 13 + variant) % 255);
        }
        if (c.nd >= 2 && variant >= 6) c.frozen = 1u << (variant % c.nd);
        if (variant == 9 && c.nd >= 3) c.frozen = 5;
        c.kdiv = variant % 8;
        c.groups = (variant + (int)sh) % 2;
        if (variant == 7) c.radius = 3; /* many unpredictable values */
        if (variant == 8) c.radius = 1;
        if (variant == 10 || variant == 11) c.lorenzo = 1;
        char name[160];
        snprintf(name, sizeof name, "shape %zu %s variant %d", sh, isd ? "f64" : "f32", variant);
        check_cfg(name, &c, isd, a, &p, variant == 4 || variant == 10);
        ncase++;
      }
      free(a);
    }
  }
  printf("schedules: %d cases\n", ncase);
}

/* The coder's bit coding against format/rangecoder.h, both ways. */
static void test_bits(void) {
  enum { N = 20000, NM = 7 };
  uint8_t *bits = (uint8_t *)malloc(N), *back = (uint8_t *)malloc(N);
  for (size_t i = 0; i < N; i++) bits[i] = urand() < (i % NM + 1) * 0.11;
  for (int way = 0; way < 2; way++) {
    gwlz_wbuf out;
    gwlz_wbuf_init(&out);
    gwlz_rc_model m[NM];
    gwlz_rc_model_init(m, NM);
    gwlz_rc_enc e;
    gwlz_rc_enc_init(&e, &out);
    if (way == 0)
      for (size_t i = 0; i < N; i++) gwlz_rc_encode(&e, &m[i % NM], bits[i]);
    else
      gwlz_i2_bits_encode(&e, m, bits, N, NM);
    gwlz_rc_enc_flush(&e);
    gwlz_rc_model_init(m, NM);
    gwlz_rc_dec d;
    CHECK(gwlz_rc_dec_init(&d, out.data, out.size) == GWLZ_OK, "rc init");
    if (way == 0)
      gwlz_i2_bits_decode(&d, m, back, N, NM);
    else
      for (size_t i = 0; i < N; i++) back[i] = (uint8_t)gwlz_rc_decode(&d, &m[i % NM]);
    CHECK(memcmp(bits, back, N) == 0, "bit coding differs from rangecoder.h (way %d)", way);
    CHECK(gwlz_rc_dec_end(&d) == GWLZ_OK, "rc end (way %d)", way);
    gwlz_wbuf_free(&out);
  }
  free(bits);
  free(back);
}

/* Header fields out of range are rejected. */
static void test_header(void) {
  size_t dims[3] = {12, 13, 14}, n;
  void *a = make_field(0, 3, dims, 0.01, &n);
  gwlz_base_params p;
  params(&p, 0, 3, dims, 1e-3);
  gwlz_i2_cfg c;
  base_cfg(&c, &p);
  c.md[2] = 1;
  gwlz_wbuf out;
  gwlz_wbuf_init(&out);
  void *rec = malloc(n * 4);
  CHECK(gwlz_i2_payload(&p, &c, a, rec, NULL, &out, NULL) == GWLZ_OK, "header case");
  /* offsets: 2 nd, 3 scheme, 4 kdiv, 5 eb, 13 radius, 17 frozen, 18 L, 19.. desc */
  static const struct {
    size_t off;
    uint8_t v;
  } bad[] = {{2, 2}, {3, 2}, {4, 16}, {12, 0x7f}, {12, 0xff}, {16, 0x80}, {17, 8},
             {18, 3}, {19, 3}, {19, 6 << 3}};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    uint8_t *cp = (uint8_t *)malloc(out.size);
    memcpy(cp, out.data, out.size);
    if (bad[k].off == 12 && bad[k].v == 0x7f) { /* eb = +inf */
      memset(cp + 5, 0, 6);
      cp[11] = 0xf0;
    }
    if (bad[k].off == 12 && bad[k].v == 0xff) memset(cp + 5, 0, 8); /* eb = 0 */
    cp[bad[k].off] = bad[k].v;
    if (bad[k].off == 12) cp[12] = bad[k].v;
    CHECK(gwlz_base_decompress(&p, cp, out.size, rec, NULL) == GWLZ_ERR_CORRUPT,
          "bad header field %zu (0x%02x) not rejected as corrupt", k, bad[k].v);
    free(cp);
  }
  gwlz_wbuf_free(&out);
  free(rec);
  free(a);
}

/* Payloads of the mode 1/2 writer still decode to what it rebuilt. */
static void test_v1(void) {
  static const struct {
    int nd;
    size_t dims[4];
    double noise;
  } cases[] = {{3, {20, 30, 40}, 0.01}, {2, {100, 90}, 2.0}, {1, {5000}, 0.01}, {4, {6, 7, 8, 9}, 0.1},
               {3, {64, 64, 64}, 0.01}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    for (int isd = 0; isd < 2; isd++) {
      size_t n;
      void *a = make_field(isd, cases[k].nd, cases[k].dims, cases[k].noise, &n);
      gwlz_base_params p;
      params(&p, isd, cases[k].nd, cases[k].dims, 1e-3);
      size_t bytes = n * (isd ? 8 : 4);
      void *rec = malloc(bytes), *dec = malloc(bytes);
      uint8_t *aux = (uint8_t *)malloc(n), *aux2 = (uint8_t *)malloc(n);
      gwlz_wbuf out;
      gwlz_wbuf_init(&out);
      gwlz_base_info info;
      gwlz_error e = gwlz_interp_compress_v1(&p, a, rec, aux, &out, &info);
      CHECK(e == GWLZ_OK && (info.mode == 1 || info.mode == 2), "v1 case %zu: %d mode %d", k, (int)e,
            info.mode);
      e = gwlz_base_decompress(&p, out.data, out.size, dec, aux2);
      CHECK(e == GWLZ_OK && !memcmp(rec, dec, bytes) && !memcmp(aux, aux2, n),
            "v1 case %zu (%s): payload does not decode as before", k, isd ? "f64" : "f32");
      gwlz_wbuf_free(&out);
      free(rec);
      free(dec);
      free(aux);
      free(aux2);
      free(a);
    }
}

int main(void) {
  double t0 = gwlz_now();
  test_bits();
  test_header();
  test_schedules();
  test_v1();
  printf("test_interp2: %.1f s\n", gwlz_now() - t0);
  return tu_finish();
}
