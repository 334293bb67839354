/*
 * wavelet.c - the wavelet base (BASE mode 3, docs/format.md §9.9):
 *
 *   x - mean -> multilevel CDF 9/7 (wavelet_xform.c) -> dead-zone uniform
 *   quantization with step q -> context-modelled range coding of the
 *   integers (wavelet_code.c) -> decoder reconstruction (dequantization
 *   with fitted offsets, inverse transform, rounding to the data type) ->
 *   correction list: every value still farther than the bound from the
 *   original gets a multiple of the correction step added, or is stored
 *   exactly.
 *
 * The compressor computes X' with the decoder's own dequantization, inverse
 * transform, rounding and correction code, on the same integers, so the two
 * agree bit for bit.
 *
 * Side information (aux, base.h): bits 0..3 hold the local detail level of
 * the value: the finest level l (0 = finest) with a non-zero detail
 * coefficient at the value's place (its position shifted right by the
 * level's halvings along every transformed axis, in any subband of that
 * level), or the number of levels L where none is non-zero (capped at 15);
 * bit 4 (and GWLZ_AUX_CODED) marks a value changed by a correction;
 * GWLZ_AUX_EXACT a value stored exactly.
 */
#include "base/wavelet.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "base/base.h"
#include "base/wavelet_code.h"
#include "base/wavelet_xform.h"

gwlz_wv_tuning gwlz_wv_tune = {0.9, 0.5, 1.0, 16, 6, 1, 0.7};

#define WV_AUX_CORRECTED 0x10
#define WV_HUGE 0x1p960 /* larger values skip the transform (no overflow in it) */
/* the decoder's buffers in a workspace (gwlz_base_params.ws) */
enum { WS_COEFS, WS_INTS, WS_SCRATCH };
#define WV_FLAGS_MASK 0x00

typedef struct {
  int nd;
  int flags;
  int lev[4];
  double mean, q, s;
  int sm;                 /* correction step s = q * sm / 64, sm in 1..255 */
  uint8_t off[2 * GWLZ_WV_MAX_LEVELS];
  uint64_t ncorr;
} wv_header;

static double getv(const void *a, size_t i, int isd) {
  return isd ? ((const double *)a)[i] : (double)((const float *)a)[i];
}

/* Round a double to the data type and store it (no out-of-range cast). */
static inline void putv(void *a, size_t i, int isd, double r) {
  if (isd)
    ((double *)a)[i] = r;
  else if (GWLZ_LIKELY(fabs(r) <= (double)FLT_MAX))
    ((float *)a)[i] = (float)r;
  else
    ((float *)a)[i] = r > 0.0 ? INFINITY : (r < 0.0 ? -INFINITY : NAN);
}

int gwlz_wv_choose_levels(size_t n, const gwlz_wv_tuning *t) {
  int l = 0;
  size_t mn = t->min_len < 2 ? 2 : (size_t)t->min_len;
  while (n >= mn && l < t->max_levels && l < GWLZ_WV_MAX_LEVELS) {
    n = (n + 1) / 2;
    l++;
  }
  return l;
}

static void geom_init(gwlz_wv_geom *g, const gwlz_shape *s, const int *lev) {
  g->nd = s->nd;
  g->L = 0;
  for (int e = 0; e < 4; e++) {
    g->n[e] = e < s->nd ? s->n[e] : 1;
    g->lev[e] = e < s->nd ? lev[e] : 0;
    if (g->lev[e] > g->L) g->L = g->lev[e];
  }
}

/* ---- (de)quantization ---------------------------------------------------- */

/* Runs the statements (the variadic part) for every coefficient of a band,
 * with pos its linear position, in C order. */
#define FOR_BAND(b, bd, pos, ...)                                                     \
  for (size_t i0_ = 0; i0_ < (bd)->ext[0]; i0_++)                                      \
    for (size_t i1_ = 0; i1_ < (bd)->ext[1]; i1_++)                                    \
      for (size_t i2_ = 0; i2_ < (bd)->ext[2]; i2_++) {                                \
        size_t row_ = ((bd)->off[0] + i0_) * (b)->S[0] + ((bd)->off[1] + i1_) * (b)->S[1] + \
                      ((bd)->off[2] + i2_) * (b)->S[2] + (bd)->off[3];                 \
        for (size_t i3_ = 0; i3_ < (bd)->ext[3]; i3_++) {                              \
          size_t pos = row_ + i3_;                                                     \
          __VA_ARGS__                                                                  \
        }                                                                              \
      }

