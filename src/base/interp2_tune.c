/* interp2_tune.c - the compressor's choices for the mode 6 schedule
 * (interp2.h): per-level interpolation, multi-dimensional weights, frozen
 * dimensions (from sampled prediction errors at the original values) and
 * per-level bounds (from trial coding of sample blocks). None of this is
 * part of the format; everything is deterministic for given input. */
#include "base/interp2_tune.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "base/quantizer.h"

#define TUNE_NPL 8192 /* sampled points per level */
#define TUNE_NK 3     /* interpolation kinds      */

/* Noise gain of each kind: sum of the squared interpolation weights. */
static const double kind_gain[TUNE_NK] = {0.5, 0.640625, 0.6725};

typedef struct {
  uint8_t S;                         /* dims interpolated along (odd at h) */
  float r[GWLZ_MAX_DIMS][TUNE_NK];   /* residual x - prediction along e    */
} tpoint;

typedef struct {
  tpoint *pt;
  size_t np;
  double count; /* points of the level in the whole field */
} tlevel;

static void pad_shape(const gwlz_i2_cfg *c, size_t *N, size_t *ST) {
  for (int e = 0; e < c->nd; e++) N[e] = c->n[e];
  ST[c->nd - 1] = 1;
  for (int e = c->nd - 2; e >= 0; e--) ST[e] = ST[e + 1] * N[e + 1];
}

/* Residuals of one point (coordinates co) at stride h. */
static void sample_point(const gwlz_i2_cfg *c, int isd, const void *data, const size_t *N,
                         const size_t *ST, const size_t *co, size_t h, unsigned S, tpoint *p) {
  size_t idx = 0;
  for (int e = 0; e < c->nd; e++) idx += co[e] * ST[e];
  double x = gwlz_ld(data, idx, isd);
  p->S = (uint8_t)S;
  for (int e = 0; e < c->nd; e++) {
    if (!(S & (1u << e))) continue;
    for (int k = 0; k < TUNE_NK; k++)
      p->r[e][k] = (float)(x - gwlz_i2_pred1(data, isd, idx, co[e], h, ST[e], N[e], k));
  }
}

/* Sample the points of level l (stride h) for frozen mask F. */
static gwlz_error sample_level(const gwlz_i2_cfg *c, int isd, const void *data, unsigned F,
                               size_t h, uint64_t *rng, tlevel *tl) {
  size_t N[GWLZ_MAX_DIMS], ST[GWLZ_MAX_DIMS], cnt1[GWLZ_MAX_DIMS];
  pad_shape(c, N, ST);
  double all = 1.0, even = 1.0;
  for (int e = 0; e < c->nd; e++) {
    if (F & (1u << e)) {
      cnt1[e] = N[e];
      all *= (double)N[e];
      even *= (double)N[e];
    } else {
      cnt1[e] = (N[e] + h - 1) / h;
      all *= (double)cnt1[e];
      even *= (double)((N[e] + 2 * h - 1) / (2 * h));
    }
  }
  tl->count = all - even;
  tl->np = 0;
  tl->pt = NULL;
  if (tl->count < 0.5) return GWLZ_OK;
  size_t want = tl->count <= TUNE_NPL ? (size_t)tl->count : TUNE_NPL;
  tl->pt = (tpoint *)malloc(want * sizeof(tpoint));
  if (!tl->pt) return GWLZ_ERR_MEMORY;
  size_t co[GWLZ_MAX_DIMS];
  if (tl->count <= TUNE_NPL) { /* every point */
    size_t j[GWLZ_MAX_DIMS] = {0, 0, 0, 0};
    for (;;) {
      unsigned S = 0;
      for (int e = 0; e < c->nd; e++) {
        int fr = (F >> e) & 1;
        co[e] = fr ? j[e] : j[e] * h;
        if (!fr && (j[e] & 1)) S |= 1u << e;
      }
      if (S && tl->np < want) sample_point(c, isd, data, N, ST, co, h, S, &tl->pt[tl->np++]);
      int e = c->nd - 1;
      while (e >= 0 && ++j[e] >= cnt1[e]) j[e--] = 0;
      if (e < 0) break;
    }
    return GWLZ_OK;
  }
  for (size_t tries = 0; tl->np < want && tries < 64 * want; tries++) {
    unsigned S = 0;
    for (int e = 0; e < c->nd; e++) {
      size_t j = (size_t)(gwlz_rng_next(rng) % cnt1[e]);
      int fr = (F >> e) & 1;
      co[e] = fr ? j : j * h;
      if (!fr && (j & 1)) S |= 1u << e;
    }
    if (S) sample_point(c, isd, data, N, ST, co, h, S, &tl->pt[tl->np++]);
  }
  return GWLZ_OK;
}

