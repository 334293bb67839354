/*
 * base.c - dispatch between the base compressors (base.h), the shared raw
 * mode, and the choice of a base for GWLZ_BASE_AUTO.
 *
 * Mode 0 (raw) payload:
 *
 *   off size  field      meaning
 *   0   u8    version    1 (a decoder rejects other values: GWLZ_ERR_VERSION)
 *   1   u8    mode       0
 *   2   ...   block      lossless block (format/lossless.h: u64 raw size, u64
 *                        packed size, zstd frame) holding the n values,
 *                        little-endian, C order; raw size = n * sizeof(type).
 *                        Nothing may follow the block.
 *
 * The other modes belong to one implementation each (base.h).
 */
#include "base/base.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "base/quantizer.h"
#include "format/lossless.h"

/* Largest extent accepted (keeps 5 * stride arithmetic far from overflow). */
#define BASE_MAX_EXTENT ((size_t)1 << 60)

extern const gwlz_base_impl gwlz_base_wavelet; /* base/wavelet.c */

const gwlz_base_impl *const gwlz_base_impls[GWLZ_BASE_COUNT] = {
    NULL, /* GWLZ_BASE_AUTO */
    &gwlz_base_interp,
    &gwlz_base_wavelet,
#ifdef GWLZ_HAVE_ZFP
    &gwlz_base_zfp,
#else
    NULL, /* GWLZ_BASE_ZFP: built without libzfp (-DGWLZ_ZFP=OFF) */
#endif
};

/* The base that owns each payload mode. */
static const gwlz_base mode_owner[GWLZ_BASE_NMODES] = {
    GWLZ_BASE_AUTO, /* raw: shared */
    GWLZ_BASE_INTERP, GWLZ_BASE_INTERP, GWLZ_BASE_WAVELET, GWLZ_BASE_ZFP,
    GWLZ_BASE_AUTO /* chunked: each chunk names its own base */, GWLZ_BASE_INTERP};

gwlz_error gwlz_base_squeeze(const gwlz_base_params *p, gwlz_shape *s) {
  size_t total = 1;
  if (p->ndims < 1 || p->ndims > GWLZ_MAX_DIMS) return GWLZ_ERR_PARAM;
  s->nd = 0;
  for (int i = 0; i < p->ndims; i++) {
    if (p->dims[i] == 0) return GWLZ_ERR_PARAM;
    if (p->dims[i] > BASE_MAX_EXTENT) return GWLZ_ERR_TOO_LARGE;
    if (!gwlz_mul_size(total, p->dims[i], &total)) return GWLZ_ERR_TOO_LARGE;
    if (p->dims[i] > 1) s->n[s->nd++] = p->dims[i];
  }
  if (s->nd == 0) s->n[s->nd++] = 1;
  if (total != p->n) return GWLZ_ERR_PARAM;
  s->total = total;
  return GWLZ_OK;
}

void gwlz_base_prefix(gwlz_wbuf *out, int mode) {
  gwlz_wbuf_u8(out, GWLZ_BASE_PAYLOAD_VERSION);
  gwlz_wbuf_u8(out, (uint8_t)mode);
}

/* ---- samples for the estimates --------------------------------------------- */

static const size_t sample_side[5] = {0, 32768, 192, 48, 14};
#define SAMPLE_FRACTION 0.02
#define SAMPLE_MAXBLK 16

void gwlz_base_sample_init(gwlz_base_sample *sm, const gwlz_shape *s) {
  sm->bs = *s;
  sm->nblk = 1;
  sm->whole = 1;
  sm->rng = 0x57A7E11Du;
  if (s->total <= GWLZ_BASE_EST_WHOLE) return;
  size_t bn = 1;
  for (int d = 0; d < s->nd; d++) {
    sm->bs.n[d] = s->n[d] < sample_side[s->nd] ? s->n[d] : sample_side[s->nd];
    bn *= sm->bs.n[d];
  }
  sm->bs.total = bn;
  sm->whole = bn == s->total;
  double want = (double)s->total * SAMPLE_FRACTION / (double)bn;
  sm->nblk = want < 1 ? 1 : (want > SAMPLE_MAXBLK ? SAMPLE_MAXBLK : (int)(want + 0.5));
  if (sm->whole) sm->nblk = 1;
}

