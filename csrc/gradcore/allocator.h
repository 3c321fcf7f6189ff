// The caching CPU allocator behind Storage::allocate.
//
// Freed buffers go back to free lists, one per size class, and the next request of that class
// reuses them, so a large elementwise op in a loop writes into memory that is already mapped instead
// of page-faulting on a fresh mmap each call.
//
// Size classes: requests round up to 64 bytes (the alignment) up to 256 bytes, and above that to one
// of four steps per power of two (2^k, 1.25*2^k, 1.5*2^k, 1.75*2^k), so at most 25% of a buffer is
// slack and exact powers of two (the common large sizes) have none. A request takes any cached buffer
// of its class.
//
// The cache is bounded: a freed buffer that would push the cached bytes over the limit goes back to
// the system. The limit defaults to min(1 GiB, physical RAM / 4); the environment variable
// GRADCORE_CPU_CACHE_LIMIT (bytes, read once at first use) or set_cache_limit() changes it, and 0
// turns caching off. One mutex guards the lists and the statistics (allocations happen on the
// calling thread of an op, never inside kernel workers, so it is uncontended in practice). It is
// fork-safe: the mutex is taken around fork() (pthread_atfork), so a child never inherits it locked.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gradcore {

/// Byte counters and event counts of the caching allocator (all since start, or since
/// reset_peak_memory_stats() for the peak).
struct MemoryStats {
  uint64_t allocated_bytes = 0;       ///< capacity of the buffers currently handed out (size-class rounded)
  uint64_t requested_bytes = 0;       ///< bytes asked for by the buffers currently handed out
  uint64_t cached_bytes = 0;          ///< capacity of the free buffers kept for reuse
  uint64_t peak_allocated_bytes = 0;  ///< highest allocated_bytes since start / the last reset
  uint64_t cache_limit_bytes = 0;     ///< the bound on cached_bytes
  uint64_t num_allocs = 0;            ///< buffers handed out (cache hits included)
  uint64_t num_cache_hits = 0;        ///< of which served from the cache
  uint64_t num_frees = 0;             ///< buffers given back by their storage
  uint64_t num_system_allocs = 0;     ///< buffers obtained from the system (aligned_alloc)
  uint64_t num_system_frees = 0;      ///< buffers returned to the system (over the limit, or empty_cache)
};

/// A 64-byte aligned, uninitialised buffer of at least `nbytes` (> 0) bytes; throws OutOfMemory.
void* cpu_alloc(size_t nbytes);
/// Gives back a buffer from cpu_alloc(nbytes) (same `nbytes`): cached for reuse or freed.
void cpu_free(void* ptr, size_t nbytes);
/// The capacity cpu_alloc(nbytes) hands out (nbytes rounded up to its size class).
size_t cpu_alloc_size(size_t nbytes);

/// Current counters.
MemoryStats memory_stats();
/// Sets peak_allocated_bytes to the current allocated_bytes.
void reset_peak_memory_stats();
/// Returns every cached buffer to the system; returns how many bytes it released.
uint64_t empty_cache();
/// Bounds the cached bytes (0: no caching); frees cached buffers above the new limit.
void set_cache_limit(uint64_t bytes);

}  // namespace gradcore
