#include "minigrad/nn/transformer.h"

#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "minigrad/nn/init.h"
#include "minigrad/tensor/check.h"

namespace minigrad::nn {

std::string activation_name(Activation activation) {
  switch (activation) {
    case Activation::ReLU:
      return "relu";
    case Activation::GELU:
      return "gelu";
  }
  throw std::invalid_argument("activation_name: not an Activation");
}

namespace {

// act(x), the feed-forward block's nonlinearity: F.relu or F.gelu (exact), as PyTorch's.
Variable activate(const Variable& x, Activation activation) {
  return activation == Activation::GELU ? gelu(x) : relu(x);
}

// Attention(query, keys = values = kv) with the masks, its output alone (PyTorch's
// blocks call it with need_weights=False), unless `kept` is given: then every head's
// weights too, stored there without their graph.
Variable attend(MultiheadAttention& attention, const Variable& query, const Variable& kv,
                const Tensor& attn_mask, const Tensor& key_padding_mask, Tensor* kept = nullptr) {
  const auto fwd = MultiheadAttentionForwardOptions()
                       .attn_mask(attn_mask)
                       .key_padding_mask(key_padding_mask)
                       .need_weights(kept != nullptr)
                       .average_attn_weights(false);
  MultiheadOutput out = attention(query, kv, kv, fwd);
  if (kept != nullptr) *kept = out.weights.data();
  return out.output;
}

// The settings every layer (and the Transformer) refuses, with `module` first in the message.
void check_layer_options(const char* module, const TransformerLayerOptions& o) {
  MINIGRAD_CHECK(o.d_model() > 0 && o.nhead() > 0 && o.d_model() % o.nhead() == 0)
      << module << ": d_model " << o.d_model() << " must be positive and divisible by nhead "
      << o.nhead();
  MINIGRAD_CHECK(o.dim_feedforward() > 0)
      << module << ": dim_feedforward must be positive, got " << o.dim_feedforward();
  MINIGRAD_CHECK(o.dropout() >= 0.0 && o.dropout() < 1.0)
      << module << ": dropout must be in [0, 1), got " << std::to_string(o.dropout());
}

// The parts both layers are made of, with the layer's settings.
MultiheadAttentionOptions attention_options(const TransformerLayerOptions& o) {
  return MultiheadAttentionOptions(o.d_model(), o.nhead())
      .dropout(o.dropout())
      .batch_first(o.batch_first())
      .dtype(o.dtype());
}
LinearOptions linear_options(const TransformerLayerOptions& o, int64_t in, int64_t out) {
  return LinearOptions(in, out).dtype(o.dtype());
}
LayerNormOptions norm_options(const TransformerLayerOptions& o) {
  return LayerNormOptions({o.d_model()}).eps(o.layer_norm_eps()).dtype(o.dtype());
}

// How a sequence is laid out for these settings: "[S, B, E=8] ([S, E=8] unbatched)".
std::string layout(const TransformerLayerOptions& o, const char* len) {
  std::ostringstream s;
  const std::string e = "E=" + std::to_string(o.d_model());
  if (o.batch_first()) {
    s << "[B, " << len << ", " << e << "]";
  } else {
    s << "[" << len << ", B, " << e << "]";
  }
  s << " ([" << len << ", " << e << "] unbatched)";
  return s.str();
}

// Checks one input sequence of a layer ([T, B, E], [B, T, E] or [T, E], of the
// parameters' dtype) and returns its batch size (std::nullopt when unbatched) and length.
struct SequenceShape {
  std::optional<int64_t> batch;
  int64_t length;
};
SequenceShape check_sequence(const char* module, const char* name, const char* len,
                             const Variable& x, const TransformerLayerOptions& o) {
  MINIGRAD_CHECK((x.dim() == 2 || x.dim() == 3) && x.size(-1) == o.d_model())
      << module << ": " << name << " " << x.shape() << ", expected " << layout(o, len);
  MINIGRAD_CHECK(x.dtype() == o.dtype())
      << module << ": " << name << " is " << dtype_name(x.dtype()) << ", the parameters are "
      << dtype_name(o.dtype());
  if (x.dim() == 2) return {std::nullopt, x.size(0)};
  return o.batch_first() ? SequenceShape{x.size(0), x.size(1)}
                         : SequenceShape{x.size(1), x.size(0)};
}

// The one module registered under "norm" by a stack, or null.
std::shared_ptr<Module> register_norm(Module& stack, const std::shared_ptr<Module>& norm) {
  return norm ? stack.register_module("norm", norm) : nullptr;
}

// A decoder layer's three residual sublayers around the two attention blocks given:
// the one structure of forward (whole sequences) and forward_step (one position,
// cached).
template <class SelfAttention, class CrossAttention>
Variable decoder_sublayers(TransformerDecoderLayer& layer, Variable x, SelfAttention sa,
                           CrossAttention mha) {
  if (layer.options.norm_first()) {
    x = x + sa((*layer.norm1)(x));              // x + SelfAttn(LN₁(x))
    x = x + mha((*layer.norm2)(x));             // x + CrossAttn(LN₂(x), m)
    x = x + layer.ff_block((*layer.norm3)(x));  // x + FFN(LN₃(x))
  } else {
    x = (*layer.norm1)(x + sa(x));              // LN₁(x + SelfAttn(x))
    x = (*layer.norm2)(x + mha(x));             // LN₂(x + CrossAttn(x, m))
    x = (*layer.norm3)(x + layer.ff_block(x));  // LN₃(x + FFN(x))
  }
  return x;
}

}  // namespace

// ---- TransformerEncoderLayer -------------------------------------------------------------------

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerEncoderLayerOptions& opts,
                                                 Generator& gen)
    : options(opts) {
  check_layer_options("TransformerEncoderLayer", options);
  const int64_t d = options.d_model(), ff = options.dim_feedforward();
  const DropoutOptions drop(options.dropout());
  // PyTorch's modules, in PyTorch's order (and so its state-dict order).
  self_attn = register_module(
      "self_attn", std::make_shared<MultiheadAttention>(attention_options(options), gen));
  linear1 =
      register_module("linear1", std::make_shared<Linear>(linear_options(options, d, ff), gen));
  dropout = register_module("dropout", std::make_shared<Dropout>(drop, gen));
  linear2 =
      register_module("linear2", std::make_shared<Linear>(linear_options(options, ff, d), gen));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(norm_options(options)));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(norm_options(options)));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(drop, gen));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(drop, gen));
}

