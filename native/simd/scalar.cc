// Scalar reference level (no SIMD): element conversions and float64 reductions.
//
// Bit layouts: binary16 = 1 sign, 5 exponent (bias 15), 10 mantissa; bfloat16 = the top 16 bits of
// a binary32; float8_e4m3fn = 1/4/3, bias 7, no Inf, S.1111.111 = NaN; float8_e5m2 = 1/5/2, bias
// 15, the top byte of a binary16; Q8_0 block = LE binary16 scale d, then 32 int8 q, x = d * q.
// All reductions here are in float64, so this level is the accuracy reference for the others.
#include <cmath>
#include <cstring>

#include "simd/reference.h"

namespace diffai {
namespace simd {

namespace {

template <class T>
T LoadLE(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // hosts are little-endian (x86-64, aarch64)
  return v;
}

float BitsToFloat(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

struct F8Tables {
  float e4m3[256];
  float e5m2[256];
  F8Tables() {
    for (int v = 0; v < 256; ++v) {
      const int sign = v >> 7, exp = (v >> 3) & 15, mant = v & 7;
      float mag;
      if (exp == 15 && mant == 7) {
        mag = std::nanf("");
      } else if (exp == 0) {
        mag = std::ldexp(static_cast<float>(mant), -9);  // subnormal: mant/8 * 2^(1-7)
      } else {
        mag = std::ldexp(1.0f + mant / 8.0f, exp - 7);
      }
      e4m3[v] = sign ? -mag : mag;
      e5m2[v] = HalfToFloat(static_cast<uint16_t>(v << 8));
    }
  }
};

const F8Tables& Tables() {
  static const F8Tables tables;
  return tables;
}

template <class Get>
void Each(size_t n, double* out, Get get) {
  for (size_t i = 0; i < n; ++i) out[i] = get(i);
}

// Piece size for conversions on the stack: 512 doubles = 4 KiB.
constexpr size_t kPiece = 512;

void ConvertF32(const uint8_t* src, size_t n, float* dst) { std::memcpy(dst, src, n * 4); }

void ConvertF16(const uint8_t* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = HalfToFloat(LoadLE<uint16_t>(src + 2 * i));
}

void ConvertBF16(const uint8_t* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = BF16ToFloat(LoadLE<uint16_t>(src + 2 * i));
}

void SrcToDouble(Src src, const uint8_t* p, size_t n, double* out) {
  ToDouble(SrcDType(src), p, 0, n, out);
}

// The scalar level's kernels: every block in float64.
template <int S>
void ScalarStats(const uint8_t* src, size_t n, StatsAcc* acc) {
  const Src s = static_cast<Src>(S);
  const size_t size = SrcSize(s);
  for (size_t b0 = 0; b0 < n; b0 += kBlock) {
    const size_t m = n - b0 < kBlock ? n - b0 : kBlock;
    const uint8_t* p = src + b0 * size;
    double first;
    SrcToDouble(s, p, 1, &first);
    BlockSums sums;
    sums.shift = ShiftFor(*acc, first);
    RedoStatsBlock(s, p, m, &sums);
    Fold(*acc, sums);
  }
}

template <int SA, int SB>
void ScalarPair(const uint8_t* a, const uint8_t* b, size_t n, const PairParams& prm, PairAcc* acc) {
  const Src sa = static_cast<Src>(SA), sb = static_cast<Src>(SB);
  for (size_t b0 = 0; b0 < n; b0 += kBlock) {
    const size_t m = n - b0 < kBlock ? n - b0 : kBlock;
    const uint8_t* pa = a + b0 * SrcSize(sa);
    const uint8_t* pb = b + b0 * SrcSize(sb);
    double fa, fb;
    SrcToDouble(sa, pa, 1, &fa);
    SrcToDouble(sb, pb, 1, &fb);
    PairBlockSums sums;
    sums.a.shift = ShiftFor(acc->a, fa);
    sums.b.shift = ShiftFor(acc->b, fb);
    RedoPairBlock(sa, pa, sb, pb, m, prm.epsilon, &sums);
    FoldPair(*acc, sums);
  }
}

template <int S>
void ScalarGram(const uint8_t* src, size_t rows, size_t cols, const double* v, double* acc) {
  const DType d = SrcDType(static_cast<Src>(S));
  for (size_t r = 0; r < rows; ++r) GramRowExact(d, src, uint64_t{r} * cols, cols, v, acc);
}

uint64_t ReadBytes(const uint8_t* p, size_t n) {
  // Eight bytes per load; the byte sum of a 64-bit word taken with a multiply-free fold.
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    const uint64_t pairs = (w & 0x00ff00ff00ff00ffull) + ((w >> 8) & 0x00ff00ff00ff00ffull);
    const uint64_t quads = (pairs & 0x0000ffff0000ffffull) + ((pairs >> 16) & 0x0000ffff0000ffffull);
    sum += (quads & 0xffffffffull) + (quads >> 32);
  }
  for (; i < n; ++i) sum += p[i];
  return sum;
}

const Kernels kScalar = {
    Level::kScalar,
    "scalar",
    {ConvertF32, ConvertF16, ConvertBF16},
    {ScalarStats<0>, ScalarStats<1>, ScalarStats<2>},
    {{ScalarPair<0, 0>, ScalarPair<0, 1>, ScalarPair<0, 2>},
     {ScalarPair<1, 0>, ScalarPair<1, 1>, ScalarPair<1, 2>},
     {ScalarPair<2, 0>, ScalarPair<2, 1>, ScalarPair<2, 2>}},
    ReadBytes,
    {ScalarGram<0>, ScalarGram<1>, ScalarGram<2>},
};

}  // namespace

uint32_t HalfToFloatBits(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) {
    // Inf, or NaN with its payload moved up and the quiet bit set (as vcvtph2ps does).
    return sign | 0x7f800000u | (mant << 13) | (mant != 0 ? 0x00400000u : 0u);
  }
  if (exp == 0) {
    if (mant == 0) return sign;
    // Subnormal mant * 2^-24: normalise so bit 10 is set.
    uint32_t e = 113;  // 127 - 14
    do {
      mant <<= 1;
      --e;
    } while ((mant & 0x400u) == 0);
    return sign | (e << 23) | ((mant & 0x3ffu) << 13);
  }
  return sign | ((exp + 112) << 23) | (mant << 13);
}

float HalfToFloat(uint16_t h) { return BitsToFloat(HalfToFloatBits(h)); }
float BF16ToFloat(uint16_t h) { return BitsToFloat(static_cast<uint32_t>(h) << 16); }
float F8E4M3ToFloat(uint8_t v) { return Tables().e4m3[v]; }
float F8E5M2ToFloat(uint8_t v) { return Tables().e5m2[v]; }

DType SrcDType(Src src) {
  switch (src) {
    case kSrcF16:
      return DType::kF16;
    case kSrcBF16:
      return DType::kBF16;
    default:
      return DType::kF32;
  }
}

void ToDouble(DType dtype, const uint8_t* base, uint64_t start, size_t n, double* out) {
  switch (dtype) {
    case DType::kF64: {
      const uint8_t* p = base + start * 8;
      std::memcpy(out, p, n * 8);
      return;
    }
    case DType::kI64: {
      const uint8_t* p = base + start * 8;
      return Each(n, out,
                  [&](size_t i) { return static_cast<double>(LoadLE<int64_t>(p + 8 * i)); });
    }
    case DType::kU64: {
      const uint8_t* p = base + start * 8;
      return Each(n, out,
                  [&](size_t i) { return static_cast<double>(LoadLE<uint64_t>(p + 8 * i)); });
    }
    case DType::kI32: {
      const uint8_t* p = base + start * 4;
      return Each(n, out,
                  [&](size_t i) { return static_cast<double>(LoadLE<int32_t>(p + 4 * i)); });
    }
    case DType::kU32: {
      const uint8_t* p = base + start * 4;
      return Each(n, out,
                  [&](size_t i) { return static_cast<double>(LoadLE<uint32_t>(p + 4 * i)); });
    }
    case DType::kI16: {
      const uint8_t* p = base + start * 2;
      return Each(n, out,
                  [&](size_t i) { return static_cast<double>(LoadLE<int16_t>(p + 2 * i)); });
    }
    case DType::kU16: {
      const uint8_t* p = base + start * 2;
      return Each(n, out,
                  [&](size_t i) { return static_cast<double>(LoadLE<uint16_t>(p + 2 * i)); });
    }
    case DType::kI8: {
      const uint8_t* p = base + start;
      return Each(n, out, [&](size_t i) { return static_cast<double>(static_cast<int8_t>(p[i])); });
    }
    case DType::kU8: {
      const uint8_t* p = base + start;
      return Each(n, out, [&](size_t i) { return static_cast<double>(p[i]); });
    }
    case DType::kBool: {
      const uint8_t* p = base + start;
      return Each(n, out, [&](size_t i) { return p[i] != 0 ? 1.0 : 0.0; });
    }
    default: {
      // Float32-exact types: through float, in pieces.
      float buf[kPiece];
      for (size_t off = 0; off < n; off += kPiece) {
        const size_t m = n - off < kPiece ? n - off : kPiece;
        ToFloat(dtype, base, start + off, m, buf);
        for (size_t i = 0; i < m; ++i) out[off + i] = buf[i];
      }
      return;
    }
  }
}

void ToFloat(DType dtype, const uint8_t* base, uint64_t start, size_t n, float* out) {
  switch (dtype) {
    case DType::kF32:
      return ConvertF32(base + start * 4, n, out);
    case DType::kF16:
      return ConvertF16(base + start * 2, n, out);
    case DType::kBF16:
      return ConvertBF16(base + start * 2, n, out);
    case DType::kF8E4M3: {
      const float* t = Tables().e4m3;
      for (size_t i = 0; i < n; ++i) out[i] = t[base[start + i]];
      return;
    }
    case DType::kF8E5M2: {
      const float* t = Tables().e5m2;
      for (size_t i = 0; i < n; ++i) out[i] = t[base[start + i]];
      return;
    }
    case DType::kQ8_0: {
      size_t i = 0;
      while (i < n) {
        const uint64_t e = start + i;
        const uint8_t* blk = base + e / 32 * 34;
        const float d = HalfToFloat(LoadLE<uint16_t>(blk));
        const int8_t* q = reinterpret_cast<const int8_t*>(blk + 2);
        size_t j = e % 32;
        for (; j < 32 && i < n; ++j, ++i) out[i] = d * static_cast<float>(q[j]);
      }
      return;
    }
    default: {
      // Not float32-exact: callers never ask; give NaN rather than garbage.
      for (size_t i = 0; i < n; ++i) out[i] = std::nanf("");
      return;
    }
  }
}

void ExactStatsSums(const double* x, size_t n, BlockSums* s) {
  const double c = s->shift;
  double s1 = 0, s2 = 0, l1 = 0, mn = s->min, mx = s->max;
  uint64_t finite = 0, zeros = 0, nan = 0, inf = 0;
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (std::isnan(v)) {
      ++nan;
    } else if (std::isinf(v)) {
      ++inf;
    } else {
      ++finite;
      const double d = v - c;
      s1 += d;
      s2 += d * d;
      l1 += std::fabs(v);
      if (v < mn) mn = v;
      if (v > mx) mx = v;
      zeros += v == 0;
    }
  }
  s->count += n;
  s->finite += finite;
  s->zeros += zeros;
  s->nan += nan;
  s->inf += inf;
  s->s1 += s1;
  s->s2 += s2;
  s->l1 += l1;
  s->min = mn;
  s->max = mx;
}

