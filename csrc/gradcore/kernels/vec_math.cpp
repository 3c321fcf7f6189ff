// Dispatch of the vectorised math kernels: each entry point picks, once, the build for this CPU's
// capability (cpu.h) among the per-ISA translation units vec_math_{default,avx2,avx512}.cpp.
#include "gradcore/kernels/vec_math.h"

#include "gradcore/kernels/cpu.h"

#define GC_VEC_DECLARE(ns)                                              \
  namespace gradcore::kernels::ns {                                     \
  void exp_f32(const float*, float*, int64_t);                          \
  void exp_f64(const double*, double*, int64_t);                        \
  void log_f32(const float*, float*, int64_t);                          \
  void log_f64(const double*, double*, int64_t);                        \
  void tanh_f32(const float*, float*, int64_t);                         \
  void tanh_f64(const double*, double*, int64_t);                       \
  void sigmoid_f32(const float*, float*, int64_t);                      \
  void sigmoid_f64(const double*, double*, int64_t);                    \
  void silu_f32(const float*, float*, int64_t);                         \
  void silu_f64(const double*, double*, int64_t);                       \
  void gelu_tanh_f32(const float*, float*, int64_t);                    \
  void gelu_tanh_f64(const double*, double*, int64_t);                  \
  void exp_shifted_f32(const float*, float, float*, int64_t);           \
  void exp_shifted_f64(const double*, double, double*, int64_t);        \
  void affine_f32(const float*, float, float, float*, int64_t);         \
  void affine_f64(const double*, double, double, double*, int64_t);     \
  double sum_f32(const float*, int64_t, bool);                          \
  float max_f32(const float*, int64_t);                                 \
  double max_f64(const double*, int64_t);                               \
  float min_f32(const float*, int64_t);                                 \
  double min_f64(const double*, int64_t);                               \
  int64_t index_of_f32(const float*, int64_t, float);                   \
  int64_t index_of_f64(const double*, int64_t, double);                 \
  double sum_f64(const double*, int64_t, bool);                         \
  }
GC_VEC_DECLARE(baseline)
GC_VEC_DECLARE(avx2)
GC_VEC_DECLARE(avx512)

namespace gradcore::kernels::vec {

namespace {
// The function of this capability among the three builds.
template <typename F>
F pick(F avx512, F avx2, F base) {
  switch (cpu_capability()) {
    case CpuCapability::AVX512:
      return avx512;
    case CpuCapability::AVX2:
      return avx2;
    default:
      return base;
  }
}
}  // namespace

#define GC_VEC_ENTRY(name, fn, T)                                                                         \
  void name(const T* x, T* y, int64_t n) {                                                                \
    static const auto f = pick(&kernels::avx512::fn, &kernels::avx2::fn, &kernels::baseline::fn);        \
    f(x, y, n);                                                                                           \
  }
GC_VEC_ENTRY(exp, exp_f32, float)
GC_VEC_ENTRY(exp, exp_f64, double)
GC_VEC_ENTRY(log, log_f32, float)
GC_VEC_ENTRY(log, log_f64, double)
GC_VEC_ENTRY(tanh, tanh_f32, float)
GC_VEC_ENTRY(tanh, tanh_f64, double)
GC_VEC_ENTRY(sigmoid, sigmoid_f32, float)
GC_VEC_ENTRY(sigmoid, sigmoid_f64, double)
GC_VEC_ENTRY(silu, silu_f32, float)
GC_VEC_ENTRY(silu, silu_f64, double)
GC_VEC_ENTRY(gelu_tanh, gelu_tanh_f32, float)
GC_VEC_ENTRY(gelu_tanh, gelu_tanh_f64, double)

void exp_shifted(const float* x, float s, float* y, int64_t n) {
  static const auto f = pick(&kernels::avx512::exp_shifted_f32, &kernels::avx2::exp_shifted_f32, &kernels::baseline::exp_shifted_f32);
  f(x, s, y, n);
}
void exp_shifted(const double* x, double s, double* y, int64_t n) {
  static const auto f = pick(&kernels::avx512::exp_shifted_f64, &kernels::avx2::exp_shifted_f64, &kernels::baseline::exp_shifted_f64);
  f(x, s, y, n);
}
void affine(const float* x, float a, float b, float* y, int64_t n) {
  static const auto f = pick(&kernels::avx512::affine_f32, &kernels::avx2::affine_f32, &kernels::baseline::affine_f32);
  f(x, a, b, y, n);
}
void affine(const double* x, double a, double b, double* y, int64_t n) {
  static const auto f = pick(&kernels::avx512::affine_f64, &kernels::avx2::affine_f64, &kernels::baseline::affine_f64);
  f(x, a, b, y, n);
}

#define GC_VEC_FOLD_ENTRY(name, fn, T)                                                                    \
  T name(const T* x, int64_t n) {                                                                         \
    static const auto f = pick(&kernels::avx512::fn, &kernels::avx2::fn, &kernels::baseline::fn);        \
    return f(x, n);                                                                                       \
  }
GC_VEC_FOLD_ENTRY(max, max_f32, float)
GC_VEC_FOLD_ENTRY(max, max_f64, double)
GC_VEC_FOLD_ENTRY(min, min_f32, float)
GC_VEC_FOLD_ENTRY(min, min_f64, double)

int64_t index_of(const float* x, int64_t n, float v) {
  static const auto f = pick(&kernels::avx512::index_of_f32, &kernels::avx2::index_of_f32, &kernels::baseline::index_of_f32);
  return f(x, n, v);
}
int64_t index_of(const double* x, int64_t n, double v) {
  static const auto f = pick(&kernels::avx512::index_of_f64, &kernels::avx2::index_of_f64, &kernels::baseline::index_of_f64);
  return f(x, n, v);
}

double sum(const float* x, int64_t n, bool squares) {
  static const auto f = pick(&kernels::avx512::sum_f32, &kernels::avx2::sum_f32, &kernels::baseline::sum_f32);
  return f(x, n, squares);
}
double sum(const double* x, int64_t n, bool squares) {
  static const auto f = pick(&kernels::avx512::sum_f64, &kernels::avx2::sum_f64, &kernels::baseline::sum_f64);
  return f(x, n, squares);
}

}  // namespace gradcore::kernels::vec
