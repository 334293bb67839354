/*
 * test_chunks.c - chunked streams (docs/format.md §9.11): the grid rule, the
 * CRC combination, round trips in 1-4 D with special cells, stream bytes and
 * decoded bytes identical for 1, 2 and 4 threads, the streaming entry points
 * equal to the in-memory ones, regions equal to the same box of a full
 * decode, and damaged or truncated streams that fail cleanly.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/checksum.h"
#include "format/chunks.h"
#include "gwlz.h"
#include "testutil.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static double rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

static size_t prod(const size_t *d, int nd) {
  size_t n = 1;
  for (int i = 0; i < nd; i++) n *= d[i];
  return n;
}

/* A smooth field with noise; specials: every 97th cell NaN, every 131st the
 * fill value -999 (when with_specials). */
static void *make_field(gwlz_type t, const size_t *dims, int nd, int with_specials) {
  size_t n = prod(dims, nd);
  void *p = malloc(n * tu_type_size(t));
  for (size_t i = 0; i < n; i++) {
    size_t r = i, c[4] = {0, 0, 0, 0};
    for (int k = nd - 1; k >= 0; k--) {
      c[k] = r % dims[k];
      r /= dims[k];
    }
    double v = sin(0.11 * (double)c[nd - 1]) +
               cos(0.07 * (double)c[0] + 0.05 * (double)c[nd > 1 ? 1 : 0]) +
               0.3 * sin(0.23 * (double)(c[2] + c[3])) + 0.05 * rnd();
    if (with_specials && i % 97 == 5) v = NAN;
    if (with_specials && i % 131 == 7) v = -999.0;
    if (t == GWLZ_TYPE_DOUBLE) ((double *)p)[i] = v;
    else ((float *)p)[i] = (float)v;
  }
  return p;
}

static gwlz_ctx *make_ctx(gwlz_type t, const size_t *dims, int nd, double abs, size_t chunk,
                          int threads, int groups, int fill) {
  gwlz_ctx *ctx = gwlz_create();
  gwlz_set_type(ctx, t);
  gwlz_set_dims(ctx, nd, dims);
  gwlz_set_error_bound(ctx, GWLZ_EB_ABS, abs, 0, 0);
  gwlz_set_chunk_size(ctx, chunk);
  gwlz_set_threads(ctx, threads);
  gwlz_set_groups(ctx, groups);
  if (fill) gwlz_set_fill_value(ctx, -999.0);
  return ctx;
}

/* ---- callbacks over memory ----------------------------------------------- */
typedef struct {
  const uint8_t *p;
  uint64_t size;
  int fail_at; /* fail the n-th call (0: never) */
  int calls;
} mem_src;

static int mem_read(void *user, uint64_t off, void *buf, size_t size) {
  mem_src *m = user;
  ++m->calls;
  if (m->fail_at && m->calls == m->fail_at) return -1;
  if (off > m->size || size > m->size - off) return -1;
  memcpy(buf, m->p + off, size);
  return 0;
}

typedef struct {
  uint8_t *p;
  size_t size, cap;
} mem_sink;

static int mem_write(void *user, const void *buf, size_t size) {
  mem_sink *m = user;
  if (m->size + size > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 4096;
    while (cap < m->size + size) cap *= 2;
    uint8_t *q = realloc(m->p, cap);
    if (!q) return -1;
    m->p = q;
    m->cap = cap;
  }
  memcpy(m->p + m->size, buf, size);
  m->size += size;
  return 0;
}

/* ---- the pieces ---------------------------------------------------------- */

static void test_crc_combine(void) {
  uint8_t buf[3000];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(rnd() * 256);
  uint32_t all = gwlz_crc32c(0, buf, sizeof buf);
  int ok = 1;
  for (size_t a = 0; a <= sizeof buf; a += 37) {
    uint32_t ca = gwlz_crc32c(0, buf, a), cb = gwlz_crc32c(0, buf + a, sizeof buf - a);
    if (gwlz_crc32c_combine(ca, cb, sizeof buf - a) != all) ok = 0;
  }
  CHECK(ok, "crc32c_combine differs from the CRC of the concatenation");
  CHECK(gwlz_crc32c_combine(0x12345678u, 0, 0) == 0x12345678u, "combine with an empty tail");
}

