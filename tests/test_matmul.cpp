// matmul (the fast path around GEMM) against matmul_reference (the triple loop),
// and the reference against an element-by-element sum. Covers 2-D, batched,
// broadcast batch axes, transpose flags, strided and transposed views as
// operands, the [B,T,d]@[d,n] fold, float64 and the error messages.
#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <string>

#include "minigrad/tensor/ops.h"
#include "testing.h"

namespace minigrad {
namespace {

using testing::f64;
using testing::for_each_index;
using testing::throws_with;
using testing::uniform;

// Tolerance for a float32 product of inner size k with entries in [-1, 1):
// reordering k products changes the sum by at most ~k·2⁻²⁴ times their magnitude.
double tol_for(DType dt, int64_t k) {
  return dt == DType::Float32 ? 2e-7 * static_cast<double>(k + 8) : 1e-15 * static_cast<double>(k + 8);
}

void expect_matches_reference(const Tensor& a, const Tensor& b, bool ta, bool tb, const std::string& what) {
  const Tensor c = matmul(a, b, ta, tb);
  const Tensor r = matmul_reference(a, b, ta, tb);
  ASSERT_EQ(c.shape(), r.shape()) << what;
  EXPECT_EQ(c.dtype(), a.dtype());
  const int64_t k = ta ? a.shape()[a.dim() - 2] : a.shape()[a.dim() - 1];
  EXPECT_LE(max_abs_diff(c, r), tol_for(a.dtype(), k)) << what;
}

TEST(Matmul, ReferenceIsTheTripleLoop) {
  const Tensor a = uniform({2, 3, 4}, 1), b = uniform({4, 5}, 2);
  const Tensor c = matmul_reference(a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 3, 5}));
  for_each_index(c.shape(), [&](const Shape& idx) {
    double s = 0;
    for (int64_t p = 0; p < 4; ++p) s += a.at({idx[0], idx[1], p}) * b.at({p, idx[2]});
    EXPECT_NEAR(c.at(idx), s, 1e-15);
  });
  // flags: Aᵀ·Bᵀ
  const Tensor at = uniform({4, 3}, 3), bt = uniform({5, 4}, 4);
  const Tensor d = matmul_reference(at, bt, true, true);
  for_each_index(d.shape(), [&](const Shape& idx) {
    double s = 0;
    for (int64_t p = 0; p < 4; ++p) s += at.at({p, idx[0]}) * bt.at({idx[1], p});
    EXPECT_NEAR(d.at(idx), s, 1e-15);
  });
}

TEST(Matmul, TwoDimensionalSizes) {
  const std::vector<std::array<int64_t, 3>> sizes{
      {1, 1, 1}, {1, 7, 1}, {7, 1, 5}, {2, 3, 4}, {13, 17, 19}, {16, 32, 64}, {65, 33, 17}, {130, 70, 90}, {3, 300, 2}};
  for (DType dt : {DType::Float32, DType::Float64}) {
    uint64_t seed = 10;
    for (const auto& [m, k, n] : sizes) {
      const Tensor a = uniform({m, k}, seed++, -1, 1, dt), b = uniform({k, n}, seed++, -1, 1, dt);
      expect_matches_reference(a, b, false, false,
                               std::string(dtype_name(dt)) + " " + Shape{m, k, n}.str());
    }
  }
}

TEST(Matmul, AllTransposeFlags) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const int64_t m = 37, k = 29, n = 41;
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const Tensor a = uniform(ta ? Shape{k, m} : Shape{m, k}, 1, -1, 1, dt);
        const Tensor b = uniform(tb ? Shape{n, k} : Shape{k, n}, 2, -1, 1, dt);
        expect_matches_reference(a, b, ta, tb, "ta " + std::to_string(ta) + " tb " + std::to_string(tb));
        // flags mean the same as transposing the operand first
        const Tensor c = matmul(a, b, ta, tb);
        const Tensor c2 = matmul(ta ? a.t().contiguous() : a, tb ? b.t().contiguous() : b);
        EXPECT_LE(max_abs_diff(c, c2), tol_for(dt, k));
      }
    }
  }
}

