/// \file
/// The Transformer of "Attention Is All You Need" (Vaswani et al. 2017), as
/// torch.nn.Transformer builds it, assembled from parts defined elsewhere:
/// MultiheadAttention (attention.h), Linear and Dropout (layers.h), LayerNorm and
/// GELU. Residual connections are plain `+`.
///
/// One encoder layer is two sublayers, each wrapped in a residual connection and a
/// LayerNorm, after the sum (post-norm, the paper's and PyTorch's default) or before
/// the sublayer (pre-norm, norm_first):
///
///     post-norm                                    pre-norm (norm_first)
///     x = LN₁(x + SelfAttention(x))                x = x + SelfAttention(LN₁(x))
///     x = LN₂(x + FFN(x))                          x = x + FFN(LN₂(x))
///
///     FFN(x) = W₂·act(W₁·x + b₁) + b₂     the position-wise feed-forward network:
///                                          the same two Linears at every position
///
/// A decoder layer adds cross-attention between the two: its queries come from the
/// target, its keys and values from the encoder's output (the "memory"):
///
///     x = LN₁(x + SelfAttention(x))        (masked: position i sees targets ≤ i)
///     x = LN₂(x + CrossAttention(x, memory))
///     x = LN₃(x + FFN(x))
///
/// Dropout sits where PyTorch puts it: on every sublayer's output before the residual
/// add (dropout1, dropout2, dropout3), between the two Linears of the FFN (dropout),
/// and on the attention weights (inside MultiheadAttention).
///
/// Shapes, with S the source length, T the target length, B the batch, E = d_model:
/// src [S, B, E] and tgt [T, B, E] ([B, S, E], [B, T, E] with batch_first; [S, E],
/// [T, E] unbatched). Masks, as MultiheadAttention's (attention.h): bool, true =
/// blocked, or float of the input's dtype, added to the scores:
///
///     src_mask    [S, S] or [B·nhead, S, S]     src_key_padding_mask    [B, S]
///     tgt_mask    [T, T] or [B·nhead, T, T]     tgt_key_padding_mask    [B, T]
///     memory_mask [T, S] or [B·nhead, T, S]     memory_key_padding_mask [B, S]
///
/// Parameter names are PyTorch's state-dict names (encoder.layers.0.self_attn.in_proj_weight,
/// encoder.layers.0.linear1.weight, decoder.layers.1.multihead_attn.out_proj.bias,
/// decoder.norm.weight, ...), so a torch.nn.Transformer's state_dict loads by name.
///
///     nn::Transformer model(nn::TransformerOptions(64, 4, 2, 2).dim_feedforward(128)
///                               .batch_first(true), gen);
///     const Tensor causal = nn::Transformer::generate_square_subsequent_mask(T);
///     Variable y = model(src, tgt, nn::TransformerForwardOptions().tgt_mask(causal));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "minigrad/nn/attention.h"
#include "minigrad/nn/container.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/options.h"

