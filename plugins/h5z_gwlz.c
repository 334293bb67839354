/*
 * h5z_gwlz.c - gwlz as a dynamically loaded HDF5 filter (libh5gwlz.so).
 *
 * HDF5 loads the plugin from HDF5_PLUGIN_PATH the first time a dataset uses
 * filter GWLZ_H5Z_FILTER_ID (netCDF-4 does the same through HDF5). Each chunk
 * is compressed into one complete gwlz stream; the parameters are laid out in
 * include/gwlz_h5z.h. The plugin contains the gwlz library (linked statically,
 * its symbols kept private), so it needs no libgwlz.so at run time and cannot
 * clash with another copy of gwlz loaded in the same process.
 *
 * Errors go to HDF5's error stack; nothing is printed.
 */
#include <hdf5.h>
#include <H5PLextern.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "gwlz.h"
#include "gwlz_h5z.h"

#define H5Z_GWLZ_MAX_CHUNK_DIMS 32

/* Pushes "gwlz: <message>" onto HDF5's error stack. */
static void push_error(const char *func, unsigned line, hid_t minor, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  H5Epush2(H5E_DEFAULT, __FILE__, func, line, H5E_ERR_CLS, H5E_PLINE, minor, "gwlz: %s", msg);
}
#define FAIL(minor, ...) push_error(__func__, __LINE__, minor, __VA_ARGS__)

/* 0 float32, 1 float64 (native byte order), -1 anything else. */
static int element_type(hid_t type_id) {
  if (H5Tget_class(type_id) != H5T_FLOAT) return -1;
  if (H5Tequal(type_id, H5T_NATIVE_FLOAT) > 0) return GWLZ_TYPE_FLOAT;
  if (H5Tequal(type_id, H5T_NATIVE_DOUBLE) > 0) return GWLZ_TYPE_DOUBLE;
  return -1;
}

/* Chunk dims of a dataset creation property list with the size-1 ones
 * dropped, into dims[0..4). Returns the count (1..4), 0 if the dataset is not
 * chunked, -1 if more than GWLZ_MAX_DIMS dims are larger than 1. */
static int chunk_dims(hid_t dcpl_id, size_t dims[GWLZ_MAX_DIMS]) {
  hsize_t chunk[H5Z_GWLZ_MAX_CHUNK_DIMS];
  if (H5Pget_layout(dcpl_id) != H5D_CHUNKED) return 0;
  int rank = H5Pget_chunk(dcpl_id, H5Z_GWLZ_MAX_CHUNK_DIMS, chunk);
  if (rank <= 0) return 0;
  int nd = 0;
  for (int k = 0; k < rank; k++) {
    if (chunk[k] == 1) continue;
    if (nd == GWLZ_MAX_DIMS) return -1;
    dims[nd++] = (size_t)chunk[k];
  }
  if (nd == 0) dims[nd++] = 1;
  return nd;
}

static htri_t can_apply(hid_t dcpl_id, hid_t type_id, hid_t space_id) {
  (void)space_id;
  size_t dims[GWLZ_MAX_DIMS];
  if (element_type(type_id) < 0) {
    FAIL(H5E_BADTYPE, "only float32 and float64 datasets in native byte order can be "
                      "compressed");
    return 0;
  }
  int nd = chunk_dims(dcpl_id, dims);
  if (nd == 0) {
    FAIL(H5E_BADVALUE, "the dataset must be chunked");
    return 0;
  }
  if (nd < 0) {
    FAIL(H5E_BADVALUE, "chunks may have at most %d dimensions larger than 1", GWLZ_MAX_DIMS);
    return 0;
  }
  return 1;
}

/* Checks the user's words and appends the dataset's type and chunk dims (and
 * its fill value, unless told otherwise); makes the filter mandatory. */
