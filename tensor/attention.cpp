// Scaled dot-product attention, fused: for each batch item (one (batch, head) pair of
// [B, h, T, d] inputs) the two GEMMs and the softmax between them run back to back on
// one thread while the item's scores are in cache, and the items are shared out among
// the threads. Composed from matmul, softmax and masked_fill, the same work makes
// three trips through memory for the [B, h, Tq, Tk] scores and runs the softmax on
// one thread.
//
// Forward, per item                          Backward (gC = ∂L/∂C, gA = ∂L/∂A)
//   S = Q·Kᵀ·scale  (+ M; −∞ where blocked)     dA = gA + gC·Vᵀ
//   A = softmax_j(S)                            dV = Aᵀ·gC
//   C = A·V                                     dS = A ⊙ (dA − Σ_j dA_j A_j)
//                                               dQ = scale·dS·K,   dK = scale·dSᵀ·Q
//
// dS is softmax's vector-Jacobian product row by row: ∂A_i/∂S_j = A_i(δ_ij − A_j), so
// dS_j = Σ_i dA_i A_i(δ_ij − A_j) = A_j(dA_j − Σ_i dA_i A_i). A blocked key has
// A_j = 0 and so dS_j = 0: no gradient reaches it.
//
// Each item is computed by one thread with GEMM's single-threaded path (gemm.cpp opens
// no region of its own inside a parallel one), so the bits are the same whatever the
// thread count.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/gemm.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/row_kernels.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace minigrad {
namespace {

// The trailing [rows, cols] matrix of every batch item of a tensor, as GEMM reads it:
// element (i, j) of item b at data + offset[b] + i·ld + j.
template <class T>
struct Items {
  Tensor t;  // expanded to the batch shape (keeps the storage alive)
  std::vector<int64_t> offset;
  int64_t ld = 1;

  const T* operator[](int64_t b) const { return t.data<T>() + offset[static_cast<size_t>(b)]; }
  T* mut(int64_t b) const { return const_cast<T*>((*this)[b]); }
};

// The offset of every item of t (whose leading axes are `batch`, broadcast to it by
// expand, so a broadcast axis has stride 0), batch index b in row-major order.
std::vector<int64_t> item_offsets(const Tensor& t, const Shape& batch) {
  const int nb = batch.size();
  std::vector<int64_t> off(static_cast<size_t>(batch.numel()));
  for (size_t b = 0; b < off.size(); ++b) {
    int64_t rem = static_cast<int64_t>(b), o = 0;
    for (int d = nb - 1; d >= 0; --d) {
      o += rem % batch[d] * t.strides()[d];
      rem /= batch[d];
    }
    off[b] = o;
  }
  return off;
}

// t's items read in place when its last axis has unit stride and its rows do not
// overlap (the heads of a [B, T, h·d] projection viewed as [B, h, T, d], a transpose of
// the batch axes, a broadcast batch); otherwise a contiguous copy of it.
template <class T>
Items<T> items(Tensor t, const Shape& batch) {
  const int r = t.dim();
  const int64_t rows = t.size(-2), cols = t.size(-1);
  const bool in_place =
      (cols <= 1 || t.strides()[r - 1] == 1) && (rows <= 1 || t.strides()[r - 2] >= cols);
  if (!in_place) t = t.contiguous();
  Shape full = batch;
  full.push_back(rows);
  full.push_back(cols);
  Items<T> it;
  it.t = t.expand(full);
  it.offset = item_offsets(it.t, batch);
  it.ld = std::max<int64_t>(rows > 1 ? t.strides()[r - 2] : cols, 1);
  return it;
}

// A fresh [batch..., rows, cols] result. With two or more batch axes it is stored as
// [batch[:-1]..., rows, batch[-1], cols] (the heads side by side) and viewed through
// transpose(-3, -2): the layout the heads are merged in, and the one MultiheadAttention's
// Q, K and V come in, so their gradients go back through permute and reshape as views.
Tensor heads_side_by_side(const Shape& batch, int64_t rows, int64_t cols, DType dtype) {
  Shape shape(batch.begin(), batch.end() - (batch.size() >= 2 ? 1 : 0));
  shape.push_back(rows);
  if (batch.size() >= 2) shape.push_back(batch[batch.size() - 1]);
  shape.push_back(cols);
  const Tensor t = Tensor::empty(shape, dtype);
  return batch.size() >= 2 ? t.transpose(-3, -2) : t;
}

int max_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// A row of scores with its row of the mask applied (key j at mask[j·stride]): −∞ where
// a bool mask (read as bytes, M = uint8_t) is true, a float mask added. Unit stride (a
// mask of whole rows) gets a loop of its own, which vectorises; g++ 12 vectorises the
// select on bytes but not on bool.
template <class T, class M>
void mask_row(T* row, const M* mask, int64_t stride, int64_t n) {
  auto apply = [](T s, M m) {
    if constexpr (std::is_same_v<M, uint8_t>) {
      return m != 0 ? -std::numeric_limits<T>::infinity() : s;
    } else {
      return s + m;
    }
  };
  if (stride == 1) {
    for (int64_t j = 0; j < n; ++j) row[j] = apply(row[j], mask[j]);
  } else {
    for (int64_t j = 0; j < n; ++j) row[j] = apply(row[j], mask[j * stride]);
  }
}

Shape batch_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

// The batch shape every operand broadcasts to, after the checks every entry point shares.
Shape check_and_broadcast(const char* op, const Tensor& q, const Tensor& k, const Tensor& v) {
  MINIGRAD_CHECK(q.defined() && k.defined() && v.defined()) << op << ": q, k and v must be defined";
  MINIGRAD_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2 && q.size(-1) == k.size(-1) &&
                 k.size(-2) == v.size(-2))
      << op << ": q " << q.shape() << ", k " << k.shape() << ", v " << v.shape()
      << ": expected q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv]";
  MINIGRAD_CHECK(is_floating(q.dtype()) && k.dtype() == q.dtype() && v.dtype() == q.dtype())
      << op << ": q " << dtype_name(q.dtype()) << q.shape() << ", k " << dtype_name(k.dtype())
      << k.shape() << ", v " << dtype_name(v.dtype()) << v.shape()
      << ": expected one floating dtype";
  return broadcast_shapes(broadcast_shapes(batch_of(q), batch_of(k), op), batch_of(v), op);
}

