#pragma once
// Training a GPT-2 (zs::Gpt2) from scratch on a text corpus: the engine behind
// `zscope-cli train-model`. Torch-free header (plain structs) so that the GUI
// can start a training job too; the work happens in core/train_*.cpp.
//
// Run folder layout (OUT):
//   config.json, model.safetensors, vocab.json, merges.txt  final HF GPT-2 folder
//   metrics.jsonl       one line per evaluation (step, tokens, lr, train/val loss, seconds)
//   train_config.json   the resolved configuration of the run
//   cache/{train,validation}.bin + cache/meta.json   the tokenized corpus (uint16)
//   checkpoint/state.pt the latest checkpoint (weights, AdamW state, step, clock)
//   checkpoint/model/   the latest checkpoint's weights as a loadable HF GPT-2 folder
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/model_config.h"
#include "core/base/progress.h"

namespace zs {

struct TrainConfig {
  // Model shape; vocab_size/bos/eos come from the tokenizer.
  Gpt2Config model;
  // Optimisation. One step = batch windows of `context` tokens (BOS + context-1 corpus tokens).
  int64_t tokens = 4'000'000;  // training tokens in total -> steps = ceil(tokens / (batch*context))
  int64_t batch = 32;
  int64_t context = 128;
  double lr = 1e-3;
  double minLrRatio = 0.1;     // cosine decays lr to lr*minLrRatio at the last step
  int64_t warmupSteps = 100;   // linear warm-up from lr/warmup to lr
  double weightDecay = 0.1;    // AdamW, on matrices only (not biases / LayerNorm)
  double beta1 = 0.9, beta2 = 0.95;
  double gradClip = 1.0;       // global L2 norm; <= 0 disables
  int64_t evalInterval = 100;  // steps between validation-loss measurements
  int64_t evalTokens = 32768;  // validation tokens per measurement (fixed windows)
  int64_t checkpointInterval = 200;  // steps between checkpoints
  // Share of training windows in which a span is repeated later in the window
  // (half random tokens, half a copied piece of the text) so that induction
  // heads form within a small budget.
  double repeatShare = 0.25;
  int64_t repeatMinLen = 8;
  uint64_t seed = 1;
  // Optional warm start: an HF GPT-2 folder of the same shape whose weights
  // replace the random initialisation (a second training stage; the optimizer
  // starts fresh). Relative paths are taken from the current directory.
  std::string initFrom;
  // > 0: end the run after this many steps (writing the output folder as at the
  // end), with the schedule still computed for `tokens`. Reproduces a run that
  // was stopped early with Ctrl+C at that step.
  int64_t stopAtStep = 0;
  // The schedule lengths that were in force before the last change on resume
  // ("schedule_history"): steps before untilStep followed a cosine of `tokens`
  // training tokens; steps after the last entry follow train.tokens. Written
  // by train-model into OUT/train_config.json when a resumed run changes
  // train.tokens, so that the file is the schedule as run and a straight run
  // with it replays the same lr at every step. Ascending untilStep.
  struct ScheduleSpan {
    int64_t untilStep = 0;
    int64_t tokens = 0;
    bool operator==(const ScheduleSpan& o) const { return untilStep == o.untilStep && tokens == o.tokens; }
  };
  std::vector<ScheduleSpan> scheduleHistory;

  int64_t stepsFor(int64_t scheduleTokens) const { return (scheduleTokens + batch * context - 1) / (batch * context); }
  int64_t steps() const { return stepsFor(tokens); }
  // Length in steps of the cosine schedule that step `step` (0-based) follows.
  int64_t scheduleStepsAt(int64_t step) const;
  // The learning rate of step `step` (0-based): linear warm-up, then cosine to lr*minLrRatio.
  double lrAt(int64_t step) const;
  // This config with the schedule as run when a run that followed `before` up to step
  // `atStep` continues under this config: scheduleHistory becomes before's spans up to atStep,
  // then this config's own spans after it (adjacent equal lengths merged).
  TrainConfig resumedFrom(const TrainConfig& before, int64_t atStep) const;
  // Parses {"model": {...}, "train": {...}} (either part may be omitted, unknown keys are an
  // error); throws InputError naming the file and the field.
  static TrainConfig fromJsonText(const std::string& text, const std::string& nameForErrors);
  static TrainConfig fromFile(const std::string& path);
  nlohmann::json toJson() const;
  void validate(const std::string& nameForErrors) const;
};

struct TrainOptions {
  std::string corpus;        // folder with train.jsonl + validation.jsonl, or a single .jsonl/.txt (split by hash)
  std::string outDir;
  std::string tokenizerDir;  // holds vocab.json + merges.txt; empty: outDir
  std::string device = "cpu";  // resolved name: "cpu" or "cuda"
  bool resume = true;        // continue from outDir/checkpoint when present
  bool quiet = false;        // no per-eval lines on stderr
};

struct TrainMetrics {
  int64_t step = 0, tokens = 0;
  double lr = 0, trainLoss = 0, valLoss = 0, seconds = 0;
};

struct TrainResult {
  int64_t steps = 0, tokensSeen = 0;
  double finalTrainLoss = 0, finalValLoss = 0, seconds = 0;
  int64_t resumedFromStep = 0;  // 0 for a fresh run
  int64_t previousScheduleTokens = 0;  // on a resume that changed train.tokens: the checkpoint's value
  std::vector<TrainMetrics> curve;
};

// Runs (or resumes) the training described by cfg. Progress is reported in
// steps; cancellation saves a checkpoint and then throws zs::Cancelled.
// Throws InputError for unreadable corpora/tokenizers/configs.
TrainResult trainModel(const TrainConfig& cfg, const TrainOptions& opt, const Progress& progress = {});

}  // namespace zs
