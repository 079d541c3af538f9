// Losses (nn/loss.cpp): cross_entropy, nll_loss and mse_loss against the formulas,
// ignore_index, reductions, a class axis that is last, errors and gradcheck.
// PyTorch parity is in test_parity_nn.cpp.
#include "minigrad/nn/loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd_testing.h"

namespace minigrad {
namespace {

using namespace testing;

// -log softmax(x_row)[t], computed the long way.
double ce_row(const Tensor& x, int64_t row, int64_t target) {
  const int64_t classes = x.size(1);
  double m = -INFINITY;
  for (int64_t c = 0; c < classes; ++c) m = std::max(m, x.at({row, c}));
  double s = 0;
  for (int64_t c = 0; c < classes; ++c) s += std::exp(x.at({row, c}) - m);
  return m + std::log(s) - x.at({row, target});
}

TEST(CrossEntropy, ValuesForEachReduction) {
  const Tensor x = input({4, 3}, 1, -2, 2);
  const Tensor t = i64({2, 0, 1, 2}, {4});
  std::vector<double> rows;
  double total = 0;
  for (int64_t r = 0; r < 4; ++r)
    rows.push_back(ce_row(x, r, t.data<int64_t>()[r])), total += rows.back();
  const Variable none = nn::cross_entropy(Variable(x), t, -100, nn::Reduction::None);
  ASSERT_EQ(none.shape(), (Shape{4}));
  for (int64_t r = 0; r < 4; ++r)
    EXPECT_NEAR(none.data().at({r}), rows[static_cast<size_t>(r)], 1e-14);
  EXPECT_NEAR(nn::cross_entropy(Variable(x), t, -100, nn::Reduction::Sum).item(), total, 1e-14);
  const Variable mean_loss = nn::cross_entropy(Variable(x), t);
  EXPECT_EQ(mean_loss.shape(), (Shape{}));
  EXPECT_NEAR(mean_loss.item(), total / 4, 1e-14);
}

// ∂loss/∂x = (softmax(x) - onehot(t)) / N for the mean.
TEST(CrossEntropy, GradientIsSoftmaxMinusOneHot) {
  const Tensor x = input({3, 4}, 2, -2, 2);
  const Tensor t = i64({3, 0, 1}, {3});
  Variable v(x, true);
  nn::cross_entropy(v, t).backward();
  const Tensor want = div(sub(softmax(x, 1), one_hot(t, 4, DType::Float64)), 3.0);
  EXPECT_LT(max_abs_diff(v.grad(), want), 1e-15);
}

TEST(CrossEntropy, IgnoreIndexRowsCountForNothing) {
  const Tensor x = input({5, 3}, 3, -2, 2);
  const Tensor t = i64({2, 7, 1, 7, 0}, {5});  // rows 1 and 3 ignored (7 is outside [0, 3) too)
  const double kept = ce_row(x, 0, 2) + ce_row(x, 2, 1) + ce_row(x, 4, 0);
  Variable v(x, true);
  const Variable loss = nn::cross_entropy(v, t, /*ignore_index=*/7);
  EXPECT_NEAR(loss.item(), kept / 3, 1e-14);  // the mean over the 3 rows that count
  loss.backward();
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_EQ(v.grad().at({1, c}), 0.0);
    EXPECT_EQ(v.grad().at({3, c}), 0.0);
    EXPECT_NE(v.grad().at({0, c}), 0.0);
  }
  EXPECT_NEAR(nn::cross_entropy(Variable(x), t, 7, nn::Reduction::Sum).item(), kept, 1e-14);
  const Tensor none = nn::cross_entropy(Variable(x), t, 7, nn::Reduction::None).data();
  EXPECT_EQ(none.at({1}), 0.0);
  EXPECT_EQ(none.at({3}), 0.0);
  // The default ignore_index is -100, as in PyTorch.
  EXPECT_NEAR(nn::cross_entropy(Variable(x), i64({2, -100, 1, -100, 0}, {5})).item(), kept / 3,
              1e-14);
}

// Every row ignored: the mean is 0/0 = NaN (as in PyTorch), the sum 0; gradients are zero.
TEST(CrossEntropy, AllIgnoredMeanIsNaN) {
  const Tensor x = input({2, 3}, 4);
  const Tensor t = i64({-100, -100}, {2});
  Variable v(x, true);
  const Variable loss = nn::cross_entropy(v, t);
  EXPECT_TRUE(std::isnan(loss.item()));
  loss.backward();
  EXPECT_EQ(max_abs_diff(v.grad(), Tensor::zeros({2, 3}, DType::Float64)), 0.0);
  EXPECT_EQ(nn::cross_entropy(Variable(x), t, -100, nn::Reduction::Sum).item(), 0.0);
  EXPECT_TRUE(std::isnan(nn::nll_loss(Variable(x), t).item()));
}

TEST(CrossEntropy, ClassAxisIsLastFor3DLogits) {
  // [B, T, C] logits with [B, T] targets: the same as the flattened [B·T, C] problem.
  const Tensor x = input({2, 3, 4}, 5, -2, 2);
  const Tensor t = i64({0, 3, 2, 1, -100, 3}, {2, 3});
  Variable v3(x, true), v2(x.reshape({6, 4}), true);
  const Variable l3 = nn::cross_entropy(v3, t), l2 = nn::cross_entropy(v2, t.reshape({6}));
  EXPECT_NEAR(l3.item(), l2.item(), 1e-15);
  l3.backward();
  l2.backward();
  EXPECT_EQ(v3.grad().shape(), (Shape{2, 3, 4}));
  EXPECT_LT(max_abs_diff(v3.grad().reshape({6, 4}), v2.grad()), 1e-16);
  EXPECT_EQ(nn::cross_entropy(Variable(x), t, -100, nn::Reduction::None).shape(), (Shape{2, 3}));
  // one sample: logits [C], target rank 0
  const Tensor one = input({4}, 6);
  EXPECT_NEAR(nn::cross_entropy(Variable(one), Tensor::from_vector<int64_t>({2}, {})).item(),
              ce_row(one.reshape({1, 4}), 0, 2), 1e-14);
}

TEST(CrossEntropy, LargeLogitsStayFinite) {
  const Tensor x = f64({1000, 0, -1000, 500, 501, 502}, {2, 3});
  Variable v(x, true);
  const Variable loss = nn::cross_entropy(v, i64({1, 0}, {2}), -100, nn::Reduction::None);
  EXPECT_NEAR(loss.data().at({0}), 1000.0, 1e-9);
  EXPECT_NEAR(loss.data().at({1}), ce_row(f64({0, 1, 2}, {1, 3}), 0, 0), 1e-12);
  sum(loss).backward();
  EXPECT_TRUE(all_finite(v.grad()));
}

TEST(CrossEntropy, BadTargetsThrow) {
  const Variable x(Tensor::zeros({3, 4}));
  EXPECT_TRUE(throws_with<std::out_of_range>(
      [&] {
        nn::cross_entropy(x, i64({0, 4, 1}, {3}));
      },
      {"cross_entropy", "target 4", "row 1", "[0, 4)"}));
  EXPECT_TRUE(throws_with<std::out_of_range>(
      [&] {
        nn::cross_entropy(x, i64({0, 1, -1}, {3}));
      },
      {"target -1", "row 2"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        nn::cross_entropy(x, i64({0, 1}, {2}));
      },
      {"cross_entropy", "[3,4]", "[3]", "[2]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { nn::cross_entropy(x, Tensor::zeros({3})); },
                                                 {"cross_entropy", "int64", "float32"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        nn::cross_entropy(Variable(Tensor::scalar(1.0)), Tensor::from_vector<int64_t>({0}, {}));
      },
      {"class axis"}));
}

TEST(CrossEntropy, Gradcheck) {
  const Tensor t = i64({2, 0, 1, 2}, {4});
  for (nn::Reduction r : {nn::Reduction::Mean, nn::Reduction::Sum, nn::Reduction::None}) {
    EXPECT_TRUE(grad_ok([&](const Vars& v) { return nn::cross_entropy(v[0], t, -100, r); },
                        {input({4, 3}, 7)}));
    EXPECT_TRUE(grad_ok([&](const Vars& v) { return nn::cross_entropy(v[0], t, 0, r); },
                        {input({4, 3}, 8)}))
        << "with ignore_index";
  }
  EXPECT_TRUE(grad_ok(
      [](const Vars& v) {
        return nn::cross_entropy(v[0], i64({1, 0, 2, 1, 1, 0}, {2, 3}));
      },
      {input({2, 3, 3}, 9)}));
  // as the last op of a chain: the incoming gradient is not 1
  EXPECT_TRUE(grad_ok([&](const Vars& v) { return nn::cross_entropy(v[0], t) * 3.0; },
                      {input({4, 3}, 10)}));
}

// ---- nll_loss -------------------------------------------------------------------------------

TEST(NllLoss, PicksMinusTheTargetLogProbability) {
  const Tensor lp = log_softmax(input({3, 4}, 11, -2, 2), 1);
  const Tensor t = i64({1, 3, 3}, {3});
  const double want = -(lp.at({0, 1}) + lp.at({1, 3}) + lp.at({2, 3})) / 3;
  Variable v(lp, true);
  const Variable loss = nn::nll_loss(v, t);
  EXPECT_NEAR(loss.item(), want, 1e-15);
  loss.backward();
  EXPECT_EQ(v.grad().at({0, 1}), -1.0 / 3);
  EXPECT_EQ(v.grad().at({0, 0}), 0.0);
  // nll_loss(log_softmax(x)) is cross_entropy(x).
  const Tensor x = input({3, 4}, 12);
  EXPECT_NEAR(nn::nll_loss(log_softmax(Variable(x), 1), t).item(),
              nn::cross_entropy(Variable(x), t).item(), 1e-15);
  // ignore_index, sum
  EXPECT_NEAR(nn::nll_loss(Variable(lp), t, 3, nn::Reduction::Sum).item(), -lp.at({0, 1}), 1e-15);
  EXPECT_TRUE(throws_with<std::out_of_range>(
      [&] {
        nn::nll_loss(Variable(lp), i64({1, 9, 0}, {3}));
      },
      {"nll_loss", "target 9"}));
}

TEST(NllLoss, Gradcheck) {
  const Tensor t = i64({1, 3, 3}, {3});
  for (nn::Reduction r : {nn::Reduction::Mean, nn::Reduction::Sum, nn::Reduction::None}) {
    EXPECT_TRUE(
        grad_ok([&](const Vars& v) { return nn::nll_loss(v[0], t, 1, r); }, {input({3, 4}, 13)}));
  }
  EXPECT_TRUE(grad_ok([&](const Vars& v) { return nn::nll_loss(log_softmax(v[0], 1), t); },
                      {input({3, 4}, 14)}));
}

// ---- mse_loss -------------------------------------------------------------------------------

TEST(MseLoss, ValuesAndGradients) {
  const Tensor a = f64({1, 2, 3, 4}, {2, 2}), b = f64({0, 2, 5, 1}, {2, 2});
  Variable va(a, true), vb(b, true);
  const Variable loss = nn::mse_loss(va, vb);
  EXPECT_DOUBLE_EQ(loss.item(), (1.0 + 0 + 4 + 9) / 4);
  loss.backward();
  // ∂/∂a = 2(a - b)/N, ∂/∂b = -2(a - b)/N
  EXPECT_EQ(max_abs_diff(va.grad(), f64({0.5, 0, -1, 1.5}, {2, 2})), 0.0);
  EXPECT_EQ(max_abs_diff(vb.grad(), f64({-0.5, 0, 1, -1.5}, {2, 2})), 0.0);
  EXPECT_DOUBLE_EQ(nn::mse_loss(Variable(a), Variable(b), nn::Reduction::Sum).item(), 14.0);
  EXPECT_EQ(max_abs_diff(nn::mse_loss(Variable(a), Variable(b), nn::Reduction::None).data(),
                         f64({1, 0, 4, 9}, {2, 2})),
            0.0);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::mse_loss(Variable(a), Variable(Tensor::zeros({4}, DType::Float64))); },
      {"mse_loss", "[2,2]", "[4]"}));
  for (nn::Reduction r : {nn::Reduction::Mean, nn::Reduction::Sum, nn::Reduction::None}) {
    EXPECT_TRUE(grad_ok([r](const Vars& v) { return nn::mse_loss(v[0], v[1], r); },
                        {input({2, 3}, 15), input({2, 3}, 16)}));
  }
}

}  // namespace
}  // namespace minigrad
