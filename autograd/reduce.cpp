// Reductions and softmax: forward and backward side by side.
#include <algorithm>

#include "minigrad/autograd/functions.h"

namespace minigrad {

using Gs = std::vector<Tensor>;

namespace {

// The shape a reduction's output has with keepdim=true, so that its gradient can
// be broadcast straight back over the reduced axes.
Shape keepdim_shape(const Shape& in, const std::vector<int64_t>& axes) {
  Shape out = in;
  if (axes.empty()) {
    for (int i = 0; i < out.size(); ++i) out[i] = 1;
  }
  // a 0-d input takes axis 0 or -1 and has no axis to keep (PyTorch's rule, tensor/)
  for (int64_t a : axes) {
    const int i = wrap_dim(a, in.size(), "sum");
    if (in.size() > 0) out[i] = 1;
  }
  return out;
}

}  // namespace

// y = Σ_{reduced axes} x       ∂y/∂x_i = 1: every input gets its output's gradient
Variable sum(const Variable& x, const std::vector<int64_t>& axes, bool keepdim) {
  const Shape in = x.shape();
  const Shape kept = keepdim_shape(in, axes);
  return record("sum", sum(x.data(), axes, keepdim), {x},
                [in, kept](const Gs& gy, Grads& g) { g[0] = gy[0].reshape(kept).expand(in); });
}

// y = (1/N) Σ x                ∂y/∂x_i = 1/N
Variable mean(const Variable& x, const std::vector<int64_t>& axes, bool keepdim) {
  const Shape in = x.shape();
  const Shape kept = keepdim_shape(in, axes);
  const double n = static_cast<double>(in.numel() / std::max<int64_t>(kept.numel(), 1));
  return record("mean", mean(x.data(), axes, keepdim), {x}, [in, kept, n](const Gs& gy, Grads& g) {
    g[0] = (gy[0].reshape(kept) / n).expand(in);
  });
}

// y = max (or min) of x over the axes    ∂y/∂x_i = [x_i = y] / #{j : x_j = y}
// Tied extrema share the gradient evenly, as torch.amax / torch.amin do (torch.max(x, dim)
// instead gives it all to the one index it returns).
static Variable extremum(const char* op, const Variable& x, const std::vector<int64_t>& axes,
                         bool keepdim,
                         Tensor (*f)(const Tensor&, const std::vector<int64_t>&, bool)) {
  Tensor xd = x.data();
  Tensor out = f(xd, axes, keepdim);
  Tensor y = out.reshape(keepdim_shape(xd.shape(), axes));  // a view: y broadcasts against x
  return record(op, out, {x}, [xd, y, axes](const Gs& gy, Grads& g) {
    const Tensor hit =
        where(eq(xd, y), Tensor::scalar(1.0, xd.dtype()), Tensor::scalar(0.0, xd.dtype()));
    const Tensor count = sum(hit, axes, true);
    g[0] = hit * (gy[0].reshape(y.shape()) / count);
  });
}

Variable amax(const Variable& x, const std::vector<int64_t>& axes, bool keepdim) {
  return extremum("amax", x, axes, keepdim, minigrad::amax);
}

Variable amin(const Variable& x, const std::vector<int64_t>& axes, bool keepdim) {
  return extremum("amin", x, axes, keepdim, minigrad::amin);
}

// y = sum_to(x, shape)         the adjoint of expand: ∂y/∂x broadcasts the gradient back
Variable sum_to(const Variable& x, const Shape& shape) {
  const Shape in = x.shape();
  return record("sum_to", sum_to(x.data(), shape), {x},
                [in](const Gs& gy, Grads& g) { g[0] = gy[0].expand(in); });
}

// y = softmax(x)               ∂y_i/∂x_j = y_i(δ_ij - y_j), so the vector-Jacobian product is
//                              gx = y ⊙ (gy - Σ_j gy_j y_j)
Variable softmax(const Variable& x, int64_t axis) {
  Tensor y = softmax(x.data(), axis);
  return record("softmax", y, {x}, [y, axis](const Gs& gy, Grads& g) {
    g[0] = softmax_backward(y, gy[0].contiguous(), axis);  // one pass per row (tensor/softmax.cpp)
  });
}

// y = log_softmax(x) = x - logΣeˣ   ∂y_i/∂x_j = δ_ij - softmax(x)_j, so
//                              gx = gy - softmax(x) · Σ_j gy_j
// A fully masked row (all -inf) has y = -inf and softmax 0: its gradient is gy.
Variable log_softmax(const Variable& x, int64_t axis) {
  Tensor y = log_softmax(x.data(), axis);
  return record("log_softmax", y, {x}, [y, axis](const Gs& gy, Grads& g) {
    g[0] = gy[0] - exp(y) * sum(gy[0], {axis}, true);
  });
}

}  // namespace minigrad
