// matmul (the fast path around GEMM) against matmul_reference (the triple loop),
// and the reference against an element-by-element sum. Covers torch.matmul's rank
// rules (1-D operands, 2-D, batched, broadcast batch axes), mT() and other views as
// operands (a transposed view reaches GEMM as a flag, without a copy), the
// [B,T,d]@[d,n] fold, float64 and the error messages. tests/test_parity_matmul.cpp
// compares the same rules with PyTorch.
#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <string>

#include "minigrad/tensor/allocator.h"
#include "minigrad/tensor/gemm.h"
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
  return dt == DType::Float32 ? 2e-7 * static_cast<double>(k + 8)
                              : 1e-15 * static_cast<double>(k + 8);
}

void expect_matches_reference(const Tensor& a, const Tensor& b, const std::string& what) {
  const Tensor c = matmul(a, b);
  const Tensor r = matmul_reference(a, b);
  ASSERT_EQ(c.shape(), r.shape()) << what;
  EXPECT_EQ(c.dtype(), a.dtype());
  EXPECT_LE(max_abs_diff(c, r), tol_for(a.dtype(), a.size(-1))) << what;
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
  // transposed views: Aᵀ·Bᵀ
  const Tensor at = uniform({4, 3}, 3), bt = uniform({5, 4}, 4);
  const Tensor d = matmul_reference(at.mT(), bt.mT());
  for_each_index(d.shape(), [&](const Shape& idx) {
    double s = 0;
    for (int64_t p = 0; p < 4; ++p) s += at.at({p, idx[0]}) * bt.at({idx[1], p});
    EXPECT_NEAR(d.at(idx), s, 1e-15);
  });
}

TEST(Matmul, TwoDimensionalSizes) {
  const std::vector<std::array<int64_t, 3>> sizes{{1, 1, 1},    {1, 7, 1},     {7, 1, 5},
                                                  {2, 3, 4},    {13, 17, 19},  {16, 32, 64},
                                                  {65, 33, 17}, {130, 70, 90}, {3, 300, 2}};
  for (DType dt : {DType::Float32, DType::Float64}) {
    uint64_t seed = 10;
    for (const auto& [m, k, n] : sizes) {
      const Tensor a = uniform({m, k}, seed++, -1, 1, dt), b = uniform({k, n}, seed++, -1, 1, dt);
      expect_matches_reference(a, b, std::string(dtype_name(dt)) + " " + Shape{m, k, n}.str());
    }
  }
}

TEST(Matmul, TransposedViews) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const int64_t m = 37, k = 29, n = 41;
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const Tensor a = ta ? uniform({k, m}, 1, -1, 1, dt).mT() : uniform({m, k}, 1, -1, 1, dt);
        const Tensor b = tb ? uniform({n, k}, 2, -1, 1, dt).mT() : uniform({k, n}, 2, -1, 1, dt);
        const std::string what = "ta " + std::to_string(ta) + " tb " + std::to_string(tb);
        expect_matches_reference(a, b, what);
        // The view is read with GEMM's transpose flag: the same call, the same bits as
        // gemm() given the stored matrices and the flags.
        const Tensor c = matmul(a, b);
        Tensor direct = Tensor::empty({m, n}, dt);
        const Tensor sa = a.is_contiguous() ? a : a.mT(), sb = b.is_contiguous() ? b : b.mT();
        dispatch_floating(dt, "test", [&](auto tag) {
          using T = decltype(tag);
          gemm<T>(ta, tb, m, n, k, T(1), sa.data<T>(), sa.size(1), sb.data<T>(), sb.size(1), T(0),
                  direct.data<T>(), n);
        });
        EXPECT_EQ(max_abs_diff(c, direct), 0.0) << what;
        // and means the same as transposing first
        EXPECT_LE(max_abs_diff(c, matmul(a.contiguous(), b.contiguous())), tol_for(dt, k)) << what;
      }
    }
  }
}

