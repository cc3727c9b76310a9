// Histograms of tensor values (or absolute values) over a fixed range: the second pass of SPEC
// section 2, with the range from the first pass (e.g. |w| in units of the tensor's RMS for the
// pruning share of --param-efficiency-analysis). Every dtype, read through the float64 reference
// conversion; per-chunk counts added in chunk order (integers: exact at any thread count).
#include <cmath>

#include "core/jobs_model.h"
#include "core/plan.h"
#include "simd/reference.h"

namespace diffai {

namespace {

constexpr size_t kPiece = 2048;  // 16 KiB of stack

void HistPart(const HistogramJob& job, uint64_t start, uint64_t n, uint64_t* counts) {
  double x[kPiece];
  const double width = (job.hi - job.lo) / job.bins;
  const double inv = 1.0 / width;
  uint64_t* below = counts + job.bins;
  uint64_t* above = below + 1;
  uint64_t* bad = below + 2;
  for (uint64_t off = 0; off < n; off += kPiece) {
    const size_t m = n - off < kPiece ? n - off : kPiece;
    simd::ToDouble(job.t.dtype, job.t.data, start + off, m, x);
    for (size_t e = 0; e < m; ++e) {
      double v = x[e];
      if (!std::isfinite(v)) {
        ++*bad;
        continue;
      }
      if (job.abs) v = std::fabs(v);
      if (v < job.lo) {
        ++*below;
      } else if (v >= job.hi) {
        ++*above;
      } else {
        uint64_t k = static_cast<uint64_t>((v - job.lo) * inv);
        // v just below an edge can round up to the next bin index; v < hi keeps k < bins.
        if (k >= job.bins) k = job.bins - 1;
        if (job.lo + static_cast<double>(k) * width > v && k > 0) --k;
        ++counts[k];
      }
    }
  }
}

}  // namespace

Status RunHistogram(const std::vector<HistogramJob>& jobs, double* out, ExecContext& ctx) {
  std::vector<Chunk> chunks;
  std::vector<const MappedFile*> files;
  std::vector<size_t> out_offset(jobs.size());
  size_t offset = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const HistogramJob& job = jobs[j];
    if (job.bins == 0 || !std::isfinite(job.lo) || !std::isfinite(job.hi) || !(job.hi > job.lo)) {
      return Status::Error(Code::kInvalidArgument, "histogram job " + std::to_string(j) +
                                                       ": needs bins >= 1 and finite lo < hi");
    }
    out_offset[j] = offset;
    offset += job.bins + 3;
    uint64_t b = 0;
    ByteLengthOf(job.t.dtype, simd::kBlock, &b);
    AppendChunks(static_cast<uint32_t>(j), job.t.count, b, &chunks);
    AddFile(&files, job.t.file);
  }
  // Per-chunk counts, allocated before any task runs (tasks must not allocate).
  std::vector<size_t> chunk_offset(chunks.size());
  size_t total = 0;
  for (size_t c = 0; c < chunks.size(); ++c) {
    chunk_offset[c] = total;
    total += jobs[chunks[c].job].bins + 3;
  }
  std::vector<uint64_t> counts(total, 0);
  Status s = RunChunks(
      ctx, chunks,
      [&](size_t c) {
        HistPart(jobs[chunks[c].job], chunks[c].start, chunks[c].count,
                 counts.data() + chunk_offset[c]);
      },
      files);
  if (!s.ok()) return s;
  for (size_t i = 0; i < offset; ++i) out[i] = 0;
  for (size_t c = 0; c < chunks.size(); ++c) {
    const size_t len = jobs[chunks[c].job].bins + 3;
    double* o = out + out_offset[chunks[c].job];
    for (size_t i = 0; i < len; ++i) o[i] += static_cast<double>(counts[chunk_offset[c] + i]);
  }
  return Status::Ok();
}

}  // namespace diffai
