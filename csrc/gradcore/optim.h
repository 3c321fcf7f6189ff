// Optimizer update steps (torch.optim's single-tensor formulas), run in place over whole parameter lists.
//
// Every function updates each params[i] (and its state tensors) in place without recording autograd,
// bumps their versions, and evaluates PyTorch's formula element by element in the parameter's dtype,
// with the hyperparameters rounded to that dtype exactly where PyTorch rounds them. Parameters, gradients
// and state tensors of one index must share shape and floating dtype; non-contiguous ones are handled
// through contiguous copies.
#pragma once

#include "gradcore/tensor.h"

namespace gradcore::optim {

/// SGD: momentum_buffers[i] undefined means "first step" and is filled with a new buffer (a copy of the effective gradient).
void sgd_step(const TensorList& params, const TensorList& grads, TensorList& momentum_buffers, double lr, double momentum,
              double dampening, bool nesterov, double weight_decay, bool maximize);

/// Adam / AdamW (decoupled_weight_decay): increments the 0-dim step tensors, then updates exp_avgs, exp_avg_sqs (and max_exp_avg_sqs when amsgrad) and params.
void adam_step(const TensorList& params, const TensorList& grads, const TensorList& exp_avgs,
               const TensorList& exp_avg_sqs, const TensorList& max_exp_avg_sqs, const TensorList& steps, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool amsgrad, bool maximize,
               bool decoupled_weight_decay);

/// RMSprop: increments the step tensors, updates square_avgs, grad_avgs (centered), momentum_buffers (momentum > 0) and params.
void rmsprop_step(const TensorList& params, const TensorList& grads, const TensorList& square_avgs,
                  const TensorList& grad_avgs, const TensorList& momentum_buffers, const TensorList& steps, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool centered, bool maximize);

}  // namespace gradcore::optim
