// The gram pass of the spectral step (lib/diff/spectralNorm.ts): y = M^T (M v) for a tensor viewed
// as a row-major matrix M [rows, cols], in one read of M. Plain C++ like core/jobs.h, whose
// TensorSpan lifetime rules apply.
#pragma once

#include <cstdint>
#include <vector>

#include "core/executor.h"
#include "core/jobs.h"
#include "core/status.h"

namespace diffai {

struct GramJob {
  TensorSpan m;
  uint64_t rows = 0, cols = 0;  // rows * cols == m.count
  const double* v = nullptr;    // cols values
};

// Writes cols doubles per job, concatenated in job order: M^T (M v) = sum over rows r of
// (row_r . v) row_r, accumulated in float64 with M's non-finite elements read as 0.
//
// Each row is read from memory once (its dot product, then the axpy from cache). A job is split
// into at most kGramMaxParts row ranges of about kGramPartBytes (fewer when their private
// [cols] partial sums would pass kGramJobPartialBytes); the first range adds into the output, the
// others into partials added to it in range order. The split depends only on the job's shape and
// dtype, so results are bit-identical at any thread count and whatever else is in the call. Jobs
// run in waves holding at most kGramCallPartialBytes of partials, so memory stays bounded however
// many jobs a call has.
Status RunGram(const std::vector<GramJob>& jobs, double* out, ExecContext& ctx);

constexpr uint64_t kGramPartBytes = uint64_t{8} << 20;
constexpr uint64_t kGramMaxParts = 16;
constexpr uint64_t kGramJobPartialBytes = uint64_t{16} << 20;
constexpr uint64_t kGramCallPartialBytes = uint64_t{32} << 20;

// The number of row ranges RunGram splits a job into (exposed for tests).
uint64_t GramParts(const GramJob& job);

}  // namespace diffai
