// The blocked GEMM in GCC / Clang vector extensions (16-byte vectors: SSE2 on x86-64,
// NEON on ARM): 6 × 8 float / 6 × 4 double register tiles. It runs on any CPU the
// library was built for. It gets the library's flags (and -ffp-contract=off,
// CMakeLists.txt says why), so with MINIGRAD_NATIVE=ON (-march=native) it is as
// portable as the rest of the build, no more.
#define MINIGRAD_GEMM_NS gemm_portable
#define MINIGRAD_GEMM_NAME "portable"
#define MINIGRAD_GEMM_KERNEL kGemmKernelPortable
#define MINIGRAD_GEMM_ISA_PORTABLE
#include "gemm_kernels.inc"
