#include "gradcore/kernels/cpu.h"

#include <cstdlib>
#include <cstring>

namespace gradcore::kernels {

namespace {

CpuCapability detect() {
#if defined(__GNUC__) && defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return CpuCapability::AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuCapability::AVX2;
#endif
  return CpuCapability::Default;
}

CpuCapability select() {
  CpuCapability best = detect();
  const char* env = std::getenv("GRADCORE_CPU_CAPABILITY");
  if (env == nullptr || *env == '\0') return best;
  CpuCapability want = best;
  if (std::strcmp(env, "avx512") == 0)
    want = CpuCapability::AVX512;
  else if (std::strcmp(env, "avx2") == 0)
    want = CpuCapability::AVX2;
  else if (std::strcmp(env, "default") == 0 || std::strcmp(env, "scalar") == 0)
    want = CpuCapability::Default;
  return want < best ? want : best;
}

}  // namespace

CpuCapability cpu_capability() {
  static const CpuCapability c = select();
  return c;
}

namespace {
// Chosen while the library loads, so no thread is ever inside the first choice when another forks.
[[maybe_unused]] const CpuCapability capability_at_load = cpu_capability();
}  // namespace

const char* cpu_capability_name(CpuCapability c) {
  switch (c) {
    case CpuCapability::AVX512:
      return "avx512";
    case CpuCapability::AVX2:
      return "avx2";
    default:
      return "default";
  }
}

}  // namespace gradcore::kernels
