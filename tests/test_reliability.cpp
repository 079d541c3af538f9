// Reliability: nothing lost, nothing leaked, nothing overflows, numbers stay finite.
//
//   Checkpoints   a save that fails or is killed halfway leaves the previous
//                 checkpoint complete; a bad file leaves the model bit for bit as it was.
//   Memory        a training step gives back everything it allocated: the live
//                 bytes after every step are the same.
//   Deep graphs   a 100,000-op chain and an LSTM unrolled over 10,000 steps run
//                 backward and are torn down on a small stack.
//   Anomaly mode  names the first op that made a NaN or Inf, forward or backward.
//   Numerics      softmax, log_softmax, cross_entropy and attention stay finite for
//                 logits of ±1e4 and for fully masked rows.
//   Determinism   the same seed gives the same bits with one thread or two.
//
// docs/RELIABILITY.md lists every promise beside the test that proves it.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "examples/common/cli.h"
#include "examples/common/task.h"
#include "examples/self_attention_copy/model.h"
#include "minigrad/autograd/functions.h"
#include "minigrad/nn/attention.h"
#include "minigrad/nn/container.h"
#include "minigrad/nn/layers.h"
#include "minigrad/nn/loss.h"
#include "minigrad/nn/lstm.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/serialization.h"
#include "minigrad/tensor/allocator.h"
#include "minigrad/tensor/safetensors.h"
#include "tests/testing.h"

namespace minigrad {
namespace {

// The examples' loss: logits [B, T, C] and targets [B, T] flattened to [B·T, C] and
// [B·T] (cross_entropy takes the class axis at 1, as PyTorch).
Variable sequence_cross_entropy(const Variable& logits, const Tensor& target) {
  return nn::cross_entropy(logits.reshape({-1, logits.size(-1)}), target.reshape({-1}));
}

namespace fs = std::filesystem;
using testing::throws_with;

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- helpers -------------------------------------------------------------------------------

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/minigrad-reliability-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename().string());
    return out;
  }

 private:
  fs::path path_;
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every parameter's name, dtype, shape and raw bytes: equal snapshots mean equal bits.
using Snapshot = std::vector<std::pair<std::string, std::string>>;
Snapshot snapshot(const nn::Module& m) {
  Snapshot out;
  for (const auto& [name, v] : m.named_parameters()) {
    const Tensor c = v.data().contiguous();
    std::string bytes = std::string(dtype_name(c.dtype())) + c.shape().str() + ":";
    bytes.append(static_cast<const char*>(c.raw_data()),
                 static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
    out.emplace_back(name, std::move(bytes));
  }
  return out;
}

// Sets every parameter to `value` (outside the graph).
void fill_parameters(nn::Module& m, double value) {
  for (auto& [name, v] : m.named_parameters()) {
    Variable p = v;
    p.mutable_data().fill_(value);
  }
}

// Runs f on a thread with a small stack. A recursive walk or teardown of a
// 100,000-node graph needs megabytes of stack (more under ASan); with this much it
// would crash, so passing shows the engine really is iterative.
void run_on_small_stack(const std::function<void()>& f, size_t stack_bytes = size_t{2} << 20) {
  struct Job {
    const std::function<void()>* f;
    std::string error;
  } job{&f, ""};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes);
  pthread_t thread;
  const int rc = pthread_create(
      &thread, &attr,
      [](void* arg) -> void* {
        auto* j = static_cast<Job*>(arg);
        try {
          (*j->f)();
        } catch (const std::exception& e) {
          j->error = e.what();
        }
        return nullptr;
      },
      &job);
  pthread_attr_destroy(&attr);
  ASSERT_EQ(rc, 0);
  pthread_join(thread, nullptr);
  EXPECT_EQ(job.error, "");
}

// A model with several kinds of parameters, for the checkpoint tests.
struct Net : nn::Module {
  explicit Net(int64_t hidden = 3, DType dtype = DType::Float32) {
    Generator gen(5);
    embed = register_module(
        "embed", std::make_shared<nn::Embedding>(nn::EmbeddingOptions(5, 4).dtype(dtype), gen));
    lstm = register_module(
        "lstm", std::make_shared<nn::LSTM>(nn::LSTMOptions(4, hidden).dtype(dtype), gen));
    head = register_module(
        "head", std::make_shared<nn::Linear>(nn::LinearOptions(hidden, 5).dtype(dtype), gen));
  }
  std::string type_name() const override { return "Net"; }
  Variable logits(const Tensor& ids) {  // ids [T, B]
    return head->forward((*lstm)(embed->forward(ids)).output);
  }
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::Linear> head;
};

