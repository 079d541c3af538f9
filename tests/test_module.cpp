// Module (nn/module.cpp): named parameters and submodules, the registry that
// cannot go stale, train/eval, printing, and state dicts that load all or nothing.
#include "minigrad/nn/module.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "minigrad/nn/attention.h"
#include "minigrad/nn/container.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/optim.h"
#include "testing.h"

namespace minigrad {
namespace {

using testing::throws_with;

// A model with a parameter of its own, a Linear and a Sequential holding a Dropout:
//   scale, encoder.weight, encoder.bias, decoder.0.weight, decoder.0.bias,
//   decoder.2.weight, decoder.2.bias
class Net : public nn::Module {
 public:
  explicit Net(uint64_t seed = 1) {
    Generator gen(seed);
    register_parameter("scale", &scale, rand({3}, -1, 1, DType::Float32, gen));
    encoder =
        register_module("encoder", std::make_shared<nn::Linear>(nn::LinearOptions(4, 3), gen));
    decoder = register_module(
        "decoder",
        std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
            std::make_shared<nn::Linear>(nn::LinearOptions(3, 5), gen),
            std::make_shared<nn::Dropout>(0.5),
            std::make_shared<nn::Linear>(nn::LinearOptions(5, 2), gen)}));
  }
  Variable forward(const Variable& x) override { return (*decoder)(tanh((*encoder)(x)*scale)); }
  std::string type_name() const override { return "Net"; }

  Variable scale;
  std::shared_ptr<nn::Linear> encoder;
  std::shared_ptr<nn::Sequential> decoder;
};

// A module that only registers what a test asks it to.
class Bare : public nn::Module {
 public:
  std::string type_name() const override { return "Bare"; }
  Variable a, b;
};

std::vector<std::string> names_of(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, v] : m.named_parameters()) out.push_back(name);
  return out;
}

// Every parameter's bytes, by name: "bit-for-bit unchanged" means equal maps.
std::map<std::string, std::vector<float>> snapshot(const nn::Module& m) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, v] : m.named_parameters()) out[name] = v.data().to_vector<float>();
  return out;
}

TEST(Module, CannotBeCopied) {
  static_assert(!std::is_copy_constructible_v<nn::Linear>);
  static_assert(!std::is_copy_assignable_v<nn::Linear>);
  static_assert(!std::is_move_constructible_v<Net>);
}

TEST(Module, NamedParametersAreDottedInRegistrationOrder) {
  Net net;
  EXPECT_EQ(names_of(net),
            (std::vector<std::string>{"scale", "encoder.weight", "encoder.bias", "decoder.0.weight",
                                      "decoder.0.bias", "decoder.2.weight", "decoder.2.bias"}));
  // The same Variables, not copies: a parameter is shared with its module.
  EXPECT_EQ(net.parameter("encoder.weight").impl(), net.encoder->weight.impl());
  EXPECT_EQ(net.parameter("decoder.2.bias").impl(),
            std::static_pointer_cast<nn::Linear>((*net.decoder)[2])->bias.impl());
  const std::vector<Variable> params = net.parameters();
  ASSERT_EQ(params.size(), 7u);
  EXPECT_EQ(params[0].impl(), net.scale.impl());
  EXPECT_EQ(params[1].impl(), net.encoder->weight.impl());
  for (const Variable& p : params) {
    EXPECT_TRUE(p.requires_grad());
    EXPECT_TRUE(p.is_leaf());
  }
  const auto children = net.named_children();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].first, "encoder");
  EXPECT_EQ(children[1].first, "decoder");
}

TEST(Module, UnknownParameterNameListsTheKnownOnes) {
  Net net;
  EXPECT_TRUE(
      throws_with<std::out_of_range>([&] { net.parameter("encoder.weights"); },
                                     {"Net", "'encoder.weights'", "encoder.weight, encoder.bias"}));
}

TEST(Module, LinearWithoutBiasHasNoBiasEntry) {
  nn::Linear lin(nn::LinearOptions(4, 3).bias(false));
  EXPECT_EQ(names_of(lin), std::vector<std::string>{"weight"});
  EXPECT_EQ(lin.num_parameters(), 12);
  EXPECT_EQ(lin.state_dict().count("bias"), 0u);
}

TEST(Module, NumParametersCountsElements) {
  Net net;
  // scale 3, encoder 4·3+3, decoder.0 3·5+5, decoder.2 5·2+2
  EXPECT_EQ(net.num_parameters(), 3 + 15 + 20 + 12);
  EXPECT_EQ(nn::Dropout(0.1).num_parameters(), 0);
}

