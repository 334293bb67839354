/*
 * gwlz-mpi - parallel compression and decompression across MPI processes.
 *
 *   mpirun -n P gwlz-mpi -f -i in.f32 -z out.gwlz -3 nx ny nz -M ABS 1e-3
 *   mpirun -n P gwlz-mpi -z out.gwlz -o out.f32
 *
 * The array's chunk grid (format/chunks.c) depends on its dims and the chunk
 * size only. Process r takes chunks [K r / P, K (r+1) / P): it reads their
 * boxes with one collective MPI-IO read (a file view listing the boxes' rows),
 * finds its value range (an allreduce of min and max gives the whole array's,
 * which relative bounds need), compresses its chunks (OpenMP inside the
 * process), and writes its records at its offset in the stream (an exclusive
 * prefix sum of the record sizes). Process 0 gathers the index entries and
 * writes the header, the index and the END checksum (combined from the
 * records' CRCs). The stream is therefore byte for byte the one the serial
 * tool writes with the same settings and -G 0, for any P.
 *
 * Decompression: process 0 reads the header and index and broadcasts them;
 * each process reads its records in one piece, decodes its chunks and writes
 * their boxes with one collective write.
 *
 * With the enhancer (the default, as in the serial tool), once the base-only
 * stream is written every process reads it back through a reader, decodes the
 * windows of chunk rows around its share of the array's rows, keeps the
 * enhancer's sampled segments and sums the base's error there; the samples
 * and sums are exchanged (MPI_Allgatherv, in rank order) so that every
 * process trains the same model, runs the inference on its share, and the
 * sums are exchanged again; process 0 then replaces the END section by the
 * enhancer's sections and END. Arrays the windowed enhancer does not take
 * (one chunk, squeezed 1-D, too small, another enhancer kind) are compressed
 * whole by process 0. Either way the stream is the serial tool's.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "format/checksum.h"
#include "gwlz.h"
#include "stream.h"

static int rank = 0, nprocs = 1;

static void errmsg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "gwlz-mpi[%d]: ", rank);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---- options ---------------------------------------------------------------- */

typedef struct {
  const char *in, *cmp, *out;
  gwlz_type type;
  int ndims;
  size_t dims_f[GWLZ_MAX_DIMS];
  int mode_given;
  gwlz_eb_mode mode;
  double abs_eb, rel_eb, psnr;
  int fill_given;
  double fill;
  int threads;
  gwlz_base base;
  int fast;
  size_t chunk;
  int groups;
  int report, quiet;
} options;

static void usage(void) {
  fprintf(stderr,
          "usage: mpirun -n P gwlz-mpi -f|-d -i IN -z OUT.gwlz -3 nx ny nz -M ABS|REL|... VALUE\n"
          "       mpirun -n P gwlz-mpi -z IN.gwlz -o OUT\n"
          "  -1..-4 dims fastest first; -A ABS -R REL -S PSNR; --fill V; --base B; --fast;\n"
          "  --chunk N (values); -G groups (0: base only); -T threads per process; -a report;\n"
          "  -q quiet. The stream equals the serial tool's for any number of processes.\n");
}

static int parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-' || *s == '+') return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end || errno) return 0;
  *out = (uint64_t)v;
  return 1;
}

static int parse_num(const char *s, double *out) {
  if (!s || !*s) return 0;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*end || errno == ERANGE) return 0;
  *out = v;
  return 1;
}

static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->type = GWLZ_TYPE_FLOAT;
  o->threads = 1;
  o->groups = GWLZ_DEFAULT_GROUPS;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t u;
    if (!strcmp(a, "-f")) o->type = GWLZ_TYPE_FLOAT;
    else if (!strcmp(a, "-d")) o->type = GWLZ_TYPE_DOUBLE;
    else if (!strcmp(a, "-a")) o->report = 1;
    else if (!strcmp(a, "-q")) o->quiet = 1;
    else if (!strcmp(a, "-h") || !strcmp(a, "--help")) return -1;
    else if ((!strcmp(a, "-i") || !strcmp(a, "-z") || !strcmp(a, "-o")) && v) {
      if (a[1] == 'i') o->in = v;
      else if (a[1] == 'z') o->cmp = v;
      else o->out = v;
      i++;
    } else if (a[0] == '-' && a[1] >= '1' && a[1] <= '4' && !a[2]) {
      int nd = a[1] - '0';
      if (i + nd >= argc) return 0;
      for (int k = 0; k < nd; k++) {
        if (!parse_u64(argv[i + 1 + k], &u) || u == 0) return 0;
        o->dims_f[k] = (size_t)u;
      }
      o->ndims = nd;
      i += nd;
    } else if (!strcmp(a, "-M") && v) {
      static const char *const modes[] = {"ABS", "REL", "ABS_AND_REL", "ABS_OR_REL", "PSNR"};
      int m = -1;
      for (int k = 0; k < 5; k++)
        if (!strcmp(v, modes[k])) m = k;
      if (m < 0) return 0;
      o->mode = (gwlz_eb_mode)m;
      o->mode_given = 1;
      i++;
      double val;
      if (i + 1 < argc && argv[i + 1][0] != '-' && parse_num(argv[i + 1], &val)) {
        if (m == GWLZ_EB_ABS) o->abs_eb = val;
        else if (m == GWLZ_EB_REL) o->rel_eb = val;
        else if (m == GWLZ_EB_PSNR) o->psnr = val;
        else return 0;
        i++;
      }
    } else if ((!strcmp(a, "-A") || !strcmp(a, "-R") || !strcmp(a, "-S")) && v) {
      double val;
      if (!parse_num(v, &val)) return 0;
      if (a[1] == 'A') o->abs_eb = val;
      else if (a[1] == 'R') o->rel_eb = val;
      else o->psnr = val;
      i++;
    } else if (!strcmp(a, "--fill") && v) {
      if (!parse_num(v, &o->fill)) return 0;
      o->fill_given = 1;
      i++;
    } else if ((!strcmp(a, "-T") || !strcmp(a, "--threads")) && v) {
      if (!parse_u64(v, &u) || u > 4096) return 0;
      o->threads = (int)u;
      i++;
    } else if (!strcmp(a, "--chunk") && v) {
      if (!parse_u64(v, &u) || u > ((uint64_t)1 << 30)) return 0;
      o->chunk = (size_t)u;
      i++;
    } else if (!strcmp(a, "--base") && v) {
      static const char *const names[] = {"auto", "interp", "wavelet", "zfp"};
      int b = -1;
      for (int k = 0; k < 4; k++)
        if (!strcmp(v, names[k])) b = k;
      if (b < 0) return 0;
      o->base = (gwlz_base)b;
      i++;
    } else if (!strcmp(a, "--fast")) {
      o->fast = 1;
    } else if (!strcmp(a, "-G") && v) {
      if (!parse_u64(v, &u) || u > GWLZ_MAX_GROUPS) return 0;
      o->groups = (int)u;
      i++;
    } else {
      errmsg("unknown or incomplete option '%s'", a);
      return 0;
    }
  }
  return 1;
}

