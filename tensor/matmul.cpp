// matmul: shapes, batching and strides around the GEMM kernel (tensor/gemm.h).
//
//   C[..., m, n] = op(A)[..., m, k] · op(B)[..., k, n]
//
// GEMM wants each matrix as (pointer, leading dimension, transposed?). A strided
// 2-D view with unit column stride is row-major as it stands; one with unit row
// stride is the transpose of a row-major matrix, so we flip its flag instead of
// copying. Only a view with neither unit stride is copied.
#include <sstream>
#include <stdexcept>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/gemm.h"
#include "minigrad/tensor/ops.h"

namespace minigrad {
namespace {

struct MatrixArg {
  int64_t ld;
  bool trans;
};

// How GEMM should read a stored [rows, cols] matrix with strides (s0, s1), given
// that the caller wants it transposed or not; false when it must be copied.
bool as_gemm_operand(int64_t rows, int64_t cols, int64_t s0, int64_t s1, bool want_trans,
                     MatrixArg* out) {
  if (s1 == 1 || cols == 1) {
    *out = {rows == 1 ? std::max<int64_t>(cols, 1) : s0, want_trans};
    return s0 >= 0;
  }
  if (s0 == 1 || rows == 1) {
    *out = {cols == 1 ? std::max<int64_t>(rows, 1) : s1, !want_trans};
    return s1 >= 0;
  }
  return false;
}

std::string operand(const Tensor& t, bool trans) { return t.shape().str() + (trans ? "ᵀ" : ""); }

// Work (multiply-adds) below which one GEMM call is too small to split across threads,
// while a batch of them can be: such batches run their GEMMs in parallel, if the whole
// batch is at least kParallelBatchWork (the threshold of gemm.cpp's kParallelMinWork,
// for the same reason: a parallel region on a busy machine can wait milliseconds).
constexpr int64_t kSmallGemm = 64 * 64 * 64;
constexpr int64_t kParallelBatchWork = int64_t{1} << 22;

template <bool kReference>
Tensor matmul_impl(const Tensor& a_in, const Tensor& b_in, bool ta, bool tb, const char* op) {
  MINIGRAD_CHECK(a_in.defined() && b_in.defined()) << op << ": an operand is undefined";
  MINIGRAD_CHECK(a_in.dim() >= 2 && b_in.dim() >= 2)
      << op << ": " << operand(a_in, ta) << " @ " << operand(b_in, tb)
      << ": both operands need at least 2 axes (reshape vectors to "
         "[1,k] or [k,1])";
  MINIGRAD_CHECK(a_in.dtype() == b_in.dtype())
      << op << ": dtypes differ: " << dtype_name(a_in.dtype()) << " @ " << dtype_name(b_in.dtype());
  const int ra = a_in.dim(), rb = b_in.dim();
  const int64_t m = ta ? a_in.shape()[ra - 1] : a_in.shape()[ra - 2];
  const int64_t ka = ta ? a_in.shape()[ra - 2] : a_in.shape()[ra - 1];
  const int64_t kb = tb ? b_in.shape()[rb - 1] : b_in.shape()[rb - 2];
  const int64_t n = tb ? b_in.shape()[rb - 2] : b_in.shape()[rb - 1];
  MINIGRAD_CHECK(ka == kb) << op << ": " << operand(a_in, ta) << " @ " << operand(b_in, tb)
                           << ": inner sizes " << ka << " and " << kb << " differ";
  const int64_t k = ka;

  Shape batch_a(a_in.shape().begin(), a_in.shape().end() - 2);
  Shape batch_b(b_in.shape().begin(), b_in.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(batch_a, batch_b, op);
  } catch (const std::invalid_argument&) {
    MINIGRAD_CHECK(false) << op << ": " << operand(a_in, ta) << " @ " << operand(b_in, tb)
                          << ": batch shapes " << batch_a << " and " << batch_b
                          << " cannot broadcast";
  }

  Tensor a = a_in, b = b_in;
  // [..., m, k] @ [k, n]: one GEMM with the batch folded into the rows of A.
  if (!kReference && rb == 2 && ra > 2 && !ta) {
    Tensor folded;
    try {
      folded = a.view({-1, k});
    } catch (const std::invalid_argument&) {
    }
    if (folded.defined()) {
      Shape out_shape = batch;
      out_shape.push_back(m);
      out_shape.push_back(n);
      return matmul_impl<false>(folded, b, false, tb, op).view(out_shape);
    }
  }

  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = Tensor::empty(out_shape, a.dtype());
  const int64_t nbatch = batch.numel();
  if (out.numel() == 0) return out;

  // Each operand as a GEMM matrix; copy the ones whose inner strides do not fit.
  auto prepare = [&](Tensor& t, bool want, MatrixArg* arg) {
    const int r = t.dim();
    const bool ok_everywhere = as_gemm_operand(t.shape()[r - 2], t.shape()[r - 1],
                                               t.strides()[r - 2], t.strides()[r - 1], want, arg);
    if (!ok_everywhere) {
      t = t.contiguous();
      as_gemm_operand(t.shape()[r - 2], t.shape()[r - 1], t.strides()[r - 2], t.strides()[r - 1],
                      want, arg);
    }
  };
  MatrixArg ma{}, mb{};
  prepare(a, ta, &ma);
  prepare(b, tb, &mb);

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
    const bool parallel_batch = !kReference && nbatch > 1 && m * n * k < kSmallGemm &&
                                nbatch * m * n * k >= kParallelBatchWork;
    if (parallel_batch) {
#pragma omp parallel for schedule(static)
      for (int64_t bi = 0; bi < nbatch; ++bi) one(bi);
    } else {
      for (int64_t bi = 0; bi < nbatch; ++bi) one(bi);
    }
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  return matmul_impl<false>(a, b, transpose_a, transpose_b, "matmul");
}

Tensor matmul_reference(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  return matmul_impl<true>(a, b, transpose_a, transpose_b, "matmul_reference");
}

}  // namespace minigrad
