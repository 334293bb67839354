/*
 * zfp.c - the ZFP base (BASE payload mode 4, docs/format.md §9.10): ZFP 1.0
 * fixed-accuracy compression through libzfp, plus a correction list that
 * makes the bound strict.
 *
 * ZFP's fixed-accuracy mode codes every 4^d block down to bit plane minexp;
 * the libzfp default for a tolerance t is minexp = floor(log2 t), whose
 * errors stay far below t (a quarter of it on smooth fields). The compressor
 * therefore tries minexp = floor(log2 eb) + k, k = 0..ZFP_MAX_SHIFT, on a
 * sample of whole blocks, and keeps the k with the smallest predicted
 * payload: ZFP bits plus a correction entry for every value whose
 * reconstruction falls outside the bound (larger k: fewer ZFP bits, more
 * corrections). After the full ZFP pass the reconstruction is decoded with
 * libzfp, and every value outside the bound (or not finite) is replaced by
 * its exact value and recorded: varint position gaps and the exact bit
 * patterns, in one lossless block. The bound then holds for every value.
 *
 * Side information (aux): 0 for a value decoded by ZFP, GWLZ_AUX_EXACT for a
 * corrected value (stored exactly). ZFP has no class structure to report.
 *
 * Damaged payloads: libzfp does not check the end of its input, so the
 * decoder copies the ZFP stream into a zero-padded buffer of
 * zfp_stream_maximum_size bytes, the most that the stored parameters let
 * the decoder read for the field; the payload's ZFP size may not exceed it.
 */
#include "base/base.h"

#include <math.h>
#include <stdlib.h>
#include <zfp.h>

#include "format/lossless.h"

#define ZFP_MAX_SHIFT 5          /* minexp offsets tried: 0..ZFP_MAX_SHIFT */
#define ZFP_SAMPLE_BLOCKS 4096   /* sampled blocks (whole field if fewer)  */
#define ZFP_CORR_BITS_GUESS 16.0 /* position gap bits per correction (est.) */

/* ---- libzfp glue ------------------------------------------------------------ */

/* A zfp field over data with the squeezed extents n[0..nd-1] (slowest
 * first; zfp's nx is the fastest). */
static zfp_field *make_field(void *data, int isd, int nd, const size_t *n) {
  zfp_type t = isd ? zfp_type_double : zfp_type_float;
  switch (nd) {
    case 1: return zfp_field_1d(data, t, n[0]);
    case 2: return zfp_field_2d(data, t, n[1], n[0]);
    case 3: return zfp_field_3d(data, t, n[2], n[1], n[0]);
    case 4: return zfp_field_4d(data, t, n[3], n[2], n[1], n[0]);
  }
  return NULL;
}

typedef struct {
  uint32_t minbits, maxbits, maxprec;
  int32_t minexp;
} zparams;

/* Fixed-accuracy parameters for bound eb, minexp raised by shift. */
static zparams params_for(double eb, int shift) {
  zfp_stream *zs = zfp_stream_open(NULL);
  zparams zp = {ZFP_MIN_BITS, ZFP_MAX_BITS, ZFP_MAX_PREC, ZFP_MIN_EXP};
  if (!zs) return zp;
  uint a, b, c;
  int d;
  zfp_stream_set_accuracy(zs, eb);
  zfp_stream_params(zs, &a, &b, &c, &d);
  zfp_stream_close(zs);
  zp.minbits = a;
  zp.maxbits = b;
  zp.maxprec = c;
  zp.minexp = d + shift;
  return zp;
}

/* Compress (n values of data, extents ext) with zp; *buf (malloc'd, the
 * caller frees) receives the ZFP stream of *size bytes. */