static void test_grid(void) {
  gwlz_grid g;
  size_t d3[3] = {256, 256, 256};
  gwlz_grid_plan(&g, 3, d3, (size_t)1 << 21);
  CHECK(g.cdims[0] == 128 && g.cdims[1] == 128 && g.cdims[2] == 128 && g.count == 8,
        "256^3 at 2^21: chunks %zux%zux%zu", g.cdims[0], g.cdims[1], g.cdims[2]);
  size_t d1[1] = {5};
  gwlz_grid_plan(&g, 1, d1, 2);
  CHECK(g.cdims[0] == 2 && g.count == 3, "[5] at 2: chunk %zu count %zu", g.cdims[0], g.count);
  size_t lo[4], hi[4];
  size_t m = gwlz_grid_box(&g, 2, lo, hi);
  CHECK(lo[0] == 4 && hi[0] == 5 && m == 1, "last box of [5]");
  size_t d2[2] = {100, 500};
  gwlz_grid_plan(&g, 2, d2, 10000);
  CHECK(g.cdims[0] * g.cdims[1] <= 10000 && g.cdims[0] * g.cdims[1] > 5000, "2-D chunk size");
  gwlz_grid_plan(&g, 2, d2, 1u << 20);
  CHECK(g.count == 1, "small array is one chunk");
  /* the sub-grid of a box */
  size_t d4[4] = {6, 7, 8, 9}, glo[4], ghi[4];
  gwlz_grid_plan(&g, 4, d4, 50);
  size_t blo[4] = {1, 2, 3, 4}, bhi[4] = {5, 6, 7, 8};
  size_t cnt = gwlz_grid_touch(&g, blo, bhi, glo, ghi), seen = 0;
  for (size_t k = 0; k < g.count; k++) {
    size_t clo[4], chi[4];
    gwlz_grid_box(&g, k, clo, chi);
    int meets = 1;
    for (int i = 0; i < 4; i++)
      if (!(clo[i] < bhi[i] && blo[i] < chi[i])) meets = 0;
    seen += (size_t)meets;
  }
  CHECK(cnt == seen, "touch count %zu, boxes that meet %zu", cnt, seen);
}

/* ---- round trips, threads, streaming, regions ---------------------------- */

typedef struct {
  const char *name;
  gwlz_type type;
  int nd;
  size_t dims[4];
  size_t chunk;
  int specials;
  int groups;
} tcase;

static void check_region(const char *name, gwlz_ctx *ctx, const uint8_t *stream, size_t size,
                         const uint8_t *full, gwlz_type t, const size_t *dims, int nd,
                         const size_t *lo, const size_t *hi) {
  size_t ts = tu_type_size(t), ext[4], n = 1;
  for (int i = 0; i < nd; i++) {
    ext[i] = hi[i] - lo[i];
    n *= ext[i];
  }
  uint8_t *box = malloc(n * ts + 1), *box2 = malloc(n * ts + 1);
  gwlz_error e = gwlz_decompress_region(ctx, stream, size, lo, hi, box, n * ts);
  CHECK(e == GWLZ_OK, "%s: region: %s", name, gwlz_error_string(e));
  mem_src ms = {stream, size, 0, 0};
  gwlz_error e2 = gwlz_decompress_region_stream(ctx, mem_read, &ms, size, lo, hi, box2, n * ts);
  CHECK(e2 == GWLZ_OK, "%s: region_stream: %s", name, gwlz_error_string(e2));
  if (!e && !e2 && n) {
    /* compare with the box of the full decode */
    size_t idx[4] = {0, 0, 0, 0}, bad = 0;
    for (size_t j = 0; j < n; j++) {
      size_t r = j;
      for (int i = nd - 1; i >= 0; i--) {
        idx[i] = r % ext[i];
        r /= ext[i];
      }
      size_t f = 0;
      for (int i = 0; i < nd; i++) f = f * dims[i] + lo[i] + idx[i];
      if (memcmp(box + j * ts, full + f * ts, ts) != 0 || memcmp(box2 + j * ts, full + f * ts, ts))
        bad++;
    }
    CHECK(bad == 0, "%s: region [%zu..%zu) differs from the full decode in %zu cells", name,
          lo[0], hi[0], bad);
  }
  free(box);
  free(box2);
}

