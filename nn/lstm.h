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
/// the element-wise part in one kernel with a hand-written backward (the fast
/// path, used by the modules). tests/test_lstm.cpp shows they agree.
#pragma once

#include <cstdint>

#include "minigrad/nn/recurrent.h"
#include "minigrad/tensor/random.h"

namespace minigrad::nn {

/// The two states an LSTM step carries from one step to the next.
struct LSTMState {
  Variable h;  ///< [B, H]
  Variable c;  ///< [B, H]
};

///@{
/// x: [B, in]; state.h, state.c: [B, H]; b_ih, b_hh may be undefined (no bias).
LSTMState lstm_cell_composed(const Variable& x, const LSTMState& state, const Variable& w_ih,
                             const Variable& w_hh, const Variable& b_ih, const Variable& b_hh);
LSTMState lstm_cell_fused(const Variable& x, const LSTMState& state, const Variable& w_ih,
                          const Variable& w_hh, const Variable& b_ih, const Variable& b_hh);
///@}

/// One LSTM step as a module. Parameters as in PyTorch's nn.LSTMCell (see
/// recurrent.h): weight_ih [4H, in], weight_hh [4H, H], bias_ih [4H], bias_hh [4H],
/// all initialised U(-1/√H, 1/√H).
class LSTMCell : public RNNCellBase {
 public:
  /// \throws std::invalid_argument unless input_size and hidden_size are positive
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias = true, DType dtype = DType::Float32,
           Generator& gen = default_generator());
  /// x: [B, in]. An undefined state (the default) starts from zeros.
  LSTMState forward(const Variable& x, const LSTMState& state = {});
};

/// What LSTM::forward returns.
struct LSTMOutput {
  Variable output;  ///< every step's h of the last layer: [T, B, H], or [B, T, H] if batch_first
  Variable h_n;     ///< the last step's h of every layer: [num_layers, B, H] — ALWAYS layer-first
  Variable c_n;     ///< the same for c
};

/// A stack of LSTM layers over a whole sequence (RNNBase: parameters weight_ih_l{l},
/// weight_hh_l{l}, bias_ih_l{l}, bias_hh_l{l} per layer l, and batch_first, which
/// leaves h0, c0, h_n and c_n layer-first).
class LSTM : public RNNBase {
 public:
  /// \throws std::invalid_argument unless input_size, hidden_size and num_layers are positive
  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool batch_first = false,
       bool bias = true, DType dtype = DType::Float32, Generator& gen = default_generator());
  /// x: [T, B, in] (or [B, T, in]); h0, c0: [num_layers, B, H], undefined = zeros.
  LSTMOutput forward(const Variable& x, const Variable& h0 = {}, const Variable& c0 = {});
};

}  // namespace minigrad::nn
