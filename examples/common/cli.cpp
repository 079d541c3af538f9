#include "examples/common/cli.h"

#include <cxxopts.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <regex>
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

// What a switch holds when it was given: no command-line text can be this (argv
// strings end at the first NUL), so `--scaled=anything` is told apart.
const std::string kSwitchGiven(1, '\0');

// A switch for cxxopts: a string value (so that `--scaled=yes` reaches us and
// gets our message instead of failing cxxopts' bool parse unnamed) that --help
// lists as a flag without a value.
class SwitchValue : public cxxopts::values::standard_value<std::string> {
 public:
  // As cxxopts' own bool does: implicit_value() would need a shared_ptr to this.
  SwitchValue() {
    m_implicit = true;
    m_implicit_value = kSwitchGiven;
  }
  std::shared_ptr<cxxopts::Value> clone() const override {
    return std::make_shared<SwitchValue>(*this);
  }
  bool is_boolean() const override { return true; }
};

// cxxopts reads a long option only if its name has two or more characters, so
// the one-letter flag --d is known to it as --d- (on the command line and in the
// help text, translated both ways here).
std::string option_key(const std::string& flag_name) {
  std::string key = flag_name.substr(2);
  if (key.size() == 1) key += '-';
  return key;
}
bool is_one_letter(const std::string& arg, const std::string& key) {
  return key.size() == 2 && key[1] == '-' && arg.size() >= 3 &&
         arg.compare(0, 3, "--" + key.substr(0, 1)) == 0 && (arg.size() == 3 || arg[3] == '=');
}

// The option named in cxxopts' message "Option 'steps' is missing an argument".
std::string option_in_message(const std::string& message) {
  const size_t open = message.find(cxxopts::LQUOTE);
  if (open == std::string::npos) return "";
  const size_t begin = open + cxxopts::LQUOTE.size();
  const size_t close = message.find(cxxopts::RQUOTE, begin);
  return close == std::string::npos ? "" : message.substr(begin, close - begin);
}

}  // namespace

