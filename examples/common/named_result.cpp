#include "examples/common/named_result.h"

#include <cstdio>

namespace minigrad::examples {

std::string result_line(const std::string& example, const std::string& task,
                        const Accuracy& heldout, int64_t steps, double seconds,
                        const std::string& settings) {
  char text[256];
  std::snprintf(text, sizeof text,
                "result: example=%s task=%s heldout_token_acc=%.3f heldout_seq_acc=%.3f steps=%lld "
                "seconds=%.1f",
                example.c_str(), task.c_str(), heldout.token, heldout.sequence,
                static_cast<long long>(steps), seconds);
  return settings.empty() ? std::string(text) : text + (" " + settings);
}

}  // namespace minigrad::examples
