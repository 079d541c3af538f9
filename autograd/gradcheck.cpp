#include "minigrad/autograd/gradcheck.h"
#include "minigrad/tensor/check.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace minigrad {
namespace {

std::string index_string(const Shape& shape, int64_t flat) {
  Shape idx;
  idx.resize(shape.size());
  for (int d = shape.size() - 1; d >= 0; --d) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return idx.str();
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  std::vector<Variable> leaves;
  for (size_t i = 0; i < inputs.size(); ++i) {
    MINIGRAD_CHECK(inputs[i].dtype() == DType::Float64)
        << "gradcheck: input " << i << " is " << dtype_name(inputs[i].dtype())
        << "; central differences need float64 inputs (use .to(DType::Float64))";
    leaves.push_back(Variable(inputs[i].clone()).requires_grad_());
  }

  const Variable out = f(leaves);
  if (!out.requires_grad()) {
    return {false, "gradcheck: the output does not depend on any input (no graph was recorded)"};
  }
  MINIGRAD_CHECK(out.dtype() == DType::Float64)
      << "gradcheck: the output is " << dtype_name(out.dtype()) << ", expected float64";
  const int64_t n_out = out.numel();

  // analytic[i] is [n_out, numel(input i)]: row j is ∂out_j/∂input_i from backward.
  std::vector<std::vector<double>> analytic(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    analytic[i].assign(static_cast<size_t>(n_out * inputs[i].numel()), 0.0);
  for (int64_t j = 0; j < n_out; ++j) {
    for (Variable& v : leaves) v.zero_grad();
    Tensor seed = Tensor::zeros(out.shape(), DType::Float64);
    seed.data<double>()[j] = 1.0;
    out.backward(seed, /*retain_graph=*/true);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!leaves[i].has_grad()) continue;
      if (leaves[i].grad().shape() != inputs[i].shape()) {
        return {false, "gradcheck: the gradient of input " + std::to_string(i) + " has shape " +
                           leaves[i].grad().shape().str() + ", the input has " +
                           inputs[i].shape().str()};
      }
      const std::vector<double> g = leaves[i].grad().to_vector<double>();
      std::copy(g.begin(), g.end(), analytic[i].begin() + j * inputs[i].numel());
    }
  }

  NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    double* x = leaves[i].mutable_data().data<double>();
    const int64_t n_in = inputs[i].numel();
    for (int64_t e = 0; e < n_in; ++e) {
      const double saved = x[e];
      x[e] = saved + options.eps;
      const std::vector<double> plus = f(leaves).data().to_vector<double>();
      x[e] = saved - options.eps;
      const std::vector<double> minus = f(leaves).data().to_vector<double>();
      x[e] = saved;
      for (int64_t j = 0; j < n_out; ++j) {
        const double numeric =
            (plus[static_cast<size_t>(j)] - minus[static_cast<size_t>(j)]) / (2 * options.eps);
        const double a = analytic[i][static_cast<size_t>(j * n_in + e)];
        if (!(std::abs(a - numeric) <= options.atol + options.rtol * std::abs(numeric))) {
          std::ostringstream msg;
          msg.precision(10);
          msg << "gradcheck failed for '" << out.op_name() << "': input " << i << " "
              << inputs[i].shape() << ", element " << index_string(inputs[i].shape(), e)
              << ", output element " << index_string(out.shape(), j) << ": numeric " << numeric
              << ", analytic " << a << " (difference " << a - numeric << ")";
          return {false, msg.str()};
        }
      }
    }
  }
  return {true, ""};
}

}  // namespace minigrad
