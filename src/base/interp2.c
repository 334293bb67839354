/* interp2.c - the interpolation schedule of interp2.h with its codes coded
 * by a context-modelled binary range coder while they are visited.
 * Compressor and decoder share one traversal (i2_run), specialised by the
 * constant flags isd and dec, so they make the same predictions, the same
 * contexts and the same model updates in the same order.
 *
 * Coding of one code k (a signed integer; docs/format.md §9.12):
 *   context: A = sum of the magnitudes |k| (capped at 255) of the neighbours
 *            at +-h along the dimensions the point is interpolated along (the
 *            interpolation sources, coded before), nA their number;
 *            B = the same over the previous point of the step's lattice
 *            along every dimension (coded before in C order), nB;
 *            lv = min(level, 4) - 1 (the origin counts as level L + 1).
 *   zero flag  (k != 0), model Z[lv][q(A)][q(B)], q(v) = min(bitlen(v), 7);
 *   sign       (k < 0), model S[lv];
 *   magnitude  m = |k| >= 1 (m = radius marks an unpredictable value):
 *            e = min(bitlen((A + B) * W[nA + nB] >> 16), 11),
 *            W[c] = floor(262144 / (c + 2)), s = max(0, e - kdiv),
 *            v = m - 1, hi = v >> s: unary bits (hi > j), j = 0..T-1, with
 *            models M[lv][e][j]; hi >= T: Elias-gamma of hi - T + 1 with
 *            exponent models X[min(j, 31)] and bypass mantissa bits; then the
 *            s low bits of v into the raw bit stream. */
#include "base/interp2.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "base/quantizer.h"
#include "format/rangecoder.h"

#define I2_T 18                /* unary part of the magnitude          */
#define I2_NE 12               /* energy classes                       */
#define I2_NZ (4 * 8 * 8 * 4)  /* zero-flag models                     */
#define I2_NM (4 * 4 * I2_NE * I2_T)
#define I2_NX 32
#define I2_GS 32               /* points per group (zero-group flags)  */
#define I2_NG (4 * 3)          /* group-flag models                    */

/* ---- raw bit streams ------------------------------------------------------
 * Bits are packed LSB first: bit j of the stream is bit (j mod 8) of byte
 * floor(j / 8); a field of w bits is written least significant bit first. */
typedef struct {
  uint64_t acc;
  int n;
  gwlz_wbuf *out;
} bitw;

static inline void bitw_put(bitw *w, uint32_t v, int k) {
  w->acc |= (uint64_t)v << w->n;
  w->n += k;
  while (w->n >= 8) {
    gwlz_wbuf_u8(w->out, (uint8_t)w->acc);
    w->acc >>= 8;
    w->n -= 8;
  }
}

static inline void bitw_flush(bitw *w) {
  if (w->n > 0) gwlz_wbuf_u8(w->out, (uint8_t)w->acc);
  w->acc = 0;
  w->n = 0;
}

typedef struct {
  const uint8_t *p, *end;
  uint64_t acc;
  int n;
  size_t over; /* bytes read beyond the end (as zeros) */
} bitr;

static inline uint32_t bitr_get(bitr *r, int k) {
  while (r->n < k) {
    uint64_t b = 0;
    if (GWLZ_LIKELY(r->p < r->end))
      b = *r->p++;
    else
      r->over++;
    r->acc |= b << r->n;
    r->n += 8;
  }
  uint32_t v = (uint32_t)(r->acc & ((1ull << k) - 1));
  r->acc >>= k;
  r->n -= k;
  return v;
}

/* ---- range coding of one modelled bit ---------------------------------------
 * The arithmetic of format/rangecoder.h (docs/format.md §7.4), written
 * without branches on the bit: the same results, bit for bit. */
static GWLZ_ALWAYS_INLINE void i2_model_update(gwlz_rc_model *m, uint32_t bit) {
  uint32_t s = gwlz_rc_shift[m->n], p = m->p, mask = 0u - bit;
  uint32_t up = (65536u - p) >> s, down = p >> s;
  m->p = (uint16_t)(p + (up & ~mask) - (down & mask));
  m->n = (uint16_t)(m->n + (m->n < GWLZ_RC_COUNT_MAX));
}

static GWLZ_ALWAYS_INLINE int i2_dec_bit(gwlz_rc_dec *d, gwlz_rc_model *m) {
  uint32_t bound = (d->range >> GWLZ_RC_PROB_BITS) * m->p;
  uint32_t bit = d->code >= bound, mask = 0u - bit;
  d->code -= bound & mask;
  d->range = (bound & ~mask) | ((d->range - bound) & mask);
  i2_model_update(m, bit);
  while (d->range < GWLZ_RC_TOP) {
    d->range <<= 8;
    d->code = (d->code << 8) | gwlz_rc_next(d);
  }
  return (int)bit;
}

static GWLZ_ALWAYS_INLINE void i2_enc_bit(gwlz_rc_enc *e, gwlz_rc_model *m, uint32_t bit) {
  uint32_t bound = (e->range >> GWLZ_RC_PROB_BITS) * m->p, mask = 0u - bit;
  e->low += (uint64_t)(bound & mask);
  e->range = (bound & ~mask) | ((e->range - bound) & mask);
  i2_model_update(m, bit);
  while (e->range < GWLZ_RC_TOP) {
    e->range <<= 8;
    gwlz_rc_shift_low(e);
  }
}

void gwlz_i2_bits_encode(gwlz_rc_enc *e, gwlz_rc_model *m, const uint8_t *bits, size_t n,
                         unsigned nmodels) {
  for (size_t i = 0; i < n; i++) i2_enc_bit(e, &m[i % nmodels], bits[i]);
}

