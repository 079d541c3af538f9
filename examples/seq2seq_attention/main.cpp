// seq2seq_attention: an LSTM (or GRU) encoder-decoder with and without attention.
//
//   ./seq2seq_attention                       copy 12 tokens, dot attention
//   ./seq2seq_attention --attention none      the same without attention
//   ./seq2seq_attention --cell gru --attention additive   GRU cells, Bahdanau attention
//   ./seq2seq_attention --sweep               every attention kind at T = 5, 10, 20, 40
//
// The model (model.h beside this file has every line of it): an LSTM
// encoder reads the source into hidden states h^enc_1 … h^enc_T; an LSTM
// decoder writes the answer one token at a time. At each step t the decoder's
// state h_t is the query, the encoder states are the keys and the values:
//
//   score_tj = h_t · h^enc_j       a_t = softmax_j(score_t)       c_t = Σ_j a_tj h^enc_j
//   logits_t = W_out [h_t ; c_t] + b
//
// Without attention the decoder knows the source only through the encoder's
// last state, one vector of 64 numbers. It holds 5 tokens; it cannot hold 20
// (the long-term dependency problem). With attention the decoder looks the
// token up again at every step, and the length stops mattering. `--sweep`
// measures exactly that.
//
// Training feeds the decoder the true previous token (teacher forcing);
// evaluation feeds it its own previous guess (greedy decoding), so one early
// mistake can derail the rest of a held-out sequence, as in real use.
//
// Two parts of the recipe keep a solved model solved, whatever the seed.
// Backpropagation through the decoder's steps (input feeding carries each
// context into the next step) now and then meets a cliff: one batch's gradient
// norm jumps 10–100× (reverse with dot attention, additive attention), and the
// jump, carried by Adam's momentum for ~10 steps, throws the loss back to where
// it stood 70 steps earlier. --clip scales such a gradient back to norm 1
// (Pascanu et al.; Bahdanau et al. clip at 1 too). And Adam divides by the root
// of the gradient's running second moment, so once the loss is near 0 and the
// gradient tiny, its steps still have the size of the rate: at a constant rate
// the model drifts until the loss jumps from 0.001 to ~8 in a few steps.
// Decaying the rate to 0 over the last 30 % of the steps lets them settle;
// holding it until then keeps the slow learners (scaled attention) learning at
// full speed. `--clip 0 --decay-from 1` shows both failures.

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "examples/common/checkpoint.h"
#include "examples/common/cli.h"
#include "examples/common/plot.h"
#include "examples/common/prediction.h"
#include "examples/common/progress.h"
#include "examples/seq2seq_attention/model.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/serialization.h"

using namespace minigrad;
using namespace minigrad::examples;