static inline void hist_add(uint32_t *hist, double r, double inv) {
  hist[gwlz_interp_hist_bin(r * inv)]++;
}

/* A candidate predictor of one level. */
typedef struct {
  int kind, md, perm;
  uint8_t w[GWLZ_MAX_DIMS];
} tcand;

/* Inverse-variance weights of the 1-D predictions of a level for kind k. */
static void md_weights(const gwlz_i2_cfg *c, const tlevel *tl, int k, double ebl, uint8_t *w) {
  double var[GWLZ_MAX_DIMS] = {0, 0, 0, 0}, n[GWLZ_MAX_DIMS] = {0, 0, 0, 0}, best = 0;
  for (size_t i = 0; i < tl->np; i++)
    for (int e = 0; e < c->nd; e++)
      if (tl->pt[i].S & (1u << e)) {
        double r = tl->pt[i].r[e][k];
        var[e] += r * r;
        n[e] += 1;
      }
  double inv[GWLZ_MAX_DIMS] = {0, 0, 0, 0};
  for (int e = 0; e < c->nd; e++) {
    double v = (n[e] > 0 ? var[e] / n[e] : 0) + ebl * ebl / 3.0 * kind_gain[k];
    /* an infinite variance (residuals near DBL_MAX) weighs nothing, a NaN or
     * zero one as much as any */
    inv[e] = v > 0 ? (isfinite(v) ? 1.0 / v : 0.0) : 1.0;
    if (inv[e] > best) best = inv[e];
  }
  for (int e = 0; e < c->nd; e++) {
    double q = best > 0 && isfinite(best) ? 255.0 * inv[e] / best + 0.5 : 255.0;
    w[e] = (uint8_t)(q >= 255 ? 255 : (q >= 1 ? q : 1));
  }
}

/* Estimated bits per sampled point of one candidate. */
static double cand_bits(const gwlz_i2_cfg *c, const tlevel *tl, const tcand *cd, double ebl,
                        uint32_t *hist) {
  int order[GWLZ_MAX_DIMS];
  memset(hist, 0, GWLZ_IH_W * sizeof(uint32_t));
  if (!cd->md) gwlz_i2_order(c->nd, cd->perm, order);
  double inv = 1.0 / (2.0 * ebl);
  for (size_t i = 0; i < tl->np; i++) {
    const tpoint *p = &tl->pt[i];
    double r;
    if (cd->md) {
      double acc = 0, ws = 0;
      for (int e = 0; e < c->nd; e++)
        if (p->S & (1u << e)) {
          acc += cd->w[e] * (double)p->r[e][cd->kind];
          ws += cd->w[e];
        }
      r = acc / ws;
    } else {
      int d = 0;
      for (int t = 0; t < c->nd; t++)
        if (p->S & (1u << order[t])) d = order[t];
      r = p->r[d][cd->kind];
    }
    hist_add(hist, r, inv);
  }
  return tl->np ? gwlz_interp_hist_bits(hist) / (double)tl->np : 0.0;
}

static int factorial(int n) { return n <= 1 ? 1 : n * factorial(n - 1); }

/* Order-0 bits and modelled squared error per point of level l with the
 * level's chosen predictor: a point whose residual quantizes to 0 keeps it
 * as its error, others a uniform error (e^2 / 3). */
