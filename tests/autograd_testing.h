// Helpers for the gradient tests: inputs that keep away from the points where an
// op is not differentiable, and a gradcheck assertion that prints the failure.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
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
  return mul(mag, where(eq(sgn, Tensor::scalar(0, DType::Float64)),
                        Tensor::scalar(1, DType::Float64), sgn));
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

// Gradients by name: a module's parameters, or a cell's inputs.
using NamedGrads = std::vector<std::pair<std::string, Tensor>>;

// The gradient of every parameter of `m`, in registration order.
template <class Module>
NamedGrads param_grads(const Module& m) {
  NamedGrads out;
  for (const auto& [name, p] : m.named_parameters()) out.emplace_back(name, p.grad());
  return out;
}

// The names of the parameters of `m`, in registration order.
template <class Module>
std::vector<std::string> parameter_names(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, p] : m.named_parameters()) out.push_back(name);
  return out;
}

// Two paths (fused and composed) gave the same gradients: as many, each defined,
// and each within `tol` of the other (rel_diff). Fatal on a count or an undefined
// gradient; call it in ASSERT_NO_FATAL_FAILURE to stop the test there.
inline void expect_grads_agree(const NamedGrads& a, const NamedGrads& b, double tol,
                               const std::string& where) {
  ASSERT_EQ(a.size(), b.size()) << where;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(a[i].second.defined() && b[i].second.defined()) << where << ": grad " << a[i].first;
    EXPECT_LT(rel_diff(a[i].second, b[i].second), tol) << where << ": grad " << a[i].first;
  }
}

}  // namespace minigrad::testing
