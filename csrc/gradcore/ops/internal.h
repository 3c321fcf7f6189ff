// Helpers shared by the op families; not part of the public API.
#pragma once

#include "gradcore/autograd/node.h"
#include "gradcore/kernels/loop.h"
#include "gradcore/kernels/vec_math.h"
#include "gradcore/parallel.h"
#include "gradcore/ops.h"

namespace gradcore::internal {

/// `t` converted to `dtype` without recording autograd (a kernel-level cast).
Tensor cast(const Tensor& t, DType dtype);

/// Writes `src` (broadcast to dst's shape, converted to dst's dtype) into `dst`; no autograd.
void copy_into(const Tensor& dst, const Tensor& src);

/// Computes out = f(a, b) elementwise; all three already have dtype T (out may alias a).
template <typename F>
void binary_into(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  GC_DISPATCH_ALL(out.dtype(), [&] {
    kernels::binary_loop<scalar_t, scalar_t, scalar_t>(out, a, b, [&](scalar_t u, scalar_t v) { return static_cast<scalar_t>(f(u, v)); });
  });
}

/// Computes f(a, b) elementwise into a new tensor of dtype `out_dtype`, both operands converted
/// to `compute` first. `f` is a generic lambda.
template <typename F>
Tensor binary_kernel(const Tensor& a, const Tensor& b, DType compute, DType out_dtype, const char* op, F f) {
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), op), out_dtype);
  Tensor x = a.dtype() == compute ? a : cast(a, compute);
  Tensor y = b.dtype() == compute ? b : cast(b, compute);
  GC_DISPATCH_ALL(compute, [&] {
    if (out_dtype == DType::Bool)
      kernels::binary_loop<bool, scalar_t, scalar_t>(out, x, y, [&](scalar_t u, scalar_t v) { return static_cast<bool>(f(u, v)); });
    else
      kernels::binary_loop<scalar_t, scalar_t, scalar_t>(out, x, y, [&](scalar_t u, scalar_t v) { return static_cast<scalar_t>(f(u, v)); });
  });
  return out;
}

/// Computes f(a) elementwise for floating dtypes (integers are promoted to float32 first).
template <typename F>
Tensor unary_float_kernel(const Tensor& a, const char* op, F f) {
  Tensor x = is_floating(a.dtype()) ? a : cast(a, DType::Float32);
  Tensor out = empty(x.shape(), x.dtype());
  GC_DISPATCH_FLOATING(x.dtype(), op, [&] {
    kernels::unary_loop<scalar_t, scalar_t>(out, x, [&](scalar_t u) { return static_cast<scalar_t>(f(u)); });
  });
  return out;
}

/// A vectorised kernel on contiguous arrays (kernels/vec_math.h), for each floating dtype.
struct VecUnary {
  void (*f32)(const float*, float*, int64_t);
  void (*f64)(const double*, double*, int64_t);
};

/// unary_float_kernel with a contiguous fast path: a contiguous float32/float64 input (after the
/// integer promotion) runs `vec` on the raw arrays, in chunks over the thread pool; any other
/// layout takes the generic strided loop with `f`.
template <typename F>
Tensor unary_float_kernel_vec(const Tensor& a, const char* op, VecUnary vec, F f) {
  Tensor x = is_floating(a.dtype()) ? a : cast(a, DType::Float32);
  if (!x.is_contiguous()) return unary_float_kernel(x, op, f);
  Tensor out = empty(x.shape(), x.dtype());
  const int64_t n = x.numel();
  constexpr int64_t kGrain = 1 << 15;
  if (x.dtype() == DType::Float32) {
    const float* in = x.data<float>();
    float* o = out.data<float>();
    parallel_for(n, kGrain, [&](int64_t b, int64_t e) { vec.f32(in + b, o + b, e - b); });
  } else {
    const double* in = x.data<double>();
    double* o = out.data<double>();
    parallel_for(n, kGrain, [&](int64_t b, int64_t e) { vec.f64(in + b, o + b, e - b); });
  }
  return out;
}

