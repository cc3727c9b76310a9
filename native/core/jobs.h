// The kernels' jobs, as plain C++ (the addon builds them from JS objects after validation).
//
// Lifetime: a TensorSpan points into memory the caller keeps alive and unchanged for the whole
// call (a MappedFile held by shared_ptr, or a JS buffer held by a reference).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/executor.h"
#include "core/mapped_file.h"
#include "core/moments.h"
#include "core/status.h"

namespace diffai {

struct TensorSpan {
  const uint8_t* data = nullptr;  // element 0
  uint64_t bytes = 0;
  uint64_t count = 0;
  DType dtype = DType::kF32;
  const MappedFile* file = nullptr;  // set when data is inside a mapping
  std::string label;                 // file path, or a description of the buffer, for messages
};

// Validates a range request and resolves it against its container of `container_size` bytes:
// count * size(dtype) (or whole Q8_0 blocks) must equal byte_length (kInvalidArgument), and
// [offset, offset + byte_length) must lie in the container, overflow-safe (kRange). `what` names
// the job side in messages ("jobs[3].a"). On success sets span->data/bytes/count/dtype.
Status ResolveSpan(const std::string& what, DType dtype, uint64_t count, uint64_t offset,
                   uint64_t byte_length, const uint8_t* container, uint64_t container_size,
                   TensorSpan* span);

struct PairJob {
  TensorSpan a;
  TensorSpan b;
  double epsilon = 0;
};

struct TrajectoryJob {
  TensorSpan x0, x1, x2;
};

struct AxisNormJob {
  TensorSpan t;
  uint64_t outer = 1, n = 0, inner = 1;
};

struct MatmulJob {
  TensorSpan a;
  bool has_b = false;
  TensorSpan b;
  uint64_t rows = 0, cols = 0, k = 0;
  bool transpose = false;
  const double* x = nullptr;  // [cols, k] (transpose false) or [rows, k] (transpose true)
};

// Writes kStatsWidth doubles per job.
Status RunStats(const std::vector<TensorSpan>& jobs, double* out, ExecContext& ctx);
// Writes kPairWidth doubles per job. a.count must equal b.count.
Status RunPair(const std::vector<PairJob>& jobs, double* out, ExecContext& ctx);
// Writes 4 doubles per job: sum (x1-x0)(x2-x1), sum (x1-x0)^2, sum (x2-x1)^2, positions where all
// three are finite.
Status RunTrajectory(const std::vector<TrajectoryJob>& jobs, double* out, ExecContext& ctx);
// Writes n doubles per job, concatenated.
Status RunAxisNorms(const std::vector<AxisNormJob>& jobs, double* out, ExecContext& ctx);
// Writes rows*k (transpose false) or k*cols (transpose true) doubles.
Status RunMatmul(const MatmulJob& job, double* out, ExecContext& ctx);
// The bandwidth probe: reads every byte of each job once (the plain read of simd::Kernels::read,
// planned and run exactly as the stats jobs are) and writes 1 double per job, its byte sum
// modulo 2^53.
Status RunReadProbe(const std::vector<TensorSpan>& jobs, double* out, ExecContext& ctx);

// Chooses how a dtype is read: a fused kernel source (0..2), or -1.
int SrcOf(DType dtype);

// The shift of the next float64 block of a tensor of `dtype` (core/moments.h ShiftFor), rounded to
// an integer for integer and BOOL tensors: the shifted sums of integers are then integers, so the
// sum, the sum of squares and the L1 norm stay exact below 2^53 (a non-integer shift rounded
// c * n + s1), while |mean - shift| <= 1/2 keeps the variance free of cancellation.
double ShiftForDType(const StatsAcc& acc, double first, DType dtype);

}  // namespace diffai
