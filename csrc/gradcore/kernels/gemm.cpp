// The GEMM kernel: cache blocking, panel packing and a register-blocked micro-kernel (see gemm.h).
//
// Three micro-kernels, chosen at run time by CPU capability (kernels/cpu.h, overridable with
// GRADCORE_CPU_CAPABILITY): AVX-512 (intrinsics, 14 x 32 float / 14 x 16 double tiles in zmm
// registers), AVX2+FMA and the baseline x86-64 build (the same plain C++ body that GCC vectorises at
// -O3, 6 x 16 float / 6 x 8 double). The wider ones are compiled with target attributes; the build
// itself targets plain x86-64, so a portable binary never assumes more than the CPU has.
#include "gradcore/kernels/gemm.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "gradcore/kernels/cpu.h"
#include "gradcore/parallel.h"

namespace gradcore::kernels {

namespace {

// ---- Micro-kernels --------------------------------------------------------------------------------
// Every micro-kernel computes one MR x NR tile of C from an MR-wide sliver of packed A and an NR-wide
// sliver of packed B (depth kc):  C[i, j] = alpha * sum_p a[p * MR + i] * b[p * NR + j] + beta * C[i, j]
// for a full tile with unit column stride (row i at c + i * ldc); beta == 0 never reads C.
template <typename T>
using MicroKernel = void (*)(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, T alpha, T beta);

// The portable body: plain C++ that GCC vectorises at -O3 (fully unrolled, so every accumulator has
// a constant index and stays in a register; the SLP vectoriser turns each row update into NR / width
// vector multiply-adds). Compiled for the baseline target and, via a target attribute, for AVX2+FMA.
template <typename T, int MR, int NR>
__attribute__((always_inline)) inline void micro_kernel_body(int64_t kc, const T* __restrict a, const T* __restrict b,
                                                             T* __restrict c, int64_t ldc, T alpha, T beta) {
  T acc[MR][NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) acc[i][j] = T(0);
  for (int64_t p = 0; p < kc; ++p) {
    const T* __restrict ap = a + p * MR;
    const T* __restrict bp = b + p * NR;
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const T av = ap[i];
#pragma GCC unroll 16
      for (int j = 0; j < NR; ++j) acc[i][j] += av * bp[j];
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    T* __restrict crow = c + i * ldc;
    if (beta == T(0)) {
#pragma GCC unroll 16
      for (int j = 0; j < NR; ++j) crow[j] = alpha * acc[i][j];
    } else {
#pragma GCC unroll 16
      for (int j = 0; j < NR; ++j) crow[j] = alpha * acc[i][j] + beta * crow[j];
    }
  }
}

// Portable and AVX2 tiles: 6 x 16 float / 6 x 8 double = 12 of the 16 vector registers with AVX2.
template <typename T>
constexpr int kPortableNR = std::is_same_v<T, float> ? 16 : 8;

template <typename T>
void micro_kernel_generic(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, T alpha, T beta) {
  micro_kernel_body<T, 6, kPortableNR<T>>(kc, a, b, c, ldc, alpha, beta);
}

#if defined(__GNUC__) && defined(__x86_64__)
#define GC_GEMM_X86 1
template <typename T>
__attribute__((target("avx2,fma"))) void micro_kernel_avx2(int64_t kc, const T* a, const T* b, T* c, int64_t ldc,
                                                            T alpha, T beta) {
  micro_kernel_body<T, 6, kPortableNR<T>>(kc, a, b, c, ldc, alpha, beta);
}

// AVX-512: MR rows x two 512-bit vectors per row (32 floats / 16 doubles), 2 * MR accumulators
// in zmm registers (of 32), the A element broadcast from memory into each FMA. Written with
// intrinsics: register allocation is explicit and does not depend on the vectoriser. ROWS < MR
// computes only the first ROWS rows of the sliver: the ragged last sliver of A (128 rows are 9
// slivers of 14 and one of 2) then costs its rows, not a whole padded tile (8% of that product).
#define GC_AVX512_TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))

template <int MR, int ROWS = MR>
GC_AVX512_TARGET void micro_kernel_avx512_f32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                               float alpha, float beta) {
  __m512 acc0[ROWS], acc1[ROWS];
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p, a += MR, b += 32) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 32 * 8), _MM_HINT_T0);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      const __m512 av = _mm512_set1_ps(a[i]);
      acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, acc0[i]));
      _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, acc1[i]));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      float* r = c + i * ldc;
      _mm512_storeu_ps(r, _mm512_fmadd_ps(va, acc0[i], _mm512_mul_ps(vb, _mm512_loadu_ps(r))));
      _mm512_storeu_ps(r + 16, _mm512_fmadd_ps(va, acc1[i], _mm512_mul_ps(vb, _mm512_loadu_ps(r + 16))));
    }
  }
}

