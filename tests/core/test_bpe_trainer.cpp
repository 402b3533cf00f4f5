// BPE trainer: hand-checked first merges and tie-breaking, exact vocabulary
// size, byte-identical reruns, lossless round trips with the trained
// tokenizer, corpus formats (text, chunked large text, JSONL, folder), errors,
// cancellation and the `train-tokenizer` CLI command.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/train/bpe_trainer.h"
#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/text/tokenizer.h"
#include "cli_inprocess.h"
#include "tests/support/check.h"

namespace fs = std::filesystem;

namespace {

void writeFile(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << content;
}

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> mergeLines(const std::string& dir) {
  std::ifstream f(dir + "/merges.txt");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(f, line)) out.push_back(line);
  return out;
}

// Deterministic pseudo-text: Zipf-like English words, numbers, punctuation,
// some CJK/accents/emoji, lines and paragraphs.
std::string makeCorpus(size_t bytes, unsigned seed) {
  static const char* words[] = {
      "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
      "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they",
      "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when",
      "will", "would", "who", "so", "no", "attention", "transformer", "sparse", "autoencoder", "feature",
      "caf\u00E9", "na\u00EFve", "\u65E5\u672C\u8A9E", "\U0001F600", "\u043C\u0438\u0440", "don't", "it's"};
  const size_t n = sizeof(words) / sizeof(words[0]);
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < bytes) {
    size_t r = rng() % 1000;
    size_t idx = size_t(double(n) * (r / 1000.0) * (r / 1000.0));  // skewed towards frequent words
    std::string w = words[idx];
    if (rng() % 8 == 0) {  // a made-up word, so that there are many distinct words
      static const char* syl[] = {"ka", "lo", "mi", "ne", "ru", "sta", "ver", "qui", "dro", "ph", "ex", "ion"};
      w.clear();
      for (unsigned k = 0, len = 1 + rng() % 4; k < len; ++k) w += syl[rng() % 12];
    }
    if (s.empty() || s.back() == '\n') {
      if (w[0] >= 'a' && w[0] <= 'z') w[0] = char(w[0] - 32);
      s += w;
    } else {
      s += ' ';
      s += w;
    }
    switch (rng() % 20) {
      case 0: s += ","; break;
      case 1: s += ".\n"; break;
      case 2: s += " " + std::to_string(rng() % 2000); break;
      case 3: s += ".\n\n"; break;
      default: break;
    }
  }
  return s;
}

std::string tmp(const std::string& name) { return zs::test::tempDir() + "/" + name; }

}  // namespace

ZS_TEST(handCheckedFirstMerges) {
  // Words "abababab" and " cdcd". Pair counts: ab 4, ba 3, cd 2, " c" 1, dc 1.
  // 1) a+b (4) -> [ab ab ab ab]; 2) ab+ab (3) -> [abab abab]; 3) c+d (2);
  // 4) ties at 1: (" ", cd) < (abab, abab) < (cd, cd) by bytes -> " "+cd.
  zs::BpeTrainer t;
  t.addText("abababab cdcd");
  zs::BpeModel m = t.train(261);
  const std::string dir = tmp("hand");
  m.save(dir);
  ZS_CHECK_EQ(mergeLines(dir), (std::vector<std::string>{"#version: 0.2", "a b", "ab ab", "c d", "\u0120 cd"}));
  auto tok = zs::Tokenizer::loadDir(dir);
  ZS_CHECK_EQ(tok->vocabSize(), int64_t(261));
  ZS_CHECK_EQ(tok->tokenToId("ab"), int64_t(256));
  ZS_CHECK_EQ(tok->tokenToId("abab"), int64_t(257));
  ZS_CHECK_EQ(tok->tokenToId("cd"), int64_t(258));
  ZS_CHECK_EQ(tok->tokenToId("\u0120cd"), int64_t(259));
  ZS_CHECK_EQ(tok->endOfTextId(), int64_t(260));
  ZS_CHECK_EQ(tok->encode("abababab cdcd"), (std::vector<int64_t>{257, 257, 259, 258}));
  // The first 256 ids are GPT-2's byte order: '!' is 0, 'a' is 64.
  ZS_CHECK_EQ(tok->tokenToId("!"), int64_t(0));
  ZS_CHECK_EQ(tok->tokenToId("a"), int64_t(64));
}

ZS_TEST(tiesBrokenByPairBytes) {
  // "xy" and " ab" once each: every pair has count 1; (" ", a) sorts first,
  // then (" a", b) (" a" < "x"), then (x, y).
  zs::BpeTrainer t;
  t.addText("xy ab");
  zs::BpeModel m = t.train(260);
  const std::string dir = tmp("ties");
  m.save(dir);
  ZS_CHECK_EQ(mergeLines(dir), (std::vector<std::string>{"#version: 0.2", "\u0120 a", "\u0120a b", "x y"}));
  // Frequencies win over ties: "xy" three times now comes first.
  zs::BpeTrainer t2;
  t2.addText("xy xy xy ab");
  m = t2.train(258);
  m.save(dir);
  ZS_CHECK_EQ(mergeLines(dir), (std::vector<std::string>{"#version: 0.2", "x y"}));
}

