/*
 * gwlz - command-line front end of the gwlz library.
 *
 * Takes SZ3's flags so the two binaries can be swapped in scripts:
 *   gwlz -f -i in.f32 -z out.gwlz -3 nx ny nz -M REL 1e-3      compress
 *   gwlz -z out.gwlz -o out.f32                               decompress
 *   gwlz -f -i in.f32 -o out.f32 -3 nx ny nz -M ABS 1e-2 -a     both, with metrics
 * Dimensions are given fastest first (as SZ3 does) and reversed into the
 * C order of the library. Uses only the public interface include/gwlz.h.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gwlz.h"
#include "gwlz_h5z.h"
#ifdef GWLZ_HAVE_PNG
#include "png.h"
#endif

/* Exit statuses: usage errors and runtime failures are told apart. */
enum { EXIT_USAGE = 2, EXIT_FAIL = 1, EXIT_CHECK = 3 };

static const char *prog = "gwlz";

static void errmsg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- options ------------------------------------------------------------ */

typedef struct {
  const char *in, *cmp, *out;
  gwlz_type type;
  int type_given;
  int ndims;                  /* 0 = not given                                */
  size_t dims_f[GWLZ_MAX_DIMS]; /* as given: fastest first                   */
  int mode_given;
  gwlz_eb_mode mode;
  double abs_eb, rel_eb, psnr;
  int abs_given, rel_given, psnr_given;
  int analyse, quiet;
  int groups; int groups_given;
  int base_given; gwlz_base base;
  int fast;
  int enhancer_given; gwlz_enhancer enhancer;
  int arch_given; gwlz_arch arch;
  int epochs; int epochs_given;
  double train_seconds; int train_given;
  int policy_given; gwlz_bound_policy policy;
  int fill_given; double fill;
  int threads; int threads_given;
  uint64_t seed; int seed_given;
  const char *png;            /* --png FILE                                   */
  int slice_axis;             /* --slice: C-order axis, -1 = default           */
  size_t slice_index;
  char slice_letter;
  int png_log;                /* -1 auto, 0 --png-linear, 1 --png-log         */
  int force, info;
  int mode_count;             /* -M given this many times                      */
  int abs_count, rel_count, psnr_count; /* each bound value given this often */
  const char *mode_value;     /* the value given right after -M, if any        */
  uint64_t chunk; int chunk_given;
  const char *region;         /* --region as given (fastest first)           */
} options;

/* Limits of the integer options, shared by the parser and its messages. */
#define MAX_THREADS 4096
#define MAX_EPOCHS 1000000

static void usage(FILE *f) {
  fprintf(f,
"usage: gwlz [options]\n"
"  compress:    gwlz -f -i IN -z OUT.gwlz -3 nx ny nz -M REL 1e-3\n"
"  decompress:  gwlz -z IN.gwlz -o OUT\n"
"  both:        gwlz -f -i IN -o OUT [-z OUT.gwlz] -3 nx ny nz -M ABS 1e-2 -a\n"
"\n"
"data\n"
"  -f | -d                 float32 (default) | float64\n"
"  -i FILE                 raw input (little-endian, C order); - = stdin\n"
"  -z FILE                 compressed stream (written when -i is given, else read);\n"
"                          - = stdout (or stdin when read)\n"
"  -o FILE                 decompressed output; - = stdout\n"
"  -1 nx | -2 nx ny | -3 nx ny nz | -4 nx ny nz nw\n"
"                          dimensions, fastest first (-3 nx ny nz = data[nz][ny][nx])\n"
"error bound\n"
"  -M MODE [VALUE]         ABS | REL | ABS_AND_REL | ABS_OR_REL | PSNR\n"
"  -A ABS  -R REL  -S PSNR bound values >= 0 (-M ABS 1e-3 = -M ABS -A 1e-3)\n"
"base compressor\n"
"  --base BASE             auto (default) | interp | wavelet | zfp\n"
"  --fast                  one pass, no searches: the interp base's Huffman + zstd\n"
"                          payload (auto = interp); faster, larger at equal quality\n"
"enhancer\n"
"  -G N                    enhancer groups 0..256 (0 = base compressor only; default %d)\n"
"  --enhancer KIND         none | linear | cnn | auto (default auto)\n"
"  --arch ARCH             default | paper (the paper's 2-D model: --enhancer cnn)\n"
"  --epochs N              CNN training epochs 0..%d (0 = library default)\n"
"  --train-seconds S       training time budget (output then depends on speed)\n"
"  --bound POLICY          strict (default) | relaxed (error <= 2x bound)\n"
"  --seed N                training seed\n"
"other\n"
"  --fill VALUE            cells equal to VALUE (or any NaN for nan) kept exactly\n"
"  --threads N | -T N      threads 0..%d (0 = all; output does not depend on it)\n"
"  --region x0:x1,y0:y1,.. with -z IN -o OUT: decode only this box (half-open ranges,\n"
"                          fastest first as -1..-4; 'a:' to the end, ':' all)\n"
"  --chunk N               chunk size in values (0 = default 2^21); larger arrays are\n"
"                          cut into chunks, compressed independently (random access)\n"
"  -a                      print ratio, PSNR, errors, speeds and times (with -z\n"
"                          alone: the stream's header, as --info)\n"
"  --info                  print a stream's header and sections (type, dims,\n"
"                          bound, base, enhancer, section sizes)\n"
"  --force                 replace a read-only output file\n"
"pictures\n"
"  --png FILE              PNG of one 2-D slice: original (with -i), base\n"
"                          reconstruction, enhanced output, |error|\n"
"                          (decompressing, -i FILE names the original)\n"
"  --slice AXIS=INDEX      the slice: fix AXIS (x fastest, y, z, w) at INDEX\n"
"                          (default: the middle of the slowest axes)\n"
"  --png-log | --png-linear  colour scale (default: log for positive fields\n"
"                          spanning more than 3 decades)\n"
"  -q                      quiet: no progress, no warnings\n"
"  -h, --help              this help\n"
"  -V, --version           library and stream format versions\n"
"  --h5repack-arg          print the h5repack -f argument (UD=...) of the HDF5\n"
"                          filter for the given bound and enhancer options\n",
          GWLZ_DEFAULT_GROUPS, MAX_EPOCHS, MAX_THREADS);
}

static int parse_double(const char *s, double *out) {
  if (!s || !*s) return 0;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*end != '\0' || errno == ERANGE) return 0;
  *out = v;
  return 1;
}

static int parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-' || *s == '+') return 0;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9') return 0;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end != '\0' || errno == ERANGE) return 0;
  *out = (uint64_t)v;
  return 1;
}

static int parse_int(const char *s, int lo, int hi, int *out) {
  uint64_t v;
  if (!parse_u64(s, &v) || v < (uint64_t)lo || v > (uint64_t)hi) return 0;
  *out = (int)v;
  return 1;
}

/* A number (strtod syntax, the whole string). */
static int is_number(const char *s) {
  double v;
  return parse_double(s, &v);
}

/* A bound value for opt: a finite number >= 0. Prints why not and returns 0. */
static int parse_bound(const char *opt, const char *s, double *out) {
  double v;
  if (!parse_double(s, &v) || !isfinite(v)) {
    fprintf(stderr, "%s: bad value '%s' for %s: expected a number >= 0\n", prog, s, opt);
    return 0;
  }
  if (v < 0) {
    fprintf(stderr, "%s: bad value '%s' for %s: a bound cannot be negative\n", prog, s, opt);
    return 0;
  }
  *out = v;
  return 1;
}

typedef struct {
  int argc, i;
  char **argv;
  const char *inline_val; /* value given as --opt=value                       */
} argcur;

/* Next value for option opt; prints an error and returns NULL if missing. */
static const char *take(argcur *c, const char *opt) {
  if (c->inline_val) {
    const char *v = c->inline_val;
    c->inline_val = NULL;
    return v;
  }
  if (c->i + 1 >= c->argc) {
    errmsg("option %s needs a value", opt);
    return NULL;
  }
  return c->argv[++c->i];
}

static int bad_value(const char *opt, const char *val, const char *what) {
  errmsg("bad value '%s' for %s: expected %s", val, opt, what);
  return 0;
}

static int keyword(const char *opt, const char *val, const char *const *names, int n,
                   int *out) {
  for (int k = 0; k < n; k++)
    if (strcmp(val, names[k]) == 0) {
      *out = k;
      return 1;
    }
  errmsg("bad value '%s' for %s", val, opt);
  return 0;
}

