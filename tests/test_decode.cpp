// Decoding (nn/decode.cpp): greedy_decode and beam_search against toy decoders whose
// distributions are known. The reference is brute force: every sequence a decoder
// can produce is enumerated and scored (log P / n^α), and the search must find the
// best one where it provably can (a beam wide enough to keep every prefix), and
// where a Markov table makes greedy miss it but a beam of two does not. Width 1
// gives greedy's tokens; rows finish at different steps; the length penalty picks
// another winner; a batch element decodes alike alone and among others. Sampling
// is checked by its frequencies: 20,000 draws from fixed logits against the
// filtered distribution written out from its definition; the filters themselves
// against nanoGPT's top-k and Hugging Face's top-p run by torch
// (tools/make_sampling_fixtures.py).
#include "minigrad/nn/decode.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "minigrad/tensor/ops.h"
#include "tests/parity_testing.h"
#include "tests/testing.h"

namespace minigrad {
namespace {

using Tokens = std::vector<int64_t>;

// The logits of the next token for batch element b after `prefix` (the start
// symbol first): the whole model of a toy decoder.
using NextLogits = std::function<std::vector<double>(int64_t b, const Tokens& prefix)>;

// A decoder whose state per row is the batch element and the tokens fed so far,
// which reorder() copies and drops as a real model's cache would be: a wrong
// reorder feeds a row another row's history, and its log-probabilities change.
class ToyDecoder final : public nn::IncrementalDecoder {
 public:
  ToyDecoder(int64_t batch, NextLogits next, DType dtype = DType::Float64)
      : next_(std::move(next)), dtype_(dtype) {
    for (int64_t b = 0; b < batch; ++b) rows_.push_back({b, {}});
  }
  int64_t batch_size() const override { return static_cast<int64_t>(rows_.size()); }
  Tensor step(const Tensor& last_tokens) override {
    const Tokens last = last_tokens.to_vector<int64_t>();
    fed.push_back(last);
    std::vector<double> scores;
    for (size_t i = 0; i < rows_.size(); ++i) {
      rows_[i].prefix.push_back(last[i]);
      const std::vector<double> row = next_(rows_[i].element, rows_[i].prefix);
      scores.insert(scores.end(), row.begin(), row.end());
    }
    const int64_t n = batch_size(), vocab = static_cast<int64_t>(scores.size()) / n;
    return Tensor::from_vector(scores, {n, vocab}).to(dtype_);
  }
  void reorder(const Tensor& index) override {
    std::vector<Row> kept;
    for (int64_t i : index.to_vector<int64_t>()) kept.push_back(rows_.at(static_cast<size_t>(i)));
    rows_ = std::move(kept);
  }
  std::vector<Tokens> fed;  ///< the tokens of each step() call

