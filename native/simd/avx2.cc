// AVX2 level (with F16C and FMA, on CPUs without AVX-512): 8 float32 lanes per ymm register.
//
// Instructions: vcvtph2ps ymm (binary16 -> float32, signalling NaNs quieted; the scalar tail uses
// the same instruction through _cvtsh_ss so every element converts identically); bfloat16 by
// vpmovzxwd + vpslld 16; vsubps + vfmadd231ps for the shifted sums and x*1+acc for plain sums;
// vandps for |x|; vminps/vmaxps; in stats, vpminud on |x| bits so blocks without a zero skip zero
// counting (vcmpps + vmovmskps + popcnt recount otherwise); in pair, vcmpps (all-ones lanes)
// subtracted from integer counters to count zeros and changed positions, and prefetcht0 ahead of
// the two streams. Lane sums
// are widened with vcvtps2pd into float64 vectors every kLaneRun additions per lane. The gram pass
// of the spectral step: vcvtps2pd and vfmadd231pd in float64 (4 lanes), prefetcht0 for 2-byte rows.
//
// As in avx512.cc, a block whose float32 sums are not finite is recomputed by the float64
// reference. Compiled with per-file target options, never -march.
#include "simd/reference.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,popcnt"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,popcnt")
#endif

namespace diffai {
namespace simd {
namespace {

struct LoadF32 {
  static constexpr int kSrc = kSrcF32;
  static constexpr size_t kSize = 4;
  static __m256 V(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static float S(const uint8_t* p) {
    float f;
    __builtin_memcpy(&f, p, 4);
    return f;
  }
};

struct LoadF16 {
  static constexpr int kSrc = kSrcF16;
  static constexpr size_t kSize = 2;
  static __m256 V(const uint8_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float S(const uint8_t* p) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    return _cvtsh_ss(h);
  }
};

struct LoadBF16 {
  static constexpr int kSrc = kSrcBF16;
  static constexpr size_t kSize = 2;
  static __m256 V(const uint8_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float S(const uint8_t* p) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    const uint32_t b = static_cast<uint32_t>(h) << 16;
    float f;
    __builtin_memcpy(&f, &b, 4);
    return f;
  }
};

// Float32 additions per lane before the lane sums are widened into float64 vectors (see avx512.cc).
constexpr size_t kLaneRun = 16;

// Adds the 8 float32 lanes of v into the 4 float64 lanes of acc.
__m256d Widen(__m256d acc, __m256 v) {
  return _mm256_add_pd(acc, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                                          _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))));
}

double SumLanes(__m256d v) {
  const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

float MinLanes(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

float MaxLanes(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// Unsigned minimum of the 8 lanes.
uint32_t MinBits(__m256i v) {
  __m128i m = _mm_min_epu32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  m = _mm_min_epu32(m, _mm_shuffle_epi32(m, 0x4e));
  m = _mm_min_epu32(m, _mm_shuffle_epi32(m, 0xb1));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(m));
}

uint64_t SumCounts(__m256i v) {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i t = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  const __m128i u = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(u));
}

// Adds 1 to each lane whose mask lane is all-ones.
__m256i Count(__m256i counter, __m256 mask) {
  return _mm256_sub_epi32(counter, _mm256_castps_si256(mask));
}

double Abs(double x) { return __builtin_fabs(x); }
bool Finite(double x) { return __builtin_isfinite(x); }

// Exact count of zeros among the first n elements (n a multiple of 8); see FastStats.
template <class L>
uint64_t CountZeros(const uint8_t* p, size_t n) {
  const __m256 zero = _mm256_setzero_ps();
  uint64_t z = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    z += static_cast<uint64_t>(__builtin_popcount(static_cast<unsigned>(
        _mm256_movemask_ps(_mm256_cmp_ps(L::V(p + i * L::kSize), zero, _CMP_EQ_OQ)))));
  }
  return z;
}

// One block, assumed finite, shifted by c. Zeros: unsigned min of the |x| bit patterns per lane,
// exact recount when it is 0.
template <class L>
bool FastStats(const uint8_t* p, size_t n, float c, BlockSums* out) {
  const __m256 vc = _mm256_set1_ps(c);
  const __m256 zero = _mm256_setzero_ps();
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  // Plain sums as x * 1 + acc, bit-identical to an add, on the FMA pipes (see avx512.cc); the
  // empty asm keeps the compiler from folding them back into adds.
  __m256 vone = _mm256_set1_ps(1.0f);
  __asm__("" : "+x"(vone));
  __m256d S1 = _mm256_setzero_pd(), S2 = S1, L1 = S1;
  __m256 mn = _mm256_set1_ps(__builtin_inff());
  __m256i mz = _mm256_set1_epi32(-1);
  __m256 mx = _mm256_set1_ps(-__builtin_inff());
  size_t i = 0;
  while (i + 8 <= n) {
    const size_t run_end = n - i >= 16 * kLaneRun ? i + 16 * kLaneRun : n;
    __m256 s1a = zero, s1b = zero, s2a = zero, s2b = zero, l1a = zero, l1b = zero;
    for (; i + 16 <= run_end; i += 16) {
      const __m256 x0 = L::V(p + i * L::kSize);
      const __m256 x1 = L::V(p + (i + 8) * L::kSize);
      const __m256 d0 = _mm256_sub_ps(x0, vc);
      const __m256 d1 = _mm256_sub_ps(x1, vc);
      const __m256 a0 = _mm256_and_ps(x0, absmask);
      const __m256 a1 = _mm256_and_ps(x1, absmask);
      s1a = _mm256_fmadd_ps(d0, vone, s1a);
      s1b = _mm256_fmadd_ps(d1, vone, s1b);
      s2a = _mm256_fmadd_ps(d0, d0, s2a);
      s2b = _mm256_fmadd_ps(d1, d1, s2b);
      l1a = _mm256_fmadd_ps(a0, vone, l1a);
      l1b = _mm256_fmadd_ps(a1, vone, l1b);
      mn = _mm256_min_ps(mn, _mm256_min_ps(x0, x1));
      mx = _mm256_max_ps(mx, _mm256_max_ps(x0, x1));
      mz = _mm256_min_epu32(mz, _mm256_castps_si256(_mm256_min_ps(a0, a1)));
    }
    if (i + 8 <= run_end) {
      const __m256 x0 = L::V(p + i * L::kSize);
      const __m256 d0 = _mm256_sub_ps(x0, vc);
      const __m256 a0 = _mm256_and_ps(x0, absmask);
      s1a = _mm256_add_ps(s1a, d0);
      s2a = _mm256_fmadd_ps(d0, d0, s2a);
      l1a = _mm256_add_ps(l1a, a0);
      mn = _mm256_min_ps(mn, x0);
      mx = _mm256_max_ps(mx, x0);
      mz = _mm256_min_epu32(mz, _mm256_castps_si256(a0));
      i += 8;
    }
    S1 = Widen(Widen(S1, s1a), s1b);
    S2 = Widen(Widen(S2, s2a), s2b);
    L1 = Widen(Widen(L1, l1a), l1b);
  }
  const size_t vec_end = i;
  double s1 = SumLanes(S1);
  double s2 = SumLanes(S2);
  double l1 = SumLanes(L1);
  double dmn = MinLanes(mn), dmx = MaxLanes(mx);
  const bool has_zero = vec_end > 0 && MinBits(mz) == 0;
  uint64_t zeros = 0;
  for (; i < n; ++i) {
    const float x = L::S(p + i * L::kSize);
    const double d = static_cast<double>(x) - c;
    s1 += d;
    s2 += d * d;
    l1 += Abs(x);
    if (x < dmn) dmn = x;
    if (x > dmx) dmx = x;
    zeros += x == 0;
  }
  if (!Finite(l1) || !Finite(s2)) return false;
  if (has_zero) zeros += CountZeros<L>(p, vec_end);
  out->count = n;
  out->finite = n;
  out->zeros = zeros;
  out->shift = c;
  out->s1 = s1;
  out->s2 = s2;
  out->l1 = l1;
  out->min = dmn;
  out->max = dmx;
  return true;
}

template <class L>
void Stats(const uint8_t* src, size_t n, StatsAcc* acc) {
  for (size_t b0 = 0; b0 < n; b0 += kBlock) {
    const size_t m = n - b0 < kBlock ? n - b0 : kBlock;
    const uint8_t* p = src + b0 * L::kSize;
    const float c = static_cast<float>(ShiftFor(*acc, L::S(p)));
    BlockSums s;
    if (!FastStats<L>(p, m, c, &s)) {
      s = BlockSums();
      s.shift = c;
      RedoStatsBlock(static_cast<Src>(L::kSrc), p, m, &s);
    }
    Fold(*acc, s);
  }
}

// Prefetch distance of the pair loop (see avx512.cc).
constexpr size_t kPrefetch = 2048;

// One block of pairs, assumed finite; D = B - A in float32; the same structure as avx512.cc.
template <class LA, class LB>
bool FastPair(const uint8_t* pa, const uint8_t* pb, size_t n, float ca, float cb,
              const PairParams& prm, PairBlockSums* out) {
  const __m256 vca = _mm256_set1_ps(ca), vcb = _mm256_set1_ps(cb);
  const __m256 vt = _mm256_set1_ps(prm.epsilon_f32);
  const __m256 zero = _mm256_setzero_ps();
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 mna = _mm256_set1_ps(__builtin_inff()), mnb = mna;
  __m256 mxa = _mm256_set1_ps(-__builtin_inff()), mxb = mxa;
  __m256i za = _mm256_setzero_si256(), zb = za, chg = za;
  __m256 mabs = zero;
  const __m256d dz = _mm256_setzero_pd();
  __m256d S1A = dz, S2A = dz, L1A = dz, S1B = dz, S2B = dz, L1B = dz;
  __m256d DSQ = dz, DSUM = dz, SABS = dz, DOT = dz;
  size_t i = 0;
  while (i + 8 <= n) {
    const size_t run_end = n - i >= 8 * kLaneRun ? i + 8 * kLaneRun : n;
    __m256 s1a = zero, s2a = zero, l1a = zero, s1b = zero, s2b = zero, l1b = zero;
    __m256 dsq = zero, dsum = zero, sabs = zero, dot = zero;
    for (; i + 8 <= run_end; i += 8) {
      _mm_prefetch(reinterpret_cast<const char*>(pa + i * LA::kSize + kPrefetch), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(pb + i * LB::kSize + kPrefetch), _MM_HINT_T0);
      const __m256 a = LA::V(pa + i * LA::kSize);
      const __m256 b = LB::V(pb + i * LB::kSize);
      const __m256 da = _mm256_sub_ps(a, vca);
      const __m256 db = _mm256_sub_ps(b, vcb);
      const __m256 aa = _mm256_and_ps(a, absmask);
      const __m256 ab = _mm256_and_ps(b, absmask);
      s1a = _mm256_add_ps(s1a, da);
      s1b = _mm256_add_ps(s1b, db);
      s2a = _mm256_fmadd_ps(da, da, s2a);
      s2b = _mm256_fmadd_ps(db, db, s2b);
      l1a = _mm256_add_ps(l1a, aa);
      l1b = _mm256_add_ps(l1b, ab);
      mna = _mm256_min_ps(mna, a);
      mnb = _mm256_min_ps(mnb, b);
      mxa = _mm256_max_ps(mxa, a);
      mxb = _mm256_max_ps(mxb, b);
      za = Count(za, _mm256_cmp_ps(a, zero, _CMP_EQ_OQ));
      zb = Count(zb, _mm256_cmp_ps(b, zero, _CMP_EQ_OQ));
      const __m256 d = _mm256_sub_ps(b, a);
      const __m256 ad = _mm256_and_ps(d, absmask);
      dsq = _mm256_fmadd_ps(d, d, dsq);
      dsum = _mm256_add_ps(dsum, d);
      sabs = _mm256_add_ps(sabs, ad);
      mabs = _mm256_max_ps(mabs, ad);
      dot = _mm256_fmadd_ps(a, b, dot);
      chg = Count(chg, _mm256_cmp_ps(ad, vt, _CMP_GT_OQ));
    }
    S1A = Widen(S1A, s1a);
    S2A = Widen(S2A, s2a);
    L1A = Widen(L1A, l1a);
    S1B = Widen(S1B, s1b);
    S2B = Widen(S2B, s2b);
    L1B = Widen(L1B, l1b);
    DSQ = Widen(DSQ, dsq);
    DSUM = Widen(DSUM, dsum);
    SABS = Widen(SABS, sabs);
    DOT = Widen(DOT, dot);
  }
  BlockSums& A = out->a;
  BlockSums& B = out->b;
  PairSums& D = out->d;
  double s1A = SumLanes(S1A), s2A = SumLanes(S2A), l1A = SumLanes(L1A);
  double s1B = SumLanes(S1B), s2B = SumLanes(S2B), l1B = SumLanes(L1B);
  double mnA = MinLanes(mna), mxA = MaxLanes(mxa), mnB = MinLanes(mnb), mxB = MaxLanes(mxb);
  uint64_t zA = SumCounts(za), zB = SumCounts(zb), changed = SumCounts(chg);
  double sq = SumLanes(DSQ), sm = SumLanes(DSUM), sa = SumLanes(SABS), dt = SumLanes(DOT);
  double ma = MaxLanes(mabs);
  for (; i < n; ++i) {
    const float a = LA::S(pa + i * LA::kSize);
    const float b = LB::S(pb + i * LB::kSize);
    const double da = static_cast<double>(a) - ca, db = static_cast<double>(b) - cb;
    s1A += da;
    s2A += da * da;
    l1A += Abs(a);
    s1B += db;
    s2B += db * db;
    l1B += Abs(b);
    if (a < mnA) mnA = a;
    if (a > mxA) mxA = a;
    if (b < mnB) mnB = b;
    if (b > mxB) mxB = b;
    zA += a == 0;
    zB += b == 0;
    const float d = b - a;
    const float ad = __builtin_fabsf(d);
    sq += static_cast<double>(d) * d;
    sm += d;
    sa += ad;
    if (ad > ma) ma = ad;
    dt += static_cast<double>(a) * b;
    changed += ad > prm.epsilon_f32;
  }
  if (!Finite(l1A) || !Finite(s2A) || !Finite(l1B) || !Finite(s2B) || !Finite(sq) || !Finite(sa) ||
      !Finite(dt)) {
    return false;
  }
  A.count = B.count = n;
  A.finite = B.finite = n;
  A.zeros = zA;
  B.zeros = zB;
  A.shift = ca;
  B.shift = cb;
  A.s1 = s1A;
  A.s2 = s2A;
  A.l1 = l1A;
  A.min = mnA;
  A.max = mxA;
  B.s1 = s1B;
  B.s2 = s2B;
  B.l1 = l1B;
  B.min = mnB;
  B.max = mxB;
  D.both_finite = n;
  D.changed = changed;
  D.new_non_finite = 0;
  D.diff_sq = sq;
  D.dot = dt;
  D.diff_sum = sm;
  D.max_abs = ma;
  D.sum_abs = sa;
  return true;
}

template <class LA, class LB>
void Pair(const uint8_t* a, const uint8_t* b, size_t n, const PairParams& prm, PairAcc* acc) {
  for (size_t b0 = 0; b0 < n; b0 += kBlock) {
    const size_t m = n - b0 < kBlock ? n - b0 : kBlock;
    const uint8_t* pa = a + b0 * LA::kSize;
    const uint8_t* pb = b + b0 * LB::kSize;
    const float ca = static_cast<float>(ShiftFor(acc->a, LA::S(pa)));
    const float cb = static_cast<float>(ShiftFor(acc->b, LB::S(pb)));
    PairBlockSums s;
    if (!FastPair<LA, LB>(pa, pb, m, ca, cb, prm, &s)) {
      s = PairBlockSums();
      s.a.shift = ca;
      s.b.shift = cb;
      RedoPairBlock(static_cast<Src>(LA::kSrc), pa, static_cast<Src>(LB::kSrc), pb, m, prm.epsilon,
                    &s);
    }
    FoldPair(*acc, s);
  }
}

void ConvertF32(const uint8_t* src, size_t n, float* dst) { __builtin_memcpy(dst, src, n * 4); }

void ConvertF16(const uint8_t* src, size_t n, float* dst) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, LoadF16::V(src + 2 * i));
  for (; i < n; ++i) dst[i] = LoadF16::S(src + 2 * i);
}

