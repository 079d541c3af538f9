// docs/EXTENDING.md quotes real code, and this test keeps the quotes true.
//
// In the sources an excerpt is the lines between two comment lines
//
//   // [extending:NAME]        (or  # [extending:NAME]  in Python)
//   ...
//   // [/extending:NAME]
//
// and in the guide a quote is the fenced block right after a line
//
//   <!-- extending:NAME -->
//
// The test fails if a quote differs from its excerpt by one character, names an
// excerpt that does not exist, or if an excerpt is marked but never quoted, so
// the guide cannot drift from the code it teaches.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Excerpt {
  std::string where;  // file:line of the opening marker
  std::vector<std::string> lines;
};

struct Quote {
  std::string name;
  int line = 0;  // of the <!-- extending:NAME --> marker in the guide
  std::vector<std::string> lines;
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- the two marker lines, read by hand (a name is [a-z0-9-]+) ----------------------------------

// Reads `prefix` at `pos` (after any spaces) and moves past it.
bool eat(const std::string& line, size_t& pos, const std::string& prefix) {
  while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
  if (line.compare(pos, prefix.size(), prefix) != 0) return false;
  pos += prefix.size();
  return true;
}

bool eat_name(const std::string& line, size_t& pos, std::string& name) {
  const size_t start = pos;
  while (pos < line.size() && ((line[pos] >= 'a' && line[pos] <= 'z') ||
                               (line[pos] >= '0' && line[pos] <= '9') || line[pos] == '-')) {
    ++pos;
  }
  name = line.substr(start, pos - start);
  return !name.empty();
}

bool only_spaces_after(const std::string& line, size_t pos) {
  return line.find_first_not_of(" \t\r", pos) == std::string::npos;
}

// `// [extending:NAME]`, `// [/extending:NAME]` (or with `#`), alone on a line.
bool source_marker(const std::string& line, bool& closing, std::string& name) {
  size_t pos = 0;
  if (!eat(line, pos, "//") && !eat(line, pos, "#")) return false;
  if (!eat(line, pos, "[")) return false;
  closing = pos < line.size() && line[pos] == '/';
  if (closing) ++pos;
  return eat(line, pos, "extending:") && eat_name(line, pos, name) && eat(line, pos, "]") &&
         only_spaces_after(line, pos);
}

// `<!-- extending:NAME -->` alone on a line.
bool guide_marker(const std::string& line, std::string& name) {
  size_t pos = 0;
  return eat(line, pos, "<!--") && eat(line, pos, "extending:") && eat_name(line, pos, name) &&
         eat(line, pos, "-->") && only_spaces_after(line, pos);
}

// The excerpts of one source file, added to `out`; problems go to `problems`.
void collect_excerpts(const std::string& where, const std::string& text,
                      std::map<std::string, Excerpt>& out, std::vector<std::string>& problems) {
  const std::vector<std::string> lines = split_lines(text);
  std::string open;  // the excerpt being read, if any
  Excerpt current;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string at = where + ":" + std::to_string(i + 1);
    bool closing = false;
    std::string name;
    if (!source_marker(lines[i], closing, name)) {
      if (!open.empty()) current.lines.push_back(lines[i]);
      continue;
    }
    if (!closing) {
      if (!open.empty()) problems.push_back(at + ": [extending:" + name + "] inside " + open);
      if (out.count(name) != 0) {
        problems.push_back(at + ": [extending:" + name + "] is also marked at " + out[name].where);
      }
      open = name;
      current = {at, {}};
    } else if (name != open) {
      problems.push_back(at + ": [/extending:" + name + "] closes " +
                         (open.empty() ? std::string("nothing") : open));
    } else {
      out[name] = current;
      open.clear();
    }
  }
  if (!open.empty()) problems.push_back(current.where + ": [extending:" + open + "] never closed");
}

// Every excerpt under the source folders that hold code.
std::map<std::string, Excerpt> collect_tree(const fs::path& root,
                                            std::vector<std::string>& problems) {
  std::map<std::string, Excerpt> out;
  const std::vector<std::string> exts = {".h", ".cpp", ".py", ".txt", ".cmake"};
  for (const char* dir : {"tensor", "autograd", "nn", "tests", "bench", "examples", "tools", "fuzz"}) {
    if (!fs::exists(root / dir)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      if (e.is_regular_file() &&
          std::find(exts.begin(), exts.end(), e.path().extension().string()) != exts.end()) {
        files.push_back(e.path());
      }
    }
    std::sort(files.begin(), files.end());  // the same order on every machine
    for (const fs::path& f : files) {
      collect_excerpts(fs::relative(f, root).string(), read_text(f), out, problems);
    }
  }
  return out;
}

// The quotes of the guide; a marker not followed by a fenced block is a problem.
std::vector<Quote> parse_quotes(const std::string& markdown, std::vector<std::string>& problems) {
  const std::vector<std::string> lines = split_lines(markdown);
  std::vector<Quote> quotes;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string name;
    if (!guide_marker(lines[i], name)) continue;
    Quote q{name, static_cast<int>(i + 1), {}};
    const std::string at = "EXTENDING.md:" + std::to_string(q.line);
    if (i + 1 >= lines.size() || lines[i + 1].rfind("```", 0) != 0) {
      problems.push_back(at + ": <!-- extending:" + q.name + " --> is not followed by a ``` block");
      continue;
    }
    size_t j = i + 2;
    while (j < lines.size() && lines[j] != "```") q.lines.push_back(lines[j++]);
    if (j == lines.size()) {
      problems.push_back(at + ": the block of " + q.name + " is never closed");
      continue;
    }
    quotes.push_back(q);
    i = j;
  }
  return quotes;
}