 private:
  struct Row {
    int64_t element;
    Tokens prefix;
  };
  NextLogits next_;
  DType dtype_;
  std::vector<Row> rows_;
};

// ---- brute force ---------------------------------------------------------------------------

// log p(· | prefix) as the searches compute it: log_softmax in the decoder's dtype.
std::vector<double> log_probs(const std::vector<double>& logits, DType dtype) {
  const Tensor t = Tensor::from_vector(logits, {static_cast<int64_t>(logits.size())}).to(dtype);
  return log_softmax(t, -1).to(DType::Float64).to_vector<double>();
}

// Every sequence batch element b can produce: stopped by `end` or by max_length,
// scored log P / n^α; best first (the enumeration order among equal scores).
std::vector<nn::Hypothesis> enumerate(const NextLogits& next, int64_t b, int64_t start,
                                      int64_t max_length, std::optional<int64_t> end, double alpha,
                                      DType dtype = DType::Float64) {
  std::vector<nn::Hypothesis> all;
  std::function<void(Tokens, double)> grow = [&](Tokens tokens, double log_prob) {
    const bool ended = !tokens.empty() && end && tokens.back() == *end;
    if (ended || static_cast<int64_t>(tokens.size()) == max_length) {
      const double n = static_cast<double>(tokens.size());
      all.push_back({tokens, log_prob, log_prob / std::pow(n, alpha)});
      return;
    }
    Tokens prefix{start};
    prefix.insert(prefix.end(), tokens.begin(), tokens.end());
    const std::vector<double> lp = log_probs(next(b, prefix), dtype);
    for (size_t v = 0; v < lp.size(); ++v) {
      Tokens longer = tokens;
      longer.push_back(static_cast<int64_t>(v));
      grow(longer, log_prob + lp[v]);
    }
  };
  grow({}, 0.0);
  std::stable_sort(all.begin(), all.end(), [](const nn::Hypothesis& x, const nn::Hypothesis& y) {
    return x.score > y.score;
  });
  return all;
}

// log P of `tokens` under the decoder (the reference for a searched hypothesis).
double log_prob_of(const NextLogits& next, int64_t b, int64_t start, const Tokens& tokens,
                   DType dtype = DType::Float64) {
  Tokens prefix{start};
  double total = 0;
  for (int64_t token : tokens) {
    total += log_probs(next(b, prefix), dtype)[static_cast<size_t>(token)];
    prefix.push_back(token);
  }
  return total;
}

// ---- toy models ------------------------------------------------------------------------------

// A first-order Markov chain over V tokens plus the start symbol V: the next
// token's probabilities depend on the previous token alone, table[prev][next].
NextLogits markov(std::vector<std::vector<double>> table) {
  return [table = std::move(table)](int64_t, const Tokens& prefix) {
    std::vector<double> logits;
    for (double p : table[static_cast<size_t>(prefix.back())])
      logits.push_back(p > 0 ? std::log(p) : -30.0);
    return logits;
  };
}

// Logits in [-2, 2) drawn from a hash of (seed, b, the whole prefix): every
// history, and every batch element, has a distribution of its own.
NextLogits random_model(uint64_t seed, int64_t vocab) {
  return [seed, vocab](int64_t b, const Tokens& prefix) {
    uint64_t h = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(b);
    auto mix = [&h](uint64_t x) {  // splitmix64 of h ^ x
      uint64_t z = (h ^ x) + 0x9E3779B97F4A7C15ull;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      h = z ^ (z >> 31);
    };
    for (int64_t token : prefix) mix(static_cast<uint64_t>(token) + 1);
    std::vector<double> logits;
    for (int64_t v = 0; v < vocab; ++v) {
      mix(static_cast<uint64_t>(v) + 1000);
      logits.push_back(4.0 * static_cast<double>(h >> 11) / 9007199254740992.0 - 2.0);
    }
    return logits;
  };
}

Tokens row_of(const Tensor& tokens, int64_t b) { return tokens.select(0, b).to_vector<int64_t>(); }

// beam_search of width K over `model` for `batch` elements, the end symbol 0.
nn::BeamSearchOutput search(const NextLogits& model, int64_t batch, int64_t width, int64_t start,
                            int64_t max_length, double alpha) {
  ToyDecoder decoder(batch, model);
  return nn::beam_search(decoder, nn::BeamSearchOptions(width)
                                      .start_symbol(start)
                                      .max_length(max_length)
                                      .end_symbol(0)
                                      .length_penalty(alpha));
}

// ---- greedy ------------------------------------------------------------------------------

// Row b produces 2, 1, 2, … (logit 5 against 0, and −3 for the end symbol 0) until
// the end symbol at step b + 1, and the end symbol at every later step too: the
// rows finish at steps 1, 2, 3.
NextLogits finishing_at_row_plus_one() {
  return [](int64_t b, const Tokens& prefix) {
    const int64_t step = static_cast<int64_t>(prefix.size());  // 1 at the first step
    std::vector<double> logits{-3.0, 0.0, 0.0, 0.0};
    logits[step > b ? 0 : static_cast<size_t>(1 + step % 2)] = 5.0;
    return logits;
  };
}

TEST(GreedyDecode, RowsFinishAtDifferentStepsAndThenPad) {
  ToyDecoder decoder(3, finishing_at_row_plus_one());
  const Tensor tokens = nn::greedy_decode(
      decoder,
      nn::GreedyDecodeOptions().start_symbol(9).max_length(10).end_symbol(0).pad_symbol(7));
  // It stops once the last row has finished (step 3), not at max_length.
  ASSERT_EQ(tokens.shape(), Shape({3, 3}));
  EXPECT_EQ(tokens.dtype(), DType::Int64);
  for (int64_t b = 0; b < 3; ++b) {
    Tokens want;
    for (int64_t step = 1; step <= 3; ++step)
      want.push_back(step <= b ? 1 + step % 2 : step == b + 1 ? 0 : 7);
    EXPECT_EQ(row_of(tokens, b), want) << "row " << b;
  }
  // the start symbol first, then each row its own last output (the pad once finished)
  const std::vector<Tokens> fed{{9, 9, 9}, {0, 2, 2}, {7, 0, 1}};
  EXPECT_EQ(decoder.fed, fed);
}

TEST(GreedyDecode, WithoutEndSymbolRunsMaxLengthAndFollowsArgmax) {
  const NextLogits model = random_model(3, 5);
  ToyDecoder decoder(2, model, DType::Float32);
  const Tensor tokens =
      nn::greedy_decode(decoder, nn::GreedyDecodeOptions().start_symbol(5).max_length(6));
  ASSERT_EQ(tokens.shape(), Shape({2, 6}));
  for (int64_t b = 0; b < 2; ++b) {
    Tokens prefix{5};
    for (int64_t token : row_of(tokens, b)) {
      const std::vector<double> logits = model(b, prefix);
      const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
      EXPECT_EQ(token, best) << "row " << b << " after " << prefix.size() << " tokens";
      prefix.push_back(token);
    }
  }
}

// ---- beam search against brute force -------------------------------------------------------

// A beam wide enough to keep every prefix is an exhaustive search: its finished
// hypotheses are every sequence, ranked as brute force ranks them, and each one's
// log P is the one its tokens have (so reorder() carried the right history).
TEST(BeamSearch, WideBeamIsExhaustiveSearch) {
  const int64_t vocab = 3, start = 3, max_length = 4, batch = 3;
  const NextLogits model = random_model(11, vocab);
  for (double alpha : {0.0, 0.6, 1.0, 2.0}) {
    // 15 sequences end in the end symbol 0 before max_length, 16 reach it: 31 in all
    const nn::BeamSearchOutput out = search(model, batch, 64, start, max_length, alpha);
    ASSERT_EQ(out.beams.size(), size_t{batch});
    for (int64_t b = 0; b < batch; ++b) {
      const std::vector<nn::Hypothesis> want = enumerate(model, b, start, max_length, 0, alpha);
      const std::vector<nn::Hypothesis>& got = out.beams[static_cast<size_t>(b)];
      ASSERT_EQ(want.size(), size_t{31});
      ASSERT_EQ(got.size(), want.size()) << "alpha " << alpha << ", batch element " << b;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[i].tokens, want[i].tokens) << "alpha " << alpha << ", rank " << i;
        EXPECT_NEAR(got[i].score, want[i].score, 1e-12);
        EXPECT_NEAR(got[i].log_prob, log_prob_of(model, b, start, got[i].tokens), 1e-12);
      }
      // the best, padded with the end symbol, in the tensors
      Tokens best = want[0].tokens;
      best.resize(static_cast<size_t>(out.tokens.size(1)), 0);
      EXPECT_EQ(row_of(out.tokens, b), best);
      EXPECT_EQ(out.scores.at({b}), got[0].score);
      EXPECT_EQ(out.lengths.at({b}), static_cast<double>(want[0].tokens.size()));
    }
  }
}

