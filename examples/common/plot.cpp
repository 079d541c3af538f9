#include "examples/common/plot.h"

#include "examples/common/utf8.h"
#include "minigrad/tensor/atomic_file.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace minigrad::examples {

namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fmt(const char* format, double v) {
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// Checks the tensor and labels of a heatmap; returns the weights row-major.
std::vector<double> heatmap_values(const Tensor& weights, const HeatmapLabels& labels, const char* what) {
  if (!weights.defined() || weights.dim() != 2) {
    throw std::invalid_argument(std::string(what) + ": weights must be a 2-D tensor [rows, columns], got " +
                                (weights.defined() ? weights.shape().str() : "undefined"));
  }
  const auto rows = static_cast<size_t>(weights.size(0)), cols = static_cast<size_t>(weights.size(1));
  if (labels.rows.size() != rows || labels.columns.size() != cols) {
    throw std::invalid_argument(std::string(what) + ": weights " + weights.shape().str() + " but " +
                                std::to_string(labels.rows.size()) + " row labels and " +
                                std::to_string(labels.columns.size()) + " column labels");
  }
  return weights.to(DType::Float64).to_vector<double>();
}

// White at 0, deep blue at 1, linear in between.
std::string weight_colour(double v) {
  v = std::clamp(v, 0.0, 1.0);
  auto channel = [v](int zero, int one) { return static_cast<int>(std::lround(zero + (one - zero) * v)); };
  char text[16];
  std::snprintf(text, sizeof text, "#%02x%02x%02x", channel(255, 8), channel(255, 48), channel(255, 107));
  return text;
}

// About five round tick values covering [low, high]: steps of 1, 2 or 5 × 10^k.
std::vector<double> nice_ticks(double low, double high) {
  if (!(high > low)) return {low};
  const double rough = (high - low) / 5.0;
  const double decade = std::pow(10.0, std::floor(std::log10(rough)));
  double step = decade;
  for (const double m : {2.0, 5.0, 10.0})
    if (rough > step) step = m * decade;
  std::vector<double> ticks;
  for (double t = std::ceil(low / step) * step; t <= high + 1e-9 * step; t += step) ticks.push_back(t);
  return ticks;
}

// Ticks of a log axis: the powers of ten in [low, high], or 1-2-5 steps when
// the range spans less than two of them.
std::vector<double> log_ticks(double low, double high) {
  std::vector<double> ticks;
  for (double e = std::floor(std::log10(low)); e <= std::ceil(std::log10(high)); e += 1) {
    for (const double m : {1.0, 2.0, 5.0}) {
      const double t = m * std::pow(10.0, e);
      if (t >= low * (1 - 1e-9) && t <= high * (1 + 1e-9)) ticks.push_back(t);
    }
  }
  std::vector<double> decades;
  for (const double t : ticks)
    if (std::fabs(std::log10(t) - std::round(std::log10(t))) < 1e-9) decades.push_back(t);
  return decades.size() >= 2 ? decades : ticks;
}

// The opening of a picture: the <svg> element, a white background, and the title
// centred at height title_y. The caller writes the rest and the closing </svg>.
void svg_open(std::ostream& svg, int width, int height, int title_y, const std::string& title) {
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << ' ' << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"" << width << "\" height=\"" << height << "\" fill=\"white\"/>\n"
      << "<text x=\"" << width / 2 << "\" y=\"" << title_y
      << "\" text-anchor=\"middle\" font-size=\"15\">" << xml_escape(title) << "</text>\n";
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  if (ec) throw std::runtime_error("cannot create the folder of " + path + ": " + ec.message());
  minigrad::write_file_atomically(path, content);
}

std::string token_label(int64_t token) { return std::to_string(token); }

std::vector<std::string> token_labels(const Tensor& tokens) {
  std::vector<std::string> labels;
  for (const int64_t t : tokens.to_vector<int64_t>()) labels.push_back(token_label(t));
  return labels;
}

std::vector<std::string> character_labels(const std::string& text) {
  std::vector<std::string> labels = utf8_symbols(text);
  for (std::string& l : labels) {
    if (l == " ") l = "␣";
    if (l == "\n") l = "⏎";
    if (l == "\t") l = "⇥";
  }
  return labels;
}

std::string heatmap_svg(const Tensor& weights, const HeatmapLabels& labels) {
  const std::vector<double> w = heatmap_values(weights, labels, "heatmap_svg");
  const int rows = static_cast<int>(weights.size(0)), cols = static_cast<int>(weights.size(1));
  constexpr int cell = 30, left = 96, top = 84, right = 90, bottom = 24;
  const int width = left + cols * cell + right, height = top + rows * cell + bottom;
  const int grid_right = left + cols * cell;

  std::ostringstream svg;
  svg_open(svg, width, height, 20, labels.title);
  // Column axis on top (keys), its title above the labels.
  svg << "<text x=\"" << left + cols * cell / 2 << "\" y=\"46\" text-anchor=\"middle\">"
      << xml_escape(labels.column_axis) << " →</text>\n";
  for (int j = 0; j < cols; ++j) {
    svg << "<text x=\"" << left + j * cell + cell / 2 << "\" y=\"" << top - 8
        << "\" text-anchor=\"middle\">" << xml_escape(labels.columns[static_cast<size_t>(j)]) << "</text>\n";
  }
  // Row axis on the left (queries), its title turned on its side.
  svg << "<text transform=\"translate(22," << top + rows * cell / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(labels.row_axis) << " →</text>\n";
  for (int i = 0; i < rows; ++i) {
    svg << "<text x=\"" << left - 8 << "\" y=\"" << top + i * cell + cell / 2 + 4
        << "\" text-anchor=\"end\">" << xml_escape(labels.rows[static_cast<size_t>(i)]) << "</text>\n";
  }
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      const double v = w[static_cast<size_t>(i * cols + j)];
      svg << "<rect x=\"" << left + j * cell << "\" y=\"" << top + i * cell << "\" width=\"" << cell
          << "\" height=\"" << cell << "\" fill=\"" << weight_colour(v) << "\"><title>row " << i
          << ", column " << j << ": " << fmt("%.3f", v) << "</title></rect>\n";
    }
  }
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << cols * cell << "\" height=\""
      << rows * cell << "\" fill=\"none\" stroke=\"#888\"/>\n";
  // Colour scale: 1 at the top, 0 at the bottom.
  const int bar_x = grid_right + 24, bar_h = std::max(rows * cell, 60), steps = 20;
  for (int s = 0; s < steps; ++s) {
    const double v = 1.0 - (s + 0.5) / steps;
    svg << "<rect x=\"" << bar_x << "\" y=\"" << top + s * bar_h / steps << "\" width=\"16\" height=\""
        << bar_h / steps + 1 << "\" fill=\"" << weight_colour(v) << "\"/>\n";
  }
  svg << "<rect x=\"" << bar_x << "\" y=\"" << top << "\" width=\"16\" height=\"" << bar_h
      << "\" fill=\"none\" stroke=\"#888\"/>\n"
      << "<text x=\"" << bar_x + 22 << "\" y=\"" << top + 10 << "\">1</text>\n"
      << "<text x=\"" << bar_x + 22 << "\" y=\"" << top + bar_h << "\">0</text>\n"
      << "<text x=\"" << bar_x + 22 << "\" y=\"" << top + bar_h / 2 + 4 << "\">weight</text>\n"
      << "</svg>\n";
  return svg.str();
}

