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

TEST(Determinism, BitwiseIdenticalForOneAndTwoThreads) {
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const Result one = forward_backward();
  omp_set_num_threads(2);
  const Result two = forward_backward();
  const Result again = forward_backward();
  omp_set_num_threads(saved);
#else
  const Result one = forward_backward(), two = forward_backward(), again = forward_backward();
#endif
  EXPECT_TRUE(bitwise_equal(one.out, two.out));
  EXPECT_TRUE(bitwise_equal(one.grad_a, two.grad_a));
  EXPECT_TRUE(bitwise_equal(one.grad_b, two.grad_b));
  EXPECT_TRUE(bitwise_equal(two.grad_a, again.grad_a));
  EXPECT_TRUE(bitwise_equal(two.grad_b, again.grad_b));
}

// Causal multi-head self-attention, batch 4, T 64, d 128, 4 heads, forward and
// backward: its 16 (batch, head) pairs are shared out among the threads.
Result multihead_forward_backward() {
  Generator gen(32);
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(128, 4).batch_first(true), gen);
  const Variable x = Variable(randn({4, 64, 128}, 0, 1, DType::Float32, gen)).requires_grad_();
  const Variable y =
      m(x, x, x,
        nn::MultiheadAttentionForwardOptions().attn_mask(nn::causal_mask(64)).need_weights(false))
          .output;
  sum(y * Variable(randn({4, 64, 128}, 0, 1, DType::Float32, gen))).backward();
  return {y.data().to_vector<float>(), x.grad().to_vector<float>(),
          m.in_proj_weight.grad().to_vector<float>()};
}

TEST(Determinism, MultiheadAttentionBitwiseIdenticalForOneAndTwoThreads) {
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const Result one = multihead_forward_backward();
  omp_set_num_threads(2);
  const Result two = multihead_forward_backward();
  omp_set_num_threads(saved);
#else
  const Result one = multihead_forward_backward(), two = multihead_forward_backward();
#endif
  EXPECT_TRUE(bitwise_equal(one.out, two.out));
  EXPECT_TRUE(bitwise_equal(one.grad_a, two.grad_a));
  EXPECT_TRUE(bitwise_equal(one.grad_b, two.grad_b));
}

}  // namespace
}  // namespace minigrad
