#include "minigrad/nn/loss.h"
#include "minigrad/tensor/check.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace minigrad::nn {

namespace {

// An input [..., C] and its targets [...] seen as N = Π(...) rows of C classes.
struct ClassRows {
  int64_t n = 0, classes = 0;
  Shape rows_shape;  // [...]: the shape of reduction none's result
  Shape in_shape;    // [..., C]: the shape of the input's gradient
  Tensor x;          // [N, C], contiguous
  Tensor t;          // [N], contiguous int64
};

// Checks input [..., C] against targets [...] and flattens both to rows.
ClassRows class_rows(const Variable& input, const Tensor& targets, const char* op) {
  MINIGRAD_CHECK(input.dim() >= 1) << op << ": input must have a class axis, got a scalar";
  MINIGRAD_CHECK(targets.defined() && targets.dtype() == DType::Int64)
      << op << ": targets must be an int64 tensor of class indices, got "
      << (targets.defined() ? dtype_name(targets.dtype()) : "undefined");
  const Shape rows(input.shape().begin(), input.shape().end() - 1);
  MINIGRAD_CHECK(targets.shape() == rows)
      << op << ": input " << input.shape() << " needs targets of shape " << rows.str()
      << " (the class axis is the last one), got " << targets.shape();
  const int64_t n = rows.numel(), classes = input.size(-1);
  return {n,
          classes,
          rows,
          input.shape(),
          input.data().contiguous().reshape({n, classes}),
          targets.contiguous().reshape({n})};
}

void check_class(int64_t t, int64_t classes, int64_t row, const char* op) {
  MINIGRAD_CHECK_INDEX(t >= 0 && t < classes)
      << op << ": target " << t << " at row " << row << " is outside [0, " << classes << ")";
}

// The gradient scale of row n: ∂(reduced loss)/∂loss_n.
Tensor row_scales(const Tensor& gy, const std::vector<bool>& used, int64_t count, Reduction r,
                  DType dtype) {
  const auto n = static_cast<int64_t>(used.size());
  Tensor s = Tensor::zeros({n}, DType::Float64);
  double* ps = s.data<double>();
  const Tensor g64 = gy.to(DType::Float64).contiguous();
  const double* pg = g64.data<double>();
  for (int64_t i = 0; i < n; ++i) {
    if (!used[static_cast<size_t>(i)]) continue;
    ps[i] = r == Reduction::None
                ? pg[i]
                : (r == Reduction::Mean ? pg[0] / static_cast<double>(count) : pg[0]);
  }
  return s.to(dtype);
}

Tensor reduce_rows(const Tensor& per_row, const Shape& rows_shape, int64_t count, Reduction r) {
  if (r == Reduction::None) return per_row.reshape(rows_shape);
  const Tensor total = sum(per_row);
  if (r == Reduction::Sum) return total;
  // Mean over the rows that count; all rows ignored gives NaN, as in PyTorch (0/0).
  return div(total, static_cast<double>(count));
}

// -log p of each row's target, the forward pass of both cross_entropy and nll_loss.
struct TargetRows {
  Tensor per_row;          // [N]: -logp[i, t_i], 0 where the target is ignore_index
  std::vector<bool> used;  // the rows whose target is not ignore_index
  int64_t count = 0;       // how many of them: the divisor of the mean
};

// logp [N, C] contiguous, t [N] contiguous int64.
TargetRows pick_targets(const Tensor& logp, const Tensor& t, int64_t ignore_index, const char* op) {
  const int64_t n = logp.size(0), classes = logp.size(1);
  TargetRows r{Tensor::zeros({n}, logp.dtype()), std::vector<bool>(static_cast<size_t>(n)), 0};
  dispatch_floating(logp.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* lp = logp.data<T>();
    const int64_t* pt = t.data<int64_t>();
    T* out = r.per_row.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      if (pt[i] == ignore_index) continue;
      check_class(pt[i], classes, i, op);
      out[i] = -lp[i * classes + pt[i]];
      r.used[static_cast<size_t>(i)] = true;
      ++r.count;
    }
  });
  return r;
}

}  // namespace