namespace minigrad::nn {

/// The activation between the two Linears of a Transformer's feed-forward block.
/// libtorch's option holds torch::kReLU, torch::kGELU or a function; minigrad holds
/// one of the two named ones.
enum class Activation {
  ReLU,  ///< max(x, 0): the paper's and PyTorch's default
  GELU,  ///< x·Φ(x), the exact form (PyTorch's activation="gelu")
};

///@{
/// libtorch's spellings torch::kReLU and torch::kGELU, in minigrad's namespace:
/// `nn::TransformerOptions(64, 4).activation(nn::kGELU)`.
inline constexpr Activation kReLU = Activation::ReLU;
inline constexpr Activation kGELU = Activation::GELU;
///@}

/// "relu" or "gelu", as PyTorch's activation strings.
std::string activation_name(Activation activation);

/// The settings of one encoder or decoder layer (libtorch's TransformerEncoderLayerOptions
/// and TransformerDecoderLayerOptions, one list), with PyTorch's defaults:
///
///     nn::TransformerEncoderLayer layer(nn::TransformerEncoderLayerOptions(512, 8)
///                                           .dim_feedforward(2048).dropout(0.1)
///                                           .activation(nn::kGELU).norm_first(true));
struct TransformerLayerOptions {
  /// \param d_model E, the width of every position
  /// \param nhead   the number of attention heads; must divide d_model
  TransformerLayerOptions(int64_t d_model, int64_t nhead) : d_model_(d_model), nhead_(nhead) {}
  /// E, the width of every position
  MINIGRAD_ARG(int64_t, d_model);
  /// the number of attention heads (each d_model / nhead wide)
  MINIGRAD_ARG(int64_t, nhead);
  /// the width of the feed-forward block's hidden layer
  MINIGRAD_ARG(int64_t, dim_feedforward) = 2048;
  /// the probability of every dropout of the layer, attention weights included
  MINIGRAD_ARG(double, dropout) = 0.1;
  /// the feed-forward block's activation
  MINIGRAD_ARG(Activation, activation) = kReLU;
  /// ε of every LayerNorm of the layer
  MINIGRAD_ARG(double, layer_norm_eps) = 1e-5;
  /// inputs and output are [B, T, E]; false (PyTorch's default): [T, B, E]
  MINIGRAD_ARG(bool, batch_first) = false;
  /// LayerNorm before each sublayer (pre-norm); false (the paper's): after the residual add
  MINIGRAD_ARG(bool, norm_first) = false;
  /// of the parameters
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};
/// libtorch's TransformerEncoderLayerOptions: the settings of every Transformer layer.
using TransformerEncoderLayerOptions = TransformerLayerOptions;
/// libtorch's TransformerDecoderLayerOptions: the settings of every Transformer layer.
using TransformerDecoderLayerOptions = TransformerLayerOptions;

/// The masks of one call of a TransformerEncoderLayer or a TransformerEncoder
/// (PyTorch passes them as keyword arguments; libtorch by position).
struct TransformerEncoderForwardOptions {
  /// [S, S] or [B·nhead, S, S]: which source position may attend to which. May be undefined.
  MINIGRAD_ARG(Tensor, src_mask);
  /// [B, S] ([S] unbatched): source positions that are padding. May be undefined.
  MINIGRAD_ARG(Tensor, src_key_padding_mask);
};

/// The masks of one call of a TransformerDecoderLayer or a TransformerDecoder.
struct TransformerDecoderForwardOptions {
  /// [T, T] or [B·nhead, T, T]: which target position may attend to which, e.g.
  /// Transformer::generate_square_subsequent_mask(T). May be undefined.
  MINIGRAD_ARG(Tensor, tgt_mask);
  /// [T, S] or [B·nhead, T, S]: which memory position each target position may attend
  /// to. May be undefined.
  MINIGRAD_ARG(Tensor, memory_mask);
  /// [B, T] ([T] unbatched): target positions that are padding. May be undefined.
  MINIGRAD_ARG(Tensor, tgt_key_padding_mask);
  /// [B, S] ([S] unbatched): memory positions that are padding. May be undefined.
  MINIGRAD_ARG(Tensor, memory_key_padding_mask);
};

/// Self-attention and a feed-forward block, each with a residual connection and a
/// LayerNorm (see the top of transformer.h for the equations):
///
///     post-norm: x = norm1(x + sa_block(x));  x = norm2(x + ff_block(x))
///     pre-norm:  x = x + sa_block(norm1(x));  x = x + ff_block(norm2(x))
///
/// Parameters, by PyTorch's names: self_attn.{in_proj_weight, in_proj_bias,
/// out_proj.weight, out_proj.bias}, linear1.{weight, bias} (d_model → dim_feedforward),
/// linear2.{weight, bias} (back), norm1.{weight, bias}, norm2.{weight, bias}. Init,
/// PyTorch's: MultiheadAttention's and Linear's own, LayerNorm weight 1 and bias 0.
///
///     nn::TransformerEncoderLayer layer(nn::TransformerEncoderLayerOptions(8, 2), gen);
///     Variable y = layer(x, nn::TransformerEncoderForwardOptions().src_key_padding_mask(pad));
class TransformerEncoderLayer : public Module {
 public:
  /// TransformerEncoderLayerOptions(d_model, nhead): libtorch's short form.
  TransformerEncoderLayer(int64_t d_model, int64_t nhead)
      : TransformerEncoderLayer(TransformerEncoderLayerOptions(d_model, nhead)) {}
  /// \param opts the settings (d_model, nhead, dim_feedforward, dropout, ...)
  /// \param gen  draws the initial weights (self_attn, linear1, linear2, in that order)
  ///             and seeds the dropouts
  /// \throws std::invalid_argument unless d_model, nhead and dim_feedforward are
  ///         positive, nhead divides d_model and 0 ≤ dropout < 1
  explicit TransformerEncoderLayer(const TransformerEncoderLayerOptions& opts,
                                   Generator& gen = default_generator());
  /// \param src  [S, B, E] ([B, S, E] with batch_first; [S, E] unbatched)
  /// \param opts src_mask and src_key_padding_mask
  /// \return the same shape as src
  /// \throws std::invalid_argument naming the shapes when src or a mask does not fit
  Variable forward(const Variable& src, const TransformerEncoderForwardOptions& opts);
  /// forward(src) without masks: an encoder layer fits in a Sequential.
  Variable forward(const Variable& src) override { return forward(src, {}); }
  using Module::operator();
  /// forward(src, opts)
  Variable operator()(const Variable& src, const TransformerEncoderForwardOptions& opts) {
    return forward(src, opts);
  }

