// examples/gpt/model.h: nanoGPT's GPT in minigrad. Parity with nanoGPT's model
// (tools/make_gpt_fixtures.py): logits, loss and every parameter's gradient from the
// same weights, float64 within 1e-10 and float32 within 1e-5, with and without biases;
// nanoGPT's parameter names and init; gradcheck of the whole model in float64; the
// key/value cache (a forward in pieces is the forward of the whole, to 1e-12) and
// GPTDecoding (cached and uncached decoding give the same logits at every step and
// the same tokens, past block_size too, where the context is cropped as nanoGPT's
// generate crops it); attention weights for heatmaps; clear errors.
#include "examples/gpt/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd_testing.h"
#include "minigrad/nn/decode.h"
#include "minigrad/nn/init.h"
#include "minigrad/nn/loss.h"
#include "module_gradcheck.h"
#include "parity_testing.h"

namespace minigrad {
namespace {

using namespace testing;
using examples::GPT;
using examples::GPTDecoding;
using examples::GPTDecodingOptions;
using examples::GPTOptions;

// A small float64 model with its weights spread out (N(0, 0.3)), so that its greedy
// choices are clear-cut.
GPTOptions tiny(int64_t block_size = 6) {
  return GPTOptions(7).block_size(block_size).n_layer(2).n_head(2).n_embd(8).dtype(DType::Float64);
}
void spread(GPT& model, uint64_t seed) {
  Generator gen(seed);
  for (Variable p : model.parameters()) nn::init::normal_(p.mutable_data(), 0.0, 0.3, gen);
}

Tensor tokens(const Shape& shape, uint64_t seed, int64_t vocab) {
  Generator gen(seed);
  return randint(0, vocab, shape, gen);
}

// The defined slots of every parameter of the model, in named_parameters() order.
std::vector<Variable*> slots_of_gpt(GPT& m) {
  std::vector<Variable*> all = joined(*m.wte, *m.wpe);
  for (int64_t i = 0; i < m.options.n_layer(); ++i) {
    examples::GPTBlock& b = m.block(i);
    const auto s = joined(*b.ln_1, *b.attn, *b.ln_2, *b.mlp->c_fc, *b.mlp->c_proj);
    all.insert(all.end(), s.begin(), s.end());
  }
  const auto f = joined(*m.ln_f);
  all.insert(all.end(), f.begin(), f.end());
  return all;
}

// ---- the model ----------------------------------------------------------------------------------

TEST(GPTModel, OptionsAreNanoGPTsBabyModel) {
  const GPTOptions o(65);
  EXPECT_EQ(o.vocab_size(), 65);
  EXPECT_EQ(o.block_size(), 64);
  EXPECT_EQ(o.n_layer(), 4);
  EXPECT_EQ(o.n_head(), 4);
  EXPECT_EQ(o.n_embd(), 128);
  EXPECT_EQ(o.dropout(), 0.0);
  EXPECT_TRUE(o.bias());
}

// nanoGPT's names, the output layer tied to wte (no lm_head), and nanoGPT's init:
// N(0, 0.02) weights, N(0, 0.02/√(2·n_layer)) residual projections, zero biases,
// LayerNorm weights 1.
TEST(GPTModel, NanoGPTsNamesTiedOutputAndInit) {
  Generator gen(1);
  GPT model(GPTOptions(65), gen);
  const std::vector<std::string> names = parameter_names(model);
  ASSERT_EQ(names.size(), 2 + 4 * 12 + 2u);
  EXPECT_EQ(names[0], "transformer.wte.weight");
  EXPECT_EQ(names[1], "transformer.wpe.weight");
  const std::vector<std::string> block{
      "ln_1.weight",          "ln_1.bias",          "attn.in_proj_weight", "attn.in_proj_bias",
      "attn.out_proj.weight", "attn.out_proj.bias", "ln_2.weight",         "ln_2.bias",
      "mlp.c_fc.weight",      "mlp.c_fc.bias",      "mlp.c_proj.weight",   "mlp.c_proj.bias"};
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = 0; j < block.size(); ++j)
      EXPECT_EQ(names[2 + 12 * i + j], "transformer.h." + std::to_string(i) + "." + block[j]);
  EXPECT_EQ(names[50], "transformer.ln_f.weight");
  EXPECT_EQ(names[51], "transformer.ln_f.bias");
  const int64_t C = 128, V = 65, L = 4;
  EXPECT_EQ(
      model.num_parameters(),
      V * C + 64 * C + L * (4 * C + 3 * C * C + 3 * C + C * C + C + 8 * C * C + 5 * C) + 2 * C);

