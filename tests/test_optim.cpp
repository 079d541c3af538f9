// Optimizers (nn/optim.cpp): SGD (momentum, Nesterov, dampening, weight decay),
// Adam and AdamW step by step on a tiny quadratic, hyper-parameter checks and
// gradient clipping. Multi-step parity with torch.optim is in test_parity_nn.cpp;
// the learning-rate schedulers are in test_scheduler.cpp.
#include "minigrad/nn/optim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "minigrad/autograd/functions.h"
#include "testing.h"

namespace minigrad {
namespace {

using testing::f64;
using testing::throws_with;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// f(θ) = ½ Σ (θ - c)²  with gradient θ - c, for c = (1, -2).
const Tensor& target() {
  static const Tensor c = f64({1, -2}, {2});
  return c;
}
void quadratic_backward(Variable& theta) {
  theta.zero_grad();
  const Variable d = theta - Variable(target());
  (sum(d * d) * 0.5).backward();
}
double distance(const Variable& theta) { return max_abs_diff(theta.data(), target()); }

TEST(SGD, PlainStepIsMinusLrTimesGradient) {
  Variable theta = Variable(f64({3, 0}, {2})).requires_grad_();  // gradient (2, 2)
  nn::SGD opt({theta}, nn::SGDOptions(0.1));
  quadratic_backward(theta);
  opt.step();
  EXPECT_EQ(max_abs_diff(theta.data(), f64({2.8, -0.2}, {2})), 0.0);
  // On this quadratic each step shrinks the distance by (1 - lr).
  for (int k = 0; k < 50; ++k) quadratic_backward(theta), opt.step();
  EXPECT_NEAR(distance(theta), 2.0 * std::pow(0.9, 51), 1e-12);
}

TEST(SGD, MomentumNesterovDampeningAndWeightDecayByHand) {
  for (const nn::SGDOptions& o :
       {nn::SGDOptions(0.1).momentum(0.9), nn::SGDOptions(0.1).momentum(0.9).nesterov(true),
        nn::SGDOptions(0.05).momentum(0.8).dampening(0.3).weight_decay(0.1)}) {
    Variable theta = Variable(f64({3, 0}, {2})).requires_grad_();
    nn::SGD opt({theta}, o);
    // The same recurrence, written out in doubles.
    std::vector<double> th{3, 0}, v{0, 0};
    for (int k = 0; k < 4; ++k) {
      quadratic_backward(theta);
      opt.step();
      for (size_t i = 0; i < 2; ++i) {
        double g = th[i] - target().data<double>()[i] + o.weight_decay() * th[i];
        v[i] = k == 0 ? g : o.momentum() * v[i] + (1 - o.dampening()) * g;
        th[i] -= o.lr() * (o.nesterov() ? g + o.momentum() * v[i] : v[i]);
      }
      EXPECT_LT(max_abs_diff(theta.data(), f64({th[0], th[1]}, {2})), 1e-14) << "step " << k;
    }
  }
}

TEST(SGD, MomentumConverges) {
  Variable theta = Variable(f64({3, 0}, {2})).requires_grad_();
  nn::SGD opt({theta}, nn::SGDOptions(0.1).momentum(0.9).nesterov(true));
  for (int k = 0; k < 200; ++k) quadratic_backward(theta), opt.step();
  EXPECT_LT(distance(theta), 1e-6);
}

TEST(SGD, ParametersWithoutGradientsAreLeftAlone) {
  Variable a = Variable(f64({1, 2}, {2})).requires_grad_(),
           b = Variable(f64({3}, {1})).requires_grad_();
  nn::SGD opt({a, b}, nn::SGDOptions(0.1).momentum(0.9));
  sum(a * a).backward();  // b gets no gradient
  opt.step();
  EXPECT_EQ(b.data().at({0}), 3.0);
  EXPECT_EQ(max_abs_diff(a.data(), f64({0.8, 1.6}, {2})), 0.0);
}

// Adam's first step: m̂ = g, v̂ = g², so θ moves by lr·g/(|g| + ε) ≈ lr·sign(g),
// whatever the gradient's size.
TEST(Adam, FirstStepMovesByLrInEachCoordinate) {
  Variable theta = Variable(f64({101, -2.001}, {2})).requires_grad_();  // gradients 100 and -0.001
  nn::Adam opt({theta}, nn::AdamOptions(0.01));
  quadratic_backward(theta);
  opt.step();
  EXPECT_NEAR(theta.data().at({0}), 101 - 0.01 * 100 / (100 + 1e-8), 1e-13);
  EXPECT_NEAR(theta.data().at({1}), -2.001 + 0.01 * 0.001 / (0.001 + 1e-8), 1e-13);
  EXPECT_EQ(opt.steps(), 1);
}

TEST(Adam, TwoStepsByHandAndConvergence) {
  const double lr = 0.1, beta1 = 0.8, beta2 = 0.9, eps = 1e-6;
  const auto o = nn::AdamOptions(lr).betas({beta1, beta2}).eps(eps);
  Variable theta = Variable(f64({3, 0}, {2})).requires_grad_();
  nn::Adam opt({theta}, o);
  std::vector<double> th{3, 0}, m{0, 0}, v{0, 0};
  for (int t = 1; t <= 3; ++t) {
    quadratic_backward(theta);
    opt.step();
    for (size_t i = 0; i < 2; ++i) {
      const double g = th[i] - target().data<double>()[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const double mh = m[i] / (1 - std::pow(beta1, t)), vh = v[i] / (1 - std::pow(beta2, t));
      th[i] -= lr * mh / (std::sqrt(vh) + eps);
    }
    EXPECT_LT(max_abs_diff(theta.data(), f64({th[0], th[1]}, {2})), 1e-14) << "step " << t;
  }
  // With a constant lr Adam hovers within about lr of the minimum; a smaller lr closes in.
  for (int k = 0; k < 300; ++k) quadratic_backward(theta), opt.step();
  EXPECT_LT(distance(theta), 0.05);
  opt.set_lr(0.001);
  for (int k = 0; k < 300; ++k) quadratic_backward(theta), opt.step();
  EXPECT_LT(distance(theta), 2e-3);
}

// With a zero gradient, AdamW only decays (θ ← θ(1 - lr·λ)); Adam's L2 term goes
// through the moments instead and moves θ by ≈ lr·sign(θ).
TEST(AdamW, WeightDecayIsDecoupled) {
  Variable a = Variable(f64({2, -4}, {2})).requires_grad_(),
           b = Variable(f64({2, -4}, {2})).requires_grad_();
  nn::AdamW adamw({a}, nn::AdamWOptions(0.1).weight_decay(0.5));
  nn::Adam adam({b}, nn::AdamOptions(0.1).weight_decay(0.5));
  a.mutable_grad() = Tensor::zeros({2}, DType::Float64);
  b.mutable_grad() = Tensor::zeros({2}, DType::Float64);
  adamw.step();
  adam.step();
  EXPECT_EQ(max_abs_diff(a.data(), f64({2 * 0.95, -4 * 0.95}, {2})), 0.0);
  EXPECT_NEAR(b.data().at({0}), 2 - 0.1, 1e-7);
  EXPECT_NEAR(b.data().at({1}), -4 + 0.1, 1e-7);
  // The default decay of AdamW is 0.01, as in PyTorch.
  EXPECT_EQ(static_cast<const nn::AdamWOptions&>(nn::AdamW({a}).defaults()).weight_decay(), 0.01);
  EXPECT_EQ(static_cast<const nn::AdamOptions&>(nn::Adam({a}).defaults()).weight_decay(), 0.0);
}

TEST(AdamW, Converges) {
  Variable theta = Variable(f64({3, 0}, {2})).requires_grad_();
  nn::AdamW opt({theta}, nn::AdamWOptions(0.05).weight_decay(0.0));
  for (int k = 0; k < 400; ++k) quadratic_backward(theta), opt.step();
  EXPECT_LT(distance(theta), 1e-3);
}

TEST(Optimizer, ZeroGradAndSetLr) {
  Variable a = Variable(f64({1}, {1})).requires_grad_();
  nn::SGD opt({a}, nn::SGDOptions(0.1));
  sum(a).backward();
  opt.zero_grad();
  EXPECT_FALSE(a.has_grad());
  opt.set_lr(0.5);
  EXPECT_EQ(opt.lr(), 0.5);
  EXPECT_EQ(opt.params().size(), 1u);
}

// The defaults are PyTorch's (torch.optim and libtorch's options); SGD has no default lr.
TEST(Optimizer, OptionDefaultsArePyTorchs) {
  const nn::SGDOptions sgd(0.1);
  EXPECT_EQ(sgd.lr(), 0.1);
  EXPECT_EQ(sgd.momentum(), 0.0);
  EXPECT_EQ(sgd.dampening(), 0.0);
  EXPECT_EQ(sgd.weight_decay(), 0.0);
  EXPECT_FALSE(sgd.nesterov());
  const nn::AdamOptions adam;
  EXPECT_EQ(adam.lr(), 1e-3);
  EXPECT_EQ(adam.betas(), std::make_tuple(0.9, 0.999));
  EXPECT_EQ(adam.eps(), 1e-8);
  EXPECT_EQ(adam.weight_decay(), 0.0);
  EXPECT_FALSE(adam.amsgrad());
  const nn::AdamWOptions adamw;
  EXPECT_EQ(adamw.lr(), 1e-3);
  EXPECT_EQ(adamw.betas(), std::make_tuple(0.9, 0.999));
  EXPECT_EQ(adamw.eps(), 1e-8);
  EXPECT_EQ(adamw.weight_decay(), 1e-2);
  EXPECT_FALSE(adamw.amsgrad());
  // Setters chain; the one group takes a copy of the defaults, and the optimizer's lr
  // is the group's (set_lr leaves the defaults alone, as PyTorch's param_groups do).
  Variable p = Variable(f64({1}, {1})).requires_grad_();
  nn::Adam opt({p}, nn::AdamOptions(3e-4).betas({0.9, 0.98}).eps(1e-9).weight_decay(0));
  const auto& group = static_cast<const nn::AdamOptions&>(opt.param_groups()[0].options());
  EXPECT_EQ(group.betas(), std::make_tuple(0.9, 0.98));
  EXPECT_EQ(group.eps(), 1e-9);
  opt.set_lr(0.25);
  EXPECT_EQ(group.lr(), 0.25);
  EXPECT_EQ(static_cast<const nn::AdamOptions&>(opt.defaults()).lr(), 3e-4);
}

// AMSGrad divides by the running maximum of v: after a large gradient and then small
// ones, its steps stay smaller than Adam's.
TEST(Adam, AmsgradDividesByTheRunningMaxOfV) {
  Variable a = Variable(f64({0}, {1})).requires_grad_(),
           b = Variable(f64({0}, {1})).requires_grad_();
  nn::Adam ams({a}, nn::AdamOptions(0.1).amsgrad(true));
  nn::Adam plain({b}, nn::AdamOptions(0.1));
  double m = 0, v = 0, v_max = 0, th = 0;
  const double b1 = 0.9, b2 = 0.999;
  for (int t = 1; t <= 4; ++t) {
    const double g = t == 1 ? 10.0 : 0.1;
    a.mutable_grad() = f64({g}, {1});
    b.mutable_grad() = f64({g}, {1});
    ams.step();
    plain.step();
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    v_max = std::max(v_max, v);
    th -= 0.1 / (1 - std::pow(b1, t)) * m / (std::sqrt(v_max / (1 - std::pow(b2, t))) + 1e-8);
    EXPECT_NEAR(a.data().at({0}), th, 1e-14) << "step " << t;
  }
  EXPECT_NE(a.data().at({0}), b.data().at({0}));
  std::vector<std::string> names;
  for (const auto& [name, t] : ams.state_dict()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"lr", "step", "exp_avg.0", "exp_avg_sq.0",
                                             "max_exp_avg_sq.0"}));
}

TEST(Optimizer, HyperParametersAreValidated) {
  Variable p = Variable(f64({1}, {1})).requires_grad_();
  using E = std::invalid_argument;
  EXPECT_TRUE(
      throws_with<E>([&] { nn::SGD({p}, nn::SGDOptions(-0.1)); }, {"learning rate", "-0.1"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::SGD({p}, nn::SGDOptions(kNaN)); }, {"learning rate"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::SGD({p}, nn::SGDOptions(0.1).momentum(-0.5)); },
                             {"SGD", "momentum"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::SGD({p}, nn::SGDOptions(0.1).weight_decay(-1)); },
                             {"SGD", "weight_decay"}));
  EXPECT_TRUE(
      throws_with<E>([&] { nn::SGD({p}, nn::SGDOptions(0.1).nesterov(true)); }, {"nesterov"}));
  EXPECT_TRUE(throws_with<E>(
      [&] { nn::SGD({p}, nn::SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)); },
      {"nesterov", "dampening"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::Adam({p}, nn::AdamOptions().betas({1.0, 0.999}));
      },
      {"Adam", "beta1"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::Adam({p}, nn::AdamOptions().betas({0.9, -0.1}));
      },
      {"Adam", "beta2"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::Adam({p}, nn::AdamOptions().eps(-1)); }, {"Adam", "eps"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::AdamW({p}, nn::AdamWOptions().weight_decay(-0.01)); },
                             {"weight_decay"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::Adam({p}, nn::AdamOptions(INFINITY)); }, {"learning rate"}));
  nn::SGD ok({p}, nn::SGDOptions(0.1));
  EXPECT_TRUE(throws_with<E>([&] { ok.set_lr(-1); }, {"learning rate"}));
  EXPECT_EQ(ok.lr(), 0.1);
  // What is optimised must be a leaf that requires grad.
  EXPECT_TRUE(throws_with<E>([&] { nn::SGD({Variable(f64({1}, {1}))}, nn::SGDOptions(0.1)); },
                             {"parameter 0", "leaf"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::Adam({p, p * 2.0}); }, {"parameter 1", "leaf"}));
}

