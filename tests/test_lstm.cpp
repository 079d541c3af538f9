// LSTM (nn/lstm.cpp): the fused cell agrees with the composed reference on values
// and gradients, both pass gradcheck, the LSTM module agrees with itself across
// the two paths, and the shapes follow PyTorch (h_n is layer-first even when
// batch_first). PyTorch parity itself is in test_parity_nn.cpp.
#include "minigrad/nn/lstm.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "autograd_testing.h"
#include "examples/common/cli.h"

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
      for (const Tensor& t : in.tensors) v.push_back(Variable(t.clone()).requires_grad_());
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
    a.push_back(Variable(t.to(DType::Float32)).requires_grad_());
    b.push_back(Variable(t.to(DType::Float32)).requires_grad_());
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
    a.push_back(Variable(t.clone()).requires_grad_()),
        b.push_back(Variable(t.clone()).requires_grad_());
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
  nn::LSTMCell cell(nn::LSTMCellOptions(3, 4).dtype(DType::Float64), gen);
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
  EXPECT_EQ(nn::LSTMCell(nn::LSTMCellOptions(3, 4).bias(false)).extra_repr(), "3, 4, bias=false");
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
  r.x = Variable(x.clone()).requires_grad_();
  if (h0.defined())
    r.h0 = Variable(h0.clone()).requires_grad_(), r.c0 = Variable(c0.clone()).requires_grad_();
  m.zero_grad();
  r.out = m(r.x, {r.h0, r.c0});
  const auto& [h_n, c_n] = r.out.state;
  const Variable loss = sum(r.out.output * Variable(input(r.out.output.shape(), seed))) +
                        sum(h_n * Variable(input(h_n.shape(), seed + 1))) +
                        sum(c_n * Variable(input(c_n.shape(), seed + 2)));
  loss.backward();
  r.param_grads = testing::param_grads(m);
  return r;
}

