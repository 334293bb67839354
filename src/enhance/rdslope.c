/* rdslope.c - the base's rate-distortion slope at its operating point, the
 * price of the enhancer's bytes (see enhancer.h).
 *
 * The slope that matters is that of the base's own curve from its point at
 * the requested bound towards more bits: an enhancer that adds bytes is
 * compared there. It is the largest of the fitted model (gwlz_enh_rd_slope)
 * and the measured slopes from the bound eb to eb/2 and to eb/5: the base is
 * run again at those bounds on fields of up to 2^17 values (where its curve
 * can be irregular and a run is cheap); larger fields use the model (a run
 * would cost as much as the base). A measured curve that does not rise (fewer
 * or equal bytes, or no lower error, at the tighter bound) counts as
 * erratic: only enhancements that pay off at a slope of 1000 dB per doubling
 * are kept there. */
#include <math.h>
#include <stdlib.h>

#include "base/base.h"
#include "enhance/enhancer.h"

#define SLOPE_WHOLE_MAX ((size_t)1 << 17)
#define SLOPE_ERRATIC 1000.0

static const double slope_div[2] = {2.0, 5.0};

static double slope_sse(gwlz_type t, const void *x, const void *y, const uint8_t *mask, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (mask && mask[i]) continue;
    const double d = t == GWLZ_TYPE_DOUBLE ? ((const double *)x)[i] - ((const double *)y)[i]
                                           : (double)((const float *)x)[i] - (double)((const float *)y)[i];
    s += d * d;
  }
  return s;
}

/* dB per doubling between (b1, s1) and the tighter point (b2, s2) */
static double slope_of(double b1, double s1, double b2, double s2) {
  if (!(b2 > b1) || !(s2 < s1) || !(s2 > 0) || !(b1 > 0)) return SLOPE_ERRATIC;
  const double v = 10.0 * log10(s1 / s2) / log2(b2 / b1);
  return isfinite(v) && v > 0 ? v : SLOPE_ERRATIC;
}

/* Compress data (p's geometry) at p->abs_eb / div: payload bytes, SSE. */
static gwlz_error slope_run(const gwlz_base_params *p, gwlz_base which, double div, const void *data,
                            const uint8_t *mask, void *rec, double *bytes, double *sse) {
  gwlz_base_params q = *p;
  gwlz_wbuf w;
  gwlz_base_info info;
  q.abs_eb = p->abs_eb / div;
  gwlz_wbuf_init(&w);
  gwlz_error e = gwlz_base_compress(&q, which, data, rec, NULL, &w, &info);
  if (e == GWLZ_OK) e = w.err;
  *bytes = (double)w.size;
  *sse = 0.0;
  gwlz_wbuf_free(&w);
  if (e == GWLZ_OK) *sse = slope_sse(p->type, data, rec, mask, p->n);
  return e;
}

double gwlz_enh_measure_slope(const gwlz_base_params *p, gwlz_base which, const void *x,
                              const uint8_t *mask, size_t base_payload, size_t stream_bytes,
                              double sse) {
  double S = gwlz_enh_rd_slope(p->n, stream_bytes);
  double b[3], s[3];
  gwlz_error e = GWLZ_OK;
  if (p->n <= SLOPE_WHOLE_MAX) {
    void *rec = malloc(p->n * gwlz_type_size(p->type));
    if (!rec) return S;
    b[0] = (double)stream_bytes;
    s[0] = sse;
    for (int f = 1; f < 3 && e == GWLZ_OK; f++) {
      e = slope_run(p, which, slope_div[f - 1], x, mask, rec, &b[f], &s[f]);
      b[f] += (double)stream_bytes - (double)base_payload; /* whole stream */
    }
    free(rec);
  } else {
    return S; /* larger fields: the fitted model (measuring costs a base run) */
  }
  if (e != GWLZ_OK) return S;
  for (int f = 1; f < 3; f++) {
    const double m = slope_of(b[0], s[0], b[f], s[f]);
    if (m > S) S = m;
  }
  return S;
}