/* c = dequantized coefficients (docs/format.md §9.9.6); magnitudes below
 * WV_DQ_TAB from a table of the same expressions. */
#define WV_DQ_TAB 16
static void dequantize(const gwlz_wv_bands *b, const int32_t *k, double *c, double q,
                       const uint8_t *off) {
  for (int bi = 0; bi < b->nbands; bi++) {
    const gwlz_wv_band *bd = &b->band[bi];
    double d1 = 0.0, d2 = 0.0, tab[WV_DQ_TAB];
    if (bd->orient) {
      d1 = (double)off[2 * bd->level] / 256.0;
      d2 = (double)off[2 * bd->level + 1] / 256.0;
    }
    tab[0] = 0.0;
    tab[1] = (1.0 - d1) * q;
    for (int a = 2; a < WV_DQ_TAB; a++) tab[a] = ((double)a - d2) * q;
    FOR_BAND(b, bd, pos, {
      int32_t v = k[pos];
      uint32_t a = v < 0 ? (uint32_t)(-(int64_t)v) : (uint32_t)v;
      double r = a < WV_DQ_TAB ? tab[a] : ((double)a - d2) * q;
      c[pos] = v < 0 ? -r : r;
    })
  }
}

/* Quantize c into k. Returns 0 when a coefficient does not fit in
 * GWLZ_WV_KBITS bits at this step. */
int gwlz_wv_quantize(const gwlz_wv_bands *b, const double *c, int32_t *k, double q, double thr) {
  const double inv = 1.0 / q, add = 1.0 - thr, lim = (double)GWLZ_WV_KMAX;
  int fits = 1;
  for (int bi = 0; bi < b->nbands; bi++) {
    const gwlz_wv_band *bd = &b->band[bi];
    FOR_BAND(b, bd, pos, {
      double u = fabs(c[pos]) * inv;
      int32_t v = 0;
      if (u >= thr) {
        double f = floor(u + add);
        if (f >= lim) {
          f = lim;
          fits = 0;
        }
        v = (int32_t)f;
        if (c[pos] < 0) v = -v;
      }
      k[pos] = v;
    })
  }
  return fits;
}

/* The reconstruction offsets of every detail level: the mean of |k| - |c| / q
 * over |k| = 1 and over |k| >= 2, in 1/256, within 0..127. */
void gwlz_wv_fit_offsets(const gwlz_wv_bands *b, const double *c, const int32_t *k, double q,
                        int L, uint8_t *off) {
  const double inv = 1.0 / q;
  for (int l = 0; l < L; l++) {
    double s1 = 0, s2 = 0, n1 = 0, n2 = 0;
    for (int bi = 0; bi < b->nbands; bi++) {
      const gwlz_wv_band *bd = &b->band[bi];
      if (!bd->orient || bd->level != l) continue;
      FOR_BAND(b, bd, pos, {
        int32_t v = k[pos];
        if (v) {
          double a = fabs((double)v), u = fabs(c[pos]) * inv;
          if (a == 1.0) {
            s1 += a - u;
            n1 += 1;
          } else {
            s2 += a - u;
            n2 += 1;
          }
        }
      })
    }
    double d1 = n1 > 0 ? s1 / n1 : 0.0, d2 = n2 > 0 ? s2 / n2 : 0.0;
    double r1 = floor(d1 * 256.0 + 0.5), r2 = floor(d2 * 256.0 + 0.5);
    off[2 * l] = (uint8_t)(r1 < 0 ? 0 : (r1 > 127 ? 127 : r1));
    off[2 * l + 1] = (uint8_t)(r2 < 0 ? 0 : (r2 > 127 ? 127 : r2));
  }
}

/* Set to 0 every detail coefficient with |k| = 1, |c| / q < thr and no
 * non-zero neighbour one step along any axis of its band. */
