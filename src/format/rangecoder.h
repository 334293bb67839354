/* rangecoder.h - adaptive binary range coder (carry-propagating, byte
 * output, in the manner of LZMA's coder), for context-modelled entropy
 * coding of bits.
 *
 * A model (gwlz_rc_model) holds the probability that the next bit is 0,
 * p / 2^16 with 1 <= p <= 2^16 - 1, and a count that makes it adapt fast
 * at first and then settle: after coding a bit b,
 *   s = rc_shift[n] (n = number of bits coded so far, capped),
 *   b == 0: p += (65536 - p) >> s;   b == 1: p -= p >> s.
 * Everything is integer arithmetic: encoder and decoder agree bit for bit on
 * every platform and build.
 *
 * Coding a bit with model p: bound = (range >> 16) * p; 0 keeps
 * [low, low + bound), 1 keeps [low + bound, low + range). range is
 * renormalised to >= 2^24 by shifting out bytes. Bypass bits (probability
 * 1/2, no model) halve the range. The encoder's first output byte is always
 * 0; flushing writes 5 bytes (docs/format.md §7.4 specifies the byte
 * stream).
 *
 * The decoder never reads past its input: beyond the end it reads zero
 * bytes and counts them in `over`; a caller that finishes decoding with
 * over > 4 (the flush's slack) has read a truncated or corrupt stream. */
#ifndef GWLZ_RANGECODER_H
#define GWLZ_RANGECODER_H

#include "common.h"

#define GWLZ_RC_TOP (1u << 24)
#define GWLZ_RC_PROB_BITS 16
#define GWLZ_RC_PROB_INIT (1u << (GWLZ_RC_PROB_BITS - 1))
#define GWLZ_RC_COUNT_MAX 10

typedef struct {
  uint16_t p; /* probability of a 0 bit, in 1/65536 */
  uint16_t n; /* bits coded, capped at GWLZ_RC_COUNT_MAX */
} gwlz_rc_model;

/* Adaptation shift by count: fast at first, then 1/32 per bit. */
static const uint8_t gwlz_rc_shift[GWLZ_RC_COUNT_MAX + 1] = {1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5};

static inline void gwlz_rc_model_init(gwlz_rc_model *m, size_t count) {
  for (size_t i = 0; i < count; i++) {
    m[i].p = GWLZ_RC_PROB_INIT;
    m[i].n = 0;
  }
}

static inline void gwlz_rc_update(gwlz_rc_model *m, int bit) {
  const unsigned s = gwlz_rc_shift[m->n];
  if (bit)
    m->p = (uint16_t)(m->p - (m->p >> s));
  else
    m->p = (uint16_t)(m->p + ((65536u - m->p) >> s));
  if (m->p == 0) m->p = 1; /* unreachable with s >= 1; kept as a guard */
  if (m->n < GWLZ_RC_COUNT_MAX) m->n++;
}

/* ---- encoder -------------------------------------------------------------- */
typedef struct {
  uint64_t low;
  uint32_t range;
  uint8_t cache;
  uint64_t cache_size;
  gwlz_wbuf *out;
} gwlz_rc_enc;

static inline void gwlz_rc_enc_init(gwlz_rc_enc *e, gwlz_wbuf *out) {
  e->low = 0;
  e->range = 0xFFFFFFFFu;
  e->cache = 0;
  e->cache_size = 1;
  e->out = out;
}

static inline void gwlz_rc_shift_low(gwlz_rc_enc *e) {
  if ((uint32_t)e->low < 0xFF000000u || (e->low >> 32) != 0) {
    uint8_t carry = (uint8_t)(e->low >> 32), t = e->cache;
    do {
      gwlz_wbuf_u8(e->out, (uint8_t)(t + carry));
      t = 0xFF;
    } while (--e->cache_size != 0);
    e->cache = (uint8_t)(e->low >> 24);
  }
  e->cache_size++;
  e->low = (e->low & 0x00FFFFFFu) << 8;
}

