/// \file
/// gradcheck: does an op's backward agree with its forward?
///
/// The analytic Jacobian comes from backward() (one pass per output element);
/// the numeric one from central differences,
///
///     ∂f_j/∂x_i ≈ (f_j(x + ε·e_i) - f_j(x - ε·e_i)) / 2ε,
///
/// whose error is O(ε²) plus rounding of order machine-epsilon·|f|/ε. In float32
/// that rounding (~1e-7/1e-6) swamps the signal, so gradcheck insists on float64
/// inputs, as PyTorch does: then both errors are ~1e-10 and a real bug stands out.
///
///     auto r = gradcheck([](const std::vector<Variable>& x) { return tanh(x[0]); },
///                        {randn({3, 4}, 0, 1, DType::Float64)});
///     EXPECT_TRUE(r.ok) << r.message;
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "minigrad/autograd/variable.h"

namespace minigrad {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-4;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  ///< on failure: input, element index, numeric and analytic values
  explicit operator bool() const { return ok; }
};

using GradcheckFn = std::function<Variable(const std::vector<Variable>&)>;

/// Every input is a float64 Tensor that becomes a leaf requiring grad; f may return
/// any shape. Integer arguments (indices, masks) belong inside f, not in inputs.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace minigrad
