/* kernel.c - inference of the version 2 enhancer (v2.h, docs/format.md
 * §10.9): geometry, the symmetric features of a row segment, the group of a
 * cell, the prediction, and the two ways of applying it (in place over the
 * whole field, or on a box into a separate buffer).
 *
 * Every operation that reaches the output is an element-wise IEEE operation
 * in a fixed order (no reductions across cells), so the loops may be
 * vectorised by the compiler and give the same bytes in every build. */
#include <math.h>
#include <stdlib.h>

#include "enhance/v2.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(GWLZ_NO_CLONES) && !defined(__AVX2__) && !defined(__SANITIZE_ADDRESS__)
#define E2_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define E2_CLONES
#endif

/* ---- geometry ------------------------------------------------------------- */
gwlz_error gwlz_e2_geom(const gwlz_enh_params *p, e2_geom *g) {
  memset(g, 0, sizeof(*g));
  g->type = p->type;
  g->n = p->n;
  g->eb = p->abs_eb;
  for (int a = 0; a < p->ndims; a++)
    if (p->dims[a] != 1) g->N[g->nd++] = p->dims[a];
  if (g->nd == 0) g->N[g->nd++] = 1;
  g->k = g->nd < 3 ? g->nd : 3;
  g->nx = g->N[g->nd - 1];
  g->ny = g->k >= 2 ? g->N[g->nd - 2] : 1;
  g->nz = g->k >= 3 ? g->N[g->nd - 3] : 1;
  g->nrows = g->nx ? g->n / g->nx : 0;
  return g->nx && g->nrows * g->nx == g->n ? GWLZ_OK : GWLZ_ERR_PARAM;
}

void gwlz_e2_feats_of(int k, e2_feats *fs) {
  fs->l1 = 2;
  fs->h = 2 + k;
  fs->l3 = 2 + 2 * k;
  fs->l2 = 2 + 3 * k;
  fs->m = 2 + 4 * k;
  const int cand[6] = {1, 2, fs->h, fs->l3, fs->l2, fs->m};
  fs->npre = 0;
  for (int i = 0; i < 6; i++)
    if (fs->npre == 0 || cand[i] > fs->pre[fs->npre - 1]) fs->pre[fs->npre++] = cand[i];
}

float gwlz_e2_clamp_value(int clamp_code) {
  float c = 1.0f;
  if (clamp_code == 0) return 16777216.0f;
  for (int i = 1; i < clamp_code; i++) c *= 2.0f;
  return c;
}

int gwlz_e2_rule_contexts(int rule, uint8_t *ctx_of, int *nctx) {
  if (rule < 0 || rule > 15) return 1;
  const int coded = rule & 1, lcap = (rule >> 1) & 3, pass = (rule >> 3) & 1;
  const int np = pass ? 4 : 1, nl = lcap + 1;
  for (int a = 0; a < 256; a++) {
    if (a & GWLZ_AUX_EXACT) {
      ctx_of[a] = 0xFF;
      continue;
    }
    int lv = a & 15, ps = (a >> 4) & 3, cd = (a >> 6) & 1;
    if (lv > lcap) lv = lcap;
    ctx_of[a] = (uint8_t)(((coded ? cd : 0) * nl + lv) * np + (pass ? ps : 0));
  }
  *nctx = (coded ? 2 : 1) * nl * np;
  return 0;
}

/* Smallest float >= b (b finite): for a float v, (double)v >= b exactly when
 * v >= e2_f32_ceil(b). */
static float e2_f32_ceil(double b) {
  float f = (float)b;
  if ((double)f < b) f = nextafterf(f, INFINITY);
  return f;
}

void gwlz_e2_model_layout(e2_model *M) {
  const int nb = 1 << M->fl;
  int gsum = 0;
  for (int c = 0; c < M->nctx; c++) {
    M->gbase[c] = gsum;
    if (M->j[c] < 0) continue;
    const int j = M->j[c], ng = nb >> j;
    for (int q = 0; q < ng; q++) {
      const int b0 = q << j, b1 = (q + 1) << j;
      const double L = b0 == 0 ? M->lo : M->bnd[b0 - 1];
      const double U = b1 == nb ? M->hi : M->bnd[b1 - 1];
      M->mid[gsum + q] = 0.5 * L + 0.5 * U;
      M->inv[gsum + q] = (U > L && isfinite(U - L)) ? 2.0 / (U - L) : 0.0;
      M->midf[gsum + q] = (float)M->mid[gsum + q];
      M->invf[gsum + q] = (float)M->inv[gsum + q];
    }
    gsum += ng;
  }
  M->gbase[M->nctx] = gsum;
  M->ngroups = gsum;
  for (int b = 0; b < nb - 1; b++) M->fbnd[b] = e2_f32_ceil(M->bnd[b]);
}

void gwlz_e2_model_prepare(e2_model *M) {
  int K = 0;
  M->mmax = 0;
  for (int grp = 0; grp < M->ngroups; grp++)
    if (M->kept[grp]) {
      K++;
      if (M->pfx[grp] > M->mmax) M->mmax = M->pfx[grp];
    }
  for (int a = 0; a < 256; a++)
    for (int vb = 0; vb < (1 << E2_MAXFL); vb++) {
      const int c = M->ctx_of[a];
      uint16_t grp = E2_NONE;
      if (c != 0xFF && M->j[c] >= 0 && vb < (1 << M->fl)) grp = (uint16_t)(M->gbase[c] + (vb >> M->j[c]));
      M->lut[(a << E2_MAXFL) | vb] = grp != E2_NONE && M->kept[grp] ? grp : E2_NONE;
    }
  for (int u = 0; u < (256 << E2_MAXFL); u++) M->lutrow[u] = E2_NOGROUP;
  M->gmode = K <= 64;
  if (!M->gmode) return;
  M->nslot = K <= 8 ? 8 : (K <= 16 ? 16 : (K <= 32 ? 32 : 64));
  memset(M->tw, 0, sizeof(M->tw));
  memset(M->tmid, 0, sizeof(M->tmid));
  memset(M->tinv, 0, sizeof(M->tinv));
  memset(M->tamp, 0, sizeof(M->tamp));
  int k = 0;
  for (int grp = 0; grp < M->ngroups; grp++) {
    M->gslot[grp] = 0;
    if (!M->kept[grp]) continue;
    M->gslot[grp] = (uint8_t)k;
    M->slotgrp[k] = (uint16_t)grp;
    for (int q = 0; q < M->pfx[grp]; q++) M->tw[q * 64 + k] = M->w[grp][q];
    M->tmid[k] = M->midf[grp];
    M->tinv[k] = M->invf[grp];
    M->tamp[k] = (float)M->amp[grp] * (1.0f / E2_AMP_DEN);
    k++;
  }
  for (int u = 0; u < (256 << E2_MAXFL); u++)
    if (M->lut[u] != E2_NONE) M->lutrow[u] = M->gslot[M->lut[u]];
}