void gwlz_i2_bits_decode(gwlz_rc_dec *d, gwlz_rc_model *m, uint8_t *bits, size_t n,
                         unsigned nmodels) {
  for (size_t i = 0; i < n; i++) bits[i] = (uint8_t)i2_dec_bit(d, &m[i % nmodels]);
}

/* ---- engine ---------------------------------------------------------------- */
/* The coder states, copied into a local variable around every run of
 * points so that the compiler keeps them in registers. */
typedef struct {
  gwlz_rc_enc enc;
  gwlz_rc_dec dec;
  bitw bw;
  bitr br;
  double sse;
} hot;

typedef struct {
  size_t N[4], ST[4];
  int pad;
  const void *data;
  void *rec;
  uint8_t *mag;
  uint8_t *aux;
  /* quantizer of the current level */
  double eb, twoeb, inv, lim;
  int64_t R;
  /* coding */
  int kdiv;
  int grad;    /* gradient context on */
  int lv;      /* model class of the level */
  uint8_t cls; /* aux class */
  gwlz_rc_model mz[I2_NZ];
  gwlz_rc_model ms[4];
  gwlz_rc_model mm[I2_NM];
  gwlz_rc_model mx[I2_NX];
  gwlz_rc_model mgz[I2_NG];
  int groups; /* zero-group flags on */
  /* unpredictable values */
  gwlz_wbuf *uout;
  size_t nun;
  const uint8_t *uin;
  size_t uin_n, ui;
  int bad;
  hot h;
  size_t cnt;          /* points visited                       */
  double *acct;        /* NULL, or per level l: bits, sse, points */
  int acct_l;          /* level of the points since the last mark */
  double acct_bits, acct_sse;
  size_t acct_cnt;
} eng;

static const uint32_t i2_w[13] = {131072, 87381, 65536, 52428, 43690, 37449, 32768,
                                  29127,  26214, 23831, 21845, 20164, 18724};

static inline int bitlen(uint32_t v) { return v ? 32 - __builtin_clz(v) : 0; }

int gwlz_i2_levels(int nd, const size_t *n) {
  size_t m = 1;
  for (int i = 0; i < nd; i++)
    if (n[i] > m) m = n[i];
  int L = 0;
  while (L < GWLZ_I2_MAXL && ((size_t)1 << L) < m) L++;
  return L;
}

void gwlz_i2_level_counts(const gwlz_i2_cfg *c, double *cnt) {
  double fr = 1.0; /* points of the frozen dimensions */
  memset(cnt, 0, sizeof(double) * (size_t)(c->L + 2));
  if (c->lorenzo) {
    for (int e = 0; e < c->nd; e++) fr *= (double)c->n[e];
    cnt[1] = fr;
    return;
  }
  for (int e = 0; e < c->nd; e++)
    if (c->frozen & (1u << e)) fr *= (double)c->n[e];
  cnt[c->L + 1] = 1.0;
  for (int l = 1; l <= c->L; l++) {
    size_t h = (size_t)1 << (l - 1);
    double all = 1.0, even = 1.0;
    for (int e = 0; e < c->nd; e++) {
      if (c->frozen & (1u << e)) continue;
      all *= (double)((c->n[e] + h - 1) / h);
      even *= (double)((c->n[e] + 2 * h - 1) / (2 * h));
    }
    cnt[l] = fr * (all - even);
  }
  /* the frozen line through the origin: charged to level 1 */
  cnt[1] += fr - 1.0;
}

double gwlz_i2_level_eb(const gwlz_i2_cfg *c, int l) {
  if (l > c->L) l = c->L;
  if (l < 1) return c->eb;
  return c->eb / (1.0 + (double)c->fq[l] / 16.0);
}

void gwlz_i2_order(int nd, int p, int *order) {
  int used[4] = {0, 0, 0, 0}, f = 1;
  for (int i = 2; i < nd; i++) f *= i;
  for (int t = 0; t < nd; t++) {
    int q = f ? p / f : 0;
    p = f ? p % f : 0;
    for (int e = 0; e < nd; e++) {
      if (used[e]) continue;
      if (q-- == 0) {
        order[t] = e;
        used[e] = 1;
        break;
      }
    }
    if (nd - 1 - t > 0) f /= (nd - 1 - t);
  }
}

void gwlz_i2_out_init(gwlz_i2_out *o) {
  memset(o, 0, sizeof *o);
  gwlz_wbuf_init(&o->rc);
  gwlz_wbuf_init(&o->raw);
  gwlz_wbuf_init(&o->unpred);
}

void gwlz_i2_out_free(gwlz_i2_out *o) {
  gwlz_wbuf_free(&o->rc);
  gwlz_wbuf_free(&o->raw);
  gwlz_wbuf_free(&o->unpred);
}

/* Bits written so far (trials only). */
static double bits_so_far(const eng *E) {
  return 8.0 * (double)(E->h.enc.out->size + E->h.enc.cache_size + E->h.bw.out->size +
                        E->uout->size) +
         (double)E->h.bw.n;
}

/* Trials: charge what was coded since the last mark to its level. */
static void acct_mark(eng *E, int l) {
  if (!E->acct) return;
  double b = bits_so_far(E);
  double *a = E->acct + 3 * E->acct_l;
  a[0] += b - E->acct_bits;
  a[1] += E->h.sse - E->acct_sse;
  a[2] += (double)(E->cnt - E->acct_cnt);
  E->acct_l = l;
  E->acct_bits = b;
  E->acct_sse = E->h.sse;
  E->acct_cnt = E->cnt;
}

static void set_level(eng *E, double eb) {
  E->eb = eb;
  E->twoeb = eb * 2.0;
  E->inv = 1.0 / E->twoeb;
  E->lim = (double)(E->R - 1);
}

