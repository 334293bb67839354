/*
 * golden_tool.c - helper of tests/golden/make_golden.sh (not a test):
 *
 *   golden_tool fields DIR          write the input fields the golden streams
 *                                   are made from (deterministic, any build)
 *   golden_tool md5 FILE            print the MD5 of a file
 *   golden_tool damage SMALL MODELS DIR
 *                                   write damaged variants of two valid streams
 *                                   (SMALL: container, BASE and SPEC damage;
 *                                   MODELS, with ENHM and EXCP: model damage)
 *                                   and print "name<TAB>expected error" lines
 *
 * Field names encode their shape: NAME_TYPE_D0xD1x... (C order).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/checksum.h"
#include "format/container.h"
#include "format/lossless.h"
#include "gwlz.h"
#include "testutil.h"

static double texture(size_t z, size_t y, size_t x) {
  return sin(0.9 * (double)x) * sin(0.7 * (double)y) * cos(0.5 * (double)z) +
         0.3 * sin(0.05 * (double)x * (double)y / 16.0);
}

static int write_field(const char *dir, const char *name, int isd, size_t n,
                       double (*f)(size_t i, uint64_t *st)) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t ts = isd ? 8 : 4;
  unsigned char *buf = malloc(n * ts);
  uint64_t st = 12345;
  for (size_t i = 0; i < n; i++) {
    double v = f(i, &st);
    if (isd) {
      memcpy(buf + 8 * i, &v, 8);
    } else {
      float g = (float)v;
      memcpy(buf + 4 * i, &g, 4);
    }
  }
  int ok = tu_write_file(path, buf, n * ts);
  free(buf);
  return ok;
}

static double wave1(size_t i, uint64_t *st) {
  return 10 * sin(0.05 * (double)i) + 2 * cos(0.31 * (double)i) + 0.1 * gwlz_rng_uniform(st);
}
static double noisy(size_t i, uint64_t *st) { return (double)i * 0.37 + gwlz_rng_uniform(st); }
static double nan_inf(size_t i, uint64_t *st) {
  double u = gwlz_rng_uniform(st);
  if (u < 0.03) return u < 0.01 ? INFINITY : (u < 0.02 ? -INFINITY : NAN);
  return wave1(i, st);
}
static double with_fill(size_t i, uint64_t *st) {
  return (i / 7) % 5 == 2 ? -9999.0 : wave1(i, st);
}
static double smooth3(size_t i, uint64_t *st) {
  (void)st;
  size_t x = i % 24, y = (i / 24) % 24, z = i / 576;
  return sin(0.2 * (double)x) * cos(0.15 * (double)y) + 0.05 * (double)z;
}
static double wave4(size_t i, uint64_t *st) { return wave1(i, st) * 0.01; }
static double tex3(size_t i, uint64_t *st) {
  (void)st;
  return texture(i / 4096, (i / 64) % 64, i % 64);
}
static double tex3_nan(size_t i, uint64_t *st) {
  double u = gwlz_rng_uniform(st);
  return u < 0.01 ? NAN : tex3(i, st);
}
static double tex2(size_t i, uint64_t *st) {
  (void)st;
  return texture(0, i / 128, i % 128);
}

static int cmd_fields(const char *dir) {
  int ok = 1;
  ok &= write_field(dir, "wave_f32_200", 0, 200, wave1);
  ok &= write_field(dir, "noisy_f64_37", 1, 37, noisy);
  ok &= write_field(dir, "naninf_f32_16x20", 0, 320, nan_inf);
  ok &= write_field(dir, "fill_f64_12x9", 1, 108, with_fill);
  ok &= write_field(dir, "smooth_f32_24x24x24", 0, 24 * 24 * 24, smooth3);
  ok &= write_field(dir, "wave_f64_2x3x8x10", 1, 480, wave4);
  ok &= write_field(dir, "tex_f32_16x64x64", 0, 16 * 64 * 64, tex3);
  ok &= write_field(dir, "tex_f64_16x64x64", 1, 16 * 64 * 64, tex3);
  ok &= write_field(dir, "texnan_f64_16x64x64", 1, 16 * 64 * 64, tex3_nan);
  ok &= write_field(dir, "tex_f32_128x128", 0, 128 * 128, tex2);
  return ok ? 0 : 1;
}

static int cmd_md5(const char *path) {
  size_t size;
  void *d = tu_read_file(path, &size);
  if (!d) {
    fprintf(stderr, "cannot read %s\n", path);
    return 1;
  }
  char hex[33];
  tu_md5(d, size, hex);
  printf("%s\n", hex);
  free(d);
  return 0;
}

/* ---- damaged streams ---------------------------------------------------------- */

