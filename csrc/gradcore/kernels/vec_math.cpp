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
  void accumulate_f32(const float*, int64_t, int64_t, double*, int64_t);   \
  void accumulate_f64(const double*, int64_t, int64_t, double*, int64_t);  \
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

// One entry point: `name` with parameter list `params` forwards `args` to the build of `fn` for this CPU.
#define GC_VEC_ENTRY(Ret, name, fn, params, args)                                                        \
  Ret name params {                                                                                       \
    static const auto f = pick(&kernels::avx512::fn, &kernels::avx2::fn, &kernels::baseline::fn);        \
    return f args;                                                                                        \
  }
// The float and double builds of an elementwise map y = f(x).
#define GC_VEC_MAP(name)                                                                              \
  GC_VEC_ENTRY(void, name, name##_f32, (const float* x, float* y, int64_t n), (x, y, n))               \
  GC_VEC_ENTRY(void, name, name##_f64, (const double* x, double* y, int64_t n), (x, y, n))
GC_VEC_MAP(exp)
GC_VEC_MAP(log)
GC_VEC_MAP(tanh)
GC_VEC_MAP(sigmoid)
GC_VEC_MAP(silu)
GC_VEC_MAP(gelu_tanh)
GC_VEC_ENTRY(void, exp_shifted, exp_shifted_f32, (const float* x, float s, float* y, int64_t n), (x, s, y, n))
GC_VEC_ENTRY(void, exp_shifted, exp_shifted_f64, (const double* x, double s, double* y, int64_t n), (x, s, y, n))
GC_VEC_ENTRY(void, affine, affine_f32, (const float* x, float a, float b, float* y, int64_t n), (x, a, b, y, n))
GC_VEC_ENTRY(void, affine, affine_f64, (const double* x, double a, double b, double* y, int64_t n), (x, a, b, y, n))
GC_VEC_ENTRY(float, max, max_f32, (const float* x, int64_t n), (x, n))
GC_VEC_ENTRY(double, max, max_f64, (const double* x, int64_t n), (x, n))
GC_VEC_ENTRY(float, min, min_f32, (const float* x, int64_t n), (x, n))
GC_VEC_ENTRY(double, min, min_f64, (const double* x, int64_t n), (x, n))
GC_VEC_ENTRY(int64_t, index_of, index_of_f32, (const float* x, int64_t n, float v), (x, n, v))
GC_VEC_ENTRY(int64_t, index_of, index_of_f64, (const double* x, int64_t n, double v), (x, n, v))
GC_VEC_ENTRY(void, accumulate, accumulate_f32, (const float* x, int64_t stride, int64_t rows, double* acc, int64_t n),
             (x, stride, rows, acc, n))
GC_VEC_ENTRY(void, accumulate, accumulate_f64, (const double* x, int64_t stride, int64_t rows, double* acc, int64_t n),
             (x, stride, rows, acc, n))
GC_VEC_ENTRY(double, sum, sum_f32, (const float* x, int64_t n, bool squares), (x, n, squares))
GC_VEC_ENTRY(double, sum, sum_f64, (const double* x, int64_t n, bool squares), (x, n, squares))

}  // namespace gradcore::kernels::vec
