// Fuzz target (b): shape, broadcast and view arithmetic.
//
// A random tensor goes through a random sequence of views (reshape, view,
// transpose, permute, narrow, slice, select, squeeze, unsqueeze, expand, split),
// copies, in-place writes, element-wise ops with broadcasting, reductions,
// softmax, matmul, indexing and joins. Beside it runs a reference model that
// knows nothing of strides:
//
//   every element of the current view remembers its ORIGIN, the index in the
//   base buffer it lives at; a view op only rearranges the list of origins.
//
// After every op the tensor must agree with the model: the shape and numel; the
// address offset + Σ index·stride of every element equals its origin; its
// values equal the base values at the origins; contiguous() equals that
// element-by-element copy; is_contiguous() holds exactly when the origins are
// consecutive. Arguments are drawn so that some are wrong (bad axes, indices,
// shapes, dtypes, huge or negative sizes); the model says which error type
// (std::invalid_argument or std::out_of_range) the op must throw, and any other
// outcome -- a wrong type, an error where none was due, none where one was, a
// crash, an ASan or UBSan report -- aborts.
//
// Values are small integers, so the reference arithmetic is exact (it runs in
// the tensor's own type, op by op, in the order the library documents).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "minigrad/tensor/ops.h"

namespace {

using minigrad::DType;
using minigrad::Shape;
using minigrad::Tensor;
using Ints = std::vector<int64_t>;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kCap = 4096;  // largest tensor the sequence continues with

enum class Outcome { Ok, InvalidArgument, OutOfRange };
const char* outcome_name(Outcome o) {
  return o == Outcome::Ok ? "success" : o == Outcome::InvalidArgument ? "std::invalid_argument" : "std::out_of_range";
}

std::string str(const Ints& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

const char* g_op = "start";  // the op being checked, for the failure report

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_views: INVARIANT BROKEN in %s: %s\n", g_op, what.c_str());
  std::abort();
}
void expect(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

// Runs f; returns what it threw (only the two documented types count).
template <class F>
Outcome run(F&& f, std::string* message = nullptr) {
  try {
    f();
    return Outcome::Ok;
  } catch (const std::out_of_range& e) {
    if (message) *message = e.what();
    return Outcome::OutOfRange;
  } catch (const std::invalid_argument& e) {
    if (message) *message = e.what();
    return Outcome::InvalidArgument;
  } catch (const std::exception& e) {
    fail(std::string("undocumented exception: ") + typeid(e).name() + ": " + e.what());
  }
}

void expect_outcome(Outcome want, Outcome got, const std::string& call) {
  if (want != got) fail(call + ": expected " + outcome_name(want) + ", got " + outcome_name(got));
}

// ---- index arithmetic of the reference model ------------------------------------------------

int64_t numel(const Ints& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}
// Product of the sizes, or -1 when it would not fit in int64 (or a size is negative).
int64_t safe_numel(const Ints& shape) {
  __int128 n = 1;
  bool zero = false;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d == 0) {
      zero = true;
      continue;
    }
    n *= d;
    if (n > kMax) return -1;
  }
  return zero ? 0 : static_cast<int64_t>(n);
}
Ints unravel(int64_t i, const Ints& shape) {
  Ints idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}
int64_t ravel(const Ints& idx, const Ints& shape) {
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + idx[d];
  return i;
}
// normalize_axis: -1 when out of range (rank 0 has no axes at all).
int norm_axis(int64_t axis, int rank) {
  if (rank == 0 || axis < -rank || axis >= rank) return -1;
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}
// PyTorch's rule for the ops that let a 0-d tensor take a dim (sum, mean, amax, argmax,
// softmax, squeeze, transpose): it counts as one axis, so 0 and -1 are accepted (and
// name no axis at all). Returns 0 for them, -1 when out of range.
int wrap_axis(int64_t axis, int rank) {
  if (rank == 0) return axis == 0 || axis == -1 ? 0 : -1;
  return norm_axis(axis, rank);
}
bool same_value(double a, double b) { return a == b || (a != a && b != b); }

Ints to_ints(const Shape& s) { return s.to_vector(); }
Shape to_shape(const Ints& v) { return Shape(v); }

// ---- the state: a base buffer and a view into it --------------------------------------------------

struct State {
  DType dtype = DType::Float64;
  Tensor base;                      // fresh, contiguous, offset 0: owns the buffer
  std::vector<double> base_values;  // what the buffer holds
  Tensor cur;                       // the view under test
  Ints shape;                       // the model: its shape ...
  Ints origin;                      // ... and each element's index in the buffer

  std::vector<double> values() const {
    std::vector<double> v(origin.size());
    for (size_t i = 0; i < origin.size(); ++i) v[i] = base_values[static_cast<size_t>(origin[i])];
    return v;
  }
};

// Makes `t` (a fresh tensor holding `vals`) the new base.
void rebase(State& s, const Tensor& t, const Ints& shape, std::vector<double> vals) {
  s.base = t;
  s.cur = t;
  s.dtype = t.dtype();
  s.shape = shape;
  s.base_values = std::move(vals);
  s.origin.resize(s.base_values.size());
  std::iota(s.origin.begin(), s.origin.end(), int64_t{0});
}

// Rounds a double to the state's dtype (what storing it in the tensor does).
double in_type(DType dt, double v) { return dt == DType::Float32 ? static_cast<double>(static_cast<float>(v)) : v; }

// Checks the tensor against the model (and, when the op made a copy, rebases).
void verify(State& s, const Tensor& t, const Ints& shape, const Ints& origin) {
  expect(to_ints(t.shape()) == shape, "shape " + t.shape().str() + " vs model " + str(shape));
  expect(t.dim() == static_cast<int>(shape.size()), "dim");
  expect(t.numel() == numel(shape), "numel");
  expect(t.strides().size() == t.dim(), "strides rank");
  expect(t.dtype() == s.dtype, "dtype");
  std::vector<double> want(origin.size());
  for (size_t i = 0; i < origin.size(); ++i) {
    expect(origin[i] >= 0 && origin[i] < static_cast<int64_t>(s.base_values.size()), "model origin out of range");
    want[i] = s.base_values[static_cast<size_t>(origin[i])];
  }
  const bool shares = t.storage() == s.base.storage();
  if (!shares) {
    // A copy: fresh, contiguous, from offset 0, holding the same values.
    expect(t.offset() == 0 && t.is_contiguous(), "a copy must be contiguous from offset 0");
    const std::vector<double> got = t.to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) expect(same_value(got[i], want[i]), "copied values");
    rebase(s, t, shape, want);
    return;
  }
  // A view: every element's address is its origin.
  const int64_t n = numel(shape);
  bool consecutive = true;
  for (int64_t i = 0; i < n; ++i) {
    const Ints idx = unravel(i, shape);
    int64_t off = t.offset();
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[static_cast<int>(d)];
    expect(off == origin[static_cast<size_t>(i)], "element " + str(idx) + " at " + std::to_string(off) +
                                                      ", model says " + std::to_string(origin[static_cast<size_t>(i)]));
    consecutive &= origin[static_cast<size_t>(i)] == origin[0] + i;
  }
  if (n > 0) expect(t.is_contiguous() == consecutive, "is_contiguous() disagrees with the layout");
  // Values, read three ways: to_vector, at(), and contiguous()'s buffer.
  const std::vector<double> got = t.to_vector<double>();
  for (size_t i = 0; i < got.size(); ++i) expect(same_value(got[i], want[i]), "values");
  for (int64_t i = 0; i < n; i += std::max<int64_t>(1, n / 16)) {
    expect(same_value(t.at(to_shape(unravel(i, shape))), want[static_cast<size_t>(i)]), "at()");
  }
  const Tensor c = t.contiguous();
  expect(c.is_contiguous() && to_ints(c.shape()) == shape, "contiguous() layout");
  if (t.is_contiguous()) expect(c.storage() == t.storage() && c.offset() == t.offset(), "contiguous() of contiguous copies");
  minigrad::dispatch_floating(c.dtype(), "verify", [&](auto tag) {
    using T = decltype(tag);
    const T* p = c.data<T>();
    for (int64_t i = 0; i < n; ++i)
      expect(same_value(static_cast<double>(p[i]), want[static_cast<size_t>(i)]), "contiguous() element");
  });
  s.cur = t;
  s.shape = shape;
  s.origin = origin;
}

