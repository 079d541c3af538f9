/// \file
/// Losses. Each returns a scalar Variable (or per-element values with Reduction::None).
#pragma once

#include <cstdint>

#include "minigrad/autograd/functions.h"

namespace minigrad::nn {

enum class Reduction { Mean, Sum, None };

/// Cross-entropy from unnormalised logits, fused with log-softmax:
///
///     loss_n = -log softmax(x_n)[t_n] = logΣ_c e^{x_nc} - x_n,t_n
///     ∂loss_n/∂x_nc = softmax(x_n)_c - [c = t_n]
///
/// logits [N, C] (or [C] for one sample), targets int64 [N]. Targets equal to
/// ignore_index contribute nothing, and Mean divides by the number of the others.
Variable cross_entropy(const Variable& logits, const Tensor& targets, int64_t ignore_index = -100,
                       Reduction reduction = Reduction::Mean);

/// Negative log-likelihood of log-probabilities: loss_n = -logp[n, t_n].
Variable nll_loss(const Variable& log_probs, const Tensor& targets, int64_t ignore_index = -100,
                  Reduction reduction = Reduction::Mean);

/// Mean (or sum) of (a - b)².
Variable mse_loss(const Variable& a, const Variable& b, Reduction reduction = Reduction::Mean);

}  // namespace minigrad::nn
