// The reference workloads of bench/README.md, shared by both sides of the comparison.
//
// `workloads` runs every workload twice in one process: once with minigrad (ours.cpp)
// and once with a reference (ref_torch.cpp: libtorch; ref_openblas.cpp: cblas_sgemm).
// This header is the contract between them: the fixed sizes, the data (generated
// here, so both sides see the same bits), the initial parameters (minigrad makes
// them, the reference copies them, so both start from the same point), and the
// FLOP counts used for peak_frac.
//
// It is deliberately C++17 and includes no minigrad or torch header: ref_torch.cpp
// is compiled with libtorch's flags and without minigrad's, and must include it too.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {

// ---- the fixed settings (bench/README.md) ----------------------------------------------

// SELFATT: token embedding + learned positions → self-attention (Q, K, V without bias,
// scaled by 1/√d) → Linear(d, vocab) → mean cross-entropy; Adam.
struct SelfAttSize {
  static constexpr int64_t vocab = 16, steps = 12, batch = 64, d = 64;
};
// SEQ2SEQ: LSTM encoder, LSTMCell decoder with Luong dot attention and input feeding.
struct Seq2SeqSize {
  static constexpr int64_t vocab = 16, bos = 16 /* the extra target-side token */, steps = 12,
                           batch = 64, embed = 32, hidden = 64;
};
struct LstmSize {
  static constexpr int64_t batch = 32, steps = 32, input = 64, hidden = 128;
};
struct MhaSize {
  static constexpr int64_t batch = 16, steps = 128, d = 256, heads = 8;
};
// TRANSFORMER: the copy task on torch.nn.Transformer's encoder-decoder. Source tokens
// are 0..9; the decoder reads BOS, y_0, ..., y_{T-2} and predicts y_0, ..., y_{T-1}
// (y = the source). vocab 11 = the ten tokens and BOS, for both embeddings and the output.
struct TransformerSize {
  static constexpr int64_t vocab = 11, tokens = 10, bos = 10 /* the last id */, steps = 10,
                           batch = 64, d_model = 128, heads = 4, feedforward = 512,
                           encoder_layers = 2, decoder_layers = 2;
  // Adam (bench/README.md): lr 1e-3, betas (0.9, 0.98), eps 1e-9
  static constexpr double lr = 1e-3, beta1 = 0.9, beta2 = 0.98, eps = 1e-9;
};
// GPT: nanoGPT's character model (its CPU "baby" configuration): token + learned
// position embeddings, pre-norm blocks x + attn(LN(x)) (causal), x + MLP(LN(x)) with
// MLP = Linear(E→4E), GELU (erf), Linear(4E→E); a final LayerNorm; logits through the
// token embedding (tied). The data: random ids, each row x_0 … x_T, the model reads
// x_0 … x_{T-1} and predicts x_1 … x_T.
struct GptSize {
  static constexpr int64_t vocab = 128, block = 64, batch = 12, layers = 4, heads = 4, width = 128,
                           mlp = 4 * width;
  // AdamW (bench/README.md): lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on the
  // parameters of two or more dimensions (weights and embeddings), 0 on biases and
  // LayerNorm; gradients clipped to a joint 2-norm of 1 before each step.
  static constexpr double lr = 1e-3, beta1 = 0.9, beta2 = 0.99, weight_decay = 0.1,
                          max_grad_norm = 1.0;
  // GPT_SAMPLE: greedy generation of this many tokens after a one-token prompt.
  static constexpr int64_t sample_tokens = 256, prompt_token = 0;
};
constexpr double kLearningRate = 3e-3;  // Adam, SELFATT and SEQ2SEQ
constexpr int kOverheadChain = 100;     // OVERHEAD: y = y + c, this many times

// ---- FLOP counts (for peak_frac) -------------------------------------------------------
//
// Only matrix products are counted: they are what an FMA unit can do at its peak, and
// they dominate every workload here. A product [m×k]·[k×n] is 2mnk FLOPs forward; its
// backward is 2mnk for each operand that needs a gradient (dA = dC·Bᵀ, dB = Aᵀ·dC),
// so 2× the forward when both do. Element-wise work (activations, softmax, Adam) is
// not counted, so peak_frac is an upper bound on how much of the step is FMA-bound.

constexpr double mm(double m, double n, double k) { return 2.0 * m * n * k; }

