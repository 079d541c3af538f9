// PyTorch's answers at the edges of the tensor kernels, replayed: relu/maximum/minimum
// with NaN, pow and its gradients at zero, reductions over nothing and of 0-d tensors,
// expand -1, squeeze and negative indices, int64/bool arithmetic under PyTorch's type
// promotion, and mixed-precision gradients. The fixtures are
// tests/fixtures/semantics_*.safetensors, written by tools/make_semantics_fixtures.py
// (torch 1.13); where torch refuses an input, the file's metadata holds its message
// and minigrad must refuse the same input.
//
// The comparison is exact in kind: NaN where torch has NaN, the same infinity, the
// same signed zero, the same dtype and shape; finite values agree to a few ulps
// (exactly for int64 and bool).
#include <gtest/gtest.h>

#include <cmath>
#include <iomanip>
#include <limits>
#include <string>
#include <vector>

#include "minigrad/autograd/functions.h"
#include "minigrad/tensor/safetensors.h"
#include "testing.h"

namespace minigrad {
namespace {

SafetensorsFile fixture(const std::string& name) {
  return read_safetensors(std::string(MINIGRAD_FIXTURE_DIR) + "/" + name + ".safetensors");
}

const std::string& torch_error(const SafetensorsFile& f, const std::string& key) {
  static const std::string none = "(no such error in the fixture)";
  const auto it = f.metadata.find("error." + key);
  return it == f.metadata.end() ? none : it->second;
}

// got must be what torch computed: same dtype and shape; NaN, ±inf and ±0 exactly;
// other values within `ulps` units in the last place of the dtype.
::testing::AssertionResult like_torch(const Tensor& got, const Tensor& want, double ulps = 4) {
  if (!got.defined()) return ::testing::AssertionFailure() << "undefined";
  if (got.dtype() != want.dtype() || got.shape() != want.shape()) {
    return ::testing::AssertionFailure() << "got " << dtype_name(got.dtype()) << got.shape()
                                         << ", torch " << dtype_name(want.dtype()) << want.shape();
  }
  const double eps = got.dtype() == DType::Float32   ? std::numeric_limits<float>::epsilon()
                     : got.dtype() == DType::Float64 ? std::numeric_limits<double>::epsilon()
                                                     : 0.0;
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) {
    bool same;
    if (std::isnan(w[i])) {
      same = std::isnan(g[i]);
    } else if (std::isinf(w[i]) || w[i] == 0) {
      same = g[i] == w[i] && std::signbit(g[i]) == std::signbit(w[i]);
    } else {
      same = std::abs(g[i] - w[i]) <= ulps * eps * std::abs(w[i]);
    }
    if (!same) {
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << std::setprecision(17) << g[i] << ", torch " << w[i];
    }
  }
  return ::testing::AssertionSuccess();
}

// Runs f on leaf copies of the inputs, backward with `upstream`; returns y and the grads.
struct Replay {
  Tensor y;
  std::vector<Tensor> grads;
};
template <class F>
Replay run(F f, const std::vector<Tensor>& inputs, const Tensor& upstream) {
  std::vector<Variable> xs;
  for (const Tensor& t : inputs) xs.push_back(Variable(t.clone()).requires_grad_());
  const Variable y = f(xs);
  y.backward(upstream);
  Replay r{y.data(), {}};
  for (const Variable& x : xs) r.grads.push_back(x.grad());
  return r;
}

class SemanticsByDtype : public ::testing::TestWithParam<std::string> {};

TEST_P(SemanticsByDtype, ReluMaximumMinimumWithNaN) {
  const SafetensorsFile f = fixture("semantics_nan_" + GetParam());
  const Tensor x = f.at("x"), g = f.at("g");
  EXPECT_TRUE(like_torch(relu(x), f.at("relu")));
  const Replay r = run([](const std::vector<Variable>& v) { return relu(v[0]); }, {x}, g);
  EXPECT_TRUE(like_torch(r.y, f.at("relu")));
  EXPECT_TRUE(like_torch(r.grads[0], f.at("grad_relu")));
  const Tensor a = f.at("a"), b = f.at("b"), g2 = f.at("g2");
  for (const char* op : {"maximum", "minimum"}) {
    const bool is_max = std::string(op) == "maximum";
    const Replay m = run(
        [is_max](const std::vector<Variable>& v) {
          return is_max ? maximum(v[0], v[1]) : minimum(v[0], v[1]);
        },
        {a, b}, g2);
    EXPECT_TRUE(like_torch(is_max ? maximum(a, b) : minimum(a, b), f.at(op))) << op;
    EXPECT_TRUE(like_torch(m.y, f.at(op))) << op;
    EXPECT_TRUE(like_torch(m.grads[0], f.at(std::string("grad_") + op + "_a"))) << op;
    EXPECT_TRUE(like_torch(m.grads[1], f.at(std::string("grad_") + op + "_b"))) << op;
  }
}

TEST_P(SemanticsByDtype, PowAndItsGradientsAtZero) {
  const SafetensorsFile f = fixture("semantics_pow_" + GetParam());
  const Tensor base = f.at("base"), exponent = f.at("exponent");
  const Tensor ones = Tensor::ones(base.shape(), base.dtype());
  const Replay r =
      run([](const std::vector<Variable>& v) { return pow(v[0], v[1]); }, {base, exponent}, ones);
  EXPECT_TRUE(like_torch(pow(base, exponent), f.at("pow")));
  EXPECT_TRUE(like_torch(r.grads[0], f.at("grad_base")));
  EXPECT_TRUE(like_torch(r.grads[1], f.at("grad_exponent")));
  // x^e with e a number: PyTorch's special forms (√, 1/√, 1/x, x·x, x·x·x, 1/x²) decide ±0 and ±inf
  const Tensor xs = f.at("base_scalar");
  const std::vector<double> exps = f.at("exponents").to_vector<double>();
  const Tensor ones_s = Tensor::ones(xs.shape(), xs.dtype());
  for (size_t i = 0; i < exps.size(); ++i) {
    const double e = exps[i];
    const std::string k = std::to_string(i);
    EXPECT_TRUE(like_torch(pow(xs, e), f.at("pow_scalar_" + k))) << "x^" << e;
    const Replay s =
        run([e](const std::vector<Variable>& v) { return pow(v[0], e); }, {xs}, ones_s);
    EXPECT_TRUE(like_torch(s.grads[0], f.at("grad_pow_scalar_" + k))) << "d/dx x^" << e;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SemanticsByDtype, ::testing::Values("f64", "f32"));

TEST(Semantics, EmptyAndZeroDimReductions) {
  const SafetensorsFile f = fixture("semantics_reduce");
  const Tensor e = f.at("empty"), z = f.at("z");
  EXPECT_TRUE(like_torch(sum(e), f.at("sum_all")));
  EXPECT_TRUE(like_torch(mean(e), f.at("mean_all")));  // NaN
  EXPECT_TRUE(like_torch(sum(e, {0}), f.at("sum_0")));
  EXPECT_TRUE(like_torch(mean(e, {0}), f.at("mean_0")));
  EXPECT_TRUE(like_torch(sum(e, {1}), f.at("sum_1")));
  EXPECT_TRUE(like_torch(mean(e, {1}), f.at("mean_1")));
  EXPECT_TRUE(like_torch(amax(e, 1), f.at("amax_1")));
  EXPECT_TRUE(like_torch(argmax(e, 1), f.at("argmax_1")));
  EXPECT_TRUE(like_torch(sum(z, {0}), f.at("z_sum_0")));
  EXPECT_TRUE(like_torch(sum(z, {-1}), f.at("z_sum_m1")));
  EXPECT_TRUE(like_torch(mean(z, {0}), f.at("z_mean_0")));
  EXPECT_TRUE(like_torch(amax(z, 0), f.at("z_amax_0")));
  EXPECT_TRUE(like_torch(argmax(z, 0), f.at("z_argmax_0")));
  EXPECT_TRUE(like_torch(softmax(z, 0), f.at("z_softmax_0")));
  EXPECT_TRUE(like_torch(log_softmax(z, -1), f.at("z_log_softmax_m1")));
  // torch refuses these; so does minigrad, in torch's words where they fit
  const std::string amax_msg = torch_error(f, "amax_empty_axis");
  EXPECT_NE(amax_msg.find("amax(): Expected reduction dim 0 to have non-zero size"),
            std::string::npos);
  EXPECT_TRUE(testing::throws_with<std::invalid_argument>(
      [&] { amax(e, 0); }, {"amax(): Expected reduction dim 0 to have non-zero size"}));
  EXPECT_NE(torch_error(f, "argmax_empty_axis").find("argmax(): Expected reduction dim 0"),
            std::string::npos);
  EXPECT_TRUE(testing::throws_with<std::invalid_argument>(
      [&] { argmax(e, 0); }, {"argmax(): Expected reduction dim 0 to have non-zero size"}));
  EXPECT_NE(torch_error(f, "amax_no_elements").find("input.numel() == 0"), std::string::npos);
  EXPECT_TRUE(testing::throws_with<std::invalid_argument>([&] { amax(e); },
                                                          {"amax()", "input.numel() == 0"}));
  EXPECT_NE(torch_error(f, "z_sum_1").find("Dimension out of range"), std::string::npos);
  EXPECT_TRUE(
      testing::throws_with<std::out_of_range>([&] { sum(z, {1}); }, {"sum", "axis 1", "0-d"}));
  EXPECT_NE(torch_error(f, "mean_int64").find("mean(): could not infer output dtype"),
            std::string::npos);
  EXPECT_TRUE(testing::throws_with<std::invalid_argument>(
      [&] {
        mean(Tensor::from_vector<int64_t>({1, 2}, {2}));
      },
      {"mean", "int64"}));
}

TEST(Semantics, ViewsAtTheEdges) {
  const SafetensorsFile f = fixture("semantics_shape");
  const Tensor z = f.at("z"), r = f.at("r");
  EXPECT_TRUE(
      like_torch(Tensor::zeros({1, 3}).expand({2, -1, -1}).contiguous(), f.at("expand_m1")));
  EXPECT_TRUE(like_torch(Tensor::zeros({2, 3}).squeeze(0), f.at("squeeze_0")));
  EXPECT_TRUE(like_torch(z.unsqueeze(0), f.at("z_unsqueeze_0")));
  EXPECT_TRUE(like_torch(z.unsqueeze(-1), f.at("z_unsqueeze_m1")));
  EXPECT_TRUE(like_torch(z.squeeze(0), f.at("z_squeeze_0")));
  EXPECT_TRUE(like_torch(z.reshape({-1}), f.at("z_reshape_m1")));
  EXPECT_TRUE(like_torch(z.transpose(0, -1), f.at("z_transpose")));
  EXPECT_TRUE(like_torch(z.expand({3}).contiguous(), f.at("z_expand_3")));
  EXPECT_TRUE(like_torch(r.narrow(0, -2, 2), f.at("narrow_neg")));
  EXPECT_TRUE(like_torch(r.select(0, -1), f.at("select_neg")));
  EXPECT_NE(torch_error(f, "z_select").find("select() cannot be applied to a 0-dim tensor"),
            std::string::npos);
  EXPECT_TRUE(testing::throws_with<std::out_of_range>(
      [&] { z.select(0, 0); }, {"select() cannot be applied to a 0-dim tensor"}));
  EXPECT_NE(torch_error(f, "z_narrow").find("narrow() cannot be applied to a 0-dim tensor"),
            std::string::npos);
  EXPECT_TRUE(testing::throws_with<std::invalid_argument>(
      [&] { z.narrow(0, 0, 1); }, {"narrow() cannot be applied to a 0-dim tensor"}));
  EXPECT_NE(torch_error(f, "expand_m1_new_axis").find("-1"), std::string::npos);
  EXPECT_TRUE(testing::throws_with<std::invalid_argument>(
      [&] {
        Tensor::zeros({3}).expand({-1, 3});
      },
      {"expand", "-1", "leading"}));
  EXPECT_NE(torch_error(f, "z_size_0").find("no dimensions"), std::string::npos);
  EXPECT_TRUE(testing::throws_with<std::out_of_range>([&] { z.size(0); }, {"size", "rank 0"}));
}

TEST(Semantics, IntegerAndBoolTensorsPromoteAsPyTorch) {
  const SafetensorsFile f = fixture("semantics_dtype");
  const Tensor i = f.at("i"), j = f.at("j"), b = f.at("b"), c = f.at("c"), x = f.at("f"),
               d = f.at("d");
  const Tensor zd = f.at("zd"), zi = f.at("zi"), m = f.at("m"), idx = f.at("idx"),
               gidx = f.at("gidx");
  auto want = [&](const std::string& k) { return f.at("r." + k); };
  const std::vector<std::pair<std::string, Tensor>> cases{
      {"i_add_j", i + j},
      {"i_sub_j", i - j},
      {"i_mul_j", i * j},
      {"i_div_j", i / j},
      {"i_add_f", i + x},
      {"f_add_d", x + d},
      {"b_add_i", b + i},
      {"b_add_c", b + c},
      {"b_mul_c", b * c},
      {"b_div_c", b / c},
      {"i_mul_b", i * b},
      {"i_add_2", i + 2},
      {"i_add_2.5", i + 2.5},
      {"i_mul_2.0", i * 2.0},
      {"i_div_2", i / 2},
      {"b_add_2", b + 2},
      {"b_mul_2.5", b * 2.5},
      {"2_sub_i", 2 - i},
      {"6_div_i", 6 / i},
      {"f_add_zd", x + zd},
      {"i_add_zd", i + zd},
      {"f_add_zi", x + zi},
      {"i_add_zi", i + zi},
      {"i_pow_2", pow(i, 2)},
      {"i_pow_j", pow(i, j)},
      {"i_pow_0.5", pow(abs(i), 0.5)},
      {"i_max_j", maximum(i, j)},
      {"i_max_f", maximum(i, x)},
      {"i_eq_f", eq(i, x)},
      {"i_lt_j", lt(i, j)},
      {"i_lt_2.5", lt(i, 2.5)},
      {"b_gt_c", gt(b, c)},
      {"i_ge_b", ge(i, b)},
      {"f_le_d", le(x, d)},
      {"where_i_f", where(b, i, x)},
      {"where_i_j", where(b, i, j)},
      {"where_f_d", where(b, x, d)},
      {"where_i_c", where(b, i, c)},
      {"i_sum", sum(i)},
      {"b_sum", sum(b)},
      {"m_sum_1", sum(m, {1})},
      {"i_neg", -i},
      {"i_abs", abs(i)},
      {"i_relu", relu(i)},
      {"i_exp", exp(i)},
      {"i_sqrt", sqrt(abs(i))},
      {"m_argmax_1", argmax(m, 1)},
      {"m_argmax_0", argmax(m, 0)},
      {"m_amax_1", amax(m, 1)},
      {"m_index_select_1", index_select(m, 1, idx)},
      {"b_index_select", index_select(b, 0, idx)},
      {"m_gather_1", gather(m, 1, gidx)},
      {"m_select_m1", m.select(1, -1)},
      {"m_slice", m.slice(1, 1, 3)},
      {"one_hot", one_hot(idx)},
      {"one_hot_5", one_hot(idx, 5)},
  };
  for (const auto& [k, got] : cases) EXPECT_TRUE(like_torch(got, want(k))) << k;
  // what torch refuses, refused here naming the op and the dtypes
  EXPECT_NE(torch_error(f, "b_sub_c").find("Subtraction"), std::string::npos);
  EXPECT_TRUE(
      testing::throws_with<std::invalid_argument>([&] { sub(b, c); }, {"sub", "bool and bool"}));
  EXPECT_NE(torch_error(f, "neg_b").find("Negation"), std::string::npos);
  EXPECT_TRUE(testing::throws_with<std::invalid_argument>([&] { neg(b); }, {"neg", "bool"}));
  EXPECT_NE(torch_error(f, "i_pow_neg").find("negative integer powers"), std::string::npos);
  EXPECT_TRUE(testing::throws_with<std::invalid_argument>(
      [&] { pow(i, -1); }, {"pow", "int64", "negative integer powers"}));
  EXPECT_NE(torch_error(f, "argmax_b").find("Bool"), std::string::npos);
  EXPECT_TRUE(
      testing::throws_with<std::invalid_argument>([&] { argmax(b, 0); }, {"argmax", "bool"}));
}

TEST(Semantics, MixedPrecisionGradients) {
  const SafetensorsFile f = fixture("semantics_mixed_grad");
  const Tensor a = f.at("a"), b = f.at("b");
  const Tensor ones = Tensor::ones({3}, DType::Float64);
  const Replay m =
      run([](const std::vector<Variable>& v) { return mul(v[0], v[1]); }, {a, b}, ones);
  EXPECT_TRUE(like_torch(m.y, f.at("mul")));
  EXPECT_TRUE(like_torch(m.grads[0], f.at("grad_mul_a")));  // float32, as a
  EXPECT_TRUE(like_torch(m.grads[1], f.at("grad_mul_b")));  // float64, as b
  const Replay s =
      run([](const std::vector<Variable>& v) { return add(v[0], v[1]); }, {a, b}, ones);
  EXPECT_TRUE(like_torch(s.y, f.at("add")));
  EXPECT_TRUE(like_torch(s.grads[0], f.at("grad_add_a")));
  EXPECT_TRUE(like_torch(s.grads[1], f.at("grad_add_b")));
}

}  // namespace
}  // namespace minigrad
