#include "minigrad/nn/attention.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "minigrad/nn/init.h"
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
// blocked) or float of `dtype` (added to the scores), fitting `target`, whose layout
// is spelled in `layout`. An undefined mask passes. The message names the op, the
// mask, its dtype and shape, and what was expected:
//   MultiheadAttention: key_padding_mask int64[2,4], expected bool (true = blocked) or
//   float32 (added to the scores) [B, S] = [2,4]
void check_mask(const std::string& op, const std::string& name, const Tensor& mask, MaskFit fit,
                const char* layout, const Shape& target, DType dtype) {
  if (!mask.defined()) return;
  const bool dtype_ok = mask.dtype() == DType::Bool || mask.dtype() == dtype;
  MINIGRAD_CHECK(dtype_ok && fits(mask.shape(), target, fit))
      << op << ": " << name << " " << dtype_name(mask.dtype()) << mask.shape()
      << ", expected bool (true = blocked) or " << dtype_name(dtype) << " (added to the scores)"
      << (fit == MaskFit::Exactly ? " " : ", broadcastable to the scores ") << layout << " = "
      << target;
}

// Checks q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv] and the mask, and resolves the scale.
double check_attention(const Variable& q, const Variable& k, const Variable& v, const Tensor& mask,
                       std::optional<double> scale, const char* op) {
  MINIGRAD_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2 && q.size(-1) == k.size(-1) &&
                 k.size(-2) == v.size(-2))
      << op << ": q " << q.shape() << ", k " << k.shape() << ", v " << v.shape()
      << ": expected q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv]";
  const Shape qb(q.shape().begin(), q.shape().end() - 2),
      kb(k.shape().begin(), k.shape().end() - 2), vb(v.shape().begin(), v.shape().end() - 2);
  bool batches_broadcast = true;
  try {
    broadcast_shapes(broadcast_shapes(qb, kb, op), vb, op);
  } catch (const std::invalid_argument&) {
    batches_broadcast = false;
  }
  MINIGRAD_CHECK(batches_broadcast)
      << op << ": q " << q.shape() << ", k " << k.shape() << ", v " << v.shape()
      << ": their batch shapes " << qb << ", " << kb << " and " << vb << " cannot broadcast";
  if (mask.defined()) {
    // The scores are [..., Tq, Tk], their batch axes those of q and k broadcast.
    Shape scores = broadcast_shapes(Shape(q.shape().begin(), q.shape().end() - 2),
                                    Shape(k.shape().begin(), k.shape().end() - 2), op);
    scores.push_back(q.size(-2));
    scores.push_back(k.size(-2));
    check_mask(op, "mask", mask, MaskFit::Broadcasts, "[..., Tq, Tk]", scores, q.dtype());
  }
  const double s = scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  MINIGRAD_CHECK(std::isfinite(s)) << op << ": scale must be finite";
  return s;
}

// The scores with the mask applied, for the composed forms: a bool mask sets −∞
// where true, a float mask is added.
Variable apply_mask(const Variable& scores, const Tensor& mask) {
  if (!mask.defined()) return scores;
  if (mask.dtype() != DType::Bool) return scores + Variable(mask);  // S + M
  const Shape full = broadcast_shapes(scores.shape(), mask.shape(), "attention mask");
  return masked_fill(expand(scores, full), mask, -kInf);  // blocked keys: −∞ → weight 0
}

}  // namespace

AttentionOutput scaled_dot_product_attention_composed(const Variable& q, const Variable& k,
                                                      const Variable& v, const Tensor& mask,
                                                      std::optional<double> scale) {
  const double s = check_attention(q, k, v, mask, scale, "scaled_dot_product_attention");
  const Variable scores = apply_mask(q.matmul(k.mT()) * s, mask);  // S = Q·Kᵀ·scale + M
  const Variable weights = softmax(scores, -1);                    // A = softmax(S)
  const Variable context = weights.matmul(v);                      // C = A·V
  return {context, weights};
}

