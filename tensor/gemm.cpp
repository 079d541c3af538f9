// GEMM:  C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C       (row-major, see gemm.h)
//
// Two versions live here:
//
//   gemm_reference  the textbook triple loop. Read this one first.
//   gemm            the same sums, organised the way GotoBLAS / BLIS organise them.
//
// ---- Why the textbook loop is slow ----------------------------------------------------
//
// One core of the machine this was tuned on (AMD Zen 5, AVX-512) retires 2 vector FMAs
// per cycle, each on 16 floats: 2 · 16 · 2 = 64 flops per cycle. It can load only two
// 64-byte vectors per cycle from L1, and much less from L2, L3 and RAM. The triple loop
// loads an a and a b for every multiply-add, so it waits on memory. The product has
// plenty of reuse to offer (each a_ip is used n times, each b_pj m times); the fast
// version orders the loops so that a number, once loaded, is used many times from
// registers, and a block, once brought into a cache, is used many times from there.
//
// ---- The micro-kernel: an MR × NR tile of C in registers ------------------------------
//
// For one tile of C and one slice of kc steps of the shared dimension, the kernel keeps
// the tile in registers and does kc rank-1 updates:
//
//   for p in slice:  acc[i][0:NR] += a_ip · b_p[0:NR]          i = 0 .. MR-1
//
// Each step loads MR numbers of A (broadcast to a vector each) and NR/W vectors of B
// (W numbers per vector), then does MR · NR/W vector FMAs. With MR = 12, NR = 32 floats
// (two 16-float vectors) that is 24 FMAs for 2 + 12 loads: the FMA units set the pace.
//
// ---- The loops around it: blocks sized for the caches ----------------------------------
//
//   for jc in [0, n) step NC                      columns of C and op(B)
//     for pc in [0, k) step KC                    the shared dimension
//       (pack op(B)[pc:+KC, jc:+NC] → Bp)         KC × NC panel, stays in L3
//       for ic in [0, m) step MC                  rows of C and op(A)
//         (pack op(A)[ic:+MC, pc:+KC] → Ap)       MC × KC block, stays in L2
//         for jr in [0, NC) step NR               a KC × NR sliver of B, stays in L1
//           for ir in [0, MC) step MR
//             micro-kernel: C[ir:+MR, jr:+NR] = alpha · A_sliver · B_sliver + beta' · C
//
// Block sizes are derived at run time from this machine's caches (cpu_info(), see
// gemm_blocking_for below and docs/GEMM.md section 4). With AVX-512 on an AMD Zen 5
// (48 KiB L1d, 1 MiB L2 per core):
//
//   MR × NR = 12 × 32 floats / 12 × 16 doubles: 24 accumulators + 2 vectors of B out of
//             32 zmm registers. 24 independent FMA chains more than cover the FMA
//             latency (4 cycles × 2 pipes needs at least 8 in flight). 14 rows fit as
//             well and run no faster; 12 divides the row counts the examples use
//             (T = 12, and 64 · 12 = 768 rows for a batch), so no tile is wasted there.
//             (AVX2: 6 × 16 / 6 × 8 in 16 ymm registers; portable: 6 × 8 / 6 × 4.)
//   KC = ⌊(2/3)·L1d / (NR·size)⌋, a multiple of 8 = 256: a B sliver KC · NR · size is
//             32 KiB, two thirds of L1d; the A sliver (MR · KC numbers) and the C tile
//             stream through the rest.
//   MC = ⌊(1/2)·L2 / (KC·size)⌋, a multiple of MR = 504 floats / 252 doubles: the A
//             block MC · KC · size ≈ 500 KiB, half of L2 (the other half holds the B
//             slivers passing through, and C), reused for every B sliver.
//   NC = ⌊P / (KC·size)⌋, a multiple of NR, P = min(L3 / 2, 4 MiB) = 4096 floats / 2048
//             doubles: the B panel, 4 MiB, in L3, reused for every A block. The cap is
//             one core's share of a server's L3 (4–5 MiB); the L3 the OS reports may be
//             the whole socket's, or in a virtual machine 512 MB.
//
// KC depends only on the kernel and L1d, never on m, n or the thread count: it fixes
// the order of each sum (below).
//
// A dimension is cut into equal blocks, not full blocks plus a scrap: k = 257 becomes
// slices of 129 and 128, not 256 and 1.
//
// Packing copies a block into the order the kernel reads it, contiguous. It pays when
// the block is reused many times, so gemm packs only products above kInPlaceMaxWork
// (512³) multiply-adds; smaller ones read A and B where they are (a transposed B is
// always packed, because the kernel needs rows of op(B) as vectors). Transposes are
// handled there, by strides or while packing: neither Aᵀ nor Bᵀ is ever built.
//
// Edges: a tile at the bottom or right of C may be smaller than MR × NR. It runs the
// smallest kernel that covers it (4, 8 or 12 rows; one or two vectors wide), never
// reads outside A or B (rows past the edge repeat the last real row, columns past it
// are masked or zero-padded) and writes only the part inside C.
//
// ---- Threads, and bits that do not depend on them --------------------------------------
//
// Threads split the tiles of C into rectangles, along m or n, never along k. Each element
// of C is computed by one thread, as
//
//   c = alpha · s_1 + beta · c,   then  c = alpha · s_q + c  for q = 2, 3, ...
//   s_q = Σ_{p in slice q} a_ip · b_pj     (FMAs in order of p)
//
// The k-slices depend only on k and KC, and edge tiles do the same arithmetic as interior
// ones, so every bit of C is independent of the thread count and of how the rows and
// columns were blocked. Products under kParallelMinWork (2^21) multiply-adds, and
// calls made from inside a parallel region (a parallel loop over a batch), run on the
// calling thread without opening an OpenMP region.
//
// Packing buffers are thread_local and only grow: once they have reached the sizes in
// use, a call allocates nothing.
//
// ---- Which kernel: chosen at run time -----------------------------------------------
//
// Everything from packing to the five loops is in gemm_kernels.inc, compiled three times
// with different flags (gemm_avx512.cpp, gemm_avx2.cpp, gemm_portable.cpp). The first
// call picks the best kernel this CPU runs (or the one MINIGRAD_GEMM_ISA names) and
// sizes its blocks; after that a call costs one atomic load more than a direct call.
// Different kernels may round differently (their k-slices differ), so bits are the same
// across thread counts for one kernel, not across kernels.
#include "minigrad/tensor/gemm.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <type_traits>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/gemm_kernels.h"

