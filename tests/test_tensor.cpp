// Tensor: creation, dtypes, views that share storage, copies, in-place updates,
// element access and printing.
#include "minigrad/tensor/tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "testing.h"

namespace minigrad {
namespace {

using testing::f32;
using testing::f64;
using testing::i64;
using testing::same_storage;
using testing::throws_with;

// [[0,1,2,3],[4,5,6,7],[8,9,10,11]] as float32
Tensor iota34() { return Tensor::arange(0, 12).reshape({3, 4}); }

// ---- creation ---------------------------------------------------------------------------

TEST(TensorCreate, ZerosOnesFullScalar) {
  const Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.dtype(), DType::Float32);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(6, 0.f));
  EXPECT_EQ(Tensor::ones({4}, DType::Int64).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(Tensor::full({2}, 2.5, DType::Float64).to_vector<double>(), (std::vector<double>{2.5, 2.5}));
  const Tensor s = Tensor::scalar(3.0);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item(), 3.0);
  const Tensor e = Tensor::zeros({0, 3});
  EXPECT_EQ(e.numel(), 0);
  EXPECT_TRUE(e.to_vector<float>().empty());
  EXPECT_FALSE(Tensor().defined());
}

TEST(TensorCreate, ArangeLikeNumpy) {
  EXPECT_EQ(Tensor::arange(0, 5, 1, DType::Int64).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
  // numpy.arange(0, 1, 0.3) has 4 elements: the end is excluded, the count is ceil.
  EXPECT_EQ(Tensor::arange(0, 1, 0.3, DType::Float64).numel(), 4);
  EXPECT_EQ(Tensor::arange(5, 0, -2, DType::Int64).to_vector<int64_t>(), (std::vector<int64_t>{5, 3, 1}));
  EXPECT_EQ(Tensor::arange(3, 3).numel(), 0);
  EXPECT_EQ(Tensor::arange(3, 0).numel(), 0);
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { Tensor::arange(0, 1, 0); }, {"arange", "step"}));
}

TEST(TensorCreate, FromVectorAndList) {
  const Tensor t = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.dtype(), DType::Float64);
  EXPECT_EQ(t.at({1, 0}), 4.0);
  EXPECT_EQ(i64({7, 8}, {2}).dtype(), DType::Int64);
  EXPECT_EQ(f32({1.5, 2.5}, {2}).dtype(), DType::Float32);
  const Tensor b = Tensor::from_list({0, 1, 2}, {3}, DType::Bool);
  EXPECT_EQ(b.dtype(), DType::Bool);
  EXPECT_EQ(b.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2}); },
      {"from_vector", "3 values", "[2,2]", "4 elements"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { Tensor::empty({2, -1}); },
                                                 {"empty", "negative", "[2,-1]"}));
}

TEST(TensorCreate, StorageIsAligned) {
  for (int64_t n : {1, 3, 17, 1000}) {
    const Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u) << n;
  }
}

// ---- dtypes -----------------------------------------------------------------------------

TEST(TensorDtype, NamesSizesAndKinds) {
  EXPECT_STREQ(dtype_name(DType::Float32), "float32");
  EXPECT_STREQ(dtype_name(DType::Float64), "float64");
  EXPECT_STREQ(dtype_name(DType::Int64), "int64");
  EXPECT_STREQ(dtype_name(DType::Bool), "bool");
  EXPECT_EQ(dtype_size(DType::Float32), 4u);
  EXPECT_EQ(dtype_size(DType::Float64), 8u);
  EXPECT_EQ(dtype_size(DType::Int64), 8u);
  EXPECT_EQ(dtype_size(DType::Bool), 1u);
  EXPECT_TRUE(is_floating(DType::Float32));
  EXPECT_TRUE(is_floating(DType::Float64));
  EXPECT_FALSE(is_floating(DType::Int64));
  EXPECT_FALSE(is_floating(DType::Bool));
}

TEST(TensorDtype, TypedPointerChecksTheDtype) {
  Tensor t = Tensor::zeros({2});
  EXPECT_NO_THROW(t.data<float>());
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { t.data<double>(); },
                                                 {"data", "float64", "float32"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { Tensor().data<float>(); }, {"data"}));
}

