/* test_container.c - the stream container: round trip, truncation, damage,
 * optional and critical unknown sections, versions, checksum test vectors,
 * lossless blocks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/checksum.h"
#include "common.h"
#include "format/container.h"
#include "format/lossless.h"
#include "testutil.h"


static gwlz_header make_header(int ndims, int fill) {
  gwlz_header h;
  memset(&h, 0, sizeof h);
  h.version = GWLZ_FORMAT_VERSION;
  h.type = GWLZ_TYPE_FLOAT;
  h.ndims = ndims;
  for (int i = 0; i < ndims; i++) h.dims[i] = (size_t)(3 + i);
  h.n = 1;
  for (int i = 0; i < ndims; i++) h.n *= h.dims[i];
  h.eb_mode = GWLZ_EB_ABS_AND_REL;
  h.eb_abs = 1e-3;
  h.eb_rel = 1e-4;
  h.eb_psnr = 0;
  h.abs_bound = 5e-4;
  h.has_fill = fill;
  h.fill_value = fill ? -9999.0 : 0.0;
  h.policy = fill ? GWLZ_BOUND_RELAXED : GWLZ_BOUND_STRICT;
  return h;
}

static int same_header(const gwlz_header *a, const gwlz_header *b) {
  if (a->type != b->type || a->ndims != b->ndims || a->n != b->n || a->eb_mode != b->eb_mode)
    return 0;
  for (int i = 0; i < a->ndims; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return a->eb_abs == b->eb_abs && a->eb_rel == b->eb_rel && a->eb_psnr == b->eb_psnr &&
         a->abs_bound == b->abs_bound && a->has_fill == b->has_fill &&
         a->fill_value == b->fill_value && a->policy == b->policy && b->version == GWLZ_FORMAT_VERSION;
}

/* Recompute both checksums of a stream after editing it (header CRC at
 * hs-4, END CRC as the last 4 bytes). */
static void fix_checksums(uint8_t *s, size_t size) {
  size_t hs = (size_t)(s[6] | (s[7] << 8));
  gwlz_store_u32(s + hs - 4, gwlz_crc32c(0, s, hs - 4));
  gwlz_store_u32(s + size - 4, gwlz_crc32c(0, s, size - 16));
}

static void test_crc(void) {
  EXPECT(gwlz_crc32c(0, "123456789", 9) == 0xE3069283u);
  EXPECT(gwlz_crc32c(0, "", 0) == 0);
  uint8_t z[32] = {0};
  EXPECT(gwlz_crc32c(0, z, 32) == 0x8A9136AAu); /* RFC 3720 B.4: 32 zero bytes */
  uint8_t ff[32];
  memset(ff, 0xFF, 32);
  EXPECT(gwlz_crc32c(0, ff, 32) == 0x62A8AB43u); /* RFC 3720 B.4: 32 0xFF bytes */
  uint8_t inc[32];
  for (int i = 0; i < 32; i++) inc[i] = (uint8_t)i;
  EXPECT(gwlz_crc32c(0, inc, 32) == 0x46DD794Eu); /* RFC 3720 B.4: incrementing */
  /* incremental == one shot, at every split and misalignment */
  uint8_t buf[300];
  for (int i = 0; i < 300; i++) buf[i] = (uint8_t)(i * 37 + 11);
  for (size_t off = 0; off < 9; off++) {
    uint32_t whole = gwlz_crc32c(0, buf + off, 200);
    for (size_t k = 0; k <= 200; k += 7) {
      EXPECT(gwlz_crc32c(gwlz_crc32c(0, buf + off, k), buf + off + k, 200 - k) == whole);
    }
  }
}

