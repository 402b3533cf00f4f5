// tokenizer.json components one at a time: a table of small hand-built
// tokenizer.json files (normalizers, pre-tokenizers, BPE options and merge
// order, added tokens, post-processors, decoders) and the errors for bad files.
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/text/hf_tokenizer.h"
#include "core/text/tokenizer.h"
#include "tests/support/check.h"

using nlohmann::json;

namespace {

const std::string kMeta = "\xE2\x96\x81";  // ▁

// A tokenizer.json with the given vocabulary (ids in order), merges and parts.
json spec(const std::vector<std::string>& vocab, json merges = json::array()) {
  json v = json::object();
  for (size_t i = 0; i < vocab.size(); ++i) v[vocab[i]] = i;
  return json{{"version", "1.0"},
              {"added_tokens", json::array()},
              {"normalizer", nullptr},
              {"pre_tokenizer", nullptr},
              {"post_processor", nullptr},
              {"decoder", nullptr},
              {"model", {{"type", "BPE"}, {"vocab", v}, {"merges", merges}, {"unk_token", nullptr},
                         {"byte_fallback", false}, {"fuse_unk", false}, {"ignore_merges", false}}}};
}

std::string writeTemp(const std::string& text) {
  static int n = 0;
  std::string path = zs::test::tempDir() + "/tok" + std::to_string(n++) + ".json";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::unique_ptr<zs::Tokenizer> load(const json& j) {
  return zs::loadHfTokenizerFiles(writeTemp(j.dump()), zs::test::tempDir() + "/no_config.json");
}

std::vector<std::string> toks(const zs::Tokenizer& t, const std::string& text, bool add = false) {
  std::vector<std::string> out;
  for (int64_t id : t.encode(text, add)) out.push_back(t.idToToken(id));
  return out;
}

using S = std::vector<std::string>;

// All single characters used by the cases below, plus whatever is passed.
std::vector<std::string> chars(std::vector<std::string> extra) {
  std::vector<std::string> v;
  for (char c = 'a'; c <= 'z'; ++c) v.emplace_back(1, c);
  for (char c = '0'; c <= '9'; ++c) v.emplace_back(1, c);
  for (const char* s : {" ", ",", "!", "?", ".", "<", ">"}) v.emplace_back(s);
  v.push_back(kMeta);
  for (auto& e : extra) v.push_back(e);
  return v;
}

// Whole words in the vocabulary with ignore_merges make the pre-tokenizer's
// pieces visible: a piece in the vocabulary is one token, others fall to characters.
std::unique_ptr<zs::Tokenizer> withPre(const json& pre, std::vector<std::string> words) {
  json j = spec(chars(words));
  j["model"]["ignore_merges"] = true;
  j["pre_tokenizer"] = pre;
  return load(j);
}

std::unique_ptr<zs::Tokenizer> withNorm(const json& norm, std::vector<std::string> extra = {}) {
  json j = spec(chars(extra));
  j["normalizer"] = norm;
  return load(j);
}

}  // namespace

ZS_TEST(normalizers) {
  ZS_CHECK_EQ(toks(*withNorm({{"type", "NFC"}}, {"\xC3\xA9"}), "e\xCC\x81"), S{"\xC3\xA9"});
  ZS_CHECK_EQ(toks(*withNorm({{"type", "NFD"}}, {"\xCC\x81"}), "\xC3\xA9"), (S{"e", "\xCC\x81"}));
  ZS_CHECK_EQ(toks(*withNorm({{"type", "NFKC"}}), "\xEF\xAC\x81"), (S{"f", "i"}));  // ﬁ ligature
  ZS_CHECK_EQ(toks(*withNorm({{"type", "NFKD"}}, {"\xCC\x81"}), "\xEF\xAC\x81\xC3\xA9"), (S{"f", "i", "e", "\xCC\x81"}));
  ZS_CHECK_EQ(toks(*withNorm({{"type", "Lowercase"}}), "AbC"), (S{"a", "b", "c"}));
  // Full lowercase mapping with final sigma: ΣΑΣ -> σας.
  ZS_CHECK_EQ(toks(*withNorm({{"type", "Lowercase"}}, {"\xCF\x83", "\xCE\xB1", "\xCF\x82"}), "\xCE\xA3\xCE\x91\xCE\xA3"),
              (S{"\xCF\x83", "\xCE\xB1", "\xCF\x82"}));
  ZS_CHECK_EQ(toks(*withNorm({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}), " \t a b \n"),
              (S{"a", " ", "b"}));
  ZS_CHECK_EQ(toks(*withNorm({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}}), " a "), (S{" ", "a"}));
  ZS_CHECK_EQ(toks(*withNorm({{"type", "StripAccents"}}), "e\xCC\x81"), S{"e"});
  ZS_CHECK_EQ(toks(*withNorm({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMeta}}), "a b"),
              (S{"a", kMeta, "b"}));
  ZS_CHECK_EQ(toks(*withNorm({{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}}), "a   b"),
              (S{"a", " ", "b"}));
  auto pre = withNorm({{"type", "Prepend"}, {"prepend", kMeta}});
  ZS_CHECK_EQ(toks(*pre, "ab"), (S{kMeta, "a", "b"}));
  ZS_CHECK(pre->encode("", false).empty());  // Prepend leaves an empty string empty
  json seq = {{"type", "Sequence"},
              {"normalizers", {{{"type", "Prepend"}, {"prepend", kMeta}},
                               {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMeta}}}}};
  ZS_CHECK_EQ(toks(*withNorm(seq), "a b"), (S{kMeta, "a", kMeta, "b"}));
}

