/*
 * gwlz.h - the public interface of gwlz.
 *
 * gwlz compresses arrays of float32 or float64 values under a point-wise error
 * bound. A base compressor (multilevel interpolation prediction, error-controlled
 * quantization, Huffman coding, zstd) produces the reconstruction X'; small
 * per-group "enhancer" models, trained at compression time and stored in the
 * stream, then predict the residual X - X' so that the decoder returns a value
 * much closer to the original while the error bound still holds.
 *
 * Conventions
 *  - Every symbol starts with gwlz_ / GWLZ_.
 *  - Dimensions are given in C order, slowest first: an array data[nz][ny][nx]
 *    has ndims = 3 and dims = {nz, ny, nx}. (The command-line tool takes them
 *    fastest first, as SZ3 does, and reverses them.)
 *  - Functions return a gwlz_error; GWLZ_OK is 0. gwlz_error_string() names it.
 *  - The library never prints, never exits and never reads the environment.
 *  - A context is not safe to use from two threads at once; distinct contexts are
 *    independent.
 */
#ifndef GWLZ_H
#define GWLZ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols of the public interface; the shared library exports nothing else. */
#if defined(_WIN32) && defined(GWLZ_SHARED_BUILD)
#define GWLZ_API __declspec(dllexport)
#elif defined(__GNUC__) && defined(GWLZ_SHARED_BUILD)
#define GWLZ_API __attribute__((visibility("default")))
#else
#define GWLZ_API
#endif

#define GWLZ_VERSION_MAJOR 0
#define GWLZ_VERSION_MINOR 1
#define GWLZ_VERSION_PATCH 0
#define GWLZ_VERSION_NUMBER \
  (GWLZ_VERSION_MAJOR * 10000 + GWLZ_VERSION_MINOR * 100 + GWLZ_VERSION_PATCH)

/* Library version as "MAJOR.MINOR.PATCH"; independent of the stream format. */
GWLZ_API const char *gwlz_version_string(void);
/* Highest stream format version this library writes and reads. */
GWLZ_API unsigned gwlz_format_version(void);

#define GWLZ_MAX_DIMS 4

/* Stable error codes: values never change meaning; new codes are appended. */
typedef enum {
  GWLZ_OK = 0,
  GWLZ_ERR_GENERIC = 1,        /* unspecified failure */
  GWLZ_ERR_MEMORY = 2,         /* allocation failed */
  GWLZ_ERR_PARAM = 3,          /* invalid parameter or missing setting */
  GWLZ_ERR_DST_TOO_SMALL = 4,  /* destination buffer too small */
  GWLZ_ERR_TRUNCATED = 5,      /* stream ends before its declared content */
  GWLZ_ERR_CORRUPT = 6,        /* stream content is inconsistent */
  GWLZ_ERR_BAD_MAGIC = 7,      /* not a gwlz stream */
  GWLZ_ERR_VERSION = 8,        /* stream format version not supported */
  GWLZ_ERR_CHECKSUM = 9,       /* checksum mismatch: stream damaged */
  GWLZ_ERR_UNSUPPORTED = 10,   /* valid stream using a feature not built in */
  GWLZ_ERR_BOUND = 11,         /* internal check: the error bound would not hold */
  GWLZ_ERR_LOSSLESS = 12,      /* the lossless (zstd) stage failed */
  GWLZ_ERR_TOO_LARGE = 13,     /* sizes overflow size_t or the format's limits */
  GWLZ_ERR_INTERNAL = 14,      /* a bug: please report */
  GWLZ_ERR_IO = 15             /* a caller's read or write callback failed */
} gwlz_error;

GWLZ_API const char *gwlz_error_string(gwlz_error err);

typedef enum { GWLZ_TYPE_FLOAT = 0, GWLZ_TYPE_DOUBLE = 1 } gwlz_type;

