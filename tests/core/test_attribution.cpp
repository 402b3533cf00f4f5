// Attribution on random models and random SAEs: DFA sums to the pre-activation,
// every RDFA node's children sum to it (with and without upstream SAEs, with
// and without a top-k cut), head attribution, errors on mismatched input.
#include <algorithm>
#include <set>

#include "core/base/error.h"
#include "test_attribution_util.h"
#include "tests/support/check.h"

using namespace zs;

namespace {

struct Fixture {
  std::unique_ptr<Gpt2> model;
  std::vector<std::unique_ptr<Sae>> saes;
  std::vector<int64_t> tokens;
  std::vector<const Sae*> ptrs(std::set<int> layers) const {
    std::vector<const Sae*> out;
    for (const auto& s : saes)
      if (layers.count(static_cast<int>(s->cfg.hook_layer))) out.push_back(s.get());
    return out;
  }
};

Fixture makeFixture() {
  Fixture f;
  Gpt2Config cfg;
  cfg.n_layer = 3;
  cfg.n_head = 4;
  cfg.n_embd = 64;
  cfg.n_positions = 32;
  cfg.vocab_size = 100;
  f.model = Gpt2::init(cfg, 7);
  test::randomiseBiases(*f.model, 8);
  for (int l = 0; l < 3; ++l) f.saes.push_back(test::randomSae(l, 64, 96, /*applyBdec=*/l != 1, 100 + l));
  torch::manual_seed(3);
  torch::Tensor t = torch::randint(0, 100, {12}, torch::kLong);
  f.tokens.assign(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + 12);
  return f;
}

// The most active feature of `layer` at `pos`.
int topFeature(const Attribution& a, int layer, int pos) {
  for (const auto& af : a.activeFeatures(pos))
    if (af.layer == layer) return af.feature;
  return -1;
}

void collectKinds(const AttrNode& n, std::set<std::string>& kinds) {
  kinds.insert(n.kind);
  for (const auto& c : n.children) collectKinds(c, kinds);
}

void checkSortedAndCut(const AttrNode& n, int top) {
  if (!n.expanded) return;
  const int nonRest = static_cast<int>(std::count_if(n.children.begin(), n.children.end(),
                                                     [](const AttrNode& c) { return c.kind != "rest"; }));
  if (top > 0) ZS_CHECK(nonRest <= top);
  for (int i = 1; i < nonRest; ++i)
    ZS_CHECK(std::fabs(n.children[i - 1].value) >= std::fabs(n.children[i].value));
  for (const auto& c : n.children) checkSortedAndCut(c, top);
}

void treeCompleteRow(bool upstream, int top) {
  Fixture f = makeFixture();
  Attribution a(*f.model, upstream ? f.ptrs({0, 1, 2}) : f.ptrs({2}), f.tokens);
  const int pos = 11, g = topFeature(a, 2, pos);
  ZS_CHECK(g >= 0);
  AttrNode root = a.tree(2, g, pos, 3, top);
  ZS_CHECK_EQ(root.kind, std::string("feature"));
  ZS_CHECK(std::fabs(root.value - a.dfa(2, g, pos).preActivation) < 1e-12);
  // A cut may keep only leaves at level 2 (embeddings dominate random models),
  // so depth 3 is asserted without a cut and by expanding an upstream node below.
  ZS_CHECK_EQ(test::treeDepth(root), top > 0 ? std::max(2, test::treeDepth(root)) : 3);
  if (top > 0) {
    AttrNode full = a.tree(2, g, pos, 2, 0);
    const AttrNode* up = nullptr;
    for (const auto& src : full.children)
      for (const auto& comp : src.children)
        if (!up && comp.expandable && std::fabs(comp.value) > 1e-6) up = &comp;
    ZS_CHECK(up);
    AttrNode copy = *up;
    a.expand(copy, top);
    for (auto& ch : copy.children) a.expand(ch, top);
    test::Completeness cu;
    test::checkComplete(copy, cu);
    ZS_CHECK_MSG(cu.worstRel < 1e-4, zs::test::cat("worst ", cu.worstRel, " at ", cu.worstLabel));
    ZS_CHECK(cu.nodesChecked >= 2);
  }
  test::Completeness c;
  test::checkComplete(root, c);
  ZS_CHECK_MSG(c.worstRel < 1e-4, zs::test::cat("worst ", c.worstRel, " at ", c.worstLabel));
  ZS_CHECK_MSG(c.nodesChecked >= (top > 0 ? top : 100), zs::test::cat(c.nodesChecked));
  checkSortedAndCut(root, top);
  std::set<std::string> kinds;
  collectKinds(root, kinds);
  if (top == 0) {
    for (const char* k : {"feature", "source", "embed", "pos_embed", "mlp", "bias"}) ZS_CHECK_MSG(kinds.count(k), k);
  }
  if (top > 0) {
    ZS_CHECK(kinds.count("source"));
  } else if (upstream) {
    ZS_CHECK(kinds.count("attn_feature") && kinds.count("attn_error"));
    ZS_CHECK(!kinds.count("attn_head"));
  } else {
    ZS_CHECK(kinds.count("attn_head") && !kinds.count("attn_feature"));
  }
  ZS_CHECK_EQ(kinds.count("rest") > 0, top > 0);
  if (top == 0) {
    // Without a cut the root's source children are exactly the DFA terms.
    Dfa r = a.dfa(2, g, pos);
    ZS_CHECK_EQ(static_cast<int>(root.children.size()), static_cast<int>(r.terms.size()) + 1);
    for (const auto& ch : root.children) {
      if (ch.kind != "source") continue;
      ZS_CHECK_EQ(ch.dest, pos);
      const double want = r.terms[ch.pos * 4 + ch.head].value;
      ZS_CHECK(std::fabs(ch.value - want) <= 1e-12 * std::max(1.0, std::fabs(want)));
    }
  }
}

}  // namespace