ZS_TEST(preTokenizers) {
  auto split = [](const char* behavior, bool invert = false) {
    return json{{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", behavior}, {"invert", invert}};
  };
  ZS_CHECK_EQ(toks(*withPre(split("Removed"), {"ab", "cd"}), "ab cd"), (S{"ab", "cd"}));
  ZS_CHECK_EQ(toks(*withPre(split("Isolated"), {"ab", "cd"}), "ab cd"), (S{"ab", " ", "cd"}));
  ZS_CHECK_EQ(toks(*withPre(split("MergedWithPrevious"), {"ab ", "cd"}), "ab cd"), (S{"ab ", "cd"}));
  ZS_CHECK_EQ(toks(*withPre(split("MergedWithNext"), {"ab", " cd"}), "ab cd"), (S{"ab", " cd"}));
  ZS_CHECK_EQ(toks(*withPre(split("Contiguous"), {"ab", "  ", "cd"}), "ab  cd"), (S{"ab", "  ", "cd"}));
  json inv = {{"type", "Split"}, {"pattern", {{"Regex", "[a-z]+"}}}, {"behavior", "Removed"}, {"invert", true}};
  ZS_CHECK_EQ(toks(*withPre(inv, {"ab", "cd"}), "ab, cd!"), (S{"ab", "cd"}));

  // Oniguruma's \s: U+0085 is whitespace, U+FEFF is not.
  json ws = {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Removed"}, {"invert", false}};
  ZS_CHECK_EQ(toks(*withPre(ws, {"ab", "cd"}), "ab\xC2\x85" "cd"), (S{"ab", "cd"}));
  ZS_CHECK_EQ(toks(*withPre(ws, {"ab", "cd", "ab\xEF\xBB\xBF" "cd"}), "ab\xEF\xBB\xBF" "cd"), S{"ab\xEF\xBB\xBF" "cd"});
  // Look-ahead (?!\S): the last space of a run goes with the word.
  json la = {{"type", "Split"}, {"pattern", {{"Regex", " ?[a-z]+|\\s+(?!\\S)|\\s+"}}}, {"behavior", "Isolated"}, {"invert", false}};
  ZS_CHECK_EQ(toks(*withPre(la, {"ab", "  ", " cd"}), "ab   cd"), (S{"ab", "  ", " cd"}));

  const std::string G = "\xC4\xA0";  // Ġ
  json bl = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  ZS_CHECK_EQ(toks(*withPre(bl, {G + "ab", G + "cd", "\xC4\x8A"}), "ab cd\n"), (S{G + "ab", G + "cd", "\xC4\x8A"}));
  json blNoRe = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
  ZS_CHECK_EQ(toks(*withPre(blNoRe, {"ab" + G + "cd"}), "ab cd"), S{"ab" + G + "cd"});

  json ms = {{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "always"}, {"split", true}};
  ZS_CHECK_EQ(toks(*withPre(ms, {kMeta + "ab", kMeta + "cd"}), "ab cd"), (S{kMeta + "ab", kMeta + "cd"}));
  json msNoSplit = {{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "never"}, {"split", false}};
  ZS_CHECK_EQ(toks(*withPre(msNoSplit, {"ab" + kMeta + "cd"}), "ab cd"), S{"ab" + kMeta + "cd"});
  // prepend_scheme "first": only the piece at the start of the text gets '▁'.
  json msFirst = {{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "first"}, {"split", true}};
  json j = spec(chars({kMeta + "ab", "ab", "<x>"}));
  j["model"]["ignore_merges"] = true;
  j["pre_tokenizer"] = msFirst;
  j["added_tokens"] = json::array({{{"id", j["model"]["vocab"].size()}, {"content", "<x>"}, {"special", true},
                                    {"single_word", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}}});
  auto first = load(j);
  ZS_CHECK_EQ(toks(*first, "ab<x>ab"), (S{kMeta + "ab", "<x>", "ab"}));

  ZS_CHECK_EQ(toks(*withPre({{"type", "Digits"}, {"individual_digits", true}}, {"ab"}), "ab12"), (S{"ab", "1", "2"}));
  ZS_CHECK_EQ(toks(*withPre({{"type", "Digits"}, {"individual_digits", false}}, {"ab", "12"}), "ab12"), (S{"ab", "12"}));
  ZS_CHECK_EQ(toks(*withPre({{"type", "Whitespace"}}, {"hi", "you", ",!"}), "hi,! you"), (S{"hi", ",!", "you"}));
  ZS_CHECK_EQ(toks(*withPre({{"type", "WhitespaceSplit"}}, {"hi,", "you"}), "hi,  you"), (S{"hi,", "you"}));
  ZS_CHECK_EQ(toks(*withPre({{"type", "Punctuation"}}, {"hi", "you"}), "hi,you"), (S{"hi", ",", "you"}));
  json seq = {{"type", "Sequence"}, {"pretokenizers", {split("Removed"), {{"type", "Digits"}, {"individual_digits", true}}}}};
  ZS_CHECK_EQ(toks(*withPre(seq, {"ab"}), "ab 12"), (S{"ab", "1", "2"}));
}

ZS_TEST(bpeMergeOrderIsRustHeap) {
  // (x,x) has rank 1, (xx,x) rank 0: after the first (x,x) merge the new pair
  // (xx,x) wins at once. The classic "merge every occurrence" loop gives [xxxx].
  json j = spec({"x", "xx", "xxx", "xxxx"}, json::array({json::array({"xx", "x"}), json::array({"x", "x"}),
                                                        json::array({"xx", "xx"})}));
  ZS_CHECK_EQ(toks(*load(j), "xxxx"), (S{"xxx", "x"}));
  // Lowest rank first, leftmost among equals; string merges work too.
  json k = spec({"a", "b", "c", "ab", "bc", "abc"}, json::array({"b c", "a b", "a bc"}));
  ZS_CHECK_EQ(toks(*load(k), "abc"), S{"abc"});
  ZS_CHECK_EQ(toks(*load(k), "abab"), (S{"ab", "ab"}));
}

ZS_TEST(bpeOptions) {
  std::vector<std::string> v = chars({});
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    v.push_back(name);
  }
  json fb = spec(v);
  fb["model"]["byte_fallback"] = true;
  ZS_CHECK_EQ(toks(*load(fb), "a\xC3\xA9"), (S{"a", "<0xC3>", "<0xA9>"}));

  json unk = spec(chars({"<unk>"}));
  unk["model"]["unk_token"] = "<unk>";
  ZS_CHECK_EQ(toks(*load(unk), "a\xC3\xA9\xC3\xA9" "b"), (S{"a", "<unk>", "<unk>", "b"}));
  unk["model"]["fuse_unk"] = true;
  ZS_CHECK_EQ(toks(*load(unk), "a\xC3\xA9\xC3\xA9" "b"), (S{"a", "<unk>", "b"}));
  json nounk = spec(chars({}));
  ZS_CHECK_EQ(toks(*load(nounk), "a\xC3\xA9" "b"), (S{"a", "b"}));  // no unk_token: dropped

  json pre = spec({"a", "b", "##a", "##b", "ab"}, json::array({"a ##b"}));
  pre["model"]["continuing_subword_prefix"] = "##";
  ZS_CHECK_EQ(toks(*load(pre), "ab"), S{"ab"});
  ZS_CHECK_EQ(toks(*load(pre), "ba"), (S{"b", "##a"}));
  json suf = spec({"a", "b", "a</w>", "b</w>", "ab</w>"}, json::array({"a b</w>"}));
  suf["model"]["end_of_word_suffix"] = "</w>";
  ZS_CHECK_EQ(toks(*load(suf), "ab"), S{"ab</w>"});
  ZS_CHECK_EQ(toks(*load(suf), "ba"), (S{"b", "a</w>"}));

  json im = spec({"a", "b", "c", "ab", "abc"}, json::array({"a b"}));  // "abc" reachable only whole
  ZS_CHECK_EQ(toks(*load(im), "abc"), (S{"ab", "c"}));
  im["model"]["ignore_merges"] = true;
  ZS_CHECK_EQ(toks(*load(im), "abc"), S{"abc"});
}

ZS_TEST(addedTokens) {
  auto added = [](json j, std::vector<json> list) {
    int64_t id = int64_t(j["model"]["vocab"].size());
    for (auto& a : list) {
      json t = {{"id", id++}, {"special", false}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                {"normalized", false}};
      t.update(a);
      j["added_tokens"].push_back(t);
    }
    return load(j);
  };
  json lower = spec(chars({}));
  lower["normalizer"] = {{"type", "Lowercase"}};
  // Matched in the raw text before normalization (normalized=false) ...
  auto t = added(lower, {{{"content", "<SEP>"}, {"special", true}}, {{"content", "hello"}, {"normalized", true}}});
  ZS_CHECK_EQ(toks(*t, "A<SEP>B"), (S{"a", "<SEP>", "b"}));
  ZS_CHECK_EQ(toks(*t, "A<sep>"), (S{"a", "<", "s", "e", "p", ">"}));  // case-sensitive
  // ... or in the normalized text (normalized=true).
  ZS_CHECK_EQ(toks(*t, "HELLO"), S{"hello"});
  // Leftmost-longest.
  auto lm = added(spec(chars({})), {{{"content", "<a>"}}, {{"content", "<a><b>"}}});
  ZS_CHECK_EQ(toks(*lm, "<a><b><a>"), (S{"<a><b>", "<a>"}));
  // lstrip / rstrip take the neighbouring whitespace; single_word needs word boundaries.
  auto ls = added(spec(chars({})), {{{"content", "<m>"}, {"lstrip", true}}});
  ZS_CHECK_EQ(toks(*ls, "a  <m> b"), (S{"a", "<m>", " ", "b"}));
  auto rs = added(spec(chars({})), {{{"content", "<m>"}, {"rstrip", true}}});
  ZS_CHECK_EQ(toks(*rs, "a <m>  b"), (S{"a", " ", "<m>", "b"}));
  auto sw = added(spec(chars({})), {{{"content", "ab"}, {"single_word", true}}});
  ZS_CHECK_EQ(toks(*sw, "ab cab"), (S{"ab", " ", "c", "a", "b"}));
  // decode(skip_special_tokens) removes only special ones.
  ZS_CHECK_EQ(t->decode(t->encode("a<SEP>hello", false), true), std::string("a hello"));  // no decoder: spaces
  ZS_CHECK_EQ(t->decode(t->encode("a<SEP>hello", false), false), std::string("a <SEP> hello"));
}

ZS_TEST(postProcessors) {
  json j = spec(chars({"<s>", "</s>", "[CLS]", "[SEP]"}));
  auto id = [&](const char* s) { return j["model"]["vocab"][s].get<int64_t>(); };
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                     {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                     {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}}},
                         {"pair", json::array()},
                         {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {id("<s>")}}, {"tokens", {"<s>"}}}},
                                             {"</s>", {{"id", "</s>"}, {"ids", {id("</s>")}}, {"tokens", {"</s>"}}}}}}};
  auto t = load(j);
  ZS_CHECK_EQ(toks(*t, "ab", true), (S{"<s>", "a", "b", "</s>"}));
  ZS_CHECK_EQ(toks(*t, "ab", false), (S{"a", "b"}));
  ZS_CHECK_EQ(t->bosId(), id("<s>"));  // no tokenizer_config.json: the template's first token
  ZS_CHECK(t->encodeAddsBos());
  j["post_processor"] = {{"type", "BertProcessing"}, {"sep", {"[SEP]", id("[SEP]")}}, {"cls", {"[CLS]", id("[CLS]")}}};
  ZS_CHECK_EQ(toks(*load(j), "a", true), (S{"[CLS]", "a", "[SEP]"}));
  j["post_processor"] = {{"type", "Sequence"},
                         {"processors", {{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}}}};
  ZS_CHECK_EQ(toks(*load(j), "a", true), S{"a"});
}