void gwlz_wv_prune_isolated(const gwlz_wv_bands *b, const double *c, int32_t *k, double q,
                           double thr) {
  const double inv = 1.0 / q;
  for (int bi = 0; bi < b->nbands; bi++) {
    const gwlz_wv_band *bd = &b->band[bi];
    if (!bd->orient) continue;
    size_t cc[4];
    for (cc[0] = 0; cc[0] < bd->ext[0]; cc[0]++)
      for (cc[1] = 0; cc[1] < bd->ext[1]; cc[1]++)
        for (cc[2] = 0; cc[2] < bd->ext[2]; cc[2]++)
          for (cc[3] = 0; cc[3] < bd->ext[3]; cc[3]++) {
            size_t pos = (bd->off[0] + cc[0]) * b->S[0] + (bd->off[1] + cc[1]) * b->S[1] +
                         (bd->off[2] + cc[2]) * b->S[2] + bd->off[3] + cc[3];
            if (k[pos] != 1 && k[pos] != -1) continue;
            if (fabs(c[pos]) * inv >= thr) continue;
            int iso = 1;
            for (int a = 0; a < 4 && iso; a++) {
              if (cc[a] > 0 && k[pos - b->S[a]]) iso = 0;
              if (cc[a] + 1 < bd->ext[a] && k[pos + b->S[a]]) iso = 0;
            }
            if (iso) k[pos] = 0;
          }
  }
}

/* ---- reconstruction --------------------------------------------------------- */

/* Decoder steps of §9.9.4 on decoded integers: dequantization and the
 * inverse transform, in place in c. */
static gwlz_error synthesize(const gwlz_wv_geom *g, const gwlz_wv_bands *b, const int32_t *k,
                             double *c, const wv_header *h, gwlz_ws *ws) {
  double *scratch = (double *)gwlz_ws_take(ws, WS_SCRATCH, gwlz_wv_scratch_size(g) * sizeof(double));
  if (!scratch) return GWLZ_ERR_MEMORY;
  dequantize(b, k, c, h->q, h->off);
  gwlz_wv_inverse(c, g, scratch);
  gwlz_ws_give(ws, WS_SCRATCH, scratch);
  return GWLZ_OK;
}

/* X' before corrections: the synthesized value plus the mean, rounded to
 * the data type. */
static void finish(const double *c, double mean, void *out, int isd, size_t n) {
  if (isd) {
    double *o = (double *)out;
    for (size_t i = 0; i < n; i++) o[i] = c[i] + mean;
  } else {
    for (size_t i = 0; i < n; i++) putv(out, i, 0, c[i] + mean);
  }
}

static void apply_corr(void *out, int isd, const gwlz_wv_corr *cr, double s) {
  if (cr->k == 0) {
    if (isd) {
      memcpy((double *)out + cr->pos, &cr->bits, 8);
    } else {
      uint32_t u = (uint32_t)cr->bits;
      memcpy((float *)out + cr->pos, &u, 4);
    }
  } else {
    putv(out, cr->pos, isd, getv(out, cr->pos, isd) + (double)cr->k * s);
  }
}

/* ---- side information --------------------------------------------------------- */

