/* wavelet.h - the wavelet base (mode 3): internal knobs of its compressor.
 *
 * The knobs change only what the compressor writes, never how a payload
 * decodes; the defaults are what the library uses. Exposed for the tests and
 * the development benchmarks. */
#ifndef GWLZ_WAVELET_H
#define GWLZ_WAVELET_H

typedef struct {
  double q_ratio;     /* quantization step / bound                         */
  double zero_thr;    /* |c| / q below this quantizes to 0 (0.5 = rounding) */
  double corr_ratio;  /* correction step / bound, <= 2                     */
  int min_len;        /* an axis is transformed while its length >= this  */
  int max_levels;     /* at most this many levels per axis                 */
  int fit_offsets;    /* 1: fit the reconstruction offsets, 0: none        */
  double iso_thr;     /* an isolated |k| = 1 in a detail band with |c| / q
                         below this is set to 0 (0: off)                   */
} gwlz_wv_tuning;

extern gwlz_wv_tuning gwlz_wv_tune;

/* The compressor's analysis steps, in the order it runs them (also for the
 * development benchmarks, which must see the same coefficients). */
#include "base/wavelet_code.h"

/* The mean of the data (sums over blocks of 4096 values). */
double gwlz_wv_data_mean(const void *data, size_t n, int isd);
/* The transform levels of an axis of length n. */
int gwlz_wv_choose_levels(size_t n, const gwlz_wv_tuning *t);
/* k = c / q rounded with zero threshold thr; 0 when a k does not fit in
 * GWLZ_WV_KBITS bits. */
int gwlz_wv_quantize(const gwlz_wv_bands *b, const double *c, int32_t *k, double q, double thr);
/* Isolated |k| = 1 detail coefficients with |c| / q < thr set to 0. */
void gwlz_wv_prune_isolated(const gwlz_wv_bands *b, const double *c, int32_t *k, double q,
                            double thr);
/* off[2 l], off[2 l + 1]: the reconstruction offsets of detail level l for
 * |k| = 1 and |k| >= 2, in 1/256 (docs/format.md §9.9.6). */
void gwlz_wv_fit_offsets(const gwlz_wv_bands *b, const double *c, const int32_t *k, double q,
                         int L, uint8_t *off);

#endif
