/*
 * test_cli.c - the command-line tool (GWLZ_CLI) run through the shell in a
 * temporary directory: SZ3-style round trips, the -a report, and every error
 * path leaving no output and no temporary file behind.
 */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gwlz.h"
#include "testutil.h"

#ifndef GWLZ_CLI
#error "GWLZ_CLI must name the built command-line tool"
#endif

static char dir[512];

/* Runs "cd dir && GWLZ_CLI args >out.txt 2>err.txt"; returns the exit status. */
static int cli(const char *fmt, ...) {
  char args[2048], cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >out.txt 2>err.txt", dir, GWLZ_CLI, args);
  int st = system(cmd);
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

static char *slurp(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t n;
  char *buf = tu_read_file(path, &n);
  if (!buf) return NULL;
  char *s = realloc(buf, n + 1);
  if (!s) {
    free(buf);
    return NULL;
  }
  s[n] = '\0';
  return s;
}

static int contains(const char *name, const char *needle) {
  char *s = slurp(name);
  int found = s && strstr(s, needle) != NULL;
  free(s);
  return found;
}

static int exists(const char *name) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0;
}

static void remove_file(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(path);
}

static int put(const char *name, const void *data, size_t size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return tu_write_file(path, data, size);
}

/* Number of hidden entries (the tool's temporaries start with '.'). */
static int leftovers(void) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

/* Smooth test field data[nz][ny][nx]. */
static float *make_field(size_t nx, size_t ny, size_t nz) {
  float *v = malloc(nx * ny * nz * sizeof *v);
  for (size_t z = 0; z < nz; z++)
    for (size_t y = 0; y < ny; y++)
      for (size_t x = 0; x < nx; x++)
        v[(z * ny + y) * nx + x] =
            (float)(sin(0.3 * (double)x) * cos(0.2 * (double)y) + 0.1 * (double)z);
  return v;
}

