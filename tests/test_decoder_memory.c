/*
 * test_decoder_memory.c - what the decoder allocates on hostile and on valid
 * streams, measured with a counting allocator: the library's malloc, calloc,
 * realloc and free are routed through __wrap_* functions (the test is linked
 * with -Wl,--wrap=...; see tests/CMakeLists.txt) that record the peak of the
 * bytes held while a call runs.
 *
 *  - crafted streams that declare a large field (256 Mi values) but whose
 *    sections cannot back it, or whose SPEC, ENHM or EXCP section is bad
 *    behind a valid BASE: gwlz_check_stream and gwlz_decompress reject them
 *    with the documented error, allocating at most 1 MiB (the BASE section
 *    is never decoded, which alone would take 1 GiB for the codes);
 *  - valid streams: the peak stays within the bound docs/format.md §11.1
 *    documents.
 * Output buffers of the crafted streams are reserved with mmap and never
 * touched, so the test needs little memory.
 */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zstd.h>

#include "base/interp2.h"
#include "format/container.h"
#include "format/lossless.h"
#include "gwlz.h"
#include "testutil.h"

/* ---- counting allocator ---------------------------------------------------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);

#define HDR 16 /* keeps the 16-byte alignment of malloc */
static int counting;
static size_t held, peak;

static void *account(unsigned char *p, size_t size) {
  if (!p) return NULL;
  memcpy(p, &size, sizeof size);
  p[sizeof size] = (unsigned char)counting;
  if (counting) {
    held += size;
    if (held > peak) peak = held;
  }
  return p + HDR;
}

static void unaccount(unsigned char *p) {
  size_t size;
  memcpy(&size, p, sizeof size);
  if (p[sizeof size]) held -= size;
}

void *__wrap_malloc(size_t size) {
  if (size > SIZE_MAX - HDR) return NULL;
  return account(__real_malloc(size + HDR), size);
}

void *__wrap_calloc(size_t n, size_t size) {
  if (size && n > (SIZE_MAX - HDR) / size) return NULL;
  unsigned char *p = __real_calloc(1, n * size + HDR);
  return account(p, n * size);
}

void __wrap_free(void *p) {
  if (!p) return;
  unsigned char *b = (unsigned char *)p - HDR;
  unaccount(b);
  __real_free(b);
}

void *__wrap_realloc(void *p, size_t size) {
  if (!p) return __wrap_malloc(size);
  if (size > SIZE_MAX - HDR) return NULL;
  unsigned char *b = (unsigned char *)p - HDR;
  size_t old;
  memcpy(&old, b, sizeof old);
  int was = b[sizeof old];
  unsigned char *nb = __real_realloc(b, size + HDR);
  if (!nb) return NULL;
  if (was) held -= old;
  return account(nb, size);
}

static void count_start(void) {
  held = 0;
  peak = 0;
  counting = 1;
}

static size_t count_stop(void) {
  counting = 0;
  return peak;
}

/* ---- stream building ---------------------------------------------------------- */

#define BIG_N ((size_t)1 << 28) /* values declared by the crafted streams */
#define SMALL_LIMIT ((size_t)1 << 20)

/* A valid stream of a field compressed through the public API (interp base:
 * the crafted streams below edit its payload). */
static uint8_t *compress_field(gwlz_type t, int ndims, const size_t *dims, const void *data,
                               double abs_eb, int groups, gwlz_enhancer enh, size_t *size) {
  gwlz_ctx *ctx = gwlz_create();
  uint8_t *out = NULL;
  *size = 0;
  if (ctx && gwlz_set_type(ctx, t) == GWLZ_OK && gwlz_set_dims(ctx, ndims, dims) == GWLZ_OK &&
      gwlz_set_error_bound(ctx, GWLZ_EB_ABS, abs_eb, 0, 0) == GWLZ_OK &&
      gwlz_set_groups(ctx, groups) == GWLZ_OK && gwlz_set_enhancer(ctx, enh) == GWLZ_OK &&
      gwlz_set_epochs(ctx, 1) == GWLZ_OK && gwlz_set_base(ctx, GWLZ_BASE_INTERP) == GWLZ_OK) {
    size_t cap = gwlz_compress_bound(ctx);
    out = malloc(cap);
    if (out && gwlz_compress(ctx, data, out, cap, size) != GWLZ_OK) {
      free(out);
      out = NULL;
    }
  }
  gwlz_free(ctx);
  return out;
}

