// docs/RELIABILITY.md states numbers about the tests and the fuzz corpus: how many
// bad calls the bad-input table makes, how many fuzz targets and seed files there
// are, how many steps a memory test trains. A number typed by hand goes stale the
// day someone adds a row, so this test computes each one from the code (the test
// registry, the files) and fails, naming the sentence, when the page says otherwise.
//
// Three kinds of check:
//   counted    the number is computed here (registry, files) and read from the page;
//   coupled    a number that is a test's parameter: the page's sentence and the
//              code that sets it are both looked for, so changing either one fails
//              until the other follows;
//   cited      every test the page names (`Suite.Name`, `Suite.*`, a parameterised
//              row, a CTest name) exists, and the tables that mirror a suite name
//              every test of it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kRoot = MINIGRAD_SOURCE_DIR;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string& reliability() {
  static const std::string text = read_text(kRoot / "docs" / "RELIABILITY.md");
  return text;
}

// The number the page writes before `suffix` ("285 bad calls", "Three libFuzzer
// targets", "5,000 steps"), as digits or as a word; -1 if the page has no such phrase.
int64_t number_before(const std::string& text, const std::string& suffix) {
  static const std::map<std::string, int64_t> words = {
      {"one", 1},   {"two", 2},   {"three", 3}, {"four", 4}, {"five", 5},    {"six", 6},
      {"seven", 7}, {"eight", 8}, {"nine", 9},  {"ten", 10}, {"eleven", 11}, {"twelve", 12}};
  const size_t at = text.find(suffix);
  if (at == std::string::npos) return -1;
  size_t start = at;
  while (start > 0 &&
         (std::isalnum(static_cast<unsigned char>(text[start - 1])) || text[start - 1] == ',')) {
    --start;
  }
  std::string word = text.substr(start, at - start);
  if (word.empty()) return -1;
  std::string digits;
  for (char c : word) {
    if (c != ',') digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (std::all_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(c) != 0; })) {
    return std::stoll(digits);
  }
  const auto it = words.find(digits);
  return it == words.end() ? -1 : it->second;
}

// Every test in the binary, by suite: the registry is the truth about what runs.
std::map<std::string, std::set<std::string>> registry() {
  std::map<std::string, std::set<std::string>> tests;
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const ::testing::TestSuite& suite = *unit.GetTestSuite(i);
    for (int j = 0; j < suite.total_test_count(); ++j) {
      tests[suite.name()].insert(suite.GetTestInfo(j)->name());
    }
  }
  return tests;
}

// ---- counted
// -------------------------------------------------------------------------------------

TEST(Docs, ReliabilityCountsTheBadInputRows) {
  const auto tests = registry();
  ASSERT_EQ(tests.count("BadInput/Row_"), 1u) << "the bad-input table is not in this binary";
  const int64_t rows = static_cast<int64_t>(tests.at("BadInput/Row_").size());
  EXPECT_GE(rows, 100);  // the table itself, not a stub
  EXPECT_EQ(number_before(reliability(), " bad calls across the whole public API"), rows)
      << "RELIABILITY.md, section 1: the number of bad-input rows (tests/test_bad_input.cpp)";
  EXPECT_EQ(number_before(reliability(), " errors in a row"), rows)
      << "RELIABILITY.md, section 1: \"survives all N errors in a row\"";

  // The per-layer minimums the page quotes are the ones TheTableCoversEveryLayer asserts.
  const std::string source = read_text(kRoot / "tests" / "test_bad_input.cpp");
  for (const auto& [code, page] :
       std::vector<std::pair<std::string, std::string>>{{"EXPECT_GE(tensor, ", " tensor rows"},
                                                        {"EXPECT_GE(autograd, ", " autograd, ≥"},
                                                        {"EXPECT_GE(nn_rows, ", " nn)"}}) {
    const size_t at = source.find(code);
    ASSERT_NE(at, std::string::npos) << "tests/test_bad_input.cpp no longer has " << code;
    const int64_t want = std::stoll(source.substr(at + code.size()));
    EXPECT_EQ(number_before(reliability(), page), want)
        << "RELIABILITY.md, section 1: the minimum before \"" << page << "\" is " << code << want
        << ") in tests/test_bad_input.cpp";
  }
}

