/// \file
/// LSTM: the recurrent network of the encoder-decoder story.
///
/// One step, with gates in PyTorch's order (i, f, g, o) stacked in one matrix:
///
///     z = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh          z: [B, 4H]
///     i = σ(z[0:H])      input gate:  how much of the candidate to write
///     f = σ(z[H:2H])     forget gate: how much of the old cell to keep
///     g = tanh(z[2H:3H]) candidate cell content
///     o = σ(z[3H:4H])    output gate: how much of the cell to show
///     c' = f ⊙ c + i ⊙ g
///     h' = o ⊙ tanh(c')
///
/// The cell exists twice: lstm_cell_composed() builds it from matmul, sigmoid,
/// tanh, + and × (the readable reference: read it first); lstm_cell_fused() does
/// the whole step, both products and the element-wise part, as one op with a
/// hand-written backward (the fast path, used by the modules). tests/test_lstm.cpp
/// shows they agree.
#pragma once

#include <cstdint>

#include "minigrad/nn/recurrent.h"
#include "minigrad/tensor/random.h"

namespace minigrad::nn {

/// The two states an LSTM carries from one step to the next: [B, H] each for one
/// step (LSTMCell), [L·D, B, H] each for a stack (LSTM). A plain struct, so
/// `auto [h, c] = state` binds.
struct LSTMState {
  Variable h;  ///< [B, H] (a cell) or [L·D, B, H] (a stack)
  Variable c;  ///< the same shape as h
};

///@{
/// x: [B, in]; state.h, state.c: [B, H]; b_ih, b_hh may be undefined (no bias).
LSTMState lstm_cell_composed(const Variable& x, const LSTMState& state, const Variable& w_ih,
                             const Variable& w_hh, const Variable& b_ih, const Variable& b_hh);
LSTMState lstm_cell_fused(const Variable& x, const LSTMState& state, const Variable& w_ih,
                          const Variable& w_hh, const Variable& b_ih, const Variable& b_hh);
///@}

/// The settings of an LSTMCell (libtorch's LSTMCellOptions): input_size, hidden_size,
/// bias, dtype, as every cell has them (RNNCellOptionsBase, recurrent.h).
/// `nn::LSTMCell cell(nn::LSTMCellOptions(3, 4).bias(false))`.
using LSTMCellOptions = RNNCellOptionsBase;

/// One LSTM step as a module. Parameters as in PyTorch's nn.LSTMCell (see
/// recurrent.h): weight_ih [4H, in], weight_hh [4H, H], bias_ih [4H], bias_hh [4H],
/// all initialised U(-1/√H, 1/√H).
///
///     nn::LSTMCell cell(3, 4);
///     auto [h, c] = cell(x, {h, c});     // x [B, 3], h and c [B, 4]
class LSTMCell : public RNNCellBase {
 public:
  /// \throws std::invalid_argument unless input_size and hidden_size are positive
  explicit LSTMCell(const LSTMCellOptions& options, Generator& gen = default_generator());
  /// LSTMCellOptions(input_size, hidden_size), libtorch's shorthand.
  LSTMCell(int64_t input_size, int64_t hidden_size)
      : LSTMCell(LSTMCellOptions(input_size, hidden_size)) {}

  /// x: [B, in] with states [B, H], or unbatched [in] with states [H]. An undefined
  /// state (the default) starts from zeros; h and c are given both or neither.
  /// \return the next (h, c), of the states' shape
  LSTMState forward(const Variable& x, const LSTMState& state = {});
  /// forward(x, state).
  LSTMState operator()(const Variable& x, const LSTMState& state = {}) { return forward(x, state); }
};

/// The settings of an LSTM (libtorch's LSTMOptions), PyTorch's defaults: those of
/// every stack of recurrent layers (RNNOptionsBase, recurrent.h), proj_size included.
///
///     nn::LSTM lstm(nn::LSTMOptions(32, 64).num_layers(2).batch_first(true)
///                       .bidirectional(true).dropout(0.1));
using LSTMOptions = RNNOptionsBase;

/// What LSTM::forward returns: `auto [out, state] = lstm(x)`, then
/// `auto [h_n, c_n] = state`.
struct LSTMOutput {
  /// every step's h of the last layer, both directions side by side:
  /// [T, B, D·H], [B, T, D·H] if batch_first, [T, D·H] unbatched
  Variable output;
  /// the last step's (h, c) of every layer and direction, entry l·D + d:
  /// [L·D, B, H] each ([L·D, H] unbatched) — ALWAYS layer-first
  LSTMState state;
};

/// A stack of LSTM layers over a whole sequence (RNNBase: parameters
/// weight_ih_l{l}, weight_hh_l{l}, bias_ih_l{l}, bias_hh_l{l} per layer l, the same
/// with "_reverse" for the backward direction, and batch_first, which leaves the
/// states layer-first).
class LSTM : public RNNBase {
 public:
  /// \throws std::invalid_argument unless input_size, hidden_size and num_layers are
  ///         positive, dropout is in [0, 1] and proj_size is 0
  explicit LSTM(const LSTMOptions& options, Generator& gen = default_generator());
  /// LSTMOptions(input_size, hidden_size), libtorch's shorthand.
  LSTM(int64_t input_size, int64_t hidden_size) : LSTM(LSTMOptions(input_size, hidden_size)) {}

  /// x: [T, B, in] ([B, T, in] if batch_first) or unbatched [T, in]. state: (h0, c0),
  /// [L·D, B, H] each ([L·D, H] unbatched); undefined (the default) = zeros, and h0
  /// and c0 are given both or neither.
  LSTMOutput forward(const Variable& x, const LSTMState& state = {});
  /// forward(x, state).
  LSTMOutput operator()(const Variable& x, const LSTMState& state = {}) {
    return forward(x, state);
  }
};

}  // namespace minigrad::nn