// A Markov chain on which greedy goes wrong: from the start, token 1 (0.5) beats 2
// (0.45), but after 1 every continuation is uncertain, while 2 → 3 → end is near
// certain. A beam of two keeps 2 alive long enough to find the better sequence.
TEST(BeamSearch, WidthTwoFindsWhatGreedyMisses) {
  // tokens: 0 = end, 1, 2, 3; row 4 is the start symbol
  const NextLogits model = markov({{1, 0, 0, 0},  // end → end
                                   {0.1, 0.3, 0.3, 0.3},
                                   {0.05, 0.0, 0.05, 0.9},
                                   {0.9, 0.05, 0.05, 0.0},
                                   {0.0, 0.5, 0.45, 0.05}});
  const int64_t start = 4, max_length = 5;
  for (double alpha : {0.0, 1.0}) {
    const std::vector<nn::Hypothesis> all = enumerate(model, 0, start, max_length, 0, alpha);
    const nn::Hypothesis& best = all[0];
    ASSERT_GT(best.score, all[1].score) << "the table must have one best sequence";

    ToyDecoder greedy_decoder(1, model);
    const Tokens greedy = row_of(
        nn::greedy_decode(
            greedy_decoder,
            nn::GreedyDecodeOptions().start_symbol(start).max_length(max_length).end_symbol(0)),
        0);
    const double greedy_score =
        log_prob_of(model, 0, start, greedy) / std::pow(static_cast<double>(greedy.size()), alpha);
    EXPECT_LT(greedy_score, best.score - 0.1) << "greedy should miss the best sequence";

    const nn::BeamSearchOutput out = search(model, 1, 2, start, max_length, alpha);
    EXPECT_EQ(out.beams[0][0].tokens, best.tokens) << "alpha " << alpha;
    EXPECT_NEAR(out.scores.at({0}), best.score, 1e-12);
  }
}

// Stopping after one token (the end, p = 0.5) has the highest log P; the three
// tokens 1, 2, end (p = 0.5 · 0.9 · 0.9) the highest log P per token. α decides.
TEST(BeamSearch, LengthPenaltyChangesTheWinner) {
  const NextLogits model = markov({{1, 0, 0},  // end → end
                                   {0.01, 0.09, 0.9},
                                   {0.9, 0.05, 0.05},
                                   {0.5, 0.5, 0.0}});  // start
  const int64_t start = 3, max_length = 4;
  std::vector<Tokens> winners;
  for (double alpha : {0.0, 1.0}) {
    const std::vector<nn::Hypothesis> all = enumerate(model, 0, start, max_length, 0, alpha);
    ASSERT_GT(all[0].score, all[1].score);
    const nn::BeamSearchOutput out = search(model, 1, 2, start, max_length, alpha);
    EXPECT_EQ(out.beams[0][0].tokens, all[0].tokens) << "alpha " << alpha;
    EXPECT_EQ(out.lengths.at({0}), static_cast<double>(all[0].tokens.size()));
    winners.push_back(out.beams[0][0].tokens);
  }
  EXPECT_NE(winners[0], winners[1]) << "the length penalty should change the winner";
  EXPECT_EQ(winners[0], Tokens({0}));  // the short one wins on log P alone
}

// Batch elements finish at different steps, and a done one leaves the decoder's
// rows: B rows at the first step, K·B once the beams are full, then fewer as the
// elements are done, and the search stops before max_length once all are.
TEST(BeamSearch, BatchElementsFinishAtDifferentSteps) {
  const NextLogits model = finishing_at_row_plus_one();
  const int64_t start = 9, max_length = 6, batch = 3;
  ToyDecoder decoder(batch, model);
  const nn::BeamSearchOutput out = nn::beam_search(
      decoder, nn::BeamSearchOptions(2).start_symbol(start).max_length(max_length).end_symbol(0));
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<nn::Hypothesis> all = enumerate(model, b, start, max_length, 0, 1.0);
    EXPECT_EQ(out.beams[static_cast<size_t>(b)][0].tokens, all[0].tokens) << "element " << b;
    EXPECT_EQ(out.lengths.at({b}), static_cast<double>(b + 1));
  }
  std::vector<size_t> rows;
  for (const Tokens& fed : decoder.fed) rows.push_back(fed.size());
  ASSERT_GE(rows.size(), size_t{3});
  EXPECT_LT(rows.size(), size_t{max_length}) << "every element is done before max_length";
  EXPECT_EQ(rows[0], size_t{batch});
  EXPECT_EQ(rows[1], size_t{2 * batch});
  for (size_t t = 2; t < rows.size(); ++t) EXPECT_LE(rows[t], rows[t - 1]) << "step " << t;
  EXPECT_LT(rows.back(), size_t{2 * batch}) << "done elements should leave";
}

