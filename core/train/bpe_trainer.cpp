#include "core/train/bpe_trainer.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <queue>

#include <nlohmann/json.hpp>

#include "core/text/bytes_unicode.h"
#include "core/base/error.h"
#include "core/train/tokenizer_corpus.h"
#include "core/text/tokenizer_pretok.h"
#include "core/text/tokenizer_util.h"

namespace zs {
namespace {

const char* const kEot = "<|endoftext|>";

uint64_t pairKey(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
int32_t leftOf(uint64_t k) { return int32_t(k >> 32); }
int32_t rightOf(uint64_t k) { return int32_t(k & 0xFFFFFFFFu); }

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Entry {
  uint64_t count;
  uint64_t pair;
};

}  // namespace

void BpeTrainer::addText(std::string_view text) {
  static const std::vector<std::pair<std::string, int64_t>> specials = {{kEot, 0}};
  stats_.corpusBytes += text.size();
  // <|endoftext|> separates documents; it is a special token, not text to learn.
  tokutil::splitOnSpecials(text, specials, [&](std::string_view piece, int64_t special) {
    if (special >= 0) return;
    gpt2PreTokenizer().split(piece, [&](std::string_view w) {
      ++wordCounts_[std::string(w)];
      ++stats_.words;
    });
  });
}

void BpeTrainer::addCorpus(const std::string& path, const Progress& progress) {
  auto t0 = std::chrono::steady_clock::now();
  tokcorpus::forEachText(path, [&](std::string_view text) { addText(text); }, progress);
  stats_.countSeconds += secondsSince(t0);
}

BpeModel BpeTrainer::train(int64_t vocabSize, const Progress& progress) {
  if (vocabSize < 257)
    throw UsageError("vocabulary size must be at least 257 (256 bytes + <|endoftext|>), got " +
                     std::to_string(vocabSize));
  if (vocabSize > 1'000'000) throw UsageError("vocabulary size " + std::to_string(vocabSize) + " is too large");
  auto t0 = std::chrono::steady_clock::now();
  BpeModel model;
  std::unordered_map<std::string, int32_t> idOf;  // raw bytes -> id
  std::array<int32_t, 256> byteId{};
  for (uint8_t b : bytelevel::bytesInVocabOrder()) {
    byteId[b] = int32_t(model.tokens.size());
    idOf.emplace(std::string(1, char(b)), byteId[b]);
    model.tokens.emplace_back(1, char(b));
  }

  // Words in a deterministic order (sorted), as symbol sequences.
  std::vector<std::pair<std::string, uint64_t>> sorted(wordCounts_.begin(), wordCounts_.end());
  std::sort(sorted.begin(), sorted.end());
  stats_.uniqueWords = sorted.size();
  std::vector<std::vector<int32_t>> words(sorted.size());
  std::vector<uint64_t> freq(sorted.size());
  for (size_t w = 0; w < sorted.size(); ++w) {
    freq[w] = sorted[w].second;
    for (unsigned char c : sorted[w].first) words[w].push_back(byteId[c]);
  }
  sorted.clear();
  sorted.shrink_to_fit();

  // Pair counts over word frequencies, and for each pair the words holding it.
  std::unordered_map<uint64_t, uint64_t> count;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where;
  for (uint32_t w = 0; w < words.size(); ++w) {
    const auto& s = words[w];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      uint64_t k = pairKey(s[i], s[i + 1]);
      count[k] += freq[w];
      auto& list = where[k];
      if (list.empty() || list.back() != w) list.push_back(w);
    }
  }

