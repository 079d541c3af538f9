#include "minigrad/nn/serialization.h"
#include "minigrad/tensor/check.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include "minigrad/tensor/safetensors.h"

namespace minigrad::nn {

namespace {

constexpr const char* kOptimizerPrefix = "optimizer/";
constexpr const char* kSchedulerPrefix = "scheduler/";
constexpr const char* kStepName = "training/step";
constexpr const char* kGeneratorPrefix = "training/generator/";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::vector<std::pair<std::string, Tensor>> weights_of(const Module& module) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, v] : module.named_parameters()) tensors.emplace_back(name, v.data());
  return tensors;
}

// The entries of a file split by what they belong to.
struct Sections {
  std::map<std::string, Tensor> weights, optimizer, scheduler, generators;
  const Tensor* step = nullptr;
};

Sections split(const SafetensorsFile& file) {
  Sections s;
  for (const auto& [name, t] : file.tensors) {
    if (starts_with(name, kOptimizerPrefix)) {
      s.optimizer.emplace(name.substr(std::string(kOptimizerPrefix).size()), t);
    } else if (starts_with(name, kSchedulerPrefix)) {
      s.scheduler.emplace(name.substr(std::string(kSchedulerPrefix).size()), t);
    } else if (starts_with(name, kGeneratorPrefix)) {
      s.generators.emplace(name.substr(std::string(kGeneratorPrefix).size()), t);
    } else if (name == kStepName) {
      s.step = &t;
    } else {
      MINIGRAD_CHECK_AS(std::runtime_error, name.find('/') == std::string::npos)
          << "unexpected entry '" << name << "'";
      s.weights.emplace(name, t);
    }
  }
  return s;
}

}  // namespace

void save(const Module& module, const std::string& path) {
  write_safetensors(path, weights_of(module),
                    {{"format", "minigrad"}, {"model", module.type_name()}});
}

void load(Module& module, const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);  // validates the whole file first
  Sections sections;
  try {
    sections = split(file);
    module.load_state_dict(sections.weights,
                           /*strict=*/true);  // checks every name and shape before copying
  } catch (const std::exception& e) {
    throw std::runtime_error("load: " + path + " does not fit the model: " + e.what());
  }
}

void save_checkpoint(const std::string& path, const Module& module, const Optimizer& optimizer,
                     int64_t step, const std::map<std::string, const Generator*>& generators,
                     const LRScheduler* scheduler) {
  MINIGRAD_CHECK(step >= 0) << "save_checkpoint: step must be ≥ 0, got " << step;
  std::vector<std::pair<std::string, Tensor>> tensors = weights_of(module);
  for (auto& [name, t] : optimizer.state_dict()) tensors.emplace_back(kOptimizerPrefix + name, t);
  tensors.emplace_back(kStepName, Tensor::from_vector<int64_t>({step}, {1}));
  for (const auto& [name, gen] : generators) {
    MINIGRAD_CHECK(gen != nullptr) << "save_checkpoint: generator '" << name << "' is null";
    tensors.emplace_back(kGeneratorPrefix + name, gen->state());
  }
  std::map<std::string, std::string> metadata{
      {"format", "minigrad"}, {"model", module.type_name()}, {"optimizer", optimizer.type_name()}};
  if (scheduler != nullptr) {
    for (auto& [name, t] : scheduler->state_dict())
      tensors.emplace_back(kSchedulerPrefix + name, t);
    metadata.emplace("scheduler", scheduler->type_name());
  }
  write_safetensors(path, tensors, metadata);
}

int64_t load_checkpoint(const std::string& path, Module& module, Optimizer& optimizer,
                        const std::map<std::string, Generator*>& generators,
                        LRScheduler* scheduler) {
  const SafetensorsFile file = read_safetensors(path);  // validates the whole file first
  const std::string where = "load_checkpoint: " + path + ": ";
  Sections s;
  int64_t step = 0;
  try {
    s = split(file);
    auto kind = file.metadata.find("optimizer");
    MINIGRAD_CHECK_AS(std::runtime_error, kind != file.metadata.end() && s.step != nullptr)
        << "holds weights only, no training state (written by save, not save_checkpoint)";
    MINIGRAD_CHECK_AS(std::runtime_error, kind->second == optimizer.type_name())
        << "its optimizer is " << kind->second << ", this run uses " << optimizer.type_name();
    module.check_state_dict(s.weights, /*strict=*/true);
    optimizer.check_state_dict(s.optimizer);
    const auto scheduler_kind = file.metadata.find("scheduler");
    const bool file_has_scheduler = scheduler_kind != file.metadata.end();
    if (scheduler == nullptr) {
      MINIGRAD_CHECK_AS(std::runtime_error, !file_has_scheduler && s.scheduler.empty())
          << "holds the state of a learning-rate scheduler"
          << (file_has_scheduler ? " (" + scheduler_kind->second + ")" : "")
          << ", this run has none";
    } else {
      MINIGRAD_CHECK_AS(std::runtime_error, file_has_scheduler)
          << "holds no learning-rate scheduler's state, this run uses " << scheduler->type_name();
      MINIGRAD_CHECK_AS(std::runtime_error, scheduler_kind->second == scheduler->type_name())
          << "its scheduler is " << scheduler_kind->second << ", this run uses "
          << scheduler->type_name();
      scheduler->check_state_dict(s.scheduler);
    }
    MINIGRAD_CHECK_AS(std::runtime_error,
                      s.step->dtype() == DType::Int64 && s.step->shape() == Shape{1})
        << "'" << kStepName << "' is not int64 [1]";
    step = s.step->to_vector<int64_t>()[0];
    MINIGRAD_CHECK_AS(std::runtime_error, step >= 0) << "'" << kStepName << "' is negative";
    for (const auto& [name, gen] : generators) {
      auto it = s.generators.find(name);
      MINIGRAD_CHECK_AS(std::runtime_error, it != s.generators.end())
          << "no state for generator '" << name << "'";
      Generator probe;
      probe.set_state(it->second);  // validates without touching `gen`
    }
    for (const auto& [name, t] : s.generators) {
      MINIGRAD_CHECK_AS(std::runtime_error, generators.count(name) != 0)
          << "unexpected generator '" << name << "'";
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(where + e.what());
  }
  // Everything fits: only now change the module, the optimizer, the scheduler and the
  // generators.
  module.load_state_dict(s.weights, /*strict=*/true);
  optimizer.load_state_dict(s.optimizer);
  if (scheduler != nullptr) scheduler->load_state_dict(s.scheduler);
  for (const auto& [name, gen] : generators) gen->set_state(s.generators.at(name));
  return step;
}

}  // namespace minigrad::nn
