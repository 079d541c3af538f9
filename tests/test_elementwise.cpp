// Element-wise kernels against a naive element-by-element computation, on every
// operand layout the strided loop has a path for: contiguous, broadcast, rank 0,
// transposed, offset and strided views, stride-0 expansions, and tensors large
// enough to take the OpenMP path.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "minigrad/tensor/ops.h"
#include "testing.h"

namespace minigrad {
namespace {

using testing::broadcast_at;
using testing::f32;
using testing::f64;
using testing::for_each_index;
using testing::i64;
using testing::throws_with;
using testing::uniform;

struct Operands {
  std::string name;
  Tensor a, b;
};

// Values in [0.5, 2): positive, so that div, pow and log are all defined.
std::vector<Operands> binary_cases(DType dt) {
  uint64_t seed = 1;
  auto u = [&](const Shape& s) { return uniform(s, seed++, 0.5, 2.0, dt); };
  const Tensor base = u({5, 6});
  return {
      {"same shape", u({3, 4}), u({3, 4})},
      {"[2,3] and [3]", u({2, 3}), u({3})},
      {"[2,1,4] and [3,1]", u({2, 1, 4}), u({3, 1})},
      {"[3] and [2,3]", u({3}), u({2, 3})},
      {"rank 0 and [2,3]", u({}), u({2, 3})},
      {"[2,3] and rank 0", u({2, 3}), u({})},
      {"transposed and contiguous", u({4, 3}).t(), u({3, 4})},
      {"contiguous and transposed", u({3, 4}), u({4, 3}).t()},
      {"offset views", base.narrow(1, 1, 4).narrow(0, 2, 3), u({3, 8}).slice(1, 0, 8, 2)},
      {"expanded", u({3, 1}).expand({3, 4}), u({4})},
      {"permuted 3-D and broadcast", u({2, 3, 4}).permute({2, 0, 1}), u({4, 1, 3})},
      {"large, same shape", u({300, 250}), u({300, 250})},
      {"empty", u({0, 3}), u({3})},
  };
}

// result must equal f(a, b) computed element by element in the tensor's own type.
template <class T, class F>
void expect_binary(const char* op, const Tensor& result, const Operands& c, F f, double tol = 0) {
  const Shape shape = broadcast_shapes(c.a.shape(), c.b.shape(), "test");
  ASSERT_EQ(result.shape(), shape) << op << " on " << c.name;
  ASSERT_EQ(result.dtype(), c.a.dtype());
  ASSERT_TRUE(result.is_contiguous());
  int bad = 0;
  for_each_index(shape, [&](const Shape& idx) {
    const T x = static_cast<T>(broadcast_at(c.a, idx)), y = static_cast<T>(broadcast_at(c.b, idx));
    const double want = static_cast<double>(static_cast<T>(f(x, y)));
    const double got = result.at(idx);
    if (!(std::abs(got - want) <= tol * std::abs(want)) && bad++ < 3) {
      ADD_FAILURE() << op << " on " << c.name << " at " << idx << ": " << got << " vs " << want;
    }
  });
}

template <class T>
void check_all_binary_ops(DType dt) {
  for (const Operands& c : binary_cases(dt)) {
    expect_binary<T>("add", add(c.a, c.b), c, [](T x, T y) { return x + y; });
    expect_binary<T>("sub", sub(c.a, c.b), c, [](T x, T y) { return x - y; });
    expect_binary<T>("mul", mul(c.a, c.b), c, [](T x, T y) { return x * y; });
    expect_binary<T>("div", div(c.a, c.b), c, [](T x, T y) { return x / y; });
    expect_binary<T>("pow", pow(c.a, c.b), c, [](T x, T y) { return std::pow(x, y); });
    expect_binary<T>("maximum", maximum(c.a, c.b), c, [](T x, T y) { return std::max(x, y); });
    expect_binary<T>("minimum", minimum(c.a, c.b), c, [](T x, T y) { return std::min(x, y); });
  }
}

TEST(Elementwise, BinaryOpsFloat32) { check_all_binary_ops<float>(DType::Float32); }
TEST(Elementwise, BinaryOpsFloat64) { check_all_binary_ops<double>(DType::Float64); }

TEST(Elementwise, Operators) {
  const Operands c = binary_cases(DType::Float64)[2];
  expect_binary<double>("operator+", c.a + c.b, c, [](double x, double y) { return x + y; });
  expect_binary<double>("operator-", c.a - c.b, c, [](double x, double y) { return x - y; });
  expect_binary<double>("operator*", c.a * c.b, c, [](double x, double y) { return x * y; });
  expect_binary<double>("operator/", c.a / c.b, c, [](double x, double y) { return x / y; });
}

TEST(Elementwise, InputsAreUntouched) {
  const Tensor a = uniform({3, 4}, 1), b = uniform({4}, 2);
  const std::vector<double> a0 = a.to_vector<double>(), b0 = b.to_vector<double>();
  (void)add(a, b);
  (void)exp(a);
  (void)where(gt(a, 0.0), a, b);
  EXPECT_EQ(a.to_vector<double>(), a0);
  EXPECT_EQ(b.to_vector<double>(), b0);
}

// ---- with a scalar and unary ----------------------------------------------------------------

template <class T, class F>
void expect_unary(const char* op, const Tensor& result, const Tensor& x, F f, double tol = 0) {
  ASSERT_EQ(result.shape(), x.shape()) << op;
  ASSERT_EQ(result.dtype(), x.dtype()) << op;
  int bad = 0;
  for_each_index(x.shape(), [&](const Shape& idx) {
    const double want = static_cast<double>(static_cast<T>(f(static_cast<T>(x.at(idx)))));
    const double got = result.at(idx);
    const bool same = std::isnan(want) ? std::isnan(got) : std::abs(got - want) <= tol * std::abs(want);
    if (!same && bad++ < 3) ADD_FAILURE() << op << " at " << idx << ": " << got << " vs " << want;
  });
}

template <class T>
void check_unary_and_scalar_ops(DType dt) {
  // a transposed view of values in [-3, 3), and one of positive values
  const Tensor x = uniform({7, 5}, 11, -3.0, 3.0, dt).t();
  const Tensor p = uniform({7, 5}, 12, 0.1, 4.0, dt).t();
  ASSERT_FALSE(x.is_contiguous());
  const T s = static_cast<T>(1.75);
  expect_unary<T>("add", add(x, 1.75), x, [s](T v) { return v + s; });
  expect_unary<T>("sub", sub(x, 1.75), x, [s](T v) { return v - s; });
  expect_unary<T>("rsub", rsub(1.75, x), x, [s](T v) { return s - v; });
  expect_unary<T>("mul", mul(x, 1.75), x, [s](T v) { return v * s; });
  expect_unary<T>("div", div(x, 1.75), x, [s](T v) { return v / s; });
  expect_unary<T>("rdiv", rdiv(1.75, p), p, [s](T v) { return s / v; });
  expect_unary<T>("2 - x", 2.0 - x, x, [](T v) { return T(2) - v; });
  expect_unary<T>("2 / x", 2.0 / p, p, [](T v) { return T(2) / v; });
  expect_unary<T>("2 * x", 2.0 * x, x, [](T v) { return v * T(2); });
  expect_unary<T>("x + 2", x + 2.0, x, [](T v) { return v + T(2); });
  expect_unary<T>("pow 2", pow(x, 2.0), x, [](T v) { return v * v; });
  // PyTorch's pow_tensor_scalar forms for the exponents that have one
  expect_unary<T>("pow 3", pow(x, 3.0), x, [](T v) { return v * v * v; });
  expect_unary<T>("pow 0.5", pow(p, 0.5), p, [](T v) { return std::sqrt(v); });
  expect_unary<T>("pow -0.5", pow(p, -0.5), p, [](T v) { return T(1) / std::sqrt(v); });
  expect_unary<T>("pow -1", pow(x, -1.0), x, [](T v) { return T(1) / v; });
  expect_unary<T>("pow -2", pow(x, -2), x, [](T v) { return T(1) / (v * v); });
  expect_unary<T>("pow 0", pow(x, 0), x, [](T) { return T(1); });
  expect_unary<T>("x * 2 (an integer)", x * 2, x, [](T v) { return v * T(2); });
  expect_unary<T>("pow -1.5", pow(p, -1.5), p, [](T v) { return std::pow(v, T(-1.5)); });
  expect_unary<T>("neg", neg(x), x, [](T v) { return -v; });
  expect_unary<T>("-x", -x, x, [](T v) { return -v; });
  // exp, tanh and sigmoid in float are tensor/fast_math.h's, within 2 ulps of the
  // exact value (tests/test_fast_math.cpp); in double they are libm's, bit for bit.
  const double transcendental_tol = std::is_same_v<T, float> ? 2 * 0x1.0p-23 : 0;
  expect_unary<T>("exp", exp(x), x, [](T v) { return std::exp(v); }, transcendental_tol);
  expect_unary<T>("log", log(p), p, [](T v) { return std::log(v); });
  expect_unary<T>("log of negatives", log(x), x, [](T v) { return std::log(v); });
  expect_unary<T>("sqrt", sqrt(p), p, [](T v) { return std::sqrt(v); });
  expect_unary<T>("tanh", tanh(x), x, [](T v) { return std::tanh(v); }, transcendental_tol);
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-15;
  expect_unary<T>("sigmoid", sigmoid(x), x, [](T v) { return T(1) / (T(1) + std::exp(-v)); }, tol);
  expect_unary<T>("relu", relu(x), x, [](T v) { return v < 0 ? T(0) : v; });
  expect_unary<T>("abs", abs(x), x, [](T v) { return std::abs(v); });
  expect_unary<T>("sign", sign(x), x, [](T v) { return static_cast<T>((v > 0) - (v < 0)); });
}

TEST(Elementwise, UnaryAndScalarOpsFloat32) { check_unary_and_scalar_ops<float>(DType::Float32); }
TEST(Elementwise, UnaryAndScalarOpsFloat64) { check_unary_and_scalar_ops<double>(DType::Float64); }

// 1025 × 1024 elements: above the 2^20 from which element-wise ops use threads.
TEST(Elementwise, LargeUnaryTakesTheParallelPath) {
  const Tensor x = uniform({1025, 1024}, 5, -2, 2, DType::Float32);
  const double tol = 2 * 0x1.0p-23;  // 2 ulps: tensor/fast_math.h
  expect_unary<float>("exp", exp(x), x, [](float v) { return std::exp(v); }, tol);
  expect_unary<float>("exp of a transpose", exp(x.t()), x.t(), [](float v) { return std::exp(v); }, tol);
}

TEST(Elementwise, EdgeValues) {
  const double inf = std::numeric_limits<double>::infinity();
  // sigmoid neither overflows nor loses the sign for large |x|
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor s = sigmoid(Tensor::from_list({-1000, -100, 0, 100, 1000}, {5}, dt));
    EXPECT_TRUE(all_finite(s));
    EXPECT_EQ(s.at({0}), 0.0);
    EXPECT_GE(s.at({1}), 0.0);
    EXPECT_EQ(s.at({2}), 0.5);
    EXPECT_EQ(s.at({3}), 1.0);
    EXPECT_EQ(s.at({4}), 1.0);
  }
  EXPECT_EQ(sign(f64({-0.0, 0.0, -2, 3}, {4})).to_vector<double>(), (std::vector<double>{0, 0, -1, 1}));
  EXPECT_EQ(relu(f64({-inf, inf}, {2})).to_vector<double>(), (std::vector<double>{0, inf}));
  // relu keeps NaN and −0, as torch.relu (clamp_min) does
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor r = relu(Tensor::from_list({std::nan(""), -0.0, -1.0}, {3}, dt));
    EXPECT_TRUE(std::isnan(r.at({0})));
    EXPECT_TRUE(std::signbit(r.at({1})));
    EXPECT_EQ(r.at({2}), 0.0);
    EXPECT_FALSE(std::signbit(r.at({2})));
  }
  // pow(x, p) at ±0 takes PyTorch's special forms: √−0 = −0, 1/√−0 = −inf
  const Tensor z = f64({-0.0, 0.0}, {2});
  EXPECT_TRUE(std::signbit(pow(z, 0.5).at({0})));
  EXPECT_EQ(pow(z, -0.5).to_vector<double>(), (std::vector<double>{-inf, inf}));
  EXPECT_EQ(pow(z, -1).to_vector<double>(), (std::vector<double>{-inf, inf}));
  EXPECT_EQ(pow(z, 0).to_vector<double>(), (std::vector<double>{1, 1}));
  EXPECT_EQ(log(f64({0}, {1})).item(), -inf);
}

