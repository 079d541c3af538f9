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
/// MASKS. A bool mask: TRUE means "BLOCKED: this query may not attend to this
/// key", everywhere in minigrad (PyTorch's nn.MultiheadAttention means the same by
/// a bool key_padding_mask and attn_mask). A float mask (the dtype of the query) is
/// ADDED to the scores, as PyTorch's float masks are: 0 lets a key through, −∞
/// blocks it, anything else biases it. A mask broadcasts against the scores
/// [..., Tq, Tk]. A query whose keys are ALL blocked gets all-zero weights and a
/// zero context, with finite (zero) gradients, not NaN (PyTorch gives NaN). A mask
/// of another dtype, or one that does not fit, throws std::invalid_argument naming
/// the op, the mask's dtype and shape and the shape expected.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "minigrad/nn/layers.h"

namespace minigrad::nn {

/// What an attention op or module returns.
struct AttentionOutput {
  Variable context;  ///< [..., Tq, dv]
  Variable weights;  ///< [..., Tq, Tk]
};

/// C = softmax(Q·Kᵀ·scale + M)·V as one op with a hand-written backward, M the
/// mask (bool: −∞ where true; float: itself).
/// \param q     [..., Tq, d]
/// \param k     [..., Tk, d]
/// \param v     [..., Tk, dv]; the batch axes of q, k and v broadcast
/// \param mask  bool (true = blocked) or float of q's dtype (added to the scores),
///              broadcastable to the scores [..., Tq, Tk]; may be undefined
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

/// [T, P + T] bool (T = steps, P = past), true where key j > P + i: query i is
/// position P + i of a sequence whose first P positions were seen before (a
/// key/value cache holds them), and may not see its future,
///
///     mask[i][j] = j > P + i          P = 0: the square mask, true above the diagonal
///
/// \throws std::invalid_argument unless steps > 0 and past ≥ 0
Tensor causal_mask(int64_t steps, int64_t past = 0);
/// [B, T] bool, true at positions ≥ lengths[b]: keys that are padding.
/// \throws std::invalid_argument unless steps ≥ 0 and every length is in [0, steps]
Tensor padding_mask(const std::vector<int64_t>& lengths, int64_t steps);

/// How a module names the masks it passes on to a MultiheadAttention, for the error
/// messages of check_multihead_masks: MultiheadAttention's own are
/// {"MultiheadAttention", "attn_mask", "key_padding_mask"}, a Transformer encoder
/// layer's {"TransformerEncoderLayer", "src_mask", "src_key_padding_mask"}.
struct AttentionMaskNames {
  std::string module;            ///< the module, first in the message
  std::string attn_mask;         ///< what it calls the [T, S] or [B·num_heads, T, S] mask
  std::string key_padding_mask;  ///< what it calls the [B, S] mask
};

/// The masks of one MultiheadAttention call, checked as MultiheadAttention::forward
/// checks them, for a module that hands its masks on to one (and wants the error in its
/// own words): attn_mask [T, S] or [B·num_heads, T, S] ([num_heads, T, S] unbatched),
/// key_padding_mask [B, S] ([S] unbatched), each bool (true = blocked) or float of
/// `dtype` (added to the scores). An undefined mask passes.
/// \param names     the module and the names it gives the two masks
/// \param attn_mask the mask of query–key pairs; may be undefined
/// \param key_padding_mask the mask of keys; may be undefined
/// \param batch     B, or std::nullopt for unbatched input
/// \param num_heads h
/// \param tgt_len   T, the number of queries
/// \param src_len   S, the number of keys
/// \param dtype     the query's dtype: a float mask must have it
/// \throws std::invalid_argument naming the module, the mask, its dtype and shape, and
///         the shape expected
void check_multihead_masks(const AttentionMaskNames& names, const Tensor& attn_mask,
                           const Tensor& key_padding_mask, std::optional<int64_t> batch,
                           int64_t num_heads, int64_t tgt_len, int64_t src_len, DType dtype);

/// The settings of a DotProductAttention.
struct DotProductAttentionOptions {
  /// divide the scores by √d (ScaledDotProductAttention sets it)
  MINIGRAD_ARG(bool, scaled) = false;
};

/// Luong attention for an encoder-decoder: the decoder's hidden state is the
/// query, the encoder's hidden states are the keys and the values. No parameters.
///
///     score(q, k_j) = q·k_j (· 1/√d if scaled)    a = softmax_j(score)    context = Σ_j a_j v_j
///
/// Call it: `auto [context, weights] = attn(query, keys)`.
class DotProductAttention : public Module {
 public:
  /// \param opts whether the scores are divided by √d
  explicit DotProductAttention(const DotProductAttentionOptions& opts = {}) : options(opts) {}
  /// \param query    [B, d] (one decoder step) or [B, Tq, d]
  /// \param keys     [B, Tk, d]
  /// \param values   [B, Tk, dv]; undefined: the keys
  /// \param key_mask [B, Tk] bool, true = padding (may be undefined)
  /// \return context [B, dv] (or [B, Tq, dv]) and weights [B, Tk] (or [B, Tq, Tk])
  AttentionOutput forward(const Variable& query, const Variable& keys, const Variable& values = {},
                          const Tensor& key_mask = {});
  /// forward(query, keys, values, key_mask)
  AttentionOutput operator()(const Variable& query, const Variable& keys,
                             const Variable& values = {}, const Tensor& key_mask = {}) {
    return forward(query, keys, values, key_mask);
  }
  std::string type_name() const override {
    return options.scaled() ? "ScaledDotProductAttention" : "DotProductAttention";
  }
  DotProductAttentionOptions options;  ///< the settings it was built with
};

/// DotProductAttention with the scores divided by √d_k.
class ScaledDotProductAttention : public DotProductAttention {
 public:
  ScaledDotProductAttention() : DotProductAttention(DotProductAttentionOptions().scaled(true)) {}
};

/// The settings of a SelfAttention.
struct SelfAttentionOptions {
  /// \param d_model width of x
  explicit SelfAttentionOptions(int64_t d_model) : d_model_(d_model) {}
  /// width of x
  MINIGRAD_ARG(int64_t, d_model);
  /// width of the projections Q, K, V and of the context; 0 means d_model
  MINIGRAD_ARG(int64_t, d_k) = 0;
  /// whether w_q, w_k and w_v have biases
  MINIGRAD_ARG(bool, bias) = false;
  /// divide the scores by √d_k
  MINIGRAD_ARG(bool, scaled) = true;
  /// of the parameters
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

/// Single-head self-attention: every position of x attends to every position of x.
///
///     Q = X·W_Qᵀ   K = X·W_Kᵀ   V = X·W_Vᵀ   context = softmax(Q·Kᵀ/√d_k)·V
///
/// x [B, T, d_model] → context [B, T, d_k], weights [B, T, T].
/// Call it: `auto [context, weights] = attn(x)` or `attn(x, causal_mask(T))`.
class SelfAttention : public Module {
 public:
  /// SelfAttentionOptions(d_model): d_k = d_model, no biases, scaled.
  explicit SelfAttention(int64_t d_model) : SelfAttention(SelfAttentionOptions(d_model)) {}
  /// \param opts the settings (d_model, d_k, bias, scaled, dtype)
  /// \param gen draws the initial weights (w_q, then w_k, then w_v)
  /// \throws std::invalid_argument unless d_model > 0 and d_k ≥ 0
  explicit SelfAttention(const SelfAttentionOptions& opts, Generator& gen = default_generator());
  /// \param x    [B, T, d_model]
  /// \param mask bool (true = blocked) or float (added), broadcastable to the scores
  ///             [B, T, T] (e.g. causal_mask(T)); may be undefined
  AttentionOutput forward(const Variable& x, const Tensor& mask = {});
  /// forward(x, mask)
  AttentionOutput operator()(const Variable& x, const Tensor& mask = {}) {
    return forward(x, mask);
  }
  std::string type_name() const override { return "SelfAttention"; }
  std::string extra_repr() const override;

