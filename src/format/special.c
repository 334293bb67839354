/*
 * special.c - NaN, +/-Inf and fill cells.
 *
 * SPEC payload (docs/format.md "SPEC payload"):
 *   varint count                 number of special cells (0 allowed)
 *   count > 0: one lossless block (lossless.h) whose content is
 *     varint nruns               runs of consecutive special positions,
 *     nruns x (varint gap, varint runlen-1)
 *                                first gap = first position; later gaps are
 *                                start - (previous start + previous run) - 1
 *     u8 value_mode              0: one bit pattern for every cell
 *                                1: palette: u8 npal-1, npal patterns, then one
 *                                   u8 palette index per cell (position order)
 *                                2: raw: one pattern per cell (position order)
 *     patterns                   little-endian u32 (float) or u64 (double)
 *   The sum of the run lengths equals count; every position is < n.
 */
#include "format/special.h"

#include <math.h>
#include <stdlib.h>

#include "format/lossless.h"

#define SPEC_BLOCK 2048
#define SPEC_PALETTE_MAX 256

/* ---- detection ----------------------------------------------------------- */

static inline uint32_t f32_bits(const void *data, size_t i) {
  uint32_t u;
  memcpy(&u, (const uint8_t *)data + 4 * i, 4);
  return u;
}
static inline uint64_t f64_bits(const void *data, size_t i) {
  uint64_t u;
  memcpy(&u, (const uint8_t *)data + 8 * i, 8);
  return u;
}

static inline void put_bits(void *data, size_t ts, size_t i, uint64_t v) {
  if (ts == 4) {
    uint32_t v32 = (uint32_t)v;
    memcpy((uint8_t *)data + 4 * i, &v32, 4);
  } else {
    memcpy((uint8_t *)data + 8 * i, &v, 8);
  }
}

/* Order-preserving maps between IEEE bits and unsigned keys. */
static inline uint32_t key32(uint32_t u) { return u ^ ((0u - (u >> 31)) | 0x80000000u); }
static inline uint32_t unkey32(uint32_t k) { return (k & 0x80000000u) ? k ^ 0x80000000u : ~k; }
static inline uint64_t key64(uint64_t u) {
  return u ^ ((0ull - (u >> 63)) | 0x8000000000000000ull);
}
static inline uint64_t unkey64(uint64_t k) {
  return (k & 0x8000000000000000ull) ? k ^ 0x8000000000000000ull : ~k;
}

/* Fill pattern after conversion to the data type; *use = 0 when the fill can
 * never match a regular cell (no fill, or a NaN fill: NaNs are special anyway). */
static void fill_bits(gwlz_type t, int has_fill, double fill, uint64_t *bits, int *use) {
  *use = 0;
  *bits = 0;
  if (!has_fill || isnan(fill)) return;
  *use = 1;
  if (t == GWLZ_TYPE_FLOAT) {
    float f = (float)fill;
    uint32_t u;
    memcpy(&u, &f, 4);
    *bits = u;
  } else {
    memcpy(bits, &fill, 8);
  }
}

static inline int special32(uint32_t u, int use, uint32_t fb) {
  return ((u & 0x7F800000u) == 0x7F800000u) | (use & (u == fb));
}
static inline int special64(uint64_t u, int use, uint64_t fb) {
  return ((u & 0x7FF0000000000000ull) == 0x7FF0000000000000ull) | (use & (u == fb));
}

