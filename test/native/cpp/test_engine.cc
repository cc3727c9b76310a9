// core/job_*.cc: the engine against naive float64 loops, and bit-identical results at any thread
// count.
#include <cmath>
#include <cstring>

#include "core/job_gram.h"
#include "core/jobs.h"
#include "core/moments.h"
#include "harness.h"
#include "simd/dispatch.h"
#include "simd/reference.h"
#include "test_util.h"

using namespace diffai;

namespace {

TensorSpan Span(const void* p, DType d, uint64_t count) {
  TensorSpan s;
  s.data = static_cast<const uint8_t*>(p);
  s.dtype = d;
  s.count = count;
  ByteLengthOf(d, count, &s.bytes);
  s.label = "buffer";
  return s;
}

std::vector<float> RandomF32(size_t n, uint64_t seed, double mean = 0.5) {
  diffai_test::Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(mean + rng.Uniform() * 2 - 1);
  return v;
}

void NaiveStats(const std::vector<double>& x, double* out) {
  double sum = 0, l1 = 0, sq = 0, mn = INFINITY, mx = -INFINITY;
  uint64_t finite = 0, zeros = 0, nan = 0, inf = 0;
  for (double v : x) {
    if (std::isnan(v)) {
      ++nan;
    } else if (std::isinf(v)) {
      ++inf;
    } else {
      ++finite;
      sum += v;
      l1 += std::fabs(v);
      sq += v * v;
      mn = std::fmin(mn, v);
      mx = std::fmax(mx, v);
      zeros += v == 0;
    }
  }
  const double mean = sum / finite;
  double m2 = 0;
  for (double v : x) {
    if (std::isfinite(v)) m2 += (v - mean) * (v - mean);
  }
  const double r[kStatsWidth] = {double(x.size()),
                                 double(finite),
                                 mean,
                                 std::sqrt(m2 / finite),
                                 mn,
                                 mx,
                                 std::fmax(-mn, mx),
                                 l1,
                                 std::sqrt(sq),
                                 double(zeros),
                                 double(nan),
                                 double(inf),
                                 sum};
  std::memcpy(out, r, sizeof r);
}

}  // namespace

TEST(EngineStatsMatchesNaiveAtEveryLevel) {
  std::vector<float> a = RandomF32(3 * 1024 * 1024 + 17, 3);
  a[100] = NAN;
  a[200000] = INFINITY;
  a[5] = 0;
  std::vector<double> ad(a.begin(), a.end());
  double want[kStatsWidth];
  NaiveStats(ad, want);
  ThreadPool pool(2);
  for (int l = 0; l <= static_cast<int>(simd::MaxLevel()); ++l) {
    ExecContext ctx;
    ctx.pool = &pool;
    ctx.kernels = simd::Table(static_cast<simd::Level>(l));
    double got[kStatsWidth];
    CHECK(RunStats({Span(a.data(), DType::kF32, a.size())}, got, ctx).ok());
    for (int i = 0; i < kStatsWidth; ++i) {
      const double tol = (i == 2 || i == 12) ? 1e-6 : 2e-7;  // signed sums: relative to scale
      CHECK_NEAR(got[i], want[i], tol);
    }
  }
}