ArgParser::ArgParser(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

void ArgParser::add(Flag flag) {
  // The names cxxopts accepts: a letter or digit, then letters, digits, '-', '_' or '.'.
  static const std::regex valid("--[[:alnum:]][-_[:alnum:].]*");
  const std::string name = flag.name;
  if (!std::regex_match(name, valid) || name == "--help") {
    throw std::logic_error("ArgParser: bad flag name " + quoted(name));
  }
  for (const Flag& f : flags_) {
    if (f.name == name || option_key(f.name) == option_key(name)) {
      throw std::logic_error("ArgParser: repeated flag name " + quoted(name));
    }
  }
  flags_.push_back(std::move(flag));
}

const ArgParser::Flag* ArgParser::find_key(const std::string& key) const {
  for (const Flag& f : flags_)
    if (option_key(f.name) == key) return &f;
  return nullptr;
}

void ArgParser::declare(cxxopts::Options& options) const {
  options.custom_help("[options]");
  options.set_width(100);
  auto adder = options.add_options();
  for (const Flag& f : flags_) {
    if (f.value_name.empty()) {
      adder(option_key(f.name), f.help, std::make_shared<SwitchValue>());
      continue;
    }
    auto value = cxxopts::value<std::string>();
    if (!f.default_text.empty()) value->default_value(f.default_text);
    adder(option_key(f.name), f.help, value, f.value_name);
  }
  adder("h,help", "print this and exit");
}

void ArgParser::add_switch(const std::string& name, bool* target, bool value_when_given,
                           const std::string& help) {
  add({name, "", help, "",
       [target, value_when_given](const std::string&) { *target = value_when_given; }});
}

void ArgParser::add_int(const std::string& name, int64_t* target, const std::string& help,
                        int64_t min, int64_t max) {
  add({name, "N", help, std::to_string(*target), [=](const std::string& text) {
         int64_t value = 0;
         const char* end = text.data() + text.size();
         const auto [ptr, ec] = std::from_chars(text.data(), end, value);
         if (ec == std::errc::result_out_of_range && ptr == end) {
           throw UsageError(name + ": " + text + " is out of range [" + std::to_string(min) + ", " +
                            std::to_string(max) + "]");
         }
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

void ArgParser::add_double(const std::string& name, double* target, const std::string& help,
                           double min, double max) {
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

void ArgParser::add_choice(const std::string& name, std::string* target,
                           std::vector<std::string> choices, const std::string& help) {
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
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    for (const Flag& f : flags_) {
      const std::string key = option_key(f.name);
      if (i > 0 && is_one_letter(arg, key)) {
        arg.insert(3, "-");
        break;
      }
    }
    args.push_back(std::move(arg));
  }
  std::vector<const char*> pointers;
  for (const std::string& a : args) pointers.push_back(a.c_str());

  cxxopts::Options options(program_, description_);
  declare(options);
  // Unknown flags and stray words come back in unmatched(), to be named below.
  options.allow_unrecognised_options();
  cxxopts::ParseResult result;
  try {
    result = options.parse(argc, pointers.data());
  } catch (const cxxopts::exceptions::missing_argument& e) {
    const Flag* flag = find_key(option_in_message(e.what()));
    if (flag == nullptr) throw UsageError(e.what());
    throw UsageError(flag->name + " needs a value (" + flag->value_name + ")");
  } catch (const cxxopts::exceptions::parsing& e) {
    throw UsageError(e.what());
  }
  if (result.count("help") != 0) return false;
  if (!result.unmatched().empty()) {
    const std::string& first = result.unmatched().front();
    if (first.size() > 1 && first[0] == '-') {
      throw UsageError("unknown option " + quoted(first.substr(0, first.find('='))));
    }
    throw UsageError("unexpected argument " + quoted(first));
  }
  for (const cxxopts::KeyValue& kv : result.arguments()) {
    const Flag* flag = find_key(kv.key());
    if (flag == nullptr) continue;  // --help
    if (flag->value_name.empty() && kv.value() != kSwitchGiven)
      throw UsageError(flag->name + " takes no value");
    flag->set(kv.value());
  }
  return true;
}

std::string ArgParser::usage() const {
  cxxopts::Options options(program_, description_);
  declare(options);
  std::string text = options.help();
  // --d- back to --d: the same length, so the columns stay aligned.
  for (const Flag& f : flags_) {
    const std::string key = option_key(f.name);
    if (key == f.name.substr(2)) continue;
    const std::string suffix = f.value_name.empty() ? "" : " " + f.value_name;
    const size_t at = text.find("--" + key + suffix);
    if (at != std::string::npos)
      text.replace(at, 2 + key.size() + suffix.size(), f.name + suffix + " ");
  }
  // cxxopts leaves a space at the end of a wrapped line.
  std::string trimmed;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    line.erase(line.find_last_not_of(' ') + 1);
    trimmed += line + "\n";
  }
  return trimmed;
}

void parse_or_exit(const ArgParser& parser, int argc, const char* const* argv) {
  try {
    if (!parser.parse(argc, argv)) {
      std::cout << parser.usage();
      std::exit(0);
    }
  } catch (const UsageError& e) {
    exit_usage_error(parser.program(), e.what());
  }
}

void exit_usage_error(const std::string& program, const std::string& message) {
  std::cerr << program << ": " << message << "\n(run " << program << " --help for the options)\n";
  std::exit(2);
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
      "continue the run saved by --save (weights, optimizer, lr schedule, data stream, step) up "
      "to --steps");
  parser.add_string("--out", &o.out_dir, "folder for the SVG pictures and the CSV loss curve",
                    "DIR");
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

ScopedThreads::ScopedThreads(int64_t threads) : previous_(apply_threads(0)) {
  apply_threads(threads);
}
ScopedThreads::~ScopedThreads() { apply_threads(previous_); }

Task task_from_options(const CommonOptions& options) { return task_from_name(options.task); }

}  // namespace minigrad::examples