/* ---- tap lines ----------------------------------------------------------------
 * Line l is the tap row (dz, dy) = e2_rows[l] of the segment's row (z, y),
 * clamped to the field: L[l][x] is X' at x0 + x. Only the centre line is read
 * at x offsets (-3..+3), so only it is padded (a copy with x clamped) when the
 * segment's halo leaves the row. */
static const int e2_rows[E2_NLINES][2] = {{0, 0},  {0, -1}, {0, 1},  {-1, 0}, {1, 0},
                                          {0, -3}, {0, 3},  {-3, 0}, {3, 0},  {0, -2},
                                          {0, 2},  {-2, 0}, {2, 0}};

static inline size_t e2_clampc(size_t c, int d, size_t n) {
  if (d < 0) return c >= (size_t)(-d) ? c - (size_t)(-d) : 0;
  return c + (size_t)d < n ? c + (size_t)d : n - 1;
}

/* Lines needed for features 0..nf-1. */
static int e2_nlines(int k, int nf, const e2_feats *fs) {
  if (k == 1 || nf <= fs->l1) return 1;
  if (nf <= fs->h) return 5;  /* L1: +-1  */
  if (nf <= fs->l2) return 9; /* H, L3: +-3 */
  return 13;                  /* L2: +-2  */
}

#define E2_LINES(NAME, T)                                                                          \
  static void NAME(const e2_geom *g, const T *X, size_t r, size_t x0, size_t len, int nl,         \
                   e2_scratch *S, const T **L) {                                                   \
    const size_t nx = g->nx, y = g->k >= 2 ? r % g->ny : 0;                                       \
    const size_t z = g->k >= 3 ? (r / g->ny) % g->nz : 0;                                         \
    const size_t rz0 = r - y - z * g->ny; /* row of (z, y) = (0, 0) in this slab */                \
    for (int l = 0; l < nl; l++) {                                                                 \
      const int dz = e2_rows[l][0], dy = e2_rows[l][1];                                            \
      L[l] = NULL;                                                                                 \
      if ((g->k < 3 && dz != 0) || (g->k < 2 && dy != 0)) continue;                                \
      const size_t zz = g->k >= 3 ? e2_clampc(z, dz, g->nz) : 0;                                   \
      const size_t yy = g->k >= 2 ? e2_clampc(y, dy, g->ny) : 0;                                   \
      L[l] = g->rowp ? (const T *)g->rowp[rz0 + zz * g->ny + yy] + x0                               \
             : X + (rz0 + zz * g->ny + yy) * nx + x0;                                             \
    }                                                                                              \
    if (x0 >= E2_HALO && x0 + len + E2_HALO <= nx) return;                                         \
    const T *src = L[0] - x0;                                                                      \
    T *dst = (T *)S->line[0];                                                                      \
    const size_t jb = x0 >= E2_HALO ? 0 : E2_HALO - x0;                                            \
    const size_t je = x0 + len + E2_HALO <= nx ? len + 2 * E2_HALO : nx + E2_HALO - x0;            \
    for (size_t j = 0; j < jb; j++) dst[j] = src[0];                                               \
    for (size_t j = jb; j < je; j++) dst[j] = src[x0 - E2_HALO + j];                               \
    for (size_t j = je; j < len + 2 * E2_HALO; j++) dst[j] = src[nx - 1];                          \
    L[0] = dst + E2_HALO;                                                                          \
  }
E2_LINES(e2_lines_f32, float)
E2_LINES(e2_lines_f64, double)

/* Tap arrays of used axis a (0 = slowest used) at distance d: T[a][d][0]
 * at -d, T[a][d][1] at +d. */