void ConvertBF16(const uint8_t* src, size_t n, float* dst) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, LoadBF16::V(src + 2 * i));
  for (; i < n; ++i) dst[i] = LoadBF16::S(src + 2 * i);
}

// Constant-initialised data, defined inside the target region so the kernels are instantiated
// with its options.
// The bandwidth probe's read: vpsadbw against zero sums each 8 bytes into a 64-bit lane.
uint64_t ReadBytes(const uint8_t* p, size_t n) {
  const __m256i z = _mm256_setzero_si256();
  __m256i s0 = z, s1 = z, s2 = z, s3 = z;
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    const __m256i* q = reinterpret_cast<const __m256i*>(p + i);
    s0 = _mm256_add_epi64(s0, _mm256_sad_epu8(_mm256_loadu_si256(q), z));
    s1 = _mm256_add_epi64(s1, _mm256_sad_epu8(_mm256_loadu_si256(q + 1), z));
    s2 = _mm256_add_epi64(s2, _mm256_sad_epu8(_mm256_loadu_si256(q + 2), z));
    s3 = _mm256_add_epi64(s3, _mm256_sad_epu8(_mm256_loadu_si256(q + 3), z));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
  uint64_t lanes[4];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), s);
  uint64_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (; i < n; ++i) sum += p[i];
  return sum;
}