TEST(LSTM, FusedAndComposedAgree) {
  const int64_t T = 4, B = 3, IN = 2, H = 3, L = 2;
  for (bool batch_first : {false, true}) {
    for (bool with_state : {false, true}) {
      Generator gen(5);
      nn::LSTM m(
          nn::LSTMOptions(IN, H).num_layers(L).batch_first(batch_first).dtype(DType::Float64), gen);
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
      EXPECT_LT(rel_diff(f.out.state.h.data(), c.out.state.h.data()), kTight) << where;
      EXPECT_LT(rel_diff(f.out.state.c.data(), c.out.state.c.data()), kTight) << where;
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
  nn::LSTM m(nn::LSTMOptions(2, 3).bias(false).dtype(DType::Float64), gen);
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
    nn::LSTM m(nn::LSTMOptions(IN, H).num_layers(L).batch_first(batch_first).dtype(DType::Float64));
    const Tensor x = batch_first ? input({B, T, IN}, 1) : input({T, B, IN}, 1);
    const auto [out, state] = m(Variable(x));
    const auto [h_n, c_n] = state;
    EXPECT_EQ(out.shape(), batch_first ? (Shape{B, T, H}) : (Shape{T, B, H}));
    EXPECT_EQ(h_n.shape(), (Shape{L, B, H})) << "batch_first " << batch_first;
    EXPECT_EQ(c_n.shape(), (Shape{L, B, H})) << "batch_first " << batch_first;
    // h_n[-1] (the last layer) is the output's last time step.
    const Tensor last_step = out.data().select(batch_first ? 1 : 0, T - 1);
    EXPECT_EQ(max_abs_diff(h_n.data().select(0, L - 1), last_step), 0.0);
  }
  // batch_first and seq-first give the same numbers for the same weights.
  Generator g1(9), g2(9);
  nn::LSTM a(nn::LSTMOptions(IN, H).num_layers(L).dtype(DType::Float64), g1),
      b(nn::LSTMOptions(IN, H).num_layers(L).batch_first(true).dtype(DType::Float64), g2);
  const Tensor x = input({T, B, IN}, 4);
  const nn::LSTMOutput oa = a(Variable(x)), ob = b(Variable(x.transpose(0, 1)));
  EXPECT_LT(max_abs_diff(oa.output.data(), ob.output.data().transpose(0, 1)), 1e-15);
  EXPECT_LT(max_abs_diff(oa.state.h.data(), ob.state.h.data()), 1e-15);
}

TEST(LSTM, InitialStateIsUsedPerLayer) {
  nn::LSTM m(nn::LSTMOptions(2, 3).num_layers(2).dtype(DType::Float64));
  const Tensor x = input({1, 2, 2}, 1);  // one step
  const Tensor h0 = input({2, 2, 3}, 2), c0 = input({2, 2, 3}, 3);
  const auto [out, state] = m(Variable(x), {Variable(h0), Variable(c0)});
  // Layer 0 is one cell step from (h0[0], c0[0]); layer 1 from (h0[1], c0[1]) on layer 0's h.
  const nn::LSTMState s0 = nn::lstm_cell_composed(
      Variable(x.select(0, 0)), {Variable(h0.select(0, 0)), Variable(c0.select(0, 0))},
      m.weight_ih[0], m.weight_hh[0], m.bias_ih[0], m.bias_hh[0]);
  const nn::LSTMState s1 =
      nn::lstm_cell_composed(s0.h, {Variable(h0.select(0, 1)), Variable(c0.select(0, 1))},
                             m.weight_ih[1], m.weight_hh[1], m.bias_ih[1], m.bias_hh[1]);
  EXPECT_LT(max_abs_diff(state.h.data().select(0, 0), s0.h.data()), 1e-14);
  EXPECT_LT(max_abs_diff(state.c.data().select(0, 1), s1.c.data()), 1e-14);
  EXPECT_LT(max_abs_diff(out.data().select(0, 0), s1.h.data()), 1e-14);
}

TEST(LSTM, ParametersAreNamedAsInPyTorch) {
  nn::LSTM m(nn::LSTMOptions(3, 4).num_layers(2));
  EXPECT_EQ(testing::parameter_names(m),
            (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"}));
  EXPECT_EQ(m.parameter("weight_ih_l1").shape(), (Shape{16, 4}));  // layer 1 reads H, not in
  EXPECT_EQ(m.extra_repr(), "3, 4, num_layers=2");
  const nn::LSTM bf(nn::LSTMOptions(3, 4).batch_first(true).bias(false));
  EXPECT_EQ(bf.extra_repr(), "3, 4, bias=false, batch_first=true");  // PyTorch's order
  EXPECT_EQ(bf.named_parameters().size(), 2u);
}

// A recurrence large enough to be split over threads (blocks of batch rows, each
// through every step) gives the same bits at 1 and 2 threads, forward and backward,
// and still agrees with the composed graph. 34 rows: the last block is short.
TEST(LSTM, RowBlocksOverThreadsGiveTheSameBits) {
  const int64_t T = 16, B = 34, IN = 16, H = 128;  // T·B·4H·H = 2^25.09: split
  for (DType dt : {DType::Float32, DType::Float64}) {
    Generator gen(7);
    nn::LSTM m(nn::LSTMOptions(IN, H).bidirectional(true).dtype(dt), gen);
    const Tensor x = input({T, B, IN}, 1).to(dt);
    const Tensor h0 = input({2, B, H}, 2).to(dt), c0 = input({2, B, H}, 3).to(dt);
    const auto run = [&](int threads, bool fused) {
      const examples::ScopedThreads scoped(threads);
      m.fused = fused;
      return run_lstm(m, x, h0, c0, 20);
    };
    const LstmRun one = run(1, true), two = run(2, true), composed = run(1, false);
    const std::string where = dtype_name(dt);
    EXPECT_EQ(rel_diff(one.out.output.data(), two.out.output.data()), 0.0) << where;
    EXPECT_EQ(rel_diff(one.out.state.h.data(), two.out.state.h.data()), 0.0) << where;
    EXPECT_EQ(rel_diff(one.out.state.c.data(), two.out.state.c.data()), 0.0) << where;
    EXPECT_EQ(rel_diff(one.x.grad(), two.x.grad()), 0.0) << where;
    EXPECT_EQ(rel_diff(one.h0.grad(), two.h0.grad()), 0.0) << where;
    EXPECT_EQ(rel_diff(one.c0.grad(), two.c0.grad()), 0.0) << where;
    ASSERT_EQ(one.param_grads.size(), 8u);
    for (size_t i = 0; i < one.param_grads.size(); ++i)
      EXPECT_EQ(rel_diff(one.param_grads[i].second, two.param_grads[i].second), 0.0)
          << where << ": grad " << one.param_grads[i].first;
    const double tol = dt == DType::Float64 ? kTight : 1e-5;
    EXPECT_LT(rel_diff(two.out.output.data(), composed.out.output.data()), tol) << where;
    EXPECT_LT(rel_diff(two.x.grad(), composed.x.grad()), tol) << where;
    EXPECT_LT(rel_diff(two.h0.grad(), composed.h0.grad()), tol) << where;
    EXPECT_LT(rel_diff(two.c0.grad(), composed.c0.grad()), tol) << where;
    ASSERT_NO_FATAL_FAILURE(
        testing::expect_grads_agree(two.param_grads, composed.param_grads, tol, where));
  }
}

TEST(LSTM, GradcheckBothPaths) {
  for (bool fused : {true, false}) {
    Generator gen(7);
    nn::LSTM m(nn::LSTMOptions(2, 2).num_layers(2).batch_first(true).dtype(DType::Float64), gen);
    m.fused = fused;
    EXPECT_TRUE(grad_ok(
        [&m](const Vars& v) {
          m.weight_hh[1] = v[3];  // one parameter of the top layer as an input too
          const auto [out, state] = m(v[0], {v[1], v[2]});
          return concat({out.reshape({-1}), state.h.reshape({-1}), state.c.reshape({-1})}, 0);
        },
        {input({2, 3, 2}, 1), input({2, 2, 2}, 2), input({2, 2, 2}, 3), m.weight_hh[1].data()}))
        << (fused ? "fused" : "composed");
  }
}

TEST(LSTM, BadShapesThrowWithClearMessages) {
  nn::LSTM seq(nn::LSTMOptions(3, 4).num_layers(2)),
      bf(nn::LSTMOptions(3, 4).num_layers(2).batch_first(true));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        seq.forward(Variable(Tensor::zeros({5, 2})));
      },
      {"LSTM", "[5,2]", "[time, batch, 3]", "unbatched [time, 3]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        bf.forward(Variable(Tensor::zeros({2, 5, 2})));
      },
      {"LSTM", "[2,5,2]", "[batch, time, 3]"}));
  // h0 given batch-first ([B, L, H]) instead of layer-first: the pitfall, named.
  const Variable x(Tensor::zeros({2, 5, 3}));  // B = 2, T = 5
  const Variable h0(Tensor::zeros({2, 2, 4})), wrong(Tensor::zeros({5, 2, 4}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        bf.forward(x, {wrong, h0});
      },
      {"[5,2,4]", "[2,2,4]", "layer-first even when batch_first"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        bf.forward(x, {h0, Variable(Tensor::zeros({2, 2, 3}))});
      },
      {"[2,2,3]", "[num_layers*num_directions, batch, hidden]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        seq.forward(Variable(Tensor::zeros({0, 2, 3})));
      },
      {"LSTM", "empty"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { nn::LSTM(nn::LSTMOptions(3, 4).num_layers(0)); }, {"num_layers", "positive"}));
  // h0 without c0: PyTorch takes the state as a pair, both or neither.
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        bf.forward(x, {h0, Variable()});
      },
      {"LSTM", "both h0 and c0"}));
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([] { nn::LSTM(nn::LSTMOptions(3, 4).proj_size(2)); },
                                         {"LSTM", "proj_size=2", "not implemented"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { nn::LSTM(nn::LSTMOptions(3, 4).dropout(1.5)); }, {"LSTM", "dropout", "[0, 1]"}));
}