std::string terminal_heatmap(const Tensor& weights, const HeatmapLabels& labels) {
  const std::vector<double> w = heatmap_values(weights, labels, "terminal_heatmap");
  const auto rows = static_cast<size_t>(weights.size(0)), cols = static_cast<size_t>(weights.size(1));
  static const char* const kShades[] = {" ", "░", "▒", "▓", "█"};
  // Labels are padded by the columns they take on screen, not by their bytes: "목" is
  // three bytes and two columns, "7" one and one.
  const auto spaces = [](int64_t n) {
    return std::string(static_cast<size_t>(std::max<int64_t>(0, n)), ' ');
  };
  int64_t cell = 3;  // characters per cell: a two-digit label, or a wider one if any
  for (const std::string& c : labels.columns) cell = std::max(cell, display_width(c));
  int64_t label_width = 0;
  for (const std::string& r : labels.rows) label_width = std::max(label_width, display_width(r));

  std::ostringstream out;
  out << labels.title << "\n"
      << "rows: " << labels.row_axis << "; columns: " << labels.column_axis << "\n";
  const std::string indent = spaces(label_width + 2);
  out << indent;
  for (const std::string& c : labels.columns) out << spaces(cell - display_width(c)) << c;
  out << "\n";
  for (size_t i = 0; i < rows; ++i) {
    const std::string& label = labels.rows[i];
    out << spaces(label_width - display_width(label)) << label << " │";
    for (size_t j = 0; j < cols; ++j) {
      const double v = std::clamp(w[i * cols + j], 0.0, 1.0);
      const auto shade = static_cast<size_t>(std::lround(v * 4.0));  // 0..4
      for (int64_t k = 0; k < cell; ++k) out << kShades[shade];
    }
    out << "│\n";
  }
  out << indent << "' ' <.125  ░ <.375  ▒ <.625  ▓ <.875  █ ≤ 1\n";
  return out.str();
}