/* ---- MPI-IO of chunk boxes ---------------------------------------------------
 * The rows of the boxes of chunks [k0, k1), sorted by file offset, form the
 * file view; their places in a buffer holding the boxes back to back (chunk
 * k0 first, each in C order) form the memory type. One collective read or
 * write then moves every box. */

typedef struct {
  MPI_Aint file, mem;
  int len;
} segment;

static int seg_cmp(const void *a, const void *b) {
  MPI_Aint x = ((const segment *)a)->file, y = ((const segment *)b)->file;
  return x < y ? -1 : x > y;
}

typedef struct {
  MPI_Datatype filetype, memtype;
  int empty;
  size_t bytes; /* of the box buffer */
} box_io;

static int box_io_make(const gwlz_grid *g, size_t k0, size_t k1, size_t ts, box_io *io) {
  memset(io, 0, sizeof *io);
  size_t nseg = 0, bytes = 0;
  for (size_t k = k0; k < k1; k++) {
    size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS];
    size_t m = gwlz_grid_box(g, k, lo, hi);
    nseg += m / (hi[g->nd - 1] - lo[g->nd - 1]);
    bytes += m * ts;
  }
  io->bytes = bytes;
  if (nseg == 0) {
    io->empty = 1;
    return 1;
  }
  if (nseg > (size_t)INT32_MAX) return 0;
  segment *seg = malloc(nseg * sizeof *seg);
  if (!seg) return 0;
  size_t s = 0, base = 0;
  for (size_t k = k0; k < k1; k++) {
    size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS], idx[GWLZ_MAX_DIMS] = {0, 0, 0, 0};
    size_t m = gwlz_grid_box(g, k, lo, hi);
    int nd = g->nd;
    size_t run = hi[nd - 1] - lo[nd - 1], row = 0;
    if (run * ts > (size_t)INT32_MAX) {
      free(seg);
      return 0;
    }
    for (;;) {
      size_t f = 0;
      for (int i = 0; i < nd; i++) f = f * g->dims[i] + lo[i] + (i < nd - 1 ? idx[i] : 0);
      seg[s].file = (MPI_Aint)(f * ts);
      seg[s].mem = (MPI_Aint)(base + row * run * ts);
      seg[s].len = (int)(run * ts);
      s++;
      row++;
      int i = nd - 2;
      while (i >= 0) {
        if (++idx[i] < hi[i] - lo[i]) break;
        idx[i] = 0;
        i--;
      }
      if (i < 0) break;
    }
    base += m * ts;
  }
  qsort(seg, nseg, sizeof *seg, seg_cmp);
  int *len = malloc(nseg * sizeof *len);
  MPI_Aint *fd = malloc(nseg * sizeof *fd), *md = malloc(nseg * sizeof *md);
  if (!len || !fd || !md) {
    free(seg);
    free(len);
    free(fd);
    free(md);
    return 0;
  }
  for (size_t j = 0; j < nseg; j++) {
    len[j] = seg[j].len;
    fd[j] = seg[j].file;
    md[j] = seg[j].mem;
  }
  MPI_Type_create_hindexed((int)nseg, len, fd, MPI_BYTE, &io->filetype);
  MPI_Type_create_hindexed((int)nseg, len, md, MPI_BYTE, &io->memtype);
  MPI_Type_commit(&io->filetype);
  MPI_Type_commit(&io->memtype);
  free(seg);
  free(len);
  free(fd);
  free(md);
  return 1;
}

static void box_io_free(box_io *io) {
  if (io->empty) return;
  MPI_Type_free(&io->filetype);
  MPI_Type_free(&io->memtype);
}

