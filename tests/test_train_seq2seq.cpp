// End-to-end training of the LSTM encoder-decoder of examples/seq2seq_attention
// (the SEQ2SEQ workload: embedding 32, hidden 64, batch 64, Adam 3e-3, teacher
// forcing, the gradient norm clipped to 1, the rate held, then decayed over the
// last 30 % of the example's 1,000 steps) with dot attention: it learns to copy
// 12 tokens, measured with greedy decoding on the 1,000 held-out sequences.
//
// Seeded: every run trains the same steps. One OpenMP thread, as in
// test_train_self_attention.cpp: the model is small, and one thread does not
// wait for a core busy with another test.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "examples/common/cli.h"
#include "examples/seq2seq_attention/model.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/serialization.h"
#include "testing.h"

namespace {

using namespace minigrad;
using namespace minigrad::examples;
using minigrad::testing::child_modules;
using minigrad::testing::kSanitized;

constexpr int64_t kEvalEvery = 50;
// The example's --steps, --lr, --clip and --decay-from: every run here follows the
// first steps of `seq2seq_attention` with its defaults, whatever its own cap.
constexpr int64_t kExampleSteps = 1000;
constexpr double kLr = 3e-3, kMaxGradNorm = 1.0, kDecayFrom = 0.7;

struct CopyRun {
  Accuracy before, heldout;
  int64_t steps = 0;
  double first_loss = 0, last_loss = 0;
};

struct RunOptions {
  Task task = Task::Copy;
  AttentionKind attention = AttentionKind::Dot;
  CellKind cell = CellKind::LSTM;
  uint64_t seed = 1;
};

// Trains the model (T = 12) as examples/seq2seq_attention does with its defaults
// and --seed, evaluating every kEvalEvery steps; stops at the first evaluation with
// token accuracy ≥ stop_at, or after max_steps.
CopyRun train_copy(int64_t max_steps, double stop_at, const RunOptions& o = {}) {
  const ScopedThreads one_thread(1);
  const SequenceTask task(o.task, 12);
  Generator init_gen(o.seed), data_gen(o.seed ^ 0x9e3779b97f4a7c15u);
  Seq2SeqModel model({.source_vocab = 16,
                      .target_vocab = 16,
                      .embedding = 32,
                      .hidden = 64,
                      .attention = o.attention,
                      .cell = o.cell},
                     init_gen);
  nn::Adam optimizer(model.parameters(), nn::AdamOptions(kLr));
  CopyRun run;
  run.before = evaluate(model, task.heldout());
  while (run.steps < max_steps) {
    const Batch batch = task.sample(64, data_gen);
    const Variable logits = model.forward_teacher_forcing(batch.source, batch.target);
    const Variable loss = nn::cross_entropy(logits.reshape({-1, 16}), batch.target.reshape({-1}));
    optimizer.zero_grad();
    loss.backward();
    nn::utils::clip_grad_norm_(model.parameters(), kMaxGradNorm);
    optimizer.set_lr(hold_then_cosine_lr(kLr, kDecayFrom, run.steps + 1, kExampleSteps));
    optimizer.step();
    ++run.steps;
    run.last_loss = loss.item();
    if (run.steps == 1) run.first_loss = run.last_loss;
    if (run.steps % kEvalEvery == 0 || run.steps == max_steps) {
      run.heldout = evaluate(model, task.heldout());
      if (run.heldout.token >= stop_at) break;
    }
  }
  return run;
}

// The held-out accuracy and the steps it took, on the test's output.
void print_accuracy(const CopyRun& run) {
  std::cout << "[ info     ] held-out token accuracy " << run.heldout.token
            << ", sequence accuracy " << run.heldout.sequence << " after " << run.steps
            << " steps\n";
}

// What a run that was trained until it solved the task shows: it started near
// chance, its loss fell by more than 10x, and it ends at ≥ 0.99 held-out token
// accuracy. The steps are recorded as the gtest property "steps".
void expect_solved(const CopyRun& run) {
  print_accuracy(run);
  ::testing::Test::RecordProperty("steps", std::to_string(run.steps));
  EXPECT_LT(run.before.token, 0.2) << "the untrained model should be near chance (1/16)";
  EXPECT_LT(run.last_loss, run.first_loss / 10) << "the training loss should fall by more than 10x";
  EXPECT_GE(run.heldout.token, 0.99)
      << "held-out token accuracy (greedy decoding) after " << run.steps << " steps";
}

// The short run: every code path of training and greedy decoding (and so what
// the sanitizers check), and the first part of the learning curve.
TEST(TrainSeq2Seq, DotAttentionLearnsCopy) {
  const CopyRun run = train_copy(100, /*stop_at=*/2.0);  // accuracy never reaches 2: all 100 steps
  EXPECT_LT(run.before.token, 0.2) << "the untrained model should be near chance (1/16)";
  EXPECT_LT(run.last_loss, run.first_loss / 3)
      << "the training loss should fall by more than 3x in 100 steps";
  EXPECT_GT(run.heldout.token, 0.5) << "held-out token accuracy after 100 steps (measured: 0.82)";
}

// With seed 1 held-out token accuracy first reaches 0.99 at step 350 (measured,
// the same in the Release and the sanitizer builds); the cap leaves room.
TEST(TrainSeq2Seq, DotAttentionSolvesCopyAtLength12) {
  if (kSanitized) {
    GTEST_SKIP()
        << "~38 s of CPU under AddressSanitizer; DotAttentionLearnsCopy runs the same code under "
           "the sanitizers, and the Release build runs this one";
  }
  const CopyRun run = train_copy(800, 0.99);
  expect_solved(run);
}

// Without attention the decoder takes only the embedding (no context) and the
// readout sees only h_t: the "none" baseline of the sweep is the plain model.
TEST(TrainSeq2Seq, NoAttentionModelFeedsNoContext) {
  Generator gen(1);
  Seq2SeqModel model({.source_vocab = 16,
                      .target_vocab = 16,
                      .embedding = 32,
                      .hidden = 64,
                      .attention = AttentionKind::None},
                     gen);
  EXPECT_EQ(child_modules(model),
            "source_embedding:Embedding target_embedding:Embedding encoder:LSTM decoder:LSTMCell "
            "readout:Linear");
  EXPECT_EQ(model.parameter("decoder.weight_ih").shape(),
            (Shape{4 * 64, 32}));  // the embedding alone
  EXPECT_EQ(model.readout->options.in_features(), 64);
  const SequenceTask task(Task::Copy, 5);
  const Seq2SeqModel::Decoded d = model.greedy_decode(task.heldout().source.narrow(0, 0, 3), 5);
  EXPECT_EQ(d.tokens.shape(), (Shape{3, 5}));
  EXPECT_FALSE(d.weights.defined());

  Generator gen2(1);
  Seq2SeqModel attending({.source_vocab = 16,
                          .target_vocab = 16,
                          .embedding = 32,
                          .hidden = 64,
                          .attention = AttentionKind::Dot},
                         gen2);
  // [embedding; previous context]
  EXPECT_EQ(attending.parameter("decoder.weight_ih").shape(), (Shape{4 * 64, 32 + 64}));
  EXPECT_EQ(attending.readout->options.in_features(), 128);  // [h_t; c_t]
  const Seq2SeqModel::Decoded a = attending.greedy_decode(task.heldout().source.narrow(0, 0, 3), 5);
  ASSERT_TRUE(a.weights.defined());
  EXPECT_EQ(a.weights.shape(), (Shape{3, 5, 5}));
  // every decoder step's weights over the source sum to 1
  EXPECT_TRUE(allclose(sum(a.weights, {2}), Tensor::ones({3, 5}), 1e-5, 1e-5));
}

// The model's Decoder under nn::beam_search: reorder() keeps each hypothesis's
// recurrent state, context and encoder states on its row, so every hypothesis
// returned has the log P that teacher forcing gives its tokens (a row with another
// row's state would not). Width 1 decodes as the model's greedy_decode.
TEST(TrainSeq2Seq, BeamSearchDrivesTheModelsDecoder) {
  Generator gen(3);
  Seq2SeqModel model({.source_vocab = 16,
                      .target_vocab = 16,
                      .embedding = 32,
                      .hidden = 64,
                      .attention = AttentionKind::Dot},
                     gen);
  const SequenceTask task(Task::Copy, 5);
  const Tensor source = task.heldout().source.narrow(0, 0, 3);
  Seq2SeqModel::Decoder decoder(model, source);
  const nn::BeamSearchOutput out =
      nn::beam_search(decoder, nn::BeamSearchOptions(4).start_symbol(model.bos()).max_length(5));
  ASSERT_EQ(out.beams.size(), size_t{3});
  NoGradGuard no_grad;
  for (int64_t b = 0; b < 3; ++b) {
    const std::vector<nn::Hypothesis>& beams = out.beams[static_cast<size_t>(b)];
    ASSERT_EQ(beams.size(), size_t{4});
    for (const nn::Hypothesis& h : beams) {
      const Tensor tokens = Tensor::from_vector(h.tokens, {1, 5});
      const Tensor logits =
          model.forward_teacher_forcing(source.narrow(0, b, 1), tokens).data();  // [1, 5, 16]
      const Tensor log_p = gather(log_softmax(logits, -1), 2, tokens.unsqueeze(2));
      EXPECT_NEAR(h.log_prob, sum(log_p.to(DType::Float64)).item(), 1e-4) << "element " << b;
    }
    for (size_t i = 1; i < beams.size(); ++i) EXPECT_GE(beams[i - 1].score, beams[i].score);
  }
  Seq2SeqModel::Decoder single(model, source);
  const Tensor width_one =
      nn::beam_search(single, nn::BeamSearchOptions(1).start_symbol(model.bos()).max_length(5))
          .tokens;
  EXPECT_EQ(width_one.to_vector<int64_t>(),
            model.greedy_decode(source, 5).tokens.to_vector<int64_t>());
}

// ---- GRU cells and additive (Bahdanau) attention ----------------------------------------------

// `--cell gru --attention additive` of the example, seed 1: held-out token accuracy
// first reaches 0.99 at step 300 (measured: 0.993; 0.982 at 250). The cap leaves
// room; training stops at the first evaluation that passes. ~2 s in Release on one
// core.
TEST(TrainSeq2Seq, GruWithAdditiveAttentionSolvesCopyAtLength12) {
  if (kSanitized) {
    GTEST_SKIP() << "several times slower under AddressSanitizer; GruWithAdditiveAttentionModel "
                    "runs the same code under the sanitizers, and the Release build runs this one";
  }
  const CopyRun run =
      train_copy(500, 0.99, {.attention = AttentionKind::Additive, .cell = CellKind::GRU});
  expect_solved(run);
}

// The GRU + additive model: which modules it builds, the shapes it decodes, a few
// training steps (the code paths the sanitizers check), and a checkpoint round trip.
TEST(TrainSeq2Seq, GruWithAdditiveAttentionModel) {
  Generator gen(1);
  const Seq2SeqConfig config{.source_vocab = 16,
                             .target_vocab = 16,
                             .embedding = 32,
                             .hidden = 64,
                             .attention = AttentionKind::Additive,
                             .cell = CellKind::GRU};
  Seq2SeqModel model(config, gen);
  EXPECT_EQ(child_modules(model),
            "source_embedding:Embedding target_embedding:Embedding encoder:GRU decoder:GRUCell "
            "attention:AdditiveAttention readout:Linear");
  // [embedding; previous context]
  EXPECT_EQ(model.parameter("decoder.weight_ih").shape(), (Shape{3 * 64, 32 + 64}));
  EXPECT_EQ(model.parameter("encoder.weight_ih_l0").shape(), (Shape{3 * 64, 32}));
  EXPECT_EQ(model.parameter("attention.w_q.weight").shape(), (Shape{64, 64}));
  EXPECT_EQ(model.parameter("attention.v.weight").shape(), (Shape{1, 64}));

  const SequenceTask task(Task::Copy, 6);
  nn::Adam optimizer(model.parameters(), nn::AdamOptions(3e-3));
  Generator data_gen(2);
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    const Batch batch = task.sample(16, data_gen);
    const Variable loss = nn::cross_entropy(
        model.forward_teacher_forcing(batch.source, batch.target).reshape({-1, 16}),
        batch.target.reshape({-1}));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    (step == 0 ? first : last) = loss.item();
  }
  EXPECT_LT(last, first) << "20 steps should lower the loss";
  const Tensor source = task.heldout().source.narrow(0, 0, 3);
  const Seq2SeqModel::Decoded d = model.greedy_decode(source, 6);
  EXPECT_EQ(d.tokens.shape(), (Shape{3, 6}));
  ASSERT_TRUE(d.weights.defined());
  EXPECT_EQ(d.weights.shape(), (Shape{3, 6, 6}));
  EXPECT_TRUE(allclose(sum(d.weights, {2}), Tensor::ones({3, 6}), 1e-5, 1e-5));

