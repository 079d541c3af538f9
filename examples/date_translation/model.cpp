#include "examples/date_translation/model.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "examples/common/named_kinds.h"
#include "examples/common/prediction.h"
#include "minigrad/nn/loss.h"

namespace minigrad::examples {

namespace {

constexpr std::pair<DateModelKind, const char*> kModelNames[] = {
    {DateModelKind::LSTM, "lstm"}, {DateModelKind::Transformer, "transformer"}};

// Each row's characters up to its first <end>, then <pad>, as [B, 11]: a decoding that
// stopped sooner (every row finished) is padded on the right.
Tensor written_characters(const Tensor& tokens) {
  const Tensor t = tokens.contiguous();
  const int64_t rows = t.size(0), cols = std::min(t.size(1), kWrittenLength);
  std::vector<int64_t> out(static_cast<size_t>(rows * kWrittenLength), kPad);
  const int64_t* in = t.data<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t token = in[r * t.size(1) + c];
      out[static_cast<size_t>(r * kWrittenLength + c)] = token;
      if (token == kEnd) break;
    }
  }
  return Tensor::from_vector(out, {rows, kWrittenLength});
}

// The characters of one decoded row up to its first <end>, that one included.
int64_t written_length(const Tensor& row) {
  const std::vector<int64_t> tokens = row.contiguous().to_vector<int64_t>();
  const auto end = std::find(tokens.begin(), tokens.end(), kEnd);
  return static_cast<int64_t>(end == tokens.end() ? tokens.size() : end - tokens.begin() + 1);
}

}  // namespace

const char* date_model_name(DateModelKind kind) { return name_of(kModelNames, kind); }

DateModelKind date_model_from_name(const std::string& name) {
  return kind_named(kModelNames, name, "model");
}

Seq2SeqConfig date_lstm_config(const DateLSTMSettings& s) {
  return {.source_vocab = source_vocabulary().size(),
          .target_vocab = target_vocabulary().size(),
          .start_symbol = kStart,
          .end_symbol = kEnd,
          .source_padding = kPad,
          .embedding = s.embedding,
          .hidden = s.hidden,
          .attention = AttentionKind::Dot,
          .cell = CellKind::LSTM};
}

TransformerCopyConfig date_transformer_config(const DateTransformerSettings& s) {
  return {.source_vocab = source_vocabulary().size(),
          .target_vocab = target_vocabulary().size(),
          .max_len = std::max(kSourceLength, kTargetLength),
          .d_model = s.d_model,
          .heads = s.heads,
          .dim_feedforward = s.dim_feedforward,
          .encoder_layers = s.encoder_layers,
          .decoder_layers = s.decoder_layers,
          .dropout = s.dropout,
          .norm_first = false,
          .start_symbol = kStart,
          .end_symbol = kEnd,
          .source_padding = kPad};
}

// ---- both models -----------------------------------------------------------------------

DateStep DateTranslator::train_step(const DateBatch& batch) {
  const Tensor labels = batch.target.narrow(1, 1, kWrittenLength);  // after <start>
  const Variable out = logits(batch.source, batch.target);          // [B, 11, V]
  const Variable loss = nn::cross_entropy(out.reshape({-1, out.size(2)}), labels.reshape({-1}));
  optimizer_->zero_grad();
  loss.backward();
  if (clip_ > 0) nn::utils::clip_grad_norm_(module().parameters(), clip_);
  optimizer_->step();
  scheduler_->step();
  return {loss.item(), accuracy(predict_tokens(out), labels).token};
}

Accuracy DateTranslator::evaluate(const DateBatch& data) {
  return accuracy(translate(data.source), data.target.narrow(1, 1, kWrittenLength));
}

// ---- (a) LSTM + attention ----------------------------------------------------------------

LSTMDateTranslator::LSTMDateTranslator(const DateLSTMSettings& s, int64_t total_steps,
                                       Generator& gen)
    : DateTranslator(s.clip), model(date_lstm_config(s), gen) {
  optimizer_ = std::make_unique<nn::Adam>(model.parameters(), nn::AdamOptions(s.lr));
  // step t + 1 trains at lr · λ(t): held, then down along a cosine to 0 at the last step
  const int64_t steps = std::max<int64_t>(total_steps, 1);
  scheduler_ =
      std::make_unique<nn::LambdaLR>(*optimizer_, [decay_from = s.decay_from, steps](int64_t t) {
        return hold_then_cosine_lr(1.0, decay_from, std::min(t + 1, steps), steps);
      });
}

Variable LSTMDateTranslator::logits(const Tensor& source, const Tensor& target) {
  // the decoder starts from <start> (bos()) and is fed target[:, 1:] shifted by one
  return model.forward_teacher_forcing(source, target.narrow(1, 1, kWrittenLength));
}

Tensor LSTMDateTranslator::translate(const Tensor& source) {
  return written_characters(model.greedy_decode(source, kWrittenLength).tokens);
}

Tensor LSTMDateTranslator::cross_attention(const Tensor& source) {
  const Seq2SeqModel::Decoded d = model.greedy_decode(source, kWrittenLength);
  return d.weights.select(0, 0).narrow(0, 0, written_length(d.tokens.select(0, 0)));
}

// ---- (b) Transformer -------------------------------------------------------------------

TransformerDateTranslator::TransformerDateTranslator(const DateTransformerSettings& s,
                                                     int64_t total_steps, Generator& gen)
    : DateTranslator(/*clip=*/0.0), model(date_transformer_config(s), gen) {
  const bool noam = s.schedule == "noam";
  // The Noam schedule multiplies the base lr, which is its factor.
  optimizer_ = std::make_unique<nn::Adam>(
      model.parameters(), nn::AdamOptions(noam ? s.factor : s.lr).betas({0.9, 0.98}).eps(1e-9));
  if (noam) {
    scheduler_ = std::make_unique<nn::NoamLR>(*optimizer_, nn::NoamLROptions(s.d_model, s.warmup));
  } else {
    scheduler_ = std::make_unique<nn::WarmupCosineLR>(
        *optimizer_,
        nn::WarmupCosineLROptions(std::max(total_steps, s.warmup + 1)).warmup_steps(s.warmup));
  }
}

Variable TransformerDateTranslator::logits(const Tensor& source, const Tensor& target) {
  return model.forward_teacher_forcing(source, target);  // reads target[:, :-1]
}

Tensor TransformerDateTranslator::translate(const Tensor& source) {
  const Tensor decoded = model.greedy_decode(source, kTargetLength);  // <start>, then ≤ 11
  return written_characters(decoded.narrow(1, 1, decoded.size(1) - 1));
}

Tensor TransformerDateTranslator::cross_attention(const Tensor& source) {
  const Tensor decoded = model.greedy_decode(source, kTargetLength);
  const int64_t written = written_length(decoded.select(0, 0).narrow(0, 1, decoded.size(1) - 1));
  // the decoder read <start> and the first written − 1 characters to write `written`
  const TransformerAttention a = model.attention(source, decoded.narrow(1, 0, written));
  return mean(a.cross.back().select(0, 0), {0});  // [heads, L, S] → [L, S]
}

std::unique_ptr<DateTranslator> make_date_translator(DateModelKind kind,
                                                     const DateLSTMSettings& lstm,
                                                     const DateTransformerSettings& transformer,
                                                     int64_t total_steps, Generator& gen) {
  if (kind == DateModelKind::LSTM)
    return std::make_unique<LSTMDateTranslator>(lstm, total_steps, gen);
  return std::make_unique<TransformerDateTranslator>(transformer, total_steps, gen);
}

}  // namespace minigrad::examples
