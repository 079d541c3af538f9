// GRU (nn/gru.cpp): the fused cell agrees with the composed reference on values
// and gradients, both pass gradcheck, the composed cell is the equations of gru.h
// written out element by element, the GRU module agrees with itself across the
// two paths, and the shapes follow PyTorch (h_n is layer-first even when
// batch_first). PyTorch parity itself is in test_parity_nn.cpp.
#include "minigrad/nn/gru.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd_testing.h"

namespace minigrad {
namespace {

using testing::grad_ok;
using testing::input;
using testing::rel_diff;
using testing::throws_with;
using testing::Vars;

constexpr double kTight = 1e-13;  // float64: the two paths differ only in rounding

// The inputs of one cell step: x [B, in], h [B, H], W_ih [3H, in], W_hh [3H, H], biases [3H].
std::vector<Tensor> cell_inputs(int64_t batch, int64_t in, int64_t hidden, uint64_t seed) {
  return {input({batch, in}, seed),          input({batch, hidden}, seed + 1),
          input({3 * hidden, in}, seed + 2), input({3 * hidden, hidden}, seed + 3),
          input({3 * hidden}, seed + 4),     input({3 * hidden}, seed + 5)};
}

using CellFn = Variable (*)(const Variable&, const Variable&, const Variable&, const Variable&,
                            const Variable&, const Variable&);

Variable run_cell(CellFn cell, const Vars& v, bool bias) {
  return cell(v[0], v[1], v[2], v[3], bias ? v[4] : Variable(), bias ? v[5] : Variable());
}

// The equations of gru.h, one element at a time in plain double arithmetic.
double sigm(double v) { return 1.0 / (1.0 + std::exp(-v)); }
Tensor gru_by_hand(const std::vector<Tensor>& t) {
  const Tensor &x = t[0], &h = t[1], &wi = t[2], &wh = t[3], &bi = t[4], &bh = t[5];
  const int64_t batch = x.size(0), in = x.size(1), hidden = h.size(1);
  Tensor out = Tensor::zeros({batch, hidden}, DType::Float64);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t j = 0; j < hidden; ++j) {
      // a[k] = W_i{k} x + b_i{k}, c[k] = W_h{k} h + b_h{k}, k = r, z, n
      double a[3], c[3];
      for (int k = 0; k < 3; ++k) {
        const int64_t row = k * hidden + j;
        a[k] = bi.at({row});
        c[k] = bh.at({row});
        for (int64_t e = 0; e < in; ++e) a[k] += wi.at({row, e}) * x.at({b, e});
        for (int64_t e = 0; e < hidden; ++e) c[k] += wh.at({row, e}) * h.at({b, e});
      }
      const double r = sigm(a[0] + c[0]), z = sigm(a[1] + c[1]);
      const double n = std::tanh(a[2] + r * c[2]);
      out.data<double>()[b * hidden + j] = (1 - z) * n + z * h.at({b, j});
    }
  }
  return out;
}

TEST(GRUCell, ComposedIsTheEquationsOfTheHeader) {
  const std::vector<Tensor> in = cell_inputs(3, 4, 5, 1);
  Vars v;
  for (const Tensor& t : in) v.emplace_back(t);
  const Tensor want = gru_by_hand(in);
  EXPECT_LT(rel_diff(run_cell(nn::gru_cell_composed, v, true).data(), want), kTight);
  EXPECT_LT(rel_diff(run_cell(nn::gru_cell_fused, v, true).data(), want), kTight);
}

TEST(GRUCell, FusedAndComposedAgreeOnValuesAndGradients) {
  for (bool bias : {true, false}) {
    const std::vector<Tensor> in = cell_inputs(3, 5, 4, bias ? 10 : 20);
    const Tensor gy = input({3, 4}, 30);
    std::vector<testing::NamedGrads> grads(2);
    std::vector<Tensor> outs;
    const char* names[] = {"x", "h", "w_ih", "w_hh", "b_ih", "b_hh"};
    for (int path = 0; path < 2; ++path) {
      Vars v;
      for (const Tensor& t : in) v.push_back(Variable(t.clone()).requires_grad_());
      const Variable h = run_cell(path == 0 ? nn::gru_cell_fused : nn::gru_cell_composed, v, bias);
      sum(h * Variable(gy)).backward();  // loss = Σ h'·gy
      outs.push_back(h.data());
      for (size_t i = 0; i < (bias ? 6u : 4u); ++i)
        grads[static_cast<size_t>(path)].emplace_back(names[i], v[i].grad());
    }
    EXPECT_LT(rel_diff(outs[0], outs[1]), kTight) << "bias " << bias;
    ASSERT_NO_FATAL_FAILURE(
        testing::expect_grads_agree(grads[0], grads[1], kTight, "bias " + std::to_string(bias)));
  }
}

