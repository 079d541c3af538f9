#include "minigrad/nn/lstm.h"

#include <algorithm>
#include <cmath>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "minigrad/nn/init.h"
#include "minigrad/tensor/check.h"
#include "minigrad/tensor/fast_math.h"
#include "minigrad/tensor/gemm.h"

namespace minigrad::nn {

namespace {

// The element-wise part of one step. Inputs: zx = x·W_ihᵀ and zh = h·W_hhᵀ
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

// c' = f·c + i·g, tanh c' and h' = o·tanh c' for one row, from its gates [4H] (after
// activation). __restrict: the buffers never overlap (see cell_backward_row).
template <class T>
void cell_update_row(const T* __restrict gates, const T* __restrict c_old, T* __restrict c_new,
                     T* __restrict tc, T* __restrict h_new, int64_t hidden) {
  const T* i = gates;
  const T* f = gates + hidden;
  const T* g = gates + 2 * hidden;
  const T* o = gates + 3 * hidden;
  for (int64_t j = 0; j < hidden; ++j) {
    c_new[j] = f[j] * c_old[j] + i[j] * g[j];
    tc[j] = fast::tanh(c_new[j]);
    h_new[j] = o[j] * tc[j];
  }
}

// a += x over a row of n. __restrict: the buffers never overlap (see cell_backward_row).
template <class T>
void add_row(T* __restrict a, const T* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) a[j] += x[j];
}

// The two kernels, on one step's rows. Forward: `act` holds a partial sum of z on
// entry, to which the rows of zx [B, 4H] and the bias [4H] are added when given (null
// when already in): z = zx + zh + b_ih + b_hh. On return it holds the gates (i, f, g, o
// after activation); writes c', tanh c' and h'. Two passes per row, each a loop the
// compiler vectorises (fast:: math): the 4H activations, then the H cell updates
// (cell_update_row).
template <class T>
void cell_forward(T* act, const T* zx, const T* bias, const T* pc, T* pcn, T* pt, T* phn,
                  int64_t batch, int64_t hidden) {
  const int64_t gates_n = 4 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    T* a = act + b * gates_n;
    if (zx) add_row<T>(a, zx + b * gates_n, gates_n);
    if (bias) add_row<T>(a, bias, gates_n);
    for (int64_t col = 0; col < 2 * hidden; ++col) a[col] = fast::sigmoid(a[col]);           // i, f
    for (int64_t col = 2 * hidden; col < 3 * hidden; ++col) a[col] = fast::tanh(a[col]);     // g
    for (int64_t col = 3 * hidden; col < 4 * hidden; ++col) a[col] = fast::sigmoid(a[col]);  // o
    cell_update_row<T>(a, pc + b * hidden, pcn + b * hidden, pt + b * hidden, phn + b * hidden,
                       hidden);
  }
}

// Backward of one row of a step, from gh = ∂L/∂h' (gh_a + gh_b when gh_b is given: the
// two paths by which h' reaches L) and gc = ∂L/∂c' (the equations above): writes the
// row's dz [4H] and dc = ∂L/∂c [H]. The pointers are __restrict (the buffers never
// overlap): without that promise the compiler cannot rule out that a store to dz changes
// a gate it reads next, and keeps the loop scalar.
template <class T, bool kTwoGh>
void cell_backward_row(const T* __restrict gates, const T* __restrict tc, const T* __restrict c,
                       const T* __restrict gh_a, const T* __restrict gh_b, const T* __restrict gc,
                       T* __restrict dz, T* __restrict dc, int64_t hidden) {
  const T* i = gates;
  const T* f = gates + hidden;
  const T* g = gates + 2 * hidden;
  const T* o = gates + 3 * hidden;
  for (int64_t j = 0; j < hidden; ++j) {
    const T gh = kTwoGh ? gh_a[j] + gh_b[j] : gh_a[j];
    const T dcn = gc[j] + gh * o[j] * (T(1) - tc[j] * tc[j]);
    dz[j] = dcn * g[j] * i[j] * (T(1) - i[j]);
    dz[hidden + j] = dcn * c[j] * f[j] * (T(1) - f[j]);
    dz[2 * hidden + j] = dcn * i[j] * (T(1) - g[j] * g[j]);
    dz[3 * hidden + j] = gh * tc[j] * o[j] * (T(1) - o[j]);
    dc[j] = dcn * f[j];
  }
}

