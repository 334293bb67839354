/*
 * huffman.c - length-limited canonical Huffman coding of uint32 symbols.
 *
 * Block layout (all varints are LEB128, see docs/format.md "Huffman block"):
 *
 *   varint nused                 number of distinct symbols coded
 *   nused == 0:  nothing else (only valid for n == 0)
 *   nused == 1:  varint symbol   (every one of the n symbols is this one; 0 bits)
 *   nused >= 2:
 *     u8     maxlen              longest code length, 1..GWLZ_HUFF_MAXLEN_HARD
 *     varint nranges             symbol list as runs of consecutive values:
 *     nranges x (varint gap, varint runlen-1)
 *                                first gap = first symbol; later gaps are
 *                                start - (previous start + previous run) - 1
 *     lengths                    one per used symbol in ascending symbol order;
 *                                maxlen <= 16: 4-bit (len-1), two per byte,
 *                                low nibble first (padding nibble 0);
 *                                maxlen > 16: one byte each (len)
 *     varint nbytes              size of the bit stream
 *     nbytes bytes               bit stream, LSB first
 *
 * Codes are canonical: sorted by (length, symbol) and assigned increasing
 * values; each code is written most significant bit first into an LSB-first
 * bit stream (i.e. the bit-reversed code is OR'ed in at the current bit
 * position). The code must be complete (Kraft sum exactly 1).
 */
#include "format/huffman.h"

#include <stdlib.h>

#define HUFF_MAXLEN_SOFT 16   /* normal length limit                         */
#define HUFF_MAXLEN_HARD 24   /* used only when more than 2^16 symbols occur */
#define HUFF_TB 11            /* primary decode table index bits             */
/* Histogram: alphabets up to this size are counted in 4 interleaved tables. */
#define HUFF_HIST4_MAX (1u << 18)
/* Largest alphabet for which a dense count table is allocated. */
#define HUFF_ALPHA_MAX (1u << 28)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint64_t get64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
#else
static inline void put64(uint8_t *p, uint64_t v) { gwlz_store_u64(p, v); }
static inline uint64_t get64(const uint8_t *p) { return gwlz_load_u64(p); }
#endif

static uint32_t reverse_bits(uint32_t v, unsigned len) {
  uint32_t r = 0;
  for (unsigned i = 0; i < len; i++) {
    r = (r << 1) | (v & 1u);
    v >>= 1;
  }
  return r;
}

/* ---- code length construction ------------------------------------------ */

typedef struct {
  uint64_t freq;
  uint32_t sym;
} huff_item;

static int item_cmp(const void *a, const void *b) {
  const huff_item *x = (const huff_item *)a, *y = (const huff_item *)b;
  if (x->freq != y->freq) return x->freq < y->freq ? -1 : 1;
  return x->sym < y->sym ? -1 : (x->sym > y->sym);
}

/* In-place minimum-redundancy code lengths (Moffat & Katajainen) for weights
 * A[0..m) sorted ascending; on return A[i] is the code length of item i. */
static void min_redundancy(uint64_t *A, size_t m) {
  if (m == 0) return;
  if (m == 1) {
    A[0] = 0;
    return;
  }
  size_t root = 0, leaf = 2, next;
  A[0] += A[1];
  for (next = 1; next < m - 1; next++) {
    if (leaf >= m || A[root] < A[leaf]) {
      A[next] = A[root];
      A[root++] = next;
    } else {
      A[next] = A[leaf++];
    }
    if (leaf >= m || (root < next && A[root] < A[leaf])) {
      A[next] += A[root];
      A[root++] = next;
    } else {
      A[next] += A[leaf++];
    }
  }
  A[m - 2] = 0;
  for (size_t k = m - 2; k-- > 0;) A[k] = A[A[k]] + 1;
  size_t avbl = 1, used = 0;
  uint64_t dpth = 0;
  size_t r = m - 2 + 1; /* one past the current internal node (root index + 1) */
  size_t nx = m;        /* one past the next leaf slot                          */
  while (avbl > 0) {
    while (r > 0 && A[r - 1] == dpth) {
      used++;
      r--;
    }
    while (avbl > used) {
      A[--nx] = dpth;
      avbl--;
    }
    avbl = 2 * used;
    dpth++;
    used = 0;
  }
}