TEST(Docs, ReliabilityCountsTheExceptionTypes) {
  // The rows' expected types (enum Want of tests/test_bad_input.cpp) are the page's table.
  const std::string source = read_text(kRoot / "tests" / "test_bad_input.cpp");
  const size_t open = source.find("enum class Want {");
  ASSERT_NE(open, std::string::npos);
  const std::string body = source.substr(open, source.find('}', open) - open);
  const int64_t kinds = std::count(body.begin(), body.end(), ',') + 1;
  EXPECT_EQ(number_before(reliability(), " exception types"), kinds)
      << "RELIABILITY.md, section 1: \"one of N exception types\" (enum Want has " << kinds << ")";

  // ...and the table below that sentence has one row per type.
  const std::string& page = reliability();
  const size_t table = page.find("| type | when |");
  ASSERT_NE(table, std::string::npos);
  std::istringstream lines(page.substr(table));
  int64_t rows = -2;  // the header and the |---| line
  for (std::string line; std::getline(lines, line) && line.rfind('|', 0) == 0;) ++rows;
  EXPECT_EQ(rows, kinds) << "RELIABILITY.md: the table of exception types";
}

TEST(Docs, ReliabilityCountsTheFuzzTargetsAndSeeds) {
  int64_t targets = 0;
  for (const auto& e : fs::directory_iterator(kRoot / "fuzz")) {
    const std::string name = e.path().filename().string();
    targets += name.rfind("fuzz_", 0) == 0 && e.path().extension() == ".cpp";
  }
  EXPECT_EQ(number_before(reliability(), " libFuzzer targets"), targets)
      << "RELIABILITY.md, section 2: fuzz/fuzz_*.cpp";

  int64_t seeds = 0;
  uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(kRoot / "fuzz" / "corpus")) {
    if (!e.is_regular_file()) continue;
    ++seeds;
    bytes += e.file_size();
  }
  EXPECT_GE(seeds, targets);  // every target has seeds
  EXPECT_EQ(number_before(reliability(), " seed files"), seeds)
      << "RELIABILITY.md, section 2: the files under fuzz/corpus/";
  const int64_t kb = number_before(reliability(), " KB in all");
  EXPECT_GT(kb, 0) << "RELIABILITY.md, section 2: \"under N KB in all\"";
  EXPECT_LT(bytes, static_cast<uintmax_t>(kb) * 1000) << "fuzz/corpus/ holds " << bytes << " bytes";

  // The reproducers the page names are in the corpus.
  const std::regex name(R"(regress-[a-z0-9-]+)");
  const std::string& page = reliability();
  int named = 0;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), name); it != std::sregex_iterator();
       ++it, ++named) {
    EXPECT_TRUE(fs::exists(kRoot / "fuzz" / "corpus" / "views" / it->str()))
        << "RELIABILITY.md names " << it->str() << ", which is not in fuzz/corpus/views/";
  }
  EXPECT_GE(named, 3);
}

// ---- coupled
// ---------------------------------------------------------------------------------------

TEST(Docs, ReliabilityNumbersAreTheTestsParameters) {
  struct Coupling {
    std::string page;  // the sentence's words, as RELIABILITY.md writes them
    std::string file;  // the source that sets the number
    std::string code;  // ...and how it sets it
  };
  const std::vector<Coupling> couplings = {
      {"up to 24 random ops", "fuzz/fuzz_views.cpp", "step < 24"},
      {"a logit scale up to ±1e4", "fuzz/fuzz_model.cpp", "1e4, -1e4"},
      {"default 60 s per target", "fuzz/run_fuzzers.sh", "seconds=\"${1:-60}\""},
      {"saving a 4 MB model", "tests/test_reliability.cpp", "~4 MB of parameters"},
      {"in 300 training steps", "tests/test_reliability.cpp",
       "train_self_attention_checking_memory(300)"},
      {"over 5,000 steps", "tests/test_reliability.cpp",
       "train_self_attention_checking_memory(5000)"},
      {"for 100 steps of an Embedding", "tests/test_reliability.cpp",
       "i < 100; ++i) {\n    step();"},
      {"a 100,000-op chain runs backward", "tests/test_reliability.cpp",
       "i < 50000; ++i) y = (y * 1.00001) + 0.0;  // 100,000 ops"},
      {"a 100,000-op chain that never ran backward", "tests/test_reliability.cpp",
       "i < 100000; ++i) y = tanh(y);"},
      {"with a 2 MB stack", "tests/test_reliability.cpp", "stack_bytes = size_t{2} << 20"},
      {"unrolled over 10,000 steps (fused; the composed reference over 2,000)",
       "tests/test_reliability.cpp", "fused ? 10000 : 2000"},
      {"over a 10,000-step sequence", "tests/test_reliability.cpp", "randn({10000, 1, 2}"},
      {"a 200×200 matmul", "tests/test_determinism.cpp", "randn({200, 200}"},
      {"ten Adam steps of the self-attention model (batch 128, T 32, d 128",
       "tests/test_reliability.cpp", "SelfAttentionModel model({16, 32, 128, true}, init);"},
      {"ten Adam steps", "tests/test_reliability.cpp",
       "step < 10; ++step) {\n    const Batch batch = task.sample(128, data);"},
      {"widened to d or H = 256", "tests/CMakeLists.txt", "--eval-every 4 --d 256"},
      {"widened to d or H = 256", "tests/CMakeLists.txt", "--eval-every 4 --hidden 256"},
  };
  for (const Coupling& c : couplings) {
    EXPECT_TRUE(reliability().find(c.page) != std::string::npos)
        << "RELIABILITY.md no longer says \"" << c.page << "\"; if the number changed, change "
        << c.file << " or this list (tests/test_doc_counts.cpp) with it";
    EXPECT_TRUE(read_text(kRoot / c.file).find(c.code) != std::string::npos)
        << "RELIABILITY.md says \"" << c.page << "\", but " << c.file << " no longer has \""
        << c.code << "\": make the page say what the test now does";
  }
}

