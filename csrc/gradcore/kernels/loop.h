// Generic strided loops: every pointwise and reduction kernel is one of these plus a lambda.
//
// A LoopPlan describes N operands over one broadcast shape (element strides, 0 where an operand is
// broadcast). Dimensions are coalesced first, so contiguous and scalar-broadcast cases reach the
// innermost loop as a single flat row that the compiler vectorises.
//
// Note [Parallel loops]: the elementwise loops (unary/binary/ternary) and reduce_loop run on the
// thread pool (parallel.h) when they cover at least kParallelMinElements elements; below that, the
// pool's wake-up (a few microseconds) costs more than the work. Elementwise loops cut the rows into
// pieces at multiples of kSplitBlock elements from each row's start; every element is computed by
// the same row code either way, so results do not depend on the thread count (bitwise). They stay
// serial when the output overlaps itself (a stride-0 or overlapping view written to) or partially
// overlaps an input, where the serial order is part of the result. Reductions:
// - outputs with many elements: split over a kept (non-reduced) dim; each output still folds its
//   elements in the same order, so results are bitwise those of the serial loop;
// - a long reduced innermost row, or a full reduction: pieces of kReduceChunk elements are folded
//   into partials (on any thread) and the partials combined in index order on the calling thread.
//   The pieces depend only on the shapes, so the result is the same for every thread count (and for
//   sums differs from one long fold by rounding only).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "gradcore/parallel.h"
#include "gradcore/tensor.h"

