// Gradients of every differentiable op against central finite differences in float64.
#include "test_util.h"

namespace {

using namespace gradcore;
using gctest::gradcheck;
using gctest::gradgradcheck;
using gctest::transposed_uniform;
using gctest::uniform;
using gctest::values_near;

class Gradients : public ::testing::Test {
 protected:
  void SetUp() override { manual_seed(42); }
  static Tensor u(const Shape& s, double lo = -1, double hi = 1) { return uniform(s, lo, hi); }
  static Tensor pos(const Shape& s) { return uniform(s, 0.5, 2.0); }
};

// ---- add / sub / rsub ------------------------------------------------------------------------------

TEST_F(Gradients, AddBroadcast) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return add(t[0], t[1]); }, {u({3, 1}), u({1, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return add(t[0], t[1], 2.5); }, {u({2, 3}), u({3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return add(t[0], t[1], -0.5); }, {u({}), u({2, 2})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return add(t[0], 3.0, 2.0); }, {u({2, 2})}));
}

TEST_F(Gradients, SubWithAlpha) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sub(t[0], t[1]); }, {u({2, 3}), u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sub(t[0], t[1], 3.0); }, {u({2, 3}), u({3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sub(t[0], t[1], -2); }, {u({4, 1}), u({1, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sub(t[0], 1.5, 2); }, {u({3})}));
}

TEST_F(Gradients, Rsub) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return rsub(t[0], 2.0); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return rsub(t[0], 2.0, 3.5); }, {u({2, 3})}));
}

// ---- mul / div / neg -------------------------------------------------------------------------------

TEST_F(Gradients, MulBroadcast) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(t[0], t[1]); }, {u({3, 1}), u({1, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(t[0], t[1]); }, {u({2, 3}), u({3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(t[0], t[1]); }, {u({}), u({2, 2})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(t[0], t[0]); }, {u({3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(t[0], -1.5); }, {u({2, 2})}));
}

TEST_F(Gradients, DivBroadcast) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return div(t[0], t[1]); }, {u({2, 3}), pos({3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return div(t[0], t[1]); }, {u({3, 1}), pos({1, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return div(t[0], t[1]); }, {u({2, 2}), pos({})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return div(t[0], 4.0); }, {u({3})}));
}

TEST_F(Gradients, Neg) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return neg(t[0]); }, {u({2, 3})}));
}

// ---- pow -----------------------------------------------------------------------------------------

TEST_F(Gradients, PowTensorScalar) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(t[0], 3.0); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(t[0], 2); }, {u({4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(t[0], 0.5); }, {pos({2, 2})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(t[0], -1.5); }, {pos({3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(t[0], 0.0); }, {u({3})}));
}

TEST_F(Gradients, PowTensorTensor) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(t[0], t[1]); }, {pos({2, 3}), u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(t[0], t[1]); }, {pos({3, 1}), u({1, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(t[0], t[1]); }, {pos({}), u({3})}));
}

TEST_F(Gradients, PowScalarTensor) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(2.0, t[0]); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(0.5, t[0]); }, {u({4})}));
}

TEST(PowSpecialCases, GradientAtZeroBase) {
  // d/dx x^0 = 0 everywhere, even at x == 0; d/dp 0^p = 0 for p >= 0 (PyTorch's conventions).
  Tensor x = gctest::leaf({0, 1}, {2});
  sum(pow(x, 0.0)).backward();
  EXPECT_TRUE(values_near(x.grad(), {0, 0}));
  Tensor b = gctest::leaf({0, 0}, {2});
  Tensor p = gctest::leaf({2, 0}, {2});
  sum(pow(b, p)).backward();
  EXPECT_TRUE(values_near(p.grad(), {0, 0}));
  EXPECT_TRUE(values_near(b.grad(), {0, 0}));  // 2 * 0^1 = 0; exponent 0 -> 0
}

// ---- exp / log / sqrt ------------------------------------------------------------------------------

TEST_F(Gradients, ExpLogSqrt) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return exp(t[0]); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return log(t[0]); }, {pos({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sqrt(t[0]); }, {pos({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return log(exp(t[0])); }, {u({4})}));
}

TEST_F(Gradients, Reciprocal) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return reciprocal(t[0]); }, {pos({2, 3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return reciprocal(t[0]); }, {pos({3})}));
  EXPECT_EQ(reciprocal(gctest::tensor({2, 4}, {2}, DType::Int64)).dtype(), DType::Float32);
}

// ---- where -----------------------------------------------------------------------------------------