// The base buffer, read whole, matches the model (after in-place writes).
void verify_base(const State& s) {
  const std::vector<double> got = s.base.to_vector<double>();
  expect(got.size() == s.base_values.size(), "base size");
  for (size_t i = 0; i < got.size(); ++i) expect(same_value(got[i], s.base_values[i]), "base value after write");
}

// ---- drawing arguments ----------------------------------------------------------------------------

struct Draw {
  FuzzedDataProvider& in;
  // Mostly near the valid range, sometimes the extremes of int64.
  int64_t index(int64_t n) {
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) {
      static const int64_t extremes[] = {kMin, kMin + 1, kMax, kMax - 1, int64_t{1} << 62, -(int64_t{1} << 62)};
      return in.PickValueInArray(extremes);
    }
    return in.ConsumeIntegralInRange<int64_t>(-n - 2, n + 2);
  }
  int64_t axis(int rank) {
    if (in.ConsumeIntegralInRange<int>(0, 31) == 0) return in.ConsumeBool() ? kMin : kMax;
    return in.ConsumeIntegralInRange<int64_t>(-rank - 1, rank);
  }
  int64_t small(int64_t lo, int64_t hi) { return in.ConsumeIntegralInRange<int64_t>(lo, hi); }
  // A shape that broadcasts against `like` most of the time.
  Ints broadcastable(const Ints& like) {
    const int rank = static_cast<int>(small(0, 4));
    Ints out(static_cast<size_t>(rank));
    for (int d = 0; d < rank; ++d) {
      const int from_right = rank - 1 - d;
      const int ld = static_cast<int>(like.size()) - 1 - from_right;
      switch (small(0, 5)) {
        case 0: out[static_cast<size_t>(d)] = 1; break;
        case 1: out[static_cast<size_t>(d)] = small(0, 4); break;
        default: out[static_cast<size_t>(d)] = ld >= 0 ? like[static_cast<size_t>(ld)] : small(1, 3);
      }
    }
    return out;
  }
  // Small integer values for a fresh operand.
  std::vector<double> values(int64_t n) {
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) x = static_cast<double>(small(-4, 4));
    return v;
  }
};

Tensor make(const std::vector<double>& vals, const Ints& shape, DType dt) {
  return Tensor::from_vector(vals, to_shape(shape)).to(dt);
}

// numpy broadcasting of two shapes, or false.
bool broadcast(const Ints& a, const Ints& b, Ints* out) {
  const size_t n = std::max(a.size(), b.size());
  out->assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i + a.size() >= n ? a[i + a.size() - n] : 1;
    const int64_t db = i + b.size() >= n ? b[i + b.size() - n] : 1;
    if (da != db && da != 1 && db != 1) return false;
    (*out)[i] = da == 1 ? db : da;
  }
  return true;
}
// Flat index into `shape` of the element that broadcasting maps output index `idx` to.
int64_t broadcast_source(const Ints& idx, const Ints& shape) {
  const size_t lead = idx.size() - shape.size();
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + (shape[d] == 1 ? 0 : idx[lead + d]);
  return i;
}

// ---- the ops ------------------------------------------------------------------------------------------

// The model's view after selecting positions `keep(d, i)` along one axis.
void model_take(const State& s, int axis, const std::vector<int64_t>& positions, bool drop_axis, Ints* shape,
                Ints* origin) {
  *shape = s.shape;
  (*shape)[static_cast<size_t>(axis)] = static_cast<int64_t>(positions.size());
  const int64_t n = numel(*shape);
  origin->assign(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    Ints idx = unravel(i, *shape);
    idx[static_cast<size_t>(axis)] = positions[static_cast<size_t>(idx[static_cast<size_t>(axis)])];
    (*origin)[static_cast<size_t>(i)] = s.origin[static_cast<size_t>(ravel(idx, s.shape))];
  }
  if (drop_axis) shape->erase(shape->begin() + axis);
}

// The model's view after reordering the axes: output axis d is source axis order[d].
// Checks `out` against it (transpose and permute).
void verify_permuted(State& s, const Tensor& out, const std::vector<int64_t>& order) {
  Ints shape(order.size()), origin(s.origin.size());
  for (size_t d = 0; d < order.size(); ++d) shape[d] = s.shape[static_cast<size_t>(order[d])];
  for (int64_t i = 0; i < numel(shape); ++i) {
    const Ints idx = unravel(i, shape);
    Ints src(idx.size());
    for (size_t d = 0; d < order.size(); ++d) src[static_cast<size_t>(order[d])] = idx[d];
    origin[static_cast<size_t>(i)] = s.origin[static_cast<size_t>(ravel(src, s.shape))];
  }
  verify(s, out, shape, origin);
}