// ---- width 1 is greedy ---------------------------------------------------------------------

TEST(BeamSearch, WidthOneGivesGreedysTokens) {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (uint64_t seed = 0; seed < 8; ++seed) {
      for (std::optional<int64_t> end : {std::optional<int64_t>(), std::optional<int64_t>(2)}) {
        const NextLogits model = random_model(seed, 6);
        ToyDecoder g(4, model, dtype), s(4, model, dtype);
        const Tensor greedy = nn::greedy_decode(
            g, nn::GreedyDecodeOptions().start_symbol(6).max_length(7).end_symbol(end));
        const nn::BeamSearchOutput beam = nn::beam_search(
            s, nn::BeamSearchOptions(1).start_symbol(6).max_length(7).end_symbol(end));
        EXPECT_EQ(beam.tokens.shape(), greedy.shape()) << "seed " << seed;
        EXPECT_EQ(beam.tokens.to_vector<int64_t>(), greedy.to_vector<int64_t>())
            << dtype_name(dtype) << ", seed " << seed << (end ? ", end 2" : "");
      }
    }
  }
}

// Logits that tie: greedy's argmax takes the lower token, and so does width 1.
TEST(BeamSearch, WidthOneBreaksTiesAsArgmax) {
  const NextLogits ties = [](int64_t, const Tokens& prefix) {
    std::vector<double> logits(5, 0.0);
    logits[static_cast<size_t>(prefix.size() % 3 + 1)] = 1.0;
    logits[static_cast<size_t>(prefix.size() % 3 + 2)] = 1.0;
    return logits;
  };
  ToyDecoder g(2, ties), s(2, ties);
  const Tensor greedy = nn::greedy_decode(g, nn::GreedyDecodeOptions().max_length(5));
  const Tensor beam = nn::beam_search(s, nn::BeamSearchOptions(1).max_length(5)).tokens;
  EXPECT_EQ(greedy.to_vector<int64_t>(), Tokens({2, 3, 1, 2, 3, 2, 3, 1, 2, 3}));
  EXPECT_EQ(beam.to_vector<int64_t>(), greedy.to_vector<int64_t>());
}

// ---- determinism ---------------------------------------------------------------------------

// The same search twice gives the same bits, and a batch element decodes alike
// alone and among others (their rows never mix, and others finishing does not
// disturb it).
TEST(BeamSearch, SameBitsAloneAndInABatch) {
  const NextLogits model = random_model(5, 4);
  const auto search = [&](int64_t batch) {
    ToyDecoder decoder(batch, model, DType::Float32);
    return nn::beam_search(decoder,
                           nn::BeamSearchOptions(3).start_symbol(4).max_length(6).end_symbol(1));
  };
  const nn::BeamSearchOutput a = search(3), b = search(3), alone = search(1);
  for (const nn::BeamSearchOutput* other : {&b, &alone}) {
    const size_t elements = other->beams.size();
    for (size_t e = 0; e < elements; ++e) {
      ASSERT_EQ(other->beams[e].size(), a.beams[e].size());
      for (size_t i = 0; i < a.beams[e].size(); ++i) {
        EXPECT_EQ(other->beams[e][i].tokens, a.beams[e][i].tokens);
        EXPECT_EQ(other->beams[e][i].score, a.beams[e][i].score);  // bits
      }
    }
  }
}

// ---- sampling ------------------------------------------------------------------------------

constexpr double kInf = std::numeric_limits<double>::infinity();

// Every row gets the same logits at every step.
NextLogits fixed(std::vector<double> logits) {
  return [logits](int64_t, const Tokens&) { return logits; };
}

// The distribution sample_decode must draw from, written from the definitions
// rather than as filter_logits computes it: softmax(l / T); top-k keeps what is not
// below the k-th largest; top-p keeps the shortest run of the likeliest tokens
// (the lower token first among equals) whose probabilities add up to p or more.
std::vector<double> reference(std::vector<double> logits, double temperature, int64_t top_k = 0,
                              double top_p = 1.0) {
  const size_t vocab = logits.size();
  for (double& l : logits) l /= temperature;
  if (top_k > 0 && static_cast<size_t>(top_k) < vocab) {
    std::vector<double> sorted = logits;
    std::sort(sorted.rbegin(), sorted.rend());
    const double kth = sorted[static_cast<size_t>(top_k - 1)];
    for (double& l : logits)
      if (l < kth) l = -kInf;
  }
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p;
  double total = 0;
  for (double l : logits) total += p.emplace_back(std::exp(l - top));
  for (double& x : p) x /= total;
  if (top_p < 1) {
    std::vector<size_t> order(vocab);
    for (size_t v = 0; v < vocab; ++v) order[v] = v;
    std::stable_sort(order.begin(), order.end(), [&p](size_t a, size_t b) { return p[a] > p[b]; });
    double head = 0;
    size_t kept = 0;
    while (kept < vocab && head < top_p) head += p[order[kept++]];
    for (size_t i = kept; i < vocab; ++i) p[order[i]] = 0;
    for (double& x : p) x /= head;
  }
  return p;
}

// The tokens filter_logits keeps (the ones not −∞) in a single row.
Tokens kept_by_filter(const std::vector<double>& logits, const nn::SampleDecodeOptions& options) {
  const Tensor z = nn::filter_logits(
      Tensor::from_vector(logits, {1, static_cast<int64_t>(logits.size())}), options);
  Tokens kept;
  const std::vector<double> values = z.to_vector<double>();
  for (size_t v = 0; v < values.size(); ++v)
    if (values[v] > -kInf) kept.push_back(static_cast<int64_t>(v));
  return kept;
}

