// Runtime CPU capability: which instruction-set path the vectorised kernels take.
//
// The build targets plain x86-64 (SSE2); faster paths are compiled separately (per-ISA translation
// units or target attributes) and chosen once at run time from what the CPU supports. The
// environment variable GRADCORE_CPU_CAPABILITY=avx512|avx2|default (like PyTorch's
// ATEN_CPU_CAPABILITY) caps the choice, so every path can be exercised on one machine.
#pragma once

namespace gradcore::kernels {

/// Instruction-set levels, in increasing order. Default is the baseline x86-64 build (SSE2, which
/// the compiler's vectoriser may use); AVX2 includes FMA; AVX512 means AVX-512 F/DQ/BW/VL + FMA.
enum class CpuCapability { Default = 0, AVX2 = 1, AVX512 = 2 };

/// The capability the kernels use: the best the CPU supports, capped by GRADCORE_CPU_CAPABILITY
/// (read once; an unknown value is ignored).
CpuCapability cpu_capability();

/// "avx512", "avx2" or "default".
const char* cpu_capability_name(CpuCapability c);

}  // namespace gradcore::kernels
