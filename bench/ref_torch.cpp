// The libtorch side of every workload: the same models built from torch::nn modules
// (Embedding, Linear, LSTM, LSTMCell, MultiheadAttention, Transformer, LayerNorm, GELU)
// and torch::optim::Adam / AdamW, the way a libtorch user would write them.
//
// Both sides start from the same parameters: minigrad initialises its modules, and the
// modules here are given the same names (nested modules "att.w_q", "encoder", ...) so
// that every parameter is copied over by name. MultiheadAttention is the exception:
// PyTorch packs W_Q, W_K, W_V into one in_proj_weight [3E, E], so it gets their
// concatenation.
//
// This file is compiled with libtorch's flags (its C++ ABI setting) and without
// minigrad's warning flags, and includes no minigrad header.
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

#include "workloads.h"

namespace bench::ref_torch {
namespace {

namespace nn = torch::nn;

torch::Tensor from_host(const HostTensor& h) {
  return torch::from_blob(const_cast<float*>(h.data.data()), h.shape, torch::kFloat32).clone();
}

torch::Tensor ids(const std::vector<int64_t>& v, int64_t batch, int64_t steps) {
  return torch::from_blob(const_cast<int64_t*>(v.data()), {batch, steps}, torch::kInt64).clone();
}

const HostTensor& find(const HostParams& init, const std::string& name) {
  const auto it = init.find(name);
  if (it == init.end())
    throw std::runtime_error("ref_torch: minigrad has no parameter named " + name);
  return it->second;
}

// Copies every parameter of `m` from minigrad's initial values, by name.
void load(nn::Module& m, const HostParams& init) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters()) {
    if (!p.value().defined()) continue;  // e.g. MultiheadAttention's unused q_proj_weight
    const torch::Tensor src = from_host(find(init, p.key()));
    if (src.sizes() != p.value().sizes()) {
      throw std::runtime_error("ref_torch: parameter " + p.key() +
                               " has a different shape in minigrad");
    }
    p.value().copy_(src);
  }
}

// load(), then the parameters for the optimizer.
std::vector<torch::Tensor> loaded_parameters(nn::Module& m, const HostParams& init) {
  load(m, init);
  return m.parameters();
}

torch::Tensor mean_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                              targets.reshape({-1}));
}

// The decoder's input under teacher forcing: BOS, y_0, ..., y_{T-2}, as [B, T].
torch::Tensor shifted_right(const torch::Tensor& tgt, int64_t bos) {
  const int64_t batch = tgt.size(0), steps = tgt.size(1);
  return torch::cat({torch::full({batch, 1}, bos, torch::kInt64), tgt.narrow(1, 0, steps - 1)}, 1);
}

double token_accuracy(const torch::Tensor& pred, const torch::Tensor& targets) {
  return pred.eq(targets).sum().item<double>() / static_cast<double>(targets.numel());
}

// The training step every sequence workload shares: zero_grad, forward, mean
// cross-entropy, backward, (clip the gradients' joint 2-norm,) the optimizer's step.
// Net gives loss(b) (a scalar with a graph) and accuracy(b).
template <class Net>
class Trained : public SeqModel {
 public:
  Trained(std::shared_ptr<Net> net, std::unique_ptr<torch::optim::Optimizer> optimizer,
          double max_grad_norm = 0)
      : net_(std::move(net)),
        params_(net_->parameters()),
        optimizer_(std::move(optimizer)),
        max_grad_norm_(max_grad_norm) {}
  void train_step(const Tokens& b) override {
    optimizer_->zero_grad();
    net_->loss(b).backward();
    if (max_grad_norm_ > 0) nn::utils::clip_grad_norm_(params_, max_grad_norm_);
    optimizer_->step();
  }
  double loss(const Tokens& b) override {
    torch::NoGradGuard no_grad;
    return net_->loss(b).template item<double>();
  }
  double accuracy(const Tokens& b) override {
    torch::NoGradGuard no_grad;
    return net_->accuracy(b);
  }

 private:
  std::shared_ptr<Net> net_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  double max_grad_norm_;
};

// A Net with minigrad's initial parameters, trained with Adam.
template <class Net>
std::unique_ptr<SeqModel> trained_with_adam(const HostParams& init,
                                            const torch::optim::AdamOptions& options) {
  auto net = std::make_shared<Net>();
  auto adam = std::make_unique<torch::optim::Adam>(loaded_parameters(*net, init), options);
  return std::make_unique<Trained<Net>>(net, std::move(adam));
}

