// core/: ranges, dtype table, safetensors framing, mapped files, moments, thread pool, SIGBUS
// guard.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <thread>

#include "core/dtype.h"
#include "core/jobs.h"
#include "core/mapped_file.h"
#include "core/moments.h"
#include "core/range.h"
#include "core/safetensors.h"
#include "core/sigbus_guard.h"
#include "core/thread_pool.h"
#include "harness.h"
#include "test_util.h"

using namespace diffai;
using diffai_test::TempFile;

TEST(RangeFitsIsOverflowSafe) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  CHECK(RangeFits(0, 0, 0));
  CHECK(!RangeFits(0, 1, 0));
  CHECK(RangeFits(5, 5, 10));
  CHECK(!RangeFits(5, 6, 10));
  CHECK(RangeFits(10, 0, 10));
  CHECK(!RangeFits(11, 0, 10));
  CHECK(!RangeFits(max, 2, 10));  // offset + length wraps to 1
  CHECK(!RangeFits(1, max, 10));  // wraps to 0
  CHECK(!RangeFits(max - 1, 2, max));
  CHECK(RangeFits(max - 2, 2, max));
  uint64_t p = 0;
  CHECK(!CheckedMul(uint64_t{1} << 62, 8, &p));
  CHECK(CheckedMul(3, 4, &p) && p == 12);
}

TEST(DTypeTable) {
  uint64_t b = 0;
  CHECK(ByteLengthOf(DType::kF32, 3, &b) && b == 12);
  CHECK(ByteLengthOf(DType::kQ8_0, 64, &b) && b == 68);
  CHECK(!ByteLengthOf(DType::kQ8_0, 31, &b));
  CHECK(!ByteLengthOf(DType::kF64, uint64_t{1} << 62, &b));
  CHECK(ByteLengthOf(DType::kBool, 5, &b) && b == 5);
  DType d;
  CHECK(DTypeFromCode(13, &d) && d == DType::kF8E4M3);
  CHECK(!DTypeFromCode(16, &d));
  CHECK(!DTypeFromCode(-1, &d));
  CHECK(std::strcmp(Info(DType::kBF16).name, "BF16") == 0);
  CHECK(ByteOffsetOf(DType::kQ8_0, 64) == 68);
}

static std::vector<uint8_t> Framed(uint64_t n, size_t body, size_t extra = 0) {
  std::vector<uint8_t> v(8 + body + extra, ' ');
  for (int i = 0; i < 8; ++i) v[i] = static_cast<uint8_t>(n >> (8 * i));
  return v;
}

TEST(SafetensorsFramingOrder) {
  uint64_t n = 0;
  std::vector<uint8_t> small = {1, 2, 3};
  CHECK(SafetensorsFraming(small.data(), small.size(), "f", &n).code ==
        Code::kSafetensorsHeaderTooSmall);
  std::vector<uint8_t> large = Framed(100000001, 4);
  CHECK(SafetensorsFraming(large.data(), large.size(), "f", &n).code ==
        Code::kSafetensorsHeaderTooLarge);
  std::vector<uint8_t> huge = Framed(~uint64_t{0}, 4);
  CHECK(SafetensorsFraming(huge.data(), huge.size(), "f", &n).code ==
        Code::kSafetensorsHeaderTooLarge);
  std::vector<uint8_t> past = Framed(10, 9);
  Status s = SafetensorsFraming(past.data(), past.size(), "model.safetensors", &n);
  CHECK(s.code == Code::kSafetensorsInvalidHeaderLength);
  CHECK(s.message.find("model.safetensors") != std::string::npos);
  CHECK(s.file == "model.safetensors");
  std::vector<uint8_t> exact = Framed(10, 10);
  CHECK(SafetensorsFraming(exact.data(), exact.size(), "f", &n).ok() && n == 10);
  std::vector<uint8_t> limit = Framed(100000000, 0);
  CHECK(SafetensorsFraming(limit.data(), limit.size(), "f", &n).code ==
        Code::kSafetensorsInvalidHeaderLength);
}

