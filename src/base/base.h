/* base.h - the base error-bounded compressors behind one interface.
 *
 * A base compresses a field of n finite values (specials already replaced by
 * the caller, see format/special.h) under an absolute bound into one BASE
 * section payload, and returns on the way the reconstruction X' that its
 * decoder will produce bit for bit. The enhancer then learns X - X',
 * whichever base made X'.
 *
 * Every BASE payload starts with the same two bytes (docs/format.md §9):
 *
 *   u8 version (1)   u8 mode
 *
 * and the mode says which implementation decodes the rest:
 *
 *   mode 0  raw (lossless zstd of the values; shared by every base, used for
 *           a bound of 0 and whenever a lossy payload would be larger)
 *   mode 1  interp: multilevel interpolation        (base/interp.c)
 *   mode 2  interp: first-order Lorenzo             (base/interp.c)
 *   mode 3  wavelet: CDF 9/7 + set partitioning     (base/wavelet.c)
 *   mode 4  zfp: ZFP fixed accuracy through libzfp  (base/zfp.c)
 *   mode 5  chunked: a grid of chunks, each with its own payload of one of
 *           the other modes (format/chunks.c; coded and decoded by
 *           stream.c, never by gwlz_base_decompress)
 *   mode 6  interp: scheduled interpolation with context-modelled range
 *           coding of the codes                     (base/interp.c)
 *
 * Implementations register in gwlz_base_impls (base.c); a base that is not
 * built in has a NULL entry, and its streams give GWLZ_ERR_UNSUPPORTED.
 */
#ifndef GWLZ_BASE_H
#define GWLZ_BASE_H
#include "common.h"

#define GWLZ_BASE_PAYLOAD_VERSION 1
#define GWLZ_BASE_MODE_RAW 0
#define GWLZ_BASE_MODE_INTERP 1
#define GWLZ_BASE_MODE_LORENZO 2
#define GWLZ_BASE_MODE_WAVELET 3
#define GWLZ_BASE_MODE_ZFP 4
#define GWLZ_BASE_MODE_CHUNKED 5 /* a grid of chunks (format/chunks.h, stream.c) */
#define GWLZ_BASE_MODE_INTERP2 6
#define GWLZ_BASE_NMODES 7

typedef struct {
  gwlz_type type;
  int ndims;                    /* 1..4                               */
  size_t dims[GWLZ_MAX_DIMS];   /* C order, slowest first             */
  size_t n;                     /* product of dims                    */
  double abs_eb;                /* >= 0; 0 = lossless                 */
  int threads;                  /* >= 1 (0 is read as 1); the payload
                                   never depends on it               */
  int fast;                     /* GWLZ_SPEED_FAST: one pass, no
                                   searches (interp: modes 1 and 2;
                                   auto: interp)                     */
  gwlz_ws *ws;                  /* NULL, or the calling thread's
                                   buffers kept between calls
                                   (decompress)                      */
} gwlz_base_params;

typedef struct {
  size_t unpredictable;         /* values stored exactly              */
  gwlz_base base;               /* the base that made the payload     */
  int mode;                     /* payload mode (GWLZ_BASE_MODE_*)    */
  double est_bits;              /* auto: estimated bits of the winner */
} gwlz_base_info;

/* ---- side information --------------------------------------------------
 * aux: one byte per value, produced identically by a base's compressor and
 * its decompressor (so the enhancer may use it as a feature or for
 * grouping). Bits:
 *   7  GWLZ_AUX_EXACT  the value is stored exactly (unpredictable, raw):
 *                      nothing to learn
 *   6  GWLZ_AUX_CODED  the value was quantized to a non-zero bin: its error
 *                      is quantization noise rather than prediction error
 *   0..5               a base-defined class:
 *                      interp (mode 1): level l (1 = finest; 0 = the origin)
 *                      in bits 0..3 (capped at 15), the pass index within
 *                      the level (0..3, the order in which dimensions are
 *                      interpolated) in bits 4..5;
 *                      interp (mode 6, interpolation): level l in bits 0..3
 *                      (1 = finest, capped at 15; the origin L + 1), in
 *                      bits 4..5 the step within the level (capped at 3):
 *                      the index of the pass among the level's 1-D passes
 *                      (frozen dimensions counted apart), or |S| - 1 for a
 *                      multi-dimensional step (the number of dimensions the
 *                      value is interpolated along, minus one);
 *                      Lorenzo (modes 2 and 6): 1;  raw: 0;  zfp (mode 4): 0;
 *                      other bases: documented in their source. */
#define GWLZ_AUX_EXACT 0x80
#define GWLZ_AUX_CODED 0x40
#define GWLZ_AUX_CLASS 0x3F

