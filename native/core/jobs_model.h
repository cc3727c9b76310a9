// Jobs of the model-structure analyses (quantization, parameter efficiency): a pair whose sides may
// be integer codes dequantized on the fly, and histograms of a tensor's values. Plain C++ like
// core/jobs.h, whose TensorSpan lifetime rules apply.
#pragma once

#include <cstdint>
#include <vector>

#include "core/executor.h"
#include "core/jobs.h"
#include "core/status.h"

namespace diffai {

// One side of a dequantized pair: a tensor viewed as [outer, n, inner] (row-major) whose value at
// (o, c, i) is raw * scale[c] + offset[c] when `affine` is set (raw as stored, any dtype), else
// raw. Per-tensor quantization is n = 1. Conventions map onto it: symmetric per-channel int8
// (offset 0), torch affine (q - zero_point) * scale (offset = -zero_point * scale), TF.js uint8
// q * scale + min (offset = min).
struct DequantSide {
  TensorSpan t;
  bool affine = false;
  uint64_t outer = 1, n = 1, inner = 1;
  std::vector<double> scale;   // n values
  std::vector<double> offset;  // n values
};

struct DequantPairJob {
  DequantSide a;
  DequantSide b;
  double epsilon = 0;
};

// Writes kPairWidth doubles per job (stats of the dequantized A and B, then the pair values), in
// float64 throughout. a.t.count must equal b.t.count.
Status RunDequantPair(const std::vector<DequantPairJob>& jobs, double* out, ExecContext& ctx);

// A histogram of x (or |x| when `abs`) over [lo, hi) in `bins` equal bins.
struct HistogramJob {
  TensorSpan t;
  double lo = 0, hi = 1;
  uint32_t bins = 1;
  bool abs = false;
};

// Writes bins + 3 doubles per job, concatenated: the bin counts, then the count below lo, the count
// at or above hi, and the count of non-finite elements.
Status RunHistogram(const std::vector<HistogramJob>& jobs, double* out, ExecContext& ctx);

}  // namespace diffai