template <int MR, int ROWS = MR>
GC_AVX512_TARGET void micro_kernel_avx512_f64(int64_t kc, const double* a, const double* b, double* c, int64_t ldc,
                                               double alpha, double beta) {
  __m512d acc0[ROWS], acc1[ROWS];
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i) acc0[i] = acc1[i] = _mm512_setzero_pd();
  for (int64_t p = 0; p < kc; ++p, a += MR, b += 16) {
    const __m512d b0 = _mm512_load_pd(b), b1 = _mm512_load_pd(b + 8);
    _mm_prefetch(reinterpret_cast<const char*>(b + 16 * 8), _MM_HINT_T0);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      const __m512d av = _mm512_set1_pd(a[i]);
      acc0[i] = _mm512_fmadd_pd(av, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_pd(av, b1, acc1[i]);
    }
  }
  const __m512d va = _mm512_set1_pd(alpha);
  if (beta == 0.0) {
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      _mm512_storeu_pd(c + i * ldc, _mm512_mul_pd(va, acc0[i]));
      _mm512_storeu_pd(c + i * ldc + 8, _mm512_mul_pd(va, acc1[i]));
    }
  } else {
    const __m512d vb = _mm512_set1_pd(beta);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      double* r = c + i * ldc;
      _mm512_storeu_pd(r, _mm512_fmadd_pd(va, acc0[i], _mm512_mul_pd(vb, _mm512_loadu_pd(r))));
      _mm512_storeu_pd(r + 8, _mm512_fmadd_pd(va, acc1[i], _mm512_mul_pd(vb, _mm512_loadu_pd(r + 8))));
    }
  }
}
#endif

// A micro-kernel with its tile shape and the cache blocking that suits it.
template <typename T>
struct KernelSpec {
  MicroKernel<T> fn;
  int MR, NR;
  int64_t MC, KC, NC;  // MC a multiple of MR, NC of NR
  std::array<MicroKernel<T>, 17> rows_fn{};  // rows_fn[r]: the first r rows of a sliver, where there is one
};

// Blocking (tuned on this machine's 48 KiB L1d / 2 MiB L2 per core; see README): KC x NR of packed B
// stays in L1 across the MC / MR A slivers, MC x KC of packed A in L2, KC x NC of packed B in L3.
#ifdef GC_GEMM_X86
// Tile shapes and blocking chosen by measurement (README: GEMM); overridable for tuning runs.
#ifndef GC_GEMM_F32_MR
#define GC_GEMM_F32_MR 14
#define GC_GEMM_F32_MC 56
#define GC_GEMM_F32_KC 256
#define GC_GEMM_F32_NC 1024
#endif
#ifndef GC_GEMM_F64_MR
#define GC_GEMM_F64_MR 14
#define GC_GEMM_F64_MC 56
#define GC_GEMM_F64_KC 256
#define GC_GEMM_F64_NC 2048
#endif
template <typename T>
KernelSpec<T> avx512_spec();
// rows_fn of the AVX-512 kernels: entry r (1..MR) is the kernel instantiated for r rows.
template <int MR, int... R>
std::array<MicroKernel<float>, 17> rows_table_f32(std::integer_sequence<int, R...>) {
  return {nullptr, &micro_kernel_avx512_f32<MR, R + 1>...};
}
template <int MR, int... R>
std::array<MicroKernel<double>, 17> rows_table_f64(std::integer_sequence<int, R...>) {
  return {nullptr, &micro_kernel_avx512_f64<MR, R + 1>...};
}
template <>
KernelSpec<float> avx512_spec<float>() {
  return {&micro_kernel_avx512_f32<GC_GEMM_F32_MR>, GC_GEMM_F32_MR, 32, GC_GEMM_F32_MC, GC_GEMM_F32_KC, GC_GEMM_F32_NC,
          rows_table_f32<GC_GEMM_F32_MR>(std::make_integer_sequence<int, GC_GEMM_F32_MR>())};
}
template <>
KernelSpec<double> avx512_spec<double>() {
  return {&micro_kernel_avx512_f64<GC_GEMM_F64_MR>, GC_GEMM_F64_MR, 16, GC_GEMM_F64_MC, GC_GEMM_F64_KC, GC_GEMM_F64_NC,
          rows_table_f64<GC_GEMM_F64_MR>(std::make_integer_sequence<int, GC_GEMM_F64_MR>())};
}
#endif