#define E2_TAPS(NAME, T)                                                                           \
  static void NAME(int k, const T *const *L, const T *(*Tp)[4][2]) {                               \
    static const int ly[4][2] = {{0, 0}, {1, 2}, {9, 10}, {5, 6}};                                 \
    static const int lz[4][2] = {{0, 0}, {3, 4}, {11, 12}, {7, 8}};                                \
    for (int a = 0; a < k; a++) {                                                                  \
      const int ax = a + 3 - k; /* 0 = z, 1 = y, 2 = x */                                          \
      for (int d = 1; d <= 3; d++) {                                                               \
        if (ax == 2) {                                                                             \
          Tp[a][d][0] = L[0] - d;                                                                  \
          Tp[a][d][1] = L[0] + d;                                                                  \
        } else {                                                                                   \
          const int(*lt)[2] = ax == 1 ? ly : lz;                                                   \
          Tp[a][d][0] = L[lt[d][0]];                                                               \
          Tp[a][d][1] = L[lt[d][1]];                                                               \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }
E2_TAPS(e2_taps_f32, float)
E2_TAPS(e2_taps_f64, double)

/* ---- features (§10.9.4), per cell ----------------------------------------------
 * sym(A, B) = clamp(((A - v) + (B - v)) * e, -cl, cl);
 * hres = clamp((((v - cub) * e) * 0.5), -1, 1),
 * clamp(s, lo, hi): s = s > lo ? s : lo; s = s < hi ? s : hi (the vector
 * max/min: a NaN becomes lo, so every feature is finite);
 * cub = ((((-a) + 9 b) + 9 c) - d) * 0.0625; in W, then rounded to float. */
static inline float e2_sym32(float a, float b, float v, float e, float cl) {
  float s = ((a - v) + (b - v)) * e;
  s = s > -cl ? s : -cl;
  return s < cl ? s : cl;
}
static inline float e2_hres32(float a, float b, float c, float d, float v, float e) {
  const float cub = ((((-a) + 9.0f * b) + 9.0f * c) - d) * 0.0625f;
  float h = ((v - cub) * e) * 0.5f;
  h = h > -1.0f ? h : -1.0f;
  return h < 1.0f ? h : 1.0f;
}
static inline float e2_sym64(double a, double b, double v, double e, double cl) {
  double s = ((a - v) + (b - v)) * e;
  s = s > -cl ? s : -cl;
  return (float)(s < cl ? s : cl);
}
static inline float e2_hres64(double a, double b, double c, double d, double v, double e) {
  const double cub = ((((-a) + 9.0 * b) + 9.0 * c) - d) * 0.0625;
  double h = ((v - cub) * e) * 0.5;
  h = h > -1.0 ? h : -1.0;
  return (float)(h < 1.0 ? h : 1.0);
}

/* Feature q >= 2 of the cell at x (family order L1, H, L3, L2; axis inner). */
#define E2_FEAT_AT(NAME, T, SYM, HRES)                                                             \
  static inline float NAME(const T *(*Tp)[4][2], int k, int q, size_t x, T v, T e, T cl) {          \
    const int fam = (q - 2) / k, a = (q - 2) % k;                                                  \
    if (fam == 1)                                                                                  \
      return HRES(Tp[a][3][0][x], Tp[a][1][0][x], Tp[a][1][1][x], Tp[a][3][1][x], v, e);           \
    const int d = fam == 0 ? 1 : (fam == 2 ? 3 : 2);                                               \
    return SYM(Tp[a][d][0][x], Tp[a][d][1][x], v, e, cl);                                          \
  }
E2_FEAT_AT(e2_feat32, float, e2_sym32, e2_hres32)
E2_FEAT_AT(e2_feat64, double, e2_sym64, e2_hres64)

/* Training: features 2..nf-1 of the segment into S->F (row q at q*E2_SEG). */
#define E2_FEATS(NAME, T, FEAT)                                                                    \
  E2_CLONES static void NAME(const T *(*Tp)[4][2], const T *V, int k, int nf, size_t len, T e,      \
                             T cl, float *F) {                                                      \
    for (size_t x = 0; x < len; x++) F[x] = 1.0f;                                                  \
    for (int q = 2; q < nf; q++) {                                                                 \
      float *f = F + (size_t)q * E2_SEG;                                                           \
      for (size_t x = 0; x < len; x++) f[x] = FEAT(Tp, k, q, x, V[x], e, cl);                      \
    }                                                                                              \
  }
E2_FEATS(e2_feats_f32, float, e2_feat32)
E2_FEATS(e2_feats_f64, double, e2_feat64)

void gwlz_e2_seg_features(const e2_geom *g, const void *xr, size_t r, size_t x0, size_t len, int nf,
                          float clampv, e2_scratch *S) {
  e2_feats fs;
  gwlz_e2_feats_of(g->k, &fs);
  const int nl = e2_nlines(g->k, nf, &fs);
  if (g->type == GWLZ_TYPE_DOUBLE) {
    const double *L[E2_NLINES] = {0}, *Tp[3][4][2];
    e2_lines_f64(g, (const double *)xr, r, x0, len, nl, S, L);
    e2_taps_f64(g->k, L, Tp);
    e2_feats_f64(Tp, L[0], g->k, nf, len, 1.0 / g->eb, (double)clampv, S->F);
  } else {
    const float *L[E2_NLINES] = {0}, *Tp[3][4][2];
    e2_lines_f32(g, (const float *)xr, r, x0, len, nl, S, L);
    e2_taps_f32(g->k, L, Tp);
    e2_feats_f32(Tp, L[0], g->k, nf, len, (float)(1.0 / g->eb), clampv, S->F);
  }
}

/* ---- groups ------------------------------------------------------------------ */
/* vb[x] = number of thresholds t[k] <= v[x] (k < nt); NaN/Inf: 0xFF */
#define E2_BINS(NAME, T)                                                                           \
  E2_CLONES static void NAME(const T *v, size_t len, const T *t, int nt, uint8_t *vb) {            \
    for (size_t x = 0; x < len; x++) vb[x] = 0;                                                    \
    for (int k = 0; k < nt; k++) {                                                                 \
      const T tk = t[k];                                                                           \
      for (size_t x = 0; x < len; x++) vb[x] = (uint8_t)(vb[x] + (v[x] >= tk));                    \
    }                                                                                              \
    for (size_t x = 0; x < len; x++) vb[x] = v[x] - v[x] == (T)0 ? vb[x] : (uint8_t)0xFF;          \
  }
E2_BINS(e2_bins_f32, float)
E2_BINS(e2_bins_f64, double)

void gwlz_e2_seg_groups(const e2_model *M, const e2_geom *g, const void *xr, const uint8_t *aux,
                        const uint8_t *mask, size_t i0, size_t len, e2_scratch *S) {
  const int nb = 1 << M->fl;
  uint8_t vb[E2_SEG];
  if (g->type == GWLZ_TYPE_DOUBLE)
    e2_bins_f64((const double *)xr + i0, len, M->bnd, nb - 1, vb);
  else
    e2_bins_f32((const float *)xr + i0, len, M->fbnd, nb - 1, vb);
  const uint8_t *a = aux ? aux + i0 : NULL;
  S->row_ready = M->gmode;
  if (M->gmode) { /* slots directly; the group only where asked for */
    for (size_t x = 0; x < len; x++) {
      const size_t u = ((size_t)(a ? a[x] : 0) << E2_MAXFL) | (vb[x] & 31u);
      S->row[x] = vb[x] == 0xFF ? E2_NOGROUP : M->lutrow[u];
    }
    if (mask)
      for (size_t x = 0; x < len; x++) S->row[x] = mask[i0 + x] ? E2_NOGROUP : S->row[x];
    if (S->need_gi)
      for (size_t x = 0; x < len; x++) S->gi[x] = S->row[x] == E2_NOGROUP ? E2_NONE : M->slotgrp[S->row[x]];
    return;
  }
  for (size_t x = 0; x < len; x++) {
    const size_t u = ((size_t)(a ? a[x] : 0) << E2_MAXFL) | (vb[x] & 31u);
    S->gi[x] = vb[x] == 0xFF ? E2_NONE : M->lut[u];
  }
  if (mask)
    for (size_t x = 0; x < len; x++) S->gi[x] = mask[i0 + x] ? E2_NONE : S->gi[x];
}

/* ---- prediction and output (§10.9.5, §10.6) ------------------------------------
 * Per cell, in float: acc = +0; acc = acc + w[q] * f[q] for q = 0..P-1 in
 * order (P = the model's largest prefix, w[q] = 0 beyond the group's prefix,
 * f[0] = 1, f[1] the centre); r = acc. The output is the rule of
 * gwlz_e2_apply1 with the group's amplitude; cells without a group (slot
 * with amplitude 0 and zero weights) keep X' bit for bit.
 * The groups of a segment get slots; weights, centre parameters and
 * amplitudes are copied to per-slot tables (slot z, all zeros, for cells
 * without a group), so that the vector path can look them up by permutes. */
int gwlz_e2_isa = 2;


typedef struct {
  const float *w; /* weight of feature q, slot s: w[q * ws + s] */
  size_t ws;
  const float *mid, *inv, *amp;
  int nslot;
} e2_tab;

static void e2_slots(const e2_model *M, int np, size_t len, e2_scratch *S, e2_tab *T) {
  if (M->gmode) {
    if (!S->row_ready)
      for (size_t x = 0; x < len; x++) S->row[x] = S->gi[x] == E2_NONE ? E2_NOGROUP : M->gslot[S->gi[x]];
    *T = (e2_tab){M->tw, 64, M->tmid, M->tinv, M->tamp, M->nslot};
    return;
  }
  int ns = 0;
  const uint32_t id = ++S->seg_id;
  if (id == 1) memset(S->stamp, 0, sizeof(S->stamp));
  for (size_t x = 0; x < len; x++) {
    const uint16_t grp = S->gi[x];
    if (grp == E2_NONE) {
      S->row[x] = E2_NOGROUP;
      continue;
    }
    uint32_t sl;
    if (S->stamp[grp] != id) {
      S->stamp[grp] = id;
      S->slot[grp] = (uint8_t)ns;
      for (int q = 0; q < np; q++) S->wt[(size_t)q * (E2_SEG + 1) + ns] = q < M->pfx[grp] ? M->w[grp][q] : 0.0f;
      S->smid[ns] = M->midf[grp];
      S->sinv[ns] = M->invf[grp];
      S->samp[ns] = (float)M->amp[grp] * (1.0f / E2_AMP_DEN);
      sl = (uint32_t)ns++;
    } else {
      sl = S->slot[grp];
    }
    S->row[x] = sl;
  }
  /* the fast paths read 8, 16 or 32 entries: slots up to there exist
   * (unused ones hold stale values of earlier segments, never selected) */
  *T = (e2_tab){S->wt, E2_SEG + 1, S->smid, S->sinv, S->samp, ns < 1 ? 1 : ns};
}

/* The scalar reference of the fused prediction (any build, any type). */
#define E2_RUN_SCALAR(NAME, T, FEAT)                                                               \
  static void NAME(const T *(*Tp)[4][2], const T *V, int k, int np, T e, T cl, double eb,          \
                   const uint32_t *row, const e2_tab *tb, size_t x0, size_t len, float *r, T *out) { \
    const size_t st = tb->ws;                                                                      \
    for (size_t x = x0; x < len; x++) {                                                            \
      const uint32_t sl = row[x] & 0x7FFFFFFFu;                                                    \
      float acc = 0.0f;                                                                            \
      acc = acc + tb->w[sl] * 1.0f;                                                                \
      if (np > 1) {                                                                                \
        float c = ((float)V[x] - tb->mid[sl]) * tb->inv[sl];                                       \
        c = c > -2.0f ? c : -2.0f;                                                                 \
        c = c < 2.0f ? c : 2.0f;                                                                   \
        acc = acc + tb->w[st + sl] * c;                                                            \
      }                                                                                            \
      for (int q = 2; q < np; q++) acc = acc + tb->w[(size_t)q * st + sl] * FEAT(Tp, k, q, x, V[x], e, cl); \
      r[x] = acc;                                                                                  \
      if (!out) continue;                                                                          \
      const double xr = (double)V[x], a = (double)tb->amp[sl];                                     \
      double rr = (double)acc; /* finite: finite features and weights */                         \
      rr = rr < a ? rr : a;                                                                        \
      rr = rr > -a ? rr : -a;                                                                      \
      const T y = (T)(xr + eb * rr);                                                               \
      out[x] = !(row[x] >> 31) && fabs((double)y - xr) <= eb ? y : V[x];                           \
    }                                                                                              \
  }
E2_RUN_SCALAR(e2_run_f32, float, e2_feat32)
E2_RUN_SCALAR(e2_run_f64, double, e2_feat64)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(GWLZ_NO_CLONES) && !defined(__SANITIZE_ADDRESS__)
#define E2_AVX2 1
#include <immintrin.h>
#define E2_TGT __attribute__((target("avx2")))

/* per-lane table lookup of 8 cells' slots */
/* Per feature q >= 2 of a segment: its kind (0 symmetric, 1 high
 * resolution) and its four tap arrays, as the vector kernels read them. */
static void e2_vec_taps(const float *(*Tp)[4][2], int k, int np, const float *P[E2_MAXF][4],
                        int *kind) {
  for (int q = 2; q < np; q++) {
    const int fam = (q - 2) / k, a = (q - 2) % k, d = fam == 0 ? 1 : (fam == 2 ? 3 : 2);
    kind[q] = fam == 1;
    P[q][0] = fam == 1 ? Tp[a][3][0] : Tp[a][d][0];
    P[q][1] = fam == 1 ? Tp[a][1][0] : Tp[a][d][1];
    P[q][2] = Tp[a][1][1];
    P[q][3] = Tp[a][3][1];
  }
}

E2_TGT static inline __m256 e2_pick(const float *t, __m256i idx, __m256 b3, __m256 b4, int nslot) {
  if (nslot <= 8) return _mm256_permutevar8x32_ps(_mm256_loadu_ps(t), idx);
  if (nslot <= 16)
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(t), idx),
                            _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 8), idx), b3);
  if (nslot <= 32) {
    const __m256 lo = _mm256_blendv_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(t), idx),
                                       _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 8), idx), b3);
    const __m256 hi = _mm256_blendv_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 16), idx),
                                       _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 24), idx), b3);
    return _mm256_blendv_ps(lo, hi, b4);
  }
  return _mm256_i32gather_ps(t, idx, 4);
}

