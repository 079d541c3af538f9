// Every path the documentation names must exist in the repository.
//
// A reader who follows "see nn/gru.h" to a file that was renamed, or a link to a
// document that never was in the repository, loses trust in every other sentence.
// This test reads README.md, every .md under the source folders (docs/ among them)
// and the comments of the sources (C++, CMake, Python, shell), and checks two kinds
// of mention:
//
//   markdown links    [text](target)        resolved against the file's own folder
//   path tokens       a word that starts with a top-level folder of the repository
//                     (tensor/, autograd/, nn/, examples/, tests/, bench/, docs/,
//                     tools/, fuzz/, cmake/) and ends in a file extension or a slash,
//                     resolved against the repository's root; the include form
//                     minigrad/<layer>/... resolves there too (the build's include
//                     folder links minigrad/ to the root), and a bare name ending in
//                     .md must be found beside the file, at the root or in docs/
//
// What is deliberately not checked: URLs (they are blanked first); code outside
// comments (string literals name files the programs write); words that do not start
// with a repository folder (build/ and build-bench/ output, out/, other projects'
// paths such as torch/csrc/...). A brace form like gru.{h,cpp} is expanded and each
// name checked; a wildcard like test_*.cpp must match at least one file.
//
// A failure names file:line, the path as written, and, when a file of the same name
// or a folder of the same stem exists elsewhere, where the path probably went.
#include <fnmatch.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "testing.h"

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kTopFolders = {"tensor", "autograd", "nn",    "examples", "tests",
                                              "bench",  "docs",     "tools", "fuzz",     "cmake"};
// The folders include lines reach as minigrad/<layer>/... (and minigrad/minigrad.h).
const std::vector<std::string> kLayers = {"tensor", "autograd", "nn"};

enum class Syntax { Markdown, Cpp, Hash, Python };

struct Problem {
  std::string where;  // file:line
  std::string path;   // as written (one name of a brace form)
  std::string why;
};

struct Tally {
  int links = 0;        // markdown links checked
  int tokens = 0;       // path tokens checked
  int in_comments = 0;  // of those, found in source comments
  int globs = 0;        // wildcard tokens matched against the tree
};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---- comments only: everything else becomes spaces, newlines stay (line numbers hold) -------

// C++: // and /* */ comments; string, character and raw string literals are code.
std::string cpp_comments(const std::string& text) {
  std::string out(text.size(), ' ');
  enum { Code, Line, Block, Str, Chr, Raw } state = Code;
  std::string raw_end;  // )delim" of the raw string being read
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c == '\n') out[i] = '\n';
    switch (state) {
      case Code:
        if (c == '/' && next == '/') {
          state = Line;
          ++i;
        } else if (c == '/' && next == '*') {
          state = Block;
          ++i;
        } else if (c == '"' && i > 0 && text[i - 1] == 'R') {
          const size_t open = text.find('(', i);
          if (open == std::string::npos) return out;
          raw_end = ")" + text.substr(i + 1, open - i - 1) + "\"";
          state = Raw;
          i = open;
        } else if (c == '"') {
          state = Str;
        } else if (c == '\'' && !(i > 0 && std::isdigit(static_cast<unsigned char>(text[i - 1])))) {
          state = Chr;  // (after a digit it is a digit separator: 1'000)
        }
        break;
      case Line:
        if (c == '\n') {
          state = Code;
        } else {
          out[i] = c;
        }
        break;
      case Block:
        if (c == '*' && next == '/') {
          state = Code;
          ++i;
        } else if (c != '\n') {
          out[i] = c;
        }
        break;
      case Str:
      case Chr:
        if (c == '\\') {
          ++i;
        } else if (c == (state == Str ? '"' : '\'') || c == '\n') {
          state = Code;
        }
        break;
      case Raw:
        if (text.compare(i, raw_end.size(), raw_end) == 0) {
          i += raw_end.size() - 1;
          state = Code;
        }
        break;
    }
  }
  return out;
}

