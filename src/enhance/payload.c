/* payload.c - ENHM and EXCP payloads of version 2 (docs/format.md §10.9 and
 * §10.10): a byte header, then a bit-packed body (bits least significant
 * first within each byte; the last byte padded with zero bits). */
#include <math.h>
#include <stdlib.h>

#include "enhance/v2.h"

#define E2_ENH_VERSION 2
#define E2_EXC_VERSION 2

/* ---- bits ---------------------------------------------------------------------- */
typedef struct {
  gwlz_wbuf *out;
  uint64_t acc;
  int n;
} e2_bw;

static void bw_put(e2_bw *b, uint64_t v, int bits) { /* bits <= 32 */
  b->acc |= (v & ((1ull << bits) - 1u)) << b->n;
  b->n += bits;
  while (b->n >= 8) {
    gwlz_wbuf_u8(b->out, (uint8_t)b->acc);
    b->acc >>= 8;
    b->n -= 8;
  }
}

static void bw_flush(e2_bw *b) {
  if (b->n > 0) gwlz_wbuf_u8(b->out, (uint8_t)b->acc);
  b->acc = 0;
  b->n = 0;
}

typedef struct {
  const uint8_t *p;
  size_t size, bit; /* next bit */
} e2_br;

/* 0 on success; 1 when fewer than bits bits are left. */
static int br_get(e2_br *b, int bits, uint64_t *v) {
  if (b->size * 8 - b->bit < (size_t)bits) return 1;
  uint64_t r = 0;
  for (int i = 0; i < bits; i++, b->bit++) r |= (uint64_t)((b->p[b->bit >> 3] >> (b->bit & 7)) & 1u) << i;
  *v = r;
  return 0;
}

/* The rest of the last byte is zero and nothing follows. */
static int br_end_ok(const e2_br *b) {
  if ((b->bit + 7) / 8 != b->size) return 0;
  if (b->bit & 7) return (b->p[b->size - 1] >> (b->bit & 7)) == 0;
  return 1;
}

/* ---- ENHM ------------------------------------------------------------------------ */
#define E2_AMP_BITS 6
#define E2_PFX_BITS 5
#define E2_SHIFT_BITS 5
#define E2_WIDTH_BITS 5

double gwlz_e2_group_bits(int pfx, int width) {
  return 1.0 + E2_AMP_BITS + E2_PFX_BITS + E2_SHIFT_BITS + E2_WIDTH_BITS + (double)pfx * width;
}

/* q of weight w: w * 2^shift (exact), as a signed integer. */
static int64_t e2_q_of(float w, int shift) {
  double v = (double)w;
  for (int i = 0; i < shift; i++) v *= 2.0;
  return (int64_t)v;
}

void gwlz_e2_write_models(const e2_model *M, const e2_geom *g, gwlz_wbuf *out) {
  (void)g;
  const int nb = 1 << M->fl;
  gwlz_wbuf_u8(out, E2_ENH_VERSION);
  gwlz_wbuf_u8(out, (uint8_t)GWLZ_ENH_LINEAR);
  gwlz_wbuf_u8(out, E2_ARCH_SYM);
  gwlz_wbuf_u8(out, (uint8_t)M->rule);
  gwlz_wbuf_u8(out, (uint8_t)M->clamp_code);
  gwlz_wbuf_u8(out, (uint8_t)M->fl);
  gwlz_wbuf_f32(out, (float)M->lo);
  gwlz_wbuf_f32(out, (float)M->hi);
  for (int b = 0; b < nb - 1; b++) gwlz_wbuf_f32(out, (float)M->bnd[b]);
  e2_bw bw = {out, 0, 0};
  for (int c = 0; c < M->nctx; c++) bw_put(&bw, (uint64_t)(M->j[c] + 1), 3);
  for (int grp = 0; grp < M->ngroups; grp++) bw_put(&bw, M->kept[grp], 1);
  for (int grp = 0; grp < M->ngroups; grp++) {
    if (!M->kept[grp]) continue;
    bw_put(&bw, (uint64_t)(M->amp[grp] - 1), E2_AMP_BITS);
    bw_put(&bw, (uint64_t)(M->pfx[grp] - 1), E2_PFX_BITS);
    bw_put(&bw, M->shift[grp], E2_SHIFT_BITS);
    bw_put(&bw, (uint64_t)(M->width[grp] - 1), E2_WIDTH_BITS);
    for (int q = 0; q < M->pfx[grp]; q++)
      bw_put(&bw, (uint64_t)e2_q_of(M->w[grp][q], M->shift[grp]), M->width[grp]);
  }
  bw_flush(&bw);
}

