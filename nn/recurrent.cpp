#include "minigrad/nn/recurrent.h"

#include <ostream>
#include <sstream>

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

// In training, zeroes each element of x with probability p and scales the rest by
// 1/(1 − p), as Dropout does; p = 1 multiplies by zero (PyTorch's answer).
//   y = x ⊙ m / (1 − p),  m_i ~ Bernoulli(1 − p)        ∂y/∂x = m / (1 − p)
Variable dropout_between_layers(const Variable& x, double p, Generator& gen) {
  const DType dt = x.dtype();
  if (p >= 1.0) return x * Variable(Tensor::zeros(x.shape(), dt));
  const Tensor keep = rand(x.shape(), 0.0, 1.0, dt, gen);
  const Tensor mask =
      div(where(ge(keep, Tensor::scalar(p, dt)), Tensor::scalar(1.0, dt), Tensor::scalar(0.0, dt)),
          1.0 - p);
  return x * Variable(mask);
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

RNNCellBase::RNNCellBase(const char* name, int64_t gates, const RNNCellOptionsBase& opts,
                         Generator& gen)
    : options(opts), name_(name) {
  const int64_t in = options.input_size(), hidden = options.hidden_size();
  MINIGRAD_CHECK(in > 0 && hidden > 0)
      << name << ": input_size and hidden_size must be positive, got " << in << " and " << hidden;
  register_layer(*this, "", gates, in, hidden, options.bias(), options.dtype(), gen, weight_ih,
                 weight_hh, bias_ih, bias_hh);
}

bool RNNCellBase::check_input(const Variable& x) const {
  const int64_t in = options.input_size();
  MINIGRAD_CHECK(x.defined() && (x.dim() == 1 || x.dim() == 2) && x.size(-1) == in)
      << type_name() << ": input of shape " << ShapeOf{x} << ", expected [batch, " << in
      << "] or unbatched [" << in << "]";
  return x.dim() == 2;
}

Variable RNNCellBase::zero_state(const Variable& x) const {
  return Variable(Tensor::zeros({x.size(0), options.hidden_size()}, x.dtype()));
}

Variable RNNCellBase::batch_state(const Variable& s, const char* state_name) const {
  if (!s.defined()) return s;
  MINIGRAD_CHECK(s.dim() == 1) << type_name() << ": unbatched input [" << options.input_size()
                               << "] needs " << state_name << " of shape ["
                               << options.hidden_size() << "], got " << s.shape();
  return s.unsqueeze(0);
}

std::string RNNCellBase::extra_repr() const {
  std::string s =
      std::to_string(options.input_size()) + ", " + std::to_string(options.hidden_size());
  if (!options.bias()) s += ", bias=false";
  return s;
}

// ---- RNNBase --------------------------------------------------------------------------------

RNNBase::RNNBase(const char* name, int64_t gates, const RNNOptionsBase& opts, Generator& gen)
    : options(opts), name_(name), gen_(&gen) {
  MINIGRAD_CHECK(options.proj_size() == 0)
      << name << ": proj_size=" << options.proj_size()
      << " (an LSTM with projections) is not implemented; use proj_size=0";
  const int64_t in = options.input_size(), hidden = options.hidden_size(),
                layers = options.num_layers();
  MINIGRAD_CHECK(in > 0 && hidden > 0 && layers > 0)
      << name << ": input_size, hidden_size and num_layers must be positive, got " << in << ", "
      << hidden << ", " << layers;
  MINIGRAD_CHECK(options.dropout() >= 0.0 && options.dropout() <= 1.0)
      << name << ": dropout must be in [0, 1], got " << std::to_string(options.dropout());
  const int64_t directions = num_directions();
  const auto n = static_cast<size_t>(layers * directions);
  // Sized up front: the registry holds pointers to these elements.
  weight_ih.resize(n);
  weight_hh.resize(n);
  bias_ih.resize(n);
  bias_hh.resize(n);
  // PyTorch's order: layer by layer, the forward direction before the reverse one.
  for (int64_t l = 0; l < layers; ++l) {
    for (int64_t d = 0; d < directions; ++d) {
      const auto k = static_cast<size_t>(l * directions + d);
      register_layer(*this, "_l" + std::to_string(l) + (d == 1 ? "_reverse" : ""), gates,
                     l == 0 ? in : directions * hidden, hidden, options.bias(), options.dtype(),
                     gen, weight_ih[k], weight_hh[k], bias_ih[k], bias_hh[k]);
    }
  }
}

RNNBase::Run RNNBase::run_layers(const Variable& x_in, std::initializer_list<Variable> initial,
                                 const Layer& layer) const {
  const RNNOptionsBase& o = options;
  const int64_t in = o.input_size();
  MINIGRAD_CHECK(x_in.defined() && (x_in.dim() == 2 || x_in.dim() == 3) && x_in.size(-1) == in)
      << type_name() << ": input of shape " << ShapeOf{x_in} << ", expected "
      << (o.batch_first() ? "[batch, time, " : "[time, batch, ") << in << "] or unbatched [time, "
      << in << "]";
  // Unbatched [T, in] runs as a batch of one, whatever batch_first says (PyTorch's rule).
  const bool batched = x_in.dim() == 3;
  const Variable x = !batched          ? x_in.unsqueeze(1)
                     : o.batch_first() ? x_in.transpose(0, 1)
                                       : x_in;  // [T, B, in]
  const int64_t steps = x.size(0), batch = x.size(1), hidden = o.hidden_size();
  const int64_t directions = num_directions(), layers = o.num_layers();
  const Shape state_shape =
      batched ? Shape{layers * directions, batch, hidden} : Shape{layers * directions, hidden};
  for (const Variable& s : initial) {
    MINIGRAD_CHECK(!s.defined() || s.shape() == state_shape)
        << type_name() << ": initial state of shape " << s.shape()
        << ", expected [num_layers*num_directions, " << (batched ? "batch, " : "")
        << "hidden] = " << state_shape
        << (batched ? " (layer-first even when batch_first)" : " for unbatched input");
  }
  MINIGRAD_CHECK(steps > 0) << type_name() << ": the input sequence is empty";

  // The reverse direction reads x_T..x_1 and its outputs are put back in time order.
  Tensor reversed;
  if (directions == 2) {
    reversed = Tensor::empty({steps}, DType::Int64);
    for (int64_t t = 0; t < steps; ++t) reversed.data<int64_t>()[t] = steps - 1 - t;
  }
  Variable layer_input = x;
  std::vector<std::vector<Variable>> finals(initial.size());
  for (int64_t l = 0; l < layers; ++l) {
    std::vector<Variable> outputs;
    for (int64_t d = 0; d < directions; ++d) {
      const int64_t k = l * directions + d;
      std::vector<Variable> state;
      for (const Variable& s : initial) {
        state.push_back(s.defined() ? (batched ? s.select(0, k) : s.select(0, k).unsqueeze(0))
                                    : Variable(Tensor::zeros({batch, hidden}, x.dtype())));
      }
      const Variable input = d == 0 ? layer_input : index_select(layer_input, 0, reversed);
      const Variable hs = layer(static_cast<size_t>(k), input, state);  // [T, B, H]
      outputs.push_back(d == 0 ? hs : index_select(hs, 0, reversed));
      for (size_t i = 0; i < finals.size(); ++i) finals[i].push_back(state[i]);
    }
    layer_input = directions == 1 ? outputs[0] : concat(outputs, 2);  // [T, B, D·H]
    // Between layers only, never after the last (PyTorch's rule).
    if (l + 1 < layers && is_training() && o.dropout() > 0.0)
      layer_input = dropout_between_layers(layer_input, o.dropout(), *gen_);
  }
  Run run{!batched          ? layer_input.select(1, 0)
          : o.batch_first() ? layer_input.transpose(0, 1)
                            : layer_input,
          {}};
  for (const std::vector<Variable>& f : finals) {
    const Variable s = stack(f, 0);  // [L·D, B, H]
    run.final_states.push_back(batched ? s : s.select(1, 0));
  }
  return run;
}

Variable RNNBase::input_projection(const Variable& input, size_t k) const {
  const int64_t steps = input.size(0), batch = input.size(1);
  return input.reshape({steps * batch, input.size(2)})
      .matmul(weight_ih[k].mT())
      .reshape({steps, batch, weight_ih[k].size(0)});
}

Variable RNNBase::over_steps(const Variable& sequence,
                             const std::function<Variable(const Variable&)>& step) {
  std::vector<Variable> outputs;
  for (const Variable& x_t : unbind(sequence, 0)) outputs.push_back(step(x_t));
  return stack(outputs, 0);
}

std::string RNNBase::extra_repr() const {
  const RNNOptionsBase& o = options;
  std::ostringstream s;
  s << o.input_size() << ", " << o.hidden_size();
  if (o.num_layers() != 1) s << ", num_layers=" << o.num_layers();
  if (!o.bias()) s << ", bias=false";
  if (o.batch_first()) s << ", batch_first=true";
  if (o.dropout() != 0.0) s << ", dropout=" << o.dropout();
  if (o.bidirectional()) s << ", bidirectional=true";
  return s.str();
}

}  // namespace minigrad::nn
