// simd/: CPU detection and dispatch rules; conversions bit-exact at every level over all 65,536
// patterns; kernels of every level within 2e-7 of the scalar (float64) level.
#include <cmath>
#include <cstring>

#include "core/moments.h"
#include "harness.h"
#include "simd/cpu.h"
#include "simd/dispatch.h"
#include "simd/reference.h"
#include "test_util.h"

using namespace diffai;
using namespace diffai::simd;

TEST(DispatchRules) {
  Level l;
  CHECK(ParseLevel("scalar", &l) && l == Level::kScalar);
  CHECK(ParseLevel("AVX512", &l) && l == Level::kAvx512);
  CHECK(!ParseLevel("sse2", &l));
  CHECK(Table(Level::kScalar) != nullptr);
  CHECK(CurrentLevel() <= MaxLevel());
  const Level before = CurrentLevel();
  CHECK(SetLevel(Level::kScalar) && CurrentLevel() == Level::kScalar);
  if (MaxLevel() < Level::kAvx512) CHECK(!SetLevel(Level::kAvx512));
  CHECK(SetLevel(before));
  const CpuFeatures f = DetectCpu();
  CHECK(!f.avx512 || f.avx2);
  std::printf("     cpu: avx2=%d avx512=%d avx512bf16=%d max=%s\n", f.avx2, f.avx512, f.avx512bf16,
              LevelName(MaxLevel()));
}

