// The vectorised kernels on whichever instruction-set path this process runs (cpu.h): ulp sweeps of
// the math kernels against libm references, special values, tails and aliasing, reduction accuracy,
// and GEMM against a naive reference for many shapes and layouts. tests/run_qemu.sh runs this
// binary under `qemu-x86_64 -cpu Haswell` (AVX2 path) and `-cpu Nehalem` (default path), and
// GRADCORE_CPU_CAPABILITY=avx2|default selects a path natively; GRADCORE_SIMD_SWEEP_STRIDE
// thins the sweeps (every Nth float32 bit pattern; default 251, about 17M values; the float64
// sample shrinks in proportion).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "gradcore/kernels/cpu.h"
#include "gradcore/kernels/gemm.h"
#include "gradcore/kernels/vec_math.h"
#include "gradcore/parallel.h"

namespace {

namespace vec = gradcore::kernels::vec;
using gradcore::kernels::cpu_capability;
using gradcore::kernels::cpu_capability_name;

// Bigger strides under the sanitizers (every access is checked) keep the sweep a few seconds.
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kDefaultStride = 4099;
#else
constexpr uint64_t kDefaultStride = 251;
#endif

uint64_t sweep_stride() {
  const char* s = std::getenv("GRADCORE_SIMD_SWEEP_STRIDE");
  uint64_t v = s ? std::strtoull(s, nullptr, 10) : 0;
  return v ? v : kDefaultStride;
}

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// The size of one unit in the last place at `ref` (the spacing of T around it).
template <typename T>
long double ulp_of(long double ref) {
  const long double a = std::fabs(ref);
  if (a < static_cast<long double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::denorm_min();
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  return std::ldexp(1.0L, e - std::numeric_limits<T>::digits);
}

// Error of `got` in ulps of the exact value `ref` (reference computed in a wider type). Infinite
// and NaN results must match exactly (0 or a huge error).
template <typename T>
double ulp_error(T got, long double ref) {
  const T ref_t = static_cast<T>(ref);
  if (std::isnan(ref_t)) return std::isnan(got) ? 0 : 1e30;
  if (std::isinf(ref_t) || std::isinf(got)) return got == ref_t ? 0 : 1e30;
  return static_cast<double>(std::fabs(static_cast<long double>(got) - ref) / ulp_of<T>(ref));
}

struct Stats {
  double max_ulp = 0;
  long double worst_x = 0;
  int64_t count = 0;
};

using F32 = void (*)(const float*, float*, int64_t);
using F64 = void (*)(const double*, double*, int64_t);

// Sweeps float32 bit patterns (every `stride`th, plus all specials given) through `kernel`, the
// reference computed in double.
template <typename Ref>
Stats sweep_f32(F32 kernel, Ref ref, const std::vector<float>& extra) {
  const uint64_t stride = sweep_stride();
  std::vector<float> x;
  x.reserve((1ull << 32) / stride + extra.size() + 1);
  for (uint64_t b = 0; b < (1ull << 32); b += stride) x.push_back(from_bits(static_cast<uint32_t>(b)));
  x.insert(x.end(), extra.begin(), extra.end());
  std::vector<float> y(x.size());
  kernel(x.data(), y.data(), static_cast<int64_t>(x.size()));
  Stats s;
  for (size_t i = 0; i < x.size(); ++i) {
    const long double r = ref(static_cast<double>(x[i]));
    const double e = ulp_error<float>(y[i], r);
    if (e > s.max_ulp || (std::isnan(e) && !std::isnan(s.max_ulp))) {
      s.max_ulp = e;
      s.worst_x = x[i];
    }
  }
  s.count = static_cast<int64_t>(x.size());
  return s;
}

// float64: random values over the whole range, a dense random set in [lo, hi], and the specials;
// the reference computed in long double.
template <typename Ref>
Stats sweep_f64(F64 kernel, Ref ref, double lo, double hi, const std::vector<double>& extra) {
  std::mt19937_64 rng(42);
  std::vector<double> x;
  const int n = static_cast<int>(std::max<uint64_t>((uint64_t{1} << 20) * kDefaultStride / sweep_stride(), 1 << 14));
  std::uniform_real_distribution<double> dense(lo, hi);
  for (int i = 0; i < n; ++i) {
    uint64_t b = rng();
    double d;
    std::memcpy(&d, &b, 8);
    x.push_back(d);
    x.push_back(dense(rng));
  }
  x.insert(x.end(), extra.begin(), extra.end());
  std::vector<double> y(x.size());
  kernel(x.data(), y.data(), static_cast<int64_t>(x.size()));
  Stats s;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = ulp_error<double>(y[i], ref(static_cast<long double>(x[i])));
    if (e > s.max_ulp) {
      s.max_ulp = e;
      s.worst_x = x[i];
    }
  }
  s.count = static_cast<int64_t>(x.size());
  return s;
}

const float kInfF = std::numeric_limits<float>::infinity();
const double kInfD = std::numeric_limits<double>::infinity();

std::vector<float> specials_f32() {
  std::vector<float> v = {0.0f, -0.0f, kInfF, -kInfF, std::numeric_limits<float>::quiet_NaN(),
                          FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX, std::numeric_limits<float>::denorm_min(),
                          1.0f, -1.0f, 0.625f, -0.625f, 88.72283f, 88.72284f, -87.33655f, -103.97208f, -103.97209f,
                          -104.0f, 89.0f, 9.0f, -9.0f, 20.0f, 1e-20f, -1e-20f};
  // Dense around the exp overflow/underflow thresholds and the tanh branch point.
  for (float c : {88.7228f, -87.3365f, -103.972f, 0.625f, -0.625f, 1.0f, 9.0f, -9.0f}) {
    uint32_t b;
    std::memcpy(&b, &c, 4);
    for (int i = -3000; i <= 3000; ++i) v.push_back(from_bits(b + static_cast<uint32_t>(i)));
  }
  return v;
}

std::vector<double> specials_f64() {
  return {0.0, -0.0, kInfD, -kInfD, std::numeric_limits<double>::quiet_NaN(), DBL_MIN, -DBL_MIN, DBL_MAX, -DBL_MAX,
          std::numeric_limits<double>::denorm_min(), 1.0, -1.0, 0.625, -0.625, 709.782712893384, 709.7827128933841,
          -708.3964185322641, -745.1332191019411, -745.1332191019412, -746.0, 710.0, 22.0, -22.0, 1e-300, -1e-300};
}

void report(const char* name, const Stats& s) {
  std::printf("  [%s] %-14s max %.3f ulp at %.9Lg over %lld values\n", cpu_capability_name(cpu_capability()), name,
              s.max_ulp, s.worst_x, static_cast<long long>(s.count));
}

// ---- float32 ulp sweeps ---------------------------------------------------------------------------

TEST(SimdMath, ExpF32Within2Ulp) {
  Stats s = sweep_f32(vec::exp, [](double x) { return static_cast<long double>(std::exp(x)); }, specials_f32());
  report("exp f32", s);
  EXPECT_LE(s.max_ulp, 2.0) << "at x = " << s.worst_x;
}

TEST(SimdMath, LogF32Within2Ulp) {
  Stats s = sweep_f32(vec::log, [](double x) { return static_cast<long double>(std::log(x)); }, specials_f32());
  report("log f32", s);
  EXPECT_LE(s.max_ulp, 2.0) << "at x = " << s.worst_x;
}

TEST(SimdMath, TanhF32Within2Ulp) {
  Stats s = sweep_f32(vec::tanh, [](double x) { return static_cast<long double>(std::tanh(x)); }, specials_f32());
  report("tanh f32", s);
  EXPECT_LE(s.max_ulp, 2.0) << "at x = " << s.worst_x;
}

TEST(SimdMath, SigmoidF32Within2Ulp) {
  Stats s = sweep_f32(vec::sigmoid, [](double x) { return 1.0L / (1.0L + std::exp(-static_cast<long double>(x))); },
                      specials_f32());
  report("sigmoid f32", s);
  EXPECT_LE(s.max_ulp, 2.0) << "at x = " << s.worst_x;
}

// silu is not held to 2 ulp: where x * sigmoid(x) is subnormal (x < -87) the product of a subnormal
// sigmoid loses bits (PyTorch's x / (1 + exp(-x)) gives -0 there). Elsewhere it is within 4 ulp.
TEST(SimdMath, SiluF32Within4Ulp) {
  std::vector<float> x;
  for (uint64_t b = 0; b < (1ull << 32); b += sweep_stride()) x.push_back(from_bits(static_cast<uint32_t>(b)));
  std::vector<float> y(x.size());
  vec::silu(x.data(), y.data(), static_cast<int64_t>(x.size()));
  Stats s;
  for (size_t i = 0; i < x.size(); ++i) {
    const long double l = x[i], ref = l / (1.0L + std::exp(-l));
    const double e = x[i] < -87.0f ? (std::fabs(y[i] - ref) <= 1e-40L ? 0 : 1e30) : ulp_error<float>(y[i], ref);
    if (e > s.max_ulp) s.max_ulp = e, s.worst_x = x[i];
  }
  s.count = static_cast<int64_t>(x.size());
  report("silu f32", s);
  EXPECT_LE(s.max_ulp, 4.0) << "at x = " << s.worst_x;
}

// ---- float64 ulp sweeps -----------------------------------------------------------------------------

TEST(SimdMath, F64Within2Ulp) {
  struct Case {
    const char* name;
    F64 f;
    long double (*ref)(long double);
    double lo, hi;
  };
  const Case cases[] = {
      {"exp f64", vec::exp, [](long double x) { return std::exp(x); }, -750, 712},
      {"log f64", vec::log, [](long double x) { return std::log(x); }, 0, 4},
      {"tanh f64", vec::tanh, [](long double x) { return std::tanh(x); }, -3, 3},
      {"sigmoid f64", vec::sigmoid, [](long double x) { return 1.0L / (1.0L + std::exp(-x)); }, -40, 40},
  };
  for (const Case& c : cases) {
    Stats s = sweep_f64(c.f, c.ref, c.lo, c.hi, specials_f64());
    report(c.name, s);
    EXPECT_LE(s.max_ulp, 2.0) << c.name << " at x = " << s.worst_x;
  }
}

// ---- Special values, exactly as std:: and PyTorch give them ---------------------------------------------

template <typename T>
T one(void (*f)(const T*, T*, int64_t), T x) {
  T y;
  f(&x, &y, 1);
  return y;
}

template <typename T>
void check_specials() {
  using L = std::numeric_limits<T>;
  const T inf = L::infinity(), nan = L::quiet_NaN();
  void (*e)(const T*, T*, int64_t) = vec::exp;
  void (*lg)(const T*, T*, int64_t) = vec::log;
  void (*th)(const T*, T*, int64_t) = vec::tanh;
  void (*sg)(const T*, T*, int64_t) = vec::sigmoid;
  void (*si)(const T*, T*, int64_t) = vec::silu;
  EXPECT_EQ(one(e, -inf), T(0));
  EXPECT_EQ(one(e, inf), inf);
  EXPECT_TRUE(std::isnan(one(e, nan)));
  EXPECT_EQ(one(e, T(0)), T(1));
  EXPECT_EQ(one(e, -T(0)), T(1));
  EXPECT_EQ(one(e, T(1000)), inf);
  EXPECT_EQ(one(e, T(-1000)), T(0));
  EXPECT_EQ(one(lg, T(0)), -inf);
  EXPECT_EQ(one(lg, -T(0)), -inf);
  EXPECT_TRUE(std::isnan(one(lg, T(-1))));
  EXPECT_TRUE(std::isnan(one(lg, -inf)));
  EXPECT_TRUE(std::isnan(one(lg, nan)));
  EXPECT_EQ(one(lg, inf), inf);
  EXPECT_EQ(one(lg, T(1)), T(0));
  EXPECT_EQ(one(lg, L::denorm_min()), std::log(L::denorm_min()));
  EXPECT_EQ(one(th, inf), T(1));
  EXPECT_EQ(one(th, -inf), T(-1));
  EXPECT_TRUE(std::isnan(one(th, nan)));
  EXPECT_TRUE(std::signbit(one(th, -T(0))));
  EXPECT_EQ(one(th, -T(0)), T(0));
  EXPECT_EQ(one(th, L::denorm_min()), L::denorm_min());
  EXPECT_EQ(one(sg, inf), T(1));
  EXPECT_EQ(one(sg, -inf), T(0));
  EXPECT_EQ(one(sg, T(0)), T(0.5));
  EXPECT_EQ(one(sg, T(-1000)), T(0));
  EXPECT_EQ(one(sg, T(1000)), T(1));
  EXPECT_TRUE(std::isnan(one(sg, nan)));
  EXPECT_EQ(one(si, inf), inf);
  EXPECT_TRUE(std::isnan(one(si, -inf)));  // -inf * 0, as PyTorch's silu gives
  EXPECT_TRUE(std::isnan(one(si, nan)));
}

TEST(SimdMath, SpecialValuesF32) { check_specials<float>(); }
TEST(SimdMath, SpecialValuesF64) { check_specials<double>(); }

// Every length 0..70 (all tail sizes of every width), in place and out of place, agrees with the
// element-by-element result; nothing past n is written.
template <typename T>
void check_tails() {
  void (*fs[])(const T*, T*, int64_t) = {vec::exp, vec::log, vec::tanh, vec::sigmoid, vec::silu, vec::gelu_tanh};
  for (auto f : fs)
    for (int64_t n = 0; n <= 70; ++n) {
      std::vector<T> x(n + 1), y(n + 1, T(-7)), z(n + 1);
      for (int64_t i = 0; i < n; ++i) x[i] = T(0.37) * T(i + 1) - T(3);
      x[n] = T(5);
      f(x.data(), y.data(), n);
      EXPECT_EQ(y[n], T(-7)) << "wrote past the end, n = " << n;
      auto same = [](T a, T b) { return a == b || (std::isnan(a) && std::isnan(b)); };
      for (int64_t i = 0; i < n; ++i) {
        f(&x[i], &z[i], 1);
        ASSERT_PRED2(same, y[i], z[i]) << "n = " << n << " i = " << i;
      }
      f(x.data(), x.data(), n);  // in place
      for (int64_t i = 0; i < n; ++i) ASSERT_PRED2(same, x[i], y[i]) << "n = " << n << " i = " << i;
    }
}

TEST(SimdMath, TailsAndAliasingF32) { check_tails<float>(); }
TEST(SimdMath, TailsAndAliasingF64) { check_tails<double>(); }

TEST(SimdMath, GeluTanhMatchesFormula) {
  for (double x = -10; x <= 10; x += 0.001) {
    const long double l = x;
    const long double ref = 0.5L * l * (1.0L + std::tanh(0.7978845608028654L * (l + 0.044715L * l * l * l)));
    const float xf = static_cast<float>(x);
    const double d = one<double>(vec::gelu_tanh, x);
    const float f = one<float>(vec::gelu_tanh, xf);
    EXPECT_NEAR(static_cast<double>(d), static_cast<double>(ref), 1e-15 + 1e-14 * std::fabs(x));
    const long double lf = xf;
    const long double reff =
        0.5L * lf * (1.0L + std::tanh(0.7978845608028654L * (lf + 0.044715L * lf * lf * lf)));
    EXPECT_NEAR(static_cast<double>(f), static_cast<double>(reff), 1e-6 + 1e-6 * std::fabs(x));
  }
}

// ---- Reductions --------------------------------------------------------------------------------------

TEST(SimdSum, SixteenMillionFloatsWithin1e9) {
  const int64_t n = 16 << 20;
  std::vector<float> x(n);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  long double ref = 0, ref_sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = u(rng);
    ref += x[i];
    ref_sq += static_cast<long double>(x[i]) * x[i];
  }
  // Float blocks of a few hundred elements are added in float lanes, the block sums in double: far
  // below float32's own precision (6e-8) on 16M elements.
  const double s = vec::sum(x.data(), n), sq = vec::sum(x.data(), n, true);
  EXPECT_LE(std::fabs(s - static_cast<double>(ref)) / static_cast<double>(ref), 1e-9);
  EXPECT_LE(std::fabs(sq - static_cast<double>(ref_sq)) / static_cast<double>(ref_sq), 1e-9);
  for (int64_t m = 0; m <= 70; ++m) {
    double r = 0;
    for (int64_t i = 0; i < m; ++i) r += x[i];
    EXPECT_NEAR(vec::sum(x.data(), m), r, 1e-12 * (1 + r)) << m;
  }
  std::vector<double> d(x.begin(), x.begin() + (1 << 20));
  double rd = 0;
  for (double v : d) rd += v;
  EXPECT_NEAR(vec::sum(d.data(), static_cast<int64_t>(d.size())), rd, 1e-9);
}

