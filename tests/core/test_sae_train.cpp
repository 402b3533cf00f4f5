// SAE training maths: hand-written gradients against autograd (dense and sparse
// paths), unit-norm decoder rows, resampling of planted dead features, and
// recovery of planted sparse directions.
#include <torch/torch.h>

#include <cstdio>
#include <map>

#include "core/base/error.h"
#include "core/sae/sae.h"
#include "core/train/sae_train.h"
#include "tests/support/check.h"

using namespace zs;

namespace {

std::unique_ptr<Sae> smallSae(int64_t dIn, int64_t dSae, uint64_t seed, bool applyBDec = true) {
  SaeConfig c;
  c.d_in = dIn;
  c.d_sae = dSae;
  c.hook_name = "blocks.0.attn.hook_z";
  c.hook_layer = 0;
  c.apply_b_dec_to_input = applyBDec;
  auto s = Sae::init(c, seed);
  torch::manual_seed(static_cast<uint64_t>(seed));
  s->W_enc = s->W_enc * 0.7 + 0.1 * torch::randn_like(s->W_enc);  // untied, so W_enc and W_dec gradients differ
  s->b_enc = -0.3 * torch::rand({dSae});
  s->b_dec = 0.2 * torch::randn({dIn});
  return s;
}

// Reference gradients with autograd, loss exactly as ATTRIBUTION.md writes it.
std::vector<torch::Tensor> autogradGrads(const Sae& s, const torch::Tensor& x, double l1, double* lossOut) {
  auto We = s.W_enc.clone().requires_grad_(true), Wd = s.W_dec.clone().requires_grad_(true);
  auto be = s.b_enc.clone().requires_grad_(true), bd = s.b_dec.clone().requires_grad_(true);
  auto xin = s.cfg.apply_b_dec_to_input ? x - bd : x;
  auto f = torch::relu(xin.matmul(We) + be);
  auto xhat = f.matmul(Wd) + bd;
  auto loss = ((xhat - x).pow(2).sum(1) + l1 * f.abs().sum(1)).mean();
  loss.backward();
  *lossOut = loss.item<double>();
  return {We.grad(), Wd.grad(), be.grad(), bd.grad()};
}

void gradientsMatchAutogradRow(bool sparse, bool applyBDec) {
  auto s = smallSae(12, 40, 5, applyBDec);
  auto x = torch::randn({64, 12}, torch::TensorOptions().dtype(torch::kFloat64)).to(torch::kFloat32);
  const double l1 = 0.7;
  double refLoss = 0;
  auto ref = autogradGrads(*s, x, l1, &refLoss);
  SaeTrainOptions o;
  o.l1 = l1;
  SaeTrainer tr(*s, o);
  SaeGrads g;
  auto st = tr.gradients(x, g, sparse);
  ZS_CHECK_EQ(st.sparse, sparse);
  ZS_CHECK(std::abs(st.loss - refLoss) < 1e-5 * std::max(1.0, refLoss));
  ZS_CHECK(st.l0 > 1 && st.l0 < 39);  // some features on, some off: both ReLU branches tested
  // float32 throughout: relative tolerance 1e-4 of the largest entry.
  auto close = [](const torch::Tensor& a, const torch::Tensor& b) {
    double scale = std::max(1e-6, b.abs().max().item<double>());
    return (a - b).abs().max().item<double>() / scale < 1e-4;
  };
  ZS_CHECK(close(g.W_encT.t(), ref[0]));
  ZS_CHECK(close(g.W_dec, ref[1]));
  ZS_CHECK(close(g.b_enc, ref[2]));
  ZS_CHECK(close(g.b_dec, ref[3]));
}

}  // namespace

ZS_TEST(gradientsMatchAutograd) {
  struct Row {
    const char* name;
    bool sparse, applyBDec;
  };
  for (const Row& row : {Row{"dense", false, true}, Row{"sparse", true, true},
                         Row{"dense, no b_dec on input", false, false}, Row{"sparse, no b_dec on input", true, false}}) {
    ZS_CONTEXT(std::string("row ") + row.name);
    gradientsMatchAutogradRow(row.sparse, row.applyBDec);
  }
}