/* Collective read (write = 0) or write of the boxes through the view. */
static int box_io_run(MPI_File fh, box_io *io, void *buf, int write) {
  int rc;
  MPI_Status st;
  if (io->empty) {
    MPI_File_set_view(fh, 0, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL);
    rc = write ? MPI_File_write_all(fh, buf, 0, MPI_BYTE, &st)
               : MPI_File_read_all(fh, buf, 0, MPI_BYTE, &st);
  } else {
    MPI_File_set_view(fh, 0, MPI_BYTE, io->filetype, "native", MPI_INFO_NULL);
    rc = write ? MPI_File_write_all(fh, buf, 1, io->memtype, &st)
               : MPI_File_read_all(fh, buf, 1, io->memtype, &st);
  }
  MPI_File_set_view(fh, 0, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL);
  return rc == MPI_SUCCESS;
}

/* Contiguous independent write/read of any size (pieces of at most 1 GiB). */
static int io_at(MPI_File fh, uint64_t off, void *buf, uint64_t size, int write) {
  unsigned char *p = buf;
  while (size > 0) {
    int len = size > ((uint64_t)1 << 30) ? 1 << 30 : (int)size;
    MPI_Status st;
    int rc = write ? MPI_File_write_at(fh, (MPI_Offset)off, p, len, MPI_BYTE, &st)
                   : MPI_File_read_at(fh, (MPI_Offset)off, p, len, MPI_BYTE, &st);
    int got = 0;
    MPI_Get_count(&st, MPI_BYTE, &got);
    if (rc != MPI_SUCCESS || got != len) return 0;
    off += (uint64_t)len;
    p += len;
    size -= (uint64_t)len;
  }
  return 1;
}

/* Every process agrees: 1 only if ok everywhere. */
static int all_ok(int ok) {
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return all;
}

/* Chunks [first(r), first(r + 1)) belong to process r: a balanced split. */
static size_t first_chunk(size_t K, int r) {
  size_t per = K / (size_t)nprocs, rem = K % (size_t)nprocs, rr = (size_t)r;
  return rr * per + (rr < rem ? rr : rem);
}

static void my_chunks(size_t K, size_t *k0, size_t *k1) {
  *k0 = first_chunk(K, rank);
  *k1 = first_chunk(K, rank + 1);
}

/* ---- compression ------------------------------------------------------------------ */

/* An array of one chunk is written in one piece, as the serial tool does:
 * process 0 does it all. */
static int compress_whole(const options *o, gwlz_ctx *ctx, size_t bytes) {
  int ok = 1;
  if (rank == 0) {
    unsigned char *in = malloc(bytes ? bytes : 1), *out = NULL;
    size_t cap = gwlz_compress_bound(ctx), size = 0;
    FILE *f = fopen(o->in, "rb");
    ok = in && f && fread(in, 1, bytes, f) == bytes && fgetc(f) == EOF;
    if (f) fclose(f);
    if (!ok) errmsg("cannot read '%s' (%zu bytes expected)", o->in, bytes);
    gwlz_error e = GWLZ_OK;
    if (ok && (!(out = malloc(cap ? cap : 1)) ||
               (e = gwlz_compress(ctx, in, out, cap, &size)) != GWLZ_OK)) {
      errmsg("compression failed: %s", gwlz_error_string(e ? e : GWLZ_ERR_MEMORY));
      ok = 0;
    }
    if (ok) {
      FILE *g = fopen(o->cmp, "wb");
      ok = g && fwrite(out, 1, size, g) == size;
      if (g && fclose(g) != 0) ok = 0;
      if (!ok) errmsg("cannot write '%s'", o->cmp);
    }
    free(in);
    free(out);
  }
  return all_ok(ok);
}

/* ---- the enhancer across processes ---------------------------------------------- */

typedef struct {
  int enhanced;
  uint64_t tail_bytes;
  double psnr, base_psnr, seconds;
} enh_result;

