#include "minigrad/tensor/tensor.h"
#include "minigrad/tensor/check.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <sstream>
#include <stdexcept>

#include "minigrad/tensor/allocator.h"
#include "minigrad/tensor/strided.h"

namespace minigrad {

// ---- dtypes ----------------------------------------------------------------------------

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::Int64:
      return "int64";
    case DType::Bool:
      return "bool";
  }
  return "?";
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32:
      return 4;
    case DType::Float64:
      return 8;
    case DType::Int64:
      return 8;
    case DType::Bool:
      return 1;
  }
  return 0;
}

bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

DType promote_types(DType a, DType b) {
  auto rank = [](DType t) {
    switch (t) {
      case DType::Bool:
        return 0;
      case DType::Int64:
        return 1;
      case DType::Float32:
        return 2;
      case DType::Float64:
        return 3;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

// ---- storage ---------------------------------------------------------------------------

Storage::Storage(size_t bytes) : data_(nullptr), bytes_(0) {
  data_ = allocate_buffer(bytes, &bytes_);
}
Storage::~Storage() { release_buffer(data_, bytes_); }

// ---- construction ----------------------------------------------------------------------

static void check_sizes(const Shape& shape, const char* op) {
  for (int64_t d : shape) {
    MINIGRAD_CHECK(d >= 0) << op << ": negative size in shape " << shape;
  }
}

// Strides are products of sizes, so the nonzero sizes of a shape must multiply to
// something int64 holds, even when a zero size leaves the tensor without elements.
static void check_extent(const Shape& shape, const char* op) {
  int64_t product = 1;
  for (int64_t d : shape) {
    MINIGRAD_CHECK(d <= 0 || !__builtin_mul_overflow(product, d, &product))
        << op << ": shape " << shape << " is too large: its sizes multiply past int64";
  }
}

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset,
               DType dtype)
    : storage_(std::move(storage)),
      shape_(shape),
      strides_(strides),
      offset_(offset),
      dtype_(dtype) {}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  check_sizes(shape, "empty");
  // numel · dtype_size must not wrap around: [2^31, 2^31] floats would be 2^64
  // bytes, which size_t reads as 0. A shape with a zero holds no bytes however
  // large its other sizes ([2^62, 2^62, 0] is a valid empty view), but those
  // must still multiply to an int64, or its strides overflow.
  size_t bytes = dtype_size(dtype);
  if (std::find(shape.begin(), shape.end(), int64_t{0}) != shape.end()) {
    check_extent(shape, "empty");
    bytes = 0;
  } else {
    for (int64_t d : shape) {
      if (bytes > SIZE_MAX / static_cast<size_t>(d)) throw std::bad_alloc();
      bytes *= static_cast<size_t>(d);
    }
  }
  // one pooled block holds the Storage and its reference counts (tensor/allocator.h)
  auto storage = std::allocate_shared<Storage>(PoolAllocator<Storage>(), bytes);
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw_data(), 0, static_cast<size_t>(t.numel()) * dtype_size(dtype));
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full(Shape{}, value, dtype); }

Tensor Tensor::arange(double start, double end, double step, DType dtype) {
  MINIGRAD_CHECK(step != 0.0 && std::isfinite(start) && std::isfinite(end) && std::isfinite(step))
      << "arange: start, end and step must be finite and step nonzero";
  const double count = std::max(0.0, std::ceil((end - start) / step));
  MINIGRAD_CHECK(count < 0x1p62)  // also catches (end - start) overflowing to inf
      << "arange: [" << std::to_string(start) << ", " << std::to_string(end) << ") in steps of "
      << std::to_string(step) << " has too many elements";
  const auto n = static_cast<int64_t>(count);
  Tensor t = empty({n}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  check_sizes(shape, "from_vector");
  MINIGRAD_CHECK(static_cast<int64_t>(values.size()) == shape.numel())
      << "from_vector: " << values.size() << " values do not fill shape " << shape << " ("
      << shape.numel() << " elements)";
  Tensor t = empty(shape, dtype_of<T>());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}
template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor Tensor::from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor Tensor::from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);

Tensor Tensor::from_list(std::initializer_list<double> values, const Shape& shape, DType dtype) {
  Tensor t = from_vector(std::vector<double>(values), shape);
  return dtype == DType::Float64 ? t : t.to(dtype);
}

// ---- metadata --------------------------------------------------------------------------

