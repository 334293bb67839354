/* enh_linear.c - the linear enhancer kind: per group and per cell class a
 * linear function of features of the 3^k neighbourhood of X' (k = min(ndims,
 * 3): the k fastest dimensions; indices clamped at the borders), fitted by
 * least squares to R / eb.
 *
 * Features of cell c with centre value v = X'[c] (all in double; e = 1/eb):
 *   f[0] = 1                                  bias
 *   f[1] = (v - mid_g) * inv_g                centre; mid_g = lo/2 + hi/2,
 *                                             inv_g = 2/(hi-lo) (0 if hi==lo);
 *                                             lo/hi: min/max of X' in group g
 *   f[2 + j] = (X'[nb_j] - v) * e             the 3^k - 1 neighbours in
 *                                             lexicographic offset order
 *                                             (slowest axis outermost), centre
 *                                             skipped
 * INTERP (arch 18) appends, for each axis a = 0..k-1 (slowest first), with
 * xa, xb, xc, xd = X' at offsets -3, -1, +1, +3 along a (clamped):
 *   (xa - v) * e, (xd - v) * e,
 *   h_a = clamp((v - cub_a) * e * 0.5, -1, 1)   cub_a = (-xa + 9 xb + 9 xc - xd) * 0.0625
 *                                               (NaN -> 0)
 * and then replaces every f[q], q >= 2, by f[q] / (1 + |f[q]| * 0.25).
 * INTERP1 (19) uses the same features with one class. For INTERP, the class is 1 + the first axis a with |h_a| <= 1e-4 (the axis along which
 * the base's cubic interpolation reproduces X'), 0 when there is none.
 * PARITY (17) classes: the parity bits of the k coordinates (slowest most
 * significant); PLAIN (16): one class.
 *
 * Prediction: s = 0; s += (double)w[q] * f[q] for q = 0..m-1 in order; out =
 * (float)s, w = the class's m parameters. Parameters per group: classes * m,
 * class-major; m = 3^k + 1 (+ 3k for INTERP).
 *
 * Training: normal equations accumulated in double over fixed chunks of each
 * group's cells (partials combined in chunk order: independent of threads),
 * solved by Cholesky with a small relative ridge. */
#include <math.h>
#include <stdlib.h>

#include "enh_model.h"

#define LIN_CHUNK 32768
#define LIN_MAXM 37 /* 27 taps + bias + 3 x (2 far taps + 1 interpolation feature) */

typedef struct {
  int k;              /* dims used for the neighbourhood (1..3)   */
  size_t ext[3];      /* extents of those dims (slowest first)    */
  size_t st[3];       /* strides of those dims                    */
  int m;              /* features per class                       */
  int classes;        /* 1 or 2^k                                  */
  int pred;           /* extra interpolation-aware features        */
  int hitcls;         /* class = 1 + first axis whose cubic interpolation
                         reproduces X' exactly (0 if none)         */
  int noff;           /* 3^k                                       */
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
  g->noff = k == 1 ? 3 : (k == 2 ? 9 : 27);
  g->pred = arch == GWLZ_LIN_ARCH_INTERP || arch == GWLZ_LIN_ARCH_INTERP1;
  g->hitcls = arch == GWLZ_LIN_ARCH_INTERP;
  g->m = g->noff + 1 + (g->pred ? 3 * k : 0);
  g->classes = arch == GWLZ_LIN_ARCH_PARITY ? (1 << k) : (arch == GWLZ_LIN_ARCH_INTERP ? k + 1 : 1);
  g->inv_eb = 1.0 / d->eb;
}

static size_t lin_nparams(const gwlz_enh_data *d, int arch) {
  lin_geom g;
  if (!d || d->ndims < 1 || !lin_arch_ok(arch)) return 0;
  lin_geom_init(d, arch, &g);
  return (size_t)g.m * (size_t)g.classes;
}

static inline double lin_load(const gwlz_enh_data *d, size_t i) {
  return d->type == GWLZ_TYPE_DOUBLE ? ((const double *)d->xr)[i] : (double)((const float *)d->xr)[i];
}

