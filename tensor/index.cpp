// Joining (concat, stack), splitting (views) and indexing (index_select, gather)
// with their scatter-add inverses, which the backward passes use.
#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/strided.h"

namespace minigrad {
namespace {

// Index tensors are int64; a value outside [0, size) throws naming the op.
void check_index_value(int64_t v, int64_t size, const char* op, const Shape& shape, int axis) {
  MINIGRAD_CHECK_INDEX(v >= 0 && v < size)
      << op << ": index " << v << " is out of range for axis " << axis << " of size " << size
      << " (tensor shape " << shape << ")";
}

void check_index_tensor(const Tensor& index, const char* op) {
  MINIGRAD_CHECK(index.defined() && index.dtype() == DType::Int64)
      << op << ": the index must be an int64 tensor, got "
      << (index.defined() ? dtype_name(index.dtype()) : "undefined");
}

}  // namespace

Tensor concat(const std::vector<Tensor>& tensors, int64_t axis) {
  MINIGRAD_CHECK(!tensors.empty()) << "concat: no tensors given";
  const Tensor& first = tensors[0];
  const int ax = normalize_axis(axis, first.dim(), "concat");
  Shape shape = first.shape();
  shape[ax] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    bool ok = t.dim() == first.dim() && t.dtype() == first.dtype();
    for (int d = 0; ok && d < t.dim(); ++d) ok = d == ax || t.shape()[d] == first.shape()[d];
    MINIGRAD_CHECK(ok) << "concat: tensor " << i << " " << dtype_name(t.dtype()) << t.shape()
                       << " does not match tensor 0 " << dtype_name(first.dtype()) << first.shape()
                       << " outside axis " << ax;
    shape[ax] += t.shape()[ax];
  }
  Tensor out = Tensor::empty(shape, first.dtype());
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    out.narrow(ax, at, t.shape()[ax]).copy_(t);
    at += t.shape()[ax];
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t axis) {
  MINIGRAD_CHECK(!tensors.empty()) << "stack: no tensors given";
  const int ax = normalize_axis(axis, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    MINIGRAD_CHECK(tensors[i].shape() == tensors[0].shape())
        << "stack: tensor " << i << " has shape " << tensors[i].shape() << ", tensor 0 has "
        << tensors[0].shape();
    parts.push_back(tensors[i].unsqueeze(ax));
  }
  return concat(parts, ax);
}

std::vector<Tensor> split(const Tensor& a, const std::vector<int64_t>& sizes, int64_t axis) {
  const int ax = normalize_axis(axis, a.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    MINIGRAD_CHECK(s >= 0) << "split: negative size " << s;
    MINIGRAD_CHECK(!__builtin_add_overflow(total, s, &total))
        << "split: the sizes add up past int64, but axis " << ax << " of " << a.shape() << " has "
        << a.shape()[ax];
  }
  MINIGRAD_CHECK(total == a.shape()[ax]) << "split: sizes add up to " << total << " but axis " << ax
                                         << " of " << a.shape() << " has " << a.shape()[ax];
  std::vector<Tensor> out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    out.push_back(a.narrow(ax, at, s));
    at += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& a, int64_t chunk, int64_t axis) {
  const int ax = normalize_axis(axis, a.dim(), "split");
  MINIGRAD_CHECK(chunk > 0) << "split: chunk size must be positive, got " << chunk;
  std::vector<int64_t> sizes;
  for (int64_t at = 0; at < a.shape()[ax]; at += chunk)
    sizes.push_back(std::min(chunk, a.shape()[ax] - at));
  return split(a, sizes, ax);
}

Tensor index_select(const Tensor& a, int64_t axis, const Tensor& index) {
  if (a.dim() == 0 && a.defined()) {  // PyTorch: a 0-d tensor is one element along axis 0
    wrap_dim(axis, 0, "index_select");
    check_index_tensor(index, "index_select");
    MINIGRAD_CHECK(index.numel() == 1)
        << "index_select: a 0-d tensor takes an index of one element, got shape " << index.shape();
    return index_select(a.reshape({1}), 0, index.reshape({1})).reshape({});
  }
  const int ax = normalize_axis(axis, a.dim(), "index_select");
  check_index_tensor(index, "index_select");
  MINIGRAD_CHECK(index.dim() == 1)
      << "index_select: the index must be 1-D, got shape " << index.shape();
  const Tensor idx = index.contiguous();
  const int64_t* pi = idx.data<int64_t>();
  Shape shape = a.shape();
  shape[ax] = idx.numel();
  Tensor out = Tensor::empty(shape, a.dtype());
  for (int64_t j = 0; j < idx.numel(); ++j)
    check_index_value(pi[j], a.shape()[ax], "index_select", a.shape(), ax);
  if (ax == 0 && a.is_contiguous()) {
    // Rows of a contiguous table (an embedding lookup): one memcpy per row.
    const size_t row_bytes =
        static_cast<size_t>(a.numel() / std::max<int64_t>(a.shape()[0], 1)) * dtype_size(a.dtype());
    const char* src = static_cast<const char*>(a.raw_data());
    char* dst = static_cast<char*>(out.raw_data());
    for (int64_t j = 0; j < idx.numel(); ++j) {
      std::memcpy(dst + static_cast<size_t>(j) * row_bytes,
                  src + static_cast<size_t>(pi[j]) * row_bytes, row_bytes);
    }
    return out;
  }
  for (int64_t j = 0; j < idx.numel(); ++j) out.select(ax, j).copy_(a.select(ax, pi[j]));
  return out;
}

