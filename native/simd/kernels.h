// The kernel table: one instance per instruction-set level, chosen once at load (dispatch.h).
//
// The fused kernels read three float32-exact source formats directly: F32, F16 and BF16 (F8 and
// Q8_0 are converted to F32 blocks first, F64 and integers take the float64 path in core). Every
// kernel folds its input into the accumulator block by block (kBlock elements per block, starting
// at the pointer given), so the same call on the same bytes gives the same bits at every thread
// count.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/moments.h"

namespace diffai {
namespace simd {

enum class Level : int { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
constexpr int kLevelCount = 3;

// Elements per block: float32 lanes accumulate within a block, then the block is folded into the
// float64 accumulator (core/moments.h). 4096 x 4 bytes = 16 KiB, well inside L1+L2.
constexpr size_t kBlock = 4096;

enum Src : int { kSrcF32 = 0, kSrcF16 = 1, kSrcBF16 = 2, kSrcCount = 3 };

// Converts n elements at src (any alignment) to float32.
using ConvertFn = void (*)(const uint8_t* src, size_t n, float* dst);
// Folds n elements at src into *acc.
using StatsFn = void (*)(const uint8_t* src, size_t n, StatsAcc* acc);

struct PairParams {
  // |D| > epsilon counts as changed.
  double epsilon = 0;
  // The largest float32 <= epsilon: for a float32 |D|, |D| > epsilon exactly when |D| > this.
  float epsilon_f32 = 0;
};

// Folds n element pairs at a and b into *acc (stats of both sides and the pair values).
using PairFn = void (*)(const uint8_t* a, const uint8_t* b, size_t n, const PairParams& p,
                        PairAcc* acc);

// The sum of n bytes at p (any alignment), modulo 2^64: the plain sequential read of the bandwidth
// probe (core/job_probe.cc), as fast as the level's loads allow and nothing else.
using ReadFn = uint64_t (*)(const uint8_t* p, size_t n);

// The row pass of the spectral step (core/job_gram.cc): for each of `rows` consecutive rows of
// `cols` elements at src (row r starts at element r * cols), t = row . v and acc += t * row, in
// float64 (v and acc hold cols values each; acc is added to). One pass reads each row from memory
// once: the axpy re-reads the row from cache right after its dot product. The SIMD levels take the
// rows in groups (acc[c] += t0 r0[c] + t1 r1[c] + ..., in that order; AVX-512 groups of 8, then 4,
// AVX2 groups of 4) and the rest one at a time, so the result depends only on the level and on
// where the row range starts and ends. A row holding NaN or Inf (its dot product comes out
// non-finite) is redone by GramRowExact (simd/reference.h) with those elements read as 0.
using GramFn = void (*)(const uint8_t* src, size_t rows, size_t cols, const double* v, double* acc);

struct Kernels {
  Level level;
  const char* name;
  ConvertFn convert[kSrcCount];
  StatsFn stats[kSrcCount];
  PairFn pair[kSrcCount][kSrcCount];
  ReadFn read;
  GramFn gram[kSrcCount];
};

// Tables of each level; nullptr when the level is not compiled into this build (non-x86 hosts).
// Whether the CPU can run a table is dispatch.h's business.
const Kernels* ScalarKernels();
const Kernels* Avx2Kernels();
const Kernels* Avx512Kernels();

}  // namespace simd
}  // namespace diffai
