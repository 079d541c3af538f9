/// \file
/// Numeric kernels on Tensors: element-wise math with numpy broadcasting,
/// reductions, softmax, matmul, joining and indexing. Every function returns a
/// new tensor (or a view, where it says so) and leaves its inputs untouched.
///
/// Errors: a shape mismatch throws std::invalid_argument naming the op and the
/// shapes, e.g. "add: [2,3] and [4]: sizes 3 and 4 cannot broadcast"; an axis or
/// index out of range throws std::out_of_range.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "minigrad/tensor/tensor.h"

namespace minigrad {

// ---- type promotion ------------------------------------------------------------------
/// A number handed to a tensor op, remembering how it was written: libtorch's
/// c10::Scalar. `x * 2` passes an integer, `x * 2.0` a floating number, and the two
/// promote differently (PyTorch's "wrapped number" rule): with an int64 tensor,
/// `i * 2` stays int64 and `i * 2.0` becomes float32; with a float tensor both keep
/// the tensor's dtype (a number never widens float32 to float64).
class Scalar {
 public:
  enum class Kind : uint8_t { Bool, Integral, Floating };
  template <class S>
  requires std::is_arithmetic_v<S> Scalar(
      S v)  // NOLINT(google-explicit-constructor): numbers convert, as in libtorch
      : d_(static_cast<double>(v)),
        i_(std::is_integral_v<S> ? static_cast<int64_t>(v) : 0),
        kind_(std::is_same_v<S, bool> ? Kind::Bool
              : std::is_integral_v<S> ? Kind::Integral
                                      : Kind::Floating) {}
  double to_double() const { return d_; }
  int64_t to_int() const { return i_; }  ///< exact for Bool and Integral
  Kind kind() const { return kind_; }
  /// The dtype PyTorch gives the number alone: bool, int64, or float32 (the default dtype).
  DType dtype() const;

 private:
  double d_;
  int64_t i_;
  Kind kind_;
};

///@{
/// torch.result_type: the dtype a binary op computes in and returns. Tensors with
/// axes outrank 0-d tensors, which outrank numbers, but only within a category
/// (bool < integer < floating): a lower-ranked operand of a higher category still
/// promotes the result. So float32[3] + float64 0-d → float32, int64[3] + float64 0-d
/// → float64, int64[3] + 2.5 → float32, bool[3] + 2 → int64.
DType result_type(const Tensor& a, const Tensor& b);
DType result_type(const Tensor& a, const Scalar& b);
///@}

// ---- element-wise, binary (broadcasting) ----------------------------------------------
// Mixed dtypes promote by result_type() (int64 + float32 → float32, ...); both operands
// are converted to it first, as PyTorch does. int64 and bool tensors support + − ×
// (bool: + is or, × is and; − of bools throws, as in PyTorch), true division ÷
// (integers give float32), comparisons, maximum/minimum and pow with a non-negative
// integer exponent.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  ///< true division: int64 / int64 → float32
Tensor pow(const Tensor& a, const Tensor& b);  ///< a^b element-wise
/// max(a, b) element-wise; NaN in either operand gives NaN (torch.maximum).
Tensor maximum(const Tensor& a, const Tensor& b);
/// min(a, b) element-wise; NaN in either operand gives NaN (torch.minimum).
Tensor minimum(const Tensor& a, const Tensor& b);

// with a number (see Scalar for how its kind promotes)
Tensor add(const Tensor& a, const Scalar& b);
Tensor sub(const Tensor& a, const Scalar& b);
Tensor rsub(const Scalar& a, const Tensor& b);  ///< a - b
Tensor mul(const Tensor& a, const Scalar& b);
Tensor div(const Tensor& a, const Scalar& b);
Tensor rdiv(const Scalar& a, const Tensor& b);  ///< a / b
/// a^p. As PyTorch, p ∈ {0.5, −0.5, −1, 2, 3, −2} run √x, 1/√x, 1/x, x·x, x·x·x, 1/(x·x)
/// (which fixes the sign of the result at x = −0), p = 0 gives 1 everywhere.
Tensor pow(const Tensor& a, const Scalar& exponent);

// ---- element-wise, unary ---------------------------------------------------------------
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor rsqrt(const Tensor& a);  ///< 1/√x
Tensor tanh(const Tensor& a);
Tensor sigmoid(const Tensor& a);
/// max(x, 0), with NaN staying NaN (PyTorch's clamp_min); −0 stays −0.
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
Tensor eq(const Tensor& a, const Scalar& b);
Tensor ne(const Tensor& a, const Scalar& b);
Tensor lt(const Tensor& a, const Scalar& b);
Tensor le(const Tensor& a, const Scalar& b);
Tensor gt(const Tensor& a, const Scalar& b);
Tensor ge(const Tensor& a, const Scalar& b);
Tensor logical_not(const Tensor& mask);

/// out = cond ? a : b   (cond is a bool mask; all three broadcast together; a and b
/// promote by result_type)
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

// ---- activations and normalisation ----------------------------------------------------------
/// GELU, as torch.nn.functional.gelu: approximate = "none" is the exact
/// x·Φ(x) = ½x(1 + erf(x/√2)), "tanh" is ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
/// Float dtypes only; any other approximate throws std::invalid_argument naming gelu.
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
/// gy · dGELU/dx at x, for the same approximate (the derivatives are in
/// tensor/elementwise.cpp). gy and x broadcast together.
Tensor gelu_backward(const Tensor& gy, const Tensor& x, const std::string& approximate = "none");

/// What layer_norm_forward returns: y, and per row (the leading dims of x, flattened)
/// the mean μ and r = 1/√(σ² + eps), which layer_norm_backward reuses.
struct LayerNormForward {
  Tensor y;     ///< x's shape
  Tensor mean;  ///< μ, [rows]
  Tensor rstd;  ///< r = 1/√(σ² + eps), [rows]
};
/// Layer normalisation over the trailing dims normalized_shape, one pass per row:
/// y = (x − μ)·r ⊙ weight + bias with μ, σ² (biased) the row's mean and variance and
/// r = 1/√(σ² + eps). weight and bias may be undefined. Checks as check_layer_norm.
LayerNormForward layer_norm_forward(const Tensor& x, const std::vector<int64_t>& normalized_shape,
                                    const Tensor& weight, const Tensor& bias, double eps);
/// The gradients of layer_norm_forward: dx always; dweight and dbias (of shape
/// normalized_shape) when the weight was defined, undefined otherwise.
struct LayerNormBackward {
  Tensor dx;       ///< x's shape
  Tensor dweight;  ///< Σ over rows of dy ⊙ x̂
  Tensor dbias;    ///< Σ over rows of dy
};
/// The vector-Jacobian product of layer_norm_forward, with x̂ = (x − μ)·r and g = dy ⊙ weight:
/// dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)) per row (tensor/layer_norm.cpp has the derivation).
/// \param gy the gradient of y (x's shape)
/// \param x, mean, rstd the forward's input and what it returned
/// \param weight the forward's weight, or undefined
LayerNormBackward layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& mean,
                                      const Tensor& rstd, const Tensor& weight);
