// Status: how native/core and native/simd report failure. No exception crosses the core API; the
// addon turns a non-ok Status into a JS error whose `code` is CodeName(code) (lib/errors.ts).
#pragma once

#include <string>

namespace diffai {

enum class Code : int {
  kOk = 0,
  kFileNotFound,
  kFileIo,
  kFileTooLarge,
  kFileChanged,
  kFileBusy,
  kFileClosed,
  kRange,
  kInvalidArgument,
  kSafetensorsHeaderTooSmall,
  kSafetensorsHeaderTooLarge,
  kSafetensorsInvalidHeaderLength,
  kAborted,
  kOutOfMemory,
  kInternal,
};

// The stable string of a code, e.g. "ERR_RANGE"; the same strings as lib/errors.ts.
const char* CodeName(Code code);

struct Status {
  Code code = Code::kOk;
  std::string message;
  // The file the error is about, empty when there is none.
  std::string file;

  bool ok() const { return code == Code::kOk; }
  static Status Ok() { return Status(); }
  static Status Error(Code code, std::string message, std::string file = std::string()) {
    Status s;
    s.code = code;
    s.message = std::move(message);
    s.file = std::move(file);
    return s;
  }
};

}  // namespace diffai
