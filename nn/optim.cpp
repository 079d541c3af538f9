#include "minigrad/nn/optim.h"
#include "minigrad/tensor/check.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

#include "minigrad/tensor/row_kernels.h"
#include "minigrad/tensor/strided.h"

namespace minigrad::nn {

namespace {

std::string num(double v) {
  std::string s = std::to_string(v);
  return s;
}

// Runs f(θ, g, state...) over the elements of a contiguous parameter and its
// gradient and state buffers (all contiguous, same shape).
template <class F>
void for_each_element(Tensor& p, const Tensor& grad, std::vector<Tensor*> state, const char* op,
                      F f) {
  dispatch_floating(p.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* pp = p.data<T>();
    const T* pg = grad.data<T>();
    T* s0 = state.size() > 0 ? state[0]->data<T>() : nullptr;
    T* s1 = state.size() > 1 ? state[1]->data<T>() : nullptr;
    T* s2 = state.size() > 2 ? state[2]->data<T>() : nullptr;
    const int64_t n = p.numel();
    for (int64_t i = 0; i < n; ++i)
      f(pp[i], pg[i], s0 ? s0[i] : pp[i], s1 ? s1[i] : pp[i], s2 ? s2[i] : pp[i]);
  });
}

// The gradient as a contiguous tensor of the parameter's shape, or undefined.
Tensor grad_of(const Variable& p) {
  if (!p.has_grad()) return Tensor();
  return p.grad().contiguous();
}

}  // namespace

// ---- OptimizerParamGroup -------------------------------------------------------------------

OptimizerParamGroup::OptimizerParamGroup(const OptimizerParamGroup& other)
    : params_(other.params_), options_(other.options_ ? other.options_->clone() : nullptr) {}

OptimizerParamGroup& OptimizerParamGroup::operator=(const OptimizerParamGroup& other) {
  if (this != &other) {
    params_ = other.params_;
    options_ = other.options_ ? other.options_->clone() : nullptr;
  }
  return *this;
}

OptimizerOptions& OptimizerParamGroup::options() {
  MINIGRAD_CHECK_AS(std::logic_error, options_ != nullptr)
      << "OptimizerParamGroup::options: the group has no options (it takes the optimizer's "
         "defaults once added)";
  return *options_;
}

const OptimizerOptions& OptimizerParamGroup::options() const {
  return const_cast<OptimizerParamGroup*>(this)->options();
}

// ---- Optimizer --------------------------------------------------------------------------------

namespace {

// "2 groups of sizes [3, 1]": a layout, for the error of a state saved with other groups.
std::string layout(const std::vector<int64_t>& sizes) {
  std::string s = std::to_string(sizes.size()) + (sizes.size() == 1 ? " group" : " groups");
  s += " of sizes [";
  for (size_t g = 0; g < sizes.size(); ++g) s += (g ? ", " : "") + std::to_string(sizes[g]);
  return s + "]";
}

}  // namespace

Optimizer::Optimizer(std::vector<OptimizerParamGroup> param_groups,
                     std::unique_ptr<OptimizerOptions> defaults)
    : defaults_(std::move(defaults)) {
  MINIGRAD_CHECK(!param_groups.empty()) << "optimizer: no parameter group";
  for (OptimizerParamGroup& group : param_groups) append_group(std::move(group));
}

