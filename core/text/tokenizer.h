#pragma once
// The one tokenizer interface (no torch) for every tokenizer format:
//   - Hugging Face tokenizer.json (+ tokenizer_config.json): core/text/hf_tokenizer.h
//   - SentencePiece tokenizer.model (libsentencepiece):    core/text/sentencepiece_tokenizer.cpp
//   - GPT-2 vocab.json + merges.txt (byte-level BPE, special tokens such as
//     <|endoftext|> typed in the text mapped to their id): core/tokenizer.cpp
// loadDir() picks the format from the files in a folder (in that order).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zs {

struct TokenizerConfig;  // core/text/tokenizer_config.h

// True when `dir` holds tokenizer files Tokenizer::loadDir can read
// (tokenizer.json, tokenizer.model, or vocab.json + merges.txt).
bool hasTokenizerFiles(const std::string& dir);

class Tokenizer {
 public:
  // The folder's tokenizer: tokenizer.json, else tokenizer.model, else
  // vocab.json + merges.txt. Throws InputError.
  static std::unique_ptr<Tokenizer> loadDir(const std::string& dir);
  // GPT-2 files.
  static std::unique_ptr<Tokenizer> load(const std::string& vocabJson, const std::string& mergesTxt);
  virtual ~Tokenizer() = default;

  // Hugging Face's encode(text, add_special_tokens): addSpecialTokens runs the
  // post-processor (Llama 3.1 <|begin_of_text|>, Gemma <bos>, Mistral <s>,
  // Qwen and GPT-2 nothing). Special tokens typed in the text always map to
  // their id. Invalid UTF-8 in text: see the implementation (documented in
  // docs/tokenizers.md).
  virtual std::vector<int64_t> encode(const std::string& text, bool addSpecialTokens) const = 0;
  std::vector<int64_t> encode(const std::string& text) const { return encode(text, false); }
  // Throws InputError for an id outside the vocabulary.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens) const = 0;
  std::string decode(const std::vector<int64_t>& ids) const { return decode(ids, false); }

  virtual std::string tokenString(int64_t id) const = 0;  // raw decoded bytes of one token (may be partial UTF-8)
  // Display string for the GUI with whitespace made visible:
  // ' ' (and SentencePiece's '▁') -> '·', '\n' -> '↵', '\t' -> '→', '\r' -> '␍';
  // byte-fallback tokens show their byte the same way (<0x0A> -> '↵'); bytes
  // that are not valid UTF-8 on their own are shown as <0xAB>.
  virtual std::string displayString(int64_t id) const = 0;
  virtual int64_t vocabSize() const = 0;  // highest id + 1 (added tokens included)
  virtual int64_t tokenToId(const std::string& token) const = 0;  // vocabulary entry -> id, -1 if absent
  virtual std::string idToToken(int64_t id) const = 0;  // vocabulary entry ("Ġthe", "▁the", "<0x0A>"); "" if absent

  virtual bool isSpecial(int64_t id) const = 0;          // removed by decode(ids, true)
  // The token decodes to whitespace only (spaces, tabs, newlines, …; not a special token, not empty).
  bool isBlank(int64_t id) const;
  std::vector<uint8_t> blankMask(const std::vector<int64_t>& ids) const;  // isBlank per id
  virtual std::vector<int64_t> specialIds() const = 0;

  // The BOS rule, the one place every command and the GUI ask:
  //   bosId()          the model's beginning-of-sequence token (-1: none)
  //   encodeAddsBos()  encode(text, true) already starts with bosId()
  // so a caller that wants [BOS] + text uses encodeWithBos().
  virtual int64_t bosId() const = 0;
  virtual int64_t eosId() const = 0;
  virtual bool encodeAddsBos() const = 0;
  std::vector<int64_t> encodeWithBos(const std::string& text) const;
  // Same as encodeAddsBos(): encode(text, true) adds the model's special tokens
  // itself; false when the caller prepends BOS (GPT-2 style, see core/session/session.h).
  bool hasTemplate() const { return encodeAddsBos(); }

  virtual int64_t endOfTextId() const = 0;  // GPT-2's <|endoftext|>; otherwise eosId()
  virtual const TokenizerConfig& config() const = 0;  // tokenizer_config.json (present=false when absent)
  virtual std::string format() const = 0;             // "tokenizer.json", "sentencepiece" or "gpt2"
};

// Same as Tokenizer::loadDir.
std::unique_ptr<Tokenizer> loadTokenizerDir(const std::string& dir);

}  // namespace zs
