// The copy and reverse tasks: the model reads T random tokens and must write
// them back, in the same order (copy) or backwards (reverse):
//
//   source   3 14  7  7  0  9        copy    target_i = x_i
//   copy     3 14  7  7  0  9        reverse target_i = x_{T-1-i}
//   reverse  9  0  7  7 14  3
//
// Tokens are 0..vocab-1 (vocab 16). To get output i right the model has to find
// one particular input position, which is exactly what attention is for.
//
// The held-out set is 1,000 sequences drawn once from a fixed seed of its own;
// training batches never contain a held-out sequence, so held-out accuracy
// measures what the model learned, not what it memorised.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>

#include "minigrad/tensor/random.h"
#include "minigrad/tensor/tensor.h"

namespace minigrad::examples {

enum class Task { Copy, Reverse };

const char* task_name(Task task);  // "copy", "reverse"
// Throws std::invalid_argument for any other word.
Task task_from_name(const std::string& name);

struct Batch {
  Tensor source;  // int64 [B, T]
  Tensor target;  // int64 [B, T]
};

class SequenceTask {
 public:
  static constexpr int64_t kDefaultVocab = 16;
  static constexpr int64_t kHeldOutSize = 1000;
  static constexpr uint64_t kHeldOutSeed = 987654321;

  SequenceTask(Task task, int64_t length, int64_t vocab = kDefaultVocab,
               int64_t heldout_size = kHeldOutSize, uint64_t heldout_seed = kHeldOutSeed);

  // B fresh sequences from `gen`, none of them in the held-out set.
  Batch sample(int64_t batch_size, Generator& gen) const;
  // The task's answer for a source [B, T].
  Tensor target_for(const Tensor& source) const;
  const Batch& heldout() const { return heldout_; }

  Task task() const { return task_; }
  int64_t length() const { return length_; }
  int64_t vocab() const { return vocab_; }

 private:
  std::string key(const int64_t* tokens) const;

  Task task_;
  int64_t length_, vocab_;
  Batch heldout_;
  std::unordered_set<std::string> heldout_keys_;
};

// Token accuracy: the fraction of positions predicted right. Sequence accuracy:
// the fraction of sequences with every position right.
struct Accuracy {
  double token = 0.0;
  double sequence = 0.0;
};
// predicted, target: int64 [N, T].
Accuracy accuracy(const Tensor& predicted, const Tensor& target);

}  // namespace minigrad::examples
