// matmul against torch.matmul (fixtures from tools/make_matmul_fixtures.py): every rank
// combination torch accepts (1-D·1-D, matrix·vector, vector·matrix, vectors with
// batches on either side, batched with broadcast batch axes, the fold, empty
// products), with mT(), transposed batch axes and non-contiguous operands, in float64
// and float32; the product and the gradients of both stored operands.
#include <gtest/gtest.h>

#include <string>

#include "parity_testing.h"

namespace minigrad {
namespace {

using testing::load_fixture;
using testing::meta;
using testing::meta_int;
using testing::Parity;

// The view the fixture names ("none", "mT", "t01", "sel"), taken in the graph.
Variable view(const Variable& x, const std::string& how) {
  if (how == "mT") return x.mT();
  if (how == "t01") return x.transpose(0, 1);
  if (how == "sel") return x.select(x.dim() - 1, 0);
  EXPECT_EQ(how, "none");
  return x;
}

class MatmulParity : public ::testing::TestWithParam<std::string> {};

TEST_P(MatmulParity, EveryCase) {
  const std::string variant = GetParam();
  const SafetensorsFile f = load_fixture("matmul", variant);
  const int64_t cases = meta_int(f, "cases");
  ASSERT_GE(cases, 30);
  Parity parity("matmul", testing::dtype_of_variant(variant));
  for (int64_t i = 0; i < cases; ++i) {
    const std::string p = std::to_string(i) + ".";
    const std::string va = meta(f, p + "view_a"), vb = meta(f, p + "view_b");
    const Variable a = Variable(f.at(p + "a")).requires_grad_(),
                   b = Variable(f.at(p + "b")).requires_grad_();
    const Variable out = view(a, va).matmul(view(b, vb));
    const std::string what = "case " + std::to_string(i) + " " + a.shape().str() + "." + va +
                             " @ " + b.shape().str() + "." + vb;
    parity.check(what + " out", out.data(), f.at(p + "out"));
    // the Tensor op on the same views gives the same numbers
    EXPECT_EQ(max_abs_diff(matmul(view(a, va).data(), view(b, vb).data()), out.data()), 0.0)
        << what;
    out.backward(f.at(p + "grad_out"));
    parity.check(what + " grad_a", a.grad(), f.at(p + "grad_a"));
    parity.check(what + " grad_b", b.grad(), f.at(p + "grad_b"));
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, MatmulParity, testing::kVariants);

}  // namespace
}  // namespace minigrad
