/* v1.h - the version 1 enhancer payloads (v1.c, docs/format.md §10.2-10.8). */
#ifndef GWLZ_ENH_V1_H
#define GWLZ_ENH_V1_H
#include "enhance/enhancer.h"

/* Parameters valid for both versions (geometry, bound). */
gwlz_error gwlz_enh_check_params(const gwlz_enh_params *p);
/* y holds X' on entry; the caller checked p (groups, policy). */
gwlz_error gwlz_e1_compress(const gwlz_enh_params *p, const void *x, const void *xr, void *y,
                            gwlz_wbuf *models, gwlz_wbuf *exceptions, gwlz_enh_stats *st);
gwlz_error gwlz_e1_decompress(const gwlz_enh_params *p, const uint8_t *models, size_t models_size,
                              const uint8_t *exc, size_t exc_size, void *data);
gwlz_error gwlz_e1_validate(const gwlz_enh_params *p, const uint8_t *models, size_t models_size,
                            const uint8_t *exc, size_t exc_size);
gwlz_error gwlz_e1_peek(const uint8_t *models, size_t models_size, gwlz_enhancer *kind, int *groups_kept);
#endif