static gwlz_error make_aux(const gwlz_wv_geom *g, const gwlz_wv_bands *b, const int32_t *k,
                           uint8_t *aux, size_t n) {
  const int L = g->L, p = 4 - g->nd;
  if (L == 0) {
    memset(aux, 0, n);
    return GWLZ_OK;
  }
  uint8_t *map[GWLZ_WV_MAX_LEVELS];
  size_t G[GWLZ_WV_MAX_LEVELS][4], GS[GWLZ_WV_MAX_LEVELS][4];
  gwlz_error e = GWLZ_OK;
  for (int l = 0; l < L; l++) map[l] = NULL;
  for (int l = 0; l < L; l++) {
    size_t cnt = 1;
    for (int a = 0; a < 4; a++) G[l][a] = a >= p ? gwlz_wv_extent(g, a - p, l + 1) : 1;
    GS[l][3] = 1;
    for (int a = 2; a >= 0; a--) GS[l][a] = GS[l][a + 1] * G[l][a + 1];
    cnt = GS[l][0] * G[l][0];
    map[l] = (uint8_t *)calloc(cnt, 1);
    if (!map[l]) {
      e = GWLZ_ERR_MEMORY;
      goto done;
    }
  }
  /* non-zero detail coefficients per level */
  for (int bi = 0; bi < b->nbands; bi++) {
    const gwlz_wv_band *bd = &b->band[bi];
    if (!bd->orient) continue;
    const int l = bd->level;
    size_t c[4];
    for (c[0] = 0; c[0] < bd->ext[0]; c[0]++)
      for (c[1] = 0; c[1] < bd->ext[1]; c[1]++)
        for (c[2] = 0; c[2] < bd->ext[2]; c[2]++) {
          const int32_t *row = k + (bd->off[0] + c[0]) * b->S[0] + (bd->off[1] + c[1]) * b->S[1] +
                               (bd->off[2] + c[2]) * b->S[2] + bd->off[3];
          uint8_t *mrow = map[l] + c[0] * GS[l][0] + c[1] * GS[l][1] + c[2] * GS[l][2];
          for (size_t i = 0; i < bd->ext[3]; i++)
            if (row[i]) mrow[i] = 1;
        }
  }
  /* classes, coarsest level first */
  for (int l = L - 1; l >= 0; l--) {
    int sh[4];
    for (int a = 0; a < 4; a++) sh[a] = (a >= p && l + 1 < g->lev[a - p]) ? 1 : 0;
    size_t c[4];
    uint8_t cap = (uint8_t)(L < 15 ? L : 15), lv = (uint8_t)(l < 15 ? l : 15);
    for (c[0] = 0; c[0] < G[l][0]; c[0]++)
      for (c[1] = 0; c[1] < G[l][1]; c[1]++)
        for (c[2] = 0; c[2] < G[l][2]; c[2]++)
          for (c[3] = 0; c[3] < G[l][3]; c[3]++) {
            uint8_t *m = map[l] + c[0] * GS[l][0] + c[1] * GS[l][1] + c[2] * GS[l][2] + c[3];
            if (*m) {
              *m = lv;
            } else if (l + 1 < L) {
              size_t pp = 0;
              for (int a = 0; a < 4; a++) {
                size_t pc = c[a] >> sh[a];
                if (pc >= G[l + 1][a]) pc = G[l + 1][a] - 1;
                pp += pc * GS[l + 1][a];
              }
              *m = map[l + 1][pp];
            } else {
              *m = cap;
            }
          }
  }
  {
    int sh[4];
    size_t N[4], x[4], i = 0;
    for (int a = 0; a < 4; a++) {
      sh[a] = (a >= p && g->lev[a - p] > 0) ? 1 : 0;
      N[a] = a >= p ? g->n[a - p] : 1;
    }
    for (x[0] = 0; x[0] < N[0]; x[0]++)
      for (x[1] = 0; x[1] < N[1]; x[1]++)
        for (x[2] = 0; x[2] < N[2]; x[2]++) {
          const uint8_t *mrow = map[0] + (x[0] >> sh[0]) * GS[0][0] +
                                (x[1] >> sh[1]) * GS[0][1] + (x[2] >> sh[2]) * GS[0][2];
          for (x[3] = 0; x[3] < N[3]; x[3]++) aux[i++] = mrow[x[3] >> sh[3]];
        }
  }
done:
  for (int l = 0; l < L; l++) free(map[l]);
  return e;
}

static void mark_corr(uint8_t *aux, const gwlz_wv_corr *cr) {
  if (!aux) return;
  if (cr->k == 0)
    aux[cr->pos] = (uint8_t)((aux[cr->pos] & 0x0F) | GWLZ_AUX_EXACT);
  else
    aux[cr->pos] = (uint8_t)((aux[cr->pos] & 0x0F) | WV_AUX_CORRECTED | GWLZ_AUX_CODED);
}

/* ---- header ------------------------------------------------------------------- */

static void put_header(gwlz_wbuf *out, const wv_header *h, int L, int isd) {
  gwlz_base_prefix(out, GWLZ_BASE_MODE_WAVELET);
  gwlz_wbuf_u8(out, (uint8_t)h->nd);
  gwlz_wbuf_u8(out, (uint8_t)h->flags);
  for (int e = 0; e < h->nd; e++) gwlz_wbuf_u8(out, (uint8_t)h->lev[e]);
  if (isd)
    gwlz_wbuf_f64(out, h->mean);
  else
    gwlz_wbuf_f32(out, (float)h->mean);
  gwlz_wbuf_f64(out, h->q);
  gwlz_wbuf_u8(out, (uint8_t)h->sm);
  gwlz_wbuf_put(out, h->off, 2 * (size_t)L);
  gwlz_wbuf_varint(out, h->ncorr);
}

