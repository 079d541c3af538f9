// matmul: forward and backward side by side.
#include "minigrad/autograd/functions.h"

namespace minigrad {

// C = A·B with torch.matmul's shapes (tensor/ops.h).
//
// For one matrix product, C_ij = Σ_p A_ip B_pj, so
//
//   ∂L/∂A_ip = Σ_j gC_ij B_pj   →   gA = gC · Bᵀ = gC.matmul(B.mT())
//   ∂L/∂B_pj = Σ_i A_ip gC_ij   →   gB = Aᵀ · gC = A.mT().matmul(gC)
//
// Both are matmuls on mT() views, which the GEMM reads through its transpose flags:
// nothing is copied. A batch follows the same formulas entry by entry; where a batch
// axis of A or B was broadcast, its gradient comes out with the broadcast batch shape
// and the engine's sum_to adds the entries back into the input's shape.
//
// A 1-D A was the row [1, k] and a 1-D B the column [k, 1], and that axis was removed
// from C. The backward puts the axis back into gC, applies the formulas, and removes
// it from the gradient: for the dot product c = Σ_p a_p b_p this is ga = gc·b, gb = a·gc;
// for y = M·v (v 1-D) it is gM = gy·vᵀ (an outer product) and gv = Mᵀ·gy.
Variable matmul(const Variable& a, const Variable& b) {
  const Tensor ad = a.data(), bd = b.data();
  return record("matmul", matmul(ad, bd), {a, b},
                [ad, bd](const std::vector<Tensor>& gy, Grads& g) {
                  const Tensor A = ad.dim() == 1 ? ad.unsqueeze(0) : ad;  // [1, k]
                  const Tensor B = bd.dim() == 1 ? bd.unsqueeze(1) : bd;  // [k, 1]
                  Tensor gc = gy[0];
                  if (bd.dim() == 1) gc = gc.unsqueeze(gc.dim());      // [..., m] → [..., m, 1]
                  if (ad.dim() == 1) gc = gc.unsqueeze(gc.dim() - 1);  // [..., n] → [..., 1, n]
                  if (g.needs(0)) {
                    const Tensor ga = gc.matmul(B.mT());
                    g[0] = ad.dim() == 1 ? ga.select(ga.dim() - 2, 0) : ga;
                  }
                  if (g.needs(1)) {
                    const Tensor gb = A.mT().matmul(gc);
                    g[1] = bd.dim() == 1 ? gb.select(gb.dim() - 1, 0) : gb;
                  }
                });
}

Variable Variable::matmul(const Variable& other) const { return minigrad::matmul(*this, other); }

}  // namespace minigrad
