// Losses: forward and backward side by side. cross_entropy, nll_loss,
// binary_cross_entropy and binary_cross_entropy_with_logits have hand-written
// backward passes (one pass over the data, and PyTorch's exact gradients where they
// are not the derivative of the clamped forward); mse_loss and l1_loss are composed
// of differentiable ops, so their gradients come from autograd.
#include "minigrad/nn/loss.h"
#include "minigrad/tensor/check.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace minigrad::nn {

namespace {

// ---- the class axis ------------------------------------------------------------------------
//
// An input [N, C, d1, ..., dk] is seen as R = N·d1···dk rows of C classes: the class
// axis moved last, so each row is contiguous. [C] is one row; [N, C] is already rows.

struct ClassRows {
  Shape in_shape;       // [N, C, d...]: the shape of the input's gradient
  Shape rows_shape;     // [N, d...] ([] for an input [C]): reduction none's result
  int64_t batch = 1;    // N
  int64_t classes = 0;  // C
  int64_t inner = 1;    // d1···dk
  int64_t rows() const { return batch * inner; }
};

ClassRows class_geometry(const Variable& input, const char* op) {
  MINIGRAD_CHECK(input.dim() >= 1)
      << op
      << ": input must have a class axis ([C], [N, C] or [N, C, d1, ...]), got a scalar (0-d)";
  ClassRows g;
  g.in_shape = input.shape();
  if (input.dim() == 1) {
    g.classes = input.size(0);
    return g;
  }
  g.batch = input.size(0);
  g.classes = input.size(1);
  g.rows_shape.push_back(g.batch);
  for (int a = 2; a < input.dim(); ++a) {
    g.rows_shape.push_back(input.size(a));
    g.inner *= input.size(a);
  }
  return g;
}

// x [N, C, d...] → [R, C], contiguous. For [N, C] and [C] a reshape (no copy when
// contiguous); otherwise the class axis is moved last.
Tensor to_rows(const Tensor& x, const ClassRows& g) {
  if (x.dim() <= 2) return x.contiguous().reshape({g.rows(), g.classes});
  return x.reshape({g.batch, g.classes, g.inner})
      .transpose(1, 2)
      .contiguous()
      .reshape({g.rows(), g.classes});
}

// The inverse of to_rows: [R, C] → [N, C, d...].
Tensor from_rows(const Tensor& rows, const ClassRows& g) {
  if (g.in_shape.size() <= 2) return rows.reshape(g.in_shape);
  return rows.reshape({g.batch, g.inner, g.classes})
      .transpose(1, 2)
      .contiguous()
      .reshape(g.in_shape);
}

// The per-class weights as a contiguous [C] tensor of the input's dtype, or undefined.
Tensor class_weights(const Tensor& weight, const Variable& input, const ClassRows& g,
                     const char* op) {
  if (!weight.defined()) return Tensor();
  MINIGRAD_CHECK(weight.dim() == 1 && weight.size(0) == g.classes)
      << op << ": weight must have one entry per class, shape [" << g.classes << "] for input "
      << input.shape() << " (class axis 1), got " << weight.shape();
  MINIGRAD_CHECK(weight.dtype() == input.dtype())
      << op << ": weight is " << dtype_name(weight.dtype()) << ", input is "
      << dtype_name(input.dtype());
  return weight.contiguous();
}

// What the target must be, in the words of the error: int64 indices of the input's
// shape without axis 1 (or, for cross_entropy, probabilities of the input's shape).
std::string expected_targets(const Variable& input, const ClassRows& g, bool probabilities) {
  std::ostringstream os;
  os << "input " << dtype_name(input.dtype()) << " " << input.shape()
     << " (class axis 1) needs a target of int64 class indices " << g.rows_shape;
  if (probabilities)
    os << " or of " << dtype_name(input.dtype()) << " class probabilities " << input.shape();
  return os.str();
}

void check_index_target(const Tensor& target, const Variable& input, const ClassRows& g,
                        const char* op, bool probabilities_allowed) {
  MINIGRAD_CHECK(target.defined()) << op << ": target is undefined";
  MINIGRAD_CHECK(target.dtype() == DType::Int64 && target.shape() == g.rows_shape)
      << op << ": " << expected_targets(input, g, probabilities_allowed) << ", got "
      << dtype_name(target.dtype()) << " " << target.shape();
}

// "[1, 2]": where row r of the rows sits in a target of shape rows_shape.
std::string position(int64_t r, const Shape& rows_shape) {
  if (rows_shape.empty()) return "";
  std::vector<int64_t> at(static_cast<size_t>(rows_shape.size()));
  for (int a = rows_shape.size() - 1; a >= 0; --a) {
    at[static_cast<size_t>(a)] = r % rows_shape[a];
    r /= rows_shape[a];
  }
  std::string s = "[";
  for (size_t a = 0; a < at.size(); ++a) s += (a ? ", " : "") + std::to_string(at[a]);
  return s + "]";
}

// ---- reduction -------------------------------------------------------------------------------

// The losses of the rows [R] reduced; `divisor` is the mean's denominator.
Tensor reduce_rows(const Tensor& per_row, const Shape& rows_shape, double divisor, Reduction r) {
  if (r == Reduction::None) return per_row.reshape(rows_shape);
  const Tensor total = sum(per_row);
  if (r == Reduction::Sum) return total;
  // Nothing counted: 0/0 = NaN, as PyTorch.
  return div(total, divisor);
}

// ∂(reduced loss)/∂loss_i for each of the R rows (0 for a row that does not count).
Tensor row_scales(const Tensor& gy, const std::vector<bool>& used, double divisor, Reduction r,
                  DType dtype) {
  const auto n = static_cast<int64_t>(used.size());
  Tensor s = Tensor::zeros({n}, DType::Float64);
  double* ps = s.data<double>();
  const Tensor g64 = gy.to(DType::Float64).contiguous();
  const double* pg = g64.data<double>();
  for (int64_t i = 0; i < n; ++i) {
    if (!used[static_cast<size_t>(i)]) continue;
    ps[i] = r == Reduction::None ? pg[i] : (r == Reduction::Mean ? pg[0] / divisor : pg[0]);
  }
  return s.to(dtype);
}

// What cross_entropy and nll_loss share: the rows, which of them count, the divisor.
struct PickedRows {
  Tensor per_row;          // [R]: each row's loss, 0 where ignored
  std::vector<bool> used;  // the rows whose target is not ignore_index
  double divisor = 0;      // of the mean: Σ w_{t_i} over used rows (their count without weights)
};

// Class-index targets. loss_i = (1 − ε)·w_t·(−logp_it) + (ε/C)·Σ_c w_c·(−logp_ic)
// (ε = 0 for nll_loss). logp [R, C] contiguous, t [R] int64 contiguous, w [C] or undefined.
PickedRows pick_targets(const Tensor& logp, const Tensor& t, const Tensor& w, int64_t ignore_index,
                        double eps, const Shape& rows_shape, const char* op) {
  const int64_t n = logp.size(0), classes = logp.size(1);
  PickedRows r{Tensor::zeros({n}, logp.dtype()), std::vector<bool>(static_cast<size_t>(n)), 0};
  int64_t count = 0;
  double weight_sum = 0;
  dispatch_floating(logp.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* lp = logp.data<T>();
    const int64_t* pt = t.data<int64_t>();
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    T* out = r.per_row.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t ti = pt[i];
      if (ti == ignore_index) continue;
      MINIGRAD_CHECK_INDEX(ti >= 0 && ti < classes)
          << op << ": target" << position(i, rows_shape) << " = " << ti
          << " is not a class index in [0, " << classes << ")";
      const T* row = lp + i * classes;
      const T wt = pw ? pw[ti] : T(1);
      T loss = -(wt * row[ti]);  // −w_t·logp_t
      if (eps > 0) {             // + ε/C·Σ_c w_c·(−logp_c)
        T smooth = 0;
        for (int64_t c = 0; c < classes; ++c) smooth -= (pw ? pw[c] : T(1)) * row[c];
        loss = static_cast<T>(1 - eps) * loss +
               static_cast<T>(eps / static_cast<double>(classes)) * smooth;
      }
      out[i] = loss;
      r.used[static_cast<size_t>(i)] = true;
      ++count;
      weight_sum += static_cast<double>(wt);
    }
  });
  r.divisor = w.defined() ? weight_sum : static_cast<double>(count);
  return r;
}

}  // namespace

