/* special.h - NaN, +/-Inf and fill cells: found before compression, stored
 * exactly, replaced in a working copy so that they neither spoil the value
 * range nor the prediction of their neighbours, and put back after decoding. */
#ifndef GWLZ_SPECIAL_H
#define GWLZ_SPECIAL_H
#include "common.h"

typedef struct {
  size_t count;        /* number of special cells                         */
  double min, max;     /* over the other cells (0, 0 when there are none)  */
  size_t finite;       /* number of other cells                            */
} gwlz_special_scan;

/* Scan data (n values of type t) for special cells. has_fill/fill: the fill
 * value, compared after conversion to t (a NaN fill matches any NaN). */
void gwlz_special_scan_data(gwlz_type t, const void *data, size_t n, int has_fill,
                            double fill, gwlz_special_scan *out);
/* When scan->count > 0: fill work (n values, type t) with a copy of data in
 * which each special cell holds a neighbour-friendly finite value (the last
 * preceding regular value, or the first regular one / 0 when none precede),
 * set mask[i] = 1 at special cells (0 elsewhere), and append to out a payload
 * recording the positions and exact bit patterns of the special cells. */
gwlz_error gwlz_special_encode(gwlz_type t, const void *data, size_t n, int has_fill,
                               double fill, void *work, uint8_t *mask, gwlz_wbuf *out);
/* Put the special cells of payload back into data (n values of type t).
 * If mask is not NULL, set mask[i] = 1 at special cells (it must be zeroed).
 * data may be NULL: then only mask is filled (the decoder needs the mask
 * before the enhancer runs, and the values only after it). With both NULL the
 * payload is only validated (the decoder does that before the BASE section). */
gwlz_error gwlz_special_decode(gwlz_type t, const uint8_t *payload, size_t size,
                               void *data, size_t n, uint8_t *mask);
#endif
