// SAE evaluation on constructed cases with known answers, on a small random
// GPT-2 (zs::Gpt2::init): a perfect reconstruction recovers 100% of the CE loss,
// a zero SAE 0%; L0/MSE/explained variance/dead/dense against direct computation.
#include <torch/torch.h>

#include "core/base/error.h"
#include "core/model/gpt2.h"
#include "core/sae/sae.h"
#include "core/sae/sae_eval.h"
#include "tests/support/check.h"

using namespace zs;

namespace {

Gpt2Config tinyConfig() {
  Gpt2Config c;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_embd = 32;
  c.n_positions = 32;
  c.vocab_size = 97;
  c.bos_token_id = 0;
  return c;
}

// f = [relu(z), relu(-z)], decode = f [I; -I]: reconstructs z exactly.
std::unique_ptr<Sae> identitySae(int64_t d, int64_t layer) {
  auto s = std::make_unique<Sae>();
  s->cfg.d_in = d;
  s->cfg.d_sae = 2 * d;
  s->cfg.hook_name = "blocks." + std::to_string(layer) + ".attn.hook_z";
  s->cfg.hook_layer = layer;
  s->cfg.apply_b_dec_to_input = false;
  auto I = torch::eye(d);
  s->W_enc = torch::cat({I, -I}, 1);
  s->W_dec = torch::cat({I, -I}, 0);
  s->b_enc = torch::zeros({2 * d});
  s->b_dec = torch::zeros({d});
  return s;
}

torch::Tensor batchIds(int64_t B, int64_t T, int64_t vocab) {
  torch::manual_seed(5);
  auto ids = torch::randint(1, vocab, {B, T}, torch::kInt64);
  ids.select(1, 0).fill_(0);  // BOS
  return ids;
}

}  // namespace

ZS_TEST(perfectReconstructionRecoversAll) {
  auto model = Gpt2::init(tinyConfig(), 1);
  auto sae = identitySae(32, 1);
  SaeEvaluator ev(*model, *sae);
  auto ids = batchIds(3, 16, 97);
  ev.add(ids);
  auto r = ev.result();
  ZS_CHECK_EQ(r.tokens, int64_t(3 * 15));
  ZS_CHECK(std::abs(r.ce_spliced - r.ce_clean) < 1e-5);
  ZS_CHECK(std::abs(r.ce_loss_recovered - 1.0) < 1e-3);
  ZS_CHECK(r.mse < 1e-10);
  ZS_CHECK(std::abs(r.explained_variance - 1.0) < 1e-6);
  ZS_CHECK(r.ce_zero_ablation != r.ce_clean);
  // L0: every non-zero z entry fires one of its two features; BOS excluded.
  torch::InferenceMode g;
  ForwardOptions o;
  o.capture = Capture({"blocks.1.attn.hook_z"});
  auto z = model->forward(ids, o).cache.at("blocks.1.attn.hook_z").slice(1, 1).reshape({-1, 32});
  double l0 = (z != 0).sum().item<double>() / z.size(0);
  ZS_CHECK(std::abs(r.l0 - l0) < 1e-9);
  // Dead: a feature is dead when its sign never occurs in the evaluated tokens.
  auto fires = torch::cat({(z > 0).sum(0), (z < 0).sum(0)});
  ZS_CHECK(std::abs(r.dead_fraction - (fires == 0).to(torch::kFloat64).mean().item<double>()) < 1e-12);
  ZS_CHECK(std::abs(r.dense_fraction - (fires > 0.1 * z.size(0)).to(torch::kFloat64).mean().item<double>()) < 1e-12);
  // Density shares and histogram: from the same firing counts.
  auto dens = fires.to(torch::kFloat64) / static_cast<double>(z.size(0));
  ZS_CHECK(std::abs(r.density_below_1e3 - (dens < 1e-3).to(torch::kFloat64).mean().item<double>()) < 1e-12);
  ZS_CHECK(std::abs(r.density_below_1e5 - (dens < 1e-5).to(torch::kFloat64).mean().item<double>()) < 1e-12);
  int64_t histTotal = r.dead_count;
  for (int64_t c : r.density_hist) histTotal += c;
  ZS_CHECK_EQ(histTotal, int64_t(64));
  ZS_CHECK_EQ(r.dead_count, (fires == 0).sum().item<int64_t>());
  ZS_CHECK_EQ(r.density_edges.size(), r.density_hist.size() + 1);
}

