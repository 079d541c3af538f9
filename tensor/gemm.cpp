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
// Block sizes with AVX-512 (the AVX2 and portable versions below use the same rules with
// smaller budgets), derived in `Blocking` from cache budgets:
//
//   MR × NR = 12 × 32 floats / 12 × 16 doubles: 24 accumulators + 2 vectors of B out of
//             32 zmm registers. 24 independent FMA chains more than cover the FMA
//             latency (4 cycles × 2 pipes needs at least 8 in flight). 14 rows fit as
//             well and run no faster; 12 divides the row counts the examples use
//             (T = 12, and 64 · 12 = 768 rows for a batch), so no tile is wasted there.
//   KC = 256: a B sliver is KC · NR · size = 32 KiB, two thirds of the 48 KiB L1d; the
//             A sliver (MR · KC numbers) streams through the rest.
//   MC = 504 floats / 252 doubles: the A block MC · KC · size ≈ 500 KiB, half of the
//             1 MiB L2, reused for every B sliver.
//   NC = 4096 floats / 2048 doubles: the B panel KC · NC · size = 4 MiB, in L3, reused
//             for every A block.
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
// The k-slices depend only on k, and edge tiles do the same arithmetic as interior
// ones, so every bit of C is independent of the thread count and of how the rows and
// columns were blocked. Products under kParallelMinWork (2^22) multiply-adds, and
// calls made from inside a parallel region (a parallel loop over a batch), run on the
// calling thread without opening an OpenMP region.
//
// Packing buffers are thread_local and only grow: once they have reached the sizes in
// use, a call allocates nothing.
#include "minigrad/tensor/gemm.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

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