// SELFATT, N = B·T = 768 rows. Every operand needs a gradient (the input of the
// projections is the sum of two embeddings, both parameters):
//   Q, K, V = X·W:        3 · 2·N·d·d        = 18.9 MFLOP
//   S = Q·Kᵀ per batch:   B · 2·T·T·d        =  1.2
//   C = A·V per batch:    B · 2·T·T·d        =  1.2
//   logits = C·W_out:     2·N·d·V            =  1.6
//   forward ≈ 22.8, step (forward + 2× backward) ≈ 68.5 MFLOP
constexpr double selfatt_flops() {
  using S = SelfAttSize;
  const double n = S::batch * S::steps;
  const double fwd = 3 * mm(n, S::d, S::d) + 2 * S::batch * mm(S::steps, S::steps, S::d) +
                     mm(n, S::vocab, S::d);
  return 3 * fwd;
}

// SEQ2SEQ, per step of T = 12 (B = 64, E = 32, H = 64):
//   encoder   x·W_ihᵀ + h·W_hhᵀ:      2·B·E·4H + 2·B·H·4H           = 3.1 MFLOP
//   decoder   [e; ctx]·W_ihᵀ + h·W_hhᵀ: 2·B·(E+H)·4H + 2·B·H·4H     = 5.2
//   attention scores + context:       2 · 2·B·T·H                   = 0.2
//   logits    [h; ctx]·W_outᵀ:         2·B·2H·V                      = 0.26
//   forward ≈ 106, step ≈ 318 MFLOP (every operand needs a gradient, except the
//   first steps' zero states, which we count anyway: < 1 %)
constexpr double seq2seq_flops() {
  using S = Seq2SeqSize;
  const double per_step = mm(S::batch, 4 * S::hidden, S::embed) +
                          mm(S::batch, 4 * S::hidden, S::hidden) +
                          mm(S::batch, 4 * S::hidden, S::embed + S::hidden) +
                          mm(S::batch, 4 * S::hidden, S::hidden) +
                          2 * mm(S::batch, S::steps, S::hidden) +
                          mm(S::batch, S::vocab, 2 * S::hidden);
  return 3 * S::steps * per_step;
}

// LSTM, per step: x·W_ihᵀ (2·B·I·4H = 2.1 MFLOP) and h·W_hhᵀ (2·B·H·4H = 4.2).
// The input needs no gradient, so x·W_ihᵀ's backward is dW_ih only (1×); h·W_hhᵀ's
// backward is dW_hh and dh (2×). Over T = 32 steps: 201 forward + 336 backward
// = 537 MFLOP.
constexpr double lstm_flops() {
  using S = LstmSize;
  const double xw = mm(S::batch, 4 * S::hidden, S::input);
  const double hw = mm(S::batch, 4 * S::hidden, S::hidden);
  return S::steps * (2 * xw + 3 * hw);
}

// MHA, N = B·T = 2048 rows, E = 256, h = 8 heads of d_k = 32:
//   Q, K, V projections: 3 · 2·N·E·E       = 805 MFLOP; backward dW only (the input
//                                             needs no gradient): 805
//   S = Q·Kᵀ per head:   B·h · 2·T·T·d_k   = 134; backward dQ, dK: 268
//   C = A·V per head:    B·h · 2·T·T·d_k   = 134; backward dA, dV: 268
//   out projection:      2·N·E·E           = 268; backward dW, dX: 537
//   total ≈ 3221 MFLOP
constexpr double mha_flops() {
  using S = MhaSize;
  const double n = S::batch * S::steps, dk = double(S::d) / S::heads;
  const double proj = mm(n, S::d, S::d);
  const double att = S::batch * S::heads * mm(S::steps, S::steps, dk);
  return 3 * proj * 2 + att * 3 + att * 3 + proj * 3;
}

// One attention block over N = B·T rows of width E, h heads of d_h = E/h: the Q, K, V
// and output projections (4 · 2·N·E·E) and, per head, S = Q·Kᵀ and C = A·V
// (2 · B·h · 2·T·T·d_h). A causal mask does not lower it: both sides compute every
// score, then mask.
constexpr double attention_flops(double batch, double steps, double width, double heads) {
  const double n = batch * steps;
  return 4 * mm(n, width, width) + 2 * batch * heads * mm(steps, steps, width / heads);
}
// One feed-forward block over N rows: Linear(E→F), then Linear(F→E).
constexpr double feedforward_flops(double rows, double width, double hidden) {
  return 2 * mm(rows, hidden, width);
}