/* s < -c ? -c : s, then s > c ? c : s (s not NaN) */
E2_TGT static inline __m256 e2_clampv(__m256 s, __m256 c, __m256 nc) {
  return _mm256_min_ps(_mm256_max_ps(s, nc), c);
}

/* The fused prediction for float data, 8 cells at a time, every lane the
 * operations of e2_run_f32 in the same order; returns the cells done. */
E2_TGT static size_t e2_run_avx2(const float *(*Tp)[4][2], const float *V, int k, int np, float e,
                                 float cl, double eb, const uint32_t *row, const e2_tab *tb,
                                 size_t len, float *r, float *out) {
  const float *P[E2_MAXF][4];
  int kind[E2_MAXF];
  e2_vec_taps(Tp, k, np, P, kind);
  const size_t st = tb->ws;
  const int nslot = tb->nslot;
  const __m256 ve = _mm256_set1_ps(e), vc = _mm256_set1_ps(cl), vnc = _mm256_set1_ps(-cl);
  const __m256 one = _mm256_set1_ps(1.0f), none = _mm256_set1_ps(-1.0f), two = _mm256_set1_ps(2.0f);
  const __m256 ntwo = _mm256_set1_ps(-2.0f), nine = _mm256_set1_ps(9.0f), c16 = _mm256_set1_ps(0.0625f);
  const __m256 half = _mm256_set1_ps(0.5f), sgn = _mm256_set1_ps(-0.0f);
  const __m256d veb = _mm256_set1_pd(eb), absd = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFll));
  size_t x = 0;
  for (; x + 8 <= len; x += 8) {
    const __m256i rw = _mm256_loadu_si256((const __m256i *)(row + x));
    const __m256i idx = _mm256_and_si256(rw, _mm256_set1_epi32(0x7FFFFFFF));
    const __m256 valid = _mm256_castsi256_ps(_mm256_cmpgt_epi32(rw, _mm256_set1_epi32(-1)));
    const __m256 b3 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));
    const __m256 b4 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 27));
    const __m256 v = _mm256_loadu_ps(V + x);
    __m256 acc = _mm256_setzero_ps();
    acc = _mm256_add_ps(acc, _mm256_mul_ps(e2_pick(tb->w, idx, b3, b4, nslot), one));
    if (np > 1) {
      __m256 c = _mm256_mul_ps(_mm256_sub_ps(v, e2_pick(tb->mid, idx, b3, b4, nslot)),
                               e2_pick(tb->inv, idx, b3, b4, nslot));
      c = e2_clampv(c, two, ntwo);
      acc = _mm256_add_ps(acc, _mm256_mul_ps(e2_pick(tb->w + st, idx, b3, b4, nslot), c));
    }
    for (int q = 2; q < np; q++) {
      __m256 f;
      if (kind[q]) {
        const __m256 A = _mm256_loadu_ps(P[q][0] + x), B = _mm256_loadu_ps(P[q][1] + x);
        const __m256 C = _mm256_loadu_ps(P[q][2] + x), D = _mm256_loadu_ps(P[q][3] + x);
        const __m256 cub = _mm256_mul_ps(
            _mm256_sub_ps(_mm256_add_ps(_mm256_add_ps(_mm256_xor_ps(A, sgn), _mm256_mul_ps(nine, B)),
                                        _mm256_mul_ps(nine, C)),
                          D),
            c16);
        f = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(v, cub), ve), half);
        f = e2_clampv(f, one, none);
      } else {
        const __m256 A = _mm256_loadu_ps(P[q][0] + x), B = _mm256_loadu_ps(P[q][1] + x);
        f = _mm256_mul_ps(_mm256_add_ps(_mm256_sub_ps(A, v), _mm256_sub_ps(B, v)), ve);
        f = e2_clampv(f, vc, vnc);
      }
      acc = _mm256_add_ps(acc, _mm256_mul_ps(e2_pick(tb->w + (size_t)q * st, idx, b3, b4, nslot), f));
    }
    _mm256_storeu_ps(r + x, acc);
    if (!out) continue;
    /* output, in double, 4 lanes at a time */
    const __m256 amp = e2_pick(tb->amp, idx, b3, b4, nslot);
    for (int h = 0; h < 2; h++) {
      const __m128 acc4 = h ? _mm256_extractf128_ps(acc, 1) : _mm256_castps256_ps128(acc);
      const __m128 amp4 = h ? _mm256_extractf128_ps(amp, 1) : _mm256_castps256_ps128(amp);
      const __m128 v4 = h ? _mm256_extractf128_ps(v, 1) : _mm256_castps256_ps128(v);
      const __m256d xr = _mm256_cvtps_pd(v4), A = _mm256_cvtps_pd(amp4);
      __m256d rr = _mm256_cvtps_pd(acc4);
      rr = _mm256_min_pd(rr, A);                                      /* rr < a ? rr : a   */
      rr = _mm256_max_pd(rr, _mm256_sub_pd(_mm256_setzero_pd(), A));  /* rr > -a ? rr : -a */
      const __m128 y = _mm256_cvtpd_ps(_mm256_add_pd(xr, _mm256_mul_pd(veb, rr)));
      const __m256d dev = _mm256_and_pd(_mm256_sub_pd(_mm256_cvtps_pd(y), xr), absd);
      const __m128 ok = _mm_and_ps(_mm256_cvtpd_ps(_mm256_cmp_pd(dev, veb, _CMP_LE_OQ)),
                                   h ? _mm256_extractf128_ps(valid, 1) : _mm256_castps256_ps128(valid));
      _mm_storeu_ps(out + x + 4 * h, _mm_blendv_ps(v4, y, ok));
    }
  }
  return x;
}

