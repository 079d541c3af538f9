#include "examples/common/score_statistics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace minigrad::examples {

namespace {

// p = softmax(s), computed as e^{s_j − max s} / Σ e^{s − max s} so no exponent overflows.
void softmax(const std::vector<double>& s, double scale, std::vector<double>& p) {
  const double top = *std::max_element(s.begin(), s.end()) * scale;
  double total = 0.0;
  for (size_t j = 0; j < s.size(); ++j) total += p[j] = std::exp(s[j] * scale - top);
  for (double& w : p) w /= total;
}

void accumulate(const std::vector<double>& p, SoftmaxStatistics& sum) {
  double entropy = 0.0;
  for (const double w : p)
    if (w > 0) entropy -= w * std::log(w);  // 0·log 0 = 0
  sum.entropy += entropy;
  sum.max_weight += *std::max_element(p.begin(), p.end());
  sum.jacobian_norm += softmax_jacobian_norm(p.data(), static_cast<int64_t>(p.size()));
}

void divide(SoftmaxStatistics& s, double n) {
  s.entropy /= n;
  s.max_weight /= n;
  s.jacobian_norm /= n;
}

}  // namespace

double softmax_jacobian_norm(const double* p, int64_t n) {
  double squares = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const double jac = (i == j ? p[i] : 0.0) - p[i] * p[j];  // ∂p_i/∂s_j = p_i([i = j] − p_j)
      squares += jac * jac;
    }
  }
  return std::sqrt(squares);
}

ScoreStatistics measure_score_statistics(int64_t d_k, int64_t num_keys, int64_t trials,
                                         Generator& gen) {
  if (d_k < 1 || num_keys < 1 || trials < 1) {
    throw std::invalid_argument("measure_score_statistics: d_k " + std::to_string(d_k) + ", keys " +
                                std::to_string(num_keys) + ", trials " + std::to_string(trials) +
                                ": all must be positive");
  }
  ScoreStatistics r;
  r.d_k = d_k;
  r.num_keys = num_keys;
  r.trials = trials;
  const auto d = static_cast<size_t>(d_k), n = static_cast<size_t>(num_keys);
  const double inv_sqrt_d = 1.0 / std::sqrt(static_cast<double>(d_k));
  std::vector<double> q(d), s(n), p(n);
  double sum = 0.0, sum_squares = 0.0;
  for (int64_t t = 0; t < trials; ++t) {
    for (double& v : q) v = gen.normal();
    for (size_t j = 0; j < n; ++j) {  // s_j = q·k_j, with a fresh key k_j ~ N(0, I)
      double dot = 0.0;
      for (size_t m = 0; m < d; ++m) dot += q[m] * gen.normal();
      s[j] = dot;
      sum += dot;
      sum_squares += dot * dot;
    }
    softmax(s, 1.0, p);
    accumulate(p, r.unscaled);
    softmax(s, inv_sqrt_d, p);
    accumulate(p, r.scaled);
  }
  const double count = static_cast<double>(trials * num_keys);
  const double mean = sum / count;
  // The sample variance, Σ(s − s̄)² / (N − 1) = (Σs² − N·s̄²) / (N − 1).
  r.score_variance = count > 1 ? (sum_squares - count * mean * mean) / (count - 1) : 0.0;
  divide(r.unscaled, static_cast<double>(trials));
  divide(r.scaled, static_cast<double>(trials));
  return r;
}

double score_variance_relative_standard_error(int64_t d_k, int64_t num_keys, int64_t trials) {
  const auto d = static_cast<double>(d_k), n = static_cast<double>(num_keys),
             t = static_cast<double>(trials);
  const double one_trial = n * (2 * d * d + 6 * d) + n * (n - 1) * 2 * d;  // var(Σ_j S_j²)
  return std::sqrt(one_trial / (t * n * n * d * d));
}

}  // namespace minigrad::examples
