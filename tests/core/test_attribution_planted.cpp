// A hand-built two-layer model with a planted previous-token head (layer 0,
// head 0) and an induction head (layer 1, head 0), and an SAE feature that
// reads the induction head: on a repeated random-token sequence the RDFA tree's
// top path must be the planted circuit and the family must be "induction".
//
// Residual basis (d_model 64): dims 0..19 token one-hot, 20..43 position
// one-hot, 44..63 "previous token" slot written by the layer-0 head.
#include <algorithm>

#include "core/base/error.h"
#include "test_attribution_util.h"
#include "tests/support/check.h"

using namespace zs;

namespace {

constexpr int V = 20, NPOS = 24, D = 64, DH = 32, POS0 = 20, PREV0 = 44;

std::unique_ptr<Gpt2> plantedModel() {
  Gpt2Config cfg;
  cfg.n_layer = 2;
  cfg.n_head = 2;
  cfg.n_embd = D;
  cfg.n_positions = NPOS;
  cfg.vocab_size = V;
  cfg.bos_token_id = 0;
  auto m = Gpt2::init(cfg, 1);
  torch::NoGradGuard ng;
  Gpt2Weights& w = m->weights();
  for (torch::Tensor* t : {&w.wte, &w.wpe, &w.lnf_b}) t->zero_();
  w.lnf_w.fill_(1);
  for (int t = 0; t < V; ++t) w.wte[t][t] = 1;
  for (int p = 0; p < NPOS; ++p) w.wpe[p][POS0 + p] = 1;
  for (auto& lw : w.layers) {
    for (torch::Tensor* t : {&lw.ln1_b, &lw.ln2_b, &lw.c_attn_w, &lw.c_attn_b, &lw.c_proj_w, &lw.c_proj_b, &lw.fc_w,
                             &lw.fc_b, &lw.mlp_proj_w, &lw.mlp_proj_b})
      t->zero_();
    lw.ln1_w.fill_(1);
    lw.ln2_w.fill_(1);
  }
  // Layer 0, head 0: query "my position p", key "position s+1": attends to s = p-1.
  // Value copies the token; W_O writes it into the previous-token slot.
  auto& l0 = w.layers[0];
  for (int p = 0; p < NPOS - 1; ++p) {
    l0.c_attn_w[POS0 + p][p] = 2.0;          // Q
    l0.c_attn_w[POS0 + p][D + p + 1] = 2.0;  // K
  }
  for (int t = 0; t < V; ++t) {
    l0.c_attn_w[t][2 * D + t] = 1.0;  // V
    l0.c_proj_w[t][PREV0 + t] = 0.2;  // O
  }
  // Layer 1, head 0: query "my token", key "previous token of s" (K/Q composition
  // with the layer-0 head); value reads the previous-token slot.
  auto& l1 = w.layers[1];
  for (int t = 0; t < V; ++t) {
    l1.c_attn_w[t][t] = 2.0;                  // Q
    l1.c_attn_w[PREV0 + t][D + t] = 2.0;      // K
    l1.c_attn_w[PREV0 + t][2 * D + t] = 1.0;  // V
  }
  return m;
}

// Feature 0 of the layer-1 SAE: "the induction head moved token x" (zero-sum
// readout so LayerNorm centring cannot leak the embeddings into it).
std::unique_ptr<Sae> inductionSae(int x) {
  auto s = test::randomSae(1, D, 3, false, 5);
  torch::NoGradGuard ng;
  s->W_enc.zero_();
  s->b_enc.zero_();
  s->b_dec.zero_();
  for (int t = 0; t < V; ++t) s->W_enc[t][0] = t == x ? 1.0 : -1.0 / (V - 1);
  s->b_enc[0] = -1.0;
  s->W_dec[0].zero_();
  s->W_dec[0][x] = 1.0;
  return s;
}

// Layer-0 SAE whose feature 1 is "the previous token was x" (reads head 0).
std::unique_ptr<Sae> prevTokenSae(int x) {
  auto s = test::randomSae(0, D, 4, true, 6);
  torch::NoGradGuard ng;
  s->W_enc.zero_();
  s->b_enc.zero_();
  s->b_dec.zero_();
  s->W_enc[x][1] = 1.0;
  s->b_enc[1] = -1.0;
  s->W_dec[1].zero_();
  s->W_dec[1][x] = 1.0;
  return s;
}

const AttrNode& topChild(const AttrNode& n) {
  return *std::max_element(n.children.begin(), n.children.end(), [](const AttrNode& a, const AttrNode& b) {
    return std::fabs(a.value) < std::fabs(b.value);
  });
}

void inductionCircuitRow(bool layer0Sae) {
  auto model = plantedModel();
  // BOS, 8 distinct random tokens, the same 8 again.
  std::vector<int64_t> seq = {0};
  std::vector<int64_t> xs = {7, 3, 15, 9, 1, 12, 18, 5};
  for (int rep = 0; rep < 2; ++rep) seq.insert(seq.end(), xs.begin(), xs.end());
  const int x3 = static_cast<int>(xs[2]);  // token at positions 3 and 11
  const int dest = 11, first = 3, src = 4;  // src: the token after the first copy of x3
  auto sae1 = inductionSae(x3);
  auto sae0 = prevTokenSae(x3);
  std::vector<const Sae*> saes = {sae1.get()};
  if (layer0Sae) saes.push_back(sae0.get());
  Attribution a(*model, saes, seq);

  // The layer-0 head really is a previous-token head; the layer-1 head an induction head.
  Dfa r = a.dfa(1, 0, dest);
  ZS_CHECK_MSG(r.activation > 1.0, zs::test::cat(r.activation));
  ZS_CHECK(a.featureActivations(1, 0)[first] == 0.f);  // first copy: nothing to copy
  ZS_CHECK(std::fabs(r.bySource[src]) > 0.95 * (std::fabs(r.preActivation - r.bias) + 1e-9));
  ZS_CHECK(r.byHead[0] > 0.99 * (r.preActivation - r.bias));
  std::vector<float> ha = a.headAttribution(1, 0);
  ZS_CHECK_FUZZY(ha[0], 1.f);

  AttrNode root = a.tree(1, 0, dest, 4, 6);
  test::Completeness c;
  test::checkComplete(root, c);
  ZS_CHECK_MSG(c.worstRel < 1e-4, zs::test::cat("worst ", c.worstRel, " at ", c.worstLabel));

  const AttrNode& s1 = topChild(root);
  ZS_CHECK_EQ(s1.kind, std::string("source"));
  ZS_CHECK_EQ(s1.layer, 1);
  ZS_CHECK_EQ(s1.head, 0);
  ZS_CHECK_EQ(s1.pos, src);
  ZS_CHECK_EQ(s1.dest, dest);
  const AttrNode& up = topChild(s1);
  ZS_CHECK_EQ(up.layer, 0);
  ZS_CHECK_EQ(up.pos, src);
  if (layer0Sae) {
    ZS_CHECK_EQ(up.kind, std::string("attn_feature"));
    ZS_CHECK_EQ(up.feature, 1);
  } else {
    ZS_CHECK_EQ(up.kind, std::string("attn_head"));
    ZS_CHECK_EQ(up.head, 0);
  }
  ZS_CHECK(std::fabs(up.value) > 0.5 * std::fabs(s1.value));
  const AttrNode& s0 = topChild(up);
  ZS_CHECK_EQ(s0.kind, std::string("source"));
  ZS_CHECK_EQ(s0.layer, 0);
  ZS_CHECK_EQ(s0.head, 0);
  ZS_CHECK_EQ(s0.pos, src - 1);
  ZS_CHECK_EQ(s0.dest, src);
  const AttrNode& leaf = topChild(s0);
  ZS_CHECK_EQ(leaf.kind, std::string("embed"));
  ZS_CHECK_EQ(leaf.pos, src - 1);
  ZS_CHECK(leaf.value > 0);

  FamilySuggestion f = a.family(1, 0, dest);
  ZS_CHECK_EQ(f.family, std::string("induction"));
  ZS_CHECK_MSG(f.inductionShare > 0.9, zs::test::cat(f.inductionShare));
  FamilySuggestion agg = a.family(1, 0);
  ZS_CHECK_EQ(agg.family, std::string("induction"));

  // The same circuit on a whitespace-only token is not induction: runs of spaces or blank lines copy
  // themselves trivially. Marking the destination's token blank removes its induction mass.
  std::vector<uint8_t> blank(seq.size(), 0);
  for (size_t i = 0; i < seq.size(); ++i) blank[i] = seq[i] == x3;
  a.setBlankTokens(blank);
  FamilySuggestion ws = a.family(1, 0, dest);
  ZS_CHECK_EQ(ws.inductionShare, 0.0);
  ZS_CHECK(ws.family != "induction");
}

}  // namespace