  SelfAttentionOptions options;  ///< the settings it was built with; d_k() resolved (never 0)
  std::shared_ptr<Linear> w_q;   ///< W_Q, d_model → d_k
  std::shared_ptr<Linear> w_k;   ///< W_K, d_model → d_k
  std::shared_ptr<Linear> w_v;   ///< W_V, d_model → d_k
};

/// The settings of a MultiheadAttention, as libtorch's MultiheadAttentionOptions.
/// libtorch's add_bias_kv and add_zero_attn are not supported.
struct MultiheadAttentionOptions {
  /// \param embed_dim E, the width of the query and of the output
  /// \param num_heads h; must divide E
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads)
      : embed_dim_(embed_dim), num_heads_(num_heads), kdim_(embed_dim), vdim_(embed_dim) {}
  /// E, the width of the query and of the output
  MINIGRAD_ARG(int64_t, embed_dim);
  /// h, the number of heads
  MINIGRAD_ARG(int64_t, num_heads);
  /// probability of zeroing an attention weight in training mode
  MINIGRAD_ARG(double, dropout) = 0.0;
  /// whether the in- and out-projections have biases
  MINIGRAD_ARG(bool, bias) = true;
  /// width of the key (default E)
  MINIGRAD_ARG(int64_t, kdim);
  /// width of the value (default E)
  MINIGRAD_ARG(int64_t, vdim);
  /// inputs and output are [B, T, E]; false (PyTorch's default): [T, B, E]
  MINIGRAD_ARG(bool, batch_first) = false;
  /// of the parameters
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

/// The settings of one call of a MultiheadAttention (libtorch passes them as
/// positional arguments; minigrad names them).
struct MultiheadAttentionForwardOptions {
  /// [B, S] (unbatched: [S]): bool, true = that key is padding; or float, added to
  /// every query's scores of that key. May be undefined.
  MINIGRAD_ARG(Tensor, key_padding_mask);
  /// return the attention weights
  MINIGRAD_ARG(bool, need_weights) = true;
  /// [T, S] (the same for every batch element and head) or [B·h, T, S] (row
  /// b·h + i for batch element b, head i); bool, true = blocked (e.g.
  /// causal_mask(T)), or float, added to the scores. May be undefined.
  MINIGRAD_ARG(Tensor, attn_mask);
  /// the weights averaged over the heads ([B, T, S]); false: per head ([B, h, T, S])
  MINIGRAD_ARG(bool, average_attn_weights) = true;
};

/// What MultiheadAttention returns: `auto [output, weights] = mha(q, k, v)`.
struct MultiheadOutput {
  Variable output;   ///< [T, B, E], [B, T, E] with batch_first, [T, E] unbatched
  Variable weights;  ///< [B, T, S] ([B, h, T, S] per head; unbatched without B); undefined
                     ///< unless need_weights
};

/// A MultiheadAttention's keys and values as its scores use them: projected and
/// split into h heads of d_h = E/h,
///
///     K = key·W_Kᵀ + b_K      V = value·W_Vᵀ + b_V      each [B, h, S, d_h]
///
/// What a key/value cache holds. A decoder that produces one position per step would
/// otherwise project every earlier position's key and value again at every step: it
/// projects each once (MultiheadAttention::project_key_value), keeps them, appends
/// the new position's along S, and attends with the forward that takes them.
struct ProjectedKeyValue {
  Variable key;    ///< K, [B, h, S, d_h] (B = 1 for unbatched input)
  Variable value;  ///< V, [B, h, S, d_h]