// ---- SELFATT -----------------------------------------------------------------------------

struct PositionsImpl : nn::Module {
  PositionsImpl() {
    weight = register_parameter("weight", torch::zeros({SelfAttSize::steps, SelfAttSize::d}));
  }
  torch::Tensor weight;
};
TORCH_MODULE(Positions);

struct ProjectionsImpl : nn::Module {
  ProjectionsImpl() {
    const auto opt = nn::LinearOptions(SelfAttSize::d, SelfAttSize::d).bias(false);
    w_q = register_module("w_q", nn::Linear(opt));
    w_k = register_module("w_k", nn::Linear(opt));
    w_v = register_module("w_v", nn::Linear(opt));
  }
  nn::Linear w_q{nullptr}, w_k{nullptr}, w_v{nullptr};
};
TORCH_MODULE(Projections);

struct SelfAttNet : nn::Module {
  SelfAttNet() {
    using S = SelfAttSize;
    tok = register_module("tok", nn::Embedding(S::vocab, S::d));
    pos = register_module("pos", Positions());
    att = register_module("att", Projections());
    out = register_module("out", nn::Linear(S::d, S::vocab));
  }
  // ids [B, T] → logits [B, T, V]
  torch::Tensor logits(const torch::Tensor& x_ids) {
    const torch::Tensor x = tok(x_ids) + pos->weight;  // [B, T, d] + [T, d]
    const torch::Tensor q = att->w_q(x), k = att->w_k(x), v = att->w_v(x);
    const torch::Tensor scores =
        torch::matmul(q, k.transpose(1, 2)) / std::sqrt(double(SelfAttSize::d));
    return out(torch::matmul(torch::softmax(scores, -1), v));
  }
  torch::Tensor loss(const Tokens& b) {
    return mean_cross_entropy(logits(ids(b.src, b.batch, b.steps)), ids(b.tgt, b.batch, b.steps));
  }
  double accuracy(const Tokens& b) {
    return token_accuracy(logits(ids(b.src, b.batch, b.steps)).argmax(-1),
                          ids(b.tgt, b.batch, b.steps));
  }
  nn::Embedding tok{nullptr};
  Positions pos{nullptr};
  Projections att{nullptr};
  nn::Linear out{nullptr};
};

// ---- SEQ2SEQ -----------------------------------------------------------------------------

struct Seq2SeqNet : nn::Module {
  Seq2SeqNet() {
    using S = Seq2SeqSize;
    src_emb = register_module("src_emb", nn::Embedding(S::vocab, S::embed));
    tgt_emb = register_module("tgt_emb", nn::Embedding(S::vocab + 1, S::embed));
    encoder = register_module("encoder",
                              nn::LSTM(nn::LSTMOptions(S::embed, S::hidden).batch_first(true)));
    decoder = register_module("decoder", nn::LSTMCell(S::embed + S::hidden, S::hidden));
    out = register_module("out", nn::Linear(2 * S::hidden, S::vocab));
  }
  struct State {
    torch::Tensor enc;  // [B, T, H]
    torch::Tensor h, c, ctx;
  };
  State encode(const torch::Tensor& src) {
    auto [enc, hc] = encoder(src_emb(src));
    return {enc, std::get<0>(hc)[0], std::get<1>(hc)[0],
            torch::zeros({src.size(0), Seq2SeqSize::hidden})};
  }
  // One decoder step (Luong dot attention, input feeding); returns logits [B, V].
  torch::Tensor step(const torch::Tensor& emb, State& s) {
    std::tie(s.h, s.c) = decoder(torch::cat({emb, s.ctx}, 1), std::make_tuple(s.h, s.c));
    const torch::Tensor scores = torch::bmm(s.enc, s.h.unsqueeze(2)).squeeze(2);   // [B, T]
    s.ctx = torch::bmm(torch::softmax(scores, 1).unsqueeze(1), s.enc).squeeze(1);  // [B, H]
    return out(torch::cat({s.h, s.ctx}, 1));
  }
  torch::Tensor logits(const Tokens& b) {  // teacher forcing
    State s = encode(ids(b.src, b.batch, b.steps));
    const torch::Tensor embs =
        tgt_emb(shifted_right(ids(b.tgt, b.batch, b.steps), Seq2SeqSize::bos));  // [B, T, E]
    std::vector<torch::Tensor> outs;
    for (int64_t t = 0; t < b.steps; ++t) outs.push_back(step(embs.select(1, t), s));
    return torch::stack(outs, 1);
  }
  torch::Tensor decode(const Tokens& b) {  // greedy, free-running
    State s = encode(ids(b.src, b.batch, b.steps));
    torch::Tensor prev = torch::full({b.batch}, Seq2SeqSize::bos, torch::kInt64);
    std::vector<torch::Tensor> preds;
    for (int64_t t = 0; t < b.steps; ++t) {
      prev = step(tgt_emb(prev), s).argmax(1);
      preds.push_back(prev);
    }
    return torch::stack(preds, 1);
  }
  torch::Tensor loss(const Tokens& b) {
    return mean_cross_entropy(logits(b), ids(b.tgt, b.batch, b.steps));
  }
  double accuracy(const Tokens& b) {
    return token_accuracy(decode(b), ids(b.tgt, b.batch, b.steps));
  }
  nn::Embedding src_emb{nullptr}, tgt_emb{nullptr};
  nn::LSTM encoder{nullptr};
  nn::LSTMCell decoder{nullptr};
  nn::Linear out{nullptr};
};

