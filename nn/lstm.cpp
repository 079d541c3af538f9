#include "minigrad/nn/lstm.h"

#include <cmath>

#include "minigrad/nn/init.h"
#include "minigrad/tensor/check.h"
#include "minigrad/tensor/fast_math.h"

namespace minigrad::nn {

namespace {

// The fused element-wise part of one step. Inputs: zx = x·W_ihᵀ and zh = h·W_hhᵀ
// ([B, 4H] each), the biases (either may be undefined) and c ([B, H]).
//
// Forward, per element (j < H, gates in the order i, f, g, o):
//   z = zx + zh + b_ih + b_hh
//   i = σ(z_i)  f = σ(z_f)  g = tanh(z_g)  o = σ(z_o)
//   c' = f·c + i·g      h' = o·tanh(c')
// Backward, from gh = ∂L/∂h' and gc = ∂L/∂c':
//   dc' = gc + gh·o·(1 - tanh²c')      (c' reaches L directly and through h')
//   dz_o = gh·tanh(c') · o(1-o)
//   dz_i = dc'·g · i(1-i)
//   dz_g = dc'·i · (1-g²)
//   dz_f = dc'·c · f(1-f)
//   dc   = dc'·f
//   dzx = dzh = dz,  db_ih = db_hh = Σ_batch dz
// The two kernels, on one step's rows. Forward: z = zx + zh + b_ih + b_hh →
// gates (i, f, g, o after activation), c', tanh c', h'. Two passes per row, each a loop
// the compiler vectorises (fast:: math): the 4H activations, then the H cell updates.
template <class T>
void pointwise_forward(const T* px, const T* ph, const T* pbi, const T* pbh, const T* pc, T* pg,
                       T* pcn, T* pt, T* phn, int64_t batch, int64_t hidden) {
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t row = b * 4 * hidden;
    T* act = pg + row;
    for (int64_t col = 0; col < 4 * hidden; ++col) {
      act[col] = px[row + col] + ph[row + col] + (pbi ? pbi[col] : T(0)) + (pbh ? pbh[col] : T(0));
    }
    for (int64_t col = 0; col < 2 * hidden; ++col) act[col] = fast::sigmoid(act[col]);  // i, f
    for (int64_t col = 2 * hidden; col < 3 * hidden; ++col) act[col] = fast::tanh(act[col]);  // g
    for (int64_t col = 3 * hidden; col < 4 * hidden; ++col)
      act[col] = fast::sigmoid(act[col]);  // o
    const T* i = act;
    const T* f = act + hidden;
    const T* g = act + 2 * hidden;
    const T* o = act + 3 * hidden;
    const T* c_old = pc + b * hidden;
    T* c_new = pcn + b * hidden;
    T* tc = pt + b * hidden;
    T* h_new = phn + b * hidden;
    for (int64_t j = 0; j < hidden; ++j) c_new[j] = f[j] * c_old[j] + i[j] * g[j];
    for (int64_t j = 0; j < hidden; ++j) tc[j] = fast::tanh(c_new[j]);
    for (int64_t j = 0; j < hidden; ++j) h_new[j] = o[j] * tc[j];
  }
}

// Backward of one step, from gh = ∂L/∂h' and gc = ∂L/∂c' (the equations above):
// writes dz [B, 4H] and dc = ∂L/∂c [B, H].
template <class T>
void pointwise_backward(const T* pg, const T* pt, const T* pc, const T* pgh, const T* pgc, T* pdz,
                        T* pdc, int64_t batch, int64_t hidden) {
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t row = b * 4 * hidden;
    for (int64_t j = 0; j < hidden; ++j) {
      const int64_t e = b * hidden + j;
      const T i = pg[row + j], f = pg[row + hidden + j], gg = pg[row + 2 * hidden + j],
              o = pg[row + 3 * hidden + j], tc = pt[e];
      const T dcn = pgc[e] + pgh[e] * o * (T(1) - tc * tc);
      pdz[row + j] = dcn * gg * i * (T(1) - i);
      pdz[row + hidden + j] = dcn * pc[e] * f * (T(1) - f);
      pdz[row + 2 * hidden + j] = dcn * i * (T(1) - gg * gg);
      pdz[row + 3 * hidden + j] = pgh[e] * tc * o * (T(1) - o);
      pdc[e] = dcn * f;
    }
  }
}

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

