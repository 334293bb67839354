/*
 * h5z_filter_test.c - the gwlz HDF5 filter plugin through the HDF5 C API.
 *
 *   h5z_filter_test FIELD.f32 nz ny nx WORKDIR    (HDF5_PLUGIN_PATH set to the plugin)
 *
 * Checks: round trips within the bound (float32 / float64, one chunk and many
 * with partial edge chunks, chunks with size-1 dims); a chunk is one complete
 * gwlz stream, byte-identical to gwlz_compress with the same settings, and
 * decodable without HDF5; REL per chunk and with an explicit range; the
 * dataset's fill value kept exactly; unsupported datasets refused at creation;
 * a chunk that cannot be compressed fails the write (also when the filter was
 * added as optional) and leaves no raw chunk; a damaged chunk fails the read;
 * errors are on HDF5's error stack.
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwlz.h"
#include "gwlz_h5z.h"

static int failures = 0;
#define EXPECT(cond, ...)                                  \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
      failures++;                                          \
    }                                                      \
  } while (0)

static char workdir[1024];

static const char *path_in(const char *name) {
  static char buf[1200];
  snprintf(buf, sizeof buf, "%s/%s", workdir, name);
  return buf;
}

/* ---- HDF5 error stack ---------------------------------------------------- */

static herr_t collect(unsigned n, const H5E_error2_t *err, void *data) {
  (void)n;
  char *acc = data;
  size_t len = strlen(acc);
  if (err->desc && len + strlen(err->desc) + 2 < 4096) {
    strcat(acc, err->desc);
    strcat(acc, "\n");
  }
  return 0;
}

/* The descriptions on the current error stack, joined. */
static const char *error_stack(void) {
  static char acc[4096];
  acc[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, acc);
  return acc;
}

/* ---- helpers --------------------------------------------------------------- */

static hid_t make_dcpl(int rank, const hsize_t *chunk, const gwlz_h5z_settings *s) {
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, rank, chunk);
  if (s && H5Pset_gwlz_settings(dcpl, s) < 0) EXPECT(0, "H5Pset_gwlz_settings");
  return dcpl;
}

/* Writes data as dataset "d" of a new file; returns the open dataset or -1. */
static hid_t write_dataset(const char *file_name, hid_t *file, hid_t ftype, hid_t mtype, int rank,
                           const hsize_t *dims, hid_t dcpl, const void *data, herr_t *wrote) {
  *file = H5Fcreate(path_in(file_name), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t dset = H5Dcreate2(*file, "d", ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Sclose(space);
  /* Chunks are filtered when they leave HDF5's chunk cache: flush so that a
   * failure of the filter shows here. */
  *wrote = dset < 0 ? -1 : H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  if (*wrote >= 0 && H5Fflush(*file, H5F_SCOPE_LOCAL) < 0) *wrote = -1;
  return dset;
}

static double max_err_f(const float *x, const float *y, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[i] - (double)y[i]));
  return m;
}

/* ---- cases --------------------------------------------------------------- */

/* One chunk, float32 3-D, ABS: bound holds, the chunk is the very stream that
 * gwlz_compress makes with the same settings, and decodes without HDF5. */
