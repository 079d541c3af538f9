/// \file
/// The basic layers: Linear, Embedding, Softmax, LogSoftmax, Tanh, ReLU, GELU, LayerNorm,
/// Dropout.
/// (Sequential and the other containers are in container.h.)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "minigrad/nn/module.h"
#include "minigrad/nn/options.h"
#include "minigrad/tensor/random.h"

namespace minigrad::nn {

/// y = x·Wᵀ + b (PyTorch's F.linear): x [..., in], weight [out, in], bias [out]
/// (may be undefined) → y [..., out]. What Linear and MultiheadAttention's
/// projections compute.
/// \throws std::invalid_argument naming the shapes when x does not end in `in`
Variable linear(const Variable& x, const Variable& weight, const Variable& bias = {});

/// y = x ⊙ m / (1-p), m_i ~ Bernoulli(1-p) drawn from gen, when training and p > 0;
/// x itself otherwise (PyTorch's F.dropout, with the generator named).
/// \throws std::invalid_argument unless 0 ≤ p < 1
Variable dropout(const Variable& x, double p, bool training, Generator& gen);

/// The settings of a Linear, as libtorch's LinearOptions:
///
///     nn::Linear fc(nn::LinearOptions(64, 32).bias(false).dtype(DType::Float64), gen);
struct LinearOptions {
  /// \param in_features  width of the input's last axis
  /// \param out_features width of the output's last axis
  LinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  /// width of the input's last axis
  MINIGRAD_ARG(int64_t, in_features);
  /// width of the output's last axis
  MINIGRAD_ARG(int64_t, out_features);
  /// whether y gets the learned offset b
  MINIGRAD_ARG(bool, bias) = true;
  /// of the weight and bias
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

/// y = x·Wᵀ + b,  W: [out_features, in_features], b: [out_features].
/// x may have any number of leading axes: [..., in] → [..., out]. Call it: `fc(x)`.
/// Init (PyTorch's): W, b ~ U(-1/√in, 1/√in).
class Linear : public Module {
 public:
  /// LinearOptions(in_features, out_features): libtorch's short form.
  Linear(int64_t in_features, int64_t out_features)
      : Linear(LinearOptions(in_features, out_features)) {}
  /// \param opts the settings (in_features, out_features, bias, dtype)
  /// \param gen draws the initial weight, then the bias
  /// \throws std::invalid_argument unless both widths are positive
  explicit Linear(const LinearOptions& opts, Generator& gen = default_generator());
  /// x [..., in_features] → [..., out_features]
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  LinearOptions options;  ///< the settings it was built with
  Variable weight;        ///< W, [out_features, in_features]
  Variable bias;          ///< b, [out_features]; undefined when options.bias() is false
};

/// The settings of an Embedding, as libtorch's EmbeddingOptions. max_norm,
/// norm_type, scale_grad_by_freq and sparse are not supported.
struct EmbeddingOptions {
  /// \param num_embeddings the vocabulary size (rows of the table)
  /// \param embedding_dim  the width of a row
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  /// the vocabulary size (rows of the table)
  MINIGRAD_ARG(int64_t, num_embeddings);
  /// the width of a row
  MINIGRAD_ARG(int64_t, embedding_dim);
  /// The id whose row is initialised to zero and never receives a gradient (a
  /// padding token's vector stays what it is). Negative counts from the end:
  /// -1 is the last row. None: every row learns.
  MINIGRAD_ARG(std::optional<int64_t>, padding_idx) = std::nullopt;
  /// of the table
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

/// A lookup table: row i of weight is the vector of token i. Call it: `emb(ids)`.
///
///     ids [...] (int64) → [..., embedding_dim]     out[..., :] = weight[ids[...], :]
///     ∂L/∂weight[r] = Σ over positions with id r of ∂L/∂out   (0 for r = padding_idx)
///
/// Init (PyTorch's): W ~ N(0, 1), the padding_idx row zero.
class Embedding : public Module {
 public:
  /// EmbeddingOptions(num_embeddings, embedding_dim): libtorch's short form.
  Embedding(int64_t num_embeddings, int64_t embedding_dim)
      : Embedding(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  /// \param opts the settings (num_embeddings, embedding_dim, padding_idx, dtype)
  /// \param gen draws the initial table
  /// \throws std::invalid_argument unless both sizes are positive and padding_idx is
  ///         in [-num_embeddings, num_embeddings)
  explicit Embedding(const EmbeddingOptions& opts, Generator& gen = default_generator());
  /// Throws std::out_of_range naming the id and the vocabulary size.
  Variable forward(const Tensor& ids);
  /// forward(ids.data()): ids carry no gradient.
  Variable forward(const Variable& ids) override { return forward(ids.data()); }
  using Module::operator();
  /// forward(ids)
  Variable operator()(const Tensor& ids) { return forward(ids); }
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;

  /// The settings it was built with; padding_idx, if set, is non-negative here
  /// (PyTorch stores it so too).
  EmbeddingOptions options;
  Variable weight;  ///< [num_embeddings, embedding_dim]
};

/// The settings of a Softmax or LogSoftmax: the axis it normalises over.
struct SoftmaxOptions {
  /// \param dim the axis whose entries sum to 1 (negative counts from the end)
  SoftmaxOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, as libtorch's
  /// the axis whose entries sum to 1 (negative counts from the end)
  MINIGRAD_ARG(int64_t, dim);
};
/// LogSoftmax's settings are Softmax's.
using LogSoftmaxOptions = SoftmaxOptions;

/// y = softmax(x) along options.dim: exp(x_i) / Σ_j exp(x_j).
class Softmax : public Module {
 public:
  /// \param opts the axis (an int converts: `Softmax(-1)`)
  explicit Softmax(const SoftmaxOptions& opts) : options(opts) {}
  /// softmax(x, options.dim())
  Variable forward(const Variable& x) override { return softmax(x, options.dim()); }
  std::string type_name() const override { return "Softmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(options.dim()); }
  SoftmaxOptions options;  ///< the settings it was built with
};

/// y = log_softmax(x) along options.dim: x_i − log Σ_j exp(x_j).
class LogSoftmax : public Module {
 public:
  /// \param opts the axis (an int converts: `LogSoftmax(-1)`)
  explicit LogSoftmax(const LogSoftmaxOptions& opts) : options(opts) {}
  /// log_softmax(x, options.dim())
  Variable forward(const Variable& x) override { return log_softmax(x, options.dim()); }
  std::string type_name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(options.dim()); }
  LogSoftmaxOptions options;  ///< the settings it was built with
};

/// y = tanh(x).
class Tanh : public Module {
 public:
  Variable forward(const Variable& x) override { return tanh(x); }
  std::string type_name() const override { return "Tanh"; }
};

/// y = max(x, 0).
class ReLU : public Module {
 public:
  Variable forward(const Variable& x) override { return relu(x); }
  std::string type_name() const override { return "ReLU"; }
};

/// The settings of a GELU, as libtorch's GELUOptions:
/// `nn::GELU act(nn::GELUOptions().approximate("tanh"))`.
struct GELUOptions {
  /// "none": the exact x·Φ(x); "tanh": the tanh approximation (see gelu())
  MINIGRAD_ARG(std::string, approximate) = "none";
};

/// y = gelu(x, options.approximate): x·Φ(x), the Transformer's feed-forward activation.
class GELU : public Module {
 public:
  /// \param opts the settings (approximate)
  /// \throws std::invalid_argument unless approximate is "none" or "tanh"
  explicit GELU(const GELUOptions& opts = {});
  /// gelu(x, options.approximate())
  Variable forward(const Variable& x) override { return gelu(x, options.approximate()); }
  std::string type_name() const override { return "GELU"; }
  std::string extra_repr() const override;
  GELUOptions options;  ///< the settings it was built with
};

/// The settings of a LayerNorm, as libtorch's LayerNormOptions:
///
///     nn::LayerNorm ln(nn::LayerNormOptions({64}).eps(1e-6).elementwise_affine(false));
struct LayerNormOptions {
  /// \param normalized_shape the trailing dims normalised together (a vector converts:
  ///        `LayerNorm(std::vector<int64_t>{64})`)
  LayerNormOptions(std::vector<int64_t> normalized_shape)  // NOLINT: implicit, as libtorch's
      : normalized_shape_(std::move(normalized_shape)) {}
  /// the sizes of the input's last dims, normalised together as one row
  MINIGRAD_ARG(std::vector<int64_t>, normalized_shape);
  /// added to the variance before the square root
  MINIGRAD_ARG(double, eps) = 1e-5;
  /// whether the module learns a scale (weight, init 1) and shift (bias, init 0)
  MINIGRAD_ARG(bool, elementwise_affine) = true;
  /// whether, with elementwise_affine, it learns the shift too (PyTorch 2.1's `bias`);
  /// false: y = x̂ ⊙ weight, as GPT-style models without biases use
  MINIGRAD_ARG(bool, bias) = true;
  /// of the weight and bias
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

/// Layer normalisation (Ba et al., 2016) over the last dims, as PyTorch's nn.LayerNorm:
///
///     y = (x − μ) / √(σ² + eps) ⊙ weight + bias      μ, σ² over normalized_shape (biased σ²)
///
/// Each position of a sequence is normalised on its own, so unlike batch norm the
/// result does not depend on the batch. Parameters (PyTorch's names and init):
/// weight = 1 and bias = 0, both of shape normalized_shape, when elementwise_affine
/// (bias only when options.bias() too).
/// Call it: `ln(x)` with x [*, normalized_shape...].
class LayerNorm : public Module {
 public:
  /// \param opts the settings (normalized_shape, eps, elementwise_affine, dtype)
  /// \throws std::invalid_argument unless normalized_shape is non-empty and positive
  ///         and eps ≥ 0
  explicit LayerNorm(const LayerNormOptions& opts);
  /// layer_norm(x, normalized_shape, weight, bias, eps): the fused kernel
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

