/*
 * test_enhanced_fields.c - every real field of the shared data set with the
 * enhancer on (default settings, strict bound), at REL 5e-3, 1e-3 and 1e-4:
 *  - every finite non-fill value within the bound, NaN/Inf/fill bit-exact;
 *  - PSNR never below the base compressor's at the same bound;
 *  - never worse at equal bits: the PSNR gain pays for the extra bytes at
 *    the base's rate-distortion slope (the library's keep rule);
 *  - decoding with 1 and 2 threads gives identical bytes.
 * The CNN enhancer is run the same way on the fields it can train in a few
 * seconds. Under AddressSanitizer only the small fields run (time).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "enhance/enhancer.h"
#include "gwlz.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define SMALL_ONLY 1
#else
#define SMALL_ONLY 0
#endif

#define NBOUNDS 3
static const double bounds[NBOUNDS] = {5e-3, 1e-3, 1e-4};

static gwlz_ctx *make_ctx(const tu_field *f, double rel, int groups, gwlz_enhancer kind) {
  gwlz_ctx *ctx = gwlz_create();
  if (!ctx) return NULL;
  gwlz_set_type(ctx, f->type);
  gwlz_set_dims(ctx, f->ndims, f->dims);
  gwlz_set_error_bound(ctx, GWLZ_EB_REL, 0, rel, 0);
  if (f->has_fill) gwlz_set_fill_value(ctx, f->fill);
  gwlz_set_groups(ctx, groups);
  gwlz_set_enhancer(ctx, kind);
  gwlz_set_threads(ctx, 2);
  return ctx;
}

/* Decode with the given thread count into a new buffer. */
static void *decode(const void *stream, size_t size, int threads, size_t bytes) {
  gwlz_ctx *ctx = gwlz_create();
  void *out = malloc(bytes ? bytes : 1);
  if (!ctx || !out) {
    gwlz_free(ctx);
    free(out);
    return NULL;
  }
  gwlz_set_threads(ctx, threads);
  gwlz_error e = gwlz_decompress(ctx, stream, size, out, bytes);
  gwlz_free(ctx);
  if (e != GWLZ_OK) {
    free(out);
    return NULL;
  }
  return out;
}

static void run(const tu_field *f, const void *data, double rel, gwlz_enhancer kind) {
  const size_t bytes = f->num_values * tu_type_size(f->type);
  const char *kname = kind == GWLZ_ENH_CNN ? "cnn" : "default";

  /* Base only. */
  gwlz_ctx *cb = make_ctx(f, rel, 0, GWLZ_ENH_NONE);
  void *sb = NULL;
  size_t nb = 0;
  gwlz_error e = cb ? tu_compress(cb, data, &sb, &nb) : GWLZ_ERR_MEMORY;
  CHECK(e == GWLZ_OK, "%s rel %g base: %s", f->file, rel, gwlz_error_string(e));
  gwlz_stats bst;
  memset(&bst, 0, sizeof(bst));
  if (e == GWLZ_OK) gwlz_get_stats(cb, &bst);

  /* Enhanced, default settings but the enhancer kind. */
  gwlz_ctx *ce = make_ctx(f, rel, GWLZ_DEFAULT_GROUPS, kind);
  void *se = NULL;
  size_t ne = 0;
  gwlz_error e2 = ce ? tu_compress(ce, data, &se, &ne) : GWLZ_ERR_MEMORY;
  CHECK(e2 == GWLZ_OK, "%s rel %g %s: %s", f->file, rel, kname, gwlz_error_string(e2));
  if (e == GWLZ_OK && e2 == GWLZ_OK) {
    gwlz_stats st;
    gwlz_get_stats(ce, &st);
    void *y1 = decode(se, ne, 1, bytes), *y2 = decode(se, ne, 2, bytes);
    CHECK(y1 && y2, "%s rel %g %s: decode failed", f->file, rel, kname);
    if (y1 && y2) {
      CHECK(memcmp(y1, y2, bytes) == 0, "%s rel %g %s: 1 and 2 threads decode differently",
            f->file, rel, kname);
      tu_metrics m;
      tu_compare(data, y1, f->num_values, f->type, f->has_fill, f->fill, st.abs_bound, &m);
      CHECK(m.over_bound == 0, "%s rel %g %s: %zu values over the bound (max err/eb %.6f)",
            f->file, rel, kname, m.over_bound, m.max_err / st.abs_bound);
      CHECK(m.special_bad == 0, "%s rel %g %s: %zu special cells changed", f->file, rel, kname,
            m.special_bad);
      /* The decoder's PSNR against the base compressor's (stats are over the
       * same cells): never below. */
      CHECK(m.psnr >= bst.base_psnr - 1e-9, "%s rel %g %s: PSNR %.3f below base %.3f", f->file,
            rel, kname, m.psnr, bst.base_psnr);
      CHECK(fabs(m.psnr - st.enhanced_psnr) < 1e-6 || (isinf(m.psnr) && isinf(st.enhanced_psnr)),
            "%s rel %g %s: decoded PSNR %.6f differs from the compressor's %.6f", f->file, rel,
            kname, m.psnr, st.enhanced_psnr);
      const double slope = gwlz_enh_rd_slope(f->num_values, nb);
      const double cost = slope * log2((double)ne / (double)nb), gain = m.psnr - bst.base_psnr;
      CHECK(ne == nb || gain > cost, "%s rel %g %s: gain %.3f dB does not pay for %zu extra bytes (%.3f dB)",
            f->file, rel, kname, gain, ne - nb, cost);
      printf("%-44s %-7s rel %-6g base %8.3f dB  enh %8.3f dB  (+%.3f)  size x%.4f  groups %d\n",
             f->file, kname, rel, bst.base_psnr, m.psnr, m.psnr - bst.base_psnr,
             (double)ne / (double)nb, st.groups_kept);
    }
    free(y1);
    free(y2);
  }
  free(sb);
  free(se);
  gwlz_free(cb);
  gwlz_free(ce);
}

int main(void) {
  tu_field *fields = NULL;
  int nf = tu_load_manifest(&fields);
  CHECK(nf > 0, "manifest not found under %s", tu_data_dir());
  for (int i = 0; i < nf; i++) {
    const tu_field *f = &fields[i];
    if (SMALL_ONLY && f->num_values > 200000) continue;
    size_t size = 0;
    void *data = tu_read_file(f->path, &size);
    size_t raw = f->num_values * tu_type_size(f->type);
    CHECK(data != NULL && size == raw, "%s: read", f->file);
    if (data && size == raw) {
      for (int b = 0; b < NBOUNDS; b++) {
        run(f, data, bounds[b], GWLZ_ENH_AUTO);
        if (!SMALL_ONLY && f->num_values <= 1100000) run(f, data, bounds[b], GWLZ_ENH_CNN);
      }
    }
    free(data);
  }
  free(fields);
  return tu_finish();
}