TEST(HalfConversionReference) {
  CHECK(HalfToFloat(0x3c00) == 1.0f);
  CHECK(HalfToFloat(0xc000) == -2.0f);
  CHECK(HalfToFloat(0x0001) == std::ldexp(1.0f, -24));
  CHECK(HalfToFloat(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(HalfToFloat(0x7bff) == 65504.0f);
  CHECK(HalfToFloatBits(0x7c00) == 0x7f800000u);
  CHECK(HalfToFloatBits(0x8000) == 0x80000000u);
  CHECK(HalfToFloatBits(0x7c01) == 0x7fc02000u);  // signalling NaN quieted, payload kept
  CHECK(HalfToFloatBits(0xfe00) == 0xffc00000u);
  CHECK(F8E4M3ToFloat(0x7e) == 448.0f);
  CHECK(std::isnan(F8E4M3ToFloat(0xff)));
  CHECK(F8E4M3ToFloat(0x01) == std::ldexp(1.0f, -9));
  CHECK(std::isinf(F8E5M2ToFloat(0x7c)));
}

TEST(ConversionsBitExactAtEveryLevel) {
  std::vector<uint16_t> all(65536 + 1);
  for (uint32_t i = 0; i < 65536; ++i) all[i + 1] = static_cast<uint16_t>(i);
  // +1 element: an unaligned source.
  const uint8_t* src = reinterpret_cast<const uint8_t*>(all.data() + 1);
  std::vector<float> want(65536), got(65536);
  for (int s : {kSrcF16, kSrcBF16}) {
    ScalarKernels()->convert[s](src, 65536, want.data());
    for (int l = 1; l <= static_cast<int>(MaxLevel()); ++l) {
      Table(static_cast<Level>(l))->convert[s](src, 65536, got.data());
      CHECK(std::memcmp(got.data(), want.data(), 65536 * 4) == 0);
      for (size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 31}) {
        std::vector<float> a(n + 1, -1), b(n + 1, -1);
        ScalarKernels()->convert[s](src + 2 * 1000, n, a.data());
        Table(static_cast<Level>(l))->convert[s](src + 2 * 1000, n, b.data());
        CHECK(std::memcmp(a.data(), b.data(), (n + 1) * 4) == 0);  // also: nothing past n written
      }
    }
  }
}

namespace {

void CheckStatsClose(const StatsAcc& got, const StatsAcc& want, double tol) {
  double g[kStatsWidth], w[kStatsWidth];
  WriteStats(got, g);
  WriteStats(want, w);
  const double rms = w[8] / std::sqrt(w[1] > 0 ? w[1] : 1);
  for (int i = 0; i < kStatsWidth; ++i) {
    double scale = std::fabs(w[i]);
    if (i == 2) scale = std::fmax(scale, rms);
    if (i == 12) scale = std::fmax(scale, w[7]);
    if (std::isnan(w[i])) {
      CHECK(std::isnan(g[i]));
    } else if (!(std::fabs(g[i] - w[i]) <= tol * scale)) {
      std::fprintf(stderr, "slot %d: %.17g vs %.17g\n", i, g[i], w[i]);
      CHECK(false);
    }
  }
}

}  // namespace

TEST(KernelsAgreeWithScalar) {
  diffai_test::Rng rng(11);
  const size_t n = 100003;
  std::vector<uint8_t> bytes(4 * n + 8);
  for (size_t i = 0; i < n; ++i) {
    // Zeros in some blocks only: exercises both zero-count paths.
    const float f =
        (i % 4096 < 2048 && i % 61 == 0) ? 0.0f : static_cast<float>(rng.Uniform() * 3 - 1);
    std::memcpy(&bytes[3 + 4 * i], &f, 4);
  }
  std::vector<uint8_t> halves(2 * n + 8), bhalves(2 * n + 8);
  for (size_t i = 0; i < n; ++i) {
    const uint16_t h =
        i % 8192 == 77 ? 0x8000 : static_cast<uint16_t>(0x3000 + rng.Next() % 0x1000);
    const uint16_t hb = static_cast<uint16_t>(0x3f00 + rng.Next() % 0x100);
    std::memcpy(&halves[1 + 2 * i], &h, 2);
    std::memcpy(&bhalves[1 + 2 * i], &hb, 2);
  }
  const uint8_t* srcs[kSrcCount] = {&bytes[3], &halves[1], &bhalves[1]};
  for (size_t len : {size_t{0}, size_t{1}, size_t{15}, size_t{17}, size_t{4097}, n}) {
    for (int s = 0; s < kSrcCount; ++s) {
      StatsAcc want;
      ScalarKernels()->stats[s](srcs[s], len, &want);
      for (int l = 1; l <= static_cast<int>(MaxLevel()); ++l) {
        StatsAcc got;
        Table(static_cast<Level>(l))->stats[s](srcs[s], len, &got);
        CheckStatsClose(got, want, 2e-7);
        CHECK(got.zeros == want.zeros);
      }
      for (int t = 0; t < kSrcCount; ++t) {
        PairParams prm;
        PairAcc want_p;
        ScalarKernels()->pair[s][t](srcs[s], srcs[t], len, prm, &want_p);
        for (int l = 1; l <= static_cast<int>(MaxLevel()); ++l) {
          PairAcc got_p;
          Table(static_cast<Level>(l))->pair[s][t](srcs[s], srcs[t], len, prm, &got_p);
          CheckStatsClose(got_p.a, want_p.a, 2e-7);
          CheckStatsClose(got_p.b, want_p.b, 2e-7);
          CHECK(got_p.d.both_finite == want_p.d.both_finite);
          CHECK(got_p.d.changed == want_p.d.changed);
          CHECK_NEAR(got_p.d.diff_sq, want_p.d.diff_sq, 2e-7);
          CHECK_NEAR(got_p.d.sum_abs, want_p.d.sum_abs, 2e-7);
          CHECK_NEAR(got_p.d.max_abs, want_p.d.max_abs, 2e-7);
          CHECK_NEAR(got_p.d.dot, want_p.d.dot, 2e-7);
        }
      }
    }
  }
}

TEST(NonFiniteBlocksTakeTheExactPath) {
  std::vector<float> a(10000, 1.5f), b(10000, 1.5f);
  a[5000] = NAN;
  b[5000] = NAN;
  a[9000] = 3e38f;  // float32 sum of squares overflows: exact path
  b[9001] = INFINITY;
  for (int l = 0; l <= static_cast<int>(MaxLevel()); ++l) {
    PairAcc acc;
    PairParams prm;
    Table(static_cast<Level>(l))
        ->pair[kSrcF32][kSrcF32](reinterpret_cast<const uint8_t*>(a.data()),
                                 reinterpret_cast<const uint8_t*>(b.data()), a.size(), prm, &acc);
    CHECK(acc.a.nan == 1 && acc.b.nan == 1 && acc.b.inf == 1 && acc.a.inf == 0);
    CHECK(acc.d.changed == 2);         // 3e38 vs 1.5, and 1.5 vs Inf
    CHECK(acc.d.new_non_finite == 1);  // 1.5 -> Inf
    CHECK(acc.d.both_finite == 9998);
    CHECK_NEAR(acc.a.max, 3e38f, 0);
  }
}
