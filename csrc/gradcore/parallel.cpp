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
#include <condition_variable>
#include <exception>
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

// One parallel_for: chunk i covers [i * chunk, min(n, (i + 1) * chunk)); threads claim chunks.
struct Job {
  const std::function<void(int64_t, int64_t)>* f;
  int64_t n, chunk, nchunks;
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;  // the first exception, written by whoever set `failed`

  void run() {
    for (;;) {
      int64_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= nchunks) return;
      int64_t begin = i * chunk;
      try {
        (*f)(begin, std::min(n, begin + chunk));
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
        next.store(nchunks, std::memory_order_relaxed);  // skip what is left
      }
    }
  }
};

struct Pool {
  std::mutex submit;  // held by the thread running a region (and by resizing)
  std::mutex mu;      // guards everything below
  std::condition_variable wake, idle;
  std::vector<std::thread> workers;
  uint64_t generation = 0;  // bumped for each job, so workers see a new one
  Job* job = nullptr;       // the current job; null between regions
  int active = 0;           // workers holding `job`
  bool stop = false;

  void work(uint64_t seen) {
    in_parallel = true;  // a worker's own parallel_for calls run serially
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      wake.wait(lock, [&] { return stop || generation != seen; });
      if (stop) return;
      seen = generation;
      Job* j = job;
      if (j == nullptr) continue;  // woke after the region ended
      ++active;
      lock.unlock();
      j->run();
      lock.lock();
      if (--active == 0) idle.notify_all();
    }
  }

  // Stops and joins all workers. Caller holds `submit`.
  void shrink_to_nothing() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    wake.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    stop = false;
  }

  // Makes the pool have `count` workers. Caller holds `submit` (so no region is running).
  void resize(size_t count) {
    if (workers.size() == count) return;
    shrink_to_nothing();
    uint64_t g;
    {
      std::lock_guard<std::mutex> lock(mu);
      g = generation;
    }
    for (size_t i = 0; i < count; ++i) {
      try {
        workers.emplace_back([this, g] { work(g); });
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
  static std::once_flag atfork_once;
  std::call_once(atfork_once, [] {
    // The child of a fork forgets the parent's pool (Note [Pool lifetime]).
    pthread_atfork(nullptr, nullptr, [] { pool_ptr.store(nullptr, std::memory_order_relaxed); });
  });
  Pool* fresh = new Pool();
  if (pool_ptr.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) return *fresh;
  delete fresh;  // another thread won the race
  return *p;
}

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

  // Up to 4 chunks per thread (each >= grain), claimed dynamically: on a shared machine a thread
  // that gets descheduled does not hold up the others.
  Job job;
  job.f = &f;
  job.n = n;
  job.nchunks = std::min<int64_t>(n / grain, 4 * static_cast<int64_t>(p.workers.size() + 1));
  job.chunk = (n + job.nchunks - 1) / job.nchunks;
  job.nchunks = (n + job.chunk - 1) / job.chunk;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.job = &job;
    ++p.generation;
  }
  p.wake.notify_all();
  in_parallel = true;
  job.run();
  in_parallel = false;
  {
    std::unique_lock<std::mutex> lock(p.mu);
    p.idle.wait(lock, [&] { return p.active == 0; });  // every chunk is claimed: wait for the last ones
    p.job = nullptr;
  }
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