  // --save / --load: a model from another seed decodes the same after loading.
  const std::string path = ::testing::TempDir() + "/seq2seq_gru_additive.safetensors";
  nn::save(model, path);
  Generator other(99);
  Seq2SeqModel loaded(config, other);
  nn::load(loaded, path);
  const Seq2SeqModel::Decoded e = loaded.greedy_decode(source, 6);
  EXPECT_EQ(max_abs_diff(d.weights, e.weights), 0.0);
  EXPECT_EQ(max_abs_diff(d.tokens.to(DType::Float64), e.tokens.to(DType::Float64)), 0.0);
  // A GRU checkpoint does not fit the LSTM model: [3H, …] weights where it needs [4H, …].
  Generator third(1);
  Seq2SeqModel lstm_model({.source_vocab = 16,
                           .target_vocab = 16,
                           .embedding = 32,
                           .hidden = 64,
                           .attention = AttentionKind::Additive},
                          third);
  EXPECT_ANY_THROW(nn::load(lstm_model, path));
  std::remove(path.c_str());
}

// The names a checkpoint stores, in the order the optimizer sees the parameters:
// the same for every cell, the attention's own between the decoder and the readout.
TEST(TrainSeq2Seq, ParameterNamesAndOrder) {
  const auto names = [](CellKind cell, AttentionKind attention) {
    Generator gen(1);
    Seq2SeqModel model({.source_vocab = 16,
                        .target_vocab = 16,
                        .embedding = 8,
                        .hidden = 8,
                        .attention = attention,
                        .cell = cell},
                       gen);
    std::string out;
    for (const auto& [name, value] : model.named_parameters())
      out += (out.empty() ? "" : " ") + name;
    return out;
  };
  const std::string recurrent =
      "source_embedding.weight target_embedding.weight encoder.weight_ih_l0 encoder.weight_hh_l0 "
      "encoder.bias_ih_l0 encoder.bias_hh_l0 decoder.weight_ih decoder.weight_hh decoder.bias_ih "
      "decoder.bias_hh";
  for (const CellKind cell : {CellKind::LSTM, CellKind::GRU}) {
    for (const AttentionKind attention :
         {AttentionKind::None, AttentionKind::Dot, AttentionKind::Scaled}) {
      EXPECT_EQ(names(cell, attention), recurrent + " readout.weight readout.bias");
    }
    EXPECT_EQ(names(cell, AttentionKind::Additive),
              recurrent +
                  " attention.w_q.weight attention.w_k.weight attention.v.weight readout.weight "
                  "readout.bias");
  }
}