namespace gradcore::kernels {

/// Most dimensions a kernel iterates over (after coalescing far fewer are typical).
constexpr int kMaxDims = 64;
/// Loops over fewer elements run on the calling thread (Note [Parallel loops]).
constexpr int64_t kParallelMinElements = 32768;
/// Each parallel chunk covers at least this many elements.
constexpr int64_t kParallelGrainElements = 16384;
/// Elementwise rows are split at multiples of this many elements from the row's start.
constexpr int64_t kSplitBlock = 1024;
/// Reduced rows longer than this, and full reductions, are folded in pieces of this many elements.
constexpr int64_t kReduceChunk = 32768;

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

namespace detail {

/// Number of innermost rows of a plan.
template <int N>
int64_t outer_rows(const LoopPlan<N>& p) {
  int64_t outer = 1;
  for (int d = 0; d < p.ndim - 1; ++d) outer *= p.shape[d];
  return outer;
}

/// Points `ptr` at the first elements of outer row `r` (row-major over the outer dims) and sets the
/// odometer `counter` to it.
template <int N>
void seek_row(const LoopPlan<N>& p, const std::array<char*, N>& base, const std::array<int64_t, N>& elem, int64_t r,
              std::array<int64_t, kMaxDims>& counter, std::array<char*, N>& ptr) {
  ptr = base;
  for (int d = p.ndim - 2; d >= 0; --d) {
    const int64_t i = r % p.shape[d];
    r /= p.shape[d];
    counter[d] = i;
    for (int k = 0; k < N; ++k) ptr[k] += i * p.strides[k][d] * elem[k];
  }
}

/// Advances the odometer over the outer dims to the next row, adjusting each pointer by its stride.
template <int N>
void next_row(const LoopPlan<N>& p, const std::array<int64_t, N>& elem, std::array<int64_t, kMaxDims>& counter,
              std::array<char*, N>& ptr) {
  for (int d = p.ndim - 2; d >= 0; --d) {
    if (++counter[d] < p.shape[d]) {
      for (int k = 0; k < N; ++k) ptr[k] += p.strides[k][d] * elem[k];
      return;
    }
    for (int k = 0; k < N; ++k) ptr[k] -= p.strides[k][d] * elem[k] * (p.shape[d] - 1);
    counter[d] = 0;
  }
}

/// Byte range [lo, hi) touched by operand k of the plan.
template <int N>
void byte_range(const LoopPlan<N>& p, const std::array<char*, N>& base, const std::array<int64_t, N>& elem, int k,
                const char*& lo, const char*& hi) {
  int64_t neg = 0, pos = 0;
  for (int d = 0; d < p.ndim; ++d) {
    const int64_t span = (p.shape[d] - 1) * p.strides[k][d];
    (span < 0 ? neg : pos) += span;
  }
  lo = base[k] + neg * elem[k];
  hi = base[k] + (pos + 1) * elem[k];
}

/// Whether operand 0 may be written from several threads at once: no two of its elements share
/// memory (over its nonzero-stride dims; stride-0 dims are allowed only for reductions, which fold
/// them on one thread), and every input either lies outside its memory or reads exactly the
/// element being written.
template <int N>
bool split_safe(const LoopPlan<N>& p, const std::array<char*, N>& base, const std::array<int64_t, N>& elem,
                bool reduction) {
  // Non-overlapping: sorted by |stride|, each stride is beyond the span of the smaller ones.
  std::array<int, kMaxDims> order;
  int m = 0;
  for (int d = 0; d < p.ndim; ++d) {
    if (p.strides[0][d] != 0)
      order[m++] = d;
    else if (!reduction)
      return false;
  }
  auto mag = [&](int d) { return p.strides[0][d] < 0 ? -p.strides[0][d] : p.strides[0][d]; };
  std::sort(order.begin(), order.begin() + m, [&](int x, int y) { return mag(x) < mag(y); });
  int64_t span = 0;
  for (int i = 0; i < m; ++i) {
    if (mag(order[i]) <= span) return false;
    span += mag(order[i]) * (p.shape[order[i]] - 1);
  }
  const char *olo, *ohi;
  byte_range<N>(p, base, elem, 0, olo, ohi);
  for (int k = 1; k < N; ++k) {
    const char *lo, *hi;
    byte_range<N>(p, base, elem, k, lo, hi);
    if (hi <= olo || ohi <= lo) continue;
    bool same = base[k] == base[0] && elem[k] == elem[0];
    for (int d = 0; d < p.ndim && same; ++d) same = p.strides[k][d] == p.strides[0][d];
    if (!same) return false;
  }
  return true;
}

}  // namespace detail

/// Calls row(ptrs, n, inner_strides) for every innermost row of the plan. `ptrs` are byte pointers
/// to the row's first elements; `elem` holds each operand's element size. Serial.
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
  const int64_t outer = detail::outer_rows<N>(p);
  if (outer == 0 || n == 0) return;
  std::array<int64_t, kMaxDims> counter{};
  std::array<char*, N> ptr = base;
  for (int64_t r = 0; r < outer; ++r) {
    row(ptr, n, inner_stride);
    detail::next_row<N>(p, elem, counter, ptr);
  }
}

/// for_each_row for elementwise loops, where operand 0 is written and the others read: pieces of
/// rows (cut at multiples of kSplitBlock) may run on several threads (Note [Parallel loops]).
template <int N, typename Row>
void for_each_row_parallel(const LoopPlan<N>& p, std::array<char*, N> base, const std::array<int64_t, N>& elem,
                           Row&& row) {
  const int inner = p.ndim - 1;
  const int64_t n = p.shape[inner];
  const int64_t outer = detail::outer_rows<N>(p);
  if (outer * n < kParallelMinElements || !detail::split_safe<N>(p, base, elem, false)) {
    for_each_row<N>(p, base, elem, row);
    return;
  }
  std::array<int64_t, N> inner_stride;
  for (int k = 0; k < N; ++k) inner_stride[k] = p.strides[k][inner];
  const int64_t blocks = (n + kSplitBlock - 1) / kSplitBlock;  // pieces per row
  const int64_t grain = std::max<int64_t>(1, kParallelGrainElements / std::min(n, kSplitBlock));
  parallel_for(outer * blocks, grain, [&](int64_t u, int64_t end) {
    std::array<int64_t, kMaxDims> counter{};
    std::array<char*, N> ptr;
    detail::seek_row<N>(p, base, elem, u / blocks, counter, ptr);
    int64_t c = u % blocks;
    for (;;) {
      const int64_t c_end = std::min(blocks, c + (end - u));
      const int64_t b = c * kSplitBlock, e = std::min(n, c_end * kSplitBlock);
      std::array<char*, N> q;
      for (int k = 0; k < N; ++k) q[k] = ptr[k] + b * inner_stride[k] * elem[k];
      row(q, e - b, inner_stride);
      u += c_end - c;
      if (u >= end) break;
      c = 0;
      detail::next_row<N>(p, elem, counter, ptr);
    }
  });
}

