// Peak probe for the `cpu` hardware profile of the cost model (lib/cost/hardwareProfiles.ts).
//
// Not part of the addon build: compile and run it by hand on the machine class the profile stands
// for
//   g++ -O2 -std=c++17 -pthread native/tools/peak_probe.cc -o /tmp/peak_probe && /tmp/peak_probe
// It prints, per thread count (1 .. hardware threads):
// - F32 FMA GFLOP/s: 12 independent chains of vfmadd231ps zmm (2 FLOP per lane), the CPU's F32
// peak;
// - BF16 GFLOP/s: vdpbf16ps zmm (AVX-512 BF16: 32 bf16 pairs -> 16 float32 sums, 64 FLOP);
// - INT8 GOP/s: vpdpbusd zmm (AVX-512 VNNI: 64 u8 x s8 products, 128 OP);
// - F64 FMA GFLOP/s: vfmadd231pd zmm;
// - read bandwidth GB/s: a 1 GiB buffer summed with 512-bit loads (each thread its own slice),
//   best of 5, after a first touch that faults the pages in.
// The instruction sets are selected per function (target attributes), as in native/simd; the probe
// refuses to run the AVX-512 parts on a CPU without them.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kIters = 200'000'000 / 12;

__attribute__((target("avx512f"))) double F32Fma(int64_t iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f"))) double F64Fma(int64_t iters) {
  __m512d acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_pd(1.0 + i * 1e-3);
  const __m512d a = _mm512_set1_pd(0.999999), b = _mm512_set1_pd(1e-7);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_pd(acc[i], a, b);
  }
  __m512d s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_pd(s, acc[i]);
  return _mm512_reduce_add_pd(s);
}

__attribute__((target("avx512f,avx512bf16"))) double Bf16Dot(int64_t iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.0f);
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3380);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f,avx512vnni"))) double Int8Dot(int64_t iters) {
  __m512i acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_setzero_si512();
  const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(1);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
  }
  __m512i s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_epi32(s, acc[i]);
  return static_cast<double>(_mm512_reduce_add_epi32(s));
}

__attribute__((target("avx512f"))) double SumRange(const float* p, size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

// Runs f(iters) on `threads` threads at once and returns the wall time in seconds.
template <typename F>
double Timed(int threads, F f) {
  std::vector<std::thread> ts;
  std::vector<double> sink(threads);
  const auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { sink[t] = f(t); });
  for (auto& t : ts) t.join();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  double x = 0;
  for (double v : sink) x += v;
  if (x == 12345.678) std::puts("");  // keeps the results alive
  return s;
}

}  // namespace

int main() {
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bf16") ||
      !__builtin_cpu_supports("avx512vnni")) {
    std::puts("this probe needs AVX-512 F, BF16 and VNNI");
    return 1;
  }
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const size_t bytes = size_t{1} << 30;
  const size_t n = bytes / sizeof(float);
  float* buf = static_cast<float*>(std::aligned_alloc(64, bytes));
  for (size_t i = 0; i < n; ++i) buf[i] = 1.0f;
  for (int threads = 1; threads <= hw; ++threads) {
    auto best = [&](auto f, double ops_per_iter) {
      double b = 1e30;
      for (int r = 0; r < 3; ++r) b = std::min(b, Timed(threads, [&](int) { return f(kIters); }));
      return ops_per_iter * kIters * threads / b / 1e9;
    };
    const double f32 = best(F32Fma, 12.0 * 16 * 2);
    const double f64 = best(F64Fma, 12.0 * 8 * 2);
    const double bf16 = best(Bf16Dot, 12.0 * 32 * 2);
    const double i8 = best(Int8Dot, 12.0 * 64 * 2);
    double bw = 1e30;
    for (int r = 0; r < 5; ++r) {
      bw = std::min(bw, Timed(threads, [&](int t) {
                      const size_t lo = n / threads * t,
                                   hi = t + 1 == threads ? n : n / threads * (t + 1);
                      return SumRange(buf + lo, hi - lo);
                    }));
    }
    std::printf(
        "threads=%d f32_gflops=%.1f f64_gflops=%.1f bf16_gflops=%.1f int8_gops=%.1f "
        "read_gbs=%.1f\n",
        threads, f32, f64, bf16, i8, bytes / bw / 1e9);
  }
  std::free(buf);
  return 0;
}
