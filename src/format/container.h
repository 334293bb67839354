/* container.h - the stream container: fixed header, tagged length-prefixed
 * sections, trailing checksum. docs/format.md is the normative description. */
#ifndef GWLZ_CONTAINER_H
#define GWLZ_CONTAINER_H
#include "common.h"

#define GWLZ_FORMAT_VERSION 2

/* Section tags (4 ASCII bytes, stored as a little-endian u32). A tag whose
 * first byte is lower case is optional: readers that do not know it skip it.
 * An unknown tag with an upper-case first byte makes the stream unsupported. */
#define GWLZ_TAG(a, b, c, d) \
  ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define GWLZ_SEC_SPECIAL GWLZ_TAG('S', 'P', 'E', 'C')
#define GWLZ_SEC_BASE GWLZ_TAG('B', 'A', 'S', 'E')
#define GWLZ_SEC_MODELS GWLZ_TAG('E', 'N', 'H', 'M')
#define GWLZ_SEC_EXCEPT GWLZ_TAG('E', 'X', 'C', 'P')
#define GWLZ_SEC_END GWLZ_TAG('E', 'N', 'D', '!')

#define GWLZ_MAX_SECTIONS 16

typedef struct {
  unsigned version;
  gwlz_type type;
  int ndims;
  size_t dims[GWLZ_MAX_DIMS];
  size_t n;
  gwlz_eb_mode eb_mode;
  double eb_abs, eb_rel, eb_psnr; /* as the user gave them                 */
  double abs_bound;               /* the absolute bound applied            */
  int has_fill;
  double fill_value;
  gwlz_bound_policy policy;
} gwlz_header;

typedef struct {
  uint32_t tag;
  const uint8_t *data;
  size_t size;
} gwlz_section;

/* Write header + sections + END (checksum) into out. */
gwlz_error gwlz_container_write(const gwlz_header *h, const gwlz_section *secs, int nsecs,
                                gwlz_wbuf *out);
/* Parse and validate the header only (magic, version, header checksum, fields). */
gwlz_error gwlz_container_read_header(const uint8_t *src, size_t size, gwlz_header *h,
                                      size_t *header_size);
/* Parse the whole stream: header, every section length, the END checksum.
 * secs receives pointers into src for the known sections (at most max). */
gwlz_error gwlz_container_read(const uint8_t *src, size_t size, gwlz_header *h,
                               gwlz_section *secs, int max, int *nsecs);
#endif
