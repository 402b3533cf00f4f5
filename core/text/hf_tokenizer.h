#pragma once
// Hugging Face tokenizer.json (+ tokenizer_config.json) behind the Tokenizer
// interface, no torch. Pipeline, as in the Rust `tokenizers` crate:
//   invalid UTF-8 -> U+FFFD (one per maximal invalid subsequence, like
//   String::from_utf8_lossy; the Rust API only takes valid &str)
//   -> added tokens matched in the raw text (normalized=false ones)
//   -> normalizer on each piece between them -> added tokens with normalized=true
//   -> pre-tokenizer -> BPE model -> post-processor (add_special_tokens).
#include <memory>
#include <string>

#include "core/text/tokenizer.h"

namespace zs {

// dir holds tokenizer.json and optionally tokenizer_config.json.
std::unique_ptr<Tokenizer> loadHfTokenizer(const std::string& dir);
// The same from explicit paths (configPath may name a missing file).
std::unique_ptr<Tokenizer> loadHfTokenizerFiles(const std::string& tokenizerJson, const std::string& configPath);

}  // namespace zs