// ---- cross_entropy -----------------------------------------------------------------------------

Variable cross_entropy(const Variable& input, const Tensor& target,
                       const CrossEntropyOptions& options) {
  const char* op = "cross_entropy";
  const ClassRows g = class_geometry(input, op);
  const double eps = options.label_smoothing();
  MINIGRAD_CHECK(eps >= 0 && eps <= 1) << op << ": label_smoothing must be in [0, 1], got " << eps;
  const Tensor w = class_weights(options.weight(), input, g, op);
  const Reduction reduction = options.reduction();
  const Tensor x = to_rows(input.data(), g);
  const Tensor probs = softmax(x, 1);
  const Tensor logp = log_softmax(x, 1);
  const int64_t classes = g.classes;

  const bool probabilities = target.defined() && is_floating(target.dtype());
  if (!probabilities) {
    check_index_target(target, input, g, op, true);
    const Tensor t = target.contiguous().reshape({g.rows()});
    const PickedRows rows = pick_targets(logp, t, w, options.ignore_index(), eps, g.rows_shape, op);
    // ∂loss_i/∂x_ij = p_ij·Q_i − q_ij with q_ic = (1 − ε)·w_t·[c = t] + (ε/C)·w_c and
    // Q_i = Σ_c q_ic, times the row's scale s_i (0 for an ignored row).
    return record(op, reduce_rows(rows.per_row, g.rows_shape, rows.divisor, reduction), {input},
                  [probs, t, w, eps, g, used = rows.used, divisor = rows.divisor, reduction](
                      const std::vector<Tensor>& gy, Grads& grads) {
                    const Tensor scale =
                        row_scales(gy[0].reshape({-1}), used, divisor, reduction, probs.dtype());
                    Tensor gx = Tensor::zeros(probs.shape(), probs.dtype());
                    dispatch_floating(gx.dtype(), "cross_entropy backward", [&](auto tag) {
                      using T = decltype(tag);
                      const int64_t n = probs.size(0), c_n = probs.size(1);
                      const T* pp = probs.data<T>();
                      const T* ps = scale.data<T>();
                      const T* pw = w.defined() ? w.data<T>() : nullptr;
                      const int64_t* pt = t.data<int64_t>();
                      T* pg = gx.data<T>();
                      T w_total = 0;  // W = Σ_c w_c
                      for (int64_t c = 0; c < c_n; ++c) w_total += pw ? pw[c] : T(1);
                      const T keep = static_cast<T>(1 - eps),
                              spread = static_cast<T>(eps / static_cast<double>(c_n));
                      for (int64_t i = 0; i < n; ++i) {
                        if (!used[static_cast<size_t>(i)]) continue;
                        const T* p = pp + i * c_n;
                        T* gi = pg + i * c_n;
                        const int64_t ti = pt[i];
                        const T wt = pw ? pw[ti] : T(1);
                        if (eps > 0) {
                          const T q_total = keep * wt + spread * w_total;
                          for (int64_t c = 0; c < c_n; ++c)
                            gi[c] = (p[c] * q_total - spread * (pw ? pw[c] : T(1))) * ps[i];
                          gi[ti] -= keep * wt * ps[i];
                        } else {
                          for (int64_t c = 0; c < c_n; ++c) gi[c] = p[c] * wt;
                          gi[ti] -= wt;
                          for (int64_t c = 0; c < c_n; ++c) gi[c] *= ps[i];
                        }
                      }
                    });
                    grads[0] = from_rows(gx, g);
                  });
  }

  // Class probabilities: q_ic = w_c·((1 − ε)·y_ic + ε/C), loss_i = −Σ_c q_ic·logp_ic.
  MINIGRAD_CHECK(target.shape() == input.shape() && target.dtype() == input.dtype())
      << op << ": " << expected_targets(input, g, true) << ", got " << dtype_name(target.dtype())
      << " " << target.shape();
  const Tensor y = to_rows(target, g);
  Tensor q = Tensor::empty(y.shape(), y.dtype());
  Tensor per_row = Tensor::zeros({g.rows()}, y.dtype());
  dispatch_floating(y.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* py = y.data<T>();
    const T* lp = logp.data<T>();
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    T* pq = q.data<T>();
    T* out = per_row.data<T>();
    for (int64_t i = 0; i < g.rows(); ++i) {
      T loss = 0;
      for (int64_t c = 0; c < classes; ++c) {
        const int64_t k = i * classes + c;
        T yc = py[k];
        if (eps > 0)
          yc = static_cast<T>(1 - eps) * yc + static_cast<T>(eps / static_cast<double>(classes));
        pq[k] = pw ? pw[c] * yc : yc;
        loss -= pq[k] * lp[k];
      }
      out[i] = loss;
    }
  });
  // Mean divides by the number of positions, whatever the weights (as PyTorch).
  const std::vector<bool> used(static_cast<size_t>(g.rows()), true);
  const auto divisor = static_cast<double>(g.rows());
  // ∂loss_i/∂x_ij = p_ij·Σ_c q_ic − q_ij, times the row's scale.
  return record(
      op, reduce_rows(per_row, g.rows_shape, divisor, reduction), {input},
      [probs, q, g, used, divisor, reduction](const std::vector<Tensor>& gy, Grads& grads) {
        const Tensor scale =
            row_scales(gy[0].reshape({-1}), used, divisor, reduction, probs.dtype());
        Tensor gx = Tensor::empty(probs.shape(), probs.dtype());
        dispatch_floating(gx.dtype(), "cross_entropy backward", [&](auto tag) {
          using T = decltype(tag);
          const int64_t n = probs.size(0), c_n = probs.size(1);
          const T* pp = probs.data<T>();
          const T* pq = q.data<T>();
          const T* ps = scale.data<T>();
          T* pg = gx.data<T>();
          for (int64_t i = 0; i < n; ++i) {
            T q_total = 0;
            for (int64_t c = 0; c < c_n; ++c) q_total += pq[i * c_n + c];
            for (int64_t c = 0; c < c_n; ++c) {
              const int64_t k = i * c_n + c;
              pg[k] = (pp[k] * q_total - pq[k]) * ps[i];
            }
          }
        });
        grads[0] = from_rows(gx, g);
      });
}

