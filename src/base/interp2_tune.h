/* interp2_tune.h - how the compressor chooses a mode 6 schedule
 * (interp2.h). Not part of the format. */
#ifndef GWLZ_INTERP2_TUNE_H
#define GWLZ_INTERP2_TUNE_H

#include "base/interp2.h"

/* Choose kind, md, perm and weights of every level and the frozen mask of
 * c (nd, n, L, eb and fq set) from the errors of the candidate predictions
 * at the original values on sampled points of every level. */
gwlz_error gwlz_i2_tune_predictors(gwlz_i2_cfg *c, int isd, const void *data, uint64_t seed);

/* Per level l = 1..L of schedule c (not Lorenzo) on a field of c's
 * extents: modelled order-0 bits and squared error per point of sampled
 * points at the original values (bits[l], mse[l]), and the level's points
 * (pts[l]). */
gwlz_error gwlz_i2_level_stats(const gwlz_i2_cfg *c, int isd, const void *data, uint64_t seed,
                               double *bits, double *mse, double *pts);

/* Sample blocks of a field for trial coding. */
typedef struct {
  int nblk;
  int nd;
  size_t bn[GWLZ_MAX_DIMS]; /* extents of every block */
  size_t blen;              /* values per block       */
  size_t tsize;
  uint8_t *buf;             /* nblk blocks            */
  uint8_t *rec, *mag;       /* scratch                */
} gwlz_i2_blocks;

/* Blocks of about frac of the values (the whole field when it has at most
 * whole_max values). */
gwlz_error gwlz_i2_blocks_init(gwlz_i2_blocks *b, const gwlz_i2_cfg *c, int isd, const void *data,
                               double frac, size_t whole_max);
void gwlz_i2_blocks_free(gwlz_i2_blocks *b);
/* Code every block with the schedule of c (levels map one to one) at bound
 * eb: total bits and sum of squared errors; acct as in gwlz_i2_trial. */
gwlz_error gwlz_i2_blocks_try(const gwlz_i2_blocks *b, const gwlz_i2_cfg *c, int isd, double eb,
                              double *bits, double *sse, double *acct);
/* Choose the level factors fq of c by trial coding of the blocks: the
 * candidate with the best PSNR at equal size, the local slope of PSNR over
 * log2(size) measured on the current factors. */
gwlz_error gwlz_i2_tune_levels(gwlz_i2_cfg *c, int isd, const gwlz_i2_blocks *b, double *lam);
/* The score the choices maximise: PSNR (up to a constant) minus lam times
 * log2 of the size, lam the slope in dB per doubling of the size. */
double gwlz_i2_score(double bits, double sse, double lam);
/* PSNR (up to a constant) at size target of a candidate measured at two
 * bounds (bits[0], sse[0]) and a smaller one (bits[1], sse[1]): linear in
 * log2 of the size from the first point. */
double gwlz_i2_at_size(const double *bits, const double *sse, double target);
/* Set fq from a level factor rule min(alpha^(l-1), beta). */
void gwlz_i2_set_factors(gwlz_i2_cfg *c, double alpha, double beta);
#endif
