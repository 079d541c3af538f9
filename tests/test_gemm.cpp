// The fast GEMM against the textbook triple loop, over transposes, shapes (odd, 1, 0,
// larger than one cache block), alpha / beta, leading dimensions, and thread counts;
// every kernel this CPU runs (avx512, avx2, portable); block sizes from cache sizes.
#include "minigrad/tensor/gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using minigrad::gemm;
using minigrad::gemm_reference;
using minigrad::GemmBlocking;

// A fixed-seed generator (64-bit LCG, top bits) giving uniform numbers in [-1, 1):
// the same numbers on every platform and standard library.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  double next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return double(state_ >> 11) / double(uint64_t(1) << 53) * 2.0 - 1.0;
  }

 private:
  uint64_t state_;
};

// A row-major matrix of `rows` rows stored `ld` apart (ld ≥ cols), padding included.
template <class T>
std::vector<T> random_matrix(int64_t rows, int64_t ld, Lcg& rng) {
  std::vector<T> v(size_t(std::max<int64_t>(rows * ld, 1)));
  for (T& x : v) x = T(rng.next());
  return v;
}

struct Case {
  bool trans_a, trans_b;
  int64_t m, n, k;
  double alpha, beta;
  int64_t pad = 0;     // extra columns in every leading dimension
  bool nan_c = false;  // fill C with NaN (only meaningful with beta == 0)
};

std::string describe(const Case& c) {
  std::ostringstream os;
  os << (c.trans_a ? "Aᵀ" : "A") << "·" << (c.trans_b ? "Bᵀ" : "B") << " m=" << c.m << " n=" << c.n
     << " k=" << c.k << " alpha=" << c.alpha << " beta=" << c.beta << " pad=" << c.pad
     << (c.nan_c ? " C=NaN" : "");
  return os.str();
}

// Products above this many multiply-adds are checked on a sample of rows (below).
constexpr int64_t kFullCheckWork = 4'000'000;

