/* test_huffman.c - round trips and corruption handling of the Huffman coder.
 * Run with "bench" as the first argument to time 16.7M peaked symbols. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format/huffman.h"
#include "testutil.h"


/* Peaked distribution around center: geometric-ish magnitudes. */
static void gen_peaked(uint32_t *s, size_t n, uint32_t nsym, double p0, uint64_t seed) {
  uint64_t st = seed;
  uint32_t c = nsym / 2;
  for (size_t i = 0; i < n; i++) {
    double u = gwlz_rng_uniform(&st);
    if (u < p0) {
      s[i] = c;
    } else {
      double v = gwlz_rng_uniform(&st);
      int mag = 1 + (int)(-log(1.0 - v) * 3.0);
      if (gwlz_rng_next(&st) & 1) mag = -mag;
      long x = (long)c + mag;
      if (x < 0) x = 0;
      if (x >= (long)nsym) x = (long)nsym - 1;
      /* rare outliers: unpredictable code 0 */
      if ((gwlz_rng_next(&st) & 1023) == 0) x = 0;
      s[i] = (uint32_t)x;
    }
  }
}

static int roundtrip(const uint32_t *s, size_t n, uint32_t nsym, size_t *bytes) {
  gwlz_wbuf w;
  gwlz_wbuf_init(&w);
  gwlz_wbuf_u8(&w, 0xAB); /* prefix, to check offsets */
  gwlz_error e = gwlz_huff_encode(s, n, nsym, &w);
  if (e != GWLZ_OK) {
    fprintf(stderr, "encode failed: %d (n=%zu nsym=%u)\n", (int)e, n, nsym);
    gwlz_wbuf_free(&w);
    return 0;
  }
  gwlz_wbuf_u8(&w, 0xCD); /* suffix */
  if (bytes) *bytes = w.size - 2;
  uint32_t *d = (uint32_t *)malloc((n ? n : 1) * sizeof(uint32_t));
  gwlz_rbuf r;
  gwlz_rbuf_init(&r, w.data, w.size);
  r.pos = 1;
  e = gwlz_huff_decode(&r, d, n, nsym);
  int ok = e == GWLZ_OK && r.pos == w.size - 1 && (n == 0 || memcmp(d, s, n * 4) == 0);
  if (!ok) fprintf(stderr, "roundtrip failed: err %d pos %zu/%zu n=%zu\n", (int)e, r.pos, w.size, n);
  /* A smaller alphabet limit than a used symbol must be rejected. */
  if (ok && n > 0) {
    uint32_t mx = 0;
    for (size_t i = 0; i < n; i++) mx = s[i] > mx ? s[i] : mx;
    gwlz_rbuf_init(&r, w.data + 1, w.size - 2);
    e = gwlz_huff_decode(&r, d, n, mx);
    if (e != GWLZ_ERR_CORRUPT) {
      fprintf(stderr, "nsym_max too small not rejected (%d)\n", (int)e);
      ok = 0;
    }
  }
  free(d);
  gwlz_wbuf_free(&w);
  return ok;
}

/* Every truncation, and random damage, must give an error or a valid decode,
 * never a crash or an overread (run under ASan to check the latter). */
static void damage(const uint32_t *s, size_t n, uint32_t nsym, uint64_t seed) {
  gwlz_wbuf w;
  gwlz_wbuf_init(&w);
  EXPECT(gwlz_huff_encode(s, n, nsym, &w) == GWLZ_OK);
  uint32_t *d = (uint32_t *)malloc((n ? n : 1) * sizeof(uint32_t));
  size_t step = w.size > 2000 ? w.size / 1000 : 1;
  for (size_t len = 0; len < w.size; len += step) {
    uint8_t *cp = (uint8_t *)malloc(len ? len : 1);
    memcpy(cp, w.data, len);
    gwlz_rbuf r;
    gwlz_rbuf_init(&r, cp, len);
    gwlz_error e = gwlz_huff_decode(&r, d, n, nsym);
    EXPECT(e != GWLZ_OK);
    free(cp);
  }
  uint64_t st = seed;
  uint8_t *cp = (uint8_t *)malloc(w.size);
  for (int t = 0; t < 300; t++) {
    memcpy(cp, w.data, w.size);
    size_t k = (size_t)(gwlz_rng_next(&st) % w.size);
    cp[k] ^= (uint8_t)(1u << (gwlz_rng_next(&st) & 7));
    if (t & 1) cp[gwlz_rng_next(&st) % w.size] = (uint8_t)gwlz_rng_next(&st);
    gwlz_rbuf r;
    gwlz_rbuf_init(&r, cp, w.size);
    gwlz_error e = gwlz_huff_decode(&r, d, n, nsym);
    if (e == GWLZ_OK) {
      EXPECT(r.pos <= w.size);
      for (size_t i = 0; i < n; i++) EXPECT(d[i] < nsym);
    }
  }
  free(cp);
  free(d);
  gwlz_wbuf_free(&w);
}

