// Advanced indexing (integer and boolean index tensors): index, index_put_, nonzero.
//
// Every advanced-index op reduces to one loop: the index tensors broadcast to a shape B, and for
// each position b of B the "rest" of the tensor (the dims that are not indexed) is copied as a
// block from offset(b). The block copy reuses a single precomputed LoopPlan.
#include <algorithm>

#include "gradcore/ops/internal.h"

namespace gradcore {

namespace {

// Where each index tensor applies, after boolean masks were expanded to integer indices.
struct IndexPlan {
  std::vector<int64_t> dims;      // indexed dims of self, ascending
  TensorList indices;             // int64, broadcast to `shape`
  Shape shape;                    // B: the broadcast index shape
  bool adjacent = true;           // indexed dims are consecutive: B replaces them in place
  Shape rest_sizes, rest_strides; // the non-indexed dims of self, in order
  std::vector<int64_t> rest_dims;
  Shape out_shape;                // shape of self[indices]
  int64_t b_pos = 0;              // where B's dims sit in out_shape
};

void check_index_dtype(const Tensor& t) {
  GC_CHECK_T(IndexError, t.dtype() == DType::Int64 || t.dtype() == DType::Bool,
             "tensors used as indices must be long, int, byte or bool tensors");
}

// Replaces each boolean mask by the integer indices of its true elements (one per dim it covers).
std::vector<std::optional<Tensor>> expand_masks(const Tensor& self, const std::vector<std::optional<Tensor>>& indices) {
  std::vector<std::optional<Tensor>> out;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (!indices[i] || indices[i]->dtype() != DType::Bool) {
      if (indices[i]) check_index_dtype(*indices[i]);
      out.push_back(indices[i]);
      continue;
    }
    const Tensor& mask = *indices[i];
    const size_t first = out.size();
    GC_CHECK_T(IndexError, first + mask.dim() <= static_cast<size_t>(self.dim()), "too many indices for tensor of dimension ",
               self.dim());
    for (int64_t k = 0; k < mask.dim(); ++k)
      GC_CHECK_T(IndexError, mask.shape()[k] == self.shape()[first + k], "The shape of the mask ",
                 shape_list_str(mask.shape()), " at index ", k, " does not match the shape of the indexed tensor ",
                 shape_list_str(self.shape()), " at index ", first + k);
    GC_CHECK_T(IndexError, mask.dim() > 0, "[index] a 0-dim boolean index is only supported in indexing expressions (x[True])");
    Tensor nz = nonzero(mask);
    for (int64_t k = 0; k < mask.dim(); ++k) out.push_back(select(nz, 1, k));
  }
  return out;
}

IndexPlan plan_index(const Tensor& self, const std::vector<std::optional<Tensor>>& raw) {
  std::vector<std::optional<Tensor>> indices = expand_masks(self, raw);
  GC_CHECK_T(IndexError, indices.size() <= static_cast<size_t>(self.dim()), "too many indices for tensor of dimension ",
             self.dim());
  IndexPlan p;
  TensorList given;
  for (size_t d = 0; d < indices.size(); ++d) {
    if (!indices[d]) continue;
    p.dims.push_back(static_cast<int64_t>(d));
    given.push_back(*indices[d]);
  }
  GC_CHECK(!given.empty(), "[index] expected at least one index tensor");
  p.shape = given[0].shape();
  for (size_t i = 1; i < given.size(); ++i) {
    try {
      p.shape = broadcast_shapes(p.shape, given[i].shape(), "index");
    } catch (const Error&) {
      std::string shapes;
      for (size_t k = 0; k < given.size(); ++k) shapes += (k ? ", " : "") + shape_list_str(given[k].shape());
      throw IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes " + shapes);
    }
  }
  for (const Tensor& t : given) p.indices.push_back(expand(t, p.shape));
  for (size_t i = 1; i < p.dims.size(); ++i) p.adjacent = p.adjacent && p.dims[i] == p.dims[i - 1] + 1;

  for (int64_t d = 0; d < self.dim(); ++d) {
    if (std::find(p.dims.begin(), p.dims.end(), d) != p.dims.end()) continue;
    p.rest_dims.push_back(d);
    p.rest_sizes.push_back(self.shape()[d]);
    p.rest_strides.push_back(self.strides()[d]);
  }
  // Adjacent indexed dims are replaced by B where they stand; otherwise B goes first (NumPy's rule).
  p.b_pos = p.adjacent ? p.dims.front() : 0;
  const int64_t before = p.adjacent ? p.dims.front() : 0;
  p.out_shape.assign(p.rest_sizes.begin(), p.rest_sizes.begin() + before);
  p.out_shape.insert(p.out_shape.end(), p.shape.begin(), p.shape.end());
  p.out_shape.insert(p.out_shape.end(), p.rest_sizes.begin() + before, p.rest_sizes.end());
  return p;
}

// Storage offsets (in self) of each position of B, after bounds checks; negative indices wrap.
std::vector<int64_t> source_offsets(const Tensor& self, const IndexPlan& p) {
  const int64_t n = shape_numel(p.shape);
  std::vector<int64_t> off(static_cast<size_t>(n), self.storage_offset());
  for (size_t k = 0; k < p.dims.size(); ++k) {
    const int64_t d = p.dims[k], size = self.shape()[d], stride = self.strides()[d];
    Tensor idx = contiguous(p.indices[k].dtype() == DType::Int64 ? p.indices[k] : internal::cast(p.indices[k], DType::Int64));
    const int64_t* v = idx.data<int64_t>();
    for (int64_t b = 0; b < n; ++b) {
      int64_t i = v[b];
      GC_CHECK_T(IndexError, i >= -size && i < size, "index ", i, " is out of bounds for dimension ", d, " with size ", size);
      off[b] += (i < 0 ? i + size : i) * stride;
    }
  }
  return off;
}

// Offsets of each position of B in a tensor whose dims b_pos.. b_pos+|B| are B (row-major over B).
std::vector<int64_t> block_offsets(const Tensor& t, const IndexPlan& p) {
  const int64_t n = shape_numel(p.shape), nb = static_cast<int64_t>(p.shape.size());
  std::vector<int64_t> off(static_cast<size_t>(n));
  std::vector<int64_t> counter(nb, 0);
  int64_t cur = t.storage_offset();
  for (int64_t b = 0; b < n; ++b) {
    off[b] = cur;
    for (int64_t d = nb - 1; d >= 0; --d) {
      const int64_t stride = t.strides()[p.b_pos + d];
      if (++counter[d] < p.shape[d]) {
        cur += stride;
        break;
      }
      cur -= stride * (p.shape[d] - 1);
      counter[d] = 0;
    }
  }
  return off;
}

// The strides of `t`'s non-B dims (t is laid out as out_shape).
Shape rest_strides_of(const Tensor& t, const IndexPlan& p) {
  Shape s;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (d < p.b_pos || d >= p.b_pos + static_cast<int64_t>(p.shape.size())) s.push_back(t.strides()[d]);
  return s;
}

// For each b: dst block at dst_off[b] (geometry dst_rest) = f(dst, src block at src_off[b]). With
// `distinct_dst` (every block written once: a gather) large copies are split over the thread pool;
// writes that may repeat a destination stay serial, where the order decides the result.
template <typename F>
void copy_blocks(const Tensor& dst, const Shape& dst_rest, const std::vector<int64_t>& dst_off, const Tensor& src,
                 const Shape& src_rest, const std::vector<int64_t>& src_off, const Shape& rest_sizes, F f,
                 bool distinct_dst = false) {
  const int64_t block = shape_numel(rest_sizes);
  if (block == 0) return;
  Tensor d = make_view(dst, rest_sizes, dst_rest, 0), s = make_view(src, rest_sizes, src_rest, 0);
  auto plan = kernels::make_plan<2>(rest_sizes, {d.impl(), s.impl()});
  GC_DISPATCH_ALL(dst.dtype(), [&] {
    using T = scalar_t;
    char* dbase = static_cast<char*>(dst.storage()->data());
    char* sbase = static_cast<char*>(src.storage()->data());
    auto run = [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        kernels::for_each_row<2>(plan, {dbase + dst_off[b] * sizeof(T), sbase + src_off[b] * sizeof(T)},
                                 {sizeof(T), sizeof(T)}, [&](std::array<char*, 2> ptr, int64_t n, std::array<int64_t, 2> st) {
                                   T* o = reinterpret_cast<T*>(ptr[0]);
                                   const T* x = reinterpret_cast<const T*>(ptr[1]);
                                   if (st[0] == 1 && st[1] == 1) {  // whole rows: a flat loop that vectorises
                                     for (int64_t i = 0; i < n; ++i) o[i] = f(o[i], x[i]);
                                   } else {
                                     for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(o[i * st[0]], x[i * st[1]]);
                                   }
                                 });
      }
    };
    const int64_t blocks = static_cast<int64_t>(dst_off.size());
    if (distinct_dst && blocks * block >= kernels::kParallelMinElements)
      parallel_for(blocks, std::max<int64_t>(1, kernels::kParallelGrainElements / block), run);
    else
      run(0, blocks);
  });
}

