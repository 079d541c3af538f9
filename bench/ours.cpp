// The minigrad side of every workload, written the way a user of the library would
// write it: nn modules, autograd ops, nn::Adam and nn::AdamW, examples/gpt's GPT.
// Nothing here is bench-specific tuning; if a workload is slow, the fix belongs in
// the library.
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "examples/gpt/model.h"
#include "minigrad/autograd/functions.h"
#include "minigrad/nn/attention.h"
#include "minigrad/nn/decode.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/lstm.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/transformer.h"
#include "minigrad/tensor/cpu.h"
#include "minigrad/tensor/gemm.h"
#include "workloads.h"

namespace bench::ours {

using namespace minigrad;

namespace {

Tensor ids_tensor(const std::vector<int64_t>& ids, int64_t batch, int64_t steps) {
  return Tensor::from_vector(ids, {batch, steps});
}

Tensor float_tensor(const std::vector<float>& v, const Shape& shape) {
  return Tensor::from_vector(v, shape);
}

HostParams export_params(const nn::Module& m) {
  HostParams out;
  for (const auto& [name, p] : m.named_parameters()) {
    HostTensor h;
    h.shape.assign(p.shape().begin(), p.shape().end());
    h.data = p.data().to_vector<float>();
    out[name] = std::move(h);
  }
  return out;
}

// The decoder's input under teacher forcing: BOS, y_0, ..., y_{T-2}, as [B, T].
Tensor shifted_right(const Tokens& b, int64_t bos) {
  std::vector<int64_t> in(b.tgt.size());
  for (int64_t i = 0; i < b.batch; ++i) {
    for (int64_t t = 0; t < b.steps; ++t) {
      in[size_t(i * b.steps + t)] = t == 0 ? bos : b.tgt[size_t(i * b.steps + t - 1)];
    }
  }
  return ids_tensor(in, b.batch, b.steps);
}

// Fraction of positions where argmax(logits) equals the target. logits [B, T, V].
double token_accuracy(const Tensor& logits, const std::vector<int64_t>& targets) {
  const Tensor pred = argmax(logits, -1).contiguous();
  const int64_t* p = pred.data<int64_t>();
  int64_t right = 0;
  for (size_t i = 0; i < targets.size(); ++i) right += p[i] == targets[i];
  return static_cast<double>(right) / static_cast<double>(targets.size());
}

// ---- SELFATT -----------------------------------------------------------------------------

// tokens [B, T] → embedding + positions [B, T, d] → self-attention [B, T, d] → logits [B, T, V]
class SelfAttModel : public nn::Module {
 public:
  explicit SelfAttModel(Generator& gen) {
    using S = SelfAttSize;
    tok = register_module(
        "tok", std::make_shared<nn::Embedding>(nn::EmbeddingOptions(S::vocab, S::d), gen));
    pos = register_module("pos", std::make_shared<nn::LearnedPositionalEncoding>(
                                     nn::PositionalEncodingOptions(S::steps, S::d), gen));
    att = register_module(
        "att", std::make_shared<nn::SelfAttention>(nn::SelfAttentionOptions(S::d).d_k(S::d), gen));
    out = register_module("out",
                          std::make_shared<nn::Linear>(nn::LinearOptions(S::d, S::vocab), gen));
  }
  std::string type_name() const override { return "SelfAttModel"; }
  Variable logits(const Tokens& b) {
    return (*out)((*att)((*pos)((*tok)(ids_tensor(b.src, b.batch, b.steps)))).context);
  }
  double accuracy(const Tokens& b) { return token_accuracy(logits(b).data(), b.tgt); }

  std::shared_ptr<nn::Embedding> tok;
  std::shared_ptr<nn::LearnedPositionalEncoding> pos;
  std::shared_ptr<nn::SelfAttention> att;
  std::shared_ptr<nn::Linear> out;
};

// The training step of every sequence workload: zero grads, mean cross-entropy of the
// logits, backward, (clip the gradients' joint 2-norm,) the optimizer's step; only
// the model and the optimizer differ. Model(gen) builds it, Model::logits(b) gives
// [B, T, V] and Model::accuracy(b) scores it the workload's way.
template <class Model>
class Trained : public SeqModel {
 public:
  // Builds the optimizer over the model's parameters.
  using MakeOptimizer = std::function<std::unique_ptr<nn::Optimizer>(Model&)>;

