#include "addon/kernels_api.h"

#include <cmath>
#include <memory>
#include <vector>

#include "addon/args.h"
#include "addon/errors.h"
#include "addon/kernel_worker.h"
#include "core/job_gram.h"
#include "core/jobs.h"
#include "core/jobs_model.h"
#include "core/moments.h"
#include "core/range.h"
#include "core/thread_pool.h"
#include "simd/dispatch.h"

namespace diffai {

namespace {

// A parsed call: what to keep alive, what to run, how many result slots it writes.
struct Prepared {
  Inputs keep;
  KernelWorker::Body body;
  uint64_t out_len = 0;
};

std::string At(const char* base, uint32_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

Napi::Object JobObject(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsObject()) ThrowError(env, Code::kInvalidArgument, what + " must be an object");
  return v.As<Napi::Object>();
}

// A list of tensor refs: an array of RawTensorRef objects or a packed table.
std::shared_ptr<std::vector<TensorSpan>> ParseRefList(Napi::Env env, const Napi::Value& value,
                                                      Inputs* keep) {
  auto jobs = std::make_shared<std::vector<TensorSpan>>();
  if (PackedJobs::Is(value)) {
    PackedJobs packed(env, value, kPackedRefWidth, keep);
    jobs->reserve(packed.size());
    for (size_t i = 0; i < packed.size(); ++i) jobs->push_back(packed.Ref(i, 0, "ref"));
  } else {
    Napi::Array arr = ParseJobsArray(env, value);
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      jobs->push_back(ParseRef(env, arr.Get(i), At("jobs", i), keep));
    }
  }
  return jobs;
}

// The `epsilon` field of a pair job: a number >= 0.
double ParseEpsilon(Napi::Env env, const Napi::Object& o, const std::string& what) {
  Napi::Value eps = o.Get("epsilon");
  const double e = eps.IsNumber() ? eps.As<Napi::Number>().DoubleValue() : -1;
  if (!eps.IsNumber() || !(e >= 0)) {
    ThrowError(env, Code::kInvalidArgument, what + ".epsilon must be a number >= 0");
  }
  return e;
}

Prepared PrepareStats(Napi::Env env, const Napi::CallbackInfo& info) {
  Prepared p;
  auto jobs = ParseRefList(env, info[0], &p.keep);
  p.out_len = jobs->size() * kStatsWidth;
  p.body = [jobs](ExecContext& ctx, double* out) { return RunStats(*jobs, out, ctx); };
  return p;
}

// Packed pair rows: side A, side B, epsilon.
constexpr uint32_t kPackedPairWidth = 2 * kPackedRefWidth + 1;

void CheckPairJob(Napi::Env env, const PairJob& job, size_t i) {
  if (!(job.epsilon >= 0)) {
    ThrowError(env, Code::kInvalidArgument,
               At("jobs", static_cast<uint32_t>(i)) + ".epsilon must be a number >= 0");
  }
  if (job.a.count != job.b.count) {
    ThrowError(env, Code::kInvalidArgument,
               At("jobs", static_cast<uint32_t>(i)) + ": A has " + std::to_string(job.a.count) +
                   " elements, B has " + std::to_string(job.b.count));
  }
}

Prepared PreparePair(Napi::Env env, const Napi::CallbackInfo& info) {
  Prepared p;
  auto jobs = std::make_shared<std::vector<PairJob>>();
  if (PackedJobs::Is(info[0])) {
    PackedJobs packed(env, info[0], kPackedPairWidth, &p.keep);
    jobs->reserve(packed.size());
    for (size_t i = 0; i < packed.size(); ++i) {
      PairJob job;
      job.a = packed.Ref(i, 0, "a");
      job.b = packed.Ref(i, 1, "b");
      job.epsilon = packed.At(i, 2 * kPackedRefWidth);
      CheckPairJob(env, job, i);
      jobs->push_back(std::move(job));
    }
    p.out_len = jobs->size() * kPairWidth;
    p.body = [jobs](ExecContext& ctx, double* out) { return RunPair(*jobs, out, ctx); };
    return p;
  }
  Napi::Array arr = ParseJobsArray(env, info[0]);
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const std::string what = At("jobs", i);
    Napi::Object o = JobObject(env, arr.Get(i), what);
    PairJob job;
    job.a = ParseRef(env, o.Get("a"), what + ".a", &p.keep);
    job.b = ParseRef(env, o.Get("b"), what + ".b", &p.keep);
    job.epsilon = ParseEpsilon(env, o, what);
    if (job.a.count != job.b.count) {
      ThrowError(env, Code::kInvalidArgument,
                 what + ": A has " + std::to_string(job.a.count) + " elements, B has " +
                     std::to_string(job.b.count));
    }
    jobs->push_back(std::move(job));
  }
  p.out_len = jobs->size() * kPairWidth;
  p.body = [jobs](ExecContext& ctx, double* out) { return RunPair(*jobs, out, ctx); };
  return p;
}