void Optimizer::append_group(OptimizerParamGroup group) {
  const std::string where = "param group " + std::to_string(groups_.size());
  const std::vector<Variable>& params = group.params();
  MINIGRAD_CHECK(!params.empty()) << "optimizer: " << where << " is empty";
  for (size_t i = 0; i < params.size(); ++i) {
    const Variable& p = params[i];
    MINIGRAD_CHECK(p.defined() && p.requires_grad() && p.is_leaf())
        << "optimizer: parameter " << params_.size() + i << " (" << where << ", entry " << i
        << ") is not a leaf that requires grad";
    MINIGRAD_CHECK(p.data().is_contiguous())
        << "optimizer: parameter " << params_.size() + i << " (" << where << ", entry " << i
        << ") is not contiguous";
    // A parameter in two places would be updated twice per step (PyTorch refuses it too).
    for (size_t j = 0; j < params_.size() + i; ++j) {
      const Variable& q = j < params_.size() ? params_[j] : params[j - params_.size()];
      MINIGRAD_CHECK(q.impl() != p.impl())
          << "optimizer: " << where << " entry " << i << " " << p.shape()
          << " is already parameter " << j << ": a parameter can be in one group, once";
    }
  }
  if (!group.has_options()) group.set_options(defaults_->clone());
  params_.insert(params_.end(), params.begin(), params.end());
  groups_.push_back(std::move(group));
}

void Optimizer::add_param_group(const OptimizerParamGroup& group) {
  const std::string where = "param group " + std::to_string(groups_.size());
  check_options(group.has_options() ? group.options() : *defaults_, where);
  append_group(group);
  size_state();
}

void Optimizer::finish_construction() {
  check_options(*defaults_, "defaults");
  for (size_t g = 0; g < groups_.size(); ++g)
    check_options(groups_[g].options(), "param group " + std::to_string(g));
  size_state();
}

void Optimizer::size_state() {
  const StateSlots slots = state_slots();
  for (const auto& [name, buffers] : slots.buffers) buffers->resize(params_.size());
  for (const auto& [name, counters] : slots.counters) counters->resize(groups_.size(), 0);
}

void Optimizer::check_lr(double lr, const std::string& op) {
  MINIGRAD_CHECK(std::isfinite(lr) && lr >= 0)
      << op << ": learning rate must be finite and ≥ 0, got " << num(lr);
}

void Optimizer::zero_grad() {
  for (Variable& p : params_) p.zero_grad();
}

double Optimizer::lr() const {
  const double lr = groups_.front().options().get_lr();
  bool same = true;
  for (const OptimizerParamGroup& g : groups_) same &= g.options().get_lr() == lr;
  if (!same) {
    std::string rates;
    for (size_t g = 0; g < groups_.size(); ++g)
      rates += (g ? ", " : "") + num(groups_[g].options().get_lr());
    MINIGRAD_CHECK_AS(std::logic_error, false)
        << type_name() << ".lr(): the " << groups_.size() << " parameter groups have different "
        << "learning rates [" << rates << "]; read each group's options().get_lr()";
  }
  return lr;
}

void Optimizer::set_lr(double lr) {
  check_lr(lr, type_name());
  for (OptimizerParamGroup& g : groups_) g.options().set_lr(lr);
}

// ---- state ---------------------------------------------------------------------------------

std::vector<std::pair<std::string, Tensor>> Optimizer::state_dict() const {
  // state_slots() hands out pointers for load_state_dict; here they are only read.
  const StateSlots slots = const_cast<Optimizer*>(this)->state_slots();
  const auto groups = static_cast<int64_t>(groups_.size());
  std::vector<double> lrs;
  std::vector<int64_t> sizes;
  for (const OptimizerParamGroup& g : groups_) {
    lrs.push_back(g.options().get_lr());
    sizes.push_back(static_cast<int64_t>(g.params().size()));
  }
  std::vector<std::pair<std::string, Tensor>> out;
  out.emplace_back("lr", Tensor::from_vector<double>(lrs, {groups}));
  if (groups > 1) out.emplace_back("group_sizes", Tensor::from_vector<int64_t>(sizes, {groups}));
  for (const auto& [name, counters] : slots.counters)
    out.emplace_back(name, Tensor::from_vector<int64_t>(*counters, {groups}));
  for (const auto& [name, buffers] : slots.buffers)
    for (size_t k = 0; k < buffers->size(); ++k)
      if ((*buffers)[k].defined())
        out.emplace_back(name + "." + std::to_string(k), (*buffers)[k].clone());
  return out;
}

