// Initialisers (nn/init.cpp): fans, the bounds of the uniform schemes, and the
// empirical standard deviation of every scheme against its formula.
#include "minigrad/nn/init.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "testing.h"

namespace minigrad {
namespace {

using testing::throws_with;

struct Stats {
  double mean, stddev, max_abs;
};

Stats stats_of(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  double s = 0, s2 = 0, m = 0;
  for (double x : v) s += x, s2 += x * x, m = std::max(m, std::abs(x));
  const double n = static_cast<double>(v.size());
  const double mean = s / n;
  return {mean, std::sqrt(s2 / n - mean * mean), m};
}

// [200, 300]: fan_in 300, fan_out 200, 60,000 draws. The sample standard deviation
// is then within ~0.3 % (1/√(2n)) of the true one; the tests allow 2 %.
const Shape kShape{200, 300};
constexpr double kFanIn = 300, kFanOut = 200, kRel = 0.02;

TEST(Init, Fans) {
  EXPECT_EQ(nn::init::fans(Tensor::zeros({3, 4})), (std::pair<int64_t, int64_t>{4, 3}));
  // A conv-style [out, in, kh, kw] weight: the receptive field multiplies both.
  EXPECT_EQ(nn::init::fans(Tensor::zeros({8, 4, 3, 3})), (std::pair<int64_t, int64_t>{36, 72}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { nn::init::fans(Tensor::zeros({5})); },
                                                 {"init", "rank", "[5]"}));
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([] { nn::init::fans(Tensor::scalar(1.0)); }, {"rank"}));
  Tensor v = Tensor::zeros({5});
  EXPECT_THROW(nn::init::xavier_uniform_(v), std::invalid_argument);
  EXPECT_THROW(nn::init::kaiming_normal_(v), std::invalid_argument);
  EXPECT_EQ(amax(abs(v)).item(), 0.0);  // untouched
}

TEST(Init, XavierUniform) {
  Generator gen(1);
  Tensor t = Tensor::empty(kShape, DType::Float64);
  nn::init::xavier_uniform_(t, 1.0, gen);
  const double a = std::sqrt(6.0 / (kFanIn + kFanOut));
  const Stats s = stats_of(t);
  EXPECT_LE(s.max_abs, a);
  EXPECT_GT(s.max_abs, 0.999 * a);
  EXPECT_NEAR(s.stddev, a / std::sqrt(3.0), kRel * a / std::sqrt(3.0));  // U(-a, a) has std a/√3
  EXPECT_NEAR(s.mean, 0.0, 0.01 * a);
  // gain scales the bound
  nn::init::xavier_uniform_(t, 2.0, gen);
  EXPECT_LE(stats_of(t).max_abs, 2 * a);
  EXPECT_GT(stats_of(t).max_abs, 1.99 * a);
}

TEST(Init, XavierNormal) {
  Generator gen(2);
  Tensor t = Tensor::empty(kShape, DType::Float32);
  nn::init::xavier_normal_(t, 1.0, gen);
  const double std_want = std::sqrt(2.0 / (kFanIn + kFanOut));
  const Stats s = stats_of(t);
  EXPECT_NEAR(s.stddev, std_want, kRel * std_want);
  EXPECT_NEAR(s.mean, 0.0, 0.01 * std_want);
  EXPECT_EQ(t.dtype(), DType::Float32);
  nn::init::xavier_normal_(t, 0.5, gen);
  EXPECT_NEAR(stats_of(t).stddev, 0.5 * std_want, kRel * 0.5 * std_want);
}

TEST(Init, KaimingUniform) {
  Generator gen(3);
  Tensor t = Tensor::empty(kShape, DType::Float64);
  nn::init::kaiming_uniform_(t, 0.0, gen);  // ReLU: gain √2, bound √(6/fan_in)
  const double b = std::sqrt(6.0 / kFanIn);
  Stats s = stats_of(t);
  EXPECT_LE(s.max_abs, b);
  EXPECT_GT(s.max_abs, 0.999 * b);
  EXPECT_NEAR(s.stddev, b / std::sqrt(3.0), kRel * b / std::sqrt(3.0));
  // a = √5 gives U(-1/√fan_in, 1/√fan_in): PyTorch's default for Linear.
  nn::init::kaiming_uniform_(t, std::sqrt(5.0), gen);
  s = stats_of(t);
  EXPECT_LE(s.max_abs, 1.0 / std::sqrt(kFanIn) * (1 + 1e-12));
  EXPECT_GT(s.max_abs, 0.999 / std::sqrt(kFanIn));
}

TEST(Init, KaimingNormal) {
  Generator gen(4);
  Tensor t = Tensor::empty(kShape, DType::Float64);
  nn::init::kaiming_normal_(t, 0.0, gen);
  const double std_want = std::sqrt(2.0 / kFanIn);
  const Stats s = stats_of(t);
  EXPECT_NEAR(s.stddev, std_want, kRel * std_want);
  EXPECT_NEAR(s.mean, 0.0, 0.01 * std_want);
  // leaky ReLU slope a: gain √(2/(1 + a²))
  nn::init::kaiming_normal_(t, 1.0, gen);
  EXPECT_NEAR(stats_of(t).stddev, std::sqrt(1.0 / kFanIn), kRel * std::sqrt(1.0 / kFanIn));
}

TEST(Init, PlainFillsAndDeterminism) {
  Tensor t = Tensor::empty({50, 40}, DType::Float64);
  nn::init::ones_(t);
  EXPECT_EQ(stats_of(t).mean, 1.0);
  nn::init::zeros_(t);
  EXPECT_EQ(stats_of(t).max_abs, 0.0);
  Generator g1(7), g2(7);
  nn::init::uniform_(t, 2.0, 3.0, g1);
  Tensor u = Tensor::empty({50, 40}, DType::Float64);
  nn::init::uniform_(u, 2.0, 3.0, g2);
  EXPECT_EQ(max_abs_diff(t, u), 0.0);  // same seed, same bits
  const Stats s = stats_of(t);
  EXPECT_LE(amax(neg(t)).item(), -2.0);  // min ≥ 2
  EXPECT_LE(s.max_abs, 3.0);
  EXPECT_NEAR(s.mean, 2.5, 0.02);
  nn::init::normal_(t, -1.0, 0.5, g1);
  EXPECT_NEAR(stats_of(t).mean, -1.0, 0.05);
  EXPECT_NEAR(stats_of(t).stddev, 0.5, kRel * 0.5);
  // In place on a view: only the viewed elements change.
  Tensor big = Tensor::zeros({4, 6}, DType::Float64);
  Tensor col = big.narrow(1, 2, 1);
  nn::init::ones_(col);
  EXPECT_EQ(sum(big).item(), 4.0);
  EXPECT_EQ(sum(big.narrow(1, 2, 1)).item(), 4.0);
}

}  // namespace
}  // namespace minigrad