static gwlz_error get_header(gwlz_rbuf *r, const gwlz_shape *s, int isd, wv_header *h, int *L) {
  uint8_t u;
  gwlz_error e;
  memset(h, 0, sizeof *h);
  if ((e = gwlz_rbuf_u8(r, &u)) != GWLZ_OK) return e;
  if (u != s->nd) return GWLZ_ERR_CORRUPT;
  h->nd = u;
  if ((e = gwlz_rbuf_u8(r, &u)) != GWLZ_OK) return e;
  if (u & ~WV_FLAGS_MASK) return GWLZ_ERR_CORRUPT;
  h->flags = u;
  *L = 0;
  for (int e2 = 0; e2 < h->nd; e2++) {
    if ((e = gwlz_rbuf_u8(r, &u)) != GWLZ_OK) return e;
    if (u > gwlz_wv_max_levels(s->n[e2])) return GWLZ_ERR_CORRUPT;
    h->lev[e2] = u;
    if (u > *L) *L = u;
  }
  if (isd) {
    if ((e = gwlz_rbuf_f64(r, &h->mean)) != GWLZ_OK) return e;
  } else {
    float mf;
    if ((e = gwlz_rbuf_f32(r, &mf)) != GWLZ_OK) return e;
    h->mean = (double)mf;
  }
  if ((e = gwlz_rbuf_f64(r, &h->q)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u8(r, &u)) != GWLZ_OK) return e;
  h->sm = u;
  h->s = h->q * (double)h->sm / 64.0;
  if (!isfinite(h->mean) || !isfinite(h->q) || !(h->q > 0) || h->sm == 0 || !isfinite(h->s) ||
      !(h->s > 0))
    return GWLZ_ERR_CORRUPT;
  for (int i = 0; i < 2 * *L; i++) {
    if ((e = gwlz_rbuf_u8(r, &h->off[i])) != GWLZ_OK) return e;
    if (h->off[i] > 127) return GWLZ_ERR_CORRUPT;
  }
  if ((e = gwlz_rbuf_varint(r, &h->ncorr)) != GWLZ_OK) return e;
  if (h->ncorr > s->total) return GWLZ_ERR_CORRUPT;
  return GWLZ_OK;
}

/* ---- compressor ------------------------------------------------------------------ */

typedef struct {
  gwlz_wv_corr *v;
  size_t n, cap;
} corr_list;

static int corr_push(corr_list *l, const gwlz_wv_corr *c) {
  if (l->n == l->cap) {
    size_t nc = l->cap ? 2 * l->cap : 1024;
    gwlz_wv_corr *nv = (gwlz_wv_corr *)realloc(l->v, nc * sizeof *nv);
    if (!nv) return 0;
    l->v = nv;
    l->cap = nc;
  }
  l->v[l->n++] = *c;
  return 1;
}

/* The correction of value i whose reconstruction is in recon: a multiple
 * of s, or the exact bits. */
static void find_corr(const void *data, const void *recon, size_t i, int isd, double tol,
                      double s, gwlz_wv_corr *cr) {
  double x = getv(data, i, isd), r = getv(recon, i, isd);
  cr->pos = i;
  cr->k = 0;
  if (isd) {
    memcpy(&cr->bits, (const double *)data + i, 8);
  } else {
    uint32_t u;
    memcpy(&u, (const float *)data + i, 4);
    cr->bits = u;
  }
  if (!isfinite(r)) return;
  double t = (x - r) / s;
  if (!(fabs(t) < (double)(GWLZ_WV_KMAX - 1))) return;
  int32_t k0 = (int32_t)(t < 0 ? -floor(-t + 0.5) : floor(t + 0.5));
  int32_t cand[3] = {k0, k0 + (t > k0 ? 1 : -1), k0 - (t > k0 ? 1 : -1)};
  for (int j = 0; j < 3; j++) {
    if (cand[j] == 0) continue;
    double v = r + (double)cand[j] * s;
    double vt = isd ? v : (fabs(v) <= (double)FLT_MAX ? (double)(float)v : INFINITY);
    if (fabs(x - vt) <= tol) {
      cr->k = cand[j];
      return;
    }
  }
}

/* sum of the values (blocks of 4096 for accuracy) and max |x - mean| */
double gwlz_wv_data_mean(const void *data, size_t n, int isd) {
  double sum = 0.0;
  for (size_t i = 0; i < n; i += 4096) {
    double part = 0.0;
    size_t m = n - i < 4096 ? n - i : 4096;
    if (isd) {
      const double *x = (const double *)data + i;
      for (size_t j = 0; j < m; j++) part += x[j];
    } else {
      const float *x = (const float *)data + i;
      for (size_t j = 0; j < m; j++) part += (double)x[j];
    }
    sum += part;
  }
  return sum / (double)n;
}