void Optimizer::check_state_dict(const std::map<std::string, Tensor>& state) const {
  const StateSlots slots = const_cast<Optimizer*>(this)->state_slots();
  const std::string op = type_name() + ".load_state_dict: ";
  const auto groups = static_cast<int64_t>(groups_.size());
  std::vector<int64_t> sizes;
  for (const OptimizerParamGroup& g : groups_)
    sizes.push_back(static_cast<int64_t>(g.params().size()));
  // The layout first: a state of other groups fails here, naming both, not on an entry.
  auto lr_it = state.find("lr");
  MINIGRAD_CHECK(lr_it != state.end()) << op << "missing 'lr'";
  const auto size_it = state.find("group_sizes");
  std::vector<int64_t> saved_sizes;
  if (size_it != state.end()) {
    const Tensor& t = size_it->second;
    MINIGRAD_CHECK(t.dtype() == DType::Int64 && t.dim() == 1 && t.numel() > 1)
        << op << "'group_sizes' is " << dtype_name(t.dtype()) << t.shape()
        << ", expected int64[G] with G > 1 groups";
    saved_sizes = t.to_vector<int64_t>();
  }
  if (saved_sizes != (groups > 1 ? sizes : std::vector<int64_t>{})) {
    const std::string saved = saved_sizes.empty() ? "1 group" : layout(saved_sizes);
    MINIGRAD_CHECK(false) << op << "the state was saved with " << saved << ", this optimizer has "
                          << layout(sizes);
  }
  const Shape per_group{groups};
  auto vector = [&](const std::string& name, DType dtype) {
    auto it = state.find(name);
    MINIGRAD_CHECK(it != state.end()) << op << "missing '" << name << "'";
    MINIGRAD_CHECK(it->second.dtype() == dtype && it->second.shape() == per_group)
        << op << "'" << name << "' is " << dtype_name(it->second.dtype()) << it->second.shape()
        << ", expected " << dtype_name(dtype) << per_group;
    return it->second;
  };
  for (double lr : vector("lr", DType::Float64).to_vector<double>())
    MINIGRAD_CHECK(std::isfinite(lr) && lr >= 0)
        << op << "'lr' is " << num(lr) << ", must be finite and ≥ 0";
  for (const auto& [name, counter] : slots.counters) {
    for (int64_t c : vector(name, DType::Int64).to_vector<int64_t>())
      MINIGRAD_CHECK(c >= 0) << op << "'" << name << "' is negative";
  }
  for (const auto& [key, t] : state) {
    if (key == "lr" || key == "group_sizes") continue;
    bool is_counter = false;
    for (const auto& [name, counter] : slots.counters) is_counter |= key == name;
    if (is_counter) continue;
    const size_t dot = key.rfind('.');
    bool known = false;
    for (const auto& [name, buffers] : slots.buffers)
      known |= dot != std::string::npos && key.substr(0, dot) == name;
    const std::string index = dot == std::string::npos ? "" : key.substr(dot + 1);
    MINIGRAD_CHECK(known && !index.empty() && index.size() <= 9 &&
                   index.find_first_not_of("0123456789") == std::string::npos)
        << op << "unexpected '" << key << "'";
    const size_t k = std::stoul(index);
    MINIGRAD_CHECK(k < params_.size()) << op << "'" << key << "' is for parameter " << index
                                       << ", but the optimizer has " << params_.size();
    const Variable& p = params_[k];
    MINIGRAD_CHECK(t.dtype() == p.dtype() && t.shape() == p.shape())
        << op << "'" << key << "' is " << dtype_name(t.dtype()) << t.shape() << ", parameter "
        << index << " is " << dtype_name(p.dtype()) << p.shape();
  }
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state) {
  check_state_dict(state);
  const StateSlots slots = state_slots();
  const std::vector<double> lrs = state.at("lr").to_vector<double>();
  for (size_t g = 0; g < groups_.size(); ++g) groups_[g].options().set_lr(lrs[g]);
  for (const auto& [name, counters] : slots.counters)
    *counters = state.at(name).to_vector<int64_t>();
  for (const auto& [name, buffers] : slots.buffers) {
    for (size_t k = 0; k < buffers->size(); ++k) {
      auto it = state.find(name + "." + std::to_string(k));
      (*buffers)[k] = it == state.end() ? Tensor() : it->second.clone();
    }
  }
}

