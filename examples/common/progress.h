// What a training run shows while it runs and leaves behind when it ends:
// a progress bar on stderr, the curve of the loss, and one result line on stdout.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

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
  // A line of its own (e.g. a held-out evaluation) that the bar does not overwrite.
  void note(const std::string& line);
  // note() of a held-out evaluation: "  step 50: held-out token accuracy 0.9912, sequence accuracy
  // 0.8970".
  void note_heldout(int64_t step, const Accuracy& heldout);
  // Ends the bar's line.
  void finish();

 private:
  std::string render(int64_t step, double loss, double batch_accuracy) const;

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

/// The last line of every example, on stdout, the same for every task:
///   result: example=NAME task=TASK heldout_token_acc=0.997 heldout_seq_acc=0.970 steps=1200
///   seconds=8.4
/// `settings` ("attention=dot length=12"), if any, is appended after a space.
std::string result_line(const std::string& example, const std::string& task,
                        const Accuracy& heldout, int64_t steps, double seconds,
                        const std::string& settings = "");
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
