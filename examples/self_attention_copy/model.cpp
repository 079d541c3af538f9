#include "examples/self_attention_copy/model.h"

#include "examples/common/prediction.h"

namespace minigrad::examples {

SelfAttentionModel::SelfAttentionModel(const SelfAttentionConfig& c, Generator& gen) : config(c) {
  token_embedding = register_module(
      "token_embedding", std::make_shared<nn::Embedding>(c.vocab, c.d_model, DType::Float32, gen));
  positions = register_module("positions", std::make_shared<nn::LearnedPositionalEncoding>(
                                               c.length, c.d_model, DType::Float32, gen));
  attention = register_module(
      "attention", std::make_shared<nn::SelfAttention>(c.d_model, c.d_model, /*bias=*/false,
                                                       c.scaled, DType::Float32, gen));
  readout = register_module("readout", std::make_shared<nn::Linear>(
                                           c.d_model, c.vocab, /*bias=*/true, DType::Float32, gen));
}

SelfAttentionModel::Output SelfAttentionModel::forward_tokens(const Tensor& tokens) {
  const Variable x = positions->forward(token_embedding->forward(tokens));  // X = E[x] + P
  const nn::AttentionOutput att = attention->forward_attention(x);  // C = softmax(QKᵀ/√d)·V
  return {readout->forward(att.context), att.weights};
}

Accuracy evaluate(SelfAttentionModel& model, const Batch& data) {
  NoGradGuard no_grad;
  return accuracy(predict_tokens(model.forward_tokens(data.source).logits), data.target);
}

}  // namespace minigrad::examples
