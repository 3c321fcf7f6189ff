// The engine's hook points, backward(inputs=), anomaly checks and concurrent accumulation, through the
// C++ API (the Python hooks are thin wrappers over these).
#include <thread>

#include "gradcore/autograd/engine.h"
#include "gradcore/grad_mode.h"
#include "test_util.h"

namespace {

using namespace gradcore;
using gctest::leaf;
using gctest::values_near;

TEST(Hooks, TensorPreAndPostHooksRunInPyTorchsOrder) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = mul(x, 2.0);
  std::vector<std::string> order;
  y.grad_fn()->add_tensor_hook(0, [&](const Tensor& g) {
    order.push_back("tensor");
    return mul(g, 10.0);
  });
  y.grad_fn()->add_pre_hook([&](const TensorList& g) {
    order.push_back("pre");
    EXPECT_TRUE(values_near(g[0], {10, 10}));  // sees the tensor hook's replacement
    return TensorList{};
  });
  y.grad_fn()->add_post_hook([&](const TensorList& produced, const TensorList&) {
    order.push_back("post");
    return TensorList{add(produced[0], 1.0), produced[1]};  // mul(x, 2.0) has two inputs
  });
  x.impl()->leaf_hooks = std::make_shared<LeafHooks>();
  x.impl()->leaf_hooks->grad.emplace_back(next_hook_id(), [&](const Tensor& g) {
    order.push_back("leaf");
    return Tensor();
  });
  x.impl()->leaf_hooks->post_accumulate.emplace_back(next_hook_id(), [&](const Tensor& t) {
    order.push_back("accumulated");
    EXPECT_TRUE(values_near(t.grad(), {21, 21}));
  });
  sum(y).backward();
  EXPECT_EQ(order, (std::vector<std::string>{"tensor", "pre", "post", "leaf", "accumulated"}));
  EXPECT_TRUE(values_near(x.grad(), {21, 21}));
}

TEST(Hooks, RemovedHookDoesNotRun) {
  Tensor x = leaf({1}, {1});
  Tensor y = mul(x, 2.0);
  int calls = 0;
  uint64_t id = y.grad_fn()->add_pre_hook([&](const TensorList&) {
    ++calls;
    return TensorList{};
  });
  EXPECT_TRUE(y.grad_fn()->remove_hook(id));
  EXPECT_FALSE(y.grad_fn()->remove_hook(id));
  sum(y).backward();
  EXPECT_EQ(calls, 0);
}

TEST(Hooks, ExceptionFromHookPropagates) {
  Tensor x = leaf({1}, {1});
  Tensor y = mul(x, 2.0);
  y.grad_fn()->add_tensor_hook(0, [](const Tensor&) -> Tensor { throw ValueError("hook failed"); });
  EXPECT_THROWS_WITH(ValueError, sum(y).backward(), "hook failed");
}

TEST(Engine, BackwardWithInputsAccumulatesOnlyThere) {
  Tensor p = leaf({1, 2}, {2}), q = leaf({3}, {1});
  Tensor h = mul(p, q);
  run_backward({sum(mul(h, h))}, {Tensor()}, false, false, {p, h}, true, /*accumulate_inputs=*/true);
  EXPECT_TRUE(values_near(p.grad(), {18, 36}));
  EXPECT_FALSE(q.grad().defined());
  EXPECT_TRUE(values_near(h.grad(), {6, 12}));
}

TEST(Engine, GradRunsOnlyTheNodesLeadingToItsInputs) {
  Tensor a = leaf({1}, {1}), b = leaf({2}, {1});
  Tensor bb = mul(b, 5.0);
  int fired = 0;
  bb.grad_fn()->add_pre_hook([&](const TensorList&) {
    ++fired;
    return TensorList{};
  });
  TensorList g = run_backward({sum(add(mul(a, 3.0), bb))}, {Tensor()}, false, false, {a});
  EXPECT_TRUE(values_near(g[0], {3}));
  EXPECT_EQ(fired, 0);
}

TEST(Engine, AnomalyModeNamesTheNodeThatProducedNaN) {
  AnomalyMode::set_enabled(true);
  Tensor x = leaf({0, 1}, {2});
  Tensor z = div(sqrt(x), x);
  EXPECT_THROWS_WITH(Error, sum(z).backward(), "Function 'DivBackward0' returned nan values in its 1th output.");
  AnomalyMode::set_enabled(false);
  Tensor y = leaf({0, 1}, {2});
  sum(div(sqrt(y), y)).backward();  // without anomaly mode, NaN gradients pass silently
  EXPECT_TRUE(std::isnan(gctest::values(y.grad())[0]));
}

TEST(Engine, InferenceTensorsAreNotSavedForBackward) {
  Tensor t;
  {
    GradModeGuard no_grad(false);
    InferenceMode::set_enabled(true);
    t = mul(ones({2}, DType::Float64), 2.0);
    InferenceMode::set_enabled(false);
  }
  EXPECT_TRUE(t.impl()->is_inference);
  Tensor w = leaf({1, 2}, {2});
  EXPECT_THROWS_WITH(Error, mul(w, t), "Inference tensors cannot be saved for backward");
}

TEST(Engine, ThreadsSharingALeafAccumulateEveryGradient) {
  Tensor w = leaf(std::vector<double>(256, 0.0), {256});
  auto work = [&](double scale) {
    for (int i = 0; i < 200; ++i) sum(mul(w, scale)).backward();
  };
  std::thread a(work, 1.0), b(work, 2.0);
  a.join();
  b.join();
  EXPECT_TRUE(values_near(w.grad(), std::vector<double>(256, 600.0)));
}

}  // namespace
