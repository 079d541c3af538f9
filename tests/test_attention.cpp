// Attention (nn/attention.cpp): gradcheck of the fused and composed
// scaled_dot_product_attention, masked and unmasked, batched and broadcast; the
// two paths agree; a fully masked row gives zero weights, zero context and zero
// (finite) gradients; Luong attention, self-attention, multi-head attention and
// the positional encodings; and clear errors for bad inputs. PyTorch parity is in
// test_parity_attention.cpp.
//
// Masks: bool, TRUE = BLOCKED (minigrad's one convention), or float, added to the scores.
#include "minigrad/nn/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "autograd_testing.h"

namespace minigrad {
namespace {

using namespace testing;

using AttentionFn = nn::AttentionOutput (*)(const Variable&, const Variable&, const Variable&,
                                            const Tensor&, std::optional<double>);

struct Path {
  const char* name;
  AttentionFn fn;
};
const Path kPaths[] = {{"fused", nn::scaled_dot_product_attention},
                       {"composed", nn::scaled_dot_product_attention_composed}};

// A bool mask, each entry blocked with probability p (deterministic per seed).
Tensor random_mask(const Shape& shape, uint64_t seed, double p = 0.4) {
  return lt(testing::uniform(shape, seed, 0.0, 1.0), p);
}

Tensor bool_mask(std::initializer_list<double> values, const Shape& shape) {
  return gt(Tensor::from_list(values, shape, DType::Float64), 0.5);
}

// context and weights, flattened side by side: gradcheck sees both outputs.
Variable both_outputs(const nn::AttentionOutput& out) {
  return concat({out.context.reshape({-1}), out.weights.reshape({-1})}, 0);
}

// The attention of one query row, the long way: scores, mask, softmax, mix.
struct RowResult {
  std::vector<double> weights, context;
};
RowResult attend_row(const Tensor& q_row, const Tensor& k, const Tensor& v,
                     const std::vector<bool>& blocked, double scale) {
  const int64_t tk = k.size(0), d = k.size(1), dv = v.size(1);
  std::vector<double> s(static_cast<size_t>(tk), -INFINITY);
  double m = -INFINITY;
  for (int64_t j = 0; j < tk; ++j) {
    if (!blocked.empty() && blocked[static_cast<size_t>(j)]) continue;
    double dot = 0;
    for (int64_t e = 0; e < d; ++e) dot += q_row.at({e}) * k.at({j, e});
    s[static_cast<size_t>(j)] = dot * scale;
    m = std::max(m, dot * scale);
  }
  RowResult r{std::vector<double>(static_cast<size_t>(tk), 0.0),
              std::vector<double>(static_cast<size_t>(dv), 0.0)};
  if (m == -INFINITY) return r;  // every key blocked: zero weights, zero context
  double z = 0;
  for (int64_t j = 0; j < tk; ++j) z += std::exp(s[static_cast<size_t>(j)] - m);
  for (int64_t j = 0; j < tk; ++j) {
    const double a = std::exp(s[static_cast<size_t>(j)] - m) / z;
    r.weights[static_cast<size_t>(j)] = a;
    for (int64_t e = 0; e < dv; ++e) r.context[static_cast<size_t>(e)] += a * v.at({j, e});
  }
  return r;
}

// ---- gradcheck ------------------------------------------------------------------------------

TEST(ScaledDotProductAttention, GradcheckUnmasked) {
  const std::vector<Tensor> qkv{input({2, 3, 4}, 1), input({2, 5, 4}, 2), input({2, 5, 3}, 3)};
  for (const Path& p : kPaths) {
    EXPECT_TRUE(grad_ok(
        [&p](const Vars& v) { return both_outputs(p.fn(v[0], v[1], v[2], {}, std::nullopt)); },
        qkv))
        << p.name;
    EXPECT_TRUE(
        grad_ok([&p](const Vars& v) { return both_outputs(p.fn(v[0], v[1], v[2], {}, 1.0)); }, qkv))
        << p.name << ", scale 1";
  }
}

TEST(ScaledDotProductAttention, GradcheckMasked) {
  const std::vector<Tensor> qkv{input({2, 3, 4}, 4), input({2, 5, 4}, 5), input({2, 5, 3}, 6)};
  // clang-format off
  const Tensor one_row_blocked = bool_mask({0, 1, 0, 0, 0,
                                            1, 1, 1, 1, 1,   // batch 0, query 1: every key blocked
                                            0, 0, 0, 1, 1,
                                            0, 0, 0, 0, 0,
                                            1, 0, 1, 0, 1,
                                            1, 1, 1, 1, 0}, {2, 3, 5});
  // clang-format on
  const std::vector<std::pair<std::string, Tensor>> masks{
      {"random [2,3,5]", random_mask({2, 3, 5}, 7)},
      {"random [3,5] (broadcast over the batch)", random_mask({3, 5}, 8)},
      {"padding [2,1,5]", nn::padding_mask({5, 2}, 5).unsqueeze(1)},
      {"row 1 of batch 0 fully blocked", one_row_blocked},
  };

  for (const Path& p : kPaths) {
    for (const auto& [what, mask] : masks) {
      EXPECT_TRUE(grad_ok(
          [&](const Vars& v) { return both_outputs(p.fn(v[0], v[1], v[2], mask, std::nullopt)); },
          qkv))
          << p.name << ", mask " << what;
    }
    // causal, self-attention shaped: q, k, v [2, 4, 3]
    EXPECT_TRUE(grad_ok(
        [&](const Vars& v) {
          return both_outputs(p.fn(v[0], v[1], v[2], nn::causal_mask(4), std::nullopt));
        },
        {input({2, 4, 3}, 9), input({2, 4, 3}, 10), input({2, 4, 3}, 11)}))
        << p.name << ", causal";
  }
}

// A float mask is added to the scores: −∞ where a bool mask is true means the same,
// and finite values bias the weights (the mask itself gets no gradient).
TEST(ScaledDotProductAttention, FloatMaskIsAddedToTheScores) {
  const std::vector<Tensor> qkv{input({2, 3, 4}, 4), input({2, 5, 4}, 5), input({2, 5, 3}, 6)};
  const Tensor blocked = random_mask({2, 3, 5}, 7);
  const Tensor as_float = masked_fill(Tensor::zeros({2, 3, 5}, DType::Float64), blocked, -INFINITY);
  const Tensor bias = input({3, 5}, 12);  // broadcast over the batch
  for (const Path& p : kPaths) {
    const Variable q(qkv[0]), k(qkv[1]), v(qkv[2]);
    const nn::AttentionOutput a = p.fn(q, k, v, blocked, std::nullopt);
    const nn::AttentionOutput b = p.fn(q, k, v, as_float, std::nullopt);
    EXPECT_EQ(max_abs_diff(a.weights.data(), b.weights.data()), 0.0) << p.name;
    EXPECT_EQ(max_abs_diff(a.context.data(), b.context.data()), 0.0) << p.name;
    // softmax(S + M) row by row, the long way
    const nn::AttentionOutput c = p.fn(q, k, v, bias, 0.5);
    const Tensor scores = add(mul(matmul(qkv[0], qkv[1].mT()), 0.5), bias);
    EXPECT_LT(max_abs_diff(c.weights.data(), softmax(scores, -1)), 1e-15) << p.name;
    EXPECT_TRUE(grad_ok(
        [&](const Vars& x) { return both_outputs(p.fn(x[0], x[1], x[2], bias, std::nullopt)); },
        qkv))
        << p.name;
    EXPECT_TRUE(grad_ok(
        [&](const Vars& x) { return both_outputs(p.fn(x[0], x[1], x[2], as_float, std::nullopt)); },
        qkv))
        << p.name << ", float −∞ mask";
  }
}

// Batch axes broadcast: one set of keys for every query batch, heads that share queries.
TEST(ScaledDotProductAttention, GradcheckBroadcastBatchAxes) {
  for (const Path& p : kPaths) {
    EXPECT_TRUE(grad_ok(
        [&](const Vars& v) { return both_outputs(p.fn(v[0], v[1], v[2], {}, std::nullopt)); },
        {input({2, 1, 3, 4}, 12), input({1, 2, 5, 4}, 13), input({2, 2, 5, 3}, 14)}))
        << p.name;
    EXPECT_TRUE(grad_ok(
        [&](const Vars& v) {
          return both_outputs(p.fn(v[0], v[1], v[2], random_mask({3, 5}, 15), std::nullopt));
        },
        {input({2, 3, 4}, 16), input({5, 4}, 17), input({2, 1, 5, 2}, 18)}))
        << p.name << ", k [5,4] shared by all batches, v with a batch axis of its own";
    // A per-head mask where only k has the head axis: the scores are [2,2,3,5].
    EXPECT_TRUE(grad_ok(
        [&](const Vars& v) {
          return both_outputs(p.fn(v[0], v[1], v[2], random_mask({2, 2, 3, 5}, 19), std::nullopt));
        },
        {input({2, 1, 3, 4}, 12), input({1, 2, 5, 4}, 13), input({2, 2, 5, 3}, 14)}))
        << p.name << ", mask [2,2,3,5] with q [2,1,3,4] and k [1,2,5,4]";
  }
}

// ---- a fully masked row ---------------------------------------------------------------------

TEST(ScaledDotProductAttention, FullyMaskedRowGivesZerosAndFiniteZeroGradients) {
  // Query 1 of batch 0 may see no key at all.
  // clang-format off
  const Tensor mask = bool_mask({0, 1, 0, 0,
                                 1, 1, 1, 1,   // batch 0, query 1: every key blocked
                                 0, 0, 1, 0,
                                 0, 0, 0, 1,
                                 0, 0, 0, 1,
                                 1, 0, 0, 1}, {2, 3, 4});
  // clang-format on
  for (const Path& p : kPaths) {
    Variable q = Variable(input({2, 3, 5}, 20)).requires_grad_(),
             k = Variable(input({2, 4, 5}, 21)).requires_grad_(),
             v = Variable(input({2, 4, 3}, 22)).requires_grad_();
    const nn::AttentionOutput out = p.fn(q, k, v, mask, std::nullopt);
    const Tensor w = out.weights.data(), c = out.context.data();
    ASSERT_TRUE(all_finite(w) && all_finite(c)) << p.name;
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(w.at({0, 1, j}), 0.0) << p.name;
    for (int64_t e = 0; e < 3; ++e) EXPECT_EQ(c.at({0, 1, e}), 0.0) << p.name;
    // Every other row sums to 1 with its blocked keys at exactly 0.
    for (int64_t b = 0; b < 2; ++b) {
      for (int64_t i = 0; i < 3; ++i) {
        if (b == 0 && i == 1) continue;
        double total = 0;
        for (int64_t j = 0; j < 4; ++j) {
          total += w.at({b, i, j});
          if (mask.at({b, i, j}) != 0) {
            EXPECT_EQ(w.at({b, i, j}), 0.0);
          }
        }
        EXPECT_NEAR(total, 1.0, 1e-15) << p.name;
      }
    }
    // The loss uses both outputs; the fully blocked query gets a zero gradient.
    (sum(out.context * Variable(input({2, 3, 3}, 23))) +
     sum(out.weights * Variable(input({2, 3, 4}, 24))))
        .backward();
    for (const Variable* x : {&q, &k, &v}) ASSERT_TRUE(all_finite(x->grad())) << p.name;
    for (int64_t e = 0; e < 5; ++e) EXPECT_EQ(q.grad().at({0, 1, e}), 0.0) << p.name;
  }
}

// Under anomaly mode (which throws on the first NaN/Inf in a result or gradient)
// the fused path runs a fully masked row without complaint: the -∞ stays inside.
TEST(ScaledDotProductAttention, FullyMaskedRowPassesAnomalyModeOnTheFusedPath) {
  const AnomalyModeGuard anomaly;
  Variable q = Variable(input({1, 2, 3}, 25)).requires_grad_(),
           k = Variable(input({1, 2, 3}, 26)).requires_grad_(),
           v = Variable(input({1, 2, 3}, 27)).requires_grad_();
  const nn::AttentionOutput out =
      nn::scaled_dot_product_attention(q, k, v, bool_mask({1, 1, 0, 1}, {2, 2}));
  EXPECT_NO_THROW(sum(out.context).backward());
}

// ---- fused and composed agree -----------------------------------------------------------------

TEST(ScaledDotProductAttention, FusedAndComposedAgree) {
  struct Case {
    const char* name;
    Shape q, k, v;
    Tensor mask;
    std::optional<double> scale;
  };
  const std::vector<Case> cases{
      {"unmasked", {3, 4, 8}, {3, 6, 8}, {3, 6, 5}, {}, std::nullopt},
      {"random mask",
       {3, 4, 8},
       {3, 6, 8},
       {3, 6, 5},
       random_mask({3, 4, 6}, 30, 0.5),
       std::nullopt},
      {"causal, heads", {2, 3, 5, 4}, {2, 3, 5, 4}, {2, 3, 5, 4}, nn::causal_mask(5), 0.7},
      {"padding, unscaled",
       {2, 4, 8},
       {2, 6, 8},
       {2, 6, 5},
       nn::padding_mask({6, 1}, 6).unsqueeze(1),
       1.0},
      {"broadcast batch",
       {2, 1, 4, 8},
       {1, 3, 6, 8},
       {2, 3, 6, 5},
       random_mask({6}, 31),
       std::nullopt},
      {"per-head mask, q without heads",
       {2, 1, 4, 8},
       {2, 3, 6, 8},
       {2, 3, 6, 5},
       random_mask({2, 3, 4, 6}, 32),
       std::nullopt},
      {"v with batch axes of its own",
       {2, 4, 8},
       {2, 6, 8},
       {3, 1, 6, 5},
       random_mask({2, 4, 6}, 33),
       0.3},
  };
  uint64_t seed = 40;
  for (const Case& c : cases) {
    const Tensor q = input(c.q, seed++, -2, 2), k = input(c.k, seed++, -2, 2),
                 v = input(c.v, seed++);
    std::vector<nn::AttentionOutput> outs;
    std::vector<std::vector<Tensor>> grads;
    for (const Path& p : kPaths) {
      Variable vq = Variable(q).requires_grad_(), vk = Variable(k).requires_grad_(),
               vv = Variable(v).requires_grad_();
      const nn::AttentionOutput out = p.fn(vq, vk, vv, c.mask, c.scale);
      const Tensor gc = input(out.context.shape(), 50), gw = input(out.weights.shape(), 51);
      // the weights are part of the loss, as when a model is trained to look somewhere
      (sum(out.context * Variable(gc)) + sum(out.weights * Variable(gw))).backward();
      outs.push_back(out);
      grads.push_back({vq.grad(), vk.grad(), vv.grad()});
    }
    EXPECT_LT(max_abs_diff(outs[0].context.data(), outs[1].context.data()), 1e-14) << c.name;
    EXPECT_LT(max_abs_diff(outs[0].weights.data(), outs[1].weights.data()), 1e-15) << c.name;
    for (size_t i = 0; i < 3; ++i)
      EXPECT_LT(max_abs_diff(grads[0][i], grads[1][i]), 1e-13) << c.name << " grad "
                                                               << "qkv"[i];
  }
}

// Q, K and V as MultiheadAttention makes them: heads of a [B, T, 3·h·d] projection
// viewed as [B, h, T, d], strided. The fused path reads them in place and stores the
// context with the heads side by side, so that merging the heads again is a view; its
// values and the gradient reaching the projection are the composed path's.
TEST(ScaledDotProductAttention, HeadsAreReadInPlaceAndStoredSideBySide) {
  const int64_t b = 2, t = 5, h = 3, d = 4;
  const Tensor x = input({b, t, 3 * h * d}, 60, -2, 2);
  const Tensor gc = input({b, t, h * d}, 61), gw = input({b, h, t, t}, 62);
  auto heads = [&](const Variable& packed, int64_t i) {  // part i, [B, h, T, d]
    return packed.narrow(2, i * h * d, h * d).reshape({b, t, h, d}).permute({0, 2, 1, 3});
  };
  auto attend = [&](const Path& p, const Variable& packed) {
    return p.fn(heads(packed, 0), heads(packed, 1), heads(packed, 2), nn::causal_mask(t),
                std::nullopt);
  };
  std::vector<Tensor> merged, weights, grads;
  for (const Path& p : kPaths) {
    const Variable packed = Variable(x).requires_grad_();
    const nn::AttentionOutput out = attend(p, packed);
    if (std::string(p.name) == "fused") {
      EXPECT_FALSE(out.context.data().is_contiguous());
      EXPECT_TRUE(out.context.data().permute({0, 2, 1, 3}).is_contiguous())
          << "the heads side by side: [B, T, h, d] in memory";
    }
    const Variable m = out.context.permute({0, 2, 1, 3}).reshape({b, t, h * d});
    (sum(m * Variable(gc)) + sum(out.weights * Variable(gw))).backward();
    merged.push_back(m.data());
    weights.push_back(out.weights.data());
    grads.push_back(packed.grad());
  }
  EXPECT_LT(max_abs_diff(merged[0], merged[1]), 1e-14);
  EXPECT_LT(max_abs_diff(weights[0], weights[1]), 1e-15);
  EXPECT_LT(max_abs_diff(grads[0], grads[1]), 1e-13);
  EXPECT_TRUE(grad_ok([&](const Vars& v) { return both_outputs(attend(kPaths[0], v[0])); }, {x}));
}

// The tensor-level kernels check what autograd would otherwise catch too late.
TEST(ScaledDotProductAttention, KernelBadInputsThrowClearly) {
  const Tensor q = input({2, 3, 4}, 1), k = input({2, 5, 4}, 2), v = input({2, 5, 3}, 3);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        attention_forward(q, input({2, 5, 3}, 4), v, {}, 0.5);
      },
      {"attention_forward", "q [2,3,4]", "k [2,5,3]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { attention_forward(q, k, v.to(DType::Float32), {}, 0.5); },
      {"attention_forward", "float32[2,5,3]", "one floating dtype"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        attention_forward(q, k, v, Tensor::zeros({2, 3, 5}, DType::Float32), 0.5);
      },
      {"attention_forward", "mask float32[2,3,5]", "bool or float64"}));
  const AttentionForward f = attention_forward(q, k, v, {}, 0.5);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        attention_backward(input({2, 3, 4}, 5), {}, q, k, v, f.weights, 0.5);
      },
      {"attention_backward", "gC [2,3,4]", "weights [2,3,5]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        attention_backward(f.context, input({3, 5}, 6), q, k, v, f.weights, 0.5);
      },
      {"attention_backward", "gA [3,5]"}));
}

