// The bandwidth probe of the benchmark: the same bytes, chunks, thread pool and mappings as the
// stats jobs, with the kernel replaced by a plain read (a byte sum), so the ratio of a kernel's
// throughput to this one measures the kernel and nothing else.
#include "core/jobs.h"
#include "core/plan.h"
#include "simd/kernels.h"

namespace diffai {

Status RunReadProbe(const std::vector<TensorSpan>& jobs, double* out, ExecContext& ctx) {
  std::vector<Chunk> chunks;
  std::vector<const MappedFile*> files;
  for (size_t j = 0; j < jobs.size(); ++j) {
    // Chunks of bytes, whatever the dtype: kBlock bytes per block.
    AppendChunks(static_cast<uint32_t>(j), jobs[j].bytes, simd::kBlock, &chunks);
    AddFile(&files, jobs[j].file);
  }
  std::vector<uint64_t> partial(chunks.size(), 0);
  const simd::ReadFn read = ctx.kernels->read;
  Status s = RunChunks(
      ctx, chunks,
      [&](size_t c) {
        const Chunk& ch = chunks[c];
        partial[c] = read(jobs[ch.job].data + ch.start, static_cast<size_t>(ch.count));
      },
      files);
  if (!s.ok()) return s;
  size_t c = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    uint64_t sum = 0;
    for (; c < chunks.size() && chunks[c].job == j; ++c) sum += partial[c];
    out[j] = static_cast<double>(sum & ((uint64_t{1} << 53) - 1));
  }
  return Status::Ok();
}

}  // namespace diffai