void gwlz_base_sample_next(gwlz_base_sample *sm, const gwlz_shape *s, size_t *o) {
  for (int d = 0; d < 4; d++) o[d] = 0;
  for (int d = 0; d < s->nd; d++) {
    size_t room = s->n[d] - sm->bs.n[d];
    o[d] = room ? (size_t)(gwlz_rng_uniform(&sm->rng) * (double)(room + 1)) : 0;
    if (o[d] > room) o[d] = room;
  }
}

void gwlz_base_copy_block(const gwlz_shape *s, const size_t *o, const size_t *bn,
                          const void *data, void *dst, size_t ts) {
  size_t N[4] = {1, 1, 1, 1}, B[4] = {1, 1, 1, 1}, O[4] = {0, 0, 0, 0}, S[4];
  const int p = 4 - s->nd;
  for (int e = 0; e < s->nd; e++) {
    N[p + e] = s->n[e];
    B[p + e] = bn[e];
    O[p + e] = o[e];
  }
  S[3] = 1;
  for (int a = 2; a >= 0; a--) S[a] = S[a + 1] * N[a + 1];
  uint8_t *d = (uint8_t *)dst;
  for (size_t i0 = 0; i0 < B[0]; i0++)
    for (size_t i1 = 0; i1 < B[1]; i1++)
      for (size_t i2 = 0; i2 < B[2]; i2++) {
        size_t src = (O[0] + i0) * S[0] + (O[1] + i1) * S[1] + (O[2] + i2) * S[2] + O[3];
        memcpy(d, (const uint8_t *)data + src * ts, B[3] * ts);
        d += B[3] * ts;
      }
}

/* ---- raw mode ------------------------------------------------------------ */

static gwlz_error raw_compress(const void *data, size_t bytes, gwlz_wbuf *out) {
  gwlz_base_prefix(out, GWLZ_BASE_MODE_RAW);
  if (out->err != GWLZ_OK) return out->err;
  return gwlz_lossless_pack(data, bytes, out, GWLZ_ZSTD_LEVEL);
}

static gwlz_error raw_decompress(gwlz_rbuf *r, const gwlz_shape *s, int isd, size_t bytes,
                                 void *out) {
  uint8_t *raw = NULL;
  size_t n;
  gwlz_error e;
  if ((e = gwlz_lossless_unpack(r, bytes, &raw, &n)) != GWLZ_OK) return e;
  if (n != bytes) {
    free(raw);
    return GWLZ_ERR_CORRUPT;
  }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  (void)s;
  (void)isd;
  memcpy(out, raw, bytes);
#else
  for (size_t i = 0; i < s->total; i++) {
    if (isd) {
      uint64_t u = gwlz_load_u64(raw + 8 * i);
      memcpy((double *)out + i, &u, 8);
    } else {
      uint32_t u = gwlz_load_u32(raw + 4 * i);
      memcpy((float *)out + i, &u, 4);
    }
  }
#endif
  free(raw);
  return r->pos == r->size ? GWLZ_OK : GWLZ_ERR_CORRUPT;
}

/* ---- choice ---------------------------------------------------------------- */

/* GWLZ_BASE_AUTO: every built-in base with an estimate predicts its bits per
 * value R and mean squared error D on the same sample of the field
 * (gwlz_base_sample, except the interp base, whose estimate on a large
 * field corrects its sample blocks by statistics of the whole field), at the
 * bound and at twice the bound. Each base's two
 * points span a piece of its rate-distortion curve: quality
 * q = -10 log10(D) against x = log2(R), a line between the two points, whose
 * slope (dB per doubling of R) is clamped to [1, 30]. Two bases are compared
 * at equal rate where their pieces meet: in the middle of the overlap of
 * their rate intervals, or, when the intervals do not overlap, halfway
 * across the gap, so that each line is extended as little as possible (lines
 * extended far overrate a steep low-rate piece: a curve flattens as the rate
 * grows). The wavelet base is the first champion; another base replaces the
 * champion only when better by AUTO_MARGIN_DB at equal rate, and on a
 * sampled field only after a real run of both (compress_auto). The margin
 * absorbs the estimates' bias (measured on the 256^3 cosmology chunks: a
 * margin of 0 with the real runs lost 0.7 dB on temperature, 2 dB none),
 * while where the interp base is really better (vasp_aeccar0, the HST
 * image) its estimate wins by far more. The interp base is used when no
 * estimate succeeds. */
#define AUTO_MARGIN_DB 2.0
typedef struct {
  double x0, x1; /* log2 R at twice the bound and at the bound (x0 <= x1) */
  double q1;     /* quality at x1 (the bound)                              */
  double slope;  /* dB per doubling of R                                   */
} rd_piece;

