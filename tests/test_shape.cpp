// Shape: inline dims, strides, broadcasting rules, axis normalisation; and the views'
// PyTorch meaning at the edges (expand -1, squeeze of a non-1 axis, negative indices,
// 0-d tensors).
#include "minigrad/tensor/shape.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "minigrad/tensor/ops.h"

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

// The ops PyTorch lets a 0-d tensor take a dim: 0 and -1 and nothing else.
TEST(Shape, WrapDimTreatsRankZeroAsOneAxis) {
  EXPECT_EQ(wrap_dim(0, 0, "sum"), 0);
  EXPECT_EQ(wrap_dim(-1, 0, "sum"), 0);
  EXPECT_EQ(wrap_dim(-2, 3, "sum"), 1);
  EXPECT_EQ(testing::message_of([] { wrap_dim(1, 0, "sum"); }),
            "sum: axis 1 is out of range for a 0-d tensor (expected -1 or 0)");
  EXPECT_TRUE(
      throws_with<std::out_of_range>([] { wrap_dim(-2, 0, "softmax"); }, {"softmax", "-2"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([] { wrap_dim(3, 3, "sum"); }, {"sum", "rank 3"}));
}

TEST(ShapeSemantics, ExpandMinusOneKeepsTheSize) {
  const Tensor x = Tensor::arange(0, 3).reshape({1, 3});
  const Tensor e = x.expand({2, -1, -1});
  EXPECT_EQ(e.shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(e.to_vector<double>(), (std::vector<double>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(x.expand({4, -1}).shape(), (Shape{4, 3}));
  EXPECT_EQ(x.expand({-1, -1}).shape(), (Shape{1, 3}));
  // -1 in a new leading axis has no size to keep (PyTorch refuses it too)
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        x.expand({-1, 1, 3});
      },
      {"expand", "-1", "new leading axis 0"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        x.expand({-1, 4});
      },
      {"expand", "[1,3]", "[1,4]"}));
}

TEST(ShapeSemantics, SqueezeOfANonUnitAxisIsANoOp) {
  const Tensor x = Tensor::zeros({2, 1, 3});
  EXPECT_EQ(x.squeeze(0).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(x.squeeze(-1).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(x.squeeze(1).shape(), (Shape{2, 3}));
  EXPECT_EQ(x.squeeze(-2).shape(), (Shape{2, 3}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.squeeze(3); }, {"squeeze", "axis 3"}));
}

TEST(ShapeSemantics, NegativeIndicesCountFromTheEnd) {
  const Tensor x = Tensor::arange(0, 12, 1, DType::Float64).reshape({3, 4});
  EXPECT_EQ(x.at({-1, -1}), 11.0);
  EXPECT_EQ(x.at({-3, 1}), 1.0);
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.at({-4, 0}); }, {"at", "[-4,0]"}));
  EXPECT_EQ(x.select(-1, -2).to_vector<double>(), (std::vector<double>{2, 6, 10}));
  EXPECT_EQ(x.narrow(1, -2, 2).to_vector<double>(), (std::vector<double>{2, 3, 6, 7, 10, 11}));
  EXPECT_EQ(x.narrow(-2, -3, 1).to_vector<double>(), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(x.slice(-1, -3, -1).to_vector<double>(), (std::vector<double>{1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(x.transpose(-1, -2).shape(), (Shape{4, 3}));
  EXPECT_EQ(x.permute({-1, 0}).shape(), (Shape{4, 3}));
  EXPECT_EQ(x.unsqueeze(-1).shape(), (Shape{3, 4, 1}));
  EXPECT_EQ(x.size(-2), 3);
  EXPECT_EQ(stack({x, x}, -1).shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(concat({x, x}, -2).shape(), (Shape{6, 4}));
  EXPECT_EQ(split(x, 2, -1)[1].to_vector<double>(), (std::vector<double>{2, 3, 6, 7, 10, 11}));
  const Tensor idx = Tensor::from_vector<int64_t>({3, 0}, {2});
  EXPECT_EQ(index_select(x, -1, idx).to_vector<double>(), (std::vector<double>{3, 0, 7, 4, 11, 8}));
  EXPECT_EQ(sum(x, {-1}).to_vector<double>(), (std::vector<double>{6, 22, 38}));
  EXPECT_EQ(argmax(x, -2).to_vector<int64_t>(), (std::vector<int64_t>{2, 2, 2, 2}));
  // index values themselves are not wrapped, as in PyTorch's index_select and gather
  EXPECT_TRUE(throws_with<std::out_of_range>(
      [&] { index_select(x, 0, Tensor::from_vector<int64_t>({-1}, {1})); },
      {"index_select", "-1"}));
  // narrow's start below -size is still out of range
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.narrow(1, -5, 1); }, {"narrow"}));
}

TEST(ShapeSemantics, ZeroDimTensors) {
  const Tensor z = Tensor::scalar(2.5, DType::Float64);
  EXPECT_EQ(z.unsqueeze(0).shape(), (Shape{1}));
  EXPECT_EQ(z.unsqueeze(-1).shape(), (Shape{1}));
  EXPECT_EQ(z.squeeze().dim(), 0);
  EXPECT_EQ(z.squeeze(0).dim(), 0);
  EXPECT_EQ(z.squeeze(-1).dim(), 0);
  EXPECT_EQ(z.reshape({-1}).shape(), (Shape{1}));
  EXPECT_EQ(Tensor::zeros({1, 1}).reshape({}).dim(), 0);
  EXPECT_EQ(z.transpose(0, -1).item(), 2.5);
  EXPECT_EQ(z.expand({3}).to_vector<double>(), (std::vector<double>{2.5, 2.5, 2.5}));
  EXPECT_EQ(z.flatten().shape(), (Shape{1}));
  EXPECT_EQ(z.permute({}).dim(), 0);
  EXPECT_EQ(stack({z, z}, 0).shape(), (Shape{2}));
  EXPECT_EQ(softmax(z, 0).item(), 1.0);
  EXPECT_EQ(softmax(z, 0).dim(), 0);
  EXPECT_EQ(log_softmax(z, -1).item(), 0.0);
  EXPECT_EQ(softmax_backward(softmax(z, 0), Tensor::scalar(3.0, DType::Float64), -1).item(), 0.0);
  EXPECT_EQ(index_select(z, 0, Tensor::from_vector<int64_t>({0}, {1})).dim(), 0);
  // what PyTorch refuses for a 0-d tensor
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { z.select(0, 0); },
                                             {"select() cannot be applied to a 0-dim tensor"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { z.narrow(0, 0, 1); },
                                                 {"narrow() cannot be applied to a 0-dim tensor"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { z.size(0); }, {"size", "axis 0"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { z.unsqueeze(1); }, {"unsqueeze", "axis 1"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { softmax(z, 1); }, {"softmax", "axis 1"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { concat({z, z}, 0); }, {"concat"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { split(z, 1, 0); }, {"split"}));
}

}  // namespace
}  // namespace minigrad