// Backward of one step's rows: dz [B, 4H] and dc [B, H], from gh = pgh (+ pgh2 when not
// null) and gc, all [B, H].
template <class T>
void pointwise_backward(const T* pg, const T* pt, const T* pc, const T* pgh, const T* pgh2,
                        const T* pgc, T* pdz, T* pdc, int64_t batch, int64_t hidden) {
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t row = b * 4 * hidden, e = b * hidden;
    if (pgh2) {
      cell_backward_row<T, true>(pg + row, pt + e, pc + e, pgh + e, pgh2 + e, pgc + e, pdz + row,
                                 pdc + e, hidden);
    } else {
      cell_backward_row<T, false>(pg + row, pt + e, pc + e, pgh + e, nullptr, pgc + e, pdz + row,
                                  pdc + e, hidden);
    }
  }
}

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// b_ih + b_hh as one [4H] tensor, either alone when the other is undefined, or
// undefined when both are.
Tensor combined_bias(const Variable& b_ih, const Variable& b_hh) {
  if (b_ih.defined() && b_hh.defined()) return add(b_ih.data(), b_hh.data()).contiguous();
  if (b_ih.defined() || b_hh.defined()) return (b_ih.defined() ? b_ih : b_hh).data().contiguous();
  return Tensor();
}

// One step as ONE op: both products, the biases and the cell, with the backward
// written out (the equations above), so a step is one node of the graph instead of
// two matmuls, their sum and the cell. Forward: z = x·W_ihᵀ, then z += h·W_hhᵀ (gemm
// adding into the same buffer), z += b_ih + b_hh, then the cell in place. Backward,
// from dz: dx = dz·W_ih, dh = dz·W_hh, dW_ih = dzᵀ·x, dW_hh = dzᵀ·h, db = Σ_b dz.
std::vector<Variable> lstm_cell_op(const Variable& x, const Variable& h, const Variable& c,
                                   const Variable& w_ih, const Variable& w_hh, const Variable& b_ih,
                                   const Variable& b_hh) {
  const int64_t batch = c.size(0), hidden = c.size(1), in = x.size(1), gates_n = 4 * hidden;
  const DType dtype = c.dtype();
  const Tensor xd = x.data().contiguous(), hd = h.data().contiguous(), cd = c.data().contiguous();
  const Tensor wih = w_ih.data().contiguous(), whh = w_hh.data().contiguous();
  const Tensor bias = combined_bias(b_ih, b_hh);
  Tensor gates = Tensor::empty({batch, gates_n}, dtype);  // i, f, g, o after activation
  Tensor c_next = Tensor::empty({batch, hidden}, dtype);
  Tensor tanh_c = Tensor::empty({batch, hidden}, dtype);
  Tensor h_next = Tensor::empty({batch, hidden}, dtype);
  dispatch_floating(dtype, "lstm_cell", [&](auto tag) {
    using T = decltype(tag);
    T* z = gates.data<T>();
    gemm<T>(false, true, batch, gates_n, in, T(1), xd.data<T>(), in, wih.data<T>(), in, T(0), z,
            gates_n);  // z = x·W_ihᵀ
    gemm<T>(false, true, batch, gates_n, hidden, T(1), hd.data<T>(), hidden, whh.data<T>(), hidden,
            T(1), z, gates_n);  // z += h·W_hhᵀ
    cell_forward<T>(z, nullptr, data_or_null<T>(bias), cd.data<T>(), c_next.data<T>(),
                    tanh_c.data<T>(), h_next.data<T>(), batch, hidden);
  });

  return record_multi("lstm_cell", {h_next, c_next}, {x, h, c, w_ih, w_hh, b_ih, b_hh},
                      [gates, tanh_c, xd, hd, cd, wih, whh, batch, hidden, gates_n](
                          const std::vector<Tensor>& gy, Grads& g) {
                        const Tensor gh = gy[0].contiguous(), gc = gy[1].contiguous();
                        Tensor dz = Tensor::empty({batch, gates_n}, gates.dtype());
                        Tensor dc = Tensor::empty({batch, hidden}, gates.dtype());
                        dispatch_floating(gates.dtype(), "lstm_cell backward", [&](auto tag) {
                          using T = decltype(tag);
                          pointwise_backward<T>(gates.data<T>(), tanh_c.data<T>(), cd.data<T>(),
                                                gh.data<T>(), nullptr, gc.data<T>(), dz.data<T>(),
                                                dc.data<T>(), batch, hidden);
                        });
                        if (g.needs(0)) g[0] = matmul(dz, wih);  // [B, 4H]·[4H, in]
                        if (g.needs(1)) g[1] = matmul(dz, whh);  // [B, 4H]·[4H, H]
                        if (g.needs(2)) g[2] = dc;
                        if (g.needs(3)) g[3] = matmul(dz.mT(), xd);  // [4H, B]·[B, in]
                        if (g.needs(4)) g[4] = matmul(dz.mT(), hd);  // [4H, B]·[B, H]
                        if (g.needs(5) || g.needs(6)) {
                          const Tensor db = sum(dz, {0});
                          if (g.needs(5)) g[5] = db;
                          if (g.needs(6)) g[6] = db;
                        }
                      });
}

