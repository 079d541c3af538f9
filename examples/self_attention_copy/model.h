// The self-attention model of self_attention_copy (main.cpp beside this file),
// also the SELFATT workload of bench/README.md:
//
//   tokens x  [B, T]                                    ids in 0..15
//   X = E[x] + P                     [B, T, d]          token embedding + learned position
//   Q = X·W_Qᵀ,  K = X·W_Kᵀ,  V = X·W_Vᵀ   [B, T, d]    three learned views of the same X
//   A = softmax(Q·Kᵀ / √d)           [B, T, T]          row i: where output i looks
//   C = A·V                          [B, T, d]          C_i = Σ_j A_ij v_j
//   logits = C·W_outᵀ + b_out        [B, T, 16]
//
// To reverse, output i must read input T-1-i. Nothing in the token says where it
// is, so the position vectors P carry that: W_Q and W_K learn to make q_i·k_j
// large exactly when j = T-1-i, and A becomes the anti-diagonal.
#pragma once

#include <cstdint>
#include <memory>

#include "examples/common/task.h"
#include "minigrad/nn/attention.h"
#include "minigrad/nn/layers.h"

namespace minigrad::examples {

/// The sizes of the model; `scaled` is the switch scaling_experiment turns off.
struct SelfAttentionConfig {
  int64_t vocab = 16;
  int64_t length = 12;   ///< T
  int64_t d_model = 64;  ///< d
  bool scaled = true;    ///< divide the scores by √d
};

/// E, P, W_Q, W_K, W_V, W_out as registered: token_embedding, positions, attention, readout.
class SelfAttentionModel : public nn::Module {
 public:
  explicit SelfAttentionModel(const SelfAttentionConfig& config,
                              Generator& gen = default_generator());

  /// What forward_tokens returns.
  struct Output {
    Variable logits;   ///< [B, T, vocab]
    Variable weights;  ///< [B, T, T]: the attention weights A
  };
  /// tokens int64 [B, T] → logits and attention weights.
  Output forward_tokens(const Tensor& tokens);
  std::string type_name() const override { return "SelfAttentionModel"; }

  SelfAttentionConfig config;
  std::shared_ptr<nn::Embedding> token_embedding;            ///< E: [vocab, d]
  std::shared_ptr<nn::LearnedPositionalEncoding> positions;  ///< P: [T, d]
  std::shared_ptr<nn::SelfAttention> attention;              ///< W_Q, W_K, W_V: [d, d] each
  std::shared_ptr<nn::Linear> readout;                       ///< W_out: [vocab, d]
};

/// Held-out accuracy, without recording a graph.
Accuracy evaluate(SelfAttentionModel& model, const Batch& data);

}  // namespace minigrad::examples