// ---- SGD ----------------------------------------------------------------------------------

namespace {

// The options of group `where` as the optimizer's own type, or a clear error.
template <class Options>
const Options& options_as(const OptimizerOptions& o, const char* op, const std::string& where,
                          const char* type) {
  const auto* typed = dynamic_cast<const Options*>(&o);
  MINIGRAD_CHECK(typed != nullptr) << op << ": the options of " << where << " are not " << type;
  return *typed;
}

}  // namespace

SGD::SGD(std::vector<Variable> params, SGDOptions defaults)
    : SGD(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))},
          std::move(defaults)) {}

SGD::SGD(std::vector<OptimizerParamGroup> param_groups, SGDOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<SGDOptions>(std::move(defaults))) {
  finish_construction();
}

void SGD::check_options(const OptimizerOptions& options, const std::string& where) const {
  const auto& opts = options_as<SGDOptions>(options, "SGD", where, "SGDOptions");
  check_lr(opts.lr(), "SGD");
  MINIGRAD_CHECK(opts.momentum() >= 0) << "SGD: momentum must be ≥ 0, got " << num(opts.momentum());
  MINIGRAD_CHECK(opts.weight_decay() >= 0)
      << "SGD: weight_decay must be ≥ 0, got " << num(opts.weight_decay());
  MINIGRAD_CHECK(!opts.nesterov() || (opts.momentum() > 0 && opts.dampening() == 0))
      << "SGD: nesterov needs momentum > 0 and dampening = 0";
}

void SGD::step() {
  NoGradGuard no_grad;
  // Every group's options are checked before any parameter moves.
  for (size_t group = 0; group < groups_.size(); ++group)
    check_options(groups_[group].options(), "param group " + std::to_string(group));
  size_t k = 0;  // the position in params_ of the group's first parameter
  for (size_t group = 0; group < groups_.size(); ++group) {
    const OptimizerParamGroup& pg = groups_[group];
    const auto& options = static_cast<const SGDOptions&>(pg.options());
    const double mu = options.momentum(), wd = options.weight_decay(), damp = options.dampening();
    const double lr = options.lr();
    const bool nesterov = options.nesterov();
    for (size_t end = k + pg.params().size(); k < end; ++k) {
      const Tensor grad = grad_of(params_[k]);
      if (!grad.defined()) continue;
      Tensor& p = params_[k].mutable_data();
      const bool first = !velocity_[k].defined();
      if (mu != 0 && first) velocity_[k] = Tensor::zeros(p.shape(), p.dtype());
      std::vector<Tensor*> state;
      if (mu != 0) state.push_back(&velocity_[k]);
      for_each_element(p, grad, state, "SGD", [&](auto& theta, auto g, auto& v, auto&, auto&) {
        using T = std::remove_reference_t<decltype(theta)>;
        T d = g + static_cast<T>(wd) * theta;  // g ← ∇ + λθ
        if (mu != 0) {
          v = first ? d : static_cast<T>(mu) * v + static_cast<T>(1 - damp) * d;  // v ← μv + (1-τ)g
          d = nesterov ? d + static_cast<T>(mu) * v : v;
        }
        theta -= static_cast<T>(lr) * d;
      });
    }
  }
}

// ---- Adam / AdamW ---------------------------------------------------------------------------