void op_reshape(State& s, Draw& dr, bool view_only) {
  g_op = view_only ? "view" : "reshape";
  const int64_t n = numel(s.shape);
  Ints req;
  const int rank = static_cast<int>(dr.small(0, 5));
  if (dr.in.ConsumeBool()) {
    // A valid factorisation of n (for n = 0, some size is 0).
    int64_t rest = n;
    for (int d = 0; d < rank; ++d) {
      if (d == rank - 1) {
        req.push_back(rest);
        break;
      }
      int64_t f = dr.small(0, 4);
      if (rest == 0) {
        req.push_back(f);
        continue;
      }
      if (f == 0 || rest % f != 0) f = 1;
      req.push_back(f);
      rest /= f;
    }
    if (rank == 0 && n != 1) req.push_back(n);
    if (!req.empty() && dr.in.ConsumeBool()) req[static_cast<size_t>(dr.small(0, static_cast<int64_t>(req.size()) - 1))] = -1;
  } else {
    for (int d = 0; d < rank; ++d) req.push_back(dr.in.ConsumeIntegralInRange<int>(0, 9) == 0 ? dr.index(4) : dr.small(-2, 4));
  }
  // The model: at most one -1, no other negative size, the product fits and matches.
  Outcome want = Outcome::Ok;
  Ints resolved = req;
  int inferred = -1;
  __int128 known = 1;
  bool overflow = false;
  for (size_t i = 0; i < req.size(); ++i) {
    if (req[i] == -1) {
      if (inferred >= 0) want = Outcome::InvalidArgument;
      inferred = static_cast<int>(i);
    } else if (req[i] < 0) {
      want = Outcome::InvalidArgument;
    } else if (!overflow) {
      known *= req[i];  // (the library throws at the first partial product past int64)
      if (known > kMax) overflow = true;
    }
  }
  if (overflow) want = Outcome::InvalidArgument;
  if (want == Outcome::Ok && inferred >= 0) {
    if (known == 0 || n % static_cast<int64_t>(known) != 0) {
      want = Outcome::InvalidArgument;
    } else {
      resolved[static_cast<size_t>(inferred)] = n / static_cast<int64_t>(known);
    }
  }
  if (want == Outcome::Ok && (safe_numel(resolved) != n)) want = Outcome::InvalidArgument;

  Tensor out;
  std::string msg;
  const Outcome got = run([&] { out = view_only ? s.cur.view(to_shape(req)) : s.cur.reshape(to_shape(req)); }, &msg);
  if (view_only && want == Outcome::Ok && got == Outcome::InvalidArgument) {
    // Not expressible as a view of these strides: then reshape must copy.
    expect(msg.rfind("view: ", 0) == 0, "view's refusal must name view: " + msg);
    const Tensor copy = s.cur.reshape(to_shape(req));
    expect(copy.storage() != s.cur.storage(), "view refused but reshape did not copy");
    return;
  }
  expect_outcome(want, got, std::string(g_op) + str(req) + " of " + str(s.shape));
  if (got != Outcome::Ok) return;
  if (view_only) expect(out.storage() == s.cur.storage(), "view() copied");
  verify(s, out, resolved, s.origin);
}

void op_transpose(State& s, Draw& dr) {
  g_op = "transpose";
  const int rank = static_cast<int>(s.shape.size());
  const int64_t a0 = dr.axis(rank), a1 = dr.axis(rank);
  const int n0 = wrap_axis(a0, rank), n1 = wrap_axis(a1, rank);
  Tensor out;
  expect_outcome(n0 < 0 || n1 < 0 ? Outcome::OutOfRange : Outcome::Ok, run([&] { out = s.cur.transpose(a0, a1); }),
                 "transpose");
  if (n0 < 0 || n1 < 0) return;
  if (rank == 0) {  // a 0-d tensor is its own transpose
    verify(s, out, s.shape, s.origin);
    return;
  }
  std::vector<int64_t> order(static_cast<size_t>(rank));
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[static_cast<size_t>(n0)], order[static_cast<size_t>(n1)]);
  verify_permuted(s, out, order);
}

void op_permute(State& s, Draw& dr) {
  g_op = "permute";
  const int rank = static_cast<int>(s.shape.size());
  int len = rank;
  if (dr.in.ConsumeIntegralInRange<int>(0, 7) == 0) len = static_cast<int>(dr.small(0, 5));
  std::vector<int64_t> order(static_cast<size_t>(len));
  std::iota(order.begin(), order.end(), 0);
  // a shuffle, and sometimes a bad entry
  for (int i = len - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(dr.small(0, i))]);
  if (len > 0 && dr.in.ConsumeIntegralInRange<int>(0, 5) == 0) order[static_cast<size_t>(dr.small(0, len - 1))] = dr.axis(rank);
  if (len > 0 && order[0] >= 0 && order[0] < rank && dr.in.ConsumeBool()) order[0] -= rank;  // negative spelling
  // The model, in the library's order of checks.
  Outcome want = Outcome::Ok;
  std::vector<int64_t> norm;
  if (len != rank) {
    want = Outcome::InvalidArgument;
  } else {
    std::vector<bool> seen(static_cast<size_t>(rank));
    for (int i = 0; i < len && want == Outcome::Ok; ++i) {
      const int a = norm_axis(order[static_cast<size_t>(i)], rank);
      if (a < 0) {
        want = Outcome::OutOfRange;
      } else if (seen[static_cast<size_t>(a)]) {
        want = Outcome::InvalidArgument;
      } else {
        seen[static_cast<size_t>(a)] = true;
        norm.push_back(a);
      }
    }
  }
  Tensor out;
  expect_outcome(want, run([&] { out = s.cur.permute(order); }), "permute" + str(order) + " of " + str(s.shape));
  if (want != Outcome::Ok) return;
  verify_permuted(s, out, norm);
}

void op_narrow(State& s, Draw& dr) {
  g_op = "narrow";
  const int rank = static_cast<int>(s.shape.size());
  const int64_t axis = dr.axis(rank);
  const int a = norm_axis(axis, rank);
  const int64_t n = a >= 0 ? s.shape[static_cast<size_t>(a)] : 3;
  const int64_t drawn = dr.index(n), length = dr.index(n);
  // PyTorch: a start in [-n, 0) counts from the end
  const int64_t start = drawn < 0 && drawn >= -n ? drawn + n : drawn;
  Outcome want = Outcome::Ok;
  if (rank == 0) {
    want = Outcome::InvalidArgument;  // "narrow() cannot be applied to a 0-dim tensor"
  } else if (a < 0 || start < 0 || length < 0 || static_cast<__int128>(start) + length > n) {
    want = Outcome::OutOfRange;
  }
  Tensor out;
  expect_outcome(want, run([&] { out = s.cur.narrow(axis, drawn, length); }),
                 "narrow(" + std::to_string(axis) + ", " + std::to_string(start) + ", " +
                     std::to_string(length) + ")");
  if (want != Outcome::Ok) return;
  std::vector<int64_t> pos(static_cast<size_t>(length));
  std::iota(pos.begin(), pos.end(), start);
  Ints shape, origin;
  model_take(s, a, pos, false, &shape, &origin);
  verify(s, out, shape, origin);
}

void op_slice(State& s, Draw& dr) {
  g_op = "slice";
  const int rank = static_cast<int>(s.shape.size());
  const int64_t axis = dr.axis(rank);
  const int a = norm_axis(axis, rank);
  const int64_t n = a >= 0 ? s.shape[static_cast<size_t>(a)] : 3;
  const int64_t start = dr.index(n), end = dr.index(n);
  const int64_t step = dr.in.ConsumeIntegralInRange<int>(0, 7) == 0 ? dr.index(n) : dr.small(1, 3);
  const Outcome want = a < 0 ? Outcome::OutOfRange : step <= 0 ? Outcome::InvalidArgument : Outcome::Ok;
  Tensor out;
  expect_outcome(want, run([&] { out = s.cur.slice(axis, start, end, step); }),
                 "slice(" + std::to_string(axis) + ", " + std::to_string(start) + ", " + std::to_string(end) + ", " +
                     std::to_string(step) + ")");
  if (want != Outcome::Ok) return;
  // Python: negative positions count from the end, then clamp to [0, n].
  auto clamp = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  const int64_t b = clamp(start), e = std::max(clamp(end), b);
  std::vector<int64_t> pos;
  for (__int128 i = b; i < e; i += step) pos.push_back(static_cast<int64_t>(i));
  Ints shape, origin;
  model_take(s, a, pos, false, &shape, &origin);
  verify(s, out, shape, origin);
}