  /// S, the positions held; 0 when empty (undefined).
  int64_t length() const { return key.defined() ? key.size(2) : 0; }
  /// Appends `next`'s positions after these, along S: K = [K; K_next], V = [V; V_next].
  /// An empty cache becomes `next`.
  /// \throws std::invalid_argument naming the shapes unless B, h and d_h agree
  void append(const ProjectedKeyValue& next);
  /// Keeps the batch rows `index`, in that order (row i becomes row index[i]): what
  /// beam search's reorder needs of a cache. An empty cache stays empty.
  /// \param index int64 [N'], each in [0, B)
  void reorder(const Tensor& index);
};

/// h heads, each attending in its own d_h = E/h dimensional subspace:
///
///     Q = query·W_Qᵀ + b_Q    K = key·W_Kᵀ + b_K    V = value·W_Vᵀ + b_V    (all heads at once)
///     head_i = softmax(Q_i·K_iᵀ/√d_h + M)·V_i          Q_i = columns i·d_h … (i+1)·d_h of Q
///     output = concat(head_1, …, head_h)·W_Oᵀ + b_O
///
/// One head makes one choice per query; several heads can make several. M is the
/// sum of the masks (bool masks become −∞ where true). In training mode with
/// dropout p > 0, each weight is zeroed with probability p and the rest scaled by
/// 1/(1−p) before it mixes V (the returned weights are the dropped ones, as
/// PyTorch's).
///
/// Parameters, by PyTorch's state-dict names: in_proj_weight [3E, E] = W_Q, W_K, W_V
/// stacked in that order (when kdim = vdim = E; otherwise q_proj_weight [E, E],
/// k_proj_weight [E, kdim], v_proj_weight [E, vdim]), in_proj_bias [3E] = b_Q, b_K,
/// b_V, and out_proj (a Linear E → E: out_proj.weight, out_proj.bias). A PyTorch
/// nn.MultiheadAttention's state_dict loads into it by name. Init, PyTorch's:
/// xavier_uniform_ on in_proj_weight (or each of q/k/v_proj_weight), zeros for
/// in_proj_bias and out_proj.bias, Linear's U(−1/√E, 1/√E) for out_proj.weight.
///
///     nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(64, 4).batch_first(true), gen);
///     auto [y, weights] = mha(x, x, x, nn::MultiheadAttentionForwardOptions().attn_mask(causal));
class MultiheadAttention : public Module {
 public:
  /// MultiheadAttentionOptions(embed_dim, num_heads): libtorch's short form.
  MultiheadAttention(int64_t embed_dim, int64_t num_heads)
      : MultiheadAttention(MultiheadAttentionOptions(embed_dim, num_heads)) {}
  /// \param opts the settings (embed_dim, num_heads, dropout, bias, kdim, vdim, ...)
  /// \param gen draws the initial weights (in_proj_weight or q, k, v_proj_weight,
  ///            then out_proj.weight); with dropout > 0, then one number that seeds
  ///            dropout_generator
  /// \throws std::invalid_argument unless embed_dim, num_heads, kdim, vdim > 0,
  ///         num_heads divides embed_dim and 0 ≤ dropout < 1
  explicit MultiheadAttention(const MultiheadAttentionOptions& opts,
                              Generator& gen = default_generator());
  /// \param query [T, B, E] ([B, T, E] with batch_first; [T, E] unbatched)
  /// \param key   [S, B, kdim] (or [B, S, kdim]; [S, kdim] unbatched)
  /// \param value [S, B, vdim] (or [B, S, vdim]; [S, vdim] unbatched)
  /// \param opts  masks, need_weights, average_attn_weights
  /// \throws std::invalid_argument naming the shapes when the inputs or masks do not fit
  MultiheadOutput forward(const Variable& query, const Variable& key, const Variable& value,
                          const MultiheadAttentionForwardOptions& opts = {});
  /// forward(query, key, value, opts)
  MultiheadOutput operator()(const Variable& query, const Variable& key, const Variable& value,
                             const MultiheadAttentionForwardOptions& opts = {}) {
    return forward(query, key, value, opts);
  }
  /// The K and V that forward(query, key, value) attends to, for a key/value cache.
  /// \param key   [S, B, kdim] ([B, S, kdim] with batch_first; [S, kdim] unbatched)
  /// \param value [S, B, vdim] (likewise)
  /// \return K = key·W_Kᵀ + b_K and V = value·W_Vᵀ + b_V, each [B, h, S, d_h]
  /// \throws std::invalid_argument naming the shapes when key or value does not fit
  ProjectedKeyValue project_key_value(const Variable& key, const Variable& value);
  /// forward(query, key, value, opts) with K and V projected already: kv is
  /// project_key_value(key, value), or several such concatenated along S (axis 2),
  /// as a cache grows. Masks, need_weights and the result as the other forward's,
  /// with S = the length of kv.
  /// \param query [T, B, E] ([B, T, E] with batch_first; [T, E] unbatched)
  /// \param kv    K and V, each [B, h, S, d_h]
  /// \param opts  masks, need_weights, average_attn_weights
  /// \throws std::invalid_argument naming the shapes when query, kv or the masks do not fit
  MultiheadOutput forward(const Variable& query, const ProjectedKeyValue& kv,
                          const MultiheadAttentionForwardOptions& opts = {});
  /// Self-attention with a key/value cache, for a decoder that produces a sequence a
  /// few positions at a time: x's own K and V are appended to `cache`, and x attends
  /// to every position the cache then holds,
  ///
  ///     cache ← [cache; project_key_value(x, x)]      S = P + T
  ///     forward(x, cache, opts)
  ///
  /// With P positions cached before, x's T positions are P … P + T − 1, and
  /// attn_mask causal_mask(T, P) gives them what the causal mask gives them in a
  /// forward over all P + T positions; one position at a time (T = 1) needs no mask.
  /// \param x     [T, B, E] ([B, T, E] with batch_first; [T, E] unbatched)
  /// \param cache K and V of the positions before x, each [B, h, P, d_h] (empty at first)
  /// \param opts  masks over the S = P + T keys, need_weights, average_attn_weights
  /// \throws std::invalid_argument naming the shapes when x, the cache or the masks do
  ///         not fit (the cache is then left as it was)
  MultiheadOutput forward_cached(const Variable& x, ProjectedKeyValue& cache,
                                 const MultiheadAttentionForwardOptions& opts = {});
  std::string type_name() const override { return "MultiheadAttention"; }
  std::string extra_repr() const override;

