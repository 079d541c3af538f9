// Micro-benchmarks of single ops (Google Benchmark). Where workloads.cpp answers "how
// fast is a whole training step, next to libtorch", these answer "where does the time
// of one op go": the fixed cost of a tiny op, a kernel's throughput, and each fused
// kernel beside the composed reference it replaces.
//
//   ./minigrad_micro                                 everything
//   ./minigrad_micro --benchmark_filter='LSTMCell'   one family
//   OMP_NUM_THREADS=1 ./minigrad_micro               single-threaded
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cmath>
#include <initializer_list>
#include <vector>

#include "minigrad/autograd/functions.h"
#include "minigrad/nn/attention.h"
#include "minigrad/nn/decode.h"
#include "minigrad/nn/gru.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/lstm.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/transformer.h"
#include "minigrad/nn/transformer_decoding.h"
#include "minigrad/tensor/allocator.h"
#include "minigrad/tensor/gemm.h"
#include "minigrad/tensor/ops.h"
#include "minigrad/tensor/random.h"

namespace {

using namespace minigrad;

// ---- element-wise -------------------------------------------------------------------------

// 4×4: nearly all fixed cost (allocation, shape checks, dispatch). 1M: memory bandwidth.
void BM_Add(benchmark::State& state) {
  const int64_t n = state.range(0);
  Generator gen(1);
  const Tensor a = randn({n, n}, 0, 1, DType::Float32, gen),
               b = randn({n, n}, 0, 1, DType::Float32, gen);
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b));
  // Two reads and one write of n² floats per call.
  state.SetBytesProcessed(state.iterations() * 3 * n * n * int64_t(sizeof(float)));
}
BENCHMARK(BM_Add)->Arg(4)->Arg(1024)->ArgName("n");  // 4×4 and 1024×1024 (1M elements)

// The same 4×4 add as an autograd op (records a Node), without backward.
void BM_AddVariable4x4(benchmark::State& state) {
  Generator gen(1);
  const Variable a = Variable(randn({4, 4}, 0, 1, DType::Float32, gen)).requires_grad_();
  const Variable b(randn({4, 4}, 0, 1, DType::Float32, gen));
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
}
BENCHMARK(BM_AddVariable4x4);

// ---- matmul --------------------------------------------------------------------------------

void BM_Matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  Generator gen(1);
  const Tensor a = randn({n, n}, 0, 1, DType::Float32, gen),
               b = randn({n, n}, 0, 1, DType::Float32, gen);
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
  state.counters["FLOPS"] = benchmark::Counter(2.0 * double(n) * double(n) * double(n),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Matmul)->RangeMultiplier(2)->Range(16, 512)->ArgName("n")->Unit(
    benchmark::kMicrosecond);