  /// The self-attention block: dropout1(SelfAttention(x)), queries, keys and values
  /// all x. PyTorch's _sa_block.
  /// \param x                the (normalised, with norm_first) input of the sublayer
  /// \param attn_mask        src_mask; may be undefined
  /// \param key_padding_mask src_key_padding_mask; may be undefined
  Variable sa_block(const Variable& x, const Tensor& attn_mask, const Tensor& key_padding_mask);
  /// The position-wise feed-forward block, the same at every position:
  /// dropout2(linear2(dropout(act(linear1(x))))) = W₂·act(W₁·x + b₁) + b₂. PyTorch's _ff_block.
  /// \param x the (normalised, with norm_first) input of the sublayer, [..., d_model]
  Variable ff_block(const Variable& x);

  std::string type_name() const override { return "TransformerEncoderLayer"; }
  /// "activation=relu", then ", norm_first=true" for a pre-norm layer
  std::string extra_repr() const override;

  TransformerEncoderLayerOptions options;         ///< the settings it was built with
  std::shared_ptr<MultiheadAttention> self_attn;  ///< nhead heads, d_model wide
  std::shared_ptr<Linear> linear1;                ///< W₁, b₁: d_model → dim_feedforward
  std::shared_ptr<Dropout> dropout;               ///< inside the feed-forward block
  std::shared_ptr<Linear> linear2;                ///< W₂, b₂: dim_feedforward → d_model
  std::shared_ptr<LayerNorm> norm1;               ///< around the self-attention block
  std::shared_ptr<LayerNorm> norm2;               ///< around the feed-forward block
  std::shared_ptr<Dropout> dropout1;              ///< on the self-attention block's output
  std::shared_ptr<Dropout> dropout2;              ///< on the feed-forward block's output

