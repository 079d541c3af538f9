// workloads: every workload of bench/README.md, minigrad beside its reference, in one
// process run, one output line per figure:
//
//   GEMM case=sq512 op=NN threads=2 ours_gflops=… ref_gflops=… ratio=… peak_frac=…
//   SELFATT threads=2 ours_us=… ref_us=… ratio=… peak_frac=…
//   SELFATT_FASTEST ours_threads=1 ours_us=… ref=torch@1 ref_us=… ratio=…
//
// ratio = ours / reference: above 1 is better for GFLOP/s, below 1 is better for times.
// peak_frac = (the workload's FLOPs / our time) / the FMA peak measured at startup.
// Lines starting with '#' are commentary (settings, the reference's runner-up, checks).
//
//   workloads [--only NAME[,NAME...]] [--threads 1|2] [--reps N] [--quick]
//             [--cap STEPS] [--eval-every STEPS] [--side both|ours|ref]
//
// How a figure is measured. The machine is shared, so load comes and goes while we
// measure; timing one side completely and then the other would let a burst of
// someone else's compile land on one side only. Instead the contestants take turns:
// each warms up, then every round takes one sample of each (a sample repeats the
// call until it has run for ≥ 20 ms, to be long against the clock's resolution), and
// the figure is the median over the rounds. Thread settings are applied before every
// sample, because minigrad and libtorch share one OpenMP runtime.
//
// The reference at its best: OpenBLAS with its SkylakeX kernels (Debian's
// build picks a generic kernel on this CPU unless OPENBLAS_CORETYPE says otherwise, and
// it reads that variable when it is loaded, so we re-exec ourselves with it set);
// libtorch at N intra-op threads with OpenBLAS's own pool held at 1, and ALSO libtorch
// at 1 thread throughout; the faster of the two is the reference.
#include <malloc.h>   // mallopt
#include <strings.h>  // strcasecmp
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "workloads.h"

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

const std::vector<std::string> kWorkloads = {"GEMM",    "GEMM_ODD",    "OVERHEAD", "SELFATT",
                                             "SEQ2SEQ", "TRANSFORMER", "GPT",      "GPT_SAMPLE",
                                             "LSTM",    "MHA",         "CONVERGE"};

struct Options {
  std::set<std::string> only;   // empty: all
  std::vector<int> threads;     // empty: each workload's default
  int reps = 15;                // timed rounds per figure
  bool quick = false;           // smoke pass: one warm-up call, one round, short CONVERGE
  int cap = 3000;               // CONVERGE: give up after this many steps
  int eval_every = 10;          // CONVERGE: evaluate on the held-out set this often
  int64_t heldout = 1000;       // CONVERGE: held-out sequences (bench/README.md: 1000)
  double warmup_s = 0.2;        // each contestant warms up at least this long...
  int warmup_calls = 3;         // ...and for at least this many calls
  double sample_s = 0.02;       // one sample repeats the call until it ran this long
  double settle_s = 0.2;        // pause after a multi-threaded sample (see measure())
  double rewarm_s = 0.01;       // untimed calls before every sample (see measure())
  std::string side = "both";    // "ours" or "ref": time one side only (for profiling)

  bool wants(const std::string& name) const { return only.empty() || only.count(name) > 0; }
  // Our contestants are labelled "ours" or "ours …" (GPT_SAMPLE's "ours cached").
  bool runs(const std::string& contestant) const {
    return side == "both" || (side == "ours") == (contestant.rfind("ours", 0) == 0);
  }
  std::vector<int> threads_for(const std::vector<int>& defaults) const {
    return threads.empty() ? defaults : threads;
  }
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(
      stderr,
      "workloads: %s\n"
      "usage: workloads [--only NAME[,NAME...]] [--threads 1|2] [--reps N] [--quick]\n"
      "                 [--cap STEPS] [--eval-every STEPS] [--side both|ours|ref]\n"
      "  NAME: GEMM GEMM_ODD OVERHEAD SELFATT SEQ2SEQ TRANSFORMER GPT GPT_SAMPLE LSTM MHA\n"
      "        CONVERGE (default: all)\n"
      "  --side: time one side only, e.g. to profile it with perf\n",
      msg);
  std::exit(2);
}

int parse_int(const char* s, const char* what) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (!end || *end != '\0' || v <= 0 || v > 1000000) usage((std::string("bad value for ") + what).c_str());
  return static_cast<int>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--only") {
      std::stringstream ss(value());
      for (std::string name; std::getline(ss, name, ',');) {
        for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (std::find(kWorkloads.begin(), kWorkloads.end(), name) == kWorkloads.end()) {
          usage(("unknown workload " + name).c_str());
        }
        o.only.insert(name);
      }
    } else if (a == "--threads") {
      const int t = parse_int(value(), "--threads");
      if (t != 1 && t != 2) usage("--threads must be 1 or 2");
      o.threads = {t};
    } else if (a == "--reps") {
      o.reps = parse_int(value(), "--reps");
    } else if (a == "--cap") {
      o.cap = parse_int(value(), "--cap");
    } else if (a == "--eval-every") {
      o.eval_every = parse_int(value(), "--eval-every");
    } else if (a == "--side") {
      o.side = value();
      if (o.side != "both" && o.side != "ours" && o.side != "ref") usage("--side must be both, ours or ref");
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--help" || a == "-h") {
      usage("help");
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (o.quick) {
    // Every figure still runs on both sides, but only once: CI checks that it works.
    o.reps = 1;
    o.warmup_s = 0;
    o.warmup_calls = 1;
    o.sample_s = 0;
    o.settle_s = 0;
    o.rewarm_s = 0;
    o.cap = std::min(o.cap, 20);
    o.eval_every = std::min(o.eval_every, 10);
    o.heldout = 100;
  }
  return o;
}