// matmul allocates its result and nothing else when the operands' inner strides fit
// GEMM (row-major, or a transposed row-major matrix as mT() gives); an operand with
// neither inner stride 1 costs one copy. With the cache emptied, every buffer is a
// system allocation, so their count is the number of tensors matmul made.
TEST(Matmul, TransposedViewIsNotCopied) {
  const Tensor a = uniform({64, 32}, 1), w = uniform({48, 32}, 2), x = uniform({4, 64, 32}, 3);
  const Tensor stepped = uniform({32, 96}, 4).slice(1, 0, 96, 2);  // [32, 48], strides (96, 2)
  auto buffers_made = [](const std::function<Tensor()>& f) {
    empty_cache();
    const size_t before = allocator_stats().system_allocs;
    const Tensor c = f();
    return allocator_stats().system_allocs - before;
  };
  EXPECT_EQ(buffers_made([&] { return a.matmul(w.mT()); }), 1u);             // x·Wᵀ
  EXPECT_EQ(buffers_made([&] { return a.mT().matmul(a); }), 1u);             // Aᵀ·A
  EXPECT_EQ(buffers_made([&] { return x.matmul(x.mT()); }), 1u);             // batched Q·Kᵀ
  EXPECT_EQ(buffers_made([&] { return x.transpose(1, 2).matmul(x); }), 1u);  // batched Aᵀ·G
  EXPECT_EQ(buffers_made([&] { return x.matmul(w.mT()); }), 1u);             // folded, Wᵀ
  EXPECT_EQ(buffers_made([&] { return a.matmul(stepped); }), 2u);            // one copy
  EXPECT_EQ(buffers_made([&] { return a.matmul(w.select(0, 3)); }), 1u);     // a vector
}

TEST(Matmul, OneDimensionalOperands) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = tol_for(dt, 8);
    const Tensor v = uniform({4}, 1, -1, 1, dt), u = uniform({4}, 2, -1, 1, dt);
    const Tensor m = uniform({3, 4}, 3, -1, 1, dt), n = uniform({4, 5}, 4, -1, 1, dt);
    // dot: a 0-d result, Σ_p v_p u_p
    const Tensor dot = matmul(v, u);
    ASSERT_EQ(dot.shape(), Shape{});
    double s = 0;
    for (int64_t p = 0; p < 4; ++p) s += v.at({p}) * u.at({p});
    EXPECT_NEAR(dot.item(), s, tol);
    // matrix · vector and vector · matrix: the 1 added for the product is removed after
    EXPECT_EQ(matmul(m, v).shape(), (Shape{3}));
    EXPECT_EQ(matmul(v, n).shape(), (Shape{5}));
    EXPECT_LE(max_abs_diff(matmul(m, v), matmul(m, v.reshape({4, 1})).reshape({3})), 0.0);
    EXPECT_LE(max_abs_diff(matmul(v, n), matmul(v.reshape({1, 4}), n).reshape({5})), 0.0);
    // with a batch on the other side: [4] @ [2,4,5] → [2,5], [2,3,4] @ [4] → [2,3]
    const Tensor bn = uniform({2, 4, 5}, 5, -1, 1, dt), bm = uniform({2, 3, 4}, 6, -1, 1, dt);
    ASSERT_EQ(matmul(v, bn).shape(), (Shape{2, 5}));
    ASSERT_EQ(matmul(bm, v).shape(), (Shape{2, 3}));
    for (int64_t i = 0; i < 2; ++i) {
      EXPECT_LE(max_abs_diff(matmul(v, bn).select(0, i), matmul(v, bn.select(0, i))), tol);
      EXPECT_LE(max_abs_diff(matmul(bm, v).select(0, i), matmul(bm.select(0, i), v)), tol);
    }
    ASSERT_EQ(matmul(uniform({2, 3, 5, 4}, 7, -1, 1, dt), v).shape(), (Shape{2, 3, 5}));
    ASSERT_EQ(matmul(v, uniform({2, 3, 4, 5}, 8, -1, 1, dt)).shape(), (Shape{2, 3, 5}));
    // strided vectors: a column of a matrix and a row of a transposed one
    const Tensor col = m.select(1, 2);  // [3], stride 4
    EXPECT_LE(max_abs_diff(matmul(col, uniform({3, 2}, 9, -1, 1, dt)),
                           matmul(col.contiguous(), uniform({3, 2}, 9, -1, 1, dt))),
              0.0);
    expect_matches_reference(n.mT(), v.narrow(0, 0, 4), "Wᵀ·v");
    expect_matches_reference(v, n, "v·W");
    expect_matches_reference(col, m, "strided dot axis");
    // the reference follows the same rank rules
    EXPECT_EQ(matmul_reference(v, u).shape(), Shape{});
    EXPECT_NEAR(matmul_reference(v, u).item(), s, tol);
  }
}

