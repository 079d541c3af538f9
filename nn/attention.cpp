#include "minigrad/nn/attention.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "minigrad/tensor/check.h"

namespace minigrad::nn {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// How a mask has to fit the shape it is checked against.
enum class MaskFit {
  Exactly,     // the same shape ([B, Tk] for a key mask)
  Broadcasts,  // broadcastable to it without enlarging it (no new or larger axes)
};

bool fits(const Shape& mask, const Shape& target, MaskFit fit) {
  if (fit == MaskFit::Exactly) return mask == target;
  if (mask.size() > target.size()) return false;
  const int offset = target.size() - mask.size();
  for (int i = 0; i < mask.size(); ++i) {
    if (mask[i] != 1 && mask[i] != target[offset + i]) return false;
  }
  return true;
}

// The one check of a mask, for every op and module that takes one: bool (true =
// blocked) and fitting `target`, whose layout is spelled in `layout`. An undefined
// mask passes. The message names the op, the mask, its dtype when that is what is
// wrong, its shape and what was expected:
//   MultiHeadAttention: key_padding_mask float32[2,4], expected bool [B, Tk] = [2,4] (true =
//   blocked)
void check_mask(const std::string& op, const char* name, const Tensor& mask, MaskFit fit,
                const char* layout, const Shape& target) {
  if (!mask.defined()) return;
  const bool is_bool = mask.dtype() == DType::Bool;
  MINIGRAD_CHECK(is_bool && fits(mask.shape(), target, fit))
      << op << ": " << name << " " << (is_bool ? "" : dtype_name(mask.dtype())) << mask.shape()
      << ", expected bool" << (fit == MaskFit::Exactly ? " " : ", broadcastable to the scores ")
      << layout << " = " << target << " (true = blocked)";
}

// Checks q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv] and the mask, and resolves the scale.
double check_attention(const Variable& q, const Variable& k, const Variable& v, const Tensor& mask,
                       std::optional<double> scale, const char* op) {
  MINIGRAD_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2 && q.size(-1) == k.size(-1) &&
                 k.size(-2) == v.size(-2))
      << op << ": q " << q.shape() << ", k " << k.shape() << ", v " << v.shape()
      << ": expected q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv]";
  if (mask.defined()) {
    // The scores are [..., Tq, Tk], their batch axes those of q and k broadcast.
    Shape scores = broadcast_shapes(Shape(q.shape().begin(), q.shape().end() - 2),
                                    Shape(k.shape().begin(), k.shape().end() - 2), op);
    scores.push_back(q.size(-2));
    scores.push_back(k.size(-2));
    check_mask(op, "mask", mask, MaskFit::Broadcasts, "[..., Tq, Tk]", scores);
  }
  const double s = scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  MINIGRAD_CHECK(std::isfinite(s)) << op << ": scale must be finite";
  return s;
}

// The scores with the mask applied, expanded to the full scores shape.
Tensor apply_mask(const Tensor& scores, const Tensor& mask) {
  if (!mask.defined()) return scores;
  const Shape full = broadcast_shapes(scores.shape(), mask.shape(), "attention mask");
  return masked_fill(scores.expand(full), mask, -kInf);
}

}  // namespace

AttentionOutput scaled_dot_product_attention_composed(const Variable& q, const Variable& k,
                                                      const Variable& v, const Tensor& mask,
                                                      std::optional<double> scale) {
  const double s = check_attention(q, k, v, mask, scale, "scaled_dot_product_attention");
  Variable scores = matmul(q, k, false, true) * s;  // S = Q·Kᵀ·scale
  if (mask.defined()) {
    const Shape full = broadcast_shapes(scores.shape(), mask.shape(), "attention mask");
    scores = masked_fill(expand(scores, full), mask, -kInf);  // blocked keys: -∞ → weight 0
  }
  const Variable weights = softmax(scores, -1);  // A = softmax(S)
  const Variable context = matmul(weights, v);   // C = A·V
  return {context, weights};
}

