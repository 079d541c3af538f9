#include "minigrad/nn/optim.h"
#include "minigrad/tensor/check.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

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

Optimizer::Optimizer(std::vector<Variable> params) : params_(std::move(params)) {
  for (size_t i = 0; i < params_.size(); ++i) {
    MINIGRAD_CHECK(params_[i].defined() && params_[i].requires_grad() && params_[i].is_leaf())
        << "optimizer: parameter " << i << " is not a leaf that requires grad";
    MINIGRAD_CHECK(params_[i].data().is_contiguous())
        << "optimizer: parameter " << i << " is not contiguous";
  }
}

void Optimizer::check_lr(double lr, const std::string& op) {
  MINIGRAD_CHECK(std::isfinite(lr) && lr >= 0)
      << op << ": learning rate must be finite and ≥ 0, got " << num(lr);
}

void Optimizer::zero_grad() {
  for (Variable& p : params_) p.zero_grad();
}

double Optimizer::lr() const { return const_cast<Optimizer*>(this)->lr_slot(); }

void Optimizer::set_lr(double lr) {
  check_lr(lr, type_name());
  lr_slot() = lr;
}

// ---- state ---------------------------------------------------------------------------------

std::vector<std::pair<std::string, Tensor>> Optimizer::state_dict() const {
  // state_slots() hands out pointers for load_state_dict; here they are only read.
  const StateSlots slots = const_cast<Optimizer*>(this)->state_slots();
  std::vector<std::pair<std::string, Tensor>> out;
  out.emplace_back("lr", Tensor::from_vector<double>({lr()}, {1}));
  for (const auto& [name, counter] : slots.counters)
    out.emplace_back(name, Tensor::from_vector<int64_t>({*counter}, {1}));
  for (const auto& [name, buffers] : slots.buffers)
    for (size_t k = 0; k < buffers->size(); ++k)
      if ((*buffers)[k].defined())
        out.emplace_back(name + "." + std::to_string(k), (*buffers)[k].clone());
  return out;
}

