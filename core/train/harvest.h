#pragma once
// `zscope-cli harvest`: run the model once over a corpus and store hook_z
// activations of chosen layers in sharded safetensors files with an index
// (core/sae/activation_index.h), so that a sweep of SAEs trains from the files
// (`train-sae --activations DIR`) instead of re-running the model. The windows
// are the ones train-sae reads with the same options: packed windows of
// `context` tokens starting with BOS (BOS rows dropped), documents in the
// seeded order, the first `evalWindows` held out for CE evaluation, the model
// run `windowsPerForward` windows at a time. Torch-free header.
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/progress.h"

namespace zs {

struct HarvestParams {
  std::string modelDir;
  std::string corpus;
  std::string corpusFormat = "auto";
  std::string outDir;
  std::vector<int64_t> layers;
  int64_t tokens = 1000000;       // non-BOS tokens to store (rounded up to whole windows)
  int64_t context = 0;            // 0: the model's, at most 128 (train-sae's default)
  int64_t evalWindows = 16;       // held out first, as train-sae does without --eval-corpus
  uint64_t seed = 0;              // document order (train-sae's --seed)
  bool shuffle = true;            // false: train-sae --no-shuffle
  int64_t windowsPerForward = 32; // train-sae's forward batch
  int64_t shardTokens = 65536;    // tokens per shard (rounded to whole forward batches)
  std::string dtype = "float32";  // float32 | float16 | bfloat16
  std::string device = "auto";
  std::string commandLine;
};

struct HarvestResult {
  bool completed = false, resumed = false, alreadyDone = false;
  int64_t tokens = 0, windows = 0, shards = 0;
  double seconds = 0, tokensPerSecond = 0;
  std::string indexPath;
};

// Ctrl+C (the progress's cancel) keeps the shards written so far; the same
// command resumes after them and gives the same files as an uninterrupted run.
// UsageError for bad options; InputError for unreadable inputs or an output
// folder holding another harvest.
HarvestResult harvestActivations(const HarvestParams& params, const Progress& progress = {});

}  // namespace zs