/* Checks out vs in within bound; -1 if unreadable. */
static void check_output(const char *what, const char *name, const void *in, size_t n,
                         gwlz_type t, double bound) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t size;
  void *out = tu_read_file(path, &size);
  CHECK(out && size == n * tu_type_size(t), "%s: output size %zu", what, size);
  if (out && size == n * tu_type_size(t)) {
    tu_metrics m;
    tu_compare(in, out, n, t, 0, 0, bound, &m);
    CHECK(m.over_bound == 0 && m.special_bad == 0, "%s: max err %g > bound %g", what, m.max_err,
          bound);
  }
  free(out);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/gwlz_cli_XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  const size_t nx = 40, ny = 30, nz = 20, n = nx * ny * nz;
  float *field = make_field(nx, ny, nz);
  CHECK(put("in.f32", field, n * 4), "write input");
  float lo = field[0], hi = field[0];
  for (size_t i = 0; i < n; i++) {
    if (field[i] < lo) lo = field[i];
    if (field[i] > hi) hi = field[i];
  }
  double range = (double)hi - (double)lo;
  int rc;

  /* --- help and version --- */
  rc = cli("-h");
  CHECK(rc == 0 && contains("out.txt", "-M"), "-h: rc %d", rc);
  rc = cli("-V");
  CHECK(rc == 0 && contains("out.txt", gwlz_version_string()), "-V: rc %d", rc);
  rc = cli("");
  CHECK(rc != 0, "no arguments must fail");

  /* --- compress, then decompress, SZ3 style --- */
  rc = cli("-f -i in.f32 -z c.gwlz -3 %zu %zu %zu -M REL 1e-3 -G 0", nx, ny, nz);
  CHECK(rc == 0 && exists("c.gwlz"), "compress: rc %d", rc);
  rc = cli("-z c.gwlz -o out.f32");
  CHECK(rc == 0, "decompress: rc %d", rc);
  check_output("REL 1e-3", "out.f32", field, n, GWLZ_TYPE_FLOAT, 1e-3 * range);
  rc = cli("-f -z c.gwlz -o out2.f32 -3 %zu %zu %zu", nx, ny, nz);
  CHECK(rc == 0, "decompress with matching -f -3: rc %d", rc);
  char *a = slurp("out.f32"), *b = slurp("out2.f32");
  CHECK(a && b && memcmp(a, b, n * 4) == 0, "two decompressions differ");
  free(a);
  free(b);

  /* --- mismatching type/dims on decompression --- */
  remove_file("out3.f32");
  rc = cli("-z c.gwlz -o out3.f32 -3 %zu %zu %zu", nz, ny, nx);
  CHECK(rc != 0 && contains("err.txt", "dims") && !exists("out3.f32"), "wrong -3: rc %d", rc);
  rc = cli("-z c.gwlz -o out3.f32 -2 %zu %zu", nx, ny * nz);
  CHECK(rc != 0 && !exists("out3.f32"), "wrong -2: rc %d", rc);
  rc = cli("-d -z c.gwlz -o out3.f32");
  CHECK(rc != 0 && contains("err.txt", "float32") && !exists("out3.f32"), "wrong -d: rc %d", rc);

  /* --- both at once with -a, other bound spellings --- */
  rc = cli("-f -i in.f32 -o both.f32 -3 %zu %zu %zu -M ABS -A 1e-2 -a -G 0", nx, ny, nz);
  CHECK(rc == 0, "-i -o -a: rc %d", rc);
  static const char *const keys[] = {"compression ratio", "bits per value", "PSNR", "NRMSE",
                                     "max abs error", "max error / bound", "compression speed",
                                     "decompression speed"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
    CHECK(contains("out.txt", keys[k]), "-a output lacks '%s'", keys[k]);
  check_output("ABS -A 1e-2", "both.f32", field, n, GWLZ_TYPE_FLOAT, 1e-2);
  CHECK(!exists("c2.gwlz"), "no stream without -z");
  rc = cli("-i in.f32 -o both.f32 -z c2.gwlz -3 %zu %zu %zu -M ABS 5e-3 -G 0 -q", nx, ny, nz);
  CHECK(rc == 0 && exists("c2.gwlz"), "-i -o -z keeps the stream: rc %d", rc);
  check_output("ABS 5e-3", "both.f32", field, n, GWLZ_TYPE_FLOAT, 5e-3);
  rc = cli("-i in.f32 -o both.f32 -3 %zu %zu %zu -M ABS_AND_REL -A 1e-2 -R 1e-4 -G 0", nx, ny, nz);
  CHECK(rc == 0, "ABS_AND_REL: rc %d", rc);
  check_output("ABS_AND_REL", "both.f32", field, n, GWLZ_TYPE_FLOAT, fmin(1e-2, 1e-4 * range));
  rc = cli("-i in.f32 -o both.f32 -3 %zu %zu %zu -M PSNR 70 -a -G 0", nx, ny, nz);
  CHECK(rc == 0, "PSNR mode: rc %d", rc);
  rc = cli("-i in.f32 -z c3.gwlz -1 %zu -R 1e-3 -G 0 -T 2", n);
  CHECK(rc == 0, "-1 with -R only: rc %d", rc);
  rc = cli("-i in.f32 -z c3.gwlz -4 %zu %zu %zu 1 --threads=1 -M REL 1e-3 -G 0", nx, ny, nz);
  CHECK(rc == 0, "-4 and --threads=1: rc %d", rc);
  /* Default settings (enhancer on): -a reports the enhancer when one is kept. */
  rc = cli("-i in.f32 -o both.f32 -3 %zu %zu %zu -M REL 1e-3 -a --seed 7 --epochs 2", nx, ny, nz);
  CHECK(rc == 0, "default enhancer: rc %d", rc);
  check_output("enhanced", "both.f32", field, n, GWLZ_TYPE_FLOAT, 1e-3 * range);
  /* A real field on which models are usually kept: the report then has the enhancer keys. */
  rc = cli("-d -i '%s/nyxlya50_tau_real_50x50x50.f64' -o tau.f64 -3 50 50 50 -M REL 1e-2 -a",
           tu_data_dir());
  CHECK(rc == 0, "enhancer on a real field: rc %d", rc);
  if (contains("out.txt", "enhancer = ") && !contains("out.txt", "none kept")) {
    static const char *const ekeys[] = {"base PSNR", "enhanced PSNR", "model bytes", "exceptions",
                                        "training time"};
    for (size_t k = 0; k < sizeof ekeys / sizeof ekeys[0]; k++)
      CHECK(contains("out.txt", ekeys[k]), "-a output with a model lacks '%s'", ekeys[k]);
  }

  /* float64 and a fill value */
  double *dv = malloc(n * sizeof *dv);
  for (size_t i = 0; i < n; i++) dv[i] = i % 10 == 0 ? -9999.0 : (double)field[i] * 1e3;
  CHECK(put("in.f64", dv, n * 8), "write f64");
  rc = cli("-d -i in.f64 -o out.f64 -z c.f64.gwlz -2 %zu %zu -M REL 1e-4 --fill -9999 -a -G 0",
           nx * ny, nz);
  CHECK(rc == 0, "f64 with --fill: rc %d", rc);
  {
    size_t sz;
    char path[1024];
    snprintf(path, sizeof path, "%s/out.f64", dir);
    double *o = tu_read_file(path, &sz);
    CHECK(o && sz == n * 8, "f64 output size");
    if (o && sz == n * 8) {
      tu_metrics m;
      tu_compare(dv, o, n, GWLZ_TYPE_DOUBLE, 1, -9999.0, 1e-4 * 1e3 * range * (1 + 1e-9), &m);
      CHECK(m.special == n / 10 && m.special_bad == 0 && m.over_bound == 0,
            "f64 fill: %zu special, %zu changed, %zu over", m.special, m.special_bad,
            m.over_bound);
    }
    free(o);
  }
  free(dv);

  /* --- errors: nothing written, existing outputs untouched --- */
  put("keep.f32", "old", 3);
  rc = cli("-f -i in.f32 -o keep.f32 -3 %zu %zu %zu -M REL 1e-3", nx, ny, nz + 1);
  CHECK(rc != 0 && contains("err.txt", "expected") && contains("err.txt", "bytes"),
        "wrong-size input: rc %d", rc);
  CHECK(contains("keep.f32", "old"), "failed run touched the existing output");
  remove_file("new.gwlz");
  rc = cli("-f -i in.f32 -z new.gwlz -3 %zu %zu %zu -M REL 1e-3", nx + 1, ny, nz);
  CHECK(rc != 0 && !exists("new.gwlz"), "wrong-size input left a stream: rc %d", rc);

  /* damaged streams */
  {
    size_t sz;
    char path[1024];
    snprintf(path, sizeof path, "%s/c.gwlz", dir);
    unsigned char *s = tu_read_file(path, &sz);
    CHECK(s && sz > 16, "read stream");
    if (s && sz > 16) {
      s[sz / 2] ^= 0x10;
      put("bad.gwlz", s, sz);
      rc = cli("-z bad.gwlz -o bad.f32");
      CHECK(rc != 0 && !exists("bad.f32"), "damaged stream: rc %d", rc);
      CHECK(contains("err.txt", "bad.gwlz"), "damaged stream: no message naming the file");
      s[sz / 2] ^= 0x10;
      put("short.gwlz", s, sz - 7);
      rc = cli("-z short.gwlz -o bad.f32");
      CHECK(rc != 0 && !exists("bad.f32"), "truncated stream: rc %d", rc);
      rc = cli("-z in.f32 -o bad.f32");
      CHECK(rc != 0 && !exists("bad.f32"), "not a stream: rc %d", rc);
      rc = cli("-z bad.gwlz -o keep.f32");
      CHECK(rc != 0 && contains("keep.f32", "old"), "damaged stream touched the output");
    }
    free(s);
  }

  /* usage errors */
  rc = cli("-i missing.f32 -z m.gwlz -3 4 4 4 -M REL 1e-3");
  CHECK(rc != 0 && contains("err.txt", "missing.f32") && !exists("m.gwlz"), "missing file: rc %d", rc);
  rc = cli("-z missing.gwlz -o m.f32");
  CHECK(rc != 0 && !exists("m.f32"), "missing stream: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 4 4 4 -M REL 1e-3 --bogus");
  CHECK(rc != 0 && contains("err.txt", "--bogus") && !exists("m.gwlz"), "unknown flag: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 4 4");
  CHECK(rc != 0 && !exists("m.gwlz"), "missing dim value: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -M REL", nx, ny, nz);
  CHECK(rc != 0 && !exists("m.gwlz"), "missing bound value: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -M REL -R abc", nx, ny, nz);
  CHECK(rc != 0 && contains("err.txt", "abc"), "bad number: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -M REL -R -1e-3", nx, ny, nz);
  CHECK(rc != 0, "negative bound: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu 0 %zu -M REL 1e-3", nx, nz);
  CHECK(rc != 0, "zero dim: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -M FOO 1e-3", nx, ny, nz);
  CHECK(rc != 0, "unknown mode: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu", nx, ny, nz);
  CHECK(rc != 0 && !exists("m.gwlz"), "no bound: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -M REL 1e-3");
  CHECK(rc != 0 && !exists("m.gwlz"), "no dims: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -M REL 1e-3 --enhancer magic", nx, ny, nz);
  CHECK(rc != 0 && !exists("m.gwlz"), "bad enhancer: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -M REL 1e-3 -G 999", nx, ny, nz);
  CHECK(rc != 0 && !exists("m.gwlz"), "bad -G: rc %d", rc);
  rc = cli("-i in.f32 -o in.f32 -3 %zu %zu %zu -M REL 1e-3", nx, ny, nz);
  CHECK(rc != 0, "output over the input: rc %d", rc);
  {
    size_t sz;
    char path[1024];
    snprintf(path, sizeof path, "%s/in.f32", dir);
    void *again = tu_read_file(path, &sz);
    CHECK(again && sz == n * 4 && memcmp(again, field, sz) == 0, "input changed");
    free(again);
  }
  rc = cli("-i in.f32 -z nodir/m.gwlz -3 %zu %zu %zu -M REL 1e-3", nx, ny, nz);
  CHECK(rc != 0, "unwritable output: rc %d", rc);

  CHECK(leftovers() == 0, "%d temporary files left behind", leftovers());

  free(field);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (tu_failed == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return tu_finish();
}
