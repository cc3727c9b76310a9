// safetensors framing: the first 8 bytes are a little-endian u64 N, followed by N bytes of JSON
// header, followed by the data. Validation order and limits follow huggingface/safetensors
// (safetensors/src/tensor.rs): too small, then too large, then past the end. Parsing the JSON is
// the TypeScript side's job.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace diffai {

constexpr uint64_t kSafetensorsMaxHeader = 100000000;  // the reference implementation's cap

// Checks the framing of a file of `size` bytes at `data` and stores N in *header_length. The
// header is bytes [8, 8 + N); the data section starts at 8 + N. `path` names the file in errors.
// Errors: kSafetensorsHeaderTooSmall (size < 8), kSafetensorsHeaderTooLarge (N > 1e8),
// kSafetensorsInvalidHeaderLength (8 + N > size).
Status SafetensorsFraming(const uint8_t* data, uint64_t size, const std::string& path,
                          uint64_t* header_length);

}  // namespace diffai