/* c = x - mean; returns max |c| */
static double center(const void *data, size_t n, int isd, double mean, double *c) {
  double mx = 0.0;
  if (isd) {
    const double *x = (const double *)data;
    for (size_t i = 0; i < n; i++) {
      c[i] = x[i] - mean;
      mx = fabs(c[i]) > mx ? fabs(c[i]) : mx;
    }
  } else {
    const float *x = (const float *)data;
    for (size_t i = 0; i < n; i++) {
      c[i] = (double)x[i] - mean;
      mx = fabs(c[i]) > mx ? fabs(c[i]) : mx;
    }
  }
  return mx;
}

/* The whole compressor on a field of shape s. lev: the levels per
 * dimension (NULL: chosen from the extents). *hdr_bytes (optional): bytes
 * before the range-coded stream. */
static gwlz_error wv_encode_all(const gwlz_base_params *p, const gwlz_shape *s, const void *data,
                                void *recon, uint8_t *aux, gwlz_wbuf *out,
                                const gwlz_wv_tuning *tu, const int *lev, size_t *ncorr_out,
                                size_t *hdr_bytes) {
  const int isd = p->type == GWLZ_TYPE_DOUBLE;
  const size_t n = s->total;
  const double tol = p->abs_eb;
  gwlz_error e = GWLZ_OK;
  double *c = (double *)malloc(n * sizeof(double));
  int32_t *k = NULL;
  double *scratch = NULL;
  gwlz_wv_bands b;
  corr_list cl = {NULL, 0, 0};
  wv_header h;
  gwlz_wv_geom g;
  memset(&b, 0, sizeof b);
  memset(&h, 0, sizeof h);
  if (!c) return GWLZ_ERR_MEMORY;
  h.nd = s->nd;
  h.mean = gwlz_wv_data_mean(data, n, isd);
  if (!isd) h.mean = fabs(h.mean) <= (double)FLT_MAX ? (double)(float)h.mean : 0.0;
  double mx = isfinite(h.mean) ? center(data, n, isd, h.mean, c) : INFINITY;
  int huge = !(mx <= WV_HUGE);
  if (huge) {
    h.mean = 0.0;
    center(data, n, isd, 0.0, c);
  }
  for (int e2 = 0; e2 < s->nd; e2++)
    h.lev[e2] = huge ? 0 : (lev ? lev[e2] : gwlz_wv_choose_levels(s->n[e2], tu));
  geom_init(&g, s, h.lev);
  scratch = (double *)malloc(gwlz_wv_scratch_size(&g) * sizeof(double));
  if (!scratch) {
    e = GWLZ_ERR_MEMORY;
    goto done;
  }
  gwlz_wv_forward(c, &g, scratch);
  free(scratch);
  scratch = NULL;
  k = (int32_t *)malloc(n * sizeof(int32_t));
  if (!k) {
    e = GWLZ_ERR_MEMORY;
    goto done;
  }
  if ((e = gwlz_wv_bands_init(&b, &g)) != GWLZ_OK) goto done;
  /* the step: q_ratio * bound, larger if the integers would not fit */
  h.q = tu->q_ratio * tol;
  if (!(h.q > 0) || !isfinite(h.q)) h.q = tol;
  if (!gwlz_wv_quantize(&b, c, k, h.q, tu->zero_thr)) {
    double cmax = 0.0;
    for (size_t i = 0; i < n; i++)
      if (fabs(c[i]) > cmax) cmax = fabs(c[i]);
    h.q = cmax * 0x1p-29;
    if (!(h.q > 0) || !isfinite(h.q)) h.q = 1.0;
    gwlz_wv_quantize(&b, c, k, h.q, tu->zero_thr);
  }
  if (tu->iso_thr > 0) gwlz_wv_prune_isolated(&b, c, k, h.q, tu->iso_thr);
  if (tu->fit_offsets) gwlz_wv_fit_offsets(&b, c, k, h.q, g.L, h.off);
  /* correction step: the largest multiple of q / 64 not above corr_ratio * bound */
  {
    double sm = floor(tu->corr_ratio * tol / h.q * 64.0);
    h.sm = sm < 1 ? 1 : (sm > 255 ? 255 : (int)sm);
    /* near DBL_MAX (bounds of 1e306 and up) the step itself must stay
     * finite, as the decoder requires */
    while (h.sm > 1 && !isfinite(h.q * (double)h.sm / 64.0)) h.sm--;
    h.s = h.q * (double)h.sm / 64.0;
  }
  if ((e = synthesize(&g, &b, k, c, &h, NULL)) != GWLZ_OK) goto done;
  finish(c, h.mean, recon, isd, n);
  free(c);
  c = NULL;
  for (size_t i = 0; i < n; i++) {
    double x = getv(data, i, isd), r = getv(recon, i, isd);
    if (GWLZ_LIKELY(fabs(x - r) <= tol)) continue;
    gwlz_wv_corr cr;
    find_corr(data, recon, i, isd, tol, h.s, &cr);
    if (!corr_push(&cl, &cr)) {
      e = GWLZ_ERR_MEMORY;
      goto done;
    }
    apply_corr(recon, isd, &cr, h.s);
  }
  h.ncorr = cl.n;
  {
    size_t before = out->size;
    put_header(out, &h, g.L, isd);
    if (hdr_bytes) *hdr_bytes = out->size - before;
  }
  if ((e = gwlz_wv_encode(&b, k, cl.v, cl.n, isd, out)) != GWLZ_OK) goto done;
  if (aux) {
    if ((e = make_aux(&g, &b, k, aux, n)) != GWLZ_OK) goto done;
    for (size_t j = 0; j < cl.n; j++) mark_corr(aux, &cl.v[j]);
  }
  if (ncorr_out) *ncorr_out = cl.n;
done:
  free(c);
  free(k);
  free(scratch);
  free(cl.v);
  gwlz_wv_bands_free(&b);
  return e;
}

