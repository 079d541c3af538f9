/// \file
/// Learning-rate schedulers: objects that set an optimizer's learning rate once per
/// step, with the meaning of torch.optim.lr_scheduler and the shape of libtorch's
/// torch::optim::LRScheduler (a base class with step(), each subclass computing the
/// rate from the step count and the optimizer).
///
/// The step count t (PyTorch's `last_epoch`) is 0 once the scheduler is made, and
/// making it already sets the optimizer's lr to lr(0), as PyTorch does. The loop is
/// then PyTorch's, optimizer first:
///
///     nn::Adam opt(model.parameters(), nn::AdamOptions(3e-3));
///     nn::WarmupCosineLR sched(opt, nn::WarmupCosineLROptions(1000).warmup_steps(50));
///     for (int64_t i = 0; i < 1000; ++i) {
///       opt.zero_grad(); loss(model).backward();
///       opt.step();    // step i uses lr(i)
///       sched.step();  // t = i + 1: sets lr(i + 1)
///     }
///
/// Every parameter group has its own base lr, the group's lr when the scheduler is
/// made, and follows its own curve, as in PyTorch (base_lrs(), get_last_lr()). A
/// checkpoint saves
/// the scheduler's state beside the optimizer's (nn::save_checkpoint takes it), so a
/// resumed run continues with the same learning rates, bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "minigrad/nn/optim.h"
#include "minigrad/nn/options.h"

namespace minigrad::nn {

/// The base of every scheduler: the optimizer it drives, the base lr of each parameter
/// group, the step count and the last lrs it set. A subclass says what a group's lr
/// of step t is (get_lr) and calls initial_step() last in its constructor; step()
/// does the rest.
///
/// The scheduler holds a reference to the optimizer, which must outlive it.
class LRScheduler {
 public:
  /// Records each group's current lr as its base lr. Sets nothing yet: the
  /// subclass's constructor ends with initial_step().
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances the step count t by one and sets each group's lr to get_lr(t, group).
  /// Call it after optimizer.step(), as in PyTorch.
  /// \throws std::invalid_argument naming the scheduler, t and the group if an lr is
  ///         negative or not finite (a LambdaLR's λ can give any number); nothing
  ///         changes then
  void step();
  /// The lrs the last step() (or the constructor) set, one per group: those of the
  /// next optimizer.step(), unless something else changed them since.
  const std::vector<double>& get_last_lr() const { return last_lrs_; }
  /// The step count t (PyTorch's `last_epoch`): 0 after the constructor, +1 per step().
  int64_t last_epoch() const { return last_epoch_; }
  /// Each group's lr when the scheduler was made (PyTorch's `base_lrs`).
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// "LambdaLR", "StepLR", ...: what a checkpoint records and checks on loading.
  virtual std::string type_name() const = 0;

  // ---- state, for checkpoints that resume training -----------------------------------
  /// What step() depends on besides the settings and the optimizer: "last_epoch"
  /// (int64 [1]), "base_lr" and "last_lr" (float64 [G], one per parameter group), as
  /// PyTorch's state_dict() holds them. The settings (λ, step_size, ...) are the
  /// constructor's to give.
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  /// Throws std::invalid_argument naming the scheduler and the entry for a missing or
  /// unknown entry, a wrong dtype or shape (one lr per group of the optimizer), a
  /// negative "last_epoch", or an lr that is negative or not finite.
  void check_state_dict(const std::map<std::string, Tensor>& state) const;
  /// check_state_dict(), then takes the step count, the base lrs and the last lrs. The
  /// optimizer is not touched (its own state holds its lr), as in PyTorch.
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  /// The lr of parameter group `group` at step t, called by step() with
  /// t = last_epoch() + 1 before the count moves (and by initial_step() with t = 0).
  /// A chainable scheduler (StepLR) reads the group's current lr here; a closed-form
  /// one uses base_lrs()[group] alone.
  virtual double get_lr(int64_t t, size_t group) const = 0;
  /// Sets lr(0): the last line of every concrete scheduler's constructor (a base
  /// class cannot call get_lr before the subclass exists).
  void initial_step();
  /// The optimizer this scheduler drives.
  const Optimizer& optimizer() const { return optimizer_; }

 private:
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  std::vector<double> last_lrs_;
};

/// lr(t) = base_lr · λ(t) for each group's base lr, PyTorch's LambdaLR (with one λ):
///
///     nn::LambdaLR sched(opt, [](int64_t t) { return std::pow(0.95, t); });
class LambdaLR : public LRScheduler {
 public:
  /// \param optimizer its groups' lrs now are the base lrs, and the constructor sets
  ///                  base_lr · λ(0) in each
  /// \param lr_lambda λ(t), a factor of the base lr, for t = 0, 1, 2, ...
  /// \throws std::invalid_argument if lr_lambda is empty, or as step() if λ(0) gives a
  ///         negative or non-finite lr
  LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> lr_lambda);
  std::string type_name() const override { return "LambdaLR"; }

 protected:
  double get_lr(int64_t t, size_t group) const override;

 private:
  std::function<double(int64_t)> lr_lambda_;
};

