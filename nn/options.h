/// \file
/// MINIGRAD_ARG: one setting of an options object, written as libtorch writes its
/// own (TORCH_ARG), so that a PyTorch user's C++ reads the same here:
///
///     struct LinearOptions {
///       LinearOptions(int64_t in_features, int64_t out_features);
///       MINIGRAD_ARG(int64_t, in_features);
///       MINIGRAD_ARG(int64_t, out_features);
///       MINIGRAD_ARG(bool, bias) = true;        // the default follows the '='
///     };
///
///     nn::Linear fc(nn::LinearOptions(64, 32).bias(false));   // setters chain
///     if (fc.options.bias()) ...                              // getters read
///
/// Options objects are why no constructor in minigrad takes a bool positionally:
/// `MultiheadAttention(64, 4, 0.0)` would otherwise turn 0.0 into bias = false
/// without a word. A setting named at the call site cannot be misplaced.
#pragma once

#include <utility>

/// Declares the setting `name` of type `T`: a chaining setter `name(value)` that
/// returns the options object, a getter `name()`, and the private member `name_`
/// that holds it. Write the default after the macro: `MINIGRAD_ARG(double, eps) = 1e-5;`.
/// A type with a comma in it needs an alias first: `using betas_t = std::array<double, 2>;`.
#define MINIGRAD_ARG(T, name)                              \
 public:                                                   \
  auto name(const T& new_##name)->decltype(*this) {        \
    this->name##_ = new_##name;                            \
    return *this;                                          \
  }                                                        \
  auto name(T&& new_##name)->decltype(*this) {             \
    this->name##_ = std::move(new_##name);                 \
    return *this;                                          \
  }                                                        \
  const T& name() const noexcept { return this->name##_; } \
  T& name() noexcept { return this->name##_; }             \
                                                           \
 private:                                                  \
  T name##_ /* NOLINT */