static gwlz_error wv_compress(const gwlz_base_params *p, const void *data, void *recon,
                              uint8_t *aux, gwlz_wbuf *out, gwlz_base_info *info) {
  gwlz_shape s;
  gwlz_error e;
  size_t ncorr = 0;
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  e = wv_encode_all(p, &s, data, recon, aux, out, &gwlz_wv_tune, NULL, &ncorr, NULL);
  if (e == GWLZ_OK && info) {
    info->mode = GWLZ_BASE_MODE_WAVELET;
    info->unpredictable = ncorr;
  }
  return e;
}

/* ---- decompressor --------------------------------------------------------------- */

static gwlz_error wv_decompress(const gwlz_base_params *p, const uint8_t *payload, size_t size,
                                void *out, uint8_t *aux) {
  gwlz_shape s;
  gwlz_rbuf r;
  gwlz_error e;
  uint8_t ver, mode;
  wv_header h;
  int L;
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  const int isd = p->type == GWLZ_TYPE_DOUBLE;
  const size_t n = s.total;
  gwlz_rbuf_init(&r, payload, size);
  if ((e = gwlz_rbuf_u8(&r, &ver)) != GWLZ_OK) return e;
  if (ver != GWLZ_BASE_PAYLOAD_VERSION) return GWLZ_ERR_VERSION;
  if ((e = gwlz_rbuf_u8(&r, &mode)) != GWLZ_OK) return e;
  if (mode != GWLZ_BASE_MODE_WAVELET) return GWLZ_ERR_CORRUPT;
  if ((e = get_header(&r, &s, isd, &h, &L)) != GWLZ_OK) return e;
  gwlz_wv_geom g;
  geom_init(&g, &s, h.lev);
  gwlz_wv_bands b;
  gwlz_wv_dec *d = NULL;
  /* float32: the integers live in the output (same size) until the end */
  int32_t *kbuf = isd ? (int32_t *)gwlz_ws_take(p->ws, WS_INTS, n * sizeof(int32_t)) : NULL;
  int32_t *k = isd ? kbuf : (int32_t *)out;
  double *c = (double *)gwlz_ws_take(p->ws, WS_COEFS, n * sizeof(double));
  memset(&b, 0, sizeof b);
  if (!k || !c) {
    e = GWLZ_ERR_MEMORY;
    goto done;
  }
  memset(k, 0, n * sizeof(int32_t));
  if ((e = gwlz_wv_bands_init(&b, &g)) != GWLZ_OK) goto done;
  e = gwlz_wv_dec_open(&d, r.data + r.pos, r.size - r.pos);
  if (e == GWLZ_OK) e = gwlz_wv_dec_coefs(d, &b, k);
  if (e != GWLZ_OK) goto done;
  if (aux && (e = make_aux(&g, &b, k, aux, n)) != GWLZ_OK) goto done;
  if ((e = synthesize(&g, &b, k, c, &h, p->ws)) != GWLZ_OK) goto done;
  finish(c, h.mean, out, isd, n); /* (float32: overwrites the integers) */
  gwlz_ws_give(p->ws, WS_COEFS, c);
  c = NULL;
  for (uint64_t j = 0; j < h.ncorr; j++) {
    gwlz_wv_corr cr;
    if ((e = gwlz_wv_dec_corr(d, n, isd, &cr)) != GWLZ_OK) goto done;
    apply_corr(out, isd, &cr, h.s);
    mark_corr(aux, &cr);
  }
done:
  if (d) {
    gwlz_error e2 = gwlz_wv_dec_close(d);
    if (e == GWLZ_OK) e = e2;
  }
  gwlz_ws_give(p->ws, WS_INTS, kbuf); /* (NULL: nothing to give) */
  gwlz_ws_give(p->ws, WS_COEFS, c);
  gwlz_wv_bands_free(&b);
  return e;
}