void op_select(State& s, Draw& dr) {
  g_op = "select";
  const int rank = static_cast<int>(s.shape.size());
  const int64_t axis = dr.axis(rank);
  const int a = norm_axis(axis, rank);
  const int64_t n = a >= 0 ? s.shape[static_cast<size_t>(a)] : 3;
  const int64_t index = dr.index(n);
  const Outcome want = a < 0 || index < -n || index >= n ? Outcome::OutOfRange : Outcome::Ok;
  Tensor out;
  expect_outcome(want, run([&] { out = s.cur.select(axis, index); }),
                 "select(" + std::to_string(axis) + ", " + std::to_string(index) + ") of " + str(s.shape));
  if (want != Outcome::Ok) return;
  Ints shape, origin;
  model_take(s, a, {index < 0 ? index + n : index}, true, &shape, &origin);
  verify(s, out, shape, origin);
}

void op_squeeze(State& s, Draw& dr) {
  g_op = "squeeze";
  const int rank = static_cast<int>(s.shape.size());
  Tensor out;
  Ints shape;
  if (dr.in.ConsumeBool()) {
    expect_outcome(Outcome::Ok, run([&] { out = s.cur.squeeze(); }), "squeeze()");
    for (int64_t d : s.shape)
      if (d != 1) shape.push_back(d);
  } else {
    const int64_t axis = dr.axis(rank);
    const int a = wrap_axis(axis, rank);
    const Outcome want = a < 0 ? Outcome::OutOfRange : Outcome::Ok;
    expect_outcome(want, run([&] { out = s.cur.squeeze(axis); }), "squeeze(" + std::to_string(axis) + ") of " + str(s.shape));
    if (want != Outcome::Ok) return;
    shape = s.shape;
    // PyTorch: an axis whose size is not 1 (and a 0-d tensor) is left as it is
    if (rank > 0 && shape[static_cast<size_t>(a)] == 1) shape.erase(shape.begin() + a);
  }
  verify(s, out, shape, s.origin);
}

void op_unsqueeze(State& s, Draw& dr) {
  g_op = "unsqueeze";
  const int rank = static_cast<int>(s.shape.size());
  const int64_t axis = dr.axis(rank + 1);
  const int a = norm_axis(axis, rank + 1);
  const Outcome want = a < 0 ? Outcome::OutOfRange : rank == minigrad::kMaxDims ? Outcome::InvalidArgument : Outcome::Ok;
  Tensor out;
  expect_outcome(want, run([&] { out = s.cur.unsqueeze(axis); }), "unsqueeze(" + std::to_string(axis) + ") of " + str(s.shape));
  if (want != Outcome::Ok) return;
  Ints shape = s.shape;
  shape.insert(shape.begin() + a, 1);
  verify(s, out, shape, s.origin);
}

void op_expand(State& s, Draw& dr) {
  g_op = "expand";
  const int rank = static_cast<int>(s.shape.size());
  const int lead = static_cast<int>(dr.small(rank == 0 ? 0 : -1, 2));
  const int out_rank = std::min(std::max(rank + lead, 0), minigrad::kMaxDims);
  Ints target(static_cast<size_t>(out_rank));
  for (int d = 0; d < out_rank; ++d) {
    const int src = d - (out_rank - rank);
    const int64_t have = src >= 0 ? s.shape[static_cast<size_t>(src)] : 1;
    int64_t v = have == 1 ? dr.small(0, 3) : have;
    if (dr.in.ConsumeIntegralInRange<int>(0, 11) == 0) v = dr.in.ConsumeBool() ? dr.index(4) : int64_t{1} << dr.small(20, 62);
    target[static_cast<size_t>(d)] = v;
  }
  Outcome want = Outcome::Ok;
  const Ints requested = target;
  // PyTorch: -1 keeps an existing axis' size; in a new leading axis it is an error
  for (int d = 0; d < out_rank && out_rank >= rank; ++d) {
    if (target[static_cast<size_t>(d)] != -1) continue;
    if (d < out_rank - rank) {
      want = Outcome::InvalidArgument;
      break;
    }
    target[static_cast<size_t>(d)] = s.shape[static_cast<size_t>(d - (out_rank - rank))];
  }
  if (out_rank < rank) {
    want = Outcome::InvalidArgument;
  } else if (want == Outcome::Ok && target != s.shape) {
    __int128 p = 1;
    for (int64_t v : target) {
      if (v < 0) want = Outcome::InvalidArgument;
      if (v > 0 && p <= kMax) p *= v;
      if (p > kMax) want = Outcome::InvalidArgument;
    }
    for (int d = 0; d < rank && want == Outcome::Ok; ++d) {
      const int64_t have = s.shape[static_cast<size_t>(d)], to = target[static_cast<size_t>(d + out_rank - rank)];
      if (have != to && have != 1) want = Outcome::InvalidArgument;
    }
  }
  Tensor out;
  expect_outcome(want, run([&] { out = s.cur.expand(to_shape(requested)); }),
                 "expand " + str(s.shape) + " to " + str(requested));
  if (want != Outcome::Ok) return;
  expect(out.storage() == s.cur.storage(), "expand copied");
  const int64_t n = safe_numel(target);
  if (n > kCap) {
    // Too big to walk: the layout must still be right. Broadcast axes have stride 0.
    expect(to_ints(out.shape()) == target, "expand shape");
    for (int d = 0; d < out_rank; ++d) {
      const int src = d - (out_rank - rank);
      if (src < 0 || (s.shape[static_cast<size_t>(src)] == 1 && target[static_cast<size_t>(d)] != 1))
        expect(out.strides()[d] == 0, "a broadcast axis must have stride 0");
    }
    return;
  }
  Ints origin(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    origin[static_cast<size_t>(i)] = s.origin[static_cast<size_t>(broadcast_source(unravel(i, target), s.shape))];
  verify(s, out, target, origin);
}

void op_split(State& s, Draw& dr) {
  g_op = "split";
  const int rank = static_cast<int>(s.shape.size());
  const int64_t axis = dr.axis(rank);
  const int a = norm_axis(axis, rank);
  const int64_t n = a >= 0 ? s.shape[static_cast<size_t>(a)] : 3;
  std::vector<int64_t> sizes;
  std::vector<Tensor> parts;
  Outcome want = a < 0 ? Outcome::OutOfRange : Outcome::Ok;
  Outcome got;
  if (dr.in.ConsumeBool()) {
    const int64_t chunk = dr.in.ConsumeIntegralInRange<int>(0, 7) == 0 ? dr.index(n) : dr.small(1, 3);
    if (want == Outcome::Ok && chunk <= 0) want = Outcome::InvalidArgument;
    if (want == Outcome::Ok)
      for (int64_t at = 0; at < n; at += chunk) sizes.push_back(std::min(chunk, n - at));
    got = run([&] { parts = minigrad::split(s.cur, chunk, axis); });
  } else {
    const int k = static_cast<int>(dr.small(0, 3));
    int64_t left = n;
    for (int i = 0; i < k; ++i) {
      int64_t v = i == k - 1 ? left : dr.small(0, std::max<int64_t>(left, 0));
      if (dr.in.ConsumeIntegralInRange<int>(0, 7) == 0) v = dr.index(n);
      sizes.push_back(v);
      if (v > 0) left -= std::min(v, left);
    }
    __int128 total = 0;
    for (int64_t v : sizes) {
      if (v < 0 && want == Outcome::Ok) want = Outcome::InvalidArgument;
      total += v;
    }
    if (want == Outcome::Ok && total != n) want = Outcome::InvalidArgument;
    got = run([&] { parts = minigrad::split(s.cur, sizes, axis); });
  }
  expect_outcome(want, got, "split " + str(sizes) + " along " + std::to_string(axis) + " of " + str(s.shape));
  if (want != Outcome::Ok) return;
  expect(parts.size() == sizes.size(), "number of pieces");
  if (parts.empty()) return;
  // Each piece is a view; check them all, then carry on with one.
  const size_t keep = static_cast<size_t>(dr.small(0, static_cast<int64_t>(parts.size()) - 1));
  int64_t at = 0;
  Ints keep_shape, keep_origin;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::vector<int64_t> pos(static_cast<size_t>(sizes[i]));
    std::iota(pos.begin(), pos.end(), at);
    at += sizes[i];
    Ints shape, origin;
    model_take(s, a, pos, false, &shape, &origin);
    expect(parts[i].storage() == s.cur.storage(), "a split piece copied");
    if (i == keep) {
      keep_shape = shape;
      keep_origin = origin;
    } else {
      State probe = s;
      verify(probe, parts[i], shape, origin);
    }
  }
  verify(s, parts[keep], keep_shape, keep_origin);
}