/* Error-bound modes, as SZ3 defines them. */
typedef enum {
  GWLZ_EB_ABS = 0,          /* |x - x'| <= abs                                   */
  GWLZ_EB_REL = 1,          /* |x - x'| <= rel * (max - min)                     */
  GWLZ_EB_ABS_AND_REL = 2,  /* both hold: bound = min(abs, rel * range)          */
  GWLZ_EB_ABS_OR_REL = 3,   /* either holds: bound = max(abs, rel * range)       */
  GWLZ_EB_PSNR = 4          /* PSNR of the output >= psnr dB (see below)         */
} gwlz_eb_mode;
/* GWLZ_EB_PSNR: 20 log10(range) - 10 log10(MSE) of the decompressed output
 * (after enhancement), over the finite non-fill values with range = their
 * max - min, is at least the target. gwlz_compress searches the absolute
 * bound that reaches it with the smallest stream: it runs the base
 * compressor several times (typically 3-5) and the enhancer 1-3 times, and
 * keeps the smallest stream that reaches the target (never larger than
 * the base-only answer, groups = 0, at the same target). The stream records
 * the bound applied (gwlz_info.abs_bound); every value also stays within it.
 * A field with a single distinct regular value is stored losslessly. */

/* Residual enhancer applied on top of the base reconstruction. */
typedef enum {
  GWLZ_ENH_NONE = 0,    /* base compression only                               */
  GWLZ_ENH_LINEAR = 1,  /* per-group least-squares linear filter               */
  GWLZ_ENH_CNN = 2,     /* per-group tiny CNN trained at compression time      */
  GWLZ_ENH_AUTO = 3     /* the library's default choice                        */
} gwlz_enhancer;

/* CNN architectures (see docs/format.md for the exact layer layouts). */
typedef enum {
  GWLZ_ARCH_DEFAULT = 0, /* the library's best measured architecture           */
  GWLZ_ARCH_PAPER2D = 1  /* the GWLZ paper's model: 2-D 3x3 conv 1->9, BN,
                            ReLU, 3x3 conv 9->1 on slices, placeholder 0      */
} gwlz_arch;

/* Base compressors: what makes the reconstruction X' that the enhancer
 * improves. Every base holds the error bound. */
typedef enum {
  GWLZ_BASE_AUTO = 0,     /* chosen per field from sampled estimates (default) */
  GWLZ_BASE_INTERP = 1,   /* multilevel interpolation / Lorenzo prediction,
                             quantization, Huffman, zstd (SZ3 family)         */
  GWLZ_BASE_WAVELET = 2,  /* CDF 9/7 wavelets, context-modelled range coding
                             of the coefficients, point-wise corrections
                             (SPERR family)                                   */
  GWLZ_BASE_ZFP = 3       /* ZFP fixed-accuracy mode (through libzfp)         */
} gwlz_base;
#define GWLZ_BASE_COUNT 4

/* Short lowercase name of a base ("auto", "interp", "wavelet", "zfp"). */
GWLZ_API const char *gwlz_base_name(gwlz_base base);
/* 1 if this build of the library can compress and decompress with base. */
GWLZ_API int gwlz_base_available(gwlz_base base);

typedef enum {
  GWLZ_BOUND_STRICT = 0,  /* enhanced output within the bound everywhere       */
  GWLZ_BOUND_RELAXED = 1  /* correction clamped to +/-bound: error <= 2x bound */
} gwlz_bound_policy;

typedef struct gwlz_ctx gwlz_ctx;

/* Create a context with default parameters; NULL on allocation failure. */
GWLZ_API gwlz_ctx *gwlz_create(void);
/* Release a context; gwlz_free(NULL) does nothing. */
GWLZ_API void gwlz_free(gwlz_ctx *ctx);
/* Reset every parameter to its default (keeps allocated scratch memory). */
GWLZ_API void gwlz_reset(gwlz_ctx *ctx);

/* ---- parameters (compression) ------------------------------------------- */
GWLZ_API gwlz_error gwlz_set_type(gwlz_ctx *ctx, gwlz_type type);
/* ndims in 1..GWLZ_MAX_DIMS, dims in C order (slowest first), each >= 1. */
GWLZ_API gwlz_error gwlz_set_dims(gwlz_ctx *ctx, int ndims, const size_t *dims);
/* abs, rel and psnr are read according to mode; unused ones are ignored.
 * abs >= 0, rel >= 0, psnr > 0. A bound of 0 means lossless for finite values. */
GWLZ_API gwlz_error gwlz_set_error_bound(gwlz_ctx *ctx, gwlz_eb_mode mode, double abs,
                                double rel, double psnr);