  const auto stddev = [](const Tensor& t) {
    const Tensor d = t.to(DType::Float64);
    return std::sqrt(mean(mul(d, d)).item());
  };
  const double residual = 0.02 / std::sqrt(2.0 * L);
  for (const auto& [name, p] : model.named_parameters()) {
    const Tensor& w = p.data();
    if (name.size() > 4 && name.substr(name.size() - 4) == "bias") {
      EXPECT_EQ(amax(abs(w)).item(), 0.0) << name;
    } else if (w.dim() == 1) {
      EXPECT_EQ(max_abs_diff(w, Tensor::ones(w.shape())), 0.0) << name;  // LayerNorm
    } else {
      const bool proj = name.find("c_proj.weight") != std::string::npos ||
                        name.find("out_proj.weight") != std::string::npos;
      EXPECT_NEAR(stddev(w), proj ? residual : 0.02, 0.08 * (proj ? residual : 0.02)) << name;
    }
  }
  // logits = ln_f(x)·wteᵀ: wte's gradient holds the output layer's part too
  const Tensor idx = tokens({2, 5}, 2, V);
  const Variable logits = model(idx);
  EXPECT_EQ(logits.shape(), (Shape{2, 5, V}));
  sum(logits * Variable(uniform({2, 5, V}, 3))).backward();
  for (int64_t r = 0; r < V; ++r)  // every row of wte gets a gradient from the output layer
    EXPECT_GT(amax(abs(model.wte->weight.grad().select(0, r))).item(), 0.0) << "row " << r;

  GPT no_bias(GPTOptions(65).bias(false), gen);
  for (const std::string& n : parameter_names(no_bias))
    EXPECT_EQ(n.find("bias"), std::string::npos) << n;
}

TEST(GPTModel, SameSeedSameWeights) {
  Generator a(5), b(5);
  GPT m1(tiny(), a), m2(tiny(), b);
  const auto p1 = m1.parameters(), p2 = m2.parameters();
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_EQ(max_abs_diff(p1[i].data(), p2[i].data()), 0.0);
}

// ---- parity with nanoGPT ----------------------------------------------------------------------

class GPTParity : public ::testing::TestWithParam<CaseParam> {};

TEST_P(GPTParity, LogitsLossAndEveryGradient) {
  const auto& [case_name, variant] = GetParam();
  const SafetensorsFile f = load_fixture(case_name, variant);
  const DType dtype = dtype_of_variant(variant);
  GPT model(GPTOptions(meta_int(f, "vocab_size"))
                .block_size(meta_int(f, "block_size"))
                .n_layer(meta_int(f, "n_layer"))
                .n_head(meta_int(f, "n_head"))
                .n_embd(meta_int(f, "n_embd"))
                .bias(meta_int(f, "bias") != 0)
                .dtype(dtype));
  std::string names;
  for (const std::string& n : parameter_names(model)) names += (names.empty() ? "" : ",") + n;
  EXPECT_EQ(names, meta(f, "parameters"));  // nanoGPT's, in its order
  model.load_state_dict(params_from(f, model));
  Parity parity(case_name + "_" + variant, dtype);
  const Variable logits = model(f.at("idx"));
  const Variable loss = examples::next_token_loss(logits, f.at("targets"));
  parity.check("logits", logits.data(), f.at("logits"));
  parity.check("loss", loss.data(), f.at("loss"));
  loss.backward();
  parity.check_param_grads(model, f);
}

INSTANTIATE_TEST_SUITE_P(NanoGPT, GPTParity, fixture_cases("gpt_bias", "gpt_no_bias"), case_name);

// ---- gradients --------------------------------------------------------------------------------

TEST(GPTModel, GradcheckWholeModelFloat64) {
  for (const bool bias : {true, false}) {
    Generator gen(7);
    GPT model(
        GPTOptions(5).block_size(4).n_layer(2).n_head(2).n_embd(4).bias(bias).dtype(DType::Float64),
        gen);
    spread(model, 8);
    const Tensor idx = tokens({2, 3}, 9, 5);
    EXPECT_TRUE(module_grad_ok(model, slots_of_gpt(model), {}, [&](const Vars&) {
      return model(idx);
    })) << (bias ? "with biases" : "without biases");
  }
}

TEST(GPTModel, NextTokenLossIsCrossEntropyOverEveryPosition) {
  const Variable logits(uniform({2, 3, 5}, 10, -2.0, 2.0, DType::Float64));
  const Tensor targets = testing::i64({1, 4, 0, -1, 2, 3}, {2, 3});
  const Variable want = nn::cross_entropy(logits.reshape({6, 5}), targets.reshape({6}),
                                          nn::CrossEntropyOptions().ignore_index(-1));
  EXPECT_EQ(examples::next_token_loss(logits, targets).item(), want.item());
  // the −1 is left out: the mean of the other five
  double total = 0;
  const Tensor lp = log_softmax(logits, -1).data();
  const int64_t t[6] = {1, 4, 0, -1, 2, 3};
  for (int64_t i = 0; i < 6; ++i)
    if (t[i] >= 0) total -= lp.select(0, i / 3).select(0, i % 3).select(0, t[i]).item();
  EXPECT_NEAR(examples::next_token_loss(logits, targets).item(), total / 5, 1e-14);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        examples::next_token_loss(logits, testing::i64({1, 2, 3}, {1, 3}));
      },
      {"next_token_loss", "[2,3,5]", "[1,3]"}));
}

