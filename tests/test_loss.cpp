// Losses (nn/loss.cpp) against their formulas: cross_entropy (class axis 1, weight,
// label smoothing, class probabilities, ignore_index), nll_loss, mse_loss, l1_loss,
// binary_cross_entropy (with logits), their options and loss objects, errors, and
// gradcheck in float64 for every option. PyTorch parity (every loss × option ×
// shape) is in test_parity_nn.cpp (ParityLossGrid).
#include "minigrad/nn/loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <utility>
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
  const Variable none =
      nn::cross_entropy(Variable(x), t, nn::CrossEntropyOptions().reduction(nn::kNone));
  ASSERT_EQ(none.shape(), (Shape{4}));
  for (int64_t r = 0; r < 4; ++r)
    EXPECT_NEAR(none.data().at({r}), rows[static_cast<size_t>(r)], 1e-14);
  EXPECT_NEAR(
      nn::cross_entropy(Variable(x), t, nn::CrossEntropyOptions().reduction(nn::kSum)).item(),
      total, 1e-14);
  const Variable mean_loss = nn::cross_entropy(Variable(x), t);
  EXPECT_EQ(mean_loss.shape(), (Shape{}));
  EXPECT_NEAR(mean_loss.item(), total / 4, 1e-14);
}

// ∂loss/∂x = (softmax(x) - onehot(t)) / N for the mean.
TEST(CrossEntropy, GradientIsSoftmaxMinusOneHot) {
  const Tensor x = input({3, 4}, 2, -2, 2);
  const Tensor t = i64({3, 0, 1}, {3});
  Variable v = Variable(x).requires_grad_();
  nn::cross_entropy(v, t).backward();
  const Tensor want = div(sub(softmax(x, 1), one_hot(t, 4, DType::Float64)), 3.0);
  EXPECT_LT(max_abs_diff(v.grad(), want), 1e-15);
}

TEST(CrossEntropy, IgnoreIndexRowsCountForNothing) {
  const Tensor x = input({5, 3}, 3, -2, 2);
  const Tensor t = i64({2, 7, 1, 7, 0}, {5});  // rows 1 and 3 ignored (7 is outside [0, 3) too)
  const double kept = ce_row(x, 0, 2) + ce_row(x, 2, 1) + ce_row(x, 4, 0);
  Variable v = Variable(x).requires_grad_();
  const Variable loss = nn::cross_entropy(v, t, nn::CrossEntropyOptions().ignore_index(7));
  EXPECT_NEAR(loss.item(), kept / 3, 1e-14);  // the mean over the 3 rows that count
  loss.backward();
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_EQ(v.grad().at({1, c}), 0.0);
    EXPECT_EQ(v.grad().at({3, c}), 0.0);
    EXPECT_NE(v.grad().at({0, c}), 0.0);
  }
  EXPECT_NEAR(nn::cross_entropy(Variable(x), t,
                                nn::CrossEntropyOptions().ignore_index(7).reduction(nn::kSum))
                  .item(),
              kept, 1e-14);
  const Tensor none =
      nn::cross_entropy(Variable(x), t,
                        nn::CrossEntropyOptions().ignore_index(7).reduction(nn::kNone))
          .data();
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
  Variable v = Variable(x).requires_grad_();
  const Variable loss = nn::cross_entropy(v, t);
  EXPECT_TRUE(std::isnan(loss.item()));
  loss.backward();
  EXPECT_EQ(max_abs_diff(v.grad(), Tensor::zeros({2, 3}, DType::Float64)), 0.0);
  EXPECT_EQ(nn::cross_entropy(Variable(x), t, nn::CrossEntropyOptions().reduction(nn::kSum)).item(),
            0.0);
  EXPECT_TRUE(std::isnan(nn::nll_loss(Variable(x), t).item()));
}

