#include "gradcore/allocator.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "gradcore/error.h"

namespace gradcore {

namespace {

constexpr size_t kAlignment = 64;  // one cache line, and the width of an AVX-512 register
constexpr size_t kMaxRequest = size_t(1) << 62;
constexpr int kNumClasses = 4 + 4 * 62;  // 64..256 by 64, then 4 steps per power of two up to 2^64

int floor_log2(size_t x) { return 63 - __builtin_clzll(x); }

// The size class of a request: its index and its capacity (see the header for the scheme).
struct SizeClass {
  int index;
  size_t capacity;
};

size_t class_capacity(int c) {
  if (c < 4) return size_t(c + 1) * 64;
  int k = (c - 4) / 4 + 8, q = (c - 4) % 4 + 5;
  return size_t(q) << (k - 2);
}

SizeClass size_class(size_t n) {
  if (n <= 256) {
    size_t cap = (n + 63) / 64 * 64;
    return {static_cast<int>(cap / 64) - 1, cap};
  }
  int k = floor_log2(n - 1);  // 2^k < n <= 2^(k+1)
  size_t step = size_t(1) << (k - 2);
  size_t q = (n + step - 1) / step;  // 5..8
  return {4 + 4 * (k - 8) + static_cast<int>(q - 5), q * step};
}

uint64_t default_limit() {
  if (const char* env = std::getenv("GRADCORE_CPU_CACHE_LIMIT")) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(env, &end, 10);
    if (end != env) return v;
  }
  uint64_t limit = uint64_t(1) << 30;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) limit = std::min<uint64_t>(limit, uint64_t(pages) * uint64_t(page) / 4);
  return limit;
}

struct State {
  std::mutex mu;
  std::vector<void*> free_lists[kNumClasses];
  MemoryStats stats;

  State() {
    stats.cache_limit_bytes = default_limit();
    // A child of fork() must not inherit the mutex locked by another thread of the parent.
    pthread_atfork([] { state().mu.lock(); }, [] { state().mu.unlock(); }, [] { state().mu.unlock(); });
  }

  // The process-wide instance. Never destroyed: storages freed during static destruction still
  // find it (the buffers it caches are released by the exit hook below).
  static State& state() {
    static State* s = new State();
    return *s;
  }

  // Frees cached buffers, largest classes first, until at most `keep` bytes stay cached. Caller
  // holds mu.
  uint64_t trim(uint64_t keep) {
    uint64_t released = 0;
    for (int c = kNumClasses - 1; c >= 0 && stats.cached_bytes > keep; --c) {
      auto& list = free_lists[c];
      while (!list.empty() && stats.cached_bytes > keep) {
        std::free(list.back());
        list.pop_back();
        uint64_t cap = class_capacity(c);
        stats.cached_bytes -= cap;
        released += cap;
        ++stats.num_system_frees;
      }
    }
    return released;
  }
};

// Built while the library loads, before any thread can call in: a fork() during a lazy first
// construction would leave the child waiting forever on the half-done static initialisation.
[[maybe_unused]] State& state_at_load = State::state();

// At exit, hand the cached buffers back (and stop caching), so leak checkers see a clean heap.
struct ExitHook {
  ~ExitHook() { set_cache_limit(0); }
} exit_hook;

}  // namespace

size_t cpu_alloc_size(size_t nbytes) { return nbytes == 0 ? 0 : size_class(std::min(nbytes, kMaxRequest)).capacity; }

void* cpu_alloc(size_t nbytes) {
  GC_CHECK_T(OutOfMemory, nbytes <= kMaxRequest, "[alloc] cannot allocate ", nbytes, " bytes");
  SizeClass sc = size_class(nbytes);
  State& s = State::state();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    ++s.stats.num_allocs;
    s.stats.allocated_bytes += sc.capacity;
    s.stats.requested_bytes += nbytes;
    s.stats.peak_allocated_bytes = std::max(s.stats.peak_allocated_bytes, s.stats.allocated_bytes);
    auto& list = s.free_lists[sc.index];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      s.stats.cached_bytes -= sc.capacity;
      ++s.stats.num_cache_hits;
      return p;
    }
    ++s.stats.num_system_allocs;
  }
  void* p = std::aligned_alloc(kAlignment, sc.capacity);
  if (p == nullptr) {
    {
      // Memory may be tied up in the cache: release it and try once more.
      std::lock_guard<std::mutex> lock(s.mu);
      s.trim(0);
    }
    p = std::aligned_alloc(kAlignment, sc.capacity);
  }
  if (p == nullptr) {
    std::lock_guard<std::mutex> lock(s.mu);
    --s.stats.num_allocs;
    --s.stats.num_system_allocs;
    s.stats.allocated_bytes -= sc.capacity;
    s.stats.requested_bytes -= nbytes;
  }
  GC_CHECK_T(OutOfMemory, p != nullptr, "[alloc] out of memory: tried to allocate ", nbytes, " bytes");
  return p;
}

void cpu_free(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  SizeClass sc = size_class(nbytes);
  State& s = State::state();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    ++s.stats.num_frees;
    s.stats.allocated_bytes -= sc.capacity;
    s.stats.requested_bytes -= nbytes;
    if (s.stats.cached_bytes + sc.capacity <= s.stats.cache_limit_bytes) {
      try {
        s.free_lists[sc.index].push_back(ptr);
        s.stats.cached_bytes += sc.capacity;
        return;
      } catch (const std::bad_alloc&) {  // no room to remember it: free it instead
      }
    }
    ++s.stats.num_system_frees;
  }
  std::free(ptr);
}

MemoryStats memory_stats() {
  State& s = State::state();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.stats;
}

void reset_peak_memory_stats() {
  State& s = State::state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.stats.peak_allocated_bytes = s.stats.allocated_bytes;
}

uint64_t empty_cache() {
  State& s = State::state();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.trim(0);
}

void set_cache_limit(uint64_t bytes) {
  State& s = State::state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.stats.cache_limit_bytes = bytes;
  s.trim(bytes);
}

}  // namespace gradcore
