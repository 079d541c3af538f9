// The result line of an example whose task is not copy or reverse (progress.h has
// the one for those), in the same format:
//   result: example=NAME task=TASK heldout_token_acc=0.997 heldout_seq_acc=0.970 steps=1200
//   seconds=8.4
#pragma once

#include <cstdint>
#include <string>

#include "examples/common/task.h"

namespace minigrad::examples {

std::string result_line(const std::string& example, const std::string& task,
                        const Accuracy& heldout, int64_t steps, double seconds,
                        const std::string& settings = "");

}  // namespace minigrad::examples