// ---- copies and in-place writes ---------------------------------------------------------------------------

void op_copy(State& s, Draw& dr) {
  g_op = "copy";
  const int kind = static_cast<int>(dr.small(0, 2));
  Tensor out;
  if (kind == 0) {
    expect_outcome(Outcome::Ok, run([&] { out = s.cur.contiguous(); }), "contiguous");
  } else if (kind == 1) {
    expect_outcome(Outcome::Ok, run([&] { out = s.cur.clone(); }), "clone");
    expect(out.storage() != s.cur.storage(), "clone shares storage");
  } else {
    const DType to = s.dtype == DType::Float32 ? DType::Float64 : DType::Float32;
    expect_outcome(Outcome::Ok, run([&] { out = s.cur.to(to); }), "to");
    expect(out.dtype() == to && out.storage() != s.cur.storage(), "to() must copy into the new dtype");
    std::vector<double> vals = s.values();
    for (double& v : vals) v = in_type(to, v);
    const std::vector<double> got = out.to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) expect(same_value(got[i], vals[i]), "to() values");
    rebase(s, out, s.shape, vals);
    return;
  }
  verify(s, out, s.shape, s.origin);
}

bool origins_distinct(const State& s) {
  Ints o = s.origin;
  std::sort(o.begin(), o.end());
  return std::adjacent_find(o.begin(), o.end()) == o.end();
}

void op_write(State& s, Draw& dr) {
  g_op = "in-place write";
  const int kind = static_cast<int>(dr.small(0, 2));
  if (kind == 0) {
    const double v = static_cast<double>(dr.small(-9, 9));
    expect_outcome(Outcome::Ok, run([&] { s.cur.fill_(v); }), "fill_");
    for (int64_t o : s.origin) s.base_values[static_cast<size_t>(o)] = v;
    verify_base(s);
    return;
  }
  // copy_ / add_ from a fresh source that broadcasts to the view; only into a view
  // without repeated elements (writing twice to one element has no single answer).
  if (!origins_distinct(s)) return;
  const Ints src_shape = dr.broadcastable(s.shape);
  if (numel(src_shape) > kCap) return;
  const std::vector<double> src_vals = dr.values(numel(src_shape));
  const Tensor src = make(src_vals, src_shape, s.dtype);
  Ints joint;
  const bool ok = src_shape.size() <= s.shape.size() && broadcast(src_shape, s.shape, &joint) && joint == s.shape;
  const double alpha = static_cast<double>(dr.small(-2, 2));
  const Outcome got = run([&] {
    if (kind == 1) {
      s.cur.copy_(src);
    } else {
      s.cur.add_(src, alpha);
    }
  });
  expect_outcome(ok ? Outcome::Ok : Outcome::InvalidArgument, got, (kind == 1 ? "copy_ " : "add_ ") + str(src_shape) + " into " + str(s.shape));
  if (!ok) {
    verify_base(s);  // a refused write changes nothing
    return;
  }
  for (int64_t i = 0; i < numel(s.shape); ++i) {
    double& dst = s.base_values[static_cast<size_t>(s.origin[static_cast<size_t>(i)])];
    const double v = src_vals[static_cast<size_t>(broadcast_source(unravel(i, s.shape), src_shape))];
    if (kind == 1) {
      dst = v;
    } else if (s.dtype == DType::Float32) {
      dst = static_cast<float>(static_cast<float>(dst) + static_cast<float>(alpha) * static_cast<float>(v));
    } else {
      dst = dst + alpha * v;
    }
  }
  verify_base(s);
}

// ---- element-wise, reductions, softmax, matmul ---------------------------------------------------------------

void op_binary(State& s, Draw& dr) {
  g_op = "binary";
  const Ints other_shape = dr.broadcastable(s.shape);
  if (numel(other_shape) > kCap) return;
  const std::vector<double> other_vals = dr.values(numel(other_shape));
  const bool wrong_dtype = dr.in.ConsumeIntegralInRange<int>(0, 15) == 0;
  const DType odt = wrong_dtype ? (s.dtype == DType::Float32 ? DType::Float64 : DType::Float32) : s.dtype;
  const Tensor other = make(other_vals, other_shape, odt);
  const int which = static_cast<int>(dr.small(0, 4));
  const bool swap = dr.in.ConsumeBool();
  Ints out_shape;
  const bool ok = broadcast(s.shape, other_shape, &out_shape);
  if (ok && numel(out_shape) > kCap) return;
  static const char* names[] = {"add", "sub", "mul", "maximum", "minimum"};
  g_op = names[which];
  Tensor out;
  const Outcome got = run([&] {
    const Tensor& a = swap ? other : s.cur;
    const Tensor& b = swap ? s.cur : other;
    switch (which) {
      case 0: out = minigrad::add(a, b); break;
      case 1: out = minigrad::sub(a, b); break;
      case 2: out = minigrad::mul(a, b); break;
      case 3: out = minigrad::maximum(a, b); break;
      default: out = minigrad::minimum(a, b); break;
    }
  });
  expect_outcome(!ok ? Outcome::InvalidArgument : Outcome::Ok, got,
                 std::string(names[which]) + " " + str(s.shape) + " and " + str(other_shape));
  if (got != Outcome::Ok) return;
  // PyTorch's result_type: float32 with float64 computes in float64, unless only the
  // float64 operand is 0-d (a tensor with axes outranks a 0-d one of its category)
  const bool mine_0d = s.shape.empty(), other_0d = other_shape.empty();
  const DType pdt = !wrong_dtype          ? s.dtype
                    : mine_0d == other_0d ? DType::Float64
                    : mine_0d             ? odt
                                          : s.dtype;
  const std::vector<double> mine = s.values();
  std::vector<double> want(static_cast<size_t>(numel(out_shape)));
  minigrad::dispatch_floating(pdt, "reference", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t i = 0; i < numel(out_shape); ++i) {
      const Ints idx = unravel(i, out_shape);
      T x = static_cast<T>(
          in_type(s.dtype, mine[static_cast<size_t>(broadcast_source(idx, s.shape))]));
      T y = static_cast<T>(
          in_type(odt, other_vals[static_cast<size_t>(broadcast_source(idx, other_shape))]));
      if (swap) std::swap(x, y);
      T r;
      switch (which) {
        case 0:
          r = x + y;
          break;
        case 1:
          r = x - y;
          break;
        case 2:
          r = x * y;
          break;
        case 3:
          r = (x != x || x > y) ? x : y;
          break;
        default:
          r = (x != x || x < y) ? x : y;
          break;
      }
      want[static_cast<size_t>(i)] = static_cast<double>(r);
    }
  });
  expect(to_ints(out.shape()) == out_shape, "broadcast shape " + out.shape().str() + " vs " + str(out_shape));
  expect(out.dtype() == pdt, "promoted dtype");
  expect(out.storage() != s.cur.storage() && out.storage() != other.storage(), "a result shares an input's storage");
  expect(out.is_contiguous() && out.offset() == 0, "a fresh result must be contiguous");
  const std::vector<double> got_vals = out.to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i) expect(same_value(got_vals[i], want[i]), "element-wise values");
  rebase(s, out, out_shape, want);
}