ZS_TEST(inductionCircuit) {
  for (const auto& [name, layer0Sae] : {std::pair<const char*, bool>{"layer 0 split by head", false},
                                        std::pair<const char*, bool>{"layer 0 split by its SAE", true}}) {
    ZS_CONTEXT(std::string("row ") + name);
    inductionCircuitRow(layer0Sae);
  }
}

// The rule's shares and the positional class, on hand-made masses.
ZS_TEST(familyRule) {
  // inductionSource: after an earlier copy; never the destination itself, never a blank destination.
  const std::vector<int64_t> t = {0, 5, 6, 7, 5};
  ZS_CHECK(inductionSource(t, 2, 4, false));   // token[1] == token[4]
  ZS_CHECK(!inductionSource(t, 2, 4, true));   // ... but token[4] is whitespace
  ZS_CHECK(!inductionSource(t, 3, 4, false));
  ZS_CHECK(!inductionSource(t, 0, 4, false));
  const std::vector<int64_t> doubled = {0, 5, 5};
  ZS_CHECK(!inductionSource(doubled, 2, 2, false));  // the destination attending to itself
  const std::vector<int64_t> params = {0, 7, 3, 8, 3};    // "( a , b ,": the source one back follows a ','
  ZS_CHECK(!inductionSource(params, 3, 4, false));        // ... but is the previous token: local, not induction

  auto massAt = [](int src, int dest) {
    DfaMass m;
    m.add(1.0, src, dest, false);
    return m;
  };
  // Ten examples, all at position 1 of their windows, mass from BOS and itself: positional.
  FamilyAccumulator first;
  for (int i = 0; i < 10; ++i) {
    first.add(massAt(0, 1), 1.0 + i);
    first.addPosition(1, 1.0 + i);
  }
  FamilySuggestion f = first.result();
  ZS_CHECK_EQ(f.family, std::string("positional"));
  ZS_CHECK_EQ(f.positionExamples, 10);
  ZS_CHECK_EQ(f.medianPosition, 1.0);
  ZS_CHECK_EQ(f.positionIqr, 0.0);
  // The same masses at positions spread over the context: local context (d - s <= 3), not positional.
  FamilyAccumulator spread;
  for (int i = 0; i < 10; ++i) {
    spread.add(massAt(10 * i + 9, 10 * i + 10), 1.0);
    spread.addPosition(10 * i + 10, 1.0);
  }
  f = spread.result();
  ZS_CHECK_EQ(f.family, std::string("local context"));
  ZS_CHECK_MSG(f.positionIqr >= 40, zs::test::cat(f.positionIqr));
  // Too few examples to tell: no positional verdict.
  FamilyAccumulator few;
  for (int i = 0; i < 5; ++i) {
    few.add(massAt(0, 1), 1.0);
    few.addPosition(1, 1.0);
  }
  ZS_CHECK_EQ(few.result().family, std::string("local context"));
  // A prompt (no positions): the rule on shares alone.
  FamilyAccumulator prompt;
  prompt.add(massAt(0, 1), 1.0);
  ZS_CHECK_EQ(prompt.result().positionExamples, 0);
  ZS_CHECK_EQ(prompt.result().consistency, -1.0);  // unknown for a prompt: the rule on shares alone

  // Consistency: ten local examples whose max and source tokens are all different -> unclear; the same
  // with a shared source token -> local context.
  FamilyAccumulator junk, alike;
  for (int i = 0; i < 10; ++i) {
    junk.add(massAt(10 * i + 9, 10 * i + 10), 1.0);
    junk.addPosition(10 * i + 10, 1.0);
    junk.addExampleTokens(100 + i, 200 + i);
    alike.add(massAt(10 * i + 9, 10 * i + 10), 1.0);
    alike.addPosition(10 * i + 10, 1.0);
    alike.addExampleTokens(100 + i, i < 4 ? 7 : 200 + i);  // 4 of 10 share a DFA source token
  }
  f = junk.result();
  ZS_CHECK_EQ(f.consistency, 0.1);
  ZS_CHECK_EQ(f.family, std::string("unclear"));
  f = alike.result();
  ZS_CHECK_EQ(f.consistency, 0.4);
  ZS_CHECK_EQ(f.family, std::string("local context"));
  ZS_CHECK_EQ(modalShare({3, 3, 1, 2}), 0.5);
  ZS_CHECK_EQ(modalShare({}), 0.0);
  ZS_CHECK_EQ(FamilyAccumulator{}.result().family, std::string("inactive"));
}

