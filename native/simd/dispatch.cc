#include "simd/dispatch.h"

#include <strings.h>

#include <atomic>
#include <cstdlib>

#include "simd/cpu.h"

namespace diffai {
namespace simd {

namespace {

struct State {
  Level max;
  std::atomic<int> current;
  State() : max(MaxCpuLevel()), current(static_cast<int>(max)) {
    Level wanted;
    const char* env = std::getenv("DIFFAI_SIMD");
    if (env != nullptr && ParseLevel(env, &wanted) && wanted < max) {
      current.store(static_cast<int>(wanted));
    }
  }
};

State& Get() {
  static State state;  // thread-safe initialisation on first use
  return state;
}

}  // namespace

const char* LevelName(Level level) {
  switch (level) {
    case Level::kAvx2:
      return "avx2";
    case Level::kAvx512:
      return "avx512";
    default:
      return "scalar";
  }
}

bool ParseLevel(const char* name, Level* out) {
  if (strcasecmp(name, "scalar") == 0) {
    *out = Level::kScalar;
  } else if (strcasecmp(name, "avx2") == 0) {
    *out = Level::kAvx2;
  } else if (strcasecmp(name, "avx512") == 0) {
    *out = Level::kAvx512;
  } else {
    return false;
  }
  return true;
}

Level MaxLevel() { return Get().max; }

const Kernels* Table(Level level) {
  if (level > MaxLevel()) return nullptr;
  switch (level) {
    case Level::kAvx512:
      return Avx512Kernels();
    case Level::kAvx2:
      return Avx2Kernels();
    default:
      return ScalarKernels();
  }
}

Level CurrentLevel() { return static_cast<Level>(Get().current.load()); }

const Kernels& Current() { return *Table(CurrentLevel()); }

bool SetLevel(Level level) {
  if (level > MaxLevel()) return false;
  Get().current.store(static_cast<int>(level));
  return true;
}

}  // namespace simd
}  // namespace diffai