// [N, C, d] logits with [N, d] targets, class axis 1 as PyTorch: the same as the
// [N·d, C] problem of the logits permuted to [N, d, C]. With C == d the class axis
// taken last would give another loss (and once did, silently).
TEST(CrossEntropy, ClassAxisIsOneForSpatialLogits) {
  const Tensor x = input({2, 4, 4}, 5, -2, 2);  // N = 2, C = 4, d = 4
  const Tensor t = i64({0, 3, 2, 1, -100, 3, 0, 0}, {2, 4});
  Variable v3 = Variable(x).requires_grad_(),
           v2 = Variable(x.permute({0, 2, 1}).contiguous().reshape({8, 4})).requires_grad_();
  const Variable l3 = nn::cross_entropy(v3, t), l2 = nn::cross_entropy(v2, t.reshape({8}));
  EXPECT_NEAR(l3.item(), l2.item(), 1e-15);
  l3.backward();
  l2.backward();
  EXPECT_EQ(v3.grad().shape(), (Shape{2, 4, 4}));
  EXPECT_LT(max_abs_diff(v3.grad().permute({0, 2, 1}).contiguous().reshape({8, 4}), v2.grad()),
            1e-16);
  // Not the loss of the class axis taken last.
  const double last_axis = nn::cross_entropy(Variable(x.reshape({8, 4})), t.reshape({8})).item();
  EXPECT_GT(std::abs(l3.item() - last_axis), 1e-3);
  const Variable none =
      nn::cross_entropy(Variable(x), t, nn::CrossEntropyOptions().reduction(nn::kNone));
  EXPECT_EQ(none.shape(), (Shape{2, 4}));
  EXPECT_NEAR(none.data().at({1, 3}),
              ce_row(x.permute({0, 2, 1}).contiguous().reshape({8, 4}), 7, 0), 1e-14);
  // [N, C, d1, d2] with [N, d1, d2]
  const Tensor x4 = input({2, 3, 2, 2}, 17, -2, 2);
  const Tensor t4 = i64({0, 1, 2, 2, 1, 0, 0, 2}, {2, 2, 2});
  EXPECT_NEAR(nn::cross_entropy(Variable(x4), t4).item(),
              nn::cross_entropy(Variable(x4.permute({0, 2, 3, 1}).contiguous().reshape({8, 3})),
                                t4.reshape({8}))
                  .item(),
              1e-15);
  // one sample: logits [C], target rank 0; the result of none is 0-d
  const Tensor one = input({4}, 6);
  const Tensor t0 = Tensor::from_vector<int64_t>({2}, {});
  EXPECT_NEAR(nn::cross_entropy(Variable(one), t0).item(), ce_row(one.reshape({1, 4}), 0, 2),
              1e-14);
  EXPECT_EQ(
      nn::cross_entropy(Variable(one), t0, nn::CrossEntropyOptions().reduction(nn::kNone)).shape(),
      (Shape{}));
}

// weight: loss_i = w_t·(−log p_it); the mean divides by Σ w_t of the rows that count.
TEST(CrossEntropy, WeightedMeanDividesByTheCountedWeights) {
  const Tensor x = input({4, 3}, 18, -2, 2);
  const Tensor t = i64({2, 0, -100, 2}, {4});
  const Tensor w = f64({0.5, 2.0, 3.0}, {3});
  const double total = 3.0 * ce_row(x, 0, 2) + 0.5 * ce_row(x, 1, 0) + 3.0 * ce_row(x, 3, 2);
  const auto opts = nn::CrossEntropyOptions().weight(w);
  EXPECT_NEAR(nn::cross_entropy(Variable(x), t, opts).item(), total / (3.0 + 0.5 + 3.0), 1e-14);
  EXPECT_NEAR(
      nn::cross_entropy(Variable(x), t, nn::CrossEntropyOptions(opts).reduction(nn::kSum)).item(),
      total, 1e-14);
  const Tensor none =
      nn::cross_entropy(Variable(x), t, nn::CrossEntropyOptions(opts).reduction(nn::kNone)).data();
  EXPECT_NEAR(none.at({1}), 0.5 * ce_row(x, 1, 0), 1e-15);
  EXPECT_EQ(none.at({2}), 0.0);
  // nll_loss divides the same way.
  EXPECT_NEAR(nn::nll_loss(log_softmax(Variable(x), 1), t, nn::NLLLossOptions().weight(w)).item(),
              total / 6.5, 1e-14);
}

