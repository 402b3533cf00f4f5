#include "core/text/tokenizer_util.h"

#include <cstdio>

namespace zs::tokutil {

bool isSpecialTokenKey(const std::string& key) {
  if (key.size() < 5 || key.compare(0, 2, "<|") != 0 || key.compare(key.size() - 2, 2, "|>") != 0)
    return false;
  for (char c : key)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return false;
  return true;
}

void splitOnSpecials(std::string_view text, const std::vector<std::pair<std::string, int64_t>>& specials,
                     const std::function<void(std::string_view, int64_t)>& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t best = std::string_view::npos;
    const std::pair<std::string, int64_t>* which = nullptr;
    // Every special token starts with "<|", so only those positions are tried.
    for (size_t at = text.find("<|", pos); at != std::string_view::npos; at = text.find("<|", at + 1)) {
      for (const auto& sp : specials) {
        if (text.compare(at, sp.first.size(), sp.first) == 0) {
          best = at;
          which = &sp;
          break;  // longest first
        }
      }
      if (which) break;
    }
    if (!which) {
      fn(text.substr(pos), -1);
      return;
    }
    if (best > pos) fn(text.substr(pos, best - pos), -1);
    fn(text.substr(best, which->first.size()), which->second);
    pos = best + which->first.size();
  }
}

size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
  else return 0;
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

bool isValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8SequenceLength(s, i);
    if (!n) return false;
    i += n;
  }
  return true;
}

std::string displayBytes(std::string_view bytes) {
  std::string out;
  char hex[8];
  for (size_t i = 0; i < bytes.size();) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    size_t n = utf8SequenceLength(bytes, i);
    if (n == 1) {
      switch (c) {
        case ' ': out += "\u00B7"; break;
        case '\n': out += "\u21B5"; break;
        case '\t': out += "\u2192"; break;
        case '\r': out += "\u240D"; break;
        default:
          if (c < 0x20 || c == 0x7F) {
            std::snprintf(hex, sizeof(hex), "<0x%02X>", c);
            out += hex;
          } else {
            out += char(c);
          }
      }
      ++i;
    } else if (n > 1) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      std::snprintf(hex, sizeof(hex), "<0x%02X>", c);
      out += hex;
      ++i;
    }
  }
  return out;
}

}  // namespace zs::tokutil