static herr_t set_local(hid_t dcpl_id, hid_t type_id, hid_t space_id) {
  (void)space_id;
  unsigned cd[H5Z_GWLZ_MAX_CHUNK_DIMS + GWLZ_H5Z_CD_FULL];
  size_t n = sizeof cd / sizeof cd[0];
  unsigned flags = 0;
  gwlz_h5z_settings s;
  if (H5Pget_filter_by_id2(dcpl_id, GWLZ_H5Z_FILTER_ID, &flags, &n, cd, 0, NULL, NULL) < 0) {
    FAIL(H5E_CANTGET, "cannot read the filter's parameters");
    return -1;
  }
  if (n > sizeof cd / sizeof cd[0] || gwlz_h5z_decode(n, cd, &s) != 0) {
    FAIL(H5E_BADVALUE, "parameters are not version %d of the layout in gwlz_h5z.h "
                       "(%zu words, first %u)", GWLZ_H5Z_CD_VERSION, n, n ? cd[0] : 0u);
    return -1;
  }
  int type = element_type(type_id);
  size_t dims[GWLZ_MAX_DIMS];
  int nd = chunk_dims(dcpl_id, dims);
  if (type < 0 || nd <= 0) {
    FAIL(H5E_BADVALUE, "unsupported dataset (type or chunking)");
    return -1;
  }
  if (!s.has_fill && !s.no_dataset_fill) {
    H5D_fill_value_t status;
    if (H5Pfill_value_defined(dcpl_id, &status) >= 0 && status == H5D_FILL_VALUE_USER_DEFINED) {
      double fill = 0;
      float fill_f = 0;
      herr_t r = type == GWLZ_TYPE_DOUBLE
                     ? H5Pget_fill_value(dcpl_id, H5T_NATIVE_DOUBLE, &fill)
                     : H5Pget_fill_value(dcpl_id, H5T_NATIVE_FLOAT, &fill_f);
      if (r >= 0) {
        cd[GWLZ_H5Z_W_FLAGS] |= GWLZ_H5Z_FLAG_FILL;
        gwlz_h5z_put_double(cd + GWLZ_H5Z_W_FILL, type == GWLZ_TYPE_DOUBLE ? fill : fill_f);
      }
    }
  }
  cd[GWLZ_H5Z_W_SHAPE] = (unsigned)type | (unsigned)nd << 8;
  for (int k = 0; k < GWLZ_MAX_DIMS; k++) {
    if (k < nd && dims[k] > 0xFFFFFFFFu) {
      FAIL(H5E_BADVALUE, "chunk dimension too large");
      return -1;
    }
    cd[GWLZ_H5Z_W_DIMS + k] = k < nd ? (unsigned)dims[k] : 0u;
  }
  if (H5Pmodify_filter(dcpl_id, GWLZ_H5Z_FILTER_ID, H5Z_FLAG_MANDATORY, GWLZ_H5Z_CD_FULL, cd) <
      0) {
    FAIL(H5E_CANTSET, "cannot store the filter's parameters");
    return -1;
  }
  return 0;
}

/* Type and chunk dims stored by set_local; 0 if missing or inconsistent. */
static int stored_shape(size_t n, const unsigned *cd, gwlz_type *type, int *nd, size_t *dims,
                        size_t *bytes) {
  if (n < GWLZ_H5Z_CD_FULL) return 0;
  unsigned t = cd[GWLZ_H5Z_W_SHAPE] & 0xFFu, d = cd[GWLZ_H5Z_W_SHAPE] >> 8;
  if (t > 1 || d < 1 || d > GWLZ_MAX_DIMS) return 0;
  *type = (gwlz_type)t;
  *nd = (int)d;
  size_t count = 1;
  for (int k = 0; k < *nd; k++) {
    dims[k] = cd[GWLZ_H5Z_W_DIMS + k];
    if (dims[k] == 0 || count > SIZE_MAX / 8 / dims[k]) return 0;
    count *= dims[k];
  }
  *bytes = count * (*type == GWLZ_TYPE_DOUBLE ? 8 : 4);
  return 1;
}

/* Error-bound settings for one chunk: with an explicit range the REL part
 * becomes an absolute bound shared by every chunk. */
static gwlz_error set_bound(gwlz_ctx *ctx, const gwlz_h5z_settings *s) {
  if (s->range > 0 && s->mode != GWLZ_EB_ABS && s->mode != GWLZ_EB_PSNR) {
    double rel_abs = s->rel_bound * s->range;
    double b = rel_abs;
    if (s->mode == GWLZ_EB_ABS_AND_REL) b = fmin(s->abs_bound, rel_abs);
    else if (s->mode == GWLZ_EB_ABS_OR_REL) b = fmax(s->abs_bound, rel_abs);
    if (!(s->rel_bound >= 0) || !isfinite(rel_abs)) return GWLZ_ERR_PARAM;
    return gwlz_set_error_bound(ctx, GWLZ_EB_ABS, b, 0, 0);
  }
  return gwlz_set_error_bound(ctx, s->mode, s->abs_bound, s->rel_bound, s->psnr);
}

static gwlz_error configure(gwlz_ctx *ctx, const gwlz_h5z_settings *s, gwlz_type type, int nd,
                            const size_t *dims) {
  gwlz_error e = gwlz_set_type(ctx, type);
  if (!e) e = gwlz_set_dims(ctx, nd, dims);
  if (!e) e = set_bound(ctx, s);
  if (!e && s->has_fill) e = gwlz_set_fill_value(ctx, s->fill);
  if (!e) e = gwlz_set_threads(ctx, s->threads);
  if (!e && s->base >= 0) e = gwlz_set_base(ctx, (gwlz_base)s->base);
  if (!e && s->groups >= 0) e = gwlz_set_groups(ctx, s->groups);
  if (!e && s->enhancer >= 0) e = gwlz_set_enhancer(ctx, (gwlz_enhancer)s->enhancer);
  if (!e && s->relaxed) e = gwlz_set_bound_policy(ctx, GWLZ_BOUND_RELAXED);
  if (!e && s->fast) e = gwlz_set_speed(ctx, GWLZ_SPEED_FAST);
  return e;
}