// CMake, shell, Python: a # outside quotes, at the start of a line or after a space,
// starts a comment (so $# and ${#x} in shell do not). Python's triple-quoted strings,
// its docstrings, count as comments too.
std::string hash_comments(const std::string& text, bool python) {
  std::string out(text.size(), ' ');
  char quote = '\0';     // inside a '...' or "..." string
  std::string triple;    // inside a """...""" or '''...''' string (Python)
  bool comment = false;  // in a # comment until the end of the line
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      out[i] = '\n';
      comment = false;
      quote = '\0';
      continue;
    }
    if (comment) {
      out[i] = c;
    } else if (!triple.empty()) {
      if (text.compare(i, 3, triple) == 0) {
        triple.clear();
        i += 2;
      } else {
        out[i] = c;
      }
    } else if (quote != '\0') {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = '\0';
      }
    } else if (python && (text.compare(i, 3, "\"\"\"") == 0 || text.compare(i, 3, "'''") == 0)) {
      triple = text.substr(i, 3);
      i += 2;
    } else if (c == '"' || (c == '\'' && python)) {
      quote = c;
    } else if (c == '#' && (i == 0 || std::isspace(static_cast<unsigned char>(text[i - 1])))) {
      comment = true;
    }
  }
  return out;
}

// ---- the mentions of one line ----------------------------------------------------------

// Replaces every URL (scheme://...) by spaces.
void blank_urls(std::string& line) {
  for (size_t at = line.find("://"); at != std::string::npos; at = line.find("://", at + 1)) {
    size_t start = at;
    while (start > 0 &&
           (std::isalnum(static_cast<unsigned char>(line[start - 1])) || line[start - 1] == '+' ||
            line[start - 1] == '.' || line[start - 1] == '-')) {
      --start;
    }
    size_t end = at + 3;
    while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end])) &&
           std::string(")>\"'`]").find(line[end]) == std::string::npos) {
      ++end;
    }
    std::fill(line.begin() + static_cast<long>(start), line.begin() + static_cast<long>(end), ' ');
  }
}

bool path_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == '/' || c == '+' || c == '*' || c == '?';
}

// gru.{h,cpp} -> gru.h, gru.cpp (every brace group, left to right).
std::vector<std::string> expand_braces(const std::string& s) {
  const size_t open = s.find('{');
  if (open == std::string::npos) return {s};
  const size_t close = s.find('}', open);
  if (close == std::string::npos) return {s};
  std::vector<std::string> out;
  std::istringstream alternatives(s.substr(open + 1, close - open - 1));
  for (std::string alt; std::getline(alternatives, alt, ',');) {
    for (const std::string& rest : expand_braces(s.substr(close + 1))) {
      out.push_back(s.substr(0, open) + alt + rest);
    }
  }
  return out;
}

// The last name of the path has an extension (letters and digits after a dot).
bool has_extension(const std::string& path) {
  const std::string name = path.substr(path.rfind('/') + 1);
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size() || name.size() - dot > 12) {
    return false;
  }
  return std::all_of(name.begin() + static_cast<long>(dot) + 1, name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '*';
  });
}

bool starts_with_folder(const std::string& s, const std::vector<std::string>& folders) {
  return std::any_of(folders.begin(), folders.end(),
                     [&](const std::string& f) { return starts_with(s, f + "/"); });
}

struct Checker {
  fs::path root;
  std::vector<Problem> problems;
  Tally tally;
  std::map<std::string, std::vector<std::string>> by_name;  // file name -> its paths (hints)

  // Where a missing path probably went: files of the same name, a folder of its stem.
  std::string hint(const std::string& rel) const {
    const fs::path p(rel);
    std::string h;
    const auto it = by_name.find(p.filename().string());
    if (it != by_name.end()) {
      for (size_t i = 0; i < it->second.size() && i < 3; ++i)
        h += (h.empty() ? "" : ", ") + it->second[i];
    }
    const fs::path folder = p.parent_path() / p.stem();
    if (p.has_extension() && fs::is_directory(root / folder)) {
      h += (h.empty() ? "" : ", ") + folder.generic_string() + "/";
    }
    return h.empty() ? "" : " (did you mean " + h + "?)";
  }

