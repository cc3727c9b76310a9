#include "core/moments.h"

#include <cmath>
#include <initializer_list>

namespace diffai {

double ShiftFor(const StatsAcc& acc, double first) {
  if (acc.finite > 0) return acc.mean;
  return std::isfinite(first) ? first : 0.0;
}

void Merge(StatsAcc& into, const StatsAcc& from) {
  into.count += from.count;
  into.zeros += from.zeros;
  into.nan += from.nan;
  into.inf += from.inf;
  if (from.finite == 0) return;
  if (into.finite == 0) {
    into.finite = from.finite;
    into.mean = from.mean;
    into.m2 = from.m2;
  } else {
    const double na = static_cast<double>(into.finite);
    const double nb = static_cast<double>(from.finite);
    const double n = na + nb;
    const double delta = from.mean - into.mean;
    into.mean += delta * (nb / n);
    into.m2 += from.m2 + delta * delta * (na * nb / n);
    into.finite += from.finite;
  }
  into.sum += from.sum;
  into.sumsq += from.sumsq;
  into.l1 += from.l1;
  if (from.min < into.min) into.min = from.min;
  if (from.max > into.max) into.max = from.max;
}

void Fold(StatsAcc& acc, const BlockSums& b) {
  StatsAcc s;
  s.count = b.count;
  s.zeros = b.zeros;
  s.nan = b.nan;
  s.inf = b.inf;
  s.finite = b.finite;
  if (b.finite > 0) {
    const double n = static_cast<double>(b.finite);
    const double c = b.shift;
    s.mean = c + b.s1 / n;
    const double m2 = b.s2 - b.s1 * (b.s1 / n);
    // Rounding can leave a tiny negative M2; a float64 overflow (Inf - Inf) leaves NaN: report Inf.
    s.m2 = m2 > 0 ? m2 : (m2 == m2 ? 0 : std::numeric_limits<double>::infinity());
    s.sum = c * n + b.s1;
    // sum x^2 = sum (d + c)^2 = s2 + c (2 s1 + n c)
    const double sq = b.s2 + c * (2 * b.s1 + n * c);
    s.sumsq = sq > 0 ? sq : 0;
    s.l1 = b.l1;
    s.min = b.min;
    s.max = b.max;
  }
  Merge(acc, s);
}

void MergePairSums(PairSums& into, const PairSums& from) {
  into.both_finite += from.both_finite;
  into.changed += from.changed;
  into.new_non_finite += from.new_non_finite;
  into.diff_sq += from.diff_sq;
  into.dot += from.dot;
  into.diff_sum += from.diff_sum;
  into.sum_abs += from.sum_abs;
  if (from.max_abs > into.max_abs) into.max_abs = from.max_abs;
}

void FoldPair(PairAcc& acc, const PairBlockSums& b) {
  Fold(acc.a, b.a);
  Fold(acc.b, b.b);
  MergePairSums(acc.d, b.d);
}

void MergePair(PairAcc& into, const PairAcc& from) {
  Merge(into.a, from.a);
  Merge(into.b, from.b);
  MergePairSums(into.d, from.d);
  into.identical = into.identical && from.identical;
}

void WriteStats(const StatsAcc& acc, double* out) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out[0] = static_cast<double>(acc.count);
  out[1] = static_cast<double>(acc.finite);
  out[9] = static_cast<double>(acc.zeros);
  out[10] = static_cast<double>(acc.nan);
  out[11] = static_cast<double>(acc.inf);
  if (acc.finite == 0) {
    for (int i : {2, 3, 4, 5, 6, 7, 8, 12}) out[i] = nan;
    return;
  }
  out[2] = acc.mean;
  out[3] = std::sqrt(acc.m2 / static_cast<double>(acc.finite));
  out[4] = acc.min;
  out[5] = acc.max;
  out[6] = std::fmax(std::fabs(acc.min), std::fabs(acc.max));
  out[7] = acc.l1;
  out[8] = std::sqrt(acc.sumsq);
  out[12] = acc.sum;
}

void WritePair(const PairAcc& acc, double* out) {
  WriteStats(acc.a, out);
  WriteStats(acc.b, out + kStatsWidth);
  double* p = out + 2 * kStatsWidth;
  p[0] = acc.identical ? 1 : 0;
  p[1] = static_cast<double>(acc.d.both_finite);
  p[2] = acc.d.diff_sq;
  p[3] = acc.d.dot;
  p[4] = acc.d.diff_sum;
  p[5] = acc.d.max_abs;
  p[6] = acc.d.sum_abs;
  p[7] = static_cast<double>(acc.d.changed);
  p[8] = static_cast<double>(acc.d.new_non_finite);
}

}  // namespace diffai
