#pragma once
// The BPE model of a tokenizer.json (core-internal, no torch), with the Rust
// `tokenizers` semantics: byte_fallback, unk_token + fuse_unk, ignore_merges,
// continuing_subword_prefix / end_of_word_suffix, and its merge order (a
// min-heap on (rank, position): always the lowest-rank pair, leftmost first,
// pairs created by a merge competing at once). A word cache skips repeats.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace zs::text {

struct HfJsonDoc;

class BpeModel {
 public:
  // model: the "model" object (vocab/merges taken from doc when the fast
  // reader extracted them). Throws InputError on merges naming unknown tokens.
  BpeModel(const nlohmann::json& model, HfJsonDoc& doc);

  // Appends the ids of one pre-tokenized word.
  void tokenize(const std::string& word, std::vector<int64_t>& out) const;

  int64_t tokenToId(const std::string& token) const { return lookup(token); }  // -1 if absent
  bool hasId(int64_t id) const { return id >= 0 && id < int64_t(len_.size()) && len_[size_t(id)] >= 0; }
  std::string_view idToToken(int64_t id) const;  // hasId(id) must hold
  int64_t maxId() const { return int64_t(len_.size()) - 1; }
  size_t mergeCount() const { return mergeCount_; }

 private:
  void mergeWord(const std::string& word, std::vector<int32_t>& out) const;
  int32_t lookup(std::string_view s) const;
  int32_t charId(uint32_t cp) const;
  const std::pair<int32_t, int32_t>* findMerge(int32_t a, int32_t b) const;

  // Flat tables: loading Gemma 3 (262k tokens, 515k merges) must take well
  // under a second, which node-based maps do not allow.
  std::string arena_;                 // all token strings, back to back
  std::vector<uint32_t> off_;         // id -> offset in arena_
  std::vector<int32_t> len_;          // id -> length (-1: no such id)
  std::vector<uint64_t> slots_;       // open addressing: (hash >> 32) << 32 | id, or kEmpty
  std::vector<int32_t> bmpChar_;      // code point < 0x10000 -> single-character token id or -1
  std::unordered_map<uint32_t, int32_t> astralChar_;
  std::vector<uint64_t> mergeKeys_;   // open addressing: (a << 32 | b) or kEmpty
  std::vector<std::pair<int32_t, int32_t>> mergeVals_;  // (rank, merged id)
  size_t mergeCount_ = 0;
  int32_t byteIds_[256];
  bool allBytes_ = false;
  std::optional<std::string> unk_;
  int32_t unkId_ = -1;
  bool fuseUnk_ = false, byteFallback_ = false, ignoreMerges_ = false;
  std::optional<std::string> prefix_, suffix_;

  mutable std::mutex cacheMu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace zs::text