  LayerNormOptions options;  ///< the settings it was built with
  Variable weight;           ///< γ, [normalized_shape]; undefined without elementwise_affine
  Variable bias;  ///< β, [normalized_shape]; undefined without elementwise_affine or bias
};

/// The settings of a Dropout. libtorch's `inplace` is not supported (minigrad's
/// ops never write into their input).
struct DropoutOptions {
  /// \param p the probability of zeroing an element (a double converts: `Dropout(0.1)`)
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit, as libtorch's
  /// the probability of zeroing an element, in [0, 1)
  MINIGRAD_ARG(double, p);
};

/// In training, zeroes each element with probability p and scales the rest by
/// 1/(1-p) so the expected value is unchanged; in eval mode, the identity.
///
///     y = x ⊙ m / (1-p),  m_i ~ Bernoulli(1-p)       ∂y/∂x = m / (1-p)
///
/// The masks come from the module's own dropout_generator (as MultiheadAttention's),
/// so a model's dropouts draw independent streams that no other use of the
/// constructor's generator shifts, and a checkpoint can save and restore each.
class Dropout : public Module {
 public:
  /// \param opts the settings (p)
  /// \param gen when p > 0, one number is drawn from it to seed dropout_generator
  ///            (gen is not kept)
  /// \throws std::invalid_argument unless 0 ≤ p < 1
  explicit Dropout(const DropoutOptions& opts = {}, Generator& gen = default_generator());
  /// x in training mode with a fresh mask; x itself in eval mode or when p = 0
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  DropoutOptions options;  ///< the settings it was built with
  /// Draws the masks, one number per element per call in training; seeded from the
  /// constructor's gen (only when p > 0). Its state() goes into a training checkpoint.
  Generator dropout_generator;
};

}  // namespace minigrad::nn
