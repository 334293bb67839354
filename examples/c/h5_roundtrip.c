/*
 * h5_roundtrip.c - write a float32 field into an HDF5 file through the gwlz
 * filter (H5Pset_gwlz), read it back, check the bound.
 *
 *   cc h5_roundtrip.c $(pkg-config --cflags gwlz hdf5) $(pkg-config --libs hdf5) -lm
 *   HDF5_PLUGIN_PATH=$PREFIX/lib/hdf5/plugin ./a.out FIELD.f32 out.h5 17 96 192 0.1
 *
 * Only headers of gwlz are needed: HDF5 loads the filter plugin at run time.
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gwlz_h5z.h>

int main(int argc, char **argv) {
  if (argc < 5 || argc - 4 > 4) {
    fprintf(stderr, "usage: %s FIELD.f32 OUT.h5 dim... ABS_BOUND (1 to 4 dims, C order)\n",
            argv[0]);
    return 2;
  }
  int ndims = argc - 4;
  hsize_t dims[4];
  size_t n = 1;
  for (int k = 0; k < ndims; k++) {
    dims[k] = strtoull(argv[3 + k], NULL, 10);
    n *= dims[k];
  }
  double bound = strtod(argv[argc - 1], NULL);
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  FILE *f = fopen(argv[1], "rb");
  if (!f || !x || !y || fread(x, sizeof *x, n, f) != n) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  fclose(f);

  hid_t file = H5Fcreate(argv[2], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t space = H5Screate_simple(ndims, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, ndims, dims); /* one chunk: the whole field */
  if (H5Pset_gwlz(dcpl, GWLZ_EB_ABS, bound) < 0) return 1;
  hid_t dset = H5Dcreate2(file, "field", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (dset < 0 || H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0) {
    fprintf(stderr, "write failed (is the plugin in HDF5_PLUGIN_PATH?)\n");
    return 1;
  }
  hsize_t stored = H5Dget_storage_size(dset);
  H5Dclose(dset);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(file);

  file = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
  dset = H5Dopen2(file, "field", H5P_DEFAULT);
  if (dset < 0 || H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) < 0) return 1;
  H5Dclose(dset);
  H5Fclose(file);

  double max_err = 0;
  for (size_t i = 0; i < n; i++) max_err = fmax(max_err, fabs((double)x[i] - (double)y[i]));
  printf("HDF5 dataset: %zu -> %llu bytes, max error %.6g, bound %.6g\n", n * sizeof *x,
         (unsigned long long)stored, max_err, bound);
  free(x);
  free(y);
  return max_err <= bound ? 0 : 1;
}