  MultiheadAttentionOptions options;  ///< the settings it was built with
  int64_t head_dim;                   ///< d_h = E/h
  Variable in_proj_weight;            ///< [3E, E]: W_Q, W_K, W_V; undefined unless kdim = vdim = E
  Variable q_proj_weight;             ///< W_Q [E, E]; defined only when kdim or vdim ≠ E
  Variable k_proj_weight;             ///< W_K [E, kdim]; defined only when kdim or vdim ≠ E
  Variable v_proj_weight;             ///< W_V [E, vdim]; defined only when kdim or vdim ≠ E
  Variable in_proj_bias;              ///< [3E]: b_Q, b_K, b_V; undefined without bias
  std::shared_ptr<Linear> out_proj;   ///< W_O, b_O: E → E
  /// Draws the attention dropout's masks; seeded from the constructor's gen (only
  /// when dropout > 0). A training checkpoint can save its state().
  Generator dropout_generator;

 private:
  // Refuses key and value (and the query, when defined) that do not fit the settings
  // or each other, naming the shapes.
  void check_key_value(const Variable& query, const Variable& key, const Variable& value) const;
};

/// The settings of a positional encoding.
struct PositionalEncodingOptions {
  /// \param max_len the longest sequence it has positions for
  /// \param d_model width of x
  PositionalEncodingOptions(int64_t max_len, int64_t d_model)
      : max_len_(max_len), d_model_(d_model) {}
  /// the longest sequence it has positions for
  MINIGRAD_ARG(int64_t, max_len);
  /// width of x
  MINIGRAD_ARG(int64_t, d_model);
  /// of the table
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

/// What both positional encodings share: x [B, T ≤ max_len, d_model] → x + P[0:T]
/// for a table P of [max_len, d_model]; only where P comes from differs.
class PositionalEncoding : public Module {
 public:
  /// "max_len=…, d_model=…"
  std::string extra_repr() const override;
  PositionalEncodingOptions options;  ///< the settings it was built with