/* Cells equal to value (compared bit-exactly after conversion to the data type,
 * or with value NaN any NaN) come back exactly and are left out of the value
 * range, of REL bounds and of the statistics. */
GWLZ_API gwlz_error gwlz_set_fill_value(gwlz_ctx *ctx, double value);
GWLZ_API gwlz_error gwlz_clear_fill_value(gwlz_ctx *ctx);
/* Threads for the parallel parts (chunks of the base, enhancer training and
 * inference);
 * 0 = all available, 1 = none (default 1). Output bytes do not depend on it. */
GWLZ_API gwlz_error gwlz_set_threads(gwlz_ctx *ctx, int threads);

/* Base compressor (default GWLZ_BASE_AUTO); GWLZ_ERR_UNSUPPORTED for a base
 * not built into this library. */
GWLZ_API gwlz_error gwlz_set_base(gwlz_ctx *ctx, gwlz_base base);

/* Speed against ratio. GWLZ_SPEED_DEFAULT: the best ratio the library
 * knows (the interp base searches a per-level schedule and codes with
 * context-modelled range coding; GWLZ_BASE_AUTO estimates every base).
 * GWLZ_SPEED_FAST: one pass, no searches: the interp base writes its
 * single-schedule payload (Huffman + zstd, format.md modes 1 and 2, about
 * 4x faster to compress and 3x to decompress than the default, 10-40% larger
 * at equal quality) and GWLZ_BASE_AUTO means GWLZ_BASE_INTERP. The other
 * bases and the enhancer are unchanged (-G 0 for the base alone). Every
 * decoder reads both; the bound holds either way. */
typedef enum { GWLZ_SPEED_DEFAULT = 0, GWLZ_SPEED_FAST = 1 } gwlz_speed;
GWLZ_API gwlz_error gwlz_set_speed(gwlz_ctx *ctx, gwlz_speed speed);

/* ---- parameters (enhancer) ---------------------------------------------- */
/* Number of value groups G (0 = base only; default GWLZ_DEFAULT_GROUPS). */
#define GWLZ_DEFAULT_GROUPS 20
#define GWLZ_MAX_GROUPS 256
GWLZ_API gwlz_error gwlz_set_groups(gwlz_ctx *ctx, int groups);
GWLZ_API gwlz_error gwlz_set_enhancer(gwlz_ctx *ctx, gwlz_enhancer enhancer);
GWLZ_API gwlz_error gwlz_set_arch(gwlz_ctx *ctx, gwlz_arch arch);
/* Training epochs (0 = library default). */
GWLZ_API gwlz_error gwlz_set_epochs(gwlz_ctx *ctx, int epochs);
/* Training time budget in seconds (<= 0 = no budget beyond the epochs).
 * A budget makes the output depend on machine speed; epochs alone do not. */
GWLZ_API gwlz_error gwlz_set_train_seconds(gwlz_ctx *ctx, double seconds);
GWLZ_API gwlz_error gwlz_set_bound_policy(gwlz_ctx *ctx, gwlz_bound_policy policy);
/* Seed for training initialisation and sampling (default fixed). */
GWLZ_API gwlz_error gwlz_set_seed(gwlz_ctx *ctx, uint64_t seed);

/* Progress of long steps (training): called from the calling thread with a
 * fraction in [0,1] and a short static stage name. NULL disables. */
typedef void (*gwlz_progress_fn)(void *user, const char *stage, double fraction);
GWLZ_API gwlz_error gwlz_set_progress(gwlz_ctx *ctx, gwlz_progress_fn fn, void *user);

/* ---- compression -------------------------------------------------------- */
/* Upper bound of the compressed size for the context's current type and dims;
 * 0 if they are not set or the size overflows. */
GWLZ_API size_t gwlz_compress_bound(const gwlz_ctx *ctx);
/* Compress src (type and dims as set on ctx) into dst[0..dst_capacity).
 * On success *dst_size receives the stream size. */
GWLZ_API gwlz_error gwlz_compress(gwlz_ctx *ctx, const void *src, void *dst,
                         size_t dst_capacity, size_t *dst_size);