// Replacing the member replaces the parameter: the registry holds a pointer to the
// member, so everything that asks afterwards sees the new Variable.
TEST(Module, ReplacingAParameterMemberIsSeenEverywhere) {
  Net net;
  const Variable old_weight = net.encoder->weight;
  const Tensor old_values = old_weight.data().clone();
  net.encoder->weight = Variable(Tensor::full({3, 4}, 0.25)).requires_grad_();

  EXPECT_EQ(net.parameter("encoder.weight").impl(), net.encoder->weight.impl());
  EXPECT_NE(net.parameter("encoder.weight").impl(), old_weight.impl());
  EXPECT_EQ(names_of(net).size(), 7u);  // replaced, not added
  const auto state = net.state_dict();
  EXPECT_TRUE(testing::same_storage(state.at("encoder.weight"), net.encoder->weight.data()));
  EXPECT_EQ(net.num_parameters(), 50);

  // An optimizer built afterwards updates the new Variable and leaves the old one alone.
  const Variable y = sum(net(Variable(testing::uniform({2, 4}, 7, -1, 1, DType::Float32))));
  y.backward();
  ASSERT_TRUE(net.encoder->weight.has_grad());
  EXPECT_FALSE(old_weight.has_grad());
  nn::SGD opt(net.parameters(), nn::SGDOptions(0.5));
  opt.step();
  EXPECT_GT(max_abs_diff(net.encoder->weight.data(), Tensor::full({3, 4}, 0.25)), 0.0);
  EXPECT_EQ(max_abs_diff(old_weight.data(), old_values), 0.0);

  // A replaced parameter of a different shape is what state_dict and printing show.
  net.scale = Variable(Tensor::ones({1})).requires_grad_();
  EXPECT_EQ(net.state_dict().at("scale").shape(), (Shape{1}));
  EXPECT_NE(net.str().find("scale: float32[1]"), std::string::npos) << net.str();
}