/* Lengths for items sorted by ascending frequency, limited to maxlen; writes
 * len_out[i] for item i. Returns 0 on success. */
static int limited_lengths(huff_item *items, size_t m, unsigned maxlen, uint8_t *len_out) {
  uint64_t *A = (uint64_t *)malloc(m * sizeof(uint64_t));
  if (!A) return -1;
  for (size_t i = 0; i < m; i++) A[i] = items[i].freq;
  min_redundancy(A, m);
  uint64_t bl[HUFF_MAXLEN_HARD + 1] = {0};
  for (size_t i = 0; i < m; i++) {
    uint64_t d = A[i];
    bl[d > maxlen ? maxlen : d]++;
  }
  free(A);
  /* Kraft sum in units of 2^-maxlen; shorten the tree until it is exactly 1. */
  uint64_t total = 0;
  for (unsigned l = 1; l <= maxlen; l++) total += bl[l] << (maxlen - l);
  const uint64_t one = (uint64_t)1 << maxlen;
  while (total > one) {
    bl[maxlen]--;
    for (unsigned l = maxlen - 1; l > 0; l--) {
      if (bl[l]) {
        bl[l]--;
        bl[l + 1] += 2;
        break;
      }
    }
    total--;
  }
  if (total != one) return -2; /* cannot happen for a full tree */
  /* Least frequent items get the longest codes. */
  size_t i = 0;
  for (unsigned l = maxlen; l >= 1; l--) {
    for (uint64_t c = 0; c < bl[l]; c++) len_out[i++] = (uint8_t)l;
  }
  return i == m ? 0 : -3;
}

/* Canonical codes from lengths of symbols in ascending symbol order. Returns
 * bit-reversed codes in code_out. Fails (returns nonzero) unless the Kraft sum
 * is exactly one. */
static int canonical_codes(const uint8_t *len, size_t m, unsigned maxlen, uint32_t *code_out) {
  uint64_t bl[HUFF_MAXLEN_HARD + 2] = {0};
  for (size_t i = 0; i < m; i++) {
    if (len[i] < 1 || len[i] > maxlen) return 1;
    bl[len[i]]++;
  }
  uint64_t total = 0;
  for (unsigned l = 1; l <= maxlen; l++) total += bl[l] << (maxlen - l);
  if (total != ((uint64_t)1 << maxlen)) return 1;
  uint32_t next[HUFF_MAXLEN_HARD + 2];
  uint32_t code = 0;
  for (unsigned l = 1; l <= maxlen; l++) {
    next[l] = code;
    code = (uint32_t)((code + bl[l]) << 1);
  }
  for (size_t i = 0; i < m; i++) code_out[i] = reverse_bits(next[len[i]]++, len[i]);
  return 0;
}

/* ---- encoder ------------------------------------------------------------- */

/* Smallest and largest symbol (branch-free so that it vectorises). */
static void sym_range(const uint32_t *sym, size_t n, uint32_t *lo, uint32_t *hi) {
  uint32_t a = UINT32_MAX, z = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t v = sym[i];
    a = v < a ? v : a;
    z = v > z ? v : z;
  }
  *lo = a;
  *hi = z;
}

/* Histogram of sym[i] - base over an alphabet of alpha values into cnt
 * (uint64, zeroed). Every symbol is known to lie in [base, base + alpha). */
static gwlz_error histogram(const uint32_t *sym, size_t n, uint32_t base, uint32_t alpha,
                            uint64_t *cnt) {
  if (alpha <= HUFF_HIST4_MAX && n >= 4 * (size_t)alpha) {
    /* four interleaved tables hide the store-to-load dependency of a
     * dominant symbol */
    uint32_t *h = (uint32_t *)calloc((size_t)alpha * 4, sizeof(uint32_t));
    if (!h) return GWLZ_ERR_MEMORY;
    uint32_t *h0 = h, *h1 = h + alpha, *h2 = h + 2 * (size_t)alpha, *h3 = h + 3 * (size_t)alpha;
    size_t i = 0;
    while (i < n) {
      /* chunks of 2^30 symbols: no uint32 counter can overflow */
      size_t end = n - i > ((size_t)1 << 30) ? i + ((size_t)1 << 30) : n;
      for (; i + 4 <= end; i += 4) {
        h0[sym[i] - base]++;
        h1[sym[i + 1] - base]++;
        h2[sym[i + 2] - base]++;
        h3[sym[i + 3] - base]++;
      }
      for (; i < end; i++) h0[sym[i] - base]++;
      for (uint32_t s = 0; s < alpha; s++) {
        cnt[s] += (uint64_t)h0[s] + h1[s] + h2[s] + h3[s];
        h0[s] = h1[s] = h2[s] = h3[s] = 0;
      }
    }
    free(h);
  } else {
    for (size_t i = 0; i < n; i++) cnt[sym[i] - base]++;
  }
  return GWLZ_OK;
}

