/// \file
/// Optimizers: they read each parameter's .grad and update its data in place,
/// outside the graph. All keep their state per parameter, in parameter order.
/// Options objects as libtorch's: `nn::Adam opt(params, nn::AdamOptions(3e-3).betas({0.9, 0.98}))`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "minigrad/autograd/variable.h"
#include "minigrad/nn/options.h"

namespace minigrad::nn {

/// The options every optimizer's options object shares, as libtorch's
/// torch::optim::OptimizerOptions: a copy (clone()) and the learning rate, which a
/// scheduler reads and writes without knowing the optimizer.
class OptimizerOptions {
 public:
  virtual ~OptimizerOptions() = default;
  /// A copy of the concrete options (SGDOptions, AdamOptions, ...).
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  /// The learning rate.
  virtual double get_lr() const = 0;
  /// Sets the learning rate (unchecked: the optimizer checks it at its next step).
  virtual void set_lr(double lr) = 0;
};

/// clone(), get_lr() and set_lr() for an options type with an `lr` setting: the
/// options of SGD, Adam and AdamW derive from OptimizerCloneableOptions<Self>, as in
/// libtorch.
template <class Derived>
class OptimizerCloneableOptions : public OptimizerOptions {
 public:
  /// A copy of the Derived options.
  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
  /// Derived::lr().
  double get_lr() const override { return static_cast<const Derived&>(*this).lr(); }
  /// Derived::lr(lr).
  void set_lr(double lr) override { static_cast<Derived&>(*this).lr(lr); }
};

/// Parameters that share their options, as libtorch's torch::optim::OptimizerParamGroup
/// and PyTorch's param_groups. Without options, the group takes the optimizer's
/// defaults() when it joins the optimizer. nanoGPT's two groups, decay on the matrices
/// and embeddings only:
///
///     std::vector<Variable> decay, no_decay;
///     for (const Variable& p : model->parameters()) (p.dim() >= 2 ? decay :
///     no_decay).push_back(p); nn::AdamW opt({nn::OptimizerParamGroup(decay),
///     nn::OptimizerParamGroup(
///                        no_decay, std::make_unique<nn::AdamWOptions>(
///                                      nn::AdamWOptions(6e-4).weight_decay(0)))},
///                   nn::AdamWOptions(6e-4).betas({0.9, 0.95}).weight_decay(0.1));
class OptimizerParamGroup {
 public:
  /// A group that takes the optimizer's defaults.
  /* implicit */ OptimizerParamGroup(std::vector<Variable> params)  // NOLINT: libtorch's
      : params_(std::move(params)) {}
  /// A group with its own options (of the optimizer's options type).
  OptimizerParamGroup(std::vector<Variable> params, std::unique_ptr<OptimizerOptions> options)
      : params_(std::move(params)), options_(std::move(options)) {}
  /// Copies the parameters (handles) and clones the options.
  OptimizerParamGroup(const OptimizerParamGroup& other);
  /// Copies the parameters (handles) and clones the options.
  OptimizerParamGroup& operator=(const OptimizerParamGroup& other);
  OptimizerParamGroup(OptimizerParamGroup&&) noexcept = default;
  OptimizerParamGroup& operator=(OptimizerParamGroup&&) noexcept = default;
  ~OptimizerParamGroup() = default;

  /// Whether the group has options of its own (always, once in an optimizer).
  bool has_options() const { return options_ != nullptr; }
  /// The group's options; cast to the optimizer's type to read or change them:
  /// `static_cast<nn::AdamWOptions&>(group.options()).weight_decay(0)`.
  /// \throws std::logic_error if the group has none
  OptimizerOptions& options();
  /// The group's options.
  /// \throws std::logic_error if the group has none
  const OptimizerOptions& options() const;
  /// Replaces the group's options.
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }
  /// The group's parameters (read-only: an optimizer's state is laid out by them).
  const std::vector<Variable>& params() const { return params_; }

 private:
  std::vector<Variable> params_;
  std::unique_ptr<OptimizerOptions> options_;
};