ZS_TEST(decoderRowsStayUnitNorm) {
  auto s = smallSae(16, 64, 2);
  SaeTrainOptions o;
  o.l1 = 0.5;
  o.lr = 1e-2;  // large steps make drift visible if renormalisation were missing
  o.warmupSteps = 0;
  for (std::string mode : {"dense", "sparse"}) {
    o.mode = mode;
    SaeTrainer tr(*s, o);
    for (int i = 0; i < 20; ++i) tr.step(torch::randn({128, 16}) * 3);
    auto norms = tr.dec.norm(2, {1});
    ZS_CHECK_MSG(torch::allclose(norms, torch::ones_like(norms), 1e-5, 1e-5), mode);
    Sae out;
    out.cfg = s->cfg;
    tr.syncToSae(out);
    ZS_CHECK(torch::allclose(out.W_enc, tr.encT.t()));
  }
}

ZS_TEST(parallelGradientRemoved) {
  // step() removes from each W_dec row's gradient its component parallel to the
  // row, steps Adam, and renormalises the rows. Adam's update is elementwise
  // (sign-like on the first step), so the row change itself is not orthogonal to
  // the row; what is observable is the gradient Adam was given: with beta1 = 0
  // (the default) its first moment m.W_dec after the first step is exactly that
  // gradient, and the new rows follow from it and v.W_dec.
  auto s = smallSae(8, 16, 4);
  SaeTrainOptions o;
  o.l1 = 0.3;
  o.lr = 1e-2;
  o.warmupSteps = 0;
  o.mode = "dense";
  ZS_CHECK_EQ(o.beta1, 0.0);
  torch::manual_seed(11);
  const auto x = torch::randn({32, 8});
  // The raw gradient at the starting weights has a clear parallel part, so a
  // trainer that did not remove it would fail the checks below.
  SaeGrads raw;
  SaeTrainer(*s, o).gradients(x, raw, /*sparse=*/false);
  SaeTrainer tr(*s, o);
  const torch::Tensor before = tr.dec.clone();
  const auto rawPar = (raw.W_dec * before).sum(1);  // [d_sae]
  const auto rawNorm = raw.W_dec.norm(2, {1});
  ZS_CHECK_GT((rawPar.abs() / rawNorm.clamp_min(1e-12)).max().item<double>(), 0.1);

  tr.step(x);
  ZS_CHECK_EQ(tr.stepsDone(), int64_t(1));
  const auto state = tr.state("");
  const std::map<std::string, torch::Tensor> st(state.begin(), state.end());
  const torch::Tensor applied = st.at("m.W_dec"), v = st.at("v.W_dec");
  // No component parallel to the row before the step, beyond float rounding.
  const auto par = (applied * before).sum(1).abs();
  ZS_CHECK_MSG((par <= 1e-5 * rawNorm + 1e-9).all().item<bool>(),
               zs::test::cat("largest parallel part ", par.max().item<double>()));
  // It is the raw gradient less exactly its parallel part (nothing else removed).
  const auto want = raw.W_dec - rawPar.unsqueeze(1) * before;
  ZS_CHECK_LT((applied - want).abs().max().item<double>(), 1e-5 * raw.W_dec.abs().max().item<double>());
  // The new rows: the Adam step taken with that gradient, renormalised to unit norm.
  const double bc2 = 1.0 - o.beta2;  // bias corrections of step 1 (bc1 = 1 with beta1 = 0)
  const auto moved = before - tr.lrAt(0) * applied / (v.sqrt() / std::sqrt(bc2) + o.eps);
  ZS_CHECK(torch::allclose(tr.dec, moved / moved.norm(2, {1}, true), 1e-5, 1e-6));
  const auto norms = tr.dec.norm(2, {1});
  ZS_CHECK(torch::allclose(norms, torch::ones_like(norms), 1e-5, 1e-5));
  ZS_CHECK(!torch::allclose(tr.dec, before, 1e-4, 1e-4));  // the step did move the rows
}

