#pragma once
// Helpers shared by the attribution tests: random SAEs built in memory and the
// completeness check (children sum to their node) over a whole tree.
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <string>

#include "core/attribution/attribution.h"
#include "core/model/gpt2.h"
#include "core/sae/sae.h"

namespace zs::test {

// Random SAE for `layer`: W_dec rows unit norm, W_enc = noisy W_dec^T, random
// biases so that roughly half the features fire on random-model activations.
inline std::unique_ptr<Sae> randomSae(int layer, int64_t d, int64_t dSae, bool applyBdec, uint64_t seed,
                                      double encScale = 2.0) {
  torch::manual_seed(seed);
  auto s = std::make_unique<Sae>();
  s->cfg.d_in = d;
  s->cfg.d_sae = dSae;
  s->cfg.hook_name = "blocks." + std::to_string(layer) + ".attn.hook_z";
  s->cfg.hook_layer = layer;
  s->cfg.apply_b_dec_to_input = applyBdec;
  torch::Tensor dec = torch::randn({dSae, d});
  s->W_dec = (dec / dec.norm(2, {1}, true)).contiguous();
  s->W_enc = (encScale * (s->W_dec.t() + 0.3 * torch::randn({d, dSae}) / std::sqrt(double(d)))).contiguous();
  s->b_enc = 0.05 * torch::randn({dSae});
  s->b_dec = 0.05 * torch::randn({d});
  return s;
}

// Makes every bias and LayerNorm parameter non-trivial, so that the tree's
// bias terms (beta, b_V, b_O, b_dec) are exercised.
inline void randomiseBiases(Gpt2& m, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard ng;
  for (auto& lw : m.weights().layers) {
    lw.ln1_w.copy_(1.0 + 0.2 * torch::randn_like(lw.ln1_w));
    lw.ln1_b.copy_(0.1 * torch::randn_like(lw.ln1_b));
    lw.c_attn_b.copy_(0.1 * torch::randn_like(lw.c_attn_b));
    lw.c_proj_b.copy_(0.1 * torch::randn_like(lw.c_proj_b));
    lw.fc_b.copy_(0.1 * torch::randn_like(lw.fc_b));
    lw.mlp_proj_b.copy_(0.05 * torch::randn_like(lw.mlp_proj_b));
  }
}

struct Completeness {
  int nodesChecked = 0;
  double worstRel = 0;
  std::string worstLabel;
};

// Walks every expanded node: |sum(children) - value| relative to the larger of
// |value| and sum |children| (cancellation makes |value| alone too strict).
inline void checkComplete(const AttrNode& n, Completeness& c) {
  if (!n.expanded || n.children.empty()) return;
  double sum = 0, abs = 0;
  for (const auto& ch : n.children) {
    sum += ch.value;
    abs += std::fabs(ch.value);
  }
  const double denom = std::max({std::fabs(n.value), abs, 1e-6});
  const double rel = std::fabs(sum - n.value) / denom;
  ++c.nodesChecked;
  if (rel > c.worstRel) {
    c.worstRel = rel;
    c.worstLabel = n.kind + " " + n.label;
  }
  for (const auto& ch : n.children) checkComplete(ch, c);
}

inline int treeDepth(const AttrNode& n) {
  int d = 0;
  for (const auto& c : n.children) d = std::max(d, 1 + treeDepth(c));
  return d;
}

}  // namespace zs::test
