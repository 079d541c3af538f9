// Reductions against naive loops: sum/mean over any axes (keepdim or not, on
// contiguous and permuted inputs), amax/argmax with ties and NaN, sum_to.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "minigrad/tensor/ops.h"
#include "testing.h"

namespace minigrad {
namespace {

using testing::f64;
using testing::for_each_index;
using testing::i64;
using testing::throws_with;
using testing::uniform;

// Naive Σ over `axes` (all when empty), accumulated in double.
Tensor naive_sum(const Tensor& a, std::vector<int64_t> axes, bool keepdim) {
  std::vector<bool> r(static_cast<size_t>(a.dim()), axes.empty());
  for (int64_t ax : axes) r[static_cast<size_t>(normalize_axis(ax, a.dim(), "test"))] = true;
  Shape kept;
  for (int d = 0; d < a.dim(); ++d) kept.push_back(r[static_cast<size_t>(d)] ? 1 : a.shape()[d]);
  std::vector<double> acc(static_cast<size_t>(kept.numel()), 0.0);
  const Shape ks = contiguous_strides(kept);
  for_each_index(a.shape(), [&](const Shape& idx) {
    int64_t o = 0;
    for (int d = 0; d < a.dim(); ++d) o += (r[static_cast<size_t>(d)] ? 0 : idx[d]) * ks[d];
    acc[static_cast<size_t>(o)] += a.at(idx);
  });
  Shape out;
  for (int d = 0; d < a.dim(); ++d)
    if (!r[static_cast<size_t>(d)] || keepdim) out.push_back(kept[d]);
  return Tensor::from_vector(acc, out);
}

const std::vector<std::vector<int64_t>> kAxisSets{{},     {0},     {1},     {2},      {0, 1},
                                                   {0, 2}, {1, 2},  {0, 1, 2}, {-1},  {-3, -1},
                                                   {2, 0}, {-2, 0}};

TEST(Reduce, SumOverAnyAxesMatchesNaive) {
  // integers: every sum is exact in float32 too, so the comparison is exact
  const Tensor x = Tensor::arange(0, 24).reshape({2, 3, 4});
  const Tensor xp = Tensor::arange(0, 24).reshape({4, 2, 3}).permute({1, 2, 0});  // [2,3,4], strided
  const Tensor xe = Tensor::arange(0, 4).expand({2, 3, 4});                        // stride-0 axes
  for (const Tensor& in : {x, xp, xe}) {
    for (const auto& axes : kAxisSets) {
      for (bool keepdim : {false, true}) {
        const Tensor s = sum(in, axes, keepdim);
        const Tensor want = naive_sum(in, axes, keepdim);
        ASSERT_EQ(s.shape(), want.shape()) << "axes " << Shape(axes) << " keepdim " << keepdim;
        EXPECT_EQ(s.to_vector<double>(), want.to_vector<double>()) << "axes " << Shape(axes);
        EXPECT_EQ(s.dtype(), DType::Float32);
      }
    }
  }
}

TEST(Reduce, SumOfRandomFloat64) {
  const Tensor x = uniform({5, 7, 6}, 3).transpose(0, 2);
  for (const auto& axes : kAxisSets) {
    EXPECT_LT(max_abs_diff(sum(x, axes, true), naive_sum(x, axes, true)), 1e-13) << Shape(axes);
  }
}

// A contiguous run is summed in 16 lanes, not one add after another: 2^20 float32 copies
// of 0.1 summed left to right come to 105,891.8, 0.99 % above 2^20 · 0.1f (each add
// rounds at the running total's scale); in 16 lanes of 65,536 each, 0.062 % above.
TEST(Reduce, LongFloatSumIsNotOneRunningTotal) {
  const int64_t n = int64_t{1} << 20;
  const Tensor x = Tensor::full({n}, 0.1, DType::Float32);
  const double exact = double(n) * double(0.1f);
  EXPECT_NEAR(sum(x).item(), exact, 1e-3 * exact);
  // and a row at a time, over the last axis
  const Tensor rows = sum(x.reshape({16, n / 16}), {1});
  for (double r : rows.to_vector<double>()) EXPECT_NEAR(r, exact / 16, 1e-3 * exact / 16);
}

TEST(Reduce, MeanOverAnyAxes) {
  const Tensor x = Tensor::arange(0, 24, 1, DType::Float64).reshape({2, 3, 4});
  for (const auto& axes : kAxisSets) {
    for (bool keepdim : {false, true}) {
      int64_t count = 1;
      std::vector<bool> r(3, axes.empty());
      for (int64_t ax : axes) r[static_cast<size_t>(normalize_axis(ax, 3, "test"))] = true;
      for (int d = 0; d < 3; ++d)
        if (r[static_cast<size_t>(d)]) count *= x.shape()[d];
      const Tensor want = div(naive_sum(x, axes, keepdim), static_cast<double>(count));
      EXPECT_LT(max_abs_diff(mean(x, axes, keepdim), want), 1e-14) << Shape(axes);
    }
  }
  EXPECT_DOUBLE_EQ(mean(x).item(), 11.5);
}

TEST(Reduce, ScalarsAndEmptyTensors) {
  EXPECT_EQ(sum(Tensor::scalar(3)).item(), 3.0);
  EXPECT_EQ(sum(Tensor::scalar(3)).dim(), 0);
  const Tensor e = Tensor::zeros({0, 3});
  EXPECT_EQ(sum(e, {0}).to_vector<float>(), std::vector<float>(3, 0.f));  // Σ of nothing is 0
  EXPECT_EQ(sum(e).item(), 0.0);
  // the mean of nothing is NaN (0/0), as in PyTorch; reducing the non-empty axis of an
  // empty tensor gives an empty result
  const Tensor m0 = mean(e, {0});
  EXPECT_EQ(m0.shape(), (Shape{3}));
  for (double v : m0.to_vector<double>()) EXPECT_TRUE(std::isnan(v));
  EXPECT_TRUE(std::isnan(mean(e).item()));
  EXPECT_EQ(mean(e, {1}).shape(), (Shape{0}));
  EXPECT_EQ(sum(e, {1}).shape(), (Shape{0}));
  EXPECT_EQ(amax(e, 1).shape(), (Shape{0}));
  EXPECT_EQ(argmax(e, -1).shape(), (Shape{0}));
}

// PyTorch treats a 0-d tensor as having one axis for the reductions: axis 0 or -1
// reduces nothing, any other axis is out of range.
TEST(Reduce, ZeroDimTensorTakesAxisZeroOrMinusOne) {
  const Tensor z = Tensor::scalar(2.5, DType::Float64);
  for (int64_t ax : {0, -1}) {
    EXPECT_EQ(sum(z, {ax}).dim(), 0);
    EXPECT_EQ(sum(z, {ax}).item(), 2.5);
    EXPECT_EQ(mean(z, {ax}, true).dim(), 0);
    EXPECT_EQ(mean(z, {ax}).item(), 2.5);
    EXPECT_EQ(amax(z, ax).item(), 2.5);
    EXPECT_EQ(amax(z, ax).dim(), 0);
    EXPECT_EQ(argmax(z, ax).item(), 0.0);
    EXPECT_EQ(argmax(z, ax).dtype(), DType::Int64);
  }
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { sum(z, {1}); }, {"sum", "axis 1"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { amax(z, -2); }, {"amax", "axis -2"}));
}

// int64 and bool tensors sum to int64 (exactly, past 2^53 too); mean refuses them, as
// PyTorch does (it cannot infer a floating output dtype).
TEST(Reduce, IntegerAndBoolSums) {
  const Tensor i = i64({1, -2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(sum(i).dtype(), DType::Int64);
  EXPECT_EQ(sum(i).to_vector<int64_t>(), (std::vector<int64_t>{17}));
  EXPECT_EQ(sum(i, {0}).to_vector<int64_t>(), (std::vector<int64_t>{5, 3, 9}));
  EXPECT_EQ(sum(i.t(), {-1}, true).shape(), (Shape{3, 1}));
  const int64_t big = (int64_t{1} << 53) + 1;
  EXPECT_EQ(sum(Tensor::from_vector<int64_t>({big, 2}, {2})).to_vector<int64_t>()[0], big + 2);
  const Tensor b = gt(i, 2.5);
  EXPECT_EQ(sum(b).dtype(), DType::Int64);
  EXPECT_EQ(sum(b, {1}).to_vector<int64_t>(), (std::vector<int64_t>{1, 3}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { mean(i); }, {"mean", "int64"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { mean(b); }, {"mean", "bool"}));
  // amax and argmax take int64, argmax refuses bool (as torch.argmax)
  EXPECT_EQ(amax(i, 1).to_vector<int64_t>(), (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(argmax(i, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { argmax(b, 0); }, {"argmax", "bool"}));
}

TEST(Reduce, Errors) {
  const Tensor x = Tensor::zeros({2, 3});
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { sum(x, {2}); }, {"sum", "axis 2", "rank 2"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { mean(x, {-3}); }, {"mean", "axis -3"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        sum(x, {1, -1});
      },
      {"sum", "listed twice", "[2,3]"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { amax(x, 5); }, {"amax", "axis 5"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { argmax(x, -3); }, {"argmax", "axis -3"}));
  // PyTorch's words: "amax(): Expected reduction dim 1 to have non-zero size."
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        amax(Tensor::zeros({2, 0}), 1);
      },
      {"amax(): Expected reduction dim 1 to have non-zero size", "[2,0]", "empty"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { amax(Tensor::zeros({0})); },
      {"amax(): Expected reduction dim to be specified for input.numel() == 0", "empty"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        argmax(Tensor::zeros({0, 2}), 0);
      },
      {"argmax(): Expected reduction dim 0 to have non-zero size", "empty"}));
}

// ---- amax / argmax ----------------------------------------------------------------------------

TEST(Reduce, AmaxArgmaxAlongEachAxis) {
  const Tensor x = uniform({3, 4, 5}, 9);
  for (int ax = -3; ax < 3; ++ax) {
    const int a = normalize_axis(ax, 3, "test");
    for (bool keepdim : {false, true}) {
      const Tensor m = amax(x, ax, keepdim), i = argmax(x, ax, keepdim);
      Shape want = x.shape();
      if (keepdim) {
        want[a] = 1;
      } else {
        want.erase(a);
      }
      ASSERT_EQ(m.shape(), want);
      ASSERT_EQ(i.shape(), want);
      EXPECT_EQ(i.dtype(), DType::Int64);
      const Tensor mk = keepdim ? m : m.unsqueeze(a), ik = keepdim ? i : i.unsqueeze(a);
      for_each_index(mk.shape(), [&](const Shape& idx) {
        Shape j = idx;
        double best = -std::numeric_limits<double>::infinity();
        int64_t arg = 0;
        for (int64_t k = 0; k < x.shape()[a]; ++k) {
          j[a] = k;
          if (x.at(j) > best) {
            best = x.at(j);
            arg = k;
          }
        }
        EXPECT_EQ(mk.at(idx), best);
        EXPECT_EQ(ik.at(idx), static_cast<double>(arg));
      });
    }
  }
  const std::vector<double> all = x.to_vector<double>();
  EXPECT_EQ(amax(x).item(), *std::max_element(all.begin(), all.end()));
  EXPECT_EQ(amax(x).dim(), 0);
  // a transposed view
  EXPECT_EQ(argmax(f64({1, 9, 8, 2}, {2, 2}).t(), 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
}

TEST(Reduce, ArgmaxTiesPickTheFirst) {
  const Tensor x = f64({3, 1, 3, 3, 2, 2, 2, 2}, {2, 4});
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(argmax(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0, 0}));
  EXPECT_EQ(amax(x, 1).to_vector<double>(), (std::vector<double>{3, 2}));
}

TEST(Reduce, NaNIsTheMaximum) {
  // numpy: amax propagates NaN and argmax points at the first NaN.
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  const Tensor x = f64({1, nan, 3, nan,   nan, 1, 2, 3,   1, 2, 3, nan,   -inf, -inf, -inf, -inf}, {4, 4});
  const Tensor m = amax(x, 1);
  EXPECT_TRUE(std::isnan(m.at({0})));
  EXPECT_TRUE(std::isnan(m.at({1})));
  EXPECT_TRUE(std::isnan(m.at({2})));
  EXPECT_EQ(m.at({3}), -inf);
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 3, 0}));
  EXPECT_TRUE(std::isnan(amax(x).item()));
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor y = f64({0, 5, nan, 7}, {4}).to(dt);
    EXPECT_EQ(argmax(y, 0).item(), 2.0) << dtype_name(dt);
    EXPECT_TRUE(std::isnan(amax(y, 0).item()));
  }
}

// Naive max (or min) over `axes` (all when empty), as a keepdim=false/true result.
Tensor naive_extremum(const Tensor& a, std::vector<int64_t> axes, bool keepdim, bool max) {
  std::vector<bool> r(static_cast<size_t>(a.dim()), axes.empty());
  for (int64_t ax : axes) r[static_cast<size_t>(normalize_axis(ax, a.dim(), "test"))] = true;
  Shape kept;
  for (int d = 0; d < a.dim(); ++d) kept.push_back(r[static_cast<size_t>(d)] ? 1 : a.shape()[d]);
  std::vector<double> acc(
      static_cast<size_t>(kept.numel()),
      max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity());
  const Shape ks = contiguous_strides(kept);
  for_each_index(a.shape(), [&](const Shape& idx) {
    int64_t o = 0;
    for (int d = 0; d < a.dim(); ++d) o += (r[static_cast<size_t>(d)] ? 0 : idx[d]) * ks[d];
    double& m = acc[static_cast<size_t>(o)];
    m = max ? std::max(m, a.at(idx)) : std::min(m, a.at(idx));
  });
  Shape out;
  for (int d = 0; d < a.dim(); ++d)
    if (!r[static_cast<size_t>(d)] || keepdim) out.push_back(kept[d]);
  return Tensor::from_vector(acc, out).to(a.dtype());
}

TEST(Reduce, AmaxAminOverAnyAxesMatchesNaive) {
  const Tensor x = uniform({2, 3, 4}, 40, -5, 5, DType::Float64);
  const Tensor xp = uniform({4, 2, 3}, 41, -5, 5).permute({1, 2, 0});  // [2,3,4], strided, float32
  for (const Tensor& in : {x, xp}) {
    for (const auto& axes : kAxisSets) {
      for (bool keepdim : {false, true}) {
        for (bool max : {true, false}) {
          const Tensor got = max ? amax(in, axes, keepdim) : amin(in, axes, keepdim);
          const Tensor want = naive_extremum(in, axes, keepdim, max);
          ASSERT_EQ(got.shape(), want.shape()) << "axes " << Shape(axes) << " keepdim " << keepdim;
          EXPECT_EQ(got.to_vector<double>(), want.to_vector<double>())
              << (max ? "amax" : "amin") << " axes " << Shape(axes) << " keepdim " << keepdim;
        }
      }
    }
  }
  // one axis and all axes: the same as the axis-list forms
  EXPECT_EQ(amin(x, -2, true).to_vector<double>(), amin(x, {1}, true).to_vector<double>());
  EXPECT_EQ(amin(x).item(), amin(x, {0, 1, 2}).item());
  EXPECT_EQ(amin(x).dim(), 0);
  EXPECT_EQ(amin(Tensor::scalar(3.0)).item(), 3.0);
}

TEST(Reduce, AminPropagatesNaNAndRefusesEmpty) {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  const Tensor x = f64({1, nan, -3, 0, inf, inf, 2, inf}, {2, 4});
  const Tensor m = amin(x, 1);
  EXPECT_TRUE(std::isnan(m.at({0})));
  EXPECT_EQ(m.at({1}), 2.0);
  EXPECT_TRUE(std::isnan(amin(x, {0, 1}).item()));
  EXPECT_EQ(amin(x, 0).to_vector<double>().back(), 0.0);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        amin(Tensor::zeros({2, 0, 3}), {0, 1});
      },
      {"amin", "[2,0,3]", "empty"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        amax(Tensor::zeros({2, 3}), {1, -1});
      },
      {"amax", "twice"}));
  // reducing only the non-empty axis of an empty tensor gives an empty result
  EXPECT_EQ(amax(Tensor::zeros({0, 3}), {1}).shape(), Shape{0});
}

