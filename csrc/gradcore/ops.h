// The public op API. Every differentiable op records its backward node when grad mode is on and an
// input requires grad; gradients are written with these same ops, so they are differentiable too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "gradcore/tensor.h"

namespace gradcore {

/// A Python-style number: its kind decides type promotion (bool < int < float).
struct Scalar {
  enum class Kind : uint8_t { Bool, Int, Float };
  double value = 0;
  Kind kind = Kind::Float;
  Scalar() : value(0), kind(Kind::Int) {}
  Scalar(double v) : value(v), kind(Kind::Float) {}
  Scalar(int v) : value(v), kind(Kind::Int) {}
  Scalar(int64_t v) : value(static_cast<double>(v)), kind(Kind::Int) {}
  Scalar(bool v) : value(v), kind(Kind::Bool) {}
};

// ---- Creation -------------------------------------------------------------------------------
/// A tensor filled with `value`.
Tensor full(const Shape& shape, Scalar value, std::optional<DType> dtype = std::nullopt);
/// A tensor of zeros.
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
/// A tensor of ones.
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
/// A 0-dim tensor; `wrapped` marks it as a Python number for type promotion.
Tensor scalar_tensor(Scalar value, std::optional<DType> dtype = std::nullopt, bool wrapped = false);
/// Values start, start+step, ... below end (int64 when all three are integers, else float32).
Tensor arange(Scalar start, Scalar end, Scalar step, std::optional<DType> dtype = std::nullopt);
/// Uniform samples in [0, 1).
Tensor rand(const Shape& shape, DType dtype = DType::Float32);
/// Standard normal samples.
Tensor randn(const Shape& shape, DType dtype = DType::Float32);
/// Integers drawn uniformly from [low, high), stored as `dtype`.
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::Int64);
/// A random permutation of 0, 1, ..., n - 1.
Tensor randperm(int64_t n, DType dtype = DType::Int64);
/// Seeds the global generator used by rand/randn/randint/randperm.
void manual_seed(uint64_t seed);

// ---- Type promotion and conversion ----------------------------------------------------------
/// The dtype PyTorch computes `a op b` in (torch.result_type).
DType result_type(const Tensor& a, const Tensor& b);
/// The dtype of `a op s` for a Python number s.
DType result_type(const Tensor& a, Scalar s);
/// The dtype PyTorch computes an op of several tensors in (torch.result_type generalised).
DType result_type(const TensorList& operands);
/// A 0-dim "wrapped number" tensor holding `s` in the dtype it takes when combined with `other`.
Tensor wrapped_scalar(Scalar s, const Tensor& other);
/// The dtype of a Python number (float numbers take the default float32).
DType scalar_dtype(Scalar s);
/// A copy converted to `dtype` (the tensor itself when it already has it); differentiable.
Tensor to_dtype(const Tensor& t, DType dtype);
/// A contiguous copy; differentiable (CloneBackward0).
Tensor clone(const Tensor& t);
/// The tensor itself when contiguous, else a contiguous copy.
Tensor contiguous(const Tensor& t);
/// Copies `src` (broadcast, converted) into `dst` in place; differentiable w.r.t. src.
Tensor& copy_(Tensor& dst, const Tensor& src);

