// End-to-end training of the two models of examples/date_translation: an LSTM with
// attention (seq2seq_attention's model) and a Transformer (transformer_copy's) learn
// to write human-readable dates, English and Korean, as YYYY-MM-DD, measured by exact
// match of greedy decoding on the 1,000 held-out dates.
//
// The example's models take minutes per seed; these tests train the same code at
// sizes that take seconds, each with its model's recipe over a shorter run:
//   LSTM         embedding 16, hidden 64, 600 steps (the example's `--model lstm
//                --embedding 16 --hidden 64 --steps 600`): held-out exact match 0.997,
//                0.990, 0.979 at seeds 1-3
//   Transformer  d_model 32, 2 heads, feed-forward 64, 1 + 1 layers, no dropout, a
//                warm-up of 100 steps, 1,000 steps (`--model transformer --d 32 --heads 2
//                --ff 64 --encoder-layers 1 --decoder-layers 1 --dropout 0 --warmup 100
//                --steps 1000`): 0.991, 0.987, 0.994
// about 7-10 s each in Release on one core.
//
// Seeded: every run does the same steps and reaches the same numbers. One OpenMP
// thread, as in the example (ctest -j2 runs two tests at once).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "examples/common/checkpoint.h"
#include "examples/common/cli.h"
#include "examples/common/prediction.h"
#include "examples/date_translation/model.h"
#include "minigrad/nn/serialization.h"
#include "testing.h"

namespace {

using namespace minigrad;
using namespace minigrad::examples;
using minigrad::testing::child_modules;
using minigrad::testing::kSanitized;
using minigrad::testing::throws_with;

constexpr uint64_t kDataStream = 0x9e3779b97f4a7c15u;  // the example's: seed ^ this
constexpr int64_t kLSTMSteps = 600, kTransformerSteps = 1000;

const DateData& dates() {
  static const DateData data;
  return data;
}

DateLSTMSettings small_lstm() { return {.embedding = 16, .hidden = 64}; }

DateTransformerSettings small_transformer() {
  return {.d_model = 32,
          .heads = 2,
          .dim_feedforward = 64,
          .encoder_layers = 1,
          .decoder_layers = 1,
          .dropout = 0.0,
          .warmup = 100};
}

// The small model of `kind`, its schedule ending at step `steps`.
std::unique_ptr<DateTranslator> small_model(DateModelKind kind, int64_t steps, uint64_t seed) {
  Generator gen(seed);
  return make_date_translator(kind, small_lstm(), small_transformer(), steps, gen);
}

struct DateRun {
  Accuracy before, heldout;
  double first_loss = 0, last_loss = 0;
};

// `steps` training steps on the example's data stream of --seed `seed`, then the
// held-out evaluation.
DateRun train(DateTranslator& model, uint64_t seed, int64_t steps) {
  const ScopedThreads one_thread(1);
  Generator data_gen(seed ^ kDataStream);
  DateRun run;
  run.before = model.evaluate(dates().heldout());
  for (int64_t step = 1; step <= steps; ++step) {
    const DateStep s = model.train_step(dates().sample(64, data_gen));
    if (step == 1) run.first_loss = s.loss;
    run.last_loss = s.loss;
  }
  run.heldout = model.evaluate(dates().heldout());
  return run;
}

// ---- the models ------------------------------------------------------------------------------

TEST(TrainDateTranslation, ModelNames) {
  for (const DateModelKind k : {DateModelKind::LSTM, DateModelKind::Transformer})
    EXPECT_EQ(date_model_from_name(date_model_name(k)), k);
  EXPECT_STREQ(date_model_name(DateModelKind::Transformer), "transformer");
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { date_model_from_name("gru"); },
                                                 {"unknown model 'gru'", "lstm or transformer"}));
}

