// Evaluation inside a training loop: the model in eval mode (dropout off) while it is
// scored or decodes, then back in the mode the loop had it in.
#pragma once

#include "minigrad/nn/module.h"

namespace minigrad::examples {

/// Puts a module in eval mode for its lifetime, then back as it was (training or not).
///
///     { EvalMode eval_mode(model); ... model(x) without dropout ... }
class EvalMode {
 public:
  /// Remembers the module's mode and calls eval().
  explicit EvalMode(nn::Module& module) : module_(module), was_training_(module.is_training()) {
    module.eval();
  }
  /// Puts the remembered mode back.
  ~EvalMode() { module_.train(was_training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  nn::Module& module_;
  bool was_training_;
};

}  // namespace minigrad::examples
