#pragma once
// Attribution of attention-SAE features on one prompt, exactly as
// ../shared/docs/ATTRIBUTION.md defines it: head attribution, direct feature
// attribution (DFA), the recursive DFA tree (RDFA) and feature-family
// suggestions. Torch-free: the GUI worker and the CLI use it with plain structs.
//
// An Attribution runs the model once on the prompt and keeps only what the maths
// needs (patterns, value vectors, z, ln1 scales, embeddings, attention and MLP
// outputs per layer, SAE activations). Not thread-safe: one thread owns it.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace zs {

class Model;
struct Sae;

// One node of the RDFA tree. Kinds (shared with the CLI JSON and the GUI):
// feature, source, embed, pos_embed, attn_feature, attn_error, attn_head, mlp,
// bias, rest. `value` is the node's signed contribution to the root feature's
// pre-activation; the children of every expanded node sum to it.
struct AttrNode {
  int id = -1;  // >= 0 for expandable nodes: pass it to Attribution::expand
  std::string kind, label;
  double value = 0;
  int layer = -1, pos = -1, head = -1, feature = -1;
  int dest = -1;          // source nodes: the destination position the edge feeds
  double activation = 0;  // feature / attn_feature: the feature's activation at `pos`
  bool expandable = false;
  bool expanded = false;  // children filled in (possibly none)
  std::vector<AttrNode> children;
};

struct DfaTerm {
  int pos = 0, head = 0;
  double value = 0;
};

// DFA of feature `feature` of layer `layer` at destination `pos`:
// preActivation == sum of terms + bias (float tolerance).
struct Dfa {
  int layer = -1, feature = -1, pos = -1, nHeads = 0;
  double preActivation = 0, activation = 0, bias = 0;
  std::vector<DfaTerm> terms;     // every (source s <= pos, head), s-major
  std::vector<double> bySource;   // [pos + 1]: sum over heads
  std::vector<double> byHead;     // [nHeads]: sum over sources
};

struct ActiveFeature {
  int layer = -1, feature = -1, pos = -1;
  double activation = 0;
};

// Suggested family with the numbers behind it (never overrides a person's label).
// Mass of a source s = sum over heads of |DFA[s, h]| (the bias is not a source).
struct FamilySuggestion {
  std::string family;  // "induction" | "local context" | "high-level context" | "positional" | "unclear" | "inactive"
  double inductionShare = 0;  // mass from induction sources (inductionSource below)
  double localShare = 0;      // mass from sources with dest - s <= 3
  double meanDistance = 0;    // mass-weighted mean of dest - s
  double spread = 0;          // effective number of sources: (sum m)^2 / sum m^2
  double totalMass = 0;
  int positions = 0;          // destinations aggregated (1 for a single position)
  // Where the examples fire in their context windows (only from a feature database's top examples, which
  // come from many windows; a single prompt says nothing about position): activation-weighted median and
  // interquartile range of the max-activation position; positionExamples = how many (0: not known).
  double medianPosition = 0, positionIqr = 0;
  int positionExamples = 0;
  // How alike the database's top examples are: the larger of the shares of examples whose max token, and
  // whose DFA source token (the argmax source), is the most common one. -1: not known (a single prompt).
  // Labels showed this separates interpretable features from junk (data/saes/zscope-4l/README.md).
  double consistency = -1;
  std::string reason;         // one line: which rule fired
};

// Whether source s of destination d counts as induction: s comes right after an earlier copy of d's token
// (s >= 1, token[s-1] == token[d]) and is neither d itself nor the token just before it (attending to the
// previous token is local context, even when the token two back repeats d's, as in "x, y,"), and d's
// token is not whitespace only — runs of spaces or blank lines copy themselves trivially, which is not
// induction. tokens: ids of the context; destBlank: whether token[d] is whitespace only (Tokenizer::isBlank).
template <class Ids>
bool inductionSource(const Ids& tokens, int s, int d, bool destBlank) {
  return !destBlank && s >= 1 && s < d - 1 && tokens[s - 1] == tokens[d];
}

