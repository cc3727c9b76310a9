// AVX-512 level (F, BW, DQ, VL; F16C and FMA): 16 float32 lanes per zmm register.
//
// Instructions: vcvtph2ps zmm (binary16 -> float32, signalling NaNs quieted); bfloat16 by
// vpmovzxwd + vpslld 16 (bit pattern << 16, exact), or, for BF16 stats and BF16 x BF16 pairs, one
// 64-byte load split into even and odd elements by vpslld 16 / vpandd (LoadBF16Split); vsubps for
// the shifts and D, vfmadd231ps for squares, products and (as x*1+acc) plain sums; vandps with
// 0x7fffffff for |x|; vminps/vmaxps; vpminud on |x| bits so blocks without a zero skip zero
// counting (vcmpps + popcnt recount otherwise); in pair, vcmpps into a mask counted with popcnt for
// changed positions, and prefetcht0 ahead of the two streams; masked vmovdqu16 loads for conversion
// tails; vpsadbw for the bandwidth probe's read; for the gram pass of the spectral step, vcvtps2pd
// and vfmadd231pd in float64 (8 lanes), prefetcht0 for 2-byte rows. Float32 lane sums are short
// (see kLaneRun) and widened with vcvtps2pd into float64, so float32 rounding stays small at any
// tensor size.
//
// A block is assumed finite; if a lane sum comes out NaN or Inf (a NaN/Inf input, or float32
// overflow of a sum), the block is recomputed by the float64 reference (RedoStatsBlock). The code
// is compiled with per-file target options, never -march, and reached only through the dispatch
// table after the CPU and OS checks of cpu.cc.
#include "simd/reference.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#include <cstring>

