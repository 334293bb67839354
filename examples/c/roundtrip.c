/*
 * roundtrip.c - compress a raw float32 field with gwlz, decompress it, check the bound.
 *
 *   cc roundtrip.c $(pkg-config --cflags --libs gwlz) -o roundtrip
 *   ./roundtrip ../shared/data/ncl_rect3d_t_17x96x192.f32 17 96 192 0.1
 *
 * Dimensions in C order (slowest first). Exit status 0 when every value is
 * within the absolute bound.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gwlz.h>

static float *read_field(const char *path, size_t n) {
  FILE *f = fopen(path, "rb");
  float *x = malloc(n * sizeof *x);
  if (!f || !x || fread(x, sizeof *x, n, f) != n) {
    fprintf(stderr, "cannot read %zu floats from %s\n", n, path);
    if (f) fclose(f);
    free(x);
    return NULL;
  }
  fclose(f);
  return x;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s FILE.f32 dim... ABS_BOUND   (1 to 4 dims, C order)\n", argv[0]);
    return 2;
  }
  int ndims = argc - 3;
  if (ndims > GWLZ_MAX_DIMS) return 2;
  size_t dims[GWLZ_MAX_DIMS], n = 1;
  for (int k = 0; k < ndims; k++) {
    dims[k] = strtoull(argv[2 + k], NULL, 10);
    n *= dims[k];
  }
  double bound = strtod(argv[argc - 1], NULL);
  float *x = read_field(argv[1], n);
  if (!x) return 1;

  gwlz_ctx *ctx = gwlz_create();
  gwlz_error e = gwlz_set_type(ctx, GWLZ_TYPE_FLOAT);
  if (!e) e = gwlz_set_dims(ctx, ndims, dims);
  if (!e) e = gwlz_set_error_bound(ctx, GWLZ_EB_ABS, bound, 0, 0);
  size_t cap = gwlz_compress_bound(ctx), size = 0;
  void *stream = malloc(cap);
  if (!e) e = gwlz_compress(ctx, x, stream, cap, &size);

  gwlz_info info;
  if (!e) e = gwlz_get_info(stream, size, &info);
  float *y = e ? NULL : malloc(info.decompressed_bytes);
  if (!e) e = gwlz_decompress(ctx, stream, size, y, info.decompressed_bytes);
  if (e) {
    fprintf(stderr, "gwlz: %s\n", gwlz_error_string(e));
    return 1;
  }
  double max_err = 0;
  for (size_t i = 0; i < n; i++) max_err = fmax(max_err, fabs((double)x[i] - (double)y[i]));
  printf("gwlz %s: %zu -> %zu bytes (ratio %.2f), max error %.6g, bound %.6g\n",
         gwlz_version_string(), n * sizeof *x, size, (double)(n * sizeof *x) / (double)size,
         max_err, bound);
  gwlz_free(ctx);
  free(x);
  free(y);
  free(stream);
  return max_err <= bound ? 0 : 1;
}
