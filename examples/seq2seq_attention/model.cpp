#include "examples/seq2seq_attention/model.h"

#include <stdexcept>
#include <vector>

namespace minigrad::examples {

const char* attention_name(AttentionKind kind) {
  switch (kind) {
    case AttentionKind::None:
      return "none";
    case AttentionKind::Dot:
      return "dot";
    case AttentionKind::Scaled:
      return "scaled";
    case AttentionKind::Additive:
      return "additive";
  }
  return "?";
}

AttentionKind attention_from_name(const std::string& name) {
  if (name == "none") return AttentionKind::None;
  if (name == "dot") return AttentionKind::Dot;
  if (name == "scaled") return AttentionKind::Scaled;
  if (name == "additive") return AttentionKind::Additive;
  throw std::invalid_argument("unknown attention '" + name +
                              "' (expected none, dot, scaled or additive)");
}

const char* cell_name(CellKind kind) {
  switch (kind) {
    case CellKind::LSTM:
      return "lstm";
    case CellKind::GRU:
      return "gru";
  }
  return "?";
}

CellKind cell_from_name(const std::string& name) {
  if (name == "lstm") return CellKind::LSTM;
  if (name == "gru") return CellKind::GRU;
  throw std::invalid_argument("unknown cell '" + name + "' (expected lstm or gru)");
}

Seq2SeqModel::Seq2SeqModel(const Seq2SeqConfig& c, Generator& gen) : config(c) {
  const bool attends = c.attention != AttentionKind::None;
  source_embedding =
      register_module("source_embedding",
                      std::make_shared<nn::Embedding>(c.vocab, c.embedding, DType::Float32, gen));
  target_embedding = register_module(
      "target_embedding",
      std::make_shared<nn::Embedding>(c.vocab + 1, c.embedding, DType::Float32, gen));
  const int64_t decoder_in = c.embedding + (attends ? c.hidden : 0);
  if (c.cell == CellKind::LSTM) {
    encoder = register_module(
        "encoder", std::make_shared<nn::LSTM>(c.embedding, c.hidden, 1, /*batch_first=*/true, true,
                                              DType::Float32, gen));
    decoder = register_module(
        "decoder", std::make_shared<nn::LSTMCell>(decoder_in, c.hidden, true, DType::Float32, gen));
  } else {
    // [extending:seq2seq-gru]
    gru_encoder = register_module(
        "encoder", std::make_shared<nn::GRU>(c.embedding, c.hidden, 1, /*batch_first=*/true, true,
                                             DType::Float32, gen));
    gru_decoder = register_module(
        "decoder", std::make_shared<nn::GRUCell>(decoder_in, c.hidden, true, DType::Float32, gen));
    // [/extending:seq2seq-gru]
  }
  if (c.attention == AttentionKind::Additive) {
    additive = register_module("attention", std::make_shared<nn::AdditiveAttention>(
                                                c.hidden, c.hidden, c.hidden, DType::Float32, gen));
  } else if (attends) {
    attention = register_module("attention", std::make_shared<nn::DotProductAttention>(
                                                 c.attention == AttentionKind::Scaled));
  }
  readout =
      register_module("readout", std::make_shared<nn::Linear>(attends ? 2 * c.hidden : c.hidden,
                                                              c.vocab, true, DType::Float32, gen));
}

Seq2SeqModel::Encoded Seq2SeqModel::encode(const Tensor& source) {
  const Variable embedded = source_embedding->forward(source);
  if (gru_encoder) {
    const nn::GRUOutput out = gru_encoder->forward(embedded, Variable());  // [B, T, H]
    return {out.output, {out.h_n.select(0, 0), Variable()}};               // layer 0's final h
  }
  const nn::LSTMOutput out = encoder->forward(embedded);              // [B, T, H]
  return {out.output, {out.h_n.select(0, 0), out.c_n.select(0, 0)}};  // layer 0's final (h, c)
}

Seq2SeqModel::DecoderState Seq2SeqModel::initial_state(const Encoded& encoded) const {
  const int64_t batch = encoded.outputs.size(0);
  return {encoded.final, Variable(Tensor::zeros({batch, config.hidden}))};
}

Seq2SeqModel::StepOutput Seq2SeqModel::decode_step(const Variable& previous_embedding,
                                                   DecoderState& state, const Encoded& encoded) {
  // one step of the decoder's cell: (h, c) ← LSTMCell(input, (h, c)), or h ← GRUCell(input, h)
  auto step = [&](const Variable& input) {
    if (gru_decoder) {
      state.recurrent.h = gru_decoder->forward(input, state.recurrent.h);
    } else {
      state.recurrent = decoder->forward(input, state.recurrent);
    }
  };
  if (!attention && !additive) {
    step(previous_embedding);
    return {readout->forward(state.recurrent.h), {}};
  }
  // input feeding: the previous context goes in beside the previous token
  step(concat({previous_embedding, state.context}, 1));
  // the decoder state is the query; the encoder states are the keys and the values
  const Variable& h = state.recurrent.h;
  const nn::AttentionOutput att =
      additive ? additive->forward(h, encoded.outputs) : attention->forward(h, encoded.outputs);
  state.context = att.context;                                          // [B, H]
  return {readout->forward(concat({h, att.context}, 1)), att.weights};  // W_out [h; c] + b
}

Variable Seq2SeqModel::forward_teacher_forcing(const Tensor& source, const Tensor& target) {
  const int64_t batch = target.size(0), steps = target.size(1);
  const Encoded encoded = encode(source);
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
  return stack(logits, 1);  // [B, T, vocab]
}

Seq2SeqModel::Decoded Seq2SeqModel::greedy_decode(const Tensor& source, int64_t steps) {
  NoGradGuard no_grad;
  const int64_t batch = source.size(0);
  const Encoded encoded = encode(source);
  DecoderState state = initial_state(encoded);
  Tensor previous = Tensor::full({batch}, static_cast<double>(bos()), DType::Int64);
  std::vector<Tensor> tokens, weights;
  for (int64_t t = 0; t < steps; ++t) {
    const StepOutput out = decode_step(target_embedding->forward(previous), state, encoded);
    previous = argmax(out.logits.data(), -1);  // the model's own guess is the next input
    tokens.push_back(previous);
    if (out.weights.defined()) weights.push_back(out.weights.data());
  }
  return {stack(tokens, 1), weights.empty() ? Tensor() : stack(weights, 1)};
}

Accuracy evaluate(Seq2SeqModel& model, const Batch& data) {
  return accuracy(model.greedy_decode(data.source, data.target.size(1)).tokens, data.target);
}

}  // namespace minigrad::examples
