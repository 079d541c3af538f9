// Gradients of matmul (autograd/matmul.cpp): every transpose flag combination,
// batched and broadcast batch axes, views as operands, the folded [B,T,d]@[d,n].
#include <gtest/gtest.h>

#include "autograd_testing.h"

namespace minigrad {
namespace {

using testing::grad_ok;
using testing::input;
using testing::Vars;

TEST(AutogradMatmul, AllTransposeFlags) {
  const int64_t m = 3, k = 4, n = 2;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const Tensor a = input(ta ? Shape{k, m} : Shape{m, k}, 1);
      const Tensor b = input(tb ? Shape{n, k} : Shape{k, n}, 2);
      EXPECT_TRUE(grad_ok([ta, tb](const Vars& v) { return matmul(v[0], v[1], ta, tb); }, {a, b}))
          << "ta " << ta << " tb " << tb;
    }
  }
}

TEST(AutogradMatmul, BatchedWithBroadcastBatchAxes) {
  struct Case {
    Shape a, b;
    bool ta, tb;
  };
  const std::vector<Case> cases{
      {{2, 3, 4}, {2, 4, 2}, false, false},
      {{2, 1, 3, 4}, {3, 4, 2}, false, false},  // a's batch [2,1] against b's [3]
      {{3, 4}, {2, 4, 2}, false, false},        // an unbatched a used by every batch entry
      {{2, 3, 4}, {4, 2}, false, false},        // the folded [B,T,d] @ [d,n]
      {{2, 3, 4}, {2, 4}, false, true},         // folded with Wᵀ
      {{2, 4, 3}, {1, 2, 4}, true, true},
      {{1, 2, 4, 3}, {2, 1, 4, 2}, true, false},
  };
  uint64_t seed = 10;
  for (const Case& c : cases) {
    const Tensor a = input(c.a, seed++), b = input(c.b, seed++);
    const bool ta = c.ta, tb = c.tb;
    EXPECT_TRUE(grad_ok([ta, tb](const Vars& v) { return matmul(v[0], v[1], ta, tb); }, {a, b}))
        << c.a << " @ " << c.b << " ta " << ta << " tb " << tb;
  }
}

TEST(AutogradMatmul, ViewsAsOperands) {
  // transpose feeding matmul, the same matrix on both sides, narrowed and expanded operands
  EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0].t(), v[1]); }, {input({4, 3}, 1), input({4, 2}, 2)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0], v[0], false, true); }, {input({3, 4}, 3)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0].t(), v[0]); }, {input({3, 4}, 4)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0].narrow(1, 1, 3), v[1].narrow(0, 0, 3)); },
                      {input({2, 5}, 5), input({4, 2}, 6)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0].expand({3, 4}), v[1]); }, {input({1, 4}, 7), input({4, 2}, 8)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0].transpose(1, 2), v[1], false, true); },
                      {input({2, 4, 3}, 9), input({2, 2, 4}, 10)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return matmul(v[0].permute({1, 0, 2}), v[1]); },
                      {input({3, 2, 4}, 11), input({4, 2}, 12)}));
}

TEST(AutogradMatmul, InsideAnAttentionScore) {
  // softmax(q kᵀ / √d) v: the composed attention a learner reads
  EXPECT_TRUE(grad_ok(
      [](const Vars& x) { return matmul(softmax(matmul(x[0], x[1], false, true) * 0.5, -1), x[2]); },
      {input({2, 3, 4}, 13), input({2, 3, 4}, 14), input({2, 3, 2}, 15)}));
}

}  // namespace
}  // namespace minigrad
