/// \file
/// exp, tanh, sigmoid and erf that the compiler can vectorise.
///
/// glibc's expf and tanhf are scalar calls (5–40 ns each here), and a loop that
/// calls them runs one element at a time: in an LSTM step they cost more than the
/// matmuls. The functions below are straight-line arithmetic with selects instead of
/// branches, so a loop over them becomes vector code (16 floats per AVX-512
/// instruction, 8 per AVX2 one). The AVX2 case needs -fno-trapping-math, which the
/// library is compiled with (CMakeLists.txt says why).
/// float only; double keeps the libm functions (gradcheck and the float64 parity
/// tests want every last bit, and no hot path runs in double).
///
/// exp(x) = 2ⁿ · eʳ   with n = round(x / ln 2),  r = x − n·ln 2 ∈ [−ln2/2, ln2/2]
///   r is computed as (x − n·C1) − n·C2, where C1 + C2 = ln 2 and C1 has few
///   mantissa bits, so n·C1 is exact (Cody–Waite); eʳ is Cephes' degree-7 polynomial
///   (relative error < 2 ulp on that interval); 2ⁿ is built from its exponent bits, as
///   2^⌊n/2⌋ · 2^(n−⌊n/2⌋) so that n up to 128 (x up to ln FLT_MAX) and down into the
///   subnormals stays exact.
/// tanh(x) = sign(x) · (1 − 2 / (e^{2|x|} + 1))   for |x| ≥ 0.625
///         = x + x³·P(x²)                          for |x| < 0.625 (Cephes' odd polynomial;
///   the first form would lose digits to cancellation near 0)
/// σ(x)    = 1 / (1 + e^{−x})     e^{−x} = inf for x < −88.7 gives exactly 0, as it should
/// erf(x)  = x · P(x²)                    for |x| < 1 (erf(x)/x is even and smooth there)
///         = sign(x) · (1 − e^{−x²} · Q(t)),  t = 1/(1 + |x|/2)   for 1 ≤ |x| < 4
///         = sign(x)                      for |x| ≥ 4 (erfc(4) = 1.5e-8 is below half an
///   ulp of 1); P (degree 6) and Q (degree 8) are least-squares fits, in relative
///   error, of erf(x)/x and of erfc(x)·e^{x²} (smooth, ≈ 1/(x√π) for large x) made for
///   this file; GELU's exact form calls it once per element.
///
/// Special values match libm: exp(−inf) = 0, exp(+inf) = inf, NaN in → NaN out,
/// tanh(±inf) = ±1, σ(±inf) = 1 or 0. tests/test_fast_math.cpp compares every one
/// of them, and 10⁶ arguments against the double-precision functions.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace minigrad::fast {

namespace detail {
/// 2^k for an integer k in [−126, 127], from the exponent bits.
inline float pow2i(int32_t k) {
  const int32_t bits = (k + 127) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
}  // namespace detail

inline float exp(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kC1 = 0.693359375f;       // ln 2, high part (8 significant bits)
  constexpr float kC2 = -2.12194440e-4f;    // ln 2 − kC1
  constexpr float kHi = 88.7228391f;        // ln FLT_MAX: above it, inf
  constexpr float kLo = -103.972084f;       // ln of the smallest subnormal: below it, 0
  // NaN fails both comparisons and becomes kLo: the steps below stay finite (a NaN
  // converted to int32 would be undefined), and the last line returns the NaN itself
  const float xc = x > kHi ? kHi : (x >= kLo ? x : kLo);
  // round to nearest: adding 1.5·2²³ pushes the fraction bits out of the mantissa
  // (|xc·log2e| < 2²²), and subtracting it back leaves the rounded value
  constexpr float kRound = 12582912.0f;
  const float n = (xc * kLog2e + kRound) - kRound;
  const float r = (xc - n * kC1) - n * kC2;
  // eʳ ≈ 1 + r + r²·(½ + r·(1/6 + r·(1/24 + r·(1/120 + r·(1/720 + r/5040))))), minimax-tuned
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const int32_t k = static_cast<int32_t>(n);
  const int32_t k1 = k >> 1;  // ⌊k/2⌋: both halves stay within a normal float's exponents
  float y = p * detail::pow2i(k1) * detail::pow2i(k - k1);
  y = x > kHi ? std::numeric_limits<float>::infinity() : y;
  y = x < kLo ? 0.0f : y;
  return x != x ? x : y;
}

inline float tanh(float x) {
  const float a = std::fabs(x);
  // |x| ≥ 0.625: 1 − 2/(e^{2a} + 1); e^{2a} = inf gives exactly 1.
  const float big = 1.0f - 2.0f / (fast::exp(2.0f * a) + 1.0f);
  // |x| < 0.625: x + x·z·P(z), z = x²
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = x + x * z * p;
  const float y = a < 0.625f ? small : std::copysign(big, x);
  return x != x ? x : y;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + fast::exp(-x)); }

inline float erf(float x) {
  const float a = std::fabs(x);
  const float z = a * a;
  // |x| < 1: x · P(x²)
  float p = 7.898209878476337e-05f;
  p = p * z - 8.024353883229196e-04f;
  p = p * z + 5.190053489059210e-03f;
  p = p * z - 2.685480937361717e-02f;
  p = p * z + 1.128361225128174e-01f;
  p = p * z - 3.761262893676758e-01f;
  p = p * z + 1.128379225730896e+00f;
  const float small = x * p;
  // 1 ≤ |x| < 4: 1 − e^{−x²} · Q(1/(1 + |x|/2)); the clamp keeps e^{−x²} finite and
  // the division defined for the lanes that take another branch (inf, NaN)
  const float ac = a < 4.0f ? a : 4.0f;
  const float t = 1.0f / (1.0f + 0.5f * ac);
  float q = 1.820661686360836e-02f;
  q = q * t + 4.757333919405937e-02f;
  q = q * t - 3.485030829906464e-01f;
  q = q * t + 4.444895088672638e-01f;
  q = q * t - 3.239291161298752e-02f;
  q = q * t + 3.207193315029144e-01f;
  q = q * t + 2.660674750804901e-01f;
  q = q * t + 2.840613126754761e-01f;
  q = q * t - 1.049210040946491e-04f;
  const float big = 1.0f - fast::exp(-(ac * ac)) * q;
  float y = a < 1.0f ? small : std::copysign(a < 4.0f ? big : 1.0f, x);
  return x != x ? x : y;
}

/// The same names for double: the libm functions, exact to the last bit.
inline double exp(double x) { return std::exp(x); }
inline double tanh(double x) { return std::tanh(x); }
inline double erf(double x) { return std::erf(x); }
inline double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

}  // namespace minigrad::fast
