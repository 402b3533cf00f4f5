#pragma once
// Fast reader for Hugging Face tokenizer.json files (core-internal, no torch).
// nlohmann::json needs seconds for Gemma 3's 33 MB file, almost all of it in
// model.vocab and model.merges; this reader parses those two members straight
// into flat vectors and everything else into nlohmann::json.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace zs::text {

struct HfJsonDoc {
  nlohmann::json root;  // the whole file, except model.vocab / model.merges when they were read below
  bool hasVocab = false;   // model.vocab was an object {token: id}
  std::vector<std::pair<std::string, int64_t>> vocab;
  bool hasMerges = false;  // model.merges was an array of "a b" strings or ["a", "b"] pairs
  std::vector<std::pair<std::string, std::string>> merges;
};

// Throws InputError naming the file on unreadable files and malformed JSON
// (with the byte offset), e.g. a truncated download.
HfJsonDoc readHfJsonFile(const std::string& path);
HfJsonDoc parseHfJson(const std::string& text, const std::string& nameForErrors);

}  // namespace zs::text
