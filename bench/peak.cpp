// The machine's FMA peak, measured rather than taken from a data sheet: cloud CPUs
// run at clocks nobody publishes, and turbo depends on how many cores are busy.
//
// Each thread runs independent chains acc = acc·a + b in vector registers. A
// chain has to wait for its previous FMA (4 cycles of latency on current x86 cores),
// so one chain alone would run at a fraction of the peak; with 2 FMA pipes × 4 cycles,
// 8 chains in flight keep both pipes busy. AVX-512 has 32 vector registers and runs 16
// chains; AVX2 has 16, and 16 chains plus a and b would not fit: the compiler would
// keep some accumulators in memory, and the loop would measure stores and loads (half
// the true peak on a Zen 3). So AVX2 runs 12. Nothing touches memory, so this is the
// arithmetic ceiling no GEMM can pass.
//
// The ISA is chosen at run time (function target attributes), so the bench does not
// need -march=native to measure AVX-512 on a machine that has it.
#include <immintrin.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "workloads.h"

namespace bench {
namespace {

constexpr int kChainsAvx512 = 16;  // of 32 zmm registers
constexpr int kChainsAvx2 = 12;    // of 16 ymm registers, with a and b beside them

// a = 0.999, b = 0.001: the fixed point of acc·a + b is 1, so the values stay normal
// (no overflow, no denormals to slow anything down).
__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iters) {
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  __m512 acc[kChainsAvx512];
  for (int j = 0; j < kChainsAvx512; ++j) acc[j] = _mm512_set1_ps(static_cast<float>(j));
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < kChainsAvx512; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
  }
  __m512 s = acc[0];
  for (int j = 1; j < kChainsAvx512; ++j) s = _mm512_add_ps(s, acc[j]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}
constexpr double kFlopsPerIterAvx512 = kChainsAvx512 * 16 * 2;

__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iters) {
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  __m256 acc[kChainsAvx2];
  for (int j = 0; j < kChainsAvx2; ++j) acc[j] = _mm256_set1_ps(static_cast<float>(j));
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < kChainsAvx2; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  }
  __m256 s = acc[0];
  for (int j = 1; j < kChainsAvx2; ++j) s = _mm256_add_ps(s, acc[j]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}
constexpr double kFlopsPerIterAvx2 = kChainsAvx2 * 8 * 2;

// Runs the loop on `threads` threads started together; returns the sum over threads of
// each thread's GFLOP/s over its own CPU time. CPU time, not wall time, because the
// machine is shared: a compile that takes the core away for a while must not lower
// the measured ceiling of the hardware (the workloads themselves are timed on the
// wall clock, and pay for such interruptions there).
volatile float g_sink;  // the loops' results end here, so they cannot be optimised away

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double run_once(bool avx512, int threads, int64_t iters) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> gflops(static_cast<size_t>(threads), 0.0);
  std::vector<float> sink(static_cast<size_t>(threads));  // keeps the compiler from dropping the loops
  const double flops = double(iters) * (avx512 ? kFlopsPerIterAvx512 : kFlopsPerIterAvx2);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      const double t0 = thread_cpu_seconds();
      sink[size_t(t)] = avx512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters);
      gflops[size_t(t)] = flops / (thread_cpu_seconds() - t0) * 1e-9;
    });
  }
  while (ready.load() < threads) {
  }
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  double total = 0;
  for (double g : gflops) total += g;
  for (float v : sink) g_sink = g_sink + v;
  return total;
}

}  // namespace

Peak measure_fma_peak(int threads, int runs, double seconds_per_run) {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  Peak p;
  if (!avx512 && !avx2) return p;  // no FMA unit worth measuring: peak_frac stays 0
  p.isa = avx512 ? "avx512" : "avx2";
  // Calibrate the iteration count on one short run, then aim for seconds_per_run.
  const int64_t probe = 200000;
  const double probe_gflops = run_once(avx512, 1, probe);
  const double per_iter = avx512 ? kFlopsPerIterAvx512 : kFlopsPerIterAvx2;
  const auto iters = std::max<int64_t>(
      probe, static_cast<int64_t>(seconds_per_run * probe_gflops * 1e9 / per_iter));
  std::vector<double> g;
  for (int r = 0; r < std::max(runs, 1); ++r) g.push_back(run_once(avx512, threads, iters));
  std::sort(g.begin(), g.end());
  p.gflops = g[g.size() / 2];
  p.max_gflops = g.back();
  return p;
}

}  // namespace bench