// ---- Pointwise --------------------------------------------------------------------------------
/// a + alpha * b with broadcasting.
Tensor add(const Tensor& a, const Tensor& b, Scalar alpha = 1);
Tensor add(const Tensor& a, Scalar b, Scalar alpha = 1);
/// a - alpha * b.
Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha = 1);
Tensor sub(const Tensor& a, Scalar b, Scalar alpha = 1);
/// b - alpha * a (Python's `b - a` for a number b).
Tensor rsub(const Tensor& a, Scalar b, Scalar alpha = 1);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, Scalar b);
/// True division (integers promote to float32).
Tensor div(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, Scalar b);
Tensor neg(const Tensor& a);
Tensor pow(const Tensor& base, const Tensor& exponent);
Tensor pow(const Tensor& base, Scalar exponent);
Tensor pow(Scalar base, const Tensor& exponent);
/// 1 / a (integers promote to float32).
Tensor reciprocal(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
/// Picks a where cond is true, else b (broadcast).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

/// Comparisons: bool results, never differentiable.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);

// ---- In-place ----------------------------------------------------------------------------------
Tensor& add_(Tensor& self, const Tensor& other, Scalar alpha = 1);
Tensor& sub_(Tensor& self, const Tensor& other, Scalar alpha = 1);
Tensor& mul_(Tensor& self, const Tensor& other);
Tensor& div_(Tensor& self, const Tensor& other);
/// Fills with `value` (a graph tensor gets a FillBackward0: zero gradient to its history).
Tensor& fill_(Tensor& self, Scalar value);
Tensor& zero_(Tensor& self);

// ---- Reductions ---------------------------------------------------------------------------------
/// Sum of all elements (0-dim); integer and bool inputs sum to int64.
Tensor sum(const Tensor& a);
/// Sum over `dims` (negative allowed; empty = all) keeping them as size 1 when `keepdim`.
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
/// Mean of all elements (floating input only).
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
/// Euclidean norm of all elements.
Tensor norm(const Tensor& a);
/// Whether all / any elements are nonzero (0-dim bool).
Tensor all(const Tensor& a);
Tensor any(const Tensor& a);
/// Sums a broadcast gradient back down to `shape` (the inverse of expand).
Tensor sum_to(const Tensor& grad, const Shape& shape);

// ---- Views and shape ------------------------------------------------------------------------------
/// A view with `shape` broadcast (size-1 dims stretched with stride 0); -1 keeps a size.
Tensor expand(const Tensor& a, const Shape& shape);
/// A view with a new shape over the same elements (one -1 inferred); Error when strides forbid it.
Tensor view(const Tensor& a, const Shape& shape);
/// view() when possible, else a copy.
Tensor reshape(const Tensor& a, const Shape& shape);
/// The slice at `index` along `dim` (negative allowed), as a view without that dim.
Tensor select(const Tensor& a, int64_t dim, int64_t index);
/// The broadcast shape of two shapes; Error naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// ---- Pointwise math and activations -------------------------------------------------------------
// Float math: integer and bool inputs promote to float32.
/// 2^a.
Tensor exp2(const Tensor& a);
/// log base 2.
Tensor log2(const Tensor& a);
/// log(1 + a), accurate near 0.
Tensor log1p(const Tensor& a);
/// exp(a) - 1, accurate near 0.
Tensor expm1(const Tensor& a);
/// 1 / sqrt(a).
Tensor rsqrt(const Tensor& a);
Tensor sin(const Tensor& a);
Tensor cos(const Tensor& a);
Tensor tan(const Tensor& a);
Tensor tanh(const Tensor& a);
/// 1 / (1 + exp(-a)).
Tensor sigmoid(const Tensor& a);
/// The Gauss error function.
Tensor erf(const Tensor& a);
// Ops keeping the input dtype (int64 stays int64; bool is refused except by sign).
/// max(a, 0); the gradient at 0 is 0.
Tensor relu(const Tensor& a);
/// |a|; the gradient at 0 is 0.
Tensor abs(const Tensor& a);
/// -1, 0 or 1 (0 for NaN); zero gradient.
Tensor sign(const Tensor& a);
/// Rounds down; zero gradient.
Tensor floor(const Tensor& a);
/// Rounds up; zero gradient.
Tensor ceil(const Tensor& a);
/// Rounds half to even, to `decimals` decimal places (negative: tens, hundreds, ...); zero gradient.
Tensor round(const Tensor& a, int64_t decimals = 0);
/// min(max(a, min), max) with number bounds (either may be absent, not both); NaN propagates.
/// The gradient passes where min <= a <= max.
Tensor clamp(const Tensor& a, std::optional<Scalar> min, std::optional<Scalar> max);
/// clamp with tensor bounds (broadcast; an undefined tensor is an absent bound).
Tensor clamp(const Tensor& a, const Tensor& min, const Tensor& max);
/// max(a, min) (ClampMinBackward0/1).
Tensor clamp_min(const Tensor& a, Scalar min);
Tensor clamp_min(const Tensor& a, const Tensor& min);
/// min(a, max) (ClampMaxBackward0/1).
Tensor clamp_max(const Tensor& a, Scalar max);
Tensor clamp_max(const Tensor& a, const Tensor& max);
/// Elementwise maximum (broadcast, NaN propagates); ties split the gradient half/half.
Tensor maximum(const Tensor& a, const Tensor& b);
/// Elementwise minimum (broadcast, NaN propagates); ties split the gradient half/half.
Tensor minimum(const Tensor& a, const Tensor& b);
/// a + weight * (end - a) (floating a; end of the same dtype; broadcast).
Tensor lerp(const Tensor& a, const Tensor& end, Scalar weight);
/// lerp with a tensor weight (same dtype as a unless 0-dim; broadcast).
Tensor lerp(const Tensor& a, const Tensor& end, const Tensor& weight);
/// Gaussian error linear unit; `approximate` is "none" (erf) or "tanh".
Tensor gelu(const Tensor& a, const std::string& approximate = "none");
/// a * sigmoid(a).
Tensor silu(const Tensor& a);
/// In-place forms (self = op(self)); the result dtype must fit self's dtype.
Tensor& exp_(Tensor& self);
Tensor& exp2_(Tensor& self);
Tensor& log2_(Tensor& self);
Tensor& log1p_(Tensor& self);
Tensor& expm1_(Tensor& self);
Tensor& rsqrt_(Tensor& self);
Tensor& sin_(Tensor& self);
Tensor& cos_(Tensor& self);
Tensor& tan_(Tensor& self);
Tensor& tanh_(Tensor& self);
Tensor& sigmoid_(Tensor& self);
Tensor& erf_(Tensor& self);
Tensor& silu_(Tensor& self);
Tensor& relu_(Tensor& self);
Tensor& abs_(Tensor& self);
Tensor& sign_(Tensor& self);
Tensor& floor_(Tensor& self);
Tensor& ceil_(Tensor& self);
Tensor& round_(Tensor& self, int64_t decimals = 0);
Tensor& clamp_(Tensor& self, std::optional<Scalar> min, std::optional<Scalar> max);
Tensor& clamp_(Tensor& self, const Tensor& min, const Tensor& max);
Tensor& lerp_(Tensor& self, const Tensor& end, Scalar weight);
Tensor& lerp_(Tensor& self, const Tensor& end, const Tensor& weight);

// ---- Integer and logical ops ----------------------------------------------------------------------
/// Division rounded with rounding_mode "trunc" or "floor" (DivBackward2: zero gradient).
Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode);
/// Python's a // b: floor of the quotient, in the promoted dtype (not differentiable).
Tensor floor_divide(const Tensor& a, const Tensor& b);
/// Python's a % b: the remainder takes the sign of the divisor.
Tensor remainder(const Tensor& a, const Tensor& b);
/// C's fmod: the remainder takes the sign of the dividend.
Tensor fmod(const Tensor& a, const Tensor& b);
/// ~a for bool (logical) and int64 (bitwise) tensors.
Tensor bitwise_not(const Tensor& a);
/// a & b, a | b, a ^ b for bool and int64 tensors.
Tensor bitwise_and(const Tensor& a, const Tensor& b);
Tensor bitwise_or(const Tensor& a, const Tensor& b);
Tensor bitwise_xor(const Tensor& a, const Tensor& b);
/// Logical ops on any dtype (nonzero = true), bool results.
Tensor logical_not(const Tensor& a);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
/// Elementwise NaN / infinity / finiteness tests (integers are always finite), bool results.
Tensor isnan(const Tensor& a);
Tensor isinf(const Tensor& a);
Tensor isfinite(const Tensor& a);

