// The backward engine: order of evaluation, accumulation, graph lifetime, grad
// and anomaly modes, deep graphs, and ops with several outputs.
#include "minigrad/autograd/variable.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "minigrad/autograd/functions.h"
#include "minigrad/tensor/allocator.h"
#include "testing.h"

namespace minigrad {
namespace {

using testing::f64;
using testing::same_storage;
using testing::throws_with;

Variable leaf(std::initializer_list<double> values, const Shape& shape) {
  return Variable(f64(values, shape)).requires_grad_();
}

std::vector<double> grad_of(const Variable& v) { return v.grad().to_vector<double>(); }

TEST(Variable, LeavesAndFlags) {
  const Variable x = leaf({1, 2}, {2});
  EXPECT_TRUE(x.is_leaf());
  EXPECT_TRUE(x.requires_grad());
  EXPECT_FALSE(x.has_grad());
  EXPECT_STREQ(x.op_name(), "leaf");
  const Variable c(f64({1}, {1}));
  EXPECT_FALSE(c.requires_grad());
  const Variable y = x * 2.0;
  EXPECT_FALSE(y.is_leaf());
  EXPECT_STREQ(y.op_name(), "mul");
  EXPECT_FALSE(Variable().defined());
  std::ostringstream os;
  os << y;
  EXPECT_NE(os.str().find("grad_fn=mul"), std::string::npos) << os.str();
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { Variable(Tensor::zeros({2}, DType::Int64)).requires_grad_(); },
      {"requires_grad_", "floating", "int64"}));
  Variable ints(Tensor::zeros({2}, DType::Int64));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { ints.requires_grad_(); }, {"requires_grad_", "int64"}));
  Variable yy = y;
  EXPECT_TRUE(throws_with<std::logic_error>([&] { yy.requires_grad_(false); }, {"requires_grad_", "'mul'", "detach"}));
  EXPECT_TRUE(throws_with<std::logic_error>([] { Variable().data(); }, {"data", "undefined"}));
}

TEST(Variable, Chain) {
  // y = tanh(3x + 1)      dy/dx = 3 (1 - y²)
  const Variable x = leaf({0.1, -0.4}, {2});
  const Variable y = tanh(x * 3.0 + 1.0);
  sum(y).backward();
  for (int i = 0; i < 2; ++i) {
    const double yi = std::tanh(3 * x.data().at({i}) + 1);
    EXPECT_NEAR(x.grad().at({i}), 3 * (1 - yi * yi), 1e-15);
  }
}

TEST(Variable, DiamondGetsBothContributions) {
  // b = 2a, c = 3a, d = b + c:  ∂d/∂a = 2 + 3 = 5
  const Variable a = leaf({1, 2, 3}, {3});
  sum(a * 2.0 + a * 3.0).backward();
  EXPECT_EQ(grad_of(a), (std::vector<double>{5, 5, 5}));
  // the same with an interior a, so that its node must wait for both users
  const Variable x = leaf({1, 2, 3}, {3});
  const Variable ai = x * x;  // ∂ai/∂x = 2x
  const Variable d = exp(ai * 0.1) + ai * 3.0;
  sum(d).backward();
  for (int i = 0; i < 3; ++i) {
    const double xi = x.data().at({i});
    EXPECT_NEAR(x.grad().at({i}), (0.1 * std::exp(0.1 * xi * xi) + 3) * 2 * xi, 1e-12);
  }
}

TEST(Variable, ValueReusedInOneOp) {
  const Variable x = leaf({1.5, -2}, {2});
  sum(x * x).backward();  // d(x²)/dx = 2x
  EXPECT_EQ(grad_of(x), (std::vector<double>{3, -4}));
  const Variable y = leaf({3}, {1});
  sum(y * y * y).backward();  // 3y²
  EXPECT_EQ(grad_of(y), (std::vector<double>{27}));
}

TEST(Variable, GradientsAccumulateUntilZeroed) {
  Variable x = leaf({1, 2}, {2});
  sum(x * 3.0).backward();
  sum(x * 4.0).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{7, 7}));
  x.zero_grad();
  EXPECT_FALSE(x.has_grad());
  sum(x * 5.0).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{5, 5}));
}

TEST(Variable, LeafGradOwnsItsStorage) {
  // sum's backward hands out a stride-0 expansion of one number; the leaf must
  // get its own contiguous copy, or the next accumulation would write through it.
  const Variable x = leaf({1, 2, 3}, {3});
  const Variable y = sum(x);
  y.backward();
  EXPECT_TRUE(x.grad().is_contiguous());
  EXPECT_EQ(x.grad().strides()[0], 1);
  sum(x * 2.0).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{3, 3, 3}));
  // a gradient passed straight through (add) is copied, not aliased
  const Variable a = leaf({1, 2}, {2}), b = leaf({1, 2}, {2});
  const Tensor seed = f64({1, 1}, {2});
  (a + b).backward(seed);
  EXPECT_FALSE(same_storage(a.grad(), seed));
  EXPECT_FALSE(same_storage(a.grad(), b.grad()));
  a.impl()->grad.fill_(100);
  EXPECT_EQ(grad_of(b), (std::vector<double>{1, 1}));
  EXPECT_EQ(seed.to_vector<double>(), (std::vector<double>{1, 1}));
}