TEST(ScaledDotProductAttention, ValuesAgainstTheLongWay) {
  const Tensor q = input({2, 3, 4}, 60, -2, 2), k = input({2, 5, 4}, 61, -2, 2),
               v = input({2, 5, 3}, 62);
  const Tensor mask = random_mask({2, 3, 5}, 63);
  for (const Path& p : kPaths) {
    for (const std::optional<double> scale :
         {std::optional<double>(), std::optional<double>(1.0)}) {
      const nn::AttentionOutput out = p.fn(Variable(q), Variable(k), Variable(v), mask, scale);
      for (int64_t b = 0; b < 2; ++b) {
        for (int64_t i = 0; i < 3; ++i) {
          std::vector<bool> blocked;
          for (int64_t j = 0; j < 5; ++j) blocked.push_back(mask.at({b, i, j}) != 0);
          const RowResult r = attend_row(q.select(0, b).select(0, i), k.select(0, b),
                                         v.select(0, b), blocked, scale.value_or(0.5));
          for (int64_t j = 0; j < 5; ++j)
            EXPECT_NEAR(out.weights.data().at({b, i, j}), r.weights[static_cast<size_t>(j)], 1e-15);
          for (int64_t e = 0; e < 3; ++e)
            EXPECT_NEAR(out.context.data().at({b, i, e}), r.context[static_cast<size_t>(e)], 1e-14);
        }
      }
    }
  }
}

