// Shared helpers for the gradcore C++ tests: building tensors from values, reading them back in
// logical (row-major) order whatever their strides, exception checks, and a finite-difference
// gradient checker.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "gradcore/autograd/engine.h"
#include "gradcore/autograd/node.h"
#include "gradcore/error.h"
#include "gradcore/grad_mode.h"
#include "gradcore/ops.h"
#include "gradcore/tensor.h"

// The sanitizer build runs the deep-graph tests with a smaller chain (ASan makes every allocation
// several times slower); the normal build always uses 10^6.
#if defined(__SANITIZE_ADDRESS__)
#define GC_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GC_TEST_UNDER_ASAN 1
#endif
#endif
#ifndef GC_TEST_UNDER_ASAN
#define GC_TEST_UNDER_ASAN 0
#endif

namespace gctest {

using gradcore::DType;
using gradcore::Shape;
using gradcore::Tensor;
using gradcore::TensorList;

/// Offsets (in elements, relative to the first element) of every logical element of `t`, row-major.
inline std::vector<int64_t> element_offsets(const Tensor& t) {
  std::vector<int64_t> out;
  const int64_t n = t.numel();
  if (n == 0) return out;
  out.reserve(static_cast<size_t>(n));
  const Shape& sizes = t.shape();
  const Shape& strides = t.strides();
  std::vector<int64_t> idx(sizes.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0;
    for (size_t d = 0; d < sizes.size(); ++d) off += idx[d] * strides[d];
    out.push_back(off);
    for (size_t d = sizes.size(); d-- > 0;) {
      if (++idx[d] < sizes[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/// The logical elements of `t` as doubles, row-major, honouring strides and offset (any dtype).
inline std::vector<double> values(const Tensor& t) {
  std::vector<double> out;
  for (int64_t off : element_offsets(t)) {
    switch (t.dtype()) {
      case DType::Bool: out.push_back(t.data<bool>()[off] ? 1.0 : 0.0); break;
      case DType::Int64: out.push_back(static_cast<double>(t.data<int64_t>()[off])); break;
      case DType::Float32: out.push_back(static_cast<double>(t.data<float>()[off])); break;
      case DType::Float64: out.push_back(t.data<double>()[off]); break;
    }
  }
  return out;
}

/// A contiguous tensor of `shape` holding `v` (row-major) converted to `dtype`.
inline Tensor tensor(const std::vector<double>& v, const Shape& shape, DType dtype = DType::Float64) {
  Tensor t = gradcore::empty(shape, dtype);
  EXPECT_EQ(static_cast<int64_t>(v.size()), t.numel()) << "tensor(): wrong number of values";
  for (int64_t i = 0; i < t.numel() && i < static_cast<int64_t>(v.size()); ++i) {
    switch (dtype) {
      case DType::Bool: t.data<bool>()[i] = v[i] != 0; break;
      case DType::Int64: t.data<int64_t>()[i] = static_cast<int64_t>(v[i]); break;
      case DType::Float32: t.data<float>()[i] = static_cast<float>(v[i]); break;
      case DType::Float64: t.data<double>()[i] = v[i]; break;
    }
  }
  return t;
}

/// 0, 1, ..., numel-1 in `shape`.
inline Tensor iota(const Shape& shape, DType dtype = DType::Float64) {
  std::vector<double> v(static_cast<size_t>(gradcore::shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return tensor(v, shape, dtype);
}

/// A float64 leaf requiring grad with the given values.
inline Tensor leaf(const std::vector<double>& v, const Shape& shape) {
  Tensor t = tensor(v, shape, DType::Float64);
  t.set_requires_grad(true);
  return t;
}

/// Uniform values in [lo, hi) in float64 (deterministic: the caller seeds).
inline Tensor uniform(const Shape& shape, double lo, double hi) {
  Tensor u = gradcore::rand(shape, DType::Float64);
  double* p = u.data<double>();
  for (int64_t i = 0; i < u.numel(); ++i) p[i] = lo + (hi - lo) * p[i];
  return u;
}

/// A non-contiguous (transposed) float64 tensor of shape (rows, cols) with values in [lo, hi):
/// strides (1, rows) over a fresh (cols, rows) buffer.
inline Tensor transposed_uniform(int64_t rows, int64_t cols, double lo, double hi) {
  Tensor base = uniform({cols, rows}, lo, hi);
  Tensor t = gradcore::make_view(base, {rows, cols}, {1, rows}, 0);
  EXPECT_FALSE(t.is_contiguous());
  return t;
}

/// Elementwise comparison of a tensor's logical values with `expected`.
inline ::testing::AssertionResult values_near(const Tensor& t, const std::vector<double>& expected,
                                              double tol = 1e-12) {
  std::vector<double> got = values(t);
  if (got.size() != expected.size())
    return ::testing::AssertionFailure() << "numel " << got.size() << " != expected " << expected.size();
  for (size_t i = 0; i < got.size(); ++i) {
    double scale = std::max(1.0, std::abs(expected[i]));
    if (!(std::abs(got[i] - expected[i]) <= tol * scale) &&
        !(std::isnan(got[i]) && std::isnan(expected[i])))
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", expected " << expected[i];
  }
  return ::testing::AssertionSuccess();
}

/// Runs `fn`, expecting it to throw exactly `Exc` (or a subclass) whose message contains every
/// string of `needles`.
template <typename Exc, typename Fn>
::testing::AssertionResult throws_with(Fn&& fn, std::vector<std::string> needles = {}) {
  try {
    fn();
  } catch (const Exc& e) {
    std::string msg = e.what();
    for (const std::string& n : needles)
      if (msg.find(n) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks \"" << n << "\": " << msg;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw the wrong exception class: " << e.what();
  } catch (...) {
    return ::testing::AssertionFailure() << "threw a non-std exception";
  }
  return ::testing::AssertionFailure() << "did not throw";
}

#define EXPECT_THROWS_WITH(Exc, stmt, ...) \
  EXPECT_TRUE(::gctest::throws_with<Exc>([&] { stmt; }, {__VA_ARGS__}))

/// A differentiable function of several tensors.
using Fn = std::function<Tensor(const TensorList&)>;

/// Compares the gradients that backward() accumulates into the inputs' .grad with central finite
/// differences. The inputs must be float64 tensors without stride-0 dims (they may be
/// non-contiguous); they are made leaves requiring grad here. The function's output is reduced to a
/// scalar as sum(out * W) with fixed random weights W, so every output element contributes.
inline ::testing::AssertionResult gradcheck(const Fn& f, TensorList inputs, double eps = 1e-6,
                                            double tol = 1e-6) {
  gradcore::manual_seed(1234);
  for (Tensor& t : inputs) {
    if (t.dtype() != DType::Float64) return ::testing::AssertionFailure() << "gradcheck needs float64 inputs";
    for (size_t d = 0; d < t.strides().size(); ++d)
      if (t.strides()[d] == 0 && t.shape()[d] > 1)
        return ::testing::AssertionFailure() << "gradcheck inputs must not have stride-0 dims";
    t.set_grad(Tensor());
    t.set_requires_grad(true);
  }

  Tensor out = f(inputs);
  if (!out.requires_grad()) return ::testing::AssertionFailure() << "output does not require grad";
  if (out.dtype() != DType::Float64)
    return ::testing::AssertionFailure() << "output dtype is " << gradcore::dtype_name(out.dtype());
  const Tensor weights = gradcore::randn(out.shape(), DType::Float64);
  gradcore::sum(gradcore::mul(out, weights)).backward();

  auto loss_value = [&] {
    gradcore::GradModeGuard no_grad(false);
    return gradcore::sum(gradcore::mul(f(inputs), weights)).item();
  };

  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    Tensor g = x.grad();
    std::vector<double> analytic;
    if (g.defined()) {
      if (g.shape() != x.shape())
        return ::testing::AssertionFailure() << "input " << i << ": grad shape " << gradcore::shape_str(g.shape())
                                             << " != input shape " << gradcore::shape_str(x.shape());
      if (g.dtype() != x.dtype())
        return ::testing::AssertionFailure() << "input " << i << ": grad dtype " << gradcore::dtype_name(g.dtype());
      analytic = values(g);
    } else {
      analytic.assign(static_cast<size_t>(x.numel()), 0.0);
    }
    std::vector<int64_t> offsets = element_offsets(x);
    double* base = x.data<double>();
    for (size_t k = 0; k < offsets.size(); ++k) {
      double& slot = base[offsets[k]];
      const double saved = slot;
      slot = saved + eps;
      const double plus = loss_value();
      slot = saved - eps;
      const double minus = loss_value();
      slot = saved;
      const double numeric = (plus - minus) / (2 * eps);
      const double err = std::abs(analytic[k] - numeric);
      if (!(err <= tol * std::max({1.0, std::abs(numeric), std::abs(analytic[k])})))
        return ::testing::AssertionFailure() << "input " << i << " element " << k << ": analytic " << analytic[k]
                                             << " vs numeric " << numeric << " (error " << err << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

/// Second derivatives: checks, by finite differences of the analytic first derivative, the graph
/// that run_backward(create_graph=true) records. The first derivative of sum(f(x) * W) w.r.t. each
/// input is contracted with fixed random weights V_i into one scalar, which gradcheck differentiates.
inline ::testing::AssertionResult gradgradcheck(const Fn& f, TensorList inputs, double eps = 1e-6,
                                                double tol = 1e-6) {
  gradcore::manual_seed(4321);
  Tensor w;
  TensorList v;
  {
    gradcore::GradModeGuard no_grad(false);
    TensorList probe_inputs;
    for (const Tensor& t : inputs) probe_inputs.push_back(t.detach());
    w = gradcore::randn(f(probe_inputs).shape(), DType::Float64);
    for (const Tensor& t : inputs) v.push_back(gradcore::randn(t.shape(), DType::Float64));
  }
  Fn first_derivative = [f, w, v](const TensorList& xs) {
    gradcore::GradModeGuard enable(true);  // also while gradcheck evaluates it under no_grad
    Tensor loss = gradcore::sum(gradcore::mul(f(xs), w));
    TensorList g = gradcore::run_backward({loss}, {Tensor()}, /*keep_graph=*/true, /*create_graph=*/true, xs,
                                          /*allow_unused=*/true);
    Tensor total = gradcore::zeros({}, DType::Float64);
    for (size_t i = 0; i < g.size(); ++i)
      if (g[i].defined()) total = gradcore::add(total, gradcore::sum(gradcore::mul(g[i], v[i])));
    return total;
  };
  return gradcheck(first_derivative, std::move(inputs), eps, tol);
}

}  // namespace gctest
