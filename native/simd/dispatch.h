// The kernel table in use. Chosen once at load: the CPU's maximum level, lowered by
// DIFFAI_SIMD=scalar|avx2|avx512 (an override can only lower the level; an unknown value is
// ignored). SetLevel() switches at run time for tests and benchmarks; a call in progress keeps the
// table it started with.
#pragma once

#include "simd/kernels.h"

namespace diffai {
namespace simd {

const char* LevelName(Level level);
// Parses "scalar" / "avx2" / "avx512"; false otherwise.
bool ParseLevel(const char* name, Level* out);

// The highest level this CPU runs (independent of DIFFAI_SIMD).
Level MaxLevel();
// The table of a level the CPU runs; nullptr above MaxLevel().
const Kernels* Table(Level level);

// The level and table in use.
Level CurrentLevel();
const Kernels& Current();
// Switches to `level`; false (nothing changed) when it is above MaxLevel().
bool SetLevel(Level level);

}  // namespace simd
}  // namespace diffai