int64_t Tensor::size(int64_t axis) const { return shape_[normalize_axis(axis, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int i = dim() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void* Tensor::raw_data() {
  MINIGRAD_CHECK_AS(std::logic_error, defined()) << "raw_data: the tensor is undefined";
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}
const void* Tensor::raw_data() const { return const_cast<Tensor*>(this)->raw_data(); }

static double read_element(const Tensor& t, int64_t offset) {
  return dispatch_all(t.dtype(), [&](auto tag) -> double {
    using T = decltype(tag);
    return static_cast<double>(static_cast<const T*>(t.raw_data())[offset]);
  });
}

double Tensor::item() const {
  MINIGRAD_CHECK(numel() == 1) << "item: a tensor of shape " << shape_ << " has " << numel()
                               << " elements, not 1";
  return read_element(*this, 0);
}

double Tensor::at(std::initializer_list<int64_t> index) const { return at(Shape(index)); }

double Tensor::at(const Shape& index) const {
  MINIGRAD_CHECK(index.size() == dim()) << "at: index " << index << " has " << index.size()
                                        << " entries for a tensor of shape " << shape_;
  int64_t off = 0;
  for (int i = 0; i < dim(); ++i) {  // a negative index counts from the end, as t[-1]
    MINIGRAD_CHECK_INDEX(index[i] >= -shape_[i] && index[i] < shape_[i])
        << "at: index " << index << " is out of range for shape " << shape_;
    off += (index[i] < 0 ? index[i] + shape_[i] : index[i]) * strides_[i];
  }
  return read_element(*this, off);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = contiguous();
  std::vector<T> out(static_cast<size_t>(numel()));
  dispatch_all(dtype_, [&](auto tag) {
    using S = decltype(tag);
    const S* p = c.data<S>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(p[i]);
  });
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

// ---- views -----------------------------------------------------------------------------

// Resolves one -1 in a requested shape and checks the element count.
static Shape infer_shape(const Shape& requested, int64_t numel, const Shape& from, const char* op) {
  Shape out = requested;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      MINIGRAD_CHECK(infer < 0) << op << ": only one size may be -1 in " << requested;
      infer = i;
      continue;
    }
    MINIGRAD_CHECK(out[i] >= 0) << op << ": invalid size in " << requested;
    MINIGRAD_CHECK(!__builtin_mul_overflow(known, out[i], &known))
        << op << ": the sizes of " << requested << " multiply past int64";
  }
  if (infer >= 0) {
    MINIGRAD_CHECK(known != 0 && numel % known == 0)
        << op << ": cannot infer -1 in " << requested << " for a tensor of shape " << from;
    out[infer] = numel / known;
  }
  check_extent(out, op);
  MINIGRAD_CHECK(out.numel() == numel)
      << op << ": " << from << " (" << numel << " elements) cannot become " << requested << " ("
      << out.numel() << " elements)";
  return out;
}

// Strides that let the existing storage be read as `shape`, or false when no
// such strides exist (the data is not laid out compatibly: reshape must copy).
// Walks both shapes in groups of axes whose products match; within a group the
// old axes must be contiguous with each other.
static bool view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& shape,
                         Shape* strides) {
  strides->resize(shape.size());
  if (old_shape.numel() == 0) {
    *strides = contiguous_strides(shape);
    return true;
  }
  int oi = 0, ni = 0;
  const int on = old_shape.size(), nn = shape.size();
  while (oi < on || ni < nn) {
    // skip size-1 axes: any stride works for them
    if (ni < nn && shape[ni] == 1) {
      (*strides)[ni] = 1;
      ++ni;
      continue;
    }
    if (oi < on && old_shape[oi] == 1) {
      ++oi;
      continue;
    }
    if (oi >= on || ni >= nn) return false;
    // grow a group until the products agree
    int o_end = oi, n_end = ni;
    int64_t op = old_shape[o_end++], np = shape[n_end++];
    while (op != np) {
      if (op < np) {
        if (o_end >= on) return false;
        op *= old_shape[o_end++];
      } else {
        if (n_end >= nn) return false;
        np *= shape[n_end++];
      }
    }
    // old axes oi..o_end-1 must be mutually contiguous (ignoring size-1 axes)
    int last = -1;
    for (int k = oi; k < o_end; ++k) {
      if (old_shape[k] == 1) continue;
      if (last >= 0 && old_strides[last] != old_strides[k] * old_shape[k]) return false;
      last = k;
    }
    int64_t stride = last >= 0 ? old_strides[last] : 1;
    for (int k = n_end - 1; k >= ni; --k) {
      (*strides)[k] = stride;
      stride *= shape[k];
    }
    oi = o_end;
    ni = n_end;
  }
  return true;
}

Tensor Tensor::view(const Shape& shape) const {
  const Shape target = infer_shape(shape, numel(), shape_, "view");
  Shape strides;
  MINIGRAD_CHECK(view_strides(shape_, strides_, target, &strides))
      << "view: a tensor of shape " << shape_ << " with strides " << strides_
      << " cannot be viewed as " << target << " without copying; use reshape()";
  return Tensor(storage_, target, strides, offset_, dtype_);
}

Tensor Tensor::reshape(const Shape& shape) const {
  const Shape target = infer_shape(shape, numel(), shape_, "reshape");
  Shape strides;
  if (view_strides(shape_, strides_, target, &strides)) {
    return Tensor(storage_, target, strides, offset_, dtype_);
  }
  return contiguous().view(target);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) {
    normalize_axis(start_dim, 1, "flatten");  // a 0-d tensor takes dims 0 and -1 only
    normalize_axis(end_dim, 1, "flatten");
    return reshape({1});
  }
  const int s = normalize_axis(start_dim, dim(), "flatten");
  const int e = normalize_axis(end_dim, dim(), "flatten");
  MINIGRAD_CHECK(s <= e) << "flatten: start_dim " << start_dim << " comes after end_dim " << end_dim
                         << " for shape " << shape_;
  Shape out;
  for (int i = 0; i < s; ++i) out.push_back(shape_[i]);
  int64_t merged = 1;
  for (int i = s; i <= e; ++i) merged *= shape_[i];
  out.push_back(merged);
  for (int i = e + 1; i < dim(); ++i) out.push_back(shape_[i]);
  return reshape(out);
}

