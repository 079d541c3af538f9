// The two models of date_translation (main.cpp beside this file), each with its own
// recipe, behind one interface, so that training, evaluation and the pictures are
// written once for both:
//
//   source "Thursday, May 3, 1979"  →  <start> 1 9 7 9 - 0 5 - 0 3 <end>
//
// (a) LSTM + attention: the encoder-decoder of seq2seq_attention (its model.h has
//     every line of it) with dot attention, embedding 32, hidden 128: the size the
//     measurements behind this example found to reach 99 % in 400–600 steps (hidden
//     64 needed 900). Adam 3e-3, the gradient norm clipped to 1, the rate held and
//     then decayed along a cosine over the last 30 % of the steps: seq2seq_attention's
//     recipe.
// (b) Transformer: the model of transformer_copy (its model.h) at d_model 64, 4 heads
//     of 16, feed-forward 256, 2 + 2 layers, dropout 0.1: half transformer_copy's
//     width, because on the copy task d 64 learned in as few steps as d 128 at half
//     the time per step, and a date has few symbols to tell apart (65 in, 14 out);
//     2 + 2 layers and 4 heads as there, the size the measurements behind this
//     example used ("a 2-layer Transformer of width 64": 1,500–1,700 steps to 99 %).
//     Adam (0.9, 0.98, ε 1e-9), a linear warm-up of 400 steps to 6e-3 (about the
//     paper's peak at this width, 6.25e-3), then a half cosine to 0 at the last step.
//     The paper's schedule (--schedule noam: the same warm-up, then down as 1/√step)
//     learns as fast at first, but its rate is still 2.8e-3 at step 2,000 and
//     held-out exact match keeps swinging (98.7 % to 99.9 % from step 1,450 on, seed
//     1); decayed to 0, the model settles. A top of 3e-3 took 1,450 steps to 99 %,
//     6e-3 1,250 (seed 1).
//
// Both read the characters of the source, padded at the end to 29 with <pad> (id 0)
// that neither ever attends to (a key padding mask; the LSTM's encoder also holds its
// state over it, so its decoder starts from the state after the last character), so
// a date decodes the same however far it is padded. Both write the target's
// characters after <start> until <end> through nn::greedy_decode (the Transformer
// with its key/value cache). Training is teacher forcing on the same batches: the
// cross-entropy of the 11 characters after <start> (10 of the date, then <end>).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "examples/common/task.h"
#include "examples/date_translation/dates.h"
#include "examples/seq2seq_attention/model.h"
#include "examples/transformer_copy/model.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/scheduler.h"

namespace minigrad::examples {

/// The characters a model writes after <start>: "YYYY-MM-DD" and <end>.
constexpr int64_t kWrittenLength = kTargetLength - 1;

/// The two models of the example.
enum class DateModelKind { LSTM, Transformer };
/// "lstm", "transformer".
const char* date_model_name(DateModelKind kind);
/// The kind date_model_name() calls `name`.
/// \throws std::invalid_argument for any other word
DateModelKind date_model_from_name(const std::string& name);

/// The LSTM side: its sizes and its training.
struct DateLSTMSettings {
  int64_t embedding = 32;   ///< E
  int64_t hidden = 128;     ///< H
  double lr = 3e-3;         ///< Adam's rate while it is held
  double clip = 1.0;        ///< the gradient's global norm is clipped to this (0: never)
  double decay_from = 0.7;  ///< the fraction of the steps after which the rate decays to 0
};

/// The Transformer side: its sizes and its training.
struct DateTransformerSettings {
  int64_t d_model = 64;
  int64_t heads = 4;
  int64_t dim_feedforward = 256;
  int64_t encoder_layers = 2;
  int64_t decoder_layers = 2;
  double dropout = 0.1;
  /// "cosine": a linear warm-up to `lr`, then a half cosine to 0 at the run's last
  /// step (nn::WarmupCosineLR); "noam": the paper's, factor · d^−½ · min(s^−½, s ·
  /// warmup^−3/2) (nn::NoamLR)
  std::string schedule = "cosine";
  int64_t warmup = 400;  ///< steps of the linear rise
  double lr = 6e-3;      ///< the cosine schedule's top
  double factor = 1.0;   ///< the Noam schedule's factor (its base lr)
};

/// seq2seq_attention's model with the dates' vocabularies, <start> and <end>, and
/// the source's <pad> masked: dot attention, LSTM cells.
Seq2SeqConfig date_lstm_config(const DateLSTMSettings& settings);
/// transformer_copy's model with the dates' vocabularies, <start>, <end> and the
/// source's <pad> masked, positions for the longest source, post-norm.
TransformerCopyConfig date_transformer_config(const DateTransformerSettings& settings);

/// What one training step reports.
struct DateStep {
  double loss = 0;            ///< mean cross-entropy of the batch's written characters
  double batch_accuracy = 0;  ///< the fraction of them the logits' argmax gets right
};

/// A model of the example with its optimizer and learning-rate schedule. A
/// training step is the same for both: teacher-forced logits of the 11 written
/// characters, their cross-entropy, backward, the gradient clipped (if the recipe
/// says so), the optimizer's step, the schedule's step.
class DateTranslator {
 public:
  virtual ~DateTranslator() = default;
  DateTranslator(const DateTranslator&) = delete;
  DateTranslator& operator=(const DateTranslator&) = delete;