/* ---- magnitude coding ------------------------------------------------------ */
/* Values u >= 0 past the unary part: Elias gamma of w = u + 1 < 2^33: the
 * exponent e = bitlen(w) - 1 in unary (bits 1 then a 0) with the models
 * X[min(j, 31)], then the e bits of w below its top bit as bypass bits. */
static GWLZ_NOINLINE void enc_escape(eng *E, hot *H, uint64_t u) {
  uint64_t w = u + 1;
  int e = 63 - __builtin_clzll(w);
  for (int j = 0; j < e; j++) i2_enc_bit(&H->enc, &E->mx[j < I2_NX ? j : I2_NX - 1], 1);
  i2_enc_bit(&H->enc, &E->mx[e < I2_NX ? e : I2_NX - 1], 0);
  if (e > 0) gwlz_rc_encode_bypass(&H->enc, (uint32_t)(w & ((1ull << e) - 1)), e);
}

static GWLZ_NOINLINE uint64_t dec_escape(eng *E, hot *H) {
  int e = 0;
  while (i2_dec_bit(&H->dec, &E->mx[e < I2_NX ? e : I2_NX - 1])) {
    if (++e > 32) { /* no writer gets there: radius <= 2^30 */
      E->bad = 1;
      return 0;
    }
  }
  uint64_t w = 1;
  if (e > 0) w = (w << e) | gwlz_rc_decode_bypass(&H->dec, e);
  return w - 1;
}

/* hi = v >> s: a two-level tree first (bit [hi >= 2] with model 0, then
 * [hi & 1] or [hi >= 3] with model 1 or 2), hi >= 3 goes on in unary with
 * models 3.. (bits [hi > j], j = 3..T-1), then the escape. */
static GWLZ_ALWAYS_INLINE void enc_mag(eng *E, hot *H, uint64_t v, int ectx, int s) {
  uint64_t hi = v >> s;
  gwlz_rc_model *m = &E->mm[ectx * I2_T];
  uint32_t b1 = hi >= 2, b2 = b1 ? hi >= 3 : (uint32_t)hi;
  i2_enc_bit(&H->enc, &m[0], b1);
  i2_enc_bit(&H->enc, &m[1 + b1], b2);
  if (b1 && b2) {
    int j = 3;
    for (; j < I2_T; j++) {
      int bit = hi > (uint64_t)j;
      i2_enc_bit(&H->enc, &m[j], bit);
      if (!bit) break;
    }
    if (j == I2_T) enc_escape(E, H, hi - I2_T);
  }
  if (s) bitw_put(&H->bw, (uint32_t)(v & ((1u << s) - 1)), s);
}

static GWLZ_ALWAYS_INLINE uint64_t dec_mag(eng *E, hot *H, int ectx, int s) {
  gwlz_rc_model *m = &E->mm[ectx * I2_T];
  uint32_t b1 = (uint32_t)i2_dec_bit(&H->dec, &m[0]);
  uint32_t b2 = (uint32_t)i2_dec_bit(&H->dec, &m[1 + b1]);
  uint64_t hi = 2 * b1 + b2;
  if (GWLZ_UNLIKELY(hi == 3)) {
    while (hi < I2_T && i2_dec_bit(&H->dec, &m[hi])) hi++;
    if (hi == I2_T) hi += dec_escape(E, H);
  }
  uint64_t v = hi << s;
  if (s) v |= bitr_get(&H->br, s);
  return v;
}

/* ---- one point ------------------------------------------------------------------ */
static inline void i2_push(eng *E, size_t i, int isd) {
  gwlz_unpred_put(E->uout, E->data, i, isd);
  E->nun++;
}

static inline void i2_pop(eng *E, size_t i, int isd) {
  if (!gwlz_unpred_take(E->uin, E->uin_n, &E->ui, E->rec, i, isd)) E->bad = 1;
}

/* Rebuild x from pred and code k as the decoder will; keep it when within
 * the bound. */
static GWLZ_ALWAYS_INLINE int i2_try(eng *E, hot *H, double x, double pred, int64_t k, size_t i,
                                     int isd) {
  double r = pred + (double)k * E->twoeb;
  if (isd) {
    if (!(fabs(x - r) <= E->eb)) return 0;
    ((double *)E->rec)[i] = r;
    H->sse += (x - r) * (x - r);
    return 1;
  }
  if (!(fabs(r) <= (double)FLT_MAX)) return 0;
  float rf = (float)r;
  double df = x - (double)rf;
  if (!(fabs(df) <= E->eb)) return 0;
  ((float *)E->rec)[i] = rf;
  H->sse += df * df;
  return 1;
}

/* The point at index i with prediction pred and context sums A (of nA
 * neighbours) and B (of nB). */
