/* interp_predict.c - multilevel interpolation predictor; see the header for
 * the exact visiting order. Compressor and decoder share one traversal
 * (interp_run), specialised by constant flags, so they make the very same
 * predictions in the very same order. */
#include "base/interp_predict.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "base/interp_common.h"
#include "base/quantizer.h"

typedef struct {
  gwlz_qstream qs;
  size_t ci; /* next code slot (codes are in visiting order) */
} istate;

/* Extents padded to 4-D (leading 1s) and their C-order strides; returns the
 * number of leading 1s. */
static int pad4(const gwlz_interp_cfg *c, size_t *N, size_t *ST) {
  int pad = 4 - c->nd;
  for (int e = 0; e < 4; e++) N[e] = e < pad ? 1 : c->n[e - pad];
  ST[3] = 1;
  for (int e = 2; e >= 0; e--) ST[e] = ST[e + 1] * N[e + 1];
  return pad;
}

int gwlz_interp_levels(const gwlz_interp_cfg *c) {
  size_t m = 1;
  for (int i = 0; i < c->nd; i++)
    if (c->n[i] > m) m = c->n[i];
  int L = 0;
  while (L < 62 && ((size_t)1 << L) < m) L++;
  return L;
}

double gwlz_interp_level_eb(const gwlz_interp_cfg *c, int level) {
  double r = 1.0;
  for (int j = 1; j < level; j++) {
    r *= c->alpha;
    if (r >= c->beta) {
      r = c->beta;
      break;
    }
  }
  return c->eb / r;
}

static GWLZ_ALWAYS_INLINE void put(istate *S, size_t i, double pred, int isd, int dec) {
  gwlz_qstream_put(&S->qs, i, S->ci, pred, isd, dec);
  S->ci++; /* here, not in the call: measured ~2% fewer instructions */
}

/* Kind of the point at coordinate i (an odd multiple of s) on a line of
 * extent n: linear or cubic interpolation. */
static inline int kind_of(size_t i, size_t s, size_t n, int cubic) {
  return gwlz_interp_kind(i, s, n, cubic ? GWLZ_I2_KIND_CUBIC : GWLZ_I2_KIND_LINEAR);
}

/* cnt points from idx, step apart, predicted by kind along offset o1; one
 * loop per kind, so that kind is a constant inside it. */
static GWLZ_ALWAYS_INLINE void seg(istate *S, int isd, int dec, int kind, size_t idx,
                                   size_t step, size_t cnt, size_t o1) {
#define SEG(K)                                                \
  for (; cnt; cnt--, idx += step)                             \
    put(S, idx, gwlz_interp_predict(S->qs.rec, isd, idx, K, o1), isd, dec); \
  break
  switch (kind) {
    case K_CUBIC: SEG(K_CUBIC);
    case K_LIN: SEG(K_LIN);
    case K_Q1: SEG(K_Q1);
    case K_Q2: SEG(K_Q2);
    case K_Q3: SEG(K_Q3);
    case K_LINX: SEG(K_LINX);
    default: SEG(K_COPY);
  }
#undef SEG
}

/* A line along the innermost dimension: points s, 3s, 5s, ... < n at
 * base + i * st, grouped into runs of one kind. */
static GWLZ_ALWAYS_INLINE void line(istate *S, int isd, int dec, size_t base, size_t i0,
                                    size_t i1, size_t n, size_t s, size_t st, int cubic) {
  size_t i = i0, o1 = s * st;
  while (i < i1) {
    int kind = kind_of(i, s, n, cubic);
    size_t cnt = 1;
    if (kind == K_CUBIC)
      cnt = (n - 3 * s - i - 1) / (2 * s) + 1;
    else if (kind == K_LIN && !cubic)
      cnt = (n - s - i - 1) / (2 * s) + 1;
    size_t room = (i1 - i - 1) / (2 * s) + 1;
    if (cnt > room) cnt = room;
    seg(S, isd, dec, kind, base + i * st, 2 * s * st, cnt, o1);
    i += cnt * 2 * s;
  }
}

/* The points of one pass inside the box [first, end) (first on the pass's
 * lattice), in C order. */
static GWLZ_ALWAYS_INLINE void pass(istate *S, int isd, int dec, const size_t *N, const size_t *ST,
                                    int d, size_t s, const size_t *first, const size_t *end,
                                    const size_t *stp, int cubic) {
  size_t o1 = s * ST[d];
  size_t cnt3 = d == 3 ? 0 : (end[3] - first[3] + stp[3] - 1) / stp[3];
  for (size_t c0 = first[0]; c0 < end[0]; c0 += stp[0]) {
    int k0 = d == 0 ? kind_of(c0, s, N[0], cubic) : K_COPY;
    size_t b0 = c0 * ST[0];
    for (size_t c1 = first[1]; c1 < end[1]; c1 += stp[1]) {
      int k1 = d == 1 ? kind_of(c1, s, N[1], cubic) : k0;
      size_t b1 = b0 + c1 * ST[1];
      for (size_t c2 = first[2]; c2 < end[2]; c2 += stp[2]) {
        int k2 = d == 2 ? kind_of(c2, s, N[2], cubic) : k1;
        size_t b2 = b1 + c2 * ST[2];
        if (d == 3)
          line(S, isd, dec, b2, first[3], end[3], N[3], s, ST[3], cubic);
        else
          seg(S, isd, dec, k2, b2 + first[3] * ST[3], stp[3] * ST[3], cnt3, o1);
      }
    }
  }
}

