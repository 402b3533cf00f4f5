// zscope-cli train-sae: train one attention-output SAE per requested layer.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"
#include "core/dist/dist.h"
#include "core/model/model_spec.h"
#include "core/base/paths.h"
#include "core/sae/activation_index.h"
#include "core/train/sae_run.h"

namespace zs::cli {
namespace {

int runTrainSae(const Args& a) {
  TrainSaeParams p;
  // --activations DIR: train from `zscope-cli harvest` files; the model, corpus
  // and context default to the harvest's (the model still runs the CE evaluations).
  std::unique_ptr<ActivationIndex> harvest;
  if (a.has("activations")) {
    p.activationsDir = a.get("activations");
    harvest = std::make_unique<ActivationIndex>(readActivationIndex(p.activationsDir));
  }
  p.modelDir = paths::resolveModel(harvest && !a.has("model") ? harvest->modelDir : a.require("model"));
  p.corpus = harvest && !a.has("corpus") ? harvest->corpus : a.require("corpus");
  p.outDir = a.require("out");
  const ModelSpec mc = loadModelSpec(p.modelDir);
  p.layers = parseLayerList(a.require("layer"), mc.nLayer);
  p.corpusFormat = a.get("corpus-format", harvest ? harvest->corpusFormat : "auto");
  p.evalCorpus = a.get("eval-corpus", "");
  if (a.has("d-sae") && a.has("expansion")) throw UsageError("give --d-sae or --expansion, not both");
  // Every number is range-checked (issue 19: --lr nan|inf|1e30 trained an all-NaN SAE).
  p.dSae = a.getIntIn("d-sae", 0, 1, int64_t{1} << 24);
  p.expansion = a.getFiniteIn("expansion", p.expansion, 1.0 / 64, 1024);
  std::string l1 = a.get("l1", "auto");
  p.l1 = l1 == "auto" ? -1.0 : a.getFiniteIn("l1", -1, 0, 1e4);
  p.l1Scale = a.getFiniteIn("l1-scale", p.l1Scale, 0, 1e4);
  p.lr = a.getFiniteIn("lr", p.lr, 1e-12, 1.0);
  p.batch = a.getIntIn("batch", p.batch, 1, int64_t{1} << 20);
  p.tokens = a.getIntIn("tokens", p.tokens, 1, int64_t{1} << 40);
  p.context = a.getIntIn("context", harvest ? harvest->context : std::min<int64_t>(p.context, mc.nCtx), 2, mc.nCtx);
  p.seed = static_cast<uint64_t>(a.getInt("seed", 0));
  p.bufferTokens = a.getIntIn("buffer-tokens", p.bufferTokens, 1, int64_t{1} << 32);
  p.ceEvery = a.getIntIn("ce-every", p.ceEvery, 0, INT64_MAX);
  p.reuse = a.getIntIn("reuse", 1, 1, 1000);
  p.metricsEvery = a.getIntIn("metrics-every", p.metricsEvery, 1, INT64_MAX);
  p.checkpointEvery = a.getIntIn("checkpoint-every", p.checkpointEvery, 0, INT64_MAX);
  p.evalWindows = a.getIntIn("eval-windows", p.evalWindows, 0, 1 << 20);
  p.warmupSteps = a.getIntIn("warmup", p.warmupSteps, 0, INT64_MAX);
  p.resampleEvery = a.getIntIn("resample-every", p.resampleEvery, 1, INT64_MAX);
  p.deadWindow = a.getIntIn("dead-window", p.deadWindow, 1, INT64_MAX);
  p.decayFraction = a.getFiniteIn("decay-fraction", p.decayFraction, 0, 1);
  {
    // Memory the SAEs need (weights, gradients, two Adam moments, in float32),
    // refused before anything is allocated: --expansion 1e6 must not run away.
    const double dIn = static_cast<double>(mc.dZ());
    const double dSae = p.dSae > 0 ? static_cast<double>(p.dSae) : p.expansion * dIn;
    const double bytes = static_cast<double>(p.layers.size()) * dSae * dIn * 2 * 4 * 4 +
                         static_cast<double>(p.batch) * dSae * 4 * 4;
    const double avail = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
    if (avail > 0 && bytes > 0.8 * avail)
      throw UsageError("these SAEs need about " + std::to_string(static_cast<int64_t>(bytes / (1 << 20))) +
                       " MiB for weights and optimiser state, more than this machine's " +
                       std::to_string(static_cast<int64_t>(avail / (1 << 20))) +
                       " MiB of memory; lower --expansion, --d-sae or --batch");
  }
  p.architecture = a.get("architecture", p.architecture);
  if (p.architecture != "standard" && p.architecture != "topk" && p.architecture != "batchtopk" &&
      p.architecture != "jumprelu")
    throw UsageError("--architecture must be standard, topk, batchtopk or jumprelu");
  // Each sparsity knob belongs to one architecture: refuse one that would be ignored.
  if (p.architecture != "standard" && (a.has("l1") || a.has("l1-scale")))
    throw UsageError("--l1/--l1-scale apply to --architecture standard (this run is " + p.architecture + ")");
  if ((p.architecture == "standard" || p.architecture == "jumprelu") && a.has("k"))
    throw UsageError("--k applies to --architecture topk or batchtopk (this run is " + p.architecture + ")");
  if (p.architecture != "jumprelu" && a.has("l0"))
    throw UsageError("--l0 applies to --architecture jumprelu (this run is " + p.architecture + ")");
  p.k = a.getIntIn("k", p.k, 1, int64_t{1} << 24);
  const int64_t dSae = p.dSae > 0 ? p.dSae : std::llround(p.expansion * static_cast<double>(mc.dZ()));
  if ((p.architecture == "topk" || p.architecture == "batchtopk") && p.k > dSae)
    throw UsageError("--k must be between 1 and d_sae = " + std::to_string(dSae));
  p.l0 = a.has("l0") ? a.getFiniteIn("l0", -1, 0, 1e6) : -1;
  if (p.architecture != "jumprelu" && (a.has("init-threshold") || a.has("init-l0")))
    throw UsageError("--init-threshold/--init-l0 apply to --architecture jumprelu (this run is " + p.architecture + ")");
  if (a.has("init-threshold") && a.has("init-l0")) throw UsageError("give --init-threshold or --init-l0, not both");
  if (a.has("init-threshold") && a.get("init-threshold") != "auto")
    p.initThreshold = a.getFiniteIn("init-threshold", 0, 1e-6, 1e6);
  p.initL0 = a.getFiniteIn("init-l0", p.initL0, 1e-3, 1e9);
  if (p.architecture == "jumprelu" && p.initL0 > static_cast<double>(dSae))
    throw UsageError("--init-l0 must be at most d_sae = " + std::to_string(dSae));
  const bool auxk = p.architecture == "topk" || p.architecture == "batchtopk";
  if (!auxk && (a.has("auxk-coeff") || a.has("auxk-k") || a.has("no-auxk-normalize")))
    throw UsageError("--auxk-coeff/--auxk-k/--no-auxk-normalize apply to --architecture topk or batchtopk (this run is " +
                     p.architecture + ")");
  p.auxkCoeff = a.getFiniteIn("auxk-coeff", p.auxkCoeff, 0, 1e6);
  p.auxkK = a.getIntIn("auxk-k", p.auxkK, 1, int64_t{1} << 24);
  p.auxkNormalize = !a.has("no-auxk-normalize");
  if (!auxk && a.has("resample-topk"))
    throw UsageError("--resample-topk applies to --architecture topk or batchtopk (this run is " + p.architecture + ")");
  if (a.has("resample-topk")) p.resampleTopk = true;
  p.resampleDensity = a.getFiniteIn("resample-density", p.resampleDensity, 0, 1);
  if (p.resampleDensity >= 1) throw UsageError("--resample-density must be in [0, 1)");
  p.device = a.get("device", "auto");
  p.mode = a.get("step", "auto");
  p.resume = !a.has("no-resume");
  p.shuffleDocs = !a.has("no-shuffle");
  if (p.resampleEvery == 0) throw UsageError("--resample-every must be positive");
  std::string cmd = "zscope-cli train-sae";
  for (const char* k : {"model", "layer", "corpus", "corpus-format", "eval-corpus", "out", "d-sae", "expansion", "l1",
                        "l1-scale", "lr", "batch", "tokens", "context", "seed", "buffer-tokens", "reuse", "ce-every",
                        "warmup", "resample-every", "dead-window", "decay-fraction", "step", "architecture", "k", "l0",
                        "resample-density", "activations", "auxk-coeff", "auxk-k", "init-threshold", "init-l0"})
    if (a.has(k)) cmd += std::string(" --") + k + " " + a.get(k);
  if (!p.shuffleDocs) cmd += " --no-shuffle";
  if (!p.auxkNormalize) cmd += " --no-auxk-normalize";
  if (a.has("resample-topk")) cmd += " --resample-topk";
  p.commandLine = cmd;
  bool json = a.has("json");
  // --nproc N: this command again as N local ranks (docs/cluster.md).
  const int launched = launchRanksIfAsked(a);
  if (launched >= 0) return launched;
  // Under torchrun / srun (or launched above): join the group before any work.
  p.group = dist::joinFromEnvironment();
  Progress progress = terminalProgress("train-sae");
  if (p.group && !p.group->isRoot()) progress.report = nullptr;  // one progress bar: rank 0's
  TrainSaeResult res;
  try {
    res = trainSaes(p, progress);
    if (p.group) p.group->finish();
  } catch (const dist::PeerFailure&) {
    throw;
  } catch (const std::exception& e) {
    if (p.group) p.group->noteFailure(e.what());  // the other ranks name this rank and why
    throw;
  }
  if (p.group) {
    std::cerr << "rank " << res.rank << " of " << res.world << ": final weights " << res.weightsHash << "\n";
    if (res.rank != 0) return res.cancelled ? 130 : 0;  // rank 0 alone reports
  }
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
               "--model DIR --layer L[,L...]|all --corpus PATH --out DIR [--activations DIR (harvested rows; --model, --corpus "
               "and --context then default to the harvest's)] [--d-sae N | --expansion X] [--l1 X|auto] "
               "[--l1-scale X] [--lr X] [--batch N] [--tokens N] [--context C] [--seed S] [--buffer-tokens N] "
               "[--reuse K] [--ce-every N] [--eval-corpus PATH] [--eval-windows N] [--metrics-every N] [--checkpoint-every N] "
               "[--warmup N] [--resample-every N] [--dead-window N] [--resample-density X] [--decay-fraction X] "
               "[--architecture topk|batchtopk|jumprelu|standard (default topk)] [--k N] [--auxk-coeff X] [--auxk-k N] [--no-auxk-normalize] [--resample-topk] [--l0 X] [--init-threshold X|auto] [--init-l0 N] [--corpus-format F] "
               "[--step auto|dense|sparse] [--device auto|cpu|cuda] [--no-shuffle] [--no-resume] [--nproc N] [--json]",
               "Train attention-output (hook_z) SAEs, one per layer; Ctrl+C saves and resumes",
               {"json", "no-resume", "no-shuffle", "no-auxk-normalize", "resample-topk"},
               &runTrainSae});

}  // namespace
}  // namespace zs::cli
