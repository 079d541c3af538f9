/// \file
/// Attention: a query looks at every key, scores how well each matches, and
/// returns the values mixed by those scores.
///
///     scores  S = Q·Kᵀ · scale            S[i][j] = q_i · k_j · scale   (어텐션 스코어)
///     weights A = softmax(S) over keys    each row sums to 1
///     context C = A·V                     C[i] = Σ_j A[i][j] v_j        (가중합 → 컨텍스트 벡터)
///
/// scale = 1 is dot-product attention (Luong). scale = 1/√d_k is scaled
/// dot-product attention: for q, k with independent unit-variance entries,
/// q·k = Σ_{m<d_k} q_m k_m has variance d_k, so unscaled scores grow like √d_k
/// and softmax saturates (one weight near 1, the rest near 0, gradients near 0).
/// Dividing by √d_k brings the variance back to 1.
///
/// MASKS — one convention everywhere in minigrad: a bool tensor where TRUE means
/// "BLOCKED: this query may not attend to this key". It broadcasts against the
/// scores [..., Tq, Tk]. (PyTorch uses True = blocked for key_padding_mask but
/// True = allowed for a bool attn_mask in scaled_dot_product_attention; minigrad
/// has only the first meaning.) A query whose keys are ALL blocked gets all-zero
/// weights and a zero context, with finite (zero) gradients, not NaN. A mask of
/// another dtype, or one that does not fit, throws std::invalid_argument naming
/// the op, the mask's shape and the shape expected.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "minigrad/nn/layers.h"

namespace minigrad::nn {

/// What an attention op or module returns.
struct AttentionOutput {
  Variable context;  ///< [..., Tq, dv]
  Variable weights;  ///< [..., Tq, Tk]
};

/// C = softmax(Q·Kᵀ·scale, blocked keys −∞)·V as one op with a hand-written backward.
/// \param q     [..., Tq, d]
/// \param k     [..., Tk, d]
/// \param v     [..., Tk, dv]; the batch axes of q, k and v broadcast
/// \param mask  bool, broadcastable to the scores [..., Tq, Tk], true = blocked
///              (may be undefined)
/// \param scale default 1/√d
/// \throws std::invalid_argument naming the shapes when q, k, v or the mask do not fit
AttentionOutput scaled_dot_product_attention(const Variable& q, const Variable& k,
                                             const Variable& v, const Tensor& mask = {},
                                             std::optional<double> scale = std::nullopt);
/// The same, composed from matmul, masked_fill, softmax and matmul: the readable
/// reference, and what the tests check the fused kernel against. Same arguments.
AttentionOutput scaled_dot_product_attention_composed(const Variable& q, const Variable& k,
                                                      const Variable& v, const Tensor& mask = {},
                                                      std::optional<double> scale = std::nullopt);

/// [T, T] bool, true above the diagonal: query i may not see keys j > i (the future).
/// \throws std::invalid_argument unless steps > 0
Tensor causal_mask(int64_t steps);
/// [B, T] bool, true at positions ≥ lengths[b]: keys that are padding.
/// \throws std::invalid_argument unless steps ≥ 0 and every length is in [0, steps]
Tensor padding_mask(const std::vector<int64_t>& lengths, int64_t steps);

/// Luong attention for an encoder-decoder: the decoder's hidden state is the
/// query, the encoder's hidden states are the keys and the values. No parameters.
///
///     score(q, k_j) = q·k_j (· 1/√d if scaled)    a = softmax_j(score)    context = Σ_j a_j v_j
class DotProductAttention : public Module {
 public:
  /// \param scale_by_sqrt_d divide the scores by √d
  explicit DotProductAttention(bool scale_by_sqrt_d = false) : scaled(scale_by_sqrt_d) {}
  /// \param query    [B, d] (one decoder step) or [B, Tq, d]
  /// \param keys     [B, Tk, d]
  /// \param values   [B, Tk, dv]; undefined: the keys
  /// \param key_mask [B, Tk] bool, true = padding (may be undefined)
  /// \return context [B, dv] (or [B, Tq, dv]) and weights [B, Tk] (or [B, Tq, Tk])
  AttentionOutput forward(const Variable& query, const Variable& keys, const Variable& values = {},
                          const Tensor& key_mask = {});
  std::string type_name() const override {
    return scaled ? "ScaledDotProductAttention" : "DotProductAttention";
  }
  bool scaled;  ///< divide the scores by √d
};

/// DotProductAttention with the scores divided by √d_k.
class ScaledDotProductAttention : public DotProductAttention {
 public:
  ScaledDotProductAttention() : DotProductAttention(true) {}
};

/// Self-attention: queries, keys and values all come from the same sequence,
/// through learned projections (가중치 행렬) W_Q, W_K, W_V:
///
///     Q = X·W_Qᵀ,  K = X·W_Kᵀ,  V = X·W_Vᵀ,  C = softmax(Q·Kᵀ/√d_k)·V
///
/// x [B, T, d_model] → context [B, T, d_k], weights [B, T, T].
class SelfAttention : public Module {
 public:
  /// \param d_model width of x
  /// \param d_k     width of the projections; 0 means d_model
  /// \param bias    whether w_q, w_k and w_v have biases
  /// \param scaled  divide the scores by √d_k
  /// \param dtype   of the parameters
  /// \param gen     draws the initial weights
  /// \throws std::invalid_argument unless d_model > 0 and d_k ≥ 0
  SelfAttention(int64_t d_model, int64_t d_k = 0, bool bias = false, bool scaled = true,
                DType dtype = DType::Float32, Generator& gen = default_generator());
  /// \param x    [B, T, d_model]
  /// \param mask bool, broadcastable to the scores [B, T, T], true = blocked (e.g.
  ///             causal_mask(T)); may be undefined
  AttentionOutput forward_attention(const Variable& x, const Tensor& mask = {});
  /// The context alone, unmasked.
  Variable forward(const Variable& x) override { return forward_attention(x).context; }
  std::string type_name() const override { return "SelfAttention"; }
  std::string extra_repr() const override;

