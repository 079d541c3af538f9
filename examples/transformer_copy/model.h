// The model and the task of transformer_copy (main.cpp beside this file): the
// encoder-decoder Transformer of "Attention Is All You Need" on the copy task of
// "The Annotated Transformer".
//
// The task (the Annotated Transformer's data_gen): vocabulary 0..10, 0 the padding
// (never drawn here), 1 the start symbol. A sequence is 10 tokens, the first 1, the
// other 9 uniform in 1..10; the target is the source:
//
//   source  1 7 3 3 10 2 9 1 4 6        target = source
//
// The model, with B the batch, S = T = 10 the lengths, d = d_model, V = 11:
//
//   X = dropout(E_src[source]·√d + P[0:S])        [B, S, d]   token × √d + sinusoids
//   memory = Encoder(X)                           [B, S, d]   nn::Transformer's encoder
//   Y = dropout(E_tgt[y_<t]·√d + P[0:t])          [B, t, d]   the target so far, from 1
//   H = Decoder(Y, memory, causal mask)           [B, t, d]   position i sees y_0 … y_i
//   logits = H·W_outᵀ + b_out                     [B, t, V]   the readout (the
//                                                             Annotated Transformer's "generator")
//
// Training feeds the decoder the target shifted by one (teacher forcing, as the
// Annotated Transformer's Batch: decoder input = target[:, :-1], labels = target[:, 1:]),
// so one forward pass scores all 9 predictions. Evaluation decodes greedily from the
// start symbol, 9 tokens (max_len = 10 in the Annotated Transformer's count, which
// includes the start symbol), through nn::greedy_decode driving the decoder stack
// with its key/value cache (nn::TransformerDecoding).
//
// Init, the Annotated Transformer's (its make_model): every matrix of the model,
// embeddings and readout included, xavier_uniform_; biases and LayerNorms keep their
// modules' init. nn.Transformer alone draws its own matrices so (its
// _reset_parameters), but an nn.Embedding left at N(0, 1) and scaled by √128 ≈ 11
// drowns the sinusoids (±1): measured, in minigrad and in PyTorch 1.13 alike, the loss
// then stalls near 1.5 with no held-out sequence right for 300+ steps, where with the
// Glorot-drawn table (|w| ≤ √(6/139) ≈ 0.21, ×√d ≈ 2.3) half of them are right by
// step 150 (main.cpp has the steps to all of them).
//
// date_translation trains the same model on sources and targets of their own
// vocabularies, sources padded at the end to one length: with source_padding set,
// the encoder's self-attention and the decoder's cross-attention never attend to a
// padding position (src_key_padding_mask and memory_key_padding_mask), so a source
// decodes the same however far it is padded; decoding stops at end_symbol.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "examples/common/task.h"
#include "minigrad/nn/attention.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/transformer.h"
#include "minigrad/nn/transformer_decoding.h"

namespace minigrad::examples {

/// The copy task of the Annotated Transformer: source = target, the first token the
/// start symbol 1, the rest uniform in 1..vocab−1. Drawn as SequenceTask draws its
/// sequences (shifted by one, after the start symbol), so the 1,000 held-out
/// sequences come from a fixed generator of their own and are never drawn for training.
class StartSymbolCopyTask {
 public:
  static constexpr int64_t kVocab = 11;       ///< tokens 0..10
  static constexpr int64_t kPad = 0;          ///< padding: never drawn
  static constexpr int64_t kStartSymbol = 1;  ///< every sequence's first token
  static constexpr int64_t kDefaultLength = 10;

  /// Sequences of `length` ≥ 2 tokens (the start symbol and length − 1 others).
  /// \throws std::invalid_argument for a length below 2
  explicit StartSymbolCopyTask(int64_t length = kDefaultLength);
  /// B fresh sequences from `gen` (source = target, int64 [B, length]), none held out.
  Batch sample(int64_t batch_size, Generator& gen) const;
  /// The 1,000 held-out sequences.
  const Batch& heldout() const { return heldout_; }
  int64_t length() const { return body_.length() + 1; }  ///< tokens per sequence
  int64_t vocab() const { return kVocab; }               ///< V

 private:
  Batch with_start_symbol(const Tensor& body) const;

