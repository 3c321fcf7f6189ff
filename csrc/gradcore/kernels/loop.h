// Generic strided loops: every pointwise and reduction kernel is one of these plus a lambda.
//
// A LoopPlan describes N operands over one broadcast shape (element strides, 0 where an operand is
// broadcast). Dimensions are coalesced first, so contiguous and scalar-broadcast cases reach the
// innermost loop as a single flat row that the compiler vectorises.
#pragma once

#include <array>
#include <cstdint>

#include "gradcore/tensor.h"

namespace gradcore::kernels {

/// Most dimensions a kernel iterates over (after coalescing far fewer are typical).
constexpr int kMaxDims = 64;

/// The iteration space of N operands: shape and per-operand element strides (innermost dim last).
template <int N>
struct LoopPlan {
  int ndim = 0;
  std::array<int64_t, kMaxDims> shape{};
  std::array<std::array<int64_t, kMaxDims>, N> strides{};
};

/// Builds the plan for operands viewed over `shape` (each broadcastable to it; output first).
/// Merges adjacent dims where every operand is linear across them, drops size-1 dims.
template <int N>
LoopPlan<N> make_plan(const Shape& shape, const std::array<const TensorImpl*, N>& ops) {
  GC_CHECK(static_cast<int>(shape.size()) <= kMaxDims, "tensors with more than ", kMaxDims,
           " dimensions are not supported");
  LoopPlan<N> p;
  const int nd = static_cast<int>(shape.size());
  for (int d = 0; d < nd; ++d) {
    if (shape[d] == 1) continue;
    int64_t st[N];
    for (int k = 0; k < N; ++k) {
      const TensorImpl* t = ops[k];
      int td = d - (nd - static_cast<int>(t->sizes.size()));  // right-aligned broadcasting
      st[k] = (td < 0 || t->sizes[td] == 1) ? 0 : t->strides[td];
    }
    bool merge = p.ndim > 0;
    for (int k = 0; k < N && merge; ++k) merge = p.strides[k][p.ndim - 1] == st[k] * shape[d];
    if (merge) {
      p.shape[p.ndim - 1] *= shape[d];
      for (int k = 0; k < N; ++k) p.strides[k][p.ndim - 1] = st[k];
    } else {
      p.shape[p.ndim] = shape[d];
      for (int k = 0; k < N; ++k) p.strides[k][p.ndim] = st[k];
      ++p.ndim;
    }
  }
  if (p.ndim == 0) {  // a single element
    p.ndim = 1;
    p.shape[0] = 1;
    for (int k = 0; k < N; ++k) p.strides[k][0] = 0;
  }
  return p;
}

/// Calls row(ptrs, n, inner_strides) for every innermost row of the plan. `ptrs` are byte pointers
/// to the row's first elements; `elem` holds each operand's element size.
template <int N, typename Row>
void for_each_row(const LoopPlan<N>& p, std::array<char*, N> base, const std::array<int64_t, N>& elem,
                  Row&& row) {
  const int inner = p.ndim - 1;
  const int64_t n = p.shape[inner];
  std::array<int64_t, N> inner_stride;
  for (int k = 0; k < N; ++k) inner_stride[k] = p.strides[k][inner];
  if (inner == 0) {
    row(base, n, inner_stride);
    return;
  }
  int64_t outer = 1;
  for (int d = 0; d < inner; ++d) outer *= p.shape[d];
  if (outer == 0 || n == 0) return;
  std::array<int64_t, kMaxDims> counter{};
  std::array<char*, N> ptr = base;
  for (int64_t r = 0; r < outer; ++r) {
    row(ptr, n, inner_stride);
    // Odometer increment over the outer dims, adjusting each pointer by its stride.
    for (int d = inner - 1; d >= 0; --d) {
      if (++counter[d] < p.shape[d]) {
        for (int k = 0; k < N; ++k) ptr[k] += p.strides[k][d] * elem[k];
        break;
      }
      for (int k = 0; k < N; ++k) ptr[k] -= p.strides[k][d] * elem[k] * (p.shape[d] - 1);
      counter[d] = 0;
    }
  }
}

/// out[i] = f(in[i]) over a broadcast plan. The contiguous row is a separate loop so it vectorises.
template <typename Out, typename In, typename F>
void unary_loop(const Tensor& out, const Tensor& in, F f) {
  auto plan = make_plan<2>(out.shape(), {out.impl(), in.impl()});
  for_each_row<2>(plan, {static_cast<char*>(out.raw_data()), static_cast<char*>(in.raw_data())},
                  {sizeof(Out), sizeof(In)}, [&](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
                    Out* __restrict o = reinterpret_cast<Out*>(p[0]);
                    const In* __restrict a = reinterpret_cast<const In*>(p[1]);
                    if (s[0] == 1 && s[1] == 1) {
                      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(a[i * s[1]]);
                    }
                  });
}

/// out[i] = f(a[i], b[i]) over a broadcast plan, with flat loops for the contiguous and
/// scalar-operand rows (the common cases: x + y, x * 3).
template <typename Out, typename A, typename B, typename F>
void binary_loop(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  auto plan = make_plan<3>(out.shape(), {out.impl(), a.impl(), b.impl()});
  for_each_row<3>(
      plan,
      {static_cast<char*>(out.raw_data()), static_cast<char*>(a.raw_data()), static_cast<char*>(b.raw_data())},
      {sizeof(Out), sizeof(A), sizeof(B)}, [&](std::array<char*, 3> p, int64_t n, std::array<int64_t, 3> s) {
        Out* __restrict o = reinterpret_cast<Out*>(p[0]);
        const A* x = reinterpret_cast<const A*>(p[1]);
        const B* y = reinterpret_cast<const B*>(p[2]);
        if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
          const B yv = *y;
          for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
        } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
          const A xv = *x;
          for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(x[i * s[1]], y[i * s[2]]);
        }
      });
}

