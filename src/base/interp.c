/*
 * interp.c - the interp base: prediction (multilevel interpolation, or
 * first-order Lorenzo where sampling says it wins), error-controlled
 * quantization (quantizer.h), canonical Huffman (format/huffman.h) and zstd
 * (format/lossless.h).
 *
 * Pipeline: choose a predictor by sampling -> predict + quantize (codes,
 * unpredictable values) -> Huffman -> zstd. The reconstruction X' is
 * produced on the way, bit-identical to what the decoder returns.
 *
 * BASE payload layout (modes 1 and 2 of payload version 1; base.h lists the
 * modes, base.c writes mode 0). Integers little-endian; "varint" is
 * LEB128 unsigned (common.h); f32/f64 are IEEE-754 binary32/binary64 bit
 * patterns, little-endian. Offsets are from the start of the payload.
 *
 *   off size  field      meaning
 *   0   u8    version    1 (a decoder rejects other values: GWLZ_ERR_VERSION)
 *   1   u8    mode       0 = raw, 1 = interpolation, 2 = Lorenzo
 *
 *   mode 0 (raw):
 *   2   ...   block      lossless block (lossless.h: u64 raw size, u64
 *                        packed size, zstd frame) holding the n values,
 *                        little-endian, C order; raw size = n * sizeof(type).
 *                        Nothing may follow the block.
 *
 *   mode 1 (multilevel interpolation, predictor_interp.h):
 *   2   u8    nd         number of extents > 1 (an array of one value has
 *                        nd = 1); must equal the caller's squeezed extents
 *   3   u8    flags      bit 0: 1 = cubic, 0 = linear;
 *                        bits 1..5: b, the code-order block (0 = none,
 *                        else blocks of side 2^b, b <= 30; see
 *                        predictor_interp.h); bits 6..7 zero
 *   4   u8    order      pass order inside a level: order[t], t = 0..nd-1,
 *                        in bits 2t..2t+1 (an index into the squeezed
 *                        extents, 0 = slowest); a permutation; unused bits 0
 *   5   f64   eb         bound of the finest level; finite, > 0
 *   13  f32   alpha      level factor base, 1 <= alpha <= 64
 *   17  f32   beta       level factor cap,  1 <= beta <= 1e6
 *                        level l (stride 2^(l-1), l = 1 finest) uses
 *                        eb_l = eb / r_l, r_l = min(alpha^(l-1), beta),
 *                        the power by repeated double multiplication that
 *                        stops at the first product >= beta; alpha and beta
 *                        are widened from f32 to double first
 *   21  u32   radius     quantizer radius R; this version writes and reads
 *                        32768 only (others: GWLZ_ERR_UNSUPPORTED)
 *   25  varint nunpred   number of unpredictable values, <= n
 *   ..  ...   block      lossless block whose content is exactly:
 *                        a Huffman block (huffman.h) of the n codes in the
 *                        predictor's visiting order, alphabet 2R, then the
 *                        nunpred unpredictable values, raw little-endian of
 *                        the data type, in visiting order. Nothing follows.
 *     A code c = 0 takes the next unpredictable value; c >= 1 rebuilds
 *     (T)(pred + (double)(c - R) * (2 * eb_l)), evaluated in double
 *     (no FMA) and rounded to the data type T.
 *
 *   mode 2 (first-order Lorenzo, predictor_lorenzo.h; codes in C order):
 *   2   u8    nd         as mode 1
 *   3   f64   eb         the bound; finite, > 0
 *   11  u32   radius     as mode 1
 *   15  varint nunpred   as mode 1
 *   ..  ...   block      as mode 1 (codes in C order)
 *
 * The extents themselves come from the caller (gwlz_base_params) and are not
 * repeated. How the compressor chooses a mode, the interpolation, the order
 * and alpha/beta (sampling) is not part of the format.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "base/base.h"
#include "base/interp2.h"
#include "base/interp2_tune.h"
#include "base/interp_predict.h"
#include "base/lorenzo.h"
#include "base/quantizer.h"
#include "format/huffman.h"
#include "format/lossless.h"

#define BASE_MODE_INTERP GWLZ_BASE_MODE_INTERP
#define BASE_MODE_LORENZO GWLZ_BASE_MODE_LORENZO

/* Arrays up to this many values choose their predictor by trial runs. */
#define BASE_TRIAL_MAX ((size_t)1 << 17)
/* Mode 6: fraction of the values in trial blocks; quantizer radius. */
#define BASE_SAMPLE_FRAC 0.02
#define BASE_I2_RADIUS (1u << 20)
/* Quiet-group flags are used when they cost at most this factor in size. */
#define BASE_GROUPS_COST 1.01
/* Second bound of the trials that measure a candidate's slope: eb / this. */
#define BASE_SLOPE_STEP 1.5

/* Level bound factors: level l uses eb / min(ALPHA^(l-1), BETA). Measured on
 * the shared fields: tighter coarse levels raise PSNR, cost ratio. */
#define BASE_ALPHA 1.25
#define BASE_BETA 2.0

/* Code order: blocks of 2^BLOG values per dimension (see predictor_interp.h);
 * clustering the codes of a region helps zstd on the Huffman stream. */
#define BASE_BLOG_2D 3
#define BASE_BLOG_3D 3

typedef gwlz_shape shape;

/* ---- sampling ------------------------------------------------------------ */

/* Estimated coded size in bits of a set of codes: order-0 entropy plus the
 * raw unpredictable values. */
static double code_bits(const uint32_t *codes, size_t n, uint32_t *hist, size_t tsize) {
  double bits = 0.0;
  size_t nz = 0;
  memset(hist, 0, sizeof(uint32_t) * GWLZ_QUANT_NSYM);
  for (size_t i = 0; i < n; i++) hist[codes[i]]++;
  for (uint32_t c = 0; c < GWLZ_QUANT_NSYM; c++) {
    if (!hist[c]) continue;
    nz++;
    bits -= (double)hist[c] * log2((double)hist[c] / (double)n);
  }
  bits += (double)hist[0] * (double)(8 * tsize);
  bits += (double)nz * 12.0; /* rough table cost */
  return bits;
}