/// The checks of layer_norm (the fused kernel above, and autograd's composed
/// reference): normalized_shape is not empty, x ends in it, weight and bias (either
/// may be undefined) have exactly its shape and x's dtype, x is float32 or float64.
/// Throws std::invalid_argument naming `op` and the shapes.
void check_layer_norm(const char* op, const Tensor& x, const std::vector<int64_t>& normalized_shape,
                      const Tensor& weight, const Tensor& bias);

// ---- matrix multiply -------------------------------------------------------------------------
/// torch.matmul's product, by the operands' ranks:
///
///     [k] @ [k]              → []              the dot product Σ_p a_p b_p
///     [m, k] @ [k]           → [m]             matrix · vector
///     [k] @ [k, n]           → [n]             vector · matrix
///     [..., m, k] @ [..., k, n] → [..., m, n]  batch axes broadcast numpy-style
///
/// A 1-D first operand is read as [1, k] and a 1-D second operand as [k, 1], and that
/// axis is removed from the result (so [k] @ [B, k, n] → [B, n]). Transposes are views:
/// write `matmul(x, w.mT())`. An operand whose last two axes are a transposed row-major
/// matrix (what mT() or transpose() of a contiguous tensor gives) reaches the GEMM as its
/// transpose flag, with no copy; only an operand with neither inner stride 1 is copied.
/// Both operands must be float32 or float64 of the same dtype (no promotion: torch.matmul
/// does not promote either). Errors name both shapes: "matmul: [2,3] @ [4,5]: inner sizes
/// 3 and 4 differ".
Tensor matmul(const Tensor& a, const Tensor& b);
/// The same shapes and rules computed by the textbook triple loop (gemm_reference): the
/// reference the fast kernel is tested against, slow and obviously right.
Tensor matmul_reference(const Tensor& a, const Tensor& b);

