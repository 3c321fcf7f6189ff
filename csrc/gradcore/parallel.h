// Intra-op parallelism: kernels split large loops over a thread pool.
//
// The pool (parallel.cpp) is a persistent set of std::threads started at the first parallel loop,
// num_threads - 1 of them: the calling thread takes part. Default size: the cores this process may
// run on (sched_getaffinity). One parallel region runs at a time; a second thread that starts one
// meanwhile runs its loop serially on its own thread (it never waits for the pool). After fork() the
// child gets a fresh, not yet started pool (pthread_atfork), so it never waits on threads that do
// not exist in it. At exit the idle workers are stopped and joined.
//
// Host-language threads: a parallel_for big enough to split (n > grain, not nested) runs inside a
// BlockingRegion, during which the Python bindings release the GIL. Kernels therefore must not
// touch Python objects, and code must not hold a lock across a kernel that another thread could
// wait for while holding the GIL (that would deadlock).
#pragma once

#include <cstdint>
#include <functional>

namespace gradcore {

/// Threads a kernel may use (the calling thread included).
int get_num_threads();
/// Sets the number of threads kernels may use (>= 1).
void set_num_threads(int n);

/// Calls f(begin, end) on disjoint chunks covering [0, n), each at least `grain` long except maybe the
/// last, possibly on several threads (the caller takes part). Runs serially when n <= grain, when one
/// thread is configured, or when called from inside another parallel_for. `f` should not throw; if it
/// does, the remaining chunks are skipped and the first exception is rethrown to the caller once
/// every thread has left `f`.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& f);

/// Whether the calling thread is running a chunk of a parallel_for (nested loops run serially).
bool in_parallel_region();

/// parallel_for for any callable: a loop that will run serially (n <= grain, or nested) calls `f`
/// directly, without building a std::function (which may allocate) on small ops' paths.
template <typename F>
void parallel_for(int64_t n, int64_t grain, const F& f) {
  if (n <= 0) return;
  if (n <= grain || in_parallel_region()) {
    f(int64_t{0}, n);
    return;
  }
  parallel_for(n, grain, std::function<void(int64_t, int64_t)>(f));
}

/// While alive on the outermost level of a thread, lets other threads of the host language run:
/// `enter()` is called on construction and `exit(token)` with its result on destruction (the Python
/// bindings install hooks that release and re-take the GIL). parallel_for opens one itself.
class BlockingRegion {
 public:
  BlockingRegion();
  // May end the thread with a forced unwind (the host language's exit hook can pthread_exit).
  ~BlockingRegion() noexcept(false);
  BlockingRegion(const BlockingRegion&) = delete;
  BlockingRegion& operator=(const BlockingRegion&) = delete;

 private:
  void* token_ = nullptr;
  void (*exit_)(void*) = nullptr;
};

/// Installs the BlockingRegion hooks (null: none). `exit` is only called with a token `enter`
/// returned, on the same thread.
void set_blocking_region_hooks(void* (*enter)(), void (*exit)(void*));

}  // namespace gradcore