// vec::max (kMax) or vec::min: every tail length, a NaN at every position (float and double), and
// an all-infinite row.
template <bool kMax>
void check_extreme() {
  const auto extreme = [](const auto* x, int64_t n) { return kMax ? vec::max(x, n) : vec::min(x, n); };
  const float start = kMax ? -kInfF : kInfF;
  for (int64_t n = 0; n <= 70; ++n) {
    std::vector<float> x(n);
    std::vector<double> d(n);
    for (int64_t i = 0; i < n; ++i) d[i] = x[i] = static_cast<float>((i * 37) % 23) - 11.5f;
    float ref = start;
    for (float v : x) ref = kMax ? std::max(ref, v) : std::min(ref, v);
    EXPECT_EQ(extreme(x.data(), n), ref) << n;
    EXPECT_EQ(extreme(d.data(), n), static_cast<double>(ref)) << n;
    for (int64_t k = 0; k < n; ++k) {
      std::vector<float> y = x;
      y[k] = std::numeric_limits<float>::quiet_NaN();
      EXPECT_TRUE(std::isnan(extreme(y.data(), n))) << n << " " << k;
      std::vector<double> yd = d;
      yd[k] = std::numeric_limits<double>::quiet_NaN();
      EXPECT_TRUE(std::isnan(extreme(yd.data(), n))) << n << " " << k;
    }
  }
  const float all_inf[3] = {start, start, start};
  EXPECT_EQ(extreme(all_inf, 3), start);
}

