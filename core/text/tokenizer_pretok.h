#pragma once
// GPT-2 pre-tokenization (core-internal, no torch): splits text into the
// pieces that byte-level BPE encodes independently, using PCRE2 (UTF + UCP,
// JIT) with GPT-2's exact pattern. Shared by Tokenizer and the BPE trainer.
#include <functional>
#include <string_view>

namespace zs {

class PreTokenizer {
 public:
  PreTokenizer();  // compiles the pattern once; throws std::runtime_error if PCRE2 fails
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Calls fn for every pre-token of text, in order. The pieces tile the text
  // exactly (nothing is dropped), so byte-level encoding stays lossless. Bytes
  // that are not valid UTF-8 match no branch of the pattern; each run of them
  // becomes a piece of its own instead of an error. Thread-safe.
  void split(std::string_view text, const std::function<void(std::string_view)>& fn) const;

  static const char* pattern();

 private:
  void* code_ = nullptr;  // pcre2_code_8*
};

// The process-wide instance (compiling the pattern costs ~1 ms).
const PreTokenizer& gpt2PreTokenizer();

}  // namespace zs