Variable TransformerEncoderLayer::forward(const Variable& src,
                                          const TransformerEncoderForwardOptions& opts) {
  const auto [batch, len] = check_sequence(type_name().c_str(), "src", "S", src, options);
  const Tensor &mask = opts.src_mask(), &padding = opts.src_key_padding_mask();
  check_multihead_masks({type_name(), "src_mask", "src_key_padding_mask"}, mask, padding, batch,
                        options.nhead(), len, len, src.dtype());
  Variable x = src;
  if (options.norm_first()) {
    x = x + sa_block((*norm1)(x), mask, padding);  // x + SelfAttention(LN₁(x))
    x = x + ff_block((*norm2)(x));                 // x + FFN(LN₂(x))
  } else {
    x = (*norm1)(x + sa_block(x, mask, padding));  // LN₁(x + SelfAttention(x))
    x = (*norm2)(x + ff_block(x));                 // LN₂(x + FFN(x))
  }
  return x;
}

Variable TransformerEncoderLayer::sa_block(const Variable& x, const Tensor& attn_mask,
                                           const Tensor& key_padding_mask) {
  return (*dropout1)(attend(*self_attn, x, x, attn_mask, key_padding_mask,
                            keep_attention_weights ? &self_attn_weights : nullptr));
}

// FFN(x) = W₂·act(W₁·x + b₁) + b₂, at every position alike.
Variable TransformerEncoderLayer::ff_block(const Variable& x) {
  const Variable hidden = (*dropout)(activate((*linear1)(x), options.activation()));
  return (*dropout2)((*linear2)(hidden));
}

std::string TransformerEncoderLayer::extra_repr() const {
  return "activation=" + activation_name(options.activation()) +
         (options.norm_first() ? ", norm_first=true" : "");
}