TEST(Elementwise, MaximumMinimumPropagateNaN) {
  const double nan = std::nan("");
  const Tensor a = f64({nan, 1, 2}, {3}), b = f64({1, nan, 0}, {3});
  for (const Tensor& r : {maximum(a, b), minimum(a, b), maximum(b, a), minimum(b, a)}) {
    EXPECT_TRUE(std::isnan(r.at({0})));
    EXPECT_TRUE(std::isnan(r.at({1})));
    EXPECT_FALSE(std::isnan(r.at({2})));
  }
  EXPECT_EQ(maximum(a, b).at({2}), 2.0);
  EXPECT_EQ(minimum(a, b).at({2}), 0.0);
}

// ---- int64, bool and type promotion -------------------------------------------------------

// torch.result_type: tensors with axes outrank 0-d tensors, which outrank numbers, each
// only within its category (bool < integer < floating).
TEST(Elementwise, ResultTypeFollowsPyTorch) {
  const Tensor f = Tensor::zeros({2}), d = Tensor::zeros({2}, DType::Float64);
  const Tensor i = Tensor::zeros({2}, DType::Int64), b = Tensor::zeros({2}, DType::Bool);
  const Tensor zf = Tensor::scalar(1), zd = Tensor::scalar(1, DType::Float64);
  const Tensor zi = Tensor::scalar(1, DType::Int64), zb = Tensor::scalar(1, DType::Bool);
  EXPECT_EQ(result_type(i, f), DType::Float32);
  EXPECT_EQ(result_type(f, d), DType::Float64);
  EXPECT_EQ(result_type(b, i), DType::Int64);
  EXPECT_EQ(result_type(b, f), DType::Float32);
  EXPECT_EQ(result_type(f, zd), DType::Float32);  // a 0-d float64 does not widen float32 [2]
  EXPECT_EQ(result_type(d, zf), DType::Float64);
  EXPECT_EQ(result_type(i, zd), DType::Float64);  // but it lifts int64 [2] to its category
  EXPECT_EQ(result_type(i, zb), DType::Int64);
  EXPECT_EQ(result_type(b, zi), DType::Int64);
  EXPECT_EQ(result_type(zi, zd), DType::Float64);  // two 0-d tensors: promote_types
  EXPECT_EQ(result_type(i, Scalar(2.5)),
            DType::Float32);  // a double is float32 (the default dtype)
  EXPECT_EQ(result_type(i, Scalar(2)), DType::Int64);
  EXPECT_EQ(result_type(b, Scalar(2)), DType::Int64);
  EXPECT_EQ(result_type(b, Scalar(true)), DType::Bool);
  EXPECT_EQ(result_type(f, Scalar(2.5)), DType::Float32);
  EXPECT_EQ(result_type(zi, Scalar(2.5)), DType::Float32);
  EXPECT_EQ(result_type(d, Scalar(int64_t{1} << 40)), DType::Float64);
  EXPECT_EQ(promote_types(DType::Int64, DType::Float32), DType::Float32);
  EXPECT_EQ(promote_types(DType::Bool, DType::Bool), DType::Bool);
}

