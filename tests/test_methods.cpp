// Variable's methods (autograd/methods.cpp) and the operators between Variables,
// Tensors and doubles (autograd/functions.h): each method gives the free function's
// values and gradients to the bit, with the shapes PyTorch gives (keepdim, negative
// dims); compound assignment rebinds and leaves saved values alone.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "autograd_testing.h"

namespace minigrad {
namespace {

using testing::f64;
using testing::i64;
using testing::input;
using testing::throws_with;

using UnaryFn = std::function<Variable(const Variable&)>;

// method(x) and free_fn(x) on two leaves holding the same x: same shape, same values,
// and after backward with the same random gradient, the same gradient (all exact).
// Returns the method's result for further checks.
Variable expect_same(const Tensor& x, const UnaryFn& method, const UnaryFn& free_fn,
                     const std::string& what) {
  const Variable a = Variable(x).requires_grad_(), b = Variable(x).requires_grad_();
  const Variable ya = method(a), yb = free_fn(b);
  EXPECT_EQ(ya.shape(), yb.shape()) << what;
  EXPECT_EQ(ya.data().to_vector<double>(), yb.data().to_vector<double>()) << what;
  const Tensor seed = input(ya.shape(), 99);
  ya.backward(seed);
  yb.backward(seed);
  EXPECT_TRUE(a.has_grad()) << what;
  if (a.has_grad() && b.has_grad()) {
    EXPECT_EQ(a.grad().to_vector<double>(), b.grad().to_vector<double>()) << what;
  }
  return ya;
}

const Tensor& x234() {
  static const Tensor x = input({2, 3, 4}, 1);
  return x;
}

// ---- reductions ---------------------------------------------------------------------------

TEST(VariableMethods, Sum) {
  const Tensor& x = x234();
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.sum(); },
                [](const Variable& v) { return sum(v); }, "sum()")
                .dim(),
            0);
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.sum(-1); },
                [](const Variable& v) { return sum(v, {2}); }, "sum(-1)")
                .shape(),
            (Shape{2, 3}));
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.sum(1, true); },
                [](const Variable& v) { return sum(v, {1}, true); }, "sum(1, true)")
                .shape(),
            (Shape{2, 1, 4}));
  EXPECT_EQ(expect_same(
                x,
                [](const Variable& v) {
                  return v.sum({0, -1}, true);
                },
                [](const Variable& v) {
                  return sum(v, {0, 2}, true);
                },
                "sum({0,-1})")
                .shape(),
            (Shape{1, 3, 1}));
  // by hand
  const Variable s(f64({1, 2, 3, 4}, {2, 2}));
  EXPECT_EQ(s.sum(0).data().to_vector<double>(), (std::vector<double>{4, 6}));
}

TEST(VariableMethods, Mean) {
  const Tensor& x = x234();
  expect_same(
      x, [](const Variable& v) { return v.mean(); }, [](const Variable& v) { return mean(v); },
      "mean()");
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.mean(-2, true); },
                [](const Variable& v) { return mean(v, {1}, true); }, "mean(-2, true)")
                .shape(),
            (Shape{2, 1, 4}));
  EXPECT_EQ(expect_same(
                x,
                [](const Variable& v) {
                  return v.mean({2, 0});
                },
                [](const Variable& v) {
                  return mean(v, {0, 2});
                },
                "mean({2, 0})")
                .shape(),
            Shape{3});
  const Variable s(f64({1, 2, 3, 5}, {2, 2}));
  EXPECT_EQ(s.mean(-1).data().to_vector<double>(), (std::vector<double>{1.5, 4}));
}

