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
#include "minigrad/tensor/row_kernels.h"
#include "minigrad/tensor/strided.h"

namespace minigrad {
namespace {

using detail::kTranscendentalCost;  // tensor/strided.h: when a loop is split across threads

void check_defined(const Tensor& a, const char* op) {
  MINIGRAD_CHECK(a.defined()) << op << ": the tensor is undefined";
}

// Which dtypes an op's kernel runs in (a bit set); the others are refused by name.
enum Allow : unsigned { kFloat = 1, kInt = 2, kBool = 4, kAll = 7 };

// The dtypes an op was given, named only when it refuses them ("int64 and bool").
struct Operands {
  DType a, b;
  bool binary;
};
std::ostream& operator<<(std::ostream& os, const Operands& o) {
  os << dtype_name(o.a);
  if (o.binary) os << " and " << dtype_name(o.b);
  return os;
}
Operands names(const Tensor& a) { return {a.dtype(), a.dtype(), false}; }
Operands names(const Tensor& a, const Tensor& b) { return {a.dtype(), b.dtype(), true}; }

// Calls f(T{}) for the dtype `dt` the op computes in, when kAllow lists it; otherwise
// throws naming the op and what it was given.
template <unsigned kAllow, class F>
decltype(auto) dispatch(DType dt, const char* op, const Operands& operands, F&& f) {
  const bool ok = is_floating(dt)      ? (kAllow & kFloat) != 0
                  : dt == DType::Int64 ? (kAllow & kInt) != 0
                                       : (kAllow & kBool) != 0;
  MINIGRAD_CHECK(ok) << op << ": not supported for " << operands << " (it computes in "
                     << dtype_name(dt) << ")";
  if constexpr ((kAllow & kInt) != 0) {
    if (dt == DType::Int64) return f(int64_t{});
  }
  if constexpr ((kAllow & kBool) != 0) {
    if (dt == DType::Bool) return f(bool{});
  }
  if constexpr ((kAllow & kFloat) != 0) {
    if (dt == DType::Float64) return f(double{});
    return f(float{});
  }
  throw std::logic_error("dispatch: unreachable");
}

// out[i] = f(a[i]) over a contiguous result; `cost` is f's per element (strided.h).
template <class T, class R, class F>
void map_into(const Tensor& a, R* out, F f, int64_t cost = 1) {
  const T* pa = static_cast<const T*>(a.raw_data());
  if (a.is_contiguous()) {  // one flat loop: no layout to work out for a small tensor
    detail::parallel_ranges(a.numel(), cost, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = f(pa[i]);
    });
    return;
  }
  detail::parallel_for_each_run<2>(a.shape(), {contiguous_strides(a.shape()), a.strides()}, cost,
                                   [&](auto off, int64_t n, auto st) {
                                     R* o = out + off[0];
                                     const T* x = pa + off[1];
                                     if (st[1] == 1) {  // a slice: rows contiguous
                                       for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
                                     } else {
                                       for (int64_t i = 0; i < n; ++i) o[i] = f(x[i * st[1]]);
                                     }
                                   });
}

// A unary op computed in a's own dtype (kAllow says which dtypes it takes).
template <unsigned kAllow = kFloat, class F>
Tensor map(const char* op, const Tensor& a, F f, int64_t cost = 1) {
  check_defined(a, op);
  return dispatch<kAllow>(a.dtype(), op, names(a), [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(a.shape(), a.dtype());
    map_into<T>(
        a, out.data<T>(), [&](T x) { return static_cast<T>(f(x)); }, cost);
    return out;
  });
}

// A floating function (exp, log, ...): int64 and bool inputs are computed in float32,
// PyTorch's default dtype (torch.exp(int64) is float32).
template <class F>
Tensor map_floating(const char* op, const Tensor& a, F f, int64_t cost = 1) {
  check_defined(a, op);
  if (is_floating(a.dtype())) return map(op, a, f, cost);  // no copy of a on the float path
  return map(op, a.to(DType::Float32), f, cost);
}

// out = f(a, b) with broadcasting; R is the result's element type, `cost` f's per
// element (strided.h).
template <class T, class R, class F>
void zip_into(const Tensor& a, const Tensor& b, Tensor& out, F f, int64_t cost = 1) {
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  R* po = out.data<R>();
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {  // one flat loop
    detail::parallel_ranges(out.numel(), cost, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) po[i] = f(pa[i], pb[i]);
    });
    return;
  }
  // a same-shape operand needs no broadcast view
  const Shape sa = a.shape() == out.shape() ? a.strides() : a.expand(out.shape()).strides();
  const Shape sb = b.shape() == out.shape() ? b.strides() : b.expand(out.shape()).strides();
  detail::parallel_for_each_run<3>(out.shape(), {out.strides(), sa, sb}, cost,
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

// The checks of every binary op: both defined, shapes that broadcast. Returns the
// broadcast shape, the shape of the result.
Shape check_binary(const char* op, const Tensor& a, const Tensor& b) {
  check_defined(a, op);
  check_defined(b, op);
  return broadcast_shapes(a.shape(), b.shape(), op);
}

// A binary op computed in dtype dt (result_type, or float32 for an integer division):
// operands of another dtype are converted first. When both already have it (every
// float op in a model), nothing is converted and the loop is the same as ever.
template <unsigned kAllow, class F>
Tensor zip_in(const char* op, DType dt, const Tensor& a, const Tensor& b, F f, int64_t cost = 1) {
  const Shape shape = check_binary(op, a, b);
  return dispatch<kAllow>(dt, op, names(a, b), [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(shape, dt);
    Tensor ca, cb;  // converted operands, only when the dtype differs
    const Tensor& x = a.dtype() == dt ? a : (ca = a.to(dt));
    const Tensor& y = b.dtype() == dt ? b : (cb = b.to(dt));
    zip_into<T, T>(
        x, y, out, [&](T u, T v) { return static_cast<T>(f(u, v)); }, cost);
    return out;
  });
}

template <unsigned kAllow, class F>
Tensor zip(const char* op, const Tensor& a, const Tensor& b, F f, int64_t cost = 1) {
  check_defined(a, op);
  check_defined(b, op);
  return zip_in<kAllow>(op, result_type(a, b), a, b, f, cost);
}

// Comparisons accept every dtype and return bool; mixed dtypes compare after promotion.
template <class F>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, F f) {
  Tensor out = Tensor::empty(check_binary(op, a, b), DType::Bool);
  const DType dt = result_type(a, b);
  dispatch<kAll>(dt, op, names(a, b), [&](auto tag) {
    using T = decltype(tag);
    Tensor ca, cb;
    const Tensor& x = a.dtype() == dt ? a : (ca = a.to(dt));
    const Tensor& y = b.dtype() == dt ? b : (cb = b.to(dt));
    zip_into<T, bool>(x, y, out, [&](T u, T v) { return static_cast<bool>(f(u, v)); });
  });
  return out;
}

