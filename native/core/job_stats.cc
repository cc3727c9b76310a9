// Per-tensor statistics: chunks on the pool, merged in chunk order.
#include <cstring>

#include "core/jobs.h"
#include "core/plan.h"
#include "core/stats_part.h"
#include "simd/reference.h"

namespace diffai {

namespace {

// Elements per float64 piece: 16 KiB of stack.
constexpr size_t kPiece = 2048;

}  // namespace

void StatsPart(const simd::Kernels& k, const TensorSpan& t, uint64_t start, uint64_t n,
               StatsAcc* acc) {
  const int src = SrcOf(t.dtype);
  if (src >= 0) {
    k.stats[src](t.data + ByteOffsetOf(t.dtype, start), n, acc);
    return;
  }
  if (Info(t.dtype).float32_exact) {
    // F8 and Q8_0: decode a block to float32, then the fused F32 kernel.
    float buf[simd::kBlock];
    for (uint64_t off = 0; off < n; off += simd::kBlock) {
      const size_t m = n - off < simd::kBlock ? n - off : simd::kBlock;
      simd::ToFloat(t.dtype, t.data, start + off, m, buf);
      k.stats[simd::kSrcF32](reinterpret_cast<const uint8_t*>(buf), m, acc);
    }
    return;
  }
  // F64 and integers: float64 throughout (branch-free unless the piece holds NaN/Inf).
  double buf[kPiece];
  for (uint64_t off = 0; off < n; off += kPiece) {
    const size_t m = n - off < kPiece ? n - off : kPiece;
    simd::ToDouble(t.dtype, t.data, start + off, m, buf);
    BlockSums s;
    s.shift = ShiftForDType(*acc, buf[0], t.dtype);
    if (!simd::FastStatsSums(buf, m, &s)) simd::ExactStatsSums(buf, m, &s);
    Fold(*acc, s);
  }
}

Status RunStats(const std::vector<TensorSpan>& jobs, double* out, ExecContext& ctx) {
  std::vector<Chunk> chunks;
  std::vector<const MappedFile*> files;
  for (size_t j = 0; j < jobs.size(); ++j) {
    uint64_t per_block = 0;
    ByteLengthOf(jobs[j].dtype, simd::kBlock, &per_block);
    AppendChunks(static_cast<uint32_t>(j), jobs[j].count, per_block, &chunks);
    AddFile(&files, jobs[j].file);
  }
  std::vector<StatsAcc> partial(chunks.size());
  const simd::Kernels& k = *ctx.kernels;
  Status s = RunChunks(
      ctx, chunks,
      [&](size_t c) {
        const Chunk& ch = chunks[c];
        StatsPart(k, jobs[ch.job], ch.start, ch.count, &partial[c]);
      },
      files);
  if (!s.ok()) return s;

  size_t c = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    StatsAcc acc;
    for (; c < chunks.size() && chunks[c].job == j; ++c) Merge(acc, partial[c]);
    WriteStats(acc, out + j * kStatsWidth);
  }
  return Status::Ok();
}

}  // namespace diffai
