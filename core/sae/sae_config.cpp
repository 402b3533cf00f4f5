// SAELens cfg.json, old and new key names. Anything that would change what the
// SAE computes and that Zscope does not implement is refused, never ignored.
#include <regex>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/json_util.h"
#include "core/model/model.h"
#include "core/sae/sae.h"

namespace zs {
namespace {

using nlohmann::json;

// Keys interpreted here (both spellings); everything else goes to extra_json.
const char* kKnown[] = {"d_in", "d_sae", "hook_name", "hook_point", "hook_layer", "hook_point_layer",
                        "apply_b_dec_to_input", "activation_fn_str", "activation_fn", "normalize_activations",
                        "model_name", "dtype", "context_size", "architecture", "hook_head_index",
                        "hook_point_head_index", "finetuning_scaling_factor", "activation_fn_kwargs"};

int64_t getInt(const json& j, const char* key, const std::string& file) { return jsonInteger(j, key, file); }

std::string getStr(const json& j, const char* key, const std::string& file) {
  const json& v = j.at(key);
  if (!v.is_string()) throw InputError(file, std::string("\"") + key + "\" must be a string");
  return v.get<std::string>();
}

}  // namespace

bool SaeConfig::flatten_heads() const {
  const std::string suf = "attn.hook_z";
  return hook_name.size() >= suf.size() && hook_name.compare(hook_name.size() - suf.size(), suf.size(), suf) == 0;
}

SaeConfig SaeConfig::fromJsonText(const std::string& text, const std::string& file) {
  const json j = parseJsonObject(text, file, "cfg.json");
  SaeConfig c;
  try {
    if (j.contains("d_in")) c.d_in = getInt(j, "d_in", file);
    if (j.contains("d_sae") && !j["d_sae"].is_null()) c.d_sae = getInt(j, "d_sae", file);
    if (j.contains("hook_name")) c.hook_name = getStr(j, "hook_name", file);
    else if (j.contains("hook_point")) c.hook_name = getStr(j, "hook_point", file);
    else throw InputError(file, "neither \"hook_name\" nor \"hook_point\" is given");
    const char* layerKey = j.contains("hook_layer") ? "hook_layer" : (j.contains("hook_point_layer") ? "hook_point_layer" : nullptr);
    if (layerKey && !j[layerKey].is_null()) c.hook_layer = getInt(j, layerKey, file);
    if (const int64_t fromName = hookLayer(c.hook_name); fromName >= 0) {
      if (c.hook_layer < 0) c.hook_layer = fromName;
      else if (c.hook_layer != fromName)
        throw InputError(file, "hook_layer " + std::to_string(c.hook_layer) + " disagrees with hook_name " + c.hook_name);
    }
    if (j.contains("apply_b_dec_to_input")) {
      if (!j["apply_b_dec_to_input"].is_boolean()) throw InputError(file, "\"apply_b_dec_to_input\" must be true or false");
      c.apply_b_dec_to_input = j["apply_b_dec_to_input"].get<bool>();
    }
    if (j.contains("activation_fn_str")) c.activation_fn = getStr(j, "activation_fn_str", file);
    else if (j.contains("activation_fn")) c.activation_fn = getStr(j, "activation_fn", file);
    if (c.activation_fn != "relu")
      throw InputError(file, "activation function \"" + c.activation_fn + "\" is not supported (only relu)");
    if (j.contains("architecture") && !j["architecture"].is_null()) {
      std::string a = getStr(j, "architecture", file);
      if (a != "standard") throw InputError(file, "architecture \"" + a + "\" is not supported (only standard ReLU SAEs)");
    }
    for (const char* k : {"hook_head_index", "hook_point_head_index"})
      if (j.contains(k) && !j[k].is_null())
        throw InputError(file, std::string("\"") + k + "\" is set: SAEs on a single head are not supported");
    if (j.contains("finetuning_scaling_factor") && j["finetuning_scaling_factor"].is_boolean() &&
        j["finetuning_scaling_factor"].get<bool>())
      throw InputError(file, "finetuning_scaling_factor is true: scaled SAEs are not supported");
    if (j.contains("normalize_activations")) {
      const json& n = j["normalize_activations"];
      std::string v = n.is_null() ? "none" : n.is_boolean() ? (n.get<bool>() ? "true" : "none")
                                                             : n.is_string() ? n.get<std::string>() : "?";
      if (v != "none")
        throw InputError(file, "normalize_activations \"" + v +
                                   "\" is not supported: this SAE expects rescaled inputs that Zscope does not "
                                   "reproduce; only \"none\" (or null) can be loaded");
    }
    if (j.contains("model_name") && j["model_name"].is_string()) c.model_name = j["model_name"].get<std::string>();
    if (j.contains("dtype") && j["dtype"].is_string()) c.dtype = j["dtype"].get<std::string>();
    if (j.contains("context_size") && !j["context_size"].is_null()) c.context_size = getInt(j, "context_size", file);
  } catch (const json::exception& e) {
    throw InputError(file, std::string("malformed cfg.json: ") + e.what());
  }
  json extra = json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : kKnown) known = known || it.key() == k;
    if (!known) extra[it.key()] = it.value();
  }
  c.extra_json = extra.dump();
  return c;
}

std::string SaeConfig::toJsonText() const {
  json j = json::object();
  try {
    json extra = json::parse(extra_json.empty() ? "{}" : extra_json);
    if (extra.is_object()) j = extra;
  } catch (const std::exception&) {
  }
  // Defaults SAELens needs to load the folder, unless the source file had them.
  auto setDefault = [&](const char* k, json v) {
    if (!j.contains(k)) j[k] = std::move(v);
  };
  setDefault("device", "cpu");
  setDefault("prepend_bos", true);
  setDefault("dataset_path", "");
  setDefault("dataset_trust_remote_code", false);
  setDefault("sae_lens_training_version", nullptr);
  setDefault("neuronpedia_id", nullptr);
  setDefault("model_from_pretrained_kwargs", json::object());
  setDefault("seqpos_slice", json::array({nullptr}));
  j["architecture"] = "standard";
  j["d_in"] = d_in;
  j["d_sae"] = d_sae;
  j["dtype"] = dtype;
  j["model_name"] = model_name;
  j["hook_name"] = hook_name;
  j["hook_layer"] = hook_layer;
  j["hook_head_index"] = nullptr;
  j["activation_fn_str"] = activation_fn;
  j["activation_fn_kwargs"] = json::object();
  j["apply_b_dec_to_input"] = apply_b_dec_to_input;
  j["finetuning_scaling_factor"] = false;
  j["context_size"] = context_size;
  j["normalize_activations"] = normalize_activations.empty() ? "none" : normalize_activations;
  return j.dump(2);
}

}  // namespace zs