// ---- TransformerDecoderLayer -------------------------------------------------------------------

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerDecoderLayerOptions& opts,
                                                 Generator& gen)
    : options(opts) {
  check_layer_options("TransformerDecoderLayer", options);
  const int64_t d = options.d_model(), ff = options.dim_feedforward();
  const DropoutOptions drop(options.dropout());
  self_attn = register_module(
      "self_attn", std::make_shared<MultiheadAttention>(attention_options(options), gen));
  multihead_attn = register_module(
      "multihead_attn", std::make_shared<MultiheadAttention>(attention_options(options), gen));
  linear1 =
      register_module("linear1", std::make_shared<Linear>(linear_options(options, d, ff), gen));
  dropout = register_module("dropout", std::make_shared<Dropout>(drop, gen));
  linear2 =
      register_module("linear2", std::make_shared<Linear>(linear_options(options, ff, d), gen));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(norm_options(options)));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(norm_options(options)));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(norm_options(options)));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(drop, gen));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(drop, gen));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(drop, gen));
}

Variable TransformerDecoderLayer::forward(const Variable& tgt, const Variable& memory,
                                          const TransformerDecoderForwardOptions& opts) {
  const std::string name = type_name();
  const auto [batch, tgt_len] = check_sequence(name.c_str(), "tgt", "T", tgt, options);
  const auto [memory_batch, src_len] = check_sequence(name.c_str(), "memory", "S", memory, options);
  MINIGRAD_CHECK(tgt.dim() == memory.dim() && batch == memory_batch)
      << name << ": tgt " << tgt.shape() << " and memory " << memory.shape()
      << ": expected the same batch, " << layout(options, "T") << " and " << layout(options, "S");
  const Tensor &self_mask = opts.tgt_mask(), &self_padding = opts.tgt_key_padding_mask();
  const Tensor &cross_mask = opts.memory_mask(), &cross_padding = opts.memory_key_padding_mask();
  check_multihead_masks({name, "tgt_mask", "tgt_key_padding_mask"}, self_mask, self_padding, batch,
                        options.nhead(), tgt_len, tgt_len, tgt.dtype());
  check_multihead_masks({name, "memory_mask", "memory_key_padding_mask"}, cross_mask, cross_padding,
                        batch, options.nhead(), tgt_len, src_len, tgt.dtype());
  return decoder_sublayers(
      *this, tgt, [&](const Variable& x) { return sa_block(x, self_mask, self_padding); },
      [&](const Variable& x) { return mha_block(x, memory, cross_mask, cross_padding); });
}

TransformerDecoderLayerCache TransformerDecoderLayer::init_cache(const Variable& memory) {
  check_sequence(type_name().c_str(), "memory", "S", memory, options);
  return {{}, multihead_attn->project_key_value(memory, memory)};
}

Variable TransformerDecoderLayer::forward_step(const Variable& tgt,
                                               TransformerDecoderLayerCache& cache,
                                               const Tensor& memory_key_padding_mask) {
  const std::string name = type_name();
  const auto [batch, len] = check_sequence(name.c_str(), "tgt", "1", tgt, options);
  const Variable& memory_k = cache.multihead_attn.key;
  const Variable& self_k = cache.self_attn.key;
  MINIGRAD_CHECK(len == 1 && memory_k.defined() && memory_k.size(0) == batch.value_or(1) &&
                 (!self_k.defined() || self_k.size(0) == memory_k.size(0)))
      << name << ": forward_step: tgt " << tgt.shape() << " and a cache of memory K "
      << (memory_k.defined() ? memory_k.shape().str() : "(none: call init_cache)")
      << ": expected one position, " << layout(options, "1") << ", of the cache's batch";
  check_multihead_masks({name, "memory_mask", "memory_key_padding_mask"}, Tensor(),
                        memory_key_padding_mask, batch, options.nhead(), 1, memory_k.size(2),
                        tgt.dtype());
  return decoder_sublayers(
      *this, tgt, [&](const Variable& x) { return sa_block(x, cache.self_attn); },
      [&](const Variable& x) {
        return mha_block(x, cache.multihead_attn, memory_key_padding_mask);
      });
}

Variable TransformerDecoderLayer::sa_block(const Variable& x, const Tensor& attn_mask,
                                           const Tensor& key_padding_mask) {
  return (*dropout1)(attend(*self_attn, x, x, attn_mask, key_padding_mask,
                            keep_attention_weights ? &self_attn_weights : nullptr));
}

