/// \file
/// GRU: the gated recurrent unit, an LSTM with one state instead of two.
///
/// One step, with gates in PyTorch's order (r, z, n) stacked in one matrix:
///
///     r  = σ(W_ir x + b_ir + W_hr h + b_hr)          reset gate: how much of h the candidate sees
///     z  = σ(W_iz x + b_iz + W_hz h + b_hz)          update gate: how much of h to keep
///     n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) candidate state
///     h' = (1 − z) ⊙ n + z ⊙ h
///
/// In matrix form, for a batch: x·W_ihᵀ + b_ih and h·W_hhᵀ + b_hh are [B, 3H],
/// columns [0:H] for r, [H:2H] for z, [2H:3H] for n. Note that r multiplies
/// W_hn h + b_hn *after* the matrix product (PyTorch's and cuDNN's form), so
/// b_hn sits inside the reset and b_in outside it: the two n biases do not merge.
///
/// Where the LSTM keeps a cell c beside h, the GRU writes h itself through the
/// update gate: z → 1 copies h unchanged, as f → 1, i → 0 copies c in an LSTM.
///
/// The cell exists twice, as the LSTM's does: gru_cell_composed() builds it from
/// matmul, sigmoid, tanh, + and × (the readable reference: read it first);
/// gru_cell_fused() does the element-wise part in one kernel with a hand-written
/// backward (the fast path, used by the modules). tests/test_gru.cpp shows they agree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "minigrad/nn/recurrent.h"
#include "minigrad/tensor/random.h"

namespace minigrad::nn {

/// One GRU step built from differentiable ops, one line per equation above.
/// \param x    input [B, in]
/// \param h    previous state [B, H]
/// \param w_ih [3H, in], rows (W_ir; W_iz; W_in)
/// \param w_hh [3H, H], rows (W_hr; W_hz; W_hn)
/// \param b_ih [3H] or undefined (no bias)
/// \param b_hh [3H] or undefined
/// \return h' [B, H]
/// \throws std::invalid_argument naming the op and every shape when they do not fit
Variable gru_cell_composed(const Variable& x, const Variable& h, const Variable& w_ih,
                           const Variable& w_hh, const Variable& b_ih, const Variable& b_hh);

/// The same step with the element-wise part (everything after the two matrix
/// products) as one op whose backward is written by hand. Same arguments.
Variable gru_cell_fused(const Variable& x, const Variable& h, const Variable& w_ih,
                        const Variable& w_hh, const Variable& b_ih, const Variable& b_hh);

/// The settings of a GRUCell (libtorch's GRUCellOptions): input_size, hidden_size,
/// bias, dtype, as every cell has them (RNNCellOptionsBase, recurrent.h).
/// `nn::GRUCell cell(nn::GRUCellOptions(3, 4).bias(false))`.
using GRUCellOptions = RNNCellOptionsBase;

/// One GRU step as a module. Parameters as in PyTorch's nn.GRUCell (see
/// recurrent.h): weight_ih [3H, in], weight_hh [3H, H], bias_ih [3H], bias_hh [3H],
/// all initialised U(−1/√H, 1/√H).
///
///     nn::GRUCell cell(3, 4);
///     h = cell(x, h);                    // x [B, 3], h [B, 4]
class GRUCell : public RNNCellBase {
 public:
  /// \throws std::invalid_argument unless input_size and hidden_size are positive
  explicit GRUCell(const GRUCellOptions& options, Generator& gen = default_generator());
  /// GRUCellOptions(input_size, hidden_size), libtorch's shorthand.
  GRUCell(int64_t input_size, int64_t hidden_size)
      : GRUCell(GRUCellOptions(input_size, hidden_size)) {}

  /// \param x [B, input_size], or unbatched [input_size]
  /// \param h [B, hidden_size] ([hidden_size] unbatched); undefined starts from zeros
  /// \return h', of h's shape
  Variable forward(const Variable& x, const Variable& h);
  /// forward(x, zeros): one step from the zero state, so a GRUCell fits a Sequential.
  Variable forward(const Variable& x) override { return forward(x, Variable()); }
  using Module::operator();
  /// forward(x, h).
  Variable operator()(const Variable& x, const Variable& h) { return forward(x, h); }
};

/// The settings of a GRU (libtorch's GRUOptions), PyTorch's defaults: those of every
/// stack of recurrent layers (RNNOptionsBase, recurrent.h); proj_size must stay 0.
///
///     nn::GRU gru(nn::GRUOptions(32, 64).num_layers(2).batch_first(true)
///                     .bidirectional(true).dropout(0.1));
using GRUOptions = RNNOptionsBase;

/// What GRU::forward returns: `auto [out, h_n] = gru(x)`.
struct GRUOutput {
  /// every step's h of the last layer, both directions side by side:
  /// [T, B, D·H], [B, T, D·H] if batch_first, [T, D·H] unbatched
  Variable output;
  /// the last step's h of every layer and direction, entry l·D + d:
  /// [L·D, B, H] ([L·D, H] unbatched) — ALWAYS layer-first
  Variable h_n;
};

/// A stack of GRU layers over a whole sequence; layer l > 0 reads the h of layer l − 1.
/// Parameters per layer l (RNNBase): weight_ih_l{l} [3H, in or D·H], weight_hh_l{l}
/// [3H, H], bias_ih_l{l} and bias_hh_l{l} [3H], and the same with "_reverse" for
/// the backward direction.
///
/// As with LSTM (and PyTorch), batch_first changes the layout of the input and of
/// `output` only: h0 and h_n stay [L·D, B, H], so h_n[-1] is the last layer's
/// final state.
class GRU : public RNNBase {
 public:
  /// \throws std::invalid_argument unless input_size, hidden_size and num_layers are
  ///         positive, dropout is in [0, 1] and proj_size is 0
  explicit GRU(const GRUOptions& options, Generator& gen = default_generator());
  /// GRUOptions(input_size, hidden_size), libtorch's shorthand.
  GRU(int64_t input_size, int64_t hidden_size) : GRU(GRUOptions(input_size, hidden_size)) {}

  /// \param x  [T, B, input_size] ([B, T, input_size] if batch_first) or unbatched
  ///           [T, input_size], T ≥ 1
  /// \param h0 [L·D, B, hidden_size] ([L·D, hidden_size] unbatched); undefined (the
  ///           default) starts from zeros
  GRUOutput forward(const Variable& x, const Variable& h0 = {});
  /// forward(x, h0).
  GRUOutput operator()(const Variable& x, const Variable& h0 = {}) { return forward(x, h0); }
};

}  // namespace minigrad::nn