TEST(EngineIsDeterministicAcrossThreadCounts) {
  std::vector<float> a = RandomF32(5 * 1024 * 1024 + 3, 4);
  std::vector<float> b = RandomF32(a.size(), 5);
  std::vector<uint16_t> h(a.size());
  for (size_t i = 0; i < h.size(); ++i)
    h[i] = static_cast<uint16_t>(0x3000 + (i * 2654435761u >> 20) % 0x1000);
  std::vector<TensorSpan> stats = {Span(a.data(), DType::kF32, a.size()),
                                   Span(h.data(), DType::kF16, h.size())};
  std::vector<PairJob> pairs(2);
  pairs[0].a = Span(a.data(), DType::kF32, a.size());
  pairs[0].b = Span(b.data(), DType::kF32, b.size());
  pairs[1].a = Span(h.data(), DType::kF16, h.size());
  pairs[1].b = Span(a.data(), DType::kF32, a.size());
  std::vector<double> ref_stats, ref_pair;
  for (unsigned threads : {1u, 2u, 3u}) {
    ThreadPool pool(threads);
    ExecContext ctx;
    ctx.pool = &pool;
    ctx.kernels = &simd::Current();
    std::vector<double> s(2 * kStatsWidth), p(2 * kPairWidth);
    CHECK(RunStats(stats, s.data(), ctx).ok());
    CHECK(RunPair(pairs, p.data(), ctx).ok());
    if (ref_stats.empty()) {
      ref_stats = s;
      ref_pair = p;
    } else {
      CHECK(std::memcmp(s.data(), ref_stats.data(), s.size() * 8) == 0);
      CHECK(std::memcmp(p.data(), ref_pair.data(), p.size() * 8) == 0);
    }
  }
}

TEST(EnginePairIdenticalAndChanged) {
  std::vector<float> a = RandomF32(1 << 20, 6);
  std::vector<float> b = a;
  ThreadPool pool(2);
  ExecContext ctx;
  ctx.pool = &pool;
  ctx.kernels = &simd::Current();
  std::vector<PairJob> jobs(1);
  jobs[0].a = Span(a.data(), DType::kF32, a.size());
  jobs[0].b = Span(b.data(), DType::kF32, b.size());
  double out[kPairWidth];
  CHECK(RunPair(jobs, out, ctx).ok());
  CHECK(out[2 * kStatsWidth + 0] == 1);                              // identical
  CHECK(std::memcmp(out, out + kStatsWidth, kStatsWidth * 8) == 0);  // stats B == stats A
  CHECK(out[2 * kStatsWidth + 7] == 0);                              // changed
  CHECK_NEAR(out[2 * kStatsWidth + 3], out[8] * out[8], 1e-12);      // dot = l2^2
  b[777777] += 1.0f;
  b[3] = -b[3] + 0.5f;
  CHECK(RunPair(jobs, out, ctx).ok());
  CHECK(out[2 * kStatsWidth + 0] == 0);
  CHECK(out[2 * kStatsWidth + 7] == 2);
  CHECK(out[2 * kStatsWidth + 1] == a.size());
}

TEST(EngineQ8AndIntegerPaths) {
  // Two Q8_0 blocks: scales 0.5 and 0.125.
  std::vector<uint8_t> q(68);
  const uint16_t s0 = 0x3800, s1 = 0x3000;
  std::memcpy(&q[0], &s0, 2);
  std::memcpy(&q[34], &s1, 2);
  std::vector<double> want;
  for (int b = 0; b < 2; ++b) {
    for (int i = 0; i < 32; ++i) {
      const int8_t v = static_cast<int8_t>(i * 9 - 100);
      q[b * 34 + 2 + i] = static_cast<uint8_t>(v);
      want.push_back(v * (b == 0 ? 0.5 : 0.125));
    }
  }
  double w[kStatsWidth], got[kStatsWidth];
  NaiveStats(want, w);
  ExecContext ctx;
  ctx.kernels = &simd::Current();
  CHECK(RunStats({Span(q.data(), DType::kQ8_0, 64)}, got, ctx).ok());
  for (int i = 0; i < kStatsWidth; ++i) CHECK_NEAR(got[i], w[i], 1e-12);

  std::vector<int64_t> ints = {-(int64_t{1} << 62), 3, 0, int64_t{1} << 53, 7};
  std::vector<double> id(ints.begin(), ints.end());
  NaiveStats(id, w);
  CHECK(RunStats({Span(ints.data(), DType::kI64, ints.size())}, got, ctx).ok());
  for (int i = 0; i < kStatsWidth; ++i) CHECK_NEAR(got[i], w[i], 1e-15);
}

