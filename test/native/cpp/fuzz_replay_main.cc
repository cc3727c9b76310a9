// Driver for fuzz_safetensors.cc without libFuzzer (g++ builds): edge cases, then N pseudo-random
// inputs biased towards small header lengths and sizes near them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 100000;
  diffai_test::Rng rng(42);
  std::vector<uint8_t> buf;
  for (size_t size = 0; size < 64; ++size) {
    buf.assign(size, 0xff);
    LLVMFuzzerTestOneInput(buf.data(), buf.size());
    buf.assign(size, 0);
    LLVMFuzzerTestOneInput(buf.data(), buf.size());
  }
  for (long it = 0; it < iterations; ++it) {
    const size_t size = rng.Next() % 96;
    buf.resize(size);
    for (uint8_t& b : buf) b = static_cast<uint8_t>(rng.Next());
    if (size >= 8 && rng.Next() % 2) {
      const uint64_t n = rng.Next() % 128;  // plausible header lengths
      for (int i = 0; i < 8; ++i) buf[i] = static_cast<uint8_t>(n >> (8 * i));
    }
    if (size >= 25 && rng.Next() % 2) {
      for (int i = 0; i < 24; ++i)
        buf[i] = (i % 8 == 0) ? static_cast<uint8_t>(rng.Next() % 100) : 0;
    }
    LLVMFuzzerTestOneInput(buf.data(), buf.size());
  }
  std::printf("fuzz replay: %ld inputs, no violation\n", iterations);
  return 0;
}
