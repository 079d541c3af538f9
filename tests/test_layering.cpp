// The layers point one way: tensor ← autograd ← nn. A file of tensor/ that
// includes autograd/ or nn/ (or autograd/ including nn/) breaks the promise
// that each layer can be read, built and understood without the ones above.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<std::string> violations(const std::string& layer, const std::vector<std::string>& forbidden) {
  std::vector<std::string> found;
  const fs::path dir = fs::path(MINIGRAD_SOURCE_DIR) / layer;
  const std::regex include(R"(^\s*#\s*include\s*[<"]minigrad/(\w+)/)");
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      for (const auto& f : forbidden)
        if (m[1] == f) found.push_back(entry.path().filename().string() + ":" + std::to_string(n) + ": " + line);
    }
  }
  return found;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

}  // namespace

TEST(Layering, TensorIncludesOnlyTensor) {
  const auto bad = violations("tensor", {"autograd", "nn"});
  EXPECT_TRUE(bad.empty()) << join(bad);
}

TEST(Layering, AutogradDoesNotIncludeNn) {
  const auto bad = violations("autograd", {"nn"});
  EXPECT_TRUE(bad.empty()) << join(bad);
}