TEST(EngineAxisNormsAndMatmul) {
  const uint64_t outer = 3, n = 5, inner = 7;
  std::vector<float> x = RandomF32(outer * n * inner, 8);
  std::vector<double> want(n, 0);
  for (uint64_t o = 0; o < outer; ++o)
    for (uint64_t i = 0; i < n; ++i)
      for (uint64_t j = 0; j < inner; ++j) {
        const double v = x[(o * n + i) * inner + j];
        want[i] += v * v;
      }
  ExecContext ctx;
  ctx.kernels = &simd::Current();
  std::vector<AxisNormJob> jobs(1);
  jobs[0].t = Span(x.data(), DType::kF32, x.size());
  jobs[0].outer = outer;
  jobs[0].n = n;
  jobs[0].inner = inner;
  std::vector<double> got(n);
  CHECK(RunAxisNorms(jobs, got.data(), ctx).ok());
  for (uint64_t i = 0; i < n; ++i) CHECK_NEAR(got[i], std::sqrt(want[i]), 1e-14);

  // M = [[1, 2], [3, 4]] (as B - A with A = 0), X = [1, 1]: M X = [3, 7], X^T M = [4, 6].
  std::vector<float> zero(4, 0), m = {1, 2, 3, 4};
  MatmulJob mm;
  mm.a = Span(zero.data(), DType::kF32, 4);
  mm.b = Span(m.data(), DType::kF32, 4);
  mm.has_b = true;
  mm.rows = mm.cols = 2;
  mm.k = 1;
  const double xs[2] = {1, 1};
  mm.x = xs;
  double o[2];
  CHECK(RunMatmul(mm, o, ctx).ok());
  CHECK(o[0] == 3 && o[1] == 7);
  mm.transpose = true;
  CHECK(RunMatmul(mm, o, ctx).ok());
  CHECK(o[0] == 4 && o[1] == 6);
}

namespace {

// M^T (M v) of a row-major float64 matrix, non-finite elements as 0.
std::vector<double> NaiveGram(const std::vector<double>& m, uint64_t rows, uint64_t cols,
                              const std::vector<double>& v) {
  std::vector<double> out(cols, 0);
  for (uint64_t r = 0; r < rows; ++r) {
    double t = 0;
    for (uint64_t c = 0; c < cols; ++c) {
      const double x = m[r * cols + c];
      if (std::isfinite(x)) t += x * v[c];
    }
    for (uint64_t c = 0; c < cols; ++c) {
      const double x = m[r * cols + c];
      if (std::isfinite(x)) out[c] += t * x;
    }
  }
  return out;
}

std::vector<double> RandomV(size_t n, uint64_t seed) {
  diffai_test::Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = rng.Uniform() - 0.5;
  return v;
}

}  // namespace

