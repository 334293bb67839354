/*
 * stream.c - chunked compression and decompression (docs/format.md §9.11).
 *
 * An array with more values than the chunk size is cut into a fixed grid of
 * chunks (format/chunks.c: gwlz_grid_plan, from the dims and the chunk size
 * only). Each chunk is one task: copy its box out of the array (or out of a
 * slab read through the caller's callback), find its special cells, run the
 * base on it, and keep the record (SPEC payload + BASE payload). The records
 * are independent of which thread made them, so the stream is the same for
 * any number of threads, and for any number of processes (gwlz_part_*).
 *
 * Memory: the in-memory entry points hold the input, the output and the
 * compressed records plus one chunk of scratch per thread; the streaming
 * entry points hold two slabs (groups of chunk rows along dimension 0: one
 * being read or written while the other is worked on), the compressed
 * records, and the per-thread chunk scratch.
 *
 * Decoding reads the header, walks the section frames, reads the chunk
 * index, checks the stream CRC by combining the index's record CRCs (so that
 * a region needs only its own chunks), and decodes the chunks a box meets,
 * in parallel, each into scratch and then into place.
 */
#include "stream.h"

#include <math.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/base.h"
#include "enhance/v2.h"
#include "format/checksum.h"

/* Values per block of the parallel range scan. */
#define SCAN_BLOCK ((size_t)1 << 20)
/* A batch of chunk rows holds at least this many chunks per thread. */
#define CHUNKS_PER_THREAD 1
/* Fewer values than this are worked on by the calling thread alone: a
 * parallel region costs more than it saves (and idle OpenMP threads spin). */
#define PAR_MIN ((size_t)1 << 17)
/* Pieces in which the reader checksums stream bytes it does not decode. */
#define CRC_PIECE ((size_t)1 << 20)

/* ---- geometry ------------------------------------------------------------ */

/* Copy the box of extents be[] from position so[] of a C-order array of
 * extents se[] to position dof[] of a C-order array of extents de[];
 * ts bytes per value. */
static void copy_box(int nd, size_t ts, const uint8_t *src, const size_t *se, const size_t *so,
                     uint8_t *dst, const size_t *de, const size_t *dof, const size_t *be) {
  size_t idx[GWLZ_MAX_DIMS] = {0, 0, 0, 0};
  for (int i = 0; i < nd; i++)
    if (be[i] == 0) return;
  const size_t run = be[nd - 1] * ts;
  for (;;) {
    size_t s = 0, d = 0;
    for (int i = 0; i < nd; i++) {
      size_t o = i < nd - 1 ? idx[i] : 0;
      s = s * se[i] + so[i] + o;
      d = d * de[i] + dof[i] + o;
    }
    memcpy(dst + d * ts, src + s * ts, run);
    int i = nd - 2;
    while (i >= 0) {
      if (++idx[i] < be[i]) break;
      idx[i] = 0;
      i--;
    }
    if (i < 0) break;
  }
}

static size_t plane_values(const gwlz_grid *g) {
  size_t p = 1;
  for (int i = 1; i < g->nd; i++) p *= g->dims[i];
  return p;
}

/* Dimension-0 range of chunk rows [r0, r1). */
static void rows_range(const gwlz_grid *g, size_t r0, size_t r1, size_t *z0, size_t *z1) {
  *z0 = r0 * g->cdims[0];
  *z1 = r1 * g->cdims[0] < g->dims[0] ? r1 * g->cdims[0] : g->dims[0];
}

/* Chunk rows per batch: enough chunks to keep every thread busy. */
static size_t rows_per_batch(const gwlz_grid *g, int threads) {
  size_t per_row = g->count / g->grid[0];
  size_t want = (size_t)CHUNKS_PER_THREAD * (size_t)(threads > 0 ? threads : 1);
  size_t r = (want + per_row - 1) / per_row;
  if (r < 1) r = 1;
  if (r > g->grid[0]) r = g->grid[0];
  return r;
}

/* ---- errors shared by tasks ---------------------------------------------- */

typedef struct {
  gwlz_error err;
  size_t at; /* the lowest failing item wins, so the report is deterministic */
  int stop;  /* set on the first failure: later tasks skip their work */
} task_err;

static void task_fail(task_err *t, size_t at, gwlz_error e) {
#pragma omp critical(gwlz_stream_err)
  {
    if (t->err == GWLZ_OK || at < t->at) {
      t->err = e;
      t->at = at;
    }
  }
#pragma omp atomic write
  t->stop = 1;
}

static int task_stopped(task_err *t) {
  int v;
#pragma omp atomic read
  v = t->stop;
  return v;
}

/* ---- per-thread scratch ---------------------------------------------------
 * Chunk-sized buffers kept by each thread of a team from one chunk to the
 * next: allocating and freeing megabytes per chunk costs page faults, which
 * also serialise the threads on the kernel's memory map lock. A task uses
 * the pool entry of the thread that runs it (tied tasks without scheduling
 * points: no other task runs on that thread meanwhile). */
enum { SCR_BOX, SCR_WORK, SCR_MASK, SCR_RECON, SCR_AUX, SCR_REC, SCR_N };
_Static_assert((int)SCR_N <= (int)GWLZ_WS_SLOTS, "chunk scratch slots fit a workspace");

typedef struct {
  gwlz_ws buf;  /* the chunk pipeline's buffers, slots SCR_* */
  gwlz_ws base; /* the base decoder's own buffers           */
} scratch;

static void scratch_free(scratch *sc) {
  gwlz_ws_free(&sc->buf);
  gwlz_ws_free(&sc->base);
}

typedef struct {
  scratch *t; /* one per thread */
  int n;
} scratch_pool;

static gwlz_error pool_init(scratch_pool *sp, int threads) {
  sp->n = threads > 0 ? threads : 1;
  sp->t = (scratch *)calloc((size_t)sp->n, sizeof *sp->t);
  return sp->t ? GWLZ_OK : GWLZ_ERR_MEMORY;
}

static void pool_free(scratch_pool *sp) {
  for (int i = 0; sp->t && i < sp->n; i++) scratch_free(&sp->t[i]);
  free(sp->t);
  sp->t = NULL;
}

/* The calling thread's entry. */
static scratch *pool_mine(scratch_pool *sp) {
  int id = 0;
#ifdef _OPENMP
  id = omp_get_thread_num();
#endif
  return &sp->t[id < sp->n ? id : 0];
}

/* Buffer slot of at least bytes (contents undefined); NULL when out of memory. */
static void *scratch_get(scratch *sc, int slot, size_t bytes) {
  return gwlz_ws_take(&sc->buf, slot, bytes);
}

/* ---- settings ------------------------------------------------------------ */

int gwlz_chunked_applies(const gwlz_settings *s) {
  gwlz_grid g;
  gwlz_grid_plan(&g, s->ndims, s->dims, s->chunk);
  return g.count > 1;
}

void gwlz_part_grid(const gwlz_settings *s, gwlz_grid *g) {
  gwlz_grid_plan(g, s->ndims, s->dims, s->chunk);
}

size_t gwlz_chunked_bound_extra(const gwlz_settings *s) {
  gwlz_grid g;
  gwlz_grid_plan(&g, s->ndims, s->dims, s->chunk);
  if (g.count <= 1) return 0;
  size_t extra;
  /* per chunk: index entry, record varint, its own SPEC and BASE framing and
   * zstd's per-frame slack; generous */
  if (!gwlz_mul_size(g.count, 8192, &extra)) return SIZE_MAX;
  return extra;
}

/* ---- compressing one chunk ----------------------------------------------- */

typedef struct {
  double sse, maxerr;
  size_t cnt, specials, unpred, finite;
  double vmin, vmax;
  gwlz_base base;
  int mode;
} cstat;

/* Full-size outputs of the enhancer path (all NULL otherwise). */
typedef struct {
  void *work;
  uint8_t *mask;
  void *recon;
  uint8_t *aux;
} full_out;

void gwlz_part_scan(const gwlz_settings *s, const void *box, size_t m, gwlz_special_scan *sc) {
  gwlz_special_scan_data(s->type, box, m, s->has_fill, s->fill, sc);
}

/* Compress chunk k from box (its m values, C order) into rec; scatter the
 * chunk's X', aux, working copy and mask into fo when given. */
static gwlz_error chunk_encode(const gwlz_settings *s, const gwlz_grid *g, size_t k,
                               const void *box, double eb, gwlz_wbuf *rec, const full_out *fo,
                               cstat *st, scratch *sc) {
  const size_t ts = gwlz_type_size(s->type);
  size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS], ext[GWLZ_MAX_DIMS], zero[GWLZ_MAX_DIMS] = {0};
  size_t m = gwlz_grid_box(g, k, lo, hi);
  for (int i = 0; i < g->nd; i++) ext[i] = hi[i] - lo[i];
  gwlz_special_scan scan;
  gwlz_special_scan_data(s->type, box, m, s->has_fill, s->fill, &scan);
  memset(st, 0, sizeof *st);
  st->specials = scan.count;
  st->finite = scan.finite;
  st->vmin = scan.min;
  st->vmax = scan.max;

  gwlz_error e = GWLZ_OK;
  gwlz_wbuf spec;
  gwlz_wbuf_init(&spec);
  void *work = NULL, *recon = NULL;
  uint8_t *mask = NULL, *aux = NULL;
  const void *x = box;
  if (scan.count > 0) {
    work = scratch_get(sc, SCR_WORK, m * ts);
    mask = (uint8_t *)scratch_get(sc, SCR_MASK, m);
    if (!work || !mask) {
      e = GWLZ_ERR_MEMORY;
      goto out;
    }
    e = gwlz_special_encode(s->type, box, m, s->has_fill, s->fill, work, mask, &spec);
    if (e == GWLZ_OK) e = spec.err;
    if (e != GWLZ_OK) goto out;
    x = work;
  }
  recon = scratch_get(sc, SCR_RECON, m * ts);
  /* zero where a base gives no side information (as api.c's calloc) */
  if (fo && fo->aux && (aux = (uint8_t *)scratch_get(sc, SCR_AUX, m)) != NULL) memset(aux, 0, m);
  if (!recon || (fo && fo->aux && !aux)) {
    e = GWLZ_ERR_MEMORY;
    goto out;
  }
  gwlz_wbuf_varint(rec, (uint64_t)spec.size);
  gwlz_wbuf_put(rec, spec.data, spec.size);
  gwlz_base_params bp;
  memset(&bp, 0, sizeof bp);
  bp.type = s->type;
  bp.ndims = g->nd;
  memcpy(bp.dims, ext, sizeof bp.dims);
  bp.n = m;
  bp.abs_eb = eb;
  bp.threads = 1;
  bp.fast = s->fast;
  gwlz_base_info bi;
  memset(&bi, 0, sizeof bi);
  e = gwlz_base_compress(&bp, s->base, x, recon, aux, rec, &bi);
  if (e == GWLZ_OK) e = rec->err;
  if (e != GWLZ_OK) goto out;
  st->unpred = bi.unpredictable;
  st->base = bi.base;
  st->mode = bi.mode;
  gwlz_err_add(s->type, x, recon, mask, m, 1.0, &st->sse, &st->maxerr, &st->cnt);
  if (fo) {
    copy_box(g->nd, ts, (const uint8_t *)recon, ext, zero, (uint8_t *)fo->recon, g->dims, lo, ext);
    if (aux) copy_box(g->nd, 1, aux, ext, zero, fo->aux, g->dims, lo, ext);
    if (work && fo->work)
      copy_box(g->nd, ts, (const uint8_t *)work, ext, zero, (uint8_t *)fo->work, g->dims, lo, ext);
    else if (fo->work)
      copy_box(g->nd, ts, (const uint8_t *)box, ext, zero, (uint8_t *)fo->work, g->dims, lo, ext);
    if (mask && fo->mask) copy_box(g->nd, 1, mask, ext, zero, fo->mask, g->dims, lo, ext);
  }
out:
  gwlz_wbuf_free(&spec);
  return e;
}

/* The box of chunk k out of a slab holding dimension-0 range [z0, z1) of the
 * array (all of the other dimensions), in the scratch buffer SCR_BOX. */
static void *box_from_slab(const gwlz_grid *g, size_t ts, size_t k, const uint8_t *slab, size_t z0,
                           size_t z1, scratch *sc) {
  size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS], ext[GWLZ_MAX_DIMS], se[GWLZ_MAX_DIMS],
      so[GWLZ_MAX_DIMS], zero[GWLZ_MAX_DIMS] = {0};
  size_t m = gwlz_grid_box(g, k, lo, hi);
  uint8_t *box = (uint8_t *)scratch_get(sc, SCR_BOX, m * ts);
  if (!box) return NULL;
  for (int i = 0; i < g->nd; i++) {
    ext[i] = hi[i] - lo[i];
    se[i] = i == 0 ? z1 - z0 : g->dims[i];
    so[i] = i == 0 ? lo[0] - z0 : lo[i];
  }
  copy_box(g->nd, ts, slab, se, so, box, ext, zero, ext);
  return box;
}

gwlz_error gwlz_part_record(const gwlz_settings *s, const gwlz_grid *g, size_t k,
                            const void *box, double eb, gwlz_wbuf *rec, gwlz_chunk_entry *entry) {
  cstat st;
  scratch sc;
  memset(&sc, 0, sizeof sc);
  size_t start = rec->size;
  gwlz_error e = chunk_encode(s, g, k, box, eb, rec, NULL, &st, &sc);
  scratch_free(&sc);
  if (e != GWLZ_OK) return e;
  entry->size = rec->size - start;
  entry->crc = gwlz_crc32c(0, rec->data + start, rec->size - start);
  return GWLZ_OK;
}

/* ---- the compression job ------------------------------------------------- */

typedef struct {
  const gwlz_settings *s;
  gwlz_grid g;
  double eb;
  gwlz_wbuf *rec;          /* K records                                  */
  gwlz_chunk_entry *ent;   /* K entries                                  */
  cstat *st;               /* K statistics                               */
  const full_out *fo;      /* enhancer path outputs, or NULL             */
  task_err te;
  scratch_pool pool;
} cjob;

