/// \file
/// The basic layers: Linear, Embedding, Softmax, LogSoftmax, Tanh, ReLU, Dropout.
/// (Sequential and the other containers are in container.h.)
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "minigrad/nn/module.h"
#include "minigrad/tensor/random.h"

namespace minigrad::nn {

/// y = x·Wᵀ + b,  W: [out_features, in_features], b: [out_features].
/// x may have any number of leading axes: [..., in] → [..., out].
/// Init (PyTorch's): W, b ~ U(-1/√in, 1/√in).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, DType dtype = DType::Float32,
         Generator& gen = default_generator());
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  int64_t in_features, out_features;
  Variable weight;
  Variable bias;  ///< undefined when bias = false
};

/// A lookup table: row i of weight is the vector of token i.
///
///     ids [...] (int64) → [..., embedding_dim].   Init (PyTorch's): W ~ N(0, 1).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, DType dtype = DType::Float32,
            Generator& gen = default_generator());
  /// Throws std::out_of_range naming the id and the vocabulary size.
  Variable forward(const Tensor& ids);
  Variable forward(const Variable& ids) override { return forward(ids.data()); }
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;

  int64_t num_embeddings, embedding_dim;
  Variable weight;  ///< [num_embeddings, embedding_dim]
};

class Softmax : public Module {
 public:
  explicit Softmax(int64_t axis) : dim(axis) {}
  Variable forward(const Variable& x) override { return softmax(x, dim); }
  std::string type_name() const override { return "Softmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  int64_t dim;
};

class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t axis) : dim(axis) {}
  Variable forward(const Variable& x) override { return log_softmax(x, dim); }
  std::string type_name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  int64_t dim;
};

class Tanh : public Module {
 public:
  Variable forward(const Variable& x) override { return tanh(x); }
  std::string type_name() const override { return "Tanh"; }
};

class ReLU : public Module {
 public:
  Variable forward(const Variable& x) override { return relu(x); }
  std::string type_name() const override { return "ReLU"; }
};

/// In training, zeroes each element with probability p and scales the rest by
/// 1/(1-p) so the expected value is unchanged; in eval mode, the identity.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator& gen = default_generator());
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  double p;

 private:
  Generator* gen_;
};

}  // namespace minigrad::nn
