// LSTM (nn/lstm.cpp): the fused cell agrees with the composed reference on values
// and gradients, both pass gradcheck, the LSTM module agrees with itself across
// the two paths, and the shapes follow PyTorch (h_n is layer-first even when
// batch_first). PyTorch parity itself is in test_parity_nn.cpp.
#include "minigrad/nn/lstm.h"

#include <gtest/gtest.h>

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

// The inputs of one cell step: x [B, in], h and c [B, H], W_ih [4H, in], W_hh [4H, H], biases [4H].
struct CellInputs {
  std::vector<Tensor> tensors;  // x, h, c, w_ih, w_hh, b_ih, b_hh
};

CellInputs cell_inputs(int64_t batch, int64_t in, int64_t hidden, uint64_t seed) {
  return {{input({batch, in}, seed), input({batch, hidden}, seed + 1),
           input({batch, hidden}, seed + 2, -2, 2), input({4 * hidden, in}, seed + 3),
           input({4 * hidden, hidden}, seed + 4), input({4 * hidden}, seed + 5),
           input({4 * hidden}, seed + 6)}};
}

using CellFn = nn::LSTMState (*)(const Variable&, const nn::LSTMState&, const Variable&,
                                 const Variable&, const Variable&, const Variable&);

// h and c of one step, side by side: [B, 2H], so gradcheck sees both outputs.
Variable cell_hc(CellFn cell, const Vars& v, bool bias) {
  const nn::LSTMState s =
      cell(v[0], {v[1], v[2]}, v[3], v[4], bias ? v[5] : Variable(), bias ? v[6] : Variable());
  return concat({s.h, s.c}, 1);
}

TEST(LSTMCell, FusedAndComposedAgreeOnValuesAndGradients) {
  for (bool bias : {true, false}) {
    const CellInputs in = cell_inputs(3, 5, 4, bias ? 10 : 20);
    const Tensor gh = input({3, 4}, 30), gc = input({3, 4}, 31);
    std::vector<testing::NamedGrads> grads(2);
    std::vector<nn::LSTMState> states;
    const char* names[] = {"x", "h", "c", "w_ih", "w_hh", "b_ih", "b_hh"};
    for (int path = 0; path < 2; ++path) {
      Vars v;
      for (const Tensor& t : in.tensors) v.emplace_back(t.clone(), true);
      const CellFn cell = path == 0 ? nn::lstm_cell_fused : nn::lstm_cell_composed;
      const nn::LSTMState s =
          cell(v[0], {v[1], v[2]}, v[3], v[4], bias ? v[5] : Variable(), bias ? v[6] : Variable());
      // loss = Σ h·gh + Σ c·gc: both outputs carry a gradient
      (sum(s.h * Variable(gh)) + sum(s.c * Variable(gc))).backward();
      states.push_back(s);
      for (size_t i = 0; i < (bias ? 7u : 5u); ++i)
        grads[static_cast<size_t>(path)].emplace_back(names[i], v[i].grad());
    }
    EXPECT_LT(rel_diff(states[0].h.data(), states[1].h.data()), kTight) << "bias " << bias;
    EXPECT_LT(rel_diff(states[0].c.data(), states[1].c.data()), kTight) << "bias " << bias;
    ASSERT_NO_FATAL_FAILURE(
        testing::expect_grads_agree(grads[0], grads[1], kTight, "bias " + std::to_string(bias)));
  }
}

TEST(LSTMCell, FusedAgreesInFloat32Too) {
  const CellInputs in = cell_inputs(2, 3, 4, 40);
  Vars a, b;
  for (const Tensor& t : in.tensors) {
    a.emplace_back(t.to(DType::Float32), true);
    b.emplace_back(t.to(DType::Float32), true);
  }
  const nn::LSTMState f = nn::lstm_cell_fused(a[0], {a[1], a[2]}, a[3], a[4], a[5], a[6]);
  const nn::LSTMState c = nn::lstm_cell_composed(b[0], {b[1], b[2]}, b[3], b[4], b[5], b[6]);
  EXPECT_EQ(f.h.dtype(), DType::Float32);
  EXPECT_LT(rel_diff(f.h.data(), c.h.data()), 1e-6);
  (sum(f.h) + sum(f.c)).backward();
  (sum(c.h) + sum(c.c)).backward();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LT(rel_diff(a[i].grad(), b[i].grad()), 1e-5) << i;
}

