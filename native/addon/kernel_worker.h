// The async side of every kernel call: an AsyncProgressWorker that runs a core job on the libuv
// thread (which also works on the job's tasks, alongside the pool), reports throttled progress on
// the main thread, and settles a Promise.
//
// Lifetime: the worker owns the Inputs (mappings, JS references) and the busy counts of the
// MappedFile wrappers from construction until OnOK/OnError, both on the main thread, so a file
// cannot be closed or collected while the job reads it. Results go to a private buffer during
// Execute and are copied into the caller's Float64Array in OnOK (JS memory is never written from
// another thread).
#pragma once

#include <napi.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "addon/args.h"
#include "core/executor.h"
#include "core/status.h"

namespace diffai {

struct ProgressMsg {
  uint64_t done;
  uint64_t total;
};

class KernelWorker : public Napi::AsyncProgressWorker<ProgressMsg> {
 public:
  // Runs on a libuv thread; writes out_len doubles into `out`.
  using Body = std::function<Status(ExecContext& ctx, double* out)>;

  // `out` must be a Float64Array of at least out_len elements (checked by the caller).
  KernelWorker(Napi::Env env, Inputs inputs, Napi::Value out, size_t out_len, Body body,
               const WorkOptions& options);
  ~KernelWorker() override;

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Interval between progress callbacks.
  static constexpr std::chrono::milliseconds kProgressInterval{50};

 protected:
  void Execute(const ExecutionProgress& progress) override;
  void OnProgress(const ProgressMsg* data, size_t count) override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  void ReleaseInputs();

  Napi::Promise::Deferred deferred_;
  Inputs inputs_;
  bool released_ = false;
  Napi::Reference<Napi::Value> out_ref_;
  size_t out_len_;
  std::vector<double> result_;
  Body body_;
  Napi::FunctionReference on_progress_;
  std::shared_ptr<std::atomic<bool>> user_abort_;
  std::atomic<bool> internal_abort_{false};
  const simd::Kernels* kernels_;
  Status status_;
  // An exception thrown by the progress callback: the job is aborted and rejects with it.
  Napi::Reference<Napi::Value> progress_error_;
  bool settled_ = false;
};

// Runs `body` on the calling (main) thread, writing into out; throws the JS error on failure.
void RunSync(Napi::Env env, const KernelWorker::Body& body, double* out);

}  // namespace diffai
