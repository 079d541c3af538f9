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

Linear::Linear(const LinearOptions& opts, Generator& gen) : options(opts) {
  const int64_t in = options.in_features(), out = options.out_features();
  check_positive(in, "in_features", "Linear");
  check_positive(out, "out_features", "Linear");
  // kaiming_uniform(a=√5) on [out, in] is U(-1/√in, 1/√in): PyTorch's default.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  register_parameter("weight", &weight, rand({out, in}, -bound, bound, options.dtype(), gen));
  if (options.bias()) {
    register_parameter("bias", &bias, rand({out}, -bound, bound, options.dtype(), gen));
  }
}

// y = x·Wᵀ + b. Leading axes are folded into one, so the product is a single
// GEMM and dW = dyᵀ·x sums over every position at once.
Variable linear(const Variable& x, const Variable& weight, const Variable& bias) {
  const int64_t in = weight.size(1);
  MINIGRAD_CHECK(x.dim() >= 1 && x.size(-1) == in)
      << "linear: input of shape " << x.shape() << " does not end in in_features=" << in
      << " (weight " << weight.shape() << ")";
  MINIGRAD_CHECK(x.dtype() == weight.dtype()) << "linear: input is " << dtype_name(x.dtype())
                                              << ", the weight is " << dtype_name(weight.dtype());
  const int64_t out = weight.size(0);
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out;
  if (bias.defined() &&
      !(bias.dim() == 1 && bias.size(0) == out && bias.dtype() == weight.dtype())) {
    // Any other bias is added as PyTorch's addmm adds it: broadcast, with type promotion.
    return (linear(x.reshape({-1, in}), weight) + bias).reshape(out_shape);
  }
  const Shape x_shape = x.shape();
  const Tensor x2 = x.data().reshape({-1, in}), w = weight.data();  // x2 [N, in]
  Tensor y = matmul(x2, w.mT());                                    // [N, out]
  if (bias.defined()) y.add_(bias.data());
  const bool has_bias = bias.defined();
  // One node, its gradients written out so that each is one GEMM or one sum that
  // lands in a fresh tensor of its input's layout (dW as dyᵀ·x, not as (xᵀ·dy)ᵀ,
  // which would leave a transposed view to copy):
  //   dx = dy·W    [N, out]·[out, in]      dW = dyᵀ·x    [out, N]·[N, in]
  //   db = Σ_n dy[n]
  return record("linear", y.reshape(out_shape), {x, weight, bias},
                [x2, w, x_shape, out, has_bias](const std::vector<Tensor>& gy, Grads& g) {
                  const Tensor dy = gy[0].reshape({-1, out});
                  if (g.needs(0)) g[0] = matmul(dy, w).reshape(x_shape);
                  if (g.needs(1)) g[1] = matmul(dy.mT(), x2);
                  if (has_bias && g.needs(2)) g[2] = sum(dy, {0});
                });
}

Variable Linear::forward(const Variable& x) {
  MINIGRAD_CHECK(x.dim() >= 1 && x.size(-1) == options.in_features())
      << "Linear: input of shape " << x.shape()
      << " does not end in in_features=" << options.in_features();
  MINIGRAD_CHECK(x.dtype() == weight.dtype())
      << "Linear: input is " << dtype_name(x.dtype()) << ", the layer's weights are "
      << dtype_name(weight.dtype());
  return linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(options.in_features()) +
         ", out_features=" + std::to_string(options.out_features()) +
         ", bias=" + (options.bias() ? "true" : "false");
}

// ---- Embedding -------------------------------------------------------------------------

Embedding::Embedding(const EmbeddingOptions& opts, Generator& gen) : options(opts) {
  const int64_t n = options.num_embeddings(), dim = options.embedding_dim();
  check_positive(n, "num_embeddings", "Embedding");
  check_positive(dim, "embedding_dim", "Embedding");
  if (options.padding_idx()) {
    const int64_t pad = *options.padding_idx();
    MINIGRAD_CHECK(pad >= -n && pad < n) << "Embedding: padding_idx " << pad << " must be in ["
                                         << -n << ", " << n << ") for num_embeddings=" << n;
    options.padding_idx(pad < 0 ? pad + n : pad);
  }
  Tensor table = randn({n, dim}, 0.0, 1.0, options.dtype(), gen);
  if (options.padding_idx()) table.narrow(0, *options.padding_idx(), 1).fill_(0.0);
  register_parameter("weight", &weight, std::move(table));
}

