// Parity with PyTorch for attention: scaled dot-product attention (fused and
// composed) against the formula differentiated by torch's autograd, and
// MultiHeadAttention against torch.nn.MultiheadAttention with the same weights
// (its packed in_proj_weight split into q_proj, k_proj, v_proj). Fixtures come from
// tools/make_fixtures.py (see its docstring); each case runs in float64 and float32,
// with the error measure and bounds of parity_testing.h.
//
// Masks in the fixtures are bool, TRUE = BLOCKED: minigrad's one convention, and
// also what torch.nn.MultiheadAttention's bool key_padding_mask and attn_mask mean.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>

#include "minigrad/nn/attention.h"
#include "parity_testing.h"

namespace minigrad {
namespace {

using testing::case_name;
using testing::CaseParam;
using testing::dtype_of_variant;
using testing::load_fixture;
using testing::meta_double;
using testing::meta_int;
using testing::params_from;
using testing::Parity;
using testing::path_case_name;
using testing::PathParam;
using testing::weighted_sum;

// ---- scaled_dot_product_attention -------------------------------------------------------------

class ParitySdpa : public ::testing::TestWithParam<PathParam> {};

TEST_P(ParitySdpa, ValuesAndGradients) {
  const auto& [name, variant, fused] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  Variable q(f.at("q"), true), k(f.at("k"), true), v(f.at("v"), true);
  const Tensor mask = meta_int(f, "masked") != 0 ? f.at("mask") : Tensor();
  ASSERT_TRUE(!mask.defined() || mask.dtype() == DType::Bool);
  // The scale the fixture used, passed explicitly (torch computed it in double).
  const double scale = meta_double(f, "scale");
  const nn::AttentionOutput out =
      fused ? nn::scaled_dot_product_attention(q, k, v, mask, scale)
            : nn::scaled_dot_product_attention_composed(q, k, v, mask, scale);
  // loss = Σ context·grad_context + Σ weights·grad_weights
  (weighted_sum(out.context, f.at("grad_context")) +
   weighted_sum(out.weights, f.at("grad_weights")))
      .backward();

  Parity p(name + "_" + variant + (fused ? "_fused" : "_composed"), dtype_of_variant(variant));
  p.check("context", out.context.data(), f.at("context"));
  p.check("weights", out.weights.data(), f.at("weights"));
  p.check("grad_q", q.grad(), f.at("grad_q"));
  p.check("grad_k", k.grad(), f.at("grad_k"));
  p.check("grad_v", v.grad(), f.at("grad_v"));
}

INSTANTIATE_TEST_SUITE_P(Torch, ParitySdpa,
                         testing::fixture_path_cases("sdpa", "sdpa_mask", "sdpa_causal_heads",
                                                     "sdpa_padding_scale1", "sdpa_broadcast"),
                         path_case_name);

// The default scale is 1/√d, as the fixture's (written as repr of torch's float).
TEST(ParitySdpaScale, DefaultIsOneOverSqrtD) {
  const SafetensorsFile f = load_fixture("sdpa", "f64");
  const Variable q(f.at("q")), k(f.at("k")), v(f.at("v"));
  EXPECT_EQ(meta_double(f, "scale"), 0.5);  // d = 4
  const nn::AttentionOutput out = nn::scaled_dot_product_attention(q, k, v);
  Parity p("sdpa_f64_default_scale", DType::Float64);
  p.check("context", out.context.data(), f.at("context"));
  p.check("weights", out.weights.data(), f.at("weights"));
}

// ---- MultiHeadAttention vs torch.nn.MultiheadAttention ----------------------------------------

class ParityMultiHead : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParityMultiHead, ValuesWeightsAndGradients) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::MultiHeadAttention m(meta_int(f, "embed_dim"), meta_int(f, "num_heads"),
                           meta_int(f, "bias") != 0, meta_int(f, "batch_first") != 0, dtype);
  m.load_state_dict(params_from(f, m));
  Variable query(f.at("query"), true), key(f.at("key"), true), value(f.at("value"), true);
  const Tensor key_padding_mask =
      meta_int(f, "key_padding_mask") != 0 ? f.at("key_padding_mask") : Tensor();
  const Tensor attn_mask = meta_int(f, "attn_mask") != 0 ? f.at("attn_mask") : Tensor();
  const nn::MultiHeadOutput out = m.forward(query, key, value, key_padding_mask, attn_mask);
  // loss = Σ output·grad_output + Σ weights·grad_weights (per-head weights)
  (weighted_sum(out.output, f.at("grad_output")) + weighted_sum(out.weights, f.at("grad_weights")))
      .backward();

