#include "core/plan.h"

#include "simd/kernels.h"

namespace diffai {

void AppendChunks(uint32_t job, uint64_t count, uint64_t bytes_per_block, std::vector<Chunk>* out) {
  const uint64_t block = simd::kBlock;
  uint64_t blocks_per_chunk = bytes_per_block == 0 ? 1 : kChunkBytes / bytes_per_block;
  if (blocks_per_chunk == 0) blocks_per_chunk = 1;
  const uint64_t elems = blocks_per_chunk * block;
  for (uint64_t start = 0; start < count; start += elems) {
    const uint64_t n = count - start < elems ? count - start : elems;
    // bytes_per_block / block is exact for every dtype at kBlock = 4096 (Q8_0: 34 * 128).
    out->push_back(
        Chunk{job, start, n, n / block * bytes_per_block + (n % block) * bytes_per_block / block});
  }
}

std::vector<Work> GroupChunks(const std::vector<Chunk>& chunks) {
  std::vector<Work> works;
  size_t i = 0;
  while (i < chunks.size()) {
    Work w{i, i + 1, chunks[i].bytes};
    while (w.last < chunks.size() && w.bytes + chunks[w.last].bytes <= kChunkBytes) {
      w.bytes += chunks[w.last].bytes;
      ++w.last;
    }
    works.push_back(w);
    i = w.last;
  }
  return works;
}

}  // namespace diffai
