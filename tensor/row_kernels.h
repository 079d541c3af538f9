/// \file
/// What minigrad's own loops share (tensor/ internals, namespace detail): when a loop
/// may open an OpenMP region, and the row reductions of the row-by-row kernels
/// (softmax, layer_norm), whose order of summation depends on the row length only.
#pragma once

#include <cstdint>

namespace minigrad::detail {

/// Large element-wise or row-wise work is split across threads; below this many
/// elements no OpenMP region is opened. An element-wise op moves memory at ~1 ns per
/// element, so 2^20 elements are ~1 ms of work: enough to pay for a team even on a
/// busy machine, where the barrier at the end of a region can wait a scheduler tick
/// for a thread that is not running (gemm.cpp, kParallelMinWork, has the measurement).
constexpr int64_t kParallelGrain = 1 << 20;

/// Row reductions run in kLanes independent accumulators. A single running sum is a
/// chain in which every step waits for the previous one (4 cycles per add): a row of
/// 128 takes 512 cycles. Lane l accumulates elements l, l + kLanes, ...; the loop over
/// the lanes becomes one vector instruction per kLanes elements, and the lanes are
/// combined in a fixed order at the end, so the result is the same on every run and
/// thread count (though not bit-equal to a left-to-right sum).
constexpr int kLanes = 16;

/// lane[0] + lane[1] + ... + lane[kLanes − 1], in that order.
template <class T>
T combine_sum(const T (&lane)[kLanes]) {
  T s = 0;
  for (int l = 0; l < kLanes; ++l) s += lane[l];
  return s;
}

/// Σ_j f(j) for j < n, in kLanes lanes: f is inlined into the loop, so a sum of
/// products (or of any per-element expression) vectorises without a buffer for its terms.
template <class T, class F>
T row_sum_by(int64_t n, F f) {
  T lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += f(j + l);
  for (int l = 0; j < n; ++j, ++l) lane[l] += f(j);
  return combine_sum(lane);
}

/// Σ_j x_j over a row of n, in kLanes lanes.
template <class T>
T row_sum(const T* x, int64_t n) {
  return row_sum_by<T>(n, [x](int64_t j) { return x[j]; });
}

/// Σ_j a_j·b_j over rows of n, in kLanes lanes.
template <class T>
T row_dot(const T* a, const T* b, int64_t n) {
  return row_sum_by<T>(n, [a, b](int64_t j) { return a[j] * b[j]; });
}

}  // namespace minigrad::detail
