/*
 * api.c - the public interface: contexts, parameters, and the compression and
 * decompression pipelines that tie the stages together:
 *
 *   compress:   scan specials -> bound -> [working copy] -> base -> enhancer
 *               -> container (header, SPEC, BASE, ENHM, EXCP, END)
 *   decompress: container -> base -> enhancer -> put specials back
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/base.h"
#include "format/container.h"
#include "enhance/enhancer.h"
#include "gwlz.h"
#include "format/special.h"
#include "psnr.h"
#include "stream.h"

#define GWLZ_STR2(x) #x
#define GWLZ_STR(x) GWLZ_STR2(x)

/* Default seed of the enhancer's training (any fixed value). */
#define GWLZ_DEFAULT_SEED 0x67776c7aULL

struct gwlz_ctx {
  gwlz_type type;
  int ndims; /* 0 = not set */
  size_t dims[GWLZ_MAX_DIMS];
  gwlz_eb_mode eb_mode;
  double eb_abs, eb_rel, eb_psnr;
  int has_fill;
  double fill_value;
  int threads;
  gwlz_base base;
  gwlz_speed speed;
  int groups;
  gwlz_enhancer enhancer;
  gwlz_arch arch;
  int epochs;
  double train_seconds;
  gwlz_bound_policy policy;
  uint64_t seed;
  gwlz_progress_fn progress;
  void *progress_user;
  int skip_enhancer; /* decompression: return the base reconstruction */
  int have_stats;
  gwlz_stats stats;
  size_t chunk_size; /* 0 = GWLZ_DEFAULT_CHUNK_SIZE */
};

const char *gwlz_version_string(void) {
  return GWLZ_STR(GWLZ_VERSION_MAJOR) "." GWLZ_STR(GWLZ_VERSION_MINOR) "." GWLZ_STR(
      GWLZ_VERSION_PATCH);
}

unsigned gwlz_format_version(void) { return GWLZ_FORMAT_VERSION; }

const char *gwlz_error_string(gwlz_error err) {
  switch (err) {
    case GWLZ_OK: return "no error";
    case GWLZ_ERR_GENERIC: return "unspecified error";
    case GWLZ_ERR_MEMORY: return "out of memory";
    case GWLZ_ERR_PARAM: return "invalid or missing parameter";
    case GWLZ_ERR_DST_TOO_SMALL: return "destination buffer too small";
    case GWLZ_ERR_TRUNCATED: return "stream truncated";
    case GWLZ_ERR_CORRUPT: return "stream corrupt";
    case GWLZ_ERR_BAD_MAGIC: return "not a gwlz stream (bad magic)";
    case GWLZ_ERR_VERSION: return "stream format version not supported";
    case GWLZ_ERR_CHECKSUM: return "checksum mismatch: stream damaged";
    case GWLZ_ERR_UNSUPPORTED: return "stream uses an unsupported feature";
    case GWLZ_ERR_BOUND: return "internal check failed: error bound would not hold";
    case GWLZ_ERR_LOSSLESS: return "lossless stage (zstd) failed";
    case GWLZ_ERR_TOO_LARGE: return "size too large";
    case GWLZ_ERR_INTERNAL: return "internal error";
    case GWLZ_ERR_IO: return "read or write callback failed";
  }
  return "unknown error code";
}

void gwlz_reset(gwlz_ctx *ctx) {
  if (!ctx) return;
  memset(ctx, 0, sizeof(*ctx));
  ctx->type = GWLZ_TYPE_FLOAT;
  ctx->eb_mode = GWLZ_EB_REL;
  ctx->eb_rel = 1e-3;
  ctx->threads = 1;
  ctx->groups = GWLZ_DEFAULT_GROUPS;
  ctx->enhancer = GWLZ_ENH_AUTO;
  ctx->arch = GWLZ_ARCH_DEFAULT;
  ctx->policy = GWLZ_BOUND_STRICT;
  ctx->seed = GWLZ_DEFAULT_SEED;
}

gwlz_ctx *gwlz_create(void) {
  gwlz_ctx *ctx = (gwlz_ctx *)malloc(sizeof(gwlz_ctx));
  if (ctx) gwlz_reset(ctx);
  return ctx;
}

void gwlz_free(gwlz_ctx *ctx) { free(ctx); }

/* ---- parameters --------------------------------------------------------- */

gwlz_error gwlz_set_type(gwlz_ctx *ctx, gwlz_type type) {
  if (!ctx || (type != GWLZ_TYPE_FLOAT && type != GWLZ_TYPE_DOUBLE)) return GWLZ_ERR_PARAM;
  ctx->type = type;
  return GWLZ_OK;
}

gwlz_error gwlz_set_dims(gwlz_ctx *ctx, int ndims, const size_t *dims) {
  if (!ctx || ndims < 1 || ndims > GWLZ_MAX_DIMS || !dims) return GWLZ_ERR_PARAM;
  size_t n = 1;
  for (int i = 0; i < ndims; i++) {
    if (dims[i] == 0) return GWLZ_ERR_PARAM;
    if (!gwlz_mul_size(n, dims[i], &n)) return GWLZ_ERR_TOO_LARGE;
  }
  size_t bytes;
  if (!gwlz_mul_size(n, 8, &bytes)) return GWLZ_ERR_TOO_LARGE;
  ctx->ndims = ndims;
  for (int i = 0; i < GWLZ_MAX_DIMS; i++) ctx->dims[i] = i < ndims ? dims[i] : 1;
  return GWLZ_OK;
}

