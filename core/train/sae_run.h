#pragma once
// Training SAEs on a model's hook_z, end to end (harvest -> shuffled buffer ->
// one SAE per layer -> SAELens folders, metrics.jsonl, checkpoints). No torch in
// this header: the CLI's train-sae and the GUI's training panel both call it.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/base/progress.h"

namespace zs {

namespace dist {
class Group;
}

struct TrainSaeParams {
  std::string modelDir;
  std::string corpus;
  std::string corpusFormat = "auto";
  bool shuffleDocs = true;      // read documents in a seeded random order (DocumentReader::openShuffled)
  std::string evalCorpus;       // held-out windows for CE; empty: the first evalWindows of `corpus` (not trained on)
  std::string outDir;
  std::vector<int64_t> layers;
  int64_t dSae = 0;             // 0: expansion * d_in
  double expansion = 8;
  double l1 = -1;               // < 0: l1Scale * RMS norm of centred z, measured per layer on the first buffer
  double l1Scale = 0.3;
  double lr = 1.2e-3;
  int64_t batch = 4096;
  int64_t tokens = 20000000;    // training activations per SAE
  int64_t context = 128;
  uint64_t seed = 0;
  int64_t bufferTokens = 262144;
  int64_t windowsPerForward = 32;
  int64_t reuse = 1;            // serve each harvested activation ~reuse times (fewer forward passes)
  int64_t ceEvery = 500;        // steps between CE-recovered evaluations (0: only at the end)
  int64_t metricsEvery = 50;    // steps between metrics lines
  int64_t checkpointEvery = 1000;
  int64_t evalWindows = 16;
  int64_t warmupSteps = -1;     // < 0: min(1000, 5% of the steps)
  double decayFraction = 0.2;
  int64_t resampleEvery = -1;   // < 0: a tenth of the steps (at least 200); resampling stops at 60% of the run
  // < 0: topk / batchtopk: 1% of the run's tokens (at most 10M) in steps; others: resampleEvery / 2
  // (the dead fraction in metrics; AuxK's dead latents).
  int64_t deadWindow = -1;
  // ReLU: resample features whose firing density over the window since the last
  // resample is below this (0: only features that never fired in deadWindow steps).
  double resampleDensity = 1e-5;
  // standard | topk | batchtopk | jumprelu. TopK is the default: the architecture sweep on the
  // default model (docs/saes.md, "Which architecture") found it best at a short training budget.
  std::string architecture = "topk";
  int64_t k = 32;                         // topk / batchtopk: active features per token
  // topk / batchtopk: AuxK (Gao et al. 2024) on latents dead for deadWindow steps.
  double auxkCoeff = 1.0 / 32;
  int64_t auxkK = 0;                      // 0: d_in / 2
  bool auxkNormalize = true;              // SaeTrainOptions::auxkNormalize
  // topk / batchtopk: also resample by density (resampleEvery, resampleDensity) as ReLU does.
  bool resampleTopk = false;
  double l0 = -1;                         // jumprelu: L0 coefficient (< 0: 1.0)
  // jumprelu: initial threshold for every feature (> 0), or (<= 0) per-feature
  // thresholds from the first buffer that give an initial L0 of initL0.
  double initThreshold = 0;
  double initL0 = 32;
  std::string device = "auto";
  std::string mode = "auto";    // SAE step: auto | dense | sparse
  bool resume = true;           // continue from outDir/checkpoint when it matches
  std::string commandLine;      // recorded in the output for reproducibility
  // train-sae --activations DIR: training rows from the files of `zscope-cli
  // harvest` instead of the model (which still runs the CE evaluations on the
  // windows the harvest held out). Same rows, same chunks: the same SAE.
  std::string activationsDir;
  // Data-parallel (docs/cluster.md): this process is one rank of `group`. Each
  // rank harvests its own documents (every world-th, disjoint) and trains on
  // its share of `batch`, which stays the global batch; every rank holds the
  // same weights after every step; rank 0 alone writes the output.
  std::shared_ptr<dist::Group> group;
};

struct TrainSaeResult {
  int64_t steps = 0, tokens = 0;
  bool cancelled = false;
  bool resumed = false;
  std::vector<std::string> saeDirs;
  std::string metricsPath;
  double seconds = 0;
  int rank = 0, world = 1;
  std::string weightsHash;      // of the final trainer states (the same on every rank)
};

// Appends metrics lines (JSON objects) to outDir/metrics.jsonl and passes each
// to onMetrics. Throws UsageError / InputError on bad parameters or inputs; on
// cancellation saves a checkpoint and the SAEs so far and returns cancelled = true.
TrainSaeResult trainSaes(const TrainSaeParams& params, const Progress& progress,
                         const std::function<void(const std::string& jsonLine)>& onMetrics = {});

// Parses "0,2,3" or "all" (with nLayer) into layer indices; UsageError on bad input.
std::vector<int64_t> parseLayerList(const std::string& s, int64_t nLayer);

}  // namespace zs