TEST(GRUCell, FusedAgreesInFloat32Too) {
  const std::vector<Tensor> in = cell_inputs(2, 3, 4, 40);
  Vars a, b;
  for (const Tensor& t : in) {
    a.push_back(Variable(t.to(DType::Float32)).requires_grad_());
    b.push_back(Variable(t.to(DType::Float32)).requires_grad_());
  }
  const Variable f = run_cell(nn::gru_cell_fused, a, true);
  const Variable c = run_cell(nn::gru_cell_composed, b, true);
  EXPECT_EQ(f.dtype(), DType::Float32);
  EXPECT_LT(rel_diff(f.data(), c.data()), 1e-6);
  sum(f).backward();
  sum(c).backward();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LT(rel_diff(a[i].grad(), b[i].grad()), 1e-5) << i;
}

// [extending:gru-gradcheck]
TEST(GRUCell, GradcheckComposedAndFused) {
  const std::vector<Tensor> in = cell_inputs(2, 3, 2, 50);  // float64: gradcheck insists
  for (CellFn cell : {nn::gru_cell_composed, nn::gru_cell_fused}) {
    EXPECT_TRUE(grad_ok([cell](const Vars& v) { return run_cell(cell, v, true); }, in));
    const std::vector<Tensor> nobias(in.begin(), in.begin() + 4);
    EXPECT_TRUE(grad_ok([cell](const Vars& v) { return run_cell(cell, v, false); }, nobias));
  }
}
// [/extending:gru-gradcheck]

// Large pre-activations saturate the gates; the fused sigmoid must stay finite and exact.
TEST(GRUCell, SaturatedGatesStayFinite) {
  std::vector<Tensor> in = cell_inputs(2, 3, 2, 70);
  in[2] = mul(in[2], 400.0);  // |W_ih x| up to ~1000
  Vars a, b;
  for (const Tensor& t : in)
    a.push_back(Variable(t.clone()).requires_grad_()),
        b.push_back(Variable(t.clone()).requires_grad_());
  const Variable f = run_cell(nn::gru_cell_fused, a, true);
  const Variable c = run_cell(nn::gru_cell_composed, b, true);
  sum(f).backward();
  sum(c).backward();
  EXPECT_TRUE(all_finite(f.data()));
  EXPECT_LT(rel_diff(f.data(), c.data()), kTight);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(all_finite(a[i].grad())) << i;
    EXPECT_LT(max_abs_diff(a[i].grad(), b[i].grad()), 1e-12) << i;
  }
}

TEST(GRUCell, ModuleDefaultsToAZeroStateAndHasPyTorchsParameters) {
  Generator gen(3);
  nn::GRUCell cell(nn::GRUCellOptions(3, 4).dtype(DType::Float64), gen);
  EXPECT_EQ(testing::parameter_names(cell),
            (std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}));
  EXPECT_EQ(cell.weight_ih.shape(), (Shape{12, 3}));
  EXPECT_EQ(cell.weight_hh.shape(), (Shape{12, 4}));
  EXPECT_EQ(cell.bias_hh.shape(), (Shape{12}));
  const double bound = 0.5;  // 1/√H
  for (const auto& [name, p] : cell.named_parameters()) {
    EXPECT_LE(amax(abs(p.data())).item(), bound) << name;
    EXPECT_GT(amax(abs(p.data())).item(), 0.3) << name << ": U(-0.5, 0.5) should reach near 0.5";
  }
  const Variable x(input({2, 3}, 1));
  const Variable zero(Tensor::zeros({2, 4}, DType::Float64));
  const Variable a = cell(x), b = cell(x, zero);
  EXPECT_EQ(a.shape(), (Shape{2, 4}));
  EXPECT_EQ(max_abs_diff(a.data(), b.data()), 0.0);
  cell.fused = false;
  EXPECT_LT(rel_diff(cell.forward(x).data(), a.data()), kTight);
  EXPECT_EQ(cell.extra_repr(), "3, 4");
  const nn::GRUCell no_bias(nn::GRUCellOptions(3, 4).bias(false));
  EXPECT_EQ(no_bias.extra_repr(), "3, 4, bias=false");
  EXPECT_EQ(no_bias.named_parameters().size(), 2u);
}

