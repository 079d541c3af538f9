/// \file
/// Optimizers: they read each parameter's .grad and update its data in place,
/// outside the graph. All keep their state per parameter, in parameter order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "minigrad/autograd/variable.h"

namespace minigrad::nn {

class Optimizer {
 public:
  Optimizer(std::vector<Variable> params, double lr);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr);
  const std::vector<Variable>& params() const { return params_; }
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
  struct StateSlots {
    std::vector<std::pair<std::string, std::vector<Tensor>*>>
        buffers;  ///< one Tensor per parameter
    std::vector<std::pair<std::string, int64_t*>> counters;
  };
  virtual StateSlots state_slots() { return {}; }

  std::vector<Variable> params_;
  double lr_;
};

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

/// With momentum μ and weight decay λ:
///
///     g ← ∇ + λθ;  v ← μv + (1-dampening)g  (v = g at the first step);
///     θ ← θ - lr·(nesterov ? g + μv : v)
class SGD : public Optimizer {
 public:
  SGD(std::vector<Variable> params, SGDOptions options);
  void step() override;
  std::string type_name() const override { return "SGD"; }
  SGDOptions options;

 protected:
  StateSlots state_slots() override { return {{{"momentum_buffer", &velocity_}}, {}}; }

 private:
  std::vector<Tensor> velocity_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  ///< Adam: added to the gradient; AdamW: decoupled
};

/// Adam, with g the gradient and t the step count:
///
///     m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;  m̂ = m/(1-β₁ᵗ);  v̂ = v/(1-β₂ᵗ)
///     θ ← θ - lr · m̂ / (√v̂ + ε)
class Adam : public Optimizer {
 public:
  Adam(std::vector<Variable> params, AdamOptions options = {});
  void step() override;
  std::string type_name() const override { return "Adam"; }
  AdamOptions options;
  int64_t steps() const { return t_; }

 protected:
  void adam_step(bool decoupled_weight_decay);
  StateSlots state_slots() override {
    return {{{"exp_avg", &m_}, {"exp_avg_sq", &v_}}, {{"step", &t_}}};
  }

 private:
  std::vector<Tensor> m_, v_;
  int64_t t_ = 0;
};

/// Adam with decoupled weight decay (Loshchilov & Hutter): θ ← θ(1 - lr·λ) before
/// the Adam update, instead of adding λθ to the gradient. Default λ = 0.01.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Variable> params, AdamOptions options = {.weight_decay = 0.01});
  void step() override;
  std::string type_name() const override { return "AdamW"; }
};

/// Scales all gradients so that their joint L2 norm is at most max_norm;
/// returns the norm before clipping.
double clip_grad_norm(const std::vector<Variable>& params, double max_norm);

/// Linear warm-up from 0 to the base lr over warmup_steps, then cosine decay to
/// min_lr at total_steps:  lr(t) = min + ½(base - min)(1 + cos(π·(t-w)/(T-w))).
class WarmupCosineSchedule {
 public:
  WarmupCosineSchedule(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps,
                       double min_lr = 0.0);
  /// Sets the optimizer's lr for the next step and advances.
  void step();
  double lr_at(int64_t step) const;
  /// How many times step() was called; a resumed run sets it back to where it was.
  int64_t steps() const { return t_; }
  void set_steps(int64_t steps);

 private:
  Optimizer& opt_;
  double base_lr_, min_lr_;
  int64_t warmup_, total_, t_ = 0;
};

}  // namespace minigrad::nn