static void one_chunk_abs(const float *x, const size_t *dims, double e) {
  hsize_t hd[3] = {dims[0], dims[1], dims[2]};
  size_t n = dims[0] * dims[1] * dims[2];
  gwlz_h5z_settings s;
  gwlz_h5z_settings_init(&s);
  s.mode = GWLZ_EB_ABS;
  s.abs_bound = e;
  hid_t file, dcpl = make_dcpl(3, hd, &s);
  herr_t wrote;
  hid_t dset = write_dataset("one.h5", &file, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3, hd, dcpl, x,
                             &wrote);
  EXPECT(dset >= 0 && wrote >= 0, "one chunk: write failed: %s", error_stack());
  float *y = malloc(n * sizeof *y);
  EXPECT(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0, "read");
  double err = max_err_f(x, y, n);
  EXPECT(err <= e, "one chunk: max error %g > bound %g", err, e);

  /* The raw chunk against gwlz_compress. */
  hsize_t off[3] = {0, 0, 0}, csize = 0;
  H5Dget_chunk_storage_size(dset, off, &csize);
  unsigned char *chunk = malloc(csize ? csize : 1);
  uint32_t mask = 0;
  EXPECT(H5Dread_chunk(dset, H5P_DEFAULT, off, &mask, chunk) >= 0, "H5Dread_chunk");
  gwlz_ctx *ctx = gwlz_create();
  gwlz_set_type(ctx, GWLZ_TYPE_FLOAT);
  gwlz_set_dims(ctx, 3, dims);
  gwlz_set_error_bound(ctx, GWLZ_EB_ABS, e, 0, 0);
  size_t cap = gwlz_compress_bound(ctx), size = 0;
  unsigned char *stream = malloc(cap);
  EXPECT(gwlz_compress(ctx, x, stream, cap, &size) == GWLZ_OK, "gwlz_compress");
  EXPECT(size == csize && memcmp(stream, chunk, size) == 0,
         "chunk (%llu bytes) differs from gwlz_compress (%zu bytes)", (unsigned long long)csize,
         size);
  float *z = malloc(n * sizeof *z);
  EXPECT(gwlz_decompress(ctx, chunk, csize, z, n * sizeof *z) == GWLZ_OK &&
             memcmp(z, y, n * sizeof *z) == 0,
         "chunk stream does not decode to what HDF5 returned");
  printf("one chunk f32 %zux%zux%zu ABS %g: %zu bytes, max error %g\n", dims[0], dims[1], dims[2],
         e, size, err);
  gwlz_free(ctx);
  free(z);
  free(stream);
  free(chunk);
  free(y);
  H5Dclose(dset);
  H5Pclose(dcpl);
  H5Fclose(file);
}

/* float64 2-D, many chunks with partial edge chunks; REL per chunk (each
 * chunk's stream says the bound it applied) and REL with an explicit range. */
static void many_chunks_f64(const float *src, int with_range) {
  enum { NY = 100, NX = 130 };
  hsize_t dims[2] = {NY, NX}, chunk[2] = {32, 50};
  double *x = malloc(NY * NX * sizeof *x), *y = malloc(NY * NX * sizeof *y);
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < NY * NX; i++) {
    x[i] = (double)src[i] * 1.5 + 1e-3 * (double)(i % 7);
    lo = fmin(lo, x[i]);
    hi = fmax(hi, x[i]);
  }
  const double rel = 1e-3;
  gwlz_h5z_settings s;
  gwlz_h5z_settings_init(&s);
  s.mode = GWLZ_EB_REL;
  s.rel_bound = rel;
  s.groups = 4;
  if (with_range) s.range = hi - lo;
  hid_t file, dcpl = make_dcpl(2, chunk, &s);
  herr_t wrote;
  hid_t dset = write_dataset("many.h5", &file, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims, dcpl,
                             x, &wrote);
  EXPECT(dset >= 0 && wrote >= 0, "many chunks: write failed: %s", error_stack());
  EXPECT(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0, "read");
  int checked = 0;
  for (hsize_t cy = 0; cy < NY; cy += chunk[0]) {
    for (hsize_t cx = 0; cx < NX; cx += chunk[1]) {
      hsize_t off[2] = {cy, cx}, csize = 0;
      uint32_t mask = 0;
      H5Dget_chunk_storage_size(dset, off, &csize);
      unsigned char *raw = malloc(csize ? csize : 1);
      H5Dread_chunk(dset, H5P_DEFAULT, off, &mask, raw);
      gwlz_info info;
      EXPECT(gwlz_get_info(raw, csize, &info) == GWLZ_OK && info.type == GWLZ_TYPE_DOUBLE &&
                 info.ndims == 2 && info.dims[0] == chunk[0] && info.dims[1] == chunk[1],
             "chunk (%llu,%llu) header", (unsigned long long)cy, (unsigned long long)cx);
      if (with_range)
        EXPECT(info.abs_bound == rel * (hi - lo), "explicit range: bound %.17g != %.17g",
               info.abs_bound, rel * (hi - lo));
      double err = 0, clo = INFINITY, chi = -INFINITY;
      for (hsize_t i = cy; i < cy + chunk[0] && i < NY; i++)
        for (hsize_t j = cx; j < cx + chunk[1] && j < NX; j++) {
          err = fmax(err, fabs(x[i * NX + j] - y[i * NX + j]));
          clo = fmin(clo, x[i * NX + j]);
          chi = fmax(chi, x[i * NX + j]);
        }
      EXPECT(err <= info.abs_bound, "chunk (%llu,%llu): error %g > bound %g",
             (unsigned long long)cy, (unsigned long long)cx, err, info.abs_bound);
      /* Without a range the bound follows the chunk (edge chunks also hold
       * HDF5's padding, fill value 0, so their range can only be wider). */
      if (!with_range)
        EXPECT(info.abs_bound >= rel * (chi - clo) * (1 - 1e-12),
               "chunk bound %g below rel * chunk range %g", info.abs_bound, rel * (chi - clo));
      free(raw);
      checked++;
    }
  }
  EXPECT(checked == 12, "expected 12 chunks, saw %d", checked);
  printf("many chunks f64 100x130 / 32x50, REL %g %s: %d chunks checked\n", rel,
         with_range ? "with explicit range" : "per chunk", checked);
  H5Dclose(dset);
  H5Pclose(dcpl);
  H5Fclose(file);
  free(x);
  free(y);
}

