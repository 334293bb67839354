/*
 * bench_lib_threads - thread speedup of the library calls alone: compression
 * (gwlz_compress) and decompression (gwlz_decompress) of one array held in
 * memory, at several thread counts, in one process. No process start, no
 * file reads or writes: the figures of the compressor and decompressor
 * themselves, as compressors are usually benchmarked (bench_threads.sh
 * times whole commands, file I/O included).
 *
 *   bench_lib_threads FIELD NX NY NZ [--rel R] [--threads 1,2,4]
 *                     [--rounds N] [--groups G] [--fresh]
 *
 * FIELD: raw float32, C order, data[NZ][NY][NX]. Defaults: REL 1e-3,
 * threads 1,2, 15 rounds, -G 0 (base only). Every round runs each thread
 * count in turn (so a shared machine's load falls on all of them alike):
 * compression into one buffer, then decompression into another. --fresh:
 * a newly allocated output buffer for every decompression (its pages are
 * faulted in by the decoder, as for a caller that allocates per call);
 * otherwise one buffer, reused. Prints the median and the fastest run per
 * thread count and the speedups against the first count; streams and
 * outputs must be byte-identical across thread counts in every round (a
 * difference fails the program).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwlz.h"
/* The timer, the file reader and the median are shared with the tests. */
#include "../tests/testutil.c"

#define MAX_T 8
#define MAX_ROUNDS 201

static double best(const double *v, int n) {
  double b = v[0];
  for (int i = 1; i < n; i++)
    if (v[i] < b) b = v[i];
  return b;
}

static int parse_list(const char *s, int *out, int max) {
  int n = 0;
  while (*s && n < max) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < 1 || v > 4096) return 0;
    out[n++] = (int)v;
    s = *end == ',' ? end + 1 : end;
  }
  return *s ? 0 : n;
}

static int usage(void) {
  fprintf(stderr, "usage: bench_lib_threads FIELD NX NY NZ [--rel R] [--threads 1,2,4] "
                  "[--rounds N] [--groups G] [--fresh]\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 5) return usage();
  const char *path = argv[1];
  size_t dims[3] = {(size_t)atol(argv[4]), (size_t)atol(argv[3]), (size_t)atol(argv[2])};
  double rel = 1e-3;
  int ts[MAX_T] = {1, 2}, nt = 2, rounds = 15, groups = 0, fresh = 0;
  for (int i = 5; i < argc; i++) {
    if (!strcmp(argv[i], "--rel") && i + 1 < argc) {
      rel = atof(argv[++i]);
    } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      if (!(nt = parse_list(argv[++i], ts, MAX_T))) return usage();
    } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
      rounds = atoi(argv[++i]);
      if (rounds < 1 || rounds > MAX_ROUNDS) return usage();
    } else if (!strcmp(argv[i], "--groups") && i + 1 < argc) {
      groups = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--fresh")) {
      fresh = 1;
    } else {
      return usage();
    }
  }
  if (!dims[0] || !dims[1] || !dims[2]) return usage();
  const size_t n = dims[0] * dims[1] * dims[2], bytes = n * sizeof(float);
  size_t got = 0;
  float *x = (float *)tu_read_file(path, &got);
  if (!x || got < bytes) {
    fprintf(stderr, "bench_lib_threads: cannot read %zu bytes from %s\n", bytes, path);
    return 1;
  }
  gwlz_ctx *ctx = gwlz_create();
  if (!ctx || gwlz_set_type(ctx, GWLZ_TYPE_FLOAT) || gwlz_set_dims(ctx, 3, dims) ||
      gwlz_set_error_bound(ctx, GWLZ_EB_REL, 0, rel, 0) || gwlz_set_groups(ctx, groups)) {
    fprintf(stderr, "bench_lib_threads: cannot set up the context\n");
    return 1;
  }
  const size_t cap = gwlz_compress_bound(ctx);
  uint8_t *z[MAX_T], *y[MAX_T];
  size_t zs[MAX_T];
  static double tc[MAX_T][MAX_ROUNDS], td[MAX_T][MAX_ROUNDS];
  for (int t = 0; t < nt; t++) {
    z[t] = (uint8_t *)malloc(cap);
    y[t] = fresh ? NULL : (uint8_t *)malloc(bytes);
    if (!z[t] || (!fresh && !y[t])) return 1;
    memset(z[t], 0, cap); /* faulted in once: compression writes into warm pages */
    if (y[t]) memset(y[t], 0, bytes);
  }
  for (int r = 0; r < rounds; r++) {
    for (int t = 0; t < nt; t++) {
      gwlz_set_threads(ctx, ts[t]);
      double t0 = tu_now();
      gwlz_error e = gwlz_compress(ctx, x, z[t], cap, &zs[t]);
      double t1 = tu_now();
      if (fresh) y[t] = (uint8_t *)malloc(bytes);
      double t2 = tu_now();
      if (e == GWLZ_OK) e = y[t] ? gwlz_decompress(ctx, z[t], zs[t], y[t], bytes) : GWLZ_ERR_MEMORY;
      double t3 = tu_now();
      if (e != GWLZ_OK) {
        fprintf(stderr, "bench_lib_threads: %s\n", gwlz_error_string(e));
        return 1;
      }
      tc[t][r] = t1 - t0;
      td[t][r] = t3 - t2;
    }
    for (int t = 1; t < nt; t++) {
      if (zs[t] != zs[0] || memcmp(z[t], z[0], zs[0])) {
        fprintf(stderr, "bench_lib_threads: streams differ: %d and %d threads\n", ts[0], ts[t]);
        return 1;
      }
      if (memcmp(y[t], y[0], bytes)) {
        fprintf(stderr, "bench_lib_threads: outputs differ: %d and %d threads\n", ts[0], ts[t]);
        return 1;
      }
    }
    if (fresh)
      for (int t = 0; t < nt; t++) {
        free(y[t]);
        y[t] = NULL;
      }
  }
  printf("# %s %zux%zux%zu REL %g -G %d, %d rounds, %s output buffer, stream %zu bytes\n", path,
         dims[2], dims[1], dims[0], rel, groups, rounds, fresh ? "fresh" : "reused", zs[0]);
  printf("op\tthreads\tmedian_s\tbest_s\tspeedup_median\tspeedup_best\n");
  const char *ops[2] = {"compress", "decompress"};
  for (int o = 0; o < 2; o++) {
    double m0 = 0, b0 = 0;
    for (int t = 0; t < nt; t++) {
      double *v = o ? td[t] : tc[t];
      double b = best(v, rounds), m = tu_median(v, rounds);
      if (t == 0) {
        m0 = m;
        b0 = b;
      }
      printf("%s\t%d\t%.4f\t%.4f\t%.2f\t%.2f\n", ops[o], ts[t], m, b, m0 / m, b0 / b);
    }
  }
  for (int t = 0; t < nt; t++) {
    free(z[t]);
    free(y[t]);
  }
  free(x);
  gwlz_free(ctx);
  return 0;
}
