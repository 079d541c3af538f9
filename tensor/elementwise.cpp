// Element-wise kernels. Each op is one line of math handed to a generic loop:
// map() for unary ops, zip() for binary ops with numpy broadcasting. The loops
// run over merged strided runs (tensor/strided.h), so contiguous inputs become
// one flat loop the compiler vectorises.
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/fast_math.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/strided.h"

namespace minigrad {
namespace {

// Large element-wise work is split across threads; below this many elements no OpenMP
// region is opened. An element-wise op moves memory at ~1 ns per element, so 2^20
// elements are ~1 ms of work: enough to pay for a team even on a busy machine, where
// the barrier at the end of a region can wait a scheduler tick for a thread that is
// not running (gemm.cpp, kParallelMinWork, has the measurement).
constexpr int64_t kParallelGrain = 1 << 20;

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  MINIGRAD_CHECK(a.dtype() == b.dtype())
      << op << ": dtypes differ: " << dtype_name(a.dtype()) << a.shape() << " and "
      << dtype_name(b.dtype()) << b.shape() << " (convert one with .to())";
}

void check_defined(const Tensor& a, const char* op) {
  MINIGRAD_CHECK(a.defined()) << op << ": the tensor is undefined";
}

// out[i] = f(a[i]) over a contiguous result.
template <class T, class R, class F>
void map_into(const Tensor& a, R* out, F f) {
  const T* pa = static_cast<const T*>(a.raw_data());
  if (a.is_contiguous()) {
    const int64_t n = a.numel();
    if (n >= kParallelGrain) {
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) out[i] = f(pa[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) out[i] = f(pa[i]);
    }
    return;
  }
  int64_t o = 0;
  detail::for_each_run<1>(a.shape(), {a.strides()}, [&](auto off, int64_t n, auto st) {
    for (int64_t i = 0; i < n; ++i) out[o++] = f(pa[off[0] + i * st[0]]);
  });
}

template <class F>
Tensor map(const char* op, const Tensor& a, F f) {
  check_defined(a, op);
  return dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(a.shape(), a.dtype());
    map_into<T>(a, out.data<T>(), [&](T x) { return static_cast<T>(f(x)); });
    return out;
  });
}

// out = f(a, b) with broadcasting; R is the result's element type.
template <class T, class R, class F>
void zip_into(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  R* po = out.data<R>();
  const int64_t n = out.numel();
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {
    if (n >= kParallelGrain) {
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    }
    return;
  }
  const Tensor ea = a.expand(out.shape()), eb = b.expand(out.shape());
  detail::for_each_run<3>(out.shape(), {out.strides(), ea.strides(), eb.strides()},
                          [&](auto off, int64_t cnt, auto st) {
                            R* o = po + off[0];
                            const T* x = pa + off[1];
                            const T* y = pb + off[2];
                            if (st[1] == 1 && st[2] == 1) {
                              for (int64_t i = 0; i < cnt; ++i) o[i] = f(x[i], y[i]);
                            } else if (st[1] == 1 && st[2] == 0) {
                              const T yv = *y;
                              for (int64_t i = 0; i < cnt; ++i) o[i] = f(x[i], yv);
                            } else if (st[1] == 0 && st[2] == 1) {
                              const T xv = *x;
                              for (int64_t i = 0; i < cnt; ++i) o[i] = f(xv, y[i]);
                            } else {
                              for (int64_t i = 0; i < cnt; ++i)
                                o[i] = f(x[i * st[1]], y[i * st[2]]);
                            }
                          });
}

// The checks of every binary op: both defined, one dtype, shapes that broadcast.
// Returns the broadcast shape, the shape of the result.
Shape check_binary(const char* op, const Tensor& a, const Tensor& b) {
  check_defined(a, op);
  check_defined(b, op);
  check_same_dtype(a, b, op);
  return broadcast_shapes(a.shape(), b.shape(), op);
}

template <class F>
Tensor zip(const char* op, const Tensor& a, const Tensor& b, F f) {
  const Shape shape = check_binary(op, a, b);
  return dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(shape, a.dtype());
    zip_into<T, T>(a, b, out, [&](T x, T y) { return static_cast<T>(f(x, y)); });
    return out;
  });
}