/* Decodes n symbols (at most 16) from len bytes of b; *pos: bytes consumed. */
static gwlz_error decode_bytes(const uint8_t *b, size_t len, size_t n, uint32_t nsym, uint32_t *d,
                               size_t *pos) {
  gwlz_rbuf r;
  gwlz_rbuf_init(&r, b, len);
  gwlz_error e = gwlz_huff_decode(&r, d, n, nsym);
  if (pos) *pos = r.pos;
  return e;
}

/* Hand-made blocks, see docs/format.md "Huffman block". */
static void test_corrupt_tables(void) {
  /* a valid 2-symbol table: symbols 5,6 lengths 1,1; 4 symbols in 1 byte */
  static const uint8_t ok[] = {2, 1, 1, 5, 1, 0x00, 1, 0x0A};
  uint32_t d[16];
  size_t pos = 0;
  EXPECT(decode_bytes(ok, sizeof ok, 4, 16, d, &pos) == GWLZ_OK);
  EXPECT(d[0] == 5 && d[1] == 6 && d[2] == 5 && d[3] == 6);
  EXPECT(pos == sizeof ok);

  static const struct {
    const char *what;
    uint8_t b[9];
    size_t len, n;
    uint32_t nsym;
    gwlz_error want; /* GWLZ_OK here: any error */
  } cases[] = {
      {"over-subscribed: 3 symbols all of length 1",
       {3, 1, 1, 0, 2, 0x00, 0x00, 1, 0xFF}, 9, 4, 16, GWLZ_ERR_CORRUPT},
      {"incomplete: 2 symbols, lengths 1 and 2", {2, 2, 1, 0, 1, 0x10, 1, 0x00}, 8, 4, 16,
       GWLZ_ERR_CORRUPT},
      {"symbol >= nsym_max", {2, 1, 1, 5, 1, 0x00, 1, 0x0A}, 8, 4, 6, GWLZ_ERR_CORRUPT},
      {"too many symbols for the bit stream", {2, 1, 1, 5, 1, 0x00, 1, 0x0A}, 8, 9, 16,
       GWLZ_ERR_CORRUPT},
      {"too few symbols: bytes left over", {2, 1, 1, 5, 1, 0x00, 2, 0x0A, 0x00}, 9, 4, 16,
       GWLZ_ERR_CORRUPT},
      {"declared maxlen differs from the lengths", {2, 3, 1, 5, 1, 0x00, 1, 0x0A}, 8, 4, 16,
       GWLZ_ERR_CORRUPT},
      {"ranges exceeding nused", {2, 1, 1, 5, 2, 0x00, 1, 0x0A}, 8, 4, 16, GWLZ_ERR_CORRUPT},
      {"single symbol out of range", {1, 20}, 2, 4, 16, GWLZ_ERR_CORRUPT},
      {"nused = 0 with n > 0", {0}, 1, 4, 16, GWLZ_ERR_CORRUPT},
      {"empty input", {0}, 0, 0, 16, GWLZ_ERR_TRUNCATED},
      {"huge nused", {0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 16, 1, 0, 0}, 9, 4, 0xFFFFFFFFu, GWLZ_OK},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    gwlz_error e = decode_bytes(cases[k].b, cases[k].len, cases[k].n, cases[k].nsym, d, NULL);
    if (cases[k].want == GWLZ_OK)
      CHECK(e != GWLZ_OK, "%s: accepted", cases[k].what);
    else
      CHECK(e == cases[k].want, "%s: got %d, want %d", cases[k].what, (int)e, (int)cases[k].want);
  }
}

