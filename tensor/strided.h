/// \file
/// The one loop every element-wise kernel runs: visit all elements of N operands
/// that share a shape but each have their own strides (a broadcast operand has
/// stride 0 on its repeated axes).
///
/// Adjacent axes that are laid out back to back in *every* operand are merged
/// first (a contiguous tensor of any rank becomes one long axis), so the common
/// case is a single call of the inner loop with unit strides, which the compiler
/// vectorises. What remains is an odometer over the outer axes.
#pragma once

#include <array>
#include <cstdint>

#include "minigrad/tensor/shape.h"

namespace minigrad::detail {

template <size_t N>
struct StridedLayout {
  Shape shape;                      ///< after merging axes
  std::array<Shape, N> strides;     ///< per operand, same rank as shape
};

template <size_t N>
StridedLayout<N> merge_axes(const Shape& shape, const std::array<Shape, N>& strides) {
  StridedLayout<N> out;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;  // a size-1 axis moves nothing
    const int last = out.shape.size() - 1;
    bool mergeable = last >= 0;
    for (size_t k = 0; k < N && mergeable; ++k)
      mergeable = out.strides[k][last] == strides[k][d] * shape[d];
    if (mergeable) {
      out.shape[last] *= shape[d];
      for (size_t k = 0; k < N; ++k) out.strides[k][last] = strides[k][d];
    } else {
      out.shape.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) out.strides[k].push_back(strides[k][d]);
    }
  }
  if (out.shape.empty()) {  // a single element
    out.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) out.strides[k].push_back(0);
  }
  return out;
}

/// Calls inner(offsets, count, inner_strides) once per run of the innermost axis:
/// operand k's elements in that run are at offsets[k] + i * inner_strides[k], i < count.
template <size_t N, class Inner>
void for_each_run(const Shape& shape, const std::array<Shape, N>& strides, Inner&& inner) {
  if (shape.numel() == 0) return;
  const StridedLayout<N> L = merge_axes<N>(shape, strides);
  const int rank = L.shape.size();
  const int64_t count = L.shape[rank - 1];
  std::array<int64_t, N> inner_strides{};
  for (size_t k = 0; k < N; ++k) inner_strides[k] = L.strides[k][rank - 1];

  std::array<int64_t, N> offsets{};
  if (rank == 1) {
    inner(offsets, count, inner_strides);
    return;
  }
  std::array<int64_t, kMaxDims> idx{};
  const int64_t outer = L.shape.numel() / count;
  for (int64_t it = 0; it < outer; ++it) {
    inner(offsets, count, inner_strides);
    // odometer over axes rank-2 .. 0
    for (int d = rank - 2; d >= 0; --d) {
      const auto du = static_cast<size_t>(d);
      if (++idx[du] < L.shape[d]) {
        for (size_t k = 0; k < N; ++k) offsets[k] += L.strides[k][d];
        break;
      }
      for (size_t k = 0; k < N; ++k) offsets[k] -= L.strides[k][d] * (L.shape[d] - 1);
      idx[du] = 0;
    }
  }
}

}  // namespace minigrad::detail