typedef struct {
  int nblk;
  shape bs;          /* extents of every sample block */
  size_t blen;       /* values per block              */
  uint8_t *buf;      /* nblk blocks of the data type  */
  uint8_t *rec;      /* scratch                        */
  uint32_t *codes;   /* scratch                        */
  uint32_t *hist;
} sampler;

static void sampler_free(sampler *sm) {
  free(sm->buf);
  free(sm->rec);
  free(sm->codes);
  free(sm->hist);
  memset(sm, 0, sizeof *sm);
}

/* Pick sample blocks: about 1.5% of the values, at most 64 blocks, at
 * deterministic pseudo-random places (one block = the whole of a small
 * array). */
static gwlz_error sampler_init(sampler *sm, const shape *s, const uint8_t *data, size_t tsize) {
  memset(sm, 0, sizeof *sm);
  static const size_t side[5] = {0, 4096, 96, 32, 16};
  size_t blen = 1;
  sm->bs.nd = s->nd;
  int whole = s->total <= BASE_TRIAL_MAX;
  for (int e = 0; e < s->nd; e++) {
    size_t b = whole ? s->n[e] : (s->n[e] < side[s->nd] ? s->n[e] : side[s->nd]);
    sm->bs.n[e] = b;
    blen *= b;
  }
  sm->blen = blen;
  sm->bs.total = blen;
  size_t want = whole ? 1 : (size_t)((double)s->total * 0.015 / (double)blen) + 1;
  if (want > 64) want = 64;
  sm->nblk = (int)want;
  sm->buf = (uint8_t *)malloc(want * blen * tsize);
  sm->rec = (uint8_t *)malloc(blen * tsize);
  sm->codes = (uint32_t *)malloc(blen * sizeof(uint32_t));
  sm->hist = (uint32_t *)malloc(sizeof(uint32_t) * GWLZ_QUANT_NSYM);
  if (!sm->buf || !sm->rec || !sm->codes || !sm->hist) {
    sampler_free(sm);
    return GWLZ_ERR_MEMORY;
  }
  uint64_t rng = 0x6777C2A1u;
  for (int k = 0; k < sm->nblk; k++) {
    size_t o[GWLZ_MAX_DIMS];
    for (int e = 0; e < s->nd; e++) {
      size_t room = s->n[e] - sm->bs.n[e];
      o[e] = room ? (size_t)(gwlz_rng_uniform(&rng) * (double)(room + 1)) : 0;
      if (o[e] > room) o[e] = room;
    }
    gwlz_base_copy_block(s, o, sm->bs.n, data, sm->buf + (size_t)k * blen * tsize, tsize);
  }
  return GWLZ_OK;
}

static double sample_interp(sampler *sm, const gwlz_interp_cfg *cfg0, int isd, size_t tsize) {
  gwlz_interp_cfg cfg = *cfg0;
  double bits = 0.0;
  gwlz_wbuf junk;
  gwlz_wbuf_init(&junk);
  cfg.nd = sm->bs.nd;
  for (int e = 0; e < cfg.nd; e++) cfg.n[e] = sm->bs.n[e];
  for (int k = 0; k < sm->nblk; k++) {
    junk.size = 0;
    gwlz_interp_compress(&cfg, isd, sm->buf + (size_t)k * sm->blen * tsize, sm->rec, NULL, sm->codes,
                         &junk);
    bits += code_bits(sm->codes, sm->blen, sm->hist, tsize);
  }
  gwlz_wbuf_free(&junk);
  return bits;
}

static int perm_next(int *a, int n) {
  int i = n - 2;
  while (i >= 0 && a[i] >= a[i + 1]) i--;
  if (i < 0) return 0;
  int j = n - 1;
  while (a[j] <= a[i]) j--;
  int t = a[i];
  a[i] = a[j];
  a[j] = t;
  for (int l = i + 1, r = n - 1; l < r; l++, r--) {
    t = a[l];
    a[l] = a[r];
    a[r] = t;
  }
  return 1;
}

/* Small arrays: choose linear/cubic, then the pass order, by the code
 * entropy of trial runs. */
static void choose_interp(sampler *sm, gwlz_interp_cfg *best, int isd, size_t tsize) {
  gwlz_interp_cfg c = *best;
  double bb;
  int perm[GWLZ_MAX_DIMS];
  /* 1) linear vs cubic with the default order */
  c.cubic = 1;
  bb = sample_interp(sm, &c, isd, tsize);
  *best = c;
  c.cubic = 0;
  double b = sample_interp(sm, &c, isd, tsize);
  if (b < bb) {
    bb = b;
    *best = c;
  }
  /* 2) pass orders */
  c = *best;
  for (int e = 0; e < c.nd; e++) perm[e] = e;
  while (perm_next(perm, c.nd)) {
    for (int e = 0; e < c.nd; e++) c.order[e] = perm[e];
    b = sample_interp(sm, &c, isd, tsize);
    if (b < bb) {
      bb = b;
      *best = c;
    }
  }
}

/* ---- payload --------------------------------------------------------------- */

/* Pack Huffman(codes) + unpredictable bytes into one lossless block. */
static gwlz_error pack_codes(const uint32_t *codes, size_t n, uint32_t nsym, const gwlz_wbuf *unp,
                             gwlz_wbuf *out) {
  gwlz_wbuf body;
  gwlz_error e;
  gwlz_wbuf_init(&body);
  e = gwlz_huff_encode(codes, n, nsym, &body);
  if (e == GWLZ_OK) {
    gwlz_wbuf_put(&body, unp->data, unp->size);
    e = body.err;
  }
  if (e == GWLZ_OK) e = gwlz_lossless_pack(body.data, body.size, out, GWLZ_ZSTD_LEVEL);
  gwlz_wbuf_free(&body);
  return e;
}

/* Predict, quantize and pack with one predictor (mode 1 or 2) into pay;
 * rec receives the reconstruction. */