// Runs gemm and gemm_reference on the same inputs and checks, element by element,
//
//   |fast - ref| ≤ 2·(k + 2)·eps · (|alpha|·Σ_p |a_ip||b_pj| + |beta|·|c_ij|)
//
// (the classic bound for a dot product of length k, twice over: both results may be
// off by it). Every column of a checked row is checked; all rows are checked unless the
// product is big, where the triple loop would take most of the test's time: then the
// first and last rows and a spread in between. The padding between rows of C must be
// left untouched (all rows).
template <class T>
void check(const Case& cs, uint64_t seed = 1) {
  SCOPED_TRACE(describe(cs));
  Lcg rng(seed);
  const int64_t a_rows = cs.trans_a ? cs.k : cs.m, a_cols = cs.trans_a ? cs.m : cs.k;
  const int64_t b_rows = cs.trans_b ? cs.n : cs.k, b_cols = cs.trans_b ? cs.k : cs.n;
  const int64_t lda = std::max<int64_t>(a_cols, 1) + cs.pad;
  const int64_t ldb = std::max<int64_t>(b_cols, 1) + cs.pad;
  const int64_t ldc = std::max<int64_t>(cs.n, 1) + cs.pad;
  const std::vector<T> a = random_matrix<T>(a_rows, lda, rng);
  const std::vector<T> b = random_matrix<T>(b_rows, ldb, rng);
  std::vector<T> c0 = random_matrix<T>(cs.m, ldc, rng);
  if (cs.nan_c) {
    for (int64_t i = 0; i < cs.m; ++i)
      for (int64_t j = 0; j < cs.n; ++j)
        c0[size_t(i * ldc + j)] = std::numeric_limits<T>::quiet_NaN();
  }
  const T alpha = T(cs.alpha), beta = T(cs.beta);

  std::vector<T> fast = c0;
  gemm<T>(cs.trans_a, cs.trans_b, cs.m, cs.n, cs.k, alpha, a.data(), lda, b.data(), ldb, beta,
          fast.data(), ldc);

  int64_t bad = 0;
  for (int64_t i = 0; i < cs.m; ++i)
    for (int64_t j = cs.n; j < ldc; ++j) {
      const size_t idx = size_t(i * ldc + j);
      if (std::memcmp(&fast[idx], &c0[idx], sizeof(T)) != 0) {
        if (bad < 5) ADD_FAILURE() << "padding C[" << i << "," << j << "] was written";
        ++bad;
      }
    }

  std::vector<int64_t> rows;
  if (cs.m * cs.n * cs.k <= kFullCheckWork) {
    for (int64_t i = 0; i < cs.m; ++i) rows.push_back(i);
  } else {
    for (int64_t q = 0; q < 12; ++q)
      rows.push_back(q < 2 ? q : q >= 10 ? cs.m - 12 + q : cs.m * q / 12);
  }

  // Σ_p |a_ip||b_pj| comes from the reference run on absolute values.
  std::vector<T> abs_a(a.size()), abs_b(b.size());
  std::transform(a.begin(), a.end(), abs_a.begin(), [](T x) { return std::abs(x); });
  std::transform(b.begin(), b.end(), abs_b.begin(), [](T x) { return std::abs(x); });
  const double eps = std::numeric_limits<T>::epsilon();
  std::vector<T> ref(size_t(cs.n)), mag(size_t(cs.n));
  for (int64_t i : rows) {
    // Row i of op(A) is a + i·lda (or a + i when A is transposed): a 1 × n product.
    const int64_t a_off = cs.trans_a ? i : i * lda;
    std::copy_n(c0.begin() + i * ldc, cs.n, ref.begin());
    gemm_reference<T>(cs.trans_a, cs.trans_b, 1, cs.n, cs.k, alpha, a.data() + a_off, lda, b.data(),
                      ldb, beta, ref.data(), cs.n);
    gemm_reference<T>(cs.trans_a, cs.trans_b, 1, cs.n, cs.k, T(1), abs_a.data() + a_off, lda,
                      abs_b.data(), ldb, T(0), mag.data(), cs.n);
    for (int64_t j = 0; j < cs.n; ++j) {
      const size_t idx = size_t(i * ldc + j);
      const double old = cs.beta == 0 ? 0.0 : std::abs(double(c0[idx]));
      const double tol = 2.0 * double(cs.k + 2) * eps *
                         (std::abs(cs.alpha) * double(mag[size_t(j)]) + std::abs(cs.beta) * old);
      const double err = std::abs(double(fast[idx]) - double(ref[size_t(j)]));
      const bool ok = std::isfinite(double(fast[idx])) && err <= tol;
      if (!ok && bad < 5) {
        ADD_FAILURE() << "C[" << i << "," << j << "] fast " << fast[idx] << " reference "
                      << ref[size_t(j)] << " |diff| " << err << " > tol " << tol;
      }
      bad += !ok;
    }
  }
  EXPECT_EQ(bad, 0) << "elements out of tolerance";
}

template <class T>
class GemmTyped : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GemmTyped, Types);

const bool kTrans[2] = {false, true};

// Every small shape from a set of odd sizes, all four transposes.
TYPED_TEST(GemmTyped, SmallOddShapesAllTransposes) {
  const int64_t sizes[] = {1, 2, 3, 7, 16, 17, 33};
  for (bool ta : kTrans)
    for (bool tb : kTrans)
      for (int64_t m : sizes)
        for (int64_t n : sizes)
          for (int64_t k : sizes) check<TypeParam>({ta, tb, m, n, k, 1.0, 0.0});
}

