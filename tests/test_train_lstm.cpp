// End-to-end training of examples/lstm_next_token: Embedding → LSTM → Linear
// learns to continue repeating patterns (motifs of 2..4 tokens repeated to
// length 16), predicting every determined next token of held-out sequences.
//
// Seeded: every run does the same steps and reaches the same numbers.

#include <gtest/gtest.h>

#include "examples/common/cli.h"
#include "examples/lstm_next_token/model.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/optim.h"

namespace {

using namespace minigrad;
using namespace minigrad::examples;

constexpr int64_t kDefaultSteps = 500;  // examples/lstm_next_token's default --steps

TEST(TrainLSTM, PatternsRepeatAndHeldOutIsExcluded) {
  const RepeatingPatternTask task;
  Generator gen(5);
  const NextTokenBatch batch = task.sample(256, gen);
  // input x_0 … x_{T−2}, target x_1 … x_{T−1}: the target is the input shifted by one
  EXPECT_EQ(batch.input.narrow(1, 1, 14).contiguous().to_vector<int64_t>(),
            batch.target.narrow(1, 0, 14).contiguous().to_vector<int64_t>());
  // every sequence has one of the periods 2..4
  const auto x = batch.target.to_vector<int64_t>();
  for (int64_t n = 0; n < 256; ++n) {
    bool periodic = false;
    for (int64_t p = 2; p <= 4 && !periodic; ++p) {
      periodic = true;
      for (int64_t t = p; t < 15; ++t) periodic = periodic && x[n * 15 + t] == x[n * 15 + t - p];
    }
    EXPECT_TRUE(periodic) << "sequence " << n;
  }
  EXPECT_EQ(task.first_scored(), 7);  // 2·4 tokens seen
}

TEST(TrainLSTM, LearnsToContinueRepeatingPatterns) {
  const ScopedThreads one_thread(1);
  const RepeatingPatternTask task;
  Generator init_gen(1), data_gen(1 ^ 0x9e3779b97f4a7c15u);  // the example's seeds (--seed 1)
  NextTokenModel model(NextTokenConfig{}, init_gen);
  nn::Adam optimizer(model.parameters(), nn::AdamOptions(1e-2));
  const Accuracy before = evaluate(model, task);
  double first_loss = 0, last_loss = 0;
  for (int64_t step = 0; step < kDefaultSteps; ++step) {
    const NextTokenBatch batch = task.sample(64, data_gen);
    const Variable loss = nn::cross_entropy(model.forward_tokens(batch.input).reshape({-1, 16}),
                                            batch.target.reshape({-1}));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    (step == 0 ? first_loss : last_loss) = loss.item();
  }
  const Accuracy after = evaluate(model, task);
  EXPECT_LT(before.token, 0.2) << "the untrained model should be near chance (1/16)";
  EXPECT_LT(last_loss, 0.5 * first_loss);
  EXPECT_GE(after.token, 0.99) << "held-out accuracy on the determined positions after "
                               << kDefaultSteps << " steps";
  RecordProperty("heldout_token_acc", std::to_string(after.token));
}

}  // namespace
