// Gradients of matmul (autograd/matmul.cpp) in float64: every rank combination
// torch.matmul accepts (1-D·1-D, matrix·vector, vector·matrix, a vector with a batch
// on either side, batched), broadcast batch axes, mT() and other views as operands,
// the folded [B,T,d]@[d,n]; and Variable::mT() / Variable::matmul().
#include <gtest/gtest.h>

#include "autograd_testing.h"

namespace minigrad {
namespace {

using testing::grad_ok;
using testing::input;
using testing::Vars;

struct Case {
  Shape a, b;
};

void expect_gradients(const std::vector<Case>& cases, uint64_t seed) {
  for (const Case& c : cases) {
    const Tensor a = input(c.a, seed++), b = input(c.b, seed++);
    EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0], v[1]); }, {a, b}))
        << c.a << " @ " << c.b;
    // the method is the same op
    EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].matmul(v[1]); }, {a, b}))
        << c.a << " @ " << c.b;
  }
}

TEST(AutogradMatmul, EveryRankCombination) {
  expect_gradients({{{4}, {4}},  // dot: a 0-d result
                    {{1}, {1}},
                    {{3, 4}, {4}},  // matrix · vector
                    {{4}, {4, 2}},  // vector · matrix
                    {{3, 4}, {4, 2}},
                    {{2, 3, 4}, {4}},  // a batch of matrices · a vector
                    {{4}, {2, 4, 3}},  // a vector · a batch of matrices
                    {{2, 2, 3, 4}, {4}},
                    {{4}, {2, 2, 4, 3}},
                    {{2, 3, 4}, {2, 4, 2}},
                    {{1, 4}, {4, 1}},
                    {{3, 1}, {1, 2}}},  // an outer product (k = 1)
                   1);
}

TEST(AutogradMatmul, BroadcastBatchAxes) {
  // a batch axis that was broadcast gets the sum of its copies' gradients (the engine's sum_to)
  expect_gradients({{{2, 1, 3, 4}, {3, 4, 2}},  // a's batch [2,1] against b's [3]
                    {{3, 4}, {2, 4, 2}},        // an unbatched a used by every batch entry
                    {{2, 3, 4}, {4, 2}},        // the folded [B,T,d] @ [d,n]
                    {{1, 3, 4}, {2, 4, 2}},     // a size-1 batch
                    {{2, 1, 3, 4}, {1, 2, 4, 2}}},
                   100);
}

TEST(AutogradMatmul, TransposedViews) {
  // mT() views in the graph: x·Wᵀ, Aᵀ·B, Aᵀ·Bᵀ, batched, folded, with vectors
  const auto mt_b = [](const Vars& v) { return v[0].matmul(v[1].mT()); };
  const auto mt_a = [](const Vars& v) { return v[0].mT().matmul(v[1]); };
  const auto mt_both = [](const Vars& v) { return v[0].mT().matmul(v[1].mT()); };
  EXPECT_TRUE(grad_ok(mt_b, {input({3, 4}, 1), input({2, 4}, 2)}));
  EXPECT_TRUE(grad_ok(mt_a, {input({4, 3}, 3), input({4, 2}, 4)}));
  EXPECT_TRUE(grad_ok(mt_both, {input({4, 3}, 5), input({2, 4}, 6)}));
  EXPECT_TRUE(grad_ok(mt_b, {input({2, 3, 4}, 7), input({2, 5, 4}, 8)}));       // Q·Kᵀ
  EXPECT_TRUE(grad_ok(mt_a, {input({2, 4, 3}, 9), input({2, 4, 5}, 10)}));      // Aᵀ·G
  EXPECT_TRUE(grad_ok(mt_b, {input({2, 3, 4}, 11), input({5, 4}, 12)}));        // folded, Wᵀ
  EXPECT_TRUE(grad_ok(mt_b, {input({4}, 13), input({3, 4}, 14)}));              // v·Wᵀ
  EXPECT_TRUE(grad_ok(mt_a, {input({1, 4}, 15), input({1, 3}, 16)}));           // a column [4,1]
  EXPECT_TRUE(grad_ok(mt_b, {input({2, 1, 3, 4}, 17), input({2, 5, 4}, 18)}));  // broadcast, Kᵀ
}

