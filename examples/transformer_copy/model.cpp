#include "examples/transformer_copy/model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "examples/common/eval_mode.h"
#include "minigrad/nn/init.h"

namespace minigrad::examples {

namespace {

// The tokens after the start symbol: a SequenceTask of length − 1 over 0..vocab − 2.
int64_t body_length(int64_t length) {
  if (length < 2) {
    throw std::invalid_argument("StartSymbolCopyTask: length " + std::to_string(length) +
                                ", expected at least 2 (the start symbol and a token)");
  }
  return length - 1;
}

// [B, 1] of the start symbol, then `tokens` [B, L].
Tensor after_start_symbol(int64_t start_symbol, const Tensor& tokens) {
  return concat(
      {Tensor::full({tokens.size(0), 1}, static_cast<double>(start_symbol), DType::Int64), tokens},
      1);
}

}  // namespace

// ---- the task -----------------------------------------------------------------------

StartSymbolCopyTask::StartSymbolCopyTask(int64_t length)
    : body_(Task::Copy, body_length(length), kVocab - 1) {
  heldout_ = with_start_symbol(body_.heldout().source);
}

Batch StartSymbolCopyTask::with_start_symbol(const Tensor& body) const {
  const Tensor b = body.contiguous();
  const int64_t n = b.size(0), L = length();
  Tensor source = Tensor::empty({n, L}, DType::Int64);
  const int64_t* in = b.data<int64_t>();
  int64_t* out = source.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    out[i * L] = kStartSymbol;                                                     // src[:, 0] = 1
    for (int64_t t = 1; t < L; ++t) out[i * L + t] = in[i * (L - 1) + t - 1] + 1;  // 1..10
  }
  return {source, source};  // the target is the source
}

Batch StartSymbolCopyTask::sample(int64_t batch_size, Generator& gen) const {
  return with_start_symbol(body_.sample(batch_size, gen).source);
}

// ---- the model ----------------------------------------------------------------------

TransformerCopyModel::TransformerCopyModel(const TransformerCopyConfig& c, Generator& gen)
    : config(c) {
  source_embedding = register_module(
      "source_embedding",
      std::make_shared<nn::Embedding>(nn::EmbeddingOptions(c.source_vocab, c.d_model), gen));
  target_embedding = register_module(
      "target_embedding",
      std::make_shared<nn::Embedding>(nn::EmbeddingOptions(c.target_vocab, c.d_model), gen));
  positions =
      register_module("positions", std::make_shared<nn::SinusoidalPositionalEncoding>(
                                       nn::PositionalEncodingOptions(c.max_len, c.d_model)));
  source_dropout = register_module(
      "source_dropout", std::make_shared<nn::Dropout>(nn::DropoutOptions(c.dropout), gen));
  target_dropout = register_module(
      "target_dropout", std::make_shared<nn::Dropout>(nn::DropoutOptions(c.dropout), gen));
  transformer = register_module(
      "transformer",
      std::make_shared<nn::Transformer>(
          nn::TransformerOptions(c.d_model, c.heads, c.encoder_layers, c.decoder_layers)
              .dim_feedforward(c.dim_feedforward)
              .dropout(c.dropout)
              .norm_first(c.norm_first)
              .batch_first(true),
          gen));
  readout = register_module(
      "readout", std::make_shared<nn::Linear>(nn::LinearOptions(c.d_model, c.target_vocab), gen));
  // The Annotated Transformer's make_model: every matrix of the whole model drawn
  // again, Glorot-uniform, the embeddings included.
  for (Variable p : parameters()) {
    if (p.dim() > 1) nn::init::xavier_uniform_(p.mutable_data(), 1.0, gen);
  }
}

// dropout(E[x]·√d + P), as in the paper (section 3.4). After the Glorot draw above an
// embedding entry is U(−a, a), a = √(6 / (11 + 128)) ≈ 0.21, so E[x]·√d is within ±2.35
// (standard deviation 1.36), on the scale of the sinusoids' ±1. With the Glorot draw on
// the Transformer's own matrices only (embeddings left at N(0, 1), the readout at
// nn::Linear's default), E[x]·√d has standard deviation 11.3, the positions drown, and
// the copy is not learned: seed 1 ended at 26 % of held-out tokens after 1,500 steps.
Variable TransformerCopyModel::embed(nn::Embedding& embedding, nn::Dropout& dropout,
                                     const Tensor& tokens, int64_t first_position) {
  const Variable x = embedding(tokens) * std::sqrt(static_cast<double>(config.d_model));
  const Tensor p = positions->table.narrow(0, first_position, tokens.size(1));  // [t, d]
  return dropout(x + p);
}

Tensor TransformerCopyModel::source_padding_mask(const Tensor& source) const {
  if (!config.source_padding) return {};
  return eq(source, Scalar(*config.source_padding));
}

