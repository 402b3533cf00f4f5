// GPT-2 tokenizer: exact ids against reference cases (produced by GPT-2's own
// tokenizer), the tiny model's expected tokens, lossless round trips on hard
// Unicode and invalid bytes, special tokens, display strings, errors, speed,
// and the `tokenize` CLI command.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/text/bytes_unicode.h"
#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/text/tokenizer.h"
#include "core/text/tokenizer_pretok.h"
#include "core/text/tokenizer_util.h"
#include "core/text/unicode_text.h"
#include "cli_inprocess.h"
#include "tests/support/check.h"

using zs::Tokenizer;

namespace {

std::string gpt2Dir(const std::string& shared) { return shared + "/testdata/gpt2-tokenizer"; }

std::vector<std::string> pieces(const std::string& text) {
  std::vector<std::string> out;
  zs::gpt2PreTokenizer().split(text, [&](std::string_view p) { out.emplace_back(p); });
  return out;
}

void writeFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
}

// Random valid UTF-8: code points from every plane (no surrogates), with
// whitespace and ASCII mixed in so that all pattern branches are exercised.
std::string randomUtf8(std::mt19937& rng, size_t codePoints) {
  std::string s;
  std::uniform_int_distribution<int> kind(0, 5);
  for (size_t i = 0; i < codePoints; ++i) {
    uint32_t cp;
    switch (kind(rng)) {
      case 0: cp = std::uniform_int_distribution<uint32_t>(0x20, 0x7E)(rng); break;
      case 1: cp = " \n\t\r"[rng() % 4]; break;
      case 2: cp = std::uniform_int_distribution<uint32_t>(0x80, 0x7FF)(rng); break;
      case 3: cp = std::uniform_int_distribution<uint32_t>(0x800, 0xFFFD)(rng); break;
      case 4: cp = std::uniform_int_distribution<uint32_t>(0x10000, 0x10FFFF)(rng); break;
      default: cp = std::uniform_int_distribution<uint32_t>(0, 0x1F)(rng); break;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE000;
    zs::text::appendUtf8(s, cp);
  }
  return s;
}

}  // namespace

ZS_TEST(referenceCasesMatchExactly) {
  ZS_REQUIRE_SHARED(shared);
  auto tok = Tokenizer::loadDir(gpt2Dir(shared));
  ZS_CHECK_EQ(tok->vocabSize(), int64_t(50257));
  ZS_CHECK_EQ(tok->endOfTextId(), int64_t(50256));
  std::ifstream f(gpt2Dir(shared) + "/cases.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    const std::string text = j["text"].get<std::string>();
    const auto expected = j["ids"].get<std::vector<int64_t>>();
    const auto ids = tok->encode(text);
    if (ids != expected) ZS_FAIL(("ids differ for " + nlohmann::json(text).dump()).c_str());
    ZS_CHECK_EQ(tok->decode(ids), text);
    ++n;
  }
  ZS_CHECK(n >= 19);
}

ZS_TEST(tinyModelExpectedTokens) {
  ZS_REQUIRE_SHARED(shared);
  const std::string dir = shared + "/testdata/tiny-gpt2";
  auto tok = Tokenizer::loadDir(dir);
  ZS_CHECK_EQ(tok->vocabSize(), int64_t(377));
  ZS_CHECK_EQ(tok->endOfTextId(), int64_t(376));
  std::ifstream f(dir + "/expected_tokens.json");
  auto j = nlohmann::json::parse(f);
  auto expected = j["input_ids"].get<std::vector<int64_t>>();
  // The ids may include the BOS (<|endoftext|>) the model runs with; the
  // tokenizer itself must produce everything after it.
  if (!expected.empty() && expected.front() == tok->endOfTextId()) expected.erase(expected.begin());
  const std::string prompt = j["prompt"].get<std::string>();
  ZS_CHECK_EQ(tok->encode(prompt), expected);
  ZS_CHECK_EQ(tok->decode(expected), prompt);
}

