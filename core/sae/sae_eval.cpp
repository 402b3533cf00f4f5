#include "core/sae/sae_eval.h"

#include <cmath>

#include "core/base/error.h"

namespace zs {

nlohmann::json SaeEvalResult::toJson() const {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"l0", num(l0)},
          {"mse", num(mse)},
          {"explained_variance", num(explained_variance)},
          {"ce_clean", num(ce_clean)},
          {"ce_spliced", num(ce_spliced)},
          {"ce_zero_ablation", num(ce_zero_ablation)},
          {"ce_loss_recovered", num(ce_loss_recovered)},
          {"dead_fraction", num(dead_fraction)},
          {"dense_fraction", num(dense_fraction)},
          {"tokens", tokens}};
}

SaeEvaluator::SaeEvaluator(const Model& model, const Sae& sae) : model_(model), sae_(sae) {
  sae.checkAgainst(model.spec(), "SAE " + sae.cfg.hook_name);
  sum_ = torch::zeros({sae.cfg.d_in}, torch::kFloat64);
  fires_ = torch::zeros({sae.cfg.d_sae}, torch::kFloat64);
}

void SaeEvaluator::add(const torch::Tensor& idsIn) {
  torch::InferenceMode guard;
  const int64_t L = sae_.layer();
  const std::string name = "blocks." + std::to_string(L) + ".attn.hook_z";
  auto ids = idsIn.to(model_.device());
  const int64_t T = ids.size(1);
  ForwardOptions clean;
  clean.capture = Capture({name});
  auto res = model_.forward(ids, clean);
  auto z = res.cache.at(name);  // [B, T, H, dh]
  auto reconstruct = [this](const torch::Tensor& zz) {
    auto flat = zz.reshape({-1, sae_.cfg.d_in});
    return sae_.decode(sae_.encode(flat)).reshape(zz.sizes());
  };
  // Reconstruction statistics over non-BOS positions.
  auto zr = z.slice(1, 1, T).reshape({-1, sae_.cfg.d_in}).to(torch::kFloat32);
  auto f = sae_.encode(zr);
  auto zhat = sae_.decode(f);
  sqErr_ += (zhat - zr).pow(2).sum().item<double>();
  sumSq_ += zr.pow(2).sum().item<double>();
  sum_ += zr.sum(0).to(torch::kCPU, torch::kFloat64);
  auto on = (f > 0);
  active_ += on.sum().item<double>();
  fires_ += on.sum(0).to(torch::kCPU, torch::kFloat64);
  tokens_ += zr.size(0);
  // Cross-entropy: clean, spliced (z -> zhat), zero-ablated.
  auto ceSum = [&](const torch::Tensor& logits) { return Model::lossPerToken(logits, ids).sum().item<double>(); };
  ceClean_ += ceSum(res.logits);
  ForwardOptions spliced;
  spliced.zHooks[L] = [&](int64_t, const torch::Tensor& zz) { return reconstruct(zz); };
  ceSpliced_ += ceSum(model_.forward(ids, spliced).logits);
  ForwardOptions zero;
  zero.zHooks[L] = [](int64_t, const torch::Tensor& zz) { return torch::zeros_like(zz); };
  ceZero_ += ceSum(model_.forward(ids, zero).logits);
  ceCount_ += ids.size(0) * (T - 1);
}

SaeEvalResult SaeEvaluator::result() const {
  SaeEvalResult r;
  r.tokens = tokens_;
  if (tokens_ == 0) throw InputError("evaluation", "no tokens were evaluated (corpus too small for the context?)");
  const double n = static_cast<double>(tokens_);
  r.l0 = active_ / n;
  r.mse = sqErr_ / (n * static_cast<double>(sae_.cfg.d_in));
  double var = sumSq_ - sum_.pow(2).sum().item<double>() / n;
  r.explained_variance = var > 0 ? 1.0 - sqErr_ / var : std::nan("");
  r.ce_clean = ceClean_ / ceCount_;
  r.ce_spliced = ceSpliced_ / ceCount_;
  r.ce_zero_ablation = ceZero_ / ceCount_;
  double denom = r.ce_zero_ablation - r.ce_clean;
  r.ce_loss_recovered = denom != 0 ? (r.ce_zero_ablation - r.ce_spliced) / denom : std::nan("");
  r.dead_fraction = (fires_ == 0).to(torch::kFloat64).mean().item<double>();
  r.dense_fraction = (fires_ > 0.1 * n).to(torch::kFloat64).mean().item<double>();
  return r;
}

SaeEvalResult evaluateSae(const Model& model, const Sae& sae, TokenWindows& windows, int64_t maxTokens,
                          int64_t windowsPerBatch, const Progress& progress) {
  SaeEvaluator ev(model, sae);
  const int64_t T = windows.options().context;
  int64_t done = 0;
  std::vector<int64_t> w, flat;
  while (done < maxTokens) {
    if (progress.cancelled()) throw Cancelled();
    flat.clear();
    int64_t n = 0;
    while (n < windowsPerBatch && done + (n + 1) * (T - 1) <= std::max<int64_t>(maxTokens, T - 1) && windows.next(w)) {
      if (static_cast<int64_t>(w.size()) != T) continue;
      flat.insert(flat.end(), w.begin(), w.end());
      ++n;
    }
    if (n == 0) break;
    ev.add(torch::from_blob(flat.data(), {n, T}, torch::kInt64).clone());
    done += n * (T - 1);
    progress(static_cast<double>(std::min(done, maxTokens)), static_cast<double>(maxTokens), "tokens");
  }
  return ev.result();
}

}  // namespace zs
