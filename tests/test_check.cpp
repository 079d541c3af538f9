// MINIGRAD_CHECK: the message is built only when the check fails, the exception
// type is the one asked for, and a following else stays with the caller's if.
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/shape.h"

namespace minigrad {
namespace {

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(Check, PassingCheckEvaluatesNoMessage) {
  int evaluated = 0;
  auto count = [&] { return ++evaluated; };
  MINIGRAD_CHECK(1 + 1 == 2) << "never " << count();
  EXPECT_EQ(evaluated, 0);
}

TEST(Check, FailingCheckThrowsTheStreamedMessage) {
  const Shape a{2, 3}, b{4, 5};
  EXPECT_EQ(what_of([&] { MINIGRAD_CHECK(a[1] == b[0]) << "matmul: " << a << " @ " << b; }),
            "matmul: " + a.str() + " @ " + b.str());
  EXPECT_THROW(MINIGRAD_CHECK(false) << "x", std::invalid_argument);
  EXPECT_THROW(MINIGRAD_CHECK_INDEX(false) << "x", std::out_of_range);
  EXPECT_THROW(MINIGRAD_CHECK_AS(std::runtime_error, false) << "x", std::runtime_error);
}

TEST(Check, ElseBindsToTheCallersIf) {
  bool took_else = false;
  const bool outer = false;
  if (outer)
    MINIGRAD_CHECK(true) << "unused";
  else
    took_else = true;
  EXPECT_TRUE(took_else);
}

}  // namespace
}  // namespace minigrad
