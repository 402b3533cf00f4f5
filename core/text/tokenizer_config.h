#pragma once
// tokenizer_config.json (transformers' tokenizer settings), no torch.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zs {

struct TokenizerConfig {
  bool present = false;        // the file existed
  std::string tokenizerClass;  // "LlamaTokenizer", "GemmaTokenizer", "Qwen2Tokenizer", ...
  // Token contents; a {"content": ...} object is reduced to its content.
  std::optional<std::string> bosToken, eosToken, unkToken, padToken;
  std::optional<bool> addBosToken, addEosToken;  // absent when the file does not say
  bool cleanUpTokenizationSpaces = false;         // a transformers post-step; not applied by decode()
  std::vector<std::string> additionalSpecialTokens;
  struct AddedTokenDecl {
    int64_t id = -1;
    std::string content;
    bool special = false, lstrip = false, rstrip = false, singleWord = false, normalized = false;
  };
  std::vector<AddedTokenDecl> addedTokensDecoder;  // "added_tokens_decoder", by id
};

// Reads dir/tokenizer_config.json; a missing file gives present=false.
// Malformed JSON or wrongly typed members: InputError naming the file.
TokenizerConfig loadTokenizerConfig(const std::string& path);

}  // namespace zs