Shape with_matrix(Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

}  // namespace

AttentionForward attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                   const Tensor& mask, double scale) {
  const char* op = "attention_forward";
  const Shape batch = check_and_broadcast(op, q, k, v);
  const int64_t tq = q.size(-2), tk = k.size(-2), d = q.size(-1), dv = v.size(-1);
  const Shape scores = with_matrix(batch, tq, tk);
  if (mask.defined()) {
    MINIGRAD_CHECK((mask.dtype() == DType::Bool || mask.dtype() == q.dtype()) &&
                   broadcast_shapes(mask.shape(), scores, op) == scores)
        << op << ": mask " << dtype_name(mask.dtype()) << mask.shape() << ": expected bool or "
        << dtype_name(q.dtype()) << ", broadcastable to the scores " << scores;
  }
  AttentionForward out{heads_side_by_side(batch, tq, dv, q.dtype()),
                       Tensor::empty(scores, q.dtype())};
  const int64_t n = batch.numel();
  if (n == 0 || tq == 0) return out;
  dispatch_floating(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const Items<T> qi = items<T>(q, batch), ki = items<T>(k, batch), vi = items<T>(v, batch);
    const Items<T> ci = items<T>(out.context, batch);
    T* weights = out.weights.data<T>();
    // The mask, expanded to the scores: row i of item b at m + offset[b] + i·ms0,
    // key j at j·ms1 (strides 0 along its broadcast axes).
    const Tensor m = mask.defined() ? mask.expand(scores) : Tensor();
    const std::vector<int64_t> m_off =
        mask.defined() ? item_offsets(m, batch) : std::vector<int64_t>();
    const int64_t ms0 = mask.defined() ? m.strides()[m.dim() - 2] : 0;
    const int64_t ms1 = mask.defined() ? m.strides()[m.dim() - 1] : 0;
    const bool bool_mask = mask.defined() && mask.dtype() == DType::Bool;
    const auto work = static_cast<double>(n * tq * tk * (d + dv));
    detail::for_each_item(n, work, [&](int64_t b, int) {
      T* a = weights + b * tq * tk;
      gemm<T>(false, true, tq, tk, d, T(scale), qi[b], qi.ld, ki[b], ki.ld, T(0), a, tk);  // S
      for (int64_t i = 0; i < tq; ++i) {
        T* row = a + i * tk;
        if (bool_mask) {
          mask_row(row,
                   reinterpret_cast<const uint8_t*>(m.data<bool>()) +
                       m_off[static_cast<size_t>(b)] + i * ms0,
                   ms1, tk);
        } else if (mask.defined()) {
          mask_row(row, m.data<T>() + m_off[static_cast<size_t>(b)] + i * ms0, ms1, tk);
        }
        detail::softmax_row<false>(row, row, tk);  // A = softmax_j(S), in place
      }
      gemm<T>(false, false, tq, dv, tk, T(1), a, tk, vi[b], vi.ld, T(0), ci.mut(b), ci.ld);  // C
    });
  });
  return out;
}

