// Views, cat and advanced indexing through the C++ API: storage sharing, gradients (first and
// second order) and in-place writes through views (CopySlices).
#include "test_util.h"

namespace {

using namespace gradcore;
using gctest::gradcheck;
using gctest::gradgradcheck;
using gctest::iota;
using gctest::transposed_uniform;
using gctest::uniform;
using gctest::values;
using gctest::values_near;

Tensor u(const Shape& s) { return uniform(s, -1, 1); }
Tensor idx(const std::vector<double>& v, const Shape& s) { return gctest::tensor(v, s, DType::Int64); }

TEST(Views, ShareStorageAndVersion) {
  Tensor base = iota({3, 4});
  Tensor t = transpose(base, 0, 1), s = slice(base, 1, 1, std::nullopt, 2), n = narrow(unsqueeze(base, 0), 2, 1, 2);
  for (const Tensor& v : {t, s, n}) {
    EXPECT_EQ(v.storage(), base.storage());
    EXPECT_EQ(v.impl()->view_base.get(), base.impl());
  }
  EXPECT_EQ(t.shape(), (Shape{4, 3}));
  EXPECT_EQ(t.strides(), (Shape{1, 4}));
  EXPECT_EQ(s.shape(), (Shape{3, 2}));
  EXPECT_EQ(s.strides(), (Shape{4, 2}));
  EXPECT_EQ(s.storage_offset(), 1);
  Tensor row = select(t, 1, 2);
  fill_(row, 7.0);
  EXPECT_TRUE(values_near(select(base, 0, 2), {7, 7, 7, 7}));
  EXPECT_EQ(base.version(), 1u);
  EXPECT_EQ(t.version(), 1u);
}

TEST(Views, PermuteSqueezeFlatten) {
  Tensor x = iota({2, 1, 3});
  Tensor p = permute(x, {2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{3, 2, 1}));
  EXPECT_TRUE(values_near(flatten(p), {0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(squeeze(x).shape(), (Shape{2, 3}));
  EXPECT_EQ(squeeze(x, 0).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(squeeze(x, std::vector<int64_t>{1, 2}).shape(), (Shape{2, 3}));
  EXPECT_EQ(unflatten(iota({2, 6}), 1, {3, -1}).shape(), (Shape{2, 3, 2}));
  EXPECT_THROWS_WITH(IndexError, permute(x, {0, 1, 3}), "Dimension out of range");
  EXPECT_THROWS_WITH(Error, permute(x, {0, 0, 1}), "duplicate dims");
}

TEST(Views, SplitChunkUnbind) {
  Tensor x = iota({5, 2});
  TensorList parts = split(x, 2);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2].shape(), (Shape{1, 2}));
  EXPECT_EQ(chunk(x, 3).size(), 3u);
  EXPECT_EQ(chunk(iota({3}), 5).size(), 3u);
  TensorList rows = unbind(x, 1);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(values_near(rows[1], {1, 3, 5, 7, 9}));
  EXPECT_THROWS_WITH(Error, split_with_sizes(x, {1, 1}), "sum exactly to 5");
}

TEST(Views, Gradients) {
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return transpose(t[0], 0, 2); }, {u({2, 3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return permute(t[0], {1, 0}); }, {transposed_uniform(3, 4, -1, 1)}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return slice(t[0], 1, -3, std::nullopt, 2); }, {u({2, 5})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return squeeze(unsqueeze(t[0], 1)); }, {u({3, 2})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return mul(split(t[0], 2, 1)[1], 3.0); }, {u({2, 5})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return unbind(t[0], 0)[2]; }, {u({3, 2})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return as_strided(t[0], {3, 3}, {1, 1}, 0); }, {u({6})}));
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return cat({t[0], t[1], t[0]}, 1); }, {u({2, 1}), u({2, 3})}));
}

TEST(Views, SecondOrderGradients) {
  auto cube_slice = [](const TensorList& t) {
    Tensor s = slice(t[0], 0, 1, std::nullopt, 1);
    return mul(mul(s, s), s);
  };
  EXPECT_TRUE(gradgradcheck(cube_slice, {u({4, 2})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) {
    Tensor c = cat({t[0], t[1]}, 0);
    return mul(c, c);
  }, {u({2, 2}), u({1, 2})}));
  EXPECT_TRUE(gradgradcheck([](const TensorList& t) {
    Tensor a = as_strided(t[0], {2, 2}, {1, 1}, 0);
    return mul(a, a);
  }, {u({3})}));
}

