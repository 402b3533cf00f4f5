// zscope-cli train-model: trains a GPT-2 from scratch (core/train_model.h).
#include <cstdio>
#include <iostream>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/base/runtime.h"
#include "core/train/train_model.h"

namespace zs::cli {
namespace {

int runTrainModel(const Args& a) {
  TrainConfig cfg = TrainConfig::fromFile(a.require("config"));
  TrainOptions opt;
  opt.corpus = a.require("corpus");
  opt.outDir = a.require("out");
  opt.tokenizerDir = a.get("tokenizer");
  const std::string resume = a.get("resume", "auto");
  if (resume != "auto" && resume != "no") throw UsageError("--resume must be auto or no");
  opt.resume = resume == "auto";
  opt.device = runtime::resolveDevice(a.get("device", "auto"));
  opt.quiet = a.has("quiet");
  if (!opt.quiet)
    std::fprintf(stderr, "training %lld steps of %lld x %lld tokens on %s\n", static_cast<long long>(cfg.steps()),
                 static_cast<long long>(cfg.batch), static_cast<long long>(cfg.context), opt.device.c_str());
  TrainResult r = trainModel(cfg, opt, terminalProgress("train"));
  if (r.resumedFromStep > 0 && !opt.quiet)
    std::fprintf(stderr, "(resumed from step %lld)\n", static_cast<long long>(r.resumedFromStep));
  if (r.previousScheduleTokens > 0 && !opt.quiet)
    std::fprintf(stderr,
                 "(schedule changed on resume at step %lld: train.tokens %lld -> %lld; recorded as "
                 "train.schedule_history in %s/train_config.json)\n",
                 static_cast<long long>(r.resumedFromStep), static_cast<long long>(r.previousScheduleTokens),
                 static_cast<long long>(cfg.tokens), opt.outDir.c_str());
  nlohmann::json j = {{"out", opt.outDir},          {"steps", r.steps},
                      {"tokens_seen", r.tokensSeen}, {"train_loss", r.finalTrainLoss},
                      {"val_loss", r.finalValLoss},  {"seconds", r.seconds},
                      {"resumed_from_step", r.resumedFromStep}};
  if (r.previousScheduleTokens > 0) j["previous_schedule_tokens"] = r.previousScheduleTokens;
  printJson(j);
  return 0;
}

Registrar reg({"train-model",
               "--config FILE --corpus PATH --out DIR [--tokenizer DIR] [--resume auto|no] [--device auto|cpu|cuda]",
               "Train a GPT-2 from scratch (AdamW, cosine schedule, checkpoints; rerun to resume)",
               {},
               &runTrainModel});

}  // namespace
}  // namespace zs::cli
