/*
 * bench_scale - how gwlz scales: wall time and peak memory of the command-line
 * tool (and of gwlz-mpi) against the array's size, the thread count and the
 * process count, plus region decoding against a full decode.
 *
 *   bench_scale --cli build/gwlz [--mpi build/gwlz-mpi] --field FILE SIDE
 *               [--sizes 64,128,256,512] [--threads 1,2,4] [--ranks 1,2,4]
 *               [--thread-size 256] [--reps 3] [--work DIR] [--bound "REL 1e-3"]
 *               [--flags "-G 0"]
 *
 * FILE is a float32 cube of SIDE^3 values (C order); the smaller cubes are
 * its corners (read row by row, written to DIR). Every run is a separate
 * process, timed from the outside, with its peak resident set size from
 * wait4(); the best of --reps runs is reported (the machine may be shared).
 * Output: tab-separated tables on stdout.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LIST 16
#define MAX_ARGS 64

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
  double seconds;
  double rss_mb; /* peak resident set size of the process (and its children) */
  int status;
} run_result;

/* Runs argv (NULL-terminated) with stdout/stderr to /dev/null. */
static run_result run(char *const argv[]) {
  run_result r = {0, 0, -1};
  double t0 = now();
  pid_t pid = fork();
  if (pid < 0) return r;
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  int st = 0;
  struct rusage ru;
  if (wait4(pid, &st, 0, &ru) < 0) return r;
  r.seconds = now() - t0;
  r.rss_mb = (double)ru.ru_maxrss / 1024.0;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

/* Best (shortest) of reps runs; the peak memory of that run. */
static run_result best_of(char *const argv[], int reps) {
  run_result best = {0, 0, -1};
  for (int i = 0; i < reps; i++) {
    run_result r = run(argv);
    if (r.status != 0) return r;
    if (best.status != 0 || r.seconds < best.seconds) best = r;
  }
  return best;
}

static int parse_list(const char *s, int *out) {
  int n = 0;
  while (*s && n < MAX_LIST) {
    out[n++] = atoi(s);
    const char *c = strchr(s, ',');
    if (!c) break;
    s = c + 1;
  }
  return n;
}

static long long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int same_file(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  while (same) {
    int ca = fgetc(fa), cb = fgetc(fb);
    if (ca != cb) same = 0;
    if (ca == EOF || cb == EOF) break;
  }
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  return same;
}

/* The corner cube of side n of a cube of side big: n^2 rows of n floats. */
static int make_cube(const char *src, long big, long n, const char *dst) {
  if (file_size(dst) == (long long)n * n * n * 4) return 1;
  int in = open(src, O_RDONLY);
  FILE *out = fopen(dst, "wb");
  float *row = malloc((size_t)n * 4);
  int ok = in >= 0 && out && row;
  for (long z = 0; ok && z < n; z++)
    for (long y = 0; ok && y < n; y++) {
      off_t off = (off_t)(((long long)z * big + y) * big) * 4;
      ok = pread(in, row, (size_t)n * 4, off) == (ssize_t)(n * 4) &&
           fwrite(row, 4, (size_t)n, out) == (size_t)n;
    }
  if (in >= 0) close(in);
  if (out && fclose(out) != 0) ok = 0;
  free(row);
  return ok;
}

/* argv builder */
typedef struct {
  char *v[MAX_ARGS];
  int n;
  char store[MAX_ARGS][1100];
} args;

static void add(args *a, const char *s) {
  if (a->n >= MAX_ARGS - 1) return;
  snprintf(a->store[a->n], sizeof a->store[a->n], "%s", s);
  a->v[a->n] = a->store[a->n];
  a->n++;
  a->v[a->n] = NULL;
}

static void add_words(args *a, const char *s) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *w = strtok(buf, " "); w; w = strtok(NULL, " ")) add(a, w);
}

static void add_fmt(args *a, const char *fmt, long v) {
  char b[64];
  snprintf(b, sizeof b, fmt, v);
  add(a, b);
}