// ---- clip_grad_norm -------------------------------------------------------------------------

TEST(ClipGradNorm, ReturnsThePreClipNormAndScales) {
  Variable a = Variable(f64({0, 0}, {2})).requires_grad_(),
           b = Variable(f64({0}, {1})).requires_grad_(),
           none = Variable(f64({0}, {1})).requires_grad_();
  a.mutable_grad() = f64({3, 0}, {2});
  b.mutable_grad() = f64({4}, {1});  // joint norm 5
  EXPECT_DOUBLE_EQ(nn::utils::clip_grad_norm_({a, b, none}, 1.0), 5.0);
  const double scale = 1.0 / (5.0 + 1e-6);  // PyTorch's max_norm / (norm + 1e-6)
  EXPECT_NEAR(a.grad().at({0}), 3 * scale, 1e-15);
  EXPECT_NEAR(b.grad().at({0}), 4 * scale, 1e-15);
  EXPECT_FALSE(none.has_grad());
  // Under max_norm nothing changes, and the norm is still returned.
  const Tensor before = a.grad().clone();
  EXPECT_NEAR(nn::utils::clip_grad_norm_({a, b}, 2.0), 5 * scale, 1e-15);
  EXPECT_EQ(max_abs_diff(a.grad(), before), 0.0);
  // float32 gradients are scaled in float32.
  Variable c = Variable(Tensor::zeros({2})).requires_grad_();
  c.mutable_grad() = Tensor::full({2}, 10.0);
  EXPECT_NEAR(nn::utils::clip_grad_norm_({c}, 2.0), std::sqrt(200.0), 1e-4);
  EXPECT_NEAR(std::sqrt(sum(mul(c.grad(), c.grad())).item()), 2.0, 1e-5);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { nn::utils::clip_grad_norm_({a}, 0.0); },
                                                 {"max_norm"}));
}

