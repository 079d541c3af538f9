// End-to-end training of examples/gpt's GPT through the program's own code
// (examples/gpt/training.h: the two AdamW groups, the warm-up and cosine, gradient
// accumulation and clipping, the whole-split loss, the sampling path).
//
// The program's default model takes minutes; the first test trains a GPT of 1 layer,
// 2 heads, width 32 and block 32 for 300 iterations (batch 16, lr 1e-2, warm-up 30,
// the rest of the recipe as the program's) on 40,000 characters of proverbs in a
// random order, 90 % for training: whole-split validation loss 0.314, 0.307, 0.317 at
// seeds 1-3, where the bigram model of the same split scores 1.787 and the trigram
// 0.717 (the floor is near 0.1: ln 12 per proverb, for the guess of the next one);
// about 0.7 s per seed in Release on one core (3 s on a busy machine).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "examples/gpt/data.h"
#include "examples/gpt/model.h"
#include "examples/gpt/training.h"
#include "minigrad/nn/serialization.h"
#include "minigrad/tensor/ops.h"
#include "testing.h"

namespace {

using namespace minigrad;
using namespace minigrad::examples;
using minigrad::testing::kSanitized;

constexpr uint64_t kDataStream = 0x9e3779b97f4a7c15u;  // the program's: seed ^ this

GPTOptions tiny(int64_t vocab) {
  return GPTOptions(vocab).block_size(16).n_layer(2).n_head(2).n_embd(32);
}

// A short text of a few sentences, a few times over.
std::string small_text() {
  std::string text;
  for (int i = 0; i < 20; ++i) {
    text +=
        "The quick brown fox jumps over the lazy dog.\n%\n"
        "A stitch in time saves nine; look before you leap.\n%\n";
  }
  return text;
}

std::vector<double> values(const Variable& p) {
  return p.data().to(DType::Float64).to_vector<double>();
}

// Proverbs in an order drawn once: within a proverb every character follows from the
// ones before it, which one or two characters of context do not tell (the n-grams);
// which proverb comes next is a guess of one in kProverbs.
std::string proverbs_text() {
  static const char* const kProverbs[] = {
      "A stitch in time saves nine.",     "Look before you leap.",
      "The early bird catches the worm.", "Still waters run deep.",
      "Too many cooks spoil the broth.",  "All that glitters is not gold.",
      "Fortune favours the bold.",        "Actions speak louder than words.",
      "Better late than never.",          "Birds of a feather flock together.",
      "Every cloud has a silver lining.", "Practice makes perfect.",
  };
  Generator gen(2024);
  std::string text;
  while (text.size() < 40'000) text += std::string(kProverbs[gen.randint(0, 12)]) + "\n";
  return text;
}

TEST(TrainGPT, LearnsMoreThanTheNgramsOfItsTextAtThreeSeeds) {
  if (kSanitized) GTEST_SKIP() << "minutes under the sanitizers; the Release build runs it";
  const std::string text = proverbs_text();
  const TextVocabulary vocabulary =
      TextVocabulary::of_text(std::u32string(text.begin(), text.end()));
  const std::vector<int32_t> ids = vocabulary.encode(std::string_view(text));
  const auto cut = static_cast<std::ptrdiff_t>(ids.size() * 9 / 10);
  const std::vector<int32_t> train(ids.begin(), ids.begin() + cut),
      validation(ids.begin() + cut, ids.end());
  const NgramBaselines baselines = ngram_baselines(train, validation, vocabulary.size());
  const GPTOptions options = tiny(vocabulary.size()).n_layer(1).block_size(32);
  const NonOverlappingWindows windows(validation, 64, options.block_size());
  GPTRecipe recipe;
  recipe.steps = 300;
  recipe.batch = 16;
  recipe.lr = 1e-2;
  recipe.warmup = 30;
  for (const uint64_t seed : {1u, 2u, 3u}) {
    Generator init_gen(seed), data_gen(seed ^ kDataStream);
    GPT model(options, init_gen);
    const auto optimizer = make_gpt_optimizer(model, recipe);
    const auto scheduler = make_gpt_scheduler(*optimizer, recipe);
    const double before = whole_split_loss(model, windows);
    for (int64_t step = 1; step <= recipe.steps; ++step) {
      gpt_train_step(model, *optimizer, scheduler.get(),
                     {sample_batch(train, recipe.batch, options.block_size(), data_gen)},
                     recipe.clip);
    }
    const double after = whole_split_loss(model, windows);
    std::printf("seed %llu: validation loss %.4f -> %.4f (bigram %.4f, trigram %.4f)\n",
                static_cast<unsigned long long>(seed), before, after, baselines.bigram,
                baselines.trigram);
    // at init every character is about equally likely: ln V
    EXPECT_NEAR(before, baselines.uniform, 0.1) << "seed " << seed;
    EXPECT_LT(after, baselines.trigram - 0.2) << "seed " << seed << ": no better than counting";
    for (const double lr : scheduler->get_last_lr())
      EXPECT_NEAR(lr, recipe.lr / 10, 1e-12) << "both groups end at lr/10, seed " << seed;
  }
}

// --accumulate N: N micro-batches of B, each loss scaled by 1/N, make the step of one
// batch of N·B: the gradient of the mean over N·B windows is the mean of the N
// micro-batches' gradients. In float64 the two runs agree to rounding, through the
// clipping, AdamW and the schedule.
TEST(TrainGPT, AccumulatingMicroBatchesIsOneLargerStep) {
  const TextVocabulary vocabulary = TextVocabulary::printable_ascii();
  const std::vector<int32_t> ids = vocabulary.encode(std::string_view(small_text()));
  const GPTOptions options = tiny(vocabulary.size()).n_layer(1).n_embd(16).dtype(DType::Float64);
  GPTRecipe recipe;
  recipe.steps = 4;
  recipe.warmup = 1;
  recipe.clip = 0.5;  // low enough to clip: the clipping sees the summed gradient
  Generator gen_whole(7), gen_parts(7);
  GPT whole(options, gen_whole), parts(options, gen_parts);
  const auto opt_whole = make_gpt_optimizer(whole, recipe);
  const auto opt_parts = make_gpt_optimizer(parts, recipe);
  const auto sched_whole = make_gpt_scheduler(*opt_whole, recipe);
  const auto sched_parts = make_gpt_scheduler(*opt_parts, recipe);
  Generator data_gen(11);
  for (int64_t step = 1; step <= recipe.steps; ++step) {
    std::vector<Batch> micro;
    for (int i = 0; i < 3; ++i)
      micro.push_back(sample_batch(ids, 4, options.block_size(), data_gen));
    Batch joined{concat({micro[0].source, micro[1].source, micro[2].source}, 0),
                 concat({micro[0].target, micro[1].target, micro[2].target}, 0)};
    const double loss_whole =
        gpt_train_step(whole, *opt_whole, sched_whole.get(), {joined}, recipe.clip);
    const double loss_parts =
        gpt_train_step(parts, *opt_parts, sched_parts.get(), micro, recipe.clip);
    EXPECT_NEAR(loss_whole, loss_parts, 1e-12) << "step " << step;
  }
  const auto named_whole = whole.named_parameters();
  const auto named_parts = parts.named_parameters();
  ASSERT_EQ(named_whole.size(), named_parts.size());
  double worst = 0, moved = 0;
  Generator fresh_gen(7);
  const GPT fresh(options, fresh_gen);
  const auto named_fresh = fresh.named_parameters();
  for (size_t i = 0; i < named_whole.size(); ++i) {
    const std::vector<double> a = values(named_whole[i].second), b = values(named_parts[i].second),
                              f = values(named_fresh[i].second);
    for (size_t j = 0; j < a.size(); ++j) {
      worst = std::max(worst, std::abs(a[j] - b[j]));
      moved = std::max(moved, std::abs(a[j] - f[j]));
    }
  }
  EXPECT_LT(worst, 1e-12) << "largest difference between the two runs' parameters";
  EXPECT_GT(moved, 1e-4) << "the runs trained: the parameters moved from their init";
}

// The program samples with the key/value cache (--no-cache: without); both read the
// same contexts, so the same generator state draws the same characters, also past
// the block size, where the context is cropped to its last block_size characters.
TEST(TrainGPT, SamplingWithAndWithoutTheCacheDrawsTheSameCharacters) {
  const TextVocabulary vocabulary = TextVocabulary::printable_ascii();
  const std::vector<int32_t> ids = vocabulary.encode(std::string_view(small_text()));
  const GPTOptions options = tiny(vocabulary.size());
  GPTRecipe recipe;
  recipe.steps = 60;
  recipe.batch = 8;
  recipe.lr = 3e-3;
  recipe.warmup = 10;
  Generator init_gen(3), data_gen(4);
  GPT model(options, init_gen);
  const auto optimizer = make_gpt_optimizer(model, recipe);
  const auto scheduler = make_gpt_scheduler(*optimizer, recipe);
  for (int64_t step = 1; step <= recipe.steps; ++step) {
    gpt_train_step(model, *optimizer, scheduler.get(),
                   {sample_batch(ids, recipe.batch, options.block_size(), data_gen)}, recipe.clip);
  }
  for (const uint64_t seed : {1u, 2u, 3u}) {
    GPTSampling sampling;
    sampling.prompt = "The ";
    sampling.length = 3 * options.block_size();
    sampling.top_k = seed == 3 ? 5 : 0;
    sampling.top_p = seed == 2 ? 0.9 : 1.0;
    Generator cached_gen(seed), uncached_gen(seed);
    const std::vector<int32_t> cached = sample_ids(model, vocabulary, sampling, cached_gen);
    sampling.use_cache = false;
    const std::vector<int32_t> uncached = sample_ids(model, vocabulary, sampling, uncached_gen);
    EXPECT_EQ(cached.size(), static_cast<size_t>(sampling.length));
    EXPECT_EQ(vocabulary.decode(cached), vocabulary.decode(uncached)) << "seed " << seed;
  }
  EXPECT_TRUE(model.is_training()) << "sampling puts the model back into training mode";
}

}  // namespace
