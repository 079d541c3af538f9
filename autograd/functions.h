/// \file
/// Differentiable ops on Variables. Each is the Tensor op of the same name
/// (tensor/ops.h) plus its gradient, written side by side in
///
///     autograd/elementwise.cpp  + − × ÷ pow exp log sqrt tanh sigmoid relu abs max min where
///     autograd/reduce.cpp       sum mean amax softmax log_softmax
///     autograd/matmul.cpp       matmul
///     autograd/shape.cpp        views, concat, stack, split, index_select, gather
///
/// Inputs broadcast numpy-style; their gradients are summed back to each input's
/// shape by the engine (sum_to), so no op handles broadcasting in its backward.
#pragma once

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
Variable tanh(const Variable& x);
Variable sigmoid(const Variable& x);
Variable relu(const Variable& x);
Variable abs(const Variable& x);

/// cond ? a : b  (cond is a bool Tensor: masks carry no gradient)
Variable where(const Tensor& cond, const Variable& a, const Variable& b);
/// mask ? value : x
Variable masked_fill(const Variable& x, const Tensor& mask, double value);

// ---- reductions ----------------------------------------------------------------------------
Variable sum(const Variable& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Variable mean(const Variable& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Variable amax(const Variable& x, int64_t axis, bool keepdim = false);
Variable sum_to(const Variable& x, const Shape& shape);
Variable softmax(const Variable& x, int64_t axis);
Variable log_softmax(const Variable& x, int64_t axis);

// ---- matrix multiply -------------------------------------------------------------------------
/// torch.matmul (tensor/ops.h has the shapes: 1-D operands, broadcast batch axes);
/// transposes are views: `matmul(x, w.mT())`. Its gradient is two matmuls on views,
/// gA = gC·Bᵀ and gB = Aᵀ·gC (autograd/matmul.cpp).
Variable matmul(const Variable& a, const Variable& b);

// ---- shape -------------------------------------------------------------------------------------
Variable reshape(const Variable& x, const Shape& shape);
Variable transpose(const Variable& x, int64_t axis0, int64_t axis1);
Variable permute(const Variable& x, const std::vector<int64_t>& order);
Variable narrow(const Variable& x, int64_t axis, int64_t start, int64_t length);
Variable select(const Variable& x, int64_t axis, int64_t index);
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
inline Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
inline Variable operator-(const Variable& a, const Variable& b) { return sub(a, b); }
inline Variable operator*(const Variable& a, const Variable& b) { return mul(a, b); }
inline Variable operator/(const Variable& a, const Variable& b) { return div(a, b); }
inline Variable operator-(const Variable& a) { return neg(a); }
inline Variable operator+(const Variable& a, double b) { return add(a, b); }
inline Variable operator-(const Variable& a, double b) { return sub(a, b); }
inline Variable operator*(const Variable& a, double b) { return mul(a, b); }
inline Variable operator/(const Variable& a, double b) { return div(a, b); }
inline Variable operator+(double a, const Variable& b) { return add(b, a); }
inline Variable operator-(double a, const Variable& b) { return rsub(a, b); }
inline Variable operator*(double a, const Variable& b) { return mul(b, a); }
inline Variable operator/(double a, const Variable& b) { return rdiv(a, b); }

}  // namespace minigrad
