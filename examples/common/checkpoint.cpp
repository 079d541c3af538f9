#include "examples/common/checkpoint.h"

#include <iostream>
#include <stdexcept>

#include "minigrad/nn/serialization.h"

namespace minigrad::examples {

namespace {
constexpr const char* kDataGenerator = "data";  // the stream of training batches
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
                                           {{kDataGenerator, &data_gen}}, scheduler);
  std::cerr << "resumed " << o.resume_path << " after step " << step << "\n";
  return step;
}

void save_checkpoint_if_asked(const CommonOptions& o, const nn::Module& model,
                              const nn::Optimizer& optimizer, int64_t steps_done,
                              const Generator& data_gen, const nn::LRScheduler* scheduler) {
  if (o.save_path.empty()) return;
  nn::save_checkpoint(o.save_path, model, optimizer, steps_done, {{kDataGenerator, &data_gen}},
                      scheduler);
  std::cout << "saved " << o.save_path << "\n";
}

}  // namespace minigrad::examples