TEST(GRUCell, BadShapesThrowWithTheShapes) {
  nn::GRUCell cell(3, 4);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        cell.forward(Variable(Tensor::zeros({2, 5})));
      },
      {"GRUCell", "[2,5]", "[batch, 3]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        cell.forward(Variable(Tensor::zeros({2, 3})), Variable(Tensor::zeros({3, 4})));
      },
      {"gru_cell_fused", "h [3,4]", "h [B,H]"}));
  const Variable x(Tensor::zeros({2, 3})), h(Tensor::zeros({2, 4}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        nn::gru_cell_composed(x, h, cell.weight_ih, Variable(Tensor::zeros({16, 4})), {}, {});
      },
      {"gru_cell_composed", "W_hh [16,4]", "W_hh [3H,H]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        nn::gru_cell_fused(x, h, cell.weight_ih, cell.weight_hh, Variable(Tensor::zeros({4})), {});
      },
      {"gru_cell_fused", "b_ih [4]", "[3H]"}));
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([] { nn::GRUCell(0, 4); }, {"GRUCell", "positive"}));
}

// ---- GRU ------------------------------------------------------------------------------------

struct GruRun {
  nn::GRUOutput out;
  Variable x, h0;
  testing::NamedGrads param_grads;
};

// Runs `m` on x (and h0 when given) with loss = Σ output·g + Σ h_n·gh.
GruRun run_gru(nn::GRU& m, const Tensor& x, const Tensor& h0, uint64_t seed) {
  GruRun r;
  r.x = Variable(x.clone()).requires_grad_();
  if (h0.defined()) r.h0 = Variable(h0.clone()).requires_grad_();
  m.zero_grad();
  r.out = m(r.x, r.h0);
  (sum(r.out.output * Variable(input(r.out.output.shape(), seed))) +
   sum(r.out.h_n * Variable(input(r.out.h_n.shape(), seed + 1))))
      .backward();
  r.param_grads = testing::param_grads(m);
  return r;
}

TEST(GRU, FusedAndComposedAgree) {
  const int64_t T = 4, B = 3, IN = 2, H = 3, L = 2;
  for (bool batch_first : {false, true}) {
    for (bool with_state : {false, true}) {
      Generator gen(5);
      nn::GRU m(nn::GRUOptions(IN, H).num_layers(L).batch_first(batch_first).dtype(DType::Float64),
                gen);
      const Tensor x = batch_first ? input({B, T, IN}, 1) : input({T, B, IN}, 1);
      const Tensor h0 = with_state ? input({L, B, H}, 2) : Tensor();
      m.fused = true;
      const GruRun f = run_gru(m, x, h0, 10);
      m.fused = false;
      const GruRun c = run_gru(m, x, h0, 10);
      const std::string where =
          std::string(batch_first ? "batch_first" : "seq_first") + (with_state ? " with h0" : "");
      EXPECT_LT(rel_diff(f.out.output.data(), c.out.output.data()), kTight) << where;
      EXPECT_LT(rel_diff(f.out.h_n.data(), c.out.h_n.data()), kTight) << where;
      EXPECT_LT(rel_diff(f.x.grad(), c.x.grad()), kTight) << where;
      if (with_state) {
        EXPECT_LT(rel_diff(f.h0.grad(), c.h0.grad()), kTight) << where;
      }
      ASSERT_EQ(f.param_grads.size(), 8u);
      ASSERT_NO_FATAL_FAILURE(
          testing::expect_grads_agree(f.param_grads, c.param_grads, kTight, where));
    }
  }
}

TEST(GRU, FinalStateIsLayerFirstEvenWithBatchFirst) {
  const int64_t T = 5, B = 3, IN = 2, H = 4, L = 2;  // all different, so a swap shows
  for (bool batch_first : {false, true}) {
    nn::GRU m(nn::GRUOptions(IN, H).num_layers(L).batch_first(batch_first).dtype(DType::Float64));
    const Tensor x = batch_first ? input({B, T, IN}, 1) : input({T, B, IN}, 1);
    const auto [out, h_n] = m(Variable(x));
    EXPECT_EQ(out.shape(), batch_first ? (Shape{B, T, H}) : (Shape{T, B, H}));
    EXPECT_EQ(h_n.shape(), (Shape{L, B, H})) << "batch_first " << batch_first;
    const Tensor last_step = out.data().select(batch_first ? 1 : 0, T - 1);
    EXPECT_EQ(max_abs_diff(h_n.data().select(0, L - 1), last_step), 0.0);
  }
}

