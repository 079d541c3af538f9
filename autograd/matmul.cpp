// matmul: forward and backward side by side.
#include "minigrad/autograd/functions.h"

namespace minigrad {

// C = op(A) · op(B)   with op(X) = X or Xᵀ (the transpose flags).
//
// For C = A·B the chain rule gives      dA = dC · Bᵀ,   dB = Aᵀ · dC.
// With the flags, d op(A) = dC · op(B)ᵀ and d op(B) = op(A)ᵀ · dC; when A itself
// is stored transposed, its gradient is the transpose of that:
//   dA = dC · op(B)ᵀ          (ta = false)     dA = op(B) · dCᵀ      (ta = true)
//   dB = op(A)ᵀ · dC          (tb = false)     dB = dCᵀ · op(A)      (tb = true)
// Every product reads its transposes through GEMM's flags: nothing is copied.
// Batch axes that were broadcast are summed back by the engine.
Variable matmul(const Variable& a, const Variable& b, bool ta, bool tb) {
  Tensor ad = a.data(), bd = b.data();
  return record("matmul", matmul(ad, bd, ta, tb), {a, b}, [ad, bd, ta, tb](const std::vector<Tensor>& gy, Grads& g) {
    const Tensor& dc = gy[0];
    if (g.needs(0)) g[0] = ta ? matmul(bd, dc, tb, true) : matmul(dc, bd, false, !tb);
    if (g.needs(1)) g[1] = tb ? matmul(dc, ad, true, ta) : matmul(ad, dc, !ta, false);
  });
}

}  // namespace minigrad