TEST(SimdMax, NaNPropagatesAndTails) { check_extreme<true>(); }
TEST(SimdMin, NaNPropagatesAndTails) { check_extreme<false>(); }

// The softmax helpers: exp(x - s) is the exp kernel on the rounded difference, affine is exact for
// a == 1 or b == 0; every tail length.
TEST(SimdSoftmaxHelpers, ExpShiftedAndAffineMatchTheirDefinitions) {
  for (int64_t n = 0; n <= 70; ++n) {
    std::vector<float> x(n), d(n), want(n), got(n);
    for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>((i * 37) % 23) * 0.37f - 4.0f;
    if (n > 3) x[3] = std::numeric_limits<float>::quiet_NaN();
    const float s = 1.75f;
    for (int64_t i = 0; i < n; ++i) d[i] = x[i] - s;
    vec::exp(d.data(), want.data(), n);
    vec::exp_shifted(x.data(), s, got.data(), n);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_TRUE(got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i]))) << n << " " << i;
    vec::affine(x.data(), 1.0f, -s, got.data(), n);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_TRUE(got[i] == d[i] || (std::isnan(got[i]) && std::isnan(d[i]))) << n << " " << i;
    std::vector<double> xd(x.begin(), x.end()), yd(n);
    vec::affine(xd.data(), 0.25, 0.0, yd.data(), n);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_TRUE(yd[i] == xd[i] * 0.25 || (std::isnan(yd[i]) && std::isnan(xd[i]))) << n << " " << i;
  }
}

