// Dense products with M [rows, cols] = A or B - A (never materialised), float64 accumulation,
// non-finite elements of M read as 0.
//
// out = M X (transpose false): tasks own row ranges of out.
// out = X^T M (transpose true): tasks own column ranges of out when rows are long (each task reads
// a contiguous run of every row), else row ranges with private [k, cols] partials added in task
// order (at most kMaxPartials, capped at kPartialBudget bytes together). Deterministic either way.
#include <cmath>
#include <cstring>

#include "core/jobs.h"
#include "core/plan.h"
#include "simd/reference.h"

namespace diffai {

namespace {

constexpr size_t kPiece = 1024;

// Elements [start, start + m) of M into x (m <= kPiece).
void LoadM(const MatmulJob& job, uint64_t start, size_t m, double* x, double* tmp) {
  simd::ToDouble(job.a.dtype, job.a.data, start, m, x);
  if (job.has_b) {
    simd::ToDouble(job.b.dtype, job.b.data, start, m, tmp);
    for (size_t i = 0; i < m; ++i) x[i] = tmp[i] - x[i];
  }
  for (size_t i = 0; i < m; ++i) {
    if (!std::isfinite(x[i])) x[i] = 0;
  }
}

// out_row[j] += sum_c M[r, c0 + c] X[(c0 + c) k + j] over a run of a row.
void RowTimesX(const MatmulJob& job, uint64_t r, double* out_row) {
  double m[kPiece], tmp[kPiece];
  const uint64_t k = job.k;
  for (uint64_t c0 = 0; c0 < job.cols; c0 += kPiece) {
    const size_t len = job.cols - c0 < kPiece ? job.cols - c0 : kPiece;
    LoadM(job, r * job.cols + c0, len, m, tmp);
    const double* x = job.x + c0 * k;
    if (k == 1) {
      // Four fixed partial sums: vectorisable and still a fixed order.
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      size_t c = 0;
      for (; c + 4 <= len; c += 4) {
        s0 += m[c] * x[c];
        s1 += m[c + 1] * x[c + 1];
        s2 += m[c + 2] * x[c + 2];
        s3 += m[c + 3] * x[c + 3];
      }
      for (; c < len; ++c) s0 += m[c] * x[c];
      out_row[0] += (s0 + s1) + (s2 + s3);
    } else {
      for (size_t c = 0; c < len; ++c) {
        const double v = m[c];
        if (v == 0) continue;
        const double* xr = x + c * k;
        for (uint64_t j = 0; j < k; ++j) out_row[j] += v * xr[j];
      }
    }
  }
}

// out[j * ldo + (c - c_lo)] += X[r k + j] M[r, c] for c in [c_lo, c_hi).
void XtRow(const MatmulJob& job, uint64_t r, uint64_t c_lo, uint64_t c_hi, double* out,
           uint64_t ldo) {
  double m[kPiece], tmp[kPiece];
  const uint64_t k = job.k;
  const double* xr = job.x + r * k;
  for (uint64_t c0 = c_lo; c0 < c_hi; c0 += kPiece) {
    const size_t len = c_hi - c0 < kPiece ? c_hi - c0 : kPiece;
    LoadM(job, r * job.cols + c0, len, m, tmp);
    for (uint64_t j = 0; j < k; ++j) {
      const double w = xr[j];
      if (w == 0) continue;
      double* o = out + j * ldo + (c0 - c_lo);
      for (size_t c = 0; c < len; ++c) o[c] += w * m[c];
    }
  }
}

struct Task {
  uint64_t lo, hi;  // rows, or columns (by_column)
  bool by_column;
  double* partial;  // transpose with row split: private [k, cols]
  uint64_t bytes;
};

}  // namespace

Status RunMatmul(const MatmulJob& job, double* out, ExecContext& ctx) {
  std::vector<const MappedFile*> files;
  AddFile(&files, job.a.file);
  if (job.has_b) AddFile(&files, job.b.file);
  const uint64_t out_len = job.transpose ? job.k * job.cols : job.rows * job.k;
  std::memset(out, 0, out_len * sizeof(double));
  if (job.rows == 0 || job.cols == 0 || job.k == 0) {
    return RunTasks(
        ctx, 0, {}, [](size_t) {}, files);
  }
  const uint64_t total = job.a.bytes + (job.has_b ? job.b.bytes : 0);
  const uint64_t row_bytes = total / job.rows;
  std::vector<Task> tasks;
  std::vector<double> partials;
  if (!job.transpose) {
    // row_bytes > 0 here (rows and cols are non-zero).
    uint64_t rows_per = kChunkBytes / row_bytes;
    if (rows_per == 0) rows_per = 1;
    for (uint64_t r = 0; r < job.rows; r += rows_per) {
      const uint64_t hi = job.rows - r < rows_per ? job.rows : r + rows_per;
      tasks.push_back(Task{r, hi, false, nullptr, row_bytes * (hi - r)});
    }
  } else if (row_bytes >= kMinRunBytes) {
    const uint64_t parts = OutputSplitParts(total, row_bytes, job.cols, true);
    for (uint64_t p = 0; p < parts; ++p) {
      const uint64_t lo = job.cols * p / parts, hi = job.cols * (p + 1) / parts;
      tasks.push_back(Task{lo, hi, true, nullptr, total / job.cols * (hi - lo)});
    }
  } else {
    const uint64_t parts = PartialSplitParts(total, out_len, job.rows);
    partials.assign(parts > 1 ? parts * out_len : 0, 0.0);
    for (uint64_t p = 0; p < parts; ++p) {
      const uint64_t lo = job.rows * p / parts, hi = job.rows * (p + 1) / parts;
      tasks.push_back(Task{lo, hi, false, parts > 1 ? partials.data() + p * out_len : out,
                           row_bytes * (hi - lo)});
    }
  }
  std::vector<uint64_t> bytes(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) bytes[i] = tasks[i].bytes;

  Status s = RunTasks(
      ctx, tasks.size(), bytes,
      [&](size_t ti) {
        const Task& t = tasks[ti];
        if (!job.transpose) {
          for (uint64_t r = t.lo; r < t.hi; ++r) RowTimesX(job, r, out + r * job.k);
        } else if (t.by_column) {
          for (uint64_t r = 0; r < job.rows; ++r) XtRow(job, r, t.lo, t.hi, out + t.lo, job.cols);
        } else {
          for (uint64_t r = t.lo; r < t.hi; ++r) XtRow(job, r, 0, job.cols, t.partial, job.cols);
        }
      },
      files);
  if (!s.ok()) return s;
  if (!partials.empty()) {
    for (const Task& t : tasks) {
      for (uint64_t i = 0; i < out_len; ++i) out[i] += t.partial[i];
    }
  }
  return Status::Ok();
}

}  // namespace diffai
