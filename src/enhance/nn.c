/* nn.c - tiny neural-network layers for the CNN enhancer (see nn.h). */
#include "enhance/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int nn_model_init(nn_model *mdl, int ntensors, const size_t *sizes) {
  memset(mdl, 0, sizeof *mdl);
  if (ntensors < 1 || ntensors > NN_MAX_TENSORS) return -1;
  size_t total = 0;
  for (int t = 0; t < ntensors; t++) {
    mdl->off[t] = total;
    mdl->size[t] = sizes[t];
    total += sizes[t];
  }
  mdl->ntensors = ntensors;
  mdl->total = total;
  mdl->mem = (float *)calloc(total ? 4 * total : 4, sizeof(float));
  if (!mdl->mem) return -1;
  mdl->params = mdl->mem;
  mdl->grads = mdl->mem + total;
  mdl->m = mdl->mem + 2 * total;
  mdl->v = mdl->mem + 3 * total;
  return 0;
}

void nn_model_free(nn_model *mdl) {
  free(mdl->mem);
  memset(mdl, 0, sizeof *mdl);
}

void nn_zero_grad(nn_model *mdl) { memset(mdl->grads, 0, mdl->total * sizeof(float)); }

void nn_adam(nn_model *mdl, float lr, float beta1, float beta2, float eps, float wd) {
  mdl->step++;
  double bc1 = 1.0 - pow((double)beta1, (double)mdl->step);
  double bc2 = 1.0 - pow((double)beta2, (double)mdl->step);
  float a = (float)((double)lr / bc1);
  float rb2 = (float)(1.0 / bc2);
  for (size_t i = 0; i < mdl->total; i++) {
    float g = mdl->grads[i];
    float m = beta1 * mdl->m[i] + (1.0f - beta1) * g;
    float v = beta2 * mdl->v[i] + (1.0f - beta2) * g * g;
    mdl->m[i] = m;
    mdl->v[i] = v;
    mdl->params[i] -= a * m / (sqrtf(v * rb2) + eps) + lr * wd * mdl->params[i];
  }
}

void nn_init_uniform(float *p, size_t n, float scale, uint64_t *rng) {
  for (size_t i = 0; i < n; i++) p[i] = (float)((2.0 * gwlz_rng_uniform(rng) - 1.0) * scale);
}

/* ---- valid convolution on patches ---------------------------------------
 * in  [B][s0][s1][s2][cin]
 * w   [k0][k1][k2][cin][cout], b [cout]
 * out [B][o0][o1][o2][cout] */
void nn_conv_forward(const nn_conv_shape *sh, int B, const float *in, const float *w,
                     const float *b, float *out) {
  const int s0 = sh->s[0], s1 = sh->s[1], s2 = sh->s[2];
  const int k0 = sh->k[0], k1 = sh->k[1], k2 = sh->k[2];
  const int o0 = s0 - k0 + 1, o1 = s1 - k1 + 1, o2 = s2 - k2 + 1;
  const int ci = sh->cin, co = sh->cout;
  const size_t in_b = (size_t)s0 * s1 * s2 * ci, out_b = (size_t)o0 * o1 * o2 * co;
  for (int bi = 0; bi < B; bi++) {
    const float *inb = in + bi * in_b;
    float *outb = out + bi * out_b;
    for (int z = 0; z < o0; z++)
      for (int y = 0; y < o1; y++)
        for (int x = 0; x < o2; x++) {
          float *o = outb + (((size_t)z * o1 + y) * o2 + x) * co;
          for (int c = 0; c < co; c++) o[c] = b ? b[c] : 0.0f;
          const float *wt = w;
          for (int dz = 0; dz < k0; dz++)
            for (int dy = 0; dy < k1; dy++)
              for (int dx = 0; dx < k2; dx++) {
                const float *ip = inb + (((size_t)(z + dz) * s1 + (y + dy)) * s2 + (x + dx)) * ci;
                for (int c1 = 0; c1 < ci; c1++, wt += co) {
                  float v = ip[c1];
                  for (int c = 0; c < co; c++) o[c] += v * wt[c];
                }
              }
        }
  }
}