  /// Keep every head's attention weights of the last forward in self_attn_weights,
  /// for pictures (the Annotated Transformer keeps them as `attn`). Off by default: a
  /// layer then asks its attention for no weights at all (need_weights=False), as PyTorch's.
  bool keep_attention_weights = false;
  /// With keep_attention_weights, self_attn's weights of the last forward, per head:
  /// [B, nhead, S, S] ([nhead, S, S] unbatched), without their graph. Undefined until then.
  Tensor self_attn_weights;
};

/// What one decoder layer keeps between the steps of incremental decoding: its
/// key/value cache. At step t the layer sees one new target position x_t:
///
///     self_attn       K, V of positions 0 … t: x_t's own are appended, and x_t attends
///                     to all of them, which are the keys the causal mask lets position
///                     t see in a full forward
///     multihead_attn  K, V of the memory, projected once, when decoding starts
///
/// The rest of the layer (LayerNorms, feed-forward block, residual adds) works on
/// each position alone, so the layer run on x_t alone gives position t of the full
/// forward: one position per layer per step instead of t + 1.
struct TransformerDecoderLayerCache {
  ProjectedKeyValue self_attn;       ///< [B, h, t, d_h]; undefined before the first step
  ProjectedKeyValue multihead_attn;  ///< [B, h, S, d_h]
};

/// Self-attention over the target, cross-attention to the memory (the encoder's
/// output) and a feed-forward block, each with a residual connection and a LayerNorm:
///
///     post-norm: x = norm1(x + sa_block(x));  x = norm2(x + mha_block(x, memory));
///                x = norm3(x + ff_block(x))
///     pre-norm:  x = x + sa_block(norm1(x));  x = x + mha_block(norm2(x), memory);
///                x = x + ff_block(norm3(x))
///
/// Parameters, by PyTorch's names: self_attn.*, multihead_attn.* (MultiheadAttention's
/// in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias), linear1.*, linear2.*,
/// norm1.*, norm2.*, norm3.* (weight and bias each).
///
///     nn::TransformerDecoderLayer layer(nn::TransformerDecoderLayerOptions(8, 2), gen);
///     Variable y = layer(tgt, memory, nn::TransformerDecoderForwardOptions().tgt_mask(causal));
class TransformerDecoderLayer : public Module {
 public:
  /// TransformerDecoderLayerOptions(d_model, nhead): libtorch's short form.
  TransformerDecoderLayer(int64_t d_model, int64_t nhead)
      : TransformerDecoderLayer(TransformerDecoderLayerOptions(d_model, nhead)) {}
  /// \param opts the settings (d_model, nhead, dim_feedforward, dropout, ...)
  /// \param gen  draws the initial weights (self_attn, multihead_attn, linear1,
  ///             linear2, in that order) and seeds the dropouts
  /// \throws std::invalid_argument unless d_model, nhead and dim_feedforward are
  ///         positive, nhead divides d_model and 0 ≤ dropout < 1
  explicit TransformerDecoderLayer(const TransformerDecoderLayerOptions& opts,
                                   Generator& gen = default_generator());
  /// \param tgt    [T, B, E] ([B, T, E] with batch_first; [T, E] unbatched)
  /// \param memory [S, B, E] (likewise): what the encoder made of the source
  /// \param opts   tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask
  /// \return the same shape as tgt
  /// \throws std::invalid_argument naming the shapes when tgt, memory or a mask does not fit
  Variable forward(const Variable& tgt, const Variable& memory,
                   const TransformerDecoderForwardOptions& opts = {});
  /// forward(tgt, memory, opts)
  Variable operator()(const Variable& tgt, const Variable& memory,
                      const TransformerDecoderForwardOptions& opts = {}) {
    return forward(tgt, memory, opts);
  }

  /// The self-attention block: dropout1(SelfAttention(x)). PyTorch's _sa_block.
  /// \param x                the (normalised, with norm_first) input of the sublayer
  /// \param attn_mask        tgt_mask; may be undefined
  /// \param key_padding_mask tgt_key_padding_mask; may be undefined
  Variable sa_block(const Variable& x, const Tensor& attn_mask, const Tensor& key_padding_mask);
  /// sa_block for one new position, with the key/value cache: x's K and V are
  /// appended to `cache` (along S), and x attends to every position in it.
  /// \param x     one position, [1, B, E] ([B, 1, E] with batch_first; [1, E] unbatched)
  /// \param cache K and V of the positions before x (undefined before the first)
  Variable sa_block(const Variable& x, ProjectedKeyValue& cache);
  /// The cross-attention block: dropout2(Attention(x, memory, memory)), queries from
  /// the target, keys and values from the memory. PyTorch's _mha_block.
  /// \param x                the (normalised, with norm_first) input of the sublayer
  /// \param memory           the encoder's output
  /// \param attn_mask        memory_mask; may be undefined
  /// \param key_padding_mask memory_key_padding_mask; may be undefined
  Variable mha_block(const Variable& x, const Variable& memory, const Tensor& attn_mask,
                     const Tensor& key_padding_mask);
  /// mha_block with the memory's K and V projected already (init_cache).
  /// \param x                the (normalised, with norm_first) input of the sublayer
  /// \param memory           K and V of the memory, [B, h, S, d_h]
  /// \param key_padding_mask memory_key_padding_mask; may be undefined
  Variable mha_block(const Variable& x, const ProjectedKeyValue& memory,
                     const Tensor& key_padding_mask);
  /// The position-wise feed-forward block, the same at every position:
  /// dropout3(linear2(dropout(act(linear1(x))))) = W₂·act(W₁·x + b₁) + b₂. PyTorch's _ff_block.
  /// \param x the (normalised, with norm_first) input of the sublayer, [..., d_model]
  Variable ff_block(const Variable& x);

