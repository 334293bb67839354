/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#ifndef GWLZ_SHARED_DATA
#define GWLZ_SHARED_DATA "../shared/data"
#endif

int tu_passed = 0, tu_failed = 0;

int tu_finish(void) {
  printf("%d passed, %d failed\n", tu_passed, tu_failed);
  fflush(stdout);
  return tu_failed ? 1 : 0;
}

double tu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double tu_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double tu_median(double *v, int n) {
  if (n == 0) return NAN;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void *tu_read_file(const char *path, size_t *size) {
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) != 0) {
    fclose(f);
    return NULL;
  }
  long len = ftell(f);
  if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  size_t n = (size_t)len;
  unsigned char *buf = malloc(n ? n : 1);
  size_t got = 0;
  while (buf && got < n) {
    size_t r = fread(buf + got, 1, n - got, f);
    if (r == 0) break;
    got += r;
  }
  fclose(f);
  if (!buf || got != n) {
    free(buf);
    return NULL;
  }
  *size = n;
  return buf;
}

int tu_write_file(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  int ok = fwrite(data, 1, size, f) == size;
  return fclose(f) == 0 && ok;
}

size_t tu_type_size(gwlz_type t) { return t == GWLZ_TYPE_DOUBLE ? 8 : 4; }
const char *tu_type_name(gwlz_type t) { return t == GWLZ_TYPE_DOUBLE ? "f64" : "f32"; }

static const char *data_dir = GWLZ_SHARED_DATA;
const char *tu_data_dir(void) { return data_dir; }
void tu_set_data_dir(const char *dir) { data_dir = dir; }

/* Splits line at tabs in place; returns the number of columns. */
static int split_tabs(char *line, char **cols, int max) {
  int n = 0;
  char *p = line;
  while (n < max) {
    cols[n++] = p;
    char *tab = strchr(p, '\t');
    if (!tab) break;
    *tab = '\0';
    p = tab + 1;
  }
  char *nl = strpbrk(cols[n - 1], "\r\n");
  if (nl) *nl = '\0';
  return n;
}

int tu_tsv_foreach(const char *path, int (*row)(char **cols, int ncols, void *user),
                   void *user) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return 0;
  }
  char line[4096];
  int header = 1;
  while (fgets(line, sizeof line, f)) {
    char *c[TU_TSV_MAX_COLS];
    int nc = split_tabs(line, c, TU_TSV_MAX_COLS);
    if (header) {
      header = 0;
      continue;
    }
    if (!row(c, nc, user)) break;
  }
  fclose(f);
  return 1;
}

typedef struct {
  tu_field *arr;
  int count, cap;
} field_list;

static int manifest_row(char **c, int nc, void *user) {
  field_list *l = user;
  if (nc < 10) return 1;
  if (l->count == l->cap) {
    int cap = l->cap ? 2 * l->cap : 32;
    tu_field *na = realloc(l->arr, (size_t)cap * sizeof *na);
    if (!na) return 0;
    l->arr = na;
    l->cap = cap;
  }
  tu_field *t = &l->arr[l->count];
  memset(t, 0, sizeof *t);
  int w1 = snprintf(t->file, sizeof t->file, "%s", c[0]);
  int w2 = snprintf(t->path, sizeof t->path, "%s/%s", tu_data_dir(), c[0]);
  if (w1 < 0 || (size_t)w1 >= sizeof t->file || w2 < 0 || (size_t)w2 >= sizeof t->path) {
    fprintf(stderr, "manifest: name too long: %s\n", c[0]);
    return 1;
  }
  t->num_values = 1;
  for (char *p = c[1]; t->ndims < GWLZ_MAX_DIMS;) {
    char *end;
    unsigned long long d = strtoull(p, &end, 10);
    if (end == p) break;
    t->dims[t->ndims++] = (size_t)d;
    t->num_values *= (size_t)d;
    if (*end != 'x') break;
    p = end + 1;
  }
  t->type = strcmp(c[2], "f64") == 0 ? GWLZ_TYPE_DOUBLE : GWLZ_TYPE_FLOAT;
  t->has_fill = c[5][0] != '\0';
  t->fill = t->has_fill ? strtod(c[5], NULL) : 0;
  t->n_nonfinite = (size_t)strtoull(c[6], NULL, 10);
  t->min = strtod(c[7], NULL);
  t->max = strtod(c[8], NULL);
  l->count++;
  return 1;
}

int tu_load_manifest(tu_field **fields) {
  char path[1024];
  snprintf(path, sizeof path, "%s/MANIFEST.tsv", tu_data_dir());
  field_list l = {NULL, 0, 0};
  tu_tsv_foreach(path, manifest_row, &l);
  *fields = l.arr;
  return l.count;
}