// Every quote equal to its excerpt, every excerpt quoted.
std::vector<std::string> check_quotes(const std::vector<Quote>& quotes,
                                      const std::map<std::string, Excerpt>& excerpts) {
  std::vector<std::string> problems;
  std::map<std::string, int> quoted;
  for (const Quote& q : quotes) {
    const std::string at = "EXTENDING.md:" + std::to_string(q.line) + " (" + q.name + ")";
    ++quoted[q.name];
    const auto it = excerpts.find(q.name);
    if (it == excerpts.end()) {
      problems.push_back(at + ": no source marks [extending:" + q.name + "]");
      continue;
    }
    const std::vector<std::string>& want = it->second.lines;
    if (q.lines == want) continue;
    size_t k = 0;
    while (k < q.lines.size() && k < want.size() && q.lines[k] == want[k]) ++k;
    problems.push_back(at + ": differs from " + it->second.where + " at its line " +
                       std::to_string(k + 1) + ": guide \"" +
                       (k < q.lines.size() ? q.lines[k] : "<end>") + "\", source \"" +
                       (k < want.size() ? want[k] : "<end>") + "\"");
  }
  for (const auto& [name, e] : excerpts) {
    if (quoted.count(name) == 0) {
      problems.push_back(e.where + ": [extending:" + name +
                         "] is marked but EXTENDING.md never quotes it");
    }
  }
  return problems;
}

std::string joined(const std::vector<std::string>& problems) {
  std::string s;
  for (const std::string& p : problems) s += "\n  " + p;
  return s;
}

TEST(Docs, ExtendingGuideQuotesTheSourceExactly) {
  const fs::path root = MINIGRAD_SOURCE_DIR;
  const fs::path guide = root / "docs" / "EXTENDING.md";
  ASSERT_TRUE(fs::exists(guide)) << guide;
  std::vector<std::string> problems;
  const std::map<std::string, Excerpt> excerpts = collect_tree(root, problems);
  const std::vector<Quote> quotes = parse_quotes(read_text(guide), problems);
  for (const std::string& p : check_quotes(quotes, excerpts)) problems.push_back(p);
  EXPECT_TRUE(problems.empty()) << problems.size() << " problem(s):" << joined(problems);
  // The guide walks the whole path (op, gradcheck, module, bad input, parity,
  // benchmark, example): if its quotes vanished, the test would prove nothing.
  EXPECT_GE(quotes.size(), 10u);
  std::cout << "[ info     ] " << quotes.size() << " quotes of " << excerpts.size()
            << " marked excerpts checked\n";
}

// The checker itself: each kind of drift is caught and named.
TEST(Docs, CheckerCatchesEveryKindOfDrift) {
  std::vector<std::string> problems;
  std::map<std::string, Excerpt> excerpts;
  collect_excerpts("a.cpp",
                   "int x;\n// [extending:one]\nint f() {\n  return 1;\n}\n// [/extending:one]\n"
                   "# [extending:two]\nx = 2\n# [/extending:two]\n",
                   excerpts, problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  ASSERT_EQ(excerpts.size(), 2u);
  EXPECT_EQ(excerpts["one"].lines, (std::vector<std::string>{"int f() {", "  return 1;", "}"}));
  EXPECT_EQ(excerpts["one"].where, "a.cpp:2");

  // exact quotes pass
  std::vector<Quote> quotes = parse_quotes(
      "text\n<!-- extending:one -->\n```cpp\nint f() {\n  return 1;\n}\n```\n"
      "<!-- extending:two -->\n```python\nx = 2\n```\n",
      problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  EXPECT_TRUE(check_quotes(quotes, excerpts).empty());

  // one changed character (indentation), a marker that does not exist, an excerpt never quoted
  quotes = parse_quotes(
      "<!-- extending:one -->\n```cpp\nint f() {\n   return 1;\n}\n```\n"
      "<!-- extending:three -->\n```cpp\nx\n```\n",
      problems);
  ASSERT_TRUE(problems.empty()) << joined(problems);
  const std::vector<std::string> found = check_quotes(quotes, excerpts);
  ASSERT_EQ(found.size(), 3u) << joined(found);
  EXPECT_NE(found[0].find("differs from a.cpp:2 at its line 2"), std::string::npos) << found[0];
  EXPECT_NE(found[1].find("no source marks [extending:three]"), std::string::npos) << found[1];
  EXPECT_NE(found[2].find("[extending:two] is marked but EXTENDING.md never quotes it"),
            std::string::npos)
      << found[2];

  // a marker without a block; source markers that do not pair up
  parse_quotes("<!-- extending:one -->\ntext\n", problems);
  collect_excerpts("b.cpp", "// [extending:one]\n// [/extending:two]\n// [extending:four]\n",
                   excerpts, problems);
  ASSERT_EQ(problems.size(), 5u) << joined(problems);
  EXPECT_NE(problems[0].find("not followed by a ``` block"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("also marked at a.cpp:2"), std::string::npos) << problems[1];
  EXPECT_NE(problems[2].find("[/extending:two] closes one"), std::string::npos) << problems[2];
  EXPECT_NE(problems[3].find("[extending:four] inside one"), std::string::npos) << problems[3];
  EXPECT_NE(problems[4].find("b.cpp:3: [extending:four] never closed"), std::string::npos)
      << problems[4];
}

}  // namespace
