// Runs the tasks of one call on the thread pool: abort checks between tasks, SIGBUS guard around
// each task, progress on the calling thread, and re-checks of the mapped files before and after.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/mapped_file.h"
#include "core/plan.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "simd/kernels.h"

namespace diffai {

struct ExecContext {
  ThreadPool* pool = nullptr;
  // The table the whole call uses (a concurrent setSimdLevel does not mix levels within a call).
  const simd::Kernels* kernels = nullptr;
  // Abort flags (the caller's handle, the worker's own); null entries are ignored.
  const std::atomic<bool>* abort[2] = {nullptr, nullptr};
  // Called on the calling thread with (bytes done, bytes total), between tasks and while waiting.
  // The callee throttles; may be empty.
  std::function<void(uint64_t, uint64_t)> progress;

  bool aborted() const {
    for (const std::atomic<bool>* a : abort) {
      if (a != nullptr && a->load(std::memory_order_relaxed)) return true;
    }
    return false;
  }
};

// Runs task(i) for i < n. task_bytes[i] is the input size of task i (for progress). Tasks must not
// allocate or own objects with destructors (see sigbus_guard.h). `files` are the mapped files the
// tasks read: kFileChanged when one of them shrank or was modified (checked before, after, and when
// a task hit SIGBUS). kAborted when an abort flag was set; tasks not yet started are skipped.
Status RunTasks(ExecContext& ctx, size_t n, const std::vector<uint64_t>& task_bytes,
                const std::function<void(size_t)>& task,
                const std::vector<const MappedFile*>& files);

// Runs chunk_task(c) for every chunk of `chunks` (a job's chunks in order, see plan.h), grouped into
// tasks of about kChunkBytes by GroupChunks and run by RunTasks (same progress, abort and file
// checks). chunk_task writes the partial result of chunk c; callers merge partials in chunk order,
// which keeps results independent of the thread count.
Status RunChunks(ExecContext& ctx, const std::vector<Chunk>& chunks,
                 const std::function<void(size_t)>& chunk_task,
                 const std::vector<const MappedFile*>& files);

// Adds f to files unless it is null or already there.
void AddFile(std::vector<const MappedFile*>* files, const MappedFile* f);

}  // namespace diffai
