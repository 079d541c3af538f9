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
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "examples/common/task.h"
#include "minigrad/nn/attention.h"
#include "minigrad/nn/gru.h"
#include "minigrad/nn/lstm.h"

namespace minigrad::examples {

enum class AttentionKind { None, Dot, Scaled, Additive };
const char* attention_name(AttentionKind kind);  // "none", "dot", "scaled", "additive"
// Throws std::invalid_argument for any other word.
AttentionKind attention_from_name(const std::string& name);

enum class CellKind { LSTM, GRU };
const char* cell_name(CellKind kind);  // "lstm", "gru"
// Throws std::invalid_argument for any other word.
CellKind cell_from_name(const std::string& name);

struct Seq2SeqConfig {
  int64_t vocab = 16;  // output tokens 0..15; the decoder's input vocabulary adds BOS = 16
  int64_t embedding = 32;
  int64_t hidden = 64;
  AttentionKind attention = AttentionKind::Dot;
  CellKind cell = CellKind::LSTM;
};

class Seq2SeqModel : public nn::Module {
 public:
  explicit Seq2SeqModel(const Seq2SeqConfig& config, Generator& gen = default_generator());

  // Training: the decoder is fed the true previous token (teacher forcing).
  // source, target: int64 [B, T] → logits [B, T, vocab].
  Variable forward_teacher_forcing(const Tensor& source, const Tensor& target);

  // Evaluation: the decoder is fed its own previous prediction (greedy).
  struct Decoded {
    Tensor tokens;   // int64 [B, steps]
    Tensor weights;  // [B, steps, T_source]; undefined without attention
  };
  Decoded greedy_decode(const Tensor& source, int64_t steps);

  std::string type_name() const override { return "Seq2SeqModel"; }
  int64_t bos() const { return config.vocab; }

  Seq2SeqConfig config;
  std::shared_ptr<nn::Embedding> source_embedding;  // [vocab, E]
  std::shared_ptr<nn::Embedding> target_embedding;  // [vocab + 1, E]: the last row is BOS
  std::shared_ptr<nn::LSTM> encoder;                // E → H (null for the GRU)
  std::shared_ptr<nn::LSTMCell> decoder;            // E + H → H (E → H without attention)
  std::shared_ptr<nn::GRU> gru_encoder;             // the same two for the GRU (null for the LSTM)
  std::shared_ptr<nn::GRUCell> gru_decoder;
  std::shared_ptr<nn::DotProductAttention> attention;  // dot or scaled; else null
  std::shared_ptr<nn::AdditiveAttention> additive;     // additive (attn_dim H); else null
  std::shared_ptr<nn::Linear> readout;  // 2H → vocab (H → vocab without attention)

 private:
  struct Encoded {
    Variable outputs;     // [B, T, H]: keys and values
    nn::LSTMState final;  // the decoder's initial state (c undefined for the GRU)
  };
  struct DecoderState {
    nn::LSTMState recurrent;  // h, and c for the LSTM (undefined for the GRU)
    Variable context;         // [B, H], zeros before the first step
  };
  struct StepOutput {
    Variable logits;   // [B, vocab]
    Variable weights;  // [B, T]; undefined without attention
  };
  Encoded encode(const Tensor& source);
  DecoderState initial_state(const Encoded& encoded) const;
  StepOutput decode_step(const Variable& previous_embedding, DecoderState& state,
                         const Encoded& encoded);
};

// Held-out accuracy with greedy decoding, without recording a graph.
Accuracy evaluate(Seq2SeqModel& model, const Batch& data);

}  // namespace minigrad::examples
