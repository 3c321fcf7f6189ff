// The thread pool behind parallel_for (see parallel.h for the contract).
//
// Note [Pool lifetime]: the pool lives on the heap behind an atomic pointer and is never deleted.
// - fork(): the child's handler just drops the pointer (the workers, their mutexes and condition
//   variables belong to threads that do not exist in the child; destroying joinable std::thread
//   objects would abort), and the next parallel_for in the child builds a new pool.
// - exit: a static object's destructor stops and joins the idle workers, unless a region is in flight
//   on another thread (then the pool is left as is; the process is ending anyway). The submit lock
//   stays taken afterwards, so later loops (from other static destructors, say) run serially.
#include "gradcore/parallel.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gradcore/error.h"

namespace gradcore {

namespace {

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::atomic<int> num_threads{0};  // 0: not chosen yet (the default is usable_cores())
thread_local bool in_parallel = false;

// One parallel_for. Chunk i covers [i * chunk, min(n, (i + 1) * chunk)). The chunks are dealt out in
// contiguous blocks, one per thread (block 0 to the caller, block w + 1 to worker w), so a thread
// sees the same part of the data from one call to the next and finds it still in its own cache
// (a 4 MB tensor split over two cores stays in their L2s). A thread that runs out of its own block
// takes chunks from the others': one that is descheduled or slow to wake does not hold up the rest.
struct Job {
  struct alignas(64) Block {
    std::atomic<int64_t> next{0};  // the next chunk to claim
    int64_t end = 0;               // one past the block's last chunk
  };

  const std::function<void(int64_t, int64_t)>* f = nullptr;
  int64_t n = 0, chunk = 1, nchunks = 0;
  int nblocks = 0;
  std::unique_ptr<Block[]> blocks;
  std::atomic<bool> failed{false};
  std::exception_ptr error;  // the first exception, written by whoever set `failed`

  Job(const std::function<void(int64_t, int64_t)>* fn, int64_t total, int64_t chunk_len, int threads)
      : f(fn), n(total), chunk(chunk_len), nchunks((total + chunk_len - 1) / chunk_len), nblocks(threads),
        blocks(new Block[static_cast<size_t>(threads)]) {
    for (int b = 0; b < threads; ++b) {
      blocks[b].next.store(nchunks * b / threads, std::memory_order_relaxed);
      blocks[b].end = nchunks * (b + 1) / threads;
    }
  }

