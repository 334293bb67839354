/* base_dev.c - development tool for the base compressor.
 * usage: base_dev FILE f32|f64 DIMS(C order, e.g. 64x512) REL [REPEAT [DUMP]]
 * prints: bytes ratio(+60 container bytes) psnr maxerr/eb comp_s decomp_s
 *         unpredictable predictor, cpu comp_s decomp_s (best of REPEAT); exits non-zero on a bound or decode error */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s FILE f32|f64 DIMS REL [REPEAT [DUMP]]\n", argv[0]);
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
  double rel = atof(argv[4]);
  int rep = argc > 5 ? atoi(argv[5]) : 1;
  size_t ts = p.type == GWLZ_TYPE_DOUBLE ? 8 : 4, bytes = p.n * ts;
  void *data = malloc(bytes), *rec = malloc(bytes), *dec = malloc(bytes);
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
  p.abs_eb = rel * (mx - mn);
  gwlz_wbuf out;
  gwlz_base_info info;
  double tw[2] = {1e9, 1e9}, tcpu[2] = {1e9, 1e9}; /* best of rep: compress, decompress */
  gwlz_error e = GWLZ_OK;
  gwlz_wbuf_init(&out);
  for (int ph = 0; ph < 2; ph++) {
    for (int r = 0; r < rep; r++) {
      if (!ph) out.size = 0; /* compress appends */
      double t0 = gwlz_now();
      clock_t k0 = clock();
      e = ph ? gwlz_base_decompress(&p, out.data, out.size, dec, NULL)
             : gwlz_base_compress(&p, GWLZ_BASE_INTERP, data, rec, NULL, &out, &info);
      clock_t k1 = clock();
      double t1 = gwlz_now(), cpu = (double)(k1 - k0) / CLOCKS_PER_SEC;
      if (t1 - t0 < tw[ph]) tw[ph] = t1 - t0;
      if (cpu < tcpu[ph]) tcpu[ph] = cpu;
      if (e) {
        fprintf(stderr, "%s: error %d\n", ph ? "decompress" : "compress", (int)e);
        return 1;
      }
    }
  }
  if (argc > 6) { /* dump payload + decoded values for bit-exactness checks */
    FILE *g = fopen(argv[6], "wb");
    if (g) {
      fwrite(out.data, 1, out.size, g);
      fwrite(dec, 1, bytes, g);
      fclose(g);
    }
  }
  int bad = memcmp(rec, dec, bytes) != 0;
  double maxe = 0, se = 0;
  for (size_t i = 0; i < p.n; i++) {
    double v = ts == 8 ? ((double *)data)[i] : ((float *)data)[i];
    double w = ts == 8 ? ((double *)dec)[i] : ((float *)dec)[i];
    double d = fabs(v - w);
    if (!(d <= maxe)) maxe = d;
    se += d * d;
  }
  double psnr = se > 0 ? 20 * log10(mx - mn) - 10 * log10(se / (double)p.n) : INFINITY;
  printf("%zu\t%.4f\t%.3f\t%.6f\t%.4f\t%.4f\t%zu\t%d\tcpu %.4f %.4f%s\n", out.size,
         (double)bytes / (double)(out.size + 60), psnr, p.abs_eb > 0 ? maxe / p.abs_eb : maxe,
         tw[0], tw[1], info.unpredictable, info.mode, tcpu[0], tcpu[1], bad ? "\tMISMATCH" : "");
  if (bad || maxe > p.abs_eb) return 1;
  gwlz_wbuf_free(&out);
  free(data);
  free(rec);
  free(dec);
  return 0;
}