static void run_case(const tcase *c) {
  const gwlz_type t = c->type;
  const size_t n = prod(c->dims, c->nd), ts = tu_type_size(t);
  const double eb = 1e-3;
  void *data = make_field(t, c->dims, c->nd, c->specials);
  uint8_t *s[3] = {NULL, NULL, NULL}, *d[3] = {NULL, NULL, NULL};
  size_t sz[3] = {0, 0, 0};
  const int threads[3] = {1, 2, 4};
  for (int k = 0; k < 3; k++) {
    gwlz_ctx *ctx = make_ctx(t, c->dims, c->nd, eb, c->chunk, threads[k], c->groups, c->specials);
    size_t cap = gwlz_compress_bound(ctx);
    s[k] = malloc(cap);
    gwlz_error e = gwlz_compress(ctx, data, s[k], cap, &sz[k]);
    CHECK(e == GWLZ_OK, "%s: compress T=%d: %s", c->name, threads[k], gwlz_error_string(e));
    d[k] = malloc(n * ts);
    e = gwlz_decompress(ctx, s[k], sz[k], d[k], n * ts);
    CHECK(e == GWLZ_OK, "%s: decompress T=%d: %s", c->name, threads[k], gwlz_error_string(e));
    gwlz_free(ctx);
  }
  CHECK(sz[0] == sz[1] && sz[0] == sz[2] && !memcmp(s[0], s[1], sz[0]) &&
            !memcmp(s[0], s[2], sz[0]),
        "%s: stream bytes depend on the thread count (%zu %zu %zu)", c->name, sz[0], sz[1], sz[2]);
  CHECK(!memcmp(d[0], d[1], n * ts) && !memcmp(d[0], d[2], n * ts),
        "%s: decoded bytes depend on the thread count", c->name);
  tu_metrics m;
  tu_compare(data, d[0], n, t, c->specials, -999.0, eb, &m);
  CHECK(m.over_bound == 0 && m.special_bad == 0, "%s: %zu over the bound, %zu specials wrong",
        c->name, m.over_bound, m.special_bad);
  CHECK(sz[0] < n * ts, "%s: no compression (%zu bytes)", c->name, sz[0]);

  /* the streaming entry points give the same bytes */
  gwlz_ctx *ctx = make_ctx(t, c->dims, c->nd, eb, c->chunk, 2, c->groups, c->specials);
  mem_src in = {data, n * ts, 0, 0};
  /* in.calls counts the reads (fail_at 0 never fails) */
  mem_sink out = {NULL, 0, 0};
  uint64_t got = 0;
  gwlz_error e = gwlz_compress_stream(ctx, mem_read, &in, mem_write, &out, &got);
  CHECK(e == GWLZ_OK && got == sz[0] && out.size == sz[0] && !memcmp(out.p, s[0], sz[0]),
        "%s: compress_stream differs from compress (%s, %zu vs %zu bytes)", c->name,
        gwlz_error_string(e), out.size, sz[0]);
  free(out.p);
  mem_src cin = {s[0], sz[0], 0, 0};
  mem_sink dout = {NULL, 0, 0};
  e = gwlz_decompress_stream(ctx, mem_read, &cin, sz[0], mem_write, &dout);
  CHECK(e == GWLZ_OK && dout.size == n * ts && !memcmp(dout.p, d[0], n * ts),
        "%s: decompress_stream differs from decompress (%s)", c->name, gwlz_error_string(e));
  free(dout.p);
  /* a failing read callback is an error, not a crash */
  for (int f = 1; f <= in.calls; f++) {
    mem_src bad = {data, n * ts, f, 0};
    mem_sink o2 = {NULL, 0, 0};
    e = gwlz_compress_stream(ctx, mem_read, &bad, mem_write, &o2, NULL);
    CHECK(e == GWLZ_ERR_IO, "%s: read failure %d gave %s", c->name, f, gwlz_error_string(e));
    free(o2.p);
  }

  /* regions: the full box, an empty box, single cells, random boxes */
  size_t lo[4] = {0, 0, 0, 0}, hi[4];
  for (int i = 0; i < c->nd; i++) hi[i] = c->dims[i];
  check_region(c->name, ctx, s[0], sz[0], d[0], t, c->dims, c->nd, lo, hi);
  hi[0] = 0;
  check_region(c->name, ctx, s[0], sz[0], d[0], t, c->dims, c->nd, lo, hi);
  for (int r = 0; r < 12; r++) {
    for (int i = 0; i < c->nd; i++) {
      size_t a = (size_t)(rnd() * (double)c->dims[i]), b = (size_t)(rnd() * (double)c->dims[i]);
      if (a > b) {
        size_t x = a;
        a = b;
        b = x;
      }
      if (r < 3) b = a + 1; /* single cells */
      if (b > c->dims[i]) b = c->dims[i];
      if (b == 0) b = 1;
      if (a >= b) a = b - 1;
      lo[i] = a;
      hi[i] = b;
    }
    check_region(c->name, ctx, s[0], sz[0], d[0], t, c->dims, c->nd, lo, hi);
  }
  /* bad boxes */
  for (int i = 0; i < c->nd; i++) {
    lo[i] = 0;
    hi[i] = c->dims[i];
  }
  hi[c->nd - 1] = c->dims[c->nd - 1] + 1;
  uint8_t one[8];
  CHECK(gwlz_decompress_region(ctx, s[0], sz[0], lo, hi, one, 0) == GWLZ_ERR_PARAM,
        "%s: box beyond the array accepted", c->name);
  gwlz_free(ctx);
  for (int k = 0; k < 3; k++) {
    free(s[k]);
    free(d[k]);
  }
  free(data);
}