TEST(AutogradMatmul, OtherViewsAsOperands) {
  // transpose feeding matmul, the same matrix on both sides, narrowed, expanded,
  // permuted and non-contiguous (copied) operands
  EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0].t(), v[1]); },
                      {input({4, 3}, 1), input({4, 2}, 2)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].matmul(v[0].mT()); }, {input({3, 4}, 3)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].mT().matmul(v[0]); }, {input({3, 4}, 4)}));
  EXPECT_TRUE(
      grad_ok([](const Vars& v) { return matmul(v[0].narrow(1, 1, 3), v[1].narrow(0, 0, 3)); },
              {input({2, 5}, 5), input({4, 2}, 6)}));
  EXPECT_TRUE(grad_ok(
      [](const Vars& v) {
        return matmul(v[0].expand({3, 4}), v[1]);
      },
      {input({1, 4}, 7), input({4, 2}, 8)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0].transpose(1, 2), v[1].mT()); },
                      {input({2, 4, 3}, 9), input({2, 2, 4}, 10)}));
  EXPECT_TRUE(grad_ok(
      [](const Vars& v) {
        return matmul(v[0].permute({1, 0, 2}), v[1]);
      },
      {input({3, 2, 4}, 11), input({4, 2}, 12)}));
  EXPECT_TRUE(grad_ok(
      [](const Vars& v) { return matmul(v[0].select(2, 1), v[1].select(0, 0)); },
      {input({3, 4, 2}, 13), input({2, 4}, 14)}));  // neither inner stride 1; a strided vector
}

TEST(AutogradMatmul, InsideAnAttentionScore) {
  // softmax(q kᵀ / √d) v: the composed attention a learner reads
  EXPECT_TRUE(
      grad_ok([](const Vars& x) { return softmax(x[0].matmul(x[1].mT()) * 0.5, -1).matmul(x[2]); },
              {input({2, 3, 4}, 13), input({2, 3, 4}, 14), input({2, 3, 2}, 15)}));
}

TEST(AutogradMatmul, GradientShapesAndValues) {
  // dot: ga = gc·b, gb = a·gc
  const Variable a = Variable(Tensor::arange(1, 4, 1, DType::Float64)).requires_grad_();  // [1,2,3]
  const Variable b = Variable(Tensor::arange(4, 7, 1, DType::Float64)).requires_grad_();  // [4,5,6]
  const Variable c = a.matmul(b);
  EXPECT_EQ(c.shape(), Shape{});
  EXPECT_EQ(c.item(), 32.0);
  c.backward(Tensor::scalar(2, DType::Float64));
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{8, 10, 12}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{2, 4, 6}));
  // matrix·vector: gM = gy·vᵀ (an outer product), gv = Mᵀ·gy
  const Variable m =
      Variable(Tensor::arange(0, 6, 1, DType::Float64).reshape({2, 3})).requires_grad_();
  const Variable v = Variable(Tensor::arange(1, 4, 1, DType::Float64)).requires_grad_();
  m.matmul(v).backward(Tensor::arange(1, 3, 1, DType::Float64));  // gy = [1, 2]
  EXPECT_EQ(m.grad().to_vector<double>(), (std::vector<double>{1, 2, 3, 2, 4, 6}));
  EXPECT_EQ(v.grad().to_vector<double>(), (std::vector<double>{6, 9, 12}));
  // a weight used as W.mT() gets its gradient in its own shape: for L = Σ x·Wᵀ every row
  // of gW is the sum of the rows of x
  const Variable w = Variable(input({5, 4}, 1)).requires_grad_();
  const Tensor x = input({2, 3, 4}, 2);
  sum(Variable(x).matmul(w.mT())).backward();
  ASSERT_EQ(w.grad().shape(), (Shape{5, 4}));
  const Tensor rows = sum(x, {0, 1});
  for (int64_t j = 0; j < 5; ++j) EXPECT_LE(max_abs_diff(w.grad().select(0, j), rows), 1e-15);
}

TEST(AutogradMatmul, MTIsADifferentiableView) {
  const Variable x = Variable(input({2, 3, 4}, 1)).requires_grad_();
  const Variable y = x.mT();
  EXPECT_EQ(y.shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(y.data().raw_data(), x.data().raw_data());
  EXPECT_TRUE(grad_ok([](const Vars& v) { return v[0].mT() * v[1]; },
                      {input({2, 3, 4}, 2), input({4, 3}, 3)}));
  EXPECT_TRUE(testing::throws_with<std::invalid_argument>([] { Variable(Tensor::zeros({3})).mT(); },
                                                          {"mT", "[3]"}));
}

}  // namespace
}  // namespace minigrad