namespace {

// Which outputs the fused node records: both, or only the context when the caller
// discards the weights (then no gradient of the weights is ever made).
enum class Outputs { ContextAndWeights, Context };

// One node for the whole of S → A → C (tensor/attention.cpp has the forward and the
// backward side by side):
//   S = Q·Kᵀ·scale + M       A = softmax_j(S)       C = A·V
//   dA = gA + gC·Vᵀ   dV = Aᵀ·gC   dS = A ⊙ (dA − Σ_j dA_j A_j)   dQ = scale·dS·K   dK =
//   scale·dSᵀ·Q
// When V brings batch axes of its own, A has fewer batch axes than C, and the
// composed form (which sums gA's copies back) is used.
AttentionOutput fused_attention(const Variable& q, const Variable& k, const Variable& v,
                                const Tensor& mask, std::optional<double> scale, Outputs outputs) {
  const char* op = "scaled_dot_product_attention";
  const double s = check_attention(q, k, v, mask, scale, op);
  const Shape qk_batch = broadcast_shapes(Shape(q.shape().begin(), q.shape().end() - 2),
                                          Shape(k.shape().begin(), k.shape().end() - 2), op);
  const Shape batch = broadcast_shapes(qk_batch, Shape(v.shape().begin(), v.shape().end() - 2), op);
  if (batch != qk_batch) return scaled_dot_product_attention_composed(q, k, v, mask, scale);
  const Tensor qd = q.data(), kd = k.data(), vd = v.data();
  AttentionForward f = attention_forward(qd, kd, vd, mask, s);
  const Tensor weights = f.weights;
  auto backward = [qd, kd, vd, weights, s](const std::vector<Tensor>& gy, Grads& g) {
    const Tensor gw = gy.size() > 1 ? gy[1] : Tensor();
    AttentionBackward d = attention_backward(gy[0], gw, qd, kd, vd, weights, s);
    if (g.needs(0)) g[0] = std::move(d.dq);  // summed to q's shape by the engine
    if (g.needs(1)) g[1] = std::move(d.dk);
    if (g.needs(2)) g[2] = std::move(d.dv);
  };
  if (outputs == Outputs::Context) {
    return {record(op, std::move(f.context), {q, k, v}, backward), Variable(std::move(f.weights))};
  }
  auto out = record_multi(op, {std::move(f.context), std::move(f.weights)}, {q, k, v}, backward);
  return {out[0], out[1]};
}

}  // namespace

AttentionOutput scaled_dot_product_attention(const Variable& q, const Variable& k,
                                             const Variable& v, const Tensor& mask,
                                             std::optional<double> scale) {
  return fused_attention(q, k, v, mask, scale, Outputs::ContextAndWeights);
}

Tensor causal_mask(int64_t steps, int64_t past) {
  MINIGRAD_CHECK(steps > 0 && past >= 0) << "causal_mask: steps " << steps << " and past " << past
                                         << ": expected steps > 0 and past >= 0";
  // query i is position past + i
  const Tensor i =
      Tensor::arange(static_cast<double>(past), static_cast<double>(past + steps), 1, DType::Int64)
          .reshape({steps, 1});
  const Tensor j = Tensor::arange(0, static_cast<double>(past + steps), 1, DType::Int64)
                       .reshape({1, past + steps});
  return gt(j, i);  // key j is in query i's future
}

// ---- the key/value cache ------------------------------------------------------------------

void ProjectedKeyValue::append(const ProjectedKeyValue& next) {
  if (!key.defined()) {
    *this = next;
    return;
  }
  MINIGRAD_CHECK(next.key.defined() && next.value.defined() && next.key.dim() == 4 &&
                 next.key.size(0) == key.size(0) && next.key.size(1) == key.size(1) &&
                 next.key.size(3) == key.size(3) && next.value.shape() == next.key.shape())
      << "ProjectedKeyValue::append: K " << key.shape() << " and the next K "
      << (next.key.defined() ? next.key.shape().str() : "(undefined)") << ", V "
      << (next.value.defined() ? next.value.shape().str() : "(undefined)")
      << ": expected both [B, h, S', d_h] with the same B, h and d_h";
  key = concat({key, next.key}, 2);  // [B, h, S + S', d_h]
  value = concat({value, next.value}, 2);
}