/* The same with 16 lanes (AVX-512F): tables of up to 32 slots are looked up
 * with one two-register permute. */
#define E2_T512 __attribute__((target("avx512f")))
E2_T512 static inline __m512 e2_pick16(const float *t, __m512i idx, int nslot) {
  if (nslot <= 16) return _mm512_permutexvar_ps(idx, _mm512_loadu_ps(t));
  if (nslot <= 32) return _mm512_permutex2var_ps(_mm512_loadu_ps(t), idx, _mm512_loadu_ps(t + 16));
  if (nslot <= 64) {
    const __mmask16 hi = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(32));
    return _mm512_mask_blend_ps(hi, _mm512_permutex2var_ps(_mm512_loadu_ps(t), idx, _mm512_loadu_ps(t + 16)),
                                _mm512_permutex2var_ps(_mm512_loadu_ps(t + 32), idx, _mm512_loadu_ps(t + 48)));
  }
  return _mm512_i32gather_ps(idx, t, 4);
}

/* y = rule of the output for 8 lanes (acc, amp, v as the bits of 8 floats);
 * returns the lanes with |y - v| <= eb */
E2_T512 static inline __mmask8 e2_out8(__m256d accb, __m256d ampb, __m256d vb, __m512d veb, __m256 *yo) {
  const __m512d xr = _mm512_cvtps_pd(_mm256_castpd_ps(vb)), A = _mm512_cvtps_pd(_mm256_castpd_ps(ampb));
  __m512d rr = _mm512_cvtps_pd(_mm256_castpd_ps(accb));
  rr = _mm512_min_pd(rr, A);
  rr = _mm512_max_pd(rr, _mm512_sub_pd(_mm512_setzero_pd(), A));
  const __m256 y = _mm512_cvtpd_ps(_mm512_add_pd(xr, _mm512_mul_pd(veb, rr)));
  *yo = y;
  return _mm512_cmp_pd_mask(_mm512_abs_pd(_mm512_sub_pd(_mm512_cvtps_pd(y), xr)), veb, _CMP_LE_OQ);
}

