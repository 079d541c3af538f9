#include "minigrad/tensor/random.h"
#include "minigrad/tensor/check.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "minigrad/tensor/strided.h"

namespace minigrad {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Writes gen-drawn values into t in row-major order; draw(T{}) returns one value
// of t's element type T.
template <class Draw>
void fill_with(Tensor& t, Draw draw, const char* op) {
  dispatch_floating(t.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.raw_data());
    detail::for_each_run<1>(t.shape(), {t.strides()}, [&](auto off, int64_t n, auto st) {
      for (int64_t i = 0; i < n; ++i) p[off[0] + i * st[0]] = draw(tag);
    });
  });
}

}  // namespace

Generator::Generator(uint64_t seed) { this->seed(seed); }

void Generator::seed(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);
  has_spare_ = false;
}

// xoshiro256** (Blackman & Vigna): fast, 256 bits of state, passes BigCrush.
uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

Tensor Generator::state() const {
  int64_t spare_bits = 0;
  std::memcpy(&spare_bits, &spare_, sizeof spare_bits);
  std::vector<int64_t> words;
  for (const uint64_t w : s_) words.push_back(static_cast<int64_t>(w));
  words.push_back(has_spare_ ? 1 : 0);
  words.push_back(spare_bits);
  return Tensor::from_vector<int64_t>(words, {6});
}

void Generator::set_state(const Tensor& state) {
  MINIGRAD_CHECK(state.dtype() == DType::Int64 && state.shape() == Shape{6})
      << "Generator::set_state: expects int64 [6], got " << dtype_name(state.dtype())
      << state.shape();
  const std::vector<int64_t> w = state.contiguous().to_vector<int64_t>();
  MINIGRAD_CHECK(w[4] == 0 || w[4] == 1)
      << "Generator::set_state: the spare flag (element 4) must be 0 or 1, got " << w[4];
  MINIGRAD_CHECK(w[0] != 0 || w[1] != 0 || w[2] != 0 || w[3] != 0)
      << "Generator::set_state: an all-zero xoshiro256** state never changes";
  for (int i = 0; i < 4; ++i) s_[i] = static_cast<uint64_t>(w[i]);
  has_spare_ = w[4] == 1;
  std::memcpy(&spare_, &w[5], sizeof spare_);
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

// Box–Muller: two uniforms u1, u2 give two independent normals
//   √(-2 ln u1) cos(2π u2),  √(-2 ln u1) sin(2π u2).
double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * M_PI * u2;
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

int64_t Generator::randint(int64_t low, int64_t high) {
  MINIGRAD_CHECK(high > low) << "randint: empty range [" << low << ", " << high << ")";
  // Unsigned (modular) arithmetic: high - low exceeds INT64_MAX when the range
  // spans more than half of int64, and low + offset may pass through it.
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  // Rejection sampling removes the modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t x = next_u64();
  while (x >= limit) x = next_u64();
  return static_cast<int64_t>(static_cast<uint64_t>(low) + x % range);
}

Generator& default_generator() {
  static Generator gen(0x5eed);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().seed(seed); }

void uniform_(Tensor& t, double low, double high, Generator& gen) {
  MINIGRAD_CHECK(low <= high) << "uniform_: low must not exceed high";
  fill_with(
      t,
      [&](auto tag) {
        using T = decltype(tag);
        // low + (high - low)·u is below high in double, but rounding to float can
        // carry it up to high itself (u = 1 - 2⁻²⁵ becomes 1.0f). Such a draw
        // becomes the largest T below high, so the interval stays half-open.
        const T v = static_cast<T>(low + (high - low) * gen.uniform());
        const T top = static_cast<T>(high);
        return v < top || low == high ? v : std::nextafter(top, static_cast<T>(low));
      },
      "uniform_");
}

void normal_(Tensor& t, double mean, double stddev, Generator& gen) {
  MINIGRAD_CHECK(stddev >= 0) << "normal_: stddev must be non-negative";
  fill_with(
      t, [&](auto tag) { return static_cast<decltype(tag)>(mean + stddev * gen.normal()); },
      "normal_");
}

Tensor rand(const Shape& shape, double low, double high, DType dtype, Generator& gen) {
  Tensor t = Tensor::empty(shape, dtype);
  uniform_(t, low, high, gen);
  return t;
}

Tensor randn(const Shape& shape, double mean, double stddev, DType dtype, Generator& gen) {
  Tensor t = Tensor::empty(shape, dtype);
  normal_(t, mean, stddev, gen);
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen) {
  Tensor t = Tensor::empty(shape, DType::Int64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = gen.randint(low, high);
  return t;
}

}  // namespace minigrad