TEST(Variable, BroadcastGradientsAreSummedBack) {
  const Variable row = leaf({1, 2, 3}, {3});
  const Variable m = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  const Variable col = leaf({10, 20}, {2, 1});
  sum((m + row) * col).backward();
  EXPECT_EQ(grad_of(row), (std::vector<double>{30, 30, 30}));   // Σ over rows of col
  EXPECT_EQ(grad_of(col), (std::vector<double>{12, 21}));       // Σ over columns of m + row
  EXPECT_EQ(grad_of(m), (std::vector<double>{10, 10, 10, 20, 20, 20}));
  EXPECT_EQ(row.grad().shape(), Shape{3});
  EXPECT_EQ(col.grad().shape(), (Shape{2, 1}));
}

TEST(Variable, BackwardTwiceThroughAFreedGraphThrows) {
  const Variable x = leaf({1, 2}, {2});
  const Variable loss = sum(tanh(x));
  loss.backward();
  EXPECT_TRUE(throws_with<std::logic_error>([&] { loss.backward(); },
                                            {"backward", "'sum'", "already freed", "retain_graph"}));
  // a new graph over the same leaf is fine
  EXPECT_NO_THROW(sum(tanh(x)).backward());
}

TEST(Variable, RetainGraphAllowsASecondBackward) {
  const Variable x = leaf({0.5}, {1});
  const Variable loss = sum(tanh(x));
  loss.backward(/*retain_graph=*/true);
  const double g = x.grad().item();
  loss.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 2 * g);
  EXPECT_THROW(loss.backward(), std::logic_error);  // the second call did not retain
}

TEST(Variable, FreeingTheGraphReleasesSavedTensors) {
  const Variable x = leaf({1, 2}, {2});
  const long before = x.data().storage().use_count();
  const Variable y = x * x;  // mul saves both inputs
  EXPECT_GT(x.data().storage().use_count(), before);
  sum(y).backward();
  EXPECT_EQ(x.data().storage().use_count(), before);
}

TEST(Variable, NoCycleBetweenANodeAndItsOutput) {
  std::weak_ptr<Node> node;
  const Variable x = leaf({1, 2}, {2});
  {
    const Variable y = exp(x);  // exp saves its result tensor, not its output Variable
    node = y.grad_fn();
    EXPECT_FALSE(node.expired());
  }
  EXPECT_TRUE(node.expired());
}