static GWLZ_ALWAYS_INLINE void i2_point(eng *E, hot *H, size_t i, double pred, uint32_t A,
                                        uint32_t nA, uint32_t B, uint32_t nB, uint32_t G, int isd,
                                        int dec) {
  int qa = bitlen(A), qb = bitlen(B), qg = bitlen(G);
  if (qa > 7) qa = 7;
  if (qb > 7) qb = 7;
  if (qg > 3) qg = 3;

  gwlz_rc_model *mz = &E->mz[((E->lv * 8 + qa) * 8 + qb) * 4 + qg];
  uint32_t en = (uint32_t)(((uint64_t)(A + B) * i2_w[nA + nB]) >> 16);
  int ec = bitlen(en);
  if (ec > I2_NE - 1) ec = I2_NE - 1;
  int s = ec - E->kdiv;
  if (s < 0) s = 0;
  int ectx = (E->lv * I2_NE + ec) * 4 + qg;
  uint64_t m; /* |k|, radius for an unpredictable value */
  if (!dec) {
    double x = gwlz_ld(E->data, i, isd);
    double d = (x - pred) * E->inv;
    int64_t k = 0;
    int ok = 0;
    if (fabs(d) < E->lim) {
      k = (int64_t)(d + copysign(0.5, d));
      ok = i2_try(E, H, x, pred, k, i, isd);
    }
    if (!ok) {
      if (isd)
        ((double *)E->rec)[i] = x;
      else
        ((float *)E->rec)[i] = ((const float *)E->data)[i];
      i2_push(E, i, isd);
      m = (uint64_t)E->R;
      k = 0;
    } else {
      m = (uint64_t)(k < 0 ? -k : k);
    }
    i2_enc_bit(&H->enc, mz, m != 0);
    if (m) {
      enc_mag(E, H, m - 1, ectx, s);
      bitw_put(&H->bw, k < 0, 1);
    }
  } else {
    int64_t k = 0;
    m = i2_dec_bit(&H->dec, mz) ? dec_mag(E, H, ectx, s) + 1 : 0;
    if (m) {
      int neg = (int)bitr_get(&H->br, 1);
      k = neg ? -(int64_t)m : (int64_t)m;
      if (GWLZ_UNLIKELY(m >= (uint64_t)E->R)) {
        if (m > (uint64_t)E->R || neg) E->bad = 1;
        i2_pop(E, i, isd);
        goto done;
      }
    }
    double r = pred + (double)k * E->twoeb;
    if (isd)
      ((double *)E->rec)[i] = r;
    else if (GWLZ_LIKELY(fabs(r) <= (double)FLT_MAX))
      ((float *)E->rec)[i] = (float)r;
    else /* only reachable from a damaged payload */
      ((float *)E->rec)[i] = r > 0.0 ? INFINITY : (r < 0.0 ? -INFINITY : NAN);
  }
done:
  E->cnt++;
  E->mag[i] = (uint8_t)(m < 255 ? m : 255);
  if (E->aux)
    E->aux[i] = (uint8_t)(E->cls | (m >= (uint64_t)E->R ? GWLZ_AUX_EXACT : (m ? GWLZ_AUX_CODED : 0)));
}

/* Compressing: does the value at i quantize to code 0 against pred (and
 * rebuild within the bound)? */
static GWLZ_ALWAYS_INLINE int i2_zero_ok(const eng *E, size_t i, double pred, int isd) {
  double x = gwlz_ld(E->data, i, isd);
  if (!(fabs((x - pred) * E->inv) < 0.5)) return 0;
  double r = pred + 0.0 * E->twoeb;
  if (isd) return fabs(x - r) <= E->eb;
  if (!(fabs(r) <= (double)FLT_MAX)) return 0;
  return fabs(x - (double)(float)r) <= E->eb;
}

/* A point of an all-zero group: code 0, nothing coded. */
static GWLZ_ALWAYS_INLINE void i2_zero(eng *E, hot *H, size_t i, double pred, int isd, int dec) {
  double r = pred + 0.0 * E->twoeb;
  if (isd) {
    ((double *)E->rec)[i] = r;
    if (!dec) {
      double d = gwlz_ld(E->data, i, isd) - r;
      H->sse += d * d;
    }
  } else {
    float rf;
    if (GWLZ_LIKELY(fabs(r) <= (double)FLT_MAX))
      rf = (float)r;
    else /* only reachable from a damaged payload */
      rf = r > 0.0 ? INFINITY : (r < 0.0 ? -INFINITY : NAN);
    ((float *)E->rec)[i] = rf;
    if (!dec) {
      double d = gwlz_ld(E->data, i, isd) - (double)rf;
      H->sse += d * d;
    }
  }
  E->cnt++;
  if (E->aux) E->aux[i] = E->cls;
}

/* ---- prediction --------------------------------------------------------------- */
double gwlz_i2_pred1(const void *a, int isd, size_t idx, size_t c, size_t h, size_t st, size_t n,
                     int kind) {
  return gwlz_interp_predict(a, isd, idx, gwlz_interp_kind(c, h, n, kind), h * st);
}

/* ---- traversal ------------------------------------------------------------------ */
/* mag is zero at every point not yet visited, so a neighbour slot that does
 * not exist points at the point itself (offset 0) and adds nothing. */

/* What is constant along one line of a lattice (the innermost dimension
 * varies). */
typedef struct {
  ptrdiff_t ao[6], bo[3]; /* neighbour slots: sources, previous points */
  uint32_t na, nb;        /* how many of them exist                     */
  int nout;               /* outer dimensions interpolated along        */
  int ok[3];              /* their kinds                                */
  size_t oo[3];           /* their offsets h * stride                   */
  double ow[3];           /* their weights (MD)                         */
  ptrdiff_t go;           /* gradient offset, 0 = none                  */
} lctx;

/* Prediction of a multi-dimensional point: the weighted mean, in the
 * order of the dimensions, of the 1-D predictions. */
static GWLZ_ALWAYS_INLINE double md_pred(const eng *E, const lctx *lc, size_t i, int in3, int k3,
                                         size_t h, double w3, double winv, int isd) {
  double acc = gwlz_interp_predict(E->rec, isd, i, lc->ok[0], lc->oo[0]) * lc->ow[0];
  for (int t = 1; t < lc->nout; t++)
    acc = acc + gwlz_interp_predict(E->rec, isd, i, lc->ok[t], lc->oo[t]) * lc->ow[t];
  if (in3) acc = acc + gwlz_interp_predict(E->rec, isd, i, k3, h) * w3;
  return acc * winv;
}

/* cnt points of a line from index i, s3 apart. prev0: the first has a
 * previous point on the line; in3: the points are interpolated along the
 * innermost dimension, with kind k3 (constant on the run); mode: 0 = one
 * outer dimension, 1 = the innermost only, 2 = several (MD). */