void gwlz_special_scan_data(gwlz_type t, const void *data, size_t n, int has_fill,
                            double fill, gwlz_special_scan *out) {
  uint64_t fb;
  int use;
  fill_bits(t, has_fill, fill, &fb, &use);
  size_t count = 0;
  if (t == GWLZ_TYPE_FLOAT) {
    const uint32_t fb32 = (uint32_t)fb;
    const uint32_t *u = (const uint32_t *)data;
    uint32_t kmin = UINT32_MAX, kmax = 0;
    for (size_t b = 0; b < n; b += SPEC_BLOCK) {
      size_t e = n - b < SPEC_BLOCK ? n : b + SPEC_BLOCK;
      uint32_t bmin = UINT32_MAX, bmax = 0, c = 0;
      /* branch-free so that the compiler vectorises it */
      for (size_t i = b; i < e; i++) {
        uint32_t v = u[i];
        uint32_t s = (uint32_t)special32(v, use, fb32);
        uint32_t k = key32(v);
        uint32_t m = 0u - s;
        uint32_t kl = (k & ~m) | (UINT32_MAX & m);
        uint32_t kh = k & ~m;
        bmin = kl < bmin ? kl : bmin;
        bmax = kh > bmax ? kh : bmax;
        c += s;
      }
      count += c;
      kmin = bmin < kmin ? bmin : kmin;
      kmax = bmax > kmax ? bmax : kmax;
    }
    out->count = count;
    out->finite = n - count;
    if (count < n) {
      uint32_t a = unkey32(kmin), z = unkey32(kmax);
      float fa, fz;
      memcpy(&fa, &a, 4);
      memcpy(&fz, &z, 4);
      out->min = fa;
      out->max = fz;
    } else {
      out->min = out->max = 0.0;
    }
  } else {
    const uint64_t *u = (const uint64_t *)data;
    uint64_t kmin = UINT64_MAX, kmax = 0;
    for (size_t b = 0; b < n; b += SPEC_BLOCK) {
      size_t e = n - b < SPEC_BLOCK ? n : b + SPEC_BLOCK;
      uint64_t bmin = UINT64_MAX, bmax = 0;
      size_t c = 0;
      for (size_t i = b; i < e; i++) {
        uint64_t v = u[i];
        uint64_t s = (uint64_t)special64(v, use, fb);
        uint64_t k = key64(v);
        uint64_t m = 0ull - s;
        uint64_t kl = (k & ~m) | (UINT64_MAX & m);
        uint64_t kh = k & ~m;
        bmin = kl < bmin ? kl : bmin;
        bmax = kh > bmax ? kh : bmax;
        c += (size_t)s;
      }
      count += c;
      kmin = bmin < kmin ? bmin : kmin;
      kmax = bmax > kmax ? bmax : kmax;
    }
    out->count = count;
    out->finite = n - count;
    if (count < n) {
      uint64_t a = unkey64(kmin), z = unkey64(kmax);
      double da, dz;
      memcpy(&da, &a, 8);
      memcpy(&dz, &z, 8);
      out->min = da;
      out->max = dz;
    } else {
      out->min = out->max = 0.0;
    }
  }
}

/* ---- encoding ------------------------------------------------------------ */