namespace {

struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, decoupled;
};

template <class Options>
AdamHyper check_adam(const Options& o, bool decoupled, const char* op) {
  MINIGRAD_CHECK(std::isfinite(o.lr()) && o.lr() >= 0)
      << op << ": learning rate must be finite and ≥ 0, got " << num(o.lr());
  const auto [b1, b2] = o.betas();
  MINIGRAD_CHECK(b1 >= 0 && b1 < 1)
      << op << ": betas[0] (beta1) must be in [0, 1), got " << num(b1);
  MINIGRAD_CHECK(b2 >= 0 && b2 < 1)
      << op << ": betas[1] (beta2) must be in [0, 1), got " << num(b2);
  MINIGRAD_CHECK(o.eps() >= 0) << op << ": eps must be ≥ 0, got " << num(o.eps());
  MINIGRAD_CHECK(o.weight_decay() >= 0)
      << op << ": weight_decay must be ≥ 0, got " << num(o.weight_decay());
  return {o.lr(), b1, b2, o.eps(), o.weight_decay(), o.amsgrad(), decoupled};
}

// One Adam update of n contiguous elements (the math is adam_step's). The variant is a
// template argument, so the loop has no branch and no aliasing (every array is its own
// buffer): it vectorises, 16 floats at a time with AVX-512. optim.cpp is compiled with
// -fno-math-errno for this loop: otherwise std::sqrt is a call that may set errno, which
// no vector instruction does (the result, correctly rounded either way, is the same).
template <bool kDecoupled, bool kAmsgrad, class T>
void adam_update(int64_t n, T* __restrict theta, const T* __restrict grad, T* __restrict m,
                 T* __restrict v, T* __restrict v_max, const AdamHyper& h, double bc1, double bc2) {
  const T b1 = static_cast<T>(h.beta1), c1 = static_cast<T>(1 - h.beta1);
  const T b2 = static_cast<T>(h.beta2), c2 = static_cast<T>(1 - h.beta2);
  const T wd = static_cast<T>(h.weight_decay), shrink = static_cast<T>(1 - h.lr * h.weight_decay);
  const T step = static_cast<T>(h.lr / bc1), bc2_t = static_cast<T>(bc2);
  const T eps = static_cast<T>(h.eps);
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i], g = grad[i];
    if constexpr (kDecoupled) {
      th *= shrink;  // θ ← θ(1 - lr·λ)
    } else {
      g += wd * th;  // g ← ∇ + λθ
    }
    const T mi = b1 * m[i] + c1 * g;      // m ← β₁m + (1-β₁)g
    const T vi = b2 * v[i] + c2 * g * g;  // v ← β₂v + (1-β₂)g²
    m[i] = mi;
    v[i] = vi;
    T vh = vi;
    if constexpr (kAmsgrad) {
      vh = std::max(v_max[i], vi);  // v_max ← max(v_max, v)
      v_max[i] = vh;
    }
    theta[i] = th - step * mi / (std::sqrt(vh / bc2_t) + eps);  // θ ← θ - lr·m̂/(√v̂ + ε)
  }
}

// An element of Adam's update costs about four element-wise loops (two moments, a
// square root and a division), for strided.h's rule on when to use threads.
constexpr int64_t kAdamCost = 4;