static int u32_cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : (x > y);
}

/* The distinct symbols (relative to base, ascending) and their counts. A dense
 * count table when the alphabet is small next to n; otherwise a sorted copy,
 * so that the cost stays bounded by the symbol count (O(n log n) time, O(n)
 * memory) whatever the symbols' spread. *m_out receives the number used. */
static gwlz_error count_used(const uint32_t *sym, size_t n, uint32_t base, uint32_t alpha,
                             int dense, uint32_t **used_out, uint64_t **cnt_out, size_t *m_out) {
  uint32_t *used = NULL;
  uint64_t *ucnt = NULL;
  size_t m = 0;
  if (dense) {
    uint64_t *cnt = (uint64_t *)calloc(alpha, sizeof(uint64_t));
    if (!cnt) return GWLZ_ERR_MEMORY;
    gwlz_error err = histogram(sym, n, base, alpha, cnt);
    if (err != GWLZ_OK) {
      free(cnt);
      return err;
    }
    for (uint32_t s = 0; s < alpha; s++) m += cnt[s] != 0;
    used = (uint32_t *)malloc(m * sizeof(uint32_t));
    ucnt = (uint64_t *)malloc(m * sizeof(uint64_t));
    if (used && ucnt) {
      size_t k = 0;
      for (uint32_t s = 0; s < alpha; s++)
        if (cnt[s]) {
          used[k] = s;
          ucnt[k++] = cnt[s];
        }
    }
    free(cnt);
  } else {
    uint32_t *srt = (uint32_t *)malloc(n * sizeof(uint32_t));
    if (!srt) return GWLZ_ERR_MEMORY;
    for (size_t i = 0; i < n; i++) srt[i] = sym[i] - base;
    qsort(srt, n, sizeof(uint32_t), u32_cmp);
    for (size_t i = 0; i < n; i++) m += i == 0 || srt[i] != srt[i - 1];
    used = (uint32_t *)malloc(m * sizeof(uint32_t));
    ucnt = (uint64_t *)malloc(m * sizeof(uint64_t));
    if (used && ucnt) {
      size_t k = 0;
      for (size_t i = 0; i < n; i++) {
        if (i == 0 || srt[i] != srt[i - 1]) {
          used[k] = srt[i];
          ucnt[k++] = 0;
        }
        ucnt[k - 1]++;
      }
    }
    free(srt);
  }
  if (!used || !ucnt) {
    free(used);
    free(ucnt);
    return GWLZ_ERR_MEMORY;
  }
  *used_out = used;
  *cnt_out = ucnt;
  *m_out = m;
  return GWLZ_OK;
}

/* Rank of v in the ascending list used[0..m) (v is known to be there). */
static uint32_t rank_of(const uint32_t *used, size_t m, uint32_t v) {
  size_t lo = 0, hi = m;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (used[mid] <= v) lo = mid;
    else hi = mid;
  }
  return (uint32_t)lo;
}

