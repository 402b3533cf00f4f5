#include "core/model/hf_config.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/json_util.h"
#include "core/base/util.h"

namespace zs {
namespace {

using nlohmann::json;

// What a transformers config class uses for an absent key.
struct Defaults {
  int64_t vocab, hidden, intermediate, layers, heads;
  int64_t kvHeads;   // -1: num_attention_heads
  int64_t headDim;   // -1: hidden / heads
  int64_t maxPositions;
  bool tie;
  std::string activation;
};

const std::map<std::string, Defaults>& defaultsByType() {
  static const std::map<std::string, Defaults> d = {
      {"llama", {32000, 4096, 11008, 32, 32, -1, -1, 2048, false, "silu"}},
      {"mistral", {32000, 4096, 14336, 32, 32, 8, -1, 4096 * 32, false, "silu"}},
      {"qwen2", {151936, 4096, 22016, 32, 32, 32, -1, 32768, false, "silu"}},
      {"gemma", {256000, 3072, 24576, 28, 16, 16, 256, 8192, true, "gelu_pytorch_tanh"}},
      {"gemma2", {256000, 2304, 9216, 26, 8, 4, 256, 8192, true, "gelu_pytorch_tanh"}},
  };
  return d;
}

std::string typeFromArchitecture(const std::string& arch) {
  static const std::map<std::string, std::string> m = {{"LlamaForCausalLM", "llama"},
                                                       {"MistralForCausalLM", "mistral"},
                                                       {"Qwen2ForCausalLM", "qwen2"},
                                                       {"GemmaForCausalLM", "gemma"},
                                                       {"Gemma2ForCausalLM", "gemma2"}};
  auto it = m.find(arch);
  return it == m.end() ? std::string() : it->second;
}

std::string modelTypeOf(const json& j) {
  if (j.contains("model_type") && j["model_type"].is_string()) return j["model_type"].get<std::string>();
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    return typeFromArchitecture(j["architectures"][0].get<std::string>());
  return {};
}

bool present(const json& j, const char* key) { return j.contains(key) && !j[key].is_null(); }

int64_t intOr(const json& j, const char* key, int64_t def, const std::string& file) {
  return present(j, key) ? jsonInteger(j, key, file) : def;
}

double numberOr(const json& j, const char* key, double def, const std::string& file) {
  if (!present(j, key)) return def;
  if (!j[key].is_number()) throw InputError(file, std::string("config key '") + key + "' must be a number");
  return j[key].get<double>();
}

bool boolOr(const json& j, const char* key, bool def, const std::string& file) {
  if (!present(j, key)) return def;
  if (!j[key].is_boolean()) throw InputError(file, std::string("config key '") + key + "' must be true or false");
  return j[key].get<bool>();
}

std::string stringOr(const json& j, const char* key, const std::string& def, const std::string& file) {
  if (!present(j, key)) return def;
  if (!j[key].is_string()) throw InputError(file, std::string("config key '") + key + "' must be a string");
  return j[key].get<std::string>();
}

bool knownActivation(const std::string& a) {
  for (const char* k : {"silu", "swish", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu", "relu",
                        "tanh"})
    if (a == k) return true;
  return false;
}

// rope_scaling as modeling_rope_utils.py reads it ("rope_type", or the legacy "type").
void parseRopeScaling(const json& j, RopeConfig& r, const std::string& file) {
  if (!present(j, "rope_scaling")) return;
  const json& s = j["rope_scaling"];
  if (!s.is_object()) throw InputError(file, "config key 'rope_scaling' must be an object or null");
  std::string type = stringOr(s, "rope_type", stringOr(s, "type", "", file), file);
  if (type.empty()) throw InputError(file, "config key 'rope_scaling' has neither 'rope_type' nor 'type'");
  auto need = [&](const char* key) {
    if (!present(s, key))
      throw InputError(file, "rope_scaling type '" + type + "' needs the key '" + std::string(key) + "'");
    return numberOr(s, key, 0, file);
  };
  if (type == "default") return;
  if (type != "linear" && type != "dynamic" && type != "llama3")
    throw InputError(file, "rope_scaling type '" + type +
                               "' is not supported (supported: default, linear, dynamic, llama3)");
  r.type = type;
  r.factor = need("factor");
  if (!(r.factor > 0)) throw InputError(file, "rope_scaling 'factor' must be positive");
  if (type == "llama3") {
    r.lowFreqFactor = need("low_freq_factor");
    r.highFreqFactor = need("high_freq_factor");
    r.originalMaxPositions = static_cast<int64_t>(need("original_max_position_embeddings"));
    if (!(r.highFreqFactor > r.lowFreqFactor) || r.originalMaxPositions < 1)
      throw InputError(file, "rope_scaling llama3 needs high_freq_factor > low_freq_factor and a positive "
                             "original_max_position_embeddings");
  }
}

// layer_types (newer transformers): "full_attention" / "sliding_attention" per layer.
bool parseLayerTypes(const json& j, LlamaFamilyConfig& c, const std::string& file) {
  if (!present(j, "layer_types")) return false;
  const json& t = j["layer_types"];
  if (!t.is_array() || static_cast<int64_t>(t.size()) != c.numLayers)
    throw InputError(file, "config key 'layer_types' must list one entry per layer");
  c.slidingLayers.assign(c.numLayers, false);
  for (int64_t l = 0; l < c.numLayers; ++l) {
    const std::string s = t[l].is_string() ? t[l].get<std::string>() : "";
    if (s == "sliding_attention") c.slidingLayers[l] = true;
    else if (s != "full_attention")
      throw InputError(file, "config key 'layer_types' has unsupported entry " + t[l].dump());
  }
  return true;
}

}  // namespace

bool isLlamaFamilyConfig(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return false;
  return defaultsByType().count(modelTypeOf(j)) > 0;
}

LlamaFamilyConfig LlamaFamilyConfig::fromFile(const std::string& path) {
  return fromJsonText(readWholeFile(path, " (the model's config.json)"), path);
}

LlamaFamilyConfig LlamaFamilyConfig::fromJsonText(const std::string& text, const std::string& file) {
  const json j = parseJsonObject(text, file, "config");
  LlamaFamilyConfig c;
  c.modelType = modelTypeOf(j);
  auto dit = defaultsByType().find(c.modelType);
  if (dit == defaultsByType().end())
    throw InputError(file, "model_type '" + c.modelType +
                               "' is not supported here (llama, mistral, qwen2, gemma, gemma2)");
  const Defaults& d = dit->second;
  const std::string& t = c.modelType;
  const bool isGemma = t == "gemma" || t == "gemma2";

  if (present(j, "quantization_config"))
    throw InputError(file, "config key 'quantization_config': quantized checkpoints are not supported");

  c.vocabSize = intOr(j, "vocab_size", d.vocab, file);
  c.hiddenSize = intOr(j, "hidden_size", d.hidden, file);
  c.intermediateSize = intOr(j, "intermediate_size", d.intermediate, file);
  c.numLayers = intOr(j, "num_hidden_layers", d.layers, file);
  c.numHeads = intOr(j, "num_attention_heads", d.heads, file);
  // Absent: the class default; explicit null: num_attention_heads (every class does that).
  if (!j.contains("num_key_value_heads")) c.numKvHeads = d.kvHeads < 0 ? c.numHeads : d.kvHeads;
  else c.numKvHeads = intOr(j, "num_key_value_heads", c.numHeads, file);
  if (c.numHeads < 1) throw InputError(file, "config key 'num_attention_heads' must be positive");
  c.headDim = intOr(j, "head_dim", d.headDim < 0 ? c.hiddenSize / c.numHeads : d.headDim, file);
  c.maxPositions = intOr(j, "max_position_embeddings", d.maxPositions, file);
  c.rmsNormEps = numberOr(j, "rms_norm_eps", 1e-6, file);
  c.tieWordEmbeddings = boolOr(j, "tie_word_embeddings", d.tie, file);
  auto tokenId = [&](const char* key) -> int64_t {
    if (!present(j, key)) return -1;
    const json& v = j[key];
    if (v.is_array()) return v.empty() || !v[0].is_number_integer() ? -1 : v[0].get<int64_t>();
    return v.is_number_integer() ? v.get<int64_t>() : -1;
  };
  c.bosTokenId = tokenId("bos_token_id");
  c.eosTokenId = tokenId("eos_token_id");

  // Activation: Gemma reads hidden_activation (gelu_pytorch_tanh when absent; old
  // configs' hidden_act is ignored), Gemma 2 hidden_activation, the rest hidden_act.
  const char* actKey = isGemma ? "hidden_activation" : "hidden_act";
  c.activation = stringOr(j, actKey, d.activation, file);
  if (!knownActivation(c.activation))
    throw InputError(file, std::string("config key '") + actKey + "': activation '" + c.activation +
                               "' is not supported (silu, gelu, gelu_pytorch_tanh, gelu_new, gelu_fast, "
                               "quick_gelu, relu, tanh)");

  const bool attentionBias = boolOr(j, "attention_bias", false, file);
  if (t == "qwen2") c.qkvBias = true;
  else if (t != "mistral") c.qkvBias = c.oBias = attentionBias;
  if (t == "llama") c.mlpBias = boolOr(j, "mlp_bias", false, file);

  // Rotary. Llama and Qwen2 build it from the config (rope_scaling,
  // partial_rotary_factor); Mistral, Gemma and Gemma 2 ignore both.
  c.rope.theta = numberOr(j, "rope_theta", 10000.0, file);
  c.rope.maxPositions = c.maxPositions;
  if (t == "llama" || t == "qwen2") {
    parseRopeScaling(j, c.rope, file);
    if (present(j, "partial_rotary_factor") && numberOr(j, "partial_rotary_factor", 1.0, file) != 1.0)
      throw InputError(file, "config key 'partial_rotary_factor' other than 1.0 is not supported");
  }

  // Gemma specifics.
  c.gemmaNorm = c.embedScale = isGemma;
  c.postNorms = t == "gemma2";
  c.attnScale = 1.0 / std::sqrt(static_cast<double>(c.headDim));
  if (t == "gemma2") {
    const double qpas = numberOr(j, "query_pre_attn_scalar", 256, file);
    if (!(qpas > 0)) throw InputError(file, "config key 'query_pre_attn_scalar' must be positive");
    c.attnScale = 1.0 / std::sqrt(qpas);
    c.attnSoftcap = j.contains("attn_logit_softcapping") ? numberOr(j, "attn_logit_softcapping", 0, file) : 50.0;
    c.finalSoftcap = j.contains("final_logit_softcapping") ? numberOr(j, "final_logit_softcapping", 0, file) : 30.0;
    if (c.attnSoftcap < 0 || c.finalSoftcap < 0) throw InputError(file, "soft-capping values must be positive");
  }

  // Sliding windows (query i sees keys j with i - W < j <= i).
  c.slidingLayers.assign(std::max<int64_t>(c.numLayers, 0), false);
  if (t == "mistral") {
    c.slidingWindow = j.contains("sliding_window") ? intOr(j, "sliding_window", 0, file) : 4096;
    if (c.slidingWindow > 0) c.slidingLayers.assign(c.numLayers, true);
  } else if (t == "qwen2") {
    // Qwen2Config: sliding_window only with use_sliding_window, on layers >= max_window_layers.
    if (boolOr(j, "use_sliding_window", false, file)) {
      c.slidingWindow = j.contains("sliding_window") ? intOr(j, "sliding_window", 0, file) : 4096;
      const int64_t maxWindowLayers = intOr(j, "max_window_layers", 28, file);
      if (c.slidingWindow > 0 && !parseLayerTypes(j, c, file))
        for (int64_t l = maxWindowLayers; l < c.numLayers; ++l) c.slidingLayers[std::max<int64_t>(l, 0)] = true;
    }
  } else if (t == "gemma2") {
    c.slidingWindow = j.contains("sliding_window") ? intOr(j, "sliding_window", 0, file) : 4096;
    if (c.slidingWindow > 0 && !parseLayerTypes(j, c, file))
      for (int64_t l = 0; l < c.numLayers; l += 2) c.slidingLayers[l] = true;
  }
  if (c.slidingWindow < 0) throw InputError(file, "config key 'sliding_window' must be positive or null");
  if (c.slidingWindow == 0) c.slidingLayers.assign(c.slidingLayers.size(), false);

  auto bad = [&](const std::string& key, const std::string& what) {
    throw InputError(file, "config key '" + key + "' " + what);
  };
  auto range = [&](const char* key, int64_t v, int64_t hi) {
    if (v < 1 || v > hi) bad(key, "must be in 1.." + std::to_string(hi) + ", got " + std::to_string(v));
  };
  range("vocab_size", c.vocabSize, int64_t(1) << 24);
  range("hidden_size", c.hiddenSize, int64_t(1) << 18);
  range("intermediate_size", c.intermediateSize, int64_t(1) << 20);
  range("num_hidden_layers", c.numLayers, 1000);
  range("num_attention_heads", c.numHeads, 4096);
  range("num_key_value_heads", c.numKvHeads, 4096);
  range("head_dim", c.headDim, 1 << 16);
  range("max_position_embeddings", c.maxPositions, int64_t(1) << 24);
  if (c.numHeads % c.numKvHeads != 0)
    bad("num_key_value_heads", "(" + std::to_string(c.numKvHeads) + ") must divide num_attention_heads (" +
                                   std::to_string(c.numHeads) + ")");
  if (c.headDim % 2 != 0) bad("head_dim", "must be even for rotary embeddings, got " + std::to_string(c.headDim));
  if (!(c.rmsNormEps > 0 && c.rmsNormEps < 1)) bad("rms_norm_eps", "must be in (0, 1)");
  if (!(c.rope.theta > 0)) bad("rope_theta", "must be positive");
  if (c.bosTokenId >= c.vocabSize) c.bosTokenId = -1;
  if (c.eosTokenId >= c.vocabSize) c.eosTokenId = -1;
  return c;
}

int64_t LlamaFamilyConfig::parameterCount() const {
  const int64_t d = hiddenSize, q = numHeads * headDim, kv = numKvHeads * headDim, m = intermediateSize;
  const int64_t perLayer = d * q + 2 * d * kv + q * d + 3 * d * m + 4 * d;
  return vocabSize * d * (tieWordEmbeddings ? 1 : 2) + numLayers * perLayer + d;
}

}  // namespace zs