static gwlz_error zfp_encode(const void *data, int isd, int nd, const size_t *ext,
                             const zparams *zp, uint8_t **buf, size_t *size) {
  gwlz_error e = GWLZ_ERR_INTERNAL;
  *buf = NULL;
  *size = 0;
  zfp_field *f = make_field((void *)data, isd, nd, ext);
  zfp_stream *zs = zfp_stream_open(NULL);
  bitstream *bs = NULL;
  if (!f || !zs) {
    e = GWLZ_ERR_MEMORY;
    goto out;
  }
  if (!zfp_stream_set_params(zs, zp->minbits, zp->maxbits, zp->maxprec, zp->minexp)) goto out;
  size_t cap = zfp_stream_maximum_size(zs, f);
  if (cap == 0) goto out;
  if (!(*buf = (uint8_t *)malloc(cap))) {
    e = GWLZ_ERR_MEMORY;
    goto out;
  }
  if (!(bs = stream_open(*buf, cap))) {
    e = GWLZ_ERR_MEMORY;
    goto out;
  }
  zfp_stream_set_bit_stream(zs, bs);
  zfp_stream_rewind(zs);
  *size = zfp_compress(zs, f);
  e = *size ? GWLZ_OK : GWLZ_ERR_INTERNAL;
out:
  if (bs) stream_close(bs);
  if (zs) zfp_stream_close(zs);
  if (f) zfp_field_free(f);
  if (e != GWLZ_OK) {
    free(*buf);
    *buf = NULL;
  }
  return e;
}

/* The most bits libzfp 1.0 reads for one block of nd dimensions with
 * parameters zp, whatever the stream holds: the zero-block bit, the common
 * exponent, and per coded bit plane (at most p of them) the plane's first n
 * bits plus a unary run of at most 2 (size - n) + 2 bits; at least minbits. */
static size_t block_read_bits(int isd, int nd, const zparams *zp) {
  size_t size = (size_t)1 << (2 * nd);
  size_t p = zp->maxprec < (isd ? 64u : 32u) ? zp->maxprec : (isd ? 64u : 32u);
  size_t b = 1 + (isd ? 11 : 8) + (p + 2) * size + 2 * p;
  return b > zp->minbits ? b : zp->minbits;
}

/* Decode size bytes of ZFP stream into out. The stream is copied into a
 * zero-padded buffer that holds every bit the decoder can read (blocks x
 * block_read_bits), so a damaged stream cannot make libzfp read past it. */
static gwlz_error zfp_decode(const uint8_t *zbytes, size_t size, int isd, int nd,
                             const size_t *ext, const zparams *zp, void *out) {
  gwlz_error e = GWLZ_ERR_CORRUPT;
  zfp_field *f = make_field(out, isd, nd, ext);
  zfp_stream *zs = zfp_stream_open(NULL);
  bitstream *bs = NULL;
  uint8_t *buf = NULL;
  if (!f || !zs) {
    e = GWLZ_ERR_MEMORY;
    goto out;
  }
  if (!zfp_stream_set_params(zs, zp->minbits, zp->maxbits, zp->maxprec, zp->minexp)) goto out;
  size_t blocks = zfp_field_blocks(f), bb = block_read_bits(isd, nd, zp), cap;
  if (!gwlz_mul_size(blocks, bb, &cap) || cap > SIZE_MAX - 256) {
    e = GWLZ_ERR_TOO_LARGE;
    goto out;
  }
  cap = ((cap + 63) / 64 + 1) * 8; /* whole 64-bit words, one spare */
  if (size > cap) goto out;
  if (!(buf = (uint8_t *)calloc(cap, 1))) {
    e = GWLZ_ERR_MEMORY;
    goto out;
  }
  memcpy(buf, zbytes, size);
  if (!(bs = stream_open(buf, cap))) {
    e = GWLZ_ERR_MEMORY;
    goto out;
  }
  zfp_stream_set_bit_stream(zs, bs);
  zfp_stream_rewind(zs);
  e = zfp_decompress(zs, f) ? GWLZ_OK : GWLZ_ERR_CORRUPT;
out:
  if (bs) stream_close(bs);
  if (zs) zfp_stream_close(zs);
  if (f) zfp_field_free(f);
  free(buf);
  return e;
}

