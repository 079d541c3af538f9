// GEMM: the general matrix multiply every layer of minigrad stands on.
//
//   C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C      op(X) = X or Xᵀ
//
// Matrices are row-major with leading dimensions (the distance between rows):
// element (i, j) of A is A[i·lda + j]. A transposed operand is read in place,
// so backward's dA = dC·Bᵀ and dB = Aᵀ·dC never build Aᵀ or Bᵀ.
//
// When beta == 0, C is overwritten and its previous contents are never read
// (NaN in C does not leak through).
#pragma once

#include <cstdint>

namespace minigrad {

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// The textbook triple loop: C_ij = Σ_p A_ip B_pj. Slow and obviously right, the
// reference the fast kernel is tested against.
template <class T>
void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                    const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                    int64_t ldc);

}  // namespace minigrad
