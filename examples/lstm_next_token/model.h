// The model and the task of lstm_next_token (main.cpp beside this file): an LSTM
// reads a sequence one token at a time and, after every token, guesses the next
// one (how a language model is trained).
//
// The task, "repeating patterns": each sequence repeats a random motif of p tokens,
// p ∈ {min_period … max_period}, to length T:
//
//   p = 3, motif 7 2 9       7 2 9 7 2 9 7 2 9 7 2 9 7 2 9 7
//   p = 2, motif 4 4         4 4 4 4 …                  (a motif may itself repeat)
//
// Nobody says what p is. Before the motif has come round once, the next token is
// a guess; once the model has seen 2·max_period tokens it is determined: if the
// prefix had two periods p ≠ p′ ≤ max_period, since its length is ≥ p + p′ it
// also has the period gcd(p, p′) (Fine and Wilf), so x_{t−p} = x_{t−p′} and both
// periods predict the same token. Accuracy is counted from there on.
//
// To predict, the LSTM must keep the last max_period tokens in its cell state and
// notice which earlier token the current one repeats: a memory task for a network
// whose only memory is its state.
//
// The model:  e_t = E[x_t]                [B, T, 32]
//             h_t = LSTM(e_t, h_{t−1})    [B, T, 64]     (output of every step)
//             logits_t = W h_t + b        [B, T, 16]     a guess of x_{t+1}
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include "examples/common/task.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/lstm.h"

namespace minigrad::examples {

/// Inputs x_0 … x_{T−2}, targets x_1 … x_{T−1}: target position t is the token after input t.
struct NextTokenBatch {
  Tensor input;   ///< int64 [B, T − 1]
  Tensor target;  ///< int64 [B, T − 1]
};

/// Sequences that repeat a motif of min_period … max_period tokens, and 1,000
/// held-out ones that training never draws.
class RepeatingPatternTask {
 public:
  static constexpr int64_t kHeldOutSize = 1000;
  static constexpr uint64_t kHeldOutSeed = 987654321;

  RepeatingPatternTask(int64_t length = 16, int64_t vocab = 16, int64_t min_period = 2,
                       int64_t max_period = 4);

  /// B fresh sequences from `gen`, none of them in the held-out set.
  NextTokenBatch sample(int64_t batch_size, Generator& gen) const;
  const NextTokenBatch& heldout() const { return heldout_; }
  /// The first target position whose token is determined: input positions
  /// 0 … first_scored()−1 leave the next token open.
  int64_t first_scored() const { return 2 * max_period_ - 1; }

  int64_t length() const { return length_; }
  int64_t vocab() const { return vocab_; }
  int64_t min_period() const { return min_period_; }
  int64_t max_period() const { return max_period_; }

 private:
  // One sequence of `length_` tokens into `out`.
  void draw(Generator& gen, int64_t* out) const;
  NextTokenBatch split(const Tensor& sequences) const;
  static std::string key(const int64_t* tokens, int64_t n);

  int64_t length_, vocab_, min_period_, max_period_;
  NextTokenBatch heldout_;
  std::unordered_set<std::string> heldout_keys_;
};

/// Token and sequence accuracy over the target positions from first_scored() on.
Accuracy scored_accuracy(const Tensor& predicted, const Tensor& target, int64_t first_scored);

/// The sizes of the model.
struct NextTokenConfig {
  int64_t vocab = 16;
  int64_t embedding = 32;
  int64_t hidden = 64;
};

/// E, the LSTM and W as registered: embedding, lstm, readout.
class NextTokenModel : public nn::Module {
 public:
  explicit NextTokenModel(const NextTokenConfig& config, Generator& gen = default_generator());
  /// tokens int64 [B, T] → logits [B, T, vocab]: position t guesses token t + 1.
  Variable forward_tokens(const Tensor& tokens);
  std::string type_name() const override { return "NextTokenModel"; }

  NextTokenConfig config;
  std::shared_ptr<nn::Embedding> embedding;  ///< E: [vocab, 32]
  std::shared_ptr<nn::LSTM> lstm;            ///< 32 → 64, batch_first
  std::shared_ptr<nn::Linear> readout;       ///< W: [vocab, 64]
};

/// Held-out accuracy on the determined positions, without recording a graph.
Accuracy evaluate(NextTokenModel& model, const RepeatingPatternTask& task);

}  // namespace minigrad::examples