// ---- nll_loss ----------------------------------------------------------------------------------

Variable nll_loss(const Variable& input, const Tensor& target, const NLLLossOptions& options) {
  const char* op = "nll_loss";
  const ClassRows g = class_geometry(input, op);
  const Tensor w = class_weights(options.weight(), input, g, op);
  check_index_target(target, input, g, op, false);
  const Tensor t = target.contiguous().reshape({g.rows()});
  const Reduction reduction = options.reduction();
  const PickedRows rows =
      pick_targets(to_rows(input.data(), g), t, w, options.ignore_index(), 0.0, g.rows_shape, op);
  // ∂loss_i/∂logp_ij = −w_{t_i}·[j = t_i], times the row's scale.
  return record(op, reduce_rows(rows.per_row, g.rows_shape, rows.divisor, reduction), {input},
                [t, w, g, used = rows.used, divisor = rows.divisor, reduction](
                    const std::vector<Tensor>& gy, Grads& grads) {
                  const DType dtype = gy[0].dtype();
                  const Tensor scale =
                      row_scales(gy[0].reshape({-1}), used, divisor, reduction, dtype);
                  Tensor gx = Tensor::zeros({g.rows(), g.classes}, dtype);
                  dispatch_floating(dtype, "nll_loss backward", [&](auto tag) {
                    using T = decltype(tag);
                    T* pg = gx.data<T>();
                    const T* ps = scale.data<T>();
                    const T* pw = w.defined() ? w.data<T>() : nullptr;
                    const int64_t* pt = t.data<int64_t>();
                    for (int64_t i = 0; i < g.rows(); ++i)
                      if (used[static_cast<size_t>(i)])
                        pg[i * g.classes + pt[i]] = -((pw ? pw[pt[i]] : T(1)) * ps[i]);
                  });
                  grads[0] = from_rows(gx, g);
                });
}