typedef struct {
  const char *cli, *mpi, *field, *work, *bound, *flags, *mpirun;
  long side;
  int sizes[MAX_LIST], nsizes, threads[MAX_LIST], nthreads, ranks[MAX_LIST], nranks;
  int thread_size, reps;
} config;

static void compress_args(const config *c, args *a, const char *in, long n, const char *out,
                          int threads) {
  a->n = 0;
  add(a, c->cli);
  add(a, "-f");
  add(a, "-i");
  add(a, in);
  add(a, "-z");
  add(a, out);
  add(a, "-3");
  add_fmt(a, "%ld", n);
  add_fmt(a, "%ld", n);
  add_fmt(a, "%ld", n);
  add(a, "-M");
  add_words(a, c->bound);
  add_words(a, c->flags);
  add(a, "-T");
  add_fmt(a, "%ld", threads);
  add(a, "-q");
}

static void decompress_args(const config *c, args *a, const char *in, const char *out,
                            int threads, const char *region) {
  a->n = 0;
  add(a, c->cli);
  add(a, "-z");
  add(a, in);
  add(a, "-o");
  add(a, out);
  add(a, "-T");
  add_fmt(a, "%ld", threads);
  if (region) {
    add(a, "--region");
    add(a, region);
  }
  add(a, "-q");
}

static void size_table(const config *c) {
  printf("# time and peak RSS against the array's size (threads = %d, best of %d)\n",
         c->threads[0], c->reps);
  printf("side\tvalues\tinput_MB\tratio\tcomp_s\tcomp_MBps\tcomp_rss_MB\tcomp_rss_x\t"
         "decomp_s\tdecomp_MBps\tdecomp_rss_MB\tdecomp_rss_x\n");
  for (int i = 0; i < c->nsizes; i++) {
    long n = c->sizes[i];
    if (n > c->side) continue;
    char in[1024], z[1024], o[1024];
    snprintf(in, sizeof in, "%s/cube%ld.f32", c->work, n);
    snprintf(z, sizeof z, "%s/cube%ld.gwlz", c->work, n);
    snprintf(o, sizeof o, "%s/cube%ld.out", c->work, n);
    if (!make_cube(c->field, c->side, n, in)) {
      fprintf(stderr, "cannot make %s\n", in);
      continue;
    }
    double mb = (double)n * n * n * 4 / 1e6;
    args a;
    compress_args(c, &a, in, n, z, c->threads[0]);
    run_result rc = best_of(a.v, c->reps);
    decompress_args(c, &a, z, o, c->threads[0], NULL);
    run_result rd = best_of(a.v, c->reps);
    long long zs = file_size(z);
    printf("%ld\t%ld\t%.1f\t%.2f\t%.3f\t%.1f\t%.1f\t%.2f\t%.3f\t%.1f\t%.1f\t%.2f\n", n, n * n * n,
           mb, zs > 0 ? mb * 1e6 / (double)zs : 0.0, rc.seconds, mb / rc.seconds, rc.rss_mb,
           rc.rss_mb / mb, rd.seconds, mb / rd.seconds, rd.rss_mb, rd.rss_mb / mb);
    if (rc.status || rd.status)
      printf("# side %ld: a run failed (%d, %d)\n", n, rc.status, rd.status);
    fflush(stdout);
    unlink(o);
  }
}

