// Fits y = 3x - 1 with one Linear layer: if this links and converges, the
// installed package is complete (headers, library, OpenMP dependency).
#include <cmath>
#include <cstdio>

#include <minigrad/minigrad.h>
#include <minigrad/nn/layers.h>

int main() {
  using namespace minigrad;
  nn::Linear fit(1, 1);
  const Variable x(Tensor::arange(-1, 1, 0.125).reshape({-1, 1}));
  const Variable y = x * 3.0 - 1.0;
  nn::SGD sgd(fit.parameters(), nn::SGDOptions(0.3));
  double loss = 0;
  for (int step = 0; step < 200; ++step) {
    sgd.zero_grad();
    Variable l = nn::mse_loss(fit(x), y);
    l.backward();
    sgd.step();
    loss = l.item();
  }
  std::printf("consumer: loss %.2e, w %.4f, b %.4f\n", loss, fit.weight.item(), fit.bias.item());
  return loss < 1e-6 && std::abs(fit.weight.item() - 3.0) < 1e-3 ? 0 : 1;
}
