/// \file
/// The basic layers: Linear, Embedding, Softmax, LogSoftmax, Tanh, ReLU, Dropout.
/// (Sequential and the other containers are in container.h.)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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
class Dropout : public Module {
 public:
  /// \param opts the settings (p)
  /// \param gen draws the masks, one number per element per call: held by
  ///            reference, so it must outlive the module
  /// \throws std::invalid_argument unless 0 ≤ p < 1
  explicit Dropout(const DropoutOptions& opts = {}, Generator& gen = default_generator());
  /// x in training mode with a fresh mask; x itself in eval mode or when p = 0
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  DropoutOptions options;  ///< the settings it was built with

 private:
  Generator* gen_;
};

}  // namespace minigrad::nn
