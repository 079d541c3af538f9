// The training loop's bookkeeping that every example shares (TrainingLog in
// examples/common/progress.h), and the one result line of every task.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "examples/common/cli.h"
#include "examples/common/progress.h"

namespace {

using namespace minigrad::examples;

// A run of `total` steps after `done`: each evaluation returns the step it came
// at as its token accuracy, divided by 100, so --stop-at can be reached at a known step.
struct LoopTrace {
  std::vector<int64_t> evaluated_at;
  int64_t stopped_at = -1;
};

LoopTrace train(TrainingLog& log, int64_t first, int64_t total) {
  LoopTrace run;
  for (int64_t step = first; step <= total; ++step) {
    const bool stop = log.record(step, 1.0 / static_cast<double>(step), 0.5, [&] {
      run.evaluated_at.push_back(step);
      return Accuracy{static_cast<double>(step) / 100, 0.0};
    });
    if (stop) {
      run.stopped_at = step;
      break;
    }
  }
  log.finish();
  return run;
}

TEST(ExamplesTrainingLog, EvaluatesEveryNStepsAndAfterTheLast) {
  CommonOptions options;
  options.eval_every = 4;
  TrainingLog log(options, 10, 0, {0.25, 0.0}, /*show_progress=*/false);
  EXPECT_EQ(log.heldout().token, 0.25) << "before training: the accuracy it was given";
  const LoopTrace run = train(log, 1, 10);
  EXPECT_EQ(run.evaluated_at, (std::vector<int64_t>{4, 8, 10}));
  EXPECT_EQ(run.stopped_at, -1);
  EXPECT_EQ(log.steps_done(), 10);
  EXPECT_EQ(log.steps_trained(), 10);
  EXPECT_EQ(log.heldout().token, 0.10);
  EXPECT_EQ(log.curve().steps.size(), 10u);
  EXPECT_EQ(log.curve().eval_steps, (std::vector<int64_t>{4, 8, 10}));
}

TEST(ExamplesTrainingLog, StopsAtTheFirstEvaluationThatReachesStopAt) {
  CommonOptions options;
  options.eval_every = 5;
  options.stop_at = 0.12;  // step 15 is the first evaluation at ≥ 0.12
  TrainingLog log(options, 100, 0, {}, /*show_progress=*/false);
  const LoopTrace run = train(log, 1, 100);
  EXPECT_EQ(run.stopped_at, 15);
  EXPECT_EQ(log.steps_done(), 15);
  EXPECT_EQ(log.curve().losses.size(), 15u);
}

TEST(ExamplesTrainingLog, AResumedRunCountsOnlyItsOwnSteps) {
  CommonOptions options;
  options.eval_every = 50;
  TrainingLog log(options, 20, 12, {}, /*show_progress=*/false);
  const LoopTrace run = train(log, 13, 20);
  EXPECT_EQ(run.evaluated_at, (std::vector<int64_t>{20}));
  EXPECT_EQ(log.steps_done(), 20);
  EXPECT_EQ(log.steps_trained(), 8);
  EXPECT_EQ(log.curve().steps.front(), 13);
}

TEST(ExamplesTrainingLog, ResultLineOfANamedTask) {
  EXPECT_EQ(result_line("lstm_next_token", "repeating_patterns", {0.9, 0.5}, 500, 3.25,
                        "periods=2..4 length=16"),
            "result: example=lstm_next_token task=repeating_patterns heldout_token_acc=0.900 "
            "heldout_seq_acc=0.500 steps=500 seconds=3.2 periods=2..4 length=16");
  EXPECT_EQ(result_line("self_attention_copy", Task::Copy, {1.0, 1.0}, 7, 0.5),
            result_line("self_attention_copy", "copy", {1.0, 1.0}, 7, 0.5));
}

}  // namespace
