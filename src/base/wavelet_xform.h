/* wavelet_xform.h - multilevel separable CDF 9/7 lifting transform in 1-4 D
 * over any extents (docs/format.md §9.9.2).
 *
 * Layout (Mallat): after the forward transform, along every axis e the first
 * A_e(l+1) entries of the level-l region are the low-pass half and the rest
 * the high-pass half, where A_e(0) = N_e and A_e(l+1) = ceil(A_e(l) / 2)
 * while l < lev_e (A_e stays put once an axis has done its levels). Level l
 * (0 = finest) transforms, inside the region [0, A(l)), every axis with
 * l < lev_e.
 *
 * Arithmetic: IEEE double, every operation rounded on its own in the order
 * written (the library is built without contraction), so the inverse gives
 * the same bits on every build. The per-line arithmetic does not depend on
 * how lines are batched. */
#ifndef GWLZ_WAVELET_XFORM_H
#define GWLZ_WAVELET_XFORM_H

#include <stddef.h>

#define GWLZ_WV_MAX_LEVELS 30

typedef struct {
  int nd;                 /* 1..4                                       */
  size_t n[4];            /* extents, slowest first                     */
  int lev[4];             /* levels per axis, 0..GWLZ_WV_MAX_LEVELS     */
  int L;                  /* max over axes of lev                       */
} gwlz_wv_geom;

/* The largest number of levels an extent allows (every transformed length
 * >= 2). */
int gwlz_wv_max_levels(size_t n);

/* A_e(l): the extent of axis e's low-pass region before level l. */
size_t gwlz_wv_extent(const gwlz_wv_geom *g, int e, int l);

/* Scratch doubles the transforms need (per call). */
size_t gwlz_wv_scratch_size(const gwlz_wv_geom *g);

/* In place on a (C order, extents g->n); scratch: gwlz_wv_scratch_size(g)
 * doubles. */
void gwlz_wv_forward(double *a, const gwlz_wv_geom *g, double *scratch);
void gwlz_wv_inverse(double *a, const gwlz_wv_geom *g, double *scratch);

#endif