TEST(ResolveSpanChecks) {
  uint8_t buf[64] = {0};
  TensorSpan span;
  span.label = "buf";
  CHECK(ResolveSpan("j", DType::kF32, 4, 0, 16, buf, 64, &span).ok());
  CHECK(span.data == buf && span.count == 4 && span.bytes == 16);
  CHECK(ResolveSpan("j", DType::kF32, 4, 0, 12, buf, 64, &span).code == Code::kInvalidArgument);
  CHECK(ResolveSpan("j", DType::kF32, 4, 50, 16, buf, 64, &span).code == Code::kRange);
  CHECK(ResolveSpan("j", DType::kF32, 4, (uint64_t{1} << 53) - 1, 16, buf, 64, &span).code ==
        Code::kRange);
  CHECK(ResolveSpan("j", DType::kQ8_0, 33, 0, 34, buf, 64, &span).code == Code::kInvalidArgument);
  CHECK(ResolveSpan("j", DType::kQ8_0, 32, 30, 34, buf, 64, &span).ok());
  CHECK(ResolveSpan("j", DType::kF64, uint64_t{1} << 62, 0, 0, buf, 64, &span).code ==
        Code::kInvalidArgument);
}

TEST(MappedFileOpenReadChange) {
  std::unique_ptr<MappedFile> f;
  CHECK(MappedFile::Open("/nonexistent/diffai", &f).code == Code::kFileNotFound);
  CHECK(MappedFile::Open("/tmp", &f).code == Code::kFileIo);
  {
    TempFile empty({});
    CHECK(MappedFile::Open(empty.path(), &f).ok());
    CHECK(f->size() == 0 && f->data() == nullptr);
    CHECK(f->CheckUnchanged().ok());
    f->AdviseSequential(0, 100);
  }
  std::vector<uint8_t> bytes(10000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7);
  TempFile tf(bytes);
  CHECK(MappedFile::Open(tf.path(), &f).ok());
  CHECK(f->size() == bytes.size());
  CHECK(std::memcmp(f->data(), bytes.data(), bytes.size()) == 0);
  CHECK(f->CheckUnchanged().ok());
  f->AdviseSequential(4000, 100000);
  CHECK(::truncate(tf.path().c_str(), 100) == 0);
  Status s = f->CheckUnchanged();
  CHECK(s.code == Code::kFileChanged);
  CHECK(s.message.find("10000 -> 100") != std::string::npos);
}

TEST(MomentsMergeMatchesWhole) {
  diffai_test::Rng rng(1);
  std::vector<double> x(1000);
  for (double& v : x) v = 1e4 + rng.Uniform();
  auto block = [&](size_t from, size_t to, double shift) {
    BlockSums b;
    b.shift = shift;
    for (size_t i = from; i < to; ++i) {
      const double d = x[i] - shift;
      b.s1 += d;
      b.s2 += d * d;
      b.l1 += x[i];
      b.min = x[i] < b.min ? x[i] : b.min;
      b.max = x[i] > b.max ? x[i] : b.max;
    }
    b.count = b.finite = to - from;
    return b;
  };
  StatsAcc whole, parts;
  Fold(whole, block(0, 1000, x[0]));
  StatsAcc a, c;
  Fold(a, block(0, 300, x[0]));
  Fold(c, block(300, 1000, 1e4));
  Merge(parts, a);
  Merge(parts, c);
  CHECK_NEAR(parts.mean, whole.mean, 1e-15);
  CHECK_NEAR(parts.m2, whole.m2, 1e-9);
  CHECK_NEAR(parts.sum, whole.sum, 1e-15);
  CHECK_NEAR(parts.sumsq, whole.sumsq, 1e-14);
  CHECK(parts.count == 1000 && parts.finite == 1000);
  double out[kStatsWidth];
  WriteStats(StatsAcc(), out);
  CHECK(out[0] == 0 && std::isnan(out[2]) && std::isnan(out[12]) && out[9] == 0);
}

TEST(ThreadPoolRunsEveryItemOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  pool.Run(hits.size(), [&](size_t i) { hits[i].fetch_add(1); }, {});
  bool all_once = true;
  for (auto& h : hits) all_once = all_once && h.load() == 1;
  CHECK(all_once);
  // tick runs on the calling thread while items are slow: between its own items or while waiting.
  const std::thread::id caller = std::this_thread::get_id();
  int ticks = 0;
  bool tick_on_caller = true;
  pool.Run(
      6, [](size_t) { std::this_thread::sleep_for(std::chrono::milliseconds(30)); },
      [&] {
        ++ticks;
        tick_on_caller = tick_on_caller && std::this_thread::get_id() == caller;
      });
  CHECK(ticks > 0);
  CHECK(tick_on_caller);
  // Two callers at once share the workers.
  std::vector<std::atomic<int>> h1(500), h2(500);
  std::thread other([&] { pool.Run(h2.size(), [&](size_t i) { h2[i].fetch_add(1); }, {}); });
  pool.Run(h1.size(), [&](size_t i) { h1[i].fetch_add(1); }, {});
  other.join();
  for (size_t i = 0; i < 500; ++i) all_once = all_once && h1[i] == 1 && h2[i] == 1;
  CHECK(all_once);
  ThreadPool single(1);
  int n = 0;
  single.Run(10, [&](size_t) { ++n; }, {});
  CHECK(n == 10);
}

namespace {
struct ReadArgs {
  const volatile uint8_t* p;
  size_t n;
  unsigned sum;
};
void ReadAll(void* arg) {
  ReadArgs* r = static_cast<ReadArgs*>(arg);
  for (size_t i = 0; i < r->n; i += 4096) r->sum += r->p[i];
}
}  // namespace

TEST(SigbusGuardOnTruncatedMapping) {
  InstallSigbusHandler();
  const long page = ::sysconf(_SC_PAGESIZE);
  std::vector<uint8_t> bytes(64 * page, 1);
  TempFile tf(bytes);
  std::unique_ptr<MappedFile> f;
  CHECK(MappedFile::Open(tf.path(), &f).ok());
  CHECK(::truncate(tf.path().c_str(), page) == 0);
  ReadArgs ok{f->data(), static_cast<size_t>(page), 0};
  CHECK(GuardedRun(ReadAll, &ok));
  CHECK(ok.sum == 1);
  ReadArgs bad{f->data(), bytes.size(), 0};
  CHECK(!GuardedRun(ReadAll, &bad));
  // Still usable afterwards, and nested guards restore the outer one.
  CHECK(GuardedRun(ReadAll, &ok));

  // In pool threads, through RunTasks (no file list, so no fstat pre-check: the fault is what
  // reports the change).
  ThreadPool pool(2);
  ExecContext ctx;
  ctx.pool = &pool;
  std::vector<uint64_t> task_bytes(8, 1);
  std::atomic<int> done{0};
  Status s = RunTasks(ctx, task_bytes.size(), task_bytes,
                      [&](size_t i) {
                        ReadArgs r{f->data() + i * 8 * page, static_cast<size_t>(8 * page), 0};
                        ReadAll(&r);
                        done.fetch_add(1);
                      },
                      {});
  CHECK(s.code == Code::kFileChanged);
  CHECK(s.message.find("SIGBUS") != std::string::npos);
  // With the file listed, fstat names the change before anything is read.
  s = RunTasks(ctx, 1, {1}, [&](size_t) {}, {f.get()});
  CHECK(s.code == Code::kFileChanged && s.file == tf.path());
}

TEST(RunTasksAbortAndProgress) {
  ThreadPool pool(2);
  std::atomic<bool> abort{false};
  ExecContext ctx;
  ctx.pool = &pool;
  ctx.abort[0] = &abort;
  uint64_t last_done = 0, last_total = 0;
  ctx.progress = [&](uint64_t d, uint64_t t) {
    last_done = d;
    last_total = t;
  };
  std::vector<uint64_t> bytes(100, 10);
  std::atomic<int> ran{0};
  CHECK(RunTasks(ctx, bytes.size(), bytes, [&](size_t) { ran.fetch_add(1); }, {}).ok());
  CHECK(ran == 100 && last_done == 1000 && last_total == 1000);
  ran = 0;
  Status s = RunTasks(ctx, bytes.size(), bytes,
                      [&](size_t i) {
                        if (i == 3) abort.store(true);
                        ran.fetch_add(1);
                      },
                      {});
  CHECK(s.code == Code::kAborted);
  CHECK(ran < 100);
}
