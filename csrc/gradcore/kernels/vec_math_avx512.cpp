// The vectorised math kernels compiled for the avx512 path (see vec_math_impl.h; CMakeLists.txt sets
// this file's instruction-set flags).
#define GC_VEC_NS avx512
#define GC_VEC_BYTES 64
#include "gradcore/kernels/vec_math_impl.h"

GC_VEC_DEFINE_ENTRY_POINTS
