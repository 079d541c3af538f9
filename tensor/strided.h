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

#if defined(_OPENMP)
#include <omp.h>
#endif

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

/// Calls inner(offsets, count, inner_strides) once per run of the innermost axis that
/// lies in elements [begin, end) of the merged order (a run cut by either end is passed
/// in part): operand k's elements in that run are at offsets[k] + i * inner_strides[k].
template <size_t N, class Inner>
void for_each_run_in(const StridedLayout<N>& L, int64_t begin, int64_t end, Inner& inner) {
  const int rank = L.shape.size();
  const int64_t count = L.shape[rank - 1];
  std::array<int64_t, N> inner_strides{};
  for (size_t k = 0; k < N; ++k) inner_strides[k] = L.strides[k][rank - 1];

  // The odometer of the run that holds `begin`: run index r = Σ idx[d] · Π_{e>d} shape[e].
  std::array<int64_t, kMaxDims> idx{};
  std::array<int64_t, N> offsets{};
  int64_t r = begin / count, j = begin % count;
  for (int d = rank - 2; d >= 0 && r > 0; --d) {
    const auto du = static_cast<size_t>(d);
    idx[du] = r % L.shape[d];
    r /= L.shape[d];
    for (size_t k = 0; k < N; ++k) offsets[k] += idx[du] * L.strides[k][d];
  }
  for (int64_t pos = begin; pos < end;) {
    const int64_t len = count - j < end - pos ? count - j : end - pos;
    std::array<int64_t, N> at = offsets;
    for (size_t k = 0; k < N; ++k) at[k] += j * inner_strides[k];
    inner(at, len, inner_strides);
    pos += len;
    j = 0;
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

/// Calls inner(offsets, count, inner_strides) once per run of the innermost axis:
/// operand k's elements in that run are at offsets[k] + i * inner_strides[k], i < count.
template <size_t N, class Inner>
void for_each_run(const Shape& shape, const std::array<Shape, N>& strides, Inner&& inner) {
  const int64_t total = shape.numel();
  if (total == 0) return;
  for_each_run_in(merge_axes<N>(shape, strides), 0, total, inner);
}

/// An element-wise loop is split across threads from this much work: elements times
/// their cost (1 for a load, an add and a store). A parallel region costs about 1 µs on
/// an idle machine (libgomp's workers spin between regions); measured on AMD Zen 4, a
/// float add over 2^13 elements (3 µs) ran no faster on 2 threads, over 2^15 1.6× and
/// over 2^16 1.8× faster. Each region also ends at a barrier that a thread descheduled
/// by a busy machine holds up, so small models (the SELFATT and SEQ2SEQ steps, whose
/// tensors hold 4 K–50 K numbers) keep their element-wise work on one thread.
constexpr int64_t kParallelElements = int64_t{1} << 16;

/// The per-element cost of a loop whose element calls exp, erf, tanh or the like
/// (fast_math.h's vectorised forms: a few adds' worth each).
constexpr int64_t kTranscendentalCost = 4;

/// Work large enough to split is cut into chunks of this many elements (a multiple of
/// any vector width times any unrolling), the same chunks at every thread count.
constexpr int64_t kParallelChunk = 4096;

/// f(begin, end) over [0, n). Below kParallelElements (n · cost), one call f(0, n) on
/// the calling thread. From there, one call per chunk of kParallelChunk elements, the
/// chunks shared among the threads in contiguous blocks (not inside another parallel
/// region). The chunks do not depend on the thread count because an element's bits may
/// depend on where its call starts and ends: a compiler computes a loop's vector body
/// and its remainder with different instructions (measured: GELU's backward under -O2
/// with the sanitizers gave other bits at 2 threads when the split fell mid-vector).
template <class F>
void parallel_ranges(int64_t n, int64_t cost, F&& f) {
  if (n <= 0) return;
  if (n * cost < kParallelElements) {
    f(int64_t{0}, n);
    return;
  }
  const int64_t chunks = (n + kParallelChunk - 1) / kParallelChunk;
  const auto run = [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t end = (c + 1) * kParallelChunk;
      f(c * kParallelChunk, end < n ? end : n);
    }
  };
#if defined(_OPENMP)
  if (!omp_in_parallel() && omp_get_max_threads() > 1) {
#pragma omp parallel
    {
      // Cut by the team OpenMP gave (it may be smaller than asked for, e.g. under
      // OMP_THREAD_LIMIT), so that no chunk is left without a thread.
      const int64_t team = omp_get_num_threads(), t = omp_get_thread_num();
      run(chunks * t / team, chunks * (t + 1) / team);
    }
    return;
  }
#endif
  run(0, chunks);
}

/// for_each_run over the threads: the elements, in the merged order, are cut as
/// parallel_ranges cuts them (a run of the innermost axis may be cut in two, at the same
/// place at every thread count). inner runs
/// concurrently on disjoint ranges, so it may write only the elements it is given, and
/// no two elements of a written operand may share memory. An element's result does not
/// depend on which thread computes it, so the bits are the same at every thread count.
template <size_t N, class Inner>
void parallel_for_each_run(const Shape& shape, const std::array<Shape, N>& strides, int64_t cost,
                           Inner&& inner) {
  const int64_t total = shape.numel();
  if (total == 0) return;
  const StridedLayout<N> L = merge_axes<N>(shape, strides);
  parallel_ranges(total, cost,
                  [&](int64_t begin, int64_t end) { for_each_run_in(L, begin, end, inner); });
}

}  // namespace minigrad::detail
