// What the ```cpp blocks of docs/WALKTHROUGH.md and docs/ko/WALKTHROUGH.md may use
// without declaring it (tests/doc_snippets.cpp turns each block into a test that
// starts with MINIGRAD_WALKTHROUGH_CONTEXT). Blocks must not declare these names again.
//
//   x         Variable [2, 5, 32]: batch B = 2, T = 5 steps, width 32 (batch first),
//             float32, requires grad
//   x_t       Variable [2, 32]: one step of such a batch
//   T         int64_t 5, the number of steps
//   ids       int64 Tensor [2, 5] of token ids below 11 (the copy task's vocabulary)
//   src, tgt  Variable [2, 5, 32]: an embedded source and target sequence (batch first)
//
// A block marked `<!-- snippet: namespace scope -->` (one that defines a function, as
// the walkthrough's quote of how an op is written) is compiled inside
// minigrad::doc_snippets, where the aliases below are what such a quote assumes.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "minigrad/minigrad.h"

namespace minigrad::doc_snippets {

/// The backward closure's gradients of the outputs, as autograd/elementwise.cpp spells them.
using Gs = std::vector<Tensor>;

}  // namespace minigrad::doc_snippets

// The shared names, declared at the top of each block's test. Every block draws the
// same values: the context is seeded.
#define MINIGRAD_WALKTHROUGH_CONTEXT                                                   \
  using namespace minigrad;                                                            \
  Generator context_gen(42);                                                           \
  [[maybe_unused]] Variable x =                                                        \
      Variable(rand({2, 5, 32}, -1, 1, DType::Float32, context_gen)).requires_grad_(); \
  [[maybe_unused]] Variable x_t =                                                      \
      Variable(rand({2, 32}, -1, 1, DType::Float32, context_gen)).requires_grad_();    \
  [[maybe_unused]] const int64_t T = 5;                                                \
  [[maybe_unused]] Tensor ids = randint(0, 11, {2, 5}, context_gen);                   \
  [[maybe_unused]] Variable src =                                                      \
      Variable(rand({2, 5, 32}, -1, 1, DType::Float32, context_gen)).requires_grad_(); \
  [[maybe_unused]] Variable tgt =                                                      \
      Variable(rand({2, 5, 32}, -1, 1, DType::Float32, context_gen)).requires_grad_();