// ---- the measuring harness --------------------------------------------------------------

// One side of a figure in one configuration.
struct Contestant {
  std::string label;
  int threads;                  // how many threads it runs on (see `settle_s`)
  std::function<void()> setup;  // thread settings, applied before every sample
  std::function<void()> run;    // one unit of work
  std::vector<double> samples;  // seconds per call, one per round
  double median() const {
    std::vector<double> s = samples;
    std::sort(s.begin(), s.end());
    return s.empty() ? NAN : s[s.size() / 2];
  }
};

// Warm-up, calibration, then `reps` interleaved rounds (see the top of this file).
//
// Taking turns has one trap: a thread pool does not go to sleep the moment its work is
// done. OpenBLAS's workers spin (yielding) for 2^28 cycles, about 0.13 s here, waiting
// for the next call; libgomp's spin for a while too. If the next contestant started at
// once, it would share its cores with the previous one's spinning workers (we measured
// minigrad's 2-thread GEMM at 1 GFLOP/s right after an OpenBLAS sample, 130 alone). So
// after every multi-threaded sample we pause for settle_s, letting those pools go idle.
//
// The pause has a cost of its own: the cores sit idle, and on a VM an idle vCPU may be
// descheduled or clocked down, so the first call after it runs slow. On a Zen 3 VM a
// SELFATT step (1.2 ms) averaged 1.7 ms over 20 ms samples that began after a pause,
// for ours at 2 threads (which opens no parallel region there) and for libtorch at 1
// alike; one untimed call first brought it to 1.5 ms, 10 ms of them to 1.25 ms (1 thread,
// no pauses: 1.24). So every sample starts with rewarm_s of untimed calls.
void measure(std::vector<Contestant*> cs, const Options& o) {
  auto settle = [&](const Contestant& c) {
    if (c.threads > 1 && o.settle_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(o.settle_s));
  };
  cs.erase(std::remove_if(cs.begin(), cs.end(), [&](Contestant* c) { return !o.runs(c->label); }), cs.end());
  std::vector<int> inner(cs.size(), 1);
  for (size_t i = 0; i < cs.size(); ++i) {
    Contestant& c = *cs[i];
    c.setup();
    const auto t0 = Clock::now();
    int calls = 0;
    while (calls < o.warmup_calls || seconds_since(t0) < o.warmup_s) {
      c.run();
      ++calls;
    }
    const double per_call = seconds_since(t0) / calls;
    inner[i] = per_call > 0 ? std::max(1, static_cast<int>(std::ceil(o.sample_s / per_call))) : 1;
    settle(c);
  }
  for (int r = 0; r < o.reps; ++r) {
    for (size_t i = 0; i < cs.size(); ++i) {
      Contestant& c = *cs[i];
      c.setup();
      // untimed: wakes the cores after the previous contestant's pause
      for (const auto w0 = Clock::now(); seconds_since(w0) < o.rewarm_s;) c.run();
      const auto t0 = Clock::now();
      for (int k = 0; k < inner[i]; ++k) c.run();
      c.samples.push_back(seconds_since(t0) / inner[i]);
      settle(c);
    }
  }
}

