#include "minigrad/nn/recurrent.h"

#include <ostream>

#include "minigrad/nn/init.h"
#include "minigrad/tensor/check.h"

namespace minigrad::nn {

namespace {

// Prints a Variable's shape, or "undefined".
struct ShapeOf {
  const Variable& v;
};

std::ostream& operator<<(std::ostream& os, ShapeOf s) {
  return s.v.defined() ? os << s.v.shape() : os << "undefined";
}

using NamedStates = std::initializer_list<std::pair<const char*, const Variable*>>;

// Prints ", h [2,4], c [2,4]".
struct StateShapes {
  NamedStates states;
};

std::ostream& operator<<(std::ostream& os, StateShapes s) {
  for (const auto& [name, v] : s.states) os << ", " << name << " " << ShapeOf{*v};
  return os;
}

// Prints "h and c".
struct StateNames {
  NamedStates states;
};

std::ostream& operator<<(std::ostream& os, StateNames s) {
  const char* separator = "";
  for (const auto& state : s.states) {
    os << separator << state.first;
    separator = " and ";
  }
  return os;
}

// One layer's four parameters, named name + suffix ("weight_ih" + "_l0").
void register_layer(Module& m, const std::string& suffix, int64_t gates, int64_t in, int64_t hidden,
                    bool bias, DType dtype, Generator& gen, Variable& w_ih, Variable& w_hh,
                    Variable& b_ih, Variable& b_hh) {
  m.register_parameter("weight_ih" + suffix, &w_ih,
                       init::recurrent_uniform({gates * hidden, in}, hidden, dtype, gen));
  m.register_parameter("weight_hh" + suffix, &w_hh,
                       init::recurrent_uniform({gates * hidden, hidden}, hidden, dtype, gen));
  if (bias) {
    m.register_parameter("bias_ih" + suffix, &b_ih,
                         init::recurrent_uniform({gates * hidden}, hidden, dtype, gen));
    m.register_parameter("bias_hh" + suffix, &b_hh,
                         init::recurrent_uniform({gates * hidden}, hidden, dtype, gen));
  }
}

std::string repr(int64_t in, int64_t hidden, int64_t layers, bool batch_first, bool bias) {
  std::string s = std::to_string(in) + ", " + std::to_string(hidden);
  if (layers != 1) s += ", num_layers=" + std::to_string(layers);
  if (batch_first) s += ", batch_first=true";
  if (!bias) s += ", bias=false";
  return s;
}

}  // namespace

void check_cell_arguments(const char* op, int64_t gates, const Variable& x, NamedStates states,
                          const Variable& w_ih, const Variable& w_hh, const Variable& b_ih,
                          const Variable& b_hh) {
  bool ok = x.defined() && w_ih.defined() && w_hh.defined() && x.dim() == 2 && w_ih.dim() == 2 &&
            w_hh.dim() == 2;
  const int64_t rows = ok ? w_hh.size(0) : 0, hidden = ok ? w_hh.size(1) : 0;
  ok = ok && w_ih.size(0) == rows && rows == gates * hidden && x.size(1) == w_ih.size(1);
  for (const auto& state : states) {
    const Variable& s = *state.second;
    ok = ok && s.defined() && s.shape() == Shape{x.size(0), hidden};
  }
  for (const Variable* b : {&b_ih, &b_hh}) ok = ok && (!b->defined() || b->shape() == Shape{rows});
  MINIGRAD_CHECK(ok) << op << ": x " << ShapeOf{x} << StateShapes{states} << ", W_ih "
                     << ShapeOf{w_ih} << ", W_hh " << ShapeOf{w_hh} << ", b_ih " << ShapeOf{b_ih}
                     << ", b_hh " << ShapeOf{b_hh} << ": expected x [B,in], " << StateNames{states}
                     << " [B,H], W_ih [" << gates << "H,in], W_hh [" << gates << "H,H], biases ["
                     << gates << "H] or undefined";
  std::vector<const Variable*> all;
  for (const auto& state : states) all.push_back(state.second);
  for (const Variable* v : {&w_ih, &w_hh, &b_ih, &b_hh}) all.push_back(v);
  for (const Variable* v : all) {
    MINIGRAD_CHECK(!v->defined() || v->dtype() == x.dtype())
        << op << ": x is " << dtype_name(x.dtype()) << " but the state or a weight is "
        << dtype_name(v->dtype());
  }
}

// ---- RNNCellBase ----------------------------------------------------------------------------

RNNCellBase::RNNCellBase(const char* name, int64_t gates, int64_t in, int64_t hidden, bool bias,
                         DType dtype, Generator& gen)
    : input_size(in), hidden_size(hidden), name_(name) {
  MINIGRAD_CHECK(in > 0 && hidden > 0)
      << name << ": input_size and hidden_size must be positive, got " << in << " and " << hidden;
  register_layer(*this, "", gates, in, hidden, bias, dtype, gen, weight_ih, weight_hh, bias_ih,
                 bias_hh);
}

void RNNCellBase::check_input(const Variable& x) const {
  MINIGRAD_CHECK(x.dim() == 2 && x.size(1) == input_size)
      << type_name() << ": input of shape " << x.shape() << ", expected [batch, " << input_size
      << "]";
}

Variable RNNCellBase::zero_state(const Variable& x) const {
  return Variable(Tensor::zeros({x.size(0), hidden_size}, x.dtype()));
}

std::string RNNCellBase::extra_repr() const {
  return repr(input_size, hidden_size, 1, false, bias_ih.defined());
}

// ---- RNNBase --------------------------------------------------------------------------------

RNNBase::RNNBase(const char* name, int64_t gates, int64_t in, int64_t hidden, int64_t layers,
                 bool batch_first_, bool bias, DType dtype, Generator& gen)
    : input_size(in),
      hidden_size(hidden),
      num_layers(layers),
      batch_first(batch_first_),
      name_(name) {
  MINIGRAD_CHECK(in > 0 && hidden > 0 && layers > 0)
      << name << ": input_size, hidden_size and num_layers must be positive, got " << in << ", "
      << hidden << ", " << layers;
  const auto n = static_cast<size_t>(layers);
  // Sized up front: the registry holds pointers to these elements.
  weight_ih.resize(n);
  weight_hh.resize(n);
  bias_ih.resize(n);
  bias_hh.resize(n);
  for (size_t l = 0; l < n; ++l) {
    register_layer(*this, "_l" + std::to_string(l), gates, l == 0 ? in : hidden, hidden, bias,
                   dtype, gen, weight_ih[l], weight_hh[l], bias_ih[l], bias_hh[l]);
  }
}

RNNBase::Run RNNBase::run_layers(const Variable& x_in, std::initializer_list<Variable> initial,
                                 const Layer& layer) const {
  MINIGRAD_CHECK(x_in.dim() == 3 && x_in.size(2) == input_size)
      << type_name() << ": input of shape " << x_in.shape() << ", expected "
      << (batch_first ? "[batch, time, " : "[time, batch, ") << input_size << "]";
  const Variable x = batch_first ? x_in.transpose(0, 1) : x_in;  // [T, B, in]
  const int64_t batch = x.size(1);
  const Shape state_shape{num_layers, batch, hidden_size};
  for (const Variable& s : initial) {
    MINIGRAD_CHECK(!s.defined() || s.shape() == state_shape)
        << type_name() << ": initial state of shape " << s.shape()
        << ", expected [num_layers, batch, hidden] = " << state_shape
        << " (layer-first even when batch_first)";
  }
  MINIGRAD_CHECK(x.size(0) > 0) << type_name() << ": the input sequence is empty";

  Variable layer_input = x;
  std::vector<std::vector<Variable>> finals(initial.size());
  for (int64_t l = 0; l < num_layers; ++l) {
    std::vector<Variable> state;
    for (const Variable& s : initial) {
      state.push_back(s.defined() ? s.select(0, l)
                                  : Variable(Tensor::zeros({batch, hidden_size}, x.dtype())));
    }
    layer_input = layer(static_cast<size_t>(l), layer_input, state);  // [T, B, H]
    for (size_t k = 0; k < finals.size(); ++k) finals[k].push_back(state[k]);
  }
  Run run{batch_first ? layer_input.transpose(0, 1) : layer_input, {}};
  for (const std::vector<Variable>& f : finals) run.final_states.push_back(stack(f, 0));
  return run;
}

Variable RNNBase::input_projection(const Variable& input, size_t layer) const {
  const int64_t steps = input.size(0), batch = input.size(1);
  return input.reshape({steps * batch, input.size(2)}).matmul(weight_ih[layer].mT())
      .reshape({steps, batch, weight_ih[layer].size(0)});
}

Variable RNNBase::over_steps(const Variable& sequence,
                             const std::function<Variable(const Variable&)>& step) {
  std::vector<Variable> outputs;
  for (const Variable& x_t : unbind(sequence, 0)) outputs.push_back(step(x_t));
  return stack(outputs, 0);
}

std::string RNNBase::extra_repr() const {
  return repr(input_size, hidden_size, num_layers, batch_first, bias_ih[0].defined());
}

}  // namespace minigrad::nn
