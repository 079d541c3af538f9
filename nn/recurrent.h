/// \file
/// What the recurrent modules share: nn::LSTMCell and nn::GRUCell derive from
/// RNNCellBase, nn::LSTM and nn::GRU from RNNBase. Only the cell differs, and each
/// cell's math stays in its own file (lstm.{h,cpp}, gru.{h,cpp}).
///
/// A layer stacks its G gates in one matrix (LSTM: G = 4, gates i, f, g, o;
/// GRU: G = 3, gates r, z, n), with PyTorch's names, shapes and initialisation:
///
///     weight_ih [G·H, in]   weight_hh [G·H, H]   bias_ih [G·H]   bias_hh [G·H]
///     every one U(−1/√H, 1/√H)            (in: input_size in layer 0, D·H above)
///
/// A stack of layers runs layer by layer over the whole sequence: layer l reads
/// every step's h of layer l − 1 (both directions' side by side when D = 2),
/// starts from its slice of the initial states and ends with its slice of the
/// final ones.
///
/// The settings come as options objects, as in libtorch:
///
///     nn::LSTM lstm(nn::LSTMOptions(32, 64).num_layers(2).batch_first(true));
///     auto [out, state] = lstm(x);          // out [B, T, 64], state.h, state.c [2, B, 64]
///     nn::GRU gru(8, 16);                   // GRUOptions(8, 16): one layer, time-major
///     auto [y, h_n] = gru(x, h0);
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "minigrad/nn/module.h"
#include "minigrad/nn/options.h"
#include "minigrad/tensor/random.h"

