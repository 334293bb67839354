/* interp_dev.c - development tool for the mode 6 schedule of the interp base.
 * usage: interp_dev FILE f32|f64 DIMS REL [key=value ...]
 *   keys: kind=0|1|2 (all levels), kindN=.. (level N), md=0|1, mdN, perm=, permN,
 *         alpha=, beta= (level factors), fqN=, frozen=MASK, kdiv=, radius=, reps=
 * prints: bytes bpv psnr maxerr/eb comp_s decomp_s nunpred */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/interp2.h"

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s FILE f32|f64 DIMS REL [key=value ...]\n", argv[0]);
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
  gwlz_shape sh;
  gwlz_base_squeeze(&p, &sh);
  gwlz_i2_cfg c;
  memset(&c, 0, sizeof c);
  c.nd = sh.nd;
  for (int e = 0; e < sh.nd; e++) c.n[e] = sh.n[e];
  c.L = gwlz_i2_levels(c.nd, c.n);
  c.eb = p.abs_eb;
  c.radius = 1u << 20;
  c.kdiv = 4;
  double alpha = 1.25, beta = 2.0;
  int reps = 1;
  for (int l = 1; l <= c.L; l++) {
    c.kind[l] = 1;
    for (int t = 0; t < c.nd; t++) c.w[l][t] = 1;
  }
  for (int a = 5; a < argc; a++) {
    char key[32];
    double v;
    int lvl = -1, nk = 0;
    const char *q = argv[a];
    while (*q >= 'a' && *q <= 'z' && nk < 31) key[nk++] = *q++;
    key[nk] = 0;
    if (*q >= '0' && *q <= '9') lvl = (int)strtol(q, (char **)&q, 10);
    if (*q == '=') {
      v = atof(q + 1);
      for (int l = 1; l <= c.L; l++) {
        if (lvl >= 0 && l != lvl) continue;
        if (!strcmp(key, "kind")) c.kind[l] = (uint8_t)v;
        if (!strcmp(key, "md")) c.md[l] = (uint8_t)v;
        if (!strcmp(key, "perm")) c.perm[l] = (uint8_t)v;
        if (!strcmp(key, "fq")) c.fq[l] = (uint8_t)v;
        if (!strcmp(key, "wa")) c.w[l][0] = (uint8_t)v;
        if (!strcmp(key, "wb")) c.w[l][1] = (uint8_t)v;
        if (!strcmp(key, "wc")) c.w[l][2] = (uint8_t)v;
      }
      if (!strcmp(key, "alpha")) alpha = v;
      if (!strcmp(key, "beta")) beta = v;
      if (!strcmp(key, "frozen")) c.frozen = (unsigned)v;
      if (!strcmp(key, "kdiv")) c.kdiv = (int)v;
      if (!strcmp(key, "lorenzo")) c.lorenzo = (int)v;
      if (!strcmp(key, "groups")) c.groups = (int)v;
      if (!strcmp(key, "radius")) c.radius = (uint32_t)v;
      if (!strcmp(key, "reps")) reps = (int)v;
    }
  }
  int has_fq = 0;
  for (int a = 5; a < argc; a++) has_fq |= !strncmp(argv[a], "fq", 2);
  if (!has_fq)
    for (int l = 1; l <= c.L; l++) {
      double r = 1.0;
      for (int j = 1; j < l; j++) {
        r *= alpha;
        if (r >= beta) {
          r = beta;
          break;
        }
      }
      double qv = (r - 1.0) * 16.0 + 0.5;
      c.fq[l] = (uint8_t)(qv > 255 ? 255 : qv);
    }
  gwlz_wbuf out;
  gwlz_wbuf_init(&out);
  size_t nunp = 0;
  double tc = 1e9, td = 1e9;
  for (int r = 0; r < reps; r++) {
    out.size = 0;
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    if (gwlz_i2_payload(&p, &c, data, rec, NULL, &out, &nunp)) return 1;
    double t1 = (double)clock() / CLOCKS_PER_SEC;
    if (t1 - t0 < tc) tc = t1 - t0;
  }
  for (int r = 0; r < reps; r++) {
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    gwlz_error e = gwlz_base_decompress(&p, out.data, out.size, dec, NULL);
    double t1 = (double)clock() / CLOCKS_PER_SEC;
    if (e) {
      fprintf(stderr, "decompress error %d\n", (int)e);
      return 1;
    }
    if (t1 - t0 < td) td = t1 - t0;
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
  printf("%zu\t%.5f\t%.3f\t%.4f\t%.4f\t%.4f\t%zu%s\n", out.size, 8.0 * (double)out.size / (double)p.n,
         psnr, maxe / p.abs_eb, tc, td, nunp, bad ? "\tMISMATCH" : "");
  return bad || maxe > p.abs_eb;
}