  Parity p(name + "_" + variant, dtype);
  p.check("output", out.output.data(), f.at("output"));
  p.check("weights", out.weights.data(), f.at("weights"));
  p.check("average_weights", out.average_weights.data(), f.at("average_weights"));
  p.check("grad_query", query.grad(), f.at("grad_query"));
  p.check("grad_key", key.grad(), f.at("grad_key"));
  p.check("grad_value", value.grad(), f.at("grad_value"));
  for (const auto& [pname, param] : m.named_parameters()) {
    if (pname == "k_proj.bias") continue;
    p.check("grad_" + pname, param.grad(), f.at("grad_" + pname));
  }
  // ∂loss/∂b_k is zero in exact arithmetic: b_k adds q·b_k to every score of a
  // query's row alike, and softmax ignores a constant shift. Both sides hold only
  // rounding noise there (~1e-17), so it is measured against the size of its
  // neighbour ∂loss/∂W_k instead of its own.
  const double k_scale = amax(abs(f.at("grad_k_proj.weight").to(DType::Float64))).item();
  p.check("grad_k_proj.bias", m.k_proj->bias.grad(), f.at("grad_k_proj.bias"), k_scale);
  EXPECT_EQ(m.named_parameters().size(), 8u);
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityMultiHead,
                         testing::fixture_cases("mha", "mha_key_padding", "mha_causal", "mha_both"),
                         case_name);

// ---- AdditiveAttention ------------------------------------------------------------------------

// Against the formula vᵀ tanh(W_q q + W_k k_j) differentiated by torch, with the
// same three weights (torch has no module for it; see make_fixtures.py).
class ParityAdditive : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParityAdditive, ValuesAndGradients) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::AdditiveAttention m(meta_int(f, "query_dim"), meta_int(f, "key_dim"), meta_int(f, "attn_dim"),
                          dtype);
  m.load_state_dict(params_from(f, m));  // w_q.weight, w_k.weight, v.weight
  const bool values_are_keys = meta_int(f, "values_are_keys") != 0;
  Variable query(f.at("query"), true), keys(f.at("keys"), true);
  Variable values = values_are_keys ? Variable() : Variable(f.at("values"), true);
  const Tensor key_mask = meta_int(f, "masked") != 0 ? f.at("key_mask") : Tensor();
  const nn::AttentionOutput out = m.forward(query, keys, values, key_mask);
  // loss = Σ context·grad_context + Σ weights·grad_weights
  (weighted_sum(out.context, f.at("grad_context")) +
   weighted_sum(out.weights, f.at("grad_weights")))
      .backward();

  Parity p(name + "_" + variant, dtype);
  p.check("context", out.context.data(), f.at("context"));
  p.check("weights", out.weights.data(), f.at("weights"));
  p.check("grad_query", query.grad(), f.at("grad_query"));
  p.check("grad_keys", keys.grad(), f.at("grad_keys"));
  if (!values_are_keys) p.check("grad_values", values.grad(), f.at("grad_values"));
  p.check_param_grads(m, f);
  EXPECT_EQ(m.named_parameters().size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityAdditive,
                         testing::fixture_cases("additive", "additive_mask", "additive_step_mask"),
                         case_name);

}  // namespace
}  // namespace minigrad
