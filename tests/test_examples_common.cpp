// The helpers every example uses (examples/common): flag parsing, the copy and
// reverse tasks, accuracy, the progress bar, the result line, and the pictures.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "examples/common/cli.h"
#include "examples/common/plot.h"
#include "examples/common/progress.h"
#include "examples/common/task.h"
#include "examples/common/utf8.h"
#include "testing.h"

namespace {

using namespace minigrad;
using namespace minigrad::examples;
using minigrad::testing::throws_with;

// ---- flags ------------------------------------------------------------------------------

struct Parsed {
  CommonOptions common;
  int64_t d = 64;
  bool scaled = true;
  std::string attention = "dot";
};

// Parses `args` (without the program name) with the common flags and a few of
// the examples' own.
bool parse(Parsed& p, std::vector<std::string> args) {
  ArgParser parser("prog", "test");
  add_common_options(parser, p.common);
  parser.add_int("--d", &p.d, "width", 1, 4096);
  parser.add_switch("--scaled", &p.scaled, true, "scaled");
  parser.add_switch("--unscaled", &p.scaled, false, "unscaled");
  parser.add_choice("--attention", &p.attention, {"none", "dot", "scaled"}, "kind");
  args.insert(args.begin(), "prog");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return parser.parse(static_cast<int>(argv.size()), argv.data());
}

// The UsageError message of parsing `args`, or "" if it parsed.
std::string usage_error(std::vector<std::string> args) {
  Parsed p;
  try {
    parse(p, std::move(args));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(ExamplesCli, ParsesEveryKindOfFlag) {
  Parsed p;
  EXPECT_TRUE(parse(p, {"--task", "reverse", "--seed=7", "--steps", "0", "--threads", "2", "--save",
                        "m.st", "--load=n.st", "--out", "pics", "--stop-at", "0.995", "--d", "256",
                        "--unscaled", "--attention=none"}));
  EXPECT_EQ(p.common.task, "reverse");
  EXPECT_EQ(task_from_options(p.common), Task::Reverse);
  EXPECT_EQ(p.common.seed, 7);
  EXPECT_EQ(p.common.steps, 0);
  EXPECT_EQ(p.common.threads, 2);
  EXPECT_EQ(p.common.save_path, "m.st");
  EXPECT_EQ(p.common.load_path, "n.st");
  EXPECT_EQ(p.common.out_dir, "pics");
  EXPECT_DOUBLE_EQ(p.common.stop_at, 0.995);
  EXPECT_EQ(p.d, 256);
  EXPECT_FALSE(p.scaled);
  EXPECT_EQ(p.attention, "none");
}

TEST(ExamplesCli, DefaultsStayWithoutFlags) {
  Parsed p;
  EXPECT_TRUE(parse(p, {}));
  EXPECT_EQ(p.common.task, "copy");
  EXPECT_EQ(p.d, 64);
  EXPECT_TRUE(p.scaled);
}

TEST(ExamplesCli, HelpIsNotAnError) {
  Parsed p;
  EXPECT_FALSE(parse(p, {"--help"}));
  EXPECT_FALSE(parse(p, {"--steps", "3", "-h"}));
}

TEST(ExamplesCli, BadCommandLinesSayWhatIsWrong) {
  EXPECT_EQ(usage_error({"--frobnicate"}), "unknown option '--frobnicate'");
  EXPECT_EQ(usage_error({"--steps", "12x"}), "--steps: expected an integer, got '12x'");
  EXPECT_EQ(usage_error({"--steps", ""}), "--steps: expected an integer, got ''");
  EXPECT_EQ(usage_error({"--steps", "-5"}), "--steps: -5 is out of range [0, 100000000]");
  EXPECT_EQ(usage_error({"--steps"}), "--steps needs a value (N)");
  EXPECT_EQ(usage_error({"--task", "sort"}), "--task: expected one of copy|reverse, got 'sort'");
  EXPECT_EQ(usage_error({"--stop-at", "high"}), "--stop-at: expected a number, got 'high'");
  EXPECT_EQ(usage_error({"--stop-at", "1.5"}), "--stop-at: 1.5 is out of range [0, 1]");
  EXPECT_EQ(usage_error({"--scaled=yes"}), "--scaled takes no value");
  EXPECT_EQ(usage_error({"reverse"}), "unexpected argument 'reverse'");
  EXPECT_EQ(usage_error({"--save", ""}), "--save: expected a non-empty PATH");
}

TEST(ExamplesCli, BothSpellingsOfEveryKindOfValue) {
  // --name=value and --name value, also for a one-letter flag (--d) and a value
  // that looks like a flag.
  Parsed a, b;
  EXPECT_TRUE(parse(a, {"--d=8", "--seed=3", "--stop-at=0.5", "--task=reverse", "--out=-pics"}));
  EXPECT_TRUE(parse(
      b, {"--d", "8", "--seed", "3", "--stop-at", "0.5", "--task", "reverse", "--out", "-pics"}));
  for (const Parsed* p : {&a, &b}) {
    EXPECT_EQ(p->d, 8);
    EXPECT_EQ(p->common.seed, 3);
    EXPECT_DOUBLE_EQ(p->common.stop_at, 0.5);
    EXPECT_EQ(p->common.task, "reverse");
    EXPECT_EQ(p->common.out_dir, "-pics");
  }
}

TEST(ExamplesCli, TheLastOfTwoSwitchesOnOneTargetWins) {
  Parsed p;
  EXPECT_TRUE(parse(p, {"--unscaled", "--scaled"}));
  EXPECT_TRUE(p.scaled);
  EXPECT_TRUE(parse(p, {"--scaled", "--unscaled"}));
  EXPECT_FALSE(p.scaled);
}

TEST(ExamplesCli, MoreBadCommandLines) {
  EXPECT_EQ(usage_error({"--steps=12x"}), "--steps: expected an integer, got '12x'");
  EXPECT_EQ(usage_error({"--d=12x"}), "--d: expected an integer, got '12x'");
  EXPECT_EQ(usage_error({"--d", "0"}), "--d: 0 is out of range [1, 4096]");
  EXPECT_EQ(usage_error({"--d"}), "--d needs a value (N)");
  EXPECT_EQ(usage_error({"--seed", "99999999999999999999"}),
            "--seed: 99999999999999999999 is out of range [0, 9223372036854775807]");
  EXPECT_EQ(usage_error({"--seed", "99999999999999999999x"}),
            "--seed: expected an integer, got '99999999999999999999x'");
  EXPECT_EQ(usage_error({"--steps", "1.5"}), "--steps: expected an integer, got '1.5'");
  EXPECT_EQ(usage_error({"--steps", " 5"}), "--steps: expected an integer, got ' 5'");
  EXPECT_EQ(usage_error({"--stop-at", "nan"}), "--stop-at: expected a number, got 'nan'");
  EXPECT_EQ(usage_error({"--stop-at", "0.5x"}), "--stop-at: expected a number, got '0.5x'");
  EXPECT_EQ(usage_error({"--attention", "Dot"}),
            "--attention: expected one of none|dot|scaled, got 'Dot'");
  EXPECT_EQ(usage_error({"--scaled="}), "--scaled takes no value");
  EXPECT_EQ(usage_error({"--unscaled=true"}), "--unscaled takes no value");
  EXPECT_EQ(usage_error({"--frobnicate=3"}), "unknown option '--frobnicate'");
  EXPECT_EQ(usage_error({"--frobnicate", "3"}), "unknown option '--frobnicate'");
  EXPECT_EQ(usage_error({"-x"}), "unknown option '-x'");
  EXPECT_EQ(usage_error({"--x"}), "unknown option '--x'");
  EXPECT_EQ(usage_error({"--steps", "3", "extra"}), "unexpected argument 'extra'");
  EXPECT_EQ(usage_error({"--out="}), "--out: expected a non-empty DIR");
  // --help wins over what else is on the line.
  Parsed p;
  EXPECT_FALSE(parse(p, {"--frobnicate", "--help"}));
}

TEST(ExamplesCli, UsageListsEveryFlagWithItsDefault) {
  CommonOptions common;
  ArgParser parser("prog", "What it does.");
  add_common_options(parser, common);
  const std::string usage = parser.usage();
  for (const char* flag : {"--task copy|reverse", "--seed N", "--steps N", "--threads N",
                           "--save PATH", "--load PATH", "--out DIR", "--help"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag << " missing from\n" << usage;
  }
  EXPECT_NE(usage.find("(default: 300)"), std::string::npos) << usage;
  EXPECT_NE(usage.find("What it does."), std::string::npos);
}

TEST(ExamplesCli, UsageShowsOneLetterFlagsAndSwitchesAsTheyAreTyped) {
  Parsed p;
  ArgParser parser("prog", "test");
  parser.add_int("--d", &p.d, "width", 1, 4096);
  parser.add_switch("--scaled", &p.scaled, true, "scaled");
  parser.add_int("--seed", &p.common.seed, "seed", 0, 10);
  const std::string usage = parser.usage();
  EXPECT_NE(usage.find("  --d N "), std::string::npos) << usage;
  EXPECT_NE(usage.find("width (default: 64)"), std::string::npos) << usage;
  EXPECT_NE(usage.find("  --scaled "), std::string::npos) << usage;
  EXPECT_EQ(usage.find("--d-"), std::string::npos) << usage;
  EXPECT_EQ(usage.find("arg"), std::string::npos) << usage;  // no value shown for a switch
  // The descriptions start in one column.
  EXPECT_EQ(usage.find("width") - usage.rfind('\n', usage.find("width")),
            usage.find("seed (") - usage.rfind('\n', usage.find("seed (")))
      << usage;
}

TEST(ExamplesCli, RefusesFlagNamesItCannotParse) {
  int64_t n = 0;
  ArgParser parser("prog", "test");
  EXPECT_THROW(parser.add_int("steps", &n, "no dashes", 0, 1), std::logic_error);
  EXPECT_THROW(parser.add_int("--", &n, "empty", 0, 1), std::logic_error);
  EXPECT_THROW(parser.add_int("--a b", &n, "space", 0, 1), std::logic_error);
  EXPECT_THROW(parser.add_int("--help", &n, "taken", 0, 1), std::logic_error);
  parser.add_int("--n", &n, "n", 0, 1);
  EXPECT_THROW(parser.add_int("--n", &n, "again", 0, 1), std::logic_error);
}

TEST(ExamplesCliDeathTest, BadFlagExitsWithCode2) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ArgParser parser("prog", "test");
  CommonOptions common;
  add_common_options(parser, common);
  const char* argv[] = {"prog", "--steps", "many"};
  EXPECT_EXIT(parse_or_exit(parser, 3, argv), ::testing::ExitedWithCode(2),
              "prog: --steps: expected an integer, got 'many'");
  const char* help[] = {"prog", "--help"};
  EXPECT_EXIT(parse_or_exit(parser, 2, help), ::testing::ExitedWithCode(0), "");
}

TEST(ExamplesCliDeathTest, AProblemFoundAfterParsingExitsLikeABadFlag) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exit_usage_error("prog", "--a contradicts --b"), ::testing::ExitedWithCode(2),
              "prog: --a contradicts --b\n\\(run prog --help for the options\\)");
}

TEST(ExamplesCli, RunExampleReturnsTheRunsCodeOrOneIfItThrows) {
  char name[] = "prog";
  char steps[] = "--steps";
  char seven[] = "7";
  char* argv[] = {name, steps, seven};
  auto parse_steps = [](int n, char** args) {
    Parsed p;
    ArgParser parser("prog", "test");
    add_common_options(parser, p.common);
    parse_or_exit(parser, n, args);
    return p;
  };
  EXPECT_EQ(run_example("prog", 3, argv, parse_steps,
                        [](const Parsed& p) { return static_cast<int>(p.common.steps); }),
            7);
  EXPECT_EQ(run_example("prog", 1, argv, parse_steps,
                        [](const Parsed&) -> int { throw std::runtime_error("bad checkpoint"); }),
            1);
}

TEST(ExamplesCli, UsesCheckpointsIsTrueForAnyOfSaveLoadResume) {
  EXPECT_FALSE(CommonOptions{}.uses_checkpoints());
  EXPECT_TRUE(CommonOptions{.save_path = "a"}.uses_checkpoints());
  EXPECT_TRUE(CommonOptions{.load_path = "a"}.uses_checkpoints());
  EXPECT_TRUE(CommonOptions{.resume_path = "a"}.uses_checkpoints());
}

// ---- tasks and accuracy -------------------------------------------------------------------

TEST(ExamplesTask, CopyTargetIsTheSource) {
  const SequenceTask task(Task::Copy, 6);
  const Tensor source = Tensor::from_vector<int64_t>({3, 14, 7, 7, 0, 9, 1, 2, 3, 4, 5, 6}, {2, 6});
  EXPECT_EQ(task.target_for(source).to_vector<int64_t>(), source.to_vector<int64_t>());
  Generator gen(5);
  const Batch b = task.sample(32, gen);
  EXPECT_EQ(b.source.shape(), (Shape{32, 6}));
  EXPECT_EQ(b.target.to_vector<int64_t>(), b.source.to_vector<int64_t>());
}

TEST(ExamplesTask, ReverseTargetIsTheSourceBackwards) {
  const SequenceTask task(Task::Reverse, 6);
  const Tensor source = Tensor::from_vector<int64_t>({3, 14, 7, 7, 0, 9, 1, 2, 3, 4, 5, 6}, {2, 6});
  EXPECT_EQ(task.target_for(source).to_vector<int64_t>(),
            (std::vector<int64_t>{9, 0, 7, 7, 14, 3, 6, 5, 4, 3, 2, 1}));
  Generator gen(5);
  const Batch b = task.sample(16, gen);
  for (int64_t n = 0; n < 16; ++n)
    for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(b.target.at({n, i}), b.source.at({n, 5 - i}));
}

TEST(ExamplesTask, TokensStayInTheVocabulary) {
  const SequenceTask task(Task::Copy, 12);
  Generator gen(3);
  const Batch b = task.sample(256, gen);
  for (const int64_t t : b.source.to_vector<int64_t>()) {
    EXPECT_GE(t, 0);
    EXPECT_LT(t, 16);
  }
  EXPECT_EQ(task.vocab(), 16);
}

TEST(ExamplesTask, HeldOutSetIsFixedAndNeverTrainedOn) {
  const SequenceTask a(Task::Reverse, 3), b(Task::Reverse, 3);
  EXPECT_EQ(a.heldout().source.shape(), (Shape{1000, 3}));
  EXPECT_EQ(a.heldout().source.to_vector<int64_t>(), b.heldout().source.to_vector<int64_t>());
  EXPECT_EQ(a.heldout().target.to_vector<int64_t>(), a.target_for(a.heldout().source).to_vector<int64_t>());
  // T = 3 has only 4,096 sequences, so ~22 % of them are held out: a training
  // sample of 20,000 would contain thousands of them if they were not excluded.
  std::set<std::vector<int64_t>> heldout;
  const auto h = a.heldout().source.to_vector<int64_t>();
  for (size_t n = 0; n < h.size(); n += 3) heldout.insert({h[n], h[n + 1], h[n + 2]});
  Generator gen(11);
  const auto s = a.sample(20000, gen).source.to_vector<int64_t>();
  int64_t overlap = 0;
  for (size_t n = 0; n < s.size(); n += 3) overlap += heldout.count({s[n], s[n + 1], s[n + 2]});
  EXPECT_EQ(overlap, 0);
}

TEST(ExamplesTask, SameSeedSameBatches) {
  const SequenceTask task(Task::Copy, 12);
  Generator g1(42), g2(42), g3(43);
  const auto x1 = task.sample(8, g1).source.to_vector<int64_t>();
  EXPECT_EQ(x1, task.sample(8, g2).source.to_vector<int64_t>());
  EXPECT_NE(x1, task.sample(8, g3).source.to_vector<int64_t>());
}

TEST(ExamplesTask, RejectsSettingsWithNothingLeftToTrainOn) {
  EXPECT_THROW(SequenceTask(Task::Copy, 2), std::invalid_argument);  // 1,000 of 256 sequences
  EXPECT_THROW(SequenceTask(Task::Copy, 0), std::invalid_argument);
  EXPECT_THROW(task_from_name("sort"), std::invalid_argument);
  EXPECT_EQ(task_from_name("reverse"), Task::Reverse);
}

TEST(ExamplesTask, AccuracyCountsTokensAndWholeSequences) {
  const Tensor target = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  const Tensor one_wrong = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6, 0, 8}, {2, 4});
  const Accuracy a = accuracy(one_wrong, target);
  EXPECT_DOUBLE_EQ(a.token, 7.0 / 8.0);
  EXPECT_DOUBLE_EQ(a.sequence, 0.5);
  const Accuracy all = accuracy(target, target);
  EXPECT_DOUBLE_EQ(all.token, 1.0);
  EXPECT_DOUBLE_EQ(all.sequence, 1.0);
  EXPECT_THROW(accuracy(target, target.reshape({4, 2})), std::invalid_argument);
}