ZS_TEST(vocabSizeIsExact) {
  zs::BpeTrainer t;
  t.addText(makeCorpus(300000, 1));
  for (int64_t n : {257, 300, 1000}) {
    zs::BpeModel m = t.train(n);
    const std::string dir = tmp("size" + std::to_string(n));
    m.save(dir);
    auto tok = zs::Tokenizer::loadDir(dir);
    ZS_CHECK_EQ(tok->vocabSize(), n);
    ZS_CHECK_EQ(tok->endOfTextId(), n - 1);
    ZS_CHECK_EQ(nlohmann::json::parse(readFile(dir + "/vocab.json")).size(), size_t(n));
    ZS_CHECK_EQ(int64_t(mergeLines(dir).size()) - 1, int64_t(m.merges.size()));
    ZS_CHECK_EQ(tok->encode("<|endoftext|>"), (std::vector<int64_t>{n - 1}));
  }
  ZS_CHECK_THROWS(t.train(256), zs::UsageError);
}

ZS_TEST(deterministicFiles) {
  const std::string corpus = tmp("det.txt");
  writeFile(corpus, makeCorpus(400000, 2));
  zs::trainBpeTokenizer(corpus, 800, tmp("det1"));
  zs::trainBpeTokenizer(corpus, 800, tmp("det2"));
  ZS_CHECK_EQ(readFile(tmp("det1") + "/vocab.json"), readFile(tmp("det2") + "/vocab.json"));
  ZS_CHECK_EQ(readFile(tmp("det1") + "/merges.txt"), readFile(tmp("det2") + "/merges.txt"));
  ZS_CHECK(readFile(tmp("det1") + "/merges.txt").size() > 1000);
}

ZS_TEST(roundTripsWithTrainedTokenizer) {
  const std::string text = makeCorpus(300000, 3);
  zs::BpeTrainer t;
  t.addText(text);
  t.train(600).save(tmp("rt"));
  auto tok = zs::Tokenizer::loadDir(tmp("rt"));
  auto ids = tok->encode(text);
  ZS_CHECK_EQ(tok->decode(ids), text);
  // BPE compresses its own training text (byte-level would be 1 byte/token).
  ZS_CHECK_MSG(double(text.size()) / double(ids.size()) > 2.5, "expected > 2.5 bytes per token");
  const std::vector<std::string> unseen = {
      "", "Zebra quokka \u4E2D\u6587 \U0001F468\u200D\U0001F469\u200D\U0001F467 \U0001F44B\U0001F3FD",
      "e\u0301\u0302 \u00A0\u3000\u2009 \r\n\t end", "<|endoftext|> in the middle <|endoftext|>",
      std::string("\xFF\xFE raw \xC3", 10)};
  for (const auto& u : unseen) ZS_CHECK_EQ(tok->decode(tok->encode(u)), u);
}

ZS_TEST(endOfTextIsNotLearned) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "doc number " + std::to_string(i) + "<|endoftext|>";
  zs::BpeTrainer t;
  t.addText(text);
  zs::BpeModel m = t.train(400);
  for (size_t i = 0; i + 1 < m.tokens.size(); ++i)
    ZS_CHECK_MSG(m.tokens[i].find("<|") == std::string::npos && m.tokens[i].find("endof") == std::string::npos,
             m.tokens[i].c_str());
  ZS_CHECK_EQ(m.tokens.back(), std::string("<|endoftext|>"));
}

ZS_TEST(largeFileIsChunkedLosslessly) {
  // > 2 read blocks of 4 MB: counts must equal counting the whole text at once.
  const std::string text = makeCorpus(9'000'000, 4);
  const std::string corpus = tmp("large.txt");
  writeFile(corpus, text);
  zs::BpeTrainer whole, streamed;
  whole.addText(text);
  std::vector<double> seen;
  zs::Progress p;
  p.report = [&](double done, double, const std::string&) { seen.push_back(done); };
  streamed.addCorpus(corpus, p);
  ZS_CHECK_EQ(streamed.stats().words, whole.stats().words);
  ZS_CHECK_EQ(streamed.stats().corpusBytes, uint64_t(text.size()));
  ZS_CHECK(seen.size() >= 3);
  ZS_CHECK_FUZZY(seen.back(), double(text.size()));
  zs::BpeModel a = whole.train(500), b = streamed.train(500);
  ZS_CHECK_EQ(a.tokens, b.tokens);
  ZS_CHECK_EQ(a.merges, b.merges);
}