// ---- checkpoints: a failed or interrupted save loses nothing ------------------------------------

TEST(CheckpointFaults, SaveIntoAMissingFolderFailsAndWritesNothing) {
  const ScratchDir dir;
  Net net;
  const std::string path = dir / "missing/sub/model.safetensors";
  EXPECT_TRUE(
      throws_with<std::runtime_error>([&] { nn::save(net, path); }, {path, "No such file"}));
  EXPECT_TRUE(dir.files().empty());
}

// A save whose write() fails halfway (the file-size limit, EFBIG): the error is
// reported, the partial temporary file removed, and the old checkpoint intact.
TEST(CheckpointFaults, AWriteThatFailsHalfwayLeavesThePreviousCheckpoint) {
  const ScratchDir dir;
  const std::string path = dir / "model.safetensors";
  Net old_net;
  nn::save(old_net, path);
  const Snapshot saved = snapshot(old_net);
  const auto size = static_cast<rlim_t>(fs::file_size(path));

  Net new_net;
  fill_parameters(new_net, 7.0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child: a file may grow to half a checkpoint, then write() fails.
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{size / 2, size / 2};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int code = 1;  // 1: nothing thrown
    try {
      nn::save(new_net, path);
    } catch (const std::runtime_error& e) {
      code = std::strstr(e.what(), "File too large") ? 0 : 2;  // 0: the expected failure
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the save did not fail, 2: wrong message, 3: wrong type";

  EXPECT_EQ(dir.files(), std::vector<std::string>{"model.safetensors"});  // no temporary left
  Net loaded(3);
  fill_parameters(loaded, -1.0);
  nn::load(loaded, path);
  EXPECT_EQ(snapshot(loaded), saved);
}

// A process killed (SIGKILL) in the middle of saving: whenever it dies, the
// checkpoint on disk is one complete version, never a mix or a torn file.
TEST(CheckpointFaults, KilledInTheMiddleOfSavingLeavesACompleteCheckpoint) {
  const ScratchDir dir;
  const std::string path = dir / "big.safetensors";
  // ~4 MB of parameters, so that writing and fsyncing take a while.
  Generator gen(1);
  nn::Sequential model{std::make_shared<nn::Linear>(nn::LinearOptions(512, 512), gen),
                       std::make_shared<nn::Linear>(nn::LinearOptions(512, 512), gen),
                       std::make_shared<nn::Linear>(nn::LinearOptions(512, 512), gen),
                       std::make_shared<nn::Linear>(nn::LinearOptions(512, 512), gen)};
  fill_parameters(model, 0.0);
  nn::save(model, path);

  // Three rounds at least, and more (up to ten) until one kill has landed mid-write.
  int killed_mid_write = 0;
  for (int round = 0; round < 10 && (round < 3 || killed_mid_write == 0); ++round) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Save version 1, 2, 3, ... forever: every parameter holds the version number.
      for (int version = 1;; ++version) {
        fill_parameters(model, version);
        try {
          nn::save(model, path);
        } catch (...) {
          ::_exit(9);
        }
      }
    }
    // Kill it as soon as its temporary file exists: in the middle of a write.
    const std::string tmp = path + ".tmp." + std::to_string(child);
    for (int wait = 0; wait < 300000 && !fs::exists(tmp); ++wait) ::usleep(100);
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status))
        << "the saving child stopped on its own (status " << status << ")";
    if (fs::exists(tmp)) {
      ++killed_mid_write;  // it died before its rename: the torn file is the temporary one
      fs::remove(tmp);
    }
    // The checkpoint loads, and it is one whole version: all parameters hold the same number.
    nn::Sequential loaded{
        std::make_shared<nn::Linear>(512, 512), std::make_shared<nn::Linear>(512, 512),
        std::make_shared<nn::Linear>(512, 512), std::make_shared<nn::Linear>(512, 512)};
    ASSERT_NO_THROW(nn::load(loaded, path)) << "round " << round;
    const double version = loaded.parameters()[0].data().at({0, 0});
    for (const Variable& p : loaded.parameters()) {
      const std::vector<float> v = p.data().to_vector<float>();
      ASSERT_TRUE(std::all_of(v.begin(), v.end(), [&](float x) { return x == version; }))
          << "round " << round << ": a checkpoint mixing versions";
    }
  }
  EXPECT_GE(killed_mid_write, 1) << "no kill landed while a temporary file was being written";
}