static int fd_read(void *user, uint64_t off, void *buf, size_t size) {
  const int fd = *(const int *)user;
  size_t done = 0;
  while (done < size) {
    ssize_t r = pread(fd, (char *)buf + done, size - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    done += (size_t)r;
  }
  return 0;
}

/* Every process receives the concatenation of every process's bytes, in
 * rank order (mine NULL: this process failed; then all fail). */
static gwlz_error mpi_allgather(void *user, const gwlz_wbuf *mine, gwlz_wbuf *all) {
  (void)user;
  long long n = mine ? (long long)mine->size : 0;
  int ok = mine != NULL;
  long long *sizes = malloc((size_t)nprocs * sizeof *sizes);
  int *counts = malloc((size_t)nprocs * sizeof *counts), *displs = malloc((size_t)nprocs * sizeof *displs);
  if (!sizes || !counts || !displs) ok = 0;
  ok = all_ok(ok);
  if (ok) MPI_Allgather(&n, 1, MPI_LONG_LONG, sizes, 1, MPI_LONG_LONG, MPI_COMM_WORLD);
  long long tot = 0;
  for (int r = 0; ok && r < nprocs; r++) {
    if (sizes[r] < 0 || tot + sizes[r] > 0x7fffffffLL) ok = 0; /* int counts of MPI */
    if (!ok) break;
    counts[r] = (int)sizes[r];
    displs[r] = (int)tot;
    tot += sizes[r];
  }
  /* the same decision on every process (the sizes are the same everywhere) */
  unsigned char *buf = ok ? malloc(tot ? (size_t)tot : 1) : NULL;
  ok = all_ok(ok && buf);
  if (ok) {
    MPI_Allgatherv(mine->size ? mine->data : buf, (int)n, MPI_BYTE, buf, counts, displs, MPI_BYTE,
                   MPI_COMM_WORLD);
    gwlz_wbuf_put(all, buf, (size_t)tot);
  }
  free(buf);
  free(sizes);
  free(counts);
  free(displs);
  return ok ? all->err : GWLZ_ERR_IO;
}

/* The enhancer over the base-only stream of base_size bytes just written
 * (end_crc: its END CRC, on process 0); process 0 then rewrites the end. */
static int enhance_mpi(const options *o, gwlz_ctx *ctx, const gwlz_settings *s, double eb,
                       double vmin, double vmax, uint64_t finite, uint64_t base_size,
                       uint32_t end_crc, enh_result *res) {
  double t0 = MPI_Wtime();
  memset(res, 0, sizeof *res);
  if (!(eb > 0) || finite == 0 || s->groups <= 0) return 1;
  int fin = open(o->in, O_RDONLY), fz = open(o->cmp, O_RDONLY);
  gwlz_reader *rd = NULL;
  gwlz_error e = fin >= 0 && fz >= 0 ? GWLZ_OK : GWLZ_ERR_IO;
  if (e == GWLZ_OK) e = gwlz_reader_open(fd_read, &fz, NULL, base_size, &rd);
  gwlz_part_comm comm = {rank, nprocs, mpi_allgather, NULL};
  gwlz_enh_run run;
  gwlz_wbuf tail;
  gwlz_enh_run_init(&run);
  gwlz_wbuf_init(&tail);
  /* every process takes part (rd NULL: it fails the exchanges) */
  gwlz_error e2 = gwlz_part_enhance(ctx, s, fd_read, &fin, e == GWLZ_OK ? rd : NULL, base_size, eb,
                                    vmin, vmax, &comm, &run);
  if (e == GWLZ_OK) e = e2;
  int ok = all_ok(e == GWLZ_OK);
  if (!ok && rank == 0) errmsg("enhancer: %s", gwlz_error_string(e ? e : GWLZ_ERR_IO));
  gwlz_stats st;
  memset(&st, 0, sizeof st);
  if (ok) {
    e = gwlz_ctx_enh_verdict(ctx, eb, &run.oc, &st, &res->enhanced);
    ok = e == GWLZ_OK;
    if (!ok && rank == 0) errmsg("enhancer: %s", gwlz_error_string(e));
  }
  int wok = 1;
  if (ok && res->enhanced && rank == 0) {
    e = gwlz_part_enh_tail(end_crc, &run.models, &run.exc, &tail);
    int fw = e == GWLZ_OK ? open(o->cmp, O_WRONLY) : -1;
    wok = fw >= 0;
    for (size_t done = 0; wok && done < tail.size;) {
      ssize_t w = pwrite(fw, tail.data + done, tail.size - done, (off_t)(base_size - 16 + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) wok = 0;
      else done += (size_t)w;
    }
    if (wok && ftruncate(fw, (off_t)(base_size - 16 + tail.size)) != 0) wok = 0;
    if (fw >= 0 && close(fw) != 0) wok = 0;
    if (!wok) errmsg("cannot write '%s'", o->cmp);
  }
  ok = all_ok(ok && wok);
  res->tail_bytes = tail.size;
  res->psnr = st.enhanced_psnr;
  res->base_psnr = st.base_psnr;
  res->seconds = MPI_Wtime() - t0;
  gwlz_reader_close(rd);
  if (fin >= 0) close(fin);
  if (fz >= 0) close(fz);
  gwlz_enh_run_free(&run);
  gwlz_wbuf_free(&tail);
  return ok;
}

static int compress_mpi(const options *o, gwlz_ctx *ctx) {
  double t0 = MPI_Wtime();
  gwlz_settings s;
  gwlz_ctx_settings(ctx, &s);
  gwlz_grid g;
  gwlz_part_grid(&s, &g);
  const size_t ts = gwlz_type_size(s.type), K = g.count;
  size_t k0, k1;
  my_chunks(K, &k0, &k1);
  int ok = 1;
  if (K == 1 || (s.enhance && !s.psnr && !gwlz_chunked_windows_apply(&s)))
    return compress_whole(o, ctx, s.n * ts);
  if (s.psnr) {
    /* the PSNR search runs the whole pipeline at trial bounds (api.c) */
    if (rank == 0)
      errmsg("-M PSNR is not distributed yet: use ABS, REL, ABS_AND_REL or ABS_OR_REL");
    return 0;
  }

  /* read my boxes */
  MPI_File fin;
  if (MPI_File_open(MPI_COMM_WORLD, o->in, MPI_MODE_RDONLY, MPI_INFO_NULL, &fin) != MPI_SUCCESS) {
    if (rank == 0) errmsg("cannot open '%s'", o->in);
    return 0;
  }
  MPI_Offset fsize = 0;
  MPI_File_get_size(fin, &fsize);
  if ((uint64_t)fsize != (uint64_t)s.n * ts) {
    if (rank == 0)
      errmsg("'%s' has %lld bytes, expected %zu", o->in, (long long)fsize, s.n * ts);
    MPI_File_close(&fin);
    return 0;
  }
  box_io io;
  ok = box_io_make(&g, k0, k1, ts, &io);
  unsigned char *boxes = ok ? malloc(io.bytes ? io.bytes : 1) : NULL;
  if (!boxes) ok = 0;
  if (!all_ok(ok)) {
    errmsg("out of memory");
    MPI_File_close(&fin);
    return 0;
  }
  ok = box_io_run(fin, &io, boxes, 0);
  MPI_File_close(&fin);
  box_io_free(&io);
  if (!all_ok(ok)) {
    if (rank == 0) errmsg("cannot read '%s'", o->in);
    free(boxes);
    return 0;
  }
  double t_read = MPI_Wtime() - t0;

  /* offsets of my boxes in the buffer */
  size_t mine = k1 - k0;
  size_t *boff = malloc((mine + 1) * sizeof *boff);
  boff[0] = 0;
  for (size_t k = k0; k < k1; k++) {
    size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS];
    boff[k - k0 + 1] = boff[k - k0] + gwlz_grid_box(&g, k, lo, hi) * ts;
  }

  /* the value range of the whole array */
  double eb = 0, gmin = 0, gmax = 0;
  uint64_t gfin = 0;
  {
    double lmin = INFINITY, lmax = -INFINITY;
    uint64_t lfin = 0;
    if (s.range_needed || s.enhance) {
      for (size_t k = k0; k < k1; k++) {
        gwlz_special_scan sc;
        gwlz_part_scan(&s, boxes + boff[k - k0], (boff[k - k0 + 1] - boff[k - k0]) / ts, &sc);
        if (sc.finite) {
          if (sc.min < lmin) lmin = sc.min;
          if (sc.max > lmax) lmax = sc.max;
        }
        lfin += sc.finite;
      }
    }
    MPI_Allreduce(&lmin, &gmin, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&lmax, &gmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&lfin, &gfin, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    gwlz_error e = gwlz_ctx_bound(ctx, (size_t)gfin, gmin, gmax, &eb);
    if (e) {
      if (rank == 0) errmsg("error bound: %s", gwlz_error_string(e));
      free(boxes);
      free(boff);
      return 0;
    }
  }

  /* my records */
  gwlz_wbuf *rec = malloc((mine ? mine : 1) * sizeof *rec);
  gwlz_chunk_entry *ent = calloc(mine ? mine : 1, sizeof *ent);
  gwlz_error first = GWLZ_OK;
  for (size_t j = 0; j < mine; j++) gwlz_wbuf_init(&rec[j]);
  double t1 = MPI_Wtime();
#pragma omp parallel for schedule(dynamic, 1) num_threads(o->threads > 0 ? o->threads : 1)
  for (size_t j = 0; j < mine; j++) {
    gwlz_error e = gwlz_part_record(&s, &g, k0 + j, boxes + boff[j], eb, &rec[j], &ent[j]);
    if (e != GWLZ_OK) {
#pragma omp critical
      if (first == GWLZ_OK) first = e;
    }
  }
  double t_comp = MPI_Wtime() - t1;
  free(boxes);
  free(boff);
  ok = first == GWLZ_OK;
  if (!all_ok(ok)) {
    if (!ok) errmsg("compression failed: %s", gwlz_error_string(first));
    for (size_t j = 0; j < mine; j++) gwlz_wbuf_free(&rec[j]);
    free(rec);
    free(ent);
    return 0;
  }

  /* where my records go: an exclusive prefix sum of the sizes */
  uint64_t local = 0, before = 0, total = 0;
  for (size_t j = 0; j < mine; j++) local += ent[j].size;
  MPI_Exscan(&local, &before, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) before = 0;
  MPI_Allreduce(&local, &total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);

  /* the index, on process 0 */
  int *counts = NULL, *displs = NULL;
  gwlz_chunk_entry *all = NULL;
  if (rank == 0) {
    counts = malloc((size_t)nprocs * sizeof *counts);
    displs = malloc((size_t)nprocs * sizeof *displs);
    all = malloc(K * sizeof *all);
    for (int r = 0; r < nprocs; r++) {
      size_t a = first_chunk(K, r), b = first_chunk(K, r + 1);
      counts[r] = (int)((b - a) * sizeof(gwlz_chunk_entry));
      displs[r] = (int)(a * sizeof(gwlz_chunk_entry));
    }
  }
  MPI_Gatherv(ent, (int)(mine * sizeof *ent), MPI_BYTE, all, counts, displs, MPI_BYTE, 0,
              MPI_COMM_WORLD);
  gwlz_wbuf head, tail;
  gwlz_wbuf_init(&head);
  gwlz_wbuf_init(&tail);
  uint64_t hsize = 0;
  ok = 1;
  if (rank == 0) {
    gwlz_error e = gwlz_part_head(ctx, &g, eb, all, &head);
    if (e == GWLZ_OK) {
      gwlz_part_tail(gwlz_crc32c(0, head.data, head.size), &g, all, &tail);
      e = tail.err;
    }
    if (e != GWLZ_OK) {
      errmsg("stream head: %s", gwlz_error_string(e));
      ok = 0;
    }
    hsize = head.size;
  }
  MPI_Bcast(&hsize, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);

  /* write */
  MPI_File fout;
  if (all_ok(ok) && rank == 0) MPI_File_delete(o->cmp, MPI_INFO_NULL);
  MPI_Barrier(MPI_COMM_WORLD);
  if (!ok || MPI_File_open(MPI_COMM_WORLD, o->cmp, MPI_MODE_CREATE | MPI_MODE_WRONLY,
                           MPI_INFO_NULL, &fout) != MPI_SUCCESS) {
    if (rank == 0) errmsg("cannot create '%s'", o->cmp);
    ok = 0;
  }
  enh_result enh;
  memset(&enh, 0, sizeof enh);
  if (ok) {
    uint64_t stream = hsize + total + 16;
    MPI_File_set_size(fout, (MPI_Offset)stream);
    unsigned char *mybytes = malloc(local ? local : 1);
    uint64_t at = 0;
    for (size_t j = 0; j < mine; j++) {
      memcpy(mybytes + at, rec[j].data, rec[j].size);
      at += rec[j].size;
      gwlz_wbuf_free(&rec[j]);
    }
    int wok = io_at(fout, hsize + before, mybytes, local, 1);
    free(mybytes);
    if (rank == 0) {
      wok = wok && io_at(fout, 0, head.data, head.size, 1);
      wok = wok && io_at(fout, hsize + total, tail.data, tail.size, 1);
    }
    MPI_File_close(&fout);
    ok = all_ok(wok);
    if (!ok && rank == 0) errmsg("cannot write '%s'", o->cmp);
    if (ok && s.enhance) {
      uint32_t end_crc = rank == 0 ? gwlz_load_u32(tail.data + 12) : 0;
      ok = enhance_mpi(o, ctx, &s, eb, gmin, gmax, gfin, stream, end_crc, &enh);
      if (enh.enhanced) stream = stream - 16 + enh.tail_bytes;
    }
    if (ok && rank == 0 && o->report) {
      double t = MPI_Wtime() - t0;
      printf("processes = %d\nchunks = %zu\nstream bytes = %llu\ncompression ratio = %.4f\n"
             "error bound = %.6g\nread seconds = %.3f\ncompress seconds (rank 0) = %.3f\n"
             "total seconds = %.3f\nthroughput = %.2f MB/s\n",
             nprocs, K, (unsigned long long)stream, (double)(s.n * ts) / (double)stream, eb,
             t_read, t_comp, t, (double)(s.n * ts) / 1e6 / t);
      if (s.enhance)
        printf("enhancer = %s\nPSNR = %.3f dB (base %.3f dB)\nenhance seconds = %.3f\n",
               enh.enhanced ? "linear" : "none kept", enh.psnr, enh.base_psnr, enh.seconds);
    }
  }
  for (size_t j = 0; j < mine; j++) gwlz_wbuf_free(&rec[j]);
  free(rec);
  free(ent);
  free(all);
  free(counts);
  free(displs);
  gwlz_wbuf_free(&head);
  gwlz_wbuf_free(&tail);
  return ok;
}

/* ---- decompression ---------------------------------------------------------------- */

/* Reads for the reader: the broadcast head and tail bytes, and the
 * process's own records (read in one piece); nothing else is asked for. */
typedef struct {
  const unsigned char *head, *tail, *recs;
  uint64_t head_end, tail_start, recs_start, recs_end;
} part_src;

static int part_read(void *user, uint64_t off, void *buf, size_t size) {
  part_src *p = user;
  if (off + size <= p->head_end) memcpy(buf, p->head + off, size);
  else if (off >= p->tail_start) memcpy(buf, p->tail + (off - p->tail_start), size);
  else if (off >= p->recs_start && off + size <= p->recs_end)
    memcpy(buf, p->recs + (off - p->recs_start), size);
  else
    return -1;
  return 0;
}

static int file_read(void *user, uint64_t off, void *buf, size_t size) {
  return io_at(*(MPI_File *)user, off, buf, size, 0) ? 0 : -1;
}

typedef struct {
  MPI_File f;
  uint64_t off, at;
} plane_out;

static int plane_write(void *user, const void *buf, size_t size) {
  plane_out *w = (plane_out *)user;
  for (size_t done = 0; done < size;) {
    const size_t n = size - done < (1u << 30) ? size - done : (1u << 30);
    MPI_Status st;
    if (MPI_File_write_at(w->f, (MPI_Offset)(w->off + w->at), (const char *)buf + done, (int)n,
                          MPI_BYTE, &st) != MPI_SUCCESS)
      return -1;
    done += n;
    w->at += n;
  }
  return 0;
}

/* Decode an enhanced chunked stream by planes, one range per process;
 * *took = 0 (on every process) when it is not such a stream. */
static int planes_mpi(const options *o, gwlz_ctx *ctx, uint64_t fsize, int *took) {
  *took = 0;
  int fz = open(o->cmp, O_RDONLY);
  if (rank == 0) MPI_File_delete(o->out, MPI_INFO_NULL);
  MPI_Barrier(MPI_COMM_WORLD);
  plane_out w;
  memset(&w, 0, sizeof w);
  int opened = MPI_File_open(MPI_COMM_WORLD, o->out, MPI_MODE_CREATE | MPI_MODE_WRONLY,
                             MPI_INFO_NULL, &w.f) == MPI_SUCCESS;
  gwlz_error e = fz >= 0 && opened ? GWLZ_OK : GWLZ_ERR_IO;
  if (e == GWLZ_OK) e = gwlz_part_decode(ctx, fd_read, &fz, fsize, rank, nprocs, &w.off, plane_write, &w);
  if (fz >= 0) close(fz);
  /* the same answer everywhere: a stream the plane decoder does not take */
  int param = e == GWLZ_ERR_PARAM, any_param = 0;
  MPI_Allreduce(&param, &any_param, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (opened) MPI_File_close(&w.f);
  if (any_param) return 0;
  *took = 1;
  int ok = all_ok(e == GWLZ_OK);
  if (!ok && e != GWLZ_OK) errmsg("cannot decompress '%s' to '%s': %s", o->cmp, o->out, gwlz_error_string(e));
  return ok;
}

static int decompress_mpi(const options *o, gwlz_ctx *ctx) {
  double t0 = MPI_Wtime();
  MPI_File fin;
  if (MPI_File_open(MPI_COMM_WORLD, o->cmp, MPI_MODE_RDONLY, MPI_INFO_NULL, &fin) != MPI_SUCCESS) {
    if (rank == 0) errmsg("cannot open '%s'", o->cmp);
    return 0;
  }
  MPI_Offset fsize = 0;
  MPI_File_get_size(fin, &fsize);
  /* process 0 checks the stream's head and tail and shares those bytes */
  uint64_t span[3] = {0, 0, 0}; /* rec0, rend, chunked-and-plain */
  gwlz_reader *rd = NULL;
  int ok = 1;
  if (rank == 0) {
    gwlz_error e = gwlz_reader_open(file_read, &fin, NULL, (uint64_t)fsize, &rd);
    if (e) {
      errmsg("'%s': %s", o->cmp, gwlz_error_string(e));
      ok = 0;
    } else {
      gwlz_reader_span(rd, &span[0], &span[1]);
      span[2] = gwlz_reader_grid(rd) != NULL;
    }
  }
  if (!all_ok(ok)) {
    MPI_File_close(&fin);
    return 0;
  }
  MPI_Bcast(span, 3, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (!span[2]) {
    /* a chunked stream with the (version 2) enhancer: every process decodes
     * its planes through the streaming decoder's window */
    int took = 0, pok = planes_mpi(o, ctx, (uint64_t)fsize, &took);
    if (took) {
      ok = pok;
      gwlz_reader_close(rd);
      MPI_File_close(&fin);
      if (ok && rank == 0 && o->report)
        printf("processes = %d\ntotal seconds = %.3f\n", nprocs, MPI_Wtime() - t0);
      return ok;
    }
    /* one piece, or another enhancer: process 0 decodes it all */
    if (rank == 0) {
      unsigned char *all = malloc((size_t)fsize), *vals = NULL;
      gwlz_info info;
      ok = all && io_at(fin, 0, all, (uint64_t)fsize, 0) &&
           gwlz_get_info(all, (size_t)fsize, &info) == GWLZ_OK &&
           (vals = malloc(info.decompressed_bytes ? info.decompressed_bytes : 1)) &&
           gwlz_decompress(ctx, all, (size_t)fsize, vals, info.decompressed_bytes) == GWLZ_OK;
      if (ok) {
        FILE *f = fopen(o->out, "wb");
        ok = f && fwrite(vals, 1, info.decompressed_bytes, f) == info.decompressed_bytes;
        if (f && fclose(f) != 0) ok = 0;
      }
      if (!ok) errmsg("cannot decompress '%s' to '%s'", o->cmp, o->out);
      free(all);
      free(vals);
      gwlz_reader_close(rd);
    }
    MPI_File_close(&fin);
    return all_ok(ok);
  }
  gwlz_reader_close(rd);
  rd = NULL;
  uint64_t hlen = span[0], tstart = span[1], tlen = (uint64_t)fsize - span[1];
  unsigned char *head = malloc(hlen ? hlen : 1), *tail = malloc(tlen ? tlen : 1);
  if (rank == 0) {
    ok = io_at(fin, 0, head, hlen, 0) && io_at(fin, tstart, tail, tlen, 0);
  }
  if (!all_ok(ok)) {
    free(head);
    free(tail);
    MPI_File_close(&fin);
    return 0;
  }
  for (uint64_t at = 0; at < hlen; at += 1u << 30)
    MPI_Bcast(head + at, (int)(hlen - at < (1u << 30) ? hlen - at : (1u << 30)), MPI_BYTE, 0,
              MPI_COMM_WORLD);
  for (uint64_t at = 0; at < tlen; at += 1u << 30)
    MPI_Bcast(tail + at, (int)(tlen - at < (1u << 30) ? tlen - at : (1u << 30)), MPI_BYTE, 0,
              MPI_COMM_WORLD);

  /* open over the shared bytes: header, index and stream CRC are checked
   * here by every process (no record is read) */
  part_src ps = {head, tail, NULL, hlen, tstart, 0, 0};
  gwlz_error e = gwlz_reader_open(part_read, &ps, NULL, (uint64_t)fsize, &rd);
  if (e) errmsg("'%s': %s", o->cmp, gwlz_error_string(e));
  if (!all_ok(e == GWLZ_OK)) {
    gwlz_reader_close(rd);
    free(head);
    free(tail);
    MPI_File_close(&fin);
    return 0;
  }
  const gwlz_grid *g = gwlz_reader_grid(rd);
  const gwlz_header *h = gwlz_reader_header(rd);
  const size_t ts = gwlz_type_size(h->type), K = g->count;
  size_t k0, k1;
  my_chunks(K, &k0, &k1);
  size_t mine = k1 - k0;
  /* my records, in one read */
  unsigned char *recs = NULL;
  ok = 1;
  if (mine) {
    uint64_t a, sa, b, sb;
    gwlz_reader_record(rd, k0, &a, &sa);
    gwlz_reader_record(rd, k1 - 1, &b, &sb);
    ps.recs_start = a;
    ps.recs_end = b + sb;
    recs = malloc(ps.recs_end - ps.recs_start);
    ok = recs && io_at(fin, a, recs, ps.recs_end - a, 0);
    ps.recs = recs;
  }
  MPI_File_close(&fin);
  box_io io;
  unsigned char *boxes = NULL;
  if (ok) ok = box_io_make(g, k0, k1, ts, &io);
  if (ok) ok = (boxes = malloc(io.bytes ? io.bytes : 1)) != NULL;
  if (!all_ok(ok)) {
    errmsg("cannot read my records of '%s'", o->cmp);
    free(recs);
    free(boxes);
    gwlz_reader_close(rd);
    free(head);
    free(tail);
    return 0;
  }
  double t1 = MPI_Wtime();
  size_t *boff = malloc((mine + 1) * sizeof *boff);
  boff[0] = 0;
  for (size_t k = k0; k < k1; k++) {
    size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS];
    boff[k - k0 + 1] = boff[k - k0] + gwlz_grid_box(g, k, lo, hi) * ts;
  }
  gwlz_error first = GWLZ_OK;
#pragma omp parallel for schedule(dynamic, 1) num_threads(o->threads > 0 ? o->threads : 1)
  for (size_t j = 0; j < mine; j++) {
    size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS];
    gwlz_grid_box(g, k0 + j, lo, hi);
    gwlz_error de = gwlz_reader_decode(rd, lo, hi, boxes + boff[j], 1);
    if (de != GWLZ_OK) {
#pragma omp critical
      if (first == GWLZ_OK) first = de;
    }
  }
  double t_dec = MPI_Wtime() - t1;
  free(boff);
  free(recs);
  ok = first == GWLZ_OK;
  if (!ok) errmsg("decompression failed: %s", gwlz_error_string(first));
  MPI_File fout;
  if (all_ok(ok) && rank == 0) MPI_File_delete(o->out, MPI_INFO_NULL);
  MPI_Barrier(MPI_COMM_WORLD);
  if (ok && MPI_File_open(MPI_COMM_WORLD, o->out, MPI_MODE_CREATE | MPI_MODE_WRONLY,
                          MPI_INFO_NULL, &fout) != MPI_SUCCESS)
    ok = 0;
  if (all_ok(ok)) {
    MPI_File_set_size(fout, (MPI_Offset)(h->n * ts));
    ok = box_io_run(fout, &io, boxes, 1);
    MPI_File_close(&fout);
    ok = all_ok(ok);
    if (!ok && rank == 0) errmsg("cannot write '%s'", o->out);
  } else {
    ok = 0;
    if (rank == 0) errmsg("cannot create '%s'", o->out);
  }
  if (ok && rank == 0 && o->report) {
    double t = MPI_Wtime() - t0;
    printf("processes = %d\nchunks = %zu\ndecompress seconds (rank 0) = %.3f\n"
           "total seconds = %.3f\nthroughput = %.2f MB/s\n",
           nprocs, K, t_dec, t, (double)(h->n * ts) / 1e6 / t);
  }
  box_io_free(&io);
  free(boxes);
  gwlz_reader_close(rd);
  free(head);
  free(tail);
  return ok;
}

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
  options o;
  int rc = parse_args(argc, argv, &o);
  int status = 2;
  if (rc <= 0) {
    if (rank == 0) usage();
    status = rc < 0 ? 0 : 2;
    goto out;
  }
  int compress = o.in && o.cmp;
  int decompress = !o.in && o.cmp && o.out;
  if (!compress && !decompress) {
    if (rank == 0) usage();
    goto out;
  }
  gwlz_ctx *ctx = gwlz_create();
  gwlz_set_threads(ctx, o.threads);
  if (compress) {
    size_t dims_c[GWLZ_MAX_DIMS];
    if (!o.ndims || !o.mode_given) {
      if (rank == 0) errmsg("compression needs dims (-1..-4) and a bound (-M)");
      gwlz_free(ctx);
      goto out;
    }
    for (int k = 0; k < o.ndims; k++) dims_c[k] = o.dims_f[o.ndims - 1 - k];
    gwlz_error e = gwlz_set_type(ctx, o.type);
    if (!e) e = gwlz_set_dims(ctx, o.ndims, dims_c);
    if (!e) e = gwlz_set_error_bound(ctx, o.mode, o.abs_eb, o.rel_eb, o.psnr);
    if (!e && o.fill_given) e = gwlz_set_fill_value(ctx, o.fill);
    if (!e) e = gwlz_set_base(ctx, o.base);
    if (!e && o.fast) e = gwlz_set_speed(ctx, GWLZ_SPEED_FAST);
    if (!e) e = gwlz_set_chunk_size(ctx, o.chunk);
    if (!e) e = gwlz_set_groups(ctx, o.groups);
    if (e) {
      if (rank == 0) errmsg("invalid settings: %s", gwlz_error_string(e));
      gwlz_free(ctx);
      goto out;
    }
    status = compress_mpi(&o, ctx) ? 0 : 1;
  } else {
    status = decompress_mpi(&o, ctx) ? 0 : 1;
  }
  gwlz_free(ctx);
out:
  MPI_Finalize();
  return status;
}
