// Intra-op parallelism: kernels split large loops over a thread pool.
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
/// thread is configured, or when called from inside another parallel_for. `f` must not throw.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& f);

}  // namespace gradcore
