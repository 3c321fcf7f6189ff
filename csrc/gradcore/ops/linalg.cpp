// Linear algebra: mm, bmm, mv, dot, outer, addmm, matmul (PyTorch's dispatch over operand ranks)
// and linear. Forward kernels are kernels::gemm on the operands' own strides (transposed views are
// never copied); backward formulas use these same ops, so double backward works.
#include "gradcore/kernels/gemm.h"
#include "gradcore/ops/internal.h"

namespace gradcore {

namespace {

/// The transpose of the last two dims (PyTorch's .mT; .t() for matrices).
Tensor mT(const Tensor& a) { return transpose(a, -2, -1); }

// A reshaping of an op's own fresh (contiguous) result: PyTorch's _unsafe_view after matmul's bmm
// or mm, and squeeze_ after 1-D @ 2-D. The gradient is reshaped back.
struct ReshapeResultBackward : Node {
  Shape self_shape;
  const char* node_name;
  ReshapeResultBackward(Shape s, const char* n) : self_shape(std::move(s)), node_name(n) {}
  std::string name() const override { return node_name; }
  TensorList apply(TensorList&& g) override { return {reshape(g[0], self_shape)}; }
};

Tensor reshape_result(const Tensor& fresh, const Shape& shape, const char* node_name) {
  Tensor out = make_view(fresh, shape, contiguous_strides(shape), fresh.storage_offset());
  if (auto node = make_node<ReshapeResultBackward>({fresh}, fresh.shape(), node_name)) set_history({out}, node);
  return out;
}

// ---- Checks and the kernel call ---------------------------------------------------------------------
void check_supported(DType t, const char* op) {
  GC_CHECK(t != DType::Bool, "[", op, "] \"addmm_impl_cpu_\" not implemented for 'Bool'");
}

std::string mat_str(const Tensor& t) { return detail::cat(t.shape()[0], "x", t.shape()[1]); }

/// out (M x N, any strides) = alpha * a·b + beta * out, for 2-D a (M x K) and b (K x N).
void gemm_into(const Tensor& out, const Tensor& a, const Tensor& b, double beta = 0, double alpha = 1) {
  const int64_t M = a.shape()[0], K = a.shape()[1], N = b.shape()[1];
  GC_DISPATCH_ALL(out.dtype(), [&] {
    if constexpr (!std::is_same_v<scalar_t, bool>) {
      kernels::gemm<scalar_t>(M, N, K, static_cast<scalar_t>(alpha), a.data<scalar_t>(), a.strides()[0],
                              a.strides()[1], b.data<scalar_t>(), b.strides()[0], b.strides()[1],
                              static_cast<scalar_t>(beta), out.data<scalar_t>(), out.strides()[0], out.strides()[1]);
    }
  });
}

}  // namespace

// ---- mm -----------------------------------------------------------------------------------------------
namespace {
struct MmBackward0 : Node {
  SavedTensor self, mat2;
  std::string name() const override { return "MmBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) r[0] = mm(g[0], mT(mat2.unpack(this)));
    if (needs_grad(1)) r[1] = mm(mT(self.unpack(this)), g[0]);
    return r;
  }
  void release_saved() override {
    self.release();
    mat2.release();
  }
};

Tensor mm_impl(const Tensor& a, const Tensor& b, const char* op) {
  GC_CHECK(a.dim() == 2, "[", op, "] self must be a matrix");
  GC_CHECK(b.dim() == 2, "[", op, "] mat2 must be a matrix");
  GC_CHECK(a.dtype() == b.dtype(), "[", op, "] expected m1 and m2 to have the same dtype, but got: ",
           cpp_type_name(a.dtype()), " != ", cpp_type_name(b.dtype()));
  check_supported(a.dtype(), op);
  GC_CHECK(a.shape()[1] == b.shape()[0], "[", op, "] mat1 and mat2 shapes cannot be multiplied (", mat_str(a), " and ",
           mat_str(b), ")");
  Tensor out = empty({a.shape()[0], b.shape()[1]}, a.dtype());
  gemm_into(out, a, b);
  if (auto node = make_node<MmBackward0>({a, b})) {
    if (node->needs_grad(1)) node->save("self", node->self, a, false);
    if (node->needs_grad(0)) node->save("mat2", node->mat2, b, false);
    set_history({out}, node);
  }
  return out;
}
}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) { return mm_impl(a, b, "mm"); }

