#pragma once
// A torch-free facade over core for the GUI worker: load a model folder and
// SAE folders, open a feature database, analyse a prompt, attribute, expand
// RDFA tree nodes. Everything it returns is a plain struct. Not thread-safe:
// one thread (the worker) owns an Engine. Maths: ../shared/docs/ATTRIBUTION.md.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/base/progress.h"
#include "core/intervention/intervention.h"

namespace zs {

struct ModelInfo {
  std::string dir, name, device;
  std::string architecture;  // "gpt2", "llama", ...
  std::string dtype;         // weights in memory: "float32" or "bfloat16"
  int64_t nLayer = 0, nHead = 0, nKvHead = 0, dHead = 0, dModel = 0, nCtx = 0, vocab = 0;
  int64_t bosId = -1;
  int threads = 0;
};

struct SaeInfo {
  std::string dir, hookName;
  int layer = -1;
  int64_t dIn = 0, dSae = 0;
  std::string fingerprint;  // Sae::fingerprint()
  std::string architecture = "standard";  // standard | gated | jumprelu | topk
  int64_t k = 0;                          // topk
};

struct TokenInfo {
  int64_t id = 0;
  std::string text;     // raw decoded bytes
  std::string display;  // whitespace made visible (Tokenizer::displayString)
};

struct FeatureRow {
  int layer = 0;
  int64_t feature = 0;
  float activation = 0;
  std::vector<float> headAttr;  // decoder-norm fractions per head (sum 1)
  std::string label, family;    // from the feature database when open
};

struct PromptAnalysis {
  uint64_t generation = 0;  // increments with every analysis; tree nodes belong to one
  std::string prompt;
  bool bos = true;
  std::vector<TokenInfo> tokens;
  // perPosition[pos]: active features over all loaded layers, by activation desc.
  std::vector<std::vector<FeatureRow>> perPosition;
  std::vector<float> firing;  // per position: sum of activations over loaded layers
  // tokenHeads[pos][l*nHead+h]: activation-weighted sum of the active features'
  // head fractions (layers without an SAE are 0).
  std::vector<std::vector<float>> tokenHeads;
  int nLayer = 0, nHead = 0, nKvHead = 0;  // nKvHead < nHead: grouped-query attention
  std::vector<int> saeLayers;
  int64_t truncatedFrom = 0;  // tokens of the prompt before truncation; 0 = not truncated
};

// A feature selected at a position: its activation on every token and its head attribution.
struct FeatureDetail {
  int layer = 0;
  int64_t feature = 0;
  int position = 0;
  std::vector<float> acts;      // per position
  std::vector<float> headAttr;  // per head of `layer` (sum 1)
  std::string label, family;
  std::string familySuggestion;  // with its numbers, from the attribution engine
};

// DFA of a feature at a destination: dfa[s*nHead+h] for s <= dest.
struct DfaResult {
  int layer = 0;
  int64_t feature = 0;
  int dest = 0, nSrc = 0, nHead = 0;
  std::vector<float> dfa;        // [nSrc][nHead]
  std::vector<float> bySource;   // [nSrc], sum over heads
  std::vector<float> byHead;     // [nHead], sum over sources
  double bias = 0;               // bias_j
  double preActivation = 0;      // pre_j[dest] = sum(dfa) + bias
  double activation = 0;
};

// One RDFA tree node (kinds of ATTRIBUTION.md: feature, source, embed,
// pos_embed, attn_feature, attn_error, attn_head, mlp, bias, rest).
struct RdfaNode {
  int id = -1;             // engine node id (expandable nodes), valid for `generation`
  uint64_t generation = 0;
  std::string kind, label;
  double value = 0;        // signed contribution; children sum to the parent
  int layer = -1, pos = -1, head = -1, feature = -1, dest = -1;
  double activation = 0;
  bool expandable = false;
};

struct ExampleToken {
  std::string display;
  float act = 0;
};
struct Example {
  std::vector<ExampleToken> tokens;
  int maxIndex = 0;
  float maxAct = 0;
  std::string title;  // "top 1", "quantile bucket 2 #1"
  int bucket = -1;                       // quantile bucket, -1 for top examples
  double rangeLo = 0, rangeHi = 0;       // the bucket's activation range (hi = +inf for the last)
  int dfaSource = -1, dfaHead = -1;      // source position and head with the largest DFA at the max
  float dfaValue = 0;
};
struct Dashboard {
  bool available = false;  // false: no feature database loaded (or feature absent)
  std::string message;
  int layer = 0;
  int64_t feature = 0;
  std::string label, family, familySuggestion;
  double density = 0, maxActivation = 0, meanActivation = 0;
  std::vector<Example> top, quantiles;
  std::vector<double> histEdges;       // n+1 edges of the positive bins
  std::vector<double> histCounts;      // n counts (positive bins)
  double histBelow = 0, histAbove = 0;  // positive activations below the first / at or above the last edge
  double zeroCount = 0;                 // tokens where it does not fire
  std::vector<double> quantileEdges;    // bucket b covers [edges[b-1], edges[b])
  std::vector<float> headAttribution;   // decoder-norm fraction per head of its layer
  std::vector<std::pair<std::string, float>> topLogits, bottomLogits;
};

// A feature found by searchFeatures (label, family or peak token).
struct FeatureSearchHit {
  int layer = 0;
  int64_t feature = 0;
  std::string label, family, peakToken;
  double density = 0, maxActivation = 0;
};

// The model's next-token predictions after a position, and its loss on the
// token at that position (-log p(token | the tokens before); NaN at position 0).
struct Prediction {
  int64_t id = 0;
  std::string display;
  float prob = 0;
};
struct PositionPredictions {
  int position = 0;
  std::vector<Prediction> top;  // most probable first
  float loss = 0;               // nats
  float probOfActual = 0;       // p(token at position | before); NaN at 0
};

// A head's features (the paper's polysemanticity view): by the head's share of
// the feature's decoder norm (head attribution).
struct HeadTopFeature {
  int64_t feature = 0;
  float fraction = 0;   // the head's share of the feature's decoder norm
  std::string label;
  std::string family;           // the person's label's family, else the suggestion
  bool familySuggested = false;  // family is the database's suggestion
  double density = -1, maxActivation = -1;  // from the feature database (-1: none open)
};

// Two prompts side by side (e.g. the IOI "ABBA" and "BABA" orders): one
// feature's activation on every token of each and its DFA at a destination of
// each. With the same token count the positions pair up (`aligned`) and the
// differences (B − A) are filled; otherwise they stay empty and B's
// destination is the position as far from its end as A's.
struct PromptSide {
  std::string prompt;
  std::vector<TokenInfo> tokens;
  std::vector<float> acts;  // the feature's activation per token
  DfaResult dfa;            // at dfa.dest
};
struct PromptComparison {
  int layer = 0;
  int64_t feature = 0;
  PromptSide a, b;
  bool aligned = false;
  std::vector<float> actDiff;          // [n] B − A per position (aligned only)
  std::vector<float> dfaBySourceDiff;  // [dest+1] B − A per source position (aligned only)
  std::vector<float> dfaByHeadDiff;    // [nHead] B − A per head (aligned only)
};

class Engine {
 public:
  Engine();
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Model folder (HF GPT-2 + vocab.json/merges.txt). device: auto|cpu|cuda. Throws InputError/UsageError.
  // Reports its stages to `progress` and stops with Cancelled when it is cancelled; on
  // any error or cancellation the previously loaded model (and its SAEs) stay.
  ModelInfo loadModel(const std::string& dir, const std::string& device = "auto", const Progress& progress = {});
  // The open model again on another device (Models & SAEs > Apply), keeping its
  // SAEs and feature database: all or nothing, like loadModel.
  ModelInfo reloadModel(const std::string& device, const Progress& progress = {});
  bool hasModel() const;
  const ModelInfo& model() const;

