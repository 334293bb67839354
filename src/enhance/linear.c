/* linear.c - the linear enhancer kind: per group and per cell class a
 * linear function of features of the 3^k neighbourhood of X' (k = min(ndims,
 * 3): the k fastest dimensions; indices clamped at the borders; in 3-D the 8
 * corners are left out), fitted by least squares to R / eb.
 *
 * Arithmetic type W: binary32 (float) for float fields, binary64 (double) for
 * double fields; every operation below is one IEEE operation in W, in the
 * order written, unless a cast says otherwise. e = (W)(1 / eb) (the
 * reciprocal computed in double). Features of cell c with centre v = X'[c]:
 *   f[0] = 1                                  bias
 *   f[1] = (float)(((double)v - mid_g) * inv_g)   centre, in double;
 *                                             mid_g = lo/2 + hi/2,
 *                                             inv_g = 2/(hi-lo) (0 if hi==lo);
 *                                             lo/hi: min/max of X' in group g
 *   f[2 + j] = (X'[nb_j] - v) * e             the neighbours in lexicographic
 *                                             offset order (slowest axis
 *                                             outermost): the 3^k - 1 offsets
 *                                             in {-1,0,1}^k except the centre
 *                                             and, for k = 3, except the 8
 *                                             with no zero component (18 left)
 * INTERP (arch 18) appends, for each axis a = 0..k-1 (slowest first), with
 * xa, xb, xc, xd, xm, xp = X' at offsets -3, -1, +1, +3, -2, +2 along a
 * (clamped), five features:
 *   (xa - v) * e, (xd - v) * e,
 *   h_a = clamp((float)((v - cub_a) * e * 0.5), -1, 1)
 *                                  cub_a = ((((-xa) + 9 xb) + 9 xc) - xd) * 0.0625
 *                                  (NaN -> 0; the clamp in float),
 *   (xm - v) * e, (xp - v) * e
 * Every feature is rounded to float; then (INTERP, INTERP1) the features
 * q >= 2 are saturated, s(f) ~ f / (1 + |f| / 4), in float: each is first
 * clamped to [-2^20, 2^20] (NaN stays NaN); then for the pairs (a, b) =
 * (f[q], f[q+1]), q = 2, 4, ... while q + 1 < m:
 *   d0 = 1 + |a| * 0.25, d1 = 1 + |b| * 0.25, r = 1 / (d0 * d1),
 *   f[q] = (a * d1) * r, f[q+1] = (b * d0) * r
 * and a last unpaired a = f[m-1] becomes a / (1 + |a| * 0.25).
 * INTERP1 (19) uses the same features with one class. For INTERP, the class is
 * 1 + the first axis a with -1e-4f <= h_a <= 1e-4f (h_a before the clamp; the
 * axis along which the base's cubic interpolation reproduces X'), 0 when there
 * is none. PARITY (17) classes: the parity bits of the k coordinates (slowest
 * most significant); PLAIN (16): one class.
 *
 * Prediction, in float: s = 0; s = s + w[q] * f[q] for q = 0..M-1 in order,
 * where M = m rounded up to a multiple of 4 and w[q] = f[q] = 0 for q >= m;
 * out = s; w = the class's m parameters. Parameters per group: classes * m,
 * class-major; m = T + 2 (+ 5k for INTERP, INTERP1), T = 2, 8, 18 taps for
 * k = 1, 2, 3.
 *
 * Training (encoder choice, not format): normal equations accumulated in
 * double over a deterministic sample of each group's cells (a hash of the
 * cell index against a per-group rate), over fixed row chunks combined in
 * chunk order (independent of threads), solved by Cholesky with a small
 * relative ridge. The one-class variants (PLAIN, INTERP1) are fitted from the
 * same sums, added over the classes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "enhance/model.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define LIN_PA 5 /* interpolation features per axis (INTERP)    */
#define LIN_MAXM 35 /* 18 taps + centre + bias + 3 x (4 far taps + 1 interpolation feature) */

typedef struct {
  int k;              /* dims used for the neighbourhood (1..3)   */
  size_t ext[3];      /* extents of those dims (slowest first)    */
  size_t st[3];       /* strides of those dims                    */
  int m;              /* features per class                       */
  int classes;        /* 1 or 2^k                                  */
  int pred;           /* extra interpolation-aware features        */
  int hitcls;         /* class = 1 + first axis whose cubic interpolation
                         reproduces X' exactly (0 if none)         */
  int noff;           /* neighbour taps + centre                   */
  int mp;             /* m rounded up to a multiple of 4           */
  double inv_eb;
} lin_geom;

static int lin_arch_ok(int arch) {
  return arch == GWLZ_LIN_ARCH_PLAIN || arch == GWLZ_LIN_ARCH_PARITY || arch == GWLZ_LIN_ARCH_INTERP ||
         arch == GWLZ_LIN_ARCH_INTERP1;
}

static void lin_geom_init(const gwlz_enh_data *d, int arch, lin_geom *g) {
  int k = d->ndims < 3 ? d->ndims : 3;
  g->k = k;
  for (int a = 0; a < 3; a++) {
    g->ext[a] = 1;
    g->st[a] = 0;
  }
  for (int a = 0; a < k; a++) {
    int src = d->ndims - k + a;
    g->ext[a] = d->dims[src];
    g->st[a] = d->strides[src];
  }
  g->noff = k == 1 ? 3 : (k == 2 ? 9 : 19); /* 3-D: the 8 corners left out */
  g->pred = arch == GWLZ_LIN_ARCH_INTERP || arch == GWLZ_LIN_ARCH_INTERP1;
  g->hitcls = arch == GWLZ_LIN_ARCH_INTERP;
  g->m = g->noff + 1 + (g->pred ? LIN_PA * k : 0);
  g->classes = arch == GWLZ_LIN_ARCH_PARITY ? (1 << k) : (arch == GWLZ_LIN_ARCH_INTERP ? k + 1 : 1);
  g->mp = (g->m + 3) & ~3;
  g->inv_eb = 1.0 / d->eb;
}

