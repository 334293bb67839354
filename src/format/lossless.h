/* lossless.h - the lossless stage (zstd). */
#ifndef GWLZ_LOSSLESS_H
#define GWLZ_LOSSLESS_H
#include "common.h"

#define GWLZ_ZSTD_LEVEL 3
/* Append a block to out: u64 raw size, u64 packed size, then the packed bytes
 * (a zstd frame, or the raw bytes themselves when packed size == raw size). */
gwlz_error gwlz_lossless_pack(const void *src, size_t n, gwlz_wbuf *out, int level);
/* Read a block written by gwlz_lossless_pack from in. On success *dst is a
 * malloc'd buffer of *n bytes (the caller frees it). The raw size is checked
 * against max_raw before any allocation. */
gwlz_error gwlz_lossless_unpack(gwlz_rbuf *in, size_t max_raw, uint8_t **dst, size_t *n);
#endif