// seq2seq_attention's and transformer_copy's models, with a source vocabulary of 65
// characters, a target one of 14 that holds <start> (so the LSTM's target embedding
// has no row of its own for BOS), and the sizes the example's header gives.
TEST(TrainDateTranslation, ModelsAreTheExamplesModelsWithTheDatesVocabularies) {
  const int64_t source_vocab = source_vocabulary().size(), target_vocab = 14;
  EXPECT_EQ(target_vocabulary().size(), target_vocab);
  Generator gen(1);
  LSTMDateTranslator lstm(DateLSTMSettings{}, 100, gen);
  EXPECT_EQ(child_modules(lstm.model),
            "source_embedding:Embedding target_embedding:Embedding encoder:LSTM decoder:LSTMCell "
            "attention:DotProductAttention readout:Linear");
  EXPECT_EQ(lstm.model.parameter("source_embedding.weight").shape(), (Shape{source_vocab, 32}));
  EXPECT_EQ(lstm.model.parameter("target_embedding.weight").shape(), (Shape{target_vocab, 32}));
  EXPECT_EQ(lstm.model.parameter("encoder.weight_hh_l0").shape(), (Shape{4 * 128, 128}));
  EXPECT_EQ(lstm.model.parameter("readout.weight").shape(), (Shape{target_vocab, 2 * 128}));
  EXPECT_EQ(lstm.model.bos(), kStart);

  TransformerDateTranslator transformer(DateTransformerSettings{}, 100, gen);
  const nn::TransformerOptions& t = transformer.model.transformer->options;
  EXPECT_EQ(t.d_model(), 64);
  EXPECT_EQ(t.nhead(), 4);
  EXPECT_EQ(t.dim_feedforward(), 256);
  EXPECT_EQ(t.num_encoder_layers(), 2);
  EXPECT_EQ(t.num_decoder_layers(), 2);
  EXPECT_EQ(t.dropout(), 0.1);
  EXPECT_EQ(transformer.model.parameter("source_embedding.weight").shape(),
            (Shape{source_vocab, 64}));
  EXPECT_EQ(transformer.model.parameter("readout.weight").shape(), (Shape{target_vocab, 64}));
  EXPECT_EQ(transformer.model.positions->table.size(0), kSourceLength);

  // Teacher forcing scores the 11 characters after <start>; decoding writes 11.
  const DateBatch& h = dates().heldout();
  const Tensor source = h.source.narrow(0, 0, 3), target = h.target.narrow(0, 0, 3);
  for (DateTranslator* m : std::vector<DateTranslator*>{&lstm, &transformer}) {
    EXPECT_EQ(m->logits(source, target).shape(), (Shape{3, kWrittenLength, target_vocab}));
    EXPECT_EQ(m->translate(source).shape(), (Shape{3, kWrittenLength}));
  }
}

// ---- training ------------------------------------------------------------------------------

struct SeedCase {
  DateModelKind kind;
  uint64_t seed;
  friend void PrintTo(const SeedCase& c, std::ostream* os) {
    *os << date_model_name(c.kind) << " seed " << c.seed;
  }
};

class TrainDateTranslationSeeds : public ::testing::TestWithParam<SeedCase> {};

// The small models at three seeds each: from no date right to more than 95 % exactly
// right (measured: 0.979 to 0.997, see the top of this file).
TEST_P(TrainDateTranslationSeeds, LearnsToWriteIsoDates) {
  if (kSanitized) GTEST_SKIP() << "a minute or more under AddressSanitizer";
  const auto [kind, seed] = GetParam();
  const int64_t steps = kind == DateModelKind::LSTM ? kLSTMSteps : kTransformerSteps;
  const std::unique_ptr<DateTranslator> model = small_model(kind, steps, seed);
  const DateRun run = train(*model, seed, steps);
  std::cout << "[ info     ] " << date_model_name(kind) << " seed " << seed
            << ": held-out exact match " << run.heldout.sequence << ", token accuracy "
            << run.heldout.token << " after " << steps << " steps\n";
  EXPECT_EQ(run.before.sequence, 0.0) << "the untrained model should write no date right";
  EXPECT_LT(run.last_loss, run.first_loss / 10) << "the training loss should fall by more than 10x";
  EXPECT_GT(run.heldout.sequence, 0.95) << "held-out exact match after " << steps << " steps";
}

INSTANTIATE_TEST_SUITE_P(
    ThreeSeedsEach, TrainDateTranslationSeeds,
    ::testing::Values(SeedCase{DateModelKind::LSTM, 1}, SeedCase{DateModelKind::LSTM, 2},
                      SeedCase{DateModelKind::LSTM, 3}, SeedCase{DateModelKind::Transformer, 1},
                      SeedCase{DateModelKind::Transformer, 2},
                      SeedCase{DateModelKind::Transformer, 3}),
    [](const ::testing::TestParamInfo<SeedCase>& p) {
      return std::string(p.param.kind == DateModelKind::LSTM ? "Lstm" : "Transformer") + "Seed" +
             std::to_string(p.param.seed);
    });

// ---- decoding ------------------------------------------------------------------------------

// The logits of model->logits(source, target) from the same weights in a model that
// does not mask the source's padding (in eval mode).
Tensor unmasked_logits(DateTranslator& model, const Tensor& source, const Tensor& target) {
  Generator gen(0);
  if (auto* lstm = dynamic_cast<LSTMDateTranslator*>(&model)) {
    Seq2SeqConfig config = lstm->model.config;
    config.source_padding.reset();
    Seq2SeqModel plain(config, gen);
    plain.load_state_dict(lstm->model.state_dict());
    return plain.forward_teacher_forcing(source, target.narrow(1, 1, kWrittenLength)).data();
  }
  auto& transformer = dynamic_cast<TransformerDateTranslator&>(model);
  TransformerCopyConfig config = transformer.model.config;
  config.source_padding.reset();
  TransformerCopyModel plain(config, gen);
  plain.load_state_dict(transformer.model.state_dict());
  plain.eval();
  return plain.forward_teacher_forcing(source, target).data();
}