// A child forked after an OpenMP region has run (its parent's thread team does not
// exist in it) still runs ops large enough to split across threads, on one thread,
// instead of waiting forever for the team.
TEST(Fork, AChildForkedAfterAParallelRegionRunsParallelOpsToTheEnd) {
  const examples::ScopedThreads two(2);
  Tensor x = Tensor::full({1 << 20}, 1.0);
  x.add_(x.clone());  // 2^20 elements: a parallel region in the parent
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Tensor y = Tensor::full({1 << 20}, 2.0);
    y.add_(x);
    ::_exit(y.to_vector<float>()[12345] == 4.0f ? 0 : 1);
  }
  int status = 0;
  pid_t done = 0;
  for (int wait = 0; wait < 600 && done == 0; ++wait) {  // up to 60 s
    done = ::waitpid(child, &status, WNOHANG);
    if (done == 0) ::usleep(100000);
  }
  if (done == 0) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    FAIL() << "the forked child did not finish its parallel op within 60 s";
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child computed a wrong sum";
}

// Loading a bad file throws std::runtime_error and leaves the model bit for bit as it was.
TEST(CheckpointFaults, LoadingABadFileLeavesTheModelBitForBitUnchanged) {
  const ScratchDir dir;
  const std::string good_path = dir / "good.safetensors";
  Net donor;
  fill_parameters(donor, 0.5);
  nn::save(donor, good_path);
  const std::string good = testing::read_file(good_path);
  uint64_t header_len = 0;
  for (int k = 7; k >= 0; --k)
    header_len = (header_len << 8) | static_cast<unsigned char>(good[static_cast<size_t>(k)]);

  // Variants of the good file, each wrong in one way.
  std::vector<std::pair<std::string, std::string>> bad;  // (what, bytes)
  for (size_t n : {size_t{0}, size_t{7}, size_t{8}, size_t{20}, static_cast<size_t>(8 + header_len),
                   good.size() / 2, good.size() - 1}) {
    bad.emplace_back("truncated to " + std::to_string(n) + " bytes", good.substr(0, n));
  }
  bad.emplace_back("one byte too many", good + '\0');
  auto patched = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  bad.emplace_back("unknown dtype", patched("\"F32\"", "\"F33\""));
  bad.emplace_back("unsupported dtype", patched("\"F32\"", "\"F16\""));
  {
    std::string s = good;
    s[8] = '[';
    bad.emplace_back("not an object", s);
  }
  bad.emplace_back("key misspelt", patched("\"shape\"", "\"shap\" "));
  bad.emplace_back("bad escape", patched("\"format\"", "\"form\\q\""));
  {
    std::string s = good;
    s[0] = static_cast<char>(s[0] + 1);  // header length one too long
    bad.emplace_back("header length off by one", s);
    s = good;
    s[6] = 1;  // header length 2^48
    bad.emplace_back("header length huge", s);
    s = good;
    s[9] = '\x01';  // a control character inside the JSON
    bad.emplace_back("control character", s);
  }
  // Well-formed files that do not fit the model.
  auto file_of = [](const std::map<std::string, Tensor>& state) {
    std::vector<std::pair<std::string, Tensor>> v(state.begin(), state.end());
    return serialize_safetensors(v);
  };
  const std::map<std::string, Tensor> state = donor.state_dict();
  {
    std::map<std::string, Tensor> s = state;
    s["embedd.weight"] = s["embed.weight"];
    s.erase("embed.weight");
    bad.emplace_back("a tensor renamed", file_of(s));
    s = state;
    s.erase("head.bias");
    bad.emplace_back("a tensor missing", file_of(s));
    s = state;
    s["head.extra"] = Tensor::zeros({2});
    bad.emplace_back("an extra tensor", file_of(s));
    s = state;
    s["lstm.weight_ih_l0"] = Tensor::zeros({12, 5});  // the wrong shape, sorted in the middle
    bad.emplace_back("a wrong shape", file_of(s));
    s = state;
    s.rbegin()->second = Tensor::zeros({1});  // only the last tensor (by name) is wrong
    bad.emplace_back("only the last tensor wrong", file_of(s));
    s = state;
    for (auto& [name, t] : s) t = t.to(DType::Float64);
    bad.emplace_back("float64 instead of float32", file_of(s));
  }
  Net bigger(4);
  bad.emplace_back("a model with another hidden size", [&] {
    nn::save(bigger, dir / "bigger.safetensors");
    return testing::read_file(dir / "bigger.safetensors");
  }());

  Net net;  // its own initial weights, different from the donor's
  const Snapshot before = snapshot(net);
  ASSERT_NE(before, snapshot(donor));
  const Tensor ids = testing::i64({0, 1, 2, 3, 4, 0}, {3, 2});
  const std::vector<float> out_before = net.logits(ids).data().to_vector<float>();
  for (const auto& [what, bytes] : bad) {
    const std::string path = dir / "bad.safetensors";
    write_bytes(path, bytes);
    EXPECT_TRUE(throws_with<std::runtime_error>([&] { nn::load(net, path); }, {path})) << what;
    EXPECT_EQ(snapshot(net), before) << "the model changed loading a file with " << what;
  }
  for (const std::string& path : {dir / "no-such-file.safetensors", dir / ""}) {
    EXPECT_TRUE(throws_with<std::runtime_error>([&] { nn::load(net, path); }, {})) << path;
    EXPECT_EQ(snapshot(net), before);
  }
  // The same through load_state_dict: a wrong last entry changes nothing.
  std::map<std::string, Tensor> almost = state;
  almost.rbegin()->second = Tensor::zeros({7});
  EXPECT_THROW(net.load_state_dict(almost), std::invalid_argument);
  EXPECT_EQ(snapshot(net), before);
  EXPECT_EQ(net.logits(ids).data().to_vector<float>(), out_before);

  // And the comparison can see a change: the good file does load.
  nn::load(net, good_path);
  EXPECT_EQ(snapshot(net), snapshot(donor));
}