// out[p, :] = W[ids[p], :]        ∂L/∂W[r] = Σ_{p: ids[p] = r, r ≠ padding_idx} ∂L/∂out[p]
// The lookup is index_select's; its own backward would send the padding row a
// gradient, so the padding positions' rows of ∂L/∂out are zeroed first.
Variable Embedding::forward(const Tensor& ids) {
  MINIGRAD_CHECK(ids.defined() && ids.dtype() == DType::Int64)
      << "Embedding: ids must be an int64 tensor, got "
      << (ids.defined() ? dtype_name(ids.dtype()) : "undefined");
  const int64_t n = options.num_embeddings();
  const Tensor flat = ids.contiguous().reshape({-1});
  const int64_t* p = flat.data<int64_t>();
  for (int64_t i = 0; i < flat.numel(); ++i) {
    MINIGRAD_CHECK_INDEX(p[i] >= 0 && p[i] < n)
        << "Embedding: id " << p[i] << " (at flat position " << i << " of ids " << ids.shape()
        << ") is outside the vocabulary of " << n;
  }
  Shape out_shape = ids.shape();
  out_shape.push_back(options.embedding_dim());
  if (!options.padding_idx()) return index_select(weight, 0, flat).reshape(out_shape);
  // [N, 1]: true where the id is the padding token
  Tensor is_pad = Tensor::empty({flat.numel(), 1}, DType::Bool);
  for (int64_t i = 0; i < flat.numel(); ++i)
    is_pad.data<bool>()[i] = p[i] == *options.padding_idx();
  const Tensor rows = index_select(weight.data(), 0, flat);  // [N, d]
  const Shape table_shape = weight.shape();
  return record("embedding", rows, {weight},
                [flat, is_pad, table_shape](const std::vector<Tensor>& gy, Grads& g) {
                  g[0] = index_add(table_shape, 0, flat, masked_fill(gy[0], is_pad, 0.0));
                })
      .reshape(out_shape);
}

std::string Embedding::extra_repr() const {
  std::string s =
      std::to_string(options.num_embeddings()) + ", " + std::to_string(options.embedding_dim());
  if (options.padding_idx()) s += ", padding_idx=" + std::to_string(*options.padding_idx());
  return s;
}

// ---- GELU -------------------------------------------------------------------------------

GELU::GELU(const GELUOptions& opts) : options(opts) {
  MINIGRAD_CHECK(options.approximate() == "none" || options.approximate() == "tanh")
      << "GELU: approximate must be \"none\" or \"tanh\", got \"" << options.approximate() << "\"";
}

std::string GELU::extra_repr() const { return "approximate='" + options.approximate() + "'"; }

// ---- LayerNorm ---------------------------------------------------------------------------

LayerNorm::LayerNorm(const LayerNormOptions& opts) : options(opts) {
  const std::vector<int64_t>& shape = options.normalized_shape();
  MINIGRAD_CHECK(!shape.empty()) << "LayerNorm: normalized_shape must name at least one dim";
  for (int64_t d : shape) {
    MINIGRAD_CHECK(d > 0) << "LayerNorm: normalized_shape " << Shape(shape)
                          << " must have positive sizes";
  }
  MINIGRAD_CHECK(options.eps() >= 0.0) << "LayerNorm: eps must be >= 0, got " << options.eps();
  if (options.elementwise_affine()) {
    register_parameter("weight", &weight, Tensor::ones(Shape(shape), options.dtype()));
    if (options.bias())
      register_parameter("bias", &bias, Tensor::zeros(Shape(shape), options.dtype()));
  }
}

Variable LayerNorm::forward(const Variable& x) {
  check_layer_norm("LayerNorm", x.data(), options.normalized_shape(),
                   weight.defined() ? weight.data() : Tensor(),
                   bias.defined() ? bias.data() : Tensor());
  return layer_norm(x, options.normalized_shape(), weight, bias, options.eps());
}

// PyTorch's "(64,), eps=1e-05, elementwise_affine=True" in libtorch's spelling
std::string LayerNorm::extra_repr() const {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < options.normalized_shape().size(); ++i)
    os << (i > 0 ? ", " : "") << options.normalized_shape()[i];
  os << "], eps=" << options.eps()
     << ", elementwise_affine=" << (options.elementwise_affine() ? "true" : "false");
  if (options.elementwise_affine() && !options.bias()) os << ", bias=false";
  return os.str();
}

// ---- Dropout ---------------------------------------------------------------------------

Dropout::Dropout(const DropoutOptions& opts, Generator& gen) : options(opts) {
  const double prob = options.p();
  MINIGRAD_CHECK(prob >= 0.0 && prob < 1.0)
      << "Dropout: p must be in [0, 1), got " << std::to_string(prob);
  if (prob > 0.0) dropout_generator.seed(gen.next_u64());
}

// y = x ⊙ m / (1-p), m_i ~ Bernoulli(1-p)     ∂y/∂x = m / (1-p)
Variable dropout(const Variable& x, double p, bool training, Generator& gen) {
  MINIGRAD_CHECK(p >= 0.0 && p < 1.0) << "dropout: p must be in [0, 1), got " << std::to_string(p);
  if (!training || p == 0.0) return x;
  const Tensor keep = rand(x.shape(), 0.0, 1.0, x.dtype(), gen);
  const Tensor mask = div(where(ge(keep, Tensor::scalar(p, x.dtype())),
                                Tensor::scalar(1.0, x.dtype()), Tensor::scalar(0.0, x.dtype())),
                          1.0 - p);
  return x * Variable(mask);
}

Variable Dropout::forward(const Variable& x) {
  return dropout(x, options.p(), is_training(), dropout_generator);
}

std::string Dropout::extra_repr() const {
  std::ostringstream os;
  os << "p=" << options.p();
  return os.str();
}

}  // namespace minigrad::nn
