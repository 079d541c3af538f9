// The backward engine.
//
// backward() runs the chain rule over the recorded graph in reverse topological
// order: a node may only run once every node that feeds it a gradient has run,
// because its gradient is the SUM of what all its users send back. In the diamond
//
//        ┌── b = a·2 ──┐
//   a ───┤             ├── d = b + c        ∂d/∂a = 2 + 3 = 5
//        └── c = a·3 ──┘
//
// a's node must wait for both b's and c's contributions. So:
//   1. discover every node reachable from the output, counting for each how many
//      reachable nodes send it a gradient (its dependencies) — an explicit stack,
//      not recursion, since an unrolled RNN is a chain of 100,000 nodes;
//   2. Kahn's algorithm: run a node once its count reaches zero, add its input
//      gradients into the buffers of the nodes below, decrement their counts.
#include "minigrad/autograd/variable.h"
#include "minigrad/tensor/check.h"

#include <atomic>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace minigrad {

// ---- grad and anomaly modes ---------------------------------------------------------

namespace {
thread_local bool g_grad_enabled = true;
std::atomic<bool> g_anomaly_enabled{false};
std::atomic<uint64_t> g_visit_mark{0};
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool enabled) { g_grad_enabled = enabled; }
bool anomaly_enabled() { return g_anomaly_enabled.load(std::memory_order_relaxed); }
void set_anomaly_enabled(bool enabled) { g_anomaly_enabled = enabled; }

// ---- Node teardown -------------------------------------------------------------------

Node::~Node() {
  // Nodes this one is the last owner of are moved onto a stack and emptied there,
  // so each destructor below finds no children and returns at once. Each edge lets go
  // of its node before the next edge is looked at: when two edges lead to the same
  // node (the h and c outputs of one LSTM step feed the next), the first drops the
  // count to 1 without destroying it, and the second sees that it is the last owner.
  std::vector<std::shared_ptr<Node>> stack;
  auto take_children = [&stack](Node& n) {
    for (Edge& e : n.next) {
      std::shared_ptr<Node> child = std::move(e.node);
      if (child && child.use_count() == 1) stack.push_back(std::move(child));
    }
    n.next.clear();
  };
  take_children(*this);
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    take_children(*n);
  }
}

// ---- Variable --------------------------------------------------------------------------

// Variables, like nodes, come from the object pool (tensor/allocator.h).
static std::shared_ptr<VariableImpl> new_impl() {
  return std::allocate_shared<VariableImpl>(PoolAllocator<VariableImpl>());
}

Variable::Variable(Tensor data) : impl_(new_impl()) { impl_->data = std::move(data); }

// The state behind v, or a logic_error naming the method called on an undefined one.
static VariableImpl& check_defined(const Variable& v, const char* what) {
  MINIGRAD_CHECK_AS(std::logic_error, v.defined()) << what << ": the Variable is undefined";
  return *v.impl();
}

const Tensor& Variable::data() const { return check_defined(*this, "data").data; }
Tensor& Variable::mutable_data() { return check_defined(*this, "mutable_data").data; }
const Tensor& Variable::grad() const { return check_defined(*this, "grad").grad; }
Tensor& Variable::mutable_grad() { return check_defined(*this, "mutable_grad").grad; }
void Variable::zero_grad() {
  if (defined()) impl_->grad = Tensor();
}

Variable& Variable::requires_grad_(bool value) {
  check_defined(*this, "requires_grad_");
  MINIGRAD_CHECK_AS(std::logic_error, is_leaf())
      << "requires_grad_: only leaves can change requires_grad; this "
         "value was made by '"
      << op_name() << "' (use detach() first)";
  MINIGRAD_CHECK(!value || is_floating(impl_->data.dtype()))
      << "requires_grad_: only floating tensors can require grad, got "
      << dtype_name(impl_->data.dtype());
  impl_->requires_grad = value;
  return *this;
}

Variable& Variable::retain_grad() {
  check_defined(*this, "retain_grad");
  if (!is_leaf() && !impl_->retains_grad) {
    impl_->retains_grad = true;
    impl_->grad_fn->retained.emplace_back(impl_->output_nr, impl_);
  }
  return *this;
}

const char* Variable::op_name() const {
  return defined() && impl_->grad_fn ? impl_->grad_fn->name : "leaf";
}

Variable Variable::detach() const {
  check_defined(*this, "detach");
  return Variable(impl_->data);
}