// label smoothing ε: loss = (1 − ε)·(−log p_t) + (ε/C)·Σ_c (−log p_c), i.e. the
// cross-entropy against the target (1 − ε)·onehot(t) + ε/C.
TEST(CrossEntropy, LabelSmoothingIsASmoothedTarget) {
  const Tensor x = input({3, 4}, 19, -2, 2);
  const Tensor t = i64({3, 0, 1}, {3});
  const double eps = 0.2;
  const Tensor smoothed = add(mul(one_hot(t, 4, DType::Float64), 1 - eps), eps / 4);
  Variable a = Variable(x).requires_grad_(), b = Variable(x).requires_grad_();
  const Variable by_index = nn::cross_entropy(a, t, nn::CrossEntropyOptions().label_smoothing(eps));
  const Variable by_probs = nn::cross_entropy(b, smoothed);
  EXPECT_NEAR(by_index.item(), by_probs.item(), 1e-15);
  double want = 0;
  const Tensor lp = log_softmax(x, 1);
  for (int64_t i = 0; i < 3; ++i) {
    double all = 0;
    for (int64_t c = 0; c < 4; ++c) all -= lp.at({i, c});
    want += (1 - eps) * -lp.at({i, t.data<int64_t>()[i]}) + eps / 4 * all;
  }
  EXPECT_NEAR(by_index.item(), want / 3, 1e-14);
  by_index.backward();
  by_probs.backward();
  EXPECT_LT(max_abs_diff(a.grad(), b.grad()), 1e-16);
  // Probability targets smooth too: (1 − ε)·y + ε/C.
  Variable c = Variable(x).requires_grad_();
  const Variable smoothed_probs = nn::cross_entropy(c, one_hot(t, 4, DType::Float64),
                                                    nn::CrossEntropyOptions().label_smoothing(eps));
  EXPECT_NEAR(smoothed_probs.item(), by_probs.item(), 1e-15);
}

// Probability targets: loss_i = −Σ_c y_ic·log p_ic, ∂/∂x = p·Σy − y; the mean divides by
// the number of positions, even with a weight.
TEST(CrossEntropy, ProbabilityTargets) {
  const Tensor x = input({2, 3, 2}, 20, -2, 2);  // [N, C, d]
  const Tensor y = softmax(input({2, 3, 2}, 21, -2, 2), 1);
  const Tensor w = f64({1.0, 2.0, 0.5}, {3});
  Variable v = Variable(x).requires_grad_();
  const Variable loss = nn::cross_entropy(v, y, nn::CrossEntropyOptions().weight(w));
  const Tensor lp = log_softmax(x, 1);
  double want = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t d = 0; d < 2; ++d) want -= w.at({c}) * y.at({n, c, d}) * lp.at({n, c, d});
  EXPECT_NEAR(loss.item(), want / 4, 1e-14);
  loss.backward();
  const Tensor wy = mul(y, w.reshape({1, 3, 1}));
  const Tensor want_grad = div(sub(mul(softmax(x, 1), sum(wy, {1}, true)), wy), 4.0);
  EXPECT_LT(max_abs_diff(v.grad(), want_grad), 1e-16);
  // no ignore_index with probabilities: it is simply not used
  EXPECT_NEAR(
      nn::cross_entropy(Variable(x), y, nn::CrossEntropyOptions().weight(w).ignore_index(0)).item(),
      want / 4, 1e-14);
}