/// The base of every optimizer: its parameter groups, each with its own options, the
/// default options a group without any takes (libtorch's defaults()), and the state a
/// checkpoint saves. The learning rate lives in each group's options, as in libtorch;
/// lr() and set_lr() read and write it across the groups.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  /// One update of every parameter that has a gradient (the others are skipped), each
  /// group with its own options.
  virtual void step() = 0;
  /// Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();
  /// The learning rate of the next step, when every group has the same one.
  /// \throws std::logic_error naming the groups' rates when they differ
  double lr() const;
  /// Sets the learning rate of every group for the next steps (as a scheduler of
  /// nn/scheduler.h does once per step).
  /// \throws std::invalid_argument unless lr is finite and ≥ 0; nothing changes then
  void set_lr(double lr);
  /// Every parameter, group after group: position k here is "k" in state_dict().
  const std::vector<Variable>& params() const { return params_; }
  /// The parameter groups, in order. Their options can be changed in place (checked at
  /// the next step()); their parameters cannot (add_param_group adds more).
  std::span<OptimizerParamGroup> param_groups() { return groups_; }
  /// The parameter groups, in order.
  std::span<const OptimizerParamGroup> param_groups() const { return groups_; }
  /// Appends a group: its parameters follow the others in params(); without options
  /// it takes a copy of defaults(). As PyTorch's add_param_group.
  /// \throws std::invalid_argument for an empty group, a parameter already in the
  ///         optimizer (or twice in the group), one that is not a contiguous leaf that
  ///         requires grad, or options of another optimizer's type or out of range
  void add_param_group(const OptimizerParamGroup& group);
  /// The options a group without its own takes (libtorch's defaults()); cast to the
  /// optimizer's options type: `static_cast<nn::AdamWOptions&>(opt.defaults())`.
  OptimizerOptions& defaults() { return *defaults_; }
  /// The default options.
  const OptimizerOptions& defaults() const { return *defaults_; }
  /// "SGD", "Adam", "AdamW": what a checkpoint records and checks on loading.
  virtual std::string type_name() const = 0;

  // ---- state, for checkpoints that resume training -----------------------------------
  /// Everything step() depends on besides the parameters and the options other than lr:
  /// "lr" (float64 [G], one per group), each counter ("step", int64 [G]) and each
  /// per-parameter buffer that exists yet, named "<buffer>.<k>" with k the parameter's
  /// position in params(), as in PyTorch ("exp_avg.3"). With G > 1 groups,
  /// "group_sizes" (int64 [G]) records the layout; with one group it is left out, so
  /// the entries are those of an optimizer without groups. Copies, not views.
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  /// Throws std::invalid_argument naming the optimizer and the entry for any name it
  /// does not know, a position past params(), or a dtype or shape that differs from
  /// the parameter's; "lr" and every counter must be present. A state saved with other
  /// groups (count or sizes) throws naming both layouts.
  void check_state_dict(const std::map<std::string, Tensor>& state) const;
  /// check_state_dict(), then replaces the whole state (the groups' lr included): a
  /// buffer absent from `state` becomes absent (as before the first step), so the next
  /// step() does exactly what it would have done in the optimizer that was saved.
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  /// Takes the groups in order (a group without options gets a clone of `defaults`)
  /// and checks their parameters; the subclass's constructor ends with
  /// finish_construction(), which checks the options.
  /// \throws std::invalid_argument for no group, or as add_param_group
  Optimizer(std::vector<OptimizerParamGroup> param_groups,
            std::unique_ptr<OptimizerOptions> defaults);
  /// Where the state lives, for state_dict() and load_state_dict().
  struct StateSlots {
    std::vector<std::pair<std::string, std::vector<Tensor>*>>
        buffers;  ///< one Tensor per parameter
    std::vector<std::pair<std::string, std::vector<int64_t>*>> counters;  ///< one count per group
  };
  virtual StateSlots state_slots() { return {}; }
  /// Throws std::invalid_argument unless `options` are this optimizer's type with
  /// every setting in range, naming the optimizer and `where` ("param group 1").
  virtual void check_options(const OptimizerOptions& options, const std::string& where) const = 0;
  /// Checks every group's options and sizes the state: the last line of a subclass's
  /// constructor (a base class cannot call check_options before the subclass exists).
  void finish_construction();
  /// Throws std::invalid_argument unless lr is finite and ≥ 0.
  static void check_lr(double lr, const std::string& op);

  std::vector<Variable> params_;  ///< every group's parameters, in order
  std::vector<OptimizerParamGroup> groups_;
  std::unique_ptr<OptimizerOptions> defaults_;

 private:
  /// Adds the group's parameters after checking them; no options check.
  void append_group(OptimizerParamGroup group);
  /// Gives every buffer one slot per parameter and every counter one per group.
  void size_state();
};

