/* checksum.h - CRC-32C (Castagnoli) of byte ranges, for stream integrity. */
#ifndef GWLZ_CHECKSUM_H
#define GWLZ_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>
/* Continue a CRC-32C: start with crc = 0; crc32c(crc32c(0,a),b) == crc32c(0,a||b). */
uint32_t gwlz_crc32c(uint32_t crc, const void *data, size_t n);
#endif
