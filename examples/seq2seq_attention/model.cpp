#include "examples/seq2seq_attention/model.h"

#include <cmath>
#include <functional>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "examples/common/named_kinds.h"
#include "minigrad/nn/gru.h"
#include "minigrad/nn/lstm.h"

namespace minigrad::examples {

namespace {

// Each kind beside its flag name (examples/common/named_kinds.h reads both ways).
constexpr std::pair<AttentionKind, const char*> kAttentionNames[] = {
    {AttentionKind::None, "none"},
    {AttentionKind::Dot, "dot"},
    {AttentionKind::Scaled, "scaled"},
    {AttentionKind::Additive, "additive"}};
constexpr std::pair<CellKind, const char*> kCellNames[] = {{CellKind::LSTM, "lstm"},
                                                           {CellKind::GRU, "gru"}};

}  // namespace

const char* attention_name(AttentionKind kind) { return name_of(kAttentionNames, kind); }

AttentionKind attention_from_name(const std::string& name) {
  return kind_named(kAttentionNames, name, "attention");
}

const char* cell_name(CellKind kind) { return name_of(kCellNames, kind); }

CellKind cell_from_name(const std::string& name) { return kind_named(kCellNames, name, "cell"); }

namespace {

// ---- the cells --------------------------------------------------------------------

// The encoder over a padded source, one step at a time: `cell` takes x_t [B, E] and
// the state, and where padding[:, t] is true the row keeps the state it had,
//
//   s_t = padding_t ? s_{t−1} : cell(x_t, s_{t−1})        s_0 = zeros
//
// so each row's last state is the one after its own last token. A cell without a
// cell state (the GRU's) returns c undefined.
Recurrence::Encoded encode_holding_padding(
    const Variable& embedded, const Tensor& padding, int64_t hidden,
    const std::function<RecurrentState(const Variable&, const RecurrentState&)>& cell) {
  const Variable zeros(Tensor::zeros({embedded.size(0), hidden}, embedded.dtype()));
  RecurrentState state{zeros, zeros};
  std::vector<Variable> outputs;
  const std::vector<Variable> steps = unbind(embedded, 1);  // T × [B, E]
  for (size_t t = 0; t < steps.size(); ++t) {
    const RecurrentState next = cell(steps[t], state);
    const Tensor hold = padding.select(1, static_cast<int64_t>(t)).unsqueeze(1);  // [B, 1]
    state.h = where(hold, state.h, next.h);
    state.c = next.c.defined() ? where(hold, state.c, next.c) : Variable();
    outputs.push_back(state.h);
  }
  return {stack(outputs, 1), state};  // [B, T, H]
}

// nn::LSTM over the source, nn::LSTMCell for the decoder: the state is (h, c).
class LSTMRecurrence final : public Recurrence {
 public:
  LSTMRecurrence(nn::Module& owner, int64_t embedding, int64_t decoder_input, int64_t hidden,
                 Generator& gen) {
    encoder_ = owner.register_module(
        "encoder",
        std::make_shared<nn::LSTM>(nn::LSTMOptions(embedding, hidden).batch_first(true), gen));
    decoder_ = owner.register_module(
        "decoder", std::make_shared<nn::LSTMCell>(nn::LSTMCellOptions(decoder_input, hidden), gen));
  }
  Encoded encode(const Variable& embedded, const Tensor& padding) override {
    if (padding.defined()) {  // the encoder's own cell, one step at a time
      const nn::LSTM& e = *encoder_;
      return encode_holding_padding(embedded, padding, e.options.hidden_size(),
                                    [&e](const Variable& x, const RecurrentState& s) {
                                      const auto [h, c] = nn::lstm_cell_fused(
                                          x, {s.h, s.c}, e.weight_ih[0], e.weight_hh[0],
                                          e.bias_ih[0], e.bias_hh[0]);
                                      return RecurrentState{h, c};
                                    });
    }
    const auto [out, state] = (*encoder_)(embedded);             // out [B, T, H]
    return {out, {state.h.select(0, 0), state.c.select(0, 0)}};  // layer 0's final (h, c)
  }
  RecurrentState step(const Variable& input, const RecurrentState& state) override {
    const auto [h, c] = (*decoder_)(input, {state.h, state.c});  // (h, c) ← LSTMCell(input, (h, c))
    return {h, c};
  }

