// Runs the model once and turns what attribution needs into plain arrays.
// The only attribution file that includes torch.
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "core/attribution/attribution_impl.h"
#include "core/base/error.h"
#include "core/model/model.h"
#include "core/sae/sae.h"

namespace zs::attr {
namespace {

torch::Tensor cpuFloat(const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kFloat).contiguous(); }

std::vector<double> toVec(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

struct Holder {
  std::vector<torch::Tensor> tensors;
  const float* keep(const torch::Tensor& t) {
    tensors.push_back(cpuFloat(t));
    return tensors.back().data_ptr<float>();
  }
};

// The SAE's layer: hook_layer, or parsed from the hook name when an in-memory
// SAE left it unset (loadDir always sets it).
int saeLayer(const Sae& s) {
  return static_cast<int>(s.cfg.hook_layer >= 0 ? s.cfg.hook_layer : hookLayer(s.cfg.hook_name));
}

std::string saeName(const Sae& s) {
  return s.cfg.hook_name.empty() ? std::string("SAE") : "SAE " + s.cfg.hook_name;
}

void checkSae(const Sae& s, const ModelSpec& spec) {
  const std::string name = saeName(s);
  SaeConfig c = s.cfg;
  c.hook_layer = saeLayer(s);
  Sae view;  // the fit check reads only the config
  view.cfg = c;
  view.checkAgainst(spec, name);
  const int64_t d = spec.dZ(), m = s.cfg.d_sae;
  auto shapeIs = [](const torch::Tensor& t, std::vector<int64_t> want) {
    return t.defined() && t.sizes().vec() == want;
  };
  if (m <= 0 || !shapeIs(s.W_enc, {d, m}) || !shapeIs(s.W_dec, {m, d}) || !shapeIs(s.b_enc, {m}) ||
      !shapeIs(s.b_dec, {d}))
    throw InputError(name, "weight shapes do not match d_in=" + std::to_string(d) + ", d_sae=" + std::to_string(m));
  s.validate(name);
}

void fillSae(SaeData& S, const Sae& sae, const torch::Tensor& zFlat, Holder& h) {
  S.layer = saeLayer(sae);
  S.dSae = static_cast<int>(sae.cfg.d_sae);
  S.applyBdec = sae.cfg.apply_b_dec_to_input;
  S.gated = sae.gated();
  torch::Tensor Wt = cpuFloat(sae.targetEncoder());  // [d, dSae]
  torch::Tensor bt = cpuFloat(sae.targetBias()), bdec = cpuFloat(sae.b_dec);
  torch::Tensor Wsae = cpuFloat(sae.W_enc);
  // fbias = b_t - b_dec . W_t (uncentred W_t: b_dec is subtracted after normalisation).
  torch::Tensor fb = S.applyBdec ? bt.to(torch::kDouble) - torch::matmul(bdec.to(torch::kDouble), Wt.to(torch::kDouble))
                                 : bt.to(torch::kDouble);
  S.fbias = toVec(fb);
  const bool ln = sae.cfg.normalize_activations == "layer_norm";
  // (z - mean) . W = z . (W - column mean): the centring folds into the encoder.
  S.Wenc = h.keep(ln ? Wt - Wt.mean(0, true) : Wt);
  S.Wdec = h.keep(sae.W_dec);
  S.benc = toVec(bt);
  S.bdec = toVec(bdec);
  const int n = static_cast<int>(zFlat.size(0));
  // Normalisation factors, frozen at their values on this prompt.
  torch::Tensor scale, shift;
  sae.normalisation(zFlat.to(sae.W_enc.device()), scale, shift);
  scale = cpuFloat(scale).reshape({n}).to(torch::kDouble);
  shift = cpuFloat(shift).reshape({n}).to(torch::kDouble);
  S.inScale = toVec(scale);
  if (sae.cfg.normalize_activations == "constant_norm_rescale") {
    S.outScale = toVec(1.0 / scale);
    S.outShift.assign(n, 0.0);
  } else if (ln) {
    S.outScale = toVec(1.0 / scale - 1e-5);
    S.outShift = toVec(shift);
  } else {
    S.outScale.assign(n, 1.0);
    S.outShift.assign(n, 0.0);
  }
  if (sae.cfg.architecture == "topk" && sae.cfg.rescale_acts_by_decoder_norm)
    S.decCoef = toVec(1.0 / cpuFloat(sae.W_dec).to(torch::kDouble).norm(2, {1}));
  else
    S.decCoef.assign(S.dSae, 1.0);
  if (S.gated) {
    S.gateCoef = toVec(torch::exp(-cpuFloat(sae.r_mag).to(torch::kDouble)));
    torch::Tensor gb = cpuFloat(sae.b_enc).to(torch::kDouble);
    if (S.applyBdec) gb = gb - torch::matmul(bdec.to(torch::kDouble), Wsae.to(torch::kDouble));
    S.gateBias = toVec(gb);
  }
  // Float32 target pre-activations and activations, as the SAE computes them.
  SaeForward f = sae.forward(zFlat.to(sae.W_enc.device()));
  torch::Tensor pre = cpuFloat(f.target), act = cpuFloat(f.actsPost);
  S.pre.assign(pre.data_ptr<float>(), pre.data_ptr<float>() + pre.numel());
  S.act.assign(act.data_ptr<float>(), act.data_ptr<float>() + act.numel());
}

void fillActive(SaeData& S, const Data& D) {
  const int n = D.n, d = D.dz;
  const std::vector<double>& z = D.layers[S.layer].z;
  // Candidates from the float32 encoder (the architecture's own activation),
  // then exact double target pre-activations (so that trees sum exactly). Loop
  // order i-outer keeps one W_enc row in cache while every position's candidates
  // read it: W_enc is [d][dSae], column access is slow.
  std::vector<std::vector<int>> cand(n);
  std::vector<std::vector<double>> acc(n);
  for (int p = 0; p < n; ++p) {
    const float* row = &S.act[static_cast<size_t>(p) * S.dSae];
    for (int g = 0; g < S.dSae; ++g)
      if (row[g] > 0.f) cand[p].push_back(g);
    acc[p].assign(cand[p].size(), 0.0);
  }
  for (int i = 0; i < d; ++i) {
    const float* w = S.Wenc + static_cast<size_t>(i) * S.dSae;
    for (int p = 0; p < n; ++p) {
      const double x = z[static_cast<size_t>(p) * d + i];
      const std::vector<int>& c = cand[p];
      double* a = acc[p].data();
      for (size_t k = 0; k < c.size(); ++k) a[k] += x * w[c[k]];
    }
  }
  S.active.assign(n, {});
  S.zhat.assign(n, {});
  for (int p = 0; p < n; ++p) {
    for (size_t k = 0; k < cand[p].size(); ++k) {
      const int g = cand[p][k];
      const double f = S.inScale[p] * acc[p][k] + S.fbias[g];
      if (f > 0) S.active[p].emplace_back(g, f);
    }
    std::sort(S.active[p].begin(), S.active[p].end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<double> zh(S.bdec);
    for (const auto& [g, f] : S.active[p]) {
      const float* w = S.Wdec + static_cast<size_t>(g) * d;
      const double c = f * S.decCoef[g];
      for (int i = 0; i < d; ++i) zh[i] += c * w[i];
    }
    for (int i = 0; i < d; ++i) zh[i] = zh[i] * S.outScale[p] + S.outShift[p];
    S.zhat[p] = std::move(zh);
  }
}

}  // namespace

Data buildData(const Model& model, const std::vector<const Sae*>& saes, std::vector<int64_t> tokens) {
  const ModelSpec& spec = model.spec();
  if (spec.postAttnNorm)
    throw InputError("attribution", "attribution through " + spec.architecture +
                                        "'s post-attention norms is not implemented yet");
  if (tokens.empty()) throw InputError("prompt", "no tokens to attribute");
  if (static_cast<int64_t>(tokens.size()) > spec.nCtx)
    throw InputError("prompt", std::to_string(tokens.size()) + " tokens exceed the model's context of " +
                                   std::to_string(spec.nCtx));
  for (int64_t t : tokens)
    if (t < 0 || t >= spec.vocab)
      throw InputError("prompt", "token id " + std::to_string(t) + " out of range 0.." + std::to_string(spec.vocab - 1));
  Data D;
  D.n = static_cast<int>(tokens.size());
  D.L = static_cast<int>(spec.nLayer);
  D.H = static_cast<int>(spec.nHead);
  D.K = static_cast<int>(spec.nKvHead);
  D.dh = static_cast<int>(spec.dHead);
  D.d = static_cast<int>(spec.dModel);
  D.dz = static_cast<int>(spec.dZ());
  D.centre = spec.norm == NormKind::LayerNorm;
  D.saeOfLayer.assign(D.L, -1);
  for (const Sae* s : saes) {
    if (!s) throw InputError("SAE", "null SAE");
    checkSae(*s, spec);
    int l = saeLayer(*s);
    if (D.saeOfLayer[l] >= 0)
      throw InputError(saeName(*s), "a second SAE for layer " + std::to_string(l) + " (one per layer)");
    D.saeOfLayer[l] = 0;  // index fixed below
  }
  D.tokens = std::move(tokens);

  torch::InferenceMode guard;
  ForwardOptions opts;
  opts.capture = Capture({"hook_embed", "hook_pos_embed", "blocks.*.ln1.hook_scale", "blocks.*.attn.hook_v",
                          "blocks.*.attn.hook_pattern", "blocks.*.attn.hook_z", "blocks.*.hook_mlp_out"});
  // Nothing after hook_z of the deepest SAE layer is needed (its own outputs
  // and the logits feed no attribution), so the forward pass stops there.
  int stop = D.L - 1;
  if (!saes.empty()) {
    stop = 0;
    for (const Sae* s : saes) stop = std::max(stop, saeLayer(*s));
  }
  opts.stopAfterZOfLayer = stop;
  torch::Tensor ids = torch::tensor(D.tokens, torch::kLong).unsqueeze(0);
  ForwardResult fr = model.forward(ids, opts);
  auto get = [&](const std::string& name) {
    auto it = fr.cache.find(name);
    if (it == fr.cache.end()) throw std::runtime_error("attribution: activation " + name + " was not captured");
    return it->second.select(0, 0);
  };
  auto holder = std::make_shared<Holder>();
  auto keepOpt = [&](const torch::Tensor& t) -> const float* { return t.defined() ? holder->keep(t) : nullptr; };
  D.embed = toVec(get("hook_embed"));
  if (spec.learnedPositions) D.posEmbed = toVec(get("hook_pos_embed"));
  D.layers.resize(D.L);
  std::vector<torch::Tensor> zFlat(D.L);
  for (int l = 0; l <= stop; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    LayerData& Ld = D.layers[l];
    Ld.scale = toVec(get(b + "ln1.hook_scale"));
    Ld.v = toVec(get(b + "attn.hook_v"));
    Ld.pattern = toVec(get(b + "attn.hook_pattern"));
    zFlat[l] = cpuFloat(get(b + "attn.hook_z").reshape({D.n, D.dz}));
    Ld.z = toVec(zFlat[l]);
    if (l < stop) Ld.mlpOut = toVec(get(b + "hook_mlp_out"));  // later layers are never residual components here
    Ld.Wv = holder->keep(model.W_V(l));
    Ld.bV = keepOpt(model.b_V(l));
    Ld.Wo = holder->keep(model.W_O(l).reshape({D.dz, D.d}));
    Ld.bO = keepOpt(model.b_O(l));
    Ld.normW = holder->keep(model.normWeight(b + "ln1"));
    Ld.normB = keepOpt(model.normBias(b + "ln1"));
  }
  std::vector<const Sae*> sorted(saes);
  std::sort(sorted.begin(), sorted.end(),
            [](const Sae* a, const Sae* b) { return saeLayer(*a) < saeLayer(*b); });
  D.saes.resize(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const int l = saeLayer(*sorted[i]);
    D.saeOfLayer[l] = static_cast<int>(i);
    fillSae(D.saes[i], *sorted[i], zFlat[l], *holder);
  }
  for (SaeData& S : D.saes) fillActive(S, D);
  D.keepAlive = holder;
  return D;
}

}  // namespace zs::attr

namespace zs {

std::vector<float> headAttribution(const Sae& sae, int nHeads, int feature) {
  torch::Tensor w = attr::cpuFloat(sae.W_dec);
  if (w.dim() != 2 || nHeads <= 0 || w.size(1) % nHeads != 0)
    throw InputError("SAE " + sae.cfg.hook_name, "W_dec does not split into " + std::to_string(nHeads) + " heads");
  if (feature < 0 || feature >= w.size(0))
    throw InputError("SAE " + sae.cfg.hook_name, "feature " + std::to_string(feature) + " out of range");
  return attr::headFractions(w.data_ptr<float>(), static_cast<int>(w.size(1)), nHeads, feature);
}

std::vector<float> headAttributionAll(const Sae& sae, int nHeads) {
  torch::Tensor w = attr::cpuFloat(sae.W_dec);
  if (w.dim() != 2 || nHeads <= 0 || w.size(1) % nHeads != 0)
    throw InputError("SAE " + sae.cfg.hook_name, "W_dec does not split into " + std::to_string(nHeads) + " heads");
  std::vector<float> out;
  out.reserve(static_cast<size_t>(w.size(0)) * nHeads);
  for (int64_t g = 0; g < w.size(0); ++g) {
    const std::vector<float> f = attr::headFractions(w.data_ptr<float>(), static_cast<int>(w.size(1)), nHeads,
                                                     static_cast<int>(g));
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

std::vector<std::pair<int, float>> topFeaturesOfHead(const Sae& sae, int nHeads, int head, int top,
                                                     const std::vector<uint8_t>* live) {
  torch::Tensor w = attr::cpuFloat(sae.W_dec);
  if (w.dim() != 2 || nHeads <= 0 || w.size(1) % nHeads != 0)
    throw InputError("SAE " + sae.cfg.hook_name, "W_dec does not split into " + std::to_string(nHeads) + " heads");
  return attr::topOfHead(w.data_ptr<float>(), static_cast<int>(w.size(0)), static_cast<int>(w.size(1)), nHeads,
                         head, top, live);
}

}  // namespace zs
