// The backward engine: graph traversal, accumulation, retain_graph, saved-tensor checks, grad mode.
#include <thread>

#include "test_util.h"

namespace {

using namespace gradcore;
using gctest::leaf;
using gctest::tensor;
using gctest::values;
using gctest::values_near;

TEST(Engine, SimpleBackward) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor y = sum(mul(x, x));
  ASSERT_TRUE(y.requires_grad());
  EXPECT_FALSE(y.is_leaf());
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_EQ(y.grad_fn()->name(), "SumBackward0");
  y.backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().shape(), Shape{3});
  EXPECT_EQ(x.grad().dtype(), DType::Float64);
  EXPECT_TRUE(values_near(x.grad(), {2, 4, 6}));
  // Intermediate results do not get .grad.
  EXPECT_FALSE(y.grad().defined());
}

TEST(Engine, DiamondAccumulatesBothPaths) {
  // x feeds a and b, which meet again in a * b: d/dx sum(3x * x*x) = 9x^2.
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor a = mul(x, 3.0);
  Tensor b = mul(x, x);
  sum(mul(a, b)).backward();
  EXPECT_TRUE(values_near(x.grad(), {9, 36, 81}));
}

TEST(Engine, DiamondWithPathsOfDifferentDepth) {
  // h reaches the output directly and through three more ops: its node must wait for both.
  Tensor x = leaf({1, -2}, {2});
  Tensor h = mul(x, 2.0);
  Tensor deep = mul(add(mul(h, 3.0), 1.0), 1.0);
  sum(add(deep, h)).backward();  // d/dx = 2 * 3 + 2
  EXPECT_TRUE(values_near(x.grad(), {8, 8}));
}

TEST(Engine, SameTensorTwiceInOneOp) {
  Tensor x = leaf({3}, {1});
  add(x, x, 2.0).backward();  // x + 2x
  EXPECT_TRUE(values_near(x.grad(), {3}));
}

TEST(Engine, GradAccumulatesAcrossBackwardCalls) {
  Tensor x = leaf({1, 2}, {2});
  sum(mul(x, 2.0)).backward();
  Tensor first = x.grad();
  EXPECT_TRUE(values_near(first, {2, 2}));
  sum(mul(x, x)).backward();
  EXPECT_TRUE(values_near(x.grad(), {4, 6}));
  // Accumulation is in place (as in PyTorch): a reference to the old .grad sees the sum.
  EXPECT_EQ(x.grad().impl(), first.impl());
  EXPECT_TRUE(values_near(first, {4, 6}));
  // Clearing .grad restarts accumulation.
  x.set_grad(Tensor());
  sum(x).backward();
  EXPECT_TRUE(values_near(x.grad(), {1, 1}));
}

TEST(Engine, SetGradChecks) {
  Tensor x = leaf({1, 2}, {2});
  EXPECT_THROWS_WITH(Error, x.set_grad(zeros({3}, DType::Float64)), "different size");
  EXPECT_THROWS_WITH(Error, x.set_grad(zeros({2}, DType::Float32)), "different type");
  EXPECT_THROWS_WITH(Error, x.set_grad(x), "own grad");
  x.set_grad(ones({2}, DType::Float64));
  sum(x).backward();
  EXPECT_TRUE(values_near(x.grad(), {2, 2}));
}

TEST(Engine, SecondBackwardWithoutRetainGraphThrows) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = sum(mul(x, x));
  y.backward();
  EXPECT_THROWS_WITH(Error, y.backward(), "retain_graph", "backward through the graph a second time");
  // The failed backward did not touch .grad.
  EXPECT_TRUE(values_near(x.grad(), {2, 4}));
}

TEST(Engine, RetainGraphAllowsSecondBackward) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = sum(mul(x, exp(x)));
  y.backward(Tensor(), /*retain_graph=*/true);
  std::vector<double> g1 = values(x.grad());
  y.backward(Tensor(), /*retain_graph=*/true);
  std::vector<double> g2 = values(x.grad());
  for (size_t i = 0; i < g1.size(); ++i) EXPECT_NEAR(g2[i], 2 * g1[i], 1e-12);
  y.backward();  // the last one frees the graph
  EXPECT_THROWS_WITH(Error, y.backward(), "retain_graph");
}

