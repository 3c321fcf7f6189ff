// Lifetimes: saved tensors, graphs and leaves are freed when nothing needs them, and very deep
// graphs are run and destroyed without recursion.
#include <chrono>

#include "test_util.h"

namespace {

using namespace gradcore;
using gctest::leaf;
using gctest::values_near;

// ---- Saved tensors and graph lifetime ------------------------------------------------------------

TEST(Memory, SavedTensorsReleasedAfterBackward) {
  Tensor x = leaf({0.5, 1.5}, {2});
  std::weak_ptr<TensorImpl> weak_h;
  Tensor out;
  {
    Tensor h = exp(x);        // only MulBackward0 (below) keeps h's TensorImpl once `h` goes out of scope
    out = sum(mul(h, x));
    weak_h = h.impl_ptr();
  }
  EXPECT_FALSE(weak_h.expired()) << "the graph must keep a saved input alive until backward";
  out.backward();
  EXPECT_TRUE(weak_h.expired()) << "backward without retain_graph must free saved tensors";
  out = Tensor();
  EXPECT_TRUE(weak_h.expired());
}

TEST(Memory, RetainedGraphKeepsSavedTensorsUntilOutputDropped) {
  Tensor x = leaf({0.5, 1.5}, {2});
  std::weak_ptr<TensorImpl> weak_h;
  Tensor out;
  {
    Tensor h = exp(x);
    out = sum(mul(h, x));
    weak_h = h.impl_ptr();
  }
  out.backward(Tensor(), /*retain_graph=*/true);
  EXPECT_FALSE(weak_h.expired());
  out = Tensor();
  EXPECT_TRUE(weak_h.expired()) << "dropping the output must free the graph and its saved tensors";
}

TEST(Memory, GraphFreedWhenOutputDropped) {
  Tensor x = leaf({1, 2}, {2});
  std::weak_ptr<Node> weak_root, weak_mid, weak_acc;
  std::weak_ptr<TensorImpl> weak_intermediate;
  {
    Tensor h = mul(exp(x), x);
    Tensor out = sum(h);
    weak_root = out.grad_fn();
    weak_mid = h.grad_fn();
    weak_acc = x.impl()->grad_accumulator;
    weak_intermediate = h.impl_ptr();
    ASSERT_FALSE(weak_root.expired());
    ASSERT_FALSE(weak_acc.expired());
  }
  EXPECT_TRUE(weak_root.expired());
  EXPECT_TRUE(weak_mid.expired());
  EXPECT_TRUE(weak_acc.expired()) << "the AccumulateGrad node lives only as long as a graph uses it";
  EXPECT_TRUE(weak_intermediate.expired());
  // The leaf survives and still works.
  sum(x).backward();
  EXPECT_TRUE(values_near(x.grad(), {1, 1}));
}

TEST(Memory, GradDoesNotKeepGraphAlive) {
  Tensor x = leaf({1, 2}, {2});
  std::weak_ptr<Node> weak_root;
  {
    Tensor out = sum(mul(x, x));
    weak_root = out.grad_fn();
    out.backward();
  }
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(x.grad().requires_grad());
  EXPECT_TRUE(weak_root.expired());
}

TEST(Memory, LeafNotKeptAliveByItsAccumulateGrad) {
  std::weak_ptr<TensorImpl> weak_leaf;
  std::weak_ptr<Node> weak_acc;
  {
    Tensor x = leaf({1, 2}, {2});
    Tensor y = mul(x, x);
    sum(y).backward(Tensor(), /*retain_graph=*/true);
    weak_leaf = x.impl_ptr();
    weak_acc = x.impl()->grad_accumulator;
    ASSERT_FALSE(weak_acc.expired());
    // The graph (through AccumulateGrad) keeps the leaf alive while it exists...
    Tensor keep_graph = y;
    x = Tensor();
    EXPECT_FALSE(weak_leaf.expired());
  }
  // ...but once every handle is gone nothing is left: no leaf <-> AccumulateGrad cycle.
  EXPECT_TRUE(weak_leaf.expired());
  EXPECT_TRUE(weak_acc.expired());
}

TEST(Memory, InPlaceOpDoesNotCreateReferenceCycle) {
  // mul_ on a non-leaf records MulBackward0 as the tensor's grad_fn; if that node saved the
  // tensor itself (TensorImpl -> grad_fn -> saved self -> same TensorImpl) nothing would ever free them.
  std::weak_ptr<TensorImpl> weak_y;
  std::weak_ptr<Node> weak_node;
  {
    Tensor x = leaf({1, 2}, {2});
    Tensor w = leaf({3, 4}, {2});
    Tensor y = mul(x, 1.0);
    mul_(y, w);
    weak_y = y.impl_ptr();
    weak_node = y.grad_fn();
  }
  EXPECT_TRUE(weak_node.expired()) << "MulBackward0 of an in-place mul_ leaked (reference cycle)";
  EXPECT_TRUE(weak_y.expired()) << "the in-place result leaked (reference cycle)";
}

TEST(Memory, ViewKeepsItsBaseAliveUntilItIsDropped) {
  std::weak_ptr<TensorImpl> weak_base;
  std::weak_ptr<Storage> weak_storage;
  {
    Tensor v;
    {
      Tensor base = gctest::iota({3, 4});
      v = select(base, 0, 2);
      weak_base = base.impl_ptr();
      weak_storage = base.storage();
    }
    EXPECT_FALSE(weak_base.expired());  // like PyTorch's _base: in-place writes to v reach the base's history
    EXPECT_TRUE(values_near(v, {8, 9, 10, 11}));
  }
  EXPECT_TRUE(weak_base.expired());
  EXPECT_TRUE(weak_storage.expired());
}

// A graph kept in static storage is destroyed by exit() after the main thread's thread_local
// objects. Node's destructor must not touch thread_local state that has already been destroyed
// (ASan reports heap-use-after-free and the child exits non-zero; the normal build may not notice).
Tensor& static_graph() {
  static Tensor keep = [] {
    Tensor x = leaf({1.0}, {1});
    return mul(mul(x, 2.0), 3.0);
  }();
  return keep;
}

TEST(MemoryDeathTest, GraphInStaticStorageDestroyedAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        { Tensor warm = mul(leaf({1.0}, {1}), 2.0); }  // the destructor's queue has been used before
        EXPECT_NE(static_graph().grad_fn(), nullptr);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

// ---- Deep graphs ---------------------------------------------------------------------------------

#if GC_TEST_UNDER_ASAN
constexpr int64_t kDeep = 100000;
#else
constexpr int64_t kDeep = 1000000;
#endif

// y = ((x * 1) + 0) * 1 ... : kDeep nodes in one chain.
Tensor deep_chain(const Tensor& x, int64_t n) {
  Tensor y = x;
  for (int64_t i = 0; i < n; ++i) y = (i & 1) ? add(y, 0.0) : mul(y, 1.0);
  return y;
}

TEST(DeepGraph, MillionOpChainBackwardAndFree) {
  Tensor x = leaf({2.0}, {1});
  std::weak_ptr<Node> weak_root, weak_acc;
  {
    Tensor y = deep_chain(x, kDeep);
    weak_root = y.grad_fn();
    weak_acc = x.impl()->grad_accumulator;
    EXPECT_NEAR(y.item(), 2.0, 0);
    y.backward();
  }
  EXPECT_TRUE(weak_root.expired());
  EXPECT_TRUE(weak_acc.expired());
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().item(), 1.0);
}

TEST(DeepGraph, MillionOpChainFreedWithoutBackward) {
  Tensor x = leaf({2.0}, {1});
  std::weak_ptr<Node> weak_root, weak_acc;
  {
    Tensor y = deep_chain(x, kDeep);
    weak_root = y.grad_fn();
    weak_acc = x.impl()->grad_accumulator;
  }
  EXPECT_TRUE(weak_root.expired());
  EXPECT_TRUE(weak_acc.expired());
  EXPECT_FALSE(x.grad().defined());
}

// Each node saves the previous output (a TensorImpl that owns the previous node), so freeing the
// chain also goes through saved tensors.
TEST(DeepGraph, MillionOpChainWithSavedTensorsFreedWithoutBackward) {
  Tensor x = leaf({1.0}, {1});
  Tensor w = leaf({1.0}, {1});
  std::weak_ptr<Node> weak_root;
  {
    Tensor y = x;
    for (int64_t i = 0; i < kDeep; ++i) y = mul(y, w);
    weak_root = y.grad_fn();
  }
  EXPECT_TRUE(weak_root.expired());
}

TEST(DeepGraph, ChainWithSavedTensorsBackward) {
  const int64_t n = kDeep / 10;
  Tensor x = leaf({1.0}, {1});
  Tensor w = leaf({1.0}, {1});
  Tensor y = x;
  for (int64_t i = 0; i < n; ++i) y = mul(y, w);
  y.backward();
  y = Tensor();
  EXPECT_EQ(x.grad().item(), 1.0);
  EXPECT_EQ(w.grad().item(), static_cast<double>(n));  // d/dw x * w^n at w = 1
}

TEST(DeepGraph, WideFanIn) {
  // One leaf used by many independent branches: one AccumulateGrad with many incoming edges.
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor acc = mul(x, 0.0);
  for (int i = 0; i < 2000; ++i) acc = add(acc, mul(x, 1.0));
  sum(acc).backward();
  EXPECT_TRUE(values_near(x.grad(), {2000, 2000}));
}

}  // namespace
