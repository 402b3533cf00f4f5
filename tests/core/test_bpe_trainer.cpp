// BPE trainer: hand-checked first merges and tie-breaking, exact vocabulary
// size, byte-identical reruns, lossless round trips with the trained
// tokenizer, corpus formats (text, chunked large text, JSONL, folder), errors,
// cancellation and the `train-tokenizer` CLI command.
#include <atomic>
#include <chrono>
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
#include "testutil.h"

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

class TestBpeTrainer : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void handCheckedFirstMerges() {
    // Words "abababab" and " cdcd". Pair counts: ab 4, ba 3, cd 2, " c" 1, dc 1.
    // 1) a+b (4) -> [ab ab ab ab]; 2) ab+ab (3) -> [abab abab]; 3) c+d (2);
    // 4) ties at 1: (" ", cd) < (abab, abab) < (cd, cd) by bytes -> " "+cd.
    zs::BpeTrainer t;
    t.addText("abababab cdcd");
    zs::BpeModel m = t.train(261);
    const std::string dir = tmp("hand");
    m.save(dir);
    QCOMPARE(mergeLines(dir), (std::vector<std::string>{"#version: 0.2", "a b", "ab ab", "c d", "\u0120 cd"}));
    auto tok = zs::Tokenizer::loadDir(dir);
    QCOMPARE(tok->vocabSize(), int64_t(261));
    QCOMPARE(tok->tokenToId("ab"), int64_t(256));
    QCOMPARE(tok->tokenToId("abab"), int64_t(257));
    QCOMPARE(tok->tokenToId("cd"), int64_t(258));
    QCOMPARE(tok->tokenToId("\u0120cd"), int64_t(259));
    QCOMPARE(tok->endOfTextId(), int64_t(260));
    QCOMPARE(tok->encode("abababab cdcd"), (std::vector<int64_t>{257, 257, 259, 258}));
    // The first 256 ids are GPT-2's byte order: '!' is 0, 'a' is 64.
    QCOMPARE(tok->tokenToId("!"), int64_t(0));
    QCOMPARE(tok->tokenToId("a"), int64_t(64));
  }

  void tiesBrokenByPairBytes() {
    // "xy" and " ab" once each: every pair has count 1; (" ", a) sorts first,
    // then (" a", b) (" a" < "x"), then (x, y).
    zs::BpeTrainer t;
    t.addText("xy ab");
    zs::BpeModel m = t.train(260);
    const std::string dir = tmp("ties");
    m.save(dir);
    QCOMPARE(mergeLines(dir), (std::vector<std::string>{"#version: 0.2", "\u0120 a", "\u0120a b", "x y"}));
    // Frequencies win over ties: "xy" three times now comes first.
    zs::BpeTrainer t2;
    t2.addText("xy xy xy ab");
    m = t2.train(258);
    m.save(dir);
    QCOMPARE(mergeLines(dir), (std::vector<std::string>{"#version: 0.2", "x y"}));
  }

  void vocabSizeIsExact() {
    zs::BpeTrainer t;
    t.addText(makeCorpus(300000, 1));
    for (int64_t n : {257, 300, 1000}) {
      zs::BpeModel m = t.train(n);
      const std::string dir = tmp("size" + std::to_string(n));
      m.save(dir);
      auto tok = zs::Tokenizer::loadDir(dir);
      QCOMPARE(tok->vocabSize(), n);
      QCOMPARE(tok->endOfTextId(), n - 1);
      QCOMPARE(nlohmann::json::parse(readFile(dir + "/vocab.json")).size(), size_t(n));
      QCOMPARE(int64_t(mergeLines(dir).size()) - 1, int64_t(m.merges.size()));
      QCOMPARE(tok->encode("<|endoftext|>"), (std::vector<int64_t>{n - 1}));
    }
    QVERIFY_THROWS_EXCEPTION(zs::UsageError, t.train(256));
  }

  void deterministicFiles() {
    const std::string corpus = tmp("det.txt");
    writeFile(corpus, makeCorpus(400000, 2));
    zs::trainBpeTokenizer(corpus, 800, tmp("det1"));
    zs::trainBpeTokenizer(corpus, 800, tmp("det2"));
    QCOMPARE(readFile(tmp("det1") + "/vocab.json"), readFile(tmp("det2") + "/vocab.json"));
    QCOMPARE(readFile(tmp("det1") + "/merges.txt"), readFile(tmp("det2") + "/merges.txt"));
    QVERIFY(readFile(tmp("det1") + "/merges.txt").size() > 1000);
  }

  void roundTripsWithTrainedTokenizer() {
    const std::string text = makeCorpus(300000, 3);
    zs::BpeTrainer t;
    t.addText(text);
    t.train(600).save(tmp("rt"));
    auto tok = zs::Tokenizer::loadDir(tmp("rt"));
    auto ids = tok->encode(text);
    QCOMPARE(tok->decode(ids), text);
    // BPE compresses its own training text (byte-level would be 1 byte/token).
    QVERIFY2(double(text.size()) / double(ids.size()) > 2.5, "expected > 2.5 bytes per token");
    const std::vector<std::string> unseen = {
        "", "Zebra quokka \u4E2D\u6587 \U0001F468\u200D\U0001F469\u200D\U0001F467 \U0001F44B\U0001F3FD",
        "e\u0301\u0302 \u00A0\u3000\u2009 \r\n\t end", "<|endoftext|> in the middle <|endoftext|>",
        std::string("\xFF\xFE raw \xC3", 10)};
    for (const auto& u : unseen) QCOMPARE(tok->decode(tok->encode(u)), u);
  }

  void endOfTextIsNotLearned() {
    std::string text;
    for (int i = 0; i < 200; ++i) text += "doc number " + std::to_string(i) + "<|endoftext|>";
    zs::BpeTrainer t;
    t.addText(text);
    zs::BpeModel m = t.train(400);
    for (size_t i = 0; i + 1 < m.tokens.size(); ++i)
      QVERIFY2(m.tokens[i].find("<|") == std::string::npos && m.tokens[i].find("endof") == std::string::npos,
               m.tokens[i].c_str());
    QCOMPARE(m.tokens.back(), std::string("<|endoftext|>"));
  }

  void largeFileIsChunkedLosslessly() {
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
    QCOMPARE(streamed.stats().words, whole.stats().words);
    QCOMPARE(streamed.stats().corpusBytes, uint64_t(text.size()));
    QVERIFY(seen.size() >= 3);
    QCOMPARE(seen.back(), double(text.size()));
    zs::BpeModel a = whole.train(500), b = streamed.train(500);
    QCOMPARE(a.tokens, b.tokens);
    QCOMPARE(a.merges, b.merges);
  }

  void jsonlAndFolderCorpora() {
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
    QCOMPARE(fromJsonl.stats().words, direct.stats().words);
    QCOMPARE(fromJsonl.train(400).merges, direct.train(400).merges);

    // A folder: .txt and .jsonl files below it (sorted); other files ignored.
    writeFile(tmp("folder/a.txt"), docs[0]);
    writeFile(tmp("folder/sub/b.jsonl"), nlohmann::json{{"text", docs[1]}}.dump() + "\n");
    writeFile(tmp("folder/notes.md"), "ignored ignored ignored");
    writeFile(tmp("folder/.hidden/c.txt"), "ignored too");
    zs::BpeTrainer fromFolder, expect;
    fromFolder.addCorpus(tmp("folder"));
    expect.addText(docs[0]);
    expect.addText(docs[1]);
    QCOMPARE(fromFolder.stats().words, expect.stats().words);
    QCOMPARE(fromFolder.train(300).merges, expect.train(300).merges);
  }

  void badCorporaAreInputErrors() {
    zs::BpeTrainer t;
    QVERIFY_THROWS_EXCEPTION(zs::InputError, t.addCorpus(tmp("does-not-exist.txt")));
    fs::create_directories(tmp("empty-folder"));
    QVERIFY_THROWS_EXCEPTION(zs::InputError, t.addCorpus(tmp("empty-folder")));
    writeFile(tmp("bad.jsonl"), "{\"text\": \"ok\"}\n{\"text\": \n");
    try {
      t.addCorpus(tmp("bad.jsonl"));
      QFAIL("expected InputError");
    } catch (const zs::InputError& e) {
      QVERIFY2(std::string(e.what()).find("line 2") != std::string::npos, e.what());
    }
    writeFile(tmp("notext.jsonl"), "{\"body\": \"x\"}\n");
    QVERIFY_THROWS_EXCEPTION(zs::InputError, t.addCorpus(tmp("notext.jsonl")));
    writeFile(tmp("empty.txt"), "");
    QVERIFY_THROWS_EXCEPTION(zs::InputError, zs::trainBpeTokenizer(tmp("empty.txt"), 300, tmp("o")));
  }

  void cancellation() {
    std::atomic<bool> stop{true};
    zs::Progress p;
    p.cancel = &stop;
    writeFile(tmp("cancel.txt"), makeCorpus(100000, 6));
    zs::BpeTrainer t;
    QVERIFY_THROWS_EXCEPTION(zs::Cancelled, t.addCorpus(tmp("cancel.txt"), p));
    zs::BpeTrainer t2;
    t2.addText(makeCorpus(100000, 6));
    QVERIFY_THROWS_EXCEPTION(zs::Cancelled, t2.train(1000, p));
  }

  void cliTrainTokenizer() {
    const std::string corpus = tmp("cli.txt");
    writeFile(corpus, makeCorpus(200000, 7));
    std::string out;
    QCOMPARE(zs::test::runCli({"train-tokenizer", "--corpus", corpus, "--vocab-size", "512", "--out", tmp("cliout"), "--json"},
                    &out),
             0);
    auto j = nlohmann::json::parse(out);
    QCOMPARE(j["vocab_size"].get<int64_t>(), int64_t(512));
    QCOMPARE(j["end_of_text_id"].get<int64_t>(), int64_t(511));
    QCOMPARE(zs::Tokenizer::loadDir(tmp("cliout"))->vocabSize(), int64_t(512));
    QCOMPARE(zs::test::runCli({"train-tokenizer", "--corpus", corpus, "--vocab-size", "100", "--out", tmp("x")}), 2);
    QCOMPARE(zs::test::runCli({"train-tokenizer", "--corpus", corpus, "--vocab-size", "abc", "--out", tmp("x")}), 2);
    QCOMPARE(zs::test::runCli({"train-tokenizer", "--corpus", corpus, "--out", tmp("x")}), 2);
    QCOMPARE(zs::test::runCli({"train-tokenizer", "--corpus", tmp("missing.txt"), "--vocab-size", "300", "--out", tmp("x")}), 3);
  }

  void speedReport() {
    // Not a benchmark: a loose bound that catches an accidental quadratic update.
    const std::string text = makeCorpus(3'000'000, 8);
    const std::string corpus = tmp("speed.txt");
    writeFile(corpus, text);
    auto t0 = std::chrono::steady_clock::now();
    zs::BpeTrainer t;
    t.addCorpus(corpus);
    zs::BpeModel m = t.train(4096);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    qInfo("trained %zu tokens on %.1f MB in %.2f s (count %.2f s, merges %.2f s)", m.tokens.size(), text.size() / 1e6,
          s, t.stats().countSeconds, t.stats().mergeSeconds);
    QVERIFY(s < 30.0);
  }
};

QTEST_MAIN(TestBpeTrainer)
#include "test_bpe_trainer.moc"