static inline void gwlz_rc_encode(gwlz_rc_enc *e, gwlz_rc_model *m, int bit) {
  const uint32_t bound = (e->range >> GWLZ_RC_PROB_BITS) * m->p;
  if (bit) {
    e->low += bound;
    e->range -= bound;
  } else {
    e->range = bound;
  }
  gwlz_rc_update(m, bit);
  while (e->range < GWLZ_RC_TOP) {
    e->range <<= 8;
    gwlz_rc_shift_low(e);
  }
}

/* nbits (<= 32) bits of v, most significant first, each with probability 1/2. */
static inline void gwlz_rc_encode_bypass(gwlz_rc_enc *e, uint32_t v, int nbits) {
  for (int i = nbits - 1; i >= 0; i--) {
    e->range >>= 1;
    if ((v >> i) & 1) e->low += e->range;
    while (e->range < GWLZ_RC_TOP) {
      e->range <<= 8;
      gwlz_rc_shift_low(e);
    }
  }
}

/* Write out the remaining state (5 bytes). */
static inline void gwlz_rc_enc_flush(gwlz_rc_enc *e) {
  for (int i = 0; i < 5; i++) gwlz_rc_shift_low(e);
}

/* ---- decoder -------------------------------------------------------------- */
typedef struct {
  uint32_t code;
  uint32_t range;
  const uint8_t *p, *end;
  size_t over; /* zero bytes supplied beyond the end of the input */
} gwlz_rc_dec;

static inline uint8_t gwlz_rc_next(gwlz_rc_dec *d) {
  if (GWLZ_LIKELY(d->p < d->end)) return *d->p++;
  d->over++;
  return 0;
}

/* GWLZ_ERR_CORRUPT when the first byte is not 0. */
static inline gwlz_error gwlz_rc_dec_init(gwlz_rc_dec *d, const uint8_t *data, size_t size) {
  d->p = data;
  d->end = data + size;
  d->over = 0;
  d->code = 0;
  d->range = 0xFFFFFFFFu;
  if (gwlz_rc_next(d) != 0) return GWLZ_ERR_CORRUPT;
  for (int i = 0; i < 4; i++) d->code = (d->code << 8) | gwlz_rc_next(d);
  return d->over ? GWLZ_ERR_TRUNCATED : GWLZ_OK;
}

static inline int gwlz_rc_decode(gwlz_rc_dec *d, gwlz_rc_model *m) {
  const uint32_t bound = (d->range >> GWLZ_RC_PROB_BITS) * m->p;
  int bit;
  if (d->code < bound) {
    d->range = bound;
    bit = 0;
  } else {
    d->code -= bound;
    d->range -= bound;
    bit = 1;
  }
  gwlz_rc_update(m, bit);
  while (d->range < GWLZ_RC_TOP) {
    d->range <<= 8;
    d->code = (d->code << 8) | gwlz_rc_next(d);
  }
  return bit;
}

static inline uint32_t gwlz_rc_decode_bypass(gwlz_rc_dec *d, int nbits) {
  uint32_t v = 0;
  for (int i = 0; i < nbits; i++) {
    d->range >>= 1;
    uint32_t b = d->code >= d->range;
    if (b) d->code -= d->range;
    v = (v << 1) | b;
    while (d->range < GWLZ_RC_TOP) {
      d->range <<= 8;
      d->code = (d->code << 8) | gwlz_rc_next(d);
    }
  }
  return v;
}

/* After the last symbol: GWLZ_OK when the decoder stayed within its input
 * (the encoder's flush leaves at most 4 bytes unread), else TRUNCATED. */
static inline gwlz_error gwlz_rc_dec_end(const gwlz_rc_dec *d) {
  return d->over > 4 ? GWLZ_ERR_TRUNCATED : GWLZ_OK;
}

#endif /* GWLZ_RANGECODER_H */