  Trained(uint64_t seed, const MakeOptimizer& make_optimizer, double max_grad_norm = 0)
      : gen_(seed),
        model_(std::make_shared<Model>(gen_)),
        params_(model_->parameters()),
        optimizer_(make_optimizer(*model_)),
        max_grad_norm_(max_grad_norm) {}

  void train_step(const Tokens& b) override {
    optimizer_->zero_grad();
    loss_of(b).backward();
    if (max_grad_norm_ > 0) nn::utils::clip_grad_norm_(params_, max_grad_norm_);
    optimizer_->step();
  }
  double loss(const Tokens& b) override {
    NoGradGuard no_grad;
    return loss_of(b).item();
  }
  double accuracy(const Tokens& b) override {
    NoGradGuard no_grad;
    return model_->accuracy(b);
  }
  const nn::Module& module() const { return *model_; }

 private:
  // logits [B, T, V] as [B·T, V] (class axis 1), as ref_torch.cpp's mean_cross_entropy
  Variable loss_of(const Tokens& b) {
    const Variable logits = model_->logits(b);
    return nn::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                             ids_tensor(b.tgt, b.batch, b.steps).reshape({-1}));
  }

  Generator gen_;
  std::shared_ptr<Model> model_;
  std::vector<Variable> params_;
  std::unique_ptr<nn::Optimizer> optimizer_;
  double max_grad_norm_;
};

// ---- SEQ2SEQ -----------------------------------------------------------------------------

// Encoder: LSTM over the source embeddings. Decoder step t (Luong, input feeding):
//   (h, c) = LSTMCell([emb(y_{t-1}); ctx_{t-1}], (h, c))     y_{-1} = BOS, ctx_{-1} = 0
//   a = softmax(h · h_encᵀ),  ctx_t = Σ_j a_j h_enc,j
//   logits_t = W_out [h; ctx_t] + b
// The decoder starts from the encoder's final (h, c).
class Seq2SeqModel : public nn::Module {
 public:
  explicit Seq2SeqModel(Generator& gen) {
    using S = Seq2SeqSize;
    src_emb = register_module(
        "src_emb", std::make_shared<nn::Embedding>(nn::EmbeddingOptions(S::vocab, S::embed), gen));
    tgt_emb = register_module("tgt_emb", std::make_shared<nn::Embedding>(
                                             nn::EmbeddingOptions(S::vocab + 1, S::embed), gen));
    encoder = register_module(
        "encoder",
        std::make_shared<nn::LSTM>(nn::LSTMOptions(S::embed, S::hidden).batch_first(true), gen));
    decoder = register_module(
        "decoder",
        std::make_shared<nn::LSTMCell>(nn::LSTMCellOptions(S::embed + S::hidden, S::hidden), gen));
    attention = register_module("attention", std::make_shared<nn::DotProductAttention>());
    out = register_module(
        "out", std::make_shared<nn::Linear>(nn::LinearOptions(2 * S::hidden, S::vocab), gen));
  }
  std::string type_name() const override { return "Seq2SeqModel"; }

