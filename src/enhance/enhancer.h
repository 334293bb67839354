/* enhancer.h - group-wise residual enhancers. At compression time, learn
 * R = X - X' per group of cells (one linear model per group, or a tiny CNN),
 * keep a group's model only where the squared error it removes is worth its
 * bytes at the base's rate-distortion slope, find the positions where the
 * enhanced value would break the bound (strict policy) and store models and
 * exceptions. The decoder runs the very same inference (bit-exact across
 * builds and thread counts).
 *
 * Two payload versions (docs/format.md §10): version 2 (v2.h: the default,
 * linear models over symmetric features, groups from the base's side
 * information and value bins) and version 1 (v1.h: value groups, the CNN
 * kinds; every version 1 payload still decodes). */
#ifndef GWLZ_ENHANCER_H
#define GWLZ_ENHANCER_H
#include "base/base.h"
#include "common.h"

typedef struct {
  gwlz_type type;
  int ndims;
  size_t dims[GWLZ_MAX_DIMS];   /* C order, slowest first             */
  size_t n;
  double abs_eb;                /* > 0                                */
  int groups;                   /* >= 1                               */
  gwlz_enhancer kind;           /* LINEAR, CNN or AUTO                */
  gwlz_arch arch;
  int epochs;                   /* 0 = default                        */
  double train_seconds;         /* <= 0 = no budget                   */
  int threads;                  /* >= 1                               */
  uint64_t seed;
  gwlz_bound_policy policy;
  const uint8_t *mask;          /* NULL or n bytes: 1 = special cell, never changed */
  const uint8_t *aux;           /* NULL or n bytes: the base's side information
                                   per value (base/base.h), the same at both ends */
  size_t base_bytes;            /* size of the whole stream without enhancer
                                   sections (0 = unknown): stored bytes are
                                   priced against it (rate-distortion)     */
  double rd_slope;              /* the base's PSNR slope in dB per doubling
                                   of base_bytes (0 = gwlz_enh_rd_slope)   */
  gwlz_progress_fn progress;
  void *progress_user;
  double err_scale;             /* y == NULL in gwlz_enh_compress: the unit
                                   of the output's error statistics (> 0) */
} gwlz_enh_params;

typedef struct {
  gwlz_enhancer kind;           /* enhancer used (NONE if every model was dropped) */
  int groups_kept;
  size_t exceptions;
  size_t model_bytes;
  size_t exception_bytes;
  double train_seconds;
  double enhance_seconds;
  int epochs_run;
  /* gwlz_enh_compress with y == NULL and models stored: over the regular
   * cells (mask 0) of the output, the sum of ((x - y) / err_scale)^2, the
   * largest |x - y| and the number of cells */
  double out_sse, out_maxerr;
  size_t out_count;
} gwlz_enh_stats;

/* The base's rate-distortion slope at its operating point, in dB of PSNR per
 * doubling of its stream size, from a model fitted on the shared fields
 * (measured local slopes of the interp base at six bounds on 19 fields: most
 * within a factor 1.5, larger errors only on tiny or near-constant fields):
 * S = 7 + 3.2 * (bits per value of the base stream). A byte of enhancer
 * sections pays for itself at equal bits per value when it lowers the squared
 * error by more than (ln 10 / (10 ln 2)) * S * SSE / B (B the stream bytes). */
double gwlz_enh_rd_slope(size_t n, size_t base_bytes);
/* Whether enhancement sections of extra bytes that lower the squared error
 * from sse_base to sse_enh pay for themselves at equal bits per value:
 * 10 log10(sse_base / sse_enh) > S log2(1 + extra / base_bytes). */
int gwlz_enh_pays(double sse_base, double sse_enh, size_t extra, size_t base_bytes, double slope);
/* The slope used to price the enhancer (rdslope.c): the largest of
 * gwlz_enh_rd_slope and, for fields of up to 2^17 values, the base's measured
 * slopes from its point at p->abs_eb to eb/2 and eb/5. x: the field compressed by base `which` into a payload of
 * base_payload bytes and a stream of stream_bytes with squared error sse
 * over the cells with mask 0 (mask may be NULL). */
double gwlz_enh_measure_slope(const gwlz_base_params *p, gwlz_base which, const void *x,
                              const uint8_t *mask, size_t base_payload, size_t stream_bytes,
                              double sse);

/* x: original values (specials replaced by the working-copy substitutes),
 * xr: the base reconstruction X'. y receives the decoder's final output before
 * special cells are restored. Appends the model payload to models and the
 * exception payload to exceptions (either may stay empty: then nothing is
 * stored and y equals xr). y may be NULL (p->err_scale > 0): the output is
 * not kept, only its error statistics (stats->out_*), which saves a
 * full-size array at compression. */
gwlz_error gwlz_enh_compress(const gwlz_enh_params *p, const void *x, const void *xr,
                             void *y, gwlz_wbuf *models, gwlz_wbuf *exceptions,
                             gwlz_enh_stats *stats);
/* Decoder: data holds X' on entry and the enhanced values on return.
 * exc may be NULL/0 when the stream has no exception section. */
gwlz_error gwlz_enh_decompress(const gwlz_enh_params *p, const uint8_t *models,
                               size_t models_size, const uint8_t *exc, size_t exc_size,
                               void *data);
/* Check the model and exception payloads against the geometry of p without
 * X' (everything the decoder can check before the base is decoded). */
gwlz_error gwlz_enh_validate(const gwlz_enh_params *p, const uint8_t *models, size_t models_size,
                             const uint8_t *exc, size_t exc_size);
/* Fill in the fields of p the stream records (kind, arch, groups, policy) from
 * a model payload, for gwlz_get_info. */
gwlz_error gwlz_enh_peek(const uint8_t *models, size_t models_size, gwlz_enhancer *kind,
                         int *groups_kept);
#endif
