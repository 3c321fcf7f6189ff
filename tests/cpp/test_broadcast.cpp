// Broadcasting and type promotion.
#include "test_util.h"

namespace {

using namespace gradcore;
using gctest::iota;
using gctest::tensor;
using gctest::values;
using gctest::values_near;

// ---- broadcast_shapes --------------------------------------------------------------------------

TEST(BroadcastShapes, Compatible) {
  EXPECT_EQ(broadcast_shapes({3, 1}, {1, 4}, "add"), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shapes({2, 3}, {3}, "add"), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({}, {2, 2}, "add"), (Shape{2, 2}));
  EXPECT_EQ(broadcast_shapes({2, 2}, {}, "add"), (Shape{2, 2}));
  EXPECT_EQ(broadcast_shapes({}, {}, "add"), Shape{});
  EXPECT_EQ(broadcast_shapes({5, 1, 4}, {3, 1}, "add"), (Shape{5, 3, 4}));
  EXPECT_EQ(broadcast_shapes({1}, {}, "add"), Shape{1});
  EXPECT_EQ(broadcast_shapes({0}, {1}, "add"), Shape{0});
  EXPECT_EQ(broadcast_shapes({2, 0, 3}, {1, 3}, "add"), (Shape{2, 0, 3}));
  EXPECT_EQ(broadcast_shapes({7}, {7}, "add"), Shape{7});
}

TEST(BroadcastShapes, FailureNamesOpAndShapes) {
  EXPECT_THROWS_WITH(Error, broadcast_shapes({2, 3}, {4}, "myop"), "[myop]", "(2, 3)", "(4,)");
  EXPECT_THROWS_WITH(Error, broadcast_shapes({2, 3}, {3, 2}, "mul"), "[mul]", "(2, 3)", "(3, 2)");
  EXPECT_THROWS_WITH(Error, broadcast_shapes({0}, {2}, "sub"), "[sub]", "(0,)", "(2,)");
  // The message says which sizes clash.
  EXPECT_THROWS_WITH(Error, broadcast_shapes({5, 2}, {5, 3}, "add"), "(2)", "(3)");
}

// ---- Broadcasting pointwise ops ----------------------------------------------------------------

TEST(BroadcastOps, ColumnPlusRow) {
  Tensor a = tensor({0, 1, 2}, {3, 1});
  Tensor b = tensor({10, 20, 30, 40}, {1, 4});
  Tensor c = add(a, b);
  EXPECT_EQ(c.shape(), (Shape{3, 4}));
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_TRUE(values_near(c, {10, 20, 30, 40, 11, 21, 31, 41, 12, 22, 32, 42}));
  Tensor m = mul(b, a);
  EXPECT_EQ(m.shape(), (Shape{3, 4}));
  EXPECT_TRUE(values_near(m, {0, 0, 0, 0, 10, 20, 30, 40, 20, 40, 60, 80}));
}

TEST(BroadcastOps, MatrixPlusVector) {
  Tensor a = iota({2, 3});
  Tensor b = tensor({100, 200, 300}, {3});
  EXPECT_TRUE(values_near(add(a, b), {100, 201, 302, 103, 204, 305}));
  EXPECT_TRUE(values_near(sub(a, b, 2), {-200, -399, -598, -197, -396, -595}));
  EXPECT_TRUE(values_near(mul(b, a), {0, 200, 600, 300, 800, 1500}));
  EXPECT_TRUE(values_near(div(a, b), {0, 1.0 / 200, 2.0 / 300, 3.0 / 100, 4.0 / 200, 5.0 / 300}));
}

TEST(BroadcastOps, ZeroDimPlusMatrix) {
  Tensor s = scalar_tensor(3.0, DType::Float32);
  Tensor m = ones({2, 2}, DType::Float32);
  Tensor r = add(s, m);
  EXPECT_EQ(r.shape(), (Shape{2, 2}));
  EXPECT_EQ(r.dtype(), DType::Float32);
  EXPECT_TRUE(values_near(r, {4, 4, 4, 4}));
  Tensor r2 = mul(m, s);
  EXPECT_EQ(r2.shape(), (Shape{2, 2}));
  EXPECT_TRUE(values_near(r2, {3, 3, 3, 3}));
}

TEST(BroadcastOps, NonContiguousOperands) {
  Tensor base = iota({2, 3});
  Tensor tr = make_view(base, {3, 2}, {1, 3}, 0);  // [[0,3],[1,4],[2,5]]
  Tensor r = add(tr, tensor({10, 20}, {2}));
  EXPECT_TRUE(values_near(r, {10, 23, 11, 24, 12, 25}));
  Tensor e = expand(tensor({1, 2}, {2, 1}), {2, 3});
  EXPECT_TRUE(values_near(mul(e, base), {0, 1, 2, 6, 8, 10}));
  Tensor col = select(base, 1, 1);  // [1, 4]
  EXPECT_TRUE(values_near(add(col, col), {2, 8}));
}

TEST(BroadcastOps, ScalarOperandsAndRsub) {
  Tensor a = iota({3});
  EXPECT_TRUE(values_near(add(a, 1.5), {1.5, 2.5, 3.5}));
  EXPECT_TRUE(values_near(sub(a, 1, 2), {-2, -1, 0}));
  EXPECT_TRUE(values_near(rsub(a, 10), {10, 9, 8}));
  EXPECT_TRUE(values_near(rsub(a, 10, 2), {10, 8, 6}));
  EXPECT_TRUE(values_near(pow(a, 2), {0, 1, 4}));
  EXPECT_TRUE(values_near(pow(2.0, a), {1, 2, 4}));
  EXPECT_TRUE(values_near(neg(a), {0, -1, -2}));
}

TEST(BroadcastOps, WhereBroadcasts) {
  Tensor cond = tensor({1, 0, 1}, {3}, DType::Bool);
  Tensor a = tensor({1, 2}, {2, 1});
  Tensor b = scalar_tensor(-1.0, DType::Float64);
  Tensor r = where(cond, a, b);
  EXPECT_EQ(r.shape(), (Shape{2, 3}));
  EXPECT_TRUE(values_near(r, {1, -1, 1, 2, -1, 2}));
}

TEST(BroadcastOps, ComparisonsGiveBool) {
  Tensor a = iota({3});
  Tensor r = lt(a, tensor({1}, {1}));
  EXPECT_EQ(r.dtype(), DType::Bool);
  EXPECT_TRUE(values_near(r, {1, 0, 0}));
  EXPECT_TRUE(values_near(eq(a, tensor({0, 5, 2}, {3})), {1, 0, 1}));
  EXPECT_TRUE(values_near(ge(tensor({1, 2}, {2, 1}), tensor({1, 2, 3}, {3})), {1, 0, 0, 1, 1, 0}));
  EXPECT_EQ(all(tensor({1, 1}, {2}, DType::Bool)).item(), 1.0);
  EXPECT_EQ(any(tensor({0, 0}, {2}, DType::Bool)).item(), 0.0);
}

// ---- result_type -------------------------------------------------------------------------------

Tensor dims(DType t) { return zeros({2}, t); }
Tensor zero_dim(DType t) { return zeros({}, t); }
Tensor wrapped(Scalar s) { return scalar_tensor(s, std::nullopt, true); }

TEST(ResultType, SameTier) {
  EXPECT_EQ(result_type(dims(DType::Float32), dims(DType::Float64)), DType::Float64);
  EXPECT_EQ(result_type(dims(DType::Int64), dims(DType::Float32)), DType::Float32);
  EXPECT_EQ(result_type(dims(DType::Bool), dims(DType::Int64)), DType::Int64);
  EXPECT_EQ(result_type(dims(DType::Bool), dims(DType::Bool)), DType::Bool);
  EXPECT_EQ(result_type(dims(DType::Int64), dims(DType::Float64)), DType::Float64);
  EXPECT_EQ(result_type(zero_dim(DType::Float32), zero_dim(DType::Float64)), DType::Float64);
  EXPECT_EQ(result_type(zero_dim(DType::Bool), zero_dim(DType::Int64)), DType::Int64);
}

TEST(ResultType, ZeroDimAgainstDims) {
  // A 0-dim tensor only matters when it is of a higher category.
  EXPECT_EQ(result_type(dims(DType::Float32), zero_dim(DType::Float64)), DType::Float32);
  EXPECT_EQ(result_type(zero_dim(DType::Float64), dims(DType::Float32)), DType::Float32);
  EXPECT_EQ(result_type(dims(DType::Int64), zero_dim(DType::Float64)), DType::Float64);
  EXPECT_EQ(result_type(dims(DType::Int64), zero_dim(DType::Float32)), DType::Float32);
  EXPECT_EQ(result_type(dims(DType::Bool), zero_dim(DType::Int64)), DType::Int64);
  EXPECT_EQ(result_type(dims(DType::Float32), zero_dim(DType::Int64)), DType::Float32);
  EXPECT_EQ(result_type(dims(DType::Int64), zero_dim(DType::Bool)), DType::Int64);
}

TEST(ResultType, WrappedNumbers) {
  // scalar_tensor of a Python float is float64, but as a wrapped number it counts as the default float32.
  Tensor f = wrapped(2.5);
  EXPECT_EQ(f.dtype(), DType::Float64);
  EXPECT_EQ(result_type(dims(DType::Int64), f), DType::Float32);
  EXPECT_EQ(result_type(dims(DType::Bool), f), DType::Float32);
  EXPECT_EQ(result_type(dims(DType::Float32), f), DType::Float32);
  EXPECT_EQ(result_type(dims(DType::Float64), f), DType::Float64);
  EXPECT_EQ(result_type(dims(DType::Bool), wrapped(3)), DType::Int64);
  EXPECT_EQ(result_type(dims(DType::Int64), wrapped(true)), DType::Int64);
  EXPECT_EQ(result_type(dims(DType::Bool), wrapped(true)), DType::Bool);
  EXPECT_EQ(result_type(dims(DType::Float32), wrapped(3)), DType::Float32);
  // Wrapped numbers rank below 0-dim tensors too.
  EXPECT_EQ(result_type(zero_dim(DType::Int64), f), DType::Float32);
  EXPECT_EQ(result_type(zero_dim(DType::Float64), f), DType::Float64);
  EXPECT_EQ(result_type(zero_dim(DType::Int64), wrapped(3)), DType::Int64);
  // The same float64 0-dim tensor, not wrapped, is a 0-dim tier operand.
  EXPECT_EQ(result_type(dims(DType::Int64), scalar_tensor(2.5)), DType::Float64);
}

TEST(ResultType, OpsFollowPromotion) {
  Tensor i = tensor({1, 2, 3}, {3}, DType::Int64);
  Tensor r = add(i, 0.5);
  EXPECT_EQ(r.dtype(), DType::Float32);
  EXPECT_TRUE(values_near(r, {1.5, 2.5, 3.5}));
  EXPECT_EQ(add(i, 2).dtype(), DType::Int64);
  EXPECT_EQ(mul(i, scalar_tensor(2.0)).dtype(), DType::Float64);
  EXPECT_EQ(mul(ones({2}, DType::Float32), scalar_tensor(2.0)).dtype(), DType::Float32);
  EXPECT_EQ(add(tensor({1, 0}, {2}, DType::Bool), tensor({1, 1}, {2}, DType::Bool)).dtype(), DType::Bool);
  EXPECT_EQ(add(tensor({1, 0}, {2}, DType::Bool), 1).dtype(), DType::Int64);
  EXPECT_EQ(add(ones({2}, DType::Float32), ones({2}, DType::Float64)).dtype(), DType::Float64);
  // Float32 math with a wrapped double: the result stays float32.
  Tensor f = add(ones({1}, DType::Float32), 0.1);
  EXPECT_EQ(f.dtype(), DType::Float32);
  EXPECT_EQ(values(f)[0], static_cast<double>(1.0f + 0.1f));
}

TEST(ResultType, IntegerTrueDivisionIsFloat32) {
  Tensor a = tensor({7, -3, 1}, {3}, DType::Int64);
  Tensor b = tensor({2, 2, 4}, {3}, DType::Int64);
  Tensor r = div(a, b);
  EXPECT_EQ(r.dtype(), DType::Float32);
  EXPECT_TRUE(values_near(r, {3.5, -1.5, 0.25}));
  Tensor r2 = div(a, 2);
  EXPECT_EQ(r2.dtype(), DType::Float32);
  EXPECT_TRUE(values_near(r2, {3.5, -1.5, 0.5}));
  Tensor r3 = div(tensor({1, 0}, {2}, DType::Bool), tensor({2, 2}, {2}, DType::Bool));
  EXPECT_EQ(r3.dtype(), DType::Float32);
  // With a float64 operand, division stays float64.
  EXPECT_EQ(div(a, scalar_tensor(2.0)).dtype(), DType::Float64);
  // Integer multiplication stays exact int64.
  Tensor big = tensor({3037000499.0}, {1}, DType::Int64);
  EXPECT_EQ(mul(big, big).dtype(), DType::Int64);
  EXPECT_EQ(mul(big, big).data<int64_t>()[0], 3037000499LL * 3037000499LL);
}

TEST(ResultType, ToDtype) {
  Tensor f = tensor({1.7, -2.2, 0}, {3}, DType::Float64);
  Tensor i = to_dtype(f, DType::Int64);
  EXPECT_EQ(i.dtype(), DType::Int64);
  EXPECT_TRUE(values_near(i, {1, -2, 0}));
  Tensor b = to_dtype(f, DType::Bool);
  EXPECT_TRUE(values_near(b, {1, 1, 0}));
  EXPECT_EQ(to_dtype(f, DType::Float64).impl(), f.impl());
  // A converted wrapped number is no longer wrapped.
  Tensor w = to_dtype(scalar_tensor(2.5, std::nullopt, true), DType::Float32);
  EXPECT_FALSE(w.impl()->wrapped_number);
  EXPECT_EQ(result_type(dims(DType::Int64), w), DType::Float32);
  EXPECT_EQ(result_type(dims(DType::Float64), zeros({}, DType::Float32)), DType::Float64);
}

}  // namespace
