// gradcheck itself: it passes correct gradients, catches wrong ones with a
// message that locates the error, and refuses float32.
#include "minigrad/autograd/gradcheck.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "autograd_testing.h"

namespace minigrad {
namespace {

using testing::f64;
using testing::input;
using testing::throws_with;
using testing::Vars;

// y = x², with a backward that is right everywhere except where `wrong` is true,
// where it reports 0 instead of 2x.
Variable square_with_bug(const Variable& x, const Tensor& wrong) {
  const Tensor xd = x.data();
  return record("square_with_bug", mul(xd, xd), {x}, [xd, wrong](const std::vector<Tensor>& gy, Grads& g) {
    g[0] = masked_fill(mul(mul(gy[0], xd), 2.0), wrong, 0.0);
  });
}

TEST(Gradcheck, PassesACorrectBackward) {
  const Tensor none = Tensor::zeros({2, 3}, DType::Bool);
  const GradcheckResult r = gradcheck([none](const Vars& v) { return square_with_bug(v[0], none); }, {input({2, 3}, 1)});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_TRUE(r.message.empty());
}

TEST(Gradcheck, NamesInputElementAndBothValues) {
  // the backward is wrong at element [1,2] only, where x = 1.25: numeric 2.5, analytic 0
  const Tensor x = f64({0.5, -1, 2, 0.75, -0.5, 1.25}, {2, 3});
  const Tensor wrong = Tensor::from_list({0, 0, 0, 0, 0, 1}, {2, 3}, DType::Bool);
  const GradcheckResult r = gradcheck([wrong](const Vars& v) { return square_with_bug(v[0], wrong); }, {x});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(static_cast<bool>(r));
  for (const char* part : {"'square_with_bug'", "input 0 [2,3]", "element [1,2]", "output element [1,2]",
                           "numeric 2.5", "analytic 0"}) {
    EXPECT_NE(r.message.find(part), std::string::npos) << "\"" << r.message << "\" lacks \"" << part << "\"";
  }
}

TEST(Gradcheck, NamesTheSecondInput) {
  const Tensor wrong = Tensor::from_list({0, 1}, {2}, DType::Bool);
  const GradcheckResult r = gradcheck(
      [wrong](const Vars& v) { return v[0] * 3.0 + square_with_bug(v[1], wrong); },
      {f64({1, 2}, {2}), f64({0.5, 1.5}, {2})});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("input 1 [2], element [1]"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("numeric 3"), std::string::npos) << r.message;
}

TEST(Gradcheck, CatchesASmallRelativeError) {
  // a gradient off by 0.1% is a bug, not rounding: float64 central differences
  // are good to ~1e-9 here
  auto slightly_wrong = [](const Vars& v) {
    const Tensor xd = v[0].data();
    return record("slightly_wrong", exp(xd), {v[0]}, [xd](const std::vector<Tensor>& gy, Grads& g) {
      g[0] = mul(mul(gy[0], exp(xd)), 1.001);
    });
  };
  EXPECT_FALSE(gradcheck(slightly_wrong, {input({3}, 2)}).ok);
}

TEST(Gradcheck, RejectsFloat32) {
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { gradcheck([](const Vars& v) { return v[0] * v[1]; }, {input({2}, 3), Tensor::ones({2})}); },
      {"gradcheck", "input 1", "float32", "float64"}));
  // an output that went through float32 is refused too
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        gradcheck(
            [](const Vars& v) {
              return Variable(v[0].data().to(DType::Float32)) *
                     Variable(Tensor::ones({2})).requires_grad_();
            },
            {input({2}, 4)});
      },
      {"gradcheck", "output", "float32"}));
}

TEST(Gradcheck, OutputIndependentOfTheInputs) {
  const GradcheckResult r = gradcheck([](const Vars& v) { return v[0].detach() * 2.0; }, {input({2}, 5)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("does not depend"), std::string::npos) << r.message;
}

TEST(Gradcheck, LeavesTheInputsUntouched) {
  const Tensor x = input({3}, 6);
  const std::vector<double> before = x.to_vector<double>();
  EXPECT_TRUE(gradcheck([](const Vars& v) { return tanh(v[0]); }, {x}).ok);
  EXPECT_EQ(x.to_vector<double>(), before);
}

}  // namespace
}  // namespace minigrad
