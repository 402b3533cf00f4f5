#include "core/text/bytes_unicode.h"

#include <vector>

namespace zs::bytelevel {
namespace {

struct Tables {
  std::array<std::string, 256> byteToStr;
  std::array<uint8_t, 256> order{};
  std::vector<int> cpToByte = std::vector<int>(512, -1);  // all symbols are < U+0200
};

std::string encodeUtf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

Tables build() {
  // Same construction as GPT-2's encoder.py bytes_to_unicode().
  Tables t;
  std::array<bool, 256> printable{};
  int n = 0;
  auto addRange = [&](int lo, int hi) {
    for (int b = lo; b <= hi; ++b) {
      printable[b] = true;
      t.order[n++] = uint8_t(b);
      t.byteToStr[b] = encodeUtf8(uint32_t(b));
      t.cpToByte[b] = b;
    }
  };
  addRange('!', '~');
  addRange(0xA1, 0xAC);
  addRange(0xAE, 0xFF);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    if (printable[b]) continue;
    uint32_t cp = 256 + uint32_t(extra++);
    t.order[n++] = uint8_t(b);
    t.byteToStr[b] = encodeUtf8(cp);
    t.cpToByte[cp] = b;
  }
  return t;
}

const Tables& tables() {
  static const Tables t = build();
  return t;
}

}  // namespace

const std::string& byteToUnicode(uint8_t b) { return tables().byteToStr[b]; }
const std::array<uint8_t, 256>& bytesInVocabOrder() { return tables().order; }

bool unicodeToBytes(const std::string& s, std::string& out) {
  const auto& map = tables().cpToByte;
  out.clear();
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
      cp = (uint32_t(c & 0x1F) << 6) | (uint32_t(static_cast<unsigned char>(s[i + 1])) & 0x3F);
      i += 2;
    } else {
      return false;  // 3+ byte sequences are never byte symbols
    }
    if (cp >= map.size() || map[cp] < 0) return false;
    out += char(map[cp]);
  }
  return true;
}

std::string bytesToUnicode(const std::string& raw) {
  std::string s;
  s.reserve(raw.size() * 2);
  for (unsigned char c : raw) s += byteToUnicode(c);
  return s;
}

}  // namespace zs::bytelevel