// Shapes around and past the register tile and the cache blocks: k > KC gives several
// k-slices, m > MC several row blocks, n > NC several column panels.
TYPED_TEST(GemmTyped, LargerShapesAllTransposes) {
  const int64_t shapes[][3] = {{65, 127, 200}, {127, 200, 257}, {200, 257, 127}, {257, 65, 33},
                               {1, 257, 300},  {257, 1, 300},   {33, 1, 1000},   {1, 1, 1000},
                               {520, 17, 7},   {3, 4200, 5},    {600, 40, 600},  {40, 600, 600}};
  for (bool ta : kTrans)
    for (bool tb : kTrans)
      for (const auto& s : shapes) check<TypeParam>({ta, tb, s[0], s[1], s[2], 1.0, 0.0});
}

// Products big enough (over 512³ multiply-adds) for gemm to pack its operands rather
// than read them in place, again past every cache block.
TYPED_TEST(GemmTyped, PackedShapesAllTransposes) {
  const int64_t shapes[][3] = {{520, 520, 520}, {3000, 230, 200}, {181, 4100, 181}};
  for (bool ta : kTrans)
    for (bool tb : kTrans)
      for (const auto& s : shapes) {
        check<TypeParam>({ta, tb, s[0], s[1], s[2], 1.0, 0.0});
        check<TypeParam>({ta, tb, s[0], s[1], s[2], -0.5, 1.5, 3});
      }
}

// Small products are read in place, unless the operand whose rows a kernel call walks
// has a row stride that is a multiple of 2 KiB (those rows would collide in L1): then
// they are packed. Packing moves numbers, not arithmetic: the same product with a
// leading dimension of 2 KiB (packed) and of 2 KiB + one cache line (in place) must
// give the same bits, and both must be right.
TYPED_TEST(GemmTyped, LeadingDimensionAndAlignmentChooseThePathNotTheBits) {
  using T = TypeParam;
  const int64_t m = 100, n = 200, k = 300, conflict = 2048 / int64_t(sizeof(T));
  const int64_t line = 64 / int64_t(sizeof(T));
  // B not transposed, ldb = n + pad = 2 KiB: packed, checked against the reference
  for (bool ta : kTrans) check<T>({ta, false, m, n, k, -0.5, 1.5, conflict - n});
  Lcg rng(11);
  const std::vector<T> a = random_matrix<T>(k, m, rng), b = random_matrix<T>(k, n, rng);
  const std::vector<T> c0 = random_matrix<T>(m, n, rng);
  // `rows` × `cols` dense x copied to rows of `ld` numbers starting `shift` numbers past a
  // 64-byte boundary (storage holds it; the return value points at the first row).
  const auto padded = [](const std::vector<T>& x, int64_t rows, int64_t cols, int64_t ld,
                         int64_t shift, std::vector<T>& storage) {
    storage.assign(size_t(rows * ld + shift + 64), T(0));
    T* p = storage.data();
    while (reinterpret_cast<uintptr_t>(p) % 64 != 0) ++p;
    p += shift;
    for (int64_t r = 0; r < rows; ++r) std::copy_n(x.data() + r * cols, cols, p + r * ld);
    return p;
  };
  // ld a multiple of 2 KiB at least k long (packed); that plus one cache line (read in
  // place); that plus one number, one number past a line (packed: its rows straddle
  // lines and a k-slice of B is larger than L1d); and that plus 512 bytes (packed when A
  // is transposed; with m = 100, one block of A, A·B reads it in place).
  const int64_t base = conflict * ((k + conflict - 1) / conflict);
  const struct {
    int64_t ld, shift;
  } layouts[] = {
      {base, 0}, {base + line, 0}, {base + line + 1, 1}, {base + 512 / int64_t(sizeof(T)), 0}};
  constexpr int kLayouts = int(std::size(layouts));
  for (bool ta : kTrans)
    for (bool tb : kTrans) {
      // op(A) is m × k, op(B) k × n
      const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
      const int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
      std::vector<T> out[kLayouts], as, bs;
      for (int v = 0; v < kLayouts; ++v) {
        const auto [ld, shift] = layouts[v];
        const T* ap = padded(a, a_rows, a_cols, ld, shift, as);
        const T* bp = padded(b, b_rows, b_cols, ld, shift, bs);
        out[v] = c0;
        gemm<T>(ta, tb, m, n, k, T(0.75), ap, ld, bp, ld, T(0.5), out[v].data(), n);
      }
      for (int v = 1; v < kLayouts; ++v)
        EXPECT_EQ(std::memcmp(out[0].data(), out[v].data(), out[0].size() * sizeof(T)), 0)
            << "ta=" << ta << " tb=" << tb << " layout " << v;
    }
}