TEST(Engine, SavedInputModifiedInPlaceIsDetected) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor h = mul(x, 2.0);
  Tensor out = sum(mul(h, h));  // MulBackward0 saves h
  add_(h, ones({3}, DType::Float64));
  EXPECT_EQ(h.version(), 1u);
  EXPECT_THROWS_WITH(Error, out.backward(), "modified by an inplace operation", "is at version 1",
                     "expected version 0");
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, SavedOutputModifiedInPlaceIsDetected) {
  Tensor x = leaf({0.5, 1}, {2});
  Tensor e = exp(x);  // ExpBackward0 saves its output
  Tensor out = sum(e);
  {
    GradModeGuard no_grad(false);
    mul_(e, full({2}, 2.0, DType::Float64));
  }
  EXPECT_THROWS_WITH(Error, out.backward(), "modified by an inplace operation", "ExpBackward0");
}

TEST(Engine, SavedTensorModifiedThroughDetachedAliasIsDetected) {
  Tensor x = leaf({1, 2}, {2});
  Tensor h = mul(x, 1.0);
  Tensor out = sum(mul(h, h));
  Tensor alias = h.detach();  // shares the version counter
  fill_(alias, 0.0);
  EXPECT_THROWS_WITH(Error, out.backward(), "modified by an inplace operation");
}

TEST(Engine, NonScalarBackwardNeedsGradient) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = mul(x, 3.0);
  EXPECT_THROWS_WITH(Error, y.backward(), "grad can be implicitly created only for scalar outputs");
  // With an explicit gradient of the right shape it works.
  y.backward(tensor({1, 10}, {2}));
  EXPECT_TRUE(values_near(x.grad(), {3, 30}));
  Tensor z = mul(x, 3.0);
  EXPECT_THROWS_WITH(Error, z.backward(tensor({1, 2, 3}, {3})), "Mismatch in shape");
  // A one-element non-0-dim output seeds implicitly.
  x.set_grad(Tensor());
  Tensor one = select(x, 0, 1);
  view(one, {1, 1}).backward();
  EXPECT_TRUE(values_near(x.grad(), {0, 1}));
}

TEST(Engine, BackwardOnTensorNotRequiringGradThrows) {
  Tensor a = tensor({1, 2}, {2});
  Tensor s = sum(a);
  EXPECT_THROWS_WITH(Error, s.backward(), "does not require grad");
  EXPECT_THROWS_WITH(Error, run_backward({s}, {Tensor()}, false, false), "does not require grad");
}

TEST(Engine, GradModeGuardRecordsNothing) {
  Tensor x = leaf({1, 2}, {2});
  EXPECT_TRUE(GradMode::is_enabled());
  {
    GradModeGuard no_grad(false);
    EXPECT_FALSE(GradMode::is_enabled());
    Tensor y = mul(exp(x), 2.0);
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
    EXPECT_THROWS_WITH(Error, sum(y).backward(), "does not require grad");
    {
      GradModeGuard enable(true);
      Tensor z = mul(x, 2.0);
      EXPECT_NE(z.grad_fn(), nullptr);
    }
    EXPECT_FALSE(GradMode::is_enabled());
  }
  EXPECT_TRUE(GradMode::is_enabled());
  EXPECT_NE(mul(x, 2.0).grad_fn(), nullptr);
}

TEST(Engine, GradModeIsPerThreadState) {
  // Only checks the guard restores the previous state even when an exception passes through it.
  try {
    GradModeGuard no_grad(false);
    throw Error("boom");
  } catch (const Error&) {
  }
  EXPECT_TRUE(GradMode::is_enabled());
}

TEST(Engine, InPlaceOnLeafRequiringGradThrows) {
  Tensor x = leaf({1, 2}, {2});
  Tensor one = ones({2}, DType::Float64);
  EXPECT_THROWS_WITH(Error, add_(x, one), "leaf Variable that requires grad", "in-place");
  EXPECT_THROWS_WITH(Error, mul_(x, one), "leaf Variable");
  EXPECT_THROWS_WITH(Error, fill_(x, 0.0), "leaf Variable");
  EXPECT_THROWS_WITH(Error, copy_(x, one), "leaf Variable");
  EXPECT_EQ(x.version(), 0u);
  EXPECT_TRUE(values_near(x, {1, 2}));
  // Allowed under no_grad (the optimizer-step pattern), and it bumps the version.
  {
    GradModeGuard no_grad(false);
    sub_(x, one, 0.5);
  }
  EXPECT_EQ(x.version(), 1u);
  EXPECT_TRUE(values_near(x, {0.5, 1.5}));
  EXPECT_TRUE(x.is_leaf());
  EXPECT_TRUE(x.requires_grad());
}

