// --save, --load and --resume, the same in every training example.
//
//   --save PATH     after training, a training checkpoint (nn::save_checkpoint): the
//                   weights, the optimizer's state, the data generator and the step
//                   (and the learning-rate scheduler's state, if the run has one)
//   --load PATH     before training, the weights alone; the optimizer starts fresh
//   --resume PATH   before training, everything --save wrote: training goes on from
//                   the saved step to --steps and ends with the same bits as a run
//                   that never stopped (tests/CMakeLists.txt checks it per example)
//
// A model with dropout draws its masks from the dropout modules' own generators
// (nn::Dropout's and nn::MultiheadAttention's dropout_generator): the training
// checkpoint saves each of those too, under its module's dotted name, so a resumed
// run drops the same elements as one that never stopped.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "examples/common/cli.h"
#include "minigrad/nn/module.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/scheduler.h"

namespace minigrad::examples {

/// The generator of every module of `model` (itself included) that draws dropout
/// masks, by the module's dotted name ("transformer.encoder.layers.0.dropout1"):
/// nn::Dropout and nn::MultiheadAttention with p > 0. A module with p = 0 never
/// draws, so a model without dropout has none, and its checkpoints hold none.
std::map<std::string, Generator*> dropout_generators(const nn::Module& model);

// Applies --load or --resume (both given: std::invalid_argument) and returns the
// number of training steps already taken (0 unless resuming). A run with a
// learning-rate scheduler passes it, and --resume restores it too.
int64_t restore_checkpoint(const CommonOptions& options, nn::Module& model,
                           nn::Optimizer& optimizer, Generator& data_gen,
                           nn::LRScheduler* scheduler = nullptr);
// Applies --save, if given, and says so on stdout.
void save_checkpoint_if_asked(const CommonOptions& options, const nn::Module& model,
                              const nn::Optimizer& optimizer, int64_t steps_done,
                              const Generator& data_gen,
                              const nn::LRScheduler* scheduler = nullptr);

}  // namespace minigrad::examples
