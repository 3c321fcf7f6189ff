// The backward engine: dependency counting over the graph, then a ready stack.
#pragma once

#include "gradcore/autograd/node.h"

namespace gradcore {

/// Runs backward from `roots` seeded with `grad_roots` (an undefined seed means ones for a scalar).
/// With non-empty `inputs`, gradients reaching those tensors are returned instead of accumulated
/// into .grad (autograd.grad); otherwise leaves accumulate and the result is empty.
/// `keep_graph` keeps saved tensors; `create_graph` records the backward pass for higher derivatives.
TensorList run_backward(const TensorList& roots, const TensorList& grad_roots, bool keep_graph,
                        bool create_graph, const TensorList& inputs = {},
                        bool allow_unused = false);

}  // namespace gradcore
