#pragma once
// Regular expressions with the semantics of the Rust `tokenizers` crate
// (core-internal, no torch). That crate compiles patterns with Oniguruma
// (Ruby syntax); this class compiles them with PCRE2 (UTF + UCP + JIT) after
// rewriting the classes whose meaning differs:
//   \s  Oniguruma's Unicode whitespace: [\t\n\v\f\r \x85\xA0\x{1680}\x{2000}-\x{200A}
//       \x{2028}\x{2029}\x{202F}\x{205F}\x{3000}] (U+0085 in, U+FEFF out)
//   \w  letters, marks, decimal digits, connector punctuation
//   \h  hexadecimal digit (Oniguruma), not horizontal space (PCRE2)
// and with ^ / $ as line anchors (Ruby). Subjects must be valid UTF-8.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zs::text {

class Regex {
 public:
  // Throws InputError (naming the pattern) if it does not compile.
  explicit Regex(const std::string& onigPattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Non-overlapping matches left to right as [begin, end) byte offsets
  // (an empty match advances by one character). Thread-safe.
  std::vector<std::pair<size_t, size_t>> findAll(std::string_view s) const;

  static std::string translate(const std::string& onigPattern);
  static std::string escapeLiteral(const std::string& s);

 private:
  void* code_ = nullptr;
};

}  // namespace zs::text
