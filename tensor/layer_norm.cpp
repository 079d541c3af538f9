// Layer normalisation over the last axes, computed row by row.
#include <sstream>
#include <string>

#include "minigrad/tensor/check.h"
#include "minigrad/tensor/ops.h"

namespace minigrad {

void check_layer_norm(const char* op, const Tensor& x, const std::vector<int64_t>& normalized_shape,
                      const Tensor& weight, const Tensor& bias) {
  const Shape norm(normalized_shape);
  MINIGRAD_CHECK(x.defined()) << op << ": the input is undefined";
  MINIGRAD_CHECK(!normalized_shape.empty())
      << op << ": normalized_shape is empty; it names the trailing dims to normalise over "
      << "(input " << x.shape() << ")";
  const int k = norm.size();
  bool ends_in = x.dim() >= k;
  for (int i = 0; ends_in && i < k; ++i) ends_in = x.shape()[x.dim() - k + i] == norm[i];
  MINIGRAD_CHECK(ends_in) << op << ": input " << x.shape() << " does not end in normalized_shape "
                          << norm << " (expected input of shape [*," << norm.str().substr(1) << ")";
  MINIGRAD_CHECK(is_floating(x.dtype()))
      << op << ": expected a float32 or float64 input, got " << dtype_name(x.dtype());
  for (const auto& [name, t] : {std::pair<const char*, const Tensor&>{"weight", weight},
                                std::pair<const char*, const Tensor&>{"bias", bias}}) {
    if (!t.defined()) continue;
    MINIGRAD_CHECK(t.shape() == norm)
        << op << ": " << name << " " << t.shape() << " must have the shape of normalized_shape "
        << norm << " (input " << x.shape() << ")";
    MINIGRAD_CHECK(t.dtype() == x.dtype())
        << op << ": " << name << " is " << dtype_name(t.dtype()) << ", the input "
        << dtype_name(x.dtype());
  }
}

}  // namespace minigrad
