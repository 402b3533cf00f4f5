// tokenizer.json normalizers: NFC, NFD, NFKC, NFKD, Lowercase, Strip,
// StripAccents, Replace, Prepend, Sequence.
#include <unicode/uchar.h>

#include "core/base/error.h"
#include "core/text/hf_components.h"
#include "core/text/hf_regex.h"
#include "core/text/unicode_text.h"

namespace zs::text {
namespace {

class Unicode final : public Normalizer {
 public:
  explicit Unicode(NormForm f) : f_(f) {}
  void normalize(std::string& s) const override { s = normalizeUnicode(s, f_); }

 private:
  NormForm f_;
};

class Lowercase final : public Normalizer {
 public:
  void normalize(std::string& s) const override { s = toLowerUnicode(s); }
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& s) const override {
    size_t b = 0, e = s.size();
    if (left_) {
      while (b < e) {
        size_t i = b;
        if (!isWhitespace(nextCodePoint(s, i))) break;
        b = i;
      }
    }
    if (right_) {
      while (e > b) {
        size_t start = e - 1;
        while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        size_t i = start;
        if (!isWhitespace(nextCodePoint(s, i))) break;
        e = start;
      }
    }
    s = s.substr(b, e - b);
  }

 private:
  bool left_, right_;
};

class StripAccents final : public Normalizer {
 public:
  void normalize(std::string& s) const override {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
      size_t start = i;
      uint32_t cp = nextCodePoint(s, i);
      if (cp >= 0x300 && (U_GET_GC_MASK(UChar32(cp)) & U_GC_M_MASK)) continue;
      out.append(s, start, i - start);
    }
    s.swap(out);
  }
};

class Replace final : public Normalizer {
 public:
  Replace(hf::Pattern p, std::string content) : p_(std::move(p)), content_(std::move(content)) {
    if (p_.isRegex) re_ = std::make_unique<Regex>(p_.text);
  }
  void normalize(std::string& s) const override { hf::replaceAll(s, hf::findPattern(p_, re_.get(), s), content_); }

 private:
  hf::Pattern p_;
  std::string content_;
  std::unique_ptr<Regex> re_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string p) : p_(std::move(p)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s.insert(0, p_);
  }

 private:
  std::string p_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> v) : v_(std::move(v)) {}
  void normalize(std::string& s) const override {
    for (const auto& n : v_) n->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> v_;
};

}  // namespace

std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& j) {
  if (j.is_null()) return nullptr;
  const std::string t = hf::typeOf(j, "normalizer");
  if (t == "NFC") return std::make_unique<Unicode>(NormForm::NFC);
  if (t == "NFD") return std::make_unique<Unicode>(NormForm::NFD);
  if (t == "NFKC") return std::make_unique<Unicode>(NormForm::NFKC);
  if (t == "NFKD") return std::make_unique<Unicode>(NormForm::NFKD);
  if (t == "Lowercase") return std::make_unique<Lowercase>();
  if (t == "StripAccents") return std::make_unique<StripAccents>();
  if (t == "Strip")
    return std::make_unique<Strip>(j.value("strip_left", true), j.value("strip_right", true));
  if (t == "Replace") {
    const auto& c = hf::member(j, "content", "Replace normalizer");
    if (!c.is_string()) throw InputError("Replace normalizer: \"content\" must be a string");
    return std::make_unique<Replace>(hf::parsePattern(hf::member(j, "pattern", "Replace normalizer"),
                                                      "Replace normalizer"),
                                     c.get<std::string>());
  }
  if (t == "Prepend") {
    const auto& p = hf::member(j, "prepend", "Prepend normalizer");
    if (!p.is_string()) throw InputError("Prepend normalizer: \"prepend\" must be a string");
    return std::make_unique<Prepend>(p.get<std::string>());
  }
  if (t == "Sequence") {
    const auto& list = hf::member(j, "normalizers", "Sequence normalizer");
    if (!list.is_array()) throw InputError("Sequence normalizer: \"normalizers\" must be an array");
    std::vector<std::unique_ptr<Normalizer>> v;
    for (const auto& x : list)
      if (auto n = makeNormalizer(x)) v.push_back(std::move(n));
    return std::make_unique<Sequence>(std::move(v));
  }
  throw InputError("unsupported normalizer type \"" + t + "\"");
}

}  // namespace zs::text
