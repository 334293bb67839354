/* nn.h - tiny neural-network building blocks in plain C for the CNN enhancer.
 *
 * Style: every layer is a forward/backward pair of plain functions over
 * contiguous float arrays, shapes in the comments. All tensors of a model live
 * in one allocation (nn_model): params, grads and the Adam moments m and v are
 * four contiguous float arrays of the same length; a tensor is an offset into
 * them. Activations are owned by the caller.
 *
 * Convolutions work on small patches ("valid" convolution, no padding): the
 * enhancer evaluates a model only around the cells of its group, so a batch is
 * B patches of spatial extent s0 x s1 x s2 (unused dims = 1), channels
 * innermost:  in[B][s0][s1][s2][Cin]  ->  out[B][s0-k0+1][s1-k1+1][s2-k2+1][Cout]
 * with kernel extents k0,k1,k2 in {1,3} (so 2-D 3x3 is k = {1,3,3}, 3-D 3x3x3
 * is {3,3,3} and a 1x1 conv is {1,1,1}).
 * Weights: w[k0][k1][k2][Cin][Cout], b[Cout] (output channels innermost so the
 * inner loop vectorises across output channels; summation order is fixed:
 * taps in row-major order, then input channels).
 *
 * Training code only: nothing here is used by inference, which lives in
 * cnn.c with its own fixed-order loops. */
#ifndef GWLZ_NN_H
#define GWLZ_NN_H
#include <stddef.h>
#include <stdint.h>

#define NN_MAX_TENSORS 16

typedef struct {
  int ntensors;
  size_t off[NN_MAX_TENSORS];
  size_t size[NN_MAX_TENSORS];
  size_t total;          /* floats per array                          */
  float *mem;            /* one allocation: 4 * total floats           */
  float *params, *grads; /* views into mem                            */
  float *m, *v;          /* Adam moments                              */
  long step;             /* Adam steps taken                           */
} nn_model;

/* Allocate a model with ntensors tensors of the given sizes (all zero).
 * Returns 0 on success, -1 on allocation failure. */
int nn_model_init(nn_model *mdl, int ntensors, const size_t *sizes);
void nn_model_free(nn_model *mdl);
static inline float *nn_param(nn_model *mdl, int t) { return mdl->params + mdl->off[t]; }
static inline float *nn_grad(nn_model *mdl, int t) { return mdl->grads + mdl->off[t]; }
void nn_zero_grad(nn_model *mdl);
/* Adam with bias correction (decoupled weight decay wd, 0 = none). */
void nn_adam(nn_model *mdl, float lr, float beta1, float beta2, float eps, float wd);

/* Deterministic init: uniform in [-scale, scale] from a splitmix64 state. */
void nn_init_uniform(float *p, size_t n, float scale, uint64_t *rng);

typedef struct {
  int s[3];   /* input patch extents  */
  int k[3];   /* kernel extents       */
  int cin, cout;
} nn_conv_shape;
static inline int nn_conv_out_extent(const nn_conv_shape *sh, int i) { return sh->s[i] - sh->k[i] + 1; }
static inline size_t nn_conv_in_size(const nn_conv_shape *sh) {
  return (size_t)sh->s[0] * sh->s[1] * sh->s[2] * sh->cin;
}
static inline size_t nn_conv_out_size(const nn_conv_shape *sh) {
  return (size_t)nn_conv_out_extent(sh, 0) * nn_conv_out_extent(sh, 1) * nn_conv_out_extent(sh, 2) *
         sh->cout;
}
static inline size_t nn_conv_w_size(const nn_conv_shape *sh) {
  return (size_t)sh->k[0] * sh->k[1] * sh->k[2] * sh->cin * sh->cout;
}

/* out[B][o0][o1][o2][cout] = b + sum_{taps,cin} in * w */
void nn_conv_forward(const nn_conv_shape *sh, int B, const float *in, const float *w,
                     const float *b, float *out);
/* Accumulates dw, db (+=) and writes din (=, may be NULL) from dout. */
void nn_conv_backward(const nn_conv_shape *sh, int B, const float *in, const float *w,
                      const float *dout, float *din, float *dw, float *db);

/* Batch norm over rows (training mode, batch statistics):
 * x[N][C] -> y[N][C]; rows with mask[r] == 0 are left out of the statistics
 * and get y = 0 (mask NULL = all rows). Saves mean[C], rstd[C] for backward. */
void nn_bn_forward(int N, int C, const float *x, const uint8_t *mask, const float *gamma,
                   const float *beta, float eps, float *y, float *mean, float *rstd);
/* dx (=), dgamma/dbeta (+=). */
void nn_bn_backward(int N, int C, const float *x, const uint8_t *mask, const float *gamma,
                    const float *mean, const float *rstd, const float *dy, float *dx,
                    float *dgamma, float *dbeta);

/* y = max(x, 0), in place allowed; row mask: rows with mask[r]==0 -> 0. */
void nn_relu_forward(int N, int C, const float *x, const uint8_t *mask, float *y);
/* dx = dy where y > 0 (dx may alias dy). */
void nn_relu_backward(int N, int C, const float *y, const float *dy, float *dx);

/* Mean squared error over N values with optional weights (NULL = 1):
 * loss = sum w (y - t)^2 / sum w. dy (may be NULL) receives dloss/dy. */
double nn_mse_forward_backward(int N, const float *y, const float *t, const float *wgt,
                               float *dy);
#endif
