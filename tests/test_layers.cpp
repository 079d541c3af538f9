// The basic layers (nn/layers.cpp): Linear, Embedding, Softmax/LogSoftmax, GELU,
// Dropout — values against hand-written loops, errors, and gradcheck. LayerNorm has
// its own file (test_layer_norm.cpp).
#include "minigrad/nn/layers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "autograd_testing.h"

namespace minigrad {
namespace {

using namespace testing;

// y[r, o] = Σ_i x[r, i]·W[o, i] + b[o], row by row.
Tensor linear_reference(const Tensor& x2d, const Tensor& w, const Tensor& b) {
  const int64_t rows = x2d.size(0), in = x2d.size(1), out = w.size(0);
  Tensor y = Tensor::zeros({rows, out}, DType::Float64);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      double acc = b.defined() ? b.at({o}) : 0.0;
      for (int64_t i = 0; i < in; ++i) acc += x2d.at({r, i}) * w.at({o, i});
      y.data<double>()[r * out + o] = acc;
    }
  }
  return y;
}

// ---- Linear ---------------------------------------------------------------------------------

TEST(Linear, TwoDimensionalInput) {
  Generator gen(1);
  nn::Linear lin(nn::LinearOptions(4, 3).dtype(DType::Float64), gen);
  const Tensor x = input({5, 4}, 2);
  const Variable y = lin(Variable(x));
  EXPECT_EQ(y.shape(), (Shape{5, 3}));
  EXPECT_LT(max_abs_diff(y.data(), linear_reference(x, lin.weight.data(), lin.bias.data())), 1e-14);
}

TEST(Linear, LeadingAxesAreKept) {
  Generator gen(1);
  nn::Linear lin(nn::LinearOptions(4, 3).dtype(DType::Float64), gen);
  const Tensor x = input({2, 5, 4}, 3);
  const Variable y = lin(Variable(x));
  ASSERT_EQ(y.shape(), (Shape{2, 5, 3}));
  for (int64_t b = 0; b < 2; ++b) {
    const Tensor want = linear_reference(x.select(0, b), lin.weight.data(), lin.bias.data());
    EXPECT_LT(max_abs_diff(y.data().select(0, b), want), 1e-14) << "batch " << b;
  }
  // A transposed (non-contiguous) input gives the same result.
  const Tensor xt = x.transpose(0, 1).contiguous().transpose(0, 1);
  ASSERT_FALSE(xt.is_contiguous());
  EXPECT_EQ(max_abs_diff(lin(Variable(xt)).data(), y.data()), 0.0);
}

TEST(Linear, WithoutBias) {
  Generator gen(1);
  nn::Linear lin(nn::LinearOptions(4, 3).bias(false).dtype(DType::Float64), gen);
  EXPECT_FALSE(lin.bias.defined());
  const Tensor x = input({5, 4}, 4);
  EXPECT_LT(max_abs_diff(lin(Variable(x)).data(), linear_reference(x, lin.weight.data(), Tensor())),
            1e-14);
  EXPECT_EQ(lin.extra_repr(), "in_features=4, out_features=3, bias=false");
}

TEST(Linear, InitIsPyTorchsUniform) {
  nn::Linear lin(16, 50);
  const double bound = 1.0 / std::sqrt(16.0);
  EXPECT_LE(amax(abs(lin.weight.data())).item(), bound);
  EXPECT_LE(amax(abs(lin.bias.data())).item(), bound);
  EXPECT_GT(amax(abs(lin.weight.data())).item(), 0.9 * bound);  // the whole range is used
  EXPECT_EQ(lin.weight.dtype(), DType::Float32);
  EXPECT_EQ(lin.weight.shape(), (Shape{50, 16}));
  // Init ran outside the graph: the parameters are leaves.
  EXPECT_TRUE(lin.weight.is_leaf());
  EXPECT_TRUE(lin.bias.is_leaf());
}