TEST(CrossEntropy, LargeLogitsStayFinite) {
  const Tensor x = f64({1000, 0, -1000, 500, 501, 502}, {2, 3});
  Variable v = Variable(x).requires_grad_();
  const Variable loss =
      nn::cross_entropy(v, i64({1, 0}, {2}), nn::CrossEntropyOptions().reduction(nn::kNone));
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
      {"cross_entropy", "target[1] = 4", "[0, 4)"}));
  EXPECT_TRUE(throws_with<std::out_of_range>(
      [&] {
        nn::cross_entropy(x, i64({0, 1, -1}, {3}));
      },
      {"target[2] = -1"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        nn::cross_entropy(x, i64({0, 1}, {2}));
      },
      {"cross_entropy", "[3,4]", "class axis 1", "[3]", "[2]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { nn::cross_entropy(x, Tensor::zeros({3})); },
                                                 {"cross_entropy", "int64", "float32"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        nn::cross_entropy(Variable(Tensor::scalar(1.0)), Tensor::from_vector<int64_t>({0}, {}));
      },
      {"class axis"}));
}

TEST(CrossEntropy, BadOptionsAndShapesThrow) {
  const Variable x(Tensor::zeros({3, 4, 2}, DType::Float64));
  const Tensor t = Tensor::zeros({3, 2}, DType::Int64);
  using E = std::invalid_argument;
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::cross_entropy(x, Tensor::zeros({3, 4}, DType::Int64));
      },
      {"cross_entropy", "[3,4,2]", "class axis 1", "[3,2]", "[3,4]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::cross_entropy(x, t,
                          nn::CrossEntropyOptions().weight(Tensor::ones({3}, DType::Float64)));
      },
      {"cross_entropy", "weight", "[4]", "[3]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] { nn::cross_entropy(x, t, nn::CrossEntropyOptions().weight(Tensor::ones({4}))); },
      {"cross_entropy", "weight", "float32", "float64"}));
  EXPECT_TRUE(throws_with<E>(
      [&] { nn::cross_entropy(x, t, nn::CrossEntropyOptions().label_smoothing(1.5)); },
      {"cross_entropy", "label_smoothing", "[0, 1]", "1.5"}));
  EXPECT_TRUE(throws_with<E>(
      [&] { nn::cross_entropy(x, t, nn::CrossEntropyOptions().label_smoothing(-0.1)); },
      {"label_smoothing"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::cross_entropy(x, Tensor::zeros({3, 4, 1}, DType::Float64));
      },
      {"cross_entropy", "probabilities", "[3,4,2]", "[3,4,1]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::cross_entropy(x, Tensor::zeros({3, 4, 2}));
      },
      {"cross_entropy", "probabilities", "float64", "float32"}));
  EXPECT_TRUE(throws_with<std::out_of_range>(
      [&] {
        nn::cross_entropy(x, i64({0, 1, 2, 3, 4, 0}, {3, 2}));
      },
      {"cross_entropy", "target[2, 0] = 4", "[0, 4)"}));
}

