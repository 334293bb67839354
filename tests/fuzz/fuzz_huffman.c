/* fuzz_huffman.c - the Huffman decoder on arbitrary blocks.
 * Input: u32 n (symbols to decode, capped), u32 nsym_max (0 = 65536), block.
 * A successful decode is re-encoded and decoded again: the symbols must come
 * back identical (the encoder is exercised on whatever the decoder accepts). */
#include "fuzz_common.h"
#include "format/huffman.h"

#define FUZZ_MAX_SYMS ((size_t)1 << 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 8) return 0;
  size_t n = gwlz_load_u32(data) % (FUZZ_MAX_SYMS + 1);
  uint32_t nsym = gwlz_load_u32(data + 4);
  if (nsym == 0) nsym = 65536;
  /* the block in its own allocation, so ASan sees any overread */
  size_t bsize = size - 8;
  uint8_t *block = (uint8_t *)malloc(bsize ? bsize : 1);
  uint32_t *sym = (uint32_t *)malloc((n ? n : 1) * sizeof(uint32_t));
  uint32_t *again = (uint32_t *)malloc((n ? n : 1) * sizeof(uint32_t));
  if (!block || !sym || !again) goto out;
  memcpy(block, data + 8, bsize);
  gwlz_rbuf r;
  gwlz_rbuf_init(&r, block, bsize);
  if (gwlz_huff_decode(&r, sym, n, nsym) == GWLZ_OK) {
    if (r.pos > bsize) abort();
    for (size_t i = 0; i < n; i++)
      if (sym[i] >= nsym) abort();
    gwlz_wbuf w;
    gwlz_wbuf_init(&w);
    gwlz_error e = gwlz_huff_encode(sym, n, nsym, &w);
    if (e != GWLZ_OK && e != GWLZ_ERR_TOO_LARGE && e != GWLZ_ERR_MEMORY) abort();
    if (e == GWLZ_OK) {
      gwlz_rbuf_init(&r, w.data, w.size);
      if (gwlz_huff_decode(&r, again, n, nsym) != GWLZ_OK || r.pos != w.size) abort();
      if (n && memcmp(sym, again, n * sizeof(uint32_t)) != 0) abort();
    }
    gwlz_wbuf_free(&w);
  }
out:
  free(block);
  free(sym);
  free(again);
  return 0;
}

/* Seeds: blocks of several distributions, prefixed with n and nsym_max. */
void gwlz_fuzz_seeds(gwlz_fuzz_sink sink, void *user) {
  static const size_t sizes[] = {0, 1, 2, 5, 64, 1000, 5000};
  static const uint32_t alpha[] = {1, 2, 16, 65536, 300000};
  uint64_t st = 77;
  uint32_t *s = (uint32_t *)malloc(5000 * sizeof(uint32_t));
  if (!s) return;
  for (size_t a = 0; a < sizeof alpha / sizeof *alpha; a++) {
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
      size_t n = sizes[z];
      for (size_t i = 0; i < n; i++) {
        uint64_t r = gwlz_rng_next(&st);
        uint32_t c = alpha[a] / 2;
        if (alpha[a] >= 65536 && (r & 3)) s[i] = c;                  /* peaked */
        else if (alpha[a] >= 65536) s[i] = c + (uint32_t)(r >> 40) % 64 - 32;
        else s[i] = (uint32_t)(r % alpha[a]);
        if (alpha[a] == 300000 && (r & 0xF0) == 0) s[i] = (uint32_t)(r >> 20) % 300000;
      }
      gwlz_wbuf w;
      gwlz_wbuf_init(&w);
      gwlz_wbuf_u32(&w, (uint32_t)n);
      gwlz_wbuf_u32(&w, alpha[a] == 65536 ? 0 : alpha[a]);
      if (gwlz_huff_encode(s, n, alpha[a], &w) == GWLZ_OK && w.err == GWLZ_OK)
        sink(user, w.data, w.size);
      gwlz_wbuf_free(&w);
    }
  }
  free(s);
}
