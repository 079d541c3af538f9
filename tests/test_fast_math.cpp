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

// Each fast function beside its reference, computed in double.
const auto kFastExp = [](float x) { return fast::exp(x); };
const auto kExactExp = [](double x) { return std::exp(x); };
const auto kFastTanh = [](float x) { return fast::tanh(x); };
const auto kExactTanh = [](double x) { return std::tanh(x); };
const auto kFastSigmoid = [](float x) { return fast::sigmoid(x); };
const auto kExactSigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
const auto kFastErf = [](float x) { return fast::erf(x); };
const auto kExactErf = [](double x) { return std::erf(x); };

// Asserts the worst relative error over xs is below `bound` ulps, and records it in
// the test's XML output as `property`.
template <class Fast, class Exact>
void expect_ulps_below(const char* property, const std::vector<float>& xs, Fast fast, Exact exact,
                       double floor, double bound) {
  const double ulps = worst_relative_ulps(xs, fast, exact, floor);
  EXPECT_LT(ulps, bound) << property;
  ::testing::Test::RecordProperty(property, std::to_string(ulps));
}

TEST(FastMath, ExpIsWithinTwoUlps) {
  expect_ulps_below("exp_worst_ulps", arguments(-87.0f, 88.5f, 1), kFastExp, kExactExp, 0, 2.0);
  // Near zero, where softmax spends its time.
  expect_ulps_below("exp_near_zero_worst_ulps", arguments(-1.0f, 1.0f, 2), kFastExp, kExactExp, 0,
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
  expect_ulps_below("tanh_worst_ulps", arguments(-10.0f, 10.0f, 3), kFastTanh, kExactTanh, 0, 4.0);
  // Small arguments: tanh x ≈ x, where 1 − 2/(e^{2x}+1) would cancel. The polynomial
  // keeps the relative error small down to tiny x.
  expect_ulps_below("tanh_tiny_worst_ulps", arguments(-1e-3f, 1e-3f, 4), kFastTanh, kExactTanh,
                    1e-30, 2.0);
  EXPECT_EQ(fast::tanh(0.0f), 0.0f);
  EXPECT_EQ(fast::tanh(kInf), 1.0f);
  EXPECT_EQ(fast::tanh(-kInf), -1.0f);
  EXPECT_EQ(fast::tanh(50.0f), 1.0f);
  EXPECT_TRUE(std::isnan(fast::tanh(kNaN)));
}

TEST(FastMath, SigmoidIsWithinAFewUlps) {
  expect_ulps_below("sigmoid_worst_ulps", arguments(-80.0f, 20.0f, 5), kFastSigmoid, kExactSigmoid,
                    1e-30, 4.0);
  EXPECT_EQ(fast::sigmoid(-kInf), 0.0f);
  EXPECT_EQ(fast::sigmoid(-200.0f), 0.0f);
  EXPECT_EQ(fast::sigmoid(kInf), 1.0f);
  EXPECT_EQ(fast::sigmoid(0.0f), 0.5f);
  EXPECT_TRUE(std::isnan(fast::sigmoid(kNaN)));
}

TEST(FastMath, ErfIsWithinAFewUlps) {
  // both branches and the switch between them at |x| = 1 and |x| = 4
  expect_ulps_below("erf_worst_ulps", arguments(-6.0f, 6.0f, 6), kFastErf, kExactErf, 0, 4.0);
  expect_ulps_below("erf_near_one_worst_ulps", arguments(0.9f, 1.1f, 7), kFastErf, kExactErf, 0,
                    4.0);
  // tiny arguments: erf x ≈ 2x/√π, kept to a relative error of a few ulps
  expect_ulps_below("erf_tiny_worst_ulps", arguments(-1e-3f, 1e-3f, 8), kFastErf, kExactErf,
                    1e-30, 4.0);
  EXPECT_EQ(fast::erf(0.0f), 0.0f);
  EXPECT_TRUE(std::signbit(fast::erf(-0.0f)));
  EXPECT_EQ(fast::erf(4.0f), 1.0f);
  EXPECT_EQ(fast::erf(kInf), 1.0f);
  EXPECT_EQ(fast::erf(-kInf), -1.0f);
  EXPECT_TRUE(std::isnan(fast::erf(kNaN)));
}

TEST(FastMath, DoubleOverloadsAreLibm) {
  for (const double x : {-700.0, -3.5, -1e-9, 0.0, 0.25, 2.0, 30.0, 700.0}) {
    EXPECT_EQ(fast::exp(x), std::exp(x)) << x;
    EXPECT_EQ(fast::tanh(x), std::tanh(x)) << x;
    EXPECT_EQ(fast::erf(x), std::erf(x)) << x;
    const double s = x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
    EXPECT_EQ(fast::sigmoid(x), s) << x;
  }
}

}  // namespace
}  // namespace minigrad