Variable TransformerCopyModel::encode(const Tensor& source) {
  return transformer->encoder->forward(
      embed(*source_embedding, *source_dropout, source, 0),
      nn::TransformerEncoderForwardOptions().src_key_padding_mask(source_padding_mask(source)));
}

Variable TransformerCopyModel::decode(const Variable& memory, const Tensor& decoder_input,
                                      const Tensor& memory_padding) {
  const Variable y = embed(*target_embedding, *target_dropout, decoder_input, 0);
  // −∞ above the diagonal: position i attends to positions ≤ i only
  const Tensor causal = nn::Transformer::generate_square_subsequent_mask(decoder_input.size(1));
  return (*readout)((*transformer->decoder)(
      y, memory,
      nn::TransformerDecoderForwardOptions().tgt_mask(causal).memory_key_padding_mask(
          memory_padding)));
}

Variable TransformerCopyModel::forward_teacher_forcing(const Tensor& source, const Tensor& target) {
  // reads y_0 … y_{T−2} (y_0 = the start symbol), predicts y_1 … y_{T−1}
  return decode(encode(source), target.narrow(1, 0, target.size(1) - 1),
                source_padding_mask(source));
}

nn::TransformerDecoding TransformerCopyModel::decoding(
    const Tensor& source, const nn::TransformerDecodingOptions& options) {
  Variable memory;
  {
    NoGradGuard no_grad;
    memory = encode(source);
  }
  nn::TransformerDecodingOptions with_padding = options;
  if (config.source_padding && !options.memory_key_padding_mask().defined())
    with_padding.memory_key_padding_mask(source_padding_mask(source));
  return nn::TransformerDecoding(
      *transformer->decoder, memory,
      [this](const Tensor& tokens, int64_t position) {
        return embed(*target_embedding, *target_dropout, tokens, position);
      },
      [this](const Variable& x) { return (*readout)(x); }, with_padding);
}

Tensor TransformerCopyModel::greedy_decode(const Tensor& source, int64_t length) {
  const EvalMode eval(*this);
  nn::TransformerDecoding decoder = decoding(source);
  return after_start_symbol(config.start_symbol,
                            nn::greedy_decode(decoder, nn::GreedyDecodeOptions()
                                                           .start_symbol(config.start_symbol)
                                                           .max_length(length - 1)
                                                           .end_symbol(config.end_symbol)));
}

Tensor TransformerCopyModel::beam_search(const Tensor& source, int64_t length, int64_t beam_width) {
  const EvalMode eval(*this);
  nn::TransformerDecoding decoder = decoding(source);
  return after_start_symbol(config.start_symbol,
                            nn::beam_search(decoder, nn::BeamSearchOptions(beam_width)
                                                         .start_symbol(config.start_symbol)
                                                         .max_length(length - 1)
                                                         .end_symbol(config.end_symbol))
                                .tokens);
}

TransformerAttention TransformerCopyModel::attention(const Tensor& source,
                                                     const Tensor& decoder_input) {
  const EvalMode eval(*this);
  NoGradGuard no_grad;
  nn::ModuleList& encoder_layers = *transformer->encoder->layers;
  nn::ModuleList& decoder_layers = *transformer->decoder->layers;
  const auto keep = [&](bool on) {
    for (int64_t i = 0; i < config.encoder_layers; ++i)
      encoder_layers.at<nn::TransformerEncoderLayer>(i).keep_attention_weights = on;
    for (int64_t i = 0; i < config.decoder_layers; ++i)
      decoder_layers.at<nn::TransformerDecoderLayer>(i).keep_attention_weights = on;
  };
  keep(true);
  decode(encode(source), decoder_input, source_padding_mask(source));
  keep(false);
  TransformerAttention out;
  for (int64_t i = 0; i < config.encoder_layers; ++i)
    out.encoder.push_back(encoder_layers.at<nn::TransformerEncoderLayer>(i).self_attn_weights);
  for (int64_t i = 0; i < config.decoder_layers; ++i) {
    const nn::TransformerDecoderLayer& layer = decoder_layers.at<nn::TransformerDecoderLayer>(i);
    out.decoder.push_back(layer.self_attn_weights);
    out.cross.push_back(layer.multihead_attn_weights);
  }
  return out;
}

double linear_warmup(int64_t t, int64_t warmup) {
  if (warmup <= 0) return 1.0;
  return std::min(1.0, static_cast<double>(t + 1) / static_cast<double>(warmup));
}

Accuracy evaluate(TransformerCopyModel& model, const Batch& data, int64_t beam_width) {
  const int64_t length = data.target.size(1);
  const Tensor decoded = beam_width > 1 ? model.beam_search(data.source, length, beam_width)
                                        : model.greedy_decode(data.source, length);
  // the start symbol is given, not predicted: score the length − 1 tokens after it
  return accuracy(decoded.narrow(1, 1, length - 1), data.target.narrow(1, 1, length - 1));
}

}  // namespace minigrad::examples
