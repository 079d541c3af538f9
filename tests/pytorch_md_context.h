// What the rows of docs/PYTORCH.md may use without declaring it (tests/doc_snippets.cpp
// turns each row into a test that starts with MINIGRAD_PYTORCH_MD_CONTEXT). Rows must
// not declare these names again.
//
//   x       Variable [2, 3, 4], float32, requires grad
//   a, b    Variable [2, 3] and [3, 4], requires grad
//   q, k, v Variable [2, 5, 8]: batch 2, 5 steps, width 8 (batch first)
//   seq     Variable [5, 2, 4]: 5 steps, batch 2, width 4 (time first)
//   mask    bool Tensor [2, 5], true = padding
//   ids     int64 Tensor [2, 3] of token ids below 10
//   logits  Variable [6, 10], requires grad;  target: int64 Tensor [6] of classes below 10
//   model   a small nn::Module (two Linears, 4 → 8 → 2) held by shared_ptr
//   lm      a bigram language model over 10 tokens as an nn::IncrementalDecoder, 2 rows
//   tmp     a scratch folder for files (GoogleTest's TempDir)
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

#include "minigrad/minigrad.h"

namespace minigrad::testing {

/// The model the rows train and save.
class PytorchMdModel : public nn::Module {
 public:
  PytorchMdModel() {
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(4, 8));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(8, 2));
  }
  Variable forward(const Variable& input) override { return (*fc2)(relu((*fc1)(input))); }
  std::string type_name() const override { return "PytorchMdModel"; }
  std::shared_ptr<nn::Linear> fc1, fc2;
};

/// A bigram language model as a decoder (nn/decode.h), for the decoding rows: the
/// scores of the next token are the row of a fixed [V, V] table that the last
/// token picks.
class PytorchMdBigram final : public nn::IncrementalDecoder {
 public:
  /// \param batch the rows; \param table float [V, V], row u: the scores after u
  PytorchMdBigram(int64_t batch, Tensor table) : batch_(batch), table_(std::move(table)) {}
  /// the rows: `batch` at first, then as many as the last reorder kept
  int64_t batch_size() const override { return batch_; }
  /// table[last_tokens]: [N] → [N, V]
  Tensor step(const Tensor& last_tokens) override { return index_select(table_, 0, last_tokens); }
  /// the table is the whole model, so only the number of rows changes
  void reorder(const Tensor& index) override { batch_ = index.size(0); }

 private:
  int64_t batch_;
  Tensor table_;
};

}  // namespace minigrad::testing

// The shared names, declared at the top of each row's test. Every row draws the
// same values: the context is seeded.
#define MINIGRAD_PYTORCH_MD_CONTEXT                                                    \
  using namespace minigrad;                                                            \
  Generator context_gen(42);                                                           \
  [[maybe_unused]] Variable x =                                                        \
      Variable(rand({2, 3, 4}, -1, 1, DType::Float32, context_gen)).requires_grad_();  \
  [[maybe_unused]] Variable a =                                                        \
      Variable(rand({2, 3}, -1, 1, DType::Float32, context_gen)).requires_grad_();     \
  [[maybe_unused]] Variable b =                                                        \
      Variable(rand({3, 4}, -1, 1, DType::Float32, context_gen)).requires_grad_();     \
  [[maybe_unused]] Variable q =                                                        \
      Variable(rand({2, 5, 8}, -1, 1, DType::Float32, context_gen)).requires_grad_();  \
  [[maybe_unused]] Variable k =                                                        \
      Variable(rand({2, 5, 8}, -1, 1, DType::Float32, context_gen)).requires_grad_();  \
  [[maybe_unused]] Variable v =                                                        \
      Variable(rand({2, 5, 8}, -1, 1, DType::Float32, context_gen)).requires_grad_();  \
  [[maybe_unused]] Variable seq =                                                      \
      Variable(rand({5, 2, 4}, -1, 1, DType::Float32, context_gen)).requires_grad_();  \
  [[maybe_unused]] Tensor mask = nn::padding_mask({5, 3}, 5);                          \
  [[maybe_unused]] Tensor ids = randint(0, 10, {2, 3}, context_gen);                   \
  [[maybe_unused]] Variable logits =                                                   \
      Variable(rand({6, 10}, -1, 1, DType::Float32, context_gen)).requires_grad_();    \
  [[maybe_unused]] Tensor target = randint(0, 10, {6}, context_gen);                   \
  [[maybe_unused]] auto model = std::make_shared<minigrad::testing::PytorchMdModel>(); \
  [[maybe_unused]] const std::string tmp = ::testing::TempDir();                       \
  [[maybe_unused]] minigrad::testing::PytorchMdBigram lm(                              \
      2, rand({10, 10}, -2, 2, DType::Float32, context_gen));
