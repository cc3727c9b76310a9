#include "core/jobs.h"

#include <cmath>

#include "core/range.h"
#include "simd/kernels.h"

namespace diffai {

int SrcOf(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return simd::kSrcF32;
    case DType::kF16:
      return simd::kSrcF16;
    case DType::kBF16:
      return simd::kSrcBF16;
    default:
      return -1;
  }
}

double ShiftForDType(const StatsAcc& acc, double first, DType dtype) {
  const double c = ShiftFor(acc, first);
  if (dtype == DType::kF64 || Info(dtype).float32_exact) return c;
  return std::nearbyint(c);
}

Status ResolveSpan(const std::string& what, DType dtype, uint64_t count, uint64_t offset,
                   uint64_t byte_length, const uint8_t* container, uint64_t container_size,
                   TensorSpan* span) {
  const DTypeInfo& info = Info(dtype);
  uint64_t expected = 0;
  if (!ByteLengthOf(dtype, count, &expected)) {
    if (count % info.block_elems != 0) {
      return Status::Error(Code::kInvalidArgument,
                           what + ": " + std::string(info.name) + " needs a multiple of " +
                               std::to_string(info.block_elems) + " elements, got " +
                               std::to_string(count) + " in " + span->label,
                           span->file ? span->label : std::string());
    }
    return Status::Error(Code::kInvalidArgument,
                         what + ": " + std::to_string(count) + " elements of " + info.name +
                             " overflow a byte length in " + span->label,
                         span->file ? span->label : std::string());
  }
  if (expected != byte_length) {
    return Status::Error(Code::kInvalidArgument,
                         what + ": byteLength " + std::to_string(byte_length) + " does not match " +
                             std::to_string(count) + " elements of " + info.name + " (" +
                             std::to_string(expected) + " bytes) in " + span->label,
                         span->file ? span->label : std::string());
  }
  if (!RangeFits(offset, byte_length, container_size)) {
    return Status::Error(Code::kRange,
                         what + ": bytes [" + std::to_string(offset) + ", " +
                             std::to_string(offset) + " + " + std::to_string(byte_length) +
                             ") lie outside " + span->label + " (" +
                             std::to_string(container_size) + " bytes)",
                         span->file ? span->label : std::string());
  }
  span->data = byte_length == 0 ? container : container + offset;
  span->bytes = byte_length;
  span->count = count;
  span->dtype = dtype;
  return Status::Ok();
}

}  // namespace diffai
