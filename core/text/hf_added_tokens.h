#pragma once
// Added tokens of a tokenizer.json (core-internal, no torch): found in the
// text leftmost-longest (as the Rust crate's Aho-Corasick matcher does),
// honouring single_word, lstrip and rstrip.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace zs::text {

struct AddedToken {
  int64_t id = -1;
  std::string content;
  bool special = false;
  bool singleWord = false, lstrip = false, rstrip = false, normalized = false;
};

class AddedTokenMatcher {
 public:
  // patterns[k] is what is searched for token k (its content, or its
  // normalized content for normalized tokens); empty patterns are ignored.
  void build(const std::vector<AddedToken>& tokens, const std::vector<std::string>& patterns,
             const std::vector<size_t>& which);
  bool empty() const { return nodes_.size() <= 1; }
  // Calls fn(offset, piece, -1) for text between matches and
  // fn(offset, matchedText, tokenIndex) for each match, in order.
  void split(std::string_view text, const std::function<void(size_t, std::string_view, int64_t)>& fn) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> next;  // sorted by byte
    int32_t token = -1;                                    // index into tokens_
  };
  int32_t child(int32_t node, unsigned char c) const;
  std::vector<Node> nodes_;
  bool first_[256] = {};
  const std::vector<AddedToken>* tokens_ = nullptr;
};

}  // namespace zs::text