TEST_F(Gradients, Where) {
  const Tensor cond = gctest::tensor({1, 0, 1, 0, 0, 1}, {2, 3}, DType::Bool);
  EXPECT_TRUE(gradcheck([cond](const TensorList& t) { return where(cond, t[0], t[1]); }, {u({2, 3}), u({2, 3})}));
  EXPECT_TRUE(gradcheck([cond](const TensorList& t) { return where(cond, t[0], t[1]); }, {u({2, 1}), u({3})}));
  EXPECT_TRUE(gradcheck([cond](const TensorList& t) { return where(cond, t[0], t[1]); }, {u({}), u({2, 3})}));
  // Only one branch requires grad.
  const Tensor other = uniform({2, 3}, -1, 1);
  EXPECT_TRUE(gradcheck([cond, other](const TensorList& t) { return where(cond, other, t[0]); }, {u({3})}));
}

// ---- Reductions ------------------------------------------------------------------------------------

TEST_F(Gradients, Sum) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum(t[0]); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum(t[0], {0}); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum(t[0], {-1}, true); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum(t[0], {0, 2}); }, {u({2, 3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum(t[0], {0, 2}, true); }, {u({2, 3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum(t[0], {}); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum(t[0]); }, {u({})}));
}

TEST_F(Gradients, Mean) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mean(t[0]); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mean(t[0], {1}); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mean(t[0], {0}, true); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mean(t[0], {-1, 0}); }, {u({2, 3, 4})}));
}

TEST_F(Gradients, Norm) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return norm(t[0]); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return norm(mul(t[0], t[1])); }, {u({3, 1}), u({4})}));
}

TEST(NormSpecialCases, GradientAtZeroIsZero) {
  Tensor x = gctest::leaf({0, 0, 0}, {3});
  norm(x).backward();
  EXPECT_TRUE(values_near(x.grad(), {0, 0, 0}));
}

TEST_F(Gradients, SumTo) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum_to(t[0], {3, 1}); }, {u({2, 3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum_to(t[0], {4}); }, {u({2, 3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum_to(t[0], {}); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum_to(t[0], {2, 3}); }, {u({2, 3})}));
}

// ---- Views and copies --------------------------------------------------------------------------------

TEST_F(Gradients, Expand) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return expand(t[0], {2, 3, 4}); }, {u({3, 1})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return expand(t[0], {5}); }, {u({})}));
  // An expanded (stride-0) operand inside arithmetic.
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(expand(t[0], {3, 4}), t[1]); }, {u({1, 4}), u({3, 4})}));
}

TEST_F(Gradients, ViewAndReshape) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return view(t[0], {3, 4}); }, {u({2, 6})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return view(t[0], {-1}); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(view(t[0], {2, 3}), t[1]); }, {u({6}), u({3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return reshape(t[0], {4, 3}); }, {u({3, 4})}));
  // reshape of a non-contiguous tensor copies.
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return reshape(t[0], {6}); }, {transposed_uniform(2, 3, -1, 1)}));
}

TEST_F(Gradients, Select) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return select(t[0], 0, 1); }, {u({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return select(t[0], 1, 2); }, {u({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return select(t[0], -1, -1); }, {u({2, 3, 4})}));
  // Two selects of the same tensor accumulate into one gradient.
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(select(t[0], 1, 0), select(t[0], 1, 2)); }, {u({3, 4})}));
  // A non-contiguous select result feeding pointwise ops.
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return exp(mul(select(t[0], 1, 1), t[1])); }, {u({3, 4}), u({3})}));
}

TEST_F(Gradients, CloneAndContiguous) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return clone(t[0]); }, {u({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return contiguous(t[0]); }, {transposed_uniform(3, 2, -1, 1)}));
}

TEST(ToDtypeGradients, GradientFlowsThroughConversions) {
  // Finite differences cannot see through a float32 round trip, so the exact gradients are checked.
  manual_seed(3);
  Tensor x = uniform({2, 3}, -1, 1);
  x.set_requires_grad(true);
  Tensor w = uniform({2, 3}, -1, 1);
  Tensor y = to_dtype(x, DType::Float32);
  EXPECT_EQ(y.dtype(), DType::Float32);
  EXPECT_EQ(y.grad_fn()->name(), "ToCopyBackward0");
  sum(mul(to_dtype(y, DType::Float64), w)).backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().dtype(), DType::Float64);
  EXPECT_TRUE(values_near(x.grad(), gctest::values(w), 1e-7));  // w rounded through float32

  Tensor f = gctest::tensor({1, 2}, {2}, DType::Float32);
  f.set_requires_grad(true);
  sum(mul(to_dtype(f, DType::Float64), gctest::tensor({0.25, -3}, {2}))).backward();
  EXPECT_EQ(f.grad().dtype(), DType::Float32);
  EXPECT_TRUE(values_near(f.grad(), {0.25, -3}));

  // Conversion to a non-floating dtype is not differentiable.
  EXPECT_FALSE(to_dtype(x, DType::Int64).requires_grad());
}

