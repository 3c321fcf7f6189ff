// Runtime controls: kernel threads, the caching allocator's statistics, and the GIL hooks that let
// other Python threads run while a large kernel works (parallel.h: BlockingRegion).
#include <unistd.h>

#include "bindings/common.h"
#include "gradcore/allocator.h"
#include "gradcore/parallel.h"

namespace gradcore::python {

namespace {

bool finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

// Releases the GIL if this thread holds it (kernels never touch Python objects; parallel.h).
void* release_gil() {
  if (finalizing() || !PyGILState_Check()) return nullptr;
  return PyEval_SaveThread();
}

// Takes the GIL back. A daemon thread that finishes its kernel after the interpreter began to shut
// down must not take it: CPython would end the thread with pthread_exit, whose unwinding through
// C++ frames aborts the process. It waits here instead until the process is gone (what CPython 3.14
// does itself). If shutdown starts between the check and the wait, BlockingRegion's destructor
// lets the forced unwind through (noexcept(false)).
void restore_gil(void* state) {
  if (finalizing())
    for (;;) pause();
  PyEval_RestoreThread(static_cast<PyThreadState*>(state));
}

}  // namespace

void bind_runtime(py::module_& m) {
  set_blocking_region_hooks(&release_gil, &restore_gil);
  m.add_object("_runtime_cleanup", py::capsule([] { set_blocking_region_hooks(nullptr, nullptr); }));

  m.def("set_num_threads", [](int n) { set_num_threads(n); }, py::arg("int"),
        "Sets the number of threads gradcore's kernels use (the calling thread included).");
  m.def("get_num_threads", &get_num_threads, "The number of threads gradcore's kernels use.");
  m.def(
      "memory_stats",
      [] {
        MemoryStats s = memory_stats();
        py::dict d;
        d["allocated_bytes"] = s.allocated_bytes;
        d["requested_bytes"] = s.requested_bytes;
        d["cached_bytes"] = s.cached_bytes;
        d["peak_allocated_bytes"] = s.peak_allocated_bytes;
        d["cache_limit_bytes"] = s.cache_limit_bytes;
        d["num_allocs"] = s.num_allocs;
        d["num_cache_hits"] = s.num_cache_hits;
        d["num_frees"] = s.num_frees;
        d["num_system_allocs"] = s.num_system_allocs;
        d["num_system_frees"] = s.num_system_frees;
        return d;
      },
      "Counters of the caching CPU allocator: allocated_bytes (size-class capacity of live buffers), "
      "requested_bytes, cached_bytes (free buffers kept for reuse), peak_allocated_bytes, cache_limit_bytes, "
      "num_allocs (cache hits included), num_cache_hits, num_frees, num_system_allocs, num_system_frees.");
  m.def("empty_cache", [] { empty_cache(); }, "Returns the allocator's cached free buffers to the system.");
  m.def("reset_peak_memory_stats", &reset_peak_memory_stats,
        "Resets peak_allocated_bytes to the bytes allocated now.");
  m.def("_set_cache_limit", [](uint64_t bytes) { set_cache_limit(bytes); }, py::arg("bytes"),
        "Bounds the allocator's cached bytes (0 disables caching).");
}

}  // namespace gradcore::python