std::ostream& operator<<(std::ostream& os, const Variable& v) {
  if (!v.defined()) return os << "Variable(undefined)";
  os << "Variable(" << v.data();
  if (!v.is_leaf()) {
    os << ", grad_fn=" << v.op_name();
  } else if (v.requires_grad()) {
    os << ", requires_grad=true";
  }
  return os << ')';
}

// ---- recording ------------------------------------------------------------------------

namespace detail {

bool any_requires_grad(const OpInputs& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].requires_grad()) return true;
  return false;
}

void check_forward_anomaly(const char* op, const Tensor& result) {
  // masked_fill writes -inf on purpose (blocked attention keys, which softmax turns
  // into weight 0): its result is checked for NaN only.
  if (std::string_view(op) == "masked_fill") {
    for (double v : result.to_vector<double>()) {
      MINIGRAD_CHECK_AS(std::runtime_error, v == v)
          << "anomaly: 'masked_fill' produced NaN in its forward result of shape "
          << result.shape();
    }
    return;
  }
  MINIGRAD_CHECK_AS(std::runtime_error, all_finite(result))
      << "anomaly: '" << op << "' produced NaN or Inf in its forward result of shape "
      << result.shape();
}

static void connect(Node& node, const OpInputs& inputs) {
  node.next.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Variable& v = inputs[i];
    if (!v.requires_grad()) continue;
    Edge& e = node.next[i];
    e.shape = v.shape();
    e.dtype = v.dtype();
    if (v.is_leaf()) {
      e.leaf = v.impl();
    } else {
      e.node = v.impl()->grad_fn;
      e.output_nr = v.impl()->output_nr;
    }
  }
}

static Variable wrap_output(Tensor result, std::shared_ptr<Node> node, uint32_t nr) {
  auto impl = new_impl();
  impl->data = std::move(result);
  impl->requires_grad = true;
  impl->grad_fn = std::move(node);
  impl->output_nr = nr;
  return Variable(std::move(impl));
}

Variable make_output(Tensor result, const OpInputs& inputs, std::shared_ptr<Node> node) {
  connect(*node, inputs);
  node->output_shapes.assign(1, result.shape());
  node->dtype = result.dtype();
  return wrap_output(std::move(result), std::move(node), 0);
}

std::vector<Variable> make_outputs(std::vector<Tensor> results, const OpInputs& inputs,
                                   std::shared_ptr<Node> node) {
  connect(*node, inputs);
  std::vector<Variable> out;
  for (size_t i = 0; i < results.size(); ++i) {
    node->output_shapes.push_back(results[i].shape());
    node->dtype = results[i].dtype();
    out.push_back(wrap_output(std::move(results[i]), node, static_cast<uint32_t>(i)));
  }
  return out;
}

}  // namespace detail

// ---- the engine -------------------------------------------------------------------------

