/* test_nn_grad.c - gradients of every layer in nn.c and of the two enhancer
 * models (paper 2-D and default) against central finite differences.
 * Each check perturbs one float, evaluates a scalar loss accumulated in
 * double and compares (L(+h) - L(-h)) / 2h with the analytic gradient under a
 * relative tolerance. Standalone: returns 0 when every check passes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "enhance/nn.h"

static int g_fail = 0, g_checks = 0;
static uint64_t g_rng = 0x1234567ull;

static float urand(float a) { return (float)((2.0 * gwlz_rng_uniform(&g_rng) - 1.0) * a); }
static void fill(float *p, size_t n, float a) {
  for (size_t i = 0; i < n; i++) p[i] = urand(a);
}

static void check(const char *what, size_t i, double ana, double num) {
  double tol = 2e-2 * fmax(fabs(ana), fabs(num)) + 2e-3;
  g_checks++;
  if (!(fabs(ana - num) <= tol)) {
    g_fail++;
    if (g_fail < 30) printf("FAIL %s[%zu]: analytic %.6g numeric %.6g\n", what, i, ana, num);
  }
}

/* dot of y with fixed random weights r: a generic scalar loss for layer tests */
static double dotd(const float *y, const float *r, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)y[i] * r[i];
  return s;
}

/* ---- conv ----------------------------------------------------------------- */
static void test_conv(const char *name, nn_conv_shape sh, int B) {
  size_t ni = B * nn_conv_in_size(&sh), no = B * nn_conv_out_size(&sh), nw = nn_conv_w_size(&sh);
  float *in = malloc(ni * 4), *w = malloc(nw * 4), *b = malloc(sh.cout * 4), *out = malloc(no * 4);
  float *r = malloc(no * 4), *din = malloc(ni * 4), *dw = calloc(nw, 4), *db = calloc(sh.cout, 4);
  fill(in, ni, 1.0f);
  fill(w, nw, 0.5f);
  fill(b, sh.cout, 0.5f);
  fill(r, no, 1.0f);
  nn_conv_forward(&sh, B, in, w, b, out);
  nn_conv_backward(&sh, B, in, w, r, din, dw, db);
  const float h = 1e-2f;
  struct { float *p; size_t n; const float *g; const char *nm; } v[3] = {
      {in, ni, din, "din"}, {w, nw, dw, "dw"}, {b, (size_t)sh.cout, db, "db"}};
  for (int k = 0; k < 3; k++)
    for (size_t i = 0; i < v[k].n; i++) {
      float s = v[k].p[i];
      v[k].p[i] = s + h;
      nn_conv_forward(&sh, B, in, w, b, out);
      double lp = dotd(out, r, no);
      v[k].p[i] = s - h;
      nn_conv_forward(&sh, B, in, w, b, out);
      double lm = dotd(out, r, no);
      v[k].p[i] = s;
      char nm[64];
      snprintf(nm, sizeof nm, "%s.%s", name, v[k].nm);
      check(nm, i, v[k].g[i], (lp - lm) / (2.0 * h));
    }
  free(in); free(w); free(b); free(out); free(r); free(din); free(dw); free(db);
}

/* ---- batch norm ----------------------------------------------------------- */
static void test_bn(void) {
  enum { N = 14, C = 3 };
  float x[N * C], y[N * C], r[N * C], dx[N * C], ga[C], be[C], dga[C] = {0}, dbe[C] = {0};
  float mean[C], rstd[C];
  uint8_t mask[N];
  fill(x, N * C, 2.0f);
  fill(r, N * C, 1.0f);
  for (int c = 0; c < C; c++) ga[c] = 0.5f + 0.3f * c, be[c] = 0.1f * c;
  for (int i = 0; i < N; i++) mask[i] = (uint8_t)(i % 4 != 1);
  nn_bn_forward(N, C, x, mask, ga, be, 1e-5f, y, mean, rstd);
  nn_bn_backward(N, C, x, mask, ga, mean, rstd, r, dx, dga, dbe);
  const float h = 1e-2f;
  struct { float *p; size_t n; const float *g; const char *nm; } v[3] = {
      {x, N * C, dx, "bn.dx"}, {ga, C, dga, "bn.dgamma"}, {be, C, dbe, "bn.dbeta"}};
  for (int k = 0; k < 3; k++)
    for (size_t i = 0; i < v[k].n; i++) {
      float s = v[k].p[i];
      v[k].p[i] = s + h;
      nn_bn_forward(N, C, x, mask, ga, be, 1e-5f, y, mean, rstd);
      double lp = dotd(y, r, N * C);
      v[k].p[i] = s - h;
      nn_bn_forward(N, C, x, mask, ga, be, 1e-5f, y, mean, rstd);
      double lm = dotd(y, r, N * C);
      v[k].p[i] = s;
      check(v[k].nm, i, v[k].g[i], (lp - lm) / (2.0 * h));
    }
}

