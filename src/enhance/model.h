/* model.h - what one enhancer model kind (linear filter, CNN) provides to
 * the group framework in enhancer.c. The framework owns grouping, the
 * never-worse decision, exceptions and serialisation; a kind only trains
 * per-group parameters and predicts residuals from them.
 *
 * Residuals are predicted in units of the bound: r_hat = (X - X') / eb.
 * predict() must be bit-exact: the same bytes for any thread count and for
 * any build (-O0 or -O3 -march=native; the library is built with
 * -ffp-contract=off): fixed summation order, no reductions whose order
 * depends on threads, no libm calls whose result may differ between builds
 * except where exactly specified by IEEE (sqrt). */
#ifndef GWLZ_ENH_MODEL_H
#define GWLZ_ENH_MODEL_H
#include "common.h"

typedef struct {
  gwlz_type type;
  int ndims;                      /* 1..4, extents of 1 already removed      */
  size_t dims[GWLZ_MAX_DIMS];     /* C order, slowest first                   */
  size_t strides[GWLZ_MAX_DIMS];  /* in elements; strides[ndims-1] == 1       */
  size_t n;
  double eb;                      /* absolute bound, > 0                      */
  const void *xr;                 /* X' (type), n values                      */
  const float *target;            /* (X - X')/eb per cell; NULL when decoding */
  const uint8_t *gid;             /* group of each cell; 0xFF = special, skip */
  int groups;
  const double *lo, *hi;          /* per group: value range of X' in it      */
  const size_t *group_start;      /* CSR: cells of group g are              */
  const size_t *group_idx;        /*   group_idx[group_start[g] .. [g+1])     */
  int threads;                    /* >= 1                                     */
  uint64_t seed;
  int epochs;                     /* 0 = kind's default                       */
  double train_seconds;           /* <= 0 = no budget                         */
  gwlz_progress_fn progress;
  void *progress_user;
} gwlz_enh_data;

typedef struct {
  gwlz_enhancer id;
  /* Float parameters per group for this geometry and architecture. */
  size_t (*nparams)(const gwlz_enh_data *d, int arch);
  /* Train every group with cells; params = groups * nparams floats. Groups the
   * kind cannot fit get all-zero parameters (= no correction). *epochs_run may
   * be NULL. */
  gwlz_error (*train)(const gwlz_enh_data *d, int arch, float *params, int *epochs_run);
  /* For every cell i of group g: out[i] = predicted residual / eb, computed
   * only from X' and params. Writes only out[i] for i in group g.
   * params is the whole array laid out as train() writes it (groups * nparams
   * floats); predict reads group g's slice params + g * nparams. */
  gwlz_error (*predict)(const gwlz_enh_data *d, int arch, int g, const float *params,
                        float *out);
} gwlz_enh_kind;

/* Concrete linear-filter architectures (the arch byte stored in the stream for
 * GWLZ_ENH_LINEAR; GWLZ_ARCH_DEFAULT is resolved by enhancer.c to
 * GWLZ_LIN_ARCH_BEST before training, so streams never store 0 for linear).
 * linear.c describes the features exactly. */
#define GWLZ_LIN_ARCH_PLAIN 16  /* 3^k taps (k = min(ndims,3); in 3-D without the 8
                                   corners) + centre + bias, one filter per group   */
#define GWLZ_LIN_ARCH_PARITY 17 /* same, one filter per index-parity class (2^k)        */
#define GWLZ_LIN_ARCH_INTERP 18 /* 3^k taps without the 3-D corners, far taps at +-2
                                   and +-3 along each axis, interpolation-residual
                                   features, saturated differences; one filter per
                                   interpolation class (k + 1)                       */
#define GWLZ_LIN_ARCH_INTERP1 19 /* INTERP features, one filter per group               */
#define GWLZ_LIN_ARCH_BEST GWLZ_LIN_ARCH_INTERP

/* Raster-sweep entry points of the linear kind (linear.c), used by the
 * framework instead of the per-group interface: predict every group of
 * nsets parameter sets in one pass over the array (use[s][g] != 0 selects the
 * groups of set s), and train a class arch together with its one-class
 * variant arch1 (0 = none) from the same sums over a sampled subset of cells
 * (rate: per-group sampling rates, NULL = every cell). */
gwlz_error gwlz_lin_predict_sets(const gwlz_enh_data *d, int nsets, const int *archs,
                                 const float *const *params, const uint8_t *const *use,
                                 float *const *out);
gwlz_error gwlz_lin_train_sets(const gwlz_enh_data *d, int arch, const uint32_t *rate, float *params,
                               int arch1, float *params1);
/* Decoder of the linear kind: the predictions of gwlz_lin_predict_sets for
 * the groups with use[g] != 0, handed to apply() one row segment [i0, i0+len)
 * at a time, as soon as no later prediction reads those cells, so the caller
 * can correct the data in place without a full-size prediction array. */
gwlz_error gwlz_lin_decode_apply(const gwlz_enh_data *d, int arch, const float *params, const uint8_t *use,
                                 void (*apply)(void *ctx, size_t i0, size_t len, const float *r),
                                 void *ctx);

extern const gwlz_enh_kind gwlz_enh_linear_kind; /* linear.c */
extern const gwlz_enh_kind gwlz_enh_cnn_kind;    /* cnn.c       */
#endif