// ---- element-wise losses
// -------------------------------------------------------------------------

namespace {

void check_same_shape(const Variable& input, const Variable& target, const char* op) {
  MINIGRAD_CHECK(input.defined() && target.defined()) << op << ": input or target is undefined";
  MINIGRAD_CHECK(input.shape() == target.shape())
      << op << ": input " << input.shape() << " and target " << target.shape()
      << " must have the same shape";
}

// The per-element losses reduced as asked: a Variable (composed losses, whose
// backward autograd derives) or a Tensor (the fused ones, which write their own).
template <class T>
T reduce_elements(const T& loss, Reduction r) {
  switch (r) {
    case Reduction::Mean:
      return mean(loss);
    case Reduction::Sum:
      return sum(loss);
    case Reduction::None:
      return loss;
  }
  return loss;
}

// A weight (or pos_weight) broadcast to `shape` and made contiguous, or undefined.
Tensor broadcast_weight(const Tensor& weight, const Variable& input, const char* op,
                        const char* what) {
  if (!weight.defined()) return Tensor();
  MINIGRAD_CHECK(weight.dtype() == input.dtype())
      << op << ": " << what << " is " << dtype_name(weight.dtype()) << ", input is "
      << dtype_name(input.dtype());
  bool fits = weight.dim() <= input.dim();
  for (int a = 1; fits && a <= weight.dim(); ++a) {
    const int64_t ws = weight.shape()[weight.dim() - a], is = input.shape()[input.dim() - a];
    fits = ws == is || ws == 1;
  }
  MINIGRAD_CHECK(fits) << op << ": " << what << " " << weight.shape()
                       << " does not broadcast to the input " << input.shape();
  return weight.expand(input.shape()).contiguous();
}

// Each element's ∂(reduced)/∂loss_i, as a contiguous tensor of the input's shape.
Tensor element_scales(const Tensor& gy, const Shape& shape, Reduction r) {
  if (r == Reduction::None) return gy.contiguous();
  const double g = gy.item();
  const int64_t n = shape.numel();
  return Tensor::full(shape, r == Reduction::Mean ? g / static_cast<double>(n) : g, gy.dtype());
}

}  // namespace