// ---- More reductions ------------------------------------------------------------------------------
/// Product of all elements (0-dim); integer and bool inputs multiply in int64.
Tensor prod(const Tensor& a);
/// Product over `dims` (negative allowed; empty = all); the Python API passes one dim.
Tensor prod(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
/// Largest / smallest element (0-dim, NaN propagates); the gradient is split evenly among ties.
Tensor max(const Tensor& a);
Tensor min(const Tensor& a);
/// Largest / smallest values along `dim` and their int64 indices (first occurrence, or first NaN).
std::pair<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim = false);
/// Largest / smallest values over `dims` (empty = all); the gradient is split evenly among ties.
Tensor amax(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
/// Index of the largest / smallest value along `dim`, or in the flattened tensor without one.
Tensor argmax(const Tensor& a, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& a, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
/// Variance over `dims` (empty = all), dividing by max(0, N - correction).
Tensor var(const Tensor& a, const std::vector<int64_t>& dims = {}, double correction = 1, bool keepdim = false);
/// Standard deviation: sqrt of var.
Tensor std(const Tensor& a, const std::vector<int64_t>& dims = {}, double correction = 1, bool keepdim = false);
/// log(sum(exp(a))) over `dims` (empty = all), stable for large values and all -inf slices.
Tensor logsumexp(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
/// Vector p-norm over `dims` (empty = all): p = 0, 1, 2, inf, -inf or any other number.
Tensor norm(const Tensor& a, double p, const std::vector<int64_t>& dims = {}, bool keepdim = false);
/// Cumulative sum along `dim`, computed in `dtype` (default: a's, integers and bools as int64).
Tensor cumsum(const Tensor& a, int64_t dim, std::optional<DType> dtype = std::nullopt);
/// Whether all / any elements over `dims` (empty = all) are nonzero (bool).
Tensor all(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor any(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);

// ---- More views ----------------------------------------------------------------------------------
/// Swaps two dims (a view).
Tensor transpose(const Tensor& a, int64_t dim0, int64_t dim1);
/// Reorders the dims: output dim i is input dim dims[i] (a view).
Tensor permute(const Tensor& a, const std::vector<int64_t>& dims);
/// The transpose of a tensor with at most 2 dims (a view).
Tensor t(const Tensor& a);
/// Inserts a size-1 dim at `dim` (a view).
Tensor unsqueeze(const Tensor& a, int64_t dim);
/// Removes every size-1 dim (a view).
Tensor squeeze(const Tensor& a);
/// Removes `dim` if it has size 1 (a view).
Tensor squeeze(const Tensor& a, int64_t dim);
/// Removes those of `dims` that have size 1 (a view).
Tensor squeeze(const Tensor& a, const std::vector<int64_t>& dims);
/// Elements start, start+step, ... before end along `dim`, with Python's slice rules (a view).
Tensor slice(const Tensor& a, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end, int64_t step = 1);
/// `length` elements from `start` along `dim` (a view).
Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length);
/// Merges dims start_dim..end_dim into one (a view when the strides allow, else a copy).
Tensor flatten(const Tensor& a, int64_t start_dim = 0, int64_t end_dim = -1);
/// Splits `dim` into `sizes` (one -1 is inferred; a view).
Tensor unflatten(const Tensor& a, int64_t dim, const Shape& sizes);
/// Views of `split_size` elements along `dim` (the last may be shorter).
TensorList split(const Tensor& a, int64_t split_size, int64_t dim = 0);
/// Views of the given sizes along `dim` (they must add up to its size).
TensorList split_with_sizes(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim = 0);
/// `chunks` views of (nearly) equal size along `dim`; fewer when the size does not allow.
TensorList chunk(const Tensor& a, int64_t chunks, int64_t dim = 0);
/// The slices along `dim`, as views without that dim.
TensorList unbind(const Tensor& a, int64_t dim = 0);
/// A view with arbitrary sizes, strides and storage offset over a's storage (checked against its size).
Tensor as_strided(const Tensor& a, const Shape& sizes, const Shape& strides, std::optional<int64_t> offset = std::nullopt);

// ---- Joining, splitting and gathering (copies) ----------------------------------------------------
/// Concatenates along `dim` (dtypes promoted; sizes must match elsewhere).
Tensor cat(const TensorList& tensors, int64_t dim = 0);
/// Joins equal-shaped tensors along a new dim `dim` (dtypes promoted).
Tensor stack(const TensorList& tensors, int64_t dim = 0);
/// A copy with the order of elements reversed along `dims`.
Tensor flip(const Tensor& a, const std::vector<int64_t>& dims);
/// Tiles `a` repeats[d] times along each dim (more repeats than dims add leading dims).
Tensor repeat(const Tensor& a, const Shape& repeats);
/// The lower triangle (j - i <= diagonal) of each matrix in the last two dims, the rest zeroed.
Tensor tril(const Tensor& a, int64_t diagonal = 0);
/// The upper triangle (j - i >= diagonal) of each matrix in the last two dims, the rest zeroed.
Tensor triu(const Tensor& a, int64_t diagonal = 0);
/// out[i] = self[i with dim replaced by index[i]]; out has index's shape (int64 index).
Tensor gather(const Tensor& self, int64_t dim, const Tensor& index);
/// A copy of self with src[i] written at (i with dim replaced by index[i]).
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
/// A copy of self with `value` written at the positions index points to along dim.
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, Scalar value);
/// In-place scatter (duplicate positions: the last write wins).
Tensor& scatter_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
Tensor& scatter_(Tensor& self, int64_t dim, const Tensor& index, Scalar value);
/// Like scatter, adding src into self (duplicates accumulate).
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
Tensor& scatter_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
/// The slices of self along dim at the positions of a 1-D (or 0-dim) int64 index.
Tensor index_select(const Tensor& self, int64_t dim, const Tensor& index);
/// A copy of self with alpha * source's slice k added to slice index[k] along dim.
Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha = 1);
Tensor& index_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha = 1);
/// self (broadcast with the bool mask) with `value` where mask is true.
Tensor masked_fill(const Tensor& self, const Tensor& mask, Scalar value);
/// masked_fill with a 0-dim tensor value (differentiable w.r.t. it).
Tensor masked_fill(const Tensor& self, const Tensor& mask, const Tensor& value);
/// In-place masked_fill (the mask must broadcast to self's shape).
Tensor& masked_fill_(Tensor& self, const Tensor& mask, Scalar value);
Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Tensor& value);

