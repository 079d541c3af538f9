// An enum's values beside the words a command line uses for them, read in both
// directions from one table, so a name and its parser cannot drift apart:
//
//   constexpr std::pair<Task, const char*> kTaskNames[] = {{Task::Copy, "copy"}, ...};
//   name_of(kTaskNames, Task::Copy)            -> "copy"
//   kind_named(kTaskNames, "sort", "task")     -> throws "unknown task 'sort' (expected copy or
//   reverse)"
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace minigrad::examples {

/// The word for `kind` in `names`, or "?" for a value the table lacks.
template <class Kind, std::size_t N>
const char* name_of(const std::pair<Kind, const char*> (&names)[N], Kind kind) {
  for (const auto& [k, name] : names) {
    if (k == kind) return name;
  }
  return "?";
}

/// The kind `names` calls `name`.
/// \throws std::invalid_argument "unknown <what> '<name>' (expected a, b or c)"
template <class Kind, std::size_t N>
Kind kind_named(const std::pair<Kind, const char*> (&names)[N], const std::string& name,
                const std::string& what) {
  std::string expected;
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i].second) return names[i].first;
    expected += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(names[i].second);
  }
  throw std::invalid_argument("unknown " + what + " '" + name + "' (expected " + expected + ")");
}

}  // namespace minigrad::examples