// The kernel for this CPU (cpu.h), chosen once.
template <typename T>
const KernelSpec<T>& kernel_spec() {
  static const KernelSpec<T> spec = [] {
    switch (cpu_capability()) {
#ifdef GC_GEMM_X86
      case CpuCapability::AVX512:
        return avx512_spec<T>();
      case CpuCapability::AVX2:
        return KernelSpec<T>{&micro_kernel_avx2<T>, 6, kPortableNR<T>, 144, 256, 3072};
#endif
      default:
        return KernelSpec<T>{&micro_kernel_generic<T>, 6, kPortableNR<T>, 144, 256, 3072};
    }
  }();
  return spec;
}

// ---- Packing ------------------------------------------------------------------------------------
// Packing a row-major A (or a column-major B) transposes it. Element by element that is a load and a
// store per float, about as slow as the multiply itself for 128-row products; with AVX-512 the
// floats go through 16 x 16 register transposes instead (4 shuffle stages), several times faster.
#ifdef GC_GEMM_X86
// dst[c * dst_stride + r] = src[r * src_stride + c] for r < rows (<= 16), c < 16.
// GCC 12's unpack and shuffle intrinsics pass an "undefined" vector that -Wuninitialized (and, in
// sanitizer builds, -Wmaybe-uninitialized) flags: a false positive in the header, silenced for this
// function only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
GC_AVX512_TARGET void transpose_16_avx512(const float* src, int64_t src_stride, int rows, float* dst,
                                          int64_t dst_stride) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_loadu_ps(src + i * src_stride) : _mm512_setzero_ps();
  for (int i = 0; i < 8; ++i) {  // per 128-bit lane k: rows 2i, 2i+1 at columns 4k, 4k+1 / 4k+2, 4k+3
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // r[4i + c], lane k: rows 4i..4i+3 at column 4k + c
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1);
  for (int c = 0; c < 4; ++c) {  // gather lane k of the four row groups: column 4k + c
    const __m512 s0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88), s1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xDD);
    const __m512 s2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88), s3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xDD);
    _mm512_mask_storeu_ps(dst + c * dst_stride, keep, _mm512_shuffle_f32x4(s0, s2, 0x88));
    _mm512_mask_storeu_ps(dst + (4 + c) * dst_stride, keep, _mm512_shuffle_f32x4(s1, s3, 0x88));
    _mm512_mask_storeu_ps(dst + (8 + c) * dst_stride, keep, _mm512_shuffle_f32x4(s0, s2, 0xDD));
    _mm512_mask_storeu_ps(dst + (12 + c) * dst_stride, keep, _mm512_shuffle_f32x4(s1, s3, 0xDD));
  }
}
#pragma GCC diagnostic pop

// dst[p * rows + i] = src[p * src_stride + i] for i < rows (<= 16), p < len: packing a column-major
// block (each p's rows contiguous) with one masked load and store per p, not a memcpy call.
GC_AVX512_TARGET void copy_columns_avx512(const float* src, int64_t src_stride, int rows, int64_t len, float* dst) {
  const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1);
  for (int64_t p = 0; p < len; ++p)
    _mm512_mask_storeu_ps(dst + p * rows, keep, _mm512_maskz_loadu_ps(keep, src + p * src_stride));
}
#endif

// Whether the packing routines may use the AVX-512 helpers above (the CPU path in use is AVX-512).
bool avx512_packing() {
  static const bool avx512 = cpu_capability() == CpuCapability::AVX512;
  return avx512;
}

// copy_columns_avx512 where it applies (float, AVX-512); false, doing nothing, elsewhere.
template <typename T>
bool copy_columns(const T* src, int64_t src_stride, int rows, int64_t len, T* dst) {
#ifdef GC_GEMM_X86
  if constexpr (std::is_same_v<T, float>) {
    if (avx512_packing() && rows <= 16) {
      copy_columns_avx512(src, src_stride, rows, len, dst);
      return true;
    }
  }
#endif
  return false;
}