static const char *dir_out;

static void emit(const char *name, const void *data, size_t size, gwlz_error want) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir_out, name);
  if (!tu_write_file(path, data, size)) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
  static const char *const names[] = {"OK",          "GENERIC",   "MEMORY",   "PARAM",
                                      "DST_TOO_SMALL", "TRUNCATED", "CORRUPT",  "BAD_MAGIC",
                                      "VERSION",     "CHECKSUM",  "UNSUPPORTED", "BOUND",
                                      "LOSSLESS",    "TOO_LARGE", "INTERNAL"};
  printf("%s\t%s\n", name, names[want]);
}

/* Both checksums recomputed after an edit. */
static void fix_crcs(uint8_t *s, size_t size) {
  size_t hs = (size_t)s[6] | ((size_t)s[7] << 8);
  gwlz_store_u32(s + hs - 4, gwlz_crc32c(0, s, hs - 4));
  gwlz_store_u32(s + size - 4, gwlz_crc32c(0, s, size - 16));
}

/* A stream from the header bytes of s (hs bytes) and the given sections,
 * framed by hand (so that it may break the writer's rules), with both CRCs. */
static void emit_framed(const char *name, const uint8_t *s, size_t hs, const gwlz_section *secs,
                        int ns, gwlz_error want) {
  gwlz_wbuf out;
  gwlz_wbuf_init(&out);
  gwlz_wbuf_put(&out, s, hs);
  for (int i = 0; i < ns; i++) {
    gwlz_wbuf_u32(&out, secs[i].tag);
    gwlz_wbuf_u64(&out, secs[i].size);
    gwlz_wbuf_put(&out, secs[i].data, secs[i].size);
  }
  uint32_t crc = gwlz_crc32c(0, out.data, out.size);
  gwlz_wbuf_u32(&out, GWLZ_SEC_END);
  gwlz_wbuf_u64(&out, 4);
  gwlz_wbuf_u32(&out, crc);
  emit(name, out.data, out.size, want);
  gwlz_wbuf_free(&out);
}

/* A stream with h and the given sections. */
static void emit_built(const char *name, const gwlz_header *h, const gwlz_section *secs, int ns,
                       gwlz_error want) {
  gwlz_wbuf out;
  gwlz_wbuf_init(&out);
  if (gwlz_container_write(h, secs, ns, &out) != GWLZ_OK) {
    fprintf(stderr, "cannot build %s\n", name);
    exit(1);
  }
  emit(name, out.data, out.size, want);
  gwlz_wbuf_free(&out);
}

/* Damaged variants of the small stream at path (container, BASE, SPEC) and of
 * the stream with models at mpath (ENHM, EXCP). */
