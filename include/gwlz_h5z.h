/*
 * gwlz_h5z.h - the gwlz HDF5 filter: its id and the layout of its parameters.
 *
 * The filter is a dynamically loaded HDF5 plugin (libh5gwlz.so) that HDF5 finds
 * in HDF5_PLUGIN_PATH. Each chunk becomes one complete gwlz stream, which
 * carries everything the decoder needs (type, dims, bound, models), so reading
 * uses no parameter at all.
 *
 * Filter id: GWLZ_H5Z_FILTER_ID is taken from the range 32768-65535 that The
 * HDF Group leaves for unregistered filters; it will change to a registered id
 * once one is assigned (a file written with this id keeps decoding only with a
 * plugin that still answers to it).
 *
 * Parameters (cd_values, 32-bit words), version 1. A double is stored as two
 * words, the low 32 bits of its IEEE-754 binary64 pattern first, so the bound
 * is kept exactly.
 *
 *   word   set by      meaning
 *   0      user        layout version (GWLZ_H5Z_CD_VERSION = 1)
 *   1      user        error-bound mode (gwlz_eb_mode: 0 ABS, 1 REL, 2 ABS_AND_REL,
 *                      3 ABS_OR_REL, 4 PSNR)
 *   2-3    user        absolute bound (double); in PSNR mode the target PSNR in dB
 *   4-5    user        relative bound (double)
 *   6      user        enhancer groups, or GWLZ_H5Z_DEFAULT
 *   7      user        enhancer (gwlz_enhancer), or GWLZ_H5Z_DEFAULT
 *   8      user        base (gwlz_base), or GWLZ_H5Z_DEFAULT
 *   9      user        threads per chunk (0 = all cores; 1 is the usual choice)
 *   10     user        flags (GWLZ_H5Z_FLAG_*)
 *   11-12  user/local  fill value (double), used when GWLZ_H5Z_FLAG_FILL is set
 *   13-14  user        value range (double), used when GWLZ_H5Z_FLAG_RANGE is set
 *   15     local       element type (gwlz_type: 0 float32, 1 float64) in bits 0-7,
 *                      number of chunk dimensions larger than 1 (1-4) in bits 8-15
 *   16-19  local       those chunk dimensions, C order (slowest first); 0 unused
 *
 * A user gives words 0-14 (GWLZ_H5Z_CD_USER words); the filter's set_local
 * callback checks them and appends words 15-19 from the dataset when it is
 * created. It also makes the filter mandatory: a chunk that cannot be
 * compressed makes the write fail instead of being stored raw. The layout
 * stays within 20 words, the most that h5dump, h5ls and h5repack read back.
 *
 * Bounds: ABS holds everywhere. REL (and the REL part of ABS_AND_REL /
 * ABS_OR_REL) is relative to the value range of each chunk, unless
 * GWLZ_H5Z_FLAG_RANGE gives the range of the whole dataset: then
 * abs = rel * range is applied to every chunk. PSNR targets each chunk's own
 * PSNR. Fill value: with GWLZ_H5Z_FLAG_FILL the given value is kept exactly
 * and left out of the range; otherwise a fill value set on the dataset
 * (H5Pset_fill_value) is used the same way, unless GWLZ_H5Z_FLAG_NO_DATASET_FILL.
 *
 * Supported datasets: chunked, IEEE float32 or float64 in the machine's byte
 * order, at most GWLZ_MAX_DIMS chunk dimensions larger than 1.
 *
 * The encoding below is the one place where this layout is written: the
 * plugin, the command-line tool (gwlz --h5repack-arg) and C programs use it.
 * With <hdf5.h> included before this header, H5Pset_gwlz() and
 * H5Pset_gwlz_settings() add the filter to a dataset creation property list.
 */
#ifndef GWLZ_H5Z_H
#define GWLZ_H5Z_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gwlz.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GWLZ_H5Z_FILTER_ID 48031
#define GWLZ_H5Z_FILTER_NAME "gwlz: error-bounded lossy compression"

#define GWLZ_H5Z_CD_VERSION 1
#define GWLZ_H5Z_CD_USER 15   /* words given by a user                      */
#define GWLZ_H5Z_CD_FULL 20   /* words after set_local                      */
#define GWLZ_H5Z_DEFAULT 0xFFFFFFFFu

