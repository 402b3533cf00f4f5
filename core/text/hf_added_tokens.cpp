#include "core/text/hf_added_tokens.h"

#include <algorithm>

#include "core/text/unicode_text.h"

namespace zs::text {
namespace {

// Rust's tokenizers: a word boundary for single_word tokens (regex \w$ / ^\w).
bool endsWithWord(std::string_view s) {
  if (s.empty()) return false;
  size_t b = s.size() - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  return isWordChar(nextCodePoint(s, b));
}
bool startsWithWord(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  return isWordChar(nextCodePoint(s, i));
}

}  // namespace

int32_t AddedTokenMatcher::child(int32_t node, unsigned char c) const {
  const auto& v = nodes_[size_t(node)].next;
  auto it = std::lower_bound(v.begin(), v.end(), std::make_pair(c, int32_t(-1)));
  return it != v.end() && it->first == c ? it->second : -1;
}

void AddedTokenMatcher::build(const std::vector<AddedToken>& tokens, const std::vector<std::string>& patterns,
                              const std::vector<size_t>& which) {
  tokens_ = &tokens;
  nodes_.assign(1, Node{});
  std::fill(std::begin(first_), std::end(first_), false);
  for (size_t k : which) {
    const std::string& p = patterns[k];
    if (p.empty()) continue;
    first_[static_cast<unsigned char>(p[0])] = true;
    int32_t n = 0;
    for (unsigned char c : p) {
      int32_t nx = child(n, c);
      if (nx < 0) {
        nx = int32_t(nodes_.size());
        nodes_.push_back(Node{});
        auto& v = nodes_[size_t(n)].next;
        v.insert(std::lower_bound(v.begin(), v.end(), std::make_pair(c, int32_t(-1))), {c, nx});
      }
      n = nx;
    }
    if (nodes_[size_t(n)].token < 0) nodes_[size_t(n)].token = int32_t(k);  // first declaration wins
  }
}

void AddedTokenMatcher::split(std::string_view s, const std::function<void(size_t, std::string_view, int64_t)>& fn) const {
  size_t startOffset = 0;  // end of the previous match
  size_t pos = 0;          // where the search resumes (the matcher's own end of match)
  while (pos < s.size()) {
    // Leftmost-longest match at or after pos.
    size_t mb = std::string_view::npos, me = 0;
    int32_t tok = -1;
    for (size_t at = pos; at < s.size(); ++at) {
      if (!first_[static_cast<unsigned char>(s[at])]) continue;
      int32_t n = 0;
      for (size_t i = at; i < s.size(); ++i) {
        n = child(n, static_cast<unsigned char>(s[i]));
        if (n < 0) break;
        if (nodes_[size_t(n)].token >= 0) {
          tok = nodes_[size_t(n)].token;
          me = i + 1;
        }
      }
      if (tok >= 0) {
        mb = at;
        break;
      }
    }
    if (tok < 0) break;
    pos = me;
    const AddedToken& t = (*tokens_)[size_t(tok)];
    size_t start = mb, stop = me;
    if (t.singleWord) {
      bool startOk = start == 0 || !endsWithWord(s.substr(0, start));
      bool stopOk = stop == s.size() || !startsWithWord(s.substr(stop));
      if (!startOk || !stopOk) continue;
    }
    if (start < startOffset) continue;  // inside the spaces an rstrip already took
    if (t.lstrip) {
      size_t b = start;
      while (b > startOffset) {
        size_t c = b - 1;
        while (c > 0 && (static_cast<unsigned char>(s[c]) & 0xC0) == 0x80) --c;
        size_t i = c;
        if (!isWhitespace(nextCodePoint(s, i))) break;
        b = c;
      }
      start = b;
    }
    if (t.rstrip) {
      while (stop < s.size()) {
        size_t i = stop;
        if (!isWhitespace(nextCodePoint(s, i))) break;
        stop = i;
      }
    }
    if (startOffset < start) fn(startOffset, s.substr(startOffset, start - startOffset), -1);
    fn(start, s.substr(start, stop - start), tok);
    startOffset = stop;
    pos = std::max(pos, stop);
  }
  if (startOffset < s.size()) fn(startOffset, s.substr(startOffset), -1);
}

}  // namespace zs::text
