// Shape: inline dims, strides, broadcasting rules, axis normalisation.
#include "minigrad/tensor/shape.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "testing.h"

namespace minigrad {
namespace {

using testing::throws_with;

TEST(Shape, BasicsAndPrinting) {
  const Shape s{2, 3, 4};
  EXPECT_EQ(s.size(), 3);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.back(), 4);
  EXPECT_EQ(s.str(), "[2,3,4]");
  EXPECT_EQ(Shape{}.numel(), 1);  // a scalar has one element
  EXPECT_EQ(Shape{}.str(), "[]");
  EXPECT_EQ((Shape{0, 5}.numel()), 0);
  EXPECT_EQ(s.to_vector(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(Shape(std::vector<int64_t>{2, 3, 4}), s);
  EXPECT_NE((Shape{2, 3}), s);
  EXPECT_NE((Shape{2, 3, 5}), s);
}

TEST(Shape, InsertEraseResize) {
  Shape s{2, 4};
  s.insert(1, 3);
  EXPECT_EQ(s, (Shape{2, 3, 4}));
  s.insert(0, 1);
  s.insert(4, 5);
  EXPECT_EQ(s, (Shape{1, 2, 3, 4, 5}));
  s.erase(0);
  s.erase(3);
  EXPECT_EQ(s, (Shape{2, 3, 4}));
  s.resize(5, 7);
  EXPECT_EQ(s, (Shape{2, 3, 4, 7, 7}));
  s.resize(1);
  EXPECT_EQ(s, Shape{2});
}

TEST(Shape, RankAboveMaximumThrows) {
  Shape s;
  for (int i = 0; i < kMaxDims; ++i) s.push_back(1);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { s.push_back(1); }, {"rank 9", "maximum of 8"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { Shape t; t.resize(9); }, {"rank 9"}));
}

TEST(Shape, ContiguousStrides) {
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Shape{12, 4, 1}));
  EXPECT_EQ(contiguous_strides({5}), Shape{1});
  EXPECT_EQ(contiguous_strides({}), Shape{});
}

TEST(Shape, BroadcastShapes) {
  EXPECT_EQ(broadcast_shapes({2, 3}, {3}, "add"), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({2, 1, 4}, {3, 1}, "mul"), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {2, 2}, "add"), (Shape{2, 2}));
  EXPECT_EQ(broadcast_shapes({1}, {0}, "add"), Shape{0});
  EXPECT_EQ(broadcast_shapes({5, 1}, {1, 6}, "add"), (Shape{5, 6}));
  EXPECT_EQ(testing::message_of([] { broadcast_shapes({2, 3}, {4}, "add"); }),
            "add: [2,3] and [4]: sizes 3 and 4 cannot broadcast");
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { broadcast_shapes({2, 3}, {3, 3}, "sub"); },
                                                 {"sub", "[2,3]", "[3,3]"}));
}

TEST(Shape, NormalizeAxis) {
  EXPECT_EQ(normalize_axis(0, 3, "op"), 0);
  EXPECT_EQ(normalize_axis(2, 3, "op"), 2);
  EXPECT_EQ(normalize_axis(-1, 3, "op"), 2);
  EXPECT_EQ(normalize_axis(-3, 3, "op"), 0);
  EXPECT_EQ(testing::message_of([] { normalize_axis(3, 3, "sum"); }),
            "sum: axis 3 is out of range for a tensor of rank 3 (expected -3 to 2)");
  EXPECT_TRUE(throws_with<std::out_of_range>([] { normalize_axis(-4, 3, "sum"); }, {"sum", "-4"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([] { normalize_axis(0, 0, "softmax"); },
                                             {"softmax", "rank 0"}));
}

}  // namespace
}  // namespace minigrad
