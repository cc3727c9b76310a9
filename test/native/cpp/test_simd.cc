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

// The gram kernel of each level against the float64 reference row (GramRowExact, which the scalar
// level runs), on unaligned rows of awkward lengths, for 1 to 19 rows (every group size and tail),
// with rows holding NaN and Inf (read as 0).
TEST(GramKernelsAgreeWithScalar) {
  diffai_test::Rng rng(21);
  for (size_t cols : {size_t{1}, size_t{7}, size_t{8}, size_t{17}, size_t{33}, size_t{1000}}) {
    for (size_t rows : {size_t{1}, size_t{3}, size_t{4}, size_t{8}, size_t{13}, size_t{19}}) {
      const size_t n = rows * cols;
      std::vector<uint8_t> f32(4 * n + 3), f16(2 * n + 1), bf16(2 * n + 1);
      for (size_t i = 0; i < n; ++i) {
        float f = static_cast<float>(rng.Uniform() * 2 - 1);
        uint16_t h = static_cast<uint16_t>(0x3000 + rng.Next() % 0x1000) | (i % 3 ? 0 : 0x8000);
        uint16_t b = static_cast<uint16_t>(0x3e00 + rng.Next() % 0x200) | (i % 5 ? 0 : 0x8000);
        if (rows > 4 && i == 2 * cols + cols / 2) {  // row 2: NaN; row 3 (when it exists): Inf
          f = NAN;
          h = 0x7e00;
          b = 0x7fc0;
        } else if (rows > 4 && i == 3 * cols) {
          f = -INFINITY;
          h = 0xfc00;
          b = 0xff80;
        }
        std::memcpy(&f32[3 + 4 * i], &f, 4);
        std::memcpy(&f16[1 + 2 * i], &h, 2);
        std::memcpy(&bf16[1 + 2 * i], &b, 2);
      }
      const uint8_t* srcs[kSrcCount] = {&f32[3], &f16[1], &bf16[1]};
      std::vector<double> v(cols);
      for (double& x : v) x = rng.Uniform() - 0.5;
      for (int s = 0; s < kSrcCount; ++s) {
        std::vector<double> want(cols, 0.25);  // the kernels add to acc
        ScalarKernels()->gram[s](srcs[s], rows, cols, v.data(), want.data());
        double scale = 0;
        for (double x : want) scale = std::fmax(scale, std::fabs(x));
        for (int l = 1; l <= static_cast<int>(MaxLevel()); ++l) {
          std::vector<double> got(cols, 0.25);
          Table(static_cast<Level>(l))->gram[s](srcs[s], rows, cols, v.data(), got.data());
          for (size_t c = 0; c < cols; ++c) {
            CHECK(std::isfinite(got[c]));
            CHECK(std::fabs(got[c] - want[c]) <= 1e-13 * scale);
          }
        }
      }
    }
  }
}

// The reference row itself: t = row . v and acc += t * row with non-finite elements as 0, any
// dtype.
TEST(GramRowExactReadsNonFiniteAsZero) {
  const double row[4] = {1, NAN, 2, INFINITY};
  const double v[4] = {3, 5, 7, 11};
  double acc[4] = {0, 0, 0, 0};
  GramRowExact(DType::kF64, reinterpret_cast<const uint8_t*>(row), 0, 4, v, acc);
  // t = 1*3 + 2*7 = 17
  CHECK(acc[0] == 17 && acc[1] == 0 && acc[2] == 34 && acc[3] == 0);
  const int8_t q[3] = {-2, 0, 5};
  double acc8[3] = {1, 1, 1};
  GramRowExact(DType::kI8, reinterpret_cast<const uint8_t*>(q), 0, 3, v, acc8);
  // t = -2*3 + 5*7 = 29
  CHECK(acc8[0] == 1 - 58 && acc8[1] == 1 && acc8[2] == 1 + 145);
}