std::vector<Variable> lstm_pointwise(const Variable& zx, const Variable& zh, const Variable& b_ih,
                                     const Variable& b_hh, const Variable& c) {
  const int64_t batch = c.size(0), hidden = c.size(1);
  const DType dtype = c.dtype();
  Tensor gates = Tensor::empty({batch, 4 * hidden}, dtype);  // i, f, g, o after activation
  Tensor c_next = Tensor::empty({batch, hidden}, dtype);
  Tensor tanh_c = Tensor::empty({batch, hidden}, dtype);
  Tensor h_next = Tensor::empty({batch, hidden}, dtype);
  const Tensor zxd = zx.data().contiguous(), zhd = zh.data().contiguous(),
               cd = c.data().contiguous();
  const Tensor bi = b_ih.defined() ? b_ih.data().contiguous() : Tensor();
  const Tensor bh = b_hh.defined() ? b_hh.data().contiguous() : Tensor();
  dispatch_floating(dtype, "lstm_cell", [&](auto tag) {
    using T = decltype(tag);
    pointwise_forward<T>(zxd.data<T>(), zhd.data<T>(), data_or_null<T>(bi), data_or_null<T>(bh),
                         cd.data<T>(), gates.data<T>(), c_next.data<T>(), tanh_c.data<T>(),
                         h_next.data<T>(), batch, hidden);
  });

  return record_multi("lstm_cell", {h_next, c_next}, {zx, zh, b_ih, b_hh, c},
                      [gates, tanh_c, cd, batch, hidden](const std::vector<Tensor>& gy, Grads& g) {
                        const Tensor gh = gy[0].contiguous(), gc = gy[1].contiguous();
                        Tensor dz = Tensor::empty({batch, 4 * hidden}, gates.dtype());
                        Tensor dc = Tensor::empty({batch, hidden}, gates.dtype());
                        dispatch_floating(gates.dtype(), "lstm_cell backward", [&](auto tag) {
                          using T = decltype(tag);
                          pointwise_backward<T>(gates.data<T>(), tanh_c.data<T>(), cd.data<T>(),
                                                gh.data<T>(), gc.data<T>(), dz.data<T>(),
                                                dc.data<T>(), batch, hidden);
                        });
                        if (g.needs(0)) g[0] = dz;
                        if (g.needs(1)) g[1] = dz;
                        if (g.needs(2) || g.needs(3)) {
                          const Tensor db = sum(dz, {0});
                          if (g.needs(2)) g[2] = db;
                          if (g.needs(3)) g[3] = db;
                        }
                        if (g.needs(4)) g[4] = dc;
                      });
}