static size_t lin_nparams(const gwlz_enh_data *d, int arch) {
  lin_geom g;
  if (!d || d->ndims < 1 || !lin_arch_ok(arch)) return 0;
  lin_geom_init(d, arch, &g);
  return (size_t)g.m * (size_t)g.classes;
}

/* Solve (A + ridge) w = b for symmetric positive semi-definite A (m x m,
 * full storage). Returns 0 on success. */
static int lin_solve(int m, const double *A, const double *b, double *w) {
  double L[LIN_MAXM * LIN_MAXM];
  double tr = 0;
  for (int i = 0; i < m; i++) tr += A[i * m + i];
  if (!(tr > 0) || !isfinite(tr)) return 1;
  double base = 1e-9 * tr / m;
  for (int attempt = 0; attempt < 6; attempt++, base *= 100.0) {
    int ok = 1;
    for (int i = 0; i < m && ok; i++) {
      for (int j = 0; j <= i; j++) {
        double s = A[i * m + j];
        if (i == j) s += 1e-7 * A[i * m + i] + base;
        for (int q = 0; q < j; q++) s -= L[i * m + q] * L[j * m + q];
        if (i == j) {
          if (!(s > 0)) {
            ok = 0;
            break;
          }
          L[i * m + i] = sqrt(s);
        } else {
          L[i * m + j] = s / L[j * m + j];
        }
      }
    }
    if (!ok) continue;
    double y[LIN_MAXM];
    for (int i = 0; i < m; i++) {
      double s = b[i];
      for (int q = 0; q < i; q++) s -= L[i * m + q] * y[q];
      y[i] = s / L[i * m + i];
    }
    for (int i = m - 1; i >= 0; i--) {
      double s = y[i];
      for (int q = i + 1; q < m; q++) s -= L[q * m + i] * w[q];
      w[i] = s / L[i * m + i];
    }
    for (int i = 0; i < m; i++)
      if (!isfinite(w[i]) || fabs(w[i]) > 1e30) return 1;
    return 0;
  }
  return 1;
}

/* x86-64 with GCC: the feature loops are also compiled for AVX2 and picked at
 * run time. Only element-wise IEEE operations (no FMA: not enabled; the
 * library is built with -ffp-contract=off), so every clone gives the same
 * bytes. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(GWLZ_NO_CLONES) && !defined(__AVX2__) && !defined(__SANITIZE_ADDRESS__)
#define LIN_CLONES __attribute__((target_clones("avx2", "default")))
#define LIN_AVX2_SAT 1
#else
#define LIN_CLONES
#endif
#define LIN_FBIG 1048576.0f /* 2^20 */
#ifdef LIN_AVX2_SAT
#include <immintrin.h>
/* the saturation of a feature pair, 8 cells at a time (same operations as
 * the SSE2 and scalar loops in lin_segment); returns the cells done */
__attribute__((target("avx2"))) static size_t lin_sat_pair_avx2(float *fa, float *fb, size_t len) {
  const __m256 big = _mm256_set1_ps(LIN_FBIG), nbig = _mm256_set1_ps(-LIN_FBIG);
  const __m256 one = _mm256_set1_ps(1.0f), qu = _mm256_set1_ps(0.25f);
  const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  size_t x = 0;
  for (; x + 8 <= len; x += 8) {
    __m256 a = _mm256_min_ps(big, _mm256_max_ps(nbig, _mm256_loadu_ps(fa + x)));
    __m256 b = _mm256_min_ps(big, _mm256_max_ps(nbig, _mm256_loadu_ps(fb + x)));
    __m256 d0 = _mm256_add_ps(one, _mm256_mul_ps(_mm256_and_ps(a, absm), qu));
    __m256 d1 = _mm256_add_ps(one, _mm256_mul_ps(_mm256_and_ps(b, absm), qu));
    __m256 rc = _mm256_div_ps(one, _mm256_mul_ps(d0, d1));
    _mm256_storeu_ps(fa + x, _mm256_mul_ps(_mm256_mul_ps(a, d1), rc));
    _mm256_storeu_ps(fb + x, _mm256_mul_ps(_mm256_mul_ps(b, d0), rc));
  }
  return x;
}
/* lin_dot for 8 cells at a time: each lane computes s = 0; s = s + w[q] *
 * f[q], q = 0..mp-1 in order, exactly as the SSE2 and scalar loops
 * (vectorised across cells only; no FMA); the weights of the 8 cells' rows
 * are transposed 8 x 8 (a last 4 x 8 when mp % 8 == 4). Returns the cells
 * done. */