TEST(SimdAccumulate, AddsEveryRowInOrderInDouble) {
  for (int64_t rows : {1, 3, 8}) {
    for (int64_t n = 0; n <= 70; ++n) {
      const int64_t stride = n + 5;  // rows with a gap between them
      std::vector<float> x(static_cast<size_t>(rows * stride), -1e30f);
      std::vector<double> acc(n), want(n);
      for (int64_t j = 0; j < n; ++j) {
        acc[j] = want[j] = 1e8 + static_cast<double>(j);
        for (int64_t r = 0; r < rows; ++r) {
          x[r * stride + j] = 1.0f + static_cast<float>(j + 100 * r) * 1e-7f;  // needs double to add exactly
          want[j] += static_cast<double>(x[r * stride + j]);  // in row order
        }
      }
      vec::accumulate(x.data(), stride, rows, acc.data(), n);
      for (int64_t j = 0; j < n; ++j) EXPECT_EQ(acc[j], want[j]) << rows << " x " << n << " at " << j;
      std::vector<double> xd(x.begin(), x.end()), accd(n, 0.5), wantd(n, 0.5);
      for (int64_t j = 0; j < n; ++j)
        for (int64_t r = 0; r < rows; ++r) wantd[j] += xd[r * stride + j];
      vec::accumulate(xd.data(), stride, rows, accd.data(), n);
      for (int64_t j = 0; j < n; ++j) EXPECT_EQ(accd[j], wantd[j]) << rows << " x " << n << " at " << j;
    }
  }
}

