/* psnr.h - the absolute bound for a PSNR target (GWLZ_EB_PSNR).
 *
 * The PSNR of the decoder's output (after enhancement) must reach the target
 * X: 20 log10(range) - 10 log10(MSE) >= X over the regular (finite,
 * non-fill) cells. The bound that achieves it depends on how the error is
 * distributed below the bound and on what the enhancer recovers, neither of
 * which has a closed form, so the search measures: it runs the whole pipeline
 * at trial bounds and keeps the smallest stream that reaches X.
 *
 * The search only drives trial runs through gwlz_psnr_ops; the pipeline
 * (api.c) runs them and holds the streams. */
#ifndef GWLZ_PSNR_H
#define GWLZ_PSNR_H
#include "common.h"

/* What one trial run at a bound measured. */
typedef struct {
  double psnr_base;   /* PSNR of the base reconstruction X' (INFINITY: exact) */
  double psnr_out;    /* PSNR of the stream's decoded output                  */
  size_t bytes;       /* size of the stream                                   */
  size_t base_bytes;  /* size of the same stream without enhancer sections    */
} gwlz_psnr_trial;

typedef struct {
  /* Run the pipeline at absolute bound eb (> 0), with the enhancer when
   * enhance is 1, base only when 0; the stream stays pending until the next
   * run. */
  gwlz_error (*run)(void *user, double eb, int enhance, gwlz_psnr_trial *t);
  /* Make the pending stream of the last run the answer (replacing any
   * earlier answer). */
  gwlz_error (*keep)(void *user);
  void *user;
} gwlz_psnr_ops;

typedef struct {
  double eb;          /* bound of the kept stream                              */
  double psnr;        /* its measured PSNR (>= the target)                     */
  size_t bytes;
  int enhanced;       /* 1 if the kept stream came from a run with the enhancer */
  int base_runs;      /* trial runs without the enhancer                        */
  int enh_runs;       /* trial runs with the enhancer                           */
} gwlz_psnr_result;

/* Search the bound for target (dB) on a field whose regular values span
 * range (> 0). try_enhancer: also try runs with the enhancer; the base-only
 * phase is the same either way and the smallest stream that reaches the
 * target wins, so the answer is never larger than the base-only answer. On
 * success at least one run has been kept, the last kept one is the answer,
 * and its PSNR is >= target. */
gwlz_error gwlz_psnr_search(double target, double range, int try_enhancer,
                            const gwlz_psnr_ops *ops, gwlz_psnr_result *res);
#endif
