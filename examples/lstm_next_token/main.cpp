// lstm_next_token: an LSTM learns to continue repeating patterns, one token at a time.
//
//   ./lstm_next_token                          motifs of 2 to 4 tokens, repeated to length 16
//   ./lstm_next_token --min-period 3 --max-period 3   always 3 tokens
//
// Each sequence repeats a random motif (model.h beside this file):
//
//   7 2 9 7 2 9 7 2 9 7 2 9 …      after every token the model guesses the next
//
// The model reads the tokens one by one, E[x_t] → LSTM → Linear, and is trained
// with the cross-entropy of its guess of x_{t+1} at every position t, as a
// language model is. Its only memory is its state (h_t, c_t): to continue the
// pattern it must keep the last few tokens there and work out the period. Early
// guesses cannot be right (the motif has not come round yet); from position
// 2·max_period − 1 on, the next token is determined, and that is where accuracy
// is counted. The per-position table at the end shows the difference.
//
// Output: a progress bar on stderr; held-out accuracy by position, a few held-out
// sequences with the model's guesses, the paths of the loss curve, and the final
// `result:` line on stdout.

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "examples/common/checkpoint.h"
#include "examples/common/cli.h"
#include "examples/common/plot.h"
#include "examples/common/prediction.h"
#include "examples/common/progress.h"
#include "examples/lstm_next_token/model.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/serialization.h"

using namespace minigrad;
using namespace minigrad::examples;