namespace detail {

/// Side of the square tiles a transposing unary loop walks.
constexpr int64_t kTransposeTile = 32;

/// out[i] = f(in[i]) when the output's rows are contiguous and the input is contiguous along the
/// next dim instead (a transpose, x.t().contiguous()). Row by row, each input element would sit on
/// its own cache line; square tiles touch whole lines on both sides (3-4x faster at 1024x1024).
/// Returns false, doing nothing, when the plan has no such shape.
template <typename Out, typename In, typename F>
bool transposing_unary_loop(const LoopPlan<2>& plan, const std::array<char*, 2>& base, F& f) {
  const int c = plan.ndim - 1, r = plan.ndim - 2;
  if (plan.ndim < 2 || plan.strides[0][c] != 1 || plan.strides[1][r] != 1 || plan.strides[1][c] == 1) return false;
  const int64_t rows = plan.shape[r], cols = plan.shape[c];
  if (rows < kTransposeTile || cols < kTransposeTile) return false;
  if (!split_safe<2>(plan, base, {sizeof(Out), sizeof(In)}, false)) return false;
  const int64_t out_row = plan.strides[0][r], in_col = plan.strides[1][c];
  // The dims before the two tiled ones, as the outer rows of a plan whose innermost dim is unit.
  LoopPlan<2> slices = plan;
  slices.ndim = plan.ndim - 1;
  slices.shape[r] = 1;
  const int64_t nslices = outer_rows<2>(slices), row_blocks = (rows + kTransposeTile - 1) / kTransposeTile;
  const int64_t grain = std::max<int64_t>(1, kParallelGrainElements / (kTransposeTile * cols));
  parallel_for(nslices * row_blocks, grain, [&](int64_t u, int64_t end) {
    std::array<int64_t, kMaxDims> counter{};
    std::array<char*, 2> ptr;
    for (; u < end; ++u) {
      seek_row<2>(slices, base, {sizeof(Out), sizeof(In)}, u / row_blocks, counter, ptr);
      Out* o = reinterpret_cast<Out*>(ptr[0]);
      const In* a = reinterpret_cast<const In*>(ptr[1]);
      const int64_t i0 = (u % row_blocks) * kTransposeTile, i1 = std::min(rows, i0 + kTransposeTile);
      for (int64_t j0 = 0; j0 < cols; j0 += kTransposeTile) {
        const int64_t j1 = std::min(cols, j0 + kTransposeTile);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < j1; ++j) o[i * out_row + j] = f(a[i + j * in_col]);
      }
    }
  });
  return true;
}

}  // namespace detail

/// out[i] = f(in[i]) over a broadcast plan. The contiguous row is a separate loop so it vectorises.
template <typename Out, typename In, typename F>
void unary_loop(const Tensor& out, const Tensor& in, F f) {
  auto plan = make_plan<2>(out.shape(), {out.impl(), in.impl()});
  const std::array<char*, 2> base{static_cast<char*>(out.raw_data()), static_cast<char*>(in.raw_data())};
  if (detail::transposing_unary_loop<Out, In>(plan, base, f)) return;
  for_each_row_parallel<2>(plan, base,
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
  for_each_row_parallel<3>(
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

/// out[i] = f(c[i], a[i], b[i]) over a broadcast plan (where, lerp-like ops), with flat loops for the
/// contiguous and where(c, x, number) rows.
template <typename Out, typename C, typename A, typename B, typename F>
void ternary_loop(const Tensor& out, const Tensor& c, const Tensor& a, const Tensor& b, F f) {
  auto plan = make_plan<4>(out.shape(), {out.impl(), c.impl(), a.impl(), b.impl()});
  for_each_row_parallel<4>(plan,
                  {static_cast<char*>(out.raw_data()), static_cast<char*>(c.raw_data()),
                   static_cast<char*>(a.raw_data()), static_cast<char*>(b.raw_data())},
                  {sizeof(Out), sizeof(C), sizeof(A), sizeof(B)},
                  [&](std::array<char*, 4> p, int64_t n, std::array<int64_t, 4> s) {
                    Out* o = reinterpret_cast<Out*>(p[0]);
                    const C* x = reinterpret_cast<const C*>(p[1]);
                    const A* y = reinterpret_cast<const A*>(p[2]);
                    const B* z = reinterpret_cast<const B*>(p[3]);
                    if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i], z[i]);
                    } else if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 0) {  // where(c, x, 0)
                      const B zv = *z;
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i], zv);
                    } else {
                      for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(x[i * s[1]], y[i * s[2]], z[i * s[3]]);
                    }
                  });
}