// ---- bmm ----------------------------------------------------------------------------------------------
namespace {
struct BmmBackward0 : Node {
  SavedTensor self, mat2;
  std::string name() const override { return "BmmBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) r[0] = bmm(g[0], mT(mat2.unpack(this)));
    if (needs_grad(1)) r[1] = bmm(mT(self.unpack(this)), g[0]);
    return r;
  }
  void release_saved() override {
    self.release();
    mat2.release();
  }
};

Tensor bmm_impl(const Tensor& a, const Tensor& b, const char* op) {
  GC_CHECK(a.dim() == 3, "[", op, "] batch1 must be a 3D tensor");
  GC_CHECK(b.dim() == 3, "[", op, "] batch2 must be a 3D tensor");
  const int64_t B = a.shape()[0], M = a.shape()[1], K = a.shape()[2], N = b.shape()[2];
  GC_CHECK(b.shape()[0] == B && b.shape()[1] == K, "[", op,
           "] Expected size for first two dimensions of batch2 tensor to be: [", B, ", ", K, "] but got: [",
           b.shape()[0], ", ", b.shape()[1], "].");
  GC_CHECK(a.dtype() == b.dtype(), "[", op, "] expected scalar type ", scalar_type_name(a.dtype()), " but found ",
           scalar_type_name(b.dtype()));
  check_supported(a.dtype(), op);
  Tensor out = empty({B, M, N}, a.dtype());
  GC_DISPATCH_ALL(out.dtype(), [&] {
    if constexpr (!std::is_same_v<scalar_t, bool>) {
      kernels::gemm_batched<scalar_t>(B, M, N, K, scalar_t(1), a.data<scalar_t>(), a.strides()[0], a.strides()[1],
                                      a.strides()[2], b.data<scalar_t>(), b.strides()[0], b.strides()[1],
                                      b.strides()[2], scalar_t(0), out.data<scalar_t>(), M * N, N, 1);
    }
  });
  if (auto node = make_node<BmmBackward0>({a, b})) {
    if (node->needs_grad(1)) node->save("self", node->self, a, false);
    if (node->needs_grad(0)) node->save("mat2", node->mat2, b, false);
    set_history({out}, node);
  }
  return out;
}
}  // namespace

Tensor bmm(const Tensor& a, const Tensor& b) { return bmm_impl(a, b, "bmm"); }

// ---- mv -----------------------------------------------------------------------------------------------
namespace {
struct MvBackward0 : Node {
  SavedTensor self, vec;
  std::string name() const override { return "MvBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) r[0] = outer(g[0], vec.unpack(this));
    if (needs_grad(1)) r[1] = mv(mT(self.unpack(this)), g[0]);
    return r;
  }
  void release_saved() override {
    self.release();
    vec.release();
  }
};

Tensor mv_impl(const Tensor& a, const Tensor& v, const char* op) {
  GC_CHECK(a.dim() == 2 && v.dim() == 1, "[", op, "] vector + matrix @ vector expected, got 1, ", a.dim(), ", ",
           v.dim());
  GC_CHECK(a.shape()[1] == v.shape()[0], "[", op, "] size mismatch, got input (", a.shape()[0], "), mat (", mat_str(a),
           "), vec (", v.shape()[0], ")");
  GC_CHECK(a.dtype() == v.dtype(), "[", op, "] addmv input tensors must have the same dtype, but got ",
           scalar_type_name(a.dtype()), " and ", scalar_type_name(v.dtype()));
  check_supported(a.dtype(), op);
  const int64_t M = a.shape()[0];
  Tensor out = empty({M}, a.dtype());
  // The vector as a K x 1 matrix and the result as an M x 1 one.
  gemm_into(make_view(out, {M, 1}, {1, 1}, 0), a, make_view(v, {v.shape()[0], 1}, {v.strides()[0], 1}, v.storage_offset()));
  if (auto node = make_node<MvBackward0>({a, v})) {
    if (node->needs_grad(1)) node->save("self", node->self, a, false);
    if (node->needs_grad(0)) node->save("vec", node->vec, v, false);
    set_history({out}, node);
  }
  return out;
}
}  // namespace

Tensor mv(const Tensor& a, const Tensor& v) { return mv_impl(a, v, "mv"); }

