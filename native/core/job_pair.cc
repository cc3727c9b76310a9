// Fused pair statistics: one pass over A and B gives stats(A), stats(B) and the pair values.
//
// Equal dtypes take the byte-identical fast path per 64 KiB sub-block: memcmp the two ranges (the
// bytes then sit in L2), and when they match compute stats of A once and credit them to both
// sides; otherwise run the fused pair kernel on the same, cache-hot, sub-block. Either way each
// file is read from memory once.
#include <cmath>
#include <cstring>

#include "core/jobs.h"
#include "core/plan.h"
#include "core/stats_part.h"
#include "simd/reference.h"

namespace diffai {

namespace {

constexpr size_t kPiece = 1024;           // float64 pieces: 2 x 8 KiB of stack
constexpr uint64_t kSubBytes = 64 << 10;  // identical-check granularity (bytes of one side)

simd::PairParams ParamsFor(double epsilon) {
  simd::PairParams p;
  p.epsilon = epsilon;
  float f = static_cast<float>(epsilon);
  if (static_cast<double>(f) > epsilon) f = std::nextafterf(f, -INFINITY);
  p.epsilon_f32 = f;
  return p;
}

// Number of the n 8-byte elements from index `start` that differ (unaligned data: memcpy).
uint64_t CountDifferingWords(const uint8_t* a, const uint8_t* b, uint64_t start, size_t n) {
  uint64_t changed = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t x, y;
    std::memcpy(&x, a + (start + i) * 8, 8);
    std::memcpy(&y, b + (start + i) * 8, 8);
    changed += x != y;
  }
  return changed;
}

// Folds pairs [start, start + n) of job into *acc (no identical check).
void PairPart(const simd::Kernels& k, const PairJob& job, const simd::PairParams& prm,
              uint64_t start, uint64_t n, PairAcc* acc) {
  const TensorSpan& a = job.a;
  const TensorSpan& b = job.b;
  if (!Info(a.dtype).float32_exact || !Info(b.dtype).float32_exact) {
    // F64 or an integer on either side: float64 throughout.
    // Two 64-bit integer sides compared exactly (epsilon 0) count changes on the integers themselves:
    // as doubles, 2^53 and 2^53 + 1 would compare equal.
    const bool exact64 = a.dtype == b.dtype && (a.dtype == DType::kI64 || a.dtype == DType::kU64) && prm.epsilon == 0;
    double xa[kPiece], xb[kPiece];
    for (uint64_t off = 0; off < n; off += kPiece) {
      const size_t m = n - off < kPiece ? n - off : kPiece;
      simd::ToDouble(a.dtype, a.data, start + off, m, xa);
      simd::ToDouble(b.dtype, b.data, start + off, m, xb);
      PairBlockSums s;
      s.a.shift = ShiftForDType(acc->a, xa[0], a.dtype);
      s.b.shift = ShiftForDType(acc->b, xb[0], b.dtype);
      if (!simd::FastPairSums(xa, xb, m, prm.epsilon, &s)) {
        simd::ExactPairSums(xa, xb, m, prm.epsilon, &s);
      }
      if (exact64) s.d.changed = CountDifferingWords(a.data, b.data, start + off, m);
      FoldPair(*acc, s);
    }
    return;
  }
  const int sa = SrcOf(a.dtype), sb = SrcOf(b.dtype);
  if (sa >= 0 && sb >= 0) {
    k.pair[sa][sb](a.data + ByteOffsetOf(a.dtype, start), b.data + ByteOffsetOf(b.dtype, start), n,
                   prm, acc);
    return;
  }
  // F8 / Q8_0 on a side: decode that side to float32 blocks.
  float fa[simd::kBlock], fb[simd::kBlock];
  for (uint64_t off = 0; off < n; off += simd::kBlock) {
    const size_t m = n - off < simd::kBlock ? n - off : simd::kBlock;
    const uint8_t* pa;
    const uint8_t* pb;
    int ka = sa, kb = sb;
    if (sa >= 0) {
      pa = a.data + ByteOffsetOf(a.dtype, start + off);
    } else {
      simd::ToFloat(a.dtype, a.data, start + off, m, fa);
      pa = reinterpret_cast<const uint8_t*>(fa);
      ka = simd::kSrcF32;
    }
    if (sb >= 0) {
      pb = b.data + ByteOffsetOf(b.dtype, start + off);
    } else {
      simd::ToFloat(b.dtype, b.data, start + off, m, fb);
      pb = reinterpret_cast<const uint8_t*>(fb);
      kb = simd::kSrcF32;
    }
    k.pair[ka][kb](pa, pb, m, prm, acc);
  }
}

void PairChunk(const simd::Kernels& k, const PairJob& job, const simd::PairParams& prm,
               uint64_t start, uint64_t n, PairAcc* acc) {
  acc->identical = job.a.dtype == job.b.dtype;
  if (!acc->identical) {
    PairPart(k, job, prm, start, n, acc);
    return;
  }
  const DType dt = job.a.dtype;
  uint64_t block_bytes = 0;
  ByteLengthOf(dt, simd::kBlock, &block_bytes);
  uint64_t sub = kSubBytes / block_bytes * simd::kBlock;
  if (sub == 0) sub = simd::kBlock;
  for (uint64_t off = 0; off < n; off += sub) {
    const uint64_t m = n - off < sub ? n - off : sub;
    const uint64_t byte_off = ByteOffsetOf(dt, start + off);
    uint64_t bytes = 0;
    ByteLengthOf(dt, m, &bytes);
    if (std::memcmp(job.a.data + byte_off, job.b.data + byte_off, bytes) == 0) {
      StatsAcc s;
      StatsPart(k, job.a, start + off, m, &s);
      Merge(acc->a, s);
      Merge(acc->b, s);
      // D = 0 here; A.B = sum a^2 over the finite positions; equal bytes are equal values.
      acc->d.both_finite += s.finite;
      acc->d.dot += s.sumsq;
    } else {
      acc->identical = false;
      PairPart(k, job, prm, start + off, m, acc);
    }
  }
}

}  // namespace