  /// The cache for decoding against `memory`: the cross-attention's K and V of it,
  /// and no target position yet.
  /// \param memory [S, B, E] ([B, S, E] with batch_first; [S, E] unbatched)
  /// \throws std::invalid_argument naming the shape when memory does not fit
  TransformerDecoderLayerCache init_cache(const Variable& memory);
  /// One step of incremental decoding: the layer on the next target position alone,
  /// reading and extending `cache`. In eval mode the result is position t of
  /// forward(tgt_0 … tgt_t, memory) with the causal tgt_mask, up to rounding.
  /// \param tgt   position t, [1, B, E] ([B, 1, E] with batch_first; [1, E] unbatched)
  /// \param cache init_cache(memory), after the steps of positions 0 … t − 1
  /// \param memory_key_padding_mask [B, S] ([S] unbatched); may be undefined
  /// \return the same shape as tgt
  /// \throws std::invalid_argument naming the shapes when tgt, the cache or the mask do not fit
  Variable forward_step(const Variable& tgt, TransformerDecoderLayerCache& cache,
                        const Tensor& memory_key_padding_mask = {});

  std::string type_name() const override { return "TransformerDecoderLayer"; }
  /// "activation=relu", then ", norm_first=true" for a pre-norm layer
  std::string extra_repr() const override;

  TransformerDecoderLayerOptions options;              ///< the settings it was built with
  std::shared_ptr<MultiheadAttention> self_attn;       ///< over the target
  std::shared_ptr<MultiheadAttention> multihead_attn;  ///< target queries, memory keys and values
  std::shared_ptr<Linear> linear1;                     ///< W₁, b₁: d_model → dim_feedforward
  std::shared_ptr<Dropout> dropout;                    ///< inside the feed-forward block
  std::shared_ptr<Linear> linear2;                     ///< W₂, b₂: dim_feedforward → d_model
  std::shared_ptr<LayerNorm> norm1;                    ///< around the self-attention block
  std::shared_ptr<LayerNorm> norm2;                    ///< around the cross-attention block
  std::shared_ptr<LayerNorm> norm3;                    ///< around the feed-forward block
  std::shared_ptr<Dropout> dropout1;                   ///< on the self-attention block's output
  std::shared_ptr<Dropout> dropout2;                   ///< on the cross-attention block's output
  std::shared_ptr<Dropout> dropout3;                   ///< on the feed-forward block's output