  SequenceTask body_;  // the length − 1 tokens after the start symbol, as 0..9
  Batch heldout_;
};

/// The sizes and settings of the model.
struct TransformerCopyConfig {
  int64_t source_vocab = StartSymbolCopyTask::kVocab;  ///< the source's tokens
  int64_t target_vocab = StartSymbolCopyTask::kVocab;  ///< V, the target's tokens
  int64_t max_len = 10;           ///< the longest source or target P has positions for
  int64_t d_model = 128;          ///< d
  int64_t heads = 4;              ///< each head works in d / heads
  int64_t dim_feedforward = 512;  ///< the feed-forward blocks' hidden width
  int64_t encoder_layers = 2;     ///< encoder layers
  int64_t decoder_layers = 2;     ///< decoder layers
  double dropout = 0.1;           ///< after the positions, and every dropout of the Transformer
  bool norm_first = false;        ///< pre-norm layers; false: post-norm (the paper's)
  int64_t start_symbol = StartSymbolCopyTask::kStartSymbol;  ///< the decoder's first input
  /// decoding ends a row at this token; none: every row runs all its steps
  std::optional<int64_t> end_symbol = std::nullopt;
  /// the source token that pads sources to one length, masked out of every attention
  /// over the source; none: no padding (the copy task has none)
  std::optional<int64_t> source_padding = std::nullopt;
};

/// Every head's attention weights of one forward pass, layer by layer (index = layer).
struct TransformerAttention {
  std::vector<Tensor> encoder;  ///< encoder self-attention, [B, heads, S, S] per layer
  std::vector<Tensor> decoder;  ///< masked decoder self-attention, [B, heads, t, t]
  std::vector<Tensor> cross;    ///< decoder over the memory, [B, heads, t, S]
};

/// The embeddings, the Transformer and the readout, registered as source_embedding,
/// target_embedding, positions, source_dropout, target_dropout, transformer, readout.
class TransformerCopyModel : public nn::Module {
 public:
  /// \param config the sizes and settings
  /// \param gen    draws the initial weights, in registration order, and seeds the dropouts
  explicit TransformerCopyModel(const TransformerCopyConfig& config,
                                Generator& gen = default_generator());

  /// source int64 [B, S] → memory [B, S, d].
  Variable encode(const Tensor& source);
  /// The logits of the token after each position of `decoder_input` (int64 [B, t],
  /// from the start symbol), each position seeing only itself and those before it,
  /// and no memory position where `memory_padding` ([B, S] bool, true = padding;
  /// may be undefined) is true.
  /// \return [B, t, V]
  Variable decode(const Variable& memory, const Tensor& decoder_input,
                  const Tensor& memory_padding = {});
  /// Training (teacher forcing): the decoder reads target[:, :-1] and predicts
  /// target[:, 1:]. source, target int64 [B, T] → logits [B, T − 1, V].
  Variable forward_teacher_forcing(const Tensor& source, const Tensor& target);

  /// [B, S] bool, true where `source` holds the padding token; undefined without
  /// source_padding.
  Tensor source_padding_mask(const Tensor& source) const;

  /// Greedy decoding through nn::greedy_decode, in eval mode and without a graph.
  /// \return int64 [B, L]: the start symbol, then length − 1 decoded tokens (fewer if
  ///         every row wrote the end symbol sooner; a finished row repeats it)
  Tensor greedy_decode(const Tensor& source, int64_t length);
  /// Beam search of width `beam_width` through nn::beam_search, likewise.
  /// \return int64 [B, length]: the start symbol, then each element's best sequence
  Tensor beam_search(const Tensor& source, int64_t length, int64_t beam_width);

  /// Every head's attention weights when the decoder reads `decoder_input` (a
  /// decoded sequence without its last token) against `source`, in eval mode.
  TransformerAttention attention(const Tensor& source, const Tensor& decoder_input);

  /// The decoder of one source as nn::greedy_decode and nn::beam_search drive it:
  /// the source encoded once (without a graph), then each step embeds every row's
  /// last token at its position, runs the decoder stack on that position alone
  /// against the key/value cache (nn::TransformerDecoding; use_cache(false) runs the
  /// whole prefix instead) and reads out the logits of the next token, [N, V]. With
  /// source_padding, the source's padding mask is the memory's.
  /// Build it in eval mode (greedy_decode and beam_search above do).
  nn::TransformerDecoding decoding(const Tensor& source,
                                   const nn::TransformerDecodingOptions& options = {});

  std::string type_name() const override { return "TransformerCopyModel"; }

  TransformerCopyConfig config;                     ///< the sizes and settings it was built with
  std::shared_ptr<nn::Embedding> source_embedding;  ///< E_src [source_vocab, d]
  std::shared_ptr<nn::Embedding> target_embedding;  ///< E_tgt [V, d]
  std::shared_ptr<nn::SinusoidalPositionalEncoding> positions;  ///< P [max_len, d], fixed
  std::shared_ptr<nn::Dropout> source_dropout;                  ///< on E_src·√d + P
  std::shared_ptr<nn::Dropout> target_dropout;                  ///< on E_tgt·√d + P
  std::shared_ptr<nn::Transformer> transformer;                 ///< batch first
  std::shared_ptr<nn::Linear> readout;                          ///< W_out [V, d], b_out

 private:
  // dropout(E[tokens]·√d + P[first, first + t)): tokens int64 [B, t] → [B, t, d]
  Variable embed(nn::Embedding& embedding, nn::Dropout& dropout, const Tensor& tokens,
                 int64_t first_position);
};

/// The factor of a constant learning rate after a linear warm-up of `warmup` steps,
/// the λ(t) of an nn::LambdaLR: min(1, (t + 1)/warmup), so step t + 1 trains at
/// lr·(t + 1)/warmup until the full rate at step `warmup`; 1 when warmup is 0.
double linear_warmup(int64_t t, int64_t warmup);

/// Held-out accuracy of greedy decoding (beam search of width beam_width when it
/// is above 1) over the length − 1 tokens after the start symbol; sequence accuracy
/// is the exact match of the whole sequence. In eval mode, without a graph.
Accuracy evaluate(TransformerCopyModel& model, const Batch& data, int64_t beam_width = 1);

}  // namespace minigrad::examples
