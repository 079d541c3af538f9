// Joining, splitting and indexing: concat/stack/split, index_select/gather and
// their accumulating inverses index_add/scatter_add, one_hot.
#include <gtest/gtest.h>

#include <stdexcept>

#include "minigrad/tensor/ops.h"
#include "testing.h"

namespace minigrad {
namespace {

using testing::f64;
using testing::for_each_index;
using testing::i64;
using testing::same_storage;
using testing::throws_with;
using testing::uniform;

// [[0,1,2],[3,4,5]] as float64
Tensor iota23() { return Tensor::arange(0, 6, 1, DType::Float64).reshape({2, 3}); }

// <x, y> = Σ x·y, for the adjoint identities below
double dot(const Tensor& x, const Tensor& y) { return sum(mul(x, y)).item(); }

// ---- concat / stack / split ----------------------------------------------------------------

TEST(Index, Concat) {
  const Tensor a = iota23(), b = f64({6, 7, 8, 9, 10, 11}, {2, 3});
  EXPECT_EQ(concat({a, b}, 0).to_vector<double>(), (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(concat({a, b}, 0).shape(), (Shape{4, 3}));
  const Tensor c = concat({a, f64({9, 9}, {2, 1}), b}, -1);
  EXPECT_EQ(c.shape(), (Shape{2, 7}));
  EXPECT_EQ(c.to_vector<double>(), (std::vector<double>{0, 1, 2, 9, 6, 7, 8, 3, 4, 5, 9, 9, 10, 11}));
  // strided inputs and a zero-size piece
  const Tensor d = concat({a.t(), Tensor::zeros({0, 2}, DType::Float64), b.t()}, 0);
  EXPECT_EQ(d.shape(), (Shape{6, 2}));
  EXPECT_EQ(d.to_vector<double>(), (std::vector<double>{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}));
  EXPECT_FALSE(same_storage(concat({a}, 0), a));  // always a new tensor
  // int64 too (no arithmetic involved)
  EXPECT_EQ(concat({i64({1}, {1}), i64({2, 3}, {2})}, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3}));
}

TEST(Index, ConcatErrors) {
  const Tensor a = iota23();
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { concat({a, Tensor::zeros({3, 3}, DType::Float64)}, 1); },
                                                 {"concat", "tensor 1", "[3,3]", "[2,3]", "axis 1"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { concat({a, Tensor::zeros({2, 3})}, 0); },
                                                 {"concat", "float32", "float64"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { concat({a, Tensor::zeros({6}, DType::Float64)}, 0); },
                                                 {"concat", "tensor 1", "[6]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { concat({}, 0); }, {"concat", "no tensors"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { concat({a, a}, 2); }, {"concat", "axis 2"}));
}

TEST(Index, Stack) {
  const Tensor a = iota23(), b = add(iota23(), 10.0);
  const Tensor s0 = stack({a, b}, 0);
  EXPECT_EQ(s0.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(s0.select(0, 1).to_vector<double>(), b.to_vector<double>());
  const Tensor s1 = stack({a, b}, 1);
  EXPECT_EQ(s1.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(s1.select(1, 0).to_vector<double>(), a.to_vector<double>());
  const Tensor s2 = stack({a, b, a}, -1);
  EXPECT_EQ(s2.shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(s2.select(2, 1).to_vector<double>(), b.to_vector<double>());
  EXPECT_EQ(stack({a.t(), b.t()}, 0).select(0, 0).to_vector<double>(), a.t().to_vector<double>());
  EXPECT_EQ(stack({Tensor::scalar(1), Tensor::scalar(2)}, 0).to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { stack({a, a.t()}, 0); },
                                                 {"stack", "tensor 1", "[3,2]", "[2,3]"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { stack({a}, 3); }, {"stack", "axis 3"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { stack({}, 0); }, {"stack", "no tensors"}));
}

TEST(Index, SplitGivesViews) {
  const Tensor x = Tensor::arange(0, 12, 1, DType::Float64).reshape({2, 6});
  const std::vector<Tensor> parts = split(x, {1, 3, 2}, 1);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].shape(), (Shape{2, 3}));
  EXPECT_TRUE(same_storage(parts[1], x));
  EXPECT_EQ(parts[1].to_vector<double>(), (std::vector<double>{1, 2, 3, 7, 8, 9}));
  EXPECT_EQ(parts[2].to_vector<double>(), (std::vector<double>{4, 5, 10, 11}));
  EXPECT_EQ(concat(parts, 1).to_vector<double>(), x.to_vector<double>());
  const std::vector<Tensor> chunks = split(x, 4, -1);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].shape(), (Shape{2, 4}));
  EXPECT_EQ(chunks[1].shape(), (Shape{2, 2}));  // the last chunk is smaller
  EXPECT_EQ(split(x, 1, 0).size(), 2u);
  EXPECT_EQ(split(x, {0, 6}, 1)[0].shape(), (Shape{2, 0}));
  EXPECT_EQ(testing::message_of([&] { split(x, {2, 3}, 1); }),
            "split: sizes add up to 5 but axis 1 of [2,6] has 6");
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { split(x, {7, -1}, 1); }, {"split", "negative size -1"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { split(x, int64_t{0}, 1); }, {"split", "chunk", "0"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { split(x, 2, 2); }, {"split", "axis 2"}));
}

// ---- index_select / index_add ------------------------------------------------------------------

TEST(Index, IndexSelect) {
  const Tensor w = Tensor::arange(0, 12, 1, DType::Float64).reshape({4, 3});
  // an embedding lookup with a repeated id
  const Tensor rows = index_select(w, 0, i64({2, 0, 2}, {3}));
  EXPECT_EQ(rows.shape(), (Shape{3, 3}));
  EXPECT_EQ(rows.to_vector<double>(), (std::vector<double>{6, 7, 8, 0, 1, 2, 6, 7, 8}));
  const Tensor cols = index_select(w, -1, i64({1, 1}, {2}));
  EXPECT_EQ(cols.to_vector<double>(), (std::vector<double>{1, 1, 4, 4, 7, 7, 10, 10}));
  EXPECT_EQ(index_select(w.t(), 1, i64({3}, {1})).to_vector<double>(), (std::vector<double>{9, 10, 11}));
  EXPECT_EQ(index_select(w, 0, i64({}, {0})).shape(), (Shape{0, 3}));
  // a strided index
  EXPECT_EQ(index_select(w, 0, i64({3, 9, 1, 9}, {2, 2}).select(1, 0)).to_vector<double>(),
            (std::vector<double>{9, 10, 11, 3, 4, 5}));
}

TEST(Index, IndexSelectErrors) {
  const Tensor w = Tensor::zeros({4, 3});
  EXPECT_EQ(testing::message_of([&] { index_select(w, 0, i64({1, 4}, {2})); }),
            "index_select: index 4 is out of range for axis 0 of size 4 (tensor shape [4,3])");
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { index_select(w, 1, i64({-1}, {1})); },
                                             {"index_select", "index -1", "axis 1", "size 3"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { index_select(w, 0, Tensor::zeros({2})); },
                                                 {"index_select", "int64", "float32"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { index_select(w, 0, i64({0, 1}, {1, 2})); },
                                                 {"index_select", "1-D", "[1,2]"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { index_select(w, 2, i64({0}, {1})); }, {"index_select", "axis 2"}));
}

TEST(Index, IndexAddIsTheAdjointOfIndexSelect) {
  const Tensor idx = i64({2, 0, 2, 3}, {4});
  const Tensor g = f64({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2});
  const Tensor acc = index_add({5, 2}, 0, idx, g);
  // rows 0 and 2 receive, row 2 twice; rows 1 and 4 stay zero
  EXPECT_EQ(acc.to_vector<double>(), (std::vector<double>{3, 4, 0, 0, 6, 8, 7, 8, 0, 0}));
  // <index_select(x), g> = <x, index_add(g)>
  const Tensor x = uniform({5, 2}, 1);
  EXPECT_NEAR(dot(index_select(x, 0, idx), g), dot(x, acc), 1e-12);
  const Tensor g1 = uniform({3, 4}, 2);
  const Tensor x1 = uniform({3, 6}, 3);
  EXPECT_NEAR(dot(index_select(x1, 1, idx), g1), dot(x1, index_add({3, 6}, 1, idx, g1)), 1e-12);
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { index_add({3, 2}, 0, idx, g); }, {"index_add", "index 3", "size 3"}));
  // a source that does not fit the index is refused, not read partly
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { index_add({5, 2}, 0, idx, uniform({5, 2}, 4)); },
                                                 {"index_add", "[5,2]", "[4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { index_add({5, 2}, 0, idx, uniform({4, 3}, 5)); },
                                                 {"index_add", "[4,3]", "expected source [4,2]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { index_add({5, 2}, 0, i64({0, 1}, {1, 2}), uniform({2, 2}, 6)); },
                                                 {"index_add", "1-D"}));
}

// ---- gather / scatter_add ----------------------------------------------------------------------

TEST(Index, GatherMatchesTorchSemantics) {
  const Tensor a = Tensor::arange(0, 12, 1, DType::Float64).reshape({3, 4});
  // axis 1: out[i][j] = a[i][index[i][j]]
  const Tensor idx1 = i64({3, 0, 1, 1, 2, 2}, {3, 2});
  const Tensor g1 = gather(a, 1, idx1);
  EXPECT_EQ(g1.shape(), (Shape{3, 2}));
  EXPECT_EQ(g1.to_vector<double>(), (std::vector<double>{3, 0, 5, 5, 10, 10}));
  // axis 0 with an index smaller than a in the other axis: out[i][j] = a[index[i][j]][j]
  const Tensor idx0 = i64({2, 1, 0, 0, 0, 2}, {2, 3});
  EXPECT_EQ(gather(a, 0, idx0).to_vector<double>(), (std::vector<double>{8, 5, 2, 0, 1, 10}));
  // a transposed source, and the cross-entropy pattern: pick the target class per row
  EXPECT_EQ(gather(a.t(), 1, i64({2, 0, 1, 2}, {4, 1})).to_vector<double>(), (std::vector<double>{8, 1, 6, 11}));
  // 3-D against the definition
  const Tensor b = uniform({2, 3, 4}, 5);
  const Tensor idx = randint(0, 3, {2, 5, 4});
  const Tensor gb = gather(b, 1, idx);
  for_each_index(gb.shape(), [&](const Shape& i) {
    EXPECT_EQ(gb.at(i), b.at({i[0], static_cast<int64_t>(idx.at(i)), i[2]}));
  });
}

TEST(Index, ScatterAddIsTheAdjointOfGather) {
  const Tensor idx = i64({1, 1, 0, 2}, {2, 2});
  const Tensor src = f64({1, 2, 3, 4}, {2, 2});
  // repeated positions accumulate: row 0 gets 1+2 at column 1
  EXPECT_EQ(scatter_add({2, 3}, 1, idx, src).to_vector<double>(), (std::vector<double>{0, 3, 0, 3, 0, 4}));
  const Tensor x = uniform({3, 5, 2}, 7), g = uniform({3, 4, 2}, 8);
  const Tensor id = randint(0, 5, {3, 4, 2});
  EXPECT_NEAR(dot(gather(x, 1, id), g), dot(x, scatter_add({3, 5, 2}, 1, id, g)), 1e-12);
  // a strided source
  EXPECT_EQ(scatter_add({2, 3}, 1, idx, src.t().t()).to_vector<double>(),
            scatter_add({2, 3}, 1, idx, src).to_vector<double>());
}

TEST(Index, GatherScatterErrors) {
  const Tensor a = Tensor::zeros({3, 4}, DType::Float64);
  EXPECT_EQ(testing::message_of([&] { gather(a, 1, i64({0, 4}, {1, 2})); }),
            "gather: index 4 is out of range for axis 1 of size 4 (tensor shape [3,4])");
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { gather(a, 1, i64({0, 1, 2, 3}, {4, 1})); },
                                                 {"gather", "[4,1]", "[3,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { gather(a, 1, i64({0}, {1})); }, {"gather", "[1]", "[3,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { gather(a, 0, Tensor::zeros({1, 1})); }, {"gather", "int64"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([&] { scatter_add({3, 4}, 0, i64({3}, {1, 1}), f64({1}, {1, 1})); },
                                             {"scatter_add", "index 3", "size 3"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { scatter_add({3, 4}, 0, i64({0, 1}, {1, 2}), f64({1}, {1, 1})); },
      {"scatter_add", "[1,1]", "[1,2]"}));
}

// ---- int64 and bool data ------------------------------------------------------------------------

// A data pipeline indexes token ids and masks: every indexing op moves int64 and bool
// values as they are.
TEST(Index, IntegerAndBoolTensors) {
  const Tensor m = i64({4, 1, 9, 2, 8, 3}, {2, 3});
  const Tensor idx = i64({2, 0, 2}, {3});
  const Tensor s = index_select(m, 1, idx);
  EXPECT_EQ(s.dtype(), DType::Int64);
  EXPECT_EQ(s.to_vector<int64_t>(), (std::vector<int64_t>{9, 4, 9, 3, 2, 3}));
  EXPECT_EQ(index_select(m, 0, i64({1}, {1})).to_vector<int64_t>(),
            (std::vector<int64_t>{2, 8, 3}));
  const Tensor g = gather(m, 1, i64({2, 0, 1, 1}, {2, 2}));
  EXPECT_EQ(g.dtype(), DType::Int64);
  EXPECT_EQ(g.to_vector<int64_t>(), (std::vector<int64_t>{9, 4, 8, 8}));
  EXPECT_EQ(m.select(1, -1).to_vector<int64_t>(), (std::vector<int64_t>{9, 3}));
  EXPECT_EQ(m.slice(1, 1, 3).to_vector<int64_t>(), (std::vector<int64_t>{1, 9, 8, 3}));
  EXPECT_EQ(concat({m, m}, 0).dtype(), DType::Int64);
  const Tensor b = gt(m, 3);
  EXPECT_EQ(index_select(b, 1, idx).dtype(), DType::Bool);
  EXPECT_EQ(index_select(b.t(), 0, idx).to_vector<int64_t>(),
            (std::vector<int64_t>{1, 0, 1, 0, 1, 0}));
  EXPECT_EQ(gather(b, 0, i64({1, 0, 1}, {1, 3})).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(argmax(m, 1).to_vector<int64_t>(), (std::vector<int64_t>{2, 1}));
  // one_hot of ids, summed per row: a bag of words in int64
  EXPECT_EQ(sum(one_hot(idx, 3), {0}).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 2}));
}

// ---- one_hot -------------------------------------------------------------------------------------

TEST(Index, OneHot) {
  const Tensor o = one_hot(i64({2, 0, 1, 2}, {2, 2}), 3);
  EXPECT_EQ(o.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(o.dtype(), DType::Int64);  // torch.nn.functional.one_hot's dtype
  EXPECT_EQ(o.to_vector<double>(), (std::vector<double>{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(one_hot(i64({1, 0}, {2}).to(DType::Int64), 2, DType::Float64).to_vector<double>(),
            (std::vector<double>{0, 1, 1, 0}));
  EXPECT_EQ(one_hot(i64({3, 9, 0, 9}, {2, 2}).select(1, 0), 4).to_vector<double>(),
            (std::vector<double>{0, 0, 0, 1, 1, 0, 0, 0}));
  EXPECT_TRUE(throws_with<std::out_of_range>([] { one_hot(i64({3}, {1}), 3); }, {"one_hot", "index 3", "size 3"}));
  EXPECT_TRUE(throws_with<std::out_of_range>([] { one_hot(i64({-1}, {1}), 3); }, {"one_hot", "index -1"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { one_hot(i64({0}, {1}), 0); }, {"one_hot", "num_classes"}));
  // num_classes = -1 (the default) takes one more than the largest index, as PyTorch
  const Tensor inferred = one_hot(i64({1, 3}, {2}));
  EXPECT_EQ(inferred.shape(), (Shape{2, 4}));
  EXPECT_EQ(inferred.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(one_hot(i64({1}, {1}), 2, DType::Bool).dtype(), DType::Bool);
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([] { one_hot(i64({}, {0})); }, {"one_hot", "infer"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { one_hot(Tensor::zeros({1}), 2); }, {"one_hot", "int64"}));
}

}  // namespace
}  // namespace minigrad
