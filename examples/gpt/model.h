// The model of examples/gpt: a decoder-only Transformer that predicts the next
// character, as nanoGPT's model.py (Karpathy), whose parameter names it keeps so a
// nanoGPT state dict loads by name. With B the batch, T ≤ block_size the positions,
// C = n_embd, V = vocab_size:
//
//   idx                                    [B, T]      token ids
//   x = drop(wte[idx] + wpe[0:T])          [B, T, C]   token and learned position vectors
//   for each of the n_layer blocks h.i:                pre-norm, residual adds
//     x = x + attn(ln_1(x), causal mask)   [B, T, C]   position t sees positions 0 … t
//     x = x + mlp(ln_2(x))                 [B, T, C]   c_proj(gelu(c_fc(x))), 4C inside
//   logits = ln_f(x) · wteᵀ                [B, T, V]   the output layer is the embedding
//                                                      table (weight tying: no lm_head)
//
// Training scores every position at once: logits[:, t] against idx's next token
// (next_token_loss). Decoding (GPTDecoding) feeds tokens one at a time and keeps
// each block's keys and values (a key/value cache), so a step costs one position
// per block instead of the whole prefix.
//
// Init, nanoGPT's: every Linear and Embedding weight N(0, 0.02), biases 0, LayerNorm
// weight 1 and bias 0, and the projections that end a residual branch (attn.out_proj
// and mlp.c_proj) N(0, 0.02/√(2·n_layer)): each block adds two branches to x, so the
// 2·n_layer additions together have the variance of one (GPT-2's scaled init).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "minigrad/nn/attention.h"
#include "minigrad/nn/container.h"
#include "minigrad/nn/decode.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/options.h"

namespace minigrad::examples {

/// The sizes of a GPT, as nanoGPT's GPTConfig; the defaults are its CPU "baby"
/// model of shakespeare_char (block 64, 4 layers, 4 heads, width 128, no dropout).
struct GPTOptions {
  /// \param vocab_size V, the number of distinct tokens
  explicit GPTOptions(int64_t vocab_size) : vocab_size_(vocab_size) {}
  /// V, the number of distinct tokens
  MINIGRAD_ARG(int64_t, vocab_size);
  /// the most positions a forward sees (wpe has this many rows)
  MINIGRAD_ARG(int64_t, block_size) = 64;
  /// the number of blocks
  MINIGRAD_ARG(int64_t, n_layer) = 4;
  /// attention heads per block; must divide n_embd
  MINIGRAD_ARG(int64_t, n_head) = 4;
  /// C, the width of every position's vector
  MINIGRAD_ARG(int64_t, n_embd) = 128;
  /// after the embeddings, on the attention weights, and at the end of each residual branch
  MINIGRAD_ARG(double, dropout) = 0.0;
  /// whether the Linears, the attention and the LayerNorms have biases
  MINIGRAD_ARG(bool, bias) = true;
  /// of the parameters
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

/// The feed-forward branch of a block, the same at every position:
///
///     mlp(x) = dropout(c_proj(gelu(c_fc(x))))      x [B, T, C] → [B, T, 4C] → [B, T, C]
///
/// GELU exact (x·Φ(x)), as nanoGPT's nn.GELU().
class GPTMLP : public nn::Module {
 public:
  /// \param options the sizes (n_embd, bias, dropout, dtype)
  /// \param gen     draws the initial weights and seeds the dropout
  explicit GPTMLP(const GPTOptions& options, Generator& gen = default_generator());
  /// x [..., C] → [..., C]
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "GPTMLP"; }

  std::shared_ptr<nn::Linear> c_fc;      ///< C → 4C
  std::shared_ptr<nn::GELU> gelu;        ///< exact
  std::shared_ptr<nn::Linear> c_proj;    ///< 4C → C, ends the residual branch
  std::shared_ptr<nn::Dropout> dropout;  ///< on the branch's output
};

/// One Transformer block, pre-norm, as nanoGPT's Block:
///
///     x = x + resid_dropout(attn(ln_1(x)))       causal self-attention
///     x = x + mlp(ln_2(x))
///
/// attn is an nn::MultiheadAttention with the in-projection packed. nanoGPT's
/// CausalSelfAttention holds the same numbers under other names:
///
///     attn.c_attn.weight [3C, C]  = attn.in_proj_weight   (W_Q, W_K, W_V stacked)
///     attn.c_attn.bias   [3C]     = attn.in_proj_bias
///     attn.c_proj.weight [C, C]   = attn.out_proj.weight
///     attn.c_proj.bias   [C]      = attn.out_proj.bias
///
/// Both split Q, K and V into heads alike (head i: columns i·C/h … (i+1)·C/h), so the
/// copy is the whole map; nanoGPT's attn_dropout is the MultiheadAttention's dropout
/// and its resid_dropout is resid_dropout here.
class GPTBlock : public nn::Module {
 public:
  /// \param options the sizes (n_embd, n_head, bias, dropout, dtype)
  /// \param gen     draws the initial weights and seeds the dropouts
  explicit GPTBlock(const GPTOptions& options, Generator& gen = default_generator());
  /// x [B, T, C] → [B, T, C], position t attending to positions 0 … t
  Variable forward(const Variable& x) override;
  /// The block on the next T positions of a sequence whose first P are in `cache`
  /// (their keys and values): x's are appended, and x attends to all P + T with
  /// causal_mask(T, P). In eval mode the result is positions P … P + T − 1 of
  /// forward over all P + T positions, up to rounding.
  /// \param x     [B, T, C]
  /// \param cache this block's keys and values, [B, n_head, P, C/n_head] (empty at first)
  Variable forward(const Variable& x, nn::ProjectedKeyValue& cache);
  using Module::operator();
  std::string type_name() const override { return "GPTBlock"; }