TEST(SimdIndexOf, FirstMatchOrNaNAtEveryPosition) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t n = 0; n <= 70; ++n) {
    std::vector<float> x(n, 1.0f);
    EXPECT_EQ(vec::index_of(x.data(), n, 2.0f), n);
    EXPECT_EQ(vec::index_of(x.data(), n, nan), n);
    for (int64_t k = 0; k < n; ++k) {
      std::vector<float> y = x;
      y[k] = 2.0f;
      if (k + 1 < n) y[n - 1] = 2.0f;  // a later match does not win
      EXPECT_EQ(vec::index_of(y.data(), n, 2.0f), k) << n;
      y[k] = nan;
      EXPECT_EQ(vec::index_of(y.data(), n, nan), k) << n;
      std::vector<double> d(y.begin(), y.end());
      EXPECT_EQ(vec::index_of(d.data(), n, static_cast<double>(nan)), k) << n;
    }
  }
}

// ---- GEMM against a naive reference ----------------------------------------------------------------------

template <typename T>
void check_gemm(int64_t M, int64_t N, int64_t K, bool ta, bool tb, T beta, bool strided_c) {
  std::mt19937 rng(static_cast<unsigned>(M * 131 + N * 17 + K));
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> A(static_cast<size_t>(M * K)), B(static_cast<size_t>(K * N));
  for (auto& v : A) v = static_cast<T>(u(rng));
  for (auto& v : B) v = static_cast<T>(u(rng));
  // Logical A(i, p): row-major M x K, or stored transposed (K x M).
  const int64_t rs_a = ta ? 1 : K, cs_a = ta ? M : 1;
  const int64_t rs_b = tb ? 1 : N, cs_b = tb ? K : 1;
  const int64_t ldc = strided_c ? N + 3 : N;
  std::vector<T> C(static_cast<size_t>(std::max<int64_t>(M * ldc, 1)) + 8, T(0.5)), R(C);
  const T alpha = T(1.5);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      long double s = 0;
      for (int64_t p = 0; p < K; ++p)
        s += static_cast<long double>(A[i * rs_a + p * cs_a]) * B[p * rs_b + j * cs_b];
      T& r = R[i * ldc + j];
      r = static_cast<T>(alpha * s + (beta == T(0) ? 0.0L : static_cast<long double>(beta) * r));
    }
  gradcore::kernels::gemm<T>(M, N, K, alpha, A.data(), rs_a, cs_a, B.data(), rs_b, cs_b, beta, C.data(), ldc, 1);
  const double tol = (std::is_same_v<T, float> ? 2e-6 : 1e-14) * (static_cast<double>(K) + 1);
  for (size_t i = 0; i < C.size(); ++i)
    ASSERT_NEAR(static_cast<double>(C[i]), static_cast<double>(R[i]), tol * 4)
        << M << "x" << N << "x" << K << " ta=" << ta << " tb=" << tb << " beta=" << beta << " at " << i;
}