TEST(Variable, NonScalarBackwardNeedsAGradient) {
  const Variable x = leaf({1, 2, 3, 4}, {2, 2});
  const Variable y = x * 2.0;
  EXPECT_TRUE(throws_with<std::logic_error>([&] { y.backward(); }, {"backward", "[2,2]", "single-element"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { y.backward(f64({1, 1}, {2})); },
                                                 {"backward", "[2]", "[2,2]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { y.backward(Tensor::ones({2, 2})); },
                                                 {"backward", "float32", "float64"}));
  y.backward(f64({1, 0, 0, 2}, {2, 2}));
  EXPECT_EQ(grad_of(x), (std::vector<double>{2, 0, 0, 4}));
  // a one-element value of any rank seeds with 1
  const Variable z = leaf({3}, {1, 1});
  (z * z).backward();
  EXPECT_EQ(grad_of(z), (std::vector<double>{6}));
  // backward on a leaf: its gradient is the seed
  const Variable w = leaf({2}, {1});
  w.backward();
  EXPECT_EQ(grad_of(w), (std::vector<double>{1}));
  EXPECT_TRUE(throws_with<std::logic_error>([] { Variable(f64({1}, {1})).backward(); },
                                            {"backward", "does not require grad"}));
}

TEST(Variable, NoGradRecordsNothing) {
  const Variable x = leaf({1, 2}, {2});
  EXPECT_TRUE(grad_enabled());
  {
    NoGradGuard guard;
    EXPECT_FALSE(grad_enabled());
    const Variable y = tanh(x * 2.0);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
    {
      NoGradGuard nested;
      EXPECT_FALSE(grad_enabled());
    }
    EXPECT_FALSE(grad_enabled());
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_TRUE(tanh(x).requires_grad());
  // ops on values that require no gradient record nothing either
  const Variable c(f64({1, 2}, {2}));
  EXPECT_TRUE((c * c).is_leaf());
}

TEST(Variable, DetachCutsTheGraph) {
  const Variable x = leaf({1, 2}, {2});
  const Variable d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  EXPECT_TRUE(same_storage(d.data(), x.data()));  // no copy
  // y = detach(x)·x: the detached factor is a constant, so dy/dx = x, not 2x
  sum(d * x).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{1, 2}));
  EXPECT_FALSE(d.has_grad());
  const Variable y = (x * 3.0).detach();
  EXPECT_TRUE(y.is_leaf());
}

TEST(Variable, RetainGradOnAnInteriorValue) {
  const Variable x = leaf({1, 2}, {2});
  Variable h = x * 3.0;
  h.retain_grad();
  h.retain_grad();  // twice is the same as once
  const Variable other = x * 4.0;
  sum(h * h).backward();  // dL/dh = 2h
  EXPECT_EQ(grad_of(h), (std::vector<double>{6, 12}));
  EXPECT_FALSE(other.has_grad());
  EXPECT_EQ(grad_of(x), (std::vector<double>{18, 36}));
  // retained on the root and without retain_grad
  const Variable z = x * 2.0;
  Variable root = sum(z);
  root.retain_grad();
  root.backward();
  EXPECT_EQ(root.grad().item(), 1.0);
  EXPECT_FALSE(z.has_grad());
}

TEST(Variable, DeepChainRunsAndIsDestroyedWithoutRecursion) {
  // An unrolled RNN is a chain this long: both the backward walk and the teardown
  // must be iterative or they overflow the stack.
  const Variable x = leaf({0.5}, {1});
  Variable y = x;
  for (int i = 0; i < 100000; ++i) y = y + 1e-6;
  y.backward();
  EXPECT_EQ(x.grad().item(), 1.0);
  y = Variable();  // tears down 100,000 nodes
  Variable z = x;
  for (int i = 0; i < 100000; ++i) z = tanh(z);
  z = Variable();  // never ran backward: the saved tensors go too
  SUCCEED();
}

// A step that builds the same graph as the step before takes every node, variable,
// tensor storage and buffer from the pools: nothing reaches the system allocator,
// and after each step the pools hold what they held after the one before.
TEST(Variable, ARepeatedStepAllocatesNothingFromTheSystem) {
  const Variable x = leaf({0.5, -1, 2, 0.25}, {2, 2});
  const Variable w = leaf({1, 2}, {2});
  const Variable c(f64({3, 4, 5, 6}, {2, 2}));
  size_t taken = 0;  // blocks the graph of the last step took from the pool
  auto step = [&] {
    const size_t before = object_pool_stats().cached_blocks;
    Variable y = x;
    for (int i = 0; i < 20; ++i) y = tanh(y * w + c);  // closures saving tensors, a broadcast
    Variable loss = sum(y);
    taken = before - object_pool_stats().cached_blocks;
    loss.backward();
    return loss.item();
  };
  step();
  step();
  const size_t objects = object_pool_stats().system_allocs;
  const size_t buffers = allocator_stats().system_allocs;
  const size_t cached = object_pool_stats().cached_blocks;
  const double loss = step();
  EXPECT_GE(taken, 3u * 60);  // 60 ops: a node, a variable and a storage each
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(step(), loss);
    EXPECT_EQ(object_pool_stats().system_allocs, objects);
    EXPECT_EQ(allocator_stats().system_allocs, buffers);
    EXPECT_EQ(object_pool_stats().cached_blocks, cached);
  }
}

// Graphs built and differentiated on several threads at once, and a graph built on
// one thread and freed on another (its nodes join that thread's pool).
TEST(Variable, GraphsOnSeveralThreadsAtOnce) {
  auto chain = [](const Variable& x) {
    Variable y = x;
    for (int i = 0; i < 50; ++i) y = y * 1.01 + x;
    return sum(y);
  };
  const double want = [&] {
    const Variable x = leaf({1, 2, 3}, {3});
    chain(x).backward();
    return x.grad().to_vector<double>()[0];
  }();
  std::vector<double> got(4);
  std::vector<Variable> kept(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < 20; ++r) {
        const Variable x = leaf({1, 2, 3}, {3});
        chain(x).backward();
        got[t] = x.grad().to_vector<double>()[0];
      }
      kept[t] = chain(leaf({1, 2, 3}, {3}));  // outlives the thread and its pool
    });
  }
  for (std::thread& th : threads) th.join();
  for (size_t t = 0; t < got.size(); ++t) {
    EXPECT_EQ(got[t], want) << "thread " << t;
    kept[t].backward();  // a graph of a thread that has ended
    kept[t] = Variable();
  }
}