TEST(LSTMCell, GradcheckFused) {
  const CellInputs in = cell_inputs(2, 3, 2, 50);
  EXPECT_TRUE(
      grad_ok([](const Vars& v) { return cell_hc(nn::lstm_cell_fused, v, true); }, in.tensors));
  const std::vector<Tensor> nobias(in.tensors.begin(), in.tensors.begin() + 5);
  EXPECT_TRUE(
      grad_ok([](const Vars& v) { return cell_hc(nn::lstm_cell_fused, v, false); }, nobias));
}

TEST(LSTMCell, GradcheckComposed) {
  const CellInputs in = cell_inputs(2, 3, 2, 60);
  EXPECT_TRUE(
      grad_ok([](const Vars& v) { return cell_hc(nn::lstm_cell_composed, v, true); }, in.tensors));
}

// Large pre-activations saturate the gates; the fused sigmoid must stay finite and exact.
TEST(LSTMCell, SaturatedGatesStayFinite) {
  CellInputs in = cell_inputs(2, 3, 2, 70);
  in.tensors[3] = mul(in.tensors[3], 400.0);  // |z| up to ~1000
  Vars a, b;
  for (const Tensor& t : in.tensors)
    a.emplace_back(t.clone(), true), b.emplace_back(t.clone(), true);
  const nn::LSTMState f = nn::lstm_cell_fused(a[0], {a[1], a[2]}, a[3], a[4], a[5], a[6]);
  const nn::LSTMState c = nn::lstm_cell_composed(b[0], {b[1], b[2]}, b[3], b[4], b[5], b[6]);
  (sum(f.h) + sum(f.c)).backward();
  (sum(c.h) + sum(c.c)).backward();
  EXPECT_TRUE(all_finite(f.h.data()) && all_finite(f.c.data()));
  EXPECT_LT(rel_diff(f.h.data(), c.h.data()), kTight);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(all_finite(a[i].grad())) << i;
    EXPECT_LT(max_abs_diff(a[i].grad(), b[i].grad()), 1e-12) << i;
  }
}

TEST(LSTMCell, ModuleDefaultsToAZeroState) {
  Generator gen(3);
  nn::LSTMCell cell(3, 4, true, DType::Float64, gen);
  EXPECT_EQ(cell.named_parameters().size(), 4u);
  EXPECT_EQ(cell.weight_ih.shape(), (Shape{16, 3}));
  EXPECT_EQ(cell.weight_hh.shape(), (Shape{16, 4}));
  const double bound = 0.5;  // 1/√H
  for (const auto& [name, p] : cell.named_parameters())
    EXPECT_LE(amax(abs(p.data())).item(), bound) << name;
  const Variable x(input({2, 3}, 1));
  const nn::LSTMState zero{Variable(Tensor::zeros({2, 4}, DType::Float64)),
                           Variable(Tensor::zeros({2, 4}, DType::Float64))};
  const nn::LSTMState a = cell.forward(x), b = cell.forward(x, zero);
  EXPECT_EQ(max_abs_diff(a.h.data(), b.h.data()), 0.0);
  EXPECT_EQ(max_abs_diff(a.c.data(), b.c.data()), 0.0);
  cell.fused = false;
  EXPECT_LT(rel_diff(cell.forward(x).h.data(), a.h.data()), kTight);
  EXPECT_EQ(cell.extra_repr(), "3, 4");
  EXPECT_EQ(nn::LSTMCell(3, 4, false).extra_repr(), "3, 4, bias=false");
}