// 20,000 draws (2,000 rows, 10 steps) from a decoder that always returns `logits`:
// each token's count n_v must lie within 5σ of N·p_v, σ = √(N·p_v·(1 − p_v)), and a
// token of probability 0 is never drawn. The filtered distribution filter_logits
// computes must be `want` too.
void expect_draws_follow(const std::vector<double>& logits, nn::SampleDecodeOptions options,
                         const std::vector<double>& want, uint64_t seed) {
  const int64_t rows = 2000, steps = 10;
  const double draws = static_cast<double>(rows * steps);
  ToyDecoder decoder(rows, fixed(logits));
  Generator gen(seed);
  const Tensor tokens = nn::sample_decode(decoder, options.max_length(steps), gen);
  ASSERT_EQ(tokens.shape(), Shape({rows, steps}));
  std::vector<double> count(logits.size(), 0.0);
  for (int64_t token : tokens.to_vector<int64_t>()) count.at(static_cast<size_t>(token)) += 1;

  const Tensor z = nn::filter_logits(
      Tensor::from_vector(logits, {1, static_cast<int64_t>(logits.size())}), options);
  const std::vector<double> p = softmax(z, -1).to_vector<double>();
  for (size_t v = 0; v < logits.size(); ++v) {
    EXPECT_NEAR(p[v], want[v], 1e-12) << "filter_logits' distribution, token " << v;
    if (want[v] == 0) {
      EXPECT_EQ(count[v], 0) << "token " << v << " was filtered out but drawn";
      continue;
    }
    const double sigma = std::sqrt(draws * want[v] * (1 - want[v]));
    EXPECT_NEAR(count[v], draws * want[v], 5 * sigma)
        << "token " << v << ": p " << want[v] << ", drawn " << count[v] << " of " << draws;
  }
}

size_t nonzero(const std::vector<double>& p) {
  return static_cast<size_t>(std::count_if(p.begin(), p.end(), [](double x) { return x > 0; }));
}

TEST(SampleDecode, TemperatureScalesTheLogits) {
  const std::vector<double> logits{1.0, 2.0, 0.5, -1.0, 0.0};
  uint64_t seed = 1;
  for (double temperature : {0.5, 1.0, 2.0}) {
    SCOPED_TRACE("temperature " + std::to_string(temperature));
    const std::vector<double> want = reference(logits, temperature);
    EXPECT_EQ(nonzero(want), logits.size());
    expect_draws_follow(logits, nn::SampleDecodeOptions().temperature(temperature), want, seed++);
  }
  // float32 scores are drawn from alike (the filter works in float64)
  ToyDecoder decoder(2000, fixed(logits), DType::Float32);
  Generator gen(9);
  const Tensor tokens =
      nn::sample_decode(decoder, nn::SampleDecodeOptions().temperature(0.5).max_length(10), gen);
  const std::vector<double> want = reference(logits, 0.5);
  const Tokens drawn = tokens.to_vector<int64_t>();
  const double n = static_cast<double>(drawn.size());
  for (size_t v = 0; v < logits.size(); ++v) {
    const double c =
        static_cast<double>(std::count(drawn.begin(), drawn.end(), static_cast<int64_t>(v)));
    EXPECT_NEAR(c, n * want[v], 5 * std::sqrt(n * want[v] * (1 - want[v]))) << "token " << v;
  }
}

// Scores 3, 1, 2, 2, 0, 2: the 2nd, 3rd and 4th largest are the three 2s, so k = 2,
// 3 and 4 all keep tokens 0, 2, 3 and 5 (nanoGPT's `logits < v[:, [-1]]`).
TEST(SampleDecode, TopKKeepsTheKHighestAndEveryTieWithTheKth) {
  const std::vector<double> logits{3, 1, 2, 2, 0, 2};
  for (int64_t k : {2, 3, 4})
    EXPECT_EQ(kept_by_filter(logits, nn::SampleDecodeOptions().top_k(k)), Tokens({0, 2, 3, 5}))
        << "top_k " << k;
  EXPECT_EQ(kept_by_filter(logits, nn::SampleDecodeOptions().top_k(1)), Tokens({0}));
  EXPECT_EQ(kept_by_filter(logits, nn::SampleDecodeOptions().top_k(5)), Tokens({0, 1, 2, 3, 5}));
  for (int64_t k : {0, 6, 100})
    EXPECT_EQ(kept_by_filter(logits, nn::SampleDecodeOptions().top_k(k)).size(), logits.size())
        << "top_k " << k << " keeps every token";
  // a row of equal scores keeps all of them, whatever k
  EXPECT_EQ(kept_by_filter({1, 1, 1}, nn::SampleDecodeOptions().top_k(1)), Tokens({0, 1, 2}));

  uint64_t seed = 10;
  for (int64_t k : {1, 2, 5}) {
    for (double temperature : {0.5, 2.0}) {
      SCOPED_TRACE("top_k " + std::to_string(k) + ", temperature " + std::to_string(temperature));
      const std::vector<double> want = reference(logits, temperature, k);
      EXPECT_EQ(nonzero(want), k == 1 ? 1u : k == 2 ? 4u : 5u);
      expect_draws_follow(logits, nn::SampleDecodeOptions().top_k(k).temperature(temperature), want,
                          seed++);
    }
  }
}