// dst[p * dst_stride + r] = src[r * src_stride + p] for r < rows (<= 16), p < len: the transposing
// copy both packings need, in 16 x 16 blocks where AVX-512 is there.

template <typename T>
void transpose_rows(const T* src, int64_t src_stride, int64_t rows, int64_t len, T* dst, int64_t dst_stride) {
  int64_t p0 = 0;
#ifdef GC_GEMM_X86
  if constexpr (std::is_same_v<T, float>) {
    if (avx512_packing() && rows <= 16)
      for (; p0 + 16 <= len; p0 += 16)
        transpose_16_avx512(src + p0, src_stride, static_cast<int>(rows), dst + p0 * dst_stride, dst_stride);
  }
#endif
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t p = p0; p < len; ++p) dst[p * dst_stride + r] = src[r * src_stride + p];
}

// The height of the sliver that starts at row ir of an mc-row block: MR, except that a thin
// remainder (under MR / 2 rows) and the last full sliver share their rows evenly (16 = 8 + 8, not
// 14 + 2): a 2-row tile has too few accumulators to hide the FMA latency and runs at a quarter of
// the speed per row.
int64_t sliver_height(int64_t mc, int64_t MR, int64_t ir) {
  const int64_t q = mc / MR, r = mc % MR;
  if (q == 0 || r == 0 || 2 * r >= MR) return std::min(MR, mc - ir);
  const int64_t last_full = (q - 1) * MR, h1 = (MR + r + 1) / 2;
  return ir < last_full ? MR : ir == last_full ? h1 : MR + r - h1;
}

// Packs the mc x kc block of A (element (i, p) at a[i * rs + p * cs]) as slivers of sliver_height
// rows: sliver s at out + s * MR * kc, in column-major order (p outer, i inner), zero-padded to MR
// rows.
template <typename T>
void pack_a(int MR, int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* __restrict out) {
  for (int64_t ir = 0, mr = 0, s = 0; ir < mc; ir += mr, ++s) {
    mr = sliver_height(mc, MR, ir);
    T* dst = out + s * MR * kc;
    if (mr < MR) std::memset(static_cast<void*>(dst), 0, sizeof(T) * MR * kc);
    if (cs == 1) {  // rows are contiguous: read along rows
      transpose_rows<T>(a + ir * rs, rs, mr, kc, dst, MR);
    } else if (rs == 1 && mr == MR && copy_columns<T>(a + ir, cs, MR, kc, dst)) {
      // columns are contiguous: packed by copy_columns
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = a + ir * rs + p * cs;
        for (int64_t i = 0; i < mr; ++i) dst[p * MR + i] = src[i * rs];
      }
    }
  }
}

// Packs the kc x nc block of B (element (p, j) at b[p * rs + j * cs]) as NR-column slivers, each in
// row-major order (p outer, j inner), zero-padded to a multiple of NR.
template <typename T>
void pack_b(int NR, int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T* __restrict out) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - jr);
    T* dst = out + jr * kc;
    if (nr < NR) std::memset(static_cast<void*>(dst), 0, sizeof(T) * NR * kc);
    if (cs == 1) {
      for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * NR, b + p * rs + jr, sizeof(T) * nr);
    } else if (rs == 1) {  // columns are contiguous: transpose them in groups of 16
      for (int64_t j0 = 0; j0 < nr; j0 += 16)
        transpose_rows<T>(b + (jr + j0) * cs, cs, std::min<int64_t>(16, nr - j0), kc, dst + j0, NR);
    } else {  // columns are closer to contiguous: read down columns
      for (int64_t j = 0; j < nr; ++j) {
        const T* src = b + (jr + j) * cs;
        for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = src[p * rs];
      }
    }
  }
}

// A 64-byte aligned scratch buffer per thread and role, grown on demand.
template <typename T, int Role>
T* scratch(size_t n) {
  struct Free {
    void operator()(T* p) const { ::operator delete[](p, std::align_val_t(64)); }
  };
  thread_local std::unique_ptr<T[], Free> buf;
  thread_local size_t cap = 0;
  if (n > cap) {
    buf.reset(static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t(64))));
    cap = n;
  }
  return buf.get();
}