// ---- dot ----------------------------------------------------------------------------------------------
namespace {
Tensor dot_impl(const Tensor& a, const Tensor& b, const char* op) {
  GC_CHECK(a.dim() == 1 && b.dim() == 1, "[", op, "] 1D tensors expected, but got ", a.dim(), "D and ", b.dim(),
           "D tensors");
  GC_CHECK(a.shape()[0] == b.shape()[0], "[", op, "] inconsistent tensor size, expected tensor [", a.shape()[0],
           "] and src [", b.shape()[0], "] to have the same number of elements, but got ", a.shape()[0], " and ",
           b.shape()[0], " elements respectively");
  GC_CHECK(a.dtype() == b.dtype(), "[", op, "] dot : expected both vectors to have same dtype, but found ",
           scalar_type_name(a.dtype()), " and ", scalar_type_name(b.dtype()));
  check_supported(a.dtype(), op);
  Tensor out = empty({}, a.dtype());
  GC_DISPATCH_ALL(a.dtype(), [&] {
    if constexpr (!std::is_same_v<scalar_t, bool>) {
      *out.data<scalar_t>() = kernels::dot<scalar_t>(a.shape()[0], a.data<scalar_t>(), a.strides()[0],
                                                     b.data<scalar_t>(), b.strides()[0]);
    }
  });
  internal::record_product(out, a, b, "DotBackward0");
  return out;
}
}  // namespace

Tensor dot(const Tensor& a, const Tensor& b) { return dot_impl(a, b, "dot"); }

// ---- outer: a column times a row (a broadcast mul, as in PyTorch, so its node is MulBackward0) ----------
Tensor outer(const Tensor& a, const Tensor& b) {
  GC_CHECK(a.dim() == 1, "[outer] outer: Expected 1-D argument self, but got ", a.dim(), "-D");
  GC_CHECK(b.dim() == 1, "[outer] outer: Expected 1-D argument vec2, but got ", b.dim(), "-D");
  return mul(reshape(a, {a.shape()[0], 1}), b);
}

// ---- addmm --------------------------------------------------------------------------------------------
namespace {
struct AddmmBackward0 : Node {
  SavedTensor mat1, mat2;
  double beta, alpha;
  AddmmBackward0(double b, double a) : beta(b), alpha(a) {}
  std::string name() const override { return "AddmmBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(3);
    if (needs_grad(0)) r[0] = beta == 1 ? g[0] : mul(g[0], beta);  // the engine sums it to self's shape
    if (needs_grad(1)) {
      Tensor d = mm(g[0], mT(mat2.unpack(this)));
      r[1] = alpha == 1 ? d : mul(d, alpha);
    }
    if (needs_grad(2)) {
      Tensor d = mm(mT(mat1.unpack(this)), g[0]);
      r[2] = alpha == 1 ? d : mul(d, alpha);
    }
    return r;
  }
  void release_saved() override {
    mat1.release();
    mat2.release();
  }
};
}  // namespace

Tensor addmm(const Tensor& self, const Tensor& a, const Tensor& b, Scalar beta, Scalar alpha) {
  GC_CHECK(a.dim() == 2, "[addmm] mat1 must be a matrix, got ", a.dim(), "-D tensor");
  GC_CHECK(b.dim() == 2, "[addmm] mat2 must be a matrix, got ", b.dim(), "-D tensor");
  GC_CHECK(self.dtype() == b.dtype() && a.dtype() == b.dtype(), "[addmm] self and mat2 must have the same dtype, but got ",
           scalar_type_name(self.dtype() != b.dtype() ? self.dtype() : a.dtype()), " and ", scalar_type_name(b.dtype()));
  check_supported(a.dtype(), "addmm");
  GC_CHECK(a.shape()[1] == b.shape()[0], "[addmm] mat1 and mat2 shapes cannot be multiplied (", mat_str(a), " and ",
           mat_str(b), ")");
  Shape shape{a.shape()[0], b.shape()[1]};
  Tensor out = empty(shape, a.dtype());
  if (beta.value != 0) internal::copy_into(out, expand(self.detach(), shape));
  gemm_into(out, a, b, beta.value, alpha.value);
  if (auto node = make_node<AddmmBackward0>({self, a, b}, beta.value, alpha.value)) {
    if (node->needs_grad(2)) node->save("mat1", node->mat1, a, false);
    if (node->needs_grad(1)) node->save("mat2", node->mat2, b, false);
    set_history({out}, node);
  }
  return out;
}