static void test_lossless(void) {
  uint8_t src[5000];
  for (int i = 0; i < 5000; i++) src[i] = (uint8_t)((i * i) >> 7);
  gwlz_wbuf w;
  gwlz_wbuf_init(&w);
  EXPECT(gwlz_lossless_pack(src, sizeof src, &w, GWLZ_ZSTD_LEVEL) == GWLZ_OK);
  EXPECT(gwlz_lossless_pack(src, 0, &w, GWLZ_ZSTD_LEVEL) == GWLZ_OK);
  gwlz_rbuf r;
  uint8_t *d;
  size_t n;
  gwlz_rbuf_init(&r, w.data, w.size);
  EXPECT(gwlz_lossless_unpack(&r, sizeof src, &d, &n) == GWLZ_OK);
  EXPECT(n == sizeof src && memcmp(d, src, n) == 0);
  free(d);
  EXPECT(gwlz_lossless_unpack(&r, sizeof src, &d, &n) == GWLZ_OK);
  EXPECT(n == 0 && d == NULL && gwlz_rbuf_left(&r) == 0);
  /* raw size over max_raw */
  gwlz_rbuf_init(&r, w.data, w.size);
  EXPECT(gwlz_lossless_unpack(&r, sizeof src - 1, &d, &n) == GWLZ_ERR_CORRUPT);
  /* every truncation of the first block */
  size_t first = w.size - 16;
  for (size_t len = 0; len < first; len++) {
    gwlz_rbuf_init(&r, w.data, len);
    EXPECT(gwlz_lossless_unpack(&r, sizeof src, &d, &n) != GWLZ_OK);
  }
  /* wrong raw size */
  uint8_t *cp = (uint8_t *)malloc(w.size);
  memcpy(cp, w.data, w.size);
  gwlz_store_u64(cp, sizeof src - 1);
  gwlz_rbuf_init(&r, cp, w.size);
  EXPECT(gwlz_lossless_unpack(&r, sizeof src, &d, &n) == GWLZ_ERR_CORRUPT);
  /* damage in the frame */
  uint64_t st = 5;
  for (int k = 0; k < 300; k++) {
    memcpy(cp, w.data, w.size);
    size_t at = 16 + (size_t)(gwlz_rng_next(&st) % (first - 16));
    cp[at] ^= (uint8_t)(1u << (gwlz_rng_next(&st) & 7));
    gwlz_rbuf_init(&r, cp, first);
    if (gwlz_lossless_unpack(&r, sizeof src, &d, &n) == GWLZ_OK) {
      EXPECT(n == sizeof src);
      free(d);
    }
  }
  free(cp);
  gwlz_wbuf_free(&w);
  /* small incompressible content is stored */
  {
    uint8_t rnd[40];
    uint64_t s2 = 17;
    for (int i = 0; i < 40; i++) rnd[i] = (uint8_t)gwlz_rng_next(&s2);
    gwlz_wbuf_init(&w);
    EXPECT(gwlz_lossless_pack(rnd, sizeof rnd, &w, GWLZ_ZSTD_LEVEL) == GWLZ_OK);
    EXPECT(w.size == 16 + sizeof rnd);
    EXPECT(gwlz_load_u64(w.data + 8) == sizeof rnd);
    gwlz_rbuf_init(&r, w.data, w.size);
    EXPECT(gwlz_lossless_unpack(&r, sizeof rnd, &d, &n) == GWLZ_OK);
    EXPECT(n == sizeof rnd && memcmp(d, rnd, n) == 0 && gwlz_rbuf_left(&r) == 0);
    free(d);
    for (size_t len = 0; len < w.size; len++) {
      gwlz_rbuf_init(&r, w.data, len);
      EXPECT(gwlz_lossless_unpack(&r, sizeof rnd, &d, &n) == GWLZ_ERR_TRUNCATED);
    }
    /* packed larger than raw */
    gwlz_store_u64(w.data, sizeof rnd - 1);
    gwlz_rbuf_init(&r, w.data, w.size);
    EXPECT(gwlz_lossless_unpack(&r, sizeof rnd, &d, &n) == GWLZ_ERR_CORRUPT);
    gwlz_wbuf_free(&w);
  }
}

