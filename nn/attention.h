// Attention: a query looks at every key, scores how well each matches, and
// returns the values mixed by those scores.
//
//   scores  S = Q·Kᵀ · scale            S[i][j] = q_i · k_j · scale   (어텐션 스코어)
//   weights A = softmax(S) over keys    each row sums to 1
//   context C = A·V                     C[i] = Σ_j A[i][j] v_j        (가중합 → 컨텍스트 벡터)
//
// scale = 1 is dot-product attention (Luong). scale = 1/√d_k is scaled
// dot-product attention: for q, k with independent unit-variance entries,
// q·k = Σ_{m<d_k} q_m k_m has variance d_k, so unscaled scores grow like √d_k
// and softmax saturates (one weight near 1, the rest near 0, gradients near 0).
// Dividing by √d_k brings the variance back to 1.
//
// MASKS — one convention everywhere in minigrad: a bool tensor where TRUE means
// "BLOCKED: this query may not attend to this key". It broadcasts against the
// scores [..., Tq, Tk]. (PyTorch uses True = blocked for key_padding_mask but
// True = allowed for a bool attn_mask in scaled_dot_product_attention; minigrad
// has only the first meaning.) A query whose keys are ALL blocked gets all-zero
// weights and a zero context, with finite (zero) gradients, not NaN.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "minigrad/nn/layers.h"

namespace minigrad::nn {

struct AttentionOutput {
  Variable context;  // [..., Tq, dv]
  Variable weights;  // [..., Tq, Tk]
};

// q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv] (batch axes broadcast);
// mask: bool, broadcastable to [..., Tq, Tk], true = blocked (may be undefined);
// scale: default 1/√d.  Runs the fused kernel (one op, hand-written backward).
AttentionOutput scaled_dot_product_attention(const Variable& q, const Variable& k,
                                             const Variable& v, const Tensor& mask = {},
                                             std::optional<double> scale = std::nullopt);
// The same, composed from matmul, masked_fill, softmax and matmul: the readable
// reference, and what the tests check the fused kernel against.
AttentionOutput scaled_dot_product_attention_composed(const Variable& q, const Variable& k,
                                                      const Variable& v, const Tensor& mask = {},
                                                      std::optional<double> scale = std::nullopt);

// [T, T] bool, true above the diagonal: query i may not see keys j > i (the future).
Tensor causal_mask(int64_t steps);
// [B, T] bool, true at positions ≥ lengths[b]: keys that are padding.
Tensor padding_mask(const std::vector<int64_t>& lengths, int64_t steps);

// Luong attention for an encoder-decoder: the decoder's hidden state is the
// query, the encoder's hidden states are the keys and the values.
//   query [B, d] (one decoder step) or [B, Tq, d]; keys [B, Tk, d]; values [B, Tk, dv]
//   (undefined: the keys); key_mask [B, Tk] bool, true = padding (may be undefined).
// Returns context [B, dv] (or [B, Tq, dv]) and weights [B, Tk] (or [B, Tq, Tk]).
class DotProductAttention : public Module {
 public:
  explicit DotProductAttention(bool scale_by_sqrt_d = false) : scaled(scale_by_sqrt_d) {}
  AttentionOutput forward(const Variable& query, const Variable& keys, const Variable& values = {},
                          const Tensor& key_mask = {});
  std::string type_name() const override { return scaled ? "ScaledDotProductAttention" : "DotProductAttention"; }
  bool scaled;  // divide the scores by √d
};

// The same divided by √d_k.
class ScaledDotProductAttention : public DotProductAttention {
 public:
  ScaledDotProductAttention() : DotProductAttention(true) {}
};

// Self-attention: queries, keys and values all come from the same sequence,
// through learned projections (가중치 행렬) W_Q, W_K, W_V:
//   Q = X·W_Qᵀ,  K = X·W_Kᵀ,  V = X·W_Vᵀ,  C = softmax(Q·Kᵀ/√d_k)·V
// x [B, T, d_model] → context [B, T, d_k], weights [B, T, T].
class SelfAttention : public Module {
 public:
  SelfAttention(int64_t d_model, int64_t d_k = 0 /* = d_model */, bool bias = false,
                bool scaled = true, DType dtype = DType::Float32, Generator& gen = default_generator());
  AttentionOutput forward_attention(const Variable& x, const Tensor& mask = {});
  Variable forward(const Variable& x) override { return forward_attention(x).context; }
  std::string type_name() const override { return "SelfAttention"; }
  std::string extra_repr() const override;

