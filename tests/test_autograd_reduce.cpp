// Gradients of the reductions and softmax (autograd/reduce.cpp).
#include <gtest/gtest.h>

#include <limits>

#include "autograd_testing.h"

namespace minigrad {
namespace {

using testing::f64;
using testing::grad_ok;
using testing::input;
using testing::Vars;

const std::vector<std::vector<int64_t>> kAxisSets{{},   {0},    {1},     {2},
                                                  {-1}, {0, 2}, {1, -3}, {0, 1, 2}};

// Gradchecks reduce(x, axes, keepdim) for every axis set, with and without keepdim.
template <class Reduce>
void expect_every_axis_set_ok(const Tensor& x, Reduce reduce) {
  for (const auto& axes : kAxisSets) {
    for (bool keepdim : {false, true}) {
      EXPECT_TRUE(grad_ok([&](const Vars& v) { return reduce(v[0], axes, keepdim); }, {x}))
          << Shape(axes) << " keepdim " << keepdim;
    }
  }
}

TEST(AutogradReduce, Sum) {
  expect_every_axis_set_ok(input({2, 3, 4}, 1),
                           [](const Variable& x, const std::vector<int64_t>& axes, bool keepdim) {
                             return sum(x, axes, keepdim);
                           });
  const Tensor x = input({2, 3, 4}, 1);
  EXPECT_TRUE(grad_ok([](const Vars& v) { return sum(v[0].permute({2, 0, 1}), {1}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return sum(v[0]); }, {input({}, 2)}));
}

TEST(AutogradReduce, Mean) {
  expect_every_axis_set_ok(input({2, 3, 4}, 3),
                           [](const Variable& x, const std::vector<int64_t>& axes, bool keepdim) {
                             return mean(x, axes, keepdim);
                           });
  // mean of a broadcast product: the engine and mean's backward compose
  EXPECT_TRUE(grad_ok([](const Vars& v) { return mean(v[0] * v[1], {0}); },
                      {input({3, 4}, 4), input({4}, 5)}));
}

TEST(AutogradReduce, Amax) {
  // random inputs have no ties, so amax is differentiable there
  const Tensor x = input({3, 4, 2}, 6);
  for (int64_t axis : {0, 1, 2, -1}) {
    for (bool keepdim : {false, true}) {
      EXPECT_TRUE(
          grad_ok([axis, keepdim](const Vars& v) { return amax(v[0], axis, keepdim); }, {x}))
          << "axis " << axis << " keepdim " << keepdim;
    }
  }
  EXPECT_TRUE(grad_ok([](const Vars& v) { return amax(v[0].t(), 1); }, {input({4, 3}, 7)}));
}

TEST(AutogradReduce, AmaxTiesShareTheGradient) {
  const Variable x = Variable(f64({3, 1, 3, 2, 5, 0}, {2, 3})).requires_grad_();
  sum(amax(x, 1)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0.5, 0, 0.5, 0, 1, 0}));
}

TEST(AutogradReduce, AmaxAminOverSeveralAxes) {
  // random inputs have no ties, so both are differentiable there
  const Tensor x = input({2, 3, 4}, 14);
  expect_every_axis_set_ok(x, [](const Variable& v, const std::vector<int64_t>& axes,
                                 bool keepdim) { return amax(v, axes, keepdim); });
  expect_every_axis_set_ok(x, [](const Variable& v, const std::vector<int64_t>& axes,
                                 bool keepdim) { return amin(v, axes, keepdim); });
  EXPECT_TRUE(grad_ok([](const Vars& v) { return amin(v[0].t(), 1); }, {input({4, 3}, 15)}));
}

TEST(AutogradReduce, AmaxAminTiesShareTheGradientAcrossAxes) {
  // torch.amax / torch.amin split the gradient evenly among all tied extrema of the
  // reduced elements, whichever axis they sit on (PyTorch 1.13 gives the same numbers).
  // x[:, 0, :] = {5, 5, 5, 0} has three maxima, x[:, 1, :] = {1, 2, 2, 2} three too
  const Variable x = Variable(f64({5, 5, 1, 2, 5, 0, 2, 2}, {2, 2, 2})).requires_grad_();
  x.amax({0, 2}).backward(f64({1, 10}, {2}));
  const double a = 1.0 / 3, b = 10.0 / 3;
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{a, a, 0, b, a, 0, b, b}));
  const Variable y = Variable(f64({0, 4, 0, 0}, {2, 2})).requires_grad_();
  y.amin().backward();
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{1.0 / 3, 0, 1.0 / 3, 1.0 / 3}));
  const Variable z = Variable(f64({3, 1, 1, 2}, {2, 2})).requires_grad_();
  z.amin(-1, true).backward(f64({2, 4}, {2, 1}));
  EXPECT_EQ(z.grad().to_vector<double>(), (std::vector<double>{0, 2, 4, 0}));
}