// ---- every seed --------------------------------------------------------------------------------

// The two configurations slowest to settle, at the seeds where a constant rate without
// clipping ended the example's 1,000 steps below 0.99: reverse with dot attention
// (seeds 1, 4, 6: 0.981, 0.961, 0.965; gradient-norm cliffs of 40-50 where the
// usual norm is 1-3) and GRU with additive attention (seed 3: solved by step 250,
// then 0.701 when the loss jumped from 0.001 to 7.8 at step 972). The whole run, as
// the example trains it; its final accuracy is what the example promises.
struct SeedCase {
  const char* name;
  RunOptions options;
  /// gtest prints the parameter of a failing case by its name, not its bytes.
  friend void PrintTo(const SeedCase& c, std::ostream* os) { *os << c.name; }
};

class TrainSeq2SeqSeeds : public ::testing::TestWithParam<SeedCase> {};

TEST_P(TrainSeq2SeqSeeds, SolvesWithTheExampleDefaults) {
  if (kSanitized) {
    GTEST_SKIP()
        << "the example's 1,000 steps, several times slower under AddressSanitizer; "
           "DotAttentionLearnsCopy and GruWithAdditiveAttentionModel run the same code there";
  }
  const CopyRun run = train_copy(kExampleSteps, /*stop_at=*/2.0, GetParam().options);  // every step
  print_accuracy(run);
  EXPECT_GE(run.heldout.token, 0.99) << "held-out token accuracy at the end of the example's run";
}