/* Parses argv into o. Returns 1 to go on, 0 on error, -1 when done (help/version). */
static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->type = GWLZ_TYPE_FLOAT;
  o->slice_axis = -1;
  o->png_log = -1;
  argcur c = {argc, 0, argv, NULL};
  for (c.i = 1; c.i < argc; c.i++) {
    char *arg = argv[c.i];
    char optbuf[64];
    const char *opt = arg;
    c.inline_val = NULL;
    if (strncmp(arg, "--", 2) == 0) {
      const char *eq = strchr(arg, '=');
      if (eq) {
        size_t n = (size_t)(eq - arg);
        if (n >= sizeof optbuf) n = sizeof optbuf - 1;
        memcpy(optbuf, arg, n);
        optbuf[n] = '\0';
        opt = optbuf;
        c.inline_val = eq + 1;
      }
    }
    const char *v;
    if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
      usage(stdout);
      return -1;
    } else if (!strcmp(opt, "-V") || !strcmp(opt, "--version")) {
      printf("gwlz %s (stream format %u)\n", gwlz_version_string(), gwlz_format_version());
      return -1;
    } else if (!strcmp(opt, "-f") || !strcmp(opt, "-d")) {
      gwlz_type t = opt[1] == 'f' ? GWLZ_TYPE_FLOAT : GWLZ_TYPE_DOUBLE;
      if (o->type_given && o->type != t) {
        errmsg("-f and -d both given");
        return 0;
      }
      o->type = t;
      o->type_given = 1;
    } else if (!strcmp(opt, "-i") || !strcmp(opt, "-z") || !strcmp(opt, "-o")) {
      if (!(v = take(&c, opt))) return 0;
      if (!*v) return bad_value(opt, v, "a file name");
      if (opt[1] == 'i') o->in = v;
      else if (opt[1] == 'z') o->cmp = v;
      else o->out = v;
    } else if (opt[0] == '-' && opt[1] >= '1' && opt[1] <= '4' && opt[2] == '\0') {
      int nd = opt[1] - '0';
      if (o->ndims) {
        errmsg("dimensions given twice (%s)", opt);
        return 0;
      }
      for (int k = 0; k < nd; k++) {
        uint64_t d;
        if (!(v = take(&c, opt))) return 0;
        if (!parse_u64(v, &d) || d == 0 || d > SIZE_MAX)
          return bad_value(opt, v, "a dimension >= 1");
        o->dims_f[k] = (size_t)d;
      }
      o->ndims = nd;
    } else if (!strcmp(opt, "-M")) {
      static const char *const modes[] = {"ABS", "REL", "ABS_AND_REL", "ABS_OR_REL", "PSNR"};
      int m;
      if (!(v = take(&c, opt))) return 0;
      if (!keyword(opt, v, modes, 5, &m)) return 0;
      o->mode = (gwlz_eb_mode)m;
      o->mode_given = 1;
      o->mode_count++;
      o->mode_value = NULL;
      /* Optional value right after the mode, as SZ3 accepts it: the next
       * argument when it is a number (negative ones included, to reject them
       * clearly), except -1..-4 while the dimensions are still to come. */
      double val;
      const char *nx = c.i + 1 < argc ? argv[c.i + 1] : NULL;
      int dims_flag = nx && nx[0] == '-' && nx[1] >= '1' && nx[1] <= '4' && nx[2] == '\0';
      if (nx && is_number(nx) && !(dims_flag && !o->ndims)) {
        const char *s = argv[++c.i];
        if (!parse_bound("-M", s, &val)) return 0;
        o->mode_value = s;
        if (o->mode == GWLZ_EB_PSNR && val <= 0) return bad_value("-M PSNR", s, "a PSNR > 0");
        if (o->mode == GWLZ_EB_ABS) { o->abs_eb = val; o->abs_given = 1; o->abs_count++; }
        else if (o->mode == GWLZ_EB_REL) { o->rel_eb = val; o->rel_given = 1; o->rel_count++; }
        else if (o->mode == GWLZ_EB_PSNR) { o->psnr = val; o->psnr_given = 1; o->psnr_count++; }
        else {
          errmsg("-M %s takes its bounds from -A and -R", modes[m]);
          return 0;
        }
      }
    } else if (!strcmp(opt, "-A") || !strcmp(opt, "-R") || !strcmp(opt, "-S")) {
      double val;
      if (!(v = take(&c, opt))) return 0;
      if (!parse_bound(opt, v, &val)) return 0;
      if (opt[1] == 'A') { o->abs_eb = val; o->abs_given = 1; o->abs_count++; }
      else if (opt[1] == 'R') { o->rel_eb = val; o->rel_given = 1; o->rel_count++; }
      else {
        if (val <= 0) return bad_value(opt, v, "a PSNR > 0");
        o->psnr = val; o->psnr_given = 1; o->psnr_count++;
      }
    } else if (!strcmp(opt, "-a")) {
      o->analyse = 1;
    } else if (!strcmp(opt, "-q")) {
      o->quiet = 1;
    } else if (!strcmp(opt, "--force")) {
      o->force = 1;
    } else if (!strcmp(opt, "--fast")) {
      o->fast = 1;
    } else if (!strcmp(opt, "--info")) {
      o->info = 1;
    } else if (!strcmp(opt, "-G")) {
      if (!(v = take(&c, opt))) return 0;
      if (!parse_int(v, 0, GWLZ_MAX_GROUPS, &o->groups)) {
        errmsg("bad value '%s' for %s: expected an integer 0..%d", v, opt, GWLZ_MAX_GROUPS);
        return 0;
      }
      o->groups_given = 1;
    } else if (!strcmp(opt, "--base")) {
      static const char *const names[] = {"auto", "interp", "wavelet", "zfp"};
      int k;
      if (!(v = take(&c, opt)) || !keyword(opt, v, names, 4, &k)) return 0;
      if (!gwlz_base_available((gwlz_base)k)) {
        errmsg("--base %s: this build of gwlz has no %s base", v, v);
        return 0;
      }
      o->base = (gwlz_base)k;
      o->base_given = 1;
    } else if (!strcmp(opt, "--enhancer")) {
      static const char *const names[] = {"none", "linear", "cnn", "auto"};
      int k;
      if (!(v = take(&c, opt)) || !keyword(opt, v, names, 4, &k)) return 0;
      o->enhancer = (gwlz_enhancer)k;
      o->enhancer_given = 1;
    } else if (!strcmp(opt, "--arch")) {
      static const char *const names[] = {"default", "paper"};
      int k;
      if (!(v = take(&c, opt)) || !keyword(opt, v, names, 2, &k)) return 0;
      o->arch = (gwlz_arch)k;
      o->arch_given = 1;
    } else if (!strcmp(opt, "--bound")) {
      static const char *const names[] = {"strict", "relaxed"};
      int k;
      if (!(v = take(&c, opt)) || !keyword(opt, v, names, 2, &k)) return 0;
      o->policy = (gwlz_bound_policy)k;
      o->policy_given = 1;
    } else if (!strcmp(opt, "--epochs")) {
      if (!(v = take(&c, opt))) return 0;
      if (!parse_int(v, 0, MAX_EPOCHS, &o->epochs)) {
        errmsg("bad value '%s' for %s: expected an integer 0..%d", v, opt, MAX_EPOCHS);
        return 0;
      }
      o->epochs_given = 1;
    } else if (!strcmp(opt, "--train-seconds")) {
      if (!(v = take(&c, opt))) return 0;
      if (!parse_double(v, &o->train_seconds) || !isfinite(o->train_seconds) ||
          o->train_seconds < 0)
        return bad_value(opt, v, "seconds >= 0");
      o->train_given = 1;
    } else if (!strcmp(opt, "--fill")) {
      if (!(v = take(&c, opt))) return 0;
      if (!parse_double(v, &o->fill)) return bad_value(opt, v, "a number (or nan)");
      o->fill_given = 1;
    } else if (!strcmp(opt, "--threads") || !strcmp(opt, "-T")) {
      if (!(v = take(&c, opt))) return 0;
      if (!parse_int(v, 0, MAX_THREADS, &o->threads)) {
        errmsg("bad value '%s' for %s: expected an integer 0..%d", v, opt, MAX_THREADS);
        return 0;
      }
      o->threads_given = 1;
    } else if (!strcmp(opt, "--png")) {
      if (!(v = take(&c, opt))) return 0;
      if (!*v) return bad_value(opt, v, "a file name");
      o->png = v;
    } else if (!strcmp(opt, "--slice")) {
      uint64_t idx;
      if (!(v = take(&c, opt))) return 0;
      if (!strchr("xyzwXYZW", v[0]) || !v[0] || v[1] != '=' || !parse_u64(v + 2, &idx) ||
          idx > SIZE_MAX)
        return bad_value(opt, v, "AXIS=INDEX with AXIS x, y, z or w");
      o->slice_letter = (char)(v[0] | 0x20);
      o->slice_index = (size_t)idx;
    } else if (!strcmp(opt, "--png-log") || !strcmp(opt, "--png-linear")) {
      o->png_log = opt[6] == 'l' && opt[7] == 'o';
    } else if (!strcmp(opt, "--region")) {
      if (!(v = take(&c, opt))) return 0;
      if (!*v) return bad_value(opt, v, "ranges x0:x1,y0:y1,...");
      o->region = v;
    } else if (!strcmp(opt, "--chunk")) {
      if (!(v = take(&c, opt))) return 0;
      if (!parse_u64(v, &o->chunk) || o->chunk > ((uint64_t)1 << 30))
        return bad_value(opt, v, "a chunk size in values, 0..2^30 (0 = default)");
      o->chunk_given = 1;
    } else if (!strcmp(opt, "--seed")) {
      if (!(v = take(&c, opt))) return 0;
      if (!parse_u64(v, &o->seed)) return bad_value(opt, v, "an unsigned integer");
      o->seed_given = 1;
    } else {
      errmsg("unknown option '%s' (see gwlz -h)", arg);
      return 0;
    }
    if (c.inline_val) {
      errmsg("option %s takes no value", opt);
      return 0;
    }
  }
  return 1;
}