static void test_roundtrip(void) {
  uint8_t pa[100], pb[7];
  for (int i = 0; i < 100; i++) pa[i] = (uint8_t)i;
  memset(pb, 0x5A, sizeof pb);
  for (int nd = 1; nd <= 4; nd++) {
    for (int fill = 0; fill <= 1; fill++) {
      gwlz_header h = make_header(nd, fill);
      gwlz_section secs[3] = {{GWLZ_SEC_SPECIAL, pb, sizeof pb},
                              {GWLZ_SEC_BASE, pa, sizeof pa},
                              {GWLZ_SEC_MODELS, NULL, 0}};
      gwlz_wbuf w;
      gwlz_wbuf_init(&w);
      EXPECT(gwlz_container_write(&h, secs, 3, &w) == GWLZ_OK);
      gwlz_header g;
      size_t hs = 0;
      EXPECT(gwlz_container_read_header(w.data, w.size, &g, &hs) == GWLZ_OK);
      EXPECT(same_header(&h, &g));
      EXPECT(hs == 12 + 8 * (size_t)nd + 32 + (fill ? 8u : 0u) + 4);
      /* prefix of exactly the header is enough for read_header */
      EXPECT(gwlz_container_read_header(w.data, hs, &g, NULL) == GWLZ_OK);
      gwlz_section out[GWLZ_MAX_SECTIONS];
      int ns = -1;
      memset(&g, 0, sizeof g);
      EXPECT(gwlz_container_read(w.data, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns) == GWLZ_OK);
      EXPECT(same_header(&h, &g));
      EXPECT(ns == 3);
      if (ns == 3) {
        EXPECT(out[0].tag == GWLZ_SEC_SPECIAL && out[0].size == sizeof pb &&
              memcmp(out[0].data, pb, sizeof pb) == 0);
        EXPECT(out[1].tag == GWLZ_SEC_BASE && out[1].size == sizeof pa &&
              memcmp(out[1].data, pa, sizeof pa) == 0);
        EXPECT(out[2].tag == GWLZ_SEC_MODELS && out[2].size == 0);
      }
      EXPECT(w.size == hs + 3 * 12 + sizeof pa + sizeof pb + 16);
      /* every truncation fails, and read_header fails on prefixes < hs */
      for (size_t len = 0; len < w.size; len++) {
        gwlz_error e = gwlz_container_read(w.data, len, &g, out, GWLZ_MAX_SECTIONS, &ns);
        EXPECT(e != GWLZ_OK);
        if (len >= 4) EXPECT(e == GWLZ_ERR_TRUNCATED);
        e = gwlz_container_read_header(w.data, len, &g, NULL);
        EXPECT((len < hs) == (e != GWLZ_OK));
        if (len < hs) EXPECT(e == GWLZ_ERR_TRUNCATED);
      }
      /* trailing bytes */
      {
        uint8_t *cp = (uint8_t *)malloc(w.size + 1);
        memcpy(cp, w.data, w.size);
        cp[w.size] = 0;
        EXPECT(gwlz_container_read(cp, w.size + 1, &g, out, GWLZ_MAX_SECTIONS, &ns) ==
              GWLZ_ERR_CORRUPT);
        free(cp);
      }
      /* every single bit flip fails */
      uint8_t *cp = (uint8_t *)malloc(w.size);
      for (size_t byte = 0; byte < w.size; byte++) {
        for (int bit = 0; bit < 8; bit++) {
          memcpy(cp, w.data, w.size);
          cp[byte] ^= (uint8_t)(1u << bit);
          gwlz_error e = gwlz_container_read(cp, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns);
          CHECK(e != GWLZ_OK, "bit flip at %zu.%d accepted", byte, bit);
        }
      }
      free(cp);
      gwlz_wbuf_free(&w);
    }
  }
}