void ExactPairSums(const double* a, const double* b, size_t n, double epsilon, PairBlockSums* s) {
  ExactStatsSums(a, n, &s->a);
  ExactStatsSums(b, n, &s->b);
  PairSums& d = s->d;
  for (size_t i = 0; i < n; ++i) {
    const double x = a[i], y = b[i];
    const bool fx = std::isfinite(x), fy = std::isfinite(y);
    if (fx && fy) {
      const double diff = y - x;
      const double ad = std::fabs(diff);
      ++d.both_finite;
      d.diff_sq += diff * diff;
      d.diff_sum += diff;
      d.sum_abs += ad;
      if (ad > d.max_abs) d.max_abs = ad;
      d.dot += x * y;
      d.changed += ad > epsilon;
    } else {
      if (fx) ++d.new_non_finite;
      // NaN equals NaN; an infinity equals the same infinity; anything else differs.
      const bool same = (std::isnan(x) && std::isnan(y)) || x == y;
      d.changed += !same;
    }
  }
}

namespace {

// Per-lane partial sums of FastStatsSums (four lanes, combined in a fixed order).
struct Lanes {
  double s1[4] = {0, 0, 0, 0};
  double s2[4] = {0, 0, 0, 0};
  double l1[4] = {0, 0, 0, 0};
  double mn[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
  double mx[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  uint64_t z[4] = {0, 0, 0, 0};

  void Add(int k, double v, double c) {
    const double d = v - c;
    s1[k] += d;
    s2[k] += d * d;
    l1[k] += std::fabs(v);
    mn[k] = v < mn[k] ? v : mn[k];
    mx[k] = v > mx[k] ? v : mx[k];
    z[k] += v == 0;
  }
  double S1() const { return (s1[0] + s1[1]) + (s1[2] + s1[3]); }
  double S2() const { return (s2[0] + s2[1]) + (s2[2] + s2[3]); }
  double L1() const { return (l1[0] + l1[1]) + (l1[2] + l1[3]); }
  double Min() const { return std::fmin(std::fmin(mn[0], mn[1]), std::fmin(mn[2], mn[3])); }
  double Max() const { return std::fmax(std::fmax(mx[0], mx[1]), std::fmax(mx[2], mx[3])); }
  uint64_t Zeros() const { return z[0] + z[1] + z[2] + z[3]; }
};

void Accumulate(const double* x, size_t n, double c, Lanes* l) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int k = 0; k < 4; ++k) l->Add(k, x[i + k], c);
  }
  for (; i < n; ++i) l->Add(0, x[i], c);
}

