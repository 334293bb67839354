/* stream.h - the chunked pipelines (stream.c): an array cut into a fixed grid
 * of chunks (format/chunks.h), compressed and decoded chunk by chunk, in
 * parallel over chunks, from memory or through the caller's callbacks, with
 * random access to regions. Also the pieces that a distributed writer
 * (tools/gwlz-mpi.c) assembles into the very stream the serial path writes.
 * Internal: not part of the public interface. */
#ifndef GWLZ_STREAM_H
#define GWLZ_STREAM_H
#include "format/chunks.h"
#include "format/container.h"
#include "enhance/enhancer.h"
#include "format/special.h"
#include "gwlz.h"

/* What the chunked pipelines need of a context (api.c fills it). */
typedef struct {
  gwlz_type type;
  int ndims;
  size_t dims[GWLZ_MAX_DIMS];
  size_t n;
  int has_fill;
  double fill;
  gwlz_base base;
  int fast;          /* GWLZ_SPEED_FAST                                  */
  int threads;       /* resolved, >= 1                                   */
  size_t chunk;      /* resolved chunk size in values                    */
  int enhance;       /* the settings ask for an enhancer                 */
  int range_needed;  /* the absolute bound depends on the value range    */
  int psnr;          /* PSNR mode: the bound is searched with trial runs
                        of the whole pipeline (api.c), not streamed     */
  int groups;        /* as set (for the statistics)                      */
  int enh_windows;   /* the enhancer can be trained and run a window of
                        rows at a time (version 2 linear kind)           */
} gwlz_settings;

/* ---- provided by api.c ---------------------------------------------------- */
void gwlz_ctx_settings(const gwlz_ctx *ctx, gwlz_settings *s);
/* The absolute bound for the regular values' range: finite of them, from min
 * to max (as gwlz_compress computes it, huge float64 ranges included). */
gwlz_error gwlz_ctx_bound(const gwlz_ctx *ctx, size_t finite, double min, double max,
                          double *eb);
/* The stream header gwlz_compress writes for bound eb. */
void gwlz_ctx_header(const gwlz_ctx *ctx, double eb, gwlz_header *h);
/* The statistics of the last compression (NULL: none). */
void gwlz_ctx_put_stats(gwlz_ctx *ctx, const gwlz_stats *st);
/* The enhancer's parameters of the settings at bound eb (geometry, kind,
 * threads, seed, policy, progress; mask, aux, prices and err_scale left 0). */
void gwlz_ctx_enh_params(const gwlz_ctx *ctx, double eb, gwlz_enh_params *ep);
/* The unit of squared errors in the statistics: a power of two near the half
 * range (an exact scaling that keeps the squares of huge errors finite). */
double gwlz_err_scale(double half_range);
/* What an enhanced run measured, for gwlz_ctx_enh_verdict. */
typedef struct {
  double base_sse, base_max;  /* of X' over the regular cells (sse in err_scale units) */
  size_t nreg;                /* regular cells                                  */
  double range_units;         /* value range in err_scale units                 */
  size_t raw_bytes;           /* n * value size                                 */
  size_t base_stream;         /* bytes of the stream without enhancer sections  */
  double rd_slope;            /* the price of the enhancer's bytes              */
  size_t models_size, exc_size; /* enhancer payloads (0: none)                  */
  const gwlz_enh_stats *es;   /* the enhancer's statistics (NULL: not run)      */
} gwlz_enh_outcome;
/* The rule of every enhanced run: the enhancer is kept (*enhanced) only when
 * it pays for its bytes at the base's rate-distortion slope; st receives the
 * quality and enhancer statistics; GWLZ_ERR_BOUND if the bound is not met. */
gwlz_error gwlz_ctx_enh_verdict(const gwlz_ctx *ctx, double eb, const gwlz_enh_outcome *oc,
                                gwlz_stats *st, int *enhanced);
/* Settings for decoding: only threads matter. */
int gwlz_ctx_threads(const gwlz_ctx *ctx);
/* gwlz_set_skip_enhancer was called with a non-zero value. */
int gwlz_ctx_skips_enhancer(const gwlz_ctx *ctx);

