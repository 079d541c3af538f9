#include "examples/common/prediction.h"

#include "minigrad/tensor/ops.h"

namespace minigrad::examples {

Tensor predict_tokens(const Variable& logits) { return argmax(logits.data(), -1); }

}  // namespace minigrad::examples
