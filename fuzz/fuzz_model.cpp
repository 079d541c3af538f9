// Fuzz target (c): one forward and backward pass of a small model whose sizes,
// inputs, masks and targets come from the fuzzer:
//
//   tokens [B, T] → Embedding(V, d) → one of
//        SelfAttention(d)              (mask: none, causal, padding, random, or a wrong shape)
//        MultiheadAttention(d, h)      (h need not divide d: then it must refuse)
//        LSTM(d, H, layers, batch_first)  (initial state: none, right, or a wrong shape)
//        LSTMCell(d, H) unrolled over T
//   → Linear(·, V) → logits × scale (up to ±1e4) → cross_entropy(targets, ignore_index)
//
// The harness predicts, from the sizes it drew, which error the pass must raise
// (an id outside the vocabulary: std::out_of_range from Embedding; heads that do
// not divide d, a mask or state of the wrong shape: std::invalid_argument; a
// target outside [0, V): std::out_of_range from cross_entropy) and checks that
// exactly that happens. When no error is due: the loss is finite (NaN only when
// every target is ignored, as documented), every gradient is finite, and in
// float64 the gradient agrees with a central difference along a random
// direction. Any other exception type, crash, sanitizer report or leak aborts.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "minigrad/autograd/functions.h"
#include "minigrad/nn/attention.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/lstm.h"