/// out[i] = f(c[i], a[i], b[i]) over a broadcast plan (where, lerp-like ops).
template <typename Out, typename C, typename A, typename B, typename F>
void ternary_loop(const Tensor& out, const Tensor& c, const Tensor& a, const Tensor& b, F f) {
  auto plan = make_plan<4>(out.shape(), {out.impl(), c.impl(), a.impl(), b.impl()});
  for_each_row<4>(plan,
                  {static_cast<char*>(out.raw_data()), static_cast<char*>(c.raw_data()),
                   static_cast<char*>(a.raw_data()), static_cast<char*>(b.raw_data())},
                  {sizeof(Out), sizeof(C), sizeof(A), sizeof(B)},
                  [&](std::array<char*, 4> p, int64_t n, std::array<int64_t, 4> s) {
                    Out* o = reinterpret_cast<Out*>(p[0]);
                    const C* x = reinterpret_cast<const C*>(p[1]);
                    const A* y = reinterpret_cast<const A*>(p[2]);
                    const B* z = reinterpret_cast<const B*>(p[3]);
                    for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(x[i * s[1]], y[i * s[2]], z[i * s[3]]);
                  });
}

/// Folds `in` into `acc` (shaped like `in` with reduced dims of size 1, so their stride is 0):
/// acc[j] = fold(acc[j], in[i]). A reduced innermost row is folded in registers by `row_fold`, and
/// its partial result merged with `combine(acc, partial)`.
template <typename Acc, typename In, typename Fold, typename Combine, typename RowFold>
void reduce_loop(const Tensor& acc, const Tensor& in, Fold fold, Combine combine, RowFold row_fold) {
  auto plan = make_plan<2>(in.shape(), {acc.impl(), in.impl()});
  for_each_row<2>(plan, {static_cast<char*>(acc.raw_data()), static_cast<char*>(in.raw_data())},
                  {sizeof(Acc), sizeof(In)}, [&](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
                    Acc* o = reinterpret_cast<Acc*>(p[0]);
                    const In* a = reinterpret_cast<const In*>(p[1]);
                    if (s[0] == 0) {
                      *o = combine(*o, row_fold(a, n, s[1]));
                    } else if (s[0] == 1 && s[1] == 1) {
                      for (int64_t i = 0; i < n; ++i) o[i] = fold(o[i], static_cast<Acc>(a[i]));
                    } else {
                      for (int64_t i = 0; i < n; ++i) o[i * s[0]] = fold(o[i * s[0]], static_cast<Acc>(a[i * s[1]]));
                    }
                  });
}

}  // namespace gradcore::kernels