Prepared PrepareTrajectory(Napi::Env env, const Napi::CallbackInfo& info) {
  Prepared p;
  Napi::Array arr = ParseJobsArray(env, info[0]);
  auto jobs = std::make_shared<std::vector<TrajectoryJob>>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const std::string what = At("jobs", i);
    Napi::Object o = JobObject(env, arr.Get(i), what);
    TrajectoryJob job;
    job.x0 = ParseRef(env, o.Get("x0"), what + ".x0", &p.keep);
    job.x1 = ParseRef(env, o.Get("x1"), what + ".x1", &p.keep);
    job.x2 = ParseRef(env, o.Get("x2"), what + ".x2", &p.keep);
    if (job.x0.count != job.x1.count || job.x1.count != job.x2.count) {
      ThrowError(env, Code::kInvalidArgument,
                 what + ": x0, x1 and x2 need the same count (" + std::to_string(job.x0.count) +
                     ", " + std::to_string(job.x1.count) + ", " + std::to_string(job.x2.count) +
                     ")");
    }
    jobs->push_back(std::move(job));
  }
  p.out_len = jobs->size() * 4;
  p.body = [jobs](ExecContext& ctx, double* out) { return RunTrajectory(*jobs, out, ctx); };
  return p;
}

Prepared PrepareAxisNorms(Napi::Env env, const Napi::CallbackInfo& info) {
  Prepared p;
  Napi::Array arr = ParseJobsArray(env, info[0]);
  auto jobs = std::make_shared<std::vector<AxisNormJob>>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const std::string what = At("jobs", i);
    Napi::Object o = JobObject(env, arr.Get(i), what);
    AxisNormJob job;
    job.t = ParseRef(env, o.Get("ref"), what + ".ref", &p.keep);
    job.outer = GetIndex(env, o, "outer", what);
    job.n = GetIndex(env, o, "n", what);
    job.inner = GetIndex(env, o, "inner", what);
    uint64_t on = 0, all = 0;
    if (!CheckedMul(job.outer, job.n, &on) || !CheckedMul(on, job.inner, &all) ||
        all != job.t.count) {
      ThrowError(env, Code::kInvalidArgument,
                 what + ": outer * n * inner (" + std::to_string(job.outer) + " * " +
                     std::to_string(job.n) + " * " + std::to_string(job.inner) +
                     ") must equal the element count " + std::to_string(job.t.count));
    }
    p.out_len += job.n;
    jobs->push_back(std::move(job));
  }
  p.body = [jobs](ExecContext& ctx, double* out) { return RunAxisNorms(*jobs, out, ctx); };
  return p;
}

Prepared PrepareMatmul(Napi::Env env, const Napi::CallbackInfo& info) {
  Prepared p;
  const std::string what = "job";
  Napi::Object o = JobObject(env, info[0], what);
  auto job = std::make_shared<MatmulJob>();
  job->a = ParseRef(env, o.Get("a"), what + ".a", &p.keep);
  Napi::Value b = o.Get("b");
  if (!b.IsUndefined() && !b.IsNull()) {
    job->b = ParseRef(env, b, what + ".b", &p.keep);
    job->has_b = true;
    if (job->b.count != job->a.count) {
      ThrowError(env, Code::kInvalidArgument,
                 what + ": b has " + std::to_string(job->b.count) + " elements, a has " +
                     std::to_string(job->a.count));
    }
  }
  job->rows = GetIndex(env, o, "rows", what);
  job->cols = GetIndex(env, o, "cols", what);
  job->k = GetIndex(env, o, "k", what);
  Napi::Value t = o.Get("transpose");
  if (!t.IsBoolean())
    ThrowError(env, Code::kInvalidArgument, what + ".transpose must be a boolean");
  job->transpose = t.As<Napi::Boolean>().Value();
  uint64_t rc = 0;
  if (!CheckedMul(job->rows, job->cols, &rc) || rc != job->a.count) {
    ThrowError(env, Code::kInvalidArgument,
               what + ": rows * cols (" + std::to_string(job->rows) + " * " +
                   std::to_string(job->cols) + ") must equal the element count " +
                   std::to_string(job->a.count));
  }
  Napi::Value x = o.Get("x");
  if (!x.IsTypedArray() || x.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    ThrowError(env, Code::kInvalidArgument, what + ".x must be a Float64Array");
  }
  Napi::Float64Array xa = x.As<Napi::Float64Array>();
  const uint64_t x_rows = job->transpose ? job->rows : job->cols;
  uint64_t x_len = 0, out_len = 0;
  if (!CheckedMul(x_rows, job->k, &x_len) ||
      !CheckedMul(job->transpose ? job->cols : job->rows, job->k, &out_len)) {
    ThrowError(env, Code::kInvalidArgument, what + ": k is too large");
  }
  if (xa.ElementLength() < x_len) {
    ThrowError(env, Code::kInvalidArgument,
               what + ".x has " + std::to_string(xa.ElementLength()) + " elements, " +
                   std::to_string(x_len) + " needed ([" + std::to_string(x_rows) + ", " +
                   std::to_string(job->k) + "])");
  }
  // X is small next to M; a private copy means JS may reuse its array while the job runs.
  auto x_copy = std::make_shared<std::vector<double>>(xa.Data(), xa.Data() + x_len);
  job->x = x_copy->data();
  p.out_len = out_len;
  p.body = [job, x_copy](ExecContext& ctx, double* out) { return RunMatmul(*job, out, ctx); };
  return p;
}

