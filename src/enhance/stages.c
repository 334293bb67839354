/* stages.c - the encoder of the version 2 enhancer (v2.h), in stages that
 * hand one state struct (e2_state) along:
 *
 *   plan       sample plan (row segments of 128 cells chosen by a hash of
 *              their global index: about n/8 cells, within 2^16 .. 2^19;
 *              the pilot a quarter of them), value range and fine value bins
 *              of X' (weighted quantiles over the pilot), clamp level of the
 *              features (the cheapest of three single-rule models fitted and
 *              calibrated on the pilot)
 *   train      normal equations of the linear fit per fine class (aux) x
 *              fine value bin x fold, over the sample, summed per fixed
 *              chunk and then in chunk order
 *   select     context rule, value bins per context and feature prefix per
 *              group, by 2-fold cross-validated squared error plus priced
 *              bytes; all from the sums (no inference)
 *   quantize   parameters to q * 2^-shift with the rate-distortion best width
 *   calibrate  one prediction pass over the sample: amplitude and the final
 *              keep decision of each group with its exceptions priced
 *   infer      the only pass over the whole field: output and exceptions
 *
 * Prices. A stored byte is worth lambda (eb^2 of squared error): at equal
 * bits per value the enhancement gains 10 log10(SSE_before / SSE_after) dB
 * and costs S log2(1 + bytes / B) dB, S the base's rate-distortion slope in
 * dB per doubling of its size B (gwlz_enh_rd_slope), so at the operating
 * point a byte is worth lambda = (ln 10 / (10 ln 2)) S SSE / B of squared
 * error (SSE and B those after enhancement; iterated from the base's).
 *
 * Determinism: sample choice depends only on global positions; every sum
 * that influences the output is accumulated per fixed chunk and combined in
 * chunk order; nothing depends on the thread count. */
#include <math.h>
#include <stdlib.h>

#include "enhance/v2.h"

#define E2_NCH 4                        /* chunks of the sampled passes          */
#define E2_TRAIN_MAX ((size_t)1 << 19) /* cells sampled for training: n/8 within  */
#define E2_TRAIN_MIN ((size_t)1 << 16) /* these limits (all cells below the min)  */
#define E2_NFC 32                       /* fine classes of the aux byte          */
#define E2_QUANT_MAX 16384              /* pilot values sorted for the quantiles */
#define E2_NAMP 8
#define E2_WIDTH_EST 10                 /* bits per parameter before quantizing  */
#define LAMBDA_K 0.33219280948873623    /* ln 10 / (10 ln 2)                     */

static const int e2_amps[E2_NAMP] = {64, 56, 48, 40, 32, 24, 16, 8};
static const int e2_clamps[3] = {3, 5, 0}; /* 4, 16, none */

typedef struct {
  const gwlz_enh_params *p;
  const void *x, *xr;
  e2_geom g;
  e2_feats fs;
  int m;                 /* features (full prefix)                    */
  int strict;
  size_t nseg, ntask;
  uint64_t rate, pilot;  /* of 2^32: segments in the sample / pilot    */
  int fl0;               /* training bins: 2^fl0                       */
  double lo, hi;         /* X' range over the pilot sample             */
  double c0, s0;         /* global centre normalisation u = (v-c0)*s0  */
  double bnd[1 << E2_MAXFL];
  int clamp_code;
  size_t slot;           /* doubles per normal-equation slot           */
  double *ne;            /* [fc][bin][fold][slot]                      */
  double scale;          /* regular cells / sampled regular cells      */
  double sse0;           /* SSE of X' (eb^2), whole field, estimated   */
  double S, B;           /* rate-distortion slope, base bytes          */
  double lambda;         /* eb^2 per byte                              */
  const struct e2_store_ *store; /* sampled segments kept apart (NULL: read
                            them from the whole field x, xr, p->aux, p->mask) */
} e2_state;

/* A row segment as the stages see it: X' around it through a geometry (the
 * whole field, a window of rows, or a sample box) and its own cells. The
 * features of a cell read X' at most E2_HALO cells away along the used axes,
 * clamped at the field's borders, so every one of these views gives the
 * bytes of the whole field (the box and the window reach the field's border
 * wherever a tap would be clamped). */
typedef struct {
  const e2_geom *g;          /* geometry xr is indexed with                 */
  const void *xr;            /* X'                                          */
  size_t r, x0, len;         /* row r of g, cells x0 .. x0 + len - 1        */
  const void *x, *xrs;       /* originals and X' of the segment's cells     */
  const uint8_t *aux, *mask; /* of the segment's cells (NULL: all zero)     */
  size_t pos;                /* array position of the first cell            */
} e2_seg;

/* The sampled segments kept apart (streaming encoder). A segment's box is
 * its cells grown by E2_HALO along the used axes (clamped to the field); of
 * the box's rows only those the taps read are kept (the cross through the
 * segment's row: at most 13), found through the box's row table; then the
 * originals, aux and mask of the segment's cells. */
#define E2_BOXROWS ((2 * E2_HALO + 1) * (2 * E2_HALO + 1))
typedef struct {
  size_t t;                  /* segment (task) index                        */
  uint32_t h;                /* hash >> 32: in the sample at rate u if h < u */
  uint8_t fold, filled;
  e2_geom g;                 /* the box (g.rowp = rows)                     */
  const void *rows[E2_BOXROWS];
  size_t r, x0, len, pos;    /* the segment in the box; its array position  */
  uint8_t *data;             /* kept rows, then x, aux, mask of the cells   */
  size_t cells;              /* X' values kept                              */
} e2_sent;

typedef struct e2_store_ {
  e2_sent *e;                /* in segment order                            */
  size_t cnt;
} e2_store;

