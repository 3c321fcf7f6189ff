// Storage: one contiguous, 64-byte aligned buffer shared by a tensor and all of its views.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace gradcore {

/// Counts in-place modifications of a tensor's data. Shared by a tensor and its views (and by
/// `detach()`), so that autograd notices when a tensor saved for backward is overwritten.
struct VersionCounter {
  std::atomic<uint32_t> value{0};
};

/// A raw buffer: owned (from the caching allocator in allocator.h, 64-byte aligned) or borrowed from another library (numpy,
/// DLPack), in which case `owner` keeps the lender's object alive for as long as the storage lives.
/// Buffers of at most kInlineBytes live inside the Storage object itself: a scalar or a 2x2 tensor
/// then costs no allocator call (and no lock), and does not show in memory_stats().
class Storage {
  struct Private {};

 public:
  /// Largest buffer kept inside the Storage object.
  static constexpr size_t kInlineBytes = 64;

  /// Allocates `nbytes` (aligned, uninitialised, possibly a reused cached buffer); throws
  /// OutOfMemory when the system refuses.
  static std::shared_ptr<Storage> allocate(size_t nbytes);
  /// Wraps memory owned elsewhere (never cached); `owner` is released when the storage dies.
  static std::shared_ptr<Storage> borrow(void* data, size_t nbytes, std::shared_ptr<void> owner);
  /// For make_shared only (one allocation for the object and its reference counts): use allocate or borrow.
  Storage(Private, void* data, size_t nbytes, std::shared_ptr<void> owner)
      : data_(data), nbytes_(nbytes), owner_(std::move(owner)) {}

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  /// Start of the buffer (may be null for an empty storage).
  void* data() const { return data_; }
  /// Size of the buffer in bytes.
  size_t nbytes() const { return nbytes_; }
  /// The version counter that tensors created on this storage share by default.
  VersionCounter& version() { return version_; }

 private:
  // The buffer, when it is this small, at the first 64-byte boundary inside (the object itself is
  // only 16-byte aligned: an over-aligned type would take glibc's slower memalign path).
  unsigned char inline_[kInlineBytes + 48];
  void* data_;
  size_t nbytes_;
  std::shared_ptr<void> owner_;  // null when the buffer is ours to free
  VersionCounter version_;
};

}  // namespace gradcore