TEST(Elementwise, IntegerArithmetic) {
  const Tensor i = i64({1, -2, 3, 7}, {4}), j = i64({2, 2, -4, 3}, {4});
  auto ints = [](const Tensor& t) {
    EXPECT_EQ(t.dtype(), DType::Int64);
    return t.to_vector<int64_t>();
  };
  EXPECT_EQ(ints(i + j), (std::vector<int64_t>{3, 0, -1, 10}));
  EXPECT_EQ(ints(i - j), (std::vector<int64_t>{-1, -4, 7, 4}));
  EXPECT_EQ(ints(i * j), (std::vector<int64_t>{2, -4, -12, 21}));
  EXPECT_EQ(ints(i + 2), (std::vector<int64_t>{3, 0, 5, 9}));
  EXPECT_EQ(ints(10 - i), (std::vector<int64_t>{9, 12, 7, 3}));
  EXPECT_EQ(ints(i * int64_t{3}), (std::vector<int64_t>{3, -6, 9, 21}));
  EXPECT_EQ(ints(-i), (std::vector<int64_t>{-1, 2, -3, -7}));
  EXPECT_EQ(ints(abs(i)), (std::vector<int64_t>{1, 2, 3, 7}));
  EXPECT_EQ(ints(relu(i)), (std::vector<int64_t>{1, 0, 3, 7}));
  EXPECT_EQ(ints(sign(i)), (std::vector<int64_t>{1, -1, 1, 1}));
  EXPECT_EQ(ints(maximum(i, j)), (std::vector<int64_t>{2, 2, 3, 7}));
  EXPECT_EQ(ints(minimum(i, j.slice(0, 0, 4))), (std::vector<int64_t>{1, -2, -4, 3}));
  EXPECT_EQ(ints(pow(i, 2)), (std::vector<int64_t>{1, 4, 9, 49}));
  // a negative integer exponent in a tensor truncates, as PyTorch's powi
  EXPECT_EQ(ints(pow(i64({1, -1, -1, 2}, {4}), i64({-1, -1, -2, -1}, {4}))),
            (std::vector<int64_t>{1, -1, 1, 0}));
  // int64 is exact past 2^53, where a double would round
  const int64_t big = (int64_t{1} << 53) + 1;
  EXPECT_EQ(ints(Tensor::from_vector<int64_t>({big}, {1}) + 2)[0], big + 2);
  // a double, or a division, makes float32 (PyTorch's default dtype)
  const Tensor h = i * 2.5;
  EXPECT_EQ(h.dtype(), DType::Float32);
  EXPECT_EQ(h.to_vector<double>(), (std::vector<double>{2.5, -5, 7.5, 17.5}));
  EXPECT_EQ((i * 2.0).dtype(), DType::Float32);
  EXPECT_EQ((i / 2).to_vector<double>(), (std::vector<double>{0.5, -1, 1.5, 3.5}));
  EXPECT_EQ((i / 2).dtype(), DType::Float32);
  EXPECT_EQ((i / j).dtype(), DType::Float32);
  EXPECT_EQ((6 / i).to_vector<double>(), (std::vector<double>{6, -3, 2, 6.0f / 7.0f}));
  EXPECT_EQ(exp(i).dtype(), DType::Float32);
  EXPECT_EQ(sqrt(i64({4}, {1})).to_vector<double>(), (std::vector<double>{2}));
  EXPECT_EQ(pow(i64({4}, {1}), 0.5).dtype(), DType::Float32);
}