void nn_conv_backward(const nn_conv_shape *sh, int B, const float *in, const float *w,
                      const float *dout, float *din, float *dw, float *db) {
  const int s0 = sh->s[0], s1 = sh->s[1], s2 = sh->s[2];
  const int k0 = sh->k[0], k1 = sh->k[1], k2 = sh->k[2];
  const int o0 = s0 - k0 + 1, o1 = s1 - k1 + 1, o2 = s2 - k2 + 1;
  const int ci = sh->cin, co = sh->cout;
  const size_t in_b = (size_t)s0 * s1 * s2 * ci, out_b = (size_t)o0 * o1 * o2 * co;
  if (din) memset(din, 0, (size_t)B * in_b * sizeof(float));
  for (int bi = 0; bi < B; bi++) {
    const float *inb = in + bi * in_b;
    float *dinb = din ? din + bi * in_b : NULL;
    const float *doutb = dout + bi * out_b;
    for (int z = 0; z < o0; z++)
      for (int y = 0; y < o1; y++)
        for (int x = 0; x < o2; x++) {
          const float *g = doutb + (((size_t)z * o1 + y) * o2 + x) * co;
          if (db)
            for (int c = 0; c < co; c++) db[c] += g[c];
          const float *wt = w;
          float *dwt = dw;
          for (int dz = 0; dz < k0; dz++)
            for (int dy = 0; dy < k1; dy++)
              for (int dx = 0; dx < k2; dx++) {
                size_t ioff = (((size_t)(z + dz) * s1 + (y + dy)) * s2 + (x + dx)) * ci;
                const float *ip = inb + ioff;
                for (int c1 = 0; c1 < ci; c1++, wt += co, dwt += co) {
                  float v = ip[c1], acc = 0.0f;
                  for (int c = 0; c < co; c++) {
                    dwt[c] += v * g[c];
                    acc += wt[c] * g[c];
                  }
                  if (dinb) dinb[ioff + c1] += acc;
                }
              }
        }
  }
}

/* ---- batch norm (training mode) ----------------------------------------- */
void nn_bn_forward(int N, int C, const float *x, const uint8_t *mask, const float *gamma,
                   const float *beta, float eps, float *y, float *mean, float *rstd) {
  for (int c = 0; c < C; c++) {
    double s = 0.0, ss = 0.0;
    long cnt = 0;
    for (int r = 0; r < N; r++) {
      if (mask && !mask[r]) continue;
      double v = x[(size_t)r * C + c];
      s += v;
      cnt++;
    }
    double mu = cnt ? s / (double)cnt : 0.0;
    for (int r = 0; r < N; r++) {
      if (mask && !mask[r]) continue;
      double dv = x[(size_t)r * C + c] - mu;
      ss += dv * dv;
    }
    double var = cnt ? ss / (double)cnt : 0.0;
    mean[c] = (float)mu;
    rstd[c] = (float)(1.0 / sqrt(var + (double)eps));
  }
  for (int r = 0; r < N; r++) {
    float *yr = y + (size_t)r * C;
    const float *xr = x + (size_t)r * C;
    if (mask && !mask[r]) {
      for (int c = 0; c < C; c++) yr[c] = 0.0f;
      continue;
    }
    for (int c = 0; c < C; c++) yr[c] = (xr[c] - mean[c]) * rstd[c] * gamma[c] + beta[c];
  }
}

/* With xhat = (x - mean) * rstd over the n unmasked rows:
 * dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma */
void nn_bn_backward(int N, int C, const float *x, const uint8_t *mask, const float *gamma,
                    const float *mean, const float *rstd, const float *dy, float *dx,
                    float *dgamma, float *dbeta) {
  for (int c = 0; c < C; c++) {
    double sd = 0.0, sdx = 0.0;
    long cnt = 0;
    for (int r = 0; r < N; r++) {
      if (mask && !mask[r]) continue;
      double xh = (x[(size_t)r * C + c] - mean[c]) * rstd[c];
      double g = dy[(size_t)r * C + c];
      dbeta[c] += (float)g;
      dgamma[c] += (float)(g * xh);
      sd += g * gamma[c];
      sdx += g * gamma[c] * xh;
      cnt++;
    }
    double md = cnt ? sd / (double)cnt : 0.0, mdx = cnt ? sdx / (double)cnt : 0.0;
    for (int r = 0; r < N; r++) {
      size_t i = (size_t)r * C + c;
      if (mask && !mask[r]) {
        dx[i] = 0.0f;
        continue;
      }
      double xh = (x[i] - mean[c]) * rstd[c];
      dx[i] = (float)(rstd[c] * ((double)dy[i] * gamma[c] - md - xh * mdx));
    }
  }
}

/* ---- ReLU ---------------------------------------------------------------- */
void nn_relu_forward(int N, int C, const float *x, const uint8_t *mask, float *y) {
  for (int r = 0; r < N; r++)
    for (int c = 0; c < C; c++) {
      size_t i = (size_t)r * C + c;
      float v = x[i];
      y[i] = (mask && !mask[r]) ? 0.0f : (v > 0.0f ? v : 0.0f);
    }
}

void nn_relu_backward(int N, int C, const float *y, const float *dy, float *dx) {
  size_t n = (size_t)N * C;
  for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* ---- loss ---------------------------------------------------------------- */
double nn_mse_forward_backward(int N, const float *y, const float *t, const float *wgt,
                               float *dy) {
  double sw = 0.0, s = 0.0;
  for (int i = 0; i < N; i++) {
    double w = wgt ? wgt[i] : 1.0;
    double e = (double)y[i] - t[i];
    s += w * e * e;
    sw += w;
  }
  if (sw <= 0.0) {
    if (dy) memset(dy, 0, (size_t)N * sizeof(float));
    return 0.0;
  }
  if (dy)
    for (int i = 0; i < N; i++) {
      double w = wgt ? wgt[i] : 1.0;
      dy[i] = (float)(2.0 * w * ((double)y[i] - t[i]) / sw);
    }
  return s / sw;
}