namespace minigrad {

// ======================================================================================
// The reference
// ======================================================================================

template <class T>
void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                    const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  // op(A)_ip = a[i·lda + p], or a[p·lda + i] when A is transposed: as strides,
  // op(A)_ip = a[i·ai + p·ap]. Likewise op(B)_pj = b[p·bp + j·bj].
  const int64_t ai = trans_a ? 1 : lda, ap = trans_a ? lda : 1;
  const int64_t bp = trans_b ? 1 : ldb, bj = trans_b ? ldb : 1;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      T s = 0;  // s = Σ_p op(A)_ip · op(B)_pj
      for (int64_t p = 0; p < k; ++p) s += a[i * ai + p * ap] * b[p * bp + j * bj];
      T& cij = c[i * ldc + j];
      cij = beta == T(0) ? alpha * s : alpha * s + beta * cij;  // beta = 0: C is not read
    }
  }
}

// ======================================================================================
// Block sizes from the caches
// ======================================================================================

GemmBlocking gemm_blocking_for(const CacheSizes& caches, int mr, int nr, size_t element_bytes) {
  MINIGRAD_CHECK(mr > 0 && nr > 0 && element_bytes > 0)
      << "gemm_blocking_for: tile " << mr << " x " << nr << " of " << element_bytes
      << "-byte numbers: expected positive sizes";
  const size_t l1 = caches.l1d_bytes > 0 ? caches.l1d_bytes : kDefaultCaches.l1d_bytes;
  const size_t l2 = caches.l2_bytes > 0 ? caches.l2_bytes : kDefaultCaches.l2_bytes;
  constexpr size_t kPanelCap = 4 * 1024 * 1024;
  // The B panel's share of L3: half of it, at most 4 MiB (see the header comment).
  const size_t panel = caches.l3_bytes > 0 ? std::min(caches.l3_bytes / 2, kPanelCap) : l2 / 2;
  const int64_t s = int64_t(element_bytes);
  GemmBlocking bk;
  bk.mr = mr;
  bk.nr = nr;
  bk.kc = std::max<int64_t>(8, int64_t(2 * l1 / 3) / (nr * s) / 8 * 8);
  bk.mc = std::max<int64_t>(mr, int64_t(l2 / 2) / (bk.kc * s) / mr * mr);
  bk.nc = std::max<int64_t>(nr, int64_t(panel) / (bk.kc * s) / nr * nr);
  return bk;
}