TEST(CrossEntropy, Gradcheck) {
  const Tensor t = i64({2, 0, 1, 2}, {4});
  for (nn::Reduction r : {nn::kMean, nn::kSum, nn::kNone}) {
    EXPECT_TRUE(grad_ok(
        [&](const Vars& v) {
          return nn::cross_entropy(v[0], t, nn::CrossEntropyOptions().reduction(r));
        },
        {input({4, 3}, 7)}));
    EXPECT_TRUE(grad_ok(
        [&](const Vars& v) {
          return nn::cross_entropy(v[0], t, nn::CrossEntropyOptions().ignore_index(0).reduction(r));
        },
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

// Every option together, on every shape, and probability targets, in float64.
TEST(CrossEntropy, GradcheckEveryOption) {
  const Tensor w = f64({0.5, 2.0, 1.5}, {3});
  const std::vector<std::pair<Shape, Tensor>> cases = {
      {{3}, Tensor::from_vector<int64_t>({2}, {})},
      {{4, 3}, i64({2, 0, 1, 2}, {4})},
      {{2, 3, 3}, i64({1, 0, 2, 1, 1, 0}, {2, 3})},
      {{2, 3, 2, 2}, i64({0, 1, 2, 2, 1, 1, 0, 2}, {2, 2, 2})},
  };
  uint64_t seed = 30;
  for (const auto& [shape, t] : cases) {
    for (nn::Reduction r : {nn::kMean, nn::kSum, nn::kNone}) {
      const auto opts =
          nn::CrossEntropyOptions().weight(w).label_smoothing(0.1).ignore_index(1).reduction(r);
      EXPECT_TRUE(grad_ok([&](const Vars& v) { return nn::cross_entropy(v[0], t, opts); },
                          {input(shape, seed++)}))
          << shape << " index targets";
      const Tensor y = softmax(input(shape, seed++, -2, 2), shape.size() == 1 ? 0 : 1);
      const auto popts = nn::CrossEntropyOptions().weight(w).label_smoothing(0.1).reduction(r);
      EXPECT_TRUE(grad_ok([&](const Vars& v) { return nn::cross_entropy(v[0], y, popts); },
                          {input(shape, seed++)}))
          << shape << " probability targets";
      const auto nopts = nn::NLLLossOptions().weight(w).ignore_index(1).reduction(r);
      EXPECT_TRUE(grad_ok([&](const Vars& v) { return nn::nll_loss(v[0], t, nopts); },
                          {input(shape, seed++)}))
          << shape << " nll_loss";
    }
  }
}

// ---- nll_loss -------------------------------------------------------------------------------

TEST(NllLoss, PicksMinusTheTargetLogProbability) {
  const Tensor lp = log_softmax(input({3, 4}, 11, -2, 2), 1);
  const Tensor t = i64({1, 3, 3}, {3});
  const double want = -(lp.at({0, 1}) + lp.at({1, 3}) + lp.at({2, 3})) / 3;
  Variable v = Variable(lp).requires_grad_();
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
  EXPECT_NEAR(
      nn::nll_loss(Variable(lp), t, nn::NLLLossOptions().ignore_index(3).reduction(nn::kSum))
          .item(),
      -lp.at({0, 1}), 1e-15);
  EXPECT_TRUE(throws_with<std::out_of_range>(
      [&] {
        nn::nll_loss(Variable(lp), i64({1, 9, 0}, {3}));
      },
      {"nll_loss", "target[1] = 9"}));
}

TEST(NllLoss, Gradcheck) {
  const Tensor t = i64({1, 3, 3}, {3});
  for (nn::Reduction r : {nn::kMean, nn::kSum, nn::kNone}) {
    EXPECT_TRUE(grad_ok(
        [&](const Vars& v) {
          return nn::nll_loss(v[0], t, nn::NLLLossOptions().ignore_index(1).reduction(r));
        },
        {input({3, 4}, 13)}));
  }
  EXPECT_TRUE(grad_ok([&](const Vars& v) { return nn::nll_loss(log_softmax(v[0], 1), t); },
                      {input({3, 4}, 14)}));
}

// ---- mse_loss -------------------------------------------------------------------------------

TEST(MseLoss, ValuesAndGradients) {
  const Tensor a = f64({1, 2, 3, 4}, {2, 2}), b = f64({0, 2, 5, 1}, {2, 2});
  Variable va = Variable(a).requires_grad_(), vb = Variable(b).requires_grad_();
  const Variable loss = nn::mse_loss(va, vb);
  EXPECT_DOUBLE_EQ(loss.item(), (1.0 + 0 + 4 + 9) / 4);
  loss.backward();
  // ∂/∂a = 2(a - b)/N, ∂/∂b = -2(a - b)/N
  EXPECT_EQ(max_abs_diff(va.grad(), f64({0.5, 0, -1, 1.5}, {2, 2})), 0.0);
  EXPECT_EQ(max_abs_diff(vb.grad(), f64({-0.5, 0, 1, -1.5}, {2, 2})), 0.0);
  EXPECT_DOUBLE_EQ(nn::mse_loss(Variable(a), Variable(b), nn::kSum).item(), 14.0);
  EXPECT_EQ(max_abs_diff(nn::mse_loss(Variable(a), Variable(b), nn::kNone).data(),
                         f64({1, 0, 4, 9}, {2, 2})),
            0.0);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::mse_loss(Variable(a), Variable(Tensor::zeros({4}, DType::Float64))); },
      {"mse_loss", "[2,2]", "[4]", "same shape"}));
  for (nn::Reduction r : {nn::kMean, nn::kSum, nn::kNone}) {
    EXPECT_TRUE(grad_ok([r](const Vars& v) { return nn::mse_loss(v[0], v[1], r); },
                        {input({2, 3}, 15), input({2, 3}, 16)}));
  }
}

// ---- l1_loss ---------------------------------------------------------------------------------

TEST(L1Loss, ValuesGradientsAndTies) {
  const Tensor a = f64({1, 2, 3, 4}, {2, 2}), b = f64({0, 2, 5, 1}, {2, 2});
  Variable va = Variable(a).requires_grad_(), vb = Variable(b).requires_grad_();
  const Variable loss = nn::l1_loss(va, vb);
  EXPECT_DOUBLE_EQ(loss.item(), (1.0 + 0 + 2 + 3) / 4);
  loss.backward();
  // ∂/∂a = sign(a − b)/N: 0 at the tie, as PyTorch
  EXPECT_EQ(max_abs_diff(va.grad(), f64({0.25, 0, -0.25, 0.25}, {2, 2})), 0.0);
  EXPECT_EQ(max_abs_diff(vb.grad(), f64({-0.25, 0, 0.25, -0.25}, {2, 2})), 0.0);
  EXPECT_DOUBLE_EQ(nn::l1_loss(Variable(a), Variable(b), nn::kSum).item(), 6.0);
  EXPECT_EQ(nn::l1_loss(Variable(a), Variable(b), nn::kNone).shape(), (Shape{2, 2}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::l1_loss(Variable(a), Variable(Tensor::zeros({2}, DType::Float64))); },
      {"l1_loss", "[2,2]", "[2]"}));
  for (nn::Reduction r : {nn::kMean, nn::kSum, nn::kNone}) {
    EXPECT_TRUE(grad_ok([r](const Vars& v) { return nn::l1_loss(v[0], v[1], r); },
                        {away_from_zero({2, 3}, 40), input({2, 3}, 41, -0.1, 0.1)}));
  }
}