/* The BASE payload of stream (a copy). */
static uint8_t *base_of(const uint8_t *stream, size_t size, size_t *bsize) {
  gwlz_header h;
  gwlz_section secs[GWLZ_MAX_SECTIONS];
  int ns = 0;
  *bsize = 0;
  if (gwlz_container_read(stream, size, &h, secs, GWLZ_MAX_SECTIONS, &ns) != GWLZ_OK) return NULL;
  for (int i = 0; i < ns; i++)
    if (secs[i].tag == GWLZ_SEC_BASE) {
      uint8_t *p = malloc(secs[i].size);
      if (p) memcpy(p, secs[i].data, secs[i].size);
      *bsize = secs[i].size;
      return p;
    }
  return NULL;
}

/* Header of a 1-D float field of n values under an absolute bound. */
static gwlz_header header_1d(size_t n, double eb) {
  gwlz_header h;
  memset(&h, 0, sizeof h);
  h.version = GWLZ_FORMAT_VERSION;
  h.type = GWLZ_TYPE_FLOAT;
  h.ndims = 1;
  h.dims[0] = n;
  h.n = n;
  h.eb_mode = GWLZ_EB_ABS;
  h.eb_abs = eb;
  h.abs_bound = eb;
  h.policy = GWLZ_BOUND_STRICT;
  return h;
}

static void put_section(gwlz_section *s, uint32_t tag, const gwlz_wbuf *b) {
  s->tag = tag;
  s->data = b->data;
  s->size = b->size;
}

/* A linear model payload (docs/format.md §10.2) for a 1-D field: one group,
 * architecture 16 (4 parameters in 1-D), binary32 parameters. */
static void linear_model(gwlz_wbuf *m, uint32_t nparams, float p0) {
  gwlz_wbuf_u8(m, 1);   /* payload version */
  gwlz_wbuf_u8(m, 1);   /* kind: linear */
  gwlz_wbuf_u8(m, 16);  /* arch */
  gwlz_wbuf_u8(m, 0);   /* binary32 */
  gwlz_wbuf_u16(m, 1);  /* G */
  gwlz_wbuf_u32(m, nparams);
  gwlz_wbuf_u8(m, 1);   /* bitmap: group 0 kept */
  gwlz_wbuf_u8(m, 64);  /* amplitude */
  for (uint32_t j = 0; j < nparams; j++) gwlz_wbuf_f32(m, j == 0 ? p0 : 0.0f);
}

/* ---- checks ------------------------------------------------------------------ */