static double piece_at(const rd_piece *c, double x) { return c->q1 + c->slope * (x - c->x1); }

/* 1 when a is better than b by more than margin dB at equal rate. */
static int piece_better(const rd_piece *a, const rd_piece *b, double margin) {
  /* lo <= hi: the overlap; lo > hi: the gap between the nearer ends */
  const double lo = a->x0 > b->x0 ? a->x0 : b->x0, hi = a->x1 < b->x1 ? a->x1 : b->x1;
  const double x = 0.5 * (lo + hi);
  return piece_at(a, x) > piece_at(b, x) + margin;
}

static int estimate_piece(const gwlz_base_impl *im, const gwlz_base_params *p, const void *data,
                          rd_piece *c, double *bits) {
  double r0, d0, r1, d1;
  if (im->estimate(p, data, &r0, &d0) != GWLZ_OK || !(r0 >= 0) || !(d0 >= 0)) return 0;
  gwlz_base_params p2 = *p;
  p2.abs_eb = 2.0 * p->abs_eb;
  if (im->estimate(&p2, data, &r1, &d1) != GWLZ_OK || !(r1 >= 0) || !(d1 >= 0)) {
    r1 = r0;
    d1 = d0;
  }
  r0 = r0 > 1e-6 ? r0 : 1e-6;
  r1 = r1 > 1e-6 ? r1 : 1e-6;
  if (r1 > r0) r1 = r0;
  const double q0 = -10.0 * log10(d0 > DBL_MIN ? d0 : DBL_MIN);
  const double q2 = -10.0 * log10(d1 > DBL_MIN ? d1 : DBL_MIN);
  const double s = r0 > r1 * 1.0001 ? (q0 - q2) / log2(r0 / r1) : 8.0;
  c->x1 = log2(r0);
  c->x0 = log2(r1);
  c->q1 = q0;
  c->slope = !(s >= 1.0) ? 1.0 : (s > 30.0 ? 30.0 : s);
  *bits = r0;
  return 1;
}

/* The choice: the winner, its piece and the wavelet base's (have_wv: it
 * has one). */
typedef struct {
  gwlz_base best;
  rd_piece best_piece, wv_piece;
  int have_wv;
  double est_bits;
} base_choice;

static void choose_base(const gwlz_base_params *p, const void *data, base_choice *ch) {
  rd_piece c;
  int have = 0;
  double bits;
  memset(ch, 0, sizeof *ch);
  ch->best = GWLZ_BASE_INTERP;
  static const gwlz_base order[] = {GWLZ_BASE_WAVELET, GWLZ_BASE_INTERP, GWLZ_BASE_ZFP};
  for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
    const gwlz_base_impl *im = gwlz_base_impls[order[k]];
    if (!im || !im->estimate || !estimate_piece(im, p, data, &c, &bits)) continue;
    if (order[k] == GWLZ_BASE_WAVELET) {
      ch->wv_piece = c;
      ch->have_wv = 1;
    }
    if (!have || piece_better(&c, &ch->best_piece, AUTO_MARGIN_DB)) {
      ch->best_piece = c;
      ch->best = order[k];
      ch->est_bits = bits;
      have = 1;
    }
  }
}

/* Compress with base b into pay (cleared first). */
static gwlz_error compress_with(const gwlz_base_params *p, gwlz_base b, const void *data,
                                void *recon, uint8_t *aux, gwlz_wbuf *pay, gwlz_base_info *bi) {
  const gwlz_base_impl *im = gwlz_base_impls[b];
  if (!im) return GWLZ_ERR_UNSUPPORTED;
  pay->size = 0;
  bi->base = b;
  gwlz_error e = im->compress(p, data, recon, aux, pay, bi);
  return e == GWLZ_OK ? pay->err : e;
}

/* The piece of a real compression: its bits per value and error at the
 * bound, the slope (and span) of the estimated piece est. */
static rd_piece real_piece(const rd_piece *est, size_t bytes, const void *data, const void *recon,
                           size_t n, int isd) {
  double se = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = gwlz_ld(data, i, isd) - gwlz_ld(recon, i, isd);
    se += d * d;
  }
  const double mse = n ? se / (double)n : 0.0, r = n ? 8.0 * (double)bytes / (double)n : 0.0;
  rd_piece c = *est;
  c.x1 = log2(r > 1e-6 ? r : 1e-6);
  c.x0 = c.x1 - (est->x1 - est->x0);
  c.q1 = -10.0 * log10(mse > DBL_MIN ? mse : DBL_MIN);
  return c;
}

