/* cnn.c - the per-group tiny CNN enhancer kind (see model.h).
 *
 * Two architectures; both predict r_hat = (X - X')/eb for the cells of one
 * value group and are evaluated only around that group's cells, so all
 * groups together cost about one pass over the data.
 *
 * GWLZ_ARCH_PAPER2D (the GWLZ paper, Fig. 3): on 2-D slices along the last two
 * dims, input u = (x' - lo) * (1/(hi - lo)) clamped to [0, 1] (0 when hi - lo
 * is not > 0 or not finite) for cells of the group and the
 * placeholder 0 for every other cell (and outside the slice), then
 *   conv 3x3 1->9, batch norm, ReLU, conv 3x3 9->1   (zero padding).
 * Trained on 5x5 patches around sampled group cells (the receptive field),
 * hidden positions outside the slice are the conv's zero padding. Batch norm
 * uses batch statistics in training and is folded into the first conv for
 * inference with the statistics of the final model over the whole sample.
 *   Stored params (172 floats): w1[9 taps][9], b1[9], w2[9 taps][9], b2.
 *
 * GWLZ_ARCH_DEFAULT (best measured): one hidden layer over a neighbourhood
 * stencil of X' plus a linear skip filter over the same inputs,
 *   r = b2 + sum_c w2[c] relu(b1[c] + sum_t w1[t][c] f_t) + bl + sum_t wl[t] f_t
 * i.e. a conv 1->C with the stencil as kernel, ReLU, a 1x1 conv C->1, and a
 * linear conv skip path. Stencil (D = min(ndims,3), the last D dims): the 3^D
 * cube plus the 2D axial taps at distance 3 (the outer taps of the base's
 * cubic interpolation): K = 33 taps in 3-D, 13 in 2-D, 5 in 1-D.
 * Inputs f (NF = K + 2D; 39 in 3-D), the real neighbourhood instead of the
 * paper's placeholder image:
 *   tap t != centre: clip((x'_t - x'_c)/eb, -4, 4)   (difference to the centre
 *                    in bounds; a tap outside the array repeats the centre),
 *                    exactly: u = (x'_t - x'_c) * ieb in the data's type (float
 *                    data: ieb = (float)(1/eb), saturated at FLT_MAX; double
 *                    data: 1/eb and the result rounded to float), then
 *                    u = u < -4 ? -4 : u; f = u > 4 ? 4 : u
 *   centre tap:      2 (x'_c - lo) * (1/(hi - lo)) - 1 clipped to [-1, 1]
 *                    (the factor is 0 when hi - lo is not > 0 or not finite)
 *   per dim q:       h_q = clamp(((x'_c - cub_q) * (1/eb)) * 0.5, -1, 1)
 *                    (a NaN becomes 0), cub_q the cubic interpolation
 *                    (-x_-3 + 9 x_-1 + 9 x_+1 - x_+3)/16 along q (in double)
 *   per dim q:       1 if q is the first dim with |h_q| <= 1e-4 (the base
 *                    reproduced X' by interpolating along q), else 0.
 * Training: features standardised over the sample (the affine map is folded
 * into w1/b1 and wl/bl afterwards), skip filter = least-squares fit (double
 * normal equations), hidden layer from a seeded init, Adam on minibatches;
 * the trained model is kept only if it beats the least-squares filter alone
 * on the sample, so the CNN starts at, and never falls below, the linear
 * least-squares filter on its own features.
 *   Stored params (C = DEF_CH = 4; 205 floats in 3-D, 95 in 2-D, 45 in 1-D):
 *     w1[NF][C], b1[C], w2[C], b2, wl[NF], bl
 *   Order of the taps (= order of w1 rows / wl): the 3^D cube row-major over
 *   the used dims (offsets -1, 0, +1, last dim fastest; centre KC = 3^D/2),
 *   then for q = 0..D-1 the axial taps at -3 and +3 along q; then the D
 *   interpolation features h_q, then the D indicators. w1 is [NF][C] (feature
 *   major). nparams = NF*C + C + C + 1 + NF + 1.
 *   Per cell: r = clamp(b2 + sum_c w2[c] relu(h_c) + l, -1, 1) where
 *   h_c = b1[c] + f_0 w1[0][c] + f_1 w1[1][c] + ... (t ascending) and
 *   l = bl + wl[0] f_0 + wl[1] f_1 + ... (t ascending), relu(h) = h > 0 ? h : 0,
 *   each sum accumulated in float left to right, the final r + l in float.
 * Per cell: K loads, NF*C + C + NF MACs (3-D: 199) plus the features.
 * (Stream history: the tap feature was (|u+4| - |u-4|)/2 before; the min/max
 * form is exact for small u and costs 2 instead of 5 vector operations.)
 *
 * Inference is bit-exact: features are computed in the data's type with
 * plain IEEE operations (the clip as comparisons and selections, which is
 * exactly what SSE/AVX max/min compute), every sum runs in a fixed order,
 * each output cell is computed independently of the thread and of the chunk
 * that computes it, and no libm function is used (sqrt only in training).
 * The default arch runs on chunks of CW cells (4 with SSE, 8 with AVX) with
 * all operations across the lanes (GCC vector extensions; a plain-loop
 * kernel otherwise): consecutive cells of a row load their taps directly,
 * scattered cells are gathered; see def_predict_range. tests/test_cnn.c
 * compares predict with a plain scalar reference of both archs. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "enhance/model.h"
#include "enhance/nn.h"

/* ---- architecture constants ---------------------------------------------
 * The DEF_* shape constants (channels, clip, stencil, features) define the
 * parameter layout and the inference of arch 0, i.e. the stream format:
 * they are overridable with -D only for experiments (bench/cnn_dev.c). */
#ifndef DEF_CH
#define DEF_CH 4             /* hidden channels of the default arch          */
#endif
#ifndef DEF_CLIP
#define DEF_CLIP 4.0         /* clip of neighbour differences, in bounds     */
#endif
#ifndef DEF_REACH
#define DEF_REACH 2          /* 2: axial taps at distance DEF_AXD; 3: at 2 and 3 */
#endif
#ifndef DEF_AXD
#define DEF_AXD 3            /* distance of the axial taps (cubic stencil)  */
#endif
#define MAXK 39              /* 3^3 + 12                                     */
#ifndef DEF_STD
#define DEF_STD 1            /* standardise features in training (folded)   */
#endif
#ifndef DEF_TFLOOR
#define DEF_TFLOOR 1e-2      /* floor of the tap features' training scale    */
#endif
#ifndef DEF_CFLOOR
#define DEF_CFLOOR 1e-2      /* floor of the centre feature's training scale */
#endif
#ifndef DEF_INTERP
#define DEF_INTERP 1         /* cubic-interpolation features (needs AXD 3)   */
#endif
#define MAXF (MAXK + 6)      /* features: taps + 2 per used dim              */

#define P2_CH 9              /* paper: 9 channels                            */
#define P2_NPARAMS (9 * P2_CH + P2_CH + 9 * P2_CH + 1)
#define P2_BN_EPS 1e-5f

/* Training defaults (chosen from measurements on the 256^3 Nyx-like fields). */
#ifndef DEF_EPOCHS
#define DEF_EPOCHS 8
#endif
#ifndef P2_EPOCHS
#define P2_EPOCHS 8
#endif
#ifndef SAMPLE_TOTAL
#define SAMPLE_TOTAL (1u << 19)  /* cells sampled over all groups            */
#endif
#ifndef P2_SAMPLE_TOTAL
#define P2_SAMPLE_TOTAL (1u << 17) /* paper arch: ~10x the work per cell       */
#endif
#ifndef SAMPLE_MIN
#define SAMPLE_MIN 4096          /* per group (all cells when fewer)         */
#endif
#ifndef BATCH
#define BATCH 128
#endif
#ifndef DEF_LR
#define DEF_LR 2e-3f
#endif

/* ---- geometry ------------------------------------------------------------ */
typedef struct {
  int D;                /* spatial dims used (last D dims of the array)  */
  size_t ext[3];        /* their extents, slowest first                  */
  size_t str[3];        /* their strides                                 */
  int K;                /* taps: 3^D (+ 2D axial taps at distance 3)     */
  int KC;               /* index of the centre tap                      */
  int NF;               /* default-arch features: K taps (+ 2D interp)   */
  int ax[3][4];         /* taps at -3,-1,+1,+3 along each dim (interp)   */
} geom;

static void geom_init(const gwlz_enh_data *d, int want, geom *gm) {
  int D = d->ndims < want ? d->ndims : want;
  if (D < 1) D = 1;
  gm->D = D;
  gm->K = 1;
  for (int j = 0; j < D; j++) {
    gm->ext[j] = d->dims[d->ndims - D + j];
    gm->str[j] = d->strides[d->ndims - D + j];
    gm->K *= 3;
  }
  gm->KC = gm->K / 2;
  if (DEF_REACH > 1 && want == 3) gm->K += 2 * D * (DEF_REACH > 2 ? 2 : 1);
  gm->NF = gm->K;
  if (DEF_INTERP && DEF_REACH == 2 && DEF_AXD == 3 && want == 3) {
    int cube = 2 * gm->KC + 1, p3 = 1;
    for (int q = D - 1; q >= 0; q--, p3 *= 3) {
      gm->ax[q][0] = cube + 2 * q;
      gm->ax[q][1] = gm->KC - p3;
      gm->ax[q][2] = gm->KC + p3;
      gm->ax[q][3] = cube + 2 * q + 1;
    }
    gm->NF = gm->K + 2 * D;
  }
}