static GWLZ_ALWAYS_INLINE void run_pts(eng *E, const lctx *lc, size_t i, size_t s3, size_t cnt,
                                       int prev0, int in3, int k3, size_t h, int mode, double w3,
                                       double winv, int isd, int dec) {
  const uint8_t *mg = E->mag;
  const ptrdiff_t *ao = lc->ao, *bo = lc->bo;
  int plus = k3 != K_Q3 && k3 != K_LINX && k3 != K_COPY; /* i + h exists */
  uint32_t nA = lc->na + (in3 ? 1u + (uint32_t)plus : 0u);
  ptrdiff_t go = in3 && mode == 1 ? (plus ? (ptrdiff_t)h : 0) : lc->go;
  hot H = E->h;
  const int grp = E->groups;
  int gstate = 0; /* group flags: 0 none yet, 1 previous all zero, 2 not */
  /* one point with its contexts (j: index on the run) */
#define PT1(PRED)                                                                             \
  do {                                                                                        \
    uint32_t A = (uint32_t)mg[i + ao[0]] + mg[i + ao[1]] + mg[i + ao[2]] + mg[i + ao[3]] +     \
                 mg[i + ao[4]] + mg[i + ao[5]];                                               \
    uint32_t B = (uint32_t)mg[i + bo[0]] + mg[i + bo[1]] + mg[i + bo[2]], nB = lc->nb;        \
    if (in3) A += (uint32_t)mg[i - h] + (plus ? mg[i + h] : 0);                               \
    if (j || prev0) {                                                                         \
      B += mg[i - s3];                                                                        \
      nB++;                                                                                   \
    }                                                                                         \
    uint32_t G = 0;                                                                           \
    if (go) {                                                                                 \
      double g = fabs(gwlz_ld(E->rec, i + (size_t)go, isd) - gwlz_ld(E->rec, i - (size_t)go, isd)) * \
                 E->inv;                                                                      \
      G = g < 65535.0 ? (uint32_t)g : 65535u;                                                 \
    }                                                                                         \
    i2_point(E, &H, i, PRED, A, nA, B, nB, G, isd, dec);                                      \
  } while (0)
  /* groups of I2_GS points: a flag says when every code of a group is 0 */
#define PT(PRED)                                                                              \
  for (size_t j = 0; j < cnt;) {                                                              \
    size_t gn = cnt - j < I2_GS ? cnt - j : I2_GS;                                            \
    int allz = 0;                                                                             \
    if (grp) {                                                                                \
      uint32_t A0 = 0;                                                                        \
      for (size_t t = 0, ii = i; t < gn; t++, ii += s3)                                       \
        A0 += (uint32_t)mg[ii + ao[0]] + mg[ii + ao[1]] + mg[ii + ao[2]] + mg[ii + ao[3]] +   \
              mg[ii + ao[4]] + mg[ii + ao[5]] +                                               \
              (in3 ? (uint32_t)mg[ii - h] + (plus ? mg[ii + h] : 0) : 0) + mg[ii + bo[0]] +   \
              mg[ii + bo[1]] + mg[ii + bo[2]];                                                \
      if (j || prev0) A0 += mg[i - s3];                                                       \
      if (!A0) { /* a quiet group: one flag for all its codes being 0 */                      \
        gwlz_rc_model *mg0 = &E->mgz[E->lv * 3 + gstate];                                     \
        if (!dec) {                                                                           \
          size_t i0 = i;                                                                      \
          allz = 1;                                                                           \
          for (size_t t = 0; t < gn && allz; t++, i += s3) allz = i2_zero_ok(E, i, PRED, isd); \
          i = i0;                                                                             \
          i2_enc_bit(&H.enc, mg0, (uint32_t)allz);                                            \
        } else {                                                                              \
          allz = i2_dec_bit(&H.dec, mg0);                                                     \
        }                                                                                     \
        gstate = allz ? 1 : 2;                                                                \
      }                                                                                       \
    }                                                                                         \
    if (allz) {                                                                               \
      for (size_t t = 0; t < gn; t++, j++, i += s3) i2_zero(E, &H, i, PRED, isd, dec);        \
    } else {                                                                                  \
      for (size_t t = 0; t < gn; t++, j++, i += s3) PT1(PRED);                                \
    }                                                                                         \
  }
  if (mode == 2) {
    PT(md_pred(E, lc, i, in3, k3, h, w3, winv, isd));
    E->h = H;
    return;
  }
  int k = mode == 1 ? k3 : lc->ok[0];
  size_t o1 = mode == 1 ? h : lc->oo[0];
  switch (k) {
    case K_CUBIC: PT(gwlz_interp_predict(E->rec, isd, i, K_CUBIC, o1)); break;
    case K_NAT: PT(gwlz_interp_predict(E->rec, isd, i, K_NAT, o1)); break;
    case K_LIN: PT(gwlz_interp_predict(E->rec, isd, i, K_LIN, o1)); break;
    case K_Q1: PT(gwlz_interp_predict(E->rec, isd, i, K_Q1, o1)); break;
    case K_Q2: PT(gwlz_interp_predict(E->rec, isd, i, K_Q2, o1)); break;
    case K_Q3: PT(gwlz_interp_predict(E->rec, isd, i, K_Q3, o1)); break;
    case K_LINX: PT(gwlz_interp_predict(E->rec, isd, i, K_LINX, o1)); break;
    default: PT(gwlz_interp_predict(E->rec, isd, i, K_COPY, o1)); break;
  }
#undef PT
#undef PT1
  E->h = H;
}

/* The points of one lattice: coordinates first[e] + j * step[e] < N[e];
 * S: mask (padded dims) of the dimensions the points are interpolated
 * along (each at an odd multiple of h), wt their weights (MD). */