  // SAELens folder; checks d_in and layer against the model (InputError). Replaces the layer's SAE.
  // If an open feature database does not belong to the SAEs now loaded, it is
  // closed (takeDatabaseNotice says why): its labels would land on other features.
  SaeInfo loadSae(const std::string& dir);
  // Every SAE folder under dir (sub-folders with cfg.json), sorted by layer. All or
  // nothing: every SAE is read and checked before any replaces a loaded one, so an
  // error or a cancellation (progress per SAE) leaves the loaded SAEs as they were.
  std::vector<SaeInfo> loadSaeTree(const std::string& dir, const Progress& progress = {});
  void unloadSaes();
  // Why the last SAE load closed the feature database; empty if it did not. Clears it.
  std::string takeDatabaseNotice();
  std::vector<SaeInfo> saes() const;

  // Feature database (SQLite, issue 6). Throws InputError, also when it was built
  // from other SAEs than the loaded ones (d_sae or weight fingerprint differ for
  // a layer both have): its dashboards and labels would belong to other features.
  void openDatabase(const std::string& file, const Progress& progress = {});
  bool hasDatabase() const;
  std::string databaseFile() const;

  // Runs the model on the prompt and encodes every loaded SAE; caches what attribution needs.
  // More tokens than the model's context: InputError, or with `truncate` the
  // first nCtx tokens are analysed (PromptAnalysis::truncatedFrom says so).
  PromptAnalysis analyse(const std::string& prompt, bool bos, const Progress& progress = {}, bool truncate = false);
  FeatureDetail feature(int layer, int64_t feature, int position) const;
  DfaResult dfa(int layer, int64_t feature, int dest) const;
  // Both prompts analysed on their own (the current analysis is untouched); destA
  // outside prompt A means its last token. InputError for a prompt that does not
  // fit (unless `truncate`), a layer without SAE or a feature it lacks.
  PromptComparison comparePrompts(const std::string& promptA, const std::string& promptB, bool bos, int layer,
                                  int64_t feature, int destA, bool truncate = false) const;
  // Root node for a feature at a position, and the children of any expandable node.
  RdfaNode rdfaRoot(int layer, int64_t feature, int position) const;
  // Children of an expandable node of the current analysis (InputError when
  // `generation` is not the current one: the prompt changed meanwhile).
  std::vector<RdfaNode> expand(uint64_t generation, int nodeId, int topK = 12) const;
  uint64_t generation() const;
  // The features with the largest share of `head` (at least minShare), at most k:
  // from the open feature database (live features, labels, families, density),
  // else from the loaded SAE's decoder (the same shares; labels only).
  std::vector<HeadTopFeature> headTopFeatures(int layer, int head, int k, double minShare = 0) const;
  Dashboard dashboard(int layer, int64_t feature) const;
  // Top-k next-token predictions after `position` of the current analysis and
  // the loss on its token (one forward pass per prompt, cached).
  PositionPredictions predictions(int position, int k = 5) const;
  // Zero-ablates, scales or clamps a feature on the current analysis's prompt
  // (core/intervention/intervention.h): clean vs intervened predictions after
  // `predictPosition` (-1: the edited position, or the last), per-token losses.
  InterventionResult intervene(const Intervention& iv, int predictPosition = -1, int topK = 10) const;
  // Features of the open database whose label, family or peak token contains
  // `text` (field: 0 any, 1 label, 2 family, 3 peak token); InputError without a database.
  std::vector<FeatureSearchHit> searchFeatures(const std::string& text, int field, int limit = 200) const;

  // For other GUI panels (training, labeling): the loaded folders.
  std::string modelDir() const;

 private:
  struct Impl;
  struct PreparedSae;
  PreparedSae prepareSae(const std::string& dir) const;
  void install(std::vector<PreparedSae>&& ps);
  std::unique_ptr<Impl> d_;
};

}  // namespace zs