static gwlz_error cjob_init(cjob *j, const gwlz_settings *s) {
  memset(j, 0, sizeof *j);
  j->s = s;
  gwlz_grid_plan(&j->g, s->ndims, s->dims, s->chunk);
  size_t K = j->g.count;
  j->rec = (gwlz_wbuf *)calloc(K, sizeof *j->rec); /* zeroed: empty buffers */
  j->ent = (gwlz_chunk_entry *)calloc(K, sizeof *j->ent);
  j->st = (cstat *)calloc(K, sizeof *j->st);
  if (!j->rec || !j->ent || !j->st) return GWLZ_ERR_MEMORY;
  for (size_t k = 0; k < K; k++) gwlz_wbuf_init(&j->rec[k]);
  return pool_init(&j->pool, s->threads);
}

static void cjob_free(cjob *j) {
  if (j->rec)
    for (size_t k = 0; k < j->g.count; k++) gwlz_wbuf_free(&j->rec[k]);
  free(j->rec);
  free(j->ent);
  free(j->st);
  pool_free(&j->pool);
  j->rec = NULL;
  j->ent = NULL;
  j->st = NULL;
}

/* One chunk of a slab (dimension-0 range [z0, z1)). */
static void cjob_chunk(cjob *j, size_t k, const uint8_t *slab, size_t z0, size_t z1) {
  const size_t ts = gwlz_type_size(j->s->type);
  scratch *sc = pool_mine(&j->pool);
  void *box = box_from_slab(&j->g, ts, k, slab, z0, z1, sc);
  if (!box) {
    task_fail(&j->te, k, GWLZ_ERR_MEMORY);
    return;
  }
  gwlz_wbuf *r = &j->rec[k];
  gwlz_error e = chunk_encode(j->s, &j->g, k, box, j->eb, r, j->fo, &j->st[k], sc);
  if (e == GWLZ_OK) e = r->err;
  if (e != GWLZ_OK) {
    task_fail(&j->te, k, e);
    return;
  }
  j->ent[k].size = r->size;
  j->ent[k].crc = gwlz_crc32c(0, r->data, r->size);
}

/* Every chunk of chunk rows [r0, r1), whose slab starts at dimension-0 index
 * z0; called inside a parallel region by one thread (tasks). */
static void cjob_rows(cjob *j, size_t r0, size_t r1, const uint8_t *slab) {
  size_t per_row = j->g.count / j->g.grid[0], z0, z1;
  rows_range(&j->g, r0, r1, &z0, &z1);
  for (size_t k = r0 * per_row; k < r1 * per_row; k++) {
#pragma omp task firstprivate(k)
    cjob_chunk(j, k, slab, z0, z1);
  }
#pragma omp taskwait
}

/* ---- range scan ---------------------------------------------------------- */

typedef struct {
  size_t count, finite;
  double min, max;
} range_acc;

static void range_add(range_acc *a, const gwlz_special_scan *sc) {
  a->count += sc->count;
  if (sc->finite) {
    if (a->finite == 0 || sc->min < a->min) a->min = sc->min;
    if (a->finite == 0 || sc->max > a->max) a->max = sc->max;
  }
  a->finite += sc->finite;
}

/* Scan n values at data in blocks, as tasks, adding into acc (exact: min,
 * max and counts do not depend on the order). */
static void scan_tasks(const gwlz_settings *s, const uint8_t *data, size_t n, range_acc *acc) {
  const size_t ts = gwlz_type_size(s->type);
  for (size_t b = 0; b < n; b += SCAN_BLOCK) {
#pragma omp task firstprivate(b)
    {
      gwlz_special_scan sc;
      size_t len = n - b < SCAN_BLOCK ? n - b : SCAN_BLOCK;
      gwlz_special_scan_data(s->type, data + b * ts, len, s->has_fill, s->fill, &sc);
#pragma omp critical(gwlz_stream_scan)
      range_add(acc, &sc);
    }
  }
#pragma omp taskwait
}

/* ---- input: memory or callback ------------------------------------------- */

typedef struct {
  gwlz_read_fn fn;
  void *user;
  const uint8_t *mem;
  uint64_t size;
} source;

static gwlz_error src_read(const source *src, uint64_t off, void *buf, size_t len) {
  if (off > src->size || (uint64_t)len > src->size - off) return GWLZ_ERR_TRUNCATED;
  if (len == 0) return GWLZ_OK;
  if (src->mem) {
    memcpy(buf, src->mem + off, len);
    return GWLZ_OK;
  }
  return src->fn(src->user, off, buf, len) == 0 ? GWLZ_OK : GWLZ_ERR_IO;
}

/* ---- statistics ---------------------------------------------------------- */

static double psnr_from(double sse, size_t cnt, double range) {
  if (cnt == 0 || sse == 0) return INFINITY;
  double mse = sse / (double)cnt;
  if (range <= 0) return -10.0 * log10(mse);
  return 20.0 * log10(range) - 10.0 * log10(mse);
}

/* Sums the chunk statistics in chunk order. */
static void cjob_stats(const cjob *j, const gwlz_settings *s, double t0, size_t base_bytes,
                       size_t total, gwlz_stats *st) {
  memset(st, 0, sizeof *st);
  range_acc r = {0, 0, 0, 0};
  double sse = 0, mx = 0;
  size_t cnt = 0;
  int same_base = 1;
  for (size_t k = 0; k < j->g.count; k++) {
    const cstat *c = &j->st[k];
    gwlz_special_scan sc = {c->specials, c->vmin, c->vmax, c->finite};
    range_add(&r, &sc);
    sse += c->sse;
    if (c->maxerr > mx) mx = c->maxerr;
    cnt += c->cnt;
    st->num_unpredictable += c->unpred;
    gwlz_base b = c->mode == GWLZ_BASE_MODE_RAW ? GWLZ_BASE_AUTO : c->base;
    gwlz_base b0 = j->st[0].mode == GWLZ_BASE_MODE_RAW ? GWLZ_BASE_AUTO : j->st[0].base;
    if (b != b0) same_base = 0;
  }
  st->abs_bound = j->eb;
  st->value_min = r.finite ? r.min : 0;
  st->value_max = r.finite ? r.max : 0;
  st->num_values = s->n;
  st->num_special = r.count;
  st->base_bytes = base_bytes;
  st->total_bytes = total;
  st->groups_requested = s->groups;
  st->enhancer = GWLZ_ENH_NONE;
  st->base_psnr = psnr_from(sse, cnt, r.finite ? r.max - r.min : 0);
  st->enhanced_psnr = st->base_psnr;
  st->base_max_err = mx;
  st->enhanced_max_err = mx;
  st->base_seconds = gwlz_now() - t0;
  st->base = same_base ? (j->st[0].mode == GWLZ_BASE_MODE_RAW ? GWLZ_BASE_AUTO : j->st[0].base)
                       : GWLZ_BASE_INTERP;
  if (!same_base) {
    /* mixed: report the base of the most chunks that are not raw */
    size_t votes[GWLZ_BASE_COUNT] = {0};
    for (size_t k = 0; k < j->g.count; k++)
      if (j->st[k].mode != GWLZ_BASE_MODE_RAW && (int)j->st[k].base < GWLZ_BASE_COUNT)
        votes[j->st[k].base]++;
    int best = GWLZ_BASE_AUTO;
    for (int b = 1; b < GWLZ_BASE_COUNT; b++)
      if (votes[b] > votes[best]) best = b;
    st->base = (gwlz_base)best;
  }
}

/* ---- assembling the stream ----------------------------------------------- */

static size_t records_bytes(const gwlz_grid *g, const gwlz_chunk_entry *e, int *overflow) {
  size_t sum = 0;
  *overflow = 0;
  for (size_t k = 0; k < g->count; k++)
    if (!gwlz_add_size(sum, (size_t)e[k].size, &sum)) *overflow = 1;
  return sum;
}

gwlz_error gwlz_part_head(const gwlz_ctx *ctx, const gwlz_grid *g, double eb,
                          const gwlz_chunk_entry *entries, gwlz_wbuf *head) {
  gwlz_header h;
  gwlz_ctx_header(ctx, eb, &h);
  /* The header is what the container writes before its first section: a
   * container without sections minus its 16-byte END section. */
  gwlz_wbuf hb;
  gwlz_wbuf_init(&hb);
  gwlz_error e = gwlz_container_write(&h, NULL, 0, &hb);
  if (e == GWLZ_OK) e = hb.err;
  if (e != GWLZ_OK) {
    gwlz_wbuf_free(&hb);
    return e;
  }
  gwlz_wbuf_put(head, hb.data, hb.size - 16);
  gwlz_wbuf_free(&hb);
  int ovf;
  size_t recs = records_bytes(g, entries, &ovf);
  size_t hs = gwlz_chunked_head_size(g->nd, g->count), payload;
  if (ovf || hs == 0 || !gwlz_add_size(recs, hs, &payload)) return GWLZ_ERR_TOO_LARGE;
  gwlz_wbuf_u32(head, GWLZ_SEC_BASE);
  gwlz_wbuf_u64(head, (uint64_t)payload);
  gwlz_chunked_write_head(g, entries, head);
  return head->err;
}

void gwlz_part_tail(uint32_t crc_head, const gwlz_grid *g, const gwlz_chunk_entry *entries,
                    gwlz_wbuf *tail) {
  uint32_t crc = crc_head;
  for (size_t k = 0; k < g->count; k++)
    crc = gwlz_crc32c_combine(crc, entries[k].crc, entries[k].size);
  gwlz_wbuf_u32(tail, GWLZ_SEC_END);
  gwlz_wbuf_u64(tail, 4);
  gwlz_wbuf_u32(tail, crc);
}

/* ---- in memory, base only ------------------------------------------------ */

gwlz_error gwlz_chunked_compress(gwlz_ctx *ctx, const void *src, void *dst, size_t dst_capacity,
                                 size_t *dst_size) {
  double t0 = gwlz_now();
  gwlz_settings s;
  gwlz_ctx_settings(ctx, &s);
  gwlz_ctx_put_stats(ctx, NULL);
  cjob j;
  gwlz_error e = cjob_init(&j, &s);
  gwlz_wbuf head, tail;
  gwlz_wbuf_init(&head);
  gwlz_wbuf_init(&tail);
  if (e != GWLZ_OK) goto out;
  {
    range_acc acc = {0, 0, 0, 0};
    if (s.range_needed) {
#pragma omp parallel num_threads(s.threads) if (s.n >= PAR_MIN)
#pragma omp single
      scan_tasks(&s, (const uint8_t *)src, s.n, &acc);
    }
    e = gwlz_ctx_bound(ctx, acc.finite, acc.min, acc.max, &j.eb);
    if (e != GWLZ_OK) goto out;
  }
#pragma omp parallel num_threads(s.threads) if (s.n >= PAR_MIN)
#pragma omp single
  cjob_rows(&j, 0, j.g.grid[0], (const uint8_t *)src);
  if ((e = j.te.err) != GWLZ_OK) goto out;
  if ((e = gwlz_part_head(ctx, &j.g, j.eb, j.ent, &head)) != GWLZ_OK) goto out;
  gwlz_part_tail(gwlz_crc32c(0, head.data, head.size), &j.g, j.ent, &tail);
  if ((e = tail.err) != GWLZ_OK) goto out;
  {
    int ovf;
    size_t recs = records_bytes(&j.g, j.ent, &ovf), total;
    if (ovf || !gwlz_add_size(recs, head.size + tail.size, &total)) {
      e = GWLZ_ERR_TOO_LARGE;
      goto out;
    }
    if (total > dst_capacity) {
      e = GWLZ_ERR_DST_TOO_SMALL;
      goto out;
    }
    uint8_t *p = (uint8_t *)dst;
    memcpy(p, head.data, head.size);
    p += head.size;
    for (size_t k = 0; k < j.g.count; k++) {
      memcpy(p, j.rec[k].data, j.rec[k].size);
      p += j.rec[k].size;
    }
    memcpy(p, tail.data, tail.size);
    *dst_size = total;
    gwlz_stats st;
    size_t hdr = head.size - gwlz_chunked_head_size(j.g.nd, j.g.count) - 12;
    cjob_stats(&j, &s, t0, total - hdr - 12 - tail.size, total, &st);
    gwlz_ctx_put_stats(ctx, &st);
  }
out:
  gwlz_wbuf_free(&head);
  gwlz_wbuf_free(&tail);
  cjob_free(&j);
  return e;
}

/* ---- in memory, for the enhancer path ------------------------------------ */

gwlz_error gwlz_chunked_base(const gwlz_settings *s, double eb, const void *src, size_t nspecial,
                             void *work, uint8_t *mask, void *recon, uint8_t *aux,
                             gwlz_wbuf *base, gwlz_base_info *info) {
  cjob j;
  full_out fo = {nspecial ? work : NULL, nspecial ? mask : NULL, recon, aux};
  gwlz_error e = cjob_init(&j, s);
  if (e != GWLZ_OK) {
    cjob_free(&j);
    return e;
  }
  j.eb = eb;
  j.fo = &fo;
#pragma omp parallel num_threads(s->threads) if (s->n >= PAR_MIN)
#pragma omp single
  cjob_rows(&j, 0, j.g.grid[0], (const uint8_t *)src);
  if ((e = j.te.err) == GWLZ_OK) {
    gwlz_chunked_write_head(&j.g, j.ent, base);
    for (size_t k = 0; k < j.g.count; k++) gwlz_wbuf_put(base, j.rec[k].data, j.rec[k].size);
    e = base->err;
  }
  if (e == GWLZ_OK && info) {
    memset(info, 0, sizeof *info);
    for (size_t k = 0; k < j.g.count; k++) info->unpredictable += j.st[k].unpred;
    info->base = j.st[0].mode == GWLZ_BASE_MODE_RAW ? GWLZ_BASE_AUTO : j.st[0].base;
    info->mode = GWLZ_BASE_MODE_CHUNKED;
  }
  cjob_free(&j);
  return e;
}

/* The working copies and masks of every chunk, for the pipeline of api.c
 * (the enhancer and the PSNR search see the values the chunks' bases see). */
