// The dtype table. Codes are fixed: they are the `code` fields of lib/formats/dtype.ts.
#pragma once

#include <cstdint>

namespace diffai {

enum class DType : uint8_t {
  kF64 = 0,
  kF32 = 1,
  kF16 = 2,
  kBF16 = 3,
  kI64 = 4,
  kI32 = 5,
  kI16 = 6,
  kI8 = 7,
  kU64 = 8,
  kU32 = 9,
  kU16 = 10,
  kU8 = 11,
  kBool = 12,
  kF8E4M3 = 13,  // float8_e4m3fn: bias 7, no Inf, S.1111.111 is NaN
  kF8E5M2 = 14,  // float8_e5m2: the top byte of an IEEE binary16
  kQ8_0 = 15,    // GGUF Q8_0: blocks of 32 elements = LE binary16 scale + 32 x int8 (34 bytes)
};

constexpr int kDTypeCount = 16;

struct DTypeInfo {
  const char* name;
  // Elements and bytes per storage unit: 1 element of `size` bytes, or one quantization block.
  uint32_t block_elems;
  uint32_t block_bytes;
  // Every value converts to float32 exactly, so the SIMD kernels may accumulate it in float32
  // lanes. False for F64 and the integers (widened exactly to double instead).
  bool float32_exact;
};

const DTypeInfo& Info(DType dtype);

// Maps a dtype code from JS; false for anything outside 0..15.
bool DTypeFromCode(int64_t code, DType* out);

// Bytes of `count` elements into *bytes; false on overflow or when a block type's count is not a
// multiple of its block size.
bool ByteLengthOf(DType dtype, uint64_t count, uint64_t* bytes);

// Byte offset of element `elem` (for block types elem must be a multiple of the block size).
inline uint64_t ByteOffsetOf(DType dtype, uint64_t elem) {
  const DTypeInfo& i = Info(dtype);
  return elem / i.block_elems * i.block_bytes;
}

}  // namespace diffai