namespace minigrad::nn {

/// The checks every cell function makes (lstm_cell_composed, gru_cell_fused, ...):
/// x [B, in], each state [B, H], W_ih [G·H, in], W_hh [G·H, H], biases [G·H] or
/// undefined, all of x's dtype. The fused kernels read exactly G·H values from a
/// bias, so a wrong one is refused here rather than read past its end.
/// \param op     the cell function, first in the message
/// \param gates  G
/// \param x      the input [B, in]
/// \param states the states by name: {{"h", &h}} or {{"h", &h}, {"c", &c}}
/// \param w_ih   the input weights [G·H, in]
/// \param w_hh   the recurrent weights [G·H, H]
/// \param b_ih   the input bias [G·H], or undefined
/// \param b_hh   the recurrent bias [G·H], or undefined
/// \throws std::invalid_argument naming op and every shape, or the two dtypes
void check_cell_arguments(const char* op, int64_t gates, const Variable& x,
                          std::initializer_list<std::pair<const char*, const Variable*>> states,
                          const Variable& w_ih, const Variable& w_hh, const Variable& b_ih,
                          const Variable& b_hh);

/// The settings of a single-step module (libtorch's RNNCellOptionsBase):
/// LSTMCellOptions and GRUCellOptions are this type,
/// `nn::GRUCell cell(nn::GRUCellOptions(3, 4).bias(false))`.
struct RNNCellOptionsBase {
  /// \param input_size  width of x
  /// \param hidden_size H
  RNNCellOptionsBase(int64_t input_size, int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  /// width of x
  MINIGRAD_ARG(int64_t, input_size);
  /// H
  MINIGRAD_ARG(int64_t, hidden_size);
  /// whether the layer has bias_ih and bias_hh
  MINIGRAD_ARG(bool, bias) = true;
  /// of the parameters
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

/// One recurrent step as a module: the parameters weight_ih, weight_hh, bias_ih
/// and bias_hh of one layer, and the check of the input.
///
/// Batched x is [B, in] with states [B, H]; unbatched x is [in] with states [H]
/// (PyTorch's rule): the derived forward works on [1, in] and squeezes the result.
class RNNCellBase : public Module {
 public:
  /// The name given by the derived class ("LSTMCell", "GRUCell").
  std::string type_name() const override { return name_; }
  /// "in, H", then ", bias=false" without biases.
  std::string extra_repr() const override;

  RNNCellOptionsBase options;  ///< the settings the cell was built with
  bool fused = true;           ///< false: the composed reference
  Variable weight_ih;               ///< [G·H, input_size]
  Variable weight_hh;               ///< [G·H, H]
  Variable bias_ih;                 ///< [G·H], undefined without biases
  Variable bias_hh;                 ///< [G·H], undefined without biases

 protected:
  /// \param name    the module's type name, first in the error message
  /// \param gates   G, the number of gates stacked in each weight
  /// \param opts    input_size, hidden_size, bias and dtype
  /// \param gen     draws the initial weights
  /// \throws std::invalid_argument unless input_size and hidden_size are positive
  RNNCellBase(const char* name, int64_t gates, const RNNCellOptionsBase& opts, Generator& gen);

  /// Refuses an x that is not [B, input_size] or [input_size], naming type_name() and
  /// the shapes. Returns whether x is batched (2-D).
  bool check_input(const Variable& x) const;
  /// The state a step starts from when none is given: zeros [B, H] of x's dtype
  /// (x is [B, in]).
  Variable zero_state(const Variable& x) const;
  /// A state given with unbatched x ([in]): it must be [H]; returned as [1, H].
  /// Undefined stays undefined.
  Variable batch_state(const Variable& s, const char* state_name) const;

 private:
  std::string name_;
};

/// The settings of a stack of recurrent layers (libtorch's RNNOptionsBase), PyTorch's
/// defaults: LSTMOptions and GRUOptions are this type,
///
///     nn::LSTM lstm(nn::LSTMOptions(32, 64).num_layers(2).batch_first(true)
///                       .bidirectional(true).dropout(0.1));
struct RNNOptionsBase {
  /// \param input_size  width of x
  /// \param hidden_size H
  RNNOptionsBase(int64_t input_size, int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  /// width of x
  MINIGRAD_ARG(int64_t, input_size);
  /// H
  MINIGRAD_ARG(int64_t, hidden_size);
  /// L, stacked: layer l > 0 reads layer l − 1's outputs
  MINIGRAD_ARG(int64_t, num_layers) = 1;
  /// whether every layer has biases
  MINIGRAD_ARG(bool, bias) = true;
  /// x and the output are [B, T, ·] instead of [T, B, ·]; the states are not affected
  MINIGRAD_ARG(bool, batch_first) = false;
  /// probability of dropping an output of every layer but the last, in training mode
  MINIGRAD_ARG(double, dropout) = 0.0;
  /// D = 2: every layer also runs from the last step to the first
  MINIGRAD_ARG(bool, bidirectional) = false;
  /// LSTM with projections (h = W_hr·h): refused unless 0, not implemented here
  /// (PyTorch's GRU refuses it too)
  MINIGRAD_ARG(int64_t, proj_size) = 0;
  /// of the parameters
  MINIGRAD_ARG(DType, dtype) = DType::Float32;
};

/// A stack of recurrent layers over a whole sequence: the parameters of every
/// layer and direction, the checks of the input and the initial states, the loop
/// over layers and directions, and the dropout between layers.
///
/// With D = 2 (bidirectional) layer l runs twice: forward over x_1..x_T and
/// backward over x_T..x_1. Its output at step t is [h→_t ; h←_t] ([.., 2H]), the
/// input of layer l + 1 and, for the last layer, the module's output. The
/// parameters of the backward direction carry the suffix "_reverse"
/// (weight_ih_l0_reverse), and its state is entry l·D + 1 of h0 and h_n.
///
/// The batch_first pitfall (PyTorch's too): batch_first changes the layout of the
/// input and of the output only. Initial and final states stay [L·D, B, H]
/// either way, so h_n[-1] is the last layer's final state, never h_n[:, -1].
class RNNBase : public Module {
 public:
  /// The name given by the derived class ("LSTM", "GRU").
  std::string type_name() const override { return name_; }
  /// "in, H", then the settings that differ from the defaults, in PyTorch's order:
  /// num_layers, bias, batch_first, dropout, bidirectional.
  std::string extra_repr() const override;

  RNNOptionsBase options;  ///< the settings the module was built with
  bool fused = true;       ///< false: every step through the composed cell
  /// Per layer l and direction d, at index k = l·D + d: weight_ih_l{l}[_reverse],
  /// [G·H, in] in layer 0, [G·H, D·H] above.
  std::vector<Variable> weight_ih;
  std::vector<Variable> weight_hh;  ///< at k = l·D + d: weight_hh_l{l}[_reverse], [G·H, H]
  std::vector<Variable>
      bias_ih;  ///< at k: bias_ih_l{l}[_reverse], [G·H] (undefined without biases)
  std::vector<Variable>
      bias_hh;  ///< at k: bias_hh_l{l}[_reverse], [G·H] (undefined without biases)

  /// D: 2 if bidirectional, else 1.
  int64_t num_directions() const { return options.bidirectional() ? 2 : 1; }

 protected:
  /// \param name    the module's type name, first in the error message
  /// \param gates   G, the number of gates stacked in each weight
  /// \param opts    the settings (input_size, hidden_size, num_layers, ...)
  /// \param gen     draws the initial weights and, in training, the dropout masks
  /// \throws std::invalid_argument unless proj_size is 0, input_size, hidden_size and
  ///         num_layers are positive and dropout is in [0, 1]
  RNNBase(const char* name, int64_t gates, const RNNOptionsBase& opts, Generator& gen);

  /// Runs layer and direction k = l·D + d over the whole sequence. `input` is
  /// time-major, [T, B, in], and already reversed in time for d = 1; `state` holds
  /// the initial states ([B, H] each, in the order given to run_layers) and is left
  /// holding the final ones. Returns every step's h, [T, B, H], in the order run.
  using Layer =
      std::function<Variable(size_t k, const Variable& input, std::vector<Variable>& state)>;

  /// What run_layers returns.
  struct Run {
    Variable output;                     ///< every step's h of the last layer, in x's layout
    std::vector<Variable> final_states;  ///< one [L·D, B, H] (or [L·D, H]) per initial state
  };

  /// Checks x ([T, B, in], [B, T, in] if batch_first, or unbatched [T, in]; T ≥ 1)
  /// and the initial states ([L·D, B, H] each, [L·D, H] with unbatched x;
  /// undefined = zeros), then runs `layer` for every layer and direction, each layer
  /// reading the output of the one below (after dropout, in training).
  /// \throws std::invalid_argument naming type_name() and the shapes
  Run run_layers(const Variable& x, std::initializer_list<Variable> initial,
                 const Layer& layer) const;

  /// x·W_ihᵀ of layer and direction k for all steps in one GEMM: [T, B, in] →
  /// [T, B, G·H]. Only h·W_hhᵀ has to wait for the previous step.
  Variable input_projection(const Variable& input, size_t k) const;

  /// Calls `step` on every step of `sequence` ([T, B, ·]) in order and stacks what
  /// it returns: [T, B, H].
  static Variable over_steps(const Variable& sequence,
                             const std::function<Variable(const Variable&)>& step);

 private:
  std::string name_;
  Generator* gen_;  // draws the dropout masks between layers
};

}  // namespace minigrad::nn