// Batched, as attention uses it: [B, T, d] · [B, T, d]ᵀ.
void BM_MatmulBatchedNT(benchmark::State& state) {
  const int64_t b = state.range(0), t = state.range(1), d = state.range(2);
  Generator gen(1);
  const Tensor q = randn({b, t, d}, 0, 1, DType::Float32, gen), k = randn({b, t, d}, 0, 1, DType::Float32, gen);
  for (auto _ : state) benchmark::DoNotOptimize(q.matmul(k.mT()));
  state.counters["FLOPS"] = benchmark::Counter(2.0 * double(b) * double(t) * double(t) * double(d),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MatmulBatchedNT)
    ->Args({64, 12, 64})    // SELFATT scores
    ->Args({128, 128, 32})  // MHA: 16 batches × 8 heads
    ->ArgNames({"B", "T", "d"})
    ->Unit(benchmark::kMicrosecond);

// A·Bᵀ three ways, for C[m×n] = A[m×k] · B[n×k]ᵀ (what Linear computes, x·Wᵀ):
//   View  a.matmul(b.mT()): the transpose is a view, which matmul hands to the GEMM
//         as its transpose flag
//   Gemm  the GEMM called directly with trans_b = true, into a freshly allocated C (as
//         matmul allocates its result): what the flag costs, without matmul around it
//   Copy  a.matmul(b.mT().contiguous()): what the view saves, a copy of Bᵀ per call
// View ≈ Gemm says the view path copies nothing and adds only matmul's shape logic.
void matmul_nt_args(benchmark::internal::Benchmark* b) {
  b->Args({64, 64, 64})
      ->Args({256, 256, 256})
      ->Args({512, 512, 512})
      ->Args({768, 64, 64})     // SELFATT's projections: [64·12, 64]·[64, 64]ᵀ
      ->Args({4096, 128, 128})  // the self-attention model at batch 128, T 32, d 128
      ->ArgNames({"m", "n", "k"})
      ->Unit(benchmark::kMicrosecond);
}

void set_flops(benchmark::State& state) {
  state.counters["FLOPS"] = benchmark::Counter(
      2.0 * double(state.range(0)) * double(state.range(1)) * double(state.range(2)),
      benchmark::Counter::kIsIterationInvariantRate);
}

void BM_MatmulNT_View(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  Generator gen(1);
  const Tensor a = randn({m, k}, 0, 1, DType::Float32, gen),
               b = randn({n, k}, 0, 1, DType::Float32, gen);
  for (auto _ : state) benchmark::DoNotOptimize(a.matmul(b.mT()));
  set_flops(state);
}
BENCHMARK(BM_MatmulNT_View)->Apply(matmul_nt_args);

void BM_MatmulNT_Gemm(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  Generator gen(1);
  const Tensor a = randn({m, k}, 0, 1, DType::Float32, gen),
               b = randn({n, k}, 0, 1, DType::Float32, gen);
  for (auto _ : state) {
    Tensor c = Tensor::empty({m, n}, DType::Float32);
    gemm<float>(false, true, m, n, k, 1.0f, a.data<float>(), k, b.data<float>(), k, 0.0f,
                c.data<float>(), n);
    benchmark::DoNotOptimize(c);
  }
  set_flops(state);
}
BENCHMARK(BM_MatmulNT_Gemm)->Apply(matmul_nt_args);

void BM_MatmulNT_Copy(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  Generator gen(1);
  const Tensor a = randn({m, k}, 0, 1, DType::Float32, gen),
               b = randn({n, k}, 0, 1, DType::Float32, gen);
  for (auto _ : state) benchmark::DoNotOptimize(a.matmul(b.mT().contiguous()));
  set_flops(state);
}
BENCHMARK(BM_MatmulNT_Copy)->Apply(matmul_nt_args);

// ---- softmax -------------------------------------------------------------------------------

void BM_SoftmaxRows(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  Generator gen(1);
  const Tensor x = randn({rows, cols}, 0, 1, DType::Float32, gen);
  for (auto _ : state) benchmark::DoNotOptimize(softmax(x, -1));
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_SoftmaxRows)
    ->Args({768, 12})     // SELFATT: 64 batches × 12 queries over 12 keys
    ->Args({768, 16})     // SELFATT logits (cross-entropy)
    ->Args({16384, 128})  // MHA: 16 × 8 heads × 128 queries over 128 keys
    ->ArgNames({"rows", "cols"})
    ->Unit(benchmark::kMicrosecond);

// ---- LSTM cell: fused vs composed, forward + backward ------------------------------------------

template <bool kFused>
void BM_LSTMCell(benchmark::State& state) {
  const int64_t batch = state.range(0), in = state.range(1), hidden = state.range(2);
  Generator gen(1);
  const Variable x(randn({batch, in}, 0, 1, DType::Float32, gen));
  const Variable h = Variable(randn({batch, hidden}, 0, 1, DType::Float32, gen)).requires_grad_();
  const Variable c = Variable(randn({batch, hidden}, 0, 1, DType::Float32, gen)).requires_grad_();
  const Variable w_ih =
      Variable(randn({4 * hidden, in}, 0, 0.1, DType::Float32, gen)).requires_grad_();
  const Variable w_hh =
      Variable(randn({4 * hidden, hidden}, 0, 0.1, DType::Float32, gen)).requires_grad_();
  const Variable b_ih = Variable(randn({4 * hidden}, 0, 0.1, DType::Float32, gen)).requires_grad_();
  const Variable b_hh = Variable(randn({4 * hidden}, 0, 0.1, DType::Float32, gen)).requires_grad_();
  for (auto _ : state) {
    const nn::LSTMState s = kFused ? nn::lstm_cell_fused(x, {h, c}, w_ih, w_hh, b_ih, b_hh)
                                   : nn::lstm_cell_composed(x, {h, c}, w_ih, w_hh, b_ih, b_hh);
    sum(s.h + s.c).backward();
  }
}
// One list of sizes for both variants of a cell, so fused and composed are always
// timed at the same arguments and their rows stay comparable.
void cell_sizes(benchmark::internal::Benchmark* b) {
  b->Args({32, 64, 128})    // the LSTM workload
      ->Args({64, 96, 64})  // the SEQ2SEQ decoder (LSTM, or GRU with --cell gru)
      ->ArgNames({"B", "in", "H"})
      ->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_LSTMCell<true>)->Name("BM_LSTMCell/fused")->Apply(cell_sizes);
BENCHMARK(BM_LSTMCell<false>)->Name("BM_LSTMCell/composed")->Apply(cell_sizes);

// [extending:gru-bench]
// ---- GRU cell (the module): fused vs composed, forward + backward -------------------------------

template <bool kFused>
void BM_GRUCell(benchmark::State& state) {
  const int64_t batch = state.range(0), in = state.range(1), hidden = state.range(2);
  Generator gen(1);
  nn::GRUCell cell(nn::GRUCellOptions(in, hidden), gen);
  cell.fused = kFused;
  const Variable x(randn({batch, in}, 0, 1, DType::Float32, gen));
  const Variable h = Variable(randn({batch, hidden}, 0, 1, DType::Float32, gen)).requires_grad_();
  for (auto _ : state) {
    cell(x, h).sum().backward();  // gradients accumulate; the time is the same
  }
}
BENCHMARK(BM_GRUCell<true>)->Name("BM_GRUCell/fused")->Apply(cell_sizes);
BENCHMARK(BM_GRUCell<false>)->Name("BM_GRUCell/composed")->Apply(cell_sizes);
// [/extending:gru-bench]

// ---- additive attention: one decoder step over the encoder states, forward + backward -----------

void BM_AdditiveAttention(benchmark::State& state) {
  const int64_t batch = state.range(0), steps = state.range(1), d = state.range(2);
  Generator gen(1);
  nn::AdditiveAttention attention(nn::AdditiveAttentionOptions(d, d).attn_dim(d), gen);
  const Variable query = Variable(randn({batch, d}, 0, 1, DType::Float32, gen)).requires_grad_();
  const Variable keys =
      Variable(randn({batch, steps, d}, 0, 1, DType::Float32, gen)).requires_grad_();
  for (auto _ : state) {
    const nn::AttentionOutput out = attention.forward(query, keys);
    sum(out.context).backward();
  }
}
BENCHMARK(BM_AdditiveAttention)
    ->Args({64, 12, 64})  // the SEQ2SEQ decoder with --attention additive
    ->ArgNames({"B", "Tk", "d"})
    ->Unit(benchmark::kMicrosecond);

// ---- attention: fused vs composed, forward + backward -------------------------------------------

template <bool kFused>
void BM_Attention(benchmark::State& state) {
  const int64_t b = state.range(0), t = state.range(1), d = state.range(2);
  Generator gen(1);
  const Variable q = Variable(randn({b, t, d}, 0, 1, DType::Float32, gen)).requires_grad_();
  const Variable k = Variable(randn({b, t, d}, 0, 1, DType::Float32, gen)).requires_grad_();
  const Variable v = Variable(randn({b, t, d}, 0, 1, DType::Float32, gen)).requires_grad_();
  for (auto _ : state) {
    const nn::AttentionOutput o = kFused ? nn::scaled_dot_product_attention(q, k, v)
                                         : nn::scaled_dot_product_attention_composed(q, k, v);
    sum(o.context).backward();
  }
  // S = Q·Kᵀ and C = A·V: 2·(2·B·T·T·d) forward, twice that backward.
  state.counters["FLOPS"] = benchmark::Counter(12.0 * double(b) * double(t) * double(t) * double(d),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
// Both variants at the same sizes, as for the cells above.
void attention_sizes(benchmark::internal::Benchmark* b) {
  b->Args({64, 12, 64})       // SELFATT
      ->Args({128, 128, 32})  // MHA: 16 × 8 heads
      ->ArgNames({"B", "T", "d"})
      ->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_Attention<true>)->Name("BM_Attention/fused")->Apply(attention_sizes);
BENCHMARK(BM_Attention<false>)->Name("BM_Attention/composed")->Apply(attention_sizes);

// ---- graph overhead: the OVERHEAD workload ------------------------------------------------------

// y = x + c a hundred times on 4×4, then backward of Σy. Reported per op.
void BM_Backward100AddChain(benchmark::State& state) {
  Generator gen(1);
  Variable x = Variable(randn({4, 4}, 0, 1, DType::Float32, gen)).requires_grad_();
  const Variable c(randn({4, 4}, 0, 1, DType::Float32, gen));
  for (auto _ : state) {
    x.zero_grad();
    Variable y = x;
    for (int i = 0; i < 100; ++i) y = y + c;
    sum(y).backward();
  }
  state.SetItemsProcessed(state.iterations() * 100);  // ns per op = 1e9 / items_per_second
}
BENCHMARK(BM_Backward100AddChain)->Unit(benchmark::kMicrosecond);

// ---- memory: one SELFATT training step, and what it holds --------------------------------------

// The SELFATT model of bench/README.md (vocab 16, T 12, batch 64, d 64, Adam) trained one step
// per iteration on a fixed random batch. Besides the time it reports
//   peak_rss_MiB  the process's resident high-water mark (getrusage ru_maxrss), benchmark
//                 library included;
//   pool_MiB      what the tensor pool has taken from the system (live + cached bytes):
//                 minigrad's own high-water mark, flat from step to step once a graph
//                 is freed after backward (tests/test_reliability.cpp checks that);
//   live_KiB      the tensors alive between steps: weights, gradients, Adam's moments.
void BM_SelfAttentionStepMemory(benchmark::State& state) {
  Generator gen(1);
  nn::Embedding tokens(nn::EmbeddingOptions(16, 64), gen);
  nn::LearnedPositionalEncoding positions(nn::PositionalEncodingOptions(12, 64), gen);
  nn::SelfAttention attention(nn::SelfAttentionOptions(64).d_k(64), gen);
  nn::Linear readout(nn::LinearOptions(64, 16), gen);
  std::vector<Variable> params;
  for (nn::Module* m :
       std::initializer_list<nn::Module*>{&tokens, &positions, &attention, &readout})
    for (const Variable& p : m->parameters()) params.push_back(p);
  nn::Adam optimizer(params, nn::AdamOptions(3e-3));
  const Tensor source = randint(0, 16, {64, 12}, gen);
  const Tensor target = randint(0, 16, {64 * 12}, gen);
  for (auto _ : state) {
    const Variable logits = readout(attention(positions(tokens(source))).context);
    const Variable loss = nn::cross_entropy(logits.reshape({-1, 16}), target);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const AllocatorStats pool = allocator_stats();
  state.counters["peak_rss_MiB"] =
      static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  state.counters["pool_MiB"] = static_cast<double>(pool.live_bytes + pool.cached_bytes) / (1 << 20);
  state.counters["live_KiB"] = static_cast<double>(pool.live_bytes) / 1024.0;
}
BENCHMARK(BM_SelfAttentionStepMemory)->Unit(benchmark::kMicrosecond);

// ---- decoding: a Transformer with and without its key/value cache ------------------------------

// Greedy decoding of 64 tokens with the copy-task model of bench/README.md's TRANSFORMER
// (vocab 11, d_model 128, 4 heads, feed-forward 512, 2 + 2 layers, post-norm; token
// embeddings × √d_model + sinusoidal positions; Linear readout), eval mode, from a
// source of 10 tokens encoded once. Arguments: batch, cache (1: each step runs every
// layer on the new position against the cached keys and values; 0: on the whole
// prefix again, with the causal mask). Reports tokens/s, batch × 64 per second.
void BM_TransformerGreedyDecode(benchmark::State& state) {
  const int64_t batch = state.range(0), vocab = 11, d = 128, steps = 64;
  const bool use_cache = state.range(1) != 0;
  Generator gen(1);
  nn::Embedding src_embed(nn::EmbeddingOptions(vocab, d), gen);
  nn::Embedding tgt_embed(nn::EmbeddingOptions(vocab, d), gen);
  nn::SinusoidalPositionalEncoding positions(nn::PositionalEncodingOptions(steps, d));
  nn::Transformer model(nn::TransformerOptions(d, 4, 2, 2).dim_feedforward(512).batch_first(true),
                        gen);
  nn::Linear readout(nn::LinearOptions(d, vocab), gen);
  model.eval();
  const auto embed = [&](nn::Embedding& table, const Tensor& tokens, int64_t position) {
    return table(tokens) * std::sqrt(static_cast<double>(d)) +
           positions.table.narrow(0, position, tokens.size(1));
  };
  NoGradGuard no_grad;
  const Variable memory =
      (*model.encoder)(embed(src_embed, randint(0, vocab, {batch, 10}, gen), 0));
  for (auto _ : state) {
    nn::TransformerDecoding decoding(
        *model.decoder, memory,
        [&](const Tensor& tokens, int64_t position) { return embed(tgt_embed, tokens, position); },
        [&](const Variable& x) { return readout(x); },
        nn::TransformerDecodingOptions().use_cache(use_cache));
    benchmark::DoNotOptimize(
        nn::greedy_decode(decoding, nn::GreedyDecodeOptions().start_symbol(1).max_length(steps)));
  }
  state.SetItemsProcessed(state.iterations() * batch * steps);
}
BENCHMARK(BM_TransformerGreedyDecode)
    ->ArgsProduct({{1, 64}, {1, 0}})
    ->ArgNames({"batch", "cache"})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
