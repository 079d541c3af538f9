#include "minigrad/nn/init.h"
#include "minigrad/tensor/check.h"

#include <cmath>
#include <stdexcept>

namespace minigrad::nn::init {

void uniform_(Tensor& t, double low, double high, Generator& gen) {
  minigrad::uniform_(t, low, high, gen);
}
void normal_(Tensor& t, double mean, double stddev, Generator& gen) {
  minigrad::normal_(t, mean, stddev, gen);
}
void zeros_(Tensor& t) { t.fill_(0.0); }

Tensor recurrent_uniform(const Shape& shape, int64_t hidden, DType dtype, Generator& gen) {
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden));
  return rand(shape, -k, k, dtype, gen);
}
void ones_(Tensor& t) { t.fill_(1.0); }

std::pair<int64_t, int64_t> fans(const Tensor& t) {
  MINIGRAD_CHECK(t.dim() >= 2) << "init: fan in and fan out need a tensor of rank ≥ 2, got shape "
                               << t.shape();
  // The product of the sizes past the first two (not numel / (out·in), which
  // divides by zero for a zero-size weight).
  int64_t receptive = 1;
  for (int d = 2; d < t.dim(); ++d) receptive *= t.shape()[d];
  return {t.shape()[1] * receptive, t.shape()[0] * receptive};
}

void xavier_uniform_(Tensor& t, double gain, Generator& gen) {
  const auto [in, out] = fans(t);
  const double a = gain * std::sqrt(6.0 / static_cast<double>(in + out));
  minigrad::uniform_(t, -a, a, gen);
}

void xavier_normal_(Tensor& t, double gain, Generator& gen) {
  const auto [in, out] = fans(t);
  minigrad::normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(in + out)), gen);
}

void kaiming_uniform_(Tensor& t, double a, Generator& gen) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fans(t).first));
  minigrad::uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(Tensor& t, double a, Generator& gen) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  minigrad::normal_(t, 0.0, gain / std::sqrt(static_cast<double>(fans(t).first)), gen);
}

}  // namespace minigrad::nn::init