Tensor Tensor::transpose(int64_t axis0, int64_t axis1) const {
  const int a = wrap_dim(axis0, dim(), "transpose");
  const int b = wrap_dim(axis1, dim(), "transpose");
  if (dim() == 0) return *this;  // PyTorch: transpose(0, -1) of a 0-d tensor is itself
  Tensor out = *this;
  std::swap(out.shape_[a], out.shape_[b]);
  std::swap(out.strides_[a], out.strides_[b]);
  return out;
}

Tensor Tensor::t() const {
  MINIGRAD_CHECK(dim() == 2) << "t: expects a 2-D tensor, got shape " << shape_;
  return transpose(0, 1);
}

Tensor Tensor::mT() const {
  MINIGRAD_CHECK(dim() >= 2) << "mT: expects a matrix or a batch of matrices (2 or more "
                                "dimensions), got shape "
                             << shape_;
  return transpose(-2, -1);
}

Tensor Tensor::permute(const std::vector<int64_t>& order) const {
  MINIGRAD_CHECK(static_cast<int>(order.size()) == dim())
      << "permute: " << order.size() << " axes given for a tensor of shape " << shape_;
  Tensor out = *this;
  std::array<bool, kMaxDims> seen{};
  for (int i = 0; i < dim(); ++i) {
    const int a = normalize_axis(order[static_cast<size_t>(i)], dim(), "permute");
    MINIGRAD_CHECK(!seen[static_cast<size_t>(a)])
        << "permute: axis " << a << " repeated in the order";
    seen[static_cast<size_t>(a)] = true;
    out.shape_[i] = shape_[a];
    out.strides_[i] = strides_[a];
  }
  return out;
}

