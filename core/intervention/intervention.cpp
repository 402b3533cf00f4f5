// Interventions on one SAE feature: see intervention.h. Runs under
// torch::InferenceMode; the clean run captures hook_z of the layer and the
// norm scales that the direct logit effect freezes.
#include "core/intervention/intervention.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/base/error.h"
#include "core/intervention/intervention_hook.h"
#include "core/model/model.h"
#include "core/sae/sae.h"
#include "core/session/session.h"

namespace zs {

InterventionMode parseInterventionMode(const std::string& name) {
  if (name == "zero") return InterventionMode::Zero;
  if (name == "scale") return InterventionMode::Scale;
  if (name == "clamp") return InterventionMode::Clamp;
  throw InputError("--mode", "'" + name + "' is not an intervention; use zero, scale or clamp");
}

std::string interventionModeName(InterventionMode mode) {
  switch (mode) {
    case InterventionMode::Zero: return "zero";
    case InterventionMode::Scale: return "scale";
    case InterventionMode::Clamp: return "clamp";
  }
  return "zero";
}

FeatureEdit editFeature(const Sae& sae, const Intervention& iv, const torch::Tensor& z) {
  using torch::indexing::Slice;
  if (z.dim() != 4) throw std::invalid_argument("editFeature: z must be [B, T, H, dh]");
  const int64_t B = z.size(0), T = z.size(1);
  if (iv.feature < 0 || iv.feature >= sae.cfg.d_sae)
    throw InputError("feature " + std::to_string(iv.feature) + " is outside layer " + std::to_string(sae.layer()) +
                     "'s SAE (0.." + std::to_string(sae.cfg.d_sae - 1) + ")");
  if (iv.position < -1 || iv.position >= T)
    throw InputError("position " + std::to_string(iv.position) + " is outside the prompt's " + std::to_string(T) +
                     " tokens");
  const torch::Tensor x = z.reshape({B, T, -1}).to(sae.W_dec.dtype());
  FeatureEdit e;
  e.before = sae.encode(x).select(-1, iv.feature);  // [B, T]
  torch::Tensor edited;
  switch (iv.mode) {
    case InterventionMode::Zero: edited = torch::zeros_like(e.before); break;
    case InterventionMode::Scale: edited = e.before * iv.value; break;
    case InterventionMode::Clamp: edited = torch::full_like(e.before, iv.value); break;
  }
  if (iv.position >= 0) {
    e.after = e.before.clone();
    e.after.index_put_({Slice(), iv.position}, edited.index({Slice(), iv.position}));
  } else {
    e.after = edited;
  }
  const torch::Tensor d = e.after - e.before;  // exactly 0 where nothing is edited
  e.deltaZ = (d.unsqueeze(-1) * sae.decoderDirection(x, iv.feature)).reshape(z.sizes()).to(z.dtype());
  return e;
}

ZHook interventionHook(const Sae& sae, const Intervention& iv) {
  return [&sae, iv](int64_t, const torch::Tensor& z) {
    FeatureEdit e = editFeature(sae, iv, z);
    if (!(e.after != e.before).any().item<bool>()) return z;  // nothing edited: the clean z, bit for bit
    return z + e.deltaZ;
  };
}

namespace {

std::vector<float> toVector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous().reshape({-1});
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Per position: NaN, then the loss on each next token.
std::vector<float> lossAlong(const torch::Tensor& logits, const torch::Tensor& ids) {
  std::vector<float> out = {std::numeric_limits<float>::quiet_NaN()};
  const std::vector<float> l = toVector(Model::lossPerToken(logits, ids));
  out.insert(out.end(), l.begin(), l.end());
  return out;
}

}  // namespace

InterventionResult runIntervention(const Session& session, const std::vector<int64_t>& ids, const Intervention& iv,
                                   int predictPosition, int topK) {
  c10::InferenceMode guard;
  const Model& model = session.model();
  const ModelSpec& spec = model.spec();
  const int T = static_cast<int>(ids.size());
  if (T == 0) throw InputError("the prompt is empty");
  if (iv.layer < 0 || iv.layer >= spec.nLayer)
    throw InputError("layer " + std::to_string(iv.layer) + " does not exist (the model has " +
                     std::to_string(spec.nLayer) + " layers)");
  const Sae* sae = session.saeOfLayer(iv.layer);
  if (!sae) throw InputError("no SAE is loaded for layer " + std::to_string(iv.layer));
  if (iv.feature < 0 || iv.feature >= sae->cfg.d_sae)
    throw InputError("feature " + std::to_string(iv.feature) + " is outside layer " + std::to_string(iv.layer) +
                     "'s SAE (0.." + std::to_string(sae->cfg.d_sae - 1) + ")");
  if (iv.position < -1 || iv.position >= T)
    throw InputError("position " + std::to_string(iv.position) + " is outside the prompt's " + std::to_string(T) +
                     " tokens");
  if (!std::isfinite(iv.value)) throw InputError("the intervention's value must be a finite number");
  if (predictPosition < 0) predictPosition = iv.position >= 0 ? iv.position : T - 1;
  if (predictPosition >= T)
    throw InputError("position " + std::to_string(predictPosition) + " is outside the prompt's " + std::to_string(T) +
                     " tokens");
  topK = std::max(1, std::min<int>(topK, static_cast<int>(spec.vocab)));

  const std::string zName = "blocks." + std::to_string(iv.layer) + ".attn.hook_z";
  const std::string postName = "blocks." + std::to_string(iv.layer) + ".ln1_post.hook_scale";
  const torch::Tensor idsT = torch::tensor(ids, torch::kLong).unsqueeze(0).to(model.device());
  ForwardOptions clean;
  clean.capture = Capture({zName, postName, "ln_final.hook_scale"});
  ForwardResult c = model.forward(idsT, clean);
  ForwardOptions hooked;
  hooked.zHooks[iv.layer] = interventionHook(*sae, iv);
  ForwardResult h = model.forward(idsT, hooked);

  InterventionResult r;
  r.intervention = iv;
  r.predictPosition = predictPosition;
  r.tokens = session.tokenLabels(ids);
  const torch::Tensor z = c.cache.at(zName);
  const FeatureEdit e = editFeature(*sae, iv, z);
  r.actsBefore = toVector(e.before);
  r.actsAfter = toVector(e.after);
  r.actAtPredict = r.actsBefore[predictPosition];
  r.lossClean = lossAlong(c.logits, idsT);
  r.lossIntervened = lossAlong(h.logits, idsT);
  r.lossDiff.resize(T);
  for (int t = 0; t < T; ++t) r.lossDiff[t] = r.lossIntervened[t] - r.lossClean[t];
  r.maxLogitChange = toVector((h.logits - c.logits).abs().amax(-1));

  // Predictions: both top-k lists merged.
  const torch::Tensor pc = torch::softmax(c.logits[0][predictPosition].to(torch::kFloat32), -1).cpu();
  const torch::Tensor ph = torch::softmax(h.logits[0][predictPosition].to(torch::kFloat32), -1).cpu();
  const torch::Tensor ic = std::get<1>(pc.topk(topK)), ih = std::get<1>(ph.topk(topK));
  std::map<int64_t, size_t> at;
  auto add = [&](int64_t id) {
    if (at.count(id)) return at[id];
    PredictionChange p;
    p.id = id;
    p.display = session.tokenLabels({id})[0];
    p.clean = pc[id].item<float>();
    p.intervened = ph[id].item<float>();
    r.predictions.push_back(std::move(p));
    return at[id] = r.predictions.size() - 1;
  };
  for (int i = 0; i < topK; ++i) r.predictions[add(ic[i].item<int64_t>())].cleanRank = i;
  for (int i = 0; i < topK; ++i) r.predictions[add(ih[i].item<int64_t>())].intervenedRank = i;

  // Direct logit effect per unit activation at predictPosition.
  const torch::Tensor x = z[0][predictPosition].reshape({1, -1}).to(sae->W_dec.dtype());
  const torch::Tensor dir = sae->decoderDirection(x, iv.feature)[0].to(torch::kFloat32);  // [H*dh]
  const torch::Tensor WO = model.W_O(iv.layer);                                          // [H, dh, d]
  torch::Tensor resid = torch::matmul(dir.to(WO.device()), WO.reshape({-1, WO.size(-1)}));  // [d]
  if (auto it = c.cache.find(postName); it != c.cache.end())
    resid = model.normLinear("blocks." + std::to_string(iv.layer) + ".ln1_post", resid,
                             it->second[0][predictPosition].to(resid.device()));
  const torch::Tensor scale = c.cache.at("ln_final.hook_scale")[0][predictPosition].to(resid.device());
  const torch::Tensor eff = torch::matmul(model.normLinear("ln_final", resid, scale), model.W_U()).cpu();  // [V]
  const int k = std::min<int>(topK, static_cast<int>(eff.size(0)));
  auto [tv, ti] = eff.topk(k, 0, true, true);
  auto [bv, bi] = eff.topk(k, 0, false, true);
  for (int i = 0; i < k; ++i) {
    const int64_t a = ti[i].item<int64_t>(), b = bi[i].item<int64_t>();
    r.directTop.push_back({a, session.tokenLabels({a})[0], tv[i].item<float>()});
    r.directBottom.push_back({b, session.tokenLabels({b})[0], bv[i].item<float>()});
  }
  return r;
}

}  // namespace zs
