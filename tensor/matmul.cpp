// matmul: torch.matmul's shapes, batching and strides around the GEMM kernel (tensor/gemm.h).
//
//   C[..., m, n] = A[..., m, k] · B[..., k, n]       a 1-D A is [1, k], a 1-D B is [k, 1]
//
// GEMM wants each matrix as (pointer, leading dimension, transposed?). A strided 2-D
// view with unit column stride is row-major as it stands; one with unit row stride is
// the transpose of a row-major matrix (x.mT() of a contiguous x), which GEMM reads with
// its transpose flag instead of a copy. So `matmul(x, w.mT())` makes the same GEMM call
// a flag on w would. Only a view with neither unit stride is copied.
#include <sstream>
#include <stdexcept>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/gemm.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/row_kernels.h"

namespace minigrad {
namespace {

struct MatrixArg {
  int64_t ld;
  bool trans;
};

// How GEMM reads a stored [rows, cols] matrix with strides (s0, s1):
//   row-major      (trans = false)  element (i, j) at i·ld + j    needs s1 == 1
//   transposed     (trans = true)   element (i, j) at j·ld + i    needs s0 == 1
// A single row or column has only one stride that matters, so it fits either way;
// then an exact unit stride decides, and a [1, k] with both strides 1 (the mT() of a
// contiguous [k, 1]) is read transposed, as the flag on the column would have been.
// Returns false when neither fits (the operand is copied).
bool as_gemm_operand(int64_t rows, int64_t cols, int64_t s0, int64_t s1, MatrixArg* out) {
  const MatrixArg row_major{rows == 1 ? std::max<int64_t>(cols, 1) : s0, false};
  const MatrixArg transposed{cols == 1 ? std::max<int64_t>(rows, 1) : s1, true};
  bool trans;
  if (s1 == 1 && s0 != 1) {
    trans = false;
  } else if (s0 == 1 && s1 != 1) {
    trans = true;
  } else if (s0 == 1 && s1 == 1) {
    trans = rows == 1 && cols != 1;
  } else if (cols == 1) {
    trans = false;
  } else if (rows == 1) {
    trans = true;
  } else {
    return false;
  }
  *out = trans ? transposed : row_major;
  return out->ld >= 0;
}

// Work (multiply-adds) below which one GEMM call is too small to split across threads,
// while a batch of them can be: such batches run their GEMMs in parallel, if the whole
// batch is at least detail::kParallelBatchWork.
constexpr int64_t kSmallGemm = 64 * 64 * 64;

// "[..] @ [..]": the operands as the caller gave them, for the error messages (streamed
// only when a check fails, so a call that succeeds formats nothing).
struct Operands {
  const Shape& a;
  const Shape& b;
};
std::ostream& operator<<(std::ostream& os, const Operands& o) { return os << o.a << " @ " << o.b; }

// The product of two operands of 2 or more axes.
template <bool kReference>
Tensor matrix_product(const Tensor& a_in, const Tensor& b_in, const Operands& shapes,
                      const char* op) {
  const int ra = a_in.dim(), rb = b_in.dim();
  const int64_t m = a_in.shape()[ra - 2], k = a_in.shape()[ra - 1];
  const int64_t kb = b_in.shape()[rb - 2], n = b_in.shape()[rb - 1];
  MINIGRAD_CHECK(k == kb) << op << ": " << shapes << ": inner sizes " << k << " and " << kb
                          << " differ";

  Shape batch_a(a_in.shape().begin(), a_in.shape().end() - 2);
  Shape batch_b(b_in.shape().begin(), b_in.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(batch_a, batch_b, op);
  } catch (const std::invalid_argument&) {
    MINIGRAD_CHECK(false) << op << ": " << shapes << ": batch shapes " << batch_a << " and "
                          << batch_b << " cannot broadcast";
  }

  Tensor a = a_in, b = b_in;
  // [..., m, k] @ [k, n]: one GEMM with the batch folded into the rows of A, when A's
  // batch and rows can be viewed as one axis.
  if (!kReference && rb == 2 && ra > 2) {
    Tensor folded;
    try {
      folded = a.view({-1, k});
    } catch (const std::invalid_argument&) {
    }
    if (folded.defined()) {
      Shape out_shape = batch;
      out_shape.push_back(m);
      out_shape.push_back(n);
      return matrix_product<false>(folded, b, shapes, op).view(out_shape);
    }
  }

  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = Tensor::empty(out_shape, a.dtype());
  const int64_t nbatch = batch.numel();
  if (out.numel() == 0) return out;

  // Each operand as a GEMM matrix; copy the ones whose inner strides do not fit.
  auto prepare = [&](Tensor& t, MatrixArg* arg) {
    const int r = t.dim();
    const bool fits = as_gemm_operand(t.shape()[r - 2], t.shape()[r - 1], t.strides()[r - 2],
                                      t.strides()[r - 1], arg);
    if (!fits) {
      t = t.contiguous();
      as_gemm_operand(t.shape()[r - 2], t.shape()[r - 1], t.strides()[r - 2], t.strides()[r - 1],
                      arg);
    }
  };
  MatrixArg ma{}, mb{};
  prepare(a, &ma);
  prepare(b, &mb);

  // Batch offsets: the operands expanded to the broadcast batch shape.
  Shape full_a = batch, full_b = batch;
  full_a.push_back(a.shape()[ra - 2]);
  full_a.push_back(a.shape()[ra - 1]);
  full_b.push_back(b.shape()[rb - 2]);
  full_b.push_back(b.shape()[rb - 1]);
  const Tensor ea = a.expand(full_a), eb = b.expand(full_b);
  const int nb = batch.size();

  dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(ea.raw_data());
    const T* pb = static_cast<const T*>(eb.raw_data());
    T* pc = out.data<T>();
    auto one = [&](int64_t bi) {
      int64_t oa = 0, ob = 0, rem = bi;
      for (int d = nb - 1; d >= 0; --d) {
        const int64_t i = rem % batch[d];
        rem /= batch[d];
        oa += i * ea.strides()[d];
        ob += i * eb.strides()[d];
      }
      T* c = pc + bi * m * n;
      if (kReference) {
        gemm_reference<T>(ma.trans, mb.trans, m, n, k, T(1), pa + oa, ma.ld, pb + ob, mb.ld, T(0),
                          c, n);
      } else {
        gemm<T>(ma.trans, mb.trans, m, n, k, T(1), pa + oa, ma.ld, pb + ob, mb.ld, T(0), c, n);
      }
    };
    // Products of kSmallGemm or more split themselves inside gemm: their batch is not.
    const bool parallel_batch = !kReference && m * n * k < kSmallGemm;
    detail::for_each_item(nbatch, parallel_batch ? double(nbatch * m * n * k) : 0.0,
                          [&](int64_t bi, int) { one(bi); });
  });
  return out;
}

