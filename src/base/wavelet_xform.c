/*
 * wavelet_xform.c - CDF 9/7 lifting (Daubechies-Sweldens factorisation) with
 * whole-sample symmetric extension, separable and multilevel in 1-4 D.
 *
 * One level on a line x[0..N-1], N >= 2: s[i] = x[2i] (h = ceil(N/2) of
 * them), d[i] = x[2i+1] (m = floor(N/2)); with the mirror rules
 * s[h] -> s[h-1] (N even) and d[-1] -> d[0], d[m] -> d[m-1] (N odd):
 *
 *   d[i] += A * (s[i] + s[i+1])      i = 0..m-1
 *   s[i] += B * (d[i-1] + d[i])      i = 0..h-1
 *   d[i] += C * (s[i] + s[i+1])
 *   s[i] += D * (d[i-1] + d[i])
 *   s[i] *= K;  d[i] *= IK
 *
 * and the line becomes s[0..h-1] followed by d[0..m-1]. The inverse runs the
 * steps backwards with -= and the scales IK / K swapped; it is the part the
 * format specifies (docs/format.md §9.9.2).
 */
#include "base/wavelet_xform.h"

#include <string.h>

/* Lifting constants (exact binary64 values, see the format). */
#define WV_A (-0x1.960ce67635b8dp+0)  /* -1.586134342059924 */
#define WV_B (-0x1.b2035c937d7fbp-5)  /* -0.052980118572961 */
#define WV_C (0x1.c40ceba55cf3cp-1)   /*  0.882911075530934 */
#define WV_D (0x1.c626a90452b46p-2)   /*  0.443506852043971 */
#define WV_K (0x1.264c795071460p+0)   /*  1.149604398860241 */
#define WV_IK (0x1.bd5edf975ce1dp-1)  /*  0.8698644516247814 (1/K rounded) */

/* The lifting kernels are also built for AVX2 and picked at run time where
 * the compiler supports function multi-versioning. Element-wise IEEE
 * operations (no contraction) give the same bits at any vector width. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(GWLZ_NO_CLONES)
#define WV_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WV_CLONES
#endif

/* Lines processed side by side (lanes): along the fastest axis when it is
 * not the transformed one (contiguous rows of WV_LANES_ROW values), else
 * along the next axis (WV_LANES_COL lines, transposed through the buffer). */
#define WV_LANES_ROW 128
#define WV_LANES_COL 8

static size_t lanes_for(size_t sf, size_t extent) {
  size_t w = sf == 1 ? WV_LANES_ROW : WV_LANES_COL;
  return extent < w ? extent : w;
}

int gwlz_wv_max_levels(size_t n) {
  int l = 0;
  while (n >= 2 && l < GWLZ_WV_MAX_LEVELS) {
    n = (n + 1) / 2;
    l++;
  }
  return l;
}

size_t gwlz_wv_extent(const gwlz_wv_geom *g, int e, int l) {
  size_t a = g->n[e];
  for (int j = 0; j < l && j < g->lev[e]; j++) a = (a + 1) / 2;
  return a;
}

size_t gwlz_wv_scratch_size(const gwlz_wv_geom *g) {
  size_t mx = 1, N[4] = {1, 1, 1, 1};
  const int p = 4 - g->nd;
  for (int e = 0; e < g->nd; e++) N[p + e] = g->n[e];
  for (int e = p; e < 4; e++) {
    size_t w = e == 3 ? lanes_for(N[3], N[2]) : lanes_for(1, N[3]);
    if (N[e] * w > mx) mx = N[e] * w;
  }
  return mx;
}

/* ---- lifting on rows of w lanes --------------------------------------------
 * s: h rows, d: m rows (h = m or m + 1, m >= 1), each row w lanes. The four
 * lifting steps run as one sweep over the rows with the lags their
 * dependencies allow; every lane sees exactly the operations, in the order,
 * of the four steps run one after the other (the format's definition). The
 * scalings are applied by the callers while gathering (inverse) or
 * scattering (forward). */

#define ROW(x, i) ((x) + (i) * w)