// The other norms: ‖g‖_∞ = max |g_i| and ‖g‖_1 = Σ |g_i|, with the same clip.
TEST(ClipGradNorm, InfinityAndOneNorms) {
  Variable a = Variable(f64({0, 0}, {2})).requires_grad_(),
           b = Variable(f64({0}, {1})).requires_grad_();
  a.mutable_grad() = f64({3, -6}, {2});
  b.mutable_grad() = f64({4}, {1});
  EXPECT_DOUBLE_EQ(nn::utils::clip_grad_norm_({a, b}, 100.0, INFINITY), 6.0);
  EXPECT_DOUBLE_EQ(nn::utils::clip_grad_norm_({a, b}, 100.0, 1.0), 13.0);
  EXPECT_DOUBLE_EQ(nn::utils::clip_grad_norm_({a, b}, 3.0, INFINITY), 6.0);
  const double scale = 3.0 / (6.0 + 1e-6);
  EXPECT_NEAR(a.grad().at({1}), -6 * scale, 1e-15);
  EXPECT_NEAR(b.grad().at({0}), 4 * scale, 1e-15);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { nn::utils::clip_grad_norm_({a}, 1.0, 0.0); },
                                                 {"clip_grad_norm_", "norm_type"}));
}

}  // namespace
// ---- state_dict / load_state_dict ------------------------------------------------------