/* ---- small helpers ------------------------------------------------------------- */
static inline uint64_t e2_hash(uint64_t t) {
  uint64_t z = t * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline double e2_ld(gwlz_type t, const void *p, size_t i) {
  return t == GWLZ_TYPE_DOUBLE ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

/* fine class of an aux byte (-1: no group) */
static inline int e2_fc(const uint8_t *aux, const uint8_t *mask, size_t i) {
  if (mask && mask[i]) return -1;
  const int a = aux ? aux[i] : 0;
  if (a & GWLZ_AUX_EXACT) return -1;
  const int lv = (a & 15) < 3 ? (a & 15) : 3;
  return ((a >> 6) & 1) * 16 + lv * 4 + ((a >> 4) & 3);
}

static inline int e2_fc_rep(int fc) { /* an aux byte of fine class fc */
  return ((fc >> 4) << 6) | ((fc & 3) << 4) | ((fc >> 2) & 3);
}

static inline int e2_bin(const double *bnd, int nb, double v) {
  int b = 0;
  for (int k = 0; k < nb - 1; k++) b += v >= bnd[k];
  return b;
}

static void e2_progress(const e2_state *s, double f) {
  if (s->p->progress) s->p->progress(s->p->progress_user, "enhance", f);
}

/* The segment of task t in a window (its rows row0 .. row0 + g->nrows - 1;
 * the originals of rows xrow0 ..). */
static void e2_seg_window(const e2_state *s, const gwlz_e2_window *w, size_t t, e2_seg *sg) {
  const size_t nx = s->g.nx, r = t / s->nseg, x0 = (t % s->nseg) * E2_SEG;
  const size_t ts = gwlz_type_size(s->g.type), il = (r - w->row0) * nx + x0;
  sg->g = w->g;
  sg->xr = w->xr;
  sg->r = r - w->row0;
  sg->x0 = x0;
  sg->len = nx - x0 < E2_SEG ? nx - x0 : E2_SEG;
  sg->xrs = (const uint8_t *)w->xr + il * ts;
  sg->x = (const uint8_t *)w->x + ((r - w->xrow0) * nx + x0) * ts;
  sg->aux = w->aux ? w->aux + il : NULL;
  sg->mask = w->mask ? w->mask + il : NULL;
  sg->pos = r * nx + x0;
}

static void e2_whole_window(const e2_state *s, gwlz_e2_window *w) {
  memset(w, 0, sizeof *w);
  w->g = &s->g;
  w->xr = s->xr;
  w->aux = s->p->aux;
  w->mask = s->p->mask;
  w->x = s->x;
}

static void e2_seg_stored(const e2_state *s, const e2_sent *en, e2_seg *sg) {
  const size_t ts = gwlz_type_size(s->g.type), bn = en->cells;
  sg->g = &en->g;
  sg->xr = en->data;
  sg->r = en->r;
  sg->x0 = en->x0;
  sg->len = en->len;
  sg->xrs = (const uint8_t *)en->rows[en->r] + en->x0 * ts;
  sg->x = en->data + bn * ts;
  sg->aux = en->data + (bn + en->len) * ts;
  sg->mask = sg->aux + en->len;
  sg->pos = en->pos;
}

/* first entry of the store with segment index >= t */
static size_t e2_store_first(const e2_store *st, size_t t) {
  size_t lo = 0, hi = st->cnt;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (st->e[mid].t < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Visit the sampled segments (hash < rate) in E2_NCH fixed chunks of the task
 * range, chunks in parallel, each chunk's segments in order; fn gets the
 * chunk index. */
typedef void (*e2_seg_fn)(e2_state *s, void *ctx, int chunk, const e2_seg *sg, int fold,
                          e2_scratch *S);

static gwlz_error e2_for_sample(e2_state *s, uint64_t rate, e2_seg_fn fn, void *ctx) {
  int fail = 0;
  const int threads = s->p->threads >= 1 ? s->p->threads : 1;
  (void)threads;
  gwlz_e2_window whole;
  e2_whole_window(s, &whole);
#pragma omp parallel num_threads(threads)
  {
    e2_scratch *S = (e2_scratch *)calloc(1, sizeof(e2_scratch));
    if (!S) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (int c = 0; c < E2_NCH; c++) {
      if (!S) continue;
      const size_t tb = s->ntask * (size_t)c / E2_NCH, te = s->ntask * (size_t)(c + 1) / E2_NCH;
      e2_seg sg;
      if (s->store) {
        const e2_store *st = s->store;
        for (size_t k = e2_store_first(st, tb); k < st->cnt && st->e[k].t < te; k++) {
          if (st->e[k].h >= rate) continue;
          e2_seg_stored(s, &st->e[k], &sg);
          fn(s, ctx, c, &sg, st->e[k].fold, S);
        }
        continue;
      }
      for (size_t t = tb; t < te; t++) {
        const uint64_t h = e2_hash(t);
        if ((h >> 32) >= rate) continue;
        e2_seg_window(s, &whole, t, &sg);
        fn(s, ctx, c, &sg, (int)(h & 1u), S);
      }
    }
    free(S);
  }
  return fail ? GWLZ_ERR_MEMORY : GWLZ_OK;
}

/* ---- plan ------------------------------------------------------------------------ */
typedef struct {
  double v, w;
} e2_vw;

typedef struct {
  e2_vw *buf[E2_NCH];
  size_t cnt[E2_NCH], cap[E2_NCH];
} e2_pilot;

static void e2_pilot_seg(e2_state *s, void *ctx, int c, const e2_seg *sg, int fold,
                         e2_scratch *S) {
  (void)fold;
  (void)S;
  e2_pilot *pl = (e2_pilot *)ctx;
  for (size_t x = 0; x < sg->len; x++) {
    if (e2_fc(sg->aux, sg->mask, x) < 0) continue;
    const double v = e2_ld(s->g.type, sg->xrs, x);
    if (!isfinite(v)) continue;
    if (pl->cnt[c] == pl->cap[c]) {
      size_t nc = pl->cap[c] ? 2 * pl->cap[c] : 4096;
      e2_vw *nb = (e2_vw *)realloc(pl->buf[c], nc * sizeof(e2_vw));
      if (!nb) return; /* short sample: only the quantiles suffer */
      pl->buf[c] = nb;
      pl->cap[c] = nc;
    }
    const double y = (e2_ld(s->g.type, sg->x, x) - v) / s->g.eb;
    pl->buf[c][pl->cnt[c]++] = (e2_vw){v, y * y};
  }
}

static int e2_cmp_vw(const void *a, const void *b) {
  const double x = ((const e2_vw *)a)->v, y = ((const e2_vw *)b)->v;
  return x < y ? -1 : (x > y ? 1 : 0);
}

/* Range and fine boundaries: quantiles of X' over the pilot sample, each
 * cell weighted by its squared residual (the bins narrow where the error
 * is). */
static gwlz_error e2_plan_bins(e2_state *s) {
  e2_pilot pl;
  memset(&pl, 0, sizeof(pl));
  gwlz_error e = e2_for_sample(s, s->pilot, e2_pilot_seg, &pl);
  size_t tot = 0;
  for (int c = 0; c < E2_NCH; c++) tot += pl.cnt[c];
  e2_vw *all = e == GWLZ_OK ? (e2_vw *)malloc((tot ? tot : 1) * sizeof(e2_vw)) : NULL;
  if (!all && e == GWLZ_OK) e = GWLZ_ERR_MEMORY;
  size_t k = 0;
  for (int c = 0; c < E2_NCH; c++) {
    if (all && pl.cnt[c]) memcpy(all + k, pl.buf[c], pl.cnt[c] * sizeof(e2_vw));
    k += pl.cnt[c];
    free(pl.buf[c]);
  }
  if (e != GWLZ_OK) return e;
  const int nb = 1 << s->fl0;
  s->lo = s->hi = 0.0;
  if (tot) {
    double vmin = all[0].v, vmax = all[0].v;
    for (size_t i = 1; i < tot; i++) {
      vmin = all[i].v < vmin ? all[i].v : vmin;
      vmax = all[i].v > vmax ? all[i].v : vmax;
    }
    if (tot > E2_QUANT_MAX) { /* quantiles from an evenly spaced subset */
      for (size_t j = 0; j < E2_QUANT_MAX; j++) all[j] = all[j * tot / E2_QUANT_MAX];
      tot = E2_QUANT_MAX;
    }
    qsort(all, tot, sizeof(e2_vw), e2_cmp_vw);
    double run = 0.0, sum = 0.0;
    for (size_t i = 0; i < tot; i++) sum += all[i].w;
    size_t i = 0;
    for (int b = 1; b < nb; b++) {
      const double goal = sum * (double)b / (double)nb;
      while (i + 1 < tot && run + all[i].w < goal) run += all[i++].w;
      s->bnd[b - 1] = (double)gwlz_to_f32(all[i].v);
    }
    s->lo = (double)gwlz_to_f32(vmin);
    s->hi = (double)gwlz_to_f32(vmax);
    if (s->lo > vmin) s->lo = nextafterf((float)s->lo, -INFINITY);
    if (s->hi < vmax) s->hi = nextafterf((float)s->hi, INFINITY);
  } else {
    for (int b = 1; b < nb; b++) s->bnd[b - 1] = 0.0;
  }
  for (int b = 1; b < nb - 1; b++)
    if (s->bnd[b] < s->bnd[b - 1]) s->bnd[b] = s->bnd[b - 1];
  free(all);
  s->c0 = 0.5 * s->lo + 0.5 * s->hi;
  s->s0 = s->hi > s->lo && isfinite(s->hi - s->lo) ? 2.0 / (s->hi - s->lo) : 0.0;
  return GWLZ_OK;
}

/* ---- train ------------------------------------------------------------------------ */
typedef struct {
  double *part[E2_NCH]; /* per chunk: [fc][bin][fold][slot] */
  int clamp_code;
} e2_trainctx;

static inline double *e2_slot(const e2_state *s, double *ne, int fc, int bin, int fold) {
  return ne + ((((size_t)fc << s->fl0) + (size_t)bin) * 2 + (size_t)fold) * s->slot;
}

/* A += f f^T (upper triangle, row-major), b += f y, then y^2 and the count. */
static inline void e2_ne_add(double *a, const double *f, int m, double y) {
  for (int r = 0; r < m; r++) {
    const double fr = f[r];
    for (int c = r; c < m; c++) a[c - r] += fr * f[c];
    a += m - r;
  }
  for (int r = 0; r < m; r++) a[r] += f[r] * y;
  a[m] += y * y;
  a[m + 1] += 1.0;
}

static void e2_train_seg(e2_state *s, void *ctx, int c, const e2_seg *sg, int fold,
                         e2_scratch *S) {
  e2_trainctx *tc = (e2_trainctx *)ctx;
  const int m = s->m, nb = 1 << s->fl0;
  gwlz_e2_seg_features(sg->g, sg->xr, sg->r, sg->x0, sg->len, m,
                       gwlz_e2_clamp_value(tc->clamp_code), S);
  for (size_t x = 0; x < sg->len; x++) {
    const int fc = e2_fc(sg->aux, sg->mask, x);
    if (fc < 0) continue;
    const double v = e2_ld(s->g.type, sg->xrs, x);
    if (!isfinite(v)) continue;
    double f[E2_MAXF];
    f[0] = 1.0;
    f[1] = (v - s->c0) * s->s0;
    for (int q = 2; q < m; q++) f[q] = (double)S->F[(size_t)q * E2_SEG + x];
    const double y = (e2_ld(s->g.type, sg->x, x) - v) / s->g.eb;
    e2_ne_add(e2_slot(s, tc->part[c], fc, e2_bin(s->bnd, nb, v), fold), f, m, y);
  }
}

/* Normal equations over the sampled segments with hash < rate. */
static gwlz_error e2_train(e2_state *s, uint64_t rate, int clamp_code, double **ne_out) {
  const size_t tot = ((size_t)E2_NFC << s->fl0) * 2 * s->slot;
  e2_trainctx tc;
  memset(&tc, 0, sizeof(tc));
  tc.clamp_code = clamp_code;
  gwlz_error e = GWLZ_OK;
  for (int c = 0; c < E2_NCH; c++)
    if (!(tc.part[c] = (double *)calloc(tot, sizeof(double)))) e = GWLZ_ERR_MEMORY;
  if (e == GWLZ_OK) e = e2_for_sample(s, rate, e2_train_seg, &tc);
  for (int c = 1; c < E2_NCH && e == GWLZ_OK; c++)
    for (size_t u = 0; u < tot; u++) tc.part[0][u] += tc.part[c][u];
  for (int c = 1; c < E2_NCH; c++) free(tc.part[c]);
  if (e != GWLZ_OK) {
    free(tc.part[0]);
    return e;
  }
  *ne_out = tc.part[0];
  return GWLZ_OK;
}

/* ---- select ------------------------------------------------------------------------- */
/* Evaluation of one candidate group (a set of fine classes x a run of fine
 * bins): cross-validated SSE per allowed prefix (sample units), SSE of X'. */
typedef struct {
  double sse0;
  double cv[8];          /* per prefix index; INFINITY = not allowed */
  double cnt;
} e2_geval;

/* Sum of the slots of fine classes in set (bitmask) and bins [b0, b1) per fold. */
static void e2_gather(const e2_state *s, const double *ne, uint32_t set, int b0, int b1, double *f0,
                      double *f1) {
  memset(f0, 0, s->slot * sizeof(double));
  memset(f1, 0, s->slot * sizeof(double));
  for (int fc = 0; fc < E2_NFC; fc++) {
    if (!(set >> fc & 1u)) continue;
    for (int b = b0; b < b1; b++) {
      const double *a = e2_slot(s, (double *)ne, fc, b, 0), *c = a + s->slot;
      for (size_t u = 0; u < s->slot; u++) {
        f0[u] += a[u];
        f1[u] += c[u];
      }
    }
  }
}

/* Full symmetric matrix of a slot with the centre feature re-normalised to
 * the group: f1' = beta + alpha * u. */
static void e2_unpack(const e2_state *s, const double *sl, double alpha, double beta, double *A,
                      double *b) {
  const int m = s->m;
  size_t u = 0;
  for (int r = 0; r < m; r++)
    for (int c = r; c < m; c++) {
      A[r * m + c] = A[c * m + r] = sl[u];
      u++;
    }
  for (int r = 0; r < m; r++) b[r] = sl[u + (size_t)r];
  /* row/column 1 */
  const double a00 = A[0], a01 = A[1], a11 = A[m + 1];
  A[m + 1] = beta * beta * a00 + 2.0 * alpha * beta * a01 + alpha * alpha * a11;
  for (int k = 0; k < m; k++) {
    if (k == 1) continue;
    const double v = beta * A[k] + alpha * A[m + k];
    A[m + k] = A[k * m + 1] = v;
  }
  b[1] = beta * b[0] + alpha * b[1];
}

/* Cholesky of A (m x m) with a small ridge into L; returns the number of
 * leading pivots that succeeded (prefixes up to it can be solved). */
static int e2_chol(int m, const double *A, double *L) {
  double tr = 0.0;
  for (int i = 0; i < m; i++) tr += A[i * m + i];
  const double ridge = tr > 0 && isfinite(tr) ? 1e-9 * tr / m : 1e-30;
  for (int i = 0; i < m; i++) {
    for (int j = 0; j <= i; j++) {
      double v = A[i * m + j];
      if (i == j) v += 1e-7 * A[i * m + i] + ridge;
      for (int q = 0; q < j; q++) v -= L[i * m + q] * L[j * m + q];
      if (i == j) {
        if (!(v > 0) || !isfinite(v)) return i;
        L[i * m + i] = sqrt(v);
      } else {
        L[i * m + j] = v / L[j * m + j];
      }
    }
  }
  return m;
}

static void e2_solve(int m, const double *L, int p, const double *b, double *w) {
  double y[E2_MAXF];
  for (int i = 0; i < p; i++) {
    double v = b[i];
    for (int q = 0; q < i; q++) v -= L[i * m + q] * y[q];
    y[i] = v / L[i * m + i];
  }
  for (int i = p - 1; i >= 0; i--) {
    double v = y[i];
    for (int q = i + 1; q < p; q++) v -= L[q * m + i] * w[q];
    w[i] = v / L[i * m + i];
  }
}

/* yy - 2 w.b + w^T A w over the first p features */
static double e2_sse(int m, const double *A, const double *b, double yy, const double *w, int p) {
  double s = yy;
  for (int i = 0; i < p; i++) {
    double t = 0.0;
    for (int j = 0; j < p; j++) t += A[i * m + j] * w[j];
    s += w[i] * (t - 2.0 * b[i]);
  }
  return s;
}

/* Centre normalisation of the group of training bins [b0, b1) relative to
 * the global one: f1' = beta + alpha * u. */
static void e2_group_norm(const e2_state *s, int b0, int b1, double *alpha, double *beta) {
  const double L = b0 == 0 ? s->lo : s->bnd[b0 - 1];
  const double U = b1 == (1 << s->fl0) ? s->hi : s->bnd[b1 - 1];
  const double mid = 0.5 * L + 0.5 * U, inv = (U > L && isfinite(U - L)) ? 2.0 / (U - L) : 0.0;
  *alpha = s->s0 > 0 ? inv / s->s0 : 0.0;
  *beta = (s->c0 - mid) * inv;
}

/* Cross-validated evaluation of one group; w (when not NULL) receives the
 * fit on both folds for every allowed prefix: w[pi * E2_MAXF + q]. */
static void e2_eval(const e2_state *s, const double *ne, uint32_t set, int b0, int b1, e2_geval *ev,
                    double *w) {
  const int m = s->m;
  double f0[E2_MAXF * E2_MAXF + 3 * E2_MAXF], f1[E2_MAXF * E2_MAXF + 3 * E2_MAXF];
  double A[3][E2_MAXF * E2_MAXF], b[3][E2_MAXF], L[3][E2_MAXF * E2_MAXF], yy[3], cnt[3];
  int ok[3];
  double alpha, beta;
  e2_gather(s, ne, set, b0, b1, f0, f1);
  e2_group_norm(s, b0, b1, &alpha, &beta);
  const size_t tri = (size_t)m * (m + 1) / 2;
  e2_unpack(s, f0, alpha, beta, A[0], b[0]);
  e2_unpack(s, f1, alpha, beta, A[1], b[1]);
  yy[0] = f0[tri + m];
  yy[1] = f1[tri + m];
  cnt[0] = f0[tri + m + 1];
  cnt[1] = f1[tri + m + 1];
  for (int u = 0; u < m * m; u++) A[2][u] = A[0][u] + A[1][u];
  for (int u = 0; u < m; u++) b[2][u] = b[0][u] + b[1][u];
  yy[2] = yy[0] + yy[1];
  cnt[2] = cnt[0] + cnt[1];
  ev->sse0 = yy[2];
  ev->cnt = cnt[2];
  for (int f = 0; f < 3; f++) ok[f] = e2_chol(m, A[f], L[f]);
  for (int pi = 0; pi < s->fs.npre; pi++) {
    const int p = s->fs.pre[pi];
    ev->cv[pi] = INFINITY;
    if (p > ok[2] || cnt[2] < 8.0 * p) continue;
    double cv = 0.0;
    for (int f = 0; f < 2; f++) {
      double wf[E2_MAXF];
      if (p > ok[1 - f] || cnt[1 - f] < 2.0 * p) { /* cannot fit the other fold: no prediction */
        cv += yy[f];
        continue;
      }
      e2_solve(m, L[1 - f], p, b[1 - f], wf);
      cv += e2_sse(m, A[f], b[f], yy[f], wf, p);
    }
    ev->cv[pi] = cv;
    if (w) e2_solve(m, L[2], p, b[2], w + (size_t)pi * E2_MAXF);
  }
}

/* Candidate grouping of one context: the best prefix per group at each merge
 * level j (fine bins merged 2^j at a time). */
typedef struct {
  double cost[E2_MAXFL + 1];     /* sum over groups of the best (sample units, priced) */
  double sse[E2_MAXFL + 1];      /* SSE of that choice (field units)                  */
  double bytes[E2_MAXFL + 1];    /* model bytes of that choice                        */
  double sse0;                   /* SSE of X' over the context (field units)          */
  e2_geval *ev[E2_MAXFL + 1];    /* per level: nb >> j evaluations                    */
} e2_ctxeval;

static void e2_ctx_choose(const e2_state *s, e2_ctxeval *ce) {
  const int nb = 1 << s->fl0;
  for (int j = 0; j <= s->fl0; j++) {
    double cost = 3.0 / 8.0 * s->lambda, sse = 0.0, bytes = 3.0 / 8.0;
    for (int q = 0; q < (nb >> j); q++) {
      const e2_geval *ev = &ce->ev[j][q];
      double best = ev->sse0 * s->scale + s->lambda / 8.0, bs = ev->sse0 * s->scale, bb = 1.0 / 8.0;
      for (int pi = 0; pi < s->fs.npre; pi++) {
        if (!isfinite(ev->cv[pi])) continue;
        const double by = gwlz_e2_group_bits(s->fs.pre[pi], E2_WIDTH_EST) / 8.0;
        const double c = ev->cv[pi] * s->scale + s->lambda * by;
        if (c < best) {
          best = c;
          bs = ev->cv[pi] * s->scale;
          bb = by;
        }
      }
      cost += best;
      sse += bs;
      bytes += bb;
    }
    ce->cost[j] = cost;
    ce->sse[j] = sse;
    ce->bytes[j] = bytes;
  }
}

static gwlz_error e2_ctx_eval(const e2_state *s, const double *ne, uint32_t set, e2_ctxeval *ce) {
  const int nb = 1 << s->fl0;
  memset(ce, 0, sizeof(*ce));
  for (int j = 0; j <= s->fl0; j++) {
    ce->ev[j] = (e2_geval *)malloc((size_t)(nb >> j) * sizeof(e2_geval));
    if (!ce->ev[j]) return GWLZ_ERR_MEMORY;
    for (int q = 0; q < (nb >> j); q++) e2_eval(s, ne, set, q << j, (q + 1) << j, &ce->ev[j][q], NULL);
  }
  for (int q = 0; q < nb; q++) ce->sse0 += ce->ev[0][q].sse0 * s->scale;
  return GWLZ_OK;
}

static void e2_ctx_free(e2_ctxeval *ce) {
  for (int j = 0; j <= E2_MAXFL; j++) free(ce->ev[j]);
  memset(ce, 0, sizeof(*ce));
}

/* One rule: its contexts as sets of fine classes present in the sample. */
typedef struct {
  int rule, nctx;
  uint32_t set[E2_MAXCTX];
  int ce[E2_MAXCTX];      /* index into the context-evaluation cache (-1: empty) */
} e2_rulecand;

typedef struct {
  int nrules;
  e2_rulecand r[16];
  int nce;
  uint32_t ceset[16 * E2_MAXCTX];
  e2_ctxeval ce[16 * E2_MAXCTX];
} e2_cands;

static uint32_t e2_present(const e2_state *s, const double *ne) {
  uint32_t pres = 0;
  const size_t cntoff = (size_t)s->m * (s->m + 1) / 2 + (size_t)s->m + 1;
  for (int fc = 0; fc < E2_NFC; fc++)
    for (int b = 0; b < (1 << s->fl0); b++)
      for (int f = 0; f < 2; f++)
        if (e2_slot(s, (double *)ne, fc, b, f)[cntoff] > 0) pres |= 1u << fc;
  return pres;
}

/* The distinct rules (by their partition of the present fine classes) and
 * an evaluation of every distinct context. */
static gwlz_error e2_cands_build(const e2_state *s, const double *ne, int rules_mask, e2_cands *C) {
  const uint32_t pres = e2_present(s, ne);
  memset(C, 0, sizeof(*C));
  for (int rule = 0; rule < 16; rule++) {
    if (!(rules_mask >> rule & 1)) continue;
    uint8_t ctx_of[256];
    e2_rulecand rc;
    memset(&rc, 0, sizeof(rc));
    rc.rule = rule;
    gwlz_e2_rule_contexts(rule, ctx_of, &rc.nctx);
    for (int fc = 0; fc < E2_NFC; fc++)
      if (pres >> fc & 1u) rc.set[ctx_of[e2_fc_rep(fc)]] |= 1u << fc;
    int dup = 0, nne = 0;
    for (int c = 0; c < rc.nctx; c++) nne += rc.set[c] != 0;
    for (int k = 0; k < C->nrules && !dup; k++) {
      int nk = 0, all = 1;
      for (int d = 0; d < C->r[k].nctx; d++) nk += C->r[k].set[d] != 0;
      for (int c = 0; c < rc.nctx && all; c++) {
        if (!rc.set[c]) continue;
        int found = 0;
        for (int d = 0; d < C->r[k].nctx && !found; d++) found = C->r[k].set[d] == rc.set[c];
        all = found;
      }
      dup = all && nk == nne;
    }
    if (dup) continue;
    for (int c = 0; c < rc.nctx; c++) {
      rc.ce[c] = -1;
      if (!rc.set[c]) continue;
      for (int k = 0; k < C->nce && rc.ce[c] < 0; k++)
        if (C->ceset[k] == rc.set[c]) rc.ce[c] = k;
      if (rc.ce[c] < 0) {
        gwlz_error e = e2_ctx_eval(s, ne, rc.set[c], &C->ce[C->nce]);
        C->ceset[C->nce] = rc.set[c];
        rc.ce[c] = C->nce++;
        if (e != GWLZ_OK) return e;
      }
    }
    C->r[C->nrules++] = rc;
  }
  return GWLZ_OK;
}

static void e2_cands_free(e2_cands *C) {
  for (int k = 0; k < C->nce; k++) e2_ctx_free(&C->ce[k]);
}

typedef struct {
  int rule, jmin;
  int8_t j[E2_MAXCTX];   /* merge level (training bins) per context, -1 off */
  double cost, sse, bytes;
} e2_choice;

/* The cheapest (rule, coarsest fine level, merge level per context). */
static void e2_choose(const e2_state *s, e2_cands *C, e2_choice *best) {
  for (int k = 0; k < C->nce; k++) e2_ctx_choose(s, &C->ce[k]);
  best->cost = INFINITY;
  for (int k = 0; k < C->nrules; k++) {
    const e2_rulecand *rc = &C->r[k];
    for (int jmin = 0; jmin <= s->fl0; jmin++) {
      const int nbs = 1 << (s->fl0 - jmin);
      e2_choice ch;
      ch.rule = rc->rule;
      ch.jmin = jmin;
      ch.bytes = 14.0 + 4.0 * (nbs - 1);
      ch.sse = 0.0;
      double cost = s->lambda * ch.bytes;
      for (int c = 0; c < rc->nctx; c++) {
        ch.j[c] = -1;
        if (rc->ce[c] < 0) {
          cost += s->lambda * 3.0 / 8.0;
          continue;
        }
        const e2_ctxeval *ce = &C->ce[rc->ce[c]];
        double bc = ce->sse0 + s->lambda * 3.0 / 8.0, bs = ce->sse0, bb = 3.0 / 8.0;
        for (int j = jmin; j <= s->fl0; j++)
          if (ce->cost[j] < bc) {
            bc = ce->cost[j];
            bs = ce->sse[j];
            bb = ce->bytes[j];
            ch.j[c] = (int8_t)j;
          }
        cost += bc;
        ch.sse += bs;
        ch.bytes += bb;
      }
      ch.cost = cost;
      if (cost < best->cost) *best = ch;
    }
  }
}

static double e2_lambda(const e2_state *s, double sse, double bytes) {
  return LAMBDA_K * s->S * sse / (s->B + bytes);
}

/* Selection: rule, levels and prefixes for the sums ne; *cost_out the total
 * priced cost (field units). */
static gwlz_error e2_select(e2_state *s, const double *ne, int rules_mask, e2_choice *ch) {
  e2_cands *C = (e2_cands *)calloc(1, sizeof(e2_cands));
  if (!C) return GWLZ_ERR_MEMORY;
  gwlz_error e = e2_cands_build(s, ne, rules_mask, C);
  if (e == GWLZ_OK) {
    s->lambda = e2_lambda(s, s->sse0, 0.0);
    for (int it = 0; it < 3; it++) {
      e2_choose(s, C, ch);
      s->lambda = e2_lambda(s, ch->sse > 0 ? ch->sse : s->sse0 * 1e-6, ch->bytes);
    }
    e2_choose(s, C, ch);
  }
  e2_cands_free(C);
  free(C);
  return e;
}

/* ---- model from the choice (weights fitted, then quantized) ------------------------ */
/* Quantize w[0..p) to q * 2^-shift: the width/shift with the least
 * dSSE + lambda * bytes (dSSE from the sums, field units). */
static void e2_quantize(const e2_state *s, const double *A, double scale, int p, const double *w,
                        e2_model *M, int grp) {
  const int m = s->m;
  double mx = 0.0;
  for (int q = 0; q < p; q++) mx = fabs(w[q]) > mx ? fabs(w[q]) : mx;
  int e0 = 0;
  if (mx > 0) (void)frexp(mx, &e0); /* mx < 2^e0 */
  double best = INFINITY;
  for (int sh = 0; sh <= 31; sh++) {
    const double st = ldexp(1.0, -sh);
    int64_t qm = 0;
    double d[E2_MAXF], qv[E2_MAXF];
    for (int q = 0; q < p; q++) {
      qv[q] = nearbyint(w[q] / st);
      d[q] = qv[q] * st - w[q];
      const int64_t a = (int64_t)fabs(qv[q]);
      qm = a > qm ? a : qm;
    }
    int width = 2;
    while (width < 24 && ((int64_t)1 << (width - 1)) <= qm) width++;
    if (((int64_t)1 << (width - 1)) <= qm) continue; /* too wide: finer steps only worse */
    double dsse = 0.0;
    for (int i = 0; i < p; i++) {
      double t = 0.0;
      for (int j = 0; j < p; j++) t += A[i * m + j] * d[j];
      dsse += d[i] * t;
    }
    const double cost = dsse * scale + s->lambda * gwlz_e2_group_bits(p, width) / 8.0;
    if (cost < best) {
      best = cost;
      M->shift[grp] = (uint8_t)sh;
      M->width[grp] = (uint8_t)width;
      for (int q = 0; q < p; q++) M->w[grp][q] = (float)(qv[q] * st);
    }
    if (sh > e0 + 24) break;
  }
  if (!isfinite(best)) {
    M->kept[grp] = 0;
    M->pfx[grp] = 0;
  }
}

/* Fit and quantize every group of the choice; groups whose best option is
 * not to be kept are off. */
static void e2_build_model(e2_state *s, const double *ne, const e2_choice *ch, e2_model *M) {
  memset(M, 0, sizeof(*M));
  M->rule = ch->rule;
  M->clamp_code = s->clamp_code;
  M->fl = s->fl0 - ch->jmin;
  M->lo = s->lo;
  M->hi = s->hi;
  for (int b = 1; b < (1 << M->fl); b++) M->bnd[b - 1] = s->bnd[(b << ch->jmin) - 1];
  gwlz_e2_rule_contexts(ch->rule, M->ctx_of, &M->nctx);
  uint32_t set[E2_MAXCTX];
  memset(set, 0, sizeof(set));
  const uint32_t pres = e2_present(s, ne);
  for (int fc = 0; fc < E2_NFC; fc++)
    if (pres >> fc & 1u) set[M->ctx_of[e2_fc_rep(fc)]] |= 1u << fc;
  for (int c = 0; c < M->nctx; c++) M->j[c] = (int8_t)(ch->j[c] < 0 ? -1 : ch->j[c] - ch->jmin);
  gwlz_e2_model_layout(M);
  const int m = s->m;
  for (int c = 0; c < M->nctx; c++) {
    if (ch->j[c] < 0) continue;
    const int j = ch->j[c];
    for (int q = 0; q < (1 << s->fl0) >> j; q++) {
      const int grp = M->gbase[c] + q;
      e2_geval ev;
      double w[8 * E2_MAXF], f0[E2_MAXF * E2_MAXF + 3 * E2_MAXF], f1[E2_MAXF * E2_MAXF + 3 * E2_MAXF];
      e2_eval(s, ne, set[c], q << j, (q + 1) << j, &ev, w);
      int bp = -1;
      double best = ev.sse0 * s->scale + s->lambda / 8.0;
      for (int pi = 0; pi < s->fs.npre; pi++) {
        if (!isfinite(ev.cv[pi])) continue;
        const double cst = ev.cv[pi] * s->scale + s->lambda * gwlz_e2_group_bits(s->fs.pre[pi], E2_WIDTH_EST) / 8.0;
        if (cst < best) {
          best = cst;
          bp = pi;
        }
      }
      if (bp < 0) continue;
      const int p = s->fs.pre[bp];
      double A[E2_MAXF * E2_MAXF], bb[E2_MAXF], alpha, beta;
      e2_gather(s, ne, set[c], q << j, (q + 1) << j, f0, f1);
      for (size_t u = 0; u < s->slot; u++) f0[u] += f1[u];
      e2_group_norm(s, q << j, (q + 1) << j, &alpha, &beta);
      e2_unpack(s, f0, alpha, beta, A, bb);
      M->kept[grp] = 1;
      M->pfx[grp] = (uint8_t)p;
      M->amp[grp] = E2_AMP_DEN;
      e2_quantize(s, A, s->scale, p, w + (size_t)bp * E2_MAXF, M, grp);
    }
  }
  (void)m;
  gwlz_e2_model_prepare(M);
}

/* ---- calibrate ------------------------------------------------------------------------ */
#define E2_CAL (2 + 2 * E2_NAMP) /* sse0, per amp (sse, exceptions), count */

typedef struct {
  const e2_model *M;
  double *part[E2_NCH]; /* [group][E2_CAL] */
} e2_calctx;

static void e2_cal_seg(e2_state *s, void *ctx, int c, const e2_seg *sg, int fold,
                       e2_scratch *S) {
  (void)fold;
  e2_calctx *cc = (e2_calctx *)ctx;
  const size_t len = sg->len;
  S->need_gi = 1;
  gwlz_e2_seg_groups(cc->M, sg->g, sg->xrs, sg->aux, sg->mask, 0, len, S);
  int any = 0;
  for (size_t x = 0; x < len && !any; x++) any = S->gi[x] != E2_NONE;
  if (!any) return;
  gwlz_e2_seg_run(cc->M, sg->g, sg->xr, sg->r, sg->x0, len, S, NULL);
  const double eb = s->g.eb, inv = 1.0 / eb;
  for (size_t x = 0; x < len; x++) {
    const uint16_t grp = S->gi[x];
    if (grp == E2_NONE) continue;
    double *a = cc->part[c] + (size_t)grp * E2_CAL;
    const double xv = e2_ld(s->g.type, sg->x, x), xrv = e2_ld(s->g.type, sg->xrs, x);
    const double e0 = (xv - xrv) * inv;
    a[0] += e0 * e0;
    a[E2_CAL - 1] += 1.0;
    /* in units of eb (the output's rounding left out: an estimate) */
    const double rh = (double)S->r[x];
    for (int k = 0; k < E2_NAMP; k++) {
      const double A = e2_amps[k] * (1.0 / E2_AMP_DEN);
      const double er = e0 - (rh < A ? (rh > -A ? rh : -A) : A);
      const int exc = s->strict && !(fabs(er) <= 1.0);
      a[1 + 2 * k] += exc ? e0 * e0 : er * er;
      a[2 + 2 * k] += exc;
    }
  }
}

/* Amplitude per kept group and the final keep decision, exceptions priced,
 * on the segments sampled at rate; *cost (may be NULL): the priced total. */
static gwlz_error e2_calibrate(e2_state *s, e2_model *M, uint64_t rate, double *cost) {
  e2_calctx cc;
  memset(&cc, 0, sizeof(cc));
  cc.M = M;
  const size_t tot = (size_t)M->ngroups * E2_CAL;
  gwlz_error e = GWLZ_OK;
  for (int c = 0; c < E2_NCH; c++)
    if (!(cc.part[c] = (double *)calloc(tot ? tot : 1, sizeof(double)))) e = GWLZ_ERR_MEMORY;
  if (e == GWLZ_OK) e = e2_for_sample(s, rate, e2_cal_seg, &cc);
  for (int c = 1; c < E2_NCH && e == GWLZ_OK; c++)
    for (size_t u = 0; u < tot; u++) cc.part[0][u] += cc.part[c][u];
  for (int c = 1; c < E2_NCH; c++) free(cc.part[c]);
  if (e != GWLZ_OK) {
    free(cc.part[0]);
    return e;
  }
  const double *acc = cc.part[0];
  double exc_tot = 0.0, total = 0.0;
  for (int it = 0; it < 2; it++) {
    total = 0.0;
    /* bytes per exception at the current total (Rice-coded gaps) */
    const double per = exc_tot > 0 ? gwlz_e2_exc_bytes((size_t)exc_tot + 1, s->g.n) / (exc_tot + 1)
                                   : gwlz_e2_exc_bytes(1 + s->g.n / 4096, s->g.n) / (1 + s->g.n / 4096);
    double next = 0.0;
    M->mmax = 0;
    for (int grp = 0; grp < M->ngroups; grp++) {
      const double *a = acc + (size_t)grp * E2_CAL;
      total += a[0] * s->scale;
      if (!M->pfx[grp]) continue;
      M->kept[grp] = 0;
      double best = a[0] * s->scale;
      const double mb = gwlz_e2_group_bits(M->pfx[grp], M->width[grp]) / 8.0;
      for (int k = 0; k < E2_NAMP; k++) {
        const double cst = (a[1 + 2 * k] + s->lambda * per * a[2 + 2 * k]) * s->scale + s->lambda * mb;
        if (cst < best) {
          best = cst;
          M->kept[grp] = 1;
          M->amp[grp] = (uint8_t)e2_amps[k];
        }
      }
      total += best - a[0] * s->scale;
      if (M->kept[grp]) {
        for (int k = 0; k < E2_NAMP; k++)
          if (e2_amps[k] == M->amp[grp]) next += a[2 + 2 * k] * s->scale;
        if (M->pfx[grp] > M->mmax) M->mmax = M->pfx[grp];
      }
    }
    exc_tot = next;
  }
  gwlz_e2_model_prepare(M);
  if (cost) *cost = total;
  free(cc.part[0]);
  return GWLZ_OK;
}

/* ---- infer -------------------------------------------------------------------------------- */
typedef struct {
  size_t *pos;
  size_t cnt, cap;
  double sse0, sse1;
  double osse, omax; /* y == NULL: the output's error statistics */
  size_t ocnt;
  double bsse, bmax; /* streaming: the base's error (gwlz_err_blocked's block) */
  size_t bcnt;
  int fail;
} e2_chunkout;

#define E2_INFER_CHUNK 256 /* tasks per accumulator of the inference */

/* y == NULL: the error statistics of the segment's output yo (NULL: X')
 * over its regular cells, in units of p->err_scale. */
static void e2_out_stats(const e2_state *s, const e2_seg *sg, const uint8_t *yo, e2_chunkout *co) {
  gwlz_err_add(s->g.type, sg->x, yo ? (const void *)yo : sg->xrs, sg->mask, sg->len,
               s->p->err_scale, &co->osse, &co->omax, &co->ocnt);
}

static int e2_push(e2_chunkout *co, size_t i) {
  if (co->cnt == co->cap) {
    size_t nc = co->cap ? 2 * co->cap : 256;
    size_t *np = (size_t *)realloc(co->pos, nc * sizeof(size_t));
    if (!np) return co->fail = 1, 0;
    co->pos = np;
    co->cap = nc;
  }
  co->pos[co->cnt++] = i;
  return 1;
}

static void e2_infer_task(e2_state *s, const e2_model *M, const e2_seg *sg, void *y, uint8_t *ybuf,
                          e2_chunkout *co, e2_scratch *S) {
  const size_t len = sg->len;
  const gwlz_type ty = s->g.type;
  const size_t ts = gwlz_type_size(ty);
  const double eb = s->g.eb, inv = 1.0 / eb;
  S->need_gi = 1;
  gwlz_e2_seg_groups(M, sg->g, sg->xrs, sg->aux, sg->mask, 0, len, S);
  int any = 0;
  for (size_t x = 0; x < len && !any; x++) any = S->gi[x] != E2_NONE;
  if (!any) {
    if (!y) e2_out_stats(s, sg, NULL, co);
    return;
  }
  uint8_t *yo = y ? (uint8_t *)y + sg->pos * ts : ybuf; /* y == NULL: the segment's output */
  gwlz_e2_seg_run(M, sg->g, sg->xr, sg->r, sg->x0, len, S, yo);
  for (size_t x = 0; x < len; x++) {
    if (S->gi[x] == E2_NONE) continue;
    const double xv = e2_ld(ty, sg->x, x), xrv = e2_ld(ty, sg->xrs, x), yv = e2_ld(ty, yo, x);
    const double e0 = (xv - xrv) * inv;
    co->sse0 += e0 * e0;
    if (s->strict && !(fabs(xv - yv) <= eb)) {
      if (!e2_push(co, sg->pos + x)) return;
      co->sse1 += e0 * e0;
      memcpy(yo + x * ts, (const uint8_t *)sg->xrs + x * ts, ts); /* listed: X' */
      continue;
    }
    const double e1 = (xv - yv) * inv;
    co->sse1 += e1 * e1;
  }
  if (!y) e2_out_stats(s, sg, yo, co);
}

/* Inference of the rows [r0, r1) of window w into y (the whole output, or
 * NULL: only its error statistics) and the exceptions, accumulated per
 * E2_INFER_CHUNK tasks (each accumulator's tasks in order, whichever rows a
 * call covers). */
static gwlz_error e2_infer_rows(e2_state *s, const e2_model *M, e2_chunkout *co,
                                const gwlz_e2_window *w, size_t r0, size_t r1, size_t tlo,
                                size_t thi, void *y) {
  size_t ta = r0 * s->nseg, tb = r1 * s->nseg;
  ta = ta > tlo ? ta : tlo;
  tb = tb < thi ? tb : thi;
  if (ta >= tb) return GWLZ_OK;
  const long c0 = (long)(ta / E2_INFER_CHUNK), c1 = (long)((tb - 1) / E2_INFER_CHUNK) + 1;
  int fail = 0;
  const int threads = s->p->threads >= 1 ? s->p->threads : 1;
  (void)threads;
#pragma omp parallel num_threads(c1 - c0 > 1 ? threads : 1)
  {
    e2_scratch *S = (e2_scratch *)calloc(1, sizeof(e2_scratch));
    uint8_t *ybuf = y ? NULL : (uint8_t *)malloc(E2_SEG * sizeof(double));
    if (!S || (!y && !ybuf)) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (long c = c0; c < c1; c++) {
      if (!S || (!y && !ybuf)) continue;
      const size_t lo = (size_t)c * E2_INFER_CHUNK, hi = lo + E2_INFER_CHUNK;
      for (size_t t = lo > ta ? lo : ta; t < (hi < tb ? hi : tb) && !co[c].fail; t++) {
        e2_seg sg;
        e2_seg_window(s, w, t, &sg);
        e2_infer_task(s, M, &sg, y, ybuf, &co[c], S);
      }
    }
    free(ybuf);
    free(S);
  }
  return fail ? GWLZ_ERR_MEMORY : GWLZ_OK;
}

/* The accumulators summed in order; *exc the exceptions (sorted). */
static gwlz_error e2_infer_sum(const e2_state *s, e2_chunkout *co, size_t nch, size_t **exc,
                               size_t *nexc, double *sse0, double *sse1, gwlz_enh_stats *st) {
  size_t tot = 0;
  int fail = 0;
  (void)s;
  *sse0 = *sse1 = 0.0;
  st->out_sse = st->out_maxerr = 0.0;
  st->out_count = 0;
  for (size_t c = 0; c < nch; c++) {
    fail |= co[c].fail;
    tot += co[c].cnt;
    *sse0 += co[c].sse0;
    *sse1 += co[c].sse1;
    st->out_sse += co[c].osse;
    if (co[c].omax > st->out_maxerr) st->out_maxerr = co[c].omax;
    st->out_count += co[c].ocnt;
  }
  size_t *all = fail ? NULL : (size_t *)malloc((tot ? tot : 1) * sizeof(size_t));
  if (!all) return GWLZ_ERR_MEMORY;
  size_t k = 0;
  for (size_t c = 0; c < nch; c++) {
    if (co[c].cnt) memcpy(all + k, co[c].pos, co[c].cnt * sizeof(size_t));
    k += co[c].cnt;
  }
  *exc = all;
  *nexc = tot;
  return GWLZ_OK;
}

/* ---- the pipeline ---------------------------------------------------------------------------- */
static gwlz_error e2_plan(e2_state *s, const gwlz_enh_params *p, const void *x, const void *xr) {
  memset(s, 0, sizeof(*s));
  s->p = p;
  s->x = x;
  s->xr = xr;
  gwlz_error e = gwlz_e2_geom(p, &s->g);
  if (e != GWLZ_OK) return e;
  gwlz_e2_feats_of(s->g.k, &s->fs);
  s->m = s->fs.m;
  s->strict = p->policy == GWLZ_BOUND_STRICT;
  s->nseg = (s->g.nx + E2_SEG - 1) / E2_SEG;
  s->ntask = s->g.nrows * s->nseg;
  const double ncell = (double)s->ntask * E2_SEG;
  /* training sample: n/8 cells within [E2_TRAIN_MIN, E2_TRAIN_MAX]; the
   * pilot (quantiles, clamp level) a quarter of it */
  double T = ncell / 8;
  T = T < (double)E2_TRAIN_MIN ? (double)E2_TRAIN_MIN : (T > (double)E2_TRAIN_MAX ? (double)E2_TRAIN_MAX : T);
  s->rate = (uint64_t)1 << 32;
  if (ncell > T) s->rate = (uint64_t)(4294967296.0 * T / ncell);
  s->pilot = s->rate / 4 ? s->rate / 4 : 1;
  if (ncell <= 4 * (double)E2_TRAIN_MIN) s->pilot = s->rate;
  if (s->pilot < 1) s->pilot = 1;
  if (s->rate < 1) s->rate = 1;
  int G = p->groups < 1 ? 1 : (p->groups > 32 ? 32 : p->groups);
  while ((2 << s->fl0) <= G) s->fl0++;
  s->slot = (size_t)s->m * (s->m + 1) / 2 + (size_t)s->m + 2;
  s->B = p->base_bytes > 0 ? (double)p->base_bytes : (double)p->n * gwlz_type_size(p->type) / 8.0;
  s->S = p->rd_slope > 0 ? p->rd_slope : gwlz_enh_rd_slope(p->n, p->base_bytes);
  return GWLZ_OK;
}

/* sse0 and scale from the sums over the segments sampled at rate */
static void e2_totals(e2_state *s, const double *ne, uint64_t rate) {
  const size_t off = (size_t)s->m * (s->m + 1) / 2 + (size_t)s->m;
  double yy = 0.0, cnt = 0.0;
  for (int fc = 0; fc < E2_NFC; fc++)
    for (int b = 0; b < (1 << s->fl0); b++)
      for (int f = 0; f < 2; f++) {
        const double *sl = e2_slot(s, (double *)ne, fc, b, f);
        yy += sl[off];
        cnt += sl[off + 1];
      }
  /* regular cells of the whole field per sampled regular cell: the sampled
   * fraction of the segments */
  const double frac = rate >= ((uint64_t)1 << 32) ? 1.0 : (double)rate / 4294967296.0;
  s->scale = 1.0 / frac;
  s->sse0 = yy * s->scale;
  (void)cnt;
}

/* Clamp level of the features: the one whose model (one rule, selected,
 * fitted and calibrated on the pilot sample, exceptions priced) is cheapest. */
static gwlz_error e2_pick_clamp(e2_state *s, e2_model *M) {
  double best = INFINITY;
  int best_code = e2_clamps[0];
  for (int k = 0; k < 3; k++) {
    double *ne = NULL, cost = INFINITY;
    e2_choice ch;
    s->clamp_code = e2_clamps[k];
    gwlz_error e = e2_train(s, s->pilot, e2_clamps[k], &ne);
    if (e != GWLZ_OK) return e;
    e2_totals(s, ne, s->pilot);
    e = e2_select(s, ne, 1 << 1, &ch); /* rule 1: contexts by the coded bit */
    if (e == GWLZ_OK) e2_build_model(s, ne, &ch, M);
    free(ne);
    if (e == GWLZ_OK && M->mmax > 0) e = e2_calibrate(s, M, s->pilot, &cost);
    if (e != GWLZ_OK) return e;
    if (M->mmax == 0) cost = s->sse0;
    if (cost < best) {
      best = cost;
      best_code = e2_clamps[k];
    }
  }
  s->clamp_code = best_code;
  return GWLZ_OK;
}

/* ---- the encoder object ------------------------------------------------------------------- */
struct gwlz_e2_enc_ {
  e2_state s;
  gwlz_enh_params p;     /* a copy: s.p points here                       */
  e2_store st;           /* streaming: the sampled segments               */
  e2_model *M;
  int trained, active;   /* active: a model with kept groups              */
  e2_chunkout *co;
  size_t nch;
  size_t tlo, thi;       /* the segments this encoder works on           */
  double t0;
  gwlz_enh_stats stats;
};

void gwlz_e2_enc_close(gwlz_e2_enc *E) {
  if (!E) return;
  for (size_t k = 0; k < E->st.cnt; k++) free(E->st.e[k].data);
  free(E->st.e);
  if (E->co)
    for (size_t c = 0; c < E->nch; c++) free(E->co[c].pos);
  free(E->co);
  free(E->M);
  free(E);
}

gwlz_error gwlz_e2_enc_open(const gwlz_enh_params *p, const void *x, const void *xr,
                            gwlz_e2_enc **out) {
  *out = NULL;
  if ((x == NULL) != (xr == NULL)) return GWLZ_ERR_PARAM;
  gwlz_e2_enc *E = (gwlz_e2_enc *)calloc(1, sizeof *E);
  if (!E) return GWLZ_ERR_MEMORY;
  E->t0 = gwlz_now();
  E->p = *p;
  E->stats.kind = GWLZ_ENH_NONE;
  gwlz_error e = e2_plan(&E->s, &E->p, x, xr);
  if (e == GWLZ_OK && !(E->M = (e2_model *)calloc(1, sizeof(e2_model)))) e = GWLZ_ERR_MEMORY;
  if (e == GWLZ_OK) {
    E->nch = (E->s.ntask + E2_INFER_CHUNK - 1) / E2_INFER_CHUNK;
    E->thi = E->s.ntask;
    if (!(E->co = (e2_chunkout *)calloc(E->nch ? E->nch : 1, sizeof(e2_chunkout))))
      e = GWLZ_ERR_MEMORY;
  }
  if (e == GWLZ_OK && !x) { /* streaming: the segments of the sample, in order */
    e2_state *s = &E->s;
    size_t cnt = 0;
    for (size_t t = 0; t < s->ntask; t++) cnt += (e2_hash(t) >> 32) < s->rate;
    if (!(E->st.e = (e2_sent *)calloc(cnt ? cnt : 1, sizeof(e2_sent)))) e = GWLZ_ERR_MEMORY;
    for (size_t t = 0; e == GWLZ_OK && t < s->ntask; t++) {
      const uint64_t h = e2_hash(t);
      if ((h >> 32) >= s->rate) continue;
      e2_sent *en = &E->st.e[E->st.cnt++];
      en->t = t;
      en->h = (uint32_t)(h >> 32);
      en->fold = (uint8_t)(h & 1u);
    }
    s->store = &E->st;
  }
  if (e != GWLZ_OK) {
    gwlz_e2_enc_close(E);
    return e;
  }
  e2_progress(&E->s, 0.05);
  *out = E;
  return GWLZ_OK;
}

/* the rows of a sample box kept (the cross through the segment's row), in
 * order, from data on */
static void e2_sent_rows(e2_sent *en, size_t ts) {
  const size_t zc = en->r / en->g.ny, yc = en->r % en->g.ny;
  uint8_t *row = en->data;
  for (size_t zz = 0; zz < en->g.nz; zz++)
    for (size_t yy = 0; yy < en->g.ny; yy++) {
      en->rows[zz * en->g.ny + yy] = NULL;
      if (zz != zc && yy != yc) continue;
      en->rows[zz * en->g.ny + yy] = row;
      row += en->g.nx * ts;
    }
  en->g.rowp = en->rows;
}

/* Keep sample entry en from window w: X' of its box, its cells. */
static gwlz_error e2_store_fill(const e2_state *s, e2_sent *en, const gwlz_e2_window *w) {
  const e2_geom *g = &s->g;
  const size_t ts = gwlz_type_size(g->type), H = E2_HALO;
  const size_t r = en->t / s->nseg, x0 = (en->t % s->nseg) * E2_SEG;
  const size_t len = g->nx - x0 < E2_SEG ? g->nx - x0 : E2_SEG;
  const size_t y = g->k >= 2 ? r % g->ny : 0, z = g->k >= 3 ? (r / g->ny) % g->nz : 0;
  const size_t rz0 = r - y - z * g->ny; /* row of (z, y) = (0, 0) */
  const size_t za = g->k >= 3 && z >= H ? z - H : (g->k >= 3 ? 0 : z);
  const size_t zb = g->k >= 3 ? (z + H + 1 < g->nz ? z + H + 1 : g->nz) : z + 1;
  const size_t ya = g->k >= 2 && y >= H ? y - H : (g->k >= 2 ? 0 : y);
  const size_t yb = g->k >= 2 ? (y + H + 1 < g->ny ? y + H + 1 : g->ny) : y + 1;
  const size_t xa = x0 >= H ? x0 - H : 0, xb = x0 + len + H < g->nx ? x0 + len + H : g->nx;
  e2_geom *bg = &en->g;
  memset(bg, 0, sizeof *bg);
  bg->type = g->type;
  bg->eb = g->eb;
  bg->k = bg->nd = g->k;
  bg->nx = xb - xa;
  bg->ny = yb - ya;
  bg->nz = zb - za;
  const size_t ext[3] = {bg->nz, bg->ny, bg->nx};
  for (int a = 0; a < bg->nd; a++) bg->N[a] = ext[3 - bg->nd + a];
  bg->nrows = bg->nz * bg->ny;
  bg->n = bg->nrows * bg->nx;
  en->r = (z - za) * bg->ny + (y - ya);
  en->x0 = x0 - xa;
  en->len = len;
  en->pos = r * g->nx + x0;
  /* the rows kept: the cross through the segment's row (every row the taps
   * of the kernel read, clamped in the box as in the field) */
  en->cells = (bg->nz + bg->ny - 1) * bg->nx;
  uint8_t *d = (uint8_t *)malloc(en->cells * ts + len * (ts + 2));
  if (!d) return GWLZ_ERR_MEMORY;
  en->data = d;
  e2_sent_rows(en, ts);
  for (size_t zz = 0; zz < bg->nz; zz++)
    for (size_t yy = 0; yy < bg->ny; yy++) {
      uint8_t *row = (uint8_t *)en->rows[zz * bg->ny + yy];
      if (!row) continue;
      const size_t gr = rz0 + (za + zz) * g->ny + (ya + yy);
      if (gr < w->row0 || gr - w->row0 >= w->g->nrows) {
        free(d);
        en->data = NULL;
        return GWLZ_ERR_INTERNAL; /* the window does not hold the halo */
      }
      memcpy(row, (const uint8_t *)w->xr + ((gr - w->row0) * g->nx + xa) * ts, bg->nx * ts);
    }
  const size_t il = (r - w->row0) * g->nx + x0;
  uint8_t *dx = d + en->cells * ts, *da = dx + len * ts, *dm = da + len;
  memcpy(dx, (const uint8_t *)w->x + ((r - w->xrow0) * g->nx + x0) * ts, len * ts);
  if (w->aux)
    memcpy(da, w->aux + il, len);
  else
    memset(da, 0, len);
  if (w->mask)
    memcpy(dm, w->mask + il, len);
  else
    memset(dm, 0, len);
  en->filled = 1;
  return GWLZ_OK;
}

/* The base's error over the segments [ta, tb) of window w, per accumulator
 * (each accumulator's segments in order). */
static gwlz_error e2_base_error(gwlz_e2_enc *E, const gwlz_e2_window *w, size_t ta, size_t tb) {
  const e2_state *s = &E->s;
  if (ta >= tb) return GWLZ_OK;
  const long c0 = (long)(ta / E2_INFER_CHUNK), c1 = (long)((tb - 1) / E2_INFER_CHUNK) + 1;
  const int threads = s->p->threads >= 1 ? s->p->threads : 1;
  (void)threads;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c1 - c0 > 1 ? threads : 1)
  for (long c = c0; c < c1; c++) {
    const size_t lo = (size_t)c * E2_INFER_CHUNK, hi = lo + E2_INFER_CHUNK;
    e2_chunkout *co = &E->co[c];
    for (size_t t = lo > ta ? lo : ta; t < (hi < tb ? hi : tb); t++) {
      e2_seg sg;
      e2_seg_window(s, w, t, &sg);
      gwlz_err_add(s->g.type, sg.x, sg.xrs, sg.mask, sg.len, s->p->err_scale, &co->bsse,
                   &co->bmax, &co->bcnt);
    }
  }
  return GWLZ_OK;
}

gwlz_error gwlz_e2_enc_sample(gwlz_e2_enc *E, const gwlz_e2_window *w, size_t r0, size_t r1) {
  const e2_state *s = &E->s;
  if (!s->store || E->trained) return GWLZ_ERR_PARAM;
  size_t ta = r0 * s->nseg, tb = r1 * s->nseg;
  ta = ta > E->tlo ? ta : E->tlo;
  tb = tb < E->thi ? tb : E->thi;
  if (ta >= tb) return GWLZ_OK;
  const size_t k0 = e2_store_first(&E->st, ta), k1 = e2_store_first(&E->st, tb);
  gwlz_error err = GWLZ_OK;
  const int threads = s->p->threads >= 1 ? s->p->threads : 1;
  (void)threads;
#pragma omp parallel for schedule(dynamic, 16) num_threads(k1 - k0 > 64 ? threads : 1)
  for (long k = (long)k0; k < (long)k1; k++) {
    gwlz_error e = E->st.e[k].filled ? GWLZ_OK : e2_store_fill(s, &E->st.e[k], w);
    if (e != GWLZ_OK) {
#pragma omp critical(gwlz_e2_sample)
      err = err == GWLZ_OK ? e : err;
    }
  }
  if (err == GWLZ_OK && s->p->err_scale > 0) err = e2_base_error(E, w, ta, tb);
  return err;
}

void gwlz_e2_enc_part(gwlz_e2_enc *E, int part, int parts, size_t *r0, size_t *r1) {
  const size_t ca = E->nch * (size_t)part / (size_t)parts;
  const size_t cb = E->nch * (size_t)(part + 1) / (size_t)parts;
  E->tlo = ca * E2_INFER_CHUNK < E->s.ntask ? ca * E2_INFER_CHUNK : E->s.ntask;
  E->thi = cb * E2_INFER_CHUNK < E->s.ntask ? cb * E2_INFER_CHUNK : E->s.ntask;
  *r0 = E->tlo / E->s.nseg;
  *r1 = E->thi > E->tlo ? (E->thi - 1) / E->s.nseg + 1 : *r0;
}

void gwlz_e2_enc_base_error(const gwlz_e2_enc *E, double *sse, double *maxerr, size_t *count) {
  *sse = *maxerr = 0.0;
  *count = 0;
  for (size_t c = 0; c < E->nch; c++) {
    *sse += E->co[c].bsse;
    if (E->co[c].bmax > *maxerr) *maxerr = E->co[c].bmax;
    *count += E->co[c].bcnt;
  }
}

/* ---- exchange between processes ----------------------------------------------------------- */
static void e2_put_u64(gwlz_wbuf *o, uint64_t v) { gwlz_wbuf_u64(o, v); }

gwlz_error gwlz_e2_enc_export(const gwlz_e2_enc *E, int what, gwlz_wbuf *out) {
  const e2_state *s = &E->s;
  const size_t ts = gwlz_type_size(s->g.type);
  if (what == GWLZ_E2_SAMPLES) {
    const size_t k0 = e2_store_first(&E->st, E->tlo), k1 = e2_store_first(&E->st, E->thi);
    for (size_t k = k0; k < k1; k++) {
      const e2_sent *en = &E->st.e[k];
      if (!en->filled) return GWLZ_ERR_PARAM;
      e2_put_u64(out, en->t);
      e2_put_u64(out, en->g.nz);
      e2_put_u64(out, en->g.ny);
      e2_put_u64(out, en->g.nx);
      e2_put_u64(out, en->r);
      e2_put_u64(out, en->x0);
      e2_put_u64(out, en->len);
      e2_put_u64(out, en->pos);
      e2_put_u64(out, en->cells);
      gwlz_wbuf_put(out, en->data, en->cells * ts + en->len * (ts + 2));
    }
  } else {
    const size_t c0 = E->tlo / E2_INFER_CHUNK;
    const size_t c1 = E->thi > E->tlo ? (E->thi - 1) / E2_INFER_CHUNK + 1 : c0;
    for (size_t c = c0; c < c1; c++) {
      const e2_chunkout *co = &E->co[c];
      if (co->fail) return GWLZ_ERR_MEMORY;
      e2_put_u64(out, c);
      const double d[6] = {co->sse0, co->sse1, co->osse, co->omax, co->bsse, co->bmax};
      for (int i = 0; i < 6; i++) gwlz_wbuf_f64(out, d[i]);
      e2_put_u64(out, co->ocnt);
      e2_put_u64(out, co->bcnt);
      e2_put_u64(out, co->cnt);
      for (size_t i = 0; i < co->cnt; i++) e2_put_u64(out, co->pos[i]);
    }
  }
  return out->err;
}

gwlz_error gwlz_e2_enc_import(gwlz_e2_enc *E, int what, const uint8_t *p, size_t size) {
  e2_state *s = &E->s;
  const size_t ts = gwlz_type_size(s->g.type);
  gwlz_rbuf r;
  gwlz_rbuf_init(&r, p, size);
  while (gwlz_rbuf_left(&r) > 0) {
    uint64_t v[9];
    if (what == GWLZ_E2_SAMPLES) {
      for (int i = 0; i < 9; i++)
        if (gwlz_rbuf_u64(&r, &v[i]) != GWLZ_OK) return GWLZ_ERR_CORRUPT;
      const size_t k = e2_store_first(&E->st, (size_t)v[0]);
      if (k >= E->st.cnt || E->st.e[k].t != v[0] || v[1] < 1 || v[1] > 2 * E2_HALO + 1 ||
          v[2] < 1 || v[2] > 2 * E2_HALO + 1 || v[3] < 1 || v[3] > E2_SEG + 2 * E2_HALO ||
          v[4] >= v[1] * v[2] || v[6] < 1 || v[6] > E2_SEG || v[5] + v[6] > v[3] ||
          v[8] != (v[1] + v[2] - 1) * v[3])
        return GWLZ_ERR_CORRUPT;
      e2_sent *en = &E->st.e[k];
      const size_t bytes = (size_t)v[8] * ts + (size_t)v[6] * (ts + 2);
      if (gwlz_rbuf_left(&r) < bytes) return GWLZ_ERR_CORRUPT;
      free(en->data);
      en->data = (uint8_t *)malloc(bytes);
      if (!en->data) return GWLZ_ERR_MEMORY;
      memcpy(en->data, p + r.pos, bytes);
      r.pos += bytes;
      memset(&en->g, 0, sizeof en->g);
      en->g.type = s->g.type;
      en->g.eb = s->g.eb;
      en->g.k = en->g.nd = s->g.k;
      en->g.nz = (size_t)v[1];
      en->g.ny = (size_t)v[2];
      en->g.nx = (size_t)v[3];
      const size_t ext[3] = {en->g.nz, en->g.ny, en->g.nx};
      for (int a = 0; a < en->g.nd; a++) en->g.N[a] = ext[3 - en->g.nd + a];
      en->g.nrows = en->g.nz * en->g.ny;
      en->g.n = en->g.nrows * en->g.nx;
      en->r = (size_t)v[4];
      en->x0 = (size_t)v[5];
      en->len = (size_t)v[6];
      en->pos = (size_t)v[7];
      en->cells = (size_t)v[8];
      e2_sent_rows(en, ts);
      en->filled = 1;
    } else {
      double d[6];
      if (gwlz_rbuf_u64(&r, &v[0]) != GWLZ_OK || v[0] >= E->nch) return GWLZ_ERR_CORRUPT;
      for (int i = 0; i < 6; i++)
        if (gwlz_rbuf_f64(&r, &d[i]) != GWLZ_OK) return GWLZ_ERR_CORRUPT;
      for (int i = 1; i < 4; i++)
        if (gwlz_rbuf_u64(&r, &v[i]) != GWLZ_OK) return GWLZ_ERR_CORRUPT;
      e2_chunkout *co = &E->co[v[0]];
      if (v[3] > gwlz_rbuf_left(&r) / 8) return GWLZ_ERR_CORRUPT;
      free(co->pos);
      memset(co, 0, sizeof *co);
      co->sse0 = d[0];
      co->sse1 = d[1];
      co->osse = d[2];
      co->omax = d[3];
      co->bsse = d[4];
      co->bmax = d[5];
      co->ocnt = (size_t)v[1];
      co->bcnt = (size_t)v[2];
      co->cnt = co->cap = (size_t)v[3];
      if (co->cnt && !(co->pos = (size_t *)malloc(co->cnt * sizeof(size_t)))) return GWLZ_ERR_MEMORY;
      for (size_t i = 0; i < co->cnt; i++) {
        uint64_t q;
        if (gwlz_rbuf_u64(&r, &q) != GWLZ_OK) return GWLZ_ERR_CORRUPT;
        co->pos[i] = (size_t)q;
      }
    }
  }
  return GWLZ_OK;
}

gwlz_error gwlz_e2_enc_train(gwlz_e2_enc *E, int *active) {
  e2_state *s = &E->s;
  *active = 0;
  if (E->trained) return GWLZ_ERR_PARAM;
  E->trained = 1;
  for (size_t k = 0; s->store && k < E->st.cnt; k++)
    if (!E->st.e[k].filled) return GWLZ_ERR_PARAM; /* rows never sampled */
  e2_choice ch;
  double *ne = NULL;
  gwlz_error e = e2_plan_bins(s);
  /* a value range beyond float's cannot be stored (ENHM keeps it as float):
   * no model */
  if (e == GWLZ_OK && !(isfinite(s->lo) && isfinite(s->hi))) {
    e2_progress(s, 0.5);
    return GWLZ_OK;
  }
  if (e == GWLZ_OK) e = e2_pick_clamp(s, E->M);
  if (e == GWLZ_OK) e = e2_train(s, s->rate, s->clamp_code, &ne);
  if (e == GWLZ_OK) e2_totals(s, ne, s->rate);
  e2_progress(s, 0.3);
  if (e == GWLZ_OK) e = e2_select(s, ne, 0xFFFF, &ch);
  if (e == GWLZ_OK) e2_build_model(s, ne, &ch, E->M);
  free(ne);
  E->stats.train_seconds = gwlz_now() - E->t0;
  E->stats.epochs_run = 1;
  if (e == GWLZ_OK && E->M->mmax > 0) e = e2_calibrate(s, E->M, s->rate, NULL);
  e2_progress(s, 0.5);
  E->active = e == GWLZ_OK && E->M->mmax > 0;
  *active = E->active;
  return e;
}

gwlz_error gwlz_e2_enc_infer(gwlz_e2_enc *E, const gwlz_e2_window *w, size_t r0, size_t r1,
                             void *y) {
  if (!E->trained || !E->active) return GWLZ_ERR_PARAM;
  if (r0 < w->row0 || r1 > w->row0 + w->g->nrows || r0 < w->xrow0) return GWLZ_ERR_PARAM;
  return e2_infer_rows(&E->s, E->M, E->co, w, r0, r1, E->tlo, E->thi, y);
}

gwlz_error gwlz_e2_enc_finish(gwlz_e2_enc *E, void *y, gwlz_wbuf *models, gwlz_wbuf *exceptions,
                              gwlz_enh_stats *st) {
  e2_state *s = &E->s;
  size_t *exc = NULL, nexc = 0;
  double sse0 = 0.0, sse1 = 0.0;
  gwlz_error e = GWLZ_OK;
  *st = E->stats;
  if (E->active) e = e2_infer_sum(s, E->co, E->nch, &exc, &nexc, &sse0, &sse1, st);
  if (e == GWLZ_OK && E->active && sse1 < sse0) {
    int K = 0;
    for (int grp = 0; grp < E->M->ngroups; grp++) K += E->M->kept[grp];
    gwlz_e2_write_models(E->M, &s->g, models);
    if (nexc) e = gwlz_e2_write_exceptions(exc, nexc, exceptions);
    st->kind = GWLZ_ENH_LINEAR;
    st->groups_kept = K;
    st->exceptions = nexc;
  } else if (e == GWLZ_OK && y) {
    memcpy(y, s->xr, s->p->n * gwlz_type_size(s->p->type));
  }
  free(exc);
  st->enhance_seconds = gwlz_now() - E->t0 - st->train_seconds;
  e2_progress(s, 1.0);
  return e;
}

gwlz_error gwlz_e2_compress(const gwlz_enh_params *p, const void *x, const void *xr, void *y,
                            gwlz_wbuf *models, gwlz_wbuf *exceptions, gwlz_enh_stats *st) {
  gwlz_e2_enc *E = NULL;
  int active = 0;
  gwlz_error e = gwlz_e2_enc_open(p, x, xr, &E);
  if (e == GWLZ_OK) e = gwlz_e2_enc_train(E, &active);
  if (e == GWLZ_OK && active) {
    gwlz_e2_window w;
    e2_whole_window(&E->s, &w);
    e = gwlz_e2_enc_infer(E, &w, 0, E->s.g.nrows, y);
  }
  if (e == GWLZ_OK) e = gwlz_e2_enc_finish(E, y, models, exceptions, st);
  gwlz_e2_enc_close(E);
  return e;
}
