/*
 * container.c - the gwlz stream container (docs/format.md is normative).
 *
 *   header:  "GWLZ" | u16 version | u16 header_size | u8 type | u8 ndims |
 *            u8 eb_mode | u8 flags | u64 dims[ndims] | f64 eb_abs | f64 eb_rel |
 *            f64 eb_psnr | f64 abs_bound | [f64 fill] | (extension) | u32 CRC-32C
 *   sections: u32 tag | u64 length | payload, repeated; the last one is END!
 *            with a 4-byte payload: CRC-32C of every stream byte before it.
 */
#include "format/container.h"

#include <math.h>

#include "format/checksum.h"

#define HDR_FIXED 12          /* magic, version, header_size, 4 u8 fields */
#define FLAG_FILL 0x01u
#define FLAG_RELAXED 0x02u
#define FLAG_KNOWN (FLAG_FILL | FLAG_RELAXED)
#define SEC_HEAD 12           /* u32 tag + u64 length */

static const uint8_t magic[4] = {'G', 'W', 'L', 'Z'};

static size_t header_size_for(int ndims, int has_fill) {
  return HDR_FIXED + 8 * (size_t)ndims + 32 + (has_fill ? 8 : 0) + 4;
}

static int tag_printable(uint32_t tag) {
  for (int i = 0; i < 4; i++) {
    uint8_t c = (uint8_t)(tag >> (8 * i));
    if (c < 0x21 || c > 0x7E) return 0;
  }
  return 1;
}

static int tag_known(uint32_t tag) {
  return tag == GWLZ_SEC_SPECIAL || tag == GWLZ_SEC_BASE || tag == GWLZ_SEC_MODELS ||
         tag == GWLZ_SEC_EXCEPT;
}

static int tag_optional(uint32_t tag) {
  uint8_t c = (uint8_t)tag;
  return c >= 'a' && c <= 'z';
}

/* Shared validation of the decoded header fields. */
static gwlz_error check_fields(int type, int ndims, int mode, const uint64_t *dims,
                               double abs_bound, size_t *n_out) {
  if (type != GWLZ_TYPE_FLOAT && type != GWLZ_TYPE_DOUBLE) return GWLZ_ERR_CORRUPT;
  if (ndims < 1 || ndims > GWLZ_MAX_DIMS) return GWLZ_ERR_CORRUPT;
  if (mode < GWLZ_EB_ABS || mode > GWLZ_EB_PSNR) return GWLZ_ERR_CORRUPT;
  if (!(abs_bound >= 0.0) || isinf(abs_bound)) return GWLZ_ERR_CORRUPT;
  size_t n = 1;
  int overflow = 0;
  for (int i = 0; i < ndims; i++) {
    if (dims[i] == 0) return GWLZ_ERR_CORRUPT;
    if (dims[i] > (uint64_t)SIZE_MAX || !gwlz_mul_size(n, (size_t)dims[i], &n)) overflow = 1;
  }
  if (overflow) return GWLZ_ERR_TOO_LARGE;
  size_t bytes;
  if (!gwlz_mul_size(n, gwlz_type_size((gwlz_type)type), &bytes)) return GWLZ_ERR_TOO_LARGE;
  *n_out = n;
  return GWLZ_OK;
}

