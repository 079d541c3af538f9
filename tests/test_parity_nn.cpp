// Parity with PyTorch: modules, losses and optimizers against fixtures that
// tools/make_fixtures.py computed with torch (see its docstring for what each file
// holds and how to regenerate them). Each case runs in float64 and float32.
// The error measure and its bounds (1e-10 in float64, 1e-5 in float32) are
// described in parity_testing.h; every test prints its worst error and records it
// as the gtest property "worst_relative_error".
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "minigrad/nn/gru.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/lstm.h"
#include "minigrad/nn/optim.h"
#include "parity_testing.h"

namespace minigrad {
namespace {

using testing::case_name;
using testing::CaseParam;
using testing::dtype_of_variant;
using testing::kVariants;
using testing::load_fixture;
using testing::meta;
using testing::meta_double;
using testing::meta_int;
using testing::params_from;
using testing::Parity;
using testing::weighted_sum;

nn::Reduction reduction_of(const std::string& name) {
  if (name == "mean") return nn::Reduction::Mean;
  if (name == "sum") return nn::Reduction::Sum;
  if (name == "none") return nn::Reduction::None;
  throw std::invalid_argument("unknown reduction " + name);
}

// ---- Linear -------------------------------------------------------------------------------

class ParityLinear : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParityLinear, ValuesAndGradients) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::Linear m(nn::LinearOptions(meta_int(f, "in_features"), meta_int(f, "out_features"))
                   .bias(meta_int(f, "bias") != 0)
                   .dtype(dtype));
  m.load_state_dict(params_from(f, m));
  Variable x(f.at("input"), true);
  const Variable y = m(x);
  y.backward(f.at("grad_output"));

  Parity p(name + "_" + variant, dtype);
  p.check("output", y.data(), f.at("output"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
  p.check_param_grads(m, f);
  EXPECT_EQ(m.named_parameters().size(), meta_int(f, "bias") != 0 ? 2u : 1u);
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityLinear,
                         testing::fixture_cases("linear_2d", "linear_3d", "linear_nobias"),
                         case_name);

// ---- Embedding ----------------------------------------------------------------------------

class ParityEmbedding : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParityEmbedding, ValuesAndGradientsWithRepeatedIds) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::EmbeddingOptions options(meta_int(f, "num_embeddings"), meta_int(f, "embedding_dim"));
  const bool padded = f.metadata.count("padding_idx") != 0;
  if (padded) options.padding_idx(meta_int(f, "padding_idx"));
  nn::Embedding m(options.dtype(dtype));
  if (padded) {
    // The padding row starts at zero, as torch's does (the fixture's weight has it zero too).
    const int64_t row = *m.options.padding_idx();
    EXPECT_EQ(row, meta_int(f, "num_embeddings") + meta_int(f, "padding_idx"));
    EXPECT_EQ(amax(abs(m.weight.data().narrow(0, row, 1).to(DType::Float64))).item(), 0.0);
  }
  m.load_state_dict(params_from(f, m));
  ASSERT_EQ(f.at("ids").dtype(), DType::Int64);
  const Variable y = m(f.at("ids"));
  y.backward(f.at("grad_output"));