__attribute__((target("avx2"))) static size_t lin_dot_avx2(const float *F, size_t fstride, const float *W,
                                                           const uint32_t *rowof, int mp, size_t len,
                                                           float *out) {
  size_t x = 0;
  for (; x + 8 <= len; x += 8) {
    const float *r[8];
    for (int i = 0; i < 8; i++) r[i] = W + (size_t)rowof[x + i] * (size_t)mp;
    const float *fx = F + x;
    __m256 s = _mm256_setzero_ps();
    int q = 0;
    for (; q + 8 <= mp; q += 8) {
      const __m256 a0 = _mm256_loadu_ps(r[0] + q), a1 = _mm256_loadu_ps(r[1] + q);
      const __m256 a2 = _mm256_loadu_ps(r[2] + q), a3 = _mm256_loadu_ps(r[3] + q);
      const __m256 a4 = _mm256_loadu_ps(r[4] + q), a5 = _mm256_loadu_ps(r[5] + q);
      const __m256 a6 = _mm256_loadu_ps(r[6] + q), a7 = _mm256_loadu_ps(r[7] + q);
      const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
      const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
      const __m256 t4 = _mm256_unpacklo_ps(a4, a5), t5 = _mm256_unpackhi_ps(a4, a5);
      const __m256 t6 = _mm256_unpacklo_ps(a6, a7), t7 = _mm256_unpackhi_ps(a6, a7);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      const float *fq = fx + (size_t)q * fstride;
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_permute2f128_ps(u0, u4, 0x20), _mm256_loadu_ps(fq)));
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_permute2f128_ps(u1, u5, 0x20), _mm256_loadu_ps(fq + fstride)));
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_permute2f128_ps(u2, u6, 0x20), _mm256_loadu_ps(fq + 2 * fstride)));
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_permute2f128_ps(u3, u7, 0x20), _mm256_loadu_ps(fq + 3 * fstride)));
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_permute2f128_ps(u0, u4, 0x31), _mm256_loadu_ps(fq + 4 * fstride)));
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_permute2f128_ps(u1, u5, 0x31), _mm256_loadu_ps(fq + 5 * fstride)));
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_permute2f128_ps(u2, u6, 0x31), _mm256_loadu_ps(fq + 6 * fstride)));
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_permute2f128_ps(u3, u7, 0x31), _mm256_loadu_ps(fq + 7 * fstride)));
    }
    for (; q + 4 <= mp; q += 4) {
      __m128 b0 = _mm_loadu_ps(r[0] + q), b1 = _mm_loadu_ps(r[1] + q);
      __m128 b2 = _mm_loadu_ps(r[2] + q), b3 = _mm_loadu_ps(r[3] + q);
      __m128 c0 = _mm_loadu_ps(r[4] + q), c1 = _mm_loadu_ps(r[5] + q);
      __m128 c2 = _mm_loadu_ps(r[6] + q), c3 = _mm_loadu_ps(r[7] + q);
      _MM_TRANSPOSE4_PS(b0, b1, b2, b3);
      _MM_TRANSPOSE4_PS(c0, c1, c2, c3);
      const float *fq = fx + (size_t)q * fstride;
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set_m128(c0, b0), _mm256_loadu_ps(fq)));
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set_m128(c1, b1), _mm256_loadu_ps(fq + fstride)));
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set_m128(c2, b2), _mm256_loadu_ps(fq + 2 * fstride)));
      s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set_m128(c3, b3), _mm256_loadu_ps(fq + 3 * fstride)));
    }
    _mm256_storeu_ps(out + x, s);
  }
  return x;
}
#endif
#define LIN_SEG 128 /* cells per row segment */
#define LIN_MP 36   /* LIN_MAXM rounded up to a multiple of 4 */

/* Per-thread scratch for one row segment. */
typedef struct {
  float F[LIN_MP * LIN_SEG]; /* feature q of segment cell x at F[q * LIN_SEG + x] */
  uint8_t cls[LIN_SEG];
  uint8_t gid[LIN_SEG];
  double line[17][LIN_SEG + 8]; /* padded lines: element j <-> x = x0 + j - 3 */
} lin_scratch;

