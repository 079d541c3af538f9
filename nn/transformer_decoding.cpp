#include "minigrad/nn/transformer_decoding.h"

#include <utility>

#include "minigrad/autograd/functions.h"
#include "minigrad/nn/attention.h"
#include "minigrad/tensor/check.h"

namespace minigrad::nn {

TransformerDecoding::TransformerDecoding(TransformerDecoder& decoder, const Variable& memory,
                                         Embed embed, Readout readout,
                                         const TransformerDecodingOptions& options)
    : decoder_(decoder),
      embed_(std::move(embed)),
      readout_(std::move(readout)),
      options_(options),
      batch_first_(decoder.options.decoder_layer().batch_first()) {
  const int64_t e = decoder.options.decoder_layer().d_model();
  MINIGRAD_CHECK(memory.dim() == 3 && memory.size(2) == e)
      << "TransformerDecoding: memory " << memory.shape() << ": expected "
      << (batch_first_ ? "[B, S, E]" : "[S, B, E]") << " with E=" << e
      << " (rows become hypotheses: unbatched memory is [1, S, E] or [S, 1, E])";
  batch_ = memory.size(batch_first_ ? 0 : 1);
  NoGradGuard no_grad;
  if (options_.use_cache()) {
    cache_ = decoder.init_cache(memory, options_.memory_key_padding_mask());
  } else {
    memory_ = memory;
  }
}

Variable TransformerDecoding::to_layout(const Variable& x) const {
  return batch_first_ ? x : x.transpose(0, 1);  // [N, L, E] ↔ [L, N, E]
}

Variable TransformerDecoding::embedded(const Tensor& tokens, int64_t position) {
  const Variable x = embed_(tokens, position);
  const int64_t e = decoder_.options.decoder_layer().d_model();
  MINIGRAD_CHECK(x.dim() == 3 && x.size(0) == tokens.size(0) && x.size(1) == tokens.size(1) &&
                 x.size(2) == e)
      << "TransformerDecoding: embed returned " << x.shape() << " for tokens " << tokens.shape()
      << ": expected [" << tokens.size(0) << ", " << tokens.size(1) << ", " << e << "]";
  return to_layout(x);
}

Tensor TransformerDecoding::step(const Tensor& last_tokens) {
  NoGradGuard no_grad;
  const Tensor column = last_tokens.reshape({batch_, 1});  // [N, 1]
  Variable newest;                                         // the decoder's output there, [N, E]
  if (options_.use_cache()) {
    // one position per layer: position_ against the cached keys and values
    const Variable y = decoder_.forward_step(embedded(column, position_), cache_);
    newest = to_layout(y).select(1, 0);
  } else {
    // the whole prefix 0 … t, each position seeing itself and those before it
    tokens_ = tokens_.defined() ? concat({tokens_, column}, 1) : column;
    const int64_t t = tokens_.size(1);
    const auto masks = TransformerDecoderForwardOptions()
                           .tgt_mask(causal_mask(t))
                           .memory_key_padding_mask(options_.memory_key_padding_mask());
    const Variable y = decoder_(embedded(tokens_, 0), memory_, masks);
    newest = to_layout(y).select(1, t - 1);
  }
  ++position_;
  return readout_(newest).data();
}

void TransformerDecoding::reorder(const Tensor& index) {
  batch_ = index.size(0);
  if (options_.use_cache()) {
    cache_.reorder(index);
    return;
  }
  memory_ = index_select(memory_, batch_first_ ? 0 : 1, index);
  if (tokens_.defined()) tokens_ = index_select(tokens_, 0, index);
  Tensor& padding = options_.memory_key_padding_mask();
  if (padding.defined()) padding = index_select(padding, 0, index);
}

}  // namespace minigrad::nn