  struct Encoded {
    Variable states;  // [B, T, H]
    nn::LSTMState last;
  };
  Encoded encode(const Tensor& src) {
    const auto [states, last] = (*encoder)(src_emb->forward(src));
    return {states, {last.h.select(0, 0), last.c.select(0, 0)}};
  }
  // One decoder step; updates state and ctx, returns logits [B, V].
  Variable step(const Variable& emb, const Encoded& enc, nn::LSTMState& state, Variable& ctx) {
    state = (*decoder)(concat({emb, ctx}, 1), state);
    ctx = attention->forward(state.h, enc.states).context;
    return out->forward(concat({state.h, ctx}, 1));
  }
  // Teacher forcing: the decoder reads BOS, y_0, ..., y_{T-2}. Returns logits [B, T, V].
  Variable logits(const Tokens& b) {
    using S = Seq2SeqSize;
    const Encoded enc = encode(ids_tensor(b.src, b.batch, b.steps));
    const std::vector<Variable> embs = unbind(tgt_emb->forward(shifted_right(b, S::bos)), 1);
    nn::LSTMState state = enc.last;
    Variable ctx(Tensor::zeros({b.batch, S::hidden}));
    std::vector<Variable> outs;
    for (int64_t t = 0; t < b.steps; ++t) outs.push_back(step(embs[size_t(t)], enc, state, ctx));
    return stack(outs, 1);
  }
  // Greedy decoding: each step reads the previous step's argmax. Returns predictions [B, T].
  std::vector<int64_t> decode(const Tokens& b) {
    using S = Seq2SeqSize;
    const Encoded enc = encode(ids_tensor(b.src, b.batch, b.steps));
    nn::LSTMState state = enc.last;
    Variable ctx(Tensor::zeros({b.batch, S::hidden}));
    Tensor prev = Tensor::full({b.batch}, double(S::bos), DType::Int64);
    std::vector<int64_t> pred(b.tgt.size());
    for (int64_t t = 0; t < b.steps; ++t) {
      const Variable logits = step(tgt_emb->forward(prev), enc, state, ctx);
      prev = argmax(logits.data(), 1).contiguous();
      const int64_t* p = prev.data<int64_t>();
      for (int64_t i = 0; i < b.batch; ++i) pred[size_t(i * b.steps + t)] = p[i];
    }
    return pred;
  }
  double accuracy(const Tokens& b) {
    const std::vector<int64_t> pred = decode(b);
    int64_t right = 0;
    for (size_t i = 0; i < pred.size(); ++i) right += pred[i] == b.tgt[i];
    return static_cast<double>(right) / static_cast<double>(pred.size());
  }

  std::shared_ptr<nn::Embedding> src_emb, tgt_emb;
  std::shared_ptr<nn::LSTM> encoder;
  std::shared_ptr<nn::LSTMCell> decoder;
  std::shared_ptr<nn::DotProductAttention> attention;
  std::shared_ptr<nn::Linear> out;
};

// ---- TRANSFORMER -------------------------------------------------------------------------

// The copy task on nn::Transformer, batch-first:
//   x = src_emb(src)·√E + P,  y = tgt_emb(BOS, y_0, ..., y_{T-2})·√E + P   (P sinusoidal)
//   logits = out(Transformer(x, y, causal mask on the decoder's self-attention))
class TransformerModel : public nn::Module {
 public:
  using S = TransformerSize;
  explicit TransformerModel(Generator& gen) {
    src_emb = register_module("src_emb", std::make_shared<nn::Embedding>(
                                             nn::EmbeddingOptions(S::vocab, S::d_model), gen));
    tgt_emb = register_module("tgt_emb", std::make_shared<nn::Embedding>(
                                             nn::EmbeddingOptions(S::vocab, S::d_model), gen));
    pos = register_module("pos", std::make_shared<nn::SinusoidalPositionalEncoding>(
                                     nn::PositionalEncodingOptions(S::steps, S::d_model)));
    transformer = register_module(
        "transformer",
        std::make_shared<nn::Transformer>(
            nn::TransformerOptions(S::d_model, S::heads, S::encoder_layers, S::decoder_layers)
                .dim_feedforward(S::feedforward)
                .dropout(0.0)
                .batch_first(true),
            gen));
    out = register_module(
        "out", std::make_shared<nn::Linear>(nn::LinearOptions(S::d_model, S::vocab), gen));
    causal = nn::Transformer::generate_square_subsequent_mask(S::steps);
  }
  std::string type_name() const override { return "TransformerModel"; }
  Variable logits(const Tokens& b) {
    const double scale = std::sqrt(double(S::d_model));
    const Variable x = (*pos)(src_emb->forward(ids_tensor(b.src, b.batch, b.steps)) * scale);
    const Variable y = (*pos)(tgt_emb->forward(shifted_right(b, S::bos)) * scale);
    return (*out)((*transformer)(x, y, nn::TransformerForwardOptions().tgt_mask(causal)));
  }
  double accuracy(const Tokens& b) { return token_accuracy(logits(b).data(), b.tgt); }