/* Features (and classes) of the row segment x0 .. x0+len of row r. */
#define LIN_ROW_KERNEL(NAME, W, T)                                                                \
  LIN_CLONES static void NAME(const gwlz_enh_data *d, const lin_geom *g, int arch, size_t r,     \
                              size_t x0,                                                          \
                   size_t len, lin_scratch *S) {                                                  \
    const int k = g->k;                                                                           \
    const size_t nx = g->ext[k - 1];                                                              \
    const T *X = (const T *)d->xr;                                                                \
    const size_t rbase = r * nx;                                                                  \
    const W e = (W)g->inv_eb;                                                                     \
    size_t cz = 0, cy = 0;                                                                        \
    if (k >= 2) cy = r % g->ext[k - 2];                                                           \
    if (k == 3) cz = (r / g->ext[1]) % g->ext[0];                                                 \
    /* line offsets (elements): [0..8] = (dz, dy) in {-1,0,1}^2 lexicographic, 9/10 = dz -3/+3,  \
     * 11/12 = dy -3/+3 (unused entries = centre row) */                                          \
    ptrdiff_t lo[17];                                                                             \
    ptrdiff_t oz[3] = {0, 0, 0}, oy[3] = {0, 0, 0}, fz[4] = {0, 0, 0, 0}, fy[4] = {0, 0, 0, 0};   \
    if (k == 3) {                                                                                 \
      const ptrdiff_t s = (ptrdiff_t)g->st[0];                                                    \
      const size_t E = g->ext[0];                                                                 \
      oz[0] = cz > 0 ? -s : 0;                                                                    \
      oz[2] = cz + 1 < E ? s : 0;                                                                 \
      fz[0] = cz >= 3 ? -3 * s : -(ptrdiff_t)cz * s;                                              \
      fz[1] = cz + 3 < E ? 3 * s : (ptrdiff_t)(E - 1 - cz) * s;                                   \
      fz[2] = cz >= 2 ? -2 * s : -(ptrdiff_t)cz * s;                                              \
      fz[3] = cz + 2 < E ? 2 * s : (ptrdiff_t)(E - 1 - cz) * s;                                   \
    }                                                                                             \
    if (k >= 2) {                                                                                 \
      const ptrdiff_t s = (ptrdiff_t)g->st[k - 2];                                                \
      const size_t E = g->ext[k - 2];                                                             \
      oy[0] = cy > 0 ? -s : 0;                                                                    \
      oy[2] = cy + 1 < E ? s : 0;                                                                 \
      fy[0] = cy >= 3 ? -3 * s : -(ptrdiff_t)cy * s;                                              \
      fy[1] = cy + 3 < E ? 3 * s : (ptrdiff_t)(E - 1 - cy) * s;                                   \
      fy[2] = cy >= 2 ? -2 * s : -(ptrdiff_t)cy * s;                                              \
      fy[3] = cy + 2 < E ? 2 * s : (ptrdiff_t)(E - 1 - cy) * s;                                   \
    }                                                                                             \
    for (int a0 = 0; a0 < 3; a0++)                                                                \
      for (int a1 = 0; a1 < 3; a1++) lo[a0 * 3 + a1] = oz[a0] + oy[a1];                           \
    lo[9] = fz[0];                                                                                \
    lo[10] = fz[1];                                                                               \
    lo[11] = fy[0];                                                                               \
    lo[12] = fy[1];                                                                               \
    lo[13] = fz[2];                                                                               \
    lo[14] = fz[3];                                                                               \
    lo[15] = fy[2];                                                                               \
    lo[16] = fy[3];                                                                               \
    W *L[17];                                                                                     \
    for (int l = 0; l < (LIN_PA == 5 ? 17 : 13); l++) {                                           \
      if (k == 2 && !(l == 4 || l == 3 || l == 5 || l == 11 || l == 12 || l == 15 || l == 16)) continue; \
      if (k == 1 && l != 4) continue;                                                             \
      W *dst = (W *)S->line[l];                                                                   \
      L[l] = dst;                                                                                 \
      const T *src = X + (ptrdiff_t)rbase + lo[l];                                                \
      size_t jb = x0 >= 3 ? 0 : 3 - x0, je = x0 + len + 3 <= nx ? len + 6 : nx + 3 - x0;         \
      for (size_t j = 0; j < jb; j++) dst[j] = (W)src[0];                                         \
      const T *sp = src + x0 - 3;                                                                 \
      for (size_t j = jb; j < je; j++) dst[j] = (W)sp[j];                                         \
      for (size_t j = je; j < len + 6; j++) dst[j] = (W)src[nx - 1];                              \
    }                                                                                             \
    if (k == 2) { /* 2-D: rows are (dy) only: map to the (dz = 0) entries */                     \
      L[0] = L[3]; L[1] = L[4]; L[2] = L[5];                                                      \
      L[9] = L[11]; L[10] = L[12]; L[13] = L[15]; L[14] = L[16];                                  \
    }                                                                                             \
    const W *V = L[4] + 3;                                                                        \
    float *F = S->F;                                                                              \
    const size_t n = len;                                                                         \
    int q = 2;                                                                                    \
    /* neighbours: (dz, dy) line, then dx */                                                      \
    for (int l = (k == 3 ? 0 : (k == 2 ? 3 : 4)); l < (k == 3 ? 9 : (k == 2 ? 6 : 5)); l++)       \
      for (int dx = -1; dx <= 1; dx++) {                                                          \
        if (l == 4 && dx == 0) continue;                                                          \
        if (k == 3 && (l == 0 || l == 2 || l == 6 || l == 8) && dx != 0) continue; /* corner */   \
        const W *Lp = L[l] + 3 + dx;                                                              \
        float *fq = F + q * LIN_SEG;                                                              \
        for (size_t x = 0; x < n; x++) fq[x] = (float)((Lp[x] - V[x]) * e);                       \
        q++;                                                                                      \
      }                                                                                           \
    for (size_t x = 0; x < n; x++) S->cls[x] = 0;                                                 \
    if (g->pred) {                                                                                \
      for (int a = 0; a < k; a++) {                                                               \
        const W *A, *B, *C, *D, *E2 = NULL, *F2 = NULL;                                          \
        int ax = a + 3 - k; /* 0 = z, 1 = y, 2 = x */                                             \
        if (ax == 0) {                                                                            \
          A = L[9] + 3; B = L[1] + 3; C = L[7] + 3; D = L[10] + 3;                                \
          if (LIN_PA == 5) { E2 = L[13] + 3; F2 = L[14] + 3; }                                    \
        } else if (ax == 1) {                                                                     \
          A = L[11] + 3; B = L[3] + 3; C = L[5] + 3; D = L[12] + 3;                               \
          if (LIN_PA == 5) { E2 = L[15] + 3; F2 = L[16] + 3; }                                    \
        } else {                                                                                  \
          A = L[4]; B = L[4] + 2; C = L[4] + 4; D = L[4] + 6;                                     \
          if (LIN_PA == 5) { E2 = L[4] + 1; F2 = L[4] + 5; }                                      \
        }                                                                                         \
        float *f0 = F + q * LIN_SEG, *f1 = F + (q + 1) * LIN_SEG, *f2 = F + (q + 2) * LIN_SEG;     \
        for (size_t x = 0; x < n; x++) {                                                          \
          const W v = V[x];                                                                       \
          f0[x] = (float)((A[x] - v) * e);                                                        \
          f1[x] = (float)((D[x] - v) * e);                                                        \
          W cub = ((((-A[x]) + (W)9 * B[x]) + (W)9 * C[x]) - D[x]) * (W)0.0625;                   \
          f2[x] = (float)((v - cub) * e * (W)0.5);                                                \
        }                                                                                         \
        if (LIN_PA == 5) {                                                                        \
          float *f3 = F + (q + 3) * LIN_SEG, *f4 = F + (q + 4) * LIN_SEG;                         \
          for (size_t x = 0; x < n; x++) {                                                        \
            f3[x] = (float)((E2[x] - V[x]) * e);                                                  \
            f4[x] = (float)((F2[x] - V[x]) * e);                                                  \
          }                                                                                       \
        }                                                                                         \
        q += LIN_PA;                                                                              \
      }                                                                                           \
      /* class: 1 + first axis with |h| <= 1e-4; then h: NaN -> 0, clamp */                      \
      uint8_t *cl = S->cls;                                                                       \
      const int q0 = q - LIN_PA * k;                                                                   \
      for (int a = k - 1; a >= 0; a--) {                                                          \
        const float *h = F + (q0 + LIN_PA * a + 2) * LIN_SEG;                                          \
        for (size_t x = 0; x < n; x++)                                                            \
          cl[x] = (h[x] >= -1e-4f && h[x] <= 1e-4f) ? (uint8_t)(a + 1) : cl[x];                   \
      }                                                                                           \
      for (int a = 0; a < k; a++) {                                                               \
        float *h = F + (q0 + LIN_PA * a + 2) * LIN_SEG;                                                \
        for (size_t x = 0; x < n; x++) {                                                          \
          float t = h[x] != h[x] ? 0.0f : h[x];                                                   \
          t = t > 1.0f ? 1.0f : t;                                                                \
          h[x] = t < -1.0f ? -1.0f : t;                                                           \
        }                                                                                         \
      }                                                                                           \
    }                                                                                             \
    (void)arch;                                                                                   \
  }

