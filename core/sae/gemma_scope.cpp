// Gemma Scope SAEs: params.npz (W_enc, W_dec, b_enc, b_dec, threshold), JumpReLU,
// apply_b_dec_to_input false, no cfg file. Layer and site come from the path
// (".../gemma-scope-2b-pt-att/layer_12/width_16k/average_l0_71/params.npz" ->
// blocks.12.attn.hook_z) unless a hook is given.
#include <regex>

#include "core/base/error.h"
#include "core/io/npy.h"
#include "core/sae/sae.h"

namespace zs {
namespace {

std::string hookFromPath(const std::string& path) {
  static const std::regex layerRe("layer_([0-9]{1,4})(/|$)");
  std::smatch m;
  std::string layer;
  // The last layer_N component of the path.
  for (auto it = std::sregex_iterator(path.begin(), path.end(), layerRe); it != std::sregex_iterator(); ++it)
    layer = (*it)[1].str();
  if (layer.empty()) return {};
  if (path.find("-att") != std::string::npos) return "blocks." + layer + ".attn.hook_z";
  if (path.find("-res") != std::string::npos) return "blocks." + layer + ".hook_resid_post";
  if (path.find("-mlp") != std::string::npos) return "blocks." + layer + ".hook_mlp_out";
  return {};
}

std::string shapeText(const std::vector<int64_t>& s) {
  std::string t;
  for (auto v : s) t += (t.empty() ? "" : ",") + std::to_string(v);
  return "[" + t + "]";
}

}  // namespace

std::unique_ptr<Sae> Sae::loadGemmaScope(const std::string& path, const std::string& hookOverride) {
  auto arrays = npy::readNpz(path);
  auto get = [&](const char* name, std::vector<int64_t> shape) {
    auto it = arrays.find(name);
    if (it == arrays.end()) throw InputError(path, std::string("the Gemma Scope archive has no array \"") + name + "\"");
    if (it->second.shape != shape)
      throw InputError(path, std::string(name) + " has shape " + shapeText(it->second.shape) + ", expected " +
                                 shapeText(shape));
    std::vector<float> v = it->second.toFloat32(path + ":" + name);
    return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kFloat32).clone().reshape(shape);
  };
  auto we = arrays.find("W_enc");
  if (we == arrays.end()) throw InputError(path, "the Gemma Scope archive has no array \"W_enc\"");
  if (we->second.shape.size() != 2) throw InputError(path, "W_enc must be 2-D [d_in, d_sae]");
  auto sae = std::make_unique<Sae>();
  SaeConfig& c = sae->cfg;
  c.d_in = we->second.shape[0];
  c.d_sae = we->second.shape[1];
  c.architecture = "jumprelu";
  c.apply_b_dec_to_input = false;
  c.normalize_activations = "none";
  c.layout = "saelens6";
  c.hook_name = hookOverride.empty() ? hookFromPath(path) : hookOverride;
  if (c.hook_name.empty())
    throw InputError(path, "cannot tell the hook from the path (no layer_N with -att/-res/-mlp); give the hook explicitly");
  static const std::regex re("^blocks\\.([0-9]+)\\.");
  std::smatch m;
  if (std::regex_search(c.hook_name, m, re)) c.hook_layer = std::stoll(m[1].str());
  if (path.find("gemma-scope-2b") != std::string::npos) c.model_name = "gemma-2-2b";
  else if (path.find("gemma-scope-9b") != std::string::npos) c.model_name = "gemma-2-9b";
  c.extra_json = R"({"metadata": {"converted_from": "Gemma Scope params.npz"}})";
  sae->W_enc = get("W_enc", {c.d_in, c.d_sae});
  sae->W_dec = get("W_dec", {c.d_sae, c.d_in});
  sae->b_enc = get("b_enc", {c.d_sae});
  sae->b_dec = get("b_dec", {c.d_in});
  sae->threshold = get("threshold", {c.d_sae});
  for (const auto* t : {&sae->W_enc, &sae->W_dec, &sae->b_enc, &sae->b_dec, &sae->threshold})
    if (!torch::isfinite(*t).all().item<bool>()) throw InputError(path, "weights hold NaN or infinity");
  sae->validate(path);
  return sae;
}

}  // namespace zs