namespace {

// Adds g into an accumulator. The first gradient is copied, so that later in-place
// accumulation never writes through into a tensor that someone else holds, unless
// nobody else can: g (taken by value) is the only handle on its buffer, and a plain
// contiguous tensor from its start, as a fresh op result handed over by the engine is.
void accumulate_leaf(VariableImpl& leaf, Tensor g) {
  if (!leaf.grad.defined()) {
    const bool sole = g.storage().use_count() == 1 && g.is_contiguous() && g.offset() == 0;
    leaf.grad = sole ? std::move(g) : g.clone();
  } else {
    leaf.grad.add_(g);
  }
}

void check_backward_anomaly(const Node& n, size_t input, const Tensor& g) {
  MINIGRAD_CHECK_AS(std::runtime_error, all_finite(g))
      << "anomaly: the backward of '" << n.name
      << "' produced NaN or Inf in the gradient of its input " << input << " (shape " << g.shape()
      << ")";
}

// What the engine needs during one pass besides the nodes: its work lists, the slots
// of Grads, and the gradient buffers of the nodes. Kept from one pass to the next,
// so a training step's backward allocates nothing once the first step sized them.
struct EngineScratch {
  std::vector<Node*> stack, ready;
  std::vector<Tensor> slots;
  std::vector<std::vector<Tensor>> spare_buffers;
};
thread_local EngineScratch t_scratch;

void run_backward(const std::shared_ptr<VariableImpl>& root, const Tensor& grad_output,
                  bool retain_graph) {
  if (!root->grad_fn) {  // backward on a leaf: its gradient is the seed
    accumulate_leaf(*root, grad_output);
    return;
  }
  Node* start = root->grad_fn.get();
  // Taken, not borrowed: a backward closure that runs a backward of its own gets
  // fresh scratch instead of this pass's.
  EngineScratch s = std::exchange(t_scratch, EngineScratch());
  auto open_buffer = [&s](Node* m) {
    if (!s.spare_buffers.empty()) {
      m->grad_buffer = std::move(s.spare_buffers.back());
      s.spare_buffers.pop_back();
    }
    m->grad_buffer.clear();
    m->grad_buffer.resize(m->num_outputs);  // every slot undefined
  };

  // 1. discovery: count, for every reachable node, the edges that point at it.
  const uint64_t mark = ++g_visit_mark;
  s.stack.assign(1, start);
  start->visit_mark = mark;
  start->dependencies = 0;
  open_buffer(start);
  while (!s.stack.empty()) {
    Node* n = s.stack.back();
    s.stack.pop_back();
    for (const Edge& e : n->next) {
      Node* m = e.node.get();
      if (!m) continue;
      if (m->visit_mark != mark) {
        m->visit_mark = mark;
        m->dependencies = 0;
        open_buffer(m);
        s.stack.push_back(m);
      }
      ++m->dependencies;
    }
  }

  // 2. run nodes whose every user has delivered its gradient.
  start->grad_buffer[root->output_nr] = grad_output;
  s.ready.assign(1, start);
  while (!s.ready.empty()) {
    Node* n = s.ready.back();
    s.ready.pop_back();
    MINIGRAD_CHECK_AS(std::logic_error, !n->released)
        << "backward: the graph through '" << n->name
        << "' was already freed by an earlier backward(); call backward(/*retain_graph=*/true) "
           "the first time to run backward twice";
    for (uint32_t k = 0; k < n->num_outputs; ++k) {
      if (!n->grad_buffer[k].defined()) {
        n->grad_buffer[k] = Tensor::zeros(n->output_shapes[k], n->dtype);
      }
    }
    for (auto& [nr, weak] : n->retained) {
      if (auto impl = weak.lock()) accumulate_leaf(*impl, n->grad_buffer[nr]);
    }
    Grads grads(n->next, s.slots);
    n->apply(n->grad_buffer, grads);
    n->grad_buffer.clear();  // keeps its capacity for the next node
    s.spare_buffers.push_back(std::move(n->grad_buffer));
    if (!retain_graph) {
      n->release_saved();  // frees the tensors the closure saved
      n->released = true;
    }
    for (size_t i = 0; i < n->next.size(); ++i) {
      const Edge& e = n->next[i];
      if (!e.defined()) continue;
      Tensor g = std::move(grads[i]);
      if (g.defined()) {
        // Broadcasting is undone here, once, for every op: an input of shape
        // [3] that was broadcast to [2,3] receives the sum over the new axis.
        if (g.shape() != e.shape) g = sum_to(g, e.shape);
        // Type promotion is undone here too: float32 + float64 computed in float64.
        if (g.dtype() != e.dtype) g = g.to(e.dtype);
        if (anomaly_enabled()) check_backward_anomaly(*n, i, g);
      }
      if (e.leaf) {
        if (g.defined()) accumulate_leaf(*e.leaf, std::move(g));
        continue;
      }
      Node* m = e.node.get();
      if (g.defined()) {
        Tensor& buf = m->grad_buffer[e.output_nr];
        buf = buf.defined() ? buf + g : std::move(g);
      }
      if (--m->dependencies == 0) s.ready.push_back(m);
    }
  }
  s.slots.clear();  // holds no tensor between passes
  t_scratch = std::move(s);
}

}  // namespace

void Variable::backward(bool retain_graph) const {
  check_defined(*this, "backward");
  MINIGRAD_CHECK_AS(std::logic_error, numel() == 1)
      << "backward: the output has shape " << shape()
      << "; backward() without a gradient needs a single-element value (a "
         "loss). Pass the gradient: backward(grad_output)";
  backward(Tensor::ones(shape(), dtype()), retain_graph);
}

void Variable::backward(const Tensor& grad_output, bool retain_graph) const {
  check_defined(*this, "backward");
  // (an undefined Tensor would otherwise pass for a float32 scalar below)
  MINIGRAD_CHECK(grad_output.defined())
      << "backward: the gradient passed to backward(grad_output) is undefined";
  MINIGRAD_CHECK_AS(std::logic_error, requires_grad())
      << "backward: this value does not require grad (no input of its graph has "
         "requires_grad=true, or it was computed under NoGradGuard)";
  MINIGRAD_CHECK(grad_output.shape() == shape() && grad_output.dtype() == dtype())
      << "backward: the gradient " << dtype_name(grad_output.dtype()) << grad_output.shape()
      << " does not match the output " << dtype_name(dtype()) << shape();
  run_backward(impl_, grad_output, retain_graph);
}

}  // namespace minigrad
