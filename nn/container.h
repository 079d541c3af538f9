/// \file
/// The containers of libtorch (and PyTorch): Sequential, ModuleList, ModuleDict.
/// Each registers what it holds as its children, so the parameters inside carry
/// PyTorch's state-dict names:
///
///     auto seq = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 8),
///                                                 std::make_shared<nn::Tanh>(),
///                                                 std::make_shared<nn::Linear>(8, 2));
///     (*seq)(x);                          // Linear → Tanh → Linear
///     seq->named_parameters()  →  0.weight, 0.bias, 2.weight, 2.bias
///
///     nn::ModuleList layers;              // layers.push_back(...): 0.weight, 1.weight, ...
///     nn::ModuleDict heads({{"cls", std::make_shared<nn::Linear>(8, 3)}});   // cls.weight
///
/// Printing one shows the tree as PyTorch's print(model) does:
///
///     Sequential(
///       (0): Linear(in_features=4, out_features=8, bias=true)
///       (1): Tanh()
///       (2): Linear(in_features=8, out_features=2, bias=true)
///     )
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "minigrad/nn/module.h"

namespace minigrad::nn {

/// What Sequential and ModuleList share: modules kept in order, named "0", "1", ...
/// as they are added (or by the name given to push_back), reached by position.
class ModuleSequence : public Module {
 public:
  /// Appends `module`, registered under its position ("0", "1", ...).
  /// \throws std::invalid_argument if module is null
  void push_back(std::shared_ptr<Module> module);
  /// Appends `module` registered under `name` (libtorch's named push_back).
  /// \throws std::invalid_argument if the name repeats, is empty or contains '.'
  void push_back(const std::string& name, std::shared_ptr<Module> module);

  /// The module at `index`; negative counts from the end, as in Python.
  /// \throws std::out_of_range naming the index and the size
  const std::shared_ptr<Module>& operator[](int64_t index) const;
  /// operator[], as a shared_ptr of type T. \throws std::invalid_argument if it is not a T
  template <class T>
  std::shared_ptr<T> ptr(int64_t index) const {
    auto typed = std::dynamic_pointer_cast<T>((*this)[index]);
    if (!typed) wrong_type(index);
    return typed;
  }
  /// operator[], as a T&. \throws std::invalid_argument if it is not a T
  template <class T>
  T& at(int64_t index) const {
    return *ptr<T>(index);
  }

  size_t size() const { return modules_.size(); }     ///< how many modules
  bool is_empty() const { return modules_.empty(); }  ///< size() == 0
  /// The modules in order (`for (const auto& m : seq)`).
  std::vector<std::shared_ptr<Module>>::const_iterator begin() const { return modules_.begin(); }
  /// The end of begin().
  std::vector<std::shared_ptr<Module>>::const_iterator end() const { return modules_.end(); }

 protected:
  ModuleSequence() = default;

 private:
  [[noreturn]] void wrong_type(int64_t index) const;
  std::vector<std::shared_ptr<Module>> modules_;
};

/// Applies its modules in order, each one's output the next one's input:
/// forward(x) = m_{n−1}(… m_1(m_0(x))). Every module must take and return one
/// Variable (Linear, Tanh, Dropout, ...; not LSTM, whose result is a struct).
class Sequential : public ModuleSequence {
 public:
  Sequential() = default;
  /// `nn::Sequential seq{linear, relu}`: the modules in order.
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  /// `std::make_shared<nn::Sequential>(linear, relu)`: the modules in order.
  template <class... M>
  explicit Sequential(std::shared_ptr<M>... modules) {
    (push_back(std::shared_ptr<Module>(std::move(modules))), ...);
  }
  /// The modules applied in order; the identity when empty.
  Variable forward(const Variable& x) override;
  std::string type_name() const override { return "Sequential"; }
};

/// Modules kept in a list, named "0", "1", ... (PyTorch's nn.ModuleList): for
/// models that hold a varying number of layers and run them in their own forward.
/// It has no forward of its own.
class ModuleList : public ModuleSequence {
 public:
  ModuleList() = default;
  /// The modules in order.
  ModuleList(std::initializer_list<std::shared_ptr<Module>> modules);
  std::string type_name() const override { return "ModuleList"; }
};

/// Modules by name, in insertion order (PyTorch's nn.ModuleDict): each one's
/// parameters are named "<key>.<name>". It has no forward of its own.
class ModuleDict : public Module {
 public:
  ModuleDict() = default;
  /// `nn::ModuleDict d({{"encoder", enc}, {"decoder", dec}})`: inserted in order.
  ModuleDict(std::initializer_list<std::pair<std::string, std::shared_ptr<Module>>> items);

  /// Adds `module` under `key`; returns it.
  /// \throws std::invalid_argument if module is null or the key repeats, is empty or
  ///         contains '.'
  std::shared_ptr<Module> insert(const std::string& key, std::shared_ptr<Module> module);
  /// The module under `key`. \throws std::out_of_range listing the keys
  const std::shared_ptr<Module>& operator[](const std::string& key) const;
  /// operator[], as a shared_ptr of type T. \throws std::invalid_argument if it is not a T
  template <class T>
  std::shared_ptr<T> ptr(const std::string& key) const {
    auto typed = std::dynamic_pointer_cast<T>((*this)[key]);
    if (!typed) wrong_type(key);
    return typed;
  }
  /// operator[], as a T&. \throws std::invalid_argument if it is not a T
  template <class T>
  T& at(const std::string& key) const {
    return *ptr<T>(key);
  }
  /// Whether a module is stored under `key`.
  bool contains(const std::string& key) const;
  std::vector<std::string> keys() const;                ///< in insertion order
  std::vector<std::shared_ptr<Module>> values() const;  ///< in insertion order
  size_t size() const { return items_.size(); }         ///< how many modules
  bool is_empty() const { return items_.empty(); }      ///< size() == 0
  /// (key, module) pairs in insertion order (`for (const auto& [key, m] : dict)`).
  std::vector<std::pair<std::string, std::shared_ptr<Module>>>::const_iterator begin() const {
    return items_.begin();
  }
  /// The end of begin().
  std::vector<std::pair<std::string, std::shared_ptr<Module>>>::const_iterator end() const {
    return items_.end();
  }
  std::string type_name() const override { return "ModuleDict"; }

 private:
  [[noreturn]] void wrong_type(const std::string& key) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> items_;
};

}  // namespace minigrad::nn