TEST(GRU, InitialStateIsUsedPerLayer) {
  nn::GRU m(nn::GRUOptions(2, 3).num_layers(2).dtype(DType::Float64));
  const Tensor x = input({1, 2, 2}, 1);  // one step
  const Tensor h0 = input({2, 2, 3}, 2);
  const nn::GRUOutput out = m(Variable(x), Variable(h0));
  // Layer 0 is one cell step from h0[0]; layer 1 from h0[1] on layer 0's h.
  const Variable s0 =
      nn::gru_cell_composed(Variable(x.select(0, 0)), Variable(h0.select(0, 0)), m.weight_ih[0],
                            m.weight_hh[0], m.bias_ih[0], m.bias_hh[0]);
  const Variable s1 = nn::gru_cell_composed(s0, Variable(h0.select(0, 1)), m.weight_ih[1],
                                            m.weight_hh[1], m.bias_ih[1], m.bias_hh[1]);
  EXPECT_LT(max_abs_diff(out.h_n.data().select(0, 0), s0.data()), 1e-14);
  EXPECT_LT(max_abs_diff(out.h_n.data().select(0, 1), s1.data()), 1e-14);
  EXPECT_LT(max_abs_diff(out.output.data().select(0, 0), s1.data()), 1e-14);
}

TEST(GRU, ParametersAreNamedAsInPyTorch) {
  nn::GRU m(nn::GRUOptions(3, 4).num_layers(2));
  EXPECT_EQ(testing::parameter_names(m),
            (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"}));
  EXPECT_EQ(m.parameter("weight_ih_l0").shape(), (Shape{12, 3}));
  EXPECT_EQ(m.parameter("weight_ih_l1").shape(), (Shape{12, 4}));  // layer 1 reads H, not in
  EXPECT_EQ(m.extra_repr(), "3, 4, num_layers=2");
  const nn::GRU bf(nn::GRUOptions(3, 4).batch_first(true).bias(false));
  EXPECT_EQ(bf.extra_repr(), "3, 4, bias=false, batch_first=true");  // PyTorch's order
  EXPECT_EQ(bf.named_parameters().size(), 2u);
}

// One and two layers, both layouts, with an initial state; a parameter of the top
// layer is an input too, so gradcheck covers the weights' gradients.
TEST(GRU, GradcheckOneAndTwoLayersBothLayouts) {
  for (int64_t layers : {1, 2}) {
    for (bool batch_first : {false, true}) {
      for (bool fused : {true, false}) {
        Generator gen(7);
        nn::GRU m(
            nn::GRUOptions(2, 2).num_layers(layers).batch_first(batch_first).dtype(DType::Float64),
            gen);
        m.fused = fused;
        const auto top = static_cast<size_t>(layers - 1);
        const Tensor x = batch_first ? input({2, 3, 2}, 1) : input({3, 2, 2}, 1);
        EXPECT_TRUE(grad_ok(
            [&m, top](const Vars& v) {
              m.weight_hh[top] = v[2];
              m.bias_ih[0] = v[3];
              const nn::GRUOutput out = m(v[0], v[1]);
              return concat({out.output.reshape({-1}), out.h_n.reshape({-1})}, 0);
            },
            {x, input({layers, 2, 2}, 2), m.weight_hh[top].data(), m.bias_ih[0].data()}))
            << layers << " layer(s), " << (batch_first ? "batch_first" : "seq_first") << ", "
            << (fused ? "fused" : "composed");
      }
    }
  }
}

TEST(GRU, BadShapesThrowWithClearMessages) {
  nn::GRU seq(nn::GRUOptions(3, 4).num_layers(2)),
      bf(nn::GRUOptions(3, 4).num_layers(2).batch_first(true));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        seq.forward(Variable(Tensor::zeros({5, 2})));
      },
      {"GRU", "[5,2]", "[time, batch, 3]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        bf.forward(Variable(Tensor::zeros({2, 5, 2})));
      },
      {"GRU", "[2,5,2]", "[batch, time, 3]"}));
  // h0 given batch-first ([B, L, H]) instead of layer-first: the pitfall, named.
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        bf.forward(Variable(Tensor::zeros({5, 2, 3})), Variable(Tensor::zeros({5, 2, 4})));
      },
      {"[5,2,4]", "[2,5,4]", "layer-first even when batch_first"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        seq.forward(Variable(Tensor::zeros({0, 2, 3})));
      },
      {"GRU", "empty"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { nn::GRU(nn::GRUOptions(3, 4).num_layers(0)); }, {"num_layers", "positive"}));
}

