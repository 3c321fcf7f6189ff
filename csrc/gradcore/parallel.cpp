// Serial placeholder of the parallel_for contract; the thread pool replaces it.
#include "gradcore/parallel.h"

#include <atomic>

#include "gradcore/error.h"

namespace gradcore {

namespace {
std::atomic<int> num_threads{1};
}  // namespace

int get_num_threads() { return num_threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  GC_CHECK(n >= 1, "set_num_threads expects a positive integer, got ", n);
  num_threads.store(n, std::memory_order_relaxed);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& f) {
  (void)grain;
  if (n > 0) f(0, n);
}

}  // namespace gradcore