// TRANSFORMER, N = B·S = B·T = 640 rows, E = 128, F = 512, h = 4 heads of d_h = 32;
// every operand needs a gradient (the first layers read the embeddings, parameters):
//   per attention block:  Q, K, V, out projections: 4 · 2·N·E·E        =  83.9 MFLOP
//                         S = Q·Kᵀ and C = A·V:     2 · B·h · 2·T·T·d_h =   3.3
//   per feed-forward:     2 · 2·N·E·F                                    = 167.8
//   encoder layer (self-attention, feed-forward)                         = 254.9
//   decoder layer (self-attention, cross-attention, feed-forward)        = 342.1
//   logits:               2·N·E·V                                        =   1.8
//   forward 2·254.9 + 2·342.1 + 1.8 ≈ 1196, step (forward + 2× backward) ≈ 3588 MFLOP
constexpr double transformer_flops() {
  using S = TransformerSize;
  const double n = S::batch * S::steps;
  const double attention = attention_flops(S::batch, S::steps, S::d_model, S::heads);
  const double feedforward = feedforward_flops(n, S::d_model, S::feedforward);
  const double fwd = S::encoder_layers * (attention + feedforward) +
                     S::decoder_layers * (2 * attention + feedforward) +
                     mm(n, S::vocab, S::d_model);
  return 3 * fwd;
}

// GPT, N = B·T = 768 rows, E = 128, F = 512, h = 4 heads of d_h = 32, T = 64; every
// operand needs a gradient (the tied lm_head's weight is the token embedding):
//   per block:  attention (causal)  4 · 2·N·E·E + 2 · B·h · 2·T·T·d_h = 100.7 + 25.2
//               MLP                 2 · 2·N·E·F                      = 201.3
//   lm_head:    2·N·E·V                                              =  25.2
//   forward 4 · 327.2 + 25.2 ≈ 1334, step (forward + 2× backward) ≈ 4001 MFLOP
constexpr double gpt_flops() {
  using G = GptSize;
  const double n = G::batch * G::block;
  const double block = attention_flops(G::batch, G::block, G::width, G::heads) +
                       feedforward_flops(n, G::width, G::mlp);
  return 3 * (G::layers * block + mm(n, G::vocab, G::width));
}

// ---- data both sides share -----------------------------------------------------------

// splitmix64: tiny, and the same numbers on every compiler (std::uniform_*_distribution
// is implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>(next() >> 40) * (1.0f / 16777216.0f);
  }

 private:
  uint64_t s_;
};

// target_i = x_i, target_i = x_{T-1-i}, or target_i = x_{i+1} (the next token: each
// row draws T + 1 ids, the model reads the first T)
enum class Task { Copy, Reverse, NextToken };

// A batch of token sequences, row-major [batch, steps].
struct Tokens {
  int64_t batch = 0, steps = 0;
  std::vector<int64_t> src, tgt;
};

inline Tokens make_tokens(Task task, int64_t batch, int64_t steps, int64_t vocab, Rng& rng) {
  Tokens t;
  t.batch = batch;
  t.steps = steps;
  t.src.resize(static_cast<size_t>(batch * steps));
  t.tgt.resize(t.src.size());
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < steps; ++i) t.src[size_t(b * steps + i)] = rng.below(vocab);
    if (task == Task::NextToken) {
      for (int64_t i = 0; i + 1 < steps; ++i)
        t.tgt[size_t(b * steps + i)] = t.src[size_t(b * steps + i + 1)];
      t.tgt[size_t(b * steps + steps - 1)] = rng.below(vocab);
      continue;
    }
    for (int64_t i = 0; i < steps; ++i) {
      const int64_t from = task == Task::Copy ? i : steps - 1 - i;
      t.tgt[size_t(b * steps + i)] = t.src[size_t(b * steps + from)];
    }
  }
  return t;
}

inline std::vector<float> make_floats(size_t n, Rng& rng) {
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

// A parameter in flat form, to carry minigrad's initial values over to the reference.
struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};
// By dotted name: minigrad's names ("att.w_q.weight", "encoder.weight_ih_l0"); the
// reference builds its modules so that they have the same names where it can.
using HostParams = std::map<std::string, HostTensor>;

// ---- what each side implements -------------------------------------------------------