// ---- options, callability, bidirectional, unbatched, dropout --------------------------------

TEST(LSTM, OptionsHavePyTorchsDefaults) {
  const nn::LSTMOptions o(3, 4);
  EXPECT_EQ(o.num_layers(), 1);
  EXPECT_TRUE(o.bias());
  EXPECT_FALSE(o.batch_first());
  EXPECT_EQ(o.dropout(), 0.0);
  EXPECT_FALSE(o.bidirectional());
  EXPECT_EQ(o.proj_size(), 0);
  EXPECT_EQ(o.dtype(), DType::Float32);
  const nn::LSTM m(3, 4);  // libtorch's shorthand for LSTMOptions(3, 4)
  EXPECT_EQ(m.options.hidden_size(), 4);
  EXPECT_EQ(m.extra_repr(), "3, 4");
  EXPECT_EQ(nn::LSTMCellOptions(3, 4).bias(), true);
  const nn::LSTM all(
      nn::LSTMOptions(3, 4).num_layers(2).dropout(0.25).bidirectional(true).bias(false));
  EXPECT_EQ(all.extra_repr(), "3, 4, num_layers=2, bias=false, dropout=0.25, bidirectional=true");
}

TEST(LSTMCell, CallableWithStructuredBindingsAndUnbatched) {
  Generator gen(11);
  nn::LSTMCell cell(nn::LSTMCellOptions(3, 4).dtype(DType::Float64), gen);
  const Variable x(input({2, 3}, 1));
  auto [h, c] = cell(x);            // from zeros
  auto [h2, c2] = cell(x, {h, c});  // one more step
  EXPECT_EQ(h2.shape(), (Shape{2, 4}));
  // Unbatched: x [3], states [4] — row 1 of the batched run.
  const auto [hu, cu] = cell(Variable(x.data().select(0, 1)), {h.select(0, 1), c.select(0, 1)});
  EXPECT_EQ(hu.shape(), (Shape{4}));
  EXPECT_LT(max_abs_diff(hu.data(), h2.data().select(0, 1)), 1e-15);
  EXPECT_LT(max_abs_diff(cu.data(), c2.data().select(0, 1)), 1e-15);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        cell(Variable(x.data().select(0, 1)), {h, c});
      },
      {"LSTMCell", "unbatched", "[4]"}));
}