gwlz_error gwlz_set_error_bound(gwlz_ctx *ctx, gwlz_eb_mode mode, double abs, double rel,
                                double psnr) {
  if (!ctx) return GWLZ_ERR_PARAM;
  int need_abs = mode == GWLZ_EB_ABS || mode == GWLZ_EB_ABS_AND_REL || mode == GWLZ_EB_ABS_OR_REL;
  int need_rel = mode == GWLZ_EB_REL || mode == GWLZ_EB_ABS_AND_REL || mode == GWLZ_EB_ABS_OR_REL;
  switch (mode) {
    case GWLZ_EB_ABS:
    case GWLZ_EB_REL:
    case GWLZ_EB_ABS_AND_REL:
    case GWLZ_EB_ABS_OR_REL:
    case GWLZ_EB_PSNR: break;
    default: return GWLZ_ERR_PARAM;
  }
  if (need_abs && !(abs >= 0 && isfinite(abs))) return GWLZ_ERR_PARAM;
  if (need_rel && !(rel >= 0 && isfinite(rel))) return GWLZ_ERR_PARAM;
  if (mode == GWLZ_EB_PSNR && !(psnr > 0 && isfinite(psnr))) return GWLZ_ERR_PARAM;
  ctx->eb_mode = mode;
  ctx->eb_abs = need_abs ? abs : 0;
  ctx->eb_rel = need_rel ? rel : 0;
  ctx->eb_psnr = mode == GWLZ_EB_PSNR ? psnr : 0;
  return GWLZ_OK;
}

gwlz_error gwlz_set_fill_value(gwlz_ctx *ctx, double value) {
  if (!ctx) return GWLZ_ERR_PARAM;
  ctx->has_fill = 1;
  ctx->fill_value = value;
  return GWLZ_OK;
}

gwlz_error gwlz_clear_fill_value(gwlz_ctx *ctx) {
  if (!ctx) return GWLZ_ERR_PARAM;
  ctx->has_fill = 0;
  ctx->fill_value = 0;
  return GWLZ_OK;
}

gwlz_error gwlz_set_threads(gwlz_ctx *ctx, int threads) {
  if (!ctx || threads < 0) return GWLZ_ERR_PARAM;
  ctx->threads = threads;
  return GWLZ_OK;
}

const char *gwlz_base_name(gwlz_base base) {
  switch (base) {
    case GWLZ_BASE_AUTO: return "auto";
    case GWLZ_BASE_INTERP: return "interp";
    case GWLZ_BASE_WAVELET: return "wavelet";
    case GWLZ_BASE_ZFP: return "zfp";
  }
  return "unknown";
}

int gwlz_base_available(gwlz_base base) {
  if (base == GWLZ_BASE_AUTO) return 1;
  return (int)base > 0 && (int)base < GWLZ_BASE_COUNT && gwlz_base_impls[base] != NULL;
}

gwlz_error gwlz_set_base(gwlz_ctx *ctx, gwlz_base base) {
  if (!ctx || (int)base < 0 || (int)base >= GWLZ_BASE_COUNT) return GWLZ_ERR_PARAM;
  if (!gwlz_base_available(base)) return GWLZ_ERR_UNSUPPORTED;
  ctx->base = base;
  return GWLZ_OK;
}

gwlz_error gwlz_set_speed(gwlz_ctx *ctx, gwlz_speed speed) {
  if (!ctx || (speed != GWLZ_SPEED_DEFAULT && speed != GWLZ_SPEED_FAST)) return GWLZ_ERR_PARAM;
  ctx->speed = speed;
  return GWLZ_OK;
}

gwlz_error gwlz_set_chunk_size(gwlz_ctx *ctx, size_t values) {
  if (!ctx || (values != 0 && (values < GWLZ_CHUNK_MIN || values > GWLZ_CHUNK_MAX)))
    return GWLZ_ERR_PARAM;
  ctx->chunk_size = values;
  return GWLZ_OK;
}

gwlz_error gwlz_set_groups(gwlz_ctx *ctx, int groups) {
  if (!ctx || groups < 0 || groups > GWLZ_MAX_GROUPS) return GWLZ_ERR_PARAM;
  ctx->groups = groups;
  return GWLZ_OK;
}

gwlz_error gwlz_set_enhancer(gwlz_ctx *ctx, gwlz_enhancer enhancer) {
  if (!ctx) return GWLZ_ERR_PARAM;
  switch (enhancer) {
    case GWLZ_ENH_NONE:
    case GWLZ_ENH_LINEAR:
    case GWLZ_ENH_CNN:
    case GWLZ_ENH_AUTO: ctx->enhancer = enhancer; return GWLZ_OK;
  }
  return GWLZ_ERR_PARAM;
}

gwlz_error gwlz_set_arch(gwlz_ctx *ctx, gwlz_arch arch) {
  if (!ctx || (arch != GWLZ_ARCH_DEFAULT && arch != GWLZ_ARCH_PAPER2D)) return GWLZ_ERR_PARAM;
  ctx->arch = arch;
  return GWLZ_OK;
}

gwlz_error gwlz_set_epochs(gwlz_ctx *ctx, int epochs) {
  if (!ctx || epochs < 0) return GWLZ_ERR_PARAM;
  ctx->epochs = epochs;
  return GWLZ_OK;
}

gwlz_error gwlz_set_train_seconds(gwlz_ctx *ctx, double seconds) {
  if (!ctx || isnan(seconds)) return GWLZ_ERR_PARAM;
  ctx->train_seconds = seconds;
  return GWLZ_OK;
}

gwlz_error gwlz_set_bound_policy(gwlz_ctx *ctx, gwlz_bound_policy policy) {
  if (!ctx || (policy != GWLZ_BOUND_STRICT && policy != GWLZ_BOUND_RELAXED))
    return GWLZ_ERR_PARAM;
  ctx->policy = policy;
  return GWLZ_OK;
}

gwlz_error gwlz_set_seed(gwlz_ctx *ctx, uint64_t seed) {
  if (!ctx) return GWLZ_ERR_PARAM;
  ctx->seed = seed;
  return GWLZ_OK;
}

gwlz_error gwlz_set_skip_enhancer(gwlz_ctx *ctx, int skip) {
  if (!ctx || (skip != 0 && skip != 1)) return GWLZ_ERR_PARAM;
  ctx->skip_enhancer = skip;
  return GWLZ_OK;
}