// ---- binary_cross_entropy -------------------------------------------------------------------

TEST(BinaryCrossEntropy, ValuesClampAndGradients) {
  const Tensor x = f64({0.2, 0.9, 0.5}, {3}), y = f64({0, 1, 0.25}, {3});
  Variable vx = Variable(x).requires_grad_(), vy = Variable(y).requires_grad_();
  const Variable loss = nn::binary_cross_entropy(vx, vy, nn::BCELossOptions().reduction(nn::kSum));
  const double want =
      -std::log(0.8) - std::log(0.9) - (0.25 * std::log(0.5) + 0.75 * std::log(0.5));
  EXPECT_NEAR(loss.item(), want, 1e-15);
  loss.backward();
  // ∂/∂x = (x − y)/(x(1 − x)), ∂/∂y = log(1 − x) − log x
  EXPECT_NEAR(vx.grad().at({0}), 0.2 / (0.2 * 0.8), 1e-14);
  EXPECT_NEAR(vx.grad().at({2}), 0.25 / 0.25, 1e-14);
  EXPECT_NEAR(vy.grad().at({1}), std::log(0.1) - std::log(0.9), 1e-14);
  // x = 0 or 1: each log clamped at −100, the gradient finite (x(1 − x) clamped at 1e-12)
  Variable edge = Variable(f64({0, 1}, {2})).requires_grad_();
  const Variable l = nn::binary_cross_entropy(edge, Variable(f64({1, 0}, {2})),
                                              nn::BCELossOptions().reduction(nn::kNone));
  EXPECT_EQ(l.data().at({0}), 100.0);
  EXPECT_EQ(l.data().at({1}), 100.0);
  sum(l).backward();
  // ε is PyTorch's EPSILON, 1e-12 as a float, in float64 too
  const double eps = static_cast<double>(1e-12f);
  EXPECT_EQ(edge.grad().at({0}), -1 / eps);
  EXPECT_EQ(edge.grad().at({1}), 1 / eps);
  // weight broadcasts to the input
  const Tensor w = f64({2.0}, {1});
  EXPECT_NEAR(nn::binary_cross_entropy(Variable(x), Variable(y),
                                       nn::BCELossOptions().weight(w).reduction(nn::kSum))
                  .item(),
              2 * want, 1e-14);
}