// ---- attention weights --------------------------------------------------------------------------

TEST(GPTModel, AttentionWeightsPerLayerAreCausalDistributions) {
  Generator gen(11);
  GPT model(tiny(), gen);
  spread(model, 12);
  model.train();
  const std::vector<Tensor> w = model.attention(tokens({2, 5}, 13, 7));
  EXPECT_TRUE(model.is_training());  // put back as it was
  ASSERT_EQ(w.size(), 2u);
  for (const Tensor& a : w) {
    ASSERT_EQ(a.shape(), (Shape{2, 2, 5, 5}));  // [B, heads, T, T]
    EXPECT_LT(max_abs_diff(sum(a, {-1}), Tensor::ones({2, 2, 5}, DType::Float64)), 1e-12);
    const Tensor future = masked_fill(a, logical_not(nn::causal_mask(5)), 0.0);
    EXPECT_EQ(amax(abs(future)).item(), 0.0);
  }
  EXPECT_FALSE(model.block(0).keep_attention_weights);
}

// ---- the key/value cache and decoding
// -------------------------------------------------------------

// The model fed 2 + 1 + 3 positions through the cache gives the logits of one
// forward over all 6.
TEST(GPTModel, CachedForwardInPiecesIsTheFullForward) {
  Generator gen(14);
  GPT model(tiny(), gen);
  spread(model, 15);
  model.eval();
  const Tensor idx = tokens({3, 6}, 16, 7);
  const Tensor full = model(idx).data();
  examples::GPTCache cache;
  int64_t at = 0;
  for (int64_t len : {2, 1, 3}) {
    const Tensor piece = model.forward(idx.narrow(1, at, len).contiguous(), cache).data();
    EXPECT_LT(max_abs_diff(piece, full.narrow(1, at, len)), 1e-12) << "at " << at;
    at += len;
    EXPECT_EQ(cache.length(), at);
  }
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { model.forward(idx.narrow(1, 0, 1).contiguous(), cache); },
      {"GPT", "[3,1]", "6 cached positions", "block_size = 6"}));
}

// Two decoders fed the same tokens step by step: the cache's logits are the full
// context's at every step, to 1e-12, past block_size too; and the uncached decoder's
// context is nanoGPT's idx[:, -block_size:] (or the crop_to window).
TEST(GPTDecoding, CachedStepLogitsAreTheFullForwardsPastBlockSize) {
  Generator gen(17);
  const int64_t block = 5;
  GPT model(tiny(block), gen);
  spread(model, 18);
  model.eval();
  const Tensor fed = tokens({2, 14}, 19, 7);
  for (const int64_t crop : {int64_t{0}, int64_t{2}}) {
    GPTDecoding cached(model, 2, GPTDecodingOptions().crop_to(crop));
    GPTDecoding plain(model, 2, GPTDecodingOptions().use_cache(false).crop_to(crop));
    int64_t start = 0;  // where the window of the crop_to rule begins
    for (int64_t t = 0; t < fed.size(1); ++t) {
      const Tensor column = fed.select(1, t).contiguous();
      const Tensor a = cached.step(column), b = plain.step(column);
      ASSERT_EQ(a.shape(), (Shape{2, 7}));
      EXPECT_LT(max_abs_diff(a, b), 1e-12) << "crop_to " << crop << ", step " << t;
      if (t + 1 - start > block) start = t + 1 - (crop == 0 ? block : crop);
      const Tensor window = fed.narrow(1, start, t + 1 - start).contiguous();
      const Tensor want = model(window).data().select(1, t - start);
      EXPECT_LT(max_abs_diff(b, want), 1e-12) << "crop_to " << crop << ", step " << t;
    }
  }
}

