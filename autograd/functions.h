/// \file
/// Differentiable ops on Variables. Each is the Tensor op of the same name
/// (tensor/ops.h) plus its gradient, written side by side in
///
///     autograd/elementwise.cpp  + − × ÷ pow exp log sqrt rsqrt tanh sigmoid relu abs clamp
///                               maximum minimum where masked_fill gelu
///     autograd/reduce.cpp       sum mean amax amin softmax log_softmax
///     autograd/layer_norm.cpp   layer_norm (fused) and layer_norm_composed
///     autograd/matmul.cpp       matmul
///     autograd/shape.cpp        views, slice, flatten, concat, stack, split, index_select, gather
///
/// Variable's methods (x.sum(), x.exp(), ...) are one-line calls of these
/// (autograd/methods.cpp). Inputs broadcast numpy-style; their gradients are summed
/// back to each input's shape by the engine (sum_to), so no op handles broadcasting
/// in its backward.
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "minigrad/autograd/variable.h"

namespace minigrad {

// ---- element-wise ------------------------------------------------------------------------
Variable add(const Variable& a, const Variable& b);
Variable sub(const Variable& a, const Variable& b);
Variable mul(const Variable& a, const Variable& b);
Variable div(const Variable& a, const Variable& b);
Variable pow(const Variable& a, const Variable& b);
Variable maximum(const Variable& a, const Variable& b);
Variable minimum(const Variable& a, const Variable& b);
Variable add(const Variable& a, double b);
Variable sub(const Variable& a, double b);
Variable rsub(double a, const Variable& b);
Variable mul(const Variable& a, double b);
Variable div(const Variable& a, double b);
Variable rdiv(double a, const Variable& b);
Variable pow(const Variable& a, double exponent);

Variable neg(const Variable& x);
Variable exp(const Variable& x);
Variable log(const Variable& x);
Variable sqrt(const Variable& x);
Variable rsqrt(const Variable& x);  ///< 1/√x
Variable tanh(const Variable& x);
Variable sigmoid(const Variable& x);
Variable relu(const Variable& x);
Variable abs(const Variable& x);
/// min(max(x, min), max), as torch.clamp: either bound may be absent (not both);
/// the gradient is 1 where min ≤ x ≤ max (bounds included) and 0 elsewhere.
Variable clamp(const Variable& x, std::optional<double> min,
               std::optional<double> max = std::nullopt);

/// cond ? a : b  (cond is a bool Tensor: masks carry no gradient)
Variable where(const Tensor& cond, const Variable& a, const Variable& b);
/// mask ? value : x
Variable masked_fill(const Variable& x, const Tensor& mask, double value);

// ---- reductions ----------------------------------------------------------------------------
Variable sum(const Variable& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Variable mean(const Variable& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
///@{
/// The largest (amax) or smallest (amin) element over the axes (all when empty), as
/// torch.amax / torch.amin: tied extrema share the gradient evenly.
Variable amax(const Variable& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Variable amin(const Variable& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
/// One axis (a template so that `amax(x, {})` still means every axis, not axis 0).
template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
Variable amax(const Variable& x, Int axis, bool keepdim = false) {
  return amax(x, std::vector<int64_t>{static_cast<int64_t>(axis)}, keepdim);
}
template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
Variable amin(const Variable& x, Int axis, bool keepdim = false) {
  return amin(x, std::vector<int64_t>{static_cast<int64_t>(axis)}, keepdim);
}
///@}
Variable sum_to(const Variable& x, const Shape& shape);
Variable softmax(const Variable& x, int64_t axis);
Variable log_softmax(const Variable& x, int64_t axis);

// ---- activations and normalisation ----------------------------------------------------------
/// GELU, as torch.nn.functional.gelu (the Transformer's feed-forward activation):
///
///     "none":  y = x·Φ(x) = ½x(1 + erf(x/√2))              dy/dx = Φ(x) + x·φ(x)
///     "tanh":  y = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))    (the approximation GPT-2 used)
///
/// with Φ, φ the standard normal's distribution and density.
/// \param x float32 or float64
/// \param approximate "none" (exact) or "tanh"
/// \throws std::invalid_argument naming gelu for any other approximate
Variable gelu(const Variable& x, const std::string& approximate = "none");

/// Layer normalisation over the trailing dims, as torch.nn.functional.layer_norm:
/// each slice x[i, ...] over the last k = normalized_shape.size() dims is one row of
/// N = Π normalized_shape numbers, and
///
///     μ = (1/N) Σ x             σ² = (1/N) Σ (x − μ)²   (biased, as PyTorch)
///     x̂ = (x − μ) / √(σ² + eps)
///     y = x̂ ⊙ weight + bias     (weight and bias of shape normalized_shape; either may
///                               be undefined: no scale, no shift)
///
/// The fused kernel: one pass per row forward (μ and 1/√(σ² + eps) kept for backward),
/// a hand-written backward (autograd/layer_norm.cpp has the derivation).
/// \param x float32 or float64, of shape [*, normalized_shape...]
/// \param normalized_shape the sizes of x's last dims, at least one
/// \param weight the scale γ, of shape normalized_shape, or undefined
/// \param bias the shift β, of shape normalized_shape, or undefined
/// \param eps added to the variance, so a constant row divides by √eps, not by 0
/// \throws std::invalid_argument naming layer_norm and the shapes when x does not end in
///         normalized_shape or weight or bias has another shape or dtype
Variable layer_norm(const Variable& x, const std::vector<int64_t>& normalized_shape,
                    const Variable& weight = {}, const Variable& bias = {}, double eps = 1e-5);
/// layer_norm built from mean, −, ×, rsqrt and +, one line per equation: the readable
/// reference the fused layer_norm is tested against. Same arguments and checks.
Variable layer_norm_composed(const Variable& x, const std::vector<int64_t>& normalized_shape,
                             const Variable& weight = {}, const Variable& bias = {},
                             double eps = 1e-5);

// ---- matrix multiply -------------------------------------------------------------------------
/// torch.matmul (tensor/ops.h has the shapes: 1-D operands, broadcast batch axes);
/// transposes are views: `matmul(x, w.mT())`. Its gradient is two matmuls on views,
/// gA = gC·Bᵀ and gB = Aᵀ·gC (autograd/matmul.cpp).
Variable matmul(const Variable& a, const Variable& b);

// ---- shape -------------------------------------------------------------------------------------
Variable reshape(const Variable& x, const Shape& shape);
/// reshape that never copies: throws where Tensor::view would.
Variable view(const Variable& x, const Shape& shape);
/// Axes start_dim..end_dim merged into one, as torch.flatten.
Variable flatten(const Variable& x, int64_t start_dim = 0, int64_t end_dim = -1);
Variable transpose(const Variable& x, int64_t axis0, int64_t axis1);
Variable permute(const Variable& x, const std::vector<int64_t>& order);
/// Elements [start, start+length) along axis; a negative start counts from the end.
Variable narrow(const Variable& x, int64_t axis, int64_t start, int64_t length);
/// x[start:end:step] along axis, as libtorch's Tensor::slice: a view (no copy),
/// start and end default to the ends, negative ones count from the end, step > 0.
Variable slice(const Variable& x, int64_t axis = 0, std::optional<int64_t> start = std::nullopt,
               std::optional<int64_t> end = std::nullopt, int64_t step = 1);
Variable select(const Variable& x, int64_t axis, int64_t index);
Variable squeeze(const Variable& x);  ///< every size-1 axis removed
Variable squeeze(const Variable& x, int64_t axis);
Variable unsqueeze(const Variable& x, int64_t axis);
Variable expand(const Variable& x, const Shape& shape);
Variable concat(const std::vector<Variable>& xs, int64_t axis);
Variable stack(const std::vector<Variable>& xs, int64_t axis);
std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int64_t axis);
std::vector<Variable> split(const Variable& x, int64_t chunk, int64_t axis);
/// The slices x[0], x[1], ... along axis, as one node: its backward stacks the
/// slices' gradients once, instead of each slice scattering into a full-size zero
/// tensor (which would make a T-step RNN cost O(T²) in its backward).
std::vector<Variable> unbind(const Variable& x, int64_t axis);
Variable index_select(const Variable& x, int64_t axis, const Tensor& index);
Variable gather(const Variable& x, int64_t axis, const Tensor& index);

// ---- operators ---------------------------------------------------------------------------------
//
// + − × ÷ between Variables, Tensors and doubles in either order. A Tensor operand is
// a constant: it is wrapped in a Variable that requires no gradient, so no gradient
// flows to it (as a tensor with requires_grad = false in PyTorch).

///@{
/// a ⊕ b with a, b Variables: add, sub, mul, div.
inline Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
inline Variable operator-(const Variable& a, const Variable& b) { return sub(a, b); }
inline Variable operator*(const Variable& a, const Variable& b) { return mul(a, b); }
inline Variable operator/(const Variable& a, const Variable& b) { return div(a, b); }
inline Variable operator-(const Variable& a) { return neg(a); }
///@}
///@{
/// A Variable and a constant Tensor, either order: the Tensor gets no gradient.
inline Variable operator+(const Variable& a, const Tensor& b) { return add(a, Variable(b)); }
inline Variable operator-(const Variable& a, const Tensor& b) { return sub(a, Variable(b)); }
inline Variable operator*(const Variable& a, const Tensor& b) { return mul(a, Variable(b)); }
inline Variable operator/(const Variable& a, const Tensor& b) { return div(a, Variable(b)); }
inline Variable operator+(const Tensor& a, const Variable& b) { return add(Variable(a), b); }
inline Variable operator-(const Tensor& a, const Variable& b) { return sub(Variable(a), b); }
inline Variable operator*(const Tensor& a, const Variable& b) { return mul(Variable(a), b); }
inline Variable operator/(const Tensor& a, const Variable& b) { return div(Variable(a), b); }
///@}
///@{
/// A Variable and a scalar, either order.
inline Variable operator+(const Variable& a, double b) { return add(a, b); }
inline Variable operator-(const Variable& a, double b) { return sub(a, b); }
inline Variable operator*(const Variable& a, double b) { return mul(a, b); }
inline Variable operator/(const Variable& a, double b) { return div(a, b); }
inline Variable operator+(double a, const Variable& b) { return add(b, a); }
inline Variable operator-(double a, const Variable& b) { return rsub(a, b); }
inline Variable operator*(double a, const Variable& b) { return mul(b, a); }
inline Variable operator/(double a, const Variable& b) { return rdiv(a, b); }
///@}

///@{
/// Compound assignment REBINDS the name: `x += y` is `x = x + y`, a new node whose
/// input is the old x. Nothing is overwritten, so every op that saved the old value
/// for its backward still finds it:
///
///     Variable y = x * x;   // mul saved x (and y's old value lives on in the graph)
///     Variable z = y;       // z and y name the same node
///     y += 1;               // y is now a new node add(y_old, 1); z still is y_old
///     z.sum().backward();   // dz/dx = 2x, as before the +=
///
/// PyTorch's `+=` is in place instead: it overwrites the storage and checks a version
/// counter on every saved tensor, raising when backward would read an overwritten
/// value. minigrad has no version counters, so its `+=` never writes in place.
inline Variable& operator+=(Variable& a, const Variable& b) { return a = a + b; }
inline Variable& operator-=(Variable& a, const Variable& b) { return a = a - b; }
inline Variable& operator*=(Variable& a, const Variable& b) { return a = a * b; }
inline Variable& operator/=(Variable& a, const Variable& b) { return a = a / b; }
inline Variable& operator+=(Variable& a, const Tensor& b) { return a = a + b; }
inline Variable& operator-=(Variable& a, const Tensor& b) { return a = a - b; }
inline Variable& operator*=(Variable& a, const Tensor& b) { return a = a * b; }
inline Variable& operator/=(Variable& a, const Tensor& b) { return a = a / b; }
inline Variable& operator+=(Variable& a, double b) { return a = a + b; }
inline Variable& operator-=(Variable& a, double b) { return a = a - b; }
inline Variable& operator*=(Variable& a, double b) { return a = a * b; }
inline Variable& operator/=(Variable& a, double b) { return a = a / b; }
///@}

}  // namespace minigrad
