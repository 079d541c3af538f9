/// \file
/// The compiled versions of the blocked GEMM, one per instruction set, as tensor/gemm.cpp
/// chooses among them. Internal: the public interface is tensor/gemm.h.
#pragma once

#include <cstdint>

#include "minigrad/tensor/gemm.h"

namespace minigrad::detail {

/// One compiled version of the blocked GEMM (tensor/gemm_kernels.inc, built by
/// gemm_avx512.cpp, gemm_avx2.cpp or gemm_portable.cpp with that instruction set's flags).
/// The function pointers are null when the compiler could not build the version.
struct GemmKernel {
  const char* name;  ///< "avx512", "avx2" or "portable"
  int mr;            ///< rows of the register tile
  int nr_float;      ///< columns of the register tile, float
  int nr_double;     ///< columns of the register tile, double
  /// C = alpha · op(A) · op(B) + beta · C for m, n, k ≥ 1 and alpha ≠ 0, float,
  /// blocked as `blocking` says (its mr and nr must be this kernel's).
  void (*sgemm)(const GemmBlocking& blocking, bool trans_a, bool trans_b, int64_t m, int64_t n,
                int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                float beta, float* c, int64_t ldc);
  /// The same for double.
  void (*dgemm)(const GemmBlocking& blocking, bool trans_a, bool trans_b, int64_t m, int64_t n,
                int64_t k, double alpha, const double* a, int64_t lda, const double* b, int64_t ldb,
                double beta, double* c, int64_t ldc);
};

extern const GemmKernel kGemmKernelAvx512;    ///< AVX-512 F/DQ/VL/BW + FMA
extern const GemmKernel kGemmKernelAvx2;      ///< AVX2 + FMA
extern const GemmKernel kGemmKernelPortable;  ///< GCC / Clang vector extensions

}  // namespace minigrad::detail
