#include "gradcore/storage.h"

#include "gradcore/allocator.h"

#include <cstdint>

namespace gradcore {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  if (nbytes <= kInlineBytes) {
    auto s = std::make_shared<Storage>(Private{}, nullptr, nbytes, nullptr);
    if (nbytes > 0) {
      const auto base = reinterpret_cast<uintptr_t>(s->inline_);
      s->data_ = s->inline_ + ((base + 63) / 64 * 64 - base);
    }
    return s;
  }
  void* data = cpu_alloc(nbytes);
  try {
    return std::make_shared<Storage>(Private{}, data, nbytes, nullptr);
  } catch (...) {
    cpu_free(data, nbytes);
    throw;
  }
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t nbytes, std::shared_ptr<void> owner) {
  return std::make_shared<Storage>(Private{}, data, nbytes, std::move(owner));
}

Storage::~Storage() {
  const auto* p = static_cast<const unsigned char*>(data_);
  const bool inline_buffer = p >= inline_ && p < inline_ + sizeof inline_;
  if (!owner_ && !inline_buffer) cpu_free(data_, nbytes_);
}

}  // namespace gradcore
