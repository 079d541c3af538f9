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

// Element-wise loops split their elements among the threads (tensor/strided.h,
// parallel_for_each_run), cutting runs of the innermost axis mid-way: a strided view,
// a broadcast operand, a where, an in-place add and a GELU over ~100,000 elements.
Result elementwise_ops() {
  Generator gen(33);
  const Tensor x = randn({5, 4099, 5}, 0, 1, DType::Float32, gen).permute({2, 0, 1});  // strided
  const Tensor b = randn({4099}, 0, 1, DType::Float32, gen);
  Tensor y = gelu(x) + b;                            // [5, 5, 4099], b broadcast
  y.add_(where(gt(x, 0.5), exp(x), x * 2.0), 0.25);  // in place, contiguous
  const Tensor gy = gelu_backward(y, x.contiguous(), "tanh");
  return {y.to_vector<float>(), gy.to_vector<float>(), (x + b).to_vector<float>()};
}

TEST(Determinism, ElementwiseOpsSplitAcrossThreadsGiveTheSameBits) {
  expect_same_bits(at_one_and_two_threads(elementwise_ops));
}

// The split visits every element once, each with its own operands: x + b at two
// threads, element by element against the sum written out.
TEST(Determinism, ElementwiseSplitVisitsEveryElementOnce) {
  const std::vector<float> sum = elementwise_ops().grad_b;  // at the default thread count
  Generator gen(33);
  const Tensor base = randn({5, 4099, 5}, 0, 1, DType::Float32, gen);
  const std::vector<float> b = randn({4099}, 0, 1, DType::Float32, gen).to_vector<float>();
  const std::vector<float> xs = base.to_vector<float>();
  ASSERT_EQ(sum.size(), xs.size());
  size_t wrong = 0;
  for (size_t c = 0; c < 5; ++c)
    for (size_t i = 0; i < 5; ++i)
      for (size_t j = 0; j < 4099; ++j) {
        const float expected = xs[(i * 4099 + j) * 5 + c] + b[j];
        wrong += sum[(c * 5 + i) * 4099 + j] != expected;
      }
  EXPECT_EQ(wrong, 0u);
}

}  // namespace
}  // namespace minigrad