std::map<std::string, Tensor> as_map(const std::vector<std::pair<std::string, Tensor>>& entries) {
  return {entries.begin(), entries.end()};
}

// An optimizer restored from another's state_dict takes the same next steps.
template <class Opt, class Options>
void expect_resumes_exactly(Options options, const std::vector<std::string>& names) {
  Variable a = Variable(f64({3, 3}, {2})).requires_grad_(),
           b = Variable(f64({3, 3}, {2})).requires_grad_();
  Opt first({a}, options);
  for (int i = 0; i < 3; ++i) {
    quadratic_backward(a);
    first.step();
  }
  const auto state = first.state_dict();
  std::vector<std::string> got;
  for (const auto& [name, t] : state) got.push_back(name);
  EXPECT_EQ(got, names);
  b.mutable_data().copy_(a.data());
  Opt second({b}, options);
  second.load_state_dict(as_map(state));
  for (int i = 0; i < 3; ++i) {
    quadratic_backward(a);
    first.step();
    quadratic_backward(b);
    second.step();
    EXPECT_EQ(a.data().to_vector<double>(), b.data().to_vector<double>()) << "step " << i;
  }
}

TEST(OptimizerState, SgdMomentumResumesExactly) {
  expect_resumes_exactly<nn::SGD>(nn::SGDOptions(0.1).momentum(0.9).nesterov(true),
                                  {"lr", "momentum_buffer.0"});
}

