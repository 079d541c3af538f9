// Checkpoints: a Module's parameters as a safetensors file, keyed by their dotted
// names, so trained weights open in Python too:
//   from safetensors.numpy import load_file; load_file("model.safetensors")
#pragma once

#include <string>

#include "minigrad/nn/module.h"

namespace minigrad::nn {

// Atomic: written to a temporary file in the same folder, flushed to disk, then
// renamed over `path`. A crash leaves either the old file or the new one.
void save(const Module& module, const std::string& path);
// Validates the whole file (header, names, dtypes, shapes, offsets) before it
// touches the module; on any error throws std::runtime_error naming the file and
// the problem and leaves the module bit-for-bit unchanged.
void load(Module& module, const std::string& path);

}  // namespace minigrad::nn
