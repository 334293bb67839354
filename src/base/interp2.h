/* interp2.h - multilevel interpolation with per-level interpolation choice,
 * multi-dimensional interpolation, frozen dimensions and per-level bounds,
 * whose quantization codes are coded as they are visited by a
 * context-modelled adaptive binary range coder (format/rangecoder.h).
 * BASE payload mode 6; docs/format.md §9.12 is the normative description.
 *
 * Schedule. L = smallest integer with 2^L >= the largest extent. Every
 * dimension e has a current stride s_e, initially 2^L (only coordinate 0).
 * A 1-D pass along d at stride h (s_d = 2h) visits the points with c_d an
 * odd multiple of h and every other c_e a multiple of s_e, predicts each
 * from the rebuilt values along d, and sets s_d = h. A multi-dimensional
 * (MD) step over a set M of dimensions (all with s_e = 2h) visits, for
 * k = 1..|M| and every subset S of M with |S| = k (in increasing order of
 * the bit mask), the points with c_e an odd multiple of h for e in S, a
 * multiple of 2h for e in M \ S, a multiple of s_e elsewhere; the prediction
 * is the mean of the 1-D predictions along every e in S; then s_e = h on M.
 * Inside a step (or an MD subset) points are visited in C order.
 *
 * Order of steps: the origin; then, for l = L..1 (h = 2^(l-1)), a 1-D pass
 * along every frozen dimension (ascending); then, for l = L..1, either one
 * MD step over the dimensions that are not frozen, or 1-D passes along them
 * in the level's order. Level l uses the bound eb / (1 + fq[l] / 16).
 */
#ifndef GWLZ_INTERP2_H
#define GWLZ_INTERP2_H

#include "base/interp_common.h"
#include "common.h"

#define GWLZ_I2_MAXL 62

typedef struct {
  int nd;                         /* squeezed extents, 1..4            */
  size_t n[GWLZ_MAX_DIMS];
  int L;                          /* levels (gwlz_i2_levels)           */
  uint8_t kind[GWLZ_I2_MAXL + 1]; /* per level l = 1..L                */
  uint8_t md[GWLZ_I2_MAXL + 1];   /* per level: 1 = one MD step        */
  uint8_t perm[GWLZ_I2_MAXL + 1]; /* per level: order index < nd!      */
  uint8_t fq[GWLZ_I2_MAXL + 1];   /* per level: bound factor code      */
  uint8_t w[GWLZ_I2_MAXL + 1][GWLZ_MAX_DIMS]; /* per level, MD: weight of each
                                     dimension, 1..255                 */
  unsigned frozen;                /* mask of frozen dimensions         */
  double eb;                      /* finest bound, > 0                 */
  uint32_t radius;                /* largest |code| is radius - 1      */
  int kdiv;                       /* coder: Golomb shift offset 0..7   */
  int groups;                     /* coder: flags for quiet groups of 32
                                     points whose codes are all 0       */
  int lorenzo;                    /* 1: first-order Lorenzo in C order
                                     with the bound eb instead of the
                                     schedule (the level fields unused) */
} gwlz_i2_cfg;

int gwlz_i2_levels(int nd, const size_t *n);
/* Points of every level l = 1..L + 1 (the origin) of schedule c into
 * cnt[l] (Lorenzo: all at level 1). */
void gwlz_i2_level_counts(const gwlz_i2_cfg *c, double *cnt);
/* Bound of level l (1..L; L+1 for the origin, which uses level L's). */
double gwlz_i2_level_eb(const gwlz_i2_cfg *c, int l);
/* The order of dimensions for order index p (lexicographic permutations
 * of 0..nd-1). */
void gwlz_i2_order(int nd, int p, int *order);
/* The 1-D prediction of the value at index idx of a (isd ? double :
 * float) from its neighbours at +-h along a dimension of extent n and
 * index stride st, where its coordinate is c (an odd multiple of h). */
double gwlz_i2_pred1(const void *a, int isd, size_t idx, size_t c, size_t h, size_t st, size_t n,
                     int kind);

typedef struct {
  gwlz_wbuf rc;     /* range-coded stream                */
  gwlz_wbuf raw;    /* raw low bits                      */
  gwlz_wbuf unpred; /* unpredictable values, raw LE      */
  size_t nunpred;
  double sse;       /* sum of squared errors             */
} gwlz_i2_out;

void gwlz_i2_out_init(gwlz_i2_out *o);
void gwlz_i2_out_free(gwlz_i2_out *o);

/* Predict, quantize and code data (c->n values, isd ? double : float);
 * rec receives the reconstruction, aux (NULL or n bytes) the side
 * information. mag: scratch of n bytes (or NULL: allocated here). Returns
 * GWLZ_OK or GWLZ_ERR_MEMORY (also when an output buffer failed). */
gwlz_error gwlz_i2_compress(const gwlz_i2_cfg *c, int isd, const void *data, void *rec,
                            uint8_t *aux, uint8_t *mag, gwlz_i2_out *o);

/* Trial coding of nblk fields of c's extents stored one after the other at
 * blocks, the models carried from one to the next: total bits and sum of
 * squared errors. rec: scratch of one field, mag: n bytes. acct: NULL, or
 * 3 * (GWLZ_I2_MAXL + 2) doubles receiving per level l (index 3l): bits,
 * sum of squared errors, points (the origin counts as level L + 1). */
gwlz_error gwlz_i2_trial(const gwlz_i2_cfg *c, int isd, const uint8_t *blocks, int nblk,
                         void *rec, uint8_t *mag, double *bits, double *sse, double *acct);

/* Decode into out (n values); aux NULL or n bytes. */
gwlz_error gwlz_i2_decompress(const gwlz_i2_cfg *c, int isd, const uint8_t *rc, size_t rc_len,
                              const uint8_t *raw, size_t raw_len, const uint8_t *unpred,
                              size_t nunpred, void *out, uint8_t *aux);

/* Tests: the mode 6 coder's own (branch-free) coding of n bits with models
 * m[i % nmodels], to check it against format/rangecoder.h. */
#include "format/rangecoder.h"
void gwlz_i2_bits_encode(gwlz_rc_enc *e, gwlz_rc_model *m, const uint8_t *bits, size_t n,
                         unsigned nmodels);
void gwlz_i2_bits_decode(gwlz_rc_dec *d, gwlz_rc_model *m, uint8_t *bits, size_t n,
                         unsigned nmodels);

/* Development: the whole mode 6 payload for a given schedule (interp.c). */
#include "base/base.h"
gwlz_error gwlz_i2_payload(const gwlz_base_params *p, const gwlz_i2_cfg *c, const void *data,
                           void *recon, uint8_t *aux, gwlz_wbuf *out, size_t *nunp);
/* The mode 1 / mode 2 writer of earlier versions (interp.c), kept so that
 * tests can check that such payloads still decode. */
gwlz_error gwlz_interp_compress_v1(const gwlz_base_params *p, const void *data, void *recon,
                                   uint8_t *aux, gwlz_wbuf *out, gwlz_base_info *info);
#endif