gwlz_error gwlz_set_progress(gwlz_ctx *ctx, gwlz_progress_fn fn, void *user) {
  if (!ctx) return GWLZ_ERR_PARAM;
  ctx->progress = fn;
  ctx->progress_user = user;
  return GWLZ_OK;
}

gwlz_error gwlz_get_stats(const gwlz_ctx *ctx, gwlz_stats *stats) {
  if (!ctx || !stats) return GWLZ_ERR_PARAM;
  if (!ctx->have_stats) return GWLZ_ERR_PARAM;
  *stats = ctx->stats;
  return GWLZ_OK;
}

/* ---- helpers ------------------------------------------------------------ */

static size_t num_values(const size_t *dims, int ndims) {
  size_t n = 1;
  for (int i = 0; i < ndims; i++) n *= dims[i];
  return n;
}

static int resolve_threads(int threads) {
  if (threads > 0) return threads;
#ifdef _OPENMP
  int p = omp_get_num_procs();
  return p > 0 ? p : 1;
#else
  return 1;
#endif
}

/* Worst-case size of a zstd frame of n bytes (zstd's documented bound). */
static size_t zstd_bound(size_t n) {
  return n + (n >> 8) + (n < (128u << 10) ? (((128u << 10) - n) >> 11) : 0);
}

/* factor * range for a range = max - min that may overflow (float64 data
 * spanning more than DBL_MAX): then from half = max/2 - min/2, which cannot
 * overflow, clamped to DBL_MAX (every error between finite values of a
 * field is below that anyway). Finite ranges take the direct product. */
static double times_range(double factor, double range, double half) {
  if (isfinite(range)) return factor * range;
  double e = factor * half;
  return e >= DBL_MAX / 2 ? DBL_MAX : 2 * e;
}

/* The absolute bound for the mode, from the range of the regular values
 * (range = max - min, possibly +inf; half = max/2 - min/2, finite). */
static gwlz_error absolute_bound(const gwlz_ctx *ctx, double range, double half, double *eb) {
  double e = 0;
  switch (ctx->eb_mode) {
    case GWLZ_EB_ABS: e = ctx->eb_abs; break;
    case GWLZ_EB_REL: e = times_range(ctx->eb_rel, range, half); break;
    case GWLZ_EB_ABS_AND_REL: e = fmin(ctx->eb_abs, times_range(ctx->eb_rel, range, half)); break;
    case GWLZ_EB_ABS_OR_REL: e = fmax(ctx->eb_abs, times_range(ctx->eb_rel, range, half)); break;
    case GWLZ_EB_PSNR:
      /* The bound is searched (psnr.c) for a field with a range; a constant
       * field is stored losslessly. */
      e = range > 0 ? times_range(pow(10.0, -ctx->eb_psnr / 20.0), range, half) : 0;
      break;
  }
  if (!(e >= 0) || !isfinite(e)) return GWLZ_ERR_PARAM;
  *eb = e;
  return GWLZ_OK;
}

/* PSNR from a squared error sum over count cells, both in units of scale
 * (range / scale is the value range in those units). */
static double psnr_of(double sse, size_t count, double range_units) {
  if (count == 0 || sse == 0) return INFINITY;
  double mse = sse / (double)count;
  if (range_units <= 0) return -10.0 * log10(mse);
  return 20.0 * log10(range_units) - 10.0 * log10(mse);
}

/* Container with the header and whichever payloads are present. */
static gwlz_error write_stream(const gwlz_header *h, const gwlz_wbuf *spec, const gwlz_wbuf *base,
                               const gwlz_wbuf *models, const gwlz_wbuf *exc, gwlz_wbuf *out) {
  gwlz_section secs[4];
  int ns = 0;
  if (spec->size) secs[ns++] = (gwlz_section){GWLZ_SEC_SPECIAL, spec->data, spec->size};
  secs[ns++] = (gwlz_section){GWLZ_SEC_BASE, base->data, base->size};
  if (models && models->size) {
    secs[ns++] = (gwlz_section){GWLZ_SEC_MODELS, models->data, models->size};
    if (exc && exc->size) secs[ns++] = (gwlz_section){GWLZ_SEC_EXCEPT, exc->data, exc->size};
  }
  gwlz_error err = gwlz_container_write(h, secs, ns, out);
  return err != GWLZ_OK ? err : out->err;
}

/* ---- compression -------------------------------------------------------- */

size_t gwlz_compress_bound(const gwlz_ctx *ctx) {
  if (!ctx || ctx->ndims == 0) return 0;
  size_t n = num_values(ctx->dims, ctx->ndims);
  size_t ts = gwlz_type_size(ctx->type), raw, spec, total;
  if (!gwlz_mul_size(n, ts, &raw) || !gwlz_mul_size(n, ts + 10, &spec)) return 0;
  /* header + section frames, base (never above a zstd frame of the raw
   * bytes plus its own small header), specials (positions + bit patterns),
   * enhancer sections (kept by gwlz_compress only up to raw/8 + 64 KiB). */
  total = 1024;
  if (!gwlz_add_size(total, zstd_bound(raw) + 256, &total)) return 0;
  if (!gwlz_add_size(total, zstd_bound(spec) + 256, &total)) return 0;
  if (!gwlz_add_size(total, raw / 8 + 65536, &total)) return 0;
  gwlz_settings cs;
  gwlz_ctx_settings(ctx, &cs);
  if (!gwlz_add_size(total, gwlz_chunked_bound_extra(&cs), &total)) return 0;
  return total;
}

void gwlz_ctx_enh_params(const gwlz_ctx *ctx, double eb, gwlz_enh_params *ep) {
  memset(ep, 0, sizeof(*ep));
  ep->type = ctx->type;
  ep->ndims = ctx->ndims;
  memcpy(ep->dims, ctx->dims, sizeof(ep->dims));
  ep->n = num_values(ctx->dims, ctx->ndims);
  ep->abs_eb = eb;
  ep->groups = ctx->groups;
  ep->kind = ctx->enhancer;
  ep->arch = ctx->arch;
  ep->epochs = ctx->epochs;
  ep->train_seconds = ctx->train_seconds;
  ep->threads = resolve_threads(ctx->threads);
  ep->seed = ctx->seed;
  ep->policy = ctx->policy;
  ep->progress = ctx->progress;
  ep->progress_user = ctx->progress_user;
}

