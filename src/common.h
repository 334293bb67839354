/*
 * common.h - internal helpers shared by every module: growable output buffer,
 * bounds-checked input reader, little-endian field access, timing.
 * Not part of the public interface.
 */
#ifndef GWLZ_COMMON_H
#define GWLZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gwlz.h"

#if defined(__GNUC__)
#define GWLZ_LIKELY(x) __builtin_expect(!!(x), 1)
#define GWLZ_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define GWLZ_LIKELY(x) (x)
#define GWLZ_UNLIKELY(x) (x)
#endif

/* Size in bytes of one value of the given type. */
static inline size_t gwlz_type_size(gwlz_type t) { return t == GWLZ_TYPE_DOUBLE ? 8 : 4; }

/* v rounded to float as IEEE 754 does it, beyond float's range too (a
 * plain conversion of an out-of-range double is undefined behaviour in C):
 * +-inf at and above the midpoint between FLT_MAX and 2^128. */
static inline float gwlz_to_f32(double v) {
  if (v >= 0x1.ffffffp127) return (float)__builtin_inf();
  if (v <= -0x1.ffffffp127) return -(float)__builtin_inf();
  return (float)v;
}

/* ---- workspace kept from one call to the next -------------------------
 * Large buffers that a stage needs on every call (one chunk after another
 * on one thread): allocating and freeing megabytes per call costs a page
 * fault per 4 KiB on the next touch, and the faults of several threads
 * serialise on the kernel's memory map. A NULL workspace means plain
 * malloc() / free() per call. Contents are undefined on return of
 * gwlz_ws_take; a workspace is used by one thread at a time. */
enum { GWLZ_WS_SLOTS = 8 };

typedef struct {
  void *p[GWLZ_WS_SLOTS];
  size_t cap[GWLZ_WS_SLOTS];
} gwlz_ws;

/* malloc() for buffers of megabytes, touched from end to end: on Linux the
 * pages inside are advised to be backed by huge pages (a page fault per
 * 2 MiB on first touch instead of per 4 KiB). Freed with free(). */
void *gwlz_big_alloc(size_t bytes);
/* A buffer of at least bytes from slot (0..GWLZ_WS_SLOTS-1); NULL when out
 * of memory. Give it back with gwlz_ws_give before the slot is taken again. */
void *gwlz_ws_take(gwlz_ws *ws, int slot, size_t bytes);
/* Return a buffer taken from slot: freed when ws is NULL, else kept. */
void gwlz_ws_give(gwlz_ws *ws, int slot, void *p);
/* Free every slot. */
void gwlz_ws_free(gwlz_ws *ws);

/* ---- growable output buffer --------------------------------------------
 * Appending never fails silently: the first allocation failure sets err and
 * later appends are ignored; callers check err once at the end. */
typedef struct {
  uint8_t *data;
  size_t size;
  size_t cap;
  gwlz_error err;
} gwlz_wbuf;

void gwlz_wbuf_init(gwlz_wbuf *b);
void gwlz_wbuf_free(gwlz_wbuf *b);
/* Make room for at least extra more bytes; returns a pointer to the end or NULL. */
uint8_t *gwlz_wbuf_reserve(gwlz_wbuf *b, size_t extra);
void gwlz_wbuf_put(gwlz_wbuf *b, const void *p, size_t n);
void gwlz_wbuf_u8(gwlz_wbuf *b, uint8_t v);
void gwlz_wbuf_u16(gwlz_wbuf *b, uint16_t v);
void gwlz_wbuf_u32(gwlz_wbuf *b, uint32_t v);
void gwlz_wbuf_u64(gwlz_wbuf *b, uint64_t v);
void gwlz_wbuf_f32(gwlz_wbuf *b, float v);
void gwlz_wbuf_f64(gwlz_wbuf *b, double v);
/* LEB128 unsigned varint (1..10 bytes). */
void gwlz_wbuf_varint(gwlz_wbuf *b, uint64_t v);