gwlz_error gwlz_chunked_specials(const gwlz_settings *s, const void *src, void *work,
                                 uint8_t *mask) {
  gwlz_grid g;
  gwlz_grid_plan(&g, s->ndims, s->dims, s->chunk);
  const size_t ts = gwlz_type_size(s->type);
  task_err te;
  memset(&te, 0, sizeof te);
#pragma omp parallel for schedule(dynamic, 1) num_threads(s->threads) if (s->n >= PAR_MIN)
  for (size_t k = 0; k < g.count; k++) {
    size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS], ext[GWLZ_MAX_DIMS], zero[GWLZ_MAX_DIMS] = {0};
    size_t m = gwlz_grid_box(&g, k, lo, hi);
    for (int i = 0; i < g.nd; i++) ext[i] = hi[i] - lo[i];
    uint8_t *box = (uint8_t *)malloc(m * ts), *wk = (uint8_t *)malloc(m * ts);
    uint8_t *mk = (uint8_t *)malloc(m);
    gwlz_error e = box && wk && mk ? GWLZ_OK : GWLZ_ERR_MEMORY;
    if (e == GWLZ_OK) {
      copy_box(g.nd, ts, (const uint8_t *)src, g.dims, lo, box, ext, zero, ext);
      gwlz_special_scan sc;
      gwlz_special_scan_data(s->type, box, m, s->has_fill, s->fill, &sc);
      if (sc.count > 0) {
        gwlz_wbuf spec;
        gwlz_wbuf_init(&spec);
        e = gwlz_special_encode(s->type, box, m, s->has_fill, s->fill, wk, mk, &spec);
        if (e == GWLZ_OK) e = spec.err;
        gwlz_wbuf_free(&spec);
      } else {
        memcpy(wk, box, m * ts);
        memset(mk, 0, m);
      }
    }
    if (e == GWLZ_OK) {
      copy_box(g.nd, ts, wk, ext, zero, (uint8_t *)work, g.dims, lo, ext);
      copy_box(g.nd, 1, mk, ext, zero, mask, g.dims, lo, ext);
    } else {
      task_fail(&te, k, e);
    }
    free(box);
    free(wk);
    free(mk);
  }
  return te.err;
}

/* ---- streaming compression ----------------------------------------------- */

typedef struct {
  const source *src;
  const gwlz_grid *g;
  size_t ts, rows;       /* chunk rows per batch */
  uint8_t *buf[2];
  task_err te;
  int kept;              /* every batch is still in its slab: no reads  */
} slabs;

/* Read batch b (chunk rows [b*rows, ...)) into buf[b % 2]. */
static void slab_read(slabs *sl, size_t b) {
  if (sl->kept) return;
  size_t r0 = b * sl->rows, r1 = r0 + sl->rows, z0, z1;
  if (r1 > sl->g->grid[0]) r1 = sl->g->grid[0];
  rows_range(sl->g, r0, r1, &z0, &z1);
  size_t plane = plane_values(sl->g) * sl->ts;
  gwlz_error e = src_read(sl->src, (uint64_t)z0 * plane, sl->buf[b % 2], (z1 - z0) * plane);
  if (e != GWLZ_OK) task_fail(&sl->te, b, e);
}

static gwlz_error slabs_init(slabs *sl, const source *src, const gwlz_grid *g, size_t ts,
                             int threads) {
  memset(sl, 0, sizeof *sl);
  sl->src = src;
  sl->g = g;
  sl->ts = ts;
  sl->rows = rows_per_batch(g, threads);
  size_t z0, z1;
  rows_range(g, 0, sl->rows, &z0, &z1);
  size_t bytes = (z1 - z0) * plane_values(g) * ts;
  int two = sl->rows < g->grid[0];
  sl->buf[0] = (uint8_t *)gwlz_big_alloc(bytes);
  sl->buf[1] = two ? (uint8_t *)gwlz_big_alloc(bytes) : NULL;
  if (!sl->buf[0] || (two && !sl->buf[1])) return GWLZ_ERR_MEMORY;
  return GWLZ_OK;
}

static void slabs_free(slabs *sl) {
  free(sl->buf[0]);
  free(sl->buf[1]);
  sl->buf[0] = sl->buf[1] = NULL;
}

static size_t batches(const slabs *sl) { return (sl->g->grid[0] + sl->rows - 1) / sl->rows; }

/* The streaming pipelines. Batch b (a group of chunk rows) lives in slab
 * b % 2. Task dependences order the work without barriers: the task that
 * fills or drains a slab as a whole (a read, a write) is "out" on dep[b % 2],
 * the tasks that work on its parts (scan blocks, chunks) are "in" on it, so a
 * slab is refilled only once every task on its previous batch is done while
 * the other slab's batch goes on; "io" keeps the callback calls in order and
 * one at a time. */

/* The value range of the whole input. */
static gwlz_error stream_range(const gwlz_settings *s, slabs *sl, range_acc *acc) {
  const size_t nb = batches(sl), plane = plane_values(sl->g), ts = sl->ts;
  char dep[2], io = 0;
  (void)dep;
  (void)io;
#pragma omp parallel num_threads(s->threads) if (s->n >= PAR_MIN)
#pragma omp single
  /* an explicit parent task: libgomp frees the dependence table of an
   * explicit task when it ends (not always that of an implicit one) */
#pragma omp task
  {
    for (size_t b = 0; b < nb; b++) {
#pragma omp task depend(out : dep[b % 2]) depend(inout : io) firstprivate(b)
      if (!task_stopped(&sl->te)) slab_read(sl, b);
      size_t r0 = b * sl->rows, r1 = r0 + sl->rows, z0, z1;
      if (r1 > sl->g->grid[0]) r1 = sl->g->grid[0];
      rows_range(sl->g, r0, r1, &z0, &z1);
      const size_t n = (z1 - z0) * plane;
      for (size_t o = 0; o < n; o += SCAN_BLOCK) {
#pragma omp task depend(in : dep[b % 2]) firstprivate(b, o)
        if (!task_stopped(&sl->te)) {
          gwlz_special_scan sc;
          size_t len = n - o < SCAN_BLOCK ? n - o : SCAN_BLOCK;
          gwlz_special_scan_data(s->type, sl->buf[b % 2] + o * ts, len, s->has_fill, s->fill, &sc);
#pragma omp critical(gwlz_stream_scan)
          range_add(acc, &sc);
        }
      }
    }
#pragma omp taskwait
  }
  return sl->te.err;
}

/* Every chunk of the input. */
static gwlz_error stream_chunks(cjob *j, slabs *sl) {
  const size_t nb = batches(sl), per_row = j->g.count / j->g.grid[0];
  char dep[2], io = 0;
  (void)dep;
  (void)io;
#pragma omp parallel num_threads(j->s->threads) if (j->s->n >= PAR_MIN)
#pragma omp single
  /* an explicit parent task: libgomp frees the dependence table of an
   * explicit task when it ends (not always that of an implicit one) */
#pragma omp task
  {
    for (size_t b = 0; b < nb; b++) {
#pragma omp task depend(out : dep[b % 2]) depend(inout : io) firstprivate(b)
      if (!task_stopped(&sl->te) && !task_stopped(&j->te)) slab_read(sl, b);
      size_t r0 = b * sl->rows, r1 = r0 + sl->rows, z0, z1;
      if (r1 > j->g.grid[0]) r1 = j->g.grid[0];
      rows_range(&j->g, r0, r1, &z0, &z1);
      for (size_t k = r0 * per_row; k < r1 * per_row; k++) {
#pragma omp task depend(in : dep[b % 2]) firstprivate(b, k, z0, z1)
        if (!task_stopped(&sl->te) && !task_stopped(&j->te))
          cjob_chunk(j, k, sl->buf[b % 2], z0, z1);
      }
    }
#pragma omp taskwait
  }
  return sl->te.err != GWLZ_OK ? sl->te.err : j->te.err;
}

typedef struct {
  gwlz_write_fn fn;
  void *user;
  uint64_t written;
} sink;

static gwlz_error sink_put(sink *o, const void *p, size_t n) {
  if (n == 0) return GWLZ_OK;
  if (o->fn(o->user, p, n) != 0) return GWLZ_ERR_IO;
  o->written += n;
  return GWLZ_OK;
}

/* Read the whole source into memory (the fallbacks). */
static gwlz_error slurp(const source *src, uint8_t **out) {
  if (src->size > (uint64_t)SIZE_MAX - 1) return GWLZ_ERR_TOO_LARGE;
  uint8_t *p = (uint8_t *)malloc(src->size ? (size_t)src->size : 1);
  if (!p) return GWLZ_ERR_MEMORY;
  gwlz_error e = src_read(src, 0, p, (size_t)src->size);
  if (e != GWLZ_OK) {
    free(p);
    return e;
  }
  *out = p;
  return GWLZ_OK;
}

/* The windowed enhancer (below, with the enhanced decoders). */
static int enh_windows_apply(const gwlz_settings *s);
static gwlz_error enh_windows_run(gwlz_ctx *ctx, const gwlz_settings *s, const source *src,
                                  gwlz_reader *rd, uint64_t base_size, double eb, double vmin,
                                  double vmax, const gwlz_part_comm *comm, gwlz_enh_run *run);

/* The base-only streaming pipeline: range scan, chunks by batches of slabs,
 * head, records and tail written to out, or appended to bs when bs is not
 * NULL; st the statistics, *eb_out (may be NULL) the absolute bound. */
static gwlz_error stream_base(gwlz_ctx *ctx, const gwlz_settings *s, const source *src, sink *out,
                              gwlz_wbuf *bs, double *eb_out, gwlz_stats *st) {
  double t0 = gwlz_now();
  const size_t ts = gwlz_type_size(s->type);
  cjob j;
  slabs sl;
  gwlz_wbuf head, tail;
  gwlz_error e;
  uint64_t written = 0;
  gwlz_wbuf_init(&head);
  gwlz_wbuf_init(&tail);
  memset(&sl, 0, sizeof sl);
  if ((e = cjob_init(&j, s)) != GWLZ_OK) goto done;
  if ((e = slabs_init(&sl, src, &j.g, ts, s->threads)) != GWLZ_OK) goto done;
  {
    range_acc acc = {0, 0, 0, 0};
    if (s->range_needed && (e = stream_range(s, &sl, &acc)) != GWLZ_OK) goto done;
    if ((e = gwlz_ctx_bound(ctx, acc.finite, acc.min, acc.max, &j.eb)) != GWLZ_OK) goto done;
  }
  memset(&sl.te, 0, sizeof sl.te);
  /* an input of at most two batches is still in the slabs after the scan */
  sl.kept = s->range_needed && batches(&sl) <= 2;
  if ((e = stream_chunks(&j, &sl)) != GWLZ_OK) goto done;
  slabs_free(&sl);
  if ((e = gwlz_part_head(ctx, &j.g, j.eb, j.ent, &head)) != GWLZ_OK) goto done;
  gwlz_part_tail(gwlz_crc32c(0, head.data, head.size), &j.g, j.ent, &tail);
  if ((e = tail.err) != GWLZ_OK) goto done;
  for (size_t k = 0; k <= j.g.count + 1 && e == GWLZ_OK; k++) {
    const gwlz_wbuf *w = k == 0 ? &head : (k <= j.g.count ? &j.rec[k - 1] : &tail);
    if (bs) {
      gwlz_wbuf_put(bs, w->data, w->size);
      e = bs->err;
    } else {
      e = sink_put(out, w->data, w->size);
    }
    written += w->size;
    if (k >= 1 && k <= j.g.count) gwlz_wbuf_free(&j.rec[k - 1]);
  }
  if (e != GWLZ_OK) goto done;
  {
    size_t hdr = head.size - gwlz_chunked_head_size(j.g.nd, j.g.count) - 12;
    cjob_stats(&j, s, t0, (size_t)written - hdr - 12 - tail.size, (size_t)written, st);
  }
  if (eb_out) *eb_out = j.eb;
done:
  slabs_free(&sl);
  gwlz_wbuf_free(&head);
  gwlz_wbuf_free(&tail);
  cjob_free(&j);
  return e;
}

/* Chunked compression with the enhancer trained and run a window at a time
 * (enh_windows_run): bs receives the base-only stream; when *enhanced, the
 * stream is bs without its last 16 bytes (END) followed by tail, else bs. */
static gwlz_error compress_windows(gwlz_ctx *ctx, const gwlz_settings *s, const source *src,
                                   gwlz_wbuf *bs, gwlz_wbuf *tail, int *enhanced, gwlz_stats *st) {
  double eb = 0;
  *enhanced = 0;
  gwlz_error e = stream_base(ctx, s, src, NULL, bs, &eb, st);
  if (e != GWLZ_OK) return e;
  const size_t finite = s->n - st->num_special;
  if (!(eb > 0) || finite == 0 || s->groups <= 0) return GWLZ_OK;
  gwlz_enh_run run;
  gwlz_enh_run_init(&run);
  gwlz_reader *rd = NULL;
  e = gwlz_reader_open(NULL, NULL, bs->data, bs->size, &rd);
  if (e == GWLZ_OK)
    e = enh_windows_run(ctx, s, src, rd, bs->size, eb, st->value_min, st->value_max, NULL, &run);
  gwlz_reader_close(rd);
  if (e == GWLZ_OK) e = gwlz_ctx_enh_verdict(ctx, eb, &run.oc, st, enhanced);
  if (e == GWLZ_OK) {
    st->train_seconds = run.es.train_seconds;
    st->enhance_seconds = run.es.enhance_seconds;
    st->epochs_run = run.es.epochs_run;
    if (*enhanced)
      e = gwlz_part_enh_tail(gwlz_load_u32(bs->data + bs->size - 4), &run.models, &run.exc, tail);
    st->total_bytes = *enhanced ? bs->size - 16 + tail->size : bs->size;
  }
  gwlz_enh_run_free(&run);
  return e;
}

