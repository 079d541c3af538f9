// Reductions. sum() adds every input element into the output element it maps to:
// the output is viewed with stride 0 on the reduced axes, so one strided loop
// serves every choice of axes. A contiguous run that all goes to one output element
// is summed in detail::row_sum's lanes (one add after another is a chain of 4 cycles
// per element: the whole-tensor sum that ends the LSTM and MHA workloads, and every
// loss's mean); the runs are added in the input's row-major order. The order depends
// on the shape and strides only, whatever the thread count, so results are
// reproducible to the bit.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/row_kernels.h"
#include "minigrad/tensor/strided.h"

namespace minigrad {
namespace {

// Which axes are reduced; throws on a bad or repeated axis.
std::array<bool, kMaxDims> reduced_axes(const Tensor& a, const std::vector<int64_t>& axes,
                                        const char* op) {
  std::array<bool, kMaxDims> r{};
  if (axes.empty()) {
    for (int i = 0; i < a.dim(); ++i) r[static_cast<size_t>(i)] = true;
    return r;
  }
  for (int64_t ax : axes) {
    const int i = wrap_dim(ax, a.dim(), op);
    if (a.dim() == 0) continue;  // PyTorch: a 0-d tensor reduced over axis 0 or -1 is itself
    MINIGRAD_CHECK(!r[static_cast<size_t>(i)])
        << op << ": axis " << ax << " listed twice for shape " << a.shape();
    r[static_cast<size_t>(i)] = true;
  }
  return r;
}

Shape reduced_shape(const Tensor& a, const std::array<bool, kMaxDims>& r, bool keepdim) {
  Shape out;
  for (int i = 0; i < a.dim(); ++i) {
    if (!r[static_cast<size_t>(i)]) {
      out.push_back(a.shape()[i]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

// Output strides seen from the input's shape: 0 on reduced axes.
Shape accumulate_strides(const Tensor& a, const std::array<bool, kMaxDims>& r) {
  Shape kept;
  for (int i = 0; i < a.dim(); ++i) kept.push_back(r[static_cast<size_t>(i)] ? 1 : a.shape()[i]);
  Shape s = contiguous_strides(kept);
  for (int i = 0; i < a.dim(); ++i)
    if (r[static_cast<size_t>(i)]) s[i] = 0;
  return s;
}

template <class T>
void sum_into(const Tensor& a, const std::array<bool, kMaxDims>& r, T* out) {
  const T* pa = static_cast<const T*>(a.raw_data());
  const Shape os = accumulate_strides(a, r);
  detail::for_each_run<2>(a.shape(), {os, a.strides()}, [&](auto off, int64_t n, auto st) {
    T* o = out + off[0];
    const T* x = pa + off[1];
    if (st[0] == 0) {
      T acc = *o;
      if (st[1] == 1) {
        acc += detail::row_sum(x, n);  // exact for int64 in any order
      } else {
        for (int64_t i = 0; i < n; ++i) acc += x[i * st[1]];
      }
      *o = acc;
    } else if (st[0] == 1 && st[1] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] += x[i];
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * st[0]] += x[i * st[1]];
    }
  });
}

// Moves the reduced axes last (in order) and makes the result contiguous: rows of
// the reduced elements, one row per output value.
Tensor rows_along(const Tensor& a, const std::array<bool, kMaxDims>& r) {
  // false < true: sorted means the reduced axes are already the last ones
  if (std::is_sorted(r.begin(), r.begin() + a.dim())) return a.contiguous();
  std::vector<int64_t> order;
  for (int i = 0; i < a.dim(); ++i)
    if (!r[static_cast<size_t>(i)]) order.push_back(i);
  for (int i = 0; i < a.dim(); ++i)
    if (r[static_cast<size_t>(i)]) order.push_back(i);
  return a.permute(order).contiguous();
}

// Axes reduced to one value per row (amax, amin, argmax): the rows [nrows, len]
// contiguous, and the shape of the result.
struct AxisRows {
  Tensor rows;    // the reduced axes last, contiguous: row i is rows[i·len, (i+1)·len)
  int64_t len;    // how many elements each value is taken from, never 0
  int64_t nrows;  // how many values the result holds
  Shape shape;    // the result's shape
};

AxisRows axis_rows(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim,
                   const char* op) {
  const auto r = reduced_axes(a, axes, op);
  int64_t len = 1;
  for (int i = 0; i < a.dim(); ++i)
    if (r[static_cast<size_t>(i)]) len *= a.shape()[i];
  // PyTorch's words (an IndexError there), naming the first empty reduced axis
  MINIGRAD_CHECK(!(axes.empty() && len == 0))
      << op << "(): Expected reduction dim to be specified for input.numel() == 0: shape "
      << a.shape() << " is empty";
  for (int i = 0; i < a.dim(); ++i)
    MINIGRAD_CHECK(!r[static_cast<size_t>(i)] || a.shape()[i] != 0)
        << op << "(): Expected reduction dim " << i << " to have non-zero size: shape " << a.shape()
        << " is empty along it";
  Tensor rows = rows_along(a, r);
  const int64_t nrows = rows.numel() / len;
  return {std::move(rows), len, nrows, reduced_shape(a, r, keepdim)};
}

// The dtypes amax, amin and argmax take: floats and int64 (bool is refused, as by
// torch.argmax).
template <class F>
decltype(auto) dispatch_ordered(DType dt, const char* op, F&& f) {
  if (dt == DType::Int64) return f(int64_t{});
  return dispatch_floating(dt, op, std::forward<F>(f));
}

// The largest (max = true) or smallest value of each row. NaN wins outright, as in
// torch.amax / torch.amin.
Tensor extremum(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim, bool max,
                const char* op) {
  const AxisRows ar = axis_rows(a, axes, keepdim, op);
  const int64_t len = ar.len, nrows = ar.nrows;
  return dispatch_ordered(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(ar.shape, a.dtype());
    const T* p = ar.rows.data<T>();
    T* o = out.data<T>();
    for (int64_t i = 0; i < nrows; ++i) {
      T m = p[i * len];
      for (int64_t j = 1; j < len && m == m; ++j) {
        const T v = p[i * len + j];
        if ((max ? v > m : v < m) || v != v) m = v;
      }
      o[i] = m;
    }
    return out;
  });
}

}  // namespace

// An empty sum is 0; int64 and bool tensors sum to int64 (torch.sum's dtype for them).
Tensor sum(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim) {
  MINIGRAD_CHECK(a.defined()) << "sum: the tensor is undefined";
  const auto r = reduced_axes(a, axes, "sum");
  const Shape shape = reduced_shape(a, r, keepdim);
  if (!is_floating(a.dtype())) {
    const Tensor x = a.to(DType::Int64);
    Tensor out = Tensor::zeros(shape, DType::Int64);
    sum_into<int64_t>(x, r, out.data<int64_t>());
    return out;
  }
  return dispatch_floating(a.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::zeros(shape, a.dtype());
    sum_into<T>(a, r, out.data<T>());
    return out;
  });
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim) {
  MINIGRAD_CHECK(a.defined()) << "mean: the tensor is undefined";
  MINIGRAD_CHECK(is_floating(a.dtype()))
      << "mean: expected float32 or float64, got " << dtype_name(a.dtype())
      << " (PyTorch cannot infer its output dtype either; convert with .to(DType::Float32))";
  const auto r = reduced_axes(a, axes, "mean");
  int64_t count = 1;
  for (int i = 0; i < a.dim(); ++i)
    if (r[static_cast<size_t>(i)]) count *= a.shape()[i];
  // Over zero elements: 0 · (1/0) = 0 · inf = NaN, PyTorch's answer.
  Tensor s = sum(a, axes, keepdim);
  s.mul_(1.0 / static_cast<double>(count));
  return s;
}

Tensor amax(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim) {
  return extremum(a, axes, keepdim, true, "amax");
}
Tensor amax(const Tensor& a) { return extremum(a, {}, false, true, "amax"); }

Tensor amin(const Tensor& a, const std::vector<int64_t>& axes, bool keepdim) {
  return extremum(a, axes, keepdim, false, "amin");
}
Tensor amin(const Tensor& a) { return extremum(a, {}, false, false, "amin"); }

Tensor argmax(const Tensor& a, int64_t axis, bool keepdim) {
  const AxisRows ar = axis_rows(a, {axis}, keepdim, "argmax");
  const int64_t len = ar.len, nrows = ar.nrows;
  Tensor out = Tensor::empty(ar.shape, DType::Int64);
  dispatch_ordered(a.dtype(), "argmax", [&](auto tag) {
    using T = decltype(tag);
    const T* p = ar.rows.data<T>();
    int64_t* o = out.data<int64_t>();
    for (int64_t i = 0; i < nrows; ++i) {
      // The first maximum wins ties. NaN counts as the maximum, so the first NaN
      // wins outright: the index of what amax returns, as in numpy.
      const T* row = p + i * len;
      int64_t best = 0;
      for (int64_t j = 1; j < len && row[best] == row[best]; ++j)
        if (row[j] > row[best] || row[j] != row[j]) best = j;
      o[i] = best;
    }
  });
  return out;
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
  if (a.shape() == shape) return a;
  // shape must broadcast to a.shape(): align right; reduce leading axes and the
  // axes where shape has 1 but a does not.
  MINIGRAD_CHECK(shape.size() <= a.dim() &&
                 broadcast_shapes(shape, a.shape(), "sum_to") == a.shape())
      << "sum_to: " << a.shape() << " cannot be summed to " << shape;
  std::vector<int64_t> axes;
  const int lead = a.dim() - shape.size();
  for (int i = 0; i < a.dim(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && a.shape()[i] != 1)) axes.push_back(i);
  }
  if (axes.empty()) return a.reshape(shape);
  return sum(a, axes, true).reshape(shape);
}

}  // namespace minigrad