void op_unary(State& s, Draw& dr) {
  const int which = static_cast<int>(dr.small(0, 5));
  static const char* names[] = {"neg", "abs", "relu", "sign", "mul scalar", "add scalar"};
  g_op = names[which];
  const double c = static_cast<double>(dr.small(-3, 3));
  Tensor out;
  expect_outcome(Outcome::Ok, run([&] {
                   switch (which) {
                     case 0: out = minigrad::neg(s.cur); break;
                     case 1: out = minigrad::abs(s.cur); break;
                     case 2: out = minigrad::relu(s.cur); break;
                     case 3: out = minigrad::sign(s.cur); break;
                     case 4: out = minigrad::mul(s.cur, c); break;
                     default: out = minigrad::add(s.cur, c); break;
                   }
                 }),
                 names[which]);
  std::vector<double> want = s.values();
  minigrad::dispatch_floating(s.dtype, "reference", [&](auto tag) {
    using T = decltype(tag);
    for (double& v : want) {
      const T x = static_cast<T>(v);
      T r;
      switch (which) {
        case 0: r = -x; break;
        case 1: r = std::abs(x); break;
        case 2:
          r = x < 0 ? T(0) : x;
          break;  // NaN stays NaN, as torch.relu
        case 3: r = static_cast<T>((x > 0) - (x < 0)); break;
        case 4: r = x * static_cast<T>(c); break;
        default: r = x + static_cast<T>(c); break;
      }
      v = static_cast<double>(r);
    }
  });
  expect(to_ints(out.shape()) == s.shape && out.is_contiguous(), "unary result layout");
  const std::vector<double> got = out.to_vector<double>();
  for (size_t i = 0; i < got.size(); ++i) expect(same_value(got[i], want[i]), std::string(names[which]) + " values");
  rebase(s, out, s.shape, want);
}

// sum / mean over a list of axes, amax / argmax over one.
void op_reduce(State& s, Draw& dr) {
  const int rank = static_cast<int>(s.shape.size());
  const int which = static_cast<int>(dr.small(0, 3));
  const bool keepdim = dr.in.ConsumeBool();
  std::vector<int64_t> axes;
  const int count = which < 2 ? static_cast<int>(dr.small(0, 3)) : 1;
  for (int i = 0; i < count; ++i) axes.push_back(dr.axis(rank));
  // The model: which axes, in the library's order of checks.
  Outcome want = Outcome::Ok;
  std::vector<bool> red(static_cast<size_t>(rank), axes.empty());
  for (int64_t ax : axes) {
    const int a = wrap_axis(ax, rank);
    if (a < 0) {
      want = Outcome::OutOfRange;
      break;
    }
    if (rank == 0) continue;  // axis 0 or -1 of a 0-d tensor reduces nothing
    if (red[static_cast<size_t>(a)] && which < 2) {
      want = Outcome::InvalidArgument;
      break;
    }
    red[static_cast<size_t>(a)] = true;
  }
  int64_t reduced_count = 1;
  Ints out_shape;
  for (int d = 0; d < rank; ++d) {
    if (red[static_cast<size_t>(d)]) {
      reduced_count *= s.shape[static_cast<size_t>(d)];
      if (keepdim) out_shape.push_back(1);
    } else {
      out_shape.push_back(s.shape[static_cast<size_t>(d)]);
    }
  }
  // amax and argmax of nothing have no answer; the mean of nothing is NaN (PyTorch)
  if (want == Outcome::Ok && which >= 2 && reduced_count == 0) want = Outcome::InvalidArgument;
  static const char* names[] = {"sum", "mean", "amax", "argmax"};
  g_op = names[which];
  Tensor out;
  const Outcome got = run([&] {
    switch (which) {
      case 0: out = minigrad::sum(s.cur, axes, keepdim); break;
      case 1: out = minigrad::mean(s.cur, axes, keepdim); break;
      case 2: out = minigrad::amax(s.cur, axes[0], keepdim); break;
      default: out = minigrad::argmax(s.cur, axes[0], keepdim); break;
    }
  });
  expect_outcome(want, got, std::string(names[which]) + " over " + str(axes) + " of " + str(s.shape));
  if (want != Outcome::Ok) return;
  expect(to_ints(out.shape()) == out_shape, "reduction shape " + out.shape().str() + " vs " + str(out_shape));
  // The reference, in the input's row-major order (the order the library promises).
  Ints kept_shape;
  for (int d = 0; d < rank; ++d) kept_shape.push_back(red[static_cast<size_t>(d)] ? 1 : s.shape[static_cast<size_t>(d)]);
  const int64_t m = numel(kept_shape), n = numel(s.shape);
  const std::vector<double> vals = s.values();
  std::vector<double> want_vals(static_cast<size_t>(m));
  minigrad::dispatch_floating(s.dtype, "reference", [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> acc(static_cast<size_t>(m), T(0));
    std::vector<int64_t> best(static_cast<size_t>(m), -1);
    for (int64_t i = 0; i < n; ++i) {
      Ints idx = unravel(i, s.shape);
      const int64_t pos =
          idx.empty()
              ? 0
              : idx[static_cast<size_t>(std::max(0, wrap_axis(which >= 2 ? axes[0] : 0, rank)))];
      for (int d = 0; d < rank; ++d)
        if (red[static_cast<size_t>(d)]) idx[static_cast<size_t>(d)] = 0;
      const auto o = static_cast<size_t>(ravel(idx, kept_shape));
      const T v = static_cast<T>(vals[static_cast<size_t>(i)]);
      if (which < 2) {
        acc[o] += v;
      } else if (best[o] < 0 || (acc[o] == acc[o] && (v > acc[o] || v != v))) {
        acc[o] = v;  // first maximum wins; the first NaN wins outright
        best[o] = pos;
      }
    }
    for (int64_t o = 0; o < m; ++o) {
      T r = acc[static_cast<size_t>(o)];
      if (which == 1) r = r * static_cast<T>(1.0 / static_cast<double>(reduced_count));
      want_vals[static_cast<size_t>(o)] = which == 3 ? static_cast<double>(best[static_cast<size_t>(o)]) : static_cast<double>(r);
    }
  });
  const std::vector<double> got_vals = out.to_vector<double>();
  expect(got_vals.size() == want_vals.size(), "reduction size");
  for (size_t i = 0; i < got_vals.size(); ++i)
    expect(same_value(got_vals[i], want_vals[i]),
           std::string(names[which]) + " value " + std::to_string(got_vals[i]) + " vs " + std::to_string(want_vals[i]));
  if (which == 3) {
    expect(out.dtype() == DType::Int64, "argmax dtype");
    return;  // (an int64 tensor: not something to continue with)
  }
  rebase(s, out, out_shape, want_vals);
}

