// Consecutive-update dots for three checkpoints, in float64 (correctness over speed: these run
// once per tensor per checkpoint triple).
#include <cmath>

#include "core/jobs.h"
#include "core/plan.h"
#include "simd/reference.h"

namespace diffai {

namespace {

constexpr size_t kPiece = 1024;  // 3 x 8 KiB of stack

struct TrajSums {
  double dot = 0, s01 = 0, s12 = 0;
  uint64_t n = 0;
};

void TrajPart(const TrajectoryJob& job, uint64_t start, uint64_t n, TrajSums* out) {
  double x0[kPiece], x1[kPiece], x2[kPiece];
  TrajSums s;
  for (uint64_t off = 0; off < n; off += kPiece) {
    const size_t m = n - off < kPiece ? n - off : kPiece;
    simd::ToDouble(job.x0.dtype, job.x0.data, start + off, m, x0);
    simd::ToDouble(job.x1.dtype, job.x1.data, start + off, m, x1);
    simd::ToDouble(job.x2.dtype, job.x2.data, start + off, m, x2);
    for (size_t i = 0; i < m; ++i) {
      if (!std::isfinite(x0[i]) || !std::isfinite(x1[i]) || !std::isfinite(x2[i])) continue;
      const double u = x1[i] - x0[i], v = x2[i] - x1[i];
      s.dot += u * v;
      s.s01 += u * u;
      s.s12 += v * v;
      ++s.n;
    }
  }
  *out = s;
}

}  // namespace

Status RunTrajectory(const std::vector<TrajectoryJob>& jobs, double* out, ExecContext& ctx) {
  std::vector<Chunk> chunks;
  std::vector<const MappedFile*> files;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const TrajectoryJob& job = jobs[j];
    if (job.x0.count != job.x1.count || job.x1.count != job.x2.count) {
      return Status::Error(Code::kInvalidArgument, "trajectory job " + std::to_string(j) +
                                                       ": x0, x1 and x2 have different counts");
    }
    uint64_t b0 = 0, b1 = 0, b2 = 0;
    ByteLengthOf(job.x0.dtype, simd::kBlock, &b0);
    ByteLengthOf(job.x1.dtype, simd::kBlock, &b1);
    ByteLengthOf(job.x2.dtype, simd::kBlock, &b2);
    AppendChunks(static_cast<uint32_t>(j), job.x0.count, b0 + b1 + b2, &chunks);
    AddFile(&files, job.x0.file);
    AddFile(&files, job.x1.file);
    AddFile(&files, job.x2.file);
  }
  std::vector<TrajSums> partial(chunks.size());
  Status s = RunChunks(
      ctx, chunks,
      [&](size_t c) {
        TrajPart(jobs[chunks[c].job], chunks[c].start, chunks[c].count, &partial[c]);
      },
      files);
  if (!s.ok()) return s;
  size_t c = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    TrajSums acc;
    for (; c < chunks.size() && chunks[c].job == j; ++c) {
      acc.dot += partial[c].dot;
      acc.s01 += partial[c].s01;
      acc.s12 += partial[c].s12;
      acc.n += partial[c].n;
    }
    double* o = out + 4 * j;
    o[0] = acc.dot;
    o[1] = acc.s01;
    o[2] = acc.s12;
    o[3] = static_cast<double>(acc.n);
  }
  return Status::Ok();
}

}  // namespace diffai
