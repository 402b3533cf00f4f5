#pragma once
// Internals of the feature-database builder (torch). Used by builder*.cpp and
// by the tests, which drive the builder with an in-memory model and SAEs.
#include <torch/torch.h>

#include <map>
#include <unordered_map>

#include "core/db/builder.h"
#include "core/model/model.h"
#include "core/sae/sae.h"

namespace zs {
class Tokenizer;
}

namespace zs::db {

class Db;

// Histogram: 10 log-spaced bins per decade from 1e-3 to 1e3, plus one bin below
// and one at/above; stored counts add a first "zero" bin (tokens where the
// feature is 0), so they sum to the tokens seen.
constexpr double kHistLog10Lo = -3, kHistLog10Hi = 3;
constexpr int kHistPerDecade = 10;
constexpr int kHistBins = static_cast<int>((kHistLog10Hi - kHistLog10Lo) * kHistPerDecade);  // 60
constexpr int kHistSlots = kHistBins + 2;  // below, bins, at/above (zero bin added when stored)
// Quantile buckets: half-decades of the window's max activation over the same range.
constexpr int kQuantPerDecade = 2;
constexpr int kQuantBuckets = static_cast<int>((kHistLog10Hi - kHistLog10Lo) * kQuantPerDecade) + 2;  // 14
std::vector<double> histEdges();      // 61 edges
std::vector<double> quantileEdges();  // 13 edges

struct Cand {
  float act = 0;
  int64_t window = 0;
  uint64_t key = 0;  // quantile sampling priority (smaller wins)
};

struct LayerState {
  int layer = 0;
  const Sae* sae = nullptr;
  int64_t dSae = 0;
  torch::Tensor fire, max, hist;              // int64 [dSae], f32 [dSae], int64 [dSae, kHistSlots]
  // Sum of activations: each batch's float sum, added exactly as a signed
  // fixed-point number with 64 fraction bits, so that the total does not
  // depend on the order of the batches (single process == merged shards).
  std::vector<__int128> sum;
  std::vector<std::vector<Cand>> top;         // per feature: min-heap of the best topK
  std::vector<std::vector<Cand>> quant;       // [feature*kQuantBuckets+bucket]: reservoir
};

struct BuildState {
  std::vector<LayerState> layers;
  int64_t windowsDone = 0, tokensDone = 0;
  std::map<int64_t, std::vector<int32_t>> windows;  // tokens of windows some candidate refers to
  std::unordered_map<int64_t, int> refs;
};

struct BuildInputs {
  const Model* model = nullptr;
  std::vector<const Sae*> saes;  // sorted by layer
  const Tokenizer* tokenizer = nullptr;  // may be null for .bin corpora (tokens shown as <id>)
  std::string modelName;
  int64_t bosId = -1;
};

// The whole build with loaded inputs (buildFeatureDb loads them and calls this).
// With opts.shardCount > 1 it runs the shard's pass and writes a part.
BuildResult buildWith(const BuildInputs& in, const BuildOptions& opts, const Progress& progress);
// Merges parts with loaded inputs (mergeFeatureDbShards loads them from the
// parts' recorded options and calls this). opts: the parts' build options.
BuildResult mergeWith(const BuildInputs& in, const BuildOptions& opts, const MergeOptions& m,
                      const Progress& progress);
// The build options recorded in a part (or any database the builder wrote).
BuildOptions recordedOptions(Db& db);

// Fixed-point sum helpers (exact, order-independent).
void addFixed(__int128& acc, float x);
double fixedToDouble(__int128 acc);
// Combine state b into a (disjoint windows): counts, sums, maxima, heaps.
void mergeState(BuildState& a, BuildState&& b, const BuildOptions& opts);

// Pass: accumulate one batch of equal-length windows into the state.
void accumulateBatch(BuildState& st, const BuildInputs& in, const BuildOptions& opts,
                     const std::vector<std::vector<int64_t>>& windows, int64_t firstWindow);
// Checkpoint: save / load the resumable state (inside a transaction).
void saveState(Db& db, const BuildState& st);
void loadState(Db& db, BuildState& st);
// Finish: examples with per-token activations and DFA, logits, head
// attribution, family suggestions; writes every feature. Inside a transaction.
void finishBuild(Db& db, const BuildState& st, const BuildInputs& in, const BuildOptions& opts,
                 const Progress& progress);

// Orders for the heaps: `better` is a strict total order (activation, then earlier window).
inline bool better(const Cand& a, const Cand& b) {
  return a.act > b.act || (a.act == b.act && a.window < b.window);
}
inline bool keyLess(const Cand& a, const Cand& b) {
  return a.key < b.key || (a.key == b.key && a.window < b.window);
}
uint64_t sampleKey(uint64_t seed, int layer, int64_t feature, int64_t window);

}  // namespace zs::db
