#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace diffai {

struct ThreadPool::Batch {
  const std::function<void(size_t)>* item = nullptr;
  size_t n = 0;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  // Workers currently holding a pointer to this batch; guarded by the pool mutex. The caller may
  // only return (destroying the batch, which lives on its stack) when this is 0 and the batch is
  // out of the queue.
  unsigned users = 0;
  std::condition_variable cv;
};

ThreadPool::ThreadPool(unsigned threads) : threads_(threads < 1 ? 1 : threads) {
  for (unsigned i = 1; i < threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Batch* b = queue_.front();
    ++b->users;
    lock.unlock();
    for (size_t i; (i = b->next.fetch_add(1)) < b->n;) {
      (*b->item)(i);
      b->done.fetch_add(1);
    }
    lock.lock();
    // Exhausted: take it out of the queue so idle workers stop picking it.
    auto it = std::find(queue_.begin(), queue_.end(), b);
    if (it != queue_.end()) queue_.erase(it);
    if (--b->users == 0) b->cv.notify_all();
  }
}

void ThreadPool::Run(size_t n, const std::function<void(size_t)>& item,
                     const std::function<void()>& tick) {
  if (n == 0) return;
  Batch b;
  b.item = &item;
  b.n = n;
  const bool share = !workers_.empty() && n > 1;
  if (share) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(&b);
    }
    work_cv_.notify_all();
  }
  for (size_t i; (i = b.next.fetch_add(1)) < n;) {
    item(i);
    b.done.fetch_add(1);
    if (tick) tick();
  }
  if (!share) return;
  std::unique_lock<std::mutex> lock(mu_);
  auto it = std::find(queue_.begin(), queue_.end(), &b);
  if (it != queue_.end()) queue_.erase(it);
  while (b.done.load() < n || b.users > 0) {
    b.cv.wait_for(lock, std::chrono::milliseconds(20));
    if (tick) {
      lock.unlock();
      tick();
      lock.lock();
    }
  }
}

ThreadPool& ThreadPool::Global() {
  static ThreadPool* pool = [] {
    unsigned n = std::thread::hardware_concurrency();
    if (n == 0) n = 1;
    if (const char* env = std::getenv("DIFFAI_THREADS")) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (end != env && *end == '\0' && v >= 1 && v <= 1024) n = static_cast<unsigned>(v);
    }
    return new ThreadPool(n);
  }();
  return *pool;
}

}  // namespace diffai