/* forward: d += A (s[i] + s[i+1]); s += B (d[i-1] + d[i]); d += C ...; s += D ... */
WV_CLONES static void lift_forward(double *b, size_t len, size_t w) {
  const size_t h = (len + 1) / 2, m = len / 2;
  double *s = b, *d = b + h * w;
  for (size_t t = 0; t <= h; t++) {
    if (t < m) { /* d1[t] */
      double *dt = ROW(d, t);
      const double *s0 = ROW(s, t), *s1 = ROW(s, t + 1 < h ? t + 1 : t);
      for (size_t l = 0; l < w; l++) dt[l] = dt[l] + WV_A * (s0[l] + s1[l]);
    }
    if (t < h) { /* s1[t] */
      double *st = ROW(s, t);
      const double *d0 = ROW(d, t ? t - 1 : 0), *d1 = ROW(d, t < m ? t : m - 1);
      for (size_t l = 0; l < w; l++) st[l] = st[l] + WV_B * (d0[l] + d1[l]);
    }
    if (t >= 1 && t - 1 < m) { /* d2[t-1] */
      double *dt = ROW(d, t - 1);
      const double *s0 = ROW(s, t - 1), *s1 = ROW(s, t < h ? t : t - 1);
      for (size_t l = 0; l < w; l++) dt[l] = dt[l] + WV_C * (s0[l] + s1[l]);
    }
    if (t >= 1) { /* s2[t-1] */
      const size_t i = t - 1;
      double *st = ROW(s, i);
      const double *d0 = ROW(d, i ? i - 1 : 0), *d1 = ROW(d, i < m ? i : m - 1);
      for (size_t l = 0; l < w; l++) st[l] = st[l] + WV_D * (d0[l] + d1[l]);
    }
  }
}

/* inverse (inputs already scaled): s -= D (...); d -= C (...); s -= B (...);
 * d -= A (...) */
WV_CLONES static void lift_inverse(double *b, size_t len, size_t w) {
  const size_t h = (len + 1) / 2, m = len / 2;
  double *s = b, *d = b + h * w;
  for (size_t t = 0; t <= h + 1; t++) {
    if (t < h) { /* s1[t] */
      double *st = ROW(s, t);
      const double *d0 = ROW(d, t ? t - 1 : 0), *d1 = ROW(d, t < m ? t : m - 1);
      for (size_t l = 0; l < w; l++) st[l] = st[l] - WV_D * (d0[l] + d1[l]);
    }
    if (t >= 1 && t - 1 < m) { /* d1[t-1] */
      const size_t i = t - 1;
      double *dt = ROW(d, i);
      const double *s0 = ROW(s, i), *s1 = ROW(s, i + 1 < h ? i + 1 : i);
      for (size_t l = 0; l < w; l++) dt[l] = dt[l] - WV_C * (s0[l] + s1[l]);
    }
    if (t >= 1 && t - 1 < h) { /* s2[t-1] */
      const size_t i = t - 1;
      double *st = ROW(s, i);
      const double *d0 = ROW(d, i ? i - 1 : 0), *d1 = ROW(d, i < m ? i : m - 1);
      for (size_t l = 0; l < w; l++) st[l] = st[l] - WV_B * (d0[l] + d1[l]);
    }
    if (t >= 2 && t - 2 < m) { /* d2[t-2] */
      const size_t i = t - 2;
      double *dt = ROW(d, i);
      const double *s0 = ROW(s, i), *s1 = ROW(s, i + 1 < h ? i + 1 : i);
      for (size_t l = 0; l < w; l++) dt[l] = dt[l] - WV_A * (s0[l] + s1[l]);
    }
  }
}

#undef ROW

/* ---- one axis over a region -----------------------------------------------
 * N: full extents (4-D, padded with leading 1s), R: region extents, e: the
 * axis, f: the lane axis (contiguous when f = 3). */