TEST(OptimizerState, AdamAndAdamWResumeExactly) {
  expect_resumes_exactly<nn::Adam>(nn::AdamOptions(0.1),
                                   {"lr", "step", "exp_avg.0", "exp_avg_sq.0"});
  expect_resumes_exactly<nn::AdamW>(nn::AdamWOptions(0.1).weight_decay(0.1),
                                    {"lr", "step", "exp_avg.0", "exp_avg_sq.0"});
  expect_resumes_exactly<nn::AdamW>(
      nn::AdamWOptions(0.1).amsgrad(true),
      {"lr", "step", "exp_avg.0", "exp_avg_sq.0", "max_exp_avg_sq.0"});
}

// Before the first step there are no buffers; loading such a state into a used
// optimizer takes them away again, as in a fresh one.
TEST(OptimizerState, AbsentBuffersAreRestoredAsAbsent) {
  Variable a = Variable(f64({3, 3}, {2})).requires_grad_();
  nn::Adam fresh({a}, nn::AdamOptions(0.1));
  const auto empty = fresh.state_dict();
  EXPECT_EQ(empty.size(), 2u);  // lr and step only
  nn::Adam used({a}, nn::AdamOptions(0.1));
  quadratic_backward(a);
  used.step();
  used.load_state_dict(as_map(empty));
  EXPECT_EQ(used.steps(), 0);
  EXPECT_EQ(used.state_dict().size(), 2u);
}