// Probabilities 2/15, 8/15, 1/15, 4/15: the likeliest two hold 12/15 = 0.8, three 14/15.
// Just under 0.8 the nucleus is two tokens, just over it three; a tiny p keeps the
// likeliest token alone.
TEST(SampleDecode, TopPKeepsTheSmallestNucleusThatReachesP) {
  const std::vector<double> logits{std::log(2.0), std::log(8.0), std::log(1.0), std::log(4.0)};
  const auto kept = [&logits](double p) {
    return kept_by_filter(logits, nn::SampleDecodeOptions().top_p(p));
  };
  EXPECT_EQ(kept(0.8 - 1e-9), Tokens({1, 3}));
  EXPECT_EQ(kept(0.8 + 1e-9), Tokens({0, 1, 3}));
  EXPECT_EQ(kept(0.5), Tokens({1}));  // 8/15 ≥ 0.5: one token reaches it
  EXPECT_EQ(kept(8.0 / 15 - 1e-9), Tokens({1}));
  EXPECT_EQ(kept(1e-6), Tokens({1}));
  EXPECT_EQ(kept(14.0 / 15 + 1e-9), Tokens({0, 1, 2, 3}));
  EXPECT_EQ(kept(1.0), Tokens({0, 1, 2, 3}));

  // The boundary itself, where the sums are exact: four equal scores, q = 1/4 each.
  // A prefix that reaches p exactly is the nucleus (Hugging Face's removal test
  // q_(1) + … + q_(i) ≤ 1 − p), and among equals the lower tokens are kept.
  const std::vector<double> equal(4, 0.0);
  const auto kept_equal = [&equal](double p) {
    return kept_by_filter(equal, nn::SampleDecodeOptions().top_p(p));
  };
  EXPECT_EQ(kept_equal(0.25), Tokens({0}));
  EXPECT_EQ(kept_equal(0.5), Tokens({0, 1}));
  EXPECT_EQ(kept_equal(0.75), Tokens({0, 1, 2}));
  EXPECT_EQ(kept_equal(0.5 + 1e-9), Tokens({0, 1, 2}));

  uint64_t seed = 20;
  for (double p : {0.8 - 1e-9, 0.8 + 1e-9, 1e-6}) {
    SCOPED_TRACE("top_p " + std::to_string(p));
    expect_draws_follow(logits, nn::SampleDecodeOptions().top_p(p), reference(logits, 1.0, 0, p),
                        seed++);
  }
  SCOPED_TRACE("four equal scores, top_p 0.5");
  const std::vector<double> want = reference(equal, 1.0, 0, 0.5);
  EXPECT_EQ(want, std::vector<double>({0.5, 0.5, 0, 0}));
  expect_draws_follow(equal, nn::SampleDecodeOptions().top_p(0.5), want, seed++);
}

// Temperature, then top-k, then top-p: a temperature of 0.7 sharpens the scores
// before the nucleus is measured (two tokens hold 0.84 of it; without the
// temperature three are needed to reach 0.8), and top-k's four survivors are
// renormalised before it.
TEST(SampleDecode, FiltersApplyInTheOrderTemperatureTopKTopP) {
  const std::vector<double> logits{0.3, 2.0, -0.5, 1.1, 1.9, -2.0};
  const std::vector<double> want = reference(logits, 0.7, 4, 0.8);
  EXPECT_EQ(nonzero(want), 2u);
  // the other order (top-p measured before the temperature) keeps another set
  EXPECT_NE(nonzero(reference(logits, 1.0, 4, 0.8)), nonzero(want));
  expect_draws_follow(logits, nn::SampleDecodeOptions().temperature(0.7).top_k(4).top_p(0.8), want,
                      30);
}

// nanoGPT's top-k and Hugging Face's top-p, run by torch on float64 scores with many
// ties (top-k) and none (top-p): the same tokens removed, the others' z = s / T
// to the bit.
TEST(SampleDecode, FilterLogitsMatchesPyTorch) {
  for (const char* name :
       {"temperature", "top_k_ties", "top_k_one", "top_p", "top_p_small", "top_p_hot", "all"}) {
    SCOPED_TRACE(name);
    const SafetensorsFile f = testing::load_fixture(std::string("sample_") + name, "f64");
    const nn::SampleDecodeOptions options = nn::SampleDecodeOptions()
                                                .temperature(testing::meta_double(f, "temperature"))
                                                .top_k(testing::meta_int(f, "top_k"))
                                                .top_p(testing::meta_double(f, "top_p"));
    const Tensor got = nn::filter_logits(f.at("scores"), options);
    const Tensor& want = f.at("filtered");
    ASSERT_EQ(got.shape(), want.shape());
    const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
    const auto vocab = static_cast<size_t>(got.size(1));
    size_t removed = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      EXPECT_EQ(g[i], w[i]) << "row " << i / vocab << ", token " << i % vocab;
      removed += w[i] == -kInf;
    }
    EXPECT_EQ(removed > 0, std::string(name) != "temperature") << "the case filters nothing";
  }
}