static size_t compress_chunk(size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
                             size_t *buf_size, void **buf) {
  gwlz_h5z_settings s;
  gwlz_type type;
  int nd;
  size_t dims[GWLZ_MAX_DIMS], expected;
  if (gwlz_h5z_decode(cd_nelmts, cd_values, &s) != 0 ||
      !stored_shape(cd_nelmts, cd_values, &type, &nd, dims, &expected)) {
    FAIL(H5E_BADVALUE, "incomplete or unknown filter parameters (%zu words)", cd_nelmts);
    return 0;
  }
  if (nbytes != expected) {
    FAIL(H5E_BADSIZE, "chunk has %zu bytes, the parameters say %zu", nbytes, expected);
    return 0;
  }
  gwlz_ctx *ctx = gwlz_create();
  if (!ctx) {
    FAIL(H5E_CANTALLOC, "out of memory");
    return 0;
  }
  size_t out_size = 0;
  void *out = NULL;
  gwlz_error e = configure(ctx, &s, type, nd, dims);
  if (e) {
    FAIL(H5E_BADVALUE, "invalid settings: %s", gwlz_error_string(e));
  } else {
    size_t cap = gwlz_compress_bound(ctx);
    out = cap ? H5allocate_memory(cap, 0) : NULL;
    if (!out) {
      FAIL(H5E_CANTALLOC, "cannot allocate %zu bytes", cap);
    } else if ((e = gwlz_compress(ctx, *buf, out, cap, &out_size)) != GWLZ_OK) {
      FAIL(H5E_CANTFILTER, "compression failed: %s", gwlz_error_string(e));
      H5free_memory(out);
      out = NULL;
    } else {
      H5free_memory(*buf);
      *buf = out;
      *buf_size = cap;
    }
  }
  gwlz_free(ctx);
  return out ? out_size : 0;
}

static size_t decompress_chunk(size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
                               size_t *buf_size, void **buf) {
  gwlz_info info;
  gwlz_error e = gwlz_get_info(*buf, nbytes, &info);
  if (e) {
    FAIL(H5E_CANTFILTER, "chunk is not a readable gwlz stream: %s", gwlz_error_string(e));
    return 0;
  }
  gwlz_type type;
  int nd;
  size_t dims[GWLZ_MAX_DIMS], expected;
  if (stored_shape(cd_nelmts, cd_values, &type, &nd, dims, &expected) &&
      (expected != info.decompressed_bytes || type != info.type)) {
    FAIL(H5E_BADSIZE, "chunk stream holds %zu bytes of %s, the dataset expects %zu",
         info.decompressed_bytes, info.type == GWLZ_TYPE_DOUBLE ? "float64" : "float32",
         expected);
    return 0;
  }
  gwlz_h5z_settings s;
  int threads = gwlz_h5z_decode(cd_nelmts, cd_values, &s) == 0 ? s.threads : 1;
  gwlz_ctx *ctx = gwlz_create();
  void *out = ctx ? H5allocate_memory(info.decompressed_bytes ? info.decompressed_bytes : 1, 0)
                  : NULL;
  if (!out) {
    FAIL(H5E_CANTALLOC, "out of memory (%zu bytes)", info.decompressed_bytes);
    gwlz_free(ctx);
    return 0;
  }
  gwlz_set_threads(ctx, threads);
  e = gwlz_decompress(ctx, *buf, nbytes, out, info.decompressed_bytes);
  gwlz_free(ctx);
  if (e) {
    FAIL(H5E_CANTFILTER, "decompression failed: %s", gwlz_error_string(e));
    H5free_memory(out);
    return 0;
  }
  H5free_memory(*buf);
  *buf = out;
  *buf_size = info.decompressed_bytes;
  return info.decompressed_bytes;
}

static size_t filter(unsigned int flags, size_t cd_nelmts, const unsigned int cd_values[],
                     size_t nbytes, size_t *buf_size, void **buf) {
  if (flags & H5Z_FLAG_REVERSE) return decompress_chunk(cd_nelmts, cd_values, nbytes, buf_size, buf);
  return compress_chunk(cd_nelmts, cd_values, nbytes, buf_size, buf);
}

static const H5Z_class2_t H5Z_GWLZ = {
    H5Z_CLASS_T_VERS,
    (H5Z_filter_t)GWLZ_H5Z_FILTER_ID,
    1, /* encoder present */
    1, /* decoder present */
    GWLZ_H5Z_FILTER_NAME,
    can_apply,
    set_local,
    filter,
};

H5PL_type_t H5PLget_plugin_type(void) { return H5PL_TYPE_FILTER; }
const void *H5PLget_plugin_info(void) { return &H5Z_GWLZ; }