// C = beta * C over an m x n strided block (beta == 0 writes zeros without reading C).
template <typename T>
void scale_c(int64_t m, int64_t n, T beta, T* c, int64_t rs, int64_t cs) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T& x = c[i * rs + j * cs];
      x = beta == T(0) ? T(0) : beta * x;
    }
}

// ---- Matrix-vector special cases (one row or one column of output) ---------------------------------
// N == 1: C[i] = alpha * dot(A row i, B column) + beta * C[i].
template <typename T>
void gemv_column(int64_t M, int64_t K, T alpha, const T* A, int64_t rs_a, int64_t cs_a, const T* B, int64_t rs_b,
                 T beta, T* C, int64_t rs_c) {
  for (int64_t i = 0; i < M; ++i) {
    T s = alpha * dot<T>(K, A + i * rs_a, cs_a, B, rs_b);
    T& c = C[i * rs_c];
    c = beta == T(0) ? s : s + beta * c;
  }
}

// M == 1 with B rows contiguous: C row += A[p] * B row p (an axpy per p, vectorised), accumulated in
// a contiguous scratch row first.
template <typename T>
void gemv_row(int64_t N, int64_t K, T alpha, const T* A, int64_t cs_a, const T* B, int64_t rs_b, T beta, T* C,
              int64_t cs_c) {
  T* acc = scratch<T, 2>(static_cast<size_t>(N));
  std::fill(acc, acc + N, T(0));
  for (int64_t p = 0; p < K; ++p) {
    const T a = A[p * cs_a];
    const T* __restrict b = B + p * rs_b;
    T* __restrict o = acc;
    for (int64_t j = 0; j < N; ++j) o[j] += a * b[j];
  }
  for (int64_t j = 0; j < N; ++j) {
    T& c = C[j * cs_c];
    c = beta == T(0) ? alpha * acc[j] : alpha * acc[j] + beta * c;
  }
}

