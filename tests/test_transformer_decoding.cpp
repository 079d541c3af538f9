// Incremental Transformer decoding (nn/transformer_decoding.cpp, and the key/value
// cache of nn/transformer.cpp and nn/attention.cpp): decoding with the cache, one
// position per layer per step, gives the scores of decoding without it (the whole
// prefix again at every step, with the causal mask) at every step, to 1e-12 in
// float64 and float32's rounding in float32; so greedy decoding and beam search give
// the same tokens both ways. Post-norm and pre-norm, float32 and float64, both
// layouts, source padding, and beam search's reorder of the cache.
#include "minigrad/nn/transformer_decoding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "minigrad/nn/attention.h"
#include "minigrad/nn/decode.h"
#include "minigrad/tensor/ops.h"
#include "tests/testing.h"

namespace minigrad {
namespace {

using testing::throws_with;

constexpr int64_t kVocab = 7, kModel = 16, kHeads = 4, kStart = 1, kEnd = 0;

struct Config {
  bool norm_first = false;
  DType dtype = DType::Float64;
  bool batch_first = true;
};

std::string describe(const Config& c) {
  return std::string(c.norm_first ? "pre-norm" : "post-norm") + ", " + dtype_name(c.dtype) +
         (c.batch_first ? ", batch_first" : ", [T, B, E]");
}

// The four configurations of the tests; the layout alternates with them.
const std::vector<Config> kConfigs = {{false, DType::Float64, true},
                                      {true, DType::Float64, false},
                                      {false, DType::Float32, false},
                                      {true, DType::Float32, true}};

// The copy-task model's parts, small: token embeddings × √E plus sinusoidal
// positions, a 2 + 2 layer Transformer, a Linear readout to the vocabulary.
struct Model {
  Model(const Config& c, uint64_t seed) : config(c), gen(seed) {
    const auto embedding = nn::EmbeddingOptions(kVocab, kModel).dtype(c.dtype);
    src_embed = std::make_shared<nn::Embedding>(embedding, gen);
    tgt_embed = std::make_shared<nn::Embedding>(embedding, gen);
    positions = std::make_shared<nn::SinusoidalPositionalEncoding>(
        nn::PositionalEncodingOptions(32, kModel).dtype(c.dtype));
    transformer = std::make_shared<nn::Transformer>(nn::TransformerOptions(kModel, kHeads, 2, 2)
                                                        .dim_feedforward(32)
                                                        .norm_first(c.norm_first)
                                                        .batch_first(c.batch_first)
                                                        .dtype(c.dtype),
                                                    gen);
    transformer->eval();  // dropout (0.1, PyTorch's default) off: decoding is evaluation
    readout = std::make_shared<nn::Linear>(nn::LinearOptions(kModel, kVocab).dtype(c.dtype), gen);
    // Untrained, the model would mostly end at once. Sharper scores that depend more
    // on the input, and an end symbol less likely than the rest, make the decodings
    // run several steps and differ from row to row.
    readout->weight.mutable_data().mul_(4.0);
    Tensor bias = readout->bias.mutable_data();
    bias.select(0, kEnd).fill_(-2.0);
  }
  // tokens [N, L] from `position` on → [N, L, E]
  Variable embed(nn::Embedding& table, const Tensor& tokens, int64_t position) const {
    const Variable x = table(tokens) * std::sqrt(static_cast<double>(kModel));
    return x + positions->table.narrow(0, position, tokens.size(1));
  }
  Variable layout(const Variable& x) const { return config.batch_first ? x : x.transpose(0, 1); }
  // source [B, S] → the memory, in the model's layout
  Variable memory(const Tensor& source, const Tensor& padding = {}) {
    NoGradGuard no_grad;
    return (*transformer->encoder)(
        layout(embed(*src_embed, source, 0)),
        nn::TransformerEncoderForwardOptions().src_key_padding_mask(padding));
  }
  nn::TransformerDecoding decoding(const Tensor& source, bool use_cache,
                                   const Tensor& padding = {}) {
    return nn::TransformerDecoding(
        *transformer->decoder, memory(source, padding),
        [this](const Tensor& tokens, int64_t position) {
          return embed(*tgt_embed, tokens, position);
        },
        [this](const Variable& x) { return (*readout)(x); },
        nn::TransformerDecodingOptions().use_cache(use_cache).memory_key_padding_mask(padding));
  }