// ---- progress and result line ----------------------------------------------------------------

TEST(ExamplesProgress, WithoutATerminalPrintsPlainLinesEveryN) {
  std::ostringstream out;
  {
    ProgressBar bar(10, out, /*redraw_in_place=*/false, /*line_every=*/4);
    for (int64_t s = 1; s <= 10; ++s) bar.update(s, 1.0 / static_cast<double>(s), 0.5);
    bar.note("held-out 0.9");
  }
  const std::string text = out.str();
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("step      4/10"), std::string::npos) << text;
  EXPECT_NE(text.find("step      8/10"), std::string::npos) << text;
  EXPECT_NE(text.find("step     10/10"), std::string::npos) << text;  // the last step always
  EXPECT_EQ(text.find("step      5/10"), std::string::npos) << text;
  EXPECT_NE(text.find("loss 0.2500"), std::string::npos) << text;
  EXPECT_NE(text.find("steps/s"), std::string::npos) << text;
  EXPECT_NE(text.find("held-out 0.9\n"), std::string::npos) << text;
}

TEST(ExamplesProgress, OnATerminalRedrawsInPlace) {
  std::ostringstream out;
  {
    ProgressBar bar(3, out, /*redraw_in_place=*/true, 1);
    bar.update(1, 2.0, 0.1);
    bar.update(2, 1.0, 0.2);
  }
  const std::string text = out.str();
  EXPECT_EQ(text.rfind('\r', 0), 0u) << "each redraw starts with a carriage return";
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << "one newline, when the bar finishes";
}

