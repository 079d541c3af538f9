// Variable's methods: each is one call of the free function that holds the op's
// forward and backward (autograd/elementwise.cpp, reduce.cpp, shape.cpp).
#include "minigrad/autograd/functions.h"

namespace minigrad {

using Dims = std::vector<int64_t>;

// ---- reductions -----------------------------------------------------------------------------
Variable Variable::sum(const Dims& d, bool keepdim) const {
  return minigrad::sum(*this, d, keepdim);
}
Variable Variable::mean(const Dims& d, bool keepdim) const {
  return minigrad::mean(*this, d, keepdim);
}
Variable Variable::amax(const Dims& d, bool keepdim) const {
  return minigrad::amax(*this, d, keepdim);
}
Variable Variable::amin(const Dims& d, bool keepdim) const {
  return minigrad::amin(*this, d, keepdim);
}

// ---- views -------------------------------------------------------------------------------------
Variable Variable::reshape(const Shape& s) const { return minigrad::reshape(*this, s); }
Variable Variable::view(const Shape& s) const { return minigrad::view(*this, s); }
Variable Variable::transpose(int64_t a, int64_t b) const {
  return minigrad::transpose(*this, a, b);
}
Variable Variable::t() const {
  if (dim() != 2) data().t();  // throws the 2-D message
  return minigrad::transpose(*this, 0, 1);
}
Variable Variable::mT() const {
  if (dim() < 2) data().mT();  // throws the message naming the shape
  return minigrad::transpose(*this, -2, -1);
}
Variable Variable::permute(const Dims& o) const { return minigrad::permute(*this, o); }
Variable Variable::unsqueeze(int64_t d) const { return minigrad::unsqueeze(*this, d); }
Variable Variable::squeeze() const { return minigrad::squeeze(*this); }
Variable Variable::squeeze(int64_t d) const { return minigrad::squeeze(*this, d); }
Variable Variable::flatten(int64_t s, int64_t e) const { return minigrad::flatten(*this, s, e); }
Variable Variable::expand(const Shape& s) const { return minigrad::expand(*this, s); }

// ---- element-wise ------------------------------------------------------------------------------
Variable Variable::exp() const { return minigrad::exp(*this); }
Variable Variable::log() const { return minigrad::log(*this); }
Variable Variable::tanh() const { return minigrad::tanh(*this); }
Variable Variable::sigmoid() const { return minigrad::sigmoid(*this); }
Variable Variable::relu() const { return minigrad::relu(*this); }
Variable Variable::sqrt() const { return minigrad::sqrt(*this); }
Variable Variable::rsqrt() const { return minigrad::rsqrt(*this); }
Variable Variable::abs() const { return minigrad::abs(*this); }
Variable Variable::pow(double p) const { return minigrad::pow(*this, p); }
Variable Variable::pow(const Variable& p) const { return minigrad::pow(*this, p); }
Variable Variable::clamp(std::optional<double> lo, std::optional<double> hi) const {
  return minigrad::clamp(*this, lo, hi);
}
Variable Variable::masked_fill(const Tensor& m, double v) const {
  return minigrad::masked_fill(*this, m, v);
}

// ---- softmax -----------------------------------------------------------------------------------
Variable Variable::softmax(int64_t d) const { return minigrad::softmax(*this, d); }
Variable Variable::log_softmax(int64_t d) const { return minigrad::log_softmax(*this, d); }

// ---- indexing ----------------------------------------------------------------------------------
Variable Variable::slice(int64_t d, std::optional<int64_t> s, std::optional<int64_t> e,
                         int64_t step) const {
  return minigrad::slice(*this, d, s, e, step);
}
Variable Variable::narrow(int64_t d, int64_t s, int64_t l) const {
  return minigrad::narrow(*this, d, s, l);
}
Variable Variable::select(int64_t d, int64_t i) const { return minigrad::select(*this, d, i); }
Variable Variable::index_select(int64_t d, const Tensor& i) const {
  return minigrad::index_select(*this, d, i);
}
Variable Variable::gather(int64_t d, const Tensor& i) const {
  return minigrad::gather(*this, d, i);
}

}  // namespace minigrad