// ---- TRANSFORMER -------------------------------------------------------------------------

// libtorch 1.13's Transformer is time-first only: it reads [S, B, E] and [T, B, E], so
// the ids are transposed before the embeddings, and the logits come out [T, B, V].
struct TransformerNet : nn::Module {
  using S = TransformerSize;
  TransformerNet() {
    src_emb = register_module("src_emb", nn::Embedding(S::vocab, S::d_model));
    tgt_emb = register_module("tgt_emb", nn::Embedding(S::vocab, S::d_model));
    transformer = register_module(
        "transformer", nn::Transformer(nn::TransformerOptions(S::d_model, S::heads,
                                                              S::encoder_layers, S::decoder_layers)
                                           .dim_feedforward(S::feedforward)
                                           .dropout(0.0)));
    out = register_module("out", nn::Linear(S::d_model, S::vocab));
    // P[t, 2i] = sin(t / 10000^(2i/E)), P[t, 2i+1] = cos(t / 10000^(2i/E)), as [T, 1, E]
    const torch::Tensor t = torch::arange(S::steps, torch::kFloat64).unsqueeze(1);
    const torch::Tensor freq =
        torch::pow(10000.0, -torch::arange(0, S::d_model, 2, torch::kFloat64) / double(S::d_model));
    torch::Tensor p = torch::empty({S::steps, S::d_model}, torch::kFloat64);
    p.slice(1, 0, S::d_model, 2).copy_(torch::sin(t * freq));
    p.slice(1, 1, S::d_model, 2).copy_(torch::cos(t * freq));
    positions = p.to(torch::kFloat32).unsqueeze(1);
    causal = nn::TransformerImpl::generate_square_subsequent_mask(S::steps);
  }
  // [B, T] ids → [T, B, E]: embedding · √E + positions
  torch::Tensor embed(nn::Embedding& emb, const torch::Tensor& x_ids) {
    return emb(x_ids.t()) * std::sqrt(double(S::d_model)) + positions;
  }
  // ids [B, S] and [B, T] → logits [T, B, V]
  torch::Tensor logits(const torch::Tensor& src, const torch::Tensor& tgt) {
    return out(transformer->forward(embed(src_emb, src), embed(tgt_emb, shifted_right(tgt, S::bos)),
                                    /*src_mask=*/torch::Tensor(), /*tgt_mask=*/causal));
  }
  // The logits are [T, B, V], so the targets are taken time-first too.
  torch::Tensor loss(const Tokens& b) {
    const torch::Tensor tgt = ids(b.tgt, b.batch, b.steps);
    return mean_cross_entropy(logits(ids(b.src, b.batch, b.steps), tgt), tgt.t());
  }
  double accuracy(const Tokens& b) {
    const torch::Tensor tgt = ids(b.tgt, b.batch, b.steps);
    return token_accuracy(logits(ids(b.src, b.batch, b.steps), tgt).argmax(-1), tgt.t());
  }
  nn::Embedding src_emb{nullptr}, tgt_emb{nullptr};
  nn::Transformer transformer{nullptr};
  nn::Linear out{nullptr};
  torch::Tensor positions, causal;
};