// With k = 1 only the maximum is left, so every draw is greedy's token, whatever
// the generator draws (random logits have no ties).
TEST(SampleDecode, TopKOneIsGreedy) {
  for (uint64_t seed = 0; seed < 6; ++seed) {
    for (std::optional<int64_t> end : {std::optional<int64_t>(), std::optional<int64_t>(2)}) {
      const NextLogits model = random_model(seed, 6);
      ToyDecoder g(4, model, DType::Float32), s(4, model, DType::Float32);
      const Tensor greedy = nn::greedy_decode(
          g, nn::GreedyDecodeOptions().start_symbol(6).max_length(9).end_symbol(end));
      Generator gen(seed + 100);
      const Tensor sampled = nn::sample_decode(s,
                                               nn::SampleDecodeOptions()
                                                   .start_symbol(6)
                                                   .max_length(9)
                                                   .end_symbol(end)
                                                   .top_k(1)
                                                   .temperature(1.7),
                                               gen);
      EXPECT_EQ(sampled.shape(), greedy.shape()) << "seed " << seed;
      EXPECT_EQ(sampled.to_vector<int64_t>(), greedy.to_vector<int64_t>())
          << "seed " << seed << (end ? ", end 2" : "");
      EXPECT_EQ(s.fed, g.fed);
    }
  }
}

TEST(SampleDecode, SameSeedSameTokens) {
  const NextLogits model = random_model(4, 6);
  const auto run = [&model](Generator& gen) {
    ToyDecoder decoder(3, model, DType::Float32);
    return nn::sample_decode(
               decoder,
               nn::SampleDecodeOptions().start_symbol(6).max_length(12).temperature(1.3).top_p(0.9),
               gen)
        .to_vector<int64_t>();
  };
  Generator a(7), b(7), c(8);
  const Tokens first = run(a);
  EXPECT_EQ(run(b), first);
  EXPECT_NE(run(c), first) << "another seed should draw other tokens";
  EXPECT_NE(run(a), first) << "the generator moves on: a second call draws other tokens";
  // one uniform per row per step: the generator is where 3 · 12 draws leave it
  Generator d(7);
  for (int i = 0; i < 3 * 12; ++i) d.uniform();
  Generator e(7);
  run(e);
  EXPECT_EQ(e.next_u64(), d.next_u64());
}

// End symbol 0 has probability 1/4 at every step: rows end at random steps, and
// each must produce the pad (and be fed it) from then on; decoding stops at the
// step where the last row ends.
TEST(SampleDecode, RowsThatDrewTheEndSymbolArePadded) {
  const int64_t batch = 64, max_length = 60;
  ToyDecoder decoder(batch, fixed({0, 0, 0, 0}));
  Generator gen(5);
  const Tensor tokens = nn::sample_decode(
      decoder,
      nn::SampleDecodeOptions().start_symbol(9).max_length(max_length).end_symbol(0).pad_symbol(7),
      gen);
  const int64_t length = tokens.size(1);
  ASSERT_LE(length, max_length);
  int64_t last_end = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const Tokens row = row_of(tokens, b);
    const auto end = std::find(row.begin(), row.end(), 0);
    ASSERT_NE(end, row.end()) << "row " << b << " never ended in " << max_length << " draws";
    EXPECT_TRUE(std::all_of(row.begin(), end, [](int64_t t) { return t >= 1 && t <= 3; }));
    EXPECT_TRUE(std::all_of(end + 1, row.end(), [](int64_t t) { return t == 7; }))
        << "row " << b << " after its end";
    last_end = std::max(last_end, static_cast<int64_t>(end - row.begin()) + 1);
  }
  EXPECT_EQ(length, last_end) << "decoding stops when the last row ends";
  EXPECT_GT(last_end, 5) << "rows should end at different steps";
  // the start symbol first, then each row its own last output
  ASSERT_EQ(decoder.fed.size(), static_cast<size_t>(length));
  EXPECT_EQ(decoder.fed[0], Tokens(batch, 9));
  for (int64_t t = 1; t < length; ++t)
    EXPECT_EQ(decoder.fed[static_cast<size_t>(t)], tokens.select(1, t - 1).to_vector<int64_t>());
}

// The prompt is fed column by column before the first draw, which follows its last
// column. The model makes the next token (last + 1) mod 5 certain, so the draws
// continue each row's prompt.
TEST(SampleDecode, PromptIsFedBeforeTheFirstDraw) {
  const NextLogits successor = [](int64_t, const Tokens& prefix) {
    std::vector<double> logits(5, -kInf);
    logits[static_cast<size_t>((prefix.back() + 1) % 5)] = 0;
    return logits;
  };
  ToyDecoder decoder(2, successor);
  Generator gen(3);
  const Tensor prompt = Tensor::from_vector<int64_t>({4, 1, 2, 3, 3, 0}, {2, 3});
  const Tensor tokens = nn::sample_decode(
      decoder, nn::SampleDecodeOptions().prompt(prompt).max_length(4).top_p(0.9), gen);
  EXPECT_EQ(row_of(tokens, 0), Tokens({3, 4, 0, 1}));
  EXPECT_EQ(row_of(tokens, 1), Tokens({1, 2, 3, 4}));
  const std::vector<Tokens> fed{{4, 3}, {1, 3}, {2, 0}, {3, 1}, {4, 2}, {0, 3}};
  EXPECT_EQ(decoder.fed, fed);

  // A prompt of one column is the start symbol: the same tokens from the same seed.
  const NextLogits model = random_model(2, 4);
  ToyDecoder with_prompt(3, model), with_start(3, model);
  Generator g1(11), g2(11);
  const Tensor a = nn::sample_decode(
      with_prompt, nn::SampleDecodeOptions().prompt(Tensor::full({3, 1}, 4.0, DType::Int64)), g1);
  const Tensor b = nn::sample_decode(with_start, nn::SampleDecodeOptions().start_symbol(4), g2);
  EXPECT_EQ(a.to_vector<int64_t>(), b.to_vector<int64_t>());
}