// ---- Indexing --------------------------------------------------------------------------------------
/// self[indices] for advanced indexing: one optional int64 or bool index tensor per leading dim
/// (absent = the whole dim), broadcast together, with NumPy's placement of the indexed dims.
Tensor index(const Tensor& self, const std::vector<std::optional<Tensor>>& indices);
/// A copy of self with `values` written (or, with accumulate, added) at the indexed positions.
Tensor index_put(const Tensor& self, const std::vector<std::optional<Tensor>>& indices, const Tensor& values,
                 bool accumulate = false);
/// In-place index_put (duplicate indices: last write wins unless accumulate).
Tensor& index_put_(Tensor& self, const std::vector<std::optional<Tensor>>& indices, const Tensor& values,
                   bool accumulate = false);
/// Coordinates of the nonzero elements, shape (count, ndim), int64.
Tensor nonzero(const Tensor& a);

// ---- Linear algebra --------------------------------------------------------------------------------
/// Matrix product of 2-D a (n x k) and b (k x m) (MmBackward0).
Tensor mm(const Tensor& a, const Tensor& b);
/// Batched matrix product of 3-D a (B x n x k) and b (B x k x m) (BmmBackward0).
Tensor bmm(const Tensor& a, const Tensor& b);
/// Matrix-vector product of 2-D a (n x k) and 1-D v (k) (MvBackward0).
Tensor mv(const Tensor& a, const Tensor& v);
/// Inner product of two 1-D tensors of the same length and dtype (0-dim result; DotBackward0).
Tensor dot(const Tensor& a, const Tensor& b);
/// Outer product of two 1-D tensors (a broadcast mul: MulBackward0, dtypes promote).
Tensor outer(const Tensor& a, const Tensor& b);
/// beta * self + alpha * (a @ b) for 2-D a, b and self broadcastable to the result (AddmmBackward0).
Tensor addmm(const Tensor& self, const Tensor& a, const Tensor& b, Scalar beta = 1, Scalar alpha = 1);
/// PyTorch's matmul: dot / mv / mm / batched (broadcast batch dims) by operand ranks; a 1-D operand
/// gets a dim prepended (left) or appended (right) that is removed from the result.
Tensor matmul(const Tensor& a, const Tensor& b);
/// input @ weight^T + bias (bias may be undefined); addmm for 2-D input with bias, as in PyTorch.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor());

// ---- Neural-network functions (gradcore.nn.functional) ---------------------------------------------
/// exp(x) / sum(exp(x)) along `dim`, computed stably (max subtracted) (SoftmaxBackward0).
Tensor softmax(const Tensor& a, int64_t dim);
/// x - log(sum(exp(x))) along `dim`, computed stably (LogSoftmaxBackward0).
Tensor log_softmax(const Tensor& a, int64_t dim);
/// Negative log-likelihood of class-index targets: input (N, C), (C) or (N, C, d1, ...), int64 target
/// (N), () or (N, d1, ...); optional per-class weight; reduction 0 none, 1 mean, 2 sum (NllLossBackward0).
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(), int64_t reduction = 1,
                int64_t ignore_index = -100);
/// Pads (negative: crops) the last dims by `pad` = (left, right, left, right, ...) last dim first,
/// filling with `value` (ConstantPadNdBackward0).
Tensor constant_pad_nd(const Tensor& a, const std::vector<int64_t>& pad, Scalar value = 0);

}  // namespace gradcore

// C++ operators for convenience in the core, its tests and its users.
namespace gradcore {
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, Scalar b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, Scalar b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, Scalar b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, Scalar b) { return div(a, b); }
}  // namespace gradcore
