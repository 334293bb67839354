/*
 * checksum.c - CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial
 * value and final XOR 0xFFFFFFFF. CRC-32C("123456789") = 0xE3069283.
 * On x86-64 with SSE4.2 (checked at run time) the crc32 instruction is used;
 * elsewhere, portable slicing-by-8. The tables are built once by the first caller; a
 * thread that finds another one building them uses the bitwise loop meanwhile,
 * so there is no data race and no lock.
 */
#include "format/checksum.h"

#include <string.h>

#if defined(__STDC_NO_ATOMICS__)
#error "C11 atomics required"
#endif
#include <stdatomic.h>

static uint32_t crc_tab[8][256];
static atomic_int crc_state; /* 0 = not built, 1 = being built, 2 = ready */

static void crc_build(void) {
  uint32_t(*t)[256] = crc_tab;
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++) {
    for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
}

static uint32_t crc_bitwise(uint32_t c, const uint8_t *p, size_t n) {
  while (n--) {
    c ^= *p++;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return c;
}

/* 1 when the tables may be read. */
static int crc_tables_ready(void) {
  int st = atomic_load_explicit(&crc_state, memory_order_acquire);
  if (st == 2) return 1;
  if (st == 0) {
    int expect = 0;
    if (atomic_compare_exchange_strong_explicit(&crc_state, &expect, 1, memory_order_acq_rel,
                                                memory_order_acquire)) {
      crc_build();
      atomic_store_explicit(&crc_state, 2, memory_order_release);
      return 1;
    }
  }
  return 0;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GWLZ_CRC_HW 1
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) {
  uint64_t c64 = c;
  while (n && ((uintptr_t)p & 7)) {
    c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
    n--;
  }
  while (n >= 32) {
    uint64_t a, b, d, e;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    memcpy(&d, p + 16, 8);
    memcpy(&e, p + 24, 8);
    c64 = __builtin_ia32_crc32di(c64, a);
    c64 = __builtin_ia32_crc32di(c64, b);
    c64 = __builtin_ia32_crc32di(c64, d);
    c64 = __builtin_ia32_crc32di(c64, e);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t a;
    memcpy(&a, p, 8);
    c64 = __builtin_ia32_crc32di(c64, a);
    p += 8;
    n -= 8;
  }
  while (n--) c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
  return (uint32_t)c64;
}

static atomic_int crc_hw_state; /* 0 = unknown, 1 = available, 2 = not */

static int crc_hw_available(void) {
  int st = atomic_load_explicit(&crc_hw_state, memory_order_relaxed);
  if (st == 0) {
    __builtin_cpu_init();
    st = __builtin_cpu_supports("sse4.2") ? 1 : 2;
    atomic_store_explicit(&crc_hw_state, st, memory_order_relaxed);
  }
  return st == 1;
}
#endif

uint32_t gwlz_crc32c(uint32_t crc, const void *data, size_t n) {
  const uint8_t *p = (const uint8_t *)data;
  uint32_t c = ~crc;
#ifdef GWLZ_CRC_HW
  if (crc_hw_available()) return ~crc_hw(c, p, n);
#endif
  if (!crc_tables_ready()) return ~crc_bitwise(c, p, n);
  while (n && ((uintptr_t)p & 7)) {
    c = (c >> 8) ^ crc_tab[0][(c ^ *p++) & 0xFF];
    n--;
  }
  while (n >= 8) {
    uint32_t lo = ((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                   ((uint32_t)p[3] << 24)) ^ c;
    uint32_t hi = (uint32_t)p[4] | ((uint32_t)p[5] << 8) | ((uint32_t)p[6] << 16) |
                  ((uint32_t)p[7] << 24);
    c = crc_tab[7][lo & 0xFF] ^ crc_tab[6][(lo >> 8) & 0xFF] ^ crc_tab[5][(lo >> 16) & 0xFF] ^
        crc_tab[4][lo >> 24] ^ crc_tab[3][hi & 0xFF] ^ crc_tab[2][(hi >> 8) & 0xFF] ^
        crc_tab[1][(hi >> 16) & 0xFF] ^ crc_tab[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ crc_tab[0][(c ^ *p++) & 0xFF];
  return ~c;
}