/* ---- one implementation ------------------------------------------------ */
typedef struct {
  gwlz_base id;
  const char *name;
  /* Compress data (n finite values of p->type) and append a whole BASE
   * payload (both prefix bytes included) to out. recon (n values) receives
   * X', |data[i] - recon[i]| <= abs_eb for every i, checked in double on the
   * values of the data type; aux (NULL or n bytes) the side information.
   * p->abs_eb >= DBL_MIN (smaller bounds never reach an implementation).
   * data and recon must not overlap. */
  gwlz_error (*compress)(const gwlz_base_params *p, const void *data, void *recon,
                         uint8_t *aux, gwlz_wbuf *out, gwlz_base_info *info);
  /* Decode a payload of one of the modes this base writes (the whole
   * payload, prefix included) into out (n values); aux as in compress. */
  gwlz_error (*decompress)(const gwlz_base_params *p, const uint8_t *payload, size_t size,
                           void *out, uint8_t *aux);
  /* Estimate, from a sample of the field, the payload bits per value and the
   * mean squared error this base would give at p->abs_eb. NULL: the base is
   * never chosen by GWLZ_BASE_AUTO. */
  gwlz_error (*estimate)(const gwlz_base_params *p, const void *data, double *bits_per_value,
                         double *mse);
} gwlz_base_impl;

/* Implementation of each public base id (NULL where not built in); index
 * GWLZ_BASE_AUTO is NULL. */
extern const gwlz_base_impl *const gwlz_base_impls[GWLZ_BASE_COUNT];
extern const gwlz_base_impl gwlz_base_interp; /* base/interp.c */
extern const gwlz_base_impl gwlz_base_zfp;    /* base/zfp.c (GWLZ_HAVE_ZFP) */

/* ---- dispatch ----------------------------------------------------------- */
/* Compress with the given base (GWLZ_BASE_AUTO: the estimates choose among
 * the built-in bases, see base.c). Falls back to the raw mode when the bound
 * is 0 (or below DBL_MIN) or the lossy payload is not smaller. */
gwlz_error gwlz_base_compress(const gwlz_base_params *p, gwlz_base which, const void *data,
                              void *recon, uint8_t *aux, gwlz_wbuf *out, gwlz_base_info *info);
/* Decode a BASE payload (any mode) into out (n values of p->type); aux NULL
 * or n bytes. */
gwlz_error gwlz_base_decompress(const gwlz_base_params *p, const uint8_t *payload,
                                size_t size, void *out, uint8_t *aux);
/* What can be checked of a BASE payload without decoding it (the decoder
 * does this before any other section is decoded): the prefix, a mode this
 * library decodes (GWLZ_ERR_UNSUPPORTED otherwise) and, for the raw mode, the
 * lossless block's sizes against the field. Allocates nothing. */
gwlz_error gwlz_base_check(const gwlz_base_params *p, const uint8_t *payload, size_t size);
/* The base that wrote a payload (from its mode byte), without decoding;
 * GWLZ_ERR_CORRUPT / GWLZ_ERR_VERSION / GWLZ_ERR_TRUNCATED on a bad prefix. */
gwlz_error gwlz_base_peek(const uint8_t *payload, size_t size, gwlz_base *base, int *mode);

/* ---- helpers for implementations ---------------------------------------- */
typedef struct {
  int nd;                       /* extents > 1 (1 for a single value) */
  size_t n[GWLZ_MAX_DIMS];      /* those extents, slowest first       */
  size_t total;
} gwlz_shape;

/* The extents of p without those equal to 1; checks p's dims against p->n. */
gwlz_error gwlz_base_squeeze(const gwlz_base_params *p, gwlz_shape *s);
/* Append the two prefix bytes. */
void gwlz_base_prefix(gwlz_wbuf *out, int mode);

/* ---- samples for the estimates -------------------------------------------
 * Every estimate looks at the same values, so GWLZ_BASE_AUTO compares the
 * bases on equal terms: the whole field when it has at most
 * GWLZ_BASE_EST_WHOLE values, else blocks (side 32768 / 192 / 48 / 14 by
 * number of squeezed dimensions, capped by the extents) at deterministic
 * pseudo-random places, about 2% of the values, 1 to 16 blocks. */
#define GWLZ_BASE_EST_WHOLE ((size_t)1 << 20)
typedef struct {
  gwlz_shape bs;                /* the extents of one sample block    */
  int nblk;                     /* how many blocks                    */
  int whole;                    /* 1: the one block is the field      */
  uint64_t rng;
} gwlz_base_sample;
void gwlz_base_sample_init(gwlz_base_sample *sm, const gwlz_shape *s);
/* Origin of the next block (o[d] + bs.n[d] <= s->n[d]). */
void gwlz_base_sample_next(gwlz_base_sample *sm, const gwlz_shape *s, size_t *o);
/* Copy the block at origin o with extents bn of a field of shape s (values of
 * ts bytes) to dst, C order. */
void gwlz_base_copy_block(const gwlz_shape *s, const size_t *o, const size_t *bn,
                          const void *data, void *dst, size_t ts);
#endif