/* Features of cell i into f[0..m); returns its class. */
static inline int lin_features(const gwlz_enh_data *d, const lin_geom *g, size_t i, double mid,
                               double inv, double *f) {
  size_t c[3] = {0, 0, 0};
  size_t t = i;
  for (int a = g->k - 1; a >= 0; a--) {
    c[a] = t % g->ext[a];
    t /= g->ext[a];
  }
  const double v = lin_load(d, i);
  f[0] = 1.0;
  f[1] = (v - mid) * inv;
  /* neighbour index offsets with clamping, per dim: lo, 0, hi */
  ptrdiff_t off[3][3];
  for (int a = 0; a < 3; a++) {
    off[a][0] = off[a][1] = off[a][2] = 0;
    if (a < g->k) {
      off[a][0] = c[a] > 0 ? -(ptrdiff_t)g->st[a] : 0;
      off[a][2] = c[a] + 1 < g->ext[a] ? (ptrdiff_t)g->st[a] : 0;
    }
  }
  int j = 2;
  if (g->k == 1) {
    for (int a0 = 0; a0 < 3; a0++) {
      if (a0 == 1) continue;
      f[j++] = (lin_load(d, (size_t)((ptrdiff_t)i + off[0][a0])) - v) * g->inv_eb;
    }
  } else if (g->k == 2) {
    for (int a0 = 0; a0 < 3; a0++)
      for (int a1 = 0; a1 < 3; a1++) {
        if (a0 == 1 && a1 == 1) continue;
        f[j++] = (lin_load(d, (size_t)((ptrdiff_t)i + off[0][a0] + off[1][a1])) - v) * g->inv_eb;
      }
  } else {
    for (int a0 = 0; a0 < 3; a0++)
      for (int a1 = 0; a1 < 3; a1++)
        for (int a2 = 0; a2 < 3; a2++) {
          if (a0 == 1 && a1 == 1 && a2 == 1) continue;
          f[j++] = (lin_load(d, (size_t)((ptrdiff_t)i + off[0][a0] + off[1][a1] + off[2][a2])) - v) *
                   g->inv_eb;
        }
  }
  int hit = -1;
  if (g->pred) {
    /* per axis: far taps at +-3 (clamped) and the clamped half-residual of
     * the cubic interpolation along the axis, (v - cubic) / (2 eb) in [-1, 1] */
    for (int a = 0; a < g->k; a++) {
      const ptrdiff_t s1 = (ptrdiff_t)g->st[a];
      ptrdiff_t om3 = c[a] >= 3 ? -3 * s1 : -(ptrdiff_t)c[a] * s1;
      ptrdiff_t op3 = c[a] + 3 < g->ext[a] ? 3 * s1 : (ptrdiff_t)(g->ext[a] - 1 - c[a]) * s1;
      double xa = lin_load(d, (size_t)((ptrdiff_t)i + om3));
      double xb = lin_load(d, (size_t)((ptrdiff_t)i + off[a][0]));
      double xc = lin_load(d, (size_t)((ptrdiff_t)i + off[a][2]));
      double xd = lin_load(d, (size_t)((ptrdiff_t)i + op3));
      f[j++] = (xa - v) * g->inv_eb;
      f[j++] = (xd - v) * g->inv_eb;
      double cub = (-xa + 9.0 * xb + 9.0 * xc - xd) * 0.0625;
      double h = (v - cub) * g->inv_eb * 0.5;
      if (hit < 0 && h >= -1e-4 && h <= 1e-4) hit = a;
      if (h != h) h = 0.0;
      if (h > 1.0) h = 1.0;
      if (h < -1.0) h = -1.0;
      f[j++] = h;
    }
  }
  if (g->pred) /* saturate: s(f) = f / (1 + |f| / 4) */
    for (int q = 2; q < g->m; q++) f[q] = f[q] / (1.0 + fabs(f[q]) * 0.25);
  if (g->hitcls) return hit + 1;
  int cls = 0;
  if (g->classes > 1)
    for (int a = 0; a < g->k; a++) cls = (cls << 1) | (int)(c[a] & 1u);
  return cls;
}

