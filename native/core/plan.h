// Work partitioning. Chunk boundaries depend only on a job's dtypes and element count (never on
// the thread count), and partial results are merged in chunk order, so results are bit-identical
// at any DIFFAI_THREADS and across runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace diffai {

// Input bytes per chunk (all sides of a job together): big tensors are split into chunks of about
// this size; small tensors are batched into tasks of about this size.
constexpr uint64_t kChunkBytes = uint64_t{2} << 20;

struct Chunk {
  uint32_t job;
  uint64_t start;  // first element
  uint64_t count;  // elements
  uint64_t bytes;  // input bytes (all sides)
};

// A task: chunks [first, last) of a chunk list.
struct Work {
  size_t first;
  size_t last;
  uint64_t bytes;
};

// Appends the chunks of a job of `count` elements whose sides together take `bytes_per_block`
// bytes per simd::kBlock elements. Chunks hold a whole number of blocks (except the last). A job
// of 0 elements gets no chunk.
void AppendChunks(uint32_t job, uint64_t count, uint64_t bytes_per_block, std::vector<Chunk>* out);

// Groups consecutive chunks into tasks of at most kChunkBytes (a larger chunk is a task alone).
std::vector<Work> GroupChunks(const std::vector<Chunk>& chunks);

// Reductions onto an output vector (axis norms, X^T M) split their work one of two ways, both
// deterministic (the parts depend on the shape only):
// - by output range, when every input row gives runs of at least kMinRunBytes: each part owns a
//   slice of the output and reads a contiguous run of every row;
// - by input range otherwise: each part sums into a private output vector, added in part order.
constexpr uint64_t kMinRunBytes = 64 << 10;
constexpr uint64_t kMaxPartials = 16;
constexpr uint64_t kPartialBudget = 64 << 20;  // bytes of private output vectors, all parts

// Parts of an output-range split of `total` input bytes over `out_len` outputs, with rows of
// `row_bytes` (parts shrink so every run stays at least kMinRunBytes / 4 long when `limit_by_run`).
inline uint64_t OutputSplitParts(uint64_t total, uint64_t row_bytes, uint64_t out_len,
                                 bool limit_by_run) {
  uint64_t parts = (total + kChunkBytes - 1) / kChunkBytes;
  const uint64_t by_run = row_bytes / (kMinRunBytes / 4);
  if (limit_by_run && parts > by_run) parts = by_run;
  if (parts > out_len) parts = out_len;
  return parts == 0 ? 1 : parts;
}

// Parts of an input-range split of `total` input bytes over `in_len` input rows, each part with a
// private vector of `out_len` doubles (at most kMaxPartials parts, kPartialBudget bytes together).
inline uint64_t PartialSplitParts(uint64_t total, uint64_t out_len, uint64_t in_len) {
  uint64_t parts = (total + kChunkBytes - 1) / kChunkBytes;
  if (parts > kMaxPartials) parts = kMaxPartials;
  const uint64_t budget = kPartialBudget / (8 * out_len);
  if (parts > budget) parts = budget;
  if (parts > in_len) parts = in_len;
  return parts == 0 ? 1 : parts;
}

}  // namespace diffai