Tensor index_add(const Shape& shape, int64_t axis, const Tensor& index, const Tensor& src) {
  const int ax = normalize_axis(axis, shape.size(), "index_add");
  check_index_tensor(index, "index_add");
  // src is what index_select(·, axis, index) of a `shape` tensor would return
  Shape expected = shape;
  expected[ax] = index.numel();
  MINIGRAD_CHECK(index.dim() == 1 && src.shape() == expected)
      << "index_add: source shape " << src.shape() << " and index shape " << index.shape()
      << " do not match " << shape << " indexed along axis " << ax << " (expected source "
      << expected << " and a 1-D index)";
  const Tensor idx = index.contiguous();
  const int64_t* pi = idx.data<int64_t>();
  Tensor out = Tensor::zeros(shape, src.dtype());
  for (int64_t j = 0; j < idx.numel(); ++j)
    check_index_value(pi[j], shape[ax], "index_add", shape, ax);
  if (ax == 0 && src.is_contiguous()) {
    // Gradient of an embedding lookup: add row j of src into row index[j].
    const int64_t row = src.numel() / std::max<int64_t>(src.shape()[0], 1);
    dispatch_floating(src.dtype(), "index_add", [&](auto tag) {
      using T = decltype(tag);
      const T* ps = src.data<T>();
      T* po = out.data<T>();
      for (int64_t j = 0; j < idx.numel(); ++j) {
        T* d = po + pi[j] * row;
        const T* r = ps + j * row;
        for (int64_t c = 0; c < row; ++c) d[c] += r[c];
      }
    });
    return out;
  }
  for (int64_t j = 0; j < idx.numel(); ++j) {
    Tensor dst = out.select(ax, pi[j]);
    dst.add_(src.select(ax, j));
  }
  return out;
}

// gather and scatter_add walk the index tensor; element e of the index names the
// position along `axis`, and its other coordinates are e's own.
template <bool kScatter>
static void gather_scatter(Tensor& dst_or_src_full, const Tensor& index, Tensor& small, int ax,
                           const char* op) {
  const Tensor idx = index.contiguous();
  const int64_t* pi = idx.data<int64_t>();
  const Shape& full_shape = dst_or_src_full.shape();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    T* pf = static_cast<T*>(dst_or_src_full.raw_data());
    T* ps = static_cast<T*>(small.raw_data());
    Shape pos;
    pos.resize(idx.dim());
    for (int64_t e = 0; e < idx.numel(); ++e) {
      int64_t rem = e, off_full = 0, off_small = 0;
      for (int d = idx.dim() - 1; d >= 0; --d) {
        pos[d] = rem % idx.shape()[d];
        rem /= idx.shape()[d];
      }
      for (int d = 0; d < idx.dim(); ++d) {
        int64_t p = pos[d];
        if (d == ax) {
          p = pi[e];
          check_index_value(p, full_shape[d], op, full_shape, ax);
        }
        off_full += p * dst_or_src_full.strides()[d];
        off_small += pos[d] * small.strides()[d];
      }
      if constexpr (kScatter) {
        pf[off_full] += ps[off_small];
      } else {
        ps[off_small] = pf[off_full];
      }
    }
  };
  if constexpr (kScatter) {
    dispatch_floating(small.dtype(), op, run);
  } else {  // gather moves values and needs no arithmetic: any dtype
    dispatch_all(small.dtype(), run);
  }
}

static void check_gather_shapes(const Shape& full, const Tensor& index, int ax, const char* op) {
  bool ok = index.dim() == full.size();
  for (int d = 0; ok && d < index.dim(); ++d) ok = d == ax || index.shape()[d] <= full[d];
  MINIGRAD_CHECK(ok) << op << ": index shape " << index.shape() << " does not fit tensor shape "
                     << full << " outside axis " << ax;
}

Tensor gather(const Tensor& a, int64_t axis, const Tensor& index) {
  const int ax = normalize_axis(axis, a.dim(), "gather");
  check_index_tensor(index, "gather");
  check_gather_shapes(a.shape(), index, ax, "gather");
  Tensor out = Tensor::empty(index.shape(), a.dtype());
  Tensor src = a;
  gather_scatter<false>(src, index, out, ax, "gather");
  return out;
}

Tensor scatter_add(const Shape& shape, int64_t axis, const Tensor& index, const Tensor& src) {
  const int ax = normalize_axis(axis, shape.size(), "scatter_add");
  check_index_tensor(index, "scatter_add");
  check_gather_shapes(shape, index, ax, "scatter_add");
  MINIGRAD_CHECK(src.shape() == index.shape()) << "scatter_add: source shape " << src.shape()
                                               << " differs from index shape " << index.shape();
  Tensor out = Tensor::zeros(shape, src.dtype());
  Tensor s = src;
  gather_scatter<true>(out, index, s, ax, "scatter_add");
  return out;
}

Tensor one_hot(const Tensor& index, int64_t num_classes, DType dtype) {
  check_index_tensor(index, "one_hot");
  const Tensor idx = index.contiguous();
  const int64_t* pi = idx.data<int64_t>();
  if (num_classes == -1) {  // PyTorch: one more than the largest class present
    MINIGRAD_CHECK(idx.numel() > 0)
        << "one_hot: cannot infer num_classes (-1) from an empty index tensor";
    num_classes = *std::max_element(pi, pi + idx.numel()) + 1;
  }
  MINIGRAD_CHECK(num_classes > 0) << "one_hot: num_classes must be positive or -1, got "
                                  << num_classes;
  Shape shape = index.shape();
  shape.push_back(num_classes);
  Tensor out = Tensor::zeros(shape, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* po = out.data<T>();
    for (int64_t e = 0; e < idx.numel(); ++e) {
      check_index_value(pi[e], num_classes, "one_hot", shape, shape.size() - 1);
      po[e * num_classes + pi[e]] = T(1);
    }
  });
  return out;
}

}  // namespace minigrad