ZS_TEST(byteOrderMatchesGpt2Vocab) {
  ZS_REQUIRE_SHARED(shared);
  auto tok = Tokenizer::loadDir(gpt2Dir(shared));
  const auto& order = zs::bytelevel::bytesInVocabOrder();
  for (int i = 0; i < 256; ++i) {
    ZS_CHECK_EQ(tok->tokenToId(zs::bytelevel::byteToUnicode(order[size_t(i)])), int64_t(i));
    ZS_CHECK_EQ(tok->tokenString(i), std::string(1, char(order[size_t(i)])));
  }
  ZS_CHECK_EQ(tok->tokenToId("\xC4\xA0the"), int64_t(262));  // "Ġthe"
  ZS_CHECK_EQ(tok->tokenToId("no-such-token"), int64_t(-1));
}

ZS_TEST(preTokenizerPattern) {
  using V = std::vector<std::string>;
  ZS_CHECK_EQ(pieces("Hello  world"), (V{"Hello", " ", " world"}));
  ZS_CHECK_EQ(pieces("it's 42!!"), (V{"it", "'s", " 42", "!!"}));
  // Like GPT-2: "\r" stands alone before "\n" when a word follows (cf. ids 201, 198).
  ZS_CHECK_EQ(pieces("a\r\nb"), (V{"a", "\r", "\n", "b"}));
  ZS_CHECK_EQ(pieces("x   \n"), (V{"x", "   \n"}));
  // Unicode spaces are \s under UCP: NBSP, ideographic space, thin space.
  ZS_CHECK_EQ(pieces("a\u00A0b"), (V{"a", "\u00A0", "b"}));
  ZS_CHECK_EQ(pieces("\u65E5\u3000\u672C"), (V{"\u65E5", "\u3000", "\u672C"}));
  // The optional leading space is a literal ' ' only; other spaces stand alone.
  ZS_CHECK_EQ(pieces("a \u2009b"), (V{"a", " ", "\u2009", "b"}));
  ZS_CHECK_EQ(pieces(""), V{});
  // Invalid UTF-8 matches nothing; it still becomes a piece (lossless).
  ZS_CHECK_EQ(pieces("ab\xFF" "cd"), (V{"ab", "\xFF", "cd"}));
}

