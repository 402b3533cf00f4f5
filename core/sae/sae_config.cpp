// SAELens cfg.json: the flat legacy layout (old and new key names) and SAELens 6's
// (architecture + metadata block). Anything that would change what the
// SAE computes and that Zscope does not implement is refused, never ignored.
#include <cmath>
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
                        "hook_point_head_index", "finetuning_scaling_factor", "activation_fn_kwargs", "k",
                        "rescale_acts_by_decoder_norm", "metadata"};
// Keys of the SAELens 6 metadata block interpreted here.
const char* kKnownMeta[] = {"hook_name", "model_name", "context_size", "hook_head_index", "hook_layer"};

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
  const bool v6 = j.contains("metadata") && j["metadata"].is_object();
  c.layout = v6 ? "saelens6" : "legacy";
  const json meta = v6 ? j["metadata"] : json::object();
  // A key from the top level, else from the metadata block.
  auto find = [&](const char* k) -> const json* {
    if (j.contains(k) && !j[k].is_null()) return &j[k];
    if (meta.contains(k) && !meta[k].is_null()) return &meta[k];
    return nullptr;
  };
  try {
    if (j.contains("d_in")) c.d_in = getInt(j, "d_in", file);
    if (j.contains("d_sae") && !j["d_sae"].is_null()) c.d_sae = getInt(j, "d_sae", file);
    if (const json* h = find("hook_name")) {
      if (!h->is_string()) throw InputError(file, "\"hook_name\" must be a string");
      c.hook_name = h->get<std::string>();
    } else if (j.contains("hook_point")) {
      c.hook_name = getStr(j, "hook_point", file);
    } else {
      throw InputError(file, "neither \"hook_name\" nor \"hook_point\" is given");
    }
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
    // Architecture: SAELens 6 and late 5.x name it; the legacy layout may say
    // activation_fn_str "topk" (with activation_fn_kwargs.k) on a "standard" SAE.
    std::string act = "relu";
    if (j.contains("activation_fn_str") && !j["activation_fn_str"].is_null()) act = getStr(j, "activation_fn_str", file);
    else if (j.contains("activation_fn") && !j["activation_fn"].is_null()) act = getStr(j, "activation_fn", file);
    if (act != "relu" && act != "topk")
      throw InputError(file, "activation function \"" + act + "\" is not supported (relu, topk)");
    std::string arch = "standard";
    if (j.contains("architecture") && !j["architecture"].is_null()) arch = getStr(j, "architecture", file);
    if (arch == "standard" && act == "topk") arch = "topk";
    if (arch == "batchtopk") arch = "jumprelu";  // inference form: one threshold for all features (see Sae::loadDir)
    if (arch != "standard" && arch != "gated" && arch != "jumprelu" && arch != "topk")
      throw InputError(file, "architecture \"" + arch + "\" is not supported (standard, gated, jumprelu, topk, batchtopk)");
    c.architecture = arch;
    if (arch == "topk") {
      const json* kj = nullptr;
      if (j.contains("k") && !j["k"].is_null()) kj = &j["k"];
      else if (j.contains("activation_fn_kwargs") && j["activation_fn_kwargs"].is_object() &&
               j["activation_fn_kwargs"].contains("k"))
        kj = &j["activation_fn_kwargs"]["k"];
      if (!kj) throw InputError(file, "a topk SAE needs \"k\" (or activation_fn_kwargs.k)");
      if (!kj->is_number_integer() && !(kj->is_number_float() && std::floor(kj->get<double>()) == kj->get<double>()))
        throw InputError(file, "\"k\" must be an integer");
      c.k = static_cast<int64_t>(kj->get<double>());
      if (c.k <= 0) throw InputError(file, "topk k = " + std::to_string(c.k) + " must be positive");
      if (c.d_sae > 0 && c.k > c.d_sae)
        throw InputError(file, "topk k = " + std::to_string(c.k) + " exceeds d_sae = " + std::to_string(c.d_sae));
    }
    if (j.contains("rescale_acts_by_decoder_norm") && !j["rescale_acts_by_decoder_norm"].is_null()) {
      if (!j["rescale_acts_by_decoder_norm"].is_boolean())
        throw InputError(file, "\"rescale_acts_by_decoder_norm\" must be true or false");
      c.rescale_acts_by_decoder_norm = j["rescale_acts_by_decoder_norm"].get<bool>();
      if (c.rescale_acts_by_decoder_norm && arch != "topk")
        throw InputError(file, "rescale_acts_by_decoder_norm is only supported for topk SAEs (this one is " + arch + ")");
    }
    for (const char* k : {"hook_head_index", "hook_point_head_index"})
      if (find(k)) throw InputError(file, std::string("\"") + k + "\" is set: SAEs on a single head are not supported");
    if (j.contains("finetuning_scaling_factor") && j["finetuning_scaling_factor"].is_boolean() &&
        j["finetuning_scaling_factor"].get<bool>())
      throw InputError(file, "finetuning_scaling_factor is true: scaled SAEs are not supported");
    if (j.contains("normalize_activations")) {
      const json& n = j["normalize_activations"];
      std::string v = n.is_null() ? "none" : n.is_boolean() ? (n.get<bool>() ? "true" : "none")
                                                             : n.is_string() ? n.get<std::string>() : "?";
      if (v != "none" && v != "constant_norm_rescale" && v != "layer_norm" && v != "expected_average_only_in")
        throw InputError(file, "normalize_activations \"" + v +
                                   "\" is not supported (none, constant_norm_rescale, layer_norm, "
                                   "expected_average_only_in)");
      c.normalize_activations = v;
    }
    if (const json* v = find("model_name"); v && v->is_string()) c.model_name = v->get<std::string>();
    if (j.contains("dtype") && j["dtype"].is_string()) c.dtype = j["dtype"].get<std::string>();
    if (j.contains("context_size") && !j["context_size"].is_null()) c.context_size = getInt(j, "context_size", file);
    else if (meta.contains("context_size") && !meta["context_size"].is_null())
      c.context_size = getInt(meta, "context_size", file);
  } catch (const json::exception& e) {
    throw InputError(file, std::string("malformed cfg.json: ") + e.what());
  }
  json extra = json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : kKnown) known = known || it.key() == k;
    if (!known) extra[it.key()] = it.value();
  }
  if (v6) {
    json em = json::object();
    for (auto it = meta.begin(); it != meta.end(); ++it) {
      bool known = false;
      for (const char* k : kKnownMeta) known = known || it.key() == k;
      if (!known) em[it.key()] = it.value();
    }
    extra["metadata"] = em;
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
  auto setDefault = [](json& o, const char* k, json v) {
    if (!o.contains(k)) o[k] = std::move(v);
  };
  const std::string norm = normalize_activations.empty() ? "none" : normalize_activations;
  if (layout == "saelens6") {
    json meta = j.contains("metadata") && j["metadata"].is_object() ? j["metadata"] : json::object();
    setDefault(j, "device", "cpu");
    setDefault(j, "reshape_activations", flatten_heads() ? "hook_z" : "none");
    setDefault(meta, "prepend_bos", true);
    setDefault(meta, "dataset_path", "");
    setDefault(meta, "seqpos_slice", json::array({nullptr}));
    setDefault(meta, "model_from_pretrained_kwargs", json::object());
    meta["hook_name"] = hook_name;
    meta["model_name"] = model_name;
    meta["context_size"] = context_size;
    meta["hook_head_index"] = nullptr;
    j["metadata"] = meta;
    j["architecture"] = architecture;
    j["d_in"] = d_in;
    j["d_sae"] = d_sae;
    j["dtype"] = dtype;
    j["apply_b_dec_to_input"] = apply_b_dec_to_input;
    j["normalize_activations"] = norm;
    if (architecture == "topk") {
      j["k"] = k;
      j["rescale_acts_by_decoder_norm"] = rescale_acts_by_decoder_norm;
    }
    return j.dump(2);
  }
  j.erase("metadata");
  // Defaults SAELens needs to load the folder, unless the source file had them.
  setDefault(j, "device", "cpu");
  setDefault(j, "prepend_bos", true);
  setDefault(j, "dataset_path", "");
  setDefault(j, "dataset_trust_remote_code", false);
  setDefault(j, "sae_lens_training_version", nullptr);
  setDefault(j, "neuronpedia_id", nullptr);
  setDefault(j, "model_from_pretrained_kwargs", json::object());
  setDefault(j, "seqpos_slice", json::array({nullptr}));
  j["architecture"] = architecture == "topk" ? "standard" : architecture;
  j["d_in"] = d_in;
  j["d_sae"] = d_sae;
  j["dtype"] = dtype;
  j["model_name"] = model_name;
  j["hook_name"] = hook_name;
  j["hook_layer"] = hook_layer;
  j["hook_head_index"] = nullptr;
  j["activation_fn_str"] = architecture == "topk" ? "topk" : "relu";
  j["activation_fn_kwargs"] = architecture == "topk" ? json{{"k", k}} : json::object();
  if (architecture == "topk") j["rescale_acts_by_decoder_norm"] = rescale_acts_by_decoder_norm;
  j["apply_b_dec_to_input"] = apply_b_dec_to_input;
  j["finetuning_scaling_factor"] = false;
  j["context_size"] = context_size;
  j["normalize_activations"] = norm;
  return j.dump(2);
}

}  // namespace zs