static void axis_pass(double *a, const size_t *N, const size_t *R, int e, double *buf, int inv) {
  size_t S[4];
  S[3] = 1;
  for (int k = 2; k >= 0; k--) S[k] = S[k + 1] * N[k + 1];
  const size_t len = R[e];
  if (len < 2) return;
  const int f = e == 3 ? 2 : 3;
  int o[2], no = 0;
  for (int k = 0; k < 4; k++)
    if (k != e && k != f) o[no++] = k;
  const size_t h = (len + 1) / 2, se = S[e], sf = S[f], W = lanes_for(sf, N[f]);
  for (size_t i0 = 0; i0 < R[o[0]]; i0++)
    for (size_t i1 = 0; i1 < R[o[1]]; i1++)
      for (size_t j0 = 0; j0 < R[f]; j0 += W) {
        const size_t w = R[f] - j0 < W ? R[f] - j0 : W;
        double *base = a + i0 * S[o[0]] + i1 * S[o[1]] + j0 * sf;
        if (!inv) {
          /* gather: even positions to rows 0..h-1, odd to h.. */
          if (sf == 1) {
            for (size_t k = 0; k < len; k++) {
              double *row = buf + ((k & 1) ? h + k / 2 : k / 2) * w;
              memcpy(row, base + k * se, w * sizeof(double));
            }
          } else {
            for (size_t l = 0; l < w; l++)
              for (size_t k = 0; k < len; k++)
                buf[((k & 1) ? h + k / 2 : k / 2) * w + l] = base[k * se + l * sf];
          }
          lift_forward(buf, len, w);
          /* scatter with the scaling: low rows * K, high rows * IK */
          if (sf == 1) {
            for (size_t k = 0; k < len; k++) {
              const double c = k < h ? WV_K : WV_IK, *row = buf + k * w;
              double *dst = base + k * se;
              for (size_t l = 0; l < w; l++) dst[l] = row[l] * c;
            }
          } else {
            for (size_t l = 0; l < w; l++)
              for (size_t k = 0; k < len; k++)
                base[k * se + l * sf] = buf[k * w + l] * (k < h ? WV_K : WV_IK);
          }
        } else {
          /* gather with the scaling: low rows * IK, high rows * K */
          if (sf == 1) {
            for (size_t k = 0; k < len; k++) {
              const double c = k < h ? WV_IK : WV_K, *src = base + k * se;
              double *row = buf + k * w;
              for (size_t l = 0; l < w; l++) row[l] = src[l] * c;
            }
          } else {
            for (size_t l = 0; l < w; l++)
              for (size_t k = 0; k < len; k++)
                buf[k * w + l] = base[k * se + l * sf] * (k < h ? WV_IK : WV_K);
          }
          lift_inverse(buf, len, w);
          if (sf == 1) {
            for (size_t k = 0; k < len; k++) {
              const double *row = buf + ((k & 1) ? h + k / 2 : k / 2) * w;
              memcpy(base + k * se, row, w * sizeof(double));
            }
          } else {
            for (size_t l = 0; l < w; l++)
              for (size_t k = 0; k < len; k++)
                base[k * se + l * sf] = buf[((k & 1) ? h + k / 2 : k / 2) * w + l];
          }
        }
      }
}

static void pad4(const gwlz_wv_geom *g, int l, size_t *N, size_t *R) {
  int p = 4 - g->nd;
  for (int k = 0; k < 4; k++) N[k] = R[k] = 1;
  for (int e = 0; e < g->nd; e++) {
    N[p + e] = g->n[e];
    R[p + e] = gwlz_wv_extent(g, e, l);
  }
}

void gwlz_wv_forward(double *a, const gwlz_wv_geom *g, double *scratch) {
  size_t N[4], R[4];
  const int p = 4 - g->nd;
  for (int l = 0; l < g->L; l++) {
    pad4(g, l, N, R);
    for (int e = g->nd - 1; e >= 0; e--)
      if (l < g->lev[e]) axis_pass(a, N, R, p + e, scratch, 0);
  }
}

void gwlz_wv_inverse(double *a, const gwlz_wv_geom *g, double *scratch) {
  size_t N[4], R[4];
  const int p = 4 - g->nd;
  for (int l = g->L - 1; l >= 0; l--) {
    pad4(g, l, N, R);
    for (int e = 0; e < g->nd; e++)
      if (l < g->lev[e]) axis_pass(a, N, R, p + e, scratch, 1);
  }
}