// DFA mass at one destination, accumulated source by source (ATTRIBUTION.md,
// "Feature families"): mass = sum over heads of |DFA[s,h]|; afterCopy: s >= 1 and
// token[s-1] == token[dest].
struct DfaMass {
  double total = 0, induction = 0, local = 0, distance = 0, sumSq = 0;
  void add(double mass, int src, int dest, bool afterCopy) {
    total += mass;
    sumSq += mass * mass;
    distance += mass * (dest - src);
    if (dest - src <= 3) local += mass;
    if (afterCopy) induction += mass;
  }
};

// Activation-weighted mean of the DFA shares over several positions or examples,
// then the family rule: what the explorer shows for a feature on a prompt and
// what the database builder stores for its top examples.
struct FamilyAccumulator {
  double w = 0, induction = 0, local = 0, distance = 0, spread = 0, mass = 0;
  int n = 0;
  std::vector<std::pair<double, double>> positions;  // (position in its window, weight) of database examples
  std::vector<std::pair<int64_t, int64_t>> exampleTokens;  // (max token, DFA source token) of database examples
  void add(const DfaMass& m, double weight);  // ignored when m has no mass or weight <= 0
  // A database example's max-activation position in its window (weight: its activation).
  void addPosition(int pos, double weight);
  // A database example's max token and the token at its DFA argmax source (for FamilySuggestion::consistency).
  void addExampleTokens(int64_t maxToken, int64_t sourceToken);
  FamilySuggestion result() const;            // "inactive" when nothing was added
};

// The family rule on the numbers in f, first match wins:
//   positional          >= 8 examples' positions known and their interquartile range <= 4 tokens
//   unclear             consistency known and < 0.3 (the top examples share neither a token nor a source)
//   induction           induction share >= 0.5
//   local context       local share >= 0.4
//   high-level context  spread >= 4 and mean distance >= 4
//   unclear             otherwise, or no DFA mass
// Sets f.family and f.reason. Used by the explorer and by the feature database builder alike.
void classifyFamily(FamilySuggestion& f);
// Modal share of a list of token ids (0 when empty): the consistency measure's building block.
double modalShare(const std::vector<int64_t>& ids);
// FamilySuggestion::consistency of examples given as (max token, DFA source token): the larger modal share
// of the two; -1 (not known) for fewer than 8 examples. FamilyAccumulator::result() and the database's
// re-suggestion (db::updateFamilySuggestions) both use it.
double exampleConsistency(const std::vector<std::pair<int64_t, int64_t>>& maxAndSource);
extern const char* const kFamilyRule;  // the rule in one line, stored with the database's numbers

class Attribution {
 public:
  // Runs `model` on `tokens` (BOS already included when wanted). `saes` may be
  // empty; each is matched to its layer by hook_name. The object shares the
  // storage of the weights it reads (so it stays memory-safe if the model or an
  // SAE is destroyed), but changing weights in place afterwards (training)
  // makes its answers stale: build a new one. Throws InputError for a prompt longer than the
  // context, token ids out of range, an SAE whose d_in or layer does not fit
  // the model, or two SAEs for one layer.
  Attribution(const Model& model, const std::vector<const Sae*>& saes, std::vector<int64_t> tokens);
  ~Attribution();
  Attribution(Attribution&&) noexcept;
  Attribution& operator=(Attribution&&) noexcept;

  // Token strings used in labels (e.g. Tokenizer::displayString per token).
  void setTokenLabels(std::vector<std::string> labels);
  // Which positions hold whitespace-only tokens (Tokenizer::blankMask): such a destination is never
  // induction in the family rule. Without it, no token is taken as blank.
  void setBlankTokens(std::vector<uint8_t> blank);

