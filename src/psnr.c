/*
 * psnr.c - the absolute bound for a PSNR target (psnr.h).
 *
 * Model: in log(bound) the PSNR of a base reconstruction falls about 20 dB
 * per decade (the error scales with the bound) but its offset depends on the
 * field: much of the error lies well below the bound, so the bound a uniform
 * error would need (range * sqrt(3) * 10^(-X/20)) is usually too tight and
 * sometimes too loose. The search therefore measures, in two phases:
 *
 * 1. Base only (cheap runs: no training). Start at the uniform-error bound
 *    and solve PSNR_base(log e) = X + TOL_BASE/2 on the measured points
 *    (piecewise-linear interpolation, extrapolation along the end segment's
 *    slope, clamped), safeguarded by the bracket [largest bound that reached
 *    X, smallest larger bound that did not]. Stop once a run lands in
 *    [X, X + TOL_BASE], or the bracket is narrower than 0.2 %, or after
 *    MAX_BASE_RUNS. This phase does not depend on the enhancer settings, so
 *    a run with the enhancer can only end with a stream that is not larger
 *    than the one a base-only run (-G 0) gets.
 * 2. With the enhancer (expensive runs: training). The enhanced PSNR is
 *    modelled as PSNR_base(log e) + g, the gain g measured by the previous
 *    enhanced runs (interpolated between them; GAIN_GUESS before the first).
 *    Solve for X + TOL_ENH/2, bracket as above, and stop when a run lands
 *    in [X, X + TOL_ENH], when the enhancer gives no gain, when the bound
 *    would not exceed the base-only answer's, when the predicted size (the
 *    base-only size interpolated in log-log, plus the enhancer sections of
 *    the last enhanced run) cannot beat the best stream so far, or after
 *    MAX_ENH_RUNS.
 *
 * Every run that reaches X is a candidate; the smallest one is kept. If no
 * base-only run reaches X (only possible when the search runs out of runs),
 * the bound range * 10^(-X/20) is used: every error is then <= the bound,
 * so MSE <= bound^2 and the PSNR is >= X by construction.
 *
 * Cost: typically 3-5 base-only runs (each the base compressor plus a pass
 * over the data) and 1-3 enhanced runs (each a whole compression).
 */
#include "psnr.h"

#include <math.h>

#define LN10 2.302585092994046
/* dB of PSNR per unit of ln(bound) when the error scales with the bound. */
#define DB_PER_LN (20.0 / LN10)
#define TOL_BASE 0.05     /* dB above the target that ends the base phase    */
#define TOL_ENH 0.10      /* dB above the target that ends the enhanced phase */
#define GAIN_GUESS 1.0    /* dB the enhancer is assumed to add before a run   */
#define MAX_BASE_RUNS 8
#define MAX_ENH_RUNS 3
#define MAX_POINTS (MAX_BASE_RUNS + MAX_ENH_RUNS + 2)
#define MAX_STEP (2 * LN10) /* at most two decades per extrapolated step     */
#define MAX_ENH_STEP 1.3862943611198906 /* ln 4: enhanced runs stay within 4x
                               of the nearest earlier enhanced run (the gain
                               measured there is local)                    */
#define MIN_STEP 1e-3       /* bounds closer than 0.1 % count as the same    */
#define PSNR_CAP 60.0       /* dB above the target: an exact result counts
                               as this much for the interpolation            */

typedef struct {
  double le;      /* ln(bound)                                 */
  double p;       /* base PSNR (capped)                        */
  double lbytes;  /* ln(size of the base-only stream)          */
} point;

typedef struct {
  point pt[MAX_POINTS];
  int n;          /* sorted by le, ascending                   */
} curve;

static double cap_psnr(double p, double target) {
  return p > target + PSNR_CAP ? target + PSNR_CAP : p;
}