ZS_TEST(resamplingRevivesDeadFeatures) {
  auto s = smallSae(16, 48, 9);
  // Plant 5 dead features: zero encoder rows and a negative bias never fire.
  std::vector<int64_t> dead = {3, 10, 11, 30, 47};
  for (int64_t j : dead) {
    s->W_enc.select(1, j).zero_();
    s->b_enc[j] = -1.0;
  }
  SaeTrainOptions o;
  o.l1 = 0.2;
  o.lr = 1e-3;
  o.warmupSteps = 0;
  o.mode = "dense";
  SaeTrainer tr(*s, o);
  torch::manual_seed(1);
  for (int i = 0; i < 30; ++i) tr.step(torch::randn({64, 16}));
  auto since = tr.stepsSinceFired();
  for (int64_t j : dead) ZS_CHECK_EQ(since[j].item<int64_t>(), 30);
  std::vector<int64_t> deadFound;
  for (int64_t j = 0; j < 48; ++j)
    if (since[j].item<int64_t>() >= 30) deadFound.push_back(j);
  ZS_CHECK_EQ(deadFound, dead);
  auto liveMask = torch::ones({48}, torch::kBool);
  for (int64_t j : dead) liveMask[j] = false;
  double meanLive = tr.encT.norm(2, {1}).index({liveMask}).mean().item<double>();
  auto cand = torch::randn({512, 16}) * 2;
  ZS_CHECK_EQ(tr.resampleDead(cand, 30, 7), int64_t(5));
  auto st = tr.state("");
  std::map<std::string, torch::Tensor> m(st.begin(), st.end());
  for (int64_t j : dead) {
    auto row = tr.dec[j];
    ZS_CHECK(std::abs(row.norm().item<double>() - 1.0) < 1e-5);
    // The row is normalise(z - b_dec) for one of the candidates.
    auto dirs = cand - tr.bdec;
    dirs = dirs / dirs.norm(2, {1}, true);
    ZS_CHECK(dirs.matmul(row).max().item<double>() > 1 - 1e-5);
    ZS_CHECK(torch::allclose(tr.encT[j], row * (0.2 * meanLive), 1e-5, 1e-6));
    ZS_CHECK_EQ(tr.benc[j].item<float>(), 0.f);
    ZS_CHECK_EQ(m["v.W_encT"][j].abs().sum().item<float>(), 0.f);
    ZS_CHECK_EQ(m["v.W_dec"][j].abs().sum().item<float>(), 0.f);
    ZS_CHECK_EQ(m["v.b_enc"][j].item<float>(), 0.f);
    ZS_CHECK_EQ(since[j].item<int64_t>() >= 0, true);
  }
  // Revived: each fires on the inputs it was built from (pre = 0.2*meanLive*|z-b_dec| > 0).
  auto f = torch::relu(torch::addmm(tr.benc, cand - tr.bdec, tr.encT.t()));
  for (int64_t j : dead) ZS_CHECK(f.select(1, j).gt(0).any().item<bool>());
  tr.step(cand.slice(0, 0, 256));
  for (int64_t j : dead) ZS_CHECK_EQ(tr.stepsSinceFired()[j].item<int64_t>(), int64_t(0));
}

