/* common.c - byte buffers, bounds-checked reads, timing. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1 /* madvise */
#endif
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

void *gwlz_big_alloc(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
#if defined(MADV_HUGEPAGE)
  const size_t page = 4096, huge = (size_t)2 << 20;
  if (p && bytes >= 2 * huge) {
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t b = ((uintptr_t)p + bytes) & ~(uintptr_t)(page - 1);
    if (b > a) (void)madvise((void *)a, (size_t)(b - a), MADV_HUGEPAGE); /* advice only */
  }
#endif
  return p;
}

void *gwlz_ws_take(gwlz_ws *ws, int slot, size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (!ws) return malloc(bytes);
  if (ws->cap[slot] < bytes) {
    free(ws->p[slot]);
    ws->p[slot] = gwlz_big_alloc(bytes);
    ws->cap[slot] = ws->p[slot] ? bytes : 0;
  }
  return ws->p[slot];
}

void gwlz_ws_give(gwlz_ws *ws, int slot, void *p) {
  (void)slot;
  if (!ws) free(p);
}

void gwlz_ws_free(gwlz_ws *ws) {
  for (int i = 0; i < GWLZ_WS_SLOTS; i++) {
    free(ws->p[i]);
    ws->p[i] = NULL;
    ws->cap[i] = 0;
  }
}

void gwlz_wbuf_init(gwlz_wbuf *b) {
  b->data = NULL;
  b->size = 0;
  b->cap = 0;
  b->err = GWLZ_OK;
}

void gwlz_wbuf_free(gwlz_wbuf *b) {
  free(b->data);
  gwlz_wbuf_init(b);
}

uint8_t *gwlz_wbuf_reserve(gwlz_wbuf *b, size_t extra) {
  if (b->err != GWLZ_OK) return NULL;
  size_t need;
  if (!gwlz_add_size(b->size, extra, &need)) {
    b->err = GWLZ_ERR_TOO_LARGE;
    return NULL;
  }
  if (need > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
      if (cap > SIZE_MAX / 2) {
        cap = need;
        break;
      }
      cap *= 2;
    }
    uint8_t *p = (uint8_t *)realloc(b->data, cap);
    if (!p) {
      b->err = GWLZ_ERR_MEMORY;
      return NULL;
    }
    b->data = p;
    b->cap = cap;
  }
  return b->data + b->size;
}

void gwlz_wbuf_put(gwlz_wbuf *b, const void *p, size_t n) {
  if (n == 0) return;
  uint8_t *d = gwlz_wbuf_reserve(b, n);
  if (!d) return;
  memcpy(d, p, n);
  b->size += n;
}

void gwlz_wbuf_u8(gwlz_wbuf *b, uint8_t v) { gwlz_wbuf_put(b, &v, 1); }

void gwlz_wbuf_u16(gwlz_wbuf *b, uint16_t v) {
  uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  gwlz_wbuf_put(b, t, 2);
}

void gwlz_wbuf_u32(gwlz_wbuf *b, uint32_t v) {
  uint8_t t[4];
  gwlz_store_u32(t, v);
  gwlz_wbuf_put(b, t, 4);
}

void gwlz_wbuf_u64(gwlz_wbuf *b, uint64_t v) {
  uint8_t t[8];
  gwlz_store_u64(t, v);
  gwlz_wbuf_put(b, t, 8);
}

void gwlz_wbuf_f32(gwlz_wbuf *b, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  gwlz_wbuf_u32(b, u);
}

void gwlz_wbuf_f64(gwlz_wbuf *b, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  gwlz_wbuf_u64(b, u);
}

void gwlz_wbuf_varint(gwlz_wbuf *b, uint64_t v) {
  uint8_t t[10];
  int n = 0;
  do {
    uint8_t byte = (uint8_t)(v & 0x7f);
    v >>= 7;
    t[n++] = (uint8_t)(byte | (v ? 0x80 : 0));
  } while (v);
  gwlz_wbuf_put(b, t, (size_t)n);
}

gwlz_error gwlz_rbuf_u8(gwlz_rbuf *r, uint8_t *out) {
  if (gwlz_rbuf_left(r) < 1) return GWLZ_ERR_TRUNCATED;
  *out = r->data[r->pos++];
  return GWLZ_OK;
}

gwlz_error gwlz_rbuf_u16(gwlz_rbuf *r, uint16_t *out) {
  if (gwlz_rbuf_left(r) < 2) return GWLZ_ERR_TRUNCATED;
  const uint8_t *p = r->data + r->pos;
  *out = (uint16_t)(p[0] | (p[1] << 8));
  r->pos += 2;
  return GWLZ_OK;
}

