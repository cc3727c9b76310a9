// Overflow-safe byte-range arithmetic. Every range that reaches a kernel passes RangeFits first.
#pragma once

#include <cstdint>

namespace diffai {

// True when [offset, offset + length) lies inside [0, size). Never computes offset + length, so
// values near 2^64 cannot wrap around.
inline bool RangeFits(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

// a * b into *out; false when the product does not fit in 64 bits.
inline bool CheckedMul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

// The largest integer a JS number holds exactly (Number.MAX_SAFE_INTEGER).
constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;

}  // namespace diffai