gwlz_error gwlz_special_encode(gwlz_type t, const void *data, size_t n, int has_fill,
                               double fill, void *work, uint8_t *mask, gwlz_wbuf *out) {
  if (!out || (n && (!data || !work || !mask))) return GWLZ_ERR_PARAM;
  if (t != GWLZ_TYPE_FLOAT && t != GWLZ_TYPE_DOUBLE) return GWLZ_ERR_PARAM;
  if (out->err != GWLZ_OK) return out->err;
  uint64_t fb;
  int use;
  fill_bits(t, has_fill, fill, &fb, &use);
  const size_t ts = gwlz_type_size(t);
  gwlz_wbuf runs, pats;
  gwlz_wbuf_init(&runs);
  gwlz_wbuf_init(&pats);
  uint64_t pal[SPEC_PALETTE_MAX];
  int npal = 0, palette_ok = 1, last_hit = 0;
  size_t count = 0, nruns = 0;
  size_t run_start = 0, run_len = 0, prev_end = 0;
  int have_prev = 0;
  /* The working copy starts as a copy; the mask is computed branch-free. */
  if (n) memcpy(work, data, n * ts);
  if (ts == 4) {
    const uint32_t *u = (const uint32_t *)data;
    const uint32_t fb32 = (uint32_t)fb;
    for (size_t i = 0; i < n; i++) mask[i] = (uint8_t)special32(u[i], use, fb32);
  } else {
    const uint64_t *u = (const uint64_t *)data;
    for (size_t i = 0; i < n; i++) mask[i] = (uint8_t)special64(u[i], use, fb);
  }
  /* First regular value, for the leading specials (0 when there is none). */
  uint64_t first_regular = 0;
  for (size_t i = 0; i < n; i++) {
    if (!mask[i]) {
      first_regular = ts == 4 ? f32_bits(data, i) : f64_bits(data, i);
      break;
    }
  }
  for (size_t i = 0; i < n; i++) {
    /* skip 8 regular cells at a time */
    if (i + 8 <= n && (i & 7) == 0) {
      uint64_t m8;
      memcpy(&m8, mask + i, 8);
      if (m8 == 0) {
        i += 7;
        continue;
      }
    }
    if (!mask[i]) continue;
    uint64_t v = ts == 4 ? f32_bits(data, i) : f64_bits(data, i);
    /* work[i-1] is regular or already replaced by the last regular value */
    if (i == 0) put_bits(work, ts, 0, first_regular);
    else memcpy((uint8_t *)work + i * ts, (const uint8_t *)work + (i - 1) * ts, ts);
    count++;
    /* positions as runs */
    if (run_len && i == run_start + run_len) {
      run_len++;
    } else {
      if (run_len) {
        gwlz_wbuf_varint(&runs, have_prev ? run_start - prev_end - 1 : run_start);
        gwlz_wbuf_varint(&runs, run_len - 1);
        prev_end = run_start + run_len;
        have_prev = 1;
        nruns++;
      }
      run_start = i;
      run_len = 1;
    }
    /* values */
    if (ts == 4) gwlz_wbuf_u32(&pats, (uint32_t)v);
    else gwlz_wbuf_u64(&pats, v);
    if (palette_ok && !(npal > 0 && pal[last_hit] == v)) {
      int j = 0;
      while (j < npal && pal[j] != v) j++;
      if (j == npal) {
        if (npal == SPEC_PALETTE_MAX) palette_ok = 0;
        else pal[npal++] = v;
      }
      last_hit = j < SPEC_PALETTE_MAX ? j : 0;
    }
  }
  if (run_len) {
    gwlz_wbuf_varint(&runs, have_prev ? run_start - prev_end - 1 : run_start);
    gwlz_wbuf_varint(&runs, run_len - 1);
    nruns++;
  }
  gwlz_wbuf_varint(out, count);
  gwlz_error err = runs.err != GWLZ_OK ? runs.err : pats.err;
  if (count > 0 && err == GWLZ_OK) {
    gwlz_wbuf desc;
    gwlz_wbuf_init(&desc);
    gwlz_wbuf_varint(&desc, nruns);
    gwlz_wbuf_put(&desc, runs.data, runs.size);
    if (palette_ok && npal == 1) {
      gwlz_wbuf_u8(&desc, 0);
      gwlz_wbuf_put(&desc, pats.data, ts);
    } else if (palette_ok) {
      gwlz_wbuf_u8(&desc, 1);
      gwlz_wbuf_u8(&desc, (uint8_t)(npal - 1));
      for (int j = 0; j < npal; j++) {
        if (ts == 4) gwlz_wbuf_u32(&desc, (uint32_t)pal[j]);
        else gwlz_wbuf_u64(&desc, pal[j]);
      }
      uint8_t *idx = gwlz_wbuf_reserve(&desc, count);
      if (idx) {
        int last_j = 0;
        for (size_t k = 0; k < count; k++) {
          uint64_t v = ts == 4 ? gwlz_load_u32(pats.data + 4 * k) : gwlz_load_u64(pats.data + 8 * k);
          if (pal[last_j] != v) {
            last_j = 0;
            while (pal[last_j] != v) last_j++;
          }
          idx[k] = (uint8_t)last_j;
        }
        desc.size += count;
      }
    } else {
      gwlz_wbuf_u8(&desc, 2);
      gwlz_wbuf_put(&desc, pats.data, pats.size);
    }
    err = desc.err;
    if (err == GWLZ_OK) err = gwlz_lossless_pack(desc.data, desc.size, out, GWLZ_ZSTD_LEVEL);
    gwlz_wbuf_free(&desc);
  }
  gwlz_wbuf_free(&runs);
  gwlz_wbuf_free(&pats);
  if (err == GWLZ_OK) err = out->err;
  return err;
}

/* ---- decoding ------------------------------------------------------------ */

