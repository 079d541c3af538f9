// Layer normalisation, twice: composed from existing ops (read this one first), and
// fused, with the backward written out by hand. Tests (tests/test_layer_norm.cpp)
// check that they agree.
//
// Notation: one row is the N = Π normalized_shape numbers x_1..x_N that share a μ and
// a σ²; the leading dims of x index the rows; g = dy ⊙ w is the gradient at x̂.
//
//   forward                                  backward
//   μ  = (1/N) Σ_j x_j                       dw_j = Σ_rows dy_j · x̂_j
//   σ² = (1/N) Σ_j (x_j − μ)²   (biased)     db_j = Σ_rows dy_j
//   r  = 1/√(σ² + eps)                       dx_k = r·(g_k − mean(g) − x̂_k·mean(g ⊙ x̂))
//   x̂_j = (x_j − μ)·r
//   y_j = x̂_j·w_j + b_j
//
// dx has three terms because μ and r depend on every x of the row: the direct path
// r·g_k, minus the share each x_k has in μ, minus its share in σ²
// (tensor/layer_norm.cpp derives it).
#include <utility>

#include "minigrad/autograd/functions.h"

namespace minigrad {

using Gs = std::vector<Tensor>;

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

// The fused kernel (tensor/layer_norm.cpp): the forward column above in one pass per
// row, μ and r saved; the backward column, also one pass per row (dw, db one more).
Variable layer_norm(const Variable& x, const std::vector<int64_t>& normalized_shape,
                    const Variable& weight, const Variable& bias, double eps) {
  const Tensor xd = x.data(), wd = data_or_none(weight);
  LayerNormForward f = layer_norm_forward(xd, normalized_shape, wd, data_or_none(bias), eps);
  return record("layer_norm", std::move(f.y), {x, weight, bias},
                [xd, wd, mean = f.mean, rstd = f.rstd](const Gs& gy, Grads& g) {
                  LayerNormBackward d = layer_norm_backward(gy[0], xd, mean, rstd, wd);
                  if (g.needs(0)) g[0] = std::move(d.dx);
                  if (g.needs(1)) g[1] = std::move(d.dweight);
                  // without a weight the kernel has no column pass: the engine sums dy
                  // over the leading dims, as it undoes any broadcast
                  if (g.needs(2)) g[2] = wd.defined() ? std::move(d.dbias) : gy[0];
                });
}

}  // namespace minigrad