namespace {

constexpr const char* kExample = "lstm_next_token";
constexpr const char* kTask = "repeating_patterns";

struct Options {
  CommonOptions common{.steps = 500, .eval_every = 50};
  int64_t length = 16;
  int64_t min_period = 2;
  int64_t max_period = 4;
  int64_t embedding = 32;
  int64_t hidden = 64;
  int64_t batch = 64;
  double lr = 1e-2;
};

Options parse_options(int argc, char** argv) {
  Options o;
  ArgParser parser(kExample,
                   "An LSTM reads sequences that repeat a random motif and learns to predict the\n"
                   "next token: it has to hold the motif in its state and find its period.");
  add_common_options(parser, o.common, /*with_task=*/false);
  parser.add_int("--length", &o.length, "sequence length T", 3, 1024);
  parser.add_int("--min-period", &o.min_period, "shortest motif", 1, 64);
  parser.add_int("--max-period", &o.max_period, "longest motif (T must exceed twice this)", 1, 64);
  parser.add_int("--embedding", &o.embedding, "token embedding width", 1, 4096);
  parser.add_int("--hidden", &o.hidden, "LSTM hidden size H", 1, 4096);
  parser.add_int("--batch", &o.batch, "sequences per training step", 1, 65536);
  parser.add_double("--lr", &o.lr, "Adam learning rate", 0.0, 10.0);
  parse_or_exit(parser, argc, argv);
  if (o.length <= 2 * o.max_period)
    exit_usage_error(kExample, "--length must exceed 2 x --max-period");
  if (o.min_period > o.max_period)
    exit_usage_error(kExample, "--min-period is larger than --max-period");
  return o;
}

// Accuracy at every target position t (the guess of x_{t+1} after reading x_0 … x_t).
void print_accuracy_by_position(const Tensor& predicted, const Tensor& target,
                                int64_t first_scored) {
  const Tensor right = eq(predicted, target).to(DType::Float64);  // 1 where the guess is right
  const auto by_position = mean(right, {0}).to_vector<double>();
  std::printf(
      "\nheld-out accuracy of the guess of x_{t+1}, by position t (scored from t = %lld on):\n  t  "
      " ",
      static_cast<long long>(first_scored));
  for (size_t t = 0; t < by_position.size(); ++t) std::printf("%5zu", t);
  std::printf("\n  acc ");
  for (const double a : by_position) std::printf("%5.2f", a);
  std::printf("\n");
}

// The first few held-out sequences, with the model's guesses one column to the
// right of the token they follow, so each guess sits under the token it predicts.
void print_examples(const NextTokenBatch& data, const Tensor& predicted, int64_t first_scored,
                    int64_t count) {
  const int64_t steps = data.input.size(1);
  std::printf("\nheld-out sequences ('.' = not yet determined, '*' = a wrong guess):\n");
  for (int64_t n = 0; n < count && n < data.input.size(0); ++n) {
    std::printf("  tokens ");
    std::printf("%3lld", static_cast<long long>(data.input.at({n, 0})));
    for (int64_t t = 0; t < steps; ++t)
      std::printf("%3lld", static_cast<long long>(data.target.at({n, t})));
    std::printf("\n  guess     ");
    for (int64_t t = 0; t < steps; ++t) {
      const auto guess = static_cast<long long>(predicted.at({n, t}));
      if (t < first_scored)
        std::printf("  .");
      else if (guess != static_cast<long long>(data.target.at({n, t})))
        std::printf("%2lld*", guess);
      else
        std::printf("%3lld", guess);
    }
    std::printf("\n");
  }
}

int run(const Options& o) {
  const Stopwatch wall;
  const int threads = apply_threads(o.common.threads);
  const RepeatingPatternTask task(o.length, SequenceTask::kDefaultVocab, o.min_period,
                                  o.max_period);
  const auto seed = static_cast<uint64_t>(o.common.seed);
  Generator init_gen(seed);                        // initial weights
  Generator data_gen(seed ^ 0x9e3779b97f4a7c15u);  // training batches: a stream of its own

  NextTokenModel model({.vocab = task.vocab(), .embedding = o.embedding, .hidden = o.hidden},
                       init_gen);
  std::cerr << kExample << ": motifs of " << o.min_period << ".." << o.max_period
            << " tokens repeated to T = " << o.length << ", LSTM " << o.embedding << " -> "
            << o.hidden << ", batch " << o.batch << ", Adam lr " << o.lr << ", " << threads
            << " thread(s), " << model.num_parameters() << " parameters\n";

  nn::Adam optimizer(model.parameters(), nn::AdamOptions(o.lr));
  const int64_t first_step = restore_checkpoint(o.common, model, optimizer, data_gen) + 1;
  TrainingLog log(o.common, o.common.steps, first_step - 1, evaluate(model, task));
  for (int64_t step = first_step; step <= o.common.steps; ++step) {
    const NextTokenBatch batch = task.sample(o.batch, data_gen);
    const Variable logits = model.forward_tokens(batch.input);
    // mean over all B·(T−1) positions of -log p(next token), the determined ones and the guesses
    const Variable loss =
        nn::cross_entropy(logits.reshape({-1, task.vocab()}), batch.target.reshape({-1}));
    optimizer.zero_grad();
    loss.backward();  // through all T−1 steps of the LSTM (backpropagation through time)
    optimizer.step();

    const Accuracy batch_accuracy =
        scored_accuracy(predict_tokens(logits), batch.target, task.first_scored());
    if (log.record(step, loss.item(), batch_accuracy.token, [&] { return evaluate(model, task); }))
      break;
  }
  log.finish();
  report_training_speed(log.steps_trained(), wall.seconds());

  Tensor predicted;
  {
    NoGradGuard no_grad;
    predicted = predict_tokens(model.forward_tokens(task.heldout().input));
  }
  print_accuracy_by_position(predicted, task.heldout().target, task.first_scored());
  print_examples(task.heldout(), predicted, task.first_scored(), 4);
  std::cout << "\n";
  const std::string stem = std::string(kExample) + "_" + kTask;
  report_loss_curve(o.common.out_dir, stem, log.curve(),
                    std::string(kExample) + " (" + kTask + ")");
  save_checkpoint_if_asked(o.common, model, optimizer, log.steps_done(), data_gen);
  std::cout << result_line(kExample, kTask, log.heldout(), log.steps_done(), wall.seconds(),
                           "periods=" + std::to_string(o.min_period) + ".." +
                               std::to_string(o.max_period) + " length=" + std::to_string(o.length))
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_example(kExample, argc, argv, parse_options, run); }
