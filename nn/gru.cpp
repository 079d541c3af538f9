#include "minigrad/nn/gru.h"

#include <cmath>

#include "minigrad/nn/init.h"
#include "minigrad/tensor/fast_math.h"

namespace minigrad::nn {

namespace {

// [extending:gru-fused]
// The fused element-wise part of one GRU step. Inputs: gx = x·W_ihᵀ and
// gh = h·W_hhᵀ ([B, 3H] each, columns r | z | n), the biases (either may be
// undefined) and h ([B, H]). One output, h' [B, H].
//
// Forward, per element (j < H):
//   r  = σ(gx_r + b_ir + gh_r + b_hr)
//   z  = σ(gx_z + b_iz + gh_z + b_hz)
//   hn = gh_n + b_hn                       (saved: the reset gate scales it)
//   n  = tanh(gx_n + b_in + r·hn)
//   h' = (1 − z)·n + z·h
// Backward, from g = ∂L/∂h':
//   dn   = g·(1 − z)          dz = g·(h − n)          dh = g·z   (h's direct path)
//   da_n = dn·(1 − n²)        (tanh' = 1 − tanh²)
//   da_r = da_n·hn · r(1 − r) (σ' = σ(1 − σ))
//   da_z = dz · z(1 − z)
//   dgx  = [da_r, da_z, da_n]       dgh = [da_r, da_z, da_n·r]
//   db_ih = Σ_batch dgx,  db_hh = Σ_batch dgh
// (the gradients of W_ih, W_hh, x and h's second path come from the two matmuls).
Variable gru_pointwise(const Variable& gx, const Variable& gh, const Variable& b_ih,
                       const Variable& b_hh, const Variable& h) {
  const int64_t batch = h.size(0), hidden = h.size(1);
  const DType dtype = h.dtype();
  Tensor gates = Tensor::empty({batch, 4 * hidden}, dtype);  // r, z, n, hn: what backward needs
  Tensor h_next = Tensor::empty({batch, hidden}, dtype);
  const Tensor gxd = gx.data().contiguous(), ghd = gh.data().contiguous();
  const Tensor hd = h.data().contiguous();
  const Tensor bi = b_ih.defined() ? b_ih.data().contiguous() : Tensor();
  const Tensor bh = b_hh.defined() ? b_hh.data().contiguous() : Tensor();

  dispatch_floating(dtype, "gru_cell", [&](auto tag) {
    using T = decltype(tag);
    const T* px = gxd.data<T>();
    const T* ph = ghd.data<T>();
    const T* pbi = bi.defined() ? bi.data<T>() : nullptr;
    const T* pbh = bh.defined() ? bh.data<T>() : nullptr;
    const T* pprev = hd.data<T>();
    T* pg = gates.data<T>();
    T* pout = h_next.data<T>();
    // One row at a time, in loops without branches or libm calls (fast:: math), so
    // the compiler vectorises each; the bias pointers are loop-invariant.
    for (int64_t b = 0; b < batch; ++b) {
      const T* x_row = px + b * 3 * hidden;  // gx: r | z | n
      const T* h_row = ph + b * 3 * hidden;  // gh: r | z | n
      T* act = pg + b * 4 * hidden;          // r | z | n | hn
      T* r = act;
      T* z = act + hidden;
      T* n = act + 2 * hidden;
      T* hn = act + 3 * hidden;
      for (int64_t col = 0; col < 2 * hidden; ++col) {  // r and z side by side
        act[col] = fast::sigmoid(x_row[col] + (pbi ? pbi[col] : T(0)) + h_row[col] +
                                 (pbh ? pbh[col] : T(0)));
      }
      for (int64_t j = 0; j < hidden; ++j)
        hn[j] = h_row[2 * hidden + j] + (pbh ? pbh[2 * hidden + j] : T(0));
      for (int64_t j = 0; j < hidden; ++j)
        n[j] =
            fast::tanh(x_row[2 * hidden + j] + (pbi ? pbi[2 * hidden + j] : T(0)) + r[j] * hn[j]);
      const T* h_old = pprev + b * hidden;
      T* h_new = pout + b * hidden;
      for (int64_t j = 0; j < hidden; ++j) h_new[j] = (T(1) - z[j]) * n[j] + z[j] * h_old[j];
    }
  });

  return record("gru_cell", h_next, {gx, gh, b_ih, b_hh, h},
                [gates, hd, batch, hidden](const std::vector<Tensor>& gy, Grads& g) {
                  const Tensor go = gy[0].contiguous();
                  Tensor dgx = Tensor::empty({batch, 3 * hidden}, gates.dtype());
                  Tensor dgh = Tensor::empty({batch, 3 * hidden}, gates.dtype());
                  Tensor dh = Tensor::empty({batch, hidden}, gates.dtype());
                  dispatch_floating(gates.dtype(), "gru_cell backward", [&](auto tag) {
                    using T = decltype(tag);
                    const T* pg = gates.data<T>();
                    const T* pprev = hd.data<T>();
                    const T* pgo = go.data<T>();
                    T* px = dgx.data<T>();
                    T* ph = dgh.data<T>();
                    T* pdh = dh.data<T>();
                    for (int64_t b = 0; b < batch; ++b) {
                      const int64_t row = b * 3 * hidden, in = b * 4 * hidden;
                      for (int64_t j = 0; j < hidden; ++j) {
                        const int64_t e = b * hidden + j;
                        const T r = pg[in + j], z = pg[in + hidden + j],
                                n = pg[in + 2 * hidden + j], hn = pg[in + 3 * hidden + j];
                        const T da_n = pgo[e] * (T(1) - z) * (T(1) - n * n);
                        const T da_r = da_n * hn * r * (T(1) - r);
                        const T da_z = pgo[e] * (pprev[e] - n) * z * (T(1) - z);
                        px[row + j] = ph[row + j] = da_r;
                        px[row + hidden + j] = ph[row + hidden + j] = da_z;
                        px[row + 2 * hidden + j] = da_n;
                        ph[row + 2 * hidden + j] = da_n * r;
                        pdh[e] = pgo[e] * z;
                      }
                    }
                  });
                  if (g.needs(0)) g[0] = dgx;
                  if (g.needs(1)) g[1] = dgh;
                  if (g.needs(2)) g[2] = sum(dgx, {0});
                  if (g.needs(3)) g[3] = sum(dgh, {0});
                  if (g.needs(4)) g[4] = dh;
                });
}
// [/extending:gru-fused]

}  // namespace

// [extending:gru-composed]
// The readable reference: one line per equation of gru.h.
Variable gru_cell_composed(const Variable& x, const Variable& h, const Variable& w_ih,
                           const Variable& w_hh, const Variable& b_ih, const Variable& b_hh) {
  check_cell_arguments("gru_cell_composed", 3, x, {{"h", &h}}, w_ih, w_hh, b_ih, b_hh);
  Variable gx = x.matmul(w_ih.mT());  // [B, 3H]: W_i{r,z,n} x
  Variable gh = h.matmul(w_hh.mT());  // [B, 3H]: W_h{r,z,n} h
  if (b_ih.defined()) gx = gx + b_ih;
  if (b_hh.defined()) gh = gh + b_hh;
  const int64_t hidden = w_hh.size(1);
  const std::vector<Variable> i = split(gx, hidden, 1), s = split(gh, hidden, 1);
  const Variable r = sigmoid(i[0] + s[0]);   // reset gate
  const Variable z = sigmoid(i[1] + s[1]);   // update gate
  const Variable n = tanh(i[2] + r * s[2]);  // candidate: r scales W_hn h + b_hn
  return (1.0 - z) * n + z * h;              // h' = (1 − z) ⊙ n + z ⊙ h
}
// [/extending:gru-composed]

Variable gru_cell_fused(const Variable& x, const Variable& h, const Variable& w_ih,
                        const Variable& w_hh, const Variable& b_ih, const Variable& b_hh) {
  check_cell_arguments("gru_cell_fused", 3, x, {{"h", &h}}, w_ih, w_hh, b_ih, b_hh);
  return gru_pointwise(x.matmul(w_ih.mT()), h.matmul(w_hh.mT()), b_ih, b_hh, h);
}

// ---- GRUCell --------------------------------------------------------------------------------

// [extending:gru-cell-module]
// GRUCellOptions is RNNCellOptionsBase: the settings go to RNNCellBase as they are.
GRUCell::GRUCell(const GRUCellOptions& o, Generator& gen) : RNNCellBase("GRUCell", 3, o, gen) {}

Variable GRUCell::forward(const Variable& x, const Variable& h) {
  const bool batched = check_input(x);  // x [B, in], or unbatched [in]: a batch of one
  const Variable xb = batched ? x : x.unsqueeze(0);
  const Variable given = batched ? h : batch_state(h, "h");
  const Variable state = given.defined() ? given : zero_state(xb);
  const Variable next = fused
                            ? gru_cell_fused(xb, state, weight_ih, weight_hh, bias_ih, bias_hh)
                            : gru_cell_composed(xb, state, weight_ih, weight_hh, bias_ih, bias_hh);
  return batched ? next : next.select(0, 0);
}
// [/extending:gru-cell-module]

// ---- GRU ------------------------------------------------------------------------------------

GRU::GRU(const GRUOptions& o, Generator& gen) : RNNBase("GRU", 3, o, gen) {}

GRUOutput GRU::forward(const Variable& x, const Variable& h0) {
  const Run run =
      run_layers(x, {h0}, [&](size_t k, const Variable& input, std::vector<Variable>& state) {
        Variable& h = state[0];
        if (fused) {
          // x·W_ihᵀ for all steps in one GEMM; only h·W_hhᵀ must wait for the previous step.
          return over_steps(input_projection(input, k), [&](const Variable& gx) {
            return h = gru_pointwise(gx, h.matmul(weight_hh[k].mT()), bias_ih[k], bias_hh[k], h);
          });
        }
        return over_steps(input, [&](const Variable& x_t) {
          return h = gru_cell_composed(x_t, h, weight_ih[k], weight_hh[k], bias_ih[k], bias_hh[k]);
        });
      });
  return {run.output, run.final_states[0]};
}

}  // namespace minigrad::nn
