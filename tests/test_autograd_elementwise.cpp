// Gradients of the element-wise ops (autograd/elementwise.cpp), checked by
// central differences, with broadcasting and strided inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "autograd_testing.h"

namespace minigrad {
namespace {

using testing::away_from_zero;
using testing::f64;
using testing::grad_ok;
using testing::input;
using testing::Vars;

using BinaryOp = Variable (*)(const Variable&, const Variable&);

struct Pair {
  const char* name;
  Tensor a, b;
};

// Shapes every binary op is checked on. b is kept in [0.5, 1.5) so that division
// and a^b are smooth; a in [0.5, 1.5) too, positive for pow.
std::vector<Pair> pairs() {
  return {
      {"same shape", input({2, 3}, 1, 0.5, 1.5), input({2, 3}, 2, 0.5, 1.5)},
      {"[2,3] and [3]", input({2, 3}, 3, 0.5, 1.5), input({3}, 4, 0.5, 1.5)},
      {"[3] and [2,3]", input({3}, 5, 0.5, 1.5), input({2, 3}, 6, 0.5, 1.5)},
      {"[2,1,4] and [3,1]", input({2, 1, 4}, 7, 0.5, 1.5), input({3, 1}, 8, 0.5, 1.5)},
      {"rank 0 and [2,2]", input({}, 9, 0.5, 1.5), input({2, 2}, 10, 0.5, 1.5)},
      {"[1,3] and [2,1]", input({1, 3}, 11, 0.5, 1.5), input({2, 1}, 12, 0.5, 1.5)},
  };
}

void check_binary(const char* op, BinaryOp f) {
  for (const Pair& p : pairs()) {
    EXPECT_TRUE(grad_ok([f](const Vars& x) { return f(x[0], x[1]); }, {p.a, p.b})) << op << " on " << p.name;
  }
  // a transposed view as the first operand
  EXPECT_TRUE(grad_ok([f](const Vars& x) { return f(x[0].t(), x[1]); },
                      {input({3, 2}, 20, 0.5, 1.5), input({2, 3}, 21, 0.5, 1.5)}))
      << op << " on a transposed view";
}

TEST(AutogradElementwise, Add) { check_binary("add", [](const Variable& a, const Variable& b) { return add(a, b); }); }
TEST(AutogradElementwise, Sub) { check_binary("sub", [](const Variable& a, const Variable& b) { return sub(a, b); }); }
TEST(AutogradElementwise, Mul) { check_binary("mul", [](const Variable& a, const Variable& b) { return mul(a, b); }); }
TEST(AutogradElementwise, Div) { check_binary("div", [](const Variable& a, const Variable& b) { return div(a, b); }); }
TEST(AutogradElementwise, Pow) { check_binary("pow", [](const Variable& a, const Variable& b) { return pow(a, b); }); }

TEST(AutogradElementwise, MaximumMinimumAwayFromTies) {
  // a in [0, 0.4) ∪ [0.6, 1), b in [0.45, 0.55): every a differs from every b by
  // more than 0.05, and both a > b and a < b occur.
  const std::vector<std::pair<Shape, Shape>> shapes{{{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 1, 4}, {3, 1}}, {{}, {2, 2}}};
  uint64_t seed = 30;
  for (const auto& [sa, sb] : shapes) {
    const Tensor a = add(mul(away_from_zero(sa, seed++), 0.5), 0.5);
    const Tensor b = input(sb, seed++, 0.45, 0.55);
    EXPECT_TRUE(grad_ok([](const Vars& x) { return maximum(x[0], x[1]); }, {a, b})) << sa << " " << sb;
    EXPECT_TRUE(grad_ok([](const Vars& x) { return minimum(x[0], x[1]); }, {a, b})) << sa << " " << sb;
    EXPECT_TRUE(grad_ok([](const Vars& x) { return maximum(x[1], x[0]); }, {a, b})) << sa << " " << sb;
  }
}

TEST(AutogradElementwise, Operators) {
  const Tensor a = input({2, 3}, 1, 0.5, 1.5), b = input({3}, 2, 0.5, 1.5);
  EXPECT_TRUE(grad_ok([](const Vars& x) { return x[0] + x[1]; }, {a, b}));
  EXPECT_TRUE(grad_ok([](const Vars& x) { return x[0] - x[1]; }, {a, b}));
  EXPECT_TRUE(grad_ok([](const Vars& x) { return x[0] * x[1]; }, {a, b}));
  EXPECT_TRUE(grad_ok([](const Vars& x) { return x[0] / x[1]; }, {a, b}));
  EXPECT_TRUE(grad_ok([](const Vars& x) { return -x[0]; }, {a}));
  EXPECT_TRUE(grad_ok([](const Vars& x) { return 2.0 - x[0] * 3.0 + 1.5 / x[0] - x[0] / 4.0 + (x[0] + 1.0) * 2.0; }, {a}));
}

TEST(AutogradElementwise, WithAScalar) {
  const Tensor x = input({2, 3}, 3, -1, 1), p = input({2, 3}, 4, 0.3, 2.0);
  EXPECT_TRUE(grad_ok([](const Vars& v) { return add(v[0], 1.5); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return sub(v[0], 1.5); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return rsub(1.5, v[0]); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return mul(v[0], -2.5); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return div(v[0], -2.5); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return rdiv(1.5, v[0]); }, {p}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return pow(v[0], 2.0); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return pow(v[0], 3.0); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return pow(v[0], 0.5); }, {p}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return pow(v[0], -1.5); }, {p}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return pow(v[0].t(), 3.0); }, {x}));
}