TEST(VariableMethods, AmaxAmin) {
  const Tensor& x = x234();
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.amax(); },
                [](const Variable& v) { return amax(v); }, "amax()")
                .dim(),
            0);
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.amax(-1, true); },
                [](const Variable& v) { return amax(v, {2}, true); }, "amax(-1, true)")
                .shape(),
            (Shape{2, 3, 1}));
  EXPECT_EQ(expect_same(
                x,
                [](const Variable& v) {
                  return v.amin({0, 2});
                },
                [](const Variable& v) {
                  return amin(v, {0, 2});
                },
                "amin({0, 2})")
                .shape(),
            Shape{3});
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.amin(1); },
                [](const Variable& v) { return amin(v, 1); }, "amin(1)")
                .shape(),
            (Shape{2, 4}));
  // an empty list means every dim, for the methods and the free functions alike
  EXPECT_EQ(Variable(x).sum({}).dim(), 0);
  EXPECT_EQ(Variable(x).amin({}, true).shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(amax(Variable(x), {}).dim(), 0);
  EXPECT_EQ(amax(x, {}).item(), amax(x).item());
  const Variable s(f64({1, 7, 3, -5}, {2, 2}));
  EXPECT_EQ(s.amax(1).data().to_vector<double>(), (std::vector<double>{7, 3}));
  EXPECT_EQ(s.amin(0).data().to_vector<double>(), (std::vector<double>{1, -5}));
  EXPECT_EQ(s.amin().item(), -5.0);
}

// ---- views ------------------------------------------------------------------------------------

TEST(VariableMethods, ReshapeAndView) {
  const Tensor& x = x234();
  expect_same(
      x,
      [](const Variable& v) {
        return v.reshape({4, -1});
      },
      [](const Variable& v) {
        return reshape(v, {4, 6});
      },
      "reshape");
  const Variable y = expect_same(
      x,
      [](const Variable& v) {
        return v.view({-1, 4});
      },
      [](const Variable& v) {
        return view(v, {6, 4});
      },
      "view");
  EXPECT_EQ(y.shape(), (Shape{6, 4}));
  EXPECT_TRUE(testing::same_storage(y.data(), x));  // a view: no copy
  // view throws where Tensor::view throws; reshape copies instead
  const Variable t = Variable(x).transpose(0, 1);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { t.view({-1}); }, {"view"}));
  EXPECT_EQ(t.reshape({-1}).shape(), Shape{24});
}

TEST(VariableMethods, TransposePermute) {
  const Tensor& x = x234();
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.transpose(-1, 0); },
                [](const Variable& v) { return transpose(v, 2, 0); }, "transpose")
                .shape(),
            (Shape{4, 3, 2}));
  EXPECT_EQ(expect_same(
                x,
                [](const Variable& v) {
                  return v.permute({-1, 0, 1});
                },
                [](const Variable& v) {
                  return permute(v, {2, 0, 1});
                },
                "permute")
                .shape(),
            (Shape{4, 2, 3}));
}

TEST(VariableMethods, SqueezeUnsqueezeFlatten) {
  const Tensor x = input({2, 1, 3, 1}, 2);
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.squeeze(); },
                [](const Variable& v) { return squeeze(v); }, "squeeze()")
                .shape(),
            (Shape{2, 3}));
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.squeeze(-1); },
                [](const Variable& v) { return squeeze(v, 3); }, "squeeze(-1)")
                .shape(),
            (Shape{2, 1, 3}));
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.unsqueeze(-1); },
                [](const Variable& v) { return unsqueeze(v, 4); }, "unsqueeze(-1)")
                .shape(),
            (Shape{2, 1, 3, 1, 1}));
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.flatten(); },
                [](const Variable& v) { return flatten(v); }, "flatten()")
                .shape(),
            Shape{6});
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.flatten(1, -2); },
                [](const Variable& v) { return flatten(v, 1, 2); }, "flatten(1, -2)")
                .shape(),
            (Shape{2, 3, 1}));
}

// ---- element-wise ------------------------------------------------------------------------------

