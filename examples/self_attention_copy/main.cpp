// self_attention_copy: watch self-attention learn where to look.
//
//   ./self_attention_copy                  reverse 12 tokens (the default)
//   ./self_attention_copy --task copy      copy them
//   ./self_attention_copy --unscaled --d 256   leave out the 1/√d (see scaling_experiment)
//
// The model (model.h beside this file has every line of it):
//
//   X = E[x] + P                      token embedding + learned position   [B, T, d]
//   Q = X·W_Qᵀ   K = X·W_Kᵀ   V = X·W_Vᵀ                                     [B, T, d]
//   A = softmax(Q·Kᵀ / √d)            row i: how much output i takes from each input j
//   logits = (A·V)·W_outᵀ + b         [B, T, 16]
//
// Nobody tells the model where to look. W_Q, W_K and W_V start random and are
// learned by backpropagation from the cross-entropy of the answers alone; at the
// end the attention weights of a held-out sequence are drawn: the anti-diagonal
// (A_i,T-1-i ≈ 1) for reverse, the diagonal (A_ii ≈ 1) for copy. In copy a
// repeated token may also pull weight to its other copies: q_i carries the
// token x_i as well as the position i, and any copy of x_i is the right answer.
//
// Output: a progress bar on stderr; the heatmap, the paths of the pictures, and
// one final line `result: example=... heldout_token_acc=...` on stdout.

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "examples/common/checkpoint.h"
#include "examples/common/cli.h"
#include "examples/common/plot.h"
#include "examples/common/prediction.h"
#include "examples/common/progress.h"
#include "examples/self_attention_copy/model.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/serialization.h"

using namespace minigrad;
using namespace minigrad::examples;

namespace {

constexpr const char* kExample = "self_attention_copy";

struct Options {
  // reverse: the anti-diagonal is the more telling picture
  CommonOptions common{.task = "reverse", .steps = 300, .eval_every = 25};
  int64_t d_model = 64;
  int64_t length = 12;
  int64_t batch = 64;
  double lr = 3e-3;
  bool scaled = true;
};

Options parse_options(int argc, char** argv) {
  Options o;
  ArgParser parser(
      kExample,
      "Self-attention (learned W_Q, W_K, W_V) learns to copy or reverse a sequence of\n"
      "tokens; the attention weights show where each output looks.");
  add_common_options(parser, o.common);
  parser.add_int("--d", &o.d_model, "model width d (= d_k)", 1, 4096);
  parser.add_int("--length", &o.length, "sequence length T", 1, 1024);
  parser.add_int("--batch", &o.batch, "sequences per training step", 1, 65536);
  parser.add_double("--lr", &o.lr, "Adam learning rate", 0.0, 10.0);
  parser.add_switch("--scaled", &o.scaled, true, "scores = Q·Kᵀ/√d (the default)");
  parser.add_switch("--unscaled", &o.scaled, false, "scores = Q·Kᵀ, without the 1/√d");
  parse_or_exit(parser, argc, argv);
  return o;
}

int run(const Options& o) {
  const Stopwatch wall;
  const int threads = apply_threads(o.common.threads);
  const Task task_kind = task_from_options(o.common);
  const SequenceTask task(task_kind, o.length);
  const auto seed = static_cast<uint64_t>(o.common.seed);
  Generator init_gen(seed);                        // initial weights
  Generator data_gen(seed ^ 0x9e3779b97f4a7c15u);  // training batches: a stream of its own

  SelfAttentionModel model(
      {.vocab = task.vocab(), .length = o.length, .d_model = o.d_model, .scaled = o.scaled},
      init_gen);
  std::cerr << kExample << ": task " << task_name(task_kind) << ", T = " << o.length
            << ", d = " << o.d_model << (o.scaled ? ", scores / √d" : ", unscaled scores")
            << ", batch " << o.batch << ", Adam lr " << o.lr << ", " << threads << " thread(s), "
            << model.num_parameters() << " parameters\n";

  nn::Adam optimizer(model.parameters(), nn::AdamOptions(o.lr));
  const int64_t first_step = restore_checkpoint(o.common, model, optimizer, data_gen) + 1;
  TrainingLog log(o.common, o.common.steps, first_step - 1, evaluate(model, task.heldout()));
  for (int64_t step = first_step; step <= o.common.steps; ++step) {
    const Batch batch = task.sample(o.batch, data_gen);
    const SelfAttentionModel::Output out = model.forward_tokens(batch.source);
    // mean over all B·T positions of -log p(target token)
    const Variable loss =
        nn::cross_entropy(out.logits.reshape({-1, task.vocab()}), batch.target.reshape({-1}));
    optimizer.zero_grad();
    loss.backward();  // fills .grad of E, P, W_Q, W_K, W_V, W_out, b
    optimizer.step();

    if (log.record(step, loss.item(), accuracy(predict_tokens(out.logits), batch.target).token,
                   [&] { return evaluate(model, task.heldout()); }))
      break;
  }
  log.finish();
  report_training_speed(log.steps_trained(), wall.seconds());

  // Where does each output look? The weights of the first held-out sequence.
  const Tensor source = task.heldout().source.narrow(0, 0, 1);
  SelfAttentionModel::Output shown;
  {
    NoGradGuard no_grad;
    shown = model.forward_tokens(source);
  }
  const HeatmapLabels labels{
      std::string(kExample) + " (" + task_name(task_kind) +
          "): attention weights of a held-out sequence",
      "output token at position i (query)", "input token at position j (key)",
      token_labels(predict_tokens(shown.logits).select(0, 0)), token_labels(source.select(0, 0))};
  const Tensor weights = shown.weights.data().select(0, 0);  // [T, T]
  std::cout << terminal_heatmap(weights, labels);

  const std::string stem = std::string(kExample) + "_" + task_name(task_kind);
  const std::string heatmap_path = o.common.out_dir + "/" + stem + "_attention.svg";
  write_file_atomically(heatmap_path, heatmap_svg(weights, labels));
  std::cout << "wrote " << heatmap_path << "\n";
  report_loss_curve(o.common.out_dir, stem, log.curve(),
                    std::string(kExample) + " (" + task_name(task_kind) + ")");
  save_checkpoint_if_asked(o.common, model, optimizer, log.steps_done(), data_gen);
  std::cout << result_line(kExample, task_kind, log.heldout(), log.steps_done(), wall.seconds())
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_example(kExample, argc, argv, parse_options, run); }