TEST(ExamplesProgress, ALanguageModelsBarShowsTokensPerSecond) {
  std::ostringstream out;
  {
    ProgressBar bar(4, out, /*redraw_in_place=*/false, /*line_every=*/2);
    bar.update_tokens(2, 2.5, 1536);
    bar.update_tokens(3, 2.25, 2304);  // not due: no line
  }
  const std::string text = out.str();
  EXPECT_NE(text.find("step      2/4"), std::string::npos) << text;
  EXPECT_NE(text.find("loss 2.5000  "), std::string::npos) << text;
  EXPECT_NE(text.find(" tok/s\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("acc"), std::string::npos) << text;
  EXPECT_EQ(text.find("step      3/4"), std::string::npos) << text;
}

TEST(ExamplesPlot, CharacterLabelsShowSpacesAndNewlines) {
  EXPECT_EQ(character_labels("a b\n\t3일"),
            (std::vector<std::string>{"a", "␣", "b", "⏎", "⇥", "3", "일"}));
  EXPECT_THROW(character_labels("\xff"), std::invalid_argument);
}

TEST(ExamplesProgress, ResultLineHasTheAgreedFormat) {
  EXPECT_EQ(result_line("self_attention_copy", Task::Reverse, {0.99712, 0.97}, 1200, 8.43),
            "result: example=self_attention_copy task=reverse heldout_token_acc=0.997 heldout_seq_acc=0.970 "
            "steps=1200 seconds=8.4");
  EXPECT_EQ(result_line("seq2seq_attention", Task::Copy, {1.0, 1.0}, 5, 0.04, "attention=dot length=12"),
            "result: example=seq2seq_attention task=copy heldout_token_acc=1.000 heldout_seq_acc=1.000 "
            "steps=5 seconds=0.0 attention=dot length=12");
  EXPECT_EQ(
      loss_result_line("gpt", "fortunes", 2.02514, 2000, 312.44, "bigram=2.595"),
      "result: example=gpt task=fortunes val_loss=2.0251 steps=2000 seconds=312.4 bigram=2.595");
}

// ---- pictures ----------------------------------------------------------------------------------

// A small XML well-formedness check: tags nest and close, attribute values are
// quoted, text holds no raw '<' and only the five XML entities.
::testing::AssertionResult well_formed_xml(const std::string& xml) {
  std::vector<std::string> open;
  size_t i = 0;
  if (xml.rfind("<?xml", 0) == 0) i = xml.find("?>") + 2;
  bool saw_root = false;
  while (i < xml.size()) {
    if (xml[i] == '<') {
      const size_t end = xml.find('>', i);
      if (end == std::string::npos) return ::testing::AssertionFailure() << "unclosed tag at " << i;
      std::string tag = xml.substr(i + 1, end - i - 1);
      if (tag.empty()) return ::testing::AssertionFailure() << "empty tag at " << i;
      if (tag[0] == '/') {
        const std::string name = tag.substr(1);
        if (open.empty() || open.back() != name)
          return ::testing::AssertionFailure() << "</" << name << "> closes " << (open.empty() ? "nothing" : open.back());
        open.pop_back();
      } else {
        const bool self_closing = tag.back() == '/';
        if (self_closing) tag.pop_back();
        const std::string name = tag.substr(0, tag.find_first_of(" \n\t"));
        if (!saw_root && name != "svg") return ::testing::AssertionFailure() << "root is <" << name << ">";
        if (saw_root && open.empty()) return ::testing::AssertionFailure() << "second root <" << name << ">";
        saw_root = true;
        // attributes: name="value" pairs
        size_t q = 0;
        for (const char c : tag) q += c == '"';
        if (q % 2 != 0) return ::testing::AssertionFailure() << "unbalanced quotes in <" << tag << ">";
        if (tag.find("='") != std::string::npos || tag.find("= ") != std::string::npos)
          return ::testing::AssertionFailure() << "unquoted attribute in <" << tag << ">";
        if (!self_closing) open.push_back(name);
      }
      i = end + 1;
    } else {
      if (xml[i] == '&') {
        const size_t semi = xml.find(';', i);
        const std::string entity = semi == std::string::npos ? "" : xml.substr(i, semi - i + 1);
        if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" && entity != "&apos;")
          return ::testing::AssertionFailure() << "bad entity at " << i;
      } else if (xml[i] == '>') {
        return ::testing::AssertionFailure() << "raw '>' in text at " << i;
      } else if (open.empty() && !std::isspace(static_cast<unsigned char>(xml[i]))) {
        return ::testing::AssertionFailure() << "text outside the root at " << i;
      }
      ++i;
    }
  }
  if (!saw_root) return ::testing::AssertionFailure() << "no root element";
  if (!open.empty()) return ::testing::AssertionFailure() << "<" << open.back() << "> never closed";
  return ::testing::AssertionSuccess();
}

TEST(ExamplesPlot, TheXmlCheckerCatchesBrokenSvg) {
  EXPECT_TRUE(well_formed_xml("<svg a=\"1\"><rect/><text>x &lt; y</text></svg>"));
  EXPECT_FALSE(well_formed_xml("<svg><rect></svg>"));
  EXPECT_FALSE(well_formed_xml("<svg><text>x < y</text></svg>"));
  EXPECT_FALSE(well_formed_xml("<svg><text>R&D</text></svg>"));
  EXPECT_FALSE(well_formed_xml("<svg a=\"1><rect/></svg>"));
  EXPECT_FALSE(well_formed_xml("<svg></svg><svg></svg>"));
}

HeatmapLabels labels_2x3() {
  return {"weights <&> \"quoted\"", "output (query)", "input (key)", {"7", "1"}, {"1", "<s>", "7"}};
}

TEST(ExamplesPlot, HeatmapSvgIsWellFormedWithOneCellPerWeight) {
  const Tensor w = Tensor::from_list({0.0, 0.1, 0.9, 1.0, 0.0, 0.0}, {2, 3});
  const std::string svg = heatmap_svg(w, labels_2x3());
  EXPECT_TRUE(well_formed_xml(svg)) << svg;
  size_t cells = 0;
  for (size_t p = svg.find("<title>row "); p != std::string::npos; p = svg.find("<title>row ", p + 1)) ++cells;
  EXPECT_EQ(cells, 6u);
  EXPECT_NE(svg.find("row 0, column 2: 0.900"), std::string::npos);
  EXPECT_NE(svg.find("fill=\"#ffffff\""), std::string::npos);  // weight 0: white
  EXPECT_NE(svg.find("fill=\"#08306b\""), std::string::npos);  // weight 1: deep blue
  EXPECT_NE(svg.find("&lt;s&gt;"), std::string::npos) << "labels are escaped";
  EXPECT_NE(svg.find("output (query)"), std::string::npos);
  EXPECT_NE(svg.find("input (key)"), std::string::npos);
}

TEST(ExamplesPlot, HeatmapRejectsLabelsThatDoNotFit) {
  const Tensor w = Tensor::zeros({2, 3});
  HeatmapLabels bad = labels_2x3();
  bad.columns.pop_back();
  EXPECT_THROW(heatmap_svg(w, bad), std::invalid_argument);
  EXPECT_THROW(terminal_heatmap(w, bad), std::invalid_argument);
  EXPECT_THROW(heatmap_svg(Tensor::zeros({6}), labels_2x3()), std::invalid_argument);
}

TEST(ExamplesPlot, TerminalHeatmapShadesEachWeight) {
  const Tensor w = Tensor::from_list({0.0, 0.25, 0.5, 0.75, 1.0, 0.05}, {2, 3});
  const std::string text = terminal_heatmap(w, labels_2x3());
  EXPECT_NE(text.find("7 │   ░░░▒▒▒│"), std::string::npos) << text;
  EXPECT_NE(text.find("1 │▓▓▓███   │"), std::string::npos) << text;
  EXPECT_NE(text.find("  1<s>  7"), std::string::npos) << text;  // column labels, 3 wide
}

// A Hangul syllable is three bytes and two terminal columns: the labels are padded by
// columns, so every line of the grid takes as many columns as the others.
TEST(ExamplesPlot, TerminalHeatmapAlignsWideAndMultiByteLabels) {
  const Tensor w = Tensor::from_list({1.0, 0.0, 0.0, 0.0, 1.0, 0.0}, {2, 3});
  const HeatmapLabels korean{"", "", "", {"<end>", "1"}, {"5", "월", "␣"}};
  const std::string text = terminal_heatmap(w, korean);
  EXPECT_NE(text.find("\n         5 월  ␣\n"), std::string::npos) << text;  // 3 columns each
  EXPECT_NE(text.find("<end> │███      │"), std::string::npos) << text;
  EXPECT_NE(text.find("    1 │   ███   │"), std::string::npos) << text;
  std::istringstream lines(text);
  std::vector<int64_t> widths;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("│") != std::string::npos) widths.push_back(display_width(line));
  }
  EXPECT_EQ(widths, (std::vector<int64_t>{17, 17}));
  // The SVG carries the characters as they are, UTF-8 as its header says.
  const std::string svg = heatmap_svg(w, korean);
  EXPECT_TRUE(well_formed_xml(svg)) << svg;
  EXPECT_NE(svg.find("encoding=\"UTF-8\""), std::string::npos);
  EXPECT_NE(svg.find(">월</text>"), std::string::npos) << svg;
  // A label wider than a cell widens every cell.
  const std::string wide = terminal_heatmap(w, {"", "", "", {"a", "b"}, {"<pad>", "x", "y"}});
  EXPECT_NE(wide.find("a │█████          │"), std::string::npos) << wide;
}