TEST(TensorDtype, ToConvertsAndKeepsRowMajorOrder) {
  const Tensor x = f32({1.5, -2.5, 0, 3.75}, {2, 2});
  EXPECT_EQ(x.to(DType::Float64).to_vector<double>(), (std::vector<double>{1.5, -2.5, 0, 3.75}));
  EXPECT_EQ(x.to(DType::Int64).to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 0, 3}));  // truncation
  EXPECT_EQ(x.to(DType::Bool).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0, 1}));
  EXPECT_TRUE(same_storage(x.to(DType::Float32), x));  // no copy when nothing changes
  // A transposed view converts in its own (logical) row-major order.
  EXPECT_EQ(x.t().to(DType::Float64).to_vector<double>(), (std::vector<double>{1.5, 0, -2.5, 3.75}));
}

// ---- views ------------------------------------------------------------------------------

TEST(TensorView, ReshapeSharesStorageAndInfersMinusOne) {
  Tensor x = iota34();
  const Tensor r = x.reshape({2, -1});
  EXPECT_EQ(r.shape(), (Shape{2, 6}));
  EXPECT_TRUE(same_storage(r, x));
  EXPECT_EQ(x.reshape({-1}).shape(), Shape{12});
  EXPECT_EQ(x.view({4, 1, -1}).shape(), (Shape{4, 1, 3}));
  EXPECT_EQ(x.flatten().shape(), Shape{12});
  // writing through the view changes the original
  x.reshape({12}).narrow(0, 5, 1).fill_(100);
  EXPECT_EQ(x.at({1, 1}), 100.0);
}

TEST(TensorView, FlattenMergesARangeOfAxes) {
  const Tensor x = Tensor::zeros({2, 3, 4, 5});
  EXPECT_EQ(x.flatten().shape(), Shape{120});
  EXPECT_EQ(x.flatten(1).shape(), (Shape{2, 60}));
  EXPECT_EQ(x.flatten(1, 2).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(x.flatten(-3, -2).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(x.flatten(2, 2).shape(), x.shape());
  EXPECT_TRUE(same_storage(x.flatten(0, 1), x));               // a view when the strides allow
  EXPECT_EQ(Tensor::scalar(7.0).flatten().shape(), Shape{1});  // 0-d becomes [1], as torch
  // the values follow row-major order, also from a transposed (copied) input
  const Tensor t = iota34().t();  // [4,3]
  EXPECT_EQ(t.flatten().to_vector<float>(), t.contiguous().reshape({12}).to_vector<float>());
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.flatten(2, 1); },
                                                 {"flatten", "start_dim 2", "end_dim 1"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.flatten(4); }, {"flatten"}));
}

TEST(TensorView, NarrowWithANegativeStart) {
  const Tensor x = iota34();
  // as torch.narrow: start -3 of an axis of 4 is element 1
  EXPECT_EQ(x.narrow(1, -3, 2).to_vector<float>(), x.narrow(1, 1, 2).to_vector<float>());
  EXPECT_EQ(x.narrow(-1, -4, 4).to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(x.narrow(0, -1, 1).to_vector<float>(), (std::vector<float>{8, 9, 10, 11}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.narrow(1, -5, 1); }, {"narrow", "start -5"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.narrow(1, -1, 2); }, {"narrow", "[3, 5)"}));
}

TEST(TensorView, ReshapeErrors) {
  const Tensor x = iota34();
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.reshape({-1, -1}); }, {"reshape", "-1"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.reshape({5, -1}); },
                                                 {"reshape", "[5,-1]", "[3,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.reshape({5, 2}); },
                                                 {"reshape", "[3,4]", "12 elements", "[5,2]", "10 elements"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.view({2, -3}); }, {"view", "[2,-3]"}));
}

TEST(TensorView, ViewOfTransposeIsImpossibleButReshapeCopies) {
  const Tensor x = iota34();
  const Tensor t = x.t();  // [4,3] with strides [1,4]
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { t.view({12}); },
                                                 {"view", "[4,3]", "[1,4]", "[12]", "reshape()"}));
  const Tensor r = t.reshape({12});
  EXPECT_FALSE(same_storage(r, x));
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  // A transpose can still be viewed where its axes are not merged.
  const Tensor split = t.view({2, 2, 3});
  EXPECT_TRUE(same_storage(split, x));
  EXPECT_EQ(split.at({1, 0, 2}), x.at({2, 2}));
}