  std::shared_ptr<nn::LayerNorm> ln_1;           ///< before the attention
  std::shared_ptr<nn::MultiheadAttention> attn;  ///< batch first, causal
  std::shared_ptr<nn::Dropout> resid_dropout;    ///< on the attention branch's output
  std::shared_ptr<nn::LayerNorm> ln_2;           ///< before the MLP
  std::shared_ptr<GPTMLP> mlp;                   ///< the feed-forward branch

  /// Keep every head's attention weights of the last forward in attn_weights, for
  /// heatmaps. Off by default: the attention then computes no weights to return.
  bool keep_attention_weights = false;
  /// With keep_attention_weights: the last forward's, [B, n_head, T, S], no graph.
  Tensor attn_weights;

 private:
  // x + resid_dropout(attn(ln_1(x))), then + mlp(ln_2(·)); the attention over x alone
  // (cache null) or over the cached positions and x's
  Variable residuals(const Variable& x, nn::ProjectedKeyValue* cache);
};

/// What a GPT keeps between the steps of incremental decoding: each block's keys and
/// values of the positions fed so far.
struct GPTCache {
  std::vector<nn::ProjectedKeyValue> layers;  ///< one per block; empty before the first forward
  /// P, the positions held (0 when empty)
  int64_t length() const { return layers.empty() ? 0 : layers.front().length(); }
  /// Keeps the batch rows `index` of every block's keys and values, in that order.
  /// \param index int64 [N'], each in [0, B)
  void reorder(const Tensor& index) {
    for (nn::ProjectedKeyValue& kv : layers) kv.reorder(index);
  }
};

/// nanoGPT's GPT (see the top of this file). Parameters, by nanoGPT's state-dict
/// names: transformer.wte.weight [V, C], transformer.wpe.weight [block_size, C],
/// transformer.h.{i}.ln_1.*, .attn.* (see GPTBlock), .ln_2.*, .mlp.c_fc.*,
/// .mlp.c_proj.*, transformer.ln_f.*; nanoGPT's lm_head.weight is transformer.wte.weight.
///
///     GPT model(GPTOptions(vocab.size()), gen);
///     Variable logits = model(idx);                       // [B, T, V]
///     Variable loss = next_token_loss(logits, targets);   // targets = idx shifted by one
class GPT : public nn::Module {
 public:
  /// \param options the sizes
  /// \param gen     draws the initial weights (nanoGPT's init, in named_parameters()
  ///                order) after seeding the dropouts
  /// \throws std::invalid_argument naming the setting unless every size is positive,
  ///         n_head divides n_embd and 0 ≤ dropout < 1
  explicit GPT(const GPTOptions& options, Generator& gen = default_generator());

  /// idx int64 [B, T], 1 ≤ T ≤ block_size → logits [B, T, V]: at position t, the
  /// scores of the token after idx[:, t], seeing idx[:, 0 … t] only.
  /// \throws std::invalid_argument naming the shapes when idx is not int64 [B, T] with
  ///         1 ≤ T ≤ block_size, std::out_of_range for an id outside [0, V)
  Variable forward(const Tensor& idx);
  /// forward(idx.data()): ids carry no gradient.
  Variable forward(const Variable& idx) override { return forward(idx.data()); }
  /// The next T positions of sequences whose first P are in `cache`: idx [B, T] at
  /// positions P … P + T − 1, each block's keys and values appended to the cache.
  /// In eval mode the logits are positions P … P + T − 1 of forward over all P + T
  /// tokens, up to rounding.
  /// \return logits [B, T, V]
  /// \throws std::invalid_argument naming the shapes when idx is not int64 [B, T],
  ///         P + T > block_size or the cache holds another batch
  Variable forward(const Tensor& idx, GPTCache& cache);
  using Module::operator();
  /// forward(idx)
  Variable operator()(const Tensor& idx) { return forward(idx); }

