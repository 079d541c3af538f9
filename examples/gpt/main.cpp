// gpt: a character-level GPT (nanoGPT's model and recipe at its CPU "baby" size)
// learns to write English from the fortunes of Debian's `fortunes` packages.
//
//   ./gpt                                  4 layers, 4 heads, width 128, 2,000 iterations
//   ./gpt --data book.txt                  any UTF-8 text instead (90 % train, 10 % validation)
//   ./gpt --steps 0 --load gpt.safetensors --prompt "Q: " --temperature 1.0    only write
//
// The model (model.h beside this file) reads up to 64 characters and, at every
// position, scores the character that comes next; the loss is the mean −log p of
// the right one, in nats per character. The corpus (data.h): every fortune of the
// packages but the ASCII-art pictures, each followed by "\n%\n"; every tenth fortune
// is held out for validation. Tab, newline and the 95 printable ASCII characters
// keep their own symbol, anything else shares one: 98 symbols.
//
// The recipe (training.h): AdamW (β = (0.9, 0.99)) with weight decay 0.1 on the
// matrices and embeddings and none on biases and LayerNorms, 100 iterations of linear
// warm-up, a cosine down to lr/10 at the last iteration, the gradient clipped to
// norm 1.0, batches of 12 random windows of 64 characters.
//
// What a loss means: the program prints what counting alone reaches on the same
// validation split (n-gram models fit on the training split: uniform 4.585, unigram
// 3.312, bigram 2.595, trigram 2.133 nats per character on the fortunes). The
// final figure, val_loss on the `result:` line, scores every character of the
// validation split once (every non-overlapping 64-character window); the figures
// every --eval-every iterations are the mean over --eval-batches fixed batches of
// it (--eval-batches 0: the whole split each time).
//
// Measured (the defaults, one thread, `--eval-every 500 --eval-batches 0` for the
// whole-split loss at each point; tools/train_gpt_reference.py runs the same model,
// split, optimizer and schedule in PyTorch 1.13, on its own random batches):
//
//   whole-split validation loss   iteration 0    500     1000    2000
//   minigrad, seed 1                  4.577     2.460   2.215   2.027
//   minigrad, seed 2                  4.588     2.437   2.216   2.038
//   PyTorch,  seed 1                  4.619     2.442   2.214   2.026
//   PyTorch,  seed 2                  4.616     2.430   2.215   2.031
//
// Per iteration (814,080 parameters, 768 characters) on one thread: 59.7 and 61.4 ms
// in two runs of 200 iterations, PyTorch 73.6 and 59.9 ms right after each (a machine
// with other work on it). The loss was still falling by 0.05-0.06 per 500 iterations
// at the end. A sample of seed 2 (temperature 0.8):
//
//   We hatlowery to iman it strate Quagh down that is the
//   %
//   Hallowey terpinest a a the like mokice and whongiats with it sayur,
//   the restlly compure dom tound.
//
// Output: a progress bar (loss, characters per second) on stderr with the
// validation loss under it; the baselines and the final validation loss; a sample
// of --sample-length characters after --prompt; for the first line of the sample,
// the attention of one head per layer (which earlier characters each character
// reads: below the diagonal only, the causal mask) in the terminal and as SVG; the
// loss curve (training and validation, SVG and CSV); the `result:` line on stdout.
// --save writes the model, AdamW's moments, the schedule, the data stream, the
// iteration and the vocabulary; --resume continues such a run. The schedule's length
// is --steps unless --decay-steps says otherwise: a run to be resumed later gives
// --decay-steps of the whole run, so that its first part follows the same schedule.

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "examples/common/checkpoint.h"
#include "examples/common/cli.h"
#include "examples/common/plot.h"
#include "examples/common/progress.h"
#include "examples/common/utf8.h"
#include "examples/gpt/data.h"
#include "examples/gpt/model.h"
#include "examples/gpt/training.h"

using namespace minigrad;
using namespace minigrad::examples;

