// The claims of examples/scaling_experiment (examples/common/score_statistics.h):
//   - var(q·k) = d_k for unit-variance q and k, measured within 10 %;
//   - unscaled, the softmax saturates as d_k grows; scaled, it does not;
//   - the unscaled gradient of W_Q at step 0 is larger, not smaller.
//
// Every number is seeded, so each run draws the same samples; the trial counts
// make 10 % a distance of 8 standard errors, so the variance check would hold
// for (almost) any seed too, not just this one.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "examples/common/score_statistics.h"
#include "examples/self_attention_copy/model.h"
#include "minigrad/nn/loss.h"

namespace {

using namespace minigrad;
using namespace minigrad::examples;

constexpr int64_t kKeys = 12;
constexpr double kTolerance = 0.10;      // relative
constexpr double kStandardErrors = 8.0;  // kTolerance is this many standard errors

// The fewest trials whose relative standard error is kTolerance / kStandardErrors:
// SE ∝ 1/√trials, so scale from the SE of one trial.
int64_t trials_for(int64_t d_k) {
  const double se_one = score_variance_relative_standard_error(d_k, kKeys, 1);
  const double wanted = kTolerance / kStandardErrors;
  return static_cast<int64_t>(std::ceil(se_one * se_one / (wanted * wanted)));
}

TEST(TrainScaling, ScoreVarianceIsDk) {
  Generator gen(1);
  for (const int64_t d_k : {4, 16, 64, 256, 1024}) {
    const int64_t trials = trials_for(d_k);
    const double se = score_variance_relative_standard_error(d_k, kKeys, trials);
    ASSERT_LT(6 * se, kTolerance) << "d_k " << d_k << ": " << trials << " trials are too few";
    const ScoreStatistics s = measure_score_statistics(d_k, kKeys, trials, gen);
    EXPECT_NEAR(s.score_variance / static_cast<double>(d_k), 1.0, kTolerance)
        << "d_k " << d_k << ", " << trials << " trials: var(q·k) = " << s.score_variance;
  }
}

// The standard error formula itself, checked against the spread of many small
// independent estimates (d_k = 4, where the 4th-moment terms matter most).
TEST(TrainScaling, StandardErrorFormulaMatchesTheSpread) {
  Generator gen(2);
  constexpr int64_t kEstimates = 400, kTrials = 50, kD = 4;
  constexpr double kDouble = kD, kCount = kEstimates;
  std::vector<double> estimates;
  double mean = 0;
  for (int64_t e = 0; e < kEstimates; ++e) {
    estimates.push_back(measure_score_statistics(kD, kKeys, kTrials, gen).score_variance / kDouble);
    mean += estimates.back() / kCount;
  }
  double var = 0;
  for (const double x : estimates) var += (x - mean) * (x - mean) / (kCount - 1);
  // The spread of 400 estimates is itself known to ~±10 % (more for heavy tails).
  EXPECT_NEAR(std::sqrt(var) / score_variance_relative_standard_error(kD, kKeys, kTrials), 1.0,
              0.25);
}

TEST(TrainScaling, SoftmaxJacobianNorm) {
  // Uniform p = 1/n: ‖(1/n)I − (1/n²)11ᵀ‖_F² = n(1/n − 1/n²)² + n(n−1)/n⁴ = (n−1)/n².
  const std::vector<double> uniform(kKeys, 1.0 / kKeys);
  EXPECT_NEAR(softmax_jacobian_norm(uniform.data(), kKeys), std::sqrt(kKeys - 1.0) / kKeys, 1e-12);
  // One-hot p: the softmax is flat there, J = 0.
  std::vector<double> one_hot(kKeys, 0.0);
  one_hot[3] = 1.0;
  EXPECT_EQ(softmax_jacobian_norm(one_hot.data(), kKeys), 0.0);
}

// Unscaled, the entropy and the Jacobian fall with d_k and the largest weight
// rises; scaled, all three stay put (in scaling_experiment's table the scaled
// entropy is 2.09–2.12 and ‖J‖ ≈ .33).
TEST(TrainScaling, UnscaledSoftmaxSaturatesScaledDoesNot) {
  Generator gen(3);
  const ScoreStatistics small = measure_score_statistics(4, kKeys, 2000, gen);
  const ScoreStatistics large = measure_score_statistics(1024, kKeys, 2000, gen);
  EXPECT_LT(large.unscaled.entropy, 0.2);
  EXPECT_GT(large.unscaled.max_weight, 0.9);
  EXPECT_LT(large.unscaled.jacobian_norm, 0.5 * small.unscaled.jacobian_norm);
  EXPECT_NEAR(large.scaled.entropy, small.scaled.entropy, 0.1);
  EXPECT_NEAR(large.scaled.max_weight, small.scaled.max_weight, 0.05);
  EXPECT_NEAR(large.scaled.jacobian_norm, small.scaled.jacobian_norm, 0.03);
  EXPECT_GT(large.scaled.entropy, 10 * large.unscaled.entropy);
}

// The failure of the unscaled model is not a vanishing gradient at the start:
// from the same weights and batch, its ‖∂L/∂W_Q‖ at step 0 is larger (the
// missing 1/√d = 1/16 outweighs the saturated Jacobian).
TEST(TrainScaling, UnscaledGradientOfWQIsLargerAtStepZero) {
  const SequenceTask task(Task::Reverse, 12);
  double norm[2] = {0, 0};
  for (const bool scaled : {true, false}) {
    Generator init_gen(1), data_gen(2);
    SelfAttentionModel model(SelfAttentionConfig{16, 12, 256, scaled}, init_gen);
    const Batch batch = task.sample(64, data_gen);
    nn::cross_entropy(model.forward_tokens(batch.source).logits.reshape({-1, 16}),
                      batch.target.reshape({-1}))
        .backward();
    const Tensor g = model.attention->w_q->weight.grad();
    norm[scaled ? 0 : 1] = std::sqrt(sum(g * g).item());
  }
  EXPECT_GT(norm[1], 2 * norm[0]) << "scaled " << norm[0] << ", unscaled " << norm[1];
}

}  // namespace