ZS_TEST(jsonlAndFolderCorpora) {
  const std::string text = makeCorpus(50000, 5);
  std::string jsonl;
  std::vector<std::string> docs;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    docs.push_back(line);
    jsonl += nlohmann::json{{"text", line}, {"id", docs.size()}}.dump() + "\n";
  }
  writeFile(tmp("c.jsonl"), jsonl);
  zs::BpeTrainer fromJsonl, direct;
  fromJsonl.addCorpus(tmp("c.jsonl"));
  for (const auto& d : docs) direct.addText(d);
  ZS_CHECK_EQ(fromJsonl.stats().words, direct.stats().words);
  ZS_CHECK_EQ(fromJsonl.train(400).merges, direct.train(400).merges);

  // A folder: every file below it in path order, .jsonl as JSONL and the rest as
  // text (the rule every corpus reader shares); hidden files and folders skipped.
  writeFile(tmp("folder/a.txt"), docs[0]);
  writeFile(tmp("folder/sub/b.jsonl"), nlohmann::json{{"text", docs[1]}}.dump() + "\n");
  writeFile(tmp("folder/notes.md"), "notes in markdown are text too");
  writeFile(tmp("folder/.hidden/c.txt"), "ignored");
  zs::BpeTrainer fromFolder, expect;
  fromFolder.addCorpus(tmp("folder"));
  expect.addText(docs[0]);
  expect.addText("notes in markdown are text too");
  expect.addText(docs[1]);
  ZS_CHECK_EQ(fromFolder.stats().words, expect.stats().words);
  ZS_CHECK_EQ(fromFolder.train(300).merges, expect.train(300).merges);
}

ZS_TEST(badCorporaAreInputErrors) {
  zs::BpeTrainer t;
  ZS_CHECK_THROWS(t.addCorpus(tmp("does-not-exist.txt")), zs::InputError);
  fs::create_directories(tmp("empty-folder"));
  ZS_CHECK_THROWS(t.addCorpus(tmp("empty-folder")), zs::InputError);
  writeFile(tmp("bad.jsonl"), "{\"text\": \"ok\"}\n{\"text\": \n");
  try {
    t.addCorpus(tmp("bad.jsonl"));
    ZS_FAIL("expected InputError");
  } catch (const zs::InputError& e) {
    ZS_CHECK_MSG(std::string(e.what()).find("line 2") != std::string::npos, e.what());
  }
  writeFile(tmp("notext.jsonl"), "{\"body\": \"x\"}\n");
  ZS_CHECK_THROWS(t.addCorpus(tmp("notext.jsonl")), zs::InputError);
  writeFile(tmp("empty.txt"), "");
  ZS_CHECK_THROWS(zs::trainBpeTokenizer(tmp("empty.txt"), 300, tmp("o")), zs::InputError);
}

ZS_TEST(cancellation) {
  std::atomic<bool> stop{true};
  zs::Progress p;
  p.cancel = &stop;
  writeFile(tmp("cancel.txt"), makeCorpus(100000, 6));
  zs::BpeTrainer t;
  ZS_CHECK_THROWS(t.addCorpus(tmp("cancel.txt"), p), zs::Cancelled);
  zs::BpeTrainer t2;
  t2.addText(makeCorpus(100000, 6));
  ZS_CHECK_THROWS(t2.train(1000, p), zs::Cancelled);
}

ZS_TEST(cliTrainTokenizer) {
  const std::string corpus = tmp("cli.txt");
  writeFile(corpus, makeCorpus(200000, 7));
  std::string out;
  ZS_CHECK_EQ(zs::test::runCli({"train-tokenizer", "--corpus", corpus, "--vocab-size", "512", "--out", tmp("cliout"), "--json"},
                  &out),
           0);
  auto j = nlohmann::json::parse(out);
  ZS_CHECK_EQ(j["vocab_size"].get<int64_t>(), int64_t(512));
  ZS_CHECK_EQ(j["end_of_text_id"].get<int64_t>(), int64_t(511));
  ZS_CHECK_EQ(zs::Tokenizer::loadDir(tmp("cliout"))->vocabSize(), int64_t(512));
  ZS_CHECK_EQ(zs::test::runCli({"train-tokenizer", "--corpus", corpus, "--vocab-size", "100", "--out", tmp("x")}), 2);
  ZS_CHECK_EQ(zs::test::runCli({"train-tokenizer", "--corpus", corpus, "--vocab-size", "abc", "--out", tmp("x")}), 2);
  ZS_CHECK_EQ(zs::test::runCli({"train-tokenizer", "--corpus", corpus, "--out", tmp("x")}), 2);
  ZS_CHECK_EQ(zs::test::runCli({"train-tokenizer", "--corpus", tmp("missing.txt"), "--vocab-size", "300", "--out", tmp("x")}), 3);
}

ZS_TEST(speedReport) {
  // Not a benchmark: a loose bound that catches an accidental quadratic update.
  const std::string text = makeCorpus(3'000'000, 8);
  const std::string corpus = tmp("speed.txt");
  writeFile(corpus, text);
  auto t0 = std::chrono::steady_clock::now();
  zs::BpeTrainer t;
  t.addCorpus(corpus);
  zs::BpeModel m = t.train(4096);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("trained %zu tokens on %.1f MB in %.2f s (count %.2f s, merges %.2f s)\n", m.tokens.size(), text.size() / 1e6,
              s, t.stats().countSeconds, t.stats().mergeSeconds);
  ZS_CHECK(s < 30.0);
}