void ProjectedKeyValue::reorder(const Tensor& index) {
  if (!key.defined()) return;
  key = index_select(key, 0, index);
  value = index_select(value, 0, index);
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

void check_multihead_masks(const AttentionMaskNames& names, const Tensor& attn_mask,
                           const Tensor& key_padding_mask, std::optional<int64_t> batch,
                           int64_t num_heads, int64_t tgt_len, int64_t src_len, DType dtype) {
  if (batch) {
    check_mask(names.module, names.key_padding_mask, key_padding_mask, MaskFit::Exactly, "[B, S]",
               {*batch, src_len}, dtype);
  } else {
    check_mask(names.module, names.key_padding_mask, key_padding_mask, MaskFit::Exactly, "[S]",
               {src_len}, dtype);
  }
  if (attn_mask.defined() && attn_mask.dim() == 3) {
    check_mask(names.module, names.attn_mask, attn_mask, MaskFit::Exactly, "[B·num_heads, T, S]",
               {batch.value_or(1) * num_heads, tgt_len, src_len}, dtype);
  } else {
    check_mask(names.module, names.attn_mask, attn_mask, MaskFit::Exactly, "[T, S]",
               {tgt_len, src_len}, dtype);
  }
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
             {keys.size(0), keys.size(1)}, query.dtype());
  // [B, 1, Tk]: the same keys blocked for every query
  const Tensor mask = key_mask.defined() ? key_mask.unsqueeze(1) : Tensor();
  const std::optional<double> scale = options.scaled() ? std::nullopt : std::optional<double>(1.0);
  AttentionOutput out = scaled_dot_product_attention(q, keys, vals, mask, scale);
  if (one_step) out = {out.context.squeeze(1), out.weights.squeeze(1)};
  return out;
}

// ---- SelfAttention -----------------------------------------------------------------------------

SelfAttention::SelfAttention(const SelfAttentionOptions& opts, Generator& gen) : options(opts) {
  const int64_t d_model = options.d_model(), d_k = options.d_k();
  MINIGRAD_CHECK(d_model > 0 && d_k >= 0)
      << "SelfAttention: d_model must be positive and d_k non-negative, got " << d_model << " and "
      << d_k;
  if (d_k == 0) options.d_k(d_model);
  const LinearOptions proj =
      LinearOptions(d_model, options.d_k()).bias(options.bias()).dtype(options.dtype());
  w_q = register_module("w_q", std::make_shared<Linear>(proj, gen));
  w_k = register_module("w_k", std::make_shared<Linear>(proj, gen));
  w_v = register_module("w_v", std::make_shared<Linear>(proj, gen));
}

AttentionOutput SelfAttention::forward(const Variable& x, const Tensor& mask) {
  MINIGRAD_CHECK(x.dim() == 3 && x.size(2) == options.d_model())
      << "SelfAttention: input " << x.shape() << ", expected [B, T, " << options.d_model() << "]";
  const Variable q = (*w_q)(x), k = (*w_k)(x), v = (*w_v)(x);  // Q = X·W_Qᵀ ...
  return scaled_dot_product_attention(q, k, v, mask,
                                      options.scaled() ? std::nullopt : std::optional<double>(1.0));
}

std::string SelfAttention::extra_repr() const {
  return "d_model=" + std::to_string(options.d_model()) + ", d_k=" + std::to_string(options.d_k()) +
         (options.bias() ? ", bias=true" : "") + (options.scaled() ? "" : ", scaled=false");
}

// ---- MultiheadAttention ------------------------------------------------------------------------

