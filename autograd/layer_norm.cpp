// Layer normalisation, twice: composed from existing ops (read this one first), and
// fused, with the backward written out by hand.
//
// Notation: one row is the N = Π normalized_shape numbers x_1..x_N that share a μ and
// a σ²; the leading dims of x index the rows.
//
//     μ = (1/N) Σ_j x_j        σ² = (1/N) Σ_j (x_j − μ)²        r = 1/√(σ² + eps)
//     x̂_j = (x_j − μ)·r         y_j = x̂_j·w_j + b_j
#include "minigrad/autograd/functions.h"

namespace minigrad {

namespace {

// The last k dims of x, as negative axes: {-k, ..., -1}.
std::vector<int64_t> trailing_axes(size_t k) {
  std::vector<int64_t> axes;
  for (size_t i = k; i > 0; --i) axes.push_back(-static_cast<int64_t>(i));
  return axes;
}

Tensor data_or_none(const Variable& v) { return v.defined() ? v.data() : Tensor(); }

}  // namespace

// The readable reference: one line per equation above; autograd derives the backward.
Variable layer_norm_composed(const Variable& x, const std::vector<int64_t>& normalized_shape,
                             const Variable& weight, const Variable& bias, double eps) {
  check_layer_norm("layer_norm_composed", x.data(), normalized_shape, data_or_none(weight),
                   data_or_none(bias));
  const std::vector<int64_t> axes = trailing_axes(normalized_shape.size());
  const Variable mu = mean(x, axes, true);             // μ, one per row
  const Variable centered = x - mu;                    // x − μ
  const Variable var = mean(centered * centered, axes, true);  // σ², biased
  Variable y = centered * rsqrt(var + eps);            // x̂ = (x − μ)/√(σ² + eps)
  if (weight.defined()) y = y * weight;                // ⊙ w
  if (bias.defined()) y = y + bias;                    // + b
  return y;
}

Variable layer_norm(const Variable& x, const std::vector<int64_t>& normalized_shape,
                    const Variable& weight, const Variable& bias, double eps) {
  check_layer_norm("layer_norm", x.data(), normalized_shape, data_or_none(weight),
                   data_or_none(bias));
  return layer_norm_composed(x, normalized_shape, weight, bias, eps);
}

}  // namespace minigrad
