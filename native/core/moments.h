// Statistics accumulators and their exact merges.
//
// A kernel reduces a block (a few thousand elements) into BlockSums: sums of x - c for a shift c
// close to the running mean, so the second moment does not cancel when |mean| >> std. Fold() turns
// a block into moments (count, mean, M2) and merges it with Chan, Golub and LeVeque's pairwise
// update ("Algorithms for computing the sample variance", 1983); Merge() joins two accumulators the
// same way. All of it is float64.
//
// These functions are defined in moments.cc on purpose (not inline): the ISA files are compiled
// with `#pragma GCC target`, and an inline function instantiated there could be emitted with
// AVX-512 instructions and then picked by the linker for every caller.
#pragma once

#include <cstdint>
#include <limits>

namespace diffai {

constexpr int kStatsWidth = 13;
constexpr int kPairExtra = 9;
constexpr int kPairWidth = 2 * kStatsWidth + kPairExtra;

// Running statistics of one tensor (or a part of it). Moments are over finite elements.
struct StatsAcc {
  uint64_t count = 0;
  uint64_t finite = 0;
  uint64_t zeros = 0;
  uint64_t nan = 0;
  uint64_t inf = 0;
  double mean = 0;
  double m2 = 0;     // sum (x - mean)^2
  double sum = 0;    // sum x
  double sumsq = 0;  // sum x^2
  double l1 = 0;     // sum |x|
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
};

// Raw sums of one block relative to `shift`: s1 = sum (x - shift), s2 = sum (x - shift)^2 over the
// finite elements.
struct BlockSums {
  uint64_t count = 0;
  uint64_t finite = 0;
  uint64_t zeros = 0;
  uint64_t nan = 0;
  uint64_t inf = 0;
  double shift = 0;
  double s1 = 0;
  double s2 = 0;
  double l1 = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
};

// Pair values, D = B - A over positions where both are finite (see lib/native/AddonTypes.ts).
struct PairSums {
  uint64_t both_finite = 0;
  uint64_t changed = 0;
  uint64_t new_non_finite = 0;
  double diff_sq = 0;
  double dot = 0;
  double diff_sum = 0;
  double max_abs = 0;
  double sum_abs = 0;
};

struct PairBlockSums {
  BlockSums a;
  BlockSums b;
  PairSums d;
};

struct PairAcc {
  StatsAcc a;
  StatsAcc b;
  PairSums d;
  // True while every compared byte range was identical (only ever set for equal dtypes).
  bool identical = false;
};

// The shift for the next block: the running mean once there is one, else `first` (the block's
// first element) when finite, else 0.
double ShiftFor(const StatsAcc& acc, double first);

void Fold(StatsAcc& acc, const BlockSums& block);
void Merge(StatsAcc& into, const StatsAcc& from);
void FoldPair(PairAcc& acc, const PairBlockSums& block);
void MergePairSums(PairSums& into, const PairSums& from);
void MergePair(PairAcc& into, const PairAcc& from);

// Writes the kStatsWidth slots of lib/native/AddonTypes.ts StatsSlot.
void WriteStats(const StatsAcc& acc, double* out);
// Writes the kPairWidth slots: stats A, stats B, then PairSlot values.
void WritePair(const PairAcc& acc, double* out);

}  // namespace diffai