INSTANTIATE_TEST_SUITE_P(
    SlowestToSettle, TrainSeq2SeqSeeds,
    ::testing::Values(
        SeedCase{"ReverseDotSeed1", {.task = Task::Reverse, .seed = 1}},
        SeedCase{"ReverseDotSeed4", {.task = Task::Reverse, .seed = 4}},
        SeedCase{"ReverseDotSeed6", {.task = Task::Reverse, .seed = 6}},
        SeedCase{"GruAdditiveSeed3",
                 {.attention = AttentionKind::Additive, .cell = CellKind::GRU, .seed = 3}}),
    [](const ::testing::TestParamInfo<SeedCase>& p) { return std::string(p.param.name); });

// The words of --cell and --attention and back; anything else is refused.
TEST(TrainSeq2Seq, CellAndAttentionNames) {
  for (const CellKind c : {CellKind::LSTM, CellKind::GRU})
    EXPECT_EQ(cell_from_name(cell_name(c)), c);
  for (const AttentionKind a :
       {AttentionKind::None, AttentionKind::Dot, AttentionKind::Scaled, AttentionKind::Additive})
    EXPECT_EQ(attention_from_name(attention_name(a)), a);
  EXPECT_STREQ(cell_name(CellKind::GRU), "gru");
  EXPECT_STREQ(attention_name(AttentionKind::Additive), "additive");
  EXPECT_THROW(cell_from_name("rnn"), std::invalid_argument);
  EXPECT_THROW(cell_from_name("GRU"), std::invalid_argument);
  EXPECT_THROW(attention_from_name("bahdanau"), std::invalid_argument);
  try {
    cell_from_name("rnn");
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown cell 'rnn' (expected lstm or gru)");
  }
  try {
    attention_from_name("bahdanau");
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown attention 'bahdanau' (expected none, dot, scaled or additive)");
  }
}

}  // namespace