/* ---- bounds-checked reader ---------------------------------------------
 * Every getter checks the remaining length first and returns
 * GWLZ_ERR_TRUNCATED (leaving *out untouched) when it is too short. */
typedef struct {
  const uint8_t *data;
  size_t size;
  size_t pos;
} gwlz_rbuf;

static inline void gwlz_rbuf_init(gwlz_rbuf *r, const void *data, size_t size) {
  r->data = (const uint8_t *)data;
  r->size = size;
  r->pos = 0;
}
static inline size_t gwlz_rbuf_left(const gwlz_rbuf *r) { return r->size - r->pos; }
gwlz_error gwlz_rbuf_u8(gwlz_rbuf *r, uint8_t *out);
gwlz_error gwlz_rbuf_u16(gwlz_rbuf *r, uint16_t *out);
gwlz_error gwlz_rbuf_u32(gwlz_rbuf *r, uint32_t *out);
gwlz_error gwlz_rbuf_u64(gwlz_rbuf *r, uint64_t *out);
gwlz_error gwlz_rbuf_f32(gwlz_rbuf *r, float *out);
gwlz_error gwlz_rbuf_f64(gwlz_rbuf *r, double *out);
gwlz_error gwlz_rbuf_varint(gwlz_rbuf *r, uint64_t *out);
/* Point *out at the next n bytes (no copy) and advance. */
gwlz_error gwlz_rbuf_bytes(gwlz_rbuf *r, size_t n, const uint8_t **out);
/* Read a u64 length and point *out at that many following bytes. */
gwlz_error gwlz_rbuf_block(gwlz_rbuf *r, const uint8_t **out, size_t *len);

/* ---- little-endian loads/stores ----------------------------------------- */
static inline void gwlz_store_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t gwlz_load_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline void gwlz_store_u64(uint8_t *p, uint64_t v) {
  gwlz_store_u32(p, (uint32_t)v);
  gwlz_store_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t gwlz_load_u64(const uint8_t *p) {
  return (uint64_t)gwlz_load_u32(p) | ((uint64_t)gwlz_load_u32(p + 4) << 32);
}

/* Overflow-checked size arithmetic: return 0 on overflow, 1 on success. */
static inline int gwlz_mul_size(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return 0;
  *out = a * b;
  return 1;
}
static inline int gwlz_add_size(size_t a, size_t b, size_t *out) {
  if (b > SIZE_MAX - a) return 0;
  *out = a + b;
  return 1;
}

/* Monotonic wall clock in seconds. */
double gwlz_now(void);

/* Error statistics of y against x (n values of type t) over the cells with
 * mask 0 (mask NULL: every cell), in index order, added to the running
 * figures: *sse += ((x - y) / scale)^2 (scale a power of two, so the
 * division is exact and the squares of huge errors stay finite), *maxerr
 * raised to the largest |x - y|, *count += the number of cells. */
void gwlz_err_add(gwlz_type t, const void *x, const void *y, const uint8_t *mask, size_t n,
                  double scale, double *sse, double *maxerr, size_t *count);
/* The same over a whole array in rows of nx cells, summed in blocks of
 * GWLZ_ERR_BLOCK row segments of 128 cells (the version 2 enhancer's tasks,
 * in memory order): each block in order from zero, then the blocks in order.
 * A fixed association, so that processes holding whole blocks give the same
 * sum. */
#define GWLZ_ERR_BLOCK 256
void gwlz_err_blocked(gwlz_type t, const void *x, const void *y, const uint8_t *mask, size_t n,
                      size_t nx, double scale, double *sse, double *maxerr, size_t *count);
/* nx of gwlz_err_blocked for an array: its last extent other than 1. */
size_t gwlz_row_extent(int ndims, const size_t *dims);

/* Deterministic 64-bit PRNG (splitmix64 step). */
static inline uint64_t gwlz_rng_next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/* Uniform double in [0,1). */
static inline double gwlz_rng_uniform(uint64_t *state) {
  return (double)(gwlz_rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

#endif /* GWLZ_COMMON_H */
