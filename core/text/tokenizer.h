#pragma once
// GPT-2 byte-level BPE (vocab.json + merges.txt), no torch. Identical to
// GPT-2's / Hugging Face's tokenizer, including special tokens such as
// <|endoftext|> typed in the text (mapped to their id).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zs {

// True when `dir` holds tokenizer files Tokenizer::loadDir can read.
bool hasTokenizerFiles(const std::string& dir);

class Tokenizer {
 public:
  // Loads dir/vocab.json and dir/merges.txt. Throws InputError.
  static std::unique_ptr<Tokenizer> loadDir(const std::string& dir);
  static std::unique_ptr<Tokenizer> load(const std::string& vocabJson, const std::string& mergesTxt);
  virtual ~Tokenizer() = default;

  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  // With addSpecialTokens, what the tokenizer's own template adds (tokenizer.json's
  // post-processor, tokenizer_config.json's add_bos_token): exactly what the
  // model expects. GPT-2's vocab.json/merges.txt has no template: the same as encode(text).
  virtual std::vector<int64_t> encode(const std::string& text, bool addSpecialTokens) const {
    (void)addSpecialTokens;
    return encode(text);
  }
  // True when encode(text, true) adds the model's special tokens itself; false
  // when the caller prepends BOS (GPT-2 style, see core/session/session.h).
  virtual bool hasTemplate() const { return false; }
  // The tokenizer's BOS token id (GPT-2: <|endoftext|>), -1 if it has none.
  virtual int64_t bosId() const { return endOfTextId(); }
  // Exact inverse of encode for valid UTF-8 text: decode(encode(x)) == x.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual std::string tokenString(int64_t id) const = 0;  // raw decoded bytes of one token (may be partial UTF-8)
  // Display string for the GUI with whitespace made visible:
  // ' ' -> '·', '\n' -> '↵', '\t' -> '→', '\r' -> '␍'; bytes that are not
  // valid UTF-8 on their own are shown as <0xAB>.
  virtual std::string displayString(int64_t id) const = 0;
  virtual int64_t vocabSize() const = 0;
  virtual int64_t tokenToId(const std::string& token) const = 0;  // vocab.json key -> id, -1 if absent
  virtual int64_t endOfTextId() const = 0;  // id of <|endoftext|>, -1 if absent
};

}  // namespace zs