// One node for the whole of S → A → C, with the backward written out:
//   dA = gA + gC·Vᵀ            (A feeds C and is also an output; summed to A's
//                               shape, as C has more batch axes when V brings its own)
//   dV = Aᵀ·gC
//   dS = A ⊙ (dA - Σ_j dA_j A_j)     (softmax's vector-Jacobian product, row by row)
//   dQ = scale · dS·K,   dK = scale · dSᵀ·Q
// Blocked keys have A = 0, so dS = 0 there: no gradient flows to them, and a
// fully blocked row (A all zero) passes zero gradients, never NaN.
AttentionOutput scaled_dot_product_attention(const Variable& q, const Variable& k,
                                             const Variable& v, const Tensor& mask,
                                             std::optional<double> scale) {
  const double s = check_attention(q, k, v, mask, scale, "scaled_dot_product_attention");
  const Tensor qd = q.data(), kd = k.data(), vd = v.data();
  Tensor scores = matmul(qd, kd, false, true);
  scores.mul_(s);
  const Tensor weights = softmax(apply_mask(scores, mask), -1);
  const Tensor context = matmul(weights, vd);
  auto out = record_multi(
      "scaled_dot_product_attention", {context, weights}, {q, k, v},
      [qd, kd, vd, weights, s](const std::vector<Tensor>& gy, Grads& g) {
        const Tensor& gc = gy[0];
        // Without the sum_to, gA would be added once per broadcast copy of A.
        const Tensor da = gy[1] + sum_to(matmul(gc, vd, false, true), weights.shape());
        if (g.needs(2)) g[2] = matmul(weights, gc, true, false);
        if (!g.needs(0) && !g.needs(1)) return;
        Tensor ds = softmax_backward(weights, da.contiguous(), -1);  // A ⊙ (dA − Σ_j dA_j A_j)
        ds.mul_(s);
        if (g.needs(0)) g[0] = matmul(ds, kd);
        if (g.needs(1)) g[1] = matmul(ds, qd, true, false);
      });
  return {out[0], out[1]};
}

Tensor causal_mask(int64_t steps) {
  MINIGRAD_CHECK(steps > 0) << "causal_mask: steps must be positive, got " << steps;
  const Tensor i =
      Tensor::arange(0, static_cast<double>(steps), 1, DType::Int64).reshape({steps, 1});
  const Tensor j =
      Tensor::arange(0, static_cast<double>(steps), 1, DType::Int64).reshape({1, steps});
  return gt(j, i);  // key j is in query i's future
}

Tensor padding_mask(const std::vector<int64_t>& lengths, int64_t steps) {
  MINIGRAD_CHECK(steps >= 0) << "padding_mask: steps must be non-negative, got " << steps;
  const auto batch = static_cast<int64_t>(lengths.size());
  Tensor m = Tensor::empty({batch, steps}, DType::Bool);
  bool* p = m.data<bool>();
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lengths[static_cast<size_t>(b)];
    MINIGRAD_CHECK(len >= 0 && len <= steps) << "padding_mask: length " << len << " of sequence "
                                             << b << " is outside [0, " << steps << "]";
    for (int64_t t = 0; t < steps; ++t) p[b * steps + t] = t >= len;
  }
  return m;
}

// ---- DotProductAttention -------------------------------------------------------------------

AttentionOutput DotProductAttention::forward(const Variable& query, const Variable& keys,
                                             const Variable& values, const Tensor& key_mask) {
  const Variable& vals = values.defined() ? values : keys;
  MINIGRAD_CHECK(keys.dim() == 3 && (query.dim() == 2 || query.dim() == 3))
      << type_name() << ": query " << query.shape() << ", keys " << keys.shape()
      << ": expected query [B, d] or [B, Tq, d] and keys [B, Tk, d]";
  const bool one_step = query.dim() == 2;
  const Variable q = one_step ? query.unsqueeze(1) : query;  // [B, Tq, d]
  check_mask(type_name(), "key_mask", key_mask, MaskFit::Exactly, "[B, Tk]",
             {keys.size(0), keys.size(1)});
  // [B, 1, Tk]: the same keys blocked for every query
  const Tensor mask = key_mask.defined() ? key_mask.unsqueeze(1) : Tensor();
  const std::optional<double> scale = scaled ? std::nullopt : std::optional<double>(1.0);
  AttentionOutput out = scaled_dot_product_attention(q, keys, vals, mask, scale);
  if (one_step) out = {out.context.squeeze(1), out.weights.squeeze(1)};
  return out;
}