/* Word indices. */
enum {
  GWLZ_H5Z_W_VERSION = 0,
  GWLZ_H5Z_W_MODE = 1,
  GWLZ_H5Z_W_ABS = 2, /* or PSNR */
  GWLZ_H5Z_W_REL = 4,
  GWLZ_H5Z_W_GROUPS = 6,
  GWLZ_H5Z_W_ENHANCER = 7,
  GWLZ_H5Z_W_BASE = 8,
  GWLZ_H5Z_W_THREADS = 9,
  GWLZ_H5Z_W_FLAGS = 10,
  GWLZ_H5Z_W_FILL = 11,
  GWLZ_H5Z_W_RANGE = 13,
  GWLZ_H5Z_W_SHAPE = 15, /* type | ndims << 8 */
  GWLZ_H5Z_W_DIMS = 16
};

/* Flags (word 10). */
#define GWLZ_H5Z_FLAG_FILL 0x1u            /* words 13-14 hold a fill value    */
#define GWLZ_H5Z_FLAG_RANGE 0x2u           /* words 15-16 hold the value range */
#define GWLZ_H5Z_FLAG_RELAXED 0x4u         /* bound policy relaxed (<= 2x)     */
#define GWLZ_H5Z_FLAG_NO_DATASET_FILL 0x8u /* ignore the dataset's fill value  */
#define GWLZ_H5Z_FLAG_FAST 0x10u           /* GWLZ_SPEED_FAST                 */
#define GWLZ_H5Z_FLAGS_KNOWN 0x1Fu

/* Settings of the filter, as a user gives them. */
typedef struct {
  gwlz_eb_mode mode;
  double abs_bound, rel_bound, psnr; /* read according to mode               */
  int groups;    /* -1: library default                                    */
  int enhancer;  /* gwlz_enhancer, -1: library default                     */
  int base;      /* gwlz_base, -1: library default                         */
  int threads;   /* per chunk; 0 = all cores (default 1)                   */
  int relaxed;   /* 1: GWLZ_BOUND_RELAXED                                  */
  int has_fill;  /* 1: fill value below                                    */
  double fill;
  int no_dataset_fill; /* 1: do not take the dataset's fill value          */
  int fast;      /* 1: GWLZ_SPEED_FAST                                     */
  double range;  /* > 0: REL bounds relative to this range, not each chunk's */
} gwlz_h5z_settings;

static inline void gwlz_h5z_settings_init(gwlz_h5z_settings *s) {
  memset(s, 0, sizeof *s);
  s->mode = GWLZ_EB_ABS;
  s->groups = -1;
  s->enhancer = -1;
  s->base = -1;
  s->threads = 1;
}

static inline void gwlz_h5z_put_double(unsigned *cd, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  cd[0] = (unsigned)(bits & 0xFFFFFFFFu);
  cd[1] = (unsigned)(bits >> 32);
}