LIN_ROW_KERNEL(lin_row_f32, float, float)
LIN_ROW_KERNEL(lin_row_f64, double, double)

/* Whole segment: kernel, bias, centre, saturation, padding, classes. */
LIN_CLONES static void lin_segment(const gwlz_enh_data *d, const lin_geom *g, int arch, size_t r, size_t x0,
                        size_t len, const double *gmid, const double *ginv, lin_scratch *S) {
  if (d->type == GWLZ_TYPE_DOUBLE)
    lin_row_f64(d, g, arch, r, x0, len, S);
  else
    lin_row_f32(d, g, arch, r, x0, len, S);
  const int k = g->k, m = g->m;
  const size_t nx = g->ext[k - 1], i0 = r * nx + x0;
  float *F = S->F;
  for (size_t x = 0; x < len; x++) {
    uint8_t gg = d->gid[i0 + x];
    S->gid[x] = gg;
    F[x] = 1.0f;
    float c = 0.0f;
    if (gg != 0xFF) {
      const double mid = gmid[gg], inv = ginv[gg];
      double v = d->type == GWLZ_TYPE_DOUBLE ? ((const double *)d->xr)[i0 + x]
                                             : (double)((const float *)d->xr)[i0 + x];
      c = (float)((v - mid) * inv);
    }
    F[LIN_SEG + x] = c;
  }
  if (g->pred) { /* saturation, two features per division */
    int q = 2;
#ifdef LIN_AVX2_SAT
    const int avx2 = __builtin_cpu_supports("avx2");
#endif
    for (; q + 1 < m; q += 2) {
      float *fa = F + q * LIN_SEG, *fb = F + (q + 1) * LIN_SEG;
      size_t x = 0;
#ifdef LIN_AVX2_SAT
      if (avx2) x = lin_sat_pair_avx2(fa, fb, len);
#endif
#if defined(__SSE2__)
      {
        const __m128 big = _mm_set1_ps(LIN_FBIG), nbig = _mm_set1_ps(-LIN_FBIG);
        const __m128 one = _mm_set1_ps(1.0f), qu = _mm_set1_ps(0.25f);
        const __m128 absm = _mm_castsi128_ps(_mm_set1_epi32(0x7FFFFFFF));
        for (; x + 4 <= len; x += 4) {
          __m128 a = _mm_min_ps(big, _mm_max_ps(nbig, _mm_loadu_ps(fa + x)));
          __m128 b = _mm_min_ps(big, _mm_max_ps(nbig, _mm_loadu_ps(fb + x)));
          __m128 d0 = _mm_add_ps(one, _mm_mul_ps(_mm_and_ps(a, absm), qu));
          __m128 d1 = _mm_add_ps(one, _mm_mul_ps(_mm_and_ps(b, absm), qu));
          __m128 rc = _mm_div_ps(one, _mm_mul_ps(d0, d1));
          _mm_storeu_ps(fa + x, _mm_mul_ps(_mm_mul_ps(a, d1), rc));
          _mm_storeu_ps(fb + x, _mm_mul_ps(_mm_mul_ps(b, d0), rc));
        }
      }
#endif
      for (; x < len; x++) {
        float a = fa[x], b = fb[x];
        a = -LIN_FBIG > a ? -LIN_FBIG : a; /* = _mm_max_ps(-big, a), NaN kept */
        a = LIN_FBIG < a ? LIN_FBIG : a;   /* = _mm_min_ps(big, a)            */
        b = -LIN_FBIG > b ? -LIN_FBIG : b;
        b = LIN_FBIG < b ? LIN_FBIG : b;
        const float d0 = 1.0f + fabsf(a) * 0.25f, d1 = 1.0f + fabsf(b) * 0.25f;
        const float rc = 1.0f / (d0 * d1);
        fa[x] = (a * d1) * rc;
        fb[x] = (b * d0) * rc;
      }
    }
    if (q < m) {
      float *fa = F + q * LIN_SEG;
      for (size_t x = 0; x < len; x++) {
        float a = fa[x];
        a = -LIN_FBIG > a ? -LIN_FBIG : a;
        a = LIN_FBIG < a ? LIN_FBIG : a;
        fa[x] = a / (1.0f + fabsf(a) * 0.25f);
      }
    }
  }
  for (int q = m; q < g->mp; q++) memset(F + q * LIN_SEG, 0, len * sizeof(float));
  if (!g->hitcls) {
    if (g->classes > 1) {
      size_t cz = 0, cy = 0;
      if (k >= 2) cy = r % g->ext[k - 2];
      if (k == 3) cz = (r / g->ext[1]) % g->ext[0];
      int hi = 0;
      if (k == 3) hi = (int)(((cz & 1u) << 2) | ((cy & 1u) << 1));
      if (k == 2) hi = (int)((cy & 1u) << 1);
      for (size_t x = 0; x < len; x++) S->cls[x] = (uint8_t)(hi | (int)((x0 + x) & 1u));
    } else {
      memset(S->cls, 0, len);
    }
  }
}

/* s = sum_q w[q] f[q] (float, q = 0..mp-1 in order) for cells x of the
 * segment; W + rowof[x] * mp is the weight row of cell x. */