#if defined(__clang__)
#pragma clang attribute push(                                                           \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,popcnt"))), \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,popcnt")
// GCC 12 reports the deliberately undefined pass-through operand of its own AVX-512 intrinsic
// wrappers (_mm512_undefined_*) as maybe-uninitialized or uninitialized; a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace diffai {
namespace simd {
namespace {

// Loaders: V(p) converts 16 elements in order; Load(p, v) fills kStep / 16 vectors with kStep
// elements (the pair loop); Load32(p, x0, x1) fills two vectors with 32 elements (the stats loop);
// S(p) converts one element.
struct LoadF32 {
  static constexpr int kSrc = kSrcF32;
  static constexpr size_t kSize = 4;
  static constexpr size_t kStep = 16;
  static __m512 V(const uint8_t* p) { return _mm512_loadu_ps(p); }
  static void Load(const uint8_t* p, __m512* v) { v[0] = V(p); }
  static void Load32(const uint8_t* p, __m512* x0, __m512* x1) {
    *x0 = V(p);
    *x1 = V(p + 64);
  }
  static float S(const uint8_t* p) {
    float f;
    __builtin_memcpy(&f, p, 4);
    return f;
  }
};

struct LoadF16 {
  static constexpr int kSrc = kSrcF16;
  static constexpr size_t kSize = 2;
  static constexpr size_t kStep = 16;
  static __m512 V(const uint8_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static void Load(const uint8_t* p, __m512* v) { v[0] = V(p); }
  static void Load32(const uint8_t* p, __m512* x0, __m512* x1) {
    *x0 = V(p);
    *x1 = V(p + 32);
  }
  static float S(const uint8_t* p) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    return _cvtsh_ss(h);
  }
};

// bfloat16 in order (vpmovzxwd + vpslld 16), for pairs with a side of another dtype.
struct LoadBF16 {
  static constexpr int kSrc = kSrcBF16;
  static constexpr size_t kSize = 2;
  static constexpr size_t kStep = 16;
  static __m512 V(const uint8_t* p) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static void Load(const uint8_t* p, __m512* v) { v[0] = V(p); }
  static float S(const uint8_t* p) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    const uint32_t b = static_cast<uint32_t>(h) << 16;
    float f;
    __builtin_memcpy(&f, &b, 4);
    return f;
  }
};

// bfloat16 without a shuffle, for BF16 stats and BF16 x BF16 pairs: one 64-byte load holds 32
// elements; read as 16 dwords, element 2k is the low half (vpslld 16) and element 2k+1 the high
// half (vpandd 0xffff0000). The elements come out as [evens, odds] instead of in order, which the
// order-free reductions (sums, min, max, counts) do not see, and both sides of a pair come out in
// the same order. One integer operation per 16 elements instead of a shuffle and a shift.
struct LoadBF16Split {
  static constexpr int kSrc = kSrcBF16;
  static constexpr size_t kSize = 2;
  static constexpr size_t kStep = 32;
  static __m512 V(const uint8_t* p) { return LoadBF16::V(p); }
  static void Load(const uint8_t* p, __m512* v) { Load32(p, &v[0], &v[1]); }
  static void Load32(const uint8_t* p, __m512* x0, __m512* x1) {
    const __m512i w = _mm512_loadu_si512(p);
    *x0 = _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
    *x1 = _mm512_castsi512_ps(
        _mm512_and_si512(w, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  static float S(const uint8_t* p) { return LoadBF16::S(p); }
};

double Abs(double x) { return __builtin_fabs(x); }
bool Finite(double x) { return __builtin_isfinite(x); }

// Float32 lane sums are kept short. A run adds kLaneRun elements per lane. Signed sums (s1, sum D,
// A.B) are then widened into float64 vectors after every run. Sums of non-negative terms (s2, l1,
// sum D^2, sum |D|) add the run sums into a second float32 level (at most kLaneRun runs per block)
// that is widened once per block: no float32 accumulator adds more than 16 values, so their error
// stays within about 2 x 16 ulps of the sum itself, at any tensor size (blocks merge in float64);
// signed sums keep a one-level float32 error, which matters for a mean near zero.
// Widening 6 of the 10 pair sums once per block instead of once per run (vcvtps2pd is slow on
// Zen 4) made the pair loop about 10% faster.
constexpr size_t kLaneRun = 16;

// Adds the 16 float32 lanes of v into the 8 float64 lanes of acc.
__m512d Widen(__m512d acc, __m512 v) {
  const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
  const __m512d hi =
      _mm512_cvtps_pd(_mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(v), 1)));
  return _mm512_add_pd(acc, _mm512_add_pd(lo, hi));
}

// The sum of the 16 float32 lanes of v, in float64.
double SumWide(__m512 v) {
  const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
  const __m512d hi =
      _mm512_cvtps_pd(_mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(v), 1)));
  return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

// Exact count of zeros (+0 and -0) among the first n elements (n a multiple of 16). Runs only for
// blocks whose min |x| is 0, on data that is still in L1/L2.
template <class L>
uint64_t CountZeros(const uint8_t* p, size_t n) {
  const __m512 zero = _mm512_setzero_ps();
  uint64_t z = 0;
  for (size_t i = 0; i + 16 <= n; i += 16) {
    z += static_cast<uint64_t>(
        __builtin_popcount(_mm512_cmp_ps_mask(L::V(p + i * L::kSize), zero, _CMP_EQ_OQ)));
  }
  return z;
}

// One block of n <= kBlock elements, assumed finite, shifted by c. False when a sum is not finite.
// Zeros are not counted per element: the block tracks min |x|, as the unsigned minimum of the bit
// patterns (vpminud: the same order for non-negative floats, on the integer pipes), and recounts
// exactly when that minimum is 0.
template <class L>
bool FastStats(const uint8_t* p, size_t n, float c, BlockSums* out) {
  const __m512 vc = _mm512_set1_ps(c);
  const __m512 zero = _mm512_setzero_ps();
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  // Sums are formed as x * 1 + acc (vfmadd231ps), bit-identical to an add (one rounding of
  // x + acc): on Zen 4 that moves them from the two FP-add pipes, which the shift, min and max keep
  // busy, to the FMA pipes (measured +20% stats, +12% pair). The empty asm hides the 1.0 from the
  // compiler so it does not fold the FMA back into an add.
  __m512 vone = _mm512_set1_ps(1.0f);
  __asm__("" : "+v"(vone));
  __m512d S1 = _mm512_setzero_pd();
  __m512 S2 = zero, L1 = zero;
  static_assert(kBlock / (32 * kLaneRun) <= kLaneRun, "a block holds at most kLaneRun runs");
  __m512 mna = _mm512_set1_ps(__builtin_inff()), mnb = mna;
  __m512 mxa = _mm512_set1_ps(-__builtin_inff()), mxb = mxa;
  __m512i mza = _mm512_set1_epi32(-1), mzb = mza;
  size_t i = 0;
  while (i + 16 <= n) {
    // A run of at most kLaneRun additions per lane, in float32.
    const size_t run_end = n - i >= 32 * kLaneRun ? i + 32 * kLaneRun : n;
    __m512 s1a = zero, s1b = zero, s2a = zero, s2b = zero, l1a = zero, l1b = zero;
    for (; i + 32 <= run_end; i += 32) {
      __m512 x0, x1;
      L::Load32(p + i * L::kSize, &x0, &x1);
      const __m512 d0 = _mm512_sub_ps(x0, vc);
      const __m512 d1 = _mm512_sub_ps(x1, vc);
      const __m512 a0 = _mm512_and_ps(x0, absmask);
      const __m512 a1 = _mm512_and_ps(x1, absmask);
      s1a = _mm512_fmadd_ps(d0, vone, s1a);
      s1b = _mm512_fmadd_ps(d1, vone, s1b);
      s2a = _mm512_fmadd_ps(d0, d0, s2a);
      s2b = _mm512_fmadd_ps(d1, d1, s2b);
      l1a = _mm512_fmadd_ps(a0, vone, l1a);
      l1b = _mm512_fmadd_ps(a1, vone, l1b);
      mna = _mm512_min_ps(mna, x0);
      mnb = _mm512_min_ps(mnb, x1);
      mxa = _mm512_max_ps(mxa, x0);
      mxb = _mm512_max_ps(mxb, x1);
      mza = _mm512_min_epu32(mza, _mm512_castps_si512(a0));
      mzb = _mm512_min_epu32(mzb, _mm512_castps_si512(a1));
    }
    if (i + 16 <= run_end) {
      const __m512 x0 = L::V(p + i * L::kSize);
      const __m512 d0 = _mm512_sub_ps(x0, vc);
      const __m512 a0 = _mm512_and_ps(x0, absmask);
      s1a = _mm512_add_ps(s1a, d0);
      s2a = _mm512_fmadd_ps(d0, d0, s2a);
      l1a = _mm512_add_ps(l1a, a0);
      mna = _mm512_min_ps(mna, x0);
      mxa = _mm512_max_ps(mxa, x0);
      mza = _mm512_min_epu32(mza, _mm512_castps_si512(a0));
      i += 16;
    }
    S1 = Widen(Widen(S1, s1a), s1b);
    S2 = _mm512_add_ps(S2, _mm512_add_ps(s2a, s2b));
    L1 = _mm512_add_ps(L1, _mm512_add_ps(l1a, l1b));
  }
  const size_t vec_end = i;
  double s1 = _mm512_reduce_add_pd(S1);
  double s2 = SumWide(S2);
  double l1 = SumWide(L1);
  double mn = _mm512_reduce_min_ps(_mm512_min_ps(mna, mnb));
  double mx = _mm512_reduce_max_ps(_mm512_max_ps(mxa, mxb));
  const bool has_zero = vec_end > 0 && _mm512_reduce_min_epu32(_mm512_min_epu32(mza, mzb)) == 0;
  uint64_t zeros = 0;
  for (; i < n; ++i) {
    const float x = L::S(p + i * L::kSize);
    const double d = static_cast<double>(x) - c;
    s1 += d;
    s2 += d * d;
    l1 += Abs(x);
    if (x < mn) mn = x;
    if (x > mx) mx = x;
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
  out->min = mn;
  out->max = mx;
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

// Bytes ahead of the loads that the pair loop prefetches. Two streams from 4 KiB pages (page-cache
// mappings) starve the hardware prefetchers at page boundaries; 2 KiB ahead doubled the two-file
// throughput on Zen 4 and costs nothing on cached data. Prefetches never fault, so running past
// the end of a range is harmless.
constexpr size_t kPrefetch = 2048;

// One block of pairs, assumed finite; D = B - A in float32. Loaders deliver 16 (F32, F16, BF16)
// or 32 (BF16 split into even and odd elements, for BF16 x BF16 pairs) elements per step; every
// step adds one term per lane per vector to the float32 run sums, and a run ends after kLaneRun
// additions per lane, when the run sums are widened into float64.
//
// Per 16 pairs the loop issues, per side, the shift (sub), s1 (add), s2 (FMA), |x| (and), l1 (add),
// min, max and the zero detector (vpminud on |x| bits: exact recount only when a block holds a
// zero); for D: sub, and, D^2 (FMA), sum D, sum |D|, max |D|, A.B (FMA), and the changed count as
// a compare into a mask counted with popcnt on the integer side. That is 24 vector operations
// (plus the conversions), down from 29 when zeros and changes were counted with masked vector adds.
template <class LA, class LB>
bool FastPair(const uint8_t* pa, const uint8_t* pb, size_t n, float ca, float cb,
              const PairParams& prm, PairBlockSums* out) {
  static_assert(LA::kStep == LB::kStep, "both sides must load the same number of elements");
  constexpr size_t kStep = LA::kStep;
  constexpr size_t kVecs = kStep / 16;
  // Elements per run: kLaneRun additions per lane.
  constexpr size_t kRun = kLaneRun / kVecs * kStep;
  const __m512 vca = _mm512_set1_ps(ca), vcb = _mm512_set1_ps(cb);
  const __m512 vt = _mm512_set1_ps(prm.epsilon_f32);
  // Plain sums as x * 1 + acc, as in FastStats: the FP-add pipes keep the shifts, D, min and max.
  __m512 vone = _mm512_set1_ps(1.0f);
  __asm__("" : "+v"(vone));
  const __m512 zero = _mm512_setzero_ps();
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  __m512 mna = _mm512_set1_ps(__builtin_inff()), mnb = mna;
  __m512 mxa = _mm512_set1_ps(-__builtin_inff()), mxb = mxa;
  __m512i mza = _mm512_set1_epi32(-1), mzb = mza;
  __m512 mabs = zero;
  uint64_t changed = 0;
  // Signed sums are widened after every run; sums of non-negative terms go through a second
  // float32 level (one addition per run, at most kLaneRun runs per block).
  const __m512d dz = _mm512_setzero_pd();
  __m512d S1A = dz, S1B = dz, DSUM = dz, DOT = dz;
  __m512 S2A = zero, L1A = zero, S2B = zero, L1B = zero, DSQ = zero, SABS = zero;
  static_assert(kBlock / kRun <= kLaneRun, "a block holds at most kLaneRun runs");
  size_t i = 0;
  while (i + kStep <= n) {
    const size_t run_end = n - i >= kRun ? i + kRun : n;
    __m512 s1a = zero, s2a = zero, l1a = zero, s1b = zero, s2b = zero, l1b = zero;
    __m512 dsq = zero, dsum = zero, sabs = zero, dot = zero;
    for (; i + kStep <= run_end; i += kStep) {
      _mm_prefetch(reinterpret_cast<const char*>(pa + i * LA::kSize + kPrefetch), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(pb + i * LB::kSize + kPrefetch), _MM_HINT_T0);
      __m512 av[kVecs], bv[kVecs];
      LA::Load(pa + i * LA::kSize, av);
      LB::Load(pb + i * LB::kSize, bv);
      for (size_t v = 0; v < kVecs; ++v) {
        const __m512 a = av[v], b = bv[v];
        const __m512 da = _mm512_sub_ps(a, vca);
        const __m512 db = _mm512_sub_ps(b, vcb);
        const __m512 aa = _mm512_and_ps(a, absmask);
        const __m512 ab = _mm512_and_ps(b, absmask);
        s1a = _mm512_fmadd_ps(da, vone, s1a);
        s1b = _mm512_fmadd_ps(db, vone, s1b);
        s2a = _mm512_fmadd_ps(da, da, s2a);
        s2b = _mm512_fmadd_ps(db, db, s2b);
        l1a = _mm512_fmadd_ps(aa, vone, l1a);
        l1b = _mm512_fmadd_ps(ab, vone, l1b);
        mna = _mm512_min_ps(mna, a);
        mnb = _mm512_min_ps(mnb, b);
        mxa = _mm512_max_ps(mxa, a);
        mxb = _mm512_max_ps(mxb, b);
        mza = _mm512_min_epu32(mza, _mm512_castps_si512(aa));
        mzb = _mm512_min_epu32(mzb, _mm512_castps_si512(ab));
        const __m512 d = _mm512_sub_ps(b, a);
        const __m512 ad = _mm512_and_ps(d, absmask);
        dsq = _mm512_fmadd_ps(d, d, dsq);
        dsum = _mm512_fmadd_ps(d, vone, dsum);
        sabs = _mm512_fmadd_ps(ad, vone, sabs);
        mabs = _mm512_max_ps(mabs, ad);
        dot = _mm512_fmadd_ps(a, b, dot);
        changed += static_cast<uint64_t>(
            __builtin_popcount(_mm512_cmp_ps_mask(ad, vt, _CMP_GT_OQ)));
      }
    }
    S1A = Widen(S1A, s1a);
    S1B = Widen(S1B, s1b);
    DSUM = Widen(DSUM, dsum);
    DOT = Widen(DOT, dot);
    S2A = _mm512_add_ps(S2A, s2a);
    L1A = _mm512_add_ps(L1A, l1a);
    S2B = _mm512_add_ps(S2B, s2b);
    L1B = _mm512_add_ps(L1B, l1b);
    DSQ = _mm512_add_ps(DSQ, dsq);
    SABS = _mm512_add_ps(SABS, sabs);
  }
  const size_t vec_end = i;
  BlockSums& A = out->a;
  BlockSums& B = out->b;
  PairSums& D = out->d;
  double s1A = _mm512_reduce_add_pd(S1A), s2A = SumWide(S2A), l1A = SumWide(L1A);
  double s1B = _mm512_reduce_add_pd(S1B), s2B = SumWide(S2B), l1B = SumWide(L1B);
  double mnA = _mm512_reduce_min_ps(mna), mxA = _mm512_reduce_max_ps(mxa);
  double mnB = _mm512_reduce_min_ps(mnb), mxB = _mm512_reduce_max_ps(mxb);
  const bool zeroA = vec_end > 0 && _mm512_reduce_min_epu32(mza) == 0;
  const bool zeroB = vec_end > 0 && _mm512_reduce_min_epu32(mzb) == 0;
  uint64_t zA = 0, zB = 0;
  double sq = SumWide(DSQ), sm = _mm512_reduce_add_pd(DSUM), sa = SumWide(SABS);
  double dt = _mm512_reduce_add_pd(DOT);
  double ma = _mm512_reduce_max_ps(mabs);
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
  if (zeroA) zA += CountZeros<LA>(pa, vec_end);
  if (zeroB) zB += CountZeros<LB>(pb, vec_end);
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
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, LoadF16::V(src + 2 * i));
  if (i < n) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m256i h = _mm256_maskz_loadu_epi16(k, src + 2 * i);
    _mm512_mask_storeu_ps(dst + i, k, _mm512_cvtph_ps(h));
  }
}

void ConvertBF16(const uint8_t* src, size_t n, float* dst) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, LoadBF16::V(src + 2 * i));
  if (i < n) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m256i h = _mm256_maskz_loadu_epi16(k, src + 2 * i);
    const __m512 f = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    _mm512_mask_storeu_ps(dst + i, k, f);
  }
}