namespace {

// ======================================================================================
// Vectors: one small interface, one implementation per instruction set
// ======================================================================================
//
// Simd<T> offers V, a vector of W numbers, and the handful of operations the kernel
// needs: zero, load, store, broadcast, fma (a·b + c with one rounding), mul, and
// load_part / store_part, which touch only the first n ≤ W lanes (for the right edge of
// a matrix: nothing past the end of a row is read or written). Where it is cheap (AVX-512)
// it also transposes a W × W block in registers, for packing a transposed B. The kernel
// is written once against this interface. Loads and stores are unaligned: on current
// cores they cost the same as aligned ones when the address happens to be aligned.
//
// Chosen at compile time, best first: AVX-512, AVX2 + FMA, GCC / Clang vector
// extensions (SSE2, NEON, ...), plain scalars. The library is built with -march=native
// where the compiler supports it, so the first one the machine has is used.

// load_part / store_part for vector types without masked memory access: go through a
// W-wide scratch array.
template <class S, class T>
typename S::V load_part_by_copy(const T* p, int n) {
  alignas(64) T tmp[S::W] = {};
  std::copy(p, p + n, tmp);
  return S::load(tmp);
}
template <class S, class T>
void store_part_by_copy(T* p, typename S::V v, int n) {
  alignas(64) T tmp[S::W];
  S::store(tmp, v);
  std::copy(tmp, tmp + n, p);
}

#if defined(__AVX512F__)

// 32 zmm registers: a 12 × 2-vector tile is 24 accumulators + 2 for a row of Bp.
constexpr int kMR = 12;                  // rows of the register tile
constexpr int kNV = 2;                   // vectors per row of the register tile
constexpr size_t kL1Bytes = 32 * 1024;   // budget for one Bp sliver (L1d is 48 KiB)
constexpr size_t kL2Bytes = 512 * 1024;  // budget for the Ap block (L2 is 1 MiB)

// GCC 12 warns about its own shuffle intrinsics used below (GCC PR 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

template <class T>
struct Simd;
template <>
struct Simd<float> {
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V broadcast(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  // A mask with the low n bits set selects lanes 0..n-1; masked-off lanes are not
  // accessed at all (no fault, no write).
  static __mmask16 first(int n) { return __mmask16((1u << n) - 1); }
  static V load_part(const float* p, int n) { return _mm512_maskz_loadu_ps(first(n), p); }
  static void store_part(float* p, V v, int n) { _mm512_mask_storeu_ps(p, first(n), v); }

  // r[0..15] := the transpose of the 16 × 16 block r[0..15] (r[i] is row i), in 64
  // shuffles. Split each row into four 128-bit lanes of 4 floats:
  //   1. unpack 32-bit pairs of rows (0,1), (2,3), ...
  //   2. unpack 64-bit pairs: u[4g + c] now holds, in lane L, rows 4g..4g+3 of
  //      column c + 4L
  //   3. gather lane L of u[c], u[4 + c], u[8 + c], u[12 + c] into output row c + 4L
  //      (two rounds of 128-bit lane shuffles: 0x88 picks lanes 0, 2; 0xDD lanes 1, 3).
  static constexpr bool kTranspose = true;
  static void transpose(V r[16]) {
    V t[16];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    V u[16];
    for (int g = 0; g < 16; g += 4) {
      const __m512d t0 = _mm512_castps_pd(t[g]), t1 = _mm512_castps_pd(t[g + 1]);
      const __m512d t2 = _mm512_castps_pd(t[g + 2]), t3 = _mm512_castps_pd(t[g + 3]);
      u[g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
      u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
      u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
      u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int c = 0; c < 4; ++c) {
      const V x0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
      const V x1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
      const V y0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
      const V y1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
      r[c + 0] = _mm512_shuffle_f32x4(x0, y0, 0x88);
      r[c + 4] = _mm512_shuffle_f32x4(x1, y1, 0x88);
      r[c + 8] = _mm512_shuffle_f32x4(x0, y0, 0xDD);
      r[c + 12] = _mm512_shuffle_f32x4(x1, y1, 0xDD);
    }
  }
};
template <>
struct Simd<double> {
  using V = __m512d;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V broadcast(double x) { return _mm512_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static __mmask8 first(int n) { return __mmask8((1u << n) - 1); }
  static V load_part(const double* p, int n) { return _mm512_maskz_loadu_pd(first(n), p); }
  static void store_part(double* p, V v, int n) { _mm512_mask_storeu_pd(p, first(n), v); }

  // r[0..7] := the transpose of the 8 × 8 block r[0..7], in 24 shuffles. Lanes of 2
  // doubles: after unpacking 64-bit pairs of rows, t[2g + c] holds in lane L rows
  // 2g, 2g+1 of column c + 2L; lane L of t[c], t[2 + c], t[4 + c], t[6 + c] is row c + 2L.
  static constexpr bool kTranspose = true;
  static void transpose(V r[8]) {
    V t[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    }
    for (int c = 0; c < 2; ++c) {
      const V x0 = _mm512_shuffle_f64x2(t[c], t[2 + c], 0x88);
      const V x1 = _mm512_shuffle_f64x2(t[c], t[2 + c], 0xDD);
      const V y0 = _mm512_shuffle_f64x2(t[4 + c], t[6 + c], 0x88);
      const V y1 = _mm512_shuffle_f64x2(t[4 + c], t[6 + c], 0xDD);
      r[c + 0] = _mm512_shuffle_f64x2(x0, y0, 0x88);
      r[c + 2] = _mm512_shuffle_f64x2(x1, y1, 0x88);
      r[c + 4] = _mm512_shuffle_f64x2(x0, y0, 0xDD);
      r[c + 6] = _mm512_shuffle_f64x2(x1, y1, 0xDD);
    }
  }
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#elif defined(__AVX2__) && defined(__FMA__)

// 16 ymm registers: a 6 × 2-vector tile is 12 accumulators + 2 for Bp + 1 broadcast.
constexpr int kMR = 6;
constexpr int kNV = 2;
constexpr size_t kL1Bytes = 16 * 1024;  // AVX2 cores usually have a 32 KiB L1d
constexpr size_t kL2Bytes = 256 * 1024;

template <class T>
struct Simd;
template <>
struct Simd<float> {
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V broadcast(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V load_part(const float* p, int n) { return load_part_by_copy<Simd>(p, n); }
  static void store_part(float* p, V v, int n) { store_part_by_copy<Simd>(p, v, n); }
  static constexpr bool kTranspose = false;
  static void transpose(V*) {}
};
template <>
struct Simd<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V broadcast(double x) { return _mm256_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V load_part(const double* p, int n) { return load_part_by_copy<Simd>(p, n); }
  static void store_part(double* p, V v, int n) { store_part_by_copy<Simd>(p, v, n); }
  static constexpr bool kTranspose = false;
  static void transpose(V*) {}
};

#elif defined(__GNUC__)

// Portable fallback: GCC / Clang vector extensions, 16 bytes (SSE2, NEON, ...). The
// compiler picks the instructions; a·b + c becomes an FMA where the target has one.
constexpr int kMR = 6;
constexpr int kNV = 2;
constexpr size_t kL1Bytes = 16 * 1024;
constexpr size_t kL2Bytes = 256 * 1024;

template <class T>
struct Simd {
  typedef T V __attribute__((vector_size(16)));
  static constexpr int W = int(16 / sizeof(T));
  static V zero() { return V{}; }
  static V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(T* p, V v) { std::memcpy(p, &v, sizeof v); }
  static V broadcast(T x) { return V{} + x; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V mul(V a, V b) { return a * b; }
  static V load_part(const T* p, int n) { return load_part_by_copy<Simd>(p, n); }
  static void store_part(T* p, V v, int n) { store_part_by_copy<Simd>(p, v, n); }
  static constexpr bool kTranspose = false;
  static void transpose(V*) {}
};

#else

// Last resort: plain scalars, W = 1.
constexpr int kMR = 4;
constexpr int kNV = 4;
constexpr size_t kL1Bytes = 16 * 1024;
constexpr size_t kL2Bytes = 256 * 1024;

template <class T>
struct Simd {
  using V = T;
  static constexpr int W = 1;
  static V zero() { return T(0); }
  static V load(const T* p) { return *p; }
  static void store(T* p, V v) { *p = v; }
  static V broadcast(T x) { return x; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V mul(V a, V b) { return a * b; }
  static V load_part(const T* p, int n) { return n > 0 ? *p : T(0); }
  static void store_part(T* p, V v, int n) {
    if (n > 0) *p = v;
  }
  static constexpr bool kTranspose = false;
  static void transpose(V*) {}
};

#endif

constexpr size_t kL3Bytes = 4 * 1024 * 1024;  // budget for the Bp panel

// Products of at most this many multiply-adds (m·n·k) read A and B in place instead of
// packing them (see "Packing" below). Measured on Zen 5: up to about 512³ reading in
// place is as fast or faster; at 1024³ with lda a multiple of 4 KiB packing is ~10% ahead.
constexpr double kInPlaceMaxWork = 512.0 * 512.0 * 512.0;

// Below this many multiply-adds (m·n·k) one thread does the whole product. On an idle
// machine a parallel region costs a few microseconds and pays from about 100³; but a
// region ends at a barrier, and when the cores are busy with other processes the
// thread everyone waits for may not run for a whole scheduler tick (milliseconds).
// Measured on this 2-core machine with other builds running, the SELFATT step at 2
// threads took 7.9 ms with the threshold at 2^20 and 0.98 ms with its GEMMs on one
// thread (1 thread: 0.61 ms). So only products of ≥ 2^22 = 128·128·256 multiply-adds
// (≈ 40 µs on one core) are split: every GEMM of the SELFATT and SEQ2SEQ steps stays on
// one thread, the (64×128)·(128×512) model shape and anything larger is split.
[[maybe_unused]] constexpr double kParallelMinWork = 128.0 * 128.0 * 256.0;  // (used with OpenMP)

// Block sizes, derived from the cache budgets above (see the header comment).
template <class T>
struct Blocking {
  static constexpr int MR = kMR;
  static constexpr int NR = kNV * Simd<T>::W;
  static constexpr int64_t KC = int64_t(kL1Bytes / (NR * sizeof(T)));
  static constexpr int64_t MC = int64_t(kL2Bytes / (KC * sizeof(T))) / MR * MR;
  static constexpr int64_t NC = int64_t(kL3Bytes / (KC * sizeof(T))) / NR * NR;
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Cut [0, total) into ceil(total / max_block) equal blocks (each a multiple of `unit`
// when possible): 257 with max 256 gives 129 + 128 instead of 256 + 1.
int64_t even_block(int64_t total, int64_t max_block, int64_t unit) {
  if (total <= max_block) return total;  // one block (and no divisions for small calls)
  const int64_t blocks = ceil_div(total, max_block);
  return std::min(max_block, round_up(ceil_div(total, blocks), unit));
}

// ======================================================================================
// Packing
// ======================================================================================
//
// An A sliver is MR rows of op(A), a B sliver NR columns of op(B), both over one k-slice
// of kc steps. The micro-kernel reads them through strides:
//
//   a_ip   = a[i·rs + p·cs]        i < mr
//   b_p[j] = b[p·ldb + j]          j < nr
//
// so a sliver may be packed or read in place:
//
//   op(A) in place, A not transposed:   rs = lda, cs = 1
//   op(A) in place, A transposed:       rs = 1,   cs = lda
//   op(B) in place, B not transposed:   ldb = ldb
//   packed (below):                     rs, cs = kc, 1 or 1, MR;   ldb = NR
//
// Packing pays when a block is reused many times (large products): the copy makes it
// contiguous, so its rows no longer sit lda apart (an lda that is a multiple of 4 KiB
// would otherwise put all MR rows of a sliver in the same L1 set and evict each other),
// and a transposed B becomes rows the kernel can load as vectors. For small products
// the copy costs more than it saves, and A and B (unless transposed) are read in place.

// Ap: an MC × KC block of op(A) as slivers of MR rows, MR · kc numbers each. The layout
// follows whichever way op(A) is contiguous, so packing is plain copying:
//
//   A not transposed (op(A)_ip = a[i·lda + p]):  sliver[i·kc + p]  (rs = kc, cs = 1)
//   A transposed     (op(A)_ip = a[p·lda + i]):  sliver[p·MR + i]  (rs = 1, cs = MR)
//
// The last sliver may have mr < MR rows; the kernel never reads the missing ones.
template <class T>
void pack_a(bool trans, const T* a, int64_t lda, int64_t mc, int64_t kc, T* ap) {
  constexpr int MR = Blocking<T>::MR;
  for (int64_t i0 = 0; i0 < mc; i0 += MR, ap += MR * kc) {
    const int mr = int(std::min<int64_t>(MR, mc - i0));
    if (!trans) {
      for (int i = 0; i < mr; ++i) std::copy_n(a + (i0 + i) * lda, kc, ap + i * kc);
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = a + p * lda + i0;
        T* dst = ap + p * MR;
        if (mr == MR) {
          for (int i = 0; i < MR; ++i) dst[i] = src[i];  // fixed length: a few vector moves
        } else {
          for (int i = 0; i < mr; ++i) dst[i] = src[i];
        }
      }
    }
  }
}

// Bp: a KC × NC panel of op(B) as slivers of NR columns: sliver[p·NR + j] = op(B)_pj.
// Columns past nc are zero (up to the vectors the kernel reads), so the kernel always
// loads whole vectors.
//
//   op(B)_pj = b[p·ldb + j]   (not transposed: each p is a short row copy)
//            = b[j·ldb + p]   (transposed: column j of op(B) is row j of B)
template <class T>
void pack_b(bool trans, const T* b, int64_t ldb, int64_t kc, int64_t nc, T* bp) {
  using S = Simd<T>;
  constexpr int NR = Blocking<T>::NR, W = S::W;
  for (int64_t j0 = 0; j0 < nc; j0 += NR, bp += NR * kc) {
    const int nr = int(std::min<int64_t>(NR, nc - j0));
    // A sliver at most one vector wide is read by the one-vector kernel (run_tile): only
    // its first vector is packed.
    const int vectors = nr <= W ? 1 : NR / W;
    if (!trans) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = b + p * ldb + j0;
        for (int v = 0; v < vectors; ++v) {
          const int cols = std::max(0, std::min(W, nr - v * W));
          S::store(bp + p * NR + v * W,
                   cols == W ? S::load(src + v * W) : S::load_part(src + v * W, cols));
        }
      }
    } else if constexpr (S::kTranspose) {
      // W × W blocks: W rows of B (zero past nr) times W steps of p, transposed in
      // registers into W rows of the sliver.
      for (int64_t p0 = 0; p0 < kc; p0 += W) {
        const int steps = int(std::min<int64_t>(W, kc - p0));
        for (int v = 0; v < vectors; ++v) {
          const int rows = std::max(0, std::min(W, nr - v * W));
          if (rows == 0) {  // all padding
            for (int q = 0; q < steps; ++q) S::store(bp + (p0 + q) * NR + v * W, S::zero());
            continue;
          }
          typename S::V r[W];
          for (int j = 0; j < W; ++j) {
            const T* src = b + (j0 + v * W + j) * ldb + p0;
            r[j] = j >= rows ? S::zero() : steps == W ? S::load(src) : S::load_part(src, steps);
          }
          S::transpose(r);
          for (int q = 0; q < steps; ++q) S::store(bp + (p0 + q) * NR + v * W, r[q]);
        }
      }
    } else {
      for (int j = 0; j < nr; ++j) {
        const T* src = b + (j0 + j) * ldb;
        for (int64_t p = 0; p < kc; ++p) bp[p * NR + j] = src[p];
      }
      if (nr < vectors * W)
        for (int64_t p = 0; p < kc; ++p)
          std::fill(bp + p * NR + nr, bp + p * NR + vectors * W, T(0));
    }
  }
}

// ======================================================================================
// The micro-kernel
// ======================================================================================
//
// acc = A_sliver · B_sliver, an MR × (NV·W) product over kc steps, in registers (MR is
// this kernel's row count: the blocking's MR, or 2/3 or 1/3 of it for the last rows):
//
//   for p: acc[i][v] = fma(a_ip, b_p[v·W : v·W+W], acc[i][v])     i < MR, v < NV
//
// then   C_tile = alpha · acc + beta · C_tile   (beta == 0: C_tile = alpha · acc)
//
// Rows i ≥ mr of a partial tile re-read row mr-1 (so no address outside A is formed);
// they are computed and dropped. kPartialB is for a B sliver read in place at the right
// edge of B: its vectors past column nr are loaded with masks instead of overrunning the
// row. `#pragma GCC unroll` flattens the i and v loops so acc lives in registers.
template <class T, int MR, int NV, bool kPartialB>
void micro_kernel(int64_t kc, const T* a, int64_t rs, int64_t cs, const T* b, int64_t ldb, T* c,
                  int64_t ldc, int mr, int nr, T alpha, T beta) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int W = S::W;

  int64_t off[MR];  // where row i of the sliver starts
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) off[i] = std::min(i, mr - 1) * rs;
  int cols[NV];  // columns of C (and of the B sliver) under vector v: 0..W
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) cols[v] = std::max(0, std::min(W, nr - v * W));

  V acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();

#pragma GCC unroll 2  // two steps per trip: less loop overhead (~8% at 64³)
  for (int64_t p = 0; p < kc; ++p) {
    V bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      bv[v] = kPartialB ? S::load_part(b + v * W, cols[v]) : S::load(b + v * W);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const V ai = S::broadcast(a[off[i]]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = S::fma(ai, bv[v], acc[i][v]);
    }
    a += cs;
    b += ldb;
  }

  // C_tile = alpha · acc + beta · C_tile, as fma(alpha, acc, beta · c). Only the mr × nr
  // part inside C is touched; interior and edge tiles do exactly the same arithmetic.
  const V va = S::broadcast(alpha), vb = S::broadcast(beta);
  const bool read_c = beta != T(0);
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    T* row = c + i * ldc;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      if (cols[v] == W) {
        const V r = read_c ? S::fma(va, acc[i][v], S::mul(vb, S::load(row + v * W)))
                           : S::mul(va, acc[i][v]);
        S::store(row + v * W, r);
      } else if (cols[v] > 0) {
        const V old = read_c ? S::load_part(row + v * W, cols[v]) : S::zero();
        const V r = read_c ? S::fma(va, acc[i][v], S::mul(vb, old)) : S::mul(va, acc[i][v]);
        S::store_part(row + v * W, r, cols[v]);
      }
    }
  }
}

// One MR × NR tile of C (mr ≤ MR rows, nr ≤ NR columns): pick the kernel. A tile at most
// one vector wide runs a one-vector kernel, and the last rows of a block run a kernel of
// MR/3 or 2·MR/3 rows when they fit (64 rows = 5 · 12 + 4), instead of paying for a
// full-size tile that is mostly padding.
template <class T, int MRk>
void run_tile_rows(int64_t kc, const T* a, int64_t rs, int64_t cs, const T* b, int64_t ldb,
                   bool b_packed, T* c, int64_t ldc, int mr, int nr, T alpha, T beta) {
  constexpr int W = Simd<T>::W, NR = Blocking<T>::NR;
  if (nr <= W) {
    if (b_packed)
      micro_kernel<T, MRk, 1, false>(kc, a, rs, cs, b, ldb, c, ldc, mr, nr, alpha, beta);
    else
      micro_kernel<T, MRk, 1, true>(kc, a, rs, cs, b, ldb, c, ldc, mr, nr, alpha, beta);
  } else {
    if (b_packed || nr == NR)
      micro_kernel<T, MRk, kNV, false>(kc, a, rs, cs, b, ldb, c, ldc, mr, nr, alpha, beta);
    else
      micro_kernel<T, MRk, kNV, true>(kc, a, rs, cs, b, ldb, c, ldc, mr, nr, alpha, beta);
  }
}

template <class T>
void run_tile(int64_t kc, const T* a, int64_t rs, int64_t cs, const T* b, int64_t ldb,
              bool b_packed, T* c, int64_t ldc, int mr, int nr, T alpha, T beta) {
  constexpr int MR = Blocking<T>::MR, MR1 = std::max(1, MR / 3), MR2 = std::max(1, 2 * MR / 3);
  if (mr <= MR1)
    run_tile_rows<T, MR1>(kc, a, rs, cs, b, ldb, b_packed, c, ldc, mr, nr, alpha, beta);
  else if (mr <= MR2)
    run_tile_rows<T, MR2>(kc, a, rs, cs, b, ldb, b_packed, c, ldc, mr, nr, alpha, beta);
  else
    run_tile_rows<T, MR>(kc, a, rs, cs, b, ldb, b_packed, c, ldc, mr, nr, alpha, beta);
}

// ======================================================================================
// One thread's share: the five loops
// ======================================================================================

// A 64-byte aligned buffer that only grows. One per thread and type, so repeated calls
// (the common case: the same shapes every training step) allocate nothing.
template <class T>
struct PackBuffer {
  T* data = nullptr;
  size_t size = 0;
  T* get(size_t n) {
    if (n > size) {
      ::operator delete[](data, std::align_val_t(64));
      data = static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t(64)));
      size = n;
    }
    return data;
  }
  PackBuffer() = default;
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  ~PackBuffer() { ::operator delete[](data, std::align_val_t(64)); }
};