TEST(Indexing, IndexAndIndexPut) {
  Tensor x = iota({3, 4});
  Tensor rows = index(x, {idx({2, 0}, {2})});
  EXPECT_TRUE(values_near(rows, {8, 9, 10, 11, 0, 1, 2, 3}));
  // Non-adjacent index tensors move the broadcast dims first (NumPy's rule).
  Tensor y = iota({2, 3, 4});
  Tensor picked = index(y, {idx({0, 1}, {2}), std::nullopt, idx({3, 0}, {2})});
  EXPECT_EQ(picked.shape(), (Shape{2, 3}));
  EXPECT_TRUE(values_near(picked, {3, 7, 11, 12, 16, 20}));
  Tensor mask = gt(x, gctest::tensor({5}, {}));
  EXPECT_TRUE(values_near(index(x, {mask}), {6, 7, 8, 9, 10, 11}));
  Tensor acc = zeros({3}, DType::Float64);
  index_put_(acc, {idx({0, 0, 2}, {3})}, gctest::tensor({1, 2, 3}, {3}), true);
  EXPECT_TRUE(values_near(acc, {3, 0, 3}));
  EXPECT_THROWS_WITH(IndexError, index(x, {idx({3}, {1})}), "index 3 is out of bounds for dimension 0 with size 3");
  EXPECT_THROWS_WITH(IndexError, index(x, {idx({0, 1}, {2}), idx({0, 1, 2}, {3})}), "could not be broadcast");
}

TEST(Indexing, Gradients) {
  Tensor rows = idx({0, 2, 2, 1}, {4});
  EXPECT_TRUE(gradcheck([rows](const TensorList& t) { return index(t[0], {rows}); }, {u({3, 2})}));
  EXPECT_TRUE(gradcheck([rows](const TensorList& t) { return index_put(t[0], {rows}, t[1], true); }, {u({3, 2}), u({4, 2})}));
  Tensor distinct = idx({2, 0}, {2});
  EXPECT_TRUE(gradcheck([distinct](const TensorList& t) { return index_put(t[0], {distinct}, t[1], false); },
                        {u({3, 2}), u({2})}));
  EXPECT_TRUE(gradgradcheck([rows](const TensorList& t) {
    Tensor g = index(t[0], {rows});
    return mul(g, g);
  }, {u({3, 2})}));
}

TEST(CopySlices, WriteThroughViewOfGraphTensor) {
  // y = 2x; y[1] *= z; loss = sum(y * w). d/dx = 2 w except row 1: 2 z w; d/dz = sum over row 1 of 2 x w.
  EXPECT_TRUE(gradcheck([](const TensorList& t) {
    Tensor y = mul(t[0], 2.0);
    Tensor row = select(y, 0, 1);
    mul_(row, t[1]);
    return y;
  }, {u({3, 4}), u({4})}));
  // Writes into a transposed strided view, then a read of another view of the same base.
  EXPECT_TRUE(gradcheck([](const TensorList& t) {
    Tensor y = mul(t[0], 1.0);
    Tensor col = slice(transpose(y, 0, 1), 0, 1, 3, 1);
    copy_(col, mul(t[1], t[1]));
    return mul(select(y, 0, 0), 3.0);
  }, {u({3, 4}), u({2, 3})}));
  Tensor x = u({3});
  x.set_requires_grad(true);
  Tensor y = mul(x, 1.0);
  Tensor v = slice(y, 0, 1, std::nullopt, 1);
  add_(v, ones({2}, DType::Float64));
  EXPECT_EQ(y.grad_fn()->name(), "CopySlices");
  EXPECT_EQ(v.grad_fn()->name(), "AsStridedBackward0");
}

TEST(CopySlices, ErrorsLikePyTorch) {
  Tensor leaf = u({3});
  leaf.set_requires_grad(true);
  Tensor first = select(leaf, 0, 0);
  EXPECT_THROWS_WITH(Error, mul_(first, gctest::tensor({2}, {})), "a view of a leaf Variable that requires grad");
  Tensor y = mul(leaf, 1.0);
  Tensor piece = unbind(y, 0)[1];
  EXPECT_THROWS_WITH(Error, mul_(piece, gctest::tensor({2}, {})), "Output 1 of Unbind is a view");
}

TEST(CopySlices, GraphIsFreed) {
  std::weak_ptr<Node> copy_slices;
  std::weak_ptr<TensorImpl> base;
  {
    Tensor x = u({4});
    x.set_requires_grad(true);
    Tensor y = mul(x, 2.0);
    Tensor head = slice(y, 0, 0, 2, 1);
    mul_(head, gctest::tensor({3}, {}));
    copy_slices = y.grad_fn();
    base = y.impl_ptr();
    sum(y).backward();
  }
  EXPECT_TRUE(copy_slices.expired());
  EXPECT_TRUE(base.expired());
}

}  // namespace