  int64_t d_model, d_k;
  bool scaled;
  std::shared_ptr<Linear> w_q, w_k, w_v;
};

struct MultiHeadOutput {
  Variable output;   // [B, Tq, E] (batch_first) or [Tq, B, E]
  Variable weights;  // per head [B, h, Tq, Tk]; undefined unless need_weights
  Variable average_weights;  // [B, Tq, Tk], the mean over heads; undefined unless need_weights
};

// h heads, each attending in its own d_k = E/h dimensional subspace:
//   head_i = softmax(Q_i·K_iᵀ/√d_k)·V_i,   Q_i = X W_Q,i  etc.
//   output = concat(head_1, …, head_h)·W_Oᵀ
// One head makes one choice per query; several heads can make several.
// Parameters: q_proj, k_proj, v_proj, out_proj (each a Linear E→E). PyTorch packs
// the first three into one in_proj_weight [3E, E] in that order.
class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(int64_t embed_dim, int64_t num_heads, bool bias = true, bool batch_first = true,
                     DType dtype = DType::Float32, Generator& gen = default_generator());
  // query [B, Tq, E], key and value [B, Tk, E] (batch_first; else time-first).
  // key_padding_mask [B, Tk] and attn_mask (broadcastable to [B, h, Tq, Tk], e.g.
  // causal_mask(T) of shape [Tq, Tk]) are bool, true = blocked.
  MultiHeadOutput forward(const Variable& query, const Variable& key, const Variable& value,
                          const Tensor& key_padding_mask = {}, const Tensor& attn_mask = {},
                          bool need_weights = true);
  Variable forward(const Variable& x) override { return forward(x, x, x, {}, {}, false).output; }
  std::string type_name() const override { return "MultiHeadAttention"; }
  std::string extra_repr() const override;

  int64_t embed_dim, num_heads, head_dim;
  bool batch_first;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;
};

// Learned positions: x [B, T, d] + P[0:T], P a [max_len, d] parameter (N(0,1) init).
class LearnedPositionalEncoding : public Module {
 public:
  LearnedPositionalEncoding(int64_t max_len, int64_t d_model, DType dtype = DType::Float32,
                            Generator& gen = default_generator());
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "LearnedPositionalEncoding"; }
  std::string extra_repr() const override;
  int64_t max_len, d_model;
  Variable weight;  // [max_len, d_model]
};

// Fixed sinusoids (Vaswani et al.): P[t, 2i] = sin(t / 10000^(2i/d)),
// P[t, 2i+1] = cos(t / 10000^(2i/d)); x [B, T, d] + P[0:T]. No parameters.
class SinusoidalPositionalEncoding : public Module {
 public:
  SinusoidalPositionalEncoding(int64_t max_len, int64_t d_model, DType dtype = DType::Float32);
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "SinusoidalPositionalEncoding"; }
  std::string extra_repr() const override;
  int64_t max_len, d_model;
  Tensor table;  // [max_len, d_model]
};

// [extending:additive-attention-header]
/// Additive (Bahdanau) attention: the score is a small learned network instead
/// of a dot product (Bahdanau, Cho & Bengio 2015, "concat" in Luong et al.):
///
///     score(q, k_j) = vᵀ tanh(W_q q + W_k k_j)        e.g. q = decoder state, k_j = encoder state
///     j a = softmax_j(score)  (blocked keys: −∞ → weight 0) context = Σ_j a_j v_j
///
/// Parameters: w_q (Linear query_dim → attn_dim), w_k (Linear key_dim → attn_dim)
/// and v (Linear attn_dim → 1), none with a bias, as in the paper's equation and
/// TensorFlow's BahdanauAttention: a bias on v would shift every score of a row
/// alike, which softmax ignores, and biases on W_q and W_k would add up to one
/// bias inside the tanh, which the paper leaves out. Unlike dot-product attention, q and k may have
/// different widths. Init: Linear's, U(−1/√in, 1/√in).
///
/// Same call and masks as DotProductAttention: query [B, d_q] (one decoder step)
/// or [B, Tq, d_q]; keys [B, Tk, d_k]; values [B, Tk, dv] (undefined: the keys);
/// key_mask [B, Tk] bool, true = blocked (may be undefined). Returns context
/// [B, dv] (or [B, Tq, dv]) and weights [B, Tk] (or [B, Tq, Tk]). A query whose
/// keys are all blocked gets zero weights, a zero context and zero gradients.
class AdditiveAttention : public Module {
 public:
  /// \param query_dim width d_q of a query
  /// \param key_dim   width d_k of a key
  /// \param attn_dim  width of the hidden layer inside the score; 0 means query_dim
  /// \param dtype     of the three weights
  /// \param gen       draws the initial weights (w_q, then w_k, then v)
  /// \throws std::invalid_argument unless query_dim, key_dim > 0 and attn_dim ≥ 0
  AdditiveAttention(int64_t query_dim, int64_t key_dim, int64_t attn_dim = 0,
                    DType dtype = DType::Float32, Generator& gen = default_generator());
  AttentionOutput forward(const Variable& query, const Variable& keys, const Variable& values = {},
                          const Tensor& key_mask = {});
  std::string type_name() const override { return "AdditiveAttention"; }
  std::string extra_repr() const override;

  int64_t query_dim, key_dim, attn_dim;
  std::shared_ptr<Linear> w_q, w_k, v;
};
// [/extending:additive-attention-header]

}  // namespace minigrad::nn
