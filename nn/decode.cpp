#include "minigrad/nn/decode.h"

#include <algorithm>
#include <cmath>
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

}  // namespace

Tensor greedy_decode(IncrementalDecoder& decoder, const GreedyDecodeOptions& options) {
  const int64_t batch = checked_batch(decoder, options.max_length(), "greedy_decode");
  const std::optional<int64_t> end = options.end_symbol();
  const int64_t pad = options.pad_symbol().value_or(end.value_or(0));
  NoGradGuard no_grad;
  Tensor previous =
      Tensor::full({batch}, static_cast<double>(options.start_symbol()), DType::Int64);
  std::vector<char> finished(static_cast<size_t>(batch), 0);
  std::vector<Tensor> tokens;
  for (int64_t t = 0; t < options.max_length(); ++t) {
    previous = argmax(checked_step(decoder, previous, end, "greedy_decode"), -1);  // [B]
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
