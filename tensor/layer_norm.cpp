// Layer normalisation over the trailing dims, computed row by row on a contiguous
// copy: a row is the N = Π normalized_shape numbers that share one mean and variance.
//
//   forward                                  backward (g = dy ⊙ w, the gradient at x̂)
//   μ  = (1/N) Σ_j x_j                       dw_j = Σ_rows dy_j · x̂_j
//   σ² = (1/N) Σ_j (x_j − μ)²                db_j = Σ_rows dy_j
//   r  = 1/√(σ² + eps)                       dx_k = r·(g_k − mean(g) − x̂_k·mean(g ⊙ x̂))
//   x̂_j = (x_j − μ)·r
//   y_j = x̂_j·w_j + b_j
//
// dx, derived: μ and r depend on every x_k of the row, ∂μ/∂x_k = 1/N and
// ∂r/∂x_k = −½(σ² + eps)^(−3/2)·(2/N)(x_k − μ) = −r²·x̂_k/N, so
//   ∂x̂_j/∂x_k = r·(δ_jk − 1/N) − (x_j − μ)·r²·x̂_k/N = r·(δ_jk − 1/N − x̂_j·x̂_k/N)
//   dx_k = Σ_j g_j ∂x̂_j/∂x_k = r·(g_k − (1/N)Σ_j g_j − x̂_k·(1/N)Σ_j g_j x̂_j).
//
// Threads: rows are independent, so the forward and dx split over rows; dw and db sum
// over rows, so they split over columns, each column summed in row order. Either way
// every number is computed the same way whatever the thread count.
#include <algorithm>
#include <cmath>
#include <string>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/row_kernels.h"
#include "minigrad/tensor/strided.h"

namespace minigrad {

using detail::row_dot;
using detail::row_sum;
using detail::row_sum_by;

namespace {

// A row of layer norm is read three times and written once: the work of four
// element-wise loops per element, for strided.h's rule on when to use threads.
constexpr int64_t kRowCost = 4;
bool parallel_rows(int64_t rows, int64_t n) {
  return rows * n * kRowCost >= detail::kParallelElements;
}

}  // namespace

void check_layer_norm(const char* op, const Tensor& x, const std::vector<int64_t>& normalized_shape,
                      const Tensor& weight, const Tensor& bias) {
  const Shape norm(normalized_shape);
  MINIGRAD_CHECK(x.defined()) << op << ": the input is undefined";
  MINIGRAD_CHECK(!normalized_shape.empty())
      << op << ": normalized_shape is empty; it names the trailing dims to normalise over "
      << "(input " << x.shape() << ")";
  const int k = norm.size();
  bool ends_in = x.dim() >= k;
  for (int i = 0; ends_in && i < k; ++i) ends_in = x.shape()[x.dim() - k + i] == norm[i];
  MINIGRAD_CHECK(ends_in) << op << ": input " << x.shape() << " does not end in normalized_shape "
                          << norm << " (expected input of shape [*," << norm.str().substr(1) << ")";
  MINIGRAD_CHECK(is_floating(x.dtype()))
      << op << ": expected a float32 or float64 input, got " << dtype_name(x.dtype());
  for (const auto& [name, t] : {std::pair<const char*, const Tensor&>{"weight", weight},
                                std::pair<const char*, const Tensor&>{"bias", bias}}) {
    if (!t.defined()) continue;
    MINIGRAD_CHECK(t.shape() == norm)
        << op << ": " << name << " " << t.shape() << " must have the shape of normalized_shape "
        << norm << " (input " << x.shape() << ")";
    MINIGRAD_CHECK(t.dtype() == x.dtype()) << op << ": " << name << " is " << dtype_name(t.dtype())
                                           << ", the input " << dtype_name(x.dtype());
  }
}

namespace {

// A pointer to the contiguous data of an optional weight or bias, null when undefined.
template <class T>
const T* data_or_null(const Tensor& contiguous) {
  return contiguous.defined() ? contiguous.data<T>() : nullptr;
}

// The number of rows: the product of the leading dims (not numel / N, which fails for N = 0).
int64_t row_count(const Shape& shape, int64_t n_dims) {
  int64_t rows = 1;
  for (int i = 0; i < shape.size() - n_dims; ++i) rows *= shape[i];
  return rows;
}

}  // namespace

LayerNormForward layer_norm_forward(const Tensor& x, const std::vector<int64_t>& normalized_shape,
                                    const Tensor& weight, const Tensor& bias, double eps) {
  check_layer_norm("layer_norm", x, normalized_shape, weight, bias);
  const int64_t n = Shape(normalized_shape).numel();
  const int64_t rows = row_count(x.shape(), static_cast<int64_t>(normalized_shape.size()));
  const Tensor xc = x.contiguous();
  const Tensor wc = weight.defined() ? weight.contiguous() : Tensor();
  const Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  LayerNormForward out{Tensor::empty(x.shape(), x.dtype()), Tensor::empty({rows}, x.dtype()),
                       Tensor::empty({rows}, x.dtype())};
  dispatch_floating(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = xc.data<T>();
    const T* w = data_or_null<T>(wc);
    const T* b = data_or_null<T>(bc);
    T* py = out.y.data<T>();
    T* mean = out.mean.data<T>();
    T* rstd = out.rstd.data<T>();
    const T e = static_cast<T>(eps);
#pragma omp parallel for schedule(static) if (parallel_rows(rows, n))
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = px + r * n;
      T* yr = py + r * n;
      const T mu = row_sum(xr, n) / static_cast<T>(n);
      for (int64_t j = 0; j < n; ++j) yr[j] = xr[j] - mu;  // x − μ, kept for σ² and x̂
      const T rs = T(1) / std::sqrt(row_dot(yr, yr, n) / static_cast<T>(n) + e);
      mean[r] = mu;
      rstd[r] = rs;
      if (w != nullptr && b != nullptr) {
        for (int64_t j = 0; j < n; ++j) yr[j] = yr[j] * rs * w[j] + b[j];
      } else {
        for (int64_t j = 0; j < n; ++j) {
          T v = yr[j] * rs;
          if (w != nullptr) v *= w[j];
          if (b != nullptr) v += b[j];
          yr[j] = v;
        }
      }
    }
  });
  return out;
}

