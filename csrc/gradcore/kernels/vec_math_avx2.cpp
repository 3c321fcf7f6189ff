// The vectorised math kernels compiled for the avx2 path (see vec_math_impl.h; CMakeLists.txt sets
// this file's instruction-set flags).
#define GC_VEC_NS avx2
#define GC_VEC_BYTES 32
#include "gradcore/kernels/vec_math_impl.h"

GC_VEC_DEFINE_ENTRY_POINTS