TEST(Linear, BadInputShapeNamesTheShapes) {
  nn::Linear lin(4, 3);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        lin(Variable(Tensor::zeros({5, 3})));
      },
      {"Linear", "[5,3]", "in_features=4"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { lin(Variable(Tensor::scalar(1.0))); },
                                                 {"Linear", "in_features=4"}));
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([] { nn::Linear(0, 3); }, {"in_features", "positive"}));
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([] { nn::Linear(3, -1); }, {"out_features", "positive"}));
}

TEST(Linear, Gradcheck) {
  Generator gen(2);
  nn::Linear lin(nn::LinearOptions(3, 2).dtype(DType::Float64), gen);
  auto f = [&lin](const Vars& v) {
    lin.weight = v[1];  // the registry reads the member: gradcheck's leaves become the parameters
    lin.bias = v[2];
    return lin(v[0]);
  };
  EXPECT_TRUE(grad_ok(f, {input({4, 3}, 1), lin.weight.data(), lin.bias.data()}));
  EXPECT_TRUE(grad_ok(f, {input({2, 3, 3}, 2), lin.weight.data(), lin.bias.data()}));
  nn::Linear nobias(nn::LinearOptions(3, 2).bias(false).dtype(DType::Float64), gen);
  EXPECT_TRUE(grad_ok(
      [&nobias](const Vars& v) {
        nobias.weight = v[1];
        return nobias(v[0]);
      },
      {input({4, 3}, 3), nobias.weight.data()}));
}

TEST(Linear, OptionsAreKeptAndTheFunctionalFormAgrees) {
  Generator gen(5);
  nn::Linear lin(nn::LinearOptions(3, 2).dtype(DType::Float64), gen);
  EXPECT_EQ(lin.options.in_features(), 3);
  EXPECT_EQ(lin.options.out_features(), 2);
  EXPECT_TRUE(lin.options.bias());
  EXPECT_EQ(lin.options.dtype(), DType::Float64);
  const Variable x(input({4, 3}, 12));
  EXPECT_EQ(max_abs_diff(lin(x).data(), nn::linear(x, lin.weight, lin.bias).data()), 0.0);
  EXPECT_EQ(max_abs_diff(x.matmul(lin.weight.mT()).data(), nn::linear(x, lin.weight).data()), 0.0);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        nn::linear(Variable(Tensor::zeros({4, 2}, DType::Float64)), lin.weight);
      },
      {"linear", "[4,2]", "in_features=3"}));
  // Linear(in, out) is LinearOptions(in, out): float32, with a bias.
  Generator g1(9);
  nn::Linear a(nn::LinearOptions(3, 2), g1);
  EXPECT_EQ(a.weight.dtype(), DType::Float32);
  EXPECT_EQ(nn::Linear(3, 2).named_parameters().size(), 2u);
  EXPECT_EQ(nn::Linear(nn::LinearOptions(3, 2).bias(false)).named_parameters().size(), 1u);
}

// ---- Embedding ------------------------------------------------------------------------------

TEST(Embedding, LooksUpRows) {
  Generator gen(3);
  nn::Embedding emb(nn::EmbeddingOptions(6, 3).dtype(DType::Float64), gen);
  const Tensor ids = testing::i64({1, 3, 1, 5, 0, 3, 3, 2}, {2, 4});
  const Variable y = emb.forward(ids);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3}));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t d = 0; d < 3; ++d)
        EXPECT_EQ(y.data().at({b, t, d}),
                  emb.weight.data().at({static_cast<int64_t>(ids.at({b, t})), d}));
  // A rank-0 id gives one vector.
  EXPECT_EQ(emb.forward(Tensor::from_vector<int64_t>({4}, {})).shape(), (Shape{3}));
  EXPECT_EQ(emb.extra_repr(), "6, 3");
}