// "%.*f" of a value, or "na".
std::string fmt(double v, int digits) {
  if (!std::isfinite(v)) return "na";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

void emit(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// The machine's FMA peak per thread count, measured at startup (peak.cpp).
std::map<int, Peak> g_peak;

double peak_frac(double flops, double seconds, int threads) {
  const auto it = g_peak.find(threads);
  if (it == g_peak.end() || it->second.gflops <= 0) return NAN;
  return flops / seconds * 1e-9 / it->second.gflops;
}

// ---- the reference's configurations -------------------------------------------------------

// How the reference runs at a figure's thread count: libtorch with N intra-op threads and
// OpenBLAS held at 1, and libtorch at 1 thread throughout (the same thing when N = 1).
struct RefConfig {
  std::string label;
  int torch_threads;
};
[[maybe_unused]] std::vector<RefConfig> ref_configs(int threads) {
  if (threads == 1) return {{"torch@1", 1}};
  return {{"torch@" + std::to_string(threads) + "+blas@1", threads}, {"torch@1", 1}};
}

#ifdef MINIGRAD_HAVE_TORCH
std::function<void()> ref_setup(int torch_threads) {
  return [torch_threads] {
    ref_torch::set_threads(torch_threads);
    ref_blas::set_threads(1);
  };
}
#endif

std::function<void()> ours_setup(int threads) {
  return [threads] { ours::set_threads(threads); };
}

// A figure whose reference is libtorch: ours vs each reference configuration.
// Returns {ours seconds, best reference seconds}; prints the runner-up as a comment.
struct Pair {
  double ours = NAN, ref = NAN;
  std::string ref_label;  // the reference's faster configuration
};
Pair compare_with_torch(const std::string& name, int threads, const Job& ours_job,
                        const std::vector<Job>& ref_jobs, const Options& o) {
  Contestant ours_c{"ours", threads, ours_setup(threads), ours_job.run, {}};
  std::vector<Contestant> refs;
#ifdef MINIGRAD_HAVE_TORCH
  const std::vector<RefConfig> cfgs = ref_configs(threads);
  for (size_t i = 0; i < cfgs.size(); ++i) {
    refs.push_back({cfgs[i].label, cfgs[i].torch_threads, ref_setup(cfgs[i].torch_threads),
                    ref_jobs[i % ref_jobs.size()].run, {}});
  }
#else
  (void)ref_jobs;
#endif
  std::vector<Contestant*> all{&ours_c};
  for (Contestant& r : refs) all.push_back(&r);
  measure(all, o);
  Pair p;
  p.ours = ours_c.median();
  std::string note = "# " + name + " threads=" + std::to_string(threads) + " reference:";
  bool any = false;
  for (const Contestant& r : refs) {
    if (r.samples.empty()) continue;  // --side ours
    any = true;
    note += " " + r.label + "=" + fmt(r.median() * 1e6, 1) + "us";
    if (!(r.median() >= p.ref)) {
      p.ref = r.median();
      p.ref_label = r.label;
    }
  }
  if (any) emit(note + " (the faster is the reference)");
  return p;
}

// ---- GEMM ---------------------------------------------------------------------------------

struct GemmCase {
  std::string name;
  int64_t m, n, k;
  bool ta, tb;
};

std::vector<GemmCase> gemm_cases() {
  std::vector<GemmCase> cs;
  for (int64_t n : {64, 128, 256, 512, 1024}) cs.push_back({"sq" + std::to_string(n), n, n, n, false, false});
  cs.push_back({"m768n64k64", 768, 64, 64, false, false});     // (768×64)·(64×64): SELFATT's projections
  cs.push_back({"m64n512k128", 64, 512, 128, false, false});   // (64×128)·(128×512): an LSTM gate product
  cs.push_back({"sq512", 512, 512, 512, false, true});         // A·Bᵀ
  cs.push_back({"sq512", 512, 512, 512, true, false});         // Aᵀ·B
  return cs;
}

// GEMM_ODD: shapes no block size divides, a big square one, a short-and-wide and a
// tall-and-thin one (named m×n×k, as bench/README.md lists them).
std::vector<GemmCase> gemm_odd_cases() {
  std::vector<GemmCase> cs;
  for (const auto& [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{301, 517, 129},
                                {1000, 1000, 1000},
                                {33, 2048, 77},
                                {4096, 16, 16}})
    cs.push_back({std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k), m, n, k,
                  false, false});
  return cs;
}

// 64-byte aligned floats, like minigrad's own buffers and what OpenBLAS likes.
struct AlignedFloats {
  explicit AlignedFloats(size_t n) : p(static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64))), size(n) {}
  ~AlignedFloats() { std::free(p); }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  float* p;
  size_t size;
};

