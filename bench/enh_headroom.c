/*
 * enh_headroom - what the decoder of the base knows, for measuring how much
 * of the base residual any enhancer could learn (bench/enh_headroom.py).
 *
 *   enh_headroom IN f32|f64 ABS_BOUND RECON_OUT AUX_OUT d0 [d1 [d2 [d3]]]
 *
 * Runs the base compressor (GWLZ_BASE_AUTO, the whole array as one piece,
 * as the CLI does below one chunk) on IN (raw, little-endian, C order, dims
 * slowest first) at ABS_BOUND and writes its reconstruction X' (same type)
 * to RECON_OUT and the per-value side information aux (one byte per value,
 * docs/format.md §10.1) to AUX_OUT. Prints the base's payload mode and size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
/* File reading and writing are shared with the tests. */
#include "../tests/testutil.c"

int main(int argc, char **argv) {
  if (argc < 7 || argc > 10) {
    fprintf(stderr, "usage: enh_headroom IN f32|f64 ABS_BOUND RECON_OUT AUX_OUT d0 [d1 [d2 [d3]]]\n");
    return 2;
  }
  gwlz_base_params p;
  memset(&p, 0, sizeof p);
  p.type = strcmp(argv[2], "f64") ? GWLZ_TYPE_FLOAT : GWLZ_TYPE_DOUBLE;
  p.abs_eb = atof(argv[3]);
  p.ndims = argc - 6;
  p.n = 1;
  p.threads = 1;
  for (int i = 0; i < p.ndims; i++) {
    p.dims[i] = (size_t)strtoull(argv[6 + i], NULL, 10);
    p.n *= p.dims[i];
  }
  if (p.n == 0 || !(p.abs_eb > 0)) {
    fprintf(stderr, "enh_headroom: empty array or bound not > 0\n");
    return 2;
  }
  const size_t ts = tu_type_size(p.type);
  size_t got = 0;
  void *x = tu_read_file(argv[1], &got), *recon = malloc(p.n * ts);
  uint8_t *aux = (uint8_t *)calloc(p.n, 1);
  if (!x || got < p.n * ts || !recon || !aux) {
    fprintf(stderr, "enh_headroom: cannot read %zu values from %s\n", p.n, argv[1]);
    return 1;
  }
  gwlz_wbuf out;
  gwlz_base_info info;
  gwlz_wbuf_init(&out);
  memset(&info, 0, sizeof info);
  gwlz_error e = gwlz_base_compress(&p, GWLZ_BASE_AUTO, x, recon, aux, &out, &info);
  if (e != GWLZ_OK) {
    fprintf(stderr, "enh_headroom: base compression failed (%d)\n", (int)e);
    return 1;
  }
  if (!tu_write_file(argv[4], recon, p.n * ts) || !tu_write_file(argv[5], aux, p.n)) {
    fprintf(stderr, "enh_headroom: cannot write the outputs\n");
    return 1;
  }
  printf("mode %d bytes %zu\n", info.mode, out.size);
  gwlz_wbuf_free(&out);
  free(x);
  free(recon);
  free(aux);
  return 0;
}