static inline double val(const void *p, int isd, size_t i) {
  return isd ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

/* 1 if the reconstruction r of x at i must be corrected. */
static inline int outside(const void *x, const void *r, int isd, size_t i, double eb) {
  double d = fabs(val(x, isd, i) - val(r, isd, i));
  return !(d <= eb); /* a NaN or infinite reconstruction too */
}

/* ---- sample of whole blocks -------------------------------------------------- */

typedef struct {
  int nd;
  size_t ext[GWLZ_MAX_DIMS]; /* (4 k, 4, ..., 4) or the whole field's extents */
  size_t n;
  uint8_t *data;             /* NULL: the sample is the field itself           */
} zsample;

/* Up to ZFP_SAMPLE_BLOCKS whole 4^d blocks at deterministic pseudo-random
 * block positions, stacked along the slowest axis (ZFP codes every block on
 * its own, so each sampled block costs what it costs in the field). The
 * whole field when it has few blocks or no whole block. */
static gwlz_error sample_blocks(const gwlz_shape *s, const void *data, size_t ts, zsample *z) {
  size_t nb[GWLZ_MAX_DIMS], total = 1, bl = 1;
  memset(z, 0, sizeof(*z));
  for (int e = 0; e < s->nd; e++) {
    nb[e] = s->n[e] / 4;
    total *= nb[e];
    bl *= 4;
  }
  if (total <= ZFP_SAMPLE_BLOCKS) {
    z->nd = s->nd;
    memcpy(z->ext, s->n, sizeof(z->ext));
    z->n = s->total;
    z->data = NULL;
    (void)data;
    return GWLZ_OK;
  }
  size_t k = ZFP_SAMPLE_BLOCKS;
  z->nd = s->nd;
  z->ext[0] = 4 * k;
  for (int e = 1; e < s->nd; e++) z->ext[e] = 4;
  z->n = k * bl;
  if (!(z->data = (uint8_t *)malloc(z->n * ts))) return GWLZ_ERR_MEMORY;
  size_t stride[GWLZ_MAX_DIMS];
  stride[s->nd - 1] = 1;
  for (int e = s->nd - 2; e >= 0; e--) stride[e] = stride[e + 1] * s->n[e + 1];
  uint64_t rng = 0x7A6670ull;
  const uint8_t *src = (const uint8_t *)data;
  for (size_t b = 0; b < k; b++) {
    size_t origin = 0;
    for (int e = 0; e < s->nd; e++) {
      size_t c = (size_t)(gwlz_rng_uniform(&rng) * (double)nb[e]);
      if (c >= nb[e]) c = nb[e] - 1;
      origin += 4 * c * stride[e];
    }
    /* copy the block's rows of 4 values in C order */
    size_t rows = bl / 4;
    for (size_t r = 0; r < rows; r++) {
      size_t off = origin, rr = r;
      for (int e = s->nd - 2; e >= 0; e--) {
        off += (rr % 4) * stride[e];
        rr /= 4;
      }
      memcpy(z->data + (b * bl + r * 4) * ts, src + off * ts, 4 * ts);
    }
  }
  return GWLZ_OK;
}

/* Trial on the sample: payload bits and squared error (corrected values
 * count as exact) for zp. */
static gwlz_error sample_trial(const zsample *z, const void *field, int isd, size_t ts,
                               double eb, const zparams *zp, double *bits, double *sse) {
  const void *x = z->data ? (const void *)z->data : field;
  uint8_t *zb = NULL;
  size_t zsize = 0;
  gwlz_error e = zfp_encode(x, isd, z->nd, z->ext, zp, &zb, &zsize);
  if (e != GWLZ_OK) return e;
  void *r = malloc(z->n * ts);
  if (!r) {
    free(zb);
    return GWLZ_ERR_MEMORY;
  }
  e = zfp_decode(zb, zsize, isd, z->nd, z->ext, zp, r);
  free(zb);
  if (e != GWLZ_OK) {
    free(r);
    return e;
  }
  size_t ncorr = 0;
  double s = 0;
  for (size_t i = 0; i < z->n; i++) {
    if (outside(x, r, isd, i, eb)) {
      ncorr++;
      continue;
    }
    double d = val(x, isd, i) - val(r, isd, i);
    s += d * d;
  }
  free(r);
  *bits = 8.0 * (double)zsize + (double)ncorr * (8.0 * (double)ts + ZFP_CORR_BITS_GUESS);
  *sse = s;
  return GWLZ_OK;
}

/* The minexp shift with the smallest predicted payload on the sample. */
static gwlz_error choose_shift(const zsample *z, const void *field, int isd, size_t ts,
                               double eb, int *shift, double *bits, double *sse) {
  double best = INFINITY;
  *shift = 0;
  for (int k = 0; k <= ZFP_MAX_SHIFT; k++) {
    zparams zp = params_for(eb, k);
    double b, s2;
    gwlz_error e = sample_trial(z, field, isd, ts, eb, &zp, &b, &s2);
    if (e != GWLZ_OK) return e;
    if (b < best) {
      best = b;
      *shift = k;
      *bits = b;
      *sse = s2;
    } else if (b > 1.05 * best) {
      break; /* past the minimum */
    }
  }
  return GWLZ_OK;
}

/* ---- payload ---------------------------------------------------------------- */

static gwlz_error zfp_base_compress(const gwlz_base_params *p, const void *data, void *recon,
                                    uint8_t *aux, gwlz_wbuf *out, gwlz_base_info *info) {
  gwlz_shape s;
  gwlz_error e;
  const int isd = p->type == GWLZ_TYPE_DOUBLE;
  const size_t ts = gwlz_type_size(p->type);
  const double eb = p->abs_eb;
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;

  zsample z;
  int shift;
  double bits, sse;
  if ((e = sample_blocks(&s, data, ts, &z)) != GWLZ_OK) return e;
  e = choose_shift(&z, data, isd, ts, eb, &shift, &bits, &sse);
  free(z.data);
  if (e != GWLZ_OK) return e;

  zparams zp = params_for(eb, shift);
  uint8_t *zb = NULL;
  size_t zsize = 0;
  if ((e = zfp_encode(data, isd, s.nd, s.n, &zp, &zb, &zsize)) != GWLZ_OK) return e;
  if ((e = zfp_decode(zb, zsize, isd, s.nd, s.n, &zp, recon)) != GWLZ_OK) {
    free(zb);
    return e == GWLZ_ERR_CORRUPT ? GWLZ_ERR_INTERNAL : e;
  }

  /* Corrections: positions (varint gaps) then exact bit patterns. */
  gwlz_wbuf pos, vals;
  gwlz_wbuf_init(&pos);
  gwlz_wbuf_init(&vals);
  size_t ncorr = 0, last = 0;
  if (aux) memset(aux, 0, s.total);
  for (size_t i = 0; i < s.total; i++) {
    if (!outside(data, recon, isd, i, eb)) continue;
    gwlz_wbuf_varint(&pos, (uint64_t)(ncorr ? i - last - 1 : i));
    last = i;
    ncorr++;
    if (isd) {
      double v = ((const double *)data)[i];
      ((double *)recon)[i] = v;
      gwlz_wbuf_f64(&vals, v);
    } else {
      float v = ((const float *)data)[i];
      ((float *)recon)[i] = v;
      gwlz_wbuf_f32(&vals, v);
    }
    if (aux) aux[i] = GWLZ_AUX_EXACT;
  }
  gwlz_wbuf_put(&pos, vals.data, vals.size);
  e = pos.err != GWLZ_OK ? pos.err : vals.err;

  if (e == GWLZ_OK) {
    gwlz_base_prefix(out, GWLZ_BASE_MODE_ZFP);
    gwlz_wbuf_u8(out, (uint8_t)s.nd);
    gwlz_wbuf_u8(out, (uint8_t)zfp_codec_version);
    gwlz_wbuf_u8(out, isd);
    gwlz_wbuf_u8(out, 0);
    gwlz_wbuf_f64(out, eb);
    gwlz_wbuf_u32(out, zp.minbits);
    gwlz_wbuf_u32(out, zp.maxbits);
    gwlz_wbuf_u32(out, zp.maxprec);
    gwlz_wbuf_u32(out, (uint32_t)zp.minexp);
    gwlz_wbuf_u64(out, (uint64_t)zsize);
    gwlz_wbuf_put(out, zb, zsize);
    gwlz_wbuf_varint(out, (uint64_t)ncorr);
    if (ncorr) e = gwlz_lossless_pack(pos.data, pos.size, out, GWLZ_ZSTD_LEVEL);
    if (e == GWLZ_OK) e = out->err;
  }
  free(zb);
  gwlz_wbuf_free(&pos);
  gwlz_wbuf_free(&vals);
  if (e != GWLZ_OK) return e;
  if (info) {
    info->unpredictable = ncorr;
    info->mode = GWLZ_BASE_MODE_ZFP;
  }
  return GWLZ_OK;
}

/* Apply the correction block: raw holds ncorr varint gaps then ncorr values. */
static gwlz_error apply_corrections(const uint8_t *raw, size_t rawn, size_t ncorr, int isd,
                                    size_t total, void *out, uint8_t *aux) {
  const size_t ts = isd ? 8 : 4;
  gwlz_rbuf r;
  gwlz_rbuf_init(&r, raw, rawn);
  size_t *pos = (size_t *)malloc(ncorr * sizeof(size_t));
  if (!pos) return GWLZ_ERR_MEMORY;
  gwlz_error e = GWLZ_OK;
  uint64_t next = 0; /* smallest position the next entry may have */
  for (size_t k = 0; k < ncorr && e == GWLZ_OK; k++) {
    uint64_t gap;
    if ((e = gwlz_rbuf_varint(&r, &gap)) != GWLZ_OK) break;
    if (gap >= (uint64_t)total || next + gap >= (uint64_t)total) {
      e = GWLZ_ERR_CORRUPT;
      break;
    }
    pos[k] = (size_t)(next + gap);
    next = next + gap + 1;
  }
  if (e == GWLZ_OK && gwlz_rbuf_left(&r) != ncorr * ts) e = GWLZ_ERR_CORRUPT;
  for (size_t k = 0; e == GWLZ_OK && k < ncorr; k++) {
    const uint8_t *b = raw + r.pos + k * ts;
    if (isd) {
      uint64_t u = gwlz_load_u64(b);
      memcpy((double *)out + pos[k], &u, 8);
    } else {
      uint32_t u = gwlz_load_u32(b);
      memcpy((float *)out + pos[k], &u, 4);
    }
    if (aux) aux[pos[k]] = GWLZ_AUX_EXACT;
  }
  free(pos);
  return e == GWLZ_ERR_TRUNCATED ? GWLZ_ERR_CORRUPT : e;
}

static gwlz_error zfp_base_decompress(const gwlz_base_params *p, const uint8_t *payload,
                                      size_t size, void *out, uint8_t *aux) {
  gwlz_shape s;
  gwlz_error e;
  const int isd = p->type == GWLZ_TYPE_DOUBLE;
  const size_t ts = gwlz_type_size(p->type);
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  gwlz_rbuf r;
  gwlz_rbuf_init(&r, payload, size);
  uint8_t ver, mode, nd, codec, type, reserved;
  double eb;
  uint32_t minbits, maxbits, maxprec, minexp;
  uint64_t zsize, ncorr;
  const uint8_t *zb;
  if ((e = gwlz_rbuf_u8(&r, &ver)) || (e = gwlz_rbuf_u8(&r, &mode)) ||
      (e = gwlz_rbuf_u8(&r, &nd)) || (e = gwlz_rbuf_u8(&r, &codec)) ||
      (e = gwlz_rbuf_u8(&r, &type)) || (e = gwlz_rbuf_u8(&r, &reserved)) ||
      (e = gwlz_rbuf_f64(&r, &eb)) || (e = gwlz_rbuf_u32(&r, &minbits)) ||
      (e = gwlz_rbuf_u32(&r, &maxbits)) || (e = gwlz_rbuf_u32(&r, &maxprec)) ||
      (e = gwlz_rbuf_u32(&r, &minexp)) || (e = gwlz_rbuf_u64(&r, &zsize)))
    return e;
  if (ver != GWLZ_BASE_PAYLOAD_VERSION) return GWLZ_ERR_VERSION;
  if (mode != GWLZ_BASE_MODE_ZFP || nd != s.nd || type != (uint8_t)isd || reserved != 0)
    return GWLZ_ERR_CORRUPT;
  if (codec != zfp_codec_version) return GWLZ_ERR_UNSUPPORTED;
  if (!(eb > 0) || !isfinite(eb)) return GWLZ_ERR_CORRUPT;
  if (zsize > gwlz_rbuf_left(&r)) return GWLZ_ERR_TRUNCATED;
  if ((e = gwlz_rbuf_bytes(&r, (size_t)zsize, &zb)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_varint(&r, &ncorr)) != GWLZ_OK) return e;
  if (ncorr > (uint64_t)s.total) return GWLZ_ERR_CORRUPT;

  zparams zp = {minbits, maxbits, maxprec, (int32_t)minexp};
  zparams nomin = zp;
  nomin.minbits = 0;
  if (minbits > maxbits || maxbits > ZFP_MAX_BITS || maxprec < 1 || maxprec > ZFP_MAX_PREC ||
      zp.minexp < ZFP_MIN_EXP || zp.minexp > 1100 ||
      minbits > block_read_bits(isd, s.nd, &nomin))
    return GWLZ_ERR_CORRUPT;
  if ((e = zfp_decode(zb, (size_t)zsize, isd, s.nd, s.n, &zp, out)) != GWLZ_OK) return e;
  if (aux) memset(aux, 0, s.total);
  if (ncorr == 0) return r.pos == r.size ? GWLZ_OK : GWLZ_ERR_CORRUPT;

  uint8_t *raw = NULL;
  size_t rawn;
  if ((e = gwlz_lossless_unpack(&r, (size_t)ncorr * (10 + ts), &raw, &rawn)) != GWLZ_OK)
    return e;
  if (r.pos != r.size) e = GWLZ_ERR_CORRUPT;
  if (e == GWLZ_OK) e = apply_corrections(raw, rawn, (size_t)ncorr, isd, s.total, out, aux);
  free(raw);
  return e;
}

/* Sampled estimate: payload bits per value and MSE at the chosen shift. */
static gwlz_error zfp_base_estimate(const gwlz_base_params *p, const void *data,
                                    double *bits_per_value, double *mse) {
  gwlz_shape s;
  gwlz_error e;
  const int isd = p->type == GWLZ_TYPE_DOUBLE;
  const size_t ts = gwlz_type_size(p->type);
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  if (!(p->abs_eb > 0)) return GWLZ_ERR_PARAM;
  zsample z;
  int shift;
  double bits = 0, sse = 0;
  if ((e = sample_blocks(&s, data, ts, &z)) != GWLZ_OK) return e;
  e = choose_shift(&z, data, isd, ts, p->abs_eb, &shift, &bits, &sse);
  size_t n = z.n;
  free(z.data);
  if (e != GWLZ_OK) return e;
  *bits_per_value = bits / (double)n;
  *mse = sse / (double)n;
  return GWLZ_OK;
}

const gwlz_base_impl gwlz_base_zfp = {GWLZ_BASE_ZFP, "zfp", zfp_base_compress,
                                      zfp_base_decompress, zfp_base_estimate};
