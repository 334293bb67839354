/* v1.c - the version 1 enhancer payloads (ENHM / EXCP payload version 1,
 * docs/format.md §10.2-10.8): value groups of X', the CNN kind and the
 * version 1 linear kind. Decoding every version 1 payload stays supported;
 * the library writes version 1 for the CNN kinds (and the linear kind with an
 * explicit version 1 architecture, an internal option).
 *
 * Groups. The cells of X' are split into G value groups by G-1 boundaries
 * b_1 <= ... <= b_{G-1} (the encoder takes quantiles of X'; the decoder only
 * reads them). A cell belongs to group g = number of boundaries b with
 * (double)X'[i] >= b. Special cells (mask) and cells whose X' is not finite
 * belong to no group and are never changed.
 *
 * Correction. For a cell i of a kept group g with predicted residual r (float,
 * in units of the bound eb) and amplitude code a_g:
 *     A  = a_g * (1/64)                       (double, exact)
 *     rr = r as double; NaN -> 0; clamped to [-A, A]
 *     y  = (T)((double)X'[i] + eb * rr)       (T = float or double)
 *     if |(double)y - (double)X'[i]| > eb then y = X'[i]
 *     if i is listed in the exception payload then y = X'[i]
 * so that |y - X'| <= eb always (relaxed policy: error <= 2 eb) and, under the
 * strict policy, the encoder lists every cell where |X - y| > eb.
 *
 * ENHM payload, format version 1 (all integers little-endian). An empty
 * payload means "no enhancement" (the section is then not written at all).
 *   size          field
 *   1             payload version, = 1
 *   1             enhancer kind: 1 = linear, 2 = cnn (gwlz_enhancer values)
 *   1             architecture, kind-specific (linear: 16 = plain filter,
 *                 17 = filter per index-parity class, 18 = interpolation-aware
 *                 features per interpolation class, 19 = the same features
 *                 with one class; see linear.c; cnn: gwlz_arch)
 *   1             parameter precision: 0 = IEEE binary32, 1 = IEEE binary16
 *   2             G, number of groups, 1..256
 *   4             P, parameters per group; must equal the kind's count for
 *                 this geometry (dims with extents of 1 removed) and arch
 *   8 * (G-1)     boundaries b_1..b_{G-1}, f64, finite, nondecreasing
 *   ceil(G/8)     kept-group bitmap: group g is kept when bit (g & 7) of byte
 *                 (g >> 3) is set; bits for g >= G must be 0; K = number of
 *                 kept groups, K >= 1
 *   K             amplitude code a_g per kept group (ascending g), 1..64
 *   K * P * s     parameters of the kept groups (ascending g), s = 4 or 2 bytes
 *                 each as given by the precision; must be finite
 *   (end)         the payload ends here; trailing bytes are an error
 *
 * EXCP payload, format version 1 (only with the strict policy, only when at
 * least one exception exists; otherwise the section is absent):
 *   1             payload version, = 1
 *   varint        count of exception positions, >= 1 (LEB128)
 *   block         gwlz_lossless_pack block (u64 raw size, u64 packed size,
 *                 zstd frame) whose raw bytes are count LEB128 varints: the
 *                 first position, then p_k - p_{k-1} - 1 for k >= 1
 *                 (positions strictly increasing, < n, each in a kept group);
 *                 the raw bytes hold exactly these varints
 *   (end)         the payload ends here
 *
 * Encoder choices (not part of the format): boundaries at quantiles of X'
 * weighted by the squared residual (groups narrow where the error is); the
 * linear kind is stored in binary16 (binary32 if a parameter does not fit);
 * per group the amplitude code among {64, 48, 40, 32, 24, 16} and whether to
 * keep the model minimise squared error + lambda * bytes (model and estimated
 * exception bytes; lambda prices a byte at the base's rate-distortion slope,
 * as in stages.c). Output and exception list in one pass over the cells.
 *
 * Determinism: every sum that influences output bytes is accumulated over a
 * fixed chunking of the cells (independent of the thread count) and combined
 * in chunk order. */
#include "enhance/v1.h"

#include <math.h>
#include <stdlib.h>

#include "enhance/model.h"
#include "enhance/v2.h"
#include "format/lossless.h"

#define ENH_PAYLOAD_VERSION 1
#define EXC_PAYLOAD_VERSION 1
#define ENH_PREC_F32 0
#define ENH_PREC_F16 1
#define ENH_CHUNK 65536
#define ENH_AMP_DEN 64
#define ENH_MAX_PARAMS (1u << 20)
#define ENH_QSAMPLE (1u << 20)


static inline int enh_pick(size_t i, uint32_t rate) { /* same hash as linear.c */
  return (uint32_t)(((uint64_t)i * 0x9E3779B97F4A7C15ull) >> 48) < rate;
}

/* amplitude candidates tried by the encoder (codes, 1..64) */
static const int enh_amp_codes[] = {64, 48, 40, 32, 24, 16};
#define ENH_NAMP ((int)(sizeof(enh_amp_codes) / sizeof(enh_amp_codes[0])))

/* ---- kinds --------------------------------------------------------------- */
static const gwlz_enh_kind *enh_kind_for(int id) {
  switch (id) {
    case GWLZ_ENH_LINEAR: return &gwlz_enh_linear_kind;
    case GWLZ_ENH_CNN: return &gwlz_enh_cnn_kind;
    default: return NULL;
  }
}

/* ---- value access ------------------------------------------------------- */
static inline double enh_ld(gwlz_type t, const void *p, size_t i) {
  return t == GWLZ_TYPE_DOUBLE ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

/* y for one cell per the rule in the header comment (without exceptions). */
static inline double enh_apply1(gwlz_type t, double xr, double eb, float r, int code) {
  const double A = (double)code * (1.0 / ENH_AMP_DEN);
  double rr = (double)r;
  if (rr != rr) rr = 0.0;
  if (rr > A) rr = A;
  if (rr < -A) rr = -A;
  double y = xr + eb * rr;
  if (t == GWLZ_TYPE_FLOAT) y = (double)gwlz_to_f32(y);
  if (!(fabs(y - xr) <= eb)) y = xr;
  return y;
}

static inline void enh_st(gwlz_type t, void *p, size_t i, double v) {
  if (t == GWLZ_TYPE_DOUBLE)
    ((double *)p)[i] = v;
  else
    ((float *)p)[i] = (float)v;
}

/* ---- binary16 ----------------------------------------------------------- */
static uint16_t enh_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t ex = (x >> 23) & 0xFFu;
  uint32_t man = x & 0x7FFFFFu;
  if (ex == 0xFFu) return (uint16_t)(sign | 0x7C00u | (man ? 0x200u : 0));
  int e = (int)ex - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7C00u);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    man |= 0x800000u;
    int shift = 14 - e;
    uint32_t h = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)e << 10) | (man >> 13);
  uint32_t rem = man & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
  return (uint16_t)(sign | h); /* a carry into the exponent is correct rounding */
}

