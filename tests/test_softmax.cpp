// softmax / log_softmax: agreement with the formula, any axis, extreme logits,
// and the fully masked row (-inf everywhere) that attention produces.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "minigrad/tensor/ops.h"
#include "testing.h"

namespace minigrad {
namespace {

using testing::f32;
using testing::f64;
using testing::for_each_index;
using testing::throws_with;
using testing::uniform;

constexpr double kInf = std::numeric_limits<double>::infinity();

// softmax along `axis` straight from the definition, in double.
Tensor naive_softmax(const Tensor& x, int axis) {
  Tensor out = Tensor::zeros(x.shape(), DType::Float64);
  double* po = out.data<double>();
  const Shape st = contiguous_strides(x.shape());
  for_each_index(x.shape(), [&](const Shape& idx) {
    Shape j = idx;
    double denom = 0;
    for (int64_t k = 0; k < x.shape()[axis]; ++k) {
      j[axis] = k;
      denom += std::exp(x.at(j));
    }
    int64_t o = 0;
    for (int d = 0; d < x.dim(); ++d) o += idx[d] * st[d];
    po[o] = std::exp(x.at(idx)) / denom;
  });
  return out;
}

TEST(Softmax, MatchesTheFormulaOnEveryAxis) {
  const Tensor x = uniform({3, 4, 5}, 7, -3, 3);
  for (int64_t axis : {0, 1, 2, -1, -3}) {
    const int a = normalize_axis(axis, 3, "test");
    const Tensor want = naive_softmax(x, a);
    const Tensor s = softmax(x, axis);
    EXPECT_EQ(s.shape(), x.shape());
    EXPECT_TRUE(s.is_contiguous());
    EXPECT_LT(max_abs_diff(s, want), 1e-15) << "axis " << axis;
    EXPECT_LT(max_abs_diff(log_softmax(x, axis), log(want)), 1e-14) << "axis " << axis;
    // float32 too
    const Tensor s32 = softmax(x.to(DType::Float32), axis);
    EXPECT_EQ(s32.dtype(), DType::Float32);
    EXPECT_LT(max_abs_diff(s32, want), 1e-6) << "axis " << axis;
    EXPECT_LT(max_abs_diff(log_softmax(x.to(DType::Float32), axis), log(want)), 1e-5);
  }
}

TEST(Softmax, RowsSumToOne) {
  const Tensor x = uniform({6, 33}, 2, -10, 10, DType::Float32);
  for (int64_t axis : {0, 1}) {
    const Tensor s = softmax(x, axis);
    EXPECT_LT(max_abs_diff(sum(s, {axis}), Tensor::ones({axis == 0 ? 33 : 6})), 1e-6);
    for (double v : s.to_vector<double>()) {
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
  }
}

TEST(Softmax, StridedInput) {
  const Tensor x = uniform({5, 4}, 3);
  EXPECT_LT(max_abs_diff(softmax(x.t(), 1), naive_softmax(x.t().contiguous(), 1)), 1e-15);
  EXPECT_LT(max_abs_diff(softmax(x.slice(0, 0, 5, 2), 0), naive_softmax(x.slice(0, 0, 5, 2).contiguous(), 0)),
            1e-15);
}

TEST(Softmax, HugeLogitsStayFinite) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = Tensor::from_list({1e4, 0, -1e4, -1e4, 1e4, 1e4}, {2, 3}, dt);
    const Tensor s = softmax(x, -1);
    EXPECT_TRUE(all_finite(s)) << dtype_name(dt);
    EXPECT_EQ(s.to_vector<double>(), (std::vector<double>{1, 0, 0, 0, 0.5, 0.5})) << dtype_name(dt);
    const Tensor l = log_softmax(x, -1);
    EXPECT_TRUE(all_finite(l)) << dtype_name(dt);
    EXPECT_EQ(l.at({0, 0}), 0.0);
    EXPECT_EQ(l.at({0, 1}), -1e4);
    EXPECT_EQ(l.at({0, 2}), -2e4);
    EXPECT_NEAR(l.at({1, 1}), -std::log(2.0), 1e-6);
  }
}

TEST(Softmax, ShiftInvariant) {
  const Tensor x = uniform({4, 7}, 5, -2, 2);
  EXPECT_LT(max_abs_diff(softmax(add(x, 1000.0), 1), softmax(x, 1)), 1e-13);
  EXPECT_LT(max_abs_diff(log_softmax(sub(x, 1000.0), 1), log_softmax(x, 1)), 1e-10);
}

TEST(Softmax, FullyMaskedRow) {
  // Row 0 is fully masked: softmax gives zeros (the query attends to nothing) and
  // log_softmax -inf (log 0). Row 1 is partly masked; row 2 is unmasked.
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = Tensor::from_list({-kInf, -kInf, -kInf, 0, -kInf, 0, 1, 2, 3}, {3, 3}, dt);
    const Tensor s = softmax(x, 1);
    EXPECT_EQ(s.select(0, 0).to_vector<double>(), (std::vector<double>{0, 0, 0}));
    EXPECT_EQ(s.select(0, 1).to_vector<double>(), (std::vector<double>{0.5, 0, 0.5}));
    EXPECT_LT(max_abs_diff(s.select(0, 2), naive_softmax(f64({1, 2, 3}, {3}), 0).to(dt)), 1e-7);
    const Tensor l = log_softmax(x, 1);
    EXPECT_EQ(l.select(0, 0).to_vector<double>(), (std::vector<double>{-kInf, -kInf, -kInf}));
    EXPECT_EQ(l.at({1, 1}), -kInf);
    EXPECT_NEAR(l.at({1, 0}), -std::log(2.0), 1e-6);
    // the same along axis 0
    const Tensor st = softmax(x.t(), 0);
    EXPECT_EQ(st.select(1, 0).to_vector<double>(), (std::vector<double>{0, 0, 0}));
    EXPECT_EQ(log_softmax(x.t(), 0).select(1, 0).to_vector<double>(), (std::vector<double>{-kInf, -kInf, -kInf}));
  }
}

