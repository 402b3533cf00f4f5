// zscope-cli bench attribute: latency of analysing a prompt (forward pass +
// cache + SAE encode) and of attributing one feature (DFA, head attribution and
// its RDFA tree three levels deep, top 6 per node), with percentiles.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

#include "core/attribution/attribution.h"
#include "core/session/session.h"
#include "core/engine/bench.h"
#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"
#include "core/model/model.h"
#include "core/base/runtime.h"
#include "core/sae/sae.h"

namespace zs::cli {
namespace {

// Without --sae: one random SAE per layer with thresholds set so that about
// `l0` features fire per token on this prompt (a realistic sparsity).
std::vector<std::shared_ptr<Sae>> randomSaes(const Model& m, const torch::Tensor& ids, int64_t dSae, double l0) {
  const ModelSpec& cfg = m.spec();
  ForwardOptions o;
  o.capture = Capture({"blocks.*.attn.hook_z"});
  torch::InferenceMode g;
  auto fr = m.forward(ids, o);
  std::vector<std::shared_ptr<Sae>> out;
  for (int64_t l = 0; l < cfg.nLayer; ++l) {
    SaeConfig c;
    c.d_in = cfg.dZ();
    c.d_sae = dSae;
    c.hook_name = "blocks." + std::to_string(l) + ".attn.hook_z";
    c.hook_layer = l;
    std::shared_ptr<Sae> s(Sae::init(c, 100 + l).release());
    torch::Tensor z = fr.cache.at(c.hook_name).reshape({-1, cfg.dZ()});
    torch::Tensor pre = torch::matmul(z - s->b_dec, s->W_enc);
    const double q = std::clamp(1.0 - l0 / static_cast<double>(dSae), 0.0, 1.0);
    s->b_enc = -torch::quantile(pre, q, 0);
    out.push_back(std::move(s));
  }
  return out;
}

size_t countNodes(const AttrNode& n) {
  size_t c = 1;
  for (const auto& k : n.children) c += countNodes(k);
  return c;
}

int runBenchAttribute(const Args& a) {
  auto session = Session::open(a.require("model"), sessionOptions(a));
  Session& s = *session;
  s.loadSaes(a.getAll("sae"));
  const ModelSpec& cfg = s.spec();
  const int64_t n = a.getInt("tokens", std::min<int64_t>(64, cfg.nCtx));
  const int64_t iters = a.getInt("iters", 30), warm = a.getInt("warmup", 3);
  const int depth = static_cast<int>(a.getInt("depth", 3)), top = static_cast<int>(a.getInt("top", 6));
  if (n < 1 || n > cfg.nCtx) throw UsageError("--tokens must be in 1.." + std::to_string(cfg.nCtx));
  if (iters < 1 || warm < 0) throw UsageError("--iters must be positive");
  torch::manual_seed(0);
  torch::Tensor idsT = torch::randint(0, cfg.vocab, {1, n}, torch::kLong);
  const std::vector<int64_t> ids(idsT.data_ptr<int64_t>(), idsT.data_ptr<int64_t>() + n);
  const bool random = s.saes().empty();
  if (random) s.setSaes(randomSaes(s.model(), idsT, a.getInt("d-sae", 8 * cfg.dZ()), 32));

  std::vector<double> analyseMs, attributeMs, totalMs;
  size_t nodes = 0;
  double l0 = 0;
  int layer = -1, feature = -1;
  for (int64_t i = 0; i < warm + iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    Attribution attr(s.model(), s.saePtrs(), ids);
    auto t1 = std::chrono::steady_clock::now();
    if (layer < 0) {
      // The most active feature of the deepest SAE layer at the last token.
      layer = attr.saeLayers().back();
      for (const auto& f : attr.activeFeatures(static_cast<int>(n) - 1))
        if (f.layer == layer) { feature = f.feature; break; }
      if (feature < 0) feature = 0;
      for (int p = 0; p < n; ++p) l0 += attr.activeFeatures(p).size();
      l0 /= static_cast<double>(n) * attr.saeLayers().size();
    }
    Dfa dfa = attr.dfa(layer, feature, static_cast<int>(n) - 1);
    std::vector<float> heads = attr.headAttribution(layer, feature);
    AttrNode tree = attr.tree(layer, feature, static_cast<int>(n) - 1, depth, top);
    auto t2 = std::chrono::steady_clock::now();
    nodes = countNodes(tree);
    if (i < warm) continue;
    analyseMs.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    attributeMs.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    totalMs.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
  }
  nlohmann::json j = {{"benchmark", "attribute"},
                      {"model", s.modelDir()},
                      {"saes", random ? "random (thresholds for ~32 active per token)" : "given"},
                      {"tokens", n},
                      {"layer", layer},
                      {"feature", feature},
                      {"depth", depth},
                      {"top", top},
                      {"tree_nodes", nodes},
                      {"mean_active_features_per_token_per_layer", l0},
                      {"iters", iters},
                      {"threads", runtime::threads()},
                      {"analyse_ms", latencyStats(analyseMs)},
                      {"attribute_ms", latencyStats(attributeMs)},
                      {"total_ms", latencyStats(totalMs)}};
  if (a.has("json")) {
    printJson(j);
  } else {
    std::printf("%lld tokens, L%d F%d, tree depth %d top %d (%zu nodes), %.1f active features/token/layer\n",
                static_cast<long long>(n), layer, feature, depth, top, nodes, l0);
    std::printf("analyse prompt (forward + cache + SAE encode): p50 %.2f ms, p90 %.2f ms\n", percentile(analyseMs, 50),
                percentile(analyseMs, 90));
    std::printf("attribute (DFA + head attribution + tree):     p50 %.2f ms, p90 %.2f ms\n", percentile(attributeMs, 50),
                percentile(attributeMs, 90));
    std::printf("total:                                          p50 %.2f ms, p90 %.2f ms\n", percentile(totalMs, 50),
                percentile(totalMs, 90));
  }
  return 0;
}

Registrar reg({"bench attribute",
               "--model DIR [--sae DIR ...] [--tokens N (64)] [--iters N (30)] [--warmup N (3)] [--depth D (3)] "
               "[--top K (6)] [--d-sae N] [--json]",
               "Measure prompt analysis and attributing one feature with its RDFA tree (no --sae: random SAEs)",
               {"json"}, &runBenchAttribute});

}  // namespace
}  // namespace zs::cli
