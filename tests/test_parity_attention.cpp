// Parity with PyTorch for attention: scaled dot-product attention (fused and
// composed) against the formula differentiated by torch's autograd, and
// MultiheadAttention against torch.nn.MultiheadAttention with its state_dict loaded
// by name (in_proj_weight, in_proj_bias, out_proj.*). Fixtures come from
// tools/make_fixtures.py (see its docstring); each case runs in float64 and float32,
// with the error measure and bounds of parity_testing.h.
//
// Bool masks in the fixtures are TRUE = BLOCKED: minigrad's one convention, and also
// what torch.nn.MultiheadAttention's bool key_padding_mask and attn_mask mean; float
// masks are added to the scores, as torch's are.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
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
  Variable q = Variable(f.at("q")).requires_grad_(), k = Variable(f.at("k")).requires_grad_(),
           v = Variable(f.at("v")).requires_grad_();
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

// ---- MultiheadAttention vs torch.nn.MultiheadAttention ----------------------------------------

// torch's state_dict loads into ours by name, strictly: the same parameter names and
// shapes. Then the output, the weights (per head and averaged) and every gradient
// must agree, for each case of make_fixtures.py (masks bool and float, both attn_mask
// shapes, key padding, kdim/vdim, sequence-first, no bias, unbatched, self-attention).
class ParityMultihead : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParityMultihead, ValuesWeightsAndGradients) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::MultiheadAttention m(
      nn::MultiheadAttentionOptions(meta_int(f, "embed_dim"), meta_int(f, "num_heads"))
          .bias(meta_int(f, "bias") != 0)
          .kdim(meta_int(f, "kdim"))
          .vdim(meta_int(f, "vdim"))
          .batch_first(meta_int(f, "batch_first") != 0)
          .dtype(dtype));
  // Every tensor of the file that is not an input, mask, output or gradient is a
  // parameter under torch's name: strict loading refuses a missing or extra one.
  std::map<std::string, Tensor> state;
  for (const auto& [tname, t] : f.tensors) {
    static const std::set<std::string> not_params = {
        "query",  "key",     "value",           "key_padding_mask", "attn_mask",
        "output", "weights", "average_weights", "grad_output",      "grad_weights"};
    if (not_params.count(tname) == 0 && tname.rfind("grad_", 0) != 0) state[tname] = t;
  }
  m.load_state_dict(state, /*strict=*/true);
  EXPECT_EQ(state.size(), m.named_parameters().size());

  const bool self_attention = meta_int(f, "self_attention") != 0;
  Variable query = Variable(f.at("query")).requires_grad_();
  Variable key = self_attention ? query : Variable(f.at("key")).requires_grad_();
  Variable value = self_attention ? query : Variable(f.at("value")).requires_grad_();
  auto opts = nn::MultiheadAttentionForwardOptions().average_attn_weights(false);
  if (meta_int(f, "key_padding_mask") != 0) opts.key_padding_mask(f.at("key_padding_mask"));
  if (meta_int(f, "attn_mask") != 0) opts.attn_mask(f.at("attn_mask"));
  auto [output, weights] = m(query, key, value, opts);
  const Variable average = m(query, key, value, opts.average_attn_weights(true)).weights;
  // loss = Σ output·grad_output + Σ weights·grad_weights (per-head weights)
  (weighted_sum(output, f.at("grad_output")) + weighted_sum(weights, f.at("grad_weights")))
      .backward();

  Parity p(name + "_" + variant, dtype);
  p.check("output", output.data(), f.at("output"));
  p.check("weights", weights.data(), f.at("weights"));
  p.check("average_weights", average.data(), f.at("average_weights"));
  p.check("grad_query", query.grad(), f.at("grad_query"));
  if (!self_attention) {
    p.check("grad_key", key.grad(), f.at("grad_key"));
    p.check("grad_value", value.grad(), f.at("grad_value"));
  }
  // The key's third of grad_in_proj_bias is zero in exact arithmetic and rounding
  // noise on both sides; the norm-wise error over the whole vector measures it
  // against the size of the query's and value's thirds.
  p.check_param_grads(m, f);
}

INSTANTIATE_TEST_SUITE_P(Torch, ParityMultihead,
                         testing::fixture_cases("mha", "mha_key_padding", "mha_causal", "mha_both",
                                                "mha_float_mask", "mha_float_mask3d",
                                                "mha_bool_mask3d_key_padding",
                                                "mha_float_key_padding",
                                                "mha_float_mask_bool_key_padding",
                                                "mha_seq_first_kdim_vdim", "mha_seq_first_nobias",
                                                "mha_unbatched", "mha_unbatched_kdim", "mha_self"),
                         case_name);

// ---- AdditiveAttention ------------------------------------------------------------------------

// Against the formula vᵀ tanh(W_q q + W_k k_j) differentiated by torch, with the
// same three weights (torch has no module for it; see make_fixtures.py).
class ParityAdditive : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParityAdditive, ValuesAndGradients) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  nn::AdditiveAttention m(
      nn::AdditiveAttentionOptions(meta_int(f, "query_dim"), meta_int(f, "key_dim"))
          .attn_dim(meta_int(f, "attn_dim"))
          .dtype(dtype));
  m.load_state_dict(params_from(f, m));  // w_q.weight, w_k.weight, v.weight
  const bool values_are_keys = meta_int(f, "values_are_keys") != 0;
  Variable query = Variable(f.at("query")).requires_grad_(),
           keys = Variable(f.at("keys")).requires_grad_();
  Variable values = values_are_keys ? Variable() : Variable(f.at("values")).requires_grad_();
  const Tensor key_mask = meta_int(f, "masked") != 0 ? f.at("key_mask") : Tensor();
  const nn::AttentionOutput out = m(query, keys, values, key_mask);
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