TEST(GPTDecoding, CachedAndUncachedGreedyAndBeamGiveTheSameTokens) {
  Generator gen(20);
  GPT model(tiny(5), gen);
  spread(model, 21);
  model.eval();
  for (const int64_t length : {1, 3, 5, 6, 13}) {
    for (const int64_t crop : {int64_t{0}, int64_t{3}}) {
      GPTDecoding cached(model, 3, GPTDecodingOptions().crop_to(crop));
      GPTDecoding plain(model, 3, GPTDecodingOptions().use_cache(false).crop_to(crop));
      const auto opts = nn::GreedyDecodeOptions().start_symbol(2).max_length(length);
      const Tensor a = nn::greedy_decode(cached, opts), b = nn::greedy_decode(plain, opts);
      ASSERT_EQ(a.shape(), (Shape{3, length}));
      EXPECT_EQ(max_abs_diff(a.to(DType::Float64), b.to(DType::Float64)), 0.0)
          << "length " << length << ", crop_to " << crop;
      // beam search copies and drops rows: reorder must carry contexts and caches alike
      GPTDecoding beam_cached(model, 2, GPTDecodingOptions().crop_to(crop));
      GPTDecoding beam_plain(model, 2, GPTDecodingOptions().use_cache(false).crop_to(crop));
      const auto beam = nn::BeamSearchOptions(3).start_symbol(1).max_length(length);
      const Tensor c = nn::beam_search(beam_cached, beam).tokens;
      const Tensor d = nn::beam_search(beam_plain, beam).tokens;
      EXPECT_EQ(max_abs_diff(c.to(DType::Float64), d.to(DType::Float64)), 0.0)
          << "beam, length " << length << ", crop_to " << crop;
    }
  }
}

// ---- errors -----------------------------------------------------------------------------------

TEST(GPTModel, BadSettingsAndInputsThrowNamingThem) {
  using E = std::invalid_argument;
  EXPECT_TRUE(throws_with<E>([] { GPT(GPTOptions(7).n_embd(10).n_head(4)); },
                             {"GPT", "n_head 4", "n_embd 10"}));
  EXPECT_TRUE(throws_with<E>([] { GPT(GPTOptions(0)); }, {"GPT", "vocab_size 0"}));
  EXPECT_TRUE(throws_with<E>([] { GPT(GPTOptions(7).dropout(1.0)); }, {"GPT", "dropout 1"}));
  Generator gen(22);
  GPT model(tiny(4), gen);
  EXPECT_TRUE(throws_with<E>(
      [&] {
        model(tokens({2, 5}, 23, 7));
      },
      {"GPT", "idx int64 [2,5]", "block_size = 4"}));
  EXPECT_TRUE(throws_with<E>([&] { model(Tensor::zeros({2, 3})); }, {"GPT", "float32 [2,3]"}));
  EXPECT_TRUE(throws_with<E>([&] { model(Tensor::zeros({3}, DType::Int64)); }, {"GPT", "[3]"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { model(testing::i64({0, 7}, {1, 2})); }, {"7"}));
  EXPECT_TRUE(throws_with<E>([&] { GPTDecoding(model, 1, GPTDecodingOptions().crop_to(5)); },
                             {"GPTDecoding", "crop_to 5", "block_size = 4"}));
  EXPECT_TRUE(throws_with<E>([&] { GPTDecoding(model, 0); }, {"GPTDecoding", "batch_size 0"}));
  GPTDecoding decoding(model, 2);
  EXPECT_TRUE(throws_with<E>(
      [&] {
        decoding.step(testing::i64({1, 2, 3}, {3}));
      },
      {"GPTDecoding", "int64 [3]", "expected int64 [2]"}));
}

}  // namespace
}  // namespace minigrad