void tu_compare(const void *x, const void *y, size_t n, gwlz_type t, int has_fill, double fill,
                double bound, tu_metrics *m) {
  size_t es = tu_type_size(t);
  unsigned char fill_bits[8];
  float ff = (float)fill;
  if (t == GWLZ_TYPE_DOUBLE) memcpy(fill_bits, &fill, 8);
  else memcpy(fill_bits, &ff, 4);
  int fill_cmp = has_fill && !isnan(fill); /* a NaN fill is covered by !isfinite */
  const unsigned char *xb = x, *yb = y;
  double sq = 0;
  memset(m, 0, sizeof *m);
  m->vmin = INFINITY;
  m->vmax = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    double a, b;
    if (t == GWLZ_TYPE_DOUBLE) {
      a = ((const double *)x)[i];
      b = ((const double *)y)[i];
    } else {
      a = ((const float *)x)[i];
      b = ((const float *)y)[i];
    }
    if (!isfinite(a) || (fill_cmp && memcmp(xb + i * es, fill_bits, es) == 0)) {
      m->special++;
      if (memcmp(xb + i * es, yb + i * es, es) != 0) m->special_bad++;
      continue;
    }
    double e = fabs(a - b);
    if (isnan(e)) e = INFINITY;
    if (!(e <= bound)) m->over_bound++;
    if (e > m->max_err) m->max_err = e;
    sq += (a - b) * (a - b);
    if (a < m->vmin) m->vmin = a;
    if (a > m->vmax) m->vmax = a;
    m->counted++;
  }
  if (m->counted == 0) {
    m->vmin = m->vmax = 0;
    m->psnr = INFINITY;
    return;
  }
  m->mse = sq / (double)m->counted;
  m->psnr = m->mse == 0 ? INFINITY : 20 * log10(m->vmax - m->vmin) - 10 * log10(m->mse);
}

gwlz_error tu_compress(gwlz_ctx *ctx, const void *src, void **stream, size_t *size) {
  *stream = NULL;
  *size = 0;
  size_t cap = gwlz_compress_bound(ctx);
  if (cap == 0) return GWLZ_ERR_PARAM;
  void *buf = malloc(cap);
  if (!buf) return GWLZ_ERR_MEMORY;
  gwlz_error e = gwlz_compress(ctx, src, buf, cap, size);
  if (e) {
    free(buf);
    *size = 0;
    return e;
  }
  *stream = buf;
  return GWLZ_OK;
}

gwlz_error tu_decompress(const void *stream, size_t size, void **out, gwlz_info *info) {
  *out = NULL;
  gwlz_error e = gwlz_get_info(stream, size, info);
  if (e) return e;
  void *buf = malloc(info->decompressed_bytes ? info->decompressed_bytes : 1);
  if (!buf) return GWLZ_ERR_MEMORY;
  gwlz_ctx *ctx = gwlz_create();
  e = ctx ? gwlz_decompress(ctx, stream, size, buf, info->decompressed_bytes) : GWLZ_ERR_MEMORY;
  gwlz_free(ctx);
  if (e) {
    free(buf);
    return e;
  }
  *out = buf;
  return GWLZ_OK;
}

/* ---- MD5 (RFC 1321) ----------------------------------------------------------- */

static uint32_t md5_rotl(uint32_t x, unsigned c) { return (x << c) | (x >> (32 - c)); }

static void md5_block(uint32_t h[4], const unsigned char *p, const uint32_t k[64]) {
  static const unsigned r[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
  uint32_t w[16];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8) | ((uint32_t)p[4 * i + 2] << 16) |
           ((uint32_t)p[4 * i + 3] << 24);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
  for (int i = 0; i < 64; i++) {
    uint32_t f;
    int g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    uint32_t t = d;
    d = c;
    c = b;
    b = b + md5_rotl(a + f + k[i] + w[g], r[i]);
    a = t;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
}

void tu_md5(const void *data, size_t size, char hex[33]) {
  uint32_t k[64];
  for (int i = 0; i < 64; i++) k[i] = (uint32_t)floor(fabs(sin((double)(i + 1))) * 4294967296.0);
  uint32_t h[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  const unsigned char *p = (const unsigned char *)data;
  size_t full = size / 64;
  for (size_t b = 0; b < full; b++) md5_block(h, p + 64 * b, k);
  unsigned char tail[128];
  size_t rest = size - 64 * full;
  memset(tail, 0, sizeof tail);
  if (rest) memcpy(tail, p + 64 * full, rest);
  tail[rest] = 0x80;
  size_t tl = rest < 56 ? 64 : 128;
  uint64_t bits = (uint64_t)size * 8;
  for (int i = 0; i < 8; i++) tail[tl - 8 + i] = (unsigned char)(bits >> (8 * i));
  md5_block(h, tail, k);
  if (tl == 128) md5_block(h, tail + 64, k);
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", (h[i / 4] >> (8 * (i % 4))) & 0xFFu);
}

int tu_vrun(const char *dir, const char *tool, const char *fmt, va_list ap) {
  char args[2048], cmd[4096];
  vsnprintf(args, sizeof args, fmt, ap);
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >out.txt 2>err.txt", dir, tool, args);
  int st = system(cmd);
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}