// ---- The blocked float/double GEMM ------------------------------------------------------------------
constexpr int kMaxTile = 16 * 32;  // the largest MR * NR of any kernel
// Products below this many flops run on one thread: the pool's hand-off (about a microsecond when
// the workers are polling) would cost more than the second core saves.
constexpr double kParallelMinFlops = 1 << 19;
// Products with at most this many rows (and K of two slices or more) run as two K halves (gemm_float).
constexpr int64_t kKHalvesMaxRows = 256;
// The largest partial product (M x N) that the K halves keep in scratch.
constexpr double kKHalvesMaxBytes = 4 << 20;

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The depth of the K slices: K in equal slices of at most KC (784 = 4 x 196, not 256 + 256 + 256 + 16:
// every slice re-reads and re-writes C, and a thin last one does little work for that).
int64_t k_slice(int64_t K, int64_t KC) { return ceil_div(K, ceil_div(K, KC)); }

// One packed kc-deep slice: C[ic.., jc + j0 .. jc + j1) += packed A block (mc rows) x packed B panel
// columns [j0, j1). Full tiles go straight to C; edge tiles (and strided C) through a local tile.
template <typename T>
void macro_kernel(const KernelSpec<T>& ks, int64_t mc, int64_t j0, int64_t j1, int64_t kc, const T* a_pack,
                  const T* b_pack, T alpha, T beta, T* C, int64_t rs_c, int64_t cs_c) {
  const int MR = ks.MR, NR = ks.NR;
  alignas(64) T tile[kMaxTile];
  for (int64_t jr = j0; jr < j1; jr += NR) {
    const int64_t nr = std::min<int64_t>(NR, j1 - jr);
    for (int64_t ir = 0, mr = 0, s = 0; ir < mc; ir += mr, ++s) {
      mr = sliver_height(mc, MR, ir);
      const T* a = a_pack + s * MR * kc;
      T* c = C + ir * rs_c + jr * cs_c;
      if (mr == MR && nr == NR && cs_c == 1) {
        ks.fn(kc, a, b_pack + jr * kc, c, rs_c, alpha, beta);
        continue;
      }
      if (nr == NR && cs_c == 1 && ks.rows_fn[mr] != nullptr) {  // a short sliver of A
        ks.rows_fn[mr](kc, a, b_pack + jr * kc, c, rs_c, alpha, beta);
        continue;
      }
      ks.fn(kc, a, b_pack + jr * kc, tile, NR, T(1), T(0));
      for (int64_t i = 0; i < mr; ++i)
        for (int64_t j = 0; j < nr; ++j) {
          T& x = c[i * rs_c + j * cs_c];
          x = beta == T(0) ? alpha * tile[i * NR + j] : alpha * tile[i * NR + j] + beta * x;
        }
    }
  }
}

// The GotoBLAS loop nest (see gemm.h) with both cores: for each packed KC x NC panel of B, the M
// dimension is cut into balanced MC-high blocks (a multiple of the thread count when there are
// enough rows) that threads pack and multiply independently; with too few rows for that, one A block
// is shared and the threads split the panel's NR-wide column slivers. Every element of C is
// computed by one thread in a fixed order, so results do not depend on the thread count.
template <typename T>
void gemm_blocked(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rs_a, int64_t cs_a, const T* B,
                  int64_t rs_b, int64_t cs_b, T beta, T* C, int64_t rs_c, int64_t cs_c) {
  const KernelSpec<T>& ks = kernel_spec<T>();
  const int MR = ks.MR, NR = ks.NR;
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  // Inside a parallel region (a thread's share of a split product) this runs alone: block for
  // one thread, not for a split over M that will not happen.
  const int64_t nt = flops < kParallelMinFlops || in_parallel_region() ? 1 : get_num_threads();
  int64_t nb = ceil_div(M, ks.MC);
  if (nt > 1 && M >= nt * 4 * MR) nb = ceil_div(nb, nt) * nt;
  const int64_t mc_blk = ceil_div(ceil_div(M, nb), MR) * MR;
  nb = ceil_div(M, mc_blk);
  const int64_t kc_max = k_slice(K, ks.KC);
  const int64_t nc_max = std::min<int64_t>(ks.NC, ceil_div(N, NR) * NR);
  T* b_pack = scratch<T, 1>(static_cast<size_t>(nc_max * kc_max));

  for (int64_t jc = 0; jc < N; jc += ks.NC) {
    const int64_t nc = std::min<int64_t>(ks.NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += kc_max) {
      const int64_t kc = std::min<int64_t>(kc_max, K - pc);
      const T beta_eff = pc == 0 ? beta : T(1);  // later slices accumulate into C
      const int64_t slivers = ceil_div(nc, NR);
      // Pack this slice of B (in parallel over slivers: they are independent).
      const T* bsrc = B + pc * rs_b + jc * cs_b;
      auto pack_b_range = [&](int64_t s0, int64_t s1) {
        const int64_t j0 = s0 * NR, j1 = std::min<int64_t>(s1 * NR, nc);
        pack_b<T>(NR, kc, j1 - j0, bsrc + j0 * cs_b, rs_b, cs_b, b_pack + j0 * kc);
      };
      if (nt > 1)
        parallel_for(slivers, 4, pack_b_range);
      else
        pack_b_range(0, slivers);
      // Multiply: each M block packs its A block (per-thread scratch) and runs the macro-kernel.
      auto run_blocks = [&](int64_t b0, int64_t b1) {
        T* a_pack = scratch<T, 0>(static_cast<size_t>(mc_blk * kc_max));
        for (int64_t blk = b0; blk < b1; ++blk) {
          const int64_t ic = blk * mc_blk, mc = std::min<int64_t>(mc_blk, M - ic);
          pack_a<T>(MR, mc, kc, A + ic * rs_a + pc * cs_a, rs_a, cs_a, a_pack);
          macro_kernel<T>(ks, mc, 0, nc, kc, a_pack, b_pack, alpha, beta_eff, C + ic * rs_c + jc * cs_c, rs_c, cs_c);
        }
      };
      if (nt == 1) {
        run_blocks(0, nb);
      } else if (nb >= nt) {
        parallel_for(nb, 1, run_blocks);
      } else {
        for (int64_t blk = 0; blk < nb; ++blk) {
          const int64_t ic = blk * mc_blk, mc = std::min<int64_t>(mc_blk, M - ic);
          T* a_pack = scratch<T, 0>(static_cast<size_t>(mc_blk * kc_max));
          pack_a<T>(MR, mc, kc, A + ic * rs_a + pc * cs_a, rs_a, cs_a, a_pack);
          parallel_for(slivers, 1, [&](int64_t s0, int64_t s1) {
            macro_kernel<T>(ks, mc, s0 * NR, std::min<int64_t>(s1 * NR, nc), kc, a_pack, b_pack, alpha, beta_eff,
                            C + ic * rs_c + jc * cs_c, rs_c, cs_c);
          });
        }
      }
    }
  }
}

template <typename T>
void gemm_float(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rs_a, int64_t cs_a, const T* B,
                int64_t rs_b, int64_t cs_b, T beta, T* C, int64_t rs_c, int64_t cs_c) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_c(M, N, beta, C, rs_c, cs_c);
  if (N == 1) return gemv_column(M, K, alpha, A, rs_a, cs_a, B, rs_b, beta, C, rs_c);
  if (M == 1 && cs_b == 1) return gemv_row(N, K, alpha, A, cs_a, B, rs_b, beta, C, cs_c);
  // Tiles are MR x NR (14 x 32 floats with AVX-512): with few columns most of each tile would be
  // padding (N = 10 fills 31% of it), so such a product runs as C^T = B^T A^T, which only swaps
  // strides, when that pads much less. Each element is the same dot product in the same order.
  const KernelSpec<T>& ks = kernel_spec<T>();
  const auto padded = [](int64_t rows, int64_t cols, int64_t mr, int64_t nr) {
    return static_cast<double>(ceil_div(rows, mr) * mr) * static_cast<double>(ceil_div(cols, nr) * nr);
  };
  if (padded(N, M, ks.MR, ks.NR) * 1.25 < padded(M, N, ks.MR, ks.NR))
    return gemm_float<T>(N, M, K, alpha, B, cs_b, rs_b, A, cs_a, rs_a, beta, C, cs_c, rs_c);
  // Few rows and a long K (a 128-row batch through a 784 x 512 layer): as two K halves, C = (alpha A1 B1
  // + beta C) + alpha A2 B2, the second half into a scratch partial product added at the end. Split
  // over columns, every thread would pack all of A and read its columns of every row of B; here each
  // reads half of A and the half of B's rows that an elementwise update (SGD) just wrote from the same
  // thread, and the partial product is small. The split depends on the shape only, and one thread runs
  // both halves the same way, so results still do not depend on the thread count.
  const int nt = get_num_threads();
  const int64_t NR = ks.NR;
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  if (M <= kKHalvesMaxRows && K >= 2 * ks.KC && flops >= kParallelMinFlops &&
      static_cast<double>(M) * static_cast<double>(N) * sizeof(T) <= kKHalvesMaxBytes) {
    const int64_t kc_max = k_slice(K, ks.KC), kh = ceil_div(ceil_div(K, kc_max), 2) * kc_max;
    T* part = scratch<T, 3>(static_cast<size_t>(M * N));
    // Units: (half, column group); with more than two threads each half is also split over columns.
    const int64_t slivers = ceil_div(N, NR), groups = std::max<int64_t>(1, std::min<int64_t>(nt / 2, slivers));
    parallel_for(2 * groups, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t g = u % groups, j0 = std::min(N, slivers * g / groups * NR);
        const int64_t j1 = std::min(N, slivers * (g + 1) / groups * NR);
        if (u < groups)
          gemm_blocked(M, j1 - j0, kh, alpha, A, rs_a, cs_a, B + j0 * cs_b, rs_b, cs_b, beta, C + j0 * cs_c, rs_c, cs_c);
        else
          gemm_blocked(M, j1 - j0, K - kh, alpha, A + kh * cs_a, rs_a, cs_a, B + kh * rs_b + j0 * cs_b, rs_b, cs_b, T(0),
                       part + j0, N, int64_t(1));
      }
    });
    parallel_for(M, std::max<int64_t>(1, 16384 / N), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        T* c = C + i * rs_c;
        const T* q = part + i * N;
        if (cs_c == 1)  // the usual case, as a loop the compiler vectorises
          for (int64_t j = 0; j < N; ++j) c[j] += q[j];
        else
          for (int64_t j = 0; j < N; ++j) c[j * cs_c] += q[j];
      }
    });
    return;
  }
  // With several threads, each takes a contiguous share of whole MR-row or NR-column slivers of C and
  // runs the blocked product on it alone: one parallel region per GEMM (instead of one per K slice and
  // packing step). A share of rows is contiguous in C (and matches how an elementwise op that reads C
  // next splits it), but each thread packs all of B; a share of columns packs all of A instead. Rows
  // win unless B is much wider than A is tall (measured: 784 x 128 x 512 271 vs 316 us, 1024^3 6.0 vs
  // 6.7 ms; 300 x 1024 x 2048 4.0 vs 3.85 ms). Every element of C is still computed by the same kernel
  // in the same order, so results do not depend on the thread count.
  const bool by_rows = N <= 2 * M && M >= nt * 2 * ks.MR;
  if (nt > 1 && flops >= kParallelMinFlops && (by_rows || N >= nt * 2 * NR)) {
    const int64_t step = by_rows ? ks.MR : NR, extent = by_rows ? M : N, slivers = ceil_div(extent, step);
    parallel_for(nt, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t s0 = std::min(extent, slivers * t / nt * step);
        const int64_t s1 = std::min(extent, slivers * (t + 1) / nt * step);
        if (s1 <= s0) continue;
        if (by_rows)
          gemm_blocked(s1 - s0, N, K, alpha, A + s0 * rs_a, rs_a, cs_a, B, rs_b, cs_b, beta, C + s0 * rs_c, rs_c, cs_c);
        else
          gemm_blocked(M, s1 - s0, K, alpha, A, rs_a, cs_a, B + s0 * cs_b, rs_b, cs_b, beta, C + s0 * cs_c, rs_c, cs_c);
      }
    });
    return;
  }
  gemm_blocked(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c);
}

}  // namespace