std::string line_chart_svg(const LineChart& chart) {
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const LineSeries& s : chart.series) {
    if (s.x.size() != s.y.size()) {
      throw std::invalid_argument("line_chart_svg: series '" + s.name + "' has " + std::to_string(s.x.size()) +
                                  " x values and " + std::to_string(s.y.size()) + " y values");
    }
    for (size_t k = 0; k < s.x.size(); ++k) {
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k])) continue;  // a diverged step is left out
      if (chart.log_y && s.y[k] <= 0) {
        throw std::invalid_argument("line_chart_svg: log_y but series '" + s.name + "' has the value " +
                                    fmt("%g", s.y[k]));
      }
      x_min = std::min(x_min, s.x[k]);
      x_max = std::max(x_max, s.x[k]);
      y_min = std::min(y_min, s.y[k]);
      y_max = std::max(y_max, s.y[k]);
    }
  }
  if (!std::isfinite(x_min)) x_min = 0, x_max = 1, y_min = chart.log_y ? 0.1 : 0, y_max = 1;
  if (x_max == x_min) x_max = x_min + 1;
  if (y_max == y_min) {
    if (chart.log_y) y_min /= 2, y_max *= 2;
    else y_min -= 0.5, y_max += 0.5;
  }

  constexpr int width = 640, height = 400, left = 72, right = 24, top = 40, bottom = 52;
  const int plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double y) {
    const double f = chart.log_y ? (std::log10(y) - std::log10(y_min)) / (std::log10(y_max) - std::log10(y_min))
                                 : (y - y_min) / (y_max - y_min);
    return top + (1.0 - f) * plot_h;
  };
  static const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

  std::ostringstream svg;
  svg_open(svg, width, height, 22, chart.title);
  for (const double t : nice_ticks(x_min, x_max)) {
    svg << "<line x1=\"" << fmt("%.1f", px(t)) << "\" y1=\"" << top << "\" x2=\"" << fmt("%.1f", px(t))
        << "\" y2=\"" << top + plot_h << "\" stroke=\"#eee\"/>\n"
        << "<text x=\"" << fmt("%.1f", px(t)) << "\" y=\"" << top + plot_h + 16
        << "\" text-anchor=\"middle\">" << fmt("%g", t) << "</text>\n";
  }
  for (const double t : chart.log_y ? log_ticks(y_min, y_max) : nice_ticks(y_min, y_max)) {
    svg << "<line x1=\"" << left << "\" y1=\"" << fmt("%.1f", py(t)) << "\" x2=\"" << left + plot_w
        << "\" y2=\"" << fmt("%.1f", py(t)) << "\" stroke=\"#eee\"/>\n"
        << "<text x=\"" << left - 6 << "\" y=\"" << fmt("%.1f", py(t) + 4) << "\" text-anchor=\"end\">"
        << fmt("%g", t) << "</text>\n";
  }
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\" fill=\"none\" stroke=\"#888\"/>\n"
      << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << height - 12 << "\" text-anchor=\"middle\">"
      << xml_escape(chart.x_axis) << "</text>\n"
      << "<text transform=\"translate(18," << top + plot_h / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
      << xml_escape(chart.y_axis) << (chart.log_y ? " (log scale)" : "") << "</text>\n";
  for (size_t k = 0; k < chart.series.size(); ++k) {
    const LineSeries& s = chart.series[k];
    const char* colour = kColours[k % std::size(kColours)];
    svg << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.5\" points=\"";
    for (size_t n = 0; n < s.x.size(); ++n) {
      if (!std::isfinite(s.x[n]) || !std::isfinite(s.y[n])) continue;
      svg << fmt("%.1f", px(s.x[n])) << ',' << fmt("%.1f", py(s.y[n])) << ' ';
    }
    svg << "\"/>\n";
    if (chart.series.size() > 1) {
      const int y = top + 16 + 16 * static_cast<int>(k);
      svg << "<line x1=\"" << left + plot_w - 120 << "\" y1=\"" << y - 4 << "\" x2=\"" << left + plot_w - 100
          << "\" y2=\"" << y - 4 << "\" stroke=\"" << colour << "\" stroke-width=\"2\"/>\n"
          << "<text x=\"" << left + plot_w - 94 << "\" y=\"" << y << "\">" << xml_escape(s.name) << "</text>\n";
    }
  }
  svg << "</svg>\n";
  return svg.str();
}

