// The vectorised math kernels, written once with GCC vector extensions and compiled once per
// instruction set: vec_math_{default,avx2,avx512}.cpp define GC_VEC_NS (a namespace of their own, so
// no symbol compiled for a wider ISA can be picked by the linker for another path) and GC_VEC_BYTES
// (the vector width: 16 = SSE2, 32 = AVX2, 64 = AVX-512), then include this file. Nothing outside
// that namespace may be instantiated here (no std templates): everything is a builtin or our own.
//
// Algorithms (per element, branch-free, special values by selects):
//   exp:  n = round(x / ln2), r = x - n*ln2 (ln2 split hi/lo, Cody-Waite), exp(r) by a degree-7
//         polynomial (float) or fdlibm's rational form 1 + r + r*c/(2 - c) (double), scaled by 2^n
//         in one rounding, with gradual underflow and overflow to inf: AVX-512's scalef, elsewhere
//         two factors 2^(n/2) * 2^(n - n/2) built from bits. x is clamped first so n fits an integer.
//   log:  x = 2^k * m with m in [sqrt(1/2), sqrt(2)) (subnormals pre-scaled), fdlibm's
//         log(1+f) = f - hfsq + s*(hfsq + R(s^2)), s = f / (2 + f), plus k*ln2 (hi/lo).
//   tanh: |x| < 0.625: odd polynomial (float) / rational (double) from Cephes; else
//         1 - 2 / (exp(2|x|) + 1); sign restored by bits, so tanh(-0) = -0.
//   sigmoid: e = exp(-|x|), (x >= 0 ? 1 : e) / (1 + e), accurate in both tails.
// All are within 2 ulp of the correctly rounded result (tests/cpp/test_simd.cpp sweeps them).
#ifndef GC_VEC_NS
#error "define GC_VEC_NS and GC_VEC_BYTES before including vec_math_impl.h"
#endif

#include <cstdint>
#if GC_VEC_BYTES == 64
#include <immintrin.h>  // scalef (inline builtins only: nothing is instantiated)
#endif

namespace gradcore::kernels::GC_VEC_NS {

template <typename T>
struct Traits;

template <>
struct Traits<float> {
  typedef float V __attribute__((vector_size(GC_VEC_BYTES)));
  typedef int32_t VI __attribute__((vector_size(GC_VEC_BYTES)));
  typedef uint32_t VU __attribute__((vector_size(GC_VEC_BYTES)));
  using I = int32_t;
  static constexpr int W = GC_VEC_BYTES / 4;
  static constexpr float kShift = 0x1.8p23f;  // adding it rounds to an integer held in the low bits
  static constexpr I kShiftBits = 0x4B400000;
  static constexpr int kMantBits = 23;
  static constexpr I kBias = 127;
  static constexpr I kSignMask = I(0x80000000u);
  static constexpr I kMantMask = 0x007fffff;
  static constexpr I kOneBits = 0x3f800000;
  static constexpr I kSqrtHalfBits = 0x3f3504f3;
  static constexpr float kMinNormal = 0x1p-126f;
  static constexpr float kSubScale = 0x1p25f;
  static constexpr int kSubK = 25;
  static constexpr float kInf = __builtin_inff();
  // exp
  static constexpr float kExpLo = -104.0f, kExpHi = 89.0f;
  static constexpr float kInvLn2 = 1.4426950216e+00f, kLn2Hi = 6.9314575195e-01f, kLn2Lo = 1.4286067653e-06f;
  // log
  static constexpr float kLogLn2Hi = 6.9313812256e-01f, kLogLn2Lo = 9.0580006145e-06f;
  // tanh
  static constexpr float kTanhSmall = 0.625f, kTanhClamp = 10.0f;