ZS_TEST(decoders) {
  auto dec = [](json decoder, std::vector<std::string> vocab) {
    json j = spec(vocab);
    j["decoder"] = decoder;
    return load(j);
  };
  auto ids = [](const zs::Tokenizer& t, S s) {
    std::vector<int64_t> v;
    for (auto& x : s) v.push_back(t.tokenToId(x));
    return v;
  };
  auto bl = dec({{"type", "ByteLevel"}}, {"\xC4\xA0" "a", "b", "\xC3\xA2", "\xC4\xA2"});
  ZS_CHECK_EQ(bl->decode(ids(*bl, {"\xC4\xA0" "a", "b"})), std::string(" ab"));
  ZS_CHECK_EQ(bl->decode(ids(*bl, {"\xC3\xA2", "\xC4\xA2"})), std::string("\xEF\xBF\xBD"));  // lone E2 82: one U+FFFD
  auto seq = dec({{"type", "Sequence"},
                  {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", kMeta}}}, {"content", " "}},
                                {{"type", "ByteFallback"}},
                                {{"type", "Fuse"}},
                                {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}},
                 {kMeta + "a", kMeta + "b", "<0xE2>", "<0x82>", "<0xAC>", "<0x41>"});
  ZS_CHECK_EQ(seq->decode(ids(*seq, {kMeta + "a", kMeta + "b"})), std::string("a b"));
  ZS_CHECK_EQ(seq->decode(ids(*seq, {kMeta + "a", "<0xE2>", "<0x82>", "<0xAC>"})), std::string("a\xE2\x82\xAC"));
  // Rust's ByteFallback: an invalid byte run gives one U+FFFD per byte.
  ZS_CHECK_EQ(seq->decode(ids(*seq, {"<0xE2>", "<0x82>", kMeta + "a"})), std::string("\xEF\xBF\xBD\xEF\xBF\xBD a"));
  auto ms = dec({{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "always"}}, {kMeta + "a", kMeta + "b"});
  ZS_CHECK_EQ(ms->decode(ids(*ms, {kMeta + "a", kMeta + "b"})), std::string("a b"));
  auto none = dec(nullptr, {"a", "b"});
  ZS_CHECK_EQ(none->decode(ids(*none, {"a", "b"})), std::string("a b"));  // no decoder: joined by spaces
  ZS_CHECK_EQ(seq->displayString(seq->tokenToId("<0x41>")), std::string("A"));
  ZS_CHECK_EQ(seq->displayString(seq->tokenToId(kMeta + "a")), std::string("\xC2\xB7" "a"));
}

ZS_TEST(badFilesAreInputErrors) {
  auto fails = [](const json& j, const std::string& needle) {
    try {
      load(j);
    } catch (const zs::InputError& e) {
      std::string w = e.what();
      ZS_CHECK_MSG(w.find(needle) != std::string::npos, w + " (expected to mention " + needle + ")");
      ZS_CHECK_MSG(w.find('\n') == std::string::npos, "one line: " + w);
      return;
    }
    ZS_FAIL("no InputError for " + needle);
  };
  json j = spec(chars({}));
  j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", "AAAA"}};
  fails(j, "\"Precompiled\"");
  j = spec(chars({}));
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "FancySplit"}}}}};
  fails(j, "\"FancySplit\"");
  j = spec(chars({}));
  j["decoder"] = {{"type", "CTC"}};
  fails(j, "\"CTC\"");
  j = spec(chars({}));
  j["post_processor"] = {{"type", "Frobnicate"}};
  fails(j, "\"Frobnicate\"");
  j = spec(chars({}));
  j["model"]["type"] = "Unigram";
  fails(j, "\"Unigram\"");
  fails(spec({"a", "b", "ab"}, json::array({"a c"})), "\"c\"");
  fails(spec({"a", "b"}, json::array({"a b"})), "\"ab\"");
  j = spec(chars({}));
  j["model"]["unk_token"] = "<nope>";
  fails(j, "<nope>");
  j = spec(chars({}));
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  fails(j, "(unclosed");

  const std::string cfg = zs::test::tempDir() + "/none.json";
  std::string full = spec({"a", "b", "ab"}, json::array({"a b"})).dump();
  ZS_CHECK_THROWS(zs::loadHfTokenizerFiles(writeTemp(full.substr(0, full.size() / 2)), cfg), zs::InputError);
  ZS_CHECK_THROWS(zs::loadHfTokenizerFiles(writeTemp("this is not JSON"), cfg), zs::InputError);
  ZS_CHECK_THROWS(zs::loadHfTokenizerFiles(writeTemp(""), cfg), zs::InputError);
  ZS_CHECK_THROWS(zs::loadHfTokenizerFiles(writeTemp("[1, 2]"), cfg), zs::InputError);
  ZS_CHECK_THROWS(zs::loadHfTokenizerFiles(zs::test::tempDir() + "/missing.json", cfg), zs::InputError);
  try {
    zs::loadHfTokenizerFiles(writeTemp(full.substr(0, 30)), cfg);
  } catch (const zs::InputError& e) {
    ZS_CHECK_MSG(std::string(e.what()).find("truncated") != std::string::npos, e.what());
  }
  auto t = zs::loadHfTokenizerFiles(writeTemp(full), cfg);
  ZS_CHECK_EQ(toks(*t, "ab"), S{"ab"});
  ZS_CHECK_THROWS(t->decode({0, 3}), zs::InputError);
}
