#pragma once
// SAE evaluation (internal to core, torch), definitions from ATTRIBUTION.md:
// L0, MSE and explained variance over non-BOS tokens; dead / dense fractions;
// CE loss recovered = (CE_zero - CE_spliced) / (CE_zero - CE_clean).
#include <torch/torch.h>

#include <cstdint>
#include <string>
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
  // Dying features: shares of features whose firing density (fraction of tokens
  // they fire on) is below 1e-5, 1e-4 and 1e-3 (dead ones included).
  double density_below_1e5 = 0, density_below_1e4 = 0, density_below_1e3 = 0;
  // Histogram of log10 density: density_hist[i] features in [density_edges[i],
  // density_edges[i+1]) (log10 units); dead features are counted in dead_count only.
  std::vector<double> density_edges;
  std::vector<int64_t> density_hist;
  int64_t dead_count = 0;
  int64_t tokens = 0;  // non-BOS tokens evaluated
  nlohmann::json toJson() const;  // the keys `zscope-cli eval-sae --json` prints
  std::string densityText() const;  // the histogram as text lines (eval-sae's plain output)
};

// Accumulates the statistics batch by batch (ids [B, T], position 0 = BOS).
// Feature density statistics (shares below 1e-5/1e-4/1e-3, log10 histogram)
// from per-feature firing counts over `tokens` tokens; fills those fields of r.
void densityStats(const std::vector<double>& fires, double tokens, SaeEvalResult& r);

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