gwlz_error gwlz_compress_stream(gwlz_ctx *ctx, gwlz_read_fn read, void *read_user,
                                gwlz_write_fn write, void *write_user, uint64_t *stream_size) {
  if (!ctx || !read || !write) return GWLZ_ERR_PARAM;
  gwlz_settings s;
  gwlz_ctx_settings(ctx, &s);
  if (s.ndims == 0) return GWLZ_ERR_PARAM;
  gwlz_ctx_put_stats(ctx, NULL);
  const size_t ts = gwlz_type_size(s.type);
  size_t bytes;
  if (!gwlz_mul_size(s.n, ts, &bytes)) return GWLZ_ERR_TOO_LARGE;
  source src = {read, read_user, NULL, (uint64_t)bytes};
  sink out = {write, write_user, 0};
  gwlz_error e;

  if (!enh_windows_apply(&s) && (!gwlz_chunked_applies(&s) || s.enhance || s.psnr)) {
    /* one piece, an enhancer that needs the whole field, or the trial runs
     * of the PSNR search: in memory */
    uint8_t *in = NULL, *dst = NULL;
    size_t cap = gwlz_compress_bound(ctx), got = 0;
    if ((e = slurp(&src, &in)) != GWLZ_OK) return e;
    if (cap == 0 || !(dst = (uint8_t *)malloc(cap))) {
      free(in);
      return cap == 0 ? GWLZ_ERR_TOO_LARGE : GWLZ_ERR_MEMORY;
    }
    e = gwlz_compress(ctx, in, dst, cap, &got);
    free(in);
    if (e == GWLZ_OK) e = sink_put(&out, dst, got);
    free(dst);
    if (e == GWLZ_OK && stream_size) *stream_size = got;
    return e;
  }

  if (enh_windows_apply(&s)) {
    gwlz_wbuf bs, tail;
    gwlz_stats st;
    int enhanced = 0;
    gwlz_wbuf_init(&bs);
    gwlz_wbuf_init(&tail);
    e = compress_windows(ctx, &s, &src, &bs, &tail, &enhanced, &st);
    if (e == GWLZ_OK) e = sink_put(&out, bs.data, enhanced ? bs.size - 16 : bs.size);
    if (e == GWLZ_OK) e = sink_put(&out, tail.data, tail.size);
    gwlz_wbuf_free(&bs);
    gwlz_wbuf_free(&tail);
    if (e != GWLZ_OK) return e;
    if (stream_size) *stream_size = out.written;
    gwlz_ctx_put_stats(ctx, &st);
    return GWLZ_OK;
  }
  gwlz_stats st;
  e = stream_base(ctx, &s, &src, &out, NULL, NULL, &st);
  if (e != GWLZ_OK) return e;
  if (stream_size) *stream_size = out.written;
  gwlz_ctx_put_stats(ctx, &st);
  return GWLZ_OK;
}

/* ---- reader -------------------------------------------------------------- */

struct gwlz_reader {
  source src;
  gwlz_header h;
  int chunked;            /* BASE is mode 5                              */
  int enhanced;           /* a non-empty ENHM section                    */
  uint64_t base_off, base_len;
  uint64_t enhm_off, enhm_len;   /* the ENHM and EXCP payloads (len 0: none) */
  uint64_t excp_off, excp_len;
  gwlz_grid g;
  gwlz_chunk_entry *ent;
  uint64_t *off;          /* stream offsets of the records               */
};

void gwlz_reader_close(gwlz_reader *rd) {
  if (!rd) return;
  free(rd->ent);
  free(rd->off);
  free(rd);
}

const gwlz_header *gwlz_reader_header(const gwlz_reader *rd) { return &rd->h; }

const gwlz_grid *gwlz_reader_grid(const gwlz_reader *rd) {
  return rd->chunked && !rd->enhanced ? &rd->g : NULL;
}

void gwlz_reader_span(const gwlz_reader *rd, uint64_t *rec0, uint64_t *rend) {
  *rec0 = *rend = 0;
  if (!rd->chunked) return;
  *rec0 = rd->base_off + gwlz_chunked_head_size(rd->h.ndims, rd->g.count);
  *rend = rd->base_off + rd->base_len;
}

void gwlz_reader_record(const gwlz_reader *rd, size_t k, uint64_t *off, uint64_t *size) {
  *off = rd->off[k];
  *size = rd->ent[k].size;
}

static int tag_printable(uint32_t tag) {
  for (int i = 0; i < 4; i++) {
    uint8_t c = (uint8_t)(tag >> (8 * i));
    if (c < 0x21 || c > 0x7E) return 0;
  }
  return 1;
}

/* CRC-32C continued over stream bytes [a, b). */
static gwlz_error crc_range(const source *src, uint64_t a, uint64_t b, uint32_t *crc) {
  if (src->mem) {
    *crc = gwlz_crc32c(*crc, src->mem + a, (size_t)(b - a));
    return GWLZ_OK;
  }
  uint8_t *buf = (uint8_t *)malloc(CRC_PIECE);
  if (!buf) return GWLZ_ERR_MEMORY;
  gwlz_error e = GWLZ_OK;
  while (a < b && e == GWLZ_OK) {
    size_t len = b - a < CRC_PIECE ? (size_t)(b - a) : CRC_PIECE;
    if ((e = src_read(src, a, buf, len)) == GWLZ_OK) *crc = gwlz_crc32c(*crc, buf, len);
    a += len;
  }
  free(buf);
  return e;
}

/* Parse the chunked head of the payload at rd->base_off (length base_len). */
static gwlz_error reader_index(gwlz_reader *rd) {
  const int nd = rd->h.ndims;
  uint8_t gb[4 + 8 * GWLZ_MAX_DIMS];
  size_t gs = gwlz_chunked_grid_size(nd);
  size_t avail = (uint64_t)gs < rd->base_len ? gs : (size_t)rd->base_len;
  gwlz_error e = src_read(&rd->src, rd->base_off, gb, avail);
  if (e != GWLZ_OK) return e;
  if ((e = gwlz_chunked_read_grid(gb, avail, rd->base_len, nd, rd->h.dims, &rd->g)) != GWLZ_OK)
    return e;
  size_t hs = gwlz_chunked_head_size(nd, rd->g.count);
  uint8_t *head = (uint8_t *)malloc(hs);
  rd->ent = (gwlz_chunk_entry *)malloc(rd->g.count * sizeof *rd->ent);
  rd->off = (uint64_t *)malloc(rd->g.count * sizeof *rd->off);
  if (!head || !rd->ent || !rd->off) {
    free(head);
    return GWLZ_ERR_MEMORY;
  }
  if ((e = src_read(&rd->src, rd->base_off, head, hs)) == GWLZ_OK)
    e = gwlz_chunked_read_index(head, &rd->g, rd->base_len, rd->ent, rd->off);
  free(head);
  if (e != GWLZ_OK) return e;
  for (size_t k = 0; k < rd->g.count; k++) rd->off[k] += rd->base_off;
  return GWLZ_OK;
}

/* Header, frames, index, CRCs, tags (docs/format.md §3.1, §5, §9.11). A
 * stream that is not chunked is left for the whole-stream decoder, which
 * checks it (rd->chunked = 0). */
static gwlz_error reader_open_src(const source *src, gwlz_reader **out) {
  gwlz_reader *rd = (gwlz_reader *)calloc(1, sizeof *rd);
  if (!rd) return GWLZ_ERR_MEMORY;
  rd->src = *src;
  gwlz_error e;
  uint8_t *hb = NULL, pre[8];
  /* the fixed start (magic, version, header_size), then the whole header */
  size_t hlen = src->size < 8 ? (size_t)src->size : 8, hs;
  if ((e = src_read(src, 0, pre, hlen)) != GWLZ_OK) goto fail;
  if (hlen == 8) {
    size_t want = gwlz_load_u32(pre + 4) >> 16;
    if (want < 8) want = 8;
    hlen = src->size < want ? (size_t)src->size : want;
  }
  if (!(hb = (uint8_t *)malloc(hlen ? hlen : 1))) {
    e = GWLZ_ERR_MEMORY;
    goto fail;
  }
  if ((e = src_read(src, 0, hb, hlen)) != GWLZ_OK) goto fail;
  e = gwlz_container_read_header(hb, hlen, &rd->h, &hs);
  free(hb);
  hb = NULL;
  if (e != GWLZ_OK) goto fail;

  /* walk the frames to END! */
  uint64_t pos = hs, end_pos = 0;
  uint32_t stored_crc = 0;
  int nbase = 0, nspec = 0, nenhm = 0, nexcp = 0, bad_tag = 0, critical = 0;
  uint64_t enhm_len = 0, excp_len = 0;
  for (;;) {
    uint8_t fr[12];
    if (src->size - pos < 12) {
      e = GWLZ_ERR_TRUNCATED;
      goto fail;
    }
    if ((e = src_read(src, pos, fr, 12)) != GWLZ_OK) goto fail;
    uint32_t tag = gwlz_load_u32(fr);
    uint64_t len = gwlz_load_u64(fr + 4);
    if (len > src->size - pos - 12) {
      e = GWLZ_ERR_TRUNCATED;
      goto fail;
    }
    if (tag == GWLZ_SEC_END) {
      uint8_t cb[4];
      if (len != 4) {
        e = GWLZ_ERR_CORRUPT;
        goto fail;
      }
      if ((e = src_read(src, pos + 12, cb, 4)) != GWLZ_OK) goto fail;
      stored_crc = gwlz_load_u32(cb);
      if (pos + 16 != src->size) {
        e = GWLZ_ERR_CORRUPT;
        goto fail;
      }
      end_pos = pos;
      break;
    }
    if (!tag_printable(tag)) bad_tag = 1;
    if (tag == GWLZ_SEC_BASE) {
      if (nbase++ == 0) {
        rd->base_off = pos + 12;
        rd->base_len = len;
      }
    } else if (tag == GWLZ_SEC_SPECIAL) {
      nspec++;
    } else if (tag == GWLZ_SEC_MODELS) {
      nenhm++;
      enhm_len = len;
      rd->enhm_off = pos + 12;
      rd->enhm_len = len;
    } else if (tag == GWLZ_SEC_EXCEPT) {
      nexcp++;
      excp_len = len;
      rd->excp_off = pos + 12;
      rd->excp_len = len;
    } else if (!((uint8_t)tag >= 'a' && (uint8_t)tag <= 'z')) {
      critical = 1;
    }
    pos += 12 + len;
  }
  if (nbase == 0 || rd->base_len < 2) {
    *out = rd; /* not chunked: the whole-stream decoder reports it */
    return GWLZ_OK;
  }
  {
    uint8_t mb[2];
    if ((e = src_read(src, rd->base_off, mb, 2)) != GWLZ_OK) goto fail;
    if (mb[1] != GWLZ_BASE_MODE_CHUNKED) {
      *out = rd;
      return GWLZ_OK;
    }
  }
  rd->chunked = 1;
  if ((e = reader_index(rd)) != GWLZ_OK) goto fail;
  {
    /* stream CRC: bytes before the records, the records' CRCs from the
     * index, the bytes after them */
    uint32_t crc = 0;
    uint64_t rec0 = rd->base_off + gwlz_chunked_head_size(rd->h.ndims, rd->g.count);
    uint64_t rend = rd->base_off + rd->base_len;
    if ((e = crc_range(src, 0, rec0, &crc)) != GWLZ_OK) goto fail;
    for (size_t k = 0; k < rd->g.count; k++)
      crc = gwlz_crc32c_combine(crc, rd->ent[k].crc, rd->ent[k].size);
    if ((e = crc_range(src, rend, end_pos, &crc)) != GWLZ_OK) goto fail;
    if (crc != stored_crc) {
      e = GWLZ_ERR_CHECKSUM;
      goto fail;
    }
  }
  if (bad_tag || nbase > 1 || nspec > 0 || nenhm > 1 || nexcp > 1 || (nexcp && !nenhm)) {
    e = GWLZ_ERR_CORRUPT;
    goto fail;
  }
  if (critical) {
    e = GWLZ_ERR_UNSUPPORTED;
    goto fail;
  }
  if (enhm_len == 0 && excp_len > 0) {
    e = GWLZ_ERR_CORRUPT;
    goto fail;
  }
  rd->enhanced = enhm_len > 0;
  *out = rd;
  return GWLZ_OK;
fail:
  free(hb);
  gwlz_reader_close(rd);
  return e;
}

gwlz_error gwlz_reader_open(gwlz_read_fn read, void *user, const void *mem, uint64_t size,
                            gwlz_reader **out) {
  if (!out || (!read && !mem)) return GWLZ_ERR_PARAM;
  source src = {read, user, (const uint8_t *)mem, size};
  return reader_open_src(&src, out);
}

/* A reader over a chunked BASE payload alone (already checked by the
 * container's CRC). */
static gwlz_error reader_from_payload(const gwlz_header *h, const uint8_t *payload, size_t size,
                                      gwlz_reader **out) {
  gwlz_reader *rd = (gwlz_reader *)calloc(1, sizeof *rd);
  if (!rd) return GWLZ_ERR_MEMORY;
  rd->src.mem = payload;
  rd->src.size = size;
  rd->h = *h;
  rd->chunked = 1;
  rd->base_off = 0;
  rd->base_len = size;
  gwlz_error e = reader_index(rd);
  if (e != GWLZ_OK) {
    gwlz_reader_close(rd);
    return e;
  }
  *out = rd;
  return GWLZ_OK;
}

/* ---- decoding boxes ------------------------------------------------------ */

typedef struct {
  gwlz_reader *rd;
  size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS], ext[GWLZ_MAX_DIMS];
  size_t glo[GWLZ_MAX_DIMS], ghi[GWLZ_MAX_DIMS];
  uint8_t *dst, *aux, *mask;   /* box-shaped outputs (aux, mask may be NULL) */
  int values;                  /* decode the values (else only the specials) */
  int put_specials;
  size_t nspecial;
  task_err te;
  task_err *te_out;            /* report failures there instead (or NULL) */
  size_t work;                 /* values of the chunks it meets           */
  scratch_pool *pool;          /* per-thread buffers (NULL: allocate)      */
} box_job;