TEST(LSTMCell, BadShapesThrowWithTheShapes) {
  nn::LSTMCell cell(3, 4);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        cell.forward(Variable(Tensor::zeros({2, 5})));
      },
      {"LSTMCell", "[2,5]", "[batch, 3]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        cell.forward(Variable(Tensor::zeros({2, 3, 1})));
      },
      {"LSTMCell", "[2,3,1]"}));
  // a state of the wrong batch size
  const nn::LSTMState bad{Variable(Tensor::zeros({3, 4})), Variable(Tensor::zeros({3, 4}))};
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        cell.forward(Variable(Tensor::zeros({2, 3})), bad);
      },
      {"lstm_cell_fused", "h [3,4]", "h and c [B,H]"}));
  // c missing
  const Variable x(Tensor::zeros({2, 3}));
  const Variable h(Tensor::zeros({2, 4}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        nn::lstm_cell_composed(x, {h, Variable()}, cell.weight_ih, cell.weight_hh, {}, {});
      },
      {"lstm_cell_composed", "c undefined"}));
  // W_hh not [4H, H]
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        nn::lstm_cell_fused(x, {h, h}, cell.weight_ih, Variable(Tensor::zeros({12, 4})), {}, {});
      },
      {"W_hh [12,4]", "W_hh [4H,H]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { nn::LSTMCell(0, 4); }, {"positive"}));
}

// ---- LSTM -----------------------------------------------------------------------------------

struct LstmRun {
  nn::LSTMOutput out;
  Variable x, h0, c0;
  testing::NamedGrads param_grads;
};

// Runs `m` on x (and h0, c0 when given) with loss = Σ out·g + Σ h_n·gh + Σ c_n·gc.
LstmRun run_lstm(nn::LSTM& m, const Tensor& x, const Tensor& h0, const Tensor& c0, uint64_t seed) {
  LstmRun r;
  r.x = Variable(x.clone(), true);
  if (h0.defined()) r.h0 = Variable(h0.clone(), true), r.c0 = Variable(c0.clone(), true);
  m.zero_grad();
  r.out = m.forward(r.x, r.h0, r.c0);
  const Variable loss = sum(r.out.output * Variable(input(r.out.output.shape(), seed))) +
                        sum(r.out.h_n * Variable(input(r.out.h_n.shape(), seed + 1))) +
                        sum(r.out.c_n * Variable(input(r.out.c_n.shape(), seed + 2)));
  loss.backward();
  r.param_grads = testing::param_grads(m);
  return r;
}

TEST(LSTM, FusedAndComposedAgree) {
  const int64_t T = 4, B = 3, IN = 2, H = 3, L = 2;
  for (bool batch_first : {false, true}) {
    for (bool with_state : {false, true}) {
      Generator gen(5);
      nn::LSTM m(IN, H, L, batch_first, true, DType::Float64, gen);
      const Tensor x = batch_first ? input({B, T, IN}, 1) : input({T, B, IN}, 1);
      const Tensor h0 = with_state ? input({L, B, H}, 2) : Tensor();
      const Tensor c0 = with_state ? input({L, B, H}, 3) : Tensor();
      m.fused = true;
      const LstmRun f = run_lstm(m, x, h0, c0, 10);
      m.fused = false;
      const LstmRun c = run_lstm(m, x, h0, c0, 10);
      const std::string where =
          std::string(batch_first ? "batch_first" : "seq_first") + (with_state ? " with h0" : "");
      EXPECT_LT(rel_diff(f.out.output.data(), c.out.output.data()), kTight) << where;
      EXPECT_LT(rel_diff(f.out.h_n.data(), c.out.h_n.data()), kTight) << where;
      EXPECT_LT(rel_diff(f.out.c_n.data(), c.out.c_n.data()), kTight) << where;
      EXPECT_LT(rel_diff(f.x.grad(), c.x.grad()), kTight) << where;
      if (with_state) {
        EXPECT_LT(rel_diff(f.h0.grad(), c.h0.grad()), kTight) << where;
        EXPECT_LT(rel_diff(f.c0.grad(), c.c0.grad()), kTight) << where;
      }
      ASSERT_EQ(f.param_grads.size(), 8u);
      ASSERT_NO_FATAL_FAILURE(
          testing::expect_grads_agree(f.param_grads, c.param_grads, kTight, where));
    }
  }
}

