#pragma once
// Small text helpers for the tokenizer and the BPE trainer (core-internal, no torch).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zs::tokutil {

// A vocab.json key of the form <|name|> (no whitespace inside): treated as a
// special token that is matched literally in text, like HF's added tokens.
bool isSpecialTokenKey(const std::string& key);

// Splits text at every occurrence of a special token (list sorted longest
// first; the earliest match wins, the longest at equal positions) and calls
// fn(piece, -1) for ordinary text and fn(token, id) for each special token.
// Empty ordinary pieces are skipped.
void splitOnSpecials(std::string_view text, const std::vector<std::pair<std::string, int64_t>>& specials,
                     const std::function<void(std::string_view, int64_t)>& fn);

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
// (overlong, surrogate, > U+10FFFF, truncated or stray continuation byte).
size_t utf8SequenceLength(std::string_view s, size_t i);
bool isValidUtf8(std::string_view s);

// Token bytes made readable: ' ' -> '·', '\n' -> '↵', '\t' -> '→', '\r' -> '␍';
// other control bytes and bytes that are not valid UTF-8 on their own -> <0xAB>.
std::string displayBytes(std::string_view bytes);

}  // namespace zs::tokutil