/* Coordinates of cell i along the D used dims. */
static inline void cell_coords(const geom *gm, size_t i, size_t *c) {
  for (int j = gm->D - 1; j >= 0; j--) {
    size_t q = i / gm->ext[j];
    c[j] = i - q * gm->ext[j];
    i = q;
  }
}

static inline double load_val(const gwlz_enh_data *d, size_t i) {
  return d->type == GWLZ_TYPE_DOUBLE ? ((const double *)d->xr)[i] : (double)((const float *)d->xr)[i];
}

static inline size_t group_size(const gwlz_enh_data *d, int g) {
  return d->group_start[g + 1] - d->group_start[g];
}

/* ======================================================================== *
 *  Default arch: features and inference                                    *
 * ======================================================================== */
typedef struct {
  double inv_eb, lo, inv_range;
  float inv_eb_f;
} feat_ctx;

static void feat_ctx_init(const gwlz_enh_data *d, int g, feat_ctx *fc) {
  fc->inv_eb = 1.0 / d->eb;
  fc->inv_eb_f = fc->inv_eb < (double)FLT_MAX ? (float)fc->inv_eb : FLT_MAX;
  fc->lo = d->lo[g];
  double r = d->hi[g] - d->lo[g];
  fc->inv_range = r > 0.0 && isfinite(r) ? 1.0 / r : 0.0;
}

/* Neighbour feature: clip((v - xc)/eb, -T, T) in the data's own type, the
 * clip written as u < -T ? -T : u, then u > T ? T : u (exactly SSE's
 * maxps(-T, u) and minps(T, u); plain IEEE operations, so the value is the
 * same in every build). Inputs are finite. */
static inline float def_feat_float(float v, float xc, float inv_eb_f, double inv_eb) {
  (void)inv_eb;
  float u = (v - xc) * inv_eb_f;
  const float T = (float)DEF_CLIP;
  u = u < -T ? -T : u;
  return u > T ? T : u;
}
static inline float def_feat_double(double v, double xc, float inv_eb_f, double inv_eb) {
  (void)inv_eb_f;
  double u = (v - xc) * inv_eb;
  const double T = DEF_CLIP;
  u = u < -T ? -T : u;
  return (float)(u > T ? T : u);
}
#define DEF_FEAT(T, v, xc) def_feat_##T((v), (xc), ieb_f, ieb_d)

/* Centre feature: the group-normalised value in [-1, 1]. */
static inline float def_centre(const feat_ctx *fc, double xc) {
  double v = 2.0 * ((xc - fc->lo) * fc->inv_range) - 1.0;
  if (!(v >= -1.0)) v = -1.0;
  if (v > 1.0) v = 1.0;
  return (float)v;
}

/* Offsets of the 3^D taps (row-major over the D dims, fastest last) as
 * element deltas and as per-dim steps. */
static void def_offsets(const geom *gm, ptrdiff_t *offs, int (*toff)[3]) {
  const int D = gm->D, cube = 2 * gm->KC + 1;
  for (int t = 0; t < cube; t++) {
    int r = t;
    ptrdiff_t o = 0;
    for (int q = D - 1; q >= 0; q--) {
      int st = r % 3 - 1;
      r /= 3;
      toff[t][q] = st;
      o += (ptrdiff_t)st * (ptrdiff_t)gm->str[q];
    }
    for (int q = D; q < 3; q++) toff[t][q] = 0;
    offs[t] = o;
  }
  for (int t = cube; t < gm->K; t++) { /* axial taps at distance DEF_AXD (3) */
    /* DEF_REACH 2: distance DEF_AXD; 3: distances 2 and 3 */
    int e = t - cube, dist = DEF_REACH > 2 ? 2 + e / (2 * D) : DEF_AXD;
    e %= 2 * D;
    int q = e / 2, st = (e & 1) ? dist : -dist;
    toff[t][0] = toff[t][1] = toff[t][2] = 0;
    toff[t][q] = st;
    offs[t] = (ptrdiff_t)st * (ptrdiff_t)gm->str[q];
  }
}

/* Tap t of a cell at coordinates c lies inside the array. */
static inline int tap_inside(const geom *gm, const int *to, const size_t *c) {
  for (int q = 0; q < gm->D; q++) {
    if (to[q] < 0 && c[q] < (size_t)(-to[q])) return 0;
    if (to[q] > 0 && c[q] + (size_t)to[q] >= gm->ext[q]) return 0;
  }
  return 1;
}

/* Interpolation features of a cell with value v from its axial taps
 * (double): for each used dim q, h_q = clamp((v - cub_q)/(2 eb), -1, 1) with
 * the cubic interpolation cub_q = (-x_-3 + 9 x_-1 + 9 x_+1 - x_+3)/16 along q
 * (how far X' is from what the base's cubic predictor would give), then the
 * indicator of the first dim along which cub_q reproduces X' (|h_q| <= 1e-4:
 * the base most likely predicted the cell along q with quantization code 0). */
static inline double def_interp_h(double xa, double xb, double xc, double xd, double v,
                                   double inv_eb) {
  double cub = (-xa + 9.0 * xb + 9.0 * xc - xd) * 0.0625;
  double h = (v - cub) * inv_eb * 0.5;
  h = h == h ? h : 0.0;
  h = h < -1.0 ? -1.0 : h;
  return h > 1.0 ? 1.0 : h;
}
static inline void def_interp_feats(const geom *gm, const double *val, double v, double inv_eb,
                                    float *out) {
  const int D = gm->D;
  int hit = -1;
  for (int q = 0; q < D; q++) {
    const int *a = gm->ax[q];
    double h = def_interp_h(val[a[0]], val[a[1]], val[a[2]], val[a[3]], v, inv_eb);
    out[q] = (float)h;
    if (hit < 0 && fabs(h) <= 1e-4) hit = q;
  }
  for (int q = 0; q < D; q++) out[D + q] = q == hit ? 1.0f : 0.0f;
}

/* f[NF]: features of cell i (taps row-major, centre KC, then the axial
 * taps, then the interpolation features). A neighbour outside the array
 * repeats the centre value. Same values as the block path of
 * def_predict_range. */
static void def_features(const gwlz_enh_data *d, const geom *gm, const feat_ctx *fc, size_t i,
                         float *f) {
  ptrdiff_t offs[MAXK];
  int toff[MAXK][3];
  double val[MAXK];
  def_offsets(gm, offs, toff);
  size_t c[3] = {0, 0, 0};
  cell_coords(gm, i, c);
  const float ieb_f = fc->inv_eb_f;
  const double ieb_d = fc->inv_eb;
  for (int t = 0; t < gm->K; t++) {
    int ok = tap_inside(gm, toff[t], c);
    size_t j = ok ? (size_t)((ptrdiff_t)i + offs[t]) : i;
    if (d->type == GWLZ_TYPE_DOUBLE) {
      const double *xv = (const double *)d->xr;
      f[t] = DEF_FEAT(double, xv[j], xv[i]);
      val[t] = xv[j];
    } else {
      const float *xv = (const float *)d->xr;
      f[t] = DEF_FEAT(float, xv[j], xv[i]);
      val[t] = (double)xv[j];
    }
  }
  f[gm->KC] = def_centre(fc, load_val(d, i));
  if (gm->NF > gm->K) def_interp_feats(gm, val, load_val(d, i), fc->inv_eb, f + gm->K);
}

/* |X - X'| <= eb, so a predicted residual is clamped to [-1, 1] (exact). */
static inline float clamp1(float r) { return r > 1.0f ? 1.0f : (r < -1.0f ? -1.0f : r); }

static size_t def_nparams(int K) { return (size_t)K * DEF_CH + DEF_CH + DEF_CH + 1 + K + 1; }

/* r = b2 + sum_c w2[c] relu(b1[c] + sum_t w1[t][c] f[t]) + bl + sum_t wl[t] f[t] */
static inline float def_eval(int K, const float *p, const float *f) {
  const float *w1 = p, *b1 = w1 + K * DEF_CH, *w2 = b1 + DEF_CH, *b2 = w2 + DEF_CH;
  const float *wl = b2 + 1, *bl = wl + K;
  float h[DEF_CH];
  for (int c = 0; c < DEF_CH; c++) h[c] = b1[c];
  for (int t = 0; t < K; t++) {
    const float ft = f[t];
    const float *w = w1 + t * DEF_CH;
    for (int c = 0; c < DEF_CH; c++) h[c] += ft * w[c];
  }
  float r = b2[0];
  for (int c = 0; c < DEF_CH; c++) r += w2[c] * (h[c] > 0.0f ? h[c] : 0.0f);
  float l = bl[0];
  for (int t = 0; t < K; t++) l += wl[t] * f[t];
  return clamp1(r + l);
}