/* A damaged record fails the full decode (CHECKSUM) but not a region that
 * does not need it; truncations and flips never crash. */
static void test_damage(void) {
  size_t dims[3] = {24, 40, 40}, n = prod(dims, 3);
  void *data = make_field(GWLZ_TYPE_FLOAT, dims, 3, 1);
  gwlz_ctx *ctx = make_ctx(GWLZ_TYPE_FLOAT, dims, 3, 1e-3, 4000, 2, 0, 1);
  size_t cap = gwlz_compress_bound(ctx), size;
  uint8_t *s = malloc(cap), *out = malloc(n * 4);
  gwlz_error e = gwlz_compress(ctx, data, s, cap, &size);
  CHECK(e == GWLZ_OK, "damage: compress");
  gwlz_info info;
  CHECK(gwlz_get_info(s, size, &info) == GWLZ_OK && info.base != GWLZ_BASE_AUTO,
        "damage: info base %d (the first chunk's)", (int)info.base);
  /* flip a byte in the last record */
  uint8_t *bad = malloc(size);
  memcpy(bad, s, size);
  bad[size - 16 - 5] ^= 0x40;
  CHECK(gwlz_decompress(ctx, bad, size, out, n * 4) == GWLZ_ERR_CHECKSUM, "damage: full decode");
  size_t lo[3] = {0, 0, 0}, hi[3] = {4, 4, 4};
  e = gwlz_decompress_region(ctx, bad, size, lo, hi, out, n * 4);
  CHECK(e == GWLZ_OK, "damage: region away from the damage: %s", gwlz_error_string(e));
  size_t lo2[3] = {20, 36, 36}, hi2[3] = {24, 40, 40};
  e = gwlz_decompress_region(ctx, bad, size, lo2, hi2, out, n * 4);
  CHECK(e == GWLZ_ERR_CHECKSUM, "damage: region on the damage: %s", gwlz_error_string(e));
  /* every truncation, and flips everywhere: an error or (for a flip in an
   * unread part) success, never a crash */
  size_t all[3] = {24, 40, 40};
  int crashes_would_show = 0;
  for (size_t cut = 0; cut < size; cut += (cut < 400 ? 1 : 97)) {
    CHECK(gwlz_decompress(ctx, s, cut, out, n * 4) != GWLZ_OK, "truncated at %zu decodes", cut);
    mem_src ms = {s, cut, 0, 0};
    mem_sink o = {NULL, 0, 0};
    CHECK(gwlz_decompress_stream(ctx, mem_read, &ms, cut, mem_write, &o) != GWLZ_OK,
          "truncated stream at %zu decodes", cut);
    free(o.p);
    CHECK(gwlz_decompress_region(ctx, s, cut, lo, all, out, n * 4) != GWLZ_OK,
          "truncated region at %zu decodes", cut);
  }
  for (size_t at = 0; at < size; at += (at < 600 ? 1 : 53)) {
    memcpy(bad, s, size);
    bad[at] ^= (uint8_t)(1u << (at % 8));
    e = gwlz_decompress(ctx, bad, size, out, n * 4);
    CHECK(e != GWLZ_OK, "flip at %zu decodes", at);
    e = gwlz_decompress_region(ctx, bad, size, lo, all, out, n * 4);
    CHECK(e != GWLZ_OK, "flip at %zu: region of everything decodes", at);
    crashes_would_show++;
  }
  (void)crashes_would_show;
  free(bad);
  free(s);
  free(out);
  free(data);
  gwlz_free(ctx);
}