// ---- cited
// -------------------------------------------------------------------------------------------

TEST(Docs, ReliabilityCitesTestsThatExistAndEveryTestOfItsSuites) {
  const auto tests = registry();
  const std::string& page = reliability();
  const std::string cmake = read_text(kRoot / "tests" / "CMakeLists.txt");
  std::set<std::string> cited;  // Suite.Name
  int checked = 0;
  // `Suite.Name`, `Suite.*`, `Suite/Param.Test/<row>`, `.../RowName`, `same_bits_<example>`
  const std::regex code("`([^`]+)`");
  const std::regex test_name(
      R"(^([A-Z][A-Za-z0-9_]*(?:/[A-Za-z0-9_]+)?)\.([A-Z][A-Za-z0-9_]*|\*)(/.*)?$)");
  std::string param_suite, param_test;  // the last parameterised test named, for `.../Row`
  std::istringstream lines(page);
  int n = 0;
  for (std::string line; std::getline(lines, line);) {
    ++n;
    for (auto it = std::sregex_iterator(line.begin(), line.end(), code);
         it != std::sregex_iterator(); ++it) {
      const std::string span = (*it)[1];
      const std::string at = "RELIABILITY.md:" + std::to_string(n) + ": `" + span + "`";
      std::smatch m;
      if (std::regex_match(span, m, test_name) && m[1] != "Suite") {
        ++checked;
        const std::string suite = m[1], name = m[2], param = m[3];
        ASSERT_TRUE(tests.count(suite)) << at << ": no test suite " << suite;
        if (name == "*") continue;
        cited.insert(suite + "." + name);
        if (param.empty() || param == "/<row>") {
          const bool found = std::any_of(
              tests.at(suite).begin(), tests.at(suite).end(), [&](const std::string& t) {
                return t == name || (!param.empty() && t.rfind(name + "/", 0) == 0);
              });
          EXPECT_TRUE(found) << at << ": no test " << suite << "." << name;
          param_suite = suite, param_test = name;
        } else {
          EXPECT_TRUE(tests.at(suite).count(name + param)) << at << ": no such row";
        }
      } else if (span.rfind(".../", 0) == 0) {
        ++checked;
        ASSERT_FALSE(param_suite.empty()) << at << ": a row of which test?";
        EXPECT_TRUE(tests.at(param_suite).count(param_test + "/" + span.substr(4)))
            << at << ": no row " << span.substr(4) << " in " << param_suite << "." << param_test;
      } else if (span.rfind("same_bits_", 0) == 0 && span != "same_bits_<example>") {
        ++checked;
        EXPECT_NE(cmake.find("add_same_bits_test(" + span.substr(10) + " "), std::string::npos)
            << at << ": tests/CMakeLists.txt adds no such CTest";
      }
    }
  }
  EXPECT_GE(checked, 30);
  // These suites are the page's tables, row for row: a test added to one of them is
  // a promise the page must make.
  for (const std::string suite :
       {"CheckpointFaults", "MemoryPerStep", "DeepGraphs", "AnomalyMode", "Numerics"}) {
    ASSERT_TRUE(tests.count(suite)) << suite;
    for (const std::string& name : tests.at(suite)) {
      EXPECT_TRUE(cited.count(suite + "." + name))
          << "RELIABILITY.md has no row for " << suite << "." << name;
    }
  }
}

// The reader of numbers itself.
TEST(Docs, NumberBeforeReadsDigitsWordsAndThousands) {
  EXPECT_EQ(number_before("the 285 bad calls", " bad calls"), 285);
  EXPECT_EQ(number_before("Three libFuzzer targets", " libFuzzer targets"), 3);
  EXPECT_EQ(number_before("over 5,000 steps", " steps"), 5000);
  EXPECT_EQ(number_before("no number here", " steps"), -1);
  EXPECT_EQ(number_before("many steps", " steps"), -1);
}

}  // namespace
