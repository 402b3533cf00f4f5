// The SAE architectures' maths (../shared/docs/SAE-FORMATS.md): input
// normalisation, the encoders of standard, jumprelu, topk and gated SAEs, the
// decoder, and the DFA target (the affine pre-activation that equals the
// activation wherever the feature fires).
#include <algorithm>
#include <cmath>

#include "core/base/error.h"
#include "core/sae/sae.h"

namespace zs {
namespace {

torch::Tensor flat(const torch::Tensor& x, int64_t width) { return x.reshape({-1, width}); }

torch::Tensor unflat(const torch::Tensor& y, const torch::Tensor& like, int64_t width) {
  auto shape = like.sizes().vec();
  shape.back() = width;
  return y.view(shape);
}

void checkLast(const torch::Tensor& x, int64_t want, const SaeConfig& c, const char* what) {
  if (x.dim() < 1 || x.size(-1) != want)
    throw InputError("SAE " + c.hook_name, std::string(what) + "'s last dimension is " +
                                               std::to_string(x.dim() ? x.size(-1) : 0) + ", expected " +
                                               std::to_string(want));
}

// recons (normalised space) -> the input's space (the inverse of normalisation;
// `shift` undefined: the linear part only).
torch::Tensor unnormalise(const SaeConfig& c, const torch::Tensor& recons, const torch::Tensor& scale,
                          const torch::Tensor& shift) {
  if (c.normalize_activations == "constant_norm_rescale") return recons / scale;
  if (c.normalize_activations == "layer_norm") {
    torch::Tensor lin = recons * (1.0 / scale - 1e-5);
    return shift.defined() ? lin + shift : lin;
  }
  return recons;
}

}  // namespace

void Sae::normalisation(const torch::Tensor& x, torch::Tensor& scale, torch::Tensor& shift) const {
  const std::string& n = cfg.normalize_activations;
  if (n == "constant_norm_rescale") {
    scale = std::sqrt(static_cast<double>(cfg.d_in)) / x.norm(2, {-1}, true).clamp_min(1e-30);
    shift = torch::zeros_like(scale);
  } else if (n == "layer_norm") {
    // (x - mean) / (std + eps), std unbiased, as SAELens's layer_norm input.
    shift = x.mean(-1, true);
    auto c = x - shift;
    auto sd = (c.pow(2).sum(-1, true) / static_cast<double>(std::max<int64_t>(1, x.size(-1) - 1))).sqrt();
    scale = 1.0 / (sd + 1e-5);
  } else {
    scale = torch::ones_like(x.narrow(-1, 0, 1));
    shift = torch::zeros_like(scale);
  }
}

torch::Tensor Sae::targetEncoder() const {
  if (gated()) return W_enc * r_mag.exp().unsqueeze(0);
  if (cfg.architecture == "topk" && cfg.rescale_acts_by_decoder_norm) return W_enc * W_dec.norm(2, {1}).unsqueeze(0);
  return W_enc;
}

torch::Tensor Sae::targetBias() const {
  if (gated()) return b_mag;
  if (cfg.architecture == "topk" && cfg.rescale_acts_by_decoder_norm) return b_enc * W_dec.norm(2, {1});
  return b_enc;
}

torch::Tensor Sae::activate(const torch::Tensor& target, const torch::Tensor& gatePre) const {
  const std::string& a = cfg.architecture;
  if (a == "jumprelu") return torch::relu(target) * (target > threshold).to(target.dtype());
  if (a == "gated") {
    if (!gatePre.defined()) throw std::logic_error("gated SAE: activate needs the gate pre-activations");
    return torch::relu(target) * (gatePre > 0).to(target.dtype());
  }
  if (a == "topk") {
    const int64_t k = std::min<int64_t>(cfg.k, target.size(-1));
    auto [vals, idx] = torch::topk(target, k, -1, /*largest=*/true, /*sorted=*/false);
    return torch::zeros_like(target).scatter_(-1, idx, torch::relu(vals));
  }
  return torch::relu(target);
}

SaeForward Sae::forward(const torch::Tensor& x) const {
  checkLast(x, cfg.d_in, cfg, "input");
  SaeForward r;
  r.input = x;
  auto xf = flat(x, cfg.d_in);
  torch::Tensor scale, shift;
  const bool norm = cfg.normalize_activations == "constant_norm_rescale" || cfg.normalize_activations == "layer_norm";
  if (norm) {
    normalisation(xf, scale, shift);
    xf = (xf - shift) * scale;
  }
  auto xin = cfg.apply_b_dec_to_input ? xf - b_dec : xf;
  auto raw = torch::addmm(b_enc, xin, W_enc);
  torch::Tensor target = raw, gate;
  if (gated()) {
    gate = raw;
    target = torch::addmm(b_mag, xin, W_enc * r_mag.exp().unsqueeze(0));
  } else if (cfg.architecture == "topk" && cfg.rescale_acts_by_decoder_norm) {
    target = raw * W_dec.norm(2, {1});
  }
  auto post = activate(target, gate);
  auto recons = torch::addmm(b_dec, (cfg.architecture == "topk" && cfg.rescale_acts_by_decoder_norm)
                                         ? post / W_dec.norm(2, {1})
                                         : post,
                             W_dec);
  torch::Tensor out = norm ? unnormalise(cfg, recons, scale, shift) : recons;
  r.actsPre = unflat(gated() ? target : raw, x, cfg.d_sae);
  r.target = unflat(target, x, cfg.d_sae);
  r.actsPost = unflat(post, x, cfg.d_sae);
  r.recons = unflat(recons, x, cfg.d_in);
  r.output = unflat(out, x, cfg.d_in);
  r.error = x - r.output;
  return r;
}

torch::Tensor Sae::preActivations(const torch::Tensor& x) const {
  checkLast(x, cfg.d_in, cfg, "input");
  const bool plain = cfg.normalize_activations != "constant_norm_rescale" && cfg.normalize_activations != "layer_norm";
  if (plain && !gated() && !(cfg.architecture == "topk" && cfg.rescale_acts_by_decoder_norm)) {
    auto xin = cfg.apply_b_dec_to_input ? x - b_dec : x;
    return unflat(torch::addmm(b_enc, flat(xin, cfg.d_in), W_enc), x, cfg.d_sae);
  }
  return forward(x).target;
}

torch::Tensor Sae::encode(const torch::Tensor& x) const {
  checkLast(x, cfg.d_in, cfg, "input");
  if (cfg.architecture == "standard" || cfg.architecture == "jumprelu" ||
      (cfg.architecture == "topk" && !cfg.rescale_acts_by_decoder_norm))
    return activate(preActivations(x));
  return forward(x).actsPost;
}

torch::Tensor Sae::decode(const torch::Tensor& f) const {
  checkLast(f, cfg.d_sae, cfg, "feature vector");
  auto ff = flat(f, cfg.d_sae);
  if (cfg.architecture == "topk" && cfg.rescale_acts_by_decoder_norm) ff = ff / W_dec.norm(2, {1});
  return unflat(torch::addmm(b_dec, ff, W_dec), f, cfg.d_in);
}

torch::Tensor Sae::reconstruct(const torch::Tensor& x) const {
  if (cfg.normalize_activations != "constant_norm_rescale" && cfg.normalize_activations != "layer_norm")
    return decode(encode(x));
  return forward(x).output;
}

torch::Tensor Sae::decoderDirection(const torch::Tensor& x, int64_t j) const {
  checkLast(x, cfg.d_in, cfg, "input");
  if (j < 0 || j >= cfg.d_sae)
    throw InputError("SAE " + cfg.hook_name, "feature " + std::to_string(j) + " is outside 0.." + std::to_string(cfg.d_sae - 1));
  torch::Tensor dir = W_dec[j];
  if (cfg.architecture == "topk" && cfg.rescale_acts_by_decoder_norm) dir = dir / W_dec[j].norm();
  auto shape = x.sizes().vec();
  const bool norm = cfg.normalize_activations == "constant_norm_rescale" || cfg.normalize_activations == "layer_norm";
  if (!norm) return dir.to(x.dtype()).expand(shape).contiguous();
  torch::Tensor scale, shift;
  normalisation(flat(x, cfg.d_in).to(W_dec.dtype()), scale, shift);
  return unflat(unnormalise(cfg, dir.unsqueeze(0) * torch::ones_like(scale), scale, torch::Tensor()), x, cfg.d_in)
      .to(x.dtype());
}

void Sae::validate(const std::string& name) const {
  const int64_t din = cfg.d_in, m = cfg.d_sae;
  auto need = [&](const torch::Tensor& t, const char* what, std::vector<int64_t> shape) {
    if (!t.defined()) throw InputError(name, std::string("the ") + cfg.architecture + " SAE has no " + what);
    if (t.sizes().vec() != shape) {
      std::string got, want;
      for (auto v : t.sizes()) got += (got.empty() ? "" : ",") + std::to_string(v);
      for (auto v : shape) want += (want.empty() ? "" : ",") + std::to_string(v);
      throw InputError(name, std::string(what) + " has shape [" + got + "], expected [" + want + "]");
    }
  };
  const std::string& a = cfg.architecture;
  if (a != "standard" && a != "gated" && a != "jumprelu" && a != "topk")
    throw InputError(name, "architecture \"" + a + "\" is not supported (standard, gated, jumprelu, topk, batchtopk)");
  const std::string& n = cfg.normalize_activations;
  if (n != "none" && n != "constant_norm_rescale" && n != "layer_norm" && n != "expected_average_only_in")
    throw InputError(name, "normalize_activations \"" + n +
                               "\" is not supported (none, constant_norm_rescale, layer_norm, expected_average_only_in)");
  need(W_enc, "W_enc", {din, m});
  need(W_dec, "W_dec", {m, din});
  need(b_enc, a == "gated" ? "b_gate" : "b_enc", {m});
  need(b_dec, "b_dec", {din});
  if (a == "jumprelu") need(threshold, "threshold", {m});
  if (a == "gated") {
    need(b_mag, "b_mag", {m});
    need(r_mag, "r_mag", {m});
  }
  if (a == "topk" && (cfg.k <= 0 || cfg.k > m))
    throw InputError(name, "topk k = " + std::to_string(cfg.k) + " must be between 1 and d_sae = " + std::to_string(m));
  if (sparsity.defined()) need(sparsity, "sparsity", {m});
}

}  // namespace zs