// One line per case and thread count, labelled `workload` (GEMM or GEMM_ODD).
void run_gemm(const Options& o, const std::string& workload, const std::vector<GemmCase>& cases) {
  std::map<int64_t, std::map<int, std::pair<double, double>>> sq_nn;  // n → threads → (ours, ref) GFLOP/s
  for (const GemmCase& gc : cases) {
    // Stored shapes: A is [m×k] ([k×m] when transposed), B is [k×n] ([n×k] when transposed).
    const int64_t lda = gc.ta ? gc.m : gc.k, ldb = gc.tb ? gc.k : gc.n, ldc = gc.n;
    AlignedFloats a(size_t(gc.m * gc.k)), b(size_t(gc.k * gc.n)), c(size_t(gc.m * gc.n)), c_ref(c.size);
    Rng rng(42);
    for (size_t i = 0; i < a.size; ++i) a.p[i] = rng.uniform(-1, 1);
    for (size_t i = 0; i < b.size; ++i) b.p[i] = rng.uniform(-1, 1);
    const std::string op = std::string(gc.ta ? "T" : "N") + (gc.tb ? "T" : "N");
    const double flops = 2.0 * double(gc.m) * double(gc.n) * double(gc.k);
    for (int threads : o.threads_for({1, 2})) {
      Contestant ours_c{"ours", threads, ours_setup(threads),
                        [&] { ours::sgemm(gc.ta, gc.tb, gc.m, gc.n, gc.k, a.p, lda, b.p, ldb, c.p, ldc); }, {}};
      std::vector<Contestant*> all{&ours_c};
#ifdef MINIGRAD_HAVE_OPENBLAS
      Contestant ref_c{"openblas", threads, [threads] { ref_blas::set_threads(threads); },
                       [&] { ref_blas::sgemm(gc.ta, gc.tb, gc.m, gc.n, gc.k, a.p, lda, b.p, ldb, c_ref.p, ldc); }, {}};
      all.push_back(&ref_c);
#endif
      measure(all, o);
      const double ours_g = flops / ours_c.median() * 1e-9;
      double ref_g = NAN;
#ifdef MINIGRAD_HAVE_OPENBLAS
      ref_g = flops / ref_c.median() * 1e-9;
      // Both wrote their C during the runs: they must agree (float sums in another order).
      double worst = 0, scale = 0;
      for (size_t i = 0; i < c.size; ++i) {
        worst = std::max(worst, double(std::fabs(c.p[i] - c_ref.p[i])));
        scale = std::max(scale, double(std::fabs(c_ref.p[i])));
      }
      const bool both_ran = !ours_c.samples.empty() && !ref_c.samples.empty();
      if (both_ran && worst > 1e-4 * std::max(scale, 1.0)) {
        emit("# WARNING " + workload + " case=" + gc.name + " op=" + op +
             ": ours and OpenBLAS differ by " + fmt(worst, 6));
      }
#endif
      emit(workload + " case=" + gc.name + " op=" + op + " threads=" + std::to_string(threads) +
           " ours_gflops=" + fmt(ours_g, 1) + " ref_gflops=" + fmt(ref_g, 1) +
           " ratio=" + fmt(ours_g / ref_g, 3) +
           " peak_frac=" + fmt(peak_frac(flops, ours_c.median(), threads), 3));
      if (gc.m == gc.n && gc.n == gc.k && op == "NN") sq_nn[gc.n][threads] = {ours_g, ref_g};
    }
  }
  // How well each side uses a second core, at the largest square size.
  for (const auto& [n, by_threads] : sq_nn) {
    if (workload != "GEMM" || n != 1024 || !by_threads.count(1) || !by_threads.count(2)) continue;
    emit("GEMM_SCALING case=sq" + std::to_string(n) + " op=NN ours_speedup_2v1=" +
         fmt(by_threads.at(2).first / by_threads.at(1).first, 2) +
         " ref_speedup_2v1=" + fmt(by_threads.at(2).second / by_threads.at(1).second, 2));
  }
}

// ---- OVERHEAD, LSTM, MHA ---------------------------------------------------------------------

// Both sides must compute the same thing; a mismatch means the comparison is void.
[[maybe_unused]] void cross_check(const std::string& name, double ours_v, double ref_v, double rel_tol) {
  const double diff = std::fabs(ours_v - ref_v), scale = std::max({std::fabs(ours_v), std::fabs(ref_v), 1.0});
  emit("# " + name + " check: ours=" + fmt(ours_v, 6) + " ref=" + fmt(ref_v, 6) +
       (diff <= rel_tol * scale ? " (agree)" : " WARNING: they differ"));
}

void run_overhead(const Options& o) {
  Rng rng(7);
  const std::vector<float> values = make_floats(32, rng);
  const Job ours_job = ours::make_overhead(values);
  std::vector<Job> ref_jobs;
#ifdef MINIGRAD_HAVE_TORCH
  ref_jobs.push_back(ref_torch::make_overhead(values));
  cross_check("OVERHEAD", ours_job.check(), ref_jobs[0].check(), 1e-5);
#endif
  // ns per op: (forward + backward of the chain) / 100
  for (int threads : o.threads_for({1, 2})) {
    const Pair p = compare_with_torch("OVERHEAD", threads, ours_job, ref_jobs, o);
    const double ours_ns = p.ours * 1e9 / kOverheadChain, ref_ns = p.ref * 1e9 / kOverheadChain;
    emit("OVERHEAD threads=" + std::to_string(threads) + " ours_ns=" + fmt(ours_ns, 1) +
         " ref_ns=" + fmt(ref_ns, 1) + " ratio=" + fmt(ours_ns / ref_ns, 3));
  }
}

void emit_us(const std::string& name, int threads, const Pair& p, double flops) {
  emit(name + " threads=" + std::to_string(threads) + " ours_us=" + fmt(p.ours * 1e6, 1) +
       " ref_us=" + fmt(p.ref * 1e6, 1) + " ratio=" + fmt(p.ours / p.ref, 3) +
       " peak_frac=" + fmt(peak_frac(flops, p.ours, threads), 3));
}