TEST(ScaledDotProductAttention, Float32) {
  const Tensor q = input({2, 3, 4}, 64).to(DType::Float32),
               k = input({2, 5, 4}, 65).to(DType::Float32),
               v = input({2, 5, 3}, 66).to(DType::Float32);
  const nn::AttentionOutput f =
      nn::scaled_dot_product_attention(Variable(q), Variable(k), Variable(v));
  const nn::AttentionOutput c =
      nn::scaled_dot_product_attention_composed(Variable(q), Variable(k), Variable(v));
  EXPECT_EQ(f.context.dtype(), DType::Float32);
  EXPECT_LT(max_abs_diff(f.context.data(), c.context.data()), 1e-6);
}

// ---- masks ----------------------------------------------------------------------------------

TEST(Masks, CausalAndPadding) {
  const Tensor c = nn::causal_mask(3);
  EXPECT_EQ(c.dtype(), DType::Bool);
  EXPECT_EQ(max_abs_diff(c.to(DType::Float64), testing::f64({0, 1, 1, 0, 0, 1, 0, 0, 0}, {3, 3})),
            0.0);
  const Tensor p = nn::padding_mask({2, 0, 3}, 3);
  EXPECT_EQ(p.dtype(), DType::Bool);
  EXPECT_EQ(max_abs_diff(p.to(DType::Float64), testing::f64({0, 0, 1, 1, 1, 1, 0, 0, 0}, {3, 3})),
            0.0);
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { nn::causal_mask(0); }, {"causal_mask"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { nn::causal_mask(2, -1); },
                                                 {"causal_mask", "past -1"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        nn::padding_mask({2, 4}, 3);
      },
      {"padding_mask", "length 4", "sequence 1"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { nn::padding_mask({-1}, 3); }, {"length -1"}));
}

TEST(ScaledDotProductAttention, BadInputsThrowClearly) {
  const Variable q(input({2, 3, 4}, 1)), k(input({2, 5, 4}, 2)), v(input({2, 5, 3}, 3));
  for (const Path& p : kPaths) {
    EXPECT_TRUE(throws_with<std::invalid_argument>(
        [&] {
          p.fn(q, k, v, Tensor::zeros({2, 3, 5}), std::nullopt);
        },
        {"scaled_dot_product_attention", "bool", "true = blocked", "float32"}))
        << p.name;
    // [2,4] cannot broadcast against the scores [2,3,5]
    EXPECT_TRUE(throws_with<std::invalid_argument>(
        [&] {
          p.fn(q, k, v, random_mask({2, 4}, 1), std::nullopt);
        },
        {"scaled_dot_product_attention", "[2,4]", "[2,3,5]"}))
        << p.name;
    // a mask that would enlarge the scores ([4,2,3,5] for scores [2,3,5]) is not "broadcastable to"
    // them
    EXPECT_TRUE(throws_with<std::invalid_argument>(
        [&] {
          p.fn(q, k, v, random_mask({4, 2, 3, 5}, 2), std::nullopt);
        },
        {"scaled_dot_product_attention", "[4,2,3,5]", "[2,3,5]"}))
        << p.name;
    EXPECT_TRUE(throws_with<std::invalid_argument>(
        [&] {
          p.fn(q, Variable(input({2, 5, 3}, 4)), v, {}, std::nullopt);
        },
        {"scaled_dot_product_attention", "q [2,3,4]", "k [2,5,3]"}))
        << p.name;
    EXPECT_TRUE(throws_with<std::invalid_argument>(
        [&] {
          p.fn(q, k, Variable(input({2, 4, 3}, 5)), {}, std::nullopt);
        },
        {"v [2,4,3]", "v [..., Tk, dv]"}))
        << p.name;
    EXPECT_TRUE(throws_with<std::invalid_argument>([&] { p.fn(q, k, v, {}, NAN); },
                                                   {"scale must be finite"}))
        << p.name;
  }
}

// ---- DotProductAttention (Luong) ------------------------------------------------------------

TEST(DotProductAttention, OneStepQueryAndUnscaledScores) {
  const Tensor query = input({2, 4}, 70, -2, 2), keys = input({2, 5, 4}, 71, -2, 2),
               values = input({2, 5, 3}, 72);
  nn::DotProductAttention att;
  EXPECT_EQ(att.type_name(), "DotProductAttention");
  const nn::AttentionOutput out = att(Variable(query), Variable(keys), Variable(values));
  ASSERT_EQ(out.context.shape(), (Shape{2, 3}));
  ASSERT_EQ(out.weights.shape(), (Shape{2, 5}));
  for (int64_t b = 0; b < 2; ++b) {
    // score = q·k, no scale
    const RowResult r =
        attend_row(query.select(0, b), keys.select(0, b), values.select(0, b), {}, 1.0);
    for (int64_t j = 0; j < 5; ++j)
      EXPECT_NEAR(out.weights.data().at({b, j}), r.weights[static_cast<size_t>(j)], 1e-15);
    for (int64_t e = 0; e < 3; ++e)
      EXPECT_NEAR(out.context.data().at({b, e}), r.context[static_cast<size_t>(e)], 1e-14);
  }
  // Without values, the keys are the values.
  const nn::AttentionOutput self = att(Variable(query), Variable(keys));
  EXPECT_EQ(max_abs_diff(self.context.data(),
                         att(Variable(query), Variable(keys), Variable(keys)).context.data()),
            0.0);
}

TEST(DotProductAttention, ScaledDividesTheScoresBySqrtD) {
  const Tensor query = input({2, 3, 9}, 73, -2, 2), keys = input({2, 5, 9}, 74, -2, 2);
  nn::DotProductAttention plain;
  nn::ScaledDotProductAttention scaled;
  EXPECT_EQ(scaled.type_name(), "ScaledDotProductAttention");
  const Tensor w_plain = plain(Variable(query), Variable(keys)).weights.data();
  const Tensor w_scaled = scaled(Variable(query), Variable(keys)).weights.data();
  ASSERT_EQ(w_scaled.shape(), (Shape{2, 3, 5}));
  // log-weight differences are score differences: log(a_j/a_0) = (s_j - s_0)·scale,
  // so the scaled ones are exactly 1/√9 = 1/3 of the unscaled ones.
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t j = 1; j < 5; ++j) {
        const double lp = std::log(w_plain.at({b, i, j}) / w_plain.at({b, i, 0}));
        const double ls = std::log(w_scaled.at({b, i, j}) / w_scaled.at({b, i, 0}));
        EXPECT_NEAR(ls, lp / 3.0, 1e-12);
        double dot_j = 0, dot_0 = 0;
        for (int64_t e = 0; e < 9; ++e) {
          dot_j += query.at({b, i, e}) * keys.at({b, j, e});
          dot_0 += query.at({b, i, e}) * keys.at({b, 0, e});
        }
        EXPECT_NEAR(lp, dot_j - dot_0, 1e-12);
      }
    }
  }
}

TEST(DotProductAttention, KeyMaskAndErrors) {
  const Tensor query = input({2, 4}, 75), keys = input({2, 5, 4}, 76);
  nn::DotProductAttention att;
  const Tensor key_mask = nn::padding_mask({5, 2}, 5);
  const nn::AttentionOutput out = att(Variable(query), Variable(keys), {}, key_mask);
  for (int64_t j = 2; j < 5; ++j) EXPECT_EQ(out.weights.data().at({1, j}), 0.0);
  EXPECT_NEAR(out.weights.data().at({1, 0}) + out.weights.data().at({1, 1}), 1.0, 1e-15);
  EXPECT_TRUE(grad_ok([&](const Vars& v) { return both_outputs(att(v[0], v[1], v[2], key_mask)); },
                      {query, keys, input({2, 5, 3}, 77)}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        att(Variable(query), Variable(keys), {}, nn::padding_mask({5, 2, 1}, 5));
      },
      {"DotProductAttention", "key_mask bool[3,5]", "[2,5]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { att(Variable(query), Variable(query)); },
                                                 {"DotProductAttention", "keys [2,4]"}));
}

