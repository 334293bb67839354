/*
 * wavelet_code.c - subband layout and the context-modelled coefficient and
 * correction coder of the wavelet base (docs/format.md §9.9.3-§9.9.5).
 *
 * Encoder and decoder are one function (wv_rc.dec selects the direction),
 * so both derive every context from the same, already coded, values.
 */
#include "base/wavelet_code.h"

#include <math.h>
#include <stdlib.h>

/* ---- subband layout -------------------------------------------------------- */

/* Block side by number of squeezed dimensions (1..4). */
static const size_t wv_block_side[5] = {0, 64, 8, 4, 3};

static int axis_mask(const gwlz_wv_geom *g, int l) {
  int m = 0;
  for (int e = 0; e < g->nd; e++)
    if (l < g->lev[e]) m |= 1 << e;
  return m;
}

static void band_blocks(gwlz_wv_band *bd, int nd, size_t *nflags) {
  const int p = 4 - nd;
  size_t cnt = 1;
  for (int a = 0; a < 4; a++) {
    size_t s = a >= p ? wv_block_side[nd] : 1;
    if (s > bd->ext[a]) s = bd->ext[a];
    if (s == 0) s = 1;
    bd->bs[a] = s;
    bd->nb[a] = (bd->ext[a] + s - 1) / s;
    cnt *= bd->nb[a];
  }
  bd->flag0 = *nflags;
  *nflags += cnt;
}

gwlz_error gwlz_wv_bands_init(gwlz_wv_bands *b, const gwlz_wv_geom *g) {
  const int nd = g->nd, p = 4 - nd;
  int count = 1;
  memset(b, 0, sizeof *b);
  for (int l = 0; l < g->L; l++) count += (1 << __builtin_popcount((unsigned)axis_mask(g, l))) - 1;
  b->band = (gwlz_wv_band *)calloc((size_t)count, sizeof(gwlz_wv_band));
  if (!b->band) return GWLZ_ERR_MEMORY;
  b->nd = nd;
  for (int a = 0; a < 4; a++) b->N[a] = a >= p ? g->n[a - p] : 1;
  b->S[3] = 1;
  for (int a = 2; a >= 0; a--) b->S[a] = b->S[a + 1] * b->N[a + 1];

  /* index of band (level, orient) while building; levels <= 30 */
  int idx_prev_level[16];
  for (int o = 0; o < 16; o++) idx_prev_level[o] = -1;
  int nb = 0;
  gwlz_wv_band *ap = &b->band[nb++];
  for (int a = 0; a < 4; a++) {
    ap->off[a] = 0;
    ap->ext[a] = a >= p ? gwlz_wv_extent(g, a - p, g->L) : 1;
  }
  ap->level = g->L;
  ap->orient = 0;
  ap->parent = ap->sibling = -1;
  ap->lc = 0;
  band_blocks(ap, nd, &b->nflags);
  for (int l = g->L - 1; l >= 0; l--) {
    const int T = axis_mask(g, l), Tp = l + 1 < g->L ? axis_mask(g, l + 1) : 0;
    int idx_level[16];
    for (int o = 0; o < 16; o++) idx_level[o] = -1;
    int prev = -1;
    for (int o = 1; o < 16; o++) {
      if (o & ~T) continue;
      gwlz_wv_band *bd = &b->band[nb];
      for (int a = 0; a < 4; a++) {
        bd->off[a] = 0;
        bd->ext[a] = 1;
        bd->pshift[a] = 0;
      }
      for (int e = 0; e < nd; e++) {
        size_t A0 = gwlz_wv_extent(g, e, l), A1 = gwlz_wv_extent(g, e, l + 1);
        if ((T >> e) & 1) {
          bd->off[p + e] = (o >> e) & 1 ? A1 : 0;
          bd->ext[p + e] = (o >> e) & 1 ? A0 - A1 : A1;
        } else {
          bd->ext[p + e] = A0;
        }
        bd->pshift[p + e] = (Tp >> e) & 1;
      }
      bd->level = l;
      bd->orient = o;
      bd->parent = (l + 1 < g->L && !(o & ~Tp)) ? idx_prev_level[o] : -1;
      bd->sibling = prev;
      bd->lc = 1 + (l < 3 ? l : 3);
      band_blocks(bd, nd, &b->nflags);
      idx_level[o] = nb;
      prev = nb;
      nb++;
    }
    memcpy(idx_prev_level, idx_level, sizeof idx_level);
  }
  b->nbands = nb;
  return GWLZ_OK;
}

