// Runtime: the caching allocator (statistics, reuse, alignment, limits, concurrency) and the thread
// pool behind parallel_for (coverage, nesting, exceptions, concurrency, fork).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gradcore/allocator.h"
#include "gradcore/parallel.h"
#include "gradcore/storage.h"
#include "test_util.h"

namespace {

using namespace gradcore;

constexpr size_t kMiB = size_t(1) << 20;

// Restores the thread count a test changes.
struct ThreadCount {
  int saved = get_num_threads();
  ~ThreadCount() { set_num_threads(saved); }
};

// Waits up to `seconds` for child `pid`; kills it and fails when it hangs. Returns its exit code.
int wait_child(pid_t pid, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  ADD_FAILURE() << "child process hung";
  return -1;
}

// ---- allocator ---------------------------------------------------------------------------------------

TEST(Allocator, SizeClasses) {
  EXPECT_EQ(cpu_alloc_size(0), 0u);
  EXPECT_EQ(cpu_alloc_size(1), 64u);
  EXPECT_EQ(cpu_alloc_size(64), 64u);
  EXPECT_EQ(cpu_alloc_size(65), 128u);
  EXPECT_EQ(cpu_alloc_size(256), 256u);
  EXPECT_EQ(cpu_alloc_size(257), 320u);
  EXPECT_EQ(cpu_alloc_size(4 * kMiB), 4 * kMiB);
  EXPECT_EQ(cpu_alloc_size(4 * kMiB + 1), 5 * kMiB);
  EXPECT_EQ(cpu_alloc_size(7 * kMiB), 7 * kMiB);
  for (size_t n = 1; n < 100000; n = n * 3 + 7) {
    size_t cap = cpu_alloc_size(n);
    EXPECT_GE(cap, n);
    EXPECT_EQ(cap % 64, 0u);
    if (n > 256) EXPECT_LE(cap, n + n / 4 + 64) << n;
  }
}

TEST(Allocator, StatsReuseAndEmptyCache) {
  empty_cache();
  MemoryStats s0 = memory_stats();
  void* p = cpu_alloc(4 * kMiB);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  std::memset(p, 1, 4 * kMiB);
  MemoryStats s1 = memory_stats();
  EXPECT_EQ(s1.num_allocs, s0.num_allocs + 1);
  EXPECT_EQ(s1.num_system_allocs, s0.num_system_allocs + 1);
  EXPECT_EQ(s1.allocated_bytes, s0.allocated_bytes + 4 * kMiB);
  EXPECT_GE(s1.peak_allocated_bytes, s1.allocated_bytes);
  cpu_free(p, 4 * kMiB);
  MemoryStats s2 = memory_stats();
  EXPECT_EQ(s2.allocated_bytes, s0.allocated_bytes);
  EXPECT_EQ(s2.cached_bytes, s0.cached_bytes + 4 * kMiB);
  EXPECT_EQ(s2.num_frees, s0.num_frees + 1);
  void* q = cpu_alloc(4 * kMiB - 1000);  // same size class: the cached buffer comes back
  EXPECT_EQ(q, p);
  EXPECT_EQ(memory_stats().num_cache_hits, s0.num_cache_hits + 1);
  cpu_free(q, 4 * kMiB - 1000);
  EXPECT_GE(empty_cache(), 4 * kMiB);
  EXPECT_EQ(memory_stats().cached_bytes, 0u);
}

TEST(Allocator, StorageUsesTheCacheAndBorrowBypassesIt) {
  empty_cache();
  MemoryStats s0 = memory_stats();
  { auto s = Storage::allocate(1000); }
  { auto s = Storage::allocate(1000); }
  MemoryStats s1 = memory_stats();
  EXPECT_EQ(s1.num_allocs, s0.num_allocs + 2);
  EXPECT_EQ(s1.num_cache_hits, s0.num_cache_hits + 1);
  static float outside[16];
  { auto s = Storage::borrow(outside, sizeof(outside), std::make_shared<int>(0)); }
  EXPECT_EQ(memory_stats().num_allocs, s1.num_allocs);
  EXPECT_EQ(memory_stats().num_frees, s1.num_frees);
  { auto s = Storage::allocate(0); EXPECT_EQ(s->data(), nullptr); }
  EXPECT_EQ(memory_stats().num_allocs, s1.num_allocs);
}

TEST(Allocator, SmallBuffersLiveInsideTheStorage) {
  MemoryStats s0 = memory_stats();
  for (size_t n : {size_t(1), size_t(16), Storage::kInlineBytes}) {
    auto s = Storage::allocate(n);
    ASSERT_NE(s->data(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(s->data()) % 64, 0u) << n;
    const auto* obj = reinterpret_cast<const unsigned char*>(s.get());
    const auto* data = static_cast<const unsigned char*>(s->data());
    EXPECT_TRUE(data >= obj && data + n <= obj + sizeof(Storage)) << n;  // no allocator call
    std::memset(s->data(), 0xab, n);
  }
  EXPECT_EQ(memory_stats().num_allocs, s0.num_allocs);
  { auto s = Storage::allocate(Storage::kInlineBytes + 1); }
  EXPECT_EQ(memory_stats().num_allocs, s0.num_allocs + 1);
  Tensor t = ones({2, 2});  // 16 bytes: inline, and usable like any other
  EXPECT_EQ(sum(t * 3).item(), 12.0);
}

TEST(Allocator, LimitBoundsTheCache) {
  uint64_t saved = memory_stats().cache_limit_bytes;
  empty_cache();
  set_cache_limit(4 * kMiB);
  void* a = cpu_alloc(4 * kMiB);
  void* b = cpu_alloc(4 * kMiB);
  cpu_free(a, 4 * kMiB);
  uint64_t system_frees = memory_stats().num_system_frees;
  cpu_free(b, 4 * kMiB);  // over the limit: back to the system
  EXPECT_EQ(memory_stats().cached_bytes, 4 * kMiB);
  EXPECT_EQ(memory_stats().num_system_frees, system_frees + 1);
  set_cache_limit(0);
  EXPECT_EQ(memory_stats().cached_bytes, 0u);
  set_cache_limit(saved);
}

TEST(Allocator, PeakReset) {
  reset_peak_memory_stats();
  uint64_t base = memory_stats().allocated_bytes;
  EXPECT_EQ(memory_stats().peak_allocated_bytes, base);
  void* p = cpu_alloc(8 * kMiB);
  cpu_free(p, 8 * kMiB);
  EXPECT_EQ(memory_stats().peak_allocated_bytes, base + 8 * kMiB);
  reset_peak_memory_stats();
  EXPECT_EQ(memory_stats().peak_allocated_bytes, base);
}

TEST(Allocator, ConcurrentAllocAndFree) {
  uint64_t base = memory_stats().allocated_bytes;
  constexpr int kThreads = 6, kIters = GC_TEST_UNDER_ASAN ? 2000 : 20000;
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([t, &bad] {
      std::mt19937 rng(t);
      std::vector<std::pair<unsigned char*, size_t>> live;
      for (int i = 0; i < kIters; ++i) {
        if (live.size() < 16 && (live.empty() || rng() % 2)) {
          size_t n = 1 + rng() % 5000;
          auto* p = static_cast<unsigned char*>(cpu_alloc(n));
          if (reinterpret_cast<uintptr_t>(p) % 64 != 0) ++bad;
          std::memset(p, t + 1, n);
          live.emplace_back(p, n);
        } else {
          size_t k = rng() % live.size();
          auto [p, n] = live[k];
          for (size_t j = 0; j < n; j += 97)
            if (p[j] != t + 1) ++bad;  // another thread got the same buffer
          cpu_free(p, n);
          live[k] = live.back();
          live.pop_back();
        }
      }
      for (auto [p, n] : live) cpu_free(p, n);
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(memory_stats().allocated_bytes, base);
}

TEST(Allocator, ForkChildCanAllocate) {
  // Another thread hammers the allocator while we fork: the child must not inherit a held lock.
  // Under ASan, a cached 4 KB block first, so that thread never reaches ASan's own allocator, which
  // GCC 12 does not lock across fork() (see Parallel.ForkWhileAnotherThreadStartsThePool).
  if (GC_TEST_UNDER_ASAN) cpu_free(cpu_alloc(4096), 4096);
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop) cpu_free(cpu_alloc(4096), 4096);
  });
  for (int i = 0; i < 5; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      void* p = cpu_alloc(4096);
      cpu_free(p, 4096);
      (void)memory_stats();
      _exit(0);
    }
    EXPECT_EQ(wait_child(pid, 30), 0);
  }
  stop = true;
  busy.join();
}

