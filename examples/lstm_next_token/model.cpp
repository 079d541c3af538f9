#include "examples/lstm_next_token/model.h"

#include <stdexcept>

#include "examples/common/prediction.h"

namespace minigrad::examples {

RepeatingPatternTask::RepeatingPatternTask(int64_t length, int64_t vocab, int64_t min_period,
                                           int64_t max_period)
    : length_(length), vocab_(vocab), min_period_(min_period), max_period_(max_period) {
  if (vocab < 2 || min_period < 1 || max_period < min_period || length < 2 * max_period + 1) {
    throw std::invalid_argument("RepeatingPatternTask: length " + std::to_string(length) +
                                ", vocab " + std::to_string(vocab) + ", periods " +
                                std::to_string(min_period) + ".." + std::to_string(max_period) +
                                ": need vocab ≥ 2, 1 ≤ min ≤ max period, length > 2·max period");
  }
  Generator gen(kHeldOutSeed);
  Tensor sequences = Tensor::empty({kHeldOutSize, length_}, DType::Int64);
  int64_t* p = sequences.data<int64_t>();
  for (int64_t n = 0; n < kHeldOutSize; ++n) {
    draw(gen, p + n * length_);
    heldout_keys_.insert(key(p + n * length_, length_));
  }
  heldout_ = split(sequences);
}

void RepeatingPatternTask::draw(Generator& gen, int64_t* out) const {
  const int64_t period = gen.randint(min_period_, max_period_ + 1);
  for (int64_t t = 0; t < period; ++t) out[t] = gen.randint(0, vocab_);  // the motif
  for (int64_t t = period; t < length_; ++t) out[t] = out[t - period];   // x_t = x_{t−p}
}

NextTokenBatch RepeatingPatternTask::sample(int64_t batch_size, Generator& gen) const {
  Tensor sequences = Tensor::empty({batch_size, length_}, DType::Int64);
  int64_t* p = sequences.data<int64_t>();
  for (int64_t n = 0; n < batch_size; ++n) {
    do {  // redraw a held-out sequence (about 1 in 100 with the defaults)
      draw(gen, p + n * length_);
    } while (heldout_keys_.count(key(p + n * length_, length_)) != 0);
  }
  return split(sequences);
}

NextTokenBatch RepeatingPatternTask::split(const Tensor& sequences) const {
  return {sequences.narrow(1, 0, length_ - 1).contiguous(),
          sequences.narrow(1, 1, length_ - 1).contiguous()};
}

std::string RepeatingPatternTask::key(const int64_t* tokens, int64_t n) {
  return std::string(reinterpret_cast<const char*>(tokens),
                     static_cast<size_t>(n) * sizeof(int64_t));
}

Accuracy scored_accuracy(const Tensor& predicted, const Tensor& target, int64_t first_scored) {
  const int64_t steps = target.size(1) - first_scored;
  return accuracy(predicted.narrow(1, first_scored, steps).contiguous(),
                  target.narrow(1, first_scored, steps).contiguous());
}

NextTokenModel::NextTokenModel(const NextTokenConfig& c, Generator& gen) : config(c) {
  embedding = register_module("embedding", std::make_shared<nn::Embedding>(
                                               nn::EmbeddingOptions(c.vocab, c.embedding), gen));
  lstm = register_module(
      "lstm",
      std::make_shared<nn::LSTM>(nn::LSTMOptions(c.embedding, c.hidden).batch_first(true), gen));
  readout = register_module(
      "readout", std::make_shared<nn::Linear>(nn::LinearOptions(c.hidden, c.vocab), gen));
}

Variable NextTokenModel::forward_tokens(const Tensor& tokens) {
  const auto [out, state] = (*lstm)(embedding->forward(tokens));  // h_t for every t: [B, T, H]
  return readout->forward(out);                                   // [B, T, vocab]
}

Accuracy evaluate(NextTokenModel& model, const RepeatingPatternTask& task) {
  NoGradGuard no_grad;
  const NextTokenBatch& data = task.heldout();
  return scored_accuracy(predict_tokens(model.forward_tokens(data.input)), data.target,
                         task.first_scored());
}

}  // namespace minigrad::examples