// ---- SelfAttention --------------------------------------------------------------------------

TEST(SelfAttention, IsAttentionOverProjections) {
  Generator gen(1);
  nn::SelfAttention att(nn::SelfAttentionOptions(6).d_k(4).dtype(DType::Float64), gen);
  EXPECT_EQ(att.named_parameters().size(), 3u);  // w_q.weight, w_k.weight, w_v.weight
  const Variable x(input({2, 5, 6}, 80));
  const nn::AttentionOutput out = att(x);
  EXPECT_EQ(out.context.shape(), (Shape{2, 5, 4}));
  EXPECT_EQ(out.weights.shape(), (Shape{2, 5, 5}));
  const nn::AttentionOutput want =
      nn::scaled_dot_product_attention_composed((*att.w_q)(x), (*att.w_k)(x), (*att.w_v)(x));
  EXPECT_LT(max_abs_diff(out.context.data(), want.context.data()), 1e-14);
  EXPECT_EQ(max_abs_diff(att(x, {}).context.data(), out.context.data()), 0.0);
  // unscaled
  nn::SelfAttention plain(nn::SelfAttentionOptions(6).d_k(4).scaled(false).dtype(DType::Float64),
                          gen);
  const nn::AttentionOutput p = plain(x, nn::causal_mask(5));
  const nn::AttentionOutput pw = nn::scaled_dot_product_attention_composed(
      (*plain.w_q)(x), (*plain.w_k)(x), (*plain.w_v)(x), nn::causal_mask(5), 1.0);
  EXPECT_LT(max_abs_diff(p.weights.data(), pw.weights.data()), 1e-15);
  EXPECT_EQ(p.weights.data().at({0, 0, 1}), 0.0);  // causal
  EXPECT_EQ(plain.extra_repr(), "d_model=6, d_k=4, scaled=false");
  EXPECT_EQ(nn::SelfAttention(6).options.d_k(), 6);
}

TEST(SelfAttention, GradientsReachWQWKWV) {
  Generator gen(2);
  nn::SelfAttention att(nn::SelfAttentionOptions(4).d_k(4).bias(true).dtype(DType::Float64), gen);
  const Variable x(input({2, 3, 4}, 81));
  const nn::AttentionOutput out = att(x);
  sum(out.context * Variable(input({2, 3, 4}, 82))).backward();
  for (const auto& [name, p] : att.named_parameters()) {
    ASSERT_TRUE(p.has_grad()) << name;
    if (name == "w_k.bias") {
      // The key bias adds q·b_k to every score of a query's row alike, and softmax
      // ignores a constant shift: its gradient is zero (up to rounding).
      EXPECT_LT(amax(abs(p.grad())).item(), 1e-14);
    } else {
      EXPECT_GT(amax(abs(p.grad())).item(), 1e-3) << name;
    }
  }
  EXPECT_TRUE(grad_ok(
      [&](const Vars& v) {
        att.w_q->weight = v[1];
        att.w_k->weight = v[2];
        att.w_v->weight = v[3];
        return att(v[0]).context;
      },
      {input({2, 3, 4}, 83), att.w_q->weight.data(), att.w_k->weight.data(),
       att.w_v->weight.data()}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        att(Variable(input({2, 3, 5}, 1)));
      },
      {"SelfAttention", "[2,3,5]", "[B, T, 4]"}));
}

// ---- MultiheadAttention ---------------------------------------------------------------------

using Fwd = nn::MultiheadAttentionForwardOptions;

// output and per-head weights, flattened side by side; v = {query, key, value, then
// the parameters in named_parameters() order}.
Variable mha_outputs(nn::MultiheadAttention& m, const Vars& v, Fwd opts) {
  size_t i = 3;
  for (Variable* slot : {&m.in_proj_weight, &m.q_proj_weight, &m.k_proj_weight, &m.v_proj_weight,
                         &m.in_proj_bias, &m.out_proj->weight, &m.out_proj->bias}) {
    if (slot->defined()) *slot = v[i++];
  }
  auto [output, weights] = m(v[0], v[1], v[2], opts.average_attn_weights(false));
  return concat({output.reshape({-1}), weights.reshape({-1})}, 0);
}

std::vector<Tensor> mha_inputs(nn::MultiheadAttention& m, const Tensor& q, const Tensor& k,
                               const Tensor& v) {
  std::vector<Tensor> in{q, k, v};
  for (const auto& [name, p] : m.named_parameters()) in.push_back(p.data());
  return in;
}

nn::MultiheadAttentionOptions f64_options(int64_t e, int64_t h) {
  return nn::MultiheadAttentionOptions(e, h).batch_first(true).dtype(DType::Float64);
}

TEST(MultiheadAttention, PyTorchsParameterNamesShapesAndInit) {
  Generator gen(3);
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(64, 4), gen);
  std::vector<std::string> names;
  for (const auto& [name, p] : m.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight",
                                             "out_proj.bias"}));
  EXPECT_EQ(m.in_proj_weight.shape(), (Shape{192, 64}));
  EXPECT_EQ(m.in_proj_bias.shape(), (Shape{192}));
  EXPECT_FALSE(m.options.batch_first());  // PyTorch's default
  // xavier_uniform_ on [3E, E]: U(−a, a), a = √(6 / (E + 3E)); biases zero;
  // out_proj.weight Linear's U(−1/√E, 1/√E).
  const double a = std::sqrt(6.0 / (64 + 192));
  EXPECT_LE(amax(abs(m.in_proj_weight.data())).item(), a);
  EXPECT_GT(amax(abs(m.in_proj_weight.data())).item(), 0.95 * a);
  EXPECT_EQ(amax(abs(m.in_proj_bias.data())).item(), 0.0);
  EXPECT_EQ(amax(abs(m.out_proj->bias.data())).item(), 0.0);
  EXPECT_LE(amax(abs(m.out_proj->weight.data())).item(), 1.0 / 8);
  EXPECT_GT(amax(abs(m.out_proj->weight.data())).item(), 0.95 / 8);
  // kdim / vdim ≠ E: separate q, k, v weights, as PyTorch's.
  nn::MultiheadAttention kv(nn::MultiheadAttentionOptions(8, 2).kdim(5).vdim(3).bias(false), gen);
  names.clear();
  for (const auto& [name, p] : kv.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"q_proj_weight", "k_proj_weight", "v_proj_weight",
                                             "out_proj.weight"}));
  EXPECT_EQ(kv.k_proj_weight.shape(), (Shape{8, 5}));
  EXPECT_EQ(kv.v_proj_weight.shape(), (Shape{8, 3}));
  EXPECT_EQ(kv.extra_repr(), "embed_dim=8, num_heads=2, bias=false, kdim=5, vdim=3");
  EXPECT_EQ(m.type_name(), "MultiheadAttention");
}

TEST(MultiheadAttention, Gradcheck) {
  Generator gen(3);
  nn::MultiheadAttention m(f64_options(4, 2), gen);
  ASSERT_EQ(m.named_parameters().size(), 4u);
  const Tensor q = input({2, 2, 4}, 90), k = input({2, 3, 4}, 91), v = input({2, 3, 4}, 92);
  EXPECT_TRUE(
      grad_ok([&](const Vars& x) { return mha_outputs(m, x, Fwd()); }, mha_inputs(m, q, k, v)));
  EXPECT_TRUE(grad_ok(
      [&](const Vars& x) {
        return mha_outputs(m, x, Fwd().key_padding_mask(nn::padding_mask({3, 1}, 3)));
      },
      mha_inputs(m, q, k, v)))
      << "key padding";
  const Tensor s = input({2, 3, 4}, 93);
  EXPECT_TRUE(grad_ok(
      [&](const Vars& x) {
        return mha_outputs(
            m, x,
            Fwd().key_padding_mask(nn::padding_mask({3, 2}, 3)).attn_mask(nn::causal_mask(3)));
      },
      mha_inputs(m, s, input({2, 3, 4}, 94), input({2, 3, 4}, 95))))
      << "key padding and causal";
  // float masks, [B·h, T, S]
  const Tensor float_mask = input({4, 2, 3}, 96);
  EXPECT_TRUE(grad_ok([&](const Vars& x) { return mha_outputs(m, x, Fwd().attn_mask(float_mask)); },
                      mha_inputs(m, q, k, v)))
      << "float attn_mask [B·h, T, S]";
  // kdim, vdim, sequence-first, unbatched
  nn::MultiheadAttention kv(
      nn::MultiheadAttentionOptions(4, 2).kdim(3).vdim(5).dtype(DType::Float64), gen);
  ASSERT_EQ(kv.named_parameters().size(), 6u);
  EXPECT_TRUE(
      grad_ok([&](const Vars& x) { return mha_outputs(kv, x, Fwd()); },
              mha_inputs(kv, input({2, 2, 4}, 97), input({3, 2, 3}, 98), input({3, 2, 5}, 99))))
      << "kdim, vdim, [T, B, E]";
  EXPECT_TRUE(grad_ok(
      [&](const Vars& x) {
        return mha_outputs(kv, x, Fwd().key_padding_mask(nn::padding_mask({2}, 3).reshape({3})));
      },
      mha_inputs(kv, input({2, 4}, 100), input({3, 3}, 101), input({3, 5}, 102))))
      << "unbatched";
}

