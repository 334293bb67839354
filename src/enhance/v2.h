/* v2.h - the version 2 enhancer (ENHM payload version 2): one linear model
 * per group over a fixed, symmetric feature set; groups are contexts from the
 * base's side information (aux) times value bins of X'. docs/format.md §10.9
 * is the normative description; this header is the interface between the
 * files that implement it:
 *
 *   kernel.c   geometry, features, groups, prediction of a row segment,
 *              inference on a box, in-place decoding of the whole field
 *   payload.c  ENHM v2 / EXCP v2 serialisation (bit-packed parameters)
 *   stages.c   the encoder: sample plan -> training sums -> selection ->
 *              calibration -> inference with exceptions
 *
 * Locality: the prediction of a cell reads X' only at offsets of at most
 * E2_HALO cells along each used axis (clamped at the field's borders) and
 * the aux / mask of the cell itself, so a box of the output needs X' on the
 * box grown by E2_HALO along the used axes (see gwlz_e2_apply_box). */
#ifndef GWLZ_ENH_V2_H
#define GWLZ_ENH_V2_H
#include "base/base.h"
#include "common.h"
#include "enhance/enhancer.h"

#define E2_HALO 3          /* largest tap offset along a used axis            */
#define E2_MAXF 14         /* features for 3 used axes: 2 + 4k                 */
#define E2_MAXFP 16        /* E2_MAXF rounded up to a multiple of 4            */
#define E2_NLINES 13       /* tap rows of a segment (3 used axes)              */
#define E2_MAXFL 5         /* at most 2^5 value bins                          */
#define E2_MAXCTX 32       /* contexts of a rule                              */
#define E2_MAXGROUPS (E2_MAXCTX << E2_MAXFL)
#define E2_SEG 128         /* cells per row segment                           */
#define E2_NONE 0xFFFFu    /* group index of a cell without a group           */
#define E2_ARCH_SYM 32     /* the one v2 linear architecture                  */
#define E2_NOGROUP 0x80000000u /* kernel slot of a cell without a group (flagged) */
#define E2_AMP_DEN 64

/* Geometry: extents of 1 removed; the used axes are the last k. Rows run
 * along the fastest axis; row r holds cells r*nx .. r*nx + nx - 1. */
typedef struct {
  gwlz_type type;
  int nd;                 /* squeezed dims, 1..4                          */
  size_t N[4];            /* squeezed extents, slowest first              */
  int k;                  /* used axes: min(nd, 3)                        */
  size_t nx, ny, nz;      /* extents of the used axes (1 when unused)     */
  size_t nrows;           /* n / nx                                       */
  size_t n;
  double eb;
  const void *const *rowp; /* NULL: rows are contiguous (row r at r * nx);
                              else the start of each row the taps read
                              (the encoder's sample boxes)               */
} e2_geom;

/* Features: index of the first feature of each family (m = count). */
typedef struct {
  int m;                  /* 2 + 4k                                       */
  int l1, h, l3, l2;      /* first index of L1[a], H[a], L3[a], L2[a]     */
  int npre;               /* number of allowed prefix lengths             */
  int pre[8];             /* allowed prefix lengths, ascending            */
} e2_feats;

/* A decoded (or chosen) model set. */
typedef struct {
  int clamp_code;         /* 0: none (2^24), c >= 1: 2^(c-1)              */
  int rule;               /* context rule: bit 0 coded, bits 1-2 level cap, bit 3 pass */
  int nctx;
  int fl;                 /* 2^fl fine value bins                         */
  double lo, hi;          /* value range used for the outer groups        */
  double bnd[1 << E2_MAXFL]; /* fine boundaries b_1 .. b_{nb-1}           */
  int8_t j[E2_MAXCTX];    /* merge level per context, -1 = no groups      */
  int gbase[E2_MAXCTX + 1];
  int ngroups;
  uint8_t ctx_of[256];    /* context of an aux byte, 0xFF = none          */
  /* per group */
  uint8_t kept[E2_MAXGROUPS];
  uint8_t amp[E2_MAXGROUPS];     /* 1..64                                 */
  uint8_t pfx[E2_MAXGROUPS];     /* prefix length, 1..m                   */
  uint8_t shift[E2_MAXGROUPS];   /* w = q * 2^-shift                      */
  uint8_t width[E2_MAXGROUPS];   /* bits per q, 2..24                     */
  float w[E2_MAXGROUPS][E2_MAXFP];
  double mid[E2_MAXGROUPS], inv[E2_MAXGROUPS];
  float midf[E2_MAXGROUPS], invf[E2_MAXGROUPS]; /* the same as float (centre feature) */
  float fbnd[1 << E2_MAXFL];     /* float thresholds: v >= fbnd[k] <=> (double)v >= bnd[k] */
  int mmax;               /* largest prefix over kept groups (0: none)   */
  /* lookup tables of the inference (gwlz_e2_model_prepare): the group of
   * (aux, value bin); with at most 64 kept groups every kept group has a
   * fixed slot in the weight tables, else slots are given per segment */
  uint16_t lut[256 << E2_MAXFL];
  uint32_t lutrow[256 << E2_MAXFL]; /* global mode: the slot (E2 kernel row) */
  int gmode, nslot;
  uint8_t gslot[E2_MAXGROUPS];
  uint16_t slotgrp[64];
  float tw[E2_MAXFP * 64], tmid[64], tinv[64], tamp[64];
} e2_model;

