// Turns the code of a guide into tests, so that every call the guide shows is compiled
// and, where it is a fragment that can run, run: a guide cannot promise a call that
// does not exist or does not do what it says.
//
//   doc_snippets MODE SUITE CONTEXT MACRO DOC OUT
//
// MODE says which code of DOC (a path from the repository root, as #line reports it)
// counts:
//
//   rows    the table lines of two cells whose second cell holds code in backticks
//           (docs/PYTORCH.md):  | `y = lin(x)` | `Variable y = lin(x);` |
//           Several spans in one cell are joined as statements; `\|` in a cell is a `|`.
//   blocks  every ```cpp fenced block (docs/WALKTHROUGH.md, docs/ko/WALKTHROUGH.md).
//
// Each becomes TEST(SUITE, LineN), N the line of the row or of the block's fence,
// whose body starts with MACRO from the header CONTEXT (the names the guide's code
// shares: x, ids, ...; tests/pytorch_md_context.h, tests/walkthrough_context.h) and a
// #line directive, so that a compile error points at the line in the guide.
//
// A block can say how it is taken, with a marker on the line right above its fence:
//
//   <!-- snippet: namespace scope -->
//       the block defines functions (a quote of how an op is written): it is compiled
//       at namespace scope, in a namespace of its own inside minigrad::doc_snippets
//       (where the context header may declare what such quotes use), and not run.
//   <!-- snippet: not standalone: REASON -->
//       the block is not compiled; REASON, which must be given, is printed with the
//       block's line when the tests are generated, and kept in the generated file.
//
// Any other marker, a marker with no ```cpp block under it, or an unclosed block is an
// error. The program fails when the guide yields no test, so a test cannot pass by
// reading nothing.
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// ---- rows: the two-cell table lines of docs/PYTORCH.md --------------------------------

// The cells of a table line "| a | b |", with "\|" kept inside a cell.
std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  bool in_code = false;
  for (size_t i = 1; i < line.size(); ++i) {
    char c = line[i];
    if (c == '`') in_code = !in_code;
    if (c == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (c == '|' && !in_code) {
      cells.push_back(cell);
      cell.clear();
    } else {
      cell += c;
    }
  }
  return cells;
}

// The code spans of a cell, one per line.
std::string code_of(const std::string& cell) {
  std::string code;
  size_t pos = 0;
  while (true) {
    size_t open = cell.find('`', pos);
    if (open == std::string::npos) break;
    size_t close = cell.find('`', open + 1);
    if (close == std::string::npos) break;
    code += cell.substr(open + 1, close - open - 1) + "\n";
    pos = close + 1;
  }
  return code;
}

// ---- blocks: the ```cpp fences of the walkthroughs ------------------------------------

enum class Kind { Statements, NamespaceScope, NotStandalone };

struct Snippet {
  int line = 0;      // of the row, or of the block's opening fence
  std::string code;  // its text, lines ending in '\n'
  Kind kind = Kind::Statements;
  std::string reason;  // why a NotStandalone block is left out
};

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Reads `<!-- snippet: ... -->` into kind and reason. Returns false for any other line;
// throws for a snippet marker it does not know.
bool read_marker(const std::string& raw, Kind& kind, std::string& reason) {
  const std::string line = trimmed(raw);
  const std::string open = "<!-- snippet:", close = "-->";
  if (line.rfind(open, 0) != 0) return false;
  if (line.size() < open.size() + close.size() ||
      line.compare(line.size() - close.size(), close.size(), close) != 0) {
    throw std::runtime_error("a snippet marker must end in --> on its own line");
  }
  const std::string body =
      trimmed(line.substr(open.size(), line.size() - open.size() - close.size()));
  const std::string not_standalone = "not standalone:";
  if (body == "namespace scope") {
    kind = Kind::NamespaceScope;
  } else if (body.rfind(not_standalone, 0) == 0) {
    kind = Kind::NotStandalone;
    reason = trimmed(body.substr(not_standalone.size()));
    if (reason.empty()) throw std::runtime_error("\"not standalone:\" must give its reason");
  } else {
    throw std::runtime_error("unknown snippet marker \"" + body +
                             "\" (known: \"namespace scope\", \"not standalone: REASON\")");
  }
  return true;
}