  Config config;
  Generator gen;
  std::shared_ptr<nn::Embedding> src_embed, tgt_embed;
  std::shared_ptr<nn::SinusoidalPositionalEncoding> positions;
  std::shared_ptr<nn::Transformer> transformer;
  std::shared_ptr<nn::Linear> readout;
};

Tensor random_tokens(int64_t rows, int64_t length, uint64_t seed) {
  Generator gen(seed);
  return randint(0, kVocab, {rows, length}, gen);
}

// How far cached and uncached scores may be apart: float64's rounding, or float32's
// (scores of size ~1 through 2 + 2 layers, softmax and LayerNorm).
double tolerance(DType dtype) { return dtype == DType::Float64 ? 1e-12 : 2e-6; }

// ---- scores step by step ---------------------------------------------------------------------

// The same tokens fed to both decoders give the same scores at every step, also after
// beam search's kind of reorder (rows copied, dropped and swapped).
TEST(TransformerDecoding, CachedScoresEqualUncachedAtEveryStep) {
  for (const Config& c : kConfigs) {
    Model model(c, 1);
    const Tensor source = random_tokens(3, 6, 2);
    nn::TransformerDecoding cached = model.decoding(source, true);
    nn::TransformerDecoding full = model.decoding(source, false);
    const std::vector<int64_t> fed = random_tokens(1, 9, 3).to_vector<int64_t>();
    for (int64_t t = 0; t < 9; ++t) {
      const int64_t rows = cached.batch_size();
      std::vector<int64_t> last;  // a token of its own for each row
      for (int64_t r = 0; r < rows; ++r) last.push_back((fed[static_cast<size_t>(t)] + r) % kVocab);
      const Tensor next = Tensor::from_vector(last, {rows});
      const Tensor a = cached.step(next), b = full.step(next);
      ASSERT_EQ(a.shape(), Shape({rows, kVocab}));
      EXPECT_LE(max_abs_diff(a, b), tolerance(c.dtype)) << describe(c) << ", step " << t;
      if (t == 3) {  // 3 rows → 4: row 0 dropped, rows 1 and 2 twice, the order changed
        const Tensor index = testing::i64({2, 1, 1, 2}, {4});
        cached.reorder(index);
        full.reorder(index);
      }
    }
    EXPECT_EQ(cached.batch_size(), 4);
  }
}

// ---- whole decodings -------------------------------------------------------------------------

// Greedy decoding and beam search read the same scores both ways, so they choose the
// same tokens; a source with padding (memory_key_padding_mask) too.
TEST(TransformerDecoding, GreedyAndBeamSearchGiveTheSameTokensWithAndWithoutTheCache) {
  for (const Config& c : kConfigs) {
    Model model(c, 4);
    const Tensor source = random_tokens(3, 7, 5);
    const Tensor padding = nn::padding_mask({7, 4, 6}, 7);  // rows 1 and 2 are shorter
    for (const Tensor& pad : {Tensor(), padding}) {
      const std::string what = describe(c) + (pad.defined() ? ", padded source" : "");
      const auto greedy = [&](bool use_cache) {
        nn::TransformerDecoding d = model.decoding(source, use_cache, pad);
        return nn::greedy_decode(
            d, nn::GreedyDecodeOptions().start_symbol(kStart).max_length(8).end_symbol(kEnd));
      };
      EXPECT_EQ(greedy(true).to_vector<int64_t>(), greedy(false).to_vector<int64_t>()) << what;

      const auto beam = [&](bool use_cache) {
        nn::TransformerDecoding d = model.decoding(source, use_cache, pad);
        return nn::beam_search(
            d, nn::BeamSearchOptions(3).start_symbol(kStart).max_length(8).end_symbol(kEnd));
      };
      const nn::BeamSearchOutput cached = beam(true), full = beam(false);
      ASSERT_EQ(cached.beams.size(), full.beams.size());
      for (size_t b = 0; b < cached.beams.size(); ++b) {
        ASSERT_EQ(cached.beams[b].size(), full.beams[b].size()) << what;
        for (size_t i = 0; i < cached.beams[b].size(); ++i) {
          EXPECT_EQ(cached.beams[b][i].tokens, full.beams[b][i].tokens) << what << ", row " << b;
          EXPECT_NEAR(cached.beams[b][i].score, full.beams[b][i].score, 10 * tolerance(c.dtype));
        }
      }
    }
  }
}

// The padding matters: without the mask the padded rows decode from other scores.
TEST(TransformerDecoding, MemoryPaddingReachesTheCrossAttention) {
  Model model({}, 4);
  const Tensor source = random_tokens(2, 7, 5);
  const Tensor padding = nn::padding_mask({7, 3}, 7);
  nn::TransformerDecoding masked = model.decoding(source, true, padding);
  nn::TransformerDecoding plain = model.decoding(source, true);
  const Tensor start = Tensor::full({2}, kStart, DType::Int64);
  const Tensor a = masked.step(start), b = plain.step(start);
  EXPECT_EQ(max_abs_diff(a.select(0, 0), b.select(0, 0)), 0.0) << "row 0 has no padding";
  EXPECT_GT(max_abs_diff(a.select(0, 1), b.select(0, 1)), 1e-6) << "row 1 has 4 padded positions";
}

// ---- one layer, one position ---------------------------------------------------------------

// A decoder layer's forward_step on position t alone is position t of its forward
// over positions 0 … t with the causal mask; unbatched input ([T, E]) here.
TEST(TransformerDecoding, LayerStepIsPositionTOfTheCausalForward) {
  for (bool norm_first : {false, true}) {
    Generator gen(6);
    nn::TransformerDecoderLayer layer(nn::TransformerDecoderLayerOptions(8, 2)
                                          .dim_feedforward(12)
                                          .norm_first(norm_first)
                                          .dtype(DType::Float64),
                                      gen);
    layer.eval();
    const Variable tgt(randn({5, 8}, 0, 1, DType::Float64, gen));
    const Variable memory(randn({4, 8}, 0, 1, DType::Float64, gen));
    nn::TransformerDecoderLayerCache cache = layer.init_cache(memory);
    for (int64_t t = 0; t < 5; ++t) {
      const Variable step = layer.forward_step(tgt.narrow(0, t, 1), cache);
      const Variable full =
          layer(tgt.narrow(0, 0, t + 1), memory,
                nn::TransformerDecoderForwardOptions().tgt_mask(nn::causal_mask(t + 1)));
      EXPECT_LE(max_abs_diff(step.data(), full.data().narrow(0, t, 1)), 1e-12)
          << (norm_first ? "pre-norm" : "post-norm") << ", position " << t;
      EXPECT_EQ(cache.self_attn.key.shape(), Shape({1, 2, t + 1, 4}));  // [B, h, t + 1, d_h]
    }
  }
}

// ---- bad input -------------------------------------------------------------------------------

TEST(TransformerDecoding, BadInputNamesTheModuleAndTheShapes) {
  Generator gen(7);
  nn::TransformerDecoderLayer layer(
      nn::TransformerDecoderLayerOptions(8, 2).dim_feedforward(12).batch_first(true), gen);
  const Variable memory(randn({2, 4, 8}, 0, 1, DType::Float32, gen));
  nn::TransformerDecoderLayerCache cache = layer.init_cache(memory);
  const Variable two(randn({2, 2, 8}, 0, 1, DType::Float32, gen));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { layer.forward_step(two, cache); },
      {"TransformerDecoderLayer", "forward_step", "[2,2,8]", "one position"}));
  const Variable three_rows(randn({3, 1, 8}, 0, 1, DType::Float32, gen));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { layer.forward_step(three_rows, cache); },
                                                 {"forward_step", "[3,1,8]", "[2,2,4,4]"}));
  nn::TransformerDecoderLayerCache empty;
  const Variable one(randn({2, 1, 8}, 0, 1, DType::Float32, gen));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { layer.forward_step(one, empty); },
                                                 {"forward_step", "init_cache"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        layer.forward_step(one, cache, Tensor::zeros({2, 5}, DType::Bool));
      },
      {"TransformerDecoderLayer", "memory_key_padding_mask", "[2,5]"}));

  Model model({}, 8);
  const auto embed = [&](const Tensor& tokens, int64_t position) {
    return model.embed(*model.tgt_embed, tokens, position);
  };
  const auto readout = [&](const Variable& x) { return (*model.readout)(x); };
  const Variable unbatched(randn({4, kModel}, 0, 1, DType::Float64, gen));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::TransformerDecoding(*model.transformer->decoder, unbatched, embed, readout); },
      {"TransformerDecoding", "memory [4,16]", "[B, S, E]"}));
  nn::TransformerDecoding flat(
      *model.transformer->decoder, model.memory(random_tokens(2, 3, 1)),
      [&](const Tensor& tokens, int64_t position) { return embed(tokens, position).select(1, 0); },
      readout);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { flat.step(Tensor::full({2}, kStart, DType::Int64)); },
      {"TransformerDecoding", "embed returned [2,16]", "[2, 1, 16]"}));
}

}  // namespace
}  // namespace minigrad