void Store(const Lanes& l, size_t n, BlockSums* s) {
  s->count += n;
  s->finite += n;
  s->zeros += l.Zeros();
  s->s1 += l.S1();
  s->s2 += l.S2();
  s->l1 += l.L1();
  s->min = std::fmin(s->min, l.Min());
  s->max = std::fmax(s->max, l.Max());
}

}  // namespace

bool FastStatsSums(const double* x, size_t n, BlockSums* s) {
  Lanes l;
  Accumulate(x, n, s->shift, &l);
  if (!std::isfinite(l.L1()) || !std::isfinite(l.S2())) return false;
  Store(l, n, s);
  return true;
}

bool FastPairSums(const double* a, const double* b, size_t n, double epsilon, PairBlockSums* s) {
  Lanes la, lb;
  Accumulate(a, n, s->a.shift, &la);
  Accumulate(b, n, s->b.shift, &lb);
  double sq[4] = {0, 0, 0, 0}, sm[4] = {0, 0, 0, 0}, sa[4] = {0, 0, 0, 0}, dt[4] = {0, 0, 0, 0};
  double ma[4] = {0, 0, 0, 0};
  uint64_t ch[4] = {0, 0, 0, 0};
  size_t i = 0;
  auto add = [&](int k, double x, double y) {
    const double d = y - x;
    const double ad = std::fabs(d);
    sq[k] += d * d;
    sm[k] += d;
    sa[k] += ad;
    ma[k] = ad > ma[k] ? ad : ma[k];
    dt[k] += x * y;
    ch[k] += ad > epsilon;
  };
  for (; i + 4 <= n; i += 4) {
    for (int k = 0; k < 4; ++k) add(k, a[i + k], b[i + k]);
  }
  for (; i < n; ++i) add(0, a[i], b[i]);
  const double SQ = (sq[0] + sq[1]) + (sq[2] + sq[3]);
  const double SA = (sa[0] + sa[1]) + (sa[2] + sa[3]);
  const double DT = (dt[0] + dt[1]) + (dt[2] + dt[3]);
  if (!std::isfinite(la.L1()) || !std::isfinite(la.S2()) || !std::isfinite(lb.L1()) ||
      !std::isfinite(lb.S2()) || !std::isfinite(SQ) || !std::isfinite(SA) || !std::isfinite(DT)) {
    return false;
  }
  Store(la, n, &s->a);
  Store(lb, n, &s->b);
  PairSums& d = s->d;
  d.both_finite += n;
  d.diff_sq += SQ;
  d.diff_sum += (sm[0] + sm[1]) + (sm[2] + sm[3]);
  d.sum_abs += SA;
  d.dot += DT;
  d.max_abs = std::fmax(d.max_abs, std::fmax(std::fmax(ma[0], ma[1]), std::fmax(ma[2], ma[3])));
  d.changed += ch[0] + ch[1] + ch[2] + ch[3];
  return true;
}