std::vector<Snippet> read_blocks(std::istream& in) {
  std::vector<Snippet> blocks;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string at = "line " + std::to_string(i + 1) + ": ";
    Snippet s;
    s.line = static_cast<int>(i + 1);
    try {
      if (read_marker(lines[i], s.kind, s.reason)) {
        if (i + 1 >= lines.size() || trimmed(lines[i + 1]) != "```cpp") {
          throw std::runtime_error("the marker is not followed by a ```cpp block");
        }
        continue;  // the fence, next, reads it again
      }
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(at + e.what());
    }
    if (trimmed(lines[i]) != "```cpp") continue;
    if (i > 0) read_marker(lines[i - 1], s.kind, s.reason);
    size_t j = i + 1;
    for (; j < lines.size() && trimmed(lines[j]) != "```"; ++j) s.code += lines[j] + "\n";
    if (j == lines.size()) throw std::runtime_error(at + "the ```cpp block is never closed");
    blocks.push_back(s);
    i = j;
  }
  return blocks;
}

std::vector<Snippet> read_rows(std::istream& in) {
  std::vector<Snippet> rows;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells = cells_of(line);
    if (cells.size() < 2) continue;
    std::string code = code_of(cells[1]);
    if (!code.empty()) rows.push_back({number, code, Kind::Statements, ""});
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: doc_snippets rows|blocks SUITE CONTEXT MACRO DOC OUT\n";
    return 2;
  }
  const std::string mode = argv[1], suite = argv[2], context = argv[3], macro = argv[4],
                    doc = argv[5], out_path = argv[6];
  if (mode != "rows" && mode != "blocks") {
    std::cerr << "doc_snippets: MODE is rows or blocks, not " << mode << "\n";
    return 2;
  }
  std::ifstream in(doc);
  if (!in) {
    std::cerr << "doc_snippets: cannot read " << doc << "\n";
    return 1;
  }
  std::vector<Snippet> snippets;
  try {
    snippets = mode == "rows" ? read_rows(in) : read_blocks(in);
  } catch (const std::runtime_error& e) {
    std::cerr << doc << ": " << e.what() << "\n";
    return 1;
  }

  std::ostringstream out;
  out << "// Generated from " << doc << " by tests/doc_snippets.cpp: edit the guide.\n"
      << "#include \"" << context << "\"\n\n";
  int tests = 0, definitions = 0;
  for (const Snippet& s : snippets) {
    const std::string line =
        "#line " + std::to_string(s.line + (mode == "blocks" ? 1 : 0)) + " \"" + doc + "\"\n";
    switch (s.kind) {
      case Kind::Statements:
        out << "TEST(" << suite << ", Line" << s.line << ") {\n"
            << "  " << macro << "\n"
            << line << s.code << "}\n\n";
        ++tests;
        break;
      case Kind::NamespaceScope:
        out << "namespace minigrad::doc_snippets::" << suite << "_line" << s.line << " {\n"
            << line << s.code << "}  // namespace minigrad::doc_snippets::" << suite << "_line"
            << s.line << "\n\n";
        ++definitions;
        break;
      case Kind::NotStandalone:
        out << "// " << doc << ":" << s.line << " is not standalone: " << s.reason << "\n\n";
        std::cout << "doc_snippets: " << doc << ":" << s.line
                  << " is not compiled, not standalone: " << s.reason << "\n";
        break;
    }
  }
  if (tests + definitions == 0) {
    std::cerr << "doc_snippets: " << doc << " has no "
              << (mode == "rows" ? "table rows with code" : "```cpp blocks to compile") << "\n";
    return 1;
  }
  std::ofstream file(out_path);
  file << out.str();
  if (!file) {
    std::cerr << "doc_snippets: cannot write " << out_path << "\n";
    return 1;
  }
  std::cout << "doc_snippets: " << doc << ": " << tests << " tests";
  if (mode == "blocks") std::cout << ", " << definitions << " compiled at namespace scope";
  std::cout << "\n";
  return 0;
}