/// Options of SGD, as libtorch's: the learning rate has no default (libtorch requires
/// it too); momentum, dampening and weight_decay default to 0, nesterov to false.
///
///     nn::SGD opt(model.parameters(), nn::SGDOptions(0.1).momentum(0.9).nesterov(true));
struct SGDOptions : OptimizerCloneableOptions<SGDOptions> {
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
  /// One group of `params` with the options `defaults`.
  /// \throws std::invalid_argument for lr < 0 (or not finite), momentum < 0,
  ///         weight_decay < 0, or nesterov without momentum > 0 and dampening = 0
  SGD(std::vector<Variable> params, SGDOptions defaults);
  /// The groups, each with its own SGDOptions or `defaults`.
  /// \throws std::invalid_argument as add_param_group, or for a group's options as above
  SGD(std::vector<OptimizerParamGroup> param_groups, SGDOptions defaults);
  void step() override;
  std::string type_name() const override { return "SGD"; }

 protected:
  StateSlots state_slots() override { return {{{"momentum_buffer", &velocity_}}, {}}; }
  void check_options(const OptimizerOptions& options, const std::string& where) const override;

 private:
  std::vector<Tensor> velocity_;
};

/// (β₁, β₂) of Adam and AdamW: `.betas({0.9, 0.98})`.
using betas_t = std::tuple<double, double>;

/// Options of Adam, as libtorch's (and PyTorch's defaults).
///
///     nn::Adam opt(params, nn::AdamOptions(3e-4).betas({0.9, 0.98}).eps(1e-9));
struct AdamOptions : OptimizerCloneableOptions<AdamOptions> {
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
struct AdamWOptions : OptimizerCloneableOptions<AdamWOptions> {
  /* implicit */ AdamWOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: libtorch's AdamWOptions(lr)
  MINIGRAD_ARG(double, lr);
  MINIGRAD_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  MINIGRAD_ARG(double, eps) = 1e-8;
  /// Decoupled decay: θ ← θ(1 − lr·λ) before the Adam update.
  MINIGRAD_ARG(double, weight_decay) = 1e-2;
  MINIGRAD_ARG(bool, amsgrad) = false;
};

namespace detail {
/// The moments of Adam and AdamW, per parameter, and the step count t, per group.
struct AdamState {
  std::vector<Tensor> exp_avg, exp_avg_sq, max_exp_avg_sq;
  std::vector<int64_t> step;
};
}  // namespace detail

/// Adam (Kingma & Ba), with g the gradient (+ λθ with weight decay) and t the step:
///
///     m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  m̂ = m/(1 − β₁ᵗ);  v̂ = v/(1 − β₂ᵗ)
///     θ ← θ − lr · m̂ / (√v̂ + ε)      (amsgrad: √ of the running max of v̂)
class Adam : public Optimizer {
 public:
  /// One group of `params` with the options `defaults`.
  /// \throws std::invalid_argument for lr < 0, betas outside [0, 1), eps < 0 or
  ///         weight_decay < 0, naming the option
  explicit Adam(std::vector<Variable> params, AdamOptions defaults = {});
  /// The groups, each with its own AdamOptions or `defaults`.
  /// \throws std::invalid_argument as add_param_group, or for a group's options as above
  explicit Adam(std::vector<OptimizerParamGroup> param_groups, AdamOptions defaults = {});
  void step() override;
  std::string type_name() const override { return "Adam"; }
  /// How many times step() ran for the parameters of `group` (PyTorch's state "step";
  /// a group added later starts from 0).
  int64_t steps(size_t group = 0) const { return state_.step.at(group); }

 protected:
  StateSlots state_slots() override;
  void check_options(const OptimizerOptions& options, const std::string& where) const override;

 private:
  detail::AdamState state_;
};

/// Adam with decoupled weight decay (Loshchilov & Hutter): θ ← θ(1 − lr·λ) before
/// the Adam update, instead of adding λθ to the gradient. Default λ = 0.01.
class AdamW : public Optimizer {
 public:
  /// One group of `params` with the options `defaults`.
  /// \throws std::invalid_argument as Adam's constructor
  explicit AdamW(std::vector<Variable> params, AdamWOptions defaults = {});
  /// The groups, each with its own AdamWOptions or `defaults`.
  /// \throws std::invalid_argument as add_param_group, or for a group's options as above
  explicit AdamW(std::vector<OptimizerParamGroup> param_groups, AdamWOptions defaults = {});
  void step() override;
  std::string type_name() const override { return "AdamW"; }
  /// How many times step() ran for the parameters of `group` (PyTorch's state "step";
  /// a group added later starts from 0).
  int64_t steps(size_t group = 0) const { return state_.step.at(group); }

 protected:
  StateSlots state_slots() override;
  void check_options(const OptimizerOptions& options, const std::string& where) const override;

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
