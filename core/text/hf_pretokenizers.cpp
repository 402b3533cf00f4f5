// tokenizer.json pre-tokenizers: Split, ByteLevel, Metaspace, Digits,
// Whitespace, WhitespaceSplit, Punctuation, BertPreTokenizer, Sequence.
#include "core/text/bytes_unicode.h"
#include "core/base/error.h"
#include "core/text/hf_components.h"
#include "core/text/hf_regex.h"
#include "core/text/unicode_text.h"

namespace zs::text {
namespace {

using hf::SplitBehavior;

// The regex ByteLevel uses when use_regex is true (GPT-2's).
constexpr const char* kByteLevelRegex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

template <typename F>
void eachPiece(std::vector<Piece>& pieces, F&& f) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (const Piece& p : pieces) f(p, out);
  pieces.swap(out);
}

class Split final : public PreTokenizer {
 public:
  Split(hf::Pattern p, SplitBehavior b, bool invert) : p_(std::move(p)), b_(b), invert_(invert) {
    if (p_.isRegex) re_ = std::make_unique<Regex>(p_.text);
  }
  void split(std::vector<Piece>& pieces) const override {
    eachPiece(pieces, [&](const Piece& p, std::vector<Piece>& out) {
      hf::splitByMatches(p, hf::findPattern(p_, re_.get(), p.text), b_, invert_, out);
    });
  }

 private:
  hf::Pattern p_;
  SplitBehavior b_;
  bool invert_;
  std::unique_ptr<Regex> re_;
};

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool addPrefixSpace, bool useRegex) : prefix_(addPrefixSpace) {
    if (useRegex) re_ = std::make_unique<Regex>(kByteLevelRegex);
  }
  void split(std::vector<Piece>& pieces) const override {
    eachPiece(pieces, [&](const Piece& in, std::vector<Piece>& out) {
      Piece p = in;
      if (prefix_ && (p.text.empty() || p.text[0] != ' ')) p.text.insert(0, " ");
      size_t first = out.size();
      if (re_) hf::splitByMatches(p, re_->findAll(p.text), SplitBehavior::Isolated, false, out);
      else if (!p.text.empty()) out.push_back(p);
      for (size_t k = first; k < out.size(); ++k) out[k].text = bytelevel::bytesToUnicode(out[k].text);
    });
  }

 private:
  bool prefix_;
  std::unique_ptr<Regex> re_;
};

class Metaspace final : public PreTokenizer {
 public:
  enum class Prepend { Always, First, Never };
  Metaspace(std::string repl, Prepend scheme, bool split) : repl_(std::move(repl)), scheme_(scheme), split_(split) {}
  void split(std::vector<Piece>& pieces) const override {
    eachPiece(pieces, [&](const Piece& in, std::vector<Piece>& out) {
      Piece p = in;
      hf::replaceAll(p.text, hf::findPattern(hf::Pattern{false, " "}, nullptr, p.text), repl_);
      bool startsWithRepl = p.text.compare(0, repl_.size(), repl_) == 0;
      if (!startsWithRepl && (scheme_ == Prepend::Always || (scheme_ == Prepend::First && p.atStart)))
        p.text.insert(0, repl_);
      if (split_)
        hf::splitByMatches(p, hf::findPattern(hf::Pattern{false, repl_}, nullptr, p.text),
                           SplitBehavior::MergedWithNext, false, out);
      else if (!p.text.empty())
        out.push_back(p);
    });
  }

 private:
  std::string repl_;
  Prepend scheme_;
  bool split_;
};

class CharSplit final : public PreTokenizer {
 public:
  CharSplit(bool (*pred)(uint32_t), SplitBehavior b) : pred_(pred), b_(b) {}
  void split(std::vector<Piece>& pieces) const override {
    eachPiece(pieces, [&](const Piece& p, std::vector<Piece>& out) {
      hf::splitByMatches(p, hf::charMatches(p.text, pred_), b_, false, out);
    });
  }

 private:
  bool (*pred_)(uint32_t);
  SplitBehavior b_;
};

class Whitespace final : public PreTokenizer {
 public:
  Whitespace() : re_(R"(\w+|[^\w\s]+)") {}
  void split(std::vector<Piece>& pieces) const override {
    eachPiece(pieces, [&](const Piece& p, std::vector<Piece>& out) {
      hf::splitByMatches(p, re_.findAll(p.text), SplitBehavior::Removed, true, out);
    });
  }

 private:
  Regex re_;
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> v) : v_(std::move(v)) {}
  void split(std::vector<Piece>& pieces) const override {
    for (const auto& p : v_) p->split(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> v_;
};

bool isBertPunct(uint32_t c) { return isPunctuation(c); }

}  // namespace

std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& j) {
  if (j.is_null()) return nullptr;
  const std::string t = hf::typeOf(j, "pre_tokenizer");
  if (t == "Split") {
    return std::make_unique<Split>(hf::parsePattern(hf::member(j, "pattern", "Split pre-tokenizer"), "Split pre-tokenizer"),
                                   hf::parseBehavior(j.value("behavior", std::string("Isolated"))),
                                   j.value("invert", false));
  }
  if (t == "ByteLevel") return std::make_unique<ByteLevel>(j.value("add_prefix_space", true), j.value("use_regex", true));
  if (t == "Metaspace") {
    std::string repl = j.value("replacement", std::string("\xE2\x96\x81"));
    Metaspace::Prepend scheme = Metaspace::Prepend::Always;
    if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string()) {
      std::string s = j["prepend_scheme"].get<std::string>();
      if (s == "always") scheme = Metaspace::Prepend::Always;
      else if (s == "first") scheme = Metaspace::Prepend::First;
      else if (s == "never") scheme = Metaspace::Prepend::Never;
      else throw InputError("Metaspace: unsupported prepend_scheme \"" + s + "\"");
    } else if (j.contains("add_prefix_space")) {
      scheme = j.value("add_prefix_space", true) ? Metaspace::Prepend::Always : Metaspace::Prepend::Never;
    }
    if (repl.empty()) throw InputError("Metaspace: empty replacement");
    return std::make_unique<Metaspace>(repl, scheme, j.value("split", true));
  }
  if (t == "Digits")
    return std::make_unique<CharSplit>(&isNumeric, j.value("individual_digits", false) ? SplitBehavior::Isolated
                                                                                       : SplitBehavior::Contiguous);
  if (t == "Whitespace") return std::make_unique<Whitespace>();
  if (t == "WhitespaceSplit") return std::make_unique<CharSplit>(&isWhitespace, SplitBehavior::Removed);
  if (t == "Punctuation")
    return std::make_unique<CharSplit>(&isBertPunct,
                                       hf::parseBehavior(j.value("behavior", std::string("Isolated"))));
  if (t == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> v;
    v.push_back(std::make_unique<CharSplit>(&isWhitespace, SplitBehavior::Removed));
    v.push_back(std::make_unique<CharSplit>(&isBertPunct, SplitBehavior::Isolated));
    return std::make_unique<Sequence>(std::move(v));
  }
  if (t == "Sequence") {
    const auto& list = hf::member(j, "pretokenizers", "Sequence pre-tokenizer");
    if (!list.is_array()) throw InputError("Sequence pre-tokenizer: \"pretokenizers\" must be an array");
    std::vector<std::unique_ptr<PreTokenizer>> v;
    for (const auto& x : list)
      if (auto p = makePreTokenizer(x)) v.push_back(std::move(p));
    return std::make_unique<Sequence>(std::move(v));
  }
  throw InputError("unsupported pre_tokenizer type \"" + t + "\"");
}

}  // namespace zs::text
