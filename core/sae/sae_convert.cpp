#include "core/base/input_file.h"
#include "core/base/json_util.h"
#include "core/sae/sae_convert.h"

#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/io/pt_reader.h"

namespace zs {

std::string paperCfgPathFor(const std::string& pt) {
  const std::string ext = ".pt";
  std::string stem = pt.size() > ext.size() && pt.compare(pt.size() - ext.size(), ext.size(), ext) == 0
                         ? pt.substr(0, pt.size() - ext.size()) : pt;
  return stem + "_cfg.json";
}

std::unique_ptr<Sae> convertPaperSae(const std::string& ptPath, const std::string& cfgPath) {
  nlohmann::json cfg;
  {
    cfg = parseJson(readInputFile(cfgPath, InputKind::Config,
                                  " (the SAE's config, expected next to the .pt as *_cfg.json)"),
                    cfgPath, "the SAE's config");
  }
  auto need = [&](const char* k) -> const nlohmann::json& {
    if (!cfg.is_object() || !cfg.contains(k)) throw InputError(cfgPath, std::string("missing \"") + k + "\"");
    return cfg[k];
  };
  if (!need("act_size").is_number_integer() || !need("dict_size").is_number_integer() || !need("act_name").is_string())
    throw InputError(cfgPath, "act_size and dict_size must be integers and act_name a string");
  const int64_t dIn = cfg["act_size"].get<int64_t>(), dSae = cfg["dict_size"].get<int64_t>();
  const std::string act = cfg["act_name"].get<std::string>();
  std::smatch m;
  static const std::regex re("^blocks\\.([0-9]+)\\.attn\\.hook_z$");
  if (!std::regex_match(act, m, re)) throw InputError(cfgPath, "act_name \"" + act + "\" is not blocks.L.attn.hook_z");
  if (dIn <= 0 || dSae <= 0) throw InputError(cfgPath, "act_size and dict_size must be positive");

  auto sd = loadTorchStateDict(ptPath);
  const std::set<std::string> want = {"W_enc", "W_dec", "b_enc", "b_dec"};
  for (const auto& kv : sd)
    if (!want.count(kv.first)) throw InputError(ptPath, "unexpected tensor '" + kv.first + "' (expected only W_enc, W_dec, b_enc, b_dec)");
  auto take = [&](const std::string& k, std::vector<int64_t> shape) {
    auto it = sd.find(k);
    if (it == sd.end()) throw InputError(ptPath, "tensor '" + k + "' is missing");
    if (it->second.sizes().vec() != shape) {
      std::string got, exp;
      for (auto s : it->second.sizes()) got += (got.empty() ? "" : ",") + std::to_string(s);
      for (auto s : shape) exp += (exp.empty() ? "" : ",") + std::to_string(s);
      throw InputError(ptPath, "tensor '" + k + "' has shape [" + got + "], expected [" + exp + "] from " + cfgPath);
    }
    if (!torch::isfinite(it->second).all().item<bool>()) throw InputError(ptPath, "tensor '" + k + "' holds NaN or infinity");
    return it->second;
  };
  auto sae = std::make_unique<Sae>();
  sae->W_enc = take("W_enc", {dIn, dSae});
  sae->W_dec = take("W_dec", {dSae, dIn});
  sae->b_enc = take("b_enc", {dSae});
  sae->b_dec = take("b_dec", {dIn});
  auto& c = sae->cfg;
  c.d_in = dIn;
  c.d_sae = dSae;
  c.hook_name = act;
  c.hook_layer = std::stoll(m[1].str());
  c.apply_b_dec_to_input = true;
  c.model_name = cfg.value("model_name", std::string());
  if (cfg.contains("seq_len") && cfg["seq_len"].is_number_integer()) c.context_size = cfg["seq_len"].get<int64_t>();
  c.extra_json = nlohmann::json{{"converted_from", {{"file", ptPath}, {"cfg", cfg}}}}.dump();
  return sae;
}

PaperSaeConversion convertPaperSaeFolder(const std::string& ptPath, const std::string& cfgPath,
                                         const std::string& outDir, const ModelSpec* model) {
  auto sae = convertPaperSae(ptPath, cfgPath);
  if (model) sae->checkAgainst(*model, ptPath);
  PaperSaeConversion r;
  r.maxDecoderNormDeviation = (sae->W_dec.norm(2, {1}) - 1).abs().max().item<double>();
  sae->saveDir(outDir);
  r.hookName = sae->cfg.hook_name;
  r.dIn = sae->cfg.d_in;
  r.dSae = sae->cfg.d_sae;
  return r;
}

}  // namespace zs