/* The record of chunk k: a pointer into memory, or a copy in the scratch. */
static gwlz_error record_get(gwlz_reader *rd, size_t k, const uint8_t **rec, scratch *sc) {
  size_t size = (size_t)rd->ent[k].size;
  if (rd->src.mem) {
    *rec = rd->src.mem + rd->off[k];
  } else {
    uint8_t *p = (uint8_t *)scratch_get(sc, SCR_REC, size);
    gwlz_error e;
    if (!p) return GWLZ_ERR_MEMORY;
#pragma omp critical(gwlz_stream_read)
    e = src_read(&rd->src, rd->off[k], p, size);
    if (e != GWLZ_OK) return e;
    *rec = p;
  }
  if (gwlz_crc32c(0, *rec, size) != rd->ent[k].crc) return GWLZ_ERR_CHECKSUM;
  return GWLZ_OK;
}

/* Decode chunk k and copy its part of the box. */
static gwlz_error box_chunk_run(box_job *bj, size_t k, scratch *sc) {
  gwlz_reader *rd = bj->rd;
  const gwlz_grid *g = &rd->g;
  const size_t ts = gwlz_type_size(rd->h.type);
  size_t clo[GWLZ_MAX_DIMS], chi[GWLZ_MAX_DIMS], cext[GWLZ_MAX_DIMS];
  size_t ilo[GWLZ_MAX_DIMS], iext[GWLZ_MAX_DIMS], so[GWLZ_MAX_DIMS], dof[GWLZ_MAX_DIMS];
  size_t m = gwlz_grid_box(g, k, clo, chi);
  for (int i = 0; i < g->nd; i++) {
    cext[i] = chi[i] - clo[i];
    ilo[i] = bj->lo[i] > clo[i] ? bj->lo[i] : clo[i];
    size_t ihi = bj->hi[i] < chi[i] ? bj->hi[i] : chi[i];
    iext[i] = ihi - ilo[i];
    so[i] = ilo[i] - clo[i];
    dof[i] = ilo[i] - bj->lo[i];
  }
  const uint8_t *rec, *spec, *basep;
  uint8_t *vals = NULL, *aux = NULL, *mask = NULL;
  size_t spec_size, base_size;
  gwlz_error e = record_get(rd, k, &rec, sc);
  if (e != GWLZ_OK) return e;
  e = gwlz_chunk_record_split(rec, (size_t)rd->ent[k].size, &spec, &spec_size, &basep, &base_size);
  if (e != GWLZ_OK) return e;
  vals = (uint8_t *)scratch_get(sc, SCR_RECON, m * ts);
  if (bj->aux && (aux = (uint8_t *)scratch_get(sc, SCR_AUX, m)) != NULL) memset(aux, 0, m);
  if (spec_size && (mask = (uint8_t *)scratch_get(sc, SCR_MASK, m)) != NULL) memset(mask, 0, m);
  if (!vals || (bj->aux && !aux) || (spec_size && !mask)) return GWLZ_ERR_MEMORY;
  if (spec_size) {
    /* positions (and, when wanted, the bit patterns over the values later) */
    if ((e = gwlz_special_decode(rd->h.type, spec, spec_size, NULL, m, mask)) != GWLZ_OK) return e;
  }
  if (bj->values) {
    gwlz_base_params bp;
    memset(&bp, 0, sizeof bp);
    bp.type = rd->h.type;
    bp.ndims = g->nd;
    memcpy(bp.dims, cext, sizeof bp.dims);
    bp.n = m;
    bp.abs_eb = rd->h.abs_bound;
    bp.threads = 1;
    bp.ws = &sc->base;
    if ((e = gwlz_base_decompress(&bp, basep, base_size, vals, aux)) != GWLZ_OK) return e;
    if (spec_size && bj->put_specials &&
        (e = gwlz_special_decode(rd->h.type, spec, spec_size, vals, m, NULL)) != GWLZ_OK)
      return e;
    copy_box(g->nd, ts, vals, cext, so, bj->dst, bj->ext, dof, iext);
    if (aux) copy_box(g->nd, 1, aux, cext, so, bj->aux, bj->ext, dof, iext);
  } else if (spec_size) {
    /* only the special cells' bit patterns, over what dst holds */
    if ((e = gwlz_special_decode(rd->h.type, spec, spec_size, vals, m, NULL)) != GWLZ_OK) return e;
    /* write back the special cells only: walk the box of the chunk */
    size_t idx[GWLZ_MAX_DIMS] = {0, 0, 0, 0};
    int nd = g->nd;
    int empty = 0;
    for (int i = 0; i < nd; i++)
      if (iext[i] == 0) empty = 1;
    while (!empty) {
      size_t c = 0, d = 0;
      for (int i = 0; i < nd; i++) {
        c = c * cext[i] + so[i] + idx[i];
        d = d * bj->ext[i] + dof[i] + idx[i];
      }
      if (mask[c]) memcpy(bj->dst + d * ts, vals + c * ts, ts);
      int i = nd - 1;
      while (i >= 0) {
        if (++idx[i] < iext[i]) break;
        idx[i] = 0;
        i--;
      }
      if (i < 0) break;
    }
  }
  if (mask && bj->mask) copy_box(g->nd, 1, mask, cext, so, bj->mask, bj->ext, dof, iext);
  if (spec_size) {
    size_t cnt = 0;
    for (size_t i = 0; i < m; i++) cnt += mask[i];
#pragma omp atomic
    bj->nspecial += cnt;
  }
  return GWLZ_OK;
}

static void box_chunk(box_job *bj, size_t nth) {
  size_t k = gwlz_grid_nth(&bj->rd->g, bj->glo, bj->ghi, nth);
  gwlz_error e;
  if (bj->pool) {
    e = box_chunk_run(bj, k, pool_mine(bj->pool));
  } else {
    scratch sc;
    memset(&sc, 0, sizeof sc);
    e = box_chunk_run(bj, k, &sc);
    scratch_free(&sc);
  }
  if (e != GWLZ_OK) task_fail(bj->te_out ? bj->te_out : &bj->te, k, e);
}

/* Set up a box job for [lo, hi) with outputs dst (and aux, mask). */
static size_t box_setup(box_job *bj, gwlz_reader *rd, const size_t *lo, const size_t *hi,
                        void *dst, uint8_t *aux, uint8_t *mask) {
  memset(bj, 0, sizeof *bj);
  bj->rd = rd;
  for (int i = 0; i < rd->g.nd; i++) {
    bj->lo[i] = lo[i];
    bj->hi[i] = hi[i];
    bj->ext[i] = hi[i] - lo[i];
  }
  bj->dst = (uint8_t *)dst;
  bj->aux = aux;
  bj->mask = mask;
  bj->values = 1;
  bj->put_specials = 1;
  size_t count = gwlz_grid_touch(&rd->g, bj->lo, bj->hi, bj->glo, bj->ghi);
  size_t cvals = 1;
  for (int i = 0; i < rd->g.nd; i++) cvals *= rd->g.cdims[i];
  bj->work = count > 1 ? count * cvals : 0; /* one chunk: no parallelism to be had */
  return count;
}

/* Tasks for every chunk the box meets; inside a parallel region, one thread. */
static void box_tasks(box_job *bj, size_t count) {
  for (size_t nth = 0; nth < count; nth++) {
#pragma omp task firstprivate(nth)
    box_chunk(bj, nth);
  }
#pragma omp taskwait
}

gwlz_error gwlz_reader_decode(gwlz_reader *rd, const size_t *lo, const size_t *hi, void *dst,
                              int threads) {
  if (!gwlz_reader_grid(rd)) return GWLZ_ERR_PARAM;
  box_job bj;
  scratch_pool pool;
  if (pool_init(&pool, threads) != GWLZ_OK) return GWLZ_ERR_MEMORY;
  size_t count = box_setup(&bj, rd, lo, hi, dst, NULL, NULL);
  bj.pool = &pool;
#pragma omp parallel num_threads(threads > 0 ? threads : 1) if (bj.work >= PAR_MIN)
#pragma omp single
  box_tasks(&bj, count);
  pool_free(&pool);
  return bj.te.err;
}

gwlz_error gwlz_chunked_decode(const gwlz_header *h, const uint8_t *payload, size_t size,
                               int threads, void *dst, uint8_t *aux, uint8_t *mask,
                               int put_specials, size_t *nspecial) {
  gwlz_reader *rd;
  gwlz_error e = reader_from_payload(h, payload, size, &rd);
  if (e != GWLZ_OK) return e;
  size_t lo[GWLZ_MAX_DIMS] = {0};
  box_job bj;
  scratch_pool pool;
  if (pool_init(&pool, threads) != GWLZ_OK) {
    gwlz_reader_close(rd);
    return GWLZ_ERR_MEMORY;
  }
  size_t count = box_setup(&bj, rd, lo, rd->g.dims, dst, aux, mask);
  bj.put_specials = put_specials;
  bj.pool = &pool;
#pragma omp parallel num_threads(threads > 0 ? threads : 1) if (bj.work >= PAR_MIN)
#pragma omp single
  box_tasks(&bj, count);
  e = bj.te.err;
  if (nspecial) *nspecial = bj.nspecial;
  pool_free(&pool);
  gwlz_reader_close(rd);
  return e;
}

gwlz_error gwlz_chunked_put_specials(const gwlz_header *h, const uint8_t *payload, size_t size,
                                     int threads, void *dst) {
  gwlz_reader *rd;
  gwlz_error e = reader_from_payload(h, payload, size, &rd);
  if (e != GWLZ_OK) return e;
  size_t lo[GWLZ_MAX_DIMS] = {0};
  box_job bj;
  size_t count = box_setup(&bj, rd, lo, rd->g.dims, dst, NULL, NULL);
  bj.values = 0;
#pragma omp parallel num_threads(threads > 0 ? threads : 1) if (bj.work >= PAR_MIN)
#pragma omp single
  box_tasks(&bj, count);
  e = bj.te.err;
  gwlz_reader_close(rd);
  return e;
}

gwlz_error gwlz_chunked_check(const gwlz_header *h, const uint8_t *payload, size_t size) {
  gwlz_reader *rd = NULL;
  gwlz_error e = reader_from_payload(h, payload, size, &rd);
  for (size_t k = 0; e == GWLZ_OK && k < rd->g.count; k++) {
    const uint8_t *rec = payload + rd->off[k], *spec, *bp;
    size_t rs = (size_t)rd->ent[k].size, ss, bs, lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS];
    if (gwlz_crc32c(0, rec, rs) != rd->ent[k].crc) {
      e = GWLZ_ERR_CHECKSUM;
      break;
    }
    if ((e = gwlz_chunk_record_split(rec, rs, &spec, &ss, &bp, &bs)) != GWLZ_OK) break;
    size_t m = gwlz_grid_box(&rd->g, k, lo, hi);
    if (ss && (e = gwlz_special_decode(h->type, spec, ss, NULL, m, NULL)) != GWLZ_OK) break;
    gwlz_base_params p;
    memset(&p, 0, sizeof p);
    p.type = h->type;
    p.ndims = rd->g.nd;
    for (int i = 0; i < rd->g.nd; i++) p.dims[i] = hi[i] - lo[i];
    p.n = m;
    p.abs_eb = h->abs_bound;
    p.threads = 1;
    e = gwlz_base_check(&p, bp, bs);
  }
  if (rd) gwlz_reader_close(rd);
  return e;
}

gwlz_error gwlz_chunked_peek_base(const gwlz_header *h, const uint8_t *payload, size_t size,
                                  gwlz_base *base) {
  gwlz_reader *rd;
  gwlz_error e = reader_from_payload(h, payload, size, &rd);
  if (e != GWLZ_OK) return e;
  const uint8_t *rec = payload + rd->off[0], *spec, *bp;
  size_t ss, bs;
  e = gwlz_chunk_record_split(rec, (size_t)rd->ent[0].size, &spec, &ss, &bp, &bs);
  if (e == GWLZ_OK) e = gwlz_base_peek(bp, bs, base, NULL);
  gwlz_reader_close(rd);
  return e;
}

/* ---- enhanced chunked streams, box by box ---------------------------------
 * With an ENHM payload of version 2 (docs/format.md §10.9) the output of a
 * box needs X', aux and the special-cell mask on the box grown by E2_HALO
 * cells along the used axes (§9.11.5). Such a grown box is decoded from the
 * chunks it meets and taken as a field of its own by the model
 * (gwlz_e2_apply_box with the grown box's extents: every tap of a cell of
 * the box stays inside the grown box or is clamped by a border it shares
 * with the array), the exceptions are mapped into it, and the special cells
 * are put back last. The bytes are those of the whole-array decoder
 * (test_chunks). Streams with an ENHM payload of version 1 are decoded
 * whole. */

typedef struct {
  e2_model *M;
  e2_geom g;                     /* the array's                        */
  size_t *exc, nexc;             /* exceptions: sorted array positions */
  int used[GWLZ_MAX_DIMS];       /* the taps run along these full axes */
} enh_dec;

static void enh_free(enh_dec *ed) {
  free(ed->M);
  free(ed->exc);
  memset(ed, 0, sizeof *ed);
}

static gwlz_error read_section(const source *src, uint64_t off, uint64_t len, uint8_t **out) {
  *out = (uint8_t *)malloc(len ? (size_t)len : 1);
  if (!*out) return GWLZ_ERR_MEMORY;
  gwlz_error e = src_read(src, off, *out, (size_t)len);
  if (e != GWLZ_OK) {
    free(*out);
    *out = NULL;
  }
  return e;
}

/* The model and exceptions of an enhanced chunked stream; *ok = 0 (and
 * GWLZ_OK) when the stream is not one the box decoder handles. */
