// Parity with PyTorch: modules, losses and optimizers against fixtures that
// tools/make_fixtures.py computed with torch (see its docstring for what each file
// holds and how to regenerate them). Each case runs in float64 and float32.
// The error measure and its bounds (1e-10 in float64, 1e-5 in float32) are
// described in parity_testing.h; every test prints its worst error and records it
// as the gtest property "worst_relative_error".
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
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
using testing::make_optimizer;
using testing::meta;
using testing::meta_double;
using testing::meta_int;
using testing::params_from;
using testing::Parity;
using testing::path_case_name;
using testing::PathParam;
using testing::weighted_sum;

// A setting the older recurrent fixtures do not write (bidirectional, unbatched): 0 there.
int64_t meta_int_or_zero(const SafetensorsFile& f, const std::string& key) {
  return f.metadata.count(key) ? meta_int(f, key) : 0;
}

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
  Variable x = Variable(f.at("input")).requires_grad_();
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
  nn::LSTMCell m(nn::LSTMCellOptions(meta_int(f, "input_size"), meta_int(f, "hidden_size"))
                     .bias(meta_int(f, "bias") != 0)
                     .dtype(dtype));
  m.fused = fused;
  m.load_state_dict(params_from(f, m));
  Variable x = Variable(f.at("input")).requires_grad_(), h0 = Variable(f.at("h0")).requires_grad_(),
           c0 = Variable(f.at("c0")).requires_grad_();
  const nn::LSTMState s = m(x, {h0, c0});
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
                         testing::fixture_path_cases("lstmcell", "lstmcell_nobias",
                                                     "lstmcell_unbatched"),
                         lstm_case_name);

class ParityLSTM : public ::testing::TestWithParam<LstmParam> {};