namespace {

// ======================================================================================
// Which kernel
// ======================================================================================

// A kernel with its block sizes on this machine.
struct Choice {
  const detail::GemmKernel* kernel;
  GemmBlocking f, d;  // float, double
};

const detail::GemmKernel* const kKernels[] = {&detail::kGemmKernelAvx512, &detail::kGemmKernelAvx2,
                                              &detail::kGemmKernelPortable};
constexpr int kKernelCount = 3;

bool runs_here(const detail::GemmKernel& k) {
  if (k.sgemm == nullptr || k.dgemm == nullptr) return false;  // not compiled
  const std::string name = k.name;
  if (name == "avx512") return cpu_info().avx512;
  if (name == "avx2") return cpu_info().avx2_fma;
  return true;
}

// One Choice per kernel, built once.
const Choice* choices() {
  static const auto table = [] {
    const CpuInfo& cpu = cpu_info();
    const CacheSizes caches{cpu.l1d_bytes, cpu.l2_bytes, cpu.l3_bytes};
    std::array<Choice, kKernelCount> t{};
    for (int i = 0; i < kKernelCount; ++i) {
      const detail::GemmKernel& k = *kKernels[i];
      t[size_t(i)].kernel = &k;
      // A kernel file built without its instruction set's flags (a compiler that does not
      // take them, or a build that compiles every file alike, as fuzz/run_fuzzers.sh does)
      // has an empty table with no tile: it is never chosen and has no blocking.
      if (k.sgemm == nullptr || k.dgemm == nullptr) continue;
      t[size_t(i)].f = gemm_blocking_for(caches, k.mr, k.nr_float, sizeof(float));
      t[size_t(i)].d = gemm_blocking_for(caches, k.mr, k.nr_double, sizeof(double));
    }
    return t;
  }();
  return table.data();
}

std::vector<std::string> available() {
  std::vector<std::string> names;
  for (const detail::GemmKernel* k : kKernels)
    if (runs_here(*k)) names.push_back(k->name);
  return names;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// The Choice named `name`, or nullptr if this CPU or build cannot run it.
const Choice* find(const std::string& name) {
  for (int i = 0; i < kKernelCount; ++i)
    if (name == kKernels[i]->name && runs_here(*kKernels[i])) return &choices()[i];
  return nullptr;
}

// The choice made at the first call: MINIGRAD_GEMM_ISA, else the best that runs. If the
// variable names a kernel that cannot run, every call throws (a static whose initialiser
// throws is initialised again on the next call).
const Choice& startup_choice() {
  static const Choice* const choice = [] {
    const char* env = std::getenv("MINIGRAD_GEMM_ISA");
    if (env != nullptr && env[0] != '\0') {
      const Choice* c = find(env);
      if (c == nullptr)
        throw std::invalid_argument(
            "gemm: MINIGRAD_GEMM_ISA=" + std::string(env) +
            ": not a kernel this CPU and build run (they are: " + join(available()) + ")");
      return c;
    }
    for (int i = 0; i < kKernelCount; ++i)
      if (runs_here(*kKernels[i])) return &choices()[i];
    return &choices()[kKernelCount - 1];  // portable is always compiled
  }();
  return *choice;
}

std::atomic<const Choice*> g_override{nullptr};  // set_gemm_kernel's choice

const Choice& active() {
  const Choice* c = g_override.load(std::memory_order_acquire);
  return c != nullptr ? *c : startup_choice();
}

// C = beta · C: what is left when there is nothing to multiply (k == 0 or alpha == 0).
template <class T>
void scale_c(int64_t m, int64_t n, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0)) {
      std::fill(row, row + n, T(0));
    } else if (beta != T(1)) {
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
    }
  }
}

}  // namespace

std::string gemm_kernel_name() { return active().kernel->name; }

template <class T>
GemmBlocking gemm_blocking() {
  const Choice& ch = active();
  if constexpr (std::is_same_v<T, float>)
    return ch.f;
  else
    return ch.d;
}

std::vector<std::string> gemm_kernels_available() { return available(); }

void set_gemm_kernel(const std::string& name) {
  const Choice* c = find(name);
  if (c == nullptr)
    throw std::invalid_argument(
        "set_gemm_kernel: \"" + name +
        "\" is not a kernel this CPU and build run (they are: " + join(available()) + ")");
  g_override.store(c, std::memory_order_release);
}

// ======================================================================================
// The fast GEMM
// ======================================================================================

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  // C's rows must not overlap (each element is written once; a single row cannot),
  // while A's and B's may: matmul reads a broadcast operand with a leading dimension of
  // 0, every row the same.
  MINIGRAD_CHECK(lda >= 0 && ldb >= 0 && (ldc >= n || m == 1))
      << "gemm: leading dimensions lda=" << lda << ", ldb=" << ldb << ", ldc=" << ldc
      << " for m=" << m << " n=" << n << " k=" << k
      << ": lda and ldb must be >= 0 and, with more than one row, ldc >= n, the length of "
         "a row of C";
  if (k <= 0 || alpha == T(0)) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  const Choice& ch = active();  // one atomic load; the first call also chooses
  if constexpr (std::is_same_v<T, float>)
    ch.kernel->sgemm(ch.f, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    ch.kernel->dgemm(ch.d, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);
template GemmBlocking gemm_blocking<float>();
template GemmBlocking gemm_blocking<double>();
template void gemm_reference<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                    int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_reference<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                     int64_t, const double*, int64_t, double, double*, int64_t);

}  // namespace minigrad