// ---- attention ---------------------------------------------------------------------------------
/// What attention_forward returns.
struct AttentionForward {
  /// C = A·V, [..., Tq, dv]. With two or more batch axes ([B, h, Tq, dv]) it is stored
  /// heads side by side, as [..., Tq, h, dv] viewed through transpose(-3, -2), so that
  /// merging the heads (permute to [B, Tq, h, dv], reshape to [B, Tq, h·dv]) copies
  /// nothing.
  Tensor context;
  Tensor weights;  ///< A = softmax(Q·Kᵀ·scale + M) over the keys, [..., Tq, Tk], contiguous
};
/// Scaled dot-product attention in one pass per batch item (for [B, h, T, d], per
/// (batch, head) pair), the items spread over the OpenMP threads:
///
///     S = Q·Kᵀ·scale + M      A = softmax_j(S)      C = A·V
///
/// q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv]; their batch axes broadcast, and
/// the results have the broadcast batch shape. Q, K and V are read in place where
/// their last axis has stride 1 (the heads of a [B, T, h·d] projection viewed as
/// [B, h, T, d], say). mask: undefined, bool (true = blocked: S = −∞ there) or of q's
/// dtype (added to S), broadcastable to [..., Tq, Tk]. A row with every key blocked
/// gets A = 0 and C = 0 (softmax's convention here). Each item is computed by one
/// thread, so the bits do not depend on the thread count.
AttentionForward attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                   const Tensor& mask, double scale);
/// The gradients attention_backward returns, in the broadcast batch shape of the
/// forward (sum_to the inputs' shapes where they were broadcast), stored as
/// AttentionForward::context is.
struct AttentionBackward {
  Tensor dq;  ///< [..., Tq, d]
  Tensor dk;  ///< [..., Tk, d]
  Tensor dv;  ///< [..., Tk, dv]
};
/// The vector-Jacobian product of attention_forward, per item, from gC = ∂L/∂C and
/// gA = ∂L/∂A (undefined when A feeds nothing else):
///
///     dA = gA + gC·Vᵀ       dV = Aᵀ·gC       dS = A ⊙ (dA − Σ_j dA_j A_j)   (softmax)
///     dQ = scale · dS·K     dK = scale · dSᵀ·Q
///
/// Blocked keys have A = 0, so dS = 0 there; a fully blocked row passes zeros.
/// \param gc, gw  gC (the context's shape) and gA (the weights' shape, or undefined)
/// \param q, k, v, weights, scale  the forward's inputs and its weights A
AttentionBackward attention_backward(const Tensor& gc, const Tensor& gw, const Tensor& q,
                                     const Tensor& k, const Tensor& v, const Tensor& weights,
                                     double scale);

// ---- joining and splitting --------------------------------------------------------------------
Tensor concat(const std::vector<Tensor>& tensors, int64_t axis);
Tensor stack(const std::vector<Tensor>& tensors, int64_t axis);
/// Views of consecutive pieces of the given sizes along axis (sizes must add up).
std::vector<Tensor> split(const Tensor& a, const std::vector<int64_t>& sizes, int64_t axis);
/// Views of pieces of `chunk` elements (the last may be smaller).
std::vector<Tensor> split(const Tensor& a, int64_t chunk, int64_t axis);

// ---- indexing ---------------------------------------------------------------------------------
/// out[..., j, ...] = a[..., index[j], ...] along axis; index is 1-D int64 (a 0-d
/// tensor takes a one-element index, as in PyTorch). Any dtype; indices are not
/// wrapped (a negative one throws, as in PyTorch).
/// Embedding lookup is index_select(weight, 0, ids).
Tensor index_select(const Tensor& a, int64_t axis, const Tensor& index);
/// out[i][j][k] = a[i][index[i][j][k]][k] for axis 1 (torch.gather semantics).
Tensor gather(const Tensor& a, int64_t axis, const Tensor& index);
///@{
/// Inverses used by the backward passes: accumulate src into zeros of `shape`.
Tensor index_add(const Shape& shape, int64_t axis, const Tensor& index, const Tensor& src);
Tensor scatter_add(const Shape& shape, int64_t axis, const Tensor& index, const Tensor& src);
///@}
/// One-hot rows: out[..., c] = (index[...] == c), as dtype (int64 by default, as
/// torch.nn.functional.one_hot). num_classes = -1 takes one more than the largest index.
Tensor one_hot(const Tensor& index, int64_t num_classes = -1, DType dtype = DType::Int64);

// ---- operators -----------------------------------------------------------------------------
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, const Scalar& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Scalar& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Scalar& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Scalar& b) { return div(a, b); }
inline Tensor operator+(const Scalar& a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(const Scalar& a, const Tensor& b) { return rsub(a, b); }
inline Tensor operator*(const Scalar& a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(const Scalar& a, const Tensor& b) { return rdiv(a, b); }

}  // namespace minigrad