MultiheadAttention::MultiheadAttention(const MultiheadAttentionOptions& opts, Generator& gen)
    : options(opts) {
  const int64_t e = options.embed_dim(), heads = options.num_heads();
  MINIGRAD_CHECK(e > 0 && heads > 0 && e % heads == 0)
      << "MultiheadAttention: embed_dim " << e << " must be positive and divisible by num_heads "
      << heads;
  MINIGRAD_CHECK(options.kdim() > 0 && options.vdim() > 0)
      << "MultiheadAttention: kdim " << options.kdim() << " and vdim " << options.vdim()
      << " must be positive";
  MINIGRAD_CHECK(options.dropout() >= 0.0 && options.dropout() < 1.0)
      << "MultiheadAttention: dropout must be in [0, 1), got " << std::to_string(options.dropout());
  head_dim = e / heads;
  const DType dtype = options.dtype();
  // PyTorch's parameters, in its order, then its _reset_parameters: xavier_uniform_
  // on the in-projection, zeros for both biases (out_proj.weight keeps Linear's init).
  auto xavier = [&](const Shape& shape) {
    Tensor w = Tensor::zeros(shape, dtype);
    init::xavier_uniform_(w, 1.0, gen);
    return w;
  };
  if (options.kdim() == e && options.vdim() == e) {
    register_parameter("in_proj_weight", &in_proj_weight, xavier({3 * e, e}));
  } else {
    register_parameter("q_proj_weight", &q_proj_weight, xavier({e, e}));
    register_parameter("k_proj_weight", &k_proj_weight, xavier({e, options.kdim()}));
    register_parameter("v_proj_weight", &v_proj_weight, xavier({e, options.vdim()}));
  }
  if (options.bias())
    register_parameter("in_proj_bias", &in_proj_bias, Tensor::zeros({3 * e}, dtype));
  out_proj = register_module(
      "out_proj",
      std::make_shared<Linear>(LinearOptions(e, e).bias(options.bias()).dtype(dtype), gen));
  if (options.bias()) out_proj->bias.mutable_data().zero_();
  if (options.dropout() > 0.0) dropout_generator.seed(gen.next_u64());
}

namespace {

// A mask as an additive float mask of `dtype`: bool true → −∞, false → 0.
Tensor additive(const Tensor& mask, DType dtype) {
  if (mask.dtype() != DType::Bool) return mask;
  return masked_fill(Tensor::zeros(mask.shape(), dtype), mask, -kInf);
}

// key_padding_mask [B, S] → [B, 1, 1, S] and attn_mask [T, S] or [B·h, T, S] →
// [T, S] or [B, h, T, S], joined into one mask broadcasting against the scores
// [B, h, T, S]: "blocked by either" when both are bool, their sum otherwise (a
// bool one counting −∞ where true).
Tensor join_masks(const Tensor& key_padding_mask, const Tensor& attn_mask, int64_t b, int64_t h,
                  DType dtype) {
  Tensor kpm = key_padding_mask, am = attn_mask;
  if (kpm.defined()) kpm = kpm.reshape({b, 1, 1, kpm.size(-1)});
  if (am.defined() && am.dim() == 3) am = am.reshape({b, h, am.size(1), am.size(2)});
  if (!kpm.defined() || !am.defined()) return kpm.defined() ? kpm : am;
  if (kpm.dtype() == DType::Bool && am.dtype() == DType::Bool) {
    return gt(add(kpm.to(DType::Float32), am.to(DType::Float32)), 0.0);  // a ∨ b on 0/1 values
  }
  return add(additive(kpm, dtype), additive(am, dtype));
}

// A sequence in the module's layout ([T, B, ·], [B, T, ·] with batch_first, [T, ·]
// unbatched) as [B, T, ·].
Variable batch_major(const Variable& x, bool batch_first) {
  if (x.dim() == 2) return x.unsqueeze(0);
  return batch_first ? x : x.transpose(0, 1);
}

// x [B, L, E] (all heads side by side) → [B, h, L, d_h]: each head sees its own slice.
Variable split_heads(const Variable& x, int64_t heads) {
  const int64_t b = x.size(0), len = x.size(1), e = x.size(2);
  return x.reshape({b, len, heads, e / heads}).permute({0, 2, 1, 3});
}

// Part i of the in-projection (0: W_Q, b_Q; 1: W_K, b_K; 2: W_V, b_V) applied to x,
// split into heads: x·Wᵀ + b as [B, h, L, d_h].
Variable project(const MultiheadAttention& m, int i, const Variable& x) {
  const int64_t e = m.options.embed_dim();
  const Variable bias = m.in_proj_bias.defined() ? m.in_proj_bias.narrow(0, i * e, e) : Variable();
  const Variable packed = m.in_proj_weight;
  const Variable weight = packed.defined() ? packed.narrow(0, i * e, e)
                          : i == 0         ? m.q_proj_weight
                          : i == 1         ? m.k_proj_weight
                                           : m.v_proj_weight;
  return split_heads(linear(x, weight, bias), m.options.num_heads());
}

}  // namespace

