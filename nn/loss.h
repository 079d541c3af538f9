/// \file
/// Losses, with PyTorch's meaning, names and options (libtorch's
/// torch::nn::functional::cross_entropy and friends):
///
///     auto loss = nn::cross_entropy(logits, target,
///                                   nn::CrossEntropyOptions().ignore_index(0).label_smoothing(0.1));
///     auto l2 = nn::mse_loss(y, y_hat, nn::kSum);
///
/// Each returns a 0-d Variable, or the per-element losses with reduction kNone.
/// Classification losses take the class axis at position 1, as PyTorch does:
/// input [N, C] or [C] (one sample) or [N, C, d1, ..., dk], target [N] / [] /
/// [N, d1, ..., dk]. Sequence logits [B, T, C] are reshaped to [B·T, C] (or
/// permuted to [B, C, T]) first.
///
/// Each loss also exists as a callable object holding its options, as libtorch's
/// modules do: `nn::CrossEntropyLoss ce(nn::CrossEntropyOptions().label_smoothing(0.1));
/// auto loss = ce(logits, target);`.
#pragma once

#include <cstdint>

#include "minigrad/autograd/functions.h"
#include "minigrad/nn/options.h"

namespace minigrad::nn {

/// How a loss reduces the losses of its elements to what it returns.
enum class Reduction {
  None,  ///< the per-element losses, in the target's shape
  Mean,  ///< their (weighted) mean: PyTorch's default
  Sum,   ///< their sum
};

///@{
/// libtorch spells a reduction torch::kNone / torch::kMean / torch::kSum; these are
/// the same spellings in minigrad's namespace (`nn::kSum`), and nn::Reduction is
/// their type, which an options object stores and a switch can check exhaustively.
inline constexpr Reduction kNone = Reduction::None;
inline constexpr Reduction kMean = Reduction::Mean;
inline constexpr Reduction kSum = Reduction::Sum;
///@}

// ---- classification: cross_entropy, nll_loss ----------------------------------------------

/// Options of cross_entropy and CrossEntropyLoss (libtorch's CrossEntropyLossOptions).
struct CrossEntropyOptions {
  /// Per-class weights w [C], the input's dtype; undefined means all ones.
  MINIGRAD_ARG(Tensor, weight) = {};
  /// Class-index targets equal to it count for nothing, in the loss or in the mean's
  /// divisor. Not used with class-probability targets.
  MINIGRAD_ARG(int64_t, ignore_index) = -100;
  MINIGRAD_ARG(Reduction, reduction) = Reduction::Mean;
  /// ε in [0, 1]: the target becomes (1 - ε)·target + ε/C (Szegedy et al., 2016).
  MINIGRAD_ARG(double, label_smoothing) = 0.0;
};

/// Cross-entropy of unnormalised logits x against class indices or class
/// probabilities, fused with log-softmax over the class axis (axis 1), with
/// p = softmax(x) and log p = log_softmax(x) along it. For each position i (a sample,
/// or a sample and a position d1..dk) the loss is, with q_i the target distribution
/// weighted per class,
///
///     loss_i = -Σ_c q_ic · log p_ic
///     ∂loss_i/∂x_ij = p_ij · Σ_c q_ic − q_ij
///
/// class index t_i:   q_ic = (1 − ε)·w_{t_i}·[c = t_i] + (ε/C)·w_c
/// probabilities y_i: q_ic = w_c·((1 − ε)·y_ic + ε/C)
///
/// (w = 1 without a weight; ε = label_smoothing). Rows whose index is ignore_index
/// have loss 0 and gradient 0. Mean divides Σ_i loss_i by Σ_i w_{t_i} over the rows
/// that count (their number without a weight; NaN when none count, as in PyTorch),
/// and, for probability targets, by the number of positions i.
///
/// \param input   logits [N, C], [C] or [N, C, d1, ..., dk], float32 or float64
/// \param target  int64 class indices [N], [] or [N, d1, ..., dk]; or probabilities
///                with the input's shape and dtype (no gradient reaches the target)
/// \param options weight, ignore_index, reduction and label_smoothing
/// \throws std::invalid_argument naming the shapes, dtypes or option at fault;
///         std::out_of_range naming a class index outside [0, C) and where it is
Variable cross_entropy(const Variable& input, const Tensor& target,
                       const CrossEntropyOptions& options = {});

/// Options of nll_loss and NLLLoss (libtorch's NLLLossOptions).
struct NLLLossOptions {
  MINIGRAD_ARG(Tensor, weight) = {};  ///< per-class weights [C]; undefined means all ones
  MINIGRAD_ARG(int64_t, ignore_index) = -100;
  MINIGRAD_ARG(Reduction, reduction) = Reduction::Mean;
};

/// Negative log-likelihood of log-probabilities (log_softmax of logits, class axis 1):
///
///     loss_i = -w_{t_i} · logp_{i, t_i}        ∂loss_i/∂logp_ij = -w_{t_i}·[j = t_i]
///
/// with the shapes, ignore_index and weighted mean of cross_entropy's class-index
/// targets. nll_loss(log_softmax(x, 1), t) is cross_entropy(x, t).
Variable nll_loss(const Variable& input, const Tensor& target, const NLLLossOptions& options = {});

// ---- regression: mse_loss, l1_loss --------------------------------------------------------

/// Options of mse_loss and MSELoss. Converts from a Reduction, as libtorch's does:
/// `nn::mse_loss(a, b, nn::kSum)`.
struct MSELossOptions {
  MSELossOptions(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}  // NOLINT
  MINIGRAD_ARG(Reduction, reduction);
};

/// loss_i = (input_i − target_i)²,  ∂/∂input_i = 2(input_i − target_i) = −∂/∂target_i.
/// input and target must have the same shape (PyTorch broadcasts them with a warning).
Variable mse_loss(const Variable& input, const Variable& target,
                  const MSELossOptions& options = {});

/// Options of l1_loss and L1Loss. Converts from a Reduction: `nn::l1_loss(a, b, nn::kSum)`.
struct L1LossOptions {
  L1LossOptions(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}  // NOLINT
  MINIGRAD_ARG(Reduction, reduction);
};

/// loss_i = |input_i − target_i|,  ∂/∂input_i = sign(input_i − target_i) (0 at a tie,
/// as PyTorch) = −∂/∂target_i. input and target must have the same shape.
Variable l1_loss(const Variable& input, const Variable& target, const L1LossOptions& options = {});

// ---- binary classification: binary_cross_entropy, binary_cross_entropy_with_logits -------

/// Options of binary_cross_entropy and BCELoss (libtorch's BCELossOptions).
struct BCELossOptions {
  /// Weights that broadcast to the input's shape, its dtype; undefined means all ones.
  MINIGRAD_ARG(Tensor, weight) = {};
  MINIGRAD_ARG(Reduction, reduction) = Reduction::Mean;
};

/// Binary cross-entropy of probabilities x in [0, 1] against targets y (any value in
/// [0, 1]), each log clamped at −100 as PyTorch does, so x = 0 or 1 gives a finite loss:
///
///     loss_i = -w_i · (y_i · max(log x_i, −100) + (1 − y_i) · max(log(1 − x_i), −100))
///     ∂loss_i/∂x_i = w_i · (x_i − y_i) / max(x_i(1 − x_i), ε)
///     ∂loss_i/∂y_i = w_i · (log(1 − x_i) − log x_i)
///     (ε = 1e-12 rounded to float, PyTorch's EPSILON, in float64 too)
///
/// The input gradient is PyTorch's, not the derivative of the clamped loss: it is
/// finite at x = 0 and 1. input and target have the same shape and dtype.
/// \throws std::invalid_argument for an input outside [0, 1], naming the op
Variable binary_cross_entropy(const Variable& input, const Variable& target,
                              const BCELossOptions& options = {});

/// Options of binary_cross_entropy_with_logits and BCEWithLogitsLoss.
struct BCEWithLogitsLossOptions {
  /// Weights that broadcast to the input's shape; undefined means all ones.
  MINIGRAD_ARG(Tensor, weight) = {};
  MINIGRAD_ARG(Reduction, reduction) = Reduction::Mean;
  /// The weight p of the positive term, broadcast to the input (typically [C], one
  /// per class on the last axis); p > 1 raises recall, p < 1 precision.
  MINIGRAD_ARG(Tensor, pos_weight) = {};
};

/// Binary cross-entropy of logits x, fused with the sigmoid σ, in the form that
/// neither overflows nor loses the small probabilities (softplus(−x) = log(1 + e^−x)
/// computed as max(−x, 0) + log1p(e^−|x|)):
///
///     loss_i = w_i · ((1 − y_i) · x_i + (1 + (p_i − 1) · y_i) · softplus(−x_i))
///            = -w_i · (p_i · y_i · log σ(x_i) + (1 − y_i) · log(1 − σ(x_i)))
///     ∂loss_i/∂x_i = w_i · ((1 + (p_i − 1) · y_i) · σ(x_i) − p_i · y_i)
///     ∂loss_i/∂y_i = w_i · ((p_i − 1) · softplus(−x_i) − x_i)
///
/// (p = pos_weight, 1 without one). input and target have the same shape and dtype.
Variable binary_cross_entropy_with_logits(const Variable& input, const Variable& target,
                                          const BCEWithLogitsLossOptions& options = {});

// ---- the same, as objects that hold their options -------------------------------------------

/// cross_entropy with its options kept: `nn::CrossEntropyLoss ce(opts); ce(x, t)`.
/// Not a Module: a loss has no parameters (and libtorch's two-argument forward does
/// not fit Sequential either).
struct CrossEntropyLoss {
  explicit CrossEntropyLoss(CrossEntropyOptions options_ = {}) : options(std::move(options_)) {}
  Variable forward(const Variable& input, const Tensor& target) const {
    return cross_entropy(input, target, options);
  }
  Variable operator()(const Variable& input, const Tensor& target) const {
    return forward(input, target);
  }
  CrossEntropyOptions options;
};

/// nll_loss with its options kept.
struct NLLLoss {
  explicit NLLLoss(NLLLossOptions options_ = {}) : options(std::move(options_)) {}
  Variable forward(const Variable& input, const Tensor& target) const {
    return nll_loss(input, target, options);
  }
  Variable operator()(const Variable& input, const Tensor& target) const {
    return forward(input, target);
  }
  NLLLossOptions options;
};

/// mse_loss with its options kept.
struct MSELoss {
  explicit MSELoss(MSELossOptions options_ = {}) : options(options_) {}
  Variable forward(const Variable& input, const Variable& target) const {
    return mse_loss(input, target, options);
  }
  Variable operator()(const Variable& input, const Variable& target) const {
    return forward(input, target);
  }
  MSELossOptions options;
};

/// l1_loss with its options kept.
struct L1Loss {
  explicit L1Loss(L1LossOptions options_ = {}) : options(options_) {}
  Variable forward(const Variable& input, const Variable& target) const {
    return l1_loss(input, target, options);
  }
  Variable operator()(const Variable& input, const Variable& target) const {
    return forward(input, target);
  }
  L1LossOptions options;
};

/// binary_cross_entropy with its options kept.
struct BCELoss {
  explicit BCELoss(BCELossOptions options_ = {}) : options(std::move(options_)) {}
  Variable forward(const Variable& input, const Variable& target) const {
    return binary_cross_entropy(input, target, options);
  }
  Variable operator()(const Variable& input, const Variable& target) const {
    return forward(input, target);
  }
  BCELossOptions options;
};

/// binary_cross_entropy_with_logits with its options kept.
struct BCEWithLogitsLoss {
  explicit BCEWithLogitsLoss(BCEWithLogitsLossOptions options_ = {})
      : options(std::move(options_)) {}
  Variable forward(const Variable& input, const Variable& target) const {
    return binary_cross_entropy_with_logits(input, target, options);
  }
  Variable operator()(const Variable& input, const Variable& target) const {
    return forward(input, target);
  }
  BCEWithLogitsLossOptions options;
};

}  // namespace minigrad::nn
