// --save, --load and --resume, the same in every training example.
//
//   --save PATH     after training, a training checkpoint (nn::save_checkpoint): the
//                   weights, the optimizer's state, the data generator and the step
//                   (and the learning-rate scheduler's state, if the run has one)
//   --load PATH     before training, the weights alone; the optimizer starts fresh
//   --resume PATH   before training, everything --save wrote: training goes on from
//                   the saved step to --steps and ends with the same bits as a run
//                   that never stopped (tests/CMakeLists.txt checks it per example)
#pragma once

#include <cstdint>

#include "examples/common/cli.h"
#include "minigrad/nn/module.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/scheduler.h"

namespace minigrad::examples {

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
