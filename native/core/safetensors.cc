#include "core/safetensors.h"

#include "core/range.h"

namespace diffai {

Status SafetensorsFraming(const uint8_t* data, uint64_t size, const std::string& path,
                          uint64_t* header_length) {
  if (size < 8 || data == nullptr) {
    return Status::Error(Code::kSafetensorsHeaderTooSmall,
                         path + ": " + std::to_string(size) +
                             " bytes is too small for a safetensors file (the header length "
                             "alone takes 8)",
                         path);
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];  // little-endian on every host
  if (n > kSafetensorsMaxHeader) {
    return Status::Error(Code::kSafetensorsHeaderTooLarge,
                         path + ": header length " + std::to_string(n) + " exceeds the " +
                             std::to_string(kSafetensorsMaxHeader) + "-byte limit",
                         path);
  }
  if (!RangeFits(8, n, size)) {
    return Status::Error(Code::kSafetensorsInvalidHeaderLength,
                         path + ": header length " + std::to_string(n) +
                             " runs past the end of "
                             "the file (8 + " +
                             std::to_string(n) + " > " + std::to_string(size) + " bytes)",
                         path);
  }
  *header_length = n;
  return Status::Ok();
}

}  // namespace diffai