/// Records out = a * b for an op linear in each input whose gradients are the incoming gradient times
/// the other input (elementwise mul, dot); `node_name` is PyTorch's name for the node.
void record_product(const Tensor& out, const Tensor& a, const Tensor& b, const char* node_name);

/// Rejects in-place ops that would corrupt autograd: on a leaf that requires grad (with grad mode
/// on) and on a differentiable view.
void check_inplace(const Tensor& self, const char* op);

/// Makes `node` (output `output_nr`) the new history of `self` after an in-place op, carrying over
/// a retain_grad() request to the new node.
void rebase_history(const Tensor& self, const std::shared_ptr<Node>& node, uint32_t output_nr);

/// A copy of self's current data that keeps self's place in the graph (grad_fn, output_nr,
/// requires_grad): the "before" value an in-place op's backward may need after self is overwritten.
Tensor snapshot_for_inplace(const Tensor& self);

/// Runs an in-place op: without autograd, `kernel()` writes into self; with it,
/// `functional(before)` computes the result out of place from a snapshot of self (recording the
/// graph, and saving the snapshot rather than the soon-overwritten self), and the result then
/// becomes self's data and history. Bumps self's version either way.
template <typename Kernel, typename Functional>
Tensor& inplace(Tensor& self, const TensorList& others, const char* op, Kernel kernel, Functional functional) {
  check_inplace(self, op);
  TensorList all = others;
  all.push_back(self);
  if (any_requires_grad(all)) {
    Tensor result = functional(snapshot_for_inplace(self));
    GC_CHECK(broadcast_shapes(self.shape(), result.shape(), op) == self.shape(), "[", op, "] output with shape ",
             shape_str(self.shape()), " doesn't match the broadcast shape ", shape_str(result.shape()));
    copy_into(self, result);
    rebase_history(self, result.grad_fn(), result.output_nr());
  } else {
    kernel();
  }
  self.bump_version();
  return self;
}

/// Completes a view op: `outputs` (made by make_view from `a`) remember a's base and, when `node`
/// is set (a recorded op), get it as grad_fn and become differentiable views.
void finish_view(const TensorList& outputs, const Tensor& a, const std::shared_ptr<Node>& node);
inline void finish_view(const Tensor& out, const Tensor& a, const std::shared_ptr<Node>& node) {
  finish_view(TensorList{out}, a, node);
}

/// After an in-place op recorded as (node, output_nr) on a view: the base gets a CopySlices node that
/// routes the gradient of the written region to `node` and the rest to the base's old history.
void rebase_view_history(const Tensor& view, const std::shared_ptr<Node>& node, uint32_t output_nr);
/// Brings a view's grad_fn up to date after its base changed in place (an as_strided of the base).
void refresh_view_history(const Tensor& view);

/// Sizes, strides and storage offset of a tensor.
struct Geometry {
  Shape sizes, strides;
  int64_t offset = 0;
};
Geometry geometry_of(const Tensor& t);

/// The gradient of as_strided: `grad` (laid out as `output`) added into zeros laid out as `input`,
/// overlapping elements summed. Differentiable (its gradient is strided_gather).
Tensor strided_scatter(const Tensor& grad, const Geometry& input, const Geometry& output);
/// The `output` region of `grad` (laid out as `input`), as a contiguous tensor. Differentiable.
Tensor strided_gather(const Tensor& grad, const Geometry& input, const Geometry& output);

/// The gradient of slice(): `grad` placed in the sliced region of zeros shaped `self_shape`.
Tensor slice_backward(const Tensor& grad, const Shape& self_shape, int64_t dim, int64_t start, int64_t end,
                      int64_t step);

/// Checks that the in-place result dtype `result` can be stored in self (float into int is refused).
void check_inplace_cast(DType result, const Tensor& self, const char* op);

}  // namespace gradcore::internal