static gwlz_error encode(int mode, const gwlz_interp_cfg *cfg, const shape *s, int isd,
                         const void *data, void *rec, uint8_t *aux, uint32_t *codes,
                         gwlz_wbuf *pay, size_t *nunp_out) {
  gwlz_wbuf unp;
  gwlz_error e;
  size_t nunp;
  gwlz_wbuf_init(&unp);
  gwlz_base_prefix(pay, mode);
  gwlz_wbuf_u8(pay, (uint8_t)s->nd);
  if (mode == BASE_MODE_LORENZO) {
    nunp = gwlz_lorenzo_compress(s->nd, s->n, cfg->eb, isd, data, rec, aux, codes, &unp);
    gwlz_wbuf_f64(pay, cfg->eb);
  } else {
    uint8_t ord = 0;
    /* The stream stores alpha and beta as float32: quantize with exactly the
     * values the decoder will read back. */
    gwlz_interp_cfg c = *cfg;
    c.alpha = (double)(float)cfg->alpha;
    c.beta = (double)(float)cfg->beta;
    cfg = &c;
    nunp = gwlz_interp_compress(cfg, isd, data, rec, aux, codes, &unp);
    for (int t = 0; t < s->nd; t++) ord |= (uint8_t)(cfg->order[t] << (2 * t));
    gwlz_wbuf_u8(pay, (uint8_t)((cfg->cubic ? 1 : 0) | (cfg->blog << 1)));
    gwlz_wbuf_u8(pay, ord);
    gwlz_wbuf_f64(pay, cfg->eb);
    gwlz_wbuf_f32(pay, (float)cfg->alpha);
    gwlz_wbuf_f32(pay, (float)cfg->beta);
  }
  gwlz_wbuf_u32(pay, GWLZ_QUANT_RADIUS);
  gwlz_wbuf_varint(pay, nunp);
  e = unp.err != GWLZ_OK ? unp.err : pay->err;
  if (e == GWLZ_OK) e = pack_codes(codes, s->total, GWLZ_QUANT_NSYM, &unp, pay);
  gwlz_wbuf_free(&unp);
  *nunp_out = nunp;
  return e;
}

/* Sum and mean of the squared differences of two arrays of the data type. */
static double sse_of(const void *a, const void *b, size_t n, int isd) {
  double se = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = gwlz_ld(a, i, isd) - gwlz_ld(b, i, isd);
    se += d * d;
  }
  return se;
}

static double mse_of(const void *a, const void *b, size_t n, int isd) {
  return n ? sse_of(a, b, n, isd) / (double)n : 0.0;
}

/* A writer's last step: its payload to out, its figures to info. */
static gwlz_error put_payload(gwlz_error e, gwlz_wbuf *pay, gwlz_wbuf *out, gwlz_base_info *info,
                              size_t nunp, int mode) {
  if (e == GWLZ_OK) e = pay->err;
  if (e == GWLZ_OK) gwlz_wbuf_put(out, pay->data, pay->size);
  gwlz_wbuf_free(pay);
  if (e != GWLZ_OK) return e;
  if (info) {
    info->unpredictable = nunp;
    info->mode = mode;
  }
  return out->err;
}

/* Level bound factor candidates (alpha, beta); the first is the default.
 * All tighten the coarse levels, so none loses PSNR against the default by
 * much; alpha = beta = 1 (one bound everywhere) is smaller by a few percent
 * at about 0.4 dB lower PSNR and is left out on purpose. */
#define BASE_NLEVEL_CAND 3
static const double level_cand[BASE_NLEVEL_CAND][2] = {
    {BASE_ALPHA, BASE_BETA}, {1.5, 4.0}, {2.0, 8.0}};

/* Large arrays: choose alpha/beta by packing (Huffman + zstd) the codes of
 * the sample blocks under every candidate; another candidate replaces the
 * default only when its sample is at least 10% smaller at no higher error. */
static gwlz_error choose_levels(sampler *sm, gwlz_interp_cfg *cfg, int isd, size_t tsize,
                                double *bits_out) {
  size_t nall = (size_t)sm->nblk * sm->blen, size0 = 0, best = SIZE_MAX;
  double mse0 = 0.0;
  uint32_t *all = (uint32_t *)malloc((nall ? nall : 1) * sizeof(uint32_t));
  gwlz_wbuf junk, packed;
  gwlz_error e = GWLZ_OK;
  double ba = cfg->alpha, bb = cfg->beta;
  if (!all) return GWLZ_ERR_MEMORY;
  gwlz_wbuf_init(&junk);
  gwlz_wbuf_init(&packed);
  for (int c = 0; c < BASE_NLEVEL_CAND && e == GWLZ_OK; c++) {
    gwlz_interp_cfg t = *cfg;
    t.alpha = level_cand[c][0];
    t.beta = level_cand[c][1];
    t.nd = sm->bs.nd;
    for (int d = 0; d < t.nd; d++) t.n[d] = sm->bs.n[d];
    junk.size = 0;
    double se = 0.0, bits = 0.0;
    for (int k = 0; k < sm->nblk; k++) {
      const uint8_t *blk = sm->buf + (size_t)k * sm->blen * tsize;
      gwlz_interp_compress(&t, isd, blk, sm->rec, NULL, all + (size_t)k * sm->blen, &junk);
      se += mse_of(blk, sm->rec, sm->blen, isd);
      bits += code_bits(all + (size_t)k * sm->blen, sm->blen, sm->hist, tsize);
    }
    packed.size = 0;
    e = pack_codes(all, nall, GWLZ_QUANT_NSYM, &junk, &packed);
    if (e != GWLZ_OK) break;
    if (c == 0) {
      size0 = best = packed.size;
      mse0 = se;
      *bits_out = bits;
    } else if (packed.size < best && (double)packed.size < 0.9 * (double)size0 && se <= mse0) {
      /* the sample is small: leave the default only for a clear gain */
      best = packed.size;
      *bits_out = bits;
      ba = t.alpha;
      bb = t.beta;
    }
  }
  cfg->alpha = ba;
  cfg->beta = bb;
  gwlz_wbuf_free(&junk);
  gwlz_wbuf_free(&packed);
  free(all);
  return e;
}

/* Sampled estimate: is Lorenzo clearly better than the chosen interpolation
 * (whose code entropy on the sample blocks is bi)? */