static void curve_add(curve *c, double le, double p, size_t bytes) {
  int i = 0;
  while (i < c->n && c->pt[i].le < le) i++;
  if (i < c->n && c->pt[i].le == le) {
    c->pt[i].p = p;
    c->pt[i].lbytes = log((double)(bytes ? bytes : 1));
    return;
  }
  if (c->n == MAX_POINTS) return;
  for (int k = c->n; k > i; k--) c->pt[k] = c->pt[k - 1];
  c->pt[i] = (point){le, p, log((double)(bytes ? bytes : 1))};
  c->n++;
}

/* Slope dP/dle between two points for extrapolation: PSNR falls with the
 * bound, so a flat or rising segment (a base that changes its configuration
 * with the bound) is noise, and the error-scales-with-the-bound slope is
 * used instead; steeper than 4x that is capped. */
static double slope_of(const point *a, const point *b) {
  double s = b->le != a->le ? (b->p - a->p) / (b->le - a->le) : -DB_PER_LN;
  if (!(s <= -0.25 * DB_PER_LN)) s = -DB_PER_LN;
  if (s < -4 * DB_PER_LN) s = -4 * DB_PER_LN;
  return s;
}

/* The largest ln(bound) at which the interpolated base PSNR equals aim. */
static double curve_solve(const curve *c, double aim) {
  const point *pt = c->pt;
  int n = c->n;
  int i = n - 1;
  while (i >= 0 && pt[i].p < aim) i--;
  if (i < 0) { /* every point below aim: go left of the first */
    double s = n >= 2 ? slope_of(&pt[0], &pt[1]) : -DB_PER_LN;
    return pt[0].le + (aim - pt[0].p) / s;
  }
  if (i == n - 1) { /* every point from i on reaches aim: go right of the last */
    double s = n >= 2 ? slope_of(&pt[n - 2], &pt[n - 1]) : -DB_PER_LN;
    return pt[i].le + (aim - pt[i].p) / s;
  }
  /* pt[i].p >= aim > pt[i+1].p */
  double t = (pt[i].p - aim) / (pt[i].p - pt[i + 1].p);
  return pt[i].le + t * (pt[i + 1].le - pt[i].le);
}

/* ln(size) of the base-only stream at le, interpolated (extrapolated along
 * the end segments, never rising with the bound). */
static double curve_lbytes(const curve *c, double le) {
  const point *pt = c->pt;
  int n = c->n, i = 0;
  if (n == 1) return pt[0].lbytes;
  while (i < n - 2 && pt[i + 1].le < le) i++;
  double d = pt[i + 1].le - pt[i].le;
  double s = d > 0 ? (pt[i + 1].lbytes - pt[i].lbytes) / d : 0;
  if (s > 0) s = 0;
  return pt[i].lbytes + s * (le - pt[i].le);
}

/* Keep le strictly inside the bracket (lo reached the target, hi did not)
 * and within MAX_STEP of a one-sided bracket. */
static double safeguard(double le, double lo, double hi) {
  if (isfinite(lo) && isfinite(hi)) {
    double w = hi - lo;
    if (le < lo + 0.1 * w) le = lo + 0.1 * w;
    if (le > hi - 0.1 * w) le = hi - 0.1 * w;
  } else if (isfinite(lo)) {
    if (le < lo + MIN_STEP) le = lo + MIN_STEP;
    if (le > lo + MAX_STEP) le = lo + MAX_STEP;
  } else if (isfinite(hi)) {
    if (le > hi - MIN_STEP) le = hi - MIN_STEP;
    if (le < hi - MAX_STEP) le = hi - MAX_STEP;
  }
  return le;
}

/* A list of tried bounds with their outcome against the target. */
typedef struct {
  double le[MAX_POINTS];
  int ok[MAX_POINTS];
  double gain[MAX_POINTS];
  int n;
} tries;

static void tries_add(tries *t, double le, int ok, double gain) {
  if (t->n == MAX_POINTS) return;
  t->le[t->n] = le;
  t->ok[t->n] = ok;
  t->gain[t->n] = gain;
  t->n++;
}