TEST(BinaryCrossEntropy, BadInputThrows) {
  using E = std::invalid_argument;
  const Variable x(f64({0.5, 1.5}, {2})), y(f64({0, 1}, {2}));
  EXPECT_TRUE(throws_with<E>([&] { nn::binary_cross_entropy(x, y); },
                             {"binary_cross_entropy", "input", "1.5", "[0, 1]"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::binary_cross_entropy(Variable(f64({0.5}, {1})), y); },
                             {"binary_cross_entropy", "[1]", "[2]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::binary_cross_entropy(Variable(f64({0.5, 0.5}, {2})), y,
                                 nn::BCELossOptions().weight(f64({1, 2, 3}, {3})));
      },
      {"binary_cross_entropy", "weight", "[3]", "[2]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::binary_cross_entropy(Variable(f64({0.5, 0.5}, {2})), Variable(Tensor::zeros({2})));
      },
      {"binary_cross_entropy", "float64", "float32"}));
}

TEST(BinaryCrossEntropy, Gradcheck) {
  for (nn::Reduction r : {nn::kMean, nn::kSum, nn::kNone}) {
    const auto opts = nn::BCELossOptions().weight(input({3}, 50, 0.5, 2)).reduction(r);
    EXPECT_TRUE(grad_ok([&](const Vars& v) { return nn::binary_cross_entropy(v[0], v[1], opts); },
                        {input({2, 3}, 51, 0.1, 0.9), input({2, 3}, 52, 0, 1)}));
  }
}

// ---- binary_cross_entropy_with_logits --------------------------------------------------------