static GWLZ_ALWAYS_INLINE void visit(eng *E, int isd, int dec, const size_t *first,
                                     const size_t *step, unsigned S, size_t h, int kind,
                                     const double *wt) {
  const size_t *N = E->N, *ST = E->ST;
  int ns = __builtin_popcount(S), in3 = (S >> 3) & 1;
  int mode = ns > 1 ? 2 : (in3 ? 1 : 0);
  double wsum = 0.0;
  for (int e = 0; e < 4; e++)
    if (S & (1u << e)) wsum += wt[e];
  double winv = 1.0 / wsum, w3 = wt[3];
  size_t s3 = step[3];
  if (first[3] >= N[3]) return;
  size_t cnt3 = (N[3] - first[3] + s3 - 1) / s3;
  size_t c[3];
  for (c[0] = first[0]; c[0] < N[0]; c[0] += step[0])
    for (c[1] = first[1]; c[1] < N[1]; c[1] += step[1])
      for (c[2] = first[2]; c[2] < N[2]; c[2] += step[2]) {
        size_t base = c[0] * ST[0] + c[1] * ST[1] + c[2] * ST[2];
        lctx lc;
        memset(&lc, 0, sizeof lc);
        for (int e = 0; e < 3; e++) {
          if (c[e] >= first[e] + step[e]) {
            lc.bo[e] = -(ptrdiff_t)(step[e] * ST[e]);
            lc.nb++;
          }
          if (S & (1u << e)) {
            ptrdiff_t o = (ptrdiff_t)(h * ST[e]);
            lc.ao[2 * e] = -o;
            lc.na++;
            if (N[e] - c[e] > h) {
              lc.ao[2 * e + 1] = o;
              lc.na++;
              if (!lc.go) lc.go = o;
            }
            lc.ok[lc.nout] = gwlz_interp_kind(c[e], h, N[e], kind);
            lc.oo[lc.nout] = (size_t)o;
            lc.ow[lc.nout] = wt[e];
            lc.nout++;
          }
        }
        if (!E->grad) lc.go = 0;
        size_t i = base + first[3];
        if (!in3) {
          run_pts(E, &lc, i, s3, cnt3, 0, 0, K_COPY, h, mode, w3, winv, isd, dec);
          continue;
        }
        /* innermost: runs of one kind */
        size_t ci = first[3];
        int prev = 0;
        while (ci < N[3]) {
          int k3 = gwlz_interp_kind(ci, h, N[3], kind);
          size_t n = 1;
          if (k3 == K_CUBIC || k3 == K_NAT)
            n = (N[3] - 3 * h - ci - 1) / (2 * h) + 1;
          else if (k3 == K_LIN && kind == GWLZ_I2_KIND_LINEAR)
            n = (N[3] - h - ci - 1) / (2 * h) + 1;
          lctx l2 = lc;
          if (mode == 2 && !l2.go && E->grad && k3 != K_Q3 && k3 != K_LINX && k3 != K_COPY)
            l2.go = (ptrdiff_t)h;
          run_pts(E, &l2, base + ci, s3, n, prev, 1, k3, h, mode, w3, winv, isd, dec);
          ci += n * s3;
          prev = 1;
        }
      }
}

/* 1-D pass along padded dimension d at stride h; s: current strides. */
static GWLZ_ALWAYS_INLINE void pass1(eng *E, int isd, int dec, size_t *s, int d, size_t h,
                                     int kind) {
  if (h < E->N[d]) {
    size_t first[4], step[4];
    for (int e = 0; e < 4; e++) {
      first[e] = e == d ? h : 0;
      step[e] = e == d ? 2 * h : s[e];
    }
    static const double one[4] = {1.0, 1.0, 1.0, 1.0};
    visit(E, isd, dec, first, step, 1u << d, h, kind, one);
  }
  s[d] = h;
}

static GWLZ_ALWAYS_INLINE void i2_run(const gwlz_i2_cfg *c, eng *E, int isd, int dec) {
  size_t *N = E->N, *ST = E->ST;
  int pad = 4 - c->nd;
  E->pad = pad;
  for (int e = 0; e < 4; e++) N[e] = e < pad ? 1 : c->n[e - pad];
  ST[3] = 1;
  for (int e = 2; e >= 0; e--) ST[e] = ST[e + 1] * N[e + 1];
  int L = c->L;
  size_t s[4];
  for (int e = 0; e < 4; e++) s[e] = e < pad ? 1 : (size_t)1 << L;
  /* origin */
  acct_mark(E, L + 1 <= GWLZ_I2_MAXL ? L + 1 : GWLZ_I2_MAXL);
  set_level(E, gwlz_i2_level_eb(c, L));
  E->lv = 3;
  E->cls = (uint8_t)(L + 1 < 15 ? L + 1 : 15);
  i2_point(E, &E->h, 0, 0.0, 0, 0, 0, 0, 0, isd, dec);
  /* frozen dimensions, every level */
  for (int l = L; l >= 1; l--) {
    size_t h = (size_t)1 << (l - 1);
    acct_mark(E, l);
    set_level(E, gwlz_i2_level_eb(c, l));
    E->lv = l < 4 ? l - 1 : 3;
    int t = 0;
    for (int e = 0; e < c->nd; e++) {
      if (!(c->frozen & (1u << e))) continue;
      E->cls = (uint8_t)((l < 15 ? l : 15) | ((t < 3 ? t : 3) << 4));
      pass1(E, isd, dec, s, pad + e, h, c->kind[l]);
      t++;
    }
  }
  /* the other dimensions */
  for (int l = L; l >= 1; l--) {
    size_t h = (size_t)1 << (l - 1);
    acct_mark(E, l);
    set_level(E, gwlz_i2_level_eb(c, l));
    E->lv = l < 4 ? l - 1 : 3;
    int lc = l < 15 ? l : 15;
    if (c->md[l]) {
      unsigned M = 0; /* active dims (padded bits) */
      for (int e = 0; e < c->nd; e++)
        if (!(c->frozen & (1u << e)) && h < N[pad + e]) M |= 1u << (pad + e);
      int nm = __builtin_popcount(M);
      double wt[4] = {1.0, 1.0, 1.0, 1.0};
      for (int e = 0; e < c->nd; e++) wt[pad + e] = (double)c->w[l][e];
      for (int k = 1; k <= nm; k++) {
        E->cls = (uint8_t)(lc | ((k - 1 < 3 ? k - 1 : 3) << 4));
        for (unsigned S = 1; S < 16; S++) {
          if ((S & ~M) || __builtin_popcount(S) != k) continue;
          size_t first[4], step[4];
          for (int e = 0; e < 4; e++) {
            first[e] = (S >> e) & 1 ? h : 0;
            step[e] = (M >> e) & 1 ? 2 * h : s[e];
          }
          visit(E, isd, dec, first, step, S, h, c->kind[l], wt);
        }
      }
      for (int e = 0; e < c->nd; e++)
        if (!(c->frozen & (1u << e))) s[pad + e] = h;
    } else {
      int order[4];
      gwlz_i2_order(c->nd, c->perm[l], order);
      int t = 0;
      for (int u = 0; u < c->nd; u++) {
        int e = order[u];
        if (c->frozen & (1u << e)) continue;
        E->cls = (uint8_t)(lc | ((t < 3 ? t : 3) << 4));
        pass1(E, isd, dec, s, pad + e, h, c->kind[l]);
        t++;
      }
    }
  }
  acct_mark(E, 0);
}

