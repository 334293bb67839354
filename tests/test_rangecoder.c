/* test_rangecoder.c - the adaptive binary range coder: round trips of
 * modelled and bypass bits, compression close to the entropy, a known byte
 * stream, and truncated or damaged input never read out of bounds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format/rangecoder.h"
#include "testutil.h"

#define NCTX 16

/* Symbol k: a context, a modelled bit drawn with that context's bias, and
 * every 7th symbol also 5 bypass bits. */
static void make(uint64_t seed, size_t n, uint8_t *ctx, uint8_t *bit, uint32_t *byp) {
  uint64_t st = seed;
  for (size_t k = 0; k < n; k++) {
    ctx[k] = (uint8_t)(gwlz_rng_next(&st) % NCTX);
    double bias = (ctx[k] + 0.5) / NCTX; /* probability of a 1 */
    bias = bias * bias * bias;
    bit[k] = gwlz_rng_uniform(&st) < bias;
    byp[k] = (uint32_t)(gwlz_rng_next(&st) & 31);
  }
}

static void encode(size_t n, const uint8_t *ctx, const uint8_t *bit, const uint32_t *byp,
                   gwlz_wbuf *w) {
  gwlz_rc_model m[NCTX];
  gwlz_rc_model_init(m, NCTX);
  gwlz_rc_enc e;
  gwlz_rc_enc_init(&e, w);
  for (size_t k = 0; k < n; k++) {
    gwlz_rc_encode(&e, &m[ctx[k]], bit[k]);
    if (k % 7 == 0) gwlz_rc_encode_bypass(&e, byp[k], 5);
  }
  gwlz_rc_enc_flush(&e);
}

/* Decodes n symbols; returns the number of mismatches, *err the end state. */
static size_t decode(const uint8_t *data, size_t size, size_t n, const uint8_t *ctx,
                     const uint8_t *bit, const uint32_t *byp, gwlz_error *err) {
  gwlz_rc_model m[NCTX];
  gwlz_rc_model_init(m, NCTX);
  gwlz_rc_dec d;
  size_t bad = 0;
  *err = gwlz_rc_dec_init(&d, data, size);
  if (*err != GWLZ_OK) return n;
  for (size_t k = 0; k < n; k++) {
    if (gwlz_rc_decode(&d, &m[ctx[k]]) != bit[k]) bad++;
    if (k % 7 == 0 && gwlz_rc_decode_bypass(&d, 5) != byp[k]) bad++;
  }
  *err = gwlz_rc_dec_end(&d);
  return bad;
}

static void test_roundtrip(void) {
  static const size_t sizes[] = {0, 1, 2, 10, 1000, 200000};
  for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
    size_t n = sizes[t];
    uint8_t *ctx = malloc(n + 1), *bit = malloc(n + 1);
    uint32_t *byp = malloc((n + 1) * sizeof *byp);
    make(77 + t, n, ctx, bit, byp);
    gwlz_wbuf w;
    gwlz_wbuf_init(&w);
    encode(n, ctx, bit, byp, &w);
    EXPECT(w.err == GWLZ_OK && w.size >= 5 && w.data[0] == 0);
    gwlz_error err;
    size_t bad = decode(w.data, w.size, n, ctx, bit, byp, &err);
    CHECK(bad == 0 && err == GWLZ_OK, "n=%zu: %zu mismatches, err %d", n, bad, (int)err);
    if (n == 200000) {
      /* cost close to the ideal adaptive cost: entropy of each context's
       * bits plus the bypass bits */
      double ideal = 0;
      size_t c1[NCTX] = {0}, c[NCTX] = {0}, nb = 0;
      for (size_t k = 0; k < n; k++) {
        c[ctx[k]]++;
        c1[ctx[k]] += bit[k];
        if (k % 7 == 0) nb += 5;
      }
      for (int j = 0; j < NCTX; j++) {
        double p = (double)c1[j] / (double)c[j];
        if (p > 0 && p < 1) ideal -= (double)c[j] * (p * log2(p) + (1 - p) * log2(1 - p));
      }
      ideal += (double)nb;
      double got = 8.0 * (double)w.size;
      CHECK(got < ideal * 1.02 + 64, "cost %.0f bits, ideal %.0f", got, ideal);
      /* truncations: an error or wrong symbols, never a read past the end
       * (ASan checks the reads: copy to an exact-size buffer) */
      for (size_t len = 0; len < w.size; len += 1 + w.size / 50) {
        uint8_t *cp = malloc(len ? len : 1);
        memcpy(cp, w.data, len);
        size_t b2 = decode(cp, len, n, ctx, bit, byp, &err);
        CHECK(err != GWLZ_OK || b2 > 0, "truncated to %zu of %zu bytes accepted", len, w.size);
        free(cp);
      }
    }
    gwlz_wbuf_free(&w);
    free(ctx);
    free(bit);
    free(byp);
  }
}

/* Known answer: fixes the byte stream of docs/format.md §7.4. */
static void test_known_bytes(void) {
  gwlz_wbuf w;
  gwlz_wbuf_init(&w);
  gwlz_rc_model m;
  gwlz_rc_model_init(&m, 1);
  gwlz_rc_enc e;
  gwlz_rc_enc_init(&e, &w);
  static const int bits[12] = {0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0};
  for (int k = 0; k < 12; k++) gwlz_rc_encode(&e, &m, bits[k]);
  gwlz_rc_encode_bypass(&e, 0x2D, 6);
  gwlz_rc_enc_flush(&e);
  static const uint8_t want[] = {0x00, 0x47, 0x39, 0xf0, 0xb6, 0x15, 0x00};
  CHECK(w.size == sizeof want && memcmp(w.data, want, sizeof want) == 0,
        "known stream: %zu bytes %02x %02x %02x %02x %02x %02x", w.size, w.size > 0 ? w.data[0] : 0,
        w.size > 1 ? w.data[1] : 0, w.size > 2 ? w.data[2] : 0, w.size > 3 ? w.data[3] : 0,
        w.size > 4 ? w.data[4] : 0, w.size > 5 ? w.data[5] : 0);
  gwlz_rc_dec d;
  gwlz_rc_model_init(&m, 1);
  EXPECT(gwlz_rc_dec_init(&d, w.data, w.size) == GWLZ_OK);
  int ok = 1;
  for (int k = 0; k < 12; k++) ok &= gwlz_rc_decode(&d, &m) == bits[k];
  ok &= gwlz_rc_decode_bypass(&d, 6) == 0x2D;
  EXPECT(ok && gwlz_rc_dec_end(&d) == GWLZ_OK);
  /* a first byte other than 0 is not a range-coded stream */
  uint8_t bad[6] = {1, 0, 0, 0, 0, 0};
  EXPECT(gwlz_rc_dec_init(&d, bad, 6) == GWLZ_ERR_CORRUPT);
  EXPECT(gwlz_rc_dec_init(&d, bad, 0) != GWLZ_OK);
  gwlz_wbuf_free(&w);
}

/* Models stay inside (0, 65536) whatever they see. */
static void test_model_limits(void) {
  gwlz_rc_model m;
  gwlz_rc_model_init(&m, 1);
  for (int k = 0; k < 100000; k++) gwlz_rc_update(&m, 0);
  EXPECT(m.p > 60000 && m.p < 65535u + 1);
  for (int k = 0; k < 100000; k++) gwlz_rc_update(&m, 1);
  EXPECT(m.p >= 1 && m.p < 2000);
}

int main(void) {
  test_roundtrip();
  test_known_bytes();
  test_model_limits();
  return tu_finish();
}