double gwlz_err_scale(double half_range) {
  return half_range > 0 ? ldexp(1.0, ilogb(half_range)) : 1.0;
}

gwlz_error gwlz_ctx_enh_verdict(const gwlz_ctx *ctx, double eb, const gwlz_enh_outcome *oc,
                                gwlz_stats *st, int *enhanced) {
  const gwlz_enh_stats *es = oc->es;
  double sse = oc->base_sse, maxerr = oc->base_max;
  size_t cnt = oc->nreg;
  *enhanced = 0;
  st->enhancer = GWLZ_ENH_NONE;
  st->groups_kept = 0;
  st->exceptions = 0;
  st->enhancer_bytes = 0;
  st->exception_bytes = 0;
  st->base_psnr = psnr_of(oc->base_sse, oc->nreg, oc->range_units);
  st->base_max_err = oc->base_max;
  /* Never worse at equal bits: drop an enhancement whose squared-error
   * reduction is not worth its bytes (two section frames of 12 bytes each
   * included) at the base's rate-distortion slope. */
  const size_t extra = oc->models_size + oc->exc_size + 24;
  if (es && oc->models_size > 0 &&
      gwlz_enh_pays(oc->base_sse, es->out_sse, extra, oc->base_stream, oc->rd_slope) &&
      extra <= oc->raw_bytes / 8 + 65536 /* gwlz_compress_bound's allowance */) {
    *enhanced = 1;
    sse = es->out_sse;
    maxerr = es->out_maxerr;
    cnt = es->out_count;
    st->enhancer = es->kind;
    st->groups_kept = es->groups_kept;
    st->exceptions = es->exceptions;
    st->enhancer_bytes = oc->models_size;
    st->exception_bytes = oc->exc_size;
  }
  st->enhanced_psnr = psnr_of(sse, cnt, oc->range_units);
  st->enhanced_max_err = maxerr;
  /* a last check of the bound (the strict policy guarantees it for the
   * enhanced output as well) */
  const double limit = ctx->policy == GWLZ_BOUND_RELAXED && *enhanced ? 2 * eb : eb;
  if (st->base_max_err > eb || st->enhanced_max_err > limit) return GWLZ_ERR_BOUND;
  return GWLZ_OK;
}

/* What every run of the pipeline within one gwlz_compress shares. */
typedef struct {
  const gwlz_ctx *ctx;
  const void *x;            /* the values, specials replaced             */
  const uint8_t *mask;      /* NULL or n bytes: 1 = special cell          */
  const gwlz_wbuf *spec;    /* SPEC payload (empty without specials)      */
  size_t n;
  double range;             /* of the regular values (+inf when max - min
                               overflows a double)                         */
  double half_range;        /* max/2 - min/2, always finite               */
  size_t finite;            /* number of regular values                   */
  const void *src;          /* the values as given                        */
  const gwlz_settings *chunks; /* chunked (stream.c) when not NULL: the
                               chunks keep their own special cells        */
} pipeline;

/* One run of the pipeline at absolute bound eb: base, the enhancer when
 * enhance is set (and the settings ask for one), container. The stream goes
 * to out; st receives the statistics of this run, *base_only the size the
 * stream has without enhancer sections. */