/* Inference of the default arch over the cells group_idx[a..b) (ascending).
 *
 * The cells are evaluated in chunks of CW lanes by one kernel whose loops all
 * run across the lanes, the per-lane operations being exactly those of
 * def_features + def_eval in the same order (the accumulators of the hidden
 * units and of the skip filter each sum over the features t = 0..NF-1 in
 * order), so a cell's value does not depend on the chunk, the lane, the
 * vector width or the thread. The kernel reads tap t of lane j at p[t][j]:
 *  - contiguous chunk: CW consecutive cells of one row from i0, all taps
 *    inside the array, p[t] = x' + i0 + off_t (plain vector loads, no gather);
 *    used when at least CONT_MIN of the CW cells belong to the range, the
 *    others are computed and dropped (out is written only for cells of the
 *    range);
 *  - gathered chunk of interior cells (float data with vector extensions):
 *    up to CW arbitrary cells, lane j of tap t loaded from base_j + off_t
 *    (def_chunk_vb); unused lanes repeat lane 0;
 *  - gathered chunk otherwise (cells near the border, double data): up to CW
 *    cells copied into V[t][j] (a tap outside the array repeats the centre).
 * A group's cells are scattered over the whole array (quantile groups of a
 * noisy field: runs of 1-3 cells along a row), so the taps' rows of the cell
 * PFK places ahead are prefetched. Measured on the 256^3 fields (G = 20):
 * ~35% of the cells in contiguous chunks for temperature, ~65% for
 * dark_matter_density. */
#ifndef CW
#if defined(__AVX__)
#define CW 8 /* lanes of a chunk: one AVX vector of floats */
#else
#define CW 4 /* one SSE / NEON vector of floats */
#endif
#endif
#ifndef CONT_MIN
#define CONT_MIN (CW / 2 + 1)
#endif

#define DEF_WBR ((DEF_CH + 8) / 8 * 8) /* rows of wb per feature: keeps 32-byte alignment */
#if defined(__GNUC__)
#define DEF_ALIGN __attribute__((aligned(64)))
#else
#define DEF_ALIGN
#endif
typedef struct {
  const float *w1, *b1, *w2, *b2, *wl, *bl;
  int K, KC, NF, D;
  int ax[3][4];
  feat_ctx fc;
  /* wb[t][c][j] = w1[t][c] (c < C), wb[t][C][j] = wl[t]: the weights
   * replicated over the CW lanes (vector operands) */
  DEF_ALIGN float wb[MAXF][DEF_WBR][CW];
  ptrdiff_t offs[MAXK]; /* element offsets of the taps */
} def_net;

#define DEF_ACC(t)                                                                          \
  do {                                                                                      \
    for (int c = 0; c < DEF_CH; c++) {                                                      \
      const float w = n->w1[(t) * DEF_CH + c];                                              \
      for (int j = 0; j < CW; j++) acc[c][j] += f[j] * w;                                   \
    }                                                                                       \
    const float wt = n->wl[t];                                                              \
    for (int j = 0; j < CW; j++) lin[j] += wt * f[j];                                       \
  } while (0)

#define DEF_CHUNK(T)                                                                        \
  static void def_chunk_##T(const def_net *n, const T *const *p, float *res) {              \
    const int K = n->K, KC = n->KC, NF = n->NF, D = n->D;                                   \
    const float ieb_f = n->fc.inv_eb_f;                                                     \
    const double ieb_d = n->fc.inv_eb;                                                      \
    float acc[DEF_CH][CW], lin[CW], f[CW];                                                  \
    T xc[CW];                                                                               \
    for (int j = 0; j < CW; j++) xc[j] = p[KC][j];                                          \
    for (int c = 0; c < DEF_CH; c++)                                                        \
      for (int j = 0; j < CW; j++) acc[c][j] = n->b1[c];                                    \
    for (int j = 0; j < CW; j++) lin[j] = n->bl[0];                                         \
    for (int t = 0; t < K; t++) {                                                           \
      if (t == KC) {                                                                        \
        for (int j = 0; j < CW; j++) f[j] = def_centre(&n->fc, (double)xc[j]);              \
      } else {                                                                              \
        const T *pt = p[t];                                                                 \
        for (int j = 0; j < CW; j++) f[j] = DEF_FEAT(T, pt[j], xc[j]);                      \
      }                                                                                     \
      DEF_ACC(t);                                                                           \
    }                                                                                       \
    if (NF > K) {                                                                           \
      int hit[CW];                                                                          \
      for (int j = 0; j < CW; j++) hit[j] = -1;                                             \
      for (int q = 0; q < D; q++) {                                                         \
        const T *va = p[n->ax[q][0]], *vb = p[n->ax[q][1]];                                 \
        const T *vc = p[n->ax[q][2]], *vd = p[n->ax[q][3]];                                 \
        for (int j = 0; j < CW; j++) {                                                      \
          double h = def_interp_h((double)va[j], (double)vb[j], (double)vc[j],              \
                                  (double)vd[j], (double)xc[j], ieb_d);                     \
          f[j] = (float)h;                                                                  \
          hit[j] = (hit[j] < 0 && fabs(h) <= 1e-4) ? q : hit[j];                            \
        }                                                                                   \
        DEF_ACC(K + q);                                                                     \
      }                                                                                     \
      for (int q = 0; q < D; q++) {                                                         \
        for (int j = 0; j < CW; j++) f[j] = hit[j] == q ? 1.0f : 0.0f;                      \
        DEF_ACC(K + D + q);                                                                 \
      }                                                                                     \
    }                                                                                       \
    (void)ieb_f;                                                                            \
    float r[CW];                                                                            \
    for (int j = 0; j < CW; j++) r[j] = n->b2[0];                                           \
    for (int c = 0; c < DEF_CH; c++) {                                                      \
      const float w = n->w2[c];                                                             \
      for (int j = 0; j < CW; j++) r[j] += w * (acc[c][j] > 0.0f ? acc[c][j] : 0.0f);       \
    }                                                                                       \
    for (int j = 0; j < CW; j++) res[j] = clamp1(r[j] + lin[j]);                            \
  }
#if !defined(__GNUC__) || defined(DEF_NO_VEXT)
DEF_CHUNK(float)
#endif
DEF_CHUNK(double)

#if defined(__GNUC__) && !defined(DEF_NO_VEXT)
/* The float kernel written with GCC vector extensions (CW lanes; element-wise
 * IEEE operations only, so each lane computes exactly what def_chunk_float's
 * scalar loops compute; the selections are bit masks). */
typedef float vf8 __attribute__((vector_size(CW * 4)));
typedef int32_t vi8 __attribute__((vector_size(CW * 4)));
typedef double vd8 __attribute__((vector_size(CW * 8)));
typedef int64_t vl8 __attribute__((vector_size(CW * 8)));
/* (macros rather than functions: vector arguments would change the ABI) */
#define VF8_LOAD(dst, ptr) memcpy(&(dst), (ptr), sizeof(vf8))
#define VF8_ABS(x) ((vf8)((vi8)(x) & 0x7fffffff))
#define VF8_SEL(m, a, b) ((vf8)(((m) & (vi8)(a)) | (~(m) & (vi8)(b))))
#define VD8_SEL(m, a, b) ((vd8)(((m) & (vl8)(a)) | (~(m) & (vl8)(b))))
#define VD8_ABS(x) ((vd8)((vl8)(x) & 0x7fffffffffffffffll))

#if defined(__AVX__) && CW == 8
#include <immintrin.h>
#define VF8_MAX(a, b) ((vf8)_mm256_max_ps((__m256)(a), (__m256)(b))) /* a > b ? a : b */
#define VF8_MIN(a, b) ((vf8)_mm256_min_ps((__m256)(a), (__m256)(b))) /* a < b ? a : b */
#elif defined(__SSE__) && CW == 4
#include <immintrin.h>
#define VF8_MAX(a, b) ((vf8)_mm_max_ps((__m128)(a), (__m128)(b)))
#define VF8_MIN(a, b) ((vf8)_mm_min_ps((__m128)(a), (__m128)(b)))
#else
#define VF8_MAX(a, b) VF8_SEL((a) > (b), (a), (b))
#define VF8_MIN(a, b) VF8_SEL((a) < (b), (a), (b))
#endif

