/// \file
/// Decoding: turning a model that predicts the next token into sequences, written
/// once for every model that decodes (the seq2seq example's LSTM decoder, a
/// Transformer decoder with or without its key/value cache, a toy table in a test).
///
/// A model takes part by implementing IncrementalDecoder: it holds the state of N
/// live hypotheses (a recurrent state, a key/value cache, or only the tokens so
/// far), and step() feeds each its last token and returns the scores of the next:
///
///     scores = decoder.step(y_{t-1})          [N] → [N, V]   (logits or log-probabilities)
///     p(y_t = v | y_<t, x) = softmax(scores)[n, v]
///
/// greedy_decode() takes y_t = argmax_v scores[n, v] for each row; sample_decode()
/// draws y_t from softmax(scores / T), cut down to the likeliest tokens (top-k,
/// top-p). beam_search() keeps the K best prefixes of each batch element by
/// Σ_t log p(y_t | y_<t, x) and tells the decoder which hypotheses survive with
/// reorder(), which copies and drops rows of its state.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "minigrad/nn/options.h"
#include "minigrad/tensor/random.h"
#include "minigrad/tensor/tensor.h"

namespace minigrad::nn {

/// A model that predicts one token at a time for N hypotheses at once (batch and
/// beam flattened into one axis of rows). Build one for one decoding (from the
/// encoder's output, say); greedy_decode() or beam_search() consumes it.
class IncrementalDecoder {
 public:
  virtual ~IncrementalDecoder() = default;
  /// N, the number of rows its state holds now: the batch B before decoding starts.
  virtual int64_t batch_size() const = 0;
  /// Feeds each row its last token and advances the row's state by one position.
  /// \param last_tokens int64 [N]: the start symbol at the first step
  /// \return [N, V], floating: the scores of the next token, logits or
  ///         log-probabilities (decoding takes log_softmax over V, which leaves
  ///         log-probabilities as they are)
  virtual Tensor step(const Tensor& last_tokens) = 0;
  /// Keeps the rows `index` of its state, in that order: row i of the new state is
  /// row index[i] of the old one. A row may be copied (a hypothesis with two
  /// surviving continuations) or dropped (one that fell out of the beam).
  /// \param index int64 [N'], each in [0, N)
  virtual void reorder(const Tensor& index) = 0;
};

/// The settings of greedy_decode().
struct GreedyDecodeOptions {
  /// the token fed to every row at the first step (BOS)
  MINIGRAD_ARG(int64_t, start_symbol) = 0;
  /// the most tokens produced per row (the end symbol included); ≥ 1. 20 is
  /// Hugging Face's default for generate's max_length.
  MINIGRAD_ARG(int64_t, max_length) = 20;
  /// a row that produces it is finished; none: every row runs max_length steps
  MINIGRAD_ARG(std::optional<int64_t>, end_symbol) = std::nullopt;
  /// what a finished row produces (and is fed) after its end symbol; none: the
  /// end symbol again
  MINIGRAD_ARG(std::optional<int64_t>, pad_symbol) = std::nullopt;
};

/// Greedy decoding: each row takes its most likely next token,
///
///     y_t = argmax_v scores_t[n, v]       (the first maximum wins ties)
///
/// from y_0 = start_symbol, without recording a graph. It stops after max_length
/// steps, or at the first step after which every row has produced the end symbol;
/// a row that finished earlier produces pad_symbol from then on (and is fed it).
/// \return int64 [B, L], L ≤ max_length: L = max_length without an end symbol,
///         otherwise the step at which the last row finished (or max_length)
/// \throws std::invalid_argument naming greedy_decode and the value when
///         max_length < 1, the decoder has no rows, step() returns anything but
///         floating [N, V], or the end symbol is not in [0, V)
Tensor greedy_decode(IncrementalDecoder& decoder, const GreedyDecodeOptions& options = {});

/// The settings of sample_decode() and filter_logits(). The filters are those of
/// nanoGPT's `generate` (temperature, top_k) and Hugging Face's `generate` with
/// `do_sample=True` (temperature, top_k, top_p), applied in that order.
struct SampleDecodeOptions {
  /// the token fed to every row at the first step (BOS), when there is no prompt
  MINIGRAD_ARG(int64_t, start_symbol) = 0;
  /// int64 [B, P], P ≥ 1: the tokens fed to each row before the first draw, in
  /// place of the start symbol (nanoGPT's `idx`, Hugging Face's `input_ids`); the
  /// first draw follows prompt[:, P − 1]. Undefined: the start symbol alone.
  MINIGRAD_ARG(Tensor, prompt);
  /// the most tokens drawn per row (the end symbol included), the prompt not
  /// counted (nanoGPT's and Hugging Face's `max_new_tokens`); ≥ 1
  MINIGRAD_ARG(int64_t, max_length) = 20;
  /// T, which divides the scores before anything else: T < 1 sharpens the
  /// distribution, T > 1 flattens it; finite and > 0
  MINIGRAD_ARG(double, temperature) = 1.0;
  /// k: keep the k highest scores and every score equal to the k-th; 0 keeps all
  /// (k ≥ V keeps all too); ≥ 0
  MINIGRAD_ARG(int64_t, top_k) = 0;
  /// p: keep the smallest set of likeliest tokens whose probability reaches p
  /// (nucleus sampling), at least one; 1 keeps all; in (0, 1]
  MINIGRAD_ARG(double, top_p) = 1.0;
  /// a row that draws it is finished; none: every row draws max_length tokens
  MINIGRAD_ARG(std::optional<int64_t>, end_symbol) = std::nullopt;
  /// what a finished row produces (and is fed) after its end symbol; none: the
  /// end symbol again
  MINIGRAD_ARG(std::optional<int64_t>, pad_symbol) = std::nullopt;
};

/// The scores sample_decode() draws from, filtered: for each row s of `scores`,
///
///     z_v = s_v / T                                                 (temperature)
///     z_v = −∞  where z_v < z_(k), the k-th largest of z              (top-k)
///     z_v = −∞  where v is outside the nucleus of softmax(z)          (top-p)
///
/// and the tokens are then drawn from p = softmax(z). Top-k is nanoGPT's
/// `v, _ = torch.topk(logits, k); logits[logits < v[:, [-1]]] = -inf`, so every
/// token tied with the k-th is kept (a row of V equal scores keeps all V).
/// Top-p is Hugging Face's TopPLogitsWarper: with q = softmax(z) sorted ascending,
/// q_(1) ≤ … ≤ q_(V), a token is removed when
///
///     q_(1) + … + q_(i) ≤ 1 − p          (i < V: the likeliest token always stays)
///
/// which in exact arithmetic keeps the smallest prefix of the tokens sorted
/// descending whose probability adds up to p or more (a prefix that reaches p
/// exactly is kept without the next token). Computed in float64, in this form, so
/// that the boundary rounds as Hugging Face's does. Among equal scores the lower
/// token counts as the likelier one (Hugging Face leaves that order to torch.sort,
/// which is not stable).
/// \param scores floating [N, V]: logits or log-probabilities (the filters and the
///        softmax give the same p for either)
/// \param options temperature, top_k and top_p (its other settings are sample_decode's)
/// \return float64 [N, V]: z, with −∞ at the removed tokens
/// \throws std::invalid_argument naming filter_logits and the value when scores is
///         not floating [N, V] with V ≥ 1, the temperature is not finite and > 0,
///         top_k < 0, top_p is outside (0, 1], or a row holds NaN or +∞ or only −∞
Tensor filter_logits(const Tensor& scores, const SampleDecodeOptions& options = {});

/// Sampling: each row draws its next token from its filtered distribution
/// (filter_logits()),
///
///     y_t ~ p_t = softmax(filter(scores_t))        by inverse CDF: y_t is the
///     first v with u < (Σ_{w ≤ v} e^{z_w − max z}) / (Σ_w e^{z_w − max z})
///
/// with one uniform u = gen.uniform() per row per step, rows in order (a finished
/// row draws too, so each row's stream does not depend on when others finish):
/// the same generator state gives the same tokens. The decoder is fed the prompt
/// (or the start symbol), then each row its last token, without recording a graph;
/// end and pad symbols work as in greedy_decode(). top_k = 1 gives
/// greedy_decode's tokens wherever the maximum is unique.
/// \return int64 [B, L], L ≤ max_length: the drawn tokens, without the prompt; L as
///         in greedy_decode()
/// \throws std::invalid_argument naming sample_decode and the value for a bad
///         setting (as filter_logits()), max_length < 1, a decoder without rows, a
///         prompt that is not int64 [B, P ≥ 1] for the decoder's B rows, a step()
///         that returns anything but floating [N, V], an end symbol not in [0, V),
///         or scores a row cannot draw from (NaN, +∞, all −∞)
Tensor sample_decode(IncrementalDecoder& decoder, const SampleDecodeOptions& options,
                     Generator& gen);

/// The settings of beam_search().
struct BeamSearchOptions {
  /// \param beam_width K, the hypotheses kept per batch element (≥ 1)
  explicit BeamSearchOptions(int64_t beam_width) : beam_width_(beam_width) {}
  /// K, the hypotheses kept per batch element; 1 gives greedy_decode's tokens
  MINIGRAD_ARG(int64_t, beam_width);
  /// the token fed to every row at the first step (BOS)
  MINIGRAD_ARG(int64_t, start_symbol) = 0;
  /// the most tokens in a hypothesis (the end symbol included); ≥ 1
  MINIGRAD_ARG(int64_t, max_length) = 20;
  /// α: a finished hypothesis of n tokens scores log P / n^α. 0: the plain
  /// log-probability, which favours short sequences; 1 (fairseq's and Hugging
  /// Face's default): the mean log-probability per token
  MINIGRAD_ARG(double, length_penalty) = 1.0;
  /// a hypothesis that produces it is finished; none: every hypothesis runs
  /// max_length steps
  MINIGRAD_ARG(std::optional<int64_t>, end_symbol) = std::nullopt;
  /// what fills `tokens` after a shorter sequence's end; none: the end symbol
  MINIGRAD_ARG(std::optional<int64_t>, pad_symbol) = std::nullopt;
};

/// One finished hypothesis of beam_search().
struct Hypothesis {
  std::vector<int64_t> tokens;  ///< y_1 … y_n, the end symbol included when it was produced
  double log_prob = 0;          ///< Σ_t log p(y_t | y_<t), in float64
  double score = 0;             ///< log_prob / n^α, what the hypotheses are ranked by
};

/// What beam_search() returns.
struct BeamSearchOutput {
  Tensor tokens;   ///< int64 [B, L]: each batch element's best sequence, pad_symbol after its end
  Tensor scores;   ///< float64 [B]: its score, log P / n^α
  Tensor lengths;  ///< int64 [B]: its n, the end symbol included
  /// per batch element, every finished hypothesis kept (up to K), best first
  std::vector<std::vector<Hypothesis>> beams;
};

/// Beam search (as fairseq's SequenceGenerator, whose length penalty it takes):
/// each batch element keeps the K prefixes of highest log-probability
///
///     log P(y_1 … y_t) = Σ_{s ≤ t} log p(y_s | y_<s),    log p = log_softmax(scores)
///
/// Step t extends every live prefix by every token and ranks the candidates by
/// log P (ties: the earlier hypothesis, then its higher-scored token, then the
/// lower token). A candidate that ends in end_symbol and ranks among the first K
/// is finished; the K best others are the new live prefixes (so the beam stays
/// full while K candidates without the end symbol exist). A batch element is done
/// once it has K finished hypotheses, and at max_length, where its live prefixes
/// are finished as they stand. Its best sequence is the finished hypothesis of
/// highest
///
///     score = log P(y_1 … y_n) / n^α       (α = length_penalty; n counts the end symbol)
///
/// Done batch elements leave the decoder's state (reorder() drops their rows).
/// Width 1 follows the greedy path: each hypothesis ranks its own candidates in
/// the order of its raw scores, which log_softmax and the addition of log P keep
/// (both round monotonically), so the single survivor is argmax, as in
/// greedy_decode.
/// \throws std::invalid_argument naming beam_search and the value when
///         beam_width < 1, max_length < 1, the decoder has no rows, step() returns
///         anything but floating [N, V], or the end symbol is not in [0, V)
BeamSearchOutput beam_search(IncrementalDecoder& decoder, const BeamSearchOptions& options);

}  // namespace minigrad::nn
