/// \file
/// Tensor: a strided n-d array of numbers. "numpy in C++": no gradients here.
///
/// A Tensor is a *view* onto a Storage (a flat buffer shared by all views of it):
///
///     element [i0, i1, ..., i(r-1)]  lives at  storage[offset + Σ_d i_d · stride_d]
///
/// so reshape / transpose / slice / expand only make a new (shape, strides, offset)
/// triple and never copy. Broadcasting is a stride of 0: one element seen many times.
/// Copying Tensor objects is cheap (they share the storage); clone() copies the data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/shape.h"

namespace minigrad {

enum class DType : uint8_t { Float32, Float64, Int64, Bool };

const char* dtype_name(DType t);  ///< "float32", "float64", "int64", "bool"
size_t dtype_size(DType t);
bool is_floating(DType t);
/// PyTorch's torch.promote_types over minigrad's four dtypes, a chain
/// bool < int64 < float32 < float64: the later of the two wins
/// (int64 + float32 → float32, float32 + float64 → float64, bool + int64 → int64).
DType promote_types(DType a, DType b);

/// The DType that holds C++ elements of type T: dtype_of<float>() is DType::Float32.
template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) {
    return DType::Float32;
  } else if constexpr (std::is_same_v<T, double>) {
    return DType::Float64;
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return DType::Int64;
  } else {
    static_assert(std::is_same_v<T, bool>, "a Tensor holds float, double, int64_t or bool");
    return DType::Bool;
  }
}

/// A flat, 64-byte aligned buffer. Buffers come from a caching pool
/// (tensor/allocator.h) so that small models do not call malloc per op.
class Storage {
 public:
  explicit Storage(size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  void* data_;
  size_t bytes_;
};

class Tensor {
 public:
  Tensor() = default;  ///< undefined: defined() is false
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype);

  // ---- creation -----------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
  static Tensor ones(const Shape& shape, DType dtype = DType::Float32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
  static Tensor scalar(double value, DType dtype = DType::Float32);  ///< rank 0
  /// [start, start+step, ...) up to but excluding end, like numpy.arange.
  static Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Float32);
  /// Copies `values` (row-major) into a new tensor; values.size() must equal shape.numel().
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  static Tensor from_list(std::initializer_list<double> values, const Shape& shape,
                          DType dtype = DType::Float32);

  // ---- metadata -----------------------------------------------------------------
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  int dim() const { return shape_.size(); }
  int64_t size(int64_t axis) const;  ///< negative axes count from the end
  int64_t numel() const { return shape_.numel(); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  ///@{
  /// Pointer to element [0,...,0]. T must match dtype() (checked).
  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  ///@}
  ///@{
  /// Untyped pointer to element [0,...,0].
  void* raw_data();
  const void* raw_data() const;
  ///@}

  /// The single value of a one-element tensor, as double.
  double item() const;
  ///@{
  /// Element at a full index (slow; for tests and printing); negative entries count
  /// from the end of their axis.
  double at(std::initializer_list<int64_t> index) const;
  double at(const Shape& index) const;
  ///@}
  /// All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // ---- views: share storage, never copy --------------------------------------------
  ///@{
  /// reshape returns a view when the strides allow it and a contiguous copy otherwise;
  /// view() insists on a view and throws when impossible. One size may be -1.
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  ///@}
  /// Axes start_dim..end_dim merged into one (a view when the strides allow, as
  /// reshape), as torch.flatten; a 0-d tensor becomes shape [1].
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  /// Swaps two axes (a 0-d tensor takes 0 or -1 and is returned as it is).
  Tensor transpose(int64_t axis0, int64_t axis1) const;
  Tensor t() const;  ///< 2-D transpose
  /// The last two axes swapped, a view (torch's `mT`): a batch of matrices transposed.
  /// Throws std::invalid_argument for fewer than 2 dimensions, as torch does.
  Tensor mT() const;
  Tensor permute(const std::vector<int64_t>& order) const;
  /// Elements [start, start+length) along axis; a negative start counts from the end.
  /// A 0-d tensor cannot be narrowed (std::invalid_argument).
  Tensor narrow(int64_t axis, int64_t start, int64_t length) const;
  /// Python-style slice start:end:step along axis (negative start/end count from the end).
  Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  /// Index `index` along axis (negative counts from the end); the axis disappears.
  /// A 0-d tensor has nothing to select (std::out_of_range, as PyTorch's IndexError).
  Tensor select(int64_t axis, int64_t index) const;
  /// Removes `axis` if its size is 1; any other axis (and a 0-d tensor, axis 0 or -1)
  /// leaves the tensor as it is, as in PyTorch.
  Tensor squeeze(int64_t axis) const;
  Tensor squeeze() const;              ///< removes every size-1 axis
  Tensor unsqueeze(int64_t axis) const;
  /// Broadcast to `shape` (numpy rules) with stride 0 on the repeated axes. A size of
  /// -1 keeps that axis' size (PyTorch's expand(-1, 4)); new leading axes need a size.
  Tensor expand(const Shape& shape) const;

  /// matmul(*this, other), torch.matmul's rules (tensor/ops.h): `a.matmul(b.mT())`.
  Tensor matmul(const Tensor& other) const;

  // ---- copies ----------------------------------------------------------------------
  Tensor contiguous() const;  ///< itself when already contiguous
  Tensor clone() const;       ///< always a fresh contiguous copy
  Tensor to(DType dtype) const;

  // ---- in place (the optimizer's tools; autograd never records these) ---------------
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);                       ///< src broadcasts to this->shape()
  Tensor& add_(const Tensor& other, double alpha = 1.0);  ///< this += alpha * other
  Tensor& mul_(double value);                             ///< this *= value
  Tensor& mul_(const Tensor& other);                      ///< this *= other

  std::string str() const;  ///< numpy-like printout with shape and dtype

 private:
  template <class T>
  T* typed_ptr() const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::Float32;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

/// Calls f(T{}) with T the C++ type of a floating dtype (float or double); throws
/// std::invalid_argument naming `op` for int64 and bool.
template <class F>
decltype(auto) dispatch_floating(DType dtype, const char* op, F&& f);
/// Calls f(T{}) with T the C++ type of any dtype (float, double, int64_t, bool).
template <class F>
decltype(auto) dispatch_all(DType dtype, F&& f);

// ---- template definitions ---------------------------------------------------------

template <class F>
decltype(auto) dispatch_floating(DType dtype, const char* op, F&& f) {
  MINIGRAD_CHECK(is_floating(dtype))
      << op << ": expected float32 or float64, got " << dtype_name(dtype);
  if (dtype == DType::Float64) return f(double{});
  return f(float{});
}

template <class F>
decltype(auto) dispatch_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32:
      return f(float{});
    case DType::Float64:
      return f(double{});
    case DType::Int64:
      return f(int64_t{});
    case DType::Bool:
      return f(bool{});
  }
  throw std::logic_error("unknown dtype");
}

template <class T>
T* Tensor::typed_ptr() const {
  MINIGRAD_CHECK(defined()) << "data: expected a defined tensor, got " << dtype_name(dtype_);
  MINIGRAD_CHECK(dtype_of<T>() == dtype_)
      << "data: expected " << dtype_name(dtype_of<T>()) << ", got " << dtype_name(dtype_);
  return static_cast<T*>(storage_->data()) + offset_;
}
template <class T>
T* Tensor::data() {
  return typed_ptr<T>();
}
template <class T>
const T* Tensor::data() const {
  return typed_ptr<T>();
}

}  // namespace minigrad
