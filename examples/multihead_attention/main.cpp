// multihead_attention: one head makes one choice per query, several heads make several.
//
//   ./multihead_attention               4 heads (the default): solved in a few hundred steps
//   ./multihead_attention --heads 1     one head: stays near chance
//
// The task (model.h beside this file): read 12 tokens, write
//
//   y_i = (x_i + x_{T−1−i}) mod 16        output i needs its own token AND its mirror's
//
// The model: X = E[x] + P → nn::MultiheadAttention (d = 64) → Linear to 16 logits.
// After the softmaxes everything is linear (W_V, W_O, the readout), so a sum mod 16
// of two tokens cannot be read off one fixed mixture of their values. What is not
// linear is the choice of weights: q_i carries x_i and k_j carries x_j, so how a
// head splits its weight between positions i and T−1−i depends on both tokens.
// One head makes one such choice per query; four heads make four, and the readout
// combines them. The heads do NOT split neatly into "one looks at i, one at
// T−1−i": each trained head puts most of its weight on {i, T−1−i} and leans
// towards one or the other depending on the tokens (the table at the end shows it).
//
// Output: a progress bar on stderr; one heatmap per head, the weight table, the
// paths of the pictures, and the final `result:` line on stdout.

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "examples/common/checkpoint.h"
#include "examples/common/cli.h"
#include "examples/common/plot.h"
#include "examples/common/prediction.h"
#include "examples/common/progress.h"
#include "examples/multihead_attention/model.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/scheduler.h"
#include "minigrad/nn/serialization.h"

using namespace minigrad;
using namespace minigrad::examples;

namespace {

constexpr const char* kExample = "multihead_attention";
constexpr const char* kTask = "mirror_sum";

struct Options {
  CommonOptions common{.steps = 1500, .eval_every = 25};
  int64_t heads = 4;
  int64_t d_model = 64;
  int64_t length = 12;
  int64_t batch = 64;
  double lr = 3e-3;
  std::string schedule = "cosine";
};

Options parse_options(int argc, char** argv) {
  Options o;
  ArgParser parser(
      kExample,
      "nn::MultiheadAttention learns y_i = (x_i + x_{T-1-i}) mod 16, which needs two\n"
      "inputs per output: one head makes one choice per query, several heads make several.");
  add_common_options(parser, o.common, /*with_task=*/false);
  parser.add_int("--heads", &o.heads, "attention heads (d must be divisible by it)", 1, 4096);
  parser.add_int("--d", &o.d_model, "model width d (each head gets d / heads)", 1, 4096);
  parser.add_int("--length", &o.length, "sequence length T", 1, 1024);
  parser.add_int("--batch", &o.batch, "sequences per training step", 1, 65536);
  parser.add_double("--lr", &o.lr, "Adam learning rate", 0.0, 10.0);
  parser.add_choice("--schedule", &o.schedule, {"cosine", "constant"},
                    "learning rate: cosine decay from --lr to 0 at the last step, or constant");
  parse_or_exit(parser, argc, argv);
  if (o.d_model % o.heads != 0) {
    exit_usage_error(kExample, "--d " + std::to_string(o.d_model) +
                                   " is not divisible by --heads " + std::to_string(o.heads));
  }
  return o;
}

// Where each head looks, averaged over the held-out queries: the weight on the
// query's own position i, on its mirror T−1−i, and on the other T−2 positions.
void print_head_table(const Tensor& weights /* [N, h, T, T] */) {
  const Tensor w = weights.contiguous();
  const int64_t N = w.size(0), H = w.size(1), T = w.size(2);
  const float* p = w.data<float>();
  std::printf(
      "\nwhere each head looks (mean weight over %lld held-out sequences x %lld queries):\n",
      static_cast<long long>(N), static_cast<long long>(T));
  std::printf("  head   on i   on T-1-i   elsewhere   queries whose larger weight is on i\n");
  for (int64_t h = 0; h < H; ++h) {
    double own = 0, mirror = 0;
    int64_t own_wins = 0;
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t i = 0; i < T; ++i) {
        const float* row = p + ((n * H + h) * T + i) * T;
        own += row[i];
        mirror += row[T - 1 - i];
        own_wins += row[i] > row[T - 1 - i];
      }
    }
    const double queries = static_cast<double>(N * T);
    std::printf("  %4lld   %.3f   %.3f      %.3f       %.3f\n", static_cast<long long>(h + 1),
                own / queries, mirror / queries, 1.0 - (own + mirror) / queries,
                static_cast<double>(own_wins) / queries);
  }
}