// ---- SelfAttention -----------------------------------------------------------------------------

SelfAttention::SelfAttention(int64_t model_dim, int64_t key_dim, bool bias, bool scaled_,
                             DType dtype, Generator& gen)
    : d_model(model_dim), d_k(key_dim > 0 ? key_dim : model_dim), scaled(scaled_) {
  MINIGRAD_CHECK(model_dim > 0 && key_dim >= 0)
      << "SelfAttention: d_model must be positive and d_k non-negative, got " << model_dim
      << " and " << key_dim;
  w_q = register_module("w_q", std::make_shared<Linear>(d_model, d_k, bias, dtype, gen));
  w_k = register_module("w_k", std::make_shared<Linear>(d_model, d_k, bias, dtype, gen));
  w_v = register_module("w_v", std::make_shared<Linear>(d_model, d_k, bias, dtype, gen));
}

AttentionOutput SelfAttention::forward_attention(const Variable& x, const Tensor& mask) {
  MINIGRAD_CHECK(x.dim() == 3 && x.size(2) == d_model)
      << "SelfAttention: input " << x.shape() << ", expected [B, T, " << d_model << "]";
  const Variable q = w_q->forward(x), k = w_k->forward(x), v = w_v->forward(x);  // Q = X·W_Qᵀ ...
  return scaled_dot_product_attention(q, k, v, mask,
                                      scaled ? std::nullopt : std::optional<double>(1.0));
}

std::string SelfAttention::extra_repr() const {
  return "d_model=" + std::to_string(d_model) + ", d_k=" + std::to_string(d_k) +
         (scaled ? "" : ", scaled=false");
}

// ---- MultiHeadAttention ------------------------------------------------------------------------

MultiHeadAttention::MultiHeadAttention(int64_t e, int64_t heads, bool bias, bool batch_first_,
                                       DType dtype, Generator& gen)
    : embed_dim(e),
      num_heads(heads),
      head_dim(heads > 0 ? e / heads : 0),
      batch_first(batch_first_) {
  MINIGRAD_CHECK(e > 0 && heads > 0 && e % heads == 0)
      << "MultiHeadAttention: embed_dim " << e << " must be positive and divisible by num_heads "
      << heads;
  q_proj = register_module("q_proj", std::make_shared<Linear>(e, e, bias, dtype, gen));
  k_proj = register_module("k_proj", std::make_shared<Linear>(e, e, bias, dtype, gen));
  v_proj = register_module("v_proj", std::make_shared<Linear>(e, e, bias, dtype, gen));
  out_proj = register_module("out_proj", std::make_shared<Linear>(e, e, bias, dtype, gen));
}

MultiHeadOutput MultiHeadAttention::forward(const Variable& query_in, const Variable& key_in,
                                            const Variable& value_in,
                                            const Tensor& key_padding_mask, const Tensor& attn_mask,
                                            bool need_weights) {
  for (const Variable* x : {&query_in, &key_in, &value_in}) {
    MINIGRAD_CHECK(x->dim() == 3 && x->size(2) == embed_dim)
        << "MultiHeadAttention: input " << x->shape() << ", expected ["
        << (batch_first ? "B, T, " : "T, B, ") << embed_dim << "]";
  }
  const Variable query = batch_first ? query_in : query_in.transpose(0, 1);  // [B, Tq, E]
  const Variable key = batch_first ? key_in : key_in.transpose(0, 1);
  const Variable value = batch_first ? value_in : value_in.transpose(0, 1);
  const int64_t b = query.size(0), tq = query.size(1), tk = key.size(1);
  MINIGRAD_CHECK(key.size(0) == b && value.size(0) == b && value.size(1) == tk)
      << "MultiHeadAttention: query " << query_in.shape() << ", key " << key_in.shape()
      << ", value " << value_in.shape() << ": batch sizes and key/value lengths must agree";
  // [B, T, E] → [B, h, T, d_k]: each head sees its own slice of the projection.
  auto heads = [&](const Variable& x, int64_t t) {
    return x.reshape({b, t, num_heads, head_dim}).permute({0, 2, 1, 3});
  };
  const Variable q = heads(q_proj->forward(query), tq);
  const Variable k = heads(k_proj->forward(key), tk);
  const Variable v = heads(v_proj->forward(value), tk);

  check_mask(type_name(), "key_padding_mask", key_padding_mask, MaskFit::Exactly, "[B, Tk]",
             {b, tk});
  check_mask(type_name(), "attn_mask", attn_mask, MaskFit::Broadcasts, "[B, h, Tq, Tk]",
             {b, num_heads, tq, tk});
  Tensor mask = key_padding_mask.defined() ? key_padding_mask.reshape({b, 1, 1, tk}) : Tensor();
  if (attn_mask.defined()) {
    // blocked if either mask blocks: (a + b) > 0 on 0/1 values
    mask = mask.defined() ? gt(add(mask.to(DType::Float32), attn_mask.to(DType::Float32)), 0.0)
                          : attn_mask;
  }
  const AttentionOutput att = scaled_dot_product_attention(q, k, v, mask);
  // [B, h, Tq, d_k] → [B, Tq, h·d_k]: the heads side by side, then mixed by W_O.
  const Variable concat_heads = att.context.permute({0, 2, 1, 3}).reshape({b, tq, embed_dim});
  Variable out = out_proj->forward(concat_heads);
  if (!batch_first) out = out.transpose(0, 1);
  MultiHeadOutput result{out, {}, {}};
  if (need_weights) {
    result.weights = att.weights;
    result.average_weights = mean(att.weights, {1});
  }
  return result;
}

