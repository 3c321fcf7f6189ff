// Element types and PyTorch's type-promotion rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gradcore/error.h"

namespace gradcore {

/// The element type of a tensor. Ordered so that a later category (bool < integer < floating) wins.
enum class DType : uint8_t { Bool, Int64, Float32, Float64 };

/// Size of one element in bytes.
constexpr size_t itemsize(DType t) {
  switch (t) {
    case DType::Bool: return 1;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
  }
  return 0;
}

/// True for float32 and float64.
constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

/// PyTorch's name without the module prefix ("float32", "int64", "bool").
const char* dtype_name(DType t);

/// PyTorch's legacy tensor type name used in autograd messages ("torch.FloatTensor").
const char* legacy_type_name(DType t);

/// PyTorch's ScalarType name used in kernel messages ("Float", "Double", "Long", "Bool").
const char* scalar_type_name(DType t);

/// The C++ element type name PyTorch prints in some dtype messages ("float", "double", "long int").
const char* cpp_type_name(DType t);

/// The smallest type both operands can be represented in (torch.promote_types).
constexpr DType promote_types(DType a, DType b) { return a > b ? a : b; }

/// Maps a C++ element type to its DType.
template <typename T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };

}  // namespace gradcore

/// Runs the lambda `__VA_ARGS__` with `scalar_t` bound to the C++ type of `dtype`.
#define GC_DISPATCH_ALL(dtype, ...)                                   \
  [&] {                                                               \
    switch (dtype) {                                                  \
      case ::gradcore::DType::Bool: { using scalar_t = bool; return __VA_ARGS__(); }       \
      case ::gradcore::DType::Int64: { using scalar_t = int64_t; return __VA_ARGS__(); }   \
      case ::gradcore::DType::Float32: { using scalar_t = float; return __VA_ARGS__(); }   \
      case ::gradcore::DType::Float64: { using scalar_t = double; return __VA_ARGS__(); }  \
    }                                                                 \
    throw ::gradcore::Error("unknown dtype");                         \
  }()

/// Like GC_DISPATCH_ALL, for ops defined on floating types only; `op` names the op in the error.
#define GC_DISPATCH_FLOATING(dtype, op, ...)                          \
  [&] {                                                               \
    switch (dtype) {                                                  \
      case ::gradcore::DType::Float32: { using scalar_t = float; return __VA_ARGS__(); }   \
      case ::gradcore::DType::Float64: { using scalar_t = double; return __VA_ARGS__(); }  \
      default: break;                                                 \
    }                                                                 \
    throw ::gradcore::TypeError(::gradcore::detail::cat(              \
        "[", op, "] expected a floating point tensor, got ", ::gradcore::dtype_name(dtype))); \
  }()