// ---- matmul -------------------------------------------------------------------------------------------
namespace {
// PyTorch's should_fold: whether the larger operand (>= 3-D, against a 1-D or 2-D one) can be
// folded into a matrix so one mm/mv does the whole product.
bool should_fold(const Tensor& a, const Tensor& b) {
  const bool a_larger = a.dim() >= b.dim();
  Tensor t1 = a_larger ? a : mT(b.detach());
  const int64_t dim_t2 = a_larger ? b.dim() : a.dim();
  if (!(t1.dim() >= 3 && dim_t2 <= 2)) return false;
  if ((a_larger ? a : b).requires_grad()) return true;
  if (a.dim() == 2) return false;
  if (t1.numel() == 0) return true;
  for (int64_t i = 0; i + 2 < t1.dim(); ++i)
    if (t1.strides()[i] != t1.strides()[i + 1] * t1.shape()[i + 1]) return false;
  return true;
}
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  const int64_t da = a.dim(), db = b.dim();
  GC_CHECK(da > 0 && db > 0, "[matmul] both arguments to matmul need to be at least 1D, but they are ", da, "D and ",
           db, "D");
  if (da == 1 && db == 1) return dot_impl(a, b, "matmul");
  if (da == 2 && db == 1) return mv_impl(a, b, "matmul");
  if (da == 1 && db == 2) {
    Tensor r = mm_impl(reshape(a, {1, a.shape()[0]}), b, "matmul");
    return reshape_result(r, {r.shape()[1]}, "SqueezeBackward4");
  }
  if (da == 2 && db == 2) return mm_impl(a, b, "matmul");
  if (should_fold(a, b)) {
    // Fold the batch of the larger operand into its rows and run one mm / mv.
    const bool transpose = db > da;
    Tensor t1 = transpose ? mT(b) : a;
    Tensor t2 = !transpose ? b : (da == 2 ? mT(a) : a);
    Shape out_shape(t1.shape().begin(), t1.shape().end() - 1);
    const int64_t folded = shape_numel(out_shape);
    const bool matrix = t2.dim() == 2;
    if (matrix) out_shape.push_back(t2.shape()[1]);
    Tensor t1f = reshape(t1, {folded, t1.shape().back()});
    if (!matrix) return reshape_result(mv_impl(t1f, t2, "matmul"), out_shape, "UnsafeViewBackward0");
    Tensor out = reshape_result(mm_impl(t1f, t2, "matmul"), out_shape, "UnsafeViewBackward0");
    return transpose ? contiguous(mT(out)) : out;
  }
  // Batched: broadcast the batch dims, flatten them, one bmm.
  const int64_t n = da > 1 ? a.shape()[da - 2] : 1, m1 = a.shape().back();
  const int64_t m2 = db > 1 ? b.shape()[db - 2] : b.shape()[0], p = db > 1 ? b.shape().back() : 1;
  Shape batch_a(a.shape().begin(), a.shape().begin() + std::max<int64_t>(da - 2, 0));
  Shape batch_b(b.shape().begin(), b.shape().begin() + std::max<int64_t>(db - 2, 0));
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  const int64_t nb = shape_numel(batch);
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {n, m1});
  eb.insert(eb.end(), {m2, p});
  Tensor a3 = reshape(expand(da == 1 ? reshape(a, {1, m1}) : a, ea), {nb, n, m1});
  Tensor b3 = reshape(expand(db == 1 ? reshape(b, {m2, 1}) : b, eb), {nb, m2, p});
  Shape out_shape = batch;
  if (da > 1) out_shape.push_back(n);
  if (db > 1) out_shape.push_back(p);
  return reshape_result(bmm_impl(a3, b3, "matmul"), out_shape, "UnsafeViewBackward0");
}

// ---- linear -------------------------------------------------------------------------------------------
// The weight is transposed with t() (TBackward0), as PyTorch's linear does.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  GC_CHECK(input.dim() > 0 && weight.dim() > 0, "[linear] both arguments to linear need to be at least 1D, but they are ",
           input.dim(), "D and ", weight.dim(), "D");
  GC_CHECK(weight.dim() <= 2, "[linear] weight must be 1-D or 2-D, got ", weight.dim(), "-D");
  if (bias.defined() && weight.dim() == 2) {
    if (input.dim() == 2) return addmm(bias, input, t(weight));
    if (input.is_contiguous() && bias.is_contiguous()) {
      // Flatten the leading dims into rows, one addmm, then view back (PyTorch's _flatten_nd_linear).
      Shape out_shape(input.shape().begin(), input.shape().end() - 1);
      out_shape.push_back(weight.shape()[0]);
      Tensor flat = reshape(input, {shape_numel(Shape(input.shape().begin(), input.shape().end() - 1)), input.shape().back()});
      return view(addmm(bias, flat, t(weight)), out_shape);
    }
  }
  Tensor out = matmul(input, weight.dim() == 2 ? t(weight) : weight);
  return bias.defined() ? add(out, bias) : out;
}

}  // namespace gradcore
