/// \file
/// Module: the unit models are built from. A Module owns named parameters and
/// named submodules; everything else (optimizers, checkpoints, printing) finds
/// the parameters through those names:
///
///     class TwoLayer : public nn::Module {
///      public:
///       TwoLayer() {
///         fc1 = register_module("fc1", std::make_shared<nn::Linear>(2, 8));
///         fc2 = register_module("fc2", std::make_shared<nn::Linear>(8, 1));
///       }
///       Variable forward(const Variable& x) override { return (*fc2)(tanh((*fc1)(x))); }
///       std::shared_ptr<nn::Linear> fc1, fc2;
///     };
///     model.named_parameters()  →  fc1.weight, fc1.bias, fc2.weight, fc2.bias
///
/// A parameter is registered with a pointer to the member that holds it, and the
/// registry reads that member every time. Assigning a new Variable to the member
/// therefore replaces the parameter everywhere: the registry can never go stale.
/// (For that reason a Module cannot be copied or moved; hold it by shared_ptr.)
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "minigrad/autograd/functions.h"

namespace minigrad::nn {

/// The base of every layer and model: named parameters, named submodules, the
/// training flag, state dicts and printing.
class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The type name shown when printing ("Linear").
  virtual std::string type_name() const = 0;
  /// The settings shown in parentheses when printing ("in_features=4, out_features=8").
  virtual std::string extra_repr() const { return ""; }

  /// Modules with one input and one output implement this; Sequential chains them
  /// (nn/container.h).
  virtual Variable forward(const Variable& x);
  /// forward(x). A module whose forward takes other arguments or returns a struct
  /// defines its own operator() with the same parameters (`lstm(x, state)`); one that
  /// also overrides this forward adds `using Module::operator();` so both calls work.
  Variable operator()(const Variable& x) { return forward(x); }

  // ---- parameters and submodules --------------------------------------------------
  /// `slot` is the member that holds the parameter; it is set to a leaf Variable
  /// holding `value` (requires_grad as given). Names may not repeat or contain '.'.
  void register_parameter(const std::string& name, Variable* slot, Tensor value,
                          bool requires_grad = true);
  /// Adds `module` as a child named `name`: its parameters become name.param.
  /// Returns it, to store in a typed member. Names may not repeat or contain '.'.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  /// Dotted names in registration order, children after own parameters:
  /// "encoder.weight_ih_l0". Undefined slots (e.g. a Linear without bias) are skipped.
  std::vector<std::pair<std::string, Variable>> named_parameters() const;
  /// The values of named_parameters(), in the same order.
  std::vector<Variable> parameters() const;
  /// The direct children in registration order.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const {
    return children_;
  }
  /// The parameter with this dotted name; throws std::out_of_range listing the names.
  Variable parameter(const std::string& dotted_name) const;
  int64_t num_parameters() const;  ///< total number of elements

  /// Clears the gradient of every parameter.
  void zero_grad();
  /// Training mode (Dropout drops) or evaluation mode (Dropout is the identity).
  void train(bool on = true);
  void eval() { train(false); }                   ///< train(false)
  bool is_training() const { return training_; }  ///< set by train() and eval()

  // ---- state ---------------------------------------------------------------------------
  /// name → tensor (the parameters' data, shared, not copied).
  std::map<std::string, Tensor> state_dict() const;
  /// Checks every name, dtype and shape first and only then copies, so a mismatch
  /// leaves the module exactly as it was. strict: the names must match exactly.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);
  /// The checks of load_state_dict alone: throws std::invalid_argument, changes nothing.
  void check_state_dict(const std::map<std::string, Tensor>& state, bool strict = true) const;

  /// The tree, like PyTorch's print(model), then every parameter's dtype and shape
  /// and the total, one per line; ends with a newline.
  std::string str() const;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Variable>>& out) const;
  void print(std::string& out, int indent) const;

  std::vector<std::pair<std::string, Variable*>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

/// Writes m.str().
std::ostream& operator<<(std::ostream& os, const Module& m);

}  // namespace minigrad::nn
