/// \file
/// What the recurrent modules share: nn::LSTMCell and nn::GRUCell derive from
/// RNNCellBase, nn::LSTM and nn::GRU from RNNBase. Only the cell differs, and each
/// cell's math stays in its own file (lstm.{h,cpp}, gru.{h,cpp}).
///
/// A layer stacks its G gates in one matrix (LSTM: G = 4, gates i, f, g, o;
/// GRU: G = 3, gates r, z, n), with PyTorch's names, shapes and initialisation:
///
///     weight_ih [G·H, in]   weight_hh [G·H, H]   bias_ih [G·H]   bias_hh [G·H]
///     every one U(−1/√H, 1/√H)                  (in: input_size in layer 0, H above)
///
/// A stack of layers runs layer by layer over the whole sequence: layer l reads
/// every step's h of layer l − 1, starts from its slice of the initial states and
/// ends with its slice of the final ones.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "minigrad/nn/module.h"
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

/// One recurrent step as a module: the parameters weight_ih, weight_hh, bias_ih
/// and bias_hh of one layer, and the check of the input.
class RNNCellBase : public Module {
 public:
  /// The name given by the derived class ("LSTMCell", "GRUCell").
  std::string type_name() const override { return name_; }
  /// "in, H", then ", bias=false" without biases.
  std::string extra_repr() const override;

  int64_t input_size;   ///< width of x
  int64_t hidden_size;  ///< H
  bool fused = true;    ///< false: the composed reference
  Variable weight_ih;   ///< [G·H, input_size]
  Variable weight_hh;   ///< [G·H, H]
  Variable bias_ih;     ///< [G·H], undefined without biases
  Variable bias_hh;     ///< [G·H], undefined without biases

 protected:
  /// \param name  the module's type name, first in the error message
  /// \param gates G, the number of gates stacked in each weight
  /// \param input_size  width of x
  /// \param hidden_size H
  /// \param bias  whether the layer has bias_ih and bias_hh
  /// \param dtype of the parameters
  /// \param gen   draws the initial weights
  /// \throws std::invalid_argument unless input_size and hidden_size are positive
  RNNCellBase(const char* name, int64_t gates, int64_t input_size, int64_t hidden_size, bool bias,
              DType dtype, Generator& gen);

  /// Refuses an x that is not [B, input_size], naming type_name() and the shapes.
  void check_input(const Variable& x) const;
  /// The state a step starts from when none is given: zeros [B, H] of x's dtype.
  Variable zero_state(const Variable& x) const;

 private:
  std::string name_;
};

/// A stack of recurrent layers over a whole sequence: the parameters of every
/// layer, batch_first, the checks of the input and the initial states, and the
/// loop over layers.
///
/// The batch_first pitfall (PyTorch's too): batch_first changes the layout of the
/// input and of the output only. Initial and final states stay [num_layers, B, H]
/// either way, so h_n[-1] is the last layer's final state, never h_n[:, -1].
class RNNBase : public Module {
 public:
  /// The name given by the derived class ("LSTM", "GRU").
  std::string type_name() const override { return name_; }
  /// "in, H", then ", num_layers=L", ", batch_first=true" and ", bias=false" where
  /// they differ from the defaults.
  std::string extra_repr() const override;

  int64_t input_size;               ///< width of x
  int64_t hidden_size;              ///< H
  int64_t num_layers;               ///< L
  bool batch_first;                 ///< x and the output are [B, T, ·] instead of [T, B, ·]
  bool fused = true;                ///< false: every step through the composed cell
  std::vector<Variable> weight_ih;  ///< per layer l: weight_ih_l{l}, [G·H, in or H]
  std::vector<Variable> weight_hh;  ///< per layer l: weight_hh_l{l}, [G·H, H]
  std::vector<Variable> bias_ih;  ///< per layer l: bias_ih_l{l}, [G·H] (undefined without biases)
  std::vector<Variable> bias_hh;  ///< per layer l: bias_hh_l{l}, [G·H] (undefined without biases)

 protected:
  /// \param name  the module's type name, first in the error message
  /// \param gates G, the number of gates stacked in each weight
  /// \param input_size  width of x
  /// \param hidden_size H
  /// \param num_layers  L, stacked: layer l > 0 reads layer l − 1's outputs
  /// \param batch_first x and the output are [B, T, ·] instead of [T, B, ·]
  /// \param bias  whether every layer has biases
  /// \param dtype of the parameters
  /// \param gen   draws the initial weights
  /// \throws std::invalid_argument unless input_size, hidden_size and num_layers are positive
  RNNBase(const char* name, int64_t gates, int64_t input_size, int64_t hidden_size,
          int64_t num_layers, bool batch_first, bool bias, DType dtype, Generator& gen);

  /// Runs layer `layer` over the whole sequence. `input` is time-major, [T, B, in];
  /// `state` holds the layer's initial states ([B, H] each, in the order given to
  /// run_layers) and is left holding its final states. Returns every step's h, [T, B, H].
  using Layer =
      std::function<Variable(size_t layer, const Variable& input, std::vector<Variable>& state)>;

  /// What run_layers returns.
  struct Run {
    Variable output;                     ///< every step's h of the last layer, in x's layout
    std::vector<Variable> final_states;  ///< one [num_layers, B, H] per initial state
  };

  /// Checks x ([T, B, in], or [B, T, in] if batch_first; T ≥ 1) and the initial
  /// states ([num_layers, B, H] each, undefined = zeros), then runs `layer` for
  /// every layer, each reading the output of the one below.
  /// \throws std::invalid_argument naming type_name() and the shapes
  Run run_layers(const Variable& x, std::initializer_list<Variable> initial,
                 const Layer& layer) const;

  /// x·W_ihᵀ of layer `layer` for all steps in one GEMM: [T, B, in] → [T, B, G·H].
  /// Only h·W_hhᵀ has to wait for the previous step.
  Variable input_projection(const Variable& input, size_t layer) const;

  /// Calls `step` on every step of `sequence` ([T, B, ·]) in order and stacks what
  /// it returns: [T, B, H].
  static Variable over_steps(const Variable& sequence,
                             const std::function<Variable(const Variable&)>& step);

 private:
  std::string name_;
};

}  // namespace minigrad::nn
