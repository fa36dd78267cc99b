#ifndef RAPPORT_SUPPORT_H
#define RAPPORT_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `crc`
/// (pass 0 to start). Uses the SSE4.2 / ARMv8 CRC instructions when the CPU
/// has them and a table otherwise; both give the same result.
uint32_t rapport_crc32c(uint32_t crc, const void *bytes, size_t length);

#endif
