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
#include <utility>
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
  // Shard `shardIndex` of `shardCount` (build-db --shard i/n, or one rank of a
  // distributed build): the pass covers a disjoint, contiguous run of whole
  // batches of the corpus windows (shardWindowRange) and its state is written
  // to `out` as a partial database (status "shard-done"), which
  // mergeFeatureDbShards combines into the database a single process builds.
  int shardIndex = 0, shardCount = 1;
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
  std::string out;          // the file written (the part file for a shard)
};

// Throws UsageError for bad options, InputError for unreadable inputs or an
// output built with different options (unless force).
BuildResult buildFeatureDb(const BuildOptions& opts, const Progress& progress = {});

// The windows [first, last) that shard `index` of `count` reads, in the order
// of the single-process build: the planned windows ceil(tokens / (context-1))
// are cut into batches of `batch`, and the batches into `count` contiguous runs
// (floor(i*NB/n) .. floor((i+1)*NB/n)). Shards therefore see exactly the
// batches a single process sees, which keeps per-batch float sums identical.
std::pair<int64_t, int64_t> shardWindowRange(int64_t tokens, int64_t context, int64_t batch, int index, int count);

// "<out>.part<i>-of-<n>": where shard i of n writes its partial database.
std::string shardPartPath(const std::string& out, int index, int count);
std::vector<std::string> shardPartPaths(const std::string& out, int count);

// One rank's share of a distributed build: opts with shard rank/world, written
// to shardPartPath(opts.out, rank, world). Resumes that part like build-db.
BuildResult buildFeatureDbShard(const BuildOptions& opts, int rank, int world, const Progress& progress = {});

struct MergeOptions {
  std::string out;                 // the database to write (labels in an existing one are kept)
  std::vector<std::string> parts;  // every part of one sharded build, any order
  std::string device = "auto";
  bool force = false;              // replace the dashboards of an existing database built otherwise
  bool removeParts = false;        // delete the part files after a successful merge
};

// Merges the parts of a sharded build into the database a single process
// builds with the same options (equal row by row: counts, histograms, sums,
// maxima, top-k, quantile samples), then finishes it (examples' DFA, logits,
// head attribution, families) with the model and SAEs recorded in the parts.
// InputError for missing, unfinished, duplicate or mismatched parts.
BuildResult mergeFeatureDbShards(const MergeOptions& opts, const Progress& progress = {});

// The floor for `bench build-db`: the same windows through the model forward
// (stopping after the last SAE layer's hook_z) and the SAE encoders, nothing
// else. Returns tokens per second.
double measureForwardEncodeFloor(const BuildOptions& opts, const Progress& progress = {});

}  // namespace zs::db