std::string MultiHeadAttention::extra_repr() const {
  return "embed_dim=" + std::to_string(embed_dim) + ", num_heads=" + std::to_string(num_heads) +
         (batch_first ? "" : ", batch_first=false");
}

// ---- positional encodings ----------------------------------------------------------------------

PositionalEncoding::PositionalEncoding(const char* name, int64_t len, int64_t d)
    : max_len(len), d_model(d) {
  MINIGRAD_CHECK(len > 0 && d > 0) << name << ": sizes must be positive";
}

void PositionalEncoding::check_input(const Variable& x) const {
  MINIGRAD_CHECK(x.dim() == 3 && x.size(2) == d_model && x.size(1) <= max_len)
      << type_name() << ": input " << x.shape() << ", expected [B, T ≤ " << max_len << ", "
      << d_model << "]";
}

std::string PositionalEncoding::extra_repr() const {
  return "max_len=" + std::to_string(max_len) + ", d_model=" + std::to_string(d_model);
}

LearnedPositionalEncoding::LearnedPositionalEncoding(int64_t len, int64_t d, DType dtype,
                                                     Generator& gen)
    : PositionalEncoding("LearnedPositionalEncoding", len, d) {
  register_parameter("weight", &weight, randn({len, d}, 0.0, 1.0, dtype, gen));
}

Variable LearnedPositionalEncoding::forward(const Variable& x) {
  check_input(x);
  return x + weight.narrow(0, 0, x.size(1));  // [B, T, d] + [T, d]
}

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(int64_t len, int64_t d, DType dtype)
    : PositionalEncoding("SinusoidalPositionalEncoding", len, d) {
  Tensor t = Tensor::empty({len, d}, DType::Float64);
  double* p = t.data<double>();
  for (int64_t pos = 0; pos < len; ++pos) {
    for (int64_t i = 0; i < d; ++i) {
      const double freq =
          std::pow(10000.0, -static_cast<double>(i - i % 2) / static_cast<double>(d));
      p[pos * d + i] = i % 2 == 0 ? std::sin(static_cast<double>(pos) * freq)
                                  : std::cos(static_cast<double>(pos) * freq);
    }
  }
  table = t.to(dtype);
}

Variable SinusoidalPositionalEncoding::forward(const Variable& x) {
  check_input(x);
  return x + Variable(table.narrow(0, 0, x.size(1)));
}

// ---- AdditiveAttention ------------------------------------------------------------------------