static gwlz_error enh_load(gwlz_reader *rd, enh_dec *ed, int *ok) {
  memset(ed, 0, sizeof *ed);
  *ok = 0;
  if (!rd->chunked || !rd->enhanced) return GWLZ_OK;
  const gwlz_header *h = &rd->h;
  uint8_t *models = NULL, *exc = NULL;
  gwlz_error e = read_section(&rd->src, rd->enhm_off, rd->enhm_len, &models);
  if (e != GWLZ_OK) return e;
  if (models[0] != 2) { /* version 1: the whole-array decoder */
    free(models);
    return GWLZ_OK;
  }
  gwlz_enh_params ep;
  memset(&ep, 0, sizeof ep);
  ep.type = h->type;
  ep.ndims = h->ndims;
  memcpy(ep.dims, h->dims, sizeof ep.dims);
  ep.n = h->n;
  ep.abs_eb = h->abs_bound;
  ep.groups = 1;
  ep.threads = 1;
  ep.policy = h->policy;
  if (rd->excp_len) e = read_section(&rd->src, rd->excp_off, rd->excp_len, &exc);
  /* the checks of the whole-array decoder first */
  if (e == GWLZ_OK)
    e = gwlz_enh_validate(&ep, models, (size_t)rd->enhm_len, exc, (size_t)rd->excp_len);
  if (e == GWLZ_OK) e = gwlz_e2_geom(&ep, &ed->g);
  if (e == GWLZ_OK && !(ed->M = (e2_model *)malloc(sizeof(e2_model)))) e = GWLZ_ERR_MEMORY;
  if (e == GWLZ_OK) e = gwlz_e2_parse_models(models, (size_t)rd->enhm_len, &ed->g, ed->M);
  if (e == GWLZ_OK && rd->excp_len && h->policy == GWLZ_BOUND_RELAXED) e = GWLZ_ERR_CORRUPT;
  if (e == GWLZ_OK && rd->excp_len)
    e = gwlz_e2_parse_exceptions(exc, (size_t)rd->excp_len, h->n, &ed->exc, &ed->nexc);
  free(models);
  free(exc);
  if (e != GWLZ_OK) {
    enh_free(ed);
    return e;
  }
  /* the used axes: the last k of the axes longer than 1 */
  for (int i = h->ndims - 1, seen = 0; i >= 0; i--)
    if (h->dims[i] != 1 && seen < ed->g.k) {
      ed->used[i] = 1;
      seen++;
    }
  *ok = 1;
  return GWLZ_OK;
}

/* [lo, hi) grown by E2_HALO along the used axes, clamped to the array. */
static void enh_grow(const enh_dec *ed, const gwlz_header *h, const size_t *lo, const size_t *hi,
                     size_t *wlo, size_t *whi) {
  for (int i = 0; i < h->ndims; i++) {
    wlo[i] = lo[i];
    whi[i] = hi[i];
    if (!ed->used[i]) continue;
    wlo[i] = lo[i] >= E2_HALO ? lo[i] - E2_HALO : 0;
    whi[i] = h->dims[i] - hi[i] >= E2_HALO ? hi[i] + E2_HALO : h->dims[i];
  }
}

/* The exceptions inside the window [wlo, whi), as window positions (still
 * sorted: C order inside a box follows C order in the array). */
static size_t *enh_local_exc(const enh_dec *ed, const gwlz_header *h, const size_t *wlo,
                             const size_t *whi, size_t *cnt) {
  size_t *loc = (size_t *)malloc((ed->nexc ? ed->nexc : 1) * sizeof(size_t));
  *cnt = 0;
  if (!loc) return NULL;
  for (size_t k = 0; k < ed->nexc; k++) {
    size_t p = ed->exc[k], c[GWLZ_MAX_DIMS], w = 0;
    int in = 1;
    for (int i = h->ndims - 1; i >= 0; i--) {
      c[i] = p % h->dims[i];
      p /= h->dims[i];
      if (c[i] < wlo[i] || c[i] >= whi[i]) in = 0;
    }
    if (!in) continue;
    for (int i = 0; i < h->ndims; i++) w = w * (whi[i] - wlo[i]) + (c[i] - wlo[i]);
    loc[(*cnt)++] = w;
  }
  return loc;
}

/* Output of the box [lo, hi) into out (box-shaped) from X', aux and mask of
 * the window [wlo, whi) (window-shaped; grown as enh_grow says), in pieces
 * along the box's slowest axis, one per thread. */
static gwlz_error enh_apply(const enh_dec *ed, const gwlz_header *h, const size_t *wlo,
                            const size_t *whi, const void *x, const uint8_t *aux,
                            const uint8_t *mask, const size_t *lo, const size_t *hi, void *out,
                            int threads) {
  e2_geom gw = ed->g;
  size_t blo[4] = {0, 0, 0, 0}, bhi[4] = {1, 1, 1, 1};
  int j = 0;
  gw.n = 1;
  for (int i = 0; i < h->ndims; i++) {
    if (h->dims[i] == 1) continue;
    gw.N[j] = whi[i] - wlo[i];
    gw.n *= gw.N[j];
    blo[j] = lo[i] - wlo[i];
    bhi[j] = hi[i] - wlo[i];
    j++;
  }
  if (j == 0) gw.N[0] = gw.n = 1; /* a single value */
  gw.nx = gw.N[gw.nd - 1];
  gw.ny = gw.k >= 2 ? gw.N[gw.nd - 2] : 1;
  gw.nz = gw.k >= 3 ? gw.N[gw.nd - 3] : 1;
  gw.nrows = gw.n / gw.nx;
  size_t nl = 0, inner = 1;
  size_t *lexc = enh_local_exc(ed, h, wlo, whi, &nl);
  if (!lexc) return GWLZ_ERR_MEMORY;
  for (int a = 1; a < gw.nd; a++) inner *= bhi[a] - blo[a];
  const size_t ext0 = bhi[0] - blo[0], ts = gwlz_type_size(h->type);
  const int np = ext0 * inner < PAR_MIN ? 1 : (int)(ext0 < (size_t)threads ? ext0 : (size_t)threads);
  gwlz_error err = GWLZ_OK;
#pragma omp parallel for num_threads(np > 0 ? np : 1) schedule(static)
  for (int t = 0; t < (np > 0 ? np : 1); t++) {
    size_t plo[4], phi[4];
    memcpy(plo, blo, sizeof plo);
    memcpy(phi, bhi, sizeof phi);
    plo[0] = blo[0] + ext0 * (size_t)t / (size_t)np;
    phi[0] = blo[0] + ext0 * (size_t)(t + 1) / (size_t)np;
    if (plo[0] == phi[0]) continue;
    gwlz_error e = gwlz_e2_apply_box(ed->M, &gw, x, aux, mask, lexc, nl, plo, phi,
                                     (uint8_t *)out + (plo[0] - blo[0]) * inner * ts);
    if (e != GWLZ_OK) {
#pragma omp critical(gwlz_enh_apply)
      err = err == GWLZ_OK ? e : err;
    }
  }
  free(lexc);
  return err;
}

/* Run a box job's chunk tasks with the per-thread scratch of pool. */
static gwlz_error box_run(box_job *bj, size_t count, scratch_pool *pool, int threads) {
  bj->pool = pool;
#pragma omp parallel num_threads(threads > 0 ? threads : 1) if (bj->work >= PAR_MIN)
#pragma omp single
  box_tasks(bj, count);
  return bj->te.err;
}

/* Decode the window [wlo, whi) into x, aux, mask (window-shaped; mask
 * zeroed here), special cells not put back. */
static gwlz_error enh_window(gwlz_reader *rd, const size_t *wlo, const size_t *whi, void *x,
                             uint8_t *aux, uint8_t *mask, size_t wn, scratch_pool *pool,
                             int threads) {
  box_job bj;
  memset(mask, 0, wn ? wn : 1);
  size_t count = box_setup(&bj, rd, wlo, whi, x, aux, mask);
  bj.put_specials = 0;
  return box_run(&bj, count, pool, threads);
}

/* Put the special cells of [lo, hi) into out (box-shaped). */
static gwlz_error enh_specials(gwlz_reader *rd, const size_t *lo, const size_t *hi, void *out,
                               scratch_pool *pool, int threads) {
  box_job bj;
  size_t count = box_setup(&bj, rd, lo, hi, out, NULL, NULL);
  bj.values = 0;
  return box_run(&bj, count, pool, threads);
}

/* A region of an enhanced stream: the grown box decoded, the box enhanced. */
static gwlz_error region_enhanced(gwlz_reader *rd, const enh_dec *ed, const size_t *lo,
                                  const size_t *hi, void *dst, int threads) {
  const gwlz_header *h = &rd->h;
  const size_t ts = gwlz_type_size(h->type);
  size_t wlo[GWLZ_MAX_DIMS], whi[GWLZ_MAX_DIMS], wn = 1;
  enh_grow(ed, h, lo, hi, wlo, whi);
  for (int i = 0; i < h->ndims; i++) wn *= whi[i] - wlo[i];
  uint8_t *x = (uint8_t *)gwlz_big_alloc(wn * ts), *aux = (uint8_t *)gwlz_big_alloc(wn);
  uint8_t *mask = (uint8_t *)gwlz_big_alloc(wn);
  scratch_pool pool;
  gwlz_error e = x && aux && mask ? pool_init(&pool, threads) : GWLZ_ERR_MEMORY;
  if (e == GWLZ_OK) {
    e = enh_window(rd, wlo, whi, x, aux, mask, wn, &pool, threads);
    if (e == GWLZ_OK) e = enh_apply(ed, h, wlo, whi, x, aux, mask, lo, hi, dst, threads);
    if (e == GWLZ_OK) e = enh_specials(rd, lo, hi, dst, &pool, threads);
    pool_free(&pool);
  }
  free(x);
  free(aux);
  free(mask);
  return e;
}

/* Streaming decode of an enhanced stream: batches of chunk rows along
 * dimension 0, in order. The buffer holds X', aux and mask of the planes
 * [base, top): the last halo planes of the batch before, the batch, and the
 * next batch (decoded once, when the batch before it needs its first halo
 * planes); after a batch is written the planes below its last halo planes
 * move to the front. Memory: (halo + 2 batches) planes of value + 2 bytes,
 * and one batch of output. */
typedef struct {
  gwlz_reader *rd;
  const enh_dec *ed;
  size_t P, ts, H;               /* values per plane, value bytes, halo planes */
  size_t base, top;              /* planes held                            */
  uint8_t *x, *aux, *mask, *out;
  scratch_pool pool;
  int threads;
} enh_stream;

/* Decode planes [top, z1) after those held. */
static gwlz_error es_fill(enh_stream *es, size_t z1) {
  const gwlz_header *h = &es->rd->h;
  if (z1 <= es->top) return GWLZ_OK;
  size_t lo[GWLZ_MAX_DIMS] = {0}, hi[GWLZ_MAX_DIMS];
  memcpy(hi, h->dims, sizeof hi);
  lo[0] = es->top;
  hi[0] = z1;
  const size_t off = (es->top - es->base) * es->P, wn = (z1 - es->top) * es->P;
  gwlz_error e = enh_window(es->rd, lo, hi, es->x + off * es->ts, es->aux + off, es->mask + off,
                            wn, &es->pool, es->threads);
  es->top = z1;
  return e;
}

/* Keep planes [z, top) only, moved to the front. */
static void es_drop(enh_stream *es, size_t z) {
  if (z <= es->base) return;
  const size_t skip = (z - es->base) * es->P, keep = (es->top - z) * es->P;
  memmove(es->x, es->x + skip * es->ts, keep * es->ts);
  memmove(es->aux, es->aux + skip, keep);
  memmove(es->mask, es->mask + skip, keep);
  es->base = z;
}

/* Enhance and write planes [z0, z1) (held with their halo). */
static gwlz_error es_batch(enh_stream *es, size_t z0, size_t z1, sink *out) {
  const gwlz_header *h = &es->rd->h;
  size_t lo[GWLZ_MAX_DIMS] = {0}, hi[GWLZ_MAX_DIMS], wlo[GWLZ_MAX_DIMS], whi[GWLZ_MAX_DIMS];
  memcpy(hi, h->dims, sizeof hi);
  lo[0] = z0;
  hi[0] = z1;
  enh_grow(es->ed, h, lo, hi, wlo, whi);
  const size_t off = (wlo[0] - es->base) * es->P;
  gwlz_error e = enh_apply(es->ed, h, wlo, whi, es->x + off * es->ts, es->aux + off,
                           es->mask + off, lo, hi, es->out, es->threads);
  if (e == GWLZ_OK) e = enh_specials(es->rd, lo, hi, es->out, &es->pool, es->threads);
  if (e == GWLZ_OK) e = sink_put(out, es->out, (z1 - z0) * es->P * es->ts);
  return e;
}

/* Bytes the streaming decoder holds for a grid (see enh_stream). */
static size_t es_bytes(const gwlz_grid *g, size_t ts, size_t H, size_t rows) {
  size_t z0, z1;
  rows_range(g, 0, rows, &z0, &z1);
  const size_t S = z1 - z0, planes = H + 2 * S < g->dims[0] ? H + 2 * S : g->dims[0];
  return planes * plane_values(g) * (ts + 2) + S * plane_values(g) * ts;
}

/* The window's buffers for es->rd, es->P, es->ts, es->H, es->threads: the
 * halo and two batches of planes (value, aux, mask), with_out: one batch of
 * output; the per-thread scratch. */
static gwlz_error es_alloc(enh_stream *es, int with_out) {
  const gwlz_grid *g = &es->rd->g;
  size_t z0, z1;
  rows_range(g, 0, rows_per_batch(g, es->threads), &z0, &z1);
  const size_t S = z1 - z0, cap = es->H + 2 * S < g->dims[0] ? es->H + 2 * S : g->dims[0];
  es->x = (uint8_t *)gwlz_big_alloc(cap * es->P * es->ts);
  es->aux = (uint8_t *)gwlz_big_alloc(cap * es->P);
  es->mask = (uint8_t *)gwlz_big_alloc(cap * es->P);
  if (with_out) es->out = (uint8_t *)gwlz_big_alloc(S * es->P * es->ts);
  if (!es->x || !es->aux || !es->mask || (with_out && !es->out)) return GWLZ_ERR_MEMORY;
  return pool_init(&es->pool, es->threads);
}

static void es_free(enh_stream *es) {
  if (es->pool.t) pool_free(&es->pool);
  free(es->x);
  free(es->aux);
  free(es->mask);
  free(es->out);
  es->x = es->out = es->aux = es->mask = NULL;
}

