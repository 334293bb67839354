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

#endif