TEST(Matmul, BatchedAndBroadcastBatchAxes) {
  struct Case {
    Shape a, b, out;
    bool ta, tb;
  };
  const std::vector<Case> cases{
      {{3, 4, 5}, {3, 5, 6}, {3, 4, 6}, false, false},
      {{2, 1, 4, 5}, {3, 5, 6}, {2, 3, 4, 6}, false, false},
      {{4, 5}, {3, 5, 6}, {3, 4, 6}, false, false},
      {{3, 4, 5}, {5, 6}, {3, 4, 6}, false, false},
      {{1, 4, 5}, {3, 5, 6}, {3, 4, 6}, false, false},
      {{2, 5, 4}, {2, 6, 5}, {2, 4, 6}, true, true},
      {{2, 1, 5, 4}, {1, 3, 5, 6}, {2, 3, 4, 6}, true, false},
      {{3, 4, 5}, {6, 5}, {3, 4, 6}, false, true},
      {{3, 5, 4}, {5, 6}, {3, 4, 6}, true, false},
      {{64, 8, 8}, {64, 8, 8}, {64, 8, 8}, false, true},  // many small GEMMs: the parallel batch path
  };
  for (DType dt : {DType::Float32, DType::Float64}) {
    uint64_t seed = 100;
    for (const Case& c : cases) {
      const Tensor a = uniform(c.a, seed++, -1, 1, dt), b = uniform(c.b, seed++, -1, 1, dt);
      const std::string what = c.a.str() + " @ " + c.b.str();
      ASSERT_EQ(matmul(a, b, c.ta, c.tb).shape(), c.out) << what;
      expect_matches_reference(a, b, c.ta, c.tb, what);
    }
  }
  // each batch entry is its own 2-D product
  const Tensor a = uniform({2, 1, 3, 4}, 1), b = uniform({3, 4, 2}, 2);
  const Tensor c = matmul(a, b);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      EXPECT_LE(max_abs_diff(c.select(0, i).select(0, j), matmul(a.select(0, i).select(0, 0), b.select(0, j))),
                1e-15);
}

TEST(Matmul, ViewsAsOperands) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor big = uniform({40, 50}, 1, -1, 1, dt);
    const Tensor b = uniform({20, 30}, 2, -1, 1, dt);
    // column slice: unit column stride, leading dimension 50
    expect_matches_reference(big.narrow(1, 5, 20).narrow(0, 3, 17), b, false, false, "narrowed");
    // transposed views, with and without flags
    expect_matches_reference(big.t().narrow(0, 0, 20), big.narrow(1, 10, 40).narrow(0, 0, 25), false, true,
                             "transposed view, flag");
    expect_matches_reference(big.narrow(0, 0, 20).narrow(1, 0, 17), b, true, false, "flag on narrowed");
    expect_matches_reference(big.narrow(1, 0, 20).t(), big.narrow(1, 0, 7), false, false, "a.t()");
    // neither stride is 1: must be copied
    expect_matches_reference(big.slice(1, 0, 40, 2).slice(0, 0, 40, 2), b, false, false, "stepped");
    expect_matches_reference(b.t(), big.slice(0, 0, 40, 2).slice(1, 0, 50, 3), false, false, "stepped b");
    // a single row or column whose only long axis is strided
    expect_matches_reference(big.slice(1, 0, 40, 2).narrow(0, 0, 1), b, false, false, "strided row");
    expect_matches_reference(b.t(), big.slice(0, 0, 40, 2).narrow(1, 3, 1), false, false, "strided column");
    expect_matches_reference(big.slice(1, 0, 40, 2).narrow(0, 0, 1), b.narrow(0, 0, 1), true, false, "strided row, ta");
    // stride-0 operands (a row expanded to a matrix)
    const Tensor row = uniform({1, 20}, 3, -1, 1, dt).expand({9, 20});
    expect_matches_reference(row, b, false, false, "expanded rows");
    const Tensor col = uniform({20, 1}, 4, -1, 1, dt).expand({20, 30});
    expect_matches_reference(b.t(), col, false, false, "expanded columns");
    // batched transposed views
    const Tensor x = uniform({3, 6, 4}, 5, -1, 1, dt);
    expect_matches_reference(x.transpose(1, 2), x, false, false, "batched xᵀx");
    expect_matches_reference(x.permute({1, 0, 2}), uniform({4, 5}, 6, -1, 1, dt), false, false, "permuted batch");
  }
}

