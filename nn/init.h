/// \file
/// Parameter initialisers (in place, outside the graph), with PyTorch's formulas:
///
///     fan_in, fan_out of a [out, in, ...] weight: in·receptive, out·receptive
///     xavier_uniform:  U(-a, a), a = gain·√(6 / (fan_in + fan_out))
///     xavier_normal:   N(0, gain·√(2 / (fan_in + fan_out)))
///     kaiming_uniform: U(-b, b), b = gain·√(3 / fan_in),  gain = √(2 / (1 + a²)) for leaky ReLU
///     slope a kaiming_normal:  N(0, gain / √fan_in)
#pragma once

#include "minigrad/tensor/random.h"
#include "minigrad/tensor/tensor.h"

namespace minigrad::nn::init {

void uniform_(Tensor& t, double low, double high, Generator& gen = default_generator());
void normal_(Tensor& t, double mean, double stddev, Generator& gen = default_generator());
void zeros_(Tensor& t);
void ones_(Tensor& t);
void xavier_uniform_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
void xavier_normal_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
void kaiming_uniform_(Tensor& t, double a = 0.0, Generator& gen = default_generator());
void kaiming_normal_(Tensor& t, double a = 0.0, Generator& gen = default_generator());

/// PyTorch's initial value of every RNN, LSTM and GRU weight and bias: a new tensor,
/// U(−k, k) with k = 1/√hidden.
Tensor recurrent_uniform(const Shape& shape, int64_t hidden, DType dtype = DType::Float32,
                         Generator& gen = default_generator());

/// {fan_in, fan_out}; throws for tensors of rank < 2.
std::pair<int64_t, int64_t> fans(const Tensor& t);

}  // namespace minigrad::nn::init