ZS_TEST(specialTokensInText) {
  ZS_REQUIRE_SHARED(shared);
  auto tok = Tokenizer::loadDir(gpt2Dir(shared));
  auto cat = [](std::vector<int64_t> a, const std::vector<int64_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const auto hello = tok->encode("Hello world");
  const auto next = tok->encode(" Next doc");
  ZS_CHECK_EQ(tok->encode("Hello world<|endoftext|> Next doc"), cat(cat(hello, {50256}), next));
  ZS_CHECK_EQ(tok->encode("<|endoftext|>"), (std::vector<int64_t>{50256}));
  ZS_CHECK_EQ(tok->encode("<|endoftext|><|endoftext|>"), (std::vector<int64_t>{50256, 50256}));
  // Not special: incomplete or different text stays ordinary text.
  for (const std::string s : {"<|endoftext", "<|endoftext |>", "<|foo|>", "<|"}) {
    auto ids = tok->encode(s);
    ZS_CHECK(std::find(ids.begin(), ids.end(), 50256) == ids.end());
    ZS_CHECK_EQ(tok->decode(ids), s);
  }
  const std::string mixed = "a<|endoftext|>b <|endoftext|>\n<|endoftext|";
  ZS_CHECK_EQ(tok->decode(tok->encode(mixed)), mixed);
}

// Whitespace-only tokens (the family rule never calls them induction): spaces, blank lines and tabs are
// blank; words, punctuation, a space-prefixed word and the special <|endoftext|> are not.
ZS_TEST(blankTokens) {
  ZS_REQUIRE_SHARED(shared);
  auto tok = Tokenizer::loadDir(gpt2Dir(shared));
  for (const std::string s : {" ", "\n", "\n\n", "    ", "\t", " \n"}) {
    const auto ids = tok->encode(s);
    ZS_CONTEXT("text of " + std::to_string(s.size()) + " whitespace bytes");
    for (int64_t id : ids) ZS_CHECK(tok->isBlank(id));
  }
  for (const std::string s : {"the", " the", ".", " ,", "a\n"}) {
    const auto ids = tok->encode(s);
    ZS_CONTEXT(s);
    ZS_CHECK(!tok->isBlank(ids.front()));
  }
  ZS_CHECK(!tok->isBlank(50256));
  ZS_CHECK(!tok->isBlank(-1));
  ZS_CHECK(!tok->isBlank(tok->vocabSize()));
  const auto ids = tok->encode("a \n\n b");
  const auto mask = tok->blankMask(ids);
  ZS_CHECK_EQ(mask.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) ZS_CHECK_EQ(bool(mask[i]), tok->isBlank(ids[i]));
}

ZS_TEST(roundTripsHardUnicode) {
  ZS_REQUIRE_SHARED(shared);
  auto tok = Tokenizer::loadDir(gpt2Dir(shared));
  const std::vector<std::string> texts = {
      "",
      "\u4E2D\u6587\u5B57\u7B26 \u6F22\u5B57\u304B\u306A\u4EA4\u3058\u308A\u6587 \uD55C\uAD6D\uC5B4",
      "family \U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 wave \U0001F44B\U0001F3FF "
      "flag \U0001F3F3\uFE0F\u200D\U0001F308",
      "combining: e\u0301 a\u0308 \u1100\u1161\u11A8 Z\u0351\u0352\u0353\u0354",
      "spaces:\u00A0|\u2002|\u2003|\u2009|\u200A|\u202F|\u205F|\u3000|\u1680|\u2028|\u2029|\u0085|",
      "line\r\nends\r\n\r\n\rdone\n",
      "mixed \u0627\u0644\u0639\u0631\u0628\u064A\u0629 \u05E2\u05D1\u05E8\u05D9\u05EA \u0939\u093F\u0928\u094D"
      "\u0926\u0940 \u0E44\u0E17\u0E22 \u0440\u0443\u0441\u0441\u043A\u0438\u0439 123\u0661\u0662",
      std::string("nul\0byte", 8),
      "\t\t  \n \v\f end",
      std::string(5000, ' ') + "x" + std::string(3000, '\n'),
  };
  for (const auto& t : texts) {
    auto ids = tok->encode(t);
    for (int64_t id : ids) ZS_CHECK(id >= 0 && id < 50256);  // no special token in these texts
    ZS_CHECK_EQ(tok->decode(ids), t);
  }
  ZS_CHECK(tok->encode("").empty());
  std::mt19937 rng(1234);
  for (int i = 0; i < 20; ++i) {
    const std::string t = randomUtf8(rng, 3000);
    ZS_CHECK(zs::tokutil::isValidUtf8(t));
    ZS_CHECK_EQ(tok->decode(tok->encode(t)), t);
  }
}

ZS_TEST(invalidUtf8DoesNotCrash) {
  ZS_REQUIRE_SHARED(shared);
  auto tok = Tokenizer::loadDir(gpt2Dir(shared));
  std::mt19937 rng(99);
  for (int i = 0; i < 50; ++i) {
    std::string bytes(size_t(rng() % 400), '\0');
    for (auto& c : bytes) c = char(rng() & 0xFF);
    ZS_CHECK_EQ(tok->decode(tok->encode(bytes)), bytes);  // byte-level: still lossless
  }
  const std::string truncated = "caf\xC3";
  ZS_CHECK_EQ(tok->decode(tok->encode(truncated)), truncated);
}

ZS_TEST(displayStrings) {
  ZS_REQUIRE_SHARED(shared);
  auto tok = Tokenizer::loadDir(gpt2Dir(shared));
  ZS_CHECK_EQ(tok->displayString(tok->tokenToId("\xC4\xA0the")), std::string("\u00B7the"));
  ZS_CHECK_EQ(tok->displayString(198), std::string("\u21B5"));  // "\n"
  ZS_CHECK_EQ(tok->displayString(197), std::string("\u2192"));  // "\t"
  ZS_CHECK_EQ(tok->displayString(201), std::string("\u240D"));  // "\r"
  ZS_CHECK_EQ(tok->displayString(50256), std::string("<|endoftext|>"));
  // A lone lead byte of a multi-byte character.
  const int64_t e2 = tok->tokenToId(zs::bytelevel::byteToUnicode(0xE2));
  ZS_CHECK_EQ(tok->displayString(e2), std::string("<0xE2>"));
  ZS_CHECK_EQ(tok->tokenString(e2), std::string("\xE2"));
  // "café": the é token decodes to the full character.
  auto ids = tok->encode(" caf\u00E9");
  std::string shown;
  for (auto id : ids) shown += tok->displayString(id);
  ZS_CHECK_EQ(shown, std::string("\u00B7caf\u00E9"));
}

ZS_TEST(mergesWithoutVersionLine) {
  ZS_REQUIRE_SHARED(shared);
  const std::string src = shared + "/testdata/tiny-gpt2";
  const std::string dir = zs::test::tempDir() + "/noversion";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(src + "/vocab.json", dir + "/vocab.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::ifstream in(src + "/merges.txt");
  std::string line, body;
  std::getline(in, line);
  ZS_CHECK(line.rfind("#version", 0) == 0);
  while (std::getline(in, line)) body += line + "\r\n";  // CRLF too
  writeFile(dir + "/merges.txt", body);
  auto a = Tokenizer::loadDir(src), b = Tokenizer::loadDir(dir);
  const std::string text = "When Mary and John went to the store, the quick brown fox";
  ZS_CHECK_EQ(b->encode(text), a->encode(text));
}

ZS_TEST(malformedFilesAreInputErrors) {
  const std::string dir = zs::test::tempDir() + "/bad";
  std::filesystem::create_directories(dir);
  ZS_CHECK_THROWS(Tokenizer::loadDir(dir + "/missing"), zs::InputError);
  ZS_CHECK_THROWS(Tokenizer::loadDir(dir), zs::InputError);  // no files
  writeFile(dir + "/vocab.json", "{\"a\": 0, \"b\": ");
  writeFile(dir + "/merges.txt", "#version: 0.2\n");
  ZS_CHECK_THROWS(Tokenizer::loadDir(dir), zs::InputError);
  writeFile(dir + "/vocab.json", "[1, 2]");
  ZS_CHECK_THROWS(Tokenizer::loadDir(dir), zs::InputError);
  writeFile(dir + "/vocab.json", "{\"a\": \"zero\"}");
  ZS_CHECK_THROWS(Tokenizer::loadDir(dir), zs::InputError);
  writeFile(dir + "/vocab.json", "{\"a\": 0, \"b\": 1, \"ab\": 2}");
  writeFile(dir + "/merges.txt", "#version: 0.2\na c\n");
  ZS_CHECK_THROWS(Tokenizer::loadDir(dir), zs::InputError);
  writeFile(dir + "/merges.txt", "#version: 0.2\na b c\n");
  ZS_CHECK_THROWS(Tokenizer::loadDir(dir), zs::InputError);
  writeFile(dir + "/merges.txt", "#version: 0.2\na b\n");
  auto tok = Tokenizer::loadDir(dir);
  ZS_CHECK_EQ(tok->encode("ab"), (std::vector<int64_t>{2}));
  ZS_CHECK_EQ(tok->encode("xab"), (std::vector<int64_t>{2}));  // bytes missing from the vocab are dropped, as HF does
  ZS_CHECK_THROWS(tok->decode({3}), zs::InputError);
  ZS_CHECK_THROWS(tok->tokenString(-1), zs::InputError);
  ZS_CHECK_EQ(tok->endOfTextId(), int64_t(-1));
}

ZS_TEST(concurrentEncodeIsSafe) {
  // The GUI encodes from worker threads while the word cache is shared.
  ZS_REQUIRE_SHARED(shared);
  auto tok = Tokenizer::loadDir(gpt2Dir(shared));
  std::mt19937 rng(5);
  std::vector<std::string> texts;
  for (int i = 0; i < 4; ++i) texts.push_back(randomUtf8(rng, 4000));
  std::vector<std::vector<int64_t>> expected;
  {
    auto fresh = Tokenizer::loadDir(gpt2Dir(shared));
    for (const auto& t : texts) expected.push_back(fresh->encode(t));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 10; ++rep)
        for (size_t i = 0; i < texts.size(); ++i)
          if (tok->encode(texts[(i + size_t(t)) % texts.size()]) != expected[(i + size_t(t)) % texts.size()])
            ++mismatches;
    });
  for (auto& th : threads) th.join();
  ZS_CHECK_EQ(mismatches.load(), 0);
}