namespace {

// dx for every row; kAffine: g = dy ⊙ w, otherwise g = dy.
template <bool kAffine, class T>
void layer_norm_dx(const T* px, const T* pg, const T* mean, const T* rstd, const T* w, T* pdx,
                   int64_t rows, int64_t n) {
#pragma omp parallel for schedule(static) if (parallel_rows(rows, n))
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = px + r * n;
    const T* gr = pg + r * n;
    T* dxr = pdx + r * n;
    const T mu = mean[r], rs = rstd[r];
    const auto g = [&](int64_t j) {
      if constexpr (kAffine) return gr[j] * w[j];
      return gr[j];
    };
    const T inv_n = T(1) / static_cast<T>(n);
    const T mean_g = row_sum_by<T>(n, g) * inv_n;  // mean(g)
    const T mean_gx =                              // mean(g ⊙ x̂)
        row_sum_by<T>(n, [&](int64_t j) { return g(j) * ((xr[j] - mu) * rs); }) * inv_n;
    for (int64_t j = 0; j < n; ++j) dxr[j] = rs * (g(j) - mean_g - ((xr[j] - mu) * rs) * mean_gx);
  }
}

}  // namespace

LayerNormBackward layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& mean,
                                      const Tensor& rstd, const Tensor& weight) {
  MINIGRAD_CHECK(gy.shape() == x.shape() && gy.dtype() == x.dtype())
      << "layer_norm_backward: gy is " << dtype_name(gy.dtype()) << gy.shape() << ", x is "
      << dtype_name(x.dtype()) << x.shape() << "; they must match";
  const int64_t rows = mean.numel();
  MINIGRAD_CHECK(rstd.numel() == rows && mean.dtype() == x.dtype() && rstd.dtype() == x.dtype() &&
                 (rows == 0 ? x.numel() == 0 : x.numel() % rows == 0))
      << "layer_norm_backward: mean " << mean.shape() << " and rstd " << rstd.shape()
      << " must hold one " << dtype_name(x.dtype()) << " per row of x " << x.shape();
  const int64_t n = weight.defined() ? weight.numel() : (rows == 0 ? 0 : x.numel() / rows);
  const Tensor xc = x.contiguous(), gc = gy.contiguous(), mc = mean.contiguous(),
               rc = rstd.contiguous();
  const Tensor wc = weight.defined() ? weight.contiguous() : Tensor();
  LayerNormBackward out{Tensor::empty(x.shape(), x.dtype()), Tensor(), Tensor()};
  if (wc.defined()) {
    out.dweight = Tensor::zeros(weight.shape(), x.dtype());
    out.dbias = Tensor::zeros(weight.shape(), x.dtype());
  }
  dispatch_floating(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* px = xc.data<T>();
    const T* pg = gc.data<T>();
    const T* mu = mc.data<T>();
    const T* rs = rc.data<T>();
    if (!wc.defined()) {
      layer_norm_dx<false>(px, pg, mu, rs, static_cast<const T*>(nullptr), out.dx.data<T>(), rows,
                           n);
      return;
    }
    layer_norm_dx<true>(px, pg, mu, rs, wc.data<T>(), out.dx.data<T>(), rows, n);
    // dw_j = Σ_r dy_rj·x̂_rj and db_j = Σ_r dy_rj: blocks of columns, rows in order
    T* dw = out.dweight.data<T>();
    T* db = out.dbias.data<T>();
    constexpr int64_t kBlock = 64;  // columns: 256 bytes of float, two blocks at n = 128
#pragma omp parallel for schedule(static) if (parallel_rows(rows, n))
    for (int64_t c0 = 0; c0 < n; c0 += kBlock) {
      const int64_t c1 = std::min(n, c0 + kBlock);
      for (int64_t r = 0; r < rows; ++r) {
        const T* xr = px + r * n;
        const T* gr = pg + r * n;
        for (int64_t j = c0; j < c1; ++j) {
          dw[j] += gr[j] * ((xr[j] - mu[r]) * rs[r]);
          db[j] += gr[j];
        }
      }
    }
  });
  return out;
}

}  // namespace minigrad