static void lin_dot(const lin_scratch *S, const float *W, const uint32_t *rowof, int mp, size_t len,
                    float *out) {
  size_t x = 0;
#ifdef LIN_AVX2_SAT
  if (__builtin_cpu_supports("avx2")) x = lin_dot_avx2(S->F, LIN_SEG, W, rowof, mp, len, out);
#endif
#if defined(__SSE2__)
  for (; x + 4 <= len; x += 4) {
    const float *r0 = W + (size_t)rowof[x] * mp, *r1 = W + (size_t)rowof[x + 1] * mp;
    const float *r2 = W + (size_t)rowof[x + 2] * mp, *r3 = W + (size_t)rowof[x + 3] * mp;
    __m128 s = _mm_setzero_ps();
    for (int q = 0; q < mp; q += 4) {
      __m128 w0 = _mm_loadu_ps(r0 + q), w1 = _mm_loadu_ps(r1 + q);
      __m128 w2 = _mm_loadu_ps(r2 + q), w3 = _mm_loadu_ps(r3 + q);
      _MM_TRANSPOSE4_PS(w0, w1, w2, w3);
      s = _mm_add_ps(s, _mm_mul_ps(w0, _mm_loadu_ps(S->F + (size_t)q * LIN_SEG + x)));
      s = _mm_add_ps(s, _mm_mul_ps(w1, _mm_loadu_ps(S->F + (size_t)(q + 1) * LIN_SEG + x)));
      s = _mm_add_ps(s, _mm_mul_ps(w2, _mm_loadu_ps(S->F + (size_t)(q + 2) * LIN_SEG + x)));
      s = _mm_add_ps(s, _mm_mul_ps(w3, _mm_loadu_ps(S->F + (size_t)(q + 3) * LIN_SEG + x)));
    }
    _mm_storeu_ps(out + x, s);
  }
#endif
  for (; x < len; x++) {
    const float *rw = W + (size_t)rowof[x] * mp;
    float s = 0.0f;
    for (int q = 0; q < mp; q++) s = s + rw[q] * S->F[(size_t)q * LIN_SEG + x];
    out[x] = s;
  }
}

/* Row chunks for the training sums: a function of the geometry only. */
#define LIN_TRAIN_CHUNKS 16

/* per group: mid_g and inv_g of the centre feature */
static void lin_norms(const gwlz_enh_data *d, double *mid, double *inv) {
  for (int gg = 0; gg < d->groups; gg++) {
    double lo = d->lo[gg], hi = d->hi[gg];
    mid[gg] = 0.5 * lo + 0.5 * hi;
    inv[gg] = (hi > lo && isfinite(hi - lo)) ? 2.0 / (hi - lo) : 0.0;
  }
}

static inline int lin_pick(size_t i, uint32_t rate) {
  return (uint32_t)(((uint64_t)i * 0x9E3779B97F4A7C15ull) >> 48) < rate;
}

static int lin_pair_ok(int a, int b) {
  if (a == b) return 1;
  int pa = a == GWLZ_LIN_ARCH_INTERP || a == GWLZ_LIN_ARCH_INTERP1;
  int pb = b == GWLZ_LIN_ARCH_INTERP || b == GWLZ_LIN_ARCH_INTERP1;
  return pa == pb;
}

gwlz_error gwlz_lin_predict_sets(const gwlz_enh_data *d, int nsets, const int *archs,
                                 const float *const *params, const uint8_t *const *use,
                                 float *const *out) {
  lin_geom g;
  if (nsets < 1 || nsets > 2 || !lin_arch_ok(archs[0])) return GWLZ_ERR_PARAM;
  for (int s = 1; s < nsets; s++)
    if (!lin_arch_ok(archs[s]) || !lin_pair_ok(archs[0], archs[s])) return GWLZ_ERR_PARAM;
  lin_geom_init(d, archs[0], &g);
  const int G = d->groups, mp = g.mp, m = g.m;
  float *Wt[2] = {NULL, NULL};
  int Cs[2];
  for (int s = 0; s < nsets; s++) {
    lin_geom gs;
    lin_geom_init(d, archs[s], &gs);
    Cs[s] = gs.classes;
    size_t rows = (size_t)G * (size_t)gs.classes + 1;
    Wt[s] = (float *)calloc(rows * (size_t)mp, sizeof(float));
    if (!Wt[s]) {
      free(Wt[0]);
      return GWLZ_ERR_MEMORY;
    }
    for (int gg = 0; gg < G; gg++)
      for (int c = 0; c < gs.classes; c++)
        for (int q = 0; q < m; q++)
          Wt[s][((size_t)gg * gs.classes + c) * mp + q] =
              params[s][(size_t)gg * gs.classes * m + (size_t)c * m + q];
  }
  const size_t nx = g.ext[g.k - 1], nr = d->n / nx;
  const size_t nseg = (nx + LIN_SEG - 1) / LIN_SEG;
  const long ntask = (long)(nr * nseg);
  double gmid[256], ginv[256];
  if (G > 256) {
    free(Wt[0]);
    free(Wt[1]);
    return GWLZ_ERR_PARAM;
  }
  lin_norms(d, gmid, ginv);
  int fail = 0;
#pragma omp parallel num_threads(d->threads)
  {
    lin_scratch *S = (lin_scratch *)malloc(sizeof(lin_scratch));
    uint32_t rowof[LIN_SEG];
    float tmp[LIN_SEG];
    if (!S) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp for schedule(static)
    for (long t = 0; t < ntask; t++) {
      if (!S) continue;
      size_t r = (size_t)t / nseg, x0 = ((size_t)t % nseg) * LIN_SEG;
      size_t len = nx - x0 < LIN_SEG ? nx - x0 : LIN_SEG;
      size_t i0 = r * nx + x0;
      int any = 0;
      for (size_t x = 0; x < len && !any; x++) {
        uint8_t gg = d->gid[i0 + x];
        for (int s = 0; s < nsets; s++) any |= gg != 0xFF && use[s][gg];
      }
      if (!any) continue;
      lin_segment(d, &g, archs[0], r, x0, len, gmid, ginv, S);
      for (int s = 0; s < nsets; s++) {
        const uint32_t zero = (uint32_t)G * (uint32_t)Cs[s];
        for (size_t x = 0; x < len; x++) {
          uint8_t gg = S->gid[x];
          rowof[x] = gg != 0xFF && use[s][gg] ? (uint32_t)gg * Cs[s] + (Cs[s] > 1 ? S->cls[x] : 0)
                                              : zero;
        }
        lin_dot(S, Wt[s], rowof, mp, len, tmp);
        float *o = out[s] + i0;
        for (size_t x = 0; x < len; x++)
          if (rowof[x] != zero) o[x] = tmp[x];
      }
    }
    free(S);
  }
  free(Wt[0]);
  free(Wt[1]);
  return fail ? GWLZ_ERR_MEMORY : GWLZ_OK;
}