TEST(VariableMethods, UnaryMath) {
  const Tensor x = input({3, 4}, 3, -2, 2);
  const Tensor pos = input({3, 4}, 4, 0.2, 3);
  const Tensor nz = testing::away_from_zero({3, 4}, 5);
  expect_same(
      x, [](const Variable& v) { return v.exp(); }, [](const Variable& v) { return exp(v); },
      "exp");
  expect_same(
      pos, [](const Variable& v) { return v.log(); }, [](const Variable& v) { return log(v); },
      "log");
  expect_same(
      x, [](const Variable& v) { return v.tanh(); }, [](const Variable& v) { return tanh(v); },
      "tanh");
  expect_same(
      x, [](const Variable& v) { return v.sigmoid(); },
      [](const Variable& v) { return sigmoid(v); }, "sigmoid");
  expect_same(
      nz, [](const Variable& v) { return v.relu(); }, [](const Variable& v) { return relu(v); },
      "relu");
  expect_same(
      pos, [](const Variable& v) { return v.sqrt(); }, [](const Variable& v) { return sqrt(v); },
      "sqrt");
  expect_same(
      pos, [](const Variable& v) { return v.rsqrt(); }, [](const Variable& v) { return rsqrt(v); },
      "rsqrt");
  expect_same(
      nz, [](const Variable& v) { return v.abs(); }, [](const Variable& v) { return abs(v); },
      "abs");
  // by hand
  const Variable h(f64({-4, 0.25, 9}, {3}));
  EXPECT_EQ(h.abs().data().to_vector<double>(), (std::vector<double>{4, 0.25, 9}));
  EXPECT_EQ(h.relu().data().to_vector<double>(), (std::vector<double>{0, 0.25, 9}));
  EXPECT_EQ(h.abs().rsqrt().data().to_vector<double>(), (std::vector<double>{0.5, 2, 1.0 / 3}));
}

TEST(VariableMethods, PowScalarAndVariable) {
  const Tensor pos = input({3, 4}, 6, 0.5, 1.5);
  expect_same(
      pos, [](const Variable& v) { return v.pow(3.0); },
      [](const Variable& v) { return pow(v, 3.0); }, "pow(3)");
  const Variable e = Variable(input({4}, 7, 0.5, 1.5)).requires_grad_();
  const Variable a = Variable(pos).requires_grad_(), b = Variable(pos).requires_grad_();
  const Variable ya = a.pow(e), yb = pow(b, e);
  EXPECT_EQ(ya.shape(), (Shape{3, 4}));
  EXPECT_EQ(ya.data().to_vector<double>(), yb.data().to_vector<double>());
  ya.sum().backward();
  yb.sum().backward();
  EXPECT_EQ(a.grad().to_vector<double>(), b.grad().to_vector<double>());
  EXPECT_EQ(Variable(f64({2, 3}, {2})).pow(2.0).data().to_vector<double>(),
            (std::vector<double>{4, 9}));
}

TEST(VariableMethods, ClampAndMaskedFill) {
  const Tensor x = input({3, 4}, 8, -2, 2);
  expect_same(
      x, [](const Variable& v) { return v.clamp(-0.5, 0.5); },
      [](const Variable& v) { return clamp(v, -0.5, 0.5); }, "clamp(lo, hi)");
  expect_same(
      x, [](const Variable& v) { return v.clamp(std::nullopt, 0.5); },
      [](const Variable& v) { return clamp(v, std::nullopt, 0.5); }, "clamp(-, hi)");
  expect_same(
      x, [](const Variable& v) { return v.clamp(0.0); },
      [](const Variable& v) { return clamp(v, 0.0); }, "clamp(lo)");
  const Tensor mask = Tensor::from_list({1, 0, 0, 1}, {4}, DType::Bool);
  expect_same(
      x, [mask](const Variable& v) { return v.masked_fill(mask, -7.0); },
      [mask](const Variable& v) { return masked_fill(v, mask, -7.0); }, "masked_fill");
  EXPECT_EQ(Variable(f64({-3, 0, 3}, {3})).clamp(-1, 1).data().to_vector<double>(),
            (std::vector<double>{-1, 0, 1}));
}