/* Kernel body; LOADT(v, t) loads tap t of the CW lanes into v. */
#define DEF_VKERNEL(LOADT)                                                                  \
  const int K = n->K, KC = n->KC, NF = n->NF, D = n->D;                                     \
  const float ieb_f = n->fc.inv_eb_f;                                                       \
  const double ieb_d = n->fc.inv_eb;                                                        \
  const vf8 Tp = (vf8){0} + (float)DEF_CLIP, Tm = (vf8){0} - (float)DEF_CLIP;              \
  vf8 xc, f, lin, acc[DEF_CH];                                                              \
  LOADT(xc, KC);                                                                            \
  const vd8 xcd = __builtin_convertvector(xc, vd8);                                         \
  for (int c = 0; c < DEF_CH; c++) acc[c] = (vf8){0} + n->b1[c];                            \
  lin = (vf8){0} + n->bl[0];                                                                \
  for (int t = 0; t < K; t++) {                                                             \
    if (t == KC) {                                                                          \
      vd8 v = 2.0 * ((xcd - n->fc.lo) * n->fc.inv_range) - 1.0;                             \
      v = VD8_SEL(v >= -1.0, v, (vd8){0} - 1.0);                                            \
      v = VD8_SEL(v > 1.0, (vd8){0} + 1.0, v);                                              \
      f = __builtin_convertvector(v, vf8);                                                  \
    } else {                                                                                \
      vf8 v;                                                                                \
      LOADT(v, t);                                                                          \
      /* u < -T ? -T : u, then u > T ? T : u */                                             \
      f = VF8_MIN(Tp, VF8_MAX(Tm, (v - xc) * ieb_f));                                       \
    }                                                                                       \
    VACC(t);                                                                                \
  }                                                                                         \
  if (NF > K) {                                                                             \
    vl8 none = (vl8){0} - 1; /* lanes without a hit yet */                                  \
    vl8 hit[3];                                                                             \
    for (int q = 0; q < D; q++) {                                                           \
      vf8 fa, fb, fe, fd;                                                                   \
      LOADT(fa, n->ax[q][0]);                                                               \
      LOADT(fb, n->ax[q][1]);                                                               \
      LOADT(fe, n->ax[q][2]);                                                               \
      LOADT(fd, n->ax[q][3]);                                                               \
      const vd8 xa = __builtin_convertvector(fa, vd8), xb = __builtin_convertvector(fb, vd8); \
      const vd8 xe = __builtin_convertvector(fe, vd8), xd = __builtin_convertvector(fd, vd8); \
      const vd8 cub = (-xa + 9.0 * xb + 9.0 * xe - xd) * 0.0625;                            \
      vd8 h = (xcd - cub) * ieb_d * 0.5;                                                    \
      h = VD8_SEL(h == h, h, (vd8){0});                                                     \
      h = VD8_SEL(h < -1.0, (vd8){0} - 1.0, h);                                             \
      h = VD8_SEL(h > 1.0, (vd8){0} + 1.0, h);                                              \
      f = __builtin_convertvector(h, vf8);                                                  \
      hit[q] = none & (VD8_ABS(h) <= 1e-4);                                                 \
      none &= ~hit[q];                                                                      \
      VACC(K + q);                                                                          \
    }                                                                                       \
    for (int q = 0; q < D; q++) {                                                           \
      f = __builtin_convertvector(VD8_SEL(hit[q], (vd8){0} + 1.0, (vd8){0}), vf8);          \
      VACC(K + D + q);                                                                      \
    }                                                                                       \
  }                                                                                         \
  vf8 r = (vf8){0} + n->b2[0];                                                              \
  for (int c = 0; c < DEF_CH; c++) r += n->w2[c] * VF8_MAX(acc[c], (vf8){0});               \
  r += lin;                                                                                 \
  /* clamp1: r > 1 ? 1 : (r < -1 ? -1 : r) */                                               \
  r = VF8_SEL(r > 1.0f, (vf8){0} + 1.0f, VF8_SEL(r < -1.0f, (vf8){0} - 1.0f, r));           \
  memcpy(res, &r, sizeof r);                                                                \
  (void)ieb_f;

#define VACC(t)                                                                             \
  do {                                                                                      \
    const vf8 *w_ = (const vf8 *)n->wb[t];                                                  \
    for (int c = 0; c < DEF_CH; c++) acc[c] += f * w_[c];                                   \
    lin += w_[DEF_CH] * f;                                                                  \
  } while (0)
/* lane j of tap t at p[t][j] (contiguous cells or the gathered copy V) */
#define LOAD_P(v, t) VF8_LOAD(v, p[t])
static void def_chunk_vf(const def_net *n, const float *const *p, float *res) {
  DEF_VKERNEL(LOAD_P)
}
/* lane j of tap t at base[j][off_t] (interior cells anywhere) */
#if CW == 4
#define LOAD_B(v, t)                                                                        \
  do {                                                                                      \
    const ptrdiff_t o_ = n->offs[t];                                                        \
    (v) = (vf8){base[0][o_], base[1][o_], base[2][o_], base[3][o_]};                         \
  } while (0)
#elif CW == 8
#define LOAD_B(v, t)                                                                        \
  do {                                                                                      \
    const ptrdiff_t o_ = n->offs[t];                                                        \
    (v) = (vf8){base[0][o_], base[1][o_], base[2][o_], base[3][o_],                         \
                base[4][o_], base[5][o_], base[6][o_], base[7][o_]};                        \
  } while (0)
#else
#define LOAD_B(v, t)                                                                        \
  do {                                                                                      \
    const ptrdiff_t o_ = n->offs[t];                                                        \
    for (int j_ = 0; j_ < CW; j_++) (v)[j_] = base[j_][o_];                                 \
  } while (0)
#endif
static void def_chunk_vb(const def_net *n, const float *const *base, float *res) {
  DEF_VKERNEL(LOAD_B)
}
#define def_chunk_float def_chunk_vf
#define DEF_HAVE_VB 1
#endif

/* One gathered lane: the K tap values of cell i (the centre where a tap lies
 * outside the array). */
#define DEF_GATHER(T)                                                                       \
  static void def_gather_##T(const gwlz_enh_data *d, const geom *gm, const ptrdiff_t *offs, \
                             int (*toff)[3], int inner, size_t i, T (*V)[CW], int j) {      \
    const T *xv = (const T *)d->xr;                                                         \
    const int K = gm->K;                                                                    \
    if (inner) {                                                                            \
      for (int t = 0; t < K; t++) V[t][j] = xv[(size_t)((ptrdiff_t)i + offs[t])];           \
    } else {                                                                                \
      size_t c[3] = {0, 0, 0};                                                              \
      cell_coords(gm, i, c);                                                                \
      for (int t = 0; t < K; t++)                                                           \
        V[t][j] = tap_inside(gm, toff[t], c) ? xv[(size_t)((ptrdiff_t)i + offs[t])] : xv[i]; \
    }                                                                                       \
  }
DEF_GATHER(float)
DEF_GATHER(double)

/* VB: 1 when def_chunk_vb_##T exists (interior cells gathered by per-lane
 * base pointers, no copy). */
#define DEF_RANGE(T, VB)                                                                    \
  static void def_range_##T(const gwlz_enh_data *d, const geom *gm, const def_net *n,       \
                            size_t a, size_t b, float *out) {                               \
    const int K = gm->K, D = gm->D;                                                         \
    const size_t mg = DEF_REACH > 2 ? 3 : DEF_REACH > 1 ? DEF_AXD : 1;                      \
    const size_t *idx = d->group_idx;                                                       \
    const T *xv = (const T *)d->xr;                                                         \
    const ptrdiff_t *offs = n->offs;                                                        \
    int toff[MAXK][3];                                                                      \
    {                                                                                       \
      ptrdiff_t o_[MAXK];                                                                   \
      def_offsets(gm, o_, toff);                                                            \
    }                                                                                       \
    const size_t nx = gm->ext[D - 1];                                                       \
    const size_t ny = D >= 2 ? gm->ext[D - 2] : 1, nz = D >= 3 ? gm->ext[0] : 1;            \
    size_t row_start = 1, row_end = 0; /* empty: forces the first division */              \
    int row_inner = 0;                                                                      \
    T V[MAXK][CW];                                                                          \
    const T *p[MAXK];                                                                       \
    const T *bp[CW];                                                                        \
    size_t gcell[CW], bcell[CW];                                                            \
    float res[CW];                                                                          \
    int gn = 0, bn = 0;                                                                     \
    /* the cells of a group are scattered: prefetch the rows of the taps (the        \
     * taps in the cell's column; the others share their lines mostly) of the        \
     * cell PFK places ahead */                                                      \
    int pft[MAXK], npf = 0;                                                                 \
    for (int t = 0; t < K; t++)                                                             \
      if (toff[t][D - 1] == 0) pft[npf++] = t;                                              \
    (void)pft; (void)npf;                                                                   \
    for (size_t k = a; k < b;) {                                                            \
      const size_t i = idx[k];                                                              \
      DEF_PREFETCH();                                                                       \
      if (i < row_start || i >= row_end) {                                                  \
        size_t r = i / nx; /* row number over all slower dims */                           \
        row_start = r * nx;                                                                 \
        row_end = row_start + nx;                                                           \
        size_t y = D >= 2 ? r % ny : 0, z = D >= 3 ? (r / ny) % nz : 0;                     \
        row_inner = (D < 2 || (y >= mg && y + mg < ny)) && (D < 3 || (z >= mg && z + mg < nz)); \
      }                                                                                     \
      const size_t x = i - row_start;                                                       \
      const int inner = row_inner && x >= mg && x + mg < nx;                                \
      if (inner && x + (CW - 1) + mg < nx) {                                                \
        size_t m = 1;                                                                       \
        while (m < CW && k + m < b && idx[k + m] < i + CW) m++;                             \
        if (m >= CONT_MIN) {                                                                \
          for (int t = 0; t < K; t++) p[t] = xv + (ptrdiff_t)i + offs[t];                   \
          def_chunk_##T(n, p, res);                                                         \
          for (size_t u = 0; u < m; u++) out[idx[k + u]] = res[idx[k + u] - i];             \
          k += m;                                                                           \
          continue;                                                                         \
        }                                                                                   \
      }                                                                                     \
      k++;                                                                                  \
      if (VB && inner) {                                                                    \
        bp[bn] = xv + i;                                                                    \
        bcell[bn++] = i;                                                                    \
        if (bn == CW) {                                                                     \
          DEF_FLUSH_B(T);                                                                   \
        }                                                                                   \
        continue;                                                                           \
      }                                                                                     \
      def_gather_##T(d, gm, offs, toff, inner, i, V, gn);                                   \
      gcell[gn++] = i;                                                                      \
      if (gn == CW) DEF_FLUSH_V(T);                                                          \
    }                                                                                       \
    if (bn > 0) {                                                                           \
      for (int j = bn; j < CW; j++) bp[j] = bp[0];                                          \
      DEF_FLUSH_B(T);                                                                       \
    }                                                                                       \
    if (gn > 0) DEF_FLUSH_V(T);                                                              \
    (void)bp; (void)bcell;                                                                  \
  }