ZS_TEST(recoversPlantedDirections) {
  // Data: sparse combinations (about 3 of 16) of fixed unit directions in 32-d.
  const int64_t d = 32, K = 16;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(123);
  auto U = at::normal(0, 1, {K, d}, gen);
  U = U / U.norm(2, {1}, true);
  auto sample = [&](int64_t n) {
    auto on = at::rand({n, K}, gen) < (3.0 / K);
    auto mag = 1.0 + at::rand({n, K}, gen);
    return (on.to(torch::kFloat32) * mag).matmul(U) + 0.5;  // with an offset for b_dec
  };
  SaeConfig c;
  c.d_in = d;
  c.d_sae = 2 * K;
  c.hook_name = "blocks.0.attn.hook_z";
  auto s = Sae::init(c, 4);
  s->b_dec = sample(2048).mean(0);
  SaeTrainOptions o;
  o.l1 = 0.1;
  o.lr = 3e-3;
  o.warmupSteps = 50;
  o.totalSteps = 1500;
  SaeTrainer tr(*s, o);
  for (int64_t step = 1; step <= o.totalSteps; ++step) {
    tr.step(sample(256));
    if (step % 300 == 0 && step <= 900) tr.resampleDead(sample(4096), 150, static_cast<uint64_t>(step));
  }
  auto cos = U.matmul(tr.dec.t());  // [K, d_sae]
  auto best = std::get<0>(cos.max(1));
  std::printf("min over planted directions of the best cosine: %g\n", best.min().item<double>());
  ZS_CHECK(best.min().item<double>() > 0.9);
  auto st = tr.step(sample(2048));
  std::printf("L0 %g explained variance %g\n", st.l0, st.explained_variance);
  ZS_CHECK(st.l0 < 8);
  ZS_CHECK(st.explained_variance > 0.9);
}

ZS_TEST(learningRateSchedule) {
  auto s = smallSae(4, 8, 1);
  SaeTrainOptions o;
  o.lr = 1e-3;
  o.warmupSteps = 10;
  o.totalSteps = 100;
  o.decayFraction = 0.2;
  SaeTrainer tr(*s, o);
  ZS_CHECK(std::abs(tr.lrAt(0) - 1e-4) < 1e-12);
  ZS_CHECK(std::abs(tr.lrAt(9) - 1e-3) < 1e-12);
  ZS_CHECK(std::abs(tr.lrAt(50) - 1e-3) < 1e-12);
  ZS_CHECK(std::abs(tr.lrAt(90) - 0.5e-3) < 1e-12);
}

ZS_TEST(checkpointStateRoundTrip) {
  auto s = smallSae(8, 16, 3);
  SaeTrainOptions o;
  o.l1 = 0.3;
  SaeTrainer a(*s, o), b(*s, o);
  for (int i = 0; i < 5; ++i) a.step(torch::randn({32, 8}));
  auto st = a.state("L0.");
  std::map<std::string, torch::Tensor> m(st.begin(), st.end());
  b.loadState(m, "L0.");
  ZS_CHECK_EQ(b.stepsDone(), int64_t(5));
  auto x = torch::randn({32, 8});
  a.step(x);
  b.step(x);
  ZS_CHECK(torch::equal(a.dec, b.dec));
  ZS_CHECK(torch::equal(a.encT, b.encT));
}