  /// Keep every head's attention weights of the last forward in self_attn_weights and
  /// multihead_attn_weights, for pictures (the Annotated Transformer keeps them as
  /// `attn`); forward_step, one position against the cache, keeps none. Off by
  /// default: a layer then asks its attentions for no weights at all
  /// (need_weights=False), as PyTorch's.
  bool keep_attention_weights = false;
  /// With keep_attention_weights, self_attn's weights of the last forward, per head:
  /// [B, nhead, T, T] ([nhead, T, T] unbatched), without their graph; zero above the
  /// diagonal under a causal tgt_mask. Undefined until then.
  Tensor self_attn_weights;
  /// With keep_attention_weights, multihead_attn's weights of the last forward (each
  /// target position over the memory), per head: [B, nhead, T, S] ([nhead, T, S]
  /// unbatched), without their graph. Undefined until then.
  Tensor multihead_attn_weights;
};

/// The settings of a TransformerEncoder (libtorch's TransformerEncoderOptions): the
/// settings of its layers, how many, and an optional module applied to the output.
struct TransformerEncoderOptions {
  /// \param encoder_layer the settings of every layer
  /// \param num_layers    how many layers
  TransformerEncoderOptions(const TransformerEncoderLayerOptions& encoder_layer, int64_t num_layers)
      : encoder_layer_(encoder_layer), num_layers_(num_layers) {}
  /// the settings of every layer
  MINIGRAD_ARG(TransformerEncoderLayerOptions, encoder_layer);
  /// how many layers
  MINIGRAD_ARG(int64_t, num_layers);
  /// Applied to the last layer's output, registered as "norm" (nn::Transformer gives a
  /// LayerNorm, which a pre-norm stack needs: its last layer's output is not
  /// normalised). Held, not copied. Null: none.
  MINIGRAD_ARG(std::shared_ptr<Module>, norm);
};

/// num_layers encoder layers, each one's output the next one's input, then `norm`
/// (if any). Parameters: layers.0.self_attn.in_proj_weight, ..., norm.weight, norm.bias.
///
///     nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(
///         nn::TransformerEncoderLayerOptions(64, 4).batch_first(true), 3), gen);
///     auto pad = nn::TransformerEncoderForwardOptions().src_key_padding_mask(lengths_mask);
///     Variable memory = encoder(src, pad);
class TransformerEncoder : public Module {
 public:
  /// \param opts the layers' settings, their number and the final norm
  /// \param gen  draws each layer's initial weights, layer 0 first
  /// \throws std::invalid_argument unless num_layers is positive (and the layers'
  ///         settings are valid)
  explicit TransformerEncoder(const TransformerEncoderOptions& opts,
                              Generator& gen = default_generator());
  /// \param src  [S, B, E] ([B, S, E] with batch_first; [S, E] unbatched)
  /// \param opts src_mask and src_key_padding_mask, given to every layer
  /// \return the same shape as src
  Variable forward(const Variable& src, const TransformerEncoderForwardOptions& opts);
  /// forward(src) without masks.
  Variable forward(const Variable& src) override { return forward(src, {}); }
  using Module::operator();
  /// forward(src, opts)
  Variable operator()(const Variable& src, const TransformerEncoderForwardOptions& opts) {
    return forward(src, opts);
  }
  std::string type_name() const override { return "TransformerEncoder"; }

  TransformerEncoderOptions options;   ///< the settings it was built with
  std::shared_ptr<ModuleList> layers;  ///< the TransformerEncoderLayers, in order
  std::shared_ptr<Module> norm;        ///< applied last; null when options.norm() is
};

/// The settings of a TransformerDecoder (libtorch's TransformerDecoderOptions).
struct TransformerDecoderOptions {
  /// \param decoder_layer the settings of every layer
  /// \param num_layers    how many layers
  TransformerDecoderOptions(const TransformerDecoderLayerOptions& decoder_layer, int64_t num_layers)
      : decoder_layer_(decoder_layer), num_layers_(num_layers) {}
  /// the settings of every layer
  MINIGRAD_ARG(TransformerDecoderLayerOptions, decoder_layer);
  /// how many layers
  MINIGRAD_ARG(int64_t, num_layers);
  /// Applied to the last layer's output, registered as "norm". Held, not copied. Null: none.
  MINIGRAD_ARG(std::shared_ptr<Module>, norm);
};

/// What a TransformerDecoder keeps between the steps of incremental decoding: each
/// layer's key/value cache and the memory's padding mask. TransformerDecoder::init_cache
/// makes one; each forward_step adds a position to it.
struct TransformerDecoderCache {
  std::vector<TransformerDecoderLayerCache> layers;  ///< layers[i]: layer i's
  Tensor memory_key_padding_mask;  ///< [B, S] ([S] unbatched); undefined: no padding
  /// Keeps the batch rows `index` of everything cached, in that order (a row may
  /// repeat or go): what beam search asks of a decoder's state.
  /// \param index int64 [B'], each in [0, B)
  void reorder(const Tensor& index);
};

/// num_layers decoder layers, each reading the same memory, then `norm` (if any).
/// Parameters: layers.0.self_attn.in_proj_weight, layers.0.multihead_attn..., norm.weight, ...
class TransformerDecoder : public Module {
 public:
  /// \param opts the layers' settings, their number and the final norm
  /// \param gen  draws each layer's initial weights, layer 0 first
  /// \throws std::invalid_argument unless num_layers is positive (and the layers'
  ///         settings are valid)
  explicit TransformerDecoder(const TransformerDecoderOptions& opts,
                              Generator& gen = default_generator());
  /// \param tgt    [T, B, E] ([B, T, E] with batch_first; [T, E] unbatched)
  /// \param memory [S, B, E] (likewise)
  /// \param opts   the four masks, given to every layer
  /// \return the same shape as tgt
  Variable forward(const Variable& tgt, const Variable& memory,
                   const TransformerDecoderForwardOptions& opts = {});
  /// forward(tgt, memory, opts)
  Variable operator()(const Variable& tgt, const Variable& memory,
                      const TransformerDecoderForwardOptions& opts = {}) {
    return forward(tgt, memory, opts);
  }
  /// The cache for decoding against `memory`: every layer's cross-attention K and V,
  /// projected once.
  /// \param memory [S, B, E] ([B, S, E] with batch_first; [S, E] unbatched)
  /// \param memory_key_padding_mask [B, S] ([S] unbatched); may be undefined
  TransformerDecoderCache init_cache(const Variable& memory,
                                     const Tensor& memory_key_padding_mask = {});
  /// One step of incremental decoding: every layer's forward_step on the next target
  /// position, then `norm`. In eval mode, position t of forward(tgt_0 … tgt_t,
  /// memory) with the causal tgt_mask, up to rounding.
  /// \param tgt   position t, [1, B, E] ([B, 1, E] with batch_first; [1, E] unbatched)
  /// \param cache init_cache(memory, …) after the steps of positions 0 … t − 1
  /// \return the same shape as tgt
  Variable forward_step(const Variable& tgt, TransformerDecoderCache& cache);
  std::string type_name() const override { return "TransformerDecoder"; }