static void level_model(const gwlz_i2_cfg *c, int l, const tlevel *tl, uint32_t *hist,
                        double *bits, double *mse) {
  tcand cd;
  memset(&cd, 0, sizeof cd);
  cd.kind = c->kind[l];
  cd.md = c->md[l];
  cd.perm = c->perm[l];
  for (int e = 0; e < c->nd; e++) cd.w[e] = c->w[l][e];
  double ebl = gwlz_i2_level_eb(c, l);
  *bits = cand_bits(c, tl, &cd, ebl, hist);
  double se = 0;
  for (int b = 0; b < GWLZ_IH_W; b++) {
    if (b == GWLZ_IH_B) continue;
    se += (double)hist[b] * ebl * ebl / 3.0;
  }
  /* the zero bin: the residuals themselves */
  int order[GWLZ_MAX_DIMS];
  if (!cd.md) gwlz_i2_order(c->nd, cd.perm, order);
  for (size_t i = 0; i < tl->np; i++) {
    const tpoint *p = &tl->pt[i];
    double r;
    if (cd.md) {
      double acc = 0, ws = 0;
      for (int e = 0; e < c->nd; e++)
        if (p->S & (1u << e)) {
          acc += cd.w[e] * (double)p->r[e][cd.kind];
          ws += cd.w[e];
        }
      r = acc / ws;
    } else {
      int d = 0;
      for (int t = 0; t < c->nd; t++)
        if (p->S & (1u << order[t])) d = order[t];
      r = p->r[d][cd.kind];
    }
    if (fabs(r) < ebl) se += r * r;
  }
  *mse = tl->np ? se / (double)tl->np : 0.0;
}

gwlz_error gwlz_i2_level_stats(const gwlz_i2_cfg *c, int isd, const void *data, uint64_t seed,
                               double *bits, double *mse, double *pts) {
  tlevel tl;
  uint32_t *hist = (uint32_t *)malloc(GWLZ_IH_W * sizeof(uint32_t));
  gwlz_error e = hist ? GWLZ_OK : GWLZ_ERR_MEMORY;
  uint64_t rng = seed;
  for (int l = 1; l <= c->L && e == GWLZ_OK; l++) {
    e = sample_level(c, isd, data, c->frozen, (size_t)1 << (l - 1), &rng, &tl);
    if (e == GWLZ_OK) {
      level_model(c, l, &tl, hist, &bits[l], &mse[l]);
      pts[l] = tl.count;
    }
    free(tl.pt);
  }
  free(hist);
  return e;
}

/* Best candidate of every level for frozen mask F; returns the estimated
 * bits of the field (levels 1..L). */
static double choose_for(gwlz_i2_cfg *c, tlevel *tl, unsigned F, uint32_t *hist) {
  double total = 0;
  int nfree = c->nd - __builtin_popcount(F);
  for (int l = 1; l <= c->L; l++) {
    if (!tl[l].np) continue;
    double ebl = gwlz_i2_level_eb(c, l), best = INFINITY;
    tcand cd, bc;
    memset(&bc, 0, sizeof bc);
    for (int k = 0; k < TUNE_NK; k++) {
      memset(&cd, 0, sizeof cd);
      cd.kind = k;
      /* 1-D orders (only the relative order of the free dims matters) */
      int np = factorial(c->nd);
      for (int p = 0; p < np; p++) {
        int order[GWLZ_MAX_DIMS], seen = 0, dup = 0;
        gwlz_i2_order(c->nd, p, order);
        /* skip orders that differ only in frozen dims' places: keep the one
         * with frozen dims last */
        for (int t = 0; t < c->nd; t++) {
          if (F & (1u << order[t])) seen = 1;
          else if (seen) dup = 1;
        }
        if (dup) continue;
        cd.md = 0;
        cd.perm = p;
        double b = cand_bits(c, &tl[l], &cd, ebl, hist);
        if (b < best) {
          best = b;
          bc = cd;
        }
      }
      if (nfree >= 2) {
        cd.md = 1;
        cd.perm = 0;
        md_weights(c, &tl[l], k, ebl, cd.w);
        double b = cand_bits(c, &tl[l], &cd, ebl, hist);
        if (b < best) {
          best = b;
          bc = cd;
        }
      }
    }
    c->kind[l] = (uint8_t)bc.kind;
    c->md[l] = (uint8_t)bc.md;
    c->perm[l] = (uint8_t)bc.perm;
    for (int e = 0; e < c->nd; e++) c->w[l][e] = bc.md ? bc.w[e] : 1;
    total += best * tl[l].count;
  }
  return total;
}