namespace {

constexpr const char* kExample = "gpt";
// The fixed validation batches: a seed of their own, so every run and every seed
// is measured on the same windows.
constexpr uint64_t kEvalSeed = 1234;
// The heatmaps show at most this many characters of the sample's first line: a
// terminal cell is three columns wide.
constexpr int64_t kHeatmapCharacters = 32;

struct Options {
  CommonOptions common{.steps = 2000, .eval_every = 250};
  GPTRecipe recipe;
  int64_t block = 64;
  int64_t layers = 4;
  int64_t heads = 4;
  int64_t width = 128;
  double dropout = 0.0;
  int64_t eval_batches = 20;
  std::string data;
  GPTSampling sampling;
};

Options parse_options(int argc, char** argv) {
  Options o;
  bool no_cache = false;
  ArgParser parser(kExample,
                   "A character-level GPT (nanoGPT's baby model and recipe) learns to write "
                   "English\nfrom Debian's fortunes, then writes some.");
  add_common_options(parser, o.common, /*with_task=*/false);
  parser.add_string("--data", &o.data,
                    "train on this UTF-8 text instead of the fortunes (the first 90 % trains, the "
                    "rest validates)",
                    "FILE");
  parser.add_int("--block", &o.block, "block size: the characters the model reads at once", 1,
                 65536);
  parser.add_int("--layers", &o.layers, "Transformer blocks", 1, 64);
  parser.add_int("--heads", &o.heads, "attention heads per block (must divide --width)", 1, 4096);
  parser.add_int("--width", &o.width, "the width of every position's vector (n_embd)", 1, 65536);
  parser.add_double("--dropout", &o.dropout, "dropout throughout the model", 0.0, 0.99);
  parser.add_int("--batch", &o.recipe.batch, "windows per micro-batch", 1, 65536);
  parser.add_int("--accumulate", &o.recipe.accumulate,
                 "micro-batches per iteration (gradient accumulation: the step of one batch N "
                 "times as large)",
                 1, 65536);
  parser.add_double("--lr", &o.recipe.lr, "AdamW learning rate, the top of the schedule", 0.0,
                    10.0);
  parser.add_int("--warmup", &o.recipe.warmup, "iterations of linear warm-up", 0, 100'000'000);
  parser.add_int("--decay-steps", &o.recipe.decay_steps,
                 "the cosine reaches lr/10 at this iteration (0: --steps)", 0, 100'000'000);
  parser.add_double("--weight-decay", &o.recipe.weight_decay,
                    "AdamW weight decay of the parameters with dim >= 2", 0.0, 10.0);
  parser.add_int("--eval-batches", &o.eval_batches,
                 "fixed validation batches of each evaluation (0: the whole validation split)", 0,
                 1'000'000);
  parser.add_string("--prompt", &o.sampling.prompt, "the text the sample continues", "TEXT");
  parser.add_double("--temperature", &o.sampling.temperature,
                    "divides the logits before sampling (< 1: safer, > 1: wilder)", 1e-6, 100.0);
  parser.add_int("--top-k", &o.sampling.top_k,
                 "sample among the k likeliest characters only (0: all)", 0, 1'000'000);
  parser.add_double("--top-p", &o.sampling.top_p,
                    "sample among the likeliest characters whose probability reaches p (1: all)",
                    1e-9, 1.0);
  parser.add_int("--sample-length", &o.sampling.length, "characters to write after the prompt", 0,
                 1'000'000);
  parser.add_switch("--no-cache", &no_cache, true,
                    "sample without the key/value cache (the whole context at every step)");
  parse_or_exit(parser, argc, argv);
  o.sampling.use_cache = !no_cache;
  o.recipe.steps = o.common.steps;
  if (o.width % o.heads != 0) {
    exit_usage_error(kExample, "--width " + std::to_string(o.width) +
                                   " is not divisible by --heads " + std::to_string(o.heads));
  }
  if (o.common.stop_at > 0) {
    exit_usage_error(kExample,
                     "--stop-at counts held-out token accuracy; a language model has a loss");
  }
  if (o.sampling.prompt.empty()) exit_usage_error(kExample, "--prompt is empty");
  return o;
}

std::string fmt(const char* format, double v) {
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// Train loss at every iteration; validation loss at every evaluation.
struct LossCurve {
  std::vector<double> steps, train, eval_steps, validation;

  std::string csv() const {
    std::ostringstream out;
    out << "step,train_loss,val_loss\n";
    size_t e = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
      while (e < eval_steps.size() && eval_steps[e] < steps[i]) ++e;
      out << steps[i] << "," << fmt("%.6f", train[i]) << ",";
      if (e < eval_steps.size() && eval_steps[e] == steps[i]) out << fmt("%.6f", validation[e]);
      out << "\n";
    }
    return out.str();
  }
};

// Where every layer's chosen head looks while the model reads `line`: in the
// terminal, and one SVG per layer.
void draw_attention(GPT& model, const TextVocabulary& vocabulary, const std::string& line,
                    const std::string& out_dir, std::vector<std::string>& written) {
  const std::vector<int32_t> encoded = vocabulary.encode(std::string_view(line));
  const std::vector<int64_t> ids(encoded.begin(), encoded.end());
  const auto length = static_cast<int64_t>(ids.size());
  const std::vector<Tensor> layers = model.attention(Tensor::from_vector(ids, {1, length}));
  const std::vector<std::string> labels = character_labels(vocabulary.decode(encoded));
  std::cout << "\nattention while reading \"" << line << "\" (row: the character at position t, "
            << "the query; column: the characters 0 … t it reads, the keys)\n";
  for (size_t l = 0; l < layers.size(); ++l) {
    constexpr int64_t kHead = 0;
    const std::string where =
        "layer " + std::to_string(l + 1) + ", head " + std::to_string(kHead + 1);
    const HeatmapLabels heatmap{std::string(kExample) + ": " + where + ", a line it wrote",
                                "character at position t (query)",
                                "character at position j <= t (key)", labels, labels};
    const Tensor weights = layers[l].select(0, 0).select(0, kHead);  // [T, T]
    std::cout << terminal_heatmap(weights, heatmap) << "\n";
    const std::string path =
        out_dir + "/" + kExample + "_attention_layer" + std::to_string(l + 1) + ".svg";
    write_file_atomically(path, heatmap_svg(weights, heatmap));
    written.push_back(path);
  }
}

// The sample's first line with at least two characters, cut to kHeatmapCharacters (and
// the block size);
// the sample's start if it has no such line.
std::string line_to_draw(const std::vector<std::string>& characters, int64_t block) {
  const int64_t most = std::min(kHeatmapCharacters, block);
  std::vector<std::string> line;
  for (const std::string& c : characters) {
    if (c == "\n") {
      if (line.size() >= 2) break;
      line.clear();
      continue;
    }
    line.push_back(c);
    if (static_cast<int64_t>(line.size()) == most) break;
  }
  if (line.size() < 2) {
    line.assign(
        characters.begin(),
        characters.begin() + std::min<int64_t>(most, static_cast<int64_t>(characters.size())));
  }
  std::string text;
  for (const std::string& c : line) text += c;
  return text;
}

int run(const Options& o) {
  const Stopwatch wall;
  const int threads = apply_threads(o.common.threads);
  const TextSplit corpus = o.data.empty() ? load_fortunes() : load_text(o.data);
  const std::string task = o.data.empty() ? "fortunes" : "text";
  const TextVocabulary& vocabulary = corpus.vocabulary;
  const auto seed = static_cast<uint64_t>(o.common.seed);
  Generator init_gen(seed);                          // initial weights, dropout seeds
  Generator data_gen(seed ^ 0x9e3779b97f4a7c15u);    // training batches: a stream of its own
  Generator sample_gen(seed ^ 0x5851f42d4c957f2du);  // the sample

  GPT model(GPTOptions(vocabulary.size())
                .block_size(o.block)
                .n_layer(o.layers)
                .n_head(o.heads)
                .n_embd(o.width)
                .dropout(o.dropout),
            init_gen);
  const std::unique_ptr<nn::AdamW> optimizer = make_gpt_optimizer(model, o.recipe);
  const std::unique_ptr<nn::LRScheduler> scheduler = make_gpt_scheduler(*optimizer, o.recipe);
  for (const std::string& path : {o.common.load_path, o.common.resume_path}) {
    if (!path.empty()) check_vocabulary(path, vocabulary);
  }
  const int64_t first_step =
      restore_checkpoint(o.common, model, *optimizer, data_gen, scheduler.get()) + 1;
  std::cerr << kExample << ": " << task << ", " << corpus.train.size() << " training and "
            << corpus.validation.size() << " validation characters, " << vocabulary.size()
            << " symbols; " << o.layers << " layers, " << o.heads << " heads, width " << o.width
            << ", block " << o.block << ", dropout " << o.dropout << ", batch " << o.recipe.batch
            << " x " << o.recipe.accumulate << ", lr " << o.recipe.lr << ", " << threads
            << " thread(s), " << model.num_parameters() << " parameters\n";

  const NgramBaselines baselines =
      ngram_baselines(corpus.train, corpus.validation, vocabulary.size());
  std::printf(
      "validation loss of counting alone (n-grams of the training split, nats/char): uniform "
      "%.3f, unigram %.3f, bigram %.3f, trigram %.3f\n",
      baselines.uniform, baselines.unigram, baselines.bigram, baselines.trigram);

  const NonOverlappingWindows whole(corpus.validation, 64, o.block);
  const std::vector<Batch> fixed =
      o.eval_batches > 0
          ? fixed_batches(corpus.validation, o.eval_batches, o.recipe.batch, o.block, kEvalSeed)
          : std::vector<Batch>{};
  const auto evaluate = [&] {
    return fixed.empty() ? whole_split_loss(model, whole) : mean_loss(model, fixed);
  };
  const std::string eval_what = fixed.empty() ? std::string("the whole split")
                                              : std::to_string(o.eval_batches) + " fixed batches";

  LossCurve curve;
  ProgressBar progress(o.common.steps);
  const auto note_validation = [&](int64_t step, double loss) {
    curve.eval_steps.push_back(static_cast<double>(step));
    curve.validation.push_back(loss);
    progress.note("  iteration " + std::to_string(step) + ": validation loss " + fmt("%.4f", loss) +
                  " (" + eval_what + ")");
  };
  double last_validation = evaluate();
  note_validation(first_step - 1, last_validation);
  int64_t last_eval = first_step - 1;

  // The iterations alone, without the evaluations: wall time, and CPU time (all
  // threads), which a machine busy with other work does not inflate.
  double training_seconds = 0, training_cpu_seconds = 0;
  int64_t tokens = 0;
  const int64_t tokens_per_step = o.recipe.batch * o.recipe.accumulate * o.block;
  model.train();
  for (int64_t step = first_step; step <= o.common.steps; ++step) {
    const Stopwatch step_time;
    const std::clock_t step_cpu = std::clock();
    std::vector<Batch> micro_batches;
    for (int64_t i = 0; i < o.recipe.accumulate; ++i)
      micro_batches.push_back(sample_batch(corpus.train, o.recipe.batch, o.block, data_gen));
    const double loss =
        gpt_train_step(model, *optimizer, scheduler.get(), micro_batches, o.recipe.clip);
    training_seconds += step_time.seconds();
    training_cpu_seconds += static_cast<double>(std::clock() - step_cpu) / CLOCKS_PER_SEC;
    tokens += tokens_per_step;
    curve.steps.push_back(static_cast<double>(step));
    curve.train.push_back(loss);
    progress.update_tokens(step, loss, tokens);
    if (o.common.evaluation_due(step, o.common.steps)) {
      last_validation = evaluate();
      last_eval = step;
      note_validation(step, last_validation);
    }
  }
  progress.finish();
  const int64_t steps_trained = o.common.steps - (first_step - 1);
  report_training_speed(std::max<int64_t>(steps_trained, 0), wall.seconds());
  double ms_per_step = 0;
  if (steps_trained > 0) {
    ms_per_step = 1e3 * training_seconds / static_cast<double>(steps_trained);
    std::fprintf(stderr,
                 "ms per iteration (evaluations excluded): %.1f wall, %.1f CPU; %.0f "
                 "characters/s\n",
                 ms_per_step, 1e3 * training_cpu_seconds / static_cast<double>(steps_trained),
                 static_cast<double>(tokens) / training_seconds);
  }

  // The figure of the run: every character of the validation split scored once.
  const double val_loss = fixed.empty() && last_eval == std::max(o.common.steps, first_step - 1)
                              ? last_validation
                              : whole_split_loss(model, whole);
  std::printf(
      "validation loss over the whole split (%lld windows of %lld characters, %lld "
      "predictions): %.4f nats/char (bigram %.3f, trigram %.3f)\n",
      static_cast<long long>(whole.size()), static_cast<long long>(o.block),
      static_cast<long long>(whole.targets()), val_loss, baselines.bigram, baselines.trigram);

  // A sample, and what the model reads while it reads the sample's first line.
  const Stopwatch sample_time;
  const std::vector<int32_t> drawn = sample_ids(model, vocabulary, o.sampling, sample_gen);
  const std::string sample = vocabulary.decode(drawn);
  std::printf("\nsample (%lld characters after the prompt, temperature %g%s, %.1f s):\n%s%s\n",
              static_cast<long long>(drawn.size()), o.sampling.temperature,
              o.sampling.use_cache ? ", key/value cache" : ", no cache", sample_time.seconds(),
              o.sampling.prompt.c_str(), sample.c_str());
  std::vector<std::string> written;
  if (drawn.size() >= 2) {
    draw_attention(model, vocabulary, line_to_draw(utf8_symbols(sample), o.block), o.common.out_dir,
                   written);
  }

  if (!curve.steps.empty()) {
    const std::string stem = o.common.out_dir + "/" + kExample + "_loss";
    LineChart chart{std::string(kExample) + " (" + task + "): loss in nats per character",
                    "iteration",
                    "loss",
                    false,
                    {{"training batch", curve.steps, curve.train},
                     {"validation (" + eval_what + ")", curve.eval_steps, curve.validation}}};
    write_file_atomically(stem + ".svg", line_chart_svg(chart));
    write_file_atomically(stem + ".csv", curve.csv());
    written.push_back(stem + ".svg");
    written.push_back(stem + ".csv");
  }
  for (const std::string& path : written) std::cout << "wrote " << path << "\n";
  save_checkpoint_if_asked(o.common, model, *optimizer, std::max(o.common.steps, first_step - 1),
                           data_gen, scheduler.get());
  if (!o.common.save_path.empty()) save_vocabulary(o.common.save_path, vocabulary);

  std::string settings =
      "ms_per_iter=" + fmt("%.1f", ms_per_step) + " unigram=" + fmt("%.3f", baselines.unigram) +
      " bigram=" + fmt("%.3f", baselines.bigram) + " trigram=" + fmt("%.3f", baselines.trigram) +
      " layers=" + std::to_string(o.layers) + " heads=" + std::to_string(o.heads) +
      " width=" + std::to_string(o.width) + " block=" + std::to_string(o.block);
  std::cout << loss_result_line(kExample, task, val_loss, std::max(o.common.steps, first_step - 1),
                                wall.seconds(), settings)
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_example(kExample, argc, argv, parse_options, run); }
