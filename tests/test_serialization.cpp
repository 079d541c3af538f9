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

#include "minigrad/autograd/functions.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/lstm.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/scheduler.h"
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
    embed =
        register_module("embed", std::make_shared<nn::Embedding>(nn::EmbeddingOptions(7, 3), gen));
    lstm = register_module("lstm",
                           std::make_shared<nn::LSTM>(
                               nn::LSTMOptions(3, hidden).num_layers(2).batch_first(true), gen));
    head = register_module("head", std::make_shared<nn::Linear>(nn::LinearOptions(hidden, 7), gen));
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

class Checkpoint : public testing::TestWithDir {};

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

// ---- training checkpoints -----------------------------------------------------------------

// One Adam step of the model on fixed data drawn from `data`.
void train_step(Model& m, nn::Adam& opt, Generator& data) {
  const Tensor ids = randint(0, 7, {2, 5}, data);
  const Variable out = m.head->forward(m.lstm->forward(m.embed->forward(ids)).output);
  opt.zero_grad();
  sum(out * out).backward();
  opt.step();
}

TEST_F(Checkpoint, TrainingCheckpointResumesBitForBit) {
  Model a(1);
  nn::Adam opt_a(a.parameters(), nn::AdamOptions(0.01));
  Generator data_a(5);
  for (int i = 0; i < 3; ++i) train_step(a, opt_a, data_a);
  const std::string file = path("train.safetensors");
  nn::save_checkpoint(file, a, opt_a, 3, {{"data", &data_a}});

  Model b(2);
  nn::Adam opt_b(b.parameters(), nn::AdamOptions(0.01));
  Generator data_b(6);
  EXPECT_EQ(nn::load_checkpoint(file, b, opt_b, {{"data", &data_b}}), 3);
  for (int i = 0; i < 3; ++i) {
    train_step(a, opt_a, data_a);
    train_step(b, opt_b, data_b);
  }
  EXPECT_EQ(snapshot(a), snapshot(b));
  EXPECT_EQ(opt_b.steps(), 6);

  // The weights alone load from the same file (its training entries are skipped),
  // and Python sees the training state under names no parameter can have.
  Model c(3);
  nn::load(c, file);
  const SafetensorsFile f = read_safetensors(file);
  EXPECT_TRUE(f.contains("optimizer/exp_avg.0"));
  EXPECT_TRUE(f.contains("training/step"));
  EXPECT_EQ(f.at("training/generator/data").shape(), Shape{6});
  EXPECT_EQ(f.metadata.at("optimizer"), "Adam");
}

TEST_F(Checkpoint, TrainingCheckpointThatDoesNotFitChangesNothing) {
  Model a(1);
  nn::Adam opt_a(a.parameters(), nn::AdamOptions(0.01));
  Generator data_a(5);
  train_step(a, opt_a, data_a);
  const std::string file = path("train.safetensors");
  nn::save_checkpoint(file, a, opt_a, 1, {{"data", &data_a}});
  const std::string weights_only = path("weights.safetensors");
  nn::save(a, weights_only);

  Model b(2);
  nn::Adam opt_b(b.parameters(), nn::AdamOptions(0.02));
  Generator data_b(6);
  const auto model_before = snapshot(b);
  const auto data_before = data_b.state().to_vector<int64_t>();
  auto unchanged = [&] {
    EXPECT_EQ(snapshot(b), model_before);
    EXPECT_EQ(opt_b.lr(), 0.02);
    EXPECT_EQ(opt_b.steps(), 0);
    EXPECT_EQ(data_b.state().to_vector<int64_t>(), data_before);
  };
  EXPECT_TRUE(throws_with<std::runtime_error>(
      [&] {
        nn::load_checkpoint(weights_only, b, opt_b, {{"data", &data_b}});
      },
      {weights_only, "weights only"}));
  unchanged();
  EXPECT_TRUE(throws_with<std::runtime_error>(
      [&] {
        nn::load_checkpoint(file, b, opt_b, {{"batches", &data_b}});
      },
      {file, "no state for generator 'batches'"}));
  unchanged();
  nn::SGD sgd(b.parameters(), nn::SGDOptions(0.1));
  EXPECT_TRUE(throws_with<std::runtime_error>(
      [&] {
        nn::load_checkpoint(file, b, sgd, {{"data", &data_b}});
      },
      {file, "optimizer is Adam", "uses SGD"}));
  unchanged();
  Model wider(2, /*hidden=*/5);
  nn::Adam opt_w(wider.parameters(), nn::AdamOptions(0.02));
  const auto wider_before = snapshot(wider);
  EXPECT_TRUE(throws_with<std::runtime_error>(
      [&] {
        nn::load_checkpoint(file, wider, opt_w, {{"data", &data_b}});
      },
      {file, "lstm.weight_ih_l0"}));
  EXPECT_EQ(snapshot(wider), wider_before);
  // A truncated training checkpoint.
  const std::string truncated = path("truncated.safetensors");
  fs::copy_file(file, truncated);
  fs::resize_file(truncated, fs::file_size(file) - 8);
  EXPECT_TRUE(throws_with<std::runtime_error>(
      [&] {
        nn::load_checkpoint(truncated, b, opt_b, {{"data", &data_b}});
      },
      {truncated}));
  unchanged();
}

