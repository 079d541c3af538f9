/// \file
/// GEMM: the general matrix multiply every layer of minigrad stands on.
///
///     C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C      op(X) = X or Xᵀ
///
/// Matrices are row-major with leading dimensions (the distance between rows):
/// element (i, j) of A is A[i·lda + j]. A transposed operand is read in place,
/// so backward's dA = dC·Bᵀ and dB = Aᵀ·dC never build Aᵀ or Bᵀ.
///
/// When beta == 0, C is overwritten and its previous contents are never read
/// (NaN in C does not leak through).
#pragma once

#include <cstdint>

namespace minigrad {

/// C = alpha · op(A) · op(B) + beta · C, the fast kernel.
/// \param trans_a, trans_b  read A (or B) as its transpose: op(X) = Xᵀ
/// \param m, n, k           op(A) is m×k, op(B) is k×n, C is m×n
/// \param alpha, beta       the scalars; beta == 0 overwrites C without reading it
/// \param a, lda            A and its leading dimension: op(A)_ip = a[i·lda + p],
///                          or a[p·lda + i] when trans_a
/// \param b, ldb            B and its leading dimension, the same way
/// \param c, ldc            C and its leading dimension: C_ij = c[i·ldc + j]
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

/// The textbook triple loop: C_ij = Σ_p A_ip B_pj. Slow and obviously right, the
/// reference the fast kernel is tested against.
template <class T>
void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                    const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                    int64_t ldc);

}  // namespace minigrad