// ---- memory: graphs are freed after backward ----------------------------------------------------

struct MemoryLevel {
  size_t bytes, buffers;
  bool operator==(const MemoryLevel& o) const { return bytes == o.bytes && buffers == o.buffers; }
};
MemoryLevel live() {
  const AllocatorStats s = allocator_stats();
  return {s.live_bytes, s.live_buffers};
}
std::ostream& operator<<(std::ostream& os, const MemoryLevel& m) {
  return os << m.bytes << " bytes in " << m.buffers << " buffers";
}

// Trains the self-attention model of examples/self_attention_copy (small) and
// checks after every step that exactly the memory of the step before is live:
// the graph, the activations and every temporary were given back.
void train_self_attention_checking_memory(int64_t steps) {
  using namespace examples;
  const examples::ScopedThreads one(1);
  const SequenceTask task(Task::Reverse, 8, 16, 16);
  Generator init(3), data(4);
  SelfAttentionModel model({16, 8, 32, true}, init);
  nn::Adam opt(model.parameters(), nn::AdamOptions(3e-3));
  auto step = [&] {
    const Batch batch = task.sample(8, data);
    const Variable logits = model.forward_tokens(batch.source).logits;
    const Variable loss = sequence_cross_entropy(logits, batch.target);
    opt.zero_grad();
    loss.backward();
    opt.step();
    return loss.item();
  };
  step();  // the first step allocates what stays: gradients and Adam's moments
  const MemoryLevel level = live();
  double first = 0, last = 0;
  for (int64_t i = 0; i < steps; ++i) {
    last = step();
    if (i == 0) first = last;
    const MemoryLevel now = live();
    if (!(now == level)) {
      ADD_FAILURE() << "after step " << i + 2 << " " << now << " are live, after step 1 " << level;
      return;
    }
  }
  EXPECT_LT(last, first);  // it trained
}

TEST(MemoryPerStep, SelfAttentionTrainingReturnsToTheSameLiveBytesAfterEveryStep) {
  train_self_attention_checking_memory(300);
}

// The same over 5,000 steps: set MINIGRAD_LONG_TESTS=1 to run it (3-5 s, with or
// without the sanitizers, on an idle machine).
TEST(MemoryPerStep, FiveThousandSteps) {
  const char* env = std::getenv("MINIGRAD_LONG_TESTS");
  if (!env || std::string(env) != "1")
    GTEST_SKIP() << "set MINIGRAD_LONG_TESTS=1 to run 5,000 steps";
  train_self_attention_checking_memory(5000);
}

