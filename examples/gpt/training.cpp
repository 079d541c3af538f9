#include "examples/gpt/training.h"

#include <algorithm>
#include <stdexcept>

#include "examples/common/eval_mode.h"
#include "minigrad/nn/decode.h"

namespace minigrad::examples {

std::unique_ptr<nn::AdamW> make_gpt_optimizer(const GPT& model, const GPTRecipe& recipe) {
  std::vector<Variable> decay, no_decay;
  for (const Variable& p : model.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  const auto defaults = nn::AdamWOptions(recipe.lr)
                            .betas({recipe.beta1, recipe.beta2})
                            .weight_decay(recipe.weight_decay);
  std::vector<nn::OptimizerParamGroup> groups;
  groups.emplace_back(std::move(decay));  // the defaults: weight_decay
  groups.emplace_back(std::move(no_decay), std::make_unique<nn::AdamWOptions>(
                                               nn::AdamWOptions(defaults).weight_decay(0)));
  return std::make_unique<nn::AdamW>(std::move(groups), defaults);
}

std::unique_ptr<nn::LRScheduler> make_gpt_scheduler(nn::Optimizer& optimizer,
                                                    const GPTRecipe& recipe) {
  // the cosine ends at iteration T = length − 1; WarmupCosineLR needs T > w
  const int64_t total = std::max(recipe.schedule_length() - 1, recipe.warmup + 1);
  return std::make_unique<nn::WarmupCosineLR>(
      optimizer,
      nn::WarmupCosineLROptions(total).warmup_steps(recipe.warmup).eta_min(recipe.lr / 10));
}

double gpt_train_step(GPT& model, nn::Optimizer& optimizer, nn::LRScheduler* scheduler,
                      const std::vector<Batch>& micro_batches, double clip) {
  if (micro_batches.empty()) throw std::invalid_argument("gpt_train_step: no micro-batch");
  const double scale = 1.0 / static_cast<double>(micro_batches.size());
  optimizer.zero_grad();
  double loss_sum = 0;
  for (const Batch& batch : micro_batches) {
    const Variable loss = next_token_loss(model(batch.source), batch.target);
    (loss * scale).backward();  // the gradients add up: ∇ (1/N) Σ_n loss_n
    loss_sum += loss.item();
  }
  if (clip > 0) nn::utils::clip_grad_norm_(model.parameters(), clip);
  optimizer.step();
  if (scheduler) scheduler->step();
  return loss_sum * scale;
}

double mean_loss(GPT& model, const std::vector<Batch>& batches) {
  if (batches.empty()) throw std::invalid_argument("mean_loss: no batch");
  const EvalMode eval_mode(model);
  const NoGradGuard no_grad;
  double sum = 0;
  for (const Batch& batch : batches)
    sum += next_token_loss(model(batch.source), batch.target).item();
  return sum / static_cast<double>(batches.size());
}

double whole_split_loss(GPT& model, const NonOverlappingWindows& windows) {
  const EvalMode eval_mode(model);
  const NoGradGuard no_grad;
  // Σ over batches of (mean loss · targets), / all targets: batches may differ in size
  double sum = 0;
  int64_t targets = 0;
  for (int64_t i = 0; i < windows.batches(); ++i) {
    const Batch batch = windows.batch(i);
    const int64_t n = batch.target.numel();
    sum += next_token_loss(model(batch.source), batch.target).item() * static_cast<double>(n);
    targets += n;
  }
  if (targets == 0) throw std::invalid_argument("whole_split_loss: the split has no window");
  return sum / static_cast<double>(targets);
}

std::vector<int32_t> sample_ids(GPT& model, const TextVocabulary& vocabulary,
                                const GPTSampling& sampling, Generator& gen) {
  const std::vector<int32_t> encoded = vocabulary.encode(std::string_view(sampling.prompt));
  const std::vector<int64_t> prompt(encoded.begin(), encoded.end());
  if (prompt.empty()) throw std::invalid_argument("sample_ids: the prompt is empty");
  if (sampling.length == 0) return {};
  const EvalMode eval_mode(model);
  GPTDecoding decoding(model, 1, GPTDecodingOptions().use_cache(sampling.use_cache));
  const Tensor drawn = nn::sample_decode(
      decoding,
      nn::SampleDecodeOptions()
          .prompt(Tensor::from_vector(prompt, {1, static_cast<int64_t>(prompt.size())}))
          .max_length(sampling.length)
          .temperature(sampling.temperature)
          .top_k(sampling.top_k)
          .top_p(sampling.top_p),
      gen);
  const std::vector<int64_t> ids = drawn.select(0, 0).to_vector<int64_t>();
  return {ids.begin(), ids.end()};
}

}  // namespace minigrad::examples