TEST(Engine, InPlaceOnNonLeafIsRecorded) {
  Tensor x = leaf({1, 2}, {2});
  Tensor w = leaf({5, 7}, {2});
  Tensor y = mul(x, 1.0);
  add_(y, w, 2.0);  // y = x + 2w
  EXPECT_EQ(y.grad_fn()->name(), "AddBackward0");
  EXPECT_TRUE(values_near(y, {11, 16}));
  sum(mul(y, 3.0)).backward();
  EXPECT_TRUE(values_near(x.grad(), {3, 3}));
  EXPECT_TRUE(values_near(w.grad(), {6, 6}));
}

TEST(Engine, InPlaceMulOnNonLeafKeepsOriginalValueForBackward) {
  // PyTorch saves a copy of self's old value when an in-place op's formula needs it
  // (y.mul_(w): dL/dw needs the old y), so this backward works there.
  Tensor x = leaf({1, 2}, {2});
  Tensor w = leaf({3, 5}, {2});
  Tensor y = mul(x, 1.0);
  mul_(y, w);
  EXPECT_TRUE(values_near(y, {3, 10}));
  EXPECT_NO_THROW(sum(y).backward());
  ASSERT_TRUE(x.grad().defined());
  ASSERT_TRUE(w.grad().defined());
  EXPECT_TRUE(values_near(x.grad(), {3, 5}));
  EXPECT_TRUE(values_near(w.grad(), {1, 2}));  // the old y, not the new one
}

TEST(Engine, InPlaceDivOnNonLeafKeepsOriginalValueForBackward) {
  Tensor x = leaf({1, 2}, {2});
  Tensor w = leaf({2, 4}, {2});
  Tensor y = mul(x, 1.0);
  div_(y, w);
  EXPECT_NO_THROW(sum(y).backward());
  ASSERT_TRUE(w.grad().defined());
  EXPECT_TRUE(values_near(x.grad(), {0.5, 0.25}));
  EXPECT_TRUE(values_near(w.grad(), {-0.25, -0.125}));  // -old_y / w^2
}

TEST(Engine, FillOnNonLeafCutsGradientToHistory) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = mul(x, 2.0);
  fill_(y, 3.0);
  EXPECT_EQ(y.grad_fn()->name(), "FillBackward0");
  sum(mul(y, x)).backward();  // y is the constant 3 now: only the direct path counts
  EXPECT_TRUE(values_near(x.grad(), {3, 3}));
}

TEST(Engine, CopyIntoPlainTensorRecordsHistory) {
  Tensor x = leaf({1, 2}, {2});
  Tensor dst = zeros({2, 2}, DType::Float64);
  copy_(dst, x);  // dst now depends on x
  EXPECT_TRUE(dst.requires_grad());
  EXPECT_FALSE(dst.is_leaf());
  sum(mul(dst, 2.0)).backward();
  EXPECT_TRUE(values_near(x.grad(), {4, 4}));
}

TEST(Engine, LeafModifiedUnderNoGradBeforeBackwardIsDetected) {
  Tensor x = leaf({1, 2}, {2});
  Tensor out = sum(mul(x, x));  // saves x
  {
    GradModeGuard no_grad(false);
    add_(x, ones({2}, DType::Float64));  // e.g. an optimizer step before backward
  }
  EXPECT_THROWS_WITH(Error, out.backward(), "modified by an inplace operation");
}

TEST(Engine, ViewOfModifiedBaseTakesItsHistoryFromTheBase) {
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});
  Tensor y = mul(x, 1.0);
  Tensor v = select(y, 0, 0);
  mul_(y, gctest::tensor({3}, {}));  // in place on the base: v's recorded SelectBackward0 is stale
  EXPECT_EQ(v.grad_fn()->name(), "AsStridedBackward0");
  sum(mul(v, 2.0)).backward();
  EXPECT_TRUE(values_near(x.grad(), {6, 6, 0, 0}));
}

TEST(Engine, GradModeDefaultsToEnabledInNewThreads) {
  GradModeGuard no_grad(false);
  bool enabled_in_thread = false;
  std::thread t([&] { enabled_in_thread = GradMode::is_enabled(); });
  t.join();
  EXPECT_TRUE(enabled_in_thread);
  EXPECT_FALSE(GradMode::is_enabled());
}

TEST(Engine, InPlaceOnViewOfLeafIsRefused) {
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});
  Tensor v = select(x, 0, 1);
  EXPECT_THROWS_WITH(Error, add_(v, ones({2}, DType::Float64)), "a view of a leaf Variable that requires grad");
}

