// Fuzz target for the safetensors framing and the range resolution that guards every kernel read:
// any input must give either an error status or a header/range that lies inside the buffer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/jobs.h"
#include "core/range.h"
#include "core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t n = 0;
  diffai::Status s = diffai::SafetensorsFraming(data, size, "fuzz", &n);
  if (s.ok() && !(n <= diffai::kSafetensorsMaxHeader && 8 + n <= size)) std::abort();

  // Interpret the bytes as a range request against the same buffer.
  if (size >= 25) {
    uint64_t count, offset, length;
    std::memcpy(&count, data, 8);
    std::memcpy(&offset, data + 8, 8);
    std::memcpy(&length, data + 16, 8);
    diffai::DType dtype;
    if (!diffai::DTypeFromCode(data[24] % 20, &dtype)) return 0;
    diffai::TensorSpan span;
    span.label = "fuzz";
    s = diffai::ResolveSpan("fuzz", dtype, count, offset, length, data, size, &span);
    if (s.ok()) {
      uint64_t bytes = 0;
      if (!diffai::ByteLengthOf(dtype, count, &bytes) || bytes != length) std::abort();
      if (!diffai::RangeFits(offset, length, size)) std::abort();
      if (length > 0 && (span.data < data || span.data + length > data + size)) std::abort();
    }
  }
  return 0;
}
