/// \file
/// Shape: the sizes (or strides) of an n-d array, stored inline.
///
/// A tensor of rank r has r sizes and r strides. Small models create millions of
/// tiny tensors, so the dims live inside the object (no heap allocation) up to
/// kMaxDims; a rank above that is an error, not a silent truncation.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <vector>

namespace minigrad {

constexpr int kMaxDims = 8;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  template <class It>
  Shape(It first, It last) {
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t& operator[](int i) { return d_[static_cast<size_t>(i)]; }
  int64_t operator[](int i) const { return d_[static_cast<size_t>(i)]; }
  int64_t back() const { return d_[static_cast<size_t>(n_ - 1)]; }
  const int64_t* begin() const { return d_.data(); }
  const int64_t* end() const { return d_.data() + n_; }
  int64_t* begin() { return d_.data(); }
  int64_t* end() { return d_.data() + n_; }

  void push_back(int64_t v);
  void insert(int pos, int64_t v);
  void erase(int pos);
  void resize(int n, int64_t fill = 0);

  /// Product of the sizes: the number of elements (1 for rank 0).
  int64_t numel() const;
  std::vector<int64_t> to_vector() const { return {begin(), end()}; }
  std::string str() const;  ///< "[2,3,4]"

  friend bool operator==(const Shape& a, const Shape& b);
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  std::array<int64_t, kMaxDims> d_{};
  int n_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Shape& s);

/// Row-major (C-order) strides of a contiguous array with this shape.
Shape contiguous_strides(const Shape& shape);

/// numpy broadcasting: align the shapes at the right; each pair of sizes must be
/// equal or one of them 1. Throws std::invalid_argument naming `op` otherwise.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// Maps a possibly negative axis (-1 = last) into [0, rank); throws
/// std::out_of_range naming `op` when it is outside [-rank, rank).
int normalize_axis(int64_t axis, int rank, const char* op);

/// normalize_axis for the ops PyTorch lets a 0-d tensor take a dim (sum, mean, amax,
/// argmax, softmax, squeeze, transpose): a 0-d tensor is treated as if it had one
/// axis, so 0 and -1 are accepted (and mean that no axis at all); returns 0 for it.
/// Any other rank behaves as normalize_axis.
int wrap_dim(int64_t axis, int rank, const char* op);

}  // namespace minigrad
