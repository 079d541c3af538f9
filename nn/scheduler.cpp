#include "minigrad/nn/scheduler.h"
#include "minigrad/tensor/check.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

namespace minigrad::nn {

namespace {

bool valid_lr(double lr) { return std::isfinite(lr) && lr >= 0; }

}  // namespace

// ---- LRScheduler ------------------------------------------------------------------------------

namespace {

std::vector<double> group_lrs(const Optimizer& optimizer) {
  std::vector<double> lrs;
  for (const OptimizerParamGroup& g : optimizer.param_groups()) lrs.push_back(g.options().get_lr());
  return lrs;
}

}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer)
    : optimizer_(optimizer), base_lrs_(group_lrs(optimizer)), last_lrs_(base_lrs_) {}

void LRScheduler::step() {
  const int64_t t = last_epoch_ + 1;
  const auto groups = optimizer_.param_groups();
  MINIGRAD_CHECK_AS(std::logic_error, groups.size() == base_lrs_.size())
      << type_name() << ": the optimizer has " << groups.size() << " parameter groups, "
      << base_lrs_.size() << " when the scheduler was made";
  std::vector<double> lrs;
  for (size_t g = 0; g < groups.size(); ++g) {
    lrs.push_back(get_lr(t, g));
    MINIGRAD_CHECK(valid_lr(lrs.back()))
        << type_name() << ": the lr of step " << t << " is " << lrs.back()
        << (groups.size() > 1 ? " in param group " + std::to_string(g) : std::string())
        << ", must be finite and ≥ 0";
  }
  for (size_t g = 0; g < groups.size(); ++g) groups[g].options().set_lr(lrs[g]);
  last_epoch_ = t;
  last_lrs_ = std::move(lrs);
}

void LRScheduler::initial_step() { step(); }

std::vector<std::pair<std::string, Tensor>> LRScheduler::state_dict() const {
  const auto groups = static_cast<int64_t>(base_lrs_.size());
  return {{"last_epoch", Tensor::from_vector<int64_t>({last_epoch_}, {1})},
          {"base_lr", Tensor::from_vector<double>(base_lrs_, {groups})},
          {"last_lr", Tensor::from_vector<double>(last_lrs_, {groups})}};
}

void LRScheduler::check_state_dict(const std::map<std::string, Tensor>& state) const {
  const std::string op = type_name() + ".load_state_dict: ";
  for (const auto& [name, t] : state) {
    MINIGRAD_CHECK(name == "last_epoch" || name == "base_lr" || name == "last_lr")
        << op << "unexpected '" << name << "'";
  }
  auto entry = [&](const std::string& name, DType dtype, int64_t n) {
    const auto it = state.find(name);
    MINIGRAD_CHECK(it != state.end()) << op << "missing '" << name << "'";
    MINIGRAD_CHECK(it->second.dtype() == dtype && it->second.shape() == Shape{n})
        << op << "'" << name << "' is " << dtype_name(it->second.dtype()) << it->second.shape()
        << ", expected " << dtype_name(dtype) << "[" << n << "]"
        << (n > 1 || it->second.numel() > 1
                ? " (one per parameter group: the optimizer has " + std::to_string(n) + ")"
                : std::string());
    return it->second;
  };
  const int64_t last_epoch = entry("last_epoch", DType::Int64, 1).to_vector<int64_t>()[0];
  MINIGRAD_CHECK(last_epoch >= 0) << op << "'last_epoch' is " << last_epoch << ", must be ≥ 0";
  const auto groups = static_cast<int64_t>(base_lrs_.size());
  for (const char* name : {"base_lr", "last_lr"}) {
    for (double lr : entry(name, DType::Float64, groups).to_vector<double>())
      MINIGRAD_CHECK(valid_lr(lr))
          << op << "'" << name << "' is " << lr << ", must be finite and ≥ 0";
  }
}