// gram(jobs, out): jobs = [{ref, rows, cols, v}], v a Float64Array of cols values (copied: JS may
// reuse it while the job runs); out gets cols values per job.
Prepared PrepareGram(Napi::Env env, const Napi::CallbackInfo& info) {
  Prepared p;
  Napi::Array arr = ParseJobsArray(env, info[0]);
  auto jobs = std::make_shared<std::vector<GramJob>>();
  auto vs = std::make_shared<std::vector<std::vector<double>>>(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const std::string what = At("jobs", i);
    Napi::Object o = JobObject(env, arr.Get(i), what);
    GramJob job;
    job.m = ParseRef(env, o.Get("ref"), what + ".ref", &p.keep);
    job.rows = GetIndex(env, o, "rows", what);
    job.cols = GetIndex(env, o, "cols", what);
    uint64_t rc = 0;
    if (!CheckedMul(job.rows, job.cols, &rc) || rc != job.m.count) {
      ThrowError(env, Code::kInvalidArgument,
                 what + ": rows * cols (" + std::to_string(job.rows) + " * " +
                     std::to_string(job.cols) + ") must equal the element count " +
                     std::to_string(job.m.count));
    }
    Napi::Value v = o.Get("v");
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        v.As<Napi::Float64Array>().ElementLength() != job.cols) {
      ThrowError(
          env, Code::kInvalidArgument,
          what + ".v must be a Float64Array of cols = " + std::to_string(job.cols) + " values");
    }
    Napi::Float64Array va = v.As<Napi::Float64Array>();
    (*vs)[i].assign(va.Data(), va.Data() + job.cols);
    p.out_len += job.cols;
    jobs->push_back(std::move(job));
  }
  for (size_t i = 0; i < jobs->size(); ++i) (*jobs)[i].v = (*vs)[i].data();
  p.body = [jobs, vs](ExecContext& ctx, double* out) { return RunGram(*jobs, out, ctx); };
  return p;
}

// The optional affine map of a dequantPair side: {outer, n, inner, scale, offset} with n-value
// Float64Arrays (copied: the job owns them).
void ParseAffine(Napi::Env env, const Napi::Value& v, const std::string& what, DequantSide* side) {
  if (v.IsUndefined() || v.IsNull()) return;
  Napi::Object o = JobObject(env, v, what);
  side->affine = true;
  side->outer = GetIndex(env, o, "outer", what);
  side->n = GetIndex(env, o, "n", what);
  side->inner = GetIndex(env, o, "inner", what);
  uint64_t on = 0, all = 0;
  if (side->n == 0 || !CheckedMul(side->outer, side->n, &on) ||
      !CheckedMul(on, side->inner, &all) || all != side->t.count) {
    ThrowError(env, Code::kInvalidArgument,
               what + ": outer * n * inner (" + std::to_string(side->outer) + " * " +
                   std::to_string(side->n) + " * " + std::to_string(side->inner) +
                   ") must equal the element count " + std::to_string(side->t.count));
  }
  for (const char* key : {"scale", "offset"}) {
    Napi::Value a = o.Get(key);
    if (!a.IsTypedArray() || a.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        a.As<Napi::Float64Array>().ElementLength() != side->n) {
      ThrowError(env, Code::kInvalidArgument,
                 what + "." + key + " must be a Float64Array of n = " + std::to_string(side->n) +
                     " values");
    }
    Napi::Float64Array f = a.As<Napi::Float64Array>();
    std::vector<double>& dst = key[0] == 's' ? side->scale : side->offset;
    dst.assign(f.Data(), f.Data() + side->n);
    for (double x : dst) {
      if (!std::isfinite(x)) {
        ThrowError(env, Code::kInvalidArgument, what + "." + key + " holds a non-finite value");
      }
    }
  }
}

