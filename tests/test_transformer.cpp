// The Transformer modules (nn/transformer.cpp): PyTorch's parameter names and init,
// the paper's equations for post-norm and pre-norm layers (recomputed here from the
// functional ops), PyTorch's dropout placement, each mask reaching the attention it
// belongs to, generate_square_subsequent_mask, gradcheck of an encoder layer and a
// decoder layer with their parameters, checkpoints by name, and clear errors for bad
// settings and inputs. PyTorch parity is in test_parity_transformer.cpp.
#include "minigrad/nn/transformer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autograd_testing.h"
#include "minigrad/nn/serialization.h"
#include "minigrad/tensor/safetensors.h"
#include "module_gradcheck.h"

namespace minigrad {
namespace {

using namespace testing;
using EncFwd = nn::TransformerEncoderForwardOptions;
using DecFwd = nn::TransformerDecoderForwardOptions;

// Small float64 layers: d_model 4, 2 heads, feed-forward 6, batch first, no dropout.
nn::TransformerLayerOptions small(bool norm_first = false, nn::Activation act = nn::kReLU) {
  return nn::TransformerLayerOptions(4, 2)
      .dim_feedforward(6)
      .dropout(0.0)
      .activation(act)
      .norm_first(norm_first)
      .batch_first(true)
      .dtype(DType::Float64);
}

nn::TransformerOptions small_model(int64_t encoder_layers, int64_t decoder_layers) {
  return nn::TransformerOptions(4, 2, encoder_layers, decoder_layers)
      .dim_feedforward(6)
      .dropout(0.0)
      .batch_first(true)
      .dtype(DType::Float64);
}

double diff(const Variable& a, const Variable& b) { return max_abs_diff(a.data(), b.data()); }

// ---- names, init, printing -----------------------------------------------------------------

TEST(Transformer, LayersHavePyTorchsParameterNamesInPyTorchsOrder) {
  Generator gen(1);
  nn::TransformerEncoderLayer enc(nn::TransformerEncoderLayerOptions(8, 2).dim_feedforward(16),
                                  gen);
  EXPECT_EQ(parameter_names(enc),
            (std::vector<std::string>{
                "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
                "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"}));
  EXPECT_EQ(enc.linear1->weight.shape(), (Shape{16, 8}));
  EXPECT_EQ(enc.linear2->weight.shape(), (Shape{8, 16}));
  std::vector<std::string> children;
  for (const auto& [name, m] : enc.named_children()) children.push_back(name);
  EXPECT_EQ(children, (std::vector<std::string>{"self_attn", "linear1", "dropout", "linear2",
                                                "norm1", "norm2", "dropout1", "dropout2"}));
  nn::TransformerDecoderLayer dec(nn::TransformerDecoderLayerOptions(8, 2).dim_feedforward(16),
                                  gen);
  EXPECT_EQ(
      parameter_names(dec),
      (std::vector<std::string>{
          "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
          "self_attn.out_proj.bias", "multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias",
          "multihead_attn.out_proj.weight", "multihead_attn.out_proj.bias", "linear1.weight",
          "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias",
          "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias"}));
  // PyTorch's defaults
  const nn::TransformerEncoderLayerOptions d(512, 8);
  EXPECT_EQ(d.dim_feedforward(), 2048);
  EXPECT_EQ(d.dropout(), 0.1);
  EXPECT_EQ(d.activation(), nn::kReLU);
  EXPECT_EQ(d.layer_norm_eps(), 1e-5);
  EXPECT_FALSE(d.batch_first());
  EXPECT_FALSE(d.norm_first());
  const nn::TransformerOptions t;
  EXPECT_EQ(t.d_model(), 512);
  EXPECT_EQ(t.nhead(), 8);
  EXPECT_EQ(t.num_encoder_layers(), 6);
  EXPECT_EQ(t.num_decoder_layers(), 6);
}

TEST(Transformer, StacksNameLayersAndFinalNormsAsPyTorch) {
  Generator gen(2);
  nn::Transformer model(nn::TransformerOptions(8, 2, 2, 1).dim_feedforward(16), gen);
  const std::vector<std::string> names = parameter_names(model);
  // 12 per encoder layer, 18 per decoder layer, weight and bias of each final norm
  EXPECT_EQ(names.size(), 2u * 12 + 2 + 18 + 2);
  EXPECT_EQ(names.front(), "encoder.layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(names[12], "encoder.layers.1.self_attn.in_proj_weight");
  EXPECT_EQ(names[24], "encoder.norm.weight");
  EXPECT_EQ(names[26], "decoder.layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(names.back(), "decoder.norm.bias");
  EXPECT_EQ(model.parameter("decoder.layers.0.multihead_attn.in_proj_weight").shape(),
            (Shape{24, 8}));
  EXPECT_EQ(model.parameter("decoder.layers.0.norm3.bias").shape(), (Shape{8}));
  EXPECT_EQ(model.encoder->layers->size(), 2u);
  EXPECT_EQ(model.decoder->layers->size(), 1u);
  // A stack without a norm has none.
  nn::TransformerEncoder bare(nn::TransformerEncoderOptions(
                                  nn::TransformerEncoderLayerOptions(8, 2).dim_feedforward(16), 1),
                              gen);
  EXPECT_EQ(bare.norm, nullptr);
  EXPECT_EQ(parameter_names(bare).size(), 12u);
  EXPECT_EQ(parameter_names(bare).front(), "layers.0.self_attn.in_proj_weight");
}

TEST(Transformer, InitIsPyTorchs) {
  Generator gen(3);
  const int64_t e = 16, ff = 32;
  nn::TransformerEncoderLayer layer(nn::TransformerEncoderLayerOptions(e, 4).dim_feedforward(ff),
                                    gen);
  // The parts' own init: zero attention biases, Linear's U(−1/√in, 1/√in), LayerNorm 1 and 0.
  EXPECT_EQ(amax(abs(layer.self_attn->in_proj_bias.data())).item(), 0.0);
  EXPECT_LE(amax(abs(layer.linear1->weight.data())).item(), 1.0 / std::sqrt(double(e)));
  EXPECT_LE(amax(abs(layer.linear2->bias.data())).item(), 1.0 / std::sqrt(double(ff)));
  EXPECT_EQ(amin(layer.norm1->weight.data()).item(), 1.0);
  EXPECT_EQ(amax(layer.norm2->weight.data()).item(), 1.0);
  EXPECT_EQ(amax(abs(layer.norm2->bias.data())).item(), 0.0);

  // The Transformer draws every matrix again, xavier_uniform_: U(−a, a), a = √(6/(in+out)).
  nn::Transformer model(nn::TransformerOptions(e, 4, 2, 2).dim_feedforward(ff), gen);
  for (const auto& [name, p] : model.named_parameters()) {
    const double largest = amax(abs(p.data())).item();
    if (p.dim() == 2) {
      const double a = std::sqrt(6.0 / double(p.size(0) + p.size(1)));
      EXPECT_LE(largest, a) << name;
      EXPECT_GT(largest, 0.8 * a) << name;
    } else if (name.find("linear1.bias") != std::string::npos) {
      EXPECT_LE(largest, 1.0 / std::sqrt(double(e))) << name;  // kept: Linear's
    }
  }
  // Each layer is drawn on its own (PyTorch's deep copies start equal; see PYTORCH.md).
  EXPECT_GT(diff(model.parameter("encoder.layers.0.linear1.bias"),
                 model.parameter("encoder.layers.1.linear1.bias")),
            0.0);
  EXPECT_EQ(amin(model.parameter("decoder.norm.weight").data()).item(), 1.0);
}

TEST(Transformer, PrintsSettingsThatHaveNoModuleOfTheirOwn) {
  nn::TransformerDecoderLayer layer(small(true, nn::kGELU));
  EXPECT_EQ(layer.extra_repr(), "activation=gelu, norm_first=true");
  const std::string s = layer.str();
  EXPECT_NE(s.find("TransformerDecoderLayer(\n  activation=gelu, norm_first=true\n"
                   "  (self_attn): MultiheadAttention("),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("(dropout3): Dropout(p=0)"), std::string::npos) << s;
  EXPECT_EQ(nn::TransformerEncoderLayer(small()).extra_repr(), "activation=relu");
  EXPECT_EQ(nn::activation_name(nn::kReLU), "relu");
}

// ---- generate_square_subsequent_mask -------------------------------------------------------

TEST(Transformer, SquareSubsequentMaskIsMinusInfinityAboveTheDiagonal) {
  const Tensor m = nn::Transformer::generate_square_subsequent_mask(4);
  ASSERT_EQ(m.shape(), (Shape{4, 4}));
  EXPECT_EQ(m.dtype(), DType::Float32);  // PyTorch's
  for (int64_t i = 0; i < 4; ++i) {
    for (int64_t j = 0; j < 4; ++j) {
      if (j > i) {
        EXPECT_EQ(m.at({i, j}), -INFINITY) << i << "," << j;
      } else {
        EXPECT_EQ(m.at({i, j}), 0.0) << i << "," << j;
      }
    }
  }
  const Tensor d = nn::Transformer::generate_square_subsequent_mask(3, DType::Float64);
  EXPECT_EQ(d.dtype(), DType::Float64);
  EXPECT_EQ(d.at({0, 2}), -INFINITY);
  EXPECT_EQ(nn::Transformer::generate_square_subsequent_mask(0).shape(), (Shape{0, 0}));
  // As an attention mask it blocks what causal_mask blocks.
  Generator gen(4);
  nn::TransformerDecoderLayer layer(small(), gen);
  const Variable tgt(input({2, 3, 4}, 10)), memory(input({2, 5, 4}, 11));
  const Variable by_float = layer(tgt, memory, DecFwd().tgt_mask(d));
  const Variable by_bool = layer(tgt, memory, DecFwd().tgt_mask(nn::causal_mask(3)));
  EXPECT_EQ(diff(by_float, by_bool), 0.0);
}

// ---- the equations ---------------------------------------------------------------------------

// The layer recomputed from the functional ops, one line per equation of the paper.
Variable self_attention(nn::MultiheadAttention& a, const Variable& x) { return a(x, x, x).output; }
Variable ffn(const Variable& x, nn::Linear& l1, nn::Linear& l2, nn::Activation act) {
  const Variable h = nn::linear(x, l1.weight, l1.bias);
  return nn::linear(act == nn::kGELU ? gelu(h) : relu(h), l2.weight, l2.bias);
}
Variable ln(const Variable& x, nn::LayerNorm& norm) {
  return layer_norm(x, {x.size(-1)}, norm.weight, norm.bias, norm.options.eps());
}

TEST(Transformer, EncoderLayerIsThePapersEquations) {
  Generator gen(5);
  const Variable x(input({2, 3, 4}, 20));
  for (const bool pre : {false, true}) {
    nn::TransformerEncoderLayer layer(small(pre, pre ? nn::kGELU : nn::kReLU), gen);
    const nn::Activation act = layer.options.activation();
    Variable want;
    if (pre) {
      const Variable h = x + self_attention(*layer.self_attn, ln(x, *layer.norm1));
      want = h + ffn(ln(h, *layer.norm2), *layer.linear1, *layer.linear2, act);
    } else {
      const Variable h = ln(x + self_attention(*layer.self_attn, x), *layer.norm1);
      want = ln(h + ffn(h, *layer.linear1, *layer.linear2, act), *layer.norm2);
    }
    EXPECT_LT(diff(layer(x), want), 1e-14) << (pre ? "pre-norm" : "post-norm");
    EXPECT_LT(diff(layer.ff_block(x), ffn(x, *layer.linear1, *layer.linear2, act)), 1e-14);
  }
}

TEST(Transformer, DecoderLayerIsThePapersEquations) {
  Generator gen(6);
  const Variable x(input({2, 3, 4}, 21)), m(input({2, 5, 4}, 22));
  for (const bool pre : {false, true}) {
    nn::TransformerDecoderLayer layer(small(pre), gen);
    auto cross = [&](const Variable& q) { return (*layer.multihead_attn)(q, m, m).output; };
    auto ff = [&](const Variable& h) {
      return ffn(h, *layer.linear1, *layer.linear2, layer.options.activation());
    };
    Variable want;
    if (pre) {
      Variable h = x + self_attention(*layer.self_attn, ln(x, *layer.norm1));
      h = h + cross(ln(h, *layer.norm2));
      want = h + ff(ln(h, *layer.norm3));
    } else {
      Variable h = ln(x + self_attention(*layer.self_attn, x), *layer.norm1);
      h = ln(h + cross(h), *layer.norm2);
      want = ln(h + ff(h), *layer.norm3);
    }
    EXPECT_LT(diff(layer(x, m), want), 1e-14) << (pre ? "pre-norm" : "post-norm");
  }
}

TEST(Transformer, IsEncoderThenDecoderWithFinalNorms) {
  Generator gen(7);
  nn::Transformer model(small_model(2, 2), gen);
  const Variable src(input({2, 5, 4}, 23)), tgt(input({2, 3, 4}, 24));
  Variable memory = src;
  for (const auto& layer : *model.encoder->layers) memory = (*layer)(memory);
  memory = (*model.encoder->norm)(memory);
  Variable want = tgt;
  for (size_t i = 0; i < model.decoder->layers->size(); ++i)
    want = model.decoder->layers->at<nn::TransformerDecoderLayer>(int64_t(i))(want, memory);
  want = (*model.decoder->norm)(want);
  EXPECT_EQ(diff(model(src, tgt), want), 0.0);
  // An encoder layer takes one Variable, so it fits in a Sequential.
  nn::Sequential seq(model.encoder->layers->ptr<nn::TransformerEncoderLayer>(0),
                     model.encoder->layers->ptr<nn::TransformerEncoderLayer>(1));
  EXPECT_EQ(diff((*model.encoder->norm)(seq(src)), (*model.encoder)(src)), 0.0);
}

// With keep_attention_weights, a layer keeps every head's weights of its last forward:
// those of its MultiheadAttention called on the sublayer's input, per head, and the
// layer's output is the same bits as without. Off (the default), it keeps none.
TEST(Transformer, LayersKeepEveryHeadsAttentionWeightsWhenAsked) {
  Generator gen(9);
  const Variable x(input({2, 3, 4}, 25)), m(input({2, 5, 4}, 26));
  const Tensor causal = nn::Transformer::generate_square_subsequent_mask(3, DType::Float64);
  const auto per_head = nn::MultiheadAttentionForwardOptions().average_attn_weights(false);
  const auto masked =
      nn::MultiheadAttentionForwardOptions().average_attn_weights(false).attn_mask(causal);
  for (const bool pre : {false, true}) {
    nn::TransformerEncoderLayer enc(small(pre), gen);
    const Variable plain = enc(x);
    EXPECT_FALSE(enc.self_attn_weights.defined());
    enc.keep_attention_weights = true;
    EXPECT_EQ(diff(enc(x), plain), 0.0);
    const Variable q = pre ? ln(x, *enc.norm1) : x;
    EXPECT_EQ(enc.self_attn_weights.shape(), (Shape{2, 2, 3, 3}));
    EXPECT_EQ(
        max_abs_diff(enc.self_attn_weights, (*enc.self_attn)(q, q, q, per_head).weights.data()),
        0.0);

    nn::TransformerDecoderLayer dec(small(pre), gen);
    const Variable plain_dec = dec(x, m, DecFwd().tgt_mask(causal));
    EXPECT_FALSE(dec.self_attn_weights.defined());
    EXPECT_FALSE(dec.multihead_attn_weights.defined());
    dec.keep_attention_weights = true;
    EXPECT_EQ(diff(dec(x, m, DecFwd().tgt_mask(causal)), plain_dec), 0.0);
    const Variable y = pre ? ln(x, *dec.norm1) : x;
    const Tensor self = dec.self_attn_weights;
    EXPECT_EQ(max_abs_diff(self, (*dec.self_attn)(y, y, y, masked).weights.data()), 0.0);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = i + 1; j < 3; ++j)
        EXPECT_EQ(self.at({1, 1, i, j}), 0.0) << "query " << i << " sees the future key " << j;
    // the cross-attention's query: the target after the self-attention sublayer
    const Variable h = pre ? x + dec.sa_block(ln(x, *dec.norm1), causal, {})
                           : ln(x + dec.sa_block(x, causal, {}), *dec.norm1);
    const Variable c = pre ? ln(h, *dec.norm2) : h;
    EXPECT_EQ(dec.multihead_attn_weights.shape(), (Shape{2, 2, 3, 5}));
    EXPECT_LT(max_abs_diff(dec.multihead_attn_weights,
                           (*dec.multihead_attn)(c, m, m, per_head).weights.data()),
              1e-15);
  }
}

// ---- dropout -------------------------------------------------------------------------------

// Whether y is z with dropout applied: every element 0 or z/(1 − p), some of each.
bool is_dropped(const Variable& y, const Variable& z, double p) {
  const std::vector<double> a = y.data().to_vector<double>(), b = z.data().to_vector<double>();
  int zeros = 0, kept = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == 0.0) {
      ++zeros;
    } else if (std::abs(a[i] - b[i] / (1 - p)) <= 1e-12 * std::abs(b[i])) {
      ++kept;
    } else {
      return false;
    }
  }
  return zeros > 0 && kept > 0;
}

TEST(Transformer, DropoutIsWherePyTorchPutsIt) {
  Generator gen(8);
  nn::TransformerDecoderLayer layer(small().dropout(0.25), gen);
  for (const auto& d : {layer.dropout, layer.dropout1, layer.dropout2, layer.dropout3})
    EXPECT_EQ(d->options.p(), 0.25);
  EXPECT_EQ(layer.self_attn->options.dropout(), 0.25);
  EXPECT_EQ(layer.multihead_attn->options.dropout(), 0.25);

  // Evaluation: every dropout is the identity, so the layer is the p = 0 layer.
  Generator other(9);
  nn::TransformerDecoderLayer plain(small(), other);
  plain.load_state_dict(layer.state_dict());
  const Variable x(input({2, 3, 4}, 30)), memory(input({2, 5, 4}, 31));
  layer.eval();
  EXPECT_EQ(diff(layer(x, memory), plain(x, memory)), 0.0);
  layer.train();
  EXPECT_GT(diff(layer(x, memory), plain(x, memory)), 1e-3);

  // Each block's own dropout is on its output: with only that one on, the block's
  // output is the undropped one, dropped. The feed-forward block's inner dropout acts
  // before linear2, so its output is not of that form.
  layer.self_attn->options.dropout(0.0);
  layer.multihead_attn->options.dropout(0.0);
  auto only = [&](const std::shared_ptr<nn::Dropout>& on) {
    for (const auto& d : {layer.dropout, layer.dropout1, layer.dropout2, layer.dropout3})
      d->options.p(d == on ? 0.5 : 0.0);
  };
  only(layer.dropout1);
  EXPECT_TRUE(is_dropped(layer.sa_block(x, {}, {}), plain.sa_block(x, {}, {}), 0.5));
  only(layer.dropout2);
  EXPECT_TRUE(
      is_dropped(layer.mha_block(x, memory, {}, {}), plain.mha_block(x, memory, {}, {}), 0.5));
  only(layer.dropout3);
  EXPECT_TRUE(is_dropped(layer.ff_block(x), plain.ff_block(x), 0.5));
  only(layer.dropout);
  const Variable inner = layer.ff_block(x);
  EXPECT_FALSE(is_dropped(inner, plain.ff_block(x), 0.5));
  EXPECT_GT(diff(inner, plain.ff_block(x)), 1e-3);
}

TEST(Transformer, SameSeedSameBitsWithDropout) {
  auto run = [] {
    Generator gen(11);
    nn::Transformer model(small_model(1, 1).dropout(0.2), gen);
    const Tensor causal = nn::Transformer::generate_square_subsequent_mask(3, DType::Float64);
    return model(Variable(input({2, 5, 4}, 40)), Variable(input({2, 3, 4}, 41)),
                 nn::TransformerForwardOptions().tgt_mask(causal))
        .data();
  };
  const Tensor a = run(), b = run();
  EXPECT_EQ(max_abs_diff(a, b), 0.0);
}

// ---- masks reach the attention they belong to ----------------------------------------------

// x with position `pos` of batch element `b` ([B, T, E]) changed.
Variable changed_at(const Variable& x, int64_t b, int64_t pos) {
  Tensor t = x.data().clone();
  t.select(0, b).select(0, pos).add_(Tensor::scalar(3.0, DType::Float64));
  return Variable(t);
}

TEST(Transformer, KeyPaddingAndCausalMasksHideWhatTheyBlock) {
  Generator gen(12);
  const Variable src(input({2, 5, 4}, 50)), tgt(input({2, 3, 4}, 51));
  const Tensor src_pad = nn::padding_mask({5, 3}, 5);  // element 1: positions 3, 4 are padding
  // Encoder layer: the other positions of element 1 do not see its padding.
  nn::TransformerEncoderLayer enc(small(), gen);
  const Variable y = enc(src, EncFwd().src_key_padding_mask(src_pad));
  const Variable y2 = enc(changed_at(src, 1, 4), EncFwd().src_key_padding_mask(src_pad));
  EXPECT_EQ(diff(y.narrow(1, 0, 4), y2.narrow(1, 0, 4)), 0.0);
  EXPECT_GT(diff(enc(src).narrow(1, 0, 4), enc(changed_at(src, 1, 4)).narrow(1, 0, 4)), 1e-3);

  // Transformer: padded source positions reach nothing once memory_key_padding_mask
  // hides them from the cross-attention too.
  nn::Transformer model(small_model(2, 2), gen);
  const auto pad = nn::TransformerForwardOptions().src_key_padding_mask(src_pad);
  const Variable out = model(src, tgt, pad);
  EXPECT_GT(diff(out, model(changed_at(src, 1, 3), tgt, pad)), 1e-3);
  nn::TransformerForwardOptions both = pad;
  both.memory_key_padding_mask(src_pad);
  EXPECT_EQ(diff(model(src, tgt, both), model(changed_at(src, 1, 3), tgt, both)), 0.0);

  // Decoder: with a causal tgt_mask, the last target position changes nothing before it.
  const auto causal = nn::TransformerForwardOptions().tgt_mask(nn::causal_mask(3));
  const Variable a = model(src, tgt, causal), b = model(src, changed_at(tgt, 0, 2), causal);
  EXPECT_EQ(diff(a.narrow(1, 0, 2), b.narrow(1, 0, 2)), 0.0);
  EXPECT_GT(diff(a.narrow(1, 2, 1), b.narrow(1, 2, 1)), 1e-3);
  // tgt_key_padding_mask hides target keys from every later query too.
  const auto tgt_pad =
      nn::TransformerForwardOptions().tgt_key_padding_mask(nn::padding_mask({3, 2}, 3));
  const Variable c = model(src, tgt, tgt_pad), d = model(src, changed_at(tgt, 1, 2), tgt_pad);
  EXPECT_EQ(diff(c.narrow(1, 0, 2), d.narrow(1, 0, 2)), 0.0);

  // memory_mask: a memory position blocked for every target position is never read.
  nn::TransformerDecoderLayer dec(small(), gen);
  Tensor blocked = Tensor::zeros({3, 5}, DType::Bool);
  blocked.narrow(1, 2, 1).fill_(1.0);
  const auto mm = DecFwd().memory_mask(blocked);
  EXPECT_EQ(diff(dec(tgt, src, mm), dec(tgt, changed_at(src, 0, 2), mm)), 0.0);
  EXPECT_GT(diff(dec(tgt, src), dec(tgt, changed_at(src, 0, 2))), 1e-3);
}

// ---- gradcheck --------------------------------------------------------------------------------

TEST(Transformer, GradcheckEncoderLayer) {
  Generator gen(13);
  for (const bool pre : {false, true}) {
    nn::TransformerEncoderLayer l(small(pre, pre ? nn::kGELU : nn::kReLU), gen);
    const auto slots = joined(*l.self_attn, *l.linear1, *l.linear2, *l.norm1, *l.norm2);
    const auto opts = pre ? EncFwd().src_mask(input({3, 3}, 60))  // a float mask
                          : EncFwd()
                                .src_mask(nn::causal_mask(3))
                                .src_key_padding_mask(nn::padding_mask({3, 2}, 3));
    EXPECT_TRUE(module_grad_ok(l, slots, {input({2, 3, 4}, 61)}, [&](const Vars& v) {
      return l(v[0], opts);
    })) << (pre ? "pre-norm, gelu, float src_mask" : "post-norm, relu, causal and padding");
  }
}

TEST(Transformer, GradcheckDecoderLayer) {
  Generator gen(14);
  for (const bool pre : {false, true}) {
    nn::TransformerDecoderLayer l(small(pre, pre ? nn::kReLU : nn::kGELU), gen);
    const auto slots = joined(*l.self_attn, *l.multihead_attn, *l.linear1, *l.linear2, *l.norm1,
                              *l.norm2, *l.norm3);
    const auto opts =
        DecFwd()
            .tgt_mask(nn::Transformer::generate_square_subsequent_mask(2, DType::Float64))
            .memory_key_padding_mask(nn::padding_mask({3, 2}, 3))
            .memory_mask(pre ? input({2, 3}, 70) : Tensor());
    EXPECT_TRUE(module_grad_ok(l, slots, {input({2, 2, 4}, 71), input({2, 3, 4}, 72)},
                               [&](const Vars& v) { return l(v[0], v[1], opts); }))
        << (pre ? "pre-norm, relu, float memory_mask" : "post-norm, gelu");
  }
}

TEST(Transformer, GradcheckWholeModelInputs) {
  Generator gen(15);
  nn::Transformer model(small_model(1, 1).norm_first(true), gen);
  const auto opts = nn::TransformerForwardOptions()
                        .tgt_mask(nn::causal_mask(2))
                        .src_key_padding_mask(nn::padding_mask({3, 2}, 3))
                        .memory_key_padding_mask(nn::padding_mask({3, 2}, 3));
  EXPECT_TRUE(grad_ok([&](const Vars& v) { return model(v[0], v[1], opts); },
                      {input({2, 3, 4}, 80), input({2, 2, 4}, 81)}));
}

// ---- checkpoints -------------------------------------------------------------------------------

class TransformerCheckpoint : public TestWithDir {};

TEST_F(TransformerCheckpoint, SavesAndLoadsByPyTorchsNames) {
  Generator gen(16), other(17);
  nn::Transformer model(nn::TransformerOptions(8, 2, 2, 1).dim_feedforward(16), gen);
  nn::Transformer copy(nn::TransformerOptions(8, 2, 2, 1).dim_feedforward(16), other);
  const std::string file = path("transformer.safetensors");
  nn::save(model, file);
  const SafetensorsFile f = read_safetensors(file);
  std::vector<std::string> in_file;
  for (const auto& [name, t] : f.tensors) in_file.push_back(name);
  std::vector<std::string> names = parameter_names(model);
  std::sort(in_file.begin(), in_file.end());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(in_file, names);
  // An independent reader sees the same names and shapes.
  EXPECT_EQ(run_safetensors_checker(file + " --count " + std::to_string(names.size()) +
                                    " --shape encoder.layers.1.linear1.weight=16,8" +
                                    " --shape decoder.norm.bias=8"),
            0);
  const Variable src(randn({5, 2, 8}, 0, 1, DType::Float32, gen));
  const Variable tgt(randn({4, 2, 8}, 0, 1, DType::Float32, gen));
  model.eval();
  copy.eval();
  EXPECT_GT(diff(model(src, tgt), copy(src, tgt)), 1e-3);
  nn::load(copy, file);
  EXPECT_EQ(diff(model(src, tgt), copy(src, tgt)), 0.0);
}

// ---- bad settings and inputs --------------------------------------------------------------------

TEST(TransformerBadInput, Settings) {
  using E = std::invalid_argument;
  EXPECT_TRUE(throws_with<E>([] { nn::TransformerEncoderLayer(10, 3); },
                             {"TransformerEncoderLayer", "d_model 10", "nhead 3"}));
  EXPECT_TRUE(throws_with<E>([] { nn::TransformerDecoderLayer(8, 0); },
                             {"TransformerDecoderLayer", "nhead 0"}));
  EXPECT_TRUE(throws_with<E>([] { nn::Transformer(nn::TransformerOptions(10, 4)); },
                             {"Transformer", "d_model 10", "nhead 4"}));
  EXPECT_TRUE(throws_with<E>(
      [] {
        nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(8, 2).dim_feedforward(0));
      },
      {"TransformerEncoderLayer", "dim_feedforward", "0"}));
  EXPECT_TRUE(throws_with<E>(
      [] { nn::TransformerDecoderLayer(nn::TransformerDecoderLayerOptions(8, 2).dropout(1.0)); },
      {"TransformerDecoderLayer", "dropout", "1.0"}));
  EXPECT_TRUE(
      throws_with<E>([] { nn::Transformer(nn::TransformerOptions(8, 2, 0, 1).dim_feedforward(4)); },
                     {"Transformer", "num_encoder_layers 0"}));
  EXPECT_TRUE(throws_with<E>(
      [] {
        nn::TransformerEncoder(
            nn::TransformerEncoderOptions(nn::TransformerEncoderLayerOptions(8, 2), 0));
      },
      {"TransformerEncoder", "num_layers", "0"}));
  EXPECT_TRUE(throws_with<E>([] { nn::Transformer::generate_square_subsequent_mask(-1); },
                             {"generate_square_subsequent_mask", "sz -1"}));
  EXPECT_TRUE(
      throws_with<E>([] { nn::Transformer::generate_square_subsequent_mask(3, DType::Int64); },
                     {"generate_square_subsequent_mask", "int64"}));
}

