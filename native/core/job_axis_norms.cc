// Axis norms of a tensor viewed as [outer, n, inner]: out[i] = sqrt(sum over (o, j) of
// x[o, i, j]^2), non-finite values skipped, float64 accumulation.
//
// Two deterministic partitions:
// - split i (each task owns out[i0..i1) and reads, for every o, the contiguous run
//   x[o, i0..i1, :]), used when one outer slice is large enough to give long runs;
// - split o (each task sums its outer range into a private n-vector; vectors are added in task
//   order), used for many small slices. At most kMaxPartials tasks, and their vectors are capped
//   at kPartialBudget bytes together.
#include <cmath>
#include <cstring>

#include "core/jobs.h"
#include "core/plan.h"
#include "simd/reference.h"

namespace diffai {

namespace {

constexpr size_t kPiece = 1024;

// Adds the squares of elements [start, start + count) of t to acc[row], where the first element is
// at column `col` of row `row` (rows of `inner` elements, row index wrapping at n).
void AccumulateRows(const TensorSpan& t, uint64_t start, uint64_t count, uint64_t inner, uint64_t n,
                    uint64_t row, uint64_t col, double* acc) {
  double x[kPiece];
  for (uint64_t off = 0; off < count; off += kPiece) {
    const size_t m = count - off < kPiece ? count - off : kPiece;
    simd::ToDouble(t.dtype, t.data, start + off, m, x);
    for (size_t e = 0; e < m; ++e) {
      const double v = x[e];
      if (std::isfinite(v)) acc[row] += v * v;
      if (++col == inner) {
        col = 0;
        if (++row == n) row = 0;
      }
    }
  }
}

struct Task {
  uint32_t job;
  bool split_i;
  uint64_t lo, hi;  // i range or o range
  double* partial;  // split o: private n-vector
  uint64_t bytes;
};

}  // namespace

Status RunAxisNorms(const std::vector<AxisNormJob>& jobs, double* out, ExecContext& ctx) {
  std::vector<Task> tasks;
  std::vector<size_t> out_offset(jobs.size());
  std::vector<const MappedFile*> files;
  size_t partial_len = 0;
  size_t offset = 0;
  // First pass: decide the partition and the partial storage needed.
  for (size_t j = 0; j < jobs.size(); ++j) {
    const AxisNormJob& job = jobs[j];
    out_offset[j] = offset;
    offset += job.n;
    AddFile(&files, job.t.file);
    if (job.t.count == 0) continue;
    uint64_t slice_bytes = 0;
    ByteLengthOf(job.t.dtype, job.n * job.inner, &slice_bytes);
    if (Info(job.t.dtype).block_elems > 1) slice_bytes = job.t.bytes / job.outer;
    const uint64_t total = job.t.bytes;
    if (job.outer == 1 || slice_bytes >= kMinRunBytes) {
      const uint64_t parts = OutputSplitParts(total, slice_bytes, job.n, job.outer > 1);
      for (uint64_t p = 0; p < parts; ++p) {
        const uint64_t lo = job.n * p / parts, hi = job.n * (p + 1) / parts;
        tasks.push_back(
            Task{static_cast<uint32_t>(j), true, lo, hi, nullptr, total / job.n * (hi - lo)});
      }
    } else {
      const uint64_t parts = PartialSplitParts(total, job.n, job.outer);
      for (uint64_t p = 0; p < parts; ++p) {
        const uint64_t lo = job.outer * p / parts, hi = job.outer * (p + 1) / parts;
        tasks.push_back(
            Task{static_cast<uint32_t>(j), false, lo, hi, nullptr, total / job.outer * (hi - lo)});
        partial_len += job.n;
      }
    }
  }
  std::vector<double> partials(partial_len, 0.0);
  std::memset(out, 0, offset * sizeof(double));
  size_t used = 0;
  for (Task& t : tasks) {
    if (!t.split_i) {
      t.partial = partials.data() + used;
      used += jobs[t.job].n;
    }
  }
  std::vector<uint64_t> bytes(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) bytes[i] = tasks[i].bytes;

  Status s = RunTasks(
      ctx, tasks.size(), bytes,
      [&](size_t ti) {
        const Task& t = tasks[ti];
        const AxisNormJob& job = jobs[t.job];
        if (t.split_i) {
          double* acc = out + out_offset[t.job];
          for (uint64_t o = 0; o < job.outer; ++o) {
            const uint64_t start = (o * job.n + t.lo) * job.inner;
            AccumulateRows(job.t, start, (t.hi - t.lo) * job.inner, job.inner, job.n, t.lo, 0, acc);
          }
        } else {
          const uint64_t start = t.lo * job.n * job.inner;
          AccumulateRows(job.t, start, (t.hi - t.lo) * job.n * job.inner, job.inner, job.n, 0, 0,
                         t.partial);
        }
      },
      files);
  if (!s.ok()) return s;
  for (const Task& t : tasks) {
    if (t.split_i) continue;
    double* acc = out + out_offset[t.job];
    for (uint64_t i = 0; i < jobs[t.job].n; ++i) acc[i] += t.partial[i];
  }
  for (size_t i = 0; i < offset; ++i) out[i] = std::sqrt(out[i]);
  return Status::Ok();
}

}  // namespace diffai