// The number s as a 0-d tensor of the dtype an op with `a` computes in, so that a
// tensor-number op is the tensor-tensor op (the 0-d operand is a stride-0 broadcast).
Tensor scalar_like(const Tensor& a, const Scalar& s, const char* op) {
  check_defined(a, op);
  const DType dt = result_type(a, s);
  if (is_floating(dt)) return Tensor::scalar(s.to_double(), dt);  // a floating s always is
  Tensor t = Tensor::empty({}, dt);
  if (dt == DType::Int64) {
    *t.data<int64_t>() = s.to_int();
  } else {
    *t.data<bool>() = s.to_int() != 0;
  }
  return t;
}

// a ⊕ s for a tensor of floats: a loop with s in registers, the fast path of x * 0.5.
// Returns an undefined tensor when a is not floating (the caller takes the general path).
template <class F>
Tensor scalar_fast(const char* op, const Tensor& a, const Scalar& s, F f) {
  check_defined(a, op);
  if (!is_floating(a.dtype())) return Tensor();
  const double v = s.to_double();
  return map(op, a, [v, &f](auto x) { return f(x, static_cast<decltype(x)>(v)); });
}

// x^n for integers by squaring (wrapping around on overflow); a negative n gives
// 1/x^|n| truncated, as PyTorch's powi: 1 for x = 1, ±1 for x = −1, 0 otherwise.
int64_t int_pow(int64_t x, int64_t n) {
  if (n < 0) return x == 1 ? 1 : x == -1 ? ((n & 1) != 0 ? -1 : 1) : 0;
  uint64_t r = 1, b = static_cast<uint64_t>(x);
  for (auto e = static_cast<uint64_t>(n); e != 0; e >>= 1, b *= b)
    if (e & 1) r *= b;
  return static_cast<int64_t>(r);
}

