#include "examples/common/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <ostream>

#include "examples/common/plot.h"

namespace minigrad::examples {

namespace {
constexpr int kBarWidth = 24;
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(int64_t total_steps)
    : ProgressBar(total_steps, std::cerr, stderr_is_terminal(),
                  std::max<int64_t>(1, total_steps / 20)) {}

ProgressBar::ProgressBar(int64_t total_steps, std::ostream& out, bool redraw_in_place,
                         int64_t line_every)
    : total_(total_steps),
      out_(out),
      in_place_(redraw_in_place),
      line_every_(std::max<int64_t>(1, line_every)),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

double ProgressBar::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressBar::render(int64_t step, double loss, const std::string& tail) const {
  const auto filled = total_ > 0 ? static_cast<int>(kBarWidth * step / total_) : kBarWidth;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kBarWidth, '.');
  char text[160];
  std::snprintf(text, sizeof text, "step %6lld/%lld [%s] loss %.4f  ", static_cast<long long>(step),
                static_cast<long long>(total_), bar.c_str(), loss);
  return text + tail;
}

void ProgressBar::draw(int64_t step, const std::string& line) {
  if (in_place_) {
    last_ = line;
    out_ << '\r' << last_ << "\033[K" << std::flush;  // \033[K: erase the rest of the old line
    drawn_ = true;
  } else if (step % line_every_ == 0 || step == total_) {
    out_ << line << '\n' << std::flush;
  }
}

void ProgressBar::update(int64_t step, double loss, double batch_accuracy) {
  const double s = seconds();
  char tail[64];
  std::snprintf(tail, sizeof tail, "acc %.3f  %.1f steps/s", batch_accuracy,
                s > 0 ? static_cast<double>(step) / s : 0.0);
  draw(step, render(step, loss, tail));
}

void ProgressBar::update_tokens(int64_t step, double loss, int64_t tokens) {
  const double s = seconds();
  char tail[64];
  std::snprintf(tail, sizeof tail, "%.0f tok/s", s > 0 ? static_cast<double>(tokens) / s : 0.0);
  draw(step, render(step, loss, tail));
}

void ProgressBar::note(const std::string& line) {
  if (in_place_ && drawn_) {
    out_ << '\r' << line << "\033[K\n" << last_ << std::flush;
  } else {
    out_ << line << '\n' << std::flush;
  }
}

void ProgressBar::note_heldout(int64_t step, const Accuracy& heldout) {
  char line[128];
  std::snprintf(line, sizeof line,
                "  step %lld: held-out token accuracy %.4f, sequence accuracy %.4f",
                static_cast<long long>(step), heldout.token, heldout.sequence);
  note(line);
}

void report_training_speed(int64_t steps_trained, double seconds) {
  if (steps_trained <= 0) return;
  std::cerr << "trained " << steps_trained << " steps in " << seconds << " s ("
            << static_cast<double>(steps_trained) / seconds
            << " steps/s, held-out evaluations included)\n";
}

void ProgressBar::finish() {
  if (in_place_ && drawn_) out_ << '\n' << std::flush;
  drawn_ = false;
}

TrainingLog::TrainingLog(const CommonOptions& options, int64_t total_steps, int64_t steps_done,
                         const Accuracy& heldout, bool show_progress)
    : options_(options),
      total_(total_steps),
      first_done_(steps_done),
      steps_done_(steps_done),
      progress_(show_progress ? ProgressBar(total_steps)
                              : ProgressBar(total_steps, hidden_, false, total_steps)),
      heldout_(heldout) {}

bool TrainingLog::record(int64_t step, double loss, double batch_accuracy,
                         const std::function<Accuracy()>& evaluate) {
  steps_done_ = step;
  curve_.add_step(step, loss);
  progress_.update(step, loss, batch_accuracy);
  if (!options_.evaluation_due(step, total_)) return false;
  heldout_ = evaluate();
  curve_.add_evaluation(step, heldout_);
  progress_.note_heldout(step, heldout_);
  return options_.stops_at(heldout_);
}

void report_loss_curve(const std::string& out_dir, const std::string& stem,
                       const TrainingCurve& curve, const std::string& title) {
  if (curve.steps.empty()) return;
  for (const std::string& path : write_loss_curve(out_dir, stem, curve, title)) {
    std::cout << "wrote " << path << "\n";
  }
}

std::string result_line(const std::string& example, const std::string& task,
                        const Accuracy& heldout, int64_t steps, double seconds,
                        const std::string& settings) {
  char text[256];
  std::snprintf(text, sizeof text,
                "result: example=%s task=%s heldout_token_acc=%.3f heldout_seq_acc=%.3f steps=%lld "
                "seconds=%.1f",
                example.c_str(), task.c_str(), heldout.token, heldout.sequence,
                static_cast<long long>(steps), seconds);
  return settings.empty() ? std::string(text) : text + (" " + settings);
}

std::string loss_result_line(const std::string& example, const std::string& task, double val_loss,
                             int64_t steps, double seconds, const std::string& settings) {
  char text[256];
  std::snprintf(text, sizeof text,
                "result: example=%s task=%s val_loss=%.4f steps=%lld seconds=%.1f", example.c_str(),
                task.c_str(), val_loss, static_cast<long long>(steps), seconds);
  return settings.empty() ? std::string(text) : text + (" " + settings);
}

std::string result_line(const std::string& example, Task task, const Accuracy& heldout,
                        int64_t steps, double seconds, const std::string& settings) {
  return result_line(example, std::string(task_name(task)), heldout, steps, seconds, settings);
}

}  // namespace minigrad::examples
