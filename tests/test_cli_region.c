/*
 * test_cli_region.c - the command-line tool on chunked arrays: the streamed
 * compression and decompression give the same bytes as the in-memory path
 * (-a), for 1, 2 and 4 threads; --region returns exactly the box of a full
 * decode on 2-D, 3-D and 4-D arrays, with or without special cells; bad
 * --region specifications are usage errors that leave nothing behind.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gwlz.h"
#include "testutil.h"

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

static void *load(const char *name, size_t *n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return tu_read_file(path, n);
}

static int same_files(const char *a, const char *b) {
  size_t na, nb;
  void *pa = load(a, &na), *pb = load(b, &nb);
  int same = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
  free(pa);
  free(pb);
  return same;
}

/* A float32 field with NaN and fill cells (when specials). */
static void make(const char *name, const size_t *dims_c, int nd, int specials) {
  size_t n = 1;
  for (int i = 0; i < nd; i++) n *= dims_c[i];
  float *v = malloc(n * 4);
  for (size_t i = 0; i < n; i++) {
    double x = (double)(i % dims_c[nd - 1]), y = (double)(i / dims_c[nd - 1]);
    v[i] = (float)(sin(0.05 * x) * cos(0.011 * y) + 0.1 * sin(0.7 * x + 0.3 * y));
    if (specials && i % 211 == 3) v[i] = NAN;
    if (specials && i % 307 == 9) v[i] = -1e30f;
  }
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  tu_write_file(path, v, n * 4);
  free(v);
}

/* Checks that box.f32 is the box [lo, hi) (C order) of full.f32. */
static void check_box(const char *what, const size_t *dims_c, int nd, const size_t *lo,
                      const size_t *hi) {
  size_t nf, nb;
  float *full = load("full.f32", &nf), *box = load("box.f32", &nb);
  size_t ext[4], n = 1;
  for (int i = 0; i < nd; i++) {
    ext[i] = hi[i] - lo[i];
    n *= ext[i];
  }
  int ok = full && box && nb == n * 4;
  for (size_t j = 0; ok && j < n; j++) {
    size_t r = j, f = 0, idx[4];
    for (int i = nd - 1; i >= 0; i--) {
      idx[i] = r % ext[i];
      r /= ext[i];
    }
    for (int i = 0; i < nd; i++) f = f * dims_c[i] + lo[i] + idx[i];
    if (memcmp(&full[f], &box[j], 4) != 0) ok = 0;
  }
  CHECK(ok, "%s: --region output differs from the box of the full decode", what);
  free(full);
  free(box);
}

typedef struct {
  const char *name;
  int nd;
  size_t dims_c[4];
  int specials;
  const char *region;       /* fastest first */
  size_t lo[4], hi[4];      /* the same, C order */
} rcase;

static void run(const rcase *c) {
  char dflag[128] = "";
  size_t len = 0;
  len += (size_t)snprintf(dflag + len, sizeof dflag - len, "-%d", c->nd);
  for (int i = c->nd - 1; i >= 0; i--)
    len += (size_t)snprintf(dflag + len, sizeof dflag - len, " %zu", c->dims_c[i]);
  make("in.f32", c->dims_c, c->nd, c->specials);
  const char *fill = c->specials ? "--fill -1e30" : "";
  /* streamed, three thread counts; in memory with -a */
  static const int th[3] = {1, 2, 4};
  for (int k = 0; k < 3; k++) {
    int rc = cli("-f -i in.f32 -z s%d.gwlz %s -M ABS 1e-3 -G 0 --chunk 5000 -T %d %s", k, dflag,
                 th[k], fill);
    CHECK(rc == 0, "%s: streamed compression T=%d: exit %d", c->name, th[k], rc);
    rc = cli("-z s%d.gwlz -o d%d.f32 -T %d", k, k, th[k]);
    CHECK(rc == 0, "%s: streamed decompression T=%d: exit %d", c->name, th[k], rc);
  }
  CHECK(same_files("s0.gwlz", "s1.gwlz") && same_files("s0.gwlz", "s2.gwlz"),
        "%s: streams differ between thread counts", c->name);
  CHECK(same_files("d0.f32", "d1.f32") && same_files("d0.f32", "d2.f32"),
        "%s: decoded files differ between thread counts", c->name);
  int rc = cli("-f -i in.f32 -z mem.gwlz -o full.f32 %s -M ABS 1e-3 -G 0 --chunk 5000 -a %s",
               dflag, fill);
  CHECK(rc == 0, "%s: -a run: exit %d", c->name, rc);
  CHECK(same_files("s0.gwlz", "mem.gwlz"), "%s: streamed and in-memory streams differ", c->name);
  CHECK(same_files("d0.f32", "full.f32"), "%s: streamed and in-memory decodes differ", c->name);
  for (int k = 0; k < 2; k++) {
    rc = cli("-z s0.gwlz -o box.f32 --region %s -T %d", c->region, th[k]);
    CHECK(rc == 0, "%s: --region %s: exit %d", c->name, c->region, rc);
    if (rc == 0) check_box(c->name, c->dims_c, c->nd, c->lo, c->hi);
  }
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/gwlz_cli_region_%d", (int)getpid());
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
  if (system(cmd) != 0) return 1;

  static const rcase cases[] = {
      {"2d", 2, {150, 230}, 1, "17:201,40:41", {40, 17}, {41, 201}},
      {"2d-all", 2, {150, 230}, 0, ":,:", {0, 0}, {150, 230}},
      {"3d", 3, {40, 50, 60}, 1, "10:60,0:25,20:", {20, 0, 10}, {40, 25, 60}},
      {"3d-octant", 3, {40, 50, 60}, 0, "0:30,0:25,0:20", {0, 0, 0}, {20, 25, 30}},
      {"4d", 4, {6, 10, 20, 30}, 1, "5:29,3:17,2:9,1:5", {1, 2, 3, 5}, {5, 9, 17, 29}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run(&cases[i]);

  /* bad specifications: usage errors, nothing written */
  static const char *const bad[] = {"0:10", "0:10,0:10,0:10,0:10", "5:4,0:1,0:1", "0:61,0:1,0:1",
                                    "a:b,0:1,0:1", "0-3,0:1,0:1", ",,"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = cli("-z s0.gwlz -o bad.f32 --region '%s'", bad[i]);
    CHECK(rc != 0, "--region '%s' accepted", bad[i]);
    size_t n;
    void *p = load("bad.f32", &n);
    CHECK(p == NULL, "--region '%s' left an output", bad[i]);
    free(p);
  }
  CHECK(cli("-f -i in.f32 -z x.gwlz -4 30 20 10 6 -M ABS 1 --region 0:1,0:1,0:1,0:1") == 2,
        "--region with -i is a usage error");

  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) return 1;
  return tu_finish();
}
