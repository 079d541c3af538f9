#include "examples/multihead_attention/model.h"

#include <stdexcept>
#include <string>

#include "examples/common/prediction.h"

namespace minigrad::examples {

Tensor mirror_sum_target(const Tensor& source, int64_t vocab) {
  if (source.dim() != 2 || source.dtype() != DType::Int64) {
    throw std::invalid_argument("mirror_sum_target: source " + source.shape().str() + " " +
                                dtype_name(source.dtype()) + ", expected int64 [B, T]");
  }
  const Tensor src = source.contiguous();
  Tensor target = Tensor::empty(src.shape(), DType::Int64);
  const int64_t* x = src.data<int64_t>();
  int64_t* y = target.data<int64_t>();
  const int64_t B = src.size(0), T = src.size(1);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < T; ++i) y[b * T + i] = (x[b * T + i] + x[b * T + (T - 1 - i)]) % vocab;
  }
  return target;
}

MirrorSumTask::MirrorSumTask(int64_t length, int64_t vocab) : sources_(Task::Copy, length, vocab) {
  heldout_ = {sources_.heldout().source, mirror_sum_target(sources_.heldout().source, vocab)};
}

Batch MirrorSumTask::sample(int64_t batch_size, Generator& gen) const {
  const Tensor source = sources_.sample(batch_size, gen).source;
  return {source, mirror_sum_target(source, vocab())};
}

MultiHeadModel::MultiHeadModel(const MultiHeadConfig& c, Generator& gen) : config(c) {
  if (c.heads < 1 || c.d_model % c.heads != 0) {
    throw std::invalid_argument("MultiHeadModel: d = " + std::to_string(c.d_model) +
                                " is not divisible by " + std::to_string(c.heads) + " heads");
  }
  token_embedding = register_module(
      "token_embedding", std::make_shared<nn::Embedding>(c.vocab, c.d_model, DType::Float32, gen));
  positions = register_module("positions", std::make_shared<nn::LearnedPositionalEncoding>(
                                               c.length, c.d_model, DType::Float32, gen));
  attention = register_module("attention", std::make_shared<nn::MultiHeadAttention>(
                                               c.d_model, c.heads, /*bias=*/true,
                                               /*batch_first=*/true, DType::Float32, gen));
  readout = register_module("readout", std::make_shared<nn::Linear>(
                                           c.d_model, c.vocab, /*bias=*/true, DType::Float32, gen));
}

MultiHeadModel::Output MultiHeadModel::forward_tokens(const Tensor& tokens) {
  const Variable x = positions->forward(token_embedding->forward(tokens));  // X = E[x] + P
  const nn::MultiHeadOutput att = attention->forward(x, x, x);              // every head, then W_O
  return {readout->forward(att.output), att.weights};
}

Accuracy evaluate(MultiHeadModel& model, const Batch& data) {
  NoGradGuard no_grad;
  return accuracy(predict_tokens(model.forward_tokens(data.source).logits), data.target);
}

}  // namespace minigrad::examples