gwlz_error gwlz_container_write(const gwlz_header *h, const gwlz_section *secs, int nsecs,
                                gwlz_wbuf *out) {
  if (!h || !out || nsecs < 0 || (nsecs > 0 && !secs)) return GWLZ_ERR_PARAM;
  if (out->err != GWLZ_OK) return out->err;
  uint64_t dims[GWLZ_MAX_DIMS] = {0};
  if (h->ndims < 1 || h->ndims > GWLZ_MAX_DIMS) return GWLZ_ERR_PARAM;
  for (int i = 0; i < h->ndims; i++) dims[i] = h->dims[i];
  size_t n;
  gwlz_error e = check_fields((int)h->type, h->ndims, (int)h->eb_mode, dims, h->abs_bound, &n);
  if (e == GWLZ_ERR_CORRUPT) return GWLZ_ERR_PARAM;
  if (e != GWLZ_OK) return e;
  if (h->policy != GWLZ_BOUND_STRICT && h->policy != GWLZ_BOUND_RELAXED) return GWLZ_ERR_PARAM;
  for (int i = 0; i < nsecs; i++) {
    if (secs[i].tag == GWLZ_SEC_END || !tag_printable(secs[i].tag)) return GWLZ_ERR_PARAM;
    if (secs[i].size && !secs[i].data) return GWLZ_ERR_PARAM;
    for (int j = 0; j < i; j++) {
      if (secs[j].tag == secs[i].tag && tag_known(secs[i].tag)) return GWLZ_ERR_PARAM;
    }
  }
  size_t start = out->size;
  size_t hs = header_size_for(h->ndims, h->has_fill);
  gwlz_wbuf_put(out, magic, 4);
  gwlz_wbuf_u16(out, GWLZ_FORMAT_VERSION);
  gwlz_wbuf_u16(out, (uint16_t)hs);
  gwlz_wbuf_u8(out, (uint8_t)h->type);
  gwlz_wbuf_u8(out, (uint8_t)h->ndims);
  gwlz_wbuf_u8(out, (uint8_t)h->eb_mode);
  gwlz_wbuf_u8(out, (uint8_t)((h->has_fill ? FLAG_FILL : 0) |
                              (h->policy == GWLZ_BOUND_RELAXED ? FLAG_RELAXED : 0)));
  for (int i = 0; i < h->ndims; i++) gwlz_wbuf_u64(out, dims[i]);
  gwlz_wbuf_f64(out, h->eb_abs);
  gwlz_wbuf_f64(out, h->eb_rel);
  gwlz_wbuf_f64(out, h->eb_psnr);
  gwlz_wbuf_f64(out, h->abs_bound);
  if (h->has_fill) gwlz_wbuf_f64(out, h->fill_value);
  if (out->err != GWLZ_OK) return out->err;
  gwlz_wbuf_u32(out, gwlz_crc32c(0, out->data + start, hs - 4));
  for (int i = 0; i < nsecs; i++) {
    gwlz_wbuf_u32(out, secs[i].tag);
    gwlz_wbuf_u64(out, (uint64_t)secs[i].size);
    gwlz_wbuf_put(out, secs[i].data, secs[i].size);
  }
  if (out->err != GWLZ_OK) return out->err;
  uint32_t crc = gwlz_crc32c(0, out->data + start, out->size - start);
  gwlz_wbuf_u32(out, GWLZ_SEC_END);
  gwlz_wbuf_u64(out, 4);
  gwlz_wbuf_u32(out, crc);
  return out->err;
}

gwlz_error gwlz_container_read_header(const uint8_t *src, size_t size, gwlz_header *h,
                                      size_t *header_size) {
  if ((!src && size) || !h) return GWLZ_ERR_PARAM;
  size_t k = size < 4 ? size : 4;
  if (k && memcmp(src, magic, k) != 0) return GWLZ_ERR_BAD_MAGIC;
  gwlz_rbuf r;
  gwlz_rbuf_init(&r, src, size);
  const uint8_t *mp;
  uint16_t version, hs;
  gwlz_error e;
  if ((e = gwlz_rbuf_bytes(&r, 4, &mp)) != GWLZ_OK) return e;
  if ((e = gwlz_rbuf_u16(&r, &version)) != GWLZ_OK) return e;
  if (version == 0 || version > GWLZ_FORMAT_VERSION) return GWLZ_ERR_VERSION;
  if ((e = gwlz_rbuf_u16(&r, &hs)) != GWLZ_OK) return e;
  if (hs < header_size_for(1, 0)) return GWLZ_ERR_CORRUPT;
  if (size < hs) return GWLZ_ERR_TRUNCATED;
  uint32_t stored = gwlz_load_u32(src + hs - 4);
  if (gwlz_crc32c(0, src, (size_t)hs - 4) != stored) return GWLZ_ERR_CHECKSUM;
  /* the fields, read from the checksummed header only */
  gwlz_rbuf_init(&r, src, (size_t)hs - 4);
  r.pos = 8;
  uint8_t type, ndims, mode, flags;
  (void)gwlz_rbuf_u8(&r, &type);
  (void)gwlz_rbuf_u8(&r, &ndims);
  (void)gwlz_rbuf_u8(&r, &mode);
  (void)gwlz_rbuf_u8(&r, &flags);
  if (flags & ~FLAG_KNOWN) return GWLZ_ERR_UNSUPPORTED;
  if (ndims < 1 || ndims > GWLZ_MAX_DIMS) return GWLZ_ERR_CORRUPT;
  int has_fill = (flags & FLAG_FILL) != 0;
  if (hs < header_size_for(ndims, has_fill)) return GWLZ_ERR_CORRUPT;
  uint64_t dims[GWLZ_MAX_DIMS] = {0};
  for (int i = 0; i < ndims; i++) (void)gwlz_rbuf_u64(&r, &dims[i]);
  double eb_abs, eb_rel, eb_psnr, abs_bound, fill = 0.0;
  (void)gwlz_rbuf_f64(&r, &eb_abs);
  (void)gwlz_rbuf_f64(&r, &eb_rel);
  (void)gwlz_rbuf_f64(&r, &eb_psnr);
  (void)gwlz_rbuf_f64(&r, &abs_bound);
  if (has_fill) (void)gwlz_rbuf_f64(&r, &fill);
  /* bytes left before the CRC are a header extension: ignored by this version */
  size_t n;
  if ((e = check_fields(type, ndims, mode, dims, abs_bound, &n)) != GWLZ_OK) return e;
  memset(h, 0, sizeof *h);
  h->version = version;
  h->type = (gwlz_type)type;
  h->ndims = ndims;
  for (int i = 0; i < ndims; i++) h->dims[i] = (size_t)dims[i];
  h->n = n;
  h->eb_mode = (gwlz_eb_mode)mode;
  h->eb_abs = eb_abs;
  h->eb_rel = eb_rel;
  h->eb_psnr = eb_psnr;
  h->abs_bound = abs_bound;
  h->has_fill = has_fill;
  h->fill_value = has_fill ? fill : 0.0;
  h->policy = (flags & FLAG_RELAXED) ? GWLZ_BOUND_RELAXED : GWLZ_BOUND_STRICT;
  if (header_size) *header_size = hs;
  return GWLZ_OK;
}