  const std::vector<int64_t>& tokens() const;
  int numTokens() const;
  int nLayers() const;
  int nHeads() const;
  int dHead() const;
  std::vector<int> saeLayers() const;  // ascending
  bool hasSae(int layer) const;
  int dSae(int layer) const;           // InputError if no SAE for the layer

  // Pre-activations / activations of every feature of `layer`'s SAE at every
  // position, row-major [numTokens][dSae] (float32, as the SAE encoder computes them).
  std::vector<float> preActivations(int layer) const;
  std::vector<float> activations(int layer) const;
  // One feature's activation on every token.
  std::vector<float> featureActivations(int layer, int feature) const;
  // Exact (double) pre-activation from hook_z.
  double preActivation(int layer, int feature, int pos) const;
  // Active features (activation > 0) at `pos` across loaded layers, by
  // activation descending; top <= 0: all.
  std::vector<ActiveFeature> activeFeatures(int pos, int top = 0) const;

  // Head attribution of a feature (decoder-norm fractions per head, sum 1).
  std::vector<float> headAttribution(int layer, int feature) const;
  // Features of `layer` with the largest head attribution for `head`
  // (feature, fraction). live (optional, size dSae): only features with live[f] != 0.
  std::vector<std::pair<int, float>> topFeaturesOfHead(int layer, int head, int top,
                                                       const std::vector<uint8_t>* live = nullptr) const;

  // DFA of the affine pre-activation that equals the activation where the
  // feature fires (SAE-FORMATS.md): pre (standard, jumprelu, topk; times
  // ||W_dec[j]|| with rescaling), the magnitude path for gated SAEs.
  Dfa dfa(int layer, int feature, int pos) const;
  // Gated SAEs: the gate pre-activation's DFA (the magnitude DFA's pattern times
  // exp(-r_mag), with the gate's own bias). InputError for other architectures.
  Dfa gateDfa(int layer, int feature, int pos) const;

  FamilySuggestion family(int layer, int feature, int pos) const;
  // Aggregated over every position where the feature fires (activation-weighted).
  FamilySuggestion family(int layer, int feature) const;

  // RDFA. root(): the feature node, not yet expanded. expand(id, top): the
  // children of an expandable node, sorted by |value|, at most `top` of them
  // plus a `rest` node holding the sum of the others (top <= 0: all).
  // Node ids stay valid as long as this object.
  AttrNode root(int layer, int feature, int pos) const;
  std::vector<AttrNode> expand(int nodeId, int top) const;
  void expand(AttrNode& node, int top) const;  // fills node.children
  // root() expanded recursively to `depth` levels (root = level 0).
  AttrNode tree(int layer, int feature, int pos, int depth, int top) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> d_;
};

// The other induction signal of ATTRIBUTION.md: mean activation of every
// feature of `sae` on the first vs the second copy of repeated random-token
// sequences (BOS, then `length` random tokens, then the same tokens again).
// Induction features fire far more on the second copy. Deterministic for a seed.
struct RepeatedTokenStats {
  int sequences = 0, length = 0;
  std::vector<float> firstCopy, secondCopy;  // [dSae]: mean activation over the copy's positions
};
// bosId: the session's BOS (Session::bosId), -1 for none.
RepeatedTokenStats repeatedTokenActivations(const Model& model, const Sae& sae, int64_t bosId, int length = 24,
                                            int sequences = 16, uint64_t seed = 0);

// Head attribution straight from an SAE (no prompt needed): one feature's
// fractions [nHeads], or every feature's at once [d_sae][nHeads].
std::vector<float> headAttribution(const Sae& sae, int nHeads, int feature);
std::vector<float> headAttributionAll(const Sae& sae, int nHeads);
std::vector<std::pair<int, float>> topFeaturesOfHead(const Sae& sae, int nHeads, int head, int top,
                                                     const std::vector<uint8_t>* live = nullptr);

}  // namespace zs