// need_weights(false) records the attention's context alone; the output and every
// gradient are those of need_weights(true), bit for bit, and gradcheck passes.
TEST(MultiheadAttention, WithoutWeightsTheSameOutputAndGradients) {
  Generator gen(5);
  nn::MultiheadAttention m(f64_options(6, 3), gen);
  const Tensor x = input({2, 4, 6}, 110);
  const Fwd causal = Fwd().attn_mask(nn::causal_mask(4));
  std::vector<Tensor> outs;
  std::vector<NamedGrads> grads;
  for (const bool need : {true, false}) {
    m.zero_grad();
    const Variable in(x);
    const Variable y = m(in, in, in, Fwd(causal).need_weights(need)).output;
    sum(y * Variable(input(y.shape(), 111))).backward();
    outs.push_back(y.data());
    grads.push_back(param_grads(m));
  }
  EXPECT_EQ(max_abs_diff(outs[0], outs[1]), 0.0);
  for (size_t i = 0; i < grads[0].size(); ++i)
    EXPECT_EQ(max_abs_diff(grads[0][i].second, grads[1][i].second), 0.0) << grads[0][i].first;
  EXPECT_TRUE(grad_ok(
      [&](const Vars& v) {
        m.in_proj_weight = v[1];
        return m(v[0], v[0], v[0], Fwd(causal).need_weights(false)).output;
      },
      {x, m.in_proj_weight.data()}));
}

TEST(MultiheadAttention, HeadWeightsSumToOneAndAverageIsTheirMean) {
  Generator gen(4);
  nn::MultiheadAttention m(f64_options(8, 4), gen);
  EXPECT_EQ(m.head_dim, 2);
  const Variable q(input({2, 3, 8}, 96)), k(input({2, 5, 8}, 97)), v(input({2, 5, 8}, 98));
  auto [output, weights] = m(q, k, v, Fwd().average_attn_weights(false));
  const Variable average = m(q, k, v).weights;  // averaged: the default
  ASSERT_EQ(output.shape(), (Shape{2, 3, 8}));
  ASSERT_EQ(weights.shape(), (Shape{2, 4, 3, 5}));
  ASSERT_EQ(average.shape(), (Shape{2, 3, 5}));
  const Tensor w = weights.data(), a = average.data();
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t h = 0; h < 4; ++h) {
        double row = 0;
        for (int64_t j = 0; j < 5; ++j) row += w.at({b, h, i, j});
        EXPECT_NEAR(row, 1.0, 1e-15);
      }
      for (int64_t j = 0; j < 5; ++j) {
        double mean = 0;
        for (int64_t h = 0; h < 4; ++h) mean += w.at({b, h, i, j}) / 4;
        EXPECT_NEAR(a.at({b, i, j}), mean, 1e-16);
      }
    }
  }
  // need_weights = false: no weights at all, the same output
  const nn::MultiheadOutput lean = m(q, k, v, Fwd().need_weights(false));
  EXPECT_FALSE(lean.weights.defined());
  EXPECT_EQ(max_abs_diff(lean.output.data(), output.data()), 0.0);
}

// A padded key has weight 0 in every head, and what it holds cannot change the output.
TEST(MultiheadAttention, KeyPaddingMaskIsRespected) {
  Generator gen(5);
  nn::MultiheadAttention m(f64_options(8, 2), gen);
  const Tensor kpm = nn::padding_mask({4, 2}, 4);
  const Tensor q = input({2, 3, 8}, 100), k = input({2, 4, 8}, 101), v = input({2, 4, 8}, 102);
  const auto opts = Fwd().key_padding_mask(kpm).average_attn_weights(false);
  const nn::MultiheadOutput out = m(Variable(q), Variable(k), Variable(v), opts);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 2; j < 4; ++j) EXPECT_EQ(out.weights.data().at({1, h, i, j}), 0.0);
  // Scribble over the padded keys and values of sequence 1.
  Tensor k2 = k.clone(), v2 = v.clone();
  k2.narrow(0, 1, 1).narrow(1, 2, 2).fill_(100.0);
  v2.narrow(0, 1, 1).narrow(1, 2, 2).fill_(-100.0);
  const nn::MultiheadOutput out2 = m(Variable(q), Variable(k2), Variable(v2), opts);
  EXPECT_LT(max_abs_diff(out2.output.data(), out.output.data()), 1e-14);
  // ... which does change it without the mask.
  EXPECT_GT(max_abs_diff(m(Variable(q), Variable(k2), Variable(v2)).output.data(),
                         m(Variable(q), Variable(k), Variable(v)).output.data()),
            0.1);
  // A float key_padding_mask of 0 and −∞ means what the bool one does.
  const Tensor float_kpm = masked_fill(Tensor::zeros({2, 4}, DType::Float64), kpm, -INFINITY);
  const nn::MultiheadOutput out3 =
      m(Variable(q), Variable(k), Variable(v), Fwd().key_padding_mask(float_kpm));
  EXPECT_LT(max_abs_diff(out3.output.data(), out.output.data()), 1e-15);
}

// With a causal mask, changing the last step cannot change the outputs of the earlier ones.
TEST(MultiheadAttention, CausalMaskIsRespected) {
  Generator gen(6);
  nn::MultiheadAttention m(f64_options(8, 2), gen);
  const Tensor x = input({2, 4, 8}, 103);
  Tensor x2 = x.clone();
  x2.narrow(1, 3, 1).fill_(5.0);
  const auto causal = Fwd().attn_mask(nn::causal_mask(4)).average_attn_weights(false);
  const nn::MultiheadOutput a = m(Variable(x), Variable(x), Variable(x), causal);
  const nn::MultiheadOutput b = m(Variable(x2), Variable(x2), Variable(x2), causal);
  EXPECT_LT(max_abs_diff(a.output.data().narrow(1, 0, 3), b.output.data().narrow(1, 0, 3)), 1e-14);
  EXPECT_GT(max_abs_diff(a.output.data().narrow(1, 3, 1), b.output.data().narrow(1, 3, 1)), 0.1);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = i + 1; j < 4; ++j) EXPECT_EQ(a.weights.data().at({0, 1, i, j}), 0.0);
  // Both masks together: blocked where either blocks.
  auto both = causal;
  both.key_padding_mask(nn::padding_mask({4, 2}, 4));
  const nn::MultiheadOutput c = m(Variable(x), Variable(x), Variable(x), both);
  for (int64_t h = 0; h < 2; ++h) {
    for (int64_t i = 0; i < 4; ++i) {
      for (int64_t j = 0; j < 4; ++j) {
        const bool blocked = j > i || j >= 2;
        if (blocked) {
          EXPECT_EQ(c.weights.data().at({1, h, i, j}), 0.0) << h << i << j;
        } else {
          EXPECT_GT(c.weights.data().at({1, h, i, j}), 0.0) << h << i << j;
        }
      }
    }
  }
  // The same causal mask per batch element and head, [B·h, T, S], means the same.
  const Tensor per_head = nn::causal_mask(4).reshape({1, 4, 4}).expand({4, 4, 4}).contiguous();
  const nn::MultiheadOutput d = m(Variable(x), Variable(x), Variable(x),
                                  Fwd().attn_mask(per_head).average_attn_weights(false));
  EXPECT_EQ(max_abs_diff(d.output.data(), a.output.data()), 0.0);
}

TEST(MultiheadAttention, SequenceFirstAndUnbatchedLayouts) {
  Generator g1(7), g2(7), g3(7);
  nn::MultiheadAttention bf(f64_options(8, 2), g1);
  nn::MultiheadAttention tf(nn::MultiheadAttentionOptions(8, 2).dtype(DType::Float64), g2);
  EXPECT_EQ(tf.extra_repr(), "embed_dim=8, num_heads=2");
  EXPECT_EQ(bf.extra_repr(), "embed_dim=8, num_heads=2, batch_first=true");
  const Tensor q = input({2, 3, 8}, 104), k = input({2, 5, 8}, 105), v = input({2, 5, 8}, 106);
  const auto opts = Fwd().key_padding_mask(nn::padding_mask({5, 3}, 5));
  const nn::MultiheadOutput a = bf(Variable(q), Variable(k), Variable(v), opts);
  const nn::MultiheadOutput b = tf(Variable(q.transpose(0, 1)), Variable(k.transpose(0, 1)),
                                   Variable(v.transpose(0, 1)), opts);
  ASSERT_EQ(b.output.shape(), (Shape{3, 2, 8}));
  EXPECT_LT(max_abs_diff(b.output.data().transpose(0, 1), a.output.data()), 1e-14);
  EXPECT_LT(max_abs_diff(b.weights.data(), a.weights.data()), 1e-14);  // weights are [B, T, S]
  // Unbatched [T, E] is the batch of one, without the batch axis.
  nn::MultiheadAttention un(nn::MultiheadAttentionOptions(8, 2).dtype(DType::Float64), g3);
  const Variable q1(q.select(0, 1)), k1(k.select(0, 1)), v1(v.select(0, 1));
  const Tensor kpm1 = nn::padding_mask({3}, 5).reshape({5});
  const nn::MultiheadOutput c =
      un(q1, k1, v1, Fwd().key_padding_mask(kpm1).average_attn_weights(false));
  ASSERT_EQ(c.output.shape(), (Shape{3, 8}));
  ASSERT_EQ(c.weights.shape(), (Shape{2, 3, 5}));
  EXPECT_LT(max_abs_diff(c.output.data(), a.output.data().select(0, 1)), 1e-14);
  EXPECT_EQ(un(q1, k1, v1).weights.shape(), (Shape{3, 5}));
}

