// Checkpoints (nn/serialization.cpp): nn::save / nn::load round trip a model
// bit for bit; a file that does not fit, is truncated or missing throws
// std::runtime_error naming the file and leaves the model untouched; and the file
// opens with an independent reader (tools/check_safetensors.py). The format's own
// corner cases are tested in test_safetensors.cpp.
#include "minigrad/nn/serialization.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "minigrad/nn/layers.h"
#include "minigrad/nn/lstm.h"
#include "minigrad/tensor/safetensors.h"
#include "testing.h"

namespace minigrad {
namespace {

namespace fs = std::filesystem;
using testing::throws_with;

// An embedding, a 2-layer LSTM and a Linear head: float32 parameters of several shapes.
class Model : public nn::Module {
 public:
  explicit Model(uint64_t seed, int64_t hidden = 4) {
    Generator gen(seed);
    embed = register_module("embed", std::make_shared<nn::Embedding>(7, 3, DType::Float32, gen));
    lstm = register_module(
        "lstm", std::make_shared<nn::LSTM>(3, hidden, 2, true, true, DType::Float32, gen));
    head =
        register_module("head", std::make_shared<nn::Linear>(hidden, 7, true, DType::Float32, gen));
  }
  std::string type_name() const override { return "Model"; }
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::Linear> head;
};

// Every parameter's bytes, by name.
std::map<std::string, std::vector<float>> snapshot(const nn::Module& m) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, v] : m.named_parameters()) out[name] = v.data().to_vector<float>();
  return out;
}

class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("minigrad_checkpoint_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(Checkpoint, RoundTripIsBitExact) {
  Model a(1), b(2);
  ASSERT_NE(snapshot(a), snapshot(b));
  const std::string file = path("model.safetensors");
  nn::save(a, file);
  nn::load(b, file);
  EXPECT_EQ(snapshot(a), snapshot(b));
  // Only the file itself is left: the temporary was renamed over it.
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dir_))
    entries.push_back(e.path().filename().string());
  EXPECT_EQ(entries, std::vector<std::string>{"model.safetensors"});
  // Saving again replaces the file.
  Model c(3);
  nn::save(c, file);
  nn::load(b, file);
  EXPECT_EQ(snapshot(b), snapshot(c));
}

TEST_F(Checkpoint, TheFileHoldsTheDottedNames) {
  Model a(1);
  const std::string file = path("names.safetensors");
  nn::save(a, file);
  const SafetensorsFile f = read_safetensors(file);
  std::vector<std::string> names;
  for (const auto& [name, t] : f.tensors) names.push_back(name);
  std::vector<std::string> want;
  for (const auto& [name, v] : a.named_parameters()) want.push_back(name);
  EXPECT_EQ(names, want);  // in parameter order
  EXPECT_EQ(f.at("lstm.weight_ih_l1").shape(), (Shape{16, 4}));
  EXPECT_EQ(f.metadata.at("model"), "Model");
}

TEST_F(Checkpoint, MismatchedModelThrowsNamingTheFileAndIsUnchanged) {
  Model a(1), wider(2, /*hidden=*/5);
  const std::string file = path("model.safetensors");
  nn::save(a, file);
  const auto before = snapshot(wider);
  EXPECT_TRUE(throws_with<std::runtime_error>([&] { nn::load(wider, file); },
                                              {file, "does not fit", "lstm.weight_ih_l0"}));
  EXPECT_EQ(snapshot(wider), before);
  // A model with a parameter the file lacks.
  nn::Linear lin(3, 3);
  const auto lin_before = snapshot(lin);
  EXPECT_TRUE(
      throws_with<std::runtime_error>([&] { nn::load(lin, file); }, {file, "missing 'weight'"}));
  EXPECT_EQ(snapshot(lin), lin_before);
}

TEST_F(Checkpoint, TruncatedOrMissingFileThrowsAndLeavesTheModel) {
  Model a(1), b(2);
  const std::string file = path("model.safetensors");
  nn::save(a, file);
  const std::uintmax_t size = fs::file_size(file);
  const auto before = snapshot(b);
  for (const std::uintmax_t cut : {size - 1, size / 2, std::uintmax_t{12}, std::uintmax_t{3}}) {
    const std::string truncated = path("truncated.safetensors");
    fs::copy_file(file, truncated, fs::copy_options::overwrite_existing);
    fs::resize_file(truncated, cut);
    EXPECT_TRUE(throws_with<std::runtime_error>([&] { nn::load(b, truncated); }, {truncated}))
        << cut << " bytes";
    EXPECT_EQ(snapshot(b), before) << cut << " bytes";
  }
  const std::string missing = path("no_such.safetensors");
  EXPECT_TRUE(throws_with<std::runtime_error>([&] { nn::load(b, missing); }, {missing}));
  EXPECT_EQ(snapshot(b), before);
}

// Runs tools/check_safetensors.py with `args`; returns its exit code.
int run_checker(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " MINIGRAD_SOURCE_DIR "/tools/check_safetensors.py " +
                          args + " > /dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(Checkpoint, PythonReadsTheCheckpoint) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 not found";
  Model a(1);
  {
    NoGradGuard no_grad;  // known values to look for
    a.head->bias.mutable_data().copy_(Tensor::from_list({0, 1, 2, 3, 4, 5, 6}, {7}));
  }
  const std::string file = path("for python.safetensors");  // a space, quoted below
  nn::save(a, file);
  const std::string f = "'" + file + "'";
  EXPECT_EQ(
      run_checker(f + " --count 11 --dtype head.weight=F32 --shape head.weight=7,4"
                      " --shape embed.weight=7,3 --shape lstm.weight_hh_l1=16,4"
                      " --arange head.bias --metadata format=minigrad --metadata model=Model"),
      0);
  EXPECT_EQ(run_checker(f + " --values head.bias=0,1,2,3,4,5,7"), 1);  // the checker can fail
}

}  // namespace
}  // namespace minigrad