Variable cross_entropy(const Variable& logits, const Tensor& targets, int64_t ignore_index,
                       Reduction reduction) {
  const ClassRows in = class_rows(logits, targets, "cross_entropy");
  const Tensor probs = softmax(in.x, 1);
  // -log softmax(x_i)[t_i]
  const TargetRows rows = pick_targets(log_softmax(in.x, 1), in.t, ignore_index, "cross_entropy");
  // ∂loss_i/∂x_ic = softmax(x_i)_c - [c = t_i], times the row's scale.
  return record(
      "cross_entropy", reduce_rows(rows.per_row, in.rows_shape, rows.count, reduction), {logits},
      [probs, t = in.t, used = rows.used, count = rows.count, reduction, in_shape = in.in_shape,
       n = in.n, classes = in.classes](const std::vector<Tensor>& gy, Grads& g) {
        const Tensor scale = row_scales(gy[0].reshape({-1}), used, count, reduction, probs.dtype());
        Tensor gx = probs.clone();
        dispatch_floating(gx.dtype(), "cross_entropy backward", [&](auto tag) {
          using T = decltype(tag);
          T* pg = gx.data<T>();
          const T* ps = scale.data<T>();
          const int64_t* pt = t.data<int64_t>();
          for (int64_t i = 0; i < n; ++i) {
            if (!used[static_cast<size_t>(i)]) {
              for (int64_t c = 0; c < classes; ++c) pg[i * classes + c] = T(0);
              continue;
            }
            pg[i * classes + pt[i]] -= T(1);
            for (int64_t c = 0; c < classes; ++c) pg[i * classes + c] *= ps[i];
          }
        });
        g[0] = gx.reshape(in_shape);
      });
}

Variable nll_loss(const Variable& log_probs, const Tensor& targets, int64_t ignore_index,
                  Reduction reduction) {
  const ClassRows in = class_rows(log_probs, targets, "nll_loss");
  const TargetRows rows = pick_targets(in.x, in.t, ignore_index, "nll_loss");
  // ∂loss_i/∂logp_ic = -[c = t_i], times the row's scale.
  return record(
      "nll_loss", reduce_rows(rows.per_row, in.rows_shape, rows.count, reduction), {log_probs},
      [t = in.t, used = rows.used, count = rows.count, reduction, in_shape = in.in_shape, n = in.n,
       classes = in.classes](const std::vector<Tensor>& gy, Grads& g) {
        const DType dtype = gy[0].dtype();
        const Tensor scale = row_scales(gy[0].reshape({-1}), used, count, reduction, dtype);
        Tensor gx = Tensor::zeros({n, classes}, dtype);
        dispatch_floating(dtype, "nll_loss backward", [&](auto tag) {
          using T = decltype(tag);
          T* pg = gx.data<T>();
          const T* ps = scale.data<T>();
          const int64_t* pt = t.data<int64_t>();
          for (int64_t i = 0; i < n; ++i)
            if (used[static_cast<size_t>(i)]) pg[i * classes + pt[i]] = -ps[i];
        });
        g[0] = gx.reshape(in_shape);
      });
}

// (a - b)² composed from differentiable ops: its gradient, 2(a - b)/N, comes for free.
Variable mse_loss(const Variable& a, const Variable& b, Reduction reduction) {
  MINIGRAD_CHECK(a.shape() == b.shape())
      << "mse_loss: shapes " << a.shape() << " and " << b.shape() << " differ";
  const Variable sq = pow(a - b, 2.0);
  switch (reduction) {
    case Reduction::Mean:
      return mean(sq);
    case Reduction::Sum:
      return sum(sq);
    case Reduction::None:
      return sq;
  }
  return sq;
}

}  // namespace minigrad::nn
