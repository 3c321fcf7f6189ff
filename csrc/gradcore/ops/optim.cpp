// Optimizer update steps: torch.optim's single-tensor (foreach=False) formulas as fused element loops.
//
// Each loop body evaluates the same sequence of roundings as PyTorch's chain of in-place ops, in the
// parameter's dtype T, with every Python-float hyperparameter converted to T where PyTorch converts it
// (a tensor op's `alpha`/`value` or a scalar operand), so float32 results agree with PyTorch's up to
// the fused-multiply-add contractions its vectorised kernels may use.
#include "gradcore/optim.h"

#include <algorithm>
#include <cmath>

#include "gradcore/grad_mode.h"
#include "gradcore/ops/internal.h"
#include "gradcore/parallel.h"

namespace gradcore::optim {

namespace {

constexpr int64_t kGrain = 1 << 15;

/// Contiguous working memory for a tensor updated in place: the tensor itself when contiguous, else a
/// copy that finish() writes back. finish() also records the in-place write (version bump).
class InPlace {
 public:
  explicit InPlace(const Tensor& t) : target_(t), work_(t.is_contiguous() ? t : internal::cast(t, t.dtype())) {}
  template <typename T>
  T* ptr() const { return work_.data<T>(); }
  void finish() const {
    if (work_.impl() != target_.impl()) internal::copy_into(target_, work_);
    target_.bump_version();
  }

 private:
  Tensor target_;
  Tensor work_;
};

/// A contiguous tensor with t's values (t itself when already contiguous).
Tensor readable(const Tensor& t) { return t.is_contiguous() ? t : contiguous(t); }

void check_lists(const char* op, const TensorList& params, std::initializer_list<std::pair<const char*, const TensorList*>> lists) {
  for (const auto& [name, list] : lists) {
    GC_CHECK(list->size() == params.size(), "[", op, "] expected ", params.size(), " ", name, ", got ", list->size());
  }
}

void check_pair(const char* op, size_t i, const Tensor& param, const Tensor& t, const char* what) {
  GC_CHECK(t.defined(), "[", op, "] ", what, " ", i, " is undefined");
  GC_CHECK(t.shape() == param.shape(), "[", op, "] ", what, " ", i, " has shape ", shape_str(t.shape()),
           " but its parameter has shape ", shape_str(param.shape()));
  GC_CHECK(t.dtype() == param.dtype(), "[", op, "] ", what, " ", i, " has dtype ", dtype_name(t.dtype()),
           " but its parameter has dtype ", dtype_name(param.dtype()));
}

/// Adds 1 to a 0-dim floating step tensor and returns the new value.
double increment_step(const Tensor& step, const char* op) {
  GC_CHECK(step.numel() == 1, "[", op, "] a step tensor must have one element, got ", step.numel());
  double value = GC_DISPATCH_FLOATING(step.dtype(), op, [&]() -> double {
    scalar_t* s = step.data<scalar_t>();
    *s = static_cast<scalar_t>(*s + scalar_t(1));
    return static_cast<double>(*s);
  });
  step.bump_version();
  return value;
}

/// PyTorch's lerp: self + w * (end - self) for |w| < 0.5, else end - (end - self) * (1 - w).
template <typename T>
inline T lerp(T self, T end, T w) {
  return std::abs(w) < T(0.5) ? self + w * (end - self) : end - (end - self) * (T(1) - w);
}

}  // namespace

void sgd_step(const TensorList& params, const TensorList& grads, TensorList& momentum_buffers, double lr, double momentum,
              double dampening, bool nesterov, double weight_decay, bool maximize) {
  const char* op = "_sgd_step";
  GradModeGuard no_grad(false);
  check_lists(op, params, {{"grads", &grads}});
  if (momentum != 0) {
    check_lists(op, params, {{"momentum_buffers", &momentum_buffers}});
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& param = params[i];
    check_pair(op, i, param, grads[i], "grad");
    const bool first = momentum != 0 && !momentum_buffers[i].defined();
    if (momentum != 0 && !first) check_pair(op, i, param, momentum_buffers[i], "momentum_buffer");
    if (first) momentum_buffers[i] = empty(param.shape(), param.dtype());
    Tensor grad = readable(grads[i]);
    InPlace p(param);
    std::optional<InPlace> buf;
    if (momentum != 0) buf.emplace(momentum_buffers[i]);
    GC_DISPATCH_FLOATING(param.dtype(), op, [&] {
      using T = scalar_t;
      T* pd = p.ptr<T>();
      const T* gd = grad.data<T>();
      T* bd = buf ? buf->ptr<T>() : nullptr;
      const T wd = static_cast<T>(weight_decay), mom = static_cast<T>(momentum);
      const T one_minus_damp = static_cast<T>(1 - dampening), neg_lr = static_cast<T>(-lr);
      parallel_for(param.numel(), kGrain, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
          T g = maximize ? -gd[k] : gd[k];
          if (weight_decay != 0) g = g + wd * pd[k];
          if (momentum != 0) {
            T b = first ? g : bd[k] * mom + one_minus_damp * g;
            bd[k] = b;
            g = nesterov ? g + mom * b : b;
          }
          pd[k] = pd[k] + neg_lr * g;
        }
      });
    });
    p.finish();
    if (buf) buf->finish();
  }
}

