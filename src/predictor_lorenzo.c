/* predictor_lorenzo.c - first-order Lorenzo predictor with error-controlled
 * quantization; one traversal shared by compressor and decoder. */
#include "predictor_lorenzo.h"

#include "quantizer.h"

typedef struct {
  const void *data;
  void *rec;
  uint32_t *codes;
  gwlz_wbuf *uout;
  size_t nun;
  const uint8_t *uin;
  size_t uin_n, ui;
  int bad;
  gwlz_quant q;
} lstate;

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void l_push(lstate *S, size_t i, int isd) {
  if (isd)
    gwlz_wbuf_f64(S->uout, ((const double *)S->data)[i]);
  else
    gwlz_wbuf_f32(S->uout, ((const float *)S->data)[i]);
  S->nun++;
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void l_pop(lstate *S, size_t i, int isd) {
  if (S->ui >= S->uin_n) {
    S->bad = 1;
    if (isd)
      ((double *)S->rec)[i] = 0.0;
    else
      ((float *)S->rec)[i] = 0.0f;
    return;
  }
  if (isd) {
    uint64_t u = gwlz_load_u64(S->uin + 8 * S->ui);
    memcpy((double *)S->rec + i, &u, 8);
  } else {
    uint32_t u = gwlz_load_u32(S->uin + 4 * S->ui);
    memcpy((float *)S->rec + i, &u, 4);
  }
  S->ui++;
}

static GWLZ_ALWAYS_INLINE void l_put(lstate *S, size_t idx, double p, int isd, int dec) {
  if (!dec) {
    uint32_t code = gwlz_quantize(&S->q, S->data, S->rec, idx, p, isd);
    S->codes[idx] = code;
    if (GWLZ_UNLIKELY(code == 0)) l_push(S, idx, isd);
  } else {
    uint32_t code = S->codes[idx];
    if (GWLZ_LIKELY(code != 0))
      gwlz_dequantize(&S->q, S->rec, idx, p, code, isd);
    else
      l_pop(S, idx, isd);
  }
}

static GWLZ_ALWAYS_INLINE void l_run(lstate *S, int nd, const size_t *n, int isd, int dec) {
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
  const void *R = S->rec;
  size_t idx = 0;
  /* prediction a + (((b - ab) + (c - ac)) - (bc - abc)), a = x[i][j][k-1],
   * b = x[i][j-1][k], c = x[i-1][j][k], ab = x[i][j-1][k-1], ...; a value
   * outside the array counts as 0 (2-D: c = ac = bc = abc = 0, 1-D: only a).
   * Only a depends on the value just rebuilt. */
  for (size_t i = 0; i < N0; i++) {
    for (size_t j = 0; j < N1; j++) {
      if (i && j) {
        double p = ((gwlz_ld(R, idx - s1, isd)) + (gwlz_ld(R, idx - s0, isd))) -
                   gwlz_ld(R, idx - s0 - s1, isd);
        l_put(S, idx, p, isd, dec);
        idx++;
        for (size_t k = 1; k < N2; k++, idx++) {
          double rest = ((gwlz_ld(R, idx - s1, isd) - gwlz_ld(R, idx - s1 - 1, isd)) +
                         (gwlz_ld(R, idx - s0, isd) - gwlz_ld(R, idx - s0 - 1, isd))) -
                        (gwlz_ld(R, idx - s0 - s1, isd) - gwlz_ld(R, idx - s0 - s1 - 1, isd));
          l_put(S, idx, gwlz_ld(R, idx - 1, isd) + rest, isd, dec);
        }
      } else if (j) {
        l_put(S, idx, gwlz_ld(R, idx - s1, isd), isd, dec);
        idx++;
        for (size_t k = 1; k < N2; k++, idx++) {
          double rest = gwlz_ld(R, idx - s1, isd) - gwlz_ld(R, idx - s1 - 1, isd);
          l_put(S, idx, gwlz_ld(R, idx - 1, isd) + rest, isd, dec);
        }
      } else if (i) {
        l_put(S, idx, gwlz_ld(R, idx - s0, isd), isd, dec);
        idx++;
        for (size_t k = 1; k < N2; k++, idx++) {
          double rest = gwlz_ld(R, idx - s0, isd) - gwlz_ld(R, idx - s0 - 1, isd);
          l_put(S, idx, gwlz_ld(R, idx - 1, isd) + rest, isd, dec);
        }
      } else {
        l_put(S, idx, 0.0, isd, dec);
        idx++;
        for (size_t k = 1; k < N2; k++, idx++) l_put(S, idx, gwlz_ld(R, idx - 1, isd), isd, dec);
      }
    }
  }
}

static void l_cf(lstate *S, int nd, const size_t *n) { l_run(S, nd, n, 0, 0); }
static void l_cd(lstate *S, int nd, const size_t *n) { l_run(S, nd, n, 1, 0); }
static void l_df(lstate *S, int nd, const size_t *n) { l_run(S, nd, n, 0, 1); }
static void l_dd(lstate *S, int nd, const size_t *n) { l_run(S, nd, n, 1, 1); }

size_t gwlz_lorenzo_compress(int nd, const size_t *n, double eb, int isd, const void *data,
                             void *rec, uint32_t *codes, gwlz_wbuf *unpred) {
  lstate S;
  memset(&S, 0, sizeof S);
  S.data = data;
  S.rec = rec;
  S.codes = codes;
  S.uout = unpred;
  gwlz_quant_set(&S.q, eb, GWLZ_QUANT_RADIUS);
  if (isd)
    l_cd(&S, nd, n);
  else
    l_cf(&S, nd, n);
  return S.nun;
}

gwlz_error gwlz_lorenzo_decompress(int nd, const size_t *n, double eb, int isd,
                                   const uint32_t *codes, const uint8_t *unpred, size_t nunpred,
                                   void *out) {
  lstate S;
  memset(&S, 0, sizeof S);
  S.rec = out;
  S.codes = (uint32_t *)(uintptr_t)codes;
  S.uin = unpred;
  S.uin_n = nunpred;
  gwlz_quant_set(&S.q, eb, GWLZ_QUANT_RADIUS);
  if (isd)
    l_dd(&S, nd, n);
  else
    l_df(&S, nd, n);
  if (S.bad || S.ui != nunpred) return GWLZ_ERR_CORRUPT;
  return GWLZ_OK;
}
