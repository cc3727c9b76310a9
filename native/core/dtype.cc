#include "core/dtype.h"

#include "core/range.h"

namespace diffai {

namespace {

// Indexed by code; must stay in the order of the enum.
constexpr DTypeInfo kTable[kDTypeCount] = {
    {"F64", 1, 8, false},  {"F32", 1, 4, true},     {"F16", 1, 2, true},     {"BF16", 1, 2, true},
    {"I64", 1, 8, false},  {"I32", 1, 4, false},    {"I16", 1, 2, false},    {"I8", 1, 1, false},
    {"U64", 1, 8, false},  {"U32", 1, 4, false},    {"U16", 1, 2, false},    {"U8", 1, 1, false},
    {"BOOL", 1, 1, false}, {"F8_E4M3", 1, 1, true}, {"F8_E5M2", 1, 1, true}, {"Q8_0", 32, 34, true},
};

}  // namespace

const DTypeInfo& Info(DType dtype) { return kTable[static_cast<int>(dtype)]; }

bool DTypeFromCode(int64_t code, DType* out) {
  if (code < 0 || code >= kDTypeCount) return false;
  *out = static_cast<DType>(code);
  return true;
}

bool ByteLengthOf(DType dtype, uint64_t count, uint64_t* bytes) {
  const DTypeInfo& i = Info(dtype);
  if (count % i.block_elems != 0) return false;
  return CheckedMul(count / i.block_elems, i.block_bytes, bytes);
}

}  // namespace diffai