void gwlz_wv_bands_free(gwlz_wv_bands *b) {
  free(b->band);
  memset(b, 0, sizeof *b);
}

/* ---- the coder --------------------------------------------------------------- */

#define WV_LC 5      /* model classes: approximation, detail levels 0, 1, 2, >= 3 */
#define WV_NCTX 24   /* activity buckets                                        */
#define WV_NBIN 16   /* unary bins with their own model                         */
#define WV_UNARY_MAX 31 /* bit lengths up to 31 (residuals of 30-bit values) */
#define WV_CAP 65535 /* neighbour magnitudes are capped here                    */

typedef struct {
  gwlz_rc_model band[WV_LC];
  gwlz_rc_model pred[WV_LC];
  gwlz_rc_model blk[WV_LC][4][3];
  gwlz_rc_model mag[2][4][WV_NCTX][WV_NBIN];
  gwlz_rc_model mant[WV_LC][32];
  gwlz_rc_model sign[WV_LC][16][9];
  gwlz_rc_model gap[4][32];
  gwlz_rc_model gapm[64];
  gwlz_rc_model cmag[16];
  gwlz_rc_model cmant[32];
  gwlz_rc_model csign;
} wv_models;

typedef struct {
  int dec;
  int bad;               /* decoder: a decoded value out of range */
  gwlz_rc_enc e;
  gwlz_rc_dec d;
  wv_models m;
} wv_rc;

#ifdef GWLZ_WV_STATS
#include <math.h>
#include <stdio.h>
double gwlz_wv_stat[16];
int gwlz_wv_stat_cat;
static const char *const wv_stat_names[16] = {"band", "block", "sig", "mag", "mant", "sign", "corr"};
void gwlz_wv_stats_print(double nvals) {
  double t = 0;
  for (int i = 0; i < 16; i++) t += gwlz_wv_stat[i];
  for (int i = 0; i < 7; i++)
    fprintf(stderr, "%s=%.4f ", wv_stat_names[i], gwlz_wv_stat[i] / nvals);
  fprintf(stderr, "total=%.4f bpv\n", t / nvals);
  memset(gwlz_wv_stat, 0, sizeof gwlz_wv_stat);
}
#define STAT(c) (gwlz_wv_stat_cat = (c))
#else
#define STAT(c) ((void)0)
#endif

static inline int rc_bit(wv_rc *c, gwlz_rc_model *m, int b) {
  if (c->dec) return gwlz_rc_decode(&c->d, m);
#ifdef GWLZ_WV_STATS
  gwlz_wv_stat[gwlz_wv_stat_cat] -= log2((b ? 65536.0 - m->p : (double)m->p) / 65536.0);
#endif
  gwlz_rc_encode(&c->e, m, b);
  return b;
}

static inline uint32_t rc_bypass(wv_rc *c, uint32_t v, int nbits) {
  if (nbits <= 0) return 0;
  if (c->dec) return gwlz_rc_decode_bypass(&c->d, nbits);
#ifdef GWLZ_WV_STATS
  gwlz_wv_stat[gwlz_wv_stat_cat] += nbits;
#endif
  gwlz_rc_encode_bypass(&c->e, v, nbits);
  return v;
}

static inline uint64_t rc_bypass64(wv_rc *c, uint64_t v, int nbits) {
  if (nbits > 32) {
    uint64_t hi = rc_bypass(c, (uint32_t)(v >> 32), nbits - 32);
    uint64_t lo = rc_bypass(c, (uint32_t)v, 32);
    return (hi << 32) | lo;
  }
  return rc_bypass(c, (uint32_t)v, nbits);
}

