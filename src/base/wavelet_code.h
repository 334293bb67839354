/* wavelet_code.h - context-modelled coding of the quantized wavelet
 * coefficients and of the correction list (docs/format.md §9.9.3-§9.9.5),
 * on the binary range coder of format/rangecoder.h.
 *
 * Coefficients: subbands coarsest first; inside a subband a zero flag for
 * the whole subband, its predictor (none, or the previous value along one
 * or two axes: the residual is coded), then blocks in raster order, each
 * with a zero flag (set partitioning of the zero coefficients), then every
 * coefficient of a non-zero block: the bit length of its residual in unary,
 * the bits below the leading one, its sign. Contexts come from already
 * coded neighbours in the subband, the co-located coefficient of the parent
 * subband (one level coarser) and of a sibling subband (same level).
 * Encoder and decoder run the same code. */
#ifndef GWLZ_WAVELET_CODE_H
#define GWLZ_WAVELET_CODE_H

#include "base/wavelet_xform.h"
#include "common.h"
#include "format/rangecoder.h"

/* |k| < 2^WV_KBITS for every coefficient and correction multiple. */
#define GWLZ_WV_KBITS 30
#define GWLZ_WV_KMAX (((int32_t)1 << GWLZ_WV_KBITS) - 1)

typedef struct {
  size_t off[4], ext[4]; /* region in the coefficient array (4-D padded) */
  size_t bs[4];          /* block side per axis                          */
  size_t nb[4];          /* blocks per axis                              */
  size_t flag0;          /* first block flag in the shared flag array    */
  int level;             /* 0 = finest detail level; L = approximation   */
  int orient;            /* bit e: high-pass along axis e (0: approx)    */
  int parent, sibling;   /* subband index or -1                          */
  int pshift[4];         /* parent coordinate = c >> pshift (clamped)    */
  int lc;                /* model class                                  */
} gwlz_wv_band;

typedef struct {
  int nbands;
  gwlz_wv_band *band;
  size_t nflags;
  size_t N[4];           /* padded extents */
  size_t S[4];           /* padded strides */
  int nd;
} gwlz_wv_bands;

gwlz_error gwlz_wv_bands_init(gwlz_wv_bands *b, const gwlz_wv_geom *g);
void gwlz_wv_bands_free(gwlz_wv_bands *b);

/* One correction: position, multiple k of the correction step (0: the value
 * is stored exactly, in bits). */
typedef struct {
  size_t pos;
  int32_t k;
  uint64_t bits;
} gwlz_wv_corr;

/* Encode the coefficients k (n, C order) then the correction list
 * (ncorr entries, increasing positions) as one range-coded stream. */
gwlz_error gwlz_wv_encode(const gwlz_wv_bands *b, const int32_t *k, const gwlz_wv_corr *corr,
                          size_t ncorr, int isd, gwlz_wbuf *out);
/* Decoder: open the stream, decode the coefficients (k: n values, all 0
 * on entry), then the corrections one at a time, then close (which
 * checks that the stream was read exactly to its end). CORRUPT / TRUNCATED
 * on a bad stream; close frees d in any case. */
typedef struct gwlz_wv_dec gwlz_wv_dec;
gwlz_error gwlz_wv_dec_open(gwlz_wv_dec **d, const uint8_t *data, size_t size);
gwlz_error gwlz_wv_dec_coefs(gwlz_wv_dec *d, const gwlz_wv_bands *b, int32_t *k);
gwlz_error gwlz_wv_dec_corr(gwlz_wv_dec *d, size_t n, int isd, gwlz_wv_corr *c);
gwlz_error gwlz_wv_dec_close(gwlz_wv_dec *d);

#endif