// ---- sum_to -------------------------------------------------------------------------------------

TEST(Reduce, SumToUndoesBroadcasting) {
  const Tensor g = Tensor::arange(0, 24, 1, DType::Float64).reshape({2, 3, 4});
  // [2,3,4] → [3,1] sums axes 0 and 2
  const Tensor s = sum_to(g, {3, 1});
  EXPECT_EQ(s.shape(), (Shape{3, 1}));
  EXPECT_EQ(s.to_vector<double>(), naive_sum(g, {0, 2}, true).reshape({3, 1}).to_vector<double>());
  EXPECT_EQ(sum_to(g, {4}).to_vector<double>(), naive_sum(g, {0, 1}, false).to_vector<double>());
  EXPECT_EQ(sum_to(g, {1, 3, 1}).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(sum_to(g, {2, 1, 4}).to_vector<double>(), naive_sum(g, {1}, false).to_vector<double>());
  EXPECT_EQ(sum_to(g, {}).item(), 276.0);
  EXPECT_TRUE(testing::same_storage(sum_to(g, {2, 3, 4}), g));  // nothing to undo
  // a size-1 axis that was already 1 stays
  EXPECT_EQ(sum_to(Tensor::ones({2, 1, 3}), {1, 1, 3}).to_vector<float>(), std::vector<float>(3, 2.f));
  // the adjoint of expand: <expand(x), g> = <x, sum_to(g)>
  const Tensor x = uniform({3, 1}, 1), gr = uniform({2, 3, 4}, 2);
  EXPECT_NEAR(sum(mul(x.expand({2, 3, 4}), gr)).item(), sum(mul(x, sum_to(gr, {3, 1}))).item(), 1e-12);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { sum_to(g, {5}); }, {"sum_to", "[2,3,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { sum_to(g, {1, 2, 3, 4}); }, {"sum_to", "[1,2,3,4]"}));
}

}  // namespace
}  // namespace minigrad
