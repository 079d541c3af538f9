/// \file
/// Numeric kernels on Tensors: element-wise math with numpy broadcasting,
/// reductions, softmax, matmul, joining and indexing. Every function returns a
/// new tensor (or a view, where it says so) and leaves its inputs untouched.
///
/// Errors: a shape mismatch throws std::invalid_argument naming the op and the
/// shapes, e.g. "add: [2,3] and [4]: sizes 3 and 4 cannot broadcast"; an axis or
/// index out of range throws std::out_of_range.
#pragma once

#include <optional>
#include <type_traits>
#include <vector>

#include "minigrad/tensor/tensor.h"

namespace minigrad {

// ---- element-wise, binary (broadcasting) ----------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);  ///< a^b element-wise
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

// with a scalar
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor rsub(double a, const Tensor& b);  ///< a - b
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor rdiv(double a, const Tensor& b);  ///< a / b
Tensor pow(const Tensor& a, double exponent);

// ---- element-wise, unary ---------------------------------------------------------------
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor rsqrt(const Tensor& a);  ///< 1/√x
Tensor tanh(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor relu(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor sign(const Tensor& a);  ///< -1, 0 or 1
/// min(max(x, min), max) element-wise, as torch.clamp: either bound may be absent
/// (not both), min > max gives max everywhere, and NaN (in x or a bound) propagates.
Tensor clamp(const Tensor& a, std::optional<double> min, std::optional<double> max = std::nullopt);

// ---- comparisons: bool masks -------------------------------------------------------------
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor logical_not(const Tensor& mask);

/// out = cond ? a : b   (cond is a bool mask; all three broadcast together)
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// out = mask ? value : a   (mask broadcasts to a's shape)
Tensor masked_fill(const Tensor& a, const Tensor& mask, double value);

/// True when every element is finite (no NaN or ±inf).
bool all_finite(const Tensor& a);
/// True when a and b have the same shape and |a - b| <= atol + rtol·|b| everywhere.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
/// max |a - b| (shapes must match).
double max_abs_diff(const Tensor& a, const Tensor& b);

// ---- reductions --------------------------------------------------------------------------
///@{
/// Over the listed axes (all axes when empty). keepdim leaves them as size 1.
Tensor sum(const Tensor& a, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& a, const std::vector<int64_t>& axes = {}, bool keepdim = false);
///@}
///@{
/// The largest (amax) or smallest (amin) value over the listed axes (all axes when
/// empty), as torch.amax / torch.amin: NaN wins, and reducing zero elements throws.
/// The one-axis forms are templates so that `amax(a, {})` means every axis, not axis 0.
Tensor amax(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim = false);
Tensor amax(const Tensor& a);
Tensor amin(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim = false);
Tensor amin(const Tensor& a);
template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
Tensor amax(const Tensor& a, Int axis, bool keepdim = false) {
  return amax(a, std::vector<int64_t>{static_cast<int64_t>(axis)}, keepdim);
}
template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
Tensor amin(const Tensor& a, Int axis, bool keepdim = false) {
  return amin(a, std::vector<int64_t>{static_cast<int64_t>(axis)}, keepdim);
}
///@}
Tensor argmax(const Tensor& a, int64_t axis, bool keepdim = false);  ///< int64 indices

/// Sums a broadcast result back to `shape`: the inverse of expand(), the one place
/// where autograd undoes broadcasting.  sum_to([2,3,4] → [3,1]) sums axis 0 and 2.
Tensor sum_to(const Tensor& a, const Shape& shape);

// ---- softmax ------------------------------------------------------------------------------
/// softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m),  m = max_j x_j  (m keeps exp from
/// overflowing). A row that is entirely -inf (every key masked) has no defined
/// softmax; minigrad returns all zeros for it, so a fully masked query attends to
/// nothing and its context is the zero vector.
Tensor softmax(const Tensor& x, int64_t axis);
/// log_softmax(x)_i = x_i - m - log Σ_j exp(x_j - m); a fully -inf row gives -inf.
Tensor log_softmax(const Tensor& x, int64_t axis);
/// The vector-Jacobian product of y = softmax(x):  gx = y ⊙ (gy − Σ_j gy_j y_j) along
/// `axis` (∂y_i/∂x_j = y_i(δ_ij − y_j)), in one pass over each row. y and gy must have
/// the same shape and dtype (std::invalid_argument otherwise).
Tensor softmax_backward(const Tensor& y, const Tensor& gy, int64_t axis);

// ---- matrix multiply -------------------------------------------------------------------------
/// C = op(A) · op(B), op(X) = Xᵀ when its flag is set (the transpose is read through
/// the strides; nothing is copied). A and B are 2-D, or batched [..., m, k] with the
/// batch axes broadcasting numpy-style. 1-D operands are not promoted; reshape them.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
/// The textbook triple loop, kept as the reference the fast kernel is tested against.
Tensor matmul_reference(const Tensor& a, const Tensor& b, bool transpose_a = false,
                        bool transpose_b = false);

// ---- joining and splitting --------------------------------------------------------------------
Tensor concat(const std::vector<Tensor>& tensors, int64_t axis);
Tensor stack(const std::vector<Tensor>& tensors, int64_t axis);
/// Views of consecutive pieces of the given sizes along axis (sizes must add up).
std::vector<Tensor> split(const Tensor& a, const std::vector<int64_t>& sizes, int64_t axis);
/// Views of pieces of `chunk` elements (the last may be smaller).
std::vector<Tensor> split(const Tensor& a, int64_t chunk, int64_t axis);

// ---- indexing ---------------------------------------------------------------------------------
/// out[..., j, ...] = a[..., index[j], ...] along axis; index is 1-D int64.
/// Embedding lookup is index_select(weight, 0, ids).
Tensor index_select(const Tensor& a, int64_t axis, const Tensor& index);
/// out[i][j][k] = a[i][index[i][j][k]][k] for axis 1 (torch.gather semantics).
Tensor gather(const Tensor& a, int64_t axis, const Tensor& index);
///@{
/// Inverses used by the backward passes: accumulate src into zeros of `shape`.
Tensor index_add(const Shape& shape, int64_t axis, const Tensor& index, const Tensor& src);
Tensor scatter_add(const Shape& shape, int64_t axis, const Tensor& index, const Tensor& src);
///@}
/// One-hot rows: out[..., c] = (index[...] == c), as dtype.
Tensor one_hot(const Tensor& index, int64_t num_classes, DType dtype = DType::Float32);

// ---- operators -----------------------------------------------------------------------------
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, b); }
inline Tensor operator+(double a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(double a, const Tensor& b) { return rsub(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(double a, const Tensor& b) { return rdiv(a, b); }

}  // namespace minigrad