static gwlz_error e2_parse_header(gwlz_rbuf *r, const e2_geom *g, e2_model *M) {
  uint8_t v, kind, arch, rule, cc, fl;
  gwlz_error e;
  float lo, hi;
  if ((e = gwlz_rbuf_u8(r, &v)) != GWLZ_OK) return e;
  if (v != E2_ENH_VERSION) return GWLZ_ERR_VERSION;
  if ((e = gwlz_rbuf_u8(r, &kind)) != GWLZ_OK || (e = gwlz_rbuf_u8(r, &arch)) != GWLZ_OK ||
      (e = gwlz_rbuf_u8(r, &rule)) != GWLZ_OK || (e = gwlz_rbuf_u8(r, &cc)) != GWLZ_OK ||
      (e = gwlz_rbuf_u8(r, &fl)) != GWLZ_OK || (e = gwlz_rbuf_f32(r, &lo)) != GWLZ_OK ||
      (e = gwlz_rbuf_f32(r, &hi)) != GWLZ_OK)
    return e;
  if (kind != GWLZ_ENH_LINEAR || arch != E2_ARCH_SYM || rule > 15 || cc > 25 || fl > E2_MAXFL)
    return GWLZ_ERR_CORRUPT;
  if (!isfinite(lo) || !isfinite(hi) || !(lo <= hi)) return GWLZ_ERR_CORRUPT;
  (void)g;
  memset(M, 0, sizeof(*M));
  M->rule = rule;
  M->clamp_code = cc;
  M->fl = fl;
  M->lo = lo;
  M->hi = hi;
  gwlz_e2_rule_contexts(rule, M->ctx_of, &M->nctx);
  double prev = -INFINITY;
  for (int b = 0; b < (1 << fl) - 1; b++) {
    float f;
    if ((e = gwlz_rbuf_f32(r, &f)) != GWLZ_OK) return e;
    if (!isfinite(f) || (double)f < prev) return GWLZ_ERR_CORRUPT;
    M->bnd[b] = prev = (double)f;
  }
  return GWLZ_OK;
}

static gwlz_error e2_parse_group(e2_br *b, int m, e2_model *M, int grp) {
  uint64_t amp, pfx, sh, wd;
  if (br_get(b, E2_AMP_BITS, &amp) || br_get(b, E2_PFX_BITS, &pfx) || br_get(b, E2_SHIFT_BITS, &sh) ||
      br_get(b, E2_WIDTH_BITS, &wd))
    return GWLZ_ERR_TRUNCATED;
  if ((int)pfx + 1 > m || wd + 1 < 2 || wd + 1 > 24) return GWLZ_ERR_CORRUPT;
  M->amp[grp] = (uint8_t)(amp + 1);
  M->pfx[grp] = (uint8_t)(pfx + 1);
  M->shift[grp] = (uint8_t)sh;
  M->width[grp] = (uint8_t)(wd + 1);
  float scale = 1.0f;
  for (uint64_t i = 0; i < sh; i++) scale *= 0.5f;
  for (int q = 0; q <= (int)pfx; q++) {
    uint64_t u;
    if (br_get(b, (int)wd + 1, &u)) return GWLZ_ERR_TRUNCATED;
    int64_t s = (int64_t)u;
    if (u >> wd) s -= (int64_t)1 << (wd + 1); /* two's complement */
    M->w[grp][q] = (float)s * scale;
  }
  return GWLZ_OK;
}

gwlz_error gwlz_e2_parse_models(const uint8_t *p, size_t size, const e2_geom *g, e2_model *M) {
  gwlz_rbuf r;
  gwlz_error e;
  gwlz_rbuf_init(&r, p, size);
  if ((e = e2_parse_header(&r, g, M)) != GWLZ_OK) return e;
  e2_br b = {p + r.pos, size - r.pos, 0};
  for (int c = 0; c < M->nctx; c++) {
    uint64_t j;
    if (br_get(&b, 3, &j)) return GWLZ_ERR_TRUNCATED;
    if ((int)j > M->fl + 1) return GWLZ_ERR_CORRUPT;
    M->j[c] = (int8_t)((int)j - 1);
  }
  gwlz_e2_model_layout(M);
  int K = 0;
  for (int grp = 0; grp < M->ngroups; grp++) {
    uint64_t k;
    if (br_get(&b, 1, &k)) return GWLZ_ERR_TRUNCATED;
    M->kept[grp] = (uint8_t)k;
    K += (int)k;
  }
  if (K == 0) return GWLZ_ERR_CORRUPT;
  e2_feats fs;
  gwlz_e2_feats_of(g->k, &fs);
  for (int grp = 0; grp < M->ngroups; grp++) {
    if (!M->kept[grp]) continue;
    if ((e = e2_parse_group(&b, fs.m, M, grp)) != GWLZ_OK) return e;
    if (M->pfx[grp] > M->mmax) M->mmax = M->pfx[grp];
  }
  if (!br_end_ok(&b)) return GWLZ_ERR_CORRUPT;
  gwlz_e2_model_prepare(M);
  return GWLZ_OK;
}