static int cmd_damage(const char *path, const char *mpath, const char *dir) {
  dir_out = dir;
  size_t size;
  uint8_t *s = tu_read_file(path, &size);
  gwlz_header h;
  gwlz_section secs[GWLZ_MAX_SECTIONS];
  int ns = 0;
  if (!s || gwlz_container_read(s, size, &h, secs, GWLZ_MAX_SECTIONS, &ns) != GWLZ_OK) {
    fprintf(stderr, "%s: not a valid stream\n", path);
    return 1;
  }
  size_t msize;
  uint8_t *ms = tu_read_file(mpath, &msize);
  gwlz_header mh;
  gwlz_section msecs[GWLZ_MAX_SECTIONS];
  int mns = 0;
  if (!ms || gwlz_container_read(ms, msize, &mh, msecs, GWLZ_MAX_SECTIONS, &mns) != GWLZ_OK) {
    fprintf(stderr, "%s: not a valid stream\n", mpath);
    return 1;
  }
  uint8_t *m = malloc(size);
  uint8_t *small = s;
  const size_t hs = (size_t)s[6] | ((size_t)s[7] << 8);
  /* container */
  emit("bad-empty.gwlz", s, 0, GWLZ_ERR_TRUNCATED);
  memcpy(m, s, size);
  m[0] = 'X';
  emit("bad-magic.gwlz", m, size, GWLZ_ERR_BAD_MAGIC);
  memcpy(m, s, size);
  m[4] = 99;
  emit("bad-version-99.gwlz", m, size, GWLZ_ERR_VERSION);
  emit("bad-truncated-header.gwlz", s, hs - 1, GWLZ_ERR_TRUNCATED);
  emit("bad-truncated-end.gwlz", s, size - 1, GWLZ_ERR_TRUNCATED);
  memcpy(m, s, size);
  m[hs + 20] ^= 0x01;
  emit("bad-stream-crc.gwlz", m, size, GWLZ_ERR_CHECKSUM);
  memcpy(m, s, size);
  m[9] ^= 0x01; /* ndims */
  emit("bad-header-crc.gwlz", m, size, GWLZ_ERR_CHECKSUM);
  memcpy(m, s, size);
  m[11] |= 0x80; /* reserved flag bit */
  fix_crcs(m, size);
  emit("bad-reserved-flag.gwlz", m, size, GWLZ_ERR_UNSUPPORTED);
  {
    uint8_t *t = malloc(size + 1);
    memcpy(t, s, size);
    t[size] = 0;
    emit("bad-byte-after-end.gwlz", t, size + 1, GWLZ_ERR_CORRUPT);
    free(t);
  }
  /* sections */
  const gwlz_section *base = NULL;
  for (int i = 0; i < ns; i++)
    if (secs[i].tag == GWLZ_SEC_BASE) base = &secs[i];
  {
    gwlz_section two[2] = {*base, {GWLZ_TAG('Q', 'U', 'U', 'X'), (const uint8_t *)"x", 1}};
    emit_built("bad-unknown-critical-section.gwlz", &h, two, 2, GWLZ_ERR_UNSUPPORTED);
    two[1].tag = GWLZ_TAG('q', 'u', 'u', 'x');
    emit_built("ok-unknown-optional-section.gwlz", &h, two, 2, GWLZ_OK);
    two[1] = *base;
    emit_framed("bad-duplicate-base.gwlz", s, hs, two, 2, GWLZ_ERR_CORRUPT);
  }
  {
    gwlz_section none[1] = {{GWLZ_TAG('q', 'u', 'u', 'x'), (const uint8_t *)"x", 1}};
    emit_framed("bad-no-base.gwlz", s, hs, none, 1, GWLZ_ERR_CORRUPT);
  }
  {
    uint8_t *b = malloc(base->size);
    memcpy(b, base->data, base->size);
    b[0] = 9; /* BASE payload version */
    gwlz_section one = {GWLZ_SEC_BASE, b, base->size};
    emit_built("bad-base-version.gwlz", &h, &one, 1, GWLZ_ERR_VERSION);
    b[0] = 1;
    b[1] = 7; /* mode */
    emit_built("bad-base-mode.gwlz", &h, &one, 1, GWLZ_ERR_CORRUPT);
    free(b);
  }
  /* the field declared 2^28 times larger than the BASE section codes */
  {
    gwlz_header big = h;
    big.ndims = 1;
    big.dims[0] = (size_t)1 << 28;
    big.n = big.dims[0];
    for (int i = 1; i < GWLZ_MAX_DIMS; i++) big.dims[i] = 1;
    /* a raw BASE whose zstd frame cannot produce 1 GiB */
    gwlz_wbuf b;
    gwlz_wbuf_init(&b);
    gwlz_wbuf_u8(&b, 1);
    gwlz_wbuf_u8(&b, 0);
    static const uint8_t zeros[4096];
    gwlz_wbuf tmp;
    gwlz_wbuf_init(&tmp);
    gwlz_lossless_pack(zeros, sizeof zeros, &tmp, 3);
    /* patch the raw size of the block to the field's size */
    gwlz_store_u64(tmp.data, (uint64_t)big.n * gwlz_type_size(big.type));
    gwlz_wbuf_put(&b, tmp.data, tmp.size);
    gwlz_section one = {GWLZ_SEC_BASE, b.data, b.size};
    emit_built("bad-raw-block-claims-1gib.gwlz", &big, &one, 1, GWLZ_ERR_CORRUPT);
    gwlz_wbuf_free(&tmp);
    gwlz_wbuf_free(&b);
  }
  /* SPEC with a run past the end, in front of the valid BASE */
  {
    gwlz_wbuf d, spec;
    gwlz_wbuf_init(&d);
    gwlz_wbuf_init(&spec);
    gwlz_wbuf_varint(&d, 1);
    gwlz_wbuf_varint(&d, h.n);
    gwlz_wbuf_varint(&d, 0);
    gwlz_wbuf_u8(&d, 0);
    for (size_t k = 0; k < gwlz_type_size(h.type); k++) gwlz_wbuf_u8(&d, 0xFF);
    gwlz_wbuf_varint(&spec, 1);
    gwlz_lossless_pack(d.data, d.size, &spec, 3);
    gwlz_section two[2] = {{GWLZ_SEC_SPECIAL, spec.data, spec.size}, *base};
    emit_built("bad-spec-run-past-end.gwlz", &h, two, 2, GWLZ_ERR_CORRUPT);
    gwlz_wbuf_free(&d);
    gwlz_wbuf_free(&spec);
  }
  /* model sections, from the second stream */
  const gwlz_section *mod = NULL, *exc = NULL;
  for (int i = 0; i < mns; i++) {
    if (msecs[i].tag == GWLZ_SEC_MODELS) mod = &msecs[i];
    if (msecs[i].tag == GWLZ_SEC_EXCEPT) exc = &msecs[i];
    if (msecs[i].tag == GWLZ_SEC_BASE) base = &msecs[i];
  }
  h = mh;
  s = ms;
  size = msize;
  const size_t mhs = (size_t)ms[6] | ((size_t)ms[7] << 8);
  if (mod) {
    uint8_t *b = malloc(mod->size);
    memcpy(b, mod->data, mod->size);
    b[1] = 9; /* kind */
    gwlz_section two[2] = {*base, {GWLZ_SEC_MODELS, b, mod->size}};
    emit_built("bad-enhm-kind.gwlz", &h, two, 2, GWLZ_ERR_CORRUPT);
    memcpy(b, mod->data, mod->size);
    b[0] = 9; /* payload version */
    emit_built("bad-enhm-version.gwlz", &h, two, 2, GWLZ_ERR_VERSION);
    memcpy(b, mod->data, mod->size);
    gwlz_store_u32(b + mod->size - 4, 0x7fc00000u); /* the last parameter: NaN (binary32) */
    emit_built("bad-enhm-nan-parameter.gwlz", &h, two, 2, GWLZ_ERR_CORRUPT);
    free(b);
    gwlz_section ex = exc ? *exc : (gwlz_section){0, NULL, 0};
    if (exc) {
      gwlz_section only_exc[2] = {*base, ex};
      emit_framed("bad-excp-without-enhm.gwlz", ms, mhs, only_exc, 2, GWLZ_ERR_CORRUPT);
      uint8_t *e = malloc(exc->size);
      memcpy(e, exc->data, exc->size);
      e[0] = 9;
      gwlz_section three[3] = {*base, *mod, {GWLZ_SEC_EXCEPT, e, exc->size}};
      emit_built("bad-excp-version.gwlz", &h, three, 3, GWLZ_ERR_VERSION);
      free(e);
      /* one exception past the end */
      gwlz_wbuf d, list;
      gwlz_wbuf_init(&d);
      gwlz_wbuf_init(&list);
      gwlz_wbuf_varint(&d, h.n + 3);
      gwlz_wbuf_u8(&list, 1);
      gwlz_wbuf_varint(&list, 1);
      gwlz_lossless_pack(d.data, d.size, &list, 3);
      three[2] = (gwlz_section){GWLZ_SEC_EXCEPT, list.data, list.size};
      emit_built("bad-excp-past-end.gwlz", &h, three, 3, GWLZ_ERR_CORRUPT);
      gwlz_wbuf_free(&d);
      gwlz_wbuf_free(&list);
    }
  }
  free(m);
  free(small);
  free(ms);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "fields")) return cmd_fields(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "md5")) return cmd_md5(argv[2]);
  if (argc == 5 && !strcmp(argv[1], "damage")) return cmd_damage(argv[2], argv[3], argv[4]);
  fprintf(stderr, "usage: golden_tool fields DIR | md5 FILE | damage SMALL MODELS DIR\n");
  return 2;
}
