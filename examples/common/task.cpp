#include "examples/common/task.h"

#include <stdexcept>
#include <utility>

#include "examples/common/named_kinds.h"

namespace minigrad::examples {

namespace {
constexpr std::pair<Task, const char*> kTaskNames[] = {{Task::Copy, "copy"},
                                                       {Task::Reverse, "reverse"}};
}  // namespace

const char* task_name(Task task) { return name_of(kTaskNames, task); }

Task task_from_name(const std::string& name) { return kind_named(kTaskNames, name, "task"); }

SequenceTask::SequenceTask(Task task, int64_t length, int64_t vocab, int64_t heldout_size,
                           uint64_t heldout_seed)
    : task_(task), length_(length), vocab_(vocab) {
  if (length <= 0 || vocab <= 1 || heldout_size < 0) {
    throw std::invalid_argument("SequenceTask: length " + std::to_string(length) + ", vocab " +
                                std::to_string(vocab) + ", held-out size " +
                                std::to_string(heldout_size) +
                                ": need length > 0, vocab > 1, held-out size >= 0");
  }
  Generator gen(heldout_seed);
  Tensor source = randint(0, vocab_, {heldout_size, length_}, gen);
  const int64_t* p = source.data<int64_t>();
  for (int64_t n = 0; n < heldout_size; ++n) heldout_keys_.insert(key(p + n * length_));
  // sample() redraws held-out sequences; it needs plenty of others to draw.
  double possible = 1.0;  // vocab^T
  for (int64_t t = 0; t < length_ && possible < 1e12; ++t) possible *= static_cast<double>(vocab_);
  if (static_cast<double>(heldout_keys_.size()) > possible / 2) {
    throw std::invalid_argument("SequenceTask: " + std::to_string(heldout_keys_.size()) +
                                " held-out sequences are more than half of all " +
                                std::to_string(static_cast<int64_t>(possible)) +
                                " sequences of length " + std::to_string(length_) +
                                ": too few left to train on");
  }
  heldout_ = {source, target_for(source)};
}

// The sequence's bytes, as a hashable string.
std::string SequenceTask::key(const int64_t* tokens) const {
  return std::string(reinterpret_cast<const char*>(tokens),
                     static_cast<size_t>(length_) * sizeof(int64_t));
}

Batch SequenceTask::sample(int64_t batch_size, Generator& gen) const {
  Tensor source = Tensor::empty({batch_size, length_}, DType::Int64);
  int64_t* p = source.data<int64_t>();
  for (int64_t n = 0; n < batch_size; ++n) {
    int64_t* row = p + n * length_;
    do {  // redraw the (rare) sequence that is in the held-out set
      for (int64_t t = 0; t < length_; ++t) row[t] = gen.randint(0, vocab_);
    } while (heldout_keys_.count(key(row)) != 0);
  }
  return {source, target_for(source)};
}

Tensor SequenceTask::target_for(const Tensor& source) const {
  if (source.dim() != 2 || source.size(1) != length_ || source.dtype() != DType::Int64) {
    throw std::invalid_argument("SequenceTask: source " + source.shape().str() + " " +
                                dtype_name(source.dtype()) + ", expected int64 [B, " +
                                std::to_string(length_) + "]");
  }
  const Tensor src = source.contiguous();
  Tensor target = Tensor::empty(src.shape(), DType::Int64);
  const int64_t* x = src.data<int64_t>();
  int64_t* y = target.data<int64_t>();
  const int64_t T = length_;
  for (int64_t b = 0; b < src.size(0); ++b) {
    for (int64_t i = 0; i < T; ++i) {
      y[b * T + i] = task_ == Task::Copy ? x[b * T + i]             // target_i = x_i
                                         : x[b * T + (T - 1 - i)];  // target_i = x_{T-1-i}
    }
  }
  return target;
}

Accuracy accuracy(const Tensor& predicted, const Tensor& target) {
  if (predicted.shape() != target.shape() || predicted.dim() != 2 ||
      predicted.dtype() != DType::Int64 || target.dtype() != DType::Int64) {
    throw std::invalid_argument("accuracy: predicted " + predicted.shape().str() + " and target " +
                                target.shape().str() + ": expected two int64 [N, T] of one shape");
  }
  const int64_t n = predicted.size(0), steps = predicted.size(1);
  if (n == 0 || steps == 0) return {};
  const Tensor p = predicted.contiguous(), t = target.contiguous();
  const int64_t* pp = p.data<int64_t>();
  const int64_t* tp = t.data<int64_t>();
  int64_t right_tokens = 0, right_sequences = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t right_here = 0;
    for (int64_t j = 0; j < steps; ++j) right_here += pp[i * steps + j] == tp[i * steps + j];
    right_tokens += right_here;
    right_sequences += right_here == steps;
  }
  return {static_cast<double>(right_tokens) / static_cast<double>(n * steps),
          static_cast<double>(right_sequences) / static_cast<double>(n)};
}

}  // namespace minigrad::examples