// One of the training workloads (SELFATT, SEQ2SEQ, TRANSFORMER, GPT) on one side.
class SeqModel {
 public:
  virtual ~SeqModel() = default;
  // One training step: zero grads, forward (teacher forcing), mean cross-entropy,
  // backward, (GPT: gradient clipping,) the optimizer's step.
  virtual void train_step(const Tokens& batch) = 0;
  // The mean cross-entropy at the current parameters, no gradients (a cross-check: both
  // sides start from the same parameters, so they must agree on it).
  virtual double loss(const Tokens& batch) = 0;
  // Token accuracy in [0, 1], no gradients; SEQ2SEQ decodes greedily (free-running),
  // TRANSFORMER and GPT score their teacher-forced predictions.
  virtual double accuracy(const Tokens& heldout) = 0;
};

// A workload that is one function call (OVERHEAD, LSTM, MHA).
struct Job {
  std::function<void()> run;      // the timed unit of work
  std::function<double()> check;  // a number both sides must agree on (e.g. Σ outputs)
};

// GPT_SAMPLE, ours only: how the GPT workload's model decodes.
struct GptSampleSettings {
  bool use_cache = true;  // keep each block's keys and values, or rerun the whole context
  int64_t crop_to = 0;    // past block_size keep the last crop_to tokens; 0: block_size
  int64_t new_tokens = GptSize::sample_tokens;  // fewer in the --quick smoke pass
};

// y = x + c (4×4), 100 times, then backward of y.sum(). x = the first 16 of `values`,
// c = the next 16.
// LSTM: x [T, B, I] = `input`, parameters from `params`, forward + backward of Σ output.
// MHA:  x [B, T, E] = `input` (batch-first), forward + backward of Σ output.

namespace ours {
void set_threads(int threads);
Job make_overhead(const std::vector<float>& values);
std::unique_ptr<SeqModel> make_selfatt(uint64_t seed, HostParams* init);
std::unique_ptr<SeqModel> make_seq2seq(uint64_t seed, HostParams* init);
std::unique_ptr<SeqModel> make_transformer(uint64_t seed, HostParams* init);
std::unique_ptr<SeqModel> make_gpt(uint64_t seed, HostParams* init);
Job make_lstm(uint64_t seed, const std::vector<float>& input, HostParams* init);
Job make_mha(uint64_t seed, const std::vector<float>& input, HostParams* init);
// GPT_SAMPLE: the GPT workload's model (untrained, from `seed`, in eval mode); each call
// generates settings.new_tokens tokens greedily after the one-token prompt
// GptSize::prompt_token and returns them.
std::function<std::vector<int64_t>()> make_gpt_sample(uint64_t seed,
                                                      const GptSampleSettings& settings);
// Commentary lines for the header: the caches minigrad found (and where), the GEMM kernel
// it chose and that kernel's block sizes.
std::vector<std::string> machine_lines();
// C[m×n] = op(A)·op(B), row-major, C overwritten.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
           int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc);
}  // namespace ours

#ifdef MINIGRAD_HAVE_TORCH
namespace ref_torch {
std::string version();
// torch::set_num_threads (intra-op threads; it does not govern OpenBLAS's own pool).
void set_threads(int threads);
Job make_overhead(const std::vector<float>& values);
std::unique_ptr<SeqModel> make_selfatt(const HostParams& init);
std::unique_ptr<SeqModel> make_seq2seq(const HostParams& init);
std::unique_ptr<SeqModel> make_transformer(const HostParams& init);
std::unique_ptr<SeqModel> make_gpt(const HostParams& init);
Job make_lstm(const std::vector<float>& input, const HostParams& init);
Job make_mha(const std::vector<float>& input, const HostParams& init);
}  // namespace ref_torch
#endif

// OpenBLAS is looked up at run time (dlsym), so these work whenever some library of the
// process brought it in: our own link (MINIGRAD_HAVE_OPENBLAS) or libtorch's BLAS.
namespace ref_blas {
bool loaded();
std::string corename();  // openblas_get_corename(), or "" when not loaded
void set_threads(int threads);  // openblas_set_num_threads; no-op when not loaded
#ifdef MINIGRAD_HAVE_OPENBLAS
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
           int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc);
#endif
}  // namespace ref_blas

// ---- the machine -------------------------------------------------------------------------

struct Peak {
  double gflops = 0;      // median over the runs
  double max_gflops = 0;  // best run (turbo bursts)
  const char* isa = "";
};
// A register-resident FMA loop on `threads` threads at once (peak.cpp).
Peak measure_fma_peak(int threads, int runs, double seconds_per_run);

}  // namespace bench