static void lin_group_norm(const gwlz_enh_data *d, int grp, double *mid, double *inv) {
  double lo = d->lo[grp], hi = d->hi[grp];
  *mid = 0.5 * lo + 0.5 * hi;
  *inv = (hi > lo && isfinite(hi - lo)) ? 2.0 / (hi - lo) : 0.0;
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

typedef struct {
  int grp;
  size_t begin, end; /* positions in group_idx */
} lin_task;

static gwlz_error lin_train(const gwlz_enh_data *d, int arch, float *params, int *epochs_run) {
  lin_geom g;
  size_t np = lin_nparams(d, arch);
  if (np == 0 || !d->target) return GWLZ_ERR_PARAM;
  lin_geom_init(d, arch, &g);
  const int m = g.m, C = g.classes;
  const size_t tri = (size_t)m * (size_t)(m + 1) / 2;
  const size_t slot = (size_t)C * (tri + (size_t)m + 1); /* upper A, b, count */
  memset(params, 0, (size_t)d->groups * np * sizeof(float));
  if (epochs_run) *epochs_run = 1;

  /* fixed task list: each group's cells cut into LIN_CHUNK pieces */
  size_t ntask = 0;
  for (int grp = 0; grp < d->groups; grp++) {
    size_t c = d->group_start[grp + 1] - d->group_start[grp];
    ntask += (c + LIN_CHUNK - 1) / LIN_CHUNK;
  }
  if (ntask == 0) return GWLZ_OK;
  lin_task *tasks = (lin_task *)malloc(ntask * sizeof(lin_task));
  double *part = (double *)calloc(ntask * slot, sizeof(double));
  if (!tasks || !part) {
    free(tasks);
    free(part);
    return GWLZ_ERR_MEMORY;
  }
  size_t t = 0;
  for (int grp = 0; grp < d->groups; grp++)
    for (size_t b = d->group_start[grp]; b < d->group_start[grp + 1]; b += LIN_CHUNK) {
      tasks[t].grp = grp;
      tasks[t].begin = b;
      tasks[t].end = b + LIN_CHUNK < d->group_start[grp + 1] ? b + LIN_CHUNK : d->group_start[grp + 1];
      t++;
    }

  long nt = (long)ntask;
#pragma omp parallel for num_threads(d->threads) schedule(dynamic, 1)
  for (long ti = 0; ti < nt; ti++) {
    const lin_task *tk = &tasks[ti];
    double *acc = part + (size_t)ti * slot;
    double mid, inv, f[LIN_MAXM];
    lin_group_norm(d, tk->grp, &mid, &inv);
    for (size_t q = tk->begin; q < tk->end; q++) {
      size_t i = d->group_idx[q];
      int cls = lin_features(d, &g, i, mid, inv, f);
      double y = (double)d->target[i];
      double *a = acc + (size_t)cls * (tri + (size_t)m + 1);
      double *bb = a + tri;
      size_t u = 0;
      for (int r = 0; r < m; r++) {
        const double fr = f[r];
        for (int c = r; c < m; c++) a[u++] += fr * f[c];
        bb[r] += fr * y;
      }
      bb[m] += 1.0;
    }
  }

  /* combine partials in task order per group and solve */
  double *sum = (double *)malloc(slot * sizeof(double));
  if (!sum) {
    free(tasks);
    free(part);
    return GWLZ_ERR_MEMORY;
  }
  t = 0;
  for (int grp = 0; grp < d->groups; grp++) {
    memset(sum, 0, slot * sizeof(double));
    int any = 0;
    while (t < ntask && tasks[t].grp == grp) {
      const double *p = part + t * slot;
      for (size_t u = 0; u < slot; u++) sum[u] += p[u];
      t++;
      any = 1;
    }
    if (!any) continue;
    for (int cls = 0; cls < C; cls++) {
      const double *a = sum + (size_t)cls * (tri + (size_t)m + 1);
      const double *bb = a + tri;
      double A[LIN_MAXM * LIN_MAXM], w[LIN_MAXM];
      if (bb[m] < 4.0 * m) continue; /* too few cells: no correction */
      size_t u = 0;
      for (int r = 0; r < m; r++)
        for (int c = r; c < m; c++) {
          A[r * m + c] = a[u];
          A[c * m + r] = a[u];
          u++;
        }
      if (lin_solve(m, A, bb, w) != 0) continue;
      float *out = params + (size_t)grp * np + (size_t)cls * (size_t)m;
      for (int r = 0; r < m; r++) out[r] = (float)w[r];
    }
    if (d->progress) d->progress(d->progress_user, "train", (double)(grp + 1) / d->groups);
  }
  free(sum);
  free(tasks);
  free(part);
  return GWLZ_OK;
}

static gwlz_error lin_predict(const gwlz_enh_data *d, int arch, int grp, const float *params,
                              float *out) {
  lin_geom g;
  size_t np = lin_nparams(d, arch);
  if (np == 0 || grp < 0 || grp >= d->groups) return GWLZ_ERR_PARAM;
  lin_geom_init(d, arch, &g);
  const float *w0 = params + (size_t)grp * np;
  double mid, inv;
  lin_group_norm(d, grp, &mid, &inv);
  const size_t b = d->group_start[grp], e = d->group_start[grp + 1];
  const long cnt = (long)(e - b);
  const int m = g.m;
#pragma omp parallel for num_threads(d->threads) schedule(static)
  for (long q = 0; q < cnt; q++) {
    size_t i = d->group_idx[b + (size_t)q];
    double f[LIN_MAXM];
    int cls = lin_features(d, &g, i, mid, inv, f);
    const float *w = w0 + (size_t)cls * (size_t)m;
    double s = 0.0;
    for (int r = 0; r < m; r++) s += (double)w[r] * f[r];
    out[i] = (float)s;
  }
  return GWLZ_OK;
}

const gwlz_enh_kind gwlz_enh_linear_kind = {GWLZ_ENH_LINEAR, lin_nparams, lin_train, lin_predict};