// Each side at the thread count where it is fastest (the reference's figure at 2
// threads is already the faster of its two configurations; `ref` names the winner):
//   NAME_FASTEST ours_threads=1 ours_us=… ref=torch@1 ref_us=… ratio=…
void emit_fastest(const std::string& name, const std::map<int, Pair>& by_threads) {
  if (by_threads.size() < 2) return;
  int ours_t = 0, ref_t = 0;
  for (const auto& [t, p] : by_threads) {
    if (ours_t == 0 || p.ours < by_threads.at(ours_t).ours) ours_t = t;
    if (ref_t == 0 || p.ref < by_threads.at(ref_t).ref) ref_t = t;
  }
  const Pair& ours = by_threads.at(ours_t);
  const Pair& ref = by_threads.at(ref_t);
  emit(name + "_FASTEST ours_threads=" + std::to_string(ours_t) + " ours_us=" +
       fmt(ours.ours * 1e6, 1) + " ref=" + (ref.ref_label.empty() ? "na" : ref.ref_label) +
       " ref_us=" + fmt(ref.ref * 1e6, 1) + " ratio=" + fmt(ours.ours / ref.ref, 3));
}

void run_job_workload(const std::string& name, const Options& o) {
  const bool lstm = name == "LSTM";
  Rng rng(11);
  const size_t n = lstm ? size_t(LstmSize::steps * LstmSize::batch * LstmSize::input)
                        : size_t(MhaSize::batch * MhaSize::steps * MhaSize::d);
  const std::vector<float> input = make_floats(n, rng);
  HostParams init;
  const Job ours_job = lstm ? ours::make_lstm(1, input, &init) : ours::make_mha(1, input, &init);
  std::vector<Job> ref_jobs;
#ifdef MINIGRAD_HAVE_TORCH
  ref_jobs.push_back(lstm ? ref_torch::make_lstm(input, init) : ref_torch::make_mha(input, init));
  cross_check(name, ours_job.check(), ref_jobs[0].check(), 1e-3);
#endif
  for (int threads : o.threads_for({1, 2})) {
    emit_us(name, threads, compare_with_torch(name, threads, ours_job, ref_jobs, o),
            lstm ? lstm_flops() : mha_flops());
  }
}

// ---- SELFATT, SEQ2SEQ and TRANSFORMER --------------------------------------------------------

constexpr uint64_t kModelSeed = 2024, kTrainSeed = 1, kHeldoutSeed = 99;

struct SeqWorkload {
  std::string name;
  Task task;
  int64_t batch, steps, vocab;  // vocab: the ids the data draws from
  double flops;
  std::unique_ptr<SeqModel> (*make_ours)(uint64_t, HostParams*);
#ifdef MINIGRAD_HAVE_TORCH
  std::unique_ptr<SeqModel> (*make_ref)(const HostParams&);
#endif  // Also check the loss after this many training steps (0: the initial loss only), so
  // that the backward and Adam's settings are compared too, not only the forward.
  int check_steps = 0;
};

SeqWorkload selfatt_workload() {
  using S = SelfAttSize;
  return {"SELFATT", Task::Reverse, S::batch, S::steps, S::vocab, selfatt_flops(), ours::make_selfatt,
#ifdef MINIGRAD_HAVE_TORCH
          ref_torch::make_selfatt
#endif
  };
}
SeqWorkload seq2seq_workload() {
  using S = Seq2SeqSize;
  return {"SEQ2SEQ", Task::Copy, S::batch, S::steps, S::vocab, seq2seq_flops(), ours::make_seq2seq,
#ifdef MINIGRAD_HAVE_TORCH
          ref_torch::make_seq2seq
#endif
  };
}
SeqWorkload transformer_workload() {
  using S = TransformerSize;
  SeqWorkload w{"TRANSFORMER",
                Task::Copy,
                S::batch,
                S::steps,
                S::tokens,
                transformer_flops(),
                ours::make_transformer,
#ifdef MINIGRAD_HAVE_TORCH
                ref_torch::make_transformer
#endif
  };
  w.check_steps = 5;
  return w;
}
SeqWorkload gpt_workload() {
  using G = GptSize;
  SeqWorkload w{"GPT",
                Task::NextToken,
                G::batch,
                G::block,
                G::vocab,
                gpt_flops(),
                ours::make_gpt,
#ifdef MINIGRAD_HAVE_TORCH
                ref_torch::make_gpt
#endif
  };
  w.check_steps = 5;
  return w;
}

// One training step per call, cycling through a few batches (one fixed batch would
// drive the loss to zero and the softmaxes into saturation).
Job step_job(SeqModel& m, const std::vector<Tokens>& batches) {
  auto next = std::make_shared<size_t>(0);
  return {[&m, &batches, next] { m.train_step(batches[(*next)++ % batches.size()]); }, nullptr};
}

