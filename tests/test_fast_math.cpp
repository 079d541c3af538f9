// tensor/fast_math.h: the vectorisable exp, tanh and sigmoid against the
// double-precision libm functions, over a million arguments and at every special
// value, plus the double overloads being libm itself.
#include "minigrad/tensor/fast_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "minigrad/tensor/random.h"

namespace minigrad {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kFloatEps = 0x1.0p-23;  // 1 ulp of 1.0f

// A million floats: uniform on [lo, hi].
std::vector<float> arguments(float lo, float hi, uint64_t seed) {
  Generator gen(seed);
  std::vector<float> xs(1'000'000);
  for (float& x : xs) x = static_cast<float>(lo + (hi - lo) * gen.uniform());
  return xs;
}

// The largest |fast − exact| / |exact|, in units of float epsilon, over xs where
// |exact| ≥ floor (below it, the absolute error is what counts and is checked apart).
template <class Fast, class Exact>
double worst_relative_ulps(const std::vector<float>& xs, Fast fast, Exact exact, double floor) {
  double worst = 0;
  for (const float x : xs) {
    const double want = exact(static_cast<double>(x));
    if (std::fabs(want) < floor) continue;
    worst = std::max(worst, std::fabs(static_cast<double>(fast(x)) - want) / std::fabs(want) / kFloatEps);
  }
  return worst;
}

TEST(FastMath, ExpIsWithinTwoUlps) {
  const auto xs = arguments(-87.0f, 88.5f, 1);
  const double ulps = worst_relative_ulps(xs, [](float x) { return fast::exp(x); },
                                          [](double x) { return std::exp(x); }, 0);
  EXPECT_LT(ulps, 2.0);
  RecordProperty("exp_worst_ulps", std::to_string(ulps));
  // Near zero, where softmax spends its time.
  const auto near = arguments(-1.0f, 1.0f, 2);
  EXPECT_LT(worst_relative_ulps(near, [](float x) { return fast::exp(x); },
                                [](double x) { return std::exp(x); }, 0),
            2.0);
}

TEST(FastMath, ExpSubnormalsAndSpecialValues) {
  // Subnormal results: the absolute error is a fraction of the smallest subnormal step.
  for (const float x : {-87.5f, -90.0f, -95.0f, -100.0f, -103.0f}) {
    const double want = std::exp(static_cast<double>(x));
    EXPECT_NEAR(fast::exp(x), want, 2 * std::numeric_limits<float>::denorm_min()) << x;
  }
  EXPECT_EQ(fast::exp(-kInf), 0.0f);
  EXPECT_EQ(fast::exp(-104.0f), 0.0f);
  EXPECT_EQ(fast::exp(kInf), kInf);
  EXPECT_EQ(fast::exp(89.0f), kInf);
  EXPECT_TRUE(std::isfinite(fast::exp(88.72f)));
  EXPECT_EQ(fast::exp(0.0f), 1.0f);
  EXPECT_TRUE(std::isnan(fast::exp(kNaN)));
}

TEST(FastMath, TanhIsWithinAFewUlps) {
  const auto xs = arguments(-10.0f, 10.0f, 3);
  const double ulps = worst_relative_ulps(xs, [](float x) { return fast::tanh(x); },
                                          [](double x) { return std::tanh(x); }, 0);
  EXPECT_LT(ulps, 4.0);
  RecordProperty("tanh_worst_ulps", std::to_string(ulps));
  // Small arguments: tanh x ≈ x, where 1 − 2/(e^{2x}+1) would cancel. The polynomial
  // keeps the relative error small down to tiny x.
  const auto tiny = arguments(-1e-3f, 1e-3f, 4);
  EXPECT_LT(worst_relative_ulps(tiny, [](float x) { return fast::tanh(x); },
                                [](double x) { return std::tanh(x); }, 1e-30),
            2.0);
  EXPECT_EQ(fast::tanh(0.0f), 0.0f);
  EXPECT_EQ(fast::tanh(kInf), 1.0f);
  EXPECT_EQ(fast::tanh(-kInf), -1.0f);
  EXPECT_EQ(fast::tanh(50.0f), 1.0f);
  EXPECT_TRUE(std::isnan(fast::tanh(kNaN)));
}

TEST(FastMath, SigmoidIsWithinAFewUlps) {
  const auto xs = arguments(-80.0f, 20.0f, 5);
  const double ulps = worst_relative_ulps(xs, [](float x) { return fast::sigmoid(x); },
                                          [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, 1e-30);
  EXPECT_LT(ulps, 4.0);
  RecordProperty("sigmoid_worst_ulps", std::to_string(ulps));
  EXPECT_EQ(fast::sigmoid(-kInf), 0.0f);
  EXPECT_EQ(fast::sigmoid(-200.0f), 0.0f);
  EXPECT_EQ(fast::sigmoid(kInf), 1.0f);
  EXPECT_EQ(fast::sigmoid(0.0f), 0.5f);
  EXPECT_TRUE(std::isnan(fast::sigmoid(kNaN)));
}

TEST(FastMath, DoubleOverloadsAreLibm) {
  for (const double x : {-700.0, -3.5, -1e-9, 0.0, 0.25, 2.0, 30.0, 700.0}) {
    EXPECT_EQ(fast::exp(x), std::exp(x)) << x;
    EXPECT_EQ(fast::tanh(x), std::tanh(x)) << x;
    const double s = x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
    EXPECT_EQ(fast::sigmoid(x), s) << x;
  }
}

}  // namespace
}  // namespace minigrad
