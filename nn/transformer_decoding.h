/// \file
/// A Transformer's decoder stack as an IncrementalDecoder (decode.h), so that
/// greedy_decode and beam_search drive it, two ways:
///
///     with the key/value cache    each step runs every layer on the new position
///                                 alone, against the keys and values the layers
///                                 kept (TransformerDecoderCache): O(t) per layer
///                                 for attention, O(1) for everything else
///     without it                  each step runs the stack on the whole prefix
///                                 0 … t with the causal mask and keeps the last
///                                 position: the plain definition, and the
///                                 reference the cache is tested against
///
/// Both give the same scores up to rounding. The model around the stack is the
/// caller's, passed in as two functions: how tokens become vectors (embedding,
/// scale, positions) and how the newest position's output becomes scores (a
/// Linear to the vocabulary, say).
///
///     nn::TransformerDecoding decoding(
///         *model.decoder, memory,
///         [&](const Tensor& tokens, int64_t position) { return embed(tokens, position); },
///         [&](const Variable& x) { return (*generator)(x); });
///     Tensor tokens = nn::greedy_decode(decoding, nn::GreedyDecodeOptions().start_symbol(1));
#pragma once

#include <cstdint>
#include <functional>

#include "minigrad/nn/decode.h"
#include "minigrad/nn/options.h"
#include "minigrad/nn/transformer.h"

namespace minigrad::nn {

/// The settings of a TransformerDecoding.
struct TransformerDecodingOptions {
  /// keep each layer's keys and values and run the stack on the new position alone;
  /// false: run it on the whole prefix at every step
  MINIGRAD_ARG(bool, use_cache) = true;
  /// [B, S] bool (true = padding) or float: the memory positions no query may attend
  /// to. May be undefined.
  MINIGRAD_ARG(Tensor, memory_key_padding_mask);
};

/// A TransformerDecoder, with the caller's embedding and readout around it, decoding
/// against one memory (see the top of transformer_decoding.h). Its rows are the
/// batch at first and hypotheses once beam_search reorders them. Build one per
/// decoding, in eval mode.
class TransformerDecoding final : public IncrementalDecoder {
 public:
  /// tokens int64 [N, L] at positions p … p + L − 1 → their vectors [N, L, E], the
  /// decoder's input (the embedding with the positions added)
  using Embed = std::function<Variable(const Tensor& tokens, int64_t position)>;
  /// the decoder's output at the newest position [N, E] → the scores of the next
  /// token [N, V]
  using Readout = std::function<Variable(const Variable& x)>;

  /// \param decoder the stack; its layers' batch_first tells memory's layout
  /// \param memory  the encoder's output, [S, B, E] ([B, S, E] with batch_first)
  /// \param embed   tokens and their first position → the decoder's input
  /// \param readout the decoder's output at one position → scores
  /// \param options use_cache (default true) and memory_key_padding_mask
  /// \throws std::invalid_argument naming the shapes when memory is not batched or
  ///         does not fit the decoder
  TransformerDecoding(TransformerDecoder& decoder, const Variable& memory, Embed embed,
                      Readout readout, const TransformerDecodingOptions& options = {});
  /// The rows: the memory's batch at first, then as many as the last reorder kept.
  int64_t batch_size() const override { return batch_; }
  /// Embeds the new tokens, runs the stack (on them alone, or on the whole prefix),
  /// and reads out the newest position, without recording a graph.
  /// \throws std::invalid_argument naming the shapes when embed returns anything but [N, L, E]
  Tensor step(const Tensor& last_tokens) override;
  /// Keeps the rows `index` of the cache (or of the memory, its padding mask and the
  /// tokens so far).
  void reorder(const Tensor& index) override;

 private:
  // [N, L, E] from embed → the decoder's layout, and the decoder's output → [N, L, E]
  Variable to_layout(const Variable& x) const;
  Variable embedded(const Tensor& tokens, int64_t position);

  TransformerDecoder& decoder_;
  Embed embed_;
  Readout readout_;
  TransformerDecodingOptions options_;
  bool batch_first_;
  int64_t batch_;
  int64_t position_ = 0;  // of the next token
  // with the cache
  TransformerDecoderCache cache_;
  // without: the memory, and the tokens so far, [N, t]
  Variable memory_;
  Tensor tokens_;
};

}  // namespace minigrad::nn
