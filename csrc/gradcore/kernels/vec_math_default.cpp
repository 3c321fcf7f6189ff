// The vectorised math kernels compiled for the default path: baseline x86-64, 16-byte (SSE2)
// vectors, no FMA (see vec_math_impl.h).
#define GC_VEC_NS baseline
#define GC_VEC_BYTES 16
#include "gradcore/kernels/vec_math_impl.h"

GC_VEC_DEFINE_ENTRY_POINTS
