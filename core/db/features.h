#pragma once
// Feature dashboards stored in the database (written by the builder, read by
// the CLI and the GUI). Plain structs, no torch, no Qt.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/db/labels.h"

namespace zs::db {

class Db;

struct FeatureExample {
  std::string kind = "top";     // top | quantile
  int bucket = -1;              // quantile bucket (index into DbInfo::quantileEdges), -1 for top
  int rank = 0;
  int64_t window = 0;           // window index in the build's corpus pass
  float activation = 0;         // max over the window, BOS excluded
  int maxPos = 0;               // position of that max (0 = BOS)
  std::vector<int32_t> tokenIds;     // BOS first
  std::vector<std::string> tokens;   // display strings (whitespace made visible)
  std::vector<float> activations;    // per token; BOS stored as 0
  int dfaSource = -1, dfaHead = -1;  // source position and head with the largest DFA at maxPos
  float dfaValue = 0;
};

struct LogitEffect {
  int64_t tokenId = 0;
  std::string token;
  float value = 0;
};

struct FeatureStats {
  int layer = 0;
  int64_t feature = 0;
  int64_t fireCount = 0, tokens = 0;  // BOS excluded
  double density = 0;                 // fireCount / tokens
  double meanActivation = 0;          // mean over the tokens where it fires
  double maxActivation = 0;
  bool dead = false;                  // never fired on the corpus
  std::vector<float> headAttribution;  // per head, sums to 1
  std::string family;                  // suggestion (empty: none); a person's label wins
  nlohmann::json familyNumbers;        // the numbers behind the suggestion
  std::vector<LogitEffect> logitsTop, logitsBottom;
};

struct FeatureDashboard {
  FeatureStats stats;
  std::vector<FeatureExample> top;        // largest first
  std::vector<FeatureExample> quantiles;  // by bucket, then rank
  std::vector<double> histEdges;          // n+1 edges of the positive bins
  std::vector<int64_t> histCounts;        // [zero, below first edge, n bins..., at/above last edge]
  std::vector<double> quantileEdges;      // bucket b covers [edges[b-1], edges[b]) (open at both ends)
  std::optional<Label> label;
};

struct DbInfo {
  std::string modelName, modelDir, corpus;
  std::vector<std::string> saes;
  std::vector<int> layers;                 // layers with built features
  std::vector<int64_t> featuresPerLayer;   // d_sae per layer
  std::map<int, std::string> saeFingerprints;  // layer -> Sae::fingerprint() (absent in older databases)
  int64_t tokens = 0, context = 0, topK = 0;
  std::string status;                      // empty | building | done
  std::vector<double> histEdges, quantileEdges;
};

DbInfo dbInfo(Db& db);
// Activation range of a quantile bucket: {lo, hi}; lo = 0 for the first bucket,
// hi = +inf for the last. And a short name for it, e.g. "0.1–0.316".
std::pair<double, double> quantileRange(const std::vector<double>& edges, int bucket);
std::string quantileName(const std::vector<double>& edges, int bucket);
// InputError when the feature is not in the database.
FeatureDashboard readDashboard(Db& db, int layer, int64_t feature);
// The dashboard without the family suggestion and the numbers behind it, for labeling blind to the
// suggestions as the paper-style measurement does (data/saes/zscope-4l/README.md).
void hideSuggestion(FeatureDashboard& d);
std::optional<FeatureStats> readStats(Db& db, int layer, int64_t feature);
// Stats of every feature of a layer (for lists, sampling, filters), by feature id.
std::vector<FeatureStats> readLayerStats(Db& db, int layer);

// Recomputes every feature's family suggestion with the current rule (zs::classifyFamily) from the numbers
// and top examples the database stores, without the model; labels are not touched. Returns how many
// suggestions changed. One transaction.
int64_t updateFamilySuggestions(Db& db);

// A light per-feature row for lists and filters (no JSON parsing): fast even
// for tens of thousands of features.
struct FeatureSummary {
  int64_t feature = 0;
  double density = 0, maxActivation = 0;
  bool dead = false;
  std::string family;  // suggestion
};
std::vector<FeatureSummary> readLayerSummary(Db& db, int layer);

// Search (the explorer's feature search): features whose label text, family (a
// person's or the suggestion) or peak token (the max token of the top example)
// contains `text`, case-insensitively; by max activation, at most `limit`.
enum class SearchField { Any = 0, Label, Family, PeakToken };
struct FeatureHit {
  int layer = 0;
  int64_t feature = 0;
  std::string label, family, peakToken;
  double density = 0, maxActivation = 0;
};
std::vector<FeatureHit> searchFeatures(Db& db, const std::string& text, SearchField field, int limit = 200);

// A head's features (the paper's polysemanticity view): features of `layer`
// whose stored head attribution gives `head` a share of at least `minShare`,
// largest share first (ties: lower feature id first), at most `top` (<= 0: all).
// Dead features are left out unless `includeDead`. The label text and family
// are the person's label; without one, family is the builder's suggestion
// (familySuggested = true). InputError: the layer is not in the database, the
// head does not exist, or the database stores no head attribution.
struct HeadFeature {
  int layer = 0, head = 0;
  int64_t feature = 0;
  float share = 0;  // head_attribution[head]
  double density = 0, maxActivation = 0;
  bool dead = false;
  std::string label, family;
  bool familySuggested = false;
};
std::vector<HeadFeature> headFeatures(Db& db, int layer, int head, int top, double minShare, bool includeDead = false);
nlohmann::json headFeatureJson(const HeadFeature& f);

// The dashboard JSON of `zscope-cli feature --json`.
nlohmann::json dashboardJson(const FeatureDashboard& d);
nlohmann::json labelJson(const Label& l);

// ---- Writing (the builder) ----------------------------------------------------
// Inside the caller's transaction. FeatureWriter keeps its statements prepared
// (the builder writes hundreds of thousands of rows).
class FeatureWriter {
 public:
  explicit FeatureWriter(Db& db);
  ~FeatureWriter();
  void stats(const FeatureStats& s);
  void histogram(int layer, int64_t feature, const std::vector<int64_t>& counts);
  void example(int layer, int64_t feature, const FeatureExample& e);

 private:
  struct Impl;
  std::unique_ptr<Impl> d_;
};
void writeStats(Db& db, const FeatureStats& s);
void writeExample(Db& db, int layer, int64_t feature, const FeatureExample& e);

}  // namespace zs::db
