#include "minigrad/nn/decode.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <utility>

#include "minigrad/autograd/variable.h"
#include "minigrad/tensor/check.h"
#include "minigrad/tensor/ops.h"

namespace minigrad::nn {
namespace {

// The checks both searches make before they start.
int64_t checked_batch(const IncrementalDecoder& decoder, int64_t max_length, const char* op) {
  MINIGRAD_CHECK(max_length >= 1) << op << ": max_length " << max_length << ": expected ≥ 1";
  const int64_t batch = decoder.batch_size();
  MINIGRAD_CHECK(batch >= 1) << op << ": the decoder has " << batch << " rows: expected ≥ 1";
  return batch;
}

// decoder.step(last), refused unless it is floating [N, V] with the end symbol in [0, V).
Tensor checked_step(IncrementalDecoder& decoder, const Tensor& last,
                    const std::optional<int64_t>& end_symbol, const char* op) {
  const Tensor scores = decoder.step(last);
  const int64_t rows = last.size(0);
  MINIGRAD_CHECK(scores.defined()) << op << ": the decoder's step returned an undefined tensor for "
                                   << rows << " rows: expected floating [" << rows << ", V]";
  MINIGRAD_CHECK(scores.dim() == 2 && scores.size(0) == rows && scores.size(1) >= 1 &&
                 is_floating(scores.dtype()))
      << op << ": the decoder's step returned " << dtype_name(scores.dtype()) << " "
      << scores.shape() << " for " << rows << " rows: expected floating [" << rows << ", V]";
  const int64_t vocab = scores.size(1);
  MINIGRAD_CHECK(!end_symbol || (*end_symbol >= 0 && *end_symbol < vocab))
      << op << ": end_symbol " << *end_symbol << " is not one of the decoder's " << vocab
      << " tokens (expected 0 ≤ end_symbol < " << vocab << ")";
  return scores;
}

// The loop greedy_decode and sample_decode share. Feeds the columns of `first`
// [B, P] one step each (the scores of all but the last only advance the state),
// then has `choose` pick a token per row from each step's scores [B, V] → int64
// [B], up to max_length times or until every row has produced the end symbol. A
// row that finished before a step produces, and is fed, the pad.
Tensor decode_loop(IncrementalDecoder& decoder, const Tensor& first, int64_t max_length,
                   const std::optional<int64_t>& end, int64_t pad, const char* op,
                   const std::function<Tensor(const Tensor&)>& choose) {
  const int64_t batch = first.size(0);
  NoGradGuard no_grad;
  for (int64_t p = 0; p + 1 < first.size(1); ++p)
    checked_step(decoder, first.select(1, p).contiguous(), end, op);
  Tensor previous = first.select(1, -1).contiguous();
  std::vector<char> finished(static_cast<size_t>(batch), 0);
  std::vector<Tensor> tokens;
  for (int64_t t = 0; t < max_length; ++t) {
    previous = choose(checked_step(decoder, previous, end, op));  // [B]
    if (end) {
      // A row that finished before this step produces the pad; one that produces
      // the end symbol now is finished from the next step on.
      std::vector<int64_t> next = previous.to_vector<int64_t>();
      for (size_t b = 0; b < next.size(); ++b) {
        if (finished[b]) {
          next[b] = pad;
        } else if (next[b] == *end) {
          finished[b] = 1;
        }
      }
      previous = Tensor::from_vector(next, {batch});
    }
    tokens.push_back(previous);
    if (end && std::all_of(finished.begin(), finished.end(), [](char f) { return f != 0; })) break;
  }
  return stack(tokens, 1);  // [B, L]
}

}  // namespace

Tensor greedy_decode(IncrementalDecoder& decoder, const GreedyDecodeOptions& options) {
  const int64_t batch = checked_batch(decoder, options.max_length(), "greedy_decode");
  const std::optional<int64_t> end = options.end_symbol();
  const Tensor start =
      Tensor::full({batch, 1}, static_cast<double>(options.start_symbol()), DType::Int64);
  return decode_loop(decoder, start, options.max_length(), end,
                     options.pad_symbol().value_or(end.value_or(0)), "greedy_decode",
                     [](const Tensor& scores) { return argmax(scores, -1); });
}

namespace {

// The settings filter_logits needs, refused unless usable.
void check_sampling(const SampleDecodeOptions& options, const char* op) {
  const double temperature = options.temperature();
  MINIGRAD_CHECK(std::isfinite(temperature) && temperature > 0)
      << op << ": temperature " << temperature << ": expected a finite number > 0";
  MINIGRAD_CHECK(options.top_k() >= 0)
      << op << ": top_k " << options.top_k() << ": expected ≥ 0 (0 keeps every token)";
  const double top_p = options.top_p();
  MINIGRAD_CHECK(top_p > 0 && top_p <= 1)
      << op << ": top_p " << top_p << ": expected 0 < top_p ≤ 1 (1 keeps every token)";
}

// Row n of the scores, V values, scaled and filtered in place (filter_logits' math).
void filter_row(double* z, int64_t vocab, int64_t n, const SampleDecodeOptions& options,
                const char* op) {
  const auto size = static_cast<size_t>(vocab);
  double top = -std::numeric_limits<double>::infinity();
  for (size_t v = 0; v < size; ++v) {
    MINIGRAD_CHECK(!std::isnan(z[v]) && z[v] != std::numeric_limits<double>::infinity())
        << op << ": row " << n << " of the scores holds " << z[v] << " at token " << v
        << ": expected finite scores or −inf";
    top = std::max(top, z[v]);
  }
  MINIGRAD_CHECK(top > -std::numeric_limits<double>::infinity())
      << op << ": row " << n << " of the scores is −inf everywhere: no token to draw";
  // temperature: z = s / T
  for (size_t v = 0; v < size; ++v) z[v] /= options.temperature();
  MINIGRAD_CHECK(top / options.temperature() < std::numeric_limits<double>::infinity())
      << op << ": temperature " << options.temperature() << " scales row " << n
      << "'s largest score " << top << " past the largest double";
  // top-k: drop what is below the k-th largest (ties with it stay)
  const int64_t k = options.top_k();
  if (k > 0 && k < vocab) {
    std::vector<double> sorted(z, z + size);
    std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<>());
    const double kth = sorted[static_cast<size_t>(k - 1)];
    for (size_t v = 0; v < size; ++v)
      if (z[v] < kth) z[v] = -std::numeric_limits<double>::infinity();
  }
  // top-p: q = softmax(z) ascending (the higher token first among equals, so that
  // the lower one counts as likelier); drop while the running sum is ≤ 1 − p,
  // never the last (likeliest) token
  const double top_p = options.top_p();
  if (top_p < 1) {
    std::vector<int64_t> order(size);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [z](int64_t a, int64_t b) { return z[a] < z[b] || (z[a] == z[b] && a > b); });
    const double largest = z[order.back()];
    std::vector<double> q(size);
    double total = 0;
    for (size_t i = 0; i < size; ++i) total += q[i] = std::exp(z[order[i]] - largest);
    double cumulative = 0;
    for (size_t i = 0; i + 1 < size; ++i) {
      cumulative += q[i] / total;
      if (cumulative > 1 - top_p) break;  // the running sum only grows
      z[order[i]] = -std::numeric_limits<double>::infinity();
    }
  }
}