// The gram pass of the spectral step (kernels.h GramFn) in float64: 4 elements per ymm, converted
// by vcvtps2pd (after vcvtph2ps for F16, vpmovzxwd + vpslld 16 for BF16). Four rows at a time: two
// accumulators per row (8 independent FMA chains) sharing each load of v; the axpy loads and
// stores acc once for the four rows. Tails are scalar.
struct GramF32 {
  static constexpr int kSrc = kSrcF32;
  static constexpr size_t kSize = 4;
  static __m256d D4(const uint8_t* p) {
    return _mm256_cvtps_pd(_mm_loadu_ps(reinterpret_cast<const float*>(p)));
  }
  static double S(const uint8_t* p) { return LoadF32::S(p); }
};

struct GramF16 {
  static constexpr int kSrc = kSrcF16;
  static constexpr size_t kSize = 2;
  static __m256d D4(const uint8_t* p) {
    return _mm256_cvtps_pd(_mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static double S(const uint8_t* p) { return LoadF16::S(p); }
};

struct GramBF16 {
  static constexpr int kSrc = kSrcBF16;
  static constexpr size_t kSize = 2;
  static __m256d D4(const uint8_t* p) {
    const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return _mm256_cvtps_pd(_mm_castsi128_ps(_mm_slli_epi32(_mm_cvtepu16_epi32(h), 16)));
  }
  static double S(const uint8_t* p) { return LoadBF16::S(p); }
};

// acc += t[0] row0 + ... + t[R-1] row(R-1), rows finite. With `next` set (2-byte sources), the
// rows `next` bytes further (the next group) are prefetched, one line per row every 64 bytes (see
// avx512.cc).
template <class L, int R>
void GramAxpy(const uint8_t* const* p, const double* t, size_t cols, double* acc, size_t next) {
  __m256d tv[R];
  for (int k = 0; k < R; ++k) tv[k] = _mm256_set1_pd(t[k]);
  size_t c = 0;
  for (; c + 4 <= cols; c += 4) {
    if (next != 0 && (c * L::kSize) % 64 == 0) {
      for (int k = 0; k < R; ++k)
        _mm_prefetch(reinterpret_cast<const char*>(p[k] + next + c * L::kSize), _MM_HINT_T0);
    }
    __m256d a = _mm256_loadu_pd(acc + c);
    for (int k = 0; k < R; ++k) a = _mm256_fmadd_pd(tv[k], L::D4(p[k] + c * L::kSize), a);
    _mm256_storeu_pd(acc + c, a);
  }
  for (; c < cols; ++c) {
    double a = acc[c];
    for (int k = 0; k < R; ++k) a += t[k] * L::S(p[k] + c * L::kSize);
    acc[c] = a;
  }
}

// R rows starting at p[0..R): their dot products with v, then the axpy (rows holding NaN or Inf
// through GramRowExact); `next` as in GramAxpy.
template <class L, int R>
void GramRows(const uint8_t* const* p, size_t cols, const double* v, double* acc, size_t next) {
  __m256d s0[R], s1[R];
  for (int k = 0; k < R; ++k) s0[k] = s1[k] = _mm256_setzero_pd();
  size_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    const __m256d v0 = _mm256_loadu_pd(v + c);
    const __m256d v1 = _mm256_loadu_pd(v + c + 4);
    for (int k = 0; k < R; ++k) {
      s0[k] = _mm256_fmadd_pd(L::D4(p[k] + c * L::kSize), v0, s0[k]);
      s1[k] = _mm256_fmadd_pd(L::D4(p[k] + (c + 4) * L::kSize), v1, s1[k]);
    }
  }
  double t[R];
  bool finite = true;
  for (int k = 0; k < R; ++k) {
    t[k] = SumLanes(_mm256_add_pd(s0[k], s1[k]));
    for (size_t i = c; i < cols; ++i) t[k] += L::S(p[k] + i * L::kSize) * v[i];
    finite = finite && Finite(t[k]);
  }
  if (finite) return GramAxpy<L, R>(p, t, cols, acc, next);
  for (int k = 0; k < R; ++k) {
    if (Finite(t[k])) {
      GramAxpy<L, 1>(p + k, t + k, cols, acc, 0);
    } else {
      GramRowExact(SrcDType(static_cast<Src>(L::kSrc)), p[k], 0, cols, v, acc);
    }
  }
}

template <class L>
void Gram(const uint8_t* src, size_t rows, size_t cols, const double* v, double* acc) {
  const size_t row_bytes = cols * L::kSize;
  const bool prefetch = L::kSize == 2;
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const uint8_t* p[4] = {src + r * row_bytes, src + (r + 1) * row_bytes,
                           src + (r + 2) * row_bytes, src + (r + 3) * row_bytes};
    GramRows<L, 4>(p, cols, v, acc, prefetch && r + 8 <= rows ? 4 * row_bytes : 0);
  }
  for (; r < rows; ++r) {
    const uint8_t* p[1] = {src + r * row_bytes};
    GramRows<L, 1>(p, cols, v, acc, 0);
  }
}

constexpr Kernels kAvx2 = {
    Level::kAvx2,
    "avx2",
    {ConvertF32, ConvertF16, ConvertBF16},
    {Stats<LoadF32>, Stats<LoadF16>, Stats<LoadBF16>},
    {{Pair<LoadF32, LoadF32>, Pair<LoadF32, LoadF16>, Pair<LoadF32, LoadBF16>},
     {Pair<LoadF16, LoadF32>, Pair<LoadF16, LoadF16>, Pair<LoadF16, LoadBF16>},
     {Pair<LoadBF16, LoadF32>, Pair<LoadBF16, LoadF16>, Pair<LoadBF16, LoadBF16>}},
    ReadBytes,
    {Gram<GramF32>, Gram<GramF16>, Gram<GramBF16>},
};

}  // namespace
}  // namespace simd
}  // namespace diffai

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace diffai {
namespace simd {

const Kernels* Avx2Kernels() { return &kAvx2; }

}  // namespace simd
}  // namespace diffai

#else  // not x86-64 with GCC/Clang

namespace diffai {
namespace simd {
const Kernels* Avx2Kernels() { return nullptr; }
}  // namespace simd
}  // namespace diffai

#endif