TEST(OptimizerState, BadStatesThrowNamingTheEntryAndChangeNothing) {
  Variable a = Variable(f64({3, 3}, {2})).requires_grad_();
  nn::Adam adam({a}, nn::AdamOptions(0.1));
  quadratic_backward(a);
  adam.step();
  const auto good = as_map(adam.state_dict());
  auto with = [&](const std::string& name, const Tensor& t) {
    auto s = good;
    s[name] = t;
    return s;
  };
  auto without = [&](const std::string& name) {
    auto s = good;
    s.erase(name);
    return s;
  };
  const std::vector<std::pair<std::map<std::string, Tensor>, std::vector<std::string>>> cases = {
      {without("lr"), {"Adam.load_state_dict", "missing 'lr'"}},
      {without("step"), {"missing 'step'"}},
      {with("step", Tensor::from_vector<int64_t>({-1}, {1})), {"'step' is negative"}},
      {with("lr", Tensor::from_vector<double>({kNaN}, {1})), {"'lr'", "finite"}},
      {with("lr", Tensor::zeros({2}, DType::Float64)), {"'lr' is float64[2]"}},
      {with("exp_avg.1", Tensor::zeros({2}, DType::Float64)),
       {"'exp_avg.1'", "parameter 1", "has 1"}},
      {with("exp_avg.0", Tensor::zeros({3}, DType::Float64)),
       {"'exp_avg.0' is float64[3]", "float64[2]"}},
      {with("exp_avg.0", Tensor::zeros({2}, DType::Float32)), {"'exp_avg.0' is float32[2]"}},
      {with("momentum_buffer.0", Tensor::zeros({2}, DType::Float64)),
       {"unexpected 'momentum_buffer.0'"}},
      {with("exp_avg.x", Tensor::zeros({2}, DType::Float64)), {"unexpected 'exp_avg.x'"}},
  };
  const auto before = adam.state_dict();
  for (const auto& [state, parts] : cases) {
    try {
      adam.load_state_dict(state);
      ADD_FAILURE() << "no error for " << parts.front();
    } catch (const std::invalid_argument& e) {
      for (const std::string& p : parts)
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
    const auto after = adam.state_dict();
    ASSERT_EQ(after.size(), before.size());
    for (size_t k = 0; k < after.size(); ++k) {
      EXPECT_EQ(after[k].first, before[k].first);
      EXPECT_EQ(after[k].second.to_vector<double>(), before[k].second.to_vector<double>())
          << after[k].first;
    }
  }
}

// ---- parameter groups ------------------------------------------------------------------

// Two groups of one parameter each: a [2] at the defaults, b [1] with its own options.
struct TwoGroups {
  Variable a = Variable(f64({3, 0}, {2})).requires_grad_();
  Variable b = Variable(f64({-1}, {1})).requires_grad_();
  std::vector<nn::OptimizerParamGroup> groups(double b_lr, double b_decay) const {
    return {nn::OptimizerParamGroup({a}),
            nn::OptimizerParamGroup({b}, std::make_unique<nn::AdamWOptions>(
                                             nn::AdamWOptions(b_lr).weight_decay(b_decay)))};
  }
  void backward() {
    a.zero_grad();
    b.zero_grad();
    const Variable d = a - Variable(target());
    (sum(d * d) * 0.5 + sum(b * b)).backward();
  }
};

// Each group steps with its own options: the grouped optimizer moves each parameter
// exactly as an optimizer of that parameter alone with the group's options does.
TEST(OptimizerGroups, EachGroupStepsWithItsOwnOptions) {
  TwoGroups g, alone;
  const auto defaults = nn::AdamWOptions(0.1).betas({0.8, 0.9}).weight_decay(0.2);
  nn::AdamW grouped(g.groups(0.03, 0.0), defaults);
  nn::AdamW only_a({alone.a}, defaults);
  nn::AdamW only_b({alone.b}, nn::AdamWOptions(0.03).weight_decay(0.0));
  ASSERT_EQ(grouped.param_groups().size(), 2u);
  EXPECT_EQ(grouped.params().size(), 2u);
  // The group without options took a copy of the defaults; the other kept its own.
  const auto& o0 = static_cast<const nn::AdamWOptions&>(grouped.param_groups()[0].options());
  const auto& o1 = static_cast<const nn::AdamWOptions&>(grouped.param_groups()[1].options());
  EXPECT_EQ(o0.betas(), std::make_tuple(0.8, 0.9));
  EXPECT_EQ(o0.weight_decay(), 0.2);
  EXPECT_EQ(o1.lr(), 0.03);
  EXPECT_EQ(o1.betas(), std::make_tuple(0.9, 0.999));
  for (int k = 0; k < 4; ++k) {
    g.backward();
    alone.backward();
    grouped.step();
    only_a.step();
    only_b.step();
    EXPECT_EQ(g.a.data().to_vector<double>(), alone.a.data().to_vector<double>()) << k;
    EXPECT_EQ(g.b.data().to_vector<double>(), alone.b.data().to_vector<double>()) << k;
  }
  // Options changed in place take effect at the next step, as in libtorch.
  static_cast<nn::AdamWOptions&>(grouped.param_groups()[1].options()).lr(0.5);
  static_cast<nn::AdamWOptions&>(only_b.param_groups()[0].options()).lr(0.5);
  g.backward();
  alone.backward();
  grouped.step();
  only_b.step();
  EXPECT_EQ(g.b.data().to_vector<double>(), alone.b.data().to_vector<double>());
}

TEST(OptimizerGroups, LrIsTheCommonRateOrALogicErrorAndSetLrSetsEveryGroup) {
  TwoGroups g;
  nn::AdamW opt(g.groups(0.05, 0.0), nn::AdamWOptions(0.1));
  EXPECT_TRUE(throws_with<std::logic_error>([&] { (void)opt.lr(); },
                                            {"AdamW.lr()", "2 parameter groups", "0.1", "0.05"}));
  opt.set_lr(0.2);
  EXPECT_EQ(opt.lr(), 0.2);
  for (const nn::OptimizerParamGroup& group : opt.param_groups())
    EXPECT_EQ(group.options().get_lr(), 0.2);
  EXPECT_EQ(opt.defaults().get_lr(), 0.1);  // the defaults stay, as PyTorch's
}

TEST(OptimizerGroups, AddParamGroupAppendsWithDefaultsAndItsOwnStepCount) {
  TwoGroups g;
  nn::Adam opt({g.a}, nn::AdamOptions(0.1));
  g.backward();
  opt.step();
  opt.add_param_group(nn::OptimizerParamGroup({g.b}));
  ASSERT_EQ(opt.param_groups().size(), 2u);
  EXPECT_EQ(opt.param_groups()[1].options().get_lr(), 0.1);
  EXPECT_EQ(opt.params().size(), 2u);
  EXPECT_EQ(opt.steps(0), 1);
  EXPECT_EQ(opt.steps(1), 0);
  // b's first step is a first step (bias-corrected by t = 1): it moves by lr·sign(g).
  g.backward();
  opt.step();
  EXPECT_NEAR(g.b.data().at({0}), -1 + 0.1, 1e-9);
  EXPECT_EQ(opt.steps(0), 2);
  EXPECT_EQ(opt.steps(1), 1);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        opt.add_param_group(
            nn::OptimizerParamGroup({Variable(f64({1}, {1})).requires_grad_()},
                                    std::make_unique<nn::AdamOptions>(nn::AdamOptions().eps(-1))));
      },
      {"Adam", "eps"}));
  EXPECT_EQ(opt.param_groups().size(), 2u);  // a refused group is not added
}