TEST(ExamplesUtf8, SymbolsAreCodePointsAndWidthsAreColumns) {
  EXPECT_EQ(utf8_symbols("3일 é😀"), (std::vector<std::string>{"3", "일", " ", "é", "😀"}));
  EXPECT_EQ(display_width("1979년 5월"), 4 + 2 + 1 + 1 + 2);
  EXPECT_EQ(display_width("é␣│"), 3);  // Latin, symbols, box drawing: one column each
  EXPECT_EQ(display_width("😀"), 2);
  EXPECT_EQ(display_width(""), 0);
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { display_width("ab\xff"); },
                                                 {"display_width", "byte 2"}));
}

TEST(ExamplesPlot, LineChartIsWellFormedAndChecksItsInput) {
  LineChart chart{"loss", "step", "loss", true, {{"train", {1, 2, 3, 4}, {2.7, 1.0, 0.1, 0.01}}}};
  const std::string svg = line_chart_svg(chart);
  EXPECT_TRUE(well_formed_xml(svg)) << svg;
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(svg.find(">0.01<"), std::string::npos) << "log ticks at powers of ten";
  EXPECT_NE(svg.find(">1<"), std::string::npos);
  chart.series[0].y[3] = 0.0;
  EXPECT_THROW(line_chart_svg(chart), std::invalid_argument);  // 0 has no place on a log axis
  chart.log_y = false;
  EXPECT_TRUE(well_formed_xml(line_chart_svg(chart)));
  chart.series[0].y.pop_back();
  EXPECT_THROW(line_chart_svg(chart), std::invalid_argument);
}

TEST(ExamplesPlot, LossCsvHasOneRowPerStepAndHeldOutWhereEvaluated) {
  TrainingCurve curve;
  curve.steps = {1, 2, 3};
  curve.losses = {2.5, 1.25, 0.5};
  curve.eval_steps = {2};
  curve.evals = {{0.75, 0.5}};
  EXPECT_EQ(loss_curve_csv(curve),
            "step,loss,heldout_token_acc,heldout_seq_acc\n"
            "1,2.5,,\n"
            "2,1.25,0.7500,0.5000\n"
            "3,0.5,,\n");
}

TEST(ExamplesPlot, FilesAreWrittenWholeAndNoTempIsLeft) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("minigrad_examples_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string path = (dir / "sub" / "a.svg").string();
  write_file_atomically(path, "first");
  write_file_atomically(path, "second");
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "second");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir / "sub")) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1) << "the temporary file was left behind";
  EXPECT_THROW(write_file_atomically((dir / "sub" / "a.svg" / "x").string(), "y"), std::runtime_error);
  fs::remove_all(dir);
}

}  // namespace
