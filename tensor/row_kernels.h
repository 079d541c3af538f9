/// \file
/// What minigrad's own loops share (tensor/ internals, namespace detail): when a loop
/// may open an OpenMP region, and the row reductions of the row-by-row kernels
/// (softmax, layer_norm), whose order of summation depends on the row length only.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "minigrad/tensor/fast_math.h"

namespace minigrad::detail {

/// A batch of small matrix products (matmul's batches, attention's (batch, head)
/// pairs) runs its items in parallel when it holds at least this many multiply-adds
/// in all: gemm_kernels.inc's kParallelMinWork, for the same reason.
constexpr int64_t kParallelBatchWork = int64_t{1} << 21;

/// Runs f(item, thread) for every item in [0, n): the items shared among the threads in
/// equal contiguous ranges when they hold at least kParallelBatchWork multiply-adds in
/// all (`work`), else on the calling thread (thread 0) without opening a region.
template <class F>
void for_each_item(int64_t n, double work, F f) {
#if defined(_OPENMP)
  if (n > 1 && work >= static_cast<double>(kParallelBatchWork) && omp_get_max_threads() > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < n; ++b) f(b, omp_get_thread_num());
    return;
  }
#endif
  (void)work;
  for (int64_t b = 0; b < n; ++b) f(b, 0);
}

/// Row reductions run in kLanes independent accumulators. A single running sum is a
/// chain in which every step waits for the previous one (4 cycles per add): a row of
/// 128 takes 512 cycles. Lane l accumulates elements l, l + kLanes, ...; the loop over
/// the lanes becomes one vector instruction per kLanes elements. The lanes are then
/// folded in halves (fold_lanes), so the result is the same on every run and thread
/// count (though not bit-equal to a left-to-right sum).
constexpr int kLanes = 16;

/// lane[0] ⊕ lane[1] ⊕ ... ⊕ lane[kLanes − 1], folded in halves:
///
///   lane[l] = lane[l] ⊕ lane[l + w]   for l < w,   w = kLanes/2, kLanes/4, ..., 1
///
/// log2(kLanes) = 4 dependent vector steps. Folding them one after another was 15
/// dependent scalar steps, the most of a short row's time: a softmax over rows of 12
/// (SELFATT's attention) spent ~250 cycles a row, two thirds of them in these chains.
template <class T, class Op>
T fold_lanes(T (&lane)[kLanes], Op op) {
  static_assert((kLanes & (kLanes - 1)) == 0, "kLanes is a power of two");
#pragma GCC unroll 8
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) lane[l] = op(lane[l], lane[l + w]);
  return lane[0];
}

/// Σ_j f(j) for j < n, in kLanes lanes: f is inlined into the loop, so a sum of
/// products (or of any per-element expression) vectorises without a buffer for its terms.
template <class T, class F>
T row_sum_by(int64_t n, F f) {
  T lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += f(j + l);
  if (j < n) {
    // The last n − j < kLanes elements: one masked vector step (f is evaluated only
    // where l < rest; the compiler loads the other lanes not at all).
    const int64_t rest = n - j;
#if defined(_OPENMP)
#pragma omp simd
#endif
    for (int l = 0; l < kLanes; ++l) lane[l] += l < rest ? f(j + l) : T(0);
  }
  return fold_lanes(lane, [](T a, T b) { return a + b; });
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

/// max_j x_j over a row of n, or NaN if any x_j is NaN (a NaN must reach the output,
/// not be mistaken for a fully masked row). The comparisons skip NaNs; a count of them
/// decides.
template <class T>
T row_max(const T* x, int64_t n) {
  T lane[kLanes], nans[kLanes] = {};
  for (int l = 0; l < kLanes; ++l) lane[l] = -std::numeric_limits<T>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    // g++ 12 leaves this loop scalar (16 vmaxss) unless told that its lanes are
    // independent; they are, so the bits are the same either way.
#if defined(_OPENMP)
#pragma omp simd
#endif
    for (int l = 0; l < kLanes; ++l) {
      const T v = x[j + l];
      lane[l] = v > lane[l] ? v : lane[l];
      nans[l] += v != v ? T(1) : T(0);
    }
  }
  if (j < n) {  // the rest, as in row_sum_by, padded with −∞
    const int64_t rest = n - j;
    const T* xj = x + j;
    T v[kLanes];
#if defined(_OPENMP)
#pragma omp simd
#endif
    for (int l = 0; l < kLanes; ++l) v[l] = l < rest ? xj[l] : -std::numeric_limits<T>::infinity();
#if defined(_OPENMP)
#pragma omp simd
#endif
    for (int l = 0; l < kLanes; ++l) {
      lane[l] = v[l] > lane[l] ? v[l] : lane[l];
      nans[l] += v[l] != v[l] ? T(1) : T(0);
    }
  }
  const T m = fold_lanes(lane, [](T a, T b) { return b > a ? b : a; });
  const T bad = fold_lanes(nans, [](T a, T b) { return a + b; });
  return bad > 0 ? std::numeric_limits<T>::quiet_NaN() : m;
}

/// One row of softmax (kLog = false) or log_softmax (kLog = true, y not x; softmax
/// may write over x):
///
///   m = max_j x_j,   softmax(x)_i = e^(x_i − m) / Σ_j e^(x_j − m)
///
/// Subtracting m changes nothing mathematically (it cancels) but keeps every exponent
/// ≤ 0, so e^(·) never overflows even for logits of 1e4. A row that is all −∞ (every
/// key masked) has no defined softmax: it gives zeros (log_softmax: −∞).
template <bool kLog, class T>
void softmax_row(const T* x, T* y, int64_t n) {
  const T m = row_max(x, n);  // NaN if any x_j is
  if (m == -std::numeric_limits<T>::infinity()) {
    for (int64_t j = 0; j < n; ++j) y[j] = kLog ? -std::numeric_limits<T>::infinity() : T(0);
    return;
  }
  // e_j = exp(x_j − m) first, in a loop of its own that vectorises, then their sum.
  for (int64_t j = 0; j < n; ++j) y[j] = fast::exp(x[j] - m);
  const T s = row_sum(y, n);
  if (kLog) {
    // (x_j - m) - log s, not x_j - (m + log s): for logits of 1e4 in float32
    // m + log s rounds to a multiple of 2⁻¹⁰ and the result loses 3 digits.
    const T log_s = std::log(s);
    for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - m) - log_s;
  } else {
    const T inv = T(1) / s;
    for (int64_t j = 0; j < n; ++j) y[j] *= inv;
  }
}

/// One row of softmax's vector-Jacobian product, gx = y ⊙ (gy − Σ_j gy_j y_j), times
/// `scale`; gx may be gy. A fully masked row (y = 0) gets 0.
template <class T>
void softmax_backward_row(const T* y, const T* gy, T* gx, int64_t n, T scale = T(1)) {
  const T dot = row_dot(gy, y, n);
  for (int64_t j = 0; j < n; ++j) gx[j] = scale * (y[j] * (gy[j] - dot));
}

}  // namespace minigrad::detail