// A token drawn from softmax(z) by inverse CDF with the uniform u: the first v with
// u · Σ_w e^{z_w − max z} < Σ_{w ≤ v} e^{z_w − max z}. A removed token (e^{−∞} = 0)
// adds nothing to the running sum and cannot be the first to exceed it.
int64_t draw(const double* z, int64_t vocab, double u) {
  const double top = *std::max_element(z, z + vocab);
  double total = 0;
  for (int64_t v = 0; v < vocab; ++v) total += std::exp(z[v] - top);
  const double target = u * total;
  double cumulative = 0;
  int64_t last = 0;  // the last token with weight, should rounding leave target unreached
  for (int64_t v = 0; v < vocab; ++v) {
    const double weight = std::exp(z[v] - top);
    if (weight == 0) continue;
    cumulative += weight;
    last = v;
    if (target < cumulative) return v;
  }
  return last;
}

}  // namespace

Tensor filter_logits(const Tensor& scores, const SampleDecodeOptions& options) {
  check_sampling(options, "filter_logits");
  MINIGRAD_CHECK(scores.defined() && scores.dim() == 2 && scores.size(1) >= 1 &&
                 is_floating(scores.dtype()))
      << "filter_logits: scores " << (scores.defined() ? dtype_name(scores.dtype()) : "undefined")
      << " " << (scores.defined() ? scores.shape() : Shape{}) << ": expected floating [N, V]";
  const int64_t rows = scores.size(0), vocab = scores.size(1);
  std::vector<double> z = scores.to(DType::Float64).to_vector<double>();
  for (int64_t n = 0; n < rows; ++n)
    filter_row(z.data() + n * vocab, vocab, n, options, "filter_logits");
  return Tensor::from_vector(z, {rows, vocab});
}