TEST(Module, DuplicateAndInvalidNamesThrow) {
  Bare m;
  m.register_parameter("a", &m.a, Tensor::zeros({2}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { m.register_parameter("a", &m.b, Tensor::zeros({2})); },
      {"Bare", "'a'", "already registered"}));
  // the same member under a second name
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { m.register_parameter("alias", &m.a, Tensor::zeros({2})); }, {"already registered"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { m.register_parameter("b.c", &m.b, Tensor::zeros({2})); }, {"'b.c'", "no '.'"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { m.register_parameter("", &m.b, Tensor::zeros({2})); }, {"non-empty"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { m.register_module("a", std::make_shared<nn::Tanh>()); },
      {"'a'", "already a parameter"}));
  m.register_module("act", std::make_shared<nn::Tanh>());
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { m.register_module("act", std::make_shared<nn::ReLU>()); },
      {"'act'", "already registered"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { m.register_parameter("act", &m.b, Tensor::zeros({2})); },
      {"'act'", "already a submodule"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { m.register_module("x.y", std::make_shared<nn::Tanh>()); }, {"'x.y'"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { m.register_module("none", std::shared_ptr<nn::Tanh>()); }, {"'none'", "null"}));
  // Nothing of the failed registrations stuck.
  EXPECT_EQ(names_of(m), std::vector<std::string>{"a"});
  EXPECT_EQ(m.named_children().size(), 1u);
  EXPECT_FALSE(m.b.defined());
}

TEST(Module, RegisterParameterMakesALeaf) {
  Bare m;
  m.register_parameter("a", &m.a, Tensor::ones({2}));
  m.register_parameter("b", &m.b, Tensor::ones({2}), /*requires_grad=*/false);
  EXPECT_TRUE(m.a.requires_grad());
  EXPECT_TRUE(m.a.is_leaf());
  EXPECT_FALSE(m.b.requires_grad());
}

TEST(Module, ZeroGradClearsEveryParameter) {
  Net net;
  sum(net(Variable(Tensor::ones({2, 4})))).backward();
  for (const auto& [name, v] : net.named_parameters()) EXPECT_TRUE(v.has_grad()) << name;
  net.zero_grad();
  for (const auto& [name, v] : net.named_parameters()) EXPECT_FALSE(v.has_grad()) << name;
}

TEST(Module, TrainAndEvalReachEverySubmodule) {
  Net net;
  const auto dropout = (*net.decoder)[1];
  EXPECT_TRUE(net.is_training());
  EXPECT_TRUE(dropout->is_training());
  net.eval();
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(net.encoder->is_training());
  EXPECT_FALSE(net.decoder->is_training());
  EXPECT_FALSE(dropout->is_training());
  // In eval mode the dropout is the identity, so two calls agree.
  const Variable x(testing::uniform({3, 4}, 5, -1, 1, DType::Float32));
  EXPECT_EQ(max_abs_diff(net(x).data(), net(x).data()), 0.0);
  net.train();
  EXPECT_TRUE(dropout->is_training());
  EXPECT_TRUE(net.encoder->is_training());
  net.train(false);
  EXPECT_FALSE(dropout->is_training());
}

TEST(Module, PrintingShowsTheTreeAndTheShapes) {
  Net net;
  const std::string expected =
      "Net(\n"
      "  (encoder): Linear(in_features=4, out_features=3, bias=true)\n"
      "  (decoder): Sequential(\n"
      "    (0): Linear(in_features=3, out_features=5, bias=true)\n"
      "    (1): Dropout(p=0.5)\n"
      "    (2): Linear(in_features=5, out_features=2, bias=true)\n"
      "  )\n"
      ")\n"
      "  scale: float32[3]\n"
      "  encoder.weight: float32[3,4]\n"
      "  encoder.bias: float32[3]\n"
      "  decoder.0.weight: float32[5,3]\n"
      "  decoder.0.bias: float32[5]\n"
      "  decoder.2.weight: float32[2,5]\n"
      "  decoder.2.bias: float32[2]\n"
      "  total: 50 parameters\n";
  EXPECT_EQ(net.str(), expected);
  std::ostringstream os;
  os << net;
  EXPECT_EQ(os.str(), expected);
  EXPECT_EQ(nn::Tanh().str(), "Tanh()\n  total: 0 parameters\n");
}

// A module with settings and children puts the settings on their own line, as
// PyTorch does: "MultiheadAttention(\n  embed_dim=8, num_heads=2\n  (out_proj): ...".
TEST(Module, PrintingPutsTheSettingsOfAModuleWithChildrenOnTheirOwnLine) {
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(8, 2).batch_first(true));
  const std::string s = mha.str();
  const std::string first_lines = s.substr(0, s.find("(out_proj)"));
  EXPECT_EQ(first_lines, "MultiheadAttention(\n  " + mha.extra_repr() + "\n  ") << s;
  EXPECT_FALSE(mha.extra_repr().empty());
}

TEST(Module, StateDictSharesTheParametersData) {
  Net net;
  const auto state = net.state_dict();
  ASSERT_EQ(state.size(), 7u);
  for (const auto& [name, v] : net.named_parameters()) {
    ASSERT_EQ(state.count(name), 1u) << name;
    EXPECT_TRUE(testing::same_storage(state.at(name), v.data())) << name;
  }
}

TEST(Module, StateDictRoundTrip) {
  Net a(1), b(2);
  ASSERT_NE(snapshot(a), snapshot(b));
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(snapshot(a), snapshot(b));
  // Loading copies: b owns its data, and its parameters are still leaves.
  for (const auto& [name, v] : b.named_parameters()) {
    EXPECT_FALSE(testing::same_storage(v.data(), a.parameter(name).data())) << name;
    EXPECT_TRUE(v.is_leaf() && v.requires_grad()) << name;
  }
  const Variable x(testing::uniform({2, 4}, 3, -1, 1, DType::Float32));
  a.eval();
  b.eval();
  EXPECT_EQ(max_abs_diff(a(x).data(), b(x).data()), 0.0);
  // Loading a module's own state is a no-op.
  const auto before = snapshot(b);
  b.load_state_dict(b.state_dict());
  EXPECT_EQ(snapshot(b), before);
}

// Every bad state dict throws and leaves the module exactly as it was. The bad
// entry is the LAST parameter in order, so a loader that copied as it checked
// would already have overwritten the others.
TEST(Module, LoadStateDictIsAllOrNothing) {
  Net source(1), net(2);
  const auto before = snapshot(net);
  const auto good = source.state_dict();

  auto wrong_shape = good;
  wrong_shape["decoder.2.bias"] = Tensor::zeros({3});
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { net.load_state_dict(wrong_shape); },
                                                 {"'decoder.2.bias'", "float32[3]", "float32[2]"}));
  EXPECT_EQ(snapshot(net), before);

  auto wrong_dtype = good;
  wrong_dtype["decoder.2.bias"] = Tensor::zeros({2}, DType::Float64);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { net.load_state_dict(wrong_dtype); },
                                                 {"'decoder.2.bias'", "float64[2]", "float32[2]"}));
  EXPECT_EQ(snapshot(net), before);

  auto missing = good;
  missing.erase("decoder.2.bias");
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { net.load_state_dict(missing); },
                                                 {"missing 'decoder.2.bias'"}));
  EXPECT_EQ(snapshot(net), before);

  auto unexpected = good;
  unexpected["decoder.3.weight"] = Tensor::zeros({2, 2});
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { net.load_state_dict(unexpected); },
                                                 {"unexpected 'decoder.3.weight'"}));
  EXPECT_EQ(snapshot(net), before);

  // Non-strict loading allows missing and unexpected names, but never a wrong shape.
  EXPECT_THROW(net.load_state_dict(wrong_shape, /*strict=*/false), std::invalid_argument);
  EXPECT_EQ(snapshot(net), before);
  auto partial = missing;
  partial["something.else"] = Tensor::zeros({1});
  net.load_state_dict(partial, /*strict=*/false);
  auto after = snapshot(net);
  EXPECT_EQ(after.at("decoder.2.bias"), before.at("decoder.2.bias"));  // not in the dict: kept
  EXPECT_EQ(after.at("encoder.weight"), snapshot(source).at("encoder.weight"));
}

}  // namespace
}  // namespace minigrad
