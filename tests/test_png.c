/*
 * test_png.c - pictures: gwlz_set_skip_enhancer returns the base
 * reconstruction through the public API, and the CLI's --png writes a PNG
 * that decodes (libpng read-back: dimensions, not blank) when compressing,
 * when decompressing with and without the original, for 1-D to 4-D fields,
 * with --slice and the colour scale options; bad --slice values fail
 * without leaving a file. The CLI part is skipped when built without libpng.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef GWLZ_HAVE_PNG
#include <png.h>
#endif

#include "gwlz.h"
#include "testutil.h"

/* ---- the base reconstruction through the public API ---------------------- */
static void skip_enhancer(void) {
  const size_t dims[3] = {32, 64, 64}, n = 32 * 64 * 64;
  float *x = (float *)malloc(n * sizeof(float)), *y = (float *)malloc(n * sizeof(float));
  for (size_t i = 0; x && i < n; i++)
    x[i] = (float)(sin(0.2 * (double)(i % 64)) * cos(0.15 * (double)(i / 64 % 64)) +
                   0.3 * sin(0.3 * (double)(i / 4096)) + 0.01 * sin(1.7 * (double)i));
  if (x) x[100] = NAN;
  gwlz_ctx *ctx = gwlz_create();
  void *stream = NULL;
  size_t size = 0;
  gwlz_error e = ctx && x && y ? GWLZ_OK : GWLZ_ERR_MEMORY;
  if (!e) e = gwlz_set_dims(ctx, 3, dims);
  if (!e) e = gwlz_set_error_bound(ctx, GWLZ_EB_REL, 0, 1e-2, 0);
  if (!e) e = gwlz_set_enhancer(ctx, GWLZ_ENH_LINEAR);
  if (!e) e = tu_compress(ctx, x, &stream, &size);
  CHECK(e == GWLZ_OK, "compress: %s", gwlz_error_string(e));
  gwlz_stats st;
  gwlz_info info;
  if (!e && gwlz_get_stats(ctx, &st) == GWLZ_OK && gwlz_get_info(stream, size, &info) == GWLZ_OK) {
    CHECK(gwlz_set_skip_enhancer(ctx, 2) == GWLZ_ERR_PARAM, "skip 2 accepted");
    CHECK(gwlz_set_skip_enhancer(NULL, 1) == GWLZ_ERR_PARAM, "NULL context accepted");
    for (int skip = 0; skip < 2; skip++) {
      CHECK(gwlz_set_skip_enhancer(ctx, skip) == GWLZ_OK, "set skip %d", skip);
      e = gwlz_decompress(ctx, stream, size, y, n * sizeof(float));
      CHECK(e == GWLZ_OK, "decompress skip %d: %s", skip, gwlz_error_string(e));
      tu_metrics m;
      tu_compare(x, y, n, GWLZ_TYPE_FLOAT, 0, 0, info.abs_bound, &m);
      double want = skip ? st.base_psnr : st.enhanced_psnr;
      CHECK(fabs(m.psnr - want) < 1e-9, "skip %d: PSNR %.6f, stats say %.6f", skip, m.psnr, want);
      CHECK(m.over_bound == 0 && m.special_bad == 0, "skip %d: bound / NaN cell", skip);
    }
    if (st.enhancer == GWLZ_ENH_NONE)
      printf("note: the enhancer kept no model on the test field; skip compared X' with X'\n");
  }
  free(stream);
  free(x);
  free(y);
  gwlz_free(ctx);
}

#ifdef GWLZ_HAVE_PNG
#ifndef GWLZ_CLI
#error "GWLZ_CLI must name the built command-line tool"
#endif
static char dir[512];

static int cli(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = tu_vrun(dir, GWLZ_CLI, fmt, ap);
  va_end(ap);
  return rc;
}

static int exists(const char *name) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0;
}

/* Reads a PNG back; checks its size and that it is not blank (many distinct
 * colours, dark and bright pixels). */
static void check_png(const char *name, int min_w, int min_h) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  png_image im;
  memset(&im, 0, sizeof im);
  im.version = PNG_IMAGE_VERSION;
  int ok = png_image_begin_read_from_file(&im, path);
  CHECK(ok, "%s: not a PNG (%s)", name, ok ? "" : im.message);
  if (!ok) return;
  im.format = PNG_FORMAT_RGB;
  size_t bytes = PNG_IMAGE_SIZE(im);
  uint8_t *px = (uint8_t *)malloc(bytes);
  ok = px && png_image_finish_read(&im, NULL, px, 0, NULL);
  CHECK(ok, "%s: PNG does not decode", name);
  if (ok) {
    CHECK((int)im.width >= min_w && (int)im.height >= min_h, "%s: %ux%u, expected >= %dx%d",
          name, im.width, im.height, min_w, min_h);
    /* distinct colours (coarse 4096-bin histogram) and the brightness spread */
    static uint8_t seen[4096];
    memset(seen, 0, sizeof seen);
    int distinct = 0, dark = 0, bright = 0;
    for (size_t i = 0; i + 2 < bytes; i += 3) {
      int b = ((px[i] >> 4) << 8) | ((px[i + 1] >> 4) << 4) | (px[i + 2] >> 4);
      if (!seen[b]) {
        seen[b] = 1;
        distinct++;
      }
      int lum = px[i] + px[i + 1] + px[i + 2];
      if (lum < 150) dark++;
      if (lum > 600) bright++;
    }
    CHECK(distinct >= 30 && dark > 100 && bright > 100,
          "%s: looks blank (%d colours, %d dark, %d bright pixels)", name, distinct, dark, bright);
  }
  free(px);
  png_image_free(&im);
}