gwlz_error gwlz_huff_encode(const uint32_t *sym, size_t n, uint32_t nsym, gwlz_wbuf *out) {
  if (!out || (n && !sym)) return GWLZ_ERR_PARAM;
  if (out->err != GWLZ_OK) return out->err;
  if (n == 0) {
    gwlz_wbuf_varint(out, 0);
    return out->err;
  }
  if (nsym == 0) return GWLZ_ERR_PARAM;
  uint32_t base, top;
  sym_range(sym, n, &base, &top);
  if (top >= nsym) return GWLZ_ERR_PARAM;
  if (base == top) {
    gwlz_wbuf_varint(out, 1);
    gwlz_wbuf_varint(out, base);
    return out->err;
  }
  if (top - base >= HUFF_ALPHA_MAX) return GWLZ_ERR_TOO_LARGE;
  const uint32_t alpha = top - base + 1;
  /* dense tables (alphabet-sized) only when the alphabet is not much larger
   * than the input: the quantization codes always are */
  const int dense = (size_t)alpha <= 2 * n + 65536;
  uint32_t *used = NULL; /* ascending symbols, relative to base */
  uint64_t *cnt = NULL;  /* their counts */
  size_t m = 0;
  gwlz_error err = count_used(sym, n, base, alpha, dense, &used, &cnt, &m);
  if (err != GWLZ_OK) return err;
  if (m > ((size_t)1 << HUFF_MAXLEN_HARD)) {
    free(used);
    free(cnt);
    return GWLZ_ERR_TOO_LARGE;
  }
  unsigned maxlen = HUFF_MAXLEN_SOFT;
  while (((size_t)1 << maxlen) < m) maxlen++;

  huff_item *items = (huff_item *)malloc(m * sizeof(huff_item));
  uint8_t *lens_f = (uint8_t *)malloc(m);                       /* by freq order     */
  uint8_t *lens = (uint8_t *)malloc(m);                         /* by symbol order   */
  uint32_t *codes = (uint32_t *)malloc(m * sizeof(uint32_t));
  /* code | length << ..., indexed by symbol - base (dense) or by rank */
  uint32_t *enc = (uint32_t *)malloc((dense ? (size_t)alpha : m) * sizeof(uint32_t));
  uint32_t *rk = dense ? NULL : (uint32_t *)malloc(n * sizeof(uint32_t));
  if (!items || !lens_f || !lens || !codes || !enc || (!dense && !rk)) {
    err = GWLZ_ERR_MEMORY;
    goto done;
  }
  /* items carry the rank, which orders like the symbol */
  for (size_t k = 0; k < m; k++) {
    items[k].freq = cnt[k];
    items[k].sym = (uint32_t)k;
  }
  qsort(items, m, sizeof(huff_item), item_cmp);
  if (limited_lengths(items, m, maxlen, lens_f) != 0) {
    err = GWLZ_ERR_INTERNAL;
    goto done;
  }
  for (size_t k = 0; k < m; k++) lens[items[k].sym] = lens_f[k];
  unsigned actual_max = 0;
  for (size_t k = 0; k < m; k++) {
    if (lens[k] > actual_max) actual_max = lens[k];
  }
  if (canonical_codes(lens, m, actual_max, codes) != 0) {
    err = GWLZ_ERR_INTERNAL;
    goto done;
  }
  maxlen = actual_max;
  /* total bits */
  uint64_t total_bits = 0;
  for (size_t k = 0; k < m; k++) total_bits += cnt[k] * lens[k];
  uint64_t nbytes = (total_bits + 7) / 8;
  if (nbytes > (uint64_t)(SIZE_MAX - 64)) {
    err = GWLZ_ERR_TOO_LARGE;
    goto done;
  }
  for (size_t k = 0; k < m; k++) enc[dense ? used[k] : k] = (codes[k] << 5) | lens[k];
  /* the symbols to emit and what to subtract before the table lookup */
  const uint32_t *src = sym;
  uint32_t sub = base;
  if (!dense) {
    for (size_t i = 0; i < n; i++) rk[i] = rank_of(used, m, sym[i] - base);
    src = rk;
    sub = 0;
  }

  /* ---- table ---- */
  gwlz_wbuf_varint(out, m);
  gwlz_wbuf_u8(out, (uint8_t)maxlen);
  {
    size_t nranges = 0;
    for (size_t k = 0; k < m; k++) {
      if (k == 0 || used[k] != used[k - 1] + 1) nranges++;
    }
    gwlz_wbuf_varint(out, nranges);
    uint64_t prev_end = 0;
    for (size_t k = 0; k < m;) {
      size_t j = k + 1;
      while (j < m && used[j] == used[j - 1] + 1) j++;
      uint64_t gap = k == 0 ? (uint64_t)used[k] + base : (uint64_t)used[k] - prev_end - 1;
      gwlz_wbuf_varint(out, gap);
      gwlz_wbuf_varint(out, (uint64_t)(j - k - 1));
      prev_end = (uint64_t)used[j - 1] + 1;
      k = j;
    }
    if (maxlen <= 16) {
      for (size_t k = 0; k < m; k += 2) {
        uint8_t b = (uint8_t)(lens[k] - 1);
        if (k + 1 < m) b |= (uint8_t)((lens[k + 1] - 1) << 4);
        gwlz_wbuf_u8(out, b);
      }
    } else {
      gwlz_wbuf_put(out, lens, m);
    }
  }
  gwlz_wbuf_varint(out, nbytes);
  {
    uint8_t *p0 = gwlz_wbuf_reserve(out, (size_t)nbytes + 16);
    if (!p0) {
      err = out->err;
      goto done;
    }
    uint8_t *p = p0;
    uint64_t buf = 0;
    unsigned c = 0;
    size_t i = 0;
#define HUFF_PUT(s)                          \
  do {                                       \
    uint32_t e_ = enc[(s) - sub];            \
    buf |= (uint64_t)(e_ >> 5) << c;         \
    c += e_ & 31u;                           \
  } while (0)
#define HUFF_FLUSH()         \
  do {                       \
    put64(p, buf);           \
    p += c >> 3;             \
    buf >>= (c & ~7u);       \
    c &= 7u;                 \
  } while (0)
    if (maxlen <= 16) {
      for (; i + 3 <= n; i += 3) {
        HUFF_PUT(src[i]);
        HUFF_PUT(src[i + 1]);
        HUFF_PUT(src[i + 2]);
        HUFF_FLUSH();
      }
    } else {
      for (; i + 2 <= n; i += 2) {
        HUFF_PUT(src[i]);
        HUFF_PUT(src[i + 1]);
        HUFF_FLUSH();
      }
    }
    for (; i < n; i++) {
      HUFF_PUT(src[i]);
      HUFF_FLUSH();
    }
    put64(p, buf);
    p += (c + 7) >> 3;
#undef HUFF_PUT
#undef HUFF_FLUSH
    if ((uint64_t)(p - p0) != nbytes) {
      err = GWLZ_ERR_INTERNAL;
      goto done;
    }
    out->size += (size_t)nbytes;
  }
  err = out->err;
done:
  free(cnt);
  free(items);
  free(used);
  free(lens_f);
  free(lens);
  free(codes);
  free(enc);
  free(rk);
  return err;
}