E2_T512 static size_t e2_run_avx512(const float *(*Tp)[4][2], const float *V, int k, int np, float e,
                                    float cl, double eb, const uint32_t *row, const e2_tab *tb,
                                    size_t len, float *r, float *out) {
  const float *P[E2_MAXF][4];
  int kind[E2_MAXF];
  e2_vec_taps(Tp, k, np, P, kind);
  const size_t st = tb->ws;
  const int nslot = tb->nslot;
  const __m512 ve = _mm512_set1_ps(e), vc = _mm512_set1_ps(cl), vnc = _mm512_set1_ps(-cl);
  const __m512 one = _mm512_set1_ps(1.0f), none = _mm512_set1_ps(-1.0f), two = _mm512_set1_ps(2.0f);
  const __m512 ntwo = _mm512_set1_ps(-2.0f), nine = _mm512_set1_ps(9.0f), c16 = _mm512_set1_ps(0.0625f);
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512i sgn = _mm512_set1_epi32((int)0x80000000u);
  const __m512d veb = _mm512_set1_pd(eb);
  size_t x = 0;
  for (; x + 16 <= len; x += 16) {
    const __m512i rw = _mm512_loadu_si512((const void *)(row + x));
    const __m512i idx = _mm512_and_si512(rw, _mm512_set1_epi32(0x7FFFFFFF));
    const __mmask16 valid = _mm512_cmpgt_epi32_mask(rw, _mm512_set1_epi32(-1));
    const __m512 v = _mm512_loadu_ps(V + x);
    __m512 acc = _mm512_setzero_ps();
    acc = _mm512_add_ps(acc, _mm512_mul_ps(e2_pick16(tb->w, idx, nslot), one));
    if (np > 1) {
      __m512 c = _mm512_mul_ps(_mm512_sub_ps(v, e2_pick16(tb->mid, idx, nslot)), e2_pick16(tb->inv, idx, nslot));
      c = _mm512_min_ps(_mm512_max_ps(c, ntwo), two);
      acc = _mm512_add_ps(acc, _mm512_mul_ps(e2_pick16(tb->w + st, idx, nslot), c));
    }
    for (int q = 2; q < np; q++) {
      __m512 f;
      if (kind[q]) {
        const __m512 A = _mm512_loadu_ps(P[q][0] + x), B = _mm512_loadu_ps(P[q][1] + x);
        const __m512 C = _mm512_loadu_ps(P[q][2] + x), D = _mm512_loadu_ps(P[q][3] + x);
        const __m512 nA = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(A), sgn));
        const __m512 cub = _mm512_mul_ps(
            _mm512_sub_ps(_mm512_add_ps(_mm512_add_ps(nA, _mm512_mul_ps(nine, B)), _mm512_mul_ps(nine, C)), D), c16);
        f = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(v, cub), ve), half);
        f = _mm512_min_ps(_mm512_max_ps(f, none), one);
      } else {
        const __m512 A = _mm512_loadu_ps(P[q][0] + x), B = _mm512_loadu_ps(P[q][1] + x);
        f = _mm512_mul_ps(_mm512_add_ps(_mm512_sub_ps(A, v), _mm512_sub_ps(B, v)), ve);
        f = _mm512_min_ps(_mm512_max_ps(f, vnc), vc);
      }
      acc = _mm512_add_ps(acc, _mm512_mul_ps(e2_pick16(tb->w + (size_t)q * st, idx, nslot), f));
    }
    _mm512_storeu_ps(r + x, acc);
    if (!out) continue;
    const __m512 amp = e2_pick16(tb->amp, idx, nslot);
    __m256 y0, y1;
    const __mmask8 ok0 = e2_out8(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 0),
                                 _mm512_extractf64x4_pd(_mm512_castps_pd(amp), 0),
                                 _mm512_extractf64x4_pd(_mm512_castps_pd(v), 0), veb, &y0);
    const __mmask8 ok1 = e2_out8(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1),
                                 _mm512_extractf64x4_pd(_mm512_castps_pd(amp), 1),
                                 _mm512_extractf64x4_pd(_mm512_castps_pd(v), 1), veb, &y1);
    const __m512 y16 = _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(y0)), _mm256_castps_pd(y1), 1));
    const __mmask16 ok16 = (__mmask16)((unsigned)ok0 | ((unsigned)ok1 << 8));
    _mm512_storeu_ps(out + x, _mm512_mask_blend_ps(ok16 & valid, v, y16));
  }
  return x;
}
#endif