Tensor sample_decode(IncrementalDecoder& decoder, const SampleDecodeOptions& options,
                     Generator& gen) {
  check_sampling(options, "sample_decode");
  const int64_t batch = checked_batch(decoder, options.max_length(), "sample_decode");
  Tensor first = options.prompt();
  if (first.defined()) {
    MINIGRAD_CHECK(first.dtype() == DType::Int64 && first.dim() == 2 && first.size(0) == batch &&
                   first.size(1) >= 1)
        << "sample_decode: prompt " << dtype_name(first.dtype()) << " " << first.shape()
        << ": expected int64 [" << batch << ", P] with P ≥ 1 (the decoder has " << batch
        << " rows)";
  } else {
    first = Tensor::full({batch, 1}, static_cast<double>(options.start_symbol()), DType::Int64);
  }
  const std::optional<int64_t> end = options.end_symbol();
  const auto choose = [&options, &gen](const Tensor& scores) {
    const int64_t rows = scores.size(0), vocab = scores.size(1);
    std::vector<double> z = scores.to(DType::Float64).to_vector<double>();
    std::vector<int64_t> tokens(static_cast<size_t>(rows));
    for (int64_t n = 0; n < rows; ++n) {
      double* row = z.data() + n * vocab;
      filter_row(row, vocab, n, options, "sample_decode");
      tokens[static_cast<size_t>(n)] = draw(row, vocab, gen.uniform());
    }
    return Tensor::from_vector(tokens, {rows});
  };
  return decode_loop(decoder, first, options.max_length(), end,
                     options.pad_symbol().value_or(end.value_or(0)), "sample_decode", choose);
}

namespace {

// A live prefix of beam_search: its tokens, its log P and the decoder row that holds it.
struct Prefix {
  std::vector<int64_t> tokens;
  double log_prob = 0;
  int64_t row = 0;
};

// One extension of a live prefix by one token.
struct Candidate {
  double log_prob;  // log P of the prefix plus log p of the token
  int64_t prefix;   // which of the batch element's live prefixes it extends
  int64_t rank;     // the token's place in that prefix's own ranking (0: its argmax)
  int64_t token;
};

// The K + 1 tokens of highest raw score in a row of V (fewer if V is smaller), best
// first, the lower token first among equals. K + 1 are enough: at most one of them is
// the end symbol, so K others are always there to refill the beam.
std::vector<int64_t> top_tokens(const double* row, int64_t vocab, int64_t count) {
  std::vector<int64_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  const auto keep = order.begin() + std::min(count, vocab);
  std::partial_sort(order.begin(), keep, order.end(), [row](int64_t a, int64_t b) {
    return row[a] > row[b] || (row[a] == row[b] && a < b);
  });
  order.erase(keep, order.end());
  return order;
}

// A finished hypothesis of n tokens, scored log P / n^α (fairseq's
// `score / len ** lenpen`).
Hypothesis finish(std::vector<int64_t> tokens, double log_prob, double alpha) {
  const double score = log_prob / std::pow(static_cast<double>(tokens.size()), alpha);
  return {std::move(tokens), log_prob, score};
}

}  // namespace