/* Walk the batches of chunk rows that meet planes [za, zb) in order: for
 * each, the window is filled (the halo planes before the first batch, the
 * batch, the next batch whole for the halo after it), fn runs on the batch's
 * planes within [za, zb), and the planes below the batch's last halo planes
 * are dropped. */
typedef gwlz_error (*es_batch_fn)(enh_stream *es, size_t z0, size_t z1, void *user);

static gwlz_error es_walk(enh_stream *es, size_t za, size_t zb, es_batch_fn fn, void *user) {
  const gwlz_grid *g = &es->rd->g;
  const size_t rows = rows_per_batch(g, es->threads), nb = (g->grid[0] + rows - 1) / rows;
  gwlz_error e = GWLZ_OK;
  int started = 0;
  for (size_t b = 0; e == GWLZ_OK && b < nb; b++) {
    size_t z0, z1;
    rows_range(g, b * rows, (b + 1) * rows < g->grid[0] ? (b + 1) * rows : g->grid[0], &z0, &z1);
    if (z1 <= za) continue;
    if (z0 >= zb) break;
    if (!started) {
      es->base = es->top = z0 >= es->H ? z0 - es->H : 0;
      started = 1;
    }
    size_t need = z1 + es->H < g->dims[0] ? z1 + es->H : g->dims[0];
    if (need > z1) {
      size_t n0, n1;
      rows_range(g, (b + 1) * rows, (b + 2) * rows < g->grid[0] ? (b + 2) * rows : g->grid[0],
                 &n0, &n1);
      need = n1;
    }
    e = es_fill(es, need);
    if (e == GWLZ_OK) e = fn(es, z0 > za ? z0 : za, z1 < zb ? z1 : zb, user);
    es_drop(es, z1 >= es->H ? z1 - es->H : 0);
  }
  return e;
}

static gwlz_error es_batch_out(enh_stream *es, size_t z0, size_t z1, void *user) {
  return es_batch(es, z0, z1, (sink *)user);
}

static gwlz_error stream_decode_enhanced(gwlz_reader *rd, const enh_dec *ed, sink *out,
                                         int threads, size_t za, size_t zb) {
  const gwlz_grid *g = &rd->g;
  enh_stream es;
  memset(&es, 0, sizeof es);
  es.rd = rd;
  es.ed = ed;
  es.P = plane_values(g);
  es.ts = gwlz_type_size(rd->h.type);
  es.H = ed->used[0] ? E2_HALO : 0;
  es.threads = threads;
  gwlz_error e = es_alloc(&es, 1);
  if (e == GWLZ_OK) e = es_walk(&es, za, zb, es_batch_out, out);
  es_free(&es);
  return e;
}

/* ---- compression with the enhancer, a window of rows at a time -----------
 * (docs/scaling.md §8.3.) Pass 1 compresses the chunks as the base-only
 * pipeline does and keeps the base-only stream in memory. A reader over that
 * stream gives X', aux and mask in the sliding window of the streaming
 * decoder (enh_stream) while the input is read again a slice of planes at a
 * time: pass 2 keeps the enhancer's sampled segments (each with its halo)
 * and sums the base's error in array order; the enhancer is trained from
 * the sample; pass 3 walks the window again and runs the inference with its
 * exceptions. The enhancer's sums are those of the whole-array encoder
 * (stages.c), so the stream is the one gwlz_compress made from the whole
 * array. Memory: the window (halo + 2 batches of planes, value + 2 bytes),
 * one slice of the input, the sample (at most 2^19 cells with their halo)
 * and the stream. */

#define ENH_SLICE_BYTES ((size_t)1 << 24) /* input read per slice (at least a plane) */

/* Arrays the windowed encoder takes: chunked, version 2 enhancer, no PSNR
 * search, more than 2^17 values (smaller ones measure the base's slope on
 * the whole array), rows that do not straddle planes of dimension 0, and a
 * window (halo and two batches of chunk rows) smaller than the array. */
static int enh_windows_apply(const gwlz_settings *s) {
  if (!s->enhance || !s->enh_windows || s->psnr || !gwlz_chunked_applies(s)) return 0;
  if (s->n <= ((size_t)1 << 17)) return 0;
  int nd = 0;
  for (int i = 0; i < s->ndims; i++) nd += s->dims[i] != 1;
  if (nd < 2 || s->dims[0] == 1) return 0;
  gwlz_grid g;
  gwlz_grid_plan(&g, s->ndims, s->dims, s->chunk);
  size_t z0, z1;
  rows_range(&g, 0, rows_per_batch(&g, s->threads), &z0, &z1);
  return E2_HALO + 2 * (z1 - z0) < g.dims[0];
}

/* The used axes of the version 2 enhancer (the last k of the axes longer
 * than 1) among the array's dims. */
static void enh_used_axes(const gwlz_header *h, int k, int *used) {
  for (int i = 0; i < GWLZ_MAX_DIMS; i++) used[i] = 0;
  for (int i = h->ndims - 1, seen = 0; i >= 0; i--)
    if (h->dims[i] != 1 && seen < k) {
      used[i] = 1;
      seen++;
    }
}

typedef struct {
  const gwlz_settings *s;
  const source *src;
  enh_stream es;
  e2_geom g, gw;           /* the array's geometry, the window's           */
  size_t rp;               /* rows per plane of dimension 0                */
  uint8_t *xs;             /* a slice of the input                         */
  size_t slice;            /* planes per slice                             */
  size_t pa, pb;           /* the planes this process works on             */
  gwlz_e2_enc *E;
} enh_job;

/* One batch of a pass over the array (planes [z0, z1), held in the window
 * with their halo), slice by slice: sample (and the base's error) or infer. */
typedef struct {
  enh_job *J;
  int infer;
} enh_pass_ctx;

static gwlz_error enh_batch(enh_stream *es, size_t z0, size_t z1, void *user) {
  enh_pass_ctx *pc = (enh_pass_ctx *)user;
  enh_job *J = pc->J;
  const size_t ts = es->ts, P = es->P, planes = es->top - es->base;
  gwlz_error e = GWLZ_OK;
  J->gw = J->g; /* the window: planes [base, top) of dimension 0 */
  J->gw.N[0] = planes;
  J->gw.n = planes * P;
  J->gw.nrows = J->gw.n / J->gw.nx;
  if (J->gw.nd == 3) J->gw.nz = planes;
  if (J->gw.nd == 2) J->gw.ny = planes;
  gwlz_e2_window w = {&J->gw, es->base * J->rp, es->x, es->aux, es->mask, J->xs, 0};
  for (size_t q0 = z0; e == GWLZ_OK && q0 < z1; q0 += J->slice) {
    const size_t q1 = q0 + J->slice < z1 ? q0 + J->slice : z1;
    e = src_read(J->src, (uint64_t)q0 * P * ts, J->xs, (q1 - q0) * P * ts);
    w.xrow0 = q0 * J->rp;
    if (e == GWLZ_OK)
      e = pc->infer ? gwlz_e2_enc_infer(J->E, &w, q0 * J->rp, q1 * J->rp, NULL)
                    : gwlz_e2_enc_sample(J->E, &w, q0 * J->rp, q1 * J->rp);
  }
  return e;
}

static gwlz_error enh_pass(enh_job *J, int infer) {
  enh_pass_ctx pc = {J, infer};
  return es_walk(&J->es, J->pa, J->pb, enh_batch, &pc);
}

/* Every process's export of `what`, imported by every process in order; a
 * process that failed (ok 0, or no encoder) takes part and fails them all. */
static gwlz_error enh_exchange(gwlz_e2_enc *E, int ok, const gwlz_part_comm *comm, int what) {
  gwlz_wbuf mine, all;
  gwlz_wbuf_init(&mine);
  gwlz_wbuf_init(&all);
  gwlz_error e = E && ok ? gwlz_e2_enc_export(E, what, &mine) : GWLZ_ERR_PARAM;
  /* every process takes part in the exchange, failed or not */
  gwlz_error e2 = comm->allgather(comm->user, e == GWLZ_OK ? &mine : NULL, &all);
  if (e == GWLZ_OK) e = e2;
  if (e == GWLZ_OK) e = gwlz_e2_enc_import(E, what, all.data, all.size);
  gwlz_wbuf_free(&mine);
  gwlz_wbuf_free(&all);
  return e;
}

void gwlz_enh_run_init(gwlz_enh_run *r) {
  memset(r, 0, sizeof *r);
  gwlz_wbuf_init(&r->models);
  gwlz_wbuf_init(&r->exc);
}

void gwlz_enh_run_free(gwlz_enh_run *r) {
  gwlz_wbuf_free(&r->models);
  gwlz_wbuf_free(&r->exc);
}

gwlz_error gwlz_part_enhance(gwlz_ctx *ctx, const gwlz_settings *s, gwlz_read_fn read_in,
                             void *in_user, gwlz_reader *rd, uint64_t base_size, double eb,
                             double vmin, double vmax, const gwlz_part_comm *comm,
                             gwlz_enh_run *run) {
  const source src = {read_in, in_user, NULL, (uint64_t)s->n * gwlz_type_size(s->type)};
  return enh_windows_run(ctx, s, &src, rd, base_size, eb, vmin, vmax, comm, run);
}

/* The enhancer over the base-only stream (reader rd, base_size bytes) of
 * the array behind src: models and exc receive its payloads (empty: none),
 * oc what the verdict needs. comm (NULL: one process) spreads the work. */
static gwlz_error enh_windows_run(gwlz_ctx *ctx, const gwlz_settings *s, const source *src,
                                  gwlz_reader *rd, uint64_t base_size, double eb, double vmin,
                                  double vmax, const gwlz_part_comm *comm, gwlz_enh_run *run) {
  gwlz_wbuf *models = &run->models, *exc = &run->exc;
  gwlz_enh_stats *est = &run->es;
  gwlz_enh_outcome *oc = &run->oc;
  enh_job J;
  memset(&J, 0, sizeof J);
  J.s = s;
  J.src = src;
  const double range = vmax - vmin, half_range = vmax * 0.5 - vmin * 0.5;
  const double scale = gwlz_err_scale(half_range);
  gwlz_enh_params ep;
  gwlz_ctx_enh_params(ctx, eb, &ep);
  ep.base_bytes = (size_t)base_size;
  ep.rd_slope = gwlz_enh_rd_slope(s->n, (size_t)base_size); /* gwlz_enh_measure_slope above 2^17 */
  ep.err_scale = scale;
  ep.threads = s->threads;
  gwlz_error e = gwlz_e2_geom(&ep, &J.g);
  enh_stream *es = &J.es;
  /* rd NULL: a process that could not open the stream (it still takes part
   * in the exchanges, and fails them) */
  if (e == GWLZ_OK && (!rd || !rd->chunked || rd->g.dims[0] <= 1 || J.g.nd < 2)) e = GWLZ_ERR_PARAM;
  if (e == GWLZ_OK) {
    const gwlz_grid *g = &rd->g;
    int used[GWLZ_MAX_DIMS];
    enh_used_axes(&rd->h, J.g.k, used);
    es->rd = rd;
    es->P = plane_values(g);
    es->ts = gwlz_type_size(s->type);
    es->H = used[0] ? E2_HALO : 0;
    es->threads = s->threads;
    J.rp = es->P / J.g.nx;
    J.slice = ENH_SLICE_BYTES / (es->P * es->ts);
    size_t z0, z1;
    rows_range(g, 0, rows_per_batch(g, s->threads), &z0, &z1);
    if (J.slice < 1) J.slice = 1;
    if (J.slice > z1 - z0) J.slice = z1 - z0;
    J.xs = (uint8_t *)gwlz_big_alloc(J.slice * es->P * es->ts);
    e = J.xs ? es_alloc(es, 0) : GWLZ_ERR_MEMORY;
  }
  int active = 0;
  if (e == GWLZ_OK) e = gwlz_e2_enc_open(&ep, NULL, NULL, &J.E);
  if (e == GWLZ_OK) {
    size_t r0 = 0, r1 = J.g.nrows;
    if (comm) gwlz_e2_enc_part(J.E, comm->part, comm->parts, &r0, &r1);
    J.pa = r0 / J.rp;
    J.pb = r1 > r0 ? (r1 + J.rp - 1) / J.rp : J.pa;
  }
  if (e == GWLZ_OK) e = enh_pass(&J, 0);
  /* a failed process still takes part in every exchange (and fails it) */
  if (comm) {
    gwlz_error e1 = enh_exchange(J.E, e == GWLZ_OK, comm, GWLZ_E2_SAMPLES);
    gwlz_error e2 = enh_exchange(J.E, e == GWLZ_OK && e1 == GWLZ_OK, comm, GWLZ_E2_SUMS);
    if (e == GWLZ_OK) e = e1 != GWLZ_OK ? e1 : e2;
  }
  if (e == GWLZ_OK) e = gwlz_e2_enc_train(J.E, &active);
  if (e == GWLZ_OK && active) e = enh_pass(&J, 1);
  if (comm) { /* every process, active or not */
    gwlz_error e1 = enh_exchange(J.E, e == GWLZ_OK, comm, GWLZ_E2_SUMS);
    if (e == GWLZ_OK) e = e1;
  }
  if (e == GWLZ_OK) e = gwlz_e2_enc_finish(J.E, NULL, models, exc, est);
  if (e == GWLZ_OK && models->err != GWLZ_OK) e = models->err;
  if (e == GWLZ_OK && exc->err != GWLZ_OK) e = exc->err;
  if (e == GWLZ_OK) {
    est->model_bytes = models->size;
    est->exception_bytes = exc->size;
    if (models->size == 0) exc->size = 0;
    gwlz_e2_enc_base_error(J.E, &oc->base_sse, &oc->base_max, &oc->nreg);
    oc->range_units = isfinite(range) ? range / scale : 2.0 * (half_range / scale);
    oc->raw_bytes = s->n * gwlz_type_size(s->type);
    oc->base_stream = (size_t)base_size;
    oc->rd_slope = ep.rd_slope;
    oc->models_size = models->size;
    oc->exc_size = exc->size;
    oc->es = est;
  }
  gwlz_e2_enc_close(J.E);
  es_free(es);
  free(J.xs);
  return e;
}