// forward(query, key, value) is forward(query, project_key_value(key, value)): the
// same ops, the same bits, masks and weights included. K and V projected in two
// pieces and concatenated along S attend as the whole (a key/value cache's use).
TEST(MultiheadAttention, ProjectedKeyValueIsWhatForwardAttendsTo) {
  for (bool batch_first : {true, false}) {
    Generator gen(12);
    nn::MultiheadAttention m(f64_options(8, 2).batch_first(batch_first), gen);
    const auto layout = [&](const Tensor& t) {
      return Variable(batch_first ? t : t.transpose(0, 1));
    };
    const Variable q = layout(input({2, 3, 8}, 110)), kv = layout(input({2, 5, 8}, 111));
    const auto opts =
        Fwd().key_padding_mask(nn::padding_mask({5, 3}, 5)).average_attn_weights(false);
    const nn::ProjectedKeyValue projected = m.project_key_value(kv, kv);
    ASSERT_EQ(projected.key.shape(), (Shape{2, 2, 5, 4}));  // [B, h, S, d_h]
    const nn::MultiheadOutput a = m(q, kv, kv, opts), b = m.forward(q, projected, opts);
    EXPECT_EQ(max_abs_diff(a.output.data(), b.output.data()), 0.0);
    EXPECT_EQ(max_abs_diff(a.weights.data(), b.weights.data()), 0.0);

    const int axis = batch_first ? 1 : 0;  // the sequence axis of kv
    const nn::ProjectedKeyValue first =
        m.project_key_value(kv.narrow(axis, 0, 2), kv.narrow(axis, 0, 2));
    const nn::ProjectedKeyValue rest =
        m.project_key_value(kv.narrow(axis, 2, 3), kv.narrow(axis, 2, 3));
    nn::ProjectedKeyValue joined = first;
    joined.append(rest);
    EXPECT_EQ(joined.length(), 5);
    EXPECT_LT(max_abs_diff(m.forward(q, joined, opts).output.data(), a.output.data()), 1e-14);
  }
  Generator gen(13);
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(8, 2).batch_first(true), gen);
  const Variable q(Tensor::zeros({2, 3, 8}));
  const nn::ProjectedKeyValue kv =
      m.project_key_value(Variable(Tensor::zeros({2, 4, 8})), Variable(Tensor::zeros({2, 4, 8})));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m.forward(Variable(Tensor::zeros({3, 3, 8})), kv);
      },
      {"MultiheadAttention", "query [3,3,8]", "projected key [2,2,4,4]", "B=3"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m.forward(q, nn::ProjectedKeyValue{kv.key, Variable()});
      },
      {"MultiheadAttention", "value (undefined)"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m.project_key_value(Variable(Tensor::zeros({2, 4, 8})), Variable(Tensor::zeros({2, 3, 8})));
      },
      {"MultiheadAttention", "key [2,4,8], value [2,3,8]", "must agree"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m.forward(q, kv, Fwd().key_padding_mask(nn::padding_mask({1, 2}, 3)));
      },
      {"key_padding_mask", "[2,3]", "[B, S] = [2,4]"}));
}

// causal_mask(T, P): the rows P … P + T − 1 of the square causal mask of P + T
// positions, so a query at position P + i sees keys 0 … P + i.
TEST(Masks, CausalWithPastPositionsIsTheSquareMasksLastRows) {
  const Tensor c = nn::causal_mask(2, 3);
  ASSERT_EQ(c.shape(), (Shape{2, 5}));
  EXPECT_EQ(c.dtype(), DType::Bool);
  EXPECT_EQ(
      max_abs_diff(c.to(DType::Float64), testing::f64({0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, {2, 5})),
      0.0);
  for (int64_t past : {0, 1, 4}) {
    const Tensor square = nn::causal_mask(past + 3);
    EXPECT_EQ(max_abs_diff(nn::causal_mask(3, past).to(DType::Float64),
                           square.narrow(0, past, 3).to(DType::Float64)),
              0.0)
        << "past " << past;
  }
  EXPECT_EQ(sum(nn::causal_mask(1, 6).to(DType::Float64)).item(), 0.0);  // the newest sees all
}

// forward_cached, fed a sequence in pieces (3, then 1, then 2 positions) with
// causal_mask(T, P), gives the self-attention of the whole with the causal mask:
// the cache ends holding the K and V of all 6 positions.
TEST(MultiheadAttention, ForwardCachedInPiecesIsTheCausalForwardOfTheWhole) {
  for (bool batch_first : {true, false}) {
    Generator gen(21);
    nn::MultiheadAttention m(f64_options(8, 2).batch_first(batch_first), gen);
    const int axis = batch_first ? 1 : 0;
    const Tensor whole = input({2, 6, 8}, 130);
    const Variable x(batch_first ? whole : whole.transpose(0, 1).contiguous());
    const nn::MultiheadOutput full =
        m(x, x, x, Fwd().attn_mask(nn::causal_mask(6)).average_attn_weights(false));
    nn::ProjectedKeyValue cache;
    int64_t at = 0;
    for (int64_t len : {3, 1, 2}) {
      const Variable piece = x.narrow(axis, at, len);
      const nn::MultiheadOutput out = m.forward_cached(
          piece, cache, Fwd().attn_mask(nn::causal_mask(len, at)).average_attn_weights(false));
      EXPECT_EQ(cache.length(), at + len);
      EXPECT_LT(max_abs_diff(out.output.data(), full.output.data().narrow(axis, at, len)), 1e-12)
          << "positions " << at << " … " << at + len - 1;
      // [B, h, len, at + len]: the rows of the full weights, the later keys cut off
      EXPECT_LT(max_abs_diff(out.weights.data(),
                             full.weights.data().narrow(2, at, len).narrow(3, 0, at + len)),
                1e-12);
      at += len;
    }
    const nn::ProjectedKeyValue all = m.project_key_value(x, x);
    EXPECT_LT(max_abs_diff(cache.key.data(), all.key.data()), 1e-12);
    EXPECT_LT(max_abs_diff(cache.value.data(), all.value.data()), 1e-12);
  }
}

// A bad call leaves the cache as it was; append refuses K and V of another shape.
TEST(MultiheadAttention, ForwardCachedRefusesWhatDoesNotFitAndKeepsTheCache) {
  Generator gen(22);
  nn::MultiheadAttention m(f64_options(8, 2), gen);
  nn::ProjectedKeyValue cache;
  m.forward_cached(Variable(input({2, 3, 8}, 131)), cache);
  ASSERT_EQ(cache.length(), 3);
  const Tensor key = cache.key.data();
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m.forward_cached(Variable(input({3, 1, 8}, 132)), cache);
      },
      {"ProjectedKeyValue::append", "[2,2,3,4]", "[3,2,1,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m.forward_cached(Variable(input({2, 2, 8}, 133)), cache,
                         Fwd().attn_mask(nn::causal_mask(2)));  // [2, 2], expected [2, 5]
      },
      {"MultiheadAttention", "attn_mask"}));
  EXPECT_EQ(cache.length(), 3);
  EXPECT_TRUE(same_storage(cache.key.data(), key));
}

// reorder keeps batch rows, copied or dropped, in the order asked; empty stays empty.
TEST(MultiheadAttention, ProjectedKeyValueReorderSelectsBatchRows) {
  Generator gen(23);
  nn::MultiheadAttention m(f64_options(8, 2), gen);
  const Variable x(input({3, 4, 8}, 134));
  nn::ProjectedKeyValue cache = m.project_key_value(x, x);
  const nn::ProjectedKeyValue before = cache;
  const std::vector<int64_t> rows{2, 0, 2, 1};
  cache.reorder(Tensor::from_vector(rows, {4}));
  ASSERT_EQ(cache.key.shape(), (Shape{4, 2, 4, 4}));
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto n = static_cast<int64_t>(i);
    EXPECT_EQ(max_abs_diff(cache.key.data().select(0, n), before.key.data().select(0, rows[i])),
              0.0);
    EXPECT_EQ(max_abs_diff(cache.value.data().select(0, n), before.value.data().select(0, rows[i])),
              0.0);
  }
  nn::ProjectedKeyValue empty;
  empty.reorder(Tensor::from_vector(std::vector<int64_t>{0}, {1}));
  EXPECT_EQ(empty.length(), 0);
}