/* ---- decompression ------------------------------------------------------ */
typedef struct {
  unsigned format_version;
  gwlz_type type;
  int ndims;
  size_t dims[GWLZ_MAX_DIMS]; /* C order, slowest first                     */
  size_t num_values;
  size_t decompressed_bytes;
  gwlz_eb_mode eb_mode;
  double abs_bound;           /* the absolute bound that was applied         */
  int has_fill;
  double fill_value;
  gwlz_enhancer enhancer;     /* GWLZ_ENH_NONE when no model is stored       */
  int groups;                 /* groups that carry a model                   */
  gwlz_bound_policy bound_policy;
  gwlz_base base;             /* base that made X' (AUTO: stored losslessly) */
  double eb_abs, eb_rel, eb_psnr; /* the bound values as given at compression
                                 (those eb_mode does not use are 0)         */
} gwlz_info;

/* Read a stream's header without decompressing; checks the header only. */
GWLZ_API gwlz_error gwlz_get_info(const void *src, size_t src_size, gwlz_info *info);
/* Check a whole stream without decompressing it: container, checksums, every
 * section's structure and the sizes it declares against the field, i.e.
 * everything gwlz_decompress checks before it decodes the BASE section. Cheap:
 * it allocates at most the decoded SPEC description and EXCP list, each
 * bounded by its section's size. GWLZ_OK does not promise that decompression
 * succeeds (the BASE content is checked as it is decoded), but a caller that
 * checks first allocates the output only for a stream that passed; see
 * docs/format.md §11.1 for what gwlz_decompress allocates. */
GWLZ_API gwlz_error gwlz_check_stream(const void *src, size_t src_size);

/* One section of a stream, as gwlz_get_sections lists them. */
typedef struct {
  char tag[5];      /* the 4-character tag ("SPEC", "BASE", "ENHM", "EXCP",
                       "END!", or an optional section's), NUL-terminated   */
  size_t offset;    /* of the payload, from the start of the stream        */
  size_t size;      /* payload bytes                                        */
} gwlz_section_info;

/* List the sections of a whole stream in stream order (END! last) after
 * checking its container and checksums: writes at most max entries to secs;
 * *count receives the number of sections. */
GWLZ_API gwlz_error gwlz_get_sections(const void *src, size_t src_size, gwlz_section_info *secs,
                                      int max, int *count);
/* Decompress a whole stream into dst (info.decompressed_bytes bytes).
 * Every length is checked; a damaged stream gives an error, never a crash. */
GWLZ_API gwlz_error gwlz_decompress(gwlz_ctx *ctx, const void *src, size_t src_size,
                           void *dst, size_t dst_capacity);
/* skip = 1: gwlz_decompress on this context returns the base reconstruction
 * X' (the enhancer sections are not applied; NaN/Inf/fill cells are still
 * restored), e.g. to show what the enhancer changed. 0 (default): the full
 * output. Compression is not affected. */
GWLZ_API gwlz_error gwlz_set_skip_enhancer(gwlz_ctx *ctx, int skip);

/* ---- chunks, streaming and random access --------------------------------
 * An array with more values than the chunk size is cut into a fixed grid of
 * chunks (boxes of about that many values, found from the dims and the chunk
 * size alone), each compressed on its own, with an index in the stream
 * (docs/format.md §9.11). The chunks are what the threads share out and what
 * a region decoder reads; the stream's bytes never depend on the number of
 * threads. Arrays of at most the chunk size are one piece. */
#define GWLZ_DEFAULT_CHUNK_SIZE ((size_t)1 << 21)
/* Chunk size in values: 0 = GWLZ_DEFAULT_CHUNK_SIZE, else 1..2^30. */
GWLZ_API gwlz_error gwlz_set_chunk_size(gwlz_ctx *ctx, size_t values);

/* Reads size bytes at byte offset of the caller's source into buf; returns
 * 0 when all of them were read, non-zero on failure (GWLZ_ERR_IO). Called
 * from one thread at a time. */
typedef int (*gwlz_read_fn)(void *user, uint64_t offset, void *buf, size_t size);
/* Takes the next size bytes of the output; returns 0 on success, non-zero
 * on failure (GWLZ_ERR_IO). Called from one thread at a time, in order. */
