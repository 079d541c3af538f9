// The LSTM (or GRU) encoder-decoder of seq2seq_attention (main.cpp beside this
// file), also the SEQ2SEQ workload of bench/README.md, with Luong or Bahdanau
// attention and input feeding.
//
// Encoder: an LSTM reads the source and leaves one hidden state per position,
//   h^enc_1 … h^enc_T   [B, T, H]       (the keys and the values)
// Decoder, one output token per step t, starting from the encoder's final state:
//   input_t  = [ F[y_{t-1}] ; c_{t-1} ]  embedding of the previous token (BOS at
//                                        t = 0) and the previous context (input feeding)
//   h_t      = LSTMCell(input_t, h_{t-1})  (the query)
//   score_tj = h_t · h^enc_j              (dot; "scaled" divides by √H;
//                                        "additive": vᵀ tanh(W_q h_t + W_k h^enc_j))
//   a_t      = softmax_j(score_t)         where step t looks in the source
//   c_t      = Σ_j a_tj h^enc_j           the context vector
//   logits_t = W_out [h_t ; c_t] + b
//
// Without attention ("none") the decoder sees the source only through the
// encoder's final state: logits_t = W_out h_t + b, and nothing else is fed.
// That one vector of H numbers must hold the whole sequence, which is why
// accuracy collapses as the sequences grow (the long-term dependency problem).
//
// The cell: "lstm" as above, or "gru": GRU encoder and GRUCell decoder, the same
// equations with one state h instead of (h, c). Their parameters are registered
// under the same names (encoder.weight_ih_l0, decoder.weight_hh, ...), so a GRU
// checkpoint loaded into an LSTM model fails on the shapes ([3H, …] vs [4H, …]).
//
// The model is written once for every cell and every attention: it talks to the
// cell through Recurrence (encode the source, take one decoder step) and to the
// attention through Attention (a context and its weights for one query).
//
// Sources of different lengths (date_translation's) are padded at the end. With
// source_padding set, the attention never looks at a padding position (a key mask:
// its weight is 0) and the encoder holds each row's state through its padding, so
// the decoder starts from the state after the source's own last token, as PyTorch's
// pack_padded_sequence gives it: a source decodes the same however far it is padded.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "examples/common/task.h"
#include "minigrad/nn/attention.h"
#include "minigrad/nn/decode.h"
#include "minigrad/nn/layers.h"

namespace minigrad::examples {

/// The score of a decoder query against an encoder state: none (no attention),
/// h·h^enc (dot), h·h^enc/√H (scaled) or vᵀ tanh(W_q h + W_k h^enc) (additive).
enum class AttentionKind { None, Dot, Scaled, Additive };
/// "none", "dot", "scaled", "additive".
const char* attention_name(AttentionKind kind);
/// The kind attention_name() calls `name`.
/// \throws std::invalid_argument for any other word
AttentionKind attention_from_name(const std::string& name);

/// The recurrent cell of the encoder and the decoder.
enum class CellKind { LSTM, GRU };
/// "lstm", "gru".
const char* cell_name(CellKind kind);
/// The kind cell_name() calls `name`.
/// \throws std::invalid_argument for any other word
CellKind cell_from_name(const std::string& name);

/// The sizes and kinds of the model.
struct Seq2SeqConfig {
  int64_t source_vocab = 16;  ///< source tokens 0..source_vocab − 1
  int64_t target_vocab = 16;  ///< output tokens 0..target_vocab − 1
  /// the decoder's first input; none: BOS = target_vocab, a token of its own (the
  /// target embedding gets a row for it), as the copy task's tokens are all data
  std::optional<int64_t> start_symbol = std::nullopt;
  /// decoding ends a row at this output token; none: every row runs all its steps
  std::optional<int64_t> end_symbol = std::nullopt;
  /// the source token that pads sources to one length: masked out of the attention
  /// and held over by the encoder (see the top of this file); none: no padding
  std::optional<int64_t> source_padding = std::nullopt;
  int64_t embedding = 32;  ///< E
  int64_t hidden = 64;     ///< H
  AttentionKind attention = AttentionKind::Dot;
  CellKind cell = CellKind::LSTM;
};

/// What a recurrent cell carries from one step to the next.
struct RecurrentState {
  Variable h;  ///< [B, H]
  Variable c;  ///< [B, H], the LSTM's cell; undefined for the GRU
};

/// The recurrent half of the model, LSTM or GRU: the encoder runs over the whole
/// source, the decoder's cell takes one step at a time. make_recurrence()
/// registers both modules on the model as "encoder" and "decoder".
class Recurrence {
 public:
  virtual ~Recurrence() = default;