template <typename T>
void gemm_shapes() {
  const int64_t sizes[][3] = {{0, 5, 3},  {5, 0, 3},   {4, 5, 0},   {1, 1, 1},    {1, 37, 19},   {37, 1, 19},
                              {1, 1, 300}, {13, 17, 5}, {14, 32, 8}, {15, 33, 9},  {29, 65, 130}, {64, 64, 64},
                              {7, 300, 3}, {300, 7, 3}, {100, 129, 257}, {97, 517, 67}, {259, 45, 600},
                              {40, 1000, 100}, {3, 2000, 400},
                              // a classifier head (C^T = B^T A^T), its gradients, and few-row / few-column tails
                              {128, 10, 512}, {512, 10, 128}, {128, 512, 10}, {20, 3, 48}, {3, 20, 48},
                              // few rows and a long K: two K halves (4 slices as 2 + 2, 5 as 3 + 2)
                              {100, 300, 784}, {33, 70, 1100}};
  for (auto& s : sizes)
    for (int t = 0; t < 4; ++t) {
      check_gemm<T>(s[0], s[1], s[2], t & 1, t & 2, T(0), false);
      check_gemm<T>(s[0], s[1], s[2], t & 1, t & 2, T(0.25), true);
    }
}

TEST(SimdGemm, FloatMatchesReference) { gemm_shapes<float>(); }
TEST(SimdGemm, DoubleMatchesReference) { gemm_shapes<double>(); }

