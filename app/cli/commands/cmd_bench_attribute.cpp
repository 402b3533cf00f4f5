// zscope-cli bench attribute: latency of analysing a prompt (forward pass +
// cache + SAE encode) and of attributing one feature (DFA, head attribution and
// its RDFA tree three levels deep, top 6 per node), with percentiles.
#include <cstdio>

#include "app/cli/command.h"
#include "core/engine/benchmarks.h"

namespace zs::cli {
namespace {

int runBenchAttribute(const Args& a) {
  BenchAttributeOptions o;
  o.model = a.require("model");
  o.saes = a.getAll("sae");
  o.device = a.get("device", "auto");
  o.dtype = a.get("dtype", "auto");
  o.tokens = a.getInt("tokens", 0);
  o.iters = a.getInt("iters", 30);
  o.warmup = a.getInt("warmup", 3);
  o.depth = static_cast<int>(a.getIntIn("depth", 3, 0, 12));
  o.top = static_cast<int>(a.getIntIn("top", 6, 0, 1 << 20));
  o.dSae = a.getInt("d-sae", 0);
  const nlohmann::json j = benchAttribute(o);
  if (a.has("json")) {
    printJson(j);
  } else {
    std::printf("%lld tokens, L%d F%d, tree depth %d top %d (%zu nodes), %.1f active features/token/layer\n",
                static_cast<long long>(j["tokens"].get<int64_t>()), j["layer"].get<int>(), j["feature"].get<int>(),
                j["depth"].get<int>(), j["top"].get<int>(), j["tree_nodes"].get<size_t>(),
                j["mean_active_features_per_token_per_layer"].get<double>());
    std::printf("analyse prompt (forward + cache + SAE encode): p50 %.2f ms, p90 %.2f ms\n", j["analyse_ms"]["p50"].get<double>(),
                j["analyse_ms"]["p90"].get<double>());
    std::printf("attribute (DFA + head attribution + tree):     p50 %.2f ms, p90 %.2f ms\n", j["attribute_ms"]["p50"].get<double>(),
                j["attribute_ms"]["p90"].get<double>());
    std::printf("total:                                          p50 %.2f ms, p90 %.2f ms\n", j["total_ms"]["p50"].get<double>(),
                j["total_ms"]["p90"].get<double>());
  }
  return 0;
}

Registrar reg({"bench attribute",
               "--model DIR [--sae DIR ...] [--tokens N (64)] [--iters N (30)] [--warmup N (3)] [--depth D (3)] "
               "[--top K (6)] [--d-sae N] [--device D] [--dtype T] [--json]",
               "Measure prompt analysis and attributing one feature with its RDFA tree (no --sae: random SAEs)",
               {"json"}, &runBenchAttribute});

}  // namespace
}  // namespace zs::cli