gwlz_error gwlz_part_enh_tail(uint32_t end_crc, const gwlz_wbuf *models, const gwlz_wbuf *exc,
                              gwlz_wbuf *tail) {
  uint32_t crc = end_crc;
  const size_t t0 = tail->size;
  gwlz_wbuf_u32(tail, GWLZ_SEC_MODELS);
  gwlz_wbuf_u64(tail, (uint64_t)models->size);
  gwlz_wbuf_put(tail, models->data, models->size);
  if (exc->size) {
    gwlz_wbuf_u32(tail, GWLZ_SEC_EXCEPT);
    gwlz_wbuf_u64(tail, (uint64_t)exc->size);
    gwlz_wbuf_put(tail, exc->data, exc->size);
  }
  if (tail->err != GWLZ_OK) return tail->err;
  crc = gwlz_crc32c(crc, tail->data + t0, tail->size - t0);
  gwlz_wbuf_u32(tail, GWLZ_SEC_END);
  gwlz_wbuf_u64(tail, 4);
  gwlz_wbuf_u32(tail, crc);
  return tail->err;
}

int gwlz_chunked_windows_apply(const gwlz_settings *s) { return enh_windows_apply(s); }

gwlz_error gwlz_chunked_compress_windows(gwlz_ctx *ctx, const void *src, void *dst,
                                         size_t dst_capacity, size_t *dst_size) {
  gwlz_settings s;
  gwlz_ctx_settings(ctx, &s);
  gwlz_ctx_put_stats(ctx, NULL);
  const source in = {NULL, NULL, (const uint8_t *)src, (uint64_t)s.n * gwlz_type_size(s.type)};
  gwlz_wbuf bs, tail;
  gwlz_stats st;
  int enhanced = 0;
  gwlz_wbuf_init(&bs);
  gwlz_wbuf_init(&tail);
  gwlz_error e = compress_windows(ctx, &s, &in, &bs, &tail, &enhanced, &st);
  if (e == GWLZ_OK) {
    const size_t head = enhanced ? bs.size - 16 : bs.size, total = head + tail.size;
    if (total > dst_capacity) {
      e = GWLZ_ERR_DST_TOO_SMALL;
    } else {
      memcpy(dst, bs.data, head);
      if (tail.size) memcpy((uint8_t *)dst + head, tail.data, tail.size);
      *dst_size = total;
      gwlz_ctx_put_stats(ctx, &st);
    }
  }
  gwlz_wbuf_free(&bs);
  gwlz_wbuf_free(&tail);
  return e;
}

/* ---- public decoders ----------------------------------------------------- */

static gwlz_error check_box(const gwlz_header *h, const size_t *lo, const size_t *hi,
                            size_t dst_capacity, size_t *bytes) {
  size_t n = 1;
  for (int i = 0; i < h->ndims; i++) {
    if (lo[i] > hi[i] || hi[i] > h->dims[i]) return GWLZ_ERR_PARAM;
    n *= hi[i] - lo[i];
  }
  *bytes = n * gwlz_type_size(h->type);
  return dst_capacity < *bytes ? GWLZ_ERR_DST_TOO_SMALL : GWLZ_OK;
}

/* The whole-stream path: decode all of it, copy the box. */
static gwlz_error region_whole(gwlz_ctx *ctx, const uint8_t *stream, size_t size,
                               const gwlz_header *h, const size_t *lo, const size_t *hi,
                               void *dst) {
  const size_t ts = gwlz_type_size(h->type);
  size_t bytes;
  if (!gwlz_mul_size(h->n, ts, &bytes)) return GWLZ_ERR_TOO_LARGE;
  uint8_t *all = (uint8_t *)malloc(bytes ? bytes : 1);
  if (!all) return GWLZ_ERR_MEMORY;
  gwlz_error e = gwlz_decompress(ctx, stream, size, all, bytes);
  if (e == GWLZ_OK) {
    size_t ext[GWLZ_MAX_DIMS], zero[GWLZ_MAX_DIMS] = {0};
    for (int i = 0; i < h->ndims; i++) ext[i] = hi[i] - lo[i];
    copy_box(h->ndims, ts, all, h->dims, lo, (uint8_t *)dst, ext, zero, ext);
  }
  free(all);
  return e;
}

static gwlz_error region_src(gwlz_ctx *ctx, const source *src, const size_t *lo, const size_t *hi,
                             void *dst, size_t dst_capacity) {
  if (!ctx || !lo || !hi || (!dst && dst_capacity)) return GWLZ_ERR_PARAM;
  gwlz_reader *rd;
  gwlz_error e = reader_open_src(src, &rd);
  if (e != GWLZ_OK) return e;
  size_t bytes;
  e = check_box(&rd->h, lo, hi, dst_capacity, &bytes);
  if (e == GWLZ_OK && bytes == 0) {
    gwlz_reader_close(rd);
    return GWLZ_OK;
  }
  enh_dec ed;
  int boxed = 0;
  if (e == GWLZ_OK && !gwlz_reader_grid(rd) && !gwlz_ctx_skips_enhancer(ctx))
    e = enh_load(rd, &ed, &boxed);
  if (e == GWLZ_OK) {
    if (gwlz_reader_grid(rd)) {
      e = gwlz_reader_decode(rd, lo, hi, dst, gwlz_ctx_threads(ctx));
    } else if (boxed) {
      e = region_enhanced(rd, &ed, lo, hi, dst, gwlz_ctx_threads(ctx));
      enh_free(&ed);
    } else {
      gwlz_header h = rd->h;
      uint8_t *all = NULL;
      if (src->mem) {
        e = region_whole(ctx, src->mem, (size_t)src->size, &h, lo, hi, dst);
      } else if ((e = slurp(src, &all)) == GWLZ_OK) {
        e = region_whole(ctx, all, (size_t)src->size, &h, lo, hi, dst);
        free(all);
      }
    }
  }
  gwlz_reader_close(rd);
  return e;
}

gwlz_error gwlz_decompress_region(gwlz_ctx *ctx, const void *src, size_t src_size,
                                  const size_t *lo, const size_t *hi, void *dst,
                                  size_t dst_capacity) {
  if (!src) return GWLZ_ERR_PARAM;
  source s = {NULL, NULL, (const uint8_t *)src, (uint64_t)src_size};
  return region_src(ctx, &s, lo, hi, dst, dst_capacity);
}

gwlz_error gwlz_decompress_region_stream(gwlz_ctx *ctx, gwlz_read_fn read, void *read_user,
                                         uint64_t src_size, const size_t *lo, const size_t *hi,
                                         void *dst, size_t dst_capacity) {
  if (!read) return GWLZ_ERR_PARAM;
  source s = {read, read_user, NULL, src_size};
  return region_src(ctx, &s, lo, hi, dst, dst_capacity);
}

/* Streaming decode: batch b of chunk rows is decoded into slab b % 2 while
 * the previous slab is written (dependences as for compression: the chunk
 * tasks are "in" on the slab, its write is "out"). */
typedef struct {
  sink *out;
  uint8_t *buf[2];
  task_err te;
} wjob;

static gwlz_error stream_decode_chunked(gwlz_reader *rd, sink *out, int threads) {
  const gwlz_grid *g = &rd->g;
  const size_t ts = gwlz_type_size(rd->h.type), rows = rows_per_batch(g, threads);
  const size_t nb = (g->grid[0] + rows - 1) / rows;
  wjob w;
  memset(&w, 0, sizeof w);
  w.out = out;
  size_t z0, z1;
  rows_range(g, 0, rows, &z0, &z1);
  size_t bytes = (z1 - z0) * plane_values(g) * ts;
  w.buf[0] = (uint8_t *)gwlz_big_alloc(bytes);
  w.buf[1] = nb > 1 ? (uint8_t *)gwlz_big_alloc(bytes) : NULL;
  box_job *bj = (box_job *)calloc(nb, sizeof *bj);
  scratch_pool pool;
  if (!w.buf[0] || (nb > 1 && !w.buf[1]) || !bj || pool_init(&pool, threads) != GWLZ_OK) {
    free(w.buf[0]);
    free(w.buf[1]);
    free(bj);
    return GWLZ_ERR_MEMORY;
  }
  char dep[2], io = 0;
  (void)dep;
  (void)io;
#pragma omp parallel num_threads(threads) if (rd->h.n >= PAR_MIN)
#pragma omp single
  /* an explicit parent task: libgomp frees the dependence table of an
   * explicit task when it ends (not always that of an implicit one) */
#pragma omp task
  {
    for (size_t b = 0; b < nb; b++) {
      size_t r0 = b * rows, r1 = r0 + rows;
      if (r1 > g->grid[0]) r1 = g->grid[0];
      size_t lo[GWLZ_MAX_DIMS] = {0}, hi[GWLZ_MAX_DIMS];
      for (int i = 0; i < g->nd; i++) hi[i] = g->dims[i];
      rows_range(g, r0, r1, &lo[0], &hi[0]);
      box_job *cur = &bj[b];
      size_t count = box_setup(cur, rd, lo, hi, w.buf[b % 2], NULL, NULL);
      cur->te_out = &w.te;
      cur->pool = &pool;
      size_t len = (hi[0] - lo[0]) * plane_values(g) * ts;
      for (size_t nth = 0; nth < count; nth++) {
#pragma omp task depend(in : dep[b % 2]) firstprivate(cur, nth)
        if (!task_stopped(&w.te)) box_chunk(cur, nth);
      }
#pragma omp task depend(out : dep[b % 2]) depend(inout : io) firstprivate(b, len)
      if (!task_stopped(&w.te)) {
        gwlz_error e = sink_put(w.out, w.buf[b % 2], len);
        if (e != GWLZ_OK) task_fail(&w.te, SIZE_MAX, e);
      }
    }
#pragma omp taskwait
  }

  free(w.buf[0]);
  free(w.buf[1]);
  free(bj);
  pool_free(&pool);
  return w.te.err;
}

/* A reader over src and, for a chunked stream with a version 2 enhancer
 * (that the context does not skip), its model (*boxed = 1). */
static gwlz_error open_decoder(gwlz_ctx *ctx, const source *src, gwlz_reader **rd, enh_dec *ed,
                               int *boxed) {
  *boxed = 0;
  gwlz_error e = reader_open_src(src, rd);
  if (e != GWLZ_OK) return e;
  if (!gwlz_reader_grid(*rd) && !gwlz_ctx_skips_enhancer(ctx)) e = enh_load(*rd, ed, boxed);
  if (e != GWLZ_OK) {
    gwlz_reader_close(*rd);
    *rd = NULL;
  }
  return e;
}

gwlz_error gwlz_decompress_stream(gwlz_ctx *ctx, gwlz_read_fn read, void *read_user,
                                  uint64_t src_size, gwlz_write_fn write, void *write_user) {
  if (!ctx || !read || !write) return GWLZ_ERR_PARAM;
  source src = {read, read_user, NULL, src_size};
  sink out = {write, write_user, 0};
  gwlz_reader *rd;
  enh_dec ed;
  int boxed = 0;
  const int threads = gwlz_ctx_threads(ctx);
  gwlz_error e = open_decoder(ctx, &src, &rd, &ed, &boxed);
  if (e != GWLZ_OK) return e;
  if (boxed) {
    /* by batches when that holds less than the whole array and the stream */
    const size_t ts = gwlz_type_size(rd->h.type);
    const double whole = (double)src_size + (double)rd->h.n * (double)(ts + 1);
    if (!((double)es_bytes(&rd->g, ts, ed.used[0] ? E2_HALO : 0,
                           rows_per_batch(&rd->g, threads)) < whole)) {
      enh_free(&ed);
      boxed = 0;
    }
  }
  if (e != GWLZ_OK) {
    /* reported below */
  } else if (gwlz_reader_grid(rd)) {
    e = stream_decode_chunked(rd, &out, threads);
  } else if (boxed) {
    e = stream_decode_enhanced(rd, &ed, &out, threads, 0, rd->h.dims[0]);
    enh_free(&ed);
  } else {
    uint8_t *all = NULL, *vals = NULL;
    size_t bytes;
    if (!gwlz_mul_size(rd->h.n, gwlz_type_size(rd->h.type), &bytes)) {
      e = GWLZ_ERR_TOO_LARGE;
    } else if ((e = slurp(&src, &all)) == GWLZ_OK) {
      if (!(vals = (uint8_t *)malloc(bytes ? bytes : 1))) e = GWLZ_ERR_MEMORY;
      if (e == GWLZ_OK) e = gwlz_decompress(ctx, all, (size_t)src_size, vals, bytes);
      free(all);
      if (e == GWLZ_OK) e = sink_put(&out, vals, bytes);
      free(vals);
    }
  }
  gwlz_reader_close(rd);
  return e;
}

gwlz_error gwlz_part_decode(gwlz_ctx *ctx, gwlz_read_fn read, void *read_user, uint64_t src_size,
                            int part, int parts, uint64_t *offset, gwlz_write_fn write,
                            void *write_user) {
  if (!ctx || !read || !write || parts < 1 || part < 0 || part >= parts) return GWLZ_ERR_PARAM;
  source src = {read, read_user, NULL, src_size};
  sink out = {write, write_user, 0};
  gwlz_reader *rd;
  enh_dec ed;
  int boxed = 0;
  gwlz_error e = open_decoder(ctx, &src, &rd, &ed, &boxed);
  if (e != GWLZ_OK) return e;
  if (!boxed) e = GWLZ_ERR_PARAM;
  if (e == GWLZ_OK) {
    const size_t D = rd->h.dims[0], za = D * (size_t)part / (size_t)parts;
    const size_t zb = D * (size_t)(part + 1) / (size_t)parts;
    *offset = (uint64_t)za * plane_values(&rd->g) * gwlz_type_size(rd->h.type);
    e = stream_decode_enhanced(rd, &ed, &out, gwlz_ctx_threads(ctx), za, zb);
  }
  if (boxed) enh_free(&ed);
  gwlz_reader_close(rd);
  return e;
}

