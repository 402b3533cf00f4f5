#pragma once
// GPT-2's bytes_to_unicode mapping (core-internal, no torch). Byte-level BPE
// vocabularies store every byte as a printable code point so that vocab.json
// and merges.txt are plain text: printable Latin-1 bytes map to themselves,
// the other 68 bytes to U+0100.. in byte order (space -> 'Ġ', '\n' -> 'Ċ').
#include <array>
#include <cstdint>
#include <string>

namespace zs::bytelevel {

// UTF-8 string of the code point standing for byte b.
const std::string& byteToUnicode(uint8_t b);
// The 256 bytes in GPT-2's initial-vocabulary order (printable ranges first),
// i.e. the order of the first 256 ids in GPT-2's vocab.json.
const std::array<uint8_t, 256>& bytesInVocabOrder();
// Byte-level string (as in vocab.json) -> raw bytes. Returns false when the
// string contains a code point that is not one of the 256 byte symbols.
bool unicodeToBytes(const std::string& s, std::string& out);
// Raw bytes -> byte-level string.
std::string bytesToUnicode(const std::string& raw);

}  // namespace zs::bytelevel
