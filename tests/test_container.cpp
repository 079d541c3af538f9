// The containers (nn/container.cpp): Sequential, ModuleList and ModuleDict — the
// order they run and list their modules in, PyTorch's parameter names ("0.weight",
// "layers.1.bias", "heads.cls.weight"), a state-dict round trip through them,
// printing as PyTorch's print(model), and the names register_module gives.
#include "minigrad/nn/container.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "autograd_testing.h"
#include "minigrad/nn/gru.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/lstm.h"

namespace minigrad {
namespace {

using testing::grad_ok;
using testing::input;
using testing::parameter_names;
using testing::throws_with;
using testing::Vars;

// A Linear whose parameters are replaced by float64 leaves (the registry reads the
// members, so the layer computes in float64 from then on).
std::shared_ptr<nn::Linear> linear64(int64_t in, int64_t out, uint64_t seed) {
  auto l = std::make_shared<nn::Linear>(in, out);
  l->weight = Variable(input({out, in}, seed)).requires_grad_();
  l->bias = Variable(input({out}, seed + 1)).requires_grad_();
  return l;
}

// ---- Sequential -----------------------------------------------------------------------------

TEST(Sequential, ChainsItsModulesInOrder) {
  auto l1 = linear64(3, 5, 1), l2 = linear64(5, 2, 3);
  nn::Sequential seq{l1, std::make_shared<nn::Tanh>(), l2};
  EXPECT_EQ(seq.size(), 3u);
  EXPECT_EQ(seq[0], l1);
  EXPECT_EQ(seq[-1], l2);  // negative counts from the end, as in Python
  EXPECT_THROW(seq[3], std::out_of_range);
  EXPECT_THROW(seq[-4], std::out_of_range);
  const Variable x(input({4, 3}, 8));
  EXPECT_EQ(max_abs_diff(seq(x).data(), (*l2)(tanh((*l1)(x))).data()), 0.0);
  EXPECT_TRUE(grad_ok(
      [&](const Vars& v) {
        l1->weight = v[1];
        return seq(v[0]);
      },
      {input({2, 3}, 9), l1->weight.data()}));
  seq.push_back(std::make_shared<nn::ReLU>());
  EXPECT_EQ(seq.size(), 4u);
  EXPECT_EQ(max_abs_diff(seq(x).data(), relu((*l2)(tanh((*l1)(x)))).data()), 0.0);
  EXPECT_EQ(parameter_names(seq),
            (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  // An empty Sequential passes its input through.
  nn::Sequential empty;
  EXPECT_TRUE(empty.is_empty());
  EXPECT_EQ(max_abs_diff(empty(x).data(), x.data()), 0.0);
}

TEST(Sequential, BuiltFromAListTypedAccessAndIteration) {
  auto l1 = std::make_shared<nn::Linear>(4, 8), l2 = std::make_shared<nn::Linear>(8, 2);
  // libtorch's form: the modules as arguments (here through make_shared).
  const auto seq = std::make_shared<nn::Sequential>(l1, std::make_shared<nn::Tanh>(), l2);
  EXPECT_EQ(seq->size(), 3u);
  EXPECT_EQ(seq->ptr<nn::Linear>(2), l2);
  EXPECT_EQ(&seq->at<nn::Linear>(0), l1.get());
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { seq->ptr<nn::Linear>(1); },
                                                 {"Sequential", "module 1", "Tanh"}));
  std::vector<std::string> types;
  for (const auto& m : *seq) types.push_back(m->type_name());
  EXPECT_EQ(types, (std::vector<std::string>{"Linear", "Tanh", "Linear"}));
  // A named entry keeps its name; the next positional one takes its position.
  nn::Sequential named;
  named.push_back("fc", std::make_shared<nn::Linear>(2, 3));
  named.push_back(std::make_shared<nn::ReLU>());
  named.push_back(std::make_shared<nn::Linear>(3, 1));
  EXPECT_EQ(parameter_names(named),
            (std::vector<std::string>{"fc.weight", "fc.bias", "2.weight", "2.bias"}));
  EXPECT_EQ(named[0]->type_name(), "Linear");
}

// ---- ModuleList -----------------------------------------------------------------------------

// A model that keeps its layers in a ModuleList and runs them itself, as PyTorch's
// `self.layers = nn.ModuleList([...])` does.
class Stack : public nn::Module {
 public:
  explicit Stack(int64_t depth) {
    layers = register_module("layers", std::make_shared<nn::ModuleList>());
    for (int64_t i = 0; i < depth; ++i) layers->push_back(linear64(3, 3, 10 + 2 * i));
  }
  Variable forward(const Variable& x) override {
    Variable y = x;
    for (const auto& layer : *layers) y = tanh((*layer)(y)) + y;  // residual blocks
    return y;
  }
  std::string type_name() const override { return "Stack"; }
  std::shared_ptr<nn::ModuleList> layers;
};

TEST(ModuleList, HoldsLayersInOrderUnderTheirPositions) {
  Stack s(3);
  EXPECT_EQ(s.layers->size(), 3u);
  EXPECT_EQ(parameter_names(s),
            (std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.1.weight",
                                      "layers.1.bias", "layers.2.weight", "layers.2.bias"}));
  const Variable x(input({2, 3}, 1));
  Variable want = x;
  for (size_t i = 0; i < 3; ++i) want = tanh((*(*s.layers)[static_cast<int64_t>(i)])(want)) + want;
  EXPECT_EQ(max_abs_diff(s(x).data(), want.data()), 0.0);
  // No forward of its own: calling one is an error, as in PyTorch.
  EXPECT_TRUE(throws_with<std::logic_error>([&] { (*s.layers)(x); }, {"ModuleList"}));
  const nn::ModuleList list{std::make_shared<nn::Tanh>(), std::make_shared<nn::ReLU>()};
  EXPECT_EQ(list[1]->type_name(), "ReLU");
  EXPECT_EQ(list.ptr<nn::Tanh>(0)->type_name(), "Tanh");
}

// ---- ModuleDict -----------------------------------------------------------------------------

TEST(ModuleDict, ModulesByKeyInInsertionOrder) {
  nn::ModuleDict heads(
      {{"tag", std::make_shared<nn::Linear>(4, 5)}, {"cls", std::make_shared<nn::Linear>(4, 3)}});
  heads.insert("act", std::make_shared<nn::Tanh>());
  EXPECT_EQ(heads.size(), 3u);
  EXPECT_TRUE(heads.contains("cls"));
  EXPECT_FALSE(heads.contains("missing"));
  // Insertion order, not sorted: "tag" before "cls".
  EXPECT_EQ(heads.keys(), (std::vector<std::string>{"tag", "cls", "act"}));
  EXPECT_EQ(parameter_names(heads),
            (std::vector<std::string>{"tag.weight", "tag.bias", "cls.weight", "cls.bias"}));
  EXPECT_EQ(heads.at<nn::Linear>("cls").options.out_features(), 3);
  EXPECT_EQ(heads["act"]->type_name(), "Tanh");
  EXPECT_EQ(heads.values()[0], heads["tag"]);
  std::vector<std::string> seen;
  for (const auto& [key, module] : heads) seen.push_back(key + ":" + module->type_name());
  EXPECT_EQ(seen, (std::vector<std::string>{"tag:Linear", "cls:Linear", "act:Tanh"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { heads["missing"]; },
                                             {"ModuleDict", "'missing'", "tag, cls, act"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { heads.insert("cls", std::make_shared<nn::Tanh>()); }, {"'cls'", "already"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { heads.ptr<nn::Linear>("act"); },
                                                 {"ModuleDict", "'act'", "Tanh"}));
}

// ---- the three together ---------------------------------------------------------------------

// Every container inside one model, with a recurrent layer registered by name.
class Tree : public nn::Module {
 public:
  explicit Tree(uint64_t seed) {
    Generator gen(seed);
    rnn = register_module(
        "rnn", std::make_shared<nn::LSTM>(nn::LSTMOptions(4, 3).bidirectional(true), gen));
    blocks = register_module("blocks", std::make_shared<nn::ModuleList>());
    blocks->push_back(std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(6, 6),
                                                       std::make_shared<nn::Tanh>()));
    blocks->push_back(std::make_shared<nn::GRUCell>(nn::GRUCellOptions(6, 6), gen));
    heads = register_module("heads", std::make_shared<nn::ModuleDict>());
    heads->insert("out", std::make_shared<nn::Linear>(6, 2));
  }
  Variable forward(const Variable& x) override {
    const auto [out, state] = (*rnn)(x);  // [T, B, 2·3]
    const Variable last = out.select(0, -1);
    const Variable h = (*(*blocks)[0])(last);
    return (*(*heads)["out"])(blocks->at<nn::GRUCell>(1)(h, h));
  }
  std::string type_name() const override { return "Tree"; }
  std::shared_ptr<nn::LSTM> rnn;
  std::shared_ptr<nn::ModuleList> blocks;
  std::shared_ptr<nn::ModuleDict> heads;
};

TEST(Containers, RegisterModuleNamesReachNamedParametersAndTheStateDict) {
  Tree a(1), b(2);
  const std::vector<std::string> names = parameter_names(a);
  EXPECT_EQ(names.size(), 8u + 2u + 4u + 2u);
  EXPECT_EQ(names[4], "rnn.weight_ih_l0_reverse");
  EXPECT_EQ(names[8], "blocks.0.0.weight");
  EXPECT_EQ(names[10], "blocks.1.weight_ih");
  EXPECT_EQ(names.back(), "heads.out.bias");
  const Variable x(testing::uniform({5, 2, 4}, 3, -1, 1, DType::Float32));
  EXPECT_GT(max_abs_diff(a(x).data(), b(x).data()), 1e-3);
  b.load_state_dict(a.state_dict());  // through every container, by name
  EXPECT_EQ(max_abs_diff(a(x).data(), b(x).data()), 0.0);
}

TEST(Containers, PrintLikePyTorch) {
  Tree t(1);
  const std::string linear_66 = t.blocks->at<nn::Sequential>(0)[0]->extra_repr();
  const std::string linear_62 = (*t.heads)["out"]->extra_repr();
  const std::string s = t.str();
  const std::string tree = s.substr(0, s.find(")\n  rnn.") + 1);
  EXPECT_EQ(tree,
            "Tree(\n"
            "  (rnn): LSTM(4, 3, bidirectional=true)\n"
            "  (blocks): ModuleList(\n"
            "    (0): Sequential(\n"
            "      (0): Linear(" +
                linear_66 +
                ")\n"
                "      (1): Tanh()\n"
                "    )\n"
                "    (1): GRUCell(6, 6)\n"
                "  )\n"
                "  (heads): ModuleDict(\n"
                "    (out): Linear(" +
                linear_62 +
                ")\n"
                "  )\n"
                ")")
      << s;
  EXPECT_EQ(nn::ModuleList().str(), "ModuleList()\n  total: 0 parameters\n");
}

}  // namespace
}  // namespace minigrad