/* Per-thread scratch of one row segment. */
typedef struct {
  float F[E2_MAXFP * E2_SEG];            /* feature q of cell x: F[q*E2_SEG + x] */
  double line[1][E2_SEG + 2 * E2_HALO];  /* the padded centre line (working type) */
  uint16_t gi[E2_SEG];
  float r[E2_SEG];
  float amp[E2_SEG];                     /* amplitude of each cell's group (0: none) */
  uint32_t stamp[E2_MAXGROUPS];          /* slot bookkeeping of seg_predict      */
  uint8_t slot[E2_MAXGROUPS];
  uint32_t seg_id;
  int row_ready;                         /* S->row filled by seg_groups          */
  int need_gi;                           /* seg_groups: fill S->gi with fixed slots too */
  uint32_t row[E2_SEG];                  /* slot of each cell                    */
  float wt[E2_MAXFP * (E2_SEG + 1)];     /* weights by slot: wt[q*(E2_SEG+1)+slot] */
  float smid[E2_SEG + 1], sinv[E2_SEG + 1], samp[E2_SEG + 1];
} e2_scratch;
/* Scratch must start zeroed (calloc). */

/* ---- kernel.c ------------------------------------------------------------- */
/* Vector paths the kernel may use: 0 scalar only, 1 up to AVX2, 2 up to
 * AVX-512 (default; each used only where the CPU has it). All give the same
 * bytes; tests lower it to compare. */
extern int gwlz_e2_isa;
gwlz_error gwlz_e2_geom(const gwlz_enh_params *p, e2_geom *g);
void gwlz_e2_feats_of(int k, e2_feats *fs);
float gwlz_e2_clamp_value(int clamp_code);
/* ctx_of[] from the rule (and nctx); 0 on success. */
int gwlz_e2_rule_contexts(int rule, uint8_t *ctx_of, int *nctx);
/* gbase, mid/inv per group from rule, fl, j, bnd, lo, hi. */
void gwlz_e2_model_layout(e2_model *M);
/* mmax and the lookup tables from kept, pfx, w, amp (after any change). */
void gwlz_e2_model_prepare(e2_model *M);
/* Features 2..nf-1 of the cells x0 .. x0+len-1 of row r into S->F (feature 1,
 * the centre, is left to the caller). xr: X' of the whole field (only the
 * cells within E2_HALO of the segment along the used axes are read). */
void gwlz_e2_seg_features(const e2_geom *g, const void *xr, size_t r, size_t x0, size_t len, int nf,
                          float clampv, e2_scratch *S);
/* Group of each cell of the segment under model M (aux/mask NULL = all
 * zero): with fixed slots (M->gmode) the kernel's slot of each cell into
 * S->row (E2_NOGROUP: not corrected) and, when S->need_gi, the group into
 * S->gi; else the group into S->gi (E2_NONE: not corrected). A caller that
 * removes a cell (exception) marks it in the array it was given. */
void gwlz_e2_seg_groups(const e2_model *M, const e2_geom *g, const void *xr, const uint8_t *aux,
                        const uint8_t *mask, size_t i0, size_t len, e2_scratch *S);
/* Prediction S->r[x] and, when out is not NULL, the output values of the
 * segment's cells (type T; X' bit for bit where S->gi[x] is E2_NONE), for the
 * groups in S->gi (from gwlz_e2_seg_groups). */
void gwlz_e2_seg_run(const e2_model *M, const e2_geom *g, const void *xr, size_t r, size_t x0,
                     size_t len, e2_scratch *S, void *out);
/* The correction rule of §10.6 for one cell. */
double gwlz_e2_apply1(gwlz_type t, double xr, double eb, float r, int code);
/* Decoder: data holds X' and receives the output (in place, row segments
 * applied once no later prediction reads them); exc: sorted positions. */
gwlz_error gwlz_e2_decode_apply(const e2_model *M, const e2_geom *g, void *data, const uint8_t *aux,
                                const uint8_t *mask, const size_t *exc, size_t nexc, int threads);
/* Inference on a box: out (box-shaped, C order over the squeezed extents
 * hi[a] - lo[a]) receives the enhanced values of the cells lo <= c < hi
 * (squeezed coordinates). Reads X' only on the box grown by E2_HALO along the
 * used axes; gives the very bytes of the whole-field decoder. */