TEST(OptimizerGroups, BadGroupsThrowNamingTheGroup) {
  TwoGroups g;
  using E = std::invalid_argument;
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::AdamW({nn::OptimizerParamGroup({g.a, g.b}), nn::OptimizerParamGroup({g.b})});
      },
      {"param group 1", "already parameter 1", "one group"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::SGD({g.a, g.b, g.a}, nn::SGDOptions(0.1));
      },
      {"param group 0", "entry 2", "already parameter 0"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::AdamW({nn::OptimizerParamGroup({g.a}), nn::OptimizerParamGroup({})});
      },
      {"param group 1 is empty"}));
  EXPECT_TRUE(
      throws_with<E>([&] { nn::Adam(std::vector<Variable>{}); }, {"param group 0 is empty"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::Adam(std::vector<nn::OptimizerParamGroup>{}); },
                             {"no parameter group"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        nn::AdamW({nn::OptimizerParamGroup(
            {g.a}, std::make_unique<nn::AdamOptions>(nn::AdamOptions(0.1)))});
      },
      {"AdamW", "param group 0", "not AdamWOptions"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::AdamW(g.groups(-0.5, 0.0)); }, {"learning rate", "-0.5"}));
  nn::Adam opt({g.a});
  EXPECT_TRUE(throws_with<E>([&] { opt.add_param_group(nn::OptimizerParamGroup({g.a})); },
                             {"param group 1", "already parameter 0"}));
  EXPECT_TRUE(throws_with<std::logic_error>([&] { (void)nn::OptimizerParamGroup({g.a}).options(); },
                                            {"no options"}));
}

