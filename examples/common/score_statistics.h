// Part (a) of examples/scaling_experiment: why attention divides the scores by √d_k.
//
// Take a query q and keys k_1 … k_n whose d_k entries are independent with mean 0
// and variance 1. One score is a sum of d_k independent products:
//
//   q·k = Σ_{m<d_k} q_m k_m,    E[q_m k_m] = 0,   var(q_m k_m) = E[q_m²] E[k_m²] = 1
//   ⇒  var(q·k) = d_k                (variances of independent terms add)
//
// So unscaled scores have a spread of √d_k: at d_k = 1024 two keys' scores differ
// by tens, and softmax turns a gap of 30 into a weight ratio of e^30. It saturates:
// the largest weight goes to 1, the entropy to 0, and so does its Jacobian
//
//   p = softmax(s),   ∂p_i/∂s_j = p_i([i = j] − p_j),   i.e.  J = diag(p) − p·pᵀ
//
// which is 0 wherever p is one-hot. Dividing by √d_k makes var(q·k/√d_k) = 1 for
// every d_k: the weights stay spread and J stays the same size.
#pragma once

#include <cstdint>

#include "minigrad/tensor/random.h"

namespace minigrad::examples {

// Averages over all trials, for softmax(q·k) ("unscaled") and softmax(q·k/√d_k) ("scaled").
struct SoftmaxStatistics {
  double entropy = 0.0;        // −Σ_j p_j log p_j: log n for uniform weights, 0 for one-hot
  double max_weight = 0.0;     // max_j p_j: 1/n for uniform weights, 1 for one-hot
  double jacobian_norm = 0.0;  // ‖diag(p) − ppᵀ‖_F: how much a change of the scores moves p
};

struct ScoreStatistics {
  int64_t d_k = 0, num_keys = 0, trials = 0;
  double score_variance = 0.0;  // sample variance of all trials·num_keys scores q·k_j
  SoftmaxStatistics unscaled, scaled;
};

// `trials` times: draw q ~ N(0, I) and num_keys keys k_j ~ N(0, I), all in R^{d_k};
// score every key, take both softmaxes, and average the statistics.
ScoreStatistics measure_score_statistics(int64_t d_k, int64_t num_keys, int64_t trials,
                                         Generator& gen);

// The standard error of score_variance, relative to d_k, from the distribution itself:
//   for one score S = q·k:  E[S⁴] = 3d² + 6d  (E q⁴ = E k⁴ = 3), so var(S²) = 2d² + 6d;
//   two scores of one trial share q:  cov(S_j², S_l²) = E‖q‖⁴ − d² = 2d.
//   One trial's Σ_j S_j² has variance n(2d² + 6d) + n(n−1)·2d, and the estimate is
//   the mean of `trials` of them divided by n, so
//   SE / d = √[(n(2d² + 6d) + n(n−1)·2d) / (trials · n² · d²)].
double score_variance_relative_standard_error(int64_t d_k, int64_t num_keys, int64_t trials);

// ‖diag(p) − ppᵀ‖_F for one weight vector p of length n.
double softmax_jacobian_norm(const double* p, int64_t n);

}  // namespace minigrad::examples