/// Folds `in` into `acc` (shaped like `in` with reduced dims of size 1, so their stride is 0):
/// acc[j] = fold(acc[j], in[i]). A reduced innermost row is folded in registers by `row_fold`, and
/// its partial result merged with `combine(acc, partial)`; a kept contiguous innermost row is folded
/// into the output row by `row_accumulate(out, in, in_row_stride, rows, n)` if given (a vectorised
/// kernel that adds `rows` input rows in order). `combine` must be associative (up to rounding): long
/// reduced rows and full reductions are folded in pieces whose partials are combined in order (Note
/// [Parallel loops]).
template <typename Acc, typename In, typename Fold, typename Combine, typename RowFold,
          typename RowAccumulate = std::nullptr_t>
void reduce_loop(const Tensor& acc, const Tensor& in, Fold fold, Combine combine, RowFold row_fold,
                 RowAccumulate row_accumulate = nullptr) {
  auto plan = make_plan<2>(in.shape(), {acc.impl(), in.impl()});
  const std::array<char*, 2> base{static_cast<char*>(acc.raw_data()), static_cast<char*>(in.raw_data())};
  const std::array<int64_t, 2> elem{sizeof(Acc), sizeof(In)};
  auto row = [&](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
    Acc* o = reinterpret_cast<Acc*>(p[0]);
    const In* a = reinterpret_cast<const In*>(p[1]);
    if (s[0] == 0) {
      *o = combine(*o, row_fold(a, n, s[1]));
    } else if (s[0] == 1 && s[1] == 1) {
      if constexpr (!std::is_null_pointer_v<RowAccumulate>)
        row_accumulate(o, a, 0, 1, n);
      else
        for (int64_t i = 0; i < n; ++i) o[i] = fold(o[i], static_cast<Acc>(a[i]));
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * s[0]] = fold(o[i * s[0]], static_cast<Acc>(a[i * s[1]]));
    }
  };
  const int inner = plan.ndim - 1;
  const int64_t n = plan.shape[inner];
  const int64_t outer = detail::outer_rows(plan);
  if constexpr (!std::is_null_pointer_v<RowAccumulate>) {
    if (plan.ndim == 2 && plan.strides[0][0] == 0 && plan.strides[0][1] == 1 && plan.strides[1][1] == 1) {
      // A leading reduced dim over contiguous kept rows (a bias gradient: the sum over a batch): all
      // the rows at once per block of columns, the columns split between threads.
      Acc* o = reinterpret_cast<Acc*>(base[0]);
      const In* a = reinterpret_cast<const In*>(base[1]);
      constexpr int64_t kBlock = 64;
      const int64_t blocks = (n + kBlock - 1) / kBlock;
      const int64_t grain =
          outer * n < kParallelMinElements ? blocks : std::max<int64_t>(1, kParallelGrainElements / (outer * kBlock));
      parallel_for(blocks, grain, [&](int64_t b, int64_t e) {
        const int64_t j0 = b * kBlock, j1 = std::min(n, e * kBlock);
        row_accumulate(o + j0, a + j0, plan.strides[1][0], outer, j1 - j0);
      });
      return;
    }
  }
  if (outer * n < kParallelMinElements || !detail::split_safe<2>(plan, base, elem, true)) {
    for_each_row<2>(plan, base, elem, row);
    return;
  }
  bool all_reduced = true;
  for (int d = 0; d < plan.ndim; ++d) all_reduced = all_reduced && plan.strides[0][d] == 0;
  const int64_t s_in = plan.strides[1][inner];

  if (plan.strides[0][inner] == 0 && n > kReduceChunk) {
    // Long reduced rows: a partial per piece of kReduceChunk elements, combined in order per row.
    const int64_t pieces = (n + kReduceChunk - 1) / kReduceChunk;
    std::unique_ptr<Acc[]> part(new Acc[static_cast<size_t>(outer * pieces)]);
    parallel_for(outer * pieces, 1, [&](int64_t u, int64_t end) {
      std::array<int64_t, kMaxDims> counter{};
      std::array<char*, 2> ptr;
      detail::seek_row<2>(plan, base, elem, u / pieces, counter, ptr);
      for (int64_t c = u % pieces; u < end; ++u) {
        const int64_t b = c * kReduceChunk;
        part[u] = row_fold(reinterpret_cast<const In*>(ptr[1]) + b * s_in, std::min(n - b, kReduceChunk), s_in);
        if (++c == pieces && u + 1 < end) {
          c = 0;
          detail::next_row<2>(plan, elem, counter, ptr);
        }
      }
    });
    std::array<int64_t, kMaxDims> counter{};
    std::array<char*, 2> ptr = base;
    for (int64_t r = 0; r < outer; ++r) {
      Acc* o = reinterpret_cast<Acc*>(ptr[0]);
      for (int64_t c = 0; c < pieces; ++c) *o = combine(*o, part[r * pieces + c]);
      detail::next_row<2>(plan, elem, counter, ptr);
    }
    return;
  }

  if (all_reduced) {
    // A full reduction over short rows: a partial per group of rows (about kReduceChunk elements).
    const int64_t group = std::max<int64_t>(1, kReduceChunk / n);
    const int64_t groups = (outer + group - 1) / group;
    std::unique_ptr<Acc[]> part(new Acc[static_cast<size_t>(groups)]);
    parallel_for(groups, 1, [&](int64_t g0, int64_t g1) {
      std::array<int64_t, kMaxDims> counter{};
      std::array<char*, 2> ptr;
      detail::seek_row<2>(plan, base, elem, g0 * group, counter, ptr);
      for (int64_t g = g0; g < g1; ++g) {
        const int64_t rows = std::min(group, outer - g * group);
        Acc p = row_fold(reinterpret_cast<const In*>(ptr[1]), n, s_in);
        for (int64_t r = 1; r < rows; ++r) {
          detail::next_row<2>(plan, elem, counter, ptr);
          p = combine(p, row_fold(reinterpret_cast<const In*>(ptr[1]), n, s_in));
        }
        part[g] = p;
        if (g + 1 < g1) detail::next_row<2>(plan, elem, counter, ptr);
      }
    });
    Acc* o = reinterpret_cast<Acc*>(base[0]);
    for (int64_t g = 0; g < groups; ++g) *o = combine(*o, part[g]);
    return;
  }

  // Many outputs: split the largest kept dim; every output keeps its serial fold order.
  int d = -1;
  for (int k = 0; k < plan.ndim; ++k)
    if (plan.strides[0][k] != 0 && (d < 0 || plan.shape[k] > plan.shape[d])) d = k;
  const int64_t per_index = outer * n / plan.shape[d];
  parallel_for(plan.shape[d], std::max<int64_t>(1, kParallelGrainElements / per_index), [&](int64_t b, int64_t e) {
    LoopPlan<2> sub = plan;
    sub.shape[d] = e - b;
    std::array<char*, 2> sub_base = base;
    for (int k = 0; k < 2; ++k) sub_base[k] += b * plan.strides[k][d] * elem[k];
    for_each_row<2>(sub, sub_base, elem, row);
  });
}

}  // namespace gradcore::kernels