// (input − target)² composed from differentiable ops: its gradient, ±2(input − target)
// (over N for the mean), comes from autograd.
Variable mse_loss(const Variable& input, const Variable& target, const MSELossOptions& options) {
  check_same_shape(input, target, "mse_loss");
  return reduce_elements(pow(input - target, 2.0), options.reduction());
}

// |input − target|, composed: abs's gradient is sign(·), 0 at a tie, as PyTorch's.
Variable l1_loss(const Variable& input, const Variable& target, const L1LossOptions& options) {
  check_same_shape(input, target, "l1_loss");
  return reduce_elements(abs(input - target), options.reduction());
}

Variable binary_cross_entropy(const Variable& input, const Variable& target,
                              const BCELossOptions& options) {
  const char* op = "binary_cross_entropy";
  check_same_shape(input, target, op);
  MINIGRAD_CHECK(input.dtype() == target.dtype())
      << op << ": input is " << dtype_name(input.dtype()) << ", target is "
      << dtype_name(target.dtype());
  const Tensor w = broadcast_weight(options.weight(), input, op, "weight");
  const Tensor x = input.data().contiguous(), y = target.data().contiguous();
  Tensor loss = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>(), *py = y.data<T>(), *pw = w.defined() ? w.data<T>() : nullptr;
    T* out = loss.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      MINIGRAD_CHECK(px[i] >= 0 && px[i] <= 1)
          << op << ": input [" << i << "] = " << px[i] << " (flat index) is not in [0, 1]";
      // −(y·max(log x, −100) + (1 − y)·max(log(1 − x), −100))
      const T log_x = std::max(std::log(px[i]), T(-100));
      const T log_1mx = std::max(std::log1p(-px[i]), T(-100));
      const T l = -(py[i] * log_x + (1 - py[i]) * log_1mx);
      out[i] = pw ? pw[i] * l : l;
    }
  });
  const Reduction reduction = options.reduction();
  return record(op, reduce_elements(loss, reduction), {input, target},
                [x, y, w, reduction](const std::vector<Tensor>& gy, Grads& grads) {
                  const Tensor s = element_scales(gy[0], x.shape(), reduction);
                  Tensor gx = grads.needs(0) ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
                  Tensor gt = grads.needs(1) ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
                  dispatch_floating(x.dtype(), "binary_cross_entropy backward", [&](auto tag) {
                    using T = decltype(tag);
                    const T *px = x.data<T>(), *py = y.data<T>(), *ps = s.data<T>();
                    const T* pw = w.defined() ? w.data<T>() : nullptr;
                    // PyTorch's EPSILON, a float even in float64: finite at x = 0 and 1
                    constexpr T kEps = static_cast<T>(1e-12f);
                    for (int64_t i = 0; i < x.numel(); ++i) {
                      const T scale = pw ? pw[i] * ps[i] : ps[i];
                      // ∂/∂x = (x − y) / max(x(1 − x), 1e-12)
                      if (gx.defined())
                        gx.data<T>()[i] =
                            scale * (px[i] - py[i]) / std::max((1 - px[i]) * px[i], kEps);
                      // ∂/∂y = log(1 − x) − log x
                      if (gt.defined())
                        gt.data<T>()[i] = scale * (std::log1p(-px[i]) - std::log(px[i]));
                    }
                  });
                  if (gx.defined()) grads[0] = gx;
                  if (gt.defined()) grads[1] = gt;
                });
}