TEST(MemoryPerStep, LstmTrainingReturnsToTheSameLiveBytesAfterEveryStep) {
  const examples::ScopedThreads one(1);
  Net net;
  nn::SGD opt(net.parameters(), nn::SGDOptions(0.1).momentum(0.9));
  Generator gen(8);
  auto step = [&] {
    const Tensor ids = randint(0, 5, {6, 4}, gen);
    const Variable loss = sequence_cross_entropy(net.logits(ids), randint(0, 5, {6, 4}, gen));
    opt.zero_grad();
    loss.backward();
    opt.step();
  };
  step();
  const MemoryLevel level = live();
  for (int i = 0; i < 100; ++i) {
    step();
    ASSERT_EQ(live(), level) << "after step " << i + 2;
  }
}

TEST(MemoryPerStep, GraphsWithoutBackwardWithRetainedGraphsOrFailedForwardsAreFreed) {
  Net net;
  const Tensor ids = testing::i64({0, 1, 2, 3, 4, 0}, {3, 2});
  const MemoryLevel level = live();
  {  // a forward pass nobody differentiates
    const Variable l =
        sequence_cross_entropy(net.logits(ids), testing::i64({0, 1, 2, 3, 4, 0}, {3, 2}));
    EXPECT_GT(live().bytes, level.bytes);
  }
  EXPECT_EQ(live(), level);
  {  // backward twice through a retained graph
    const Variable l =
        sequence_cross_entropy(net.logits(ids), testing::i64({0, 1, 2, 3, 4, 0}, {3, 2}));
    l.backward(/*retain_graph=*/true);
    l.backward();
    net.zero_grad();
  }
  EXPECT_EQ(live(), level);
  {  // a forward that throws halfway (a target out of range) leaks nothing
    EXPECT_THROW(sequence_cross_entropy(net.logits(ids), testing::i64({0, 1, 2, 3, 4, 9}, {3, 2})),
                 std::out_of_range);
  }
  EXPECT_EQ(live(), level);
  {  // retain_grad on an interior value, then everything goes out of scope
    Variable h = net.embed->forward(ids);
    h.retain_grad();
    sum(h).backward();
    EXPECT_TRUE(h.has_grad());
    net.zero_grad();
  }
  EXPECT_EQ(live(), level);
}

// ---- deep graphs: iterative backward and teardown -----------------------------------------------

TEST(DeepGraphs, AHundredThousandOpChainRunsBackwardAndIsDestroyed) {
  const MemoryLevel level = live();
  run_on_small_stack([] {
    const Variable x = Variable(Tensor::full({1}, 1.0, DType::Float64)).requires_grad_();
    Variable y = x;
    for (int i = 0; i < 50000; ++i) y = (y * 1.00001) + 0.0;  // 100,000 ops
    sum(y).backward();
    // dy/dx = 1.00001^50000 = e^(50000·ln 1.00001)
    EXPECT_NEAR(x.grad().item(), std::exp(50000 * std::log1p(1e-5)), 1e-9);
  });
  EXPECT_EQ(live(), level);
}

TEST(DeepGraphs, AHundredThousandOpChainIsDestroyedWithoutBackward) {
  const MemoryLevel level = live();
  run_on_small_stack([] {
    const Variable x = Variable(Tensor::full({2}, 0.5)).requires_grad_();
    Variable y = x;
    for (int i = 0; i < 100000; ++i) y = tanh(y);
    EXPECT_STREQ(y.op_name(), "tanh");
  });  // y's 100,000 unreleased nodes are torn down here
  EXPECT_EQ(live(), level);
}

// y = y · y: every node has two edges to the one before it. Teardown must see that
// the second edge is the last owner, or each destructor calls the next.
TEST(DeepGraphs, AChainOfOpsThatUseOneInputTwiceIsDestroyedWithoutBackward) {
  const MemoryLevel level = live();
  run_on_small_stack([] {
    const Variable x = Variable(Tensor::full({2}, 0.5)).requires_grad_();
    Variable y = x;
    for (int i = 0; i < 100000; ++i) y = y * y;
    EXPECT_STREQ(y.op_name(), "mul");
  });
  EXPECT_EQ(live(), level);
}