TEST(Engine, RequiresGradFlags) {
  Tensor x = tensor({1}, {1});
  EXPECT_FALSE(x.requires_grad());
  x.set_requires_grad(true);
  EXPECT_TRUE(x.requires_grad());
  Tensor y = mul(x, 2.0);
  EXPECT_THROWS_WITH(Error, y.set_requires_grad(false), "leaf");
  y.set_requires_grad(true);  // a no-op on a non-leaf
  EXPECT_THROWS_WITH(Error, tensor({1}, {1}).retain_grad(), "requires_grad=False");
  // Comparisons are never differentiable.
  EXPECT_FALSE(gt(x, zeros({1}, DType::Float64)).requires_grad());
  // An op mixing a tensor that requires grad with one that does not requires grad.
  EXPECT_TRUE(add(x, tensor({1}, {1})).requires_grad());
  x.detach_();
  EXPECT_FALSE(x.requires_grad());
}

TEST(Engine, RunBackwardCapturesWithoutTouchingGrad) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor w = leaf({4, 5, 6}, {3});
  Tensor out = sum(mul(x, w));
  TensorList g = run_backward({out}, {Tensor()}, /*keep_graph=*/true, /*create_graph=*/false, {x});
  ASSERT_EQ(g.size(), 1u);
  ASSERT_TRUE(g[0].defined());
  EXPECT_TRUE(values_near(g[0], {4, 5, 6}));
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());

  // Several inputs, including a non-leaf one.
  Tensor h = mul(x, 2.0);
  Tensor out2 = sum(mul(h, h));
  TensorList g2 = run_backward({out2}, {Tensor()}, false, false, {h, x});
  ASSERT_EQ(g2.size(), 2u);
  EXPECT_TRUE(values_near(g2[0], {4, 8, 12}));   // 2h
  EXPECT_TRUE(values_near(g2[1], {8, 16, 24}));  // 8x
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, RunBackwardUnusedInputs) {
  Tensor x = leaf({1}, {1});
  Tensor unused = leaf({2}, {1});
  Tensor out = sum(mul(x, 3.0));
  EXPECT_THROWS_WITH(Error, run_backward({out}, {Tensor()}, true, false, {x, unused}), "allow_unused");
  TensorList g = run_backward({out}, {Tensor()}, false, false, {x, unused}, /*allow_unused=*/true);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_TRUE(values_near(g[0], {3}));
  EXPECT_FALSE(g[1].defined());
  EXPECT_THROWS_WITH(Error, run_backward({sum(mul(x, 1.0))}, {Tensor()}, false, false, {tensor({1}, {1})}),
                     "does not require grad");
}

TEST(Engine, RunBackwardSeveralRoots) {
  Tensor x = leaf({1, 2}, {2});
  Tensor a = sum(mul(x, 2.0));
  Tensor b = mul(x, x);
  run_backward({a, b}, {Tensor(), tensor({1, 1}, {2})}, false, false);
  EXPECT_TRUE(values_near(x.grad(), {4, 6}));
  EXPECT_THROWS_WITH(Error, run_backward({a}, {}, false, false), "one gradient per output");
}

TEST(Engine, BroadcastGradientReducedToInputShape) {
  Tensor x = leaf({1, 2, 3}, {3, 1});
  Tensor y = leaf({1, 1, 1, 1}, {1, 4});
  sum(add(x, y)).backward();
  ASSERT_EQ(x.grad().shape(), (Shape{3, 1}));
  ASSERT_EQ(y.grad().shape(), (Shape{1, 4}));
  EXPECT_TRUE(values_near(x.grad(), {4, 4, 4}));
  EXPECT_TRUE(values_near(y.grad(), {3, 3, 3, 3}));

  // mul with a 0-dim and a leading broadcast dim.
  Tensor s = leaf({2}, {});
  Tensor v = leaf({1, 2, 3}, {3});
  Tensor m = leaf({1, 1, 1, 1, 1, 1}, {2, 3});
  sum(mul(mul(m, v), s)).backward();
  EXPECT_EQ(s.grad().dim(), 0);
  EXPECT_NEAR(s.grad().item(), 12, 1e-12);
  EXPECT_EQ(v.grad().shape(), Shape{3});
  EXPECT_TRUE(values_near(v.grad(), {4, 4, 4}));
  EXPECT_TRUE(values_near(m.grad(), {2, 4, 6, 2, 4, 6}));
}

TEST(Engine, GradientCastToInputDtype) {
  Tensor x = tensor({1, 2}, {2}, DType::Float32);
  x.set_requires_grad(true);
  Tensor w = tensor({3, 4}, {2}, DType::Float64);
  sum(mul(x, w)).backward();  // float64 result; the gradient of x comes back as float32
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().dtype(), DType::Float32);
  EXPECT_TRUE(values_near(x.grad(), {3, 4}));
}

