// Helpers shared by the PyTorch parity tests (test_parity_nn.cpp,
// test_parity_attention.cpp): reading a fixture that tools/make_fixtures.py wrote,
// its settings, and the error measure with the worst case kept and printed.
//
// The measure is the norm-wise relative error
//
//   err(got, want) = max_i |got_i - want_i| / max_i |want_i|
//
// (element-wise relative error is meaningless for entries near zero, which every
// gradient has). Bounds: 1e-10 in float64, 1e-5 in float32 — a few hundred ulps
// of reordered sums, far below the size of any real mistake in a formula.
// Every test prints its worst error and records it as the gtest property
// "worst_relative_error".
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "minigrad/autograd/functions.h"
#include "minigrad/nn/module.h"
#include "minigrad/nn/optim.h"
#include "minigrad/tensor/safetensors.h"

namespace minigrad::testing {

inline SafetensorsFile load_fixture(const std::string& case_name, const std::string& variant) {
  return read_safetensors(std::string(MINIGRAD_FIXTURE_DIR) + "/" + case_name + "_" + variant +
                          ".safetensors");
}

inline DType dtype_of_variant(const std::string& variant) {
  return variant == "f32" ? DType::Float32 : DType::Float64;
}

inline const std::string& meta(const SafetensorsFile& f, const std::string& key) {
  const auto it = f.metadata.find(key);
  if (it == f.metadata.end()) throw std::out_of_range("fixture has no metadata \"" + key + "\"");
  return it->second;
}
inline int64_t meta_int(const SafetensorsFile& f, const std::string& key) {
  return std::stoll(meta(f, key));
}
inline double meta_double(const SafetensorsFile& f, const std::string& key) {
  return std::stod(meta(f, key));
}

// The module's parameters, by their (PyTorch) names, taken from the fixture.
inline std::map<std::string, Tensor> params_from(const SafetensorsFile& f, const nn::Module& m) {
  std::map<std::string, Tensor> state;
  for (const auto& [name, p] : m.named_parameters()) state[name] = f.at(name);
  return state;
}

// The optimizer a fixture's metadata describes ("optimizer": sgd | adam | adamw, "lr" and
// every other setting spelled out, as tools/make_fixtures.py's optimizer_metadata writes).
// With "groups" (G), the parameters in order make G groups of "group<g>_size" each, with
// that group's "group<g>_lr" and "group<g>_weight_decay" over the other settings.
template <class Opt, class Options>
std::unique_ptr<nn::Optimizer> optimizer_with_groups(const SafetensorsFile& f,
                                                     std::vector<Variable> params,
                                                     const Options& options) {
  if (f.metadata.count("groups") == 0) return std::make_unique<Opt>(std::move(params), options);
  std::vector<nn::OptimizerParamGroup> groups;
  size_t at = 0;
  for (int64_t g = 0; g < meta_int(f, "groups"); ++g) {
    const std::string key = "group" + std::to_string(g) + "_";
    const auto size = static_cast<size_t>(meta_int(f, key + "size"));
    if (at + size > params.size()) throw std::invalid_argument("fixture groups exceed params");
    Options group = options;
    group.lr(meta_double(f, key + "lr")).weight_decay(meta_double(f, key + "weight_decay"));
    groups.emplace_back(
        std::vector<Variable>(params.begin() + static_cast<std::ptrdiff_t>(at),
                              params.begin() + static_cast<std::ptrdiff_t>(at + size)),
        std::make_unique<Options>(group));
    at += size;
  }
  if (at != params.size()) throw std::invalid_argument("fixture groups miss some params");
  return std::make_unique<Opt>(std::move(groups), options);
}

inline std::unique_ptr<nn::Optimizer> make_optimizer(const SafetensorsFile& f,
                                                     std::vector<Variable> params) {
  const std::string kind = meta(f, "optimizer");
  if (kind == "sgd") {
    return optimizer_with_groups<nn::SGD>(f, std::move(params),
                                          nn::SGDOptions(meta_double(f, "lr"))
                                              .momentum(meta_double(f, "momentum"))
                                              .dampening(meta_double(f, "dampening"))
                                              .weight_decay(meta_double(f, "weight_decay"))
                                              .nesterov(meta_int(f, "nesterov") != 0));
  }
  const nn::betas_t betas{meta_double(f, "beta1"), meta_double(f, "beta2")};
  const bool amsgrad = f.metadata.count("amsgrad") != 0 && meta_int(f, "amsgrad") != 0;
  if (kind == "adam") {
    return optimizer_with_groups<nn::Adam>(f, std::move(params),
                                           nn::AdamOptions(meta_double(f, "lr"))
                                               .betas(betas)
                                               .eps(meta_double(f, "eps"))
                                               .weight_decay(meta_double(f, "weight_decay"))
                                               .amsgrad(amsgrad));
  }
  if (kind == "adamw") {
    return optimizer_with_groups<nn::AdamW>(f, std::move(params),
                                            nn::AdamWOptions(meta_double(f, "lr"))
                                                .betas(betas)
                                                .eps(meta_double(f, "eps"))
                                                .weight_decay(meta_double(f, "weight_decay"))
                                                .amsgrad(amsgrad));
  }
  throw std::invalid_argument("unknown optimizer " + kind);
}

// Compares tensors with the fixture and keeps the worst error of the case.
class Parity {
 public:
  // tol: the bound of the relative error; 0 takes the default of the dtype (above).
  Parity(std::string case_name, DType dtype, double tol = 0)
      : name_(std::move(case_name)),
        tol_(tol > 0                   ? tol
             : dtype == DType::Float32 ? 1e-5
                                       : 1e-10) {}
  Parity(const Parity&) = delete;
  Parity& operator=(const Parity&) = delete;