/* ---- decoder ------------------------------------------------------------- */

/* Table entry: sym = symbol (or sub-table offset), len = bits consumed, or
 * 0x80 | sub-table index bits for a primary entry that continues below. */
typedef struct {
  uint32_t sym;
  uint32_t len;
} huff_dent;

/* Multi-symbol entry: the up to 4 complete codes at the start of an index
 * (as indices into the ascending symbol list), their count and total length;
 * n == 0 when the first code is longer than the index. */
typedef struct {
  uint16_t idx[4];
  uint8_t n;
  uint8_t len;
} huff_mdent;

/* Up to 64 bits starting at bit position pos, zero-padded past nbytes. */
static inline uint64_t peek_safe(const uint8_t *d, size_t nbytes, uint64_t pos) {
  size_t byte = (size_t)(pos >> 3);
  uint64_t v;
  if (byte + 8 <= nbytes) {
    v = get64(d + byte);
  } else {
    uint8_t t[8] = {0};
    if (byte < nbytes) memcpy(t, d + byte, nbytes - byte);
    v = get64(t);
  }
  return v >> (pos & 7);
}

gwlz_error gwlz_huff_decode(gwlz_rbuf *in, uint32_t *sym, size_t n, uint32_t nsym_max) {
  if (!in || (n && !sym)) return GWLZ_ERR_PARAM;
  gwlz_rbuf r = *in;
  gwlz_error err;
  uint64_t m64;
  if ((err = gwlz_rbuf_varint(&r, &m64)) != GWLZ_OK) return err;
  if (m64 == 0) {
    if (n != 0) return GWLZ_ERR_CORRUPT;
    *in = r;
    return GWLZ_OK;
  }
  if (m64 == 1) {
    uint64_t s;
    if ((err = gwlz_rbuf_varint(&r, &s)) != GWLZ_OK) return err;
    if (s >= nsym_max) return GWLZ_ERR_CORRUPT;
    for (size_t i = 0; i < n; i++) sym[i] = (uint32_t)s;
    *in = r;
    return GWLZ_OK;
  }
  if (m64 > ((uint64_t)1 << HUFF_MAXLEN_HARD) || m64 > nsym_max) return GWLZ_ERR_CORRUPT;
  size_t m = (size_t)m64;
  uint8_t maxlen;
  if ((err = gwlz_rbuf_u8(&r, &maxlen)) != GWLZ_OK) return err;
  if (maxlen < 1 || maxlen > HUFF_MAXLEN_HARD) return GWLZ_ERR_CORRUPT;
  /* m symbols need at least ceil(m/2) bytes of lengths: reject early */
  if (gwlz_rbuf_left(&r) < m / 2) return GWLZ_ERR_TRUNCATED;

  uint32_t *used = (uint32_t *)malloc(m * sizeof(uint32_t));
  uint8_t *lens = (uint8_t *)malloc(m);
  uint32_t *codes = (uint32_t *)malloc(m * sizeof(uint32_t));
  huff_dent *prim = (huff_dent *)malloc(sizeof(huff_dent) << HUFF_TB);
  huff_dent *sub = NULL;
  uint8_t *subbits = NULL;
  uint16_t *pidx = NULL;
  huff_mdent *multi = NULL;
  if (!used || !lens || !codes || !prim) {
    err = GWLZ_ERR_MEMORY;
    goto done;
  }
  {
    uint64_t nranges;
    if ((err = gwlz_rbuf_varint(&r, &nranges)) != GWLZ_OK) goto done;
    if (nranges < 1 || nranges > m) {
      err = GWLZ_ERR_CORRUPT;
      goto done;
    }
    size_t k = 0;
    uint64_t next = 0;
    for (uint64_t q = 0; q < nranges; q++) {
      uint64_t gap, run;
      if ((err = gwlz_rbuf_varint(&r, &gap)) != GWLZ_OK) goto done;
      if ((err = gwlz_rbuf_varint(&r, &run)) != GWLZ_OK) goto done;
      if (gap >= nsym_max) {
        err = GWLZ_ERR_CORRUPT;
        goto done;
      }
      uint64_t start = q == 0 ? gap : next + gap + 1;
      if (start < next || run >= m - k || start >= nsym_max ||
          run >= (uint64_t)nsym_max - start) {
        err = GWLZ_ERR_CORRUPT;
        goto done;
      }
      for (uint64_t j = 0; j <= run; j++) used[k++] = (uint32_t)(start + j);
      next = start + run + 1;
    }
    if (k != m) {
      err = GWLZ_ERR_CORRUPT;
      goto done;
    }
  }
  if (maxlen <= 16) {
    const uint8_t *lb;
    if ((err = gwlz_rbuf_bytes(&r, (m + 1) / 2, &lb)) != GWLZ_OK) goto done;
    for (size_t k = 0; k < m; k++) {
      lens[k] = (uint8_t)(((lb[k >> 1] >> ((k & 1) * 4)) & 15) + 1);
    }
    if ((m & 1) && (lb[m >> 1] >> 4)) {
      err = GWLZ_ERR_CORRUPT;
      goto done;
    }
  } else {
    const uint8_t *lb;
    if ((err = gwlz_rbuf_bytes(&r, m, &lb)) != GWLZ_OK) goto done;
    memcpy(lens, lb, m);
  }
  {
    unsigned actual = 0;
    for (size_t k = 0; k < m; k++) {
      if (lens[k] > actual) actual = lens[k];
    }
    if (actual != maxlen || canonical_codes(lens, m, maxlen, codes) != 0) {
      err = GWLZ_ERR_CORRUPT;
      goto done;
    }
  }
  uint64_t nbytes64;
  const uint8_t *bits;
  if ((err = gwlz_rbuf_varint(&r, &nbytes64)) != GWLZ_OK) goto done;
  if (nbytes64 > gwlz_rbuf_left(&r)) {
    err = GWLZ_ERR_TRUNCATED;
    goto done;
  }
  size_t nbytes = (size_t)nbytes64;
  if ((err = gwlz_rbuf_bytes(&r, nbytes, &bits)) != GWLZ_OK) goto done;
  /* every symbol takes at least one bit */
  if (n > 0 && (uint64_t)n > nbytes64 * 8) {
    err = GWLZ_ERR_CORRUPT;
    goto done;
  }

  /* ---- decode tables ---- */
  {
    const unsigned TB = HUFF_TB;
    const uint32_t PM = (1u << TB) - 1;
    size_t nsub = 0;
    if (maxlen <= 16) { /* then m <= 65536: indices fit 16 bits */
      pidx = (uint16_t *)malloc(sizeof(uint16_t) << TB);
      multi = (huff_mdent *)malloc(sizeof(huff_mdent) << TB);
      if (!pidx || !multi) {
        err = GWLZ_ERR_MEMORY;
        goto done;
      }
    }
    if (maxlen > TB) {
      subbits = (uint8_t *)calloc((size_t)1 << TB, 1);
      if (!subbits) {
        err = GWLZ_ERR_MEMORY;
        goto done;
      }
      for (size_t k = 0; k < m; k++) {
        if (lens[k] > TB) {
          uint32_t p = codes[k] & PM;
          uint8_t b = (uint8_t)(lens[k] - TB);
          if (b > subbits[p]) subbits[p] = b;
        }
      }
      for (uint32_t p = 0; p <= PM; p++) {
        if (subbits[p]) nsub += (size_t)1 << subbits[p];
      }
      sub = (huff_dent *)malloc(nsub * sizeof(huff_dent));
      if (!sub) {
        err = GWLZ_ERR_MEMORY;
        goto done;
      }
      size_t off = 0;
      for (uint32_t p = 0; p <= PM; p++) {
        if (subbits[p]) {
          prim[p].sym = (uint32_t)off;
          prim[p].len = 0x80u | subbits[p];
          off += (size_t)1 << subbits[p];
        }
      }
    }
    for (size_t k = 0; k < m; k++) {
      unsigned l = lens[k];
      uint32_t c = codes[k];
      if (l <= TB) {
        for (uint32_t j = c; j <= PM; j += 1u << l) {
          prim[j].sym = used[k];
          prim[j].len = l;
          if (pidx) pidx[j] = (uint16_t)k;
        }
      } else {
        uint32_t p = c & PM;
        unsigned sb = subbits[p];
        huff_dent *st = sub + prim[p].sym;
        uint32_t hi = c >> TB;
        for (uint32_t j = hi; j < (1u << sb); j += 1u << (l - TB)) {
          st[j].sym = used[k];
          st[j].len = l;
        }
      }
    }
  }

  if (multi) {
    const uint32_t PM = (1u << HUFF_TB) - 1;
    for (uint32_t v = 0; v <= PM; v++) {
      huff_mdent me;
      memset(&me, 0, sizeof me);
      uint32_t rest = v;
      unsigned avail = HUFF_TB;
      while (me.n < 4) {
        huff_dent e = prim[rest & PM];
        if ((e.len & 0x80u) || e.len > avail) break;
        me.idx[me.n++] = pidx[rest & PM];
        me.len = (uint8_t)(me.len + e.len);
        avail -= e.len;
        rest >>= e.len;
      }
      multi[v] = me;
    }
  }

  /* ---- decode ---- */
  {
    const uint32_t PM = (1u << HUFF_TB) - 1;
    uint64_t pos = 0;
    size_t i = 0;
#define HUFF_GET(bb)                                                  \
  do {                                                                \
    huff_dent e_ = prim[(bb) & PM];                                   \
    if (GWLZ_UNLIKELY(e_.len & 0x80u))                                \
      e_ = sub[e_.sym + (((bb) >> HUFF_TB) & ((1u << (e_.len & 0x7f)) - 1))]; \
    sym[i++] = e_.sym;                                                \
    (bb) >>= e_.len;                                                  \
    pos += e_.len;                                                    \
  } while (0)
    if (multi) {
      /* Three lookups per refill (<= 3 x 16 bits of the >= 57 available), each
       * emitting up to 4 symbols; the 4 stores are unconditional, so keep 12
       * symbols of room. */
#define HUFF_MGET(bb)                                                 \
  do {                                                                \
    huff_mdent me_ = multi[(bb) & PM];                                \
    if (GWLZ_LIKELY(me_.n)) {                                         \
      uint32_t *o_ = sym + i;                                         \
      o_[0] = used[me_.idx[0]];                                       \
      o_[1] = used[me_.idx[1]];                                       \
      o_[2] = used[me_.idx[2]];                                       \
      o_[3] = used[me_.idx[3]];                                       \
      i += me_.n;                                                     \
      (bb) >>= me_.len;                                               \
      pos += me_.len;                                                 \
    } else {                                                          \
      HUFF_GET(bb);                                                   \
    }                                                                 \
  } while (0)
      while (i + 12 <= n && (size_t)(pos >> 3) + 8 <= nbytes) {
        uint64_t b = get64(bits + (pos >> 3)) >> (pos & 7);
        HUFF_MGET(b);
        HUFF_MGET(b);
        HUFF_MGET(b);
      }
#undef HUFF_MGET
      while (i + 3 <= n && (size_t)(pos >> 3) + 8 <= nbytes) {
        uint64_t b = get64(bits + (pos >> 3)) >> (pos & 7);
        HUFF_GET(b);
        HUFF_GET(b);
        HUFF_GET(b);
      }
    } else {
      while (i + 2 <= n && (size_t)(pos >> 3) + 8 <= nbytes) {
        uint64_t b = get64(bits + (pos >> 3)) >> (pos & 7);
        HUFF_GET(b);
        HUFF_GET(b);
      }
    }
    while (i < n) {
      if (pos > (uint64_t)nbytes * 8) break;
      uint64_t b = peek_safe(bits, nbytes, pos);
      HUFF_GET(b);
    }
#undef HUFF_GET
    if (pos > (uint64_t)nbytes * 8 || (pos + 7) / 8 != (uint64_t)nbytes) {
      err = GWLZ_ERR_CORRUPT;
      goto done;
    }
  }
  *in = r;
  err = GWLZ_OK;
done:
  free(used);
  free(lens);
  free(codes);
  free(prim);
  free(sub);
  free(subbits);
  free(pidx);
  free(multi);
  return err;
}