// RunGram: every dtype path (fused kernel, float64 reference rows) against a naive loop, at every
// level; jobs split into row ranges (a 12 MiB matrix: 2 ranges) and batches of small jobs; and the
// same bits at 1, 2 and 3 threads and whatever else is in the call.
TEST(EngineGramMatchesNaiveAndIsDeterministic) {
  const uint64_t rows = 4099, cols = 770;  // 12.6 MB of F32: split into 2 ranges
  std::vector<float> big = RandomF32(rows * cols, 31, 0.0);
  big[5 * cols + 3] = NAN;
  big[4000 * cols + 700] = INFINITY;
  std::vector<double> bigd(big.begin(), big.end());
  std::vector<int8_t> q(37 * 11);
  for (size_t i = 0; i < q.size(); ++i)
    q[i] = static_cast<int8_t>(static_cast<int>(i * 37 % 255) - 127);
  std::vector<double> qd(q.begin(), q.end());
  std::vector<double> f64 = bigd;
  f64.resize(23 * 29);
  const std::vector<double> v1 = RandomV(cols, 1), v2 = RandomV(11, 2), v3 = RandomV(29, 3);

  GramJob j1;
  j1.m = Span(big.data(), DType::kF32, big.size());
  j1.rows = rows;
  j1.cols = cols;
  j1.v = v1.data();
  GramJob j2;
  j2.m = Span(q.data(), DType::kI8, q.size());
  j2.rows = 37;
  j2.cols = 11;
  j2.v = v2.data();
  GramJob j3;
  j3.m = Span(f64.data(), DType::kF64, f64.size());
  j3.rows = 23;
  j3.cols = 29;
  j3.v = v3.data();
  CHECK_EQ(GramParts(j1), 2u);
  CHECK_EQ(GramParts(j2), 1u);
  GramJob empty;
  empty.m = Span(big.data(), DType::kF32, 0);
  empty.cols = 0;
  CHECK_EQ(GramParts(empty), 0u);

  const std::vector<double> w1 = NaiveGram(bigd, rows, cols, v1), w2 = NaiveGram(qd, 37, 11, v2),
                            w3 = NaiveGram(f64, 23, 29, v3);
  const std::vector<GramJob> jobs = {j1, j2, j3};
  std::vector<double> ref;
  for (int l = 0; l <= static_cast<int>(simd::MaxLevel()); ++l) {
    for (unsigned threads : {1u, 2u, 3u}) {
      ThreadPool pool(threads);
      ExecContext ctx;
      ctx.pool = &pool;
      ctx.kernels = simd::Table(static_cast<simd::Level>(l));
      uint64_t last_done = 0, last_total = 0;
      ctx.progress = [&](uint64_t done, uint64_t total) {
        CHECK(done >= last_done);
        last_done = done;
        last_total = total;
      };
      std::vector<double> out(cols + 11 + 29, -1);
      CHECK(RunGram(jobs, out.data(), ctx).ok());
      CHECK_EQ(last_done, last_total);
      CHECK_EQ(last_total, j1.m.bytes + j2.m.bytes + j3.m.bytes);
      double s1 = 0;
      for (double x : w1) s1 = std::fmax(s1, std::fabs(x));
      for (uint64_t c = 0; c < cols; ++c) CHECK(std::fabs(out[c] - w1[c]) <= 1e-12 * s1);
      for (uint64_t c = 0; c < 11; ++c) CHECK_NEAR(out[cols + c], w2[c], 1e-14);
      for (uint64_t c = 0; c < 29; ++c) CHECK_NEAR(out[cols + 11 + c], w3[c], 1e-13);
      // Alone, each job gives the same bits as in the batch.
      last_done = 0;
      std::vector<double> alone(cols);
      CHECK(RunGram({j1}, alone.data(), ctx).ok());
      CHECK(std::memcmp(alone.data(), out.data(), cols * 8) == 0);
      if (l == static_cast<int>(simd::CurrentLevel())) {
        if (ref.empty()) {
          ref = out;
        } else {
          CHECK(std::memcmp(ref.data(), out.data(), out.size() * 8) == 0);
        }
      }
    }
  }
}

// Jobs whose partial sums pass the call's budget together run in waves; results and progress are
// those of one pass.
TEST(EngineGramWaves) {
  const uint64_t cols = uint64_t{1} << 20, rows = 3;  // 12 MiB each: 2 ranges, 8 MiB of partials
  std::vector<float> m = RandomF32(rows * cols, 41, 0.0);
  const std::vector<double> v = RandomV(cols, 4);
  GramJob j;
  j.m = Span(m.data(), DType::kF32, m.size());
  j.rows = rows;
  j.cols = cols;
  j.v = v.data();
  CHECK_EQ(GramParts(j), 2u);
  const size_t n = kGramCallPartialBytes / (8 * cols) + 2;  // more than one wave
  std::vector<GramJob> jobs(n, j);
  ThreadPool pool(2);
  ExecContext ctx;
  ctx.pool = &pool;
  ctx.kernels = &simd::Current();
  uint64_t last_done = 0, last_total = 0;
  ctx.progress = [&](uint64_t done, uint64_t total) {
    CHECK(done >= last_done);
    last_done = done;
    last_total = total;
  };
  std::vector<double> out(n * cols);
  CHECK(RunGram(jobs, out.data(), ctx).ok());
  CHECK_EQ(last_total, n * j.m.bytes);
  CHECK_EQ(last_done, last_total);
  for (size_t k = 1; k < n; ++k)
    CHECK(std::memcmp(out.data(), out.data() + k * cols, cols * 8) == 0);
}
