// What a training run shows while it runs and leaves behind when it ends:
// a progress bar on stderr, the curve of the loss, and one result line on stdout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <sstream>
#include <string>
#include <vector>

#include "examples/common/cli.h"
#include "examples/common/task.h"

namespace minigrad::examples {

// step/total, loss, accuracy of the batch, steps per second.
//
// On a terminal the bar redraws itself in place with '\r'. Anywhere else (a CI
// log, a file) '\r' would leave a mess, so it prints one plain line every
// `line_every` steps and at the last step.
class ProgressBar {
 public:
  // Writes to stderr, as a bar when stderr is a terminal.
  explicit ProgressBar(int64_t total_steps);
  ProgressBar(int64_t total_steps, std::ostream& out, bool redraw_in_place, int64_t line_every);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(int64_t step, double loss, double batch_accuracy);
  /// A language model's step: its loss and the characters (tokens) trained per second
  /// since the bar started, `tokens` being the count trained so far:
  ///   step    120/2000 [#.......] loss 2.4512  10456 tok/s
  void update_tokens(int64_t step, double loss, int64_t tokens);
  // A line of its own (e.g. a held-out evaluation) that the bar does not overwrite.
  void note(const std::string& line);
  // note() of a held-out evaluation: "  step 50: held-out token accuracy 0.9912, sequence accuracy
  // 0.8970".
  void note_heldout(int64_t step, const Accuracy& heldout);
  // Ends the bar's line.
  void finish();

 private:
  // The bar's line; `tail` follows the loss ("acc 0.912  31.0 steps/s").
  std::string render(int64_t step, double loss, const std::string& tail) const;
  // Draws `line` of `step` in place, or as a line of its own when one is due.
  void draw(int64_t step, const std::string& line);
  double seconds() const;

  int64_t total_;
  std::ostream& out_;
  bool in_place_;
  int64_t line_every_;
  bool drawn_ = false;  // a bar is on the current line
  std::string last_;
  std::chrono::steady_clock::time_point start_;
};

// Whether stderr is a terminal (where a bar can redraw itself).
bool stderr_is_terminal();

// Loss after every step, held-out accuracy at every evaluation.
struct TrainingCurve {
  std::vector<int64_t> steps;
  std::vector<double> losses;
  std::vector<int64_t> eval_steps;
  std::vector<Accuracy> evals;

  void add_step(int64_t step, double loss) {
    steps.push_back(step);
    losses.push_back(loss);
  }
  void add_evaluation(int64_t step, const Accuracy& heldout) {
    eval_steps.push_back(step);
    evals.push_back(heldout);
  }
};

/// The bookkeeping of a training loop, the same in every example: each step's loss
/// goes onto the curve and the bar; every --eval-every steps and after the last, a
/// held-out evaluation goes onto the curve and under the bar; --stop-at ends the run.
///
///     TrainingLog log(o.common, o.common.steps, first_step - 1, evaluate(model, heldout));
///     for (int64_t step = first_step; step <= o.common.steps; ++step) {
///       ... forward, loss, backward, optimizer step ...
///       if (log.record(step, loss.item(), batch_accuracy, [&] { return evaluate(model, heldout);
///       }))
///         break;
///     }
///     log.finish();
class TrainingLog {
 public:
  /// A run to `total_steps` that has `steps_done` behind it (0, or the step --resume
  /// restored) and stands at `heldout` accuracy. The bar goes to stderr, or nowhere
  /// without `show_progress`.
  TrainingLog(const CommonOptions& options, int64_t total_steps, int64_t steps_done,
              const Accuracy& heldout, bool show_progress = true);

  /// After training step `step`: records its loss and batch accuracy and, when an
  /// evaluation is due, what `evaluate` returns. True when --stop-at is reached.
  bool record(int64_t step, double loss, double batch_accuracy,
              const std::function<Accuracy()>& evaluate);
  /// Ends the bar's line.
  void finish() { progress_.finish(); }

  int64_t steps_done() const { return steps_done_; }
  /// Steps trained in this process (after --resume, the steps since the checkpoint).
  int64_t steps_trained() const { return steps_done_ - first_done_; }
  /// The last held-out evaluation (before training, if none came since).
  const Accuracy& heldout() const { return heldout_; }
  const TrainingCurve& curve() const { return curve_; }

 private:
  const CommonOptions& options_;
  int64_t total_, first_done_, steps_done_;
  std::ostringstream hidden_;  // where the bar goes without show_progress
  ProgressBar progress_;
  TrainingCurve curve_;
  Accuracy heldout_;
};

/// If any step was trained: the loss curve as <out_dir>/<stem>_loss.{csv,svg}
/// (write_loss_curve in plot.h), and "wrote PATH" on stdout for each file.
void report_loss_curve(const std::string& out_dir, const std::string& stem,
                       const TrainingCurve& curve, const std::string& title);

/// The last line of every example, on stdout, the same for every task:
///   result: example=NAME task=TASK heldout_token_acc=0.997 heldout_seq_acc=0.970 steps=1200
///   seconds=8.4
/// `settings` ("attention=dot length=12"), if any, is appended after a space.
std::string result_line(const std::string& example, const std::string& task,
                        const Accuracy& heldout, int64_t steps, double seconds,
                        const std::string& settings = "");
/// The last line of a language model's run, its figure the validation loss in nats per
/// token: result: example=gpt task=fortunes val_loss=2.0251 steps=2000 seconds=312.4
std::string loss_result_line(const std::string& example, const std::string& task, double val_loss,
                             int64_t steps, double seconds, const std::string& settings = "");
/// result_line() of the copy or reverse task.
std::string result_line(const std::string& example, Task task, const Accuracy& heldout,
                        int64_t steps, double seconds, const std::string& settings = "");

// "trained 500 steps in 3.3 s (151 steps/s, held-out evaluations included)" on stderr,
// if any step was trained.
void report_training_speed(int64_t steps_trained, double seconds);

// Seconds since construction, on a steady clock.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace minigrad::examples