TEST(TensorView, ViewOfStridedSlices) {
  // A column slice keeps row stride 4: [3,2] can become [3,1,2] or [3,2,1] but not [6].
  const Tensor x = iota34();
  const Tensor c = x.narrow(1, 1, 2);
  EXPECT_TRUE(same_storage(c.view({3, 1, 2}), x));
  EXPECT_EQ(c.view({3, 2, 1}).at({2, 1, 0}), 10.0);
  EXPECT_THROW(c.view({6}), std::invalid_argument);
  EXPECT_EQ(c.reshape({6}).to_vector<float>(), (std::vector<float>{1, 2, 5, 6, 9, 10}));
  // A row slice is contiguous and views freely.
  EXPECT_TRUE(same_storage(x.narrow(0, 1, 2).view({8}), x));
  EXPECT_EQ(x.narrow(0, 1, 2).view({8}).at({0}), 4.0);
  // Expanded (stride 0) axes view as long as they are not merged with others.
  const Tensor e = Tensor::arange(0, 3).reshape({3, 1}).expand({3, 4});
  EXPECT_TRUE(same_storage(e.view({3, 2, 2}), e));
  EXPECT_EQ(e.view({3, 2, 2}).at({2, 1, 1}), 2.0);
  // Zero elements: any shape with zero elements is a view.
  EXPECT_EQ(Tensor::zeros({0, 4}).view({2, 0, 3}).shape(), (Shape{2, 0, 3}));
}

TEST(TensorView, TransposeAndPermute) {
  const Tensor x = Tensor::arange(0, 24).reshape({2, 3, 4});
  const Tensor t = x.transpose(0, 2);
  EXPECT_EQ(t.shape(), (Shape{4, 3, 2}));
  EXPECT_TRUE(same_storage(t, x));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.at({3, 1, 1}), x.at({1, 1, 3}));
  EXPECT_EQ(x.transpose(-1, -3).shape(), (Shape{4, 3, 2}));
  const Tensor p = x.permute({1, 2, 0});
  EXPECT_EQ(p.shape(), (Shape{3, 4, 2}));
  EXPECT_TRUE(same_storage(p, x));
  EXPECT_EQ(p.at({2, 3, 1}), x.at({1, 2, 3}));
  EXPECT_EQ(x.permute({-1, 0, 1}).shape(), (Shape{4, 2, 3}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.permute({0, 1}); }, {"permute", "2 axes", "[2,3,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.permute({0, 1, 1}); }, {"permute", "repeated"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.transpose(0, 3); }, {"transpose", "axis 3"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.t(); }, {"t:", "2-D", "[2,3,4]"}));
}

TEST(TensorView, NarrowSliceSelect) {
  const Tensor x = iota34();
  const Tensor n = x.narrow(1, 1, 2);
  EXPECT_EQ(n.shape(), (Shape{3, 2}));
  EXPECT_TRUE(same_storage(n, x));
  EXPECT_EQ(n.to_vector<float>(), (std::vector<float>{1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(x.narrow(-1, 3, 0).shape(), (Shape{3, 0}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.narrow(1, 3, 2); },
                                             {"narrow", "[3, 5)", "axis 1", "[3,4]"}));

  const Tensor s = x.slice(1, 0, 4, 2);
  EXPECT_TRUE(same_storage(s, x));
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(x.slice(1, -3, -1).to_vector<float>(), (std::vector<float>{1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(x.slice(0, 1, 100).shape(), (Shape{2, 4}));   // the end clamps, as in Python
  EXPECT_EQ(x.slice(0, -100, 1).shape(), (Shape{1, 4}));  // so does the start
  EXPECT_EQ(x.slice(0, 2, 1).shape(), (Shape{0, 4}));     // an empty slice, not an error
  EXPECT_EQ(x.slice(1, 1, 4, 2).to_vector<float>(), (std::vector<float>{1, 3, 5, 7, 9, 11}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.slice(0, 0, 2, 0); }, {"slice", "step"}));

  const Tensor r = x.select(0, 1);
  EXPECT_EQ(r.shape(), Shape{4});
  EXPECT_TRUE(same_storage(r, x));
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{4, 5, 6, 7}));
  EXPECT_EQ(x.select(1, -1).to_vector<float>(), (std::vector<float>{3, 7, 11}));
  EXPECT_EQ(x.select(0, 2).select(0, 3).dim(), 0);
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.select(0, 3); },
                                             {"select", "index 3", "axis 0", "size 3"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.select(1, -5); }, {"select", "-5"}));
}