void gwlz_e2_seg_run(const e2_model *M, const e2_geom *g, const void *xr, size_t r, size_t x0,
                     size_t len, e2_scratch *S, void *out) {
  e2_feats fs;
  gwlz_e2_feats_of(g->k, &fs);
  const int np = M->mmax, nl = e2_nlines(g->k, np, &fs);
  e2_tab tb;
  e2_slots(M, np, len, S, &tb);
  const float clampv = gwlz_e2_clamp_value(M->clamp_code);
  if (g->type == GWLZ_TYPE_DOUBLE) {
    const double *L[E2_NLINES] = {0}, *Tp[3][4][2];
    e2_lines_f64(g, (const double *)xr, r, x0, len, nl, S, L);
    e2_taps_f64(g->k, L, Tp);
    e2_run_f64(Tp, L[0], g->k, np, 1.0 / g->eb, (double)clampv, g->eb, S->row, &tb, 0, len, S->r,
               (double *)out);
  } else {
    const float *L[E2_NLINES] = {0}, *Tp[3][4][2];
    e2_lines_f32(g, (const float *)xr, r, x0, len, nl, S, L);
    e2_taps_f32(g->k, L, Tp);
    const float e = (float)(1.0 / g->eb);
    size_t x = 0;
#ifdef E2_AVX2
    if (gwlz_e2_isa >= 2 && __builtin_cpu_supports("avx512f"))
      x = e2_run_avx512(Tp, L[0], g->k, np, e, clampv, g->eb, S->row, &tb, len, S->r, (float *)out);
    else if (gwlz_e2_isa >= 1 && __builtin_cpu_supports("avx2"))
      x = e2_run_avx2(Tp, L[0], g->k, np, e, clampv, g->eb, S->row, &tb, len, S->r, (float *)out);
#endif
    e2_run_f32(Tp, L[0], g->k, np, e, clampv, g->eb, S->row, &tb, x, len, S->r, (float *)out);
  }
}

double gwlz_e2_apply1(gwlz_type t, double xr, double eb, float r, int code) {
  const double A = (double)code * (1.0 / E2_AMP_DEN);
  double rr = (double)r;
  if (rr != rr) rr = 0.0;
  if (rr > A) rr = A;
  if (rr < -A) rr = -A;
  double y = xr + eb * rr;
  if (t == GWLZ_TYPE_FLOAT) y = (double)gwlz_to_f32(y);
  if (!(fabs(y - xr) <= eb)) y = xr;
  return y;
}

/* Groups (exceptions removed) and predictions of one segment; returns 0 when
 * no cell of it is corrected. *ep: index of the first exception >= i0. */
static int e2_segment(const e2_model *M, const e2_geom *g, const void *xr, const uint8_t *aux,
                      const uint8_t *mask, const size_t *exc, size_t nexc, size_t *ep, size_t r,
                      size_t x0, size_t len, e2_scratch *S, int *bad) {
  const size_t i0 = r * g->nx + x0;
  S->need_gi = 0;
  gwlz_e2_seg_groups(M, g, xr, aux, mask, i0, len, S);
  while (*ep < nexc && exc[*ep] < i0) (*ep)++;
  int any = 0;
  if (M->gmode) {
    for (size_t k = *ep; k < nexc && exc[k] < i0 + len; k++) {
      if (S->row[exc[k] - i0] == E2_NOGROUP) *bad = 1; /* listed but not corrected */
      S->row[exc[k] - i0] = E2_NOGROUP;
    }
    for (size_t x = 0; x < len && !any; x++) any = S->row[x] != E2_NOGROUP;
  } else {
    for (size_t k = *ep; k < nexc && exc[k] < i0 + len; k++) {
      if (S->gi[exc[k] - i0] == E2_NONE) *bad = 1;
      S->gi[exc[k] - i0] = E2_NONE;
    }
    for (size_t x = 0; x < len && !any; x++) any = S->gi[x] != E2_NONE;
  }
  return any;
}

/* Output of one segment into out (type T). */
static void e2_output(const e2_model *M, const e2_geom *g, const void *xr, size_t r, size_t x0,
                      size_t len, int any, e2_scratch *S, void *out) {
  const size_t ts = gwlz_type_size(g->type);
  if (any)
    gwlz_e2_seg_run(M, g, xr, r, x0, len, S, out);
  else
    memcpy(out, (const uint8_t *)xr + (r * g->nx + x0) * ts, len * ts);
}