// The scheduler's state goes into the checkpoint beside the optimizer's: the resumed
// run sets the learning rates of the run that never stopped.
TEST_F(Checkpoint, TrainingCheckpointWithASchedulerResumesBitForBit) {
  Model a(1);
  nn::Adam opt_a(a.parameters(), nn::AdamOptions(0.01));
  nn::WarmupCosineLR sched_a(opt_a, nn::WarmupCosineLROptions(8).warmup_steps(2).eta_min(1e-3));
  Generator data_a(5);
  auto step = [](Model& m, nn::Adam& opt, nn::LRScheduler& sched, Generator& data) {
    train_step(m, opt, data);
    sched.step();
  };
  for (int i = 0; i < 3; ++i) step(a, opt_a, sched_a, data_a);
  const std::string file = path("train.safetensors");
  nn::save_checkpoint(file, a, opt_a, 3, {{"data", &data_a}}, &sched_a);

  Model b(2);
  nn::Adam opt_b(b.parameters(), nn::AdamOptions(0.01));
  nn::WarmupCosineLR sched_b(opt_b, nn::WarmupCosineLROptions(8).warmup_steps(2).eta_min(1e-3));
  Generator data_b(6);
  EXPECT_EQ(nn::load_checkpoint(file, b, opt_b, {{"data", &data_b}}, &sched_b), 3);
  EXPECT_EQ(sched_b.last_epoch(), 3);
  for (int i = 0; i < 5; ++i) {
    step(a, opt_a, sched_a, data_a);
    step(b, opt_b, sched_b, data_b);
    EXPECT_EQ(opt_b.lr(), opt_a.lr());
  }
  EXPECT_EQ(snapshot(a), snapshot(b));
  const SafetensorsFile f = read_safetensors(file);
  EXPECT_EQ(f.metadata.at("scheduler"), "WarmupCosineLR");
  EXPECT_EQ(f.at("scheduler/last_epoch").to_vector<int64_t>(), std::vector<int64_t>{3});
}

