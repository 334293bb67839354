/* huffman.h - canonical Huffman coding of unsigned integer symbols
 * (the quantization codes of the predictor). */
#ifndef GWLZ_HUFFMAN_H
#define GWLZ_HUFFMAN_H
#include "common.h"

/* Append to out a self-describing block (code lengths of the symbols used,
 * then the bit stream) coding sym[0..n), every sym[i] < nsym. */
gwlz_error gwlz_huff_encode(const uint32_t *sym, size_t n, uint32_t nsym, gwlz_wbuf *out);
/* Decode exactly n symbols from in (advancing it past the block); every decoded
 * symbol is < nsym_max or GWLZ_ERR_CORRUPT is returned. Never reads past in. */
gwlz_error gwlz_huff_decode(gwlz_rbuf *in, uint32_t *sym, size_t n, uint32_t nsym_max);
/* Check, without allocating or decoding, that the block at in can code n
 * symbols: with two or more distinct symbols its bit stream must hold between
 * 1 and maxlen bits per symbol. Lets a caller reject an n that the stream
 * cannot back before it allocates n symbols. Does not move in. */
gwlz_error gwlz_huff_check(const gwlz_rbuf *in, size_t n, uint32_t nsym_max);
#endif
