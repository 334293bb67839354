/*
 * nc_roundtrip.c - write a float32 field into a netCDF-4 file through the gwlz
 * HDF5 filter (nc_def_var_filter), read it back, check the bound.
 *
 *   cc nc_roundtrip.c $(pkg-config --cflags gwlz netcdf) $(pkg-config --libs netcdf) -lm
 *   HDF5_PLUGIN_PATH=$PREFIX/lib/hdf5/plugin ./a.out FIELD.f32 out.nc 17 96 192 0.1
 *
 * With a fourth-to-last argument "raw" the variable is written without filter
 * (an input for nccopy -F). Only headers of gwlz are needed.
 */
#include <math.h>
#include <netcdf.h>
#include <netcdf_filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gwlz_h5z.h>

#define CHECK(call)                                                      \
  do {                                                                   \
    int rc_ = (call);                                                    \
    if (rc_ != NC_NOERR) {                                               \
      fprintf(stderr, "%s: %s\n", #call, nc_strerror(rc_));              \
      return 1;                                                          \
    }                                                                    \
  } while (0)

int main(int argc, char **argv) {
  int raw = argc > 2 && strcmp(argv[argc - 1], "raw") == 0;
  int nargs = argc - raw;
  if (nargs < 5 || nargs - 4 > 3) {
    fprintf(stderr, "usage: %s FIELD.f32 OUT.nc nz ny nx ABS_BOUND [raw]  (1 to 3 dims)\n",
            argv[0]);
    return 2;
  }
  int ndims = nargs - 4;
  static const char *const names[3] = {"z", "y", "x"};
  size_t dims[3], n = 1;
  for (int k = 0; k < ndims; k++) {
    dims[k] = strtoull(argv[3 + k], NULL, 10);
    n *= dims[k];
  }
  double bound = strtod(argv[nargs - 1], NULL);
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  FILE *f = fopen(argv[1], "rb");
  if (!f || !x || !y || fread(x, sizeof *x, n, f) != n) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  fclose(f);

  int ncid, varid, dimids[3];
  CHECK(nc_create(argv[2], NC_CLOBBER | NC_NETCDF4, &ncid));
  for (int k = 0; k < ndims; k++) CHECK(nc_def_dim(ncid, names[3 - ndims + k], dims[k], &dimids[k]));
  CHECK(nc_def_var(ncid, "field", NC_FLOAT, ndims, dimids, &varid));
  CHECK(nc_def_var_chunking(ncid, varid, NC_CHUNKED, dims)); /* one chunk */
  if (!raw) {
    gwlz_h5z_settings s;
    unsigned params[GWLZ_H5Z_CD_USER];
    gwlz_h5z_settings_init(&s);
    s.mode = GWLZ_EB_ABS;
    s.abs_bound = bound;
    size_t np = gwlz_h5z_encode(&s, params);
    CHECK(nc_def_var_filter(ncid, varid, GWLZ_H5Z_FILTER_ID, np, params));
  }
  CHECK(nc_enddef(ncid));
  CHECK(nc_put_var_float(ncid, varid, x));
  CHECK(nc_close(ncid));

  CHECK(nc_open(argv[2], NC_NOWRITE, &ncid));
  CHECK(nc_inq_varid(ncid, "field", &varid));
  CHECK(nc_get_var_float(ncid, varid, y));
  CHECK(nc_close(ncid));

  double max_err = 0;
  for (size_t i = 0; i < n; i++) max_err = fmax(max_err, fabs((double)x[i] - (double)y[i]));
  printf("netCDF-4 variable%s: max error %.6g, bound %.6g\n", raw ? " (no filter)" : "",
         max_err, bound);
  free(x);
  free(y);
  return max_err <= bound ? 0 : 1;
}
