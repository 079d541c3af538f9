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
      "token_embedding",
      std::make_shared<nn::Embedding>(nn::EmbeddingOptions(c.vocab, c.d_model), gen));
  positions =
      register_module("positions", std::make_shared<nn::LearnedPositionalEncoding>(
                                       nn::PositionalEncodingOptions(c.length, c.d_model), gen));
  attention = register_module(
      "attention", std::make_shared<nn::MultiheadAttention>(
                       nn::MultiheadAttentionOptions(c.d_model, c.heads).batch_first(true), gen));
  readout = register_module(
      "readout", std::make_shared<nn::Linear>(nn::LinearOptions(c.d_model, c.vocab), gen));
}

MultiHeadModel::Output MultiHeadModel::forward_tokens(const Tensor& tokens) {
  const Variable x = (*positions)((*token_embedding)(tokens));  // X = E[x] + P
  // every head, then W_O; the weights of each head, not their mean
  auto [output, weights] =
      (*attention)(x, x, x, nn::MultiheadAttentionForwardOptions().average_attn_weights(false));
  return {(*readout)(output), weights};
}

Accuracy evaluate(MultiHeadModel& model, const Batch& data) {
  NoGradGuard no_grad;
  return accuracy(predict_tokens(model.forward_tokens(data.source).logits), data.target);
}

}  // namespace minigrad::examples