  std::shared_ptr<nn::Embedding> src_emb, tgt_emb;
  std::shared_ptr<nn::SinusoidalPositionalEncoding> pos;
  std::shared_ptr<nn::Transformer> transformer;
  std::shared_ptr<nn::Linear> out;
  Tensor causal;  // [T, T]: −∞ above the diagonal
};

// ---- GPT ---------------------------------------------------------------------------------

// examples/gpt's GPT at the workload's sizes: ids [B, T] → logits [B, T, V].
class GptModel : public examples::GPT {
 public:
  using G = GptSize;
  explicit GptModel(Generator& gen)
      : GPT(examples::GPTOptions(G::vocab)
                .block_size(G::block)
                .n_layer(G::layers)
                .n_head(G::heads)
                .n_embd(G::width),
            gen) {}
  Variable logits(const Tokens& b) { return forward(ids_tensor(b.src, b.batch, b.steps)); }
  double accuracy(const Tokens& b) { return token_accuracy(logits(b).data(), b.tgt); }
};

// The reference side starts from the same weights: they go out through `init`.
template <class Model>
std::unique_ptr<SeqModel> make_trained(uint64_t seed, HostParams* init,
                                       const typename Trained<Model>::MakeOptimizer& optimizer,
                                       double max_grad_norm = 0) {
  auto m = std::make_unique<Trained<Model>>(seed, optimizer, max_grad_norm);
  if (init) *init = export_params(m->module());
  return m;
}

// Adam over every parameter of the model.
template <class Model>
std::unique_ptr<SeqModel> make_trained_with_adam(
    uint64_t seed, HostParams* init, const nn::AdamOptions& adam = nn::AdamOptions(kLearningRate)) {
  return make_trained<Model>(seed, init, [adam](Model& model) -> std::unique_ptr<nn::Optimizer> {
    return std::make_unique<nn::Adam>(model.parameters(), adam);
  });
}

}  // namespace

void set_threads(int threads) {
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
}

Job make_overhead(const std::vector<float>& values) {
  Variable x =
      Variable(float_tensor(std::vector<float>(values.begin(), values.begin() + 16), {4, 4}))
          .requires_grad_();
  const Variable c(
      float_tensor(std::vector<float>(values.begin() + 16, values.begin() + 32), {4, 4}));
  auto chain = [x, c] {
    Variable y = x;
    for (int i = 0; i < kOverheadChain; ++i) y = y + c;
    return sum(y);
  };
  Job job;
  job.run = [x, chain]() mutable {
    x.zero_grad();
    chain().backward();
  };
  job.check = [x, chain]() mutable {  // Σy + ∂Σy/∂x_00 = Σx + 100·Σc + 1
    x.zero_grad();
    const Variable s = chain();
    s.backward();
    return s.item() + x.grad().to_vector<float>()[0];
  };
  return job;
}

std::unique_ptr<SeqModel> make_selfatt(uint64_t seed, HostParams* init) {
  return make_trained_with_adam<SelfAttModel>(seed, init);
}

std::unique_ptr<SeqModel> make_seq2seq(uint64_t seed, HostParams* init) {
  return make_trained_with_adam<Seq2SeqModel>(seed, init);
}

std::unique_ptr<SeqModel> make_transformer(uint64_t seed, HostParams* init) {
  using S = TransformerSize;
  return make_trained_with_adam<TransformerModel>(
      seed, init, nn::AdamOptions(S::lr).betas(std::make_tuple(S::beta1, S::beta2)).eps(S::eps));
}