void run_step_workload(const SeqWorkload& w, const Options& o) {
  Rng rng(kTrainSeed);
  std::vector<Tokens> batches;
  for (int i = 0; i < 8; ++i) batches.push_back(make_tokens(w.task, w.batch, w.steps, w.vocab, rng));
  HostParams init;
  const std::unique_ptr<SeqModel> ours_m = w.make_ours(kModelSeed, &init);
  std::vector<std::unique_ptr<SeqModel>> ref_ms;
  std::vector<Job> ref_jobs;
#ifdef MINIGRAD_HAVE_TORCH
  // One reference model per configuration, so each trains at its own pace (same work).
  for (size_t i = 0; i < ref_configs(2).size(); ++i) ref_ms.push_back(w.make_ref(init));
  cross_check(w.name + " initial loss", ours_m->loss(batches[0]), ref_ms[0]->loss(batches[0]), 1e-4);
  if (w.check_steps > 0) {
    for (int i = 0; i < w.check_steps; ++i) {
      ours_m->train_step(batches[size_t(i) % batches.size()]);
      ref_ms[0]->train_step(batches[size_t(i) % batches.size()]);
    }
    cross_check(w.name + " loss after " + std::to_string(w.check_steps) + " steps",
                ours_m->loss(batches[0]), ref_ms[0]->loss(batches[0]), 1e-3);
  }
  for (auto& m : ref_ms) ref_jobs.push_back(step_job(*m, batches));
#endif
  const Job ours_job = step_job(*ours_m, batches);
  std::map<int, Pair> by_threads;
  for (int threads : o.threads_for({1, 2})) {
    by_threads[threads] = compare_with_torch(w.name, threads, ours_job, ref_jobs, o);
    emit_us(w.name, threads, by_threads[threads], w.flops);
  }
  emit_fastest(w.name, by_threads);
}

// ---- GPT_SAMPLE ------------------------------------------------------------------------------

// Our GPT generating GptSize::sample_tokens (256) tokens greedily after a one-token
// prompt, with the key/value cache and without it, taking turns like two contestants;
// one line per crop setting and thread count:
//   GPT_SAMPLE threads=1 crop_to=64 cached_us_per_token=… uncached_us_per_token=… speedup=…
// Both ways see the same contexts, so they must produce the same tokens.
//   crop_to = block_size (nanoGPT's generate): past block_size every step drops the oldest
//     token, the positions shift, and the cache is rebuilt from the whole window: it
//     saves work on the first block_size tokens only.
//   crop_to = block_size / 2: past block_size the context is cut to its last half and
//     the cache is rebuilt once every block_size / 2 + 1 steps.
// The --quick pass generates a few tokens past block_size, enough to crop once.
void run_gpt_sample(const Options& o) {
  if (!o.runs("ours")) return;  // there is no reference side
  using G = GptSize;
  const int64_t tokens = o.quick ? G::block + 8 : G::sample_tokens;
  // A call is hundreds of decoding steps, up to a second uncached: one call warms up.
  Options one_warmup = o;
  one_warmup.warmup_calls = 1;
  for (const int64_t crop_to : {G::block, G::block / 2}) {
    const auto cached = ours::make_gpt_sample(
        kModelSeed, {.use_cache = true, .crop_to = crop_to, .new_tokens = tokens});
    const auto uncached = ours::make_gpt_sample(
        kModelSeed, {.use_cache = false, .crop_to = crop_to, .new_tokens = tokens});
    const std::string crop = "crop_to=" + std::to_string(crop_to);
    emit("# GPT_SAMPLE " + crop + " check: cached and uncached decoding " +
         (cached() == uncached() ? "produce the same tokens (agree)"
                                 : "WARNING: produce different tokens"));
    for (int threads : o.threads_for({1, 2})) {
      Contestant with{"ours cached", threads, ours_setup(threads), [&cached] { cached(); }, {}};
      Contestant without{
          "ours uncached", threads, ours_setup(threads), [&uncached] { uncached(); }, {}};
      measure({&with, &without}, one_warmup);
      const double per_token = 1e6 / double(tokens);
      emit("GPT_SAMPLE threads=" + std::to_string(threads) + " " + crop +
           " cached_us_per_token=" + fmt(with.median() * per_token, 1) +
           " uncached_us_per_token=" + fmt(without.median() * per_token, 1) +
           " speedup=" + fmt(without.median() / with.median(), 2));
    }
  }
}

// ---- CONVERGE --------------------------------------------------------------------------------

struct ConvergeResult {
  int steps = 0;
  double seconds = 0, accuracy = 0;
  double eval_seconds = 0;  // the part of `seconds` spent evaluating
  bool reached = false;
};

// Trains from a fresh model on fresh batches (the same stream on both sides) until the
// held-out token accuracy reaches 99 %. The clock runs during training steps and
// evaluations, not while batches are generated.
ConvergeResult converge(SeqModel& m, const SeqWorkload& w, const std::function<void()>& setup, const Options& o) {
  setup();
  Rng heldout_rng(kHeldoutSeed), train_rng(kTrainSeed + 1000);
  const Tokens heldout = make_tokens(w.task, o.heldout, w.steps, w.vocab, heldout_rng);
  ConvergeResult r;
  for (int step = 1; step <= o.cap; ++step) {
    const Tokens batch = make_tokens(w.task, w.batch, w.steps, w.vocab, train_rng);
    const auto t0 = Clock::now();
    m.train_step(batch);
    if (step % o.eval_every == 0 || step == o.cap) {
      const auto t1 = Clock::now();
      r.accuracy = m.accuracy(heldout);
      r.eval_seconds += seconds_since(t1);
    }
    r.seconds += seconds_since(t0);
    r.steps = step;
    if (r.accuracy >= 0.99) {
      r.reached = true;
      break;
    }
  }
  return r;
}

