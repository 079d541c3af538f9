// Helpers shared by the test files: small tensors, index walking for naive
// references, and a check that an exception has the right type and message.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/random.h"

namespace minigrad::testing {

/// True in a build under AddressSanitizer, which makes training several times slower:
/// the training tests keep their long runs to the Release build.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

inline Tensor f64(std::initializer_list<double> values, const Shape& shape) {
  return Tensor::from_list(values, shape, DType::Float64);
}
inline Tensor f32(std::initializer_list<double> values, const Shape& shape) {
  return Tensor::from_list(values, shape, DType::Float32);
}
inline Tensor i64(std::vector<int64_t> values, const Shape& shape) {
  return Tensor::from_vector(values, shape);
}

// Uniform in [low, high) from its own generator, so that no test depends on
// what other tests drew from the global one.
inline Tensor uniform(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0,
                      DType dtype = DType::Float64) {
  Generator gen(seed);
  return rand(shape, low, high, dtype, gen);
}

// Calls f(index) for every index of `shape` in row-major order.
inline void for_each_index(const Shape& shape, const std::function<void(const Shape&)>& f) {
  if (shape.numel() == 0) return;
  Shape idx;
  idx.resize(shape.size());
  for (int64_t e = 0; e < shape.numel(); ++e) {
    f(idx);
    for (int d = shape.size() - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

// t's element that broadcasting maps to `out_index` (numpy rules: align at the
// right, a size-1 axis repeats).
inline double broadcast_at(const Tensor& t, const Shape& out_index) {
  Shape idx;
  const int lead = out_index.size() - t.dim();
  for (int d = 0; d < t.dim(); ++d) idx.push_back(t.shape()[d] == 1 ? 0 : out_index[lead + d]);
  return t.at(idx);
}

// Passes when f() throws exactly E (not a subclass or a base) and what() contains
// every string in `parts`.
template <class E, class F>
::testing::AssertionResult throws_with(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const std::exception& e) {
    if (typeid(e) != typeid(E)) {
      return ::testing::AssertionFailure() << "threw " << typeid(e).name() << " instead of "
                                           << typeid(E).name() << ": " << e.what();
    }
    const std::string msg = e.what();
    for (const std::string& p : parts) {
      if (msg.find(p) == std::string::npos) {
        return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << p << "\"";
      }
    }
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "nothing was thrown";
}

// The exact message of the exception f() throws ("" when it throws nothing).
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

inline bool same_storage(const Tensor& a, const Tensor& b) { return a.storage() == b.storage(); }

// "name:Type" of every child module of `model` (an nn::Module), in registration
// order: what a model is built of, in one line. A template, so that this header does
// not bring autograd's overloads (concat, stack) into the tensor tests.
template <class Module>
std::string child_modules(const Module& model) {
  std::string out;
  for (const auto& [name, child] : model.named_children()) {
    out += (out.empty() ? "" : " ") + name + ":" + child->type_name();
  }
  return out;
}

// The whole content of a file, byte for byte ("" when it cannot be opened).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs tools/check_safetensors.py (an independent reader) with `args`; returns
// its exit code, or -1 when it did not exit normally.
inline int run_safetensors_checker(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " MINIGRAD_SOURCE_DIR "/tools/check_safetensors.py " +
                          args + " > /dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A fixture with a fresh, empty folder for each test, named after the suite, the
// test and the process (so that two test processes never share one), and removed
// with everything in it after the test.
class TestWithDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("minigrad_" + std::string(info->test_suite_name()) + "_" + std::to_string(::getpid()) +
            "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

}  // namespace minigrad::testing
