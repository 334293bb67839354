/* fuzz_roundtrip.c - compress and decompress small random fields with random
 * parameters; every finite non-fill value must come back within the bound the
 * stream records (twice the bound under the relaxed policy when a model is
 * stored), every NaN, Inf and fill cell bit for bit, and the stream must pass
 * gwlz_check_stream.
 *
 * Input layout (missing bytes read as 0):
 *   u8  flags   bit 0 float64; bits 1-2 ndims - 1; bits 3-5 bound mode (mod 5);
 *               bit 6 fill value (the value of cell 0); bit 7 relaxed policy
 *   u8  enh     bits 0-2 groups (0..7); bits 3-4 enhancer (none, linear,
 *               cnn, auto); bit 5 paper architecture; bit 6 waves instead of
 *               raw values; bit 7 plant NaN/Inf cells
 *   u8  bound   bound exponent: abs = 2^-(bound % 40), rel = 2^-(bound % 24),
 *               psnr = 20 + bound % 120 dB; bound % 17 == 0: abs = 0 (lossless)
 *   u8  dims[4] extents 1 + dims[i] % 24, then scaled down to at most 1024 values
 *   the rest    values: raw little-endian bit patterns (any NaN, Inf, subnormal),
 *               repeated to fill the field; or, with bit 6 of enh, the
 *               amplitudes of a few waves */
#include <stdio.h>

#include "fuzz_common.h"

#define MAX_VALUES 1024