void op_softmax(State& s, Draw& dr) {
  const bool log = dr.in.ConsumeBool();
  g_op = log ? "log_softmax" : "softmax";
  const int rank = static_cast<int>(s.shape.size());
  const int64_t axis = dr.axis(rank);
  const int a = wrap_axis(axis, rank);
  Tensor out;
  expect_outcome(a < 0 ? Outcome::OutOfRange : Outcome::Ok,
                 run([&] { out = log ? minigrad::log_softmax(s.cur, axis) : minigrad::softmax(s.cur, axis); }), g_op);
  if (a < 0) return;
  expect(to_ints(out.shape()) == s.shape, "softmax shape");
  if (rank == 0) {  // one row of one element: 1, or 0 in log space (NaN stays NaN)
    const double x = s.values()[0], y = out.to_vector<double>()[0];
    expect(std::isnan(x) ? std::isnan(y) : same_value(y, log ? 0.0 : 1.0) || std::isinf(x),
           "0-d softmax");
    return;
  }
  const std::vector<double> x = s.values(), y = out.to_vector<double>();
  const int64_t len = s.shape[static_cast<size_t>(a)];
  if (len == 0) return;
  // Every row along the axis sums to 1 (when it holds only finite numbers).
  const double tol = s.dtype == DType::Float32 ? 1e-5 : 1e-12;
  for (int64_t i = 0; i < numel(s.shape); ++i) {
    Ints idx = unravel(i, s.shape);
    if (idx[static_cast<size_t>(a)] != 0) continue;
    double total = 0;
    bool finite = true;
    for (int64_t j = 0; j < len; ++j) {
      idx[static_cast<size_t>(a)] = j;
      const int64_t k = ravel(idx, s.shape);
      finite &= std::isfinite(x[static_cast<size_t>(k)]);
      const double p = log ? std::exp(y[static_cast<size_t>(k)]) : y[static_cast<size_t>(k)];
      // NaN (and +inf) elsewhere in the row makes every entry NaN, as in PyTorch
      if (!std::isnan(p)) expect(p >= 0 && p <= 1 + tol, "a probability outside [0, 1]");
      total += p;
    }
    if (finite) expect(std::abs(total - 1) <= tol * static_cast<double>(len + 1), "a softmax row does not sum to 1");
  }
}

void op_matmul(State& s, Draw& dr) {
  g_op = "matmul";
  const int rank = static_cast<int>(s.shape.size());
  const bool ta = dr.in.ConsumeBool();
  if (rank >= 2) {
    const int64_t m = s.shape[static_cast<size_t>(ta ? rank - 1 : rank - 2)];
    if (numel(s.shape) / std::max<int64_t>(s.shape[static_cast<size_t>(rank - 1)] * s.shape[static_cast<size_t>(rank - 2)], 1) * m * m > kCap) return;
  }
  Tensor out;
  // cur · curᵀ (or curᵀ · cur): the operands always fit, except below rank 2.
  const Outcome got = run([&] { out = ta ? s.cur.mT().matmul(s.cur) : s.cur.matmul(s.cur.mT()); });
  expect_outcome(rank < 2 ? Outcome::InvalidArgument : Outcome::Ok, got, "matmul of " + str(s.shape));
  if (rank < 2) return;
  const int64_t r = s.shape[static_cast<size_t>(rank - 2)], c = s.shape[static_cast<size_t>(rank - 1)];
  const int64_t m = ta ? c : r, k = ta ? r : c;
  Ints out_shape(s.shape.begin(), s.shape.end() - 2);
  out_shape.push_back(m);
  out_shape.push_back(m);
  expect(to_ints(out.shape()) == out_shape, "matmul shape");
  // Exact when the values are small integers (every partial sum is exact).
  const std::vector<double> v = s.values();
  for (double x : v)
    if (!(std::abs(x) <= 64 && x == std::floor(x))) return;
  if (k > 64) return;
  const int64_t batch = numel(out_shape) / std::max<int64_t>(m * m, 1);
  const std::vector<double> got_vals = out.to_vector<double>();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          const int64_t x = ta ? p * c + i : i * c + p, y = ta ? p * c + j : j * c + p;
          acc += v[static_cast<size_t>(b * r * c + x)] * v[static_cast<size_t>(b * r * c + y)];
        }
        expect(got_vals[static_cast<size_t>((b * m + i) * m + j)] == acc, "matmul value");
      }
}