/* ---- size check ------------------------------------------------------------ */

gwlz_error gwlz_huff_check(const gwlz_rbuf *in, size_t n, uint32_t nsym_max) {
  if (!in) return GWLZ_ERR_PARAM;
  gwlz_rbuf r = *in;
  gwlz_error err;
  uint64_t m, v;
  if ((err = gwlz_rbuf_varint(&r, &m)) != GWLZ_OK) return err;
  if (m == 0) return n == 0 ? GWLZ_OK : GWLZ_ERR_CORRUPT;
  if (m == 1) {
    if ((err = gwlz_rbuf_varint(&r, &v)) != GWLZ_OK) return err;
    return v < nsym_max ? GWLZ_OK : GWLZ_ERR_CORRUPT;
  }
  if (m > ((uint64_t)1 << HUFF_MAXLEN_HARD) || m > nsym_max) return GWLZ_ERR_CORRUPT;
  uint8_t maxlen;
  if ((err = gwlz_rbuf_u8(&r, &maxlen)) != GWLZ_OK) return err;
  if (maxlen < 1 || maxlen > HUFF_MAXLEN_HARD) return GWLZ_ERR_CORRUPT;
  uint64_t nranges;
  if ((err = gwlz_rbuf_varint(&r, &nranges)) != GWLZ_OK) return err;
  if (nranges < 1 || nranges > m) return GWLZ_ERR_CORRUPT;
  for (uint64_t q = 0; q < 2 * nranges; q++)
    if ((err = gwlz_rbuf_varint(&r, &v)) != GWLZ_OK) return err;
  const uint8_t *lb;
  size_t lbytes = maxlen <= 16 ? (size_t)(m + 1) / 2 : (size_t)m;
  if ((err = gwlz_rbuf_bytes(&r, lbytes, &lb)) != GWLZ_OK) return err;
  uint64_t nbytes;
  if ((err = gwlz_rbuf_varint(&r, &nbytes)) != GWLZ_OK) return err;
  if (nbytes > gwlz_rbuf_left(&r)) return GWLZ_ERR_TRUNCATED;
  /* every symbol takes at least one bit and at most maxlen bits */
  if ((uint64_t)n > nbytes * 8) return GWLZ_ERR_CORRUPT;
  if ((uint64_t)n <= UINT64_MAX / 32 && nbytes > ((uint64_t)n * maxlen + 7) / 8)
    return GWLZ_ERR_CORRUPT;
  return GWLZ_OK;
}
