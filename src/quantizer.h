/* quantizer.h - error-controlled linear quantization shared by the predictors.
 *
 * A value x with prediction p is coded as k = round((x - p) / (2 eb)) when
 * |k| <= radius - 1 and the value rebuilt in the data's own type,
 * (T)(p + k * 2eb), lies within eb of x (checked in double). The code written
 * is k + radius (1 .. 2 radius - 1); code 0 marks an unpredictable value that
 * is stored exactly. Compressor and decoder evaluate the very same expression
 * p + (double)k * twoeb, so they rebuild bit-identical values. */
#ifndef GWLZ_QUANTIZER_H
#define GWLZ_QUANTIZER_H

#include <float.h>
#include <math.h>
#include <stdint.h>

#include "common.h"

#if defined(__GNUC__)
#define GWLZ_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define GWLZ_ALWAYS_INLINE inline
#endif

#define GWLZ_QUANT_RADIUS 32768
#define GWLZ_QUANT_NSYM (2u * GWLZ_QUANT_RADIUS)

typedef struct {
  double eb;     /* bound of the current level                  */
  double twoeb;  /* 2 * eb: the bin width                       */
  double inv;    /* 1 / twoeb                                   */
  double lim;    /* radius - 1: largest |k| accepted             */
  int64_t radius;
} gwlz_quant;

static inline void gwlz_quant_set(gwlz_quant *q, double eb, int64_t radius) {
  q->eb = eb;
  q->twoeb = eb * 2.0;
  q->inv = 1.0 / q->twoeb;
  q->lim = (double)(radius - 1);
  q->radius = radius;
}

/* Load/store a value of the data type (isd: 1 = double, 0 = float). */
static GWLZ_ALWAYS_INLINE double gwlz_ld(const void *a, size_t i, int isd) {
  return isd ? ((const double *)a)[i] : (double)((const float *)a)[i];
}

/* Quantize x against pred. On success returns the code (>= 1) and stores the
 * rebuilt value at rec[i]; returns 0 (unpredictable) and stores x exactly
 * otherwise. */
static GWLZ_ALWAYS_INLINE uint32_t gwlz_quantize(const gwlz_quant *q, const void *data,
                                                  void *rec, size_t i, double pred, int isd) {
  double x = gwlz_ld(data, i, isd);
  double d = (x - pred) * q->inv;
  if (fabs(d) < q->lim) {
    int64_t k = (int64_t)(d + copysign(0.5, d));
    double r = pred + (double)k * q->twoeb;
    if (isd) {
      if (fabs(x - r) <= q->eb) {
        ((double *)rec)[i] = r;
        return (uint32_t)(k + q->radius);
      }
    } else {
      float rf = (float)(fabs(r) <= (double)FLT_MAX ? r : 0.0);
      if (fabs(r) <= (double)FLT_MAX && fabs(x - (double)rf) <= q->eb) {
        ((float *)rec)[i] = rf;
        return (uint32_t)(k + q->radius);
      }
    }
  }
  if (isd)
    ((double *)rec)[i] = ((const double *)data)[i];
  else
    ((float *)rec)[i] = ((const float *)data)[i];
  return 0;
}

/* Rebuild the value of a code >= 1 (the decoder's side of gwlz_quantize). */
static GWLZ_ALWAYS_INLINE void gwlz_dequantize(const gwlz_quant *q, void *rec, size_t i,
                                               double pred, uint32_t code, int isd) {
  int64_t k = (int64_t)code - q->radius;
  double r = pred + (double)k * q->twoeb;
  if (isd)
    ((double *)rec)[i] = r;
  else if (GWLZ_LIKELY(fabs(r) <= (double)FLT_MAX))
    ((float *)rec)[i] = (float)r;
  else /* only reachable from a damaged payload: no out-of-range cast */
    ((float *)rec)[i] = r > 0.0 ? INFINITY : (r < 0.0 ? -INFINITY : NAN);
}

#endif /* GWLZ_QUANTIZER_H */