gwlz_error gwlz_i2_tune_predictors(gwlz_i2_cfg *c, int isd, const void *data, uint64_t seed) {
  tlevel *tl = (tlevel *)calloc((size_t)(c->L + 1), sizeof(tlevel));
  uint32_t *hist = (uint32_t *)malloc(GWLZ_IH_W * sizeof(uint32_t));
  gwlz_error e = (tl && hist) ? GWLZ_OK : GWLZ_ERR_MEMORY;
  double best_total = INFINITY;
  gwlz_i2_cfg best = *c;
  unsigned nF = c->nd >= 2 ? (unsigned)c->nd + 1 : 1;
  for (unsigned fi = 0; fi < nF && e == GWLZ_OK; fi++) {
    unsigned F = fi ? 1u << (fi - 1) : 0;
    uint64_t rng = seed;
    for (int l = 1; l <= c->L && e == GWLZ_OK; l++)
      e = sample_level(c, isd, data, F, (size_t)1 << (l - 1), &rng, &tl[l]);
    if (e == GWLZ_OK) {
      gwlz_i2_cfg t = *c;
      t.frozen = F;
      double total = choose_for(&t, tl, F, hist);
      /* freezing must win clearly */
      if (F) total *= 1.03;
      if (total < best_total) {
        best_total = total;
        best = t;
      }
    }
    for (int l = 0; l <= c->L; l++) {
      free(tl[l].pt);
      tl[l].pt = NULL;
      tl[l].np = 0;
    }
  }
  if (e == GWLZ_OK) *c = best;
  free(tl);
  free(hist);
  return e;
}

/* ---- level factors ------------------------------------------------------- */

void gwlz_i2_set_factors(gwlz_i2_cfg *c, double alpha, double beta) {
  for (int l = 1; l <= c->L; l++) {
    double r = 1.0;
    for (int j = 1; j < l; j++) {
      r *= alpha;
      if (r >= beta) {
        r = beta;
        break;
      }
    }
    double q = (r - 1.0) * 16.0 + 0.5;
    c->fq[l] = (uint8_t)(q >= 255 ? 255 : (q >= 0 ? q : 0));
  }
}

void gwlz_i2_blocks_free(gwlz_i2_blocks *b) {
  free(b->buf);
  free(b->rec);
  free(b->mag);
  memset(b, 0, sizeof *b);
}

gwlz_error gwlz_i2_blocks_init(gwlz_i2_blocks *b, const gwlz_i2_cfg *c, int isd, const void *data,
                               double frac, size_t whole_max) {
  static const size_t side[5] = {0, 4096, 128, 32, 16};
  memset(b, 0, sizeof *b);
  size_t total = 1;
  for (int e = 0; e < c->nd; e++) total *= c->n[e];
  int whole = total <= whole_max;
  b->nd = c->nd;
  b->tsize = isd ? 8 : 4;
  b->blen = 1;
  for (int e = 0; e < c->nd; e++) {
    size_t s = whole ? c->n[e] : (c->n[e] < side[c->nd] ? c->n[e] : side[c->nd]);
    b->bn[e] = s;
    b->blen *= s;
  }
  size_t want = whole ? 1 : (size_t)((double)total * frac / (double)b->blen) + 1;
  if (want > 64) want = 64;
  b->nblk = (int)want;
  b->buf = (uint8_t *)malloc(want * b->blen * b->tsize);
  b->rec = (uint8_t *)malloc(b->blen * b->tsize);
  b->mag = (uint8_t *)malloc(b->blen);
  if (!b->buf || !b->rec || !b->mag) {
    gwlz_i2_blocks_free(b);
    return GWLZ_ERR_MEMORY;
  }
  /* block corners from an R_d low-discrepancy sequence: the blocks cover
   * the field evenly */
  static const double phi[5] = {0, 1.6180339887498949, 1.3247179572447460, 1.2207440846057596,
                                1.1673039782614187};
  double alpha[GWLZ_MAX_DIMS], g = 1.0;
  for (int e = 0; e < c->nd; e++) {
    g /= phi[c->nd];
    alpha[e] = g;
  }
  for (int k = 0; k < b->nblk; k++) {
    size_t o[GWLZ_MAX_DIMS];
    for (int e = 0; e < c->nd; e++) {
      size_t room = c->n[e] - b->bn[e];
      double u = 0.5 + alpha[e] * (double)(k + 1);
      u -= floor(u);
      o[e] = room ? (size_t)(u * (double)(room + 1)) : 0;
      if (o[e] > room) o[e] = room;
    }
    gwlz_shape fs;
    fs.nd = c->nd;
    fs.total = 1;
    for (int e = 0; e < c->nd; e++) fs.total *= (fs.n[e] = c->n[e]);
    gwlz_base_copy_block(&fs, o, b->bn, data, b->buf + (size_t)k * b->blen * b->tsize, b->tsize);
  }
  return GWLZ_OK;
}

