// A fixed pool of kernel threads shared by every call in the process.
//
// Run() hands the pool a batch of n independent items; the calling thread works on the batch too
// and returns when every item is done. Several batches (from concurrent async calls) may be in the
// queue at once; workers take items from the oldest first. Which thread runs an item is not fixed,
// so callers write each item's result to its own slot and merge the slots in item order: results
// never depend on thread timing.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace diffai {

class ThreadPool {
 public:
  // `threads` counts the calling thread: threads - 1 workers are started (1 means run inline).
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return threads_; }

  // Runs item(i) for every i < n and returns when all are done. `tick`, when set, is called on the
  // calling thread between its own items and at least every ~20 ms while it waits for workers.
  // item() must not throw.
  void Run(size_t n, const std::function<void(size_t)>& item, const std::function<void()>& tick);

  // The process-wide pool: std::thread::hardware_concurrency() threads, or DIFFAI_THREADS=N
  // (1..1024; anything else is ignored). Created on first use and intentionally never destroyed,
  // so exit() never waits for (or races with) kernel threads of an unfinished call.
  static ThreadPool& Global();

 private:
  struct Batch;
  void WorkerLoop();

  unsigned threads_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Batch*> queue_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

}  // namespace diffai