static GWLZ_ALWAYS_INLINE void interp_run(const gwlz_interp_cfg *c, istate *S, int isd, int dec) {
  size_t N[4], ST[4];
  int pad = pad4(c, N, ST);
  int L = gwlz_interp_levels(c);
  gwlz_quant_set(&S->qs.q, gwlz_interp_level_eb(c, L > 0 ? L : 1), GWLZ_QUANT_RADIUS);
  S->qs.cls = 0;
  put(S, 0, 0.0, isd, dec);
  for (int l = L; l >= 1; l--) {
    size_t s = (size_t)1 << (l - 1);
    int done[4] = {0, 0, 0, 0};
    size_t BS[4];
    for (int e = 0; e < 4; e++) {
      size_t b = c->blog ? (size_t)1 << c->blog : 0;
      if (b && b < 2 * s) b = 2 * s;
      BS[e] = b && b < N[e] ? b : N[e];
    }
    gwlz_quant_set(&S->qs.q, gwlz_interp_level_eb(c, l), GWLZ_QUANT_RADIUS);
    for (int t = 0; t < c->nd; t++) {
      int d = pad + c->order[t];
      size_t beg[4], stp[4], first[4], end[4];
      for (int e = 0; e < 4; e++) {
        beg[e] = e == d ? s : 0;
        stp[e] = e == d ? 2 * s : (done[e] ? s : 2 * s);
      }
      done[d] = 1;
      if (s >= N[d]) continue;
      S->qs.cls = (uint8_t)((l < 15 ? l : 15) | (t << 4));
      /* blocks of BS values per dimension, corners B in C order, the pass's
       * points of each block in C order (points of one pass do not depend
       * on each other, so any order is valid); e: the first digit of B that
       * changed */
      size_t B[4] = {0, 0, 0, 0};
      for (int e = 0;;) {
        for (; e < 4; e++) {
          first[e] = B[e] + beg[e];
          end[e] = N[e] - B[e] > BS[e] ? B[e] + BS[e] : N[e];
        }
        if (first[0] < end[0] && first[1] < end[1] && first[2] < end[2] && first[3] < end[3]) {
          /* one specialised copy per pass dimension keeps loops tight */
          switch (d) {
            case 0: pass(S, isd, dec, N, ST, 0, s, first, end, stp, c->cubic); break;
            case 1: pass(S, isd, dec, N, ST, 1, s, first, end, stp, c->cubic); break;
            case 2: pass(S, isd, dec, N, ST, 2, s, first, end, stp, c->cubic); break;
            default: pass(S, isd, dec, N, ST, 3, s, first, end, stp, c->cubic); break;
          }
        }
        for (e = 3; e >= 0 && (B[e] += BS[e]) >= N[e]; e--) B[e] = 0;
        if (e < 0) break;
      }
    }
  }
}

/* One out-of-line copy of the traversal per data type and direction (kept
 * apart on purpose: both inlined into one function, compression measured a
 * few percent slower). */
static GWLZ_NOINLINE void run_cf(const gwlz_interp_cfg *c, istate *S) { interp_run(c, S, 0, 0); }
static GWLZ_NOINLINE void run_cd(const gwlz_interp_cfg *c, istate *S) { interp_run(c, S, 1, 0); }
static GWLZ_NOINLINE void run_df(const gwlz_interp_cfg *c, istate *S) { interp_run(c, S, 0, 1); }
static GWLZ_NOINLINE void run_dd(const gwlz_interp_cfg *c, istate *S) { interp_run(c, S, 1, 1); }

size_t gwlz_interp_compress(const gwlz_interp_cfg *c, int isd, const void *data, void *rec,
                            uint8_t *aux, uint32_t *codes, gwlz_wbuf *unpred) {
  istate S;
  gwlz_qstream_enc(&S.qs, data, rec, aux, codes, unpred);
  S.ci = 0;
  if (isd)
    run_cd(c, &S);
  else
    run_cf(c, &S);
  return S.qs.nun;
}

gwlz_error gwlz_interp_decompress(const gwlz_interp_cfg *c, int isd, const uint32_t *codes,
                                  const uint8_t *unpred, size_t nunpred, void *out, uint8_t *aux) {
  istate S;
  gwlz_qstream_dec(&S.qs, out, aux, codes, unpred, nunpred);
  S.ci = 0;
  if (isd)
    run_dd(c, &S);
  else
    run_df(c, &S);
  return gwlz_qstream_end(&S.qs);
}