TEST(AutogradElementwise, Unary) {
  const Tensor x = input({3, 4}, 5, -2, 2);
  const Tensor pos = input({3, 4}, 6, 0.2, 3);
  const Tensor nz = away_from_zero({3, 4}, 7);
  EXPECT_TRUE(grad_ok([](const Vars& v) { return neg(v[0]); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return exp(v[0]); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return log(v[0]); }, {pos}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return sqrt(v[0]); }, {pos}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return tanh(v[0]); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return sigmoid(v[0]); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return relu(v[0]); }, {nz}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return abs(v[0]); }, {nz}));
  // on a transposed view, and composed
  EXPECT_TRUE(grad_ok([](const Vars& v) { return tanh(v[0].t()); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return sigmoid(exp(v[0]) * log(v[1])); }, {x, pos}));
  // sigmoid far out on both sides, where the two branches of the kernel meet
  EXPECT_TRUE(grad_ok([](const Vars& v) { return sigmoid(v[0]); }, {f64({-30, -5, -1e-3, 1e-3, 5, 30}, {6})}));
}

// Both forms of GELU, over [-4, 4] (both tails and the bend near 0), on a transposed
// view, and far out where Φ(x) is 0 or 1 and the gradient tends to 0 and 1.
TEST(AutogradElementwise, Gelu) {
  for (const char* approximate : {"none", "tanh"}) {
    const std::string a = approximate;
    EXPECT_TRUE(grad_ok([a](const Vars& v) { return gelu(v[0], a); }, {input({3, 4}, 22, -4, 4)}))
        << approximate;
    EXPECT_TRUE(grad_ok([a](const Vars& v) { return gelu(v[0].t(), a); }, {input({3, 4}, 23, -1, 1)}))
        << approximate;
    EXPECT_TRUE(grad_ok([a](const Vars& v) { return gelu(v[0], a); },
                        {f64({-30, -8, -1e-3, 0, 1e-3, 8, 30}, {7})}))
        << approximate;
  }
}

TEST(AutogradElementwise, Rsqrt) {
  EXPECT_TRUE(grad_ok([](const Vars& v) { return rsqrt(v[0]); }, {input({3, 4}, 20, 0.2, 3)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return rsqrt(v[0].t()); }, {input({3, 4}, 21, 0.2, 3)}));
  // the value: 1/√x
  const Variable x = Variable(f64({0.25, 4, 16}, {3})).requires_grad_();
  EXPECT_EQ(rsqrt(x).data().to_vector<double>(), (std::vector<double>{2, 0.5, 0.25}));
}