class DateDecoding : public ::testing::TestWithParam<DateModelKind> {};

// A model stopped early (some dates wrong) decodes through nn::greedy_decode exactly
// as teacher forcing predicts: fed its own decoded characters, the argmax at every
// position up to its <end> is the character decoding chose; fed the true ones, it
// agrees wherever decoding's prefix was right.
TEST_P(DateDecoding, GreedyDecodingIsTheTeacherForcedArgmax) {
  const std::unique_ptr<DateTranslator> model = small_model(GetParam(), 150, 1);
  const DateRun run = train(*model, 1, 150);
  ASSERT_GT(run.heldout.token, 0.3);
  ASSERT_LT(run.heldout.sequence, 0.9) << "the point is a model that still makes mistakes";
  model->module().eval();
  NoGradGuard no_grad;
  const DateBatch& h = dates().heldout();
  const Tensor decoded = model->translate(h.source);  // [N, 11]
  const Tensor start = Tensor::full({decoded.size(0), 1}, kStart, DType::Int64);
  const Tensor own = predict_tokens(model->logits(h.source, concat({start, decoded}, 1)));
  const Tensor forced = predict_tokens(model->logits(h.source, h.target));
  const std::vector<int64_t>
      d = decoded.contiguous().to_vector<int64_t>(),
      o = own.contiguous().to_vector<int64_t>(), f = forced.contiguous().to_vector<int64_t>(),
      t = h.target.narrow(1, 1, kWrittenLength).contiguous().to_vector<int64_t>();
  int64_t compared = 0, diverged = 0;
  for (int64_t n = 0; n < decoded.size(0); ++n) {
    bool prefix_right = true;
    for (int64_t i = 0; i < kWrittenLength; ++i) {
      const auto at = static_cast<size_t>(n * kWrittenLength + i);
      EXPECT_EQ(o[at], d[at]) << "date " << n << ", character " << i;
      if (prefix_right) {
        EXPECT_EQ(f[at], d[at]) << "date " << n << ", character " << i;
        ++compared;
      }
      prefix_right = prefix_right && d[at] == t[at];
      if (d[at] == kEnd) break;
    }
    diverged += !prefix_right;
  }
  EXPECT_GT(diverged, 0);
  EXPECT_GT(compared, 2000);
}

// The padding mask matters: a source decodes the same at its own length, padded to 20
// and padded to the example's 29, the padding getting no attention at all. The same
// weights in a model without the mask read the padding, and its scores change.
TEST_P(DateDecoding, APaddedSourceDecodesAsTheUnpaddedOne) {
  const DateModelKind kind = GetParam();
  const std::unique_ptr<DateTranslator> model = small_model(kind, 150, 2);
  train(*model, 2, 150);
  model->module().eval();
  NoGradGuard no_grad;
  const std::vector<DatePair>& pairs = dates().heldout().pairs;
  std::vector<std::string> texts, isos;  // the first 40 of at most 20 characters
  for (size_t k = 0; texts.size() < 40; ++k) {
    if (utf8_symbols(pairs[k].source).size() > 20) continue;
    texts.push_back(pairs[k].source);
    isos.push_back(pairs[k].target);
  }
  const Tensor padded = encode_sources(texts);  // to 29
  EXPECT_EQ(model->translate(encode_sources(texts, 20)).to_vector<int64_t>(),
            model->translate(padded).to_vector<int64_t>());
  double without_mask = 0;
  for (size_t k = 0; k < 3; ++k) {
    const std::string& text = texts[k];
    const Tensor target = encode_targets({isos[k]});
    const Tensor own = encode_sources({text}, static_cast<int64_t>(utf8_symbols(text).size()));
    const Tensor row = padded.narrow(0, static_cast<int64_t>(k), 1);
    EXPECT_EQ(model->translate(own).to_vector<int64_t>(),
              model->translate(row).to_vector<int64_t>())
        << text;
    EXPECT_LT(max_abs_diff(model->logits(own, target).data(), model->logits(row, target).data()),
              1e-4)
        << text;
    const Tensor a = model->cross_attention(own), b = model->cross_attention(row);  // [L, S]
    ASSERT_EQ(b.size(1), kSourceLength);
    EXPECT_LT(max_abs_diff(a, b.narrow(1, 0, own.size(1))), 1e-5) << text;
    EXPECT_EQ(amax(b.narrow(1, own.size(1), kSourceLength - own.size(1))).item(), 0.0) << text;

    // The same weights without the mask: the same scores where there is no padding,
    // other scores where there is.
    EXPECT_LT(max_abs_diff(unmasked_logits(*model, own, target), model->logits(own, target).data()),
              1e-5);
    without_mask = std::max(without_mask, max_abs_diff(unmasked_logits(*model, row, target),
                                                       model->logits(own, target).data()));
  }
  EXPECT_GT(without_mask, 0.1) << "the padding should change the unmasked model's scores";
}