// How many threads run one recurrence. Its batch rows are independent for the whole
// sequence (row b of h_t depends on row b of h_{t-1} only), so a block of rows can be
// taken through every step by one thread, and the threads meet once, at the end of
// the sequence, not at every step. A team is opened only for at least 2^25 multiply-adds
// of recurrent products (T·B·4H·H, about 170 µs on one core) and two blocks of
// kRecurrenceRows; from inside a parallel region, never. The threshold is 16 times
// gemm.cpp's kParallelMinWork because a region's end can wait a scheduler tick for a
// thread the machine is not running: with other builds on both cores, SEQ2SEQ's encoder
// (12 steps of (64×64)·(64×256), 2^23.6) made the 2-thread training step 90 ms with
// a team per recurrence and 47 ms without (1 thread: 5.2 ms). The LSTM workload's
// recurrence (32 steps of (32×128)·(128×512), 2^26) is split.
constexpr double kParallelRecurrenceWork = double(int64_t{1} << 25);

// Rows per block. The blocks are claimed one at a time, so a thread that the machine
// does not run for a while (other processes on the cores) leaves its share to the
// others instead of holding them at the barrier for all of it. 8 rows run the
// per-step products as fast as 32 do (one 8-row GEMM tile; measured at 200–210
// GFLOP/s for (8×128)·(128×512) and (8×512)·(512×128) on Zen 5, as for 32 rows).
constexpr int64_t kRecurrenceRows = 8;

int recurrence_threads(int64_t steps, int64_t batch, int64_t hidden) {
#if defined(_OPENMP)
  const double work = double(steps) * double(batch) * double(4 * hidden) * double(hidden);
  const int64_t blocks = (batch + kRecurrenceRows - 1) / kRecurrenceRows;
  if (work < kParallelRecurrenceWork || blocks < 2 || omp_in_parallel()) return 1;
  return int(std::min<int64_t>(omp_get_max_threads(), blocks));
#else
  (void)steps;
  (void)batch;
  (void)hidden;
  return 1;
#endif
}

// Runs body(b0, b1) over blocks of rows [b0, b1) that cover [0, batch): the whole batch
// on one thread, blocks of kRecurrenceRows claimed by `threads` threads in one
// parallel region otherwise. Every row is computed the same way whatever the blocks
// (gemm's bits do not depend on how the rows are blocked), so the result is
// bit-identical at any thread count.
template <class F>
void over_row_blocks(int threads, int64_t batch, F&& body) {
  if (threads <= 1) {
    body(int64_t{0}, batch);
    return;
  }
#if defined(_OPENMP)
  const int64_t blocks = (batch + kRecurrenceRows - 1) / kRecurrenceRows;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t i = 0; i < blocks; ++i)
    body(i * kRecurrenceRows, std::min(batch, (i + 1) * kRecurrenceRows));
