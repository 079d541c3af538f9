// Gradients of the views, joins and indexing ops (autograd/shape.cpp).
#include <gtest/gtest.h>

#include "autograd_testing.h"

namespace minigrad {
namespace {

using namespace testing;

TEST(AutogradShape, Views) {
  const Tensor x = input({2, 3, 4}, 1);
  EXPECT_TRUE(grad_ok([](const Vars& v) { return reshape(v[0], {4, -1}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return reshape(v[0].transpose(0, 2), {12, 2}); }, {x}));  // copies
  EXPECT_TRUE(grad_ok([](const Vars& v) { return transpose(v[0], 0, 2); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return transpose(v[0], -1, 1); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return permute(v[0], {2, 0, 1}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return permute(v[0], {-1, -3, -2}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return narrow(v[0], 2, 1, 2); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return narrow(v[0], -2, 1, 2); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return select(v[0], 1, 2); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return select(v[0], -1, -1); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return squeeze(v[0], 1); }, {input({3, 1, 2}, 2)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return unsqueeze(v[0], -1); }, {input({3, 2}, 3)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return expand(v[0], {2, 3, 4}); }, {input({3, 1}, 4)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return expand(v[0], {3, 2}); }, {input({}, 5)}));
  // the Variable methods
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].t().narrow(0, 1, 2).select(1, 0).unsqueeze(0); },
                      {input({2, 3}, 6)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].permute({1, 0}).reshape({6}).expand({2, 6}); },
                      {input({2, 3}, 7)}));
}

TEST(AutogradShape, ViewFlattenSqueeze) {
  const Tensor x = input({2, 3, 4}, 30);
  EXPECT_TRUE(grad_ok([](const Vars& v) { return view(v[0], {4, -1}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].view({6, 4}) * 2.0; }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return flatten(v[0]); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return flatten(v[0], 1); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return flatten(v[0], 0, -2); }, {x}));
  EXPECT_TRUE(
      grad_ok([](const Vars& v) { return v[0].transpose(0, 2).flatten(-2, -1); }, {x}));  // copies
  EXPECT_TRUE(grad_ok([](const Vars& v) { return flatten(v[0]); }, {input({}, 31)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return squeeze(v[0]); }, {input({1, 3, 1, 2}, 32)}));
  // view refuses what Tensor::view refuses: a transposed tensor cannot be merged
  const Variable t = Variable(x).requires_grad_();
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { t.transpose(0, 2).view({-1}); },
                                                 {"view", "without copying"}));
}

TEST(AutogradShape, StridedSlice) {
  const Tensor x = input({5, 7}, 33);
  EXPECT_TRUE(grad_ok([](const Vars& v) { return slice(v[0], 1, 1, 6, 2); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return slice(v[0], -1, -5, -1, 3); }, {x}));
  EXPECT_TRUE(
      grad_ok([](const Vars& v) { return slice(v[0], 0, std::nullopt, std::nullopt, 4); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].slice(0, -3).slice(1, 0, 100, 3); }, {x}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].t().slice(1, 1, 5, 2); }, {x}));
  // overlapping strided slices of one tensor: their gradients add
  EXPECT_TRUE(
      grad_ok([](const Vars& v) { return v[0].slice(1, 0, 6, 2) * v[0].slice(1, 1, 7, 2); }, {x}));
}

TEST(AutogradShape, ViewsFeedingOtherOps) {
  // the same storage seen twice: x and its transpose
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0] * v[0].t(); }, {input({3, 3}, 8)}));
  // overlapping windows of one tensor
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].narrow(0, 0, 3) * v[0].narrow(0, 1, 3); }, {input({4, 2}, 9)}));
  // an expanded row times a matrix
  EXPECT_TRUE(grad_ok([](const Vars& v) { return tanh(v[0].expand({3, 4}) * v[1]); }, {input({1, 4}, 10), input({3, 4}, 11)}));
  // a select feeding a matmul
  EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0].select(0, 1), v[1]); }, {input({2, 3, 4}, 12), input({4, 2}, 13)}));
}