  // One path (no braces left), relative to `base`: exists, or for a wildcard, matches.
  // `shown` is the path as the reader wrote it.
  void check(const std::string& where, const fs::path& base, const std::string& path,
             const std::string& shown, bool comment) {
    const fs::path full = (base / path).lexically_normal();
    const std::string rel = full.lexically_relative(root).generic_string();
    if (path.find_first_of("*?") != std::string::npos) {
      ++tally.globs;
      const fs::path dir = full.parent_path();
      const std::string pattern = full.filename().string();
      bool any = false;
      if (dir.generic_string().find_first_of("*?") == std::string::npos && fs::is_directory(dir)) {
        for (const auto& e : fs::directory_iterator(dir)) {
          any = any || fnmatch(pattern.c_str(), e.path().filename().c_str(), 0) == 0;
        }
      }
      if (!any) problems.push_back({where, shown, "matches no file (" + rel + ")"});
      return;
    }
    ++tally.tokens;
    if (comment) ++tally.in_comments;
    if (!fs::exists(full)) problems.push_back({where, shown, "does not exist" + hint(rel)});
  }

  void check_link(const std::string& where, const fs::path& dir, std::string target) {
    if (target.empty() || target[0] == '#' || starts_with(target, "mailto:")) return;
    if (target.front() == '<' && target.back() == '>') target = target.substr(1, target.size() - 2);
    target = target.substr(0, target.find('#'));
    ++tally.links;
    const fs::path full = (dir / target).lexically_normal();
    if (!fs::exists(full)) {
      problems.push_back(
          {where, target,
           "(a link) does not exist" + hint(full.lexically_relative(root).generic_string())});
    }
  }

  // One word made of path characters (and brace groups).
  void check_token(const std::string& where, const fs::path& dir, std::string token, bool comment) {
    while (starts_with(token, "./")) token = token.substr(2);
    while (!token.empty() && token.back() == '.') token.pop_back();  // the end of a sentence
    if (token.find("...") != std::string::npos) return;  // nn/.../x.h: an ellipsis, not a path
    fs::path base = root;
    std::string path = token, prefix;
    if (starts_with(token, "minigrad/") &&
        (starts_with_folder(token.substr(9), kLayers) || token == "minigrad/minigrad.h")) {
      path = token.substr(9);  // an include line's form
      prefix = "minigrad/";
    } else if (starts_with_folder(token, kTopFolders)) {
      // as written, from the root
    } else if (ends_with(token, ".md") && token.find_first_of("*?{") == std::string::npos) {
      // a document by name: beside the file, at the root, or in docs/
      for (const fs::path& b : {dir, root, root / "docs"}) {
        if (fs::exists(b / token)) base = b;
      }
      if (!fs::exists(base / token)) base = dir;
    } else {
      return;
    }
    for (const std::string& one : expand_braces(path)) {
      if (ends_with(one, "/") || has_extension(one)) check(where, base, one, prefix + one, comment);
    }
  }

  void check_line(const std::string& where, const fs::path& dir, std::string line, bool markdown,
                  bool in_fence, bool comment) {
    blank_urls(line);
    if (markdown) {
      // Links, outside code: in `[&](const Tensor& x)` the brackets are C++.
      std::string prose = line;
      for (size_t open = prose.find('`'); open != std::string::npos; open = prose.find('`', open)) {
        const size_t close = prose.find('`', open + 1);
        const size_t end = close == std::string::npos ? prose.size() : close + 1;
        std::fill(prose.begin() + static_cast<long>(open), prose.begin() + static_cast<long>(end),
                  ' ');
        open = end;
      }
      if (in_fence) prose.assign(prose.size(), ' ');
      for (size_t at = prose.find("]("); at != std::string::npos; at = prose.find("](", at + 1)) {
        const size_t start = at + 2;
        size_t end = start;
        while (end < line.size() && line[end] != ')' && line[end] != ' ') ++end;
        check_link(where, dir, line.substr(start, end - start));
        std::fill(line.begin() + static_cast<long>(start), line.begin() + static_cast<long>(end),
                  ' ');
      }
    }
    for (size_t i = 0; i < line.size();) {
      if (!path_char(line[i]) && line[i] != '{') {
        ++i;
        continue;
      }
      const size_t start = i;
      while (i < line.size()) {
        if (path_char(line[i])) {
          ++i;
        } else if (line[i] == '{') {
          const size_t close = line.find('}', i);
          if (close == std::string::npos ||
              !std::all_of(line.begin() + static_cast<long>(i) + 1,
                           line.begin() + static_cast<long>(close),
                           [](char c) { return path_char(c) || c == ','; })) {
            break;
          }
          i = close + 1;
        } else {
          break;
        }
      }
      if (i == start) {
        ++i;  // a lone '{'
        continue;
      }
      check_token(where, dir, line.substr(start, i - start), comment);
    }
  }

