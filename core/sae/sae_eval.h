#pragma once
// SAE evaluation (internal to core, torch), definitions from ATTRIBUTION.md:
// L0, MSE and explained variance over non-BOS tokens; dead / dense fractions;
// CE loss recovered = (CE_zero - CE_spliced) / (CE_zero - CE_clean).
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/corpus.h"
#include "core/model/model.h"
#include "core/base/progress.h"
#include "core/sae/sae.h"

namespace zs {

struct SaeEvalResult {
  double l0 = 0, mse = 0, explained_variance = 0;
  double ce_clean = 0, ce_spliced = 0, ce_zero_ablation = 0, ce_loss_recovered = 0;
  double dead_fraction = 0, dense_fraction = 0;
  int64_t tokens = 0;  // non-BOS tokens evaluated
  nlohmann::json toJson() const;  // the keys `zscope-cli eval-sae --json` prints
};

// Accumulates the statistics batch by batch (ids [B, T], position 0 = BOS).
class SaeEvaluator {
 public:
  SaeEvaluator(const Model& model, const Sae& sae);
  void add(const torch::Tensor& ids);
  SaeEvalResult result() const;

 private:
  const Model& model_;
  const Sae& sae_;
  double sqErr_ = 0, sumSq_ = 0, active_ = 0;
  torch::Tensor sum_;    // [d_in] sum of z (double)
  torch::Tensor fires_;  // [d_sae] tokens each feature fired on
  double ceClean_ = 0, ceSpliced_ = 0, ceZero_ = 0;
  int64_t ceCount_ = 0, tokens_ = 0;
};

// Evaluates over up to maxTokens non-BOS tokens of `windows` (full windows only).
SaeEvalResult evaluateSae(const Model& model, const Sae& sae, TokenWindows& windows, int64_t maxTokens,
                          int64_t windowsPerBatch, const Progress& progress = {});

}  // namespace zs