// nanoGPT's two AdamW groups (decay on the matrices only, another lr for the rest) and a
// scheduler driving both: the checkpoint restores each group's rate, step count and base
// lr, and the run continues bit for bit. A run grouped otherwise is refused, naming both
// layouts and the file, and keeps its state.
TEST_F(Checkpoint, GroupedOptimizerAndSchedulerResumeBitForBit) {
  auto groups_of = [](Model& m) {
    std::vector<Variable> decay, no_decay;
    for (const Variable& p : m.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
    return std::vector<nn::OptimizerParamGroup>{
        nn::OptimizerParamGroup(decay),
        nn::OptimizerParamGroup(no_decay, std::make_unique<nn::AdamWOptions>(
                                              nn::AdamWOptions(0.005).weight_decay(0.0)))};
  };
  auto step = [](Model& m, nn::AdamW& opt, nn::LRScheduler& sched, Generator& data) {
    const Tensor ids = randint(0, 7, {2, 5}, data);
    const Variable out = m.head->forward(m.lstm->forward(m.embed->forward(ids)).output);
    opt.zero_grad();
    sum(out * out).backward();
    opt.step();
    sched.step();
  };
  const auto cosine = nn::WarmupCosineLROptions(8).warmup_steps(2).eta_min(1e-4);
  Model a(1);
  nn::AdamW opt_a(groups_of(a), nn::AdamWOptions(0.01).weight_decay(0.1));
  nn::WarmupCosineLR sched_a(opt_a, cosine);
  Generator data_a(5);
  for (int i = 0; i < 3; ++i) step(a, opt_a, sched_a, data_a);
  const std::string file = path("grouped.safetensors");
  nn::save_checkpoint(file, a, opt_a, 3, {{"data", &data_a}}, &sched_a);

  Model b(2);
  nn::AdamW opt_b(groups_of(b), nn::AdamWOptions(0.01).weight_decay(0.1));
  nn::WarmupCosineLR sched_b(opt_b, cosine);
  Generator data_b(6);
  EXPECT_EQ(nn::load_checkpoint(file, b, opt_b, {{"data", &data_b}}, &sched_b), 3);
  EXPECT_EQ(sched_b.base_lrs(), (std::vector<double>{0.01, 0.005}));
  for (int i = 0; i < 4; ++i) {
    step(a, opt_a, sched_a, data_a);
    step(b, opt_b, sched_b, data_b);
    EXPECT_EQ(sched_b.get_last_lr(), sched_a.get_last_lr());
  }
  EXPECT_EQ(snapshot(a), snapshot(b));
  const SafetensorsFile f = read_safetensors(file);
  EXPECT_EQ(f.at("optimizer/lr").shape(), Shape{2});
  EXPECT_EQ(f.at("scheduler/base_lr").shape(), Shape{2});

  Model c(3);
  nn::AdamW opt_c(c.parameters(), nn::AdamWOptions(0.02));
  Generator data_c(7);
  const auto before = snapshot(c);
  EXPECT_TRUE(throws_with<std::runtime_error>(
      [&] {
        nn::load_checkpoint(file, c, opt_c, {{"data", &data_c}});
      },
      {file, "saved with 2 groups of sizes", "this optimizer has 1 group of sizes"}));
  EXPECT_EQ(snapshot(c), before);
  EXPECT_EQ(opt_c.lr(), 0.02);
  EXPECT_EQ(opt_c.steps(), 0);
}

TEST_F(Checkpoint, ASchedulerThatDoesNotFitChangesNothing) {
  Model a(1);
  nn::Adam opt_a(a.parameters(), nn::AdamOptions(0.01));
  nn::StepLR sched_a(opt_a, 2);
  Generator data_a(5);
  train_step(a, opt_a, data_a);
  sched_a.step();
  const std::string with = path("with.safetensors"), without = path("without.safetensors");
  nn::save_checkpoint(with, a, opt_a, 1, {{"data", &data_a}}, &sched_a);
  nn::save_checkpoint(without, a, opt_a, 1, {{"data", &data_a}});

  Model b(2);
  nn::Adam opt_b(b.parameters(), nn::AdamOptions(0.02));
  nn::StepLR step_b(opt_b, 2);
  nn::LambdaLR lambda_b(opt_b, [](int64_t) { return 1.0; });
  Generator data_b(6);
  const auto model_before = snapshot(b);
  auto unchanged = [&] {
    EXPECT_EQ(snapshot(b), model_before);
    EXPECT_EQ(opt_b.lr(), 0.02);
    EXPECT_EQ(opt_b.steps(), 0);
    EXPECT_EQ(step_b.last_epoch(), 0);
    EXPECT_EQ(lambda_b.last_epoch(), 0);
  };
  EXPECT_TRUE(throws_with<std::runtime_error>(
      [&] {
        nn::load_checkpoint(with, b, opt_b, {{"data", &data_b}});
      },
      {with, "scheduler (StepLR)", "this run has none"}));
  unchanged();
  EXPECT_TRUE(throws_with<std::runtime_error>(
      [&] {
        nn::load_checkpoint(without, b, opt_b, {{"data", &data_b}}, &step_b);
      },
      {without, "no learning-rate scheduler", "uses StepLR"}));
  unchanged();
  EXPECT_TRUE(throws_with<std::runtime_error>(
      [&] {
        nn::load_checkpoint(with, b, opt_b, {{"data", &data_b}}, &lambda_b);
      },
      {with, "scheduler is StepLR", "uses LambdaLR"}));
  unchanged();
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
  EXPECT_EQ(testing::run_safetensors_checker(
                f + " --count 11 --dtype head.weight=F32 --shape head.weight=7,4"
                    " --shape embed.weight=7,3 --shape lstm.weight_hh_l1=16,4"
                    " --arange head.bias --metadata format=minigrad --metadata model=Model"),
            0);
  EXPECT_EQ(testing::run_safetensors_checker(f + " --values head.bias=0,1,2,3,4,5,7"),
            1);  // the checker can fail
}

}  // namespace
}  // namespace minigrad