// A single row of C (m = 1) takes its own path (no packing, several vectors of the row
// at once); its arithmetic is the blocked path's, so each row of a product computed
// alone has the same bits. n and k cross the vector width, the block of vectors and
// KC (k = 700 is more than one k-slice).
TYPED_TEST(GemmTyped, ARowAloneHasTheBitsItHasInALargerProduct) {
  using T = TypeParam;
  const int64_t m = 7;
  Lcg rng(5);
  for (int64_t n : {1, 5, 8, 17, 64, 130, 300})
    for (int64_t k : {1, 3, 16, 37, 700})
      for (bool ta : kTrans)
        for (bool tb : kTrans)
          for (double beta : {0.0, 0.5}) {
            const int64_t lda = ta ? m : k, ldb = tb ? k : n;
            const std::vector<T> a = random_matrix<T>(m, k, rng), b = random_matrix<T>(k, n, rng);
            const std::vector<T> c0 = random_matrix<T>(m, n, rng);
            std::vector<T> whole = c0, rows = c0;
            gemm<T>(ta, tb, m, n, k, T(0.75), a.data(), lda, b.data(), ldb, T(beta), whole.data(),
                    n);
            for (int64_t i = 0; i < m; ++i)  // row i of op(A) starts at a + i·lda, or a + i
              gemm<T>(ta, tb, 1, n, k, T(0.75), a.data() + (ta ? i : i * lda), lda, b.data(), ldb,
                      T(beta), rows.data() + i * n, n);
            EXPECT_EQ(std::memcmp(whole.data(), rows.data(), whole.size() * sizeof(T)), 0)
                << "ta=" << ta << " tb=" << tb << " n=" << n << " k=" << k << " beta=" << beta;
          }
}

// C's rows may not overlap; A's and B's may (a leading dimension of 0 repeats one row).
TYPED_TEST(GemmTyped, OverlappingRowsOfCOrANegativeLeadingDimensionThrow) {
  using T = TypeParam;
  std::vector<T> a(64, T(1)), b(64, T(1)), c(64, T(0));
  EXPECT_THROW(gemm<T>(false, false, 4, 3, 6, T(1), a.data(), 6, b.data(), 3, T(0), c.data(), 2),
               std::invalid_argument);
  EXPECT_THROW(gemm<T>(false, false, 4, 3, 6, T(1), a.data(), -6, b.data(), 3, T(0), c.data(), 3),
               std::invalid_argument);
  EXPECT_THROW(gemm<T>(false, true, 4, 3, 6, T(1), a.data(), 6, b.data(), -1, T(0), c.data(), 3),
               std::invalid_argument);
  // one row of C needs no ldc
  EXPECT_NO_THROW(
      gemm<T>(false, false, 1, 3, 6, T(1), a.data(), 6, b.data(), 3, T(0), c.data(), 0));
  // every row of A the same row (lda = 0): C's rows are all Σ_p a_p · b_pj = 6
  EXPECT_NO_THROW(
      gemm<T>(false, false, 4, 3, 6, T(1), a.data(), 0, b.data(), 3, T(0), c.data(), 3));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(c[size_t(i)], T(6));
}