 protected:
  /// \param name the module's type name, first in the error message
  /// \param opts the sizes and dtype
  /// \throws std::invalid_argument unless both sizes are positive
  PositionalEncoding(const char* name, const PositionalEncodingOptions& opts);
  /// Refuses an x that is not [B, T ≤ max_len, d_model], naming type_name() and the shapes.
  void check_input(const Variable& x) const;
};

/// Learned positions: x [B, T, d] + P[0:T], P a [max_len, d] parameter (N(0,1) init).
class LearnedPositionalEncoding : public PositionalEncoding {
 public:
  /// PositionalEncodingOptions(max_len, d_model)
  LearnedPositionalEncoding(int64_t max_len, int64_t d_model)
      : LearnedPositionalEncoding(PositionalEncodingOptions(max_len, d_model)) {}
  /// \param opts the settings (max_len, d_model, dtype)
  /// \param gen draws the initial table
  /// \throws std::invalid_argument unless both sizes are positive
  explicit LearnedPositionalEncoding(const PositionalEncodingOptions& opts,
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
  /// PositionalEncodingOptions(max_len, d_model)
  SinusoidalPositionalEncoding(int64_t max_len, int64_t d_model)
      : SinusoidalPositionalEncoding(PositionalEncodingOptions(max_len, d_model)) {}
  /// \throws std::invalid_argument unless both sizes are positive
  explicit SinusoidalPositionalEncoding(const PositionalEncodingOptions& opts);
  /// x [B, T ≤ max_len, d_model] → x + P[0:T]
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "SinusoidalPositionalEncoding"; }
  Tensor table;  ///< P, [max_len, d_model]
};

// [extending:additive-attention-header]
/// The settings of an AdditiveAttention.
struct AdditiveAttentionOptions {
  /// \param query_dim width d_q of a query
  /// \param key_dim   width d_k of a key
  AdditiveAttentionOptions(int64_t query_dim, int64_t key_dim)
      : query_dim_(query_dim), key_dim_(key_dim) {}
  /// width d_q of a query
  MINIGRAD_ARG(int64_t, query_dim);
  /// width d_k of a key
  MINIGRAD_ARG(int64_t, key_dim);
  /// width of the hidden layer inside the score; 0 means query_dim
  MINIGRAD_ARG(int64_t, attn_dim) = 0;
  /// of the three weights
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

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
  /// AdditiveAttentionOptions(query_dim, key_dim): attn_dim = query_dim.
  AdditiveAttention(int64_t query_dim, int64_t key_dim)
      : AdditiveAttention(AdditiveAttentionOptions(query_dim, key_dim)) {}
  /// \param opts the settings (query_dim, key_dim, attn_dim, dtype)
  /// \param gen draws the initial weights (w_q, then w_k, then v)
  /// \throws std::invalid_argument unless query_dim, key_dim > 0 and attn_dim ≥ 0
  explicit AdditiveAttention(const AdditiveAttentionOptions& opts,
                             Generator& gen = default_generator());
  /// Arguments and results as DotProductAttention::forward; query's width is query_dim,
  /// the keys' key_dim.
  /// \throws std::invalid_argument naming the shapes when they or the mask do not fit
  AttentionOutput forward(const Variable& query, const Variable& keys, const Variable& values = {},
                          const Tensor& key_mask = {});
  /// forward(query, keys, values, key_mask)
  AttentionOutput operator()(const Variable& query, const Variable& keys,
                             const Variable& values = {}, const Tensor& key_mask = {}) {
    return forward(query, keys, values, key_mask);
  }
  std::string type_name() const override { return "AdditiveAttention"; }
  std::string extra_repr() const override;

  AdditiveAttentionOptions options;  ///< the settings it was built with; attn_dim() resolved
  std::shared_ptr<Linear> w_q;       ///< W_q, query_dim → attn_dim
  std::shared_ptr<Linear> w_k;       ///< W_k, key_dim → attn_dim
  std::shared_ptr<Linear> v;         ///< v, attn_dim → 1
};
// [/extending:additive-attention-header]

}  // namespace minigrad::nn
