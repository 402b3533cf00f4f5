// Interventions on SAE features (core/intervention, issue 18) on the shared
// tiny GPT-2 and tiny Llama with random SAEs: a no-op reproduces the clean
// logits, zero-ablation moves hook_z by exactly -act * W_dec[F] at the edited
// position only and leaves every earlier position's logits alone, clamping to
// the clean value changes nothing, the reported losses, probabilities and
// direct logit effect match independent computations, and `zscope-cli
// intervene` prints the same numbers (JSON) and refuses bad input with exit 3.
#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/intervention/intervention.h"
#include "core/intervention/intervention_hook.h"
#include "core/model/model.h"
#include "core/sae/sae.h"
#include "core/session/session.h"
#include "tests/core/cli_inprocess.h"
#include "test_attribution_util.h"
#include "tests/support/check.h"

using namespace zs;
using torch::indexing::Slice;

namespace {

struct Fixture {
  std::unique_ptr<Session> session;
  std::vector<int64_t> ids;
  int layer = 1;
};

// The model with a random SAE on every layer (d_in = n_head * d_head).
Fixture open(const std::string& dir, uint64_t seed) {
  Fixture f;
  f.session = Session::open(dir);
  const ModelSpec& s = f.session->spec();
  std::vector<std::shared_ptr<Sae>> saes;
  for (int l = 0; l < s.nLayer; ++l) saes.push_back(test::randomSae(l, s.nHead * s.dHead, 96, true, seed + l));
  f.session->setSaes(saes);
  for (int i = 0; i < 12; ++i) f.ids.push_back((7 + 31 * i) % s.vocab);
  f.layer = static_cast<int>(s.nLayer - 1);
  return f;
}

std::string zName(int l) { return "blocks." + std::to_string(l) + ".attn.hook_z"; }

ForwardResult run(const Fixture& f, const Intervention* iv) {
  ForwardOptions o;
  o.capture = Capture({zName(f.layer)});
  if (iv) o.zHooks[iv->layer] = interventionHook(*f.session->saeOfLayer(iv->layer), *iv);
  return f.session->model().forward(torch::tensor(f.ids, torch::kLong).unsqueeze(0), o);
}

// The feature with the largest clean activation at `pos` of the fixture's layer.
std::pair<int64_t, float> strongestAt(const Fixture& f, int pos) {
  const Sae& sae = *f.session->saeOfLayer(f.layer);
  const torch::Tensor z = run(f, nullptr).cache.at(zName(f.layer));
  const torch::Tensor acts = sae.encode(z.reshape({1, z.size(1), -1}))[0][pos];
  const int64_t F = acts.argmax().item<int64_t>();
  return {F, acts[F].item<float>()};
}

double maxAbs(const torch::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; }

void checkInterventionMaths(const std::string& model, uint64_t seed) {
  torch::NoGradGuard ng;
  const Fixture f = open(model, seed);
  const int T = static_cast<int>(f.ids.size()), p = 6;
  const auto [F, act] = strongestAt(f, p);
  ZS_CHECK_GT(act, 0.01f);
  const ForwardResult clean = run(f, nullptr);

  // No-op interventions: scale 1 everywhere, clamp to the clean value at p.
  Intervention noop{f.layer, F, InterventionMode::Scale, 1.0, -1};
  ZS_CHECK_LE(maxAbs(run(f, &noop).logits - clean.logits), 1e-5);
  Intervention clampSame{f.layer, F, InterventionMode::Clamp, double(act), p};
  ZS_CHECK_LE(maxAbs(run(f, &clampSame).logits - clean.logits), 1e-5);

  // Zero-ablation at p: hook_z moves by -act * W_dec[F] at p only; positions < p keep their logits.
  Intervention zero{f.layer, F, InterventionMode::Zero, 0.0, p};
  const ForwardResult ablated = run(f, &zero);
  const torch::Tensor dz = (ablated.cache.at(zName(f.layer)) - clean.cache.at(zName(f.layer))).reshape({T, -1});
  const torch::Tensor want = -act * f.session->saeOfLayer(f.layer)->W_dec[F];
  ZS_CHECK_LE(maxAbs(dz[p] - want), 1e-5);
  ZS_CHECK_EQ(maxAbs(dz.index({Slice(0, p)})), 0.0);
  ZS_CHECK_EQ(maxAbs(dz.index({Slice(p + 1, T)})), 0.0);
  const torch::Tensor dl = ablated.logits - clean.logits;
  ZS_CHECK_LE(maxAbs(dl.index({Slice(), Slice(0, p)})), 1e-6);
  ZS_CHECK_GT(maxAbs(dl.index({Slice(), p})), 1e-4);

  // The facade: the same numbers, and what it reports beside them.
  const InterventionResult r = runIntervention(*f.session, f.ids, zero, -1, 5);
  ZS_CHECK_EQ(r.predictPosition, p);
  ZS_CHECK_NEAR(r.actsBefore[p], act, 1e-6);
  ZS_CHECK_EQ(r.actsAfter[p], 0.0f);
  for (int t = 0; t < T; ++t)
    if (t != p) ZS_CHECK_EQ(r.actsAfter[t], r.actsBefore[t]);
  for (int t = 0; t < p; ++t) ZS_CHECK_LE(r.maxLogitChange[t], 1e-6);
  ZS_CHECK_NEAR(r.maxLogitChange[p], maxAbs(dl.index({Slice(), p})), 1e-6);
  const torch::Tensor lc = Model::lossPerToken(clean.logits, torch::tensor(f.ids).unsqueeze(0))[0];
  const torch::Tensor li = Model::lossPerToken(ablated.logits, torch::tensor(f.ids).unsqueeze(0))[0];
  ZS_CHECK(std::isnan(r.lossClean[0]) && std::isnan(r.lossDiff[0]));
  for (int t = 1; t < T; ++t) {
    ZS_CHECK_NEAR(r.lossClean[t], lc[t - 1].item<float>(), 1e-5);
    ZS_CHECK_NEAR(r.lossIntervened[t], li[t - 1].item<float>(), 1e-5);
    ZS_CHECK_NEAR(r.lossDiff[t], li[t - 1].item<float>() - lc[t - 1].item<float>(), 1e-5);
    if (t <= p) ZS_CHECK_LE(std::fabs(r.lossDiff[t]), 1e-5);  // loss on token t comes from the logits at t-1
  }
  const torch::Tensor pc = torch::softmax(clean.logits[0][p], -1), pi = torch::softmax(ablated.logits[0][p], -1);
  ZS_CHECK_GE(r.predictions.size(), size_t(5));
  for (const PredictionChange& c : r.predictions) {
    ZS_CHECK_NEAR(c.clean, pc[c.id].item<float>(), 1e-6);
    ZS_CHECK_NEAR(c.intervened, pi[c.id].item<float>(), 1e-6);
  }
  ZS_CHECK_EQ(r.predictions[0].id, pc.argmax().item<int64_t>());
  ZS_CHECK_EQ(r.predictions[0].cleanRank, 0);

  // Direct logit effect per unit activation, by hand: W_dec[F] per head through W_O,
  // centred (LayerNorm) or not (RMSNorm), over the clean ln_final scale at p, times its weight, then W_U.
  const Model& m = f.session->model();
  const ModelSpec& s = m.spec();
  // Gemma 2: the attention output passes its post-attention RMSNorm (scale frozen too) first.
  const std::string post = "blocks." + std::to_string(f.layer) + ".ln1_post";
  const auto names = m.hookNames();
  const bool postNorm = std::find(names.begin(), names.end(), post + ".hook_scale") != names.end();
  ForwardOptions o;
  o.capture = Capture({"ln_final.hook_scale", post + ".hook_scale"});
  const ActivationCache cache = m.forward(torch::tensor(f.ids).unsqueeze(0), o).cache;
  const torch::Tensor scale = cache.at("ln_final.hook_scale")[0][p];
  const torch::Tensor dec = f.session->saeOfLayer(f.layer)->W_dec[F].reshape({s.nHead, s.dHead});
  torch::Tensor resid = torch::zeros({s.dModel});
  for (int h = 0; h < s.nHead; ++h) resid += torch::matmul(dec[h], m.W_O(f.layer)[h]);
  if (postNorm) resid = resid / cache.at(post + ".hook_scale")[0][p] * m.normWeight(post);
  if (s.norm == NormKind::LayerNorm) resid = resid - resid.mean();
  const torch::Tensor eff = torch::matmul(resid / scale * m.normWeight("ln_final"), m.W_U());
  ZS_CHECK_EQ(r.directTop.size(), size_t(5));
  ZS_CHECK_EQ(r.directTop[0].id, eff.argmax().item<int64_t>());
  ZS_CHECK_EQ(r.directBottom[0].id, eff.argmin().item<int64_t>());
  for (const auto& e : r.directTop) ZS_CHECK_NEAR(e.value, eff[e.id].item<float>(), 1e-4);
  for (const auto& e : r.directBottom) ZS_CHECK_NEAR(e.value, eff[e.id].item<float>(), 1e-4);

  // Scaling by 3 at every position changes the activation everywhere it fires; no-op through the facade.
  const InterventionResult s3 = runIntervention(*f.session, f.ids, Intervention{f.layer, F, InterventionMode::Scale, 3.0, -1});
  ZS_CHECK_EQ(s3.predictPosition, T - 1);
  for (int t = 0; t < T; ++t) ZS_CHECK_NEAR(s3.actsAfter[t], 3.0f * s3.actsBefore[t], 1e-5);
  const InterventionResult n = runIntervention(*f.session, f.ids, noop);
  for (int t = 0; t < T; ++t) ZS_CHECK_LE(n.maxLogitChange[t], 1e-5);

  // Clamp everywhere to a value sets it everywhere.
  const InterventionResult c = runIntervention(*f.session, f.ids, Intervention{f.layer, F, InterventionMode::Clamp, 2.5, -1});
  for (int t = 0; t < T; ++t) ZS_CHECK_EQ(c.actsAfter[t], 2.5f);
}

}  // namespace