Tensor Tensor::narrow(int64_t axis, int64_t start, int64_t length) const {
  MINIGRAD_CHECK(dim() > 0) << "narrow() cannot be applied to a 0-dim tensor";
  const int a = normalize_axis(axis, dim(), "narrow");
  // PyTorch: a negative start counts from the end (start in [-size, size])
  MINIGRAD_CHECK_INDEX(start >= -shape_[a])
      << "narrow: start " << start << " is out of range for axis " << a << " of shape " << shape_
      << ": elements [" << start << ", " << start + std::max<int64_t>(length, 0) << ")";
  if (start < 0) start += shape_[a];
  int64_t end = 0;
  const bool overflow = __builtin_add_overflow(start, length, &end);
  // past int64, the end is written as the sum it could not hold
  MINIGRAD_CHECK_INDEX(start >= 0 && length >= 0 && !overflow && end <= shape_[a])
      << "narrow: elements [" << start << ", "
      << (overflow ? std::to_string(start) + "+" + std::to_string(length) : std::to_string(end))
      << ") of axis " << a << " are out of range for shape " << shape_;
  Tensor out = *this;
  out.shape_[a] = length;
  out.offset_ += start * strides_[a];
  return out;
}

Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  const int a = normalize_axis(axis, dim(), "slice");
  MINIGRAD_CHECK(step > 0) << "slice: step must be positive, got " << step;
  const int64_t n = shape_[a];
  auto clamp = [n](int64_t i) { return std::clamp(i < 0 ? i + n : i, int64_t{0}, n); };
  const int64_t s = clamp(start), e = std::max(clamp(end), clamp(start));
  const int64_t len = e - s;
  Tensor out = *this;
  out.shape_[a] = len == 0 ? 0 : 1 + (len - 1) / step;  // ceil(len / step) without overflow
  // A step past the end leaves one element, whose stride does not matter (and
  // strides_[a] * step could overflow).
  out.strides_[a] = strides_[a] * (step < len ? step : 1);
  out.offset_ += s * strides_[a];
  return out;
}

Tensor Tensor::select(int64_t axis, int64_t index) const {
  MINIGRAD_CHECK_INDEX(dim() > 0) << "select() cannot be applied to a 0-dim tensor";
  const int a = normalize_axis(axis, dim(), "select");
  const int64_t n = shape_[a];
  MINIGRAD_CHECK_INDEX(index >= -n && index < n)
      << "select: index " << index << " is out of range for axis " << a << " of size " << n;
  if (index < 0) index += n;
  Tensor out = *this;
  out.offset_ += index * strides_[a];
  out.shape_.erase(a);
  out.strides_.erase(a);
  return out;
}

Tensor Tensor::squeeze(int64_t axis) const {
  const int a = wrap_dim(axis, dim(), "squeeze");
  // PyTorch: an axis whose size is not 1 (and a 0-d tensor) is left as it is
  if (dim() == 0 || shape_[a] != 1) return *this;
  Tensor out = *this;
  out.shape_.erase(a);
  out.strides_.erase(a);
  return out;
}

Tensor Tensor::squeeze() const {
  Tensor out = *this;
  for (int i = dim() - 1; i >= 0; --i) {
    if (shape_[i] == 1) {
      out.shape_.erase(i);
      out.strides_.erase(i);
    }
  }
  return out;
}

Tensor Tensor::unsqueeze(int64_t axis) const {
  const int a = normalize_axis(axis, dim() + 1, "unsqueeze");
  Tensor out = *this;
  const int64_t stride = a < dim() ? strides_[a] * shape_[a] : 1;
  out.shape_.insert(a, 1);
  out.strides_.insert(a, stride);
  return out;
}

Tensor Tensor::expand(const Shape& requested) const {
  MINIGRAD_CHECK(requested.size() >= dim())
      << "expand: cannot expand shape " << shape_ << " to fewer axes " << requested;
  // PyTorch: -1 keeps the size of an existing axis; a new leading axis needs a size
  const int new_axes = requested.size() - dim();
  Shape shape = requested;
  for (int o = 0; o < shape.size(); ++o) {
    if (shape[o] != -1) continue;
    MINIGRAD_CHECK(o >= new_axes) << "expand: the size -1 is not allowed in a new leading axis "
                                  << o << " (expanding " << shape_ << " to " << requested << ")";
    shape[o] = shape_[o - new_axes];
  }
  if (shape == shape_) return *this;
  check_sizes(shape, "expand");
  check_extent(shape, "expand");
  Tensor out = *this;
  out.shape_ = shape;
  out.strides_.resize(0);
  out.strides_.resize(shape.size(), 0);
  const int lead = shape.size() - dim();
  for (int i = 0; i < dim(); ++i) {
    const int o = lead + i;
    if (shape_[i] == shape[o]) {
      out.strides_[o] = strides_[i];
    } else {
      MINIGRAD_CHECK(shape_[i] == 1)
          << "expand: shape " << shape_ << " cannot broadcast to " << shape << " (axis " << o
          << ": size " << shape_[i] << " vs " << shape[o] << ")";
      out.strides_[o] = 0;
    }
  }
  return out;
}

