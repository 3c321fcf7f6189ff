// Vectorised math on contiguous float32/float64 arrays, with runtime CPU dispatch (cpu.h): an
// AVX-512, an AVX2+FMA and a baseline x86-64 build of the same code (vec_math_impl.h). All are
// within 2 ulp of the correctly rounded result and treat NaN/inf/±0/subnormals like std:: and
// PyTorch (exp(-inf) = 0, log(0) = -inf, log(x < 0) = NaN, tanh(±inf) = ±1, NaN in -> NaN out).
// `y` may alias `x` exactly (in place), not partially.
#pragma once

#include <cstdint>

namespace gradcore::kernels::vec {

/// y[i] = exp(x[i]).
void exp(const float* x, float* y, int64_t n);
void exp(const double* x, double* y, int64_t n);
/// y[i] = log(x[i]).
void log(const float* x, float* y, int64_t n);
void log(const double* x, double* y, int64_t n);
/// y[i] = tanh(x[i]).
void tanh(const float* x, float* y, int64_t n);
void tanh(const double* x, double* y, int64_t n);
/// y[i] = 1 / (1 + exp(-x[i])).
void sigmoid(const float* x, float* y, int64_t n);
void sigmoid(const double* x, double* y, int64_t n);
/// y[i] = x[i] * sigmoid(x[i]).
void silu(const float* x, float* y, int64_t n);
void silu(const double* x, double* y, int64_t n);
/// y[i] = gelu(x[i], approximate='tanh').
void gelu_tanh(const float* x, float* y, int64_t n);
void gelu_tanh(const double* x, double* y, int64_t n);
/// y[i] = exp(x[i] - s) (x[i] - s rounded once, as in a max-subtracted softmax).
void exp_shifted(const float* x, float s, float* y, int64_t n);
void exp_shifted(const double* x, double s, double* y, int64_t n);
/// y[i] = x[i] * a + b (possibly as one fused multiply-add: exact for a == 1 or b == 0).
void affine(const float* x, float a, float b, float* y, int64_t n);
void affine(const double* x, double a, double b, double* y, int64_t n);
/// Largest x[i] (-inf for n == 0); NaN if any x[i] is NaN (PyTorch's max semantics).
float max(const float* x, int64_t n);
double max(const double* x, int64_t n);
/// Smallest x[i] (+inf for n == 0); NaN if any x[i] is NaN.
float min(const float* x, int64_t n);
double min(const double* x, int64_t n);
/// The first i with x[i] == v (with x[i] NaN when v is NaN), or n if there is none.
int64_t index_of(const float* x, int64_t n, float v);
int64_t index_of(const double* x, int64_t n, double v);
/// acc[j] += x[r * stride + j] (in double) for r = 0, 1, ..., rows - 1 in turn, j < n: a sum over a
/// leading dim into its output row.
void accumulate(const float* x, int64_t stride, int64_t rows, double* acc, int64_t n);
void accumulate(const double* x, int64_t stride, int64_t rows, double* acc, int64_t n);
/// Sum of x[i] (or of x[i]^2 when `squares`) over a contiguous row, accumulated in double lanes.
double sum(const float* x, int64_t n, bool squares = false);
double sum(const double* x, int64_t n, bool squares = false);

}  // namespace gradcore::kernels::vec