// ---- GPT ---------------------------------------------------------------------------------

// nanoGPT's model from libtorch's modules, with minigrad's parameter names
// (transformer.wte, transformer.h.0.attn.in_proj_weight, ...), so that minigrad's
// initial parameters (nanoGPT's init) are copied over by name; the output layer is the
// token embedding, so it has no parameter of its own. libtorch 1.13's
// MultiheadAttention is time-first, so the whole model runs on [T, B, C].
struct GptMlpImpl : nn::Module {
  using G = GptSize;
  GptMlpImpl() {
    c_fc = register_module("c_fc", nn::Linear(G::width, G::mlp));
    c_proj = register_module("c_proj", nn::Linear(G::mlp, G::width));
  }
  torch::Tensor forward(const torch::Tensor& x) { return c_proj(gelu(c_fc(x))); }
  nn::Linear c_fc{nullptr}, c_proj{nullptr};
  nn::GELU gelu{nn::GELUOptions().approximate("none")};  // exact: x·Φ(x)
};
TORCH_MODULE(GptMlp);

struct GptBlockImpl : nn::Module {
  using G = GptSize;
  GptBlockImpl() {
    ln_1 = register_module("ln_1", nn::LayerNorm(nn::LayerNormOptions({G::width})));
    attn = register_module(
        "attn", nn::MultiheadAttention(nn::MultiheadAttentionOptions(G::width, G::heads)));
    ln_2 = register_module("ln_2", nn::LayerNorm(nn::LayerNormOptions({G::width})));
    mlp = register_module("mlp", GptMlp());
  }
  // pre-norm: x + attn(LN(x)) under the causal mask, then x + MLP(LN(x)); x [T, B, C]
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& causal) {
    const torch::Tensor h = ln_1(x);
    x = x + std::get<0>(attn(h, h, h, /*key_padding_mask=*/torch::Tensor(),
                             /*need_weights=*/false, /*attn_mask=*/causal));
    return x + mlp(ln_2(x));
  }
  nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  nn::MultiheadAttention attn{nullptr};
  GptMlp mlp{nullptr};
};
TORCH_MODULE(GptBlock);

struct GptTrunkImpl : nn::Module {
  using G = GptSize;
  GptTrunkImpl() {
    wte = register_module("wte", nn::Embedding(G::vocab, G::width));
    wpe = register_module("wpe", nn::Embedding(G::block, G::width));
    h = register_module("h", nn::ModuleList());
    for (int64_t i = 0; i < G::layers; ++i) h->push_back(GptBlock());
    ln_f = register_module("ln_f", nn::LayerNorm(nn::LayerNormOptions({G::width})));
  }
  nn::Embedding wte{nullptr}, wpe{nullptr};
  nn::ModuleList h{nullptr};
  nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(GptTrunk);

struct GptNet : nn::Module {
  using G = GptSize;
  GptNet() {
    transformer = register_module("transformer", GptTrunk());
    causal = nn::TransformerImpl::generate_square_subsequent_mask(G::block);
    positions = torch::arange(G::block, torch::kInt64);
  }
  // ids [B, T] → logits [T, B, V]:
  //   x = wte(ids) + wpe(0 … T−1);  x = block_i(x), i = 0 … 3;  logits = LN_f(x)·wteᵀ
  torch::Tensor logits(const torch::Tensor& x_ids) {
    torch::Tensor x = transformer->wte(x_ids.t()) + transformer->wpe(positions).unsqueeze(1);
    for (const auto& block : *transformer->h) x = block->as<GptBlock>()->forward(x, causal);
    return torch::nn::functional::linear(transformer->ln_f(x), transformer->wte->weight);
  }
  torch::Tensor loss(const Tokens& b) {
    return mean_cross_entropy(logits(ids(b.src, b.batch, b.steps)),
                              ids(b.tgt, b.batch, b.steps).t());
  }
  double accuracy(const Tokens& b) {
    return token_accuracy(logits(ids(b.src, b.batch, b.steps)).argmax(-1),
                          ids(b.tgt, b.batch, b.steps).t());
  }
  GptTrunk transformer{nullptr};
  torch::Tensor causal, positions;  // [T, T]: −∞ above the diagonal; 0 … T−1
};

}  // namespace

std::string version() { return TORCH_VERSION; }

void set_threads(int threads) { torch::set_num_threads(threads); }