// ---- copies ----------------------------------------------------------------------------

// The operand of an in-place op on dst: of dst's dtype, broadcast to dst's shape;
// a mismatch names that op.
static Tensor in_place_source(const Tensor& dst, const Tensor& src, const char* op) {
  MINIGRAD_CHECK(src.dtype() == dst.dtype())
      << op << ": dtype " << dtype_name(src.dtype()) << " into " << dtype_name(dst.dtype());
  try {
    return src.expand(dst.shape());
  } catch (const std::invalid_argument& e) {
    // the same error, with the in-place op's name first
    throw std::invalid_argument(std::string(op) + ": " + e.what());
  }
}

// The cost per element to give parallel_for_each_run for an in-place op on dst that
// reads src (undefined for fill_ and mul_ by a number): 1, so that large ones split
// across threads, when dst is contiguous (no two of its elements share memory) and src
// lives in another storage (no thread reads what another writes); otherwise 0, which
// keeps the op on the calling thread, in the order the serial loop has always had.
static int64_t in_place_cost(const Tensor& dst, const Tensor& src) {
  const bool disjoint = !src.defined() || src.storage() != dst.storage();
  return dst.is_contiguous() && disjoint ? 1 : 0;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_);
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor out = empty(shape_, dtype);
  dispatch_all(dtype_, [&](auto src_tag) {
    using S = decltype(src_tag);
    dispatch_all(dtype, [&](auto dst_tag) {
      using D = decltype(dst_tag);
      const S* src = static_cast<const S*>(raw_data());
      D* dst = out.data<D>();
      int64_t o = 0;
      detail::for_each_run<1>(shape_, {strides_}, [&](auto off, int64_t n, auto st) {
        for (int64_t i = 0; i < n; ++i) dst[o++] = static_cast<D>(src[off[0] + i * st[0]]);
      });
    });
  });
  return out;
}

// ---- in place --------------------------------------------------------------------------

Tensor& Tensor::fill_(double value) {
  dispatch_all(dtype_, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(raw_data());
    const T v = static_cast<T>(value);
    detail::parallel_for_each_run<1>(shape_, {strides_}, in_place_cost(*this, Tensor()),
                                     [&](auto off, int64_t n, auto st) {
                                       T* q = p + off[0];
                                       if (st[0] == 1) {
                                         std::fill(q, q + n, v);
                                       } else {
                                         for (int64_t i = 0; i < n; ++i) q[i * st[0]] = v;
                                       }
                                     });
  });
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  const Tensor s = in_place_source(*this, src, "copy_");
  dispatch_all(dtype_, [&](auto tag) {
    using T = decltype(tag);
    T* d = static_cast<T*>(raw_data());
    const T* p = static_cast<const T*>(s.raw_data());
    detail::parallel_for_each_run<2>(shape_, {strides_, s.strides()}, in_place_cost(*this, s),
                                     [&](auto off, int64_t n, auto st) {
                                       if (st[0] == 1 && st[1] == 1) {
                                         std::memmove(d + off[0], p + off[1],
                                                      static_cast<size_t>(n) * sizeof(T));
                                       } else {
                                         for (int64_t i = 0; i < n; ++i)
                                           d[off[0] + i * st[0]] = p[off[1] + i * st[1]];
                                       }
                                     });
  });
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  const Tensor o = in_place_source(*this, other, "add_");
  dispatch_floating(dtype_, "add_", [&](auto tag) {
    using T = decltype(tag);
    T* d = static_cast<T*>(raw_data());
    const T* p = static_cast<const T*>(o.raw_data());
    const T a = static_cast<T>(alpha);
    detail::parallel_for_each_run<2>(shape_, {strides_, o.strides()}, in_place_cost(*this, o),
                                     [&](auto off, int64_t n, auto st) {
                                       T* x = d + off[0];
                                       const T* y = p + off[1];
                                       if (st[0] == 1 && st[1] == 1) {
                                         for (int64_t i = 0; i < n; ++i) x[i] += a * y[i];
                                       } else {
                                         for (int64_t i = 0; i < n; ++i)
                                           x[i * st[0]] += a * y[i * st[1]];
                                       }
                                     });
  });
  return *this;
}