TYPED_TEST(GemmTyped, AlphaBeta) {
  const double alphas[] = {1.0, -0.5, 2.0, 0.0};
  const double betas[] = {0.0, 1.0, -1.5, 0.25};
  for (bool ta : kTrans)
    for (bool tb : kTrans)
      for (double alpha : alphas)
        for (double beta : betas) {
          check<TypeParam>({ta, tb, 17, 33, 65, alpha, beta});
          check<TypeParam>({ta, tb, 65, 40, 300, alpha, beta});
        }
}

// beta == 0 overwrites C without reading it: NaN already in C must not leak through.
TYPED_TEST(GemmTyped, BetaZeroIgnoresNaNInC) {
  for (bool ta : kTrans)
    for (bool tb : kTrans) {
      check<TypeParam>({ta, tb, 7, 17, 33, 1.0, 0.0, 0, true});
      check<TypeParam>({ta, tb, 127, 65, 300, -2.0, 0.0, 3, true});
      check<TypeParam>({ta, tb, 5, 9, 0, 1.0, 0.0, 0, true});  // k = 0
    }
}

// Leading dimensions larger than the rows: the kernel must use them and leave the
// padding between rows of C alone.
TYPED_TEST(GemmTyped, LeadingDimensionsLargerThanRows) {
  const int64_t pads[] = {1, 5, 64};
  for (bool ta : kTrans)
    for (bool tb : kTrans)
      for (int64_t pad : pads) {
        check<TypeParam>({ta, tb, 13, 37, 29, 1.0, 0.5, pad});
        check<TypeParam>({ta, tb, 100, 70, 260, 0.5, 1.0, pad});
      }
}

// k == 0: the product is empty, so C = beta · C.
TYPED_TEST(GemmTyped, EmptyInnerDimensionScalesC) {
  for (double beta : {0.0, 1.0, -3.0}) {
    check<TypeParam>({false, false, 4, 5, 0, 1.0, beta});
    check<TypeParam>({true, true, 33, 17, 0, 2.0, beta});
  }
}

// m == 0 or n == 0: nothing to do, nothing touched.
TYPED_TEST(GemmTyped, EmptyOutputIsANoOp) {
  using T = TypeParam;
  const T a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4};
  T c[4] = {7, 7, 7, 7};
  gemm<T>(false, false, 0, 2, 2, T(1), a, 2, b, 2, T(0), c, 2);
  gemm<T>(false, false, 2, 0, 2, T(1), a, 2, b, 2, T(0), c, 2);
  for (T x : c) EXPECT_EQ(x, T(7));
}

// A 2 × 2 product worked by hand, one for each transpose.
TYPED_TEST(GemmTyped, HandWorkedTwoByTwo) {
  using T = TypeParam;
  // A = [1 2; 3 4], B = [5 6; 7 8]: A·B = [19 22; 43 50], Aᵀ·B = [26 30; 38 44],
  // A·Bᵀ = [17 23; 39 53], Aᵀ·Bᵀ = [23 31; 34 46].
  const T a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  const T want[2][2][4] = {{{19, 22, 43, 50}, {17, 23, 39, 53}},
                           {{26, 30, 38, 44}, {23, 31, 34, 46}}};
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      T c[4] = {1, 1, 1, 1};
      gemm<T>(ta != 0, tb != 0, 2, 2, 2, T(1), a, 2, b, 2, T(0), c, 2);
      for (int i = 0; i < 4; ++i) EXPECT_EQ(c[i], want[ta][tb][i]) << "ta=" << ta << " tb=" << tb;
    }
}

// Switches gemm to another kernel for one scope, and back.
class KernelScope {
 public:
  explicit KernelScope(const std::string& name) : saved_(minigrad::gemm_kernel_name()) {
    minigrad::set_gemm_kernel(name);
  }
  ~KernelScope() { minigrad::set_gemm_kernel(saved_); }
  KernelScope(const KernelScope&) = delete;
  KernelScope& operator=(const KernelScope&) = delete;

 private:
  std::string saved_;
};