ZS_TEST(encodesOneMegabyteFast) {
  ZS_REQUIRE_SHARED(shared);
  auto tok = Tokenizer::loadDir(gpt2Dir(shared));  // fresh: cold word cache
  // ~1 MB of varied text: reference cases, random Unicode and ASCII words.
  std::mt19937 rng(7);
  std::string text;
  const char* words[] = {"the", "model", "attention", "head", "feature", "sparse", "autoencoder",
                         "Mary", "John", "store", "1234", "3.14", "{\"key\":", "]);", "\n\n", "  "};
  while (text.size() < (1u << 20)) {
    if (rng() % 50 == 0) text += randomUtf8(rng, 40);
    text += ' ';
    text += words[rng() % 16];
    if (rng() % 7 == 0) text += std::to_string(rng() % 100000);
  }
  const std::clock_t c0 = std::clock();
  auto t0 = std::chrono::steady_clock::now();
  auto ids = tok->encode(text);
  const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("encoded %.2f MB into %zu tokens: %.3f s CPU, %.3f s wall (%.1f MB/s)\n", text.size() / 1e6, ids.size(),
              cpu, wall, text.size() / 1e6 / wall);
  ZS_CHECK_MSG(cpu < 1.0, "encoding 1 MB must take well under a second of CPU time");
  ZS_CHECK_EQ(tok->decode(ids), text);
}