ZS_TEST(repeatedTokens) {
  // A feature for "the induction head moved token 7": on repeated random
  // tokens it fires far more on the second copy (where every 7 recurs) than on
  // the first (only chance repeats inside the copy: the vocabulary has 19 tokens).
  auto model = plantedModel();
  auto sae = inductionSae(7);
  RepeatedTokenStats r = repeatedTokenActivations(*model, *sae, model->config().bos_token_id, 10, 32, 3);
  ZS_CHECK_EQ(r.sequences, 32);
  ZS_CHECK_EQ(static_cast<int>(r.firstCopy.size()), 3);
  ZS_CHECK_MSG(r.secondCopy[0] > 0.05, zs::test::cat(r.secondCopy[0]));
  ZS_CHECK_MSG(r.secondCopy[0] > 2 * r.firstCopy[0], zs::test::cat(r.firstCopy[0], " vs ", r.secondCopy[0]));
  // Same seed, same numbers; too long for the context is an input error.
  ZS_CHECK_EQ(repeatedTokenActivations(*model, *sae, model->config().bos_token_id, 10, 32, 3).secondCopy, r.secondCopy);
  ZS_CHECK_THROWS(repeatedTokenActivations(*model, *sae, model->config().bos_token_id, 12, 2, 3), InputError);
}
