#pragma once
// SentencePiece tokenizer.model behind the Tokenizer interface, through
// Debian's libsentencepiece (no hand-written parser), no torch.
#include <memory>
#include <string>

#include "core/text/tokenizer.h"

namespace zs {

// modelPath: tokenizer.model; configPath: tokenizer_config.json (may be missing).
std::unique_ptr<Tokenizer> loadSentencePieceTokenizer(const std::string& modelPath, const std::string& configPath);

}  // namespace zs