static gwlz_error compress_run(const pipeline *pl, double eb, int enhance, gwlz_wbuf *out,
                               gwlz_stats *st, size_t *base_only) {
  const gwlz_ctx *ctx = pl->ctx;
  const gwlz_type t = ctx->type;
  const size_t ts = gwlz_type_size(t);
  const size_t n = pl->n;
  const void *x = pl->x;
  const uint8_t *mask = pl->mask;
  const double range = pl->range;
  double t0 = gwlz_now();
  gwlz_error err;
  st->abs_bound = eb;
  st->groups_requested = ctx->groups;

  const double half_range = pl->half_range;
  gwlz_wbuf base, models, exc;
  gwlz_wbuf_init(&base);
  gwlz_wbuf_init(&models);
  gwlz_wbuf_init(&exc);
  out->size = 0;
  void *recon = NULL;
  uint8_t *aux = NULL;

  const int want_enh = enhance && ctx->groups > 0 && ctx->enhancer != GWLZ_ENH_NONE && eb > 0 &&
                       pl->finite > 0;
  recon = malloc(n * ts);
  if (want_enh) aux = (uint8_t *)calloc(n ? n : 1, 1); /* zero where a base gives none */
  if (!recon || (want_enh && !aux)) {
    err = GWLZ_ERR_MEMORY;
    goto done;
  }
  gwlz_base_params bp;
  memset(&bp, 0, sizeof(bp));
  bp.type = t;
  bp.ndims = ctx->ndims;
  memcpy(bp.dims, ctx->dims, sizeof(bp.dims));
  bp.n = n;
  bp.abs_eb = eb;
  bp.threads = resolve_threads(ctx->threads);
  bp.fast = ctx->speed == GWLZ_SPEED_FAST;
  gwlz_base_info binfo;
  memset(&binfo, 0, sizeof(binfo));
  if (pl->chunks)
    err = gwlz_chunked_base(pl->chunks, eb, pl->src, 0, NULL, NULL, recon, aux, &base, &binfo);
  else
    err = gwlz_base_compress(&bp, ctx->base, x, recon, aux, &base, &binfo);
  if (err == GWLZ_OK) err = base.err;
  if (err != GWLZ_OK) goto done;
  st->num_unpredictable = binfo.unpredictable;
  st->base = binfo.mode == GWLZ_BASE_MODE_RAW ? GWLZ_BASE_AUTO : binfo.base;
  st->base_seconds = gwlz_now() - t0;

  gwlz_header h;
  gwlz_ctx_header(ctx, eb, &h);

  /* The base-only stream: what is kept when no enhancer helps. */
  err = write_stream(&h, pl->spec, &base, NULL, NULL, out);
  if (err != GWLZ_OK) goto done;
  const size_t base_stream = out->size;
  *base_only = base_stream;

  int enhanced = 0; /* the enhancer's sections are kept */
  gwlz_enh_stats es;
  st->enhancer = GWLZ_ENH_NONE;
  /* errors in units of a power of two near the half range: an exact scaling
   * that keeps the squares of huge errors finite (and those of tiny ones
   * normal) */
  const double scale = gwlz_err_scale(half_range);
  const double range_units = isfinite(range) ? range / scale : 2.0 * (half_range / scale);
  double base_sse, base_max, rd_slope = 0.0;
  size_t nreg;
  gwlz_err_blocked(t, x, recon, mask, n, gwlz_row_extent(ctx->ndims, ctx->dims), scale, &base_sse,
                   &base_max, &nreg);
  if (want_enh) {
    gwlz_enh_params ep;
    gwlz_ctx_enh_params(ctx, eb, &ep);
    ep.mask = mask;
    ep.aux = aux;
    ep.base_bytes = base_stream;
    /* the price of the enhancer's bytes: the base's rate-distortion slope */
    rd_slope = gwlz_enh_measure_slope(&bp, binfo.base, x, mask, base.size, base_stream,
                                      base_sse * scale * scale);
    ep.rd_slope = rd_slope;
    ep.err_scale = scale;
    memset(&es, 0, sizeof(es));
    /* the output itself is not needed here, only its error statistics */
    err = gwlz_enh_compress(&ep, x, recon, NULL, &models, &exc, &es);
    if (err == GWLZ_OK && models.err != GWLZ_OK) err = models.err;
    if (err == GWLZ_OK && exc.err != GWLZ_OK) err = exc.err;
    if (err != GWLZ_OK) goto done;
    /* Kept below only if it pays for its bytes (rate-distortion check). */
    if (models.size == 0) exc.size = 0;
    st->train_seconds = es.train_seconds;
    st->enhance_seconds = es.enhance_seconds;
    st->epochs_run = es.epochs_run;
  }
  {
    gwlz_enh_outcome oc = {base_sse, base_max, nreg, range_units, n * ts, base_stream, rd_slope,
                           want_enh ? models.size : 0, want_enh ? exc.size : 0,
                           want_enh ? &es : NULL};
    err = gwlz_ctx_enh_verdict(ctx, eb, &oc, st, &enhanced);
    if (err != GWLZ_OK) goto done;
  }

  if (enhanced) {
    out->size = 0;
    err = write_stream(&h, pl->spec, &base, &models, &exc, out);
    if (err != GWLZ_OK) goto done;
  }
  st->base_bytes = base.size;
  st->total_bytes = out->size;

done:
  gwlz_wbuf_free(&base);
  gwlz_wbuf_free(&models);
  gwlz_wbuf_free(&exc);
  free(recon);
  free(aux);
  return err;
}

/* ---- PSNR mode: trial runs for the bound search (psnr.c) ----------------- */

typedef struct {
  const pipeline *pl;
  int enhance;              /* the settings ask for the enhancer          */
  gwlz_wbuf pending, best;  /* last run's stream, the kept stream         */
  gwlz_stats common;        /* statistics that do not depend on the run   */
  gwlz_stats pending_st, best_st;
} psnr_runs;

static gwlz_error psnr_run(void *user, double eb, int enhance, gwlz_psnr_trial *t) {
  psnr_runs *r = (psnr_runs *)user;
  gwlz_stats st = r->common;
  size_t base_only = 0;
  gwlz_error err = compress_run(r->pl, eb, enhance && r->enhance, &r->pending, &st, &base_only);
  if (err != GWLZ_OK) return err;
  r->pending_st = st;
  t->psnr_base = st.base_psnr;
  t->psnr_out = st.enhanced_psnr;
  t->bytes = r->pending.size;
  t->base_bytes = base_only;
  return GWLZ_OK;
}

static gwlz_error psnr_keep(void *user) {
  psnr_runs *r = (psnr_runs *)user;
  gwlz_wbuf tmp = r->best;
  r->best = r->pending;
  r->pending = tmp;
  r->best_st = r->pending_st;
  return GWLZ_OK;
}

/* Compress at the bound the PSNR search finds; out receives the stream. */
static gwlz_error compress_psnr(const pipeline *pl, gwlz_stats *st, gwlz_wbuf *out) {
  const gwlz_ctx *ctx = pl->ctx;
  psnr_runs r;
  memset(&r, 0, sizeof(r));
  r.pl = pl;
  r.enhance = ctx->groups > 0 && ctx->enhancer != GWLZ_ENH_NONE && pl->finite > 0;
  gwlz_wbuf_init(&r.pending);
  gwlz_wbuf_init(&r.best);
  r.common = *st;
  gwlz_psnr_ops ops = {psnr_run, psnr_keep, &r};
  gwlz_psnr_result res;
  gwlz_error err = gwlz_psnr_search(ctx->eb_psnr, pl->range, r.enhance, &ops, &res);
  if (err == GWLZ_OK) {
    *st = r.best_st;
    st->psnr_base_runs = res.base_runs;
    st->psnr_enh_runs = res.enh_runs;
    gwlz_wbuf_free(out);
    *out = r.best;
    gwlz_wbuf_init(&r.best);
  }
  gwlz_wbuf_free(&r.pending);
  gwlz_wbuf_free(&r.best);
  return err;
}