// The same product with 1 and with 2 threads gives the same bits: every element's sum
// is computed in the same order however the work is split. 300³ and 600 × 300 × 800
// (big enough to be packed) are split between the threads along n; the tall and the
// odd shapes along m. Every shape is above the 2^21 multiply-adds from which gemm
// uses threads.
template <class T>
void expect_same_bits_at_one_and_two_threads() {
#if defined(_OPENMP)
  const int saved = omp_get_max_threads();
  const int64_t shapes[][3] = {{300, 300, 300}, {600, 300, 800}, {6000, 16, 200}, {601, 177, 259}};
  Lcg rng(7);
  for (const auto& s : shapes) {
    const int64_t m = s[0], n = s[1], k = s[2];
    const std::vector<T> a = random_matrix<T>(m * k, 1, rng);
    const std::vector<T> b = random_matrix<T>(k * n, 1, rng);
    const std::vector<T> c0 = random_matrix<T>(m * n, 1, rng);
    for (bool ta : kTrans)
      for (bool tb : kTrans) {
        const int64_t lda = ta ? m : k, ldb = tb ? k : n;
        std::vector<T> one = c0, two = c0;
        omp_set_num_threads(1);
        gemm<T>(ta, tb, m, n, k, T(0.75), a.data(), lda, b.data(), ldb, T(0.5), one.data(), n);
        omp_set_num_threads(2);
        gemm<T>(ta, tb, m, n, k, T(0.75), a.data(), lda, b.data(), ldb, T(0.5), two.data(), n);
        // Compare representations, not values.
        EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(T)), 0)
            << "m=" << m << " n=" << n << " k=" << k << " ta=" << ta << " tb=" << tb;
      }
  }
  omp_set_num_threads(saved);
#else
  GTEST_SKIP() << "built without OpenMP";
#endif
}

TYPED_TEST(GemmTyped, BitwiseIdenticalAcrossThreadCounts) {
  expect_same_bits_at_one_and_two_threads<TypeParam>();
}

// ---- every kernel this CPU runs ----------------------------------------------------------

// Each kernel against the reference: square, odd and edge shapes (1 row, 1 column, one
// tile and one more), tall and wide, packed and in place, all transposes, alpha and beta.
TYPED_TEST(GemmTyped, EveryKernelMatchesTheReference) {
  const int64_t shapes[][3] = {{1, 1, 1},     {13, 1, 29},    {1, 33, 17},    {12, 32, 256},
                               {13, 33, 257}, {64, 64, 64},   {65, 97, 300},  {301, 517, 129},
                               {33, 700, 77}, {4096, 16, 16}, {520, 520, 520}};
  for (const std::string& name : minigrad::gemm_kernels_available()) {
    SCOPED_TRACE("kernel " + name);
    KernelScope scope(name);
    ASSERT_EQ(minigrad::gemm_kernel_name(), name);
    for (bool ta : kTrans)
      for (bool tb : kTrans)
        for (const auto& sh : shapes) {
          check<TypeParam>({ta, tb, sh[0], sh[1], sh[2], 1.0, 0.0});
          check<TypeParam>({ta, tb, sh[0], sh[1], sh[2], -0.5, 1.5, 3});
        }
  }
}

TYPED_TEST(GemmTyped, EveryKernelGivesTheSameBitsAtOneAndTwoThreads) {
  for (const std::string& name : minigrad::gemm_kernels_available()) {
    SCOPED_TRACE("kernel " + name);
    KernelScope scope(name);
    expect_same_bits_at_one_and_two_threads<TypeParam>();
  }
}