TEST(Embedding, OutOfRangeIdNamesTheIdAndTheVocabulary) {
  nn::Embedding emb(6, 3);
  EXPECT_TRUE(throws_with<std::out_of_range>(
      [&] {
        emb.forward(testing::i64({1, 6, 2}, {3}));
      },
      {"Embedding", "id 6", "vocabulary of 6"}));
  EXPECT_TRUE(throws_with<std::out_of_range>(
      [&] {
        emb.forward(testing::i64({0, 2, -1, 1}, {2, 2}));
      },
      {"id -1", "vocabulary of 6"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { emb.forward(Tensor::zeros({2})); },
                                                 {"Embedding", "int64", "float32"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { nn::Embedding(0, 3); }, {"num_embeddings"}));
}

TEST(Embedding, RepeatedIdsAccumulateGradients) {
  nn::Embedding emb(nn::EmbeddingOptions(5, 2).dtype(DType::Float64));
  // id 1 three times, id 3 once, the others never
  const Variable y = emb.forward(testing::i64({1, 3, 1, 1}, {4}));
  const Tensor gy = testing::f64({1, 2, 10, 20, 100, 200, 1000, 2000}, {4, 2});
  y.backward(gy);
  const Tensor want = testing::f64({0, 0, 1101, 2202, 0, 0, 10, 20, 0, 0}, {5, 2});
  EXPECT_EQ(max_abs_diff(emb.weight.grad(), want), 0.0);
}

TEST(Embedding, Gradcheck) {
  nn::Embedding emb(nn::EmbeddingOptions(4, 3).dtype(DType::Float64));
  const Tensor ids = testing::i64({2, 0, 2, 3, 2, 1}, {2, 3});
  EXPECT_TRUE(grad_ok(
      [&](const Vars& v) {
        emb.weight = v[0];
        return emb.forward(ids);
      },
      {input({4, 3}, 9)}));
}

TEST(Embedding, PaddingIdxRowStartsAtZeroAndGetsNoGradient) {
  Generator gen(11);
  // -1 counts from the end, as PyTorch's: row 4 of 5, stored non-negative in options.
  nn::Embedding emb(nn::EmbeddingOptions(5, 2).padding_idx(-1).dtype(DType::Float64), gen);
  ASSERT_TRUE(emb.options.padding_idx().has_value());
  EXPECT_EQ(*emb.options.padding_idx(), 4);
  EXPECT_EQ(emb.extra_repr(), "5, 2, padding_idx=4");
  EXPECT_EQ(max_abs_diff(emb.weight.data().narrow(0, 4, 1), Tensor::zeros({1, 2}, DType::Float64)),
            0.0);
  // The padding row is looked up like any other (a value set later shows in the output)...
  {
    NoGradGuard no_grad;
    emb.weight.mutable_data().narrow(0, 4, 1).fill_(7.0);
  }
  const Variable y = emb(testing::i64({4, 1, 4, 1}, {2, 2}));
  EXPECT_EQ(y.data().at({0, 0, 0}), 7.0);
  // ...but its gradient stays zero while the other rows' add up.
  y.backward(testing::f64({1, 2, 10, 20, 100, 200, 1000, 2000}, {2, 2, 2}));
  const Tensor want = testing::f64({0, 0, 1010, 2020, 0, 0, 0, 0, 0, 0}, {5, 2});
  EXPECT_EQ(max_abs_diff(emb.weight.grad(), want), 0.0);
  // Gradcheck through a lookup that hits the padding row: rows 0-3 are the
  // variables, row 4 a constant (its analytic gradient is zero by definition, while
  // the output does depend on it, so central differences would see 1 there).
  const Tensor ids = testing::i64({2, 4, 2, 3, 4, 1}, {2, 3});
  EXPECT_TRUE(grad_ok(
      [&](const Vars& v) {
        emb.weight = concat({v[0], Variable(Tensor::full({1, 2}, 0.5, DType::Float64))}, 0);
        return emb(ids);
      },
      {input({4, 2}, 19)}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { nn::Embedding(nn::EmbeddingOptions(5, 2).padding_idx(5)); },
      {"Embedding", "padding_idx 5", "[-5, 5)"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { nn::Embedding(nn::EmbeddingOptions(5, 2).padding_idx(-6)); }, {"padding_idx -6"}));
}

TEST(Embedding, OptionsAndTheShortFormAgree) {
  Generator g1(3), g2(3);
  nn::Embedding a(nn::EmbeddingOptions(7, 4), g1);
  nn::Embedding b(nn::EmbeddingOptions(7, 4), g2);
  EXPECT_EQ(max_abs_diff(a.weight.data(), b.weight.data()), 0.0);
  EXPECT_EQ(nn::Embedding(7, 4).options.embedding_dim(), 4);
  EXPECT_FALSE(nn::Embedding(7, 4).options.padding_idx().has_value());
}

// ---- Softmax / LogSoftmax -------------------------------------------------------------------

TEST(SoftmaxModules, MatchTheFunctionsOverTheirDim) {
  const Tensor x = input({2, 3, 4}, 5, -3, 3);
  for (int64_t dim : {0, 1, 2, -1}) {
    nn::Softmax sm(dim);
    nn::LogSoftmax lsm(dim);
    const Tensor p = sm(Variable(x)).data();
    EXPECT_EQ(max_abs_diff(p, softmax(x, dim)), 0.0) << dim;
    // Each slice along dim sums to 1, and log_softmax is its log.
    EXPECT_LT(max_abs_diff(sum(p, {dim}), Tensor::ones(sum(p, {dim}).shape(), DType::Float64)),
              1e-15)
        << dim;
    EXPECT_LT(max_abs_diff(lsm(Variable(x)).data(), log(p)), 1e-14) << dim;
    EXPECT_EQ(sm.extra_repr(), "dim=" + std::to_string(dim));
  }
  EXPECT_TRUE(grad_ok([](const Vars& v) { return nn::Softmax(1)(v[0]); }, {input({2, 3}, 6)}));
  EXPECT_TRUE(grad_ok([](const Vars& v) { return nn::LogSoftmax(0)(v[0]); }, {input({2, 3}, 7)}));
}

// ---- GELU -----------------------------------------------------------------------------------

// The formulas of PyTorch's documentation, in double, one element at a time.
double gelu_reference(double x, bool tanh_form) {
  if (tanh_form) {
    const double kPi = 3.14159265358979323846;
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / kPi) * (x + 0.044715 * x * x * x)));
  }
  return x * 0.5 * std::erfc(-x / std::sqrt(2.0));  // Φ(x) = ½ erfc(−x/√2)
}