// ---- Public entry points ------------------------------------------------------------------------------

template <typename T>
T dot(int64_t n, const T* x, int64_t incx, const T* y, int64_t incy) {
  T part[8] = {};
  int64_t i = 0;
  if (incx == 1 && incy == 1) {
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) part[k] += x[i + k] * y[i + k];
  }
  for (; i < n; ++i) part[0] += x[i * incx] * y[i * incy];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

template <>
void gemm<float>(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t rs_a, int64_t cs_a,
                 const float* B, int64_t rs_b, int64_t cs_b, float beta, float* C, int64_t rs_c, int64_t cs_c) {
  gemm_float<float>(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c);
}

template <>
void gemm<double>(int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t rs_a, int64_t cs_a,
                  const double* B, int64_t rs_b, int64_t cs_b, double beta, double* C, int64_t rs_c, int64_t cs_c) {
  gemm_float<double>(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c);
}

template <>
void gemm<int64_t>(int64_t M, int64_t N, int64_t K, int64_t alpha, const int64_t* A, int64_t rs_a, int64_t cs_a,
                   const int64_t* B, int64_t rs_b, int64_t cs_b, int64_t beta, int64_t* C, int64_t rs_c,
                   int64_t cs_c) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      int64_t s = 0;
      for (int64_t p = 0; p < K; ++p) s += A[i * rs_a + p * cs_a] * B[p * rs_b + j * cs_b];
      int64_t& c = C[i * rs_c + j * cs_c];
      c = beta == 0 ? alpha * s : alpha * s + beta * c;
    }
}