TEST_P(ParityLSTM, ValuesAndGradients) {
  const auto& [name, variant, fused] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::LSTM m(nn::LSTMOptions(meta_int(f, "input_size"), meta_int(f, "hidden_size"))
                 .num_layers(meta_int(f, "num_layers"))
                 .batch_first(meta_int(f, "batch_first") != 0)
                 .bidirectional(meta_int_or_zero(f, "bidirectional") != 0)
                 .dtype(dtype));
  m.fused = fused;
  m.load_state_dict(params_from(f, m));
  const bool with_state = meta_int(f, "initial_state") != 0;
  Variable x = Variable(f.at("input")).requires_grad_();
  Variable h0, c0;  // undefined: the module starts from zeros
  if (with_state)
    h0 = Variable(f.at("h0")).requires_grad_(), c0 = Variable(f.at("c0")).requires_grad_();
  const auto [output, state] = m(x, {h0, c0});
  const auto [h_n, c_n] = state;
  // loss = Σ output·grad_output + Σ h_n·grad_h_n + Σ c_n·grad_c_n
  (weighted_sum(output, f.at("grad_output")) + weighted_sum(h_n, f.at("grad_h_n")) +
   weighted_sum(c_n, f.at("grad_c_n")))
      .backward();

  Parity p(name + "_" + variant + (fused ? "_fused" : "_composed"), dtype);
  p.check("output", output.data(), f.at("output"));
  p.check("h_n", h_n.data(), f.at("h_n"));
  p.check("c_n", c_n.data(), f.at("c_n"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
  if (with_state) {
    p.check("grad_h0", h0.grad(), f.at("grad_h0"));
    p.check("grad_c0", c0.grad(), f.at("grad_c0"));
  }
  p.check_param_grads(m, f);
  EXPECT_EQ(m.named_parameters().size(),
            static_cast<size_t>(4 * m.options.num_layers() * m.num_directions()));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityLSTM,
                         testing::fixture_path_cases("lstm_l1_seqfirst", "lstm_l1_seqfirst_h0",
                                                     "lstm_l1_batchfirst", "lstm_l1_batchfirst_h0",
                                                     "lstm_l2_seqfirst", "lstm_l2_seqfirst_h0",
                                                     "lstm_l2_batchfirst", "lstm_l2_batchfirst_h0"),
                         lstm_case_name);

// Bidirectional (D = 2: PyTorch's _reverse parameters, output [.., 2H], states
// [L·2, B, H]) and unbatched input ([T, in], states [L·D, H]).
INSTANTIATE_TEST_SUITE_P(
    TorchBidirectional, ParityLSTM,
    testing::fixture_path_cases("lstm_bi_l1_seqfirst", "lstm_bi_l1_seqfirst_h0",
                                "lstm_bi_l1_batchfirst", "lstm_bi_l1_batchfirst_h0",
                                "lstm_bi_l2_seqfirst", "lstm_bi_l2_seqfirst_h0",
                                "lstm_bi_l2_batchfirst", "lstm_bi_l2_batchfirst_h0"),
    lstm_case_name);
INSTANTIATE_TEST_SUITE_P(TorchUnbatched, ParityLSTM,
                         testing::fixture_path_cases("lstm_unbatched_l1", "lstm_unbatched_l1_h0",
                                                     "lstm_unbatched_bi_l2",
                                                     "lstm_unbatched_bi_l2_h0"),
                         lstm_case_name);

// ---- GRUCell and GRU: both cell implementations ---------------------------------------------

// [extending:gru-parity]
class ParityGRUCell : public ::testing::TestWithParam<LstmParam> {};

TEST_P(ParityGRUCell, ValuesAndGradients) {
  const auto& [name, variant, fused] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::GRUCell m(nn::GRUCellOptions(meta_int(f, "input_size"), meta_int(f, "hidden_size"))
                    .bias(meta_int(f, "bias") != 0)
                    .dtype(dtype));
  m.fused = fused;
  m.load_state_dict(params_from(f, m));  // PyTorch's names: weight_ih, weight_hh, ...
  Variable x = Variable(f.at("input")).requires_grad_(), h0 = Variable(f.at("h0")).requires_grad_();
  const Variable h1 = m(x, h0);
  weighted_sum(h1, f.at("grad_h1")).backward();  // loss = Σ h1·grad_h1

  Parity p(name + "_" + variant + (fused ? "_fused" : "_composed"), dtype);
  p.check("h1", h1.data(), f.at("h1"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
  p.check("grad_h0", h0.grad(), f.at("grad_h0"));
  for (const auto& [pname, param] : m.named_parameters())
    p.check("grad_" + pname, param.grad(), f.at("grad_" + pname));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityGRUCell,
                         ::testing::Combine(::testing::Values("gru_cell", "gru_cell_nobias",
                                                              "gru_cell_unbatched"),
                                            kVariants, ::testing::Bool()),
                         lstm_case_name);
// [/extending:gru-parity]

class ParityGRU : public ::testing::TestWithParam<LstmParam> {};

TEST_P(ParityGRU, ValuesAndGradients) {
  const auto& [name, variant, fused] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::GRU m(nn::GRUOptions(meta_int(f, "input_size"), meta_int(f, "hidden_size"))
                .num_layers(meta_int(f, "num_layers"))
                .batch_first(meta_int(f, "batch_first") != 0)
                .bidirectional(meta_int_or_zero(f, "bidirectional") != 0)
                .dtype(dtype));
  m.fused = fused;
  m.load_state_dict(params_from(f, m));
  const bool with_state = meta_int(f, "initial_state") != 0;
  Variable x = Variable(f.at("input")).requires_grad_();
  Variable h0;  // undefined: the module starts from zeros
  if (with_state) h0 = Variable(f.at("h0")).requires_grad_();
  const auto [output, h_n] = m(x, h0);
  // loss = Σ output·grad_output + Σ h_n·grad_h_n
  (weighted_sum(output, f.at("grad_output")) + weighted_sum(h_n, f.at("grad_h_n"))).backward();

  Parity p(name + "_" + variant + (fused ? "_fused" : "_composed"), dtype);
  p.check("output", output.data(), f.at("output"));
  p.check("h_n", h_n.data(), f.at("h_n"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
  if (with_state) p.check("grad_h0", h0.grad(), f.at("grad_h0"));
  p.check_param_grads(m, f);
  EXPECT_EQ(m.named_parameters().size(),
            static_cast<size_t>(4 * m.options.num_layers() * m.num_directions()));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityGRU,
                         testing::fixture_path_cases("gru_l1_seqfirst", "gru_l1_seqfirst_h0",
                                                     "gru_l1_batchfirst", "gru_l1_batchfirst_h0",
                                                     "gru_l2_seqfirst", "gru_l2_seqfirst_h0",
                                                     "gru_l2_batchfirst", "gru_l2_batchfirst_h0"),
                         lstm_case_name);
INSTANTIATE_TEST_SUITE_P(TorchBidirectional, ParityGRU,
                         testing::fixture_path_cases("gru_bi_l1_seqfirst", "gru_bi_l1_seqfirst_h0",
                                                     "gru_bi_l1_batchfirst",
                                                     "gru_bi_l1_batchfirst_h0",
                                                     "gru_bi_l2_seqfirst", "gru_bi_l2_seqfirst_h0",
                                                     "gru_bi_l2_batchfirst",
                                                     "gru_bi_l2_batchfirst_h0"),
                         lstm_case_name);
INSTANTIATE_TEST_SUITE_P(TorchUnbatched, ParityGRU,
                         testing::fixture_path_cases("gru_unbatched_l1", "gru_unbatched_l1_h0",
                                                     "gru_unbatched_bi_l2",
                                                     "gru_unbatched_bi_l2_h0"),
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
  Variable x = Variable(f.at(input)).requires_grad_();
  const Tensor& targets = f.at("targets");
  const Variable loss =
      is_ce ? nn::cross_entropy(
                  x, targets,
                  nn::CrossEntropyOptions().ignore_index(ignore_index).reduction(reduction))
            : nn::nll_loss(x, targets,
                           nn::NLLLossOptions().ignore_index(ignore_index).reduction(reduction));
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
  Variable a = Variable(f.at("a")).requires_grad_(), b = Variable(f.at("b")).requires_grad_();
  const Variable loss = nn::mse_loss(a, b, reduction_of(meta(f, "reduction")));
  loss.backward();

  Parity p(name + "_" + variant, dtype_of_variant(variant));
  p.check("loss", loss.data(), f.at("loss"));
  p.check("grad_a", a.grad(), f.at("grad_a"));
  p.check("grad_b", b.grad(), f.at("grad_b"));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityMseLoss, testing::fixture_cases("mse_mean", "mse_sum"),
                         case_name);

// ---- the loss grids: every option of every loss --------------------------------------------

// A fixture case's settings, "loss=ce;reduction=mean;..." as a map.
std::map<std::string, std::string> parse_settings(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find(';', begin);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(begin, end - begin);
    const size_t eq = item.find('=');
    out[item.substr(0, eq)] = item.substr(eq + 1);
    begin = end + 1;
  }
  return out;
}

// A copy of `want` and `got` with 0 where PyTorch has NaN, after checking that `got`
// has NaN exactly there too (an all-ignored mean is NaN in both).
std::pair<Tensor, Tensor> same_nans(const std::string& what, const Tensor& got,
                                    const Tensor& want) {
  if (!got.defined() || got.shape() != want.shape()) return {got, want};
  std::vector<double> g = got.to(DType::Float64).to_vector<double>();
  std::vector<double> w = want.to(DType::Float64).to_vector<double>();
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_EQ(std::isnan(g[i]), std::isnan(w[i])) << what << " element " << i;
    if (std::isnan(w[i]) && std::isnan(g[i])) g[i] = w[i] = 0;
  }
  return {Tensor::from_vector<double>(g, got.shape()).to(got.dtype()),
          Tensor::from_vector<double>(w, want.shape()).to(want.dtype())};
}

Variable grid_loss(const std::map<std::string, std::string>& s, const SafetensorsFile& f,
                   const std::string& k, const Variable& x, const Variable& y) {
  const std::string& loss = s.at("loss");
  const nn::Reduction reduction = reduction_of(s.at("reduction"));
  auto optional = [&](const char* name) {
    const std::string key = k + "." + name;
    return f.contains(key) ? f.at(key) : Tensor();
  };
  if (loss == "ce") {
    return nn::cross_entropy(x, y.data(),
                             nn::CrossEntropyOptions()
                                 .reduction(reduction)
                                 .ignore_index(std::stoll(s.at("ignore_index")))
                                 .label_smoothing(std::stod(s.at("label_smoothing")))
                                 .weight(optional("weight")));
  }
  if (loss == "nll") {
    return nn::nll_loss(x, y.data(),
                        nn::NLLLossOptions()
                            .reduction(reduction)
                            .ignore_index(std::stoll(s.at("ignore_index")))
                            .weight(optional("weight")));
  }
  if (loss == "bce") {
    return nn::binary_cross_entropy(
        x, y, nn::BCELossOptions().reduction(reduction).weight(optional("weight")));
  }
  if (loss == "bce_logits") {
    return nn::binary_cross_entropy_with_logits(x, y,
                                                nn::BCEWithLogitsLossOptions()
                                                    .reduction(reduction)
                                                    .weight(optional("weight"))
                                                    .pos_weight(optional("pos_weight")));
  }
  if (loss == "mse") return nn::mse_loss(x, y, reduction);
  if (loss == "l1") return nn::l1_loss(x, y, reduction);
  throw std::invalid_argument("unknown loss " + loss);
}

class ParityLossGrid : public ::testing::TestWithParam<CaseParam> {};

// Every case of the file: the loss (its shape too: [] or the target's for none),
// the input's gradient and, where PyTorch gives one, the target's.
TEST_P(ParityLossGrid, ValuesAndGradientsOfEveryCase) {
  const auto& [family, variant] = GetParam();
  const SafetensorsFile f = load_fixture(family + "_grid", variant);
  const int64_t cases = meta_int(f, "cases");
  ASSERT_GT(cases, 0);
  Parity p(family + "_grid_" + variant, dtype_of_variant(variant));
  for (int64_t c = 0; c < cases; ++c) {
    const std::string k = std::to_string(c);
    const std::map<std::string, std::string> s = parse_settings(meta(f, k));
    const bool grad_target = s.count("grad_target") != 0 && s.at("grad_target") == "1";
    const Tensor& target = f.at(k + ".target");
    Variable x = Variable(f.at(k + ".input")).requires_grad_();
    Variable y = Variable(target).requires_grad_(grad_target);
    const Variable loss = grid_loss(s, f, k, x, y);
    if (s.at("reduction") == "none") {
      loss.backward(f.at(k + ".grad_loss"));
    } else {
      loss.backward();
    }
    const std::string what = "case " + k + " (" + meta(f, k) + ") ";
    const auto [got_loss, want_loss] = same_nans(what + "loss", loss.data(), f.at(k + ".loss"));
    p.check(what + "loss", got_loss, want_loss);
    p.check(what + "grad_input", x.grad(), f.at(k + ".grad_input"));
    if (grad_target) p.check(what + "grad_target", y.grad(), f.at(k + ".grad_target"));
  }
  ::testing::Test::RecordProperty("cases", static_cast<int>(cases));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityLossGrid,
                         testing::fixture_cases("ce", "nll", "bce", "bce_logits", "regression"),
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
  Variable x = Variable(f.at("input")).requires_grad_();
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

// ---- LayerNorm, GELU ----------------------------------------------------------------------

// "3,4" → {3, 4}
std::vector<int64_t> int_list(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoll(item));
  return out;
}

// The module (the fused kernel), or layer_norm_composed with the module's parameters.
class ParityLayerNorm : public ::testing::TestWithParam<PathParam> {};

TEST_P(ParityLayerNorm, ValuesAndGradients) {
  const auto& [name, variant, fused] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const nn::LayerNormOptions opts = nn::LayerNormOptions(int_list(meta(f, "normalized_shape")))
                                        .eps(meta_double(f, "eps"))
                                        .elementwise_affine(meta_int(f, "elementwise_affine") != 0)
                                        .dtype(dtype_of_variant(variant));
  nn::LayerNorm m(opts);
  m.load_state_dict(params_from(f, m));
  Variable x = Variable(f.at("input")).requires_grad_();
  const Variable y =
      fused ? m(x) : layer_norm_composed(x, opts.normalized_shape(), m.weight, m.bias, opts.eps());
  y.backward(f.at("grad_output"));

  Parity p(name + "_" + variant + (fused ? "_fused" : "_composed"), dtype_of_variant(variant));
  p.check("output", y.data(), f.at("output"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
  p.check_param_grads(m, f);
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityLayerNorm,
                         testing::fixture_path_cases("layer_norm_last", "layer_norm_2d",
                                                     "layer_norm_3d_noaffine",
                                                     "layer_norm_noaffine_eps", "layer_norm_eps"),
                         path_case_name);

class ParityGELU : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParityGELU, ValuesAndGradients) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  nn::GELU m(nn::GELUOptions().approximate(meta(f, "approximate")));
  Variable x = Variable(f.at("input")).requires_grad_();
  const Variable y = m(x);
  y.backward(f.at("grad_output"));

  Parity p(name + "_" + variant, dtype_of_variant(variant));
  p.check("output", y.data(), f.at("output"));
  p.check("grad_input", x.grad(), f.at("grad_input"));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityGELU, testing::fixture_cases("gelu_none", "gelu_tanh"),
                         case_name);

// ---- optimizers ---------------------------------------------------------------------------

class ParityOptimizer : public ::testing::TestWithParam<CaseParam> {};

// Linear regression, loss = mean((X·w + b - y)²); each step checks the loss and the
// gradients first (so a mismatch in the update is not blamed on autograd), then
// the parameters after the update. Errors compound over the steps, as in training.
// tol: Parity's bound (0: its default).
void expect_optimizer_steps_match(const std::string& name, const std::string& variant,
                                  double tol = 0) {
  const SafetensorsFile f = load_fixture(name, variant);
  const Variable X(f.at("X")), y(f.at("y"));
  Variable w = Variable(f.at("w0").clone()).requires_grad_(),
           b = Variable(f.at("b0").clone()).requires_grad_();
  std::unique_ptr<nn::Optimizer> opt = make_optimizer(f, {w, b});

  Parity p(name + "_" + variant, dtype_of_variant(variant), tol);
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

TEST_P(ParityOptimizer, FiveStepsOnLinearRegression) {
  const auto& [name, variant] = GetParam();
  expect_optimizer_steps_match(name, variant);
}

// nanoGPT's parameter groups on AdamW: w decays by 0.1 at the default lr, b by 0 at its
// own lr. Each group steps with its own options, as torch.optim's param_groups: within
// 1e-12 in float64 and 1e-6 in float32 of PyTorch over the five steps.
TEST(ParityOptimizerGroups, AdamWTwoGroupsOwnLrAndWeightDecay) {
  expect_optimizer_steps_match("adamw_groups", "f64", 1e-12);
  expect_optimizer_steps_match("adamw_groups", "f32", 1e-6);
  // The fixture's groups differ where it matters: a mix-up of the groups would fail.
  const SafetensorsFile f = load_fixture("adamw_groups", "f64");
  EXPECT_NE(meta_double(f, "group0_lr"), meta_double(f, "group1_lr"));
  EXPECT_NE(meta_double(f, "group0_weight_decay"), meta_double(f, "group1_weight_decay"));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityOptimizer,
                         testing::fixture_cases("sgd", "sgd_momentum", "sgd_dampening_wd",
                                                "sgd_nesterov_wd", "adam", "adam_wd", "adamw",
                                                "adam_amsgrad", "adamw_amsgrad"),
                         case_name);

}  // namespace
}  // namespace minigrad
