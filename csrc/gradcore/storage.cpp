#include "gradcore/storage.h"

#include "gradcore/allocator.h"

namespace gradcore {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  void* data = nbytes > 0 ? cpu_alloc(nbytes) : nullptr;
  try {
    return std::shared_ptr<Storage>(new Storage(data, nbytes, nullptr));
  } catch (...) {
    cpu_free(data, nbytes);
    throw;
  }
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t nbytes, std::shared_ptr<void> owner) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, std::move(owner)));
}

Storage::~Storage() {
  if (!owner_) cpu_free(data_, nbytes_);
}

}  // namespace gradcore
