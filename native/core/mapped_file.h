// A read-only memory mapping of a whole file (RAII).
//
// Lifetime: the mapping lives as long as the MappedFile object; the addon holds it through a
// shared_ptr so an async kernel that took a reference keeps it mapped even if JS drops the wrapper.
// Pointers from data() are valid until the object is destroyed. The whole mapping is advised
// MADV_SEQUENTIAL at open.
//
// A file that shrinks while mapped makes reads of the lost pages raise SIGBUS; see
// core/sigbus_guard.h for how kernel threads turn that into ERR_FILE_CHANGED, and CheckUnchanged()
// for the re-fstat after each call.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace diffai {

class MappedFile {
 public:
  // Opens and maps `path`. Zero-length files are valid (data() is then nullptr).
  // Errors: kFileNotFound, kFileIo (not a regular file, permission, mmap failure), kFileTooLarge.
  static Status Open(const std::string& path, std::unique_ptr<MappedFile>* out);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Re-reads the size and modification time of the open descriptor: kFileChanged when either
  // differs from open time (the mapped bytes may no longer be what the caller parsed).
  Status CheckUnchanged() const;

  // madvise(SEQUENTIAL | WILLNEED) over the pages of [offset, offset + length), clamped to the
  // file. A hint only: failures are ignored.
  void AdviseSequential(uint64_t offset, uint64_t length) const;

 private:
  MappedFile() = default;

  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  int64_t mtime_sec_ = 0;
  int64_t mtime_nsec_ = 0;
  std::string path_;
};

}  // namespace diffai