// A whole layer over the sequence as ONE op, the fast path of nn::LSTM. Inputs:
// zx [T, B, 4H] = x·W_ihᵀ for every step (one GEMM, made by the caller), W_hh, the
// biases (either may be undefined), h0 and c0 [B, H]. Outputs: hs [T, B, H] (every h_t)
// and c_T [B, H].
//
// Forward: for t = 1..T, z_t = zx_t + h_{t-1}·W_hhᵀ + b, then the cell (pointwise_forward).
// Backward: for t = T..1, dh_t = ∂L/∂hs_t + dz_{t+1}·W_hh (the step after t reads h_t),
// the cell's backward gives dz_t and dc_{t-1}. What a step-by-step graph would do
// T times at small sizes is done once at the end:
//   ∂L/∂W_hh = Σ_t dz_tᵀ·h_{t-1} = dZᵀ·H_prev     one GEMM of [4H, T·B]·[T·B, H]
//   ∂L/∂b    = Σ_t Σ_b dz_t                       one reduction
//   ∂L/∂zx   = dZ                                 the caller's GEMM takes it to x and W_ih
// instead of T GEMMs of [4H, B]·[B, H] and T accumulations into W_hh's gradient.
std::vector<Variable> lstm_sequence(const Variable& zx, const Variable& w_hh, const Variable& b_ih,
                                    const Variable& b_hh, const Variable& h0, const Variable& c0) {
  const int64_t steps = zx.size(0), batch = zx.size(1), hidden = w_hh.size(1);
  const DType dtype = zx.dtype();
  const Tensor zxd = zx.data().contiguous(), whh = w_hh.data().contiguous();
  const Tensor bi = b_ih.defined() ? b_ih.data().contiguous() : Tensor();
  const Tensor bh = b_hh.defined() ? b_hh.data().contiguous() : Tensor();
  // Saved for backward: h_0..h_T and c_0..c_T (T + 1 each), gates and tanh c_t (T each).
  Tensor hs_all = Tensor::empty({steps + 1, batch, hidden}, dtype);
  Tensor cs_all = Tensor::empty({steps + 1, batch, hidden}, dtype);
  Tensor gates = Tensor::empty({steps, batch, 4 * hidden}, dtype);
  Tensor tanh_c = Tensor::empty({steps, batch, hidden}, dtype);
  hs_all.select(0, 0).copy_(h0.data());
  cs_all.select(0, 0).copy_(c0.data());
  dispatch_floating(dtype, "lstm_sequence", [&](auto tag) {
    using T = decltype(tag);
    const int64_t bh_n = batch * hidden, bz_n = batch * 4 * hidden;
    for (int64_t t = 0; t < steps; ++t) {
      const Tensor zh = matmul(hs_all.select(0, t), whh.mT());  // h_{t-1}·W_hhᵀ
      pointwise_forward<T>(zxd.data<T>() + t * bz_n, zh.data<T>(), data_or_null<T>(bi),
                           data_or_null<T>(bh), cs_all.data<T>() + t * bh_n,
                           gates.data<T>() + t * bz_n, cs_all.data<T>() + (t + 1) * bh_n,
                           tanh_c.data<T>() + t * bh_n, hs_all.data<T>() + (t + 1) * bh_n, batch,
                           hidden);
    }
  });
  const Tensor hs = hs_all.narrow(0, 1, steps);
  const Tensor c_last = cs_all.select(0, steps);

  return record_multi(
      "lstm_sequence", {hs, c_last}, {zx, w_hh, b_ih, b_hh, h0, c0},
      [hs_all, cs_all, gates, tanh_c, whh, steps, batch, hidden](const std::vector<Tensor>& gy,
                                                                 Grads& g) {
        const Tensor ghs = gy[0].contiguous();
        const DType dt = gates.dtype();
        Tensor dZ = Tensor::empty({steps, batch, 4 * hidden}, dt);
        Tensor dh = Tensor::zeros({batch, hidden}, dt);  // ∂L/∂h_t through step t+1
        Tensor dc = gy[1].contiguous().clone();          // ∂L/∂c_t
        Tensor gh = Tensor::empty({batch, hidden}, dt);
        Tensor dc_prev = Tensor::empty({batch, hidden}, dt);
        dispatch_floating(dt, "lstm_sequence backward", [&](auto tag) {
          using T = decltype(tag);
          const int64_t bh_n = batch * hidden, bz_n = batch * 4 * hidden;
          for (int64_t t = steps - 1; t >= 0; --t) {
            const T* pg_hs = ghs.data<T>() + t * bh_n;
            const T* pdh = dh.data<T>();
            T* pgh = gh.data<T>();
            for (int64_t e = 0; e < bh_n; ++e) pgh[e] = pg_hs[e] + pdh[e];
            T* dz_t = dZ.data<T>() + t * bz_n;
            pointwise_backward<T>(gates.data<T>() + t * bz_n, tanh_c.data<T>() + t * bh_n,
                                  cs_all.data<T>() + t * bh_n, pgh, dc.data<T>(), dz_t,
                                  dc_prev.data<T>(), batch, hidden);
            std::swap(dc, dc_prev);
            dh = matmul(dZ.select(0, t), whh);  // dz_t·W_hh: [B, 4H]·[4H, H]
          }
        });
        if (g.needs(0)) g[0] = dZ;
        if (g.needs(1)) {
          const Tensor h_prev = hs_all.narrow(0, 0, steps).reshape({steps * batch, hidden});
          g[1] = matmul(dZ.reshape({steps * batch, 4 * hidden}).mT(), h_prev);  // [4H, H]
        }
        if (g.needs(2) || g.needs(3)) {
          const Tensor db = sum(dZ, {0, 1});
          if (g.needs(2)) g[2] = db;
          if (g.needs(3)) g[3] = db;
        }
        if (g.needs(4)) g[4] = dh;
        if (g.needs(5)) g[5] = dc;
      });
}

}  // namespace