// torch.matmul's rank rules around matrix_product: a 1-D A is [1, k] and a 1-D B is
// [k, 1] for the product, and that axis is removed from the result.
template <bool kReference>
Tensor matmul_impl(const Tensor& a, const Tensor& b, const char* op) {
  MINIGRAD_CHECK(a.defined() && b.defined()) << op << ": an operand is undefined";
  const Operands shapes{a.shape(), b.shape()};
  MINIGRAD_CHECK(a.dim() >= 1 && b.dim() >= 1)
      << op << ": " << shapes << ": both operands need at least 1 dimension";
  MINIGRAD_CHECK(a.dtype() == b.dtype())
      << op << ": " << shapes << ": dtypes differ: " << dtype_name(a.dtype()) << " @ "
      << dtype_name(b.dtype());
  dispatch_floating(a.dtype(), op, [](auto) {});
  const Tensor c = matrix_product<kReference>(a.dim() == 1 ? a.unsqueeze(0) : a,
                                              b.dim() == 1 ? b.unsqueeze(1) : b, shapes, op);
  if (a.dim() > 1 && b.dim() > 1) return c;
  Shape out(c.shape().begin(), c.shape().end() - 2);
  if (a.dim() > 1) out.push_back(c.size(-2));
  if (b.dim() > 1) out.push_back(c.size(-1));
  return c.view(out);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) { return matmul_impl<false>(a, b, "matmul"); }

Tensor matmul_reference(const Tensor& a, const Tensor& b) {
  return matmul_impl<true>(a, b, "matmul_reference");
}

Tensor Tensor::matmul(const Tensor& other) const { return minigrad::matmul(*this, other); }

}  // namespace minigrad