namespace {

constexpr const char* kExample = "seq2seq_attention";
const std::vector<int64_t> kSweepLengths = {5, 10, 20, 40};
const std::vector<AttentionKind> kSweepKinds = {AttentionKind::None, AttentionKind::Dot,
                                                AttentionKind::Scaled};

struct Options {
  CommonOptions common{.steps = 1000, .eval_every = 50};
  std::string attention = "dot";
  std::string cell = "lstm";
  int64_t length = 12;
  int64_t embedding = 32;
  int64_t hidden = 64;
  int64_t batch = 64;
  double lr = 3e-3;
  double clip = 1.0;
  double decay_from = 0.7;
  bool sweep = false;
  int64_t sweep_steps = 1500;
};

Options parse_options(int argc, char** argv) {
  Options o;
  ArgParser parser(
      kExample,
      "An LSTM (or GRU) encoder-decoder copies or reverses a sequence, with dot-product,\n"
      "scaled dot-product or additive attention, or none; --sweep shows how each copes with\n"
      "length.");
  add_common_options(parser, o.common);
  parser.add_choice("--attention", &o.attention, {"none", "dot", "scaled", "additive"},
                    "score = h_t·h_enc (dot), h_t·h_enc/√H (scaled), vᵀtanh(W_q h_t + W_k h_enc) "
                    "(additive), or no attention at all");
  parser.add_choice("--cell", &o.cell, {"lstm", "gru"},
                    "the recurrent cell of the encoder and the decoder");
  parser.add_int("--length", &o.length, "sequence length T", 1, 1000);
  parser.add_int("--embedding", &o.embedding, "token embedding width E", 1, 4096);
  parser.add_int("--hidden", &o.hidden, "hidden size H of the encoder and the decoder", 1, 4096);
  parser.add_int("--batch", &o.batch, "sequences per training step", 1, 65536);
  parser.add_double("--lr", &o.lr, "Adam learning rate", 0.0, 10.0);
  parser.add_double("--clip", &o.clip,
                    "clip the gradient's global L2 norm to this before each step (0: never)", 0.0,
                    1e9);
  parser.add_double(
      "--decay-from", &o.decay_from,
      "the learning rate stays at --lr for this fraction of the steps, then falls along "
      "a cosine to 0 at the last step (1: constant)",
      0.0, 1.0);
  parser.add_switch("--sweep", &o.sweep, true,
                    "train none, dot and scaled at T = 5, 10, 20, 40 and print a table (--task and "
                    "--cell apply)");
  parser.add_int("--sweep-steps", &o.sweep_steps, "training steps of each --sweep run", 1,
                 100'000'000);
  parse_or_exit(parser, argc, argv);
  if (o.sweep && o.common.uses_checkpoints()) {
    exit_usage_error(kExample,
                     "--save, --load and --resume do not apply to --sweep, which trains 12 models");
  }
  return o;
}

struct RunResult {
  Accuracy heldout;          // at the end
  int64_t steps = 0;         // steps trained
  int64_t steps_to_99 = -1;  // first evaluation at ≥ 0.99 token accuracy; -1: never
  TrainingCurve curve;
};

// Trains `model` on `task` from step first_step to `steps`, evaluating on the held-out
// set every eval_every steps (and at the end).
RunResult train(Seq2SeqModel& model, nn::Optimizer& optimizer, const SequenceTask& task,
                const Options& o, int64_t first_step, int64_t steps, Generator& data_gen,
                bool draw_progress) {
  RunResult result;
  TrainingLog log(o.common, steps, first_step - 1, evaluate(model, task.heldout()), draw_progress);
  for (int64_t step = first_step; step <= steps; ++step) {
    const Batch batch = task.sample(o.batch, data_gen);
    const Variable logits =
        model.forward_teacher_forcing(batch.source, batch.target);  // [B, T, 16]
    const Variable loss =
        nn::cross_entropy(logits.reshape({-1, task.vocab()}), batch.target.reshape({-1}));
    optimizer.zero_grad();
    loss.backward();  // back through every decoder step, the attention, and the encoder
    if (o.clip > 0) nn::utils::clip_grad_norm_(model.parameters(), o.clip);
    optimizer.set_lr(hold_then_cosine_lr(o.lr, o.decay_from, step, steps));
    optimizer.step();

    const auto evaluate_heldout = [&] {
      const Accuracy heldout = evaluate(model, task.heldout());
      if (result.steps_to_99 < 0 && heldout.token >= 0.99) result.steps_to_99 = step;
      return heldout;
    };
    if (log.record(step, loss.item(), accuracy(predict_tokens(logits), batch.target).token,
                   evaluate_heldout))
      break;
  }
  log.finish();
  result.heldout = log.heldout();
  result.steps = log.steps_done();
  result.curve = log.curve();
  return result;
}

std::string settings_text(CellKind cell, AttentionKind kind, int64_t length) {
  return std::string("cell=") + cell_name(cell) + " attention=" + attention_name(kind) +
         " length=" + std::to_string(length);
}

int run_single(const Options& o) {
  const Stopwatch wall;
  const int threads = apply_threads(o.common.threads);
  const Task task_kind = task_from_options(o.common);
  const AttentionKind kind = attention_from_name(o.attention);
  const CellKind cell = cell_from_name(o.cell);
  const SequenceTask task(task_kind, o.length);
  const auto seed = static_cast<uint64_t>(o.common.seed);
  Generator init_gen(seed);
  Generator data_gen(seed ^ 0x9e3779b97f4a7c15u);

  Seq2SeqModel model({.source_vocab = task.vocab(),
                      .target_vocab = task.vocab(),
                      .embedding = o.embedding,
                      .hidden = o.hidden,
                      .attention = kind,
                      .cell = cell},
                     init_gen);
  nn::Adam optimizer(model.parameters(), nn::AdamOptions(o.lr));
  const int64_t first_step = restore_checkpoint(o.common, model, optimizer, data_gen) + 1;
  std::cerr << kExample << ": task " << task_name(task_kind) << ", T = " << o.length << ", cell "
            << cell_name(cell) << ", attention " << attention_name(kind) << ", batch " << o.batch
            << ", Adam lr " << o.lr << ", " << threads << " thread(s), " << model.num_parameters()
            << " parameters\n";

  const RunResult result =
      train(model, optimizer, task, o, first_step, o.common.steps, data_gen, true);
  report_training_speed(result.steps - (first_step - 1), wall.seconds());

  // Where does the decoder look at each step? The first held-out sequence.
  // The LSTM's file names stay as they were; the GRU's carry the cell.
  const std::string stem = std::string(kExample) + "_" + task_name(task_kind) + "_" +
                           (cell == CellKind::GRU ? "gru_" : "") + attention_name(kind);
  const Tensor source = task.heldout().source.narrow(0, 0, 1);
  const Seq2SeqModel::Decoded decoded = model.greedy_decode(source, o.length);
  if (decoded.weights.defined()) {
    const Tensor weights = decoded.weights.select(0, 0);  // [T_out, T_in]
    const HeatmapLabels labels{
        std::string(kExample) + " (" + task_name(task_kind) + ", " + attention_name(kind) +
            "): decoder attention over the source",
        "output token at step t (query h_t)", "source token at position j (key h_enc_j)",
        token_labels(decoded.tokens.select(0, 0)), token_labels(source.select(0, 0))};
    std::cout << terminal_heatmap(weights, labels);
    const std::string heatmap_path = o.common.out_dir + "/" + stem + "_attention.svg";
    write_file_atomically(heatmap_path, heatmap_svg(weights, labels));
    std::cout << "wrote " << heatmap_path << "\n";
  } else {
    std::cout << "source " << source.select(0, 0).str() << "\ndecoded "
              << decoded.tokens.select(0, 0).str()
              << "\n(no attention weights to draw: --attention none)\n";
  }
  report_loss_curve(
      o.common.out_dir, stem, result.curve,
      std::string(kExample) + " (" + task_name(task_kind) + ", " + attention_name(kind) + ")");
  save_checkpoint_if_asked(o.common, model, optimizer, result.steps, data_gen);
  std::cout << result_line(kExample, task_kind, result.heldout, result.steps, wall.seconds(),
                           settings_text(cell, kind, o.length))
            << std::endl;
  return 0;
}

// Every attention kind at every length, each from the same seed, then a table.
int run_sweep(const Options& o) {
  const Stopwatch wall;
  apply_threads(o.common.threads);
  const Task task_kind = task_from_options(o.common);
  const CellKind cell_kind = cell_from_name(o.cell);
  const auto seed = static_cast<uint64_t>(o.common.seed);
  std::vector<std::vector<RunResult>> table(kSweepKinds.size());
  LineChart chart{std::string(kExample) + " sweep (" + task_name(task_kind) + ", " +
                      std::to_string(o.sweep_steps) + " steps)",
                  "sequence length T",
                  "held-out token accuracy",
                  false,
                  {}};
  std::string csv =
      "attention,length,heldout_token_acc,heldout_seq_acc,steps,steps_to_0.99,seconds\n";
  for (size_t k = 0; k < kSweepKinds.size(); ++k) {
    LineSeries series{attention_name(kSweepKinds[k]), {}, {}};
    for (const int64_t length : kSweepLengths) {
      const Stopwatch run_time;
      const SequenceTask task(task_kind, length);
      Generator init_gen(seed);
      Generator data_gen(seed ^ 0x9e3779b97f4a7c15u);
      Seq2SeqModel model({.source_vocab = task.vocab(),
                          .target_vocab = task.vocab(),
                          .embedding = o.embedding,
                          .hidden = o.hidden,
                          .attention = kSweepKinds[k],
                          .cell = cell_kind},
                         init_gen);
      nn::Adam optimizer(model.parameters(), nn::AdamOptions(o.lr));
      const RunResult r =
          train(model, optimizer, task, o, 1, o.sweep_steps, data_gen, stderr_is_terminal());
      table[k].push_back(r);
      series.x.push_back(static_cast<double>(length));
      series.y.push_back(r.heldout.token);
      char line[256];
      std::snprintf(
          line, sizeof line,
          "sweep: %s heldout_token_acc=%.3f heldout_seq_acc=%.3f steps=%lld steps_to_0.99=%lld "
          "seconds=%.1f",
          settings_text(cell_kind, kSweepKinds[k], length).c_str(), r.heldout.token,
          r.heldout.sequence, static_cast<long long>(r.steps),
          static_cast<long long>(r.steps_to_99), run_time.seconds());
      std::cout << line << std::endl;
      std::snprintf(line, sizeof line, "%s,%lld,%.4f,%.4f,%lld,%lld,%.2f\n",
                    attention_name(kSweepKinds[k]), static_cast<long long>(length), r.heldout.token,
                    r.heldout.sequence, static_cast<long long>(r.steps),
                    static_cast<long long>(r.steps_to_99), run_time.seconds());
      csv += line;
    }
    chart.series.push_back(series);
  }

  std::cout << "\nheld-out token accuracy after " << o.sweep_steps << " steps, task "
            << task_name(task_kind)
            << ", greedy decoding of 1,000 sequences (steps to 0.99 in brackets; chance is "
            << 1.0 / SequenceTask::kDefaultVocab << ")\n\n| attention |";
  for (const int64_t length : kSweepLengths) std::cout << " T=" << length << " |";
  std::cout << "\n|---|";
  for (size_t n = 0; n < kSweepLengths.size(); ++n) std::cout << "---|";
  std::cout << "\n";
  for (size_t k = 0; k < kSweepKinds.size(); ++k) {
    std::cout << "| " << attention_name(kSweepKinds[k]) << " |";
    for (const RunResult& r : table[k]) {
      char cell[64];
      if (r.steps_to_99 >= 0) {
        std::snprintf(cell, sizeof cell, " %.3f (%lld) |", r.heldout.token,
                      static_cast<long long>(r.steps_to_99));
      } else {
        std::snprintf(cell, sizeof cell, " %.3f (never) |", r.heldout.token);
      }
      std::cout << cell;
    }
    std::cout << "\n";
  }
  const std::string stem = std::string(kExample) + "_sweep_" +
                           (cell_kind == CellKind::GRU ? "gru_" : "") + task_name(task_kind);
  const std::string csv_path = o.common.out_dir + "/" + stem + ".csv";
  const std::string svg_path = o.common.out_dir + "/" + stem + ".svg";
  write_file_atomically(csv_path, csv);
  write_file_atomically(svg_path, line_chart_svg(chart));
  std::cout << "\nwrote " << csv_path << "\nwrote " << svg_path << "\n";
  std::cout << "sweep done in " << wall.seconds() << " s" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_example(kExample, argc, argv, parse_options,
                     [](const Options& o) { return o.sweep ? run_sweep(o) : run_single(o); });
}