// [extending:additive-attention-module]
AdditiveAttention::AdditiveAttention(int64_t q_dim, int64_t k_dim, int64_t a_dim, DType dtype,
                                     Generator& gen)
    : query_dim(q_dim), key_dim(k_dim), attn_dim(a_dim > 0 ? a_dim : q_dim) {
  MINIGRAD_CHECK(q_dim > 0 && k_dim > 0 && a_dim >= 0)
      << "AdditiveAttention: query_dim and key_dim must be positive and attn_dim non-negative, got "
      << q_dim << ", " << k_dim << " and " << a_dim;
  w_q = register_module("w_q", std::make_shared<Linear>(query_dim, attn_dim, false, dtype, gen));
  w_k = register_module("w_k", std::make_shared<Linear>(key_dim, attn_dim, false, dtype, gen));
  v = register_module("v", std::make_shared<Linear>(attn_dim, 1, false, dtype, gen));
}
// [/extending:additive-attention-module]

// [extending:additive-attention]
// Composed from differentiable ops, so autograd derives the backward. Forward, with
// U the hidden layer of the score network ([B, Tq, Tk, A], A = attn_dim):
//   U[b,i,j] = W_q q_bi + W_k k_bj      E = tanh(U)      S[b,i,j] = v·E[b,i,j]
//   A = softmax_j(S, blocked keys −∞)   C = A·V
// Backward (what the recorded ops compute, from gC = ∂L/∂C and gA = ∂L/∂A):
//   dA = gA + gC·Vᵀ      dV = Aᵀ·gC      dS = A ⊙ (dA − Σ_j dA_j A_j)   (softmax)
//   dE[b,i,j] = dS[b,i,j] v              dU = dE ⊙ (1 − E²)            (tanh)
//   dv = Σ_{b,i,j} dS[b,i,j] E[b,i,j]    dW_q = Σ_{b,i,j} dU[b,i,j] q_biᵀ
//   dW_k = Σ_{b,i,j} dU[b,i,j] k_bjᵀ     dq_bi = W_qᵀ Σ_j dU[b,i,j]    dk_bj = W_kᵀ Σ_i dU[b,i,j]
// A blocked key has A = 0, so dS = 0 there; a fully blocked row (A all zero,
// softmax's defined case) sends zero, finite gradients everywhere.
AttentionOutput AdditiveAttention::forward(const Variable& query, const Variable& keys,
                                           const Variable& values, const Tensor& key_mask) {
  const Variable& vals = values.defined() ? values : keys;
  const bool shapes_ok = (query.dim() == 2 || query.dim() == 3) && query.size(-1) == query_dim &&
                         keys.dim() == 3 && keys.size(2) == key_dim &&
                         query.size(0) == keys.size(0) && vals.dim() == 3 &&
                         vals.size(0) == keys.size(0) && vals.size(1) == keys.size(1);
  MINIGRAD_CHECK(shapes_ok) << "AdditiveAttention: query " << query.shape() << ", keys "
                            << keys.shape() << ", values " << vals.shape()
                            << ": expected query [B, " << query_dim << "] or [B, Tq, " << query_dim
                            << "], keys [B, Tk, " << key_dim << "], values [B, Tk, dv]";
  check_mask(type_name(), "key_mask", key_mask, MaskFit::Exactly, "[B, Tk]",
             {keys.size(0), keys.size(1)});
  const bool one_step = query.dim() == 2;
  const Variable q = one_step ? query.unsqueeze(1) : query;  // [B, Tq, d_q]
  const Variable qp = w_q->forward(q).unsqueeze(2);          // [B, Tq, 1, A]   W_q q
  const Variable kp = w_k->forward(keys).unsqueeze(1);       // [B, 1, Tk, A]   W_k k_j
  Variable scores = v->forward(tanh(qp + kp)).squeeze(3);    // [B, Tq, Tk]     vᵀ tanh(…)
  if (key_mask.defined()) {
    // [B, 1, Tk]: the same keys blocked for every query; −∞ → weight 0
    scores = masked_fill(scores, key_mask.unsqueeze(1), -kInf);
  }
  const Variable weights = softmax(scores, -1);    // a = softmax_j(score); all blocked: zeros
  const Variable context = matmul(weights, vals);  // [B, Tq, dv]  Σ_j a_j v_j
  if (one_step) return {context.squeeze(1), weights.squeeze(1)};
  return {context, weights};
}
// [/extending:additive-attention]

std::string AdditiveAttention::extra_repr() const {
  return "query_dim=" + std::to_string(query_dim) + ", key_dim=" + std::to_string(key_dim) +
         ", attn_dim=" + std::to_string(attn_dim);
}

}  // namespace minigrad::nn
