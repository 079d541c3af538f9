/// \file
/// Variable: a Tensor that remembers how it was made, so gradients can flow back.
///
/// Every differentiable op (autograd/functions.h) computes its result Tensor and,
/// when gradients are wanted, records a Node: the op's name, edges to the nodes
/// (or leaf variables) of its inputs, and a backward closure that maps the
/// gradient of the output to gradients of the inputs (the chain rule, one op at
/// a time). backward() walks these nodes from the loss back to the leaves.
///
///          x (leaf) ──┐
///                     mul ── y ── sum ── loss        loss.backward():
///          w (leaf) ──┘                              dloss/dy = 1, dloss/dx = w, dloss/dw = x
///
/// Ownership points one way only: a Variable owns its Node, a Node owns the Nodes
/// of its inputs and the Tensors its closure saved. No Node owns its own output
/// Variable, so there are no reference cycles and no leaks.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "minigrad/tensor/allocator.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/tensor.h"

namespace minigrad {

struct Node;
struct VariableImpl;

/// Where a gradient goes: into output `output_nr` of an interior Node, or straight
/// into the .grad of a leaf Variable. An empty Edge (both null) means "this input
/// needs no gradient".
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<VariableImpl> leaf;
  uint32_t output_nr = 0;
  Shape shape;  ///< the input's shape: the engine sum_to()s broadcast gradients to it
  /// the input's dtype: a gradient computed in a promoted dtype (float32 + float64 →
  /// float64) is converted back to it, so each input gets its gradient in its own
  /// dtype, as in PyTorch
  DType dtype = DType::Float32;
  bool defined() const { return node || leaf; }
};

/// The edges of a Node, one per input of its op (in pooled memory: tensor/allocator.h).
using EdgeList = std::vector<Edge, PoolAllocator<Edge>>;

/// The gradients a backward closure fills in, one slot per input. needs(i) says
/// whether input i wants one; skip the work when it does not.
class Grads {
 public:
  /// The slots live in `slots`, scratch the engine reuses from node to node; they
  /// start out undefined.
  Grads(const EdgeList& edges, std::vector<Tensor>& slots) : edges_(edges), grads_(slots) {
    grads_.clear();
    grads_.resize(edges.size());
  }
  bool needs(size_t i) const { return edges_[i].defined(); }
  Tensor& operator[](size_t i) { return grads_[i]; }
  size_t size() const { return grads_.size(); }
  std::vector<Tensor>& all() { return grads_; }

 private:
  const EdgeList& edges_;
  std::vector<Tensor>& grads_;
};

/// One recorded op. Its backward closure lives in the derived detail::ClosureNode,
/// in the same block of memory as the node (no separate allocation for the closure
/// and the tensors it saved).
struct Node {
  const char* name;  ///< the op, for error messages and printing
  EdgeList next;
  uint32_t num_outputs = 1;
  /// to make zeros for outputs no gradient reached
  std::vector<Shape, PoolAllocator<Shape>> output_shapes;
  DType dtype = DType::Float32;
  bool released = false;  ///< backward ran and freed the saved tensors
  /// Interior outputs whose .grad the user asked to keep (weak: a Node never owns
  /// its outputs).
  std::vector<std::pair<uint32_t, std::weak_ptr<VariableImpl>>> retained;

  /// Scratch space of the engine during one backward pass.
  std::vector<Tensor> grad_buffer;
  int64_t dependencies = 0;
  uint64_t visit_mark = 0;

  Node(const char* op, uint32_t outputs) : name(op), num_outputs(outputs) {}
  /// Tears down the chain of input nodes with an explicit stack: an unrolled RNN
  /// is a chain 100,000 nodes long, and recursive destructors would overflow.
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// The op's backward closure: from grad_outputs (one per output) it sets grads[i]
  /// for every input i with grads.needs(i).
  virtual void apply(const std::vector<Tensor>& grad_outputs, Grads& grads) = 0;
  /// Destroys the closure and with it the tensors it saved (backward without
  /// retain_graph calls this once the node has run).
  virtual void release_saved() = 0;
};

