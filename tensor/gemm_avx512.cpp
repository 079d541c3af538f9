// The blocked GEMM for AVX-512 (F, DQ, VL, BW) and FMA: 12 × 32 float / 12 × 16 double
// register tiles in 32 zmm registers. Compiled with those flags whatever the build's
// -march (CMakeLists.txt), run only where cpu_info().avx512 (tensor/gemm.cpp).
#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && \
    defined(__AVX512BW__) && defined(__FMA__)
#define MINIGRAD_GEMM_NS gemm_avx512
#define MINIGRAD_GEMM_ISA_AVX512
#define MINIGRAD_GEMM_KERNEL kGemmKernelAvx512
#include "gemm_kernels.inc"
#else
#include "minigrad/tensor/gemm_kernels.h"
namespace minigrad::detail {
const GemmKernel kGemmKernelAvx512 = {"avx512", 0, 0, 0, nullptr, nullptr};  // not built
}  // namespace minigrad::detail
#endif