gwlz_error gwlz_compress(gwlz_ctx *ctx, const void *src, void *dst, size_t dst_capacity,
                         size_t *dst_size) {
  if (!ctx || !src || !dst_size || (!dst && dst_capacity)) return GWLZ_ERR_PARAM;
  if (ctx->ndims == 0) return GWLZ_ERR_PARAM;
  ctx->have_stats = 0;
  /* Chunked arrays (stream.c): base only with a bound from the range, all
   * there; otherwise the pipeline below with a chunked base. */
  gwlz_settings cs;
  gwlz_ctx_settings(ctx, &cs);
  const int chunked = gwlz_chunked_applies(&cs);
  if (chunked && !cs.enhance && !cs.psnr)
    return gwlz_chunked_compress(ctx, src, dst, dst_capacity, dst_size);
  if (gwlz_chunked_windows_apply(&cs))
    return gwlz_chunked_compress_windows(ctx, src, dst, dst_capacity, dst_size);
  const gwlz_type t = ctx->type;
  const size_t ts = gwlz_type_size(t);
  const size_t n = num_values(ctx->dims, ctx->ndims);
  gwlz_stats st;
  memset(&st, 0, sizeof(st));
  st.num_values = n;
  st.groups_requested = ctx->groups;

  gwlz_special_scan scan;
  gwlz_special_scan_data(t, src, n, ctx->has_fill, ctx->fill_value, &scan);
  double range = scan.finite ? scan.max - scan.min : 0;
  double half_range = scan.finite ? scan.max * 0.5 - scan.min * 0.5 : 0;
  double eb;
  gwlz_error err = absolute_bound(ctx, range, half_range, &eb);
  if (err != GWLZ_OK) return err;
  st.value_min = scan.min;
  st.value_max = scan.max;
  st.num_special = scan.count;

  gwlz_wbuf spec, out;
  gwlz_wbuf_init(&spec);
  gwlz_wbuf_init(&out);
  void *work = NULL;
  uint8_t *mask = NULL;
  pipeline pl = {ctx,         src,         NULL, &spec, n, range, half_range, scan.finite,
                 src,         chunked ? &cs : NULL};

  if (scan.count > 0) {
    work = malloc(n * ts);
    mask = (uint8_t *)calloc(n, 1);
    if (!work || !mask) {
      err = GWLZ_ERR_MEMORY;
      goto done;
    }
    if (chunked) /* chunk-local working copies; the records hold the specials */
      err = gwlz_chunked_specials(&cs, src, work, mask);
    else
      err = gwlz_special_encode(t, src, n, ctx->has_fill, ctx->fill_value, work, mask, &spec);
    if (err == GWLZ_OK) err = spec.err;
    if (err != GWLZ_OK) goto done;
    pl.x = work;
    pl.mask = mask;
  }

  /* (a range beyond DBL_MAX takes the bound range * 10^(-X/20), which
   * cannot miss the target) */
  if (ctx->eb_mode == GWLZ_EB_PSNR && range > 0 && isfinite(range)) {
    err = compress_psnr(&pl, &st, &out);
  } else {
    size_t base_only;
    err = compress_run(&pl, eb, 1, &out, &st, &base_only);
  }
  if (err == GWLZ_OK) err = out.err;
  if (err != GWLZ_OK) goto done;
  if (out.size > dst_capacity) {
    err = GWLZ_ERR_DST_TOO_SMALL;
    goto done;
  }
  memcpy(dst, out.data, out.size);
  *dst_size = out.size;
  ctx->stats = st;
  ctx->have_stats = 1;

done:
  gwlz_wbuf_free(&spec);
  gwlz_wbuf_free(&out);
  free(work);
  free(mask);
  return err;
}

/* ---- decompression ------------------------------------------------------ */

static void info_from_header(const gwlz_header *h, gwlz_info *info) {
  memset(info, 0, sizeof(*info));
  info->format_version = h->version;
  info->type = h->type;
  info->ndims = h->ndims;
  for (int i = 0; i < GWLZ_MAX_DIMS; i++) info->dims[i] = i < h->ndims ? h->dims[i] : 0;
  info->num_values = h->n;
  info->decompressed_bytes = h->n * gwlz_type_size(h->type);
  info->eb_mode = h->eb_mode;
  info->abs_bound = h->abs_bound;
  info->has_fill = h->has_fill;
  info->fill_value = h->fill_value;
  info->enhancer = GWLZ_ENH_NONE;
  info->groups = 0;
  info->bound_policy = h->policy;
  info->base = GWLZ_BASE_AUTO;
  info->eb_abs = h->eb_abs;
  info->eb_rel = h->eb_rel;
  info->eb_psnr = h->eb_psnr;
}

static const gwlz_section *find_section(const gwlz_section *secs, int ns, uint32_t tag) {
  for (int i = 0; i < ns; i++)
    if (secs[i].tag == tag) return &secs[i];
  return NULL;
}

gwlz_error gwlz_get_info(const void *src, size_t src_size, gwlz_info *info) {
  if (!src || !info) return GWLZ_ERR_PARAM;
  gwlz_header h;
  size_t hs;
  gwlz_error err = gwlz_container_read_header((const uint8_t *)src, src_size, &h, &hs);
  if (err != GWLZ_OK) return err;
  size_t bytes;
  if (!gwlz_mul_size(h.n, gwlz_type_size(h.type), &bytes)) return GWLZ_ERR_TOO_LARGE;
  info_from_header(&h, info);
  /* The enhancer fields need the whole stream; a prefix gives header fields only. */
  gwlz_section secs[GWLZ_MAX_SECTIONS];
  int ns = 0;
  if (gwlz_container_read((const uint8_t *)src, src_size, &h, secs, GWLZ_MAX_SECTIONS, &ns) ==
      GWLZ_OK) {
    const gwlz_section *b = find_section(secs, ns, GWLZ_SEC_BASE);
    gwlz_base base;
    int mode = -1;
    if (b && gwlz_base_peek(b->data, b->size, &base, &mode) == GWLZ_OK) info->base = base;
    if (b && mode == GWLZ_BASE_MODE_CHUNKED &&
        gwlz_chunked_peek_base(&h, b->data, b->size, &base) == GWLZ_OK)
      info->base = base;
    const gwlz_section *m = find_section(secs, ns, GWLZ_SEC_MODELS);
    if (m) {
      gwlz_enhancer kind;
      int kept;
      if (gwlz_enh_peek(m->data, m->size, &kind, &kept) == GWLZ_OK) {
        info->enhancer = kind;
        info->groups = kept;
      }
    }
  }
  return GWLZ_OK;
}