  ~Parity() {
    std::ostringstream worst;
    worst << std::scientific << std::setprecision(2) << worst_;
    ::testing::Test::RecordProperty("worst_relative_error", worst.str());
    std::cout << "[  parity  ] " << name_ << ": worst relative error " << worst.str() << " ("
              << worst_what_ << "), bound " << tol_ << "\n";
  }

  // The gradient of every parameter of `m` against the fixture's "grad_" + its name.
  void check_param_grads(const nn::Module& m, const SafetensorsFile& f) {
    for (const auto& [pname, param] : m.named_parameters())
      check("grad_" + pname, param.grad(), f.at("grad_" + pname));
  }

  // min_scale: the error is relative to max(max_i |want_i|, min_scale), for a
  // tensor that is zero in exact arithmetic and holds only rounding noise.
  void check(const std::string& what, const Tensor& got, const Tensor& want, double min_scale = 0) {
    if (!got.defined()) {
      ADD_FAILURE() << name_ << ": " << what << " is undefined (no gradient reached it?)";
      note(what, INFINITY);
      return;
    }
    if (got.shape() != want.shape() || got.dtype() != want.dtype()) {
      ADD_FAILURE() << name_ << ": " << what << " is " << got.shape() << " "
                    << dtype_name(got.dtype()) << ", PyTorch's " << want.shape() << " "
                    << dtype_name(want.dtype());
      note(what, INFINITY);
      return;
    }
    const std::vector<double> g = got.to(DType::Float64).to_vector<double>();
    const std::vector<double> w = want.to(DType::Float64).to_vector<double>();
    double max_diff = 0, scale = 0;
    size_t at = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      const double d = std::isnan(g[i]) ? INFINITY : std::abs(g[i] - w[i]);
      if (d > max_diff) max_diff = d, at = i;
      scale = std::max(scale, std::abs(w[i]));
    }
    scale = std::max(scale, min_scale);
    const double err = scale > 0 ? max_diff / scale : max_diff;
    note(what, err);
    EXPECT_LE(err, tol_) << name_ << ": " << what << " " << got.shape() << ": relative error "
                         << err << "; worst element " << at << ": got " << std::setprecision(17)
                         << g[at] << ", PyTorch " << w[at] << " (max |PyTorch| " << scale << ")";
  }

 private:
  void note(const std::string& what, double err) {
    if (!(err <= worst_)) worst_ = err, worst_what_ = what;
  }

  std::string name_;
  double tol_;
  double worst_ = 0;
  std::string worst_what_ = "-";
};

// Σ a·w: the scalar whose gradient w.r.t. a is w (w is a constant).
inline Variable weighted_sum(const Variable& a, const Tensor& w) { return sum(a * Variable(w)); }

using CaseParam = std::tuple<std::string, std::string>;  // case, "f64" | "f32"
inline std::string case_name(const ::testing::TestParamInfo<CaseParam>& info) {
  return std::get<0>(info.param) + "_" + std::get<1>(info.param);
}
// A case that runs on both paths of a module or function: case, variant, fused.
using PathParam = std::tuple<std::string, std::string, bool>;
inline std::string path_case_name(const ::testing::TestParamInfo<PathParam>& info) {
  return std::get<0>(info.param) + "_" + std::get<1>(info.param) +
         (std::get<2>(info.param) ? "_fused" : "_composed");
}
inline const auto kVariants = ::testing::Values(std::string("f64"), std::string("f32"));

// What a suite is instantiated over: every named fixture case in both variants
// (fixture_cases), and on both paths too (fixture_path_cases).
template <class... Names>
auto fixture_cases(Names... names) {
  return ::testing::Combine(::testing::Values(std::string(names)...), kVariants);
}
template <class... Names>
auto fixture_path_cases(Names... names) {
  return ::testing::Combine(::testing::Values(std::string(names)...), kVariants, ::testing::Bool());
}

}  // namespace minigrad::testing
