// softmax and log_softmax over one axis, computed row by row on a contiguous
// copy with the axis last.
//
//   m = max_j x_j,   softmax(x)_i = e^(x_i - m) / Σ_j e^(x_j - m)
//
// Subtracting m changes nothing mathematically (it cancels) but keeps every
// exponent ≤ 0, so e^(·) never overflows even for logits of 1e4.
#include <stdexcept>
#include <string>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/row_kernels.h"

namespace minigrad {
namespace {

using detail::softmax_backward_row;
using detail::softmax_row;

template <bool kLog>
Tensor softmax_impl(const Tensor& x, int64_t axis, const char* op) {
  if (x.dim() == 0) {  // PyTorch: a 0-d tensor is one row of one element (axis 0 or -1)
    wrap_dim(axis, 0, op);
    return softmax_impl<kLog>(x.reshape({1}), 0, op).reshape({});
  }
  const int ax = normalize_axis(axis, x.dim(), op);
  const int last = x.dim() - 1;
  std::vector<int64_t> order;
  for (int i = 0; i < x.dim(); ++i) order.push_back(i);
  std::swap(order[static_cast<size_t>(ax)], order[static_cast<size_t>(last)]);
  const Tensor rows = (ax == last ? x : x.permute(order)).contiguous();
  const int64_t len = rows.shape()[last];
  Tensor out = Tensor::empty(rows.shape(), x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = rows.data<T>();
    T* o = out.data<T>();
    const int64_t nrows = len == 0 ? 0 : rows.numel() / len;
    for (int64_t r = 0; r < nrows; ++r) softmax_row<kLog>(p + r * len, o + r * len, len);
  });
  return ax == last ? out : out.permute(order).contiguous();
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_impl<false>(x, axis, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t axis) {
  return softmax_impl<true>(x, axis, "log_softmax");
}

// gx = y ⊙ (gy − Σ_j gy_j y_j) along `axis`: softmax's vector-Jacobian product, one
// pass per row instead of the four tensor ops (mul, sum, sub, mul) it takes composed,
// each a full trip through memory. Rows of a fully masked softmax (y = 0) get 0.
Tensor softmax_backward(const Tensor& y, const Tensor& gy, int64_t axis) {
  MINIGRAD_CHECK(y.shape() == gy.shape() && y.dtype() == gy.dtype())
      << "softmax_backward: y is " << dtype_name(y.dtype()) << y.shape() << ", gy is "
      << dtype_name(gy.dtype()) << gy.shape() << "; they must match";
  if (y.dim() == 0) {
    wrap_dim(axis, 0, "softmax_backward");
    return softmax_backward(y.reshape({1}), gy.reshape({1}), 0).reshape({});
  }
  const int ax = normalize_axis(axis, y.dim(), "softmax_backward");
  if (ax != y.dim() - 1 || !y.is_contiguous() || !gy.is_contiguous()) {
    return mul(y, sub(gy, sum(mul(gy, y), {axis}, true)));
  }
  Tensor gx = Tensor::empty(y.shape(), y.dtype());
  const int64_t len = y.shape()[ax];
  dispatch_floating(y.dtype(), "softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* py = y.data<T>();
    const T* pg = gy.data<T>();
    T* out = gx.data<T>();
    const int64_t nrows = len == 0 ? 0 : y.numel() / len;
    for (int64_t r = 0; r < nrows; ++r) {
      softmax_backward_row(py + r * len, pg + r * len, out + r * len, len);
    }
  });
  return gx;
}

}  // namespace minigrad
