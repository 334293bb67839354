/*
 * chunks.c - layout of the chunked BASE payload (mode 5; docs/format.md
 * §9.11 is normative):
 *
 *   u8 version (1) | u8 mode (5) | u8 nd | u8 flags (0) | u64 cdims[nd] |
 *   K x (u64 size, u32 crc) | u32 index_crc | K records
 *
 *   record: varint spec_size | SPEC payload (chunk-local) | BASE payload
 */
#include "format/chunks.h"

#include "base/base.h"
#include "format/checksum.h"

#define ENTRY_BYTES 12

static size_t ceil_div(size_t a, size_t b) { return a / b + (a % b != 0); }

static void grid_finish(gwlz_grid *g) {
  g->count = 1;
  for (int i = 0; i < g->nd; i++) {
    g->grid[i] = ceil_div(g->dims[i], g->cdims[i]);
    g->count *= g->grid[i]; /* <= product of dims: no overflow */
  }
  for (int i = g->nd; i < GWLZ_MAX_DIMS; i++) g->dims[i] = g->cdims[i] = g->grid[i] = 1;
}

void gwlz_grid_plan(gwlz_grid *g, int nd, const size_t *dims, size_t chunk_values) {
  memset(g, 0, sizeof *g);
  g->nd = nd;
  if (chunk_values < 1) chunk_values = 1;
  for (int i = 0; i < nd; i++) g->dims[i] = g->cdims[i] = dims[i];
  for (;;) {
    /* product of the chunk extents, saturating */
    size_t p = 1;
    int big = 0;
    for (int i = 0; i < nd; i++)
      if (!gwlz_mul_size(p, g->cdims[i], &p)) big = 1;
    if (!big && p <= chunk_values) break;
    int w = 0;
    for (int i = 1; i < nd; i++)
      if (g->cdims[i] > g->cdims[w]) w = i;
    if (g->cdims[w] <= 1) break; /* every extent 1 already */
    g->cdims[w] = ceil_div(g->cdims[w], 2);
  }
  grid_finish(g);
}

gwlz_error gwlz_grid_from(gwlz_grid *g, int nd, const size_t *dims, const uint64_t *cdims) {
  memset(g, 0, sizeof *g);
  if (nd < 1 || nd > GWLZ_MAX_DIMS) return GWLZ_ERR_CORRUPT;
  g->nd = nd;
  for (int i = 0; i < nd; i++) {
    if (cdims[i] == 0 || cdims[i] > (uint64_t)dims[i]) return GWLZ_ERR_CORRUPT;
    g->dims[i] = dims[i];
    g->cdims[i] = (size_t)cdims[i];
  }
  grid_finish(g);
  return GWLZ_OK;
}

size_t gwlz_grid_box(const gwlz_grid *g, size_t k, size_t *lo, size_t *hi) {
  size_t m = 1;
  for (int i = g->nd - 1; i >= 0; i--) {
    size_t c = k % g->grid[i];
    k /= g->grid[i];
    lo[i] = c * g->cdims[i];
    hi[i] = lo[i] + g->cdims[i] < g->dims[i] ? lo[i] + g->cdims[i] : g->dims[i];
    m *= hi[i] - lo[i];
  }
  return m;
}

size_t gwlz_grid_touch(const gwlz_grid *g, const size_t *lo, const size_t *hi, size_t *glo,
                       size_t *ghi) {
  size_t count = 1;
  for (int i = 0; i < g->nd; i++) {
    if (lo[i] >= hi[i]) {
      glo[i] = ghi[i] = 0;
      count = 0;
      continue;
    }
    glo[i] = lo[i] / g->cdims[i];
    ghi[i] = (hi[i] - 1) / g->cdims[i] + 1;
    count *= ghi[i] - glo[i];
  }
  return count;
}

size_t gwlz_grid_nth(const gwlz_grid *g, const size_t *glo, const size_t *ghi, size_t nth) {
  size_t c[GWLZ_MAX_DIMS];
  for (int i = g->nd - 1; i >= 0; i--) {
    size_t w = ghi[i] - glo[i];
    c[i] = glo[i] + nth % w;
    nth /= w;
  }
  size_t k = 0;
  for (int i = 0; i < g->nd; i++) k = k * g->grid[i] + c[i];
  return k;
}

/* ---- head ----------------------------------------------------------------- */

size_t gwlz_chunked_grid_size(int nd) { return 4 + 8 * (size_t)nd; }

size_t gwlz_chunked_head_size(int nd, size_t count) {
  size_t idx;
  if (!gwlz_mul_size(count, ENTRY_BYTES, &idx)) return 0;
  if (!gwlz_add_size(idx, gwlz_chunked_grid_size(nd) + 4, &idx)) return 0;
  return idx;
}

void gwlz_chunked_write_head(const gwlz_grid *g, const gwlz_chunk_entry *e, gwlz_wbuf *out) {
  size_t start = out->size;
  gwlz_base_prefix(out, GWLZ_BASE_MODE_CHUNKED);
  gwlz_wbuf_u8(out, (uint8_t)g->nd);
  gwlz_wbuf_u8(out, 0);
  for (int i = 0; i < g->nd; i++) gwlz_wbuf_u64(out, (uint64_t)g->cdims[i]);
  for (size_t k = 0; k < g->count; k++) {
    gwlz_wbuf_u64(out, e[k].size);
    gwlz_wbuf_u32(out, e[k].crc);
  }
  if (out->err != GWLZ_OK) return;
  gwlz_wbuf_u32(out, gwlz_crc32c(0, out->data + start, out->size - start));
}

