/// \file
/// MINIGRAD_CHECK: the one way minigrad refuses bad input.
///
///     MINIGRAD_CHECK(a.dim() == 2) << "matmul: " << a.shape() << " @ " << b.shape()
///                                  << ": expected a 2-D left operand";
///
/// When the condition holds, nothing after it is evaluated (the message costs
/// nothing on the good path). When it fails, the streamed message becomes the
/// what() of a std::invalid_argument. MINIGRAD_CHECK_INDEX throws std::out_of_range
/// (an index or id outside its range), MINIGRAD_CHECK_AS(E, cond) any exception E
/// constructible from a string (std::runtime_error for files). Every message names
/// the op first, then the shapes or values, then what was expected: the convention
/// of docs/RELIABILITY.md.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace minigrad::detail {

/// The message of a failed check, built with <<.
class CheckMessage {
 public:
  /// Appends anything an std::ostream can print (Shape and Tensor included).
  template <class T>
  CheckMessage& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }
  /// The message so far.
  std::string str() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
};

/// Throws E with the message assigned to it. `=` binds more loosely than `<<`,
/// so the whole streamed message is built before this runs.
template <class E>
struct CheckRaise {
  /// Throws E(message).
  [[noreturn]] void operator=(const CheckMessage& message) const { throw E(message.str()); }
};

}  // namespace minigrad::detail

/// Throws std::invalid_argument with the streamed message unless cond holds.
/// The if/else form keeps a following `else` bound to the caller's own `if`.
#define MINIGRAD_CHECK_AS(E, cond) \
  if (cond) {                      \
  } else                           \
    ::minigrad::detail::CheckRaise<E>{} = ::minigrad::detail::CheckMessage {}

/// Refuses a bad argument: std::invalid_argument with the streamed message.
#define MINIGRAD_CHECK(cond) MINIGRAD_CHECK_AS(std::invalid_argument, cond)

/// Refuses an index or id outside its range: std::out_of_range.
#define MINIGRAD_CHECK_INDEX(cond) MINIGRAD_CHECK_AS(std::out_of_range, cond)