void check_not_bool_sub(const char* op, DType a, DType b) {
  MINIGRAD_CHECK(a != DType::Bool && b != DType::Bool)
      << op << ": " << dtype_name(a) << " and " << dtype_name(b)
      << ": subtracting a bool tensor is not supported; use logical_not() to invert a mask";
}

// maximum(x, y): NaN in either operand wins; otherwise the larger (y on a tie, as
// PyTorch's vectorised kernel does for ±0).
template <class T>
T max_nan(T x, T y) {
  return (x != x || x > y) ? x : y;
}
template <class T>
T min_nan(T x, T y) {
  return (x != x || x < y) ? x : y;
}

// One run of where(): o[i] = q[i] ? u[i] : w[i], each with its stride in st. A run
// where the condition and the result advance one by one and each value does too or
// is one number (the 0 of relu's gradient, masked_fill's value) gets a loop of its
// own, which the compiler vectorises into blends. For that the condition is read as
// bytes (g++ 12 vectorises no load of bool), and both values are loaded before the
// select (a load under the condition would be a masked load, which it does not
// vectorise here either).
template <class T, class Strides>
void select_run(T* o, const bool* cond, const T* u, const T* w, int64_t n, const Strides& st) {
  const auto* q = reinterpret_cast<const unsigned char*>(cond);
  const bool dense = st[0] == 1 && st[1] == 1;
  if (dense && st[2] == 1 && st[3] == 1) {
    for (int64_t i = 0; i < n; ++i) {
      const T ui = u[i], wi = w[i];
      o[i] = q[i] ? ui : wi;
    }
  } else if (dense && st[2] == 0 && st[3] == 1) {
    const T ui = *u;
    for (int64_t i = 0; i < n; ++i) {
      const T wi = w[i];
      o[i] = q[i] ? ui : wi;
    }
  } else if (dense && st[2] == 1 && st[3] == 0) {
    const T wi = *w;
    for (int64_t i = 0; i < n; ++i) {
      const T ui = u[i];
      o[i] = q[i] ? ui : wi;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) o[i * st[0]] = q[i * st[1]] ? u[i * st[2]] : w[i * st[3]];
  }
}

}  // namespace

// ---- type promotion -----------------------------------------------------------------------

DType Scalar::dtype() const {
  switch (kind_) {
    case Kind::Bool:
      return DType::Bool;
    case Kind::Integral:
      return DType::Int64;
    case Kind::Floating:
      break;
  }
  return DType::Float32;
}

namespace {

// torch's ResultTypeState: the promoted dtype of each priority class (tensors with
// axes, 0-d tensors, numbers), combined so that a lower class only counts when it is
// of a higher category (bool < integer < floating).
struct Ranked {
  bool some = false;
  DType t = DType::Bool;
  void add(DType d) {
    t = some ? promote_types(t, d) : d;
    some = true;
  }
};

Ranked combine(const Ranked& higher, const Ranked& lower) {
  if (!higher.some) return lower;
  if (!lower.some || is_floating(higher.t)) return higher;
  if (higher.t == DType::Bool || is_floating(lower.t))
    return {true, promote_types(higher.t, lower.t)};
  return higher;
}

void rank_tensor(const Tensor& a, Ranked& dim, Ranked& zero) {
  (a.dim() > 0 ? dim : zero).add(a.dtype());
}

}  // namespace

DType result_type(const Tensor& a, const Tensor& b) {
  if (a.dtype() == b.dtype()) return a.dtype();
  Ranked dim, zero;
  rank_tensor(a, dim, zero);
  rank_tensor(b, dim, zero);
  return combine(dim, zero).t;
}

