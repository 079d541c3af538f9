// The blocked GEMM for AVX-512 (F, DQ, VL, BW) and FMA: 12 × 32 float / 12 × 16 double
// register tiles in 32 zmm registers. Compiled with those flags whatever the build's
// -march (CMakeLists.txt), run only where cpu_info().avx512 (tensor/gemm.cpp).
#define MINIGRAD_GEMM_NS gemm_avx512
#define MINIGRAD_GEMM_NAME "avx512"
#define MINIGRAD_GEMM_KERNEL kGemmKernelAvx512
#define MINIGRAD_GEMM_ISA_AVX512
#include "gemm_kernels.inc"
