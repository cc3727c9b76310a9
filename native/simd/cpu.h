// CPU feature detection: CPUID for the instructions plus XGETBV for the OS side, because a CPU
// that has AVX-512 is of no use when the OS does not save the zmm/opmask state on context switches
// (XCR0 bits), and executing those instructions would then fault.
#pragma once

#include "simd/kernels.h"

namespace diffai {
namespace simd {

struct CpuFeatures {
  bool avx2 = false;        // AVX2 + FMA + F16C, OS saves ymm state
  bool avx512 = false;      // AVX-512 F/BW/DQ/VL, OS saves zmm + opmask state
  bool avx512bf16 = false;  // reported only; the kernels convert bfloat16 by shifting
};

CpuFeatures DetectCpu();

// The highest level the CPU and OS support.
Level MaxCpuLevel();

}  // namespace simd
}  // namespace diffai