namespace {

using minigrad::DType;
using minigrad::Generator;
using minigrad::Shape;
using minigrad::Tensor;
using minigrad::Variable;
namespace nn = minigrad::nn;

enum class Outcome { Ok, InvalidArgument, OutOfRange };
const char* name(Outcome o) {
  return o == Outcome::Ok                ? "success"
         : o == Outcome::InvalidArgument ? "std::invalid_argument"
                                         : "std::out_of_range";
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_model: INVARIANT BROKEN: %s\n", what.c_str());
  std::abort();
}

struct Config {
  int kind = 0;  // 0 SelfAttention, 1 MultiheadAttention, 2 LSTM, 3 LSTMCell
  int64_t batch = 1, steps = 1, vocab = 2, d_model = 2, heads = 1, hidden = 1, layers = 1;
  bool batch_first = false, f64 = false, bias = true;
  double scale = 1.0;
  int mask_kind = 0;             // attention: 0 none, 1 causal, 2 padding, 3 random, 4 wrong shape
  int state_kind = 0;            // LSTM: 0 none, 1 given, 2 wrong shape
  std::vector<int64_t> lengths;  // padding mask
  Tensor tokens, targets, random_mask;
  bool all_ignored = true;
  Outcome expected = Outcome::Ok;
};

// The model: embedding, core, readout.
struct Model {
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::SelfAttention> self_att;
  std::shared_ptr<nn::MultiheadAttention> mha;
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::LSTMCell> cell;
  std::shared_ptr<nn::Linear> readout;
  Variable h0, c0;
  std::vector<Variable> params;
};

Model build(const Config& c) {
  Generator gen(1234);
  const DType dt = c.f64 ? DType::Float64 : DType::Float32;
  Model m;
  m.embed =
      std::make_shared<nn::Embedding>(nn::EmbeddingOptions(c.vocab, c.d_model).dtype(dt), gen);
  int64_t out_dim = c.d_model;
  switch (c.kind) {
    case 0:
      m.self_att = std::make_shared<nn::SelfAttention>(
          nn::SelfAttentionOptions(c.d_model).bias(c.bias).dtype(dt), gen);
      break;
    case 1:
      m.mha =
          std::make_shared<nn::MultiheadAttention>(nn::MultiheadAttentionOptions(c.d_model, c.heads)
                                                       .bias(c.bias)
                                                       .batch_first(true)
                                                       .dtype(dt),
                                                   gen);
      break;
    case 2: {
      m.lstm = std::make_shared<nn::LSTM>(nn::LSTMOptions(c.d_model, c.hidden)
                                              .num_layers(c.layers)
                                              .batch_first(c.batch_first)
                                              .bias(c.bias)
                                              .dtype(dt),
                                          gen);
      out_dim = c.hidden;
      const Shape right{c.layers, c.batch, c.hidden};
      const Shape wrong{c.layers, c.batch + 1, c.hidden};
      if (c.state_kind > 0) {
        m.h0 = Variable(minigrad::randn(c.state_kind == 1 ? right : wrong, 0, 1, dt, gen))
                   .requires_grad_();
        m.c0 = Variable(minigrad::randn(right, 0, 1, dt, gen)).requires_grad_();
      }
      break;
    }
    default:
      m.cell = std::make_shared<nn::LSTMCell>(
          nn::LSTMCellOptions(c.d_model, c.hidden).bias(c.bias).dtype(dt), gen);
      out_dim = c.hidden;
  }
  m.readout = std::make_shared<nn::Linear>(nn::LinearOptions(out_dim, c.vocab).dtype(dt), gen);
  std::vector<std::shared_ptr<nn::Module>> mods{m.embed, m.readout};
  if (m.self_att) mods.push_back(m.self_att);
  if (m.mha) mods.push_back(m.mha);
  if (m.lstm) mods.push_back(m.lstm);
  if (m.cell) mods.push_back(m.cell);
  for (const auto& mod : mods)
    for (const Variable& p : mod->parameters()) m.params.push_back(p);
  if (m.h0.defined()) {
    m.params.push_back(m.h0);
    m.params.push_back(m.c0);
  }
  return m;
}

Tensor attention_mask(const Config& c) {
  switch (c.mask_kind) {
    case 1:
      return nn::causal_mask(c.steps);  // [T, T]
    case 2:
      return nn::padding_mask(c.lengths, c.steps).reshape({c.batch, 1, c.steps});  // [B, 1, T]
    case 3:
      return c.random_mask;  // [B, T, T]
    case 4:
      return minigrad::Tensor::zeros({c.steps + 1, c.steps}, DType::Bool);  // wrong
    default:
      return Tensor();
  }
}

Variable forward_loss(Model& m, const Config& c) {
  const Variable x = m.embed->forward(c.tokens);  // [B, T, d]
  Variable h;
  if (m.self_att) {
    h = (*m.self_att)(x, attention_mask(c)).context;
  } else if (m.mha) {
    Tensor padding;
    if (c.mask_kind == 2) padding = nn::padding_mask(c.lengths, c.steps);
    const Tensor causal = c.mask_kind == 1   ? nn::causal_mask(c.steps)
                          : c.mask_kind == 4 ? attention_mask(c)
                                             : Tensor();
    const nn::MultiheadOutput out = (*m.mha)(
        x, x, x,
        nn::MultiheadAttentionForwardOptions().key_padding_mask(padding).attn_mask(causal));
    h = out.output;
    // The average weights: each row sums to 1, or to 0 for a query that sees no key.
    const std::vector<double> w = minigrad::sum(out.weights.data(), {-1}).to_vector<double>();
    for (double s : w)
      if (!(std::abs(s - 1) < 1e-4 || s == 0))
        fail("attention weights do not sum to 1 or 0: " + std::to_string(s));
  } else if (m.lstm) {
    const Variable in = c.batch_first ? x : x.transpose(0, 1);
    const auto [out, state] = (*m.lstm)(in, {m.h0, m.c0});
    h = c.batch_first ? out : out.transpose(0, 1);  // [B, T, H]
    if (state.h.shape() != Shape{c.layers, c.batch, c.hidden})
      fail("h_n shape " + state.h.shape().str());
  } else {
    nn::LSTMState s;
    std::vector<Variable> outs;
    for (int64_t t = 0; t < c.steps; ++t) {
      s = (*m.cell)(x.select(1, t), s);
      outs.push_back(s.h);
    }
    h = minigrad::stack(outs, 1);
  }
  const Variable logits = m.readout->forward(h) * c.scale;  // [B, T, V]
  // class axis 1: [B·T, V] against [B·T]; ignore_index -100 (the default) as PyTorch
  return nn::cross_entropy(logits.reshape({-1, logits.size(-1)}), c.targets.reshape({-1}),
                           nn::CrossEntropyOptions().ignore_index(-100));
}

template <class F>
Outcome run(F&& f, std::string* what) {
  try {
    f();
    return Outcome::Ok;
  } catch (const std::out_of_range& e) {
    *what = e.what();
    return Outcome::OutOfRange;
  } catch (const std::invalid_argument& e) {
    *what = e.what();
    return Outcome::InvalidArgument;
  } catch (const std::exception& e) {
    fail(std::string("undocumented exception ") + typeid(e).name() + ": " + e.what());
  }
}

Config draw(FuzzedDataProvider& in) {
  Config c;
  c.kind = in.ConsumeIntegralInRange<int>(0, 3);
  c.batch = in.ConsumeIntegralInRange<int64_t>(1, 3);
  c.steps = in.ConsumeIntegralInRange<int64_t>(1, 5);
  c.vocab = in.ConsumeIntegralInRange<int64_t>(1, 7);
  c.d_model = in.ConsumeIntegralInRange<int64_t>(1, 8);
  c.heads = in.ConsumeIntegralInRange<int64_t>(1, 4);
  c.hidden = in.ConsumeIntegralInRange<int64_t>(1, 6);
  c.layers = in.ConsumeIntegralInRange<int64_t>(1, 2);
  c.batch_first = in.ConsumeBool();
  c.f64 = in.ConsumeBool();
  c.bias = in.ConsumeBool();
  static const double scales[] = {1.0, 1.0, -1.0, 10.0, 100.0, 1e4, -1e4};
  c.scale = in.PickValueInArray(scales);
  c.mask_kind = in.ConsumeIntegralInRange<int>(0, 4);
  c.state_kind = in.ConsumeIntegralInRange<int>(0, 2);

  // Which error, if any, the pass must raise -- in the order the model meets them.
  if (c.kind == 1 && c.d_model % c.heads != 0)
    c.expected = Outcome::InvalidArgument;  // construction

  std::vector<int64_t> tokens(static_cast<size_t>(c.batch * c.steps));
  bool bad_token = false;
  for (int64_t& t : tokens) {
    t = in.ConsumeIntegralInRange<int>(0, 15) == 0
            ? in.ConsumeIntegralInRange<int64_t>(-3, c.vocab + 3)
            : in.ConsumeIntegralInRange<int64_t>(0, c.vocab - 1);
    bad_token |= t < 0 || t >= c.vocab;
  }
  c.tokens = Tensor::from_vector(tokens, {c.batch, c.steps});
  if (c.expected == Outcome::Ok && bad_token) c.expected = Outcome::OutOfRange;  // Embedding

  for (int64_t b = 0; b < c.batch; ++b)
    c.lengths.push_back(in.ConsumeIntegralInRange<int64_t>(0, c.steps));
  std::vector<int64_t> mask_bits(static_cast<size_t>(c.batch * c.steps * c.steps));
  for (int64_t& v : mask_bits) v = in.ConsumeIntegralInRange<int>(0, 2) == 0;
  c.random_mask = minigrad::gt(Tensor::from_vector(mask_bits, {c.batch, c.steps, c.steps}),
                               Tensor::scalar(0, DType::Int64));
  if (c.kind >= 2) c.mask_kind = 0;
  if (c.expected == Outcome::Ok && c.mask_kind == 4)
    c.expected = Outcome::InvalidArgument;  // attention
  if (c.kind != 2) c.state_kind = 0;
  if (c.expected == Outcome::Ok && c.state_kind == 2)
    c.expected = Outcome::InvalidArgument;  // LSTM

  std::vector<int64_t> targets(static_cast<size_t>(c.batch * c.steps));
  bool bad_target = false;
  for (int64_t& t : targets) {
    const int r = in.ConsumeIntegralInRange<int>(0, 15);
    t = r == 0   ? in.ConsumeIntegralInRange<int64_t>(-3, c.vocab + 3)
        : r == 1 ? -100
                 : in.ConsumeIntegralInRange<int64_t>(0, c.vocab - 1);
    if (t != -100) {
      c.all_ignored = false;
      bad_target |= t < 0 || t >= c.vocab;
    }
  }
  c.targets = Tensor::from_vector(targets, {c.batch, c.steps});
  if (c.expected == Outcome::Ok && bad_target) c.expected = Outcome::OutOfRange;  // cross_entropy
  return c;
}

bool finite(const Tensor& t) { return minigrad::all_finite(t); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const Config c = draw(in);

  Model m;
  Variable loss;
  std::string what;
  const Outcome got = run(
      [&] {
        m = build(c);
        loss = forward_loss(m, c);
        loss.backward();
      },
      &what);
  if (got != c.expected) {
    fail(std::string("expected ") + name(c.expected) + ", got " + name(got) +
         (what.empty() ? "" : ": " + what) + " (kind " + std::to_string(c.kind) + ", B " +
         std::to_string(c.batch) + ", T " + std::to_string(c.steps) + ", V " +
         std::to_string(c.vocab) + ", d " + std::to_string(c.d_model) + ", heads " +
         std::to_string(c.heads) + ")");
  }
  if (got != Outcome::Ok) return 0;

  // The loss: finite, or NaN when every target is ignored (0/0, as documented).
  const double l = loss.item();
  if (c.all_ignored ? !std::isnan(l) : !std::isfinite(l)) fail("loss " + std::to_string(l));
  // Every gradient that arrived is finite.
  for (const Variable& p : m.params) {
    if (p.has_grad() && !finite(p.grad()))
      fail("a gradient is not finite (shape " + p.shape().str() + ")");
    if (p.has_grad() && p.grad().shape() != p.shape()) fail("a gradient has the wrong shape");
  }
  if (!c.f64 || c.all_ignored || c.scale != 1.0) return 0;

  // float64: backward agrees with a central difference along a random direction d:
  //   (L(θ + εd) - L(θ - εd)) / 2ε  ≈  Σ ⟨∇L, d⟩
  Generator gen(99);
  std::vector<Tensor> dirs;
  double analytic = 0;
  for (const Variable& p : m.params) {
    Tensor d = minigrad::randn(p.shape(), 0, 1, DType::Float64, gen);
    if (p.has_grad()) analytic += minigrad::sum(minigrad::mul(p.grad(), d)).item();
    dirs.push_back(d);
  }
  const double eps = 1e-6;
  auto shifted = [&](double sign) {
    minigrad::NoGradGuard no_grad;
    for (size_t i = 0; i < m.params.size(); ++i) {
      Variable p = m.params[i];
      p.mutable_data().add_(dirs[i], sign * eps);
    }
    const double v = forward_loss(m, c).item();
    for (size_t i = 0; i < m.params.size(); ++i) {
      Variable p = m.params[i];
      p.mutable_data().add_(dirs[i], -sign * eps);
    }
    return v;
  };
  const double numeric = (shifted(1) - shifted(-1)) / (2 * eps);
  if (!(std::abs(numeric - analytic) <= 1e-5 + 1e-4 * std::abs(analytic))) {
    fail("gradient check: numeric " + std::to_string(numeric) + ", analytic " +
         std::to_string(analytic) + " (kind " + std::to_string(c.kind) + ")");
  }
  return 0;
}