static void bench(void) {
  const size_t n = (size_t)256 * 256 * 256;
  const uint32_t nsym = 65536;
  uint32_t *s = (uint32_t *)malloc(n * 4), *d = (uint32_t *)malloc(n * 4);
  double ps[] = {0.5, 0.8, 0.95};
  for (int k = 0; k < 3; k++) {
    gen_peaked(s, n, nsym, ps[k], 42);
    gwlz_wbuf w;
    gwlz_wbuf_init(&w);
    double best_e = 1e9, best_d = 1e9;
    for (int rep = 0; rep < 7; rep++) {
      w.size = 0;
      double t0 = tu_cpu_now();
      gwlz_huff_encode(s, n, nsym, &w);
      double t1 = tu_cpu_now();
      gwlz_rbuf r;
      gwlz_rbuf_init(&r, w.data, w.size);
      gwlz_error e = gwlz_huff_decode(&r, d, n, nsym);
      double t2 = tu_cpu_now();
      CHECK(e == GWLZ_OK && memcmp(s, d, n * 4) == 0, "bench round trip (p0=%.2f)", ps[k]);
      if (t1 - t0 < best_e) best_e = t1 - t0;
      if (t2 - t1 < best_d) best_d = t2 - t1;
    }
    printf("p0=%.2f (thread CPU time, best of 7): %zu symbols -> %zu bytes (%.3f bits/sym); encode %.1f ms (%.0f MB/s), "
           "decode %.1f ms (%.0f Msym/s)\n",
           ps[k], n, w.size, 8.0 * (double)w.size / (double)n, best_e * 1e3,
           (double)n * 4 / best_e / 1e6, best_d * 1e3, (double)n / best_d / 1e6);
    gwlz_wbuf_free(&w);
  }
  free(s);
  free(d);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "bench") == 0) {
    bench();
    return tu_finish();
  }
  size_t bytes;
  /* empty */
  EXPECT(roundtrip(NULL, 0, 10, &bytes));
  EXPECT(bytes == 1);
  /* single distinct symbol */
  {
    uint32_t s[1000];
    for (int i = 0; i < 1000; i++) s[i] = 32768;
    EXPECT(roundtrip(s, 1000, 65536, &bytes));
    EXPECT(bytes <= 4);
    EXPECT(roundtrip(s, 1, 65536, NULL));
    s[0] = 0;
    EXPECT(roundtrip(s, 1, 1, NULL));
  }
  /* two symbols, a few */
  {
    uint32_t s[5] = {3, 7, 7, 3, 7};
    EXPECT(roundtrip(s, 5, 8, NULL));
    EXPECT(roundtrip(s, 2, 8, NULL));
  }
  /* symbol out of range at encode */
  {
    uint32_t s[3] = {1, 2, 9};
    gwlz_wbuf w;
    gwlz_wbuf_init(&w);
    EXPECT(gwlz_huff_encode(s, 3, 9, &w) == GWLZ_ERR_PARAM);
    gwlz_wbuf_free(&w);
  }
  /* random uniform over various alphabets and sizes */
  {
    uint64_t st = 7;
    size_t sizes[] = {2, 3, 7, 100, 1000, 8192, 100000};
    uint32_t alph[] = {2, 3, 17, 256, 4096, 65536, 200000, 1u << 22};
    uint32_t *s = (uint32_t *)malloc(100000 * 4);
    for (size_t a = 0; a < sizeof alph / sizeof *alph; a++) {
      for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        for (size_t i = 0; i < sizes[z]; i++) s[i] = (uint32_t)(gwlz_rng_next(&st) % alph[a]);
        EXPECT(roundtrip(s, sizes[z], alph[a], NULL));
      }
    }
    /* more than 65536 distinct symbols forces codes longer than 16 bits */
    for (size_t i = 0; i < 100000; i++) s[i] = (uint32_t)i * 3u;
    EXPECT(roundtrip(s, 100000, 300000, &bytes));
    damage(s, 100000, 300000, 11);
    /* huge declared alphabet */
    for (size_t i = 0; i < 1000; i++) s[i] = (uint32_t)(gwlz_rng_next(&st) % 1000) + 4000000000u;
    EXPECT(roundtrip(s, 1000, 0xFFFFFFFFu, NULL));
    free(s);
  }
  /* peaked, as the quantizer produces; 8192 symbols of the small test file */
  {
    size_t n = 8192;
    uint32_t *s = (uint32_t *)malloc(1000000 * 4);
    gen_peaked(s, n, 65536, 0.7, 3);
    EXPECT(roundtrip(s, n, 65536, &bytes));
    printf("8192 peaked symbols (p0=0.7): %zu bytes\n", bytes);
    damage(s, n, 65536, 5);
    gen_peaked(s, 1000000, 65536, 0.97, 4);
    EXPECT(roundtrip(s, 1000000, 65536, &bytes));
    printf("1M peaked symbols (p0=0.97): %zu bytes (%.3f bits/sym)\n", bytes,
           8.0 * (double)bytes / 1e6);
    damage(s, 1000, 65536, 6);
    /* Fibonacci-like frequencies: unlimited depth would exceed 16 */
    size_t k = 0;
    uint64_t f1 = 1, f2 = 1;
    for (uint32_t sy = 0; sy < 28 && k < 1000000; sy++) {
      for (uint64_t j = 0; j < f1 && k < 1000000; j++) s[k++] = sy;
      uint64_t t = f1 + f2;
      f1 = f2;
      f2 = t;
    }
    EXPECT(roundtrip(s, k, 28, NULL));
    free(s);
  }
  test_corrupt_tables();
  return tu_finish();
}
