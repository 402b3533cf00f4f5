// Attribution on the Llama family (issue 13): with RMSNorm (Gemma: 1 + w),
// grouped-query and multi-query attention, q/k/v biases, head_dim != d/H and
// Gemma 2's post-attention norms (frozen like ln1's scale) and soft-capping,
// every node of the recursive DFA tree is the sum of its children, DFA plus the
// feature's bias is its pre-activation, and each DFA term equals what removing
// that source's value from that head's hook_z takes off the pre-activation
// (a patching check through the model's own hook_z intervention). Random models
// of each architecture, written as Hugging Face folders and loaded by model_type.
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "core/attribution/attribution.h"
#include "core/base/error.h"
#include "core/model/load.h"
#include "core/model/synthetic_checkpoint.h"
#include "tests/core/test_attribution_util.h"
#include "tests/support/check.h"

using namespace zs;

namespace {

struct Arch {
  const char* name;
  const char* config;
};

// Small configs that exercise what differs from GPT-2.
const Arch kArchs[] = {
    {"llama-gqa", R"({"model_type": "llama", "hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 97,
        "max_position_embeddings": 64, "attention_bias": true, "tie_word_embeddings": false,
        "bos_token_id": 1})"},
    {"mistral", R"({"model_type": "mistral", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 97, "max_position_embeddings": 64,
        "sliding_window": 6, "bos_token_id": 1})"},
    {"qwen2", R"({"model_type": "qwen2", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 97, "max_position_embeddings": 64,
        "bos_token_id": 1})"},
    {"gemma-mqa", R"({"model_type": "gemma", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 12, "vocab_size": 97,
        "max_position_embeddings": 64, "bos_token_id": 2})"},
    {"gemma2", R"({"model_type": "gemma2", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 97,
        "max_position_embeddings": 64, "query_pre_attn_scalar": 8, "sliding_window": 5,
        "attn_logit_softcapping": 2.0, "final_logit_softcapping": 5.0, "bos_token_id": 2})"},
};

std::unique_ptr<Model> randomModel(const Arch& a) {
  const std::string dir = test::tempDir() + "/" + a.name;
  if (!std::filesystem::exists(dir + "/config.json")) {
    SyntheticCheckpointOptions o;
    o.dtype = "float32";
    o.seed = 11;
    o.stddev = 0.2;  // large enough that attention is far from uniform
    writeSyntheticCheckpoint(dir, a.config, o);
  }
  ModelLoadOptions lo;
  lo.dtype = "float32";
  return loadModel(dir, lo);
}

std::vector<int64_t> prompt(int64_t vocab, int64_t bos) {
  std::vector<int64_t> ids = {bos};
  for (int i = 0; i < 13; ++i) ids.push_back((7 * i + 3) % vocab);
  return ids;
}

// Largest |sum(children) - value| over every expanded node. The captured
// activations are float32, so a node whose value is a small difference of large
// terms is exact only up to their rounding: measured against the root's value.
double worstGap(const AttrNode& n, int* nodes) {
  if (!n.expanded || n.children.empty()) return 0;
  double sum = 0, worst = 0;
  for (const auto& c : n.children) {
    sum += c.value;
    worst = std::max(worst, worstGap(c, nodes));
  }
  ++*nodes;
  return std::max(worst, std::fabs(sum - n.value));
}

// The most active feature of `layer` at the last position.
int topFeature(const Attribution& attr, int layer, int pos) {
  for (const auto& f : attr.activeFeatures(pos))
    if (f.layer == layer) return f.feature;
  return -1;
}

}  // namespace