// ---- thread pool ---------------------------------------------------------------------------------

TEST(Parallel, NumThreads) {
  ThreadCount keep;
  EXPECT_GE(get_num_threads(), 1);
  set_num_threads(3);
  EXPECT_EQ(get_num_threads(), 3);
  EXPECT_THROWS_WITH(Error, set_num_threads(0), "positive integer");
  EXPECT_EQ(get_num_threads(), 3);
}

TEST(Parallel, CoversEveryIndexOnce) {
  ThreadCount keep;
  for (int threads : {1, 2, 4}) {
    set_num_threads(threads);
    for (int64_t n : {0, 1, 7, 100, 1000, 100003}) {
      for (int64_t grain : {1, 10, 1000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<bool> short_chunk{false};
        std::atomic<int> chunks_short{0};
        parallel_for(n, grain, [&](int64_t b, int64_t e) {
          if (e - b < grain && e != n) short_chunk = true;
          if (e - b < grain) ++chunks_short;
          for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << n << " " << grain;
        EXPECT_FALSE(short_chunk.load()) << "only the last chunk may be shorter than the grain";
        EXPECT_LE(chunks_short.load(), 1);
      }
    }
  }
}

TEST(Parallel, UsesSeveralThreadsAndNestsSerially) {
  ThreadCount keep;
  set_num_threads(2);
  std::atomic<int> nested_parallel{0}, outer_chunks{0};
  std::mutex mu;
  std::vector<std::thread::id> ids;
  parallel_for(64, 1, [&](int64_t b, int64_t e) {
    ++outer_chunks;
    EXPECT_TRUE(in_parallel_region());
    {
      std::lock_guard<std::mutex> lock(mu);
      ids.push_back(std::this_thread::get_id());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    int calls = 0;
    parallel_for(1000, 1, [&](int64_t, int64_t) { ++calls; });
    if (calls != 1) ++nested_parallel;  // nested loops run as one serial call
    (void)b;
    (void)e;
  });
  EXPECT_FALSE(in_parallel_region());
  EXPECT_EQ(nested_parallel.load(), 0);
  EXPECT_GE(outer_chunks.load(), 2);
  std::sort(ids.begin(), ids.end());
  EXPECT_GE(std::unique(ids.begin(), ids.end()) - ids.begin(), 2) << "the work never left the calling thread";
}

TEST(Parallel, FirstExceptionReachesTheCaller) {
  ThreadCount keep;
  for (int threads : {1, 2, 4}) {
    set_num_threads(threads);
    std::atomic<int> ran{0};
    EXPECT_THROW(parallel_for(1000, 1,
                              [&](int64_t b, int64_t) {
                                ++ran;
                                if (b == 0) throw std::runtime_error("boom");
                              }),
                 std::runtime_error);
    EXPECT_GE(ran.load(), 1);
    // The pool still works afterwards.
    std::atomic<int64_t> sum{0};
    parallel_for(1000, 10, [&](int64_t b, int64_t e) { sum += e - b; });
    EXPECT_EQ(sum.load(), 1000);
  }
}

TEST(Parallel, ConcurrentCallers) {
  ThreadCount keep;
  set_num_threads(2);
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < (GC_TEST_UNDER_ASAN ? 50 : 300); ++i) {
        std::atomic<int64_t> sum{0};
        parallel_for(10000, 100, [&](int64_t b, int64_t e) {
          int64_t s = 0;
          for (int64_t j = b; j < e; ++j) s += j;
          sum += s;
        });
        if (sum.load() != int64_t(10000) * 9999 / 2) ++bad;
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(Parallel, ResizeBetweenRegions) {
  ThreadCount keep;
  for (int threads : {4, 1, 3, 2}) {
    set_num_threads(threads);
    std::atomic<int64_t> sum{0};
    parallel_for(5000, 10, [&](int64_t b, int64_t e) { sum += e - b; });
    EXPECT_EQ(sum.load(), 5000);
  }
}

TEST(Parallel, ForkChildDoesNotHang) {
  ThreadCount keep;
  set_num_threads(2);
  std::atomic<int64_t> sum{0};
  parallel_for(10000, 10, [&](int64_t b, int64_t e) { sum += e - b; });  // the pool is running
  ASSERT_EQ(sum.load(), 10000);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::atomic<int64_t> s{0};
    parallel_for(10000, 10, [&](int64_t b, int64_t e) { s += e - b; });
    Tensor x = ones({1 << 20}, DType::Float32);
    double total = gradcore::sum(add(x, x)).item();
    _exit(s.load() == 10000 && total == 2.0 * (1 << 20) ? 0 : 1);
  }
  EXPECT_EQ(wait_child(pid, 60), 0);
  sum = 0;
  parallel_for(10000, 10, [&](int64_t b, int64_t e) { sum += e - b; });  // and the parent's still works
  EXPECT_EQ(sum.load(), 10000);
}

TEST(Parallel, ForkWhileAnotherThreadStartsThePool) {
  // Each test runs in a fresh process, so the other thread's first loop creates the pool (and its
  // fork handler) while we fork: the children must neither hang nor use the parent's workers.
  if (GC_TEST_UNDER_ASAN)  // GCC 12's ASan allocator does not lock itself across fork(): a child can
    GTEST_SKIP() << "inherit its mutex held by the other thread (gdb: __asan::Allocator::Allocate)";
  ThreadCount keep;
  set_num_threads(2);
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop) {
      std::atomic<int64_t> sum{0};
      parallel_for(1000, 10, [&](int64_t b, int64_t e) { sum += e - b; });
    }
  });
  for (int i = 0; i < 5; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::atomic<int64_t> s{0};
      parallel_for(10000, 10, [&](int64_t b, int64_t e) { s += e - b; });
      _exit(s.load() == 10000 ? 0 : 1);
    }
    EXPECT_EQ(wait_child(pid, 30), 0);
  }
  stop = true;
  busy.join();
}

