#include "minigrad/nn/module.h"
#include "minigrad/tensor/check.h"

#include <ostream>
#include <sstream>
#include <stdexcept>

namespace minigrad::nn {

Variable Module::forward(const Variable&) {
  throw std::logic_error(type_name() +
                         ": this module has no single-input forward(Variable); call its own "
                         "forward with the arguments it takes");
}

static void check_name(const std::string& name, const std::string& owner, const char* what) {
  MINIGRAD_CHECK(!name.empty() && name.find('.') == std::string::npos)
      << owner << ": " << what << " name '" << name << "' must be non-empty and contain no '.'";
}

void Module::register_parameter(const std::string& name, Variable* slot, Tensor value,
                                bool requires_grad) {
  check_name(name, type_name(), "parameter");
  for (const auto& [n, s] : params_) {
    MINIGRAD_CHECK(n != name && s != slot)
        << type_name() << ": parameter '" << name << "' is already registered";
  }
  for (const auto& [n, m] : children_) {
    MINIGRAD_CHECK(n != name) << type_name() << ": '" << name << "' is already a submodule";
  }
  *slot = Variable(std::move(value)).requires_grad_(requires_grad);
  params_.emplace_back(name, slot);
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(name, type_name(), "submodule");
  MINIGRAD_CHECK(module) << type_name() << ": submodule '" << name << "' is null";
  for (const auto& [n, m] : children_) {
    MINIGRAD_CHECK(n != name) << type_name() << ": submodule '" << name
                              << "' is already registered";
  }
  for (const auto& [n, s] : params_) {
    MINIGRAD_CHECK(n != name) << type_name() << ": '" << name << "' is already a parameter";
  }
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix,
                     std::vector<std::pair<std::string, Variable>>& out) const {
  for (const auto& [name, slot] : params_) {
    if (slot->defined()) out.emplace_back(prefix + name, *slot);
  }
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Variable>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Variable>> out;
  collect("", out);
  return out;
}

std::vector<Variable> Module::parameters() const {
  std::vector<Variable> out;
  for (auto& [name, v] : named_parameters()) out.push_back(v);
  return out;
}

Variable Module::parameter(const std::string& dotted_name) const {
  std::string names;
  for (const auto& [name, v] : named_parameters()) {
    if (name == dotted_name) return v;
    names += (names.empty() ? "" : ", ") + name;
  }
  throw std::out_of_range(type_name() + ": no parameter named '" + dotted_name +
                          "' (it has: " + names + ")");
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, v] : named_parameters()) n += v.numel();
  return n;
}

void Module::zero_grad() {
  for (auto& [name, v] : named_parameters()) v.zero_grad();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (const auto& [name, v] : named_parameters()) out.emplace(name, v.data());
  return out;
}

void Module::check_state_dict(const std::map<std::string, Tensor>& state, bool strict) const {
  const auto params = named_parameters();
  // Validate everything first: a half-loaded model is worse than an error.
  std::vector<std::string> missing;
  for (const auto& [name, v] : params) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
      continue;
    }
    const Tensor& t = it->second;
    MINIGRAD_CHECK(t.dtype() == v.dtype() && t.shape() == v.shape())
        << type_name() << ".load_state_dict: '" << name << "' is " << dtype_name(t.dtype())
        << t.shape() << ", the model has " << dtype_name(v.dtype()) << v.shape();
  }
  if (strict) {
    std::string problems;
    for (const auto& name : missing) problems += " missing '" + name + "';";
    for (const auto& [name, t] : state) {
      bool known = false;
      for (const auto& [pname, v] : params) known |= pname == name;
      if (!known) problems += " unexpected '" + name + "';";
    }
    MINIGRAD_CHECK(problems.empty()) << type_name() << ".load_state_dict:" << problems;
  }
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  check_state_dict(state, strict);
  const auto params = named_parameters();
  NoGradGuard no_grad;
  for (auto& [name, v] : params) {
    auto it = state.find(name);
    if (it != state.end()) {
      Variable p = v;
      p.mutable_data().copy_(it->second);
    }
  }
}

// As PyTorch prints a module: a leaf on one line, "Linear(in=4, out=3)"; a module with
// children puts its own settings (if any) on the first indented line, then one line
// per child.
void Module::print(std::string& out, int indent) const {
  out += type_name() + "(";
  const std::string settings = extra_repr();
  if (children_.empty()) {
    out += settings + ")";
    return;
  }
  const std::string pad(static_cast<size_t>(indent + 2), ' ');
  out += "\n";
  if (!settings.empty()) out += pad + settings + "\n";
  for (const auto& [name, child] : children_) {
    out += pad + "(" + name + "): ";
    child->print(out, indent + 2);
    out += "\n";
  }
  out += std::string(static_cast<size_t>(indent), ' ') + ")";
}

std::string Module::str() const {
  std::string out;
  print(out, 0);
  std::ostringstream os;
  os << "\n";
  for (const auto& [name, v] : named_parameters()) {
    os << "  " << name << ": " << dtype_name(v.dtype()) << v.shape() << "\n";
  }
  os << "  total: " << num_parameters() << " parameters\n";
  return out + os.str();
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.str(); }

}  // namespace minigrad::nn
