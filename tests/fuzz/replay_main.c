/*
 * replay_main.c - runs a fuzz target as a plain program (no libFuzzer).
 *
 *   fuzz_x [--generated] [--write-seeds DIR] [PATH...]
 *
 * --generated      feed the target's own seeds (gwlz_fuzz_seeds) and, for each,
 *                  truncations (every length for seeds up to 1024 bytes, a
 *                  sample of 256 otherwise), single bit flips and random byte
 *                  overwrites from a fixed-seed PRNG
 * --write-seeds D  write the seeds as files D/seed-NNN (to make a corpus)
 * PATH             a file, or a directory whose files are all fed, and so are
 *                  those of its subdirectory named after this program (e.g.
 *                  corpus/fuzz_huffman/ for fuzz_huffman); a missing path is
 *                  skipped: the checked-in corpus is optional
 * Exit status 0 when every input ran; a crash or abort is the failure.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

typedef struct {
  size_t inputs;
  size_t seeds;
  uint64_t rng;
  const char *write_dir;
} replay_state;

static void run_one(replay_state *s, const uint8_t *data, size_t size) {
  /* a private copy in its own allocation, so ASan sees any overread */
  uint8_t *cp = (uint8_t *)malloc(size ? size : 1);
  if (!cp) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  if (size) memcpy(cp, data, size);
  LLVMFuzzerTestOneInput(cp, size);
  free(cp);
  s->inputs++;
}

static void mutate_and_run(void *user, const uint8_t *data, size_t size) {
  replay_state *s = (replay_state *)user;
  s->seeds++;
  if (s->write_dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%03zu", s->write_dir, s->seeds);
    FILE *f = fopen(path, "wb");
    if (f) {
      fwrite(data, 1, size, f);
      fclose(f);
    }
  }
  run_one(s, data, size);
  /* truncations */
  if (size <= 1024) {
    for (size_t len = 0; len < size; len++) run_one(s, data, len);
  } else {
    for (int k = 0; k < 256; k++) run_one(s, data, (size_t)(gwlz_rng_next(&s->rng) % size));
  }
  if (size == 0) return;
  uint8_t *m = (uint8_t *)malloc(size);
  if (!m) exit(2);
  /* single bit flips: the first 128 bytes exhaustively by byte, then random */
  for (size_t i = 0; i < size && i < 128; i++) {
    memcpy(m, data, size);
    m[i] ^= (uint8_t)(1u << (gwlz_rng_next(&s->rng) & 7));
    run_one(s, m, size);
  }
  for (int k = 0; k < 200; k++) {
    memcpy(m, data, size);
    uint64_t r = gwlz_rng_next(&s->rng);
    m[r % size] ^= (uint8_t)(1u << ((r >> 40) & 7));
    run_one(s, m, size);
  }
  /* random byte overwrites, 1..4 bytes, some with extreme values */
  for (int k = 0; k < 200; k++) {
    memcpy(m, data, size);
    int cnt = 1 + (int)(gwlz_rng_next(&s->rng) & 3);
    for (int j = 0; j < cnt; j++) {
      uint64_t r = gwlz_rng_next(&s->rng);
      uint8_t v = (uint8_t)(r >> 32);
      if ((r >> 48) % 4 == 0) v = 0xFF;
      if ((r >> 48) % 4 == 1) v = 0x00;
      m[r % size] = v;
    }
    run_one(s, m, size);
  }
  free(m);
}

static void run_dir_files(replay_state *s, const char *path);

static void run_file(replay_state *s, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return;
  }
  size_t cap = 1 << 16, size = 0;
  uint8_t *buf = (uint8_t *)malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + size, 1, cap - size, f)) > 0) {
    size += got;
    if (size == cap) {
      uint8_t *nb = (uint8_t *)realloc(buf, cap * 2);
      if (!nb) break;
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) run_one(s, buf, size);
  free(buf);
}

static const char *g_target = "";

static void run_path(replay_state *s, const char *path) {
  run_dir_files(s, path);
  if (g_target[0]) {
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/%s", path, g_target);
    struct stat sb;
    if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode)) run_dir_files(s, sub);
  }
}

static void run_dir_files(replay_state *s, const char *path) {
  struct stat sb;
  if (stat(path, &sb) != 0) return; /* optional corpus */
  if (!S_ISDIR(sb.st_mode)) {
    run_file(s, path);
    return;
  }
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
    struct stat es;
    if (stat(sub, &es) == 0 && S_ISREG(es.st_mode)) run_file(s, sub);
  }
  closedir(d);
}

int main(int argc, char **argv) {
  replay_state s;
  memset(&s, 0, sizeof s);
  s.rng = 0x6777u;
  int generated = 0;
  const char *slash = strrchr(argv[0], '/');
  g_target = slash ? slash + 1 : argv[0];
  double t0 = gwlz_now();
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--generated") == 0) generated = 1;
    else if (strcmp(argv[i], "--write-seeds") == 0 && i + 1 < argc) s.write_dir = argv[++i];
  }
  if (generated || s.write_dir) gwlz_fuzz_seeds(mutate_and_run, &s);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--generated") == 0) continue;
    if (strcmp(argv[i], "--write-seeds") == 0) {
      i++;
      continue;
    }
    run_path(&s, argv[i]);
  }
  printf("%s: %zu seeds, %zu inputs, %.1f s\n", argv[0], s.seeds, s.inputs, gwlz_now() - t0);
  if ((generated || s.write_dir) && s.seeds == 0) {
    fprintf(stderr, "no seeds were generated\n");
    return 1;
  }
  return 0;
}
