/*
 * testutil.h - small helpers shared by the tests: checks with a running tally,
 * raw file reading, the shared data manifest, error metrics and bound checks.
 */
#ifndef GWLZ_TESTUTIL_H
#define GWLZ_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "gwlz.h"

extern int tu_passed, tu_failed;

/* CHECK(cond, "fmt", ...): counts a pass or prints the failure with its place. */
#define CHECK(cond, ...)                                             \
  do {                                                               \
    if (cond) {                                                      \
      tu_passed++;                                                   \
    } else {                                                         \
      tu_failed++;                                                   \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
      fprintf(stderr, __VA_ARGS__);                                  \
      fputc('\n', stderr);                                           \
    }                                                                \
  } while (0)

/* EXPECT(cond): CHECK with the condition's own text as the message. */
#define EXPECT(cond) CHECK((cond), "%s", #cond)

/* Prints "N passed, N failed" and returns the process exit status. */
int tu_finish(void);

/* Monotonic wall clock in seconds. */
double tu_now(void);
/* Runs "cd dir && 'tool' ARGS >out.txt 2>err.txt" with ARGS formatted from
 * fmt; returns the exit status (-1 when the shell did not exit normally). */
int tu_vrun(const char *dir, const char *tool, const char *fmt, va_list ap);
/* CPU time of the calling thread in seconds (benchmarks on shared machines). */
double tu_cpu_now(void);

/* Median of v[0..n) (sorts v in place); NAN when n is 0. */
double tu_median(double *v, int n);

/* MD5 (RFC 1321) of data as 32 lowercase hex digits and a NUL. */
void tu_md5(const void *data, size_t size, char hex[33]);

/* Whole file into a new allocation (free()); NULL on failure. */
void *tu_read_file(const char *path, size_t *size);
/* Writes size bytes to path; 1 on success. */
int tu_write_file(const char *path, const void *data, size_t size);

size_t tu_type_size(gwlz_type t);
const char *tu_type_name(gwlz_type t);

/* One row of the shared data manifest. */
typedef struct {
  char file[160];           /* file name                                     */
  char path[1024];          /* full path                                     */
  gwlz_type type;
  int ndims;
  size_t dims[GWLZ_MAX_DIMS]; /* C order, slowest first                       */
  size_t num_values;
  int has_fill;
  double fill;
  size_t n_nonfinite;
  double min, max;          /* over finite non-fill values (manifest)         */
} tu_field;

/* Directory of the shared data (GWLZ_SHARED_DATA unless set). */
const char *tu_data_dir(void);
void tu_set_data_dir(const char *dir);
/* Calls row() for every line after the header of a tab-separated file, with
 * the columns split in place; row() returns 0 to stop. 0 if unreadable. */
#define TU_TSV_MAX_COLS 16
int tu_tsv_foreach(const char *path, int (*row)(char **cols, int ncols, void *user), void *user);
/* Parses MANIFEST.tsv; returns the number of rows (0 on error) and a new array. */
int tu_load_manifest(tu_field **fields);

/* Comparison of decoded values y with the original x. Values that are NaN, Inf
 * or equal to the fill value (bit-exact in the data type; any NaN if the fill is
 * NaN) are "special": they must come back bit-exact and are left out of the
 * statistics. Arithmetic is in double. */
typedef struct {
  size_t counted;        /* finite non-fill values                          */
  size_t special;        /* NaN/Inf/fill cells                              */
  size_t special_bad;    /* special cells not restored bit-exactly         */
  size_t over_bound;     /* values with |x - y| > bound (tu_compare bound)  */
  double vmin, vmax;     /* range of x over counted values                  */
  double max_err;        /* max |x - y| (INFINITY if y is NaN/Inf there)    */
  double mse;
  double psnr;           /* 20 log10(range) - 10 log10(mse); INFINITY if exact */
} tu_metrics;

void tu_compare(const void *x, const void *y, size_t n, gwlz_type t, int has_fill, double fill,
                double bound, tu_metrics *m);

/* Shorthand: compress src with ctx into a new buffer; returns the error. */
gwlz_error tu_compress(gwlz_ctx *ctx, const void *src, void **stream, size_t *size);
/* Decompress a stream into a new buffer of info.decompressed_bytes. */
gwlz_error tu_decompress(const void *stream, size_t size, void **out, gwlz_info *info);

#endif