/// Decays the lr by γ every step_size steps, PyTorch's and libtorch's StepLR (with
/// libtorch's arguments):
///
///     lr(t) = lr(t − 1) · γ   if t > 0 and t mod step_size = 0,   else lr(t − 1)
///
/// = base_lr · γ^⌊t/step_size⌋ when nothing else changes the lr. Chainable, as in
/// PyTorch: it multiplies each group's current lr, so a change made from outside
/// carries on (and the products round as PyTorch's do).
class StepLR : public LRScheduler {
 public:
  /// \param optimizer the optimizer whose lr decays
  /// \param step_size steps between two decays (≥ 1)
  /// \param gamma the factor γ of each decay (finite, ≥ 0; > 1 grows the lr)
  /// \throws std::invalid_argument naming StepLR for step_size < 1 or a bad gamma
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  std::string type_name() const override { return "StepLR"; }
  /// steps between two decays
  int64_t step_size() const { return step_size_; }
  /// the factor of each decay
  double gamma() const { return gamma_; }

 protected:
  double get_lr(int64_t t, size_t group) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// The settings of NoamLR: the model width and the warm-up length of "Attention Is
/// All You Need" (the paper's d_model = 512, warmup_steps = 4000).
///
///     nn::NoamLR sched(opt, nn::NoamLROptions(512, 4000));
struct NoamLROptions {
  /// \param d_model      the model width d (≥ 1): the peak lr scales as d^−½
  /// \param warmup_steps w (≥ 1): the lr rises linearly up to step w, then falls as t^−½
  NoamLROptions(int64_t d_model, int64_t warmup_steps)
      : d_model_(d_model), warmup_steps_(warmup_steps) {}
  /// the model width d
  MINIGRAD_ARG(int64_t, d_model);
  /// the warm-up length w
  MINIGRAD_ARG(int64_t, warmup_steps);
};

/// The inverse-square-root warm-up of "Attention Is All You Need" (Vaswani et al.,
/// 2017, section 5.3), scaled by the base lr:
///
///     lr(t) = base_lr · d^−½ · min(s^−½, s · w^−3/2),   s = max(t, 1)
///
/// It rises linearly for s ≤ w, peaks at base_lr · (d·w)^−½ and then decays as
/// 1/√s. Step 0 takes step 1's value (s^−½ is infinite at 0), as the Annotated
/// Transformer's `rate` does.
///
/// In PyTorch this is LambdaLR with λ(t) = d^−½·min(s^−½, s·w^−3/2), which is what
/// the Annotated Transformer builds on `Adam(lr=1.0, betas=(0.9, 0.98), eps=1e-9)`:
/// with base_lr = 1 the formula is the paper's. Its `factor` argument is the base lr
/// here (both only scale λ), so there is one knob, not two.
class NoamLR : public LRScheduler {
 public:
  /// \param optimizer its groups' lrs now are the base lrs (the paper's recipe: 1)
  /// \param options   d_model and warmup_steps
  /// \throws std::invalid_argument naming NoamLR for d_model < 1 or warmup_steps < 1
  NoamLR(Optimizer& optimizer, NoamLROptions options);
  std::string type_name() const override { return "NoamLR"; }
  NoamLROptions options;  ///< the settings it was built with

 protected:
  double get_lr(int64_t t, size_t group) const override;
};

/// The settings of WarmupCosineLR: the schedule's length, the warm-up and the floor.
///
///     nn::WarmupCosineLR sched(opt, nn::WarmupCosineLROptions(1000).warmup_steps(50));
struct WarmupCosineLROptions {
  /// \param total_steps T: the step at which the cosine reaches eta_min
  explicit WarmupCosineLROptions(int64_t total_steps) : total_steps_(total_steps) {}
  /// T, the step at which the cosine reaches eta_min (> warmup_steps)
  MINIGRAD_ARG(int64_t, total_steps);
  /// w, the steps of linear warm-up (≥ 0; 0: the cosine starts at once)
  MINIGRAD_ARG(int64_t, warmup_steps) = 0;
  /// the floor η_min the cosine decays to (CosineAnnealingLR's eta_min), 0 ≤ η_min ≤ every
  /// base lr
  MINIGRAD_ARG(double, eta_min) = 0.0;
};

/// Linear warm-up, then one half cosine from the base lr down to η_min, then η_min:
///
///     lr(t) = base_lr · (t + 1)/w                                 t < w
///     lr(t) = η_min + ½(base_lr − η_min)(1 + cos(π·(t − w)/(T − w)))  w ≤ t < T
///     lr(t) = η_min                                               t ≥ T
///
/// The warm-up reaches the base lr at t = w − 1 (its first step already trains,
/// at base_lr/w), and the cosine starts there. In PyTorch, for t ≤ T:
///
///     SequentialLR(opt, [LinearLR(opt, start_factor=1/w, total_iters=w-1),
///                        CosineAnnealingLR(opt, T_max=T-w, eta_min=η_min)], milestones=[w])
///
/// (CosineAnnealingLR alone when w = 0), up to rounding: PyTorch chains its factors
/// step to step. Past T this holds η_min, where CosineAnnealingLR's cosine would
/// climb back to the base lr.
class WarmupCosineLR : public LRScheduler {
 public:
  /// \param optimizer its groups' lrs now are the base lrs, the tops of the curves
  /// \param options   total_steps, warmup_steps, eta_min
  /// \throws std::invalid_argument naming WarmupCosineLR unless
  ///         0 ≤ warmup_steps < total_steps and 0 ≤ eta_min ≤ every base lr
  WarmupCosineLR(Optimizer& optimizer, WarmupCosineLROptions options);
  std::string type_name() const override { return "WarmupCosineLR"; }
  WarmupCosineLROptions options;  ///< the settings it was built with

 protected:
  double get_lr(int64_t t, size_t group) const override;
};

}  // namespace minigrad::nn
