// Optimizers: they read each parameter's .grad and update its data in place,
// outside the graph. All keep their state per parameter, in parameter order.
#pragma once

#include <cstdint>
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

 protected:
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

// With momentum μ:  g ← ∇ + λθ;  v ← μv + (1-dampening)g  (v = g at the first step);
//                   θ ← θ - lr·(nesterov ? g + μv : v)
class SGD : public Optimizer {
 public:
  SGD(std::vector<Variable> params, SGDOptions options);
  void step() override;
  SGDOptions options;

 private:
  std::vector<Tensor> velocity_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: added to the gradient; AdamW: decoupled
};

// m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;  m̂ = m/(1-β₁ᵗ);  v̂ = v/(1-β₂ᵗ)
// θ ← θ - lr · m̂ / (√v̂ + ε)
class Adam : public Optimizer {
 public:
  Adam(std::vector<Variable> params, AdamOptions options = {});
  void step() override;
  AdamOptions options;
  int64_t steps() const { return t_; }

 protected:
  void adam_step(bool decoupled_weight_decay);

 private:
  std::vector<Tensor> m_, v_;
  int64_t t_ = 0;
};

// Adam with decoupled weight decay (Loshchilov & Hutter): θ ← θ(1 - lr·λ) before
// the Adam update, instead of adding λθ to the gradient. Default λ = 0.01.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Variable> params, AdamOptions options = {.weight_decay = 0.01});
  void step() override;
};

// Scales all gradients so that their joint L2 norm is at most max_norm;
// returns the norm before clipping.
double clip_grad_norm(const std::vector<Variable>& params, double max_norm);

// Linear warm-up from 0 to the base lr over warmup_steps, then cosine decay to
// min_lr at total_steps:  lr(t) = min + ½(base - min)(1 + cos(π·(t-w)/(T-w))).
class WarmupCosineSchedule {
 public:
  WarmupCosineSchedule(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps,
                       double min_lr = 0.0);
  // Sets the optimizer's lr for the next step and advances.
  void step();
  double lr_at(int64_t step) const;

 private:
  Optimizer& opt_;
  double base_lr_, min_lr_;
  int64_t warmup_, total_, t_ = 0;
};

}  // namespace minigrad::nn