// Every head at once: the projections are [B, T, E] (all heads side by side), viewed
// as [B, h, T, d_h] for the attention and back to [B, T, E] for W_O.
MultiheadOutput MultiheadAttention::forward(const Variable& query, const Variable& key,
                                            const Variable& value,
                                            const MultiheadAttentionForwardOptions& opts) {
  check_key_value(query, key, value);
  return forward(query, project_key_value(key, value), opts);
}

ProjectedKeyValue MultiheadAttention::project_key_value(const Variable& key,
                                                        const Variable& value) {
  check_key_value(Variable(), key, value);
  // K = key·W_Kᵀ + b_K, V = value·W_Vᵀ + b_V
  return {project(*this, 1, batch_major(key, options.batch_first())),
          project(*this, 2, batch_major(value, options.batch_first()))};
}

void MultiheadAttention::check_key_value(const Variable& query, const Variable& key,
                                         const Variable& value) const {
  const int64_t e = options.embed_dim();
  // the rank of the call: the query's, or the key's when there is no query
  const int64_t rank = query.defined() ? query.dim() : key.dim();
  const bool batched = rank == 3;
  const char* layout = !batched ? "[T, E], [S, kdim], [S, vdim] (unbatched)"
                       : options.batch_first()
                           ? "[B, T, E], [B, S, kdim], [B, S, vdim] (batch_first)"
                           : "[T, B, E], [S, B, kdim], [S, B, vdim]";
  const std::string got = (query.defined() ? "query " + query.shape().str() + ", " : "") + "key " +
                          key.shape().str() + ", value " + value.shape().str();
  MINIGRAD_CHECK((rank == 2 || rank == 3) && key.dim() == rank && value.dim() == rank &&
                 (!query.defined() || query.size(-1) == e) && key.size(-1) == options.kdim() &&
                 value.size(-1) == options.vdim())
      << "MultiheadAttention: " << got << ": expected " << layout << " with E=" << e
      << ", kdim=" << options.kdim() << ", vdim=" << options.vdim();
  const int batch_axis = batched && !options.batch_first() ? 1 : 0;
  const int length_axis = batched && options.batch_first() ? 1 : 0;
  const bool batches_agree =
      !batched || (key.size(batch_axis) == value.size(batch_axis) &&
                   (!query.defined() || query.size(batch_axis) == key.size(batch_axis)));
  MINIGRAD_CHECK(batches_agree && key.size(length_axis) == value.size(length_axis))
      << "MultiheadAttention: " << got << ": batch sizes and key/value lengths must agree";
}

