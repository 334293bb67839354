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

#include "format/lossless.h"

/* Largest extent accepted (keeps 5 * stride arithmetic far from overflow). */
#define BASE_MAX_EXTENT ((size_t)1 << 60)

const gwlz_base_impl *const gwlz_base_impls[GWLZ_BASE_COUNT] = {
    NULL, /* GWLZ_BASE_AUTO */
    &gwlz_base_interp,
    NULL, /* GWLZ_BASE_WAVELET: not built in yet */
    NULL, /* GWLZ_BASE_ZFP: not built in yet */
};

/* The base that owns each payload mode. */
static const gwlz_base mode_owner[GWLZ_BASE_NMODES] = {
    GWLZ_BASE_AUTO, /* raw: shared */
    GWLZ_BASE_INTERP, GWLZ_BASE_INTERP, GWLZ_BASE_WAVELET, GWLZ_BASE_ZFP, GWLZ_BASE_INTERP};

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
 * value R and mean squared error D on a sample of the field; the base with
 * the lowest R + log2(D) / 2 wins, i.e. the best quality at equal size
 * under the high-rate rule that one bit per value buys 6.02 dB. The interp
 * base wins ties and is used when no estimate succeeds. */
static gwlz_base choose_base(const gwlz_base_params *p, const void *data, double *est_bits) {
  gwlz_base best = GWLZ_BASE_INTERP;
  double best_score = INFINITY;
  *est_bits = 0;
  for (int b = GWLZ_BASE_INTERP; b < GWLZ_BASE_COUNT; b++) {
    const gwlz_base_impl *im = gwlz_base_impls[b];
    double bits, mse;
    if (!im || !im->estimate) continue;
    if (im->estimate(p, data, &bits, &mse) != GWLZ_OK || !(bits >= 0)) continue;
    double score = bits + 0.5 * log2(mse > 0 ? mse : DBL_MIN);
    if (score < best_score) {
      best_score = score;
      best = (gwlz_base)b;
      *est_bits = bits;
    }
  }
  return best;
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
    if (which == GWLZ_BASE_AUTO) which = choose_base(p, data, &bi.est_bits);
    const gwlz_base_impl *im = gwlz_base_impls[which];
    if (!im) return GWLZ_ERR_UNSUPPORTED;
    bi.base = which;
    e = im->compress(p, data, recon, aux, &pay, &bi);
    if (e == GWLZ_OK) e = pay.err;
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