#ifndef PFK
#define PFK 12
#endif
#if defined(__GNUC__)
#define DEF_PREFETCH()                                                                      \
  do {                                                                                      \
    if (k + PFK < b) {                                                                      \
      const char *q_ = (const char *)(xv + idx[k + PFK]);                                                    \
      for (int u_ = 0; u_ < npf; u_++) __builtin_prefetch(q_ + offs[pft[u_]] * (ptrdiff_t)sizeof *xv);           \
    }                                                                                       \
  } while (0)
#else
#define DEF_PREFETCH() ((void)0)
#endif
/* gathered lanes: pad with lane 0, evaluate, store the used lanes */
#define DEF_FLUSH_V(T)                                                                      \
  do {                                                                                      \
    for (int t = 0; t < K; t++) {                                                           \
      for (int j = gn; j < CW; j++) V[t][j] = V[t][0];                                      \
      p[t] = V[t];                                                                          \
    }                                                                                       \
    def_chunk_##T(n, p, res);                                                               \
    for (int j = 0; j < gn; j++) out[gcell[j]] = res[j];                                    \
    gn = 0;                                                                                 \
  } while (0)
#define DEF_FLUSH_B(T) DEF_FLUSH_B_##T()
#define DEF_FLUSH_B_double() ((void)0)
#define DEF_FLUSH_B_float()                                                                 \
  do {                                                                                      \
    def_chunk_vb(n, bp, res);                                                               \
    for (int j = 0; j < bn; j++) out[bcell[j]] = res[j];                                    \
    bn = 0;                                                                                 \
  } while (0)
#ifdef DEF_HAVE_VB
DEF_RANGE(float, 1)
#else
DEF_RANGE(float, 0)
#endif
DEF_RANGE(double, 0)

static void def_predict_range(const gwlz_enh_data *d, const geom *gm, const feat_ctx *fc,
                              const float *params, size_t a, size_t b, float *out) {
  def_net n;
  const int NF = gm->NF;
  n.w1 = params;
  n.b1 = n.w1 + NF * DEF_CH;
  n.w2 = n.b1 + DEF_CH;
  n.b2 = n.w2 + DEF_CH;
  n.wl = n.b2 + 1;
  n.bl = n.wl + NF;
  n.K = gm->K;
  n.KC = gm->KC;
  n.NF = NF;
  n.D = gm->D;
  memcpy(n.ax, gm->ax, sizeof n.ax);
  {
    int toff[MAXK][3];
    def_offsets(gm, n.offs, toff);
  }
  n.fc = *fc;
  for (int t = 0; t < NF; t++)
    for (int j = 0; j < CW; j++) {
      for (int c = 0; c < DEF_CH; c++) n.wb[t][c][j] = n.w1[t * DEF_CH + c];
      n.wb[t][DEF_CH][j] = n.wl[t];
    }
  if (d->type == GWLZ_TYPE_DOUBLE)
    def_range_double(d, gm, &n, a, b, out);
  else
    def_range_float(d, gm, &n, a, b, out);
}

#define PB 64

/* ======================================================================== *
 *  Paper 2-D arch: patches and inference                                   *
 * ======================================================================== */
/* u[25]: 5x5 input patch around cell i (rows = second-last dim), placeholder
 * 0 outside the group or the slice; hm[9]: hidden position inside the slice. */
static inline void p2_patch(const gwlz_enh_data *d, const geom *gm, int g, const feat_ctx *fc,
                            size_t i, float *u, uint8_t *hm) {
  size_t c[3] = {0, 0, 0};
  cell_coords(gm, i, c);
  size_t H = gm->D == 2 ? gm->ext[0] : 1, W = gm->ext[gm->D - 1];
  size_t y = gm->D == 2 ? c[0] : 0, x = c[gm->D - 1];
  size_t sy = gm->D == 2 ? gm->str[0] : 0;
  for (int a = -2; a <= 2; a++)
    for (int b = -2; b <= 2; b++) {
      float v = 0.0f;
      ptrdiff_t yy = (ptrdiff_t)y + a, xx = (ptrdiff_t)x + b;
      if (yy >= 0 && yy < (ptrdiff_t)H && xx >= 0 && xx < (ptrdiff_t)W) {
        size_t j = (size_t)((ptrdiff_t)i + (ptrdiff_t)a * (ptrdiff_t)sy + b);
        if (d->gid[j] == (uint8_t)g) {
          double s = (load_val(d, j) - fc->lo) * fc->inv_range;
          if (!(s >= 0.0)) s = 0.0;
          if (s > 1.0) s = 1.0;
          v = (float)s;
        }
      }
      u[(a + 2) * 5 + (b + 2)] = v;
    }
  if (hm)
    for (int a = -1; a <= 1; a++)
      for (int b = -1; b <= 1; b++) {
        ptrdiff_t yy = (ptrdiff_t)y + a, xx = (ptrdiff_t)x + b;
        hm[(a + 1) * 3 + (b + 1)] =
            (uint8_t)(yy >= 0 && yy < (ptrdiff_t)H && xx >= 0 && xx < (ptrdiff_t)W);
      }
}

/* Folded params: w1[9][9], b1[9], w2[9][9], b2. Hidden positions outside the
 * slice contribute w2 * 0 (the conv's zero padding). */
static inline float p2_eval(const float *p, const float *u, const uint8_t *hm) {
  const float *w1 = p, *b1 = w1 + 9 * P2_CH, *w2 = b1 + P2_CH, *b2 = w2 + 9 * P2_CH;
  float r = b2[0];
  for (int hy = 0; hy < 3; hy++)
    for (int hx = 0; hx < 3; hx++) {
      float h[P2_CH];
      for (int c = 0; c < P2_CH; c++) h[c] = b1[c];
      for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) {
          const float v = u[(hy + ky) * 5 + (hx + kx)];
          const float *w = w1 + (ky * 3 + kx) * P2_CH;
          for (int c = 0; c < P2_CH; c++) h[c] += v * w[c];
        }
      /* conv2 tap for this hidden position: output centre (1,1) sees hidden
       * (hy,hx) through kernel tap (hy,hx). */
      const float m = hm[hy * 3 + hx] ? 1.0f : 0.0f;
      const float *w = w2 + (hy * 3 + hx) * P2_CH;
      for (int c = 0; c < P2_CH; c++) r += w[c] * ((h[c] > 0.0f ? h[c] : 0.0f) * m);
    }
  return clamp1(r);
}


/* Block version of p2_patch + p2_eval over group_idx[a..b): same values in
 * the same order per cell, loops across the cells of a block. */
static void p2_predict_range(const gwlz_enh_data *d, const geom *gm, int g, const feat_ctx *fc,
                             const float *params, size_t a, size_t b, float *out) {
  const float *w1 = params, *b1 = w1 + 9 * P2_CH, *w2 = b1 + P2_CH, *b2 = w2 + 9 * P2_CH;
  const size_t *idx = d->group_idx;
  const size_t H = gm->D == 2 ? gm->ext[0] : 1, W = gm->ext[gm->D - 1];
  const ptrdiff_t sy = gm->D == 2 ? (ptrdiff_t)gm->str[0] : 0;
  size_t row_start = 1, row_end = 0;
  int row_inner = 0;
  size_t cell[PB];
  float U[25][PB], M[9][PB], Hc[P2_CH][PB], R[PB];
  for (size_t k0 = a; k0 < b; k0 += PB) {
    const int nb = (int)(b - k0 < PB ? b - k0 : PB);
    for (int j = 0; j < nb; j++) {
      const size_t i = idx[k0 + (size_t)j];
      cell[j] = i;
      if (i < row_start || i >= row_end) {
        size_t r = i / W;
        row_start = r * W;
        row_end = row_start + W;
        size_t y = r % H;
        row_inner = H == 1 || (y >= 2 && y + 2 < H);
      }
      const size_t x = i - row_start;
      if (row_inner && H > 1 && x >= 2 && x + 2 < W) {
        for (int p = 0; p < 25; p++) {
          size_t q = (size_t)((ptrdiff_t)i + (ptrdiff_t)(p / 5 - 2) * sy + (p % 5 - 2));
          float v = 0.0f;
          if (d->gid[q] == (uint8_t)g) {
            double s = (load_val(d, q) - fc->lo) * fc->inv_range;
            if (!(s >= 0.0)) s = 0.0;
            if (s > 1.0) s = 1.0;
            v = (float)s;
          }
          U[p][j] = v;
        }
        for (int p = 0; p < 9; p++) M[p][j] = 1.0f;
      } else {
        float u[25];
        uint8_t hm[9];
        p2_patch(d, gm, g, fc, i, u, hm);
        for (int p = 0; p < 25; p++) U[p][j] = u[p];
        for (int p = 0; p < 9; p++) M[p][j] = hm[p] ? 1.0f : 0.0f;
      }
    }
    for (int j = 0; j < nb; j++) R[j] = b2[0];
    for (int hy = 0; hy < 3; hy++)
      for (int hx = 0; hx < 3; hx++) {
        for (int c = 0; c < P2_CH; c++)
          for (int j = 0; j < nb; j++) Hc[c][j] = b1[c];
        for (int ky = 0; ky < 3; ky++)
          for (int kx = 0; kx < 3; kx++) {
            const float *uu = U[(hy + ky) * 5 + (hx + kx)];
            const float *w = w1 + (ky * 3 + kx) * P2_CH;
            for (int c = 0; c < P2_CH; c++) {
              const float wc = w[c];
              float *hc = Hc[c];
              for (int j = 0; j < nb; j++) hc[j] += uu[j] * wc;
            }
          }
        const float *m = M[hy * 3 + hx];
        const float *w = w2 + (hy * 3 + hx) * P2_CH;
        for (int c = 0; c < P2_CH; c++) {
          const float wc = w[c];
          const float *hc = Hc[c];
          for (int j = 0; j < nb; j++) R[j] += wc * ((hc[j] > 0.0f ? hc[j] : 0.0f) * m[j]);
        }
      }
    for (int j = 0; j < nb; j++) out[cell[j]] = clamp1(R[j]);
  }
}

