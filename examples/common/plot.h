// Pictures of a training run: attention weights as a heatmap (in the terminal
// and as SVG), the loss as a line chart (SVG) and a table (CSV).
//
// Every file is written by minigrad::write_file_atomically, so an interrupted
// run never leaves half a picture behind.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "examples/common/progress.h"
#include "minigrad/tensor/tensor.h"

namespace minigrad::examples {

// Creates the parent folder if needed, then minigrad::write_file_atomically
// (tensor/atomic_file.h): path holds its old content or all of `content`, never
// a part. Throws std::runtime_error naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& content);

// The label of a token in pictures: its number.
std::string token_label(int64_t token);
// One label per element of a 1-D int64 tensor.
std::vector<std::string> token_labels(const Tensor& tokens);
/// The labels of a text's characters in pictures, one per UTF-8 code point
/// (utf8_symbols in utf8.h), with a space shown as ␣, a newline as ⏎ and a tab as ⇥,
/// so that every character can be seen and takes one column: "a b" → {"a", "␣", "b"}.
/// \throws std::invalid_argument as utf8_symbols for text that is not UTF-8
std::vector<std::string> character_labels(const std::string& text);

struct HeatmapLabels {
  std::string title;
  std::string row_axis;                 // e.g. "output position i (query)"
  std::string column_axis;              // e.g. "input position j (key)"
  std::vector<std::string> rows;        // one per row, e.g. the output tokens
  std::vector<std::string> columns;     // one per column, e.g. the input tokens
};

// weights: 2-D [rows, columns], values in [0, 1] (attention weights: every row
// sums to 1). Row i is query i, column j is key j: cell (i, j) is how much output
// i looks at input j. Throws std::invalid_argument for a non-2-D tensor or
// labels that do not match its shape.
std::string heatmap_svg(const Tensor& weights, const HeatmapLabels& labels);

// The same in the terminal, one cell per weight, darker = more weight:
//   ' ' < 0.125 ≤ '░' < 0.375 ≤ '▒' < 0.625 ≤ '▓' < 0.875 ≤ '█'
// A cell is 3 columns wide, or as wide as the widest column label; labels line up
// by the columns they take on screen (display_width in utf8.h), so Korean labels,
// two columns each, keep the grid straight.
std::string terminal_heatmap(const Tensor& weights, const HeatmapLabels& labels);

struct LineSeries {
  std::string name;
  std::vector<double> x, y;
};
struct LineChart {
  std::string title, x_axis, y_axis;
  bool log_y = false;  // a loss falls over decades: a log axis shows all of them
  std::vector<LineSeries> series;
};
// Throws std::invalid_argument if a series' x and y differ in length, or log_y
// has a value ≤ 0.
std::string line_chart_svg(const LineChart& chart);

// step,loss,heldout_token_acc,heldout_seq_acc — one row per step; the held-out
// columns are empty where no evaluation ran.
std::string loss_curve_csv(const TrainingCurve& curve);
// The loss against the step, log-y.
LineChart loss_curve_chart(const TrainingCurve& curve, const std::string& title);

// Writes <out_dir>/<stem>_loss.csv and <out_dir>/<stem>_loss.svg; returns their paths.
std::vector<std::string> write_loss_curve(const std::string& out_dir, const std::string& stem,
                                          const TrainingCurve& curve, const std::string& title);

}  // namespace minigrad::examples