/* A stream whose container is valid, with its known sections. */
typedef struct {
  gwlz_header h;
  gwlz_section secs[GWLZ_MAX_SECTIONS];
  int ns;
  size_t bytes; /* decoded size */
  const gwlz_section *base, *spec, *models, *exc;
} parsed_stream;

static gwlz_error parse_stream(const void *src, size_t src_size, parsed_stream *ps) {
  gwlz_error err = gwlz_container_read((const uint8_t *)src, src_size, &ps->h, ps->secs,
                                       GWLZ_MAX_SECTIONS, &ps->ns);
  if (err != GWLZ_OK) return err;
  if (!gwlz_mul_size(ps->h.n, gwlz_type_size(ps->h.type), &ps->bytes)) return GWLZ_ERR_TOO_LARGE;
  ps->base = find_section(ps->secs, ps->ns, GWLZ_SEC_BASE);
  ps->spec = find_section(ps->secs, ps->ns, GWLZ_SEC_SPECIAL);
  ps->models = find_section(ps->secs, ps->ns, GWLZ_SEC_MODELS);
  ps->exc = find_section(ps->secs, ps->ns, GWLZ_SEC_EXCEPT);
  if (!ps->base || (ps->exc && !ps->models)) return GWLZ_ERR_CORRUPT;
  if (ps->models && !(ps->h.abs_bound > 0)) return GWLZ_ERR_CORRUPT;
  return GWLZ_OK;
}

static void base_params_of(const gwlz_header *h, int threads, gwlz_base_params *bp) {
  memset(bp, 0, sizeof(*bp));
  bp->type = h->type;
  bp->ndims = h->ndims;
  memcpy(bp->dims, h->dims, sizeof(bp->dims));
  bp->n = h->n;
  bp->abs_eb = h->abs_bound;
  bp->threads = threads;
}

static void enh_params_of(const gwlz_header *h, int threads, uint64_t seed, gwlz_enh_params *ep) {
  memset(ep, 0, sizeof(*ep));
  ep->type = h->type;
  ep->ndims = h->ndims;
  memcpy(ep->dims, h->dims, sizeof(ep->dims));
  ep->n = h->n;
  ep->abs_eb = h->abs_bound;
  ep->groups = 1; /* the stream says how many; the decoder reads them */
  ep->kind = GWLZ_ENH_AUTO;
  ep->threads = threads;
  ep->seed = seed;
  ep->policy = h->policy;
}

/* Every check that needs no decoded values, made before the BASE section
 * (normally the largest) is decoded: the BASE prefix and raw block, the whole
 * SPEC payload, the ENHM payload against the geometry, the EXCP list. Working
 * memory: at most the SPEC description and the exception list, each bounded
 * by its zstd frame (docs/format.md §11). */
static gwlz_error validate_sections(const parsed_stream *ps) {
  const gwlz_header *h = &ps->h;
  gwlz_base_params bp;
  base_params_of(h, 1, &bp);
  gwlz_error err = gwlz_base_check(&bp, ps->base->data, ps->base->size);
  if (err != GWLZ_OK) return err;
  if (ps->base->size >= 2 && ps->base->data[1] == GWLZ_BASE_MODE_CHUNKED) {
    /* the chunks carry their own special cells: no SPEC section (§9.11) */
    if (ps->spec) return GWLZ_ERR_CORRUPT;
    err = gwlz_chunked_check(h, ps->base->data, ps->base->size);
    if (err != GWLZ_OK) return err;
  }
  if (ps->spec) {
    err = gwlz_special_decode(h->type, ps->spec->data, ps->spec->size, NULL, h->n, NULL);
    if (err != GWLZ_OK) return err;
  }
  if (ps->models) {
    gwlz_enh_params ep;
    enh_params_of(h, 1, 0, &ep);
    err = gwlz_enh_validate(&ep, ps->models->data, ps->models->size,
                            ps->exc ? ps->exc->data : NULL, ps->exc ? ps->exc->size : 0);
    if (err != GWLZ_OK) return err;
  }
  return GWLZ_OK;
}

gwlz_error gwlz_check_stream(const void *src, size_t src_size) {
  if (!src) return GWLZ_ERR_PARAM;
  parsed_stream ps;
  gwlz_error err = parse_stream(src, src_size, &ps);
  return err != GWLZ_OK ? err : validate_sections(&ps);
}

gwlz_error gwlz_get_sections(const void *src, size_t src_size, gwlz_section_info *secs, int max,
                             int *count) {
  if (!src || !count || max < 0 || (max > 0 && !secs)) return GWLZ_ERR_PARAM;
  *count = 0;
  gwlz_header h;
  gwlz_section known[GWLZ_MAX_SECTIONS];
  int nk = 0;
  size_t hs;
  const uint8_t *p = (const uint8_t *)src;
  gwlz_error err = gwlz_container_read(p, src_size, &h, known, GWLZ_MAX_SECTIONS, &nk);
  if (err == GWLZ_OK) err = gwlz_container_read_header(p, src_size, &h, &hs);
  if (err != GWLZ_OK) return err;
  /* the container is valid: every section frame lies inside the stream */
  size_t pos = hs;
  int k = 0;
  while (pos + 12 <= src_size) {
    uint32_t tag = gwlz_load_u32(p + pos);
    uint64_t len = gwlz_load_u64(p + pos + 4);
    if (k < max) {
      for (int i = 0; i < 4; i++) secs[k].tag[i] = (char)(tag >> (8 * i));
      secs[k].tag[4] = '\0';
      secs[k].offset = pos + 12;
      secs[k].size = (size_t)len;
    }
    k++;
    pos += 12 + (size_t)len;
    if (tag == GWLZ_SEC_END) break;
  }
  *count = k;
  return GWLZ_OK;
}