TEST(GELU, ValuesMatchTheFormulasInBothDtypes) {
  const Tensor x = input({64}, 40, -6, 6);
  for (const char* approximate : {"none", "tanh"}) {
    const bool tanh_form = std::string(approximate) == "tanh";
    nn::GELU act(nn::GELUOptions().approximate(approximate));
    for (DType dt : {DType::Float64, DType::Float32}) {
      const Tensor y = act(Variable(x.to(dt))).data();
      ASSERT_EQ(y.dtype(), dt);
      const Tensor want =
          Tensor::from_vector([&] {
            std::vector<double> v;
            for (double e : x.to(dt).to_vector<double>()) v.push_back(gelu_reference(e, tanh_form));
            return v;
          }(), {64});
      // float64: a few ulps of libm; float32: a few ulps of values up to 6
      EXPECT_LT(rel_diff(y, want), dt == DType::Float64 ? 1e-15 : 1e-6)
          << approximate << " " << dtype_name(dt);
    }
  }
  // the two forms differ, by at most about 5e-4 (where the tanh fit is worst)
  const double gap = max_abs_diff(gelu(Variable(x)).data(), gelu(Variable(x), "tanh").data());
  EXPECT_GT(gap, 1e-5);
  EXPECT_LT(gap, 1e-3);
}

TEST(GELU, ModuleOptionsReprAndGradcheck) {
  EXPECT_EQ(nn::GELUOptions().approximate(), "none");
  EXPECT_EQ(nn::GELU().extra_repr(), "approximate='none'");
  EXPECT_EQ(nn::GELU(nn::GELUOptions().approximate("tanh")).extra_repr(), "approximate='tanh'");
  EXPECT_EQ(nn::GELU().type_name(), "GELU");
  EXPECT_TRUE(grad_ok([](const Vars& v) { return nn::GELU()(v[0]); }, {input({2, 3}, 41, -3, 3)}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { nn::GELU(nn::GELUOptions().approximate("Tanh")); }, {"GELU", "\"Tanh\""}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { gelu(Variable(Tensor::zeros({2})), ""); },
                                                 {"gelu", "\"none\" or \"tanh\""}));
}