TEST(TensorView, SqueezeUnsqueeze) {
  const Tensor x = Tensor::zeros({2, 1, 3, 1});
  EXPECT_EQ(x.squeeze(1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(x.squeeze(-1).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(x.squeeze().shape(), (Shape{2, 3}));
  EXPECT_TRUE(same_storage(x.squeeze(), x));
  EXPECT_EQ(x.squeeze(0).shape(), x.shape());  // size 2: left as it is, as in PyTorch

  const Tensor y = iota34();
  EXPECT_EQ(y.unsqueeze(0).shape(), (Shape{1, 3, 4}));
  EXPECT_EQ(y.unsqueeze(1).shape(), (Shape{3, 1, 4}));
  EXPECT_EQ(y.unsqueeze(-1).shape(), (Shape{3, 4, 1}));
  EXPECT_EQ(y.unsqueeze(2).shape(), (Shape{3, 4, 1}));
  EXPECT_TRUE(same_storage(y.unsqueeze(1), y));
  EXPECT_TRUE(y.unsqueeze(1).is_contiguous());
  // unsqueeze of a transposed view keeps its values
  const Tensor tu = y.t().unsqueeze(1);
  EXPECT_EQ(tu.shape(), (Shape{4, 1, 3}));
  EXPECT_EQ(tu.at({3, 0, 2}), y.at({2, 3}));
  EXPECT_EQ(tu.reshape({12}).to_vector<float>(), y.t().reshape({12}).to_vector<float>());
  EXPECT_THROW(y.unsqueeze(3), std::out_of_range);
}

TEST(TensorView, ExpandUsesStrideZero) {
  const Tensor row = Tensor::arange(0, 3).reshape({1, 3});
  const Tensor e = row.expand({4, 3});
  EXPECT_TRUE(same_storage(e, row));
  EXPECT_EQ(e.strides()[0], 0);
  EXPECT_EQ(e.at({3, 2}), 2.0);
  const Tensor lead = Tensor::arange(0, 3).expand({2, 2, 3});
  EXPECT_EQ(lead.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(lead.at({1, 1, 1}), 1.0);
  EXPECT_EQ(Tensor::scalar(7).expand({2, 2}).to_vector<float>(), std::vector<float>(4, 7.f));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { row.expand({4, 2}); }, {"expand", "[1,3]", "[4,2]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { row.expand({3}); }, {"expand", "fewer axes"}));
}

TEST(TensorView, SizeAndContiguity) {
  const Tensor x = Tensor::zeros({2, 3, 4});
  EXPECT_EQ(x.size(0), 2);
  EXPECT_EQ(x.size(-1), 4);
  EXPECT_THROW(x.size(3), std::out_of_range);
  EXPECT_TRUE(x.is_contiguous());
  EXPECT_FALSE(x.transpose(0, 1).is_contiguous());
  EXPECT_FALSE(x.narrow(2, 0, 2).is_contiguous());
  EXPECT_TRUE(x.narrow(0, 1, 1).is_contiguous());
  EXPECT_TRUE(Tensor::zeros({3, 1}).t().is_contiguous());  // size-1 axes do not matter
}

// ---- copies -------------------------------------------------------------------------------

TEST(TensorCopy, ContiguousCopiesOnlyWhenNeeded) {
  const Tensor x = iota34();
  EXPECT_TRUE(same_storage(x.contiguous(), x));
  EXPECT_TRUE(same_storage(x.narrow(0, 1, 2).contiguous(), x));
  const Tensor c = x.t().contiguous();
  EXPECT_FALSE(same_storage(c, x));
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
}

TEST(TensorCopy, CloneIsIndependent) {
  Tensor x = iota34();
  Tensor c = x.clone();
  EXPECT_FALSE(same_storage(c, x));
  EXPECT_EQ(c.to_vector<float>(), x.to_vector<float>());
  c.fill_(-1);
  EXPECT_EQ(x.at({0, 1}), 1.0);
  const Tensor ct = x.t().clone();
  EXPECT_TRUE(ct.is_contiguous());
  EXPECT_EQ(ct.at({3, 2}), 11.0);
}

// ---- in place ------------------------------------------------------------------------------

TEST(TensorInPlace, FillOnlyTouchesTheView) {
  Tensor x = iota34();
  x.slice(1, 0, 4, 2).fill_(-1);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{-1, 1, -1, 3, -1, 5, -1, 7, -1, 9, -1, 11}));
  x.zero_();
  EXPECT_EQ(x.to_vector<float>(), std::vector<float>(12, 0.f));
  Tensor b = Tensor::zeros({3}, DType::Bool);
  b.fill_(1);
  EXPECT_EQ(b.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1}));
}

TEST(TensorInPlace, CopyBroadcastsIntoViews) {
  Tensor x = Tensor::zeros({3, 4});
  x.narrow(1, 1, 2).copy_(f32({1, 2}, {2}));
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{0, 1, 2, 0, 0, 1, 2, 0, 0, 1, 2, 0}));
  Tensor y = Tensor::zeros({4, 3});
  y.copy_(iota34().t());  // a transposed source
  EXPECT_EQ(y.to_vector<float>(), iota34().t().contiguous().to_vector<float>());
  Tensor z = Tensor::zeros({4, 3});
  z.t().copy_(iota34());  // a transposed destination
  EXPECT_EQ(z.to_vector<float>(), y.to_vector<float>());
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.copy_(Tensor::zeros({3, 4}, DType::Float64)); },
                                                 {"copy_", "float64", "float32"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.copy_(Tensor::zeros({5})); }, {"expand", "[5]", "[3,4]"}));
}