// The kernels a CPU runs are a chain: portable always; AVX2 where the CPU has AVX2 and
// FMA; AVX-512 only where it also has AVX-512 F, DQ, VL and BW. The first is the default.
TEST(GemmKernels, AvailableFollowsTheCpu) {
  const std::vector<std::string> names = minigrad::gemm_kernels_available();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.back(), "portable");
  const auto has = [&](const char* n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  const minigrad::CpuInfo& cpu = minigrad::cpu_info();
  EXPECT_TRUE(cpu.avx512 || !has("avx512"));
  EXPECT_TRUE(cpu.avx2_fma || !has("avx2"));
  const char* env = std::getenv("MINIGRAD_GEMM_ISA");
  if (env == nullptr || env[0] == '\0') {
    EXPECT_EQ(minigrad::gemm_kernel_name(), names.front());
  }
}

// Naming a kernel this CPU or build does not run is refused, with the ones it does run.
TEST(GemmKernels, UnknownOrUnsupportedKernelThrows) {
  const std::string before = minigrad::gemm_kernel_name();
  try {
    minigrad::set_gemm_kernel("sse9");
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("set_gemm_kernel"), std::string::npos) << what;
    EXPECT_NE(what.find("sse9"), std::string::npos) << what;
    EXPECT_NE(what.find("portable"), std::string::npos) << what;
  }
  if (!minigrad::cpu_info().avx512) {
    EXPECT_THROW(minigrad::set_gemm_kernel("avx512"), std::invalid_argument);
  }
  if (!minigrad::cpu_info().avx2_fma) {
    EXPECT_THROW(minigrad::set_gemm_kernel("avx2"), std::invalid_argument);
  }
  EXPECT_EQ(minigrad::gemm_kernel_name(), before);
}

// MINIGRAD_GEMM_ISA chooses the kernel at the first call (CTest gemm_isa_env runs this
// with MINIGRAD_GEMM_ISA=portable, gemm_isa_env_bad with a name no CPU runs).
TEST(GemmKernels, EnvironmentVariableChoosesTheKernel) {
  const char* env = std::getenv("MINIGRAD_GEMM_ISA");
  if (env == nullptr || env[0] == '\0') GTEST_SKIP() << "MINIGRAD_GEMM_ISA is not set";
  const std::vector<std::string> names = minigrad::gemm_kernels_available();
  if (std::find(names.begin(), names.end(), env) != names.end()) {
    EXPECT_EQ(minigrad::gemm_kernel_name(), env);
    EXPECT_EQ(minigrad::gemm_blocking<float>().mr, minigrad::gemm_blocking<double>().mr);
  } else {
    float a = 1, b = 2, c = 0;
    try {
      gemm<float>(false, false, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("MINIGRAD_GEMM_ISA=" + std::string(env)), std::string::npos) << what;
    }
  }
}

// ---- block sizes from cache sizes ----------------------------------------------------

void expect_blocking(const GemmBlocking& got, int mr, int nr, int64_t kc, int64_t mc, int64_t nc) {
  EXPECT_EQ(got.mr, mr);
  EXPECT_EQ(got.nr, nr);
  EXPECT_EQ(got.kc, kc);
  EXPECT_EQ(got.mc, mc);
  EXPECT_EQ(got.nc, nc);
}