TEST(Elementwise, BoolArithmetic) {
  const Tensor b = Tensor::from_list({1, 0, 1, 0}, {4}, DType::Bool);
  const Tensor c = Tensor::from_list({1, 1, 0, 0}, {4}, DType::Bool);
  EXPECT_EQ((b + c).dtype(), DType::Bool);  // or
  EXPECT_EQ((b + c).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ((b * c).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0, 0}));  // and
  EXPECT_EQ((b + 2).dtype(), DType::Int64);
  EXPECT_EQ((b + 2).to_vector<int64_t>(), (std::vector<int64_t>{3, 2, 3, 2}));
  EXPECT_EQ((b * 2.5).dtype(), DType::Float32);
  EXPECT_EQ((b / c).dtype(), DType::Float32);
  const Tensor i = i64({5, 6, 7, 8}, {4});
  EXPECT_EQ((i * b).dtype(), DType::Int64);
  EXPECT_EQ((i * b).to_vector<int64_t>(), (std::vector<int64_t>{5, 0, 7, 0}));
  EXPECT_EQ(maximum(b, c).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 0}));
}

TEST(Elementwise, MixedDtypesPromote) {
  const Tensor i = i64({1, 2, 3}, {3});
  const Tensor f = f32({0.5, 0.25, 0.125}, {3}), d = f64({0.1, 0.2, 0.3}, {3});
  const Tensor s = add(i, f);
  EXPECT_EQ(s.dtype(), DType::Float32);
  EXPECT_EQ(s.to_vector<double>(), (std::vector<double>{1.5, 2.25, 3.125}));
  // float32 + float64 is float64, computed on the float32 values widened exactly
  const Tensor fd = add(f, d);
  EXPECT_EQ(fd.dtype(), DType::Float64);
  EXPECT_EQ(fd.to_vector<double>(), (std::vector<double>{0.5 + 0.1, 0.25 + 0.2, 0.125 + 0.3}));
  EXPECT_EQ(mul(d, f).dtype(), DType::Float64);
  EXPECT_EQ(pow(f, d).dtype(), DType::Float64);
  // a float64 0-d tensor does not widen a float32 tensor, but lifts an int64 one
  EXPECT_EQ(add(f, Tensor::scalar(1, DType::Float64)).dtype(), DType::Float32);
  EXPECT_EQ(add(i, Tensor::scalar(0.5, DType::Float64)).to_vector<double>(),
            (std::vector<double>{1.5, 2.5, 3.5}));
  // comparisons compare after promotion; where promotes its two branches
  EXPECT_EQ(lt(i, 2.5).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(eq(i, f32({1, 2.5, 3}, {3})).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(ge(i, 2).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1}));
  const Tensor cond = Tensor::from_list({1, 0, 1}, {3}, DType::Bool);
  const Tensor w = where(cond, i, f);
  EXPECT_EQ(w.dtype(), DType::Float32);
  EXPECT_EQ(w.to_vector<double>(), (std::vector<double>{1, 0.25, 3}));
  EXPECT_EQ(where(cond, i, i64({9}, {1})).to_vector<int64_t>(), (std::vector<int64_t>{1, 9, 3}));
  EXPECT_EQ(masked_fill(i, cond, -1).to_vector<int64_t>(), (std::vector<int64_t>{-1, 2, -1}));
}