TEST(Softmax, NaNPropagates) {
  // a NaN next to -inf must not pass for a fully masked row
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = Tensor::from_list({std::nan(""), -kInf, 1, std::nan("")}, {2, 2}, dt);
    for (const Tensor& y : {softmax(x, 1), log_softmax(x, 1)}) {
      for (double v : y.to_vector<double>()) EXPECT_TRUE(std::isnan(v)) << dtype_name(dt);
    }
  }
}

TEST(Softmax, EdgeShapes) {
  EXPECT_EQ(softmax(f32({5}, {1}), 0).item(), 1.0);
  EXPECT_EQ(log_softmax(f32({5}, {1}), 0).item(), 0.0);
  EXPECT_EQ(softmax(Tensor::zeros({0, 3}), 1).shape(), (Shape{0, 3}));
  EXPECT_EQ(softmax(Tensor::zeros({3, 0}), 1).shape(), (Shape{3, 0}));
}

TEST(Softmax, Errors) {
  EXPECT_TRUE(throws_with<std::out_of_range>([] { softmax(Tensor::zeros({2, 3}), 2); },
                                             {"softmax", "axis 2", "rank 2"}));
  // a 0-d tensor takes axis 0 or -1 (PyTorch), and no other
  EXPECT_EQ(log_softmax(Tensor::scalar(1), 0).item(), 0.0);
  EXPECT_TRUE(throws_with<std::out_of_range>([] { log_softmax(Tensor::scalar(1), 1); },
                                             {"log_softmax", "axis 1", "0-d"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { softmax(Tensor::zeros({2}, DType::Int64), 0); },
                                                 {"softmax", "int64"}));
}

// softmax_backward against its definition gx_i = Σ_j gy_j ∂y_j/∂x_i = y_i(gy_i − Σ_j gy_j y_j),
// summed element by element in double: the one-pass kernel (last axis, contiguous) and
// the composed fallback (another axis, a transposed view).
TEST(SoftmaxBackward, MatchesTheJacobianOnEveryAxis) {
  for (const DType dt : {DType::Float64, DType::Float32}) {
    const Tensor x = uniform({3, 4, 5}, 21, -3, 3, dt), gy = uniform({3, 4, 5}, 22, -1, 1, dt);
    for (const int axis : {2, 1, 0}) {
      const Tensor y = softmax(x, axis);
      const Tensor gx = softmax_backward(y, gy, axis);
      ASSERT_EQ(gx.shape(), y.shape());
      for_each_index(y.shape(), [&](const Shape& idx) {
        double dot = 0;
        Shape j = idx;
        for (int64_t k = 0; k < y.shape()[axis]; ++k) {
          j[axis] = k;
          dot += gy.at(j) * y.at(j);
        }
        const double want = y.at(idx) * (gy.at(idx) - dot);
        EXPECT_NEAR(gx.at(idx), want, dt == DType::Float64 ? 1e-15 : 1e-6) << "axis " << axis << " at " << idx;
      });
    }
    // a transposed (non-contiguous) pair takes the composed path, with the same result
    const Tensor yt = softmax(x, 2).transpose(0, 2), gyt = gy.transpose(0, 2);
    const Tensor a = softmax_backward(yt, gyt, 0), b = softmax_backward(yt.contiguous(), gyt.contiguous(), 0);
    EXPECT_LT(max_abs_diff(a, b), dt == DType::Float64 ? 1e-15 : 1e-6);
  }
}

TEST(SoftmaxBackward, FullyMaskedRowGetsZeroAndShapesMustMatch) {
  const Tensor y = softmax(f64({-kInf, -kInf, -kInf, 1, 2, 3}, {2, 3}), -1);
  const Tensor gx = softmax_backward(y, f64({1, 2, 3, 4, 5, 6}, {2, 3}), -1);
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(gx.at({0, j}), 0.0);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { softmax_backward(Tensor::zeros({2, 3}), Tensor::zeros({3, 2}), -1); },
      {"softmax_backward", "[2,3]", "[3,2]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { softmax_backward(Tensor::zeros({2, 3}), Tensor::zeros({2, 3}, DType::Float64), -1); },
      {"softmax_backward", "float32", "float64"}));
}

}  // namespace
}  // namespace minigrad