// PyTorch's definition: the reverse direction is an LSTM over x_T..x_1 with the
// _reverse weights, its outputs put back in time order; the output concatenates
// [forward; reverse] on the last axis and h_n holds (l0, l0_reverse, l1, ...).
TEST(LSTM, BidirectionalIsAForwardAndATimeReversedRun) {
  const int64_t T = 4, B = 2, IN = 3, H = 2;
  Generator gen(21);
  nn::LSTM bi(nn::LSTMOptions(IN, H).bidirectional(true).dtype(DType::Float64), gen);
  EXPECT_EQ(testing::parameter_names(bi),
            (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                      "weight_ih_l0_reverse", "weight_hh_l0_reverse",
                                      "bias_ih_l0_reverse", "bias_hh_l0_reverse"}));
  nn::LSTM fwd(nn::LSTMOptions(IN, H).dtype(DType::Float64)),
      rev(nn::LSTMOptions(IN, H).dtype(DType::Float64));
  for (const char* p : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
    fwd.load_state_dict({{std::string(p) + "_l0", bi.parameter(std::string(p) + "_l0").data()}},
                        false);
    rev.load_state_dict(
        {{std::string(p) + "_l0", bi.parameter(std::string(p) + "_l0_reverse").data()}}, false);
  }
  const Tensor x = input({T, B, IN}, 1), h0 = input({2, B, H}, 2), c0 = input({2, B, H}, 3);
  const auto [out, state] = bi(Variable(x), {Variable(h0), Variable(c0)});
  ASSERT_EQ(out.shape(), (Shape{T, B, 2 * H}));
  ASSERT_EQ(state.h.shape(), (Shape{2, B, H}));
  const auto [out_f, state_f] =
      fwd(Variable(x), {Variable(h0.narrow(0, 0, 1)), Variable(c0.narrow(0, 0, 1))});
  // x reversed in time, step by step
  std::vector<Variable> steps;
  for (int64_t t = T - 1; t >= 0; --t) steps.push_back(Variable(x.select(0, t)));
  const auto [out_r, state_r] =
      rev(stack(steps, 0), {Variable(h0.narrow(0, 1, 1)), Variable(c0.narrow(0, 1, 1))});
  for (int64_t t = 0; t < T; ++t) {
    EXPECT_LT(max_abs_diff(out.data().select(0, t).narrow(1, 0, H), out_f.data().select(0, t)),
              1e-15);
    EXPECT_LT(
        max_abs_diff(out.data().select(0, t).narrow(1, H, H), out_r.data().select(0, T - 1 - t)),
        1e-15);
  }
  EXPECT_LT(max_abs_diff(state.h.data().select(0, 0), state_f.h.data().select(0, 0)), 1e-15);
  EXPECT_LT(max_abs_diff(state.h.data().select(0, 1), state_r.h.data().select(0, 0)), 1e-15);
  EXPECT_LT(max_abs_diff(state.c.data().select(0, 1), state_r.c.data().select(0, 0)), 1e-15);
  // Layer 1 of a 2-layer stack reads both directions: [4H, 2H].
  const nn::LSTM two(nn::LSTMOptions(IN, H).num_layers(2).bidirectional(true));
  EXPECT_EQ(two.parameter("weight_ih_l1").shape(), (Shape{4 * H, 2 * H}));
  EXPECT_EQ(two.parameter("weight_ih_l1_reverse").shape(), (Shape{4 * H, 2 * H}));
  EXPECT_EQ(two.named_parameters().size(), 16u);
}

