// General matrix multiply on strided operands: C = alpha * A·B + beta * C.
//
// A is M x K with element (i, k) at A[i * rs_a + k * cs_a]; B is K x N with (k, j) at
// B[k * rs_b + j * cs_b]; C is M x N with (i, j) at C[i * rs_c + j * cs_c]. Any strides work (a
// transposed operand is just swapped strides, never copied by the caller): the kernel packs blocks
// of A and B into contiguous panels, so the inner loops always read unit-stride memory.
//
// Structure (the classic GotoBLAS/BLIS loop nest): the N dimension is cut into NC-wide column
// blocks, K into KC-deep slices (a KC x NC block of B is packed once per slice), M into MC-high row
// blocks (an MC x KC block of A is packed), and every MR x NR tile of C is computed by the
// register-blocked micro-kernel (micro_kernel in gemm.cpp), from an MR-wide sliver of packed A and
// an NR-wide sliver of packed B. Edge tiles are packed with zero padding and written back partially.
//
// beta == 0 means C is only written (never read: NaNs in uninitialised output don't leak), as in
// BLAS. K == 0 gives C = beta * C (zeros for beta == 0). Large products use the thread pool
// (parallel_for over blocks of M, or of N when M is small); each element of C is computed by one
// thread in a fixed order, so results are bitwise independent of the thread count.
#pragma once

#include <cstdint>

namespace gradcore::kernels {

/// C = alpha * A·B + beta * C on strided operands (see the file comment). Defined for float, double
/// and int64_t (the integer version is a plain loop: torch supports integer matmul, rarely hot).
template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rs_a, int64_t cs_a, const T* B,
          int64_t rs_b, int64_t cs_b, T beta, T* C, int64_t rs_c, int64_t cs_c);

/// A batch of independent products: matrix b of each operand starts `batch_stride_*` elements after
/// matrix b-1 (a stride of 0 reuses one matrix for the whole batch). Loops over the 2-D kernel.
template <typename T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t bs_a, int64_t rs_a,
                  int64_t cs_a, const T* B, int64_t bs_b, int64_t rs_b, int64_t cs_b, T beta, T* C, int64_t bs_c,
                  int64_t rs_c, int64_t cs_c);

/// Sum of x[i * incx] * y[i * incy] for i < n, accumulated in T with independent partial sums.
template <typename T>
T dot(int64_t n, const T* x, int64_t incx, const T* y, int64_t incy);

}  // namespace gradcore::kernels
