#include "examples/self_attention_copy/model.h"

#include "examples/common/prediction.h"

namespace minigrad::examples {

SelfAttentionModel::SelfAttentionModel(const SelfAttentionConfig& c, Generator& gen) : config(c) {
  token_embedding = register_module(
      "token_embedding",
      std::make_shared<nn::Embedding>(nn::EmbeddingOptions(c.vocab, c.d_model), gen));
  positions =
      register_module("positions", std::make_shared<nn::LearnedPositionalEncoding>(
                                       nn::PositionalEncodingOptions(c.length, c.d_model), gen));
  attention = register_module(
      "attention", std::make_shared<nn::SelfAttention>(
                       nn::SelfAttentionOptions(c.d_model).d_k(c.d_model).scaled(c.scaled), gen));
  readout = register_module(
      "readout", std::make_shared<nn::Linear>(nn::LinearOptions(c.d_model, c.vocab), gen));
}

SelfAttentionModel::Output SelfAttentionModel::forward_tokens(const Tensor& tokens) {
  const Variable x = (*positions)((*token_embedding)(tokens));  // X = E[x] + P
  auto [context, weights] = (*attention)(x);                    // C = softmax(QKᵀ/√d)·V
  return {(*readout)(context), weights};
}

Accuracy evaluate(SelfAttentionModel& model, const Batch& data) {
  NoGradGuard no_grad;
  return accuracy(predict_tokens(model.forward_tokens(data.source).logits), data.target);
}

}  // namespace minigrad::examples