void adam_step(const TensorList& params, const TensorList& grads, const TensorList& exp_avgs,
               const TensorList& exp_avg_sqs, const TensorList& max_exp_avg_sqs, const TensorList& steps, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool amsgrad, bool maximize,
               bool decoupled_weight_decay) {
  const char* op = "_adam_step";
  GradModeGuard no_grad(false);
  check_lists(op, params, {{"grads", &grads}, {"exp_avgs", &exp_avgs}, {"exp_avg_sqs", &exp_avg_sqs}, {"steps", &steps}});
  if (amsgrad) check_lists(op, params, {{"max_exp_avg_sqs", &max_exp_avg_sqs}});
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& param = params[i];
    check_pair(op, i, param, grads[i], "grad");
    check_pair(op, i, param, exp_avgs[i], "exp_avg");
    check_pair(op, i, param, exp_avg_sqs[i], "exp_avg_sq");
    if (amsgrad) check_pair(op, i, param, max_exp_avg_sqs[i], "max_exp_avg_sq");
    const double step = increment_step(steps[i], op);
    // Python-float arithmetic, as in torch.optim.adam._single_tensor_adam.
    const double bias_correction1 = 1 - std::pow(beta1, step);
    const double bias_correction2 = 1 - std::pow(beta2, step);
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = std::pow(bias_correction2, 0.5);
    Tensor grad = readable(grads[i]);
    InPlace p(param), m(exp_avgs[i]), v(exp_avg_sqs[i]);
    std::optional<InPlace> vmax;
    if (amsgrad) vmax.emplace(max_exp_avg_sqs[i]);
    GC_DISPATCH_FLOATING(param.dtype(), op, [&] {
      using T = scalar_t;
      T *pd = p.ptr<T>(), *md = m.ptr<T>(), *vd = v.ptr<T>(), *xd = vmax ? vmax->ptr<T>() : nullptr;
      const T* gd = grad.data<T>();
      const T decay = static_cast<T>(1 - lr * weight_decay), wd = static_cast<T>(weight_decay);
      const T w1 = static_cast<T>(1 - beta1), b2 = static_cast<T>(beta2), w2 = static_cast<T>(1 - beta2);
      const T bc2 = static_cast<T>(bias_correction2_sqrt), e = static_cast<T>(eps);
      const T neg_step = static_cast<T>(-step_size);
      parallel_for(param.numel(), kGrain, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
          T g = maximize ? -gd[k] : gd[k];
          if (weight_decay != 0) {
            if (decoupled_weight_decay) pd[k] = pd[k] * decay;
            else g = g + wd * pd[k];
          }
          md[k] = lerp(md[k], g, w1);
          vd[k] = vd[k] * b2 + w2 * g * g;
          T sq = vd[k];
          if (xd) {
            xd[k] = std::max(xd[k], sq);  // NaN-propagation aside, torch.maximum
            if (std::isnan(sq)) xd[k] = sq;
            sq = xd[k];
          }
          const T denom = std::sqrt(sq) / bc2 + e;
          pd[k] = pd[k] + neg_step * md[k] / denom;
        }
      });
    });
    p.finish();
    m.finish();
    v.finish();
    if (vmax) vmax->finish();
  }
}

void rmsprop_step(const TensorList& params, const TensorList& grads, const TensorList& square_avgs,
                  const TensorList& grad_avgs, const TensorList& momentum_buffers, const TensorList& steps, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool centered, bool maximize) {
  const char* op = "_rmsprop_step";
  GradModeGuard no_grad(false);
  check_lists(op, params, {{"grads", &grads}, {"square_avgs", &square_avgs}, {"steps", &steps}});
  if (centered) check_lists(op, params, {{"grad_avgs", &grad_avgs}});
  if (momentum > 0) check_lists(op, params, {{"momentum_buffers", &momentum_buffers}});
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& param = params[i];
    check_pair(op, i, param, grads[i], "grad");
    check_pair(op, i, param, square_avgs[i], "square_avg");
    if (centered) check_pair(op, i, param, grad_avgs[i], "grad_avg");
    if (momentum > 0) check_pair(op, i, param, momentum_buffers[i], "momentum_buffer");
    increment_step(steps[i], op);
    Tensor grad = readable(grads[i]);
    InPlace p(param), sq(square_avgs[i]);
    std::optional<InPlace> ga, buf;
    if (centered) ga.emplace(grad_avgs[i]);
    if (momentum > 0) buf.emplace(momentum_buffers[i]);
    GC_DISPATCH_FLOATING(param.dtype(), op, [&] {
      using T = scalar_t;
      T *pd = p.ptr<T>(), *sd = sq.ptr<T>(), *ad = ga ? ga->ptr<T>() : nullptr, *bd = buf ? buf->ptr<T>() : nullptr;
      const T* gd = grad.data<T>();
      const T wd = static_cast<T>(weight_decay), a = static_cast<T>(alpha), wa = static_cast<T>(1 - alpha);
      const T e = static_cast<T>(eps), mom = static_cast<T>(momentum), neg_lr = static_cast<T>(-lr);
      parallel_for(param.numel(), kGrain, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
          T g = maximize ? -gd[k] : gd[k];
          if (weight_decay != 0) g = g + wd * pd[k];
          sd[k] = sd[k] * a + wa * g * g;
          T avg;
          if (ad) {
            ad[k] = lerp(ad[k], g, wa);
            avg = std::sqrt(sd[k] + T(-1) * ad[k] * ad[k]);
          } else {
            avg = std::sqrt(sd[k]);
          }
          avg = avg + e;
          if (bd) {
            bd[k] = bd[k] * mom + g / avg;
            pd[k] = pd[k] + neg_lr * bd[k];
          } else {
            pd[k] = pd[k] + neg_lr * g / avg;
          }
        }
      });
    });
    p.finish();
    sq.finish();
    if (ga) ga->finish();
    if (buf) buf->finish();
  }
}

}  // namespace gradcore::optim