/* ======================================================================== *
 *  Kind interface                                                          *
 * ======================================================================== */
/* 0 for an architecture this kind does not know (the decoder then rejects
 * the stream). */
static size_t cnn_nparams(const gwlz_enh_data *d, int arch) {
  if (arch == GWLZ_ARCH_PAPER2D) return P2_NPARAMS;
  if (arch != GWLZ_ARCH_DEFAULT) return 0;
  geom gm;
  geom_init(d, 3, &gm);
  return def_nparams(gm.NF);
}

static gwlz_error cnn_predict(const gwlz_enh_data *d, int arch, int g, const float *params,
                              float *out) {
  if (arch != GWLZ_ARCH_DEFAULT && arch != GWLZ_ARCH_PAPER2D) return GWLZ_ERR_PARAM;
  if (g < 0 || g >= d->groups) return GWLZ_ERR_PARAM;
  const size_t beg = d->group_start[g], end = d->group_start[g + 1];
  if (end <= beg) return GWLZ_OK;
  params += (size_t)g * cnn_nparams(d, arch); /* params holds every group's slice */
  feat_ctx fc;
  feat_ctx_init(d, g, &fc);
  geom gm;
  const long long cnt = (long long)(end - beg);
  const int threads = d->threads > 1 && cnt > 4096 ? d->threads : 1;
  const int paper = arch == GWLZ_ARCH_PAPER2D;
  geom_init(d, paper ? 2 : 3, &gm);
  (void)threads; /* unused without OpenMP */
#pragma omp parallel num_threads(threads)
  {
    int tid = 0, tn = 1;
#ifdef _OPENMP
    tid = omp_get_thread_num();
    tn = omp_get_num_threads();
#endif
    size_t a = beg + (size_t)((double)cnt * tid / tn), b = beg + (size_t)((double)cnt * (tid + 1) / tn);
    if (tid == tn - 1) b = end;
    if (paper)
      p2_predict_range(d, &gm, g, &fc, params, a, b, out);
    else
      def_predict_range(d, &gm, &fc, params, a, b, out);
  }
  return GWLZ_OK;
}

/* ======================================================================== *
 *  Training                                                                *
 * ======================================================================== */
typedef struct {
  int g;
  size_t ns;        /* sampled cells                    */
  size_t *cells;    /* their indices                    */
} gsample;

/* Jittered systematic sample of up to quota cells of group g. */
static size_t sample_group(const gwlz_enh_data *d, int g, size_t quota, uint64_t seed,
                           size_t *cells) {
  size_t n = group_size(d, g);
  const size_t *idx = d->group_idx + d->group_start[g];
  if (n <= quota) {
    memcpy(cells, idx, n * sizeof(size_t));
    return n;
  }
  uint64_t rng = seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(g + 1));
  double step = (double)n / (double)quota;
  for (size_t k = 0; k < quota; k++) {
    size_t j = (size_t)(((double)k + gwlz_rng_uniform(&rng)) * step);
    if (j >= n) j = n - 1;
    cells[k] = idx[j];
  }
  return quota;
}

/* Solve the (n x n) SPD system A x = b in place (Cholesky, ridge added by the
 * caller). Returns 0 on success. */
static int chol_solve(int n, double *A, double *b) {
  for (int j = 0; j < n; j++) {
    double s = A[j * n + j];
    for (int k = 0; k < j; k++) s -= A[j * n + k] * A[j * n + k];
    if (!(s > 0.0)) return -1;
    double l = sqrt(s);
    A[j * n + j] = l;
    for (int i = j + 1; i < n; i++) {
      double t = A[i * n + j];
      for (int k = 0; k < j; k++) t -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = t / l;
    }
  }
  for (int i = 0; i < n; i++) {
    double t = b[i];
    for (int k = 0; k < i; k++) t -= A[i * n + k] * b[k];
    b[i] = t / A[i * n + i];
  }
  for (int i = n - 1; i >= 0; i--) {
    double t = b[i];
    for (int k = i + 1; k < n; k++) t -= A[k * n + i] * b[k];
    b[i] = t / A[i * n + i];
  }
  return 0;
}

/* Least-squares linear fit t ~ w.f + c over ns rows of nf features (double
 * normal equations, tiny ridge). w[nf], then c. Returns 0 on success. */
static int ls_fit(size_t ns, int nf, const float *F, const float *t, float *wout) {
  const int n = nf + 1;
  double *A = (double *)calloc((size_t)n * n + n, sizeof(double));
  if (!A) return -1;
  double *b = A + (size_t)n * n;
  double row[MAXF + 1];
  for (size_t s = 0; s < ns; s++) {
    for (int j = 0; j < nf; j++) row[j] = F[s * nf + j];
    row[nf] = 1.0;
    double ts = t[s];
    for (int i = 0; i < n; i++) {
      double ri = row[i];
      b[i] += ri * ts;
      for (int j = 0; j <= i; j++) A[i * n + j] += ri * row[j];
    }
  }
  double tr = 0.0;
  for (int i = 0; i < n; i++) tr += A[i * n + i];
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < i; j++) A[j * n + i] = A[i * n + j];
    A[i * n + i] += 1e-9 * tr / n + 1e-12;
  }
  int rc = chol_solve(n, A, b);
  if (rc == 0)
    for (int i = 0; i < n; i++) wout[i] = (float)b[i];
  free(A);
  return rc;
}

typedef struct {
  const gwlz_enh_data *d;
  double t0;
  int epochs;
  int stop;               /* time budget exceeded (atomic access)  */
  size_t work_total;
  size_t work_done;       /* atomic updates                        */
  int max_epochs_run;
} train_ctl;

static void report(train_ctl *ctl) {
  const gwlz_enh_data *d = ctl->d;
#ifdef _OPENMP
  if (omp_get_thread_num() != 0) return;
#endif
  if (!d->progress) return;
  size_t done;
#pragma omp atomic read
  done = ctl->work_done;
  double fr = ctl->work_total ? (double)done / (double)ctl->work_total : 1.0;
  d->progress(d->progress_user, "train", fr > 1.0 ? 1.0 : fr);
}

static int stopped(train_ctl *ctl) {
  int s;
#pragma omp atomic read
  s = ctl->stop;
  return s;
}

/* Epoch bookkeeping shared by both archs; returns 1 to stop training. */
static int epoch_done(train_ctl *ctl, size_t work) {
#pragma omp atomic
  ctl->work_done += work;
  report(ctl);
  if (ctl->d->train_seconds > 0.0 && gwlz_now() - ctl->t0 > ctl->d->train_seconds) {
#pragma omp atomic write
    ctl->stop = 1;
  }
  return stopped(ctl);
}

static void shuffle(size_t *perm, size_t n, uint64_t *rng) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(gwlz_rng_next(rng) % i);
    size_t t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
}

static float lr_at(int epoch, int epochs, float lr0) {
  /* linear warm-down to 10% over the run */
  double f = epochs > 1 ? (double)epoch / (double)(epochs - 1) : 0.0;
  return (float)(lr0 * (1.0 - 0.9 * f));
}

/* ---- default arch --------------------------------------------------------- */
enum { D_W1, D_B1, D_W2, D_B2, D_WL, D_BL, D_NT };

static double def_loss(int K, const float *p, size_t ns, const float *F, const float *t) {
  double s = 0.0;
  for (size_t k = 0; k < ns; k++) {
    double e = (double)def_eval(K, p, F + k * K) - t[k];
    s += e * e;
  }
  return ns ? s / (double)ns : 0.0;
}

