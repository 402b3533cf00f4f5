// tokenizer.json decoders: ByteLevel, Replace, ByteFallback, Fuse, Strip,
// Metaspace, Sequence.
#include "core/text/bytes_unicode.h"
#include "core/base/error.h"
#include "core/text/hf_components.h"
#include "core/text/hf_regex.h"
#include "core/text/unicode_text.h"

namespace zs::text {
namespace {

class ByteLevel final : public Decoder {
 public:
  void decodeChain(std::vector<std::string>& tokens) const override {
    std::string bytes, raw;
    for (const auto& t : tokens) {
      if (bytelevel::unicodeToBytes(t, raw)) bytes += raw;
      else bytes += t;  // a token with characters outside the byte map: as is
    }
    tokens.assign(1, lossyUtf8(bytes));
  }
  void tokenBytes(std::string& t) const override {
    std::string raw;
    if (bytelevel::unicodeToBytes(t, raw)) t.swap(raw);
  }
};

class Replace final : public Decoder {
 public:
  Replace(hf::Pattern p, std::string content) : p_(std::move(p)), content_(std::move(content)) {
    if (p_.isRegex) re_ = std::make_unique<Regex>(p_.text);
  }
  void decodeChain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) tokenBytes(t);
  }
  void tokenBytes(std::string& t) const override { hf::replaceAll(t, hf::findPattern(p_, re_.get(), t), content_); }

 private:
  hf::Pattern p_;
  std::string content_;
  std::unique_ptr<Regex> re_;
};

int byteToken(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  int v = 0;
  for (int k = 3; k < 5; ++k) {
    char c = t[size_t(k)];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

class ByteFallback final : public Decoder {
 public:
  void decodeChain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (lossyUtf8(pending) == pending) {
        out.push_back(pending);
      } else {
        for (size_t k = 0; k < pending.size(); ++k) out.emplace_back("\xEF\xBF\xBD");  // one U+FFFD per byte (Rust)
      }
      pending.clear();
    };
    for (auto& t : tokens) {
      int b = byteToken(t);
      if (b >= 0) {
        pending += char(b);
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }
  void tokenBytes(std::string& t) const override {
    int b = byteToken(t);
    if (b >= 0) t.assign(1, char(b));
  }
};

class Fuse final : public Decoder {
 public:
  void decodeChain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, all);
  }
};

class Strip final : public Decoder {
 public:
  Strip(uint32_t c, size_t start, size_t stop) : c_(c), start_(start), stop_(stop) {}
  void decodeChain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      std::vector<std::pair<size_t, uint32_t>> cps;  // (byte offset, code point)
      for (size_t i = 0; i < t.size();) {
        size_t b = i;
        cps.emplace_back(b, nextCodePoint(t, i));
      }
      size_t startCut = 0;
      while (startCut < start_ && startCut < cps.size() && cps[startCut].second == c_) ++startCut;
      size_t stopCut = cps.size(), removed = 0;
      while (removed < stop_ && stopCut > startCut && cps[stopCut - 1].second == c_) { --stopCut; ++removed; }
      size_t b = startCut < cps.size() ? cps[startCut].first : t.size();
      size_t e = stopCut < cps.size() ? cps[stopCut].first : t.size();
      t = e > b ? t.substr(b, e - b) : std::string();
    }
  }

 private:
  uint32_t c_;
  size_t start_, stop_;
};

class Metaspace final : public Decoder {
 public:
  Metaspace(std::string repl, bool stripFirst) : repl_(std::move(repl)), stripFirst_(stripFirst) {}
  void decodeChain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      hf::replaceAll(tokens[i], hf::findPattern(hf::Pattern{false, repl_}, nullptr, tokens[i]),
                     i == 0 && stripFirst_ ? std::string() : std::string(" "));
  }
  void tokenBytes(std::string& t) const override {
    hf::replaceAll(t, hf::findPattern(hf::Pattern{false, repl_}, nullptr, t), " ");
  }

 private:
  std::string repl_;
  bool stripFirst_;
};

class Sequence final : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> v) : v_(std::move(v)) {}
  void decodeChain(std::vector<std::string>& tokens) const override {
    for (const auto& d : v_) d->decodeChain(tokens);
  }
  void tokenBytes(std::string& t) const override {
    for (const auto& d : v_) d->tokenBytes(t);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> v_;
};

}  // namespace

std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& j) {
  if (j.is_null()) return nullptr;
  const std::string t = hf::typeOf(j, "decoder");
  if (t == "ByteLevel") return std::make_unique<ByteLevel>();
  if (t == "ByteFallback") return std::make_unique<ByteFallback>();
  if (t == "Fuse") return std::make_unique<Fuse>();
  if (t == "Replace") {
    const auto& c = hf::member(j, "content", "Replace decoder");
    if (!c.is_string()) throw InputError("Replace decoder: \"content\" must be a string");
    return std::make_unique<Replace>(hf::parsePattern(hf::member(j, "pattern", "Replace decoder"), "Replace decoder"),
                                     c.get<std::string>());
  }
  if (t == "Strip") {
    std::string content = j.value("content", std::string(" "));
    size_t i = 0;
    uint32_t c = content.empty() ? uint32_t(' ') : nextCodePoint(content, i);
    return std::make_unique<Strip>(c, j.value("start", size_t(0)), j.value("stop", size_t(0)));
  }
  if (t == "Metaspace") {
    bool stripFirst = true;
    if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string())
      stripFirst = j["prepend_scheme"].get<std::string>() != "never";
    else if (j.contains("add_prefix_space"))
      stripFirst = j.value("add_prefix_space", true);
    return std::make_unique<Metaspace>(j.value("replacement", std::string("\xE2\x96\x81")), stripFirst);
  }
  if (t == "Sequence") {
    const auto& list = hf::member(j, "decoders", "Sequence decoder");
    if (!list.is_array()) throw InputError("Sequence decoder: \"decoders\" must be an array");
    std::vector<std::unique_ptr<Decoder>> v;
    for (const auto& x : list)
      if (auto d = makeDecoder(x)) v.push_back(std::move(d));
    return std::make_unique<Sequence>(std::move(v));
  }
  throw InputError("unsupported decoder type \"" + t + "\"");
}

}  // namespace zs::text
