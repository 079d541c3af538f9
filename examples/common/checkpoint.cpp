#include "examples/common/checkpoint.h"

#include <iostream>
#include <stdexcept>

#include "minigrad/nn/attention.h"
#include "minigrad/nn/serialization.h"

namespace minigrad::examples {

namespace {

constexpr const char* kDataGenerator = "data";  // the stream of training batches

void collect_dropout_generators(const nn::Module& module, const std::string& name,
                                std::map<std::string, Generator*>& out) {
  if (const auto* d = dynamic_cast<const nn::Dropout*>(&module); d && d->options.p() > 0) {
    out.emplace(name, const_cast<Generator*>(&d->dropout_generator));
  }
  if (const auto* m = dynamic_cast<const nn::MultiheadAttention*>(&module);
      m && m->options.dropout() > 0) {
    out.emplace(name, const_cast<Generator*>(&m->dropout_generator));
  }
  for (const auto& [child_name, child] : module.named_children()) {
    collect_dropout_generators(*child, name.empty() ? child_name : name + "." + child_name, out);
  }
}

// The data stream and every dropout stream of the model.
std::map<std::string, Generator*> training_generators(const nn::Module& model,
                                                      Generator& data_gen) {
  std::map<std::string, Generator*> generators = dropout_generators(model);
  generators.emplace(kDataGenerator, &data_gen);
  return generators;
}

}  // namespace

std::map<std::string, Generator*> dropout_generators(const nn::Module& model) {
  std::map<std::string, Generator*> out;
  collect_dropout_generators(model, "", out);
  return out;
}

int64_t restore_checkpoint(const CommonOptions& o, nn::Module& model, nn::Optimizer& optimizer,
                           Generator& data_gen, nn::LRScheduler* scheduler) {
  if (!o.load_path.empty() && !o.resume_path.empty()) {
    throw std::invalid_argument(
        "--load and --resume exclude each other: --resume loads the weights too");
  }
  if (!o.load_path.empty()) {
    nn::load(model, o.load_path);
    std::cerr << "loaded the weights of " << o.load_path << "\n";
    return 0;
  }
  if (o.resume_path.empty()) return 0;
  const int64_t step = nn::load_checkpoint(o.resume_path, model, optimizer,
                                           training_generators(model, data_gen), scheduler);
  std::cerr << "resumed " << o.resume_path << " after step " << step << "\n";
  return step;
}

void save_checkpoint_if_asked(const CommonOptions& o, const nn::Module& model,
                              const nn::Optimizer& optimizer, int64_t steps_done,
                              const Generator& data_gen, const nn::LRScheduler* scheduler) {
  if (o.save_path.empty()) return;
  std::map<std::string, const Generator*> generators;
  for (const auto& [name, gen] : training_generators(model, const_cast<Generator&>(data_gen)))
    generators.emplace(name, gen);
  nn::save_checkpoint(o.save_path, model, optimizer, steps_done, generators, scheduler);
  std::cout << "saved " << o.save_path << "\n";
}

}  // namespace minigrad::examples
