// The backward engine: dependency counting over the graph, then a ready stack.
#pragma once

#include <functional>
#include <string>

#include "gradcore/autograd/node.h"

namespace gradcore {

/// Runs backward from `roots` seeded with `grad_roots` (an undefined seed means ones for a scalar).
/// With non-empty `inputs`, gradients reaching those tensors are returned instead of accumulated
/// into .grad (autograd.grad); otherwise leaves accumulate and the result is empty.
/// `keep_graph` keeps saved tensors; `create_graph` records the backward pass for higher derivatives.
/// With `accumulate_inputs` (backward(inputs=...)), the gradients reaching `inputs` are accumulated
/// into their .grad instead, and nothing else is. With `inputs`, only the part of the graph that
/// leads to them runs (hooks elsewhere do not fire).
TensorList run_backward(const TensorList& roots, const TensorList& grad_roots, bool keep_graph,
                        bool create_graph, const TensorList& inputs = {},
                        bool allow_unused = false, bool accumulate_inputs = false);

/// Anomaly detection (autograd.detect_anomaly): nodes remember where they were created, backward
/// checks every node's output for NaN, and the first forward op producing NaN/inf is reported.
struct AnomalyMode {
  static bool is_enabled();
  static bool check_nan();
  static void set_enabled(bool enabled, bool check_nan = true);
  /// True for the first caller after anomaly mode was turned on (one forward NaN report per session).
  static bool claim_first_report();
  /// Returns the current creation context (the Python stack); set by the bindings.
  static std::function<std::string()> capture_trace;
  /// Reports a warning (through Python's warnings module); set by the bindings.
  static std::function<void(const std::string&)> warn;
};

}  // namespace gradcore