static void thread_table(const config *c) {
  long n = c->thread_size;
  char in[1024];
  snprintf(in, sizeof in, "%s/cube%ld.f32", c->work, n);
  if (n > c->side || !make_cube(c->field, c->side, n, in)) return;
  printf("\n# threads at side %ld (best of %d); speedup against the first row\n", n, c->reps);
  printf("threads\tcomp_s\tcomp_speedup\tcomp_rss_MB\tdecomp_s\tdecomp_speedup\tdecomp_rss_MB\t"
         "same_stream\tsame_output\n");
  double c1 = 0, d1 = 0;
  char z0[1024], o0[1024];
  for (int i = 0; i < c->nthreads; i++) {
    int t = c->threads[i];
    char z[1024], o[1024];
    snprintf(z, sizeof z, "%s/thr%d.gwlz", c->work, t);
    snprintf(o, sizeof o, "%s/thr%d.out", c->work, t);
    args a;
    compress_args(c, &a, in, n, z, t);
    run_result rc = best_of(a.v, c->reps);
    decompress_args(c, &a, z, o, t, NULL);
    run_result rd = best_of(a.v, c->reps);
    if (i == 0) {
      c1 = rc.seconds;
      d1 = rd.seconds;
      snprintf(z0, sizeof z0, "%s", z);
      snprintf(o0, sizeof o0, "%s", o);
    }
    printf("%d\t%.3f\t%.2f\t%.1f\t%.3f\t%.2f\t%.1f\t%s\t%s\n", t, rc.seconds, c1 / rc.seconds,
           rc.rss_mb, rd.seconds, d1 / rd.seconds, rd.rss_mb, same_file(z0, z) ? "yes" : "NO",
           same_file(o0, o) ? "yes" : "NO");
    fflush(stdout);
  }
  /* region: one octant against the full decode, one thread */
  char z[1024], o[1024], region[128];
  snprintf(z, sizeof z, "%s/thr%d.gwlz", c->work, c->threads[0]);
  snprintf(o, sizeof o, "%s/region.out", c->work);
  snprintf(region, sizeof region, "0:%ld,0:%ld,0:%ld", n / 2, n / 2, n / 2);
  args a;
  decompress_args(c, &a, z, o, 1, region);
  run_result rr = best_of(a.v, c->reps);
  decompress_args(c, &a, z, o, 1, NULL);
  run_result rf = best_of(a.v, c->reps);
  printf("\n# region: one octant (%s) against the whole array, 1 thread (best of %d)\n", region,
         c->reps);
  printf("full_s\tregion_s\tregion/full\tfull_rss_MB\tregion_rss_MB\n");
  printf("%.3f\t%.3f\t%.3f\t%.1f\t%.1f\n", rf.seconds, rr.seconds, rr.seconds / rf.seconds,
         rf.rss_mb, rr.rss_mb);
  fflush(stdout);
  for (int i = 0; i < c->nthreads; i++) {
    snprintf(o, sizeof o, "%s/thr%d.out", c->work, c->threads[i]);
    unlink(o);
  }
  snprintf(o, sizeof o, "%s/region.out", c->work);
  unlink(o);
}

