// The GEMM kernel: cache blocking, panel packing and a register-blocked micro-kernel (see gemm.h).
//
// The micro-kernel is plain C++ that GCC vectorises at -O3: an MR x NR accumulator array updated by
// one rank-1 product per k (NR is a multiple of the vector width, so each accumulator row is a few
// vector registers and the loops over i and j are fully unrolled). It is compiled twice: for the
// baseline target, and for AVX2+FMA (chosen at run time when the CPU has it), since the default
// build targets plain x86-64 (SSE2) and a portable binary must not assume more.
#include "gradcore/kernels/gemm.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

namespace gradcore::kernels {

namespace {

// Blocking parameters. MR x NR accumulators fill 12 of the 16 vector registers with AVX2 (two
// 8-float or 4-double vectors per row, 6 rows); KC x NR of packed B (16 KiB for float) stays in L1,
// MC x KC of packed A in L2, KC x NC of packed B in L3.
template <typename T>
struct Blocking;
template <>
struct Blocking<float> {
  static constexpr int MR = 6, NR = 16;
  static constexpr int64_t KC = 256, MC = 144, NC = 3072;
};
template <>
struct Blocking<double> {
  static constexpr int MR = 6, NR = 8;
  static constexpr int64_t KC = 256, MC = 96, NC = 2048;
};

// ---- Micro-kernel -------------------------------------------------------------------------------
// tile[i * NR + j] = sum_p a[p * MR + i] * b[p * NR + j]  (a, b: packed slivers of depth kc).
template <typename T, int MR, int NR>
__attribute__((always_inline)) inline void micro_kernel_body(int64_t kc, const T* __restrict a, const T* __restrict b,
                                                             T* __restrict tile) {
  // Fully unrolled, so every accumulator has a constant index: GCC keeps them in registers and its
  // SLP vectoriser turns each row update into NR / width vector multiply-adds.
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
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) tile[i * NR + j] = acc[i][j];
}

template <typename T>
using MicroKernel = void (*)(int64_t, const T*, const T*, T*);

template <typename T>
void micro_kernel_generic(int64_t kc, const T* a, const T* b, T* tile) {
  micro_kernel_body<T, Blocking<T>::MR, Blocking<T>::NR>(kc, a, b, tile);
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define GC_GEMM_HAVE_AVX2 1
template <typename T>
__attribute__((target("avx2,fma"))) void micro_kernel_avx2(int64_t kc, const T* a, const T* b, T* tile) {
  micro_kernel_body<T, Blocking<T>::MR, Blocking<T>::NR>(kc, a, b, tile);
}
#endif

// Picks the micro-kernel for this CPU once.
template <typename T>
MicroKernel<T> select_micro_kernel() {
#ifdef GC_GEMM_HAVE_AVX2
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &micro_kernel_avx2<T>;
#endif
  return &micro_kernel_generic<T>;
}

template <typename T>
MicroKernel<T> micro_kernel() {
  static const MicroKernel<T> k = select_micro_kernel<T>();
  return k;
}

// ---- Packing ------------------------------------------------------------------------------------
// Packs the mc x kc block of A (element (i, p) at a[i * rs + p * cs]) as MR-row slivers: sliver s
// holds rows s*MR.. in column-major order (p outer, i inner), zero-padded to a multiple of MR.
template <typename T, int MR>
void pack_a(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* __restrict out) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - ir);
    T* dst = out + ir * kc;
    if (mr < MR) std::memset(static_cast<void*>(dst), 0, sizeof(T) * MR * kc);
    if (cs == 1) {  // rows are contiguous: read along rows
      for (int64_t i = 0; i < mr; ++i) {
        const T* src = a + (ir + i) * rs;
        for (int64_t p = 0; p < kc; ++p) dst[p * MR + i] = src[p];
      }
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
template <typename T, int NR>
void pack_b(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T* __restrict out) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - jr);
    T* dst = out + jr * kc;
    if (nr < NR) std::memset(static_cast<void*>(dst), 0, sizeof(T) * NR * kc);
    if (cs == 1 && nr == NR) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = b + p * rs + jr;
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = src[j];
      }
    } else if (cs == 1) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = b + p * rs + jr;
        for (int64_t j = 0; j < nr; ++j) dst[p * NR + j] = src[j];
      }
    } else {  // columns are (closer to) contiguous: read down columns
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
template <typename T>
void gemm_blocked(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rs_a, int64_t cs_a, const T* B,
                  int64_t rs_b, int64_t cs_b, T beta, T* C, int64_t rs_c, int64_t cs_c) {
  using Bk = Blocking<T>;
  constexpr int MR = Bk::MR, NR = Bk::NR;
  const MicroKernel<T> kernel = micro_kernel<T>();
  const int64_t kc_max = std::min<int64_t>(Bk::KC, K);
  const int64_t mc_max = std::min<int64_t>(Bk::MC, (M + MR - 1) / MR * MR);
  const int64_t nc_max = std::min<int64_t>(Bk::NC, (N + NR - 1) / NR * NR);
  T* a_pack = scratch<T, 0>(static_cast<size_t>(mc_max * kc_max));
  T* b_pack = scratch<T, 1>(static_cast<size_t>(nc_max * kc_max));
  alignas(64) T tile[MR * NR];

  for (int64_t jc = 0; jc < N; jc += Bk::NC) {
    const int64_t nc = std::min<int64_t>(Bk::NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += Bk::KC) {
      const int64_t kc = std::min<int64_t>(Bk::KC, K - pc);
      const bool first = pc == 0;
      pack_b<T, NR>(kc, nc, B + pc * rs_b + jc * cs_b, rs_b, cs_b, b_pack);
      for (int64_t ic = 0; ic < M; ic += Bk::MC) {
        const int64_t mc = std::min<int64_t>(Bk::MC, M - ic);
        pack_a<T, MR>(mc, kc, A + ic * rs_a + pc * cs_a, rs_a, cs_a, a_pack);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min<int64_t>(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min<int64_t>(MR, mc - ir);
            kernel(kc, a_pack + ir * kc, b_pack + jr * kc, tile);
            // Write the valid part of the tile back: C = alpha * tile + (first slice ? beta * C : C).
            T* c = C + (ic + ir) * rs_c + (jc + jr) * cs_c;
            for (int64_t i = 0; i < mr; ++i) {
              T* __restrict crow = c + i * rs_c;
              const T* __restrict t = tile + i * NR;
              if (cs_c == 1) {
                if (!first) {
                  for (int64_t j = 0; j < nr; ++j) crow[j] += alpha * t[j];
                } else if (beta == T(0)) {
                  for (int64_t j = 0; j < nr; ++j) crow[j] = alpha * t[j];
                } else {
                  for (int64_t j = 0; j < nr; ++j) crow[j] = alpha * t[j] + beta * crow[j];
                }
              } else {
                for (int64_t j = 0; j < nr; ++j) {
                  T& x = crow[j * cs_c];
                  x = !first ? x + alpha * t[j] : beta == T(0) ? alpha * t[j] : alpha * t[j] + beta * x;
                }
              }
            }
          }
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
