/* quantizer.h - error-controlled linear quantization shared by the predictors,
 * and the code / unpredictable-value streams both predictors write and read.
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

#include "base/base.h"
#include "common.h"

#if defined(__SANITIZE_ADDRESS__)
#define GWLZ_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GWLZ_SANITIZED 1
#endif
#endif

/* Forced inlining makes the specialised kernels fast; the sanitizer builds
 * leave it to the compiler (the same results, and a fraction of the compile
 * time of the mode 6 engine under instrumentation). */
#if defined(__GNUC__) && !defined(GWLZ_SANITIZED)
#define GWLZ_ALWAYS_INLINE inline __attribute__((always_inline))
/* for static functions of a header: never inlined, no warning where unused */
#define GWLZ_NOINLINE __attribute__((noinline, unused))
#elif defined(__GNUC__)
#define GWLZ_ALWAYS_INLINE inline
#define GWLZ_NOINLINE __attribute__((noinline, unused))
#else
#define GWLZ_ALWAYS_INLINE inline
#define GWLZ_NOINLINE
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

/* ---- code and unpredictable-value streams --------------------------------
 * The state of one predictor run. Compressing, gwlz_qstream_put quantizes a
 * value, writes its code and appends an unpredictable value, raw
 * little-endian, to uout; decoding, it reads the code back and rebuilds the
 * value, taking code 0's value from uin. A predictor makes the same sequence
 * of puts in both directions, specialised by the constant flags isd and dec,
 * and sets q (gwlz_quant_set) before its first put. */
typedef struct {
  const void *data;   /* compress: the original values            */
  void *rec;          /* rebuilt values (decoder: its output)     */
  uint32_t *codes;    /* compress: written; decode: read          */
  gwlz_wbuf *uout;    /* compress: unpredictable values           */
  size_t nun;         /* compress: number appended to uout        */
  const uint8_t *uin; /* decode: unpredictable values             */
  size_t uin_n, ui;   /* decode: their number, the next one       */
  int bad;            /* decode: a code 0 found uin exhausted     */
  uint8_t *aux;       /* NULL, or side information per value (base.h) */
  uint8_t cls;        /* the class written to aux, set by the predictor */
  gwlz_quant q;
} gwlz_qstream;

static inline void gwlz_qstream_enc(gwlz_qstream *S, const void *data, void *rec,
                                    uint8_t *aux, uint32_t *codes, gwlz_wbuf *unpred) {
  memset(S, 0, sizeof *S);
  S->aux = aux;
  S->data = data;
  S->rec = rec;
  S->codes = codes;
  S->uout = unpred;
}

static inline void gwlz_qstream_dec(gwlz_qstream *S, void *out, uint8_t *aux,
                                    const uint32_t *codes, const uint8_t *unpred,
                                    size_t nunpred) {
  memset(S, 0, sizeof *S);
  S->aux = aux;
  S->rec = out;
  S->codes = (uint32_t *)(uintptr_t)codes; /* only read when decoding */
  S->uin = unpred;
  S->uin_n = nunpred;
}

/* After decoding: GWLZ_ERR_CORRUPT unless the codes used exactly the uin_n
 * unpredictable values. */
static inline gwlz_error gwlz_qstream_end(const gwlz_qstream *S) {
  return S->bad || S->ui != S->uin_n ? GWLZ_ERR_CORRUPT : GWLZ_OK;
}

/* Unpredictable values (every interp writer): out of line, they are rare
 * and the hot loops stay small. Append data[i] exactly to out. */
static GWLZ_NOINLINE void gwlz_unpred_put(gwlz_wbuf *out, const void *data, size_t i, int isd) {
  if (isd)
    gwlz_wbuf_f64(out, ((const double *)data)[i]);
  else
    gwlz_wbuf_f32(out, ((const float *)data)[i]);
}

/* Take value *ui of the n stored ones (little-endian bit patterns at uin)
 * into rec[i]; 0 (and rec[i] = 0) when there is none left. */
static GWLZ_NOINLINE int gwlz_unpred_take(const uint8_t *uin, size_t n, size_t *ui, void *rec,
                                          size_t i, int isd) {
  if (*ui >= n) {
    if (isd)
      ((double *)rec)[i] = 0.0;
    else
      ((float *)rec)[i] = 0.0f;
    return 0;
  }
  if (isd) {
    uint64_t u = gwlz_load_u64(uin + 8 * *ui);
    memcpy((double *)rec + i, &u, 8);
  } else {
    uint32_t u = gwlz_load_u32(uin + 4 * *ui);
    memcpy((float *)rec + i, &u, 4);
  }
  (*ui)++;
  return 1;
}

static inline void gwlz_qstream_push(gwlz_qstream *S, size_t i, int isd) {
  gwlz_unpred_put(S->uout, S->data, i, isd);
  S->nun++;
}

/* Take the next unpredictable value into rec[i]; when there is none, mark
 * the stream bad and store 0. */
static inline void gwlz_qstream_pop(gwlz_qstream *S, size_t i, int isd) {
  if (!gwlz_unpred_take(S->uin, S->uin_n, &S->ui, S->rec, i, isd)) S->bad = 1;
}

/* One point: the value at index i of data/rec with prediction pred, its
 * code in slot ci. dec = 0: quantize and record; dec = 1: rebuild. */
static GWLZ_ALWAYS_INLINE void gwlz_qstream_put(gwlz_qstream *S, size_t i, size_t ci, double pred,
                                                int isd, int dec) {
  uint32_t code;
  if (!dec) {
    code = gwlz_quantize(&S->q, S->data, S->rec, i, pred, isd);
    S->codes[ci] = code;
    if (GWLZ_UNLIKELY(code == 0)) gwlz_qstream_push(S, i, isd);
  } else {
    code = S->codes[ci];
    if (GWLZ_LIKELY(code != 0))
      gwlz_dequantize(&S->q, S->rec, i, pred, code, isd);
    else
      gwlz_qstream_pop(S, i, isd);
  }
  if (S->aux)
    S->aux[i] = (uint8_t)(S->cls | (code == 0 ? GWLZ_AUX_EXACT
                                              : ((int64_t)code != S->q.radius ? GWLZ_AUX_CODED : 0)));
}

#endif /* GWLZ_QUANTIZER_H */
