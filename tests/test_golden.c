/*
 * test_golden.c - the golden streams of tests/golden/ (README there): every
 * stream of every format version decodes to exactly the bytes its own
 * version's decoder produced (MD5 in MANIFEST.tsv), and every damaged stream
 * gives its documented error, from gwlz_check_stream and gwlz_decompress
 * alike. The streams of each version together cover every section type.
 */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gwlz.h"
#include "testutil.h"

#ifndef GWLZ_TEST_SRCDIR
#error "GWLZ_TEST_SRCDIR must name tests/"
#endif

static const char *const err_names[] = {"OK",          "GENERIC",   "MEMORY",      "PARAM",
                                        "DST_TOO_SMALL", "TRUNCATED", "CORRUPT",     "BAD_MAGIC",
                                        "VERSION",     "CHECKSUM",  "UNSUPPORTED", "BOUND",
                                        "LOSSLESS",    "TOO_LARGE", "INTERNAL"};

static const char *err_name(gwlz_error e) {
  return (unsigned)e < sizeof err_names / sizeof *err_names ? err_names[e] : "?";
}

typedef struct {
  int rows, decoded, damaged;
  char covered[4][4096]; /* per version: the sections column of its rows */
  int zfp_built;          /* the ZFP base is built in */
} golden_state;

/* Output memory that is never touched unless the stream really decodes. */
static void *reserve(size_t bytes) {
  if (bytes == 0) bytes = 1;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static int row(char **c, int nc, void *user) {
  golden_state *g = user;
  if (nc < 5) {
    CHECK(0, "MANIFEST.tsv row with %d columns", nc);
    return 1;
  }
  const char *file = c[0], *expect = c[2];
  int version = atoi(c[1]);
  char path[1024];
  snprintf(path, sizeof path, "%s/golden/%s", GWLZ_TEST_SRCDIR, file);
  size_t size;
  void *s = tu_read_file(path, &size);
  CHECK(s != NULL || strstr(file, "empty"), "%s: unreadable", file);
  if (!s) s = calloc(1, 1), size = 0;
  g->rows++;
  if (version >= 1 && version < 4) {
    size_t len = strlen(g->covered[version]);
    snprintf(g->covered[version] + len, sizeof g->covered[version] - len, " %s", c[4]);
  }
  gwlz_info info;
  memset(&info, 0, sizeof info);
  gwlz_error ei = gwlz_get_info(s, size, &info);
  gwlz_ctx *ctx = gwlz_create();
  size_t cap = ei == GWLZ_OK ? info.decompressed_bytes : 0;
  void *dst = reserve(cap);
  gwlz_error ec = gwlz_check_stream(s, size);
  gwlz_error ed = dst ? gwlz_decompress(ctx, s, size, dst, cap) : GWLZ_ERR_MEMORY;
  if (strlen(expect) == 32 && !g->zfp_built && strstr(c[4], "BASE(ZFP)") &&
      ed == GWLZ_ERR_UNSUPPORTED) {
    printf("%s: skipped (the ZFP base is not built in)\n", file);
  } else if (strlen(expect) == 32) { /* an MD5: a valid stream */
    g->decoded++;
    CHECK(ei == GWLZ_OK && (int)info.format_version == version, "%s: info %s, version %u", file,
          err_name(ei), info.format_version);
    CHECK(ec == GWLZ_OK, "%s: gwlz_check_stream: %s", file, err_name(ec));
    CHECK(ed == GWLZ_OK, "%s: gwlz_decompress: %s", file, err_name(ed));
    CHECK(cap == (size_t)strtoull(c[3], NULL, 10), "%s: %zu decoded bytes, want %s", file, cap,
          c[3]);
    if (ed == GWLZ_OK) {
      char hex[33];
      tu_md5(dst, cap, hex);
      CHECK(strcmp(hex, expect) == 0, "%s: decoded MD5 %s, want %s", file, hex, expect);
    }
  } else {
    g->damaged++;
    CHECK(strcmp(err_name(ed), expect) == 0, "%s: gwlz_decompress gave %s, want %s", file,
          err_name(ed), expect);
    CHECK(strcmp(err_name(ec), expect) == 0, "%s: gwlz_check_stream gave %s, want %s", file,
          err_name(ec), expect);
  }
  if (dst) munmap(dst, cap ? cap : 1);
  gwlz_free(ctx);
  free(s);
  return 1;
}

int main(void) {
  char man[1024];
  snprintf(man, sizeof man, "%s/golden/MANIFEST.tsv", GWLZ_TEST_SRCDIR);
  golden_state g;
  memset(&g, 0, sizeof g);
  gwlz_ctx *probe = gwlz_create();
  g.zfp_built = probe && gwlz_set_base(probe, GWLZ_BASE_ZFP) == GWLZ_OK;
  gwlz_free(probe);
  CHECK(tu_tsv_foreach(man, row, &g), "cannot read %s", man);
  printf("%d golden streams: %d decoded, %d damaged\n", g.rows, g.decoded, g.damaged);
  /* every version holds every section type and base method */
  static const char *const need[] = {"SPEC", "BASE(stored", "BASE(interpolation)",
                                     "BASE(Lorenzo)", "ENHM(linear)", "ENHM(cnn)", "EXCP"};
  for (unsigned v = 1; v <= gwlz_format_version() && v < 4; v++)
    for (size_t k = 0; k < sizeof need / sizeof *need; k++)
      CHECK(strstr(g.covered[v], need[k]) != NULL, "no version %u golden stream with %s", v,
            need[k]);
  /* and from version 2 on, every base and the chunked layout */
  static const char *const need2[] = {"BASE(wavelet)", "BASE(ZFP)", "BASE(chunked",
                                      "BASE(scheduled interpolation"};
  for (unsigned v = 2; v <= gwlz_format_version() && v < 4; v++)
    for (size_t k = 0; k < sizeof need2 / sizeof *need2; k++)
      CHECK(strstr(g.covered[v], need2[k]) != NULL, "no version %u golden stream with %s", v,
            need2[k]);
  CHECK(g.damaged >= 20, "only %d damaged streams", g.damaged);
  return tu_finish();
}