gwlz_error gwlz_special_decode(gwlz_type t, const uint8_t *payload, size_t size, void *data,
                               size_t n, uint8_t *mask) {
  if (size && !payload) return GWLZ_ERR_PARAM;
  if (t != GWLZ_TYPE_FLOAT && t != GWLZ_TYPE_DOUBLE) return GWLZ_ERR_PARAM;
  const size_t ts = gwlz_type_size(t);
  gwlz_rbuf r;
  gwlz_rbuf_init(&r, payload, size);
  uint64_t count;
  gwlz_error e;
  if ((e = gwlz_rbuf_varint(&r, &count)) != GWLZ_OK) return e;
  if (count > (uint64_t)n) return GWLZ_ERR_CORRUPT;
  if (count == 0) return gwlz_rbuf_left(&r) == 0 ? GWLZ_OK : GWLZ_ERR_CORRUPT;
  /* the description is at most: runs (<= 20 bytes per cell), mode, palette,
   * one pattern or index per cell */
  size_t max_raw;
  if (!gwlz_mul_size((size_t)count, 20 + ts, &max_raw) ||
      !gwlz_add_size(max_raw, 32 + SPEC_PALETTE_MAX * 8, &max_raw)) {
    max_raw = SIZE_MAX;
  }
  uint8_t *desc = NULL;
  size_t dlen = 0;
  if ((e = gwlz_lossless_unpack(&r, max_raw, &desc, &dlen)) != GWLZ_OK) return e;
  if (gwlz_rbuf_left(&r) != 0) {
    free(desc);
    return GWLZ_ERR_CORRUPT;
  }
  gwlz_rbuf d;
  gwlz_rbuf_init(&d, desc, dlen);
  uint64_t nruns;
  size_t runs_pos, runs_end;
  uint8_t mode;
  e = gwlz_rbuf_varint(&d, &nruns);
  if (e == GWLZ_OK && (nruns == 0 || nruns > count)) e = GWLZ_ERR_CORRUPT;
  if (e != GWLZ_OK) goto fail;
  /* First pass over the runs: validate them. */
  runs_pos = d.pos;
  {
    uint64_t next = 0, total = 0;
    for (uint64_t q = 0; q < nruns; q++) {
      uint64_t gap, run;
      if ((e = gwlz_rbuf_varint(&d, &gap)) != GWLZ_OK) goto fail;
      if ((e = gwlz_rbuf_varint(&d, &run)) != GWLZ_OK) goto fail;
      if (gap >= n || run >= n) {
        e = GWLZ_ERR_CORRUPT;
        goto fail;
      }
      uint64_t start = q == 0 ? gap : next + gap + 1;
      if (start >= n || run >= n - start || run >= count - total) {
        e = GWLZ_ERR_CORRUPT;
        goto fail;
      }
      total += run + 1;
      next = start + run + 1;
    }
    if (total != count) {
      e = GWLZ_ERR_CORRUPT;
      goto fail;
    }
  }
  runs_end = d.pos;
  if ((e = gwlz_rbuf_u8(&d, &mode)) != GWLZ_OK) goto fail;
  {
    uint64_t pal[SPEC_PALETTE_MAX];
    const uint8_t *idx = NULL, *raw = NULL;
    if (mode == 0) {
      const uint8_t *p;
      if ((e = gwlz_rbuf_bytes(&d, ts, &p)) != GWLZ_OK) goto fail;
      pal[0] = ts == 4 ? gwlz_load_u32(p) : gwlz_load_u64(p);
    } else if (mode == 1) {
      uint8_t np1;
      const uint8_t *p;
      if ((e = gwlz_rbuf_u8(&d, &np1)) != GWLZ_OK) goto fail;
      size_t np = (size_t)np1 + 1;
      if ((e = gwlz_rbuf_bytes(&d, np * ts, &p)) != GWLZ_OK) goto fail;
      for (size_t j = 0; j < np; j++) pal[j] = ts == 4 ? gwlz_load_u32(p + 4 * j) : gwlz_load_u64(p + 8 * j);
      if ((e = gwlz_rbuf_bytes(&d, (size_t)count, &idx)) != GWLZ_OK) goto fail;
      for (size_t k = 0; k < count; k++) {
        if (idx[k] >= np) {
          e = GWLZ_ERR_CORRUPT;
          goto fail;
        }
      }
    } else if (mode == 2) {
      if ((size_t)count > gwlz_rbuf_left(&d) / ts) {
        e = GWLZ_ERR_TRUNCATED;
        goto fail;
      }
      if ((e = gwlz_rbuf_bytes(&d, (size_t)count * ts, &raw)) != GWLZ_OK) goto fail;
    } else {
      e = GWLZ_ERR_CORRUPT;
      goto fail;
    }
    if (gwlz_rbuf_left(&d) != 0) {
      e = GWLZ_ERR_CORRUPT;
      goto fail;
    }
    /* Second pass: place the values. */
    gwlz_rbuf rr;
    gwlz_rbuf_init(&rr, desc, runs_end);
    rr.pos = runs_pos;
    uint64_t next = 0;
    size_t k = 0;
    for (uint64_t q = 0; q < nruns; q++) {
      uint64_t gap = 0, run = 0;
      (void)gwlz_rbuf_varint(&rr, &gap);
      (void)gwlz_rbuf_varint(&rr, &run);
      uint64_t start = q == 0 ? gap : next + gap + 1;
      for (uint64_t j = 0; j <= run; j++, k++) {
        size_t pos = (size_t)(start + j);
        uint64_t v = mode == 0 ? pal[0] : mode == 1 ? pal[idx[k]]
                   : (ts == 4 ? gwlz_load_u32(raw + 4 * k) : gwlz_load_u64(raw + 8 * k));
        if (data) put_bits(data, ts, pos, v);
        if (mask) mask[pos] = 1;
      }
      next = start + run + 1;
    }
  }
  free(desc);
  return GWLZ_OK;
fail:
  free(desc);
  return e;
}
