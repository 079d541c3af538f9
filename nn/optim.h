/// \file
/// Optimizers: they read each parameter's .grad and update its data in place,
/// outside the graph. All keep their state per parameter, in parameter order.
/// Options objects as libtorch's: `nn::Adam opt(params, nn::AdamOptions(3e-3).betas({0.9, 0.98}))`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "minigrad/autograd/variable.h"
#include "minigrad/nn/options.h"

namespace minigrad::nn {

/// The base of every optimizer: the parameters it updates (one group: minigrad has no
/// param_groups) and the state a checkpoint saves. The learning rate lives in the
/// optimizer's options (`opt.options.lr()`), as in libtorch; lr() and set_lr() read
/// and write it there, with set_lr() checking the value.
class Optimizer {
 public:
  explicit Optimizer(std::vector<Variable> params);
  virtual ~Optimizer() = default;
  /// One update of every parameter that has a gradient (the others are skipped).
  virtual void step() = 0;
  /// Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();
  /// The learning rate of the next step.
  double lr() const;
  /// Sets the learning rate of the next steps (a scheduler of nn/scheduler.h calls it once
  /// per step).
  void set_lr(double lr);
  const std::vector<Variable>& params() const { return params_; }
  /// "SGD", "Adam", "AdamW": what a checkpoint records and checks on loading.
  virtual std::string type_name() const = 0;

  // ---- state, for checkpoints that resume training -----------------------------------
  /// Everything step() depends on besides the parameters: "lr" (float64 [1]), each
  /// counter ("step", int64 [1]) and each per-parameter buffer that exists yet, named
  /// "<buffer>.<k>" with k the parameter's position in params(), as in PyTorch
  /// ("exp_avg.3"). Copies, not views.
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  /// Throws std::invalid_argument naming the optimizer and the entry for any name it
  /// does not know, a position past params(), or a dtype or shape that differs from
  /// the parameter's; "lr" and every counter must be present.
  void check_state_dict(const std::map<std::string, Tensor>& state) const;
  /// check_state_dict(), then replaces the whole state: a buffer absent from `state`
  /// becomes absent (as before the first step), so the next step() does exactly what
  /// it would have done in the optimizer that was saved.
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  /// Where the state lives, for state_dict() and load_state_dict().
  struct StateSlots {
    std::vector<std::pair<std::string, std::vector<Tensor>*>>
        buffers;  ///< one Tensor per parameter
    std::vector<std::pair<std::string, int64_t*>> counters;
  };
  virtual StateSlots state_slots() { return {}; }
  /// The learning rate in the subclass's options.
  virtual double& lr_slot() = 0;
  /// Throws std::invalid_argument unless lr is finite and ≥ 0.
  static void check_lr(double lr, const std::string& op);

  std::vector<Variable> params_;
};

/// Options of SGD, as libtorch's: the learning rate has no default (libtorch requires
/// it too); momentum, dampening and weight_decay default to 0, nesterov to false.
///
///     nn::SGD opt(model.parameters(), nn::SGDOptions(0.1).momentum(0.9).nesterov(true));
struct SGDOptions {
  /* implicit */ SGDOptions(double lr) : lr_(lr) {}  // NOLINT: libtorch's SGDOptions(lr)
  MINIGRAD_ARG(double, lr);
  MINIGRAD_ARG(double, momentum) = 0.0;
  MINIGRAD_ARG(double, dampening) = 0.0;
  MINIGRAD_ARG(double, weight_decay) = 0.0;
  MINIGRAD_ARG(bool, nesterov) = false;
};

/// Stochastic gradient descent, with momentum μ, dampening τ and weight decay λ
/// (PyTorch's torch.optim.SGD):
///
///     g ← ∇ + λθ;  v ← μv + (1 − τ)g  (v = g at the first step);
///     θ ← θ − lr·(nesterov ? g + μv : v)          (θ ← θ − lr·g without momentum)
class SGD : public Optimizer {
 public:
  /// \throws std::invalid_argument for lr < 0 (or not finite), momentum < 0,
  ///         weight_decay < 0, or nesterov without momentum > 0 and dampening = 0
  SGD(std::vector<Variable> params, SGDOptions options);
  void step() override;
  std::string type_name() const override { return "SGD"; }
  SGDOptions options;