Job make_overhead(const std::vector<float>& values) {
  const torch::Tensor x =
      from_host({{4, 4}, {values.begin(), values.begin() + 16}}).requires_grad_(true);
  const torch::Tensor c = from_host({{4, 4}, {values.begin() + 16, values.begin() + 32}});
  auto chain = [x, c] {
    torch::Tensor y = x;
    for (int i = 0; i < kOverheadChain; ++i) y = y + c;
    return y.sum();
  };
  Job job;
  job.run = [x, chain]() mutable {
    x.mutable_grad() = torch::Tensor();
    chain().backward();
  };
  job.check = [x, chain]() mutable {
    x.mutable_grad() = torch::Tensor();
    const torch::Tensor s = chain();
    s.backward();
    return s.item<double>() + x.grad()[0][0].item<double>();
  };
  return job;
}

std::unique_ptr<SeqModel> make_selfatt(const HostParams& init) {
  return trained_with_adam<SelfAttNet>(init, torch::optim::AdamOptions(kLearningRate));
}

std::unique_ptr<SeqModel> make_seq2seq(const HostParams& init) {
  return trained_with_adam<Seq2SeqNet>(init, torch::optim::AdamOptions(kLearningRate));
}

std::unique_ptr<SeqModel> make_transformer(const HostParams& init) {
  using S = TransformerSize;
  return trained_with_adam<TransformerNet>(
      init,
      torch::optim::AdamOptions(S::lr).betas(std::make_tuple(S::beta1, S::beta2)).eps(S::eps));
}

std::unique_ptr<SeqModel> make_gpt(const HostParams& init) {
  using G = GptSize;
  auto net = std::make_shared<GptNet>();
  load(*net, init);
  // nanoGPT's two groups: decay the weights and embeddings (dim ≥ 2), not the biases
  // and LayerNorm's affine parameters.
  std::vector<torch::Tensor> decay, no_decay;
  for (const torch::Tensor& p : net->parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  const auto options = torch::optim::AdamWOptions(G::lr)
                           .betas(std::make_tuple(G::beta1, G::beta2))
                           .weight_decay(G::weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(options));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(options).weight_decay(0.0)));
  auto adamw = std::make_unique<torch::optim::AdamW>(std::move(groups), options);
  return std::make_unique<Trained<GptNet>>(net, std::move(adamw), G::max_grad_norm);
}

Job make_lstm(const std::vector<float>& input, const HostParams& init) {
  using S = LstmSize;
  nn::LSTM lstm(
      nn::LSTMOptions(S::input, S::hidden));  // time-first [T, B, I], like minigrad's default
  load(*lstm, init);
  const torch::Tensor x = from_host({{S::steps, S::batch, S::input}, input});  // no gradient wanted
  Job job;
  job.run = [lstm, x]() mutable {
    lstm->zero_grad();
    std::get<0>(lstm(x)).sum().backward();
  };
  job.check = [lstm, x]() mutable {
    torch::NoGradGuard no_grad;
    return std::get<0>(lstm(x)).sum().item<double>();
  };
  return job;
}

Job make_mha(const std::vector<float>& input, const HostParams& init) {
  using S = MhaSize;
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(S::d, S::heads));
  {
    // minigrad's MultiheadAttention has PyTorch's parameter names.
    torch::NoGradGuard no_grad;
    mha->in_proj_weight.copy_(from_host(find(init, "in_proj_weight")));
    mha->in_proj_bias.copy_(from_host(find(init, "in_proj_bias")));
    mha->out_proj->weight.copy_(from_host(find(init, "out_proj.weight")));
    mha->out_proj->bias.copy_(from_host(find(init, "out_proj.bias")));
  }
  // libtorch 1.13's C++ MultiheadAttention is time-first: [T, B, E].
  const torch::Tensor x =
      from_host({{S::batch, S::steps, S::d}, input}).transpose(0, 1).contiguous();
  auto out = [mha, x]() mutable {
    return std::get<0>(mha(x, x, x, /*key_padding_mask=*/torch::Tensor(), /*need_weights=*/false));
  };
  Job job;
  job.run = [mha, out]() mutable {
    mha->zero_grad();
    out().sum().backward();
  };
  job.check = [out]() mutable {
    torch::NoGradGuard no_grad;
    return out().sum().item<double>();
  };
  return job;
}

}  // namespace bench::ref_torch
