// GPT-2 byte-level BPE: vocab.json + merges.txt -> ids, identical to GPT-2's
// encoder.py / Hugging Face's GPT2Tokenizer (special tokens typed in the text
// are matched before pre-tokenization, as HF does for added tokens).
#include "core/base/input_file.h"
#include "core/base/json_util.h"
#include "core/text/tokenizer.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <queue>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/text/bytes_unicode.h"
#include "core/base/error.h"
#include "core/text/tokenizer_config.h"
#include "core/text/tokenizer_pretok.h"
#include "core/text/tokenizer_util.h"

namespace zs {
namespace {

constexpr int64_t kMaxVocabId = 10'000'000;  // guards against absurd allocations
constexpr size_t kMaxCachedPiece = 256;       // longer pieces are rare; not worth caching
constexpr size_t kMaxCacheEntries = 500'000;

uint64_t pairKey(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

class BpeTokenizer final : public Tokenizer {
 public:
  using Tokenizer::encode;
  BpeTokenizer(const std::string& vocabPath, const std::string& mergesPath) {
    loadVocab(vocabPath);
    loadMerges(mergesPath);
  }

  std::vector<int64_t> encode(const std::string& text, bool /*addSpecialTokens: GPT-2 adds nothing*/) const override {
    std::vector<int64_t> out;
    out.reserve(text.size() / 3 + 4);
    std::vector<int32_t> scratch;
    tokutil::splitOnSpecials(text, specials_, [&](std::string_view piece, int64_t specialId) {
      if (specialId >= 0) {
        out.push_back(specialId);
        return;
      }
      gpt2PreTokenizer().split(piece, [&](std::string_view word) { encodeWord(word, out, scratch); });
    });
    return out;
  }

  std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens) const override {
    std::string s;
    for (int64_t id : ids) {
      const std::string& b = bytesOf(id);
      if (!skipSpecialTokens || !isSpecial(id)) s += b;
    }
    return s;
  }

  std::string tokenString(int64_t id) const override { return bytesOf(id); }

  std::string displayString(int64_t id) const override {
    return tokutil::displayBytes(bytesOf(id));
  }

  int64_t vocabSize() const override { return int64_t(tokenBytes_.size()); }

  int64_t tokenToId(const std::string& token) const override {
    auto it = keyToId_.find(token);
    return it == keyToId_.end() ? -1 : it->second;
  }

  int64_t endOfTextId() const override { return eot_; }

  std::string idToToken(int64_t id) const override {
    return id >= 0 && id < int64_t(keys_.size()) ? keys_[size_t(id)] : std::string();
  }
  bool isSpecial(int64_t id) const override {
    for (const auto& sp : specials_)
      if (sp.second == id) return true;
    return false;
  }
  std::vector<int64_t> specialIds() const override {
    std::vector<int64_t> v;
    for (const auto& sp : specials_) v.push_back(sp.second);
    std::sort(v.begin(), v.end());
    return v;
  }
  // GPT-2 has no BOS of its own; <|endoftext|> serves as one (the model config may say otherwise).
  int64_t bosId() const override { return eot_; }
  int64_t eosId() const override { return eot_; }
  bool encodeAddsBos() const override { return false; }
  const TokenizerConfig& config() const override { return config_; }
  std::string format() const override { return "gpt2"; }

 private:
  const std::string& bytesOf(int64_t id) const {
    if (id < 0 || id >= int64_t(tokenBytes_.size()))
      throw InputError("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                       std::to_string(tokenBytes_.size()) + ")");
    return tokenBytes_[size_t(id)];
  }

  void loadVocab(const std::string& path) {
    const nlohmann::json j = parseJson(readInputFile(path, InputKind::Tokenizer, " (vocabulary file)"), path, "vocabulary");
    if (!j.is_object() || j.empty())
      throw InputError(path, "expected a non-empty JSON object mapping tokens to ids");
    int64_t maxId = -1;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!it.value().is_number_integer())
        throw InputError(path, "id of token " + nlohmann::json(it.key()).dump() + " is not an integer");
      int64_t id = it.value().get<int64_t>();
      if (id < 0 || id > kMaxVocabId)
        throw InputError(path, "token id " + std::to_string(id) + " is out of range");
      maxId = std::max(maxId, id);
    }
    tokenBytes_.assign(size_t(maxId + 1), std::string());
    keys_.assign(size_t(maxId + 1), std::string());
    byteId_.fill(-1);
    std::string raw;
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& key = it.key();
      int64_t id = it.value().get<int64_t>();
      keyToId_.emplace(key, id);
      keys_[size_t(id)] = key;
      if (tokutil::isSpecialTokenKey(key)) {
        // Special tokens are literal text, not byte-level symbols.
        specials_.emplace_back(key, id);
        tokenBytes_[size_t(id)] = key;
        if (key == "<|endoftext|>") eot_ = id;
        continue;
      }
      if (bytelevel::unicodeToBytes(key, raw)) {
        tokenBytes_[size_t(id)] = raw;
        if (raw.size() == 1) byteId_[static_cast<unsigned char>(raw[0])] = int32_t(id);
      } else {
        tokenBytes_[size_t(id)] = key;  // not a byte-level entry; decode it literally
      }
    }
    // Longest first so that a special token containing another one wins.
    std::sort(specials_.begin(), specials_.end(), [](const auto& a, const auto& b) {
      return a.first.size() != b.first.size() ? a.first.size() > b.first.size() : a.first < b.first;
    });
  }

  void loadMerges(const std::string& path) {
    std::istringstream f(readInputFile(path, InputKind::Tokenizer, " (merges file)"));
    std::string line;
    int lineNo = 0;
    int32_t rank = 0;
    while (std::getline(f, line)) {
      ++lineNo;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (lineNo == 1 && line.rfind("#version", 0) == 0) continue;
      if (line.empty()) continue;
      size_t sp = line.find(' ');
      if (sp == std::string::npos || sp == 0 || line.find(' ', sp + 1) != std::string::npos ||
          sp + 1 == line.size())
        throw InputError(path, "line " + std::to_string(lineNo) + ": expected two tokens separated by one space");
      std::string a = line.substr(0, sp), b = line.substr(sp + 1);
      int64_t ia = tokenToId(a), ib = tokenToId(b), im = tokenToId(a + b);
      if (ia < 0 || ib < 0 || im < 0)
        throw InputError(path, "line " + std::to_string(lineNo) + ": merge '" + line +
                                   "' uses a token that is not in vocab.json");
      merges_.emplace(pairKey(int32_t(ia), int32_t(ib)), std::make_pair(rank++, int32_t(im)));
    }
  }

  void encodeWord(std::string_view word, std::vector<int64_t>& out, std::vector<int32_t>& syms) const {
    if (word.size() == 1) {
      int32_t id = byteId_[static_cast<unsigned char>(word[0])];
      if (id >= 0) out.push_back(id);
      return;
    }
    const bool cacheable = word.size() <= kMaxCachedPiece;
    std::string key;
    if (cacheable) {
      key.assign(word);
      std::lock_guard<std::mutex> lock(cacheMu_);
      auto it = cache_.find(key);
      if (it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    bpe(word, syms);
    out.insert(out.end(), syms.begin(), syms.end());
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cacheMu_);
      if (cache_.size() >= kMaxCacheEntries) cache_.clear();
      cache_.emplace(std::move(key), syms);
    }
  }

  // Applies merges by rank, leftmost first among equal ranks (what GPT-2's
  // "merge every occurrence of the best bigram" loop and HF's queue both do).
  // A doubly linked list plus a min-heap keeps long pieces O(n log n).
  void bpe(std::string_view word, std::vector<int32_t>& result) const {
    struct Sym { int32_t id; int32_t prev; int32_t next; };
    std::vector<Sym> s;
    s.reserve(word.size());
    for (unsigned char c : word) {
      int32_t id = byteId_[c];
      if (id < 0) continue;  // byte missing from the vocabulary: dropped, as HF does without unk
      int32_t i = int32_t(s.size());
      s.push_back({id, i - 1, -1});
      if (i > 0) s[size_t(i - 1)].next = i;
    }
    struct Cand { int32_t rank; int32_t pos; int32_t left; int32_t right; };
    auto worse = [](const Cand& a, const Cand& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
    std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> q(worse);
    auto consider = [&](int32_t pos) {
      int32_t nx = s[size_t(pos)].next;
      if (nx < 0) return;
      auto it = merges_.find(pairKey(s[size_t(pos)].id, s[size_t(nx)].id));
      if (it != merges_.end()) q.push({it->second.first, pos, s[size_t(pos)].id, s[size_t(nx)].id});
    };
    for (int32_t i = 0; i + 1 < int32_t(s.size()); ++i) consider(i);
    while (!q.empty()) {
      Cand c = q.top();
      q.pop();
      Sym& l = s[size_t(c.pos)];
      if (l.id < 0 || l.id != c.left || l.next < 0) continue;  // stale entry
      Sym& r = s[size_t(l.next)];
      if (r.id != c.right) continue;
      l.id = merges_.at(pairKey(c.left, c.right)).second;
      r.id = -1;  // removed
      l.next = r.next;
      if (r.next >= 0) s[size_t(r.next)].prev = c.pos;
      if (l.prev >= 0) consider(l.prev);
      consider(c.pos);
    }
    result.clear();
    for (int32_t i = s.empty() ? -1 : 0; i >= 0; i = s[size_t(i)].next) result.push_back(s[size_t(i)].id);
  }

  std::vector<std::string> tokenBytes_;  // id -> raw bytes
  std::vector<std::string> keys_;        // id -> vocab.json key
  TokenizerConfig config_;
  std::unordered_map<std::string, int64_t> keyToId_;
  std::array<int32_t, 256> byteId_{};
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left,right) -> (rank, merged id)
  std::vector<std::pair<std::string, int64_t>> specials_;
  int64_t eot_ = -1;
  mutable std::mutex cacheMu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& vocabJson, const std::string& mergesTxt) {
  return std::make_unique<BpeTokenizer>(vocabJson, mergesTxt);
}

std::unique_ptr<Tokenizer> Tokenizer::loadDir(const std::string& dir) { return loadTokenizerDir(dir); }

bool Tokenizer::isBlank(int64_t id) const {
  if (id < 0 || id >= vocabSize() || isSpecial(id)) return false;
  const std::string t = tokenString(id);
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  });
}

std::vector<uint8_t> Tokenizer::blankMask(const std::vector<int64_t>& ids) const {
  std::vector<uint8_t> m(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) m[i] = isBlank(ids[i]) ? 1 : 0;
  return m;
}

std::vector<int64_t> Tokenizer::encodeWithBos(const std::string& text) const {
  if (encodeAddsBos()) return encode(text, true);
  std::vector<int64_t> ids = encode(text, false);
  if (bosId() >= 0) ids.insert(ids.begin(), bosId());
  return ids;
}

}  // namespace zs