BeamSearchOutput beam_search(IncrementalDecoder& decoder, const BeamSearchOptions& options) {
  const int64_t width = options.beam_width();
  MINIGRAD_CHECK(width >= 1) << "beam_search: beam_width " << width << ": expected ≥ 1";
  const int64_t batch = checked_batch(decoder, options.max_length(), "beam_search");
  const std::optional<int64_t> end = options.end_symbol();
  const double alpha = options.length_penalty();
  NoGradGuard no_grad;

  // live[b]: batch element b's prefixes, each on one row of the decoder (rows are
  // ordered by batch element, then by prefix); none once b is done.
  std::vector<std::vector<Prefix>> live(static_cast<size_t>(batch));
  std::vector<std::vector<Hypothesis>> finished(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) live[static_cast<size_t>(b)] = {Prefix{{}, 0.0, b}};
  Tensor last = Tensor::full({batch}, static_cast<double>(options.start_symbol()), DType::Int64);

  for (int64_t t = 0; t < options.max_length(); ++t) {
    const Tensor scores = checked_step(decoder, last, end, "beam_search");
    const int64_t vocab = scores.size(1);
    // raw scores rank a prefix's own tokens; log p = log_softmax(scores) adds up to log P
    const std::vector<double> raw = scores.to(DType::Float64).to_vector<double>();
    const std::vector<double> log_p =
        log_softmax(scores, -1).to(DType::Float64).to_vector<double>();
    const bool last_step = t + 1 == options.max_length();

    std::vector<int64_t> parents, next_tokens;  // the new rows: which old row, which token
    for (size_t b = 0; b < live.size(); ++b) {
      if (live[b].empty()) continue;  // done
      std::vector<Candidate> candidates;
      for (size_t p = 0; p < live[b].size(); ++p) {
        const Prefix& prefix = live[b][p];
        const size_t base = static_cast<size_t>(prefix.row * vocab);
        const std::vector<int64_t> top = top_tokens(raw.data() + base, vocab, width + 1);
        for (size_t r = 0; r < top.size(); ++r) {
          const int64_t v = top[r];
          candidates.push_back({prefix.log_prob + log_p[base + static_cast<size_t>(v)],
                                static_cast<int64_t>(p), static_cast<int64_t>(r), v});
        }
      }
      std::sort(candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) {
        if (x.log_prob != y.log_prob) return x.log_prob > y.log_prob;
        return x.prefix != y.prefix ? x.prefix < y.prefix : x.rank < y.rank;
      });

      std::vector<Prefix> next;
      for (size_t i = 0; i < candidates.size() && static_cast<int64_t>(next.size()) < width; ++i) {
        const Candidate& c = candidates[i];
        std::vector<int64_t> tokens = live[b][static_cast<size_t>(c.prefix)].tokens;
        tokens.push_back(c.token);
        if (end && c.token == *end) {
          // only an end among the K best finishes: a worse one would not have
          // survived as a prefix either
          if (static_cast<int64_t>(i) < width)
            finished[b].push_back(finish(std::move(tokens), c.log_prob, alpha));
          continue;
        }
        next.push_back({std::move(tokens), c.log_prob, live[b][static_cast<size_t>(c.prefix)].row});
      }
      if (last_step) {  // max_length: the live prefixes finish as they stand
        for (Prefix& p : next)
          finished[b].push_back(finish(std::move(p.tokens), p.log_prob, alpha));
        next.clear();
      }
      if (static_cast<int64_t>(finished[b].size()) >= width) next.clear();  // b is done
      for (Prefix& p : next) {
        parents.push_back(p.row);
        next_tokens.push_back(p.tokens.back());
        p.row = static_cast<int64_t>(parents.size()) - 1;  // its row after the reorder
      }
      live[b] = std::move(next);
    }
    if (parents.empty()) break;  // every batch element is done
    const int64_t rows = static_cast<int64_t>(parents.size());
    decoder.reorder(Tensor::from_vector(parents, {rows}));
    last = Tensor::from_vector(next_tokens, {rows});
  }

  // Best first; among equal scores, the one finished first.
  BeamSearchOutput out;
  const int64_t pad = options.pad_symbol().value_or(end.value_or(0));
  size_t longest = 0;
  for (std::vector<Hypothesis>& hypotheses : finished) {
    std::stable_sort(hypotheses.begin(), hypotheses.end(),
                     [](const Hypothesis& x, const Hypothesis& y) { return x.score > y.score; });
    if (static_cast<int64_t>(hypotheses.size()) > width)
      hypotheses.resize(static_cast<size_t>(width));
    longest = std::max(longest, hypotheses.front().tokens.size());
  }
  const int64_t length = static_cast<int64_t>(longest);
  std::vector<int64_t> tokens(static_cast<size_t>(batch * length), pad), lengths;
  std::vector<double> scores;
  for (size_t b = 0; b < finished.size(); ++b) {
    const Hypothesis& best = finished[b].front();
    std::copy(best.tokens.begin(), best.tokens.end(),
              tokens.begin() + static_cast<std::ptrdiff_t>(b * longest));
    scores.push_back(best.score);
    lengths.push_back(static_cast<int64_t>(best.tokens.size()));
  }
  out.tokens = Tensor::from_vector(tokens, {batch, length});
  out.scores = Tensor::from_vector(scores, {batch});
  out.lengths = Tensor::from_vector(lengths, {batch});
  out.beams = std::move(finished);
  return out;
}

}  // namespace minigrad::nn