namespace detail {
/// The Node of an op whose backward closure has type F, stored inline.
template <class F>
struct ClosureNode final : Node {
  ClosureNode(const char* op, uint32_t outputs, F f) : Node(op, outputs), fn(std::move(f)) {}
  void apply(const std::vector<Tensor>& grad_outputs, Grads& grads) override {
    (*fn)(grad_outputs, grads);
  }
  void release_saved() override { fn.reset(); }
  std::optional<F> fn;
};
}  // namespace detail

struct VariableImpl {
  Tensor data;
  Tensor grad;  ///< undefined until a gradient arrives
  bool requires_grad = false;
  bool retains_grad = false;      ///< an interior value that keeps its .grad (retain_grad())
  std::shared_ptr<Node> grad_fn;  ///< null for leaves
  uint32_t output_nr = 0;         ///< which output of grad_fn this is
};

class Variable {
 public:
  Variable() = default;  ///< undefined
  /// A leaf holding `data`, wanting no gradient. A parameter or an input to
  /// differentiate is made as in PyTorch, `Variable(t).requires_grad_()`: no
  /// constructor takes the flag positionally.
  explicit Variable(Tensor data);
  Variable(std::shared_ptr<VariableImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Tensor& data() const;
  /// The tensor itself, for in-place updates outside the graph (optimizers, init).
  Tensor& mutable_data();
  const Tensor& grad() const;  ///< undefined until backward reached this leaf
  bool has_grad() const { return defined() && impl_->grad.defined(); }
  Tensor& mutable_grad();
  void zero_grad();  ///< drops the gradient (the next backward starts it afresh)

  bool requires_grad() const { return defined() && impl_->requires_grad; }
  Variable& requires_grad_(bool value = true);
  bool is_leaf() const { return !defined() || impl_->grad_fn == nullptr; }
  /// Keep the gradient of this interior value after backward (leaves always keep theirs).
  Variable& retain_grad();
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  const char* op_name() const;  ///< the op that made it, or "leaf"

  ///@{
  /// Reverse-mode differentiation from this value. A scalar (one element) seeds
  /// with 1; anything else needs the gradient of the final loss w.r.t. it.
  /// The graph is freed afterwards unless retain_graph is true.
  void backward(bool retain_graph = false) const;
  void backward(const Tensor& grad_output, bool retain_graph = false) const;
  ///@}

  /// A Variable sharing the data but cut from the graph (no grad_fn, no grad).
  Variable detach() const;

  ///@{
  /// shorthand for data()
  const Shape& shape() const { return data().shape(); }
  int dim() const { return data().dim(); }
  int64_t size(int64_t axis) const { return data().size(axis); }
  int64_t numel() const { return data().numel(); }
  DType dtype() const { return data().dtype(); }
  double item() const { return data().item(); }
  ///@}

  // ---- methods, as on a PyTorch tensor ------------------------------------------------
  // Each is differentiable and is one call of the free function of the same name
  // (autograd/functions.h), where its forward and backward are written. A dim may be
  // negative, counting from the end.

  ///@{
  /// Reductions over every element, one dim, or several dims; keepdim leaves each
  /// reduced dim as size 1. amax / amin split the gradient evenly among tied extrema.
  ///
  /// The one-dim forms are templates on purpose: `x.sum({})` must mean "all dims"
  /// (the list form), and an empty brace list would otherwise pick an int64_t 0.
  Variable sum(const std::vector<int64_t>& dim = {}, bool keepdim = false) const;
  Variable mean(const std::vector<int64_t>& dim = {}, bool keepdim = false) const;
  Variable amax(const std::vector<int64_t>& dim = {}, bool keepdim = false) const;
  Variable amin(const std::vector<int64_t>& dim = {}, bool keepdim = false) const;
  template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
  Variable sum(Int dim, bool keepdim = false) const {
    return sum(std::vector<int64_t>{static_cast<int64_t>(dim)}, keepdim);
  }
  template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
  Variable mean(Int dim, bool keepdim = false) const {
    return mean(std::vector<int64_t>{static_cast<int64_t>(dim)}, keepdim);
  }
  template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
  Variable amax(Int dim, bool keepdim = false) const {
    return amax(std::vector<int64_t>{static_cast<int64_t>(dim)}, keepdim);
  }
  template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
  Variable amin(Int dim, bool keepdim = false) const {
    return amin(std::vector<int64_t>{static_cast<int64_t>(dim)}, keepdim);
  }
  ///@}

  ///@{
  /// Views and reshapes. reshape copies when the strides do not allow a view; view
  /// never copies and throws instead.
  Variable reshape(const Shape& shape) const;
  Variable view(const Shape& shape) const;
  Variable transpose(int64_t dim0, int64_t dim1) const;
  Variable t() const;  ///< 2-D transpose
  Variable permute(const std::vector<int64_t>& dims) const;
  Variable unsqueeze(int64_t dim) const;
  Variable squeeze() const;  ///< every size-1 dim removed
  Variable squeeze(int64_t dim) const;
  Variable flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Variable expand(const Shape& shape) const;
  ///@}
  /// The last two axes swapped, a differentiable view (torch's `mT`); throws
  /// std::invalid_argument for fewer than 2 dimensions.
  Variable mT() const;
  /// matmul(*this, other) with torch.matmul's rules: `x.matmul(w.mT())`.
  Variable matmul(const Variable& other) const;

  ///@{
  /// Element-wise math.
  Variable exp() const;
  Variable log() const;
  Variable tanh() const;
  Variable sigmoid() const;
  Variable relu() const;
  Variable sqrt() const;
  Variable rsqrt() const;  ///< 1/√x
  Variable abs() const;
  Variable pow(double exponent) const;
  Variable pow(const Variable& exponent) const;
  /// min(max(x, min), max); either bound may be std::nullopt (not both), as torch.clamp.
  Variable clamp(std::optional<double> min, std::optional<double> max = std::nullopt) const;
  /// mask ? value : x (the mask broadcasts to x and gets no gradient)
  Variable masked_fill(const Tensor& mask, double value) const;
  ///@}

  ///@{
  /// Softmax and its log along one dim.
  Variable softmax(int64_t dim) const;
  Variable log_softmax(int64_t dim) const;
  ///@}

  ///@{
  /// Indexing. slice is x[start:end:step] along dim (a view; start and end may be
  /// negative or absent); narrow takes `length` elements from start (negative counts
  /// from the end); select drops the dim at `index` (negative counts from the end).
  Variable slice(int64_t dim = 0, std::optional<int64_t> start = std::nullopt,
                 std::optional<int64_t> end = std::nullopt, int64_t step = 1) const;
  Variable narrow(int64_t dim, int64_t start, int64_t length) const;
  Variable select(int64_t dim, int64_t index) const;
  Variable index_select(int64_t dim, const Tensor& index) const;
  Variable gather(int64_t dim, const Tensor& index) const;
  ///@}

  const std::shared_ptr<VariableImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<VariableImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Variable& v);

// ---- grad mode --------------------------------------------------------------------

///@{
/// Whether ops record the graph. Off inside a NoGradGuard (evaluation, parameter
/// updates, initialisation). Thread-local, like PyTorch's.
bool grad_enabled();
void set_grad_enabled(bool enabled);
///@}

class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// ---- anomaly mode -----------------------------------------------------------------
///@{
/// When on, every op checks its forward result and every backward closure its
/// gradients for NaN/Inf, and the first offender throws std::runtime_error naming
/// the op. Costs a pass over each tensor; off by default.
bool anomaly_enabled();
void set_anomaly_enabled(bool enabled);
///@}

/// Anomaly mode on for one scope (libtorch's DetectAnomalyGuard); the mode it found
/// is restored when the guard goes.
class AnomalyModeGuard {
 public:
  AnomalyModeGuard() : prev_(anomaly_enabled()) { set_anomaly_enabled(true); }
  ~AnomalyModeGuard() { set_anomaly_enabled(prev_); }
  AnomalyModeGuard(const AnomalyModeGuard&) = delete;
  AnomalyModeGuard& operator=(const AnomalyModeGuard&) = delete;