ZS_TEST(dfaSumsToPreActivation) {
  Fixture f = makeFixture();
  Attribution a(*f.model, f.ptrs({0, 1, 2}), f.tokens);
  int checked = 0;
  for (int l = 0; l < 3; ++l) {
    const std::vector<float> pre = a.preActivations(l);
    ZS_CHECK_EQ(static_cast<int>(pre.size()), 12 * 96);
    for (int pos : {0, 5, 11})
      for (int g : {0, 17, 95, topFeature(a, l, pos)}) {
        if (g < 0) continue;
        Dfa r = a.dfa(l, g, pos);
        ZS_CHECK_EQ(static_cast<int>(r.terms.size()), (pos + 1) * 4);
        double sum = r.bias, abs = std::fabs(r.bias), bySrc = 0, byHead = 0;
        for (const auto& t : r.terms) {
          sum += t.value;
          abs += std::fabs(t.value);
        }
        for (double x : r.bySource) bySrc += x;
        for (double x : r.byHead) byHead += x;
        ZS_CHECK_MSG(std::fabs(sum - r.preActivation) <= 1e-5 * std::max(abs, 1e-3),
                 zs::test::cat("L", l, " F", g, " @", pos, ": ", sum, " vs ", r.preActivation));
        ZS_CHECK(std::fabs(bySrc + r.bias - r.preActivation) <= 1e-5 * std::max(abs, 1e-3));
        ZS_CHECK(std::fabs(byHead + r.bias - r.preActivation) <= 1e-5 * std::max(abs, 1e-3));
        // The float32 encoder on the captured z agrees with the exact value.
        ZS_CHECK(std::fabs(pre[pos * 96 + g] - r.preActivation) <= 1e-4 * std::max(1.0, std::fabs(r.preActivation)));
        ZS_CHECK_FUZZY(r.activation, std::max(0.0, r.preActivation));
        ++checked;
      }
  }
  ZS_CHECK(checked >= 27);
}