// The fused cell (what LSTMCell runs) over 10,000 steps; the composed reference,
// five times the nodes per step, over 2,000 (still far deeper than a small stack
// could recurse).
TEST(DeepGraphs, AnLstmCellUnrolledOverTenThousandStepsRunsBackward) {
  const MemoryLevel level = live();
  for (const bool fused : {true, false}) {
    run_on_small_stack([fused] {
      const int steps = fused ? 10000 : 2000;
      Generator gen(2);
      nn::LSTMCell cell(nn::LSTMCellOptions(2, 2), gen);
      cell.fused = fused;
      const Variable x(randn({1, 2}, 0, 1, DType::Float32, gen));
      nn::LSTMState s;
      for (int t = 0; t < steps; ++t) s = cell(x, s);
      sum(s.h).backward();
      for (const Variable& p : cell.parameters()) {
        ASSERT_TRUE(p.has_grad());
        EXPECT_TRUE(all_finite(p.grad()));
      }
    });
  }
  EXPECT_EQ(live(), level);
}

TEST(DeepGraphs, AnLstmOverTenThousandStepsRunsBackward) {
  run_on_small_stack([] {
    Generator gen(4);
    nn::LSTM lstm(nn::LSTMOptions(2, 2), gen);
    const Variable x = Variable(randn({10000, 1, 2}, 0, 1, DType::Float32, gen)).requires_grad_();
    const auto [out, state] = lstm(x);
    sum(out).backward();
    EXPECT_TRUE(all_finite(x.grad()));
    EXPECT_EQ(x.grad().shape(), Shape({10000, 1, 2}));
  });
}

// ---- anomaly mode -------------------------------------------------------------------------------

TEST(AnomalyMode, CatchesLogOfZeroAndNamesTheOp) {
  const Variable x = Variable(testing::f32({1, 0}, {2})).requires_grad_();
  EXPECT_FALSE(all_finite(log(x).data()));  // off: -inf flows on silently
  const AnomalyModeGuard on;
  EXPECT_TRUE(
      throws_with<std::runtime_error>([&] { log(x); }, {"anomaly", "'log'", "forward", "[2]"}));
}

TEST(AnomalyMode, CatchesDivisionByZeroAndNamesTheOp) {
  const Variable a = Variable(testing::f32({1, 2}, {2})).requires_grad_();
  const Variable b = Variable(testing::f32({1, 0}, {2})).requires_grad_();
  const AnomalyModeGuard on;
  EXPECT_TRUE(throws_with<std::runtime_error>([&] { div(a, b); }, {"anomaly", "'div'"}));
  EXPECT_TRUE(throws_with<std::runtime_error>([&] { a / 0.0; }, {"anomaly", "'div'"}));
  EXPECT_TRUE(throws_with<std::runtime_error>([&] { 1.0 / b; }, {"anomaly", "'rdiv'"}));
}

TEST(AnomalyMode, NamesTheFirstOpNotALaterOne) {
  const Variable x = Variable(testing::f64({-1, 4}, {2})).requires_grad_();
  const AnomalyModeGuard on;
  // log(-1) is NaN; exp and sum would carry it on, but the error names log.
  EXPECT_TRUE(throws_with<std::runtime_error>([&] { sum(exp(log(x) * 2.0)); }, {"'log'"}));
}

TEST(AnomalyMode, CatchesAnInfiniteGradientInBackwardAndNamesTheOp) {
  const Variable x = Variable(testing::f64({0, 4}, {2})).requires_grad_();
  const AnomalyModeGuard on;
  const Variable y = sum(sqrt(x));  // sqrt(0) = 0 is fine; its slope 1/(2·0) is not
  EXPECT_TRUE(throws_with<std::runtime_error>([&] { y.backward(); },
                                              {"anomaly", "backward of 'sqrt'", "input 0"}));
}

TEST(AnomalyMode, TheGuardRestoresTheMode) {
  EXPECT_FALSE(anomaly_enabled());
  {
    const AnomalyModeGuard on;
    EXPECT_TRUE(anomaly_enabled());
  }
  EXPECT_FALSE(anomaly_enabled());
}

// ---- numerics: huge logits and fully masked rows ------------------------------------------------

// Random weights for the backward passes, so that no gradient is trivially zero.
Tensor weights_like(const Shape& s, DType dt, uint64_t seed) {
  return testing::uniform(s, seed, -1, 1, dt);
}