// Without biases the whole-sequence kernel reads no bias at all; it still agrees.
TEST(LSTM, FusedAndComposedAgreeWithoutBias) {
  Generator gen(6);
  nn::LSTM m(2, 3, 1, false, /*bias=*/false, DType::Float64, gen);
  const Tensor x = input({5, 2, 2}, 1), h0 = input({1, 2, 3}, 2), c0 = input({1, 2, 3}, 3);
  m.fused = true;
  const LstmRun f = run_lstm(m, x, h0, c0, 10);
  m.fused = false;
  const LstmRun c = run_lstm(m, x, h0, c0, 10);
  EXPECT_LT(rel_diff(f.out.output.data(), c.out.output.data()), kTight);
  EXPECT_LT(rel_diff(f.x.grad(), c.x.grad()), kTight);
  EXPECT_LT(rel_diff(f.h0.grad(), c.h0.grad()), kTight);
  EXPECT_LT(rel_diff(f.c0.grad(), c.c0.grad()), kTight);
  ASSERT_EQ(f.param_grads.size(), 2u);
  ASSERT_NO_FATAL_FAILURE(
      testing::expect_grads_agree(f.param_grads, c.param_grads, kTight, "no bias"));
}

// The documented pitfall: batch_first changes x and output, never h_n and c_n.
TEST(LSTM, FinalStatesAreLayerFirstEvenWithBatchFirst) {
  const int64_t T = 5, B = 3, IN = 2, H = 4, L = 2;  // all different, so a swap shows
  for (bool batch_first : {false, true}) {
    nn::LSTM m(IN, H, L, batch_first, true, DType::Float64);
    const Tensor x = batch_first ? input({B, T, IN}, 1) : input({T, B, IN}, 1);
    const nn::LSTMOutput out = m.forward(Variable(x));
    EXPECT_EQ(out.output.shape(), batch_first ? (Shape{B, T, H}) : (Shape{T, B, H}));
    EXPECT_EQ(out.h_n.shape(), (Shape{L, B, H})) << "batch_first " << batch_first;
    EXPECT_EQ(out.c_n.shape(), (Shape{L, B, H})) << "batch_first " << batch_first;
    // h_n[-1] (the last layer) is the output's last time step.
    const Tensor last_step = out.output.data().select(batch_first ? 1 : 0, T - 1);
    EXPECT_EQ(max_abs_diff(out.h_n.data().select(0, L - 1), last_step), 0.0);
  }
  // batch_first and seq-first give the same numbers for the same weights.
  Generator g1(9), g2(9);
  nn::LSTM a(IN, H, L, false, true, DType::Float64, g1),
      b(IN, H, L, true, true, DType::Float64, g2);
  const Tensor x = input({T, B, IN}, 4);
  const nn::LSTMOutput oa = a.forward(Variable(x)), ob = b.forward(Variable(x.transpose(0, 1)));
  EXPECT_LT(max_abs_diff(oa.output.data(), ob.output.data().transpose(0, 1)), 1e-15);
  EXPECT_LT(max_abs_diff(oa.h_n.data(), ob.h_n.data()), 1e-15);
}