// --save / --load: a model from another seed translates the same after loading the
// weights. --save / --resume: a run saved after 6 steps and resumed (weights, Adam's
// moments, the schedule, the data stream) ends 6 steps later with the bits of the run
// that never stopped.
TEST_P(DateDecoding, CheckpointRoundTrip) {
  const DateModelKind kind = GetParam();
  const std::string path =
      ::testing::TempDir() + "/date_translation_" + date_model_name(kind) + ".safetensors";
  const ScopedThreads one_thread(1);
  const auto steps = [](DateTranslator& model, Generator& data_gen, int n) {
    for (int i = 0; i < n; ++i) model.train_step(dates().sample(16, data_gen));
  };
  const std::unique_ptr<DateTranslator> a = small_model(kind, 12, 3);
  Generator data_a(3 ^ kDataStream);
  steps(*a, data_a, 6);
  CommonOptions save;
  save.save_path = path;
  save_checkpoint_if_asked(save, a->module(), a->optimizer(), 6, data_a, &a->scheduler());

  const std::unique_ptr<DateTranslator> loaded = small_model(kind, 12, 99);
  nn::load(loaded->module(), path);
  const Tensor source = dates().heldout().source.narrow(0, 0, 50);
  EXPECT_EQ(loaded->translate(source).to_vector<int64_t>(),
            a->translate(source).to_vector<int64_t>());

  steps(*a, data_a, 6);
  const std::unique_ptr<DateTranslator> b = small_model(kind, 12, 99);
  Generator data_b(0);
  CommonOptions resume;
  resume.resume_path = path;
  EXPECT_EQ(restore_checkpoint(resume, b->module(), b->optimizer(), data_b, &b->scheduler()), 6);
  steps(*b, data_b, 6);
  std::remove(path.c_str());
  for (const auto& [name, p] : a->module().named_parameters())
    EXPECT_EQ(max_abs_diff(p.data(), b->module().parameter(name).data()), 0.0) << name;
  EXPECT_EQ(b->scheduler().last_epoch(), 12);
  EXPECT_EQ(b->optimizer().lr(), a->optimizer().lr());
}

INSTANTIATE_TEST_SUITE_P(BothModels, DateDecoding,
                         ::testing::Values(DateModelKind::LSTM, DateModelKind::Transformer),
                         [](const ::testing::TestParamInfo<DateModelKind>& p) {
                           return std::string(p.param == DateModelKind::LSTM ? "Lstm"
                                                                             : "Transformer");
                         });

// What the example draws: each row of the LSTM's attention is a distribution over the
// source, and once trained it reads the year's digits while it writes the year and the
// month's name while it writes the month ("July 6, 1950": rows 0-3 on "1950", rows 5-6
// on "July"), averaged over the held-out dates of that format.
TEST(TrainDateTranslation, TheLstmReadsTheYearAndTheMonthName) {
  if (kSanitized) GTEST_SKIP() << "a minute or more under AddressSanitizer";
  const std::unique_ptr<DateTranslator> model = small_model(DateModelKind::LSTM, kLSTMSteps, 1);
  train(*model, 1, kLSTMSteps);
  double year = 0, month = 0;
  int dates_seen = 0;
  for (const DatePair& p : dates().heldout().pairs) {
    if (p.format != DateFormat::kMonthDayYear) continue;
    const std::vector<std::string> characters = utf8_symbols(p.source);
    const auto length = static_cast<int64_t>(characters.size());
    const Tensor w =
        model->cross_attention(encode_sources({p.source}, length)).to(DType::Float64);  // [L, S]
    ASSERT_EQ(w.shape(), (Shape{kWrittenLength, length})) << p.source;
    EXPECT_TRUE(allclose(sum(w, {1}), Tensor::ones({kWrittenLength}, DType::Float64), 1e-5, 1e-5));
    const int64_t month_name = static_cast<int64_t>(p.source.find(' '));  // "July"
    for (int64_t i = 0; i < 4; ++i) year += sum(w.select(0, i).narrow(0, length - 4, 4)).item();
    for (int64_t i = 5; i < 7; ++i) month += sum(w.select(0, i).narrow(0, 0, month_name)).item();
    ++dates_seen;
  }
  ASSERT_GT(dates_seen, 50);
  EXPECT_GT(year / (4.0 * dates_seen), 0.8) << "weight on the year's digits while writing the year";
  EXPECT_GT(month / (2.0 * dates_seen), 0.8)
      << "weight on the month's name while writing the month";
}

}  // namespace
