#include "minigrad/nn/container.h"

#include <stdexcept>

#include "minigrad/tensor/check.h"

namespace minigrad::nn {

// ---- ModuleSequence -------------------------------------------------------------------------

void ModuleSequence::push_back(std::shared_ptr<Module> module) {
  push_back(std::to_string(modules_.size()), std::move(module));
}

void ModuleSequence::push_back(const std::string& name, std::shared_ptr<Module> module) {
  register_module(name, module);  // checks the name and that module is not null
  modules_.push_back(std::move(module));
}

const std::shared_ptr<Module>& ModuleSequence::operator[](int64_t index) const {
  const auto n = static_cast<int64_t>(modules_.size());
  MINIGRAD_CHECK_INDEX(index >= -n && index < n)
      << type_name() << ": index " << index << " is out of range for " << n << " modules";
  return modules_[static_cast<size_t>(index < 0 ? index + n : index)];
}

void ModuleSequence::wrong_type(int64_t index) const {
  throw std::invalid_argument(type_name() + ": module " + std::to_string(index) + " is a " +
                              (*this)[index]->type_name() + ", not the type asked for");
}

// ---- Sequential -----------------------------------------------------------------------------

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

Variable Sequential::forward(const Variable& x) {
  Variable y = x;
  for (const auto& m : *this) y = (*m)(y);
  return y;
}

// ---- ModuleList -----------------------------------------------------------------------------

ModuleList::ModuleList(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

// ---- ModuleDict -----------------------------------------------------------------------------

ModuleDict::ModuleDict(
    std::initializer_list<std::pair<std::string, std::shared_ptr<Module>>> items) {
  for (const auto& [key, m] : items) insert(key, m);
}

std::shared_ptr<Module> ModuleDict::insert(const std::string& key, std::shared_ptr<Module> module) {
  register_module(key, module);  // checks the key and that module is not null
  items_.emplace_back(key, module);
  return module;
}

const std::shared_ptr<Module>& ModuleDict::operator[](const std::string& key) const {
  for (const auto& item : items_) {
    if (item.first == key) return item.second;
  }
  std::string known;
  for (const auto& item : items_) known += (known.empty() ? "" : ", ") + item.first;
  throw std::out_of_range("ModuleDict: no module under the key '" + key + "' (it has: " + known +
                          ")");
}

void ModuleDict::wrong_type(const std::string& key) const {
  throw std::invalid_argument("ModuleDict: the module under '" + key + "' is a " +
                              (*this)[key]->type_name() + ", not the type asked for");
}

bool ModuleDict::contains(const std::string& key) const {
  for (const auto& item : items_) {
    if (item.first == key) return true;
  }
  return false;
}

std::vector<std::string> ModuleDict::keys() const {
  std::vector<std::string> out;
  for (const auto& item : items_) out.push_back(item.first);
  return out;
}

std::vector<std::shared_ptr<Module>> ModuleDict::values() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& item : items_) out.push_back(item.second);
  return out;
}

}  // namespace minigrad::nn