static int tries_has(const tries *t, double le) {
  for (int i = 0; i < t->n; i++)
    if (fabs(t->le[i] - le) < MIN_STEP) return 1;
  return 0;
}

/* lo: largest bound that reached the target; hi: smallest larger one that
 * did not (+/-INFINITY when none). */
static void tries_bracket(const tries *t, double *lo, double *hi) {
  *lo = -INFINITY;
  *hi = INFINITY;
  for (int i = 0; i < t->n; i++)
    if (t->ok[i] && t->le[i] > *lo) *lo = t->le[i];
  for (int i = 0; i < t->n; i++)
    if (!t->ok[i] && t->le[i] > *lo && t->le[i] < *hi) *hi = t->le[i];
}

/* le moved to within MAX_ENH_STEP of the nearest tried bound (if any). */
static double near_tried(const tries *t, double le) {
  int k = -1;
  for (int i = 0; i < t->n; i++)
    if (k < 0 || fabs(t->le[i] - le) < fabs(t->le[k] - le)) k = i;
  if (k < 0) return le;
  if (le > t->le[k] + MAX_ENH_STEP) return t->le[k] + MAX_ENH_STEP;
  if (le < t->le[k] - MAX_ENH_STEP) return t->le[k] - MAX_ENH_STEP;
  return le;
}

/* Enhancer gain at le: from the nearest enhanced runs (linear between the
 * two that surround le, else the nearest one). */
static double gain_at(const tries *t, double le) {
  int below = -1, above = -1;
  for (int i = 0; i < t->n; i++) {
    if (t->le[i] <= le && (below < 0 || t->le[i] > t->le[below])) below = i;
    if (t->le[i] >= le && (above < 0 || t->le[i] < t->le[above])) above = i;
  }
  if (below < 0 && above < 0) return GAIN_GUESS;
  if (below < 0) return t->gain[above];
  if (above < 0 || above == below) return t->gain[below];
  double w = (le - t->le[below]) / (t->le[above] - t->le[below]);
  return t->gain[below] + w * (t->gain[above] - t->gain[below]);
}

typedef struct {
  const gwlz_psnr_ops *ops;
  gwlz_psnr_result *res;
  double target;
  int have;       /* a candidate has been kept */
} search;

/* Keep the run if it reaches the target with the smallest stream so far. */
static gwlz_error consider(search *s, double le, const gwlz_psnr_trial *t, int enhanced) {
  if (!(t->psnr_out >= s->target)) return GWLZ_OK;
  if (s->have && t->bytes >= s->res->bytes) return GWLZ_OK;
  gwlz_error e = s->ops->keep(s->ops->user);
  if (e != GWLZ_OK) return e;
  s->have = 1;
  s->res->eb = exp(le);
  s->res->psnr = t->psnr_out;
  s->res->bytes = t->bytes;
  s->res->enhanced = enhanced;
  return GWLZ_OK;
}

static gwlz_error run(search *s, double le, int enhance, gwlz_psnr_trial *t) {
  if (enhance) s->res->enh_runs++;
  else s->res->base_runs++;
  return s->ops->run(s->ops->user, exp(le), enhance, t);
}

