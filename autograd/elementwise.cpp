// Element-wise ops: forward and backward side by side.
//
// Notation: y is the op's output, gy the gradient of the loss w.r.t. y (same
// shape as y), and the closure writes grads[i] = gy · ∂y/∂(input i). Inputs that
// were broadcast get a gradient of the broadcast shape; the engine sums it back.
#include <cmath>

#include "minigrad/autograd/functions.h"

namespace minigrad {

using Gs = std::vector<Tensor>;

// ---- binary ------------------------------------------------------------------------

// y = a + b            ∂y/∂a = 1, ∂y/∂b = 1
Variable add(const Variable& a, const Variable& b) {
  return record("add", add(a.data(), b.data()), {a, b}, [](const Gs& gy, Grads& g) {
    if (g.needs(0)) g[0] = gy[0];
    if (g.needs(1)) g[1] = gy[0];
  });
}

// y = a - b            ∂y/∂a = 1, ∂y/∂b = -1
Variable sub(const Variable& a, const Variable& b) {
  return record("sub", sub(a.data(), b.data()), {a, b}, [](const Gs& gy, Grads& g) {
    if (g.needs(0)) g[0] = gy[0];
    if (g.needs(1)) g[1] = -gy[0];
  });
}

// y = a · b            ∂y/∂a = b, ∂y/∂b = a
Variable mul(const Variable& a, const Variable& b) {
  Tensor ad = a.data(), bd = b.data();
  return record("mul", mul(ad, bd), {a, b}, [ad, bd](const Gs& gy, Grads& g) {
    if (g.needs(0)) g[0] = gy[0] * bd;
    if (g.needs(1)) g[1] = gy[0] * ad;
  });
}

// y = a / b            ∂y/∂a = 1/b, ∂y/∂b = -a/b² = -y/b
Variable div(const Variable& a, const Variable& b) {
  Tensor bd = b.data();
  Tensor y = div(a.data(), bd);
  return record("div", y, {a, b}, [y, bd](const Gs& gy, Grads& g) {
    if (g.needs(0)) g[0] = gy[0] / bd;
    if (g.needs(1)) g[1] = -(gy[0] * y / bd);
  });
}

// y = a^b              ∂y/∂a = b·a^(b-1), ∂y/∂b = y·ln a
// As PyTorch: ∂y/∂a = 0 where b = 0 (a⁰ = 1 is constant, even at a = 0 where the
// formula gives 0·0⁻¹ = NaN), and ∂y/∂b = 0 where a = 0 and b ≥ 0 (0^b is 0 or 1
// there, flat in b, where the formula gives 0·ln 0 = NaN).
Variable pow(const Variable& a, const Variable& b) {
  Tensor ad = a.data(), bd = b.data();
  Tensor y = pow(ad, bd);
  return record("pow", y, {a, b}, [ad, bd, y](const Gs& gy, Grads& g) {
    const Tensor zero = Tensor::scalar(0.0, gy[0].dtype());
    if (g.needs(0)) g[0] = where(eq(bd, 0.0), zero, mul(gy[0], mul(bd, pow(ad, sub(bd, 1.0)))));
    if (g.needs(1)) {
      const Tensor flat = where(eq(ad, 0.0), ge(bd, 0.0), Tensor::scalar(false, DType::Bool));
      g[1] = mul(gy[0], where(flat, zero, mul(y, log(ad))));
    }
  });
}

// y = max(a, b) or min(a, b), element-wise; `loses(a, b)` is a < b for max, a > b for min.
//   ∂y/∂a = 0 where a loses, ½ on a tie, 1 otherwise (NaN included: a NaN in either
//   input passes the whole gradient to both, as PyTorch's formula
//   where(a == b, g/2, g).masked_fill(loses(a, b), 0) does)
static Variable pick(const char* op, const Variable& a, const Variable& b,
                     Tensor (*forward)(const Tensor&, const Tensor&),
                     Tensor (*loses)(const Tensor&, const Tensor&)) {
  Tensor ad = a.data(), bd = b.data();
  return record(op, forward(ad, bd), {a, b}, [ad, bd, loses](const Gs& gy, Grads& g) {
    const Tensor zero = Tensor::scalar(0.0, gy[0].dtype());
    const Tensor shared = where(eq(ad, bd), mul(gy[0], 0.5), gy[0]);
    if (g.needs(0)) g[0] = where(loses(ad, bd), zero, shared);
    if (g.needs(1)) g[1] = where(loses(bd, ad), zero, shared);
  });
}

// y = max(a, b)        ∂y/∂a = [a > b] + ½[a = b]   (+ NaN rule above)
Variable maximum(const Variable& a, const Variable& b) {
  return pick("maximum", a, b, minigrad::maximum, lt);
}

// y = min(a, b)        ∂y/∂a = [a < b] + ½[a = b]   (+ NaN rule above)
Variable minimum(const Variable& a, const Variable& b) {
  return pick("minimum", a, b, minigrad::minimum, gt);
}

// ---- with a scalar constant ------------------------------------------------------------

// y = a + s            ∂y/∂a = 1
Variable add(const Variable& a, double s) {
  return record("add", add(a.data(), s), {a}, [](const Gs& gy, Grads& g) { g[0] = gy[0]; });
}
// y = a - s            ∂y/∂a = 1
Variable sub(const Variable& a, double s) {
  return record("sub", sub(a.data(), s), {a}, [](const Gs& gy, Grads& g) { g[0] = gy[0]; });
}
// y = s - b            ∂y/∂b = -1
Variable rsub(double s, const Variable& b) {
  return record("rsub", rsub(s, b.data()), {b}, [](const Gs& gy, Grads& g) { g[0] = -gy[0]; });
}
// y = a · s            ∂y/∂a = s
Variable mul(const Variable& a, double s) {
  return record("mul", mul(a.data(), s), {a}, [s](const Gs& gy, Grads& g) { g[0] = gy[0] * s; });
}
// y = a / s            ∂y/∂a = 1/s
Variable div(const Variable& a, double s) {
  return record("div", div(a.data(), s), {a}, [s](const Gs& gy, Grads& g) { g[0] = gy[0] / s; });
}
// y = s / b            ∂y/∂b = -s/b² = -y/b
Variable rdiv(double s, const Variable& b) {
  Tensor bd = b.data();
  Tensor y = rdiv(s, bd);
  return record("rdiv", y, {b}, [y, bd](const Gs& gy, Grads& g) { g[0] = -(gy[0] * y / bd); });
}
// y = a^p              ∂y/∂a = p·a^(p-1), and 0 for p = 0 (a⁰ = 1 is constant; the
//                      formula would give 0·0⁻¹ = NaN at a = 0), as PyTorch
Variable pow(const Variable& a, double p) {
  Tensor ad = a.data();
  return record("pow", pow(ad, p), {a}, [ad, p](const Gs& gy, Grads& g) {
    g[0] = p == 0.0 ? Tensor::zeros(gy[0].shape(), gy[0].dtype())
                    : mul(gy[0], mul(pow(ad, p - 1.0), p));
  });
}

// ---- unary --------------------------------------------------------------------------------

// y = -x               ∂y/∂x = -1
Variable neg(const Variable& x) {
  return record("neg", neg(x.data()), {x}, [](const Gs& gy, Grads& g) { g[0] = -gy[0]; });
}

// y = eˣ               ∂y/∂x = eˣ = y
Variable exp(const Variable& x) {
  Tensor y = exp(x.data());
  return record("exp", y, {x}, [y](const Gs& gy, Grads& g) { g[0] = gy[0] * y; });
}

// y = ln x             ∂y/∂x = 1/x
Variable log(const Variable& x) {
  Tensor xd = x.data();
  return record("log", log(xd), {x}, [xd](const Gs& gy, Grads& g) { g[0] = gy[0] / xd; });
}

// y = √x               ∂y/∂x = 1/(2√x) = 1/(2y)
Variable sqrt(const Variable& x) {
  Tensor y = sqrt(x.data());
  return record("sqrt", y, {x}, [y](const Gs& gy, Grads& g) { g[0] = gy[0] / (y * 2.0); });
}

// y = 1/√x = x^(-1/2)  ∂y/∂x = -½·x^(-3/2) = -½·y³
Variable rsqrt(const Variable& x) {
  Tensor y = rsqrt(x.data());
  return record("rsqrt", y, {x},
                // torch's order, (−½·gy)·y³: y³ may be subnormal in float32 and rounds alike
                [y](const Gs& gy, Grads& g) { g[0] = (-0.5 * gy[0]) * (y * y * y); });
}

// y = tanh x           ∂y/∂x = 1 - y²
Variable tanh(const Variable& x) {
  Tensor y = tanh(x.data());
  return record("tanh", y, {x}, [y](const Gs& gy, Grads& g) { g[0] = gy[0] * (1.0 - y * y); });
}

// y = σ(x) = 1/(1+e⁻ˣ) ∂y/∂x = y(1 - y)
Variable sigmoid(const Variable& x) {
  Tensor y = sigmoid(x.data());
  return record("sigmoid", y, {x}, [y](const Gs& gy, Grads& g) { g[0] = gy[0] * (y * (1.0 - y)); });
}

// y = max(x, 0)        ∂y/∂x = [not x ≤ 0]: 1 for x > 0 and for NaN (relu(NaN) = NaN
//                      passes the gradient on), as PyTorch's threshold_backward
Variable relu(const Variable& x) {
  Tensor xd = x.data();
  return record("relu", relu(xd), {x}, [xd](const Gs& gy, Grads& g) {
    g[0] = where(le(xd, 0.0), Tensor::scalar(0.0, gy[0].dtype()), gy[0]);
  });
}

// y = |x|              ∂y/∂x = sign(x)   (0 at x = 0)
Variable abs(const Variable& x) {
  Tensor xd = x.data();
  return record("abs", abs(xd), {x}, [xd](const Gs& gy, Grads& g) { g[0] = gy[0] * sign(xd); });
}

// y = min(max(x, lo), hi)   ∂y/∂x = [lo ≤ x ≤ hi]  (1 on the bounds themselves, as
// torch.clamp; 0 where x is NaN)
Variable clamp(const Variable& x, std::optional<double> min, std::optional<double> max) {
  Tensor xd = x.data();
  return record("clamp", clamp(xd, min, max), {x}, [xd, min, max](const Gs& gy, Grads& g) {
    const Tensor zero = Tensor::scalar(0.0, gy[0].dtype());
    Tensor gx = gy[0];
    if (min) gx = where(ge(xd, *min), gx, zero);
    if (max) gx = where(le(xd, *max), gx, zero);
    g[0] = gx;
  });
}

// ---- selection ----------------------------------------------------------------------------

// y = cond ? a : b     ∂y/∂a = [cond], ∂y/∂b = [not cond]
Variable where(const Tensor& cond, const Variable& a, const Variable& b) {
  return record("where", where(cond, a.data(), b.data()), {a, b}, [cond](const Gs& gy, Grads& g) {
    const Tensor zero = Tensor::scalar(0.0, gy[0].dtype());
    if (g.needs(0)) g[0] = where(cond, gy[0], zero);
    if (g.needs(1)) g[1] = where(cond, zero, gy[0]);
  });
}

// y = mask ? value : x ∂y/∂x = [not mask]
Variable masked_fill(const Variable& x, const Tensor& mask, double value) {
  return record("masked_fill", masked_fill(x.data(), mask, value), {x},
                [mask](const Gs& gy, Grads& g) { g[0] = masked_fill(gy[0], mask, 0.0); });
}

// ---- activations --------------------------------------------------------------------------

// y = x·Φ(x)                          ∂y/∂x = Φ(x) + x·φ(x)      ("none")
// y = ½x(1 + t), t = tanh u,          ∂y/∂x = ½(1 + t) + ½x(1 − t²)·u′,
//     u = √(2/π)(x + 0.044715x³)              u′ = √(2/π)(1 + 3·0.044715x²)   ("tanh")
// Both in one pass over x by tensor/elementwise.cpp's gelu_backward.
Variable gelu(const Variable& x, const std::string& approximate) {
  Tensor xd = x.data();
  return record("gelu", gelu(xd, approximate), {x}, [xd, approximate](const Gs& gy, Grads& g) {
    g[0] = gelu_backward(gy[0], xd, approximate);
  });
}

}  // namespace minigrad