// One step of Adam or AdamW over every group, each with its own hyper-parameters and
// step count t (bias corrections: m and v start at 0, so early means are too small).
template <class Options>
void adam_step(const std::vector<OptimizerParamGroup>& groups, std::vector<Variable>& params,
               detail::AdamState& s, bool decoupled, const char* op) {
  NoGradGuard no_grad;
  s.max_exp_avg_sq.resize(params.size());  // out of state_slots() until amsgrad is on
  // Every group's options are checked before any parameter moves.
  std::vector<AdamHyper> hyper;
  for (const OptimizerParamGroup& pg : groups)
    hyper.push_back(check_adam(static_cast<const Options&>(pg.options()), decoupled, op));
  size_t k = 0;  // the position in params of the group's first parameter
  for (size_t group = 0; group < groups.size(); ++group) {
    const OptimizerParamGroup& pg = groups[group];
    const AdamHyper& h = hyper[group];
    const int64_t t = ++s.step[group];
    const double bc1 = 1 - std::pow(h.beta1, static_cast<double>(t));
    const double bc2 = 1 - std::pow(h.beta2, static_cast<double>(t));
    for (size_t end = k + pg.params().size(); k < end; ++k) {
      const Tensor grad = grad_of(params[k]);
      if (!grad.defined()) continue;
      Tensor& p = params[k].mutable_data();
      if (!s.exp_avg[k].defined()) {
        s.exp_avg[k] = Tensor::zeros(p.shape(), p.dtype());
        s.exp_avg_sq[k] = Tensor::zeros(p.shape(), p.dtype());
      }
      if (h.amsgrad && !s.max_exp_avg_sq[k].defined())
        s.max_exp_avg_sq[k] = Tensor::zeros(p.shape(), p.dtype());
      dispatch_floating(p.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        T* theta = p.data<T>();
        const T* g = grad.data<T>();
        T* m = s.exp_avg[k].data<T>();
        T* v = s.exp_avg_sq[k].data<T>();
        T* v_max = h.amsgrad ? s.max_exp_avg_sq[k].data<T>() : nullptr;
        // Each element's update is its own: any split over threads gives the same bits.
        minigrad::detail::parallel_ranges(p.numel(), kAdamCost, [&](int64_t b, int64_t e) {
          T* vm = v_max != nullptr ? v_max + b : nullptr;
          const int64_t n = e - b;
          if (h.decoupled) {
            h.amsgrad
                ? adam_update<true, true>(n, theta + b, g + b, m + b, v + b, vm, h, bc1, bc2)
                : adam_update<true, false>(n, theta + b, g + b, m + b, v + b, vm, h, bc1, bc2);
          } else {
            h.amsgrad
                ? adam_update<false, true>(n, theta + b, g + b, m + b, v + b, vm, h, bc1, bc2)
                : adam_update<false, false>(n, theta + b, g + b, m + b, v + b, vm, h, bc1, bc2);
          }
        });
      });
    }
  }
}

// exp_avg and exp_avg_sq, the step counts, and max_exp_avg_sq once a group uses amsgrad
// (Slots: Optimizer::StateSlots).
template <class Options, class Slots>
Slots adam_slots(const std::vector<OptimizerParamGroup>& groups, detail::AdamState& s) {
  Slots slots;
  slots.buffers = {{"exp_avg", &s.exp_avg}, {"exp_avg_sq", &s.exp_avg_sq}};
  slots.counters = {{"step", &s.step}};
  bool amsgrad = false;
  for (const OptimizerParamGroup& g : groups)
    amsgrad |= g.has_options() && static_cast<const Options&>(g.options()).amsgrad();
  if (amsgrad) slots.buffers.emplace_back("max_exp_avg_sq", &s.max_exp_avg_sq);
  return slots;
}

}  // namespace

Adam::Adam(std::vector<Variable> params, AdamOptions defaults)
    : Adam(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))},
           std::move(defaults)) {}

Adam::Adam(std::vector<OptimizerParamGroup> param_groups, AdamOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<AdamOptions>(std::move(defaults))) {
  finish_construction();
}

void Adam::check_options(const OptimizerOptions& options, const std::string& where) const {
  const auto& opts = options_as<AdamOptions>(options, "Adam", where, "AdamOptions");
  check_adam(opts, false, "Adam");
}

void Adam::step() { adam_step<AdamOptions>(groups_, params_, state_, false, "Adam"); }

Optimizer::StateSlots Adam::state_slots() {
  return adam_slots<AdamOptions, StateSlots>(groups_, state_);
}

