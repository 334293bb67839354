/* fuzz_get_info.c - gwlz_get_info on arbitrary bytes and on every prefix
 * length up to 64 of them; a success must describe a consistent array. */
#include "fuzz_common.h"

static void check(const uint8_t *data, size_t size) {
  gwlz_info info;
  memset(&info, 0xA5, sizeof info);
  if (gwlz_get_info(data, size, &info) != GWLZ_OK) return;
  if (info.ndims < 1 || info.ndims > GWLZ_MAX_DIMS) abort();
  if (info.type != GWLZ_TYPE_FLOAT && info.type != GWLZ_TYPE_DOUBLE) abort();
  size_t n = 1;
  for (int i = 0; i < info.ndims; i++) {
    if (info.dims[i] == 0) abort();
    n *= info.dims[i];
  }
  if (n != info.num_values) abort();
  if (info.decompressed_bytes != n * (info.type == GWLZ_TYPE_DOUBLE ? 8u : 4u)) abort();
  if (!(info.abs_bound >= 0)) abort();
  if (info.format_version < 1 || info.format_version > gwlz_format_version()) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check(data, size);
  for (size_t k = 0; k < size && k < 64; k++) {
    /* prefixes in their own allocation, so ASan sees any overread */
    uint8_t *p = (uint8_t *)malloc(k ? k : 1);
    if (!p) return 0;
    memcpy(p, data, k);
    check(p, k);
    free(p);
  }
  uint8_t *fixed = gwlz_fuzz_fix_checksums(data, size);
  if (fixed) {
    check(fixed, size);
    free(fixed);
  }
  return 0;
}

void gwlz_fuzz_seeds(gwlz_fuzz_sink sink, void *user) { gwlz_fuzz_api_streams(sink, user); }