// C[m×n] = alpha · op(A) · op(B) + beta · C with a, b, c already pointing at the first
// row / column of this thread's rectangle. k ≥ 1. in_place: read A, and B unless it is
// transposed, where they are instead of packing them.
template <class T>
void gemm_blocked(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                  int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, bool in_place) {
  using Bk = Blocking<T>;
  constexpr int MR = Bk::MR, NR = Bk::NR;
  // KC depends on k only (it fixes the summation order); MC and NC only tile the work.
  const int64_t kc_max = even_block(k, Bk::KC, 1);
  const int64_t mc_max = even_block(m, Bk::MC, MR);
  const int64_t nc_max = even_block(n, Bk::NC, NR);
  const bool pack_a_blocks = !in_place, pack_b_panels = !in_place || trans_b;

  thread_local PackBuffer<T> abuf, bbuf;
  T* ap = pack_a_blocks ? abuf.get(size_t(round_up(mc_max, MR) * kc_max)) : nullptr;
  T* bp = pack_b_panels ? bbuf.get(size_t(round_up(nc_max, NR) * kc_max)) : nullptr;

  for (int64_t jc = 0; jc < n; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n - jc);
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      const int64_t kc = std::min(kc_max, k - pc);
      // The first k-slice applies beta; later slices add onto what is already in C.
      const T beta_q = pc == 0 ? beta : T(1);

      // op(B)[pc, jc] is b[pc·ldb + jc], or b[jc·ldb + pc] when B is transposed.
      const T* b_panel = trans_b ? b + jc * ldb + pc : b + pc * ldb + jc;
      int64_t ldb_q = ldb;
      if (pack_b_panels) {
        pack_b(trans_b, b_panel, ldb, kc, nc, bp);
        b_panel = bp;
        ldb_q = NR;
      }
      // Sliver jr of the panel starts at column jr: b_panel + jr (in place) or + jr·kc.
      const int64_t b_step = pack_b_panels ? kc : 1;

      for (int64_t ic = 0; ic < m; ic += mc_max) {
        const int64_t mc = std::min(mc_max, m - ic);
        const T* a_block = trans_a ? a + pc * lda + ic : a + ic * lda + pc;
        int64_t rs = trans_a ? 1 : lda, cs = trans_a ? lda : 1;
        int64_t a_step = trans_a ? 1 : lda;  // sliver ir starts at a_block + ir · a_step
        if (pack_a_blocks) {
          pack_a(trans_a, a_block, lda, mc, kc, ap);
          a_block = ap;
          rs = trans_a ? 1 : kc;
          cs = trans_a ? MR : 1;
          a_step = kc;
        }
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = int(std::min<int64_t>(NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int mr = int(std::min<int64_t>(MR, mc - ir));
            run_tile(kc, a_block + ir * a_step, rs, cs, b_panel + jr * b_step, ldb_q, pack_b_panels,
                     c + (ic + ir) * ldc + jc + jr, ldc, mr, nr, alpha, beta_q);
          }
        }
      }
    }
  }
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