std::string loss_curve_csv(const TrainingCurve& curve) {
  std::ostringstream csv;
  csv << "step,loss,heldout_token_acc,heldout_seq_acc\n";
  size_t e = 0;
  for (size_t k = 0; k < curve.steps.size(); ++k) {
    csv << curve.steps[k] << ',' << fmt("%.6g", curve.losses[k]) << ',';
    while (e < curve.eval_steps.size() && curve.eval_steps[e] < curve.steps[k]) ++e;
    if (e < curve.eval_steps.size() && curve.eval_steps[e] == curve.steps[k]) {
      csv << fmt("%.4f", curve.evals[e].token) << ',' << fmt("%.4f", curve.evals[e].sequence);
    } else {
      csv << ',';
    }
    csv << '\n';
  }
  return csv.str();
}

LineChart loss_curve_chart(const TrainingCurve& curve, const std::string& title) {
  LineSeries loss{"training loss", {}, {}};
  for (size_t k = 0; k < curve.steps.size(); ++k) {
    if (curve.losses[k] > 0) {  // a log axis has no place for 0
      loss.x.push_back(static_cast<double>(curve.steps[k]));
      loss.y.push_back(curve.losses[k]);
    }
  }
  return {title, "training step", "cross-entropy loss", true, {loss}};
}

std::vector<std::string> write_loss_curve(const std::string& out_dir, const std::string& stem,
                                          const TrainingCurve& curve, const std::string& title) {
  const std::string csv_path = (std::filesystem::path(out_dir) / (stem + "_loss.csv")).string();
  const std::string svg_path = (std::filesystem::path(out_dir) / (stem + "_loss.svg")).string();
  write_file_atomically(csv_path, loss_curve_csv(curve));
  write_file_atomically(svg_path, line_chart_svg(loss_curve_chart(curve, title)));
  return {csv_path, svg_path};
}

}  // namespace minigrad::examples
