/*
 * test_cli.c - the command-line tool (GWLZ_CLI) run through the shell in a
 * temporary directory: SZ3-style round trips, the -a report, and every error
 * path leaving no output and no temporary file behind.
 */
#define _DEFAULT_SOURCE 1 /* mknod, makedev, symlink */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/container.h"
#include "format/lossless.h"
#include "gwlz.h"
#include "testutil.h"

#ifndef GWLZ_CLI
#error "GWLZ_CLI must name the built command-line tool"
#endif

static char dir[512];

/* Runs "cd dir && GWLZ_CLI args >out.txt 2>err.txt"; returns the exit status. */
static int cli(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = tu_vrun(dir, GWLZ_CLI, fmt, ap);
  va_end(ap);
  return rc;
}

/* Runs "cd dir && CMD" through the shell (GWLZ_CLI is in $G); exit status. */
static int sh(const char *fmt, ...) {
  char body[2048], cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "cd '%s' && G='%s' && { %s ; } >out.txt 2>err.txt", dir, GWLZ_CLI,
           body);
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

static mode_t mode_of(const char *name) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0 ? st.st_mode : 0;
}

static size_t size_of(const char *name) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Outputs that are not regular files are written through, never replaced;
 * read-only outputs are refused unless --force; modes are kept. */
static void test_outputs(size_t nx, size_t ny, size_t nz) {
  char path[1024];
  int rc;
  /* a character device: a copy of /dev/null (needs CAP_MKNOD) */
  snprintf(path, sizeof path, "%s/null", dir);
  if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) == 0) {
    rc = cli("-i in.f32 -z null -o null -3 %zu %zu %zu -M REL 1e-3 -G 0", nx, ny, nz);
    CHECK(rc == 0, "output to a character device: rc %d", rc);
    CHECK(S_ISCHR(mode_of("null")), "a character device given as -z/-o was replaced");
    unlink(path);
  } else {
    printf("  (no mknod permission: character device case skipped)\n");
  }
  /* a FIFO with a reader: the stream arrives through it, the FIFO stays */
  snprintf(path, sizeof path, "%s/fifo", dir);
  CHECK(mkfifo(path, 0600) == 0, "mkfifo");
  rc = cli("-i in.f32 -z ref.gwlz -3 %zu %zu %zu -M REL 1e-3 -G 0", nx, ny, nz);
  CHECK(rc == 0, "reference stream: rc %d", rc);
  /* (the reader gives up after 60 s, so that a failing writer cannot hang the test) */
  rc = sh("timeout 60 cat fifo > fromfifo.bin & "
          "\"$G\" -i in.f32 -z fifo -3 %zu %zu %zu -M REL 1e-3 -G 0; r=$?; wait; exit $r", nx, ny,
          nz);
  CHECK(rc == 0, "output to a FIFO: rc %d", rc);
  CHECK(S_ISFIFO(mode_of("fifo")), "a FIFO given as -z was replaced");
  {
    char *a = slurp("ref.gwlz"), *b = slurp("fromfifo.bin");
    CHECK(a && b && size_of("ref.gwlz") == size_of("fromfifo.bin") &&
              memcmp(a, b, size_of("ref.gwlz")) == 0,
          "the stream written through the FIFO differs");
    free(a);
    free(b);
  }
  unlink(path);
  /* read-only outputs: refused before any work, kept; --force replaces them
   * and keeps their mode; a file's mode is kept */
  put("ro.f32", "old", 3);
  snprintf(path, sizeof path, "%s/ro.f32", dir);
  chmod(path, 0444);
  rc = cli("-i in.f32 -o ro.f32 -3 %zu %zu %zu -M REL 1e-3 -G 0", nx, ny, nz);
  CHECK(rc == 1 && contains("err.txt", "read-only") && contains("ro.f32", "old"),
        "read-only output: rc %d", rc);
  CHECK((mode_of("ro.f32") & 0777) == 0444, "read-only output changed mode");
  rc = cli("-i in.f32 -o ro.f32 -3 %zu %zu %zu -M REL 1e-3 -G 0 --force", nx, ny, nz);
  CHECK(rc == 0 && size_of("ro.f32") == nx * ny * nz * 4, "--force: rc %d", rc);
  CHECK((mode_of("ro.f32") & 0777) == 0444, "--force: mode %o, want 444", mode_of("ro.f32") & 0777);
  chmod(path, 0644);
  put("m600.gwlz", "old", 3);
  snprintf(path, sizeof path, "%s/m600.gwlz", dir);
  chmod(path, 0600);
  rc = cli("-i in.f32 -z m600.gwlz -3 %zu %zu %zu -M REL 1e-3 -G 0", nx, ny, nz);
  CHECK(rc == 0 && (mode_of("m600.gwlz") & 0777) == 0600, "mode 600 kept: rc %d, mode %o", rc,
        mode_of("m600.gwlz") & 0777);
  /* a symbolic link: its target is written, the link stays */
  snprintf(path, sizeof path, "%s/link.gwlz", dir);
  CHECK(symlink("m600.gwlz", path) == 0, "symlink");
  rc = cli("-i in.f32 -z link.gwlz -3 %zu %zu %zu -M REL 1e-2 -G 0", nx, ny, nz);
  struct stat lst;
  CHECK(rc == 0 && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode), "link replaced: rc %d", rc);
  unlink(path);
  /* a directory */
  snprintf(path, sizeof path, "%s/adir", dir);
  mkdir(path, 0755);
  rc = cli("-i in.f32 -z adir -3 %zu %zu %zu -M REL 1e-3 -G 0", nx, ny, nz);
  CHECK(rc == 1 && contains("err.txt", "directory"), "directory as output: rc %d", rc);
  rmdir(path);
}