// With K and V projected already: Q = query·W_Qᵀ + b_Q, then the heads attend.
MultiheadOutput MultiheadAttention::forward(const Variable& query, const ProjectedKeyValue& kv,
                                            const MultiheadAttentionForwardOptions& opts) {
  const int64_t e = options.embed_dim(), h = options.num_heads();
  const bool batched = query.dim() == 3;
  const Variable q_in = batch_major(query, options.batch_first());
  const int64_t b = q_in.size(0), t = q_in.size(1);
  MINIGRAD_CHECK((query.dim() == 2 || query.dim() == 3) && query.size(-1) == e &&
                 kv.key.defined() && kv.value.defined() && kv.key.dim() == 4 &&
                 kv.key.size(0) == b && kv.key.size(1) == h && kv.key.size(3) == head_dim &&
                 kv.value.shape() == kv.key.shape())
      << "MultiheadAttention: query " << query.shape() << ", projected key "
      << (kv.key.defined() ? kv.key.shape().str() : "(undefined)") << " and value "
      << (kv.value.defined() ? kv.value.shape().str() : "(undefined)") << ": expected "
      << (!batched                ? "[T, E]"
          : options.batch_first() ? "[B, T, E]"
                                  : "[T, B, E]")
      << " with E=" << e << ", and K, V both [B, h, S, d_h] with B=" << b << ", h=" << h
      << ", d_h=" << head_dim;
  const int64_t s = kv.key.size(2);

  const Tensor& kpm = opts.key_padding_mask();
  const Tensor& am = opts.attn_mask();
  const DType dtype = query.dtype();
  check_multihead_masks({type_name(), "attn_mask", "key_padding_mask"}, am, kpm,
                        batched ? std::optional<int64_t>(b) : std::nullopt, h, t, s, dtype);
  const Tensor mask = join_masks(kpm, am, b, h, dtype);

  const Variable q = project(*this, 0, q_in);  // Q = query·W_Qᵀ + b_Q, [B, h, T, d_h]
  const Variable &k = kv.key, &v = kv.value;

  AttentionOutput att;
  if (is_training() && options.dropout() > 0.0) {
    // The composed form, with the weights dropped before they mix V.
    const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
    const Variable weights = dropout(softmax(apply_mask(q.matmul(k.mT()) * scale, mask), -1),
                                     options.dropout(), true, dropout_generator);
    att = {matmul(weights, v), weights};
  } else {
    // one fused node; the weights are a result only when the caller asked for them
    att = fused_attention(q, k, v, mask, std::nullopt,
                          opts.need_weights() ? Outputs::ContextAndWeights : Outputs::Context);
  }
  // [B, h, T, d_h] → [B, T, h·d_h]: the heads side by side, then mixed by W_O.
  Variable out = (*out_proj)(att.context.permute({0, 2, 1, 3}).reshape({b, t, e}));
  if (!batched) {
    out = out.squeeze(0);
  } else if (!options.batch_first()) {
    out = out.transpose(0, 1);
  }
  MultiheadOutput result{out, {}};
  if (opts.need_weights()) {
    result.weights = opts.average_attn_weights() ? mean(att.weights, {1}) : att.weights;
    if (!batched) result.weights = result.weights.squeeze(0);
  }
  return result;
}

MultiheadOutput MultiheadAttention::forward_cached(const Variable& x, ProjectedKeyValue& cache,
                                                   const MultiheadAttentionForwardOptions& opts) {
  ProjectedKeyValue grown = cache;
  grown.append(project_key_value(x, x));  // K, V of positions 0 … P + T − 1
  MultiheadOutput out = forward(x, grown, opts);
  cache = std::move(grown);  // only once x fitted
  return out;
}

std::string MultiheadAttention::extra_repr() const {
  std::string s = "embed_dim=" + std::to_string(options.embed_dim()) +
                  ", num_heads=" + std::to_string(options.num_heads());
  if (options.dropout() > 0.0) {
    std::ostringstream os;
    os << options.dropout();
    s += ", dropout=" + os.str();
  }
  if (!options.bias()) s += ", bias=false";
  if (options.kdim() != options.embed_dim()) s += ", kdim=" + std::to_string(options.kdim());
  if (options.vdim() != options.embed_dim()) s += ", vdim=" + std::to_string(options.vdim());
  if (options.batch_first()) s += ", batch_first=true";
  return s;
}

// ---- positional encodings ----------------------------------------------------------------------

PositionalEncoding::PositionalEncoding(const char* name, const PositionalEncodingOptions& opts)
    : options(opts) {
  MINIGRAD_CHECK(options.max_len() > 0 && options.d_model() > 0)
      << name << ": sizes must be positive, got max_len=" << options.max_len()
      << ", d_model=" << options.d_model();
}

void PositionalEncoding::check_input(const Variable& x) const {
  MINIGRAD_CHECK(x.dim() == 3 && x.size(2) == options.d_model() && x.size(1) <= options.max_len())
      << type_name() << ": input " << x.shape() << ", expected [B, T ≤ " << options.max_len()
      << ", " << options.d_model() << "]";
}

std::string PositionalEncoding::extra_repr() const {
  return "max_len=" + std::to_string(options.max_len()) +
         ", d_model=" + std::to_string(options.d_model());
}

LearnedPositionalEncoding::LearnedPositionalEncoding(const PositionalEncodingOptions& opts,
                                                     Generator& gen)
    : PositionalEncoding("LearnedPositionalEncoding", opts) {
  register_parameter("weight", &weight,
                     randn({options.max_len(), options.d_model()}, 0.0, 1.0, options.dtype(), gen));
}