TEST(VariableMethods, SoftmaxLogSoftmax) {
  const Tensor& x = x234();
  expect_same(
      x, [](const Variable& v) { return v.softmax(-1); },
      [](const Variable& v) { return softmax(v, 2); }, "softmax(-1)");
  expect_same(
      x, [](const Variable& v) { return v.log_softmax(1); },
      [](const Variable& v) { return log_softmax(v, 1); }, "log_softmax(1)");
  EXPECT_NEAR(Variable(x).softmax(-1).sum(-1).data().at({1, 2}), 1.0, 1e-15);
}

// ---- indexing ----------------------------------------------------------------------------------

TEST(VariableMethods, SliceWithStepAndNegativeBounds) {
  const Tensor x = input({5, 7}, 9);
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.slice(1, 1, 6, 2); },
                [](const Variable& v) { return slice(v, 1, 1, 6, 2); }, "slice(1, 1, 6, 2)")
                .shape(),
            (Shape{5, 3}));
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.slice(-1, -5, -1, 3); },
                [](const Variable& v) { return slice(v, 1, 2, 6, 3); }, "slice negative")
                .shape(),
            (Shape{5, 2}));
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.slice(); },
                [](const Variable& v) { return slice(v, 0, 0, 5); }, "slice()")
                .shape(),
            (Shape{5, 7}));
  // by hand: x[0, ::3] of 0..6 is 0, 3, 6; a view of x's storage
  const Tensor r = Tensor::arange(0, 7, 1, DType::Float64).reshape({1, 7});
  const Variable s = Variable(r).slice(1, std::nullopt, std::nullopt, 3);
  EXPECT_EQ(s.data().to_vector<double>(), (std::vector<double>{0, 3, 6}));
  EXPECT_TRUE(testing::same_storage(s.data(), r));
  // the gradient lands on every third element
  const Variable leaf = Variable(r).requires_grad_();
  leaf.slice(-1, 1, std::nullopt, 3).sum().backward();
  EXPECT_EQ(leaf.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 0, 1, 0, 0}));
}

TEST(VariableMethods, NarrowSelectWithNegatives) {
  const Tensor& x = x234();
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.narrow(-1, -3, 2); },
                [](const Variable& v) { return narrow(v, 2, 1, 2); }, "narrow(-1, -3, 2)")
                .shape(),
            (Shape{2, 3, 2}));
  EXPECT_EQ(expect_same(
                x, [](const Variable& v) { return v.select(-2, -1); },
                [](const Variable& v) { return select(v, 1, 2); }, "select(-2, -1)")
                .shape(),
            (Shape{2, 4}));
}

TEST(VariableMethods, IndexSelectGather) {
  const Tensor& x = x234();
  const Tensor idx = i64({2, 0, 2}, {3});
  EXPECT_EQ(expect_same(
                x, [idx](const Variable& v) { return v.index_select(-1, idx); },
                [idx](const Variable& v) { return index_select(v, 2, idx); }, "index_select")
                .shape(),
            (Shape{2, 3, 3}));
  const Tensor g = i64({0, 3, 3, 1, 2, 2, 0, 0, 1, 1, 3, 2}, {2, 3, 2});
  EXPECT_EQ(expect_same(
                x, [g](const Variable& v) { return v.gather(-1, g); },
                [g](const Variable& v) { return gather(v, 2, g); }, "gather")
                .shape(),
            (Shape{2, 3, 2}));
}

TEST(VariableMethods, ChainLikePyTorch) {
  // x.softmax(-1).amax(-1).mean() reads as in PyTorch and gradchecks
  EXPECT_TRUE(testing::grad_ok(
      [](const testing::Vars& v) {
        return (v[0].softmax(-1).amax(-1, true) * v[0]).flatten(1).mean({0, -1}) + v[0].abs().sum();
      },
      {testing::away_from_zero({2, 3, 4}, 10)}));
}

// ---- operators ----------------------------------------------------------------------------------