/* ---- chunked compression -------------------------------------------------- */
/* 1 when arrays of these settings are written chunked (more than one chunk). */
int gwlz_chunked_applies(const gwlz_settings *s);
/* gwlz_compress of a chunked array without an enhancer: the whole stream. */
gwlz_error gwlz_chunked_compress(gwlz_ctx *ctx, const void *src, void *dst, size_t dst_capacity,
                                 size_t *dst_size);
/* 1 when gwlz_chunked_compress_windows takes arrays of these settings: the
 * enhancer (version 2) trained and run on a window of chunk rows at a time
 * over the decoded base-only stream, the input read again by slices. */
int gwlz_chunked_windows_apply(const gwlz_settings *s);
/* gwlz_compress of such an array: the whole stream. */
gwlz_error gwlz_chunked_compress_windows(gwlz_ctx *ctx, const void *src, void *dst,
                                         size_t dst_capacity, size_t *dst_size);
/* The chunked BASE payload of src under bound eb, for the enhancer path of
 * gwlz_compress: appended to base; recon (n values) receives X', aux (NULL
 * or n bytes) the side information, and when the array has special cells
 * (nspecial > 0, from the caller's scan) work (n values) the chunk-local
 * working copies and mask (n bytes, zeroed) the special cells. */
gwlz_error gwlz_chunked_base(const gwlz_settings *s, double eb, const void *src, size_t nspecial,
                             void *work, uint8_t *mask, void *recon, uint8_t *aux,
                             gwlz_wbuf *base, gwlz_base_info *info);
/* The chunk-local working copies (work, n values) and special-cell mask
 * (mask, n bytes) of src, as the chunks' compression makes them. */
gwlz_error gwlz_chunked_specials(const gwlz_settings *s, const void *src, void *work,
                                 uint8_t *mask);
/* Extra bytes gwlz_compress_bound allows for the chunk index and records. */
size_t gwlz_chunked_bound_extra(const gwlz_settings *s);

/* ---- chunked decoding (in memory, from gwlz_decompress) ------------------- */
/* Decode a chunked BASE payload into dst (the whole array); aux and mask
 * (NULL or n bytes, mask zeroed) as gwlz_base_decompress and
 * gwlz_special_decode give them; put_specials: write the special cells'
 * bit patterns now (else call gwlz_chunked_put_specials after the enhancer);
 * *nspecial receives the number of special cells. */
gwlz_error gwlz_chunked_decode(const gwlz_header *h, const uint8_t *payload, size_t size,
                               int threads, void *dst, uint8_t *aux, uint8_t *mask,
                               int put_specials, size_t *nspecial);
gwlz_error gwlz_chunked_put_specials(const gwlz_header *h, const uint8_t *payload, size_t size,
                                     int threads, void *dst);
/* Every check of a chunked BASE payload that needs no decoded values: grid,
 * index and its CRC, every record's CRC, SPEC payload and BASE prefix (and
 * raw block). */
gwlz_error gwlz_chunked_check(const gwlz_header *h, const uint8_t *payload, size_t size);
/* The base of the first chunk of a chunked payload (for gwlz_get_info). */
gwlz_error gwlz_chunked_peek_base(const gwlz_header *h, const uint8_t *payload, size_t size,
                                  gwlz_base *base);

/* ---- pieces for a distributed writer ----------------------------------------
 * A writer that spreads the chunks over processes (each one reading and
 * compressing its own chunks) makes the same stream as gwlz_compress_stream:
 * 1. gwlz_part_scan on each chunk; the value range is the min of the mins
 *    and the max of the maxes over chunks with finite > 0;
 * 2. gwlz_ctx_bound on that range gives eb;
 * 3. gwlz_part_record for each chunk (its box's values in C order);
 * 4. gwlz_part_head with every chunk's entry writes what precedes record 0;
 *    gwlz_part_tail what follows the last record. */
void gwlz_part_grid(const gwlz_settings *s, gwlz_grid *g);
void gwlz_part_scan(const gwlz_settings *s, const void *box, size_t m, gwlz_special_scan *sc);
gwlz_error gwlz_part_record(const gwlz_settings *s, const gwlz_grid *g, size_t k,
                            const void *box, double eb, gwlz_wbuf *rec, gwlz_chunk_entry *entry);
gwlz_error gwlz_part_head(const gwlz_ctx *ctx, const gwlz_grid *g, double eb,
                          const gwlz_chunk_entry *entries, gwlz_wbuf *head);