static int lorenzo_better(sampler *sm, const gwlz_interp_cfg *cfg, int isd, size_t tsize,
                          double bi) {
  double bl = 0.0;
  gwlz_wbuf junk;
  gwlz_wbuf_init(&junk);
  for (int k = 0; k < sm->nblk; k++) {
    junk.size = 0;
    gwlz_lorenzo_compress(sm->bs.nd, sm->bs.n, cfg->eb, isd,
                          sm->buf + (size_t)k * sm->blen * tsize, sm->rec, NULL, sm->codes,
                          &junk);
    bl += code_bits(sm->codes, sm->blen, sm->hist, tsize);
  }
  gwlz_wbuf_free(&junk);
  return bl < 0.93 * bi;
}


/* ---- mode 6 ---------------------------------------------------------------- */

static int factorial(int n) { return n <= 1 ? 1 : n * factorial(n - 1); }

/* Code with one schedule (interp2.h) and write the whole mode 6 payload. */
static gwlz_error encode_v2(const gwlz_i2_cfg *c, int isd, const void *data, void *rec,
                            uint8_t *aux, uint8_t *mag, gwlz_wbuf *pay, size_t *nunp_out,
                            double *sse) {
  gwlz_i2_out o;
  gwlz_i2_out_init(&o);
  gwlz_error e = gwlz_i2_compress(c, isd, data, rec, aux, mag, &o);
  if (e == GWLZ_OK) {
    gwlz_base_prefix(pay, GWLZ_BASE_MODE_INTERP2);
    gwlz_wbuf_u8(pay, (uint8_t)c->nd);
    gwlz_wbuf_u8(pay, (uint8_t)(c->lorenzo ? 1 : 0));
    gwlz_wbuf_u8(pay, (uint8_t)(c->kdiv | (c->groups ? 8 : 0)));
    gwlz_wbuf_f64(pay, c->eb);
    gwlz_wbuf_u32(pay, c->radius);
    if (!c->lorenzo) {
      gwlz_wbuf_u8(pay, (uint8_t)c->frozen);
      gwlz_wbuf_u8(pay, (uint8_t)c->L);
      for (int l = 1; l <= c->L; l++)
        gwlz_wbuf_u8(pay, (uint8_t)(c->kind[l] | (c->md[l] << 2) | (c->perm[l] << 3)));
      for (int l = 1; l <= c->L; l++) gwlz_wbuf_u8(pay, c->fq[l]);
      for (int l = 1; l <= c->L; l++)
        if (c->md[l])
          for (int t = 0; t < c->nd; t++) gwlz_wbuf_u8(pay, c->w[l][t]);
    }
    gwlz_wbuf_varint(pay, o.nunpred);
    gwlz_wbuf_varint(pay, o.rc.size);
    gwlz_wbuf_put(pay, o.rc.data, o.rc.size);
    gwlz_wbuf_varint(pay, o.raw.size);
    gwlz_wbuf_put(pay, o.raw.data, o.raw.size);
    gwlz_wbuf_put(pay, o.unpred.data, o.unpred.size);
    e = pay->err;
  }
  if (nunp_out) *nunp_out = o.nunpred;
  if (sse) *sse = o.sse;
  gwlz_i2_out_free(&o);
  return e;
}

/* Decode the rest of a mode 6 payload (r after the mode byte). */
static gwlz_error decode_v2(gwlz_rbuf *r, const shape *s, int isd, size_t tsize, void *out,
                            uint8_t *aux) {
  uint8_t nd, scheme, frozen, coder, L, b;
  double eb;
  uint32_t radius;
  uint64_t nunp, len;
  gwlz_error e;
  gwlz_i2_cfg c;
  memset(&c, 0, sizeof c);
  if ((e = gwlz_rbuf_u8(r, &nd)) != GWLZ_OK) return e;
  if (nd != s->nd) return GWLZ_ERR_CORRUPT;
  if ((e = gwlz_rbuf_u8(r, &scheme)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u8(r, &coder)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_f64(r, &eb)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u32(r, &radius)) != GWLZ_OK) return e;
  if (scheme > 1 || coder > 15 || !(eb > 0.0) || !isfinite(eb) || radius < 1 ||
      radius > (1u << 30))
    return GWLZ_ERR_CORRUPT;
  c.nd = s->nd;
  for (int t = 0; t < s->nd; t++) c.n[t] = s->n[t];
  c.L = gwlz_i2_levels(c.nd, c.n);
  c.lorenzo = scheme;
  c.kdiv = coder & 7;
  c.groups = (coder >> 3) & 1;
  c.eb = eb;
  c.radius = radius;
  if (!scheme) {
    if ((e = gwlz_rbuf_u8(r, &frozen)) != GWLZ_OK) return e;
    if ((e = gwlz_rbuf_u8(r, &L)) != GWLZ_OK) return e;
    if ((frozen >> nd) != 0 || L != c.L) return GWLZ_ERR_CORRUPT;
    c.frozen = frozen;
    for (int l = 1; l <= c.L; l++) {
      if ((e = gwlz_rbuf_u8(r, &b)) != GWLZ_OK) return e;
      c.kind[l] = b & 3;
      c.md[l] = (b >> 2) & 1;
      c.perm[l] = b >> 3;
      if (c.kind[l] > GWLZ_I2_KIND_NATURAL || c.perm[l] >= factorial(c.nd)) return GWLZ_ERR_CORRUPT;
    }
    for (int l = 1; l <= c.L; l++)
      if ((e = gwlz_rbuf_u8(r, &c.fq[l])) != GWLZ_OK) return e;
    for (int l = 1; l <= c.L; l++)
      for (int t = 0; c.md[l] && t < c.nd; t++) {
        if ((e = gwlz_rbuf_u8(r, &c.w[l][t])) != GWLZ_OK) return e;
        if (c.w[l][t] == 0) return GWLZ_ERR_CORRUPT;
      }
  }
  if ((e = gwlz_rbuf_varint(r, &nunp)) != GWLZ_OK) return e;
  if (nunp > (uint64_t)s->total) return GWLZ_ERR_CORRUPT;
  const uint8_t *rc, *raw, *unp;
  size_t rc_len, raw_len;
  if ((e = gwlz_rbuf_varint(r, &len)) != GWLZ_OK) return e;
  if (len > gwlz_rbuf_left(r)) return GWLZ_ERR_TRUNCATED;
  rc_len = (size_t)len;
  if ((e = gwlz_rbuf_bytes(r, rc_len, &rc)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_varint(r, &len)) != GWLZ_OK) return e;
  if (len > gwlz_rbuf_left(r)) return GWLZ_ERR_TRUNCATED;
  raw_len = (size_t)len;
  if ((e = gwlz_rbuf_bytes(r, raw_len, &raw)) != GWLZ_OK) return e;
  size_t ub = (size_t)nunp * tsize; /* nunp <= n: no overflow */
  if (gwlz_rbuf_left(r) != ub) return gwlz_rbuf_left(r) < ub ? GWLZ_ERR_TRUNCATED : GWLZ_ERR_CORRUPT;
  if ((e = gwlz_rbuf_bytes(r, ub, &unp)) != GWLZ_OK) return e;
  return gwlz_i2_decompress(&c, isd, rc, rc_len, raw, raw_len, unp, (size_t)nunp, out, aux);
}

