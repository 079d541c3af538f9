// How examples/gpt trains its GPT and writes with it: nanoGPT's recipe, in the parts
// the program (main.cpp) and its training test (tests/test_train_gpt.cpp) share.
//
//   optimizer   AdamW(β = (0.9, 0.99), ε = 1e-8) in two parameter groups, as nanoGPT's
//               configure_optimizers: weight decay on the parameters with dim ≥ 2 (the
//               Linear weights, the attention's projections and both embedding tables),
//               none on the biases and the LayerNorms
//   schedule    a linear warm-up over w iterations, then a half cosine from lr down to
//               lr/10 at the last iteration (nn::WarmupCosineLR):
//                   lr(t) = lr·(t + 1)/w                                  t < w
//                   lr(t) = lr/10 + ½(lr − lr/10)(1 + cos(π(t − w)/(T − w)))   w ≤ t ≤ T
//               T = decay_steps − 1, so the last of decay_steps iterations trains at lr/10
//   a step      N micro-batches (gradient accumulation): each loss scaled by 1/N and
//               backpropagated, the gradients adding up to those of the mean over all
//               N·B windows; then the gradient clipped to total norm 1.0, one AdamW
//               update and one step of the schedule
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "examples/gpt/data.h"
#include "examples/gpt/model.h"
#include "minigrad/nn/optim.h"
#include "minigrad/nn/scheduler.h"
#include "minigrad/tensor/random.h"

namespace minigrad::examples {

/// The optimizer and schedule settings of a run; the defaults are nanoGPT's
/// shakespeare_char recipe at the CPU "baby" size.
struct GPTRecipe {
  int64_t steps = 2000;       ///< optimizer steps (nanoGPT's iterations)
  int64_t decay_steps = 0;    ///< the schedule's length; 0: steps
  int64_t batch = 12;         ///< windows per micro-batch
  int64_t accumulate = 1;     ///< micro-batches per optimizer step
  double lr = 1e-3;           ///< the top of the schedule
  int64_t warmup = 100;       ///< iterations of linear warm-up
  double weight_decay = 0.1;  ///< on the parameters with dim ≥ 2
  double beta1 = 0.9;         ///< AdamW's β₁
  double beta2 = 0.99;        ///< AdamW's β₂ (nanoGPT's for small data)
  double clip = 1.0;          ///< the gradient's total norm is clipped to this; 0: never

  /// decay_steps, or steps when it is 0.
  int64_t schedule_length() const { return decay_steps > 0 ? decay_steps : steps; }
};

/// AdamW over `model`'s parameters in two groups: those with dim ≥ 2 decay by
/// recipe.weight_decay, the others (biases, LayerNorm weights) not at all.
std::unique_ptr<nn::AdamW> make_gpt_optimizer(const GPT& model, const GPTRecipe& recipe);

/// The warm-up and cosine of the recipe over `optimizer`'s groups, reaching lr/10 at
/// iteration schedule_length() − 1 (or right after the warm-up, if that is later).
std::unique_ptr<nn::LRScheduler> make_gpt_scheduler(nn::Optimizer& optimizer,
                                                    const GPTRecipe& recipe);

/// One optimizer step from `micro_batches` (N of them): the mean of each one's
/// next_token_loss, scaled by 1/N, backpropagated into the gradients; the gradient's
/// total norm clipped to `clip` (0: not clipped); optimizer.step(); scheduler->step()
/// if there is one. In exact arithmetic this is the step of one batch holding all N
/// micro-batches' windows, since the mean over N·B windows is (1/N) Σ_n mean_n.
/// \return the mean of the N micro-batches' losses
double gpt_train_step(GPT& model, nn::Optimizer& optimizer, nn::LRScheduler* scheduler,
                      const std::vector<Batch>& micro_batches, double clip);

/// The mean next-token loss over `batches` (all the same size), in eval mode and
/// without a graph; the model goes back to the mode it was in.
double mean_loss(GPT& model, const std::vector<Batch>& batches);

/// The mean loss over every target of `windows`: the whole-split figure, every
/// non-overlapping block-length window of a split scored once. In eval mode and
/// without a graph; the model goes back to the mode it was in.
double whole_split_loss(GPT& model, const NonOverlappingWindows& windows);

/// How the program writes: nanoGPT's sample.py settings.
struct GPTSampling {
  std::string prompt = "\n";  ///< the text the sample continues (nanoGPT's start)
  int64_t length = 500;       ///< characters drawn after the prompt (max_new_tokens)
  double temperature = 0.8;   ///< nanoGPT's sample.py default
  int64_t top_k = 0;          ///< 0: every character
  double top_p = 1.0;         ///< 1: every character
  bool use_cache = true;      ///< each block's keys and values kept from step to step
};

/// The characters a GPT writes after `sampling.prompt` (encoded with `vocabulary`;
/// characters it does not know become its unknown symbol), drawn by nn::sample_decode
/// over a GPTDecoding with or without the key/value cache. The same generator state
/// gives the same characters either way, up to the rounding of the logits.
/// \return the drawn ids, the prompt not included (fewer than sampling.length only
///         when sampling.length is 0: nothing is drawn then)
/// \throws std::invalid_argument for an empty prompt
std::vector<int32_t> sample_ids(GPT& model, const TextVocabulary& vocabulary,
                                const GPTSampling& sampling, Generator& gen);

}  // namespace minigrad::examples