TEST(Numerics, SoftmaxLogSoftmaxAndCrossEntropyOfLogitsOfPlusMinus1e4) {
  for (const DType dt : {DType::Float32, DType::Float64}) {
    SCOPED_TRACE(dtype_name(dt));
    const Tensor logits = Tensor::from_list(
        {1e4, -1e4, 0, -1e4, -1e4, -1e4, 1e4, 1e4, 1e4, 1e4, 1e4 - 1, -1e4}, {4, 3}, dt);
    const Variable x = Variable(logits).requires_grad_();
    const Variable p = softmax(x, 1);
    EXPECT_TRUE(all_finite(p.data()));
    EXPECT_TRUE(allclose(p.data(),
                         Tensor::from_list({1, 0, 0, 1. / 3, 1. / 3, 1. / 3, 1. / 3, 1. / 3, 1. / 3,
                                            1 / (1 + std::exp(-1.0)), 1 / (1 + std::exp(1.0)), 0},
                                           {4, 3}, dt),
                         1e-6, 1e-7));
    sum(p * Variable(weights_like({4, 3}, dt, 1))).backward();
    EXPECT_TRUE(all_finite(x.grad()));

    const Variable x2 = Variable(logits).requires_grad_();
    const Variable lp = log_softmax(x2, 1);
    EXPECT_TRUE(all_finite(lp.data()));
    EXPECT_NEAR(lp.data().at({0, 1}), -2e4,
                1e-3);  // exact: x - max - log Σ = -2e4 - log(1 + e^-1e4 + e^-2e4)
    sum(lp * Variable(weights_like({4, 3}, dt, 2))).backward();
    EXPECT_TRUE(all_finite(x2.grad()));

    for (const nn::Reduction r : {nn::kMean, nn::kSum, nn::kNone}) {
      const Variable x3 = Variable(logits).requires_grad_();
      const Variable loss = nn::cross_entropy(x3, testing::i64({1, 0, 2, 1}, {4}),
                                              nn::CrossEntropyOptions().reduction(r));
      EXPECT_TRUE(all_finite(loss.data()));
      sum(loss).backward();
      EXPECT_TRUE(all_finite(x3.grad()));
    }
    const Variable x4 = Variable(logits).requires_grad_();
    // row 0 with target 1: -log softmax = 2e4 (to float precision)
    EXPECT_NEAR(nn::cross_entropy(x4, testing::i64({1, 0, 2, 1}, {4}),
                                  nn::CrossEntropyOptions().reduction(nn::kNone))
                    .data()
                    .at({0}),
                2e4, 1e-2);
  }
}

TEST(Numerics, FullyMaskedRowsStayFiniteForwardAndBackward) {
  for (const DType dt : {DType::Float32, DType::Float64}) {
    SCOPED_TRACE(dtype_name(dt));
    // row 0 fully masked (-inf everywhere), row 1 partly, row 2 not at all
    const Tensor logits =
        Tensor::from_list({-kInf, -kInf, -kInf, 2, -kInf, 1e4, 0.5, -1, 3}, {3, 3}, dt);
    const Variable x = Variable(logits).requires_grad_();
    const Variable p = softmax(x, 1);
    EXPECT_TRUE(all_finite(p.data()));
    EXPECT_EQ(p.data().select(0, 0).to_vector<double>(),
              std::vector<double>(3, 0.0));  // attends to nothing
    sum(p * Variable(weights_like({3, 3}, dt, 3))).backward();
    EXPECT_TRUE(all_finite(x.grad()));
    EXPECT_EQ(x.grad().select(0, 0).to_vector<double>(), std::vector<double>(3, 0.0));

    const Variable x2 = Variable(logits).requires_grad_();
    const Variable lp = log_softmax(x2, 1);
    // log 0 = -inf is the documented answer for a fully masked row; the others are finite where
    // unmasked
    EXPECT_EQ(lp.data().at({0, 0}), -kInf);
    EXPECT_TRUE(std::isfinite(lp.data().at({1, 0})) && std::isfinite(lp.data().at({2, 2})));
    sum(masked_fill(lp, eq(logits, Tensor::scalar(-kInf, dt)), 0.0)).backward();  // (a finite loss)
    EXPECT_TRUE(all_finite(x2.grad()));

    // cross_entropy: the fully masked row is ignored, the partly masked one has its target unmasked
    const Variable x3 = Variable(logits).requires_grad_();
    const Variable loss = nn::cross_entropy(x3, testing::i64({-100, 0, 2}, {3}));
    EXPECT_TRUE(all_finite(loss.data()));
    loss.backward();
    EXPECT_TRUE(all_finite(x3.grad()));
    EXPECT_EQ(x3.grad().select(0, 0).to_vector<double>(), std::vector<double>(3, 0.0));
  }
}

