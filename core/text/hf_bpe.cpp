#include "core/text/hf_bpe.h"

#include <cstdio>
#include <queue>

#include "core/base/error.h"
#include "core/text/hf_json.h"
#include "core/text/unicode_text.h"

namespace zs::text {
namespace {

constexpr size_t kMaxCachedWord = 256;
constexpr size_t kMaxCacheEntries = 200'000;
constexpr int64_t kMaxId = 50'000'000;

constexpr uint64_t kEmpty = ~uint64_t(0);

uint64_t pairKey(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
uint64_t mix(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::optional<std::string> optString(const nlohmann::json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw InputError(std::string("BPE model: \"") + key + "\" must be a string or null");
  return it->get<std::string>();
}

bool optBool(const nlohmann::json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw InputError(std::string("BPE model: \"") + key + "\" must be true or false");
  return it->get<bool>();
}

}  // namespace

BpeModel::BpeModel(const nlohmann::json& m, HfJsonDoc& doc) {
  // Vocabulary.
  std::vector<std::pair<std::string, int64_t>> vocab;
  if (doc.hasVocab) {
    vocab.swap(doc.vocab);
  } else {
    auto it = m.find("vocab");
    if (it == m.end() || !it->is_object()) throw InputError("BPE model: \"vocab\" must be an object {token: id}");
    for (auto v = it->begin(); v != it->end(); ++v) {
      if (!v.value().is_number_integer()) throw InputError("BPE model: id of " + nlohmann::json(v.key()).dump() + " is not an integer");
      vocab.emplace_back(v.key(), v.value().get<int64_t>());
    }
  }
  int64_t maxId = -1;
  size_t bytes = 0;
  for (const auto& [tok, id] : vocab) {
    if (id < 0 || id > kMaxId) throw InputError("BPE model: token id " + std::to_string(id) + " is out of range");
    maxId = std::max(maxId, id);
    bytes += tok.size();
  }
  if (bytes > 0xFFFFFFF0u) throw InputError("BPE model: vocabulary too large");
  off_.assign(size_t(maxId + 1), 0);
  len_.assign(size_t(maxId + 1), -1);
  arena_.reserve(bytes);
  size_t cap = 16;
  while (cap < vocab.size() * 2) cap <<= 1;
  slots_.assign(cap, kEmpty);
  bmpChar_.assign(0x10000, -1);
  for (const auto& [tok, id] : vocab) {
    if (len_[size_t(id)] >= 0) throw InputError("BPE model: id " + std::to_string(id) + " is used twice in the vocabulary");
    const uint64_t full = std::hash<std::string_view>()(tok);
    const uint64_t tag = full & 0xFFFFFFFF00000000ULL;
    size_t h = size_t(full) & (cap - 1);
    bool dup = false;
    for (; slots_[h] != kEmpty; h = (h + 1) & (cap - 1))
      if ((slots_[h] & 0xFFFFFFFF00000000ULL) == tag && idToToken(int32_t(uint32_t(slots_[h]))) == tok) {
        dup = true;
        break;
      }
    if (dup) continue;  // a repeated key keeps its first id
    off_[size_t(id)] = uint32_t(arena_.size());
    len_[size_t(id)] = int32_t(tok.size());
    arena_ += tok;
    slots_[h] = tag | uint32_t(id);
    size_t i = 0;
    if (!tok.empty()) {
      uint32_t cp = nextCodePoint(tok, i);
      if (i == tok.size()) {
        if (cp < 0x10000) bmpChar_[cp] = int32_t(id);
        else astralChar_.emplace(cp, int32_t(id));
      }
    }
  }
  vocab.clear();
  vocab.shrink_to_fit();

  unk_ = optString(m, "unk_token");
  prefix_ = optString(m, "continuing_subword_prefix");
  suffix_ = optString(m, "end_of_word_suffix");
  fuseUnk_ = optBool(m, "fuse_unk");
  byteFallback_ = optBool(m, "byte_fallback");
  ignoreMerges_ = optBool(m, "ignore_merges");
  if (unk_) {
    unkId_ = lookup(*unk_);
    if (unkId_ < 0) throw InputError("BPE model: unk_token " + nlohmann::json(*unk_).dump() + " is not in the vocabulary");
  }
  allBytes_ = true;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byteIds_[b] = lookup(name);
    if (byteIds_[b] < 0) allBytes_ = false;
  }

  // Merges.
  std::vector<std::pair<std::string, std::string>> merges;
  if (doc.hasMerges) {
    merges.swap(doc.merges);
  } else if (m.contains("merges") && !m["merges"].is_null()) {
    const auto& list = m["merges"];
    if (!list.is_array()) throw InputError("BPE model: \"merges\" must be an array");
    for (const auto& x : list) {
      if (x.is_string()) {
        std::string s = x.get<std::string>();
        size_t sp = s.find(' ');
        if (sp == std::string::npos) throw InputError("BPE model: merge " + x.dump() + " is not two tokens separated by a space");
        merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (x.is_array() && x.size() == 2 && x[0].is_string() && x[1].is_string()) {
        merges.emplace_back(x[0].get<std::string>(), x[1].get<std::string>());
      } else {
        throw InputError("BPE model: merge " + x.dump() + " must be \"a b\" or [\"a\", \"b\"]");
      }
    }
  }
  const size_t prefixLen = prefix_ ? prefix_->size() : 0;
  size_t mcap = 16;
  while (mcap < merges.size() * 2) mcap <<= 1;
  mergeKeys_.assign(mcap, kEmpty);
  mergeVals_.assign(mcap, {0, 0});
  std::string merged;
  int32_t rank = 0;
  for (const auto& [a, b] : merges) {
    int32_t ia = lookup(a), ib = lookup(b);
    if (ia < 0 || ib < 0)
      throw InputError("BPE model: merge " + nlohmann::json(a).dump() + " + " + nlohmann::json(b).dump() + " (rank " +
                       std::to_string(rank) + ") names a token that is not in the vocabulary: " +
                       nlohmann::json(ia < 0 ? a : b).dump());
    merged.assign(a);
    if (b.size() >= prefixLen) merged.append(b, prefixLen, std::string::npos);
    int32_t im = lookup(merged);
    if (im < 0)
      throw InputError("BPE model: the result of merge " + nlohmann::json(a).dump() + " + " + nlohmann::json(b).dump() +
                       " (" + nlohmann::json(merged).dump() + ") is not in the vocabulary");
    const uint64_t key = pairKey(ia, ib);
    size_t h = mix(key) & (mcap - 1);
    while (mergeKeys_[h] != kEmpty && mergeKeys_[h] != key) h = (h + 1) & (mcap - 1);
    if (mergeKeys_[h] == kEmpty) ++mergeCount_;
    mergeKeys_[h] = key;
    mergeVals_[h] = {rank, im};  // a repeated pair keeps its last rank, as in Rust
    ++rank;
  }
}

std::string_view BpeModel::idToToken(int64_t id) const {
  return std::string_view(arena_).substr(off_[size_t(id)], size_t(len_[size_t(id)]));
}

int32_t BpeModel::lookup(std::string_view s) const {
  const size_t mask = slots_.size() - 1;
  const uint64_t full = std::hash<std::string_view>()(s);
  const uint64_t tag = full & 0xFFFFFFFF00000000ULL;
  for (size_t h = size_t(full) & mask; slots_[h] != kEmpty; h = (h + 1) & mask) {
    if ((slots_[h] & 0xFFFFFFFF00000000ULL) != tag) continue;
    const int32_t id = int32_t(uint32_t(slots_[h]));
    if (idToToken(id) == s) return id;
  }
  return -1;
}

int32_t BpeModel::charId(uint32_t cp) const {
  if (cp < 0x10000) return bmpChar_[cp];
  auto it = astralChar_.find(cp);
  return it == astralChar_.end() ? -1 : it->second;
}

const std::pair<int32_t, int32_t>* BpeModel::findMerge(int32_t a, int32_t b) const {
  const uint64_t key = pairKey(a, b);
  const size_t mask = mergeKeys_.size() - 1;
  for (size_t h = mix(key) & mask; mergeKeys_[h] != kEmpty; h = (h + 1) & mask)
    if (mergeKeys_[h] == key) return &mergeVals_[h];
  return nullptr;
}

void BpeModel::tokenize(const std::string& word, std::vector<int64_t>& out) const {
  if (word.empty()) return;
  if (ignoreMerges_) {
    int32_t id = lookup(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWord;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cacheMu_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  mergeWord(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cacheMu_);
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_.emplace(word, std::move(ids));
  }
}

void BpeModel::mergeWord(const std::string& w, std::vector<int32_t>& result) const {
  struct Sym { int32_t id; int32_t prev; int32_t next; int32_t len; };
  std::vector<Sym> s;
  s.reserve(w.size());
  auto add = [&](int32_t id, int32_t len) {
    int32_t i = int32_t(s.size());
    s.push_back({id, i - 1, -1, len});
    if (i > 0) s[size_t(i - 1)].next = i;
  };
  const bool plain = (!prefix_ || prefix_->empty()) && (!suffix_ || suffix_->empty());
  std::optional<std::pair<int32_t, int32_t>> unk;  // (id, byte length) waiting to be added
  std::string piece;
  for (size_t i = 0; i < w.size();) {
    const size_t b = i;
    uint32_t cp = nextCodePoint(w, i);
    const int32_t byteLen = int32_t(i - b);
    int32_t id = -1;
    if (plain) {
      id = charId(cp);
      if (id < 0) piece.assign(w, b, i - b);
    } else {
      piece.clear();
      if (b != 0 && prefix_) piece += *prefix_;
      piece.append(w, b, i - b);
      if (i == w.size() && suffix_) piece += *suffix_;
      id = lookup(piece);
    }
    if (id >= 0) {
      if (unk) {
        add(unk->first, unk->second);
        unk.reset();
      }
      add(id, byteLen);
      continue;
    }
    if (byteFallback_) {
      bool all = true;
      for (unsigned char c : piece)
        if (byteIds_[c] < 0) all = false;
      if (all) {
        for (unsigned char c : piece) add(byteIds_[c], 1);
        continue;
      }
    }
    if (unk_) {
      if (unk && fuseUnk_) {
        unk->second += byteLen;
      } else {
        if (unk) add(unk->first, unk->second);
        unk = std::make_pair(unkId_, byteLen);
      }
    }
  }
  if (unk) add(unk->first, unk->second);

  struct Merge { int32_t rank; int32_t pos; int32_t newId; };
  auto worse = [](const Merge& a, const Merge& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
  std::priority_queue<Merge, std::vector<Merge>, decltype(worse)> q(worse);
  auto find = [&](int32_t a, int32_t b) { return findMerge(a, b); };
  for (int32_t i = 0; i + 1 < int32_t(s.size()); ++i)
    if (auto m = find(s[size_t(i)].id, s[size_t(i + 1)].id)) q.push({m->first, i, m->second});
  while (!q.empty()) {
    Merge top = q.top();
    q.pop();
    Sym& cur = s[size_t(top.pos)];
    if (cur.len == 0 || cur.next < 0) continue;
    Sym right = s[size_t(cur.next)];
    auto m = find(cur.id, right.id);
    if (!m || m->second != top.newId) continue;  // expired entry
    cur.id = top.newId;
    cur.len += right.len;
    s[size_t(cur.next)].len = 0;
    cur.next = right.next;
    if (right.next >= 0) s[size_t(right.next)].prev = top.pos;
    if (cur.prev >= 0)
      if (auto p = find(s[size_t(cur.prev)].id, cur.id)) q.push({p->first, cur.prev, p->second});
    if (cur.next >= 0)
      if (auto n = find(cur.id, s[size_t(cur.next)].id)) q.push({n->first, top.pos, n->second});
  }
  result.clear();
  for (const Sym& x : s)
    if (x.len != 0) result.push_back(x.id);
}

}  // namespace zs::text