TEST(Matmul, MTIsAView) {
  const Tensor x = uniform({2, 3, 4}, 1);
  const Tensor y = x.mT();
  EXPECT_EQ(y.shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(y.strides(), (Shape{12, 1, 4}));
  EXPECT_EQ(y.raw_data(), x.raw_data());  // shares the storage
  EXPECT_EQ(y.at({1, 3, 2}), x.at({1, 2, 3}));
  EXPECT_EQ(y.mT().strides(), x.strides());
  EXPECT_EQ(uniform({3, 4}, 2).mT().shape(), (Shape{4, 3}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { Tensor::zeros({3}).mT(); }, {"mT", "[3]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { Tensor::scalar(1).mT(); }, {"mT", "[]"}));
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
      {{2, 5, 4}, {2, 6, 5}, {2, 4, 6}, true, true},  // stored transposed, used as mT()
      {{2, 1, 5, 4}, {1, 3, 5, 6}, {2, 3, 4, 6}, true, false},
      {{3, 4, 5}, {6, 5}, {3, 4, 6}, false, true},
      {{3, 5, 4}, {5, 6}, {3, 4, 6}, true, false},
      {{64, 8, 8},
       {64, 8, 8},
       {64, 8, 8},
       false,
       true},  // many small GEMMs: the parallel batch path
  };
  for (DType dt : {DType::Float32, DType::Float64}) {
    uint64_t seed = 100;
    for (const Case& c : cases) {
      Tensor a = uniform(c.a, seed++, -1, 1, dt), b = uniform(c.b, seed++, -1, 1, dt);
      if (c.ta) a = a.mT();
      if (c.tb) b = b.mT();
      const std::string what = a.shape().str() + " @ " + b.shape().str();
      ASSERT_EQ(matmul(a, b).shape(), c.out) << what;
      expect_matches_reference(a, b, what);
    }
  }
  // each batch entry is its own 2-D product
  const Tensor a = uniform({2, 1, 3, 4}, 1), b = uniform({3, 4, 2}, 2);
  const Tensor c = matmul(a, b);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      EXPECT_LE(max_abs_diff(c.select(0, i).select(0, j),
                             matmul(a.select(0, i).select(0, 0), b.select(0, j))),
                1e-15);
}

TEST(Matmul, ViewsAsOperands) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor big = uniform({40, 50}, 1, -1, 1, dt);
    const Tensor b = uniform({20, 30}, 2, -1, 1, dt);
    // column slice: unit column stride, leading dimension 50
    expect_matches_reference(big.narrow(1, 5, 20).narrow(0, 3, 17), b, "narrowed");
    // transposed views of views
    expect_matches_reference(big.t().narrow(0, 0, 20), big.narrow(1, 10, 40).narrow(0, 0, 25).mT(),
                             "transposed views");
    expect_matches_reference(big.narrow(0, 0, 20).narrow(1, 0, 17).mT(), b, "mT of narrowed");
    expect_matches_reference(big.narrow(1, 0, 20).t(), big.narrow(1, 0, 7), "a.t()");
    // neither stride is 1: must be copied
    expect_matches_reference(big.slice(1, 0, 40, 2).slice(0, 0, 40, 2), b, "stepped");
    expect_matches_reference(b.t(), big.slice(0, 0, 40, 2).slice(1, 0, 50, 3), "stepped b");
    // a single row or column whose only long axis is strided
    expect_matches_reference(big.slice(1, 0, 40, 2).narrow(0, 0, 1), b, "strided row");
    expect_matches_reference(b.t(), big.slice(0, 0, 40, 2).narrow(1, 3, 1), "strided column");
    expect_matches_reference(big.slice(1, 0, 40, 2).narrow(0, 0, 1).mT(), b.narrow(0, 0, 1),
                             "strided row, transposed");
    // single rows and columns with unit strides either way ([k,1] contiguous, the mT() of
    // a contiguous [1,k], and the reverse)
    const Tensor column = uniform({20, 1}, 7, -1, 1, dt), row1 = uniform({1, 20}, 8, -1, 1, dt);
    expect_matches_reference(b.t(), column, "[k,1]");
    expect_matches_reference(b.t(), row1.mT(), "[1,k]ᵀ");
    expect_matches_reference(row1, b, "[1,k]");
    expect_matches_reference(column.mT(), b, "[k,1]ᵀ");
    expect_matches_reference(uniform({1, 1}, 9, -1, 1, dt).mT(), row1, "[1,1]ᵀ");
    // stride-0 operands (a row expanded to a matrix)
    const Tensor row = uniform({1, 20}, 3, -1, 1, dt).expand({9, 20});
    expect_matches_reference(row, b, "expanded rows");
    const Tensor col = uniform({20, 1}, 4, -1, 1, dt).expand({20, 30});
    expect_matches_reference(b.t(), col, "expanded columns");
    // batched transposed views
    const Tensor x = uniform({3, 6, 4}, 5, -1, 1, dt);
    expect_matches_reference(x.transpose(1, 2), x, "batched xᵀx");
    expect_matches_reference(x.permute({1, 0, 2}), uniform({4, 5}, 6, -1, 1, dt), "permuted batch");
  }
}

TEST(Matmul, FoldedBatchOfRows) {
  // [B,T,d] @ [d,n] is one GEMM of [B·T, d] @ [d, n] when the batch can be viewed flat.
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = uniform({4, 7, 16}, 1, -1, 1, dt);
    const Tensor w = uniform({16, 9}, 2, -1, 1, dt), wt = uniform({9, 16}, 3, -1, 1, dt);
    expect_matches_reference(x, w, "folded");
    expect_matches_reference(x, wt.mT(), "folded, Wᵀ");
    expect_matches_reference(x.reshape({2, 2, 7, 16}), w, "folded, 4-D");
    expect_matches_reference(x, uniform({16}, 6, -1, 1, dt), "folded, a vector");
    // A batch that cannot be flattened into rows takes the general path.
    const Tensor xp = uniform({7, 4, 16}, 4, -1, 1, dt).transpose(0, 1);
    expect_matches_reference(xp, w, "unfoldable");
    expect_matches_reference(uniform({4, 16, 7}, 5, -1, 1, dt).mT(), w, "transposed, not folded");
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
  EXPECT_EQ(matmul(Tensor::ones({2, 3, 0}), Tensor::ones({0, 5})).to_vector<float>(),
            std::vector<float>(30, 0.f));
  // an empty dot is 0, as torch gives
  const Tensor dot = matmul(Tensor::ones({0}), Tensor::ones({0}));
  EXPECT_EQ(dot.shape(), Shape{});
  EXPECT_EQ(dot.item(), 0.0);
  EXPECT_EQ(matmul(Tensor::ones({2, 0, 4}), Tensor::ones({4})).shape(), (Shape{2, 0}));
}

TEST(Matmul, Errors) {
  EXPECT_EQ(testing::message_of([] {
              matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5}));
            }),
            "matmul: [2,3] @ [4,5]: inner sizes 3 and 4 differ");
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        matmul(Tensor::zeros({2, 3}), Tensor::zeros({2, 3}));
      },
      {"matmul: [2,3] @ [2,3]: inner sizes 3 and 2 differ"}));
  // a transposed view is named by its shape, as torch names it
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        matmul(Tensor::zeros({3, 2}).mT(), Tensor::zeros({3, 2}).mT());
      },
      {"matmul: [2,3] @ [2,3]: inner sizes 3 and 2 differ"}));
  // 1-D operands
  EXPECT_EQ(testing::message_of([] { matmul(Tensor::zeros({3}), Tensor::zeros({4})); }),
            "matmul: [3] @ [4]: inner sizes 3 and 4 differ");
  EXPECT_EQ(testing::message_of([] {
              matmul(Tensor::zeros({2, 3}), Tensor::zeros({4}));
            }),
            "matmul: [2,3] @ [4]: inner sizes 3 and 4 differ");
  EXPECT_EQ(testing::message_of([] {
              matmul(Tensor::zeros({4}), Tensor::zeros({3, 2}));
            }),
            "matmul: [4] @ [3,2]: inner sizes 4 and 3 differ");
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        matmul(Tensor::scalar(2), Tensor::zeros({3, 2}));
      },
      {"matmul", "[] @ [3,2]", "at least 1 dimension"}));
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([] { matmul(Tensor::zeros({3}), Tensor::scalar(2)); },
                                         {"matmul", "[3] @ []", "at least 1 dimension"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        matmul(Tensor::zeros({2, 4, 5}), Tensor::zeros({3, 5, 6}));
      },
      {"matmul", "[2,4,5] @ [3,5,6]", "batch shapes [2] and [3] cannot broadcast"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        matmul(Tensor::zeros({2, 3}), Tensor::zeros({3, 2}, DType::Float64));
      },
      {"matmul", "[2,3] @ [3,2]", "float32", "float64"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        matmul(Tensor::zeros({2, 3}, DType::Int64), Tensor::zeros({3, 2}, DType::Int64));
      },
      {"matmul", "int64"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        matmul(Tensor(), Tensor::zeros({3, 2}));
      },
      {"matmul", "undefined"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        matmul_reference(Tensor::zeros({2, 3}), Tensor::zeros({4, 5}));
      },
      {"matmul_reference: [2,3] @ [4,5]: inner sizes 3 and 4 differ"}));
}

}  // namespace
}  // namespace minigrad