// The readable reference: one line per equation of lstm.h.
LSTMState lstm_cell_composed(const Variable& x, const LSTMState& state, const Variable& w_ih,
                             const Variable& w_hh, const Variable& b_ih, const Variable& b_hh) {
  check_cell_arguments("lstm_cell_composed", 4, x, {{"h", &state.h}, {"c", &state.c}}, w_ih, w_hh,
                       b_ih, b_hh);
  Variable z = x.matmul(w_ih.mT()) + state.h.matmul(w_hh.mT());
  if (b_ih.defined()) z = z + b_ih;
  if (b_hh.defined()) z = z + b_hh;
  const std::vector<Variable> gates = split(z, w_hh.size(1), 1);
  const Variable i = sigmoid(gates[0]);  // input gate
  const Variable f = sigmoid(gates[1]);  // forget gate
  const Variable g = tanh(gates[2]);     // candidate
  const Variable o = sigmoid(gates[3]);  // output gate
  const Variable c = f * state.c + i * g;
  const Variable h = o * tanh(c);
  return {h, c};
}

LSTMState lstm_cell_fused(const Variable& x, const LSTMState& state, const Variable& w_ih,
                          const Variable& w_hh, const Variable& b_ih, const Variable& b_hh) {
  check_cell_arguments("lstm_cell_fused", 4, x, {{"h", &state.h}, {"c", &state.c}}, w_ih, w_hh,
                       b_ih, b_hh);
  const auto hc =
      lstm_pointwise(x.matmul(w_ih.mT()), state.h.matmul(w_hh.mT()), b_ih, b_hh, state.c);
  return {hc[0], hc[1]};
}

// ---- LSTMCell -------------------------------------------------------------------------------

LSTMCell::LSTMCell(const LSTMCellOptions& o, Generator& gen)
    : RNNCellBase("LSTMCell", 4, o, gen) {}

LSTMState LSTMCell::forward(const Variable& x, const LSTMState& state) {
  const bool batched = check_input(x);
  const Variable xb = batched ? x : x.unsqueeze(0);  // [B, in]
  LSTMState s = batched ? state : LSTMState{batch_state(state.h, "h"), batch_state(state.c, "c")};
  if (!s.h.defined() && !s.c.defined()) s = {zero_state(xb), zero_state(xb)};
  const LSTMState next = fused ? lstm_cell_fused(xb, s, weight_ih, weight_hh, bias_ih, bias_hh)
                               : lstm_cell_composed(xb, s, weight_ih, weight_hh, bias_ih, bias_hh);
  return batched ? next : LSTMState{next.h.select(0, 0), next.c.select(0, 0)};
}

// ---- LSTM -----------------------------------------------------------------------------------

LSTM::LSTM(const LSTMOptions& o, Generator& gen) : RNNBase("LSTM", 4, o, gen) {}

LSTMOutput LSTM::forward(const Variable& x, const LSTMState& initial) {
  MINIGRAD_CHECK(initial.h.defined() == initial.c.defined())
      << "LSTM: the initial state needs both h0 and c0 or neither, got h0 "
      << (initial.h.defined() ? "defined" : "undefined") << " and c0 "
      << (initial.c.defined() ? "defined" : "undefined");
  const Run run = run_layers(
      x, {initial.h, initial.c},
      [&](size_t k, const Variable& input, std::vector<Variable>& state) {
        if (fused) {
          // The recurrence, forward and backward, in one op (lstm_sequence above).
          const auto hc = lstm_sequence(input_projection(input, k), weight_hh[k], bias_ih[k],
                                        bias_hh[k], state[0], state[1]);
          state = {hc[0].select(0, input.size(0) - 1), hc[1]};
          return hc[0];
        }
        // The composed cell, one step at a time: the graph autograd differentiates.
        LSTMState s{state[0], state[1]};
        const Variable hs = over_steps(input, [&](const Variable& x_t) {
          s = lstm_cell_composed(x_t, s, weight_ih[k], weight_hh[k], bias_ih[k], bias_hh[k]);
          return s.h;
        });
        state = {s.h, s.c};
        return hs;
      });
  return {run.output, {run.final_states[0], run.final_states[1]}};
}

}  // namespace minigrad::nn
