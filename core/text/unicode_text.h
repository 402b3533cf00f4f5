#pragma once
// Unicode helpers for the Hugging Face tokenizers (core-internal, no torch):
// UTF-8 decoding, lossy repair of invalid UTF-8, normalization forms and
// lowercasing (ICU), and the character predicates Rust's `char` offers.
#include <cstdint>
#include <string>
#include <string_view>

namespace zs::text {

// Decodes the code point at s[i] (s must be valid UTF-8) and advances i.
uint32_t nextCodePoint(std::string_view s, size_t& i);
void appendUtf8(std::string& out, uint32_t cp);

// Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes
// one U+FFFD. Returns s unchanged when it is valid.
std::string lossyUtf8(std::string_view s);

enum class NormForm { NFC, NFD, NFKC, NFKD };
std::string normalizeUnicode(std::string_view s, NormForm form);
// Full Unicode lowercase mapping (final sigma included), as Rust's str::to_lowercase.
std::string toLowerUnicode(std::string_view s);

bool isWhitespace(uint32_t cp);    // Rust char::is_whitespace (White_Space property)
bool isAlphanumeric(uint32_t cp);  // Rust char::is_alphanumeric (Alphabetic or N*)
bool isNumeric(uint32_t cp);       // Rust char::is_numeric (Nd, Nl, No)
bool isPunctuation(uint32_t cp);   // ASCII punctuation or a P* category
bool isWordChar(uint32_t cp);      // Rust regex \w: Alphabetic, M*, Nd, Pc, Join_Control

}  // namespace zs::text