/* GWLZ_BASE_AUTO. When the estimates were made on sample blocks (a large
 * field or chunk) and another base than the wavelet base won, both are run
 * for real and compared at equal rate through their real points at the
 * bound (the estimated slopes): sampled estimates of the interp base's
 * schedule can be several dB off on large heterogeneous fields (256^3
 * velocity chunks: 5 to 7 dB better estimated, 1 to 3 dB worse really). */
static gwlz_error compress_auto(const gwlz_base_params *p, const gwlz_shape *s, const void *data,
                                void *recon, uint8_t *aux, gwlz_wbuf *pay, gwlz_base_info *bi) {
  base_choice ch;
  choose_base(p, data, &ch);
  bi->est_bits = ch.est_bits;
  gwlz_error e = compress_with(p, ch.best, data, recon, aux, pay, bi);
  if (e != GWLZ_OK || ch.best == GWLZ_BASE_WAVELET || !ch.have_wv ||
      s->total <= GWLZ_BASE_EST_WHOLE)
    return e;
  const size_t ts = gwlz_type_size(p->type), n = s->total;
  const int isd = p->type == GWLZ_TYPE_DOUBLE;
  void *rec2 = malloc(n * ts);
  uint8_t *aux2 = aux ? (uint8_t *)malloc(n) : NULL;
  gwlz_wbuf pay2;
  gwlz_wbuf_init(&pay2);
  gwlz_base_info bi2 = *bi;
  if (!rec2 || (aux && !aux2)) e = GWLZ_ERR_MEMORY;
  if (e == GWLZ_OK) e = compress_with(p, GWLZ_BASE_WAVELET, data, rec2, aux2, &pay2, &bi2);
  if (e == GWLZ_OK) {
    rd_piece a = real_piece(&ch.best_piece, pay->size, data, recon, n, isd);
    rd_piece w = real_piece(&ch.wv_piece, pay2.size, data, rec2, n, isd);
    if (!piece_better(&a, &w, 0.0)) { /* the wavelet base after all */
      gwlz_wbuf t = *pay;
      *pay = pay2;
      pay2 = t;
      memcpy(recon, rec2, n * ts);
      if (aux) memcpy(aux, aux2, n);
      *bi = bi2;
    }
  }
  gwlz_wbuf_free(&pay2);
  free(rec2);
  free(aux2);
  return e;
}

gwlz_error gwlz_base_compress(const gwlz_base_params *p, gwlz_base which, const void *data,
                              void *recon, uint8_t *aux, gwlz_wbuf *out, gwlz_base_info *info) {
  gwlz_shape s;
  size_t bytes;
  gwlz_error e;
  gwlz_base_info bi;
  if (!p || !data || !recon || !out) return GWLZ_ERR_PARAM;
  if (p->type != GWLZ_TYPE_FLOAT && p->type != GWLZ_TYPE_DOUBLE) return GWLZ_ERR_PARAM;
  if (!(p->abs_eb >= 0.0) || !isfinite(p->abs_eb)) return GWLZ_ERR_PARAM;
  if ((int)which < 0 || (int)which >= GWLZ_BASE_COUNT) return GWLZ_ERR_PARAM;
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  if (!gwlz_mul_size(s.total, gwlz_type_size(p->type), &bytes)) return GWLZ_ERR_TOO_LARGE;
  memset(&bi, 0, sizeof bi);
  bi.base = which;
  bi.mode = GWLZ_BASE_MODE_RAW;

  gwlz_wbuf pay;
  gwlz_wbuf_init(&pay);
  /* A bound below the smallest normal double is treated as lossless. */
  if (p->abs_eb >= DBL_MIN) {
    if (which == GWLZ_BASE_AUTO && p->fast && gwlz_base_impls[GWLZ_BASE_INTERP])
      e = compress_with(p, GWLZ_BASE_INTERP, data, recon, aux, &pay, &bi);
    else if (which == GWLZ_BASE_AUTO)
      e = compress_auto(p, &s, data, recon, aux, &pay, &bi);
    else
      e = compress_with(p, which, data, recon, aux, &pay, &bi);
    if (e != GWLZ_OK) {
      gwlz_wbuf_free(&pay);
      return e;
    }
  }
  /* Raw when the bound is 0 or that is smaller (checked by actually packing
   * the raw bytes when the lossy payload is not clearly smaller). */
  if (pay.size == 0 || pay.size + 64 > bytes / 8) {
    gwlz_wbuf rawb;
    gwlz_wbuf_init(&rawb);
    e = raw_compress(data, bytes, &rawb);
    if (e == GWLZ_OK) e = rawb.err;
    if (e == GWLZ_OK && (pay.size == 0 || rawb.size <= pay.size)) {
      gwlz_wbuf_free(&pay);
      pay = rawb;
      memcpy(recon, data, bytes);
      if (aux) memset(aux, GWLZ_AUX_EXACT, s.total);
      bi.unpredictable = 0;
      bi.mode = GWLZ_BASE_MODE_RAW;
    } else {
      gwlz_wbuf_free(&rawb);
      if (e != GWLZ_OK) {
        gwlz_wbuf_free(&pay);
        return e;
      }
    }
  }
  gwlz_wbuf_put(out, pay.data, pay.size);
  gwlz_wbuf_free(&pay);
  if (info) *info = bi;
  return out->err;
}