// The four ops as functions on Tensors, the reference for every operand combination.
struct Op {
  const char* name;
  Tensor (*tt)(const Tensor&, const Tensor&);
  std::function<Variable(const Variable&, const Variable&)> vv;
  std::function<Variable(const Variable&, const Tensor&)> vt;
  std::function<Variable(const Tensor&, const Variable&)> tv;
  std::function<Variable(const Variable&, double)> vd;
  std::function<Variable(double, const Variable&)> dv;
};

std::vector<Op> ops() {
  return {
      {"+", add, [](auto& a, auto& b) { return a + b; }, [](auto& a, auto& b) { return a + b; },
       [](auto& a, auto& b) { return a + b; }, [](auto& a, double b) { return a + b; },
       [](double a, auto& b) { return a + b; }},
      {"-", sub, [](auto& a, auto& b) { return a - b; }, [](auto& a, auto& b) { return a - b; },
       [](auto& a, auto& b) { return a - b; }, [](auto& a, double b) { return a - b; },
       [](double a, auto& b) { return a - b; }},
      {"*", mul, [](auto& a, auto& b) { return a * b; }, [](auto& a, auto& b) { return a * b; },
       [](auto& a, auto& b) { return a * b; }, [](auto& a, double b) { return a * b; },
       [](double a, auto& b) { return a * b; }},
      {"/", div, [](auto& a, auto& b) { return a / b; }, [](auto& a, auto& b) { return a / b; },
       [](auto& a, auto& b) { return a / b; }, [](auto& a, double b) { return a / b; },
       [](double a, auto& b) { return a / b; }},
  };
}

TEST(VariableOperators, EveryCombinationOfVariableTensorAndDouble) {
  const Tensor a = input({2, 3}, 11, 0.5, 1.5), b = input({3}, 12, 0.5, 1.5);
  const double s = 1.25;
  const Tensor sa = Tensor::scalar(s, DType::Float64);
  for (const Op& op : ops()) {
    const auto same = [&](const Variable& got, const Tensor& want, const char* form) {
      EXPECT_EQ(got.shape(), want.shape()) << op.name << " " << form;
      EXPECT_EQ(got.data().to_vector<double>(), want.to_vector<double>()) << op.name << " " << form;
    };
    same(op.vv(Variable(a), Variable(b)), op.tt(a, b), "Variable, Variable");
    same(op.vt(Variable(a), b), op.tt(a, b), "Variable, Tensor");
    same(op.tv(a, Variable(b)), op.tt(a, b), "Tensor, Variable");
    same(op.vd(Variable(a), s), op.tt(a, sa), "Variable, double");
    same(op.dv(s, Variable(a)), op.tt(sa, a), "double, Variable");
    // gradients: the Variable side gets one, equal to the Variable-Variable form's
    const Variable x = Variable(a).requires_grad_(), y = Variable(b).requires_grad_(),
                   x2 = Variable(a).requires_grad_(), y2 = Variable(b).requires_grad_();
    op.vv(x, y).sum().backward();
    op.vt(x2, b).sum().backward();
    op.tv(a, y2).sum().backward();
    ASSERT_TRUE(x2.has_grad() && y2.has_grad()) << op.name;
    EXPECT_EQ(x2.grad().to_vector<double>(), x.grad().to_vector<double>()) << op.name;
    EXPECT_EQ(y2.grad().to_vector<double>(), y.grad().to_vector<double>()) << op.name;
    // and each form gradchecks
    EXPECT_TRUE(testing::grad_ok([&](const testing::Vars& v) { return op.vt(v[0], b); }, {a}))
        << op.name;
    EXPECT_TRUE(testing::grad_ok([&](const testing::Vars& v) { return op.tv(a, v[0]); }, {b}))
        << op.name;
    EXPECT_TRUE(testing::grad_ok([&](const testing::Vars& v) { return op.vd(v[0], s); }, {a}))
        << op.name;
    EXPECT_TRUE(testing::grad_ok([&](const testing::Vars& v) { return op.dv(s, v[0]); }, {a}))
        << op.name;
  }
  EXPECT_EQ((-Variable(a)).data().to_vector<double>(), neg(a).to_vector<double>());
}