Status RunPair(const std::vector<PairJob>& jobs, double* out, ExecContext& ctx) {
  std::vector<Chunk> chunks;
  std::vector<const MappedFile*> files;
  std::vector<simd::PairParams> params(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    const PairJob& job = jobs[j];
    if (job.a.count != job.b.count) {
      return Status::Error(Code::kInvalidArgument, "pair job " + std::to_string(j) + ": A has " +
                                                       std::to_string(job.a.count) +
                                                       " elements, B has " +
                                                       std::to_string(job.b.count));
    }
    uint64_t ba = 0, bb = 0;
    ByteLengthOf(job.a.dtype, simd::kBlock, &ba);
    ByteLengthOf(job.b.dtype, simd::kBlock, &bb);
    AppendChunks(static_cast<uint32_t>(j), job.a.count, ba + bb, &chunks);
    AddFile(&files, job.a.file);
    AddFile(&files, job.b.file);
    params[j] = ParamsFor(job.epsilon);
  }
  std::vector<PairAcc> partial(chunks.size());
  const simd::Kernels& k = *ctx.kernels;
  Status s = RunChunks(
      ctx, chunks,
      [&](size_t c) {
        const Chunk& ch = chunks[c];
        PairChunk(k, jobs[ch.job], params[ch.job], ch.start, ch.count, &partial[c]);
      },
      files);
  if (!s.ok()) return s;

  size_t c = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    PairAcc acc;
    acc.identical = jobs[j].a.dtype == jobs[j].b.dtype;
    for (; c < chunks.size() && chunks[c].job == j; ++c) MergePair(acc, partial[c]);
    WritePair(acc, out + j * kPairWidth);
  }
  return Status::Ok();
}

}  // namespace diffai
