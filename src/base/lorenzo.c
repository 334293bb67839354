/* lorenzo.c - first-order Lorenzo predictor with error-controlled
 * quantization; one traversal shared by compressor and decoder. */
#include "base/lorenzo.h"

#include "base/quantizer.h"

#define LD(j) gwlz_ld(R, (j), isd)

/* The row [i][j][0..N2) starting at idx. nb: how many of the neighbour rows
 * [i][j-1] and [i-1][j] lie inside the array; nb = 2: o1 = s1, o2 = s0 (b
 * and c); nb = 1: o1 is the offset of the one inside (b or c); the terms of
 * rows outside are left out. Only a = x[idx-1] depends on the value just
 * rebuilt. */
static GWLZ_ALWAYS_INLINE void l_row(gwlz_qstream *S, size_t idx, size_t N2, size_t o1,
                                     size_t o2, int nb, int isd, int dec) {
  const void *R = S->rec;
  double p = nb == 2 ? (LD(idx - o1) + LD(idx - o2)) - LD(idx - o2 - o1)
                     : (nb == 1 ? LD(idx - o1) : 0.0);
  gwlz_qstream_put(S, idx, idx, p, isd, dec);
  idx++;
  for (size_t k = 1; k < N2; k++, idx++) {
    if (nb == 2) {
      double rest = ((LD(idx - o1) - LD(idx - o1 - 1)) + (LD(idx - o2) - LD(idx - o2 - 1))) -
                    (LD(idx - o2 - o1) - LD(idx - o2 - o1 - 1));
      p = LD(idx - 1) + rest;
    } else if (nb == 1) {
      p = LD(idx - 1) + (LD(idx - o1) - LD(idx - o1 - 1));
    } else {
      p = LD(idx - 1);
    }
    gwlz_qstream_put(S, idx, idx, p, isd, dec);
  }
}

/* The traversal shared by compressor and decoder (codes in C order). */
static GWLZ_ALWAYS_INLINE void l_run(gwlz_qstream *S, int nd, const size_t *n, double eb,
                                     int isd, int dec) {
  size_t N0 = 1, N1 = 1, N2 = 1;
  if (nd == 1) {
    N2 = n[0];
  } else if (nd == 2) {
    N1 = n[0];
    N2 = n[1];
  } else if (nd == 3) {
    N0 = n[0];
    N1 = n[1];
    N2 = n[2];
  } else {
    N0 = n[0] * n[1];
    N1 = n[2];
    N2 = n[3];
  }
  size_t s1 = N2, s0 = N1 * N2;
  size_t idx = 0;
  gwlz_quant_set(&S->q, eb, GWLZ_QUANT_RADIUS);
  /* prediction a + (((b - ab) + (c - ac)) - (bc - abc)), a = x[i][j][k-1],
   * b = x[i][j-1][k], c = x[i-1][j][k], ab = x[i][j-1][k-1], ..., without
   * the terms of values outside the array (2-D: no c, ac, bc, abc; 1-D: only
   * a), as listed in the header */
  for (size_t i = 0; i < N0; i++) {
    for (size_t j = 0; j < N1; j++, idx += N2) {
      if (i && j)
        l_row(S, idx, N2, s1, s0, 2, isd, dec);
      else if (i || j)
        l_row(S, idx, N2, j ? s1 : s0, 0, 1, isd, dec);
      else
        l_row(S, idx, N2, 0, 0, 0, isd, dec);
    }
  }
}

size_t gwlz_lorenzo_compress(int nd, const size_t *n, double eb, int isd, const void *data,
                             void *rec, uint8_t *aux, uint32_t *codes, gwlz_wbuf *unpred) {
  gwlz_qstream S;
  gwlz_qstream_enc(&S, data, rec, aux, codes, unpred);
  S.cls = 1;
  if (isd)
    l_run(&S, nd, n, eb, 1, 0);
  else
    l_run(&S, nd, n, eb, 0, 0);
  return S.nun;
}

gwlz_error gwlz_lorenzo_decompress(int nd, const size_t *n, double eb, int isd,
                                   const uint32_t *codes, const uint8_t *unpred, size_t nunpred,
                                   void *out, uint8_t *aux) {
  gwlz_qstream S;
  gwlz_qstream_dec(&S, out, aux, codes, unpred, nunpred);
  S.cls = 1;
  if (isd)
    l_run(&S, nd, n, eb, 1, 1);
  else
    l_run(&S, nd, n, eb, 0, 1);
  return gwlz_qstream_end(&S);
}