Variable LearnedPositionalEncoding::forward(const Variable& x) {
  check_input(x);
  return x + weight.narrow(0, 0, x.size(1));  // [B, T, d] + [T, d]
}

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(const PositionalEncodingOptions& opts)
    : PositionalEncoding("SinusoidalPositionalEncoding", opts) {
  const int64_t len = options.max_len(), d = options.d_model();
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
  table = t.to(options.dtype());
}

Variable SinusoidalPositionalEncoding::forward(const Variable& x) {
  check_input(x);
  return x + Variable(table.narrow(0, 0, x.size(1)));
}

// ---- AdditiveAttention ------------------------------------------------------------------------

// [extending:additive-attention-module]
AdditiveAttention::AdditiveAttention(const AdditiveAttentionOptions& opts, Generator& gen)
    : options(opts) {
  const int64_t q_dim = options.query_dim(), k_dim = options.key_dim();
  MINIGRAD_CHECK(q_dim > 0 && k_dim > 0 && options.attn_dim() >= 0)
      << "AdditiveAttention: query_dim and key_dim must be positive and attn_dim non-negative, got "
      << q_dim << ", " << k_dim << " and " << options.attn_dim();
  if (options.attn_dim() == 0) options.attn_dim(q_dim);
  const int64_t a_dim = options.attn_dim();
  auto no_bias = [&](int64_t in, int64_t out) {
    return LinearOptions(in, out).bias(false).dtype(options.dtype());
  };
  w_q = register_module("w_q", std::make_shared<Linear>(no_bias(q_dim, a_dim), gen));
  w_k = register_module("w_k", std::make_shared<Linear>(no_bias(k_dim, a_dim), gen));
  v = register_module("v", std::make_shared<Linear>(no_bias(a_dim, 1), gen));
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
  const int64_t q_dim = options.query_dim(), k_dim = options.key_dim();
  const bool shapes_ok = (query.dim() == 2 || query.dim() == 3) && query.size(-1) == q_dim &&
                         keys.dim() == 3 && keys.size(2) == k_dim &&
                         query.size(0) == keys.size(0) && vals.dim() == 3 &&
                         vals.size(0) == keys.size(0) && vals.size(1) == keys.size(1);
  MINIGRAD_CHECK(shapes_ok) << "AdditiveAttention: query " << query.shape() << ", keys "
                            << keys.shape() << ", values " << vals.shape()
                            << ": expected query [B, " << q_dim << "] or [B, Tq, " << q_dim
                            << "], keys [B, Tk, " << k_dim << "], values [B, Tk, dv]";
  check_mask(type_name(), "key_mask", key_mask, MaskFit::Exactly, "[B, Tk]",
             {keys.size(0), keys.size(1)}, query.dtype());
  const bool one_step = query.dim() == 2;
  const Variable q = one_step ? query.unsqueeze(1) : query;  // [B, Tq, d_q]
  const Variable qp = (*w_q)(q).unsqueeze(2);                // [B, Tq, 1, A]   W_q q
  const Variable kp = (*w_k)(keys).unsqueeze(1);             // [B, 1, Tk, A]   W_k k_j
  Variable scores = (*v)(tanh(qp + kp)).squeeze(3);          // [B, Tq, Tk]     vᵀ tanh(…)
  if (key_mask.defined()) {
    // [B, 1, Tk]: the same keys blocked for every query; −∞ → weight 0
    scores = apply_mask(scores, key_mask.unsqueeze(1));
  }
  const Variable weights = softmax(scores, -1);    // a = softmax_j(score); all blocked: zeros
  const Variable context = weights.matmul(vals);   // [B, Tq, dv]  Σ_j a_j v_j
  if (one_step) return {context.squeeze(1), weights.squeeze(1)};
  return {context, weights};
}
// [/extending:additive-attention]

std::string AdditiveAttention::extra_repr() const {
  return "query_dim=" + std::to_string(options.query_dim()) +
         ", key_dim=" + std::to_string(options.key_dim()) +
         ", attn_dim=" + std::to_string(options.attn_dim());
}

}  // namespace minigrad::nn
