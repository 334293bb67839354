/* interp_est.c - the interp base's estimate (for --base auto) against the
 * real payload: bits per value and MSE, and the time of both.
 * usage: interp_est FILE f32|f64 DIMS REL... ; one line per bound:
 *   rel est_bpv bpv est_mse mse est_s comp_s */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s FILE f32|f64 DIMS REL...\n", argv[0]);
    return 2;
  }
  gwlz_base_params p;
  memset(&p, 0, sizeof p);
  p.type = strcmp(argv[2], "f64") == 0 ? GWLZ_TYPE_DOUBLE : GWLZ_TYPE_FLOAT;
  char *s = argv[3];
  p.n = 1;
  while (*s && p.ndims < GWLZ_MAX_DIMS) {
    p.dims[p.ndims] = (size_t)strtoull(s, &s, 10);
    p.n *= p.dims[p.ndims++];
    if (*s == 'x') s++;
  }
  size_t ts = p.type == GWLZ_TYPE_DOUBLE ? 8 : 4, bytes = p.n * ts;
  void *data = malloc(bytes), *rec = malloc(bytes);
  FILE *f = fopen(argv[1], "rb");
  if (!f || fread(data, 1, bytes, f) != bytes) {
    fprintf(stderr, "read error\n");
    return 2;
  }
  fclose(f);
  double mn = INFINITY, mx = -INFINITY;
  for (size_t i = 0; i < p.n; i++) {
    double v = ts == 8 ? ((double *)data)[i] : ((float *)data)[i];
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  for (int a = 4; a < argc; a++) {
    double rel = atof(argv[a]);
    p.abs_eb = rel * (mx - mn);
    double ebpv = 0, emse = 0;
    double t0 = gwlz_now();
    gwlz_error e = gwlz_base_interp.estimate(&p, data, &ebpv, &emse);
    double t1 = gwlz_now();
    gwlz_wbuf out;
    gwlz_wbuf_init(&out);
    if (!e) e = gwlz_base_compress(&p, GWLZ_BASE_INTERP, data, rec, NULL, &out, NULL);
    double t2 = gwlz_now();
    if (e) {
      fprintf(stderr, "error %d\n", (int)e);
      return 1;
    }
    double se = 0;
    for (size_t i = 0; i < p.n; i++) {
      double d = (ts == 8 ? ((double *)data)[i] : ((float *)data)[i]) -
                 (ts == 8 ? ((double *)rec)[i] : ((float *)rec)[i]);
      se += d * d;
    }
    printf("%g\t%.5f\t%.5f\t%.4g\t%.4g\t%.3f\t%.3f\n", rel, ebpv, 8.0 * (double)out.size / (double)p.n,
           emse, se / (double)p.n, t1 - t0, t2 - t1);
    gwlz_wbuf_free(&out);
  }
  free(data);
  free(rec);
  return 0;
}
