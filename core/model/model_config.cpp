#include "core/model/model_config.h"

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/json_util.h"
#include "core/base/util.h"

namespace zs {
namespace {

using nlohmann::json;

int64_t readInt(const json& j, const char* key, int64_t def, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return def;
  return jsonInteger(j, key, file);
}

}  // namespace

Gpt2Config Gpt2Config::fromFile(const std::string& path) {
  return fromJsonText(readWholeFile(path, " (the model's config.json)"), path);
}

Gpt2Config Gpt2Config::fromJsonText(const std::string& text, const std::string& file) {
  const json j = parseJsonObject(text, file, "config");
  if (j.contains("model_type") && j["model_type"].is_string() && j["model_type"] != "gpt2")
    throw InputError(file, "model_type is '" + j["model_type"].get<std::string>() + "', only 'gpt2' is supported");
  Gpt2Config c;
  c.n_layer = readInt(j, "n_layer", 12, file);
  c.n_head = readInt(j, "n_head", 12, file);
  c.n_embd = readInt(j, "n_embd", 768, file);
  c.n_positions = readInt(j, "n_positions", readInt(j, "n_ctx", 1024, file), file);
  c.vocab_size = readInt(j, "vocab_size", 50257, file);
  c.n_inner = readInt(j, "n_inner", 0, file);
  c.bos_token_id = readInt(j, "bos_token_id", -1, file);
  c.eos_token_id = readInt(j, "eos_token_id", -1, file);
  if (j.contains("layer_norm_epsilon") && !j["layer_norm_epsilon"].is_null()) {
    if (!j["layer_norm_epsilon"].is_number())
      throw InputError(file, "config field 'layer_norm_epsilon' must be a number");
    c.layer_norm_epsilon = j["layer_norm_epsilon"].get<double>();
  }
  if (j.contains("activation_function") && !j["activation_function"].is_null()) {
    if (!j["activation_function"].is_string())
      throw InputError(file, "config field 'activation_function' must be a string");
    c.activation_function = j["activation_function"].get<std::string>();
  }
  auto readBool = [&](const char* key, bool def) {
    if (!j.contains(key) || j[key].is_null()) return def;
    if (!j[key].is_boolean()) throw InputError(file, std::string("config field '") + key + "' must be true or false");
    return j[key].get<bool>();
  };
  c.tie_word_embeddings = readBool("tie_word_embeddings", true);
  c.scale_attn_weights = readBool("scale_attn_weights", true);
  c.scale_attn_by_inverse_layer_idx = readBool("scale_attn_by_inverse_layer_idx", false);
  (void)readBool("reorder_and_upcast_attn", false);  // validated; float32 already
  c.validate(file);
  return c;
}

void Gpt2Config::validate(const std::string& file) const {
  auto bad = [&](const std::string& what) { throw InputError(file, "invalid config: " + what); };
  if (n_layer < 1 || n_layer > 1000) bad("n_layer must be in 1..1000, got " + std::to_string(n_layer));
  if (n_head < 1 || n_head > 4096) bad("n_head must be in 1..4096, got " + std::to_string(n_head));
  if (n_embd < 1 || n_embd > 1 << 20) bad("n_embd must be positive, got " + std::to_string(n_embd));
  if (n_embd % n_head != 0)
    bad("n_embd (" + std::to_string(n_embd) + ") is not divisible by n_head (" + std::to_string(n_head) + ")");
  if (n_positions < 1 || n_positions > 1 << 20) bad("n_positions must be positive, got " + std::to_string(n_positions));
  if (vocab_size < 1 || vocab_size > 1 << 24) bad("vocab_size must be positive, got " + std::to_string(vocab_size));
  if (n_inner < 0) bad("n_inner must be positive or null");
  if (!(layer_norm_epsilon > 0 && layer_norm_epsilon < 1)) bad("layer_norm_epsilon must be in (0, 1)");
  if (activation_function != "gelu_new" && activation_function != "gelu" &&
      activation_function != "gelu_pytorch_tanh" && activation_function != "relu")
    bad("activation_function '" + activation_function + "' is not supported (gelu_new, gelu, gelu_pytorch_tanh, relu)");
  if (bos_token_id >= vocab_size) bad("bos_token_id " + std::to_string(bos_token_id) + " >= vocab_size");
  if (eos_token_id >= vocab_size) bad("eos_token_id " + std::to_string(eos_token_id) + " >= vocab_size");
}

std::string Gpt2Config::toJsonText() const {
  json j;
  j["model_type"] = "gpt2";
  j["architectures"] = {"GPT2LMHeadModel"};
  j["n_layer"] = n_layer;
  j["n_head"] = n_head;
  j["n_embd"] = n_embd;
  j["n_positions"] = n_positions;
  j["n_ctx"] = n_positions;
  j["vocab_size"] = vocab_size;
  j["n_inner"] = n_inner > 0 ? json(n_inner) : json(nullptr);
  j["layer_norm_epsilon"] = layer_norm_epsilon;
  j["activation_function"] = activation_function;
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_id >= 0) j["eos_token_id"] = eos_token_id;
  j["tie_word_embeddings"] = tie_word_embeddings;
  if (!scale_attn_weights) j["scale_attn_weights"] = false;
  if (scale_attn_by_inverse_layer_idx) j["scale_attn_by_inverse_layer_idx"] = true;
  return j.dump(2) + "\n";
}

}  // namespace zs
