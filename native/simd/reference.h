// The scalar reference: bit-exact element conversions for every dtype and the float64 block
// reductions that every level falls back to for blocks holding NaN or Inf (and that the scalar
// level uses for everything).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "core/moments.h"
#include "simd/kernels.h"

namespace diffai {
namespace simd {

// binary16 bits -> float32 bits, exactly as F16C vcvtph2ps does it: subnormals normalised, NaN
// payloads kept and signalling NaNs quieted (bit 22 set).
uint32_t HalfToFloatBits(uint16_t h);
float HalfToFloat(uint16_t h);
// bfloat16 bits -> float32: a 16-bit shift, NaNs unchanged (the SIMD levels shift too).
float BF16ToFloat(uint16_t h);
// float8 (one byte) -> float32, through 256-entry tables.
float F8E4M3ToFloat(uint8_t v);
float F8E5M2ToFloat(uint8_t v);

// Elements [start, start + n) of a tensor whose element 0 is at `base`, as float64. Every dtype.
// For Q8_0, start may be anywhere inside a block.
void ToDouble(DType dtype, const uint8_t* base, uint64_t start, size_t n, double* out);
// The same as float32, for float32-exact dtypes only (Info(dtype).float32_exact).
void ToFloat(DType dtype, const uint8_t* base, uint64_t start, size_t n, float* out);
// A source format's dtype.
DType SrcDType(Src src);

// Adds x[0..n) to *s (relative to s->shift): counts, NaN/Inf, zeros, min/max, sums.
void ExactStatsSums(const double* x, size_t n, BlockSums* s);
// The same for element pairs, and the pair values with the equality rules of the contract.
void ExactPairSums(const double* a, const double* b, size_t n, double epsilon, PairBlockSums* s);

// Branch-free float64 versions of the two functions above for blocks without NaN/Inf (F64 and
// integer tensors): four independent accumulators, about 4x faster. They return false, leaving *s
// untouched, when a sum comes out non-finite; the caller then uses the exact functions.
bool FastStatsSums(const double* x, size_t n, BlockSums* s);
bool FastPairSums(const double* a, const double* b, size_t n, double epsilon, PairBlockSums* s);

// Recomputes one block (n <= kBlock) of a source format in float64 into *s (s->shift set by the
// caller). Used by the SIMD kernels for blocks whose float32 sums came out non-finite.
void RedoStatsBlock(Src src, const uint8_t* p, size_t n, BlockSums* s);
void RedoPairBlock(Src sa, const uint8_t* a, Src sb, const uint8_t* b, size_t n, double epsilon,
                   PairBlockSums* s);

// One row of the spectral step's gram pass (kernels.h GramFn), every dtype, in float64: over
// elements [start, start + cols) of a tensor whose element 0 is at `base`, t = row . v and
// acc += t * row, non-finite elements read as 0. The scalar level's kernel, the SIMD levels' path
// for rows holding NaN or Inf, and core's path for dtypes without a fused kernel.
void GramRowExact(DType dtype, const uint8_t* base, uint64_t start, size_t cols, const double* v,
                  double* acc);

// Element size of a source format.
inline size_t SrcSize(Src src) { return src == kSrcF32 ? 4 : 2; }

}  // namespace simd
}  // namespace diffai