gwlz_error gwlz_e2_apply_box(const e2_model *M, const e2_geom *g, const void *xr, const uint8_t *aux,
                             const uint8_t *mask, const size_t *exc, size_t nexc, const size_t *lo,
                             const size_t *hi, void *out);

/* ---- payload.c ------------------------------------------------------------ */
void gwlz_e2_write_models(const e2_model *M, const e2_geom *g, gwlz_wbuf *out);
gwlz_error gwlz_e2_parse_models(const uint8_t *p, size_t size, const e2_geom *g, e2_model *M);
/* Bytes the parameters of one group take (header bits included), rounded up
 * to bits / 8 as a double. */
double gwlz_e2_group_bits(int pfx, int width);
gwlz_error gwlz_e2_write_exceptions(const size_t *pos, size_t cnt, gwlz_wbuf *out);
/* Positions, sorted, each < n; *pos is malloc'ed (NULL when cnt is 0). */
gwlz_error gwlz_e2_parse_exceptions(const uint8_t *p, size_t size, size_t n, size_t **pos,
                                    size_t *cnt);
/* Estimated EXCP bytes for cnt positions among n cells. */
double gwlz_e2_exc_bytes(size_t cnt, size_t n);

/* ---- stages.c ------------------------------------------------------------- */
/* The whole field at once: y (may be NULL, p->err_scale > 0) the output. */
gwlz_error gwlz_e2_compress(const gwlz_enh_params *p, const void *x, const void *xr, void *y,
                            gwlz_wbuf *models, gwlz_wbuf *exceptions, gwlz_enh_stats *st);

/* The encoder in steps, for a field held a window of rows at a time
 * (stream.c). A window holds X', aux and mask (NULL: all zero) of the field's
 * rows row0 .. row0 + g->nrows - 1 (g: the field's geometry with its first
 * extent cut to the window; rows of the squeezed field, row = cell / nx) and
 * the originals of the rows from xrow0 on. The bytes are those of
 * gwlz_e2_compress on the whole field:
 *
 *   open(p, NULL, NULL)            sample plan (positions only)
 *   sample(window, r0, r1) ...     keep the sampled segments of rows [r0, r1)
 *                                  (every row once; the window must hold
 *                                  E2_HALO rows of taps around them)
 *   train(&active)                 bins, clamp, fit, selection, calibration
 *   infer(window, r0, r1, NULL)... when active: every row once, in order
 *   finish(NULL, models, exceptions, stats)
 *
 * open(p, x, xr) takes the whole field instead (no sample calls). */
typedef struct {
  const e2_geom *g;
  size_t row0;
  const void *xr;
  const uint8_t *aux, *mask;
  const void *x;
  size_t xrow0;
} gwlz_e2_window;
typedef struct gwlz_e2_enc_ gwlz_e2_enc;
gwlz_error gwlz_e2_enc_open(const gwlz_enh_params *p, const void *x, const void *xr,
                            gwlz_e2_enc **E);
gwlz_error gwlz_e2_enc_sample(gwlz_e2_enc *E, const gwlz_e2_window *w, size_t r0, size_t r1);
gwlz_error gwlz_e2_enc_train(gwlz_e2_enc *E, int *active);
gwlz_error gwlz_e2_enc_infer(gwlz_e2_enc *E, const gwlz_e2_window *w, size_t r0, size_t r1,
                             void *y);
gwlz_error gwlz_e2_enc_finish(gwlz_e2_enc *E, void *y, gwlz_wbuf *models, gwlz_wbuf *exceptions,
                              gwlz_enh_stats *st);
void gwlz_e2_enc_close(gwlz_e2_enc *E);
/* Processes: part `part` of `parts` takes a range of whole accumulators
 * (GWLZ_ERR_BLOCK segments each) for sample() and infer(); *r0, *r1 the rows
 * it needs (plus the halo). Between the steps the parts exchange, every one
 * receiving every part's export in order (import): the samples after the
 * sample pass, the accumulators (with the base's error) after the sample
 * pass and after the inference; train and finish then run on every part
 * with the same bytes. */
#define GWLZ_E2_SAMPLES 1
#define GWLZ_E2_SUMS 2
void gwlz_e2_enc_part(gwlz_e2_enc *E, int part, int parts, size_t *r0, size_t *r1);
gwlz_error gwlz_e2_enc_export(const gwlz_e2_enc *E, int what, gwlz_wbuf *out);
gwlz_error gwlz_e2_enc_import(gwlz_e2_enc *E, int what, const uint8_t *p, size_t size);
/* The base's error summed over the accumulators in order: the value of
 * gwlz_err_blocked (with p->err_scale) over the sampled rows. */
void gwlz_e2_enc_base_error(const gwlz_e2_enc *E, double *sse, double *maxerr, size_t *count);
#endif