void Optimizer::check_state_dict(const std::map<std::string, Tensor>& state) const {
  const StateSlots slots = const_cast<Optimizer*>(this)->state_slots();
  const std::string op = type_name() + ".load_state_dict: ";
  auto scalar = [&](const std::string& name, DType dtype) {
    auto it = state.find(name);
    MINIGRAD_CHECK(it != state.end()) << op << "missing '" << name << "'";
    MINIGRAD_CHECK(it->second.dtype() == dtype && it->second.shape() == Shape{1})
        << op << "'" << name << "' is " << dtype_name(it->second.dtype()) << it->second.shape()
        << ", expected " << dtype_name(dtype) << "[1]";
    return it->second;
  };
  const double lr = scalar("lr", DType::Float64).item();
  MINIGRAD_CHECK(std::isfinite(lr) && lr >= 0)
      << op << "'lr' is " << num(lr) << ", must be finite and ≥ 0";
  for (const auto& [name, counter] : slots.counters) {
    MINIGRAD_CHECK(scalar(name, DType::Int64).to_vector<int64_t>()[0] >= 0)
        << op << "'" << name << "' is negative";
  }
  for (const auto& [key, t] : state) {
    if (key == "lr") continue;
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
  lr_slot() = state.at("lr").item();
  for (const auto& [name, counter] : slots.counters)
    *counter = state.at(name).to_vector<int64_t>()[0];
  for (const auto& [name, buffers] : slots.buffers) {
    for (size_t k = 0; k < buffers->size(); ++k) {
      auto it = state.find(name + "." + std::to_string(k));
      (*buffers)[k] = it == state.end() ? Tensor() : it->second.clone();
    }
  }
}

// ---- SGD ----------------------------------------------------------------------------------

SGD::SGD(std::vector<Variable> params, SGDOptions opts)
    : Optimizer(std::move(params)), options(opts) {
  check_lr(opts.lr(), "SGD");
  MINIGRAD_CHECK(opts.momentum() >= 0) << "SGD: momentum must be ≥ 0, got " << num(opts.momentum());
  MINIGRAD_CHECK(opts.weight_decay() >= 0)
      << "SGD: weight_decay must be ≥ 0, got " << num(opts.weight_decay());
  MINIGRAD_CHECK(!opts.nesterov() || (opts.momentum() > 0 && opts.dampening() == 0))
      << "SGD: nesterov needs momentum > 0 and dampening = 0";
  velocity_.resize(params_.size());
}

void SGD::step() {
  NoGradGuard no_grad;
  const double mu = options.momentum(), wd = options.weight_decay(), damp = options.dampening();
  const double lr = options.lr();
  const bool nesterov = options.nesterov();
  for (size_t k = 0; k < params_.size(); ++k) {
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

// ---- Adam / AdamW ---------------------------------------------------------------------------

namespace {

struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, decoupled;
};

template <class Options>
AdamHyper check_adam(const Options& o, bool decoupled, const char* op) {
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

void adam_step(std::vector<Variable>& params, detail::AdamState& s, const AdamHyper& h) {
  NoGradGuard no_grad;
  const int64_t t = ++s.step;
  const double b1 = h.beta1, b2 = h.beta2, eps = h.eps, wd = h.weight_decay, lr = h.lr;
  const double bc1 = 1 - std::pow(b1, static_cast<double>(t));  // bias corrections: m and v
  const double bc2 =
      1 - std::pow(b2, static_cast<double>(t));  // start at 0, so early means are too small
  for (size_t k = 0; k < params.size(); ++k) {
    const Tensor grad = grad_of(params[k]);
    if (!grad.defined()) continue;
    Tensor& p = params[k].mutable_data();
    if (!s.exp_avg[k].defined()) {
      s.exp_avg[k] = Tensor::zeros(p.shape(), p.dtype());
      s.exp_avg_sq[k] = Tensor::zeros(p.shape(), p.dtype());
    }
    if (h.amsgrad && !s.max_exp_avg_sq[k].defined())
      s.max_exp_avg_sq[k] = Tensor::zeros(p.shape(), p.dtype());
    std::vector<Tensor*> state{&s.exp_avg[k], &s.exp_avg_sq[k]};
    if (h.amsgrad) state.push_back(&s.max_exp_avg_sq[k]);
    const bool decoupled = h.decoupled, amsgrad = h.amsgrad;
    for_each_element(
        p, grad, state, "Adam", [&](auto& theta, auto g, auto& m, auto& v, auto& v_max) {
          using T = std::remove_reference_t<decltype(theta)>;
          if (decoupled) {
            theta *= static_cast<T>(1 - lr * wd);  // θ ← θ(1 - lr·λ)
          } else {
            g += static_cast<T>(wd) * theta;  // g ← ∇ + λθ
          }
          m = static_cast<T>(b1) * m + static_cast<T>(1 - b1) * g;      // m ← β₁m + (1-β₁)g
          v = static_cast<T>(b2) * v + static_cast<T>(1 - b2) * g * g;  // v ← β₂v + (1-β₂)g²
          if (amsgrad) v_max = std::max(v_max, v);                      // v_max ← max(v_max, v)
          const T denom =
              std::sqrt((amsgrad ? v_max : v) / static_cast<T>(bc2)) + static_cast<T>(eps);
          theta -= static_cast<T>(lr / bc1) * m / denom;  // θ ← θ - lr·m̂/(√v̂ + ε)
        });
  }
}

}  // namespace

Adam::Adam(std::vector<Variable> params, AdamOptions opts)
    : Optimizer(std::move(params)), options(std::move(opts)) {
  check_lr(options.lr(), "Adam");
  check_adam(options, false, "Adam");
  state_.exp_avg.resize(params_.size());
  state_.exp_avg_sq.resize(params_.size());
  state_.max_exp_avg_sq.resize(params_.size());
}

void Adam::step() { adam_step(params_, state_, check_adam(options, false, "Adam")); }

Optimizer::StateSlots Adam::state_slots() {
  StateSlots slots{{{"exp_avg", &state_.exp_avg}, {"exp_avg_sq", &state_.exp_avg_sq}},
                   {{"step", &state_.step}}};
  if (options.amsgrad()) slots.buffers.emplace_back("max_exp_avg_sq", &state_.max_exp_avg_sq);
  return slots;
}

AdamW::AdamW(std::vector<Variable> params, AdamWOptions opts)
    : Optimizer(std::move(params)), options(std::move(opts)) {
  check_lr(options.lr(), "AdamW");
  check_adam(options, true, "AdamW");
  state_.exp_avg.resize(params_.size());
  state_.exp_avg_sq.resize(params_.size());
  state_.max_exp_avg_sq.resize(params_.size());
}

void AdamW::step() { adam_step(params_, state_, check_adam(options, true, "AdamW")); }

Optimizer::StateSlots AdamW::state_slots() {
  StateSlots slots{{{"exp_avg", &state_.exp_avg}, {"exp_avg_sq", &state_.exp_avg_sq}},
                   {{"step", &state_.step}}};
  if (options.amsgrad()) slots.buffers.emplace_back("max_exp_avg_sq", &state_.max_exp_avg_sq);
  return slots;
}

// ---- gradient clipping ------------------------------------------------------------------------

double utils::clip_grad_norm_(const std::vector<Variable>& parameters, double max_norm,
                              double norm_type) {
  MINIGRAD_CHECK(max_norm > 0) << "clip_grad_norm_: max_norm must be > 0, got " << num(max_norm);
  MINIGRAD_CHECK(norm_type > 0) << "clip_grad_norm_: norm_type must be > 0 (or INFINITY), got "
                                << num(norm_type);
  double norm = 0;
  if (std::isinf(norm_type)) {  // ‖g‖_∞ = max |g_i|
    for (const Variable& p : parameters) {
      if (!p.has_grad()) continue;
      for (double g : p.grad().to_vector<double>()) norm = std::max(norm, std::abs(g));
    }
  } else if (norm_type == 2) {  // ‖g‖₂ = √(Σ g_i²)
    double total = 0;
    for (const Variable& p : parameters) {
      if (!p.has_grad()) continue;
      for (double g : p.grad().to_vector<double>()) total += g * g;
    }
    norm = std::sqrt(total);
  } else {  // ‖g‖_p = (Σ |g_i|^p)^(1/p)
    double total = 0;
    for (const Variable& p : parameters) {
      if (!p.has_grad()) continue;
      for (double g : p.grad().to_vector<double>()) total += std::pow(std::abs(g), norm_type);
    }
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