// ---- comparisons and selection ------------------------------------------------------------

template <class F>
void expect_compare(const char* op, const Tensor& r, const Tensor& a, const Tensor& b, F f) {
  ASSERT_EQ(r.dtype(), DType::Bool) << op;
  ASSERT_EQ(r.shape(), broadcast_shapes(a.shape(), b.shape(), "test")) << op;
  for_each_index(r.shape(), [&](const Shape& idx) {
    EXPECT_EQ(r.at(idx) != 0, f(broadcast_at(a, idx), broadcast_at(b, idx))) << op << " at " << idx;
  });
}

TEST(Elementwise, Rsqrt) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = f64({0.25, 1, 4, 0, -1}, {5}).to(dt);
    const std::vector<double> y = rsqrt(x).to_vector<double>();
    EXPECT_EQ(std::vector<double>(y.begin(), y.begin() + 3), (std::vector<double>{2, 1, 0.5}));
    EXPECT_EQ(y[3], std::numeric_limits<double>::infinity());  // as torch.rsqrt(0)
    EXPECT_TRUE(std::isnan(y[4]));
  }
}

TEST(Elementwise, ClampAsTorchClamp) {
  const double nan = std::nan("");
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = f64({-2, -1, 0, 1, 2}, {5}).to(dt);
    EXPECT_EQ(clamp(x, -1.0, 1.0).to_vector<double>(), (std::vector<double>{-1, -1, 0, 1, 1}));
    EXPECT_EQ(clamp(x, 0.5).to_vector<double>(), (std::vector<double>{0.5, 0.5, 0.5, 1, 2}));
    EXPECT_EQ(clamp(x, std::nullopt, 0.5).to_vector<double>(),
              (std::vector<double>{-2, -1, 0, 0.5, 0.5}));
    // min > max: every element is max (torch.clamp's documented rule)
    EXPECT_EQ(clamp(x, 1.0, -1.0).to_vector<double>(), (std::vector<double>{-1, -1, -1, -1, -1}));
    // NaN in x passes through; a NaN bound makes every element NaN
    EXPECT_TRUE(std::isnan(clamp(f64({nan}, {1}).to(dt), -1.0, 1.0).item()));
    EXPECT_TRUE(std::isnan(clamp(x, nan).to_vector<double>()[4]));
    EXPECT_EQ(clamp(x.narrow(0, 1, 3).expand({2, 3}), 0.0).shape(), (Shape{2, 3}));
  }
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { clamp(Tensor::zeros({2}), std::nullopt); },
                                                 {"clamp", "at least one"}));
}