// Comparisons accept every dtype (int64 indices included) and return bool.
template <class F>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, F f) {
  Tensor out = Tensor::empty(check_binary(op, a, b), DType::Bool);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    zip_into<T, bool>(a, b, out, [&](T x, T y) { return static_cast<bool>(f(x, y)); });
  };
  if (a.dtype() == DType::Int64) {
    run(int64_t{});
  } else if (a.dtype() == DType::Bool) {
    run(bool{});
  } else {
    dispatch_floating(a.dtype(), op, run);
  }
  return out;
}

}  // namespace

// ---- binary -----------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b) {
  return zip("add", a, b, [](auto x, auto y) { return x + y; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return zip("sub", a, b, [](auto x, auto y) { return x - y; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return zip("mul", a, b, [](auto x, auto y) { return x * y; });
}
Tensor div(const Tensor& a, const Tensor& b) {
  return zip("div", a, b, [](auto x, auto y) { return x / y; });
}
Tensor pow(const Tensor& a, const Tensor& b) {
  return zip("pow", a, b, [](auto x, auto y) { return std::pow(x, y); });
}
// NaN propagates, as in numpy.maximum.
Tensor maximum(const Tensor& a, const Tensor& b) {
  return zip("maximum", a, b, [](auto x, auto y) { return (x != x || x > y) ? x : y; });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return zip("minimum", a, b, [](auto x, auto y) { return (x != x || x < y) ? x : y; });
}

// ---- with a scalar -------------------------------------------------------------------------
Tensor add(const Tensor& a, double s) {
  return map("add", a, [s](auto x) { return x + static_cast<decltype(x)>(s); });
}
Tensor sub(const Tensor& a, double s) {
  return map("sub", a, [s](auto x) { return x - static_cast<decltype(x)>(s); });
}
Tensor rsub(double s, const Tensor& a) {
  return map("rsub", a, [s](auto x) { return static_cast<decltype(x)>(s) - x; });
}
Tensor mul(const Tensor& a, double s) {
  return map("mul", a, [s](auto x) { return x * static_cast<decltype(x)>(s); });
}
Tensor div(const Tensor& a, double s) {
  return map("div", a, [s](auto x) { return x / static_cast<decltype(x)>(s); });
}
Tensor rdiv(double s, const Tensor& a) {
  return map("rdiv", a, [s](auto x) { return static_cast<decltype(x)>(s) / x; });
}
Tensor pow(const Tensor& a, double e) {
  if (e == 2.0) return map("pow", a, [](auto x) { return x * x; });
  return map("pow", a, [e](auto x) { return std::pow(x, static_cast<decltype(x)>(e)); });
}

// ---- unary --------------------------------------------------------------------------------
Tensor neg(const Tensor& a) {
  return map("neg", a, [](auto x) { return -x; });
}
// exp, tanh and sigmoid in float run tensor/fast_math.h's vectorisable versions.
Tensor exp(const Tensor& a) {
  return map("exp", a, [](auto x) { return fast::exp(x); });
}
Tensor log(const Tensor& a) {
  return map("log", a, [](auto x) { return std::log(x); });
}
Tensor sqrt(const Tensor& a) {
  return map("sqrt", a, [](auto x) { return std::sqrt(x); });
}
Tensor rsqrt(const Tensor& a) {
  return map("rsqrt", a, [](auto x) { return decltype(x)(1) / std::sqrt(x); });
}
Tensor tanh(const Tensor& a) {
  return map("tanh", a, [](auto x) { return fast::tanh(x); });
}
// σ(x) = 1 / (1 + e^-x)
Tensor sigmoid(const Tensor& a) {
  return map("sigmoid", a, [](auto x) { return fast::sigmoid(x); });
}
Tensor relu(const Tensor& a) {
  return map("relu", a, [](auto x) { return x > 0 ? x : decltype(x)(0); });
}
Tensor abs(const Tensor& a) {
  return map("abs", a, [](auto x) { return std::abs(x); });
}
Tensor sign(const Tensor& a) {
  return map("sign", a, [](auto x) { return static_cast<decltype(x)>((x > 0) - (x < 0)); });
}

Tensor clamp(const Tensor& a, std::optional<double> min, std::optional<double> max) {
  MINIGRAD_CHECK(min || max) << "clamp: at least one of min and max must be given (shape "
                             << a.shape() << ")";
  return map("clamp", a, [min, max](auto x) {
    using T = decltype(x);
    // x < lo and x > hi are false for a NaN x, so it passes through; a NaN bound wins.
    if (min) {
      const T lo = static_cast<T>(*min);
      if (x < lo || lo != lo) x = lo;
    }
    if (max) {
      const T hi = static_cast<T>(*max);
      if (x > hi || hi != hi) x = hi;
    }
    return x;
  });
}

// ---- comparisons -------------------------------------------------------------------------
Tensor eq(const Tensor& a, const Tensor& b) {
  return compare("eq", a, b, [](auto x, auto y) { return x == y; });
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare("ne", a, b, [](auto x, auto y) { return x != y; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare("lt", a, b, [](auto x, auto y) { return x < y; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare("le", a, b, [](auto x, auto y) { return x <= y; });
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare("gt", a, b, [](auto x, auto y) { return x > y; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare("ge", a, b, [](auto x, auto y) { return x >= y; });
}
Tensor gt(const Tensor& a, double b) { return gt(a, Tensor::scalar(b, a.dtype())); }
Tensor lt(const Tensor& a, double b) { return lt(a, Tensor::scalar(b, a.dtype())); }

Tensor logical_not(const Tensor& mask) {
  MINIGRAD_CHECK(mask.dtype() == DType::Bool)
      << "logical_not: expected bool, got " << dtype_name(mask.dtype());
  Tensor out = Tensor::empty(mask.shape(), DType::Bool);
  map_into<bool>(mask, out.data<bool>(), [](bool x) { return !x; });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined(cond, "where");
  MINIGRAD_CHECK(cond.dtype() == DType::Bool)
      << "where (condition): expected bool, got " << dtype_name(cond.dtype());
  check_same_dtype(a, b, "where");
  const Shape shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  const Tensor c = cond.expand(shape), x = a.expand(shape), y = b.expand(shape);
  return dispatch_floating(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(shape, a.dtype());
    T* po = out.data<T>();
    const bool* pc = static_cast<const bool*>(c.raw_data());
    const T* px = static_cast<const T*>(x.raw_data());
    const T* py = static_cast<const T*>(y.raw_data());
    detail::for_each_run<4>(shape, {out.strides(), c.strides(), x.strides(), y.strides()},
                            [&](auto off, int64_t n, auto st) {
                              for (int64_t i = 0; i < n; ++i) {
                                po[off[0] + i * st[0]] = pc[off[1] + i * st[1]]
                                                             ? px[off[2] + i * st[2]]
                                                             : py[off[3] + i * st[3]];
                              }
                            });
    return out;
  });
}

Tensor masked_fill(const Tensor& a, const Tensor& mask, double value) {
  check_defined(a, "masked_fill");
  check_defined(mask, "masked_fill");
  MINIGRAD_CHECK(mask.dtype() == DType::Bool)
      << "masked_fill (mask): expected bool, got " << dtype_name(mask.dtype());
  MINIGRAD_CHECK(broadcast_shapes(a.shape(), mask.shape(), "masked_fill") == a.shape())
      << "masked_fill: mask " << mask.shape() << " does not broadcast to the tensor's shape "
      << a.shape();
  return where(mask, Tensor::scalar(value, a.dtype()), a);
}

// ---- checks ---------------------------------------------------------------------------------
bool all_finite(const Tensor& a) {
  if (!is_floating(a.dtype())) return true;
  return dispatch_floating(a.dtype(), "all_finite", [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(a.raw_data());
    bool ok = true;
    detail::for_each_run<1>(a.shape(), {a.strides()}, [&](auto off, int64_t n, auto st) {
      for (int64_t i = 0; i < n; ++i) ok &= std::isfinite(p[off[0] + i * st[0]]);
    });
    return ok;
  });
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  MINIGRAD_CHECK(a.shape() == b.shape())
      << "max_abs_diff: shapes " << a.shape() << " and " << b.shape() << " differ";
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = std::abs(x[i] - y[i]);
    if (d != d) return std::numeric_limits<double>::quiet_NaN();
    m = std::max(m, d);
  }
  return m;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) return false;
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == y[i]) continue;  // equal infinities
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]))) return false;
  }
  return true;
}

}  // namespace minigrad
