// Same inputs, same seed: same bits, whatever the thread count.
#include <gtest/gtest.h>

#include <cstring>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "minigrad/autograd/functions.h"
#include "minigrad/nn/attention.h"
#include "minigrad/tensor/random.h"

namespace minigrad {
namespace {

struct Result {
  std::vector<float> out, grad_a, grad_b;
};

// matmul 200×200 + softmax + a weighted sum, forward and backward.
Result forward_backward() {
  Generator gen(31);
  const Variable a = Variable(randn({200, 200}, 0, 1, DType::Float32, gen)).requires_grad_();
  const Variable b = Variable(randn({200, 200}, 0, 0.1, DType::Float32, gen)).requires_grad_();
  const Variable w(randn({200, 200}, 0, 1, DType::Float32, gen));
  const Variable p = softmax(matmul(a, b), -1);
  const Variable loss = sum(p * w);
  loss.backward();
  return {p.data().to_vector<float>(), a.grad().to_vector<float>(), b.grad().to_vector<float>()};
}

bool bitwise_equal(const std::vector<float>& x, const std::vector<float>& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

// f() at 1 thread, then twice at 2 threads.
struct Runs {
  Result one, two, again;
};
Runs at_one_and_two_threads(Result (*f)()) {
  Runs r;
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  r.one = f();
  omp_set_num_threads(2);
  r.two = f();
  r.again = f();
  omp_set_num_threads(saved);
#else
  r = {f(), f(), f()};
#endif
  return r;
}

void expect_same_bits(const Runs& r) {
  EXPECT_TRUE(bitwise_equal(r.one.out, r.two.out));
  EXPECT_TRUE(bitwise_equal(r.one.grad_a, r.two.grad_a));
  EXPECT_TRUE(bitwise_equal(r.one.grad_b, r.two.grad_b));
  EXPECT_TRUE(bitwise_equal(r.two.grad_a, r.again.grad_a));
  EXPECT_TRUE(bitwise_equal(r.two.grad_b, r.again.grad_b));
}

TEST(Determinism, BitwiseIdenticalForOneAndTwoThreads) {
  expect_same_bits(at_one_and_two_threads(forward_backward));
}

// Causal multi-head self-attention, batch 8, T 64, d 128, 4 heads, forward and
// backward: its 32 (batch, head) pairs are shared out among the threads.
Result multihead_forward_backward() {
  Generator gen(32);
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(128, 4).batch_first(true), gen);
  const Variable x = Variable(randn({8, 64, 128}, 0, 1, DType::Float32, gen)).requires_grad_();
  const Variable y =
      m(x, x, x,
        nn::MultiheadAttentionForwardOptions().attn_mask(nn::causal_mask(64)).need_weights(false))
          .output;
  sum(y * Variable(randn({8, 64, 128}, 0, 1, DType::Float32, gen))).backward();
  return {y.data().to_vector<float>(), x.grad().to_vector<float>(),
          m.in_proj_weight.grad().to_vector<float>()};
}

TEST(Determinism, MultiheadAttentionBitwiseIdenticalForOneAndTwoThreads) {
  expect_same_bits(at_one_and_two_threads(multihead_forward_backward));
}

}  // namespace
}  // namespace minigrad
