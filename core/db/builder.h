#pragma once
// Builds a feature database: one pass over a corpus computes every feature's
// dashboard (density, mean/max activation, histogram, top-k and quantile
// examples with DFA, logit effects, head attribution, family suggestion).
// Torch-free header: the GUI can start a build on its worker; the work itself
// is in builder*.cpp. Ctrl+C / the cancel flag saves the state in the database;
// running the same build again resumes and gives the same result as an
// uninterrupted run.
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/progress.h"

namespace zs::db {

struct BuildOptions {
  std::string modelDir;              // Hugging Face GPT-2 folder ("default" allowed)
  std::vector<std::string> saeDirs;  // SAELens folders, one per layer
  std::string corpus;                // text / folder / JSONL / .bin (core/corpus.h)
  std::string corpusFormat = "auto";
  std::string out;                   // the .zscope.db file
  int64_t tokens = 1000000;          // tokens to read (BOS positions not counted)
  int64_t context = 0;               // tokens per window, BOS included; 0: the model's, at most 128
  int64_t topK = 20;                 // top examples per feature
  int64_t samplesPerBucket = 4;      // quantile examples per activation bucket
  int64_t batch = 16;                // windows per forward pass
  uint64_t seed = 0;                 // quantile sampling
  std::string device = "auto";
  double checkpointSeconds = 60;     // periodic save of the resumable state
  bool force = false;                // discard an existing database's dashboards and rebuild
};

struct BuildResult {
  bool completed = false;  // false: cancelled, state saved for a resume
  bool resumed = false;    // continued from a saved state
  bool alreadyBuilt = false;
  int64_t tokens = 0, windows = 0;
  double seconds = 0;       // wall time of this run (pass + finish)
  double passSeconds = 0;   // the corpus pass alone
  double tokensPerSecond = 0;
  std::vector<int> layers;
};

// Throws UsageError for bad options, InputError for unreadable inputs or an
// output built with different options (unless force).
BuildResult buildFeatureDb(const BuildOptions& opts, const Progress& progress = {});

// The floor for `bench build-db`: the same windows through the model forward
// (stopping after the last SAE layer's hook_z) and the SAE encoders, nothing
// else. Returns tokens per second.
double measureForwardEncodeFloor(const BuildOptions& opts, const Progress& progress = {});

}  // namespace zs::db