void run_converge(const SeqWorkload& w, const Options& o) {
  for (int threads : o.threads_for({2})) {
    HostParams init;
    const std::unique_ptr<SeqModel> ours_m = w.make_ours(kModelSeed, &init);
    ConvergeResult ours_r;
    ours_r.seconds = NAN;
    if (o.runs("ours")) ours_r = converge(*ours_m, w, ours_setup(threads), o);
    ConvergeResult ref_r;
    ref_r.seconds = NAN;
#ifdef MINIGRAD_HAVE_TORCH
    // The reference trains once, so pick its faster configuration first with a short
    // trial on a scratch model (a few warm-up steps, then the median of a few).
    std::vector<RefConfig> cfgs = ref_configs(threads);
    RefConfig best = cfgs[0];
    if (cfgs.size() > 1 && o.runs("ref")) {
      Rng rng(kTrainSeed);
      std::vector<Tokens> batches;
      for (int i = 0; i < 4; ++i) batches.push_back(make_tokens(w.task, w.batch, w.steps, w.vocab, rng));
      std::vector<std::unique_ptr<SeqModel>> trial_ms;
      std::vector<Contestant> trial;
      for (const RefConfig& c : cfgs) {
        trial_ms.push_back(w.make_ref(init));
        trial.push_back({c.label, c.torch_threads, ref_setup(c.torch_threads),
                         step_job(*trial_ms.back(), batches).run, {}});
      }
      Options t = o;
      t.reps = o.quick ? 1 : 5;
      t.warmup_s = o.quick ? 0 : 0.05;
      std::vector<Contestant*> ptrs;
      for (Contestant& c : trial) ptrs.push_back(&c);
      measure(ptrs, t);
      std::string note = "# CONVERGE " + w.name + " threads=" + std::to_string(threads) + " reference trial:";
      size_t bi = 0;
      for (size_t i = 0; i < trial.size(); ++i) {
        note += " " + trial[i].label + "=" + fmt(trial[i].median() * 1e6, 1) + "us/step";
        if (trial[i].median() < trial[bi].median()) bi = i;
      }
      best = cfgs[bi];
      emit(note + " → trains with " + best.label);
    }
    const std::unique_ptr<SeqModel> ref_m = w.make_ref(init);
    if (o.runs("ref")) ref_r = converge(*ref_m, w, ref_setup(best.torch_threads), o);
#endif
    const std::string task = w.task == Task::Reverse ? "reverse" : "copy";
    // ">3000": the cap was hit first. (append, not ">" + s: g++ 12 warns falsely on that.)
    auto steps = [](const ConvergeResult& r) {
      if (r.steps == 0) return std::string("na");  // this side did not run
      return std::string(r.reached ? "" : ">").append(std::to_string(r.steps));
    };
    auto acc = [](const ConvergeResult& r) { return r.steps == 0 ? std::string("na") : fmt(r.accuracy, 4); };
    const bool both = ours_r.reached && ref_r.reached;
    auto eval_s = [](const ConvergeResult& r) { return r.steps == 0 ? std::string("na") : fmt(r.eval_seconds, 2); };
    emit("# CONVERGE " + w.name + " threads=" + std::to_string(threads) + " of which evaluation: ours " +
         eval_s(ours_r) + " s, ref " + eval_s(ref_r) + " s (every " +
         std::to_string(o.eval_every) + " steps on " + std::to_string(o.heldout) + " sequences)");
    emit("CONVERGE model=" + w.name + " task=" + task + " threads=" + std::to_string(threads) +
         " ours_steps=" + steps(ours_r) + " ref_steps=" + steps(ref_r) + " ours_s=" + fmt(ours_r.seconds, 2) +
         " ref_s=" + fmt(ref_r.seconds, 2) + " ratio=" + (both ? fmt(ours_r.seconds / ref_r.seconds, 3) : "na") +
         " ours_acc=" + acc(ours_r) + " ref_acc=" + acc(ref_r));
  }
}

// ---- startup ---------------------------------------------------------------------------------

// OpenBLAS picks its kernels when it is loaded: from OPENBLAS_CORETYPE if set, and on
// this CPU Debian's build otherwise picks a generic one (SkylakeX is 3–5× faster
// here). So unless the variable already says SKYLAKEX, set it and start over: execv
// replaces this process with a fresh copy of itself, which loads OpenBLAS again and
// reads it. A different value inherited from the environment (these machines export
// OPENBLAS_CORETYPE=Haswell) is overridden too, since the reference must run at its
// best; the header line says what it was. Only on CPUs that can run the SkylakeX
// kernels (AVX-512 F/BW/DQ/VL); elsewhere OpenBLAS keeps its own choice.
void ensure_openblas_coretype(char** argv) {
#if defined(MINIGRAD_HAVE_OPENBLAS) || defined(MINIGRAD_HAVE_TORCH)
  const char* current = std::getenv("OPENBLAS_CORETYPE");
  if (current && strcasecmp(current, "SKYLAKEX") == 0) return;
  if (std::getenv("MINIGRAD_BENCH_REEXEC")) return;  // never loop
  __builtin_cpu_init();
  if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))) {
    return;
  }
  setenv("MINIGRAD_BENCH_REEXEC", current ? current : "unset", 1);  // what it was, for the header
  setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 1);
  execv("/proc/self/exe", argv);
  std::perror("workloads: re-exec with OPENBLAS_CORETYPE=SKYLAKEX failed; OpenBLAS keeps its own kernels");