Prepared PrepareDequantPair(Napi::Env env, const Napi::CallbackInfo& info) {
  Prepared p;
  Napi::Array arr = ParseJobsArray(env, info[0]);
  auto jobs = std::make_shared<std::vector<DequantPairJob>>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const std::string what = At("jobs", i);
    Napi::Object o = JobObject(env, arr.Get(i), what);
    DequantPairJob job;
    job.a.t = ParseRef(env, o.Get("a"), what + ".a", &p.keep);
    job.b.t = ParseRef(env, o.Get("b"), what + ".b", &p.keep);
    if (job.a.t.count != job.b.t.count) {
      ThrowError(env, Code::kInvalidArgument,
                 what + ": A has " + std::to_string(job.a.t.count) + " elements, B has " +
                     std::to_string(job.b.t.count));
    }
    ParseAffine(env, o.Get("aAffine"), what + ".aAffine", &job.a);
    ParseAffine(env, o.Get("bAffine"), what + ".bAffine", &job.b);
    job.epsilon = ParseEpsilon(env, o, what);
    jobs->push_back(std::move(job));
  }
  p.out_len = jobs->size() * kPairWidth;
  p.body = [jobs](ExecContext& ctx, double* out) { return RunDequantPair(*jobs, out, ctx); };
  return p;
}

Prepared PrepareHistogram(Napi::Env env, const Napi::CallbackInfo& info) {
  Prepared p;
  Napi::Array arr = ParseJobsArray(env, info[0]);
  auto jobs = std::make_shared<std::vector<HistogramJob>>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const std::string what = At("jobs", i);
    Napi::Object o = JobObject(env, arr.Get(i), what);
    HistogramJob job;
    job.t = ParseRef(env, o.Get("ref"), what + ".ref", &p.keep);
    Napi::Value lo = o.Get("lo"), hi = o.Get("hi"), ab = o.Get("abs");
    if (!lo.IsNumber() || !hi.IsNumber()) {
      ThrowError(env, Code::kInvalidArgument, what + ".lo and .hi must be numbers");
    }
    job.lo = lo.As<Napi::Number>().DoubleValue();
    job.hi = hi.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(job.lo) || !std::isfinite(job.hi) || !(job.hi > job.lo)) {
      ThrowError(env, Code::kInvalidArgument, what + ": needs finite lo < hi");
    }
    const uint64_t bins = GetIndex(env, o, "bins", what);
    if (bins < 1 || bins > (1u << 20)) {
      ThrowError(env, Code::kInvalidArgument, what + ".bins must be in [1, 2^20]");
    }
    job.bins = static_cast<uint32_t>(bins);
    if (!ab.IsUndefined() && !ab.IsBoolean()) {
      ThrowError(env, Code::kInvalidArgument, what + ".abs must be a boolean");
    }
    job.abs = ab.IsBoolean() && ab.As<Napi::Boolean>().Value();
    p.out_len += job.bins + 3;
    jobs->push_back(std::move(job));
  }
  p.body = [jobs](ExecContext& ctx, double* out) { return RunHistogram(*jobs, out, ctx); };
  return p;
}

// The bandwidth probe of bench/: a plain read of the same refs, 1 double per job.
Prepared PrepareReadProbe(Napi::Env env, const Napi::CallbackInfo& info) {
  Prepared p;
  auto jobs = ParseRefList(env, info[0], &p.keep);
  p.out_len = jobs->size();
  p.body = [jobs](ExecContext& ctx, double* out) { return RunReadProbe(*jobs, out, ctx); };
  return p;
}

using PrepareFn = Prepared (*)(Napi::Env, const Napi::CallbackInfo&);

// Async call: argument errors reject the promise rather than throw, like any later failure.
template <PrepareFn Prepare>
Napi::Value Async(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    Prepared p = Prepare(env, info);
    ParseOut(env, info[1], p.out_len);
    WorkOptions options = ParseOptions(env, info[2]);
    KernelWorker* w = new KernelWorker(env, std::move(p.keep), info[1],
                                       static_cast<size_t>(p.out_len), std::move(p.body), options);
    Napi::Promise promise = w->Promise();
    w->Queue();
    return promise;
  } catch (const Napi::Error& e) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Reject(e.Value());
    return d.Promise();
  }
}