  /// What the encoder leaves behind.
  struct Encoded {
    Variable outputs;      ///< [B, T, H]: every step's h, the keys and the values
    RecurrentState final;  ///< the last step's state, where the decoder starts
  };
  /// embedded source [B, T, E] → every step's h and the final state. With
  /// `padding` ([B, T] bool, true at padding; may be undefined) a row's state stays
  /// as it was at its padding positions, so `final` is its state after its own last
  /// token; `outputs` at padding positions are that held state.
  virtual Encoded encode(const Variable& embedded, const Tensor& padding) = 0;
  /// One decoder step: input [B, in] and the state after step t − 1 → the state after step t.
  virtual RecurrentState step(const Variable& input, const RecurrentState& state) = 0;
};

/// The encoder `embedding` → H and the decoder cell `decoder_input` → H of
/// `cell`, registered on `owner` as "encoder" and "decoder" (weights drawn from
/// `gen` in that order).
std::unique_ptr<Recurrence> make_recurrence(nn::Module& owner, CellKind cell, int64_t embedding,
                                            int64_t decoder_input, int64_t hidden, Generator& gen);

/// Where the decoder looks in the source: its state h_t is the query, the
/// encoder's states are the keys and the values.
class Attention {
 public:
  virtual ~Attention() = default;
  /// query h_t [B, H], keys = values h^enc [B, T, H] → context c_t [B, H] and
  /// weights a_t [B, T]; both undefined for "none", which has no context.
  /// `key_mask` [B, T] bool (true = padding, weight 0) may be undefined.
  virtual nn::AttentionOutput attend(const Variable& query, const Variable& keys,
                                     const Tensor& key_mask) = 0;
};

/// The attention of `kind` for states of width `hidden`, registered on `owner`
/// as "attention" (none registers nothing; additive draws its weights from `gen`).
std::unique_ptr<Attention> make_attention(nn::Module& owner, AttentionKind kind, int64_t hidden,
                                          Generator& gen);

/// The encoder-decoder: source_embedding, target_embedding, encoder, decoder,
/// attention and readout, registered in that order.
class Seq2SeqModel : public nn::Module {
 public:
  explicit Seq2SeqModel(const Seq2SeqConfig& config, Generator& gen = default_generator());

  /// Training: the decoder is fed the true previous token (teacher forcing), BOS
  /// first. source int64 [B, S], target int64 [B, T] → logits [B, T, target_vocab].
  Variable forward_teacher_forcing(const Tensor& source, const Tensor& target);

  /// What greedy_decode returns.
  struct Decoded {
    Tensor tokens;   ///< int64 [B, steps]
    Tensor weights;  ///< [B, steps, T_source]; undefined without attention
  };
  /// Evaluation: the decoder is fed its own previous prediction (nn::greedy_decode
  /// driving a Decoder), for `steps` tokens or until every row has written the end
  /// symbol (after which a row repeats it).
  Decoded greedy_decode(const Tensor& source, int64_t steps);

  /// The decoder of one source, for nn::greedy_decode and nn::beam_search (below).
  class Decoder;

  std::string type_name() const override { return "Seq2SeqModel"; }
  /// The decoder's first input token: the start symbol, or one past the output
  /// vocabulary.
  int64_t bos() const { return config.start_symbol.value_or(config.target_vocab); }
  /// [B, S] bool, true where `source` holds the padding token; undefined without
  /// source_padding.
  Tensor source_padding_mask(const Tensor& source) const;

  Seq2SeqConfig config;
  std::shared_ptr<nn::Embedding> source_embedding;  ///< [source_vocab, E]
  /// [target_vocab + 1, E], the last row BOS; [target_vocab, E] with a start symbol
  std::shared_ptr<nn::Embedding> target_embedding;
  /// The encoder E → H and the decoder's cell E + H → H (E → H without attention).
  std::unique_ptr<Recurrence> recurrence;
  /// Where the decoder looks in the source ("none": nowhere, no context).
  std::unique_ptr<Attention> attention;
  std::shared_ptr<nn::Linear> readout;  ///< 2H → target_vocab (H → target_vocab without attention)

 private:
  struct DecoderState {
    RecurrentState recurrent;
    Variable context;  ///< [B, H], zeros before the first step; undefined without attention
  };
  struct StepOutput {
    Variable logits;   ///< [B, target_vocab]
    Variable weights;  ///< [B, T]; undefined without attention
  };
  /// What the decoder reads of the source at every step.
  struct Source {
    Recurrence::Encoded encoded;
    Tensor padding;  ///< [B, S] bool, true at padding; undefined without source_padding
  };
  Source encode(const Tensor& source);
  DecoderState initial_state(const Source& source) const;
  StepOutput decode_step(const Variable& previous_embedding, DecoderState& state,
                         const Source& source);
};

/// The model's decoder for one source, as nn::greedy_decode and nn::beam_search
/// drive it: the source is encoded once, then each step feeds every row its last
/// token (BOS = bos() first) and returns the logits of the next, [N, target_vocab].
/// A row's state is its recurrent state, its previous context and its copy of the
/// encoder's states and padding mask; reorder() selects those rows.
class Seq2SeqModel::Decoder final : public nn::IncrementalDecoder {
 public:
  /// Encodes `source` (int64 [B, T]) without recording a graph.
  Decoder(Seq2SeqModel& model, const Tensor& source);
  int64_t batch_size() const override { return state_.recurrent.h.size(0); }
  Tensor step(const Tensor& last_tokens) override;
  void reorder(const Tensor& index) override;
  /// each step's attention weights [N, T_source], for the rows of that step; none
  /// without attention
  std::vector<Tensor> weights;

 private:
  Seq2SeqModel& model_;
  Source source_;
  DecoderState state_;
};

/// Held-out accuracy with greedy decoding, without recording a graph.
Accuracy evaluate(Seq2SeqModel& model, const Batch& data);

/// The training rate of step 1 … steps: `lr` for the first decay_from·steps steps,
/// then ½·lr·(1 + cos(π·x)) with x rising from 0 towards 1 at the last step. Held
/// at full rate, the slow learners (scaled attention) keep learning; decayed at the
/// end, Adam's steps (the size of the rate even where the gradient is tiny) stop
/// carrying a solved model away.
double hold_then_cosine_lr(double lr, double decay_from, int64_t step, int64_t steps);

}  // namespace minigrad::examples