TEST(VariableOperators, ATensorOperandIsAConstant) {
  const Tensor t = input({3}, 13);
  const Variable x = Variable(input({2, 3}, 14)).requires_grad_();
  const Variable y = x * t + t;
  // the graph has no edge into either Tensor: mul's second input needs no gradient
  ASSERT_TRUE(y.grad_fn() != nullptr);
  const Node& add_node = *y.grad_fn();
  EXPECT_FALSE(add_node.next[1].defined());
  EXPECT_FALSE(add_node.next[0].node->next[1].defined());
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), t.expand({2, 3}).contiguous().to_vector<double>());
  // a Variable that requires no gradient with a Tensor: nothing is recorded
  const Variable c = Variable(t) * t;
  EXPECT_FALSE(c.requires_grad());
  EXPECT_TRUE(c.is_leaf());
}

TEST(VariableOperators, CompoundAssignmentRebindsAndKeepsSavedValues) {
  const Tensor xv = f64({1, -2, 3}, {3});
  const Variable x = Variable(xv).requires_grad_();
  Variable y = x * x;  // mul saved x; y's node is mul
  const Variable z = y;
  y += 1;  // y names a new node add(mul, 1); z still names the mul
  EXPECT_NE(y.grad_fn(), z.grad_fn());
  EXPECT_EQ(z.data().to_vector<double>(), (std::vector<double>{1, 4, 9}));  // not written in place
  EXPECT_EQ(y.data().to_vector<double>(), (std::vector<double>{2, 5, 10}));
  z.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, -4, 6}));  // dz/dx = 2x

  // every right-hand side, as the spelled-out expression
  const Tensor t = f64({0.5, 2, -1}, {3});
  const Variable w = Variable(f64({2, 3, 4}, {3})).requires_grad_();
  Variable h = w;
  h += w;    // 2w
  h *= t;    // 2w·t
  h -= 0.5;  // 2w·t - 0.5
  h /= w;    // (2w·t - 0.5)/w
  h *= 3;    // int literal: a double
  h -= t;
  h /= 2.0;
  h += t;
  const Variable w2 = Variable(w.data()).requires_grad_();
  const Variable want = (((2.0 * w2 * t - 0.5) / w2) * 3.0 - t) / 2.0 + t;
  // (w + w) and 2·w are the same number, so every bit agrees
  EXPECT_EQ(h.data().to_vector<double>(), want.data().to_vector<double>());
  h.sum().backward();
  want.sum().backward();
  EXPECT_EQ(w.grad().to_vector<double>(), w2.grad().to_vector<double>());
  EXPECT_EQ(w.data().to_vector<double>(), (std::vector<double>{2, 3, 4}));  // untouched

  // x op= x reads the old x on both sides
  Variable q = Variable(f64({3}, {1})).requires_grad_();
  const Variable q0 = q;
  q *= q;
  q.backward();
  EXPECT_EQ(q.item(), 9.0);
  EXPECT_EQ(q0.grad().item(), 6.0);
}

// Tensor has no +=: PyTorch's is in place, and an in-place += on a Tensor that a
// backward closure shares (add's backward hands one gy to both inputs) would change
// another gradient silently. The in-place form is spelled add_ / mul_.
template <class A, class B, class = void>
struct HasPlusAssign : std::false_type {};
template <class A, class B>
struct HasPlusAssign<A, B, std::void_t<decltype(std::declval<A&>() += std::declval<B>())>>
    : std::true_type {};
static_assert(!HasPlusAssign<Tensor, Tensor>::value, "Tensor += is not defined");
static_assert(!HasPlusAssign<Tensor, double>::value, "Tensor += is not defined");
static_assert(HasPlusAssign<Variable, Variable>::value);
static_assert(HasPlusAssign<Variable, Tensor>::value);
static_assert(HasPlusAssign<Variable, double>::value);
static_assert(!HasPlusAssign<const Variable, double>::value, "a const Variable cannot be rebound");

}  // namespace
}  // namespace minigrad