/* Decoder: predict every cell of the groups with use[g] (one arch, one
 * parameter set) and hand each row segment's predictions to apply(ctx, i0,
 * len, r) (r[x] for cell i0 + x; cells with gid 0xFF or !use[gid] hold
 * garbage and must be skipped by apply). apply may overwrite d->xr in place:
 * a segment is handed over only once no prediction still to be made reads
 * it. Segments (tasks in memory order) are split into one contiguous range
 * per thread; a task reads cells of tasks at most R = reach * nseg + 1 away
 * (reach: rows spanned by the +/-3 taps), so within a thread task t - R is
 * applied after task t is predicted, and the first and last R tasks of each
 * range (read by the neighbouring ranges) are applied after a barrier. The
 * predictions themselves are those of gwlz_lin_predict_sets. */
gwlz_error gwlz_lin_decode_apply(const gwlz_enh_data *d, int arch, const float *params, const uint8_t *use,
                                 void (*apply)(void *ctx, size_t i0, size_t len, const float *r),
                                 void *ctx) {
  lin_geom g;
  if (!lin_arch_ok(arch)) return GWLZ_ERR_PARAM;
  lin_geom_init(d, arch, &g);
  const int G = d->groups, mp = g.mp, m = g.m, C = g.classes;
  if (G > 256) return GWLZ_ERR_PARAM;
  float *Wt = (float *)calloc(((size_t)G * (size_t)C + 1) * (size_t)mp, sizeof(float));
  if (!Wt) return GWLZ_ERR_MEMORY;
  for (int gg = 0; gg < G; gg++)
    for (int c = 0; c < C; c++)
      for (int q = 0; q < m; q++)
        Wt[((size_t)gg * C + c) * mp + q] = params[(size_t)gg * C * m + (size_t)c * m + q];
  const size_t nx = g.ext[g.k - 1], nr = d->n / nx;
  const size_t nseg = (nx + LIN_SEG - 1) / LIN_SEG;
  const size_t ntask = nr * nseg;
  size_t reach = 0; /* rows */
  if (g.k == 3) reach = 3 * g.ext[1] + 1;
  if (g.k == 2) reach = 3;
  const size_t R = reach * nseg + 1;
  double gmid[256], ginv[256];
  lin_norms(d, gmid, ginv);
  const int T = d->threads >= 1 ? d->threads : 1;
  (void)T; /* unused without OpenMP */
  int fail = 0;
#pragma omp parallel num_threads(T)
  {
#ifdef _OPENMP
    const size_t nt = (size_t)omp_get_num_threads(), tid = (size_t)omp_get_thread_num();
#else
    const size_t nt = 1, tid = 0;
#endif
    const size_t tb = ntask * tid / nt, te = ntask * (tid + 1) / nt, cnt = te - tb;
    const size_t nh = cnt < R ? cnt : R;          /* head tasks (stash) */
    const size_t nring = cnt < R + 1 ? cnt : R + 1; /* ring slots        */
    lin_scratch *S = (lin_scratch *)malloc(sizeof(lin_scratch));
    float *buf = (float *)malloc(((nh + nring) * LIN_SEG + 1) * sizeof(float));
    if (!S || !buf) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp barrier
    int ok;
#pragma omp atomic read
    ok = fail;
    ok = !ok;
    float *head = buf, *ring = buf + nh * LIN_SEG;
    uint32_t rowof[LIN_SEG];
    const uint32_t zero = (uint32_t)G * (uint32_t)C;
    for (size_t t = tb; ok && t < te; t++) {
      size_t r = t / nseg, x0 = (t % nseg) * LIN_SEG;
      size_t len = nx - x0 < LIN_SEG ? nx - x0 : LIN_SEG;
      size_t i0 = r * nx + x0;
      int any = 0;
      for (size_t x = 0; x < len && !any; x++) {
        uint8_t gg = d->gid[i0 + x];
        any |= gg != 0xFF && use[gg];
      }
      float *o = t - tb < nh ? head + (t - tb) * LIN_SEG : ring + ((t - tb) % nring) * LIN_SEG;
      if (any) {
        lin_segment(d, &g, arch, r, x0, len, gmid, ginv, S);
        for (size_t x = 0; x < len; x++) {
          uint8_t gg = S->gid[x];
          rowof[x] = gg != 0xFF && use[gg] ? (uint32_t)gg * C + (C > 1 ? S->cls[x] : 0) : zero;
        }
        lin_dot(S, Wt, rowof, mp, len, o);
      }
      if (t - tb >= 2 * R) { /* task t - R: no longer read, not in the head */
        size_t ta = t - R;
        size_t ra = ta / nseg, xa = (ta % nseg) * LIN_SEG;
        size_t la = nx - xa < LIN_SEG ? nx - xa : LIN_SEG;
        apply(ctx, ra * nx + xa, la, ring + ((ta - tb) % nring) * LIN_SEG);
      }
    }
#pragma omp barrier
    if (ok) {
      /* not yet applied: the head [tb, tb + nh) and [max(tb + R, te - R), te) */
      size_t tail = te >= R && te - R > tb + R ? te - R : tb + R;
      for (size_t t = tb; t < te; t++) {
        if (t >= tb + nh && t < tail) continue;
        size_t r = t / nseg, x0 = (t % nseg) * LIN_SEG;
        size_t len = nx - x0 < LIN_SEG ? nx - x0 : LIN_SEG;
        const float *o = t - tb < nh ? head + (t - tb) * LIN_SEG : ring + ((t - tb) % nring) * LIN_SEG;
        apply(ctx, r * nx + x0, len, o);
      }
    }
    free(buf);
    free(S);
  }
  free(Wt);
  return fail ? GWLZ_ERR_MEMORY : GWLZ_OK;
}

static void lin_fit(int m, const double *a, float *out) {
  const size_t tri = (size_t)m * (size_t)(m + 1) / 2;
  const double *bb = a + tri;
  double A[LIN_MAXM * LIN_MAXM], w[LIN_MAXM];
  if (bb[m] < 4.0 * m) return; /* too few cells: no correction */
  size_t u = 0;
  for (int r = 0; r < m; r++)
    for (int c = r; c < m; c++) {
      A[r * m + c] = a[u];
      A[c * m + r] = a[u];
      u++;
    }
  if (lin_solve(m, A, bb, w) != 0) return;
  for (int r = 0; r < m; r++) out[r] = (float)w[r];
}