#endif
}

// A whole layer over the sequence as ONE op, the fast path of nn::LSTM. Inputs:
// zx [T, B, 4H] = x·W_ihᵀ for every step (one GEMM, made by the caller), W_hh, the
// biases (either may be undefined), h0 and c0 [B, H]. Outputs: hs [T, B, H] (every h_t)
// and c_T [B, H].
//
// Forward, for t = 1..T, on each block of rows:
//   z_t = h_{t-1}·W_hhᵀ + zx_t + (b_ih + b_hh)      the product written into the gates
//                                                  buffer, the rest added by the cell
//   then the cell (cell_forward) in place.
// W_hhᵀ is made contiguous once per sequence, so the per-step product reads it in place
// instead of packing a transposed operand at every step.
//
// Backward, for t = T..1: dh_t = ∂L/∂hs_t + dz_{t+1}·W_hh (the step after t reads h_t),
// the cell's backward gives dz_t and dc_{t-1}. What a step-by-step graph would do
// T times at small sizes is done once at the end:
//   ∂L/∂W_hh = Σ_t dz_tᵀ·h_{t-1} = dZᵀ·H_prev     one GEMM of [4H, T·B]·[T·B, H]
//   ∂L/∂b    = Σ_t Σ_b dz_t                       one reduction
//   ∂L/∂zx   = dZ                                 the caller's GEMM takes it to x and W_ih
// instead of T GEMMs of [4H, B]·[B, H] and T accumulations into W_hh's gradient.
std::vector<Variable> lstm_sequence(const Variable& zx, const Variable& w_hh, const Variable& b_ih,
                                    const Variable& b_hh, const Variable& h0, const Variable& c0) {
  const int64_t steps = zx.size(0), batch = zx.size(1), hidden = w_hh.size(1);
  const int64_t gates_n = 4 * hidden;
  const DType dtype = zx.dtype();
  const Tensor zxd = zx.data().contiguous(), whh = w_hh.data().contiguous();
  const Tensor whh_t = whh.mT().contiguous();  // [H, 4H]
  const Tensor bias = combined_bias(b_ih, b_hh);
  // Saved for backward: h_0..h_T and c_0..c_T (T + 1 each), gates and tanh c_t (T each).
  Tensor hs_all = Tensor::empty({steps + 1, batch, hidden}, dtype);
  Tensor cs_all = Tensor::empty({steps + 1, batch, hidden}, dtype);
  Tensor gates = Tensor::empty({steps, batch, gates_n}, dtype);
  Tensor tanh_c = Tensor::empty({steps, batch, hidden}, dtype);
  hs_all.select(0, 0).copy_(h0.data());
  cs_all.select(0, 0).copy_(c0.data());
  const int threads = recurrence_threads(steps, batch, hidden);
  dispatch_floating(dtype, "lstm_sequence", [&](auto tag) {
    using T = decltype(tag);
    const T *pzx = zxd.data<T>(), *pw = whh_t.data<T>(), *pb = data_or_null<T>(bias);
    T *phs = hs_all.data<T>(), *pcs = cs_all.data<T>(), *pg = gates.data<T>(),
      *ptc = tanh_c.data<T>();
    over_row_blocks(threads, batch, [&](int64_t b0, int64_t b1) {
      const int64_t rows = b1 - b0;
      for (int64_t t = 0; t < steps; ++t) {
        const int64_t z0 = (t * batch + b0) * gates_n;  // this block's rows of step t
        T* z = pg + z0;
        const int64_t h_prev = (t * batch + b0) * hidden, h_next = h_prev + batch * hidden;
        gemm<T>(false, false, rows, gates_n, hidden, T(1), phs + h_prev, hidden, pw, gates_n, T(0),
                z, gates_n);  // z = h_{t-1}·W_hhᵀ
        cell_forward<T>(z, pzx + z0, pb, pcs + h_prev, pcs + h_next, ptc + h_prev, phs + h_next,
                        rows, hidden);
      }
    });
  });
  const Tensor hs = hs_all.narrow(0, 1, steps);
  const Tensor c_last = cs_all.select(0, steps);

  return record_multi(
      "lstm_sequence", {hs, c_last}, {zx, w_hh, b_ih, b_hh, h0, c0},
      [hs_all, cs_all, gates, tanh_c, whh, steps, batch, hidden, gates_n](
          const std::vector<Tensor>& gy, Grads& g) {
        const Tensor ghs = gy[0].contiguous();
        const DType dt = gates.dtype();
        Tensor dZ = Tensor::empty({steps, batch, gates_n}, dt);
        Tensor dh = Tensor::empty({batch, hidden}, dt);  // dz_{t+1}·W_hh, at the end ∂L/∂h_0
        Tensor dc = gy[1].contiguous().clone();          // ∂L/∂c_t
        Tensor dc_prev = Tensor::empty({batch, hidden}, dt);
        const int team = recurrence_threads(steps, batch, hidden);
        dispatch_floating(dt, "lstm_sequence backward", [&](auto tag) {
          using T = decltype(tag);
          const T *pghs = ghs.data<T>(), *pw = whh.data<T>(), *pg = gates.data<T>(),
                  *ptc = tanh_c.data<T>(), *pcs = cs_all.data<T>();
          T *pdz = dZ.data<T>(), *pdh = dh.data<T>();
          T *pdc = dc.data<T>(), *pdc_prev = dc_prev.data<T>();
          over_row_blocks(team, batch, [&](int64_t b0, int64_t b1) {
            const int64_t rows = b1 - b0;
            T* gh = pdh + b0 * hidden;
            T* dc_next = pdc + b0 * hidden;  // ∂L/∂c_{t+1}
            T* dc_t = pdc_prev + b0 * hidden;
            for (int64_t t = steps - 1; t >= 0; --t) {
              const int64_t e0 = (t * batch + b0) * hidden, z0 = (t * batch + b0) * gates_n;
              if (t + 1 < steps) {  // ∂L/∂h_t = ∂L/∂hs_t + dz_{t+1}·W_hh
                gemm<T>(false, false, rows, hidden, gates_n, T(1), pdz + z0 + batch * gates_n,
                        gates_n, pw, hidden, T(0), gh, hidden);  // [rows, 4H]·[4H, H]
                pointwise_backward<T>(pg + z0, ptc + e0, pcs + e0, gh, pghs + e0, dc_next, pdz + z0,
                                      dc_t, rows, hidden);
              } else {  // the last step: ∂L/∂h_T = ∂L/∂hs_T
                pointwise_backward<T>(pg + z0, ptc + e0, pcs + e0, pghs + e0, nullptr, dc_next,
                                      pdz + z0, dc_t, rows, hidden);
              }
              std::swap(dc_next, dc_t);
            }
            // ∂L/∂h_0 = dz_1·W_hh (zero for an empty sequence)
            if (steps > 0) {
              gemm<T>(false, false, rows, hidden, gates_n, T(1), pdz + b0 * gates_n, gates_n, pw,
                      hidden, T(0), gh, hidden);
            } else {
              std::fill(gh, gh + rows * hidden, T(0));
            }
          });
        });
        // After the loop ∂L/∂c_0 is where dc_next points: dc after an even number of steps.
        if (steps % 2 == 1) std::swap(dc, dc_prev);
        if (g.needs(0)) g[0] = dZ;
        if (g.needs(1)) {
          const Tensor h_prev = hs_all.narrow(0, 0, steps).reshape({steps * batch, hidden});
          g[1] = matmul(dZ.reshape({steps * batch, gates_n}).mT(), h_prev);  // [4H, H]
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
  const auto hc = lstm_cell_op(x, state.h, state.c, w_ih, w_hh, b_ih, b_hh);
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