static uint8_t byte_at(const uint8_t *d, size_t size, size_t i) { return i < size ? d[i] : 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t flags = byte_at(data, size, 0), enh = byte_at(data, size, 1);
  const uint8_t bexp = byte_at(data, size, 2);
  const gwlz_type t = (flags & 1) ? GWLZ_TYPE_DOUBLE : GWLZ_TYPE_FLOAT;
  const size_t ts = t == GWLZ_TYPE_DOUBLE ? 8 : 4;
  const int ndims = 1 + ((flags >> 1) & 3);
  const gwlz_eb_mode mode = (gwlz_eb_mode)(((flags >> 3) & 7) % 5);
  size_t dims[4], n = 1;
  for (int i = 0; i < ndims; i++) {
    dims[i] = 1 + byte_at(data, size, 3 + (size_t)i) % 24;
    n *= dims[i];
  }
  for (int i = 0; n > MAX_VALUES; i = (i + 1) % ndims) {
    if (dims[i] > 1) {
      n /= dims[i];
      dims[i] = (dims[i] + 1) / 2;
      n *= dims[i];
    }
  }
  const uint8_t *vals = size > 7 ? data + 7 : NULL;
  const size_t nvals = size > 7 ? size - 7 : 0;

  uint8_t *x = (uint8_t *)malloc(n * ts);
  uint8_t *y = (uint8_t *)malloc(n * ts);
  if (!x || !y) goto out_early;
  uint64_t st = 0x9e37u + size;
  for (size_t i = 0; i < n; i++) {
    if ((enh & 0x40) || nvals < ts) {
      double a = nvals ? (double)vals[i % nvals] - 128.0 : 1.0;
      double v = a * sin(0.3 * (double)i) + 0.01 * a * gwlz_rng_uniform(&st);
      if (ts == 4) {
        float f = (float)v;
        memcpy(x + 4 * i, &f, 4);
      } else {
        memcpy(x + 8 * i, &v, 8);
      }
    } else {
      for (size_t b = 0; b < ts; b++) x[ts * i + b] = vals[(ts * i + b) % nvals];
    }
    if ((enh & 0x80) && gwlz_rng_uniform(&st) < 0.05) {
      double sp = gwlz_rng_uniform(&st) < 0.5 ? NAN : -INFINITY;
      if (ts == 4) {
        float f = (float)sp;
        memcpy(x + 4 * i, &f, 4);
      } else {
        memcpy(x + 8 * i, &sp, 8);
      }
    }
  }
  double fill = 0;
  int has_fill = (flags & 0x40) != 0;
  if (has_fill) {
    if (ts == 4) {
      float f;
      memcpy(&f, x, 4);
      fill = f;
    } else {
      memcpy(&fill, x, 8);
    }
  }
  const double abs = bexp % 17 == 0 ? 0.0 : ldexp(1.0, -(int)(bexp % 40));
  const double rel = ldexp(1.0, -(int)(bexp % 24));
  const double psnr = 20.0 + bexp % 120;
  static const gwlz_enhancer kinds[4] = {GWLZ_ENH_NONE, GWLZ_ENH_LINEAR, GWLZ_ENH_CNN,
                                         GWLZ_ENH_AUTO};
  const gwlz_enhancer kind = kinds[(enh >> 3) & 3];
  const gwlz_arch arch = (enh & 0x20) && kind == GWLZ_ENH_CNN ? GWLZ_ARCH_PAPER2D
                                                               : GWLZ_ARCH_DEFAULT;
  gwlz_ctx *ctx = gwlz_create();
  if (!ctx) goto out_early;
  if (gwlz_set_type(ctx, t) != GWLZ_OK || gwlz_set_dims(ctx, ndims, dims) != GWLZ_OK ||
      gwlz_set_error_bound(ctx, mode, abs, rel, psnr) != GWLZ_OK ||
      gwlz_set_groups(ctx, enh & 7) != GWLZ_OK || gwlz_set_enhancer(ctx, kind) != GWLZ_OK ||
      gwlz_set_arch(ctx, arch) != GWLZ_OK || gwlz_set_epochs(ctx, 1) != GWLZ_OK ||
      gwlz_set_bound_policy(ctx, (flags & 0x80) ? GWLZ_BOUND_RELAXED : GWLZ_BOUND_STRICT) !=
          GWLZ_OK ||
      (has_fill && gwlz_set_fill_value(ctx, fill) != GWLZ_OK))
    abort(); /* every parameter above is valid */
  size_t cap = gwlz_compress_bound(ctx), csize = 0;
  uint8_t *s = (uint8_t *)malloc(cap);
  if (!s) {
    gwlz_free(ctx);
    goto out_early;
  }
  gwlz_error e = gwlz_compress(ctx, x, s, cap, &csize);
  if (e == GWLZ_ERR_MEMORY) goto out;
  if (e != GWLZ_OK) {
    fprintf(stderr, "compress failed: %s\n", gwlz_error_string(e));
    abort();
  }
  gwlz_info info;
  if (gwlz_get_info(s, csize, &info) != GWLZ_OK || gwlz_check_stream(s, csize) != GWLZ_OK) abort();
  if (info.num_values != n || info.decompressed_bytes != n * ts) abort();
  e = gwlz_decompress(ctx, s, csize, y, n * ts);
  if (e == GWLZ_ERR_MEMORY) goto out;
  if (e != GWLZ_OK) {
    fprintf(stderr, "decompress failed: %s\n", gwlz_error_string(e));
    abort();
  }
  {
    const double allowed =
        info.abs_bound *
        (info.bound_policy == GWLZ_BOUND_RELAXED && info.enhancer != GWLZ_ENH_NONE ? 2 : 1);
    uint8_t fb[8];
    float ff = (float)fill;
    if (ts == 4) memcpy(fb, &ff, 4);
    else memcpy(fb, &fill, 8);
    for (size_t i = 0; i < n; i++) {
      double a, b;
      if (ts == 4) {
        float fa, fb2;
        memcpy(&fa, x + 4 * i, 4);
        memcpy(&fb2, y + 4 * i, 4);
        a = fa;
        b = fb2;
      } else {
        memcpy(&a, x + 8 * i, 8);
        memcpy(&b, y + 8 * i, 8);
      }
      int special = !isfinite(a) || (has_fill && !isnan(fill) && memcmp(x + ts * i, fb, ts) == 0);
      if (special) {
        if (memcmp(x + ts * i, y + ts * i, ts) != 0) {
          fprintf(stderr, "special cell %zu not restored bit-exactly\n", i);
          abort();
        }
      } else if (!(fabs(a - b) <= allowed)) {
        fprintf(stderr, "cell %zu: |%.17g - %.17g| > %.17g\n", i, a, b, allowed);
        abort();
      }
    }
  }
out:
  free(s);
  gwlz_free(ctx);
out_early:
  free(x);
  free(y);
  return 0;
}

/* Seeds: each type, dimensionality, mode and enhancer, raw values and waves. */
void gwlz_fuzz_seeds(gwlz_fuzz_sink sink, void *user) {
  uint8_t buf[7 + 256];
  uint64_t st = 99;
  for (int k = 0; k < 12; k++) {
    buf[0] = (uint8_t)((k & 1) | (((k / 2) % 4) << 1) | ((k % 5) << 3) | ((k % 3 == 0) << 6) |
                       ((k % 7 == 3) << 7));
    buf[1] = (uint8_t)((k % 5) | (((k / 3) % 4) << 3) | ((k % 4 == 1) << 5) | ((k % 2) << 6) |
                       ((k % 3 == 1) << 7));
    buf[2] = (uint8_t)(5 + 7 * k);
    for (int i = 0; i < 4; i++) buf[3 + i] = (uint8_t)(8 + 5 * i + k);
    for (int i = 0; i < 256; i++) buf[7 + i] = (uint8_t)(gwlz_rng_next(&st) >> 56);
    sink(user, buf, sizeof buf);
  }
}