 protected:
  StateSlots state_slots() override { return {{{"momentum_buffer", &velocity_}}, {}}; }
  double& lr_slot() override { return options.lr(); }

 private:
  std::vector<Tensor> velocity_;
};

/// (β₁, β₂) of Adam and AdamW: `.betas({0.9, 0.98})`.
using betas_t = std::tuple<double, double>;

/// Options of Adam, as libtorch's (and PyTorch's defaults).
///
///     nn::Adam opt(params, nn::AdamOptions(3e-4).betas({0.9, 0.98}).eps(1e-9));
struct AdamOptions {
  /* implicit */ AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: libtorch's AdamOptions(lr)
  MINIGRAD_ARG(double, lr);
  MINIGRAD_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  MINIGRAD_ARG(double, eps) = 1e-8;
  /// L2 penalty: λθ is added to the gradient (AdamW decouples it instead).
  MINIGRAD_ARG(double, weight_decay) = 0.0;
  /// Divide by the running maximum of v̂ instead of v̂ (Reddi et al., 2018).
  MINIGRAD_ARG(bool, amsgrad) = false;
};

/// Options of AdamW: Adam's, with weight_decay defaulting to 0.01 as in PyTorch.
struct AdamWOptions {
  /* implicit */ AdamWOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: libtorch's AdamWOptions(lr)
  MINIGRAD_ARG(double, lr);
  MINIGRAD_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  MINIGRAD_ARG(double, eps) = 1e-8;
  /// Decoupled decay: θ ← θ(1 − lr·λ) before the Adam update.
  MINIGRAD_ARG(double, weight_decay) = 1e-2;
  MINIGRAD_ARG(bool, amsgrad) = false;
};

namespace detail {
/// The moments of Adam and AdamW, per parameter, and the step count t.
struct AdamState {
  std::vector<Tensor> exp_avg, exp_avg_sq, max_exp_avg_sq;
  int64_t step = 0;
};
}  // namespace detail

/// Adam (Kingma & Ba), with g the gradient (+ λθ with weight decay) and t the step:
///
///     m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  m̂ = m/(1 − β₁ᵗ);  v̂ = v/(1 − β₂ᵗ)
///     θ ← θ − lr · m̂ / (√v̂ + ε)      (amsgrad: √ of the running max of v̂)
class Adam : public Optimizer {
 public:
  /// \throws std::invalid_argument for lr < 0, betas outside [0, 1), eps < 0 or
  ///         weight_decay < 0, naming the option
  explicit Adam(std::vector<Variable> params, AdamOptions options = {});
  void step() override;
  std::string type_name() const override { return "Adam"; }
  AdamOptions options;
  /// How many times step() ran (PyTorch's state "step").
  int64_t steps() const { return state_.step; }

 protected:
  StateSlots state_slots() override;
  double& lr_slot() override { return options.lr(); }

 private:
  detail::AdamState state_;
};

/// Adam with decoupled weight decay (Loshchilov & Hutter): θ ← θ(1 − lr·λ) before
/// the Adam update, instead of adding λθ to the gradient. Default λ = 0.01.
class AdamW : public Optimizer {
 public:
  /// \throws std::invalid_argument as Adam's constructor
  explicit AdamW(std::vector<Variable> params, AdamWOptions options = {});
  void step() override;
  std::string type_name() const override { return "AdamW"; }
  AdamWOptions options;
  /// How many times step() ran.
  int64_t steps() const { return state_.step; }

 protected:
  StateSlots state_slots() override;
  double& lr_slot() override { return options.lr(); }

 private:
  detail::AdamState state_;
};

namespace utils {
/// Scales all gradients in place so that their joint p-norm (p = norm_type: 2 by
/// default, or INFINITY for the largest |g|) is at most max_norm, as libtorch's
/// torch::nn::utils::clip_grad_norm_:
///
///     ‖g‖_p = (Σ_i |g_i|^p)^(1/p);   g ← g · min(1, max_norm / (‖g‖_p + 1e-6))
///
/// Returns the norm before clipping. Parameters without a gradient are skipped.
/// \throws std::invalid_argument for max_norm ≤ 0 or norm_type ≤ 0
double clip_grad_norm_(const std::vector<Variable>& parameters, double max_norm,
                       double norm_type = 2.0);
}  // namespace utils

}  // namespace minigrad::nn