/* Streams written before chunks (one piece) still decode through every
 * entry point; a one-chunk array is written as before. */
static void test_unchunked(void) {
  size_t dims[2] = {64, 80}, n = prod(dims, 2);
  void *data = make_field(GWLZ_TYPE_DOUBLE, dims, 2, 0);
  gwlz_ctx *a = make_ctx(GWLZ_TYPE_DOUBLE, dims, 2, 1e-4, 0, 1, 0, 0);
  gwlz_ctx *b = make_ctx(GWLZ_TYPE_DOUBLE, dims, 2, 1e-4, n, 1, 0, 0);
  size_t cap = gwlz_compress_bound(a), sa, sb;
  uint8_t *s1 = malloc(cap), *s2 = malloc(cap), *full = malloc(n * 8);
  CHECK(gwlz_compress(a, data, s1, cap, &sa) == GWLZ_OK, "unchunked compress");
  CHECK(gwlz_compress(b, data, s2, cap, &sb) == GWLZ_OK, "one-chunk compress");
  CHECK(sa == sb && !memcmp(s1, s2, sa), "a one-chunk array is written as one piece");
  CHECK(gwlz_decompress(a, s1, sa, full, n * 8) == GWLZ_OK, "unchunked decode");
  size_t lo[2] = {3, 7}, hi[2] = {50, 61};
  check_region("unchunked", a, s1, sa, full, GWLZ_TYPE_DOUBLE, dims, 2, lo, hi);
  mem_src ms = {s1, sa, 0, 0};
  mem_sink o = {NULL, 0, 0};
  CHECK(gwlz_decompress_stream(a, mem_read, &ms, sa, mem_write, &o) == GWLZ_OK &&
            o.size == n * 8 && !memcmp(o.p, full, n * 8),
        "unchunked decompress_stream");
  free(o.p);
  gwlz_free(a);
  gwlz_free(b);
  free(s1);
  free(s2);
  free(full);
  free(data);
}

/* Chunked arrays through the other paths: the PSNR search (whole-pipeline
 * trial runs with a chunked base), the ZFP base per chunk, the enhancer. */