// The sparse-aware steps of TopK, BatchTopK (AuxK on) and JumpReLU against the
// dense hand-written step (archStep, itself the eager-PyTorch maths): one
// step's gradients agree to 1e-5 of their largest entry, and the weights after
// three optimiser steps (dead latents present, so AuxK runs) agree to 1e-5.
ZS_TEST(sparseArchitectureStepsMatchDense) {
  for (std::string arch : {"topk", "batchtopk", "jumprelu"}) {
    ZS_CONTEXT("architecture " + arch);
    torch::manual_seed(11);
    auto s = smallSae(24, 96, 7);
    SaeTrainOptions o;
    o.architecture = arch;
    o.k = 5;
    o.l1 = 0.3;             // JumpReLU's L0 coefficient
    o.bandwidth = 0.5;      // wide kernel: many entries near the thresholds
    o.initThreshold = 0.3;
    o.deadSteps = 1;        // latents idle for one step count as dead (AuxK on from step 2)
    o.auxkK = 6;
    o.auxkCoeff = 0.5;
    o.lr = 1e-3;
    o.warmupSteps = 0;
    std::vector<torch::Tensor> xs;
    for (int i = 0; i < 3; ++i) xs.push_back(torch::randn({64, 24}) * 1.5);
    SaeTrainOptions od = o, os = o;
    od.mode = "dense";
    os.mode = "sparse";
    SaeTrainer dense(*s, od), sparse(*s, os);
    for (int i = 0; i < 2; ++i) {
      auto a = dense.step(xs[i]);
      auto b = sparse.step(xs[i]);
      ZS_CHECK(!a.sparse && b.sparse);
      ZS_CHECK_NEAR(a.loss, b.loss, 1e-5 * std::max(1.0, a.loss));
      ZS_CHECK_NEAR(a.l0, b.l0, 1e-9);
      ZS_CHECK_NEAR(a.aux, b.aux, 1e-5 * std::max(1.0, a.aux));
      if (i == 1 && arch != "jumprelu") ZS_CHECK(b.dead > 0 && b.aux > 0);  // AuxK ran
    }
    auto rel = [](const torch::Tensor& x, const torch::Tensor& ref) {
      return (x - ref).abs().max().item<double>() / std::max(1e-6, ref.abs().max().item<double>());
    };
    // Gradients at the same weights (the dense trainer's), both paths.
    SaeGrads gd, gs;
    dense.gradients(xs[2], gd, false);
    dense.gradients(xs[2], gs, true);
    ZS_CHECK(rel(gs.W_encT, gd.W_encT) <= 1e-5);
    ZS_CHECK(rel(gs.W_dec, gd.W_dec) <= 1e-5);
    ZS_CHECK(rel(gs.b_enc, gd.b_enc) <= 1e-5);
    ZS_CHECK(rel(gs.b_dec, gd.b_dec) <= 1e-5);
    if (arch == "jumprelu") {
      ZS_CHECK(gd.log_threshold.abs().max().item<double>() > 0);
      ZS_CHECK(rel(gs.log_threshold, gd.log_threshold) <= 1e-5);
    }
    dense.step(xs[2]);
    sparse.step(xs[2]);
    auto maxAbs = [](const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); };
    ZS_CHECK(maxAbs(sparse.encT, dense.encT) <= 1e-5);
    ZS_CHECK(maxAbs(sparse.dec, dense.dec) <= 1e-5);
    ZS_CHECK(maxAbs(sparse.benc, dense.benc) <= 1e-5);
    ZS_CHECK(maxAbs(sparse.bdec, dense.bdec) <= 1e-5);
    if (arch == "jumprelu") ZS_CHECK(maxAbs(sparse.logThreshold, dense.logThreshold) <= 1e-5);
    if (arch == "batchtopk") ZS_CHECK_NEAR(sparse.batchThreshold, dense.batchThreshold, 1e-6);
  }
}