static float enh_f16_to_f32(uint16_t h) {
  uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
  uint32_t ex = ((uint32_t)h >> 10) & 0x1Fu;
  uint32_t man = (uint32_t)h & 0x3FFu;
  uint32_t x;
  if (ex == 0) {
    if (man == 0) {
      x = sign;
    } else {
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400u));
      x = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FFu) << 13);
    }
  } else if (ex == 0x1Fu) {
    x = sign | 0x7F800000u | (man << 13);
  } else {
    x = sign | ((ex + 127 - 15) << 23) | (man << 13);
  }
  float f;
  memcpy(&f, &x, 4);
  return f;
}

/* ---- grouping ----------------------------------------------------------- */
typedef struct {
  gwlz_enh_data d;
  uint8_t *gid;
  size_t *start, *idx;
  double *lo, *hi;
} enh_groups;

static void enh_groups_free(enh_groups *g) {
  free(g->gid);
  free(g->start);
  free(g->idx);
  free(g->lo);
  free(g->hi);
  memset(g, 0, sizeof(*g));
}

static void enh_squeeze(const gwlz_enh_params *p, gwlz_enh_data *d) {
  int nd = 0;
  for (int a = 0; a < p->ndims; a++)
    if (p->dims[a] != 1) d->dims[nd++] = p->dims[a];
  if (nd == 0) d->dims[nd++] = 1;
  d->ndims = nd;
  size_t s = 1;
  for (int a = nd - 1; a >= 0; a--) {
    d->strides[a] = s;
    s *= d->dims[a];
  }
  for (int a = nd; a < GWLZ_MAX_DIMS; a++) {
    d->dims[a] = 1;
    d->strides[a] = 0;
  }
}

/* count of the G-1 bounds <= v; pb: the bounds padded with +inf to P-1
 * entries, P = a power of two >= G (branch-free binary search) */
static inline uint8_t enh_gid_of(double v, const double *pb, int P) {
  if (!isfinite(v)) return 0xFF;
  int k = 0;
  for (int step = P >> 1; step >= 1; step >>= 1) k += v >= pb[k + step - 1] ? step : 0;
  return (uint8_t)k;
}

/* Smallest float >= b (b finite or infinite, not NaN): for a float v,
 * (double)v >= b exactly when v >= enh_f32_ceil(b). */
static float enh_f32_ceil(double b) {
  float f = (float)b;
  if ((double)f < b) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if (f == 0.0f)
      u = 1u; /* smallest positive subnormal */
    else if (u & 0x80000000u)
      u -= 1u; /* negative: towards zero */
    else
      u += 1u;
    memcpy(&f, &u, 4);
  }
  return f;
}

/* gid of n consecutive float cells without mask: count of bounds <= v, in
 * straight loops (vectorisable), 0xFF for non-finite values. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(GWLZ_NO_CLONES) && !defined(__AVX2__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default"))) /* compares only: same bytes */
#endif
static void enh_gid_f32(const float *v, size_t n, const float *fb, int nb, uint8_t *out) {
  uint8_t cnt[256];
  for (size_t b0 = 0; b0 < n; b0 += 256) {
    size_t len = n - b0 < 256 ? n - b0 : 256;
    const float *vv = v + b0;
    for (size_t j = 0; j < len; j++) cnt[j] = 0;
    for (int k = 0; k < nb; k++) {
      const float t = fb[k];
      for (size_t j = 0; j < len; j++) cnt[j] = (uint8_t)(cnt[j] + (vv[j] >= t));
    }
    for (size_t j = 0; j < len; j++) out[b0 + j] = (vv[j] - vv[j] == 0.0f) ? cnt[j] : (uint8_t)0xFF;
  }
}

typedef struct {
  double v, w;
} enh_vw;

static int enh_cmp_vw(const void *a, const void *b) {
  double x = ((const enh_vw *)a)->v, y = ((const enh_vw *)b)->v;
  return x < y ? -1 : (x > y ? 1 : 0);
}

/* Boundaries at weighted quantiles of a deterministic sample of the regular
 * cells of X'. Weight of a cell: wmix * (its squared residual in eb units)
 * + (1 - wmix) * (mean squared residual): wmix = 0 gives equal counts per
 * group, larger wmix narrows the groups that hold more error. */
static gwlz_error enh_bounds_quantile(const gwlz_enh_params *p, const void *xr, const float *target,
                                      int G, double wmix, double *bounds) {
  size_t n = p->n, step = n / ENH_QSAMPLE + 1, cnt = 0;
  enh_vw *s = (enh_vw *)malloc((n / step + 1) * sizeof(enh_vw));
  if (!s) return GWLZ_ERR_MEMORY;
  double tot = 0.0;
  for (size_t i = 0; i < n; i += step) {
    if (p->mask && p->mask[i]) continue;
    double v = enh_ld(p->type, xr, i);
    if (!isfinite(v)) continue;
    s[cnt].v = v;
    s[cnt].w = (double)target[i] * (double)target[i];
    tot += s[cnt].w;
    cnt++;
  }
  if (cnt == 0) {
    for (int k = 0; k < G - 1; k++) bounds[k] = 0.0;
    free(s);
    return GWLZ_OK;
  }
  qsort(s, cnt, sizeof(enh_vw), enh_cmp_vw);
  double mean = tot / (double)cnt, all = 0.0;
  for (size_t i = 0; i < cnt; i++) {
    s[i].w = wmix * s[i].w + (1.0 - wmix) * mean;
    all += s[i].w;
  }
  double run = 0.0;
  size_t i = 0;
  for (int k = 1; k < G; k++) {
    double goal = all * (double)k / (double)G;
    while (i + 1 < cnt && run + s[i].w < goal) run += s[i++].w;
    bounds[k - 1] = s[i].v;
  }
  free(s);
  return GWLZ_OK;
}

