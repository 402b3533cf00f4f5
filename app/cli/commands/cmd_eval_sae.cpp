// zscope-cli eval-sae: L0, MSE, explained variance, CE loss recovered of one SAE.
#include <torch/torch.h>

#include <iostream>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/data/corpus.h"
#include "core/base/error.h"
#include "core/model/load.h"
#include "core/session/session.h"
#include "core/base/paths.h"
#include "core/base/runtime.h"
#include "core/sae/sae.h"
#include "core/sae/sae_eval.h"
#include "core/text/tokenizer.h"

namespace zs::cli {
namespace {

int runEvalSae(const Args& a) {
  const std::string saeDir = a.require("sae"), corpus = a.require("corpus");
  std::string format = a.get("corpus-format", "auto");
  std::string detected = format == "auto" ? DocumentReader::detectFormat(corpus) : format;
  SessionOptions so = sessionOptions(a);
  so.needTokenizer = detected.rfind("bin", 0) != 0;
  auto session = Session::open(a.require("model"), so);
  auto sae = session->readSae(saeDir);
  const ModelSpec& mc = session->spec();
  WindowOptions wo;
  wo.context = a.getInt("context", sae->cfg.context_size > 0 ? std::min(sae->cfg.context_size, mc.nCtx)
                                                             : std::min<int64_t>(128, mc.nCtx));
  if (wo.context < 2 || wo.context > mc.nCtx)
    throw UsageError("--context must be in 2.." + std::to_string(mc.nCtx));
  wo.bosId = session->bosId();
  wo.vocabSize = mc.vocab;
  auto windows = TokenWindows::open(corpus, session->tokenizer(), wo, format);
  int64_t tokens = a.getInt("tokens", 100000);
  if (tokens < 1) throw UsageError("--tokens must be positive");
  auto r = evaluateSae(session->model(), *sae, *windows, tokens, a.getInt("batch", 16), terminalProgress("eval-sae"));
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