static void rank_table(const config *c) {
  if (!c->mpi) return;
  if (geteuid() == 0) {
    /* OpenMPI refuses to run as root unless told (containers, CI) */
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  }
  long n = c->thread_size;
  char in[1024], ref[1024];
  snprintf(in, sizeof in, "%s/cube%ld.f32", c->work, n);
  snprintf(ref, sizeof ref, "%s/thr%d.gwlz", c->work, c->threads[0]);
  printf("\n# MPI processes at side %ld, 1 thread each (best of %d); speedup against the "
         "first row\n", n, c->reps);
  printf("ranks\tcomp_s\tcomp_speedup\tcomp_rss_MB\tdecomp_s\tdecomp_speedup\tdecomp_rss_MB\t"
         "same_as_serial\n");
  double c1 = 0, d1 = 0;
  for (int i = 0; i < c->nranks; i++) {
    int p = c->ranks[i];
    char z[1024], o[1024];
    snprintf(z, sizeof z, "%s/mpi%d.gwlz", c->work, p);
    snprintf(o, sizeof o, "%s/mpi%d.out", c->work, p);
    args a;
    a.n = 0;
    add(&a, c->mpirun);
    add(&a, "--oversubscribe");
    add(&a, "-n");
    add_fmt(&a, "%ld", p);
    add(&a, c->mpi);
    add(&a, "-f");
    add(&a, "-i");
    add(&a, in);
    add(&a, "-z");
    add(&a, z);
    add(&a, "-3");
    add_fmt(&a, "%ld", n);
    add_fmt(&a, "%ld", n);
    add_fmt(&a, "%ld", n);
    add(&a, "-M");
    add_words(&a, c->bound);
    add(&a, "-q");
    run_result rc = best_of(a.v, c->reps);
    a.n = 0;
    add(&a, c->mpirun);
    add(&a, "--oversubscribe");
    add(&a, "-n");
    add_fmt(&a, "%ld", p);
    add(&a, c->mpi);
    add(&a, "-z");
    add(&a, z);
    add(&a, "-o");
    add(&a, o);
    add(&a, "-q");
    run_result rd = best_of(a.v, c->reps);
    if (i == 0) {
      c1 = rc.seconds;
      d1 = rd.seconds;
    }
    printf("%d\t%.3f\t%.2f\t%.1f\t%.3f\t%.2f\t%.1f\t%s\n", p, rc.seconds, c1 / rc.seconds,
           rc.rss_mb, rd.seconds, d1 / rd.seconds, rd.rss_mb, same_file(ref, z) ? "yes" : "NO");
    if (rc.status || rd.status)
      printf("# %d ranks: a run failed (%d, %d)\n", p, rc.status, rd.status);
    fflush(stdout);
    unlink(o);
  }
}

int main(int argc, char **argv) {
  config c;
  memset(&c, 0, sizeof c);
  c.work = "/tmp";
  c.bound = "REL 1e-3";
  c.flags = "-G 0";
  c.mpirun = "/usr/bin/mpirun";
  c.reps = 3;
  c.thread_size = 256;
  c.nsizes = parse_list("64,128,256,512", c.sizes);
  c.nthreads = parse_list("1,2,4", c.threads);
  c.nranks = parse_list("1,2,4", c.ranks);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) break;
    if (!strcmp(a, "--cli")) c.cli = v;
    else if (!strcmp(a, "--mpi")) c.mpi = v;
    else if (!strcmp(a, "--mpirun")) c.mpirun = v;
    else if (!strcmp(a, "--work")) c.work = v;
    else if (!strcmp(a, "--bound")) c.bound = v;
    else if (!strcmp(a, "--flags")) c.flags = v;
    else if (!strcmp(a, "--reps")) c.reps = atoi(v);
    else if (!strcmp(a, "--thread-size")) c.thread_size = atoi(v);
    else if (!strcmp(a, "--sizes")) c.nsizes = parse_list(v, c.sizes);
    else if (!strcmp(a, "--threads")) c.nthreads = parse_list(v, c.threads);
    else if (!strcmp(a, "--ranks")) c.nranks = parse_list(v, c.ranks);
    else if (!strcmp(a, "--field") && i + 2 < argc) {
      c.field = v;
      c.side = atol(argv[i + 2]);
      i++;
    } else {
      fprintf(stderr, "bench_scale: unknown option %s\n", a);
      return 2;
    }
    i++;
  }
  if (!c.cli || !c.field || c.side <= 0 || c.reps < 1) {
    fprintf(stderr,
            "usage: bench_scale --cli GWLZ [--mpi GWLZ_MPI] --field FILE SIDE [--sizes ..]\n"
            "       [--threads ..] [--ranks ..] [--thread-size N] [--reps N] [--work DIR]\n"
            "       [--bound \"REL 1e-3\"] [--flags \"-G 0\"]\n");
    return 2;
  }
  if (file_size(c.field) != (long long)c.side * c.side * c.side * 4) {
    fprintf(stderr, "bench_scale: %s is not a float32 cube of side %ld\n", c.field, c.side);
    return 2;
  }
  printf("# bench_scale: %s, bound %s, flags '%s'\n", c.field, c.bound, c.flags);
  size_table(&c);
  thread_table(&c);
  rank_table(&c);
  return 0;
}