/* ---- EXCP -------------------------------------------------------------------------- */
static double e2_rice_bits(const size_t *pos, size_t cnt, int k) {
  double bits = 0.0;
  for (size_t i = 0; i < cnt; i++) {
    size_t gap = i ? pos[i] - pos[i - 1] - 1 : pos[0];
    bits += (double)(gap >> k) + 1.0 + k;
  }
  return bits;
}

gwlz_error gwlz_e2_write_exceptions(const size_t *pos, size_t cnt, gwlz_wbuf *out) {
  int bk = 0;
  double best = e2_rice_bits(pos, cnt, 0);
  for (int k = 1; k <= 40; k++) {
    double b = e2_rice_bits(pos, cnt, k);
    if (b < best) {
      best = b;
      bk = k;
    }
  }
  gwlz_wbuf_u8(out, E2_EXC_VERSION);
  gwlz_wbuf_varint(out, cnt);
  gwlz_wbuf_u8(out, (uint8_t)bk);
  e2_bw bw = {out, 0, 0};
  for (size_t i = 0; i < cnt; i++) {
    size_t gap = i ? pos[i] - pos[i - 1] - 1 : pos[0];
    for (size_t q = gap >> bk; q > 0; q -= q < 32 ? q : 32) bw_put(&bw, 0xFFFFFFFFu, q < 32 ? (int)q : 32);
    bw_put(&bw, 0, 1);
    if (bk > 32) {
      bw_put(&bw, (uint64_t)gap, 32);
      bw_put(&bw, (uint64_t)gap >> 32, bk - 32);
    } else if (bk > 0) {
      bw_put(&bw, (uint64_t)gap, bk);
    }
  }
  bw_flush(&bw);
  return out->err;
}

gwlz_error gwlz_e2_parse_exceptions(const uint8_t *p, size_t size, size_t n, size_t **pos,
                                    size_t *cnt) {
  gwlz_rbuf r;
  gwlz_error e;
  uint8_t v, k;
  uint64_t c;
  *pos = NULL;
  *cnt = 0;
  gwlz_rbuf_init(&r, p, size);
  if ((e = gwlz_rbuf_u8(&r, &v)) != GWLZ_OK) return e;
  if (v != E2_EXC_VERSION) return GWLZ_ERR_VERSION;
  if ((e = gwlz_rbuf_varint(&r, &c)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u8(&r, &k)) != GWLZ_OK) return e;
  if (c < 1 || c > (uint64_t)n || k > 40) return GWLZ_ERR_CORRUPT;
  /* every position takes at least one bit */
  if ((uint64_t)(size - r.pos) * 8 < c) return GWLZ_ERR_TRUNCATED;
  size_t *ps = (size_t *)malloc((size_t)c * sizeof(size_t));
  if (!ps) return GWLZ_ERR_MEMORY;
  e2_br b = {p + r.pos, size - r.pos, 0};
  uint64_t prev = 0;
  e = GWLZ_OK;
  for (size_t i = 0; i < (size_t)c && e == GWLZ_OK; i++) {
    uint64_t q = 0, bit = 1, rem = 0;
    while (e == GWLZ_OK) {
      if (br_get(&b, 1, &bit)) e = GWLZ_ERR_TRUNCATED;
      if (!bit) break;
      if (++q > (uint64_t)n) e = GWLZ_ERR_CORRUPT;
    }
    if (e == GWLZ_OK && k && br_get(&b, k, &rem)) e = GWLZ_ERR_TRUNCATED;
    if (e != GWLZ_OK) break;
    uint64_t gap = (q << k) | rem;
    if (gap >= (uint64_t)n) e = GWLZ_ERR_CORRUPT;
    uint64_t at = i ? prev + 1 + gap : gap;
    if (e == GWLZ_OK && at >= (uint64_t)n) e = GWLZ_ERR_CORRUPT;
    ps[i] = (size_t)at;
    prev = at;
  }
  if (e == GWLZ_OK && !br_end_ok(&b)) e = GWLZ_ERR_CORRUPT;
  if (e != GWLZ_OK) {
    free(ps);
    return e;
  }
  *pos = ps;
  *cnt = (size_t)c;
  return GWLZ_OK;
}

double gwlz_e2_exc_bytes(size_t cnt, size_t n) {
  if (cnt == 0) return 0.0;
  double mean = (double)n / (double)cnt, k = 0.0;
  while (k < 40 && ldexp(1.0, (int)k + 1) <= mean * 0.69) k += 1.0;
  /* Rice bits per gap ~ k + 1 + mean / 2^k; header 1 + varint + 1 */
  return (double)cnt * (k + 1.0 + mean / ldexp(1.0, (int)k)) / 8.0 + 4.0;
}