TEST_F(Gradients, ToDtypeSameTypeAndComposite) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(to_dtype(t[0], DType::Float64), t[0]); }, {u({3})}));
}

TEST_F(Gradients, CopyInto) {
  // copy_ into a non-leaf: the old value gets zero gradient, src gets the gradient (broadcast).
  EXPECT_TRUE(gradcheck(
      [](const TensorList& t) {
        Tensor dst = mul(t[0], 2.0);
        copy_(dst, t[1]);
        return mul(dst, t[0]);
      },
      {u({2, 3}), u({3})}));
}

// ---- Non-contiguous leaves and compositions -----------------------------------------------------

TEST_F(Gradients, NonContiguousLeaves) {
  // Leaves that are transposed views (strides (1, rows)).
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(exp(t[0]), t[1]); },
                        {transposed_uniform(3, 4, -1, 1), u({4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return sum(t[0], {0}); }, {transposed_uniform(3, 4, -1, 1)}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return div(t[1], t[0]); },
                        {transposed_uniform(2, 3, 0.5, 2), u({2, 1})}));
  // A leaf at a storage offset with row stride 5 (a column slice of a (4, 5) buffer).
  Tensor buf = uniform({4, 5}, -1, 1);
  Tensor slice = make_view(buf, {4, 3}, {5, 1}, 1);
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return pow(t[0], 3.0); }, {slice}));
}

TEST_F(Gradients, Composite) {
  // A small "model": softplus-like and normalisation pieces mixing most ops.
  EXPECT_TRUE(gradcheck(
      [](const TensorList& t) {
        Tensor h = add(mul(t[0], t[1]), t[2]);                 // (3,4) * (4,) + (3,1)
        Tensor act = log(add(exp(h), 1.0));                    // softplus
        Tensor centred = sub(act, mean(act, {1}, true));
        return div(centred, add(sqrt(sum(mul(centred, centred), {1}, true)), 1.0));
      },
      {u({3, 4}), u({4}), u({3, 1})}));
}

// ---- Second derivatives (create_graph) ---------------------------------------------------------------

TEST_F(Gradients, SecondOrderArithmetic) {
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return mul(t[0], t[1]); }, {u({3, 1}), u({4})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return mul(t[0], t[0]); }, {u({3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return div(t[0], t[1]); }, {u({2, 3}), pos({3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return mul(sub(t[0], t[1], 2.0), t[1]); }, {u({3}), u({3})}));
}

TEST_F(Gradients, SecondOrderPow) {
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return pow(t[0], 3.0); }, {u({2, 3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return pow(t[0], t[1]); }, {pos({2, 3}), u({3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return pow(2.0, t[0]); }, {u({4})}));
}

TEST_F(Gradients, SecondOrderUnary) {
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return exp(t[0]); }, {u({2, 3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return log(t[0]); }, {pos({2, 3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return sqrt(t[0]); }, {pos({2, 3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return norm(t[0]); }, {u({2, 3})}));
}

TEST_F(Gradients, SecondOrderThroughViewsAndReductions) {
  const Tensor cond = gctest::tensor({1, 0, 1}, {3}, DType::Bool);
  EXPECT_TRUE(gradgradcheck([cond](const TensorList& t) { return where(cond, mul(t[0], t[0]), exp(t[1])); },
                            {u({2, 3}), u({3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return mul(mean(t[0], {1}, true), t[0]); }, {u({2, 3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return mul(sum(t[0], {0}), t[0]); }, {u({2, 3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return mul(expand(t[1], {3}), t[0]); }, {u({3}), u({})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return mul(view(t[0], {3, 2}), reshape(t[0], {3, 2})); },
                            {u({2, 3})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return mul(reshape(t[0], {6}), reshape(t[0], {6})); },
                            {transposed_uniform(2, 3, -1, 1)}));
}

TEST_F(Gradients, SecondOrderThroughSelect) {
  // The backward of select must itself be differentiable (ops.h: "gradients are written with these
  // same ops, so they are differentiable too").
  Tensor x = gctest::leaf({1, 2, 3}, {3});
  Tensor y = pow(select(x, 0, 1), 3);  // x1^3
  TensorList g = run_backward({y}, {Tensor()}, true, /*create_graph=*/true, {x});
  EXPECT_TRUE(values_near(g[0], {0, 12, 0}));
  ASSERT_TRUE(g[0].requires_grad()) << "the gradient through select lost its history under create_graph";
  TensorList gg = run_backward({sum(g[0])}, {Tensor()}, false, false, {x});
  EXPECT_TRUE(values_near(gg[0], {0, 12, 0}));  // d/dx1 3 x1^2 = 6 x1

  EXPECT_TRUE(gradgradcheck([](const TensorList& t) { return mul(select(t[0], 1, 0), t[1]); }, {u({3, 2}), u({3})}));
}

}  // namespace
