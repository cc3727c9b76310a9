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

}  // namespace diffai