static inline int bitlen32(uint32_t v) { return v ? 32 - __builtin_clz(v) : 0; }
static inline int bitlen64(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

/* Activity m -> bucket: 0..3 as is, then two buckets per octave. */
static inline int act_bucket(uint32_t m) {
  if (m < 4) return (int)m;
  int b = bitlen32(m) - 1; /* >= 2 */
  int c = 4 + 2 * (b - 2) + (int)((m >> (b - 1)) & 1);
  return c < WV_NCTX ? c : WV_NCTX - 1;
}

static inline uint32_t absk(int32_t v) {
  uint32_t a = v < 0 ? (uint32_t)(-(int64_t)v) : (uint32_t)v;
  return a < WV_CAP ? a : WV_CAP;
}

static inline int sgn3(int32_t v) { return v > 0 ? 1 : (v < 0 ? 2 : 0); }

/* Neighbour templates (padded 4-D offsets, all >= 0: already coded). */
typedef struct {
  int d[4];
  uint32_t w;
} wv_nb;
static const wv_nb nb1[] = {{{0, 0, 0, 1}, 2}, {{0, 0, 0, 2}, 1}};
static const wv_nb nb2[] = {{{0, 0, 0, 1}, 2}, {{0, 0, 1, 0}, 2}, {{0, 0, 1, 1}, 1},
                            {{0, 0, 0, 2}, 1}, {{0, 0, 2, 0}, 1}};
static const wv_nb nb3[] = {{{0, 0, 0, 1}, 2}, {{0, 0, 1, 0}, 2}, {{0, 1, 0, 0}, 2},
                            {{0, 0, 1, 1}, 1}, {{0, 1, 1, 0}, 1}, {{0, 1, 0, 1}, 1}};
static const wv_nb nb4[] = {{{0, 0, 0, 1}, 2}, {{0, 0, 1, 0}, 2}, {{0, 1, 0, 0}, 2},
                            {{1, 0, 0, 0}, 2}, {{0, 0, 1, 1}, 1}};
#define WV_W_SIBLING 1u

typedef struct {
  const wv_nb *t;
  int nt;
  size_t off[8];
  unsigned need[8]; /* bit a: needs c[a] >= 1; bit 4 + a: needs c[a] >= 2 */
} wv_tmpl;

/* Boundary mask of band coordinates c: bit a if c[a] < 1, bit 4 + a if
 * c[a] < 2. A template entry is available when (mask & need) == 0. */
static inline unsigned low_mask(const size_t *c) {
  unsigned m = 0;
  for (int a = 0; a < 4; a++) m |= (c[a] < 1 ? 1u << a : 0u) | (c[a] < 2 ? 1u << (4 + a) : 0u);
  return m;
}

/* Band predictor: mode 0 none, 1 the previous value along axis a, 2 the
 * floor of the mean of the previous values along a and b, 3 the planar
 * prediction x_a + x_b - x_ab. A missing previous value reads as 0. */
typedef struct {
  int mode, a, b;
  size_t sa, sb;
} wv_pred;

static inline int64_t pred_val(const wv_pred *p, const int32_t *k, size_t pos, const size_t *c) {
  if (p->mode == 0) return 0;
  const int ha = c[p->a] >= 1;
  int64_t x = ha ? k[pos - p->sa] : 0;
  if (p->mode == 1) return x;
  const int hb = c[p->b] >= 1;
  int64_t y = hb ? k[pos - p->sb] : 0;
  if (p->mode == 2) {
    int64_t s2 = x + y;
    return s2 >= 0 ? s2 / 2 : -((1 - s2) / 2);
  }
  int64_t xy = ha && hb ? k[pos - p->sa - p->sb] : 0;
  return x + y - xy;
}

/* Code one coefficient at linear position pos, band coordinates c. With a
 * band predictor (pa >= 0) the value coded is the residual k - k[prev along
 * axis pa] (0 where there is no previous value), and the neighbour terms of
 * the context are residuals too. */
static inline void code_coef(wv_rc *rc, const gwlz_wv_band *bd, const wv_tmpl *tp,
                             int32_t *k, size_t pos, const size_t *c, const wv_pred *pr,
                             size_t ppos, size_t spos) {
  uint32_t m = 0;
  int pcls = 0;
  int32_t res[8];
  const unsigned lm = low_mask(c);
  for (int j = 0; j < tp->nt; j++) {
    res[j] = 0;
    if (!(lm & tp->need[j])) {
      size_t q = pos - tp->off[j];
      int64_t v = k[q];
      if (pr->mode) {
        const int *d = tp->t[j].d;
        size_t cn[4] = {c[0] - (size_t)d[0], c[1] - (size_t)d[1], c[2] - (size_t)d[2],
                        c[3] - (size_t)d[3]};
        v -= pred_val(pr, k, q, cn);
        if (v > INT32_MAX) v = INT32_MAX;
        if (v < -INT32_MAX) v = -INT32_MAX;
      }
      res[j] = (int32_t)v;
      m += tp->t[j].w * absk(v);
    }
  }
  if (bd->parent >= 0) {
    uint32_t pv = absk(k[ppos]);
    pcls = pv == 0 ? 1 : (pv <= 2 ? 2 : 3);
  }
  if (bd->sibling >= 0) m += WV_W_SIBLING * absk(k[spos]);
  const int64_t pred = pred_val(pr, k, pos, c);
  const int lc = bd->lc, ctx = act_bucket(m);
  /* the magnitude models are shared by all detail levels */
  gwlz_rc_model *mm = rc->m.mag[lc ? 1 : 0][pcls][ctx];
  int64_t v = rc->dec ? 0 : (int64_t)k[pos] - pred;
  if (v > UINT32_MAX / 2 || v < -(int64_t)(UINT32_MAX / 2)) v = 0; /* unreachable: |pred| < 2^31 */
  uint32_t a = (uint32_t)(v < 0 ? -v : v);
  int n = bitlen32(a), i;
  for (i = 0; i < WV_UNARY_MAX; i++) {
    STAT(i ? 3 : 2);
    if (!rc_bit(rc, &mm[i < WV_NBIN ? i : WV_NBIN - 1], i < n)) break;
  }
  n = i;
  STAT(4);
  if (n == 0) {
    if (rc->dec) {
      if (pred > GWLZ_WV_KMAX || pred < -GWLZ_WV_KMAX) rc->bad = 1;
      else k[pos] = (int32_t)pred;
    }
    return;
  }
  uint32_t r = 1;
  if (n >= 2) {
    r = (r << 1) | (uint32_t)rc_bit(rc, &rc->m.mant[lc][n], (int)((a >> (n - 2)) & 1));
    if (n >= 3) r = (r << (n - 2)) | rc_bypass(rc, a & ((1u << (n - 2)) - 1), n - 2);
  }
  /* sign context: the previous values (residuals) along the two fastest axes */
  int sw = sgn3(res[0]), sn = sgn3(res[1]);
  STAT(5);
  int neg = rc_bit(rc, &rc->m.sign[lc][bd->orient][3 * sw + sn], v < 0);
  if (rc->dec) {
    int64_t kv = pred + (neg ? -(int64_t)r : (int64_t)r);
    if (kv > GWLZ_WV_KMAX || kv < -GWLZ_WV_KMAX) {
      rc->bad = 1;
      kv = 0;
    }
    k[pos] = (int32_t)kv;
  }
}

static int band_nonzero(const gwlz_wv_bands *b, const gwlz_wv_band *bd, const int32_t *k,
                        const size_t *lo, const size_t *ext) {
  for (size_t i0 = 0; i0 < ext[0]; i0++)
    for (size_t i1 = 0; i1 < ext[1]; i1++)
      for (size_t i2 = 0; i2 < ext[2]; i2++) {
        const int32_t *row = k + (bd->off[0] + lo[0] + i0) * b->S[0] +
                             (bd->off[1] + lo[1] + i1) * b->S[1] +
                             (bd->off[2] + lo[2] + i2) * b->S[2] + bd->off[3] + lo[3];
        for (size_t i3 = 0; i3 < ext[3]; i3++)
          if (row[i3]) return 1;
      }
  return 0;
}

/* Encoder: the predictor of a band, from a rough cost of every candidate
 * (twice the bit length of each residual); a predictor must beat no
 * prediction by the factor WV_PRED_GAIN. */
static inline double wv_cost(int64_t v) {
  uint64_t a = (uint64_t)(v < 0 ? -v : v);
  return a ? (double)(2 * bitlen64(a)) : 0.0;
}
#define WV_PRED_GAIN 0.95
#define WV_PRED_SAMPLE 32768
static void choose_pred(const gwlz_wv_bands *b, const gwlz_wv_band *bd, const int32_t *k,
                        wv_pred *best) {
  wv_pred cand[1 + 4 + 12];
  double cost[1 + 4 + 12];
  int nc = 0;
  memset(cand, 0, sizeof cand);
  cand[nc++].mode = 0;
  for (int a = 0; a < 4; a++) {
    if (bd->ext[a] < 2) continue;
    cand[nc].mode = 1;
    cand[nc].a = a;
    cand[nc].sa = b->S[a];
    nc++;
    for (int bb = a + 1; bb < 4; bb++) {
      if (bd->ext[bb] < 2) continue;
      for (int m = 2; m <= 3; m++) {
        cand[nc].mode = m;
        cand[nc].a = a;
        cand[nc].b = bb;
        cand[nc].sa = b->S[a];
        cand[nc].sb = b->S[bb];
        nc++;
      }
    }
  }
  for (int j = 0; j < nc; j++) cost[j] = 0;
  /* a sample of rows: at most about WV_PRED_SAMPLE values */
  const size_t rows = bd->ext[0] * bd->ext[1] * bd->ext[2];
  const size_t want = WV_PRED_SAMPLE / bd->ext[3] + 1, rstep = rows > want ? rows / want : 1;
  size_t c[4], r = 0;
  for (c[0] = 0; c[0] < bd->ext[0]; c[0]++)
    for (c[1] = 0; c[1] < bd->ext[1]; c[1]++)
      for (c[2] = 0; c[2] < bd->ext[2]; c[2]++, r++) {
        if (r % rstep) continue;
        size_t row = (bd->off[0] + c[0]) * b->S[0] + (bd->off[1] + c[1]) * b->S[1] +
                     (bd->off[2] + c[2]) * b->S[2] + bd->off[3];
        for (c[3] = 0; c[3] < bd->ext[3]; c[3]++) {
          size_t pos = row + c[3];
          int64_t v = k[pos];
          for (int j = 0; j < nc; j++) cost[j] += wv_cost(v - pred_val(&cand[j], k, pos, c));
        }
      }
  int bi = 0;
  double bs = cost[0] * WV_PRED_GAIN;
  for (int j = 1; j < nc; j++)
    if (cost[j] < bs) {
      bs = cost[j];
      bi = j;
    }
  *best = cand[bi];
}

static void code_band(wv_rc *rc, const gwlz_wv_bands *b, int bi, int32_t *k, uint8_t *flags) {
  const gwlz_wv_band *bd = &b->band[bi];
  const size_t zero[4] = {0, 0, 0, 0};
  wv_tmpl tp;
  switch (b->nd) {
    case 1: tp.t = nb1; tp.nt = 2; break;
    case 2: tp.t = nb2; tp.nt = 5; break;
    case 3: tp.t = nb3; tp.nt = 6; break;
    default: tp.t = nb4; tp.nt = 5; break;
  }
  for (int j = 0; j < tp.nt; j++) {
    size_t o = 0;
    unsigned need = 0;
    for (int a = 0; a < 4; a++) {
      o += (size_t)tp.t[j].d[a] * b->S[a];
      if (tp.t[j].d[a] >= 1) need |= 1u << a;
      if (tp.t[j].d[a] >= 2) need |= 1u << (4 + a);
    }
    tp.off[j] = o;
    tp.need[j] = need;
  }
  size_t nflags = bd->nb[0] * bd->nb[1] * bd->nb[2] * bd->nb[3];
  STAT(0);
  int any = rc_bit(rc, &rc->m.band[bd->lc], rc->dec ? 0 : band_nonzero(b, bd, k, zero, bd->ext));
  if (!any) {
    memset(flags + bd->flag0, 0, nflags);
    return;
  }
  /* band predictor: none, or the previous value along one axis */
  wv_pred pr;
  memset(&pr, 0, sizeof pr);
  if (!rc->dec) choose_pred(b, bd, k, &pr);
  STAT(0);
  if (rc_bit(rc, &rc->m.pred[bd->lc], pr.mode != 0)) {
    const int p0 = 4 - b->nd;
    pr.mode = (int)rc_bypass(rc, (uint32_t)pr.mode, 2);
    pr.a = (int)rc_bypass(rc, (uint32_t)(pr.a - p0), 2) + p0;
    if (pr.mode >= 2) pr.b = (int)rc_bypass(rc, (uint32_t)(pr.b - p0), 2) + p0;
    if (pr.mode == 0 || pr.a > 3 || bd->ext[pr.a] < 2 ||
        (pr.mode >= 2 && (pr.b > 3 || pr.b <= pr.a || bd->ext[pr.b] < 2))) {
      rc->bad = 1;
      memset(&pr, 0, sizeof pr);
    } else {
      pr.sa = b->S[pr.a];
      pr.sb = pr.mode >= 2 ? b->S[pr.b] : 0;
    }
  }
  const gwlz_wv_band *pb = bd->parent >= 0 ? &b->band[bd->parent] : NULL;
  const gwlz_wv_band *sbd = bd->sibling >= 0 ? &b->band[bd->sibling] : NULL;
  size_t bc[4], fi = bd->flag0;
  for (bc[0] = 0; bc[0] < bd->nb[0]; bc[0]++)
    for (bc[1] = 0; bc[1] < bd->nb[1]; bc[1]++)
      for (bc[2] = 0; bc[2] < bd->nb[2]; bc[2]++)
        for (bc[3] = 0; bc[3] < bd->nb[3]; bc[3]++, fi++) {
          /* block flag context */
          int cnt = 0;
          size_t fs = 1;
          for (int a = 3; a >= 0; a--) {
            if (bc[a] > 0) cnt += flags[fi - fs];
            fs *= bd->nb[a];
          }
          if (cnt > 3) cnt = 3;
          int ps = 2;
          if (pb) {
            size_t pf = pb->flag0, pst = 1;
            for (int a = 3; a >= 0; a--) {
              size_t pc = bc[a] >> bd->pshift[a];
              if (pc >= pb->nb[a]) pc = pb->nb[a] - 1;
              pf += pc * pst;
              pst *= pb->nb[a];
            }
            ps = flags[pf];
          }
          size_t lo[4], ext[4];
          for (int a = 0; a < 4; a++) {
            lo[a] = bc[a] * bd->bs[a];
            ext[a] = bd->ext[a] - lo[a] < bd->bs[a] ? bd->ext[a] - lo[a] : bd->bs[a];
          }
          STAT(1);
          int nz = rc_bit(rc, &rc->m.blk[bd->lc][cnt][ps],
                          rc->dec ? 0 : band_nonzero(b, bd, k, lo, ext));
          flags[fi] = (uint8_t)nz;
          if (!nz) continue;
          size_t c[4];
          for (size_t i0 = 0; i0 < ext[0]; i0++)
            for (size_t i1 = 0; i1 < ext[1]; i1++)
              for (size_t i2 = 0; i2 < ext[2]; i2++) {
                c[0] = lo[0] + i0;
                c[1] = lo[1] + i1;
                c[2] = lo[2] + i2;
                size_t pos = (bd->off[0] + c[0]) * b->S[0] + (bd->off[1] + c[1]) * b->S[1] +
                             (bd->off[2] + c[2]) * b->S[2] + bd->off[3] + lo[3];
                /* parent and sibling rows (coordinates 0..2), then along 3 */
                size_t prow = 0, srow = 0;
                if (pb)
                  for (int a = 0; a < 3; a++) {
                    size_t pc = c[a] >> bd->pshift[a];
                    if (pc >= pb->ext[a]) pc = pb->ext[a] - 1;
                    prow += (pb->off[a] + pc) * b->S[a];
                  }
                if (sbd)
                  for (int a = 0; a < 3; a++) {
                    size_t sc = c[a] < sbd->ext[a] ? c[a] : sbd->ext[a] - 1;
                    srow += (sbd->off[a] + sc) * b->S[a];
                  }
                for (size_t i3 = 0; i3 < ext[3]; i3++) {
                  c[3] = lo[3] + i3;
                  size_t ppos = 0, spos = 0;
                  if (pb) {
                    size_t pc = c[3] >> bd->pshift[3];
                    ppos = prow + pb->off[3] + (pc < pb->ext[3] ? pc : pb->ext[3] - 1);
                  }
                  if (sbd) spos = srow + sbd->off[3] + (c[3] < sbd->ext[3] ? c[3] : sbd->ext[3] - 1);
                  code_coef(rc, bd, &tp, k, pos + i3, c, &pr, ppos, spos);
                }
              }
        }
}

/* Elias-gamma style code of v >= 1 (< 2^62) with modelled length bits. */
static uint64_t code_ueg(wv_rc *rc, gwlz_rc_model *len, gwlz_rc_model *mant, uint64_t v, int *bad) {
  int n = rc->dec ? 0 : bitlen64(v), i;
  for (i = 1; i < 62; i++)
    if (!rc_bit(rc, &len[i - 1 < 31 ? i - 1 : 31], i < n)) break;
  n = i;
  if (n >= 62) {
    *bad = 1;
    return 1;
  }
  uint64_t r = 1;
  if (n >= 2) {
    r = (r << 1) | (uint64_t)rc_bit(rc, &mant[n], (int)((v >> (n - 2)) & 1));
    if (n >= 3) r = (r << (n - 2)) | rc_bypass64(rc, v & (((uint64_t)1 << (n - 2)) - 1), n - 2);
  }
  return r;
}

/* One correction entry; expect: the first position it may take, gctx: the
 * gap context (both updated). */
static gwlz_error code_corr1(wv_rc *rc, gwlz_wv_corr *cr, size_t *expect, int *gctx, size_t n,
                             int isd) {
  int bad = 0;
  STAT(6);
  uint64_t g = code_ueg(rc, rc->m.gap[*gctx], rc->m.gapm,
                        rc->dec ? 0 : (uint64_t)(cr->pos - *expect) + 1, &bad);
  if (bad || g - 1 >= (uint64_t)(n - *expect)) return GWLZ_ERR_CORRUPT;
  size_t pos = *expect + (size_t)(g - 1);
  int gb = bitlen64(g);
  *gctx = gb <= 1 ? 0 : (gb <= 3 ? 1 : (gb <= 7 ? 2 : 3));
  int32_t v = rc->dec ? 0 : cr->k;
  uint32_t a = v < 0 ? (uint32_t)(-(int64_t)v) : (uint32_t)v;
  int nb = bitlen32(a), i;
  for (i = 0; i < GWLZ_WV_KBITS; i++)
    if (!rc_bit(rc, &rc->m.cmag[i < 15 ? i : 15], i < nb)) break;
  nb = i;
  uint64_t bits = 0;
  if (nb == 0) {
    bits = rc_bypass64(rc, rc->dec ? 0 : cr->bits, isd ? 64 : 32);
  } else {
    uint32_t r = 1;
    if (nb >= 2) {
      r = (r << 1) | (uint32_t)rc_bit(rc, &rc->m.cmant[nb], (int)((a >> (nb - 2)) & 1));
      if (nb >= 3) r = (r << (nb - 2)) | rc_bypass(rc, a & ((1u << (nb - 2)) - 1), nb - 2);
    }
    int neg = rc_bit(rc, &rc->m.csign, v < 0);
    v = neg ? -(int32_t)r : (int32_t)r;
  }
  if (rc->dec) {
    cr->pos = pos;
    cr->k = nb ? v : 0;
    cr->bits = bits;
  }
  *expect = pos + 1;
  return GWLZ_OK;
}

static void models_init(wv_models *m) {
  gwlz_rc_model_init((gwlz_rc_model *)m, sizeof *m / sizeof(gwlz_rc_model));
}

gwlz_error gwlz_wv_encode(const gwlz_wv_bands *b, const int32_t *k, const gwlz_wv_corr *corr,
                          size_t ncorr, int isd, gwlz_wbuf *out) {
  wv_rc *rc = (wv_rc *)malloc(sizeof *rc);
  uint8_t *flags = (uint8_t *)malloc(b->nflags ? b->nflags : 1);
  if (!rc || !flags) {
    free(rc);
    free(flags);
    return GWLZ_ERR_MEMORY;
  }
  rc->dec = 0;
  rc->bad = 0;
  models_init(&rc->m);
  gwlz_rc_enc_init(&rc->e, out);
  for (int bi = 0; bi < b->nbands; bi++) code_band(rc, b, bi, (int32_t *)k, flags);
  size_t n = b->N[0] * b->S[0], expect = 0;
  int gctx = 0;
  gwlz_error e = GWLZ_OK;
  for (size_t j = 0; j < ncorr && e == GWLZ_OK; j++)
    e = code_corr1(rc, (gwlz_wv_corr *)&corr[j], &expect, &gctx, n, isd);
  gwlz_rc_enc_flush(&rc->e);
  free(rc);
  free(flags);
  if (e == GWLZ_OK) e = out->err;
  return e;
}

struct gwlz_wv_dec {
  wv_rc rc;
  uint8_t *flags;
  size_t expect;
  int gctx;
};

gwlz_error gwlz_wv_dec_open(gwlz_wv_dec **dp, const uint8_t *data, size_t size) {
  gwlz_wv_dec *d = (gwlz_wv_dec *)calloc(1, sizeof *d);
  *dp = d;
  if (!d) return GWLZ_ERR_MEMORY;
  d->rc.dec = 1;
  models_init(&d->rc.m);
  return gwlz_rc_dec_init(&d->rc.d, data, size);
}

gwlz_error gwlz_wv_dec_coefs(gwlz_wv_dec *d, const gwlz_wv_bands *b, int32_t *k) {
  d->flags = (uint8_t *)malloc(b->nflags ? b->nflags : 1);
  if (!d->flags) return GWLZ_ERR_MEMORY;
  for (int bi = 0; bi < b->nbands; bi++) {
    code_band(&d->rc, b, bi, k, d->flags);
    if (d->rc.d.over > 4) return GWLZ_ERR_TRUNCATED;
    if (d->rc.bad) return GWLZ_ERR_CORRUPT;
  }
  return GWLZ_OK;
}

gwlz_error gwlz_wv_dec_corr(gwlz_wv_dec *d, size_t n, int isd, gwlz_wv_corr *c) {
  gwlz_error e = code_corr1(&d->rc, c, &d->expect, &d->gctx, n, isd);
  if (e == GWLZ_OK && d->rc.d.over > 4) e = GWLZ_ERR_TRUNCATED;
  return e;
}

gwlz_error gwlz_wv_dec_close(gwlz_wv_dec *d) {
  gwlz_error e = GWLZ_OK;
  if (!d) return GWLZ_OK;
  if (d->rc.d.over) e = GWLZ_ERR_TRUNCATED;
  else if (d->rc.d.p != d->rc.d.end) e = GWLZ_ERR_CORRUPT;
  free(d->flags);
  free(d);
  return e;
}