gwlz_error gwlz_chunked_read_grid(const uint8_t *p, size_t avail, uint64_t payload_size, int nd,
                                  const size_t *dims, gwlz_grid *g) {
  gwlz_rbuf r;
  uint8_t ver, mode, pnd, flags;
  uint64_t cd[GWLZ_MAX_DIMS];
  gwlz_error e;
  if ((uint64_t)avail > payload_size) avail = (size_t)payload_size;
  gwlz_rbuf_init(&r, p, avail);
  if ((e = gwlz_rbuf_u8(&r, &ver)) != GWLZ_OK) return e;
  if (ver != GWLZ_BASE_PAYLOAD_VERSION) return GWLZ_ERR_VERSION;
  if ((e = gwlz_rbuf_u8(&r, &mode)) != GWLZ_OK) return e;
  if (mode != GWLZ_BASE_MODE_CHUNKED) return GWLZ_ERR_CORRUPT;
  if ((e = gwlz_rbuf_u8(&r, &pnd)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u8(&r, &flags)) != GWLZ_OK) return e;
  if (pnd != nd) return GWLZ_ERR_CORRUPT;
  if (flags != 0) return GWLZ_ERR_UNSUPPORTED;
  for (int i = 0; i < nd; i++)
    if ((e = gwlz_rbuf_u64(&r, &cd[i])) != GWLZ_OK) return e;
  if ((e = gwlz_grid_from(g, nd, dims, cd)) != GWLZ_OK) return e;
  /* the index and its CRC must fit in what is left (before any allocation) */
  uint64_t left = payload_size - gwlz_chunked_grid_size(nd);
  if (left < 4 || (uint64_t)g->count > (left - 4) / ENTRY_BYTES) return GWLZ_ERR_TRUNCATED;
  return GWLZ_OK;
}

gwlz_error gwlz_chunked_read_index(const uint8_t *head, const gwlz_grid *g, uint64_t payload_size,
                                   gwlz_chunk_entry *entries, uint64_t *offsets) {
  size_t hs = gwlz_chunked_head_size(g->nd, g->count);
  if (hs == 0 || (uint64_t)hs > payload_size) return GWLZ_ERR_TRUNCATED;
  if (gwlz_crc32c(0, head, hs - 4) != gwlz_load_u32(head + hs - 4)) return GWLZ_ERR_CHECKSUM;
  const uint8_t *p = head + gwlz_chunked_grid_size(g->nd);
  uint64_t at = hs, left = payload_size - hs;
  for (size_t k = 0; k < g->count; k++, p += ENTRY_BYTES) {
    uint64_t size = gwlz_load_u64(p);
    if (size == 0 || size > left) return GWLZ_ERR_CORRUPT;
    if (entries) {
      entries[k].size = size;
      entries[k].crc = gwlz_load_u32(p + 8);
    }
    if (offsets) offsets[k] = at;
    at += size;
    left -= size;
  }
  return left == 0 ? GWLZ_OK : GWLZ_ERR_CORRUPT;
}

/* ---- records -------------------------------------------------------------- */

gwlz_error gwlz_chunk_record_split(const uint8_t *rec, size_t size, const uint8_t **spec,
                                   size_t *spec_size, const uint8_t **base, size_t *base_size) {
  gwlz_rbuf r;
  uint64_t ss;
  gwlz_error e;
  gwlz_rbuf_init(&r, rec, size);
  if ((e = gwlz_rbuf_varint(&r, &ss)) != GWLZ_OK) return e;
  if (ss > (uint64_t)gwlz_rbuf_left(&r)) return GWLZ_ERR_CORRUPT;
  *spec = rec + r.pos;
  *spec_size = (size_t)ss;
  r.pos += (size_t)ss;
  *base = rec + r.pos;
  *base_size = gwlz_rbuf_left(&r);
  if (*base_size >= 2 && (*base)[1] == GWLZ_BASE_MODE_CHUNKED) return GWLZ_ERR_CORRUPT;
  return GWLZ_OK;
}

/* ---- CRC-32C combination ----------------------------------------------------
 * A CRC is a polynomial over GF(2) in reflected order (bit 31 = x^0).
 * crc(A||B) = crc(A) * x^(8|B|) mod P  XOR  crc(B); the pre- and post-
 * conditioning of §5.1 cancel out of this identity. */

#define CRC32C_POLY 0x82F63B78u

/* a * b mod P (both reflected). */
static uint32_t mul_mod(uint32_t a, uint32_t b) {
  uint32_t prod = 0;
  for (uint32_t m = 1u << 31; m; m >>= 1) {
    if (a & m) prod ^= b;
    b = (b & 1) ? (b >> 1) ^ CRC32C_POLY : b >> 1;
  }
  return prod;
}

/* x^(8 len) mod P, by squaring: x^(2^k) for the set bits of 8 len. */
static uint32_t x_pow_8n(uint64_t len) {
  uint32_t result = 1u << 31; /* x^0 */
  uint32_t sq = 1u << 23;     /* x^8 (bit 31 - 8) */
  while (len) {
    if (len & 1) result = mul_mod(result, sq);
    sq = mul_mod(sq, sq);
    len >>= 1;
  }
  return result;
}

uint32_t gwlz_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  return mul_mod(x_pow_8n(len_b), crc_a) ^ crc_b;
}