gwlz_error gwlz_i2_payload(const gwlz_base_params *p, const gwlz_i2_cfg *c, const void *data,
                           void *recon, uint8_t *aux, gwlz_wbuf *out, size_t *nunp) {
  return encode_v2(c, p->type == GWLZ_TYPE_DOUBLE, data, recon, aux, NULL, out, nunp, NULL);
}

/* The starting schedule: cubic, C order, level factors (1.5, 2). */
static void i2_default(const shape *s, double eb, gwlz_i2_cfg *c) {
  memset(c, 0, sizeof *c);
  c->nd = s->nd;
  for (int e = 0; e < s->nd; e++) c->n[e] = s->n[e];
  c->L = gwlz_i2_levels(c->nd, c->n);
  c->eb = eb;
  c->radius = BASE_I2_RADIUS;
  c->kdiv = 4;
  for (int l = 1; l <= c->L; l++) {
    c->kind[l] = GWLZ_I2_KIND_CUBIC;
    for (int t = 0; t < c->nd; t++) c->w[l][t] = 1;
  }
  gwlz_i2_set_factors(c, 1.5, 2.0);
}

/* ---- mode 1 / 2 writer (earlier versions) ----------------------------------- */

gwlz_error gwlz_interp_compress_v1(const gwlz_base_params *p, const void *data, void *recon,
                                   uint8_t *aux, gwlz_wbuf *out, gwlz_base_info *info) {
  shape s;
  size_t bytes, tsize;
  gwlz_error e;
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  tsize = gwlz_type_size(p->type);
  if (!gwlz_mul_size(s.total, tsize, &bytes)) return GWLZ_ERR_TOO_LARGE;
  int isd = p->type == GWLZ_TYPE_DOUBLE;

  gwlz_interp_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.nd = s.nd;
  for (int i = 0; i < s.nd; i++) {
    cfg.n[i] = s.n[i];
    cfg.order[i] = i;
  }
  cfg.cubic = 1;
  cfg.eb = p->abs_eb;
  cfg.alpha = BASE_ALPHA;
  cfg.beta = BASE_BETA;
  cfg.blog = s.nd == 1 ? 0 : (s.nd == 2 ? BASE_BLOG_2D : BASE_BLOG_3D);

  int trial = s.total <= BASE_TRIAL_MAX; /* small: try the candidates for real */
  int mode = BASE_MODE_INTERP;
  sampler sm;
  if ((e = sampler_init(&sm, &s, (const uint8_t *)data, tsize)) != GWLZ_OK) return e;
  if (trial) {
    choose_interp(&sm, &cfg, isd, tsize);
  } else {
    double bits = 0.0;
    e = gwlz_interp_choose(&cfg, isd, data, 0.01, 0x9E3779B97F4A7C15ull);
    if (e == GWLZ_OK) e = choose_levels(&sm, &cfg, isd, tsize, &bits);
    if (e != GWLZ_OK) {
      sampler_free(&sm);
      return e;
    }
    if (lorenzo_better(&sm, &cfg, isd, tsize, bits)) mode = BASE_MODE_LORENZO;
  }
  sampler_free(&sm);

  uint32_t *codes = (uint32_t *)malloc((s.total ? s.total : 1) * sizeof(uint32_t));
  if (!codes) return GWLZ_ERR_MEMORY;
  gwlz_wbuf pay;
  size_t nunp = 0;
  gwlz_wbuf_init(&pay);
  if (!trial) {
    e = encode(mode, &cfg, &s, isd, data, recon, aux, codes, &pay, &nunp);
  } else {
    /* small array: encode every level-factor candidate, with and without
     * code-order blocks, and Lorenzo; keep the smallest payload (the first
     * on ties) */
    void *rec2 = malloc(bytes ? bytes : 1);
    uint8_t *aux2 = aux ? (uint8_t *)malloc(s.total ? s.total : 1) : NULL;
    if (!rec2 || (aux && !aux2)) e = GWLZ_ERR_MEMORY;
    const int ninterp = 2 * BASE_NLEVEL_CAND; /* with and without blocks */
    const int blog0 = cfg.blog;
    for (int c = 0; e == GWLZ_OK && c <= ninterp; c++) {
      gwlz_wbuf pay2;
      size_t nunp2 = 0;
      int m = c < ninterp ? BASE_MODE_INTERP : BASE_MODE_LORENZO;
      gwlz_interp_cfg c2 = cfg;
      if (m == BASE_MODE_INTERP) {
        if (c >= BASE_NLEVEL_CAND && blog0 == 0) continue; /* same as above */
        c2.alpha = level_cand[c % BASE_NLEVEL_CAND][0];
        c2.beta = level_cand[c % BASE_NLEVEL_CAND][1];
        c2.blog = c < BASE_NLEVEL_CAND ? blog0 : 0;
      }
      gwlz_wbuf_init(&pay2);
      e = encode(m, &c2, &s, isd, data, c ? rec2 : recon, c ? aux2 : aux, codes, &pay2, &nunp2);
      if (e == GWLZ_OK && (c == 0 || pay2.size < pay.size)) {
        gwlz_wbuf_free(&pay);
        pay = pay2;
        gwlz_wbuf_init(&pay2);
        if (c) memcpy(recon, rec2, bytes);
        if (c && aux) memcpy(aux, aux2, s.total);
        nunp = nunp2;
        mode = m;
        if (m == BASE_MODE_INTERP) cfg = c2;
      }
      gwlz_wbuf_free(&pay2);
    }
    free(rec2);
    free(aux2);
  }
  free(codes);
  return put_payload(e, &pay, out, info, nunp, mode);
}

