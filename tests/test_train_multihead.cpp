// End-to-end training of examples/multihead_attention: nn::MultiheadAttention
// (d = 64, 4 heads, learned positions, Linear readout) learns the mirror sum
// y_i = (x_i + x_{T−1−i}) mod 16, T = 12, to ≥ 99 % held-out token accuracy
// within the example's default steps (seed 1, the slowest of seeds 1–10: 0.991),
// and its heads look at i and T−1−i.
//
// Seeded: every run does the same steps and reaches the same numbers. One
// OpenMP thread, as in the example (ctest -j2 runs two tests at once).

#include <gtest/gtest.h>

#include <cmath>

#include "examples/common/cli.h"
#include "examples/multihead_attention/model.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/scheduler.h"

namespace {

using namespace minigrad;
using namespace minigrad::examples;

constexpr int64_t kLength = 12;
constexpr int64_t kDefaultSteps = 1500;  // examples/multihead_attention's default --steps

TEST(TrainMultiHead, MirrorSumTarget) {
  const Tensor x = Tensor::from_vector<int64_t>({3, 14, 7, 0, 9, 1}, {1, 6});
  // y_i = (x_i + x_{5−i}) mod 16: 3+1, 14+9, 7+0, 0+7, 9+14, 1+3
  EXPECT_EQ(mirror_sum_target(x, 16).to_vector<int64_t>(),
            (std::vector<int64_t>{4, 7, 7, 7, 7, 4}));
}

TEST(TrainMultiHead, FourHeadsSolveMirrorSum) {
  const ScopedThreads one_thread(1);
  const MirrorSumTask task(kLength);
  Generator init_gen(1), data_gen(1 ^ 0x9e3779b97f4a7c15u);  // the example's seeds (--seed 1)
  MultiHeadModel model(MultiHeadConfig{16, kLength, 64, 4}, init_gen);
  nn::Adam optimizer(model.parameters(), nn::AdamOptions(3e-3));
  nn::WarmupCosineLR scheduler(optimizer,
                               nn::WarmupCosineLROptions(kDefaultSteps));  // --schedule cosine
  const Accuracy before = evaluate(model, task.heldout());
  for (int64_t step = 0; step < kDefaultSteps; ++step) {
    const Batch batch = task.sample(64, data_gen);
    const Variable logits = model.forward_tokens(batch.source).logits;
    const Variable loss = nn::cross_entropy(logits.reshape({-1, 16}), batch.target.reshape({-1}));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    scheduler.step();
  }
  const Accuracy after = evaluate(model, task.heldout());
  EXPECT_LT(before.token, 0.2) << "the untrained model should be near chance (1/16)";
  EXPECT_GE(after.token, 0.99) << "held-out token accuracy after " << kDefaultSteps << " steps";
  RecordProperty("heldout_token_acc", std::to_string(after.token));

  // Output i needs exactly inputs i and T−1−i: the heads together put most of
  // their weight there (each head leans to one or the other by token).
  NoGradGuard no_grad;
  const Tensor w =
      model.forward_tokens(task.heldout().source).weights.data().contiguous();  // [N, h, T, T]
  const float* p = w.data<float>();
  const int64_t N = w.size(0), H = w.size(1), T = w.size(2);
  double on_pair = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        const float* row = p + ((n * H + h) * T + i) * T;
        on_pair += row[i] + (T - 1 - i != i ? row[T - 1 - i] : 0.0f);
      }
  EXPECT_GT(on_pair / static_cast<double>(N * H * T), 0.8) << "mean weight on {i, T-1-i}";
}

}  // namespace