// Dropout on the attention weights cannot be checked against torch's random numbers;
// what can: p = 0 and eval mode are the dropout-free module, and in training each
// weight is either 0 or its undropped value / (1 − p), the output mixing V by them.
TEST(MultiheadAttention, DropoutOnTheWeightsInTrainingOnly) {
  Generator g1(8), g2(8), g3(8);
  nn::MultiheadAttention plain(f64_options(8, 2), g1);
  nn::MultiheadAttention zero(f64_options(8, 2).dropout(0.0), g2);
  nn::MultiheadAttention drop(f64_options(8, 2).dropout(0.5), g3);
  EXPECT_EQ(drop.extra_repr(), "embed_dim=8, num_heads=2, dropout=0.5, batch_first=true");
  // The weights are drawn first, the dropout generator's seed after: same weights.
  EXPECT_EQ(max_abs_diff(drop.in_proj_weight.data(), plain.in_proj_weight.data()), 0.0);
  const Variable q(input({2, 3, 8}, 110)), k(input({2, 6, 8}, 111)), v(input({2, 6, 8}, 112));
  const auto per_head = Fwd().average_attn_weights(false);
  const nn::MultiheadOutput want = plain(q, k, v, per_head);
  EXPECT_EQ(max_abs_diff(zero(q, k, v, per_head).output.data(), want.output.data()), 0.0);
  drop.eval();
  EXPECT_EQ(max_abs_diff(drop(q, k, v, per_head).output.data(), want.output.data()), 0.0);
  drop.train();
  const nn::MultiheadOutput got = drop(q, k, v, per_head);
  const Tensor w = got.weights.data(), w0 = want.weights.data();
  int64_t zeros = 0;
  for (int64_t i = 0; i < w.numel(); ++i) {
    const Shape at = {i / 36, i / 18 % 2, i / 6 % 3, i % 6};
    if (w.at(at) == 0.0) {
      ++zeros;
    } else {
      EXPECT_NEAR(w.at(at), w0.at(at) / 0.5, 1e-15);
    }
  }
  EXPECT_GT(zeros, 20);  // of 72, p = 0.5
  EXPECT_LT(zeros, 52);
  // The output is W_O·(dropped weights · V) + b_O: recompute it from the returned weights.
  const int64_t e = 8;
  const Variable vp =
      nn::linear(v, drop.in_proj_weight.narrow(0, 2 * e, e), drop.in_proj_bias.narrow(0, 2 * e, e))
          .reshape({2, 6, 2, 4})
          .permute({0, 2, 1, 3});
  const Variable mixed = matmul(got.weights, vp).permute({0, 2, 1, 3}).reshape({2, 3, 8});
  EXPECT_LT(max_abs_diff((*drop.out_proj)(mixed).data(), got.output.data()), 1e-14);
  // A new mask each call, from the module's own generator.
  EXPECT_GT(max_abs_diff(drop(q, k, v, per_head).weights.data(), w), 0.0);
  // The gradient flows through the kept weights only: gradcheck with a fixed mask
  // (the generator's state restored before every evaluation).
  const Tensor state = drop.dropout_generator.state();
  EXPECT_TRUE(grad_ok(
      [&](const Vars& x) {
        drop.dropout_generator.set_state(state);
        return mha_outputs(drop, x, Fwd());
      },
      mha_inputs(drop, input({2, 2, 8}, 113), input({2, 3, 8}, 114), input({2, 3, 8}, 115))));
}

TEST(MultiheadAttention, BadInputsThrowClearly) {
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { nn::MultiheadAttention(6, 4); },
      {"MultiheadAttention", "embed_dim 6", "divisible", "num_heads 4"}));
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([] { nn::MultiheadAttention(8, 0); }, {"num_heads 0"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { nn::MultiheadAttention(nn::MultiheadAttentionOptions(8, 2).dropout(1.0)); },
      {"MultiheadAttention", "dropout", "[0, 1)"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] { nn::MultiheadAttention(nn::MultiheadAttentionOptions(8, 2).kdim(0)); },
      {"MultiheadAttention", "kdim 0"}));
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(8, 2).batch_first(true));
  const Variable x(Tensor::zeros({2, 3, 8})), kv(Tensor::zeros({2, 4, 8}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m(Variable(Tensor::zeros({2, 3, 6})), kv, kv);
      },
      {"MultiheadAttention", "[2,3,6]", "[B, T, E]", "E=8"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m(x, kv, Variable(Tensor::zeros({2, 5, 8})));
      },
      {"MultiheadAttention", "value [2,5,8]", "must agree"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m(x, kv, Variable(Tensor::zeros({4, 8})));
      },
      {"MultiheadAttention", "value [4,8]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m(x, kv, kv, Fwd().key_padding_mask(testing::i64({0, 0, 0, 0, 0, 0, 0, 0}, {2, 4})));
      },
      {"key_padding_mask", "int64[2,4]", "bool", "float32"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m(x, kv, kv, Fwd().key_padding_mask(Tensor::zeros({2, 4}, DType::Float64)));
      },
      {"key_padding_mask", "float64[2,4]", "float32 (added to the scores)"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m(x, kv, kv, Fwd().key_padding_mask(nn::padding_mask({1, 2, 3}, 4)));
      },
      {"key_padding_mask", "[3,4]", "[B, S] = [2,4]"}));
  // attn_mask: [T, S] or [B·h, T, S], nothing else (PyTorch's two shapes)
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([&] { m(x, kv, kv, Fwd().attn_mask(nn::causal_mask(4))); },
                                         {"attn_mask", "[4,4]", "[T, S] = [3,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m(x, kv, kv, Fwd().attn_mask(Tensor::zeros({2, 3, 4})));
      },
      {"attn_mask", "[2,3,4]", "[B·num_heads, T, S] = [4,3,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        m(x, kv, kv, Fwd().attn_mask(Tensor::zeros({1, 2, 3, 4})));
      },
      {"attn_mask", "[1,2,3,4]", "[T, S]"}));
}

// ---- positional encodings -------------------------------------------------------------------

TEST(PositionalEncoding, LearnedAddsTheFirstTRows) {
  Generator gen(8);
  nn::LearnedPositionalEncoding pe(nn::PositionalEncodingOptions(6, 4).dtype(DType::Float64), gen);
  EXPECT_EQ(pe.num_parameters(), 24);
  Variable x = Variable(input({2, 3, 4}, 110)).requires_grad_();
  const Variable y = pe(x);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t e = 0; e < 4; ++e)
        EXPECT_EQ(y.data().at({b, t, e}), x.data().at({b, t, e}) + pe.weight.data().at({t, e}));
  sum(y).backward();
  // Each used position gets the gradient of both batch entries; unused rows get 0.
  for (int64_t t = 0; t < 6; ++t)
    for (int64_t e = 0; e < 4; ++e) EXPECT_EQ(pe.weight.grad().at({t, e}), t < 3 ? 2.0 : 0.0);
  EXPECT_TRUE(grad_ok(
      [&](const Vars& v) {
        pe.weight = v[1];
        return pe(v[0]);
      },
      {input({2, 3, 4}, 111), pe.weight.data()}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        pe(Variable(input({2, 7, 4}, 1)));
      },
      {"LearnedPositionalEncoding", "[2,7,4]", "T ≤ 6"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        pe(Variable(input({2, 3, 5}, 1)));
      },
      {"[2,3,5]"}));
}

TEST(PositionalEncoding, SinusoidTableValues) {
  nn::SinusoidalPositionalEncoding pe(nn::PositionalEncodingOptions(50, 8).dtype(DType::Float64));
  EXPECT_EQ(pe.num_parameters(), 0);
  ASSERT_EQ(pe.table.shape(), (Shape{50, 8}));
  // P[t, 2i] = sin(t / 10000^(2i/d)), P[t, 2i+1] = cos(t / 10000^(2i/d)); d = 8: 10000^(2i/8) =
  // 10^i
  for (int64_t t : {0, 1, 7, 49}) {
    for (int64_t i = 0; i < 4; ++i) {
      const double angle = static_cast<double>(t) / std::pow(10.0, static_cast<double>(i));
      EXPECT_NEAR(pe.table.at({t, 2 * i}), std::sin(angle), 1e-14) << t << "," << i;
      EXPECT_NEAR(pe.table.at({t, 2 * i + 1}), std::cos(angle), 1e-14) << t << "," << i;
    }
  }
  EXPECT_EQ(pe.table.at({0, 0}), 0.0);
  EXPECT_EQ(pe.table.at({0, 1}), 1.0);
  EXPECT_NEAR(pe.table.at({1, 0}), 0.8414709848078965, 1e-16);  // sin 1
  EXPECT_NEAR(pe.table.at({1, 3}), 0.9950041652780258, 1e-16);  // cos 0.1
  Variable x = Variable(input({2, 5, 8}, 112)).requires_grad_();
  const Variable y = pe(x);
  EXPECT_EQ(max_abs_diff(y.data(), add(x.data(), pe.table.narrow(0, 0, 5))), 0.0);
  sum(y).backward();
  EXPECT_EQ(max_abs_diff(x.grad(), Tensor::ones({2, 5, 8}, DType::Float64)), 0.0);
  EXPECT_EQ(nn::SinusoidalPositionalEncoding(4, 6).table.dtype(), DType::Float32);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        pe(Variable(input({1, 51, 8}, 1)));
      },
      {"SinusoidalPositionalEncoding", "T ≤ 50"}));
}

