#pragma once
// What `zscope-cli eval-sae` does: evaluate one SAE folder against a session's
// model on a corpus (L0, MSE, explained variance, CE loss recovered, dead and
// dense features, the density histogram; definitions in core/sae/sae_eval.h).
// Torch-free header.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/base/progress.h"

namespace zs {

class Session;

struct SaeEvaluationOptions {
  std::string saeDir, corpus, corpusFormat = "auto";
  int64_t context = 0;  // 0: the SAE's context_size, else 128 (at most the model's)
  int64_t tokens = 100000, batch = 16;
};

struct SaeEvaluationReport {
  nlohmann::json metrics;   // SaeEvalResult::toJson()
  std::string densityText;  // the density histogram as text
};

// InputError when the SAE does not fit the model or the corpus is unreadable.
SaeEvaluationReport evaluateSaeFolder(const Session& session, const SaeEvaluationOptions& o,
                                      const Progress& progress = {});

}  // namespace zs