TEST(Engine, ExplicitGradientIsNotAliasedIntoGrad) {
  Tensor x = leaf({1, 2}, {2});
  Tensor g = tensor({5, 6}, {2});
  x.backward(g);
  ASSERT_TRUE(x.grad().defined());
  EXPECT_NE(x.grad().storage(), g.storage());
  g.data<double>()[0] = 100;
  EXPECT_TRUE(values_near(x.grad(), {5, 6}));
  // A broadcast gradient (stride 0) is materialised, not stored as a view.
  Tensor y = leaf({1, 2, 3}, {3});
  sum(y).backward();
  for (int64_t s : y.grad().strides()) EXPECT_NE(s, 0);
  y.grad().data<double>()[0] = 9;  // writable without touching the other elements
  EXPECT_TRUE(values_near(y.grad(), {9, 1, 1}));
}

TEST(Engine, RetainGradKeepsNonLeafGradient) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = mul(x, 2.0);
  y.retain_grad();
  EXPECT_TRUE(y.retains_grad());
  sum(mul(y, y)).backward();
  EXPECT_TRUE(values_near(x.grad(), {8, 16}));
  ASSERT_TRUE(y.grad().defined()) << "retain_grad() on a non-leaf must populate its .grad during backward";
  EXPECT_TRUE(values_near(y.grad(), {4, 8}));
}

TEST(Engine, RetainGradAccumulatesAndWorksOnRoots) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = mul(x, 3.0);
  y.retain_grad();
  Tensor g = tensor({1, -1}, {2});
  y.backward(g, /*retain_graph=*/true);
  ASSERT_TRUE(y.grad().defined());
  EXPECT_TRUE(values_near(y.grad(), {1, -1}));
  EXPECT_NE(y.grad().storage(), g.storage()) << "the retained grad must not alias the caller's gradient";
  y.backward(g);
  EXPECT_TRUE(values_near(y.grad(), {2, -2}));
  EXPECT_TRUE(values_near(x.grad(), {6, -6}));
}

TEST(Engine, RetainGradSurvivesInPlaceOp) {
  // PyTorch moves the retain_grad hook to the new grad_fn when an in-place op rebases the history.
  Tensor x = leaf({1, 2}, {2});
  Tensor y = mul(x, 1.0);
  y.retain_grad();
  mul_(y, tensor({2, 2}, {2}));
  sum(mul(y, 5.0)).backward();
  ASSERT_TRUE(y.grad().defined()) << "retain_grad() was lost when an in-place op replaced the tensor's grad_fn";
  EXPECT_TRUE(values_near(y.grad(), {5, 5}));
  EXPECT_TRUE(values_near(x.grad(), {10, 10}));
}

TEST(Engine, CreateGraphGivesSecondDerivative) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor y = sum(pow(x, 3));
  TensorList g = run_backward({y}, {Tensor()}, true, /*create_graph=*/true, {x});
  ASSERT_TRUE(g[0].defined());
  EXPECT_TRUE(g[0].requires_grad());
  EXPECT_TRUE(values_near(g[0], {3, 12, 27}));
  TensorList gg = run_backward({sum(g[0])}, {Tensor()}, false, false, {x});
  EXPECT_TRUE(values_near(gg[0], {6, 12, 18}));
  // Without create_graph the gradient has no history.
  TensorList g3 = run_backward({y}, {Tensor()}, false, false, {x});
  EXPECT_FALSE(g3[0].requires_grad());
}

TEST(Engine, NodeNamesAndEdges) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = mul(x, tensor({3, 4}, {2}));
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_EQ(y.grad_fn()->name(), "MulBackward0");
  const auto& edges = y.grad_fn()->next_edges();
  ASSERT_EQ(edges.size(), 2u);
  ASSERT_TRUE(edges[0].valid());
  EXPECT_EQ(edges[0].fn->name(), "AccumulateGrad");
  EXPECT_FALSE(edges[1].valid());  // the constant needs no gradient
  EXPECT_EQ(static_cast<AccumulateGrad*>(edges[0].fn.get())->variable().impl(), x.impl());
  // The same leaf always flows into the same AccumulateGrad while one is alive.
  Tensor z = add(x, 1.0);
  EXPECT_EQ(z.grad_fn()->next_edges()[0].fn, edges[0].fn);
  EXPECT_EQ(expand(x, {3, 2}).grad_fn()->name(), "ExpandBackward0");
  EXPECT_EQ(select(x, 0, 0).grad_fn()->name(), "SelectBackward0");
  EXPECT_EQ(sum(x, {0}).grad_fn()->name(), "SumBackward1");
}

}  // namespace