/* Negative values, usage errors before any I/O, limits, warnings. */
static void test_flags(size_t nx, size_t ny, size_t nz) {
  int rc;
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -M REL -1e-3", nx, ny, nz);
  CHECK(rc == 2 && contains("err.txt", "negative") && !exists("m.gwlz"), "-M REL -1e-3: rc %d",
        rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -M ABS -1", nx, ny, nz);
  CHECK(rc == 2 && contains("err.txt", "negative"), "-M ABS -1: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -M ABS -1 %zu -G 0", nx * ny * nz);
  CHECK(rc == 2 && contains("err.txt", "-A"), "-M ABS then -1 dims: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -M ABS 0.01 -1 %zu -G 0", nx * ny * nz);
  CHECK(rc == 0, "-M ABS 0.01 then -1 dims: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -R -0.5", nx, ny, nz);
  CHECK(rc == 2 && contains("err.txt", "negative"), "-R -0.5: rc %d", rc);
  /* usage errors come before any file is read: a missing input is not
   * reported, the usage error is */
  rc = cli("-i nothere.f32 -z m.gwlz -3 %zu %zu %zu -M REL 1e-3 --arch paper", nx, ny, nz);
  CHECK(rc == 2 && contains("err.txt", "--enhancer cnn") && !contains("err.txt", "nothere"),
        "--arch paper without cnn: rc %d", rc);
  rc = cli("-i nothere.f32 -z m.gwlz -3 %zu %zu %zu -M REL 1e-3 -T 5000", nx, ny, nz);
  CHECK(rc == 2 && contains("err.txt", "0..4096"), "-T 5000: rc %d", rc);
  rc = cli("-i nothere.f32 -z m.gwlz -3 %zu %zu %zu -M REL 1e-3 --fill 1e300", nx, ny, nz);
  CHECK(rc == 2 && contains("err.txt", "float32"), "--fill 1e300 on f32: rc %d", rc);
  rc = cli("-d -i nothere.f64 -z m.gwlz -3 %zu %zu %zu -M REL 1e-3 --fill 1e300", nx, ny, nz);
  CHECK(rc == 1 && contains("err.txt", "nothere"), "--fill 1e300 on f64 is fine: rc %d", rc);
  /* warnings for ignored flags */
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -M REL 1e-3 -M ABS 1e-2 -R 1e-4 -G 0", nx, ny, nz);
  CHECK(rc == 0 && contains("err.txt", "-M given 2 times") &&
            contains("err.txt", "relative bound 0.0001 is ignored"),
        "later -M and unused -R: rc %d", rc);
  rc = cli("-i in.f32 -z m.gwlz -3 %zu %zu %zu -M REL 1e-3 -G 0 --epochs 3", nx, ny, nz);
  CHECK(rc == 0 && contains("err.txt", "--epochs is ignored"), "--epochs with -G 0: rc %d", rc);
  rc = cli("-z m.gwlz -o m.out -M REL 1e-2 -G 4");
  CHECK(rc == 0 && contains("err.txt", "-G is ignored when decompressing"),
        "compression flags when decompressing: rc %d", rc);
  rc = cli("-z m.gwlz -o m.out --fast");
  CHECK(rc == 0 && contains("err.txt", "--fast is ignored when decompressing"),
        "--fast when decompressing: rc %d", rc);
  rc = cli("-i in.f32 -o m.out -3 %zu %zu %zu -M REL 1e-3 -G 0 --fast -a", nx, ny, nz);
  CHECK(rc == 0 && contains("out.txt", "base = interp"), "--fast: rc %d", rc);
  rc = cli("-z m.gwlz -o m.out -M REL 1e-2 -G 4 -q");
  CHECK(rc == 0 && !contains("err.txt", "warning"), "-q silences warnings: rc %d", rc);
  /* honest -a lines */
  rc = cli("-i in.f32 -o m.out -3 %zu %zu %zu -M REL 1e-3 -a --enhancer cnn --epochs 1", nx, ny,
           nz);
  CHECK(rc == 0 && !contains("out.txt", "1 epochs") && !contains("out.txt", "groups tried") &&
            contains("out.txt", "compression time") && contains("out.txt", "enhancer training"),
        "-a with cnn: rc %d", rc);
  rc = cli("-i in.f32 -o m.out -3 %zu %zu %zu -M ABS 0 -a", nx, ny, nz);
  CHECK(rc == 0 && contains("out.txt", "enhancer = not used (bound 0"), "-a lossless: rc %d", rc);
  rc = cli("-i in.f32 -o m.out -3 %zu %zu %zu -M REL 1e-3 -a -G 0", nx, ny, nz);
  CHECK(rc == 0 && contains("out.txt", "enhancer = off (-G 0)"), "-a -G 0: rc %d", rc);
}

/* --info, and -a with only a stream. */
static void test_info(size_t nx, size_t ny, size_t nz) {
  int rc = cli("-i in.f32 -z i.gwlz -3 %zu %zu %zu -M REL 1e-3 --fill 0.5", nx, ny, nz);
  CHECK(rc == 0, "stream for --info: rc %d", rc);
  static const char *const keys[] = {"format version = 2", "type = float32",
                                     "dimensions = 40x30x20", "error bound = ", "(REL 0.001",
                                     "fill value = 0.5", "base = ", "enhancer = ",
                                     "section BASE = ", "section END! = 4 bytes",
                                     "check = ok"};
  rc = cli("-z i.gwlz --info");
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
    CHECK(rc == 0 && contains("out.txt", keys[k]), "--info lacks '%s' (rc %d)", keys[k], rc);
  rc = cli("-z i.gwlz -a");
  CHECK(rc == 0 && contains("out.txt", "section BASE"), "-a with only -z: rc %d", rc);
  put("junk.gwlz", "GWLZ-not-really", 15);
  rc = cli("-z junk.gwlz --info");
  CHECK(rc == 1, "--info on junk: rc %d", rc);
}

/* A 120-byte stream that declares 1 GiB of output behind a bad SPEC section:
 * the tool reports it corrupt without allocating the output (checked under
 * a 300 MB address-space limit where no sanitizer needs more). */
static void test_hostile_stream(void) {
  const size_t n0 = 4096, big = (size_t)1 << 28;
  float *z = calloc(n0, sizeof *z);
  CHECK(put("zeros.f32", z, n0 * 4), "write zeros");
  free(z);
  int rc = cli("-i zeros.f32 -z zeros.gwlz -1 %zu -M ABS 1e-3 -G 0", n0);
  CHECK(rc == 0, "constant stream: rc %d", rc);
  char path[1024];
  snprintf(path, sizeof path, "%s/zeros.gwlz", dir);
  size_t size;
  uint8_t *s = tu_read_file(path, &size);
  gwlz_header h;
  gwlz_section secs[GWLZ_MAX_SECTIONS];
  int ns = 0;
  if (!s || gwlz_container_read(s, size, &h, secs, GWLZ_MAX_SECTIONS, &ns) != GWLZ_OK) {
    CHECK(0, "read constant stream");
    free(s);
    return;
  }
  h.dims[0] = big;
  h.n = big;
  gwlz_wbuf spec, d, out;
  gwlz_wbuf_init(&spec);
  gwlz_wbuf_init(&d);
  gwlz_wbuf_init(&out);
  gwlz_wbuf_varint(&d, 1);
  gwlz_wbuf_varint(&d, big); /* a run starting past the end */
  gwlz_wbuf_varint(&d, 0);
  gwlz_wbuf_u8(&d, 0);
  gwlz_wbuf_u32(&d, 0x7fc00000u);
  gwlz_wbuf_varint(&spec, 1);
  EXPECT(gwlz_lossless_pack(d.data, d.size, &spec, 3) == GWLZ_OK);
  gwlz_section two[2] = {{GWLZ_SEC_SPECIAL, spec.data, spec.size}, secs[0]};
  EXPECT(gwlz_container_write(&h, two, 2, &out) == GWLZ_OK);
  CHECK(put("big.gwlz", out.data, out.size), "write hostile stream");
#if defined(__SANITIZE_ADDRESS__)
  rc = cli("-z big.gwlz -o big.out");
#else
  rc = sh("ulimit -v 300000; \"$G\" -z big.gwlz -o big.out");
#endif
  CHECK(rc == 1 && contains("err.txt", "corrupt") && !contains("err.txt", "memory") &&
            !exists("big.out"),
        "1 GiB claim with a bad SPEC: rc %d", rc);
  gwlz_wbuf_free(&spec);
  gwlz_wbuf_free(&d);
  gwlz_wbuf_free(&out);
  free(s);
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

  test_outputs(nx, ny, nz);
  test_flags(nx, ny, nz);
  test_info(nx, ny, nz);
  test_hostile_stream();

  CHECK(leftovers() == 0, "%d temporary files left behind", leftovers());

  free(field);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (tu_failed == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return tu_finish();
}
