// zscope-cli bench prompt: the core part of the explorer's response to
// Ctrl+Enter, measured. Engine::analyse is exactly what the GUI worker runs:
// tokenize, one forward pass with hook_z capture, encode every loaded SAE, and
// build the per-token feature lists (with labels when a database is open).
// No torch headers here: it goes through the torch-free Engine facade.
#include <chrono>
#include <cstdio>

#include "core/engine/bench.h"
#include "app/cli/command.h"
#include "core/engine/engine.h"
#include "core/base/error.h"
#include "core/base/paths.h"
#include "core/base/runtime.h"
#include "core/text/tokenizer.h"

namespace zs::cli {
namespace {

int runBenchPrompt(const Args& a) {
  Engine e;
  const ModelInfo m = e.loadModel(paths::resolveModel(a.get("model", "default")), a.get("device", "auto"));
  std::vector<std::string> saes = a.getAll("sae");
  if (saes.empty()) {
    const std::string shipped = paths::shippedSaeDir(m.dir);
    if (shipped.empty()) throw UsageError("no --sae given and no shipped SAEs for " + m.name);
    saes.push_back(shipped);
  }
  for (const auto& s : saes) e.loadSaeTree(s);
  if (a.has("db")) e.openDatabase(a.get("db"));

  const bool bos = !a.has("no-bos");
  const int64_t n = a.getInt("tokens", 64), iters = a.getInt("iters", 50), warm = a.getInt("warmup", 3);
  if (n < 1 || n > m.nCtx) throw UsageError("--tokens must be in 1.." + std::to_string(m.nCtx));
  if (iters < 1 || warm < 0) throw UsageError("--iters must be positive and --warmup not negative");
  std::string prompt = a.get("prompt");
  if (prompt.empty()) prompt = benchPromptText(*Tokenizer::loadDir(m.dir), n, bos);

  std::vector<double> ms;
  size_t tokens = 0, active = 0;
  for (int64_t i = 0; i < warm + iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const PromptAnalysis r = e.analyse(prompt, bos);
    const auto t1 = std::chrono::steady_clock::now();
    tokens = r.tokens.size();
    active = 0;
    for (const auto& p : r.perPosition) active += p.size();
    if (i >= warm) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  const size_t layers = e.saes().size();
  const double perTokenLayer = tokens && layers ? double(active) / double(tokens * layers) : 0.0;
  nlohmann::json j = {{"benchmark", "prompt"},
                      {"model", m.dir},
                      {"device", m.device},
                      {"threads", runtime::threads()},
                      {"sae_layers", layers},
                      {"database", e.hasDatabase() ? e.databaseFile() : std::string()},
                      {"tokens", tokens},
                      {"active_features_per_token_per_layer", perTokenLayer},
                      {"iters", iters},
                      {"analyse_ms", latencyStats(ms)}};
  if (a.has("json")) {
    printJson(j);
  } else {
    std::printf("%s on %s, %d threads, %zu SAE layers: a %zu-token prompt (%.1f active features/token/layer)\n",
                m.name.c_str(), m.device.c_str(), runtime::threads(), layers, tokens, perTokenLayer);
    std::printf("analyse (tokenize + forward + SAE encode + feature lists): p50 %.2f ms, p90 %.2f ms, max %.2f ms\n",
                percentile(ms, 50), percentile(ms, 90), percentile(ms, 100));
  }
  return 0;
}

Registrar reg({"bench prompt",
               "[--model DIR (default)] [--sae DIR ...] [--db FILE] [--prompt TEXT] [--tokens N (64)] [--no-bos] "
               "[--iters N (50)] [--warmup N (3)] [--device auto|cpu|cuda] [--json]",
               "Measure what the explorer does on Ctrl+Enter: tokens and every layer's feature activations",
               {"json", "no-bos"}, &runBenchPrompt});

}  // namespace
}  // namespace zs::cli