/* ---- compressor -------------------------------------------------------------- */

/* Mode 6: choose the schedule (interp2_tune.h) and code the whole field;
 * GWLZ_SPEED_FAST: modes 1 / 2. */
static gwlz_error interp_compress(const gwlz_base_params *p, const void *data, void *recon,
                                  uint8_t *aux, gwlz_wbuf *out, gwlz_base_info *info) {
  shape s;
  gwlz_error e;
  if (p->fast)
    return gwlz_interp_compress_v1(p, data, recon, aux, out, info);
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  int isd = p->type == GWLZ_TYPE_DOUBLE;
  gwlz_i2_cfg cfg;
  i2_default(&s, p->abs_eb, &cfg);
  double lam = 8.0, slope_b[2] = {1, 2}, slope_s[2] = {1, 0.5};
  e = gwlz_i2_tune_predictors(&cfg, isd, data, 0x9E3779B97F4A7C15ull);
  if (e == GWLZ_OK) {
    gwlz_i2_blocks blk;
    e = gwlz_i2_blocks_init(&blk, &cfg, isd, data, BASE_SAMPLE_FRAC, BASE_TRIAL_MAX);
    if (e == GWLZ_OK) e = gwlz_i2_tune_levels(&cfg, isd, &blk, &lam);
    if (e == GWLZ_OK) { /* Lorenzo instead? compared at equal size */
      gwlz_i2_cfg lc = cfg;
      double bi[2], si[2], bl[2], sl[2];
      lc.lorenzo = 1;
      for (int t = 0; t < 2 && e == GWLZ_OK; t++) {
        double eb = t ? cfg.eb / BASE_SLOPE_STEP : cfg.eb;
        e = gwlz_i2_blocks_try(&blk, &cfg, isd, eb, &bi[t], &si[t], NULL);
        if (e == GWLZ_OK) e = gwlz_i2_blocks_try(&blk, &lc, isd, eb, &bl[t], &sl[t], NULL);
      }
      double target = bi[0] > bl[0] ? bi[0] : bl[0];
      if (e == GWLZ_OK && gwlz_i2_at_size(bl, sl, target) > gwlz_i2_at_size(bi, si, target)) {
        cfg = lc;
        memcpy(bi, bl, sizeof bi);
        memcpy(si, sl, sizeof si);
      }
      memcpy(slope_b, bi, sizeof bi);
      memcpy(slope_s, si, sizeof si);
    }
    if (e == GWLZ_OK && !cfg.lorenzo) { /* quiet-group flags: faster, when nearly free */
      gwlz_i2_cfg gc = cfg;
      double bg, sg;
      gc.groups = 1;
      e = gwlz_i2_blocks_try(&blk, &gc, isd, cfg.eb, &bg, &sg, NULL);
      if (e == GWLZ_OK && bg <= slope_b[0] * BASE_GROUPS_COST) cfg = gc;
    }
    gwlz_i2_blocks_free(&blk);
  }
  if (e != GWLZ_OK) return e;
  size_t nunp = 0;
  double sse = 0;
  int mode = GWLZ_BASE_MODE_INTERP2;
  gwlz_wbuf pay;
  gwlz_wbuf_init(&pay);
  e = encode_v2(&cfg, isd, data, recon, aux, NULL, &pay, &nunp, &sse);
  if (e == GWLZ_OK && s.total <= BASE_TRIAL_MAX) {
    /* small arrays: the mode 1/2 writer may still do better */
    size_t bytes = s.total * gwlz_type_size(p->type);
    void *rec1 = malloc(bytes ? bytes : 1);
    uint8_t *aux1 = aux ? (uint8_t *)malloc(s.total) : NULL;
    gwlz_wbuf pay1;
    gwlz_base_info bi;
    gwlz_wbuf_init(&pay1);
    if (!rec1 || (aux && !aux1)) e = GWLZ_ERR_MEMORY;
    if (e == GWLZ_OK) e = gwlz_interp_compress_v1(p, data, rec1, aux1, &pay1, &bi);
    if (e == GWLZ_OK) {
      /* the v1 curve at eb and eb / step, the mode 6 curve through the
       * trial's slope (the trial block is the whole array) */
      double b1[2], s1[2];
      b1[0] = 8.0 * (double)pay1.size;
      s1[0] = sse_of(data, rec1, s.total, isd);
      gwlz_base_params p2 = *p;
      gwlz_wbuf pay2;
      gwlz_wbuf_init(&pay2);
      p2.abs_eb = p->abs_eb / BASE_SLOPE_STEP;
      void *rec2 = malloc(bytes ? bytes : 1);
      if (!rec2) e = GWLZ_ERR_MEMORY;
      if (e == GWLZ_OK) e = gwlz_interp_compress_v1(&p2, data, rec2, NULL, &pay2, NULL);
      if (e == GWLZ_OK) {
        b1[1] = 8.0 * (double)pay2.size;
        s1[1] = sse_of(data, rec2, s.total, isd);
      }
      free(rec2);
      gwlz_wbuf_free(&pay2);
      double b5[2] = {8.0 * (double)pay.size, 0}, s5[2] = {sse, 0};
      b5[1] = b5[0] * slope_b[1] / slope_b[0];
      s5[1] = s5[0] * slope_s[1] / slope_s[0];
      double target = b1[0] > b5[0] ? b1[0] : b5[0];
      if (e == GWLZ_OK && gwlz_i2_at_size(b1, s1, target) > gwlz_i2_at_size(b5, s5, target)) {
        gwlz_wbuf_free(&pay);
        pay = pay1;
        gwlz_wbuf_init(&pay1);
        memcpy(recon, rec1, bytes);
        if (aux) memcpy(aux, aux1, s.total);
        nunp = bi.unpredictable;
        mode = bi.mode;
      }
    }
    gwlz_wbuf_free(&pay1);
    free(rec1);
    free(aux1);
  }
  return put_payload(e, &pay, out, info, nunp, mode);
}