ZS_TEST(treesAreCompleteOnEveryArchitecture) {
  for (const Arch& a : kArchs) {
    ZS_CONTEXT(a.name);
    auto m = randomModel(a);
    const ModelSpec& s = m->spec();
    ZS_CHECK(s.norm == NormKind::RMSNorm);
    ZS_CHECK(!s.learnedPositions);
    auto sae0 = test::randomSae(0, s.dZ(), 64, true, 3);
    auto sae2 = test::randomSae(2, s.dZ(), 64, true, 4);
    const auto ids = prompt(s.vocab, s.bosTokenId);
    Attribution attr(*m, {sae0.get(), sae2.get()}, ids);
    const int pos = static_cast<int>(ids.size()) - 1;
    const int g = topFeature(attr, 2, pos);
    ZS_CHECK_MSG(g >= 0, "no layer-2 feature fires at the last position");
    // DFA plus the bias is the pre-activation.
    const Dfa dfa = attr.dfa(2, g, pos);
    double sum = dfa.bias;
    for (const auto& t : dfa.terms) sum += t.value;
    ZS_CHECK_NEAR(sum, dfa.preActivation, 1e-4 * std::max(1.0, std::fabs(dfa.preActivation)));
    // Every node of a three-level tree (all children kept) sums its children:
    // through layer 2's values, layer 1's heads (no SAE) and layer 0's SAE features.
    const AttrNode tree = attr.tree(2, g, pos, 4, 0);
    int nodes = 0;
    const double gap = worstGap(tree, &nodes);
    ZS_CHECK_MSG(nodes > 50, std::to_string(nodes) + " nodes");
    ZS_CHECK_MSG(gap < 1e-5 * std::max(1.0, std::fabs(tree.value)), std::to_string(gap));
    ZS_CHECK(test::treeDepth(tree) >= 4);
  }
}

ZS_TEST(dfaEqualsPatchingOutOneSourceOfOneHead) {
  for (const Arch& a : kArchs) {
    ZS_CONTEXT(a.name);
    auto m = randomModel(a);
    const ModelSpec& s = m->spec();
    const int layer = 1, H = static_cast<int>(s.nHead), dh = static_cast<int>(s.dHead);
    auto sae = test::randomSae(layer, s.dZ(), 64, true, 5);
    const auto ids = prompt(s.vocab, s.bosTokenId);
    const int n = static_cast<int>(ids.size()), dest = n - 1;
    Attribution attr(*m, {sae.get()}, ids);
    const int g = topFeature(attr, layer, dest);
    ZS_CHECK(g >= 0);
    const Dfa dfa = attr.dfa(layer, g, dest);

    torch::NoGradGuard ng;
    torch::Tensor idT = torch::tensor(ids, torch::kLong).unsqueeze(0);
    const std::string b = "blocks." + std::to_string(layer) + ".attn.";
    ForwardOptions cap;
    cap.capture = Capture({b + "hook_v", b + "hook_pattern", b + "hook_z"});
    cap.stopAfterZOfLayer = layer;
    auto clean = m->forward(idT, cap);
    torch::Tensor v = clean.cache.at(b + "hook_v")[0];        // [n, K, dh]
    torch::Tensor pat = clean.cache.at(b + "hook_pattern")[0];  // [H, n, n]
    auto preOf = [&](const torch::Tensor& z) {  // z [1, n, H, dh] -> pre-activation of g at dest
      torch::Tensor x = z[0][dest].reshape({-1}) - sae->b_dec;
      return (torch::matmul(x, sae->W_enc.select(1, g)) + sae->b_enc[g]).item<double>();
    };
    const double pre = preOf(clean.cache.at(b + "hook_z"));
    ZS_CHECK_NEAR(pre, dfa.preActivation, 1e-4 * std::max(1.0, std::fabs(pre)));
    // The largest terms: take source s out of head h's z at dest via the hook.
    std::vector<DfaTerm> terms = dfa.terms;
    std::sort(terms.begin(), terms.end(), [](const DfaTerm& x, const DfaTerm& y) { return std::fabs(x.value) > std::fabs(y.value); });
    for (size_t i = 0; i < std::min<size_t>(6, terms.size()); ++i) {
      const int src = terms[i].pos, h = terms[i].head;
      const int kv = h / (H / static_cast<int>(s.nKvHead));
      ForwardOptions o = cap;
      o.zHooks[layer] = [&](int64_t, const torch::Tensor& z) {
        torch::Tensor out = z.clone();
        out[0][dest][h] -= pat[h][dest][src] * v[src][kv];
        return out;
      };
      auto patched = m->forward(idT, o);
      ZS_CHECK_NEAR(pre - preOf(patched.cache.at(b + "hook_z")), terms[i].value,
                    1e-4 * std::max(1.0, std::fabs(terms[i].value)));
      (void)dh;
    }
  }
}