/* Picks the mode when -M is missing, and checks the needed values are there. */
static int resolve_bound(options *o) {
  if (!o->mode_given) {
    if (o->abs_given && o->rel_given) o->mode = GWLZ_EB_ABS_AND_REL;
    else if (o->abs_given) o->mode = GWLZ_EB_ABS;
    else if (o->rel_given) o->mode = GWLZ_EB_REL;
    else if (o->psnr_given) o->mode = GWLZ_EB_PSNR;
    else {
      errmsg("no error bound: give e.g. -M REL 1e-3 or -M ABS -A 0.01");
      return 0;
    }
  }
  int need_abs = o->mode == GWLZ_EB_ABS || o->mode == GWLZ_EB_ABS_AND_REL ||
                 o->mode == GWLZ_EB_ABS_OR_REL;
  int need_rel = o->mode == GWLZ_EB_REL || o->mode == GWLZ_EB_ABS_AND_REL ||
                 o->mode == GWLZ_EB_ABS_OR_REL;
  if (need_abs && !o->abs_given) {
    errmsg("this error-bound mode needs an absolute bound (-A)");
    return 0;
  }
  if (need_rel && !o->rel_given) {
    errmsg("this error-bound mode needs a relative bound (-R)");
    return 0;
  }
  if (o->mode == GWLZ_EB_PSNR && (!o->psnr_given || !(o->psnr > 0))) {
    errmsg("PSNR mode needs a target in dB > 0 (-M PSNR 80 or -S 80)");
    return 0;
  }
  return 1;
}

static const char *const mode_names[] = {"ABS", "REL", "ABS_AND_REL", "ABS_OR_REL", "PSNR"};

