// Pair statistics of two tensors whose sides may be integer codes with per-channel scales and
// offsets: the precision loss of a quantized model against its float original is measured on the
// dequantized values, never on raw codes. Float64 throughout (these run once per quantized tensor);
// chunks merged in chunk order, so results are bit-identical at any thread count.
#include <cmath>

#include "core/jobs_model.h"
#include "core/plan.h"
#include "core/range.h"
#include "simd/reference.h"

namespace diffai {

namespace {

constexpr size_t kPiece = 1024;  // 2 x 8 KiB of stack

// Elements [start, start + m) of a side, dequantized.
void Load(const DequantSide& s, uint64_t start, size_t m, double* x) {
  simd::ToDouble(s.t.dtype, s.t.data, start, m, x);
  if (!s.affine) return;
  uint64_t c = (start / s.inner) % s.n;
  uint64_t i = start % s.inner;
  for (size_t e = 0; e < m; ++e) {
    x[e] = x[e] * s.scale[c] + s.offset[c];
    if (++i == s.inner) {
      i = 0;
      if (++c == s.n) c = 0;
    }
  }
}

void DequantPart(const DequantPairJob& job, uint64_t start, uint64_t n, PairAcc* acc) {
  double xa[kPiece], xb[kPiece];
  for (uint64_t off = 0; off < n; off += kPiece) {
    const size_t m = n - off < kPiece ? n - off : kPiece;
    Load(job.a, start + off, m, xa);
    Load(job.b, start + off, m, xb);
    PairBlockSums s;
    s.a.shift = ShiftFor(acc->a, xa[0]);
    s.b.shift = ShiftFor(acc->b, xb[0]);
    // FastPairSums leaves s untouched when it declines (a non-finite sum).
    if (!simd::FastPairSums(xa, xb, m, job.epsilon, &s)) {
      simd::ExactPairSums(xa, xb, m, job.epsilon, &s);
    }
    FoldPair(*acc, s);
  }
}

Status CheckSide(const DequantSide& s, size_t j, const char* side) {
  if (!s.affine) return Status::Ok();
  uint64_t on = 0, all = 0;
  if (s.n == 0 || s.inner == 0 || !CheckedMul(s.outer, s.n, &on) ||
      !CheckedMul(on, s.inner, &all) || all != s.t.count || s.scale.size() != s.n ||
      s.offset.size() != s.n) {
    return Status::Error(Code::kInvalidArgument,
                         "dequantPair job " + std::to_string(j) + "." + side +
                             ": outer * n * inner must equal the element count and scale/offset "
                             "must hold n values");
  }
  return Status::Ok();
}

}  // namespace

Status RunDequantPair(const std::vector<DequantPairJob>& jobs, double* out, ExecContext& ctx) {
  std::vector<Chunk> chunks;
  std::vector<const MappedFile*> files;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const DequantPairJob& job = jobs[j];
    if (job.a.t.count != job.b.t.count) {
      return Status::Error(Code::kInvalidArgument, "dequantPair job " + std::to_string(j) +
                                                       ": A has " + std::to_string(job.a.t.count) +
                                                       " elements, B has " +
                                                       std::to_string(job.b.t.count));
    }
    Status s = CheckSide(job.a, j, "a");
    if (s.ok()) s = CheckSide(job.b, j, "b");
    if (!s.ok()) return s;
    uint64_t ba = 0, bb = 0;
    ByteLengthOf(job.a.t.dtype, simd::kBlock, &ba);
    ByteLengthOf(job.b.t.dtype, simd::kBlock, &bb);
    AppendChunks(static_cast<uint32_t>(j), job.a.t.count, ba + bb, &chunks);
    AddFile(&files, job.a.t.file);
    AddFile(&files, job.b.t.file);
  }
  std::vector<PairAcc> partial(chunks.size());
  Status s = RunChunks(
      ctx, chunks,
      [&](size_t c) {
        DequantPart(jobs[chunks[c].job], chunks[c].start, chunks[c].count, &partial[c]);
      },
      files);
  if (!s.ok()) return s;
  size_t c = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    PairAcc acc;  // identical stays false: dequantized values are compared, never bytes
    for (; c < chunks.size() && chunks[c].job == j; ++c) MergePair(acc, partial[c]);
    WritePair(acc, out + j * kPairWidth);
  }
  return Status::Ok();
}

}  // namespace diffai