ZS_TEST(treeComplete) {
  struct Row {
    const char* name;
    bool upstream;
    int top;
  };
  for (const Row& row : {Row{"upstream SAEs, all children", true, 0}, Row{"upstream SAEs, top 4", true, 4},
                         Row{"heads, all children", false, 0}, Row{"heads, top 3", false, 3}}) {
    ZS_CONTEXT(std::string("row ") + row.name);
    treeCompleteRow(row.upstream, row.top);
  }
}

ZS_TEST(lazyExpansionMatchesTree) {
  Fixture f = makeFixture();
  Attribution a(*f.model, f.ptrs({0, 2}), f.tokens);
  const int g = topFeature(a, 2, 9);
  AttrNode full = a.tree(2, g, 9, 2, 5);
  AttrNode lazy = a.root(2, g, 9);
  std::vector<AttrNode> kids = a.expand(lazy.id, 5);
  ZS_CHECK_EQ(kids.size(), full.children.size());
  for (size_t i = 0; i < kids.size(); ++i) {
    ZS_CHECK_EQ(kids[i].label, full.children[i].label);
    ZS_CHECK_FUZZY(kids[i].value, full.children[i].value);
    if (!kids[i].expandable) continue;
    std::vector<AttrNode> grand = a.expand(kids[i].id, 5);
    ZS_CHECK_EQ(grand.size(), full.children[i].children.size());
    double s = 0;
    for (const auto& x : grand) s += x.value;
    ZS_CHECK(std::fabs(s - kids[i].value) <= 1e-4 * std::max(1e-6, std::fabs(kids[i].value)) + 1e-9);
  }
  ZS_CHECK_THROWS(a.expand(123456, 5), InputError);
}

ZS_TEST(headAttribution) {
  Fixture f = makeFixture();
  Attribution a(*f.model, f.ptrs({1}), f.tokens);
  const Sae& s = *f.saes[1];
  for (int g : {0, 5, 95}) {
    std::vector<float> ha = a.headAttribution(1, g);
    ZS_CHECK_EQ(static_cast<int>(ha.size()), 4);
    double norms[4], total = 0;
    for (int h = 0; h < 4; ++h) total += norms[h] = s.W_dec[g].narrow(0, h * 16, 16).norm().item<double>();
    for (int h = 0; h < 4; ++h) ZS_CHECK(std::fabs(ha[h] - norms[h] / total) < 1e-6);
    ZS_CHECK_EQ(zs::headAttribution(s, 4, g), ha);
  }
  auto top = a.topFeaturesOfHead(1, 2, 10);
  ZS_CHECK_EQ(static_cast<int>(top.size()), 10);
  for (size_t i = 1; i < top.size(); ++i) ZS_CHECK(top[i - 1].second >= top[i].second);
  float best = 0;
  for (int g = 0; g < 96; ++g) best = std::max(best, a.headAttribution(1, g)[2]);
  ZS_CHECK_FUZZY(top[0].second, best);
  std::vector<uint8_t> live(96, 0);
  for (int g = 0; g < 96; g += 3) live[g] = 1;
  for (const auto& [g, frac] : a.topFeaturesOfHead(1, 2, 100, &live)) ZS_CHECK(g % 3 == 0);
  ZS_CHECK_EQ(static_cast<int>(a.topFeaturesOfHead(1, 2, 100, &live).size()), 32);
  ZS_CHECK_EQ(zs::topFeaturesOfHead(s, 4, 2, 10), top);
}