/* ---- decoder -------------------------------------------------------------- */

static gwlz_error read_codes(gwlz_rbuf *r, size_t n, size_t nunp, size_t tsize, uint32_t nsym,
                             uint32_t **codes_out, uint8_t **body_out, const uint8_t **unp_out) {
  size_t max_raw, t;
  uint8_t *body = NULL;
  size_t blen;
  gwlz_error e;
  /* Huffman block: at most 24 bits per symbol plus its table. */
  if (!gwlz_mul_size(n, 3, &max_raw) || !gwlz_mul_size(nunp, tsize, &t) ||
      !gwlz_add_size(max_raw, t, &max_raw) ||
      !gwlz_add_size(max_raw, (size_t)nsym * 8 + 4096, &max_raw))
    return GWLZ_ERR_TOO_LARGE;
  if ((e = gwlz_lossless_unpack(r, max_raw, &body, &blen)) != GWLZ_OK) return e;
  gwlz_rbuf br;
  gwlz_rbuf_init(&br, body, blen);
  /* n symbols must fit the bit stream before n codes are allocated */
  if ((e = gwlz_huff_check(&br, n, nsym)) != GWLZ_OK) {
    free(body);
    return e;
  }
  uint32_t *codes = (uint32_t *)malloc((n ? n : 1) * sizeof(uint32_t));
  if (!codes) {
    free(body);
    return GWLZ_ERR_MEMORY;
  }
  e = gwlz_huff_decode(&br, codes, n, nsym);
  if (e == GWLZ_OK && gwlz_rbuf_left(&br) != t)
    e = gwlz_rbuf_left(&br) < t ? GWLZ_ERR_TRUNCATED : GWLZ_ERR_CORRUPT;
  if (e != GWLZ_OK) {
    free(codes);
    free(body);
    return e;
  }
  *codes_out = codes;
  *body_out = body;
  *unp_out = body + br.pos;
  return GWLZ_OK;
}

static gwlz_error interp_decompress(const gwlz_base_params *p, const uint8_t *payload,
                                    size_t size, void *out, uint8_t *aux) {
  gwlz_rbuf r;
  uint8_t ver, mode;
  size_t bytes, tsize;
  shape s;
  gwlz_error e;
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  tsize = gwlz_type_size(p->type);
  if (!gwlz_mul_size(s.total, tsize, &bytes)) return GWLZ_ERR_TOO_LARGE;
  int isd = p->type == GWLZ_TYPE_DOUBLE;
  gwlz_rbuf_init(&r, payload, size);
  if ((e = gwlz_rbuf_u8(&r, &ver)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u8(&r, &mode)) != GWLZ_OK) return e;
  if (mode == GWLZ_BASE_MODE_INTERP2) {
    e = decode_v2(&r, &s, isd, tsize, out, aux);
    return e;
  }
  if (mode != BASE_MODE_INTERP && mode != BASE_MODE_LORENZO) return GWLZ_ERR_CORRUPT;
  uint8_t nd, flags = 0, ord = 0;
  double eb;
  float alpha = 1.0f, beta = 1.0f;
  uint32_t radius;
  uint64_t nunp;
  if ((e = gwlz_rbuf_u8(&r, &nd)) != GWLZ_OK) return e;
  if (nd != s.nd) return GWLZ_ERR_CORRUPT;
  if (mode == BASE_MODE_INTERP) {
    if ((e = gwlz_rbuf_u8(&r, &flags)) != GWLZ_OK) return e;
    if ((e = gwlz_rbuf_u8(&r, &ord)) != GWLZ_OK) return e;
  }
  if ((e = gwlz_rbuf_f64(&r, &eb)) != GWLZ_OK) return e;
  if (mode == BASE_MODE_INTERP) {
    if ((e = gwlz_rbuf_f32(&r, &alpha)) != GWLZ_OK) return e;
    if ((e = gwlz_rbuf_f32(&r, &beta)) != GWLZ_OK) return e;
  }
  if ((e = gwlz_rbuf_u32(&r, &radius)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_varint(&r, &nunp)) != GWLZ_OK) return e;
  if (!(eb > 0.0) || !isfinite(eb) || (flags >> 6) != 0 || ((flags >> 1) & 31) > 30)
    return GWLZ_ERR_CORRUPT;
  if (!(alpha >= 1.0f && alpha <= 64.0f) || !(beta >= 1.0f && beta <= 1e6f)) return GWLZ_ERR_CORRUPT;
  if (radius < 1 || radius > (1u << 30)) return GWLZ_ERR_CORRUPT;
  if (nunp > (uint64_t)s.total) return GWLZ_ERR_CORRUPT;
  gwlz_interp_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.nd = s.nd;
  int seen = 0;
  for (int t = 0; t < s.nd; t++) {
    cfg.n[t] = s.n[t];
    cfg.order[t] = (ord >> (2 * t)) & 3;
    if (mode != BASE_MODE_INTERP) continue;
    if (cfg.order[t] >= s.nd || (seen & (1 << cfg.order[t]))) return GWLZ_ERR_CORRUPT;
    seen |= 1 << cfg.order[t];
  }
  if (s.nd < 4 && (ord >> (2 * s.nd)) != 0) return GWLZ_ERR_CORRUPT;
  cfg.cubic = flags & 1;
  cfg.blog = (flags >> 1) & 31;
  cfg.eb = eb;
  cfg.alpha = alpha;
  cfg.beta = beta;
  if (radius != GWLZ_QUANT_RADIUS) return GWLZ_ERR_UNSUPPORTED;
  uint32_t *codes = NULL;
  uint8_t *body = NULL;
  const uint8_t *unp = NULL;
  if ((e = read_codes(&r, s.total, (size_t)nunp, tsize, 2 * radius, &codes, &body, &unp)) !=
      GWLZ_OK)
    return e;
  if (r.pos != r.size) e = GWLZ_ERR_CORRUPT;
  if (e == GWLZ_OK) {
    if (mode == BASE_MODE_INTERP)
      e = gwlz_interp_decompress(&cfg, isd, codes, unp, (size_t)nunp, out, aux);
    else
      e = gwlz_lorenzo_decompress(s.nd, s.n, eb, isd, codes, unp, (size_t)nunp, out, aux);
  }
  free(codes);
  free(body);
  return e;
}