/* crc_head, head_size: CRC-32C and size of what gwlz_part_head wrote. */
void gwlz_part_tail(uint32_t crc_head, const gwlz_grid *g, const gwlz_chunk_entry *entries,
                    gwlz_wbuf *tail);

/* 5. With the enhancer (arrays gwlz_chunked_windows_apply takes): once the
 *    base-only stream (steps 1-4) is complete, every process calls
 *    gwlz_part_enhance with a reader over that stream and the input behind
 *    read_in; the processes exchange the enhancer's samples and sums through
 *    comm (every one receives the concatenation of every one's bytes in
 *    rank order); each one ends with the same models, exceptions and
 *    outcome, and gwlz_ctx_enh_verdict says whether the stream is the
 *    base-only one or that stream without its END followed by ENHM, EXCP
 *    and END (gwlz_part_enh_tail). vmin, vmax: the regular values' range. */
typedef struct {
  int part, parts;
  /* mine NULL: this process failed (it still takes part); all receives the
   * concatenation; an error if any process failed */
  gwlz_error (*allgather)(void *user, const gwlz_wbuf *mine, gwlz_wbuf *all);
  void *user;
} gwlz_part_comm;
typedef struct gwlz_reader gwlz_reader;
/* What a windowed enhancer run gives: its payloads (empty: none), its
 * statistics and the outcome the verdict needs (oc.es points to es). */
typedef struct {
  gwlz_wbuf models, exc;
  gwlz_enh_stats es;
  gwlz_enh_outcome oc;
} gwlz_enh_run;
void gwlz_enh_run_init(gwlz_enh_run *r);
void gwlz_enh_run_free(gwlz_enh_run *r);
/* rd NULL: this process could not open the stream; it still takes part in
 * the exchanges, which then fail on every process. */
gwlz_error gwlz_part_enhance(gwlz_ctx *ctx, const gwlz_settings *s, gwlz_read_fn read_in,
                             void *in_user, gwlz_reader *rd, uint64_t base_size, double eb,
                             double vmin, double vmax, const gwlz_part_comm *comm,
                             gwlz_enh_run *run);
/* What follows the base-only stream's bytes but its last 16 (END) in the
 * enhanced stream: ENHM, EXCP and END; end_crc: the base-only END's CRC. */
gwlz_error gwlz_part_enh_tail(uint32_t end_crc, const gwlz_wbuf *models, const gwlz_wbuf *exc,
                              gwlz_wbuf *tail);
/* ---- pieces for a distributed reader ---------------------------------------- */
/* Open a stream behind read (or in memory when mem != NULL): header, frames,
 * index and the stream CRC (from the index) are checked. */
gwlz_error gwlz_reader_open(gwlz_read_fn read, void *user, const void *mem, uint64_t size,
                            gwlz_reader **out);
void gwlz_reader_close(gwlz_reader *rd);
const gwlz_header *gwlz_reader_header(const gwlz_reader *rd);
/* The grid when the stream is chunked and carries no enhancer (NULL otherwise:
 * decode such streams whole). */
const gwlz_grid *gwlz_reader_grid(const gwlz_reader *rd);
/* Stream offsets [*rec0, *rend) of the records of a chunked stream (what
 * the index covers); 0, 0 when not chunked. */
void gwlz_reader_span(const gwlz_reader *rd, uint64_t *rec0, uint64_t *rend);
/* Stream offset and size of record k. */
void gwlz_reader_record(const gwlz_reader *rd, size_t k, uint64_t *off, uint64_t *size);
/* A chunked stream with a version 2 enhancer, decoded by processes: part
 * `part` of `parts` decodes planes [D part / parts, D (part + 1) / parts) of
 * dimension 0 (D = dims[0]) through the streaming decoder's window and
 * writes them in order; *offset (set before the first write) is the byte
 * offset of its first value in the output. GWLZ_ERR_PARAM: not such a
 * stream (decode it whole). */
gwlz_error gwlz_part_decode(gwlz_ctx *ctx, gwlz_read_fn read, void *read_user, uint64_t src_size,
                            int part, int parts, uint64_t *offset, gwlz_write_fn write,
                            void *write_user);
/* Decode the box [lo, hi) into dst (C order, extents hi - lo). */
gwlz_error gwlz_reader_decode(gwlz_reader *rd, const size_t *lo, const size_t *hi, void *dst,
                              int threads);
#endif