DType result_type(const Tensor& a, const Scalar& b) {
  Ranked dim, zero, number;
  rank_tensor(a, dim, zero);
  number.add(b.dtype());
  return combine(dim, combine(zero, number)).t;
}

// ---- binary -----------------------------------------------------------------------------
// bool + bool is "or" and bool · bool is "and" (the sum or product, cast back to bool).
Tensor add(const Tensor& a, const Tensor& b) {
  return zip<kAll>("add", a, b, [](auto x, auto y) { return x + y; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  check_defined(a, "sub");
  check_defined(b, "sub");
  check_not_bool_sub("sub", a.dtype(), b.dtype());
  return zip<kFloat | kInt>("sub", a, b, [](auto x, auto y) { return x - y; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return zip<kAll>("mul", a, b, [](auto x, auto y) { return x * y; });
}
// True division: integers divide as float32 (PyTorch's default dtype).
Tensor div(const Tensor& a, const Tensor& b) {
  check_defined(a, "div");
  check_defined(b, "div");
  const DType dt = result_type(a, b);
  return zip_in<kFloat>("div", is_floating(dt) ? dt : DType::Float32, a, b,
                        [](auto x, auto y) { return x / y; });
}
Tensor pow(const Tensor& a, const Tensor& b) {
  check_defined(a, "pow");
  check_defined(b, "pow");
  const DType dt = result_type(a, b);
  if (!is_floating(dt)) {
    return zip_in<kInt>("pow", dt == DType::Bool ? DType::Int64 : dt, a, b,
                        [](int64_t x, int64_t y) { return int_pow(x, y); });
  }
  return zip_in<kFloat>("pow", dt, a, b, [](auto x, auto y) { return std::pow(x, y); });
}
// NaN propagates, as in torch.maximum.
Tensor maximum(const Tensor& a, const Tensor& b) {
  return zip<kAll>("maximum", a, b, [](auto x, auto y) { return max_nan(x, y); });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return zip<kAll>("minimum", a, b, [](auto x, auto y) { return min_nan(x, y); });
}

// ---- with a scalar -------------------------------------------------------------------------
// A float tensor runs a loop with the number in a register (as it always has, to the
// bit); an int64 or bool tensor promotes with the number (result_type) and runs the
// tensor-tensor op against it as a 0-d tensor.
Tensor add(const Tensor& a, const Scalar& s) {
  Tensor r = scalar_fast("add", a, s, [](auto x, auto v) { return x + v; });
  return r.defined() ? r : add(a, scalar_like(a, s, "add"));
}
Tensor sub(const Tensor& a, const Scalar& s) {
  Tensor r = scalar_fast("sub", a, s, [](auto x, auto v) { return x - v; });
  return r.defined() ? r : sub(a, scalar_like(a, s, "sub"));
}
Tensor rsub(const Scalar& s, const Tensor& a) {
  Tensor r = scalar_fast("rsub", a, s, [](auto x, auto v) { return v - x; });
  return r.defined() ? r : sub(scalar_like(a, s, "rsub"), a);
}
Tensor mul(const Tensor& a, const Scalar& s) {
  Tensor r = scalar_fast("mul", a, s, [](auto x, auto v) { return x * v; });
  return r.defined() ? r : mul(a, scalar_like(a, s, "mul"));
}
Tensor div(const Tensor& a, const Scalar& s) {
  Tensor r = scalar_fast("div", a, s, [](auto x, auto v) { return x / v; });
  return r.defined() ? r : div(a, scalar_like(a, s, "div"));
}
Tensor rdiv(const Scalar& s, const Tensor& a) {
  Tensor r = scalar_fast("rdiv", a, s, [](auto x, auto v) { return v / x; });
  return r.defined() ? r : div(scalar_like(a, s, "rdiv"), a);
}
// PyTorch's pow_tensor_scalar: the exponents with a cheaper exact form take it, which
// also decides the sign at −0 (√−0 = −0, 1/√−0 = −inf, where std::pow gives +0, +inf).
Tensor pow(const Tensor& a, const Scalar& s) {
  check_defined(a, "pow");
  if (!is_floating(a.dtype())) {
    const DType dt = result_type(a, s);
    if (is_floating(dt)) return pow(a.to(dt), s);
    MINIGRAD_CHECK(s.to_int() >= 0)
        << "pow: " << dtype_name(a.dtype()) << " tensor to the power " << s.to_int()
        << ": integers to negative integer powers are not allowed (PyTorch's rule for a "
           "number exponent; convert with .to(DType::Float32))";
    return pow(a, scalar_like(a, s, "pow"));
  }
  const double e = s.to_double();
  if (e == 0.0) return map("pow", a, [](auto x) { return decltype(x)(1); });
  if (e == 2.0) return map("pow", a, [](auto x) { return x * x; });
  if (e == 3.0) return map("pow", a, [](auto x) { return x * x * x; });
  if (e == 0.5) return map("pow", a, [](auto x) { return std::sqrt(x); });
  if (e == -0.5) return map("pow", a, [](auto x) { return decltype(x)(1) / std::sqrt(x); });
  if (e == -1.0) return map("pow", a, [](auto x) { return decltype(x)(1) / x; });
  if (e == -2.0) return map("pow", a, [](auto x) { return decltype(x)(1) / (x * x); });
  return map(
      "pow", a, [e](auto x) { return std::pow(x, static_cast<decltype(x)>(e)); },
      kTranscendentalCost);
}

// ---- unary --------------------------------------------------------------------------------
Tensor neg(const Tensor& a) {
  check_defined(a, "neg");
  MINIGRAD_CHECK(a.dtype() != DType::Bool)
      << "neg: negating a bool tensor is not supported; use logical_not() to invert a mask";
  return map<kFloat | kInt>("neg", a, [](auto x) { return -x; });
}
// exp, tanh and sigmoid in float run tensor/fast_math.h's vectorisable versions.
Tensor exp(const Tensor& a) {
  return map_floating(
      "exp", a, [](auto x) { return fast::exp(x); }, kTranscendentalCost);
}
Tensor log(const Tensor& a) {
  return map_floating(
      "log", a, [](auto x) { return std::log(x); }, kTranscendentalCost);
}
Tensor sqrt(const Tensor& a) {
  return map_floating("sqrt", a, [](auto x) { return std::sqrt(x); });
}
Tensor rsqrt(const Tensor& a) {
  return map("rsqrt", a, [](auto x) { return decltype(x)(1) / std::sqrt(x); });
}
Tensor tanh(const Tensor& a) {
  return map_floating(
      "tanh", a, [](auto x) { return fast::tanh(x); }, kTranscendentalCost);
}
// σ(x) = 1 / (1 + e^-x)
Tensor sigmoid(const Tensor& a) {
  return map_floating(
      "sigmoid", a, [](auto x) { return fast::sigmoid(x); }, kTranscendentalCost);
}
// x < 0 ? 0 : x keeps NaN (NaN < 0 is false) and −0, as torch.relu does.
Tensor relu(const Tensor& a) {
  return map<kFloat | kInt>("relu", a, [](auto x) { return x < 0 ? decltype(x)(0) : x; });
}
Tensor abs(const Tensor& a) {
  return map<kFloat | kInt>("abs", a, [](auto x) { return std::abs(x); });
}
Tensor sign(const Tensor& a) {
  return map<kFloat | kInt>("sign", a,
                            [](auto x) { return static_cast<decltype(x)>((x > 0) - (x < 0)); });
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
Tensor eq(const Tensor& a, const Scalar& b) { return eq(a, scalar_like(a, b, "eq")); }
Tensor ne(const Tensor& a, const Scalar& b) { return ne(a, scalar_like(a, b, "ne")); }
Tensor lt(const Tensor& a, const Scalar& b) { return lt(a, scalar_like(a, b, "lt")); }
Tensor le(const Tensor& a, const Scalar& b) { return le(a, scalar_like(a, b, "le")); }
Tensor gt(const Tensor& a, const Scalar& b) { return gt(a, scalar_like(a, b, "gt")); }
Tensor ge(const Tensor& a, const Scalar& b) { return ge(a, scalar_like(a, b, "ge")); }

Tensor logical_not(const Tensor& mask) {
  MINIGRAD_CHECK(mask.dtype() == DType::Bool)
      << "logical_not: expected bool, got " << dtype_name(mask.dtype());
  Tensor out = Tensor::empty(mask.shape(), DType::Bool);
  map_into<bool>(mask, out.data<bool>(), [](bool x) { return !x; });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined(cond, "where");
  check_defined(a, "where");
  check_defined(b, "where");
  MINIGRAD_CHECK(cond.dtype() == DType::Bool)
      << "where (condition): expected bool, got " << dtype_name(cond.dtype());
  const Shape shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  const DType dt = result_type(a, b);
  const Tensor c = cond.expand(shape), x = a.to(dt).expand(shape), y = b.to(dt).expand(shape);
  return dispatch<kAll>(dt, "where", names(a, b), [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(shape, dt);
    T* po = out.data<T>();
    const bool* pc = static_cast<const bool*>(c.raw_data());
    const T* px = static_cast<const T*>(x.raw_data());
    const T* py = static_cast<const T*>(y.raw_data());
    detail::parallel_for_each_run<4>(shape, {out.strides(), c.strides(), x.strides(), y.strides()},
                                     1, [&](auto off, int64_t n, auto st) {
                                       select_run(po + off[0], pc + off[1], px + off[2],
                                                  py + off[3], n, st);
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

// ---- GELU -----------------------------------------------------------------------------------
//
// The Gaussian error linear unit weighs x by the chance that a standard normal is below
// it, Φ(x) = ½(1 + erf(x/√2)); "tanh" is the older approximation of Φ that GPT-2 used.
//
//   "none":  y = x·Φ(x)                    dy/dx = Φ(x) + x·φ(x),   φ(x) = e^(−x²/2)/√(2π)
//   "tanh":  u = √(2/π)(x + 0.044715x³)    dy/dx = ½(1 + t) + ½x(1 − t²)·u′,
//            t = tanh u,  y = ½x(1 + t)           u′ = √(2/π)(1 + 3·0.044715x²)
namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;      // 1/√2
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1/√(2π)
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // √(2/π)
constexpr double kGeluCubic = 0.044715;

// true for "tanh", false for "none"; anything else is refused
bool gelu_uses_tanh(const std::string& approximate, const char* op) {
  MINIGRAD_CHECK(approximate == "none" || approximate == "tanh")
      << op << ": approximate must be \"none\" or \"tanh\", got \"" << approximate << "\"";
  return approximate == "tanh";
}

}  // namespace

Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (gelu_uses_tanh(approximate, "gelu")) {
    return map(
        "gelu", x,
        [](auto v) {
          using T = decltype(v);
          const T u = T(kSqrt2OverPi) * (v + T(kGeluCubic) * v * v * v);
          return T(0.5) * v * (T(1) + fast::tanh(u));
        },
        kTranscendentalCost);
  }
  return map(
      "gelu", x,
      [](auto v) {
        using T = decltype(v);
        return T(0.5) * v * (T(1) + fast::erf(v * T(kSqrt1_2)));
      },
      kTranscendentalCost);
}

Tensor gelu_backward(const Tensor& gy, const Tensor& x, const std::string& approximate) {
  if (gelu_uses_tanh(approximate, "gelu_backward")) {
    return zip<kFloat>(
        "gelu_backward", gy, x,
        [](auto g, auto v) {
          using T = decltype(v);
          const T v2 = v * v;
          const T t = fast::tanh(T(kSqrt2OverPi) * (v + T(kGeluCubic) * v2 * v));
          const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * v2);  // du/dx
          return g * (T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * du);
        },
        kTranscendentalCost);
  }
  return zip<kFloat>(
      "gelu_backward", gy, x,
      [](auto g, auto v) {
        using T = decltype(v);
        const T cdf = T(0.5) * (T(1) + fast::erf(v * T(kSqrt1_2)));  // Φ(x)
        const T pdf = T(kInvSqrt2Pi) * fast::exp(T(-0.5) * v * v);   // φ(x)
        return g * (cdf + v * pdf);
      },
      kTranscendentalCost);
}

}  // namespace minigrad