ZS_TEST(densityStatsKnownCounts) {
  // 10 features over 1e6 tokens: densities 0, 1e-6, 5e-6, 2e-5, 5e-5, 2e-4, 5e-4, 2e-3, 0.1, 1.
  SaeEvalResult r;
  densityStats({0, 1, 5, 20, 50, 200, 500, 2000, 1e5, 1e6}, 1e6, r);
  ZS_CHECK_FUZZY(r.density_below_1e5, 0.3);
  ZS_CHECK_FUZZY(r.density_below_1e4, 0.5);
  ZS_CHECK_FUZZY(r.density_below_1e3, 0.7);
  ZS_CHECK_EQ(r.dead_count, int64_t(1));
  ZS_CHECK_EQ(r.density_hist[2], int64_t(1));     // 1e-6 in [1e-6, 1e-5.5)
  ZS_CHECK_EQ(r.density_hist[12], int64_t(1));    // 0.1 in [1e-1, 1e-0.5)
  ZS_CHECK_EQ(r.density_hist.back(), int64_t(1));  // 1, clamped into the last bin
  ZS_CHECK(r.densityText().find("dead") != std::string::npos);
}

ZS_TEST(zeroSaeRecoversNothing) {
  auto model = Gpt2::init(tinyConfig(), 2);
  auto sae = identitySae(32, 0);
  sae->W_enc.zero_();  // f = 0, zhat = b_dec = 0: exactly the zero ablation
  SaeEvaluator ev(*model, *sae);
  auto ids = batchIds(2, 20, 97);
  ev.add(ids);
  auto r = ev.result();
  ZS_CHECK(std::abs(r.ce_spliced - r.ce_zero_ablation) < 1e-6);
  ZS_CHECK(std::abs(r.ce_loss_recovered) < 1e-3);
  ZS_CHECK_FUZZY(r.l0, 0.0);
  ZS_CHECK_FUZZY(r.dead_fraction, 1.0);
  ZS_CHECK_FUZZY(r.dense_fraction, 0.0);
  // MSE = mean of z^2 over non-BOS tokens.
  torch::InferenceMode g;
  ForwardOptions o;
  o.capture = Capture({"blocks.0.attn.hook_z"});
  auto z = model->forward(ids, o).cache.at("blocks.0.attn.hook_z").slice(1, 1).reshape({-1, 32});
  ZS_CHECK(std::abs(r.mse - z.pow(2).mean().item<double>()) < 1e-7);
  // Explained variance 1 - sum|z - zhat|^2 / sum|z - mean z|^2 with zhat = 0 (negative: worse than the mean).
  double evWant = 1.0 - z.pow(2).sum().item<double>() / (z - z.mean(0)).pow(2).sum().item<double>();
  ZS_CHECK(std::abs(r.explained_variance - evWant) < 1e-4 * std::abs(evWant));
  // Clean CE against the model's own loss.
  auto logits = model->forward(ids).logits;
  ZS_CHECK(std::abs(r.ce_clean - Gpt2::lossPerToken(logits, ids).mean().item<double>()) < 1e-6);
  auto j = r.toJson();
  for (const char* k : {"l0", "mse", "explained_variance", "ce_clean", "ce_spliced", "ce_zero_ablation",
                        "ce_loss_recovered", "dead_fraction", "dense_fraction", "density_below_1e-5",
                        "density_below_1e-4", "density_below_1e-3", "density_histogram", "tokens"})
    ZS_CHECK_MSG(j.contains(k), k);
  ZS_CHECK_EQ(j.size(), size_t(14));
}

ZS_TEST(halfwayReconstruction) {
  // zhat = z/2 for every token: recovered lies strictly between 0 and 1, and the
  // squared error is exactly a quarter of sum z^2.
  auto model = Gpt2::init(tinyConfig(), 3);
  auto sae = identitySae(32, 1);
  sae->W_enc.mul_(0.5);
  SaeEvaluator ev(*model, *sae);
  ev.add(batchIds(2, 16, 97));
  auto r = ev.result();
  ZS_CHECK(r.ce_loss_recovered > 0 && r.ce_loss_recovered < 1);
  auto full = identitySae(32, 1);
  SaeEvaluator ev0(*model, *full);
  full->W_enc.zero_();
  ev0.add(batchIds(2, 16, 97));
  ZS_CHECK(std::abs(r.mse - 0.25 * ev0.result().mse) < 1e-6 * ev0.result().mse);
}

ZS_TEST(rejectsMismatchedSae) {
  auto model = Gpt2::init(tinyConfig(), 1);
  auto sae = identitySae(16, 0);
  ZS_CHECK_THROWS(SaeEvaluator(*model, *sae), InputError);
}
