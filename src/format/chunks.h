/* chunks.h - the chunked BASE payload (mode 5, docs/format.md §9.11): the
 * chunk grid, the payload head (grid + index of record sizes and CRCs), the
 * chunk records (chunk-local special cells + a BASE payload of any other
 * mode), and the CRC-32C combination that lets a reader check the stream CRC
 * from the index alone. Pure layout: no compression happens here. */
#ifndef GWLZ_CHUNKS_H
#define GWLZ_CHUNKS_H
#include "base/base.h"

/* Chunk sizes accepted by gwlz_set_chunk_size (values). */
#define GWLZ_CHUNK_MIN ((size_t)1)
#define GWLZ_CHUNK_MAX ((size_t)1 << 30)

typedef struct {
  int nd;                          /* the header's ndims (all dimensions)   */
  size_t dims[GWLZ_MAX_DIMS];      /* array extents, slowest first          */
  size_t cdims[GWLZ_MAX_DIMS];     /* chunk extents                          */
  size_t grid[GWLZ_MAX_DIMS];      /* chunks along each dimension            */
  size_t count;                    /* K, chunks in all                       */
} gwlz_grid;

typedef struct {
  uint64_t size;                   /* bytes of the record                    */
  uint32_t crc;                    /* CRC-32C of the record                  */
} gwlz_chunk_entry;

/* The writer's rule (§9.11.6): chunk extents from the dims and the chunk
 * size alone. One chunk when the array has at most chunk_values cells. */
void gwlz_grid_plan(gwlz_grid *g, int nd, const size_t *dims, size_t chunk_values);
/* Grid of stored chunk extents; CORRUPT unless 1 <= cdims[i] <= dims[i]. */
gwlz_error gwlz_grid_from(gwlz_grid *g, int nd, const size_t *dims, const uint64_t *cdims);
/* Box [lo, hi) of chunk k; returns its cell count. */
size_t gwlz_grid_box(const gwlz_grid *g, size_t k, size_t *lo, size_t *hi);
/* Chunk numbers whose boxes meet [lo, hi): the grid coordinates range
 * [glo, ghi) per dimension (empty box: 0 chunks). Returns the count. */
size_t gwlz_grid_touch(const gwlz_grid *g, const size_t *lo, const size_t *hi, size_t *glo,
                       size_t *ghi);
/* The n-th chunk (0-based, C order) of the sub-grid [glo, ghi). */
size_t gwlz_grid_nth(const gwlz_grid *g, const size_t *glo, const size_t *ghi, size_t nth);

/* ---- payload head ------------------------------------------------------ */
/* Bytes of the head (prefix, nd, flags, cdims, index, index CRC): the offset
 * of record 0 in the payload. 0 on overflow. */
size_t gwlz_chunked_head_size(int nd, size_t count);
/* Bytes before the index: prefix, nd, flags, cdims. */
size_t gwlz_chunked_grid_size(int nd);
/* Append the head for the grid and the entries (count of them). */
void gwlz_chunked_write_head(const gwlz_grid *g, const gwlz_chunk_entry *e, gwlz_wbuf *out);
/* Parse the grid part (gwlz_chunked_grid_size(nd) bytes at p, fewer:
 * TRUNCATED) of a payload of payload_size bytes, for an array of nd dims
 * (§9.11.1 checks 1 and 2). */
gwlz_error gwlz_chunked_read_grid(const uint8_t *p, size_t avail, uint64_t payload_size, int nd,
                                  const size_t *dims, gwlz_grid *g);
/* Parse and check the index (checks 3 and 4): head holds the whole head
 * (gwlz_chunked_head_size bytes). entries and offsets (payload offsets of
 * the records; may be NULL) receive g->count values each. */
gwlz_error gwlz_chunked_read_index(const uint8_t *head, const gwlz_grid *g, uint64_t payload_size,
                                   gwlz_chunk_entry *entries, uint64_t *offsets);

/* ---- records ------------------------------------------------------------ */
/* Split a record (already checked against its CRC) into its SPEC payload
 * (spec_size 0: none) and its BASE payload; a nested chunked BASE: CORRUPT. */
gwlz_error gwlz_chunk_record_split(const uint8_t *rec, size_t size, const uint8_t **spec,
                                   size_t *spec_size, const uint8_t **base, size_t *base_size);

/* ---- checksums ---------------------------------------------------------- */
/* CRC-32C of A || B from crc_a = CRC(A), crc_b = CRC(B) and len_b = |B|. */
uint32_t gwlz_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
#endif