gwlz_error gwlz_decompress(gwlz_ctx *ctx, const void *src, size_t src_size, void *dst,
                           size_t dst_capacity) {
  if (!ctx || !src || !dst) return GWLZ_ERR_PARAM;
  parsed_stream ps;
  gwlz_error err = parse_stream(src, src_size, &ps);
  if (err != GWLZ_OK) return err;
  const gwlz_header *h = &ps.h;
  if (dst_capacity < ps.bytes) return GWLZ_ERR_DST_TOO_SMALL;
  if ((err = validate_sections(&ps)) != GWLZ_OK) return err;
  const gwlz_section *sb = ps.base, *ss = ps.spec, *sm = ps.models, *se = ps.exc;
  const int threads = resolve_threads(ctx->threads);
  if (ctx->skip_enhancer) sm = se = NULL;

  gwlz_base_params bp;
  base_params_of(h, threads, &bp);
  uint8_t *aux = NULL;
  if (sm && !(aux = (uint8_t *)calloc(h->n ? h->n : 1, 1))) return GWLZ_ERR_MEMORY;
  /* chunked: the chunks carry their own special cells (stream.c) */
  const int chunked = sb->size >= 2 && sb->data[1] == GWLZ_BASE_MODE_CHUNKED;
  uint8_t *mask = NULL;
  if (chunked && sm && !(mask = (uint8_t *)calloc(h->n ? h->n : 1, 1))) {
    err = GWLZ_ERR_MEMORY;
  } else if (chunked) {
    size_t nspecial = 0;
    err = gwlz_chunked_decode(h, sb->data, sb->size, threads, dst, aux, mask, !sm, &nspecial);
    if (nspecial == 0) {
      free(mask);
      mask = NULL;
    }
  } else {
    err = gwlz_base_decompress(&bp, sb->data, sb->size, dst, aux);
  }
  if (err != GWLZ_OK) {
    free(aux);
    free(mask);
    return err;
  }

  if (sm) {
    if (ss) {
      mask = (uint8_t *)calloc(h->n, 1);
      if (!mask) {
        free(aux);
        return GWLZ_ERR_MEMORY;
      }
      err = gwlz_special_decode(h->type, ss->data, ss->size, NULL, h->n, mask);
      if (err != GWLZ_OK) {
        free(mask);
        free(aux);
        return err;
      }
    }
    gwlz_enh_params ep;
    enh_params_of(h, threads, ctx->seed, &ep);
    ep.mask = mask;
    ep.aux = aux;
    err = gwlz_enh_decompress(&ep, sm->data, sm->size, se ? se->data : NULL, se ? se->size : 0,
                              dst);
    free(mask);
    free(aux);
    if (err == GWLZ_OK && chunked)
      err = gwlz_chunked_put_specials(h, sb->data, sb->size, threads, dst);
    if (err != GWLZ_OK) return err;
  }
  if (ss) {
    err = gwlz_special_decode(h->type, ss->data, ss->size, dst, h->n, NULL);
    if (err != GWLZ_OK) return err;
  }
  return GWLZ_OK;
}

/* ---- internal access for the chunked pipelines (stream.c) --------------- */

void gwlz_ctx_settings(const gwlz_ctx *ctx, gwlz_settings *s) {
  memset(s, 0, sizeof *s);
  s->type = ctx->type;
  s->ndims = ctx->ndims;
  memcpy(s->dims, ctx->dims, sizeof s->dims);
  s->n = ctx->ndims ? num_values(ctx->dims, ctx->ndims) : 0;
  s->has_fill = ctx->has_fill;
  s->fill = ctx->fill_value;
  s->base = ctx->base;
  s->fast = ctx->speed == GWLZ_SPEED_FAST;
  s->threads = resolve_threads(ctx->threads);
  s->chunk = ctx->chunk_size ? ctx->chunk_size : GWLZ_DEFAULT_CHUNK_SIZE;
  s->enhance = ctx->groups > 0 && ctx->enhancer != GWLZ_ENH_NONE;
  s->range_needed = ctx->eb_mode != GWLZ_EB_ABS;
  s->psnr = ctx->eb_mode == GWLZ_EB_PSNR;
  s->groups = ctx->groups;
  s->enh_windows = s->enhance &&
                   (ctx->enhancer == GWLZ_ENH_AUTO || ctx->enhancer == GWLZ_ENH_LINEAR) &&
                   ctx->arch == GWLZ_ARCH_DEFAULT;
}

gwlz_error gwlz_ctx_bound(const gwlz_ctx *ctx, size_t finite, double min, double max,
                          double *eb) {
  /* as gwlz_compress derives range and half range from its scan */
  double range = finite ? max - min : 0;
  double half_range = finite ? max * 0.5 - min * 0.5 : 0;
  return absolute_bound(ctx, range, half_range, eb);
}

void gwlz_ctx_header(const gwlz_ctx *ctx, double eb, gwlz_header *h) {
  memset(h, 0, sizeof(*h));
  h->version = GWLZ_FORMAT_VERSION;
  h->type = ctx->type;
  h->ndims = ctx->ndims;
  memcpy(h->dims, ctx->dims, sizeof(h->dims));
  h->n = num_values(ctx->dims, ctx->ndims);
  h->eb_mode = ctx->eb_mode;
  h->eb_abs = ctx->eb_abs;
  h->eb_rel = ctx->eb_rel;
  h->eb_psnr = ctx->eb_psnr;
  h->abs_bound = eb;
  h->has_fill = ctx->has_fill;
  h->fill_value = ctx->has_fill ? ctx->fill_value : 0;
  h->policy = ctx->policy;
}

void gwlz_ctx_put_stats(gwlz_ctx *ctx, const gwlz_stats *st) {
  if (st) ctx->stats = *st;
  ctx->have_stats = st != NULL;
}

int gwlz_ctx_threads(const gwlz_ctx *ctx) { return resolve_threads(ctx->threads); }

int gwlz_ctx_skips_enhancer(const gwlz_ctx *ctx) { return ctx->skip_enhancer; }