static void test_sections(void) {
  uint8_t pa[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  gwlz_header h = make_header(3, 0);
  gwlz_section out[GWLZ_MAX_SECTIONS];
  gwlz_header g;
  int ns;
  /* unknown optional section is skipped */
  {
    gwlz_section secs[3] = {{GWLZ_TAG('x', 'y', 'z', 'w'), pa, 5},
                            {GWLZ_SEC_BASE, pa, sizeof pa},
                            {GWLZ_TAG('n', 'o', 't', 'e'), pa, 0}};
    gwlz_wbuf w;
    gwlz_wbuf_init(&w);
    EXPECT(gwlz_container_write(&h, secs, 3, &w) == GWLZ_OK);
    EXPECT(gwlz_container_read(w.data, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns) == GWLZ_OK);
    EXPECT(ns == 1 && out[0].tag == GWLZ_SEC_BASE && out[0].size == sizeof pa);
    gwlz_wbuf_free(&w);
  }
  /* unknown critical section: unsupported */
  {
    gwlz_section secs[2] = {{GWLZ_SEC_BASE, pa, sizeof pa}, {GWLZ_TAG('Z', 'Z', 'Z', '1'), pa, 3}};
    gwlz_wbuf w;
    gwlz_wbuf_init(&w);
    EXPECT(gwlz_container_write(&h, secs, 2, &w) == GWLZ_OK);
    EXPECT(gwlz_container_read(w.data, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns) ==
          GWLZ_ERR_UNSUPPORTED);
    /* ... but the header alone is readable */
    EXPECT(gwlz_container_read_header(w.data, w.size, &g, NULL) == GWLZ_OK);
    gwlz_wbuf_free(&w);
  }
  /* duplicate known section: the writer refuses; a hand-made one is corrupt */
  {
    gwlz_section secs[2] = {{GWLZ_SEC_BASE, pa, 4}, {GWLZ_TAG('B', 'A', 'S', 'X'), pa, 4}};
    gwlz_wbuf w;
    gwlz_wbuf_init(&w);
    gwlz_section dup[2] = {{GWLZ_SEC_BASE, pa, 4}, {GWLZ_SEC_BASE, pa, 4}};
    EXPECT(gwlz_container_write(&h, dup, 2, &w) == GWLZ_ERR_PARAM);
    EXPECT(gwlz_container_write(&h, secs, 2, &w) == GWLZ_OK);
    size_t hs = (size_t)(w.data[6] | (w.data[7] << 8));
    w.data[hs + 12 + 4 + 3] = 'E'; /* BASX -> BASE */
    fix_checksums(w.data, w.size);
    EXPECT(gwlz_container_read(w.data, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns) ==
          GWLZ_ERR_CORRUPT);
    gwlz_wbuf_free(&w);
  }
  /* END! in the middle, then more bytes: corrupt */
  {
    gwlz_section secs[1] = {{GWLZ_SEC_BASE, pa, 4}};
    gwlz_wbuf w;
    gwlz_wbuf_init(&w);
    EXPECT(gwlz_container_write(&h, secs, 1, &w) == GWLZ_OK);
    gwlz_wbuf_put(&w, pa, 4);
    EXPECT(gwlz_container_read(w.data, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns) ==
          GWLZ_ERR_CORRUPT);
    gwlz_wbuf_free(&w);
  }
  /* the writer refuses END! and unprintable tags, bad headers */
  {
    gwlz_wbuf w;
    gwlz_wbuf_init(&w);
    gwlz_section e1[1] = {{GWLZ_SEC_END, pa, 4}};
    EXPECT(gwlz_container_write(&h, e1, 1, &w) == GWLZ_ERR_PARAM);
    gwlz_section e2[1] = {{GWLZ_TAG('A', 0, 'C', 'D'), pa, 4}};
    EXPECT(gwlz_container_write(&h, e2, 1, &w) == GWLZ_ERR_PARAM);
    gwlz_header b = h;
    b.ndims = 0;
    EXPECT(gwlz_container_write(&b, NULL, 0, &w) == GWLZ_ERR_PARAM);
    b = h;
    b.dims[1] = 0;
    EXPECT(gwlz_container_write(&b, NULL, 0, &w) == GWLZ_ERR_PARAM);
    b = h;
    b.eb_mode = (gwlz_eb_mode)9;
    EXPECT(gwlz_container_write(&b, NULL, 0, &w) == GWLZ_ERR_PARAM);
    b = h;
    b.abs_bound = NAN;
    EXPECT(gwlz_container_write(&b, NULL, 0, &w) == GWLZ_ERR_PARAM);
    gwlz_wbuf_free(&w);
  }
}

static void test_header_fields(void) {
  gwlz_header h = make_header(2, 1), g;
  gwlz_section secs[1] = {{GWLZ_SEC_BASE, (const uint8_t *)"abc", 3}};
  gwlz_wbuf w;
  gwlz_wbuf_init(&w);
  EXPECT(gwlz_container_write(&h, secs, 1, &w) == GWLZ_OK);
  uint8_t *cp = (uint8_t *)malloc(w.size + 64);
  gwlz_section out[GWLZ_MAX_SECTIONS];
  int ns;
  /* magic */
  memcpy(cp, w.data, w.size);
  cp[0] = 'X';
  EXPECT(gwlz_container_read_header(cp, w.size, &g, NULL) == GWLZ_ERR_BAD_MAGIC);
  EXPECT(gwlz_container_read_header(cp, 1, &g, NULL) == GWLZ_ERR_BAD_MAGIC);
  EXPECT(gwlz_container_read_header(w.data, 2, &g, NULL) == GWLZ_ERR_TRUNCATED);
  /* future version (even with valid checksums) */
  memcpy(cp, w.data, w.size);
  cp[4] = GWLZ_FORMAT_VERSION + 1;
  fix_checksums(cp, w.size);
  EXPECT(gwlz_container_read_header(cp, w.size, &g, NULL) == GWLZ_ERR_VERSION);
  EXPECT(gwlz_container_read(cp, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns) == GWLZ_ERR_VERSION);
  EXPECT(gwlz_container_read_header(cp, 6, &g, NULL) == GWLZ_ERR_VERSION);
  cp[4] = 0;
  EXPECT(gwlz_container_read_header(cp, w.size, &g, NULL) == GWLZ_ERR_VERSION);
  /* header checksum */
  memcpy(cp, w.data, w.size);
  cp[12] ^= 1;
  EXPECT(gwlz_container_read_header(cp, w.size, &g, NULL) == GWLZ_ERR_CHECKSUM);
  /* stream checksum: a payload byte */
  memcpy(cp, w.data, w.size);
  cp[w.size - 17] ^= 0x40;
  EXPECT(gwlz_container_read(cp, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns) == GWLZ_ERR_CHECKSUM);
  /* field checks with valid checksums; layout for 2 dims + fill:
   * 8 type, 9 ndims, 10 mode, 11 flags, 12 dims[0], 20 dims[1], 28 eb_abs,
   * 36 eb_rel, 44 eb_psnr, 52 abs_bound, 60 fill, 68 CRC; hs = 72 */
  EXPECT(w.data[6] == 72 && w.data[7] == 0);
  struct {
    size_t off;
    uint64_t val;
    int width;
    gwlz_error want;
  } cases[] = {
      {8, 2, 1, GWLZ_ERR_CORRUPT},         /* type */
      {9, 0, 1, GWLZ_ERR_CORRUPT},         /* ndims 0 */
      {9, 5, 1, GWLZ_ERR_CORRUPT},         /* ndims 5 */
      {9, 3, 1, GWLZ_ERR_CORRUPT},         /* ndims larger than the header holds */
      {10, 5, 1, GWLZ_ERR_CORRUPT},        /* eb mode */
      {11, 0x81, 1, GWLZ_ERR_UNSUPPORTED}, /* unknown flag */
      {11, 0x00, 1, GWLZ_OK},              /* no fill: the fill bytes become extension */
      {12, 0, 8, GWLZ_ERR_CORRUPT},        /* dims[0] = 0 */
      {20, 0, 8, GWLZ_ERR_CORRUPT},        /* dims[1] = 0 */
      {12, (uint64_t)1 << 62, 8, GWLZ_ERR_TOO_LARGE}, /* product overflows */
      {52, 0xBFF0000000000000ull, 8, GWLZ_ERR_CORRUPT}, /* abs_bound -1 */
      {52, 0x7FF8000000000000ull, 8, GWLZ_ERR_CORRUPT}, /* abs_bound NaN */
      {52, 0x7FF0000000000000ull, 8, GWLZ_ERR_CORRUPT}, /* abs_bound Inf */
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    memcpy(cp, w.data, w.size);
    if (cases[k].width == 1) cp[cases[k].off] = (uint8_t)cases[k].val;
    else gwlz_store_u64(cp + cases[k].off, cases[k].val);
    fix_checksums(cp, w.size);
    gwlz_error e1 = gwlz_container_read_header(cp, w.size, &g, NULL);
    gwlz_error e2 = gwlz_container_read(cp, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns);
    CHECK(e1 == cases[k].want && e2 == cases[k].want, "field case %zu: got %d/%d want %d", k,
          (int)e1, (int)e2, (int)cases[k].want);
  }
  /* header size below the minimum */
  memcpy(cp, w.data, w.size);
  cp[6] = 20;
  EXPECT(gwlz_container_read_header(cp, w.size, &g, NULL) == GWLZ_ERR_CORRUPT);
  /* header size beyond the data */
  cp[6] = 200;
  EXPECT(gwlz_container_read_header(cp, w.size, &g, NULL) == GWLZ_ERR_TRUNCATED);
  /* a header extension (bytes before the header CRC) is skipped */
  {
    size_t ext = 8;
    memcpy(cp, w.data, 68);
    memset(cp + 68, 0xEE, ext);
    memcpy(cp + 68 + ext, w.data + 68, w.size - 68);
    cp[6] = (uint8_t)(72 + ext);
    fix_checksums(cp, w.size + ext);
    size_t hs = 0;
    EXPECT(gwlz_container_read_header(cp, w.size + ext, &g, &hs) == GWLZ_OK);
    EXPECT(hs == 72 + ext && same_header(&h, &g));
    EXPECT(gwlz_container_read(cp, w.size + ext, &g, out, GWLZ_MAX_SECTIONS, &ns) == GWLZ_OK);
    EXPECT(ns == 1 && out[0].size == 3 && memcmp(out[0].data, "abc", 3) == 0);
  }
  /* section length larger than the rest */
  memcpy(cp, w.data, w.size);
  gwlz_store_u64(cp + 72 + 4, 1000);
  fix_checksums(cp, w.size);
  EXPECT(gwlz_container_read(cp, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns) == GWLZ_ERR_TRUNCATED);
  gwlz_store_u64(cp + 72 + 4, UINT64_MAX);
  EXPECT(gwlz_container_read(cp, w.size, &g, out, GWLZ_MAX_SECTIONS, &ns) == GWLZ_ERR_TRUNCATED);
  /* END! with a wrong length */
  memcpy(cp, w.data, w.size);
  gwlz_store_u64(cp + w.size - 12, 3);
  EXPECT(gwlz_container_read(cp, w.size - 1, &g, out, GWLZ_MAX_SECTIONS, &ns) == GWLZ_ERR_CORRUPT);
  gwlz_wbuf_free(&w);
  free(cp);
}

/* Known-answer test: the header of docs/format.md §3.2. */
static void test_golden_header(void) {
  static const uint8_t want[72] = {
      0x47, 0x57, 0x4c, 0x5a, 0x02, 0x00, 0x48, 0x00, 0x00, 0x03, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0xfc, 0xa9, 0xf1, 0xd2, 0x4d, 0x62, 0x50, 0x3f, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfc, 0xa9, 0xf1, 0xd2,
      0x4d, 0x62, 0x50, 0x3f, 0x91, 0x52, 0xe9, 0x20};
  gwlz_header h;
  memset(&h, 0, sizeof h);
  h.type = GWLZ_TYPE_FLOAT;
  h.ndims = 3;
  h.dims[0] = 8;
  h.dims[1] = 8;
  h.dims[2] = 128;
  h.eb_mode = GWLZ_EB_ABS;
  h.eb_abs = 1e-3;
  h.abs_bound = 1e-3;
  gwlz_wbuf w;
  gwlz_wbuf_init(&w);
  EXPECT(gwlz_container_write(&h, NULL, 0, &w) == GWLZ_OK);
  EXPECT(w.size == 72 + 16);
  EXPECT(w.size >= 72 && memcmp(w.data, want, 72) == 0);
  /* END! right after the header: CRC-32C of the 72 header bytes */
  EXPECT(gwlz_load_u32(w.data + 72) == GWLZ_SEC_END && gwlz_load_u64(w.data + 76) == 4);
  EXPECT(gwlz_load_u32(w.data + 84) == gwlz_crc32c(0, want, 72));
  gwlz_header g;
  size_t hs;
  EXPECT(gwlz_container_read_header(want, sizeof want, &g, &hs) == GWLZ_OK);
  EXPECT(hs == 72 && g.n == 8192 && g.dims[2] == 128 && g.abs_bound == 1e-3);
  gwlz_wbuf_free(&w);
}

int main(void) {
  test_golden_header();
  test_crc();
  test_lossless();
  test_roundtrip();
  test_sections();
  test_header_fields();
  return tu_finish();
}