TEST(Elementwise, Comparisons) {
  const Tensor a = f32({1, 2, 3, 4, 5, 6}, {2, 3}), b = f32({2, 2, 7}, {3});
  const Tensor at = a.t(), bt = f32({3, 3, 3, 0, 0, 0}, {3, 2});  // transposed and strided
  const Tensor ia = i64({1, 5, 3}, {3, 1}), ib = i64({3, 1}, {2});
  const Tensor ba = Tensor::from_list({1, 0}, {2}, DType::Bool), bb = Tensor::from_list({1, 1, 0, 0}, {2, 2}, DType::Bool);
  const std::vector<std::pair<Tensor, Tensor>> pairs{{a, b}, {at, bt}, {ia, ib}, {ba, bb}};
  for (const auto& [x, y] : pairs) {
    expect_compare("eq", eq(x, y), x, y, [](double p, double q) { return p == q; });
    expect_compare("ne", ne(x, y), x, y, [](double p, double q) { return p != q; });
    expect_compare("lt", lt(x, y), x, y, [](double p, double q) { return p < q; });
    expect_compare("le", le(x, y), x, y, [](double p, double q) { return p <= q; });
    expect_compare("gt", gt(x, y), x, y, [](double p, double q) { return p > q; });
    expect_compare("ge", ge(x, y), x, y, [](double p, double q) { return p >= q; });
  }
  EXPECT_EQ(gt(a, 3.5).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(lt(a, 3.5).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(logical_not(gt(a.t(), 3.5)).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1, 0, 1, 0}));
  // NaN compares unequal to everything, itself included
  const Tensor n = f64({std::nan("")}, {1});
  EXPECT_EQ(eq(n, n).item(), 0.0);
  EXPECT_EQ(ne(n, n).item(), 1.0);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { logical_not(a); }, {"logical_not", "bool", "float32"}));
}