#if defined(_OPENMP)
// Split a grid of tm × tn tiles among `team` threads as tr × tc rectangles (tr · tc =
// team), picking the split whose busiest thread has the fewest tiles.
void split_grid(int team, int64_t tm, int64_t tn, int* tr, int* tc) {
  int64_t best = -1;
  for (int r = 1; r <= team; ++r) {
    if (team % r != 0) continue;
    const int cols = team / r;
    const int64_t busiest = ceil_div(tm, r) * ceil_div(tn, cols);
    if (best < 0 || busiest < best) {
      best = busiest;
      *tr = r;
      *tc = cols;
    }
  }
}
#endif

// How many threads to ask for: 1 (no parallel region at all) for small products and
// for calls from inside a parallel region (a parallel loop over a batch, say), else up
// to one per tile of C.
int threads_for(double work, int64_t tiles) {
#if defined(_OPENMP)
  if (work < kParallelMinWork || omp_in_parallel()) return 1;
  return int(std::min<int64_t>(omp_get_max_threads(), tiles));
#else
  (void)work;
  (void)tiles;
  return 1;
#endif
}

}  // namespace

// ======================================================================================
// The fast GEMM
// ======================================================================================

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  constexpr int MR = Blocking<T>::MR, NR = Blocking<T>::NR;
  const int64_t tiles_m = ceil_div(m, MR), tiles_n = ceil_div(n, NR);
  const double work = double(m) * double(n) * double(k);
  const bool in_place = work <= kInPlaceMaxWork;
  const int threads = threads_for(work, tiles_m * tiles_n);

  if (threads <= 1) {
    gemm_blocked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, in_place);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
  {
    // Thread t owns a rectangle of whole MR × NR tiles: rows [i0, i1), columns [j0, j1).
    const int team = omp_get_num_threads(), t = omp_get_thread_num();
    int tr = 1, tc = 1;
    split_grid(team, tiles_m, tiles_n, &tr, &tc);
    const int r = t / tc, q = t % tc;
    const int64_t i0 = std::min(m, tiles_m * r / tr * MR);
    const int64_t i1 = std::min(m, tiles_m * (r + 1) / tr * MR);
    const int64_t j0 = std::min(n, tiles_n * q / tc * NR);
    const int64_t j1 = std::min(n, tiles_n * (q + 1) / tc * NR);
    if (i1 > i0 && j1 > j0) {
      // op(A) from row i0 and op(B) from column j0, still read in place.
      const T* a0 = trans_a ? a + i0 : a + i0 * lda;
      const T* b0 = trans_b ? b + j0 * ldb : b + j0;
      gemm_blocked(trans_a, trans_b, i1 - i0, j1 - j0, k, alpha, a0, lda, b0, ldb, beta,
                   c + i0 * ldc + j0, ldc, in_place);
    }
  }
#endif
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);
template void gemm_reference<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                    int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_reference<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                     int64_t, const double*, int64_t, double, double*, int64_t);

}  // namespace minigrad