std::unique_ptr<SeqModel> make_gpt(uint64_t seed, HostParams* init) {
  using G = GptSize;
  const auto make_adamw = [](GptModel& model) -> std::unique_ptr<nn::Optimizer> {
    // nanoGPT's two groups: decay the weights and embeddings (dim ≥ 2), not the biases
    // and LayerNorm's affine parameters.
    std::vector<Variable> decay, no_decay;
    for (const Variable& p : model.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
    const auto options = nn::AdamWOptions(G::lr)
                             .betas(std::make_tuple(G::beta1, G::beta2))
                             .weight_decay(G::weight_decay);
    return std::make_unique<nn::AdamW>(
        std::vector<nn::OptimizerParamGroup>{
            nn::OptimizerParamGroup(decay, std::make_unique<nn::AdamWOptions>(options)),
            nn::OptimizerParamGroup(no_decay, std::make_unique<nn::AdamWOptions>(
                                                  nn::AdamWOptions(options).weight_decay(0.0)))},
        options);
  };
  return make_trained<GptModel>(seed, init, make_adamw, G::max_grad_norm);
}

std::function<std::vector<int64_t>()> make_gpt_sample(uint64_t seed,
                                                      const GptSampleSettings& settings) {
  using G = GptSize;
  Generator gen(seed);
  auto model = std::make_shared<GptModel>(gen);
  model->eval();
  const auto decoding =
      examples::GPTDecodingOptions().use_cache(settings.use_cache).crop_to(settings.crop_to);
  const auto greedy =
      nn::GreedyDecodeOptions().start_symbol(G::prompt_token).max_length(settings.new_tokens);
  return [model, decoding, greedy] {
    examples::GPTDecoding decoder(*model, 1, decoding);
    return nn::greedy_decode(decoder, greedy).contiguous().to_vector<int64_t>();
  };
}

Job make_lstm(uint64_t seed, const std::vector<float>& input, HostParams* init) {
  using S = LstmSize;
  Generator gen(seed);
  auto lstm = std::make_shared<nn::LSTM>(nn::LSTMOptions(S::input, S::hidden),
                                         gen);  // time-major [T, B, I]
  if (init) *init = export_params(*lstm);
  const Variable x(float_tensor(input, {S::steps, S::batch, S::input}));  // no gradient wanted
  Job job;
  job.run = [lstm, x] {
    lstm->zero_grad();
    sum((*lstm)(x).output).backward();
  };
  job.check = [lstm, x] {
    NoGradGuard no_grad;
    return sum((*lstm)(x).output).item();
  };
  return job;
}

Job make_mha(uint64_t seed, const std::vector<float>& input, HostParams* init) {
  using S = MhaSize;
  Generator gen(seed);
  auto mha = std::make_shared<nn::MultiheadAttention>(
      nn::MultiheadAttentionOptions(S::d, S::heads).batch_first(true), gen);
  if (init) *init = export_params(*mha);
  const Variable x(float_tensor(input, {S::batch, S::steps, S::d}));
  auto out = [mha, x] {
    return (*mha)(x, x, x, nn::MultiheadAttentionForwardOptions().need_weights(false)).output;
  };
  Job job;
  job.run = [mha, out] {
    mha->zero_grad();
    sum(out()).backward();
  };
  job.check = [out] {
    NoGradGuard no_grad;
    return sum(out()).item();
  };
  return job;
}

std::vector<std::string> machine_lines() {
  const CpuInfo& cpu = cpu_info();
  const auto kib = [](size_t bytes) { return std::to_string(bytes / 1024) + " KiB"; };
  const auto tile = [](const GemmBlocking& b) {
    return "MR=" + std::to_string(b.mr) + " NR=" + std::to_string(b.nr) +
           " KC=" + std::to_string(b.kc) + " MC=" + std::to_string(b.mc) +
           " NC=" + std::to_string(b.nc);
  };
  const char* env = std::getenv("MINIGRAD_GEMM_ISA");
  const std::string kernel = gemm_kernel_name();  // throws for a MINIGRAD_GEMM_ISA this CPU lacks
  return {"# machine: " + cpu.vendor + " " + cpu.model + "; avx512=" + (cpu.avx512 ? "yes" : "no") +
              " avx2_fma=" + (cpu.avx2_fma ? "yes" : "no"),
          "# caches: L1d " + kib(cpu.l1d_bytes) + ", L2 " + kib(cpu.l2_bytes) + ", L3 " +
              kib(cpu.l3_bytes) + " (from " + cpu.cache_source + ")",
          "# gemm kernel: " + kernel + " (MINIGRAD_GEMM_ISA=" + (env != nullptr ? env : "unset") +
              "); float " + tile(gemm_blocking<float>()) + "; double " +
              tile(gemm_blocking<double>())};
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           const float* b, int64_t ldb, float* c, int64_t ldc) {
  gemm<float>(trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

}  // namespace bench::ours
