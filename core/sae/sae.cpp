// The SAE itself: encode/decode (ATTRIBUTION.md, "Attention-output SAE") and the
// SAELens folder format (cfg.json + sae_weights.safetensors).
#include "core/sae/sae.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/model/model.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_io.h"
#include "core/base/util.h"
#include "core/base/json_util.h"

namespace fs = std::filesystem;

namespace zs {

void Sae::to(torch::Device d) {
  W_enc = W_enc.to(d);
  W_dec = W_dec.to(d);
  b_enc = b_enc.to(d);
  b_dec = b_dec.to(d);
  for (torch::Tensor* t : {&threshold, &b_mag, &r_mag, &sparsity})
    if (t->defined()) *t = t->to(d);
}

std::unique_ptr<Sae> Sae::init(const SaeConfig& cfg, uint64_t seed, torch::Device device) {
  if (cfg.d_in <= 0 || cfg.d_sae <= 0) throw UsageError("SAE needs d_in > 0 and d_sae > 0");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto sae = std::make_unique<Sae>();
  sae->cfg = cfg;
  auto w = at::normal(0.0, 1.0, {cfg.d_sae, cfg.d_in}, gen, torch::kFloat32);
  w = w / w.norm(2, {1}, true).clamp_min(1e-12);
  sae->W_dec = w.contiguous();
  sae->W_enc = w.t().contiguous();
  sae->b_enc = torch::zeros({cfg.d_sae});
  sae->b_dec = torch::zeros({cfg.d_in});
  if (cfg.architecture == "jumprelu") sae->threshold = torch::zeros({cfg.d_sae});
  if (cfg.architecture == "gated") {
    sae->b_mag = torch::zeros({cfg.d_sae});
    sae->r_mag = torch::zeros({cfg.d_sae});
  }
  sae->validate("SAE " + cfg.hook_name);
  sae->to(device);
  return sae;
}

void Sae::checkAgainst(const ModelSpec& model, const std::string& name) const {
  if (!cfg.flatten_heads())
    throw InputError(name, "hook \"" + cfg.hook_name + "\" is not an attention hook_z (blocks.L.attn.hook_z)");
  if (cfg.hook_layer < 0 || cfg.hook_layer >= model.nLayer)
    throw InputError(name, "layer " + std::to_string(cfg.hook_layer) + " does not exist in a model with " +
                               std::to_string(model.nLayer) + " layers");
  int64_t d = model.dZ();
  if (cfg.d_in != d)
    throw InputError(name, "d_in " + std::to_string(cfg.d_in) + " does not match the model's hook_z width n_heads*d_head = " +
                               std::to_string(d));
}

std::unique_ptr<Sae> Sae::loadDir(const std::string& dir, torch::Device device, const std::string& hook) {
  // Gemma Scope: a params.npz (or a folder holding one and no cfg.json).
  if (fs::is_regular_file(dir) && dir.size() > 4 && dir.compare(dir.size() - 4, 4, ".npz") == 0) {
    auto sae = loadGemmaScope(dir, hook);
    sae->to(device);
    return sae;
  }
  std::string cfgPath = dir + "/cfg.json", wPath = dir + "/sae_weights.safetensors";
  if (!fs::is_directory(dir)) throw InputError(dir, "SAE folder not found");
  if (!fs::exists(cfgPath) && fs::exists(dir + "/params.npz")) {
    auto sae = loadGemmaScope(dir + "/params.npz", hook);
    sae->to(device);
    return sae;
  }
  auto sae = std::make_unique<Sae>();
  sae->cfg = SaeConfig::fromJsonText(
      readWholeFile(cfgPath, " (an SAE folder holds cfg.json and sae_weights.safetensors)"), cfgPath);
  std::string arch = sae->cfg.architecture;
  auto file = st::File::open(wPath);
  // d_in / d_sae may be absent in old configs: take them from W_enc, then check every shape.
  const auto& we = file->get("W_enc");
  if (we.shape.size() != 2) throw InputError(wPath, "W_enc must be 2-D [d_in, d_sae]");
  if (sae->cfg.d_in <= 0) sae->cfg.d_in = we.shape[0];
  if (sae->cfg.d_sae <= 0) sae->cfg.d_sae = we.shape[1];
  const int64_t din = sae->cfg.d_in, dsae = sae->cfg.d_sae;
  sae->W_enc = loadTensor(*file, "W_enc", {din, dsae});
  sae->W_dec = loadTensor(*file, "W_dec", {dsae, din});
  sae->b_dec = loadTensor(*file, "b_dec", {din});
  auto need = [&](const char* name) {
    if (!(file->find(name) != nullptr)) throw InputError(wPath, "the " + arch + " SAE has no tensor \"" + name + "\"");
    return loadTensor(*file, name, {dsae});
  };
  if (arch == "gated") {
    sae->b_enc = need("b_gate");
    sae->b_mag = need("b_mag");
    sae->r_mag = need("r_mag");
  } else {
    sae->b_enc = need("b_enc");
  }
  if (arch == "jumprelu") {
    if ((file->find("threshold") != nullptr)) {
      sae->threshold = loadTensor(*file, "threshold", {dsae});
    } else if ((file->find("topk_threshold") != nullptr)) {  // a BatchTopK training checkpoint: one threshold for all
      const auto& info = file->get("topk_threshold");
      int64_t n = 1;
      for (auto v : info.shape) n *= v;
      if (n != 1) throw InputError(wPath, "topk_threshold must hold one value");
      sae->threshold = loadTensor(*file, "topk_threshold", info.shape).reshape({1}).expand({dsae}).contiguous();
    } else {
      throw InputError(wPath, "the jumprelu SAE has no tensor \"threshold\"");
    }
  }
  for (const auto* t : {&sae->W_enc, &sae->W_dec, &sae->b_enc, &sae->b_dec, &sae->threshold, &sae->b_mag, &sae->r_mag})
    if (t->defined() && !torch::isfinite(*t).all().item<bool>()) throw InputError(wPath, "weights hold NaN or infinity");
  const std::string spPath = dir + "/sparsity.safetensors";
  if (fs::exists(spPath)) {
    auto sp = st::File::open(spPath);
    if (!(sp->find("sparsity") != nullptr)) throw InputError(spPath, "has no tensor \"sparsity\"");
    sae->sparsity = loadTensor(*sp, "sparsity", {dsae});
  }
  const std::string scalerPath = dir + "/activation_scaler.json";
  if (sae->cfg.normalize_activations == "expected_average_only_in" && fs::exists(scalerPath)) {
    auto sj = parseJsonObject(readWholeFile(scalerPath, ""), scalerPath, "activation_scaler.json");
    if (!sj.contains("scaling_factor") || !sj["scaling_factor"].is_number())
      throw InputError(scalerPath, "needs a numeric \"scaling_factor\"");
    const double sf = sj["scaling_factor"].get<double>();
    if (!(sf > 0) || !std::isfinite(sf)) throw InputError(scalerPath, "scaling_factor must be positive");
    // x' = x * sf folded into the weights, as SAELens does for inference.
    sae->W_enc = sae->W_enc * sf;
    sae->W_dec = sae->W_dec / sf;
    sae->b_dec = sae->b_dec / sf;
    sae->cfg.normalize_activations = "none";
  }
  sae->validate(cfgPath);
  sae->to(device);
  return sae;
}

void Sae::saveDir(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create folder " + dir + ": " + ec.message());
  auto cpu = [](const torch::Tensor& t) { return t.to(torch::kCPU, torch::kFloat32).contiguous(); };
  std::vector<std::pair<std::string, torch::Tensor>> ts = {{"W_enc", cpu(W_enc)}, {"W_dec", cpu(W_dec)}};
  ts.emplace_back(gated() ? "b_gate" : "b_enc", cpu(b_enc));
  ts.emplace_back("b_dec", cpu(b_dec));
  if (cfg.architecture == "jumprelu") ts.emplace_back("threshold", cpu(threshold));
  if (gated()) {
    ts.emplace_back("b_mag", cpu(b_mag));
    ts.emplace_back("r_mag", cpu(r_mag));
  }
  saveTensors(dir + "/sae_weights.safetensors", ts);
  if (sparsity.defined()) saveTensors(dir + "/sparsity.safetensors", {{"sparsity", cpu(sparsity)}});
  std::string tmp = dir + "/cfg.json.tmp", path = dir + "/cfg.json";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << cfg.toJsonText() << "\n";
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  fs::rename(tmp, path, ec);
  if (ec) throw std::runtime_error("cannot write " + path + ": " + ec.message());
}

std::string Sae::fingerprint() const {
  uint64_t h = kFnv1aOffset;
  for (const torch::Tensor* t : {&W_enc, &W_dec, &b_enc, &b_dec, &threshold, &b_mag, &r_mag}) {
    if (!t->defined()) continue;
    torch::Tensor c = t->to(torch::kCPU, torch::kFloat32).contiguous();
    h = fnv1a(c.data_ptr<float>(), static_cast<size_t>(c.numel()) * sizeof(float), h);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace zs