// ---- Dropout --------------------------------------------------------------------------------

TEST(Dropout, EvalIsTheIdentity) {
  nn::Dropout drop(0.5);
  drop.eval();
  const Variable x = Variable(input({100}, 1)).requires_grad_();
  const Variable y = drop(x);
  EXPECT_EQ(max_abs_diff(y.data(), x.data()), 0.0);
  sum(y).backward();
  EXPECT_EQ(max_abs_diff(x.grad(), Tensor::ones({100}, DType::Float64)), 0.0);
}

// The statistics of one mask over n elements, against what Bernoulli(1 − p) promises.
// Each bound is 5 standard deviations of the statistic (a false alarm about once in
// 1.7 million runs, and the seed is fixed anyway): wide enough never to flag a correct
// kernel, narrow enough to catch a keep probability off by 2% at these sizes.
TEST(Dropout, TrainingZeroesAboutPAndScalesTheRest) {
  Generator gen(11);
  const double p = 0.25;
  nn::Dropout drop(p, gen);
  const int64_t n = 20000;
  const Variable x = Variable(Tensor::ones({n}, DType::Float64)).requires_grad_();
  const Variable y = drop(x);
  const std::vector<double> v = y.data().to_vector<double>();
  int64_t zeros = 0;
  for (double e : v) {
    if (e == 0.0) {
      ++zeros;
    } else {
      EXPECT_DOUBLE_EQ(e, 1.0 / (1.0 - p));
    }
  }
  // The dropped fraction is a binomial count over n: standard deviation √(p(1−p)/n).
  const double sd_fraction = std::sqrt(p * (1 - p) / static_cast<double>(n));
  EXPECT_NEAR(static_cast<double>(zeros) / static_cast<double>(n), p, 5 * sd_fraction);
  // The mean of y: each y_i is 0 or 1/(1−p), mean 1, variance p/(1−p); over n elements
  // its standard deviation is √(p/((1−p)n)).
  const double sd_mean = std::sqrt(p / ((1 - p) * static_cast<double>(n)));
  EXPECT_NEAR(mean(y.data()).item(), 1.0, 5 * sd_mean);
  // ∂y/∂x = mask/(1-p): the gradient is the output itself for x = 1.
  sum(y).backward();
  EXPECT_EQ(max_abs_diff(x.grad(), y.data()), 0.0);
  // Each call draws a fresh mask.
  EXPECT_GT(max_abs_diff(drop(x).data(), y.data()), 0.0);
  // float32 keeps its dtype and the 1/(1-p) scale.
  const Tensor y32 = drop(Variable(Tensor::ones({1000}))).data();
  EXPECT_EQ(y32.dtype(), DType::Float32);
  EXPECT_FLOAT_EQ(static_cast<float>(amax(y32).item()), static_cast<float>(1.0 / (1.0 - p)));
}

// The mean of x is kept for any x, not only ones: Σ y over n elements of a random x.
TEST(Dropout, PreservesTheMeanOfARandomInput) {
  Generator gen(12);
  const double p = 0.4;
  nn::Dropout drop(p, gen);
  const int64_t n = 50000;
  const Tensor x = input({n}, 13, 1, 3);  // E x = 2, E x² = 13/3
  const double got = mean(drop(Variable(x)).data()).item();
  // y_i = x_i·m_i/(1−p): E y_i = E x_i, and Var y_i = E x²/(1−p) − (E x)², so the sample
  // mean of y differs from that of x by at most 5 standard deviations of the mask's part,
  // √(E x²·p/((1−p)n)) (the spread of x itself is shared by both means and cancels).
  const double sd = std::sqrt((13.0 / 3.0) * p / ((1 - p) * static_cast<double>(n)));
  EXPECT_NEAR(got, mean(x).item(), 5 * sd);
}

