// The per-range statistics step shared by the stats and pair jobs.
#pragma once

#include <cstdint>

#include "core/jobs.h"
#include "simd/kernels.h"

namespace diffai {

// Folds elements [start, start + n) of t into *acc with table k: fused kernels for F32/F16/BF16,
// F8 and Q8_0 decoded to float32 blocks first, F64 and integers in float64. Allocation-free.
void StatsPart(const simd::Kernels& k, const TensorSpan& t, uint64_t start, uint64_t n,
               StatsAcc* acc);

}  // namespace diffai