/* gid, CSR lists (ascending cell index in each group) and lo/hi per group. */
static gwlz_error enh_groups_build(const gwlz_enh_params *p, const void *xr, const double *bounds,
                                   int G, int need_idx, enh_groups *gr) {
  const size_t n = p->n;
  const size_t nch = (n + ENH_CHUNK - 1) / ENH_CHUNK;
  const int threads = p->threads >= 1 ? p->threads : 1;
  memset(gr, 0, sizeof(*gr));
  gr->gid = (uint8_t *)malloc(n ? n : 1);
  gr->start = (size_t *)calloc((size_t)G + 1, sizeof(size_t));
  gr->lo = (double *)malloc((size_t)G * sizeof(double));
  gr->hi = (double *)malloc((size_t)G * sizeof(double));
  size_t *cnt = (size_t *)calloc(nch * (size_t)G + 1, sizeof(size_t));
  double *clo = (double *)malloc((nch * (size_t)G + 1) * sizeof(double));
  double *chi = (double *)malloc((nch * (size_t)G + 1) * sizeof(double));
  if (!gr->gid || !gr->start || !gr->lo || !gr->hi || !cnt || !clo || !chi) {
    free(cnt);
    free(clo);
    free(chi);
    enh_groups_free(gr);
    return GWLZ_ERR_MEMORY;
  }
  const long lnch = (long)nch;
  double pb[GWLZ_MAX_GROUPS];
  int P = 1;
  while (P < G) P <<= 1;
  for (int k = 0; k < P - 1; k++) pb[k] = k < G - 1 ? bounds[k] : INFINITY;
  float fb[GWLZ_MAX_GROUPS];
  for (int k = 0; k < G - 1; k++) fb[k] = enh_f32_ceil(bounds[k]);
  const int fast = p->type == GWLZ_TYPE_FLOAT && !p->mask && G <= 64;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (long c = 0; c < lnch; c++) {
    size_t b = (size_t)c * ENH_CHUNK, e = b + ENH_CHUNK < n ? b + ENH_CHUNK : n;
    size_t *cc = cnt + (size_t)c * G;
    double *lo = clo + (size_t)c * G, *hi = chi + (size_t)c * G;
    /* four interleaved copies of the per-group state (no store-to-load
     * chains between neighbouring cells); min/max/counts are exact, so the
     * combination order does not matter */
    size_t c4[4][GWLZ_MAX_GROUPS];
    double l4[4][GWLZ_MAX_GROUPS], h4[4][GWLZ_MAX_GROUPS];
    for (int u = 0; u < 4; u++)
      for (int g = 0; g < G; g++) {
        c4[u][g] = 0;
        l4[u][g] = INFINITY;
        h4[u][g] = -INFINITY;
      }
    if (fast) {
      enh_gid_f32((const float *)xr + b, e - b, fb, G - 1, gr->gid + b);
      for (size_t i = b; i < e; i++) {
        const uint8_t g = gr->gid[i];
        const int u = (int)(i & 3u);
        if (g != 0xFF) {
          const double v = (double)((const float *)xr)[i];
          c4[u][g]++;
          l4[u][g] = v < l4[u][g] ? v : l4[u][g];
          h4[u][g] = v > h4[u][g] ? v : h4[u][g];
        }
      }
    } else {
      for (size_t i = b; i < e; i++) {
        uint8_t g = 0xFF;
        const int u = (int)(i & 3u);
        if (!(p->mask && p->mask[i])) {
          double v = enh_ld(p->type, xr, i);
          g = enh_gid_of(v, pb, P);
          if (g != 0xFF) {
            c4[u][g]++;
            l4[u][g] = v < l4[u][g] ? v : l4[u][g];
            h4[u][g] = v > h4[u][g] ? v : h4[u][g];
          }
        }
        gr->gid[i] = g;
      }
    }
    for (int g = 0; g < G; g++) {
      cc[g] = c4[0][g] + c4[1][g] + c4[2][g] + c4[3][g];
      lo[g] = l4[0][g];
      hi[g] = h4[0][g];
      for (int u = 1; u < 4; u++) {
        lo[g] = l4[u][g] < lo[g] ? l4[u][g] : lo[g];
        hi[g] = h4[u][g] > hi[g] ? h4[u][g] : hi[g];
      }
    }
  }
  /* offsets: group-major, chunk-minor */
  size_t tot = 0;
  for (int g = 0; g < G; g++) {
    gr->start[g] = tot;
    gr->lo[g] = INFINITY;
    gr->hi[g] = -INFINITY;
    for (size_t c = 0; c < nch; c++) {
      size_t k = cnt[c * G + g];
      cnt[c * G + g] = tot;
      tot += k;
      if (clo[c * G + g] < gr->lo[g]) gr->lo[g] = clo[c * G + g];
      if (chi[c * G + g] > gr->hi[g]) gr->hi[g] = chi[c * G + g];
    }
    if (gr->lo[g] > gr->hi[g]) gr->lo[g] = gr->hi[g] = 0.0;
  }
  gr->start[G] = tot;
  free(clo);
  free(chi);
  gr->idx = (size_t *)malloc((tot && need_idx ? tot : 1) * sizeof(size_t));
  if (!gr->idx) {
    free(cnt);
    enh_groups_free(gr);
    return GWLZ_ERR_MEMORY;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (long c = 0; c < (need_idx ? lnch : 0); c++) {
    size_t b = (size_t)c * ENH_CHUNK, e = b + ENH_CHUNK < n ? b + ENH_CHUNK : n;
    size_t *pos = cnt + (size_t)c * G;
    for (size_t i = b; i < e; i++) {
      uint8_t g = gr->gid[i];
      if (g != 0xFF) gr->idx[pos[g]++] = i;
    }
  }
  free(cnt);

  gwlz_enh_data *d = &gr->d;
  memset(d, 0, sizeof(*d));
  d->type = p->type;
  enh_squeeze(p, d);
  d->n = n;
  d->eb = p->abs_eb;
  d->xr = xr;
  d->gid = gr->gid;
  d->groups = G;
  d->lo = gr->lo;
  d->hi = gr->hi;
  d->group_start = gr->start;
  d->group_idx = gr->idx;
  d->threads = threads;
  d->seed = p->seed;
  d->epochs = p->epochs;
  d->train_seconds = p->train_seconds;
  d->progress = p->progress;
  d->progress_user = p->progress_user;
  return GWLZ_OK;
}

/* ---- parameter validation ---------------------------------------------- */
gwlz_error gwlz_enh_check_params(const gwlz_enh_params *p) {
  size_t n = 1;
  if (!p || p->ndims < 1 || p->ndims > GWLZ_MAX_DIMS) return GWLZ_ERR_PARAM;
  if (p->type != GWLZ_TYPE_FLOAT && p->type != GWLZ_TYPE_DOUBLE) return GWLZ_ERR_PARAM;
  for (int a = 0; a < p->ndims; a++) {
    if (p->dims[a] < 1) return GWLZ_ERR_PARAM;
    if (!gwlz_mul_size(n, p->dims[a], &n)) return GWLZ_ERR_TOO_LARGE;
  }
  if (n != p->n || n == 0) return GWLZ_ERR_PARAM;
  if (!(p->abs_eb > 0) || !isfinite(p->abs_eb)) return GWLZ_ERR_PARAM;
  return GWLZ_OK;
}

static int enh_bitcount8(uint8_t v) {
  int c = 0;
  for (; v; v &= (uint8_t)(v - 1)) c++;
  return c;
}

/* Parsed ENHM header. */
typedef struct {
  int kind, arch, prec, G;
  uint32_t P;
  const uint8_t *bounds_raw; /* 8*(G-1) bytes */
  const uint8_t *bitmap;
  const uint8_t *amps;       /* K bytes */
  const uint8_t *params_raw; /* K*P*s bytes */
  int K;
} enh_hdr;

static gwlz_error enh_parse(const uint8_t *m, size_t size, enh_hdr *h) {
  gwlz_rbuf r;
  gwlz_error e;
  uint8_t v, kind, arch, prec;
  uint16_t G;
  uint32_t P;
  if (!m || size == 0) return GWLZ_ERR_CORRUPT;
  gwlz_rbuf_init(&r, m, size);
  if ((e = gwlz_rbuf_u8(&r, &v)) != GWLZ_OK) return e;
  if (v != ENH_PAYLOAD_VERSION) return GWLZ_ERR_VERSION;
  if ((e = gwlz_rbuf_u8(&r, &kind)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u8(&r, &arch)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u8(&r, &prec)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u16(&r, &G)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u32(&r, &P)) != GWLZ_OK) return e;
  if (kind != GWLZ_ENH_LINEAR && kind != GWLZ_ENH_CNN) return GWLZ_ERR_CORRUPT;
  if (prec != ENH_PREC_F32 && prec != ENH_PREC_F16) return GWLZ_ERR_CORRUPT;
  if (G < 1 || G > GWLZ_MAX_GROUPS) return GWLZ_ERR_CORRUPT;
  if (P < 1 || P > ENH_MAX_PARAMS) return GWLZ_ERR_CORRUPT;
  h->kind = kind;
  h->arch = arch;
  h->prec = prec;
  h->G = G;
  h->P = P;
  if ((e = gwlz_rbuf_bytes(&r, (size_t)8 * (G - 1), &h->bounds_raw)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_bytes(&r, ((size_t)G + 7) / 8, &h->bitmap)) != GWLZ_OK) return e;
  int K = 0;
  for (int i = 0; i < (G + 7) / 8; i++) K += enh_bitcount8(h->bitmap[i]);
  if ((G & 7) && (h->bitmap[G / 8] >> (G & 7))) return GWLZ_ERR_CORRUPT;
  if (K < 1) return GWLZ_ERR_CORRUPT;
  h->K = K;
  if ((e = gwlz_rbuf_bytes(&r, (size_t)K, &h->amps)) != GWLZ_OK) return e;
  for (int k = 0; k < K; k++)
    if (h->amps[k] < 1 || h->amps[k] > ENH_AMP_DEN) return GWLZ_ERR_CORRUPT;
  size_t s = prec == ENH_PREC_F32 ? 4 : 2;
  if ((e = gwlz_rbuf_bytes(&r, (size_t)K * P * s, &h->params_raw)) != GWLZ_OK) return e;
  if (gwlz_rbuf_left(&r) != 0) return GWLZ_ERR_CORRUPT;
  /* boundaries: finite, nondecreasing */
  double prev = -INFINITY;
  for (int k = 0; k < G - 1; k++) {
    uint64_t u = gwlz_load_u64(h->bounds_raw + 8 * (size_t)k);
    double b;
    memcpy(&b, &u, 8);
    if (!isfinite(b) || b < prev) return GWLZ_ERR_CORRUPT;
    prev = b;
  }
  return GWLZ_OK;
}

gwlz_error gwlz_e1_peek(const uint8_t *models, size_t models_size, gwlz_enhancer *kind,
                         int *groups_kept) {
  enh_hdr h;
  if (models_size == 0) {
    if (kind) *kind = GWLZ_ENH_NONE;
    if (groups_kept) *groups_kept = 0;
    return GWLZ_OK;
  }
  gwlz_error e = enh_parse(models, models_size, &h);
  if (e != GWLZ_OK) return e;
  if (kind) *kind = (gwlz_enhancer)h.kind;
  if (groups_kept) *groups_kept = h.K;
  return GWLZ_OK;
}

/* ---- exception list ---------------------------------------------------- */
static gwlz_error enh_write_exceptions(const size_t *pos, size_t cnt, gwlz_wbuf *out) {
  gwlz_wbuf raw;
  gwlz_wbuf_init(&raw);
  for (size_t k = 0; k < cnt; k++) gwlz_wbuf_varint(&raw, k ? pos[k] - pos[k - 1] - 1 : pos[0]);
  if (raw.err != GWLZ_OK) {
    gwlz_error e = raw.err;
    gwlz_wbuf_free(&raw);
    return e;
  }
  gwlz_wbuf_u8(out, EXC_PAYLOAD_VERSION);
  gwlz_wbuf_varint(out, cnt);
  gwlz_error e = out->err;
  if (e == GWLZ_OK) e = gwlz_lossless_pack(raw.data, raw.size, out, GWLZ_ZSTD_LEVEL);
  gwlz_wbuf_free(&raw);
  return e;
}

/* ---- decoder ------------------------------------------------------------ */
static double enh_bound_at(const enh_hdr *h, int k) {
  uint64_t u = gwlz_load_u64(h->bounds_raw + 8 * (size_t)k);
  double b;
  memcpy(&b, &u, 8);
  return b;
}

static gwlz_error enh_load_params(const enh_hdr *h, float *params, int *amp_of, uint8_t *kept) {
  size_t s = h->prec == ENH_PREC_F32 ? 4 : 2;
  int k = 0;
  for (int g = 0; g < h->G; g++) {
    kept[g] = (uint8_t)((h->bitmap[g >> 3] >> (g & 7)) & 1u);
    amp_of[g] = 0;
    float *dst = params + (size_t)g * h->P;
    if (!kept[g]) {
      memset(dst, 0, (size_t)h->P * sizeof(float));
      continue;
    }
    amp_of[g] = h->amps[k];
    const uint8_t *src = h->params_raw + (size_t)k * h->P * s;
    for (uint32_t j = 0; j < h->P; j++) {
      float f;
      if (s == 4) {
        uint32_t u = gwlz_load_u32(src + 4 * (size_t)j);
        memcpy(&f, &u, 4);
      } else {
        uint16_t u = (uint16_t)(src[2 * (size_t)j] | (src[2 * (size_t)j + 1] << 8));
        f = enh_f16_to_f32(u);
      }
      if (!isfinite(f)) return GWLZ_ERR_CORRUPT;
      dst[j] = f;
    }
    k++;
  }
  return GWLZ_OK;
}

typedef struct {
  gwlz_type t;
  double eb;
  void *data;
  const uint8_t *gid, *kept;
  const int *amp_of;
} enh_apply_ctx;

/* y = enh_apply1 for the cells i0 .. i0+len-1 whose group is kept */
static void enh_apply_seg(void *vctx, size_t i0, size_t len, const float *r) {
  const enh_apply_ctx *c = (const enh_apply_ctx *)vctx;
  const uint8_t *gid = c->gid + i0;
  if (c->t == GWLZ_TYPE_FLOAT) {
    float *v = (float *)c->data + i0;
    for (size_t x = 0; x < len; x++) {
      const uint8_t g = gid[x];
      if (g == 0xFF || !c->kept[g]) continue;
      v[x] = (float)enh_apply1(GWLZ_TYPE_FLOAT, (double)v[x], c->eb, r[x], c->amp_of[g]);
    }
  } else {
    double *v = (double *)c->data + i0;
    for (size_t x = 0; x < len; x++) {
      const uint8_t g = gid[x];
      if (g == 0xFF || !c->kept[g]) continue;
      v[x] = enh_apply1(GWLZ_TYPE_DOUBLE, v[x], c->eb, r[x], c->amp_of[g]);
    }
  }
}

/* EXCP payload version 1: positions, each in a kept group (gid, kept). */
static gwlz_error e1_read_exceptions(const gwlz_enh_params *p, const uint8_t *exc, size_t exc_size,
                                     const uint8_t *gid, const uint8_t *kept, size_t **out, size_t *nout) {
  gwlz_rbuf r, q;
  uint8_t v;
  uint64_t cnt, prev = 0;
  uint8_t *raw = NULL;
  size_t rawn, vl = 1, *epos = NULL;
  gwlz_error e;
  gwlz_rbuf_init(&r, exc, exc_size);
  if ((e = gwlz_rbuf_u8(&r, &v)) != GWLZ_OK) return e;
  if (v != EXC_PAYLOAD_VERSION) return GWLZ_ERR_VERSION;
  if ((e = gwlz_rbuf_varint(&r, &cnt)) != GWLZ_OK) return e;
  if (cnt < 1 || cnt > p->n) return GWLZ_ERR_CORRUPT;
  for (uint64_t v2 = (uint64_t)p->n; v2 >= 0x80; v2 >>= 7) vl++;
  if ((e = gwlz_lossless_unpack(&r, (size_t)cnt * vl, &raw, &rawn)) != GWLZ_OK) return e;
  if (gwlz_rbuf_left(&r) != 0) e = GWLZ_ERR_CORRUPT;
  if (e == GWLZ_OK && !(epos = (size_t *)malloc((size_t)cnt * sizeof(size_t)))) e = GWLZ_ERR_MEMORY;
  gwlz_rbuf_init(&q, raw, rawn);
  for (size_t k = 0; k < (size_t)cnt && e == GWLZ_OK; k++) {
    uint64_t dlt, pos;
    if (gwlz_rbuf_varint(&q, &dlt) != GWLZ_OK || (k > 0 && dlt >= (uint64_t)p->n)) {
      e = GWLZ_ERR_CORRUPT;
      break;
    }
    pos = k == 0 ? dlt : prev + 1 + dlt;
    if (pos >= (uint64_t)p->n || gid[pos] == 0xFF || !kept[gid[pos]]) e = GWLZ_ERR_CORRUPT;
    epos[k] = (size_t)pos;
    prev = pos;
  }
  if (e == GWLZ_OK && gwlz_rbuf_left(&q) != 0) e = GWLZ_ERR_CORRUPT;
  free(raw);
  if (e != GWLZ_OK) {
    free(epos);
    return e;
  }
  *out = epos;
  *nout = (size_t)cnt;
  return GWLZ_OK;
}

gwlz_error gwlz_e1_decompress(const gwlz_enh_params *p, const uint8_t *models,
                               size_t models_size, const uint8_t *exc, size_t exc_size,
                               void *data) {
  gwlz_error e;
  enh_hdr h;
  if (!data) return GWLZ_ERR_PARAM;
  if ((e = gwlz_enh_check_params(p)) != GWLZ_OK) return e;
  if (models_size == 0) return exc_size ? GWLZ_ERR_CORRUPT : GWLZ_OK;
  if ((e = enh_parse(models, models_size, &h)) != GWLZ_OK) return e;
  if (p->policy == GWLZ_BOUND_RELAXED && exc_size) return GWLZ_ERR_CORRUPT;
  const gwlz_enh_kind *kind = enh_kind_for(h.kind);
  if (!kind) return GWLZ_ERR_UNSUPPORTED;

  double *bounds = (double *)malloc((size_t)h.G * sizeof(double));
  float *params = NULL, *rhat = NULL;
  size_t *epos = NULL;
  enh_groups gr;
  int amp_of[GWLZ_MAX_GROUPS];
  uint8_t kept[GWLZ_MAX_GROUPS];
  memset(&gr, 0, sizeof(gr));
  if (!bounds) return GWLZ_ERR_MEMORY;
  for (int k = 0; k < h.G - 1; k++) bounds[k] = enh_bound_at(&h, k);
  e = enh_groups_build(p, data, bounds, h.G, h.kind != GWLZ_ENH_LINEAR, &gr);
  if (e != GWLZ_OK) goto done;
  if (kind->nparams(&gr.d, h.arch) != h.P) {
    e = GWLZ_ERR_CORRUPT;
    goto done;
  }
  params = (float *)malloc((size_t)h.G * h.P * sizeof(float));
  if (h.kind != GWLZ_ENH_LINEAR) rhat = (float *)malloc(p->n * sizeof(float));
  if (!params || (!rhat && h.kind != GWLZ_ENH_LINEAR)) {
    e = GWLZ_ERR_MEMORY;
    goto done;
  }
  if ((e = enh_load_params(&h, params, amp_of, kept)) != GWLZ_OK) goto done;

  /* exception positions: parse and validate before touching data */
  size_t nexc = 0;
  if (exc_size && (e = e1_read_exceptions(p, exc, exc_size, gr.gid, kept, &epos, &nexc)) != GWLZ_OK)
    goto done;

  if (h.kind == GWLZ_ENH_LINEAR) {
    /* exception cells keep X': marked 0xFF before the sweep (a cell's gid
     * only decides whether its own prediction is made and applied) */
    for (size_t k = 0; k < nexc; k++) gr.gid[epos[k]] = 0xFF;
    enh_apply_ctx ac;
    ac.t = p->type;
    ac.eb = p->abs_eb;
    ac.data = data;
    ac.gid = gr.gid;
    ac.kept = kept;
    ac.amp_of = amp_of;
    e = gwlz_lin_decode_apply(&gr.d, h.arch, params, kept, enh_apply_seg, &ac);
    goto done;
  } else {
    for (int g = 0; g < h.G; g++) {
      if (!kept[g]) continue;
      if ((e = kind->predict(&gr.d, h.arch, g, params, rhat)) != GWLZ_OK) goto done;
    }
  }
  /* every prediction is made from X'; exception cells keep X' */
  for (size_t k = 0; k < nexc; k++) gr.gid[epos[k]] = 0xFF;
  {
    const long nn = (long)p->n;
    const double eb = p->abs_eb;
    const gwlz_type t = p->type;
    const uint8_t *gid = gr.gid;
#pragma omp parallel for num_threads(gr.d.threads) schedule(static)
    for (long i = 0; i < nn; i++) {
      uint8_t g = gid[i];
      if (g == 0xFF || !kept[g]) continue;
      double xr = enh_ld(t, data, (size_t)i);
      enh_st(t, data, (size_t)i, enh_apply1(t, xr, eb, rhat[i], amp_of[g]));
    }
  }
  e = GWLZ_OK;
done:
  free(bounds);
  free(params);
  free(rhat);
  free(epos);
  enh_groups_free(&gr);
  return e;
}

/* ---- encoder ------------------------------------------------------------ */
/* Estimated bytes of the exception list per listed cell (delta varint + zstd). */
static double enh_exc_cost(size_t cnt, size_t n) {
  if (cnt == 0) return 0.0;
  double bits = 2.0;
  for (size_t r = n / cnt; r > 1; r >>= 1) bits += 1.0; /* ~ log2(n/cnt) + 2 */
  return (double)cnt * bits / 8.0;
}

static void enh_quantize_params(float *params, size_t cnt, int prec) {
  if (prec == ENH_PREC_F16)
    for (size_t j = 0; j < cnt; j++) params[j] = enh_f16_to_f32(enh_f32_to_f16(params[j]));
}

static void enh_progress(const gwlz_enh_params *p, const char *stage, double f) {
  if (p->progress) p->progress(p->progress_user, stage, f);
}

/* ---- encoder, in stages ---------------------------------------------------- */
typedef struct {
  const gwlz_enh_params *p;
  const gwlz_enh_kind *kind;
  int kind_id, arch, strict, prec, G;
  size_t n, P, psize, nch;
  const void *x, *xr;
  float *target, *rhat, *params;
  double *bounds;
  enh_groups gr;
  uint8_t cand[GWLZ_MAX_GROUPS], kept[GWLZ_MAX_GROUPS];
  int amp[GWLZ_MAX_GROUPS], K;
  double lambda;
} e1_state;

static void e1_free(e1_state *s) {
  free(s->target);
  free(s->rhat);
  free(s->params);
  free(s->bounds);
  enh_groups_free(&s->gr);
}

/* Targets (X - X')/eb, boundaries at weighted quantiles of X', the groups. */
static gwlz_error e1_groups(e1_state *s) {
  const gwlz_enh_params *p = s->p;
  const double inv_eb = 1.0 / p->abs_eb;
  s->target = (float *)malloc(s->n * sizeof(float));
  s->bounds = (double *)malloc((size_t)s->G * sizeof(double));
  if (!s->target || !s->bounds) return GWLZ_ERR_MEMORY;
  for (size_t i = 0; i < s->n; i++) {
    const double v = (enh_ld(p->type, s->x, i) - enh_ld(p->type, s->xr, i)) * inv_eb;
    s->target[i] = (p->mask && p->mask[i]) || !isfinite(v) ? 0.0f : (float)v;
  }
  gwlz_error e = enh_bounds_quantile(p, s->xr, s->target, s->G, 1.0, s->bounds);
  if (e == GWLZ_OK) e = enh_groups_build(p, s->xr, s->bounds, s->G, 1, &s->gr);
  s->gr.d.target = s->target;
  return e;
}

/* Parameters of every group (the kind's training), rounded to the stored
 * precision; candidate groups: finite, not all zero. */
static gwlz_error e1_train(e1_state *s, gwlz_enh_stats *st) {
  s->P = s->kind->nparams(&s->gr.d, s->arch);
  if (s->P == 0 || s->P > ENH_MAX_PARAMS) return GWLZ_ERR_PARAM;
  s->params = (float *)calloc((size_t)s->G * s->P, sizeof(float));
  if (!s->params) return GWLZ_ERR_MEMORY;
  const double t0 = gwlz_now();
  gwlz_error e = s->kind->train(&s->gr.d, s->arch, s->params, &st->epochs_run);
  st->train_seconds = gwlz_now() - t0;
  if (e != GWLZ_OK) return e;
  /* the linear kind in binary16 unless a parameter does not fit; the CNN in binary32 */
  s->prec = s->kind_id == GWLZ_ENH_LINEAR ? ENH_PREC_F16 : ENH_PREC_F32;
  for (size_t j = 0; s->prec == ENH_PREC_F16 && j < (size_t)s->G * s->P; j++)
    if (!(fabs((double)s->params[j]) < 65000.0)) s->prec = ENH_PREC_F32;
  s->psize = s->prec == ENH_PREC_F32 ? 4 : 2;
  enh_quantize_params(s->params, (size_t)s->G * s->P, s->prec);
  for (int g = 0; g < s->G; g++) {
    int nz = 0, fin = 1;
    for (size_t j = 0; j < s->P; j++) {
      const float w = s->params[(size_t)g * s->P + j];
      fin &= isfinite(w) != 0;
      nz |= w != 0.0f;
    }
    s->cand[g] = (uint8_t)(fin && nz && s->gr.start[g + 1] > s->gr.start[g]);
  }
  return GWLZ_OK;
}

static gwlz_error e1_predict(e1_state *s) {
  s->rhat = (float *)calloc(s->n ? s->n : 1, sizeof(float));
  if (!s->rhat) return GWLZ_ERR_MEMORY;
  for (int g = 0; g < s->G; g++) {
    if (!s->cand[g]) continue;
    gwlz_error e = s->kind->predict(&s->gr.d, s->arch, g, s->params, s->rhat);
    if (e != GWLZ_OK) return e;
  }
  return GWLZ_OK;
}

#define E1_PER (2 + 2 * ENH_NAMP) /* SSE before, per amplitude (SSE, exceptions), count */

/* Per chunk and group: SSE of X', per amplitude the SSE after and the
 * exceptions (eb^2 units); summed in chunk order into acc[G][E1_PER]. */
static gwlz_error e1_sums(const e1_state *s, double *acc) {
  const gwlz_type t = s->p->type;
  const double eb = s->p->abs_eb, inv_eb = 1.0 / eb;
  double *part = (double *)calloc(s->nch * (size_t)s->G * E1_PER + 1, sizeof(double));
  if (!part) return GWLZ_ERR_MEMORY;
  const int threads = s->p->threads >= 1 ? s->p->threads : 1;
  (void)threads;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (long c = 0; c < (long)s->nch; c++) {
    const size_t b = (size_t)c * ENH_CHUNK, en = b + ENH_CHUNK < s->n ? b + ENH_CHUNK : s->n;
    double *ac = part + (size_t)c * s->G * E1_PER;
    for (size_t i = b; i < en; i++) {
      const uint8_t g = s->gr.gid[i];
      if (g == 0xFF) continue;
      const double xv = enh_ld(t, s->x, i), xrv = enh_ld(t, s->xr, i), e0 = (xv - xrv) * inv_eb;
      double *ag = ac + (size_t)g * E1_PER;
      ag[0] += e0 * e0;
      ag[E1_PER - 1] += 1.0;
      if (!s->cand[g]) continue;
      for (int k = 0; k < ENH_NAMP; k++) {
        const double er = xv - enh_apply1(t, xrv, eb, s->rhat[i], enh_amp_codes[k]);
        const int exc = s->strict && !(fabs(er) <= eb);
        ag[1 + 2 * k] += exc ? e0 * e0 : (er * inv_eb) * (er * inv_eb);
        ag[2 + 2 * k] += exc;
      }
    }
  }
  for (size_t c = 0; c < s->nch; c++)
    for (size_t u = 0; u < (size_t)s->G * E1_PER; u++) acc[u] += part[c * s->G * E1_PER + u];
  free(part);
  return GWLZ_OK;
}

/* Amplitude and keep decision per group: least SSE + lambda * bytes (model
 * and estimated exception bytes), lambda at the base's slope (stages.c). */
static gwlz_error e1_select(e1_state *s) {
  double *acc = (double *)calloc((size_t)s->G * E1_PER, sizeof(double));
  if (!acc) return GWLZ_ERR_MEMORY;
  gwlz_error e = e1_sums(s, acc);
  double sse = 0.0;
  for (int g = 0; g < s->G; g++) sse += acc[(size_t)g * E1_PER];
  const double B = s->p->base_bytes ? (double)s->p->base_bytes : (double)s->n * s->psize;
  const double S = s->p->rd_slope > 0 ? s->p->rd_slope : gwlz_enh_rd_slope(s->n, s->p->base_bytes);
  s->lambda = 0.33219280948873623 * S * sse / B;
  s->K = 0;
  for (int g = 0; g < s->G && e == GWLZ_OK; g++) {
    const double *a = acc + (size_t)g * E1_PER;
    s->kept[g] = 0;
    s->amp[g] = 0;
    double best = a[0];
    for (int k = 0; k < ENH_NAMP && s->cand[g]; k++) {
      const double c = a[1 + 2 * k] + s->lambda * (enh_exc_cost((size_t)a[2 + 2 * k], s->n) +
                                                   (double)s->P * (double)s->psize + 1.0);
      if (c < best) {
        best = c;
        s->kept[g] = 1;
        s->amp[g] = enh_amp_codes[k];
      }
    }
    s->K += s->kept[g];
  }
  free(acc);
  return e;
}

/* Output and exception positions in one pass (positions collected per
 * chunk, then in chunk order). */
static gwlz_error e1_output(const e1_state *s, void *y, size_t **pos, size_t *cnt) {
  const gwlz_type t = s->p->type;
  const double eb = s->p->abs_eb;
  size_t *cc = (size_t *)calloc(s->nch + 1, sizeof(size_t));
  size_t **lists = (size_t **)calloc(s->nch + 1, sizeof(size_t *));
  int fail = !cc || !lists;
  const int threads = s->p->threads >= 1 ? s->p->threads : 1;
  (void)threads;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (long c = 0; c < (long)(fail ? 0 : s->nch); c++) {
    const size_t b = (size_t)c * ENH_CHUNK, en = b + ENH_CHUNK < s->n ? b + ENH_CHUNK : s->n;
    size_t cap = 0;
    for (size_t i = b; i < en; i++) {
      const uint8_t g = s->gr.gid[i];
      if (g == 0xFF || !s->kept[g]) continue;
      const double yv = enh_apply1(t, enh_ld(t, s->xr, i), eb, s->rhat[i], s->amp[g]);
      if (s->strict && !(fabs(enh_ld(t, s->x, i) - yv) <= eb)) {
        if (cc[c] == cap) {
          cap = cap ? 2 * cap : 64;
          size_t *nl = (size_t *)realloc(lists[c], cap * sizeof(size_t));
          if (!nl) {
#pragma omp atomic write
            fail = 1;
            break;
          }
          lists[c] = nl;
        }
        lists[c][cc[c]++] = i; /* y keeps X' */
        continue;
      }
      enh_st(t, y, i, yv);
    }
  }
  size_t tot = 0;
  for (size_t c = 0; c < s->nch && !fail; c++) tot += cc[c];
  *pos = fail ? NULL : (size_t *)malloc((tot ? tot : 1) * sizeof(size_t));
  *cnt = tot;
  for (size_t c = 0, k = 0; c < s->nch && *pos; c++) {
    if (cc[c]) memcpy(*pos + k, lists[c], cc[c] * sizeof(size_t));
    k += cc[c];
  }
  for (size_t c = 0; lists && c < s->nch; c++) free(lists[c]);
  free(lists);
  free(cc);
  return *pos ? GWLZ_OK : GWLZ_ERR_MEMORY;
}

static void e1_write_models(const e1_state *s, gwlz_wbuf *models) {
  gwlz_wbuf_u8(models, ENH_PAYLOAD_VERSION);
  gwlz_wbuf_u8(models, (uint8_t)s->kind_id);
  gwlz_wbuf_u8(models, (uint8_t)s->arch);
  gwlz_wbuf_u8(models, (uint8_t)s->prec);
  gwlz_wbuf_u16(models, (uint16_t)s->G);
  gwlz_wbuf_u32(models, (uint32_t)s->P);
  for (int k = 0; k < s->G - 1; k++) gwlz_wbuf_f64(models, s->bounds[k]);
  for (int k = 0; k < (s->G + 7) / 8; k++) {
    uint8_t bits = 0;
    for (int j = 0; j < 8 && 8 * k + j < s->G; j++)
      if (s->kept[8 * k + j]) bits |= (uint8_t)(1u << j);
    gwlz_wbuf_u8(models, bits);
  }
  for (int g = 0; g < s->G; g++)
    if (s->kept[g]) gwlz_wbuf_u8(models, (uint8_t)s->amp[g]);
  for (int g = 0; g < s->G; g++) {
    if (!s->kept[g]) continue;
    for (size_t j = 0; j < s->P; j++) {
      const float f = s->params[(size_t)g * s->P + j];
      if (s->prec == ENH_PREC_F32)
        gwlz_wbuf_f32(models, f);
      else
        gwlz_wbuf_u16(models, enh_f32_to_f16(f));
    }
  }
}

/* The version 1 encoder (the CNN kinds, and the linear kind with an explicit
 * version 1 architecture): groups -> training -> prediction -> selection ->
 * output with exceptions -> payloads. */
gwlz_error gwlz_e1_compress(const gwlz_enh_params *p, const void *x, const void *xr, void *y,
                            gwlz_wbuf *models, gwlz_wbuf *exceptions, gwlz_enh_stats *st) {
  e1_state s;
  memset(&s, 0, sizeof(s));
  s.p = p;
  s.kind_id = p->kind == GWLZ_ENH_AUTO ? GWLZ_ENH_LINEAR : (int)p->kind;
  s.kind = enh_kind_for(s.kind_id);
  s.arch = (int)p->arch;
  if (!s.kind || s.arch < 0 || s.arch > 255) return GWLZ_ERR_PARAM;
  s.strict = p->policy == GWLZ_BOUND_STRICT;
  s.G = p->groups;
  s.n = p->n;
  s.nch = (s.n + ENH_CHUNK - 1) / ENH_CHUNK;
  s.x = x;
  s.xr = xr;
  const double t0 = gwlz_now();
  size_t *pos = NULL, npos = 0;
  enh_progress(p, "enhance", 0.0);
  gwlz_error e = e1_groups(&s);
  if (e == GWLZ_OK) e = e1_train(&s, st);
  if (e == GWLZ_OK) e = e1_predict(&s);
  enh_progress(p, "enhance", 0.6);
  if (e == GWLZ_OK) e = e1_select(&s);
  if (e == GWLZ_OK && s.K > 0) e = e1_output(&s, y, &pos, &npos);
  if (e == GWLZ_OK && s.K > 0) {
    e1_write_models(&s, models);
    if (npos) e = enh_write_exceptions(pos, npos, exceptions);
    st->kind = (gwlz_enhancer)s.kind_id;
    st->groups_kept = s.K;
    st->exceptions = npos;
  }
  st->enhance_seconds = gwlz_now() - t0 - st->train_seconds;
  enh_progress(p, "enhance", 1.0);
  free(pos);
  e1_free(&s);
  return e;
}

/* Version 1 payloads: everything gwlz_e1_decompress checks that does not
 * need X': the model payload, its kind, architecture and parameter count for
 * this geometry, finite parameters, and the exception list (positions below
 * n, ascending). */
gwlz_error gwlz_e1_validate(const gwlz_enh_params *p, const uint8_t *models, size_t models_size,
                             const uint8_t *exc, size_t exc_size) {
  gwlz_error e;
  enh_hdr h;
  if ((e = gwlz_enh_check_params(p)) != GWLZ_OK) return e;
  if (models_size == 0) return exc_size ? GWLZ_ERR_CORRUPT : GWLZ_OK;
  if ((e = enh_parse(models, models_size, &h)) != GWLZ_OK) return e;
  if (p->policy == GWLZ_BOUND_RELAXED && exc_size) return GWLZ_ERR_CORRUPT;
  const gwlz_enh_kind *kind = enh_kind_for(h.kind);
  if (!kind) return GWLZ_ERR_UNSUPPORTED;
  gwlz_enh_data d;
  memset(&d, 0, sizeof(d));
  d.type = p->type;
  enh_squeeze(p, &d);
  d.n = p->n;
  d.eb = p->abs_eb;
  d.threads = 1;
  if (kind->nparams(&d, h.arch) != h.P) return GWLZ_ERR_CORRUPT;
  const size_t ps = h.prec == ENH_PREC_F32 ? 4 : 2;
  for (size_t j = 0; j < (size_t)h.K * h.P; j++) {
    const uint8_t *q = h.params_raw + j * ps;
    float f;
    if (ps == 4) {
      uint32_t u = gwlz_load_u32(q);
      memcpy(&f, &u, 4);
    } else {
      f = enh_f16_to_f32((uint16_t)(q[0] | (q[1] << 8)));
    }
    if (!isfinite(f)) return GWLZ_ERR_CORRUPT;
  }
  if (exc_size == 0) return GWLZ_OK;
  gwlz_rbuf r;
  uint8_t v;
  uint64_t cnt;
  gwlz_rbuf_init(&r, exc, exc_size);
  if ((e = gwlz_rbuf_u8(&r, &v)) != GWLZ_OK) return e;
  if (v != EXC_PAYLOAD_VERSION) return GWLZ_ERR_VERSION;
  if ((e = gwlz_rbuf_varint(&r, &cnt)) != GWLZ_OK) return e;
  if (cnt < 1 || cnt > p->n) return GWLZ_ERR_CORRUPT;
  size_t vl = 1;
  for (uint64_t v2 = (uint64_t)p->n; v2 >= 0x80; v2 >>= 7) vl++;
  uint8_t *raw = NULL;
  size_t rawn = 0;
  if ((e = gwlz_lossless_unpack(&r, (size_t)cnt * vl, &raw, &rawn)) != GWLZ_OK) return e;
  if (gwlz_rbuf_left(&r) != 0) e = GWLZ_ERR_CORRUPT;
  gwlz_rbuf q;
  gwlz_rbuf_init(&q, raw, rawn);
  uint64_t prev = 0;
  for (uint64_t k = 0; e == GWLZ_OK && k < cnt; k++) {
    uint64_t dlt, pos;
    if (gwlz_rbuf_varint(&q, &dlt) != GWLZ_OK || (k > 0 && dlt >= (uint64_t)p->n)) {
      e = GWLZ_ERR_CORRUPT;
      break;
    }
    pos = k == 0 ? dlt : prev + 1 + dlt;
    if (pos >= (uint64_t)p->n) e = GWLZ_ERR_CORRUPT;
    prev = pos;
  }
  if (e == GWLZ_OK && gwlz_rbuf_left(&q) != 0) e = GWLZ_ERR_CORRUPT;
  free(raw);
  return e;
}