int run(const Options& o) {
  const Stopwatch wall;
  const int threads = apply_threads(o.common.threads);
  const MirrorSumTask task(o.length);
  const auto seed = static_cast<uint64_t>(o.common.seed);
  Generator init_gen(seed);                        // initial weights
  Generator data_gen(seed ^ 0x9e3779b97f4a7c15u);  // training batches: a stream of its own

  MultiHeadModel model(
      {.vocab = task.vocab(), .length = o.length, .d_model = o.d_model, .heads = o.heads},
      init_gen);
  std::cerr << kExample << ": task " << kTask << ", T = " << o.length << ", d = " << o.d_model
            << ", " << o.heads << " head(s) of d_k = " << o.d_model / o.heads << ", batch "
            << o.batch << ", Adam lr " << o.lr << ", " << threads << " thread(s), "
            << model.num_parameters() << " parameters\n";

  nn::Adam optimizer(model.parameters(), nn::AdamOptions(o.lr));
  // At a constant 3e-3, Adam keeps the held-out accuracy of a solved model
  // jittering between about 0.98 and 0.998 from step to step; decaying the rate,
  //   lr(t) = ½·lr·(1 + cos(π t / steps))   (step t + 1 trains with lr(t)),
  // lets the last steps settle instead.
  std::unique_ptr<nn::LRScheduler> scheduler;
  if (o.schedule == "cosine") {
    scheduler = std::make_unique<nn::WarmupCosineLR>(
        optimizer, nn::WarmupCosineLROptions(std::max<int64_t>(1, o.common.steps)));
  }
  const int64_t first_step =
      restore_checkpoint(o.common, model, optimizer, data_gen, scheduler.get()) + 1;
  TrainingLog log(o.common, o.common.steps, first_step - 1, evaluate(model, task.heldout()));
  for (int64_t step = first_step; step <= o.common.steps; ++step) {
    const Batch batch = task.sample(o.batch, data_gen);
    const MultiHeadModel::Output out = model.forward_tokens(batch.source);
    // mean over all B·T positions of -log p(target token)
    const Variable loss =
        nn::cross_entropy(out.logits.reshape({-1, task.vocab()}), batch.target.reshape({-1}));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (scheduler) scheduler->step();

    if (log.record(step, loss.item(), accuracy(predict_tokens(out.logits), batch.target).token,
                   [&] { return evaluate(model, task.heldout()); }))
      break;
  }
  log.finish();
  report_training_speed(log.steps_trained(), wall.seconds());

  // Every head's weights for the first held-out sequence, and for the table all of them.
  MultiHeadModel::Output all;
  {
    NoGradGuard no_grad;
    all = model.forward_tokens(task.heldout().source);
  }
  const Tensor source = task.heldout().source.select(0, 0);
  const std::vector<std::string> outputs = token_labels(predict_tokens(all.logits).select(0, 0));
  const std::string stem = std::string(kExample) + "_" + kTask;
  std::vector<std::string> written;
  for (int64_t h = 0; h < o.heads; ++h) {
    const HeatmapLabels labels{std::string(kExample) + " (" + kTask + "): head " +
                                   std::to_string(h + 1) + " of " + std::to_string(o.heads) +
                                   ", a held-out sequence",
                               "output token at position i (query)",
                               "input token at position j (key)", outputs, token_labels(source)};
    const Tensor weights = all.weights.data().select(0, 0).select(0, h);  // [T, T]
    std::cout << terminal_heatmap(weights, labels) << "\n";
    const std::string path =
        o.common.out_dir + "/" + stem + "_head" + std::to_string(h + 1) + ".svg";
    write_file_atomically(path, heatmap_svg(weights, labels));
    written.push_back(path);
  }
  print_head_table(all.weights.data());
  std::cout << "\n";
  for (const std::string& path : written) std::cout << "wrote " << path << "\n";
  report_loss_curve(o.common.out_dir, stem, log.curve(),
                    std::string(kExample) + " (" + kTask + ")");
  save_checkpoint_if_asked(o.common, model, optimizer, log.steps_done(), data_gen, scheduler.get());
  std::cout << result_line(kExample, kTask, log.heldout(), log.steps_done(), wall.seconds(),
                           "heads=" + std::to_string(o.heads))
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_example(kExample, argc, argv, parse_options, run); }