static int train_def_group(train_ctl *ctl, const geom *gm, int g, const size_t *cells, size_t ns,
                           float *out_params) {
  const gwlz_enh_data *d = ctl->d;
  const int K = gm->NF, C = DEF_CH; /* K = features here */
  const size_t np = def_nparams(K);
  memset(out_params, 0, np * sizeof(float));
  if (ns < (size_t)(2 * K + 2)) return 0;
  float *F = (float *)malloc(ns * K * sizeof(float));
  float *t = (float *)malloc(ns * sizeof(float));
  size_t *perm = (size_t *)malloc(ns * sizeof(size_t));
  nn_model mdl;
  size_t sizes[D_NT] = {(size_t)K * C, (size_t)C, (size_t)C, 1, (size_t)K, 1};
  int ok = F && t && perm && nn_model_init(&mdl, D_NT, sizes) == 0;
  if (!ok) {
    free(F); free(t); free(perm);
    return -1;
  }
  feat_ctx fc;
  feat_ctx_init(d, g, &fc);
  for (size_t k = 0; k < ns; k++) {
    def_features(d, gm, &fc, cells[k], F + k * K);
    t[k] = d->target[cells[k]];
    perm[k] = k;
  }
  /* standardise the features over the sample (training works on
   * (f - m)/s; the affine map is folded into w1/b1 and wl/bl at the end) */
  double fm[MAXF], fs[MAXF];
  for (int j = 0; j < K; j++) {
    double a = 0.0, q = 0.0;
    for (size_t k = 0; k < ns; k++) a += F[k * K + j];
    a /= (double)ns;
    for (size_t k = 0; k < ns; k++) {
      double e = F[k * K + j] - a;
      q += e * e;
    }
    q = sqrt(q / (double)ns);
    /* the interpolation features (bounded, partly indicators that may be
     * rare in the sample) keep their scale; a floor on s bounds the folded
     * weights |w| / s to 100 |w|: this keeps binary16 storage of the params
     * nearly lossless, which a floor of 1e-4 (no better in binary32) does not */
    if (!DEF_STD || !(q > 1e-6) || j >= gm->K) { a = 0.0; q = 1.0; }
    const double floor_s = j == gm->KC ? DEF_CFLOOR : DEF_TFLOOR;
    if (q < floor_s) q = floor_s;
    fm[j] = a;
    fs[j] = q;
    for (size_t k = 0; k < ns; k++) F[k * K + j] = (float)((F[k * K + j] - a) / q);
  }
  /* linear skip by least squares */
  float wls[MAXF + 1];
  if (ls_fit(ns, K, F, t, wls) != 0) memset(wls, 0, sizeof wls);
  memcpy(nn_param(&mdl, D_WL), wls, K * sizeof(float));
  nn_param(&mdl, D_BL)[0] = wls[K];
  uint64_t rng = d->seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(g + 7));
  nn_init_uniform(nn_param(&mdl, D_W1), (size_t)K * C, (float)sqrt(3.0 / K), &rng);
  nn_init_uniform(nn_param(&mdl, D_B1), C, 0.1f, &rng);
  nn_init_uniform(nn_param(&mdl, D_W2), C, 0.01f, &rng);
  /* keep the LS solution as the fallback */
  float *best = (float *)malloc(np * sizeof(float));
  if (!best) { free(F); free(t); free(perm); nn_model_free(&mdl); return -1; }
  memcpy(best, mdl.params, np * sizeof(float));
  memset(best + mdl.off[D_W2], 0, C * sizeof(float));
  double best_loss = def_loss(K, best, ns, F, t);

  /* activations for one batch */
  float x[BATCH * MAXF], h[BATCH * DEF_CH], a[BATCH * DEF_CH], y[BATCH], yl[BATCH], tb[BATCH];
  float dy[BATCH], da[BATCH * DEF_CH];
  nn_conv_shape c1 = {{1, 1, 1}, {1, 1, 1}, K, C};   /* 3^D conv 1->C on one patch == dense K->C */
  nn_conv_shape c2 = {{1, 1, 1}, {1, 1, 1}, C, 1};   /* 1x1 conv C->1 */
  nn_conv_shape cl = {{1, 1, 1}, {1, 1, 1}, K, 1};   /* linear skip   */
  const int epochs = ctl->epochs;
  int ep;
  for (ep = 0; ep < epochs && !stopped(ctl); ep++) {
    shuffle(perm, ns, &rng);
    float lr = lr_at(ep, epochs, DEF_LR);
    for (size_t s0 = 0; s0 < ns; s0 += BATCH) {
      int B = (int)(ns - s0 < BATCH ? ns - s0 : BATCH);
      for (int b = 0; b < B; b++) {
        memcpy(x + b * K, F + perm[s0 + b] * K, K * sizeof(float));
        tb[b] = t[perm[s0 + b]];
      }
      /* forward: x[B][K] -> h[B][C] -> a = relu(h) -> y[B] ; yl[B] linear */
      nn_conv_forward(&c1, B, x, nn_param(&mdl, D_W1), nn_param(&mdl, D_B1), h);
      nn_relu_forward(B, C, h, NULL, a);
      nn_conv_forward(&c2, B, a, nn_param(&mdl, D_W2), nn_param(&mdl, D_B2), y);
      nn_conv_forward(&cl, B, x, nn_param(&mdl, D_WL), nn_param(&mdl, D_BL), yl);
      for (int b = 0; b < B; b++) y[b] += yl[b];
      nn_mse_forward_backward(B, y, tb, NULL, dy);
      /* backward */
      nn_zero_grad(&mdl);
      nn_conv_backward(&cl, B, x, nn_param(&mdl, D_WL), dy, NULL, nn_grad(&mdl, D_WL),
                       nn_grad(&mdl, D_BL));
      nn_conv_backward(&c2, B, a, nn_param(&mdl, D_W2), dy, da, nn_grad(&mdl, D_W2),
                       nn_grad(&mdl, D_B2));
      nn_relu_backward(B, C, a, da, da);
      nn_conv_backward(&c1, B, x, nn_param(&mdl, D_W1), da, NULL, nn_grad(&mdl, D_W1),
                       nn_grad(&mdl, D_B1));
      nn_adam(&mdl, lr, 0.9f, 0.999f, 1e-8f, 0.0f);
    }
    if (epoch_done(ctl, ns)) { ep++; break; }
  }
  double loss = def_loss(K, mdl.params, ns, F, t);
  if (loss < best_loss) memcpy(best, mdl.params, np * sizeof(float));
  /* fold the standardisation: w' = w / s, b' = b - sum w m / s */
  {
    const float *w1 = best, *b1 = w1 + K * C, *w2 = b1 + C, *b2 = w2 + C, *wl = b2 + 1, *bl = wl + K;
    float *o = out_params;
    float *ow1 = o, *ob1 = ow1 + K * C, *ow2 = ob1 + C, *ob2 = ow2 + C, *owl = ob2 + 1, *obl = owl + K;
    for (int c = 0; c < C; c++) {
      double bb = b1[c];
      for (int j = 0; j < K; j++) {
        ow1[j * C + c] = (float)(w1[j * C + c] / fs[j]);
        bb -= w1[j * C + c] * fm[j] / fs[j];
      }
      ob1[c] = (float)bb;
      ow2[c] = w2[c];
    }
    ob2[0] = b2[0];
    double bb = bl[0];
    for (int j = 0; j < K; j++) {
      owl[j] = (float)(wl[j] / fs[j]);
      bb -= wl[j] * fm[j] / fs[j];
    }
    obl[0] = (float)bb;
  }
#pragma omp critical(gwlz_cnn_epochs)
  if (ep > ctl->max_epochs_run) ctl->max_epochs_run = ep;
  free(best); free(F); free(t); free(perm);
  nn_model_free(&mdl);
  return 0;
}

/* ---- paper 2-D arch -------------------------------------------------------- */
enum { P_W1, P_B1, P_GA, P_BE, P_W2, P_B2, P_NT };

