// Corpus streaming and windowing (core/corpus.h): every format, BOS prepended,
// packing vs per-document windows, looping, resume by skipping, bad input.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/data/corpus.h"
#include "core/base/error.h"
#include "core/text/tokenizer.h"
#include "tests/support/check.h"

using namespace zs;
namespace fs = std::filesystem;

namespace {

void writeFile(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

void writeU16(const std::string& path, const std::vector<int64_t>& ids) {
  std::string b;
  for (auto v : ids) {
    b += char(v & 255);
    b += char((v >> 8) & 255);
  }
  writeFile(path, b);
}

std::vector<std::vector<int64_t>> allWindows(TokenWindows& w, int64_t max = 1000) {
  std::vector<std::vector<int64_t>> out;
  std::vector<int64_t> x;
  while (static_cast<int64_t>(out.size()) < max && w.next(x)) out.push_back(x);
  return out;
}

}  // namespace

ZS_TEST(binPackedWindows) {
  std::string p = test::tempDir() + "/ids.bin";
  // Two documents separated by 0 (the end-of-text id): 1..10, 0, 11..15.
  std::vector<int64_t> ids;
  for (int i = 1; i <= 10; ++i) ids.push_back(i);
  ids.push_back(0);
  for (int i = 11; i <= 15; ++i) ids.push_back(i);
  writeU16(p, ids);
  WindowOptions o;
  o.context = 5;
  o.bosId = 0;
  auto w = TokenWindows::open(p, nullptr, o);
  auto ws = allWindows(*w);
  // Packed stream: 1..10, 0, 11..15 (16 tokens) -> 4 windows of 1 BOS + 4 tokens.
  ZS_CHECK_EQ(ws.size(), size_t(4));
  ZS_CHECK_EQ(ws[0], (std::vector<int64_t>{0, 1, 2, 3, 4}));
  ZS_CHECK_EQ(ws[2], (std::vector<int64_t>{0, 9, 10, 0, 11}));
  ZS_CHECK_EQ(ws[3], (std::vector<int64_t>{0, 12, 13, 14, 15}));
  // Per document: 1..10 -> [1..4], [5..8], [9,10]; 11..15 -> [11..14], [15].
  o.pack = false;
  auto wd = allWindows(*TokenWindows::open(p, nullptr, o));
  ZS_CHECK_EQ(wd.size(), size_t(5));
  ZS_CHECK_EQ(wd[2], (std::vector<int64_t>{0, 9, 10}));
  ZS_CHECK_EQ(wd[4], (std::vector<int64_t>{0, 15}));
  // Looping restarts at the first document; skip() resumes mid-stream.
  o.pack = true;
  o.loop = true;
  auto wl = TokenWindows::open(p, nullptr, o);
  auto many = allWindows(*wl, 9);
  ZS_CHECK_EQ(many.size(), size_t(9));
  ZS_CHECK(wl->passes() >= 1);
  auto ws2 = TokenWindows::open(p, nullptr, o);
  ZS_CHECK_EQ(ws2->skip(3), int64_t(3));
  std::vector<int64_t> x;
  ZS_CHECK(ws2->next(x));
  ZS_CHECK_EQ(x, many[3]);
  // Out-of-vocabulary ids are refused.
  o.loop = false;
  o.vocabSize = 12;
  ZS_CHECK_THROWS(allWindows(*TokenWindows::open(p, nullptr, o)), InputError);
}

ZS_TEST(bin32AndTruncation) {
  std::string p = test::tempDir() + "/ids.u32.bin";
  std::string b;
  for (uint32_t v : {70000u, 5u, 6u, 70001u}) for (int k = 0; k < 4; ++k) b += char((v >> (8 * k)) & 255);
  writeFile(p, b);
  ZS_CHECK_EQ(DocumentReader::detectFormat(p), std::string("bin32"));
  WindowOptions o;
  o.context = 3;
  o.bosId = 1;
  auto ws = allWindows(*TokenWindows::open(p, nullptr, o));
  ZS_CHECK_EQ(ws.size(), size_t(2));
  ZS_CHECK_EQ(ws[0], (std::vector<int64_t>{1, 70000, 5}));
  ZS_CHECK_EQ(ws[1], (std::vector<int64_t>{1, 6, 70001}));
  writeFile(test::tempDir() + "/odd.bin", std::string(5, 'x'));
  ZS_CHECK_THROWS(DocumentReader::open(test::tempDir() + "/odd.bin"), InputError);
  ZS_CHECK_THROWS(DocumentReader::open(test::tempDir() + "/missing.txt"), InputError);
}

ZS_TEST(textJsonlFolder) {
  ZS_REQUIRE_SHARED(shared);
  auto tok = Tokenizer::loadDir(shared + "/testdata/gpt2-tokenizer");
  const int64_t eot = tok->endOfTextId();
  std::string dir = test::tempDir() + "/texts";
  fs::create_directories(dir + "/sub");
  fs::create_directories(dir + "/.git");
  writeFile(dir + "/a.txt", "Hello world.<|endoftext|>Second document here.");
  writeFile(dir + "/sub/b.md", "Third one.");
  writeFile(dir + "/.git/HEAD", "ignored");
  writeFile(test::tempDir() + "/c.jsonl", "{\"text\": \"Hello world.\"}\n\n{\"text\": \"Second document here.\"}\n");
  // Document level: the separator splits a.txt; hidden folders are skipped.
  auto r = DocumentReader::open(dir);
  Document d;
  std::vector<std::string> texts;
  while (r->next(d)) texts.push_back(d.text);
  ZS_CHECK_EQ(texts, (std::vector<std::string>{"Hello world.", "Second document here.", "Third one."}));
  auto j = DocumentReader::open(test::tempDir() + "/c.jsonl");
  texts.clear();
  while (j->next(d)) texts.push_back(d.text);
  ZS_CHECK_EQ(texts, (std::vector<std::string>{"Hello world.", "Second document here."}));
  // Packed windows equal BOS + the concatenated token stream.
  WindowOptions o;
  o.context = 4;
  o.bosId = eot;
  auto stream = tok->encode("Hello world.");
  stream.push_back(eot);
  auto s2 = tok->encode("Second document here.");
  stream.insert(stream.end(), s2.begin(), s2.end());
  auto ws = allWindows(*TokenWindows::open(test::tempDir() + "/c.jsonl", tok.get(), o));
  ZS_CHECK_EQ(ws.size(), stream.size() / 3);
  for (size_t i = 0; i < ws.size(); ++i) {
    ZS_CHECK_EQ(ws[i][0], eot);
    ZS_CHECK_EQ(std::vector<int64_t>(ws[i].begin() + 1, ws[i].end()),
             std::vector<int64_t>(stream.begin() + 3 * i, stream.begin() + 3 * i + 3));
  }
  writeFile(test::tempDir() + "/bad.jsonl", "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
  auto bad = DocumentReader::open(test::tempDir() + "/bad.jsonl");
  ZS_CHECK(bad->next(d));
  try {
    bad->next(d);
    ZS_FAIL("accepted a line without text");
  } catch (const InputError& e) {
    ZS_CHECK_MSG(std::string(e.what()).find("line 2") != std::string::npos, e.what());
  }
}

ZS_TEST(longTextIsStreamedInPieces) {
  // 3 MB without separators: streamed in pieces that continue one document,
  // so per-document windows never restart in the middle.
  std::string p = test::tempDir() + "/long.txt";
  std::string line = "abcdefghij klmnopqrstuvwxyz 0123456789\n";
  std::string text;
  while (text.size() < 3u << 20) text += line;
  writeFile(p, text);
  auto r = DocumentReader::open(p);
  Document d;
  std::string joined;
  int pieces = 0;
  while (r->next(d)) {
    ZS_CHECK_EQ(d.continues, pieces > 0);
    joined += d.text;
    ++pieces;
  }
  ZS_CHECK(pieces >= 3);
  ZS_CHECK(joined == text);
}

// openShuffled: every document exactly once per pass, in a seeded order that
// changes from pass to pass; the same documents as the sequential reader.
ZS_TEST(shuffledReaderServesEveryDocumentOnce) {
  const std::string dir = test::tempDir() + "/shuf";
  fs::create_directories(dir + "/folder/sub");
  std::string txt, jsonl;
  std::vector<std::string> docs;
  for (int i = 0; i < 60; ++i) docs.push_back("document number " + std::to_string(i) + "\nwith two lines");
  for (size_t i = 0; i < docs.size(); ++i) {
    txt += docs[i] + (i + 1 < docs.size() ? "<|endoftext|>" : "");
    jsonl += "{\"text\": \"" + std::to_string(i) + "\"}\n" + (i % 7 == 0 ? "  \n" : "");
  }
  writeFile(dir + "/a.txt", txt);
  writeFile(dir + "/a.jsonl", jsonl);
  writeFile(dir + "/folder/x.txt", "one<|endoftext|>two");
  writeFile(dir + "/folder/sub/y.txt", "three");
  auto texts = [](DocumentReader& r) {
    std::vector<std::string> v;
    Document d;
    while (r.next(d)) v.push_back(d.text);
    return v;
  };
  for (const std::string& path : {dir + "/a.txt", dir + "/a.jsonl", dir + "/folder"}) {
    auto seq = DocumentReader::open(path);
    auto a = DocumentReader::openShuffled(path, "auto", -1, 7);
    auto b = DocumentReader::openShuffled(path, "auto", -1, 7);
    auto c = DocumentReader::openShuffled(path, "auto", -1, 8);
    const auto s = texts(*seq), x = texts(*a), y = texts(*b), z = texts(*c);
    ZS_CHECK_EQ(x, y);  // seeded
    auto sorted = [](std::vector<std::string> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    ZS_CHECK_EQ(sorted(x), sorted(s));
    ZS_CHECK_EQ(sorted(z), sorted(s));
    if (s.size() > 10) {
      ZS_CHECK(x != s);  // 60 documents: a random order is not the file order
      ZS_CHECK(x != z);
      a->rewind();  // the next pass: another order of the same documents
      const auto x2 = texts(*a);
      ZS_CHECK(x2 != x);
      ZS_CHECK_EQ(sorted(x2), sorted(s));
    }
  }
  // .bin with end-of-text ids between documents.
  std::vector<int64_t> ids;
  for (int i = 0; i < 40; ++i) {
    for (int k = 0; k <= i % 5; ++k) ids.push_back(100 + i);
    ids.push_back(9);
  }
  writeU16(dir + "/ids.bin", ids);
  auto seqBin = DocumentReader::open(dir + "/ids.bin", "auto", 9);
  auto shufBin = DocumentReader::openShuffled(dir + "/ids.bin", "auto", 9, 1);
  std::vector<std::vector<int64_t>> sb, hb;
  Document d;
  while (seqBin->next(d)) sb.push_back(d.ids);
  while (shufBin->next(d)) {
    ZS_CHECK(d.tokenized);
    hb.push_back(d.ids);
  }
  ZS_CHECK(sb != hb);
  std::sort(sb.begin(), sb.end());
  std::sort(hb.begin(), hb.end());
  ZS_CHECK_EQ(hb, sb);
  // A bad JSONL line is reported with its line number when it is read.
  writeFile(dir + "/bad.jsonl", "{\"text\": \"ok\"}\n\n{\"txt\": 1}\n");
  auto bad = DocumentReader::openShuffled(dir + "/bad.jsonl", "auto", -1, 0);
  try {
    while (bad->next(d)) {
    }
    ZS_FAIL("accepted a line without text");
  } catch (const InputError& e) {
    ZS_CHECK_MSG(std::string(e.what()).find("line 3") != std::string::npos, e.what());
  }
  writeFile(dir + "/odd.bin", "abc");
  ZS_CHECK_THROWS(DocumentReader::openShuffled(dir + "/odd.bin", "auto", 9, 0), InputError);
  ZS_CHECK_THROWS(DocumentReader::openShuffled(dir + "/missing.jsonl", "auto", -1, 0), InputError);
}

// A long document is shuffled in ~1 MB pieces cut at line ends; together they are the document.
ZS_TEST(shuffledLongTextPiecesCoverTheDocument) {
  std::string p = test::tempDir() + "/long-numbered.txt";
  std::string text;
  for (int i = 0; text.size() < 3u << 20; ++i) {
    char line[48];
    std::snprintf(line, sizeof line, "line %08d of a long document\n", i);
    text += line;
  }
  writeFile(p, text);
  auto r = DocumentReader::openShuffled(p, "text", -1, 3);
  Document d;
  std::vector<std::string> pieces;
  while (r->next(d)) {
    ZS_CHECK(!d.text.empty() && d.text.back() == '\n');
    pieces.push_back(d.text);
  }
  ZS_CHECK(pieces.size() >= 3);
  std::sort(pieces.begin(), pieces.end());  // numbered lines: sorting restores the file order
  std::string joined;
  for (const auto& s : pieces) joined += s;
  ZS_CHECK(joined == text);
}
