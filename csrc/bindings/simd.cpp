// The kernels' CPU dispatch, for tests and diagnostics (like torch.backends.cpu.get_cpu_capability()).
#include "bindings/common.h"
#include "gradcore/kernels/cpu.h"

namespace gradcore::python {

void bind_simd(py::module_& m) {
  m.def(
      "_get_cpu_capability", [] { return std::string(kernels::cpu_capability_name(kernels::cpu_capability())); },
      "The instruction-set path the kernels use: 'avx512', 'avx2' or 'default' (capped by the "
      "GRADCORE_CPU_CAPABILITY environment variable, read once).");
}

}  // namespace gradcore::python