template <PrepareFn Prepare>
Napi::Value Sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Prepared p = Prepare(env, info);
  double* out = ParseOut(env, info[1], p.out_len);
  RunSync(env, p.body, out);
  return env.Undefined();
}

simd::Level ParseLevelArg(Napi::Env env, const Napi::Value& v) {
  simd::Level level;
  if (!v.IsString() || !simd::ParseLevel(v.As<Napi::String>().Utf8Value().c_str(), &level)) {
    ThrowError(env, Code::kInvalidArgument, "level must be 'scalar', 'avx2' or 'avx512'");
  }
  if (level > simd::MaxLevel()) {
    ThrowError(env, Code::kInvalidArgument,
               std::string("SIMD level ") + simd::LevelName(level) +
                   " is not supported by this CPU (maximum " + simd::LevelName(simd::MaxLevel()) +
                   ")");
  }
  return level;
}

Napi::Value ConvertToF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array) {
    ThrowError(env, Code::kInvalidArgument, "src must be a Uint16Array");
  }
  Napi::Uint16Array src = info[0].As<Napi::Uint16Array>();
  if (!info[1].IsNumber())
    ThrowError(env, Code::kInvalidArgument, "dtype must be 2 (F16) or 3 (BF16)");
  const double code = info[1].As<Napi::Number>().DoubleValue();
  simd::Src s;
  if (code == static_cast<double>(DType::kF16)) {
    s = simd::kSrcF16;
  } else if (code == static_cast<double>(DType::kBF16)) {
    s = simd::kSrcBF16;
  } else {
    ThrowError(env, Code::kInvalidArgument, "dtype must be 2 (F16) or 3 (BF16)");
  }
  const simd::Kernels* k = simd::Table(ParseLevelArg(env, info[2]));
  const size_t n = src.ElementLength();
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  if (n > 0) k->convert[s](reinterpret_cast<const uint8_t*>(src.Data()), n, out.Data());
  return out;
}

Napi::Value SimdLevel(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), simd::LevelName(simd::CurrentLevel()));
}

Napi::Value SimdLevels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array arr = Napi::Array::New(env);
  for (int l = 0; l <= static_cast<int>(simd::MaxLevel()); ++l) {
    arr.Set(static_cast<uint32_t>(l),
            Napi::String::New(env, simd::LevelName(static_cast<simd::Level>(l))));
  }
  return arr;
}

Napi::Value SetSimdLevel(const Napi::CallbackInfo& info) {
  simd::SetLevel(ParseLevelArg(info.Env(), info[0]));
  return info.Env().Undefined();
}

Napi::Value ThreadCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ThreadPool::Global().size());
}

}  // namespace

void RegisterKernelFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("stats", Napi::Function::New<Async<PrepareStats>>(env, "stats"));
  exports.Set("statsSync", Napi::Function::New<Sync<PrepareStats>>(env, "statsSync"));
  exports.Set("pair", Napi::Function::New<Async<PreparePair>>(env, "pair"));
  exports.Set("pairSync", Napi::Function::New<Sync<PreparePair>>(env, "pairSync"));
  exports.Set("trajectory", Napi::Function::New<Async<PrepareTrajectory>>(env, "trajectory"));
  exports.Set("axisNorms", Napi::Function::New<Async<PrepareAxisNorms>>(env, "axisNorms"));
  exports.Set("matmul", Napi::Function::New<Async<PrepareMatmul>>(env, "matmul"));
  exports.Set("matmulSync", Napi::Function::New<Sync<PrepareMatmul>>(env, "matmulSync"));
  exports.Set("gram", Napi::Function::New<Async<PrepareGram>>(env, "gram"));
  exports.Set("gramSync", Napi::Function::New<Sync<PrepareGram>>(env, "gramSync"));
  exports.Set("readProbe", Napi::Function::New<Async<PrepareReadProbe>>(env, "readProbe"));
  exports.Set("dequantPair", Napi::Function::New<Async<PrepareDequantPair>>(env, "dequantPair"));
  exports.Set("histogram", Napi::Function::New<Async<PrepareHistogram>>(env, "histogram"));
  exports.Set("convertToF32", Napi::Function::New<ConvertToF32>(env, "convertToF32"));
  exports.Set("simdLevel", Napi::Function::New<SimdLevel>(env, "simdLevel"));
  exports.Set("simdLevels", Napi::Function::New<SimdLevels>(env, "simdLevels"));
  exports.Set("setSimdLevel", Napi::Function::New<SetSimdLevel>(env, "setSimdLevel"));
  exports.Set("threadCount", Napi::Function::New<ThreadCount>(env, "threadCount"));
}

}  // namespace diffai
