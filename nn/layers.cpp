#include "minigrad/nn/layers.h"
#include "minigrad/tensor/check.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "minigrad/nn/init.h"

namespace minigrad::nn {

namespace {
void check_positive(int64_t v, const char* what, const char* layer) {
  MINIGRAD_CHECK(v > 0) << layer << ": " << what << " must be positive, got " << v;
}
}  // namespace

// ---- Linear -------------------------------------------------------------------------

Linear::Linear(int64_t in, int64_t out, bool with_bias, DType dtype, Generator& gen)
    : in_features(in), out_features(out) {
  check_positive(in, "in_features", "Linear");
  check_positive(out, "out_features", "Linear");
  // kaiming_uniform(a=√5) on [out, in] is U(-1/√in, 1/√in): PyTorch's default.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  register_parameter("weight", &weight, rand({out, in}, -bound, bound, dtype, gen));
  if (with_bias) register_parameter("bias", &bias, rand({out}, -bound, bound, dtype, gen));
}

// y = x·Wᵀ + b. Leading axes are folded into one, so the product is a single
// GEMM and dW = dyᵀ·x sums over every position at once.
Variable Linear::forward(const Variable& x) {
  MINIGRAD_CHECK(x.dim() >= 1 && x.size(-1) == in_features)
      << "Linear: input of shape " << x.shape() << " does not end in in_features=" << in_features;
  MINIGRAD_CHECK(x.dtype() == weight.dtype())
      << "Linear: input is " << dtype_name(x.dtype()) << ", the layer's weights are "
      << dtype_name(weight.dtype());
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out_features;
  Variable y = x.reshape({-1, in_features}).matmul(weight.mT());
  if (bias.defined()) y = y + bias;
  return y.reshape(out_shape);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) +
         ", out_features=" + std::to_string(out_features) +
         ", bias=" + (bias.defined() ? "true" : "false");
}

// ---- Embedding -------------------------------------------------------------------------

Embedding::Embedding(int64_t n, int64_t dim, DType dtype, Generator& gen)
    : num_embeddings(n), embedding_dim(dim) {
  check_positive(n, "num_embeddings", "Embedding");
  check_positive(dim, "embedding_dim", "Embedding");
  register_parameter("weight", &weight, randn({n, dim}, 0.0, 1.0, dtype, gen));
}

Variable Embedding::forward(const Tensor& ids) {
  MINIGRAD_CHECK(ids.defined() && ids.dtype() == DType::Int64)
      << "Embedding: ids must be an int64 tensor, got "
      << (ids.defined() ? dtype_name(ids.dtype()) : "undefined");
  const Tensor flat = ids.contiguous().reshape({-1});
  const int64_t* p = flat.data<int64_t>();
  for (int64_t i = 0; i < flat.numel(); ++i) {
    MINIGRAD_CHECK_INDEX(p[i] >= 0 && p[i] < num_embeddings)
        << "Embedding: id " << p[i] << " (at flat position " << i << " of ids " << ids.shape()
        << ") is outside the vocabulary of " << num_embeddings;
  }
  Shape out_shape = ids.shape();
  out_shape.push_back(embedding_dim);
  return index_select(weight, 0, flat).reshape(out_shape);
}

std::string Embedding::extra_repr() const {
  return std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
}

// ---- Dropout ---------------------------------------------------------------------------

Dropout::Dropout(double prob, Generator& gen) : p(prob), gen_(&gen) {
  MINIGRAD_CHECK(prob >= 0.0 && prob < 1.0)
      << "Dropout: p must be in [0, 1), got " << std::to_string(prob);
}

// y = x ⊙ m / (1-p), m_i ~ Bernoulli(1-p)     ∂y/∂x = m / (1-p)
Variable Dropout::forward(const Variable& x) {
  if (!is_training() || p == 0.0) return x;
  Tensor keep = rand(x.shape(), 0.0, 1.0, x.dtype(), *gen_);
  const Tensor mask = div(where(ge(keep, Tensor::scalar(p, x.dtype())),
                                Tensor::scalar(1.0, x.dtype()), Tensor::scalar(0.0, x.dtype())),
                          1.0 - p);
  return x * Variable(mask);
}

std::string Dropout::extra_repr() const {
  std::ostringstream os;
  os << "p=" << p;
  return os.str();
}

}  // namespace minigrad::nn