// Fully dead TopK latents come back: on planted sparse data, 8 of 64 latents
// start dead (zero encoder column, bias -1: never in the top k, so the TopK loss
// never reaches them). Without AuxK they all stay dead; AuxK alone (raw or
// normalised, dead after 5 idle steps) fits them to the residual but rarely lifts
// them into the top k (printed, not asserted); TopK-aware density resampling
// (--resample-topk) with AuxK ends with every latent firing, dense and sparse steps.
ZS_TEST(deadTopKLatentsRevive) {
  const int64_t d = 16, S = 64, K = 24;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(321);
  auto U = at::normal(0, 1, {K, d}, gen);
  U = U / U.norm(2, {1}, true);
  auto sample = [&](int64_t n) {
    auto on = at::rand({n, K}, gen) < (3.0 / K);
    return (on.to(torch::kFloat32) * (1.0 + at::rand({n, K}, gen))).matmul(U) + 0.3;
  };
  std::vector<int64_t> dead;
  for (int64_t j = 0; j < S; j += 8) dead.push_back(j + 3);
  auto run = [&](double auxkCoeff, bool normalize, const std::string& mode, bool resample) {
    SaeConfig c;
    c.d_in = d;
    c.d_sae = S;
    c.hook_name = "blocks.0.attn.hook_z";
    auto s = Sae::init(c, 8);
    s->b_dec = sample(2048).mean(0);
    for (int64_t j : dead) {
      s->W_enc.select(1, j).zero_();
      s->b_enc[j] = -1.0;
    }
    SaeTrainOptions o;
    o.architecture = "topk";
    o.k = 4;
    o.lr = 3e-3;
    o.warmupSteps = 20;
    o.totalSteps = 600;
    o.deadSteps = 5;
    o.auxkCoeff = auxkCoeff;
    o.auxkNormalize = normalize;
    o.mode = mode;
    SaeTrainer tr(*s, o);
    for (int64_t step = 1; step <= o.totalSteps; ++step) {
      tr.step(sample(256));
      if (resample && step % 100 == 0 && step <= 500) tr.resampleByDensity(sample(4096), 1e-3, 0, static_cast<uint64_t>(step));
    }
    // Latents that fire at least once on fresh data.
    auto x = sample(8192);
    auto pre = torch::addmm(tr.benc, x - tr.bdec, tr.encT.t());
    auto [v, idx] = pre.topk(o.k, 1);
    auto fired = torch::zeros({S}, torch::kInt64).scatter_add_(0, idx.masked_select(v > 0), torch::ones({(v > 0).sum().item<int64_t>()}, torch::kInt64));
    int64_t plantedDead = 0, deadAll = (fired == 0).sum().item<int64_t>();
    for (int64_t j : dead) plantedDead += fired[j].item<int64_t>() == 0;
    std::printf("auxk %g normalize %d %s resample %d: %lld of %zu planted latents still dead, %lld dead in all\n", auxkCoeff,
                normalize, mode.c_str(), resample, static_cast<long long>(plantedDead), dead.size(), static_cast<long long>(deadAll));
    return std::pair{plantedDead, deadAll};
  };
  const auto none = run(0.0, true, "dense", false), raw = run(1.0 / 32, false, "dense", false);
  const auto norm = run(1.0 / 32, true, "dense", false), normSparse = run(1.0 / 32, true, "sparse", false);
  const auto res = run(1.0 / 32, true, "dense", true), resSparse = run(1.0 / 32, true, "sparse", true);
  ZS_CHECK_EQ(none.first, static_cast<int64_t>(dead.size()));  // no AuxK: nothing revives them
  ZS_CHECK_EQ(res.second, int64_t(0));
  ZS_CHECK_EQ(resSparse.second, int64_t(0));
  (void)raw, (void)norm, (void)normSparse;
}

// JumpReLU's data-dependent start (train-sae --init-l0): thresholds set from a
// sample so that the initial L0 on it is the target; on fresh rows of the same
// distribution it is near the target too, and a trainer started from them keeps them.
ZS_TEST(jumpReluThresholdsForInitialL0) {
  torch::manual_seed(5);
  auto s = smallSae(16, 64, 3);
  auto mix = torch::randn({16, 16});
  auto sample = [&](int64_t n) { return torch::randn({n, 16}).matmul(mix) + 0.5; };
  auto l0Of = [&](const torch::Tensor& t, const torch::Tensor& x) {
    auto pre = torch::addmm(s->b_enc, x - s->b_dec, s->W_enc);
    return (pre > t).sum(1).to(torch::kFloat64).mean().item<double>();
  };
  for (double target : {2.0, 8.0, 20.0}) {
    ZS_CONTEXT("target L0 " + std::to_string(target));
    auto x = sample(4096);
    auto t = SaeTrainer::thresholdsForL0(*s, x, target);
    ZS_CHECK_EQ(t.size(0), int64_t(64));
    ZS_CHECK(t.min().item<double>() >= 1e-6);
    ZS_CHECK_NEAR(l0Of(t, x), target, 0.02 * target);        // exact up to rounding of N·target/d_sae
    ZS_CHECK_NEAR(l0Of(t, sample(8192)), target, 0.1 * target);  // held-out rows
    s->threshold = t;
    SaeTrainOptions o;
    o.architecture = "jumprelu";
    SaeTrainer tr(*s, o);
    ZS_CHECK(torch::allclose(tr.logThreshold.exp(), t, 1e-5, 1e-7));
  }
  ZS_CHECK_THROWS(SaeTrainer::thresholdsForL0(*s, sample(16), 0.0), UsageError);
}
