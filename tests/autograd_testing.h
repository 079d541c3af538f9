// Helpers for the gradient tests: inputs that keep away from the points where an
// op is not differentiable, and a gradcheck assertion that prints the failure.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "minigrad/autograd/functions.h"
#include "minigrad/autograd/gradcheck.h"
#include "testing.h"

namespace minigrad::testing {

using Vars = std::vector<Variable>;

// float64 in [low, high)
inline Tensor input(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0) {
  return uniform(shape, seed, low, high, DType::Float64);
}

// float64 with |x| in [0.2, 1) and a random sign: far (for ε = 1e-6) from the
// kinks of relu and abs at 0.
inline Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  const Tensor mag = uniform(shape, seed, 0.2, 1.0, DType::Float64);
  const Tensor sgn = sign(uniform(shape, seed + 1000, -1.0, 1.0, DType::Float64));
  return mul(mag, where(eq(sgn, Tensor::scalar(0, DType::Float64)), Tensor::scalar(1, DType::Float64), sgn));
}

// max |a − b| relative to max |b|, in float64: how far a fused kernel is from its
// composed reference.
inline double rel_diff(const Tensor& a, const Tensor& b) {
  const double scale = amax(abs(b.to(DType::Float64))).item();
  return max_abs_diff(a.to(DType::Float64), b.to(DType::Float64)) / (scale > 0 ? scale : 1.0);
}

// Gradcheck as a gtest assertion: EXPECT_TRUE(grad_ok(f, {x, y})).
inline ::testing::AssertionResult grad_ok(const GradcheckFn& f, const std::vector<Tensor>& inputs) {
  const GradcheckResult r = gradcheck(f, inputs);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.message;
}

}  // namespace minigrad::testing
