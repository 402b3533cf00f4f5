// zscope-cli eval-sae: L0, MSE, explained variance, CE loss recovered of one SAE.
#include <iostream>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/data/corpus.h"
#include "core/model/model_spec.h"
#include "core/session/sae_evaluation.h"
#include "core/session/session.h"

namespace zs::cli {
namespace {

int runEvalSae(const Args& a) {
  const std::string saeDir = a.require("sae"), corpus = a.require("corpus");
  std::string format = a.get("corpus-format", "auto");
  std::string detected = format == "auto" ? DocumentReader::detectFormat(corpus) : format;
  SessionOptions so = sessionOptions(a);
  so.needTokenizer = detected.rfind("bin", 0) != 0;
  auto session = Session::open(a.require("model"), so);
  const ModelSpec& mc = session->spec();
  SaeEvaluationOptions eo;
  eo.saeDir = saeDir;
  eo.corpus = corpus;
  eo.corpusFormat = format;
  eo.context = a.has("context") ? a.getIntIn("context", 0, 2, mc.nCtx) : 0;
  eo.tokens = a.getIntIn("tokens", 100000, 1, int64_t{1} << 40);
  eo.batch = a.getIntIn("batch", 16, 1, 1 << 16);
  const SaeEvaluationReport rep = evaluateSaeFolder(*session, eo, terminalProgress("eval-sae"));
  const nlohmann::json& j = rep.metrics;
  if (a.has("json")) {
    printJson(j);
  } else {
    std::cerr << "\n";
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "density_histogram") std::cout << it.key() << ": " << it.value().dump() << "\n";
    std::cout << rep.densityText;
  }
  // Issue 19: a metric that is NaN or infinite (printed as null) is a failure, not a result.
  std::string bad;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.value().is_null()) bad += (bad.empty() ? "" : ", ") + it.key();
  if (!bad.empty()) {
    std::cerr << "zscope-cli eval-sae: error: not finite (NaN or infinity): " << bad
              << "; the SAE or the model produces non-finite values on this corpus\n";
    return 1;
  }
  return 0;
}

Registrar reg({"eval-sae",
               "--model DIR --sae DIR --corpus PATH [--tokens N] [--context C] [--batch WINDOWS] "
               "[--corpus-format F] [--device auto|cpu|cuda] [--dtype auto|float32|bfloat16] [--json]",
               "Evaluate an SAE: L0, MSE, explained variance, CE loss recovered, dead/dense features, density histogram",
               {"json"},
               &runEvalSae});

}  // namespace
}  // namespace zs::cli
