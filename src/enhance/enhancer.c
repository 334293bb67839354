/* enhancer.c - the enhancer's entry points (enhancer.h): payload version 2
 * (the default linear enhancer, v2.h: kernel.c, payload.c, stages.c) or
 * version 1 (the CNN kinds, v1.c), chosen by the payload's version byte when
 * decoding; the rate-distortion price of stored bytes. */
#include "enhance/enhancer.h"

#include <math.h>
#include <stdlib.h>

#include "enhance/v1.h"
#include "enhance/v2.h"

double gwlz_enh_rd_slope(size_t n, size_t base_bytes) {
  if (n == 0 || base_bytes == 0) return 7.0;
  return 7.0 + 3.2 * 8.0 * (double)base_bytes / (double)n;
}

int gwlz_enh_pays(double sse_base, double sse_enh, size_t extra, size_t base_bytes, double slope) {
  if (!(sse_enh < sse_base)) return 0;
  if (base_bytes == 0) return 1;
  const double gain = 10.0 * log10(sse_base / (sse_enh > 0 ? sse_enh : sse_base * 1e-30));
  return gain > slope * log2(1.0 + (double)extra / (double)base_bytes);
}

/* Version 2 is written for the linear kind with the default architecture
 * (and AUTO); the CNN kinds and the explicit version 1 linear architectures
 * keep the version 1 payload. */
static int enh_use_v2(const gwlz_enh_params *p) {
  return (p->kind == GWLZ_ENH_AUTO || p->kind == GWLZ_ENH_LINEAR) && p->arch == GWLZ_ARCH_DEFAULT;
}

/* stats->out_* of y against x. */
static void enh_out_stats(const gwlz_enh_params *p, const void *x, const void *y,
                          gwlz_enh_stats *st) {
  st->out_sse = st->out_maxerr = 0.0;
  st->out_count = 0;
  gwlz_err_add(p->type, x, y, p->mask, p->n, p->err_scale, &st->out_sse, &st->out_maxerr,
               &st->out_count);
}

gwlz_error gwlz_enh_compress(const gwlz_enh_params *p, const void *x, const void *xr, void *y,
                             gwlz_wbuf *models, gwlz_wbuf *exceptions, gwlz_enh_stats *stats) {
  if (p && !y && !(p->err_scale > 0)) return GWLZ_ERR_PARAM;
  if (p && !y && !enh_use_v2(p)) { /* version 1 writes the whole output */
    void *own = malloc(p->n ? p->n * gwlz_type_size(p->type) : 1);
    if (!own) return GWLZ_ERR_MEMORY;
    gwlz_error e0 = gwlz_enh_compress(p, x, xr, own, models, exceptions, stats);
    if (e0 == GWLZ_OK && stats) enh_out_stats(p, x, own, stats);
    free(own);
    return e0;
  }
  if (!p || !enh_use_v2(p)) {
    gwlz_enh_stats st1;
    memset(&st1, 0, sizeof(st1));
    gwlz_error e1;
    if (!x || !xr || !y || !models || !exceptions) return GWLZ_ERR_PARAM;
    if ((e1 = gwlz_enh_check_params(p)) != GWLZ_OK) return e1;
    if (p->groups < 1 || p->groups > GWLZ_MAX_GROUPS) return GWLZ_ERR_PARAM;
    if (p->policy != GWLZ_BOUND_STRICT && p->policy != GWLZ_BOUND_RELAXED) return GWLZ_ERR_PARAM;
    const size_t m0 = models->size, x0 = exceptions->size;
    memcpy(y, xr, p->n * gwlz_type_size(p->type));
    e1 = gwlz_e1_compress(p, x, xr, y, models, exceptions, &st1);
    if (e1 == GWLZ_OK && (models->err != GWLZ_OK || exceptions->err != GWLZ_OK))
      e1 = models->err != GWLZ_OK ? models->err : exceptions->err;
    if (e1 != GWLZ_OK) {
      memcpy(y, xr, p->n * gwlz_type_size(p->type));
      models->size = m0;
      exceptions->size = x0;
      memset(&st1, 0, sizeof(st1));
    }
    st1.model_bytes = models->size - m0;
    st1.exception_bytes = exceptions->size - x0;
    if (stats) *stats = st1;
    return e1;
  }
  gwlz_enh_stats st;
  memset(&st, 0, sizeof(st));
  st.kind = GWLZ_ENH_NONE;
  gwlz_error e;
  if (!x || !xr || !models || !exceptions) return GWLZ_ERR_PARAM;
  if ((e = gwlz_enh_check_params(p)) != GWLZ_OK) return e;
  if (p->groups < 1 || p->groups > GWLZ_MAX_GROUPS) return GWLZ_ERR_PARAM;
  if (p->policy != GWLZ_BOUND_STRICT && p->policy != GWLZ_BOUND_RELAXED) return GWLZ_ERR_PARAM;
  const size_t msize0 = models->size, esize0 = exceptions->size;
  if (y) memcpy(y, xr, p->n * gwlz_type_size(p->type));
  e = gwlz_e2_compress(p, x, xr, y, models, exceptions, &st);
  if (e == GWLZ_OK && (models->err != GWLZ_OK || exceptions->err != GWLZ_OK))
    e = models->err != GWLZ_OK ? models->err : exceptions->err;
  if (e != GWLZ_OK) {
    if (y) memcpy(y, xr, p->n * gwlz_type_size(p->type));
    models->size = msize0;
    exceptions->size = esize0;
    memset(&st, 0, sizeof(st));
  }
  st.model_bytes = models->size - msize0;
  st.exception_bytes = exceptions->size - esize0;
  if (stats) *stats = st;
  return e;
}