static inline double gwlz_h5z_get_double(const unsigned *cd) {
  uint64_t bits = (uint64_t)(cd[0] & 0xFFFFFFFFu) | ((uint64_t)(cd[1] & 0xFFFFFFFFu) << 32);
  double v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

static inline unsigned gwlz_h5z_opt(int v) { return v < 0 ? GWLZ_H5Z_DEFAULT : (unsigned)v; }

/* Writes the GWLZ_H5Z_CD_USER user words of s into cd; returns that count. */
static inline size_t gwlz_h5z_encode(const gwlz_h5z_settings *s, unsigned cd[GWLZ_H5Z_CD_USER]) {
  unsigned flags = 0;
  memset(cd, 0, GWLZ_H5Z_CD_USER * sizeof cd[0]);
  cd[GWLZ_H5Z_W_VERSION] = GWLZ_H5Z_CD_VERSION;
  cd[GWLZ_H5Z_W_MODE] = (unsigned)s->mode;
  gwlz_h5z_put_double(cd + GWLZ_H5Z_W_ABS, s->mode == GWLZ_EB_PSNR ? s->psnr : s->abs_bound);
  gwlz_h5z_put_double(cd + GWLZ_H5Z_W_REL, s->rel_bound);
  cd[GWLZ_H5Z_W_GROUPS] = gwlz_h5z_opt(s->groups);
  cd[GWLZ_H5Z_W_ENHANCER] = gwlz_h5z_opt(s->enhancer);
  cd[GWLZ_H5Z_W_BASE] = gwlz_h5z_opt(s->base);
  cd[GWLZ_H5Z_W_THREADS] = s->threads < 0 ? 1u : (unsigned)s->threads;
  if (s->has_fill) {
    flags |= GWLZ_H5Z_FLAG_FILL;
    gwlz_h5z_put_double(cd + GWLZ_H5Z_W_FILL, s->fill);
  }
  if (s->range > 0) {
    flags |= GWLZ_H5Z_FLAG_RANGE;
    gwlz_h5z_put_double(cd + GWLZ_H5Z_W_RANGE, s->range);
  }
  if (s->relaxed) flags |= GWLZ_H5Z_FLAG_RELAXED;
  if (s->no_dataset_fill) flags |= GWLZ_H5Z_FLAG_NO_DATASET_FILL;
  if (s->fast) flags |= GWLZ_H5Z_FLAG_FAST;
  cd[GWLZ_H5Z_W_FLAGS] = flags;
  return GWLZ_H5Z_CD_USER;
}

/* Reads the user words of cd[0..n) into s. Returns 0, or -1 when the layout is
 * not version 1 or the words are too few or out of range (what the values mean
 * to the library, e.g. a negative bound, is checked when a chunk is written). */
static inline int gwlz_h5z_decode(size_t n, const unsigned *cd, gwlz_h5z_settings *s) {
  gwlz_h5z_settings_init(s);
  if (n < GWLZ_H5Z_CD_USER || cd[GWLZ_H5Z_W_VERSION] != GWLZ_H5Z_CD_VERSION) return -1;
  if (cd[GWLZ_H5Z_W_MODE] > (unsigned)GWLZ_EB_PSNR) return -1;
  unsigned flags = cd[GWLZ_H5Z_W_FLAGS];
  if (flags & ~GWLZ_H5Z_FLAGS_KNOWN) return -1;
  unsigned g = cd[GWLZ_H5Z_W_GROUPS], e = cd[GWLZ_H5Z_W_ENHANCER], b = cd[GWLZ_H5Z_W_BASE];
  unsigned t = cd[GWLZ_H5Z_W_THREADS];
  if ((g != GWLZ_H5Z_DEFAULT && g > GWLZ_MAX_GROUPS) ||
      (e != GWLZ_H5Z_DEFAULT && e > (unsigned)GWLZ_ENH_AUTO) ||
      (b != GWLZ_H5Z_DEFAULT && b >= (unsigned)GWLZ_BASE_COUNT) || t > 4096)
    return -1;
  s->mode = (gwlz_eb_mode)cd[GWLZ_H5Z_W_MODE];
  if (s->mode == GWLZ_EB_PSNR) s->psnr = gwlz_h5z_get_double(cd + GWLZ_H5Z_W_ABS);
  else s->abs_bound = gwlz_h5z_get_double(cd + GWLZ_H5Z_W_ABS);
  s->rel_bound = gwlz_h5z_get_double(cd + GWLZ_H5Z_W_REL);
  s->groups = g == GWLZ_H5Z_DEFAULT ? -1 : (int)g;
  s->enhancer = e == GWLZ_H5Z_DEFAULT ? -1 : (int)e;
  s->base = b == GWLZ_H5Z_DEFAULT ? -1 : (int)b;
  s->threads = (int)t;
  s->has_fill = (flags & GWLZ_H5Z_FLAG_FILL) != 0;
  if (s->has_fill) s->fill = gwlz_h5z_get_double(cd + GWLZ_H5Z_W_FILL);
  if (flags & GWLZ_H5Z_FLAG_RANGE) {
    s->range = gwlz_h5z_get_double(cd + GWLZ_H5Z_W_RANGE);
    if (!(s->range > 0)) return -1;
  }
  s->relaxed = (flags & GWLZ_H5Z_FLAG_RELAXED) != 0;
  s->no_dataset_fill = (flags & GWLZ_H5Z_FLAG_NO_DATASET_FILL) != 0;
  s->fast = (flags & GWLZ_H5Z_FLAG_FAST) != 0;
  return 0;
}

#if defined(H5_VERS_MAJOR)
/* Adds the gwlz filter (mandatory) with settings s to a dataset creation
 * property list; the dataset must be chunked. Returns H5Pset_filter's result. */
static inline herr_t H5Pset_gwlz_settings(hid_t plist, const gwlz_h5z_settings *s) {
  unsigned cd[GWLZ_H5Z_CD_USER];
  size_t n = gwlz_h5z_encode(s, cd);
  return H5Pset_filter(plist, (H5Z_filter_t)GWLZ_H5Z_FILTER_ID, H5Z_FLAG_MANDATORY, n, cd);
}

/* The filter with one bound and default settings: mode GWLZ_EB_ABS, GWLZ_EB_REL
 * (relative to each chunk's range) or GWLZ_EB_PSNR, and its value. */
static inline herr_t H5Pset_gwlz(hid_t plist, gwlz_eb_mode mode, double bound) {
  gwlz_h5z_settings s;
  gwlz_h5z_settings_init(&s);
  s.mode = mode;
  if (mode == GWLZ_EB_REL) s.rel_bound = bound;
  else if (mode == GWLZ_EB_PSNR) s.psnr = bound;
  else s.abs_bound = bound;
  return H5Pset_gwlz_settings(plist, &s);
}
#endif

#ifdef __cplusplus
}
#endif
#endif /* GWLZ_H5Z_H */
