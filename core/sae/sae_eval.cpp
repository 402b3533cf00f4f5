#include "core/sae/sae_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

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
          {"density_below_1e-5", num(density_below_1e5)},
          {"density_below_1e-4", num(density_below_1e4)},
          {"density_below_1e-3", num(density_below_1e3)},
          {"density_histogram", {{"log10_edges", density_edges}, {"counts", density_hist}, {"dead", dead_count}}},
          {"tokens", tokens}};
}

std::string SaeEvalResult::densityText() const {
  std::string out;
  char buf[160];
  std::snprintf(buf, sizeof buf, "feature density: %.1f%% dead, %.1f%% < 1e-5, %.1f%% < 1e-4, %.1f%% < 1e-3\n",
                100 * dead_fraction, 100 * density_below_1e5, 100 * density_below_1e4, 100 * density_below_1e3);
  out += buf;
  int64_t most = dead_count;
  for (int64_t c : density_hist) most = std::max(most, c);
  auto bar = [&](int64_t c) { return std::string(most > 0 ? static_cast<size_t>(40.0 * c / most + 0.5) : 0, '#'); };
  std::snprintf(buf, sizeof buf, "  %-16s %7lld %s\n", "dead", static_cast<long long>(dead_count), bar(dead_count).c_str());
  out += buf;
  for (size_t i = 0; i < density_hist.size(); ++i) {
    char range[40];
    std::snprintf(range, sizeof range, "1e%+.1f..1e%+.1f", density_edges[i], density_edges[i + 1]);
    std::snprintf(buf, sizeof buf, "  %-16s %7lld %s\n", range, static_cast<long long>(density_hist[i]),
                  bar(density_hist[i]).c_str());
    out += buf;
  }
  return out;
}

void densityStats(const std::vector<double>& fires, double tokens, SaeEvalResult& r) {
  const double m = static_cast<double>(fires.size());
  r.density_edges.clear();
  for (int i = 0; i <= 14; ++i) r.density_edges.push_back(-7.0 + 0.5 * i);  // 1e-7 .. 1e0
  r.density_hist.assign(r.density_edges.size() - 1, 0);
  r.dead_count = 0;
  double b5 = 0, b4 = 0, b3 = 0;
  for (double f : fires) {
    const double dens = tokens > 0 ? f / tokens : 0;
    b5 += dens < 1e-5;
    b4 += dens < 1e-4;
    b3 += dens < 1e-3;
    if (f <= 0) {
      ++r.dead_count;
      continue;
    }
    const double lg = std::log10(dens);
    int bin = static_cast<int>(std::floor((lg - r.density_edges.front()) / 0.5));
    bin = std::clamp(bin, 0, static_cast<int>(r.density_hist.size()) - 1);
    ++r.density_hist[bin];
  }
  r.density_below_1e5 = m > 0 ? b5 / m : 0;
  r.density_below_1e4 = m > 0 ? b4 / m : 0;
  r.density_below_1e3 = m > 0 ? b3 / m : 0;
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
    return sae_.reconstruct(flat).reshape(zz.sizes());
  };
  // Reconstruction statistics over non-BOS positions.
  auto zr = z.slice(1, 1, T).reshape({-1, sae_.cfg.d_in}).to(torch::kFloat32);
  SaeForward fw = sae_.forward(zr);
  const torch::Tensor& f = fw.actsPost;
  const torch::Tensor& zhat = fw.output;
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
  torch::Tensor fc = fires_.contiguous();
  densityStats(std::vector<double>(fc.data_ptr<double>(), fc.data_ptr<double>() + fc.numel()), n, r);
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