  /// Every head's attention weights when the model reads idx, block by block: [B,
  /// n_head, T, T] each (row t: how position t spreads its attention over 0 … t),
  /// in eval mode and without a graph.
  std::vector<Tensor> attention(const Tensor& idx);

  /// Block i of transformer.h.
  GPTBlock& block(int64_t i) const { return h->at<GPTBlock>(i); }

  std::string type_name() const override { return "GPT"; }

  GPTOptions options;                           ///< the sizes it was built with
  std::shared_ptr<nn::ModuleDict> transformer;  ///< wte, wpe, drop, h, ln_f (nanoGPT's ModuleDict)
  std::shared_ptr<nn::Embedding> wte;           ///< token vectors, and the output layer [V, C]
  std::shared_ptr<nn::Embedding> wpe;           ///< position vectors [block_size, C]
  std::shared_ptr<nn::Dropout> drop;            ///< on wte[idx] + wpe
  std::shared_ptr<nn::ModuleList> h;            ///< the n_layer GPTBlocks
  std::shared_ptr<nn::LayerNorm> ln_f;          ///< before the output layer

 private:
  // idx [B, T] at positions past … past + T − 1 → logits [B, T, V]; cache null: no cache
  Variable run(const Tensor& idx, GPTCache* cache);
};

/// The mean cross-entropy of every position's next token, as nanoGPT's forward:
///
///     loss = −(1/N) Σ_{b,t} log softmax(logits[b, t])[targets[b, t]]   over [B·T, V]
///
/// Targets of −1 are left out of the sum and of N (nanoGPT's ignore_index=-1).
/// \param logits  [B, T, V]
/// \param targets int64 [B, T]
/// \throws std::invalid_argument naming the shapes when they do not fit
Variable next_token_loss(const Variable& logits, const Tensor& targets);

/// The settings of a GPTDecoding.
struct GPTDecodingOptions {
  /// keep each block's keys and values and run the model on the new position alone;
  /// false: run it on the whole context at every step
  MINIGRAD_ARG(bool, use_cache) = true;
  /// When the context would exceed block_size, keep only its last crop_to tokens;
  /// 0 means block_size, which is nanoGPT's generate (idx[:, -block_size:]). Learned
  /// positions move with the crop (the kept tokens become positions 0 … crop_to − 1),
  /// so every cached key and value is stale: the cache is rebuilt by running the
  /// kept tokens. With crop_to = block_size that happens at every step past
  /// block_size, and the cache saves nothing there; a smaller crop_to rebuilds once
  /// every block_size − crop_to + 1 steps, at the price of a shorter context.
  MINIGRAD_ARG(int64_t, crop_to) = 0;
};

/// A GPT as an nn::IncrementalDecoder, for greedy_decode, beam_search and sampling:
/// row n's context is the tokens fed to it so far (cropped as crop_to says), and
/// step() returns the logits of the token after it. With or without the cache the
/// contexts are the same and so are the logits, up to rounding. Build one per
/// decoding, in eval mode; the model must outlive it.
///
///     GPTDecoding decoding(model, 1);       // one row, nothing fed yet
///     Tensor tokens = nn::greedy_decode(decoding, nn::GreedyDecodeOptions()
///                                                     .start_symbol(newline)
///                                                     .max_length(200));
class GPTDecoding final : public nn::IncrementalDecoder {
 public:
  /// \param model      the GPT
  /// \param batch_size N, the rows, each starting with an empty context
  /// \param options    use_cache (default true), crop_to (default block_size)
  /// \throws std::invalid_argument unless batch_size ≥ 1 and 0 ≤ crop_to ≤ block_size
  GPTDecoding(GPT& model, int64_t batch_size, const GPTDecodingOptions& options = {});
  /// N: the rows given, then as many as the last reorder kept.
  int64_t batch_size() const override { return batch_; }
  /// Appends each row's token to its context and returns the logits of the next
  /// token [N, V], without recording a graph.
  /// \throws std::invalid_argument naming the shapes unless last_tokens is int64 [N]
  Tensor step(const Tensor& last_tokens) override;
  /// Keeps the rows `index` of the contexts and of the cache.
  void reorder(const Tensor& index) override;

 private:
  GPT& model_;
  bool use_cache_;
  int64_t crop_to_;
  int64_t batch_;
  Tensor context_;  // int64 [N, t]: the tokens the next logits see, t ≤ block_size
  GPTCache cache_;  // with the cache: the keys and values of context_
};

}  // namespace minigrad::examples