  // One file's text; `rel` is its path from the root (used for messages and links).
  void check_file(const std::string& rel, Syntax syntax, const std::string& text) {
    std::string scanned = text;
    if (syntax == Syntax::Cpp) scanned = cpp_comments(text);
    if (syntax == Syntax::Hash || syntax == Syntax::Python) {
      scanned = hash_comments(text, syntax == Syntax::Python);
    }
    const fs::path dir = (root / rel).parent_path();
    std::istringstream in(scanned);
    int n = 0;
    bool in_fence = false;  // inside a ``` block of markdown
    for (std::string line; std::getline(in, line);) {
      ++n;
      const bool fence = syntax == Syntax::Markdown && starts_with(line, "```");
      if (fence) in_fence = !in_fence;
      check_line(rel + ":" + std::to_string(n), dir, line, syntax == Syntax::Markdown,
                 in_fence || fence, syntax != Syntax::Markdown);
    }
  }
};

// How a file is read, by its name; nullopt-like false for files that are not text we check.
bool syntax_of(const fs::path& p, Syntax& syntax) {
  const std::string ext = p.extension().string();
  if (ext == ".md") {
    syntax = Syntax::Markdown;
  } else if (ext == ".h" || ext == ".cpp") {
    syntax = Syntax::Cpp;
  } else if (ext == ".py") {
    syntax = Syntax::Python;
  } else if (ext == ".cmake" || ext == ".sh" || ext == ".in" || p.filename() == "CMakeLists.txt") {
    syntax = Syntax::Hash;
  } else {
    return false;
  }
  return true;
}