Variable TransformerDecoderLayer::mha_block(const Variable& x, const Variable& memory,
                                            const Tensor& attn_mask,
                                            const Tensor& key_padding_mask) {
  return (*dropout2)(attend(*multihead_attn, x, memory, attn_mask, key_padding_mask,
                            keep_attention_weights ? &multihead_attn_weights : nullptr));
}

// K_0…t = [K_0…t−1 ; x·W_Kᵀ + b_K] (likewise V), and x attends to all of it: no mask,
// for every cached position is one the causal mask would let x see.
Variable TransformerDecoderLayer::sa_block(const Variable& x, ProjectedKeyValue& cache) {
  const auto fwd = MultiheadAttentionForwardOptions().need_weights(false);
  return (*dropout1)(self_attn->forward_cached(x, cache, fwd).output);
}

Variable TransformerDecoderLayer::mha_block(const Variable& x, const ProjectedKeyValue& memory,
                                            const Tensor& key_padding_mask) {
  const auto fwd =
      MultiheadAttentionForwardOptions().key_padding_mask(key_padding_mask).need_weights(false);
  return (*dropout2)(multihead_attn->forward(x, memory, fwd).output);
}

// FFN(x) = W₂·act(W₁·x + b₁) + b₂, at every position alike.
Variable TransformerDecoderLayer::ff_block(const Variable& x) {
  const Variable hidden = (*dropout)(activate((*linear1)(x), options.activation()));
  return (*dropout3)((*linear2)(hidden));
}

std::string TransformerDecoderLayer::extra_repr() const {
  return "activation=" + activation_name(options.activation()) +
         (options.norm_first() ? ", norm_first=true" : "");
}

// ---- the stacks --------------------------------------------------------------------------------

TransformerEncoder::TransformerEncoder(const TransformerEncoderOptions& opts, Generator& gen)
    : options(opts) {
  MINIGRAD_CHECK(options.num_layers() > 0)
      << "TransformerEncoder: num_layers must be positive, got " << options.num_layers();
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < options.num_layers(); ++i)
    layers->push_back(std::make_shared<TransformerEncoderLayer>(options.encoder_layer(), gen));
  norm = register_norm(*this, options.norm());
}

Variable TransformerEncoder::forward(const Variable& src,
                                     const TransformerEncoderForwardOptions& opts) {
  Variable x = src;
  for (int64_t i = 0; i < options.num_layers(); ++i)
    x = layers->at<TransformerEncoderLayer>(i)(x, opts);
  return norm ? (*norm)(x) : x;
}

TransformerDecoder::TransformerDecoder(const TransformerDecoderOptions& opts, Generator& gen)
    : options(opts) {
  MINIGRAD_CHECK(options.num_layers() > 0)
      << "TransformerDecoder: num_layers must be positive, got " << options.num_layers();
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < options.num_layers(); ++i)
    layers->push_back(std::make_shared<TransformerDecoderLayer>(options.decoder_layer(), gen));
  norm = register_norm(*this, options.norm());
}

Variable TransformerDecoder::forward(const Variable& tgt, const Variable& memory,
                                     const TransformerDecoderForwardOptions& opts) {
  Variable x = tgt;
  for (int64_t i = 0; i < options.num_layers(); ++i) {
    x = layers->at<TransformerDecoderLayer>(i)(x, memory, opts);
  }
  return norm ? (*norm)(x) : x;
}

void TransformerDecoderCache::reorder(const Tensor& index) {
  for (TransformerDecoderLayerCache& layer : layers) {
    layer.self_attn.reorder(index);
    layer.multihead_attn.reorder(index);
  }
  if (memory_key_padding_mask.defined())
    memory_key_padding_mask = index_select(memory_key_padding_mask, 0, index);
}

TransformerDecoderCache TransformerDecoder::init_cache(const Variable& memory,
                                                       const Tensor& memory_key_padding_mask) {
  TransformerDecoderCache cache{{}, memory_key_padding_mask};
  for (int64_t i = 0; i < options.num_layers(); ++i)
    cache.layers.push_back(layers->at<TransformerDecoderLayer>(i).init_cache(memory));
  return cache;
}

