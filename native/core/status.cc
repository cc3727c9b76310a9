#include "core/status.h"

namespace diffai {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kFileNotFound:
      return "ERR_FILE_NOT_FOUND";
    case Code::kFileIo:
      return "ERR_FILE_IO";
    case Code::kFileTooLarge:
      return "ERR_FILE_TOO_LARGE";
    case Code::kFileChanged:
      return "ERR_FILE_CHANGED";
    case Code::kFileBusy:
      return "ERR_FILE_BUSY";
    case Code::kFileClosed:
      return "ERR_FILE_CLOSED";
    case Code::kRange:
      return "ERR_RANGE";
    case Code::kInvalidArgument:
      return "ERR_INVALID_ARGUMENT";
    case Code::kSafetensorsHeaderTooSmall:
      return "ERR_SAFETENSORS_HEADER_TOO_SMALL";
    case Code::kSafetensorsHeaderTooLarge:
      return "ERR_SAFETENSORS_HEADER_TOO_LARGE";
    case Code::kSafetensorsInvalidHeaderLength:
      return "ERR_SAFETENSORS_INVALID_HEADER_LENGTH";
    case Code::kAborted:
      return "ERR_ABORTED";
    case Code::kOutOfMemory:
      return "ERR_OUT_OF_MEMORY";
    case Code::kInternal:
      return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

}  // namespace diffai