TEST(AutogradElementwise, Clamp) {
  // inputs kept 0.05 away from the bounds ±0.5, where clamp is not differentiable
  const Tensor x =
      f64({-0.9, -0.7, -0.45, -0.3, -0.1, 0.05, 0.2, 0.4, 0.6, 0.8, -0.6, 0.95}, {3, 4});
  EXPECT_TRUE(grad_ok([](const Vars& v) { return clamp(v[0], -0.5, 0.5); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return clamp(v[0], std::nullopt, 0.5); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return clamp(v[0], -0.5); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].t().clamp(-0.5, 0.5); }, {x}));
  // values and gradients against torch.clamp (PyTorch 1.13): the bounds themselves
  // pass the gradient, NaN passes through with gradient 0, min > max gives max
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Variable c = Variable(f64({-2, -1, 0, 1, 2, nan}, {6})).requires_grad_();
  const Variable y = clamp(c, -1.0, 1.0);
  y.sum().backward();
  const std::vector<double> v = y.data().to_vector<double>();
  EXPECT_EQ(std::vector<double>(v.begin(), v.end() - 1), (std::vector<double>{-1, -1, 0, 1, 1}));
  EXPECT_TRUE(std::isnan(v.back()));
  EXPECT_EQ(c.grad().to_vector<double>(), (std::vector<double>{0, 1, 1, 1, 0, 0}));
  EXPECT_EQ(clamp(c, 2.0, 1.0).data().narrow(0, 0, 5).to_vector<double>(),
            (std::vector<double>{1, 1, 1, 1, 1}));
  EXPECT_TRUE(testing::throws_with<std::invalid_argument>([&] { clamp(c, std::nullopt); },
                                                          {"clamp", "at least one"}));
}

TEST(AutogradElementwise, WhereAndMaskedFill) {
  const Tensor cond = Tensor::from_list({1, 0}, {2, 1}, DType::Bool);
  EXPECT_TRUE(grad_ok([cond](const Vars& v) { return where(cond, v[0], v[1]); },
                      {input({2, 3}, 1), input({3}, 2)}));
  const Tensor c2 = Tensor::from_list({1, 0, 1, 0, 0, 1}, {2, 3}, DType::Bool);
  EXPECT_TRUE(grad_ok([c2](const Vars& v) { return where(c2, v[0], v[1]); }, {input({1, 3}, 3), input({2, 1}, 4)}));
  const Tensor mask = Tensor::from_list({0, 1, 0}, {1, 3}, DType::Bool);
  EXPECT_TRUE(grad_ok([mask](const Vars& v) { return masked_fill(v[0], mask, 7.0); }, {input({2, 3}, 5)}));
  EXPECT_TRUE(grad_ok([mask](const Vars& v) { return masked_fill(v[0].t(), mask.t(), -1.0); }, {input({2, 3}, 6)}));
  // -inf filling feeds a softmax, as attention masks do
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(grad_ok([mask, inf](const Vars& v) { return softmax(masked_fill(v[0], mask, -inf), 1); },
                      {input({2, 3}, 7)}));
}

TEST(AutogradElementwise, MaximumSplitsTiesEvenly) {
  // At a tie neither input is the maximum alone; each gets half the gradient.
  const Variable a = Variable(f64({1, 2, 3}, {3})).requires_grad_(),
                 b = Variable(f64({1, 0, 5}, {3})).requires_grad_();
  sum(maximum(a, b)).backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{0.5, 1, 0}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{0.5, 0, 1}));
  const Variable c = Variable(f64({1, 2, 3}, {3})).requires_grad_(),
                 d = Variable(f64({1, 0, 5}, {3})).requires_grad_();
  sum(minimum(c, d)).backward();
  EXPECT_EQ(c.grad().to_vector<double>(), (std::vector<double>{0.5, 0, 1}));
  EXPECT_EQ(d.grad().to_vector<double>(), (std::vector<double>{0.5, 1, 0}));
  // x used on both sides: max(x, x) = x, so the gradient is exactly 1
  const Variable x = Variable(f64({4}, {1})).requires_grad_();
  sum(maximum(x, x)).backward();
  EXPECT_EQ(x.grad().item(), 1.0);
}