TEST(TensorInPlace, AddMul) {
  Tensor x = f64({1, 2, 3, 4}, {2, 2});
  x.add_(f64({10, 20}, {2}), 0.5);
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{6, 12, 8, 14}));
  x.mul_(2.0);
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{12, 24, 16, 28}));
  x.mul_(f64({1, 0.5}, {2, 1}));
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{12, 24, 8, 14}));
  // in place through a transposed view
  x.t().add_(f64({1, 2, 3, 4}, {2, 2}));
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{13, 27, 10, 18}));
  x.t().mul_(f64({1, 2, 3, 4}, {2, 2}));
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{13, 81, 20, 72}));
  Tensor n = Tensor::zeros({2}, DType::Int64);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { n.mul_(2.0); }, {"mul_", "int64"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.add_(Tensor::zeros({2, 2})); },
                                                 {"add_", "float32", "float64"}));
}

// ---- access --------------------------------------------------------------------------------

TEST(TensorAccess, ItemAtToVector) {
  const Tensor x = iota34();
  EXPECT_EQ(x.at({2, 3}), 11.0);
  EXPECT_EQ(x.t().at({3, 2}), 11.0);
  EXPECT_EQ(x.narrow(0, 1, 1).narrow(1, 2, 1).item(), 6.0);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.item(); }, {"item", "[3,4]", "12 elements"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.at({3, 0}); }, {"at", "[3,0]", "[3,4]"}));
  EXPECT_EQ(x.at({0, -1}), 3.0);  // negative indices count from the end
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { x.at({0, -5}); }, {"at", "[0,-5]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { x.at({1}); }, {"at", "[1]", "[3,4]"}));
  EXPECT_EQ(x.t().to_vector<int64_t>(), (std::vector<int64_t>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(x.slice(1, 1, 4, 2).to_vector<double>(), (std::vector<double>{1, 3, 5, 7, 9, 11}));
}

// ---- printing ------------------------------------------------------------------------------

TEST(TensorPrint, LikeNumpy) {
  EXPECT_EQ(Tensor::arange(0, 4).reshape({2, 2}).str(),
            "tensor([[0.0000, 1.0000],\n"
            "        [2.0000, 3.0000]], shape=[2,2], dtype=float32)");
  EXPECT_EQ(f64({-1.5, 10, 0.25}, {3}).str(),
            "tensor([-1.5000, 10.0000,  0.2500], shape=[3], dtype=float64)");
  EXPECT_EQ(i64({1, -20, 300}, {3}).str(), "tensor([  1, -20, 300], shape=[3], dtype=int64)");
  EXPECT_EQ(Tensor::from_list({1, 0}, {2}, DType::Bool).str(),
            "tensor([ True, False], shape=[2], dtype=bool)");
  EXPECT_EQ(Tensor::scalar(2.5).str(), "tensor(2.5000, shape=[], dtype=float32)");
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(f64({std::nan(""), inf, -inf}, {3}).str(),
            "tensor([ nan,  inf, -inf], shape=[3], dtype=float64)");
  // 3-D: blocks are separated by a blank line
  EXPECT_EQ(Tensor::arange(0, 8, 1, DType::Int64).reshape({2, 2, 2}).str(),
            "tensor([[[0, 1],\n"
            "         [2, 3]],\n"
            "\n"
            "        [[4, 5],\n"
            "         [6, 7]]], shape=[2,2,2], dtype=int64)");
  // a view prints its own elements
  EXPECT_EQ(i64({1, 2, 3, 4}, {2, 2}).t().str(),
            "tensor([[1, 3],\n"
            "        [2, 4]], shape=[2,2], dtype=int64)");
  EXPECT_EQ(Tensor::zeros({0, 3}).str(), "tensor([], shape=[0,3], dtype=float32)");
  EXPECT_EQ(Tensor().str(), "tensor(undefined)");
  std::ostringstream os;
  os << i64({5}, {1});
  EXPECT_EQ(os.str(), "tensor([5], shape=[1], dtype=int64)");
}

TEST(TensorPrint, ElidesAbove1000Elements) {
  // exactly 1000 elements: printed in full
  const std::string full = Tensor::arange(0, 1000, 1, DType::Int64).str();
  EXPECT_EQ(full.find("..."), std::string::npos);
  EXPECT_NE(full.find(" 500,"), std::string::npos);
  // 1001: three items at each end
  EXPECT_EQ(Tensor::arange(0, 1001, 1, DType::Int64).str(),
            "tensor([   0,    1,    2, ...,  998,  999, 1000], shape=[1001], dtype=int64)");
  // 2-D: every long axis is elided, rows and columns alike
  EXPECT_EQ(Tensor::arange(0, 1600, 1, DType::Int64).reshape({40, 40}).str(),
            "tensor([[   0,    1,    2, ...,   37,   38,   39],\n"
            "        [  40,   41,   42, ...,   77,   78,   79],\n"
            "        [  80,   81,   82, ...,  117,  118,  119],\n"
            "        ...,\n"
            "        [1480, 1481, 1482, ..., 1517, 1518, 1519],\n"
            "        [1520, 1521, 1522, ..., 1557, 1558, 1559],\n"
            "        [1560, 1561, 1562, ..., 1597, 1598, 1599]], shape=[40,40], dtype=int64)");
  // Column widths come from the printed elements only, as in numpy: the hidden
  // 123456 does not widen the columns.
  Tensor x = Tensor::zeros({1001}, DType::Int64);
  x.narrow(0, 500, 1).fill_(123456);
  EXPECT_EQ(x.str(), "tensor([0, 0, 0, ..., 0, 0, 0], shape=[1001], dtype=int64)");
}

TEST(TensorPrint, ElisionIn3DKeepsBlankLines) {
  const std::string s = Tensor::arange(0, 1008, 1, DType::Int64).reshape({8, 9, 14}).str();
  // numpy puts a blank line on both sides of an elided block of matrices
  EXPECT_NE(s.find("]],\n\n        ...,\n\n        [["), std::string::npos) << s;
  EXPECT_NE(s.find("         ...,\n"), std::string::npos) << s;  // elided rows inside a block
}

}  // namespace
}  // namespace minigrad