/* Phase 1: base-only runs. *le_best: ln(bound) of the kept base stream. */
static gwlz_error base_phase(search *s, double range, curve *c, double *le_best) {
  const double X = s->target;
  tries tr = {.n = 0};
  double le = log(range) + 0.5 * log(3.0) - X / DB_PER_LN;
  gwlz_psnr_trial t;
  gwlz_error e;
  for (int k = 0; k < MAX_BASE_RUNS; k++) {
    if ((e = run(s, le, 0, &t)) != GWLZ_OK) return e;
    curve_add(c, le, cap_psnr(t.psnr_base, X), t.base_bytes);
    tries_add(&tr, le, t.psnr_out >= X, 0);
    if ((e = consider(s, le, &t, 0)) != GWLZ_OK) return e;
    double lo, hi;
    tries_bracket(&tr, &lo, &hi);
    if (t.psnr_out >= X && t.psnr_out - X <= TOL_BASE) break;
    if (isfinite(lo) && isfinite(hi) && hi - lo < 2 * MIN_STEP) break;
    double next = safeguard(curve_solve(c, X + 0.5 * TOL_BASE), lo, hi);
    if (tries_has(&tr, next)) break;
    le = next;
  }
  if (!s->have) {
    /* Every error <= bound gives MSE <= bound^2: PSNR >= X. */
    le = log(range) - X / DB_PER_LN + log1p(-1e-9);
    if ((e = run(s, le, 0, &t)) != GWLZ_OK) return e;
    curve_add(c, le, cap_psnr(t.psnr_base, X), t.base_bytes);
    if ((e = consider(s, le, &t, 0)) != GWLZ_OK) return e;
    if (!s->have) return GWLZ_ERR_BOUND;
  }
  *le_best = log(s->res->eb);
  return GWLZ_OK;
}

/* Solve PSNR_base(le) + gain(le) = aim by a few fixed-point steps. */
static double enh_solve(const curve *c, const tries *tr, double aim) {
  double le = curve_solve(c, aim - gain_at(tr, INFINITY));
  for (int it = 0; it < 4; it++) le = curve_solve(c, aim - gain_at(tr, le));
  return le;
}

/* Phase 2: runs with the enhancer. */
static gwlz_error enh_phase(search *s, curve *c, double le_base) {
  const double X = s->target;
  tries tr = {.n = 0};
  double overhead = -1; /* bytes of the enhancer sections in the last run */
  gwlz_psnr_trial t;
  gwlz_error e;
  for (int k = 0; k < MAX_ENH_RUNS; k++) {
    double lo, hi;
    tries_bracket(&tr, &lo, &hi);
    if (isfinite(lo) && isfinite(hi) && hi - lo < 2 * MIN_STEP) break;
    double le = safeguard(enh_solve(c, &tr, X + 0.5 * TOL_ENH), lo, hi);
    le = near_tried(&tr, le);
    if (le <= le_base + MIN_STEP || tries_has(&tr, le)) break;
    if (overhead >= 0 && exp(curve_lbytes(c, le)) + overhead >= (double)s->res->bytes) break;
    if ((e = run(s, le, 1, &t)) != GWLZ_OK) return e;
    curve_add(c, le, cap_psnr(t.psnr_base, X), t.base_bytes);
    double gain = cap_psnr(t.psnr_out, X) - cap_psnr(t.psnr_base, X);
    tries_add(&tr, le, t.psnr_out >= X, gain);
    if ((e = consider(s, le, &t, 1)) != GWLZ_OK) return e;
    if (!(gain > 0) || t.bytes <= t.base_bytes) break; /* the enhancer was dropped */
    overhead = (double)(t.bytes - t.base_bytes);
    if (t.psnr_out >= X && t.psnr_out - X <= TOL_ENH) break;
  }
  return GWLZ_OK;
}

gwlz_error gwlz_psnr_search(double target, double range, int try_enhancer,
                            const gwlz_psnr_ops *ops, gwlz_psnr_result *res) {
  if (!ops || !ops->run || !ops->keep || !res) return GWLZ_ERR_PARAM;
  if (!(range > 0) || !isfinite(range) || !(target > 0) || !isfinite(target))
    return GWLZ_ERR_PARAM;
  memset(res, 0, sizeof(*res));
  search s = {ops, res, target, 0};
  curve c = {.n = 0};
  double le_base;
  gwlz_error e = base_phase(&s, range, &c, &le_base);
  if (e == GWLZ_OK && try_enhancer) e = enh_phase(&s, &c, le_base);
  return e;
}