/* 4-D dataset whose chunks have size-1 dims (1 x 1 x 40 x 50): the filter
 * compresses 2-D chunks; the stream says so. */
static void unit_dims(const float *src) {
  hsize_t dims[4] = {2, 1, 40, 50}, chunk[4] = {1, 1, 40, 50};
  size_t n = 2 * 40 * 50;
  float *y = malloc(n * sizeof *y);
  hid_t file, dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 4, chunk);
  EXPECT(H5Pset_gwlz(dcpl, GWLZ_EB_ABS, 0.05) >= 0, "H5Pset_gwlz");
  herr_t wrote;
  hid_t dset = write_dataset("unit.h5", &file, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, dims, dcpl,
                             src, &wrote);
  EXPECT(dset >= 0 && wrote >= 0, "unit dims: write failed: %s", error_stack());
  EXPECT(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0, "read");
  EXPECT(max_err_f(src, y, n) <= 0.05, "unit dims: bound");
  hsize_t off[4] = {1, 0, 0, 0}, csize = 0;
  uint32_t mask = 0;
  H5Dget_chunk_storage_size(dset, off, &csize);
  unsigned char *raw = malloc(csize ? csize : 1);
  H5Dread_chunk(dset, H5P_DEFAULT, off, &mask, raw);
  gwlz_info info;
  EXPECT(gwlz_get_info(raw, csize, &info) == GWLZ_OK && info.ndims == 2 && info.dims[0] == 40 &&
             info.dims[1] == 50,
         "unit dims: chunk stream should be 2-D 40x50");
  printf("chunks 1x1x40x50 of a 2x1x40x50 dataset: 2-D streams, bound holds\n");
  free(raw);
  free(y);
  H5Dclose(dset);
  H5Pclose(dcpl);
  H5Fclose(file);
}

/* A fill value set on the dataset is kept exactly and left out of REL ranges. */
static void dataset_fill(const float *src) {
  enum { N = 64 * 80 };
  const float fill = -1e10f;
  hsize_t dims[2] = {64, 80};
  float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < N; i++) {
    x[i] = i % 11 == 3 ? fill : src[i];
    if (x[i] != fill) {
      lo = fminf(lo, x[i]);
      hi = fmaxf(hi, x[i]);
    }
  }
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), file;
  H5Pset_chunk(dcpl, 2, dims);
  H5Pset_fill_value(dcpl, H5T_NATIVE_FLOAT, &fill);
  EXPECT(H5Pset_gwlz(dcpl, GWLZ_EB_REL, 1e-3) >= 0, "H5Pset_gwlz");
  herr_t wrote;
  hid_t dset = write_dataset("fill.h5", &file, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, dcpl, x,
                             &wrote);
  EXPECT(dset >= 0 && wrote >= 0, "fill: write failed: %s", error_stack());
  EXPECT(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0, "read");
  size_t bad_fill = 0;
  double err = 0;
  for (size_t i = 0; i < N; i++) {
    if (x[i] == fill) bad_fill += y[i] != fill;
    else err = fmax(err, fabs((double)x[i] - (double)y[i]));
  }
  double bound = 1e-3 * ((double)hi - (double)lo);
  EXPECT(bad_fill == 0, "fill: %zu fill cells changed", bad_fill);
  EXPECT(err <= bound * (1 + 1e-9), "fill: error %g > REL bound over non-fill range %g", err,
         bound);
  printf("dataset fill value -1e10: kept exactly, REL bound %g over the other values holds\n",
         bound);
  free(x);
  free(y);
  H5Dclose(dset);
  H5Pclose(dcpl);
  H5Fclose(file);
}

