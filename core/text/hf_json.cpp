#include "core/text/hf_json.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/base/error.h"
#include "core/text/unicode_text.h"

namespace zs::text {
namespace {

class Parser {
 public:
  Parser(const std::string& s, const std::string& name) : s_(s), name_(name) {}

  HfJsonDoc parseDocument() {
    HfJsonDoc doc;
    ws();
    if (peek() != '{') fail("expected a JSON object at the top level");
    doc.root = parseObject(0, &doc);
    ws();
    if (i_ != s_.size()) fail("unexpected text after the top-level object");
    return doc;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    if (i_ >= s_.size())
      throw InputError(name_, "not valid JSON: unexpected end of file at byte " + std::to_string(i_) +
                                  " (truncated?)");
    throw InputError(name_, "not valid JSON at byte " + std::to_string(i_) + ": " + what);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  void expect(char c) {
    ws();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }

  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
      else fail("bad \\u escape");
    }
    return v;
  }

  void parseString(std::string& out) {
    ws();
    if (peek() != '"') fail("expected a string");
    ++i_;
    out.clear();
    for (;;) {
      size_t start = i_;
      while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\\' && static_cast<unsigned char>(s_[i_]) >= 0x20) ++i_;
      out.append(s_, start, i_ - start);
      if (i_ >= s_.size()) fail("unterminated string");
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        return;
      }
      if (c != '\\') fail("control character in a string");
      ++i_;
      if (i_ >= s_.size()) fail("unterminated string");
      char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && i_ + 6 <= s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
            size_t save = i_;
            i_ += 2;
            unsigned lo = hex4();
            if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else i_ = save;
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // lone surrogate
          appendUtf8(out, cp);
          break;
        }
        default: fail("bad escape in a string");
      }
    }
  }

  nlohmann::json parseNumber() {
    size_t start = i_;
    bool isFloat = false;
    if (peek() == '-') ++i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c >= '0' && c <= '9') ++i_;
      else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') { isFloat = true; ++i_; }
      else break;
    }
    std::string num = s_.substr(start, i_ - start);
    if (num.empty() || num == "-") fail("expected a value");
    char* end = nullptr;
    if (!isFloat) {
      errno = 0;
      long long v = std::strtoll(num.c_str(), &end, 10);
      if (*end == '\0' && errno == 0) return nlohmann::json(int64_t(v));
    }
    double d = std::strtod(num.c_str(), &end);
    if (*end != '\0') fail("bad number");
    return nlohmann::json(d);
  }

  int64_t parseInt() {
    ws();
    size_t start = i_;
    if (peek() == '-') ++i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    if (i_ == start || i_ - start > 18) fail("expected an integer id");
    return std::strtoll(s_.c_str() + start, nullptr, 10);
  }

  bool literal(const char* w) {
    size_t n = std::strlen(w);
    if (s_.compare(i_, n, w) != 0) return false;
    i_ += n;
    return true;
  }

  // depth 0: the root object; depth 1 with inModel: the "model" object.
  nlohmann::json parseValue(int depth, HfJsonDoc* doc, bool isModel) {
    if (depth > 200) fail("nested too deeply");
    ws();
    char c = peek();
    if (c == '{') return parseObject(depth, isModel ? doc : nullptr, isModel);
    if (c == '[') {
      ++i_;
      nlohmann::json a = nlohmann::json::array();
      ws();
      if (peek() == ']') {
        ++i_;
        return a;
      }
      for (;;) {
        a.push_back(parseValue(depth + 1, nullptr, false));
        ws();
        if (peek() == ',') { ++i_; continue; }
        if (peek() == ']') { ++i_; return a; }
        fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      std::string str;
      parseString(str);
      return nlohmann::json(std::move(str));
    }
    if (literal("true")) return true;
    if (literal("false")) return false;
    if (literal("null")) return nullptr;
    if (c == '-' || (c >= '0' && c <= '9')) return parseNumber();
    for (const char* w : {"true", "false", "null"})
      if (i_ < s_.size() && std::strncmp(w, s_.c_str() + i_, s_.size() - i_) == 0 && s_.size() - i_ < std::strlen(w))
        i_ = s_.size();  // a literal cut short: report the truncation
    fail("expected a value");
  }

  nlohmann::json parseObject(int depth, HfJsonDoc* doc, bool isModel = false) {
    expect('{');
    nlohmann::json o = nlohmann::json::object();
    ws();
    if (peek() == '}') {
      ++i_;
      return o;
    }
    std::string key;
    for (;;) {
      parseString(key);
      expect(':');
      ws();
      if (doc && isModel && key == "vocab" && peek() == '{') {
        parseVocab(doc->vocab);
        doc->hasVocab = true;
      } else if (doc && isModel && key == "merges" && peek() == '[') {
        parseMerges(doc->merges);
        doc->hasMerges = true;
      } else {
        bool childIsModel = doc && depth == 0 && key == "model";
        o[key] = parseValue(depth + 1, childIsModel ? doc : nullptr, childIsModel);
      }
      ws();
      if (peek() == ',') { ++i_; continue; }
      if (peek() == '}') { ++i_; return o; }
      fail("expected ',' or '}'");
    }
  }

  void parseVocab(std::vector<std::pair<std::string, int64_t>>& v) {
    expect('{');
    ws();
    if (peek() == '}') { ++i_; return; }
    std::string key;
    for (;;) {
      parseString(key);
      expect(':');
      v.emplace_back(key, parseInt());
      ws();
      if (peek() == ',') { ++i_; continue; }
      if (peek() == '}') { ++i_; return; }
      fail("expected ',' or '}' in model.vocab");
    }
  }

  void parseMerges(std::vector<std::pair<std::string, std::string>>& m) {
    expect('[');
    ws();
    if (peek() == ']') { ++i_; return; }
    std::string a, b;
    for (;;) {
      ws();
      if (peek() == '"') {
        parseString(a);
        size_t sp = a.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 == a.size() || a.find(' ', sp + 1) != std::string::npos)
          fail("merge " + nlohmann::json(a).dump() + " is not two tokens separated by one space");
        m.emplace_back(a.substr(0, sp), a.substr(sp + 1));
      } else if (peek() == '[') {
        ++i_;
        parseString(a);
        expect(',');
        parseString(b);
        expect(']');
        m.emplace_back(a, b);
      } else {
        fail("model.merges entries must be \"a b\" strings or [\"a\", \"b\"] pairs");
      }
      ws();
      if (peek() == ',') { ++i_; continue; }
      if (peek() == ']') { ++i_; return; }
      fail("expected ',' or ']' in model.merges");
    }
  }

  const std::string& s_;
  const std::string& name_;
  size_t i_ = 0;
};

}  // namespace

HfJsonDoc parseHfJson(const std::string& text, const std::string& name) {
  Parser p(text, name);
  return p.parseDocument();
}

HfJsonDoc readHfJsonFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, "cannot open file");
  std::string text;
  f.seekg(0, std::ios::end);
  std::streamoff n = f.tellg();
  f.seekg(0, std::ios::beg);
  if (n < 0) throw InputError(path, "cannot read file");
  text.resize(size_t(n));
  if (n > 0 && !f.read(&text[0], n)) throw InputError(path, "read error");
  return parseHfJson(text, path);
}

}  // namespace zs::text