// ---- options, callability, bidirectional, unbatched -----------------------------------------

TEST(GRU, OptionsCallabilityAndUnbatchedCell) {
  const nn::GRUOptions o(3, 4);
  EXPECT_EQ(o.num_layers(), 1);
  EXPECT_FALSE(o.batch_first());
  EXPECT_FALSE(o.bidirectional());
  Generator gen(12);
  nn::GRUCell cell(nn::GRUCellOptions(3, 4).dtype(DType::Float64), gen);
  const Variable x(input({2, 3}, 1));
  Variable h = cell(x);  // the base's single-Variable call: from zeros
  h = cell(x, h);
  const Variable hu = cell(Variable(x.data().select(0, 0)), cell(x).select(0, 0));
  EXPECT_EQ(hu.shape(), (Shape{4}));
  EXPECT_LT(max_abs_diff(hu.data(), h.data().select(0, 0)), 1e-15);
  nn::GRU gru(nn::GRUOptions(3, 4).dtype(DType::Float64));
  auto [out, h_n] = gru(Variable(input({5, 2, 3}, 2)));
  EXPECT_EQ(out.shape(), (Shape{5, 2, 4}));
  EXPECT_EQ(h_n.shape(), (Shape{1, 2, 4}));
}

TEST(GRU, BidirectionalNamesShapesAndBothPathsAgree) {
  const int64_t T = 4, B = 3, IN = 2, H = 3, L = 2;
  for (bool batch_first : {false, true}) {
    Generator gen(26);
    nn::GRU m(nn::GRUOptions(IN, H)
                  .num_layers(L)
                  .batch_first(batch_first)
                  .bidirectional(true)
                  .dtype(DType::Float64),
              gen);
    EXPECT_EQ(m.named_parameters()[4].first, "weight_ih_l0_reverse");
    EXPECT_EQ(m.parameter("weight_hh_l1_reverse").shape(), (Shape{3 * H, H}));
    EXPECT_EQ(m.parameter("weight_ih_l1").shape(), (Shape{3 * H, 2 * H}));
    const Tensor x = batch_first ? input({B, T, IN}, 1) : input({T, B, IN}, 1);
    const Tensor h0 = input({2 * L, B, H}, 2);
    m.fused = true;
    const GruRun f = run_gru(m, x, h0, 10);
    m.fused = false;
    const GruRun c = run_gru(m, x, h0, 10);
    EXPECT_EQ(f.out.output.shape(), batch_first ? (Shape{B, T, 2 * H}) : (Shape{T, B, 2 * H}));
    EXPECT_EQ(f.out.h_n.shape(), (Shape{2 * L, B, H}));
    // The forward half of the last step and the reverse half of the first step are
    // the last layer's final states.
    const Tensor o = batch_first ? f.out.output.data().transpose(0, 1) : f.out.output.data();
    EXPECT_EQ(max_abs_diff(o.select(0, T - 1).narrow(1, 0, H), f.out.h_n.data().select(0, 2)), 0.0);
    EXPECT_EQ(max_abs_diff(o.select(0, 0).narrow(1, H, H), f.out.h_n.data().select(0, 3)), 0.0);
    EXPECT_LT(rel_diff(f.out.output.data(), c.out.output.data()), kTight);
    EXPECT_LT(rel_diff(f.out.h_n.data(), c.out.h_n.data()), kTight);
    EXPECT_LT(rel_diff(f.x.grad(), c.x.grad()), kTight);
    EXPECT_LT(rel_diff(f.h0.grad(), c.h0.grad()), kTight);
    ASSERT_NO_FATAL_FAILURE(testing::expect_grads_agree(f.param_grads, c.param_grads, kTight,
                                                        batch_first ? "batch_first" : "seq"));
  }
}

TEST(GRU, GradcheckBidirectionalUnbatched) {
  for (bool fused : {true, false}) {
    Generator gen(28);
    nn::GRU m(nn::GRUOptions(2, 2).num_layers(2).bidirectional(true).dtype(DType::Float64), gen);
    m.fused = fused;
    EXPECT_TRUE(grad_ok(
        [&m](const Vars& v) {
          m.weight_hh[1] = v[2];  // weight_hh_l0_reverse
          const auto [out, h_n] = m(v[0], v[1]);
          return concat({out.reshape({-1}), h_n.reshape({-1})}, 0);
        },
        {input({3, 2}, 1), input({4, 2}, 2), m.weight_hh[1].data()}))
        << (fused ? "fused" : "composed");
  }
}

}  // namespace
}  // namespace minigrad