  // Max-heap by count; ties: the lexicographically smaller (left, right) bytes first.
  const auto& tok = model.tokens;
  auto lower = [&tok](const Entry& x, const Entry& y) {
    if (x.count != y.count) return x.count < y.count;
    int c = tok[size_t(leftOf(x.pair))].compare(tok[size_t(leftOf(y.pair))]);
    if (c != 0) return c > 0;
    return tok[size_t(rightOf(x.pair))].compare(tok[size_t(rightOf(y.pair))]) > 0;
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(lower)> heap(lower);
  for (const auto& [k, c] : count)
    if (c > 0) heap.push({c, k});

  const size_t target = size_t(vocabSize) - 1;  // the last id is <|endoftext|>
  std::vector<int32_t> next;
  std::vector<uint64_t> fresh;
  while (model.tokens.size() < target && !heap.empty()) {
    Entry top = heap.top();
    heap.pop();
    auto cit = count.find(top.pair);
    uint64_t cur = cit == count.end() ? 0 : cit->second;
    // Counts only ever drop for existing pairs, so a stale entry is an upper
    // bound: re-queue it with its true count and look again.
    if (cur != top.count) {
      if (cur > 0) heap.push({cur, top.pair});
      continue;
    }
    const int32_t a = leftOf(top.pair), b = rightOf(top.pair);
    std::string merged = model.tokens[size_t(a)] + model.tokens[size_t(b)];
    int32_t id;
    auto found = idOf.find(merged);
    if (found != idOf.end()) {
      id = found->second;  // same bytes reached by another split: reuse the id, as HF does
    } else {
      id = int32_t(model.tokens.size());
      idOf.emplace(merged, id);
      model.tokens.push_back(std::move(merged));
    }
    model.merges.emplace_back(a, b);

    std::vector<uint32_t> affected = std::move(where[top.pair]);
    where.erase(top.pair);
    fresh.clear();
    for (uint32_t w : affected) {
      auto& s = words[w];
      bool has = false;
      for (size_t i = 0; i + 1 < s.size() && !has; ++i) has = s[i] == a && s[i + 1] == b;
      if (!has) continue;  // stale index entry
      const uint64_t f = freq[w];
      for (size_t i = 0; i + 1 < s.size(); ++i) count[pairKey(s[i], s[i + 1])] -= f;
      next.clear();
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          next.push_back(id);
          i += 2;
        } else {
          next.push_back(s[i++]);
        }
      }
      s.assign(next.begin(), next.end());
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        uint64_t k = pairKey(s[i], s[i + 1]);
        count[k] += f;
        if (s[i] == id || s[i + 1] == id) {
          auto& list = where[k];
          if (list.empty() || list.back() != w) list.push_back(w);
          fresh.push_back(k);
        }
      }
    }
    count.erase(top.pair);
    std::sort(fresh.begin(), fresh.end());
    fresh.erase(std::unique(fresh.begin(), fresh.end()), fresh.end());
    for (uint64_t k : fresh) heap.push({count[k], k});

    if ((model.merges.size() & 31) == 0) {
      if (progress.cancelled()) throw Cancelled();
      progress(double(model.tokens.size() + 1), double(vocabSize), "learning merges");
    }
  }
  model.tokens.emplace_back(kEot);
  stats_.vocabSize = int64_t(model.tokens.size());
  stats_.merges = int64_t(model.merges.size());
  stats_.mergeSeconds = secondsSince(t0);
  progress(double(vocabSize), double(vocabSize), "learning merges");
  return model;
}

void BpeModel::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw InputError(dir, "cannot create output folder");
  auto key = [&](size_t id) {
    return id + 1 == tokens.size() ? tokens[id] : bytelevel::bytesToUnicode(tokens[id]);
  };
  std::string vocabPath = (fs::path(dir) / "vocab.json").string();
  std::ofstream v(vocabPath, std::ios::binary);
  if (!v) throw InputError(vocabPath, "cannot write");
  // Written by hand so that keys appear in id order, as in GPT-2's file.
  v << "{";
  for (size_t id = 0; id < tokens.size(); ++id)
    v << (id ? ", " : "") << nlohmann::json(key(id)).dump() << ": " << id;
  v << "}\n";
  if (!v) throw InputError(vocabPath, "write failed");

  std::string mergesPath = (fs::path(dir) / "merges.txt").string();
  std::ofstream m(mergesPath, std::ios::binary);
  if (!m) throw InputError(mergesPath, "cannot write");
  m << "#version: 0.2\n";
  for (const auto& [a, b] : merges) m << key(size_t(a)) << ' ' << key(size_t(b)) << '\n';
  if (!m) throw InputError(mergesPath, "write failed");
}

BpeTrainStats trainBpeTokenizer(const std::string& corpusPath, int64_t vocabSize, const std::string& outDir,
                                const Progress& progress) {
  if (vocabSize < 257)
    throw UsageError("vocabulary size must be at least 257 (256 bytes + <|endoftext|>), got " +
                     std::to_string(vocabSize));
  BpeTrainer trainer;
  trainer.addCorpus(corpusPath, progress);
  if (trainer.stats().words == 0) throw InputError(corpusPath, "corpus contains no text");
  BpeModel model = trainer.train(vocabSize, progress);
  model.save(outDir);
  return trainer.stats();
}

}  // namespace zs