// One group saves the entries of an optimizer without groups ("lr" [1], "step" [1]), so
// checkpoints written before groups load; G > 1 groups save G rates, G step counts and
// the group sizes, and resume exactly.
TEST(OptimizerGroups, StateRoundTripsWithGroups) {
  const auto one = nn::AdamW({Variable(f64({1}, {1})).requires_grad_()}).state_dict();
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[0].first, "lr");
  EXPECT_EQ(one[0].second.shape(), Shape{1});
  EXPECT_EQ(one[1].first, "step");
  EXPECT_EQ(one[1].second.shape(), Shape{1});

  TwoGroups g, h;
  nn::AdamW first(g.groups(0.05, 0.0), nn::AdamWOptions(0.1));
  for (int k = 0; k < 3; ++k) g.backward(), first.step();
  first.add_param_group(nn::OptimizerParamGroup({Variable(f64({2}, {1})).requires_grad_()}));
  const auto state = first.state_dict();
  std::vector<std::string> names;
  for (const auto& [name, t] : state) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"lr", "group_sizes", "step", "exp_avg.0", "exp_avg.1",
                                             "exp_avg_sq.0", "exp_avg_sq.1"}));
  const auto m = as_map(state);
  EXPECT_EQ(m.at("lr").to_vector<double>(), (std::vector<double>{0.1, 0.05, 0.1}));
  EXPECT_EQ(m.at("group_sizes").to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(m.at("step").to_vector<int64_t>(), (std::vector<int64_t>{3, 3, 0}));

  h.a.mutable_data().copy_(g.a.data());
  h.b.mutable_data().copy_(g.b.data());
  nn::AdamW second(h.groups(0.7, 0.0), nn::AdamWOptions(0.9));
  second.add_param_group(nn::OptimizerParamGroup({Variable(f64({2}, {1})).requires_grad_()}));
  second.load_state_dict(m);
  EXPECT_EQ(second.param_groups()[1].options().get_lr(), 0.05);
  for (int k = 0; k < 3; ++k) {
    g.backward(), first.step();
    h.backward(), second.step();
    EXPECT_EQ(h.a.data().to_vector<double>(), g.a.data().to_vector<double>()) << k;
    EXPECT_EQ(h.b.data().to_vector<double>(), g.b.data().to_vector<double>()) << k;
  }
}

// A state saved with other groups names both layouts and changes nothing.
TEST(OptimizerGroups, LoadingIntoOtherGroupsThrowsNamingBothLayouts) {
  TwoGroups g;
  nn::AdamW two(g.groups(0.05, 0.0), nn::AdamWOptions(0.1));
  nn::AdamW one({g.a, g.b}, nn::AdamWOptions(0.3));
  nn::AdamW swapped({nn::OptimizerParamGroup({g.a, g.b}),
                     nn::OptimizerParamGroup({Variable(f64({1}, {1})).requires_grad_()})});
  g.backward();
  two.step();
  one.step();
  using E = std::invalid_argument;
  EXPECT_TRUE(throws_with<E>([&] { one.load_state_dict(as_map(two.state_dict())); },
                             {"AdamW.load_state_dict", "saved with 2 groups of sizes [1, 1]",
                              "this optimizer has 1 group of sizes [2]"}));
  EXPECT_TRUE(
      throws_with<E>([&] { two.load_state_dict(as_map(one.state_dict())); },
                     {"saved with 1 group,", "this optimizer has 2 groups of sizes [1, 1]"}));
  EXPECT_TRUE(throws_with<E>([&] { swapped.load_state_dict(as_map(two.state_dict())); },
                             {"[1, 1]", "[2, 1]"}));
  EXPECT_EQ(one.lr(), 0.3);
  EXPECT_EQ(one.steps(), 1);
  auto bad_lr = as_map(two.state_dict());
  bad_lr["lr"] = f64({0.1}, {1});
  EXPECT_TRUE(
      throws_with<E>([&] { two.load_state_dict(bad_lr); }, {"'lr' is float64[1]", "float64[2]"}));
}

}  // namespace minigrad