ZS_TEST(gpt2InterventionsKeepTheErrorTermAndCausality) {
  ZS_REQUIRE_SHARED(shared);
  checkInterventionMaths(shared + "/testdata/tiny-gpt2", 41);
}

ZS_TEST(llamaInterventionsKeepTheErrorTermAndCausality) {
  ZS_REQUIRE_SHARED(shared);
  checkInterventionMaths(shared + "/testdata/tiny-llama", 51);
}

// Grouped-query attention (Qwen2, Gemma 2), Gemma 2's post-attention norm and final soft-capping.
ZS_TEST(qwen2AndGemma2Interventions) {
  ZS_REQUIRE_SHARED(shared);
  checkInterventionMaths(shared + "/testdata/tiny-qwen2", 91);
  checkInterventionMaths(shared + "/testdata/tiny-gemma2", 92);
}

ZS_TEST(badRequestsAreInputErrors) {
  ZS_REQUIRE_SHARED(shared);
  Fixture f = open(shared + "/testdata/tiny-gpt2", 61);
  f.session->setSaes({test::randomSae(1, 64, 96, true, 62)});
  auto bad = [&](Intervention iv) { ZS_CHECK_THROWS(runIntervention(*f.session, f.ids, iv), InputError); };
  bad({0, 3, InterventionMode::Zero, 0, -1});     // layer without an SAE
  bad({7, 3, InterventionMode::Zero, 0, -1});     // no such layer
  bad({1, 96, InterventionMode::Zero, 0, -1});    // feature out of range
  bad({1, -1, InterventionMode::Zero, 0, -1});
  bad({1, 3, InterventionMode::Zero, 0, 12});     // position out of range
  bad({1, 3, InterventionMode::Clamp, std::numeric_limits<double>::infinity(), 2});
  ZS_CHECK_THROWS(parseInterventionMode("steer"), InputError);
  ZS_CHECK_EQ(parseInterventionMode(interventionModeName(InterventionMode::Clamp)), InterventionMode::Clamp);
}

