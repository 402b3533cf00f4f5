// zscope-cli attribute: head attribution, DFA and the RDFA tree of one feature
// at one position (ATTRIBUTION.md), as JSON or a readable indented tree.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "core/text/tokenizer.h"
#include "core/attribution/attribution.h"
#include "core/session/session.h"
#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"

namespace zs::cli {

// Shared with cmd_top_features.cpp.
nlohmann::json attrNodeJson(const AttrNode& n) {
  nlohmann::json j = {{"kind", n.kind}, {"value", n.value}, {"label", n.label}};
  if (n.layer >= 0) j["layer"] = n.layer;
  if (n.pos >= 0) j["pos"] = n.pos;
  if (n.head >= 0) j["head"] = n.head;
  if (n.feature >= 0) j["feature"] = n.feature;
  nlohmann::json kids = nlohmann::json::array();
  for (const auto& c : n.children) kids.push_back(attrNodeJson(c));
  j["children"] = std::move(kids);
  return j;
}

// Position argument: negative counts from the end (-1: last token).
int resolvePos(int64_t pos, int n) {
  const int64_t p = pos < 0 ? n + pos : pos;
  if (p < 0 || p >= n)
    throw UsageError("--pos " + std::to_string(pos) + " is outside the prompt's " + std::to_string(n) + " tokens");
  return static_cast<int>(p);
}

// Pads to `width` display columns (UTF-8 continuation bytes take no column).
std::string padRight(const std::string& s, size_t width) {
  size_t cols = 0;
  for (unsigned char c : s) cols += (c & 0xC0) != 0x80;
  return cols >= width ? s : s + std::string(width - cols, ' ');
}

namespace {

void printTree(const AttrNode& n, int indent) {
  std::printf("%*s%-12s %+10.4f  %s\n", indent * 2, "", n.kind.c_str(), n.value, n.label.c_str());
  for (const auto& c : n.children) printTree(c, indent + 1);
}

int runAttribute(const Args& a) {
  auto session = Session::open(a.require("model"), sessionOptions(a));
  const Session& s = *session;
  session->loadSaes(a.getAll("sae"));
  if (s.saes().empty()) throw UsageError("give at least one --sae DIR");
  const std::vector<int64_t> ids = promptIds(a, s);
  if (!a.has("layer") || !a.has("feature") || !a.has("pos")) throw UsageError("--layer, --feature and --pos are required");
  const int layer = static_cast<int>(a.getIntIn("layer", -1, 0, 1 << 20));
  const int64_t feature = a.getIntIn("feature", -1, 0, int64_t{1} << 40);
  const int depth = static_cast<int>(a.getIntIn("depth", 3, 0, 12));
  const int top = static_cast<int>(a.getIntIn("top", 6, 0, 1 << 20));
  {
    // The tree has up to k^0 + ... + k^depth nodes (k = --top, or with --top 0
    // every source: tokens x heads, and as many upstream features). Refused
    // before building it when it would not fit (issue 19: 8 GB for depth 4, top 0).
    const double k = top > 0 ? top : 2.0 * static_cast<double>(ids.size()) * static_cast<double>(s.spec().nHead);
    // A node expands only into earlier layers: at most two levels per layer below it.
    const int effDepth = std::min(depth, 2 * layer + 2);
    double nodes = 0, level = 1;
    for (int d = 0; d <= effDepth; ++d, level *= k) nodes += level;
    const double kMaxNodes = 2e6;
    if (nodes > kMaxNodes)
      throw UsageError("--depth " + std::to_string(depth) + " with --top " + std::to_string(top) + " on " +
                       std::to_string(ids.size()) + " tokens builds up to " + std::to_string(static_cast<int64_t>(std::min(nodes, 1e18))) +
                       " tree nodes (about " + std::to_string(static_cast<int64_t>(std::min(nodes * 256 / (1 << 20), 1e15))) +
                       " MiB); the limit is " + std::to_string(static_cast<int64_t>(kMaxNodes)) +
                       ": lower --depth or give a smaller --top");
  }
  Attribution attr(s.model(), s.saePtrs(), ids);
  attr.setTokenLabels(s.tokenLabels(ids));
  if (s.tokenizer()) attr.setBlankTokens(s.tokenizer()->blankMask(ids));
  const int pos = resolvePos(a.getInt("pos", 0), attr.numTokens());
  if (!attr.hasSae(layer)) throw UsageError("no --sae was given for layer " + std::to_string(layer));
  if (feature < 0 || feature >= attr.dSae(layer))
    throw UsageError("--feature must be in 0.." + std::to_string(attr.dSae(layer) - 1));
  const int g = static_cast<int>(feature);

  const Dfa dfa = attr.dfa(layer, g, pos);
  const std::vector<float> heads = attr.headAttribution(layer, g);
  const AttrNode tree = attr.tree(layer, g, pos, depth, top);
  if (a.has("json")) {
    nlohmann::json sources = nlohmann::json::array();
    for (const auto& t : dfa.terms) sources.push_back({{"pos", t.pos}, {"head", t.head}, {"value", t.value}});
    printJson({{"layer", layer},
               {"feature", g},
               {"pos", pos},
               {"pre_activation", dfa.preActivation},
               {"activation", dfa.activation},
               {"head_attribution", heads},
               {"dfa", {{"bias", dfa.bias}, {"sources", sources}}},
               {"rdfa", attrNodeJson(tree)}});
    return 0;
  }
  const auto labels = s.tokenLabels(ids);
  std::printf("L%d F%d at position %d '%s': pre-activation %.4f, activation %.4f\n", layer, g, pos,
              labels[pos].c_str(), dfa.preActivation, dfa.activation);
  std::printf("head attribution:");
  for (size_t h = 0; h < heads.size(); ++h) std::printf(" H%zu %.2f", h, heads[h]);
  FamilySuggestion fam = attr.family(layer, g, pos);
  std::printf("\nfamily suggestion: %s (%s)\n", fam.family.c_str(), fam.reason.c_str());
  std::printf("  induction share %.2f, local share %.2f, mean distance %.2f, spread %.2f sources\n",
              fam.inductionShare, fam.localShare, fam.meanDistance, fam.spread);
  if (const Sae* sae = s.saeOfLayer(layer)) {
    const int len = static_cast<int>(std::min<int64_t>(24, (s.contextLength() - 1) / 2));
    if (len >= 2) {
      RepeatedTokenStats rep = repeatedTokenActivations(s.model(), *sae, s.bosId(), len, 16, 0);
      std::printf("  repeated random tokens (16 x %d, twice): mean activation %.4f on the first copy, %.4f on the second\n",
                  len, rep.firstCopy[g], rep.secondCopy[g]);
    }
  }
  std::vector<DfaTerm> terms = dfa.terms;
  std::sort(terms.begin(), terms.end(),
            [](const DfaTerm& x, const DfaTerm& y) { return std::fabs(x.value) > std::fabs(y.value); });
  std::printf("DFA (bias %+.4f), largest terms:\n", dfa.bias);
  for (size_t i = 0; i < std::min<size_t>(8, terms.size()); ++i)
    std::printf("  src %3d %s H%d %+10.4f\n", terms[i].pos, padRight("'" + labels[terms[i].pos] + "'", 16).c_str(),
                terms[i].head, terms[i].value);
  std::printf("RDFA tree (depth %d, top %d per node; children sum to their parent):\n", depth, top);
  printTree(tree, 1);
  return 0;
}

Registrar reg({"attribute",
               "--model DIR --sae DIR [--sae DIR ...] (--prompt TEXT | --prompt-file F | --tokens IDS) --layer L "
               "--feature F --pos P [--depth D (3)] [--top K (6)] [--no-bos] [--truncate] [--device D] [--dtype T] [--json]",
               "Head attribution, DFA and the recursive attribution tree of a feature at a position",
               {"json", "no-bos", "truncate"}, &runAttribute});

}  // namespace
}  // namespace zs::cli