#else
  (void)argv;
#endif
}

// glibc's malloc returns freed memory to the system once the top of the heap holds
// more than M_TRIM_THRESHOLD free bytes, and serves requests above M_MMAP_THRESHOLD
// with fresh mmap()s; either way the next allocation page-faults its memory in again.
// Both thresholds start low (128 KiB) and rise only after large blocks were freed, so
// libtorch, which allocates every tensor with malloc, ran twice as fast when the GEMM
// workload had happened to run first (SELFATT 1.3 ms vs 3 ms per step, LSTM 9 vs
// 22 ms). Fixing the thresholds high gives the reference its fast configuration
// whatever ran before. minigrad's tensors come from its own caching pool and do not
// notice; its small graph objects are below both thresholds anyway.
void configure_malloc() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);   // glibc's largest dynamic value
  mallopt(M_TRIM_THRESHOLD, 512 << 20);  // above any workload's peak
}

std::string first_line(const char* path, const std::string& prefix = "") {
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    if (line.compare(0, prefix.size(), prefix) == 0) return line.substr(prefix.size());
  }
  return "?";
}

void print_header(const Options& o) {
  emit("# minigrad workloads (bench/README.md); ratio = ours/reference: "
       "GFLOP/s higher is better, times lower is better");
  emit("# cpu:" + first_line("/proc/cpuinfo", "model name\t:") + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) +
       " cpus; load average at start: " + first_line("/proc/loadavg"));
  if (ref_blas::loaded()) {
    const char* env = std::getenv("OPENBLAS_CORETYPE");
    const char* was = std::getenv("MINIGRAD_BENCH_REEXEC");
    emit("# OpenBLAS core type: " + ref_blas::corename() + " (OPENBLAS_CORETYPE=" + (env ? env : "unset") +
         (was ? std::string(", set by re-exec; it was ") + was : std::string(", from the environment")) + ")");
  } else {
    emit("# OpenBLAS: not loaded");
  }
#ifdef MINIGRAD_HAVE_OPENBLAS
  emit("# GEMM reference: OpenBLAS cblas_sgemm, its pool at the figure's thread count");
#else
  emit("# GEMM reference: none (built without OpenBLAS)");
#endif
#ifdef MINIGRAD_HAVE_TORCH
  emit("# model reference: libtorch " + ref_torch::version() +
       "; at threads=N the faster of torch@N (OpenBLAS held at 1) and torch@1");
#else
  emit("# model reference: none (built without libtorch)");
#endif
  emit("# glibc malloc: M_MMAP_THRESHOLD=32 MiB, M_TRIM_THRESHOLD=512 MiB (see configure_malloc)");
  emit("# each figure: warm-up, then the median of " + std::to_string(o.reps) +
       " interleaved rounds (a sample repeats the call for >= " + fmt(o.sample_s * 1e3, 0) + " ms)" +
       (o.quick ? "; QUICK smoke pass: the figures mean nothing" : ""));
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  ensure_openblas_coretype(argv);
  configure_malloc();
  const Options o = parse(argc, argv);
  const auto start = Clock::now();
  print_header(o);
  try {
    for (const std::string& line : ours::machine_lines()) emit(line);
    for (int t : o.threads_for({1, 2})) {
      g_peak[t] = measure_fma_peak(t, o.quick ? 1 : 7, o.quick ? 0.01 : 0.05);
      emit("PEAK threads=" + std::to_string(t) + " gflops=" + fmt(g_peak[t].gflops, 1) +
           " max_gflops=" + fmt(g_peak[t].max_gflops, 1) + " isa=" + g_peak[t].isa);
    }
    if (o.wants("GEMM")) run_gemm(o, "GEMM", gemm_cases());
    if (o.wants("GEMM_ODD")) run_gemm(o, "GEMM_ODD", gemm_odd_cases());
    if (o.wants("OVERHEAD")) run_overhead(o);
    if (o.wants("SELFATT")) run_step_workload(selfatt_workload(), o);
    if (o.wants("SEQ2SEQ")) run_step_workload(seq2seq_workload(), o);
    if (o.wants("TRANSFORMER")) run_step_workload(transformer_workload(), o);
    if (o.wants("GPT")) run_step_workload(gpt_workload(), o);
    if (o.wants("GPT_SAMPLE")) run_gpt_sample(o);
    if (o.wants("LSTM")) run_job_workload("LSTM", o);
    if (o.wants("MHA")) run_job_workload("MHA", o);
    if (o.wants("CONVERGE")) {
      run_converge(selfatt_workload(), o);
      run_converge(seq2seq_workload(), o);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "workloads: %s\n", e.what());
    return 1;
  }
  emit("# done in " + fmt(seconds_since(start), 1) + " s; load average at end: " + first_line("/proc/loadavg"));
  return 0;
}