TEST(SampleDecode, BadOptionsNameTheOption) {
  using testing::throws_with;
  ToyDecoder decoder(2, random_model(1, 3));
  Generator gen(0);
  const auto sample = [&](const nn::SampleDecodeOptions& options) {
    return [&decoder, &gen, options] { nn::sample_decode(decoder, options, gen); };
  };
  using O = nn::SampleDecodeOptions;
  for (double t : {0.0, -1.0, std::nan(""), kInf})
    EXPECT_TRUE(throws_with<std::invalid_argument>(sample(O().temperature(t)),
                                                   {"sample_decode", "temperature", "> 0"}))
        << t;
  for (double p : {0.0, -0.1, 1.5, std::nan("")})
    EXPECT_TRUE(
        throws_with<std::invalid_argument>(sample(O().top_p(p)), {"sample_decode", "top_p", "1"}))
        << p;
  EXPECT_TRUE(throws_with<std::invalid_argument>(sample(O().top_k(-1)),
                                                 {"sample_decode", "top_k -1", "≥ 0"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(sample(O().max_length(0)),
                                                 {"sample_decode", "max_length 0"}));
  EXPECT_TRUE(
      throws_with<std::invalid_argument>(sample(O().prompt(Tensor::zeros({3, 2}, DType::Int64))),
                                         {"sample_decode", "prompt", "[3,2]", "int64 [2, P]"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(sample(O().prompt(Tensor::zeros({2, 2}))),
                                                 {"sample_decode", "prompt", "float32"}));
  EXPECT_TRUE(
      throws_with<std::invalid_argument>(sample(O().prompt(Tensor::zeros({2, 0}, DType::Int64))),
                                         {"sample_decode", "prompt", "P ≥ 1"}));
  EXPECT_TRUE(decoder.fed.empty()) << "a bad setting is refused before the decoder runs";
  EXPECT_TRUE(throws_with<std::invalid_argument>(sample(O().end_symbol(3)),
                                                 {"sample_decode", "end_symbol 3"}));

  // the filter on its own, and scores no token can be drawn from
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        nn::filter_logits(Tensor::zeros({2, 3}), O().top_p(2.0));
      },
      {"filter_logits", "top_p 2"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([] { nn::filter_logits(Tensor::zeros({3})); },
                                                 {"filter_logits", "[3]", "[N, V]"}));
  const auto row = [](std::vector<double> values) {
    return [values] { nn::filter_logits(Tensor::from_vector(values, {1, 3})); };
  };
  EXPECT_TRUE(throws_with<std::invalid_argument>(row({0, std::nan(""), 1}),
                                                 {"filter_logits", "row 0", "nan", "token 1"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(row({0, 1, kInf}), {"filter_logits", "inf"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(row({-kInf, -kInf, -kInf}),
                                                 {"filter_logits", "row 0", "−inf everywhere"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [] {
        nn::filter_logits(Tensor::from_vector<double>({1e300, 0}, {1, 2}), O().temperature(1e-10));
      },
      {"filter_logits", "temperature"}));
  ToyDecoder masked(2, fixed({-kInf, -kInf}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { nn::sample_decode(masked, {}, gen); },
                                                 {"sample_decode", "−inf everywhere"}));
}

// ---- bad input -------------------------------------------------------------------------------

TEST(Decode, BadInputNamesTheSearchAndTheValue) {
  using testing::throws_with;
  const NextLogits model = random_model(1, 3);
  ToyDecoder decoder(2, model);
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::beam_search(decoder, nn::BeamSearchOptions(0)); },
      {"beam_search", "beam_width 0"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::beam_search(decoder, nn::BeamSearchOptions(-2)); },
      {"beam_search", "beam_width -2"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::beam_search(decoder, nn::BeamSearchOptions(2).max_length(0)); },
      {"beam_search", "max_length 0"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::greedy_decode(decoder, nn::GreedyDecodeOptions().max_length(-3)); },
      {"greedy_decode", "max_length -3"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::beam_search(decoder, nn::BeamSearchOptions(2).end_symbol(3)); },
      {"beam_search", "end_symbol 3", "3"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>(
      [&] { nn::greedy_decode(decoder, nn::GreedyDecodeOptions().end_symbol(-1)); },
      {"greedy_decode", "end_symbol -1"}));
  ToyDecoder empty(0, model);
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { nn::greedy_decode(empty); },
                                                 {"greedy_decode", "0 rows"}));

  // a step that returns the wrong shape or dtype
  class Broken final : public nn::IncrementalDecoder {
   public:
    explicit Broken(Tensor out) : out_(std::move(out)) {}
    int64_t batch_size() const override { return 2; }
    Tensor step(const Tensor&) override { return out_; }
    void reorder(const Tensor&) override {}

   private:
    Tensor out_;
  };
  Broken rows(Tensor::zeros({3, 4})), ints(Tensor::zeros({2, 4}, DType::Int64)), none{Tensor()};
  EXPECT_TRUE(
      throws_with<std::invalid_argument>([&] { nn::beam_search(rows, nn::BeamSearchOptions(2)); },
                                         {"beam_search", "[3,4]", "2 rows"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { nn::greedy_decode(ints); },
                                                 {"greedy_decode", "int64", "floating"}));
  EXPECT_TRUE(throws_with<std::invalid_argument>([&] { nn::greedy_decode(none); },
                                                 {"greedy_decode", "undefined"}));
}

}  // namespace
}  // namespace minigrad