Tensor index_kernel(const Tensor& self, const IndexPlan& p) {
  Tensor out = empty(p.out_shape, self.dtype());
  copy_blocks(out, rest_strides_of(out, p), block_offsets(out, p), self, p.rest_strides, source_offsets(self, p),
              p.rest_sizes, [](auto, auto v) { return v; }, /*distinct_dst=*/true);
  return out;
}

// Writes (or adds) `values`, broadcast to self[indices]'s shape, into self at the indexed positions.
void index_put_kernel(const Tensor& self, const IndexPlan& p, const Tensor& values, bool accumulate) {
  Tensor v = expand(values, p.out_shape);
  std::vector<int64_t> dst = source_offsets(self, p);
  if (accumulate)
    copy_blocks(self, p.rest_strides, dst, v, rest_strides_of(v, p), block_offsets(v, p), p.rest_sizes,
                [](auto o, auto x) { return static_cast<decltype(o)>(o + x); });
  else
    copy_blocks(self, p.rest_strides, dst, v, rest_strides_of(v, p), block_offsets(v, p), p.rest_sizes,
                [](auto, auto x) { return x; });
}

// The indices as saved for backward: masks already expanded, broadcast, one slot per dim.
std::vector<std::optional<Tensor>> saved_indices(const Tensor& self, const IndexPlan& p) {
  std::vector<std::optional<Tensor>> saved(self.dim());
  for (size_t k = 0; k < p.dims.size(); ++k) saved[p.dims[k]] = p.indices[k];
  return saved;
}

}  // namespace