TEST(TransformerBadInput, ShapesAndMasks) {
  using E = std::invalid_argument;
  Generator gen(18);
  nn::TransformerEncoderLayer enc(small(), gen);
  nn::TransformerDecoderLayer dec(small(), gen);
  nn::Transformer model(small_model(1, 1), gen);
  const Variable src(input({2, 5, 4}, 90)), tgt(input({2, 3, 4}, 91));
  // widths, ranks, dtypes
  EXPECT_TRUE(throws_with<E>(
      [&] {
        enc(Variable(input({2, 5, 3}, 92)));
      },
      {"TransformerEncoderLayer", "src [2,5,3]", "[B, S, E=4]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        enc(Variable(input({1, 2, 5, 4}, 93)));
      },
      {"TransformerEncoderLayer", "src [1,2,5,4]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        enc(Variable(input({2, 5, 4}, 94).to(DType::Float32)));
      },
      {"TransformerEncoderLayer", "src is float32", "float64"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        dec(tgt, Variable(input({2, 5, 6}, 95)));
      },
      {"TransformerDecoderLayer", "memory [2,5,6]", "[B, S, E=4]"}));
  // batch sizes that differ
  EXPECT_TRUE(throws_with<E>(
      [&] {
        dec(tgt, Variable(input({3, 5, 4}, 96)));
      },
      {"TransformerDecoderLayer", "tgt [2,3,4]", "memory [3,5,4]", "batch"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        dec(tgt, Variable(input({5, 4}, 97)));
      },
      {"TransformerDecoderLayer", "memory [5,4]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        model(src, Variable(input({3, 3, 4}, 98)));
      },
      {"Transformer", "src [2,5,4]", "tgt [3,3,4]", "same batch"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        model(src, Variable(input({2, 3, 5}, 99)));
      },
      {"Transformer", "tgt [2,3,5]", "d_model = 4"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        model(src, Variable(input({3, 4}, 100)));
      },
      {"Transformer", "tgt [3,4]"}));
  // masks of the wrong shape or dtype, named as the module names them
  EXPECT_TRUE(throws_with<E>([&] { enc(src, EncFwd().src_mask(nn::causal_mask(4))); },
                             {"TransformerEncoderLayer", "src_mask bool[4,4]", "[5,5]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        enc(src, EncFwd().src_key_padding_mask(nn::padding_mask({5, 5, 5}, 5)));
      },
      {"TransformerEncoderLayer", "src_key_padding_mask bool[3,5]", "[B, S] = [2,5]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        enc(src, EncFwd().src_mask(Tensor::zeros({5, 5}, DType::Int64)));
      },
      {"TransformerEncoderLayer", "src_mask int64[5,5]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] { enc(src, EncFwd().src_mask(nn::Transformer::generate_square_subsequent_mask(5))); },
      {"TransformerEncoderLayer", "src_mask float32[5,5]", "float64"}));
  EXPECT_TRUE(throws_with<E>([&] { dec(tgt, src, DecFwd().tgt_mask(nn::causal_mask(5))); },
                             {"TransformerDecoderLayer", "tgt_mask bool[5,5]", "[3,3]"}));
  EXPECT_TRUE(throws_with<E>([&] { dec(tgt, src, DecFwd().memory_mask(nn::causal_mask(3))); },
                             {"TransformerDecoderLayer", "memory_mask bool[3,3]", "[3,5]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        dec(tgt, src, DecFwd().memory_key_padding_mask(nn::padding_mask({3, 3}, 3)));
      },
      {"TransformerDecoderLayer", "memory_key_padding_mask bool[2,3]", "[2,5]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        dec(tgt, src, DecFwd().tgt_key_padding_mask(nn::padding_mask({5, 5}, 5)));
      },
      {"TransformerDecoderLayer", "tgt_key_padding_mask bool[2,5]", "[2,3]"}));
  EXPECT_TRUE(throws_with<E>(
      [&] { model(src, tgt, nn::TransformerForwardOptions().src_mask(nn::causal_mask(3))); },
      {"TransformerEncoderLayer", "src_mask bool[3,3]", "[5,5]"}));
  // [B·nhead, T, T] masks are taken; [B, T, T] is not
  EXPECT_NO_THROW(dec(tgt, src, DecFwd().tgt_mask(Tensor::zeros({4, 3, 3}, DType::Bool))));
  EXPECT_TRUE(throws_with<E>(
      [&] {
        dec(tgt, src, DecFwd().tgt_mask(Tensor::zeros({2, 3, 3}, DType::Bool)));
      },
      {"TransformerDecoderLayer", "tgt_mask bool[2,3,3]", "[B·num_heads, T, S] = [4,3,3]"}));
}

}  // namespace
}  // namespace minigrad