TEST(Numerics, AttentionWithFullyMaskedQueriesAndHugeScoresStaysFinite) {
  Generator gen(6);
  for (const bool fused : {true, false}) {
    SCOPED_TRACE(fused ? "fused" : "composed");
    // q and k of size 100: scores of order 1e4 before scaling
    const Variable q = Variable(randn({2, 4, 8}, 0, 100, DType::Float32, gen)).requires_grad_();
    const Variable k = Variable(randn({2, 5, 8}, 0, 100, DType::Float32, gen)).requires_grad_();
    const Variable v = Variable(randn({2, 5, 3}, 0, 1, DType::Float32, gen)).requires_grad_();
    Tensor mask = Tensor::zeros({2, 4, 5}, DType::Bool);
    mask.select(0, 0).select(0, 1).fill_(1);     // batch 0, query 1 sees no key
    mask.select(0, 1).narrow(0, 2, 2).fill_(1);  // batch 1, queries 2 and 3 see no key
    const nn::AttentionOutput out = fused
                                        ? nn::scaled_dot_product_attention(q, k, v, mask)
                                        : nn::scaled_dot_product_attention_composed(q, k, v, mask);
    EXPECT_TRUE(all_finite(out.context.data()));
    EXPECT_TRUE(all_finite(out.weights.data()));
    EXPECT_EQ(out.context.data().select(0, 0).select(0, 1).to_vector<double>(),
              std::vector<double>(3, 0.0));
    sum(out.context * Variable(weights_like({2, 4, 3}, DType::Float32, 7))).backward();
    for (const Variable* g : {&q, &k, &v}) EXPECT_TRUE(all_finite(g->grad()));
  }
  // MultiheadAttention: one sequence whose every key is padding
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(8, 2).batch_first(true), gen);
  const Variable x = Variable(randn({2, 3, 8}, 0, 1e2, DType::Float32, gen)).requires_grad_();
  const Tensor padding = nn::padding_mask({3, 0}, 3);
  const nn::MultiheadOutput out =
      mha(x, x, x,
          nn::MultiheadAttentionForwardOptions().key_padding_mask(padding).attn_mask(
              nn::causal_mask(3)));
  EXPECT_TRUE(all_finite(out.output.data()));
  sum(out.output).backward();
  EXPECT_TRUE(all_finite(x.grad()));
  for (const Variable& p : mha.parameters()) EXPECT_TRUE(all_finite(p.grad()));
}

// ---- determinism --------------------------------------------------------------------------------

struct TrainingRun {
  std::vector<float> losses;
  Snapshot weights;
};

// 10 steps of the self-attention model, big enough (batch 128, T 32, d 128) that
// both kinds of parallel matmul run: the projections ([4096,128]·[128,128], 2^26
// multiply-adds) split C across threads, and the batched scores Q·Kᵀ (128 products
// of 32·128·32, 2^24 in all, above the 2^21 threshold) run their products in parallel.
TrainingRun train_self_attention(int threads) {
  using namespace examples;
  const ScopedThreads scoped(threads);
  const SequenceTask task(Task::Reverse, 32, 16, 16);
  Generator init(11), data(12);
  SelfAttentionModel model({16, 32, 128, true}, init);
  nn::Adam opt(model.parameters(), nn::AdamOptions(3e-3));
  TrainingRun run;
  for (int step = 0; step < 10; ++step) {
    const Batch batch = task.sample(128, data);
    const Variable loss =
        sequence_cross_entropy(model.forward_tokens(batch.source).logits, batch.target);
    opt.zero_grad();
    loss.backward();
    opt.step();
    run.losses.push_back(static_cast<float>(loss.item()));
  }
  run.weights = snapshot(model);
  return run;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Determinism, SelfAttentionTrainingIsBitwiseIdenticalWithOneOrTwoThreads) {
  const TrainingRun one = train_self_attention(1);
  const TrainingRun two = train_self_attention(2);
  const TrainingRun again = train_self_attention(2);
  EXPECT_TRUE(same_bits(one.losses, two.losses));
  EXPECT_TRUE(one.weights == two.weights);
  EXPECT_TRUE(same_bits(two.losses, again.losses));
  EXPECT_TRUE(two.weights == again.weights);
  EXPECT_LT(one.losses.back(), one.losses.front());
}

}  // namespace
}  // namespace minigrad