Variable TransformerDecoder::forward_step(const Variable& tgt, TransformerDecoderCache& cache) {
  MINIGRAD_CHECK(static_cast<int64_t>(cache.layers.size()) == options.num_layers())
      << "TransformerDecoder: forward_step: a cache of " << cache.layers.size()
      << " layers for a decoder of " << options.num_layers() << " (call init_cache)";
  Variable x = tgt;
  for (int64_t i = 0; i < options.num_layers(); ++i) {
    x = layers->at<TransformerDecoderLayer>(i).forward_step(x, cache.layers[static_cast<size_t>(i)],
                                                            cache.memory_key_padding_mask);
  }
  return norm ? (*norm)(x) : x;
}

// ---- Transformer -------------------------------------------------------------------------------

Transformer::Transformer(const TransformerOptions& opts, Generator& gen) : options(opts) {
  const TransformerLayerOptions layer = TransformerLayerOptions(options.d_model(), options.nhead())
                                            .dim_feedforward(options.dim_feedforward())
                                            .dropout(options.dropout())
                                            .activation(options.activation())
                                            .layer_norm_eps(options.layer_norm_eps())
                                            .batch_first(options.batch_first())
                                            .norm_first(options.norm_first())
                                            .dtype(options.dtype());
  check_layer_options("Transformer", layer);
  MINIGRAD_CHECK(options.num_encoder_layers() > 0 && options.num_decoder_layers() > 0)
      << "Transformer: num_encoder_layers " << options.num_encoder_layers()
      << " and num_decoder_layers " << options.num_decoder_layers() << " must be positive";
  encoder =
      register_module("encoder", std::make_shared<TransformerEncoder>(
                                     TransformerEncoderOptions(layer, options.num_encoder_layers())
                                         .norm(std::make_shared<LayerNorm>(norm_options(layer))),
                                     gen));
  decoder =
      register_module("decoder", std::make_shared<TransformerDecoder>(
                                     TransformerDecoderOptions(layer, options.num_decoder_layers())
                                         .norm(std::make_shared<LayerNorm>(norm_options(layer))),
                                     gen));
  // PyTorch's _reset_parameters: every matrix drawn again, Glorot-uniform.
  for (Variable p : parameters()) {
    if (p.dim() > 1) init::xavier_uniform_(p.mutable_data(), 1.0, gen);
  }
}

Variable Transformer::forward(const Variable& src, const Variable& tgt,
                              const TransformerForwardOptions& opts) {
  const int64_t e = options.d_model();
  const bool ranks_ok = (src.dim() == 2 || src.dim() == 3) && tgt.dim() == src.dim();
  const int batch_axis = options.batch_first() ? 0 : 1;
  MINIGRAD_CHECK(ranks_ok && src.size(-1) == e && tgt.size(-1) == e &&
                 (src.dim() == 2 || src.size(batch_axis) == tgt.size(batch_axis)))
      << "Transformer: src " << src.shape() << " and tgt " << tgt.shape() << ": expected "
      << (options.batch_first() ? "[B, S, E] and [B, T, E]" : "[S, B, E] and [T, B, E]")
      << " with the same batch B (or [S, E] and [T, E] unbatched), E = d_model = " << e;
  const Variable memory = (*encoder)(src, TransformerEncoderForwardOptions()
                                              .src_mask(opts.src_mask())
                                              .src_key_padding_mask(opts.src_key_padding_mask()));
  return (*decoder)(tgt, memory,
                    TransformerDecoderForwardOptions()
                        .tgt_mask(opts.tgt_mask())
                        .memory_mask(opts.memory_mask())
                        .tgt_key_padding_mask(opts.tgt_key_padding_mask())
                        .memory_key_padding_mask(opts.memory_key_padding_mask()));
}

Tensor Transformer::generate_square_subsequent_mask(int64_t sz, DType dtype) {
  MINIGRAD_CHECK(sz >= 0 && (dtype == DType::Float32 || dtype == DType::Float64))
      << "Transformer::generate_square_subsequent_mask: sz " << sz << " and dtype "
      << dtype_name(dtype) << ": expected sz ≥ 0 and float32 or float64";
  const Tensor zeros = Tensor::zeros({sz, sz}, dtype);
  if (sz == 0) return zeros;
  // −∞ where causal_mask is true (key j in query i's future), 0 elsewhere
  return masked_fill(zeros, causal_mask(sz), -std::numeric_limits<double>::infinity());
}

}  // namespace minigrad::nn
