// RunGram: see job_gram.h. Rows of F32, F16 and BF16 go through the level's fused kernel
// (simd::Kernels::gram); other dtypes through the float64 reference row (GramRowExact).
#include "core/job_gram.h"

#include <cstring>

#include "core/plan.h"
#include "simd/reference.h"

namespace diffai {

namespace {

// A row range of a job and where it accumulates.
struct Unit {
  uint32_t job;
  uint64_t lo, hi;  // rows
  double* acc;      // the job's output (first range) or a private partial
  uint64_t bytes;
};

// A task: units [first, last).
struct Span {
  size_t first, last;
  uint64_t bytes;
};

void RunUnit(const GramJob& job, const Unit& u, const simd::Kernels& k) {
  const int src = SrcOf(job.m.dtype);
  if (src >= 0) {
    const size_t size = simd::SrcSize(static_cast<simd::Src>(src));
    k.gram[src](job.m.data + u.lo * job.cols * size, u.hi - u.lo, job.cols, job.v, u.acc);
    return;
  }
  for (uint64_t r = u.lo; r < u.hi; ++r) {
    simd::GramRowExact(job.m.dtype, job.m.data, r * job.cols, job.cols, job.v, u.acc);
  }
}

// Input bytes of rows [0, r) of a job (rounded down; exact at r = rows).
uint64_t RowBytes(const GramJob& job, uint64_t r) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(job.m.bytes) * r / job.rows);
}

}  // namespace

uint64_t GramParts(const GramJob& job) {
  if (job.rows == 0 || job.cols == 0) return 0;
  uint64_t parts = (job.m.bytes + kGramPartBytes - 1) / kGramPartBytes;
  if (parts > kGramMaxParts) parts = kGramMaxParts;
  if (parts > job.rows) parts = job.rows;
  const uint64_t by_memory = kGramJobPartialBytes / (8 * job.cols);  // partials for parts 1..
  if (parts > by_memory + 1) parts = by_memory + 1;
  return parts == 0 ? 1 : parts;
}

Status RunGram(const std::vector<GramJob>& jobs, double* out, ExecContext& ctx) {
  std::vector<const MappedFile*> files;
  std::vector<uint64_t> offset(jobs.size() + 1, 0);
  uint64_t total = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    AddFile(&files, jobs[j].m.file);
    offset[j + 1] = offset[j] + jobs[j].cols;
    total += jobs[j].m.bytes;
  }
  std::memset(out, 0, offset.back() * sizeof(double));
  const simd::Kernels& kernels = *ctx.kernels;

  // Progress over the whole call: each wave reports from where the previous ones ended.
  ExecContext wave_ctx = ctx;
  uint64_t base = 0;
  if (ctx.progress) {
    wave_ctx.progress = [&ctx, &base, total](uint64_t done, uint64_t) {
      ctx.progress(base + done, total);
    };
  }

  size_t next = 0;
  do {
    // One wave: jobs [first, next) whose partials fit the call's budget together.
    const size_t first = next;
    uint64_t partial_len = 0;
    while (next < jobs.size()) {
      const uint64_t parts = GramParts(jobs[next]);
      const uint64_t len = parts > 1 ? (parts - 1) * jobs[next].cols : 0;
      if (next > first && (partial_len + len) * 8 > kGramCallPartialBytes) break;
      partial_len += len;
      ++next;
    }
    std::vector<double> partials(partial_len, 0.0);
    std::vector<Unit> units;
    std::vector<Span> tasks;
    uint64_t wave_bytes = 0;
    double* slot = partials.data();
    for (size_t j = first; j < next; ++j) {
      const GramJob& job = jobs[j];
      const uint64_t parts = GramParts(job);
      for (uint64_t p = 0; p < parts; ++p) {
        Unit u;
        u.job = static_cast<uint32_t>(j);
        u.lo = job.rows * p / parts;
        u.hi = job.rows * (p + 1) / parts;
        u.bytes = RowBytes(job, u.hi) - RowBytes(job, u.lo);
        if (p == 0) {
          u.acc = out + offset[j];
        } else {
          u.acc = slot;
          slot += job.cols;
        }
        // Single-range jobs share tasks of about kChunkBytes; ranges of split jobs are tasks alone.
        if (parts == 1 && !tasks.empty() && tasks.back().last == units.size() &&
            units.back().hi - units.back().lo == jobs[units.back().job].rows &&
            tasks.back().bytes + u.bytes <= kChunkBytes) {
          tasks.back().last++;
          tasks.back().bytes += u.bytes;
        } else {
          tasks.push_back(Span{units.size(), units.size() + 1, u.bytes});
        }
        units.push_back(u);
        wave_bytes += u.bytes;
      }
    }
    std::vector<uint64_t> bytes(tasks.size());
    for (size_t t = 0; t < tasks.size(); ++t) bytes[t] = tasks[t].bytes;
    Status s = RunTasks(
        wave_ctx, tasks.size(), bytes,
        [&](size_t t) {
          for (size_t i = tasks[t].first; i < tasks[t].last; ++i) {
            RunUnit(jobs[units[i].job], units[i], kernels);
          }
        },
        files);
    if (!s.ok()) return s;
    // Partials in range order.
    for (const Unit& u : units) {
      double* dst = out + offset[u.job];
      if (u.acc == dst) continue;
      for (uint64_t c = 0; c < jobs[u.job].cols; ++c) dst[c] += u.acc[c];
    }
    base += wave_bytes;
  } while (next < jobs.size());
  return Status::Ok();
}

}  // namespace diffai