 private:
  bool prev_;
};

// ---- recording an op --------------------------------------------------------------

/// The Variables an op read: a braced list `{a, b}` or a std::vector<Variable>.
/// Either is only referred to, for the length of the call: recording an op copies
/// none of its inputs (each copy of a Variable is an atomic reference count).
class OpInputs {
 public:
  OpInputs(std::initializer_list<std::reference_wrapper<const Variable>> list)
      : list_(list), n_(list.size()) {}
  OpInputs(const std::vector<Variable>& vars) : vars_(vars.data()), n_(vars.size()) {}
  size_t size() const { return n_; }
  const Variable& operator[](size_t i) const { return vars_ ? vars_[i] : list_.begin()[i].get(); }

 private:
  std::initializer_list<std::reference_wrapper<const Variable>> list_;
  const Variable* vars_ = nullptr;
  size_t n_;
};
//
///@{
/// The one function every differentiable op calls:
///
///     Variable tanh(const Variable& x) {
///       Tensor y = minigrad::tanh(x.data());          // forward
///       return record("tanh", y, {x}, [y](const std::vector<Tensor>& g, Grads& grads) {
///         grads[0] = g[0] * (1 - y * y);               // dy/dx = 1 - y²
///       });
///     }
///
/// When no input requires a gradient (or grad mode is off) no Node is made and the
/// closure is dropped unused.
///
/// \param op        the op's name, for error messages, anomaly mode and printing
/// \param result    the forward result: the data of the returned Variable
/// \param inputs    the Variables the op read, in the order of the slots of `grads`
/// \param backward  called as backward(grad_outputs, grads): from grad_outputs[0] =
///                  ∂loss/∂result it sets grads[i] = ∂loss/∂inputs[i] for each i
///                  with grads.needs(i) (the chain rule for this one op)
/// \return the result as a Variable, recorded in the graph when gradients are wanted
template <class F>
Variable record(const char* op, Tensor result, OpInputs inputs, F&& backward);
///@}
/// Ops with several outputs (a fused LSTM cell returns h and c).
template <class F>
std::vector<Variable> record_multi(const char* op, std::vector<Tensor> results, OpInputs inputs,
                                   F&& backward);

namespace detail {
bool any_requires_grad(const OpInputs& inputs);
void check_forward_anomaly(const char* op, const Tensor& result);

/// A node for `op` holding the closure `backward`: node, closure and reference
/// counts in one pooled block (tensor/allocator.h), reused from step to step.
template <class F>
std::shared_ptr<Node> new_node(const char* op, uint32_t outputs, F&& backward) {
  using N = ClosureNode<std::decay_t<F>>;
  return std::allocate_shared<N>(PoolAllocator<N>(), op, outputs, std::forward<F>(backward));
}
/// Connects `node` to its inputs and returns its result(s).
Variable make_output(Tensor result, const OpInputs& inputs, std::shared_ptr<Node> node);
std::vector<Variable> make_outputs(std::vector<Tensor> results, const OpInputs& inputs,
                                   std::shared_ptr<Node> node);
}  // namespace detail

template <class F>
Variable record(const char* op, Tensor result, OpInputs inputs, F&& backward) {
  if (anomaly_enabled()) detail::check_forward_anomaly(op, result);
  if (!grad_enabled() || !detail::any_requires_grad(inputs)) return Variable(std::move(result));
  return detail::make_output(std::move(result), inputs,
                             detail::new_node(op, 1, std::forward<F>(backward)));
}

template <class F>
std::vector<Variable> record_multi(const char* op, std::vector<Tensor> results, OpInputs inputs,
                                   F&& backward) {
  if (anomaly_enabled())
    for (const Tensor& r : results) detail::check_forward_anomaly(op, r);
  if (!grad_enabled() || !detail::any_requires_grad(inputs)) {
    std::vector<Variable> out;
    for (Tensor& r : results) out.emplace_back(std::move(r));
    return out;
  }
  auto node =
      detail::new_node(op, static_cast<uint32_t>(results.size()), std::forward<F>(backward));
  return detail::make_outputs(std::move(results), inputs, std::move(node));
}

}  // namespace minigrad