// ---- nonzero -------------------------------------------------------------------------------------
Tensor nonzero(const Tensor& a) {
  Tensor c = contiguous(a);
  const int64_t n = a.numel(), nd = a.dim();
  std::vector<int64_t> hits;
  GC_DISPATCH_ALL(a.dtype(), [&] {
    const scalar_t* p = c.data<scalar_t>();
    for (int64_t i = 0; i < n; ++i)
      if (p[i] != scalar_t(0)) hits.push_back(i);
  });
  Tensor out = empty({static_cast<int64_t>(hits.size()), nd}, DType::Int64);
  int64_t* o = out.data<int64_t>();
  for (size_t h = 0; h < hits.size(); ++h) {
    int64_t rem = hits[h];
    for (int64_t d = nd - 1; d >= 0; --d) {
      o[h * nd + d] = rem % a.shape()[d];
      rem /= a.shape()[d];
    }
  }
  return out;
}

// ---- index (self[indices]) -----------------------------------------------------------------------
namespace {
struct IndexBackward0 : Node {
  Shape self_shape;
  std::vector<std::optional<Tensor>> indices;
  IndexBackward0(Shape s, std::vector<std::optional<Tensor>> i) : self_shape(std::move(s)), indices(std::move(i)) {}
  std::string name() const override { return "IndexBackward0"; }
  TensorList apply(TensorList&& g) override {
    return {index_put(zeros(self_shape, g[0].dtype()), indices, g[0], true)};
  }
};
}  // namespace

Tensor index(const Tensor& self, const std::vector<std::optional<Tensor>>& indices) {
  IndexPlan p = plan_index(self, indices);
  Tensor out = index_kernel(self, p);
  // Masks are saved as the integer indices they expanded to, so backward needs no nonzero().
  if (auto node = make_node<IndexBackward0>({self}, self.shape(), saved_indices(self, p))) set_history({out}, node);
  return out;
}

// ---- index_put / index_put_ ----------------------------------------------------------------------
namespace {
// Without accumulate the written positions lose self's gradient; values get the gradient there.
struct IndexPutBackward0 : Node {
  std::vector<std::optional<Tensor>> indices;
  bool accumulate;
  IndexPutBackward0(std::vector<std::optional<Tensor>> i, bool a) : indices(std::move(i)), accumulate(a) {}
  std::string name() const override { return "IndexPutBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) r[0] = accumulate ? g[0] : index_put(g[0], indices, zeros({}, g[0].dtype()), false);
    if (needs_grad(1)) r[1] = index(g[0], indices);
    return r;
  }
};

void check_values(const Tensor& self, const IndexPlan& p, const Tensor& values) {
  bool fits = values.dim() <= static_cast<int64_t>(p.out_shape.size());
  for (int64_t i = 1; fits && i <= values.dim(); ++i) {
    int64_t v = values.shape()[values.dim() - i], o = p.out_shape[p.out_shape.size() - i];
    fits = v == o || v == 1;
  }
  GC_CHECK(fits, "[index_put_] shape mismatch: value tensor of shape ", shape_list_str(values.shape()),
           " cannot be broadcast to indexing result of shape ", shape_list_str(p.out_shape));
  GC_CHECK(values.dtype() == self.dtype(), "[index_put_] Index put requires the source and destination dtypes match, got ",
           dtype_name(self.dtype()), " for the destination and ", dtype_name(values.dtype()), " for the source.");
}
}  // namespace

Tensor index_put(const Tensor& self, const std::vector<std::optional<Tensor>>& indices, const Tensor& values,
                 bool accumulate) {
  IndexPlan p = plan_index(self, indices);
  check_values(self, p, values);
  Tensor out = empty(self.shape(), self.dtype());
  internal::copy_into(out, self);
  index_put_kernel(out, p, values, accumulate);
  if (auto node = make_node<IndexPutBackward0>({self, values}, saved_indices(self, p), accumulate)) set_history({out}, node);
  return out;
}

Tensor& index_put_(Tensor& self, const std::vector<std::optional<Tensor>>& indices, const Tensor& values,
                   bool accumulate) {
  IndexPlan p = plan_index(self, indices);
  check_values(self, p, values);
  return internal::inplace(
      self, {values}, "index_put_", [&] { index_put_kernel(self, p, values, accumulate); },
      [&](const Tensor& before) { return index_put(before, saved_indices(self, p), values, accumulate); });
}

}  // namespace gradcore