static void write_field(const char *name, size_t n, int isd, double (*f)(size_t)) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t ts = isd ? 8 : 4;
  uint8_t *b = (uint8_t *)malloc(n * ts);
  for (size_t i = 0; b && i < n; i++) {
    double v = f(i);
    if (isd) {
      memcpy(b + 8 * i, &v, 8);
    } else {
      float x = (float)v;
      memcpy(b + 4 * i, &x, 4);
    }
  }
  CHECK(b && tu_write_file(path, b, n * ts), "write %s", name);
  free(b);
}

static double f3(size_t i) {
  double x = (double)(i % 40), y = (double)(i / 40 % 30), z = (double)(i / 1200);
  return 1.0 + exp(0.1 * x) * (1.2 + sin(0.3 * y)) * (1.0 + 0.1 * z) + 0.01 * sin(7.0 * (double)i);
}
static double f1(size_t i) { return sin(0.01 * (double)i) + 0.02 * sin(3.1 * (double)i); }
static double f4(size_t i) { return cos(0.2 * (double)(i % 9)) + 0.1 * (double)(i / 9 % 8) + 0.01 * (double)(i / 72); }

static void cli_pictures(void) {
  snprintf(dir, sizeof dir, "/tmp/gwlz_test_png_XXXXXX");
  CHECK(mkdtemp(dir) != NULL, "temporary directory");
  write_field("f3.f32", 12 * 30 * 40, 0, f3);
  write_field("f1.f64", 5000, 1, f1);
  write_field("f4.f32", 6 * 5 * 8 * 9, 0, f4);

  int rc = cli("-i f3.f32 -z f3.gwlz -3 40 30 12 -M REL 1e-3 --png c.png");
  CHECK(rc == 0 && exists("f3.gwlz"), "compress with --png: rc %d", rc);
  check_png("c.png", 4 * 200, 200);
  rc = cli("-z f3.gwlz -o f3.out --png d.png --png-linear");
  CHECK(rc == 0 && exists("f3.out"), "decompress with --png: rc %d", rc);
  check_png("d.png", 3 * 200, 200);
  rc = cli("-z f3.gwlz -i f3.f32 --png r.png --slice y=3 -a");
  CHECK(rc == 0, "decompress against the original with --png: rc %d", rc);
  check_png("r.png", 4 * 200, 60);
  rc = cli("-d -i f1.f64 -o f1.out -1 5000 -M ABS 1e-3 --png l.png");
  CHECK(rc == 0, "1-D: rc %d", rc);
  check_png("l.png", 4 * 256, 150);
  rc = cli("-i f4.f32 -z f4.gwlz -4 9 8 5 6 -M REL 1e-3 --png w.png --slice z=2 --png-log");
  CHECK(rc == 0, "4-D: rc %d", rc);
  check_png("w.png", 4 * 200, 200);

  rc = cli("-z f3.gwlz --png bad1.png --slice w=0");
  CHECK(rc != 0 && !exists("bad1.png"), "--slice on a missing axis: rc %d", rc);
  rc = cli("-z f3.gwlz --png bad2.png --slice z=12");
  CHECK(rc != 0 && !exists("bad2.png"), "--slice index out of range: rc %d", rc);
  rc = cli("-z f3.gwlz --png bad3.png --slice q");
  CHECK(rc != 0 && !exists("bad3.png"), "--slice syntax: rc %d", rc);
  rc = cli("-z f3.gwlz -i f1.f64 --png bad4.png");
  CHECK(rc != 0 && !exists("bad4.png"), "original of another size: rc %d", rc);
  rc = cli("-i f3.f32 -z f3.gwlz -3 40 30 12");
  CHECK(rc != 0, "-i -z without a bound or an output: rc %d", rc);

  char cmd[1100];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0, "cleanup");
}
#endif

int main(void) {
  skip_enhancer();
#ifdef GWLZ_HAVE_PNG
  cli_pictures();
#else
  printf("test_png: CLI built without libpng, --png part skipped\n");
#endif
  return tu_finish();
}
