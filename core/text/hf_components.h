#pragma once
// The pipeline stages of a Hugging Face tokenizer.json (core-internal, no
// torch), each built from its JSON object by a factory that throws InputError
// naming any component type it does not support. Semantics follow the Rust
// `tokenizers` crate; see docs/tokenizers.md for the supported list.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zs::text {

// A piece of text on its way through pre-tokenization. atStart: the piece
// begins at byte 0 of the input (Metaspace's prepend_scheme "first").
struct Piece {
  std::string text;
  bool atStart = false;
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces pieces by their sub-pieces (empty pieces are dropped).
  virtual void split(std::vector<Piece>& pieces) const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rust's Decoder::decode_chain: tokens in, tokens out (joined by the caller).
  virtual void decodeChain(std::vector<std::string>& tokens) const = 0;
  // The raw bytes one token stands for, for display (no joining, no
  // stripping, no U+FFFD): ByteLevel maps symbols to bytes, ByteFallback
  // <0x0A> to the byte, Replace/Metaspace apply. Default: unchanged.
  virtual void tokenBytes(std::string& token) const { (void)token; }
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Single-sequence post-processing of encode(text, add_special_tokens=true).
  virtual void process(std::vector<int64_t>& ids) const = 0;
};

using TokenLookup = std::function<int64_t(const std::string&)>;  // -1 when absent

// null JSON -> nullptr.
std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& j);
std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& j);
std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& j);
std::unique_ptr<PostProcessor> makePostProcessor(const nlohmann::json& j, const TokenLookup& lookup);

// Helpers shared by the component files.
namespace hf {
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
SplitBehavior parseBehavior(const std::string& name);
// Splits s given its matches ([b, e) byte ranges, sorted, non-overlapping),
// as NormalizedString::split does; empty results are dropped.
void splitByMatches(const Piece& p, const std::vector<std::pair<size_t, size_t>>& matches,
                    SplitBehavior behavior, bool invert, std::vector<Piece>& out);
// Matches of single characters satisfying pred (one match per character).
std::vector<std::pair<size_t, size_t>> charMatches(const std::string& s, bool (*pred)(uint32_t));
// The "pattern" member of Split / Replace: {"String": s} or {"Regex": r}.
struct Pattern {
  bool isRegex = false;
  std::string text;  // the literal or the Oniguruma pattern
};
Pattern parsePattern(const nlohmann::json& j, const char* owner);
std::vector<std::pair<size_t, size_t>> findPattern(const Pattern& p, const void* compiledRegex,
                                                   const std::string& s);
void replaceAll(std::string& s, const std::vector<std::pair<size_t, size_t>>& matches,
                const std::string& content);
const nlohmann::json& member(const nlohmann::json& j, const char* key, const char* owner);
std::string typeOf(const nlohmann::json& j, const char* what);
}  // namespace hf

}  // namespace zs::text