  int64_t d_model;              ///< width of x
  int64_t d_k;                  ///< width of Q, K, V and the context
  bool scaled;                  ///< divide the scores by √d_k
  std::shared_ptr<Linear> w_q;  ///< W_Q, d_model → d_k
  std::shared_ptr<Linear> w_k;  ///< W_K, d_model → d_k
  std::shared_ptr<Linear> w_v;  ///< W_V, d_model → d_k
};

/// What MultiHeadAttention::forward returns.
struct MultiHeadOutput {
  Variable output;           ///< [B, Tq, E] (batch_first) or [Tq, B, E]
  Variable weights;          ///< per head [B, h, Tq, Tk]; undefined unless need_weights
  Variable average_weights;  ///< [B, Tq, Tk], the mean over heads; undefined unless need_weights
};

/// h heads, each attending in its own d_k = E/h dimensional subspace:
///
///     head_i = softmax(Q_i·K_iᵀ/√d_k)·V_i,   Q_i = X W_Q,i  etc.
///     output = concat(head_1, …, head_h)·W_Oᵀ
///
/// One head makes one choice per query; several heads can make several.
/// Parameters: q_proj, k_proj, v_proj, out_proj (each a Linear E→E). PyTorch packs
/// the first three into one in_proj_weight [3E, E] in that order.
class MultiHeadAttention : public Module {
 public:
  /// \throws std::invalid_argument unless embed_dim > 0, num_heads > 0 and num_heads
  ///         divides embed_dim
  MultiHeadAttention(int64_t embed_dim, int64_t num_heads, bool bias = true,
                     bool batch_first = true, DType dtype = DType::Float32,
                     Generator& gen = default_generator());
  /// \param query            [B, Tq, E] (batch_first; else [Tq, B, E])
  /// \param key              [B, Tk, E] (or [Tk, B, E])
  /// \param value            [B, Tk, E] (or [Tk, B, E])
  /// \param key_padding_mask [B, Tk] bool, true = blocked (may be undefined)
  /// \param attn_mask        bool, broadcastable to [B, h, Tq, Tk] (e.g. causal_mask(T),
  ///                         [Tq, Tk]), true = blocked (may be undefined)
  /// \param need_weights     whether to return the weights
  MultiHeadOutput forward(const Variable& query, const Variable& key, const Variable& value,
                          const Tensor& key_padding_mask = {}, const Tensor& attn_mask = {},
                          bool need_weights = true);
  /// Unmasked self-attention of x: the output alone.
  Variable forward(const Variable& x) override { return forward(x, x, x, {}, {}, false).output; }
  std::string type_name() const override { return "MultiHeadAttention"; }
  std::string extra_repr() const override;