typedef int (*gwlz_write_fn)(void *user, const void *buf, size_t size);

/* Compress as gwlz_compress does (the same bytes), reading the input
 * (num_values * value size bytes, type and dims as set on ctx) through read
 * and handing the stream to write; *stream_size (may be NULL) receives its
 * size. Chunked arrays without an enhancer (and not in PSNR mode, whose
 * bound search runs the whole pipeline several times) are read and
 * compressed a group of chunks at a time, so memory stays bounded by a few
 * chunk rows plus the compressed stream, whatever the array's size; the input
 * may be read more than once (a relative bound needs the value range first).
 * Otherwise the input is read whole and gwlz_compress does the work. */
GWLZ_API gwlz_error gwlz_compress_stream(gwlz_ctx *ctx, gwlz_read_fn read, void *read_user,
                                         gwlz_write_fn write, void *write_user,
                                         uint64_t *stream_size);
/* Decompress the stream of src_size bytes behind read, handing the values
 * (info.decompressed_bytes bytes, C order) to write. Chunked streams without
 * an enhancer are decoded a row of chunks at a time (memory: about two chunk
 * rows); others are read and decoded whole. */
GWLZ_API gwlz_error gwlz_decompress_stream(gwlz_ctx *ctx, gwlz_read_fn read, void *read_user,
                                           uint64_t src_size, gwlz_write_fn write,
                                           void *write_user);
/* Decode the box lo[i] <= index[i] < hi[i] (C order, slowest first, one
 * pair per dimension of the stream) into dst, as a C-order array of
 * extents hi[i] - lo[i]; byte-identical to the same box of a full decode.
 * Only the chunks that the box meets are read and decoded (the whole stream
 * when it is not chunked or carries an enhancer). An empty box is valid. */
GWLZ_API gwlz_error gwlz_decompress_region(gwlz_ctx *ctx, const void *src, size_t src_size,
                                           const size_t *lo, const size_t *hi, void *dst,
                                           size_t dst_capacity);
/* The same from a stream behind a read callback: reads the header, the
 * section frames, the chunk index and the chunks the box meets. */
GWLZ_API gwlz_error gwlz_decompress_region_stream(gwlz_ctx *ctx, gwlz_read_fn read,
                                                  void *read_user, uint64_t src_size,
                                                  const size_t *lo, const size_t *hi, void *dst,
                                                  size_t dst_capacity);

/* ---- statistics of the last gwlz_compress on this context ---------------- */
typedef struct {
  double abs_bound;          /* absolute bound applied                       */
  double value_min, value_max; /* over finite, non-fill values               */
  size_t num_values;
  size_t num_special;        /* NaN, Inf and fill cells stored exactly       */
  size_t num_unpredictable;  /* values stored exactly by the quantizer       */
  size_t base_bytes;         /* base section (without enhancer sections)     */
  size_t enhancer_bytes;     /* model section                                */
  size_t exception_bytes;    /* strict-bound exception list                  */
  size_t exceptions;         /* positions where the enhancement was refused  */
  size_t total_bytes;        /* the whole stream                             */
  int groups_requested;
  int groups_kept;           /* groups whose model was stored                */
  gwlz_enhancer enhancer;    /* enhancer actually used                       */
  double base_psnr;          /* PSNR of X' (dB; INFINITY if exact)           */
  double enhanced_psnr;      /* PSNR of the decoder's output                 */
  double base_max_err;       /* max |x - x'| over finite non-fill values      */
  double enhanced_max_err;
  double base_seconds;       /* base compression wall time                   */
  double train_seconds;      /* enhancer training wall time                  */
  double enhance_seconds;    /* inference + exception search                */
  int epochs_run;
  gwlz_base base;            /* base used (AUTO: stored losslessly)          */
  int psnr_base_runs;        /* GWLZ_EB_PSNR: trial runs without and with    */
  int psnr_enh_runs;         /* the enhancer of the bound search (else 0)    */
} gwlz_stats;

GWLZ_API gwlz_error gwlz_get_stats(const gwlz_ctx *ctx, gwlz_stats *stats);

#ifdef __cplusplus
}
#endif
#endif /* GWLZ_H */