void RedoStatsBlock(Src src, const uint8_t* p, size_t n, BlockSums* s) {
  double buf[kPiece];
  const size_t size = SrcSize(src);
  for (size_t off = 0; off < n; off += kPiece) {
    const size_t m = n - off < kPiece ? n - off : kPiece;
    SrcToDouble(src, p + off * size, m, buf);
    ExactStatsSums(buf, m, s);
  }
}

void RedoPairBlock(Src sa, const uint8_t* a, Src sb, const uint8_t* b, size_t n, double epsilon,
                   PairBlockSums* s) {
  double ba[kPiece], bb[kPiece];
  for (size_t off = 0; off < n; off += kPiece) {
    const size_t m = n - off < kPiece ? n - off : kPiece;
    SrcToDouble(sa, a + off * SrcSize(sa), m, ba);
    SrcToDouble(sb, b + off * SrcSize(sb), m, bb);
    ExactPairSums(ba, bb, m, epsilon, s);
  }
}

void GramRowExact(DType dtype, const uint8_t* base, uint64_t start, size_t cols, const double* v,
                  double* acc) {
  // Two passes over the row in pieces on the stack: the dot product needs the whole row before
  // the axpy can start. Four fixed partial sums keep the order independent of the compiler.
  double buf[kPiece];
  double s[4] = {0, 0, 0, 0};
  for (size_t c0 = 0; c0 < cols; c0 += kPiece) {
    const size_t m = cols - c0 < kPiece ? cols - c0 : kPiece;
    ToDouble(dtype, base, start + c0, m, buf);
    for (size_t i = 0; i < m; ++i) {
      const double x = std::isfinite(buf[i]) ? buf[i] : 0.0;
      s[i & 3] += x * v[c0 + i];
    }
  }
  const double t = (s[0] + s[1]) + (s[2] + s[3]);
  if (t == 0) return;
  for (size_t c0 = 0; c0 < cols; c0 += kPiece) {
    const size_t m = cols - c0 < kPiece ? cols - c0 : kPiece;
    ToDouble(dtype, base, start + c0, m, buf);
    for (size_t i = 0; i < m; ++i) {
      if (std::isfinite(buf[i])) acc[c0 + i] += t * buf[i];
    }
  }
}

const Kernels* ScalarKernels() { return &kScalar; }

}  // namespace simd
}  // namespace diffai