  int64_t embed_dim;                 ///< E
  int64_t num_heads;                 ///< h
  int64_t head_dim;                  ///< d_k = E/h
  bool batch_first;                  ///< inputs and output are [B, T, E] instead of [T, B, E]
  std::shared_ptr<Linear> q_proj;    ///< W_Q of all heads side by side, E → E
  std::shared_ptr<Linear> k_proj;    ///< W_K of all heads, E → E
  std::shared_ptr<Linear> v_proj;    ///< W_V of all heads, E → E
  std::shared_ptr<Linear> out_proj;  ///< W_O, E → E
};

/// What both positional encodings share: x [B, T ≤ max_len, d_model] → x + P[0:T]
/// for a table P of [max_len, d_model]; only where P comes from differs.
class PositionalEncoding : public Module {
 public:
  /// "max_len=…, d_model=…"
  std::string extra_repr() const override;
  int64_t max_len;  ///< the longest sequence it has positions for
  int64_t d_model;  ///< width of x

 protected:
  /// \param name the module's type name, first in the error message
  /// \param max_len the longest sequence it has positions for
  /// \param d_model width of x
  /// \throws std::invalid_argument unless both sizes are positive
  PositionalEncoding(const char* name, int64_t max_len, int64_t d_model);
  /// Refuses an x that is not [B, T ≤ max_len, d_model], naming type_name() and the shapes.
  void check_input(const Variable& x) const;
};

/// Learned positions: x [B, T, d] + P[0:T], P a [max_len, d] parameter (N(0,1) init).
class LearnedPositionalEncoding : public PositionalEncoding {
 public:
  /// \throws std::invalid_argument unless both sizes are positive
  LearnedPositionalEncoding(int64_t max_len, int64_t d_model, DType dtype = DType::Float32,
                            Generator& gen = default_generator());
  /// x [B, T ≤ max_len, d_model] → x + P[0:T]
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "LearnedPositionalEncoding"; }
  Variable weight;  ///< P, [max_len, d_model]
};

/// Fixed sinusoids (Vaswani et al.), no parameters:
///
///     P[t, 2i] = sin(t / 10000^(2i/d)),   P[t, 2i+1] = cos(t / 10000^(2i/d))
///     output = x + P[0:T]                 x [B, T, d]
class SinusoidalPositionalEncoding : public PositionalEncoding {
 public:
  /// \throws std::invalid_argument unless both sizes are positive
  SinusoidalPositionalEncoding(int64_t max_len, int64_t d_model, DType dtype = DType::Float32);
  /// x [B, T ≤ max_len, d_model] → x + P[0:T]
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "SinusoidalPositionalEncoding"; }
  Tensor table;  ///< P, [max_len, d_model]
};

// [extending:additive-attention-header]
/// Additive (Bahdanau) attention: the score is a small learned network instead
/// of a dot product (Bahdanau, Cho & Bengio 2015, "concat" in Luong et al.):
///
///     score(q, k_j) = vᵀ tanh(W_q q + W_k k_j)        e.g. q = decoder state, k_j = encoder state
///     a = softmax_j(score)                            blocked keys: −∞ → weight 0
///     context = Σ_j a_j v_j
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
  /// Arguments and results as DotProductAttention::forward; query's width is query_dim,
  /// the keys' key_dim.
  /// \throws std::invalid_argument naming the shapes when they or the mask do not fit
  AttentionOutput forward(const Variable& query, const Variable& keys, const Variable& values = {},
                          const Tensor& key_mask = {});
  std::string type_name() const override { return "AdditiveAttention"; }
  std::string extra_repr() const override;

  int64_t query_dim;            ///< d_q
  int64_t key_dim;              ///< d_k
  int64_t attn_dim;             ///< A, the width of tanh(W_q q + W_k k_j)
  std::shared_ptr<Linear> w_q;  ///< W_q, query_dim → attn_dim
  std::shared_ptr<Linear> w_k;  ///< W_k, key_dim → attn_dim
  std::shared_ptr<Linear> v;    ///< v, attn_dim → 1
};
// [/extending:additive-attention-header]

}  // namespace minigrad::nn