TEST(Elementwise, WhereBroadcastsAllThree) {
  const Tensor cond = Tensor::from_list({1, 0}, {2, 1}, DType::Bool);
  const Tensor a = f64({1, 2, 3}, {1, 3});
  const Tensor b = Tensor::scalar(-1, DType::Float64);
  const Tensor r = where(cond, a, b);
  EXPECT_EQ(r.shape(), (Shape{2, 3}));
  EXPECT_EQ(r.to_vector<double>(), (std::vector<double>{1, 2, 3, -1, -1, -1}));
  // strided operands
  const Tensor x = uniform({4, 3}, 3), y = uniform({3, 4}, 4);
  const Tensor c = gt(x.t(), 0.0);
  const Tensor w = where(c, x.t(), y);
  for_each_index(w.shape(), [&](const Shape& idx) {
    EXPECT_EQ(w.at(idx), c.at(idx) != 0 ? x.t().at(idx) : y.at(idx));
  });
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { where(a, a, b); }, {"where", "bool", "float64"}));
  // a and b promote (result_type): a float32 0-d does not lower float64 [1,3]
  EXPECT_EQ(where(cond, a, Tensor::scalar(0)).dtype(), DType::Float64);
  EXPECT_EQ(where(cond, Tensor::zeros({3}), a.reshape({3})).dtype(), DType::Float64);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { where(Tensor::zeros({4}, DType::Bool), a, b); },
                                                 {"where", "[4]", "[1,3]"}));
}

