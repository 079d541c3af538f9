#include "examples/common/cli.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace minigrad::examples {

namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string format_double(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

ArgParser::ArgParser(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

void ArgParser::add(Flag flag) {
  if (flag.name.size() < 3 || flag.name.rfind("--", 0) != 0 || find(flag.name) != nullptr) {
    throw std::logic_error("ArgParser: bad or repeated flag name " + quoted(flag.name));
  }
  flags_.push_back(std::move(flag));
}

const ArgParser::Flag* ArgParser::find(const std::string& name) const {
  for (const Flag& f : flags_)
    if (f.name == name) return &f;
  return nullptr;
}

void ArgParser::add_switch(const std::string& name, bool* target, bool value_when_given,
                           const std::string& help) {
  add({name, "", help, "", [target, value_when_given](const std::string&) { *target = value_when_given; }});
}

void ArgParser::add_int(const std::string& name, int64_t* target, const std::string& help, int64_t min,
                        int64_t max) {
  add({name, "N", help, std::to_string(*target), [=](const std::string& text) {
         int64_t value = 0;
         const char* end = text.data() + text.size();
         const auto [ptr, ec] = std::from_chars(text.data(), end, value);
         if (ec != std::errc() || ptr != end) {
           throw UsageError(name + ": expected an integer, got " + quoted(text));
         }
         if (value < min || value > max) {
           throw UsageError(name + ": " + text + " is out of range [" + std::to_string(min) + ", " +
                            std::to_string(max) + "]");
         }
         *target = value;
       }});
}

void ArgParser::add_double(const std::string& name, double* target, const std::string& help, double min,
                           double max) {
  add({name, "X", help, format_double(*target), [=](const std::string& text) {
         // The whole text must be the number: "3e-3" is, "3e-3x" is not.
         char* end = nullptr;
         const double value = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
         if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) {
           throw UsageError(name + ": expected a number, got " + quoted(text));
         }
         if (value < min || value > max) {
           throw UsageError(name + ": " + text + " is out of range [" + format_double(min) + ", " +
                            format_double(max) + "]");
         }
         *target = value;
       }});
}

void ArgParser::add_string(const std::string& name, std::string* target, const std::string& help,
                           const std::string& value_name) {
  add({name, value_name, help, target->empty() ? "" : *target, [=](const std::string& text) {
         if (text.empty()) throw UsageError(name + ": expected a non-empty " + value_name);
         *target = text;
       }});
}

void ArgParser::add_choice(const std::string& name, std::string* target, std::vector<std::string> choices,
                           const std::string& help) {
  std::string alternatives;
  for (const std::string& c : choices) alternatives += (alternatives.empty() ? "" : "|") + c;
  add({name, alternatives, help, *target, [=](const std::string& text) {
         for (const std::string& c : choices) {
           if (text == c) {
             *target = text;
             return;
           }
         }
         throw UsageError(name + ": expected one of " + alternatives + ", got " + quoted(text));
       }});
}

bool ArgParser::parse(int argc, const char* const* argv) const {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return false;
    if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument " + quoted(arg));
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const Flag* flag = find(name);
    if (flag == nullptr) throw UsageError("unknown option " + quoted(name));
    if (flag->value_name.empty()) {  // a switch
      if (eq != std::string::npos) throw UsageError(name + " takes no value");
      flag->set("");
      continue;
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 >= argc) throw UsageError(name + " needs a value (" + flag->value_name + ")");
      value = argv[++i];
    }
    flag->set(value);
  }
  return true;
}

std::string ArgParser::usage() const {
  std::ostringstream os;
  os << "usage: " << program_ << " [options]\n\n" << description_ << "\n\noptions:\n";
  for (const Flag& f : flags_) {
    std::string left = "  " + f.name + (f.value_name.empty() ? "" : " " + f.value_name);
    if (left.size() < 30) left.resize(30, ' ');
    else left += "\n" + std::string(30, ' ');
    os << left << f.help;
    if (!f.default_text.empty()) os << " (default " << f.default_text << ")";
    os << "\n";
  }
  os << "  --help                      print this and exit\n";
  return os.str();
}

void parse_or_exit(const ArgParser& parser, int argc, const char* const* argv) {
  try {
    if (!parser.parse(argc, argv)) {
      std::cout << parser.usage();
      std::exit(0);
    }
  } catch (const UsageError& e) {
    const std::string& program = parser.program();
    std::cerr << program << ": " << e.what() << "\n(run " << program << " --help for the options)\n";
    std::exit(2);
  }
}

void add_common_options(ArgParser& parser, CommonOptions& o, bool with_task) {
  if (with_task) parser.add_choice("--task", &o.task, {"copy", "reverse"}, "what to learn");
  parser.add_int("--seed", &o.seed, "seed of the initial weights and the training batches", 0,
                 INT64_MAX);
  parser.add_int("--steps", &o.steps, "training steps (0: only evaluate, e.g. with --load)", 0,
                 100'000'000);
  parser.add_int("--threads", &o.threads, "OpenMP threads (0: OpenMP's default)", 0, 1024);
  parser.add_int("--eval-every", &o.eval_every, "evaluate on the held-out set every N steps", 1,
                 100'000'000);
  parser.add_double("--stop-at", &o.stop_at,
                    "stop once held-out token accuracy reaches this (0: run all steps)", 0.0, 1.0);
  parser.add_string("--save", &o.save_path, "write a checkpoint (safetensors) after training");
  parser.add_string("--load", &o.load_path,
                    "start from the weights of a checkpoint written by --save");
  parser.add_string(
      "--resume", &o.resume_path,
      "continue the run saved by --save (weights, optimizer, data stream, step) up to --steps");
  parser.add_string("--out", &o.out_dir, "folder for the SVG pictures and the CSV loss curve", "DIR");
}

int run_or_report(const char* example, const std::function<int()>& run) {
  try {
    return run();
  } catch (const std::exception& e) {
    std::cerr << example << ": " << e.what() << "\n";
    return 1;
  }
}

int apply_threads(int64_t threads) {
#ifdef _OPENMP
  if (threads > 0) omp_set_num_threads(static_cast<int>(threads));
  return omp_get_max_threads();
#else
  (void)threads;
  return 1;
#endif
}

ScopedThreads::ScopedThreads(int64_t threads) : previous_(apply_threads(0)) { apply_threads(threads); }
ScopedThreads::~ScopedThreads() { apply_threads(previous_); }

Task task_from_options(const CommonOptions& options) { return task_from_name(options.task); }

}  // namespace minigrad::examples