  TransformerDecoderOptions options;   ///< the settings it was built with
  std::shared_ptr<ModuleList> layers;  ///< the TransformerDecoderLayers, in order
  std::shared_ptr<Module> norm;        ///< applied last; null when options.norm() is
};

/// The settings of a Transformer (libtorch's TransformerOptions), PyTorch's defaults:
/// the base model of the paper. libtorch's custom_encoder and custom_decoder are not
/// supported; layer_norm_eps, batch_first and norm_first are PyTorch's (libtorch lacks them).
struct TransformerOptions {
  /// d_model 512, nhead 8: the paper's base model.
  TransformerOptions() = default;
  /// \param d_model E, the width of every position
  /// \param nhead   the number of attention heads; must divide d_model
  TransformerOptions(int64_t d_model, int64_t nhead) : d_model_(d_model), nhead_(nhead) {}
  /// \param d_model            E
  /// \param nhead              the number of attention heads
  /// \param num_encoder_layers how many encoder layers
  /// \param num_decoder_layers how many decoder layers
  TransformerOptions(int64_t d_model, int64_t nhead, int64_t num_encoder_layers,
                     int64_t num_decoder_layers)
      : d_model_(d_model),
        nhead_(nhead),
        num_encoder_layers_(num_encoder_layers),
        num_decoder_layers_(num_decoder_layers) {}
  /// E, the width of every position
  MINIGRAD_ARG(int64_t, d_model) = 512;
  /// the number of attention heads
  MINIGRAD_ARG(int64_t, nhead) = 8;
  /// how many encoder layers
  MINIGRAD_ARG(int64_t, num_encoder_layers) = 6;
  /// how many decoder layers
  MINIGRAD_ARG(int64_t, num_decoder_layers) = 6;
  /// the width of every feed-forward block's hidden layer
  MINIGRAD_ARG(int64_t, dim_feedforward) = 2048;
  /// the probability of every dropout, attention weights included
  MINIGRAD_ARG(double, dropout) = 0.1;
  /// the feed-forward blocks' activation
  MINIGRAD_ARG(Activation, activation) = kReLU;
  /// ε of every LayerNorm
  MINIGRAD_ARG(double, layer_norm_eps) = 1e-5;
  /// inputs and output are [B, T, E]; false (PyTorch's default): [T, B, E]
  MINIGRAD_ARG(bool, batch_first) = false;
  /// pre-norm layers; false (the paper's): post-norm
  MINIGRAD_ARG(bool, norm_first) = false;
  /// of the parameters
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

/// The settings of one call of a Transformer: PyTorch's six masks.
struct TransformerForwardOptions {
  /// [S, S] or [B·nhead, S, S], for the encoder's self-attention. May be undefined.
  MINIGRAD_ARG(Tensor, src_mask);
  /// [T, T] or [B·nhead, T, T], for the decoder's self-attention, e.g.
  /// generate_square_subsequent_mask(T). May be undefined.
  MINIGRAD_ARG(Tensor, tgt_mask);
  /// [T, S] or [B·nhead, T, S], for the decoder's cross-attention. May be undefined.
  MINIGRAD_ARG(Tensor, memory_mask);
  /// [B, S] ([S] unbatched): source positions that are padding. May be undefined.
  MINIGRAD_ARG(Tensor, src_key_padding_mask);
  /// [B, T] ([T] unbatched): target positions that are padding. May be undefined.
  MINIGRAD_ARG(Tensor, tgt_key_padding_mask);
  /// [B, S] ([S] unbatched): memory positions that are padding, for the cross-attention;
  /// usually src_key_padding_mask again. May be undefined.
  MINIGRAD_ARG(Tensor, memory_key_padding_mask);
};

/// The encoder-decoder Transformer: memory = encoder(src), output = decoder(tgt, memory).
/// Each stack ends in a LayerNorm (encoder.norm, decoder.norm), as in torch.nn.Transformer.
///
/// Init, PyTorch's: after every part has its own init, every parameter with two or
/// more axes (the attention and feed-forward weights) is drawn again by
/// xavier_uniform_, in named_parameters() order; biases and LayerNorms keep theirs.
///
///     nn::Transformer model(nn::TransformerOptions(64, 4).dim_feedforward(128), gen);
///     const Tensor causal = nn::Transformer::generate_square_subsequent_mask(T);
///     Variable y = model(src, tgt, nn::TransformerForwardOptions().tgt_mask(causal)
///                                      .src_key_padding_mask(pad).memory_key_padding_mask(pad));
class Transformer : public Module {
 public:
  /// \param opts the settings (d_model, nhead, layer counts, ...); default: the paper's base model
  /// \param gen  draws the initial weights: the encoder's layers, the decoder's, then
  ///             the xavier_uniform_ draws
  /// \throws std::invalid_argument unless the sizes are positive, nhead divides
  ///         d_model and 0 ≤ dropout < 1
  explicit Transformer(const TransformerOptions& opts = {}, Generator& gen = default_generator());
  /// \param src  [S, B, E] ([B, S, E] with batch_first; [S, E] unbatched)
  /// \param tgt  [T, B, E] (likewise, with the same batch)
  /// \param opts the six masks
  /// \return [T, B, E] ([B, T, E] with batch_first; [T, E] unbatched)
  /// \throws std::invalid_argument naming the shapes when src and tgt differ in rank or
  ///         batch, are not d_model wide, or a mask does not fit
  Variable forward(const Variable& src, const Variable& tgt,
                   const TransformerForwardOptions& opts = {});
  /// forward(src, tgt, opts)
  Variable operator()(const Variable& src, const Variable& tgt,
                      const TransformerForwardOptions& opts = {}) {
    return forward(src, tgt, opts);
  }

  /// [sz, sz], −∞ above the diagonal and 0 elsewhere: position i may attend to
  /// positions j ≤ i only. A float mask, added to the scores, as PyTorch's; pass
  /// the model's dtype for a float64 model. (causal_mask(sz) in attention.h is the
  /// same as a bool mask.)
  /// \param sz    the number of positions
  /// \param dtype Float32 (PyTorch's) or Float64
  /// \throws std::invalid_argument if sz is negative or dtype is not a float type
  static Tensor generate_square_subsequent_mask(int64_t sz, DType dtype = DType::Float32);

  std::string type_name() const override { return "Transformer"; }

  TransformerOptions options;                   ///< the settings it was built with
  std::shared_ptr<TransformerEncoder> encoder;  ///< with a final LayerNorm, encoder.norm
  std::shared_ptr<TransformerDecoder> decoder;  ///< with a final LayerNorm, decoder.norm
};

}  // namespace minigrad::nn
