// Gradcheck of a whole module: its inputs and every parameter at once. gradcheck's
// inputs become fresh leaves, so the leaves of the parameters are put into the
// module's members for each call (a parameter is the member that holds it, see
// nn/module.h): `slots` names those members, and the check first confirms that
// they are the module's named_parameters(), in order, so none is left out.
//
//     nn::TransformerEncoderLayer l(options, gen);
//     EXPECT_TRUE(module_grad_ok(l, joined(*l.self_attn, *l.linear1, ...), {x},
//                                [&](const Vars& v) { return l(v[0]); }));
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "autograd_testing.h"
#include "minigrad/nn/attention.h"
#include "minigrad/nn/layers.h"

namespace minigrad::testing {

// The members holding a module's parameters, in named_parameters() order (undefined
// ones, such as a Linear's bias with bias(false), included: joined() drops them).
inline std::vector<Variable*> slots_of(nn::MultiheadAttention& a) {
  return {&a.in_proj_weight, &a.in_proj_bias, &a.out_proj->weight, &a.out_proj->bias};
}
inline std::vector<Variable*> slots_of(nn::Linear& l) { return {&l.weight, &l.bias}; }
inline std::vector<Variable*> slots_of(nn::LayerNorm& n) { return {&n.weight, &n.bias}; }
inline std::vector<Variable*> slots_of(nn::Embedding& e) { return {&e.weight}; }

// The defined parameter members of the parts, in the order given.
template <class... Parts>
std::vector<Variable*> joined(Parts&... parts) {
  std::vector<Variable*> all;
  (
      [&] {
        for (Variable* s : slots_of(parts))
          if (s->defined()) all.push_back(s);
      }(),
      ...);
  return all;
}

// gradcheck of f over the inputs and every parameter of `m`, whose members are `slots`
// (checked to be named_parameters() in order): gradcheck's leaves replace the members.
inline ::testing::AssertionResult module_grad_ok(const nn::Module& m,
                                                 const std::vector<Variable*>& slots,
                                                 const std::vector<Tensor>& inputs,
                                                 const std::function<Variable(const Vars&)>& f) {
  const auto named = m.named_parameters();
  if (named.size() != slots.size())
    return ::testing::AssertionFailure()
           << slots.size() << " slots for " << named.size() << " parameters";
  std::vector<Tensor> all = inputs;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!same_storage(named[i].second.data(), slots[i]->data()))
      return ::testing::AssertionFailure() << "slot " << i << " is not " << named[i].first;
    all.push_back(slots[i]->data());
  }
  const size_t n = inputs.size();
  return grad_ok(
      [&](const Vars& v) {
        for (size_t i = 0; i < slots.size(); ++i) *slots[i] = v[n + i];
        return f(v);
      },
      all);
}

}  // namespace minigrad::testing
