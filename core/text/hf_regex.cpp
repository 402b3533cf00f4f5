#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/text/hf_regex.h"

#include "core/text/pcre2_match_state.h"

#include <stdexcept>

#include "core/base/error.h"

namespace zs::text {
namespace {

constexpr const char* kSpaceBody =
    R"(\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
constexpr const char* kWordBody = R"(\p{L}\p{M}\p{Nd}\p{Pc})";
constexpr const char* kHexBody = R"(0-9a-fA-F)";

}  // namespace

std::string Regex::translate(const std::string& p) {
  std::string out;
  out.reserve(p.size() * 2);
  bool inClass = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[++i];
      const char* body = e == 's' || e == 'S' ? kSpaceBody : e == 'w' || e == 'W' ? kWordBody
                         : e == 'h' || e == 'H' ? kHexBody : nullptr;
      bool negated = e == 'S' || e == 'W' || e == 'H';
      if (!body) {
        out += c;
        out += e;
      } else if (!inClass) {
        out += negated ? "[^" : "[";
        out += body;
        out += ']';
      } else if (!negated) {
        out += body;
      } else if (e == 'S') {
        out += "\\S";  // negated class inside a class: PCRE2's own (rare)
      } else {
        out += e == 'W' ? "\\W" : "\\H";
      }
      continue;
    }
    if (!inClass && c == '[') {
      inClass = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];  // leading ']' is literal
      continue;
    }
    if (inClass && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {  // POSIX [:name:]
      size_t end = p.find(":]", i + 2);
      if (end != std::string::npos) {
        out.append(p, i, end + 2 - i);
        i = end + 1;
        continue;
      }
    }
    if (inClass && c == ']') inClass = false;
    out += c;
  }
  return out;
}

std::string Regex::escapeLiteral(const std::string& s) {
  // \Q...\E quotes everything except a literal "\E".
  std::string out = "\\Q";
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'E') {
      out += "\\E\\\\E\\Q";
      ++i;
    } else {
      out += s[i];
    }
  }
  out += "\\E";
  return out;
}

Regex::Regex(const std::string& onigPattern) {
  std::string pat = translate(onigPattern);
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(),
                                PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &err, &off, nullptr);
  if (!c) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    throw InputError("regular expression " + onigPattern + " does not compile: " +
                     reinterpret_cast<const char*>(buf));
  }
  pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
  code_ = c;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

std::vector<std::pair<size_t, size_t>> Regex::findAll(std::string_view s) const {
  std::vector<std::pair<size_t, size_t>> out;
  Pcre2MatchState& st = pcre2ThreadState();
  if (!st.data) throw std::runtime_error("PCRE2: out of memory");
  auto* code = static_cast<pcre2_code*>(code_);
  const auto* subj = reinterpret_cast<PCRE2_SPTR>(s.data());
  size_t pos = 0;
  while (pos <= s.size()) {
    int rc = pcre2_match(code, subj, s.size(), pos, PCRE2_NO_UTF_CHECK, st.data, st.ctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(rc, buf, sizeof buf);
      throw std::runtime_error(std::string("PCRE2 match failed: ") + reinterpret_cast<const char*>(buf));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    size_t b = ov[0], e = ov[1];
    out.emplace_back(b, e);
    if (e > b) {
      pos = e;
    } else {  // empty match: step over one whole character
      if (e >= s.size()) break;
      pos = e + 1;
      while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
  return out;
}

}  // namespace zs::text