TEST(BinaryCrossEntropyWithLogits, IsBceOfTheSigmoidAndStableForLargeLogits) {
  const Tensor x = input({2, 3}, 60, -3, 3), y = input({2, 3}, 61, 0, 1);
  const Tensor w = f64({1, 2, 0.5}, {3});
  Variable a = Variable(x).requires_grad_(), b = Variable(x).requires_grad_();
  const Variable fused = nn::binary_cross_entropy_with_logits(
      a, Variable(y), nn::BCEWithLogitsLossOptions().weight(w));
  const Variable composed =
      nn::binary_cross_entropy(sigmoid(b), Variable(y), nn::BCELossOptions().weight(w));
  EXPECT_NEAR(fused.item(), composed.item(), 1e-14);
  fused.backward();
  composed.backward();
  EXPECT_LT(max_abs_diff(a.grad(), b.grad()), 1e-14);
  // pos_weight p: −(p·y·log σ(x) + (1 − y)·log(1 − σ(x)))
  const Tensor p = f64({3, 1, 0.5}, {3});
  const double got = nn::binary_cross_entropy_with_logits(
                         Variable(x), Variable(y),
                         nn::BCEWithLogitsLossOptions().pos_weight(p).reduction(nn::kSum))
                         .item();
  double want = 0;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      const double s = 1 / (1 + std::exp(-x.at({i, j}))), t = y.at({i, j});
      want -= p.at({j}) * t * std::log(s) + (1 - t) * std::log(1 - s);
    }
  EXPECT_NEAR(got, want, 1e-13);
  // logits of ±1000: finite loss (1000 where the label disagrees) and gradient
  Variable big = Variable(f64({1000, -1000, 1000}, {3})).requires_grad_();
  const Variable l = nn::binary_cross_entropy_with_logits(
      big, Variable(f64({0, 1, 1}, {3})), nn::BCEWithLogitsLossOptions().reduction(nn::kNone));
  EXPECT_EQ(l.data().at({0}), 1000.0);
  EXPECT_EQ(l.data().at({1}), 1000.0);
  EXPECT_EQ(l.data().at({2}), 0.0);
  sum(l).backward();
  EXPECT_EQ(max_abs_diff(big.grad(), f64({1, -1, 0}, {3})), 0.0);
}

TEST(BinaryCrossEntropyWithLogits, Gradcheck) {
  for (nn::Reduction r : {nn::kMean, nn::kSum, nn::kNone}) {
    const auto opts = nn::BCEWithLogitsLossOptions()
                          .weight(input({3}, 70, 0.5, 2))
                          .pos_weight(input({3}, 71, 0.2, 3))
                          .reduction(r);
    EXPECT_TRUE(grad_ok(
        [&](const Vars& v) { return nn::binary_cross_entropy_with_logits(v[0], v[1], opts); },
        {input({2, 3}, 72, -3, 3), input({2, 3}, 73, 0, 1)}));
  }
}

// ---- the loss objects ------------------------------------------------------------------------

TEST(LossObjects, HoldTheirOptionsAndAreCallable) {
  const Tensor x = input({4, 3}, 80, -2, 2);
  const Tensor t = i64({2, 0, 1, 2}, {4});
  const nn::CrossEntropyLoss ce(nn::CrossEntropyOptions().label_smoothing(0.1).reduction(nn::kSum));
  EXPECT_EQ(ce.options.label_smoothing(), 0.1);
  EXPECT_EQ(ce(Variable(x), t).item(),
            nn::cross_entropy(Variable(x), t,
                              nn::CrossEntropyOptions().label_smoothing(0.1).reduction(nn::kSum))
                .item());
  const nn::NLLLoss nll;
  EXPECT_EQ(nll(log_softmax(Variable(x), 1), t).item(),
            nn::nll_loss(log_softmax(Variable(x), 1), t).item());
  const Variable a(x), b(input({4, 3}, 81));
  EXPECT_EQ(nn::MSELoss(nn::kSum)(a, b).item(), nn::mse_loss(a, b, nn::kSum).item());
  EXPECT_EQ(nn::L1Loss()(a, b).item(), nn::l1_loss(a, b).item());
  const Variable p(input({4, 3}, 82, 0.1, 0.9)), y(input({4, 3}, 83, 0, 1));
  EXPECT_EQ(nn::BCELoss()(p, y).item(), nn::binary_cross_entropy(p, y).item());
  EXPECT_EQ(nn::BCEWithLogitsLoss()(a, y).item(),
            nn::binary_cross_entropy_with_logits(a, y).item());
  // PyTorch's defaults
  const nn::CrossEntropyOptions d;
  EXPECT_EQ(d.ignore_index(), -100);
  EXPECT_EQ(d.reduction(), nn::kMean);
  EXPECT_EQ(d.label_smoothing(), 0.0);
  EXPECT_FALSE(d.weight().defined());
}

}  // namespace
}  // namespace minigrad
