// What a model's logits say, as tokens: shared by every example whose model ends
// in a readout to the vocabulary.
#pragma once

#include "minigrad/autograd/variable.h"
#include "minigrad/tensor/tensor.h"

namespace minigrad::examples {

/// The most likely token at every position: argmax over the last axis,
/// logits [B, T, vocab] → int64 [B, T] (or [B, vocab] → [B]).
Tensor predict_tokens(const Variable& logits);

}  // namespace minigrad::examples