Variable binary_cross_entropy_with_logits(const Variable& input, const Variable& target,
                                          const BCEWithLogitsLossOptions& options) {
  const char* op = "binary_cross_entropy_with_logits";
  check_same_shape(input, target, op);
  MINIGRAD_CHECK(input.dtype() == target.dtype())
      << op << ": input is " << dtype_name(input.dtype()) << ", target is "
      << dtype_name(target.dtype());
  const Tensor w = broadcast_weight(options.weight(), input, op, "weight");
  const Tensor pos = broadcast_weight(options.pos_weight(), input, op, "pos_weight");
  const Tensor x = input.data().contiguous(), y = target.data().contiguous();
  Tensor loss = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>(), *py = y.data<T>();
    const T* pw = w.defined() ? w.data<T>() : nullptr;
    const T* pp = pos.defined() ? pos.data<T>() : nullptr;
    T* out = loss.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      // softplus(−x) = log(1 + e^−x) = max(−x, 0) + log1p(e^−|x|): no overflow, no cancellation
      const T softplus = std::max(-px[i], T(0)) + std::log1p(std::exp(-std::abs(px[i])));
      const T log_weight = pp ? 1 + (pp[i] - 1) * py[i] : T(1);  // 1 + (p − 1)·y
      const T l = (1 - py[i]) * px[i] + log_weight * softplus;
      out[i] = pw ? pw[i] * l : l;
    }
  });
  const Reduction reduction = options.reduction();
  return record(
      op, reduce_elements(loss, reduction), {input, target},
      [x, y, w, pos, reduction](const std::vector<Tensor>& gy, Grads& grads) {
        const Tensor s = element_scales(gy[0], x.shape(), reduction);
        Tensor gx = grads.needs(0) ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
        Tensor gt = grads.needs(1) ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
        dispatch_floating(x.dtype(), "binary_cross_entropy_with_logits backward", [&](auto tag) {
          using T = decltype(tag);
          const T *px = x.data<T>(), *py = y.data<T>(), *ps = s.data<T>();
          const T* pw = w.defined() ? w.data<T>() : nullptr;
          const T* pp = pos.defined() ? pos.data<T>() : nullptr;
          for (int64_t i = 0; i < x.numel(); ++i) {
            const T scale = pw ? pw[i] * ps[i] : ps[i];
            const T p = pp ? pp[i] : T(1);
            if (gx.defined()) {  // ∂/∂x = (1 + (p − 1)·y)·σ(x) − p·y
              const T sig = 1 / (1 + std::exp(-px[i]));
              gx.data<T>()[i] = scale * ((1 + (p - 1) * py[i]) * sig - p * py[i]);
            }
            if (gt.defined()) {  // ∂/∂y = (p − 1)·softplus(−x) − x
              const T softplus = std::max(-px[i], T(0)) + std::log1p(std::exp(-std::abs(px[i])));
              gt.data<T>()[i] = scale * ((p - 1) * softplus - px[i]);
            }
          }
        });
        if (gx.defined()) grads[0] = gx;
        if (gt.defined()) grads[1] = gt;
      });
}

}  // namespace minigrad::nn