TEST(Elementwise, MaskedFill) {
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor scores = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  // a causal-style mask broadcast over rows
  const Tensor mask = Tensor::from_list({0, 1, 1}, {1, 3}, DType::Bool);
  const Tensor r = masked_fill(scores, mask, -inf);
  EXPECT_EQ(r.to_vector<double>(), (std::vector<double>{1, -inf, -inf, 4, -inf, -inf}));
  EXPECT_EQ(masked_fill(scores.t(), mask.t(), 0).to_vector<double>(), (std::vector<double>{1, 4, 0, 0, 0, 0}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { masked_fill(Tensor::zeros({3}, DType::Float64), Tensor::zeros({2, 3}, DType::Bool), 0); },
      {"masked_fill", "[2,3]", "[3]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { masked_fill(scores, scores, 0); },
                                                 {"masked_fill", "bool", "float64"}));
}

// ---- checks -----------------------------------------------------------------------------------

TEST(Elementwise, FiniteAndClose) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(all_finite(f64({1, 2}, {2})));
  EXPECT_FALSE(all_finite(f64({1, inf}, {2})));
  EXPECT_FALSE(all_finite(f32({1, 2, std::nan(""), 1}, {2, 2}).t()));
  EXPECT_TRUE(all_finite(i64({1}, {1})));
  const Tensor a = f64({1, 2, 3}, {3});
  EXPECT_TRUE(allclose(a, f64({1, 2, 3 + 1e-9}, {3})));
  EXPECT_FALSE(allclose(a, f64({1, 2, 3.1}, {3})));
  EXPECT_FALSE(allclose(a, f64({1, 2, 3}, {3, 1})));
  EXPECT_FALSE(allclose(f64({std::nan("")}, {1}), f64({std::nan("")}, {1})));
  EXPECT_TRUE(allclose(f64({inf}, {1}), f64({inf}, {1})));
  EXPECT_DOUBLE_EQ(max_abs_diff(a, f64({1, 2.5, 2}, {3})), 1.0);
  EXPECT_TRUE(std::isnan(max_abs_diff(a, f64({1, std::nan(""), 2}, {3}))));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { max_abs_diff(a, f64({1}, {1})); },
                                                 {"max_abs_diff", "[3]", "[1]"}));
}

// ---- errors --------------------------------------------------------------------------------

TEST(Elementwise, Errors) {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4});
  EXPECT_EQ(testing::message_of([&] { add(a, b); }), "add: [2,3] and [4]: sizes 3 and 4 cannot broadcast");
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { mul(a, Tensor::zeros({3, 3})); }, {"mul", "[2,3]", "[3,3]"}));
  // What PyTorch refuses for bool and int64, refused naming the op and both dtypes
  const Tensor m = Tensor::from_list({1, 0}, {2}, DType::Bool);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { sub(m, m); },
                                                 {"sub", "bool and bool", "logical_not"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        sub(i64({1, 2}, {2}), m);
      },
      {"sub", "int64 and bool"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { rsub(1, m); }, {"sub", "bool"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { neg(m); }, {"neg", "bool"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { abs(m); }, {"abs", "bool"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { pow(i64({2}, {1}), -1); },
                                                 {"pow", "int64", "negative integer powers"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { sub(a, Tensor()); }, {"sub", "undefined"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { tanh(Tensor()); }, {"tanh", "undefined"}));
}

}  // namespace
}  // namespace minigrad
