#include "core/text/tokenizer_config.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/base/error.h"

namespace zs {
namespace {

std::optional<std::string> tokenContent(const nlohmann::json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  throw InputError(path, std::string("\"") + key + "\" must be a string or an object with \"content\"");
}

std::optional<bool> optBool(const nlohmann::json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw InputError(path, std::string("\"") + key + "\" must be true or false");
  return it->get<bool>();
}

}  // namespace

TokenizerConfig loadTokenizerConfig(const std::string& path) {
  TokenizerConfig c;
  if (!std::filesystem::exists(path)) return c;
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, "cannot open file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    throw InputError(path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw InputError(path, "expected a JSON object");
  c.present = true;
  if (j.contains("tokenizer_class") && j["tokenizer_class"].is_string())
    c.tokenizerClass = j["tokenizer_class"].get<std::string>();
  c.bosToken = tokenContent(j, "bos_token", path);
  c.eosToken = tokenContent(j, "eos_token", path);
  c.unkToken = tokenContent(j, "unk_token", path);
  c.padToken = tokenContent(j, "pad_token", path);
  c.addBosToken = optBool(j, "add_bos_token", path);
  c.addEosToken = optBool(j, "add_eos_token", path);
  c.cleanUpTokenizationSpaces = optBool(j, "clean_up_tokenization_spaces", path).value_or(false);
  if (j.contains("additional_special_tokens") && j["additional_special_tokens"].is_array())
    for (const auto& t : j["additional_special_tokens"]) {
      if (t.is_string()) c.additionalSpecialTokens.push_back(t.get<std::string>());
      else if (t.is_object() && t.contains("content") && t["content"].is_string())
        c.additionalSpecialTokens.push_back(t["content"].get<std::string>());
    }
  if (j.contains("added_tokens_decoder")) {
    const auto& d = j["added_tokens_decoder"];
    if (!d.is_object()) throw InputError(path, "\"added_tokens_decoder\" must be an object {id: token}");
    for (auto it = d.begin(); it != d.end(); ++it) {
      TokenizerConfig::AddedTokenDecl t;
      try {
        size_t used = 0;
        t.id = std::stoll(it.key(), &used);
        if (used != it.key().size() || t.id < 0) throw std::invalid_argument("id");
      } catch (const std::exception&) {
        throw InputError(path, "added_tokens_decoder key \"" + it.key() + "\" is not a token id");
      }
      const auto& v = it.value();
      if (!v.is_object() || !v.contains("content") || !v["content"].is_string())
        throw InputError(path, "added_tokens_decoder[" + it.key() + "] has no \"content\" string");
      t.content = v["content"].get<std::string>();
      t.special = v.value("special", false);
      t.lstrip = v.value("lstrip", false);
      t.rstrip = v.value("rstrip", false);
      t.singleWord = v.value("single_word", false);
      t.normalized = v.value("normalized", !t.special);
      c.addedTokensDecoder.push_back(std::move(t));
    }
  }
  return c;
}

}  // namespace zs