gwlz_error gwlz_base_peek(const uint8_t *payload, size_t size, gwlz_base *base, int *mode) {
  gwlz_rbuf r;
  uint8_t ver, m;
  gwlz_error e;
  gwlz_rbuf_init(&r, payload, size);
  if ((e = gwlz_rbuf_u8(&r, &ver)) != GWLZ_OK) return e;
  if (ver != GWLZ_BASE_PAYLOAD_VERSION) return GWLZ_ERR_VERSION;
  if ((e = gwlz_rbuf_u8(&r, &m)) != GWLZ_OK) return e;
  if (m >= GWLZ_BASE_NMODES) return GWLZ_ERR_CORRUPT;
  if (base) *base = m == GWLZ_BASE_MODE_RAW ? GWLZ_BASE_AUTO : mode_owner[m];
  if (mode) *mode = m;
  return GWLZ_OK;
}

gwlz_error gwlz_base_decompress(const gwlz_base_params *p, const uint8_t *payload,
                                size_t size, void *out, uint8_t *aux) {
  gwlz_shape s;
  size_t bytes;
  gwlz_base b;
  int mode;
  gwlz_error e;
  if (!p || !out || (!payload && size)) return GWLZ_ERR_PARAM;
  if (p->type != GWLZ_TYPE_FLOAT && p->type != GWLZ_TYPE_DOUBLE) return GWLZ_ERR_PARAM;
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  if (!gwlz_mul_size(s.total, gwlz_type_size(p->type), &bytes)) return GWLZ_ERR_TOO_LARGE;
  if ((e = gwlz_base_peek(payload, size, &b, &mode)) != GWLZ_OK) return e;
  if (mode == GWLZ_BASE_MODE_CHUNKED) return GWLZ_ERR_CORRUPT; /* not here (stream.c) */
  if (mode == GWLZ_BASE_MODE_RAW) {
    gwlz_rbuf r;
    gwlz_rbuf_init(&r, payload + 2, size - 2);
    e = raw_decompress(&r, &s, p->type == GWLZ_TYPE_DOUBLE, bytes, out);
    if (e == GWLZ_OK && aux) memset(aux, GWLZ_AUX_EXACT, s.total);
    return e;
  }
  const gwlz_base_impl *im = gwlz_base_impls[b];
  if (!im) return GWLZ_ERR_UNSUPPORTED;
  return im->decompress(p, payload, size, out, aux);
}

gwlz_error gwlz_base_check(const gwlz_base_params *p, const uint8_t *payload, size_t size) {
  gwlz_shape s;
  size_t bytes, raw;
  gwlz_base b;
  int mode;
  gwlz_error e;
  if (!p || (!payload && size)) return GWLZ_ERR_PARAM;
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  if (!gwlz_mul_size(s.total, gwlz_type_size(p->type), &bytes)) return GWLZ_ERR_TOO_LARGE;
  if ((e = gwlz_base_peek(payload, size, &b, &mode)) != GWLZ_OK) return e;
  if (mode == GWLZ_BASE_MODE_CHUNKED) return GWLZ_OK; /* checked by stream.c */
  if (mode != GWLZ_BASE_MODE_RAW) return gwlz_base_impls[b] ? GWLZ_OK : GWLZ_ERR_UNSUPPORTED;
  gwlz_rbuf r;
  gwlz_rbuf_init(&r, payload + 2, size - 2);
  if ((e = gwlz_lossless_check(&r, bytes, &raw)) != GWLZ_OK) return e;
  return raw == bytes && r.pos == r.size ? GWLZ_OK : GWLZ_ERR_CORRUPT;
}