static size_t e2_lower_bound(const size_t *a, size_t n, size_t v) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a[mid] < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* ---- whole field, in place ----------------------------------------------------
 * Tasks are the row segments in memory order. A task reads X' of the tasks at
 * most R = reach * nseg + 1 away (reach: rows spanned by the taps), so each
 * thread (one contiguous range of tasks) keeps its outputs in a ring and
 * writes task t - R back once task t is done; the first R tasks of its range
 * (read by the previous range) and the last R (whose neighbours the next
 * range reads) are written after a barrier. */
gwlz_error gwlz_e2_decode_apply(const e2_model *M, const e2_geom *g, void *data, const uint8_t *aux,
                                const uint8_t *mask, const size_t *exc, size_t nexc, int threads) {
  const size_t nx = g->nx, nseg = (nx + E2_SEG - 1) / E2_SEG, ntask = g->nrows * nseg;
  const size_t ts = gwlz_type_size(g->type);
  const size_t reach = g->k == 3 ? E2_HALO * g->ny : (g->k == 2 ? E2_HALO : 0);
  const size_t R = reach * nseg + 1;
  int fail = 0, corrupt = 0;
  (void)threads;
#pragma omp parallel num_threads(threads >= 1 ? threads : 1)
  {
#ifdef _OPENMP
    const size_t nt = (size_t)omp_get_num_threads(), tid = (size_t)omp_get_thread_num();
#else
    const size_t nt = 1, tid = 0;
#endif
    const size_t tb = ntask * tid / nt, te = ntask * (tid + 1) / nt, cnt = te - tb;
    const size_t nh = cnt < R ? cnt : R, nring = cnt < R + 1 ? cnt : R + 1;
    e2_scratch *S = (e2_scratch *)calloc(1, sizeof(e2_scratch));
    uint8_t *buf = (uint8_t *)malloc(((nh + nring) * E2_SEG + 1) * ts);
    if (!S || !buf) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp barrier
    int ok;
#pragma omp atomic read
    ok = fail;
    ok = !ok;
    uint8_t *head = buf, *ring = buf + nh * E2_SEG * ts;
    size_t ep = 0;
    int bad = 0;
    if (ok && cnt) ep = e2_lower_bound(exc, nexc, (tb / nseg) * nx);
    for (size_t t = tb; ok && t < te; t++) {
      const size_t r = t / nseg, x0 = (t % nseg) * E2_SEG, len = nx - x0 < E2_SEG ? nx - x0 : E2_SEG;
      uint8_t *o = t - tb < nh ? head + (t - tb) * E2_SEG * ts : ring + ((t - tb) % nring) * E2_SEG * ts;
      int any = e2_segment(M, g, data, aux, mask, exc, nexc, &ep, r, x0, len, S, &bad);
      e2_output(M, g, data, r, x0, len, any, S, o);
      if (t - tb >= 2 * R) { /* task t - R: no longer read, not in the head */
        const size_t ta = t - R, ra = ta / nseg, xa = (ta % nseg) * E2_SEG;
        const size_t la = nx - xa < E2_SEG ? nx - xa : E2_SEG;
        memcpy((uint8_t *)data + (ra * nx + xa) * ts, ring + ((ta - tb) % nring) * E2_SEG * ts, la * ts);
      }
    }
#pragma omp barrier
    if (ok) {
      const size_t tail = te >= R && te - R > tb + R ? te - R : tb + R;
      for (size_t t = tb; t < te; t++) {
        if (t >= tb + nh && t < tail) continue;
        const size_t r = t / nseg, x0 = (t % nseg) * E2_SEG, len = nx - x0 < E2_SEG ? nx - x0 : E2_SEG;
        const uint8_t *o = t - tb < nh ? head + (t - tb) * E2_SEG * ts : ring + ((t - tb) % nring) * E2_SEG * ts;
        memcpy((uint8_t *)data + (r * nx + x0) * ts, o, len * ts);
      }
    }
    if (bad) {
#pragma omp atomic write
      corrupt = 1;
    }
    free(buf);
    free(S);
  }
  return fail ? GWLZ_ERR_MEMORY : (corrupt ? GWLZ_ERR_CORRUPT : GWLZ_OK);
}

/* ---- a box ------------------------------------------------------------------------ */
gwlz_error gwlz_e2_apply_box(const e2_model *M, const e2_geom *g, const void *xr, const uint8_t *aux,
                             const uint8_t *mask, const size_t *exc, size_t nexc, const size_t *lo,
                             const size_t *hi, void *out) {
  size_t ext[4] = {1, 1, 1, 1}, rows = 1;
  for (int a = 0; a < g->nd; a++) {
    if (lo[a] >= hi[a] || hi[a] > g->N[a]) return GWLZ_ERR_PARAM;
    ext[a] = hi[a] - lo[a];
    if (a < g->nd - 1) rows *= ext[a];
  }
  e2_scratch *S = (e2_scratch *)calloc(1, sizeof(e2_scratch));
  if (!S) return GWLZ_ERR_MEMORY;
  const size_t ts = gwlz_type_size(g->type), bx = ext[g->nd - 1];
  int bad = 0;
  for (size_t br = 0; br < rows; br++) {
    /* global row of box row br (C order over the box's outer extents) */
    size_t rem = br, r = 0, mul = 1;
    for (int a = g->nd - 2; a >= 0; a--) {
      const size_t c = lo[a] + rem % ext[a];
      rem /= ext[a];
      r += c * mul;
      mul *= g->N[a];
    }
    for (size_t x0 = lo[g->nd - 1]; x0 < hi[g->nd - 1]; x0 += E2_SEG) {
      const size_t len = hi[g->nd - 1] - x0 < E2_SEG ? hi[g->nd - 1] - x0 : E2_SEG;
      size_t ep = e2_lower_bound(exc, nexc, r * g->nx + x0);
      int any = e2_segment(M, g, xr, aux, mask, exc, nexc, &ep, r, x0, len, S, &bad);
      e2_output(M, g, xr, r, x0, len, any, S,
                (uint8_t *)out + (br * bx + (x0 - lo[g->nd - 1])) * ts);
    }
  }
  free(S);
  return bad ? GWLZ_ERR_CORRUPT : GWLZ_OK;
}