TEST(Matmul, FoldedBatchOfRows) {
  // [B,T,d] @ [d,n] is one GEMM of [B·T, d] @ [d, n] when the batch can be viewed flat.
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = uniform({4, 7, 16}, 1, -1, 1, dt);
    const Tensor w = uniform({16, 9}, 2, -1, 1, dt), wt = uniform({9, 16}, 3, -1, 1, dt);
    expect_matches_reference(x, w, false, false, "folded");
    expect_matches_reference(x, wt, false, true, "folded, Wᵀ");
    expect_matches_reference(x.reshape({2, 2, 7, 16}), w, false, false, "folded, 4-D");
    // A batch that cannot be flattened into rows takes the general path.
    const Tensor xp = uniform({7, 4, 16}, 4, -1, 1, dt).transpose(0, 1);
    expect_matches_reference(xp, w, false, false, "unfoldable");
    expect_matches_reference(uniform({4, 16, 7}, 5, -1, 1, dt), w, true, false, "transposed, not folded");
  }
}

TEST(Matmul, Float64IsExactToRounding) {
  // small integers: every product and sum is exact, whatever the order
  const Tensor a = Tensor::arange(-6, 6, 1, DType::Float64).reshape({3, 4});
  const Tensor b = Tensor::arange(0, 8, 1, DType::Float64).reshape({4, 2});
  EXPECT_EQ(matmul(a, b).to_vector<double>(), (std::vector<double>{-44, -62, 4, 2, 52, 66}));
  EXPECT_EQ(matmul(a, b).to_vector<double>(), matmul_reference(a, b).to_vector<double>());
}

TEST(Matmul, EmptyOperands) {
  const Tensor c = matmul(Tensor::ones({2, 0}), Tensor::ones({0, 3}));
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(c.to_vector<float>(), std::vector<float>(6, 0.f));  // an empty sum is 0
  EXPECT_EQ(matmul(Tensor::ones({0, 4}), Tensor::ones({4, 3})).shape(), (Shape{0, 3}));
  EXPECT_EQ(matmul(Tensor::ones({2, 0, 4}), Tensor::ones({4, 3})).shape(), (Shape{2, 0, 3}));
  EXPECT_EQ(matmul(Tensor::ones({2, 3, 0}), Tensor::ones({0, 5})).to_vector<float>(), std::vector<float>(30, 0.f));
}

TEST(Matmul, Errors) {
  EXPECT_EQ(testing::message_of([] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})); }),
            "matmul: [2,3] @ [4,5]: inner sizes 3 and 4 differ");
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({2, 3})); },
                                                 {"matmul: [2,3] @ [2,3]: inner sizes 3 and 2 differ"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { matmul(Tensor::zeros({3, 2}), Tensor::zeros({3, 2}), true, true); },
      {"matmul: [3,2]ᵀ @ [3,2]ᵀ: inner sizes 3 and 2 differ"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { matmul(Tensor::zeros({3}), Tensor::zeros({3, 2})); },
                                                 {"matmul", "[3] @ [3,2]", "at least 2 axes"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { matmul(Tensor::zeros({2, 4, 5}), Tensor::zeros({3, 5, 6})); },
      {"matmul", "[2,4,5] @ [3,5,6]", "batch shapes [2] and [3] cannot broadcast"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({3, 2}, DType::Float64)); },
      {"matmul", "float32", "float64"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { matmul(Tensor::zeros({2, 3}, DType::Int64), Tensor::zeros({3, 2}, DType::Int64)); },
      {"matmul", "int64"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { matmul(Tensor(), Tensor::zeros({3, 2})); },
                                                 {"matmul", "undefined"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { matmul_reference(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})); },
      {"matmul_reference: [2,3] @ [4,5]: inner sizes 3 and 4 differ"}));
}

}  // namespace
}  // namespace minigrad