// ---- AdditiveAttention ------------------------------------------------------------------------

// score_j = vᵀ tanh(W_q q + W_k k_j), the long way, for one query row.
std::vector<double> additive_scores_by_hand(const nn::AdditiveAttention& att, const Tensor& q_row,
                                            const Tensor& keys) {
  const Tensor wq = att.w_q->weight.data(), wk = att.w_k->weight.data(), v = att.v->weight.data();
  std::vector<double> scores;
  for (int64_t j = 0; j < keys.size(0); ++j) {
    double s = 0;
    for (int64_t a = 0; a < att.options.attn_dim(); ++a) {
      double u = 0;
      for (int64_t e = 0; e < att.options.query_dim(); ++e) u += wq.at({a, e}) * q_row.at({e});
      for (int64_t e = 0; e < att.options.key_dim(); ++e) u += wk.at({a, e}) * keys.at({j, e});
      s += v.at({0, a}) * std::tanh(u);
    }
    scores.push_back(s);
  }
  return scores;
}

TEST(AdditiveAttention, ScoresAreVTanhOfTheProjections) {
  Generator gen(4);
  nn::AdditiveAttention att(nn::AdditiveAttentionOptions(3, 5).attn_dim(4).dtype(DType::Float64),
                            gen);
  EXPECT_EQ(testing::parameter_names(att),
            (std::vector<std::string>{"w_q.weight", "w_k.weight", "v.weight"}));
  EXPECT_EQ(att.v->weight.shape(), (Shape{1, 4}));
  EXPECT_EQ(att.extra_repr(), "query_dim=3, key_dim=5, attn_dim=4");
  EXPECT_EQ(nn::AdditiveAttention(6, 2).options.attn_dim(), 6);  // 0: the query's width

  const Tensor query = input({2, 3}, 80), keys = input({2, 6, 5}, 81),
               values = input({2, 6, 2}, 82);
  const Tensor key_mask = nn::padding_mask({6, 4}, 6);  // batch 1: keys 4 and 5 are padding
  const nn::AttentionOutput out = att(Variable(query), Variable(keys), Variable(values), key_mask);
  ASSERT_EQ(out.weights.shape(), (Shape{2, 6}));  // one decoder step: [B, Tk]
  ASSERT_EQ(out.context.shape(), (Shape{2, 2}));
  for (int64_t b = 0; b < 2; ++b) {
    std::vector<bool> blocked;
    for (int64_t j = 0; j < 6; ++j) blocked.push_back(key_mask.at({b, j}) != 0);
    const std::vector<double> s =
        additive_scores_by_hand(att, query.select(0, b), keys.select(0, b));
    // softmax over the unblocked keys, then the weighted sum of the values
    double m = -INFINITY, z = 0;
    for (int64_t j = 0; j < 6; ++j)
      if (!blocked[static_cast<size_t>(j)]) m = std::max(m, s[static_cast<size_t>(j)]);
    for (int64_t j = 0; j < 6; ++j)
      if (!blocked[static_cast<size_t>(j)]) z += std::exp(s[static_cast<size_t>(j)] - m);
    std::vector<double> context(2, 0.0);
    for (int64_t j = 0; j < 6; ++j) {
      const double a =
          blocked[static_cast<size_t>(j)] ? 0.0 : std::exp(s[static_cast<size_t>(j)] - m) / z;
      EXPECT_NEAR(out.weights.data().at({b, j}), a, 1e-14) << b << " " << j;
      for (int64_t e = 0; e < 2; ++e) context[static_cast<size_t>(e)] += a * values.at({b, j, e});
    }
    for (int64_t e = 0; e < 2; ++e)
      EXPECT_NEAR(out.context.data().at({b, e}), context[static_cast<size_t>(e)], 1e-14);
  }
  // [B, Tq, d] queries give [B, Tq, Tk] weights; values default to the keys.
  const nn::AttentionOutput many = att(Variable(input({2, 3, 3}, 83)), Variable(keys));
  EXPECT_EQ(many.weights.shape(), (Shape{2, 3, 6}));
  EXPECT_EQ(many.context.shape(), (Shape{2, 3, 5}));
}

// [extending:additive-attention-gradcheck]
// Query, keys, values and all three weights are gradcheck's inputs, unmasked,
// with a random mask, and with a fully masked row.
TEST(AdditiveAttention, GradcheckMaskedAndUnmasked) {
  Generator gen(5);
  nn::AdditiveAttention att(nn::AdditiveAttentionOptions(3, 4).attn_dim(2).dtype(DType::Float64),
                            gen);
  Tensor mask = random_mask({2, 5}, 84);
  mask.select(0, 1).fill_(1.0);  // batch 1 may see no key at all
  for (const Tensor& key_mask : {Tensor(), random_mask({2, 5}, 85), mask}) {
    for (const Shape& q_shape : {Shape{2, 3}, Shape{2, 2, 3}}) {
      EXPECT_TRUE(grad_ok(
          [&](const Vars& v) {
            att.w_q->weight = v[3];
            att.w_k->weight = v[4];
            att.v->weight = v[5];
            return both_outputs(att(v[0], v[1], v[2], key_mask));
          },
          {input(q_shape, 86), input({2, 5, 4}, 87), input({2, 5, 3}, 88), input({2, 3}, 89),
           input({2, 4}, 90), input({1, 2}, 91)}))
          << "query " << q_shape << (key_mask.defined() ? ", masked" : ", unmasked");
    }
  }
}
// [/extending:additive-attention-gradcheck]

TEST(AdditiveAttention, FullyMaskedRowGivesZerosAndFiniteZeroGradients) {
  Generator gen(6);
  nn::AdditiveAttention att(nn::AdditiveAttentionOptions(4, 4).attn_dim(3).dtype(DType::Float64),
                            gen);
  const Tensor key_mask = bool_mask({0, 1, 0, 0, 1, 1, 1, 1}, {2, 4});  // batch 1: all blocked
  Variable q = Variable(input({2, 3, 4}, 92)).requires_grad_(),
           k = Variable(input({2, 4, 4}, 93)).requires_grad_(),
           v = Variable(input({2, 4, 2}, 94)).requires_grad_();
  const nn::AttentionOutput out = att(q, k, v, key_mask);
  const Tensor w = out.weights.data(), c = out.context.data();
  ASSERT_TRUE(all_finite(w) && all_finite(c));
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(w.at({1, i, j}), 0.0);
    for (int64_t e = 0; e < 2; ++e) EXPECT_EQ(c.at({1, i, e}), 0.0);
    EXPECT_EQ(w.at({0, i, 1}), 0.0);  // batch 0: key 1 blocked
    EXPECT_NEAR(w.at({0, i, 0}) + w.at({0, i, 2}) + w.at({0, i, 3}), 1.0, 1e-15);
  }
  (sum(out.context * Variable(input({2, 3, 2}, 95))) +
   sum(out.weights * Variable(input({2, 3, 4}, 96))))
      .backward();
  for (const Variable* x : {&q, &k, &v}) ASSERT_TRUE(all_finite(x->grad()));
  for (const auto& [name, p] : att.named_parameters()) ASSERT_TRUE(all_finite(p.grad())) << name;
  // Nothing flows to or from the blocked batch: its query, keys and values get zeros.
  EXPECT_EQ(amax(abs(q.grad().select(0, 1))).item(), 0.0);
  EXPECT_EQ(amax(abs(k.grad().select(0, 1))).item(), 0.0);
  EXPECT_EQ(amax(abs(v.grad().select(0, 1))).item(), 0.0);
  EXPECT_EQ(amax(abs(k.grad().select(0, 0).select(0, 1))).item(), 0.0);  // a blocked key
  EXPECT_GT(amax(abs(q.grad().select(0, 0))).item(), 0.0);
}

TEST(AdditiveAttention, BadInputsThrowClearly) {
  nn::AdditiveAttention att(nn::AdditiveAttentionOptions(3, 4).attn_dim(2));
  const Variable query(Tensor::zeros({2, 3})), keys(Tensor::zeros({2, 5, 4}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        att(Variable(Tensor::zeros({2, 4})), keys);
      },
      {"AdditiveAttention", "query [2,4]", "[B, 3]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        att(query, Variable(Tensor::zeros({2, 5, 3})));
      },
      {"AdditiveAttention", "keys [2,5,3]", "[B, Tk, 4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        att(query, Variable(Tensor::zeros({3, 5, 4})));
      },
      {"AdditiveAttention", "[3,5,4]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        att(query, keys, Variable(Tensor::zeros({2, 6, 2})));
      },
      {"AdditiveAttention", "values [2,6,2]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        att(query, keys, {}, nn::padding_mask({5, 2, 1}, 5));
      },
      {"AdditiveAttention", "key_mask", "[3,5]", "[2,5]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] {
        att(query, keys, {}, Tensor::zeros({2, 5}, DType::Int64));
      },
      {"AdditiveAttention", "key_mask int64", "bool"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { nn::AdditiveAttention(0, 4); },
                                                 {"AdditiveAttention", "0, 4 and 0"}));
}

}  // namespace
}  // namespace minigrad