/* ---- sampling ------------------------------------------------------------- */

static void sample_point(const void *data, int isd, const size_t *N, const size_t *ST,
                         const size_t *co, int mask, size_t idx, size_t s, double inv,
                         uint32_t *hist) {
  double x = gwlz_ld(data, idx, isd);
  for (int d = 0; d < 4; d++) {
    if (!(mask & (1 << d))) continue;
    for (int cub = 0; cub < 2; cub++) {
      int kind = kind_of(co[d], s, N[d], cub);
      double p = gwlz_interp_predict(data, isd, idx, kind, s * ST[d]);
      int b = gwlz_interp_hist_bin((x - p) * inv);
      hist[(((size_t)mask * 4 + (size_t)d) * 2 + (size_t)cub) * GWLZ_IH_W + (size_t)b]++;
    }
  }
}

gwlz_error gwlz_interp_choose(gwlz_interp_cfg *c, int isd, const void *data, double frac,
                              uint64_t seed) {
  size_t N[4], ST[4];
  int pad = pad4(c, N, ST);
  uint32_t *hist = (uint32_t *)calloc((size_t)16 * 4 * 2 * GWLZ_IH_W, sizeof(uint32_t));
  if (!hist) return GWLZ_ERR_MEMORY;
  uint64_t rng = seed;
  int L = gwlz_interp_levels(c);
  for (int l = 1; l <= 2 && l <= L; l++) {
    size_t s = (size_t)1 << (l - 1);
    double inv = 1.0 / (2.0 * gwlz_interp_level_eb(c, l));
    size_t cnt[4], rows = 1;
    for (int e = 0; e < 4; e++) cnt[e] = (N[e] + s - 1) / s;
    for (int e = 0; e < 3; e++) rows *= cnt[e];
    /* rows along the fastest dimension; a 1-D array is cut into windows */
    size_t win = cnt[3], nwin = 1;
    if (c->nd == 1 && cnt[3] > 4096) {
      win = 1024;
      nwin = cnt[3] / win;
    }
    double want = frac * (double)(rows * nwin);
    size_t nrows = want < 1.0 ? 1 : (size_t)want;
    if (nrows > rows * nwin) nrows = rows * nwin;
    for (size_t r = 0; r < nrows; r++) {
      size_t co[4] = {0, 0, 0, 0};
      int outer = 0;
      for (int e = 0; e < 3; e++) {
        size_t k = cnt[e] > 1 ? (size_t)(gwlz_rng_next(&rng) % cnt[e]) : 0;
        co[e] = k * s;
        if (k & 1) outer |= 1 << e;
      }
      size_t j0 = 0, j1 = cnt[3];
      if (nwin > 1) {
        j0 = (size_t)(gwlz_rng_next(&rng) % (cnt[3] - win + 1));
        j1 = j0 + win;
      }
      size_t base = co[0] * ST[0] + co[1] * ST[1] + co[2] * ST[2];
      for (size_t j = j0; j < j1; j++) {
        int mask = outer | (int)((j & 1) << 3);
        if (!mask) continue;
        co[3] = j * s;
        sample_point(data, isd, N, ST, co, mask, base + co[3] * ST[3], s, inv, hist);
      }
    }
  }
  /* score every (interpolation, order) */
  double best = INFINITY;
  int perm[4];
  uint32_t tot[GWLZ_IH_W];
  for (int cub = 1; cub >= 0; cub--) {
    for (int e = 0; e < c->nd; e++) perm[e] = e;
    for (;;) {
      memset(tot, 0, sizeof tot);
      for (int mask = 1; mask < 16; mask++) {
        /* the pass dimension of a point: its odd dimension passed last */
        int d = -1;
        for (int t = 0; t < c->nd; t++)
          if (mask & (1 << (pad + perm[t]))) d = pad + perm[t];
        if (d < 0) continue;
        const uint32_t *h = hist + (((size_t)mask * 4 + (size_t)d) * 2 + (size_t)cub) * GWLZ_IH_W;
        for (int b = 0; b < GWLZ_IH_W; b++) tot[b] += h[b];
      }
      double cost = gwlz_interp_hist_bits(tot);
      if (cost < best) {
        best = cost;
        c->cubic = cub;
        for (int t = 0; t < c->nd; t++) c->order[t] = perm[t];
      }
      /* next permutation */
      int i = c->nd - 2;
      while (i >= 0 && perm[i] >= perm[i + 1]) i--;
      if (i < 0) break;
      int j = c->nd - 1;
      while (perm[j] <= perm[i]) j--;
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
      for (int a = i + 1, b = c->nd - 1; a < b; a++, b--) {
        t = perm[a];
        perm[a] = perm[b];
        perm[b] = t;
      }
    }
  }
  free(hist);
  return GWLZ_OK;
}
