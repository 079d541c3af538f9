// Views, joins and indexing: forward and backward side by side. A view moves no
// numbers, so its backward moves the gradient back to where each element came from.
#include <limits>

#include "minigrad/autograd/functions.h"

namespace minigrad {

using Gs = std::vector<Tensor>;

// y = x viewed as `shape`     gx = gy viewed as x's shape
Variable reshape(const Variable& x, const Shape& shape) {
  const Shape in = x.shape();
  return record("reshape", x.data().reshape(shape), {x},
                [in](const Gs& gy, Grads& g) { g[0] = gy[0].reshape(in); });
}

// y = x viewed as `shape`, never copied (throws where Tensor::view would)
//                              gx = gy viewed as x's shape
Variable view(const Variable& x, const Shape& shape) {
  const Shape in = x.shape();
  return record("view", x.data().view(shape), {x},
                [in](const Gs& gy, Grads& g) { g[0] = gy[0].reshape(in); });
}

// y = x with axes start_dim..end_dim merged into one    gx = gy in x's shape
Variable flatten(const Variable& x, int64_t start_dim, int64_t end_dim) {
  const Shape in = x.shape();
  return record("flatten", x.data().flatten(start_dim, end_dim), {x},
                [in](const Gs& gy, Grads& g) { g[0] = gy[0].reshape(in); });
}

// y = x with two axes swapped  gx = gy with the same axes swapped back
Variable transpose(const Variable& x, int64_t axis0, int64_t axis1) {
  return record("transpose", x.data().transpose(axis0, axis1), {x},
                [axis0, axis1](const Gs& gy, Grads& g) { g[0] = gy[0].transpose(axis0, axis1); });
}

// y = x with axes reordered    gx = gy with the inverse order
Variable permute(const Variable& x, const std::vector<int64_t>& order) {
  Tensor y = x.data().permute(order);
  std::vector<int64_t> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    inverse[static_cast<size_t>(normalize_axis(order[i], x.dim(), "permute"))] =
        static_cast<int64_t>(i);
  }
  return record("permute", y, {x},
                [inverse](const Gs& gy, Grads& g) { g[0] = gy[0].permute(inverse); });
}

// y = x[start : start+length] along axis    gx = zeros with gy placed back in that window
Variable narrow(const Variable& x, int64_t axis, int64_t start, int64_t length) {
  const Shape in = x.shape();
  return record("narrow", x.data().narrow(axis, start, length), {x},
                [in, axis, start, length](const Gs& gy, Grads& g) {
                  Tensor gx = Tensor::zeros(in, gy[0].dtype());
                  gx.narrow(axis, start, length).copy_(gy[0]);
                  g[0] = gx;
                });
}

// y = x[index] along axis      gx = zeros with gy placed at that index
Variable select(const Variable& x, int64_t axis, int64_t index) {
  const Shape in = x.shape();
  return record("select", x.data().select(axis, index), {x},
                [in, axis, index](const Gs& gy, Grads& g) {
                  Tensor gx = Tensor::zeros(in, gy[0].dtype());
                  gx.select(axis, index).copy_(gy[0]);
                  g[0] = gx;
                });
}

// y = x[start : end : step] along axis (a view: the stride grows by step)
//                              gx = zeros with gy placed back at every step-th element
Variable slice(const Variable& x, int64_t axis, std::optional<int64_t> start,
               std::optional<int64_t> end, int64_t step) {
  const Shape in = x.shape();
  const int64_t s = start.value_or(0), e = end.value_or(std::numeric_limits<int64_t>::max());
  return record("slice", x.data().slice(axis, s, e, step), {x},
                [in, axis, s, e, step](const Gs& gy, Grads& g) {
                  Tensor gx = Tensor::zeros(in, gy[0].dtype());
                  gx.slice(axis, s, e, step).copy_(gy[0]);
                  g[0] = gx;
                });
}

// y = x without its size-1 axes (or without the one given)    gx = gy in x's shape
Variable squeeze(const Variable& x) {
  const Shape in = x.shape();
  return record("squeeze", x.data().squeeze(), {x},
                [in](const Gs& gy, Grads& g) { g[0] = gy[0].reshape(in); });
}

