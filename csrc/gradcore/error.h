// Exceptions thrown by the core. The Python bindings map each class to the exception a PyTorch user
// expects, so C++ code only has to pick the right class and say what went wrong and where.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace gradcore {

/// Shape, dtype, autograd and other usage errors (Python: RuntimeError).
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// An index or dimension out of range (Python: IndexError).
struct IndexError : Error {
  using Error::Error;
};
/// An argument of the wrong type (Python: TypeError).
struct TypeError : Error {
  using Error::Error;
};
/// An argument with an invalid value (Python: ValueError).
struct ValueError : Error {
  using Error::Error;
};
/// An op not defined for this input, e.g. for its dtype (Python: NotImplementedError).
struct NotImplemented : Error {
  using Error::Error;
};
/// An allocation that cannot be satisfied (Python: MemoryError).
struct OutOfMemory : Error {
  using Error::Error;
};

namespace detail {
/// Concatenates any streamable values into one message.
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace gradcore

/// Throws `ExcType` with the streamed message when `cond` is false.
#define GC_CHECK_T(ExcType, cond, ...) \
  do {                                   \
    if (!(cond)) [[unlikely]]            \
      throw ExcType(::gradcore::detail::cat(__VA_ARGS__)); \
  } while (0)

/// Throws gradcore::Error (RuntimeError) with the streamed message when `cond` is false.
#define GC_CHECK(cond, ...) GC_CHECK_T(::gradcore::Error, cond, __VA_ARGS__)
