// zscope-cli train-sae: train one attention-output SAE per requested layer.
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/model/load.h"
#include "core/base/paths.h"
#include "core/train/sae_run.h"

namespace zs::cli {
namespace {

int runTrainSae(const Args& a) {
  TrainSaeParams p;
  p.modelDir = paths::resolveModel(a.require("model"));
  p.corpus = a.require("corpus");
  p.outDir = a.require("out");
  const ModelSpec mc = loadModelSpec(p.modelDir);
  p.layers = parseLayerList(a.require("layer"), mc.nLayer);
  p.corpusFormat = a.get("corpus-format", "auto");
  p.evalCorpus = a.get("eval-corpus", "");
  if (a.has("d-sae") && a.has("expansion")) throw UsageError("give --d-sae or --expansion, not both");
  p.dSae = a.getInt("d-sae", 0);
  p.expansion = a.getDouble("expansion", p.expansion);
  std::string l1 = a.get("l1", "auto");
  p.l1 = l1 == "auto" ? -1.0 : a.getDouble("l1", -1);
  if (l1 != "auto" && p.l1 < 0) throw UsageError("--l1 must be >= 0 or auto");
  p.l1Scale = a.getDouble("l1-scale", p.l1Scale);
  p.lr = a.getDouble("lr", p.lr);
  p.batch = a.getInt("batch", p.batch);
  p.tokens = a.getInt("tokens", p.tokens);
  p.context = a.getInt("context", std::min<int64_t>(p.context, mc.nCtx));
  p.seed = static_cast<uint64_t>(a.getInt("seed", 0));
  p.bufferTokens = a.getInt("buffer-tokens", p.bufferTokens);
  p.ceEvery = a.getInt("ce-every", p.ceEvery);
  p.reuse = a.getInt("reuse", 1);
  if (p.reuse < 1) throw UsageError("--reuse must be at least 1");
  p.metricsEvery = std::max<int64_t>(1, a.getInt("metrics-every", p.metricsEvery));
  p.checkpointEvery = a.getInt("checkpoint-every", p.checkpointEvery);
  p.evalWindows = a.getInt("eval-windows", p.evalWindows);
  p.warmupSteps = a.getInt("warmup", p.warmupSteps);
  p.resampleEvery = a.getInt("resample-every", p.resampleEvery);
  p.deadWindow = a.getInt("dead-window", p.deadWindow);
  p.decayFraction = a.getDouble("decay-fraction", p.decayFraction);
  p.architecture = a.get("architecture", "standard");
  if (p.architecture != "standard" && p.architecture != "topk" && p.architecture != "batchtopk" &&
      p.architecture != "jumprelu")
    throw UsageError("--architecture must be standard, topk, batchtopk or jumprelu");
  p.k = a.getInt("k", p.k);
  if (p.k < 1) throw UsageError("--k must be positive");
  p.l0 = a.getDouble("l0", -1);
  p.resampleDensity = a.getDouble("resample-density", p.resampleDensity);
  if (p.resampleDensity < 0 || p.resampleDensity >= 1) throw UsageError("--resample-density must be in [0, 1)");
  p.device = a.get("device", "auto");
  p.mode = a.get("step", "auto");
  p.resume = !a.has("no-resume");
  p.shuffleDocs = !a.has("no-shuffle");
  if (p.resampleEvery == 0) throw UsageError("--resample-every must be positive");
  std::string cmd = "zscope-cli train-sae";
  for (const char* k : {"model", "layer", "corpus", "corpus-format", "eval-corpus", "out", "d-sae", "expansion", "l1",
                        "l1-scale", "lr", "batch", "tokens", "context", "seed", "buffer-tokens", "reuse", "ce-every",
                        "warmup", "resample-every", "dead-window", "decay-fraction", "step", "architecture", "k", "l0",
                        "resample-density"})
    if (a.has(k)) cmd += std::string(" --") + k + " " + a.get(k);
  if (!p.shuffleDocs) cmd += " --no-shuffle";
  p.commandLine = cmd;
  bool json = a.has("json");
  auto res = trainSaes(p, terminalProgress("train-sae"));
  if (res.cancelled) {
    std::cerr << "\ninterrupted at step " << res.steps << ": checkpoint saved in " << p.outDir
              << "/checkpoint; run the same command again to resume\n";
    return 130;
  }
  if (json) {
    printJson({{"steps", res.steps}, {"tokens", res.tokens}, {"seconds", res.seconds}, {"resumed", res.resumed},
               {"saes", res.saeDirs}, {"metrics", res.metricsPath}});
  } else {
    std::cerr << "\n";
    std::cout << "trained " << res.saeDirs.size() << " SAE(s) for " << res.steps << " steps (" << res.tokens
              << " activations each) in " << res.seconds << " s\n";
    for (const auto& d : res.saeDirs) std::cout << "  " << d << "\n";
    std::cout << "metrics: " << res.metricsPath << "\n";
  }
  return 0;
}

Registrar reg({"train-sae",
               "--model DIR --layer L[,L...]|all --corpus PATH --out DIR [--d-sae N | --expansion X] [--l1 X|auto] "
               "[--l1-scale X] [--lr X] [--batch N] [--tokens N] [--context C] [--seed S] [--buffer-tokens N] "
               "[--reuse K] [--ce-every N] [--eval-corpus PATH] [--eval-windows N] [--metrics-every N] [--checkpoint-every N] "
               "[--warmup N] [--resample-every N] [--dead-window N] [--resample-density X] [--decay-fraction X] "
               "[--architecture standard|topk|batchtopk|jumprelu] [--k N] [--l0 X] [--corpus-format F] "
               "[--step auto|dense|sparse] [--device auto|cpu|cuda] [--no-shuffle] [--no-resume] [--json]",
               "Train attention-output (hook_z) SAEs, one per layer; Ctrl+C saves and resumes",
               {"json", "no-resume", "no-shuffle"},
               &runTrainSae});

}  // namespace
}  // namespace zs::cli