TEST(Variable, AnomalyModeNamesTheOp) {
  const Variable zero = leaf({0, 1}, {2});
  {
    AnomalyModeGuard anomaly;
    EXPECT_TRUE(anomaly_enabled());
    EXPECT_TRUE(throws_with<std::runtime_error>([&] { log(zero); }, {"anomaly", "'log'", "forward", "[2]"}));
    // √x at 0 is finite, but its gradient 1/(2√x) · 0 is 0/0 = NaN
    const Variable y = sqrt(zero) * 0.0;
    EXPECT_TRUE(throws_with<std::runtime_error>([&] { sum(y).backward(); },
                                                {"anomaly", "backward of 'sqrt'", "NaN", "input 0"}));
  }
  EXPECT_FALSE(anomaly_enabled());
  // without anomaly mode the same computations go through quietly
  EXPECT_NO_THROW(log(zero));
  EXPECT_NO_THROW(sum(sqrt(zero) * 0.0).backward());
  EXPECT_TRUE(std::isnan(zero.grad().at({0})));
}

TEST(Variable, RecordWithACustomBackward) {
  // y = x · c with c a constant: the closure asks needs() and skips c
  const Variable x = leaf({1, 2}, {2});
  const Variable c(f64({5, 6}, {2}));
  bool asked_for_c = true;
  const Tensor cd = c.data();
  const Variable y = record("scale", mul(x.data(), cd), {x, c}, [cd, &asked_for_c](const std::vector<Tensor>& gy, Grads& g) {
    asked_for_c = g.needs(1);
    if (g.needs(0)) g[0] = mul(gy[0], cd);
  });
  EXPECT_STREQ(y.op_name(), "scale");
  sum(y).backward();
  EXPECT_FALSE(asked_for_c);
  EXPECT_EQ(grad_of(x), (std::vector<double>{5, 6}));
}

TEST(Variable, RecordMultiWithTwoOutputs) {
  // (p, q) = (2x, x²) as one node: ∂(p + 3q)/∂x = 2 + 6x
  auto twin = [](const Variable& x) {
    const Tensor xd = x.data();
    return record_multi("twin", {mul(xd, 2.0), mul(xd, xd)}, {x},
                        [xd](const std::vector<Tensor>& gy, Grads& g) {
                          g[0] = add(mul(gy[0], 2.0), mul(mul(gy[1], xd), 2.0));
                        });
  };
  const Variable x = leaf({1, 2}, {2});
  const std::vector<Variable> pq = twin(x);
  ASSERT_EQ(pq.size(), 2u);
  EXPECT_EQ(pq[0].grad_fn(), pq[1].grad_fn());
  EXPECT_EQ(pq[1].data().to_vector<double>(), (std::vector<double>{1, 4}));
  sum(pq[0] + pq[1] * 3.0).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{8, 14}));
  // only one output used: the other one's gradient arrives as zeros
  const Variable x2 = leaf({1, 2}, {2});
  sum(twin(x2)[1]).backward();
  EXPECT_EQ(grad_of(x2), (std::vector<double>{2, 4}));
  const Variable x3 = leaf({1, 2}, {2});
  sum(twin(x3)[0]).backward();
  EXPECT_EQ(grad_of(x3), (std::vector<double>{2, 2}));
  // no gradient wanted: plain values
  NoGradGuard no_grad;
  EXPECT_TRUE(twin(x)[0].is_leaf());
}

TEST(Variable, ViewMethodsRecord) {
  const Variable x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  const Variable y = x.t().reshape({3, 2}).narrow(0, 1, 2).select(1, 0).unsqueeze(0).squeeze(0);
  EXPECT_EQ(y.data().to_vector<double>(), (std::vector<double>{2, 3}));
  sum(y).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{0, 1, 1, 0, 0, 0}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { leaf({1, 2}, {2}).t(); }, {"t:", "2-D"}));
}

TEST(Variable, ErrorsFromTheTensorOpPropagate) {
  const Variable a = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  const Variable b = leaf({1, 2}, {2});
  EXPECT_EQ(testing::message_of([&] { add(a, b); }), "add: [2,3] and [2]: sizes 3 and 2 cannot broadcast");
  EXPECT_EQ(testing::message_of([&] { matmul(a, a); }), "matmul: [2,3] @ [2,3]: inner sizes 3 and 2 differ");
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { sum(a, {2}); }, {"sum", "axis 2"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { softmax(a, -3); }, {"softmax", "axis -3"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { index_select(a, 0, testing::i64({2}, {1})); },
                                             {"index_select", "index 2", "size 2"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        mul(a, Variable(Tensor::zeros({3, 2})));
      },
      {"mul", "[2,3]", "[3,2]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { concat({a, b}, 0); }, {"concat", "[2]", "[2,3]"}));
}

}  // namespace
}  // namespace minigrad