TEST(LSTM, InitialStateIsUsedPerLayer) {
  nn::LSTM m(2, 3, 2, false, true, DType::Float64);
  const Tensor x = input({1, 2, 2}, 1);  // one step
  const Tensor h0 = input({2, 2, 3}, 2), c0 = input({2, 2, 3}, 3);
  const nn::LSTMOutput out = m.forward(Variable(x), Variable(h0), Variable(c0));
  // Layer 0 is one cell step from (h0[0], c0[0]); layer 1 from (h0[1], c0[1]) on layer 0's h.
  const nn::LSTMState s0 = nn::lstm_cell_composed(
      Variable(x.select(0, 0)), {Variable(h0.select(0, 0)), Variable(c0.select(0, 0))},
      m.weight_ih[0], m.weight_hh[0], m.bias_ih[0], m.bias_hh[0]);
  const nn::LSTMState s1 =
      nn::lstm_cell_composed(s0.h, {Variable(h0.select(0, 1)), Variable(c0.select(0, 1))},
                             m.weight_ih[1], m.weight_hh[1], m.bias_ih[1], m.bias_hh[1]);
  EXPECT_LT(max_abs_diff(out.h_n.data().select(0, 0), s0.h.data()), 1e-14);
  EXPECT_LT(max_abs_diff(out.c_n.data().select(0, 1), s1.c.data()), 1e-14);
  EXPECT_LT(max_abs_diff(out.output.data().select(0, 0), s1.h.data()), 1e-14);
}

TEST(LSTM, ParametersAreNamedAsInPyTorch) {
  nn::LSTM m(3, 4, 2);
  EXPECT_EQ(testing::parameter_names(m),
            (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"}));
  EXPECT_EQ(m.parameter("weight_ih_l1").shape(), (Shape{16, 4}));  // layer 1 reads H, not in
  EXPECT_EQ(m.extra_repr(), "3, 4, num_layers=2");
  EXPECT_EQ(nn::LSTM(3, 4, 1, true, false).extra_repr(), "3, 4, batch_first=true, bias=false");
  EXPECT_EQ(nn::LSTM(3, 4, 1, true, false).named_parameters().size(), 2u);
}

TEST(LSTM, GradcheckBothPaths) {
  for (bool fused : {true, false}) {
    Generator gen(7);
    nn::LSTM m(2, 2, 2, /*batch_first=*/true, true, DType::Float64, gen);
    m.fused = fused;
    EXPECT_TRUE(grad_ok(
        [&m](const Vars& v) {
          m.weight_hh[1] = v[3];  // one parameter of the top layer as an input too
          const nn::LSTMOutput out = m.forward(v[0], v[1], v[2]);
          return concat({out.output.reshape({-1}), out.h_n.reshape({-1}), out.c_n.reshape({-1})},
                        0);
        },
        {input({2, 3, 2}, 1), input({2, 2, 2}, 2), input({2, 2, 2}, 3), m.weight_hh[1].data()}))
        << (fused ? "fused" : "composed");
  }
}

TEST(LSTM, BadShapesThrowWithClearMessages) {
  nn::LSTM seq(3, 4, 2, false), bf(3, 4, 2, true);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        seq.forward(Variable(Tensor::zeros({5, 3})));
      },
      {"LSTM", "[5,3]", "[time, batch, 3]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        bf.forward(Variable(Tensor::zeros({2, 5, 2})));
      },
      {"LSTM", "[2,5,2]", "[batch, time, 3]"}));
  // h0 given batch-first ([B, L, H]) instead of layer-first: the pitfall, named.
  const Variable x(Tensor::zeros({2, 5, 3}));  // B = 2, T = 5
  const Variable h0(Tensor::zeros({2, 2, 4})), wrong(Tensor::zeros({5, 2, 4}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { bf.forward(x, wrong, h0); },
      {"[5,2,4]", "[2,2,4]", "layer-first even when batch_first"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        bf.forward(x, h0, Variable(Tensor::zeros({2, 2, 3})));
      },
      {"[2,2,3]", "[num_layers, batch, hidden]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        seq.forward(Variable(Tensor::zeros({0, 2, 3})));
      },
      {"LSTM", "empty"}));
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([] { nn::LSTM(3, 4, 0); }, {"num_layers", "positive"}));
}

}  // namespace
}  // namespace minigrad
