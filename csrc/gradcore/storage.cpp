#include "gradcore/storage.h"

#include <cstdlib>

#include "gradcore/error.h"

namespace gradcore {

namespace {
constexpr size_t kAlignment = 64;  // one cache line, and the width of an AVX-512 register
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  void* data = nullptr;
  if (nbytes > 0) {
    size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
    GC_CHECK_T(OutOfMemory, rounded >= nbytes, "[alloc] cannot allocate ", nbytes, " bytes");
    data = std::aligned_alloc(kAlignment, rounded);
    GC_CHECK_T(OutOfMemory, data != nullptr, "[alloc] out of memory: tried to allocate ", nbytes,
               " bytes");
  }
  return std::shared_ptr<Storage>(new Storage(data, nbytes, nullptr));
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t nbytes, std::shared_ptr<void> owner) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, std::move(owner)));
}

Storage::~Storage() {
  if (!owner_) std::free(data_);
}

}  // namespace gradcore
