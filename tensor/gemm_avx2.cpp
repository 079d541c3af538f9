// The blocked GEMM for AVX2 and FMA: 6 × 16 float / 6 × 8 double register tiles in 16
// ymm registers. Compiled with -mavx2 -mfma whatever the build's -march
// (CMakeLists.txt), run only where cpu_info().avx2_fma (tensor/gemm.cpp).
#if defined(__AVX2__) && defined(__FMA__)
#define MINIGRAD_GEMM_NS gemm_avx2
#define MINIGRAD_GEMM_ISA_AVX2
#define MINIGRAD_GEMM_KERNEL kGemmKernelAvx2
#include "gemm_kernels.inc"
#else
#include "minigrad/tensor/gemm_kernels.h"
namespace minigrad::detail {
const GemmKernel kGemmKernelAvx2 = {"avx2", 0, 0, 0, nullptr, nullptr};  // not built
}  // namespace minigrad::detail
#endif