TEST(SimdGemm, LargeSquareFloat) {
  check_gemm<float>(600, 700, 650, false, true, 0.0f, false);
  check_gemm<double>(301, 515, 390, true, false, 0.0, false);
}

// The threaded GEMM splits M blocks or N slivers, and K only where the shape alone says so (two K
// halves for few rows): the result is bitwise the same for any thread count.
TEST(SimdGemm, DeterministicAcrossThreadCounts) {
  const int saved = gradcore::get_num_threads();
  for (auto shape : {std::array<int64_t, 3>{517, 300, 700}, std::array<int64_t, 3>{40, 1000, 300},
                     std::array<int64_t, 3>{128, 512, 784}}) {
    const int64_t M = shape[0], N = shape[1], K = shape[2];
    std::vector<float> A(M * K), B(K * N), C1(M * N), C2(M * N);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto& v : A) v = u(rng);
    for (auto& v : B) v = u(rng);
    gradcore::set_num_threads(1);
    gradcore::kernels::gemm<float>(M, N, K, 1.0f, A.data(), K, 1, B.data(), N, 1, 0.0f, C1.data(), N, 1);
    for (int threads : {2, 3, 4}) {
      gradcore::set_num_threads(threads);
      gradcore::kernels::gemm<float>(M, N, K, 1.0f, A.data(), K, 1, B.data(), N, 1, 0.0f, C2.data(), N, 1);
      EXPECT_EQ(std::memcmp(C1.data(), C2.data(), C1.size() * sizeof(float)), 0)
          << M << "x" << N << "x" << K << " on " << threads << " threads";
    }
  }
  gradcore::set_num_threads(saved);
}

TEST(SimdGemm, BetaZeroIgnoresNaNInOutput) {
  std::vector<float> A(6 * 5, 1.0f), B(5 * 7, 1.0f), C(6 * 7, std::numeric_limits<float>::quiet_NaN());
  gradcore::kernels::gemm<float>(6, 7, 5, 1.0f, A.data(), 5, 1, B.data(), 7, 1, 0.0f, C.data(), 7, 1);
  for (float c : C) EXPECT_EQ(c, 5.0f);
}

TEST(SimdDispatch, CapabilityIsNamed) {
  std::printf("  cpu capability: %s\n", cpu_capability_name(cpu_capability()));
  const char* want = std::getenv("GRADCORE_EXPECT_CPU_CAPABILITY");
  if (want) {
    EXPECT_STREQ(cpu_capability_name(cpu_capability()), want);
  }
}

}  // namespace