static int train_p2_group(train_ctl *ctl, const geom *gm, int g, const size_t *cells, size_t ns,
                          float *out_params) {
  const gwlz_enh_data *d = ctl->d;
  const int C = P2_CH;
  memset(out_params, 0, P2_NPARAMS * sizeof(float));
  if (ns < 16) return 0;
  float *U = (float *)malloc(ns * 25 * sizeof(float));
  uint8_t *HM = (uint8_t *)malloc(ns * 9);
  float *t = (float *)malloc(ns * sizeof(float));
  size_t *perm = (size_t *)malloc(ns * sizeof(size_t));
  nn_model mdl;
  size_t sizes[P_NT] = {9 * (size_t)C, (size_t)C, (size_t)C, (size_t)C, 9 * (size_t)C, 1};
  int ok = U && HM && t && perm && nn_model_init(&mdl, P_NT, sizes) == 0;
  if (!ok) {
    free(U); free(HM); free(t); free(perm);
    return -1;
  }
  feat_ctx fc;
  feat_ctx_init(d, g, &fc);
  for (size_t k = 0; k < ns; k++) {
    p2_patch(d, gm, g, &fc, cells[k], U + k * 25, HM + k * 9);
    t[k] = d->target[cells[k]];
    perm[k] = k;
  }
  uint64_t rng = d->seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(g + 7));
  nn_init_uniform(nn_param(&mdl, P_W1), 9 * (size_t)C, (float)(1.0 / 3.0), &rng);
  nn_init_uniform(nn_param(&mdl, P_B1), C, (float)(1.0 / 3.0), &rng);
  for (int c = 0; c < C; c++) nn_param(&mdl, P_GA)[c] = 1.0f;
  nn_init_uniform(nn_param(&mdl, P_W2), 9 * (size_t)C, (float)(1.0 / 9.0), &rng);

  enum { BR = BATCH * 9 };
  float *buf = (float *)malloc(sizeof(float) * (BATCH * 25 + 4 * BR * P2_CH + 4 * BATCH));
  if (!buf) { free(U); free(HM); free(t); free(perm); nn_model_free(&mdl); return -1; }
  float *u = buf, *h = u + BATCH * 25, *hn = h + BR * C, *a = hn + BR * C, *da = a + BR * C;
  float *y = da + BR * C, *tb = y + BATCH, *dy = tb + BATCH;
  uint8_t hm[BR];
  float mean[P2_CH], rstd[P2_CH];
  /* conv1 on 5x5 patches -> 3x3 hidden; conv2 on the 3x3 hidden -> 1 */
  nn_conv_shape c1 = {{1, 5, 5}, {1, 3, 3}, 1, C};
  nn_conv_shape c2 = {{1, 3, 3}, {1, 3, 3}, C, 1};
  const int epochs = ctl->epochs;
  int ep;
  for (ep = 0; ep < epochs && !stopped(ctl); ep++) {
    shuffle(perm, ns, &rng);
    float lr = lr_at(ep, epochs, 3e-3f);
    for (size_t s0 = 0; s0 < ns; s0 += BATCH) {
      int B = (int)(ns - s0 < BATCH ? ns - s0 : BATCH);
      if (B < 2) continue;
      for (int b = 0; b < B; b++) {
        memcpy(u + b * 25, U + perm[s0 + b] * 25, 25 * sizeof(float));
        memcpy(hm + b * 9, HM + perm[s0 + b] * 9, 9);
        tb[b] = t[perm[s0 + b]];
      }
      /* u[B][5][5][1] -> h[B][3][3][C] -> BN -> ReLU (mask: outside slice = 0) -> y[B] */
      nn_conv_forward(&c1, B, u, nn_param(&mdl, P_W1), nn_param(&mdl, P_B1), h);
      nn_bn_forward(B * 9, C, h, hm, nn_param(&mdl, P_GA), nn_param(&mdl, P_BE), P2_BN_EPS, hn,
                    mean, rstd);
      nn_relu_forward(B * 9, C, hn, hm, a);
      nn_conv_forward(&c2, B, a, nn_param(&mdl, P_W2), nn_param(&mdl, P_B2), y);
      nn_mse_forward_backward(B, y, tb, NULL, dy);
      nn_zero_grad(&mdl);
      nn_conv_backward(&c2, B, a, nn_param(&mdl, P_W2), dy, da, nn_grad(&mdl, P_W2),
                       nn_grad(&mdl, P_B2));
      nn_relu_backward(B * 9, C, a, da, da);
      nn_bn_backward(B * 9, C, h, hm, nn_param(&mdl, P_GA), mean, rstd, da, da,
                     nn_grad(&mdl, P_GA), nn_grad(&mdl, P_BE));
      nn_conv_backward(&c1, B, u, nn_param(&mdl, P_W1), da, NULL, nn_grad(&mdl, P_W1),
                       nn_grad(&mdl, P_B1));
      nn_adam(&mdl, lr, 0.9f, 0.999f, 1e-8f, 0.0f);
    }
    if (epoch_done(ctl, ns)) { ep++; break; }
  }
  /* population statistics of conv1 over the whole sample, then fold BN */
  {
    double s[P2_CH] = {0}, ss[P2_CH] = {0};
    size_t cnt = 0;
    const float *w1 = nn_param(&mdl, P_W1), *b1 = nn_param(&mdl, P_B1);
    for (size_t k = 0; k < ns; k++) {
      nn_conv_forward(&c1, 1, U + k * 25, w1, b1, h);
      for (int q = 0; q < 9; q++) {
        if (!HM[k * 9 + q]) continue;
        cnt++;
        for (int c = 0; c < C; c++) {
          double v = h[q * C + c];
          s[c] += v;
          ss[c] += v * v;
        }
      }
    }
    const float *ga = nn_param(&mdl, P_GA), *be = nn_param(&mdl, P_BE);
    float *o = out_params;
    for (int c = 0; c < C; c++) {
      double mu = cnt ? s[c] / cnt : 0.0;
      double var = cnt ? ss[c] / cnt - mu * mu : 0.0;
      if (var < 0.0) var = 0.0;
      double sc = ga[c] / sqrt(var + P2_BN_EPS);
      for (int tap = 0; tap < 9; tap++) o[tap * C + c] = (float)(w1[tap * C + c] * sc);
      o[9 * C + c] = (float)((b1[c] - mu) * sc + be[c]);
    }
    memcpy(o + 10 * C, nn_param(&mdl, P_W2), 9 * (size_t)C * sizeof(float));
    o[19 * C] = nn_param(&mdl, P_B2)[0];
  }
  /* never worse than zero on the sample */
  {
    double l0 = 0.0, l1 = 0.0;
    for (size_t k = 0; k < ns; k++) {
      double e = (double)p2_eval(out_params, U + k * 25, HM + k * 9) - t[k];
      l1 += e * e;
      l0 += (double)t[k] * t[k];
    }
    if (!(l1 < l0)) memset(out_params, 0, P2_NPARAMS * sizeof(float));
  }
#pragma omp critical(gwlz_cnn_epochs)
  if (ep > ctl->max_epochs_run) ctl->max_epochs_run = ep;
  free(buf); free(U); free(HM); free(t); free(perm);
  nn_model_free(&mdl);
  return 0;
}

static gwlz_error cnn_train(const gwlz_enh_data *d, int arch, float *params, int *epochs_run) {
  const size_t np = cnn_nparams(d, arch);
  const int G = d->groups;
  if (np == 0) return GWLZ_ERR_PARAM;
  memset(params, 0, (size_t)G * np * sizeof(float));
  if (epochs_run) *epochs_run = 0;
  if (!d->target || G <= 0) return GWLZ_OK;
  geom gm;
  geom_init(d, arch == GWLZ_ARCH_PAPER2D ? 2 : 3, &gm);

  /* per-group sample quotas: proportional to size, at least SAMPLE_MIN */
  size_t ncells = 0;
  for (int g = 0; g < G; g++) ncells += group_size(d, g);
  size_t *quota = (size_t *)calloc((size_t)G, sizeof(size_t));
  size_t *soff = (size_t *)calloc((size_t)G + 1, sizeof(size_t));
  int *order = (int *)calloc((size_t)G, sizeof(int));
  if (!quota || !soff || !order) { free(quota); free(soff); free(order); return GWLZ_ERR_MEMORY; }
  for (int g = 0; g < G; g++) {
    size_t n = group_size(d, g);
    const double total = arch == GWLZ_ARCH_PAPER2D ? P2_SAMPLE_TOTAL : SAMPLE_TOTAL;
    double share = ncells ? total * (double)n / (double)ncells : 0.0;
    size_t q = (size_t)share;
    if (q < SAMPLE_MIN) q = SAMPLE_MIN;
    if (q > n) q = n;
    quota[g] = q;
    soff[g + 1] = soff[g] + q;
  }
  size_t *cells = (size_t *)malloc((soff[G] ? soff[G] : 1) * sizeof(size_t));
  if (!cells) { free(quota); free(soff); free(order); return GWLZ_ERR_MEMORY; }
  for (int g = 0; g < G; g++) sample_group(d, g, quota[g], d->seed, cells + soff[g]);
  /* biggest groups first for load balance */
  for (int g = 0; g < G; g++) order[g] = g;
  for (int i = 1; i < G; i++) {
    int v = order[i], j = i;
    while (j > 0 && quota[order[j - 1]] < quota[v]) { order[j] = order[j - 1]; j--; }
    order[j] = v;
  }

  train_ctl ctl;
  memset(&ctl, 0, sizeof ctl);
  ctl.d = d;
  ctl.t0 = gwlz_now();
  ctl.epochs = d->epochs > 0 ? d->epochs : (arch == GWLZ_ARCH_PAPER2D ? P2_EPOCHS : DEF_EPOCHS);
  ctl.work_total = soff[G] * (size_t)ctl.epochs;
  int failed = 0;
  const int threads = d->threads > 1 ? (d->threads < G ? d->threads : G) : 1;
  (void)threads; /* unused without OpenMP */
  if (d->progress) d->progress(d->progress_user, "train", 0.0);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int k = 0; k < G; k++) {
    int g = order[k];
    int rc = arch == GWLZ_ARCH_PAPER2D
                 ? train_p2_group(&ctl, &gm, g, cells + soff[g], quota[g], params + (size_t)g * np)
                 : train_def_group(&ctl, &gm, g, cells + soff[g], quota[g], params + (size_t)g * np);
    if (rc != 0) {
#pragma omp atomic write
      failed = 1;
    }
  }
  if (d->progress) d->progress(d->progress_user, "train", 1.0);
  if (epochs_run) *epochs_run = ctl.max_epochs_run;
  free(cells); free(quota); free(soff); free(order);
  return failed ? GWLZ_ERR_MEMORY : GWLZ_OK;
}

const gwlz_enh_kind gwlz_enh_cnn_kind = {GWLZ_ENH_CNN, cnn_nparams, cnn_train, cnn_predict};
