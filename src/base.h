/* base.h - the base error-bounded compressor: multilevel interpolation
 * prediction (with Lorenzo as a sampled alternative), linear quantization,
 * Huffman coding and zstd. Produces the BASE section payload and, on the way,
 * the reconstruction X' that the decoder will produce bit for bit. */
#ifndef GWLZ_BASE_H
#define GWLZ_BASE_H
#include "common.h"

typedef struct {
  gwlz_type type;
  int ndims;                    /* 1..4                               */
  size_t dims[GWLZ_MAX_DIMS];   /* C order, slowest first             */
  size_t n;                     /* product of dims                    */
  double abs_eb;                /* >= 0; 0 = lossless                 */
} gwlz_base_params;

typedef struct {
  size_t unpredictable;         /* values stored exactly              */
  int predictor;                /* implementation-defined id, for reports */
} gwlz_base_info;

/* Compress data (n finite values) and append the BASE payload to out.
 * recon (n values, same type) receives X': |data[i] - recon[i]| <= abs_eb for
 * every i, checked in double on the values of the data type. data and recon
 * must not overlap. */
gwlz_error gwlz_base_compress(const gwlz_base_params *p, const void *data, void *recon,
                              gwlz_wbuf *out, gwlz_base_info *info);
/* Decode a BASE payload into out (n values of p->type). */
gwlz_error gwlz_base_decompress(const gwlz_base_params *p, const uint8_t *payload,
                                size_t size, void *out);
#endif
