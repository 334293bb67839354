/* interp_predict.h - multilevel interpolation predictor (SZ3-style).
 *
 * Visiting order (this defines the code order of payload mode 1):
 *  - L = smallest integer with 2^L >= the largest extent (0 for one value).
 *  - First the origin (all coordinates 0), predicted by 0 with bound eb_L
 *    (eb_1 when L = 0).
 *  - Then levels l = L, L-1, ..., 1 with stride s = 2^(l-1) and bound eb_l.
 *    Within a level, one pass per dimension d = order[0], ..., order[nd-1].
 *    The pass along d visits the points whose coordinate along d is an odd
 *    multiple of s, whose coordinates along the dimensions passed earlier in
 *    this level are multiples of s, and whose other coordinates are
 *    multiples of 2s. A pass along d is skipped when s >= extent(d).
 *    Order inside a pass: with blog = 0, C order (slowest dimension
 *    outermost, fastest innermost). With blog = b > 0, the array is cut into
 *    boxes of side S = max(2^b, 2s) along every dimension (the last box of a
 *    dimension may be shorter; a dimension not longer than S is one box);
 *    boxes are taken in C order of their corners, and the pass's points
 *    inside a box in C order. (Points of one pass never depend on each
 *    other.)
 *  - Prediction of a point at coordinate i along d (extent n), from the
 *    rebuilt values at i-5s .. i+3s along d (A = i-3s, B = i-s, C = i+s,
 *    D = i+3s, F = i-5s), everything in double, no FMA:
 *      linear:  C exists (i+s < n):   (B + C) * 0.5
 *               else if i >= 3s:      (B * 3 - A) * 0.5
 *               else:                 B
 *      cubic:   i >= 3s and i+3s < n: ((B + C) * 9 - (A + D)) * 0.0625
 *               else if i+3s < n:     (B * 3 + C * 6 - D) * 0.125
 *               else if i >= 3s and i+s < n: (B * 6 + C * 3 - A) * 0.125
 *               else if i+s < n:      (B + C) * 0.5
 *               else if i >= 5s:      (F * 3 - A * 10 + B * 15) * 0.125
 *               else if i >= 3s:      (B * 3 - A) * 0.5
 *               else:                 B
 *    (products and sums evaluated left to right as written, e.g.
 *    B * 3 + C * 6 - D = ((B*3) + (C*6)) - D.)
 *  - Level l uses the bound eb / min(alpha^(l-1), beta), the power taken by
 *    repeated multiplication stopping at the first product >= beta.
 */
#ifndef GWLZ_PREDICTOR_INTERP_H
#define GWLZ_PREDICTOR_INTERP_H

#include "common.h"

typedef struct {
  int nd;                  /* 1..4                                     */
  size_t n[GWLZ_MAX_DIMS]; /* extents, C order (slowest first)         */
  int cubic;               /* 0 = linear, 1 = cubic                    */
  int order[GWLZ_MAX_DIMS];/* pass order within a level (perm of 0..nd-1) */
  double eb;               /* bound of the finest level                */
  double alpha, beta;      /* level factors, alpha >= 1, beta >= 1     */
  int blog;                /* 0, or log2 of the block side (1..30)     */
} gwlz_interp_cfg;

/* Number of levels L for the extents. */
int gwlz_interp_levels(const gwlz_interp_cfg *c);
/* Bound used at level l (1..L). */
double gwlz_interp_level_eb(const gwlz_interp_cfg *c, int level);

/* Predict and quantize data (n values of type isd ? double : float) in the
 * predictor's order. rec receives the rebuilt values, codes[0..n) the
 * quantization codes (0 = unpredictable), unpred the unpredictable values
 * (raw little-endian, in order), aux (NULL or n bytes) the side information of
 * base.h. Returns the number of unpredictable values. */
size_t gwlz_interp_compress(const gwlz_interp_cfg *c, int isd, const void *data, void *rec,
                            uint8_t *aux, uint32_t *codes, gwlz_wbuf *unpred);

/* Inverse: rebuild out from codes (each < 2*GWLZ_QUANT_RADIUS) and the
 * nunpred raw unpredictable values at unpred. GWLZ_ERR_CORRUPT when the codes
 * ask for more unpredictable values than there are, or use fewer. */
gwlz_error gwlz_interp_decompress(const gwlz_interp_cfg *c, int isd, const uint32_t *codes,
                                  const uint8_t *unpred, size_t nunpred, void *out, uint8_t *aux);
#endif

/* Choose c->cubic and c->order (c->nd, n, eb, alpha, beta set) from the
 * prediction errors, on the original values, of a sample of about frac of
 * the points of the two finest levels: for every sampled point and every
 * dimension it could be interpolated along, both interpolations are tried;
 * each (interpolation, order) pair is scored by the entropy of the codes it
 * would give. Deterministic for a given seed. Returns 0, or
 * GWLZ_ERR_MEMORY. */
gwlz_error gwlz_interp_choose(gwlz_interp_cfg *c, int isd, const void *data, double frac,
                              uint64_t seed);