void LRScheduler::load_state_dict(const std::map<std::string, Tensor>& state) {
  check_state_dict(state);
  last_epoch_ = state.at("last_epoch").to_vector<int64_t>()[0];
  base_lrs_ = state.at("base_lr").to_vector<double>();
  last_lrs_ = state.at("last_lr").to_vector<double>();
}

// ---- LambdaLR ---------------------------------------------------------------------------------

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> lr_lambda)
    : LRScheduler(optimizer), lr_lambda_(std::move(lr_lambda)) {
  MINIGRAD_CHECK(static_cast<bool>(lr_lambda_)) << "LambdaLR: lr_lambda is empty";
  initial_step();
}

double LambdaLR::get_lr(int64_t t, size_t group) const { return base_lrs()[group] * lr_lambda_(t); }

// ---- StepLR -----------------------------------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  MINIGRAD_CHECK(step_size >= 1) << "StepLR: step_size must be ≥ 1, got " << step_size;
  MINIGRAD_CHECK(std::isfinite(gamma) && gamma >= 0)
      << "StepLR: gamma must be finite and ≥ 0, got " << gamma;
  initial_step();
}

double StepLR::get_lr(int64_t t, size_t group) const {
  // chainable: the group's current lr, whoever set it
  const double lr = optimizer().param_groups()[group].options().get_lr();
  return t == 0 || t % step_size_ != 0 ? lr : lr * gamma_;
}

// ---- NoamLR -----------------------------------------------------------------------------------

NoamLR::NoamLR(Optimizer& optimizer, NoamLROptions opts) : LRScheduler(optimizer), options(opts) {
  MINIGRAD_CHECK(options.d_model() >= 1)
      << "NoamLR: d_model must be ≥ 1, got " << options.d_model();
  MINIGRAD_CHECK(options.warmup_steps() >= 1)
      << "NoamLR: warmup_steps must be ≥ 1, got " << options.warmup_steps();
  initial_step();
}

double NoamLR::get_lr(int64_t t, size_t group) const {
  const auto s = static_cast<double>(std::max<int64_t>(t, 1));
  const auto d = static_cast<double>(options.d_model());
  const auto w = static_cast<double>(options.warmup_steps());
  // λ first, then base·λ: the order of LambdaLR(λ), so the products round alike
  const double lambda = std::pow(d, -0.5) * std::min(std::pow(s, -0.5), s * std::pow(w, -1.5));
  return base_lrs()[group] * lambda;
}

// ---- WarmupCosineLR ---------------------------------------------------------------------------

WarmupCosineLR::WarmupCosineLR(Optimizer& optimizer, WarmupCosineLROptions opts)
    : LRScheduler(optimizer), options(opts) {
  MINIGRAD_CHECK(options.warmup_steps() >= 0 && options.total_steps() > options.warmup_steps())
      << "WarmupCosineLR: needs 0 ≤ warmup_steps < total_steps, got warmup_steps "
      << options.warmup_steps() << " and total_steps " << options.total_steps();
  const double lowest = *std::min_element(base_lrs().begin(), base_lrs().end());
  MINIGRAD_CHECK(options.eta_min() >= 0 && options.eta_min() <= lowest)
      << "WarmupCosineLR: eta_min must be in [0, lr] = [0, " << lowest
      << "] (the lowest base lr of the groups), got " << options.eta_min();
  initial_step();
}

double WarmupCosineLR::get_lr(int64_t t, size_t group) const {
  const int64_t w = options.warmup_steps(), total = options.total_steps();
  const double base = base_lrs()[group], eta_min = options.eta_min();
  if (t < w) return base * static_cast<double>(t + 1) / static_cast<double>(w);
  if (t >= total) return eta_min;
  const double progress = static_cast<double>(t - w) / static_cast<double>(total - w);
  return eta_min + 0.5 * (base - eta_min) * (1 + std::cos(std::numbers::pi * progress));
}

}  // namespace minigrad::nn