gwlz_error gwlz_i2_blocks_try(const gwlz_i2_blocks *b, const gwlz_i2_cfg *c, int isd, double eb,
                              double *bits, double *sse, double *acct) {
  gwlz_i2_cfg bc = *c;
  bc.nd = b->nd;
  for (int e = 0; e < b->nd; e++) bc.n[e] = b->bn[e];
  bc.L = gwlz_i2_levels(bc.nd, bc.n);
  bc.eb = eb;
  *bits = 0;
  *sse = 0;
  return gwlz_i2_trial(&bc, isd, b->buf, b->nblk, b->rec, b->mag, bits, sse, acct);
}

#define NAB 17
static const double ab_cand[NAB][2] = {
    {1, 1},       {1.25, 1.5}, {1.25, 2},   {1.25, 3},   {1.25, 4}, {1.5, 1.5},
    {1.5, 2},     {1.5, 3},    {1.5, 4},    {1.75, 2},   {1.75, 3}, {1.75, 4},
    {2, 2},       {2, 3},      {2, 4},      {2.5, 4},    {2.5, 6}};

gwlz_error gwlz_i2_tune_levels(gwlz_i2_cfg *c, int isd, const gwlz_i2_blocks *b, double *lam_out) {
  double b0, s0, b1, s1;
  gwlz_error e = gwlz_i2_blocks_try(b, c, isd, c->eb, &b0, &s0, NULL);
  if (e == GWLZ_OK) e = gwlz_i2_blocks_try(b, c, isd, c->eb * 1.25, &b1, &s1, NULL);
  if (e != GWLZ_OK) return e;
  /* PSNR (up to a constant) per doubling of size */
  double lam = 8.0;
  if (b0 > 0 && b1 > 0 && s0 > 0 && s1 > 0 && b0 != b1) {
    double l = (10.0 * log10(s1 / s0)) / log2(b0 / b1);
    if (isfinite(l)) lam = l;
  }
  if (lam < 4.0) lam = 4.0;
  if (lam > 40.0) lam = 40.0;
  *lam_out = lam;
  double best = s0 > 0 ? -10.0 * log10(s0) - lam * log2(b0 > 1 ? b0 : 1) : -INFINITY;
  uint8_t bestfq[GWLZ_I2_MAXL + 1];
  memcpy(bestfq, c->fq, sizeof bestfq);
  gwlz_i2_cfg t = *c;
  for (int k = 0; k < NAB && e == GWLZ_OK; k++) {
    gwlz_i2_set_factors(&t, ab_cand[k][0], ab_cand[k][1]);
    if (!memcmp(t.fq, c->fq, sizeof t.fq)) continue;
    double bb, ss;
    e = gwlz_i2_blocks_try(b, &t, isd, c->eb, &bb, &ss, NULL);
    if (e != GWLZ_OK || !(ss > 0)) continue;
    double j = -10.0 * log10(ss) - lam * log2(bb > 1 ? bb : 1);
    if (j > best) {
      best = j;
      memcpy(bestfq, t.fq, sizeof bestfq);
    }
  }
  memcpy(c->fq, bestfq, sizeof bestfq);
  return e;
}

double gwlz_i2_score(double bits, double sse, double lam) {
  if (!(sse > 0)) sse = DBL_MIN;
  return -10.0 * log10(sse) - lam * log2(bits > 1 ? bits : 1);
}

double gwlz_i2_at_size(const double *bits, const double *sse, double target) {
  double p0 = -10.0 * log10(sse[0] > 0 ? sse[0] : DBL_MIN);
  double p1 = -10.0 * log10(sse[1] > 0 ? sse[1] : DBL_MIN);
  double l0 = log2(bits[0] > 1 ? bits[0] : 1), l1 = log2(bits[1] > 1 ? bits[1] : 1);
  double lam = l1 > l0 + 1e-3 ? (p1 - p0) / (l1 - l0) : 8.0;
  if (!isfinite(lam) || lam < 2.0) lam = 2.0;
  if (lam > 60.0) lam = 60.0;
  return p0 + lam * (log2(target > 1 ? target : 1) - l0);
}
