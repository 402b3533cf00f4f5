// The SAE itself: encode/decode (ATTRIBUTION.md, "Attention-output SAE") and the
// SAELens folder format (cfg.json + sae_weights.safetensors).
#include "core/sae/sae.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/model/model.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_io.h"
#include "core/base/util.h"

namespace fs = std::filesystem;

namespace zs {

torch::Tensor Sae::preActivations(const torch::Tensor& x) const {
  if (x.dim() < 1 || x.size(-1) != cfg.d_in)
    throw InputError("SAE " + cfg.hook_name, "input's last dimension is " +
                                                 std::to_string(x.dim() ? x.size(-1) : 0) + ", expected d_in " +
                                                 std::to_string(cfg.d_in));
  auto xin = cfg.apply_b_dec_to_input ? x - b_dec : x;
  auto flat = xin.reshape({-1, cfg.d_in});
  auto pre = torch::addmm(b_enc, flat, W_enc);
  auto shape = x.sizes().vec();
  shape.back() = cfg.d_sae;
  return pre.view(shape);
}

torch::Tensor Sae::encode(const torch::Tensor& x) const { return torch::relu(preActivations(x)); }

torch::Tensor Sae::decode(const torch::Tensor& f) const {
  if (f.dim() < 1 || f.size(-1) != cfg.d_sae)
    throw InputError("SAE " + cfg.hook_name, "feature vector's last dimension is not d_sae " + std::to_string(cfg.d_sae));
  auto out = torch::addmm(b_dec, f.reshape({-1, cfg.d_sae}), W_dec);
  auto shape = f.sizes().vec();
  shape.back() = cfg.d_in;
  return out.view(shape);
}

void Sae::to(torch::Device d) {
  W_enc = W_enc.to(d);
  W_dec = W_dec.to(d);
  b_enc = b_enc.to(d);
  b_dec = b_dec.to(d);
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

std::unique_ptr<Sae> Sae::loadDir(const std::string& dir, torch::Device device) {
  std::string cfgPath = dir + "/cfg.json", wPath = dir + "/sae_weights.safetensors";
  if (!fs::is_directory(dir)) throw InputError(dir, "SAE folder not found");
  auto sae = std::make_unique<Sae>();
  sae->cfg = SaeConfig::fromJsonText(
      readWholeFile(cfgPath, " (an SAE folder holds cfg.json and sae_weights.safetensors)"), cfgPath);
  auto file = st::File::open(wPath);
  // d_in / d_sae may be absent in old configs: take them from W_enc, then check every shape.
  const auto& we = file->get("W_enc");
  if (we.shape.size() != 2) throw InputError(wPath, "W_enc must be 2-D [d_in, d_sae]");
  if (sae->cfg.d_in <= 0) sae->cfg.d_in = we.shape[0];
  if (sae->cfg.d_sae <= 0) sae->cfg.d_sae = we.shape[1];
  const int64_t din = sae->cfg.d_in, dsae = sae->cfg.d_sae;
  sae->W_enc = loadTensor(*file, "W_enc", {din, dsae});
  sae->W_dec = loadTensor(*file, "W_dec", {dsae, din});
  sae->b_enc = loadTensor(*file, "b_enc", {dsae});
  sae->b_dec = loadTensor(*file, "b_dec", {din});
  for (const auto& t : {sae->W_enc, sae->W_dec, sae->b_enc, sae->b_dec})
    if (!torch::isfinite(t).all().item<bool>()) throw InputError(wPath, "weights hold NaN or infinity");
  sae->to(device);
  return sae;
}

void Sae::saveDir(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create folder " + dir + ": " + ec.message());
  saveTensors(dir + "/sae_weights.safetensors",
              {{"W_enc", W_enc.to(torch::kCPU).contiguous()},
               {"W_dec", W_dec.to(torch::kCPU).contiguous()},
               {"b_enc", b_enc.to(torch::kCPU).contiguous()},
               {"b_dec", b_dec.to(torch::kCPU).contiguous()}});
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
  for (const torch::Tensor* t : {&W_enc, &W_dec, &b_enc, &b_dec}) {
    torch::Tensor c = t->to(torch::kCPU, torch::kFloat32).contiguous();
    h = fnv1a(c.data_ptr<float>(), static_cast<size_t>(c.numel()) * sizeof(float), h);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace zs