static void test_modes(void) {
  size_t dims[3] = {40, 50, 64}, n = prod(dims, 3);
  void *data = make_field(GWLZ_TYPE_FLOAT, dims, 3, 1);
  for (int c = 0; c < 3; c++) {
    const char *name = c == 0 ? "psnr" : (c == 1 ? "zfp" : "psnr-enh");
    if (c == 1 && !gwlz_base_available(GWLZ_BASE_ZFP)) continue;
    uint8_t *s[2] = {NULL, NULL}, *d[2] = {NULL, NULL};
    size_t sz[2] = {0, 0};
    gwlz_info info;
    for (int k = 0; k < 2; k++) {
      gwlz_ctx *ctx = make_ctx(GWLZ_TYPE_FLOAT, dims, 3, 1e-3, 30000, k ? 2 : 1, c == 2 ? 3 : 0, 1);
      if (c != 1) gwlz_set_error_bound(ctx, GWLZ_EB_PSNR, 0, 0, 60);
      if (c == 1) gwlz_set_base(ctx, GWLZ_BASE_ZFP);
      if (c == 2) gwlz_set_epochs(ctx, 2);
      size_t cap = gwlz_compress_bound(ctx);
      s[k] = malloc(cap);
      d[k] = malloc(n * 4);
      gwlz_error e = gwlz_compress(ctx, data, s[k], cap, &sz[k]);
      CHECK(e == GWLZ_OK, "%s: compress: %s", name, gwlz_error_string(e));
      if (k == 1) {
        mem_src in = {data, n * 4, 0, 0};
        mem_sink out = {NULL, 0, 0};
        e = gwlz_compress_stream(ctx, mem_read, &in, mem_write, &out, NULL);
        CHECK(e == GWLZ_OK && out.size == sz[k] && !memcmp(out.p, s[k], sz[k]),
              "%s: compress_stream differs from compress", name);
        free(out.p);
      }
      e = gwlz_decompress(ctx, s[k], sz[k], d[k], n * 4);
      CHECK(e == GWLZ_OK, "%s: decompress: %s", name, gwlz_error_string(e));
      size_t lo[3] = {5, 0, 13}, hi[3] = {40, 27, 64};
      if (k == 1) check_region(name, ctx, s[k], sz[k], d[k], GWLZ_TYPE_FLOAT, dims, 3, lo, hi);
      gwlz_free(ctx);
    }
    CHECK(sz[0] == sz[1] && !memcmp(s[0], s[1], sz[0]) && !memcmp(d[0], d[1], n * 4),
          "%s: 1 and 2 threads differ", name);
    CHECK(gwlz_get_info(s[0], sz[0], &info) == GWLZ_OK, "%s: info", name);
    tu_metrics m;
    tu_compare(data, d[0], n, GWLZ_TYPE_FLOAT, 1, -999.0, info.abs_bound, &m);
    CHECK(m.over_bound == 0 && m.special_bad == 0, "%s: %zu over the bound, %zu specials wrong",
          name, m.over_bound, m.special_bad);
    if (c != 1) CHECK(m.psnr >= 60 - 0.05, "%s: PSNR %.2f below the target", name, m.psnr);
    if (c == 1) CHECK(info.base == GWLZ_BASE_ZFP, "zfp: info reports base %d", (int)info.base);
    for (int k = 0; k < 2; k++) {
      free(s[k]);
      free(d[k]);
    }
  }
  free(data);
}

#if defined(__SANITIZE_ADDRESS__)
#define TC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TC_SANITIZED 1
#endif
#endif
#ifndef TC_SANITIZED
#define TC_SANITIZED 0
#endif

/* Enhanced chunked streams decoded by boxes (streaming by batches of chunk
 * rows, regions by grown boxes) give the bytes of the whole-array decoder:
 * a real field (where the enhancer is kept) seen as 1-D to 4-D, with NaN
 * cells, f32 and f64, small chunks so that there are many chunk rows. */
