// Parity with PyTorch for the Transformer (nn/transformer.h): TransformerEncoderLayer,
// TransformerDecoderLayer and the whole Transformer (2 + 2 layers, final LayerNorms)
// against torch.nn's, post-norm and pre-norm, relu and gelu, batch first, sequence
// first and unbatched, with every kind of mask. Fixtures come from
// tools/make_transformer_fixtures.py (see its docstring), computed by torch in train()
// mode with dropout 0; each case runs in float64 and float32 with the error measure
// and bounds of parity_testing.h.
//
// Loading goes by name and strictly: every tensor of the file that is not an input,
// a mask, the output or a gradient is a parameter under torch's state-dict name, and
// load_state_dict(strict) refuses a missing or an extra one. The file also lists
// torch's state_dict keys with their shapes, and minigrad's named_parameters() must be
// exactly that list: what torch's load_state_dict(strict=True) needs to take a
// minigrad checkpoint.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "minigrad/nn/transformer.h"
#include "parity_testing.h"

namespace minigrad {
namespace {

using testing::case_name;
using testing::CaseParam;
using testing::dtype_of_variant;
using testing::load_fixture;
using testing::meta;
using testing::meta_double;
using testing::meta_int;
using testing::Parity;
using testing::weighted_sum;

const std::set<std::string> kMaskNames = {"src_mask",
                                          "tgt_mask",
                                          "memory_mask",
                                          "src_key_padding_mask",
                                          "tgt_key_padding_mask",
                                          "memory_key_padding_mask"};
const std::set<std::string> kInputNames = {"src", "tgt", "memory"};

nn::TransformerLayerOptions layer_options(const SafetensorsFile& f, DType dtype) {
  return nn::TransformerLayerOptions(meta_int(f, "d_model"), meta_int(f, "nhead"))
      .dim_feedforward(meta_int(f, "dim_feedforward"))
      .dropout(0.0)
      .activation(meta(f, "activation") == "gelu" ? nn::kGELU : nn::kReLU)
      .layer_norm_eps(meta_double(f, "layer_norm_eps"))
      .batch_first(meta_int(f, "batch_first") != 0)
      .norm_first(meta_int(f, "norm_first") != 0)
      .dtype(dtype);
}

// The mask of that name if the fixture has one, else undefined.
Tensor mask(const SafetensorsFile& f, const std::string& name) {
  return f.contains(name) ? f.at(name) : Tensor();
}

// torch's state_dict keys and shapes, as the fixture lists them ("name=8,8;name=24;...").
std::map<std::string, Shape> torch_state_dict(const SafetensorsFile& f) {
  std::map<std::string, Shape> keys;
  std::istringstream entries(meta(f, "state_dict"));
  for (std::string entry; std::getline(entries, entry, ';');) {
    const size_t eq = entry.find('=');
    Shape shape;
    std::istringstream dims(entry.substr(eq + 1));
    for (std::string d; std::getline(dims, d, ',');) shape.push_back(std::stoll(d));
    keys[entry.substr(0, eq)] = shape;
  }
  return keys;
}

class ParityTransformer : public ::testing::TestWithParam<CaseParam> {};

TEST_P(ParityTransformer, ValuesAndGradients) {
  const auto& [name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(name, variant);
  const DType dtype = dtype_of_variant(variant);
  const std::string kind = meta(f, "kind");
  const nn::TransformerLayerOptions opts = layer_options(f, dtype);

  // The inputs the fixture has, as leaves: src (and tgt), or tgt and memory.
  std::map<std::string, Variable> in;
  for (const std::string& input : kInputNames) {
    if (f.contains(input)) in[input] = Variable(f.at(input)).requires_grad_();
  }
  std::shared_ptr<nn::Module> module;
  std::function<Variable()> run;
  std::set<std::string> takes = kMaskNames;  // the masks the module is given
  if (kind == "encoder_layer") {
    takes = {"src_mask", "src_key_padding_mask"};
    auto layer = std::make_shared<nn::TransformerEncoderLayer>(opts);
    run = [&, layer] {
      return (*layer)(in.at("src"), nn::TransformerEncoderForwardOptions()
                                        .src_mask(mask(f, "src_mask"))
                                        .src_key_padding_mask(mask(f, "src_key_padding_mask")));
    };
    module = layer;
  } else if (kind == "decoder_layer") {
    takes = {"tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask"};
    auto layer = std::make_shared<nn::TransformerDecoderLayer>(opts);
    run = [&, layer] {
      return (*layer)(in.at("tgt"), in.at("memory"),
                      nn::TransformerDecoderForwardOptions()
                          .tgt_mask(mask(f, "tgt_mask"))
                          .memory_mask(mask(f, "memory_mask"))
                          .tgt_key_padding_mask(mask(f, "tgt_key_padding_mask"))
                          .memory_key_padding_mask(mask(f, "memory_key_padding_mask")));
    };
    module = layer;
  } else {
    ASSERT_EQ(kind, "transformer");
    auto model =
        std::make_shared<nn::Transformer>(nn::TransformerOptions(opts.d_model(), opts.nhead())
                                              .num_encoder_layers(meta_int(f, "num_encoder_layers"))
                                              .num_decoder_layers(meta_int(f, "num_decoder_layers"))
                                              .dim_feedforward(opts.dim_feedforward())
                                              .dropout(0.0)
                                              .activation(opts.activation())
                                              .layer_norm_eps(opts.layer_norm_eps())
                                              .batch_first(opts.batch_first())
                                              .norm_first(opts.norm_first())
                                              .dtype(dtype));
    run = [&, model] {
      return (*model)(in.at("src"), in.at("tgt"),
                      nn::TransformerForwardOptions()
                          .src_mask(mask(f, "src_mask"))
                          .tgt_mask(mask(f, "tgt_mask"))
                          .memory_mask(mask(f, "memory_mask"))
                          .src_key_padding_mask(mask(f, "src_key_padding_mask"))
                          .tgt_key_padding_mask(mask(f, "tgt_key_padding_mask"))
                          .memory_key_padding_mask(mask(f, "memory_key_padding_mask")));
    };
    module = model;
  }

  // named_parameters() is torch's state_dict: the same keys, the same shapes.
  const std::map<std::string, Shape> torch_keys = torch_state_dict(f);
  std::map<std::string, Shape> ours;
  for (const auto& [pname, p] : module->named_parameters()) ours[pname] = p.shape();
  EXPECT_EQ(ours, torch_keys);

  // Strict loading by name of everything in the file that is a parameter.
  std::map<std::string, Tensor> state;
  for (const auto& [tname, t] : f.tensors) {
    const bool data = kInputNames.count(tname) != 0 || kMaskNames.count(tname) != 0 ||
                      tname == "output" || tname.rfind("grad_", 0) == 0;
    if (!data) state[tname] = t;
  }
  EXPECT_EQ(state.size(), torch_keys.size());
  module->load_state_dict(state, /*strict=*/true);

  // Every mask the fixture has is one the module is given.
  std::istringstream listed(meta(f, "masks"));
  for (std::string m; std::getline(listed, m, ',');) EXPECT_EQ(takes.count(m), 1u) << m;

  const Variable output = run();
  weighted_sum(output, f.at("grad_output")).backward();  // loss = Σ output·grad_output

  Parity p(name + "_" + variant, dtype);
  p.check("output", output.data(), f.at("output"));
  for (const auto& [iname, x] : in) p.check("grad_" + iname, x.grad(), f.at("grad_" + iname));
  // The key's third of each in_proj_bias gradient is zero in exact arithmetic and
  // rounding noise on both sides; the norm-wise error over the whole vector measures
  // it against the query's and value's thirds (as in test_parity_attention.cpp).
  p.check_param_grads(*module, f);
}

INSTANTIATE_TEST_SUITE_P(
    Torch, ParityTransformer,
    testing::fixture_cases("encoder_layer_post_relu", "encoder_layer_pre_gelu_seq_first",
                           "encoder_layer_float_padding", "decoder_layer_post_relu",
                           "decoder_layer_pre_gelu_seq_first", "transformer_post_relu_seq_first",
                           "transformer_pre_gelu_batch_first",
                           "transformer_unbatched_float_padding"),
    case_name);

}  // namespace
}  // namespace minigrad
