// layer_norm (autograd/layer_norm.cpp, tensor/layer_norm.cpp) and nn::LayerNorm: both
// paths pass gradcheck with every optional input present and absent and over several
// ranks of normalized_shape, the fused kernel agrees with the composed reference, the
// rows come out with mean 0 and variance 1, and the kernel gives the same bits at 1 and
// 2 threads. PyTorch parity is in test_parity_nn.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "autograd_testing.h"
#include "minigrad/nn/layers.h"

namespace minigrad {
namespace {

using testing::grad_ok;
using testing::input;
using testing::rel_diff;
using testing::throws_with;
using testing::Vars;

using LayerNormFn = Variable (*)(const Variable&, const std::vector<int64_t>&, const Variable&,
                                 const Variable&, double);

constexpr double kTight = 1e-13;  // float64: the two paths differ only in rounding

// x [2, 3, 4] normalised over its last 1, 2 or 3 dims.
struct Case {
  std::vector<int64_t> normalized_shape;
  Shape x_shape;
};
const std::vector<Case> kCases = {
    {{4}, {2, 3, 4}}, {{3, 4}, {2, 3, 4}}, {{2, 3, 4}, {2, 3, 4}}, {{5}, {5}}};

// Which of weight and bias a call gets.
struct Affine {
  bool weight, bias;
  std::string name() const {
    return std::string(weight ? "weight" : "no weight") + (bias ? ", bias" : ", no bias");
  }
};
const Affine kAffines[] = {{true, true}, {false, false}, {true, false}, {false, true}};

// The inputs of one call: x, then weight and bias when the call has them. Weight and bias
// are away from 1 and 0, so a path that ignored them would fail.
std::vector<Tensor> inputs_for(const Case& c, const Affine& a, uint64_t seed) {
  const Shape norm(c.normalized_shape);
  std::vector<Tensor> in{input(c.x_shape, seed, -2, 2)};
  if (a.weight) in.push_back(input(norm, seed + 1, 0.5, 1.5));
  if (a.bias) in.push_back(input(norm, seed + 2));
  return in;
}

// Calls f with the inputs in the order inputs_for made them.
Variable call(LayerNormFn f, const Case& c, const Affine& a, const Vars& v, double eps = 1e-5) {
  const Variable w = a.weight ? v[1] : Variable();
  const Variable b = a.bias ? v[a.weight ? 2 : 1] : Variable();
  return f(v[0], c.normalized_shape, w, b, eps);
}

TEST(LayerNorm, GradcheckFusedEveryRankWithAndWithoutAffine) {
  uint64_t seed = 100;
  for (const Case& c : kCases) {
    for (const Affine& a : kAffines) {
      EXPECT_TRUE(grad_ok([&](const Vars& v) { return call(layer_norm, c, a, v); },
                          inputs_for(c, a, seed += 10)))
          << "normalized_shape " << Shape(c.normalized_shape) << ", " << a.name();
    }
  }
}

TEST(LayerNorm, GradcheckComposed) {
  uint64_t seed = 200;
  for (const Case& c : kCases) {
    for (const Affine& a : {kAffines[0], kAffines[1]}) {
      EXPECT_TRUE(grad_ok([&](const Vars& v) { return call(layer_norm_composed, c, a, v); },
                          inputs_for(c, a, seed += 10)))
          << "normalized_shape " << Shape(c.normalized_shape) << ", " << a.name();
    }
  }
}

// A large eps dominates the variance: the gradient through r = 1/√(σ² + eps) changes,
// and gradcheck must still hold.
TEST(LayerNorm, GradcheckWithALargeEps) {
  const Case c = kCases[1];
  EXPECT_TRUE(grad_ok([&](const Vars& v) { return call(layer_norm, c, kAffines[0], v, 0.5); },
                      inputs_for(c, kAffines[0], 300)));
}

// Values and every gradient, fused against composed, under a loss Σ y·gy with a random gy
// (Σ y alone has zero gradient at x: each row's y sums to a constant).
void expect_paths_agree(DType dtype, double tol) {
  uint64_t seed = 400;
  for (const Case& c : kCases) {
    for (const Affine& a : kAffines) {
      const std::vector<Tensor> in = inputs_for(c, a, seed += 10);
      const Tensor gy = input(c.x_shape, seed + 5).to(dtype);
      std::vector<Vars> vars(2);
      std::vector<Variable> ys;
      int path = 0;
      for (LayerNormFn f : {layer_norm, layer_norm_composed}) {
        for (const Tensor& t : in) vars[path].push_back(Variable(t.to(dtype)).requires_grad_());
        ys.push_back(call(f, c, a, vars[path]));
        sum(ys.back() * Variable(gy)).backward();
        ++path;
      }
      const std::string where = "normalized_shape " + Shape(c.normalized_shape).str() + ", " +
                                a.name() + ", " + dtype_name(dtype);
      EXPECT_EQ(ys[0].dtype(), dtype) << where;
      EXPECT_LT(rel_diff(ys[0].data(), ys[1].data()), tol) << where;
      for (size_t i = 0; i < in.size(); ++i)
        EXPECT_LT(rel_diff(vars[0][i].grad(), vars[1][i].grad()), tol) << where << ", input " << i;
    }
  }
}

TEST(LayerNorm, FusedAndComposedAgreeInFloat64) { expect_paths_agree(DType::Float64, kTight); }

// float32: both paths round differently (the fused one sums in 16 lanes); a few ulps of
// values of order 1, and of gradients that pass through three sums.
TEST(LayerNorm, FusedAndComposedAgreeInFloat32) { expect_paths_agree(DType::Float32, 1e-5); }

// Without affine, every row of y has mean 0 and (biased) variance σ²/(σ² + eps).
TEST(LayerNorm, RowsHaveMeanZeroAndUnitVariance) {
  const Tensor x = add(mul(input({6, 32}, 500), 3.0), 7.0);  // mean 7, far from 0
  const Tensor y = layer_norm(Variable(x), {32}, {}, {}, 0.0).data();
  EXPECT_LT(amax(abs(mean(y, {1}))).item(), 1e-14);
  EXPECT_LT(amax(abs(sub(mean(mul(y, y), {1}), 1.0))).item(), 1e-13);
}

// A constant row has σ² = 0: y = 0 (divided by √eps, not by 0), and finite gradients.
TEST(LayerNorm, ConstantRowGivesZerosAndFiniteGradients) {
  const Variable x = Variable(Tensor::ones({2, 8}, DType::Float64)).requires_grad_();
  const Variable y = layer_norm(x, {8});
  EXPECT_EQ(amax(abs(y.data())).item(), 0.0);
  sum(y * Variable(input({2, 8}, 600))).backward();
  EXPECT_TRUE(all_finite(x.grad()));
}

// A transposed (non-contiguous) input gives what its contiguous copy gives.
TEST(LayerNorm, NonContiguousInputMatchesItsCopy) {
  const Tensor base = input({5, 3}, 700);
  const Tensor xt = base.t();  // [3, 5], strides (1, 3)
  ASSERT_FALSE(xt.is_contiguous());
  const Variable w(input({5}, 701)), b(input({5}, 702));
  EXPECT_EQ(max_abs_diff(layer_norm(Variable(xt), {5}, w, b).data(),
                         layer_norm(Variable(xt.contiguous()), {5}, w, b).data()),
            0.0);
}

// Large enough (2^20 elements) for the kernel to split its rows and columns over threads.
TEST(LayerNorm, SameBitsAtOneAndTwoThreads) {
  Generator gen(800);
  const Tensor x = randn({1024, 1024}, 0, 1, DType::Float32, gen);
  const Tensor w = randn({1024}, 1, 0.1, DType::Float32, gen);
  const Tensor b = randn({1024}, 0, 0.1, DType::Float32, gen);
  const Tensor gy = randn({1024, 1024}, 0, 1, DType::Float32, gen);
  const auto run = [&] {
    const Variable vx = Variable(x).requires_grad_(), vw = Variable(w).requires_grad_(),
                   vb = Variable(b).requires_grad_();
    const Variable y = layer_norm(vx, {1024}, vw, vb);
    sum(y * Variable(gy)).backward();
    return std::vector<Tensor>{y.data(), vx.grad(), vw.grad(), vb.grad()};
  };
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<Tensor> one = run();
  omp_set_num_threads(2);
  const std::vector<Tensor> two = run();
  omp_set_num_threads(saved);
#else
  const std::vector<Tensor> one = run(), two = run();
#endif
  for (size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(one[i].numel(), two[i].numel());
    EXPECT_EQ(std::memcmp(one[i].data<float>(), two[i].data<float>(),
                          static_cast<size_t>(one[i].numel()) * sizeof(float)),
              0)
        << "output " << i;
  }
}

// ---- the module ---------------------------------------------------------------------------------

TEST(LayerNormModule, ParametersAreNamedAndInitialisedAsInPyTorch) {
  nn::LayerNorm ln(nn::LayerNormOptions({3, 4}).dtype(DType::Float64));
  EXPECT_EQ(testing::parameter_names(ln), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(ln.weight.shape(), Shape({3, 4}));
  EXPECT_EQ(max_abs_diff(ln.weight.data(), Tensor::ones({3, 4}, DType::Float64)), 0.0);
  EXPECT_EQ(max_abs_diff(ln.bias.data(), Tensor::zeros({3, 4}, DType::Float64)), 0.0);
  EXPECT_EQ(ln.type_name(), "LayerNorm");
  EXPECT_EQ(ln.extra_repr(), "[3, 4], eps=1e-05, elementwise_affine=true");

  nn::LayerNorm plain(nn::LayerNormOptions({8}).elementwise_affine(false).eps(1e-6));
  EXPECT_EQ(plain.num_parameters(), 0);
  EXPECT_FALSE(plain.weight.defined());
  EXPECT_EQ(plain.extra_repr(), "[8], eps=1e-06, elementwise_affine=false");
}

// bias(false) (PyTorch 2.1's LayerNorm(..., bias=False)): a scale and no shift.
TEST(LayerNormModule, WithoutBiasLearnsTheScaleAlone) {
  nn::LayerNorm ln(nn::LayerNormOptions({4}).bias(false).dtype(DType::Float64));
  EXPECT_EQ(testing::parameter_names(ln), (std::vector<std::string>{"weight"}));
  EXPECT_FALSE(ln.bias.defined());
  EXPECT_EQ(ln.extra_repr(), "[4], eps=1e-05, elementwise_affine=true, bias=false");
  ln.weight.mutable_data().copy_(input({4}, 905, 0.5, 1.5));
  const Variable x(input({3, 4}, 906));
  EXPECT_EQ(max_abs_diff(ln(x).data(), layer_norm(x, {4}, ln.weight, {}, 1e-5).data()), 0.0);
}

TEST(LayerNormModule, OptionsHavePyTorchsDefaults) {
  const nn::LayerNormOptions o(std::vector<int64_t>{16});
  EXPECT_EQ(o.normalized_shape(), std::vector<int64_t>{16});
  EXPECT_EQ(o.eps(), 1e-5);
  EXPECT_TRUE(o.elementwise_affine());
  EXPECT_TRUE(o.bias());
  EXPECT_EQ(o.dtype(), DType::Float32);
}

// The module is the function with its own parameters, and its gradients reach them.
TEST(LayerNormModule, ForwardIsTheFunctionAndTrainsItsParameters) {
  nn::LayerNorm ln(nn::LayerNormOptions({4}).eps(1e-3).dtype(DType::Float64));
  ln.weight.mutable_data().copy_(input({4}, 900, 0.5, 1.5));
  ln.bias.mutable_data().copy_(input({4}, 901));
  const Variable x(input({3, 4}, 902));
  EXPECT_EQ(max_abs_diff(ln(x).data(), layer_norm(x, {4}, ln.weight, ln.bias, 1e-3).data()), 0.0);
  EXPECT_TRUE(grad_ok(
      [&](const Vars& v) {
        return nn::LayerNorm(nn::LayerNormOptions({4}).dtype(DType::Float64))(v[0]);
      },
      {input({3, 4}, 903)}));
  sum(ln(x) * Variable(input({3, 4}, 904))).backward();
  EXPECT_TRUE(ln.weight.has_grad() && ln.bias.has_grad());
}

TEST(LayerNormModule, BadShapesThrowNamingThem) {
  nn::LayerNorm ln(nn::LayerNormOptions({3, 4}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        ln(Variable(Tensor::zeros({2, 4, 3})));
      },
      {"LayerNorm", "[2,4,3]", "[3,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { ln(Variable(Tensor::zeros({4}))); },
                                                 {"LayerNorm", "[4]", "[3,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        ln(Variable(Tensor::zeros({3, 4}, DType::Float64)));
      },
      {"LayerNorm", "weight", "float32", "float64"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        layer_norm(Variable(Tensor::zeros({2, 4, 3})), {3, 4});
      },
      {"layer_norm", "[2,4,3]", "[3,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        layer_norm(Variable(Tensor::zeros({3, 4}, DType::Int64)), {4});
      },
      {"layer_norm", "int64"}));
}

}  // namespace
}  // namespace minigrad