ZS_TEST(cliTokenize) {
  ZS_REQUIRE_SHARED(shared);
  std::string out;
  ZS_CHECK_EQ(zs::test::runCli({"tokenize", "--model", gpt2Dir(shared), "--text", "Hello world!", "--json"}, &out), 0);
  auto j = nlohmann::json::parse(out);
  ZS_CHECK_EQ(j["ids"].get<std::vector<int64_t>>(), (std::vector<int64_t>{15496, 995, 0}));
  ZS_CHECK_EQ(j["tokens"].get<std::vector<std::string>>(), (std::vector<std::string>{"Hello", " world", "!"}));
  ZS_CHECK_EQ(j["display"][1].get<std::string>(), std::string("\u00B7world"));
  const std::string file = zs::test::tempDir() + "/prompt.txt";
  writeFile(file, "a<|endoftext|>b\n");
  ZS_CHECK_EQ(zs::test::runCli({"tokenize", "--model", gpt2Dir(shared), "--text-file", file, "--json"}, &out), 0);
  ZS_CHECK_EQ(nlohmann::json::parse(out)["ids"].get<std::vector<int64_t>>(),
           (std::vector<int64_t>{64, 50256, 65, 198}));
  ZS_CHECK_EQ(zs::test::runCli({"tokenize", "--model", gpt2Dir(shared), "--text", "hi"}, &out), 0);
  ZS_CHECK(out.find("5303") != std::string::npos);  // "hi"
  // Bad flags -> 2, bad input -> 3.
  ZS_CHECK_EQ(zs::test::runCli({"tokenize", "--model", gpt2Dir(shared)}), 2);
  ZS_CHECK_EQ(zs::test::runCli({"tokenize", "--model", gpt2Dir(shared), "--text", "a", "--text-file", file}), 2);
  ZS_CHECK_EQ(zs::test::runCli({"tokenize", "--text", "a"}), 2);
  ZS_CHECK_EQ(zs::test::runCli({"tokenize", "--model", "/nonexistent/model", "--text", "a"}), 3);
  ZS_CHECK_EQ(zs::test::runCli({"tokenize", "--model", gpt2Dir(shared), "--text-file", "/nonexistent.txt"}), 3);
}
