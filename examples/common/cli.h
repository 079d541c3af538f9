// Command-line flags shared by the examples, parsed with cxxopts.
//
//   ArgParser parser("self_attention_copy", "Self-attention learns to copy or reverse.");
//   CommonOptions common{.steps = 300};
//   add_common_options(parser, common);
//   parser.add_int("--d", &d_model, "model width", 1, 4096);
//   parse_or_exit(parser, argc, argv);   // --help: usage, exit 0; bad input: message, exit 2
//
// Flags are written `--name value` or `--name=value`. cxxopts splits the command
// line and writes --help; every value is then checked here completely ("12x" is
// not an integer) and against its range, and an error names the flag.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "examples/common/task.h"

namespace cxxopts {
class Options;
}

namespace minigrad::examples {

// A command line that cannot be run: the message says which flag and why.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ArgParser {
 public:
  ArgParser(std::string program, std::string description);

  // Flag names are "--" and a letter or digit, then letters, digits, '-', '_' or
  // '.'; a bad or repeated name, or --help, throws std::logic_error. --help lists
  // the flags in the order they were added, each with the target's value at the
  // time as its default.

  // A flag without a value: `--scaled` stores true, `--unscaled` (another
  // add_switch on the same bool) stores false.
  void add_switch(const std::string& name, bool* target, bool value_when_given,
                  const std::string& help);
  void add_int(const std::string& name, int64_t* target, const std::string& help, int64_t min,
               int64_t max);
  void add_double(const std::string& name, double* target, const std::string& help, double min,
                  double max);
  void add_string(const std::string& name, std::string* target, const std::string& help,
                  const std::string& value_name = "PATH");
  // One of a fixed set of words, e.g. --attention none|dot|scaled.
  void add_choice(const std::string& name, std::string* target, std::vector<std::string> choices,
                  const std::string& help);

  // Parses argv[1..argc). Returns false when --help (or -h) was given, true
  // otherwise; throws UsageError for an unknown flag, a missing or bad value,
  // or a stray argument. Values are stored in command-line order (the last of
  // --scaled and --unscaled wins); targets of flags before a bad value may
  // already be set.
  bool parse(int argc, const char* const* argv) const;
  std::string usage() const;
  const std::string& program() const { return program_; }

 private:
  struct Flag {
    std::string name;
    std::string value_name;  // empty for a switch
    std::string help;
    std::string default_text;
    std::function<void(const std::string&)> set;  // throws UsageError on a bad value
  };
  void add(Flag flag);
  // The flag cxxopts knows by `key` (see option_key in cli.cpp).
  const Flag* find_key(const std::string& key) const;
  // Every flag, and --help, declared to cxxopts.
  void declare(cxxopts::Options& options) const;

  std::string program_, description_;
  std::vector<Flag> flags_;
};

// parse(), then: --help prints usage() to stdout and exits 0; a UsageError
// prints "<program>: <message>" and a hint to stderr and exits 2.
void parse_or_exit(const ArgParser& parser, int argc, const char* const* argv);
inline void parse_or_exit(const ArgParser& parser, int argc, char** argv) {
  parse_or_exit(parser, argc, const_cast<const char* const*>(argv));
}

/// Prints "<program>: <message>" and the hint "(run <program> --help for the
/// options)" to stderr and exits 2: what parse_or_exit does with a bad flag, for
/// the checks an example makes after parsing (flags that contradict each other).
[[noreturn]] void exit_usage_error(const std::string& program, const std::string& message);

// An example's main(): returns run()'s exit code, or prints "<example>: <what went
// wrong>" to stderr and returns 1 if it throws (a bad checkpoint, a bad --load path).
int run_or_report(const char* example, const std::function<int()>& run);

/// An example's whole main(): `parse(argc, argv)` reads the options (exiting 0
/// after --help and 2 on a usage error), then `run(options)` runs under
/// run_or_report. Every example exits the same way: 0 done, 1 failed, 2 bad flags.
template <class Parse, class Run>
int run_example(const char* example, int argc, char** argv, Parse parse, Run run) {
  const auto options = parse(argc, argv);
  return run_or_report(example, [&] { return run(options); });
}

// The flags every example takes.
struct CommonOptions {
  std::string task = "copy";  // copy | reverse
  int64_t seed = 1;           // model init and training batches (the held-out set never changes)
  int64_t steps = 300;        // training steps (0: only evaluate, e.g. after --load)
  // OpenMP threads; 0 leaves OpenMP's default. One, because these models are
  // small: a second thread saves little, and on a busy machine every parallel
  // region waits for a core that is running someone else.
  int64_t threads = 1;
  int64_t eval_every = 50;  // evaluate on the held-out set every this many steps
  double stop_at = 0.0;     // stop once held-out token accuracy reaches this (0: never)
  // The {} lets an example set its own defaults with designated initializers
  // (CommonOptions{.steps = 500}) without -Wmissing-field-initializers.
  std::string save_path{};      // write a checkpoint here after training
  std::string load_path{};      // start from this checkpoint's weights
  std::string resume_path{};    // continue the run this checkpoint saved
  std::string out_dir = "out";  // pictures and curves go here

  /// True if any of --save, --load and --resume was given: examples that train
  /// several models from scratch refuse them.
  bool uses_checkpoints() const {
    return !save_path.empty() || !load_path.empty() || !resume_path.empty();
  }

  // Evaluate on the held-out set after this step of a run of total_steps: every
  // eval_every steps, and after the last.
  bool evaluation_due(int64_t step, int64_t total_steps) const {
    return step % eval_every == 0 || step == total_steps;
  }
  // Stop after an evaluation that reached --stop-at.
  bool stops_at(const Accuracy& heldout) const { return stop_at > 0 && heldout.token >= stop_at; }
};
// with_task = false: an example whose task is fixed has no --task flag (the parser
// then refuses it as an unknown option instead of ignoring it).
void add_common_options(ArgParser& parser, CommonOptions& options, bool with_task = true);

// Sets the number of OpenMP threads (threads > 0) and returns the number in use.
int apply_threads(int64_t threads);

// Sets the number of OpenMP threads for its lifetime, then puts the old number back.
class ScopedThreads {
 public:
  explicit ScopedThreads(int64_t threads);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

Task task_from_options(const CommonOptions& options);

}  // namespace minigrad::examples
