/// \file
/// Checkpoints: a Module's parameters as a safetensors file, keyed by their dotted
/// names, so trained weights open in Python too:
///
///     from safetensors.numpy import load_file; load_file("model.safetensors")
///
/// A training checkpoint (save_checkpoint) holds, beside the same weights, all that
/// the next training step depends on, so a run that stops and resumes ends with the
/// same bits as one that never stopped:
///
///     "optimizer/<entry>"        Optimizer::state_dict(): lr, step, Adam's moments, ...
///     "scheduler/<entry>"        LRScheduler::state_dict(), when the run has a scheduler
///     "training/step"            int64 [1], the steps taken
///     "training/generator/<n>"   int64 [6], Generator::state() of each named generator
///
/// A name with a '/' is never a parameter's (those are dotted), so load() reads the
/// weights of either kind of file.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "minigrad/nn/module.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/scheduler.h"
#include "minigrad/tensor/random.h"

namespace minigrad::nn {

/// Atomic: written to a temporary file in the same folder, flushed to disk, then
/// renamed over `path`. A crash leaves either the old file or the new one.
void save(const Module& module, const std::string& path);
/// Validates the whole file (header, names, dtypes, shapes, offsets) before it
/// touches the module; on any error throws std::runtime_error naming the file and
/// the problem and leaves the module bit-for-bit unchanged. The training state of a
/// file written by save_checkpoint is skipped.
void load(Module& module, const std::string& path);

/// The weights, the optimizer's state, the step count, the generators' states and,
/// if `scheduler` is not null, the scheduler's state, in one atomic write.
void save_checkpoint(const std::string& path, const Module& module, const Optimizer& optimizer,
                     int64_t step, const std::map<std::string, const Generator*>& generators = {},
                     const LRScheduler* scheduler = nullptr);
/// Checks everything (the file, the weights against the module, the optimizer state
/// against the optimizer, every named generator's state, the scheduler's state
/// against `scheduler`) before it changes any of them; then restores all and returns
/// the step count. A file with a scheduler's state needs a scheduler of the same
/// type, and one without refuses a scheduler. Errors throw std::runtime_error naming
/// the file and the problem, and change nothing.
int64_t load_checkpoint(const std::string& path, Module& module, Optimizer& optimizer,
                        const std::map<std::string, Generator*>& generators = {},
                        LRScheduler* scheduler = nullptr);

}  // namespace minigrad::nn