static void test_enhanced_boxes(void) {
  char path[1024];
  snprintf(path, sizeof path, "%s/sperr_wmag91_float_91x91x91.f32", tu_data_dir());
  size_t fsize = 0;
  float *f = tu_read_file(path, &fsize);
  CHECK(f != NULL && fsize == (size_t)91 * 91 * 91 * 4, "%s: unreadable", path);
  if (!f) return;
  static const struct {
    const char *name;
    int nd, dbl;
    size_t dims[4], chunk;
    double rel;
  } sh[] = {
      {"enh-1d", 1, 0, {753571}, 40000, 1e-2},
      {"enh-2d", 2, 0, {8281, 91}, 30000, 1e-3},
      {"enh-3d", 3, 0, {91, 91, 91}, 20000, 1e-3},
      {"enh-3d-f64", 3, 1, {91, 91, 91}, 50000, 1e-3},
      {"enh-4d", 4, 0, {7, 13, 91, 91}, 20000, 1e-3},
  };
  const size_t n = fsize / 4;
  for (size_t c = 0; c < sizeof sh / sizeof *sh; c++) {
    /* under the sanitizers (several times slower): 2-D, 3-D f32 and 4-D */
    if (TC_SANITIZED && (c == 0 || c == 3)) continue;
    const gwlz_type t = sh[c].dbl ? GWLZ_TYPE_DOUBLE : GWLZ_TYPE_FLOAT;
    const size_t ts = tu_type_size(t);
    uint8_t *x = malloc(n * ts);
    for (size_t i = 0; i < n; i++) {
      double v = i % 1009 == 3 ? NAN : (double)f[i];
      if (sh[c].dbl) ((double *)x)[i] = v;
      else ((float *)x)[i] = (float)v;
    }
    gwlz_ctx *ctx = make_ctx(t, sh[c].dims, sh[c].nd, 0, sh[c].chunk, 2, 20, 0);
    gwlz_set_error_bound(ctx, GWLZ_EB_REL, 0, sh[c].rel, 0);
    size_t cap = gwlz_compress_bound(ctx), sz = 0;
    uint8_t *s = malloc(cap), *d = malloc(n * ts);
    gwlz_error e = gwlz_compress(ctx, x, s, cap, &sz);
    CHECK(e == GWLZ_OK, "%s: compress: %s", sh[c].name, gwlz_error_string(e));
    gwlz_section_info secs[8];
    int ns = 0, has_enhm = 0;
    if (e == GWLZ_OK && gwlz_get_sections(s, sz, secs, 8, &ns) == GWLZ_OK)
      for (int k = 0; k < ns && k < 8; k++) has_enhm |= !memcmp(secs[k].tag, "ENHM", 4);
    CHECK(has_enhm, "%s: no enhancer stored: nothing tested", sh[c].name);
    e = gwlz_decompress(ctx, s, sz, d, n * ts);
    CHECK(e == GWLZ_OK, "%s: decompress: %s", sh[c].name, gwlz_error_string(e));
    if (e == GWLZ_OK) { /* the bound, NaN cells kept */
      gwlz_stats st;
      tu_metrics m;
      CHECK(gwlz_get_stats(ctx, &st) == GWLZ_OK, "%s: stats", sh[c].name);
      tu_compare(x, d, n, t, 1, -999.0, st.abs_bound, &m);
      CHECK(m.over_bound == 0 && m.special_bad == 0, "%s: %zu over the bound, %zu specials wrong",
            sh[c].name, m.over_bound, m.special_bad);
    }
    /* the enhancer trained and run a window of chunk rows at a time (2-D to
     * 4-D here): the same stream through the streaming entry point and for
     * 1 and 4 threads */
    for (int th = 1; th <= 4 && e == GWLZ_OK; th *= 4) {
      gwlz_set_threads(ctx, th);
      mem_src in = {x, n * ts, 0, 0};
      mem_sink out = {NULL, 0, 0};
      uint64_t got = 0;
      gwlz_error e2 = gwlz_compress_stream(ctx, mem_read, &in, mem_write, &out, &got);
      CHECK(e2 == GWLZ_OK && got == sz && out.size == sz && !memcmp(out.p, s, sz),
            "%s: compress_stream (%d threads) differs from compress (%s, %zu vs %zu bytes)",
            sh[c].name, th, gwlz_error_string(e2), out.size, sz);
      free(out.p);
    }
    for (int th = 1; th <= (TC_SANITIZED ? 2 : 4) && e == GWLZ_OK; th *= 2) {
      gwlz_set_threads(ctx, th);
      mem_src cin = {s, sz, 0, 0};
      mem_sink dout = {NULL, 0, 0};
      gwlz_error e2 = gwlz_decompress_stream(ctx, mem_read, &cin, sz, mem_write, &dout);
      CHECK(e2 == GWLZ_OK && dout.size == n * ts && !memcmp(dout.p, d, n * ts),
            "%s: decompress_stream (%d threads) differs from decompress (%s)", sh[c].name, th,
            gwlz_error_string(e2));
      free(dout.p);
    }
    size_t lo[4] = {0, 0, 0, 0}, hi[4];
    for (int r = 0; r < (TC_SANITIZED ? 3 : 6) && e == GWLZ_OK; r++) {
      for (int i = 0; i < sh[c].nd; i++) {
        size_t a = (size_t)(rnd() * (double)sh[c].dims[i]);
        size_t b = a + 1 + (size_t)(rnd() * (double)(sh[c].dims[i] - a));
        lo[i] = a;
        hi[i] = b > sh[c].dims[i] ? sh[c].dims[i] : b;
      }
      check_region(sh[c].name, ctx, s, sz, d, t, sh[c].dims, sh[c].nd, lo, hi);
    }
    gwlz_free(ctx);
    free(s);
    free(d);
    free(x);
  }
  free(f);
}