  // Runs chunks until none is left: the thread's own block first, then the others'.
  void run(int self) {
    for (int k = 0; k < nblocks; ++k) {
      Block& b = blocks[(self + k) % nblocks];
      for (;;) {
        const int64_t i = b.next.fetch_add(1, std::memory_order_relaxed);
        if (i >= b.end) break;
        const int64_t begin = i * chunk;
        try {
          (*f)(begin, std::min(n, begin + chunk));
        } catch (...) {
          if (!failed.exchange(true)) error = std::current_exception();
          for (int c = 0; c < nblocks; ++c) blocks[c].next.store(blocks[c].end, std::memory_order_relaxed);
          return;  // skip what is left
        }
      }
    }
  }
};

// Tells the core this is a spin-wait loop (saves power, and a hyperthread sibling gets the core).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Waits (spinning, then yielding) until `done()`; for waits expected to last microseconds.
template <typename Done>
void spin_until(Done done) {
  for (int i = 0; !done(); ++i) {
    if (i < 4096)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

// Note [Pool wake-up]: a worker that finished a job polls for the next one for about kSpinTime
// before it sleeps on the condition variable. Training loops run many mid-sized kernels back to
// back, and a futex wake-up costs more (tens of microseconds when the worker's core has gone idle)
// than most of those kernels; this is what OpenMP runtimes do too. The handshake is lock-free on
// the fast path: the submitter publishes `job` and bumps `generation`, and takes `mu` to notify
// only when a worker is asleep (`sleepers`, read after the bump; a worker counts itself in before
// its last check under `mu`, so no wake-up is lost). A worker counts itself `active` before it reads
// `job`, and the submitter clears `job` before it waits for `active` to drop to zero, so no worker
// can touch a job after parallel_for returned (all four accesses are sequentially consistent).
constexpr auto kSpinTime = std::chrono::microseconds(200);

struct Pool {
  std::mutex submit;  // held by the thread running a region (and by resizing)
  std::mutex mu;      // guards sleeping and `stop`
  std::condition_variable wake;
  std::vector<std::thread> workers;
  std::atomic<uint64_t> generation{0};  // bumped for each job, so workers see a new one
  std::atomic<Job*> job{nullptr};       // the current job; null between regions
  std::atomic<int> active{0};           // workers that may be reading `job`
  std::atomic<int> sleepers{0};         // workers blocked (or about to block) on `wake`
  std::atomic<bool> stop{false};

  // Returns the generation after `seen`, or 0 once the pool stops.
  uint64_t wait_for_work(uint64_t seen) {
    const auto give_up = std::chrono::steady_clock::now() + kSpinTime;
    for (int i = 0;; ++i) {
      if (stop.load()) return 0;
      const uint64_t g = generation.load();
      if (g != seen) return g;
      if ((i & 255) == 255 && std::chrono::steady_clock::now() > give_up) break;
      cpu_relax();
    }
    std::unique_lock<std::mutex> lock(mu);
    sleepers.fetch_add(1);
    wake.wait(lock, [&] { return stop.load() || generation.load() != seen; });
    sleepers.fetch_sub(1);
    return stop.load() ? 0 : generation.load();
  }

  void work(int index, uint64_t seen) {
    in_parallel = true;  // a worker's own parallel_for calls run serially
    while ((seen = wait_for_work(seen)) != 0) {
      active.fetch_add(1);
      if (Job* j = job.load()) j->run(index + 1);
      active.fetch_sub(1);
    }
  }

  // Starts `j` on the workers; the caller then runs its own share and calls finish().
  void start(Job* j) {
    job.store(j);
    generation.fetch_add(1);
    if (sleepers.load() > 0) {
      { std::lock_guard<std::mutex> lock(mu); }  // a worker between its check and its wait is now waiting
      wake.notify_all();
    }
  }

  // Waits until no worker can still touch the current job.
  void finish() {
    job.store(nullptr);
    spin_until([&] { return active.load() == 0; });
  }

  // Stops and joins all workers. Caller holds `submit`.
  void shrink_to_nothing() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop.store(true);
    }
    wake.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    stop.store(false);
  }

  // Makes the pool have `count` workers. Caller holds `submit` (so no region is running).
  void resize(size_t count) {
    if (workers.size() == count) return;
    shrink_to_nothing();
    const uint64_t g = generation.load();
    for (size_t i = 0; i < count; ++i) {
      try {
        workers.emplace_back([this, i, g] { work(static_cast<int>(i), g); });
      } catch (const std::system_error&) {  // no more threads: make do with those we have
        break;
      }
    }
  }
};

std::atomic<Pool*> pool_ptr{nullptr};

Pool& pool() {
  Pool* p = pool_ptr.load(std::memory_order_acquire);
  if (p != nullptr) return *p;
  Pool* fresh = new Pool();
  if (pool_ptr.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) return *fresh;
  delete fresh;  // another thread won the race
  return *p;
}

// The child of a fork forgets the parent's pool (Note [Pool lifetime]). Registered while the
// library loads: a lazy registration racing with fork() could leave the child stuck in it.
struct ForkHook {
  ForkHook() { pthread_atfork(nullptr, nullptr, [] { pool_ptr.store(nullptr, std::memory_order_relaxed); }); }
} fork_hook;

struct ExitHook {
  ~ExitHook() {
    Pool* p = pool_ptr.load(std::memory_order_acquire);
    if (p == nullptr || !p->submit.try_lock()) return;
    p->shrink_to_nothing();
    // `submit` stays locked: loops run after this point stay serial.
  }
} exit_hook;

// BlockingRegion hooks.
std::atomic<void* (*)()> hook_enter{nullptr};
std::atomic<void (*)(void*)> hook_exit{nullptr};
thread_local int region_depth = 0;

}  // namespace

int get_num_threads() {
  int n = num_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    int expected = 0;
    num_threads.compare_exchange_strong(expected, usable_cores(), std::memory_order_relaxed);
    n = num_threads.load(std::memory_order_relaxed);
  }
  return n;
}

void set_num_threads(int n) {
  GC_CHECK(n >= 1, "set_num_threads expects a positive integer, got ", n);
  num_threads.store(n, std::memory_order_relaxed);  // the pool resizes at its next region
}

bool in_parallel_region() { return in_parallel; }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& f) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (in_parallel || n <= grain) {
    f(0, n);
    return;
  }
  BlockingRegion region;
  const int threads = get_num_threads();
  Pool& p = pool();
  std::unique_lock<std::mutex> submit(p.submit, std::defer_lock);
  if (threads <= 1 || !submit.try_lock()) {  // one thread, or the pool is busy with another region
    in_parallel = true;
    try {
      f(0, n);
    } catch (...) {
      in_parallel = false;
      throw;
    }
    in_parallel = false;
    return;
  }
  p.resize(static_cast<size_t>(threads - 1));

  // Up to 4 chunks per thread (each >= grain), so a thread has something to take from a slow one.
  const int team = static_cast<int>(p.workers.size()) + 1;
  const int64_t nchunks = std::min<int64_t>(n / grain, 4 * static_cast<int64_t>(team));
  Job job(&f, n, (n + nchunks - 1) / nchunks, team);
  p.start(&job);
  in_parallel = true;
  job.run(0);
  in_parallel = false;
  p.finish();
  if (job.failed.load()) std::rethrow_exception(job.error);
}

BlockingRegion::BlockingRegion() {
  if (region_depth++ != 0) return;
  auto enter = hook_enter.load(std::memory_order_acquire);
  exit_ = hook_exit.load(std::memory_order_acquire);  // kept: the hooks may be reset meanwhile
  if (enter != nullptr && exit_ != nullptr) token_ = enter();
}

BlockingRegion::~BlockingRegion() noexcept(false) {
  --region_depth;
  if (token_ != nullptr) exit_(token_);
}

void set_blocking_region_hooks(void* (*enter)(), void (*exit)(void*)) {
  // Installed at module import and reset at its teardown, not while kernels run.
  hook_enter.store(nullptr, std::memory_order_release);
  hook_exit.store(exit, std::memory_order_release);
  hook_enter.store(enter, std::memory_order_release);
}

}  // namespace gradcore