  static V exp_c(V r, V rr) { return r - rr * (1.6666625440e-1f + rr * -2.7667332906e-3f); }
  static V log_r(V z, V w) {
    V t1 = w * (0.40000972152f + w * 0.24279078841f);
    V t2 = z * (0.66666662693f + w * 0.28498786688f);
    return t2 + t1;
  }
  static V tanh_small(V x) {  // |x| < 0.625
    V z = x * x;
    V p = (((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
          3.33332819422e-1f;
    return p * z * x + x;
  }
};

template <>
struct Traits<double> {
  typedef double V __attribute__((vector_size(GC_VEC_BYTES)));
  typedef int64_t VI __attribute__((vector_size(GC_VEC_BYTES)));
  typedef uint64_t VU __attribute__((vector_size(GC_VEC_BYTES)));
  using I = int64_t;
  static constexpr int W = GC_VEC_BYTES / 8;
  static constexpr double kShift = 0x1.8p52;
  static constexpr I kShiftBits = 0x4338000000000000LL;
  static constexpr int kMantBits = 52;
  static constexpr I kBias = 1023;
  static constexpr I kSignMask = I(0x8000000000000000ULL);
  static constexpr I kMantMask = 0x000fffffffffffffLL;
  static constexpr I kOneBits = 0x3ff0000000000000LL;
  static constexpr I kSqrtHalfBits = 0x3fe6a09e00000000LL;
  static constexpr double kMinNormal = 0x1p-1022;
  static constexpr double kSubScale = 0x1p54;
  static constexpr int kSubK = 54;
  static constexpr double kInf = __builtin_inf();
  static constexpr double kExpLo = -746.0, kExpHi = 710.0;
  static constexpr double kInvLn2 = 1.44269504088896338700e+00, kLn2Hi = 6.93147180369123816490e-01,
                          kLn2Lo = 1.90821492927058770002e-10;
  static constexpr double kLogLn2Hi = 6.93147180369123816490e-01, kLogLn2Lo = 1.90821492927058770002e-10;
  static constexpr double kTanhSmall = 0.625, kTanhClamp = 22.0;

  static V exp_c(V r, V rr) {
    return r - rr * (1.66666666666666019037e-01 +
                     rr * (-2.77777777770155933842e-03 +
                           rr * (6.61375632143793436117e-05 +
                                 rr * (-1.65339022054652515390e-06 + rr * 4.13813679705723846039e-08))));
  }
  static V log_r(V z, V w) {
    V t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    V t2 = z * (6.666666666666735130e-01 +
                w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    return t2 + t1;
  }
  static V tanh_small(V x) {  // Cephes tanh.c: x + x^3 P(x^2) / Q(x^2)
    V s = x * x;
    V p = (-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s - 1.61468768441708447952e3;
    V q = ((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s + 4.84406305325125486048e3;
    return x + x * s * p / q;
  }
};

template <typename T>
using Vec = typename Traits<T>::V;
template <typename T>
using VecI = typename Traits<T>::VI;

template <typename T>
__attribute__((always_inline)) inline Vec<T> splat(T c) {
  Vec<T> v;
  for (int i = 0; i < Traits<T>::W; ++i) v[i] = c;
  return v;
}

template <typename T>
__attribute__((always_inline)) inline VecI<T> splati(typename Traits<T>::I c) {
  VecI<T> v;
  for (int i = 0; i < Traits<T>::W; ++i) v[i] = c;
  return v;
}

// round(x) for |x| < 2^(mantissa bits - 1), as a float and as the integer's bits.
template <typename T>
__attribute__((always_inline)) inline Vec<T> round_int(Vec<T> x) {
  const T s = Traits<T>::kShift;
  return (x + s) - s;
}

// 2^n for an integral n in the normal exponent range, built from its bits.
template <typename T>
__attribute__((always_inline)) inline Vec<T> pow2(Vec<T> n) {
  using Tr = Traits<T>;
  using VU = typename Tr::VU;
  // Unsigned arithmetic: a NaN lane's garbage bits wrap harmlessly (the NaN survives the product).
  VU bits = (VU)(n + Tr::kShift) - (VU)splati<T>(Tr::kShiftBits);  // the integer n
  return (Vec<T>)((bits + (VU)splati<T>(Tr::kBias)) << Tr::kMantBits);
}

template <typename T>
__attribute__((always_inline)) inline Vec<T> select(VecI<T> m, Vec<T> a, Vec<T> b) {
  return m ? a : b;
}

template <typename T>
__attribute__((always_inline)) inline Vec<T> vabs(Vec<T> x) {
  return (Vec<T>)((VecI<T>)x & ~Traits<T>::kSignMask);
}

// y * 2^n for an integral n (a float) in vexp's range.
template <typename T>
__attribute__((always_inline)) inline Vec<T> scale_pow2(Vec<T> y, Vec<T> n) {
#if GC_VEC_BYTES == 64
  // One instruction instead of a dozen: the kernel is bound by instruction count. (The masked form
  // with every lane selected: GCC 12's unmasked one trips -Wmaybe-uninitialized in its own header.)
  if constexpr (sizeof(T) == 4)
    return (Vec<T>)_mm512_mask_scalef_ps((__m512)y, 0xFFFF, (__m512)y, (__m512)n);
  else
    return (Vec<T>)_mm512_mask_scalef_pd((__m512d)y, 0xFF, (__m512d)y, (__m512d)n);
#else
  Vec<T> n1 = round_int<T>(n * T(0.5));
  return y * pow2<T>(n1) * pow2<T>(n - n1);
#endif
}

template <typename T>
__attribute__((always_inline)) inline Vec<T> vexp(Vec<T> x0) {
  using Tr = Traits<T>;
  Vec<T> x = select<T>(x0 < Tr::kExpLo, splat<T>(Tr::kExpLo), x0);
  x = select<T>(x > Tr::kExpHi, splat<T>(Tr::kExpHi), x);  // NaN passes both selects unchanged
  Vec<T> n = round_int<T>(x * Tr::kInvLn2);
  Vec<T> hi = x - n * Tr::kLn2Hi;
  Vec<T> lo = n * Tr::kLn2Lo;
  Vec<T> r = hi - lo;
  Vec<T> y;
  if constexpr (sizeof(T) == 4) {
    // float: a degree-7 polynomial on |r| <= ln2/2 (Sleef's minimax coefficients). The rational
    // form below needs a division, which AVX-512 issues every 10 cycles: it bounded the kernel.
    Vec<T> u = splat<T>(T(0.000198527617612853646278381f));
    u = u * r + T(0.00139304355252534151077271f);
    u = u * r + T(0.00833336077630519866943359f);
    u = u * r + T(0.0416664853692054748535156f);
    u = u * r + T(0.166666671633720397949219f);
    u = u * r + T(0.5f);
    y = T(1) + (r * r * u + r);
  } else {
    Vec<T> c = Tr::exp_c(r, r * r);
    y = T(1) + ((r * c / (T(2) - c) - lo) + hi);
  }
  return select<T>(x0 != x0, x0 + x0, scale_pow2<T>(y, n));
}

template <typename T>
__attribute__((always_inline)) inline Vec<T> vlog(Vec<T> x0) {
  using Tr = Traits<T>;
  using VI = VecI<T>;
  using VU = typename Tr::VU;
  VI sub = x0 < Tr::kMinNormal;  // subnormal (or <= 0: replaced below)
  Vec<T> x = select<T>(sub, x0 * Tr::kSubScale, x0);
  VI k0 = sub & splati<T>(-Tr::kSubK);
  // Unsigned bit arithmetic: NaN, inf and negative inputs wrap harmlessly (their lanes are replaced).
  VU ix = (VU)x + (VU)splati<T>(Tr::kOneBits - Tr::kSqrtHalfBits);
  VI k = k0 + ((VI)(ix >> Tr::kMantBits) - Tr::kBias);
  ix = (ix & (VU)splati<T>(Tr::kMantMask)) + (VU)splati<T>(Tr::kSqrtHalfBits);
  Vec<T> f = (Vec<T>)ix - T(1);
  Vec<T> hfsq = T(0.5) * f * f;
  Vec<T> s = f / (T(2) + f);
  Vec<T> z = s * s;
  Vec<T> R = Tr::log_r(z, z * z);
  Vec<T> dk = (Vec<T>)(k + Tr::kShiftBits) - Tr::kShift;
  Vec<T> y = s * (hfsq + R) + dk * Tr::kLogLn2Lo - hfsq + f + dk * Tr::kLogLn2Hi;
  y = select<T>(x0 == T(0), splat<T>(-Tr::kInf), y);
  y = select<T>(x0 < T(0), splat<T>(__builtin_nan("")), y);
  y = select<T>(x0 == Tr::kInf, x0, y);
  return select<T>(x0 != x0, x0 + x0, y);
}

template <typename T>
__attribute__((always_inline)) inline Vec<T> vtanh(Vec<T> x0) {
  using Tr = Traits<T>;
  using VI = VecI<T>;
  VI sign = (VI)x0 & Tr::kSignMask;
  Vec<T> ax = vabs<T>(x0);
  Vec<T> small = Tr::tanh_small(ax);
  Vec<T> e = vexp<T>(T(2) * select<T>(ax > Tr::kTanhClamp, splat<T>(Tr::kTanhClamp), ax));
  Vec<T> large = T(1) - T(2) / (e + T(1));
  Vec<T> t = select<T>(ax < Tr::kTanhSmall, small, large);
  t = (Vec<T>)((VI)t | sign);
  return select<T>(x0 != x0, x0 + x0, t);
}

// num / (1 + e) for 0 <= e <= 1, with the rounding error of 1 + e (exact by Fast2Sum) corrected:
// num / (d + d_lo) ~= q - q * d_lo / d. Keeps sigmoid within 2 ulp where 1 + e rounds badly.
template <typename T>
__attribute__((always_inline)) inline Vec<T> div_one_plus(Vec<T> num, Vec<T> e) {
  Vec<T> d = T(1) + e;
  Vec<T> d_lo = (T(1) - d) + e;
  Vec<T> q = num / d;
  return q - q * d_lo / d;
}

template <typename T>
__attribute__((always_inline)) inline Vec<T> vsigmoid(Vec<T> x) {
  Vec<T> e = vexp<T>(-vabs<T>(x));  // NaN stays NaN
  Vec<T> num = select<T>(x >= T(0), splat<T>(T(1)), e);
  return div_one_plus<T>(num, e);
}

// silu(x) = x * sigmoid(x) (silu(-inf) = -inf * 0 = NaN, as PyTorch's x / (1 + exp(-x)) gives).
template <typename T>
__attribute__((always_inline)) inline Vec<T> vsilu(Vec<T> x) {
  return x * vsigmoid<T>(x);
}

// gelu(x, approximate='tanh') = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as PyTorch writes it.
template <typename T>
__attribute__((always_inline)) inline Vec<T> vgelu_tanh(Vec<T> x) {
  const T beta = T(0.7978845608028654), kappa = T(0.044715);
  Vec<T> inner = beta * (x + kappa * x * x * x);
  return T(0.5) * x * (T(1) + vtanh<T>(inner));
}

// y[i] = f(x[i]) for i < n, W lanes at a time; the tail goes through a zero-padded vector.
template <typename T, typename F>
__attribute__((always_inline)) inline void apply(const T* x, T* y, int64_t n, F f) {
  constexpr int W = Traits<T>::W;
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    Vec<T> v;
    __builtin_memcpy(&v, x + i, sizeof v);
    Vec<T> r = f(v);
    __builtin_memcpy(y + i, &r, sizeof r);
  }
  if (i < n) {
    T buf[W];
    const int64_t m = n - i;
    for (int j = 0; j < W; ++j) buf[j] = j < m ? x[i + j] : T(0);
    Vec<T> v;
    __builtin_memcpy(&v, buf, sizeof v);
    Vec<T> r = f(v);
    __builtin_memcpy(buf, &r, sizeof r);
    for (int64_t j = 0; j < m; ++j) y[i + j] = buf[j];
  }
}

// WD = GC_VEC_BYTES / 8 consecutive elements of x widened to doubles. One vector load and a
// convert (vcvtps2pd for float); element-by-element widening gets scalarised by GCC.
template <typename T>
__attribute__((always_inline)) inline auto load_as_double(const T* x) {
  typedef double VD __attribute__((vector_size(GC_VEC_BYTES)));
  typedef T VS __attribute__((vector_size(GC_VEC_BYTES / 8 * sizeof(T))));
#if GC_VEC_BYTES == 64
  // GCC 12 splits the 8-float convert below into two 4-float halves and an insert. (maskz: its
  // unmasked intrinsic trips -Wmaybe-uninitialized in its own header.)
  if constexpr (sizeof(T) == 4) return (VD)_mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(x));
#endif
  VS v;
  __builtin_memcpy(&v, x, sizeof v);
  return __builtin_convertvector(v, VD);
}

// How far ahead streaming loops ask for cache lines.
constexpr int64_t kPrefetchBytes = 4096;

// sum of x[i] (or of x[i]^2) in double, with several vector accumulators.
template <typename T, bool squares>
__attribute__((always_inline)) inline double sum_impl(const T* x, int64_t n) {
  typedef double VD __attribute__((vector_size(GC_VEC_BYTES)));
  constexpr int WD = GC_VEC_BYTES / 8;
  constexpr int U = 4;  // independent accumulators
  VD acc[U];
  for (int u = 0; u < U; ++u)
    for (int j = 0; j < WD; ++j) acc[u][j] = 0;
  int64_t i = 0;
  if constexpr (sizeof(T) == 4) {
    // float: a block of U * W * kLaneAdds elements is summed in float lanes (each lane adds
    // kLaneAdds values, a relative error of a few float ulps at most), and the block sums in
    // double. Widening every element instead is limited by the conversion unit: 51 instead of
    // 75 GB/s on data in L2, which is where a tensor split over the cores sits between calls.
    constexpr int W = Traits<float>::W;
    constexpr int kLaneAdds = 8;
    constexpr int64_t kBlock = int64_t{U} * W * kLaneAdds;
    for (; i + kBlock <= n; i += kBlock) {
      for (int64_t b = 0; b < kBlock * 4; b += 64) __builtin_prefetch(reinterpret_cast<const char*>(x + i) + kPrefetchBytes + b);
      Vec<float> f[U];
      for (int u = 0; u < U; ++u) f[u] = splat<float>(0.0f);
      for (int k = 0; k < kLaneAdds; ++k) {
        for (int u = 0; u < U; ++u) {
          Vec<float> v;
          __builtin_memcpy(&v, x + i + (k * U + u) * W, sizeof v);
          f[u] += squares ? v * v : v;
        }
      }
      const Vec<float> t = (f[0] + f[1]) + (f[2] + f[3]);
      for (int h = 0; h < W / WD; ++h) {
        VD d;
        for (int j = 0; j < WD; ++j) d[j] = static_cast<double>(t[h * WD + j]);
        acc[h % U] += d;
      }
    }
  }
  for (; i + U * WD <= n; i += U * WD) {
    // The hardware prefetcher alone leaves this loop at ~11 GB/s from DRAM on the reference
    // machine; asking for the lines 4 KB ahead gets ~28 GB/s (prefetches past the end are harmless).
    for (int64_t b = 0; b < U * WD * static_cast<int64_t>(sizeof(T)); b += 64)
      __builtin_prefetch(reinterpret_cast<const char*>(x + i) + kPrefetchBytes + b);
    for (int u = 0; u < U; ++u) {
      const VD v = load_as_double(x + i + u * WD);
      acc[u] += squares ? v * v : v;
    }
  }
  VD t = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  double s = 0;
  for (int j = 0; j < WD; ++j) s += t[j];
  double tail = 0;
  for (; i < n; ++i) {
    const double v = static_cast<double>(x[i]);
    tail += squares ? v * v : v;
  }
  return s + tail;
}

// max (kMax) or min of x[0..n) (-inf / +inf when empty); NaN when any element is NaN. Several
// vector accumulators.
template <typename T, bool kMax>
__attribute__((always_inline)) inline T extreme_impl(const T* x, int64_t n) {
  constexpr int W = Traits<T>::W;
  using VI = VecI<T>;
  const T start = kMax ? -Traits<T>::kInf : Traits<T>::kInf;
  Vec<T> m0 = splat<T>(start), m1 = m0;
  VI nan = splati<T>(0);
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    Vec<T> a, b;
    __builtin_memcpy(&a, x + i, sizeof a);
    __builtin_memcpy(&b, x + i + W, sizeof b);
    if constexpr (kMax) {
      m0 = select<T>(a > m0, a, m0);
      m1 = select<T>(b > m1, b, m1);
    } else {
      m0 = select<T>(a < m0, a, m0);
      m1 = select<T>(b < m1, b, m1);
    }
    nan |= (a != a) | (b != b);
  }
  m0 = kMax ? select<T>(m1 > m0, m1, m0) : select<T>(m1 < m0, m1, m0);
  T m = start;
  bool any_nan = false;
  for (int j = 0; j < W; ++j) {
    m = (kMax ? m0[j] > m : m0[j] < m) ? m0[j] : m;
    any_nan |= nan[j] != 0;
  }
  for (; i < n; ++i) {
    m = (kMax ? x[i] > m : x[i] < m) ? x[i] : m;
    any_nan |= x[i] != x[i];
  }
  return any_nan ? __builtin_nan("") : m;
}

// The first i with x[i] == v (x[i] is NaN when v is NaN), or n if there is none.
template <typename T>
__attribute__((always_inline)) inline int64_t index_of_impl(const T* x, int64_t n, T v) {
  constexpr int W = Traits<T>::W;
  const bool nan = v != v;
  const Vec<T> target = splat<T>(v);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    Vec<T> a;
    __builtin_memcpy(&a, x + i, sizeof a);
    const VecI<T> hit = nan ? (a != a) : (a == target);
    bool any = false;
    for (int j = 0; j < W; ++j) any |= hit[j] != 0;
    if (any) break;
  }
  for (; i < n; ++i)
    if (nan ? x[i] != x[i] : x[i] == v) return i;
  return n;
}

// acc[j] += x[r * stride + j] in double, rows in order (a reduction over a leading dim). Eight rows
// at a time per vector of acc, so acc is loaded and stored once per eight rows; each element still
// adds its rows in order.
template <typename T>
__attribute__((always_inline)) inline void accumulate_impl(const T* x, int64_t stride, int64_t rows, double* acc,
                                                           int64_t n) {
  typedef double VD __attribute__((vector_size(GC_VEC_BYTES)));
  constexpr int WD = GC_VEC_BYTES / 8;
  constexpr int64_t R = 8;
  for (int64_t r0 = 0; r0 < rows; r0 += R) {
    const int64_t r1 = r0 + R < rows ? r0 + R : rows;
    const T* xr = x + r0 * stride;
    int64_t j = 0;
    for (; j + WD <= n; j += WD) {
      VD a;
      __builtin_memcpy(&a, acc + j, sizeof a);
      for (int64_t r = 0; r < r1 - r0; ++r) a += load_as_double(xr + r * stride + j);
      __builtin_memcpy(acc + j, &a, sizeof a);
    }
    for (; j < n; ++j)
      for (int64_t r = 0; r < r1 - r0; ++r) acc[j] += static_cast<double>(xr[r * stride + j]);
  }
}

}  // namespace gradcore::kernels::GC_VEC_NS

// The table of entry points each per-ISA file defines (see vec_math.cpp for the dispatch).
#define GC_VEC_DEFINE_ENTRY_POINTS                                                                        \
  namespace gradcore::kernels::GC_VEC_NS {                                                              \
  void exp_f32(const float* x, float* y, int64_t n) { apply<float>(x, y, n, vexp<float>); }              \
  void exp_f64(const double* x, double* y, int64_t n) { apply<double>(x, y, n, vexp<double>); }          \
  void log_f32(const float* x, float* y, int64_t n) { apply<float>(x, y, n, vlog<float>); }              \
  void log_f64(const double* x, double* y, int64_t n) { apply<double>(x, y, n, vlog<double>); }          \
  void tanh_f32(const float* x, float* y, int64_t n) { apply<float>(x, y, n, vtanh<float>); }            \
  void tanh_f64(const double* x, double* y, int64_t n) { apply<double>(x, y, n, vtanh<double>); }        \
  void sigmoid_f32(const float* x, float* y, int64_t n) { apply<float>(x, y, n, vsigmoid<float>); }      \
  void sigmoid_f64(const double* x, double* y, int64_t n) { apply<double>(x, y, n, vsigmoid<double>); }  \
  void silu_f32(const float* x, float* y, int64_t n) { apply<float>(x, y, n, vsilu<float>); }            \
  void silu_f64(const double* x, double* y, int64_t n) { apply<double>(x, y, n, vsilu<double>); }        \
  void gelu_tanh_f32(const float* x, float* y, int64_t n) { apply<float>(x, y, n, vgelu_tanh<float>); }  \
  void gelu_tanh_f64(const double* x, double* y, int64_t n) { apply<double>(x, y, n, vgelu_tanh<double>); } \
  void exp_shifted_f32(const float* x, float s, float* y, int64_t n) {                                   \
    apply<float>(x, y, n, [s](Vec<float> v) { return vexp<float>(v - s); });                              \
  }                                                                                                     \
  void exp_shifted_f64(const double* x, double s, double* y, int64_t n) {                               \
    apply<double>(x, y, n, [s](Vec<double> v) { return vexp<double>(v - s); });                           \
  }                                                                                                     \
  void affine_f32(const float* x, float a, float b, float* y, int64_t n) {                              \
    apply<float>(x, y, n, [a, b](Vec<float> v) { return v * a + b; });                                    \
  }                                                                                                     \
  void affine_f64(const double* x, double a, double b, double* y, int64_t n) {                          \
    apply<double>(x, y, n, [a, b](Vec<double> v) { return v * a + b; });                                  \
  }                                                                                                     \
  float max_f32(const float* x, int64_t n) { return extreme_impl<float, true>(x, n); }                 \
  double max_f64(const double* x, int64_t n) { return extreme_impl<double, true>(x, n); }               \
  float min_f32(const float* x, int64_t n) { return extreme_impl<float, false>(x, n); }                \
  double min_f64(const double* x, int64_t n) { return extreme_impl<double, false>(x, n); }              \
  void accumulate_f32(const float* x, int64_t stride, int64_t rows, double* acc, int64_t n) {            \
    accumulate_impl<float>(x, stride, rows, acc, n);                                                     \
  }                                                                                                      \
  void accumulate_f64(const double* x, int64_t stride, int64_t rows, double* acc, int64_t n) {          \
    accumulate_impl<double>(x, stride, rows, acc, n);                                                    \
  }                                                                                                      \
  int64_t index_of_f32(const float* x, int64_t n, float v) { return index_of_impl<float>(x, n, v); }     \
  int64_t index_of_f64(const double* x, int64_t n, double v) { return index_of_impl<double>(x, n, v); } \
  double sum_f32(const float* x, int64_t n, bool sq) {                                                  \
    return sq ? sum_impl<float, true>(x, n) : sum_impl<float, false>(x, n);                             \
  }                                                                                                     \
  double sum_f64(const double* x, int64_t n, bool sq) {                                                 \
    return sq ? sum_impl<double, true>(x, n) : sum_impl<double, false>(x, n);                           \
  }                                                                                                     \
  }
