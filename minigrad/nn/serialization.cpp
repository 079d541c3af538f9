#include "minigrad/nn/serialization.h"

#include <stdexcept>

#include "minigrad/tensor/safetensors.h"

namespace minigrad::nn {

void save(const Module& module, const std::string& path) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, v] : module.named_parameters()) tensors.emplace_back(name, v.data());
  write_safetensors(path, tensors, {{"format", "minigrad"}, {"model", module.type_name()}});
}

void load(Module& module, const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);  // validates the whole file first
  std::map<std::string, Tensor> state;
  for (const auto& [name, t] : file.tensors) state.emplace(name, t);
  try {
    module.load_state_dict(state, /*strict=*/true);  // checks every name and shape before copying
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("load: " + path + " does not fit the model: " + e.what());
  }
}

}  // namespace minigrad::nn
