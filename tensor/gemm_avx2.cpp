// The blocked GEMM for AVX2 and FMA: 6 × 16 float / 6 × 8 double register tiles in 16
// ymm registers. Compiled with -mavx2 -mfma whatever the build's -march
// (CMakeLists.txt), run only where cpu_info().avx2_fma (tensor/gemm.cpp).
#define MINIGRAD_GEMM_NS gemm_avx2
#define MINIGRAD_GEMM_NAME "avx2"
#define MINIGRAD_GEMM_KERNEL kGemmKernelAvx2
#define MINIGRAD_GEMM_ISA_AVX2
#include "gemm_kernels.inc"
