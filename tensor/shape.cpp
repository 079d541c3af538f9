#include "minigrad/tensor/shape.h"
#include "minigrad/tensor/check.h"

#include <ostream>
#include <sstream>
#include <stdexcept>

namespace minigrad {

Shape::Shape(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) push_back(d);
}

Shape::Shape(const std::vector<int64_t>& dims) {
  for (int64_t d : dims) push_back(d);
}

void Shape::push_back(int64_t v) {
  MINIGRAD_CHECK(n_ < kMaxDims) << "shape: rank " << n_ + 1 << " exceeds the maximum of "
                                << kMaxDims;
  d_[static_cast<size_t>(n_++)] = v;
}

void Shape::insert(int pos, int64_t v) {
  push_back(0);
  for (int i = n_ - 1; i > pos; --i) d_[static_cast<size_t>(i)] = d_[static_cast<size_t>(i - 1)];
  d_[static_cast<size_t>(pos)] = v;
}

void Shape::erase(int pos) {
  for (int i = pos; i + 1 < n_; ++i) d_[static_cast<size_t>(i)] = d_[static_cast<size_t>(i + 1)];
  --n_;
}

void Shape::resize(int n, int64_t fill) {
  MINIGRAD_CHECK(n <= kMaxDims) << "shape: rank " << n << " exceeds the maximum of " << kMaxDims;
  for (int i = n_; i < n; ++i) d_[static_cast<size_t>(i)] = fill;
  n_ = n;
}

int64_t Shape::numel() const {
  int64_t p = 1;
  for (int64_t d : *this) p *= d;
  return p;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.n_ != b.n_) return false;
  for (int i = 0; i < a.n_; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  os << '[';
  for (int i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  return os << ']';
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides;
  strides.resize(shape.size());
  int64_t s = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int n = std::max(a.size(), b.size());
  Shape out;
  out.resize(n);
  for (int i = 0; i < n; ++i) {
    const int ia = a.size() - n + i, ib = b.size() - n + i;
    const int64_t da = ia >= 0 ? a[ia] : 1;
    const int64_t db = ib >= 0 ? b[ib] : 1;
    MINIGRAD_CHECK(da == db || da == 1 || db == 1) << op << ": " << a << " and " << b << ": sizes "
                                                   << da << " and " << db << " cannot broadcast";
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int normalize_axis(int64_t axis, int rank, const char* op) {
  // rank 0 has no axis at all, so there is no range to suggest
  MINIGRAD_CHECK_INDEX(axis >= -rank && axis < rank)
      << op << ": axis " << axis << " is out of range for a tensor of rank " << rank
      << (rank > 0 ? " (expected " + std::to_string(-rank) + " to " + std::to_string(rank - 1) + ")"
                   : "");
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

int wrap_dim(int64_t axis, int rank, const char* op) {
  if (rank > 0) return normalize_axis(axis, rank, op);
  MINIGRAD_CHECK_INDEX(axis == 0 || axis == -1)
      << op << ": axis " << axis << " is out of range for a 0-d tensor (expected -1 or 0)";
  return 0;
}

}  // namespace minigrad
