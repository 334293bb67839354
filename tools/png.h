/* png.h - the --png picture of the command-line tool (tools/png.c). */
#ifndef GWLZ_TOOLS_PNG_H
#define GWLZ_TOOLS_PNG_H
#include <stddef.h>
#include <stdint.h>

#include "gwlz.h"

typedef struct {
  gwlz_type type;
  int ndims;
  size_t dims[GWLZ_MAX_DIMS];  /* C order, slowest first                       */
  int has_fill;
  double fill;
  const void *orig;            /* the original values, or NULL                 */
  const void *base;            /* the base reconstruction X'                   */
  const void *out;             /* the decoder's output                         */
  int enhanced;                /* out differs from base by an enhancer         */
  const char *base_name;       /* for the title                                */
  const char *caption;         /* first line of the picture (file name), or NULL */
  int slice_axis;              /* C-order axis to fix, or -1 (default slice)   */
  size_t slice_index;
  int log_scale;               /* -1 automatic, 0 linear, 1 logarithmic        */
} png_view;

/* Renders the picture as PNG bytes into *out (malloc'd; the caller frees).
 * Returns 1, or 0 with a message in err. */
int png_render(const png_view *v, uint8_t **out, size_t *out_size, char *err, size_t errlen);
#endif