// index_select, gather, concat, stack.
void op_index(State& s, Draw& dr) {
  const int rank = static_cast<int>(s.shape.size());
  const int which = static_cast<int>(dr.small(0, 3));
  const int64_t axis = dr.axis(which == 3 ? rank + 1 : rank);
  const int a = norm_axis(axis, which == 3 ? rank + 1 : rank);
  const std::vector<double> vals = s.values();
  Tensor out;
  Ints out_shape;
  std::vector<double> want;
  if (which == 0) {
    g_op = "index_select";
    const int64_t n = a >= 0 ? s.shape[static_cast<size_t>(a)] : 3;
    std::vector<int64_t> idx(static_cast<size_t>(dr.small(0, 4)));
    bool bad = false;
    for (int64_t& i : idx) {
      i = dr.in.ConsumeIntegralInRange<int>(0, 9) == 0 ? dr.index(n) : dr.small(0, std::max<int64_t>(n - 1, 0));
      bad |= i < 0 || i >= n;
    }
    Outcome want_o = a < 0 || bad ? Outcome::OutOfRange : Outcome::Ok;
    if (rank == 0) {  // PyTorch: one element along axis 0 or -1, taken by a one-element index
      const bool bad0 = !idx.empty() && idx[0] != 0;
      want_o = wrap_axis(axis, 0) < 0 ? Outcome::OutOfRange
               : idx.size() != 1      ? Outcome::InvalidArgument
               : bad0                 ? Outcome::OutOfRange
                                      : Outcome::Ok;
    }
    expect_outcome(want_o, run([&] { out = minigrad::index_select(s.cur, axis, Tensor::from_vector(idx, {static_cast<int64_t>(idx.size())})); }),
                   "index_select " + str(idx) + " along " + std::to_string(axis) + " of " + str(s.shape));
    if (want_o != Outcome::Ok) return;
    if (rank == 0) {
      out_shape = {};
      want.push_back(vals[0]);
      expect(out.dim() == 0 && same_value(out.item(), vals[0]), "index_select of a 0-d tensor");
      rebase(s, out, out_shape, want);
      return;
    }
    out_shape = s.shape;
    out_shape[static_cast<size_t>(a)] = static_cast<int64_t>(idx.size());
    for (int64_t i = 0; i < numel(out_shape); ++i) {
      Ints p = unravel(i, out_shape);
      p[static_cast<size_t>(a)] = idx[static_cast<size_t>(p[static_cast<size_t>(a)])];
      want.push_back(vals[static_cast<size_t>(ravel(p, s.shape))]);
    }
  } else if (which == 1) {
    g_op = "gather";
    Ints ishape;
    const int irank = dr.in.ConsumeIntegralInRange<int>(0, 7) == 0 ? static_cast<int>(dr.small(0, 4)) : rank;
    for (int d = 0; d < irank; ++d) {
      const int64_t have = d < rank ? s.shape[static_cast<size_t>(d)] : 2;
      ishape.push_back(dr.in.ConsumeIntegralInRange<int>(0, 7) == 0 ? dr.small(0, 4) : dr.small(0, have));
    }
    if (numel(ishape) > kCap) return;
    const int64_t n = a >= 0 ? s.shape[static_cast<size_t>(a)] : 3;
    std::vector<int64_t> idx(static_cast<size_t>(numel(ishape)));
    bool bad_value = false;
    for (int64_t& i : idx) {
      i = dr.in.ConsumeIntegralInRange<int>(0, 9) == 0 ? dr.index(n) : dr.small(0, std::max<int64_t>(n - 1, 0));
      bad_value |= i < 0 || i >= n;
    }
    bool bad_shape = irank != rank;
    for (int d = 0; d < irank && !bad_shape; ++d)
      bad_shape = d != a && ishape[static_cast<size_t>(d)] > s.shape[static_cast<size_t>(d)];
    const Outcome want_o = a < 0 ? Outcome::OutOfRange : bad_shape ? Outcome::InvalidArgument : bad_value ? Outcome::OutOfRange : Outcome::Ok;
    expect_outcome(want_o, run([&] { out = minigrad::gather(s.cur, axis, Tensor::from_vector(idx, to_shape(ishape))); }),
                   "gather " + str(ishape) + " along " + std::to_string(axis) + " of " + str(s.shape));
    if (want_o != Outcome::Ok) return;
    out_shape = ishape;
    for (int64_t e = 0; e < numel(ishape); ++e) {
      Ints p = unravel(e, ishape);
      p[static_cast<size_t>(a)] = idx[static_cast<size_t>(e)];
      want.push_back(vals[static_cast<size_t>(ravel(p, s.shape))]);
    }
  } else {
    // concat (which == 2) or stack (which == 3) of the view and a fresh tensor.
    g_op = which == 2 ? "concat" : "stack";
    Ints other_shape = s.shape;
    if (which == 2 && a >= 0) other_shape[static_cast<size_t>(a)] = dr.small(0, 3);
    if (dr.in.ConsumeIntegralInRange<int>(0, 7) == 0) other_shape = dr.broadcastable(s.shape);
    if (numel(other_shape) > kCap) return;
    const std::vector<double> other_vals = dr.values(numel(other_shape));
    const Tensor other = make(other_vals, other_shape, s.dtype);
    Outcome want_o = a < 0 ? Outcome::OutOfRange : Outcome::Ok;
    if (want_o == Outcome::Ok) {
      bool fits = other_shape.size() == s.shape.size();
      for (size_t d = 0; fits && d < s.shape.size(); ++d)
        fits = (which == 2 && static_cast<int>(d) == a) || other_shape[d] == s.shape[d];
      if (!fits) want_o = Outcome::InvalidArgument;
      if (which == 3 && rank == minigrad::kMaxDims) want_o = Outcome::InvalidArgument;
    }
    expect_outcome(want_o, run([&] { out = which == 2 ? minigrad::concat({s.cur, other}, axis) : minigrad::stack({s.cur, other}, axis); }),
                   std::string(g_op) + " of " + str(s.shape) + " and " + str(other_shape) + " along " + std::to_string(axis));
    if (want_o != Outcome::Ok) return;
    out_shape = s.shape;
    if (which == 2) {
      out_shape[static_cast<size_t>(a)] += other_shape[static_cast<size_t>(a)];
    } else {
      out_shape.insert(out_shape.begin() + a, 2);
    }
    for (int64_t i = 0; i < numel(out_shape); ++i) {
      Ints p = unravel(i, out_shape);
      const int64_t at = p[static_cast<size_t>(a)];
      const int64_t first = which == 2 ? s.shape[static_cast<size_t>(a)] : 1;
      if (which == 3) p.erase(p.begin() + a);
      if (at < first) {
        want.push_back(vals[static_cast<size_t>(ravel(p, s.shape))]);
      } else {
        if (which == 2) p[static_cast<size_t>(a)] = at - first;
        want.push_back(other_vals[static_cast<size_t>(ravel(p, other_shape))]);
      }
    }
  }
  expect(to_ints(out.shape()) == out_shape, std::string(g_op) + " shape " + out.shape().str() + " vs " + str(out_shape));
  const std::vector<double> got = out.to_vector<double>();
  for (size_t i = 0; i < got.size(); ++i) expect(same_value(got[i], want[i]), std::string(g_op) + " values");
  rebase(s, out, out_shape, want);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Draw dr{in};
  State s;
  g_op = "start";
  s.dtype = in.ConsumeBool() ? DType::Float32 : DType::Float64;
  Ints shape(static_cast<size_t>(dr.small(0, 4)));
  for (int64_t& d : shape) d = dr.small(0, 4);
  const int64_t n = numel(shape);
  std::vector<double> vals(static_cast<size_t>(n));
  std::iota(vals.begin(), vals.end(), 0.0);
  rebase(s, Tensor::arange(0, static_cast<double>(n), 1, s.dtype).reshape(to_shape(shape)), shape, vals);
  verify(s, s.cur, s.shape, s.origin);

  for (int step = 0; step < 24 && in.remaining_bytes() > 0; ++step) {
    // A view may be huge and still empty ([2^62, 0]); such a tensor was checked
    // but is not carried on (ops on it would rightly fail to allocate).
    const State before = s;
    switch (in.ConsumeIntegralInRange<int>(0, 19)) {
      case 0: op_reshape(s, dr, false); break;
      case 1: op_reshape(s, dr, true); break;
      case 2: op_transpose(s, dr); break;
      case 3: op_permute(s, dr); break;
      case 4: op_narrow(s, dr); break;
      case 5: op_slice(s, dr); break;
      case 6: op_select(s, dr); break;
      case 7: op_squeeze(s, dr); break;
      case 8: op_unsqueeze(s, dr); break;
      case 9: op_expand(s, dr); break;
      case 10: op_split(s, dr); break;
      case 11: op_copy(s, dr); break;
      case 12: op_write(s, dr); break;
      case 13: op_binary(s, dr); break;
      case 14: op_unary(s, dr); break;
      case 15: op_reduce(s, dr); break;
      case 16: op_softmax(s, dr); break;
      case 17: op_matmul(s, dr); break;
      default: op_index(s, dr); break;
    }
    if (std::any_of(s.shape.begin(), s.shape.end(), [](int64_t d) { return d > kCap; })) s = before;
  }
  return 0;
}