 private:
  std::shared_ptr<nn::LSTM> encoder_;
  std::shared_ptr<nn::LSTMCell> decoder_;
};

// nn::GRU over the source, nn::GRUCell for the decoder: the state is h alone.
class GRURecurrence final : public Recurrence {
 public:
  GRURecurrence(nn::Module& owner, int64_t embedding, int64_t decoder_input, int64_t hidden,
                Generator& gen) {
    // [extending:seq2seq-gru]
    encoder_ = owner.register_module(
        "encoder",
        std::make_shared<nn::GRU>(nn::GRUOptions(embedding, hidden).batch_first(true), gen));
    decoder_ = owner.register_module(
        "decoder", std::make_shared<nn::GRUCell>(nn::GRUCellOptions(decoder_input, hidden), gen));
    // [/extending:seq2seq-gru]
  }
  Encoded encode(const Variable& embedded, const Tensor& padding) override {
    if (padding.defined()) {  // the encoder's own cell, one step at a time
      const nn::GRU& e = *encoder_;
      return encode_holding_padding(embedded, padding, e.options.hidden_size(),
                                    [&e](const Variable& x, const RecurrentState& s) {
                                      return RecurrentState{
                                          nn::gru_cell_fused(x, s.h, e.weight_ih[0], e.weight_hh[0],
                                                             e.bias_ih[0], e.bias_hh[0]),
                                          Variable()};
                                    });
    }
    const auto [out, h_n] = (*encoder_)(embedded);  // out [B, T, H]
    return {out, {h_n.select(0, 0), Variable()}};   // layer 0's final h
  }
  RecurrentState step(const Variable& input, const RecurrentState& state) override {
    return {(*decoder_)(input, state.h), Variable()};  // h ← GRUCell(input, h)
  }

 private:
  std::shared_ptr<nn::GRU> encoder_;
  std::shared_ptr<nn::GRUCell> decoder_;
};

// ---- the attentions -----------------------------------------------------------------

// No attention: no context, no weights; the decoder knows the source only through
// the encoder's final state.
class NoAttention final : public Attention {
 public:
  nn::AttentionOutput attend(const Variable&, const Variable&, const Tensor&) override {
    return {};
  }
};

// score_tj = h_t · h^enc_j, divided by √H if scaled (Luong).
class DotAttention final : public Attention {
 public:
  DotAttention(nn::Module& owner, const nn::DotProductAttentionOptions& options)
      : module_(owner.register_module("attention",
                                      std::make_shared<nn::DotProductAttention>(options))) {}
  nn::AttentionOutput attend(const Variable& query, const Variable& keys,
                             const Tensor& key_mask) override {
    return (*module_)(query, keys, {}, key_mask);
  }

 private:
  std::shared_ptr<nn::DotProductAttention> module_;
};

// score_tj = vᵀ tanh(W_q h_t + W_k h^enc_j), with a hidden layer of width H (Bahdanau).
class AdditiveAttention final : public Attention {
 public:
  AdditiveAttention(nn::Module& owner, int64_t hidden, Generator& gen)
      : module_(owner.register_module(
            "attention", std::make_shared<nn::AdditiveAttention>(
                             nn::AdditiveAttentionOptions(hidden, hidden).attn_dim(hidden), gen))) {
  }
  nn::AttentionOutput attend(const Variable& query, const Variable& keys,
                             const Tensor& key_mask) override {
    return (*module_)(query, keys, {}, key_mask);
  }