/* ---- relu and mse ----------------------------------------------------------- */
static void test_relu_mse(void) {
  enum { N = 6, C = 4 };
  float x[N * C], y[N * C], r[N * C], dx[N * C];
  fill(x, N * C, 1.0f);
  for (int i = 0; i < N * C; i++)
    if (fabsf(x[i]) < 0.05f) x[i] = 0.3f; /* stay away from the kink */
  fill(r, N * C, 1.0f);
  nn_relu_forward(N, C, x, NULL, y);
  nn_relu_backward(N, C, y, r, dx);
  const float h = 1e-3f;
  for (int i = 0; i < N * C; i++) {
    float s = x[i];
    x[i] = s + h;
    nn_relu_forward(N, C, x, NULL, y);
    double lp = dotd(y, r, N * C);
    x[i] = s - h;
    nn_relu_forward(N, C, x, NULL, y);
    double lm = dotd(y, r, N * C);
    x[i] = s;
    check("relu.dx", (size_t)i, dx[i], (lp - lm) / (2.0 * h));
  }
  enum { M = 9 };
  float p[M], t[M], wg[M], dp[M];
  fill(p, M, 1.0f);
  fill(t, M, 1.0f);
  for (int i = 0; i < M; i++) wg[i] = (float)(i % 3);
  nn_mse_forward_backward(M, p, t, wg, dp);
  for (int i = 0; i < M; i++) {
    float s = p[i];
    p[i] = s + h;
    double lp = nn_mse_forward_backward(M, p, t, wg, NULL);
    p[i] = s - h;
    double lm = nn_mse_forward_backward(M, p, t, wg, NULL);
    p[i] = s;
    check("mse.dy", (size_t)i, dp[i], (lp - lm) / (2.0 * h));
  }
}

/* ---- whole models ----------------------------------------------------------- */
enum { B = 6, C = 9 };
static float U[B * 25], T[B];
static uint8_t HM[B * 9];

/* paper 2-D: u[B][5][5] -> conv 3x3 1->9 -> BN (mask) -> ReLU -> conv 3x3 9->1 -> MSE */
static double paper_loss(nn_model *m, int backward) {
  nn_conv_shape c1 = {{1, 5, 5}, {1, 3, 3}, 1, C}, c2 = {{1, 3, 3}, {1, 3, 3}, C, 1};
  float h[B * 9 * C], hn[B * 9 * C], a[B * 9 * C], da[B * 9 * C], y[B], dy[B], mean[C], rstd[C];
  nn_conv_forward(&c1, B, U, nn_param(m, 0), nn_param(m, 1), h);
  nn_bn_forward(B * 9, C, h, HM, nn_param(m, 2), nn_param(m, 3), 1e-5f, hn, mean, rstd);
  nn_relu_forward(B * 9, C, hn, HM, a);
  nn_conv_forward(&c2, B, a, nn_param(m, 4), nn_param(m, 5), y);
  double loss = nn_mse_forward_backward(B, y, T, NULL, dy);
  if (backward) {
    nn_zero_grad(m);
    nn_conv_backward(&c2, B, a, nn_param(m, 4), dy, da, nn_grad(m, 4), nn_grad(m, 5));
    nn_relu_backward(B * 9, C, a, da, da);
    nn_bn_backward(B * 9, C, h, HM, nn_param(m, 2), mean, rstd, da, da, nn_grad(m, 2),
                   nn_grad(m, 3));
    nn_conv_backward(&c1, B, U, nn_param(m, 0), da, NULL, nn_grad(m, 0), nn_grad(m, 1));
  }
  return loss;
}

/* default: x[B][27] (a 3x3x3 patch) -> conv 3x3x3 1->8 -> ReLU -> 1x1 conv 8->1,
 * plus linear 3x3x3 conv 1->1, -> MSE */
enum { K = 27, CD = 8 };
static float X[B * K];
static double default_loss(nn_model *m, int backward) {
  nn_conv_shape c1 = {{3, 3, 3}, {3, 3, 3}, 1, CD}, c2 = {{1, 1, 1}, {1, 1, 1}, CD, 1};
  nn_conv_shape cl = {{3, 3, 3}, {3, 3, 3}, 1, 1};
  float h[B * CD], a[B * CD], da[B * CD], y[B], yl[B], dy[B];
  nn_conv_forward(&c1, B, X, nn_param(m, 0), nn_param(m, 1), h);
  nn_relu_forward(B, CD, h, NULL, a);
  nn_conv_forward(&c2, B, a, nn_param(m, 2), nn_param(m, 3), y);
  nn_conv_forward(&cl, B, X, nn_param(m, 4), nn_param(m, 5), yl);
  for (int b = 0; b < B; b++) y[b] += yl[b];
  double loss = nn_mse_forward_backward(B, y, T, NULL, dy);
  if (backward) {
    nn_zero_grad(m);
    nn_conv_backward(&cl, B, X, nn_param(m, 4), dy, NULL, nn_grad(m, 4), nn_grad(m, 5));
    nn_conv_backward(&c2, B, a, nn_param(m, 2), dy, da, nn_grad(m, 2), nn_grad(m, 3));
    nn_relu_backward(B, CD, a, da, da);
    nn_conv_backward(&c1, B, X, nn_param(m, 0), da, NULL, nn_grad(m, 0), nn_grad(m, 1));
  }
  return loss;
}