static gwlz_error enh2_decompress(const gwlz_enh_params *p, const uint8_t *models, size_t models_size,
                                  const uint8_t *exc, size_t exc_size, void *data) {
  e2_geom g;
  gwlz_error e = gwlz_e2_geom(p, &g);
  if (e != GWLZ_OK) return e;
  e2_model *M = (e2_model *)malloc(sizeof(e2_model));
  size_t *pos = NULL, npos = 0;
  if (!M) return GWLZ_ERR_MEMORY;
  e = gwlz_e2_parse_models(models, models_size, &g, M);
  if (e == GWLZ_OK && p->policy == GWLZ_BOUND_RELAXED && exc_size) e = GWLZ_ERR_CORRUPT;
  if (e == GWLZ_OK && exc_size) e = gwlz_e2_parse_exceptions(exc, exc_size, p->n, &pos, &npos);
  if (e == GWLZ_OK) e = gwlz_e2_decode_apply(M, &g, data, p->aux, p->mask, pos, npos, p->threads);
  free(pos);
  free(M);
  return e;
}

gwlz_error gwlz_enh_decompress(const gwlz_enh_params *p, const uint8_t *models, size_t models_size,
                               const uint8_t *exc, size_t exc_size, void *data) {
  gwlz_error e;
  if (!data) return GWLZ_ERR_PARAM;
  if ((e = gwlz_enh_check_params(p)) != GWLZ_OK) return e;
  if (models_size == 0) return exc_size ? GWLZ_ERR_CORRUPT : GWLZ_OK;
  if (models[0] == 2) return enh2_decompress(p, models, models_size, exc, exc_size, data);
  return gwlz_e1_decompress(p, models, models_size, exc, exc_size, data);
}

gwlz_error gwlz_enh_peek(const uint8_t *models, size_t models_size, gwlz_enhancer *kind,
                         int *groups_kept) {
  if (models_size > 0 && models[0] == 2) {
    /* header, then the bit-packed kept flags: count them with a parse */
    e2_geom g;
    memset(&g, 0, sizeof(g));
    g.k = 3;
    e2_model *M = (e2_model *)calloc(1, sizeof(e2_model));
    if (!M) return GWLZ_ERR_MEMORY;
    gwlz_error e = gwlz_e2_parse_models(models, models_size, &g, M);
    int K = 0;
    for (int grp = 0; e == GWLZ_OK && grp < M->ngroups; grp++) K += M->kept[grp];
    free(M);
    if (e != GWLZ_OK) return e;
    if (kind) *kind = GWLZ_ENH_LINEAR;
    if (groups_kept) *groups_kept = K;
    return GWLZ_OK;
  }
  return gwlz_e1_peek(models, models_size, kind, groups_kept);
}

/* Everything gwlz_enh_decompress checks that does not need X' (the decoder
 * calls this before the BASE section is decoded): the model payload against
 * the geometry and the exception list (positions below n, ascending). */
gwlz_error gwlz_enh_validate(const gwlz_enh_params *p, const uint8_t *models, size_t models_size,
                             const uint8_t *exc, size_t exc_size) {
  gwlz_error e;
  if ((e = gwlz_enh_check_params(p)) != GWLZ_OK) return e;
  if (models_size == 0) return exc_size ? GWLZ_ERR_CORRUPT : GWLZ_OK;
  if (models[0] != 2) return gwlz_e1_validate(p, models, models_size, exc, exc_size);
  if (p->policy == GWLZ_BOUND_RELAXED && exc_size) return GWLZ_ERR_CORRUPT;
  e2_geom g;
  if ((e = gwlz_e2_geom(p, &g)) != GWLZ_OK) return e;
  e2_model *M = (e2_model *)malloc(sizeof(e2_model));
  if (!M) return GWLZ_ERR_MEMORY;
  e = gwlz_e2_parse_models(models, models_size, &g, M);
  free(M);
  if (e != GWLZ_OK || exc_size == 0) return e;
  size_t *pos = NULL, npos = 0;
  e = gwlz_e2_parse_exceptions(exc, exc_size, p->n, &pos, &npos);
  free(pos);
  return e;
}