int main(void) {
  test_crc_combine();
  test_enhanced_boxes();
  test_modes();
  test_grid();
  static const tcase cases[] = {
      /* above 2^17 values the chunks are shared out among threads */
      {"1d-f32", GWLZ_TYPE_FLOAT, 1, {200000}, 30000, 1, 0},
      {"2d-f32", GWLZ_TYPE_FLOAT, 2, {400, 500}, 20000, 1, 0},
      {"2d-f64", GWLZ_TYPE_DOUBLE, 2, {97, 211}, 4096, 0, 0},
      {"3d-f32", GWLZ_TYPE_FLOAT, 3, {33, 47, 65}, 6000, 1, 0},
      {"3d-f64", GWLZ_TYPE_DOUBLE, 3, {50, 60, 70}, 20000, 1, 0},
      {"4d-f32", GWLZ_TYPE_FLOAT, 4, {9, 16, 24, 40}, 9000, 1, 0},
      {"3d-thin", GWLZ_TYPE_FLOAT, 3, {3, 64, 300}, 5000, 0, 0},
      {"3d-enh", GWLZ_TYPE_FLOAT, 3, {40, 64, 64}, 40000, 1, 4},
      /* enhanced streams with enough chunk rows that streaming decoding goes
       * by batches (halo planes along dimension 0; none in 4-D) */
      {"1d-enh", GWLZ_TYPE_FLOAT, 1, {100000}, 8000, 1, 4},
      {"2d-enh", GWLZ_TYPE_FLOAT, 2, {300, 200}, 4000, 1, 4},
      {"3d-enh-f64", GWLZ_TYPE_DOUBLE, 3, {64, 30, 40}, 4000, 1, 4},
      {"4d-enh", GWLZ_TYPE_FLOAT, 4, {12, 10, 24, 40}, 3000, 1, 4},
      /* above 2^17 values with many chunk rows: the enhancer is compressed by
       * windows of chunk rows */
      {"2d-enh-win", GWLZ_TYPE_FLOAT, 2, {600, 300}, 4000, 1, 4},
      {"3d-enh-win-f64", GWLZ_TYPE_DOUBLE, 3, {80, 48, 40}, 4000, 1, 4},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
  test_damage();
  test_unchunked();
  return tu_finish();
}