// The bandwidth probe's read: vpsadbw against zero sums each 8 bytes into a 64-bit lane; four
// independent accumulators over 256 bytes per iteration, no prefetch (the plain read).
uint64_t ReadBytes(const uint8_t* p, size_t n) {
  const __m512i z = _mm512_setzero_si512();
  __m512i s0 = z, s1 = z, s2 = z, s3 = z;
  size_t i = 0;
  for (; i + 256 <= n; i += 256) {
    s0 = _mm512_add_epi64(s0, _mm512_sad_epu8(_mm512_loadu_si512(p + i), z));
    s1 = _mm512_add_epi64(s1, _mm512_sad_epu8(_mm512_loadu_si512(p + i + 64), z));
    s2 = _mm512_add_epi64(s2, _mm512_sad_epu8(_mm512_loadu_si512(p + i + 128), z));
    s3 = _mm512_add_epi64(s3, _mm512_sad_epu8(_mm512_loadu_si512(p + i + 192), z));
  }
  uint64_t sum = static_cast<uint64_t>(
      _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3))));
  for (; i < n; ++i) sum += p[i];
  return sum;
}

// Constant-initialised data (no code of this file runs before the dispatcher has checked the CPU).
// The gram pass of the spectral step (kernels.h GramFn) in float64: 8 elements per zmm, converted
// by vcvtps2pd (after vcvtph2ps for F16, vpmovzxwd + vpslld 16 for BF16). Eight rows at a time
// (then four, then one): the dot products use two accumulators per row (16 independent FMA chains,
// 8 row streams in flight) and share each load of v; the axpy loads and stores acc once for the
// eight rows. Eight rows streamed from memory on one core ran 15% faster than four for F32 and F16
// here (Zen 4); storing the converted rows for the axpy instead of converting them again was 25%
// slower; software prefetch of the next rows helps 2-byte rows only (GramAxpy). Tails are scalar.
struct GramF32 {
  static constexpr int kSrc = kSrcF32;
  static constexpr size_t kSize = 4;
  static __m512d D8(const uint8_t* p) {
    return _mm512_cvtps_pd(_mm256_loadu_ps(reinterpret_cast<const float*>(p)));
  }
  static double S(const uint8_t* p) { return LoadF32::S(p); }
};

