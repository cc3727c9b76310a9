#include "core/executor.h"

#include <algorithm>

#include "core/sigbus_guard.h"

namespace diffai {

namespace {

struct Invocation {
  const std::function<void(size_t)>* task;
  size_t index;
};

void Trampoline(void* arg) {
  Invocation* inv = static_cast<Invocation*>(arg);
  (*inv->task)(inv->index);
}

Status CheckFiles(const std::vector<const MappedFile*>& files) {
  for (const MappedFile* f : files) {
    Status s = f->CheckUnchanged();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

void AddFile(std::vector<const MappedFile*>* files, const MappedFile* f) {
  if (f == nullptr) return;
  if (std::find(files->begin(), files->end(), f) == files->end()) files->push_back(f);
}

Status RunTasks(ExecContext& ctx, size_t n, const std::vector<uint64_t>& task_bytes,
                const std::function<void(size_t)>& task,
                const std::vector<const MappedFile*>& files) {
  Status pre = CheckFiles(files);
  if (!pre.ok()) return pre;
  if (ctx.aborted()) return Status::Error(Code::kAborted, "the operation was aborted");

  uint64_t total = 0;
  for (uint64_t b : task_bytes) total += b;
  std::atomic<uint64_t> done{0};
  std::atomic<bool> faulted{false};
  std::atomic<bool> skipped{false};

  std::function<void(size_t)> item = [&](size_t i) {
    if (ctx.aborted() || faulted.load(std::memory_order_relaxed)) {
      skipped.store(true);
      return;
    }
    Invocation inv{&task, i};
    if (!GuardedRun(Trampoline, &inv)) faulted.store(true);
    done.fetch_add(task_bytes[i], std::memory_order_relaxed);
  };
  std::function<void()> tick;
  if (ctx.progress) tick = [&] { ctx.progress(done.load(std::memory_order_relaxed), total); };

  ThreadPool* pool = ctx.pool != nullptr ? ctx.pool : &ThreadPool::Global();
  pool->Run(n, item, tick);

  if (faulted.load()) {
    // SIGBUS: a mapped page vanished. Name the file that changed when fstat can tell.
    Status s = CheckFiles(files);
    if (!s.ok()) return s;
    std::string name = files.empty() ? std::string("a mapped file") : files.front()->path();
    return Status::Error(Code::kFileChanged,
                         name + " changed while mapped: reading it raised SIGBUS (truncated?)",
                         files.empty() ? std::string() : files.front()->path());
  }
  Status post = CheckFiles(files);
  if (!post.ok()) return post;
  if (skipped.load() || ctx.aborted()) {
    return Status::Error(Code::kAborted, "the operation was aborted");
  }
  if (ctx.progress) ctx.progress(total, total);
  return Status::Ok();
}

Status RunChunks(ExecContext& ctx, const std::vector<Chunk>& chunks,
                 const std::function<void(size_t)>& chunk_task,
                 const std::vector<const MappedFile*>& files) {
  const std::vector<Work> works = GroupChunks(chunks);
  std::vector<uint64_t> bytes(works.size());
  for (size_t w = 0; w < works.size(); ++w) bytes[w] = works[w].bytes;
  return RunTasks(
      ctx, works.size(), bytes,
      [&](size_t w) {
        for (size_t c = works[w].first; c < works[w].last; ++c) chunk_task(c);
      },
      files);
}

}  // namespace diffai