AdamW::AdamW(std::vector<Variable> params, AdamWOptions defaults)
    : AdamW(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))},
            std::move(defaults)) {}

AdamW::AdamW(std::vector<OptimizerParamGroup> param_groups, AdamWOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<AdamWOptions>(std::move(defaults))) {
  finish_construction();
}

void AdamW::check_options(const OptimizerOptions& options, const std::string& where) const {
  const auto& opts = options_as<AdamWOptions>(options, "AdamW", where, "AdamWOptions");
  check_adam(opts, true, "AdamW");
}

void AdamW::step() { adam_step<AdamWOptions>(groups_, params_, state_, true, "AdamW"); }

Optimizer::StateSlots AdamW::state_slots() {
  return adam_slots<AdamWOptions, StateSlots>(groups_, state_);
}

// ---- gradient clipping ------------------------------------------------------------------------

namespace {

// f(g) for the gradient g of every parameter that has one, in parameter order. The
// gradients are shared among the threads when they hold enough elements in all; each
// f(g) is computed whole by one thread, so the results do not depend on the count.
template <class F>
std::vector<double> per_gradient(const std::vector<Variable>& parameters, F f) {
  std::vector<Tensor> grads;
  int64_t total = 0;
  for (const Variable& p : parameters) {
    if (!p.has_grad()) continue;
    grads.push_back(p.grad().contiguous());
    total += grads.back().numel();
  }
  std::vector<double> out(grads.size());
  const auto n = static_cast<int64_t>(grads.size());
#pragma omp parallel for schedule(dynamic) if (total >= minigrad::detail::kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& g = grads[static_cast<size_t>(i)];
    out[static_cast<size_t>(i)] = g.dtype() == DType::Float64 ? f(g.data<double>(), g.numel())
                                                              : f(g.data<float>(), g.numel());
  }
  return out;
}

}  // namespace

double utils::clip_grad_norm_(const std::vector<Variable>& parameters, double max_norm,
                              double norm_type) {
  MINIGRAD_CHECK(max_norm > 0) << "clip_grad_norm_: max_norm must be > 0, got " << num(max_norm);
  MINIGRAD_CHECK(norm_type > 0) << "clip_grad_norm_: norm_type must be > 0 (or INFINITY), got "
                                << num(norm_type);
  // Sums in double, each gradient's in detail::kLanes lanes (a single running sum would
  // be a chain of dependent adds), the gradients' sums then added in order.
  double norm = 0;
  if (std::isinf(norm_type)) {  // ‖g‖_∞ = max |g_i|
    for (double m : per_gradient(parameters, [](const auto*g, int64_t n) {
           double m = 0;
           for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(static_cast<double>(g[i])));
           return m;
         }))
      norm = std::max(norm, m);
  } else if (norm_type == 2) {  // ‖g‖₂ = √(Σ g_i²)
    double total = 0;
    for (double s : per_gradient(parameters, [](const auto*g, int64_t n) {
           return minigrad::detail::row_sum_by<double>(n, [g](int64_t i) {
             const auto x = static_cast<double>(g[i]);
             return x * x;
           });
         }))
      total += s;
    norm = std::sqrt(total);
  } else {  // ‖g‖_p = (Σ |g_i|^p)^(1/p)
    double total = 0;
    for (double s : per_gradient(parameters, [norm_type](const auto*g, int64_t n) {
           return minigrad::detail::row_sum_by<double>(n, [g, norm_type](int64_t i) {
             return std::pow(std::abs(static_cast<double>(g[i])), norm_type);
           });
         }))
      total += s;
    norm = std::pow(total, 1 / norm_type);
  }
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1) {
    for (const Variable& p : parameters) {
      if (!p.has_grad()) continue;
      Variable q = p;
      q.mutable_grad().mul_(scale);
    }
  }
  return norm;
}

}  // namespace minigrad::nn