// The gradient is mask/(1−p) for any upstream gradient, not only ones.
TEST(Dropout, GradientIsTheMaskOverOneMinusP) {
  Generator gen(14);
  const double p = 0.3;
  nn::Dropout drop(p, gen);
  const Variable x = Variable(input({500}, 15, 0.5, 1.5)).requires_grad_();
  const Variable y = drop(x);
  const Tensor g = input({500}, 16);
  sum(y * Variable(g)).backward();
  // the mask divided by (1 − p), read off the output: y/x
  const Tensor scaled_mask = div(y.data(), x.data());
  EXPECT_LT(max_abs_diff(x.grad(), mul(scaled_mask, g)), 1e-15);
  const Tensor kept = ne(scaled_mask, 0.0);
  EXPECT_LT(max_abs_diff(where(kept, scaled_mask, Tensor::scalar(1 / (1 - p), DType::Float64)),
                         Tensor::full({500}, 1 / (1 - p), DType::Float64)),
            1e-15);
}

// The mask is the dropout's own stream: the same seed gives the same bits (at any thread
// count: the mask is drawn by one thread), another seed another mask, and restoring the
// generator's state replays the mask.
TEST(Dropout, OwnGeneratorSameSeedSameBitsAndStateRestoresTheMask) {
  const Variable x(input({4096}, 17));
  const auto mask_of = [&](uint64_t seed) {
    Generator gen(seed);
    nn::Dropout drop(0.5, gen);
    return drop(x).data();
  };
  EXPECT_EQ(max_abs_diff(mask_of(5), mask_of(5)), 0.0);
  EXPECT_GT(max_abs_diff(mask_of(5), mask_of(6)), 0.0);

  // Drawing from the constructor's generator afterwards does not touch the masks.
  Generator g1(7), g2(7);
  nn::Dropout d1(0.5, g1), d2(0.5, g2);
  (void)randn({100}, 0, 1, DType::Float32, g2);
  EXPECT_EQ(max_abs_diff(d1(x).data(), d2(x).data()), 0.0);

  const Tensor saved = d1.dropout_generator.state();
  const Tensor first = d1(x).data();
  EXPECT_GT(max_abs_diff(d1(x).data(), first), 0.0);  // the stream moved on
  d1.dropout_generator.set_state(saved);
  EXPECT_EQ(max_abs_diff(d1(x).data(), first), 0.0);
}

#ifdef _OPENMP
TEST(Dropout, SameBitsAtOneAndTwoThreads) {
  const Variable x(input({1 << 20}, 18).to(DType::Float32));  // large enough to split
  const auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    Generator gen(19);
    nn::Dropout drop(0.1, gen);
    const Tensor y = drop(x).data();
    omp_set_num_threads(saved);
    return y;
  };
  EXPECT_EQ(max_abs_diff(run(1), run(2)), 0.0);
}
#endif

TEST(Dropout, PZeroIsTheIdentityAndPOutOfRangeThrows) {
  nn::Dropout none(0.0);
  const Variable x(input({10}, 2));
  EXPECT_EQ(max_abs_diff(none(x).data(), x.data()), 0.0);
  for (double p : {-0.1, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_TRUE(
        throws_with<std::invalid_argument>([p] { nn::Dropout d(p); }, {"Dropout", "[0, 1)"}))
        << p;
  }
  EXPECT_EQ(nn::Dropout(0.5).extra_repr(), "p=0.5");
}

// A Dropout with p = 0 draws nothing from the constructor's generator; one with p > 0
// draws exactly one number (its seed), so the weights drawn after it move by one draw.
TEST(Dropout, ConstructorDrawsOneNumberOnlyWhenItDrops) {
  Generator a(20), untouched(20);
  nn::Dropout keep_all(0.0, a);
  EXPECT_EQ(a.next_u64(), untouched.next_u64());
  Generator c(21), reference(21);
  nn::Dropout drops(0.1, c);
  (void)reference.next_u64();  // the seed drops took
  EXPECT_EQ(c.next_u64(), reference.next_u64());
}

}  // namespace
}  // namespace minigrad