/* Output buffer of bytes that is never touched: reserved address space. */
static void *reserve(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* gwlz_decompress of stream s into reserved address space: its result in
 * *e, the bytes it allocated in *bytes; 0 when it could not be run. */
static int decode_counted(const gwlz_wbuf *s, gwlz_error *e, size_t *bytes) {
  gwlz_info info;
  void *dst = gwlz_get_info(s->data, s->size, &info) == GWLZ_OK
                  ? reserve(info.decompressed_bytes) : NULL;
  gwlz_ctx *ctx = gwlz_create();
  int ran = dst && ctx;
  if (ran) {
    count_start();
    *e = gwlz_decompress(ctx, s->data, s->size, dst, info.decompressed_bytes);
    *bytes = count_stop();
  }
  if (dst) munmap(dst, info.decompressed_bytes);
  gwlz_free(ctx);
  return ran;
}

/* A hostile stream must fail with want from both entry points, allocating at
 * most SMALL_LIMIT bytes and quickly. */
static void expect_rejected(const char *what, const gwlz_wbuf *s, gwlz_error want) {
  count_start();
  gwlz_error e1 = gwlz_check_stream(s->data, s->size);
  size_t p1 = count_stop();
  CHECK(e1 == want, "%s: gwlz_check_stream gave '%s', want '%s'", what, gwlz_error_string(e1),
        gwlz_error_string(want));
  CHECK(p1 <= SMALL_LIMIT, "%s: gwlz_check_stream allocated %zu bytes", what, p1);

  gwlz_info info;
  gwlz_error ei = gwlz_get_info(s->data, s->size, &info);
  CHECK(ei == GWLZ_OK, "%s: header unreadable (%s)", what, gwlz_error_string(ei));
  if (ei != GWLZ_OK) return;
  gwlz_error e2 = GWLZ_OK;
  size_t p2 = 0;
  double t0 = tu_now();
  int ran = decode_counted(s, &e2, &p2);
  double dt = tu_now() - t0;
  CHECK(ran, "%s: no output reservation", what);
  if (ran) {
    CHECK(e2 == want, "%s: gwlz_decompress gave '%s', want '%s'", what, gwlz_error_string(e2),
          gwlz_error_string(want));
    CHECK(p2 <= SMALL_LIMIT, "%s: gwlz_decompress allocated %zu bytes (limit %zu)", what, p2,
          SMALL_LIMIT);
    CHECK(dt < 2.0, "%s: rejection took %.2f s", what, dt);
    printf("  %-44s %-28s peak %8zu bytes  %.3f s\n", what, gwlz_error_string(e2), p2, dt);
  }
}

/* Raw-mode BASE whose zstd frame cannot hold the declared field. */
static void test_raw_block_claims(void) {
  const size_t n = BIG_N;
  gwlz_header h = header_1d(n, 0);
  uint8_t zeros[4096] = {0};
  /* a frame without Frame_Content_Size: only its blocks bound its content */
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  uint8_t frame[512];
  size_t fsz = 0;
  if (cc) {
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
    fsz = ZSTD_compress2(cc, frame, sizeof frame, zeros, sizeof zeros);
    ZSTD_freeCCtx(cc);
  }
  CHECK(fsz > 0 && !ZSTD_isError(fsz), "zstd frame");
  if (fsz == 0 || ZSTD_isError(fsz)) return;
  gwlz_wbuf base, out;
  gwlz_wbuf_init(&base);
  gwlz_wbuf_init(&out);
  gwlz_wbuf_u8(&base, 1);
  gwlz_wbuf_u8(&base, 0); /* raw mode */
  gwlz_wbuf_u64(&base, (uint64_t)n * 4);
  gwlz_wbuf_u64(&base, fsz);
  gwlz_wbuf_put(&base, frame, fsz);
  gwlz_section sec;
  put_section(&sec, GWLZ_SEC_BASE, &base);
  EXPECT(gwlz_container_write(&h, &sec, 1, &out) == GWLZ_OK);
  char what[96];
  snprintf(what, sizeof what, "raw block claiming 1 GiB (%zu-byte stream)", out.size);
  expect_rejected(what, &out, GWLZ_ERR_CORRUPT);

  /* a frame that records a content size other than the block's raw size */
  size_t f2 = ZSTD_compress(frame, sizeof frame, zeros, 100, 3);
  CHECK(!ZSTD_isError(f2), "zstd frame");
  if (!ZSTD_isError(f2)) {
    gwlz_wbuf_free(&base);
    gwlz_wbuf_free(&out);
    gwlz_wbuf_init(&base);
    gwlz_wbuf_init(&out);
    gwlz_wbuf_u8(&base, 1);
    gwlz_wbuf_u8(&base, 0);
    gwlz_wbuf_u64(&base, (uint64_t)n * 4);
    gwlz_wbuf_u64(&base, f2);
    gwlz_wbuf_put(&base, frame, f2);
    put_section(&sec, GWLZ_SEC_BASE, &base);
    EXPECT(gwlz_container_write(&h, &sec, 1, &out) == GWLZ_OK);
    expect_rejected("raw block, frame content size != raw size", &out, GWLZ_ERR_CORRUPT);
  }
  gwlz_wbuf_free(&base);
  gwlz_wbuf_free(&out);
}

/* A stream declaring BIG_N float values whose BASE section is b. */
static gwlz_wbuf big_stream(const uint8_t *b, size_t bsize) {
  gwlz_header h = header_1d(BIG_N, 1e-3);
  gwlz_wbuf out;
  gwlz_wbuf_init(&out);
  gwlz_section sec = {GWLZ_SEC_BASE, b, bsize};
  EXPECT(gwlz_container_write(&h, &sec, 1, &out) == GWLZ_OK);
  return out;
}

/* An interp BASE (mode 1, the Huffman-coded writer) of a small varied field,
 * declared as a large one: its Huffman block cannot code that many symbols. */
static void test_interp_claims(void) {
  const size_t n0 = 2000;
  float *v = malloc(n0 * sizeof *v), *rec = malloc(n0 * sizeof *rec);
  uint64_t st = 5;
  for (size_t i = 0; i < n0; i++)
    v[i] = (float)(sin(0.01 * (double)i) + 0.3 * gwlz_rng_uniform(&st));
  gwlz_base_params bp;
  memset(&bp, 0, sizeof bp);
  bp.type = GWLZ_TYPE_FLOAT;
  bp.ndims = 1;
  bp.dims[0] = n0;
  bp.n = n0;
  bp.abs_eb = 1e-3;
  bp.threads = 1;
  gwlz_wbuf pay;
  gwlz_wbuf_init(&pay);
  EXPECT(gwlz_interp_compress_v1(&bp, v, rec, NULL, &pay, NULL) == GWLZ_OK);
  size_t bsize = pay.size;
  uint8_t *b = pay.data, *s = NULL;
  pay.data = NULL;
  gwlz_wbuf_free(&pay);
  free(rec);
  CHECK(b && bsize > 2 && (b[1] == 1 || b[1] == 2), "interp payload of a small field");
  if (b && bsize > 2 && (b[1] == 1 || b[1] == 2)) {
    gwlz_wbuf out = big_stream(b, bsize);
    /* the interp header is valid for any n: only the code block can tell */
    count_start();
    gwlz_error e = gwlz_check_stream(out.data, out.size);
    count_stop();
    EXPECT(e == GWLZ_OK);
    size_t p = 0;
    if (decode_counted(&out, &e, &p)) {
      CHECK(e == GWLZ_ERR_CORRUPT, "interp block declared for 256 Mi values: %s",
            gwlz_error_string(e));
      CHECK(p <= SMALL_LIMIT, "interp block declared for 256 Mi values: %zu bytes allocated", p);
      printf("  %-44s %-28s peak %8zu bytes\n", "interp block of 2000 values as 256 Mi",
             gwlz_error_string(e), p);
    }
    gwlz_wbuf_free(&out);
  }
  free(b);
  free(s);
  free(v);
}

/* A valid BASE of a constant field declared with BIG_N values (its code block
 * has one symbol, so it is valid for any n), plus one bad section. */
static void test_bad_sections(void) {
  const size_t n0 = 4096;
  float *v = calloc(n0, sizeof *v);
  size_t size, bsize;
  uint8_t *s = compress_field(GWLZ_TYPE_FLOAT, 1, &n0, v, 1e-3, 0, GWLZ_ENH_NONE, &size);
  uint8_t *b = s ? base_of(s, size, &bsize) : NULL;
  CHECK(b != NULL, "constant field payload");
  free(v);
  if (!b) {
    free(s);
    return;
  }
  gwlz_header h = header_1d(BIG_N, 1e-3);
  gwlz_wbuf spec, model, badp, nanm, exc, out;
  gwlz_wbuf_init(&spec);
  gwlz_wbuf_init(&model);
  gwlz_wbuf_init(&badp);
  gwlz_wbuf_init(&nanm);
  gwlz_wbuf_init(&exc);
  /* SPEC: 5 cells in one run starting at n (past the end) */
  {
    gwlz_wbuf d;
    gwlz_wbuf_init(&d);
    gwlz_wbuf_varint(&d, 1);
    gwlz_wbuf_varint(&d, BIG_N);
    gwlz_wbuf_varint(&d, 4);
    gwlz_wbuf_u8(&d, 0);
    gwlz_wbuf_f32(&d, NAN);
    gwlz_wbuf_varint(&spec, 5);
    EXPECT(gwlz_lossless_pack(d.data, d.size, &spec, 3) == GWLZ_OK);
    gwlz_wbuf_free(&d);
  }
  linear_model(&model, 4, 0.5f);  /* valid */
  linear_model(&badp, 5, 0.5f);   /* wrong parameter count for 1-D */
  linear_model(&nanm, 4, NAN);    /* non-finite parameter */
  /* EXCP: one position, n + 7 */
  {
    gwlz_wbuf d;
    gwlz_wbuf_init(&d);
    gwlz_wbuf_varint(&d, BIG_N + 7);
    gwlz_wbuf_u8(&exc, 1);
    gwlz_wbuf_varint(&exc, 1);
    EXPECT(gwlz_lossless_pack(d.data, d.size, &exc, 3) == GWLZ_OK);
    gwlz_wbuf_free(&d);
  }
  struct {
    const char *what;
    const gwlz_wbuf *spec, *model, *exc;
    gwlz_error want;
  } cases[] = {
      {"SPEC run past the end, behind 1 GiB BASE", &spec, NULL, NULL, GWLZ_ERR_CORRUPT},
      {"ENHM parameter count wrong for the geometry", NULL, &badp, NULL, GWLZ_ERR_CORRUPT},
      {"ENHM with a NaN parameter", NULL, &nanm, NULL, GWLZ_ERR_CORRUPT},
      {"EXCP position past the end", NULL, &model, &exc, GWLZ_ERR_CORRUPT},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    gwlz_section secs[4];
    int ns = 0;
    if (cases[c].spec) put_section(&secs[ns++], GWLZ_SEC_SPECIAL, cases[c].spec);
    secs[ns++] = (gwlz_section){GWLZ_SEC_BASE, b, bsize};
    if (cases[c].model) put_section(&secs[ns++], GWLZ_SEC_MODELS, cases[c].model);
    if (cases[c].exc) put_section(&secs[ns++], GWLZ_SEC_EXCEPT, cases[c].exc);
    gwlz_wbuf_init(&out);
    EXPECT(gwlz_container_write(&h, secs, ns, &out) == GWLZ_OK);
    expect_rejected(cases[c].what, &out, cases[c].want);
    gwlz_wbuf_free(&out);
  }
  /* with the valid model alone the stream passes the check (and would be
   * decoded: 1 GiB of output, not done here) */
  {
    gwlz_section secs[2] = {{GWLZ_SEC_BASE, b, bsize}, {0, NULL, 0}};
    put_section(&secs[1], GWLZ_SEC_MODELS, &model);
    gwlz_wbuf_init(&out);
    EXPECT(gwlz_container_write(&h, secs, 2, &out) == GWLZ_OK);
    EXPECT(gwlz_check_stream(out.data, out.size) == GWLZ_OK);
    gwlz_wbuf_free(&out);
  }
  gwlz_wbuf_free(&spec);
  gwlz_wbuf_free(&model);
  gwlz_wbuf_free(&badp);
  gwlz_wbuf_free(&nanm);
  gwlz_wbuf_free(&exc);
  free(b);
  free(s);
}

/* Documented bound (docs/format.md §11.1) on what gwlz_decompress allocates
 * besides the caller's output: 32 bytes per value, 512 times the ENHM
 * payload, 1 MiB. */
static size_t documented_bound(const uint8_t *s, size_t size, size_t n) {
  gwlz_section_info secs[16];
  int ns = 0;
  size_t enhm = 0;
  if (gwlz_get_sections(s, size, secs, 16, &ns) == GWLZ_OK)
    for (int i = 0; i < ns && i < 16; i++)
      if (strcmp(secs[i].tag, "ENHM") == 0) enhm = secs[i].size;
  return 32 * n + 512 * enhm + ((size_t)1 << 20);
}

static void measure_valid(const char *what, gwlz_type t, int ndims, const size_t *dims,
                          const void *data, double eb, int groups, gwlz_enhancer enh) {
  size_t size, n = 1;
  for (int i = 0; i < ndims; i++) n *= dims[i];
  uint8_t *s = compress_field(t, ndims, dims, data, eb, groups, enh, &size);
  gwlz_info info;
  CHECK(s && gwlz_get_info(s, size, &info) == GWLZ_OK, "%s: compress", what);
  if (!s) return;
  void *dst = malloc(info.decompressed_bytes);
  gwlz_ctx *ctx = gwlz_create();
  count_start();
  gwlz_error e = gwlz_decompress(ctx, s, size, dst, info.decompressed_bytes);
  size_t p = count_stop();
  size_t bound = documented_bound(s, size, n);
  CHECK(e == GWLZ_OK, "%s: %s", what, gwlz_error_string(e));
  CHECK(p <= bound, "%s: decoder allocated %zu bytes, documented bound %zu", what, p, bound);
  printf("  %-44s enhancer %d  peak %10zu bytes = %.2f bytes/value (bound %.2f)\n", what,
         (int)info.enhancer, p, (double)p / (double)n, (double)bound / (double)n);
  gwlz_free(ctx);
  free(dst);
  free(s);
}

/* A high-frequency texture on which both enhancer kinds keep a model. */
static double texture(size_t z, size_t y, size_t x) {
  return sin(0.9 * (double)x) * sin(0.7 * (double)y) * cos(0.5 * (double)z) +
         0.3 * sin(0.05 * (double)x * (double)y / 16.0);
}

static void test_valid_peaks(void) {
  const size_t n = (size_t)1 << 22;
  float *zf = calloc(n, sizeof *zf);
  measure_valid("constant float field, 4 Mi values", GWLZ_TYPE_FLOAT, 1, &n, zf, 1e-3, 0,
                GWLZ_ENH_NONE);
  free(zf);
  size_t dims[3] = {16, 64, 64};
  size_t m = 16 * 64 * 64;
  float *f = malloc(m * sizeof *f);
  double *d = malloc(m * sizeof *d);
  for (size_t i = 0; i < m; i++) {
    d[i] = texture(i / 4096, (i / 64) % 64, i % 64);
    f[i] = (float)d[i];
  }
  /* REL 1e-2 of the range (about 2.6) */
  measure_valid("16x64x64 float, base only", GWLZ_TYPE_FLOAT, 3, dims, f, 0.026, 0,
                GWLZ_ENH_NONE);
  measure_valid("16x64x64 float, linear enhancer", GWLZ_TYPE_FLOAT, 3, dims, f, 0.026, 4,
                GWLZ_ENH_LINEAR);
  measure_valid("16x64x64 float, cnn enhancer", GWLZ_TYPE_FLOAT, 3, dims, f, 0.026, 1,
                GWLZ_ENH_CNN);
  measure_valid("16x64x64 double, linear enhancer", GWLZ_TYPE_DOUBLE, 3, dims, d, 0.026, 4,
                GWLZ_ENH_LINEAR);
  measure_valid("16x64x64 double, cnn enhancer", GWLZ_TYPE_DOUBLE, 3, dims, d, 0.026, 1,
                GWLZ_ENH_CNN);
  free(f);
  free(d);
}

/* A mode 6 BASE (range-coded codes) of a small field declared as a large
 * one: a range coder may code many cells in few bytes, so the decoder holds
 * one byte per declared cell (the code magnitudes its contexts read,
 * docs/format.md §11) and no more before the payload runs out. */
static void test_interp2_claims(void) {
  const size_t n0 = 4000;
  float *v = malloc(n0 * sizeof *v);
  uint64_t st = 9;
  for (size_t i = 0; i < n0; i++)
    v[i] = (float)(sin(0.01 * (double)i) + 0.3 * gwlz_rng_uniform(&st));
  size_t size, bsize;
  uint8_t *s = compress_field(GWLZ_TYPE_FLOAT, 1, &n0, v, 1e-3, 0, GWLZ_ENH_NONE, &size);
  uint8_t *b = s ? base_of(s, size, &bsize) : NULL;
  if (b && bsize > 2 && b[1] == 6) {
    gwlz_wbuf out = big_stream(b, bsize);
    gwlz_error e = GWLZ_OK;
    size_t p = 0;
    if (decode_counted(&out, &e, &p)) {
      CHECK(e != GWLZ_OK, "mode 6 payload of 4000 values accepted as 256 Mi");
      CHECK(p <= BIG_N + SMALL_LIMIT, "mode 6 payload declared for 256 Mi values: %zu bytes",
            p);
      printf("  %-44s %-28s peak %8zu bytes (n + %zu)\n", "mode 6 payload of 4000 values as 256 Mi",
             gwlz_error_string(e), p, p > BIG_N ? p - BIG_N : 0);
    }
    gwlz_wbuf_free(&out);
  } else {
    CHECK(0, "the interp base did not write mode 6 for a small field");
  }
  free(b);
  free(s);
  free(v);
}

int main(void) {
  printf("hostile streams:\n");
  test_raw_block_claims();
  test_interp_claims();
  test_interp2_claims();
  test_bad_sections();
  printf("valid streams:\n");
  test_valid_peaks();
  return tu_finish();
}