Variable squeeze(const Variable& x, int64_t axis) {
  const Shape in = x.shape();
  return record("squeeze", x.data().squeeze(axis), {x},
                [in](const Gs& gy, Grads& g) { g[0] = gy[0].reshape(in); });
}

// y = x with a size-1 axis inserted    gx = gy in x's shape
Variable unsqueeze(const Variable& x, int64_t axis) {
  const Shape in = x.shape();
  return record("unsqueeze", x.data().unsqueeze(axis), {x},
                [in](const Gs& gy, Grads& g) { g[0] = gy[0].reshape(in); });
}

// y = x broadcast to `shape`   gx = gy summed over the broadcast axes
Variable expand(const Variable& x, const Shape& shape) {
  const Shape in = x.shape();
  return record("expand", x.data().expand(shape), {x},
                [in](const Gs& gy, Grads& g) { g[0] = sum_to(gy[0], in); });
}

// y = [x₀ x₁ …] along axis     gxᵢ = the slice of gy where xᵢ landed
Variable concat(const std::vector<Variable>& xs, int64_t axis) {
  std::vector<Tensor> data;
  std::vector<int64_t> sizes;
  for (const Variable& x : xs) {
    data.push_back(x.data());
    sizes.push_back(x.dim() > 0 ? x.size(normalize_axis(axis, x.dim(), "concat")) : 0);
  }
  return record("concat", concat(data, axis), xs, [sizes, axis](const Gs& gy, Grads& g) {
    const std::vector<Tensor> parts = split(gy[0], sizes, axis);
    for (size_t i = 0; i < parts.size(); ++i)
      if (g.needs(i)) g[i] = parts[i];
  });
}

// y = [x₀; x₁; …] on a new axis gxᵢ = gy[i] along that axis
Variable stack(const std::vector<Variable>& xs, int64_t axis) {
  std::vector<Tensor> data;
  for (const Variable& x : xs) data.push_back(x.data());
  Tensor y = stack(data, axis);
  const int ax = normalize_axis(axis, y.dim(), "stack");
  return record("stack", y, xs, [ax](const Gs& gy, Grads& g) {
    for (size_t i = 0; i < g.size(); ++i)
      if (g.needs(i)) g[i] = gy[0].select(ax, static_cast<int64_t>(i));
  });
}

// Each piece is a narrow() of x, so each carries its own small backward.
std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int64_t axis) {
  split(x.data(), sizes, axis);  // validates sizes with a clear message
  std::vector<Variable> out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(x, axis, at, s));
    at += s;
  }
  return out;
}

std::vector<Variable> split(const Variable& x, int64_t chunk, int64_t axis) {
  std::vector<int64_t> sizes;
  for (const Tensor& piece : split(x.data(), chunk, axis)) sizes.push_back(piece.size(axis));
  return split(x, sizes, axis);
}

// yᵢ = x[i] along axis       gx = stack(gy₀, gy₁, …) along axis
std::vector<Variable> unbind(const Variable& x, int64_t axis) {
  const int ax = normalize_axis(axis, x.dim(), "unbind");
  std::vector<Tensor> slices;
  for (int64_t i = 0; i < x.size(ax); ++i) slices.push_back(x.data().select(ax, i));
  return record_multi("unbind", std::move(slices), {x},
                      [ax](const Gs& gy, Grads& g) { g[0] = stack(gy, ax); });
}

// y[..j..] = x[..index[j]..]   gx[..i..] = Σ_{j: index[j] = i} gy[..j..]
// (an embedding row used twice in a batch gets both gradients)
Variable index_select(const Variable& x, int64_t axis, const Tensor& index) {
  const Shape in = x.shape();
  return record(
      "index_select", index_select(x.data(), axis, index), {x},
      [in, axis, index](const Gs& gy, Grads& g) { g[0] = index_add(in, axis, index, gy[0]); });
}

// y[i][j] = x[i][index[i][j]] (axis 1)   gx[i][index[i][j]] += gy[i][j]
Variable gather(const Variable& x, int64_t axis, const Tensor& index) {
  const Shape in = x.shape();
  return record(
      "gather", gather(x.data(), axis, index), {x},
      [in, axis, index](const Gs& gy, Grads& g) { g[0] = scatter_add(in, axis, index, gy[0]); });
}

}  // namespace minigrad
