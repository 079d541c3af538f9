// The OpenBLAS side: cblas_sgemm for the GEMM workload, and control of OpenBLAS's
// own thread pool for the libtorch runs.
//
// openblas_set_num_threads and openblas_get_corename are found with dlsym instead of
// being linked by name: libtorch brings OpenBLAS in through libblas.so.3 even when we
// do not link it ourselves, and its pool must be held at one thread all the same
// (torch::set_num_threads does not govern it; two pools of two threads on two cores
// fight, and LSTM and SEQ2SEQ run 2× slower).
#include <dlfcn.h>

#include "workloads.h"

#ifdef MINIGRAD_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace bench::ref_blas {
namespace {

using SetThreadsFn = void (*)(int);
using CorenameFn = char* (*)();

template <class F>
F lookup(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

bool loaded() { return lookup<SetThreadsFn>("openblas_set_num_threads") != nullptr; }

std::string corename() {
  const auto fn = lookup<CorenameFn>("openblas_get_corename");
  const char* name = fn ? fn() : nullptr;
  return name ? name : "";
}

void set_threads(int threads) {
  if (const auto fn = lookup<SetThreadsFn>("openblas_set_num_threads")) fn(threads);
}

#ifdef MINIGRAD_HAVE_OPENBLAS
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
           int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), 0.0f, c,
              static_cast<blasint>(ldc));
}
#endif

}  // namespace bench::ref_blas