Tensor& Tensor::mul_(double value) {
  dispatch_floating(dtype_, "mul_", [&](auto tag) {
    using T = decltype(tag);
    T* d = static_cast<T*>(raw_data());
    const T v = static_cast<T>(value);
    detail::parallel_for_each_run<1>(shape_, {strides_}, in_place_cost(*this, Tensor()),
                                     [&](auto off, int64_t n, auto st) {
                                       for (int64_t i = 0; i < n; ++i) d[off[0] + i * st[0]] *= v;
                                     });
  });
  return *this;
}

Tensor& Tensor::mul_(const Tensor& other) {
  const Tensor o = in_place_source(*this, other, "mul_");
  dispatch_floating(dtype_, "mul_", [&](auto tag) {
    using T = decltype(tag);
    T* d = static_cast<T*>(raw_data());
    const T* p = static_cast<const T*>(o.raw_data());
    detail::parallel_for_each_run<2>(shape_, {strides_, o.strides()}, in_place_cost(*this, o),
                                     [&](auto off, int64_t n, auto st) {
                                       for (int64_t i = 0; i < n; ++i)
                                         d[off[0] + i * st[0]] *= p[off[1] + i * st[1]];
                                     });
  });
  return *this;
}

// ---- printing --------------------------------------------------------------------------
// Like numpy: nested brackets, elision with "..." past 1000 elements (three items
// at each end of every axis), then the shape and dtype.

namespace {

struct Printer {
  const Tensor& t;
  bool elide;
  int width = 0;
  int precision = 4;
  bool integral;
  std::ostringstream& os;

  std::string format(double v) const {
    std::ostringstream s;
    if (integral) {
      if (t.dtype() == DType::Bool) {
        s << (v != 0 ? "True" : "False");
      } else {
        s << static_cast<int64_t>(v);
      }
    } else if (std::isnan(v)) {
      s << "nan";
    } else if (std::isinf(v)) {
      s << (v > 0 ? "inf" : "-inf");
    } else {
      s.setf(std::ios::fixed);
      s.precision(precision);
      s << v;
    }
    return s.str();
  }

  // Calls f(offset) for every element that will be printed: all of them, or only
  // the three at each end of every long axis when eliding.
  template <class F>
  void visit(int axis, int64_t offset, F& f) const {
    if (axis == t.dim()) {
      f(offset);
      return;
    }
    const int64_t n = t.shape()[axis];
    for (int64_t i = 0; i < n; ++i) {
      if (elide && n > 6 && i == 3) i = n - 3;
      visit(axis + 1, offset + i * t.strides()[axis], f);
    }
  }

  void rec(int axis, int64_t offset, int indent) {
    if (axis == t.dim()) {
      std::string s = format(read_element(t, offset));
      os << std::string(static_cast<size_t>(std::max(0, width - static_cast<int>(s.size()))), ' ')
         << s;
      return;
    }
    os << '[';
    const int64_t n = t.shape()[axis];
    // between items: ", " in the last axis; otherwise ",", one newline per axis
    // below this one (a blank line between matrices), and the indent
    const std::string sep = axis + 1 == t.dim()
                                ? std::string(", ")
                                : ',' + std::string(static_cast<size_t>(t.dim() - axis - 1), '\n') +
                                      std::string(static_cast<size_t>(indent + 1), ' ');
    for (int64_t i = 0; i < n; ++i) {
      if (elide && n > 6 && i == 3) {
        os << "..." << sep;
        i = n - 3;
      }
      rec(axis + 1, offset + i * t.strides()[axis], indent + 1);
      if (i + 1 < n) os << sep;
    }
    os << ']';
  }
};

}  // namespace

std::string Tensor::str() const {
  std::ostringstream os;
  if (!defined()) return "tensor(undefined)";
  const bool integral = dtype_ == DType::Int64 || dtype_ == DType::Bool;
  Printer p{*this, numel() > 1000, 0, 4, integral, os};
  // width of the widest printed value, so columns line up (elided values do not
  // count, as in numpy, and a huge tensor is not formatted in full just to measure it)
  int w = 0;
  auto measure = [&](int64_t off) {
    w = std::max(w, static_cast<int>(p.format(read_element(*this, off)).size()));
  };
  p.visit(0, 0, measure);
  p.width = w;
  os << "tensor(";
  p.rec(0, 0, 7);
  os << ", shape=" << shape_ << ", dtype=" << dtype_name(dtype_) << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace minigrad