// docs/GEMM.md's table, for the AVX-512 tile (12 × 32 floats, 12 × 16 doubles):
//   KC = ⌊(2/3)·L1d / (NR·s)⌋ ↓8,  MC = ⌊L2/2 / (KC·s)⌋ ↓MR,  NC = ⌊min(L3/2, 4 MiB) / (KC·s)⌋ ↓NR
TEST(GemmBlockingFor, ThreeMachines) {
  constexpr size_t KiB = 1024, MiB = 1024 * 1024;
  const minigrad::CacheSizes zen5{48 * KiB, 1 * MiB, 32 * MiB}, emr{48 * KiB, 2 * MiB, 320 * MiB},
      zen4{32 * KiB, 1 * MiB, 32 * MiB};
  using minigrad::gemm_blocking_for;
  // Zen 5: 32 KiB / 128 B = 256; 512 KiB / 1 KiB = 512 → 504; 4 MiB / 1 KiB = 4096.
  expect_blocking(gemm_blocking_for(zen5, 12, 32, 4), 12, 32, 256, 504, 4096);
  expect_blocking(gemm_blocking_for(zen5, 12, 16, 8), 12, 16, 256, 252, 2048);
  // Emerald Rapids: twice the L2, twice the A block; the L3 share is capped at 4 MiB.
  expect_blocking(gemm_blocking_for(emr, 12, 32, 4), 12, 32, 256, 1020, 4096);
  expect_blocking(gemm_blocking_for(emr, 12, 16, 8), 12, 16, 256, 504, 2048);
  // Zen 4: 21845 / 128 = 170 → 168; 524288 / 672 = 780; 4 MiB / 672 = 6241 → 6240.
  expect_blocking(gemm_blocking_for(zen4, 12, 32, 4), 12, 32, 168, 780, 6240);
  expect_blocking(gemm_blocking_for(zen4, 12, 16, 8), 12, 16, 168, 384, 3120);
  // The AVX2 tile (6 × 16 floats) on Zen 4: slivers half as wide, twice as long.
  expect_blocking(gemm_blocking_for(zen4, 6, 16, 4), 6, 16, 336, 390, 3120);
}

// Degenerate caches still give usable blocks: no L3 (the panel gets half of L2), a
// reported L3 of 512 MB (capped), unknown sizes (the defaults), tiny caches (the floors).
TEST(GemmBlockingFor, EdgeCases) {
  constexpr size_t KiB = 1024, MiB = 1024 * 1024;
  using minigrad::gemm_blocking_for;
  expect_blocking(gemm_blocking_for({48 * KiB, 1 * MiB, 0}, 12, 32, 4), 12, 32, 256, 504, 512);
  expect_blocking(gemm_blocking_for({48 * KiB, 1 * MiB, 508 * MiB}, 12, 32, 4), 12, 32, 256, 504,
                  4096);
  const GemmBlocking unknown = gemm_blocking_for({0, 0, 0}, 12, 32, 4);
  const GemmBlocking defaults = gemm_blocking_for(minigrad::kDefaultCaches, 12, 32, 4);
  // Unknown L1d and L2 are the defaults'; no L3: 256 KiB / (168 · 4) = 390 → 384.
  expect_blocking(unknown, defaults.mr, defaults.nr, defaults.kc, defaults.mc, 384);
  expect_blocking(gemm_blocking_for({1 * KiB, 256, 128}, 12, 32, 4), 12, 32, 8, 12, 32);
  EXPECT_THROW(gemm_blocking_for(minigrad::kDefaultCaches, 0, 32, 4), std::invalid_argument);
  EXPECT_THROW(gemm_blocking_for(minigrad::kDefaultCaches, 12, -1, 4), std::invalid_argument);
  EXPECT_THROW(gemm_blocking_for(minigrad::kDefaultCaches, 12, 32, 0), std::invalid_argument);
}

// What gemm uses is the formula applied to cpu_info()'s caches and the kernel's tile.
TEST(GemmBlockingFor, GemmUsesTheFormulaOnThisMachine) {
  const minigrad::CpuInfo& cpu = minigrad::cpu_info();
  const minigrad::CacheSizes caches{cpu.l1d_bytes, cpu.l2_bytes, cpu.l3_bytes};
  for (const char* t : {"float", "double"}) {
    const bool is_float = std::string(t) == "float";
    const GemmBlocking used =
        is_float ? minigrad::gemm_blocking<float>() : minigrad::gemm_blocking<double>();
    const GemmBlocking want = minigrad::gemm_blocking_for(
        caches, used.mr, used.nr, is_float ? sizeof(float) : sizeof(double));
    SCOPED_TRACE(t);
    expect_blocking(used, want.mr, want.nr, want.kc, want.mc, want.nc);
    EXPECT_GT(used.mr, 0);
    EXPECT_EQ(used.nr % (is_float ? 4 : 2), 0);
  }
}

}  // namespace