/* ---- estimate ------------------------------------------------------------------ */

/* Bits per value and mean squared error of the compressor on a sample of
 * the field: the whole field when small, else blocks compressed on their
 * own with the field's levels (as far as a block allows). */
static gwlz_error wv_estimate(const gwlz_base_params *p, const void *data, double *bpv,
                              double *mse) {
  gwlz_shape s;
  gwlz_error e;
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  const int isd = p->type == GWLZ_TYPE_DOUBLE;
  const size_t ts = gwlz_type_size(p->type);
  gwlz_base_sample sm;
  gwlz_base_sample_init(&sm, &s);
  const gwlz_shape bs = sm.bs;
  const size_t bn = bs.total;
  int lev[4] = {0, 0, 0, 0};
  for (int d = 0; d < s.nd; d++) {
    int lf = gwlz_wv_choose_levels(s.n[d], &gwlz_wv_tune), lb = gwlz_wv_max_levels(bs.n[d]);
    /* keep the last low-pass band at least 2 long */
    if (lb > 0 && bs.n[d] >= 4) lb--;
    lev[d] = lf < lb ? lf : lb;
  }
  gwlz_base_params bp = *p;
  bp.ndims = bs.nd;
  for (int d = 0; d < bs.nd; d++) bp.dims[d] = bs.n[d];
  bp.n = bn;
  uint8_t *blk = (uint8_t *)malloc(bn * ts), *rec = (uint8_t *)malloc(bn * ts);
  if (!blk || !rec) {
    free(blk);
    free(rec);
    return GWLZ_ERR_MEMORY;
  }
  double bits = 0, se = 0, cnt = 0;
  for (int b = 0; b < sm.nblk && e == GWLZ_OK; b++) {
    size_t o[4];
    gwlz_base_sample_next(&sm, &s, o);
    const void *src = data;
    if (!sm.whole) {
      gwlz_base_copy_block(&s, o, bs.n, data, blk, ts);
      src = blk;
    }
    gwlz_wbuf out;
    size_t hdr = 0;
    gwlz_wbuf_init(&out);
    e = wv_encode_all(&bp, &bs, src, rec, NULL, &out, &gwlz_wv_tune, lev, NULL, &hdr);
    if (e == GWLZ_OK) e = out.err;
    if (e == GWLZ_OK) {
      bits += 8.0 * (double)(out.size - hdr);
      for (size_t i = 0; i < bn; i++) {
        double d = getv(src, i, isd) - getv(rec, i, isd);
        se += d * d;
      }
      cnt += (double)bn;
    }
    gwlz_wbuf_free(&out);
  }
  free(blk);
  free(rec);
  if (e != GWLZ_OK) return e;
  *bpv = bits / cnt;
  *mse = se / cnt;
  return GWLZ_OK;
}

const gwlz_base_impl gwlz_base_wavelet = {GWLZ_BASE_WAVELET, "wavelet", wv_compress,
                                          wv_decompress, wv_estimate};