ZS_TEST(cliInterveneJsonMatchesTheCoreAndRefusesBadInput) {
  ZS_REQUIRE_SHARED(shared);
  const std::string model = shared + "/testdata/tiny-gpt2";
  const std::string dir = test::tempDir() + "/sae1";
  test::randomSae(1, 64, 96, true, 71)->saveDir(dir);
  auto s = Session::open(model);
  s->loadSaes({dir});
  const std::string prompt = "the cat sat on the mat and the cat";
  const std::vector<int64_t> ids = s->encodePrompt(prompt, true);
  const int p = 4;
  const InterventionResult ref = runIntervention(*s, ids, Intervention{1, 5, InterventionMode::Scale, -2.0, p}, -1, 4);

  std::string out;
  ZS_CHECK_EQ(test::runCli({"intervene", "--model", model, "--sae", dir, "--prompt", prompt, "--feature", "1:5",
                            "--mode", "scale", "--value", "-2", "--pos", std::to_string(p), "--top", "4", "--json"},
                           &out),
              0);
  const nlohmann::json j = nlohmann::json::parse(out);
  ZS_CHECK_EQ(j.at("mode").get<std::string>(), std::string("scale"));
  ZS_CHECK_EQ(j.at("position").get<int>(), p);
  ZS_CHECK_EQ(j.at("predict_position").get<int>(), p);
  ZS_CHECK_EQ(j.at("tokens").size(), ids.size());
  const auto& clean = j.at("predictions").at("clean");
  ZS_CHECK_EQ(clean.size(), size_t(4));
  for (const auto& c : ref.predictions) {
    if (c.cleanRank < 0) continue;
    ZS_CHECK_EQ(clean[c.cleanRank].at("id").get<int64_t>(), c.id);
    ZS_CHECK_NEAR(clean[c.cleanRank].at("prob").get<double>(), c.clean, 1e-6);
  }
  for (const auto& c : ref.predictions)
    if (c.intervenedRank >= 0)
      ZS_CHECK_NEAR(j["predictions"]["intervened"][c.intervenedRank]["prob"].get<double>(), c.intervened, 1e-6);
  ZS_CHECK(j["loss"]["clean"][0].is_null());
  for (size_t t = 1; t < ids.size(); ++t) {
    ZS_CHECK_NEAR(j["loss"]["diff"][t].get<double>(), ref.lossDiff[t], 1e-6);
    ZS_CHECK_NEAR(j["activations"]["before"][t].get<double>(), ref.actsBefore[t], 1e-6);
    ZS_CHECK_NEAR(j["activations"]["after"][t].get<double>(), ref.actsAfter[t], 1e-6);
  }
  ZS_CHECK_NEAR(j["activations"]["after"][p].get<double>(), -2.0 * ref.actsBefore[p], 1e-6);
  ZS_CHECK_EQ(j["direct_logit_effect"]["per_unit"]["top"].size(), size_t(4));

  // --pos all (the default), zero, the readable table (printed, not captured).
  ZS_CHECK_EQ(test::runCli({"intervene", "--model", model, "--sae", dir, "--prompt", prompt, "--feature", "1:5",
                            "--mode", "zero"}), 0);
  ZS_CHECK_EQ(test::runCli({"intervene", "--model", model, "--sae", dir, "--prompt", prompt, "--feature", "1:5",
                            "--mode", "zero", "--pos", "all", "--json"}, &out), 0);
  ZS_CHECK_EQ(nlohmann::json::parse(out).at("position").get<std::string>(), std::string("all"));

  // Bad input: exit 3 with one line.
  const std::vector<std::string> base = {"intervene", "--model", model, "--sae", dir, "--prompt", prompt};
  auto rc = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    std::string ignored;
    return test::runCli(a, &ignored);
  };
  ZS_CHECK_EQ(rc({"--feature", "1:96", "--mode", "zero"}), 3);          // feature out of range
  ZS_CHECK_EQ(rc({"--feature", "0:5", "--mode", "zero"}), 3);           // layer without an SAE
  ZS_CHECK_EQ(rc({"--feature", "one:5", "--mode", "zero"}), 3);         // malformed
  ZS_CHECK_EQ(rc({"--feature", "1:5", "--mode", "zero", "--pos", "40"}), 3);  // position out of range
  ZS_CHECK_EQ(rc({"--feature", "1:5", "--mode", "clamp"}), 3);          // missing --value
  ZS_CHECK_EQ(rc({"--feature", "1:5", "--mode", "steer", "--value", "1"}), 3);
}