TEST(AutogradShape, ConcatStackSplit) {
  const Tensor a = input({2, 3}, 14), b = input({2, 1}, 15), c = input({2, 2}, 16);
  EXPECT_TRUE(grad_ok([](const Vars& v) { return concat({v[0], v[1], v[2]}, 1); }, {a, b, c}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return concat({v[0], v[1].t()}, -2); }, {input({2, 3}, 17), input({3, 1}, 18)}));
  // an input used twice in one concat
  EXPECT_TRUE(grad_ok([](const Vars& v) { return concat({v[0], v[0] * 2.0}, 0); }, {a}));
  // a constant among the inputs: it gets no gradient, the others do
  const Variable k(input({2, 2}, 19));
  EXPECT_TRUE(grad_ok([k](const Vars& v) { return concat({v[0], k}, 1); }, {a}));
  for (int64_t axis : {0, 1, 2, -1}) {
    EXPECT_TRUE(grad_ok([axis](const Vars& v) { return stack({v[0], v[1], v[0]}, axis); },
                        {input({2, 3}, 20), input({2, 3}, 21)}))
        << "axis " << axis;
  }
  // split into pieces that are then used differently
  EXPECT_TRUE(grad_ok(
      [](const Vars& v) {
        const std::vector<Variable> p = split(v[0], {1, 3, 1}, 1);
        return concat({p[2] * 3.0, tanh(p[0]), p[1]}, 1);
      },
      {input({2, 5}, 22)}));
  EXPECT_TRUE(grad_ok(
      [](const Vars& v) {
        const std::vector<Variable> p = split(v[0], 2, 0);  // pieces of 2, 2, 1 rows
        return p[0] * p[1] + sum(p[2]);
      },
      {input({5, 3}, 23)}));
  // unused pieces get zero gradient
  EXPECT_TRUE(grad_ok([](const Vars& v) { return split(v[0], {2, 2}, -1)[1]; }, {input({3, 4}, 24)}));
}

TEST(AutogradShape, Unbind) {
  // every slice used, in a different way each
  EXPECT_TRUE(grad_ok(
      [](const Vars& v) {
        const std::vector<Variable> s = unbind(v[0], 1);
        return stack({s[2] * 3.0, tanh(s[0]), s[1] * s[2]}, 0);
      },
      {input({2, 3, 2}, 31)}));
  // only one slice used: the others' gradients are zeros
  EXPECT_TRUE(grad_ok([](const Vars& v) { return unbind(v[0], -1)[1]; }, {input({3, 4}, 32)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return unbind(v[0].t(), 0)[0]; }, {input({3, 4}, 33)}));
}

TEST(AutogradShape, IndexSelectWithRepeatedIndices) {
  // an embedding table where row 1 is looked up three times: it gets three gradients
  const Tensor ids = i64({1, 0, 1, 3, 1}, {5});
  EXPECT_TRUE(grad_ok([ids](const Vars& v) { return index_select(v[0], 0, ids); }, {input({4, 3}, 25)}));
  EXPECT_TRUE(grad_ok([ids](const Vars& v) { return index_select(v[0], 1, ids); }, {input({2, 4}, 26)}));
  EXPECT_TRUE(grad_ok([ids](const Vars& v) { return index_select(v[0].t(), 0, ids); }, {input({3, 4}, 27)}));
  const Variable w = Variable(f64({1, 2, 3, 4}, {2, 2})).requires_grad_();
  sum(index_select(w, 0, i64({1, 1, 1}, {3}))).backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{0, 0, 3, 3}));
}

TEST(AutogradShape, Gather) {
  const Tensor idx1 = i64({2, 0, 2, 1, 1, 1}, {2, 3});
  EXPECT_TRUE(grad_ok([idx1](const Vars& v) { return gather(v[0], 1, idx1); }, {input({2, 4}, 28)}));
  const Tensor idx0 = i64({1, 0, 2, 2}, {2, 2});
  EXPECT_TRUE(grad_ok([idx0](const Vars& v) { return gather(v[0], 0, idx0); }, {input({3, 3}, 29)}));
  // the cross-entropy pattern: -log_softmax picked at the target class
  const Tensor target = i64({2, 0, 1}, {3, 1});
  EXPECT_TRUE(grad_ok([target](const Vars& v) { return -mean(gather(log_softmax(v[0], 1), 1, target)); },
                      {input({3, 4}, 30)}));
}

}  // namespace
}  // namespace minigrad
