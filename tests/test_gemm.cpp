// The fast GEMM against the textbook triple loop, over transposes, shapes (odd, 1, 0,
// larger than one cache block), alpha / beta, leading dimensions, and thread counts.
#include "minigrad/tensor/gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using minigrad::gemm;
using minigrad::gemm_reference;

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

// The same product with 1 and with 2 threads gives the same bits: every element's sum
// is computed in the same order however the work is split. 300³ and 600 × 300 × 800
// (big enough to be packed) are split between the threads along n; the tall and the
// odd shapes along m. Every shape is above the 2^22 multiply-adds from which gemm
// uses threads.
TYPED_TEST(GemmTyped, BitwiseIdenticalAcrossThreadCounts) {
  using T = TypeParam;
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

}  // namespace