gwlz_error gwlz_container_read(const uint8_t *src, size_t size, gwlz_header *h,
                               gwlz_section *secs, int max, int *nsecs) {
  if (!nsecs || max < 0 || (max > 0 && !secs)) return GWLZ_ERR_PARAM;
  *nsecs = 0;
  size_t hs;
  gwlz_error e = gwlz_container_read_header(src, size, h, &hs);
  if (e != GWLZ_OK) return e;
  /* Pass 1: walk the section lengths to END! and verify the stream checksum
   * before interpreting any tag. */
  gwlz_rbuf r;
  gwlz_rbuf_init(&r, src, size);
  r.pos = hs;
  size_t end_pos = 0;
  for (;;) {
    size_t at = r.pos;
    uint32_t tag;
    const uint8_t *p;
    size_t len;
    if ((e = gwlz_rbuf_u32(&r, &tag)) != GWLZ_OK) return e;
    if ((e = gwlz_rbuf_block(&r, &p, &len)) != GWLZ_OK) return e;
    if (tag == GWLZ_SEC_END) {
      if (len != 4) return GWLZ_ERR_CORRUPT;
      if (gwlz_crc32c(0, src, at) != gwlz_load_u32(p)) return GWLZ_ERR_CHECKSUM;
      if (gwlz_rbuf_left(&r) != 0) return GWLZ_ERR_CORRUPT;
      end_pos = at;
      break;
    }
  }
  /* Pass 2: classify the sections. */
  gwlz_rbuf_init(&r, src, end_pos);
  r.pos = hs;
  int count = 0;
  while (gwlz_rbuf_left(&r) > 0) {
    uint32_t tag;
    const uint8_t *p;
    size_t len;
    if ((e = gwlz_rbuf_u32(&r, &tag)) != GWLZ_OK) return GWLZ_ERR_CORRUPT;
    if ((e = gwlz_rbuf_block(&r, &p, &len)) != GWLZ_OK) return GWLZ_ERR_CORRUPT;
    if (!tag_printable(tag)) return GWLZ_ERR_CORRUPT;
    if (tag_known(tag)) {
      for (int j = 0; j < count; j++) {
        if (secs[j].tag == tag) return GWLZ_ERR_CORRUPT;
      }
      if (count >= max) return GWLZ_ERR_PARAM;
      secs[count].tag = tag;
      secs[count].data = p;
      secs[count].size = len;
      count++;
    } else if (!tag_optional(tag)) {
      return GWLZ_ERR_UNSUPPORTED;
    }
  }
  *nsecs = count;
  return GWLZ_OK;
}