ZS_TEST(activeFeaturesAndFamily) {
  Fixture f = makeFixture();
  Attribution a(*f.model, f.ptrs({0, 1, 2}), f.tokens);
  for (int pos = 0; pos < 12; ++pos) {
    auto act = a.activeFeatures(pos);
    std::set<std::pair<int, int>> listed;
    for (const auto& af : act) {
      listed.insert({af.layer, af.feature});
      ZS_CHECK_EQ(af.pos, pos);
      ZS_CHECK(af.activation > 0);
      ZS_CHECK(a.activations(af.layer)[pos * 96 + af.feature] > 0);
      ZS_CHECK(std::fabs(af.activation - a.preActivation(af.layer, af.feature, pos)) < 1e-12);
    }
    for (int l = 0; l < 3; ++l) {
      auto acts = a.activations(l);
      for (int g = 0; g < 96; ++g)
        if (acts[pos * 96 + g] > 1e-4f) ZS_CHECK(listed.count({l, g}));
    }
    ZS_CHECK(!act.empty());
    for (size_t i = 1; i < act.size(); ++i) ZS_CHECK(act[i - 1].activation >= act[i].activation);
    ZS_CHECK(static_cast<int>(a.activeFeatures(pos, 3).size()) <= 3);
  }
  const int g = topFeature(a, 2, 11);
  FamilySuggestion fam = a.family(2, g, 11);
  ZS_CHECK(!fam.family.empty() && !fam.reason.empty());
  for (double x : {fam.inductionShare, fam.localShare}) ZS_CHECK(x >= 0 && x <= 1);
  ZS_CHECK(fam.spread >= 1 && fam.spread <= 12 && fam.meanDistance >= 0 && fam.meanDistance <= 11);
  FamilySuggestion agg = a.family(2, g);
  ZS_CHECK(agg.positions >= 1);
}

ZS_TEST(errors) {
  Fixture f = makeFixture();
  auto wrongD = test::randomSae(0, 32, 16, true, 1);
  ZS_CHECK_THROWS(Attribution(*f.model, {wrongD.get()}, f.tokens), InputError);
  auto wrongLayer = test::randomSae(5, 64, 16, true, 1);
  ZS_CHECK_THROWS(Attribution(*f.model, {wrongLayer.get()}, f.tokens), InputError);
  auto twin = test::randomSae(1, 64, 16, true, 2);
  ZS_CHECK_THROWS(Attribution(*f.model, {f.saes[1].get(), twin.get()}, f.tokens), InputError);
  ZS_CHECK_THROWS(Attribution(*f.model, {}, std::vector<int64_t>(33, 1)), InputError);
  ZS_CHECK_THROWS(Attribution(*f.model, {}, std::vector<int64_t>{1, 100}), InputError);
  ZS_CHECK_THROWS(Attribution(*f.model, {}, std::vector<int64_t>{}), InputError);
  auto noLayer = test::randomSae(1, 64, 16, true, 3);
  noLayer->cfg.hook_layer = -1;  // parsed from hook_name
  ZS_CHECK_EQ(Attribution(*f.model, {noLayer.get()}, f.tokens).saeLayers(), std::vector<int>{1});
  noLayer->cfg.hook_name = "blocks.x.attn.hook_z";
  ZS_CHECK_THROWS(Attribution(*f.model, {noLayer.get()}, f.tokens), InputError);
  noLayer->cfg.hook_name = "blocks.1.hook_resid_pre";
  noLayer->cfg.hook_layer = 1;
  ZS_CHECK_THROWS(Attribution(*f.model, {noLayer.get()}, f.tokens), InputError);
  Attribution a(*f.model, f.ptrs({1}), f.tokens);
  ZS_CHECK_THROWS(a.dfa(0, 0, 0), InputError);   // no SAE for layer 0
  ZS_CHECK_THROWS(a.dfa(1, 96, 0), InputError);  // feature out of range
  ZS_CHECK_THROWS(a.dfa(1, 0, 12), InputError);  // position out of range
  ZS_CHECK_THROWS(a.root(1, -1, 0), InputError);
  std::vector<uint8_t> shortMask(5, 1);
  ZS_CHECK_THROWS(a.topFeaturesOfHead(1, 0, 3, &shortMask), InputError);
  ZS_CHECK_THROWS(a.topFeaturesOfHead(1, 4, 3), InputError);
}
