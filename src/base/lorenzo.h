/* lorenzo.h - first-order Lorenzo predictor.
 *
 * Values are visited in C order. The squeezed extents are viewed as 3-D
 * [N0][N1][N2]: 1-D n -> [1][1][n], 2-D -> [1][n0][n1], 3-D as is, 4-D ->
 * [n0*n1][n2][n3]. With rebuilt values x and a = x[i][j][k-1],
 * b = x[i][j-1][k], c = x[i-1][j][k], ab = x[i][j-1][k-1],
 * ac = x[i-1][j][k-1], bc = x[i-1][j-1][k], abc = x[i-1][j-1][k-1], the
 * prediction is, in double without FMA:
 *   i>0, j>0, k>0:  a + (((b - ab) + (c - ac)) - (bc - abc))
 *   i>0, j>0, k=0:  (b + c) - bc
 *   i=0, j>0, k>0:  a + (b - ab)          i=0, j>0, k=0:  b
 *   i>0, j=0, k>0:  a + (c - ac)          i>0, j=0, k=0:  c
 *   i=0, j=0, k>0:  a                     i=0, j=0, k=0:  0
 * and quantization is as in quantizer.h with the single bound eb.
 * aux (NULL or n bytes) receives the side information of base.h, class 1. */
#ifndef GWLZ_PREDICTOR_LORENZO_H
#define GWLZ_PREDICTOR_LORENZO_H

#include "common.h"

size_t gwlz_lorenzo_compress(int nd, const size_t *n, double eb, int isd, const void *data,
                             void *rec, uint8_t *aux, uint32_t *codes, gwlz_wbuf *unpred);
gwlz_error gwlz_lorenzo_decompress(int nd, const size_t *n, double eb, int isd,
                                   const uint32_t *codes, const uint8_t *unpred, size_t nunpred,
                                   void *out, uint8_t *aux);
#endif