static GWLZ_NOINLINE void run_cf(const gwlz_i2_cfg *c, eng *E) { i2_run(c, E, 0, 0); }
static GWLZ_NOINLINE void run_cd(const gwlz_i2_cfg *c, eng *E) { i2_run(c, E, 1, 0); }
static GWLZ_NOINLINE void run_df(const gwlz_i2_cfg *c, eng *E) { i2_run(c, E, 0, 1); }
static GWLZ_NOINLINE void run_dd(const gwlz_i2_cfg *c, eng *E) { i2_run(c, E, 1, 1); }

/* ---- Lorenzo ------------------------------------------------------------------- */
/* First-order Lorenzo (the predictions of mode 2, lorenzo.h) in C order,
 * one bound; context A = the face neighbours a, b, c, B = the edge
 * neighbours ab, ac, bc (those inside the array), no gradient. */
static GWLZ_ALWAYS_INLINE void lor_run(const gwlz_i2_cfg *c, eng *E, int isd, int dec) {
  size_t M0 = 1, M1 = 1, M2 = 1;
  if (c->nd == 1) {
    M2 = c->n[0];
  } else if (c->nd == 2) {
    M1 = c->n[0];
    M2 = c->n[1];
  } else if (c->nd == 3) {
    M0 = c->n[0];
    M1 = c->n[1];
    M2 = c->n[2];
  } else {
    M0 = c->n[0] * c->n[1];
    M1 = c->n[2];
    M2 = c->n[3];
  }
  size_t s1 = M2, s0 = M1 * M2, idx = 0;
  acct_mark(E, 1);
  set_level(E, c->eb);
  E->lv = 0;
  E->cls = 1;
  hot H = E->h;
  const uint8_t *mg = E->mag;
#define LDR(j) gwlz_ld(E->rec, (j), isd)
  for (size_t i = 0; i < M0; i++)
    for (size_t j = 0; j < M1; j++)
      for (size_t k = 0; k < M2; k++, idx++) {
        int hi = i > 0, hj = j > 0, hk = k > 0;
        double p;
        uint32_t A = 0, B = 0, nA = 0, nB = 0;
        if (hk) A += mg[idx - 1], nA++;
        if (hj) A += mg[idx - s1], nA++;
        if (hi) A += mg[idx - s0], nA++;
        if (hj && hk) B += mg[idx - s1 - 1], nB++;
        if (hi && hk) B += mg[idx - s0 - 1], nB++;
        if (hi && hj) B += mg[idx - s0 - s1], nB++;
        if (hi && hj && hk) {
          double rest = ((LDR(idx - s1) - LDR(idx - s1 - 1)) + (LDR(idx - s0) - LDR(idx - s0 - 1))) -
                        (LDR(idx - s0 - s1) - LDR(idx - s0 - s1 - 1));
          p = LDR(idx - 1) + rest;
        } else if (hi && hj) {
          p = (LDR(idx - s1) + LDR(idx - s0)) - LDR(idx - s0 - s1);
        } else if (hj && hk) {
          p = LDR(idx - 1) + (LDR(idx - s1) - LDR(idx - s1 - 1));
        } else if (hi && hk) {
          p = LDR(idx - 1) + (LDR(idx - s0) - LDR(idx - s0 - 1));
        } else if (hj) {
          p = LDR(idx - s1);
        } else if (hi) {
          p = LDR(idx - s0);
        } else if (hk) {
          p = LDR(idx - 1);
        } else {
          p = 0.0;
        }
        i2_point(E, &H, idx, p, A, nA, B, nB, 0, isd, dec);
      }
#undef LDR
  E->h = H;
  acct_mark(E, 0);
}

static GWLZ_NOINLINE void lor_cf(const gwlz_i2_cfg *c, eng *E) { lor_run(c, E, 0, 0); }
static GWLZ_NOINLINE void lor_cd(const gwlz_i2_cfg *c, eng *E) { lor_run(c, E, 1, 0); }
static GWLZ_NOINLINE void lor_df(const gwlz_i2_cfg *c, eng *E) { lor_run(c, E, 0, 1); }
static GWLZ_NOINLINE void lor_dd(const gwlz_i2_cfg *c, eng *E) { lor_run(c, E, 1, 1); }