// The files to read: README.md, CMakeLists.txt and minigrad.h at the root, and every
// file of a known kind under the top-level folders (sorted: the same order everywhere).
std::vector<std::pair<std::string, Syntax>> files_to_check(const fs::path& root) {
  std::vector<std::pair<std::string, Syntax>> files;
  Syntax s{};
  for (const char* name : {"README.md", "CMakeLists.txt", "minigrad.h"}) {
    if (fs::exists(root / name) && syntax_of(name, s)) files.emplace_back(name, s);
  }
  for (const std::string& top : kTopFolders) {
    if (!fs::is_directory(root / top)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root / top)) {
      if (e.is_regular_file() && syntax_of(e.path(), s)) {
        files.emplace_back(fs::relative(e.path(), root).generic_string(), s);
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string report(const std::vector<Problem>& problems) {
  std::string s;
  for (const Problem& p : problems) s += "\n  " + p.where + ": " + p.path + " " + p.why;
  return s;
}

TEST(Docs, EveryPathTheDocsAndCommentsNameExists) {
  Checker checker{fs::path(MINIGRAD_SOURCE_DIR).lexically_normal(), {}, {}, {}};
  const std::vector<std::pair<std::string, Syntax>> files = files_to_check(checker.root);
  for (const auto& e : fs::recursive_directory_iterator(checker.root)) {
    const std::string rel = fs::relative(e.path(), checker.root).generic_string();
    if (starts_with_folder(rel + "/", kTopFolders) && e.is_regular_file()) {
      checker.by_name[e.path().filename().string()].push_back(rel);
    }
  }
  int markdown = 0;
  for (const auto& [rel, syntax] : files) {
    checker.check_file(rel, syntax, minigrad::testing::read_file(checker.root / rel));
    markdown += syntax == Syntax::Markdown;
  }
  EXPECT_TRUE(checker.problems.empty())
      << checker.problems.size() << " path(s) that do not exist:" << report(checker.problems);
  // If the reading broke (no markdown found, comments no longer extracted, links no
  // longer parsed), the test would pass having checked nothing: it must have read the
  // guides and found what they are known to hold.
  EXPECT_GE(markdown, 8);
  EXPECT_GE(checker.tally.links, 40);
  EXPECT_GE(checker.tally.tokens, 250);
  EXPECT_GE(checker.tally.in_comments, 100);
  std::cout << "[ info     ] " << files.size() << " files: " << checker.tally.links << " links, "
            << checker.tally.tokens << " paths (" << checker.tally.in_comments << " in comments), "
            << checker.tally.globs << " wildcards checked\n";
}

// The checker itself, on a small tree: what must be caught is, what must not be is not.
TEST(Docs, PathCheckerCatchesMissingPathsAndOnlyThose) {
  const fs::path root =
      fs::temp_directory_path() / ("minigrad_doc_paths_" + std::to_string(::getpid()));
  fs::remove_all(root);
  for (const char* f : {"nn/gru.h", "nn/gru.cpp", "tests/test_gru.cpp", "docs/GUIDE.md",
                        "examples/copy/main.cpp"}) {
    fs::create_directories((root / f).parent_path());
    std::ofstream(root / f) << "x\n";
  }
  Checker checker{root, {}, {}, {{"main.cpp", {"examples/copy/main.cpp"}}}};

  // Markdown: all of it is read, links resolve against the file's folder.
  checker.check_file("docs/GUIDE.md", Syntax::Markdown,
                     "See [the GRU](../nn/gru.h), nn/gru.{h,cpp} and tests/test_*.cpp.\n"
                     "Built as `#include \"minigrad/nn/gru.h\"`; output goes to build/nn/x.h, "
                     "see https://example.com/nn/none.h and [home](#top).\n"
                     "Gone: [old](../nn/lstm.h), nn/attention.h, examples/copy.cpp, "
                     "tests/bench_*.cpp, DESIGN.md and minigrad/nn/none.h.\n"
                     "Code: `f([&](auto x) {})`, nn/.../x.h, not a path.\n"
                     "```cpp\nrun([&](const Tensor& t) {});\n```\n");
  // C++: only comments are read; a literal naming a file is code.
  checker.check_file("nn/gru.cpp", Syntax::Cpp,
                     "#include \"minigrad/nn/gru.h\"  // nn/gru.h is beside\n"
                     "const char* p = \"nn/missing.h\";  /* tensor/\n   none.cpp */\n"
                     "int n = 1'000;  // GUIDE.md\n");
  // CMake/shell: # comments, not # inside quotes nor $#.
  checker.check_file("CMakeLists.txt", Syntax::Hash,
                     "set(X \"#nn/a.h\")  # docs/GUIDE.md and fuzz/none.sh\necho $#tools/x.py\n");
  fs::remove_all(root);

  std::vector<std::string> got;
  for (const Problem& p : checker.problems) got.push_back(p.where + " " + p.path);
  const std::vector<std::string> want = {"docs/GUIDE.md:3 ../nn/lstm.h",
                                         "docs/GUIDE.md:3 nn/attention.h",
                                         "docs/GUIDE.md:3 examples/copy.cpp",
                                         "docs/GUIDE.md:3 tests/bench_*.cpp",
                                         "docs/GUIDE.md:3 DESIGN.md",
                                         "docs/GUIDE.md:3 minigrad/nn/none.h",
                                         "nn/gru.cpp:2 tensor/",
                                         "CMakeLists.txt:1 fuzz/none.sh"};
  EXPECT_EQ(got, want) << report(checker.problems);
  // ...and the message says where a moved file went.
  ASSERT_EQ(checker.problems.size(), want.size());
  EXPECT_NE(checker.problems[2].why.find("did you mean examples/copy/"), std::string::npos)
      << checker.problems[2].why;
  EXPECT_EQ(checker.tally.links, 2);  // ../nn/gru.h and ../nn/lstm.h; #top is no file
}

}  // namespace