  virtual DateModelKind kind() const = 0;
  /// The model, for checkpoints and parameter counts.
  virtual nn::Module& module() = 0;
  /// Teacher forcing: source int64 [B, S], target [B, 12] (<start> … <end>) →
  /// logits [B, 11, V] of target[:, 1:], each from the true characters before it.
  virtual Variable logits(const Tensor& source, const Tensor& target) = 0;
  /// Greedy decoding through nn::greedy_decode, without a graph: int64 [B, 11], the
  /// characters written after <start>, <end> and <pad> after the row's first <end>.
  virtual Tensor translate(const Tensor& source) = 0;
  /// Where the decoder looked in one source (int64 [1, S]) while it wrote
  /// translate()'s characters up to its <end>: [L, S], each row summing to 1. The
  /// LSTM's attention weights; the Transformer's last decoder layer's
  /// cross-attention, averaged over its heads.
  virtual Tensor cross_attention(const Tensor& source) = 0;

  /// One training step on `batch`.
  DateStep train_step(const DateBatch& batch);
  /// Held-out accuracy of translate(): token = the fraction of the 11 written
  /// characters right, sequence = exact match (the whole date and its <end>).
  Accuracy evaluate(const DateBatch& data);

  nn::Optimizer& optimizer() { return *optimizer_; }
  nn::LRScheduler& scheduler() { return *scheduler_; }

 protected:
  /// \param clip the gradient's global norm is clipped to this before each step (0: never)
  explicit DateTranslator(double clip) : clip_(clip) {}
  /// The derived class builds its model, then its optimizer and schedule.
  std::unique_ptr<nn::Optimizer> optimizer_;
  std::unique_ptr<nn::LRScheduler> scheduler_;

 private:
  double clip_;
};

/// (a): Seq2SeqModel with Adam and the hold-then-cosine rate (hold_then_cosine_lr)
/// of a run of `total_steps`.
class LSTMDateTranslator final : public DateTranslator {
 public:
  /// \param settings    sizes and recipe
  /// \param total_steps the run's length: the rate decays to 0 at its last step
  /// \param gen         draws the initial weights
  LSTMDateTranslator(const DateLSTMSettings& settings, int64_t total_steps, Generator& gen);
  DateModelKind kind() const override { return DateModelKind::LSTM; }
  nn::Module& module() override { return model; }
  Variable logits(const Tensor& source, const Tensor& target) override;
  Tensor translate(const Tensor& source) override;
  Tensor cross_attention(const Tensor& source) override;

  Seq2SeqModel model;  ///< the decoder's first input is <start>; it writes up to <end>
};

/// (b): TransformerCopyModel with Adam (0.9, 0.98, ε 1e-9) and the Noam schedule.
class TransformerDateTranslator final : public DateTranslator {
 public:
  /// \param settings    sizes and recipe
  /// \param total_steps the run's length: the cosine schedule reaches 0 at its last step
  /// \param gen         draws the initial weights and seeds the dropouts
  TransformerDateTranslator(const DateTransformerSettings& settings, int64_t total_steps,
                            Generator& gen);
  DateModelKind kind() const override { return DateModelKind::Transformer; }
  nn::Module& module() override { return model; }
  Variable logits(const Tensor& source, const Tensor& target) override;
  Tensor translate(const Tensor& source) override;
  Tensor cross_attention(const Tensor& source) override;

  TransformerCopyModel model;  ///< starts at <start>, writes up to <end>
};

/// The model of `kind` with the settings of its side (the other is not read).
std::unique_ptr<DateTranslator> make_date_translator(DateModelKind kind,
                                                     const DateLSTMSettings& lstm,
                                                     const DateTransformerSettings& transformer,
                                                     int64_t total_steps, Generator& gen);

}  // namespace minigrad::examples
