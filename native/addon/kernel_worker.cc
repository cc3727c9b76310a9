#include "addon/kernel_worker.h"

#include <cstring>
#include <new>

#include "addon/errors.h"
#include "core/thread_pool.h"
#include "simd/dispatch.h"

namespace diffai {

KernelWorker::KernelWorker(Napi::Env env, Inputs inputs, Napi::Value out, size_t out_len, Body body,
                           const WorkOptions& options)
    : Napi::AsyncProgressWorker<ProgressMsg>(env, "diffai:kernel"),
      deferred_(Napi::Promise::Deferred::New(env)),
      inputs_(std::move(inputs)),
      out_ref_(Napi::Persistent(out)),
      out_len_(out_len),
      body_(std::move(body)),
      user_abort_(options.abort),
      kernels_(&simd::Current()) {
  if (!options.on_progress.IsEmpty()) on_progress_ = Napi::Persistent(options.on_progress);
  for (MappedFileWrap* w : inputs_.wraps) w->Acquire();
}

KernelWorker::~KernelWorker() { ReleaseInputs(); }

void KernelWorker::ReleaseInputs() {
  if (released_) return;
  released_ = true;
  for (MappedFileWrap* w : inputs_.wraps) w->Release();
}

void KernelWorker::Execute(const ExecutionProgress& progress) {
  try {
    result_.assign(out_len_, 0.0);
  } catch (const std::bad_alloc&) {
    status_ = Status::Error(Code::kOutOfMemory,
                            "cannot allocate " + std::to_string(out_len_) + " result slots");
    return;
  }
  ExecContext ctx;
  ctx.pool = &ThreadPool::Global();
  ctx.kernels = kernels_;
  ctx.abort[0] = user_abort_.get();
  ctx.abort[1] = &internal_abort_;
  if (!on_progress_.IsEmpty()) {
    auto last = std::chrono::steady_clock::now();
    ctx.progress = [&progress, last](uint64_t done, uint64_t total) mutable {
      const auto now = std::chrono::steady_clock::now();
      if (done != total && now - last < kProgressInterval) return;
      last = now;
      ProgressMsg m{done, total};
      progress.Send(&m, 1);
    };
  }
  try {
    status_ = body_(ctx, result_.data());
  } catch (const std::bad_alloc&) {
    status_ = Status::Error(Code::kOutOfMemory, "out of memory while planning the job");
  } catch (...) {
    status_ = Status::Error(Code::kInternal, "unexpected native exception");
  }
}

void KernelWorker::OnProgress(const ProgressMsg* data, size_t count) {
  if (settled_ || on_progress_.IsEmpty() || data == nullptr || count == 0) return;
  Napi::Env env = Env();
  try {
    on_progress_.Call({Napi::Number::New(env, static_cast<double>(data->done)),
                       Napi::Number::New(env, static_cast<double>(data->total))});
  } catch (const Napi::Error& e) {
    if (progress_error_.IsEmpty())
      progress_error_ = Napi::Persistent(static_cast<Napi::Value>(e.Value()));
    internal_abort_.store(true);
  }
}

void KernelWorker::OnOK() {
  Napi::Env env = Env();
  settled_ = true;
  ReleaseInputs();
  try {
    if (!progress_error_.IsEmpty()) {
      deferred_.Reject(progress_error_.Value());
      return;
    }
    if (!status_.ok()) {
      deferred_.Reject(MakeError(env, status_));
      return;
    }
    Napi::Value out = out_ref_.Value();
    if (!out.IsTypedArray() || out.As<Napi::Float64Array>().ElementLength() < out_len_) {
      deferred_.Reject(MakeError(
          env, Status::Error(Code::kInvalidArgument, "out was detached while the job ran")));
      return;
    }
    if (out_len_ > 0) {
      std::memcpy(out.As<Napi::Float64Array>().Data(), result_.data(), out_len_ * sizeof(double));
    }
    deferred_.Resolve(env.Undefined());
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

void KernelWorker::OnError(const Napi::Error& e) {
  settled_ = true;
  ReleaseInputs();
  deferred_.Reject(e.Value());
}

void RunSync(Napi::Env env, const KernelWorker::Body& body, double* out) {
  ExecContext ctx;
  ctx.pool = &ThreadPool::Global();
  ctx.kernels = &simd::Current();
  Status s;
  try {
    s = body(ctx, out);
  } catch (const std::bad_alloc&) {
    s = Status::Error(Code::kOutOfMemory, "out of memory while planning the job");
  }
  if (!s.ok()) ThrowStatus(env, s);
}

}  // namespace diffai