/* Fit arch (params: groups * classes * m) and, when params1 is not NULL, the
 * one-class arch1 with the same features from the same sums. rate (per group,
 * NULL = every cell): a cell is used when lin_pick(i, rate[g]). */
gwlz_error gwlz_lin_train_sets(const gwlz_enh_data *d, int arch, const uint32_t *rate, float *params,
                               int arch1, float *params1) {
  lin_geom g;
  if (!lin_arch_ok(arch) || !d->target) return GWLZ_ERR_PARAM;
  lin_geom_init(d, arch, &g);
  const int m = g.m, C = g.classes, G = d->groups;
  const size_t tri = (size_t)m * (size_t)(m + 1) / 2, cs = tri + (size_t)m + 1;
  const size_t slot = (size_t)G * (size_t)C * cs;
  memset(params, 0, (size_t)G * C * m * sizeof(float));
  if (params1) {
    if (!lin_arch_ok(arch1) || !lin_pair_ok(arch, arch1)) return GWLZ_ERR_PARAM;
    memset(params1, 0, (size_t)G * m * sizeof(float));
  }
  const size_t nx = g.ext[g.k - 1], nr = d->n / nx;
  const size_t nseg = (nx + LIN_SEG - 1) / LIN_SEG;
  const size_t nch = nr < LIN_TRAIN_CHUNKS ? nr : LIN_TRAIN_CHUNKS;
  double gmid[256], ginv[256];
  if (G > 256) return GWLZ_ERR_PARAM;
  lin_norms(d, gmid, ginv);
  double *part = (double *)calloc(nch * slot, sizeof(double));
  if (!part) return GWLZ_ERR_MEMORY;
  int fail = 0;
  const long lnch = (long)nch;
#pragma omp parallel num_threads(d->threads)
  {
    lin_scratch *S = (lin_scratch *)malloc(sizeof(lin_scratch));
    if (!S) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (long c = 0; c < lnch; c++) {
      if (!S) continue;
      double *acc = part + (size_t)c * slot;
      size_t rb = nr * (size_t)c / nch, re = nr * (size_t)(c + 1) / nch;
      for (size_t r = rb; r < re; r++)
        for (size_t sg = 0; sg < nseg; sg++) {
          size_t x0 = sg * LIN_SEG, len = nx - x0 < LIN_SEG ? nx - x0 : LIN_SEG;
          size_t i0 = r * nx + x0;
          int any = 0;
          for (size_t x = 0; x < len && !any; x++) {
            uint8_t gg = d->gid[i0 + x];
            any = gg != 0xFF && (!rate || lin_pick(i0 + x, rate[gg]));
          }
          if (!any) continue;
          lin_segment(d, &g, arch, r, x0, len, gmid, ginv, S);
          for (size_t x = 0; x < len; x++) {
            uint8_t gg = S->gid[x];
            if (gg == 0xFF || (rate && !lin_pick(i0 + x, rate[gg]))) continue;
            double f[LIN_MAXM];
            for (int q = 0; q < m; q++) f[q] = (double)S->F[(size_t)q * LIN_SEG + x];
            const double y = (double)d->target[i0 + x];
            double *a = acc + ((size_t)gg * C + S->cls[x]) * cs;
            double *bb = a + tri;
            size_t u = 0;
            for (int rr = 0; rr < m; rr++) {
              const double fr = f[rr];
              double *ar = a + u - rr;
              for (int cc = rr; cc < m; cc++) ar[cc] += fr * f[cc];
              u += (size_t)(m - rr);
              bb[rr] += fr * y;
            }
            bb[m] += 1.0;
          }
        }
    }
    free(S);
  }
  if (fail) {
    free(part);
    return GWLZ_ERR_MEMORY;
  }
  for (size_t c = 1; c < nch; c++) {
    const double *p = part + c * slot;
    for (size_t u = 0; u < slot; u++) part[u] += p[u];
  }
  double *one = (double *)malloc(cs * sizeof(double));
  if (!one) {
    free(part);
    return GWLZ_ERR_MEMORY;
  }
  for (int gg = 0; gg < G; gg++) {
    for (int c = 0; c < C; c++)
      lin_fit(m, part + ((size_t)gg * C + c) * cs, params + (size_t)gg * C * m + (size_t)c * m);
    if (params1) {
      memcpy(one, part + (size_t)gg * C * cs, cs * sizeof(double));
      for (int c = 1; c < C; c++) {
        const double *p = part + ((size_t)gg * C + c) * cs;
        for (size_t u = 0; u < cs; u++) one[u] += p[u];
      }
      lin_fit(m, one, params1 + (size_t)gg * m);
    }
    if (d->progress) d->progress(d->progress_user, "train", (double)(gg + 1) / G);
  }
  free(one);
  free(part);
  return GWLZ_OK;
}

static gwlz_error lin_train(const gwlz_enh_data *d, int arch, float *params, int *epochs_run) {
  if (epochs_run) *epochs_run = 1;
  if (lin_nparams(d, arch) == 0) return GWLZ_ERR_PARAM;
  return gwlz_lin_train_sets(d, arch, NULL, params, 0, NULL);
}

static gwlz_error lin_predict(const gwlz_enh_data *d, int arch, int grp, const float *params,
                              float *out) {
  uint8_t use[256];
  if (lin_nparams(d, arch) == 0 || grp < 0 || grp >= d->groups || d->groups > 256) return GWLZ_ERR_PARAM;
  memset(use, 0, sizeof(use));
  use[grp] = 1;
  const uint8_t *u = use;
  return gwlz_lin_predict_sets(d, 1, &arch, &params, &u, &out);
}

const gwlz_enh_kind gwlz_enh_linear_kind = {GWLZ_ENH_LINEAR, lin_nparams, lin_train, lin_predict};