TEST(AutogradReduce, AmaxAminOfA0dTensorOverAxis0OrMinus1IsItself) {
  // torch.amax(torch.tensor(3.), 0) is tensor(3.) with gradient 1, as sum and mean;
  // keepdim changes nothing for a 0-d tensor. Axis 1 is out of range.
  for (const std::vector<int64_t>& axes : {std::vector<int64_t>{0}, std::vector<int64_t>{-1}}) {
    for (bool keepdim : {false, true}) {
      const Variable x = Variable(Tensor::scalar(3.0, DType::Float64)).requires_grad_();
      const Variable y = x.amax(axes, keepdim);
      EXPECT_EQ(y.shape(), Shape{});
      EXPECT_EQ(y.data().item(), 3.0);
      (y * 2.0).backward();
      EXPECT_EQ(x.grad().item(), 2.0);
      EXPECT_EQ(x.amin(axes, keepdim).shape(), Shape{});
    }
  }
  const Variable x = Variable(Tensor::scalar(3.0, DType::Float64)).requires_grad_();
  EXPECT_THROW(x.amax({1}), std::out_of_range);
  EXPECT_THROW(x.amin(1), std::out_of_range);
}

TEST(AutogradReduce, SumTo) {
  EXPECT_TRUE(grad_ok([](const Vars& v) { return sum_to(v[0], {3, 1}); }, {input({2, 3, 4}, 8)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return sum_to(v[0], {}); }, {input({2, 3}, 9)}));
  EXPECT_TRUE(grad_ok(
      [](const Vars& v) {
        return sum_to(v[0], {2, 1, 4});
      },
      {input({2, 3, 4}, 10)}));
}

TEST(AutogradReduce, Softmax) {
  const Tensor x = input({3, 4}, 11, -2, 2);
  for (int64_t axis : {0, 1, -1}) {
    EXPECT_TRUE(grad_ok([axis](const Vars& v) { return softmax(v[0], axis); }, {x}))
        << "axis " << axis;
    EXPECT_TRUE(grad_ok([axis](const Vars& v) { return log_softmax(v[0], axis); }, {x}))
        << "axis " << axis;
  }
  const Tensor x3 = input({2, 3, 2}, 12, -2, 2);
  EXPECT_TRUE(grad_ok([](const Vars& v) { return softmax(v[0], 1); }, {x3}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return log_softmax(v[0], 1); }, {x3}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return softmax(v[0].t(), 1); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return log_softmax(v[0].t(), 0); }, {x}));
}

TEST(AutogradReduce, SoftmaxWithMaskedRows) {
  const double inf = std::numeric_limits<double>::infinity();
  // Row 0 fully masked, row 1 partly: softmax is 0 wherever the input is -inf,
  // so those inputs get no gradient and the rest behave as a shorter row.
  const Tensor mask = Tensor::from_list({1, 1, 1, 0, 1, 0}, {2, 3}, DType::Bool);
  EXPECT_TRUE(
      grad_ok([mask, inf](const Vars& v) { return softmax(masked_fill(v[0], mask, -inf), 1); },
              {input({2, 3}, 13)}));
  // log_softmax of a fully masked row is -inf; its gradient passes gy straight
  // through: gx = gy - softmax·Σgy with softmax = 0.
  const Variable x = Variable(f64({-inf, -inf, 1, 2}, {2, 2})).requires_grad_();
  log_softmax(x, 1).backward(f64({0.25, 0.75, 1, 0}, {2, 2}));
  EXPECT_EQ(x.grad().at({0, 0}), 0.25);
  EXPECT_EQ(x.grad().at({0, 1}), 0.75);
  EXPECT_TRUE(all_finite(x.grad()));
}

}  // namespace
}  // namespace minigrad
