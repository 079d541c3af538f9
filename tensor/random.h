/// \file
/// Random numbers that are the same on every machine, compiler and thread count.
///
/// std::normal_distribution and friends are implementation-defined, so minigrad
/// draws from its own generator (xoshiro256**, seeded through splitmix64) and
/// builds uniforms and normals from it with fixed formulas. Tensors are filled
/// in row-major order by one thread: same seed, same bits.
#pragma once

#include <cstdint>

#include "minigrad/tensor/tensor.h"

namespace minigrad {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed);
  void seed(uint64_t seed);
  uint64_t next_u64();
  double uniform();  ///< [0, 1) with 53 random bits
  double normal();   ///< standard normal (Box–Muller)
  /// Uniform integer in [low, high).
  int64_t randint(int64_t low, int64_t high);

  /// The whole state as int64 [6]: the four xoshiro256** words, whether a second
  /// Box–Muller normal is waiting, and that normal's bits. A generator given the
  /// state of another draws exactly what the other would have drawn next, which is
  /// what lets a training run resume from a checkpoint bit for bit.
  Tensor state() const;
  /// Throws std::invalid_argument (naming Generator::set_state and the problem) for
  /// anything state() cannot have produced: not int64 [6], a flag other than 0/1,
  /// or an all-zero xoshiro state (the one state it never leaves).
  void set_state(const Tensor& state);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

/// The process-wide generator used when none is passed.
Generator& default_generator();
void manual_seed(uint64_t seed);

/// Uniform in [low, high).
Tensor rand(const Shape& shape, double low = 0.0, double high = 1.0, DType dtype = DType::Float32,
            Generator& gen = default_generator());
/// Normal with the given mean and standard deviation.
Tensor randn(const Shape& shape, double mean = 0.0, double stddev = 1.0,
             DType dtype = DType::Float32, Generator& gen = default_generator());
/// Integers in [low, high), int64.
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen = default_generator());

///@{
/// In place, for initialisers.
void uniform_(Tensor& t, double low, double high, Generator& gen = default_generator());
void normal_(Tensor& t, double mean, double stddev, Generator& gen = default_generator());
///@}

}  // namespace minigrad
