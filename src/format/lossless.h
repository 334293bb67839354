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
/* Check the block at in without decompressing or allocating: its sizes, the
 * zstd frame's structure, and raw size <= max_raw and <= what the frame can
 * produce (see lossless.c). On success in is moved past the block and *n (if
 * not NULL) receives the raw size. gwlz_lossless_unpack makes the same checks
 * before it allocates. */
gwlz_error gwlz_lossless_check(gwlz_rbuf *in, size_t max_raw, size_t *n);
#endif
