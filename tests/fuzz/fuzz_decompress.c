/* fuzz_decompress.c - gwlz_get_info + gwlz_decompress on arbitrary bytes.
 * A stream whose checksums do not match is also tried with them recomputed,
 * so that mutations reach the section decoders behind the checksum. */
#include <stdio.h>

#include "fuzz_common.h"

#define FUZZ_MAX_BYTES ((size_t)64 << 20)

static void try_stream(const uint8_t *data, size_t size) {
  gwlz_info info;
  if (gwlz_get_info(data, size, &info) != GWLZ_OK) return;
  if (info.decompressed_bytes == 0 || info.decompressed_bytes > FUZZ_MAX_BYTES) return;
  uint8_t *dst = (uint8_t *)malloc(info.decompressed_bytes);
  gwlz_ctx *ctx = gwlz_create();
  if (dst && ctx) {
    (void)gwlz_decompress(ctx, data, size, dst, info.decompressed_bytes);
    /* a too small destination must be refused, not overrun */
    if (gwlz_decompress(ctx, data, size, dst, info.decompressed_bytes - 1) == GWLZ_OK) abort();
  }
  gwlz_free(ctx);
  free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try_stream(data, size);
  uint8_t *fixed = gwlz_fuzz_fix_checksums(data, size);
  if (fixed) {
    try_stream(fixed, size);
    free(fixed);
  }
  return 0;
}

/* The seeds must reach every decoder: a format or enhancer change that stops
 * them from producing a section type fails this target. */
void gwlz_fuzz_seeds(gwlz_fuzz_sink sink, void *user) {
  gwlz_fuzz_cov cov;
  memset(&cov, 0, sizeof cov);
  gwlz_fuzz_api_streams_cov(sink, user, &cov);
  const char *missing = gwlz_fuzz_cov_missing(&cov);
  if (missing) {
    fprintf(stderr, "fuzz seeds do not cover: %s\n", missing);
    abort();
  }
}
