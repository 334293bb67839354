/* interp_common.h - what the interp base's two writers share (modes 1/2 in
 * interp_predict.c, mode 6 in interp2.c and interp2_tune.c): the 1-D
 * prediction kinds along a line, the predictions themselves, and the code
 * histograms their tuners estimate rates with. Internal to base/. */
#ifndef GWLZ_INTERP_COMMON_H
#define GWLZ_INTERP_COMMON_H

#include <math.h>
#include <stdint.h>

#include "base/quantizer.h"

/* Interpolation of a level (mode 6 stores it per level, format.md §9.12;
 * modes 1/2 use linear or cubic for the whole field). */
#define GWLZ_I2_KIND_LINEAR 0
#define GWLZ_I2_KIND_CUBIC 1   /* not-a-knot cubic: (-1, 9, 9, -1) / 16   */
#define GWLZ_I2_KIND_NATURAL 2 /* natural cubic spline: (-3, 23, 23, -3) / 40 */

/* What one point gets: two-sided cubic (not-a-knot or natural), quadratic
 * through one point on the far side (Q1) or two on the near side (Q2),
 * quadratic extrapolation (Q3), linear, linear extrapolation, copy. */
enum { K_COPY, K_LINX, K_LIN, K_CUBIC, K_NAT, K_Q1, K_Q2, K_Q3 };

/* Kind for the point at coordinate c (an odd multiple of the stride h) on a
 * line of extent n, for a level of interpolation kind (GWLZ_I2_KIND_*). */
static inline int gwlz_interp_kind(size_t c, size_t h, size_t n, int kind) {
  int r1 = n - c > h;
  int l3 = c >= 3 * h;
  if (kind != GWLZ_I2_KIND_LINEAR) {
    int r3 = n - c > 3 * h;
    if (l3 && r3) return kind == GWLZ_I2_KIND_NATURAL ? K_NAT : K_CUBIC;
    if (r3) return K_Q1;
    if (l3 && r1) return K_Q2;
    if (r1) return K_LIN;
    if (c >= 5 * h) return K_Q3;
    return l3 ? K_LINX : K_COPY;
  }
  if (r1) return K_LIN;
  return l3 ? K_LINX : K_COPY;
}

/* Prediction of kind k (K_*) for the point at idx of a (values of the data
 * type) from the values o1, 3 o1 and 5 o1 away. */
static GWLZ_ALWAYS_INLINE double gwlz_interp_predict(const void *a, int isd, size_t idx, int k,
                                                     size_t o1) {
  size_t o3 = 3 * o1, o5 = 5 * o1;
#define LD(j) gwlz_ld(a, (j), isd)
  switch (k) {
    case K_CUBIC: return ((LD(idx - o1) + LD(idx + o1)) * 9.0 - (LD(idx - o3) + LD(idx + o3))) * 0.0625;
    case K_NAT: return ((LD(idx - o1) + LD(idx + o1)) * 23.0 - (LD(idx - o3) + LD(idx + o3)) * 3.0) * 0.025;
    case K_LIN: return (LD(idx - o1) + LD(idx + o1)) * 0.5;
    case K_Q1: return (LD(idx - o1) * 3.0 + LD(idx + o1) * 6.0 - LD(idx + o3)) * 0.125;
    case K_Q2: return (LD(idx - o1) * 6.0 + LD(idx + o1) * 3.0 - LD(idx - o3)) * 0.125;
    case K_Q3: return (LD(idx - o5) * 3.0 - LD(idx - o3) * 10.0 + LD(idx - o1) * 15.0) * 0.125;
    case K_LINX: return (LD(idx - o1) * 3.0 - LD(idx - o3)) * 0.5;
    default: return LD(idx - o1);
  }
#undef LD
}

/* Code histograms of the tuners: bins for codes -GWLZ_IH_B..GWLZ_IH_B, then
 * one overflow bin. */
#define GWLZ_IH_B 64
#define GWLZ_IH_W (2 * GWLZ_IH_B + 2)

/* Bin of a prediction error q in units of twice the bound. */
static inline int gwlz_interp_hist_bin(double q) {
  if (fabs(q) < (double)GWLZ_IH_B + 0.5) return (int)(q >= 0 ? q + 0.5 : q - 0.5) + GWLZ_IH_B;
  return GWLZ_IH_W - 1;
}

/* Order-0 entropy in bits of a histogram, 16 more bits per overflow. */
static inline double gwlz_interp_hist_bits(const uint32_t *h) {
  double tot = 0, bits = 0;
  for (int b = 0; b < GWLZ_IH_W; b++) tot += h[b];
  if (tot <= 0) return 0;
  for (int b = 0; b < GWLZ_IH_W; b++)
    if (h[b]) bits -= (double)h[b] * log2((double)h[b] / tot);
  return bits + (double)h[GWLZ_IH_W - 1] * 16.0;
}

#endif
