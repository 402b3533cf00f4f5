// zscope-cli eval-sae: L0, MSE, explained variance, CE loss recovered of one SAE.
#include <torch/torch.h>

#include <iostream>

#include "core/commands/command.h"
#include "core/commands/common.h"
#include "core/corpus.h"
#include "core/error.h"
#include "core/gpt2.h"
#include "core/paths.h"
#include "core/runtime.h"
#include "core/sae.h"
#include "core/sae_eval.h"
#include "core/tokenizer.h"

namespace zs::cli {
namespace {

int runEvalSae(const Args& a) {
  const std::string dir = paths::resolveModel(a.require("model"));
  const std::string saeDir = a.require("sae"), corpus = a.require("corpus");
  torch::Device device(runtime::resolveDevice(a.get("device", "auto")));
  auto model = Gpt2::loadDir(dir, device);
  auto sae = Sae::loadDir(saeDir, device);
  sae->checkAgainst(model->config(), saeDir);
  const auto& mc = model->config();
  std::unique_ptr<Tokenizer> tok;
  std::string format = a.get("corpus-format", "auto");
  std::string detected = format == "auto" ? DocumentReader::detectFormat(corpus) : format;
  if (detected.rfind("bin", 0) != 0) tok = Tokenizer::loadDir(dir);
  WindowOptions wo;
  wo.context = a.getInt("context", sae->cfg.context_size > 0 ? std::min(sae->cfg.context_size, mc.n_positions)
                                                             : std::min<int64_t>(128, mc.n_positions));
  if (wo.context < 2 || wo.context > mc.n_positions)
    throw UsageError("--context must be in 2.." + std::to_string(mc.n_positions));
  wo.bosId = bosId(mc, dir);
  wo.vocabSize = mc.vocab_size;
  auto windows = TokenWindows::open(corpus, tok.get(), wo, format);
  int64_t tokens = a.getInt("tokens", 100000);
  if (tokens < 1) throw UsageError("--tokens must be positive");
  auto r = evaluateSae(*model, *sae, *windows, tokens, a.getInt("batch", 16), terminalProgress("eval-sae"));
  if (a.has("json")) {
    printJson(r.toJson());
  } else {
    std::cerr << "\n";
    auto j = r.toJson();
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "density_histogram") std::cout << it.key() << ": " << it.value().dump() << "\n";
    std::cout << r.densityText();
  }
  return 0;
}

Registrar reg({"eval-sae",
               "--model DIR --sae DIR --corpus PATH [--tokens N] [--context C] [--batch WINDOWS] "
               "[--corpus-format F] [--device auto|cpu|cuda] [--json]",
               "Evaluate an SAE: L0, MSE, explained variance, CE loss recovered, dead/dense features, density histogram",
               {"json"},
               &runEvalSae});

}  // namespace
}  // namespace zs::cli