TEST(LSTM, BidirectionalFusedAndComposedAgree) {
  const int64_t T = 4, B = 3, IN = 2, H = 3, L = 2;
  for (bool batch_first : {false, true}) {
    for (bool with_state : {false, true}) {
      Generator gen(25);
      nn::LSTM m(nn::LSTMOptions(IN, H)
                     .num_layers(L)
                     .batch_first(batch_first)
                     .bidirectional(true)
                     .dtype(DType::Float64),
                 gen);
      const Tensor x = batch_first ? input({B, T, IN}, 1) : input({T, B, IN}, 1);
      const Tensor h0 = with_state ? input({2 * L, B, H}, 2) : Tensor();
      const Tensor c0 = with_state ? input({2 * L, B, H}, 3) : Tensor();
      m.fused = true;
      const LstmRun f = run_lstm(m, x, h0, c0, 10);
      m.fused = false;
      const LstmRun c = run_lstm(m, x, h0, c0, 10);
      const std::string where =
          std::string(batch_first ? "batch_first" : "seq_first") + (with_state ? " with h0" : "");
      EXPECT_LT(rel_diff(f.out.output.data(), c.out.output.data()), kTight) << where;
      EXPECT_LT(rel_diff(f.out.state.c.data(), c.out.state.c.data()), kTight) << where;
      EXPECT_LT(rel_diff(f.x.grad(), c.x.grad()), kTight) << where;
      if (with_state) {
        EXPECT_LT(rel_diff(f.c0.grad(), c.c0.grad()), kTight) << where;
      }
      ASSERT_EQ(f.param_grads.size(), 16u);
      ASSERT_NO_FATAL_FAILURE(
          testing::expect_grads_agree(f.param_grads, c.param_grads, kTight, where));
    }
  }
}

TEST(LSTM, GradcheckBidirectionalUnbatchedBothPaths) {
  for (bool fused : {true, false}) {
    Generator gen(27);
    nn::LSTM m(nn::LSTMOptions(2, 2).num_layers(2).bidirectional(true).dtype(DType::Float64), gen);
    m.fused = fused;
    EXPECT_TRUE(grad_ok(
        [&m](const Vars& v) {
          m.weight_ih[3] = v[3];  // weight_ih_l1_reverse, [8, 4]
          const auto [out, state] = m(v[0], {v[1], v[2]});
          return concat({out.reshape({-1}), state.h.reshape({-1}), state.c.reshape({-1})}, 0);
        },
        {input({3, 2}, 1), input({4, 2}, 2), input({4, 2}, 3), m.weight_ih[3].data()}))
        << (fused ? "fused" : "composed");
  }
}