static void eng_init(eng *E, const gwlz_i2_cfg *c) {
  memset(E, 0, sizeof *E);
  E->R = (int64_t)c->radius;
  E->kdiv = c->kdiv;
  E->grad = 1;
  gwlz_rc_model_init(E->mz, I2_NZ);
  gwlz_rc_model_init(E->ms, 4);
  gwlz_rc_model_init(E->mm, I2_NM);
  gwlz_rc_model_init(E->mx, I2_NX);
  gwlz_rc_model_init(E->mgz, I2_NG);
  E->groups = c->groups;
}

/* The encoder of one output: codes to o->rc, raw bits to o->raw,
 * unpredictable values to o->unpred. */
static void enc_open(eng *E, const gwlz_i2_cfg *c, gwlz_i2_out *o) {
  eng_init(E, c);
  E->uout = &o->unpred;
  gwlz_rc_enc_init(&E->h.enc, &o->rc);
  E->h.bw.out = &o->raw;
}

static void enc_close(eng *E) {
  gwlz_rc_enc_flush(&E->h.enc);
  bitw_flush(&E->h.bw);
}

static int out_failed(const gwlz_i2_out *o) { return o->rc.err || o->raw.err || o->unpred.err; }

/* Code (dec = 0) or decode (dec = 1) the field of E with c's predictor. */
static void run_field(const gwlz_i2_cfg *c, eng *E, int isd, int dec) {
  if (c->lorenzo)
    (dec ? (isd ? lor_dd : lor_df) : (isd ? lor_cd : lor_cf))(c, E);
  else
    (dec ? (isd ? run_dd : run_df) : (isd ? run_cd : run_cf))(c, E);
}

static size_t total_of(const gwlz_i2_cfg *c) {
  size_t t = 1;
  for (int e = 0; e < c->nd; e++) t *= c->n[e];
  return t;
}

gwlz_error gwlz_i2_compress(const gwlz_i2_cfg *c, int isd, const void *data, void *rec,
                            uint8_t *aux, uint8_t *mag, gwlz_i2_out *o) {
  size_t n = total_of(c);
  uint8_t *own = NULL;
  if (!mag) {
    own = (uint8_t *)malloc(n ? n : 1);
    if (!own) return GWLZ_ERR_MEMORY;
    mag = own;
  }
  eng *E = (eng *)malloc(sizeof *E);
  if (!E) {
    free(own);
    return GWLZ_ERR_MEMORY;
  }
  memset(mag, 0, n);
  enc_open(E, c, o);
  E->data = data;
  E->rec = rec;
  E->mag = mag;
  E->aux = aux;
  run_field(c, E, isd, 0);
  enc_close(E);
  o->nunpred = E->nun;
  o->sse = E->h.sse;
  free(E);
  free(own);
  return out_failed(o) ? GWLZ_ERR_MEMORY : GWLZ_OK;
}

gwlz_error gwlz_i2_trial(const gwlz_i2_cfg *c, int isd, const uint8_t *blocks, int nblk,
                         void *rec, uint8_t *mag, double *bits, double *sse, double *acct) {
  size_t n = total_of(c), tsize = isd ? 8 : 4;
  gwlz_i2_out o;
  gwlz_i2_out_init(&o);
  eng *E = (eng *)malloc(sizeof *E);
  if (!E) return GWLZ_ERR_MEMORY;
  enc_open(E, c, &o);
  E->rec = rec;
  E->mag = mag;
  E->acct = acct;
  if (acct) memset(acct, 0, sizeof(double) * 3 * (GWLZ_I2_MAXL + 2));
  for (int k = 0; k < nblk; k++) {
    memset(mag, 0, n);
    E->data = blocks + (size_t)k * n * tsize;
    run_field(c, E, isd, 0);
  }
  enc_close(E);
  *bits = 8.0 * (double)(o.rc.size + o.raw.size + o.unpred.size);
  *sse = E->h.sse;
  free(E);
  gwlz_error e = out_failed(&o) ? GWLZ_ERR_MEMORY : GWLZ_OK;
  gwlz_i2_out_free(&o);
  return e;
}

gwlz_error gwlz_i2_decompress(const gwlz_i2_cfg *c, int isd, const uint8_t *rc, size_t rc_len,
                              const uint8_t *raw, size_t raw_len, const uint8_t *unpred,
                              size_t nunpred, void *out, uint8_t *aux) {
  size_t n = total_of(c);
  gwlz_error e;
  uint8_t *mag = (uint8_t *)calloc(n ? n : 1, 1);
  eng *E = (eng *)malloc(sizeof *E);
  if (!mag || !E) {
    free(mag);
    free(E);
    return GWLZ_ERR_MEMORY;
  }
  eng_init(E, c);
  E->rec = out;
  E->mag = mag;
  E->aux = aux;
  E->uin = unpred;
  E->uin_n = nunpred;
  E->h.br.p = raw;
  E->h.br.end = raw + raw_len;
  e = gwlz_rc_dec_init(&E->h.dec, rc, rc_len);
  if (e == GWLZ_OK) {
    run_field(c, E, isd, 1);
    e = gwlz_rc_dec_end(&E->h.dec);
    if (e == GWLZ_OK && (E->bad || E->ui != E->uin_n)) e = GWLZ_ERR_CORRUPT;
    /* the raw stream must be used up to its last partial byte */
    if (e == GWLZ_OK && (E->h.br.over || E->h.br.p != E->h.br.end)) e = GWLZ_ERR_CORRUPT;
  }
  free(mag);
  free(E);
  return e;
}