// PyTorch's gradients where the textbook formula gives NaN or inf: each case is
// gradchecked where the function is differentiable, and checked exactly elsewhere.
TEST(AutogradElementwise, PowAtZeroIsDifferentiable) {
  // x⁰ = 1 is constant: its gradient is 0 at x = 0 too (the formula gives 0·0⁻¹ = NaN)
  const Tensor with_zero = f64({0.0, -0.0, 0.7, -1.3}, {4});
  EXPECT_TRUE(grad_ok([](const Vars& v) { return pow(v[0], 0.0); }, {with_zero}));
  // 0^b for b ≥ 1 an integer: flat in b at a = 0 (the formula gives 0·ln 0 = NaN), and
  // b·a^(b−1) in a; the a = 0.5 entries check the ordinary formula beside them
  const Tensor a = f64({0.0, 0.0, 0.0, 0.5, 0.5}, {5}), b = f64({1, 2, 3, 2, 0.5}, {5});
  EXPECT_TRUE(grad_ok([](const Vars& v) { return pow(v[0], v[1]); }, {a, b}));
  // b = 0 with a ≠ 0: ∂/∂a is 0 (a⁰ is constant), ∂/∂b = ln a
  EXPECT_TRUE(grad_ok([](const Vars& v) { return pow(v[0], v[1]); },
                      {f64({0.5, 2.0}, {2}), f64({0.0, 0.0}, {2})}));
  // at a = b = 0 the exponent's gradient is 0 and the base's too (not differentiable in
  // b there: 0^(−h) = inf; these are PyTorch's values)
  const Variable x = Variable(f64({0.0}, {1})).requires_grad_(),
                 y = Variable(f64({0.0}, {1})).requires_grad_();
  sum(pow(x, y)).backward();
  EXPECT_EQ(x.grad().item(), 0.0);
  EXPECT_EQ(y.grad().item(), 0.0);
  const Variable z = Variable(f64({0.0, -0.0}, {2})).requires_grad_();
  sum(pow(z, 0.0)).backward();
  EXPECT_EQ(z.grad().to_vector<double>(), (std::vector<double>{0, 0}));
}

TEST(AutogradElementwise, NaNPassesTheGradientAsInPyTorch) {
  const double nan = std::nan("");
  // relu(NaN) = NaN, and its gradient passes (threshold_backward: 0 only where x ≤ 0)
  const Variable x = Variable(f64({nan, -1, -0.0, 0.0, 2}, {5})).requires_grad_();
  sum(relu(x)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 0, 0, 0, 1}));
  // maximum/minimum with a NaN on either side give the whole gradient to both inputs
  const Variable a = Variable(f64({nan, 1, nan, 3}, {4})).requires_grad_(),
                 b = Variable(f64({1, nan, nan, 1}, {4})).requires_grad_();
  sum(maximum(a, b) * 2.0).backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{2, 2, 2, 2}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{2, 2, 2, 0}));
  const Variable c = Variable(f64({nan, 1, nan, 3}, {4})).requires_grad_(),
                 d = Variable(f64({1, nan, nan, 1}, {4})).requires_grad_();
  sum(minimum(c, d)).backward();
  EXPECT_EQ(c.grad().to_vector<double>(), (std::vector<double>{1, 1, 1, 0}));
  EXPECT_EQ(d.grad().to_vector<double>(), (std::vector<double>{1, 1, 1, 1}));
  // relu stays gradchecked away from its kink, with -0 and +0 excluded
  EXPECT_TRUE(grad_ok([](const Vars& v) { return relu(v[0]); }, {f64({-2, -0.5, 0.5, 3}, {4})}));
}

// Reductions and softmax of a 0-d Variable over axis 0 or -1 (PyTorch allows them).
TEST(AutogradElementwise, ZeroDimReductionsAreDifferentiable) {
  const Tensor z = Tensor::scalar(0.7, DType::Float64);
  EXPECT_TRUE(grad_ok([](const Vars& v) { return sum(v[0], {0}) * 3.0; }, {z}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return mean(v[0], {-1}, true) * 3.0; }, {z}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return amax(v[0], 0) * 3.0; }, {z}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return softmax(v[0], 0) * v[0]; }, {z}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return log_softmax(v[0], -1) + v[0]; }, {z}));
}

// float32 ⊕ float64 computes in float64 (PyTorch's promotion); each input still gets
// its gradient in its own dtype, the engine converting it back as it undoes broadcasting.
TEST(AutogradElementwise, MixedPrecisionGradientsKeepTheInputDtype) {
  const Variable a =
      Variable(Tensor::from_list({1.5, -2.0, 0.25}, {3}, DType::Float32)).requires_grad_();
  const Variable b = Variable(f64({3.0, 0.5, -4.0}, {1, 3})).requires_grad_();
  const Variable y = mul(a, b);
  EXPECT_EQ(y.dtype(), DType::Float64);
  sum(y).backward();
  EXPECT_EQ(a.grad().dtype(), DType::Float32);
  EXPECT_EQ(a.grad().shape(), (Shape{3}));
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{3.0, 0.5, -4.0}));
  EXPECT_EQ(b.grad().dtype(), DType::Float64);
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{1.5, -2.0, 0.25}));
}

}  // namespace
}  // namespace minigrad