struct GramF16 {
  static constexpr int kSrc = kSrcF16;
  static constexpr size_t kSize = 2;
  static __m512d D8(const uint8_t* p) {
    return _mm512_cvtps_pd(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  static double S(const uint8_t* p) { return LoadF16::S(p); }
};

struct GramBF16 {
  static constexpr int kSrc = kSrcBF16;
  static constexpr size_t kSize = 2;
  static __m512d D8(const uint8_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm512_cvtps_pd(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)));
  }
  static double S(const uint8_t* p) { return LoadBF16::S(p); }
};

// acc += t[0] row0 + ... + t[R-1] row(R-1), rows finite. With `next` set (2-byte sources), the
// rows `next` bytes further (the next group) are prefetched, one line per row every 64 bytes: F16
// and BF16 rows cost more compute per byte, and without it the memory stream stalls while the axpy
// runs from cache (+25-60% for F16 on one core here; for F32 it was slower, the prefetchers keep
// up).
template <class L, int R>
void GramAxpy(const uint8_t* const* p, const double* t, size_t cols, double* acc, size_t next) {
  __m512d tv[R];
  for (int k = 0; k < R; ++k) tv[k] = _mm512_set1_pd(t[k]);
  size_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    if (next != 0 && (c * L::kSize) % 64 == 0) {
      for (int k = 0; k < R; ++k)
        _mm_prefetch(reinterpret_cast<const char*>(p[k] + next + c * L::kSize), _MM_HINT_T0);
    }
    __m512d a = _mm512_loadu_pd(acc + c);
    for (int k = 0; k < R; ++k) a = _mm512_fmadd_pd(tv[k], L::D8(p[k] + c * L::kSize), a);
    _mm512_storeu_pd(acc + c, a);
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
  __m512d s0[R], s1[R];
  for (int k = 0; k < R; ++k) s0[k] = s1[k] = _mm512_setzero_pd();
  size_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    const __m512d v0 = _mm512_loadu_pd(v + c);
    const __m512d v1 = _mm512_loadu_pd(v + c + 8);
    for (int k = 0; k < R; ++k) {
      s0[k] = _mm512_fmadd_pd(L::D8(p[k] + c * L::kSize), v0, s0[k]);
      s1[k] = _mm512_fmadd_pd(L::D8(p[k] + (c + 8) * L::kSize), v1, s1[k]);
    }
  }
  double t[R];
  bool finite = true;
  for (int k = 0; k < R; ++k) {
    t[k] = _mm512_reduce_add_pd(_mm512_add_pd(s0[k], s1[k]));
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
  for (; r + 8 <= rows; r += 8) {
    const uint8_t* p[8];
    for (int k = 0; k < 8; ++k) p[k] = src + (r + k) * row_bytes;
    GramRows<L, 8>(p, cols, v, acc, prefetch && r + 16 <= rows ? 8 * row_bytes : 0);
  }
  for (; r + 4 <= rows; r += 4) {
    const uint8_t* p[4] = {src + r * row_bytes, src + (r + 1) * row_bytes,
                           src + (r + 2) * row_bytes, src + (r + 3) * row_bytes};
    GramRows<L, 4>(p, cols, v, acc, 0);
  }
  for (; r < rows; ++r) {
    const uint8_t* p[1] = {src + r * row_bytes};
    GramRows<L, 1>(p, cols, v, acc, 0);
  }
}

// Defined inside the target region so the kernels are instantiated with its options.
constexpr Kernels kAvx512 = {
    Level::kAvx512,
    "avx512",
    {ConvertF32, ConvertF16, ConvertBF16},
    {Stats<LoadF32>, Stats<LoadF16>, Stats<LoadBF16Split>},
    {{Pair<LoadF32, LoadF32>, Pair<LoadF32, LoadF16>, Pair<LoadF32, LoadBF16>},
     {Pair<LoadF16, LoadF32>, Pair<LoadF16, LoadF16>, Pair<LoadF16, LoadBF16>},
     {Pair<LoadBF16, LoadF32>, Pair<LoadBF16, LoadF16>, Pair<LoadBF16Split, LoadBF16Split>}},
    ReadBytes,
    {Gram<GramF32>, Gram<GramF16>, Gram<GramBF16>},
};

}  // namespace
}  // namespace simd
}  // namespace diffai

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

namespace diffai {
namespace simd {

const Kernels* Avx512Kernels() { return &kAvx512; }

}  // namespace simd
}  // namespace diffai

#else  // not x86-64 with GCC/Clang

namespace diffai {
namespace simd {
const Kernels* Avx512Kernels() { return nullptr; }
}  // namespace simd
}  // namespace diffai

#endif
