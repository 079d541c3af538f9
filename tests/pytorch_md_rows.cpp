// Turns the table of docs/PYTORCH.md into tests, so that every "in minigrad you
// write" cell is compiled and run: the guide cannot promise a call that does not
// exist or does not do what the row says.
//
//   pytorch_md_rows DOC OUT
//
// A row is a table line of two cells whose second cell holds code in backticks:
//
//   | `y = lin(x)` | `Variable y = lin(x);` |
//
// Each row becomes TEST(PytorchMd, LineN), with the names the rows share (x, q, k,
// v, ids, logits, target, ...) declared first by MINIGRAD_PYTORCH_MD_CONTEXT
// (tests/pytorch_md_context.h) and a #line directive, so that a compile error points
// at the row in the guide. Several spans in one cell are joined as statements; `\|`
// in a cell is a `|`. The program fails when the guide has no rows, so the test
// cannot pass by reading nothing.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: pytorch_md_rows DOC OUT\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "pytorch_md_rows: cannot read " << argv[1] << "\n";
    return 1;
  }
  std::ostringstream out;
  out << "// Generated from docs/PYTORCH.md by tests/pytorch_md_rows.cpp: edit the guide.\n"
      << "#include \"pytorch_md_context.h\"\n\n";
  int rows = 0;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells = cells_of(line);
    if (cells.size() < 2) continue;
    std::string code = code_of(cells[1]);
    if (code.empty()) continue;
    out << "TEST(PytorchMd, Line" << number << ") {\n"
        << "  MINIGRAD_PYTORCH_MD_CONTEXT\n"
        << "#line " << number << " \"docs/PYTORCH.md\"\n"
        << code << "}\n\n";
    ++rows;
  }
  if (rows == 0) {
    std::cerr << "pytorch_md_rows: " << argv[1] << " has no table rows with code\n";
    return 1;
  }
  std::ofstream file(argv[2]);
  file << out.str();
  if (!file) {
    std::cerr << "pytorch_md_rows: cannot write " << argv[2] << "\n";
    return 1;
  }
  std::cout << "pytorch_md_rows: " << rows << " rows\n";
  return 0;
}
