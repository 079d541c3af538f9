// Learning-rate schedulers (nn/scheduler.cpp): PyTorch's learning rates step by step,
// driving SGD and Adam (fixtures from tools/make_scheduler_fixtures.py), the
// constructor's lr(0) and the step count, state saved and restored mid-run, refused
// learning rates and states, and the shapes of the curves. Bad settings are rows of
// test_bad_input.cpp.
#include "minigrad/nn/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "minigrad/autograd/functions.h"
#include "parity_testing.h"
#include "testing.h"

namespace minigrad {
namespace {

using testing::f64;
using testing::load_fixture;
using testing::make_optimizer;
using testing::meta;
using testing::meta_double;
using testing::meta_int;
using testing::Parity;
using testing::throws_with;

// The λ of the fixtures' "lambda" cases: LAMBDAS in tools/make_scheduler_fixtures.py.
std::function<double(int64_t)> fixture_lambda(const std::string& name) {
  if (name == "exponential") return [](int64_t t) { return std::pow(0.9, static_cast<double>(t)); };
  if (name == "linear_warmup")
    return [](int64_t t) { return std::min(1.0, static_cast<double>(t + 1) / 4); };
  throw std::invalid_argument("unknown lambda " + name);
}

// The minigrad scheduler a fixture's metadata describes.
std::unique_ptr<nn::LRScheduler> make_scheduler(const SafetensorsFile& f, nn::Optimizer& opt) {
  const std::string kind = meta(f, "scheduler");
  if (kind == "lambda")
    return std::make_unique<nn::LambdaLR>(opt, fixture_lambda(meta(f, "lambda")));
  if (kind == "noam") {
    return std::make_unique<nn::NoamLR>(
        opt, nn::NoamLROptions(meta_int(f, "d_model"), meta_int(f, "warmup_steps")));
  }
  if (kind == "step")
    return std::make_unique<nn::StepLR>(opt, meta_int(f, "step_size"), meta_double(f, "gamma"));
  if (kind == "warmup_cosine") {
    return std::make_unique<nn::WarmupCosineLR>(
        opt, nn::WarmupCosineLROptions(meta_int(f, "total_steps"))
                 .warmup_steps(meta_int(f, "warmup_steps"))
                 .eta_min(meta_double(f, "eta_min")));
  }
  throw std::invalid_argument("unknown scheduler " + kind);
}

// ½ Σ (θ − c)², c = (1, −2): the fixtures' loss.
void quadratic_backward(Variable& theta) {
  const Variable d = theta - Variable(f64({1, -2}, {2}));
  (sum(d * d) * 0.5).backward();
}

class ParityScheduler : public ::testing::TestWithParam<std::string> {};

// Construction sets lr(0), and each optimizer.step(); scheduler.step() moves to the
// next rate: the lr the optimizer holds before step k + 1 is PyTorch's lr[k]. LambdaLR,
// NoamLR and StepLR do PyTorch's operations in its order, so their rates agree to the
// last bits (4 ulps allowed, for libm's pow); PyTorch's LinearLR and CosineAnnealingLR
// chain factors from step to step where WarmupCosineLR uses the closed form, so those
// agree up to rounding. θ after each step checks that the optimizer used the rate.
// A "groups" case has one parameter θ[g] per group, each group on its own curve from
// its own base lr: lr is then [steps + 1, G], get_last_lr() whole.
TEST_P(ParityScheduler, LearningRatesAndParametersStepByStep) {
  const std::string name = "sched_" + GetParam();
  const SafetensorsFile f = load_fixture(name, "f64");
  const Tensor lr_table = f.at("lr");
  const bool grouped = lr_table.dim() == 2;
  const Tensor theta0 = f.at("theta0");
  std::vector<Variable> params;
  if (grouped) {
    for (int64_t g = 0; g < theta0.numel(); ++g)
      params.push_back(Variable(theta0.narrow(0, g, 1).clone()).requires_grad_());
  } else {
    params.push_back(Variable(theta0.clone()).requires_grad_());
  }
  const std::unique_ptr<nn::Optimizer> opt = make_optimizer(f, params);
  const std::unique_ptr<nn::LRScheduler> sched = make_scheduler(f, *opt);
  const int64_t groups = grouped ? lr_table.size(1) : 1;
  ASSERT_EQ(static_cast<int64_t>(opt->param_groups().size()), groups);
  const std::vector<double> want = lr_table.to_vector<double>();  // [steps + 1, groups]
  const Tensor thetas = f.at("theta");
  const int64_t steps = meta_int(f, "steps");
  ASSERT_EQ(static_cast<int64_t>(want.size()), (steps + 1) * groups);
  const bool chained = meta(f, "scheduler") == "warmup_cosine";

  double worst = 0;
  auto check_lr = [&](int64_t k) {
    EXPECT_EQ(sched->last_epoch(), k);
    ASSERT_EQ(static_cast<int64_t>(sched->get_last_lr().size()), groups);
    for (int64_t g = 0; g < groups; ++g) {
      const auto gi = static_cast<size_t>(g);
      const double got = sched->get_last_lr()[gi], w = want[static_cast<size_t>(k * groups + g)];
      const double first = want[gi];
      EXPECT_EQ(opt->param_groups()[gi].options().get_lr(), got) << "step " << k;
      worst = std::max(worst, std::abs(got - w) / first);
      if (chained) {
        EXPECT_NEAR(got, w, 1e-15 * std::max(first, sched->base_lrs()[gi]))
            << "step " << k << ", group " << g;
      } else {
        EXPECT_DOUBLE_EQ(got, w) << "step " << k << ", group " << g;
      }
    }
  };
  auto theta_now = [&] {
    std::vector<double> all;
    for (const Variable& p : params)
      for (double v : p.data().to_vector<double>()) all.push_back(v);
    return Tensor::from_vector<double>(all, {static_cast<int64_t>(all.size())});
  };
  Parity p(name, DType::Float64);
  check_lr(0);
  for (int64_t k = 1; k <= steps; ++k) {
    opt->zero_grad();
    Variable theta = params.size() == 1 ? params[0] : concat(params, 0);
    quadratic_backward(theta);
    opt->step();
    sched->step();
    check_lr(k);
    p.check("theta_" + std::to_string(k), theta_now(), thetas.select(0, k - 1));
  }
  std::ostringstream text;
  text << std::scientific << std::setprecision(2) << worst;
  RecordProperty("worst_lr_error", text.str());
  std::cout << "[  parity  ] " << name << ": worst lr error " << text.str()
            << " (relative to lr(0))\n";
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityScheduler,
                         ::testing::Values("lambda_exponential_sgd", "lambda_warmup_adam",
                                           "noam_adam", "noam_sgd_base_half", "step_sgd",
                                           "step_adam", "warmup_cosine_adam", "cosine_sgd",
                                           "lambda_groups_adamw", "warmup_cosine_groups_adamw"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// ---- the base class -------------------------------------------------------------------------

TEST(LRScheduler, ConstructionSetsTheFirstRateAndStepAdvances) {
  Variable p = Variable(f64({1}, {1})).requires_grad_();
  nn::SGD opt({p}, nn::SGDOptions(0.8));
  nn::LambdaLR sched(opt, [](int64_t t) { return 1.0 / static_cast<double>(t + 2); });
  EXPECT_EQ(sched.last_epoch(), 0);
  EXPECT_EQ(sched.base_lrs().at(0), 0.8);
  EXPECT_EQ(opt.lr(), 0.8 / 2);  // λ(0) = ½, already set
  EXPECT_EQ(sched.get_last_lr().at(0), opt.lr());
  for (int64_t t = 1; t <= 3; ++t) {
    sched.step();
    EXPECT_EQ(sched.last_epoch(), t);
    EXPECT_EQ(opt.lr(), 0.8 * (1.0 / static_cast<double>(t + 2)));
    EXPECT_EQ(sched.get_last_lr().at(0), opt.lr());
    EXPECT_EQ(sched.base_lrs().at(0), 0.8);  // the base stays, whatever the lr
  }
}

TEST(LRScheduler, AnInvalidRateThrowsNamingTheStepAndChangesNothing) {
  Variable p = Variable(f64({1}, {1})).requires_grad_();
  nn::SGD opt({p}, nn::SGDOptions(0.5));
  nn::LambdaLR sched(opt, [](int64_t t) {
    if (t == 3) throw std::runtime_error("λ refuses step 3");
    return t < 2 ? 1.0 : -1.0;
  });
  sched.step();
  using E = std::invalid_argument;
  EXPECT_TRUE(throws_with<E>([&] { sched.step(); }, {"LambdaLR", "step 2", "-0.5", "≥ 0"}));
  EXPECT_EQ(sched.last_epoch(), 1);
  EXPECT_EQ(opt.lr(), 0.5);
  EXPECT_EQ(sched.get_last_lr().at(0), 0.5);
  // The constructor's lr(0) is checked too, and so is a rate that is not finite.
  EXPECT_TRUE(throws_with<E>([&] { nn::LambdaLR(opt, [](int64_t) { return NAN; }); },
                             {"LambdaLR", "step 0", "nan"}));
  EXPECT_TRUE(throws_with<E>([&] { nn::LambdaLR(opt, [](int64_t) { return INFINITY; }); },
                             {"LambdaLR", "step 0", "inf"}));
  EXPECT_EQ(opt.lr(), 0.5);
}

TEST(LRScheduler, AnExceptionFromTheLambdaChangesNothing) {
  Variable p = Variable(f64({1}, {1})).requires_grad_();
  nn::SGD opt({p}, nn::SGDOptions(0.5));
  nn::LambdaLR sched(opt, [](int64_t t) {
    if (t == 1) throw std::runtime_error("λ refuses step 1");
    return 1.0;
  });
  EXPECT_THROW(sched.step(), std::runtime_error);
  EXPECT_EQ(sched.last_epoch(), 0);
  EXPECT_EQ(opt.lr(), 0.5);
}

// ---- state ----------------------------------------------------------------------------------

std::map<std::string, Tensor> as_map(const std::vector<std::pair<std::string, Tensor>>& entries) {
  return {entries.begin(), entries.end()};
}

using SchedulerFactory = std::function<std::unique_ptr<nn::LRScheduler>(nn::Optimizer&)>;

// Every scheduler, on Adam: 4 steps, the optimizer's and the scheduler's state into a
// fresh pair made with another lr (its constructor has set its own lr(0) by then),
// 6 more steps: the rates and the parameters are those of 10 steps without a stop,
// bit for bit.
TEST(LRSchedulerState, EverySchedulerResumesBitForBitMidRun) {
  const std::vector<std::pair<std::string, SchedulerFactory>> schedulers = {
      {"LambdaLR",
       [](nn::Optimizer& o) {
         return std::make_unique<nn::LambdaLR>(
             o, [](int64_t t) { return 1.0 / std::sqrt(static_cast<double>(t + 1)); });
       }},
      {"StepLR", [](nn::Optimizer& o) { return std::make_unique<nn::StepLR>(o, 3, 0.3); }},
      {"NoamLR",
       [](nn::Optimizer& o) { return std::make_unique<nn::NoamLR>(o, nn::NoamLROptions(8, 3)); }},
      {"WarmupCosineLR", [](nn::Optimizer& o) {
         return std::make_unique<nn::WarmupCosineLR>(
             o, nn::WarmupCosineLROptions(9).warmup_steps(2).eta_min(0.01));
       }}};
  for (const auto& [type, make] : schedulers) {
    SCOPED_TRACE(type);
    Variable a = Variable(f64({1.5, -0.5}, {2})).requires_grad_();
    nn::Adam opt_a({a}, nn::AdamOptions(0.1));
    const std::unique_ptr<nn::LRScheduler> sched_a = make(opt_a);
    EXPECT_EQ(sched_a->type_name(), type);
    auto train = [](Variable& theta, nn::Optimizer& opt, nn::LRScheduler& sched) {
      opt.zero_grad();
      quadratic_backward(theta);
      opt.step();
      sched.step();
    };
    for (int i = 0; i < 4; ++i) train(a, opt_a, *sched_a);
    const auto opt_state = opt_a.state_dict();
    const auto sched_state = sched_a->state_dict();
    std::vector<std::string> names;
    for (const auto& [name, t] : sched_state) names.push_back(name);
    EXPECT_EQ(names, (std::vector<std::string>{"last_epoch", "base_lr", "last_lr"}));

    Variable b = Variable(a.data().clone()).requires_grad_();
    nn::Adam opt_b({b}, nn::AdamOptions(0.7));
    const std::unique_ptr<nn::LRScheduler> sched_b = make(opt_b);
    opt_b.load_state_dict(as_map(opt_state));
    sched_b->load_state_dict(as_map(sched_state));
    EXPECT_EQ(sched_b->last_epoch(), 4);
    EXPECT_EQ(sched_b->base_lrs().at(0), 0.1);
    for (int i = 0; i < 6; ++i) {
      train(a, opt_a, *sched_a);
      train(b, opt_b, *sched_b);
      EXPECT_EQ(opt_b.lr(), opt_a.lr()) << "step " << 5 + i;
      EXPECT_EQ(sched_b->get_last_lr().at(0), sched_a->get_last_lr().at(0));
      EXPECT_EQ(b.data().to_vector<double>(), a.data().to_vector<double>()) << "step " << 5 + i;
    }
  }
}

TEST(LRSchedulerState, BadStatesThrowNamingTheEntryAndChangeNothing) {
  Variable p = Variable(f64({1}, {1})).requires_grad_();
  nn::SGD opt({p}, nn::SGDOptions(0.5));
  nn::StepLR sched(opt, 2, 0.5);
  sched.step();
  const auto good = as_map(sched.state_dict());
  auto with = [&](const std::string& name, const Tensor& t) {
    auto state = good;
    state[name] = t;
    return state;
  };
  auto without = [&](const std::string& name) {
    auto state = good;
    state.erase(name);
    return state;
  };
  const std::vector<std::pair<std::map<std::string, Tensor>, std::vector<std::string>>> bad = {
      {without("last_epoch"), {"StepLR.load_state_dict", "missing 'last_epoch'"}},
      {without("base_lr"), {"StepLR.load_state_dict", "missing 'base_lr'"}},
      {with("last_epoch", Tensor::from_vector<int64_t>({-1}, {1})), {"'last_epoch' is -1"}},
      {with("last_epoch", f64({3}, {1})), {"'last_epoch' is float64[1]", "int64[1]"}},
      {with("last_lr", f64({0.1, 0.2}, {2})), {"'last_lr' is float64[2]"}},
      {with("base_lr", f64({NAN}, {1})), {"'base_lr' is nan"}},
      {with("last_lr", f64({-1}, {1})), {"'last_lr' is -1"}},
      {with("step_size", f64({1}, {1})), {"StepLR.load_state_dict", "unexpected 'step_size'"}},
  };
  for (const auto& [state, parts] : bad) {
    EXPECT_THROW(sched.load_state_dict(state), std::invalid_argument);
    const std::string message = testing::message_of([&] { sched.load_state_dict(state); });
    for (const std::string& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << message;
    EXPECT_EQ(sched.last_epoch(), 1);
    EXPECT_EQ(sched.get_last_lr().at(0), 0.5);
    EXPECT_EQ(sched.base_lrs().at(0), 0.5);
  }
}

// A scheduler's state holds one base lr and one last lr per group: a state of another
// number of groups is refused, naming the count.
TEST(LRSchedulerState, StateOfAnotherGroupCountThrows) {
  Variable p = Variable(f64({1}, {1})).requires_grad_(),
           q = Variable(f64({1}, {1})).requires_grad_();
  nn::SGD one({p, q}, nn::SGDOptions(0.5));
  nn::SGD two({nn::OptimizerParamGroup({p}),
               nn::OptimizerParamGroup({q}, std::make_unique<nn::SGDOptions>(0.25))},
              nn::SGDOptions(0.5));
  nn::StepLR sched_one(one, 2, 0.5), sched_two(two, 2, 0.5);
  EXPECT_EQ(sched_two.base_lrs(), (std::vector<double>{0.5, 0.25}));
  sched_two.step();
  sched_two.step();  // t = 2: each group decays from its own rate
  EXPECT_EQ(sched_two.get_last_lr(), (std::vector<double>{0.25, 0.125}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { sched_one.load_state_dict(as_map(sched_two.state_dict())); },
      {"StepLR.load_state_dict", "'base_lr' is float64[2]", "the optimizer has 1"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { sched_two.load_state_dict(as_map(sched_one.state_dict())); },
      {"'base_lr' is float64[1]", "float64[2]"}));
  EXPECT_EQ(sched_one.base_lrs(), std::vector<double>{0.5});
  // WarmupCosineLR's floor must be under every group's base lr (the groups' lrs now).
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::WarmupCosineLR(two, nn::WarmupCosineLROptions(5).eta_min(0.2)); },
      {"WarmupCosineLR", "eta_min", "0.125", "lowest base lr"}));
}

// ---- the curves -----------------------------------------------------------------------------

// PyTorch's StepLR is chainable: it multiplies the lr the optimizer holds, so a
// change from outside carries on through the later decays.
TEST(StepLR, DecaysWhateverLrTheOptimizerHolds) {
  Variable p = Variable(f64({1}, {1})).requires_grad_();
  nn::SGD opt({p}, nn::SGDOptions(0.4));
  nn::StepLR sched(opt, 2, 0.5);
  sched.step();  // t = 1: no decay
  EXPECT_EQ(opt.lr(), 0.4);
  opt.set_lr(1.0);
  sched.step();  // t = 2: decays the lr set from outside
  EXPECT_EQ(opt.lr(), 0.5);
  sched.step();
  sched.step();  // t = 4
  EXPECT_EQ(opt.lr(), 0.25);
  EXPECT_EQ(sched.step_size(), 2);
  EXPECT_EQ(sched.gamma(), 0.5);
}

TEST(NoamLR, RisesLinearlyPeaksAtWarmupThenFallsAsOneOverRootT) {
  Variable p = Variable(f64({1}, {1})).requires_grad_();
  nn::Adam opt({p}, nn::AdamOptions(2.0));
  const int64_t d = 64, w = 10;
  nn::NoamLR sched(opt, nn::NoamLROptions(d, w));
  std::vector<double> lr{opt.lr()};
  for (int64_t t = 1; t <= 4 * w; ++t) sched.step(), lr.push_back(opt.lr());
  EXPECT_EQ(lr[0], lr[1]);                                          // step 0 takes step 1's rate
  const double peak = 2.0 / std::sqrt(static_cast<double>(d * w));  // base · (d·w)^−½
  EXPECT_DOUBLE_EQ(*std::max_element(lr.begin(), lr.end()), peak);
  EXPECT_DOUBLE_EQ(lr[w], peak);
  for (int64_t t = 1; t < w; ++t) EXPECT_DOUBLE_EQ(lr[t], peak * static_cast<double>(t) / w);
  EXPECT_DOUBLE_EQ(lr[4 * w], peak / 2);  // 1/√t: four times the steps, half the rate
}

TEST(WarmupCosineLR, WarmsUpToTheBaseDecaysToEtaMinAndStaysThere) {
  Variable p = Variable(f64({1}, {1})).requires_grad_();
  nn::SGD opt({p}, nn::SGDOptions(1.0));
  nn::WarmupCosineLR sched(opt, nn::WarmupCosineLROptions(110).warmup_steps(10).eta_min(0.1));
  std::vector<double> lr{opt.lr()};
  for (int t = 1; t < 130; ++t) sched.step(), lr.push_back(opt.lr());
  EXPECT_DOUBLE_EQ(lr[0], 0.1);  // (t + 1)/w of the base: the first step trains
  EXPECT_DOUBLE_EQ(lr[4], 0.5);
  EXPECT_DOUBLE_EQ(lr[9], 1.0);            // the warm-up ends at the base
  EXPECT_DOUBLE_EQ(lr[10], 1.0);           // where the cosine starts
  EXPECT_NEAR(lr[60], 0.1 + 0.45, 1e-15);  // halfway: cos(π/2) = 0
  EXPECT_NEAR(lr[35], 0.1 + 0.45 * (1 + std::cos(M_PI / 4)), 1e-15);  // a quarter
  for (int t = 10; t < 129; ++t) EXPECT_LE(lr[t + 1], lr[t]) << t;    // never rises again
  for (int t = 110; t < 130; ++t) EXPECT_EQ(lr[t], 0.1) << t;         // η_min from T on
}

}  // namespace
}  // namespace minigrad