/* Datasets the filter cannot take are refused when they are created. */
static void refused(void) {
  hid_t file = H5Fcreate(path_in("refused.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  /* integer type */
  hsize_t d2[2] = {16, 16};
  hid_t space = H5Screate_simple(2, d2, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 2, d2);
  H5Pset_gwlz(dcpl, GWLZ_EB_ABS, 0.1);
  hid_t dset = H5Dcreate2(file, "int", H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  EXPECT(dset < 0, "an int32 dataset was accepted");
  EXPECT(strstr(error_stack(), "gwlz: only float32 and float64"), "int32: no gwlz error on the "
                                                                   "stack: %s", error_stack());
  /* big-endian float on this little-endian machine */
  dset = H5Dcreate2(file, "be", H5T_IEEE_F32BE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  EXPECT(dset < 0, "a big-endian float32 dataset was accepted");
  H5Sclose(space);
  H5Pclose(dcpl);
  /* five chunk dims larger than one */
  hsize_t d5[5] = {2, 3, 4, 5, 6};
  space = H5Screate_simple(5, d5, NULL);
  dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 5, d5);
  H5Pset_gwlz(dcpl, GWLZ_EB_ABS, 0.1);
  dset = H5Dcreate2(file, "5d", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  EXPECT(dset < 0, "5-D chunks were accepted");
  EXPECT(strstr(error_stack(), "at most 4 dimensions"), "5-D: %s", error_stack());
  H5Pclose(dcpl);
  /* parameters of an unknown layout version */
  unsigned cd[GWLZ_H5Z_CD_USER];
  gwlz_h5z_settings s;
  gwlz_h5z_settings_init(&s);
  s.abs_bound = 0.1;
  gwlz_h5z_encode(&s, cd);
  cd[0] = 99;
  dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 5, d5);
  H5Pset_filter(dcpl, GWLZ_H5Z_FILTER_ID, H5Z_FLAG_MANDATORY, GWLZ_H5Z_CD_USER, cd);
  hsize_t d2b[2] = {8, 8};
  H5Sclose(space);
  space = H5Screate_simple(2, d2b, NULL);
  H5Pset_chunk(dcpl, 2, d2b);
  dset = H5Dcreate2(file, "v99", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  EXPECT(dset < 0, "parameters of layout version 99 were accepted");
  EXPECT(strstr(error_stack(), "not version 1"), "version 99: %s", error_stack());
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(file);
  printf("int32, big-endian, 5-D chunks and unknown parameters: refused at creation\n");
}

/* A chunk the library refuses (negative bound) fails the write, even when the
 * filter was added as optional, and no raw chunk is stored. */
static void failing_chunk(const float *src, unsigned filter_flags) {
  hsize_t dims[2] = {32, 32};
  unsigned cd[GWLZ_H5Z_CD_USER];
  gwlz_h5z_settings s;
  gwlz_h5z_settings_init(&s);
  s.abs_bound = -1;
  size_t n = gwlz_h5z_encode(&s, cd);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), file;
  H5Pset_chunk(dcpl, 2, dims);
  H5Pset_filter(dcpl, GWLZ_H5Z_FILTER_ID, filter_flags, n, cd);
  herr_t wrote;
  hid_t dset = write_dataset("failing.h5", &file, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims,
                             dcpl, src, &wrote);
  EXPECT(dset >= 0, "failing chunk: dataset not created: %s", error_stack());
  EXPECT(wrote < 0, "failing chunk (%s filter): the write succeeded",
         filter_flags == H5Z_FLAG_OPTIONAL ? "optional" : "mandatory");
  EXPECT(strstr(error_stack(), "gwlz: invalid settings"), "failing chunk: %s", error_stack());
  if (dset >= 0) {
    EXPECT(H5Dget_storage_size(dset) == 0, "failing chunk: %llu bytes stored",
           (unsigned long long)H5Dget_storage_size(dset));
    H5Dclose(dset);
  }
  H5Pclose(dcpl);
  H5Fclose(file);
  printf("chunk refused by the library (%s filter): write fails, nothing stored\n",
         filter_flags == H5Z_FLAG_OPTIONAL ? "optional" : "mandatory");
}

/* A damaged chunk gives a read error, not a crash or garbage. */
static void damaged_chunk(const float *src) {
  hsize_t dims[2] = {32, 32}, off[2] = {0, 0};
  hid_t dcpl = make_dcpl(2, dims, NULL), file;
  H5Pset_gwlz(dcpl, GWLZ_EB_ABS, 0.01);
  herr_t wrote;
  hid_t dset = write_dataset("damaged.h5", &file, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims,
                             dcpl, src, &wrote);
  hsize_t csize = 0;
  uint32_t mask = 0;
  H5Dget_chunk_storage_size(dset, off, &csize);
  unsigned char *raw = malloc(csize);
  H5Dread_chunk(dset, H5P_DEFAULT, off, &mask, raw);
  raw[csize / 2] ^= 0x5A;
  EXPECT(H5Dwrite_chunk(dset, H5P_DEFAULT, 0, off, csize, raw) >= 0, "H5Dwrite_chunk");
  float y[32 * 32];
  EXPECT(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) < 0,
         "a damaged chunk was read without error");
  EXPECT(strstr(error_stack(), "gwlz:"), "damaged chunk: %s", error_stack());
  /* truncated */
  EXPECT(H5Dwrite_chunk(dset, H5P_DEFAULT, 0, off, 7, raw) >= 0, "H5Dwrite_chunk");
  EXPECT(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) < 0,
         "a truncated chunk was read without error");
  printf("damaged and truncated chunks: read errors on HDF5's stack\n");
  free(raw);
  H5Dclose(dset);
  H5Pclose(dcpl);
  H5Fclose(file);
}

static void psnr_mode(const float *src) {
  hsize_t dims[2] = {64, 96};
  size_t n = 64 * 96;
  hid_t dcpl = make_dcpl(2, dims, NULL), file;
  H5Pset_gwlz(dcpl, GWLZ_EB_PSNR, 60);
  herr_t wrote;
  hid_t dset = write_dataset("psnr.h5", &file, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, dcpl,
                             src, &wrote);
  EXPECT(dset >= 0 && wrote >= 0, "psnr: write failed: %s", error_stack());
  float *y = malloc(n * sizeof *y);
  EXPECT(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0, "read");
  double lo = INFINITY, hi = -INFINITY, se = 0;
  for (size_t i = 0; i < n; i++) {
    lo = fmin(lo, src[i]);
    hi = fmax(hi, src[i]);
    se += ((double)src[i] - y[i]) * ((double)src[i] - y[i]);
  }
  double psnr = se == 0 ? INFINITY : 20 * log10(hi - lo) - 10 * log10(se / (double)n);
  EXPECT(psnr >= 60 - 0.5, "psnr: %g dB for a 60 dB target", psnr);
  printf("PSNR mode, target 60 dB: %.2f dB\n", psnr);
  free(y);
  H5Dclose(dset);
  H5Pclose(dcpl);
  H5Fclose(file);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s FIELD.f32 nz ny nx WORKDIR\n", argv[0]);
    return 2;
  }
  size_t dims[3] = {strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
                    strtoull(argv[4], NULL, 10)};
  snprintf(workdir, sizeof workdir, "%s", argv[5]);
  size_t n = dims[0] * dims[1] * dims[2];
  float *x = malloc(n * sizeof *x);
  FILE *f = fopen(argv[1], "rb");
  if (!f || !x || fread(x, sizeof *x, n, f) != n || n < 64 * 96) {
    fprintf(stderr, "cannot read %zu floats from %s\n", n, argv[1]);
    return 1;
  }
  fclose(f);
  if (H5Zfilter_avail(GWLZ_H5Z_FILTER_ID) <= 0) {
    fprintf(stderr, "filter %d not available: set HDF5_PLUGIN_PATH\n", GWLZ_H5Z_FILTER_ID);
    return 1;
  }
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* expected failures stay quiet */

  one_chunk_abs(x, dims, 0.02);
  many_chunks_f64(x, 0);
  many_chunks_f64(x, 1);
  unit_dims(x);
  dataset_fill(x);
  psnr_mode(x);
  refused();
  failing_chunk(x, H5Z_FLAG_MANDATORY);
  failing_chunk(x, H5Z_FLAG_OPTIONAL);
  damaged_chunk(x);
  free(x);
  H5close();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("h5z_filter_test: all checks passed\n");
  return 0;
}