// Every architecture and input normalisation: the edited hook_z equals the
// SAE's output of the edited activations plus its error term, computed here
// from Sae::forward and Sae::decode with the normalisation undone by hand.
ZS_TEST(editedZIsReconstructionOfEditedActsPlusError) {
  ZS_REQUIRE_SHARED(shared);
  torch::NoGradGuard ng;
  Fixture f = open(shared + "/testdata/tiny-gpt2", 81);
  const torch::Tensor z = run(f, nullptr).cache.at(zName(1));  // [1, T, H, dh]
  const torch::Tensor x = z.reshape({z.size(1), -1});
  std::vector<std::pair<std::string, std::shared_ptr<Sae>>> saes;
  for (const char* a : {"gated", "jumprelu", "topk", "standard"})
    saes.push_back({a, std::shared_ptr<Sae>(Sae::loadDir(shared + "/testdata/saes/tiny-gpt2-" + a + "-L1"))});
  for (const char* n : {"constant_norm_rescale", "layer_norm"}) {
    std::shared_ptr<Sae> s = test::randomSae(1, 64, 96, true, 82);
    s->cfg.normalize_activations = n;
    saes.push_back({n, s});
  }
  {
    std::shared_ptr<Sae> s = test::randomSae(1, 64, 96, true, 83);
    s->cfg.architecture = "topk";
    s->cfg.k = 8;
    s->cfg.rescale_acts_by_decoder_norm = true;
    s->W_dec = s->W_dec * (1.0 + torch::rand({96, 1}));  // rows of other norms
    saes.push_back({"topk rescaled", s});
  }
  for (const auto& [name, sae] : saes) {
    ZS_CONTEXT(name);
    const SaeForward fw = sae->forward(x);
    const int p = 5;
    const int64_t F = fw.actsPost[p].argmax().item<int64_t>();
    ZS_CHECK_GT(fw.actsPost[p][F].item<float>(), 0.f);
    for (const Intervention& iv : {Intervention{1, F, InterventionMode::Zero, 0, p},
                                   Intervention{1, F, InterventionMode::Scale, -1.5, -1},
                                   Intervention{1, F, InterventionMode::Clamp, 4.0, p}}) {
      ZS_CONTEXT(interventionModeName(iv.mode));
      const torch::Tensor edited = z + editFeature(*sae, iv, z).deltaZ;
      torch::Tensor f2 = fw.actsPost.clone();
      if (iv.mode == InterventionMode::Zero) f2.index_put_({p, F}, 0.0);
      if (iv.mode == InterventionMode::Clamp) f2.index_put_({p, F}, 4.0);
      if (iv.mode == InterventionMode::Scale) f2.index_put_({Slice(), F}, f2.index({Slice(), F}) * -1.5);
      torch::Tensor out = sae->decode(f2);  // normalised space
      const std::string& norm = sae->cfg.normalize_activations;
      if (norm == "constant_norm_rescale") out = out * x.norm(2, {-1}, true) / std::sqrt(64.0);
      if (norm == "layer_norm") {
        const torch::Tensor mu = x.mean(-1, true);
        out = out * (x - mu).pow(2).sum(-1, true).div(63.0).sqrt() + mu;
      }
      ZS_CHECK_LE(maxAbs(edited.reshape({z.size(1), -1}) - (out + fw.error)), 2e-5);
    }
    // Unchanged activations: z itself.
    const Intervention same{1, F, InterventionMode::Scale, 1.0, -1};
    ZS_CHECK_EQ(maxAbs(interventionHook(*sae, same)(1, z) - z), 0.0);
  }
}