  Parity p(name + "_" + variant, dtype);
  p.check("output", y.data(), f.at("output"));
  // Repeated ids: their rows' gradients must add up; the padding row's stays zero.
  p.check("grad_weight", m.weight.grad(), f.at("grad_weight"));
  if (padded) {
    const Tensor pad_grad = m.weight.grad().narrow(0, *m.options.padding_idx(), 1);
    EXPECT_EQ(amax(abs(pad_grad.to(DType::Float64))).item(), 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityEmbedding,
                         testing::fixture_cases("embedding", "embedding_padding_idx"), case_name);

// ---- LSTMCell and LSTM: both cell implementations -------------------------------------------

// The recurrent cases run on both paths; docs/EXTENDING.md quotes these names.
using LstmParam = testing::PathParam;
constexpr auto lstm_case_name = testing::path_case_name;

class ParityLSTMCell : public ::testing::TestWithParam<LstmParam> {};

TEST_P(ParityLSTMCell, ValuesAndGradients) {
  const auto& [name, variant, fused] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::LSTMCell m(meta_int(f, "input_size"), meta_int(f, "hidden_size"), meta_int(f, "bias") != 0,
                 dtype);
  m.fused = fused;
  m.load_state_dict(params_from(f, m));
  Variable x(f.at("input"), true), h0(f.at("h0"), true), c0(f.at("c0"), true);
  const nn::LSTMState s = m.forward(x, {h0, c0});
  // loss = Σ h1·grad_h1 + Σ c1·grad_c1
  (weighted_sum(s.h, f.at("grad_h1")) + weighted_sum(s.c, f.at("grad_c1"))).backward();

  Parity p(name + "_" + variant + (fused ? "_fused" : "_composed"), dtype);
  p.check("h1", s.h.data(), f.at("h1"));
  p.check("c1", s.c.data(), f.at("c1"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
  p.check("grad_h0", h0.grad(), f.at("grad_h0"));
  p.check("grad_c0", c0.grad(), f.at("grad_c0"));
  p.check_param_grads(m, f);
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityLSTMCell,
                         testing::fixture_path_cases("lstmcell", "lstmcell_nobias"),
                         lstm_case_name);

class ParityLSTM : public ::testing::TestWithParam<LstmParam> {};

TEST_P(ParityLSTM, ValuesAndGradients) {
  const auto& [name, variant, fused] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::LSTM m(meta_int(f, "input_size"), meta_int(f, "hidden_size"), meta_int(f, "num_layers"),
             meta_int(f, "batch_first") != 0, /*bias=*/true, dtype);
  m.fused = fused;
  m.load_state_dict(params_from(f, m));
  const bool with_state = meta_int(f, "initial_state") != 0;
  Variable x(f.at("input"), true);
  Variable h0, c0;  // undefined: the module starts from zeros
  if (with_state) h0 = Variable(f.at("h0"), true), c0 = Variable(f.at("c0"), true);
  const nn::LSTMOutput out = m.forward(x, h0, c0);
  // loss = Σ output·grad_output + Σ h_n·grad_h_n + Σ c_n·grad_c_n
  (weighted_sum(out.output, f.at("grad_output")) + weighted_sum(out.h_n, f.at("grad_h_n")) +
   weighted_sum(out.c_n, f.at("grad_c_n")))
      .backward();

  Parity p(name + "_" + variant + (fused ? "_fused" : "_composed"), dtype);
  p.check("output", out.output.data(), f.at("output"));
  p.check("h_n", out.h_n.data(), f.at("h_n"));
  p.check("c_n", out.c_n.data(), f.at("c_n"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
  if (with_state) {
    p.check("grad_h0", h0.grad(), f.at("grad_h0"));
    p.check("grad_c0", c0.grad(), f.at("grad_c0"));
  }
  p.check_param_grads(m, f);
  EXPECT_EQ(m.named_parameters().size(), static_cast<size_t>(4 * m.num_layers));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityLSTM,
                         testing::fixture_path_cases("lstm_l1_seqfirst", "lstm_l1_seqfirst_h0",
                                                     "lstm_l1_batchfirst", "lstm_l1_batchfirst_h0",
                                                     "lstm_l2_seqfirst", "lstm_l2_seqfirst_h0",
                                                     "lstm_l2_batchfirst", "lstm_l2_batchfirst_h0"),
                         lstm_case_name);

// ---- GRUCell and GRU: both cell implementations ---------------------------------------------

// [extending:gru-parity]
class ParityGRUCell : public ::testing::TestWithParam<LstmParam> {};

TEST_P(ParityGRUCell, ValuesAndGradients) {
  const auto& [name, variant, fused] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::GRUCell m(meta_int(f, "input_size"), meta_int(f, "hidden_size"), meta_int(f, "bias") != 0,
                dtype);
  m.fused = fused;
  m.load_state_dict(params_from(f, m));  // PyTorch's names: weight_ih, weight_hh, ...
  Variable x(f.at("input"), true), h0(f.at("h0"), true);
  const Variable h1 = m.forward(x, h0);
  weighted_sum(h1, f.at("grad_h1")).backward();  // loss = Σ h1·grad_h1

  Parity p(name + "_" + variant + (fused ? "_fused" : "_composed"), dtype);
  p.check("h1", h1.data(), f.at("h1"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
  p.check("grad_h0", h0.grad(), f.at("grad_h0"));
  for (const auto& [pname, param] : m.named_parameters())
    p.check("grad_" + pname, param.grad(), f.at("grad_" + pname));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityGRUCell,
                         ::testing::Combine(::testing::Values("gru_cell", "gru_cell_nobias"),
                                            kVariants, ::testing::Bool()),
                         lstm_case_name);
// [/extending:gru-parity]

class ParityGRU : public ::testing::TestWithParam<LstmParam> {};

TEST_P(ParityGRU, ValuesAndGradients) {
  const auto& [name, variant, fused] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::GRU m(meta_int(f, "input_size"), meta_int(f, "hidden_size"), meta_int(f, "num_layers"),
            meta_int(f, "batch_first") != 0, /*bias=*/true, dtype);
  m.fused = fused;
  m.load_state_dict(params_from(f, m));
  const bool with_state = meta_int(f, "initial_state") != 0;
  Variable x(f.at("input"), true);
  Variable h0;  // undefined: the module starts from zeros
  if (with_state) h0 = Variable(f.at("h0"), true);
  const nn::GRUOutput out = m.forward(x, h0);
  // loss = Σ output·grad_output + Σ h_n·grad_h_n
  (weighted_sum(out.output, f.at("grad_output")) + weighted_sum(out.h_n, f.at("grad_h_n")))
      .backward();

  Parity p(name + "_" + variant + (fused ? "_fused" : "_composed"), dtype);
  p.check("output", out.output.data(), f.at("output"));
  p.check("h_n", out.h_n.data(), f.at("h_n"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
  if (with_state) p.check("grad_h0", h0.grad(), f.at("grad_h0"));
  p.check_param_grads(m, f);
  EXPECT_EQ(m.named_parameters().size(), static_cast<size_t>(4 * m.num_layers));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityGRU,
                         testing::fixture_path_cases("gru_l1_seqfirst", "gru_l1_seqfirst_h0",
                                                     "gru_l1_batchfirst", "gru_l1_batchfirst_h0",
                                                     "gru_l2_seqfirst", "gru_l2_seqfirst_h0",
                                                     "gru_l2_batchfirst", "gru_l2_batchfirst_h0"),
                         lstm_case_name);

// ---- losses -------------------------------------------------------------------------------

class ParityClassificationLoss : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParityClassificationLoss, ValuesAndGradients) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const bool is_ce = name.rfind("ce_", 0) == 0;
  const std::string input = is_ce ? "logits" : "log_probs";
  const nn::Reduction reduction = reduction_of(meta(f, "reduction"));
  const int64_t ignore_index = meta_int(f, "ignore_index");
  Variable x(f.at(input), true);
  const Tensor& targets = f.at("targets");
  const Variable loss = is_ce ? nn::cross_entropy(x, targets, ignore_index, reduction)
                              : nn::nll_loss(x, targets, ignore_index, reduction);
  if (reduction == nn::Reduction::None) {
    loss.backward(f.at("grad_loss"));
  } else {
    loss.backward();
  }

  Parity p(name + "_" + variant, dtype_of_variant(variant));
  p.check("loss", loss.data(), f.at("loss"));
  p.check("grad_" + input, x.grad(), f.at("grad_" + input));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityClassificationLoss,
                         testing::fixture_cases("ce_mean", "ce_sum", "ce_none", "ce_ignore_mean",
                                                "ce_ignore_sum", "nll_mean", "nll_ignore_none"),
                         case_name);

class ParityMseLoss : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParityMseLoss, ValuesAndGradients) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  Variable a(f.at("a"), true), b(f.at("b"), true);
  const Variable loss = nn::mse_loss(a, b, reduction_of(meta(f, "reduction")));
  loss.backward();

  Parity p(name + "_" + variant, dtype_of_variant(variant));
  p.check("loss", loss.data(), f.at("loss"));
  p.check("grad_a", a.grad(), f.at("grad_a"));
  p.check("grad_b", b.grad(), f.at("grad_b"));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityMseLoss, testing::fixture_cases("mse_mean", "mse_sum"),
                         case_name);

// ---- softmax / log_softmax ----------------------------------------------------------------

class ParitySoftmax : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParitySoftmax, ValuesAndGradients) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const int64_t dim = meta_int(f, "dim");
  std::shared_ptr<nn::Module> m;
  if (meta_int(f, "log") != 0) {
    m = std::make_shared<nn::LogSoftmax>(dim);
  } else {
    m = std::make_shared<nn::Softmax>(dim);
  }
  Variable x(f.at("input"), true);
  const Variable y = (*m)(x);
  y.backward(f.at("grad_output"));

  Parity p(name + "_" + variant, dtype_of_variant(variant));
  p.check("output", y.data(), f.at("output"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParitySoftmax,
                         testing::fixture_cases("softmax_last", "softmax_dim1", "log_softmax_last",
                                                "log_softmax_dim0"),
                         case_name);

// ---- optimizers ---------------------------------------------------------------------------

std::unique_ptr<nn::Optimizer> make_optimizer(const SafetensorsFile& f,
                                              std::vector<Variable> params) {
  const std::string kind = meta(f, "optimizer");
  if (kind == "sgd") {
    nn::SGDOptions o;
    o.lr = meta_double(f, "lr");
    o.momentum = meta_double(f, "momentum");
    o.dampening = meta_double(f, "dampening");
    o.weight_decay = meta_double(f, "weight_decay");
    o.nesterov = meta_int(f, "nesterov") != 0;
    return std::make_unique<nn::SGD>(std::move(params), o);
  }
  nn::AdamOptions o;
  o.lr = meta_double(f, "lr");
  o.beta1 = meta_double(f, "beta1");
  o.beta2 = meta_double(f, "beta2");
  o.eps = meta_double(f, "eps");
  o.weight_decay = meta_double(f, "weight_decay");
  if (kind == "adam") return std::make_unique<nn::Adam>(std::move(params), o);
  if (kind == "adamw") return std::make_unique<nn::AdamW>(std::move(params), o);
  throw std::invalid_argument("unknown optimizer " + kind);
}

class ParityOptimizer : public ::testing::TestWithParam<CaseParam> {};

// Linear regression, loss = mean((X·w + b - y)²); each step checks the loss and the
// gradients first (so a mismatch in the update is not blamed on autograd), then
// the parameters after the update. Errors compound over the steps, as in training.
TEST_P(ParityOptimizer, FiveStepsOnLinearRegression) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const Variable X(f.at("X")), y(f.at("y"));
  Variable w(f.at("w0").clone(), true), b(f.at("b0").clone(), true);
  std::unique_ptr<nn::Optimizer> opt = make_optimizer(f, {w, b});

  Parity p(name + "_" + variant, dtype_of_variant(variant));
  const int64_t steps = meta_int(f, "steps");
  ASSERT_GE(steps, 1);
  for (int64_t k = 1; k <= steps; ++k) {
    std::string s(1, '_');  // "_k" (appending avoids GCC 12's bogus -Wrestrict on "_" + string)
    s += std::to_string(k);
    opt->zero_grad();
    const Variable loss = mean(pow(matmul(X, w) + b - y, 2.0));
    loss.backward();
    p.check("loss" + s, loss.data(), f.at("loss" + s));
    p.check("grad_w" + s, w.grad(), f.at("grad_w" + s));
    p.check("grad_b" + s, b.grad(), f.at("grad_b" + s));
    opt->step();
    p.check("w" + s, w.data(), f.at("w" + s));
    p.check("b" + s, b.data(), f.at("b" + s));
  }
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityOptimizer,
                         testing::fixture_cases("sgd", "sgd_momentum", "sgd_dampening_wd",
                                                "sgd_nesterov_wd", "adam", "adam_wd", "adamw"),
                         case_name);

}  // namespace
}  // namespace minigrad