template <typename T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t bs_a, int64_t rs_a,
                  int64_t cs_a, const T* B, int64_t bs_b, int64_t rs_b, int64_t cs_b, T beta, T* C, int64_t bs_c,
                  int64_t rs_c, int64_t cs_c) {
  for (int64_t b = 0; b < batch; ++b)
    gemm<T>(M, N, K, alpha, A + b * bs_a, rs_a, cs_a, B + b * bs_b, rs_b, cs_b, beta, C + b * bs_c, rs_c, cs_c);
}

template float dot<float>(int64_t, const float*, int64_t, const float*, int64_t);
template double dot<double>(int64_t, const double*, int64_t, const double*, int64_t);
template int64_t dot<int64_t>(int64_t, const int64_t*, int64_t, const int64_t*, int64_t);
template void gemm_batched<float>(int64_t, int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, int64_t,
                                  const float*, int64_t, int64_t, int64_t, float, float*, int64_t, int64_t, int64_t);
template void gemm_batched<double>(int64_t, int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t,
                                   int64_t, const double*, int64_t, int64_t, int64_t, double, double*, int64_t,
                                   int64_t, int64_t);
template void gemm_batched<int64_t>(int64_t, int64_t, int64_t, int64_t, int64_t, const int64_t*, int64_t, int64_t,
                                    int64_t, const int64_t*, int64_t, int64_t, int64_t, int64_t, int64_t*, int64_t,
                                    int64_t, int64_t);

}  // namespace gradcore::kernels