TEST(Parallel, BlockingRegionHooksOutermostOnly) {
  static std::atomic<int> entered{0}, exited{0};
  static int token = 0;
  set_blocking_region_hooks([]() -> void* { ++entered; return &token; }, [](void* t) {
    EXPECT_EQ(t, &token);
    ++exited;
  });
  {
    BlockingRegion outer;
    BlockingRegion inner;
    EXPECT_EQ(entered.load(), 1);
  }
  EXPECT_EQ(exited.load(), 1);
  parallel_for(100, 1, [](int64_t, int64_t) {});  // big enough to split: opens a region
  EXPECT_EQ(entered.load(), 2);
  parallel_for(10, 100, [](int64_t, int64_t) {});  // serial: none
  EXPECT_EQ(entered.load(), 2);
  EXPECT_EQ(exited.load(), 2);
  set_blocking_region_hooks(nullptr, nullptr);
}

// ---- kernels on the pool -------------------------------------------------------------------------

TEST(ParallelKernels, SameResultsForAnyThreadCount) {
  ThreadCount keep;
  Tensor a = randn({700, 300}, DType::Float32);
  Tensor b = randn({300}, DType::Float32);
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<double> r = gctest::values(add(exp(a), b));
    for (double v : gctest::values(sum(a))) r.push_back(v);
    for (double v : gctest::values(sum(a, {0}, false))) r.push_back(v);
    results.push_back(r);
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

}  // namespace