gwlz_error gwlz_rbuf_u32(gwlz_rbuf *r, uint32_t *out) {
  if (gwlz_rbuf_left(r) < 4) return GWLZ_ERR_TRUNCATED;
  *out = gwlz_load_u32(r->data + r->pos);
  r->pos += 4;
  return GWLZ_OK;
}

gwlz_error gwlz_rbuf_u64(gwlz_rbuf *r, uint64_t *out) {
  if (gwlz_rbuf_left(r) < 8) return GWLZ_ERR_TRUNCATED;
  *out = gwlz_load_u64(r->data + r->pos);
  r->pos += 8;
  return GWLZ_OK;
}

gwlz_error gwlz_rbuf_f32(gwlz_rbuf *r, float *out) {
  uint32_t u;
  gwlz_error e = gwlz_rbuf_u32(r, &u);
  if (e == GWLZ_OK) memcpy(out, &u, 4);
  return e;
}

gwlz_error gwlz_rbuf_f64(gwlz_rbuf *r, double *out) {
  uint64_t u;
  gwlz_error e = gwlz_rbuf_u64(r, &u);
  if (e == GWLZ_OK) memcpy(out, &u, 8);
  return e;
}

gwlz_error gwlz_rbuf_varint(gwlz_rbuf *r, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (gwlz_rbuf_left(r) < 1) return GWLZ_ERR_TRUNCATED;
    uint8_t byte = r->data[r->pos++];
    if (shift == 63 && (byte & 0x7e)) return GWLZ_ERR_CORRUPT;
    v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *out = v;
      return GWLZ_OK;
    }
  }
  return GWLZ_ERR_CORRUPT;
}

gwlz_error gwlz_rbuf_bytes(gwlz_rbuf *r, size_t n, const uint8_t **out) {
  if (gwlz_rbuf_left(r) < n) return GWLZ_ERR_TRUNCATED;
  *out = r->data + r->pos;
  r->pos += n;
  return GWLZ_OK;
}

gwlz_error gwlz_rbuf_block(gwlz_rbuf *r, const uint8_t **out, size_t *len) {
  uint64_t n;
  gwlz_error e = gwlz_rbuf_u64(r, &n);
  if (e != GWLZ_OK) return e;
  if (n > (uint64_t)gwlz_rbuf_left(r)) return GWLZ_ERR_TRUNCATED;
  *len = (size_t)n;
  return gwlz_rbuf_bytes(r, (size_t)n, out);
}

void gwlz_err_add(gwlz_type t, const void *x, const void *y, const uint8_t *mask, size_t n,
                  double scale, double *sse, double *maxerr, size_t *count) {
  const int isd = t == GWLZ_TYPE_DOUBLE;
  double s = *sse, m = *maxerr;
  size_t c = *count;
  for (size_t i = 0; i < n; i++) {
    if (mask && mask[i]) continue;
    const double d = isd ? ((const double *)x)[i] - ((const double *)y)[i]
                         : (double)((const float *)x)[i] - (double)((const float *)y)[i];
    const double q = d / scale;
    s += q * q;
    if (fabs(d) > m) m = fabs(d);
    c++;
  }
  *sse = s;
  *maxerr = m;
  *count = c;
}

void gwlz_err_blocked(gwlz_type t, const void *x, const void *y, const uint8_t *mask, size_t n,
                      size_t nx, double scale, double *sse, double *maxerr, size_t *count) {
  const size_t ts = gwlz_type_size(t), nseg = nx ? (nx + 127) / 128 : 1;
  const size_t ntask = nx ? n / nx * nseg : 0;
  *sse = *maxerr = 0.0;
  *count = 0;
  for (size_t t0 = 0; t0 < ntask; t0 += GWLZ_ERR_BLOCK) {
    const size_t t1 = t0 + GWLZ_ERR_BLOCK < ntask ? t0 + GWLZ_ERR_BLOCK : ntask;
    const size_t a = t0 / nseg * nx + t0 % nseg * 128;
    const size_t b = t1 == ntask ? n : t1 / nseg * nx + t1 % nseg * 128;
    double bs = 0.0;
    gwlz_err_add(t, (const uint8_t *)x + a * ts, (const uint8_t *)y + a * ts, mask ? mask + a : NULL,
                 b - a, scale, &bs, maxerr, count);
    *sse += bs;
  }
}

size_t gwlz_row_extent(int ndims, const size_t *dims) {
  for (int i = ndims - 1; i >= 0; i--)
    if (dims[i] != 1) return dims[i];
  return 1;
}

double gwlz_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