/* ---- estimate ------------------------------------------------------------------ */

/* Bits per value and MSE of the mode 6 schedule the compressor would choose:
 * the whole array compressed when it has at most GWLZ_BASE_EST_WHOLE values
 * (as the other bases' estimates do), else from its trial coding of sample
 * blocks, corrected per level by statistics sampled over the whole array. */
static gwlz_error interp_estimate(const gwlz_base_params *p, const void *data, double *bpv,
                                  double *mse) {
  shape s;
  gwlz_error e;
  if ((e = gwlz_base_squeeze(p, &s)) != GWLZ_OK) return e;
  int isd = p->type == GWLZ_TYPE_DOUBLE;
  gwlz_i2_cfg cfg;
  i2_default(&s, p->abs_eb, &cfg);
  if (s.total <= GWLZ_BASE_EST_WHOLE) { /* compress for real */
    size_t bytes = s.total * gwlz_type_size(p->type);
    void *rec = malloc(bytes ? bytes : 1);
    gwlz_wbuf out;
    gwlz_wbuf_init(&out);
    e = rec ? interp_compress(p, data, rec, NULL, &out, NULL) : GWLZ_ERR_MEMORY;
    if (e == GWLZ_OK) {
      *bpv = 8.0 * (double)out.size / (double)s.total;
      *mse = sse_of(data, rec, s.total, isd) / (double)s.total;
    }
    free(rec);
    gwlz_wbuf_free(&out);
    return e;
  }
  double bits = 0, sse = 0, acct[3 * (GWLZ_I2_MAXL + 2)];
  e = gwlz_i2_tune_predictors(&cfg, isd, data, 0x9E3779B97F4A7C15ull);
  gwlz_i2_blocks blk;
  memset(&blk, 0, sizeof blk);
  if (e == GWLZ_OK) e = gwlz_i2_blocks_init(&blk, &cfg, isd, data, BASE_SAMPLE_FRAC, BASE_TRIAL_MAX);
  /* the default level factors: tuning them (17 trial runs at each of the
   * two bounds) cost a quarter of auto's time on 256^3 fields and moved
   * the rate-distortion medians by 0.02 dB or less */
  if (e == GWLZ_OK) e = gwlz_i2_blocks_try(&blk, &cfg, isd, cfg.eb, &bits, &sse, acct);
  /* The blocks are a sample of a few places: correct every level's rate
   * and error by the ratio of a model's figures (order-0 bits, squared
   * error at the original values) on points sampled over the whole field
   * to the same on the blocks. */
  gwlz_i2_cfg bc = cfg;
  bc.nd = blk.nd;
  for (int t = 0; t < blk.nd; t++) bc.n[t] = blk.bn[t];
  bc.L = gwlz_i2_levels(bc.nd, bc.n);
  int Lb = bc.L;
  double fb[GWLZ_I2_MAXL + 2] = {0}, fm[GWLZ_I2_MAXL + 2] = {0}, fp[GWLZ_I2_MAXL + 2] = {0};
  double bb[GWLZ_I2_MAXL + 2] = {0}, bm[GWLZ_I2_MAXL + 2] = {0}, bp[GWLZ_I2_MAXL + 2] = {0};
  if (e == GWLZ_OK && !cfg.lorenzo)
    e = gwlz_i2_level_stats(&cfg, isd, data, 0x51ED27A3ull, fb, fm, fp);
  for (int k = 0; k < blk.nblk && e == GWLZ_OK && !cfg.lorenzo; k++) {
    double tb[GWLZ_I2_MAXL + 2] = {0}, tm[GWLZ_I2_MAXL + 2] = {0}, tp[GWLZ_I2_MAXL + 2] = {0};
    e = gwlz_i2_level_stats(&bc, isd, blk.buf + (size_t)k * blk.blen * blk.tsize,
                            0x51ED27A3ull + (uint64_t)k, tb, tm, tp);
    for (int l = 1; l <= Lb; l++) {
      bb[l] += tb[l] * tp[l];
      bm[l] += tm[l] * tp[l];
      bp[l] += tp[l];
    }
  }
  gwlz_i2_blocks_free(&blk);
  if (e != GWLZ_OK) return e;
  /* Rates of the fine levels of the blocks (the coarse levels of a block
   * cost more than in the field), applied to the field's points per level. */
  int lmax = Lb > 3 ? Lb - 2 : 1;
  double cnt[GWLZ_I2_MAXL + 2], b = 8.0 * (40.0 + 2.0 * cfg.L), se = 0;
  gwlz_i2_level_counts(&cfg, cnt);
  for (int l = 1; l <= cfg.L + 1; l++) {
    int k = l < lmax ? l : lmax;
    while (k > 1 && acct[3 * k + 2] < 1) k--;
    double np = acct[3 * k + 2];
    if (np < 1) continue;
    double rb = 1.0, rm = 1.0;
    if (!cfg.lorenzo && k <= Lb && bp[k] > 0 && l <= cfg.L) {
      double hb = bb[k] / bp[k], mb = bm[k] / bp[k];
      if (hb > 1e-3 && fb[l] > 0) rb = fb[l] / hb;
      if (mb > 0 && fm[l] > 0) rm = fm[l] / mb;
      rb = rb > 4 ? 4 : (rb < 0.25 ? 0.25 : rb);
      rm = rm > 4 ? 4 : (rm < 0.25 ? 0.25 : rm);
    }
    b += cnt[l] * acct[3 * k] / np * rb;
    se += cnt[l] * acct[3 * k + 1] / np * rm;
  }
  *bpv = b / (double)s.total;
  *mse = se / (double)s.total;
  return GWLZ_OK;
}

const gwlz_base_impl gwlz_base_interp = {GWLZ_BASE_INTERP, "interp", interp_compress,
                                         interp_decompress, interp_estimate};