static void test_model(const char *name, nn_model *m, double (*lossf)(nn_model *, int)) {
  lossf(m, 1);
  float *g = malloc(m->total * sizeof(float));
  memcpy(g, m->grads, m->total * sizeof(float));
  const float h = 2e-3f;
  for (size_t i = 0; i < m->total; i++) {
    float s = m->params[i];
    m->params[i] = s + h;
    double lp = lossf(m, 0);
    m->params[i] = s - h;
    double lm = lossf(m, 0);
    m->params[i] = s;
    check(name, i, g[i], (lp - lm) / (2.0 * h));
  }
  free(g);
}

int main(void) {
  test_conv("conv2d", (nn_conv_shape){{1, 5, 5}, {1, 3, 3}, 2, 3}, 2);
  test_conv("conv3d", (nn_conv_shape){{4, 4, 3}, {3, 3, 3}, 2, 2}, 2);
  test_conv("conv1x1", (nn_conv_shape){{1, 2, 2}, {1, 1, 1}, 5, 3}, 3);
  test_bn();
  test_relu_mse();

  nn_model m;
  size_t ps[6] = {9 * C, C, C, C, 9 * C, 1};
  if (nn_model_init(&m, 6, ps) != 0) return 1;
  fill(U, B * 25, 1.0f);
  fill(T, B, 1.0f);
  for (int i = 0; i < B * 9; i++) HM[i] = (uint8_t)(i % 7 != 3);
  fill(nn_param(&m, 0), 9 * C, 0.5f);
  fill(nn_param(&m, 1), C, 0.5f);
  for (int c = 0; c < C; c++) nn_param(&m, 2)[c] = 1.0f + urand(0.3f);
  fill(nn_param(&m, 3), C, 0.3f);
  fill(nn_param(&m, 4), 9 * C, 0.5f);
  /* redraw the inputs until no batch-normed value sits near the ReLU kink,
   * where a finite difference would straddle it */
  for (int tries = 0; tries < 1000; tries++) {
    nn_conv_shape c1 = {{1, 5, 5}, {1, 3, 3}, 1, C};
    float h[B * 9 * C], hn[B * 9 * C], mean[C], rstd[C];
    nn_conv_forward(&c1, B, U, nn_param(&m, 0), nn_param(&m, 1), h);
    nn_bn_forward(B * 9, C, h, HM, nn_param(&m, 2), nn_param(&m, 3), 1e-5f, hn, mean, rstd);
    float mn = 1e30f;
    for (int i = 0; i < B * 9 * C; i++)
      if (HM[i / C] && fabsf(hn[i]) < mn) mn = fabsf(hn[i]);
    if (mn > 0.03f) break;
    fill(U, B * 25, 1.0f);
  }
  test_model("paper2d", &m, paper_loss);
  nn_model_free(&m);

  size_t pd[6] = {K * CD, CD, CD, 1, K, 1};
  if (nn_model_init(&m, 6, pd) != 0) return 1;
  fill(m.params, m.total, 0.4f);
  for (int tries = 0; tries < 1000; tries++) {
    fill(X, B * K, 1.0f);
    nn_conv_shape c1 = {{3, 3, 3}, {3, 3, 3}, 1, CD};
    float h[B * CD], mn = 1e30f;
    nn_conv_forward(&c1, B, X, nn_param(&m, 0), nn_param(&m, 1), h);
    for (int i = 0; i < B * CD; i++)
      if (fabsf(h[i]) < mn) mn = fabsf(h[i]);
    if (mn > 0.03f) break;
  }
  test_model("default", &m, default_loss);
  nn_model_free(&m);

  /* Adam moves a parameter against its gradient */
  size_t one = 1;
  nn_model a;
  if (nn_model_init(&a, 1, &one) != 0) return 1;
  a.params[0] = 1.0f;
  a.grads[0] = 2.0f;
  nn_adam(&a, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f);
  g_checks++;
  if (!(fabsf(a.params[0] - 0.9f) < 1e-5f)) {
    g_fail++;
    printf("FAIL adam: %g\n", a.params[0]);
  }
  nn_model_free(&a);

  printf("test_nn_grad: %d checks, %d failures\n", g_checks, g_fail);
  return g_fail ? 1 : 0;
}
