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
///
/// The blocked kernel is compiled for AVX-512, for AVX2 + FMA and in portable vector
/// code; the best one this CPU runs is chosen when the first product is computed, and
/// its cache blocks are sized from this CPU's caches (docs/GEMM.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "minigrad/tensor/cpu.h"

namespace minigrad {

/// How the blocked GEMM cuts a product for one element type (docs/GEMM.md, section 4):
/// MR × NR tiles of C in registers, KC steps of the shared dimension per slice (a
/// KC × NR sliver of B in L1), MC rows of A per block (MC × KC in L2), NC columns of B
/// per panel (KC × NC in L3).
struct GemmBlocking {
  int mr = 0;      ///< rows of the register tile
  int nr = 0;      ///< columns of the register tile
  int64_t kc = 0;  ///< longest k-slice; the slices of a product depend on k and kc only
  int64_t mc = 0;  ///< most rows of op(A) in one packed block (a multiple of mr)
  int64_t nc = 0;  ///< most columns of op(B) in one packed panel (a multiple of nr)
};

/// The block sizes for a kernel with an mr × nr register tile of `element_bytes`-byte
/// numbers on a machine with these caches (a pure function; s = element_bytes):
///
///     KC = ⌊(2/3)·L1d / (NR·s)⌋, rounded down to a multiple of 8    (at least 8)
///     MC = ⌊(1/2)·L2 / (KC·s)⌋, rounded down to a multiple of MR    (at least MR)
///     NC = ⌊P / (KC·s)⌋, rounded down to a multiple of NR          (at least NR)
///     P  = min(L3 / 2, 4 MiB), or L2 / 2 when there is no L3
///
/// A zero L1d or L2 size counts as kDefaultCaches'. Throws std::invalid_argument unless
/// mr, nr and element_bytes are positive.
GemmBlocking gemm_blocking_for(const CacheSizes& caches, int mr, int nr, size_t element_bytes);

/// The block sizes gemm<T> uses now: the chosen kernel's tile, cpu_info()'s caches.
template <class T>
GemmBlocking gemm_blocking();

/// The name of the kernel gemm uses now: "avx512", "avx2" or "portable".
///
/// Chosen on first use: the environment variable MINIGRAD_GEMM_ISA if it is set (and
/// not empty), else the first of avx512, avx2, portable that this CPU runs (cpu_info())
/// and the build compiled. A MINIGRAD_GEMM_ISA this CPU cannot run makes the first
/// gemm call (and this function) throw std::invalid_argument naming the variable, the
/// kernel and the kernels it can run.
std::string gemm_kernel_name();

/// The kernels this CPU can run and this build compiled, best first ("portable" is
/// always there).
std::vector<std::string> gemm_kernels_available();

/// Makes gemm use the kernel `name` from now on, in every thread (for tests and
/// benchmarks: the default is already the fastest). Throws std::invalid_argument if
/// `name` is not one of gemm_kernels_available(), naming it and those.
void set_gemm_kernel(const std::string& name);

/// C = alpha · op(A) · op(B) + beta · C, the fast kernel.
/// \param trans_a, trans_b  read A (or B) as its transpose: op(X) = Xᵀ
/// \param m, n, k           op(A) is m×k, op(B) is k×n, C is m×n
/// \param alpha, beta       the scalars; beta == 0 overwrites C without reading it
/// \param a, lda            A and its leading dimension: op(A)_ip = a[i·lda + p],
///                          or a[p·lda + i] when trans_a
/// \param b, ldb            B and its leading dimension, the same way
/// \param c, ldc            C and its leading dimension: C_ij = c[i·ldc + j]
/// \throws std::invalid_argument if ldc < n and m > 1 (rows of C would overlap), or if
///         lda or ldb is negative; lda or ldb may be shorter than a row, down to 0
///         (every row the same)
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