// Unbatched x [T, in] is a batch of one with the batch axis removed, whatever
// batch_first says, and its states are [L·D, H].
TEST(LSTM, UnbatchedIsABatchOfOne) {
  const int64_t T = 3, IN = 2, H = 3, L = 2;
  for (bool batch_first : {false, true}) {
    for (bool bidirectional : {false, true}) {
      const int64_t D = bidirectional ? 2 : 1;
      Generator gen(31);
      nn::LSTM m(nn::LSTMOptions(IN, H)
                     .num_layers(L)
                     .batch_first(batch_first)
                     .bidirectional(bidirectional)
                     .dtype(DType::Float64),
                 gen);
      const Tensor x = input({T, IN}, 1), h0 = input({L * D, H}, 2), c0 = input({L * D, H}, 3);
      const auto [out, state] = m(Variable(x), {Variable(h0), Variable(c0)});
      EXPECT_EQ(out.shape(), (Shape{T, D * H}));
      EXPECT_EQ(state.h.shape(), (Shape{L * D, H}));
      const Variable xb(batch_first ? x.unsqueeze(0) : x.unsqueeze(1));
      const auto [out_b, state_b] = m(xb, {Variable(h0.unsqueeze(1)), Variable(c0.unsqueeze(1))});
      EXPECT_EQ(max_abs_diff(out.data(), out_b.data().select(batch_first ? 0 : 1, 0)), 0.0);
      EXPECT_EQ(max_abs_diff(state.c.data(), state_b.c.data().select(1, 0)), 0.0);
      // A batched (3-D) state with unbatched input is refused, as PyTorch does.
      EXPECT_TRUE(throws_with<std::invalid_argument>(
          [&] {
            m(Variable(x), {Variable(h0.unsqueeze(1)), Variable(c0.unsqueeze(1))});
          },
          {"LSTM", "unbatched"}));
    }
  }
}

// Dropout acts on the outputs of every layer but the last, in training mode only.
TEST(LSTM, DropoutBetweenLayersInTrainingOnly) {
  const Tensor x = input({4, 2, 3}, 1);
  Generator g1(41), g2(41), g3(41);
  nn::LSTM plain(nn::LSTMOptions(3, 5).num_layers(2).dtype(DType::Float64), g1);
  nn::LSTM dropped(nn::LSTMOptions(3, 5).num_layers(2).dropout(0.5).dtype(DType::Float64), g2);
  const Tensor reference = plain(Variable(x)).output.data();
  dropped.eval();
  EXPECT_EQ(max_abs_diff(dropped(Variable(x)).output.data(), reference), 0.0);
  dropped.train();
  const Tensor a = dropped(Variable(x)).output.data(), b = dropped(Variable(x)).output.data();
  EXPECT_GT(max_abs_diff(a, reference), 1e-3);  // a mask was drawn
  EXPECT_GT(max_abs_diff(a, b), 1e-3);          // and a new one for every call
  // One layer: nothing comes after it, so nothing is dropped, even in training.
  nn::LSTM one(nn::LSTMOptions(3, 5).dropout(0.5).dtype(DType::Float64), g3);
  nn::LSTM one_plain(nn::LSTMOptions(3, 5).dtype(DType::Float64));
  one_plain.load_state_dict(one.state_dict());
  EXPECT_EQ(max_abs_diff(one(Variable(x)).output.data(), one_plain(Variable(x)).output.data()),
            0.0);
  // p = 1: layer 1 reads zeros, as if its weight_ih were zero.
  nn::LSTM all(nn::LSTMOptions(3, 5).num_layers(2).dropout(1.0).dtype(DType::Float64));
  nn::LSTM zero_w(nn::LSTMOptions(3, 5).num_layers(2).dtype(DType::Float64));
  zero_w.load_state_dict(all.state_dict());
  zero_w.weight_ih[1] = Variable(Tensor::zeros(zero_w.weight_ih[1].shape(), DType::Float64));
  EXPECT_EQ(max_abs_diff(all(Variable(x)).output.data(), zero_w(Variable(x)).output.data()), 0.0);
}

}  // namespace
}  // namespace minigrad