static void warnmsg(const options *o, const char *fmt, ...) {
  if (o->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: warning: ", prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* Checks that need the whole command line, made before any file is touched:
 * returns 0 after a message for a usage error; warns about flags that would
 * be ignored. */
static int check_settings(const options *o, int compress) {
  if (!compress) {
    const char *names[16];
    int k = 0;
    if (o->mode_given) names[k++] = "-M";
    if (o->abs_given) names[k++] = "-A";
    if (o->rel_given) names[k++] = "-R";
    if (o->psnr_given) names[k++] = "-S";
    if (o->groups_given) names[k++] = "-G";
    if (o->base_given) names[k++] = "--base";
    if (o->fast) names[k++] = "--fast";
    if (o->enhancer_given) names[k++] = "--enhancer";
    if (o->arch_given) names[k++] = "--arch";
    if (o->epochs_given) names[k++] = "--epochs";
    if (o->train_given) names[k++] = "--train-seconds";
    if (o->policy_given) names[k++] = "--bound";
    if (o->seed_given) names[k++] = "--seed";
    if (o->chunk_given) names[k++] = "--chunk";
    if (o->fill_given) names[k++] = "--fill";
    for (int i = 0; i < k; i++)
      warnmsg(o, "%s is ignored when decompressing (the stream records its settings)", names[i]);
    return 1;
  }
  if (o->mode_count > 1)
    warnmsg(o, "-M given %d times: the last one (-M %s) is used", o->mode_count,
            mode_names[o->mode]);
  if (o->abs_count > 1)
    warnmsg(o, "absolute bound given %d times: %g is used", o->abs_count, o->abs_eb);
  if (o->rel_count > 1)
    warnmsg(o, "relative bound given %d times: %g is used", o->rel_count, o->rel_eb);
  if (o->psnr_count > 1)
    warnmsg(o, "PSNR target given %d times: %g is used", o->psnr_count, o->psnr);
  int need_abs = o->mode == GWLZ_EB_ABS || o->mode == GWLZ_EB_ABS_AND_REL ||
                 o->mode == GWLZ_EB_ABS_OR_REL;
  int need_rel = o->mode == GWLZ_EB_REL || o->mode == GWLZ_EB_ABS_AND_REL ||
                 o->mode == GWLZ_EB_ABS_OR_REL;
  if (o->abs_given && !need_abs)
    warnmsg(o, "the absolute bound %g is ignored in %s mode", o->abs_eb, mode_names[o->mode]);
  if (o->rel_given && !need_rel)
    warnmsg(o, "the relative bound %g is ignored in %s mode", o->rel_eb, mode_names[o->mode]);
  if (o->psnr_given && o->mode != GWLZ_EB_PSNR)
    warnmsg(o, "the PSNR target %g is ignored in %s mode", o->psnr, mode_names[o->mode]);
  /* the enhancer */
  int off = (o->groups_given && o->groups == 0) ||
            (o->enhancer_given && o->enhancer == GWLZ_ENH_NONE);
  gwlz_enhancer kind = o->enhancer_given ? o->enhancer : GWLZ_ENH_AUTO;
  if (!off && o->arch_given && o->arch == GWLZ_ARCH_PAPER2D && kind != GWLZ_ENH_CNN) {
    errmsg("--arch paper is a CNN architecture: it needs --enhancer cnn");
    return 0;
  }
  if (off) {
    const char *why = o->groups_given && o->groups == 0 ? "-G 0" : "--enhancer none";
    if (o->arch_given) warnmsg(o, "--arch is ignored: the enhancer is off (%s)", why);
    if (o->epochs_given) warnmsg(o, "--epochs is ignored: the enhancer is off (%s)", why);
    if (o->train_given) warnmsg(o, "--train-seconds is ignored: the enhancer is off (%s)", why);
    if (o->seed_given) warnmsg(o, "--seed is ignored: the enhancer is off (%s)", why);
    if (o->policy_given) warnmsg(o, "--bound is ignored: the enhancer is off (%s)", why);
  } else if (kind == GWLZ_ENH_LINEAR) {
    if (o->epochs_given) warnmsg(o, "--epochs is ignored by the linear enhancer (least squares)");
    if (o->train_given) warnmsg(o, "--train-seconds is ignored by the linear enhancer");
  }
  /* a fill value must be a value of the data type */
  if (o->fill_given && o->type == GWLZ_TYPE_FLOAT && isfinite(o->fill)) {
    float f = (float)o->fill;
    if (isinf(f) || (f == 0.0f && o->fill != 0.0)) {
      errmsg("--fill %g is not a float32 value (it would become %s); use -d for float64 data",
             o->fill, isinf(f) ? (f > 0 ? "inf" : "-inf") : "0");
      return 0;
    }
  }
  return 1;
}

/* ---- files -------------------------------------------------------------- */

static const char *type_name(gwlz_type t) { return t == GWLZ_TYPE_DOUBLE ? "float64" : "float32"; }
static size_t type_size(gwlz_type t) { return t == GWLZ_TYPE_DOUBLE ? 8 : 4; }

/* "128x128x41" from dims given fastest first. */
static void dims_string(const size_t *dims_f, int nd, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  for (int k = 0; k < nd && len < cap; k++) {
    int w = snprintf(buf + len, cap - len, "%s%zu", k ? "x" : "", dims_f[k]);
    if (w < 0) break;
    len += (size_t)w;
  }
}

/* "-" names stdin (for -i, and -z when read) or stdout (-z when written, -o). */
static int is_stdio(const char *path) { return path && strcmp(path, "-") == 0; }

/* Reads standard input up to its end into one allocation. */
static int read_stdin(void **data, size_t *size) {
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  if (!buf) {
    errmsg("out of memory reading standard input");
    return 0;
  }
  for (;;) {
    if (n == cap) {
      unsigned char *grown = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
      if (!grown) {
        errmsg("out of memory reading standard input (%zu bytes so far)", n);
        free(buf);
        return 0;
      }
      buf = grown;
      cap *= 2;
    }
    ssize_t r = read(STDIN_FILENO, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      errmsg("cannot read standard input: %s", strerror(errno));
      free(buf);
      return 0;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  *data = buf;
  *size = n;
  return 1;
}

/* Reads a whole regular file (or standard input for "-") into one allocation. */
static int read_file(const char *path, void **data, size_t *size) {
  *data = NULL;
  *size = 0;
  if (is_stdio(path)) return read_stdin(data, size);
  FILE *f = fopen(path, "rb");
  if (!f) {
    errmsg("cannot open '%s': %s", path, strerror(errno));
    return 0;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    errmsg("'%s' is not a regular file", path);
    fclose(f);
    return 0;
  }
  if ((uintmax_t)st.st_size > (uintmax_t)SIZE_MAX) {
    errmsg("'%s' is too large for this machine", path);
    fclose(f);
    return 0;
  }
  size_t n = (size_t)st.st_size;
  unsigned char *buf = malloc(n ? n : 1);
  if (!buf) {
    errmsg("out of memory reading '%s' (%zu bytes)", path, n);
    fclose(f);
    return 0;
  }
  size_t got = 0;
  while (got < n) {
    size_t r = fread(buf + got, 1, n - got, f);
    if (r == 0) break;
    got += r;
  }
  int bad = ferror(f) || got != n;
  fclose(f);
  if (bad) {
    errmsg("cannot read '%s' (%zu of %zu bytes)", path, got, n);
    free(buf);
    return 0;
  }
  *data = buf;
  *size = n;
  return 1;
}

/* ---- outputs -------------------------------------------------------------
 * A named output is checked before any work (out_prepare) and written in one
 * of two ways:
 *  - a regular file, or a name that does not exist yet: the data goes to a
 *    temporary file beside it, which is renamed over it once complete, so a
 *    failed run leaves the old file (or none) and never a partial one. An
 *    existing file keeps its permission bits (and owner and group where the
 *    caller may set them); one that is read-only (no write permission bit, or
 *    not writable by the caller) is refused unless --force;
 *  - any other existing file (character or block device, FIFO): opened and
 *    written through, never replaced, removed or truncated by a rename
 *    (so "-o /dev/null" run as root leaves /dev/null a device).
 * A symbolic link is followed (its target is written); a dangling link,
 * a directory and a socket are refused. A signal removes pending temporaries.
 * "-" is standard output: written by out_commit, nothing is checked. */
#define MAX_PENDING 3
static char *volatile pending[MAX_PENDING];

static void on_signal(int sig) {
  for (int k = 0; k < MAX_PENDING; k++)
    if (pending[k]) unlink(pending[k]);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_signal_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
  for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaction(sigs[k], &sa, NULL);
}

typedef struct {
  const char *path;  /* as given (for messages)                           */
  char *target;      /* what is written: path, or a link's target          */
  int through;       /* 1: write through (not a regular file)              */
  int exists;        /* a regular file is there now                        */
  struct stat st;    /* of the existing target                             */
  char *tmp;         /* pending temporary (regular targets)                */
  int slot;
  int to_stdout;     /* "-": standard output                               */
} out_file;

static void out_discard(out_file *f) {
  if (f->tmp) {
    pending[f->slot] = NULL;
    unlink(f->tmp);
    free(f->tmp);
    f->tmp = NULL;
  }
}

static void out_free(out_file *f) {
  out_discard(f);
  free(f->target);
  f->target = NULL;
}

static int writable_mode(const struct stat *st, const char *path) {
  if ((st->st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0) return 0;
  return access(path, W_OK) == 0;
}

/* Decides how path will be written; refuses what must not be (message on
 * stderr, returns 0). Touches nothing. */
static int out_prepare(out_file *f, int slot, const char *path, int force) {
  memset(f, 0, sizeof *f);
  f->path = path;
  f->slot = slot;
  if (is_stdio(path)) {
    f->to_stdout = 1;
    return 1;
  }
  struct stat lst;
  if (lstat(path, &lst) != 0) {
    if (errno != ENOENT) {
      errmsg("cannot use '%s' as output: %s", path, strerror(errno));
      return 0;
    }
    f->target = strdup(path); /* a new file */
  } else {
    if (S_ISLNK(lst.st_mode)) {
      f->target = realpath(path, NULL);
      if (!f->target) {
        errmsg("'%s' is a symbolic link to nothing usable (%s)", path, strerror(errno));
        return 0;
      }
    } else {
      f->target = strdup(path);
    }
    if (f->target && stat(f->target, &f->st) != 0) {
      errmsg("cannot use '%s' as output: %s", path, strerror(errno));
      return 0;
    }
    if (S_ISDIR(f->st.st_mode)) {
      errmsg("'%s' is a directory", path);
      return 0;
    }
    if (S_ISSOCK(f->st.st_mode)) {
      errmsg("'%s' is a socket: cannot write to it", path);
      return 0;
    }
    if (S_ISREG(f->st.st_mode)) {
      f->exists = 1;
      if (!force && !writable_mode(&f->st, f->target)) {
        errmsg("'%s' is read-only: not replaced (--force replaces it)", path);
        return 0;
      }
    } else {
      f->through = 1; /* device, FIFO, ...: written in place */
    }
  }
  if (!f->target) {
    errmsg("out of memory");
    return 0;
  }
  return 1;
}

/* Regular targets: a new temporary file beside the target (descriptor, or
 * -1 after a message); *mode receives the permissions it gets at the end. */
static int out_open_tmp(out_file *f, mode_t *mode) {
  const char *target = f->target;
  const char *slash = strrchr(target, '/');
  size_t dirlen = slash ? (size_t)(slash - target) + 1 : 0;
  const char *base = target + dirlen;
  size_t cap = dirlen + strlen(base) + 16;
  char *tmp = malloc(cap);
  if (!tmp) {
    errmsg("out of memory");
    return -1;
  }
  snprintf(tmp, cap, "%.*s.%s.XXXXXX", (int)dirlen, target, base);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    errmsg("cannot create a file beside '%s': %s", f->path, strerror(errno));
    free(tmp);
    return -1;
  }
  f->tmp = tmp;
  pending[f->slot] = tmp;
  if (f->exists) {
    /* keep owner, group (where allowed) and permission bits, not set-id bits */
    if (fchown(fd, f->st.st_uid, f->st.st_gid) != 0 && fchown(fd, (uid_t)-1, f->st.st_gid) != 0) {
      /* not permitted: the new file keeps the caller's owner and group */
    }
    *mode = f->st.st_mode & 01777;
  } else {
    mode_t mask = umask(0);
    umask(mask);
    *mode = 0666 & ~mask;
  }
  return fd;
}

/* Finishes a temporary: ok says whether the writes succeeded (if not, errno
 * holds why); the temporary is removed on failure. */
static int out_close_tmp(out_file *f, int fd, mode_t mode, int ok) {
  int saved = errno;
  if (ok && fchmod(fd, mode) != 0) {
    ok = 0;
    saved = errno;
  }
  if (close(fd) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (!ok) {
    errmsg("cannot write '%s': %s", f->path, strerror(saved));
    out_discard(f);
    return 0;
  }
  return 1;
}

/* All of size bytes to fd; 1 on success (errno tells otherwise). */
static int write_all(int fd, const void *data, size_t size) {
  const unsigned char *b = data;
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fd, b + done, size - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      return 0;
    }
    done += (size_t)w;
  }
  return 1;
}

/* Regular targets: writes data to a new temporary file beside the target,
 * with the existing file's permissions. Write-through targets: nothing yet. */
static int out_stage(out_file *f, const void *data, size_t size) {
  if (f->through || f->to_stdout) return 1;
  mode_t mode;
  int fd = out_open_tmp(f, &mode);
  if (fd < 0) return 0;
  return out_close_tmp(f, fd, mode, write_all(fd, data, size));
}

/* Writes data through an open descriptor of a non-regular file. */
static int write_through(const out_file *f, const void *data, size_t size) {
  int fd = open(f->target, O_WRONLY | O_NOCTTY);
  if (fd < 0) {
    errmsg("cannot open '%s': %s", f->path, strerror(errno));
    return 0;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    errmsg("'%s' changed while gwlz ran: not written", f->path);
    close(fd);
    return 0;
  }
  const unsigned char *b = data;
  size_t done = 0;
  int ok = 1;
  while (ok && done < size) {
    ssize_t w = write(fd, b + done, size - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ok = 0;
    else done += (size_t)w;
  }
  int saved = errno;
  if (close(fd) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (!ok) errmsg("cannot write '%s': %s", f->path, strerror(saved));
  return ok;
}

/* Writes all of data to standard output. */
static int write_stdout(const void *data, size_t size) {
  const unsigned char *b = data;
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(STDOUT_FILENO, b + done, size - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      errmsg("cannot write to standard output: %s", w < 0 ? strerror(errno) : "no progress");
      return 0;
    }
    done += (size_t)w;
  }
  return 1;
}

/* Puts the data in place: renames the temporary over a regular target (after
 * checking that the target did not become something else meanwhile), or
 * writes through. */
static int out_commit(out_file *f, const void *data, size_t size) {
  if (f->to_stdout) return write_stdout(data, size);
  if (f->through) return write_through(f, data, size);
  struct stat now;
  if (lstat(f->target, &now) == 0 && !S_ISREG(now.st_mode)) {
    errmsg("'%s' is no longer a regular file: not replaced", f->path);
    out_discard(f);
    return 0;
  }
  if (rename(f->tmp, f->target) != 0) {
    errmsg("cannot rename to '%s': %s", f->path, strerror(errno));
    out_discard(f);
    return 0;
  }
  pending[f->slot] = NULL;
  free(f->tmp);
  f->tmp = NULL;
  return 1;
}

/* 1 if both paths name the same regular file (or the same name that is not
 * a device or FIFO: those may take several outputs); "-" (standard input or
 * output) is checked separately. */
static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (!a || !b || is_stdio(a) || is_stdio(b)) return 0;
  int ha = stat(a, &sa) == 0, hb = stat(b, &sb) == 0;
  if (ha && !S_ISREG(sa.st_mode)) return 0;
  if (strcmp(a, b) == 0) return 1;
  return ha && hb && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ---- progress ----------------------------------------------------------- */

typedef struct {
  double start, last;
  int shown;
} progress_state;

static void on_progress(void *user, const char *stage, double fraction) {
  progress_state *ps = user;
  double t = now_seconds();
  if (ps->start == 0) ps->start = t;
  if (t - ps->start < 1.0) return;
  if (fraction < 1.0 && t - ps->last < 0.1) return;
  ps->last = t;
  ps->shown = 1;
  fprintf(stderr, "\r%s: %-12s %5.1f%%  %6.1f s", prog, stage ? stage : "", 100.0 * fraction,
          t - ps->start);
  fflush(stderr);
}

static void end_progress(progress_state *ps) {
  if (ps->shown) fputc('\n', stderr);
  ps->shown = 0;
}

/* ---- metrics ------------------------------------------------------------ */

typedef struct {
  size_t counted, special, special_bad;
  double vmin, vmax, max_err;
  double sq_sum;      /* of the errors in units of scale                   */
  double range_units; /* vmax - vmin in units of scale                     */
} metrics;

static double value_at(const void *p, gwlz_type t, size_t i) {
  return t == GWLZ_TYPE_DOUBLE ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

/* Compares the decoded values with the input: error statistics over finite
 * non-fill values, and a bit-exact check of NaN, Inf and fill cells. Squared
 * errors are summed in units of a power of two near the half range (an exact
 * scaling), so that fields of huge magnitude, even spanning more than
 * DBL_MAX, give finite sums. */
static void compare(const void *x, const void *y, size_t n, gwlz_type t, int has_fill,
                    double fill, metrics *m) {
  size_t es = type_size(t);
  unsigned char fill_bits[8];
  float ff = (float)fill;
  if (t == GWLZ_TYPE_DOUBLE) memcpy(fill_bits, &fill, 8);
  else memcpy(fill_bits, &ff, 4);
  int fill_nan = has_fill && isnan(fill);
  memset(m, 0, sizeof *m);
  m->vmin = INFINITY;
  m->vmax = -INFINITY;
  const unsigned char *xb = x, *yb = y;
  for (int pass = 0; pass < 2; pass++) {
    double range = m->vmax - m->vmin, half = m->vmax * 0.5 - m->vmin * 0.5, scale = 1.0;
    if (pass == 1 && m->counted) {
      if (half > 0) scale = ldexp(1.0, ilogb(half));
      m->range_units = isfinite(range) ? range / scale : 2.0 * (half / scale);
    }
    for (size_t i = 0; i < n; i++) {
      double a = value_at(x, t, i);
      int special = !isfinite(a) || (has_fill && !fill_nan && memcmp(xb + i * es, fill_bits, es) == 0);
      if (pass == 0) {
        if (special) {
          m->special++;
          if (memcmp(xb + i * es, yb + i * es, es) != 0) m->special_bad++;
          continue;
        }
        if (a < m->vmin) m->vmin = a;
        if (a > m->vmax) m->vmax = a;
        m->counted++;
        continue;
      }
      if (special) continue;
      double b = value_at(y, t, i);
      double e = fabs(a - b);
      if (!(e <= m->max_err)) m->max_err = e; /* NaN output counts as infinite */
      if (isnan(e)) m->max_err = INFINITY;
      double q = (a - b) / scale;
      m->sq_sum += q * q;
    }
  }
}

static void print_db(const char *key, double v) {
  if (isinf(v) && v > 0) printf("%s = inf (lossless)\n", key);
  else printf("%s = %.3f dB\n", key, v);
}

static void print_speed(const char *key, size_t bytes, double seconds) {
  if (seconds > 0) printf("%s = %.2f MB/s\n", key, (double)bytes / 1e6 / seconds);
  else printf("%s = n/a\n", key);
}

static const char *const enh_names[] = {"none", "linear", "cnn", "auto"};
static const char *enh_name(gwlz_enhancer e) {
  return (unsigned)e < 4 ? enh_names[e] : "?";
}

/* "float32 128x128x41 (fastest first; C order 41x128x128)" */
static void print_shape(const gwlz_info *info) {
  size_t f[GWLZ_MAX_DIMS];
  char fast[128], c[128];
  for (int k = 0; k < info->ndims; k++) f[k] = info->dims[info->ndims - 1 - k];
  dims_string(f, info->ndims, fast, sizeof fast);
  dims_string(info->dims, info->ndims, c, sizeof c);
  printf("type = %s\n", type_name(info->type));
  printf("dimensions = %s (fastest first; C order %s)\n", fast, c);
  printf("values = %zu\n", info->num_values);
}

/* The bound as the stream records it: "REL 0.001 -> absolute 0.0123". */
static void print_bound(const gwlz_info *info) {
  const char *m = (unsigned)info->eb_mode < 5 ? mode_names[info->eb_mode] : "?";
  printf("error bound = %.6g (%s", info->abs_bound, m);
  switch (info->eb_mode) {
    case GWLZ_EB_ABS: printf(" %g", info->eb_abs); break;
    case GWLZ_EB_REL: printf(" %g of the range", info->eb_rel); break;
    case GWLZ_EB_ABS_AND_REL:
    case GWLZ_EB_ABS_OR_REL: printf(" -A %g -R %g", info->eb_abs, info->eb_rel); break;
    case GWLZ_EB_PSNR: printf(" %g dB", info->eb_psnr); break;
  }
  printf("; %s)\n", info->bound_policy == GWLZ_BOUND_RELAXED ? "relaxed: error <= 2x bound"
                                                              : "strict");
}

/* --info: the header fields and the sections of a stream. */
static int print_info(const char *name, const void *stream, size_t size, const gwlz_info *info) {
  gwlz_section_info secs[32];
  int ns = 0;
  gwlz_error e = gwlz_get_sections(stream, size, secs, 32, &ns);
  if (e) {
    errmsg("'%s': %s", name, gwlz_error_string(e));
    return EXIT_FAIL;
  }
  printf("stream = %s\n", name);
  printf("format version = %u\n", info->format_version);
  printf("stream bytes = %zu\n", size);
  print_shape(info);
  printf("decompressed bytes = %zu\n", info->decompressed_bytes);
  printf("compression ratio = %.4f\n", size ? (double)info->decompressed_bytes / (double)size : 0);
  printf("bits per value = %.4f\n",
         info->num_values ? 8.0 * (double)size / (double)info->num_values : 0.0);
  print_bound(info);
  if (info->has_fill) printf("fill value = %.17g\n", info->fill_value);
  else printf("fill value = none\n");
  /* the BASE payload's mode byte (docs/format.md §9.2) names the method */
  static const char *const base_modes[] = {"stored losslessly, zstd", "interpolation",
                                           "Lorenzo", "wavelet", "ZFP",
                                           "chunked; first chunk's base",
                                           "scheduled interpolation, range-coded"};
  const char *mode = "?";
  for (int k = 0; k < ns && k < 32; k++)
    if (!strcmp(secs[k].tag, "BASE") && secs[k].size >= 2) {
      unsigned m = ((const unsigned char *)stream)[secs[k].offset + 1];
      mode = m < sizeof base_modes / sizeof *base_modes ? base_modes[m] : "unknown mode";
    }
  printf("base = %s (%s)\n", info->base == GWLZ_BASE_AUTO ? "raw" : gwlz_base_name(info->base),
         mode);
  if (info->enhancer == GWLZ_ENH_NONE) printf("enhancer = none stored\n");
  else printf("enhancer = %s (%d group%s with a model)\n", enh_name(info->enhancer), info->groups,
              info->groups == 1 ? "" : "s");
  for (int k = 0; k < ns && k < 32; k++)
    printf("section %s = %zu bytes at offset %zu\n", secs[k].tag, secs[k].size, secs[k].offset);
  e = gwlz_check_stream(stream, size);
  printf("check = %s\n", e ? gwlz_error_string(e) : "ok (structure and checksums)");
  fflush(stdout);
  return e ? EXIT_FAIL : 0;
}

/* The enhancer lines of a compression report, honest about what happened. */
static void print_enhancer(const options *o, const gwlz_stats *st) {
  gwlz_enhancer asked = o->enhancer_given ? o->enhancer : GWLZ_ENH_AUTO;
  if (st->groups_requested == 0 || asked == GWLZ_ENH_NONE) {
    printf("enhancer = off (%s)\n", st->groups_requested == 0 ? "-G 0" : "--enhancer none");
    return;
  }
  if (st->abs_bound == 0) {
    printf("enhancer = not used (bound 0: lossless)\n");
    return;
  }
  if (st->num_special >= st->num_values) {
    printf("enhancer = not used (no finite values)\n");
    return;
  }
  if (st->enhancer == GWLZ_ENH_NONE || st->groups_kept == 0) {
    if (st->epochs_run == 0 && st->train_seconds == 0)
      printf("enhancer = none (no model was trained: too few values)\n");
    else
      printf("enhancer = none kept (models were trained; none lowered the error enough to pay "
             "for its bytes)\n");
  } else {
    printf("enhancer = %s (%d group%s with a model; %d requested)\n", enh_name(st->enhancer),
           st->groups_kept, st->groups_kept == 1 ? "" : "s", st->groups_requested);
    print_db("base PSNR", st->base_psnr);
    print_db("enhanced PSNR", st->enhanced_psnr);
    printf("model bytes = %zu\n", st->enhancer_bytes);
    printf("exceptions = %zu (%zu bytes)\n", st->exceptions, st->exception_bytes);
  }
  if (st->epochs_run > 0 || st->train_seconds > 0) {
    gwlz_enhancer k = st->enhancer != GWLZ_ENH_NONE ? st->enhancer : asked;
    if (k == GWLZ_ENH_CNN)
      printf("training time = %.3f s (%d epoch%s)\n", st->train_seconds, st->epochs_run,
             st->epochs_run == 1 ? "" : "s");
    else if (k == GWLZ_ENH_LINEAR)
      printf("training time = %.3f s (least squares)\n", st->train_seconds);
    else
      printf("training time = %.3f s\n", st->train_seconds);
  }
}

/* The -a report. input is NULL when only decompressing, output NULL when
 * only compressing without -a; stats NULL when nothing was compressed.
 * Returns the exit status: EXIT_CHECK when a check against the input failed. */
static int print_report(const options *o, const gwlz_info *info, const void *input,
                        const void *output, size_t stream_size, double comp_s, double decomp_s,
                        const gwlz_stats *stats) {
  int status = 0;
  size_t raw = info->decompressed_bytes;
  double ratio = stream_size ? (double)raw / (double)stream_size : 0;
  printf("compression ratio = %.4f\n", ratio);
  printf("bits per value = %.4f\n",
         info->num_values ? 8.0 * (double)stream_size / (double)info->num_values : 0.0);
  print_bound(info);
  if (input) {
    metrics m;
    compare(input, output, info->num_values, info->type, info->has_fill, info->fill_value, &m);
    double mse = m.counted ? m.sq_sum / (double)m.counted : 0;
    double psnr = mse == 0 ? INFINITY : 20 * log10(m.range_units) - 10 * log10(mse);
    print_db("PSNR", psnr);
    printf("NRMSE = %.6g\n", m.range_units > 0 ? sqrt(mse) / m.range_units : 0.0);
    printf("max abs error = %.6g\n", m.max_err);
    if (info->abs_bound > 0) printf("max error / bound = %.6f\n", m.max_err / info->abs_bound);
    else printf("max error / bound = %s\n", m.max_err == 0 ? "0 (lossless)" : "inf");
    printf("special values (NaN/Inf/fill) = %zu\n", m.special);
    if (m.special_bad) {
      errmsg("ERROR: %zu of %zu NaN/Inf/fill values did not come back bit-exact", m.special_bad,
             m.special);
      status = EXIT_CHECK;
    }
    double allowed = info->abs_bound * (info->bound_policy == GWLZ_BOUND_RELAXED ? 2 : 1);
    if (!(m.max_err <= allowed)) {
      errmsg("ERROR: max error %.6g exceeds the allowed %.6g", m.max_err, allowed);
      status = EXIT_CHECK;
    }
  }
  if (stats || info->base != GWLZ_BASE_AUTO) {
    gwlz_base b = stats ? stats->base : info->base;
    printf("base = %s\n", b == GWLZ_BASE_AUTO ? "none (stored losslessly)" : gwlz_base_name(b));
  }
  if (stats && (stats->psnr_base_runs || stats->psnr_enh_runs))
    printf("PSNR search = %d base-only + %d enhanced runs\n", stats->psnr_base_runs,
           stats->psnr_enh_runs);
  if (stats) print_speed("compression speed", raw, comp_s);
  if (output) print_speed("decompression speed", raw, decomp_s);
  if (stats) {
    printf("compression time = %.3f s (base %.3f s, enhancer training %.3f s, enhancement "
           "%.3f s)\n", comp_s, stats->base_seconds, stats->train_seconds,
           stats->enhance_seconds);
  }
  if (output) printf("decompression time = %.3f s\n", decomp_s);
  if (stats) print_enhancer(o, stats);
  else if (info->enhancer != GWLZ_ENH_NONE)
    printf("enhancer = %s (%d group%s with a model)\n", enh_name(info->enhancer), info->groups,
           info->groups == 1 ? "" : "s");
  else
    printf("enhancer = none stored\n");
  fflush(stdout);
  return status;
}

/* ---- main --------------------------------------------------------------- */

static int set_params(gwlz_ctx *ctx, const options *o, const size_t *dims_c) {
  gwlz_error e = gwlz_set_type(ctx, o->type);
  if (!e) e = gwlz_set_dims(ctx, o->ndims, dims_c);
  if (!e) e = gwlz_set_error_bound(ctx, o->mode, o->abs_eb, o->rel_eb, o->psnr);
  if (!e && o->fill_given) e = gwlz_set_fill_value(ctx, o->fill);
  if (!e && o->threads_given) e = gwlz_set_threads(ctx, o->threads);
  if (!e && o->base_given) e = gwlz_set_base(ctx, o->base);
  if (!e && o->fast) e = gwlz_set_speed(ctx, GWLZ_SPEED_FAST);
  if (!e && o->groups_given) e = gwlz_set_groups(ctx, o->groups);
  if (!e && o->enhancer_given) e = gwlz_set_enhancer(ctx, o->enhancer);
  if (!e && o->arch_given) e = gwlz_set_arch(ctx, o->arch);
  if (!e && o->epochs_given) e = gwlz_set_epochs(ctx, o->epochs);
  if (!e && o->train_given) e = gwlz_set_train_seconds(ctx, o->train_seconds);
  if (!e && o->policy_given) e = gwlz_set_bound_policy(ctx, o->policy);
  if (!e && o->seed_given) e = gwlz_set_seed(ctx, o->seed);
  if (!e && o->chunk_given) e = gwlz_set_chunk_size(ctx, (size_t)o->chunk);
  if (e) {
    errmsg("invalid settings: %s", gwlz_error_string(e));
    return 0;
  }
  return 1;
}

/* Checks that -f/-d and -1..-4, when given, agree with the stream. */
static int check_stream_matches(const options *o, const gwlz_info *info) {
  if (o->type_given && o->type != info->type) {
    errmsg("'%s' holds %s values but %s was given", o->cmp, type_name(info->type),
           o->type == GWLZ_TYPE_DOUBLE ? "-d" : "-f");
    return 0;
  }
  if (o->ndims) {
    int same = o->ndims == info->ndims;
    for (int k = 0; same && k < o->ndims; k++)
      same = o->dims_f[k] == info->dims[info->ndims - 1 - k];
    if (!same) {
      char given[128], actual[128];
      size_t actual_f[GWLZ_MAX_DIMS];
      for (int k = 0; k < info->ndims; k++) actual_f[k] = info->dims[info->ndims - 1 - k];
      dims_string(o->dims_f, o->ndims, given, sizeof given);
      dims_string(actual_f, info->ndims, actual, sizeof actual);
      errmsg("'%s' holds %d dims %s but -%d %s was given", o->cmp, info->ndims, actual,
             o->ndims, given);
      return 0;
    }
  }
  return 1;
}

/* ---- streaming through the library's callbacks ---------------------------- */

typedef struct {
  int fd;
  int err; /* errno of the first failure */
} fd_io;

static int fd_read_cb(void *user, uint64_t offset, void *buf, size_t size) {
  fd_io *f = user;
  unsigned char *b = buf;
  size_t done = 0;
  while (done < size) {
    ssize_t r = pread(f->fd, b + done, size - done, (off_t)(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      f->err = r < 0 ? errno : EIO;
      return -1;
    }
    done += (size_t)r;
  }
  return 0;
}

static int fd_write_cb(void *user, const void *buf, size_t size) {
  fd_io *f = user;
  if (!write_all(f->fd, buf, size)) {
    f->err = errno;
    return -1;
  }
  return 0;
}

typedef struct {
  const unsigned char *p;
  size_t size;
} mem_in;

static int mem_read_cb(void *user, uint64_t offset, void *buf, size_t size) {
  mem_in *m = user;
  if (offset > m->size || size > m->size - offset) return -1;
  memcpy(buf, m->p + offset, size);
  return 0;
}

typedef struct {
  unsigned char *p;
  size_t size, cap;
} mem_out;

static int mem_write_cb(void *user, const void *buf, size_t size) {
  mem_out *m = user;
  if (size > SIZE_MAX - m->size) return -1;
  if (m->size + size > m->cap) {
    size_t cap = m->cap ? m->cap : 65536;
    while (cap < m->size + size) cap = cap > SIZE_MAX / 2 ? m->size + size : cap * 2;
    unsigned char *q = realloc(m->p, cap);
    if (!q) return -1;
    m->p = q;
    m->cap = cap;
  }
  memcpy(m->p + m->size, buf, size);
  m->size += size;
  return 0;
}

/* A regular target: decodes the stream into its temporary a slab at a time
 * (out_commit then puts it in place). */
static int out_stage_decoded(out_file *f, gwlz_ctx *ctx, const void *stream, size_t size,
                             const char *sname) {
  mode_t mode;
  int fd = out_open_tmp(f, &mode);
  if (fd < 0) return 0;
  mem_in in = {stream, size};
  fd_io out = {fd, 0};
  gwlz_error e = gwlz_decompress_stream(ctx, mem_read_cb, &in, size, fd_write_cb, &out);
  if (e == GWLZ_ERR_IO && out.err) {
    errno = out.err;
    return out_close_tmp(f, fd, mode, 0);
  }
  if (e) {
    errmsg("decompression of '%s' failed: %s", sname, gwlz_error_string(e));
    close(fd);
    out_discard(f);
    return 0;
  }
  return out_close_tmp(f, fd, mode, 1);
}

/* Parses --region "a:b,c:d,..." (fastest first; "a:" to the end, ":" all)
 * against the stream's dims into C-order lo/hi. */
static int parse_region(const char *spec, const gwlz_info *info, size_t *lo, size_t *hi) {
  int k = 0;
  const char *p = spec;
  while (*p) {
    if (k >= info->ndims) {
      errmsg("--region has more ranges than the stream's %d dims", info->ndims);
      return 0;
    }
    size_t extent = info->dims[info->ndims - 1 - k];
    const char *colon = strchr(p, ':'), *comma = strchr(p, ',');
    if (!comma) comma = p + strlen(p);
    if (!colon || colon > comma) {
      errmsg("bad --region range '%.*s': expected a:b", (int)(comma - p), p);
      return 0;
    }
    char a[32] = "", b[32] = "";
    size_t la = (size_t)(colon - p), lb = (size_t)(comma - colon - 1);
    if (la >= sizeof a || lb >= sizeof b) {
      errmsg("bad --region range '%.*s'", (int)(comma - p), p);
      return 0;
    }
    memcpy(a, p, la);
    memcpy(b, colon + 1, lb);
    uint64_t va = 0, vb = extent;
    if ((la && !parse_u64(a, &va)) || (lb && !parse_u64(b, &vb)) || va > vb ||
        vb > extent) {
      errmsg("bad --region range '%.*s' for an extent of %zu", (int)(comma - p), p, extent);
      return 0;
    }
    lo[info->ndims - 1 - k] = (size_t)va;
    hi[info->ndims - 1 - k] = (size_t)vb;
    k++;
    p = *comma ? comma + 1 : comma;
  }
  if (k != info->ndims) {
    errmsg("--region gives %d ranges for a stream of %d dims", k, info->ndims);
    return 0;
  }
  return 1;
}

/* --region: reads the header, the index and the chunks the box meets (a
 * stream on standard input is read whole). Exit status. */
static int run_region(const options *o, gwlz_ctx *ctx, out_file *out) {
  int fd = -1, status = EXIT_FAIL;
  void *stream = NULL, *box = NULL;
  size_t ssize = 0;
  unsigned char head[65536];
  fd_io in = {-1, 0};
  gwlz_info info;
  size_t lo[GWLZ_MAX_DIMS], hi[GWLZ_MAX_DIMS], n = 1;
  gwlz_error e;
  if (is_stdio(o->cmp)) {
    if (!read_file(o->cmp, &stream, &ssize)) return EXIT_FAIL;
    e = gwlz_get_info(stream, ssize, &info);
  } else {
    struct stat st;
    if ((fd = open(o->cmp, O_RDONLY)) < 0) {
      errmsg("cannot open '%s': %s", o->cmp, strerror(errno));
      return EXIT_FAIL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      errmsg("'%s' is not a regular file", o->cmp);
      goto out;
    }
    ssize = (uintmax_t)st.st_size <= SIZE_MAX ? (size_t)st.st_size : SIZE_MAX;
    size_t hn = ssize < sizeof head ? ssize : sizeof head;
    in.fd = fd;
    if (fd_read_cb(&in, 0, head, hn) != 0) {
      errmsg("cannot read '%s': %s", o->cmp, strerror(in.err));
      goto out;
    }
    e = gwlz_get_info(head, hn, &info);
  }
  if (e) {
    errmsg("'%s': %s", o->cmp, gwlz_error_string(e));
    goto out;
  }
  if (!check_stream_matches(o, &info) || !parse_region(o->region, &info, lo, hi)) {
    status = EXIT_USAGE;
    goto out;
  }
  for (int k = 0; k < info.ndims; k++) n *= hi[k] - lo[k];
  size_t bytes = n * type_size(info.type);
  if (!(box = malloc(bytes ? bytes : 1))) {
    errmsg("out of memory (%zu bytes)", bytes);
    goto out;
  }
  e = stream ? gwlz_decompress_region(ctx, stream, ssize, lo, hi, box, bytes)
             : gwlz_decompress_region_stream(ctx, fd_read_cb, &in, (uint64_t)ssize, lo, hi, box,
                                             bytes);
  if (e) {
    if (e == GWLZ_ERR_IO && in.err) errmsg("cannot read '%s': %s", o->cmp, strerror(in.err));
    else errmsg("decompression of '%s' failed: %s", o->cmp, gwlz_error_string(e));
    goto out;
  }
  if (out_stage(out, box, bytes) && out_commit(out, box, bytes)) status = 0;
out:
  free(stream);
  free(box);
  if (fd >= 0) close(fd);
  return status;
}

#ifdef GWLZ_HAVE_PNG
/* The --png picture: the base reconstruction comes from a second decoding
 * with the enhancer skipped (when the stream has one). */
static int make_picture(const options *o, gwlz_ctx *ctx, const gwlz_info *info,
                        const void *stream, size_t stream_size, const void *input,
                        const void *output, uint8_t **png, size_t *png_size) {
  void *base = NULL;
  const void *basep = output;
  if (info->enhancer != GWLZ_ENH_NONE) {
    gwlz_error e = GWLZ_ERR_MEMORY;
    base = malloc(info->decompressed_bytes ? info->decompressed_bytes : 1);
    if (base) e = gwlz_set_skip_enhancer(ctx, 1);
    if (!e) e = gwlz_decompress(ctx, stream, stream_size, base, info->decompressed_bytes);
    gwlz_set_skip_enhancer(ctx, 0);
    if (e) {
      errmsg("--png: base reconstruction: %s", gwlz_error_string(e));
      free(base);
      return 0;
    }
    basep = base;
  }
  png_view v;
  memset(&v, 0, sizeof v);
  v.type = info->type;
  v.ndims = info->ndims;
  memcpy(v.dims, info->dims, sizeof v.dims);
  v.has_fill = info->has_fill;
  v.fill = info->fill_value;
  v.orig = input;
  v.base = basep;
  v.out = output;
  v.enhanced = info->enhancer != GWLZ_ENH_NONE;
  v.base_name = info->base == GWLZ_BASE_AUTO ? "lossless" : gwlz_base_name(info->base);
  const char *name = o->in ? o->in : o->cmp;
  const char *slash = strrchr(name, '/');
  v.caption = slash ? slash + 1 : name;
  v.slice_axis = -1;
  if (o->slice_letter) {
    int k = o->slice_letter == 'x' ? 0 : o->slice_letter == 'y' ? 1 : o->slice_letter == 'z' ? 2 : 3;
    if (k >= info->ndims) {
      errmsg("--slice %c=...: the field has %d dimensions", o->slice_letter, info->ndims);
      free(base);
      return 0;
    }
    v.slice_axis = info->ndims - 1 - k;
    v.slice_index = o->slice_index;
  }
  v.log_scale = o->png_log;
  char err[160];
  int ok = png_render(&v, png, png_size, err, sizeof err);
  if (!ok) errmsg("--png: %s", err);
  free(base);
  return ok;
}
#endif

/* gwlz --h5repack-arg [bound and enhancer options]: prints the argument of
 * "h5repack -f" that applies the gwlz HDF5 filter with those settings. */
static int print_h5repack_arg(int argc, char **argv, int at) {
  char **rest = malloc((size_t)argc * sizeof *rest);
  if (!rest) {
    errmsg("out of memory");
    return EXIT_FAIL;
  }
  int n = 0;
  for (int k = 0; k < argc; k++)
    if (k != at) rest[n++] = argv[k];
  options o;
  int rc = parse_args(n, rest, &o);
  free(rest);
  if (rc < 0) return 0;
  if (rc == 0) return EXIT_USAGE;
  if (o.in || o.cmp || o.out || o.ndims || o.type_given) {
    errmsg("--h5repack-arg takes no files, type or dimensions: the filter reads them from "
           "each dataset");
    return EXIT_USAGE;
  }
  if (o.arch_given || o.epochs_given || o.train_given || o.seed_given || o.analyse) {
    errmsg("--h5repack-arg: the HDF5 filter takes the bound, -G, --enhancer, --base, "
           "--fast, --bound, --fill and --threads only");
    return EXIT_USAGE;
  }
  if (!resolve_bound(&o)) return EXIT_USAGE;
  gwlz_h5z_settings s;
  gwlz_h5z_settings_init(&s);
  s.mode = o.mode;
  s.abs_bound = o.abs_eb;
  s.rel_bound = o.rel_eb;
  s.psnr = o.psnr;
  if (o.groups_given) s.groups = o.groups;
  if (o.enhancer_given) s.enhancer = (int)o.enhancer;
  if (o.base_given) s.base = (int)o.base;
  if (o.threads_given) s.threads = o.threads;
  if (o.policy_given) s.relaxed = o.policy == GWLZ_BOUND_RELAXED;
  s.fast = o.fast;
  if (o.fill_given) {
    s.has_fill = 1;
    s.fill = o.fill;
  }
  unsigned cd[GWLZ_H5Z_CD_USER];
  size_t count = gwlz_h5z_encode(&s, cd);
  printf("UD=%u,0,%zu", (unsigned)GWLZ_H5Z_FILTER_ID, count);
  for (size_t k = 0; k < count; k++) printf(",%u", cd[k]);
  printf("\n");
  return fflush(stdout) == 0 && !ferror(stdout) ? 0 : EXIT_FAIL;
}

int main(int argc, char **argv) {
  for (int k = 1; k < argc; k++)
    if (!strcmp(argv[k], "--h5repack-arg")) return print_h5repack_arg(argc, argv, k);
  options o;
  int rc = parse_args(argc, argv, &o);
  if (rc < 0) return 0;
  if (rc == 0) return EXIT_USAGE;

  /* ---- usage checks: all of them before any file is touched ---- */
  /* -i with a stream to read (-z) and no error bound: decompression, with
   * -i naming the original to compare with (-a, --png). */
  int bound_given = o.mode_given || o.abs_given || o.rel_given || o.psnr_given;
  int reference = o.in && o.cmp && !bound_given;
  int compress = o.in != NULL && !reference;
  int decompress = o.out != NULL;
  /* --info, or -a with only a stream: show the stream's header */
  int show_info = o.info || (o.analyse && !compress && !decompress && o.cmp);
  if (argc == 1) {
    usage(stderr);
    return EXIT_USAGE;
  }
#ifndef GWLZ_HAVE_PNG
  if (o.png) {
    errmsg("--png: this build of gwlz has no PNG support (libpng)");
    return EXIT_USAGE;
  }
#endif
  if (compress && !o.out && !o.cmp) {
    errmsg("-i needs -z (compress) and/or -o (compress and decompress)");
    return EXIT_USAGE;
  }
  if (reference && !o.out && !o.png) {
    errmsg("no error bound: give e.g. -M REL 1e-3 to compress (-i and -z without a bound "
           "decompress -z and compare with -i: that needs -o or --png)");
    return EXIT_USAGE;
  }
  if (o.region && (o.in || !o.cmp || !o.out || o.analyse || o.png || show_info)) {
    errmsg("--region decodes a box: give -z IN and -o OUT (no -i, -a, --png or --info)");
    return EXIT_USAGE;
  }
  if (!compress && !(o.cmp && (o.out || o.png || show_info))) {
    errmsg("nothing to do: give -i and -z to compress, -z and -o (or --png) to decompress, "
           "-z and --info to describe a stream");
    return EXIT_USAGE;
  }
  size_t dims_c[GWLZ_MAX_DIMS], n = 1;
  gwlz_ctx *ctx = gwlz_create();
  if (!ctx) {
    errmsg("out of memory");
    return EXIT_FAIL;
  }
  if (compress) {
    if (!o.ndims) {
      errmsg("compression needs dimensions (-1, -2, -3 or -4)");
      gwlz_free(ctx);
      return EXIT_USAGE;
    }
    int overflow = 0;
    for (int k = 0; k < o.ndims; k++) {
      dims_c[k] = o.dims_f[o.ndims - 1 - k];
      if (n > SIZE_MAX / dims_c[k]) overflow = 1;
      else n *= dims_c[k];
    }
    if (overflow || n > SIZE_MAX / type_size(o.type)) {
      errmsg("dimensions too large");
      gwlz_free(ctx);
      return EXIT_USAGE;
    }
    /* the library checks the settings now, not after the input is read */
    if (!resolve_bound(&o) || !check_settings(&o, 1) || !set_params(ctx, &o, dims_c)) {
      gwlz_free(ctx);
      return EXIT_USAGE;
    }
  } else {
    check_settings(&o, 0);
    /* threads also decode (the output does not depend on them) */
    if (o.threads_given && gwlz_set_threads(ctx, o.threads) != GWLZ_OK) {
      gwlz_free(ctx);
      return EXIT_USAGE;
    }
  }
  if (same_file(o.in, o.cmp) || same_file(o.in, o.out) || same_file(o.cmp, o.out) ||
      same_file(o.png, o.in) || same_file(o.png, o.cmp) || same_file(o.png, o.out)) {
    errmsg("input and output files must differ");
    gwlz_free(ctx);
    return EXIT_USAGE;
  }
  /* Standard output carries at most one output, and no binary to a terminal. */
  int cmp_out = compress && is_stdio(o.cmp), out_out = decompress && is_stdio(o.out);
  if ((cmp_out && out_out) || is_stdio(o.png)) {
    errmsg("standard output (-) takes one output: -z or -o");
    gwlz_free(ctx);
    return EXIT_USAGE;
  }
  if ((cmp_out || out_out) && isatty(STDOUT_FILENO)) {
    errmsg("refusing to write binary data to a terminal (redirect standard output)");
    gwlz_free(ctx);
    return EXIT_USAGE;
  }

  int status = EXIT_FAIL;
  void *input = NULL, *stream = NULL, *output = NULL;
  size_t input_size = 0, stream_size = 0;
  out_file outs[3];
  memset(outs, 0, sizeof outs);
  uint8_t *picture = NULL;
#ifdef GWLZ_HAVE_PNG
  size_t picture_size = 0;
#endif
  progress_state ps = {0, 0, 0};
  double comp_s = 0, decomp_s = 0;
  gwlz_stats stats;
  int have_stats = 0;
  gwlz_info info;
  gwlz_error e;
  if (!o.quiet && isatty(STDERR_FILENO)) gwlz_set_progress(ctx, on_progress, &ps);

  /* ---- outputs: refused ones fail before any work ---- */
  install_signal_handlers();
  if (compress && o.cmp && !out_prepare(&outs[0], 0, o.cmp, o.force)) goto done;
  if (decompress && !out_prepare(&outs[1], 1, o.out, o.force)) goto done;
  if (o.png && !out_prepare(&outs[2], 2, o.png, o.force)) goto done;
  if (o.region) {
    status = run_region(&o, ctx, &outs[1]);
    goto done;
  }

  if (compress) {
    size_t es = type_size(o.type);
    /* Without -a and --png a regular input file is streamed: the library
     * reads it a group of chunks at a time and keeps only the stream. */
    struct stat ist;
    int in_fd = o.analyse || o.png || is_stdio(o.in) ? -1 : open(o.in, O_RDONLY);
    if (in_fd >= 0 && (fstat(in_fd, &ist) != 0 || !S_ISREG(ist.st_mode))) {
      close(in_fd);
      in_fd = -1;
    }
    if (in_fd < 0 && !read_file(o.in, &input, &input_size)) goto done;
    if (in_fd >= 0) input_size = (uintmax_t)ist.st_size <= SIZE_MAX ? (size_t)ist.st_size : 0;
    if (input_size != n * es) {
      char d[128];
      dims_string(o.dims_f, o.ndims, d, sizeof d);
      errmsg("input has %zu bytes, expected %zu for %d dims %s %s", input_size, n * es, o.ndims,
             d, type_name(o.type));
      if (in_fd >= 0) close(in_fd);
      goto done;
    }
    if (in_fd >= 0) {
      fd_io in = {in_fd, 0};
      mem_out so = {NULL, 0, 0};
      double t0 = now_seconds();
      e = gwlz_compress_stream(ctx, fd_read_cb, &in, mem_write_cb, &so, NULL);
      comp_s = now_seconds() - t0;
      end_progress(&ps);
      close(in_fd);
      stream = so.p;
      stream_size = so.size;
      if (e) {
        if (e == GWLZ_ERR_IO && in.err) errmsg("cannot read '%s': %s", o.in, strerror(in.err));
        else errmsg("compression failed: %s", gwlz_error_string(e));
        goto done;
      }
      have_stats = gwlz_get_stats(ctx, &stats) == GWLZ_OK;
      goto compressed;
    }
    size_t cap = gwlz_compress_bound(ctx);
    if (cap == 0 || !(stream = malloc(cap))) {
      errmsg("cannot allocate the output buffer (%zu bytes)", cap);
      goto done;
    }
    double t0 = now_seconds();
    e = gwlz_compress(ctx, input, stream, cap, &stream_size);
    comp_s = now_seconds() - t0;
    end_progress(&ps);
    if (e) {
      errmsg("compression failed: %s", gwlz_error_string(e));
      goto done;
    }
    have_stats = gwlz_get_stats(ctx, &stats) == GWLZ_OK;
  } else {
    if (!read_file(o.cmp, &stream, &stream_size)) goto done;
    if (reference && !read_file(o.in, &input, &input_size)) goto done;
  }

compressed:;
  const char *sname = compress ? "(new stream)" : o.cmp;
  e = gwlz_get_info(stream, stream_size, &info);
  if (e) {
    errmsg("'%s': %s", sname, gwlz_error_string(e));
    goto done;
  }
  if (!compress && !check_stream_matches(&o, &info)) {
    status = EXIT_USAGE;
    goto done;
  }
  if (reference && input_size != info.decompressed_bytes) {
    errmsg("'%s' has %zu bytes but '%s' holds %zu", o.in, input_size, o.cmp,
           info.decompressed_bytes);
    status = EXIT_USAGE;
    goto done;
  }
  if (show_info && !compress && !decompress && !o.png) {
    status = print_info(o.cmp, stream, stream_size, &info);
    goto done;
  }

  /* With -a a compression is also decoded in memory, for the metrics (so
   * are --png and outputs that are not regular files); a regular output file
   * is written a slab at a time. */
  int streamed = decompress && !o.analyse && !o.png && !outs[1].through && !outs[1].to_stdout;
  int decode = (decompress && !streamed) || (compress && o.analyse) || o.png;
  if (decode || streamed) {
    /* the whole stream is checked before its output is allocated */
    e = gwlz_check_stream(stream, stream_size);
    if (e) {
      errmsg("'%s': %s", sname, gwlz_error_string(e));
      goto done;
    }
  }
  if (decode) {
    if (!(output = malloc(info.decompressed_bytes ? info.decompressed_bytes : 1))) {
      errmsg("'%s': out of memory for its %zu decompressed bytes", sname,
             info.decompressed_bytes);
      goto done;
    }
    double t0 = now_seconds();
    e = gwlz_decompress(ctx, stream, stream_size, output, info.decompressed_bytes);
    decomp_s = now_seconds() - t0;
    if (e) {
      errmsg("decompression of '%s' failed: %s", sname, gwlz_error_string(e));
      goto done;
    }
  }

  /* Write every output to a temporary first, then put them all in place. */
  if (compress && o.cmp && !out_stage(&outs[0], stream, stream_size)) goto done;
  if (decompress && !streamed && !out_stage(&outs[1], output, info.decompressed_bytes)) goto done;
  if (streamed) {
    double t0 = now_seconds();
    if (!out_stage_decoded(&outs[1], ctx, stream, stream_size, sname)) goto done;
    decomp_s = now_seconds() - t0;
  }
#ifdef GWLZ_HAVE_PNG
  if (o.png && (!make_picture(&o, ctx, &info, stream, stream_size, input, output, &picture,
                              &picture_size) ||
                !out_stage(&outs[2], picture, picture_size)))
    goto done;
#endif
  if (compress && o.cmp && !out_commit(&outs[0], stream, stream_size)) goto done;
  if (decompress && !out_commit(&outs[1], output, info.decompressed_bytes)) goto done;
#ifdef GWLZ_HAVE_PNG
  if (o.png && !out_commit(&outs[2], picture, picture_size)) goto done;
#endif
  /* Data went to standard output: the -a report goes to standard error. */
  if ((cmp_out || out_out) && (o.analyse || show_info)) {
    fflush(stdout);
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
      errmsg("cannot send the report to standard error: %s", strerror(errno));
      goto done;
    }
  }

  status = 0;
  if (show_info) status = print_info(o.cmp ? o.cmp : sname, stream, stream_size, &info);
  if (o.analyse && status == 0)
    status = print_report(&o, &info, input, output, stream_size, comp_s, decomp_s,
                          have_stats ? &stats : NULL);

done:
  for (int k = 0; k < 3; k++) out_free(&outs[k]);
  free(picture);
  gwlz_free(ctx);
  free(input);
  free(stream);
  free(output);
  return status;
}