 private:
  std::shared_ptr<nn::AdditiveAttention> module_;
};

}  // namespace

std::unique_ptr<Recurrence> make_recurrence(nn::Module& owner, CellKind cell, int64_t embedding,
                                            int64_t decoder_input, int64_t hidden, Generator& gen) {
  if (cell == CellKind::GRU) {
    return std::make_unique<GRURecurrence>(owner, embedding, decoder_input, hidden, gen);
  }
  return std::make_unique<LSTMRecurrence>(owner, embedding, decoder_input, hidden, gen);
}

std::unique_ptr<Attention> make_attention(nn::Module& owner, AttentionKind kind, int64_t hidden,
                                          Generator& gen) {
  switch (kind) {
    case AttentionKind::None:
      return std::make_unique<NoAttention>();
    case AttentionKind::Dot:
      return std::make_unique<DotAttention>(owner, nn::DotProductAttentionOptions());
    case AttentionKind::Scaled:
      return std::make_unique<DotAttention>(owner, nn::DotProductAttentionOptions().scaled(true));
    case AttentionKind::Additive:
      return std::make_unique<AdditiveAttention>(owner, hidden, gen);
  }
  throw std::invalid_argument("make_attention: unknown kind");
}

// ---- the model ----------------------------------------------------------------------

Seq2SeqModel::Seq2SeqModel(const Seq2SeqConfig& c, Generator& gen) : config(c) {
  // With attention the context c_t [B, H] goes in beside the token and beside h_t.
  const int64_t context = c.attention == AttentionKind::None ? 0 : c.hidden;
  // BOS needs a row of its own unless it is one of the output tokens.
  const int64_t decoder_inputs = c.target_vocab + (c.start_symbol ? 0 : 1);
  source_embedding = register_module(
      "source_embedding",
      std::make_shared<nn::Embedding>(nn::EmbeddingOptions(c.source_vocab, c.embedding), gen));
  target_embedding = register_module(
      "target_embedding",
      std::make_shared<nn::Embedding>(nn::EmbeddingOptions(decoder_inputs, c.embedding), gen));
  recurrence = make_recurrence(*this, c.cell, c.embedding, c.embedding + context, c.hidden, gen);
  attention = make_attention(*this, c.attention, c.hidden, gen);
  readout = register_module(
      "readout",
      std::make_shared<nn::Linear>(nn::LinearOptions(c.hidden + context, c.target_vocab), gen));
}

Tensor Seq2SeqModel::source_padding_mask(const Tensor& source) const {
  if (!config.source_padding) return {};
  return eq(source, Scalar(*config.source_padding));
}

Seq2SeqModel::Source Seq2SeqModel::encode(const Tensor& source) {
  const Tensor padding = source_padding_mask(source);
  return {recurrence->encode(source_embedding->forward(source), padding), padding};
}

Seq2SeqModel::DecoderState Seq2SeqModel::initial_state(const Source& source) const {
  const Recurrence::Encoded& encoded = source.encoded;
  if (config.attention == AttentionKind::None) return {encoded.final, Variable()};
  const int64_t batch = encoded.outputs.size(0);
  return {encoded.final, Variable(Tensor::zeros({batch, config.hidden}))};
}

Seq2SeqModel::StepOutput Seq2SeqModel::decode_step(const Variable& previous_embedding,
                                                   DecoderState& state, const Source& source) {
  // input feeding: the previous context goes in beside the previous token
  const Variable input =
      state.context.defined() ? concat({previous_embedding, state.context}, 1) : previous_embedding;
  state.recurrent = recurrence->step(input, state.recurrent);
  // the decoder state is the query; the encoder states are the keys and the values
  const Variable& h = state.recurrent.h;
  const nn::AttentionOutput att = attention->attend(h, source.encoded.outputs, source.padding);
  if (!att.context.defined()) return {readout->forward(h), {}};         // none: W_out h + b
  state.context = att.context;                                          // [B, H]
  return {readout->forward(concat({h, att.context}, 1)), att.weights};  // W_out [h; c] + b
}

Variable Seq2SeqModel::forward_teacher_forcing(const Tensor& source, const Tensor& target) {
  const int64_t batch = target.size(0), steps = target.size(1);
  const Source encoded = encode(source);
  DecoderState state = initial_state(encoded);
  // The decoder's inputs are the targets shifted right by one: BOS, y_0, …, y_{T-2}.
  const Tensor first = Tensor::full({batch, 1}, static_cast<double>(bos()), DType::Int64);
  const Tensor previous = concat({first, target.narrow(1, 0, steps - 1)}, 1);
  const std::vector<Variable> embedded =
      unbind(target_embedding->forward(previous), 1);  // T × [B, E]
  std::vector<Variable> logits;
  for (int64_t t = 0; t < steps; ++t) {
    logits.push_back(decode_step(embedded[static_cast<size_t>(t)], state, encoded).logits);
  }
  return stack(logits, 1);  // [B, T, target_vocab]
}

Seq2SeqModel::Decoder::Decoder(Seq2SeqModel& model, const Tensor& source) : model_(model) {
  NoGradGuard no_grad;
  source_ = model.encode(source);
  state_ = model.initial_state(source_);
}

Tensor Seq2SeqModel::Decoder::step(const Tensor& last_tokens) {
  const StepOutput out =
      model_.decode_step(model_.target_embedding->forward(last_tokens), state_, source_);
  if (out.weights.defined()) weights.push_back(out.weights.data());
  return out.logits.data();
}

void Seq2SeqModel::Decoder::reorder(const Tensor& index) {
  // row i of everything a step reads becomes row index[i]
  const auto rows = [&index](Variable& v) {
    if (v.defined()) v = index_select(v, 0, index);
  };
  rows(state_.recurrent.h);
  rows(state_.recurrent.c);
  rows(state_.context);
  rows(source_.encoded.outputs);
  if (source_.padding.defined()) source_.padding = index_select(source_.padding, 0, index);
}

Seq2SeqModel::Decoded Seq2SeqModel::greedy_decode(const Tensor& source, int64_t steps) {
  Decoder decoder(*this, source);
  const Tensor tokens = nn::greedy_decode(
      decoder, nn::GreedyDecodeOptions().start_symbol(bos()).max_length(steps).end_symbol(
                   config.end_symbol));
  return {tokens, decoder.weights.empty() ? Tensor() : stack(decoder.weights, 1)};
}

Accuracy evaluate(Seq2SeqModel& model, const Batch& data) {
  return accuracy(model.greedy_decode(data.source, data.target.size(1)).tokens, data.target);
}

double hold_then_cosine_lr(double lr, double decay_from, int64_t step, int64_t steps) {
  const double done = static_cast<double>(step - 1), hold = decay_from * static_cast<double>(steps);
  if (done < hold) return lr;
  return 0.5 * lr *
         (1 + std::cos(std::numbers::pi * (done - hold) / (static_cast<double>(steps) - hold)));
}

}  // namespace minigrad::examples
