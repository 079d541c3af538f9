#include "examples/gpt/model.h"

#include <cmath>
#include <exception>
#include <string>
#include <utility>

#include "examples/common/eval_mode.h"
#include "minigrad/nn/init.h"
#include "minigrad/nn/loss.h"
#include "minigrad/tensor/check.h"

namespace minigrad::examples {

namespace {

nn::LinearOptions linear_options(const GPTOptions& o, int64_t in, int64_t out) {
  return nn::LinearOptions(in, out).bias(o.bias()).dtype(o.dtype());
}

nn::LayerNormOptions layer_norm_options(const GPTOptions& o) {
  return nn::LayerNormOptions({o.n_embd()}).bias(o.bias()).dtype(o.dtype());
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

// ---- the MLP ------------------------------------------------------------------------------------

GPTMLP::GPTMLP(const GPTOptions& o, Generator& gen) {
  c_fc = register_module(
      "c_fc", std::make_shared<nn::Linear>(linear_options(o, o.n_embd(), 4 * o.n_embd()), gen));
  gelu = register_module("gelu", std::make_shared<nn::GELU>());
  c_proj = register_module(
      "c_proj", std::make_shared<nn::Linear>(linear_options(o, 4 * o.n_embd(), o.n_embd()), gen));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(o.dropout(), gen));
}

Variable GPTMLP::forward(const Variable& x) {
  return (*dropout)((*c_proj)((*gelu)((*c_fc)(x))));  // [B, T, C] → [B, T, 4C] → [B, T, C]
}

// ---- the block ----------------------------------------------------------------------------------

GPTBlock::GPTBlock(const GPTOptions& o, Generator& gen) {
  ln_1 = register_module("ln_1", std::make_shared<nn::LayerNorm>(layer_norm_options(o)));
  attn = register_module("attn", std::make_shared<nn::MultiheadAttention>(
                                     nn::MultiheadAttentionOptions(o.n_embd(), o.n_head())
                                         .dropout(o.dropout())
                                         .bias(o.bias())
                                         .batch_first(true)
                                         .dtype(o.dtype()),
                                     gen));
  resid_dropout = register_module("resid_dropout", std::make_shared<nn::Dropout>(o.dropout(), gen));
  ln_2 = register_module("ln_2", std::make_shared<nn::LayerNorm>(layer_norm_options(o)));
  mlp = register_module("mlp", std::make_shared<GPTMLP>(o, gen));
}

Variable GPTBlock::forward(const Variable& x) { return residuals(x, nullptr); }

Variable GPTBlock::forward(const Variable& x, nn::ProjectedKeyValue& cache) {
  return residuals(x, &cache);
}

Variable GPTBlock::residuals(const Variable& x, nn::ProjectedKeyValue* cache) {
  const int64_t c = attn->options.embed_dim();
  MINIGRAD_CHECK(x.dim() == 3 && x.size(1) > 0 && x.size(2) == c)
      << "GPTBlock: x " << x.shape() << ": expected [B, T, C] with T ≥ 1, C = " << c;
  const int64_t t = x.size(1), past = cache ? cache->length() : 0;
  // query i is position past + i: it sees keys 0 … past + i
  const auto fwd = nn::MultiheadAttentionForwardOptions()
                       .attn_mask(nn::causal_mask(t, past))
                       .need_weights(keep_attention_weights)
                       .average_attn_weights(false);
  const Variable a = (*ln_1)(x);  // [B, T, C]
  const nn::MultiheadOutput att =
      cache ? attn->forward_cached(a, *cache, fwd) : attn->forward(a, a, a, fwd);
  if (keep_attention_weights) attn_weights = att.weights.data();  // [B, h, T, past + T]
  const Variable y = x + (*resid_dropout)(att.output);            // [B, T, C]
  return y + (*mlp)((*ln_2)(y));                                  // [B, T, C]
}

// ---- the model ----------------------------------------------------------------------------------

GPT::GPT(const GPTOptions& o, Generator& gen) : options(o) {
  MINIGRAD_CHECK(o.vocab_size() > 0 && o.block_size() > 0 && o.n_layer() > 0 && o.n_head() > 0 &&
                 o.n_embd() > 0 && o.n_embd() % o.n_head() == 0 && o.dropout() >= 0.0 &&
                 o.dropout() < 1.0)
      << "GPT: vocab_size " << o.vocab_size() << ", block_size " << o.block_size() << ", n_layer "
      << o.n_layer() << ", n_head " << o.n_head() << ", n_embd " << o.n_embd() << ", dropout "
      << o.dropout() << ": expected positive sizes, n_head dividing n_embd and 0 ≤ dropout < 1";
  transformer = register_module("transformer", std::make_shared<nn::ModuleDict>());
  wte = std::make_shared<nn::Embedding>(
      nn::EmbeddingOptions(o.vocab_size(), o.n_embd()).dtype(o.dtype()), gen);
  wpe = std::make_shared<nn::Embedding>(
      nn::EmbeddingOptions(o.block_size(), o.n_embd()).dtype(o.dtype()), gen);
  drop = std::make_shared<nn::Dropout>(o.dropout(), gen);
  h = std::make_shared<nn::ModuleList>();
  for (int64_t i = 0; i < o.n_layer(); ++i) h->push_back(std::make_shared<GPTBlock>(o, gen));
  ln_f = std::make_shared<nn::LayerNorm>(layer_norm_options(o));
  transformer->insert("wte", wte);
  transformer->insert("wpe", wpe);
  transformer->insert("drop", drop);
  transformer->insert("h", h);
  transformer->insert("ln_f", ln_f);

  // nanoGPT's _init_weights and its c_proj rule, drawn in named_parameters() order
  const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(o.n_layer()));
  for (auto& [name, p] : named_parameters()) {
    Tensor& w = p.mutable_data();
    if (ends_with(name, "bias")) {  // .bias, attn.in_proj_bias
      nn::init::zeros_(w);
    } else if (ends_with(name, "c_proj.weight") || ends_with(name, "out_proj.weight")) {
      nn::init::normal_(w, 0.0, residual_std, gen);
    } else if (w.dim() >= 2) {  // wte, wpe, attn.in_proj_weight, mlp.c_fc.weight
      nn::init::normal_(w, 0.0, 0.02, gen);
    }  // LayerNorm weights stay 1
  }
}

Variable GPT::forward(const Tensor& idx) { return run(idx, nullptr); }

Variable GPT::forward(const Tensor& idx, GPTCache& cache) {
  if (cache.layers.empty()) cache.layers.resize(static_cast<size_t>(options.n_layer()));
  return run(idx, &cache);
}

Variable GPT::run(const Tensor& idx, GPTCache* cache) {
  const int64_t past = cache ? cache->length() : 0;
  MINIGRAD_CHECK(idx.dtype() == DType::Int64 && idx.dim() == 2 && idx.size(1) > 0 &&
                 past + idx.size(1) <= options.block_size())
      << "GPT: idx " << dtype_name(idx.dtype()) << " " << idx.shape()
      << (past > 0 ? " after " + std::to_string(past) + " cached positions" : std::string())
      << ": expected int64 [B, T] with 1 ≤ " << (past > 0 ? "P + T" : "T")
      << " ≤ block_size = " << options.block_size();
  const int64_t b = idx.size(0), t = idx.size(1);
  const nn::ProjectedKeyValue& kv0 = cache ? cache->layers.front() : nn::ProjectedKeyValue{};
  MINIGRAD_CHECK(!kv0.key.defined() || kv0.key.size(0) == b)
      << "GPT: idx " << idx.shape() << " against a cache of batch " << kv0.key.size(0)
      << ": expected the cache's batch";

  const Tensor pos = Tensor::arange(static_cast<double>(past), static_cast<double>(past + t), 1,
                                    DType::Int64);  // [T]: positions past … past + T − 1
  Variable x = (*drop)((*wte)(idx) + (*wpe)(pos));  // [B, T, C] + [T, C]
  for (int64_t i = 0; i < options.n_layer(); ++i) {
    GPTBlock& blk = block(i);
    x = cache ? blk.forward(x, cache->layers[static_cast<size_t>(i)])
              : blk.forward(x);  // [B, T, C]
  }
  return nn::linear((*ln_f)(x), wte->weight);  // [B, T, C]·[V, C]ᵀ = [B, T, V], tied to wte
}

std::vector<Tensor> GPT::attention(const Tensor& idx) {
  EvalMode eval_mode(*this);
  NoGradGuard no_grad;
  for (int64_t i = 0; i < options.n_layer(); ++i) block(i).keep_attention_weights = true;
  // the blocks stop keeping weights whether or not the forward throws
  std::exception_ptr failure;
  try {
    forward(idx);
  } catch (...) {
    failure = std::current_exception();
  }
  std::vector<Tensor> out;
  for (int64_t i = 0; i < options.n_layer(); ++i) {
    block(i).keep_attention_weights = false;
    out.push_back(std::move(block(i).attn_weights));
    block(i).attn_weights = Tensor();
  }
  if (failure) std::rethrow_exception(failure);
  return out;
}

Variable next_token_loss(const Variable& logits, const Tensor& targets) {
  MINIGRAD_CHECK(logits.dim() == 3 && targets.dim() == 2 && targets.size(0) == logits.size(0) &&
                 targets.size(1) == logits.size(1))
      << "next_token_loss: logits " << logits.shape() << " and targets " << targets.shape()
      << ": expected [B, T, V] and [B, T]";
  const int64_t n = logits.size(0) * logits.size(1), v = logits.size(2);
  return nn::cross_entropy(logits.reshape({n, v}), targets.reshape({n}),
                           nn::CrossEntropyOptions().ignore_index(-1));  // over [B·T, V]
}

// ---- decoding -----------------------------------------------------------------------------------

GPTDecoding::GPTDecoding(GPT& model, int64_t batch_size, const GPTDecodingOptions& options)
    : model_(model),
      use_cache_(options.use_cache()),
      crop_to_(options.crop_to() == 0 ? model.options.block_size() : options.crop_to()),
      batch_(batch_size) {
  MINIGRAD_CHECK(batch_size >= 1 && options.crop_to() >= 0 &&
                 options.crop_to() <= model.options.block_size())
      << "GPTDecoding: batch_size " << batch_size << " and crop_to " << options.crop_to()
      << ": expected batch_size ≥ 1 and 0 ≤ crop_to ≤ block_size = " << model.options.block_size()
      << " (0: block_size)";
}

Tensor GPTDecoding::step(const Tensor& last_tokens) {
  MINIGRAD_CHECK(last_tokens.dtype() == DType::Int64 && last_tokens.dim() == 1 &&
                 last_tokens.size(0) == batch_)
      << "GPTDecoding: last_tokens " << dtype_name(last_tokens.dtype()) << " "
      << last_tokens.shape() << ": expected int64 [" << batch_ << "]";
  NoGradGuard no_grad;
  const Tensor column = last_tokens.reshape({batch_, 1});  // [N, 1]
  context_ = context_.defined() ? concat({context_, column}, 1) : column;
  bool rebuild = false;
  if (context_.size(1) > model_.options.block_size()) {
    // keep the last crop_to tokens; they move to positions 0 … crop_to − 1
    context_ = context_.narrow(1, context_.size(1) - crop_to_, crop_to_).contiguous();
    rebuild = true;
  }
  Variable logits;  // [N, L, V]
  if (!use_cache_) {
    logits = model_(context_);  // the whole context, every step
  } else if (rebuild || cache_.length() == 0) {
    cache_ = GPTCache();
    logits = model_.forward(context_, cache_);  // the kept tokens fill a fresh cache
  } else {
    logits = model_.forward(column, cache_);  // the new position against the cache
  }
  return logits.data().select(1, logits.size(1) - 1).contiguous();  // [N, V]
}

void GPTDecoding::reorder(const Tensor& index) {
  batch_ = index.size(0);
  if (context_.defined()) context_ = index_select(context_, 0, index);
  cache_.reorder(index);
}

}  // namespace minigrad::examples