AttentionBackward attention_backward(const Tensor& gc, const Tensor& gw, const Tensor& q,
                                     const Tensor& k, const Tensor& v, const Tensor& weights,
                                     double scale) {
  const char* op = "attention_backward";
  const Shape batch = check_and_broadcast(op, q, k, v);
  const int64_t tq = q.size(-2), tk = k.size(-2), d = q.size(-1), dv = v.size(-1);
  const Shape scores = with_matrix(batch, tq, tk);
  MINIGRAD_CHECK(weights.defined() && weights.shape() == scores && weights.dtype() == q.dtype() &&
                 weights.is_contiguous() && gc.defined() &&
                 gc.shape() == with_matrix(batch, tq, dv) && gc.dtype() == q.dtype() &&
                 (!gw.defined() || (gw.shape() == scores && gw.dtype() == q.dtype())))
      << op << ": q " << q.shape() << ", k " << k.shape() << ", v " << v.shape() << ", weights "
      << (weights.defined() ? weights.shape().str() : "(undefined)") << ", gC "
      << (gc.defined() ? gc.shape().str() : "(undefined)") << ", gA "
      << (gw.defined() ? gw.shape().str() : "(undefined)")
      << ": expected the forward's contiguous weights " << scores << ", gC of the context's shape "
      << "and gA of the weights' shape (or undefined), all of q's dtype";
  AttentionBackward g{heads_side_by_side(batch, tq, d, q.dtype()),
                      heads_side_by_side(batch, tk, d, q.dtype()),
                      heads_side_by_side(batch, tk, dv, q.dtype())};
  const int64_t n = batch.numel();
  if (n == 0 || tk == 0 || tq == 0) {
    // No scores: nothing reaches Q, K or V (or there is no Q, K, V to reach).
    g.dq = Tensor::zeros(g.dq.shape(), q.dtype());
    g.dk = Tensor::zeros(g.dk.shape(), q.dtype());
    g.dv = Tensor::zeros(g.dv.shape(), q.dtype());
    return g;
  }
  const Tensor gw_rows = gw.defined() ? gw.contiguous() : Tensor();
  // dA and then dS of one item, per thread
  Tensor scratch = Tensor::empty({max_threads(), tq * tk}, q.dtype());
  dispatch_floating(q.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const Items<T> qi = items<T>(q, batch), ki = items<T>(k, batch), vi = items<T>(v, batch);
    const Items<T> gci = items<T>(gc, batch);
    const Items<T> dqi = items<T>(g.dq, batch), dki = items<T>(g.dk, batch),
                   dvi = items<T>(g.dv, batch);
    const T* w = weights.data<T>();
    const T* ga = gw_rows.defined() ? gw_rows.data<T>() : nullptr;
    T* ds_all = scratch.data<T>();
    const auto work = static_cast<double>(n * tq * tk * (2 * d + 2 * dv));
    detail::for_each_item(n, work, [&](int64_t b, int thread) {
      const T* a = w + b * tq * tk;
      T* ds = ds_all + thread * tq * tk;
      // dA = gC·Vᵀ (+ gA)
      gemm<T>(false, true, tq, tk, dv, T(1), gci[b], gci.ld, vi[b], vi.ld, T(0), ds, tk);
      if (ga) {
        const T* gab = ga + b * tq * tk;
        for (int64_t j = 0; j < tq * tk; ++j) ds[j] += gab[j];
      }
      // dV = Aᵀ·gC
      gemm<T>(true, false, tk, dv, tq, T(1), a, tk, gci[b], gci.ld, T(0), dvi.mut(b), dvi.ld);
      // dS = scale · A ⊙ (dA − Σ_j dA_j A_j), row by row, over dA
      for (int64_t i = 0; i < tq; ++i) {
        detail::softmax_backward_row(a + i * tk, ds + i * tk, ds + i * tk, tk, T(scale));
      }
      // dQ = dS·K,  dK = dSᵀ·Q  (the scale is in dS)
      gemm<T>(false, false, tq, d, tk, T(1), ds, tk, ki[b], ki.ld, T(0), dqi.mut(b), dqi.ld);
      gemm<T>(true, false, tk, d, tq, T(1), ds, tk, qi[b], qi.ld, T(0), dki.mut(b), dki.ld);
    });
  });
  return g;
}

}  // namespace minigrad
